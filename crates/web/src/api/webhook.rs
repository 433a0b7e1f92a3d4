//! API 1.5's webhooks: `/api/1.5/projects/P/webhooks/` (list, add),
//! `/api/1.5/webhooks/N/` (show, change, remove), its delivery log at
//! `/api/1.5/webhooks/N/deliveries/` and `.../deliveries/D/replay/`.
//! Only the project's maintainers see or touch them: a receiver's URL
//! and log are the project's business, its secret is never shown again
//! after it was made.

use patchtrack_store::{Delivery, NewWebhook, Project, Webhook, WebhookUpdate};

use super::embed::Embed;
use super::{Body, Ctx, Input, Reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;

/// Whether a receiver may ask for `category`: upstream's and 1.5's own.
pub(crate) fn known_category(category: &str) -> bool {
    super::event::CATEGORIES.contains(&category)
        || patchtrack_store::EXTENDED_CATEGORIES.contains(&category)
}

fn render(e: &Embed<'_>, j: &mut Json, w: &Webhook, secret: Option<&str>) {
    let ctx = e.ctx;
    j.begin(None)
        .int("id", w.id)
        .str("url", &ctx.api(&format!("webhooks/{}/", w.id)));
    e.project(j, Some("project"), w.project_id);
    j.str("target_url", &w.url);
    j.begin_array(Some("categories"));
    for c in &w.categories {
        j.item_str(c);
    }
    j.end_array();
    j.bool("active", w.active)
        .str("created", &ctx.zone.iso(w.created))
        .opt_str(
            "failing_since",
            w.failing_since.map(|t| ctx.zone.iso(t)).as_deref(),
        )
        .opt_str("disabled_reason", w.disabled_reason.as_deref())
        .str(
            "deliveries",
            &ctx.api(&format!("webhooks/{}/deliveries/", w.id)),
        );
    if let Some(s) = secret {
        j.str("secret", s);
    }
    j.end();
}

fn render_delivery(ctx: &Ctx, j: &mut Json, d: &Delivery) {
    j.begin(None)
        .int("id", d.id)
        .int("event_id", d.event_id)
        .str("category", &d.category)
        .str("status", d.status.as_str())
        .int("attempts", d.attempts)
        .opt_int("response_status", d.response_status)
        .opt_str("error", d.last_error.as_deref())
        .str("created", &ctx.zone.iso(d.created))
        .opt_str("finished", d.finished.map(|t| ctx.zone.iso(t)).as_deref())
        .opt_int("duration_ms", d.duration_ms)
        .opt_int("replay_of", d.replay_of)
        .str(
            "replay",
            &ctx.api(&format!(
                "webhooks/{}/deliveries/{}/replay/",
                d.webhook_id, d.id
            )),
        )
        .end();
}

/// The project, for one of its maintainers; 403 for anyone else, as a
/// write by them would be.
async fn maintained(app: &App, ctx: &Ctx, segment: &str) -> Result<Project, ApiError> {
    let who = ctx.require_user()?;
    let p = app
        .store
        .project_by_id_or_linkname(segment)
        .await?
        .ok_or_else(|| ApiError::no_match("Project"))?;
    if !who.maintains(p.id) {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    Ok(p)
}

/// The receiver, for a maintainer of its project. A receiver of another
/// project is a 404 for them, so that ids do not tell what exists.
async fn owned(app: &App, ctx: &Ctx, id: i64) -> Result<Webhook, ApiError> {
    let who = ctx.require_user()?;
    match app.store.webhook(id).await? {
        Some(w) if who.maintains(w.project_id) => Ok(w),
        _ => Err(ApiError::no_match("Webhook")),
    }
}

/// A receiver URL: http or https, a host, no spaces.
fn target_url(v: &Input) -> Result<String, ApiError> {
    let url = v.as_text().unwrap_or_default();
    if valid_target_url(&url) {
        Ok(url)
    } else {
        Err(ApiError::field(
            "target_url",
            "Enter a valid http or https URL.",
        ))
    }
}

/// Whether `url` may receive deliveries (the pages check the same).
pub(crate) fn valid_target_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|p| {
        url.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
            && url.len() > p.len()
            && !url[p.len()..].starts_with('/')
    }) && !url.chars().any(char::is_whitespace)
        && url.parse::<axum::http::Uri>().is_ok()
        && url.len() <= 2000
}

fn categories(v: &Input) -> Result<Vec<String>, ApiError> {
    let items = match v {
        Input::List(items) => items.iter().map(Input::as_text).collect::<Option<Vec<_>>>(),
        Input::Str(s) if s.is_empty() => Some(Vec::new()),
        Input::Str(s) => Some(s.split(',').map(|c| c.trim().to_string()).collect()),
        _ => None,
    };
    let items = items.ok_or_else(|| ApiError::field("categories", "Expected a list of items."))?;
    let mut out: Vec<String> = Vec::new();
    for c in items {
        if !known_category(&c) {
            return Err(ApiError::field(
                "categories",
                format!("\"{c}\" is not a valid choice."),
            ));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

fn secret(v: &Input) -> Result<String, ApiError> {
    let s = v.as_text().unwrap_or_default();
    if s.is_empty() || s.len() > 255 {
        return Err(ApiError::field(
            "secret",
            "Ensure this field has 1 to 255 characters.",
        ));
    }
    Ok(s)
}

fn active(v: &Input) -> Result<bool, ApiError> {
    v.as_bool()
        .ok_or_else(|| ApiError::field("active", "Must be a valid boolean."))
}

/// `GET /projects/P/webhooks/`.
pub async fn list(app: &App, ctx: &Ctx, segment: &str) -> Result<Reply, ApiError> {
    let p = maintained(app, ctx, segment).await?;
    let hooks = app.store.webhooks(p.id).await?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    j.begin_array(None);
    for w in &hooks {
        render(&e, &mut j, w, None);
    }
    j.end_array();
    Ok(Reply::ok(j.finish()))
}

/// `POST /projects/P/webhooks/`: the answer shows the secret, once (a
/// random one when the request gave none).
pub async fn create(app: &App, ctx: &Ctx, segment: &str, body: &Body) -> Result<Reply, ApiError> {
    let p = maintained(app, ctx, segment).await?;
    let url = match body.get("target_url") {
        Some(v) => target_url(v)?,
        None => return Err(ApiError::field("target_url", "This field is required.")),
    };
    let secret = match body.get("secret") {
        Some(v) => secret(v)?,
        None => patchtrack_store::random_hex(32)?,
    };
    let categories = match body.get("categories") {
        Some(v) => categories(v)?,
        None => Vec::new(),
    };
    let who = ctx.require_user()?;
    let id = app
        .store
        .create_webhook(&NewWebhook {
            project_id: p.id,
            url,
            secret: secret.clone(),
            categories,
            created_by: Some(who.user.id),
        })
        .await?;
    let w = app
        .store
        .webhook(id)
        .await?
        .ok_or_else(|| ApiError::no_match("Webhook"))?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &w, Some(&secret));
    Ok(Reply::created(
        j.finish(),
        ctx.api(&format!("webhooks/{id}/")),
    ))
}

/// `GET /webhooks/N/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    let w = owned(app, ctx, id).await?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &w, None);
    Ok(Reply::ok(j.finish()))
}

/// `PATCH`/`PUT /webhooks/N/`: `target_url`, `secret`, `categories`,
/// `active` (turning it on sends what waited while it was off).
pub async fn update(app: &App, ctx: &Ctx, id: i64, body: &Body) -> Result<Reply, ApiError> {
    owned(app, ctx, id).await?;
    let update = WebhookUpdate {
        url: body.get("target_url").map(target_url).transpose()?,
        secret: body.get("secret").map(secret).transpose()?,
        categories: body.get("categories").map(categories).transpose()?,
        active: body.get("active").map(active).transpose()?,
    };
    app.store.update_webhook(id, &update).await?;
    detail(app, ctx, id).await
}

/// `DELETE /webhooks/N/`.
pub async fn delete(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    owned(app, ctx, id).await?;
    app.store.delete_webhook(id).await?;
    Ok(Reply::no_content())
}

/// `GET /webhooks/N/deliveries/`: newest first, `per_page` (default 30,
/// at most 250) at a time, older ones by `?before=` a delivery id (the
/// `Link` header's `next`).
pub async fn deliveries(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    owned(app, ctx, id).await?;
    let number = |key: &str| -> Result<Option<i64>, ApiError> {
        ctx.params
            .last(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiError::field(key, "A valid integer is required."))
            })
            .transpose()
    };
    let before = number("before")?;
    let size = usize::try_from(number("per_page")?.unwrap_or(30).min(250)).unwrap_or(30);
    let (items, more) = app.store.deliveries(id, before, size).await?;
    let mut j = Json::new();
    j.begin_array(None);
    for d in &items {
        render_delivery(ctx, &mut j, d);
    }
    j.end_array();
    let mut reply = Reply::ok(j.finish());
    if more && let Some(last) = items.last() {
        reply.link = Some(format!(
            "<{}?before={}&per_page={size}>; rel=\"next\"",
            ctx.api(&format!("webhooks/{id}/deliveries/")),
            last.id
        ));
    }
    Ok(reply)
}

/// `POST /webhooks/N/deliveries/D/replay/`: the event again, after what
/// is pending; the answer is the new delivery.
pub async fn replay(app: &App, ctx: &Ctx, id: i64, delivery: i64) -> Result<Reply, ApiError> {
    owned(app, ctx, id).await?;
    match app.store.delivery(delivery).await? {
        Some(d) if d.webhook_id == id => {}
        _ => return Err(ApiError::no_match("Delivery")),
    }
    let new = app
        .store
        .replay_delivery(delivery)
        .await?
        .ok_or_else(|| ApiError::no_match("Delivery"))?;
    let d = app
        .store
        .delivery(new)
        .await?
        .ok_or_else(|| ApiError::no_match("Delivery"))?;
    let mut j = Json::new();
    render_delivery(ctx, &mut j, &d);
    Ok(Reply::created(
        j.finish(),
        ctx.api(&format!("webhooks/{id}/deliveries/")),
    ))
}
