//! A patch's page and a cover letter's: headers, message, comments,
//! checks, the diff, the series around it, and for those who may, the
//! form that changes state, delegate, archived and commit.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use patchtrack_store::time::SiteZone;
use patchtrack_store::{Check, Comment, Parent, Patch, PatchUpdate, Project, SeriesRef};

use super::project::project_or_404;
use super::{Base, Form, FormPost, PageError, Req, person_name, render, series_label, when};
use crate::urls;

/// What the page shows of the submission itself.
struct Sub {
    id: i64,
    is_patch: bool,
    has_diff: bool,
    name: String,
    url: String,
    msgid: String,
    archive_url: Option<String>,
    submitter: String,
    date: String,
    state: String,
    archived: bool,
    commit: Option<String>,
    commit_url: Option<String>,
    delegate: Option<String>,
    headers: String,
    /// The message, already rendered (escaped) HTML.
    message: String,
    pull_url: Option<String>,
}

/// The series box.
struct SeriesBox {
    id: i64,
    name: String,
    url: String,
    version: i64,
    received: i64,
    total: i64,
    cover: Option<(String, String)>,
    /// (name, URL, is this page)
    members: Vec<(String, String, bool)>,
    prev: Option<String>,
    next: Option<String>,
}

struct CommentView {
    id: i64,
    submitter: String,
    date: String,
    addressed: Option<bool>,
    /// Whether the viewer may mark it addressed or not.
    can_address: bool,
    /// Rendered (escaped) HTML.
    content: String,
}

struct CheckView {
    context: String,
    state: &'static str,
    date: String,
    url: Option<String>,
    description: String,
}

#[derive(Template)]
#[template(path = "submission.html")]
struct SubmissionPage {
    base: Base,
    sub: Sub,
    series: Option<SeriesBox>,
    /// The same patch in every version of its series lineage knows, this
    /// one included: (`vN`, URL, is this one); empty when it has none.
    versions: Vec<(String, String, bool)>,
    /// (name, URL)
    related: Vec<(String, String)>,
    comments: Vec<CommentView>,
    checks: Vec<CheckView>,
    /// Rendered (escaped) HTML.
    diff: Option<String>,
    editable: bool,
    /// Whether the viewer maintains the project (and may ask the CI
    /// systems for a recheck).
    maintainer: bool,
    bundle_forms: bool,
    states: Vec<(i64, String)>,
    delegates: Vec<(i64, String)>,
    bundles: Vec<(i64, String)>,
}

/// The comments as shown, with whether the viewer may mark each.
async fn comment_views(
    req: &Req,
    comments: Vec<Comment>,
) -> Result<Vec<CommentView>, patchtrack_store::StoreError> {
    let addressable = match &req.principal {
        Some(p) => req.app.store.addressable(p, &comments).await?,
        None => vec![false; comments.len()],
    };
    Ok(comments
        .into_iter()
        .zip(addressable)
        .map(|(c, can_address)| CommentView {
            id: c.id,
            submitter: person_name(&c.submitter),
            date: when(c.date),
            addressed: c.addressed,
            can_address,
            content: render::message(c.content.as_deref().unwrap_or("")),
        })
        .collect())
}

/// Sets a comment's `addressed` from the buttons under it, for those who
/// may (its author, or who may edit what it answers): the message saying
/// so, else the 403 saying why not.
async fn address_comment(req: &Req, parent: Parent, form: &Form) -> Result<String, PageError> {
    let Some(who) = &req.principal else {
        return Err(PageError::forbidden("Log in to mark comments."));
    };
    let (Some(id), Some(value)) = (
        form.get("comment_id").and_then(|c| c.parse::<i64>().ok()),
        form.get("addressed").and_then(|a| a.parse::<bool>().ok()),
    ) else {
        return Err(PageError::forbidden("Which comment, and addressed or not?"));
    };
    let store = &req.app.store;
    let Some(comment) = store.comment(parent, id).await? else {
        return Err(PageError::forbidden("No such comment."));
    };
    if !store.can_address(who, &comment).await? {
        return Err(PageError::forbidden(
            "You don't have permissions to mark this comment.",
        ));
    }
    store.set_addressed(parent, id, Some(value)).await?;
    Ok(if value {
        "Comment marked addressed".to_string()
    } else {
        "Comment marked unaddressed".to_string()
    })
}

fn check_views(checks: Vec<Check>, zone: &SiteZone) -> Vec<CheckView> {
    // The newest per (user, context), as Patchwork's table.
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut checks = checks;
    checks.sort_by_key(|c| std::cmp::Reverse((c.date, c.id)));
    for c in checks {
        if seen.insert((c.user.id, c.context.clone())) {
            out.push(CheckView {
                context: format!("{}/{}", c.user.username, c.context),
                state: c.state.label(),
                date: when(zone.local(c.date)),
                url: c.target_url.filter(|u| !u.is_empty()),
                description: c.description.unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| a.context.cmp(&b.context));
    out
}

fn archive_url(project: &Project, msgid: &str) -> Option<String> {
    (!project.list_archive_url_format.is_empty()).then(|| {
        project
            .list_archive_url_format
            .replace("{}", urls::bare_msgid(msgid))
    })
}

async fn series_box(
    req: &Req,
    project: &Project,
    series: Option<&SeriesRef>,
    current: &str,
) -> Result<Option<SeriesBox>, patchtrack_store::StoreError> {
    let Some(sref) = series else { return Ok(None) };
    let Some(s) = req.app.store.series(sref.id).await? else {
        return Ok(None);
    };
    let members: Vec<(String, String, bool)> = s
        .patches
        .iter()
        .map(|p| {
            let url = urls::patch(&project.linkname, &p.msgid);
            let here = p.msgid == current;
            (p.name.clone(), url, here)
        })
        .collect();
    let at = members.iter().position(|m| m.2);
    let prev = at
        .and_then(|i| i.checked_sub(1))
        .map(|i| members[i].1.clone());
    let next = at.and_then(|i| members.get(i + 1)).map(|m| m.1.clone());
    Ok(Some(SeriesBox {
        id: s.id,
        name: series_label(s.name.as_deref(), s.id),
        url: urls::series_list(&project.linkname, s.id),
        version: s.version,
        received: s.received_total,
        total: s.total,
        cover: s
            .cover_letter
            .as_ref()
            .map(|c| (c.name.clone(), urls::cover(&project.linkname, &c.msgid))),
        members,
        prev,
        next,
    }))
}

/// Finds the patch of the URL (the segment is a message-id without
/// brackets, `/` encoded as `%2F`).
async fn find_patch(req: &Req, linkname: &str, msgid: &str) -> Result<(Project, Patch), PageError> {
    let project = project_or_404(req, linkname).await?;
    let msgid = format!("<{}>", msgid.replace("%2F", "/").replace("%2f", "/"));
    let store = &req.app.store;
    if let Some(p) = store.patch_by_msgid(project.id, &msgid).await? {
        return Ok((project, p));
    }
    // A cover's message-id under /patch/ goes to the cover page.
    match store.cover_by_msgid(project.id, &msgid).await? {
        Some(c) => Err(PageError::Redirect(urls::cover(
            &project.linkname,
            &c.msgid,
        ))),
        None => Err(PageError::NotFound),
    }
}

/// `GET /project/LINK/patch/MSGID/`.
pub async fn patch(
    Path((linkname, msgid)): Path<(String, String)>,
    req: Req,
) -> Result<Response, PageError> {
    let (project, patch) = find_patch(&req, &linkname, &msgid).await?;
    patch_page(req, project, patch).await
}

async fn patch_page(req: Req, project: Project, patch: Patch) -> Result<Response, PageError> {
    let store = &req.app.store;
    let states = store.states().await?;
    let comments = store.all_comments(Parent::Patch(patch.id)).await?;
    let checks = store
        .checks(
            patch.id,
            &patchtrack_store::CheckFilter::default(),
            &[(patchtrack_store::CheckOrder::Id, false)],
            patchtrack_store::Page {
                number: 1,
                size: 1000,
            },
        )
        .await?
        .map(|l| l.items)
        .unwrap_or_default();
    let series = series_box(&req, &project, patch.series.as_ref(), &patch.msgid).await?;
    let versions = store
        .patch_versions(patch.id)
        .await?
        .into_iter()
        .map(|(p, v)| {
            let url = urls::patch(&project.linkname, &p.msgid);
            (format!("v{v}"), url, p.id == patch.id)
        })
        .collect();
    let editable = match &req.principal {
        Some(p) => store.can_edit_patch(p, patch.id).await?,
        None => false,
    };
    let mut delegates = if editable {
        store
            .maintainers(&[project.id])
            .await?
            .remove(&project.id)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let bundles = match &req.principal {
        Some(p) => super::list::own_bundles(&req, p, Some(project.id)).await?,
        None => Vec::new(),
    };
    // The current delegate stays a choice even if no longer a maintainer.
    if let Some(d) = &patch.delegate
        && editable
        && !delegates.iter().any(|u| u.id == d.id)
    {
        delegates.push(d.clone());
    }
    let body = patch.body.clone().unwrap_or(patchtrack_store::Body {
        headers: String::new(),
        content: None,
        diff: None,
    });
    let state_name = states
        .iter()
        .find(|s| s.slug == patch.state)
        .map_or_else(|| patch.state.clone(), |s| s.name.clone());
    let diff = body.diff.as_deref().filter(|d| !d.is_empty());
    let sub = Sub {
        id: patch.id,
        is_patch: true,
        has_diff: diff.is_some(),
        name: patch.name.clone(),
        url: urls::patch(&project.linkname, &patch.msgid),
        msgid: urls::bare_msgid(&patch.msgid).to_string(),
        archive_url: archive_url(&project, &patch.msgid),
        submitter: format!(
            "{} <{}>",
            person_name(&patch.submitter),
            patch.submitter.email
        ),
        date: when(patch.date),
        state: state_name,
        archived: patch.archived,
        commit_url: patch.commit_ref.as_ref().and_then(|c| {
            (!project.commit_url_format.is_empty())
                .then(|| project.commit_url_format.replace("{}", c))
        }),
        commit: patch.commit_ref.clone(),
        delegate: patch.delegate.as_ref().map(|d| d.username.clone()),
        headers: body.headers.clone(),
        message: render::message(body.content.as_deref().unwrap_or("")),
        pull_url: patch.pull_url.clone(),
    };
    let comments = comment_views(&req, comments).await?;
    let page = SubmissionPage {
        base: req.base(patch.name.clone(), Some(&project)),
        related: patch
            .related
            .iter()
            .map(|r| (r.name.clone(), urls::patch(&project.linkname, &r.msgid)))
            .collect(),
        comments,
        checks: check_views(checks, &req.app.zone),
        diff: diff.map(render::diff),
        editable,
        maintainer: req
            .principal
            .as_ref()
            .is_some_and(|p| p.maintains(project.id)),
        bundle_forms: req.principal.is_some(),
        states: states.iter().map(|s| (s.id, s.name.clone())).collect(),
        delegates: delegates
            .iter()
            .map(|u| (u.id, u.username.clone()))
            .collect(),
        bundles,
        series,
        versions,
        sub,
    };
    Ok(req.render(&page))
}

/// `POST /project/LINK/patch/MSGID/`: the update form (who may edit the
/// patch) or the bundle forms (anyone logged in).
pub async fn patch_post(
    Path((linkname, msgid)): Path<(String, String)>,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let (project, patch) = find_patch(&req, &linkname, &msgid).await?;
    let here = urls::patch(&project.linkname, &patch.msgid);
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first(here));
    };
    let store = &req.app.store;
    let bundle_name = form.get("bundle_name").unwrap_or("").trim();
    let messages = match form.get("action") {
        Some("create-bundle") | Some("add-to-bundle") if !bundle_name.is_empty() => {
            super::list::create_bundle(&req, &who, &project, bundle_name, &[patch.id]).await?
        }
        Some("create-bundle") => vec!["No bundle name was specified".to_string()],
        Some("add-to-bundle") => {
            let bundle = form.get("bundle_id").and_then(|b| b.parse().ok());
            super::list::add_to_bundle(&req, &who, bundle, &[patch.id]).await?
        }
        Some("address") => vec![address_comment(&req, Parent::Patch(patch.id), &form).await?],
        Some("recheck") => {
            if !who.maintains(project.id) {
                return Err(PageError::forbidden(
                    "Only the project's maintainers can ask for a recheck.",
                ));
            }
            let contexts: Vec<String> = form
                .get("contexts")
                .unwrap_or("")
                .split([',', ' '])
                .map(str::trim)
                .filter(|c| {
                    !c.is_empty()
                        && c.len() <= 255
                        && c.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
                .take(patchtrack_mail::trailers::MAX_RECHECK_CONTEXTS)
                .map(str::to_string)
                .collect();
            let of = patchtrack_store::RecheckOf::Patch(patch.id);
            store.request_recheck(of, who.user.id, &contexts).await?;
            vec!["Recheck requested: the CI systems are told.".to_string()]
        }
        _ => {
            if !store.can_edit_patch(&who, patch.id).await? {
                return Err(PageError::forbidden(
                    "You don't have permissions to edit this patch.",
                ));
            }
            let current = patch.delegate.as_ref().map(|d| d.id);
            match update_from_form(&req, &form, current).await? {
                Ok(update) => match store.update_patch(&who, patch.id, &update).await? {
                    Ok(()) => vec!["Patch updated".to_string()],
                    Err(refused) => vec![crate::refusal::message(&refused)],
                },
                Err(message) => vec![message],
            }
        }
    };
    Ok(req.redirect(&here, &messages))
}

/// The patch form's fields as an update, or the message saying why not.
async fn update_from_form(
    req: &Req,
    form: &Form,
    current_delegate: Option<i64>,
) -> Result<Result<PatchUpdate, String>, patchtrack_store::StoreError> {
    let states = req.app.store.states().await?;
    let Some(state) = form
        .get("state")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|id| states.iter().any(|s| s.id == *id))
    else {
        return Ok(Err("Select a valid state.".to_string()));
    };
    let delegate = match form.get("delegate").unwrap_or("") {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return Ok(Err("Select a valid delegate.".to_string())),
        },
    };
    let commit = form.get("commit_ref").unwrap_or("").trim();
    Ok(Ok(PatchUpdate {
        state: Some(state),
        // An unchanged delegate is left alone: one who stopped maintaining
        // the project would be refused, and with it the whole update.
        delegate: (delegate != current_delegate).then_some(delegate),
        archived: Some(form.get("archived") == Some("true")),
        commit_ref: Some((!commit.is_empty()).then(|| commit.to_string())),
        ..PatchUpdate::default()
    }))
}

/// `GET /project/LINK/cover/MSGID/`.
pub async fn cover(
    Path((linkname, msgid)): Path<(String, String)>,
    req: Req,
) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let msgid = format!("<{msgid}>");
    let store = &req.app.store;
    let Some(cover) = store.cover_by_msgid(project.id, &msgid).await? else {
        // A patch's message-id under /cover/ goes to the patch page.
        return match store.patch_by_msgid(project.id, &msgid).await? {
            Some(p) => Ok(req.redirect(&urls::patch(&project.linkname, &p.msgid), &[])),
            None => Err(PageError::NotFound),
        };
    };
    let comments = store.all_comments(Parent::Cover(cover.id)).await?;
    let series = series_box(&req, &project, cover.series.as_ref(), &cover.msgid).await?;
    let comments = comment_views(&req, comments).await?;
    let body = cover.body.clone();
    let sub = Sub {
        id: cover.id,
        is_patch: false,
        has_diff: false,
        name: cover.name.clone(),
        url: urls::cover(&project.linkname, &cover.msgid),
        msgid: urls::bare_msgid(&cover.msgid).to_string(),
        archive_url: archive_url(&project, &cover.msgid),
        submitter: format!(
            "{} <{}>",
            person_name(&cover.submitter),
            cover.submitter.email
        ),
        date: when(cover.date),
        state: String::new(),
        archived: false,
        commit: None,
        commit_url: None,
        delegate: None,
        headers: body.as_ref().map(|b| b.headers.clone()).unwrap_or_default(),
        message: render::message(
            body.as_ref()
                .and_then(|b| b.content.as_deref())
                .unwrap_or(""),
        ),
        pull_url: None,
    };
    let page = SubmissionPage {
        base: req.base(cover.name.clone(), Some(&project)),
        sub,
        series,
        versions: Vec::new(),
        related: Vec::new(),
        comments,
        checks: Vec::new(),
        diff: None,
        editable: false,
        maintainer: false,
        bundle_forms: false,
        states: Vec::new(),
        delegates: Vec::new(),
        bundles: Vec::new(),
    };
    Ok(req.render(&page))
}

/// `POST /project/LINK/cover/MSGID/`: the comments' addressed buttons.
pub async fn cover_post(
    Path((linkname, msgid)): Path<(String, String)>,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let cover = req
        .app
        .store
        .cover_by_msgid(project.id, &format!("<{msgid}>"))
        .await?
        .ok_or(PageError::NotFound)?;
    let here = urls::cover(&project.linkname, &cover.msgid);
    if req.principal.is_none() {
        return Err(PageError::login_first(here));
    }
    let done = address_comment(&req, Parent::Cover(cover.id), &form).await?;
    Ok(req.redirect(&here, &[done]))
}
