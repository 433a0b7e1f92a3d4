//! Response amplification (issue 10, item 7): no group a write or a list's
//! mail can grow (relation, bundle, series) makes a response grow without
//! bound: writes stop at the store's group limit, and groups already
//! larger are listed up to it, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patchtrack_store::{DEFAULT_GROUP_LIMIT, IngestOptions, NewUser, Outcome, Store};
use serde_json::{Value, json};
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

/// Patch `k` of a 6-patch series.
fn series_mail(k: usize) -> String {
    format!(
        "From: Sub Mitter <sub@example.org>\nSubject: [PATCH {k}/6] part {k}\n\
         Message-Id: <series-{k}@example.org>\nDate: Tue, 4 Feb 2020 04:05:{k:02} +0000\n\n\
         Part {k}.\n---\ndiff --git a/s b/s\n--- a/s\n+++ b/s\n@@ -1 +1 @@\n-a\n+{k}\n"
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

/// A request with a JSON body; the status and the parsed answer.
async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Token {t}"));
    support::send(
        router,
        method,
        uri,
        auth,
        "application/json",
        body.to_string(),
    )
    .await
}

/// The ids of an embedded list of objects.
fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

/// A site whose store has group limit 4, with project `proj`, `count`
/// patches (dated in id order) and the token of a maintainer.
async fn site(store: Store, count: usize) -> (axum::Router, Store, Vec<i64>, String) {
    let store = store.with_group_limit(LIMIT);
    common::project(&store, "proj", "proj.example.org").await;
    store
        .add_user(&NewUser {
            username: "maint".into(),
            email: "maint@example.org".into(),
            password: None,
            superuser: false,
            maintainer_of: vec!["proj".into()],
        })
        .await
        .unwrap();
    let token = store.create_token("maint").await.unwrap();
    let ids = patches(&store, count).await;
    let router = patchtrack_web::router(patchtrack_web::App {
        store: store.clone(),
        base_url: None,
        logins: Default::default(),
        xmlrpc: true,
        zone: patchtrack_store::time::SiteZone::utc(),
        events: Default::default(),
        metrics: Default::default(),
    });
    (router, store, ids, token)
}

const LIMIT: usize = 4;

#[tokio::test]
async fn a_relation_grows_to_the_limit_and_no_further() {
    assert_eq!(DEFAULT_GROUP_LIMIT, 256);
    for store in common::stores().await {
        let (router, _store, p, token) = site(store, 6).await;
        let t = Some(token.as_str());
        let url = |id: i64| format!("/api/patches/{id}/");
        // Five at once: one more than the limit.
        let (status, body) = send(
            &router,
            "PATCH",
            &url(p[0]),
            t,
            &json!({"related": &p[1..5]}),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"related": [
                "A relation cannot hold more than 4 patches; this change would make it 5."
            ]})
        );
        let (_, detail) = send(&router, "GET", &url(p[0]), None, &Value::Null).await;
        assert_eq!(
            detail["related"],
            json!([]),
            "a refused change changes nothing"
        );
        // Four: exactly the limit.
        let (status, body) = send(
            &router,
            "PATCH",
            &url(p[0]),
            t,
            &json!({"related": &p[1..4]}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(ids(&body["related"]), p[1..4].to_vec());
        // A fifth joining from outside, either way round.
        for (on, other) in [(p[4], p[0]), (p[0], p[4])] {
            let (status, body) =
                send(&router, "PATCH", &url(on), t, &json!({"related": [other]})).await;
            assert_eq!(status, 400, "{body}");
            assert!(body["related"][0].as_str().unwrap().contains("make it 5"));
        }
        // Naming members already there is no growth.
        let (status, _) = send(
            &router,
            "PATCH",
            &url(p[1]),
            t,
            &json!({"related": [p[2], p[3]]}),
        )
        .await;
        assert_eq!(status, 200);
        // Leaving makes room for another.
        let (status, _) = send(&router, "PATCH", &url(p[3]), t, &json!({"related": []})).await;
        assert_eq!(status, 200);
        let (status, body) =
            send(&router, "PATCH", &url(p[5]), t, &json!({"related": [p[0]]})).await;
        assert_eq!(status, 200);
        assert_eq!(ids(&body["related"]), vec![p[0], p[1], p[2]]);
    }
}

#[tokio::test]
async fn a_relation_over_the_limit_is_listed_up_to_it() {
    for store in common::stores().await {
        let (router, store, p, token) = site(store, 7).await;
        relate_all(&store, 900).await;
        let (status, list) = send(
            &router,
            "GET",
            "/api/patches/?per_page=250",
            None,
            &Value::Null,
        )
        .await;
        assert_eq!(status, 200);
        let items = list.as_array().unwrap();
        assert_eq!(items.len(), 7);
        let mut embedded = 0;
        for item in items {
            let me = item["id"].as_i64().unwrap();
            let related = ids(&item["related"]);
            embedded += related.len();
            // The first others by date, whoever asks.
            let expected: Vec<i64> = p.iter().copied().filter(|x| *x != me).take(LIMIT).collect();
            assert_eq!(related, expected, "patch {me}");
        }
        assert_eq!(embedded, 7 * LIMIT);
        let (_, detail) = send(
            &router,
            "GET",
            &format!("/api/patches/{}/", p[6]),
            None,
            &Value::Null,
        )
        .await;
        assert_eq!(ids(&detail["related"]), p[..4].to_vec());
        // It may stay as it is, not grow.
        let (status, _) = send(
            &router,
            "PATCH",
            &format!("/api/patches/{}/", p[6]),
            Some(&token),
            &json!({"related": [p[0]]}),
        )
        .await;
        assert_eq!(status, 200);
        let (status, body) = send(
            &router,
            "PATCH",
            &format!("/api/patches/{}/", p[0]),
            Some(&token),
            &json!({"state": "accepted"}),
        )
        .await;
        assert_eq!((status, body["state"].as_str()), (200, Some("accepted")));
    }
}

#[tokio::test]
async fn bundles_hold_and_list_at_most_the_limit() {
    for store in common::stores().await {
        let (router, store, p, token) = site(store, 6).await;
        let t = Some(token.as_str());
        let (status, body) = send(
            &router,
            "POST",
            "/api/bundles/",
            t,
            &json!({"name": "big", "patches": &p[..5]}),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"patches": ["Ensure this field has no more than 4 elements."]})
        );
        // Repeating an id does not count it twice.
        let (status, body) = send(
            &router,
            "POST",
            "/api/bundles/",
            t,
            &json!({"name": "ok", "patches": [p[0], p[1], p[2], p[3], p[0]], "public": true}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let bundle = body["id"].as_i64().unwrap();
        let (status, _) = send(
            &router,
            "PATCH",
            &format!("/api/bundles/{bundle}/"),
            t,
            &json!({"patches": &p[..5]}),
        )
        .await;
        assert_eq!(status, 400);
        // A bundle stored before the limit existed.
        for (i, id) in p.iter().enumerate() {
            store
                .execute_admin(&format!(
                    "INSERT INTO bundle_patch (bundle_id, patch_id, ordering) \
                     SELECT {bundle}, {id}, {} WHERE NOT EXISTS (SELECT 1 FROM bundle_patch \
                     WHERE bundle_id = {bundle} AND patch_id = {id})",
                    i + 10
                ))
                .await
                .unwrap();
        }
        let (_, list) = send(&router, "GET", "/api/bundles/", None, &Value::Null).await;
        assert_eq!(ids(&list[0]["patches"]), p[..4].to_vec());
        // The download still has every patch.
        let (status, mbox) = get_bytes(&router, "/bundle/maint/ok/mbox/").await;
        assert_eq!(status, 200);
        let mbox = String::from_utf8(mbox).unwrap();
        assert_eq!(mbox.matches("\nSubject: ").count(), 6, "{mbox}");
    }
}

#[tokio::test]
async fn a_series_lists_at_most_the_limit() {
    for store in common::stores().await {
        let (router, store, _, _) = site(store, 0).await;
        let opts = IngestOptions {
            list_id: Some("proj.example.org".into()),
        };
        let mut ids_in = Vec::new();
        for k in 1..=6 {
            match store
                .ingest(series_mail(k).as_bytes(), &opts)
                .await
                .unwrap()
            {
                Outcome::Patch { id } => ids_in.push(id),
                other => panic!("{other:?}"),
            }
        }
        let (_, list) = send(&router, "GET", "/api/series/", None, &Value::Null).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "one series");
        let series = &list[0];
        assert_eq!(series["received_total"], 6);
        assert_eq!(ids(&series["patches"]), ids_in[..4].to_vec());
    }
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
        logins: Default::default(),
        xmlrpc: true,
        zone: patchtrack_store::time::SiteZone::utc(),
        events: Default::default(),
        metrics: Default::default(),
    });
    let before = peak_rss_mib();
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = get_bytes(&router, "/api/patches/?per_page=250").await;
        assert_eq!(status, 200);
        let (elapsed, peak) = (started.elapsed(), peak_rss_mib());
        let items: Value = serde_json::from_slice(&body).unwrap();
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
