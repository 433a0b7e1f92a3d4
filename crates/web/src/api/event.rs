//! `/api/events/`: the timeline bots poll, newest first; in API 1.5
//! also by id (`?since_id=`, `order=id`) and as a live stream
//! ([`super::event_stream`]).

use patchtrack_store::{Event, EventFilter, EventOrder, Lookup};

use super::embed::Embed;
use super::params::Invalid;
use super::{Ctx, Reply, Version, list_reply};
use crate::App;
use crate::error::ApiError;
use crate::json::Json;

/// Patchwork's event categories.
pub(crate) const CATEGORIES: [&str; 11] = [
    "cover-created",
    "patch-created",
    "patch-completed",
    "patch-state-changed",
    "patch-delegated",
    "patch-relation-changed",
    "check-created",
    "series-created",
    "series-completed",
    "cover-comment-created",
    "patch-comment-created",
];

pub(super) fn render(e: &Embed<'_>, j: &mut Json, ev: &Event) {
    j.begin(None).int("id", ev.id).str("category", &ev.category);
    e.project(j, Some("project"), ev.project_id);
    j.str("date", &e.ctx.zone.iso(ev.date));
    e.user(j, Some("actor"), ev.actor.as_ref());
    j.begin(Some("payload"));
    let patch = |j: &mut Json| match &ev.patch {
        Some(p) => e.patch(j, Some("patch"), p),
        None => {
            j.null("patch");
        }
    };
    let series = |j: &mut Json| match &ev.series {
        Some(s) => e.series(j, Some("series"), s),
        None => {
            j.null("series");
        }
    };
    let cover = |j: &mut Json| match &ev.cover {
        Some(c) => e.cover(j, Some("cover"), c),
        None => {
            j.null("cover");
        }
    };
    let comment = |j: &mut Json| match &ev.comment {
        Some(c) => e.comment(j, Some("comment"), c, ev.project_id),
        None => {
            j.null("comment");
        }
    };
    match ev.category.as_str() {
        "cover-created" => cover(j),
        "patch-created" => patch(j),
        "patch-completed" => {
            patch(j);
            series(j);
        }
        "patch-state-changed" => {
            patch(j);
            j.opt_str("previous_state", ev.previous_state.as_deref())
                .opt_str("current_state", ev.current_state.as_deref());
        }
        "patch-delegated" => {
            patch(j);
            e.user(j, Some("previous_delegate"), ev.previous_delegate.as_ref());
            e.user(j, Some("current_delegate"), ev.current_delegate.as_ref());
        }
        "patch-relation-changed" => {
            patch(j);
            j.null("previous_relation").null("current_relation");
        }
        "check-created" => {
            patch(j);
            match &ev.check {
                Some(c) => e.check(j, Some("check"), c),
                None => {
                    j.null("check");
                }
            }
        }
        "series-created" | "series-completed" => series(j),
        "cover-comment-created" => {
            cover(j);
            comment(j);
        }
        "patch-comment-created" => {
            patch(j);
            comment(j);
        }
        // API 1.5's own categories (the lists of 1.0 to 1.4 leave them out).
        "check-updated" => {
            patch(j);
            match &ev.check {
                Some(c) => e.check(j, Some("check"), c),
                None => {
                    j.null("check");
                }
            }
        }
        "recheck-requested" => {
            patch(j);
            series(j);
            comment(j);
            let contexts: Vec<String> = ev
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            j.begin_array(Some("contexts"));
            for c in &contexts {
                j.item_str(c);
            }
            j.end_array();
        }
        _ => {}
    }
    j.end();
    j.end();
}

/// The list's filters; also the stream's (which takes every one but the
/// dates).
pub(super) fn filter(ctx: &Ctx) -> Result<EventFilter, Invalid> {
    let q = &ctx.params;
    let v = ctx.version;
    let extended = v.at_least(Version::EXTENDED);
    let category = match q.last("category") {
        None => None,
        Some(c) if CATEGORIES.contains(&c) => Some(c.to_string()),
        Some(c) if extended && patchtrack_store::EXTENDED_CATEGORIES.contains(&c) => {
            Some(c.to_string())
        }
        Some(_) => return Err(Invalid),
    };
    let actor = match q.last("actor") {
        Some(a) if v.at_least(2) => {
            if a.trim().is_empty() {
                return Err(Invalid);
            }
            Some(Lookup::parse(a))
        }
        _ => None,
    };
    Ok(EventFilter {
        projects: q.lookups("project")?,
        category,
        series: q.ids("series")?,
        patches: q.ids("patch")?,
        covers: q.ids("cover")?,
        actor,
        dates: q.dates(&ctx.zone)?,
        without_comments: !v.at_least(3),
        without_extended: !extended,
        since_id: None,
    })
}

/// API 1.5's `?since_id=N`: only events after event N. A value that is
/// not a whole number is a 400, as 1.5's own parameters are.
pub(super) fn since_id(ctx: &Ctx) -> Result<Option<i64>, ApiError> {
    if !ctx.version.at_least(Version::EXTENDED) {
        return Ok(None);
    }
    match ctx.params.last("since_id") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| ApiError::field("since_id", "A valid integer is required.")),
    }
}

/// The order asked for: `date` (oldest first, from 1.2) or newest first
/// as upstream; 1.5 adds `id` and `-id`, and lists oldest first by id
/// when `since_id` is given without an order (a poller's next page).
fn order(ctx: &Ctx, since_id: Option<i64>) -> EventOrder {
    let v = ctx.version;
    match ctx.params.last("order") {
        Some("date") if v.at_least(2) => EventOrder::DateAsc,
        Some("id") if v.at_least(Version::EXTENDED) => EventOrder::IdAsc,
        Some("-id") if v.at_least(Version::EXTENDED) => EventOrder::IdDesc,
        None if since_id.is_some() => EventOrder::IdAsc,
        _ => EventOrder::DateDesc,
    }
}

/// `GET /events/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let since_id = since_id(ctx)?;
    let order = order(ctx, since_id);
    let listed = match filter(ctx) {
        Ok(f) => {
            let f = EventFilter { since_id, ..f };
            app.store.events(&f, order, page).await?
        }
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, ev| render(&e, j, ev))
}

/// The JSON `/api/1.5/events/` shows for one event, with links under
/// `base`: the body of a webhook delivery. None when the event is gone.
pub async fn event_body(app: &App, base: &str, event_id: i64) -> Result<Option<String>, ApiError> {
    let Some(ev) = app.store.event(event_id).await? else {
        return Ok(None);
    };
    let ctx = Ctx {
        base: base.trim_end_matches('/').to_string(),
        version: Version {
            minor: Version::EXTENDED,
            explicit: true,
        },
        format: None,
        principal: None,
        params: super::params::Params::parse(None),
        path: "/api/1.5/events/".into(),
        zone: app.zone.clone(),
    };
    let e = Embed::load(app, &ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &ev);
    Ok(Some(j.finish()))
}
