//! `/api/projects/`: readable by anyone, editable by maintainers.

use patchtrack_store::{Project, ProjectOrder, ProjectUpdate};

use super::embed::Embed;
use super::{Body, Ctx, Input, Reply, Version, list_reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;

const ORDER: [(&str, ProjectOrder); 4] = [
    ("id", ProjectOrder::Id),
    ("name", ProjectOrder::Name),
    ("link_name", ProjectOrder::LinkName),
    ("list_id", ProjectOrder::ListId),
];

fn render(e: &Embed<'_>, j: &mut Json, p: &Project, maintainers: &[patchtrack_store::UserRef]) {
    let v = e.ctx.version;
    j.begin(None)
        .int("id", p.id)
        .str("url", &e.ctx.api(&format!("projects/{}/", p.id)))
        .str("name", &p.name)
        .str("link_name", &p.linkname)
        .str("list_id", &p.listid)
        .str("list_email", &p.listemail)
        .str("web_url", &p.web_url)
        .str("scm_url", &p.scm_url)
        .str("webscm_url", &p.webscm_url);
    j.begin_array(Some("maintainers"));
    for m in maintainers {
        e.user(j, None, Some(m));
    }
    j.end_array();
    if v.at_least(1) {
        j.str("subject_match", &p.subject_match);
    }
    if v.at_least(2) {
        e.project_tail(j, p);
    }
    if v.at_least(4) {
        j.bool("show_dependencies", p.show_dependencies);
    }
    if v.at_least(Version::EXTENDED) {
        j.bool("auto_supersede", p.auto_supersede);
    }
    j.end();
}

/// `GET /projects/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let order = ctx.params.order(&ORDER, &[(ProjectOrder::Id, false)]);
    let listed = app
        .store
        .project_list(&ctx.params.search(), &order, page)
        .await?;
    let ids: Vec<i64> = listed
        .as_ref()
        .map(|l| l.items.iter().map(|p| p.id).collect())
        .unwrap_or_default();
    let maintainers = app.store.maintainers(&ids).await?;
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, p| {
        render(&e, j, p, maintainers.get(&p.id).map_or(&[], Vec::as_slice));
    })
}

async fn find(app: &App, segment: &str) -> Result<Project, ApiError> {
    app.store
        .project_by_id_or_linkname(segment)
        .await?
        .ok_or_else(|| ApiError::no_match("Project"))
}

async fn respond(app: &App, ctx: &Ctx, p: &Project) -> Result<Reply, ApiError> {
    let maintainers = app.store.maintainers(&[p.id]).await?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(
        &e,
        &mut j,
        p,
        maintainers.get(&p.id).map_or(&[], Vec::as_slice),
    );
    Ok(Reply::ok(j.finish()))
}

/// `GET /projects/ID|LINKNAME/`.
pub async fn detail(app: &App, ctx: &Ctx, segment: &str) -> Result<Reply, ApiError> {
    let p = find(app, segment).await?;
    respond(app, ctx, &p).await
}

fn text(body: &Body, key: &str, max: usize) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Input::Null) => Err(ApiError::field(key, "This field may not be null.")),
        Some(v) => {
            let s = v
                .as_text()
                .ok_or_else(|| ApiError::field(key, "Not a valid string."))?;
            if s.chars().count() > max {
                return Err(ApiError::field(
                    key,
                    format!("Ensure this field has no more than {max} characters."),
                ));
            }
            Ok(Some(s))
        }
    }
}

/// `PATCH`/`PUT /projects/ID|LINKNAME/`: maintainers only.
pub async fn update(app: &App, ctx: &Ctx, segment: &str, body: &Body) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    let p = find(app, segment).await?;
    if !who.maintains(p.id) {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    let show_dependencies = match body.get("show_dependencies") {
        None => None,
        Some(v) => Some(
            v.as_bool()
                .ok_or_else(|| ApiError::field("show_dependencies", "Must be a valid boolean."))?,
        ),
    };
    let auto_supersede = match body.get("auto_supersede") {
        Some(v) if ctx.version.at_least(Version::EXTENDED) => Some(
            v.as_bool()
                .ok_or_else(|| ApiError::field("auto_supersede", "Must be a valid boolean."))?,
        ),
        _ => None,
    };
    let update = ProjectUpdate {
        web_url: text(body, "web_url", 2000)?,
        scm_url: text(body, "scm_url", 2000)?,
        webscm_url: text(body, "webscm_url", 2000)?,
        list_archive_url: text(body, "list_archive_url", 2000)?,
        list_archive_url_format: text(body, "list_archive_url_format", 2000)?,
        commit_url_format: text(body, "commit_url_format", 2000)?,
        show_dependencies,
        auto_supersede,
    };
    let p = app.store.update_project_fields(p.id, &update).await?;
    respond(app, ctx, &p).await
}
