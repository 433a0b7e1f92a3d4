//! Bundles: a user's lists of them, a bundle's page (its patches in the
//! bundle's order, for everyone when public), and the owner's changes:
//! rename, public or private, reorder, remove patches, delete.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{OriginalUri, Path};
use axum::response::Response;
use patchtrack_store::{Bundle, BundleChanges, BundleFilter, BundleOrder, Lookup, Page};

use super::list::{Row, SortLink, rows};
use super::project::project_or_404;
use super::{Base, FormPost, PageError, Req};
use crate::urls;

struct BundleView {
    name: String,
    url: String,
    project: String,
    linkname: String,
    public: bool,
    count: usize,
}

#[derive(Template)]
#[template(path = "bundles.html")]
struct BundlesPage {
    base: Base,
    heading: String,
    bundles: Vec<BundleView>,
}

async fn bundle_list(req: Req, project: Option<i64>, back_to: &str) -> Result<Response, PageError> {
    let Some(me) = req.principal.as_ref().map(|p| p.user.id) else {
        return Err(PageError::login_first(back_to));
    };
    let store = &req.app.store;
    let filter = BundleFilter {
        owners: vec![Lookup::Id(me)],
        projects: project.map(Lookup::Id).into_iter().collect(),
        ..BundleFilter::default()
    };
    let listed = store
        .bundles(
            Some(me),
            &filter,
            &[(BundleOrder::Name, false)],
            Page {
                number: 1,
                size: 1000,
            },
        )
        .await?;
    let projects = store.projects_by_id().await?;
    let bundles = listed
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .map(|b| {
            let p = projects.get(&b.project_id);
            BundleView {
                url: urls::bundle(&b.owner.username, &b.name),
                project: p.map(|p| p.name.clone()).unwrap_or_default(),
                linkname: p.map(|p| p.linkname.clone()).unwrap_or_default(),
                public: b.public,
                count: b.order.len(),
                name: b.name,
            }
        })
        .collect();
    let nav = project.and_then(|id| projects.get(&id));
    let page = BundlesPage {
        base: req.base("Bundles", nav),
        heading: match nav {
            Some(p) => format!("My bundles in {}", p.name),
            None => "My bundles".to_string(),
        },
        bundles,
    };
    Ok(req.render(&page))
}

/// `GET /user/bundles/`.
pub async fn user_bundles(req: Req) -> Result<Response, PageError> {
    bundle_list(req, None, "/user/bundles/").await
}

/// `GET /project/LINK/bundles/`.
pub async fn project_bundles(
    Path(linkname): Path<String>,
    req: Req,
) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let back = format!("/project/{linkname}/bundles/");
    bundle_list(req, Some(project.id), &back).await
}

#[derive(Template)]
#[template(path = "bundle.html")]
struct BundlePage {
    base: Base,
    bundle_name: String,
    bundle_url: String,
    linkname: String,
    project_name: String,
    owner: String,
    public: bool,
    owned: bool,
    rows: Vec<Row>,
    selectable: bool,
    show_ids: bool,
    reorder: bool,
    sort: Vec<SortLink>,
    tag_heading: String,
    tag_titles: String,
}

/// The bundle of the URL if the requester may see it (owner, or public).
async fn find(req: &Req, owner: &str, name: &str) -> Result<Bundle, PageError> {
    let viewer = req.principal.as_ref().map(|p| p.user.id);
    req.app
        .store
        .bundle_by_name(owner, name, viewer)
        .await?
        .ok_or(PageError::NotFound)
}

/// `GET /bundle/OWNER/NAME/`: every patch of the bundle in its order
/// (Patchwork hides members the default list filters would hide; a bundle
/// is a hand-picked list, so here all of it shows).
pub async fn bundle(
    Path((owner, name)): Path<(String, String)>,
    req: Req,
) -> Result<Response, PageError> {
    let b = find(&req, &owner, &name).await?;
    let store = &req.app.store;
    let owned = req
        .principal
        .as_ref()
        .is_some_and(|p| p.user.id == b.owner.id);
    // In the bundle's order (b.patches is by date, as the API lists).
    let patches = store.patches_by_ids(&b.order).await?;
    let states = store.states().await?;
    let tags = store.tags().await?;
    let projects = store.projects_by_id().await?;
    let linkname_of: HashMap<i64, String> = projects
        .values()
        .map(|p| (p.id, p.linkname.clone()))
        .collect();
    let rows = rows(&req.app, &patches, &states, &tags, &linkname_of).await?;
    let settings = req.settings().await?;
    let project = projects.get(&b.project_id);
    let (tag_heading, tag_titles) = super::list::tag_heading(&tags);
    let page = BundlePage {
        base: req.base(b.name.clone(), project),
        bundle_url: urls::bundle(&b.owner.username, &b.name),
        linkname: project.map(|p| p.linkname.clone()).unwrap_or_default(),
        project_name: project.map(|p| p.name.clone()).unwrap_or_default(),
        owner: b.owner.username.clone(),
        public: b.public,
        owned,
        rows,
        selectable: owned,
        show_ids: settings.show_ids,
        reorder: owned,
        sort: Vec::new(),
        tag_heading,
        tag_titles,
        bundle_name: b.name,
    };
    Ok(req.render(&page))
}

/// `POST /bundle/OWNER/NAME/`: the owner's changes.
pub async fn bundle_post(
    Path((owner, name)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let Some(me) = req.principal.as_ref().map(|p| p.user.id) else {
        return Err(PageError::login_first(uri.path()));
    };
    let b = find(&req, &owner, &name).await?;
    if b.owner.id != me {
        return Err(PageError::forbidden(
            "Only the bundle's owner can change it.",
        ));
    }
    let here = urls::bundle(&b.owner.username, &b.name);
    let store = &req.app.store;
    let mut members: Vec<i64> = b.order.clone();
    let moved = |value: Option<&str>| value.and_then(|v| v.parse::<i64>().ok());
    let (changes, message) = if let Some(id) = moved(form.get("move-up")) {
        if let Some(i) = members.iter().position(|p| *p == id).filter(|i| *i > 0) {
            members.swap(i, i - 1);
        }
        (
            BundleChanges {
                patches: Some(members),
                ..BundleChanges::default()
            },
            None,
        )
    } else if let Some(id) = moved(form.get("move-down")) {
        if let Some(i) = members
            .iter()
            .position(|p| *p == id)
            .filter(|i| i + 1 < b.order.len())
        {
            members.swap(i, i + 1);
        }
        (
            BundleChanges {
                patches: Some(members),
                ..BundleChanges::default()
            },
            None,
        )
    } else {
        match form.get("action") {
            Some("delete") => {
                store.delete_bundle(b.id).await?;
                let gone = format!("Bundle {} deleted", b.name);
                return Ok(req.redirect("/user/bundles/", &[gone]));
            }
            Some("remove") => {
                let gone: Vec<i64> = form
                    .all("patch_id")
                    .filter_map(|v| v.parse().ok())
                    .collect();
                members.retain(|p| !gone.contains(p));
                let n = b.order.len() - members.len();
                (
                    BundleChanges {
                        patches: Some(members),
                        ..BundleChanges::default()
                    },
                    Some(format!("{n} patch(es) removed from the bundle")),
                )
            }
            Some("settings") => (
                BundleChanges {
                    name: Some(form.get("name").unwrap_or("").trim().to_string()),
                    public: Some(form.get("public") == Some("true")),
                    ..BundleChanges::default()
                },
                Some("Bundle updated".to_string()),
            ),
            _ => return Ok(req.redirect(&here, &["Unknown action".to_string()])),
        }
    };
    if changes.patches.as_ref().is_some_and(Vec::is_empty) {
        // A bundle keeps at least one patch; emptying it deletes it.
        store.delete_bundle(b.id).await?;
        let gone = format!("Bundle {} is empty and was deleted", b.name);
        return Ok(req.redirect("/user/bundles/", &[gone]));
    }
    Ok(match store.save_bundle(me, Some(b.id), &changes).await? {
        Ok(saved) => {
            let to = urls::bundle(&saved.owner.username, &saved.name);
            req.redirect(&to, &message.into_iter().collect::<Vec<_>>())
        }
        Err(refused) => req.redirect(&here, &[crate::refusal::message(&refused)]),
    })
}
