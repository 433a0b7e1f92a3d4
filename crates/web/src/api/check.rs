//! `/api/patches/ID/checks/`: CI results; anyone reads, those who may
//! edit the patch (or hold a `checks` token for its project) post.
//! Upstream's checks are immutable; API 1.5 lets their author update
//! them in place, posts checks on a whole series
//! (`/api/1.5/series/ID/checks/`) and takes recheck requests.

use patchtrack_store::{Check, CheckFilter, CheckOrder, CheckState, NewCheck};

use super::embed::Embed;
use super::params::Invalid;
use super::{Body, Ctx, Input, Reply, Version, list_reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;

const ORDER: [(&str, CheckOrder); 6] = [
    ("id", CheckOrder::Id),
    ("date", CheckOrder::Date),
    ("state", CheckOrder::State),
    ("context", CheckOrder::Context),
    ("user", CheckOrder::User),
    ("url", CheckOrder::Id),
];

fn render(e: &Embed<'_>, j: &mut Json, c: &Check) {
    render_at(e, j, c, &format!("patches/{}/checks/{}/", c.patch_id, c.id));
}

/// A check with its URL (under its patch, or under its series for the
/// series' own list); API 1.5 adds the series it was posted on.
fn render_at(e: &Embed<'_>, j: &mut Json, c: &Check, path: &str) {
    let ctx = e.ctx;
    j.begin(None).int("id", c.id).str("url", &ctx.api(path));
    if ctx.version.at_least(Version::EXTENDED) {
        match c.series_id {
            Some(s) => j.str("series", &ctx.api(&format!("series/{s}/"))),
            None => j.null("series"),
        };
    }
    e.user(j, Some("user"), Some(&c.user));
    j.str("date", &ctx.zone.iso(c.date))
        .str("state", c.state.label())
        .opt_str("target_url", c.target_url.as_deref())
        .str("context", &c.context)
        .opt_str("description", c.description.as_deref())
        .end();
}

fn filter(ctx: &Ctx) -> Result<CheckFilter, Invalid> {
    let q = &ctx.params;
    let states = q
        .all("state")
        .into_iter()
        .map(|s| CheckState::parse(s).ok_or(Invalid))
        .collect::<Result<_, _>>()?;
    Ok(CheckFilter {
        users: q.lookups("user")?,
        states,
        context: q.last("context").map(str::to_string),
        dates: q.dates(&ctx.zone)?,
    })
}

async fn patch_exists(app: &App, patch_id: i64) -> Result<(), ApiError> {
    if app
        .store
        .parent_project(patchtrack_store::Parent::Patch(patch_id))
        .await?
        .is_some()
    {
        Ok(())
    } else {
        Err(ApiError::no_match("Patch"))
    }
}

/// `GET /patches/ID/checks/`.
pub async fn list(app: &App, ctx: &Ctx, patch_id: i64) -> Result<Reply, ApiError> {
    patch_exists(app, patch_id).await?;
    let page = ctx.page()?;
    let listed = match filter(ctx) {
        Ok(f) => {
            let order = ctx.params.order(&ORDER, &[(CheckOrder::Id, false)]);
            app.store.checks(patch_id, &f, &order, page).await?
        }
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, c| render(&e, j, c))
}

/// `GET /patches/ID/checks/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, patch_id: i64, id: i64) -> Result<Reply, ApiError> {
    patch_exists(app, patch_id).await?;
    let c = app
        .store
        .check(patch_id, id)
        .await?
        .ok_or_else(|| ApiError::no_match("Check"))?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &c);
    Ok(Reply::ok(j.finish()))
}

/// Who may post (and update) checks on a patch: with a `checks` token,
/// the projects it names, whoever its user is; otherwise those who may
/// edit the patch, as upstream.
async fn may_post_checks(
    app: &App,
    who: &patchtrack_store::Principal,
    patch_id: i64,
) -> Result<(), ApiError> {
    if let patchtrack_store::Scope::Checks(_) = &who.scope {
        let project = app
            .store
            .parent_project(patchtrack_store::Parent::Patch(patch_id))
            .await?
            .ok_or_else(|| ApiError::no_match("Patch"))?;
        return if who.scope.grants_checks(project) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "This token may post checks only on the projects it names.".into(),
            ))
        };
    }
    if app.store.can_edit_patch(who, patch_id).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(NO_PERMISSION.into()))
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "ftp" | "ftps"
    ) && !rest.is_empty()
        && !rest.starts_with('/')
        && !s.chars().any(char::is_whitespace)
}

/// `POST /patches/ID/checks/`. The check is always the requester's (the
/// `user` field is ignored; upstream lets a client attribute it to anyone).
pub async fn create(app: &App, ctx: &Ctx, patch_id: i64, body: &Body) -> Result<Reply, ApiError> {
    patch_exists(app, patch_id).await?;
    let Some(who) = ctx.principal.as_ref() else {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    };
    may_post_checks(app, who, patch_id).await?;
    let new = new_check(body)?;
    let check = app.store.add_check(patch_id, who.user.id, &new).await??;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &check);
    Ok(Reply::created(
        j.finish(),
        ctx.api(&format!("patches/{patch_id}/checks/{}/", check.id)),
    ))
}

/// A new check's fields, checked as upstream checks them.
fn new_check(body: &Body) -> Result<NewCheck, ApiError> {
    let state = match body.get("state").and_then(Input::as_text) {
        None => return Err(ApiError::field("state", "A check must have a state.")),
        Some(s) if s.is_empty() => {
            return Err(ApiError::field("state", "A check must have a state."));
        }
        Some(s) => CheckState::parse(&s)
            .ok_or_else(|| ApiError::field("state", format!("\"{s}\" is not a valid choice.")))?,
    };
    let context = match body.get("context") {
        None => "default".to_string(),
        Some(v) => {
            let c = v.as_text().unwrap_or_default();
            if !is_slug(&c) || c.chars().count() > 255 {
                return Err(ApiError::field(
                    "context",
                    "Enter a valid \u{201c}slug\u{201d} consisting of letters, numbers, underscores or hyphens.",
                ));
            }
            c
        }
    };
    let target_url = match body.get("target_url") {
        None => None,
        Some(v) => target_url(v)?,
    };
    let description = match body.get("description") {
        None | Some(Input::Null) => None,
        Some(v) => v.as_text(),
    };
    Ok(NewCheck {
        state,
        target_url,
        description,
        context,
    })
}

fn target_url(v: &Input) -> Result<Option<String>, ApiError> {
    if matches!(v, Input::Null) {
        return Ok(None);
    }
    let u = v.as_text().unwrap_or_default();
    if !u.is_empty() && !is_url(&u) {
        return Err(ApiError::field("target_url", "Enter a valid URL."));
    }
    if u.chars().count() > 200 {
        return Err(ApiError::field(
            "target_url",
            "Ensure this field has no more than 200 characters.",
        ));
    }
    Ok(Some(u))
}

/// An update the store refused, worded for the API.
fn check_refused(refused: patchtrack_store::CheckRefused) -> ApiError {
    match refused {
        patchtrack_store::CheckRefused::NotFound => ApiError::no_match("Check"),
        patchtrack_store::CheckRefused::NotAuthor => {
            ApiError::Forbidden("Only the check's author may change it.".into())
        }
    }
}

/// What an update asks to change.
fn check_change(body: &Body) -> Result<patchtrack_store::CheckChange, ApiError> {
    let state = match body.get("state") {
        None => None,
        Some(v) => {
            let s = v.as_text().unwrap_or_default();
            Some(CheckState::parse(&s).ok_or_else(|| {
                ApiError::field("state", format!("\"{s}\" is not a valid choice."))
            })?)
        }
    };
    Ok(patchtrack_store::CheckChange {
        state,
        target_url: body.get("target_url").map(target_url).transpose()?,
        description: body.get("description").map(|v| {
            if matches!(v, Input::Null) {
                None
            } else {
                v.as_text()
            }
        }),
    })
}

/// `PATCH /api/1.5/patches/ID/checks/ID/`: the check's author changes its
/// `state`, `target_url` or `description` (a series check changes on
/// every patch of its series); the check is dated anew.
pub async fn update(
    app: &App,
    ctx: &Ctx,
    patch_id: i64,
    id: i64,
    body: &Body,
) -> Result<Reply, ApiError> {
    patch_exists(app, patch_id).await?;
    let who = ctx.require_user()?;
    may_post_checks(app, who, patch_id).await?;
    let change = check_change(body)?;
    app.store
        .update_check(patch_id, id, who.user.id, &change)
        .await?
        .map_err(check_refused)?;
    detail(app, ctx, patch_id, id).await
}

/// The series' project, for one who may post checks on it: a `checks`
/// token naming it, or one of its maintainers.
async fn series_for_checks(
    app: &App,
    who: &patchtrack_store::Principal,
    series_id: i64,
) -> Result<i64, ApiError> {
    let s = app
        .store
        .series(series_id)
        .await?
        .ok_or_else(|| ApiError::no_match("Series"))?;
    let allowed = match &who.scope {
        patchtrack_store::Scope::Checks(_) => who.scope.grants_checks(s.project_id),
        _ => who.maintains(s.project_id),
    };
    if allowed {
        Ok(s.project_id)
    } else {
        Err(ApiError::Forbidden(NO_PERMISSION.into()))
    }
}

/// `GET /api/1.5/series/ID/checks/`: the checks posted on the series as
/// a whole.
pub async fn series_list(app: &App, ctx: &Ctx, series_id: i64) -> Result<Reply, ApiError> {
    if app.store.series(series_id).await?.is_none() {
        return Err(ApiError::no_match("Series"));
    }
    let checks = app.store.series_checks(series_id).await?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    j.begin_array(None);
    for c in &checks {
        render_at(
            &e,
            &mut j,
            c,
            &format!("series/{series_id}/checks/{}/", c.id),
        );
    }
    j.end_array();
    Ok(Reply::ok(j.finish()))
}

/// `GET /api/1.5/series/ID/checks/ID/`.
pub async fn series_detail(
    app: &App,
    ctx: &Ctx,
    series_id: i64,
    id: i64,
) -> Result<Reply, ApiError> {
    let c = app
        .store
        .series_check(series_id, id)
        .await?
        .ok_or_else(|| ApiError::no_match("Check"))?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render_at(&e, &mut j, &c, &format!("series/{series_id}/checks/{id}/"));
    Ok(Reply::ok(j.finish()))
}

/// `POST /api/1.5/series/ID/checks/`: one check for every patch of the
/// series (each patch shows it; one `check-created` event per patch).
pub async fn series_create(
    app: &App,
    ctx: &Ctx,
    series_id: i64,
    body: &Body,
) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    series_for_checks(app, who, series_id).await?;
    let new = new_check(body)?;
    let c = app
        .store
        .add_series_check(series_id, who.user.id, &new)
        .await?
        .ok_or_else(|| ApiError::BadRequest("The series has no patches to check.".into()))?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    let path = format!("series/{series_id}/checks/{}/", c.id);
    render_at(&e, &mut j, &c, &path);
    Ok(Reply::created(j.finish(), ctx.api(&path)))
}

/// `PATCH /api/1.5/series/ID/checks/ID/`: as for a patch's check, on
/// every patch of the series.
pub async fn series_update(
    app: &App,
    ctx: &Ctx,
    series_id: i64,
    id: i64,
    body: &Body,
) -> Result<Reply, ApiError> {
    let c = app
        .store
        .series_check(series_id, id)
        .await?
        .ok_or_else(|| ApiError::no_match("Check"))?;
    let who = ctx.require_user()?;
    series_for_checks(app, who, series_id).await?;
    let change = check_change(body)?;
    app.store
        .update_check(c.patch_id, id, who.user.id, &change)
        .await?
        .map_err(check_refused)?;
    series_detail(app, ctx, series_id, id).await
}

/// `POST /api/1.5/patches/ID/recheck/` and `/api/1.5/series/ID/recheck/`
/// (`{"contexts": [...]}`, optional): a maintainer asks the bots to test
/// again. The answer is the `recheck-requested` event bots receive.
pub async fn recheck(
    app: &App,
    ctx: &Ctx,
    of: patchtrack_store::RecheckOf,
    body: &Body,
) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    let project = match of {
        patchtrack_store::RecheckOf::Patch(id) => app
            .store
            .parent_project(patchtrack_store::Parent::Patch(id))
            .await?
            .ok_or_else(|| ApiError::no_match("Patch"))?,
        patchtrack_store::RecheckOf::Series(id) => {
            app.store
                .series(id)
                .await?
                .ok_or_else(|| ApiError::no_match("Series"))?
                .project_id
        }
    };
    if !who.maintains(project) {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    let contexts = match body.get("contexts") {
        None | Some(Input::Null) => Vec::new(),
        Some(Input::List(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_text() {
                    Some(c) if is_slug(&c) && c.chars().count() <= 255 => out.push(c),
                    _ => {
                        return Err(ApiError::field(
                            "contexts",
                            "Each context must be a slug: letters, numbers, underscores or hyphens.",
                        ));
                    }
                }
            }
            out
        }
        Some(_) => return Err(ApiError::field("contexts", "Expected a list of items.")),
    };
    let missing = match of {
        patchtrack_store::RecheckOf::Patch(_) => "Patch",
        patchtrack_store::RecheckOf::Series(_) => "Series",
    };
    let event = app
        .store
        .request_recheck(of, who.user.id, &contexts)
        .await?
        .ok_or_else(|| ApiError::no_match(missing))?;
    let body = super::event::event_body(app, &ctx.base, event)
        .await?
        .ok_or_else(|| ApiError::Internal("the recheck event vanished".into()))?;
    Ok(Reply::created(
        body,
        ctx.api(&format!("events/?since_id={}", event - 1)),
    ))
}
