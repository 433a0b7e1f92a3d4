//! Response amplification (issue 10, item 7): how large one page of
//! patches gets when every patch on it belongs to one huge relation.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patchtrack_store::{IngestOptions, Outcome, Store};
use tower::ServiceExt;

/// A standalone patch mail, the `n`th of its kind.
fn mail(n: usize) -> String {
    format!(
        "From: Sub Mitter <sub@example.org>\nSubject: [PATCH] change number {n}\n\
         Message-Id: <amp-{n}@example.org>\nDate: Mon, 3 Feb 2020 04:{:02}:{:02} +0000\n\n\
         Change {n}.\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+{n}\n",
        (n / 60) % 60,
        n % 60
    )
}

/// Stores `count` patches in `store`'s project `proj`; their ids in order.
async fn patches(store: &Store, count: usize) -> Vec<i64> {
    let opts = IngestOptions {
        list_id: Some("proj.example.org".into()),
    };
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        match store.ingest(mail(n).as_bytes(), &opts).await.unwrap() {
            Outcome::Patch { id } => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    ids
}

/// Puts every patch into relation `relation`, bypassing the API (as a
/// database filled before any limit existed would be).
async fn relate_all(store: &Store, relation: i64) {
    store
        .execute_admin(&format!(
            "INSERT INTO patch_relation (id) VALUES ({relation})"
        ))
        .await
        .unwrap();
    store
        .execute_admin(&format!("UPDATE patch SET related_id = {relation}"))
        .await
        .unwrap();
}

/// The body of an anonymous GET.
async fn get_bytes(router: &axum::Router, uri: &str) -> (u16, Vec<u8>) {
    let req = Request::builder()
        .uri(uri)
        .header("host", "pw.example.org")
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

/// Peak resident memory of this process so far, in MiB (Linux only).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// The figure in BENCHMARKS.md: one 5,000-patch relation, then
/// `GET /api/patches/?per_page=250`. Run with
/// `cargo test --release -p patchtrack-web --test amplification -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement: 5,000 mails take a while to store"]
async fn measure_list_of_a_huge_relation() {
    let store = common::sqlite().await;
    common::project(&store, "proj", "proj.example.org").await;
    let started = Instant::now();
    patches(&store, 5000).await;
    relate_all(&store, 1).await;
    eprintln!("setup: {:.1} s", started.elapsed().as_secs_f64());
    let router = patchtrack_web::router(patchtrack_web::App {
        store,
        base_url: None,
    });
    let before = peak_rss_mib();
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = get_bytes(&router, "/api/patches/?per_page=250").await;
        assert_eq!(status, 200);
        let (elapsed, peak) = (started.elapsed(), peak_rss_mib());
        let items: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let embedded: usize = items
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["related"].as_array().map_or(0, Vec::len))
            .sum();
        eprintln!(
            "GET /api/patches/?per_page=250: {} bytes, {embedded} related patches embedded, \
             {:.0} ms; peak RSS {before:?} MiB before, {:?} MiB after",
            body.len(),
            elapsed.as_secs_f64() * 1000.0,
            peak
        );
    }
}
