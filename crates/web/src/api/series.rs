//! `/api/series/`: read-only up to 1.4; API 1.5 changes every patch of
//! a series at once.

use patchtrack_store::time::SiteZone;
use patchtrack_store::{
    PatchUpdate, Refused, Series, SeriesFilter, SeriesOrder, SeriesStates, time,
};

use super::embed::Embed;
use super::params::Invalid;
use super::{Body, Ctx, Reply, Version, list_reply};
use crate::App;
use crate::error::ApiError;
use crate::json::Json;
use crate::urls;

const ORDER: [(&str, SeriesOrder); 5] = [
    ("id", SeriesOrder::Id),
    ("name", SeriesOrder::Name),
    ("date", SeriesOrder::Date),
    ("submitter", SeriesOrder::Submitter),
    ("received_all", SeriesOrder::ReceivedAll),
];

/// A series; `states` (API 1.5) adds where its patches stand.
fn render(e: &Embed<'_>, j: &mut Json, s: &Series, states: Option<&SeriesStates>) {
    let ctx = e.ctx;
    let v = ctx.version;
    j.begin(None)
        .int("id", s.id)
        .str("url", &ctx.api(&format!("series/{}/", s.id)));
    if v.at_least(1) {
        j.str(
            "web_url",
            &ctx.web(&urls::series_list(e.linkname(s.project_id), s.id)),
        );
    }
    e.project(j, Some("project"), s.project_id);
    j.opt_str("name", s.name.as_deref())
        .str("date", &time::iso(s.date));
    e.person(j, Some("submitter"), &s.submitter);
    j.int("version", s.version)
        .int("total", s.total)
        .int("received_total", s.received_total)
        .bool("received_all", s.total <= s.received_total)
        .str("mbox", &ctx.web(&format!("/series/{}/mbox/", s.id)));
    match &s.cover_letter {
        Some(c) => e.cover(j, Some("cover_letter"), c),
        None => {
            j.null("cover_letter");
        }
    }
    j.begin_array(Some("patches"));
    for p in &s.patches {
        e.patch(j, None, p);
    }
    j.end_array();
    let show = e
        .projects
        .get(&s.project_id)
        .is_some_and(|p| p.show_dependencies);
    if v.at_least(4) && show {
        j.begin_array(Some("dependencies"));
        for d in &s.dependencies {
            j.item_str(&ctx.api(&format!("series/{d}/")));
        }
        j.end_array();
        j.begin_array(Some("dependents"));
        for d in &s.dependents {
            j.item_str(&ctx.api(&format!("series/{d}/")));
        }
        j.end_array();
    }
    if let Some(states) = states {
        j.bool("open", states.open);
        j.begin(Some("state"));
        for (slug, n) in &states.counts {
            j.int(slug, *n);
        }
        j.end();
    }
    j.end();
}

/// The list's filters; `open`, `state` and `version` are API 1.5's, and
/// earlier versions ignore them as upstream ignores unknown parameters.
fn filter(ctx: &Ctx) -> Result<SeriesFilter, Invalid> {
    let q = &ctx.params;
    let extended = ctx.version.at_least(Version::EXTENDED);
    Ok(SeriesFilter {
        projects: q.lookups("project")?,
        submitters: q.lookups("submitter")?,
        dates: q.dates(&SiteZone::utc())?,
        search: q.search(),
        open: q.bool("open").filter(|_| extended),
        states: match extended {
            true => q.lookups("state")?,
            false => Vec::new(),
        },
        versions: match extended {
            true => q.ids("version")?,
            false => Vec::new(),
        },
    })
}

/// `GET /series/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let listed = match filter(ctx) {
        Ok(f) => {
            let order = ctx.params.order(&ORDER, &[(SeriesOrder::Id, false)]);
            app.store.series_list(&f, &order, page).await?
        }
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let states = match ctx.version.at_least(Version::EXTENDED) {
        true => {
            let ids: Vec<i64> = listed.iter().flat_map(|l| &l.items).map(|s| s.id).collect();
            app.store.series_states(&ids).await?
        }
        false => Default::default(),
    };
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, s| {
        render(&e, j, s, states.get(&s.id))
    })
}

/// `GET /series/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    let s = app
        .store
        .series(id)
        .await?
        .ok_or_else(|| ApiError::no_match("Series"))?;
    let states = match ctx.version.at_least(Version::EXTENDED) {
        true => app.store.series_states(&[s.id]).await?.remove(&s.id),
        false => None,
    };
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &s, states.as_ref());
    Ok(Reply::ok(j.finish()))
}

/// `PATCH /api/1.5/series/ID/`: `state`, `delegate` and `archived` for
/// every patch of the series, in one transaction with one event per
/// patch changed, under the rules of a single patch's write. Refused as a
/// whole, with 403, when the requester may change only some of them.
pub async fn update(app: &App, ctx: &Ctx, id: i64, body: &Body) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    if app.store.series(id).await?.is_none() {
        return Err(ApiError::no_match("Series"));
    }
    let asked = super::patch::read_update(app, body, false).await?;
    let update = PatchUpdate {
        state: asked.state,
        delegate: asked.delegate,
        archived: asked.archived,
        ..PatchUpdate::default()
    };
    let updates: Vec<(i64, PatchUpdate)> = app
        .store
        .series_patch_ids(id)
        .await?
        .into_iter()
        .map(|p| (p, update.clone()))
        .collect();
    if let Err(refused) = app.store.update_patches(who, &updates, false).await? {
        // The same change for every patch: a missing right on any of them
        // refuses the whole; otherwise each refusal is the same one.
        let first = match refused.iter().find(|(_, r)| *r == Refused::NotAllowed) {
            Some((_, r)) => r.clone(),
            None => refused
                .into_iter()
                .next()
                .map(|(_, r)| r)
                .unwrap_or(Refused::NoSuchPatch),
        };
        return Err(first.into());
    }
    detail(app, ctx, id).await
}
