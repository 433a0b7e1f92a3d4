//! API 1.5's check lifecycle, on SQLite and PostgreSQL: a check updated
//! in place by its author (and only by them), a check posted on a whole
//! series and shown on each of its patches, recheck requests by a
//! maintainer and by a `Recheck-request:` line in a comment, and the
//! events of all of it, which 1.0 to 1.4 do not list.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patchtrack_store::{IngestOptions, NewToken, NewUser, Scope, Store};
use serde_json::Value;
use tower::ServiceExt;

fn mail(n: u32, msgid: &str, subject: &str, reply_to: Option<&str>, body: &str) -> String {
    let thread = reply_to
        .map(|r| format!("In-Reply-To: <{r}>\nReferences: <{r}>\n"))
        .unwrap_or_default();
    format!(
        "From: Sub Mitter <sub@example.org>\n\
         To: p@lists.example.org\n\
         List-Id: <p.example.org>\n\
         Subject: {subject}\n\
         Message-Id: <{msgid}>\n\
         {thread}\
         Date: Mon, 3 Feb 2020 04:05:0{n} +0000\n\
         \n\
         {body}"
    )
}

fn patch(n: u32, of: u32, reply_to: Option<&str>) -> String {
    mail(
        n,
        &format!("lc-{n}@x"),
        &format!("[PATCH {n}/{of}] change {n}"),
        reply_to,
        &format!(
            "Change {n}.\n---\ndiff --git a/f{n} b/f{n}\n--- a/f{n}\n+++ b/f{n}\n@@ -1 +1 @@\n-a\n+b\n"
        ),
    )
}

struct Site {
    router: axum::Router,
}

impl Site {
    async fn call(&self, method: &str, uri: &str, token: &str, body: &str) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "patchwork.example.org")
            .header("authorization", format!("Token {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn categories(&self, version: &str, token: &str) -> Vec<String> {
        let (status, events) = self
            .call(
                "GET",
                &format!("/api/{version}events/?per_page=250"),
                token,
                "",
            )
            .await;
        assert_eq!(status, 200);
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["category"].as_str().unwrap().to_string())
            .collect()
    }
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

#[tokio::test]
async fn checks_change_in_place_cover_series_and_are_asked_again() {
    for store in common::stores().await {
        let p = common::project(&store, "p", "p.example.org").await;
        for m in [patch(1, 2, None), patch(2, 2, Some("lc-1@x"))] {
            store
                .ingest(m.as_bytes(), &IngestOptions::default())
                .await
                .unwrap();
        }
        user(&store, "maint", &["p"]).await;
        let maint = store.create_token("maint").await.unwrap();
        let bot_id = user(&store, "bot", &[]).await;
        let bot = store
            .create_scoped_token(&NewToken {
                user_id: bot_id,
                name: "ci".into(),
                scope: Scope::Checks(vec![p.id]),
                expires: None,
            })
            .await
            .unwrap()
            .1;
        let site = Site {
            router: patchtrack_web::router(patchtrack_web::App::new(store.clone())),
        };

        // A check updated in place by its author.
        let (status, check) = site
            .call(
                "POST",
                "/api/1.5/patches/1/checks/",
                &bot,
                r#"{"state": "pending", "context": "build"}"#,
            )
            .await;
        assert_eq!(status, 201, "{check}");
        assert!(check["series"].is_null(), "{check}");
        let id = check["id"].as_i64().unwrap();
        let uri = format!("/api/1.5/patches/1/checks/{id}/");
        let (status, updated) = site
            .call(
                "PATCH",
                &uri,
                &bot,
                r#"{"state": "fail", "description": "broke", "target_url": "https://ci.example.org/1"}"#,
            )
            .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["state"], "fail");
        assert_eq!(updated["description"], "broke");
        assert_eq!(updated["target_url"], "https://ci.example.org/1");
        assert_eq!(updated["id"], check["id"], "the same check");
        let (status, list) = site.call("GET", "/api/patches/1/checks/", &maint, "").await;
        assert_eq!(status, 200);
        assert_eq!(
            list.as_array().unwrap().len(),
            1,
            "updated, not added: {list}"
        );
        let (_, detail) = site.call("GET", "/api/patches/1/", &maint, "").await;
        assert_eq!(detail["check"], "fail", "the aggregate follows");
        let (status, refused) = site
            .call("PATCH", &uri, &maint, r#"{"state": "success"}"#)
            .await;
        assert_eq!(status, 403, "only the author: {refused}");
        assert!(refused["detail"].as_str().unwrap().contains("author"));
        let (status, _) = site
            .call(
                "PATCH",
                &format!("/api/1.4/patches/1/checks/{id}/"),
                &bot,
                r#"{"state": "success"}"#,
            )
            .await;
        assert_eq!(status, 405, "1.4's checks are immutable, as upstream");
        let (status, _) = site
            .call("PATCH", &uri, &bot, r#"{"state": "nonsense"}"#)
            .await;
        assert_eq!(status, 400);

        // A check on the whole series shows on both of its patches.
        let (status, series_check) = site
            .call(
                "POST",
                "/api/1.5/series/1/checks/",
                &bot,
                r#"{"state": "success", "context": "series-build"}"#,
            )
            .await;
        assert_eq!(status, 201, "{series_check}");
        assert_eq!(
            series_check["series"],
            "http://patchwork.example.org/api/1.5/series/1/"
        );
        for patch in [1, 2] {
            let (_, list) = site
                .call(
                    "GET",
                    &format!("/api/1.5/patches/{patch}/checks/"),
                    &maint,
                    "",
                )
                .await;
            assert!(
                list.as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["context"] == "series-build" && c["state"] == "success"),
                "patch {patch}: {list}"
            );
        }
        let (_, listed) = site
            .call("GET", "/api/1.5/series/1/checks/", &maint, "")
            .await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let sid = series_check["id"].as_i64().unwrap();
        let (status, changed) = site
            .call(
                "PATCH",
                &format!("/api/1.5/series/1/checks/{sid}/"),
                &bot,
                r#"{"state": "warning"}"#,
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        let (_, two) = site
            .call("GET", "/api/1.5/patches/2/checks/", &maint, "")
            .await;
        assert!(
            two.as_array()
                .unwrap()
                .iter()
                .any(|c| c["context"] == "series-build" && c["state"] == "warning"),
            "every patch of the series changed: {two}"
        );

        // Recheck: a maintainer's action...
        let (status, event) = site
            .call(
                "POST",
                "/api/1.5/patches/1/recheck/",
                &maint,
                r#"{"contexts": ["build"]}"#,
            )
            .await;
        assert_eq!(status, 201, "{event}");
        assert_eq!(event["category"], "recheck-requested");
        assert_eq!(event["payload"]["contexts"], serde_json::json!(["build"]));
        assert_eq!(event["payload"]["patch"]["id"], 1);
        assert_eq!(event["actor"]["username"], "maint");
        let (status, _) = site
            .call("POST", "/api/1.5/patches/1/recheck/", &bot, "{}")
            .await;
        assert_eq!(status, 403, "a checks token cannot ask");
        let (status, event) = site
            .call("POST", "/api/1.5/series/1/recheck/", &maint, "")
            .await;
        assert_eq!(status, 201, "{event}");
        assert!(event["payload"]["patch"].is_null());
        assert_eq!(event["payload"]["series"]["id"], 1);

        // ... and a comment's `Recheck-request:` line, as DPDK writes it.
        let reply = mail(
            5,
            "lc-reply@x",
            "Re: [PATCH 1/2] change 1",
            Some("lc-1@x"),
            "Looks like an infrastructure failure.\n\nRecheck-request: build, abi-check\n",
        );
        store
            .ingest(reply.as_bytes(), &IngestOptions::default())
            .await
            .unwrap();
        let (_, rechecks) = site
            .call(
                "GET",
                "/api/1.5/events/?category=recheck-requested&order=id",
                &maint,
                "",
            )
            .await;
        let rechecks = rechecks.as_array().unwrap();
        assert_eq!(rechecks.len(), 3, "{rechecks:?}");
        let last = &rechecks[2];
        assert_eq!(
            last["payload"]["contexts"],
            serde_json::json!(["build", "abi-check"])
        );
        assert_eq!(last["payload"]["comment"]["msgid"], "<lc-reply@x>");
        assert_eq!(last["payload"]["series"]["id"], 1);
        assert!(last["actor"].is_null(), "the commenter has no account");

        // 1.5 lists its own categories; 1.4 and /api/ list upstream's only.
        let extended = site.categories("1.5/", &maint).await;
        assert!(
            extended.iter().any(|c| c == "check-updated"),
            "{extended:?}"
        );
        assert_eq!(
            extended.iter().filter(|c| *c == "check-updated").count(),
            3,
            "one patch check updated, a series check on two patches"
        );
        for version in ["", "1.4/", "1.0/"] {
            let upstream = site.categories(version, &maint).await;
            assert!(
                upstream
                    .iter()
                    .all(|c| c != "check-updated" && c != "recheck-requested"),
                "{version}: {upstream:?}"
            );
            assert_eq!(
                upstream.len(),
                extended.len() - 6 - usize::from(version == "1.0/") * comments(&extended),
                "{version}"
            );
        }
        let (status, _) = site
            .call("GET", "/api/1.4/events/?category=check-updated", &maint, "")
            .await;
        assert_eq!(status, 200);
    }
}

/// Comment events, which API 1.0 to 1.2 leave out.
fn comments(categories: &[String]) -> usize {
    categories
        .iter()
        .filter(|c| c.ends_with("-comment-created"))
        .count()
}
