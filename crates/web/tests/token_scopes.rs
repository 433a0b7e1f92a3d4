//! Scoped API tokens, on SQLite and PostgreSQL: every scope against every
//! kind of request (read, patch write, check post, bundle, series write,
//! webhook), for a maintainer and for a bot that maintains nothing, and
//! an expired token.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use patchtrack_store::{IngestOptions, NewToken, NewUser, Scope, Store};
use tower::ServiceExt;

const MAIL: &str = "From: Sub Mitter <sub@example.org>\n\
To: p@lists.example.org\n\
List-Id: <p.example.org>\n\
Subject: [PATCH] a change\n\
Message-Id: <scope-1@x>\n\
Date: Mon, 3 Feb 2020 04:05:07 +0000\n\
\n\
A change.\n\
---\n\
diff --git a/f b/f\n\
--- a/f\n\
+++ b/f\n\
@@ -1 +1 @@\n\
-a\n\
+b\n";

async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: &str,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "patchwork.example.org")
        .header("authorization", format!("Token {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn user(store: &Store, name: &str, maintains: &[&str]) -> i64 {
    store
        .add_user(&NewUser {
            username: name.into(),
            email: format!("{name}@example.org"),
            password: None,
            superuser: false,
            maintainer_of: maintains.iter().map(|s| s.to_string()).collect(),
        })
        .await
        .unwrap();
    store.user_by_username(name).await.unwrap().unwrap().user.id
}

async fn scoped(store: &Store, user_id: i64, scope: Scope, expires: Option<i64>) -> String {
    store
        .create_scoped_token(&NewToken {
            user_id,
            name: format!("{}-token", scope.name()),
            scope,
            expires,
        })
        .await
        .unwrap()
        .1
}

#[tokio::test]
async fn every_scope_against_every_kind_of_request() {
    for store in common::stores().await {
        let p = common::project(&store, "p", "p.example.org").await;
        let q = common::project(&store, "q", "q.example.org").await;
        store
            .ingest(MAIL.as_bytes(), &IngestOptions::default())
            .await
            .unwrap();
        let maint = user(&store, "maint", &["p", "q"]).await;
        let bot = user(&store, "bot", &[]).await;
        let tokens: Vec<(&str, String)> = vec![
            ("maint profile", store.create_token("maint").await.unwrap()),
            (
                "maint write",
                scoped(&store, maint, Scope::Write, None).await,
            ),
            ("maint read", scoped(&store, maint, Scope::Read, None).await),
            (
                "maint checks p",
                scoped(&store, maint, Scope::Checks(vec![p.id]), None).await,
            ),
            (
                "maint checks q",
                scoped(&store, maint, Scope::Checks(vec![q.id]), None).await,
            ),
            (
                "bot checks p",
                scoped(&store, bot, Scope::Checks(vec![p.id]), None).await,
            ),
            ("bot profile", store.create_token("bot").await.unwrap()),
            (
                "maint expired",
                scoped(
                    &store,
                    maint,
                    Scope::Write,
                    Some(patchtrack_store::time::now() - 1),
                )
                .await,
            ),
        ];
        let router = patchtrack_web::router(patchtrack_web::App::new(store.clone()));
        // Expected status per token, in the order of `tokens`.
        let requests: Vec<(&str, &str, &str, [u16; 8])> = vec![
            (
                "GET",
                "/api/patches/1/",
                "",
                [200, 200, 200, 200, 200, 200, 200, 403],
            ),
            (
                "PATCH",
                "/api/patches/1/",
                r#"{"state": "under-review"}"#,
                [200, 200, 403, 403, 403, 403, 403, 403],
            ),
            (
                "POST",
                "/api/patches/1/checks/",
                r#"{"state": "success", "context": "ci"}"#,
                [201, 201, 403, 201, 403, 201, 403, 403],
            ),
            (
                "POST",
                "/api/1.2/bundles/",
                r#"{"name": "NAME", "patches": [1], "public": false}"#,
                [201, 201, 403, 403, 403, 403, 201, 403],
            ),
            (
                "PATCH",
                "/api/1.5/series/1/",
                r#"{"archived": false}"#,
                [200, 200, 403, 403, 403, 403, 403, 403],
            ),
            (
                "POST",
                "/api/1.5/projects/p/webhooks/",
                r#"{"target_url": "http://127.0.0.1:9/hook"}"#,
                [201, 201, 403, 403, 403, 403, 403, 403],
            ),
        ];
        for (method, uri, body, want) in &requests {
            for (i, (who, token)) in tokens.iter().enumerate() {
                // Bundle names must differ per token.
                let body = body.replace("NAME", &format!("b{i}"));
                let (status, answer) = call(&router, method, uri, token, &body).await;
                assert_eq!(
                    status.as_u16(),
                    want[i],
                    "{method} {uri} with {who}: {answer}"
                );
                if status == StatusCode::FORBIDDEN {
                    assert!(answer.contains("detail"), "{answer}");
                }
            }
        }
        // The refusals say why.
        let (_, answer) = call(&router, "PATCH", "/api/patches/1/", &tokens[2].1, "{}").await;
        assert!(answer.contains("scope is read"), "{answer}");
        let (_, answer) = call(&router, "PATCH", "/api/patches/1/", &tokens[3].1, "{}").await;
        assert!(answer.contains("scope is checks"), "{answer}");
        let (_, answer) = call(
            &router,
            "POST",
            "/api/patches/1/checks/",
            &tokens[4].1,
            r#"{"state": "success"}"#,
        )
        .await;
        assert!(answer.contains("only on the projects it names"), "{answer}");
        let (_, answer) = call(&router, "GET", "/api/patches/1/", &tokens[7].1, "").await;
        assert!(answer.contains("Token expired."), "{answer}");

        // The bot's check is the bot's; the profile token survives named
        // tokens being made and revoked, and a new profile token keeps them.
        let (_, checks) = call(&router, "GET", "/api/patches/1/checks/", &tokens[0].1, "").await;
        assert!(checks.contains("\"username\":\"bot\""), "{checks}");
        let named = store.tokens_of(maint).await.unwrap();
        assert_eq!(named.len(), 5);
        assert!(store.revoke_token(maint, named[1].id).await.unwrap());
        let (status, _) = call(&router, "GET", "/api/patches/1/", &tokens[2].1, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a revoked token is refused");
        let profile = store.create_token("maint").await.unwrap();
        let (status, _) = call(&router, "GET", "/api/patches/1/", &tokens[0].1, "").await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the old profile token is replaced"
        );
        let (status, _) = call(&router, "GET", "/api/patches/1/", &profile, "").await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&router, "GET", "/api/patches/1/", &tokens[1].1, "").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "named tokens outlive a new profile token"
        );
        assert_eq!(store.tokens_of(maint).await.unwrap().len(), 4);
    }
}
