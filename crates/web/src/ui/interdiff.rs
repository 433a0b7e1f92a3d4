//! `/project/LINK/series/ID/interdiff/`: what changed between two
//! versions of a series, pair by pair, as the API's interdiff says it.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;

use super::project::project_or_404;
use super::render;
use super::{Base, PageError, Req};
use crate::interdiff::{Refusal, compare};
use crate::urls;

struct PairView {
    name: String,
    url: String,
    against_name: String,
    against_url: String,
    matched: &'static str,
    /// The interdiff as classified HTML; empty when the texts are equal.
    html: String,
}

#[derive(Template)]
#[template(path = "interdiff.html")]
struct InterdiffPage {
    base: Base,
    title: String,
    series_url: String,
    against_url: String,
    /// Other versions to compare with: (label, page URL, current choice).
    choices: Vec<(String, String, bool)>,
    pairs: Vec<PairView>,
    /// (name, URL)
    added: Vec<(String, String)>,
    dropped: Vec<(String, String)>,
    /// Why nothing is compared, when nothing is.
    refusal: Option<String>,
}

/// `GET /project/LINK/series/ID/interdiff/?against=M`.
pub async fn page(
    Path((linkname, id)): Path<(String, i64)>,
    Query(query): Query<Vec<(String, String)>>,
    req: Req,
) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let store = &req.app.store;
    let against = query
        .iter()
        .rev()
        .find(|(k, _)| k == "against")
        .map(|(_, v)| v.as_str());
    let here = format!("/project/{}/series/{id}/interdiff/", project.linkname);
    let lineage = store
        .series_lineage(&[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let c = match compare(store, id, against).await? {
        Ok(c) if c.series.project_id == project.id => c,
        Ok(_) | Err(Refusal::NoSeries) => return Err(PageError::NotFound),
        Err(r) => {
            let page = InterdiffPage {
                base: req.base("Interdiff", Some(&project)),
                title: format!("Series {id}"),
                series_url: urls::series_list(&project.linkname, id),
                against_url: String::new(),
                choices: Vec::new(),
                pairs: Vec::new(),
                added: Vec::new(),
                dropped: Vec::new(),
                refusal: Some(r.message()),
            };
            return Ok(req.render(&page));
        }
    };
    let link = |p: &patchtrack_store::Patch| urls::patch(&project.linkname, &p.msgid);
    let pairs = c
        .diff
        .pairs
        .iter()
        .map(|pair| {
            let (new, old) = (&c.new[pair.new], &c.old[pair.old]);
            PairView {
                name: new.name.clone(),
                url: link(new),
                against_name: old.name.clone(),
                against_url: link(old),
                matched: pair.matched.as_str(),
                html: render::diff(&pair.interdiff),
            }
        })
        .collect();
    let named = |list: &[usize], patches: &[patchtrack_store::Patch]| {
        list.iter()
            .map(|&i| (patches[i].name.clone(), link(&patches[i])))
            .collect()
    };
    let choices = lineage
        .previous
        .iter()
        .chain(&lineage.next)
        .map(|v| {
            (
                format!("v{}", v.version),
                format!("{here}?against={}", v.id),
                v.id == c.against.id,
            )
        })
        .collect();
    let name = c.series.name.clone().unwrap_or_default();
    let page = InterdiffPage {
        base: req.base(format!("Interdiff: {name}"), Some(&project)),
        title: format!(
            "{name}: v{} against v{}",
            c.series.version, c.against.version
        ),
        series_url: urls::series_list(&project.linkname, c.series.id),
        against_url: urls::series_list(&project.linkname, c.against.id),
        choices,
        pairs,
        added: named(&c.diff.added, &c.new),
        dropped: named(&c.diff.dropped, &c.old),
        refusal: None,
    };
    Ok(req.render(&page))
}
