//! `/api/events/`: the timeline bots poll, newest first.

use patchtrack_store::{Event, EventFilter, Lookup};

use super::embed::Embed;
use super::params::Invalid;
use super::{Ctx, Reply, list_reply};
use crate::App;
use crate::error::ApiError;
use crate::json::Json;

/// Patchwork's event categories.
const CATEGORIES: [&str; 11] = [
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

fn render(e: &Embed<'_>, j: &mut Json, ev: &Event) {
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
        _ => {}
    }
    j.end();
    j.end();
}

fn filter(ctx: &Ctx) -> Result<EventFilter, Invalid> {
    let q = &ctx.params;
    let v = ctx.version;
    let category = match q.last("category") {
        None => None,
        Some(c) if CATEGORIES.contains(&c) => Some(c.to_string()),
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
    })
}

/// `GET /events/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let ascending = ctx.version.at_least(2) && ctx.params.last("order") == Some("date");
    let listed = match filter(ctx) {
        Ok(f) => app.store.events(&f, ascending, page).await?,
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, ev| render(&e, j, ev))
}
