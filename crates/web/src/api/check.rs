//! `/api/patches/ID/checks/`: CI results; anyone reads, those who may
//! edit the patch post. Checks are immutable.

use patchtrack_store::{Check, CheckFilter, CheckOrder, CheckState, NewCheck};

use super::embed::Embed;
use super::params::Invalid;
use super::{Body, Ctx, Input, Reply, list_reply};
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
    let ctx = e.ctx;
    j.begin(None).int("id", c.id).str(
        "url",
        &ctx.api(&format!("patches/{}/checks/{}/", c.patch_id, c.id)),
    );
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
    if !app.store.can_edit_patch(who, patch_id).await? {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
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
        None | Some(Input::Null) => None,
        Some(v) => {
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
            Some(u)
        }
    };
    let description = match body.get("description") {
        None | Some(Input::Null) => None,
        Some(v) => v.as_text(),
    };
    let check = app
        .store
        .add_check(
            patch_id,
            who.user.id,
            &NewCheck {
                state,
                target_url,
                description,
                context,
            },
        )
        .await??;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &check);
    Ok(Reply::created(
        j.finish(),
        ctx.api(&format!("patches/{patch_id}/checks/{}/", check.id)),
    ))
}
