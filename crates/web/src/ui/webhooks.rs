//! `/project/L/webhooks/`: a project's webhook receivers, for its
//! maintainers: add one, turn it off and on, remove it, and read the
//! delivery log of each, replaying a delivery. The same rules as API
//! 1.5's webhooks (`docs/api-1.5.md`); the secret is shown once, on the
//! page that answers its creation.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use patchtrack_store::{NewWebhook, Project, Webhook, WebhookUpdate};

use super::{Base, FormPost, PageError, Req};
use crate::api::event::CATEGORIES;

/// A receiver as the page lists it.
struct Row {
    id: i64,
    url: String,
    categories: String,
    active: bool,
    /// Why it is off, or when it began failing.
    health: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    base: Base,
    project: Project,
    hooks: Vec<Row>,
    categories: Vec<&'static str>,
    /// The secret of the receiver just added, shown this once.
    new_secret: Option<String>,
}

/// One delivery as the log lists it.
struct Entry {
    id: i64,
    event_id: i64,
    category: String,
    status: &'static str,
    attempts: i64,
    answer: String,
    created: String,
    replay_of: Option<i64>,
}

#[derive(Template)]
#[template(path = "webhook_log.html")]
struct LogPage {
    base: Base,
    project: Project,
    hook: Row,
    entries: Vec<Entry>,
}

fn row(w: &Webhook) -> Row {
    let health = match (&w.disabled_reason, w.failing_since) {
        (Some(r), _) => format!("disabled: {r}"),
        (None, Some(t)) => format!("failing since {}", patchtrack_store::time::iso(t)),
        (None, None) if w.active => "ok".into(),
        (None, None) => "turned off".into(),
    };
    Row {
        id: w.id,
        url: w.url.clone(),
        categories: if w.categories.is_empty() {
            "all".into()
        } else {
            w.categories.join(", ")
        },
        active: w.active,
        health,
    }
}

async fn page(req: Req, linkname: &str, new_secret: Option<String>) -> Result<Response, PageError> {
    let back = format!("/project/{linkname}/webhooks/");
    let project = super::project::maintained(&req, linkname, &back).await?;
    let hooks = req.app.store.webhooks(project.id).await?;
    let page = WebhooksPage {
        base: req.base("Webhooks", Some(&project)),
        hooks: hooks.iter().map(row).collect(),
        categories: CATEGORIES
            .iter()
            .chain(patchtrack_store::EXTENDED_CATEGORIES.iter())
            .copied()
            .collect(),
        project,
        new_secret,
    };
    Ok(req.render(&page))
}

/// `GET /project/L/webhooks/`.
pub async fn list(Path(linkname): Path<String>, req: Req) -> Result<Response, PageError> {
    page(req, &linkname, None).await
}

/// The receiver `id` of the project, or a 404.
async fn hook_of(req: &Req, project: &Project, id: i64) -> Result<Webhook, PageError> {
    match req.app.store.webhook(id).await? {
        Some(w) if w.project_id == project.id => Ok(w),
        _ => Err(PageError::NotFound),
    }
}

/// `POST /project/L/webhooks/`: `action` is `add`, `on`, `off` or
/// `delete` (with `webhook`).
pub async fn change(
    Path(linkname): Path<String>,
    FormPost(mut req, form): FormPost,
) -> Result<Response, PageError> {
    let back = format!("/project/{linkname}/webhooks/");
    let project = super::project::maintained(&req, &linkname, &back).await?;
    let store = req.app.store.clone();
    let target = || -> Option<i64> { form.get("webhook").and_then(|v| v.parse().ok()) };
    match form.get("action") {
        Some("add") => {
            let url = form.get("target_url").unwrap_or("").trim().to_string();
            if !crate::api::webhook::valid_target_url(&url) {
                return Ok(req.redirect(&back, &["Give an http or https address.".into()]));
            }
            let categories: Vec<String> = form.all("category").map(str::to_string).collect();
            if let Some(bad) = categories
                .iter()
                .find(|c| !crate::api::webhook::known_category(c))
            {
                return Ok(req.redirect(&back, &[format!("No event category {bad:?}.")]));
            }
            let secret = match form.get("secret").map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) if s.len() <= 255 => s.to_string(),
                Some(_) => {
                    return Ok(req.redirect(&back, &["The secret is too long.".into()]));
                }
                None => patchtrack_store::random_hex(32)?,
            };
            let created_by = req.principal.as_ref().map(|p| p.user.id);
            store
                .create_webhook(&NewWebhook {
                    project_id: project.id,
                    url,
                    secret: secret.clone(),
                    categories,
                    created_by,
                })
                .await?;
            req.message("Webhook added. Its secret is shown below this once.");
            page(req, &linkname, Some(secret)).await
        }
        Some(action @ ("on" | "off" | "delete")) => {
            let Some(id) = target() else {
                return Err(PageError::NotFound);
            };
            hook_of(&req, &project, id).await?;
            let message = if action == "delete" {
                store.delete_webhook(id).await?;
                "Webhook removed."
            } else {
                let update = WebhookUpdate {
                    active: Some(action == "on"),
                    ..WebhookUpdate::default()
                };
                store.update_webhook(id, &update).await?;
                if action == "on" {
                    "Webhook turned on: what waited is being sent."
                } else {
                    "Webhook turned off."
                }
            };
            Ok(req.redirect(&back, &[message.to_string()]))
        }
        _ => Ok(req.redirect(&back, &["Unknown action".into()])),
    }
}

/// `GET /project/L/webhooks/N/`: the newest 100 deliveries.
pub async fn log(
    Path((linkname, id)): Path<(String, i64)>,
    req: Req,
) -> Result<Response, PageError> {
    let back = format!("/project/{linkname}/webhooks/{id}/");
    let project = super::project::maintained(&req, &linkname, &back).await?;
    let hook = hook_of(&req, &project, id).await?;
    let (deliveries, _) = req.app.store.deliveries(id, None, 100).await?;
    let entries = deliveries
        .into_iter()
        .map(|d| Entry {
            id: d.id,
            event_id: d.event_id,
            category: d.category,
            status: d.status.as_str(),
            attempts: d.attempts,
            answer: match (d.response_status, d.last_error) {
                (_, Some(e)) => e,
                (Some(s), None) => format!("HTTP {s}"),
                (None, None) => String::new(),
            },
            created: patchtrack_store::time::iso(d.created),
            replay_of: d.replay_of,
        })
        .collect();
    let page = LogPage {
        base: req.base("Webhook deliveries", Some(&project)),
        project,
        hook: row(&hook),
        entries,
    };
    Ok(req.render(&page))
}

/// `POST /project/L/webhooks/N/` with `delivery`: send it again.
pub async fn replay(
    Path((linkname, id)): Path<(String, i64)>,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let back = format!("/project/{linkname}/webhooks/{id}/");
    let project = super::project::maintained(&req, &linkname, &back).await?;
    hook_of(&req, &project, id).await?;
    let Some(delivery) = form.get("delivery").and_then(|d| d.parse::<i64>().ok()) else {
        return Err(PageError::NotFound);
    };
    match req.app.store.delivery(delivery).await? {
        Some(d) if d.webhook_id == id => {}
        _ => return Err(PageError::NotFound),
    }
    req.app.store.replay_delivery(delivery).await?;
    Ok(req.redirect(&back, &[format!("Delivery {delivery} queued again.")]))
}
