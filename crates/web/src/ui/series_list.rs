//! `/project/LINK/series/`: the series of a project, one row per posting,
//! with where its patches stand, and for those logged in a form that
//! changes every patch of the selected series at once.

use askama::Template;
use axum::extract::{OriginalUri, Path};
use axum::response::Response;

use patchtrack_store::{
    CheckCounts, Listed, Lookup, Page, PatchUpdate, Principal, SeriesFilter, SeriesOrder,
};

use super::project::project_or_404;
use super::{Base, Form, FormPost, PageError, Req, day, person_name, series_label};
use crate::urls;

/// The list's filters, as the query string carries them.
struct Filters {
    q: String,
    submitter: String,
    /// A state slug, or empty.
    state: String,
    /// `open` (the default), `closed` or `all`.
    show: String,
    version: String,
    page: u64,
}

impl Filters {
    fn read(query: &Form) -> Filters {
        let text = |name: &str| query.get(name).unwrap_or("").trim().to_string();
        Filters {
            q: text("q"),
            submitter: text("submitter"),
            state: text("state"),
            show: match query.get("show").map(str::trim) {
                Some("closed") => "closed".into(),
                Some("all") => "all".into(),
                _ => "open".into(),
            },
            version: text("version"),
            page: query
                .get("page")
                .and_then(|p| p.trim().parse().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1),
        }
    }

    fn url(&self, base: &str, page: u64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (n, v) in [
            ("q", self.q.as_str()),
            ("submitter", &self.submitter),
            ("state", &self.state),
            ("show", if self.show == "open" { "" } else { &self.show }),
            ("version", &self.version),
        ] {
            if !v.is_empty() {
                query.append_pair(n, v);
            }
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        match query.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{query}"),
        }
    }

    fn store_filter(&self, project: &str) -> SeriesFilter {
        SeriesFilter {
            projects: vec![Lookup::parse(project)],
            submitters: match self.submitter.is_empty() {
                true => Vec::new(),
                false => vec![Lookup::parse(&self.submitter)],
            },
            search: self.q.split_whitespace().map(str::to_string).collect(),
            open: match self.show.as_str() {
                "open" => Some(true),
                "closed" => Some(false),
                _ => None,
            },
            states: match self.state.is_empty() {
                true => Vec::new(),
                false => vec![Lookup::parse(&self.state)],
            },
            versions: self.version.parse().ok().into_iter().collect(),
            ..SeriesFilter::default()
        }
    }
}

struct SeriesRow {
    id: i64,
    name: String,
    url: String,
    version: i64,
    submitter: String,
    date: String,
    received: i64,
    total: i64,
    /// (state name, slug, count)
    states: Vec<(String, String, i64)>,
    checks: String,
    open: bool,
}

#[derive(Template)]
#[template(path = "series_list.html")]
struct SeriesListPage {
    base: Base,
    project_name: String,
    f: Filters,
    states: Vec<(String, String)>,
    state_ids: Vec<(i64, String)>,
    delegates: Vec<(i64, String)>,
    rows: Vec<SeriesRow>,
    total: u64,
    selectable: bool,
    action: String,
    action_with_query: String,
    page: u64,
    pages: u64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

/// Rows per page.
const PAGE_SIZE: u64 = 50;

/// `GET /project/LINK/series/`.
pub async fn page(
    Path(linkname): Path<String>,
    OriginalUri(uri): OriginalUri,
    req: Req,
) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let store = &req.app.store;
    let f = Filters::read(&Form::query(uri.query()));
    let filter = f.store_filter(&project.linkname);
    let order = [(SeriesOrder::Date, true), (SeriesOrder::Id, true)];
    let at = |number| Page {
        number,
        size: PAGE_SIZE,
    };
    let listed = match store.series_list(&filter, &order, at(f.page)).await? {
        Some(l) => Some(l),
        None => store.series_list(&filter, &order, at(Page::LAST)).await?,
    };
    let listed = listed.unwrap_or(Listed {
        items: Vec::new(),
        total: 0,
        page: 1,
    });
    let ids: Vec<i64> = listed.items.iter().map(|s| s.id).collect();
    let kept = store.series_states(&ids).await?;
    let checks = store.series_check_counts(&ids).await?;
    let states = store.states().await?;
    let name_of = |slug: &str| {
        states
            .iter()
            .find(|s| s.slug == slug)
            .map_or_else(|| slug.to_string(), |s| s.name.clone())
    };
    let rows = listed
        .items
        .iter()
        .map(|s| {
            let k = kept.get(&s.id).cloned().unwrap_or_default();
            let c = checks.get(&s.id).copied().unwrap_or(CheckCounts::default());
            let dash = |n: i64| if n == 0 { "-".into() } else { n.to_string() };
            SeriesRow {
                id: s.id,
                name: series_label(s.name.as_deref(), s.id),
                url: urls::series_list(&project.linkname, s.id),
                version: s.version,
                submitter: person_name(&s.submitter),
                date: day(s.date),
                received: s.received_total,
                total: s.total,
                states: k
                    .counts
                    .iter()
                    .map(|(slug, n)| (name_of(slug), slug.clone(), *n))
                    .collect(),
                checks: format!("{}/{}/{}", dash(c.success), dash(c.warning), dash(c.fail)),
                open: k.open,
            }
        })
        .collect();
    let maintainers = store.maintainers(&[project.id]).await?;
    let action = format!("/project/{}/series/", project.linkname);
    let position = at(f.page).position(&listed);
    let page_url = |n: u64| f.url(&action, n);
    let page = SeriesListPage {
        base: req.base(format!("Series of {}", project.name), Some(&project)),
        project_name: project.name.clone(),
        states: states
            .iter()
            .map(|s| (s.slug.clone(), s.name.clone()))
            .collect(),
        state_ids: states.iter().map(|s| (s.id, s.name.clone())).collect(),
        delegates: maintainers
            .get(&project.id)
            .map(|m| m.iter().map(|u| (u.id, u.username.clone())).collect())
            .unwrap_or_default(),
        rows,
        total: listed.total,
        selectable: req.principal.is_some(),
        action_with_query: match uri.query() {
            Some(q) => format!("{action}?{q}"),
            None => action.clone(),
        },
        page: position.page,
        pages: position.last,
        prev_url: position.prev().map(page_url),
        next_url: position.next().map(page_url),
        action,
        f,
    };
    Ok(req.render(&page))
}

/// `POST /project/LINK/series/`: the state, delegate or archived flag for
/// every patch of each selected series. Each series changes as a whole
/// or not at all (as `PATCH /api/1.5/series/N/`).
pub async fn post(
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
        .all("series_id")
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let messages = update(&req, &who, project.id, &form, &ids).await?;
    Ok(req.redirect(&back, &messages))
}

async fn update(
    req: &Req,
    who: &Principal,
    project: i64,
    form: &Form,
    ids: &[i64],
) -> Result<Vec<String>, patchtrack_store::StoreError> {
    if ids.is_empty() {
        return Ok(vec!["No series selected; nothing updated".to_string()]);
    }
    let store = &req.app.store;
    let mut change = PatchUpdate::default();
    match form.get("state") {
        None | Some("*") | Some("") => {}
        Some(s) => match s.parse::<i64>() {
            Ok(id) if store.states().await?.iter().any(|st| st.id == id) => {
                change.state = Some(id);
            }
            _ => return Ok(vec!["Invalid state".to_string()]),
        },
    }
    match form.get("delegate") {
        None | Some("*") => {}
        Some("") => change.delegate = Some(None),
        Some(d) => match d.parse::<i64>() {
            Ok(id) => change.delegate = Some(Some(id)),
            Err(_) => return Ok(vec!["Invalid delegate".to_string()]),
        },
    }
    match form.get("archived") {
        Some("true") => change.archived = Some(true),
        Some("false") => change.archived = Some(false),
        _ => {}
    }
    let (mut updated, mut messages) = (0, Vec::new());
    for &id in ids.iter().take(200) {
        let Some(series) = store.series(id).await?.filter(|s| s.project_id == project) else {
            continue;
        };
        let updates: Vec<(i64, PatchUpdate)> = store
            .series_patch_ids(id)
            .await?
            .into_iter()
            .map(|p| (p, change.clone()))
            .collect();
        let name = series_label(series.name.as_deref(), id);
        match store.update_patches(who, &updates, false).await? {
            Ok(()) => updated += 1,
            Err(refused) if messages.len() < 3 => {
                let why = refused
                    .first()
                    .map(|(_, r)| crate::refusal::message(r))
                    .unwrap_or_default();
                messages.push(format!("Series '{name}' not changed: {why}"));
            }
            Err(_) => {}
        }
    }
    messages.insert(
        0,
        match updated {
            0 => "No series updated".to_string(),
            1 => "1 series updated".to_string(),
            n => format!("{n} series updated"),
        },
    );
    Ok(messages)
}
