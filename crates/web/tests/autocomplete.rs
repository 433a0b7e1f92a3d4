//! `/submitter/` and `/delegate/`, the list filters' autocomplete, on
//! both engines: Patchwork's JSON bytes, its three-letter minimum and `l`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(router: &axum::Router, uri: &str) -> (u16, String, String) {
    let resp = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn answers_as_patchwork() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let r = &f.router;
        let (_, patch) = support::get(r, &format!("/api/patches/{}/", f.patch), None).await;
        let sub = patch["submitter"]["id"].as_i64().unwrap();
        let deleg = patch["delegate"]["id"].as_i64().unwrap();
        assert_eq!(
            get(r, "/submitter/?q=SUB%20M").await,
            (
                200,
                "application/json".into(),
                format!(r#"[{{"pk": {sub}, "name": "Sub Mitter", "email": "sub@example.org"}}]"#)
            )
        );
        assert_eq!(
            get(r, "/delegate/?q=eleg").await.2,
            format!(r#"[{{"pk": {deleg}, "name": "deleg", "email": "deleg@example.org"}}]"#)
        );
        // Two characters search nothing: an empty body, not a list.
        assert_eq!(
            get(r, "/submitter/?q=su").await,
            (200, "application/json".into(), String::new())
        );
        // `l` limits; every address of the fixture (five accounts, three
        // mail authors, one of them with an account) has "example".
        let all = get(r, "/submitter/?q=example").await.2;
        let one = get(r, "/submitter/?q=example&l=1").await.2;
        assert_eq!(all.matches("\"pk\"").count(), 7, "{all}");
        assert_eq!(one.matches("\"pk\"").count(), 1, "{one}");
        assert_eq!(get(r, "/delegate/?q=zzz").await.2, "[]");
    }
}
