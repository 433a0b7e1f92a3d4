//! Details of the wire that clients and browsers see, on SQLite and
//! PostgreSQL: repeated filters in API 1.0, what a patch write answers,
//! the `/comment/N/` redirect, download 404s, and the limits on bodies
//! and query strings.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use http_body_util::BodyExt;
use patchtrack_store::IngestOptions;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    json_body: Option<String>,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "pw.example.org");
    if let Some(t) = token {
        req = req.header("authorization", format!("Token {t}"));
    }
    let body = match json_body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b)
        }
        None => Body::empty(),
    };
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn ids(v: &Value) -> Vec<i64> {
    let mut out: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    out.sort_unstable();
    out
}

#[tokio::test]
async fn api_1_0_combines_repeated_filters() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let both = {
            let mut v = vec![f.patch, f.patch2];
            v.sort_unstable();
            v
        };
        for version in ["1.0/", "1.1/", ""] {
            let uri = format!(
                "/api/{version}patches/?submitter=sub@example.org&submitter=else@example.org"
            );
            let got = send(&f.router, "GET", &uri, None, None).await;
            assert_eq!(ids(&got.json()), both, "{uri}");
            // Every value must name something, in 1.0 too.
            let uri = format!("/api/{version}patches/?submitter=sub@example.org&submitter=nobody");
            let got = send(&f.router, "GET", &uri, None, None).await;
            assert_eq!(got.json(), json!([]), "{uri}");
        }
        let (p, p2) = (f.patch, f.patch2);
        let uri = format!("/api/1.0/events/?category=patch-created&patch={p}&patch={p2}");
        let got = send(&f.router, "GET", &uri, None, None).await.json();
        let mut patches: Vec<i64> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["payload"]["patch"]["id"].as_i64().unwrap())
            .collect();
        patches.sort_unstable();
        assert_eq!(patches, both);
        // Single-choice filters still read the last value.
        let uri = "/api/1.0/events/?category=bogus&category=patch-created";
        let got = send(&f.router, "GET", uri, None, None).await.json();
        assert_eq!(got.as_array().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn a_patch_write_answers_related_as_upstream() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let maint = f.tokens[4].as_deref();
        let url = format!("/api/1.2/patches/{}/", f.patch);
        let patch = |body: Value| {
            let url = url.clone();
            let router = f.router.clone();
            async move {
                let a = send(&router, "PATCH", &url, maint, Some(body.to_string())).await;
                assert_eq!(a.status, 200, "{}", a.text);
                a.json()
            }
        };
        // PATCH of a patch in no relation: no `related` key at all.
        let got = patch(json!({"state": "under-review"})).await;
        assert_eq!(got["state"], "under-review");
        assert!(got.get("related").is_none(), "{got}");
        // GET and PUT say `[]`.
        let got = send(&f.router, "GET", &url, None, None).await.json();
        assert_eq!(got["related"], json!([]));
        let put = send(
            &f.router,
            "PUT",
            &url,
            maint,
            Some(json!({"state": "new", "delegate": null}).to_string()),
        )
        .await;
        assert_eq!((put.status, &put.json()["related"]), (200, &json!([])));
        // In a relation, PATCH lists the others.
        let got = patch(json!({"related": [f.patch2]})).await;
        assert_eq!(ids(&got["related"]), vec![f.patch2]);
        let got = patch(json!({"archived": true})).await;
        assert_eq!(ids(&got["related"]), vec![f.patch2]);
        // Leaving it: gone again.
        let got = patch(json!({"related": []})).await;
        assert!(got.get("related").is_none(), "{got}");
        // Before 1.2 there is no `related` in any answer.
        let old = format!("/api/1.1/patches/{}/", f.patch2);
        let a = send(
            &f.router,
            "PUT",
            &old,
            maint,
            Some(json!({"state": "new", "delegate": null}).to_string()),
        )
        .await;
        assert!(a.status == 200 && a.json().get("related").is_none());
    }
}

#[tokio::test]
async fn a_comment_redirects_to_its_anchor_on_the_parent_page() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        // A second cover comment: its id is no patch comment's.
        let opts = IngestOptions {
            list_id: Some("proj.example.org".into()),
        };
        let extra = match store
            .ingest(support::reply("cover", "r3").as_bytes(), &opts)
            .await
            .unwrap()
        {
            patchtrack_store::Outcome::CoverComment { id, .. } => id,
            other => panic!("{other:?}"),
        };
        assert_ne!(extra, f.patch_comment);
        let pc = f.patch_comment;
        let a = send(&f.router, "GET", &format!("/comment/{pc}/"), None, None).await;
        assert_eq!(
            (a.status, a.header("location")),
            (
                302,
                format!("/project/proj/patch/patch@example.org/#{pc}").as_str()
            )
        );
        let a = send(&f.router, "GET", &format!("/comment/{extra}/"), None, None).await;
        assert_eq!(
            (a.status, a.header("location")),
            (
                302,
                format!("/project/proj/cover/cover@example.org/#{extra}").as_str()
            )
        );
        let a = send(&f.router, "GET", "/comment/999999/", None, None).await;
        assert_eq!(a.status, 404);
        // The fragment names the comment on the page.
        let page = send(
            &f.router,
            "GET",
            "/project/proj/patch/patch@example.org/",
            None,
            None,
        )
        .await;
        assert!(page.text.contains(&format!("id=\"{pc}\"")), "anchor");
    }
}

#[tokio::test]
async fn download_404s_are_html_pages() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let mbox = "/project/proj/patch/patch@example.org/mbox/";
        for uri in [
            format!("{mbox}?series=999999"),
            format!("{mbox}?series=abc"),
            "/project/proj/patch/nothing@example.org/mbox/?series=*".to_string(),
            "/project/proj/patch/nothing@example.org/raw/".to_string(),
            "/series/999999/mbox/".to_string(),
            "/patch/999999/".to_string(),
        ] {
            let a = send(&f.router, "GET", &uri, None, None).await;
            assert_eq!(a.status, 404, "{uri}");
            assert_eq!(
                a.header("content-type"),
                "text/html; charset=utf-8",
                "{uri}"
            );
            assert!(a.text.starts_with("<!DOCTYPE html>"), "{uri}: {}", a.text);
        }
        // An empty `?series=` asks for the patch alone.
        let a = send(&f.router, "GET", &format!("{mbox}?series="), None, None).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(a.text.contains("Change a line."));
        let a = send(&f.router, "GET", &format!("{mbox}?series=*"), None, None).await;
        assert_eq!(a.status, 200);
    }
}

#[tokio::test]
async fn oversized_requests_get_json_errors() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let maint = f.tokens[4].as_deref();
        // A body over the limit: 413, JSON.
        let big = json!({"name": "x".repeat(3 << 20), "patches": [f.patch]}).to_string();
        let a = send(&f.router, "POST", "/api/bundles/", maint, Some(big)).await;
        assert_eq!(a.status, 413, "{}", a.text);
        assert_eq!(a.header("content-type"), "application/json");
        assert!(
            a.json()["detail"]
                .as_str()
                .unwrap()
                .contains("2097152 bytes"),
            "{}",
            a.text
        );
        // A query the Link header could not echo: 414, JSON.
        let long = format!("/api/patches/?q={}", "%2F".repeat(2000));
        let a = send(&f.router, "GET", &long, None, None).await;
        assert_eq!(a.status, 414, "{}", a.text);
        assert_eq!(a.header("content-type"), "application/json");
        assert!(a.json()["detail"].as_str().unwrap().contains("4096"));
        // The longest accepted one keeps each Link entry well inside a
        // 64 KiB header line.
        let q = "x".repeat(4096 - "patches/".len() - "per_page=1&q=".len());
        let uri = format!("/api/patches/?per_page=1&q={q}");
        let a = send(&f.router, "GET", &uri, None, None).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let link = a.header("link");
        assert!(link.contains(&q) && link.len() < 65536, "{}", link.len());
    }
}
