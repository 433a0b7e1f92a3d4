//! `/api/patches/ID/comments/` and `/api/covers/ID/comments/` (1.1+), and
//! their detail with the writable `addressed` flag (1.3+).

use patchtrack_store::{Comment, CommentOrder, Parent, time};

use super::embed::Embed;
use super::{Body, Ctx, Input, Reply, list_reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;
use crate::urls;

const ORDER: [(&str, CommentOrder); 4] = [
    ("id", CommentOrder::Id),
    ("subject", CommentOrder::Subject),
    ("date", CommentOrder::Date),
    ("submitter", CommentOrder::Submitter),
];

fn parent_name(parent: Parent) -> &'static str {
    match parent {
        Parent::Patch(_) => "Patch",
        Parent::Cover(_) => "Cover",
    }
}

fn render(e: &Embed<'_>, j: &mut Json, c: &Comment, project_id: i64) {
    let ctx = e.ctx;
    let v = ctx.version;
    j.begin(None).int("id", c.id);
    if v.at_least(3) {
        let path = match c.parent {
            Parent::Patch(p) => format!("patches/{p}/comments/{}/", c.id),
            Parent::Cover(p) => format!("covers/{p}/comments/{}/", c.id),
        };
        j.str("url", &ctx.api(&path));
    }
    j.str("web_url", &ctx.web(&format!("/comment/{}/", c.id)))
        .str("msgid", &c.msgid);
    if v.at_least(2) {
        j.opt_str(
            "list_archive_url",
            e.archive_url(project_id, &c.msgid).as_deref(),
        );
    }
    // `subject` is the raw header, as upstream stores it.
    let subject = urls::split_headers(&c.headers)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("subject"))
        .map(|(_, v)| v)
        .unwrap_or_default();
    j.str("date", &time::iso(c.date)).str("subject", &subject);
    e.person(j, Some("submitter"), &c.submitter);
    j.opt_str("content", c.content.as_deref());
    e.headers(j, "headers", &c.headers);
    if v.at_least(3) {
        j.opt_bool("addressed", c.addressed);
    }
    j.end();
}

async fn project_of(app: &App, parent: Parent) -> Result<i64, ApiError> {
    app.store
        .parent_project(parent)
        .await?
        .ok_or_else(|| ApiError::no_match(parent_name(parent)))
}

/// `GET .../comments/`.
pub async fn list(app: &App, ctx: &Ctx, parent: Parent) -> Result<Reply, ApiError> {
    let project_id = project_of(app, parent).await?;
    let page = ctx.page()?;
    let order = ctx.params.order(&ORDER, &[(CommentOrder::Id, false)]);
    let listed = app
        .store
        .comments(parent, &ctx.params.search(), &order, page)
        .await?;
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, c| render(&e, j, c, project_id))
}

async fn respond(app: &App, ctx: &Ctx, c: &Comment, project_id: i64) -> Result<Reply, ApiError> {
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, c, project_id);
    Ok(Reply::ok(j.finish()))
}

fn comment_model(parent: Parent) -> &'static str {
    match parent {
        Parent::Patch(_) => "PatchComment",
        Parent::Cover(_) => "CoverComment",
    }
}

/// `GET .../comments/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, parent: Parent, id: i64) -> Result<Reply, ApiError> {
    let project_id = project_of(app, parent).await?;
    let c = app
        .store
        .comment(parent, id)
        .await?
        .ok_or_else(|| ApiError::no_match(comment_model(parent)))?;
    respond(app, ctx, &c, project_id).await
}

/// `PATCH`/`PUT .../comments/ID/`: `addressed` only. PUT behaves as PATCH
/// (upstream fails with a 500).
pub async fn update(
    app: &App,
    ctx: &Ctx,
    parent: Parent,
    id: i64,
    body: &Body,
) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    let project_id = project_of(app, parent).await?;
    let c = app
        .store
        .comment(parent, id)
        .await?
        .ok_or_else(|| ApiError::no_match(comment_model(parent)))?;
    if !app.store.can_address(who, &c).await? {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    let addressed = match body.get("addressed") {
        None => return respond(app, ctx, &c, project_id).await,
        Some(Input::Null) => None,
        Some(Input::Str(s)) if s.is_empty() => None,
        Some(v) => Some(
            v.as_bool()
                .ok_or_else(|| ApiError::field("addressed", "Must be a valid boolean."))?,
        ),
    };
    let c = app.store.set_addressed(parent, id, addressed).await?;
    respond(app, ctx, &c, project_id).await
}
