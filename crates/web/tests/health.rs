//! The probes an orchestrator or load balancer polls: `/healthz` answers
//! while the process serves, `/readyz` only while the database answers.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(router: &axum::Router, uri: &str) -> (u16, String) {
    let res = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn liveness_always_readiness_while_the_database_answers() {
    for store in common::stores().await {
        let router = patchtrack_web::router(patchtrack_web::App::new(store.clone()));
        assert_eq!(get(&router, "/healthz").await, (200, "ok\n".into()));
        assert_eq!(get(&router, "/readyz").await, (200, "ready\n".into()));
        store.close().await;
        let (status, body) = get(&router, "/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.starts_with("database unavailable"), "{body}");
        assert_eq!(get(&router, "/healthz").await.0, 200, "alive all the same");
    }
}
