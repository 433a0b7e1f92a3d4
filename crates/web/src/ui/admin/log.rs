//! `/admin/log/`: who changed what through the admin pages, and when.

use askama::Template;
use axum::response::Response;
use patchtrack_store::AdminAction;

use super::super::{Base, PageError, Req, when};
use super::admin;

struct Row {
    entry: AdminAction,
    date: String,
}

#[derive(Template)]
#[template(path = "admin/log.html")]
struct ListPage {
    base: Base,
    rows: Vec<Row>,
}

/// `GET /admin/log/`: the latest 500 changes, newest first.
pub async fn list(req: Req) -> Result<Response, PageError> {
    admin(&req, "/admin/log/")?;
    let rows = req
        .app
        .store
        .admin_log(500)
        .await?
        .into_iter()
        .map(|entry| Row {
            date: when(entry.date),
            entry,
        })
        .collect();
    let page = ListPage {
        base: req.base("Log · Administration", None),
        rows,
    };
    Ok(req.render(&page))
}
