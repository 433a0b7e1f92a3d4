//! `/api/series/`: read-only up to 1.4; API 1.5 changes every patch of
//! a series at once.

use std::collections::HashMap;

use patchtrack_store::time::SiteZone;
use patchtrack_store::{
    Lineage, PatchUpdate, Refused, Series, SeriesFilter, SeriesOrder, SeriesStates, VersionRef,
    time,
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

/// What API 1.5 adds to each series, read for a whole page at once.
#[derive(Debug, Default)]
struct Additions {
    states: HashMap<i64, SeriesStates>,
    lineage: HashMap<i64, Lineage>,
}

impl Additions {
    async fn load(app: &App, ctx: &Ctx, ids: &[i64]) -> Result<Option<Additions>, ApiError> {
        if !ctx.version.at_least(Version::EXTENDED) {
            return Ok(None);
        }
        Ok(Some(Additions {
            states: app.store.series_states(ids).await?,
            lineage: app.store.series_lineage(ids).await?,
        }))
    }
}

fn versions(e: &Embed<'_>, j: &mut Json, key: &str, list: &[VersionRef]) {
    let ctx = e.ctx;
    j.begin_array(Some(key));
    for r in list {
        j.begin(None)
            .int("id", r.id)
            .str("url", &ctx.api(&format!("series/{}/", r.id)))
            .opt_str("name", r.name.as_deref())
            .int("version", r.version)
            .str("date", &time::iso(r.date))
            .opt_str("evidence", r.evidence.map(|e| e.as_str()))
            .end();
    }
    j.end_array();
}

/// A series; `add` (API 1.5) adds where its patches stand and its other
/// versions.
fn render(e: &Embed<'_>, j: &mut Json, s: &Series, add: Option<&Additions>) {
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
    if let Some(add) = add {
        let states = add.states.get(&s.id).cloned().unwrap_or_default();
        j.bool("open", states.open);
        j.begin(Some("state"));
        for (slug, n) in &states.counts {
            j.int(slug, *n);
        }
        j.end();
        let lineage = add.lineage.get(&s.id).cloned().unwrap_or_default();
        versions(e, j, "previous_versions", &lineage.previous);
        versions(e, j, "next_versions", &lineage.next);
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
    let ids: Vec<i64> = listed.iter().flat_map(|l| &l.items).map(|s| s.id).collect();
    let add = Additions::load(app, ctx, &ids).await?;
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, s| render(&e, j, s, add.as_ref()))
}

/// `GET /series/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    let s = app
        .store
        .series(id)
        .await?
        .ok_or_else(|| ApiError::no_match("Series"))?;
    let add = Additions::load(app, ctx, &[s.id]).await?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &s, add.as_ref());
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

/// `GET /api/1.5/series/ID/interdiff/?against=M`: what changed from
/// version M (by default the version this one revises) to this one.
pub async fn interdiff(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    use crate::interdiff::Refusal;
    let c = match crate::interdiff::compare(&app.store, id, ctx.params.last("against")).await? {
        Ok(c) => c,
        Err(Refusal::NoSeries) => return Err(ApiError::no_match("Series")),
        Err(r) => return Err(ApiError::field("against", r.message())),
    };
    let e = Embed::load(app, ctx).await?;
    let patch_ref = |p: &patchtrack_store::Patch| patchtrack_store::PatchRef {
        id: p.id,
        project_id: p.project_id,
        msgid: p.msgid.clone(),
        date: p.date,
        name: p.name.clone(),
    };
    let series_ref = |x: &Series| patchtrack_store::SeriesRef {
        id: x.id,
        project_id: x.project_id,
        name: x.name.clone(),
        date: x.date,
        version: x.version,
    };
    let mut j = Json::new();
    j.begin(None);
    e.series(&mut j, Some("series"), &series_ref(&c.series));
    e.series(&mut j, Some("against"), &series_ref(&c.against));
    j.begin_array(Some("pairs"));
    for pair in &c.diff.pairs {
        j.begin(None);
        e.patch(&mut j, Some("patch"), &patch_ref(&c.new[pair.new]));
        e.patch(&mut j, Some("against"), &patch_ref(&c.old[pair.old]));
        j.str("matched", pair.matched.as_str())
            .str("interdiff", &pair.interdiff)
            .end();
    }
    j.end_array();
    let lists = [
        ("added", &c.diff.added, &c.new),
        ("dropped", &c.diff.dropped, &c.old),
    ];
    for (key, list, patches) in lists {
        j.begin_array(Some(key));
        for &i in list {
            e.patch(&mut j, None, &patch_ref(&patches[i]));
        }
        j.end_array();
    }
    j.end();
    Ok(Reply::ok(j.finish()))
}
