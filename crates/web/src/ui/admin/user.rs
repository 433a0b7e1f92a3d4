//! `/admin/users/`: accounts, made administrators or not, active or not,
//! and the projects they maintain. Accounts are never deleted here: a
//! deactivated one cannot log in, and keeps its patches and delegations.

use askama::Template;
use axum::extract::RawQuery;
use axum::response::Response;
use patchtrack_store::{Account, Project};

use super::super::{Base, Form, FormPost, PageError, Req};
use super::{admin, id_of, record, refusal};

const HERE: &str = "/admin/users/";

struct Row {
    account: Account,
    /// (id, linkname) of the projects maintained.
    maintains: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage {
    base: Base,
    q: String,
    rows: Vec<Row>,
    projects: Vec<Project>,
}

/// `GET /admin/users/?q=TEXT`: at most 200 accounts, by username.
pub async fn list(RawQuery(query): RawQuery, req: Req) -> Result<Response, PageError> {
    admin(&req, HERE)?;
    let q = Form::query(query.as_deref())
        .get("q")
        .unwrap_or("")
        .trim()
        .to_string();
    let terms: Vec<String> = q.split_whitespace().map(str::to_string).collect();
    let store = &req.app.store;
    let projects = store.projects().await?;
    let rows = store
        .accounts(&terms, 200)
        .await?
        .into_iter()
        .map(|account| Row {
            maintains: account
                .maintains
                .iter()
                .filter_map(|id| projects.iter().find(|p| p.id == *id))
                .map(|p| (p.id, p.linkname.clone()))
                .collect(),
            account,
        })
        .collect();
    let page = ListPage {
        base: req.base("Users · Administration", None),
        q,
        rows,
        projects,
    };
    Ok(req.render(&page))
}

/// `POST /admin/users/`: for the account `id`, `action` is `superuser`
/// or `active` (with `value` `1` or `0`), `maintain` (with `project`), or
/// `unmaintain` (with `project`).
pub async fn change(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let who = admin(&req, HERE)?;
    let store = &req.app.store;
    let Some(user) = id_of(&form, "id") else {
        return Ok(req.redirect(HERE, &["No user chosen".to_string()]));
    };
    let Some(account) = store.user(user).await? else {
        return Ok(req.redirect(HERE, &["No such user".to_string()]));
    };
    let username = account.user.username;
    let object = format!("user {username}");
    let on = form.get("value") == Some("1");
    let action = form.get("action").unwrap_or("");
    let (log, detail, message) =
        match action {
            "superuser" | "active" => {
                if user == who.id && !on {
                    return Ok(req.redirect(
                    HERE,
                    &["You cannot remove your own administrator rights or deactivate yourself; \
                       another administrator can."
                        .to_string()],
                ));
                }
                let (superuser, active) = if action == "superuser" {
                    (Some(on), None)
                } else {
                    (None, Some(on))
                };
                store.set_account_flags(user, superuser, active).await?;
                (
                    format!("user.{action}"),
                    format!("{action} = {on}"),
                    format!("User {username} saved"),
                )
            }
            "maintain" | "unmaintain" => {
                let Some(project) = id_of(&form, "project") else {
                    return Ok(req.redirect(HERE, &["No project chosen".to_string()]));
                };
                let Some(p) = store.project_by_id(project).await? else {
                    return Ok(req.redirect(HERE, &["No such project".to_string()]));
                };
                if action == "maintain" {
                    if let Err(e) = store.add_maintainer(project, &username).await {
                        let m = refusal(e)?;
                        return Ok(req.redirect(HERE, &[m]));
                    }
                } else {
                    store.remove_maintainer(project, user).await?;
                }
                (
                    format!("user.{action}"),
                    format!("project {}", p.linkname),
                    format!("User {username} saved"),
                )
            }
            _ => return Ok(req.redirect(HERE, &["Unknown action".to_string()])),
        };
    record(&req, &who, &log, &object, &detail).await?;
    Ok(req.redirect(HERE, &[message]))
}
