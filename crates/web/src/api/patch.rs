//! `/api/patches/`: the list clients poll, the detail they fetch, and the
//! update maintainers (and submitters, delegates) make.

use std::collections::HashMap;

use axum::http::Method;
use patchtrack_store::time::SiteZone;
use patchtrack_store::{Patch, PatchFilter, PatchOrder, PatchRef, PatchUpdate, Refused, time};

use super::embed::Embed;
use super::params::Invalid;
use super::{Body, Ctx, Input, Reply, Version, list_reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;
use crate::urls;

const ORDER: [(&str, PatchOrder); 8] = [
    ("id", PatchOrder::Id),
    ("name", PatchOrder::Name),
    ("project", PatchOrder::Project),
    ("date", PatchOrder::Date),
    ("state", PatchOrder::State),
    ("archived", PatchOrder::Archived),
    ("submitter", PatchOrder::Submitter),
    ("delegate", PatchOrder::Delegate),
];

/// What API 1.5 adds to each patch, read for a whole page at once.
#[derive(Debug, Default)]
pub struct Additions {
    /// The patch each one revises (none listed: lineage does not know).
    supersedes: Option<HashMap<i64, PatchRef>>,
}

impl Additions {
    /// The additions for these patches: nothing before API 1.5.
    pub async fn load(app: &App, ctx: &Ctx, ids: &[i64]) -> Result<Additions, ApiError> {
        if !ctx.version.at_least(Version::EXTENDED) {
            return Ok(Additions::default());
        }
        Ok(Additions {
            supersedes: Some(app.store.patch_supersedes(ids).await?),
        })
    }
}

/// Writes a patch: the list form, plus headers, content, diff and
/// prefixes for the detail.
pub fn render(e: &Embed<'_>, j: &mut Json, p: &Patch, add: &Additions) {
    write(e, j, p, false, add);
}

/// `partial`: the answer to a `PATCH`. Upstream's serializer then skips
/// a field whose value is missing instead of using its default, and
/// `related` is missing when the patch has no relation: such an answer
/// has no `related` key at all (a `PUT` or a `GET` says `[]`).
fn write(e: &Embed<'_>, j: &mut Json, p: &Patch, partial: bool, add: &Additions) {
    let ctx = e.ctx;
    let v = ctx.version;
    let linkname = e.linkname(p.project_id);
    let web = urls::patch(linkname, &p.msgid);
    j.begin(None)
        .int("id", p.id)
        .str("url", &ctx.api(&format!("patches/{}/", p.id)));
    if v.at_least(1) {
        j.str("web_url", &ctx.web(&web));
    }
    e.project(j, Some("project"), p.project_id);
    j.str("msgid", &p.msgid);
    if v.at_least(2) {
        j.opt_str(
            "list_archive_url",
            e.archive_url(p.project_id, &p.msgid).as_deref(),
        );
    }
    j.str("date", &time::iso(p.date))
        .str("name", &p.name)
        .opt_str("commit_ref", p.commit_ref.as_deref())
        .opt_str("pull_url", p.pull_url.as_deref())
        .str("state", &p.state)
        .bool("archived", p.archived)
        .opt_str("hash", p.hash.as_deref());
    e.person(j, Some("submitter"), &p.submitter);
    e.user(j, Some("delegate"), p.delegate.as_ref());
    j.str("mbox", &ctx.web(&format!("{web}mbox/")));
    j.begin_array(Some("series"));
    if let Some(s) = &p.series {
        e.series(j, None, s);
    }
    j.end_array();
    if v.at_least(1) {
        j.str(
            "comments",
            &ctx.api_bare(&format!("patches/{}/comments/", p.id)),
        );
    }
    j.str("check", p.check.label()).str(
        "checks",
        &ctx.api_bare(&format!("patches/{}/checks/", p.id)),
    );
    j.begin(Some("tags")).end();
    if v.at_least(2) && !(partial && p.related.is_empty()) {
        j.begin_array(Some("related"));
        for r in &p.related {
            e.patch(j, None, r);
        }
        j.end_array();
    }
    if let Some(supersedes) = &add.supersedes {
        match supersedes.get(&p.id) {
            Some(r) => e.patch(j, Some("supersedes"), r),
            None => {
                j.null("supersedes");
            }
        }
    }
    if let Some(body) = &p.body {
        e.headers(j, "headers", &body.headers);
        j.opt_str("content", body.content.as_deref())
            .opt_str("diff", body.diff.as_deref());
        j.begin_array(Some("prefixes"));
        for prefix in patchtrack_mail::subject::clean_subject(&p.name, &[]).prefixes {
            j.item_str(&prefix);
        }
        j.end_array();
    }
    j.end();
}

fn filter(ctx: &Ctx) -> Result<PatchFilter, Invalid> {
    let q = &ctx.params;
    let v = ctx.version;
    Ok(PatchFilter {
        projects: q.lookups("project")?,
        series: q.ids("series")?,
        submitters: q.lookups("submitter")?,
        delegates: q.lookups("delegate")?,
        no_delegate: false,
        states: q.lookups("state")?,
        archived: q.bool("archived"),
        hash: if v.at_least(2) {
            q.last("hash").map(str::to_string)
        } else {
            None
        },
        msgid: if v.at_least(2) {
            q.last("msgid").map(|m| format!("<{m}>"))
        } else {
            None
        },
        dates: q.dates(&SiteZone::utc())?,
        search: q.search(),
    })
}

/// `GET /patches/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let listed = match filter(ctx) {
        Ok(f) => {
            let order = ctx.params.order(&ORDER, &[(PatchOrder::Id, false)]);
            app.store.patches(&f, &order, page).await?
        }
        Err(Invalid) => patchtrack_store::Listed::empty(page),
    };
    let e = Embed::load(app, ctx).await?;
    let ids: Vec<i64> = listed.iter().flat_map(|l| &l.items).map(|p| p.id).collect();
    let add = Additions::load(app, ctx, &ids).await?;
    list_reply(ctx, page, listed, |j, p| render(&e, j, p, &add))
}

async fn respond(app: &App, ctx: &Ctx, id: i64, partial: bool) -> Result<Reply, ApiError> {
    let p = app
        .store
        .patch(id)
        .await?
        .ok_or_else(|| ApiError::no_match("Patch"))?;
    let e = Embed::load(app, ctx).await?;
    let add = Additions::load(app, ctx, &[p.id]).await?;
    let mut j = Json::new();
    write(&e, &mut j, &p, partial, &add);
    Ok(Reply::ok(j.finish()))
}

/// `GET /patches/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    respond(app, ctx, id, false).await
}

fn nullable_text(body: &Body, key: &str, max: usize) -> Result<Option<Option<String>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Input::Null) => Ok(Some(None)),
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
            Ok(Some(Some(s)))
        }
    }
}

/// `PATCH`/`PUT /patches/ID/`.
pub async fn update(
    app: &App,
    ctx: &Ctx,
    id: i64,
    method: &Method,
    body: &Body,
) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    if app.store.patch(id).await?.is_none() {
        return Err(ApiError::no_match("Patch"));
    }
    if !app.store.can_edit_patch(who, id).await? {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    let put = *method == Method::PUT;
    let update = read_update(app, body, put).await?;
    match app.store.update_patch(who, id, &update).await? {
        Ok(()) => respond(app, ctx, id, !put).await,
        Err(refused) => Err(refused.into()),
    }
}

/// The change a patch write asks for, checked as upstream's serializer
/// checks it; `put` makes state and delegate required and a missing
/// `related` mean none.
pub(super) async fn read_update(
    app: &App,
    body: &Body,
    put: bool,
) -> Result<PatchUpdate, ApiError> {
    let mut missing = Vec::new();
    let mut update = PatchUpdate::default();
    match body.get("state") {
        None if put => missing.push(("state".to_string(), "This field is required.".to_string())),
        None => {}
        Some(v) => {
            let text = match v {
                Input::Str(s) => s.clone(),
                Input::List(_) => v.as_text().unwrap_or_default(),
                other => {
                    return Err(ApiError::field(
                        "state",
                        format!("Invalid state {}. Expected a string.", other.type_name()),
                    ));
                }
            };
            match app.store.state_for_input(&text).await? {
                Ok(s) => update.state = Some(s),
                Err(refused) => return Err(refused.into()),
            }
        }
    }
    match body.get("delegate") {
        None if put => {
            missing.push((
                "delegate".to_string(),
                "This field is required.".to_string(),
            ));
        }
        None => {}
        Some(Input::Null) => update.delegate = Some(None),
        Some(Input::Str(s)) if s.is_empty() => update.delegate = Some(None),
        Some(v) => match v.as_id().filter(|_| !matches!(v, Input::Bool(_))) {
            Some(id) => update.delegate = Some(Some(id)),
            None => {
                return Err(ApiError::field(
                    "delegate",
                    format!(
                        "Incorrect type. Expected pk value, received {}.",
                        v.type_name()
                    ),
                ));
            }
        },
    }
    if !missing.is_empty() {
        return Err(ApiError::Field(missing));
    }
    if let Some(v) = body.get("archived") {
        update.archived = Some(
            v.as_bool()
                .ok_or_else(|| ApiError::field("archived", "Must be a valid boolean."))?,
        );
    }
    update.commit_ref = nullable_text(body, "commit_ref", 255)?;
    update.pull_url = nullable_text(body, "pull_url", 255)?;
    update.related = body.id_list("related")?;
    if put && update.related.is_none() {
        // A PUT replaces the whole object: no `related` means none.
        update.related = Some(Vec::new());
    }
    Ok(update)
}

/// `PATCH /api/1.5/patches/`: a list of `{id, state, delegate, archived,
/// commit_ref, pull_url, related}`, applied in one transaction, all or none. A
/// refused list answers with one entry per item, `{}` for the items that
/// were fine and the error a single `PATCH` would have given for the
/// others: 403 when every error is a missing right, else 400.
pub async fn update_many(
    app: &App,
    ctx: &Ctx,
    items: &[Result<Body, ApiError>],
) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    // Every item is read first; the store then checks the readable ones
    // (keeping nothing unless all of them were readable), so that one
    // answer names every item's problem.
    let mut errors: Vec<Option<ApiError>> = Vec::with_capacity(items.len());
    let mut updates = Vec::with_capacity(items.len());
    let mut position = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let parsed = match item {
            Ok(body) => read_item(app, body).await,
            Err(e) => Err(e.clone()),
        };
        match parsed {
            Ok(u) => {
                updates.push(u);
                position.push(i);
                errors.push(None);
            }
            Err(e) => errors.push(Some(e)),
        }
    }
    let readable = errors.iter().all(Option::is_none);
    match app.store.update_patches(who, &updates, !readable).await? {
        Ok(()) if readable => {
            let e = Embed::load(app, ctx).await?;
            let mut j = Json::new();
            j.begin_array(None);
            // Each patch once, where the list first named it.
            let mut ids: Vec<i64> = Vec::with_capacity(updates.len());
            for (id, _) in &updates {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            let add = Additions::load(app, ctx, &ids).await?;
            for p in app.store.listed_patches_by_ids(&ids).await? {
                render(&e, &mut j, &p, &add);
            }
            j.end_array();
            return Ok(Reply::ok(j.finish()));
        }
        Ok(()) => {}
        Err(refused) => {
            for (i, r) in refused {
                let r = match r {
                    Refused::NoSuchPatch => Refused::NoSuchObject {
                        field: "id",
                        id: updates[i].0,
                    },
                    other => other,
                };
                errors[position[i]] = Some(r.into());
            }
        }
    }
    let forbidden = errors
        .iter()
        .flatten()
        .all(|e| matches!(e, ApiError::Forbidden(_)));
    let mut out = String::from("[");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match e {
            Some(e) => out.push_str(&e.parts().1),
            None => out.push_str("{}"),
        }
    }
    out.push(']');
    Err(match forbidden {
        true => ApiError::RawForbidden(out),
        false => ApiError::RawBadRequest(out),
    })
}

/// One item of a bulk write: its patch, and the change a single patch's
/// `PATCH` would read from the same fields.
async fn read_item(app: &App, body: &Body) -> Result<(i64, PatchUpdate), ApiError> {
    let id = match body.get("id") {
        None | Some(Input::Null) => return Err(ApiError::field("id", "This field is required.")),
        Some(v) => v
            .as_id()
            .filter(|_| !matches!(v, Input::Bool(_)))
            .ok_or_else(|| {
                ApiError::field(
                    "id",
                    format!(
                        "Incorrect type. Expected pk value, received {}.",
                        v.type_name()
                    ),
                )
            })?,
    };
    Ok((id, read_update(app, body, false).await?))
}
