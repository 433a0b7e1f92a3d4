//! `/api/covers/`: cover letters, read-only.

use patchtrack_store::time::SiteZone;
use patchtrack_store::{Cover, CoverFilter, CoverOrder, time};

use super::embed::Embed;
use super::params::Invalid;
use super::{Ctx, Reply, list_reply};
use crate::App;
use crate::error::ApiError;
use crate::json::Json;
use crate::urls;

const ORDER: [(&str, CoverOrder); 4] = [
    ("id", CoverOrder::Id),
    ("name", CoverOrder::Name),
    ("date", CoverOrder::Date),
    ("submitter", CoverOrder::Submitter),
];

fn render(e: &Embed<'_>, j: &mut Json, c: &Cover) {
    let ctx = e.ctx;
    let v = ctx.version;
    let web = urls::cover(e.linkname(c.project_id), &c.msgid);
    j.begin(None)
        .int("id", c.id)
        .str("url", &ctx.api(&format!("covers/{}/", c.id)));
    if v.at_least(1) {
        j.str("web_url", &ctx.web(&web));
    }
    e.project(j, Some("project"), c.project_id);
    j.str("msgid", &c.msgid);
    if v.at_least(2) {
        j.opt_str(
            "list_archive_url",
            e.archive_url(c.project_id, &c.msgid).as_deref(),
        );
    }
    j.str("date", &time::iso(c.date)).str("name", &c.name);
    e.person(j, Some("submitter"), &c.submitter);
    if v.at_least(1) {
        j.str("mbox", &ctx.web(&format!("{web}mbox/")));
    }
    j.begin_array(Some("series"));
    if let Some(s) = &c.series {
        e.series(j, None, s);
    }
    j.end_array();
    if v.at_least(1) {
        j.str(
            "comments",
            &ctx.api_bare(&format!("covers/{}/comments/", c.id)),
        );
    }
    if let Some(body) = &c.body {
        e.headers(j, "headers", &body.headers);
        j.opt_str("content", body.content.as_deref());
    }
    j.end();
}

fn filter(ctx: &Ctx) -> Result<CoverFilter, Invalid> {
    let q = &ctx.params;
    Ok(CoverFilter {
        projects: q.lookups("project")?,
        series: q.ids("series")?,
        submitters: q.lookups("submitter")?,
        msgid: q.last("msgid").map(|m| format!("<{m}>")),
        dates: q.dates(&SiteZone::utc())?,
        search: q.search(),
    })
}

/// `GET /covers/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let listed = match filter(ctx) {
        Ok(f) => {
            let order = ctx.params.order(&ORDER, &[(CoverOrder::Id, false)]);
            app.store.covers(&f, &order, page).await?
        }
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, c| render(&e, j, c))
}

/// `GET /covers/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    let c = app
        .store
        .cover(id)
        .await?
        .ok_or_else(|| ApiError::no_match("Cover"))?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &c);
    Ok(Reply::ok(j.finish()))
}
