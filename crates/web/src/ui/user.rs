//! The user area: profile (API token, list settings, maintained
//! projects, bundles) and the to-do summary.

use askama::Template;
use axum::response::Response;
use patchtrack_store::{UserRef, UserUpdate};

use super::{Base, FormPost, PageError, Req};
use crate::urls;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    base: Base,
    user: UserRef,
    full_name: String,
    /// (linkname, name)
    maintains: Vec<(String, String)>,
    /// (linkname, name)
    contributes: Vec<(String, String)>,
    addresses: Vec<Address>,
    has_token: bool,
    new_token: Option<String>,
    scoped_tokens: Vec<ScopedToken>,
    new_scoped_token: Option<String>,
    items_per_page: i64,
    show_ids: bool,
    /// (name, URL)
    bundles: Vec<(String, String)>,
}

/// A named token as the profile lists it.
struct ScopedToken {
    id: i64,
    name: String,
    /// `checks on a, b`.
    scope: String,
    created: String,
    expires: String,
}

/// What a new token shows on the page answering its creation.
#[derive(Default)]
struct Fresh {
    token: Option<String>,
    scoped: Option<String>,
}

/// One of the account's linked addresses, as the profile lists it.
struct Address {
    person_id: i64,
    email: String,
    /// The account's own address, which cannot be unlinked.
    primary: bool,
    opted_out: bool,
}

async fn profile_page(req: Req, fresh: Fresh) -> Result<Response, PageError> {
    let new_token = fresh.token;
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/"));
    };
    let store = &req.app.store;
    let user = store.user(who.user.id).await?;
    let has_token = store.has_token(who.user.id).await?;
    let projects = store.projects_by_id().await?;
    let bundles = super::list::own_bundles(&req, &who, None).await?;
    let Some(user) = user else {
        return Err(PageError::NotFound);
    };
    let mut maintains: Vec<(String, String)> = who
        .maintains
        .iter()
        .filter_map(|id| projects.get(id))
        .map(|p| (p.linkname.clone(), p.name.clone()))
        .collect();
    maintains.sort();
    let mut contributes: Vec<(String, String)> = store
        .projects_contributed_to(who.user.id)
        .await?
        .iter()
        .filter_map(|id| projects.get(id))
        .map(|p| (p.linkname.clone(), p.name.clone()))
        .collect();
    contributes.sort();
    let mut addresses = Vec::new();
    for person in store.people_of_user(who.user.id).await? {
        addresses.push(Address {
            person_id: person.id,
            primary: person.email.eq_ignore_ascii_case(&user.user.email),
            opted_out: store.is_opted_out(&person.email).await?,
            email: person.email,
        });
    }
    let mut scoped_tokens = Vec::new();
    for t in store.tokens_of(who.user.id).await? {
        let scope = match &t.scope {
            patchtrack_store::Scope::Checks(ids) => format!(
                "checks on {}",
                ids.iter()
                    .map(|id| projects
                        .get(id)
                        .map_or_else(|| id.to_string(), |p| p.linkname.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.name().to_string(),
        };
        scoped_tokens.push(ScopedToken {
            id: t.id,
            name: t.name,
            scope,
            created: patchtrack_store::time::iso(t.created),
            expires: t
                .expires
                .map_or_else(|| "never".to_string(), patchtrack_store::time::iso),
        });
    }
    let page = ProfilePage {
        scoped_tokens,
        new_scoped_token: fresh.scoped,
        base: req.base(user.user.username.clone(), None),
        full_name: format!("{} {}", user.user.first_name, user.user.last_name)
            .trim()
            .to_string(),
        maintains,
        contributes,
        addresses,
        has_token: has_token || new_token.is_some(),
        new_token,
        items_per_page: user.settings.items_per_page,
        show_ids: user.settings.show_ids,
        bundles: bundles
            .into_iter()
            .map(|(_, name)| {
                let url = urls::bundle(&who.user.username, &name);
                (name, url)
            })
            .collect(),
        user: user.user,
    };
    Ok(req.render(&page))
}

/// `GET /user/`.
pub async fn profile(req: Req) -> Result<Response, PageError> {
    profile_page(req, Fresh::default()).await
}

/// `POST /user/`: generate or revoke the API token, or save settings. A
/// new token is shown on the response page itself, never stored in clear.
pub async fn profile_post(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/"));
    };
    let store = &req.app.store;
    match form.get("action") {
        Some("generate") => new_token(req, &who).await,
        Some("mint") => mint(req, &who, &form).await,
        Some("revoke-scoped") => {
            let revoked = match form.get("token").and_then(|t| t.parse::<i64>().ok()) {
                Some(id) => store.revoke_token(who.user.id, id).await?,
                None => false,
            };
            let message = if revoked {
                "The token was revoked."
            } else {
                "No such token."
            };
            Ok(req.redirect("/user/", &[message.to_string()]))
        }
        Some("revoke") => {
            store.revoke_tokens(who.user.id).await?;
            Ok(req.redirect("/user/", &["Your API token was revoked.".to_string()]))
        }
        Some("settings") => {
            let Some(items) = form
                .get("items_per_page")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|n| (1..=500).contains(n))
            else {
                return Ok(req.redirect(
                    "/user/",
                    &["Patches per page must be between 1 and 500.".to_string()],
                ));
            };
            let update = UserUpdate {
                items_per_page: Some(items),
                show_ids: Some(form.get("show_ids") == Some("true")),
                ..UserUpdate::default()
            };
            store.update_user(who.user.id, &update).await?;
            Ok(req.redirect("/user/", &["Settings saved.".to_string()]))
        }
        _ => Ok(req.redirect("/user/", &["Unknown action".to_string()])),
    }
}

/// A new API token, shown on the profile page it answers with (it is
/// stored hashed, so it cannot be shown again after a redirect).
async fn new_token(mut req: Req, who: &patchtrack_store::Principal) -> Result<Response, PageError> {
    let token = req.app.store.create_token(&who.user.username).await?;
    req.message("A new API token was generated; the old one no longer works.");
    profile_page(
        req,
        Fresh {
            token: Some(token),
            scoped: None,
        },
    )
    .await
}

/// A named, scoped token, shown once on the page that answers. A checks
/// token is only for projects the user maintains.
async fn mint(
    mut req: Req,
    who: &patchtrack_store::Principal,
    form: &super::Form,
) -> Result<Response, PageError> {
    use patchtrack_store::Scope;
    let name = form.get("name").unwrap_or("").trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Ok(req.redirect(
            "/user/",
            &["A token needs a name (up to 100 characters).".into()],
        ));
    }
    let projects = req.app.store.projects_by_id().await?;
    let scope = match form.get("scope") {
        Some("read") => Scope::Read,
        Some("write") => Scope::Write,
        Some("checks") => {
            let mut ids = Vec::new();
            for linkname in form.all("project") {
                match projects.values().find(|p| p.linkname == linkname) {
                    Some(p) if who.maintains(p.id) => {
                        if !ids.contains(&p.id) {
                            ids.push(p.id);
                        }
                    }
                    _ => {
                        return Ok(req.redirect(
                            "/user/",
                            &[format!(
                                "You do not maintain {linkname}: no checks token for it."
                            )],
                        ));
                    }
                }
            }
            if ids.is_empty() {
                return Ok(req.redirect(
                    "/user/",
                    &["A checks token needs at least one project.".into()],
                ));
            }
            Scope::Checks(ids)
        }
        _ => return Ok(req.redirect("/user/", &["Unknown scope.".into()])),
    };
    let expires = match form
        .get("expires_days")
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(days) if (1..=3650).contains(&days) => {
                Some(patchtrack_store::time::now().saturating_add(days * 86_400_000_000))
            }
            _ => {
                return Ok(req.redirect("/user/", &["Expiry must be 1 to 3650 days.".into()]));
            }
        },
    };
    let (_, token) = req
        .app
        .store
        .create_scoped_token(&patchtrack_store::NewToken {
            user_id: who.user.id,
            name,
            scope,
            expires,
        })
        .await?;
    req.message("A new scoped token was made.");
    profile_page(
        req,
        Fresh {
            token: None,
            scoped: Some(token),
        },
    )
    .await
}

/// `POST /user/generate-token/`, Patchwork's own URL for the profile's
/// button: the same as the profile form's "generate" action.
pub async fn generate_token(FormPost(req, _): FormPost) -> Result<Response, PageError> {
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/"));
    };
    new_token(req, &who).await
}

#[derive(Template)]
#[template(path = "todo.html")]
struct TodoPage {
    base: Base,
    states: String,
    /// (linkname, name, count)
    projects: Vec<(String, String, i64)>,
}

/// `GET /user/todo/`: the to-do count per project; straight to the list
/// when only one project has any, as Patchwork does.
pub async fn todo(req: Req) -> Result<Response, PageError> {
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/todo/"));
    };
    let store = &req.app.store;
    let counts = store.todo_by_project(who.user.id).await?;
    let projects = store.projects_by_id().await?;
    let states = store.states().await?;
    let rows: Vec<(String, String, i64)> = counts
        .iter()
        .filter_map(|(id, n)| {
            projects
                .get(id)
                .map(|p| (p.linkname.clone(), p.name.clone(), *n))
        })
        .collect();
    if let [(linkname, _, _)] = rows.as_slice() {
        let to = format!("/user/todo/{linkname}/");
        return Ok(req.redirect(&to, &[]));
    }
    let page = TodoPage {
        base: req.base("To do", None),
        states: states
            .iter()
            .filter(|s| s.action_required)
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        projects: rows,
    };
    Ok(req.render(&page))
}
