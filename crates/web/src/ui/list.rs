//! Patch lists: a project's (`/project/LINK/list/`, also the series page
//! with `?series=N`), and a user's to-do list. Filters, sorting and
//! pagination follow Patchwork's parameters; bulk actions need a login.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{OriginalUri, Path};
use axum::http::Uri;
use axum::response::Response;
use patchtrack_store::{
    BundleChanges, BundleFilter, CheckCounts, Listed, Lookup, Page, Patch, PatchFilter, PatchOrder,
    PatchUpdate, Principal, Project, State as PatchState, Tag,
};

use super::project::project_or_404;
use super::{Base, Form, FormPost, PageError, Req, day, person_name, series_label};
use crate::{App, urls};

/// One row of a patch table.
pub(crate) struct Row {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// (name, list URL)
    pub series: Option<(String, String)>,
    /// Counts of the tag columns, `-` for none (`1 - 2`).
    pub tags: String,
    /// S/W/F.
    pub checks: String,
    pub check_class: &'static str,
    pub date: String,
    pub submitter: String,
    pub submitter_url: String,
    pub delegate: String,
    pub state: String,
    pub state_slug: String,
    pub archived: bool,
}

/// The tag columns' heading (`A/R/T`) and its tooltip (the full names).
pub(crate) fn tag_heading(tags: &[Tag]) -> (String, String) {
    let shown: Vec<&Tag> = tags.iter().filter(|t| t.show_column).collect();
    let abbrevs: Vec<&str> = shown.iter().map(|t| t.abbrev.as_str()).collect();
    let names: Vec<&str> = shown.iter().map(|t| t.name.as_str()).collect();
    (abbrevs.join("/"), names.join(" / "))
}

/// A sortable column heading.
pub(crate) struct SortLink {
    pub href: String,
    pub arrow: &'static str,
}

/// Builds the rows of a page of patches: tags and checks in one statement
/// each, whatever the page size.
pub(crate) async fn rows(
    app: &App,
    patches: &[Patch],
    states: &[PatchState],
    tags: &[Tag],
    linkname_of: &HashMap<i64, String>,
) -> Result<Vec<Row>, patchtrack_store::StoreError> {
    let ids: Vec<i64> = patches.iter().map(|p| p.id).collect();
    let tag_counts = app.store.tag_counts(&ids).await?;
    let check_counts = app.store.check_counts(&ids).await?;
    let state_names: HashMap<&str, &str> = states
        .iter()
        .map(|s| (s.slug.as_str(), s.name.as_str()))
        .collect();
    let dash = |n: i64| {
        if n == 0 {
            "-".to_string()
        } else {
            n.to_string()
        }
    };
    Ok(patches
        .iter()
        .map(|p| {
            let linkname = linkname_of
                .get(&p.project_id)
                .map(String::as_str)
                .unwrap_or("");
            let c = check_counts
                .get(&p.id)
                .copied()
                .unwrap_or(CheckCounts::default());
            let name = if p.name.trim().is_empty() {
                "[no subject]".to_string()
            } else {
                truncate(&p.name, 100)
            };
            Row {
                id: p.id,
                url: urls::patch(linkname, &p.msgid),
                name,
                series: p.series.as_ref().map(|s| {
                    (
                        series_label(s.name.as_deref(), s.id),
                        urls::series_list(linkname, s.id),
                    )
                }),
                tags: tags
                    .iter()
                    .filter(|t| t.show_column)
                    .map(|t| dash(tag_counts.get(&(p.id, t.id)).copied().unwrap_or(0)))
                    .collect::<Vec<_>>()
                    .join(" "),
                checks: format!("{} {} {}", dash(c.success), dash(c.warning), dash(c.fail)),
                check_class: if c.fail > 0 {
                    "checks-fail"
                } else if c.warning > 0 {
                    "checks-warning"
                } else if c.success > 0 {
                    "checks-success"
                } else {
                    ""
                },
                date: day(p.date),
                submitter: person_name(&p.submitter),
                submitter_url: format!("/project/{linkname}/list/?submitter={}", p.submitter.id),
                delegate: p
                    .delegate
                    .as_ref()
                    .map(|d| d.username.clone())
                    .unwrap_or_default(),
                state: state_names
                    .get(p.state.as_str())
                    .map_or_else(|| p.state.clone(), |n| n.to_string()),
                state_slug: p.state.clone(),
                archived: p.archived,
            }
        })
        .collect())
}

/// `text` cut to `max` characters with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// The parameters of a list request, as given (the form shows them back).
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub q: String,
    pub submitter: String,
    pub delegate: String,
    pub state: String,
    pub archive: String,
    pub series: Option<i64>,
    pub order: String,
    pub page: u64,
}

impl Filters {
    fn read(query: &Form) -> Filters {
        let text = |name: &str| query.get(name).unwrap_or("").trim().to_string();
        Filters {
            q: text("q"),
            submitter: text("submitter"),
            delegate: text("delegate"),
            state: text("state"),
            archive: text("archive"),
            series: query.get("series").and_then(|s| s.trim().parse().ok()),
            order: text("order"),
            page: query
                .get("page")
                .and_then(|p| p.trim().parse().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1),
        }
    }

    /// This list's URL with `changes` applied (None removes a parameter);
    /// the page number resets unless given.
    fn url(&self, base: &str, changes: &[(&str, Option<String>)]) -> String {
        let mut params: Vec<(&str, String)> = vec![
            (
                "series",
                self.series.map(|s| s.to_string()).unwrap_or_default(),
            ),
            ("q", self.q.clone()),
            ("submitter", self.submitter.clone()),
            ("delegate", self.delegate.clone()),
            ("state", self.state.clone()),
            ("archive", self.archive.clone()),
            ("order", self.order.clone()),
        ];
        for (name, value) in changes {
            params.retain(|(n, _)| n != name);
            if let Some(v) = value {
                params.push((name, v.clone()));
            }
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (n, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(n, v);
        }
        let query = query.finish();
        if query.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{query}")
        }
    }
}

/// The columns that sort, in the order of the table's headings.
const SORTABLE: [(&str, PatchOrder); 5] = [
    ("name", PatchOrder::Name),
    ("date", PatchOrder::Date),
    ("submitter", PatchOrder::SubmitterName),
    ("delegate", PatchOrder::Delegate),
    ("state", PatchOrder::State),
];

/// Reads `order` (`date`, `-name`, ...): the key and whether descending.
/// Unknown keys mean the default, newest first.
fn parse_order(order: &str) -> (&'static str, PatchOrder, bool) {
    let (desc, key) = match order.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, order),
    };
    match SORTABLE.iter().find(|(k, _)| *k == key) {
        Some((k, o)) => (k, *o, desc),
        None => ("date", PatchOrder::Date, true),
    }
}

/// Patchwork's orderings: the chosen column, then the date in the other
/// direction when the column is not the date.
fn orderings(order: &str) -> Vec<(PatchOrder, bool)> {
    let (_, column, desc) = parse_order(order);
    if column == PatchOrder::Date {
        vec![(PatchOrder::Date, desc)]
    } else {
        vec![(column, desc), (PatchOrder::Date, !desc)]
    }
}

fn sort_links(filters: &Filters, base: &str) -> Vec<SortLink> {
    let (current, _, desc) = parse_order(&filters.order);
    SORTABLE
        .iter()
        .map(|(key, _)| {
            let (next, arrow) = if *key == current {
                let next = if desc {
                    key.to_string()
                } else {
                    format!("-{key}")
                };
                (next, if desc { " ↓" } else { " ↑" })
            } else {
                (key.to_string(), "")
            };
            SortLink {
                href: filters.url(base, &[("order", Some(next))]),
                arrow,
            }
        })
        .collect()
}

/// One version of a series in the series page's header.
pub(crate) struct SeriesVersion {
    pub version: i64,
    pub url: String,
    /// Whether it is the series shown.
    pub current: bool,
    /// How it was linked to its neighbour toward the series shown.
    pub evidence: &'static str,
}

/// The series a list is narrowed to, shown as its header.
pub(crate) struct SeriesHead {
    pub id: i64,
    pub name: String,
    pub submitter: String,
    pub version: i64,
    pub received: i64,
    pub total: i64,
    pub date: String,
    /// (name, URL)
    pub cover: Option<(String, String)>,
    /// Every version lineage links, oldest first, this one included
    /// (empty when it has no other).
    pub versions: Vec<SeriesVersion>,
    /// The interdiff page against the version it revises, if known.
    pub interdiff: Option<String>,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    base: Base,
    heading: String,
    series: Option<SeriesHead>,
    filterable: bool,
    f: Filters,
    /// Active filters: (label, URL without it).
    chips: Vec<(String, String)>,
    states: Vec<(i64, String)>,
    delegates: Vec<(i64, String)>,
    bundles: Vec<(i64, String)>,
    rows: Vec<Row>,
    total: u64,
    selectable: bool,
    show_ids: bool,
    reorder: bool,
    sort: Vec<SortLink>,
    tag_heading: String,
    tag_titles: String,
    action: String,
    action_with_query: String,
    page: u64,
    pages: u64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

/// What a list shows and how it is narrowed.
struct ListSpec<'a> {
    project: &'a Project,
    /// The base URL (without query).
    action: String,
    heading: String,
    /// The to-do list forces the delegate and the states.
    todo_of: Option<i64>,
}

/// The store filter for the request's parameters.
async fn patch_filter(
    req: &Req,
    spec: &ListSpec<'_>,
    f: &Filters,
    states: &[PatchState],
) -> Result<(PatchFilter, Vec<(String, String)>), patchtrack_store::StoreError> {
    let mut filter = PatchFilter {
        projects: vec![Lookup::Id(spec.project.id)],
        ..PatchFilter::default()
    };
    let mut chips = Vec::new();
    let action_required = || {
        states
            .iter()
            .filter(|s| s.action_required)
            .map(|s| Lookup::Id(s.id))
            .collect::<Vec<_>>()
    };
    if let Some(user) = spec.todo_of {
        filter.delegates = vec![Lookup::Id(user)];
        filter.states = action_required();
        filter.archived = Some(false);
        return Ok((filter, chips));
    }
    if let Some(s) = f.series {
        filter.series = vec![s];
    }
    let chip = |label: String, param: &str| (label, f.url(&spec.action, &[(param, None)]));
    match f.state.as_str() {
        "*" => chips.push(chip("any state".into(), "state")),
        s => match s
            .parse::<i64>()
            .ok()
            .and_then(|id| states.iter().find(|st| st.id == id))
        {
            Some(st) => {
                filter.states = vec![Lookup::Id(st.id)];
                chips.push(chip(format!("state: {}", st.name), "state"));
            }
            None => filter.states = action_required(),
        },
    }
    match f.archive.as_str() {
        "true" => {
            filter.archived = Some(true);
            chips.push(chip("archived only".into(), "archive"));
        }
        "both" => chips.push(chip("archived or not".into(), "archive")),
        _ => filter.archived = Some(false),
    }
    if !f.q.is_empty() {
        filter.search = patchtrack_store::listing::search_terms(&f.q);
        chips.push(chip(format!("name contains “{}”", f.q), "q"));
    }
    if !f.submitter.is_empty() {
        if let Ok(id) = f.submitter.parse::<i64>() {
            // A person linked to an account stands for all its addresses.
            let ids = req.app.store.people_of_same_user(id).await?;
            filter.submitters = ids.into_iter().map(Lookup::Id).collect();
        } else {
            // A name applies only when someone matches it, as upstream.
            let ids = req.app.store.people_matching(&f.submitter).await?;
            filter.submitters = ids.into_iter().map(Lookup::Id).collect();
        }
        if !filter.submitters.is_empty() {
            chips.push(chip(format!("submitter: {}", f.submitter), "submitter"));
        }
    }
    if f.delegate == "Nobody" {
        filter.no_delegate = true;
        chips.push(chip("delegated to nobody".into(), "delegate"));
    } else if !f.delegate.is_empty() {
        filter.delegates = vec![Lookup::parse(&f.delegate)];
        chips.push(chip(format!("delegate: {}", f.delegate), "delegate"));
    }
    Ok((filter, chips))
}

/// Renders a patch list.
async fn list_page(req: Req, spec: ListSpec<'_>, uri: &Uri) -> Result<Response, PageError> {
    let f = Filters::read(&Form::query(uri.query()));
    let store = &req.app.store;
    let states = store.states().await?;
    let (filter, chips) = patch_filter(&req, &spec, &f, &states).await?;
    let settings = req.settings().await?;
    let size = u64::try_from(settings.items_per_page.clamp(1, 500)).unwrap_or(100);
    let order = orderings(&f.order);
    let at = |number| Page { number, size };
    let listed = match store.patches(&filter, &order, at(f.page)).await? {
        Some(l) => Some(l),
        // Past the end: the last page, as upstream.
        None => store.patches(&filter, &order, at(Page::LAST)).await?,
    };
    let listed = listed.unwrap_or(Listed {
        items: Vec::new(),
        total: 0,
        page: 1,
    });
    let series = match f.series {
        Some(id) if spec.todo_of.is_none() => series_head(&req, spec.project, id).await?,
        _ => None,
    };
    let tags = store.tags().await?;
    let maintainers = store.maintainers(&[spec.project.id]).await?;
    let bundles = match &req.principal {
        Some(p) => own_bundles(&req, p, Some(spec.project.id)).await?,
        None => Vec::new(),
    };
    let linkname_of = HashMap::from([(spec.project.id, spec.project.linkname.clone())]);
    let rows = rows(&req.app, &listed.items, &states, &tags, &linkname_of).await?;
    let (tag_heading, tag_titles) = tag_heading(&tags);
    let at = Page {
        number: f.page,
        size,
    }
    .position(&listed);
    let page_url = |n: u64| f.url(&spec.action, &[("page", Some(n.to_string()))]);
    let page = ListPage {
        base: req.base(
            series
                .as_ref()
                .map_or_else(|| spec.heading.clone(), |s| s.name.clone()),
            Some(spec.project),
        ),
        heading: spec.heading.clone(),
        filterable: spec.todo_of.is_none(),
        chips,
        states: states.iter().map(|s| (s.id, s.name.clone())).collect(),
        delegates: maintainers
            .get(&spec.project.id)
            .map(|m| m.iter().map(|u| (u.id, u.username.clone())).collect())
            .unwrap_or_default(),
        bundles,
        rows,
        total: listed.total,
        selectable: req.principal.is_some(),
        show_ids: settings.show_ids,
        reorder: false,
        sort: sort_links(&f, &spec.action),
        tag_heading,
        tag_titles,
        action_with_query: match uri.query() {
            Some(q) => format!("{}?{q}", spec.action),
            None => spec.action.clone(),
        },
        action: spec.action.clone(),
        page: at.page,
        pages: at.last,
        prev_url: at.prev().map(page_url),
        next_url: at.next().map(page_url),
        series,
        f,
    };
    Ok(req.render(&page))
}

/// The viewer's bundles (optionally of one project): (id, name).
pub(crate) async fn own_bundles(
    req: &Req,
    who: &Principal,
    project: Option<i64>,
) -> Result<Vec<(i64, String)>, patchtrack_store::StoreError> {
    let filter = BundleFilter {
        owners: vec![Lookup::Id(who.user.id)],
        projects: project.map(Lookup::Id).into_iter().collect(),
        ..BundleFilter::default()
    };
    let listed = req
        .app
        .store
        .bundles(
            Some(who.user.id),
            &filter,
            &[(patchtrack_store::BundleOrder::Name, false)],
            Page {
                number: 1,
                size: 500,
            },
        )
        .await?;
    Ok(listed
        .map(|l| l.items.into_iter().map(|b| (b.id, b.name)).collect())
        .unwrap_or_default())
}

/// The header of a series page: the series, its cover, and its other
/// versions as lineage linked them.
async fn series_head(
    req: &Req,
    project: &Project,
    id: i64,
) -> Result<Option<SeriesHead>, patchtrack_store::StoreError> {
    let Some(s) = req.app.store.series(id).await? else {
        return Ok(None);
    };
    if s.project_id != project.id {
        return Ok(None);
    }
    let lineage = req
        .app
        .store
        .series_lineage(&[s.id])
        .await?
        .remove(&s.id)
        .unwrap_or_default();
    let here = patchtrack_store::VersionRef {
        id: s.id,
        version: s.version,
        name: s.name.clone(),
        date: s.date,
        evidence: None,
    };
    let interdiff = (!lineage.previous.is_empty())
        .then(|| format!("/project/{}/series/{}/interdiff/", project.linkname, s.id));
    let mut versions: Vec<&patchtrack_store::VersionRef> = lineage.previous.iter().collect();
    if !versions.is_empty() || !lineage.next.is_empty() {
        versions.push(&here);
        versions.extend(&lineage.next);
    }
    Ok(Some(SeriesHead {
        id: s.id,
        name: series_label(s.name.as_deref(), s.id),
        submitter: person_name(&s.submitter),
        version: s.version,
        received: s.received_total,
        total: s.total,
        date: day(s.date),
        cover: s
            .cover_letter
            .as_ref()
            .map(|c| (c.name.clone(), urls::cover(&project.linkname, &c.msgid))),
        versions: versions
            .into_iter()
            .map(|v| SeriesVersion {
                version: v.version,
                url: urls::series_list(&project.linkname, v.id),
                current: v.id == s.id,
                evidence: v.evidence.map_or("", |e| e.as_str()),
            })
            .collect(),
        interdiff,
    }))
}

/// `GET /project/LINK/list/`.
pub async fn project_list(
    Path(linkname): Path<String>,
    OriginalUri(uri): OriginalUri,
    req: Req,
) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let spec = ListSpec {
        action: format!("/project/{}/list/", project.linkname),
        heading: "Patches".to_string(),
        project: &project,
        todo_of: None,
    };
    list_page(req, spec, &uri).await
}

/// `GET /user/todo/LINK/`: patches delegated to me that need action.
pub async fn todo_list(
    Path(linkname): Path<String>,
    OriginalUri(uri): OriginalUri,
    req: Req,
) -> Result<Response, PageError> {
    let Some(me) = req.principal.as_ref().map(|p| p.user.id) else {
        return Err(PageError::login_first(uri.path()));
    };
    let project = project_or_404(&req, &linkname).await?;
    let spec = ListSpec {
        action: format!("/user/todo/{}/", project.linkname),
        heading: format!("To do in {}", project.name),
        project: &project,
        todo_of: Some(me),
    };
    list_page(req, spec, &uri).await
}

/// `POST /project/LINK/list/`: bulk actions on the selected patches.
pub async fn project_list_post(
    Path(linkname): Path<String>,
    OriginalUri(uri): OriginalUri,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let back = match uri.query() {
        Some(q) => format!("{}?{q}", uri.path()),
        None => uri.path().to_string(),
    };
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first(back));
    };
    let project = project_or_404(&req, &linkname).await?;
    let ids: Vec<i64> = form
        .all("patch_id")
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let messages = match (form.get("action"), form.get("bundle_name")) {
        // A bundle name typed in forces "create", even on Enter.
        (_, Some(name)) if !name.trim().is_empty() => {
            create_bundle(&req, &who, &project, name.trim(), &ids).await?
        }
        (Some("create-bundle"), _) => vec!["No bundle name was specified".to_string()],
        (Some("add-to-bundle"), _) => {
            let bundle = form.get("bundle_id").and_then(|b| b.parse().ok());
            add_to_bundle(&req, &who, bundle, &ids).await?
        }
        (Some("update"), _) => bulk_update(&req, &who, &form, &ids).await?,
        _ => vec!["Unknown action".to_string()],
    };
    Ok(req.redirect(&back, &messages))
}

/// Applies the bulk form's state, delegate and archived to every patch
/// the user may edit.
async fn bulk_update(
    req: &Req,
    who: &Principal,
    form: &Form,
    ids: &[i64],
) -> Result<Vec<String>, patchtrack_store::StoreError> {
    if ids.is_empty() {
        return Ok(vec!["No patches selected; nothing updated".to_string()]);
    }
    let store = &req.app.store;
    let mut update = PatchUpdate::default();
    match form.get("state") {
        None | Some("*") | Some("") => {}
        Some(s) => match s.parse::<i64>() {
            Ok(id) if store.states().await?.iter().any(|st| st.id == id) => {
                update.state = Some(id);
            }
            _ => return Ok(vec!["Invalid state".to_string()]),
        },
    }
    match form.get("delegate") {
        None | Some("*") => {}
        Some("") => update.delegate = Some(None),
        Some(d) => match d.parse::<i64>() {
            Ok(id) => update.delegate = Some(Some(id)),
            Err(_) => return Ok(vec!["Invalid delegate".to_string()]),
        },
    }
    match form.get("archived") {
        Some("true") => update.archived = Some(true),
        Some("false") => update.archived = Some(false),
        _ => {}
    }
    let mut messages = Vec::new();
    let mut updated = 0;
    let mut refused = 0;
    for patch in store.patches_by_ids(ids).await? {
        if !store.can_edit_patch(who, patch.id).await? {
            // A few names, then a count: messages travel in a cookie.
            refused += 1;
            if refused <= 3 {
                messages.push(format!(
                    "You don't have permissions to edit patch '{}'",
                    patch.name
                ));
            }
            continue;
        }
        match store.update_patch(who, patch.id, &update).await? {
            Ok(()) => updated += 1,
            Err(refused) => messages.push(format!(
                "{}: {}",
                patch.name,
                crate::refusal::message(&refused)
            )),
        }
    }
    if refused > 3 {
        messages.push(format!(
            "… and {} more patches you may not edit",
            refused - 3
        ));
    }
    messages.insert(
        0,
        match updated {
            0 => "No patches updated".to_string(),
            1 => "1 patch updated".to_string(),
            n => format!("{n} patches updated"),
        },
    );
    Ok(messages)
}

/// Creates a bundle of the selected patches (in date order, as upstream).
pub(crate) async fn create_bundle(
    req: &Req,
    who: &Principal,
    project: &Project,
    name: &str,
    ids: &[i64],
) -> Result<Vec<String>, patchtrack_store::StoreError> {
    let store = &req.app.store;
    if store
        .bundle_by_name(&who.user.username, name, Some(who.user.id))
        .await?
        .is_some()
    {
        return Ok(vec![format!("A bundle called {name} already exists")]);
    }
    let mut patches = store.patches_by_ids(ids).await?;
    patches.retain(|p| p.project_id == project.id);
    patches.sort_by_key(|p| (p.date, p.id));
    let changes = BundleChanges {
        name: Some(name.to_string()),
        patches: Some(patches.iter().map(|p| p.id).collect()),
        public: Some(false),
    };
    if patches.is_empty() {
        return Ok(vec!["No patches selected; no bundle created".to_string()]);
    }
    match store.save_bundle(who.user.id, None, &changes).await? {
        Ok(b) => Ok(vec![
            format!("Bundle {} created", b.name),
            match patches.len() {
                1 => format!("Patch '{}' added to bundle {}", patches[0].name, b.name),
                n => format!("{n} patches added to bundle {}", b.name),
            },
        ]),
        Err(refused) => Ok(vec![crate::refusal::message(&refused)]),
    }
}

/// Appends the selected patches to one of the user's bundles.
pub(crate) async fn add_to_bundle(
    req: &Req,
    who: &Principal,
    bundle: Option<i64>,
    ids: &[i64],
) -> Result<Vec<String>, patchtrack_store::StoreError> {
    let store = &req.app.store;
    let Some(b) = (match bundle {
        Some(id) => store.bundle(id, Some(who.user.id)).await?,
        None => None,
    }) else {
        return Ok(vec!["No such bundle".to_string()]);
    };
    if b.owner.id != who.user.id {
        return Ok(vec![
            "You don't have permissions to add patches to this bundle".to_string(),
        ]);
    }
    // Appended after the bundle's own order (not its date order).
    let mut members: Vec<i64> = b.order.clone();
    let (mut added, mut already) = (0, 0);
    for patch in store.patches_by_ids(ids).await? {
        if members.contains(&patch.id) {
            already += 1;
        } else {
            members.push(patch.id);
            added += 1;
        }
    }
    let mut messages = vec![match added {
        1 => format!("1 patch added to bundle {}", b.name),
        n => format!("{n} patches added to bundle {}", b.name),
    }];
    if already > 0 {
        messages.push(format!("{already} already in bundle {}", b.name));
    }
    let changes = BundleChanges {
        patches: Some(members),
        ..BundleChanges::default()
    };
    if let Err(refused) = store.save_bundle(who.user.id, Some(b.id), &changes).await? {
        return Ok(vec![crate::refusal::message(&refused)]);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_follow_patchwork() {
        assert_eq!(orderings(""), vec![(PatchOrder::Date, true)]);
        assert_eq!(orderings("date"), vec![(PatchOrder::Date, false)]);
        assert_eq!(
            orderings("-name"),
            vec![(PatchOrder::Name, true), (PatchOrder::Date, false)]
        );
        assert_eq!(orderings("bogus"), vec![(PatchOrder::Date, true)]);
    }

    #[test]
    fn list_urls_keep_other_filters() {
        let f = Filters {
            q: "a b".into(),
            state: "*".into(),
            page: 3,
            ..Filters::default()
        };
        assert_eq!(f.url("/l/", &[]), "/l/?q=a+b&state=*");
        assert_eq!(
            f.url("/l/", &[("page", Some("2".into()))]),
            "/l/?q=a+b&state=*&page=2"
        );
        assert_eq!(f.url("/l/", &[("q", None)]), "/l/?state=*");
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
    }
}
