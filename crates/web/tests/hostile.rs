//! Hostile requests: a NUL in every filter, every writable field, page
//! paths and credentials. PostgreSQL cannot hold a NUL, and answered each
//! of these with a 500; now filters match nothing and writes are refused
//! with Django REST framework's message, on both engines.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::send;
use tower::ServiceExt;

#[tokio::test]
async fn a_nul_in_a_filter_matches_nothing() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let maint = Some(format!("Token {}", f.tokens[4].as_deref().unwrap()));
        let p = f.patch;
        let lists: Vec<(String, &[&str])> = vec![
            (
                "/api/patches/".into(),
                &[
                    "project",
                    "series",
                    "submitter",
                    "delegate",
                    "state",
                    "archived",
                    "hash",
                    "msgid",
                    "since",
                    "before",
                    "q",
                    "order",
                ],
            ),
            (
                "/api/covers/".into(),
                &["project", "series", "submitter", "msgid", "q"],
            ),
            (
                "/api/series/".into(),
                &["project", "submitter", "q", "since"],
            ),
            (
                "/api/events/".into(),
                &[
                    "project", "series", "patch", "cover", "category", "actor", "since",
                ],
            ),
            (
                format!("/api/patches/{p}/checks/"),
                &["user", "state", "context"],
            ),
            (format!("/api/patches/{p}/comments/"), &["q"]),
            ("/api/bundles/".into(), &["project", "owner", "public", "q"]),
            ("/api/people/".into(), &["q"]),
            ("/api/users/".into(), &["q"]),
            ("/api/projects/".into(), &["q"]),
        ];
        for version in ["", "1.0/", "1.4/"] {
            for (path, filters) in &lists {
                if version == "1.0/" && path.contains("comments") {
                    continue; // comments are served from 1.1
                }
                let path = path.replacen("/api/", &format!("/api/{version}"), 1);
                for filter in *filters {
                    for value in ["%00", "a%00b", "1%00"] {
                        let uri = format!("{path}?{filter}={value}");
                        let (status, body) =
                            send(&f.router, "GET", &uri, maint.clone(), "", String::new()).await;
                        assert_eq!((status, &body), (200, &json!([])), "{uri}");
                    }
                }
            }
        }
        // Detail paths: nothing is named by a NUL.
        for uri in ["/api/projects/%00/", "/api/1.1/projects/a%00/"] {
            let (status, body) = send(&f.router, "GET", uri, None, "", String::new()).await;
            assert_eq!(status, 404, "{uri}");
            assert!(body.get("detail").is_some(), "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn a_nul_in_a_written_field_is_refused() {
    for store in common::stores().await {
        let f = support::fixture(store).await;
        let maint = Some(format!("Token {}", f.tokens[4].as_deref().unwrap()));
        let (p, pc) = (f.patch, f.patch_comment);
        let rows: Vec<(&str, String, &str, Value)> = vec![
            (
                "PATCH",
                format!("/api/patches/{p}/"),
                "state",
                json!("new\u{0}"),
            ),
            (
                "PATCH",
                format!("/api/patches/{p}/"),
                "commit_ref",
                json!("abc\u{0}"),
            ),
            (
                "PATCH",
                format!("/api/patches/{p}/"),
                "pull_url",
                json!("git://x/\u{0}"),
            ),
            (
                "POST",
                format!("/api/patches/{p}/checks/"),
                "context",
                json!("ci\u{0}"),
            ),
            (
                "POST",
                format!("/api/patches/{p}/checks/"),
                "description",
                json!("d\u{0}"),
            ),
            (
                "POST",
                format!("/api/patches/{p}/checks/"),
                "target_url",
                json!("http://x/\u{0}"),
            ),
            ("POST", "/api/bundles/".into(), "name", json!("b\u{0}")),
            (
                "PATCH",
                "/api/projects/proj/".into(),
                "web_url",
                json!("http://x/\u{0}"),
            ),
            (
                "PATCH",
                "/api/projects/proj/".into(),
                "list_archive_url",
                json!("\u{0}"),
            ),
            (
                "PATCH",
                format!("/api/patches/{p}/comments/{pc}/"),
                "addressed",
                json!(["\u{0}"]),
            ),
        ];
        for (method, uri, field, value) in rows {
            let mut body =
                json!({"state": "success", "context": "ci", "name": "b", "patches": [p]});
            body[field] = value;
            for (ct, text) in [
                ("application/json", body.to_string()),
                (
                    "application/x-www-form-urlencoded",
                    format!("{field}=x%00y"),
                ),
            ] {
                let (status, answer) = send(&f.router, method, &uri, maint.clone(), ct, text).await;
                assert_eq!(status, 400, "{method} {uri} {field} ({ct}): {answer}");
                assert_eq!(
                    answer[field],
                    json!(["Null characters are not allowed."]),
                    "{uri}"
                );
            }
        }
        // The user's own names, with its own token.
        let other = Some(format!("Token {}", f.tokens[1].as_deref().unwrap()));
        let (_, me) = send(
            &f.router,
            "GET",
            "/api/users/?q=other",
            other.clone(),
            "",
            String::new(),
        )
        .await;
        let id = me[0]["id"].as_i64().unwrap();
        let (status, answer) = send(
            &f.router,
            "PATCH",
            &format!("/api/users/{id}/"),
            other,
            "application/json",
            json!({"first_name": "A\u{0}"}).to_string(),
        )
        .await;
        assert_eq!(
            (status, &answer["first_name"]),
            (400, &json!(["Null characters are not allowed."]))
        );
    }
}

#[tokio::test]
async fn a_nul_in_pages_and_credentials_is_a_client_error() {
    use base64::Engine;
    for store in common::stores().await {
        let f = support::fixture(store).await;
        for (uri, want) in [
            ("/project/proj/patch/%00/", 404),
            ("/project/proj/patch/a%00b/mbox/", 404),
            ("/project/proj/cover/%00/", 404),
            ("/project/%00/list/", 404),
            ("/bundle/%00/x/", 404),
            ("/project/proj/list/?q=%00", 400),
            ("/project/proj/list/?submitter=%00", 400),
            ("/project/proj/list/?delegate=%00", 400),
        ] {
            let (status, _) = send(&f.router, "GET", uri, None, "", String::new()).await;
            assert_eq!(status, want, "{uri}");
        }
        let basic = base64::engine::general_purpose::STANDARD.encode("ma\0int:pw");
        let (status, body) = send(
            &f.router,
            "GET",
            "/api/patches/",
            Some(format!("Basic {basic}")),
            "",
            String::new(),
        )
        .await;
        assert_eq!(
            (status, &body["detail"]),
            (403, &json!("Invalid username/password."))
        );
        let (status, _) = send(
            &f.router,
            "POST",
            "/user/login/",
            None,
            "application/x-www-form-urlencoded",
            "username=ma%00int&password=x".into(),
        )
        .await;
        assert_eq!(status, 400);
    }
}

/// Password guessing: after ten wrong passwords an account pauses for a
/// minute (429 with `Retry-After`, the right password included), while
/// other accounts stay open. The login form: `pages.rs`.
#[tokio::test]
async fn failed_logins_are_throttled() {
    use base64::Engine;
    for store in common::stores().await {
        for name in ["alice", "bob"] {
            store
                .add_user(&patchtrack_store::NewUser {
                    username: name.into(),
                    email: format!("{name}@example.org"),
                    password: Some("right".into()),
                    superuser: false,
                    maintainer_of: vec![],
                })
                .await
                .unwrap();
        }
        let router = patchtrack_web::router(patchtrack_web::App {
            store,
            base_url: None,
            logins: Default::default(),
            xmlrpc: true,
            zone: patchtrack_store::time::SiteZone::utc(),
            events: Default::default(),
            metrics: Default::default(),
        });
        let basic = |user: &str, pw: &str| {
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
            ))
        };
        for _ in 0..patchtrack_web::throttle::PER_ACCOUNT {
            let (status, _) = send(
                &router,
                "GET",
                "/api/users/",
                basic("alice", "guess"),
                "",
                String::new(),
            )
            .await;
            assert_eq!(status, 403);
        }
        for pw in ["guess", "right"] {
            let resp = router
                .clone()
                .oneshot(
                    Request::builder()
                        .uri("/api/users/")
                        .header("authorization", basic("alice", pw).unwrap())
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 429, "{pw}");
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((55..=60).contains(&retry), "{retry}");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let detail: Value = serde_json::from_slice(&body).unwrap();
            assert!(
                detail["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("Request was throttled."),
                "{detail}"
            );
        }
        let (status, _) = send(
            &router,
            "GET",
            "/api/users/",
            basic("bob", "right"),
            "",
            String::new(),
        )
        .await;
        assert_eq!(status, 200, "another account is open");
    }
}
