//! `/api/bundles/`: public bundles for everyone, private ones for their
//! owner; writes from 1.2.

use axum::http::Method;
use patchtrack_store::{Bundle, BundleChanges, BundleFilter, BundleOrder};

use super::embed::Embed;
use super::params::Invalid;
use super::{Body, Ctx, Reply, list_reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;
use crate::urls;

const ORDER: [(&str, BundleOrder); 3] = [
    ("id", BundleOrder::Id),
    ("name", BundleOrder::Name),
    ("owner", BundleOrder::Owner),
];

fn render(e: &Embed<'_>, j: &mut Json, b: &Bundle) {
    let ctx = e.ctx;
    let web = urls::bundle(&b.owner.username, &b.name);
    j.begin(None)
        .int("id", b.id)
        .str("url", &ctx.api(&format!("bundles/{}/", b.id)));
    if ctx.version.at_least(1) {
        j.str("web_url", &ctx.web(&web));
    }
    e.project(j, Some("project"), b.project_id);
    j.str("name", &b.name);
    e.user(j, Some("owner"), Some(&b.owner));
    j.begin_array(Some("patches"));
    for p in &b.patches {
        e.patch(j, None, p);
    }
    j.end_array();
    j.bool("public", b.public)
        .str("mbox", &ctx.web(&format!("{web}mbox/")))
        .end();
}

fn filter(ctx: &Ctx) -> Result<BundleFilter, Invalid> {
    let q = &ctx.params;
    Ok(BundleFilter {
        projects: q.lookups("project")?,
        owners: q.lookups("owner")?,
        public: q.bool("public"),
        search: q.search(),
    })
}

fn viewer(ctx: &Ctx) -> Option<i64> {
    ctx.principal.as_ref().map(|p| p.user.id)
}

/// `GET /bundles/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let listed = match filter(ctx) {
        Ok(f) => {
            let order = ctx.params.order(&ORDER, &[(BundleOrder::Id, false)]);
            app.store.bundles(viewer(ctx), &f, &order, page).await?
        }
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, b| render(&e, j, b))
}

async fn respond(app: &App, ctx: &Ctx, b: &Bundle, created: bool) -> Result<Reply, ApiError> {
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, b);
    Ok(if created {
        Reply::created(j.finish(), ctx.api(&format!("bundles/{}/", b.id)))
    } else {
        Reply::ok(j.finish())
    })
}

/// `GET /bundles/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    let b = app
        .store
        .bundle(id, viewer(ctx))
        .await?
        .ok_or_else(|| ApiError::no_match("Bundle"))?;
    respond(app, ctx, &b, false).await
}

fn changes(body: &Body, require_all: bool) -> Result<BundleChanges, ApiError> {
    let name = body.get("name").and_then(super::Input::as_text);
    let patches = body.id_list("patches")?;
    let mut missing = Vec::new();
    if require_all && name.is_none() {
        missing.push(("name".to_string(), "This field is required.".to_string()));
    }
    if require_all && patches.is_none() {
        missing.push(("patches".to_string(), "This field is required.".to_string()));
    }
    if !missing.is_empty() {
        return Err(ApiError::Field(missing));
    }
    let public = match body.get("public") {
        None => None,
        Some(v) => Some(
            v.as_bool()
                .ok_or_else(|| ApiError::field("public", "Must be a valid boolean."))?,
        ),
    };
    Ok(BundleChanges {
        name,
        patches,
        public,
    })
}

/// `POST /bundles/` (1.2+).
pub async fn create(app: &App, ctx: &Ctx, body: &Body) -> Result<Reply, ApiError> {
    if !ctx.version.at_least(2) {
        return Err(ApiError::MethodNotAllowed("POST".into()));
    }
    let who = ctx.require_user()?;
    let changes = changes(body, true)?;
    match app.store.save_bundle(who.user.id, None, &changes).await? {
        Ok(b) => respond(app, ctx, &b, true).await,
        Err(refused) => Err(refused.into()),
    }
}

/// `PATCH`/`PUT`/`DELETE /bundles/ID/` (1.2+, owner only).
pub async fn write(
    app: &App,
    ctx: &Ctx,
    id: i64,
    method: &Method,
    body: &Body,
) -> Result<Reply, ApiError> {
    if !ctx.version.at_least(2) {
        return Err(ApiError::MethodNotAllowed(method.as_str().into()));
    }
    let who = ctx.require_user()?;
    let b = app
        .store
        .bundle(id, Some(who.user.id))
        .await?
        .ok_or_else(|| ApiError::no_match("Bundle"))?;
    if b.owner.id != who.user.id {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    if *method == Method::DELETE {
        app.store.delete_bundle(id).await?;
        return Ok(Reply::no_content());
    }
    let changes = changes(body, *method == Method::PUT)?;
    match app
        .store
        .save_bundle(who.user.id, Some(id), &changes)
        .await?
    {
        Ok(b) => respond(app, ctx, &b, false).await,
        Err(refused) => Err(refused.into()),
    }
}
