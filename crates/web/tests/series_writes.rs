//! API 1.5's writes on many patches at once, on both engines: `PATCH` of a
//! whole series and of a list of patches, all or nothing, with one event
//! per patch changed, refused as a whole for someone who may change only
//! some; and the series list's `open`, `state` and `version` filters.
//! 1.0-1.4 keep upstream's read-only routes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use serde_json::{Value, json};
use support::{Fixture, call, fixture, get, send, send_page, session};

/// Ten patches by the fixture's submitter under a cover letter; the
/// first three are delegated to `deleg`, who may then change only those.
async fn ten_patches(f: &Fixture, store: &patchtrack_store::Store) -> Vec<i64> {
    let opts = patchtrack_store::IngestOptions {
        list_id: Some("proj.example.org".into()),
    };
    let cover = "From: Sub Mitter <sub@example.org>\nSubject: [PATCH 0/10] ten things\n\
                 Message-Id: <ten-0@example.org>\nDate: Tue, 4 Feb 2020 04:00:00 +0000\n\n\
                 Ten changes.\n";
    store.ingest(cover.as_bytes(), &opts).await.unwrap();
    let mut ids = Vec::new();
    for n in 1..=10 {
        let delegate = match n <= 3 {
            true => "X-Patchwork-Delegate: deleg@example.org\n",
            false => "",
        };
        let mail = format!(
            "From: Sub Mitter <sub@example.org>\nSubject: [PATCH {n}/10] thing {n}\n\
             Message-Id: <ten-{n}@example.org>\nIn-Reply-To: <ten-0@example.org>\n\
             References: <ten-0@example.org>\n{delegate}Date: Tue, 4 Feb 2020 04:00:{n:02} +0000\n\n\
             Thing {n}.\n---\ndiff --git a/t{n} b/t{n}\n--- a/t{n}\n+++ b/t{n}\n@@ -1 +1 @@\n-a\n+b\n"
        );
        match store.ingest(mail.as_bytes(), &opts).await.unwrap() {
            patchtrack_store::Outcome::Patch { id } => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    let _ = f;
    ids
}

async fn patch(f: &Fixture, id: i64) -> Value {
    get(&f.router, &format!("/api/1.5/patches/{id}/"), None)
        .await
        .1
}

async fn state_events(f: &Fixture) -> Vec<i64> {
    let (_, events) = get(
        &f.router,
        "/api/1.5/events/?category=patch-state-changed&per_page=100",
        None,
    )
    .await;
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["patch"]["id"].as_i64().unwrap())
        .collect()
}

async fn series_of(f: &Fixture, query: &str) -> Vec<i64> {
    let (status, list) = get(&f.router, &format!("/api/{query}"), None).await;
    assert_eq!(status, 200, "{query}: {list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn one_patch_of_a_series_changes_all_its_patches_or_none() {
    for store in common::stores().await {
        let f = fixture(store.clone()).await;
        let ids = ten_patches(&f, &store).await;
        let (deleg, maint) = (f.tokens[3].as_deref(), f.tokens[4].as_deref());
        let series = patch(&f, ids[0]).await["series"][0]["id"].as_i64().unwrap();
        let url = format!("/api/1.5/series/{series}/");
        let body = r#"{"state":"under-review","archived":true}"#;

        // Upstream's versions keep the series read-only.
        for old in ["/api/", "/api/1.4/", "/api/1.0/"] {
            let u = format!("{old}series/{series}/");
            assert_eq!(call(&f.router, "PATCH", &u, maint, body).await, 405, "{u}");
        }
        assert_eq!(call(&f.router, "PATCH", &url, None, body).await, 403);

        // The delegate of three of the ten may not change the series.
        let (status, reply) = send(
            &f.router,
            "PATCH",
            &url,
            deleg.map(|t| format!("Token {t}")),
            "application/json",
            body.into(),
        )
        .await;
        assert_eq!(status, 403, "{reply}");
        assert_eq!(
            reply["detail"],
            "You do not have permission to perform this action."
        );
        for id in &ids {
            assert_eq!(patch(&f, *id).await["state"], "new", "refused as a whole");
        }
        assert!(state_events(&f).await.is_empty());

        // The maintainer changes all ten, with ten events.
        let (status, reply) = send(
            &f.router,
            "PATCH",
            &url,
            maint.map(|t| format!("Token {t}")),
            "application/json",
            body.into(),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["id"], series);
        assert_eq!(reply["state"], json!({"under-review": 10}));
        assert_eq!(reply["open"], false, "archived patches wait for no one");
        for id in &ids {
            let p = patch(&f, *id).await;
            assert_eq!(
                (&p["state"], &p["archived"]),
                (&json!("under-review"), &json!(true))
            );
        }
        let mut events = state_events(&f).await;
        events.sort_unstable();
        assert_eq!(events, ids);

        // A delegate that maintains nothing is refused for the whole.
        let d = r#"{"delegate":3}"#;
        assert_eq!(call(&f.router, "PATCH", &url, maint, d).await, 400);
        assert_eq!(
            call(&f.router, "PATCH", "/api/1.5/series/999999/", maint, d).await,
            404
        );
    }
}

#[tokio::test]
async fn a_list_of_patch_changes_is_kept_whole_or_refused_item_by_item() {
    for store in common::stores().await {
        let f = fixture(store.clone()).await;
        let ids = ten_patches(&f, &store).await;
        let (deleg, maint) = (f.tokens[3].as_deref(), f.tokens[4].as_deref());
        let auth = |t: Option<&str>| t.map(|t| format!("Token {t}"));
        let bulk = |token: Option<&str>, body: Value| {
            send(
                &f.router,
                "PATCH",
                "/api/1.5/patches/",
                auth(token),
                "application/json",
                body.to_string(),
            )
        };
        assert_eq!(
            call(&f.router, "PATCH", "/api/1.4/patches/", maint, "[]").await,
            405
        );
        let (status, reply) = bulk(
            maint,
            json!([
                {"id": ids[0], "state": "accepted", "commit_ref": "abc123"},
                {"id": ids[1], "archived": true},
            ]),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        let reply = reply.as_array().unwrap();
        assert_eq!(reply.len(), 2);
        assert_eq!(
            (&reply[0]["state"], &reply[0]["commit_ref"]),
            (&json!("accepted"), &json!("abc123"))
        );
        assert_eq!(reply[1]["archived"], true);
        assert!(reply[0].get("diff").is_none(), "the list form");

        // One bad item refuses every item, and each says what was wrong.
        let (status, reply) = bulk(
            maint,
            json!([
                {"id": ids[0], "state": "new"},
                {"id": 999_999, "state": "new"},
                {"id": ids[2], "state": "bogus"},
                5,
                {"state": "new"},
            ]),
        )
        .await;
        assert_eq!(status, 400, "{reply}");
        let items = reply.as_array().unwrap();
        assert_eq!(items[0], json!({}));
        assert_eq!(
            items[1],
            json!({"id": ["Invalid pk \"999999\" - object does not exist."]})
        );
        assert!(
            items[2]["state"][0]
                .as_str()
                .unwrap()
                .starts_with("Invalid state bogus.")
        );
        assert_eq!(
            items[3],
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]})
        );
        assert_eq!(items[4], json!({"id": ["This field is required."]}));
        assert_eq!(patch(&f, ids[0]).await["state"], "accepted", "nothing kept");

        // A delegate may change the patches delegated to them, not others:
        // a list with one of each is refused, as a missing right.
        let (status, reply) = bulk(
            deleg,
            json!([{"id": ids[2], "state": "rejected"}, {"id": ids[5], "state": "rejected"}]),
        )
        .await;
        assert_eq!(status, 403, "{reply}");
        assert_eq!(
            reply,
            json!([{}, {"detail": "You do not have permission to perform this action."}])
        );
        assert_eq!(patch(&f, ids[2]).await["state"], "new");
        let (status, _) = bulk(deleg, json!([{"id": ids[2], "state": "rejected"}])).await;
        assert_eq!(status, 200);
        assert_eq!(patch(&f, ids[2]).await["state"], "rejected");

        // Bodies that are not a list of objects.
        let (status, reply) = bulk(maint, json!({"id": ids[0]})).await;
        assert_eq!(status, 400);
        assert_eq!(
            reply,
            json!({"non_field_errors": ["Expected a list of items but got type \"dict\"."]})
        );
        let (status, _) = send(
            &f.router,
            "PATCH",
            "/api/1.5/patches/",
            auth(maint),
            "application/x-www-form-urlencoded",
            format!("id={}&state=new", ids[0]),
        )
        .await;
        assert_eq!(status, 415);
        let (status, _) = bulk(None, json!([])).await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn the_series_list_filters_by_open_state_and_version_in_1_5_only() {
    for store in common::stores().await {
        let f = fixture(store.clone()).await;
        let ids = ten_patches(&f, &store).await;
        let maint = f.tokens[4].as_deref();
        let all = series_of(&f, "1.5/series/").await;
        assert!(all.len() >= 3, "{all:?}");
        let ten = patch(&f, ids[0]).await["series"][0]["id"].as_i64().unwrap();
        let url = format!("/api/1.5/series/{ten}/");
        assert_eq!(
            call(&f.router, "PATCH", &url, maint, r#"{"state":"accepted"}"#).await,
            200
        );
        let open = series_of(&f, "1.5/series/?open=true").await;
        let closed = series_of(&f, "1.5/series/?open=false").await;
        assert!(
            !open.contains(&ten) && closed == vec![ten],
            "{open:?} {closed:?}"
        );
        assert_eq!(open.len() + closed.len(), all.len());
        assert_eq!(series_of(&f, "1.5/series/?state=accepted").await, vec![ten]);
        let new = series_of(&f, "1.5/series/?state=new&state=accepted").await;
        assert_eq!(new, all, "any of the states");
        assert_eq!(series_of(&f, "1.5/series/?version=1").await, all);
        assert!(series_of(&f, "1.5/series/?version=2").await.is_empty());
        // Upstream's versions ignore the parameters they do not know.
        for old in ["1.4/series/?open=false", "series/?state=accepted&version=2"] {
            assert_eq!(series_of(&f, old).await, all, "{old}");
        }
        // The Link header's count follows the filter.
        let (_, page) = get(&f.router, "/api/1.5/series/?open=false&per_page=1", None).await;
        assert_eq!(page.as_array().unwrap().len(), 1);
    }
}

fn flash(reply: &support::Reply) -> String {
    let raw = reply
        .cookies
        .iter()
        .find_map(|c| c.strip_prefix("flash="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap_or_default();
    percent_encoding::percent_decode_str(&raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[tokio::test]
async fn the_series_page_lists_filters_and_changes_whole_series() {
    for store in common::stores().await {
        let f = fixture(store.clone()).await;
        let ids = ten_patches(&f, &store).await;
        let ten = patch(&f, ids[0]).await["series"][0]["id"].as_i64().unwrap();
        let r = &f.router;
        let open = send_page(r, "GET", "/project/proj/series/", "", None, None).await;
        assert_eq!(open.status, 200);
        assert!(open.body.contains(&format!(r#"data-series-id="{ten}""#)));
        assert!(open.body.contains("0/10") || open.body.contains("10/10"));
        assert!(open.body.contains("10 New"), "the state summary");
        assert!(!open.body.contains("series-bulk"), "no form for visitors");

        // The delegate of three of the ten may not change the series: it
        // stays as it was, and says why.
        let accepted = store.state_for_input("accepted").await.unwrap().unwrap();
        let form = |s: &support::Session| {
            format!(
                "csrfmiddlewaretoken={}&series_id={ten}&state={accepted}&delegate=*&archived=*&action=update",
                s.csrf
            )
        };
        let deleg = session(&store, "deleg").await;
        let reply = send_page(
            r,
            "POST",
            "/project/proj/series/",
            &deleg.cookie,
            Some(&form(&deleg)),
            None,
        )
        .await;
        assert_eq!(reply.status, 302, "{}", reply.body);
        assert!(
            flash(&reply).contains("No series updated"),
            "{}",
            flash(&reply)
        );
        for id in &ids {
            assert_eq!(patch(&f, *id).await["state"], "new");
        }

        // The maintainer changes all ten, with ten events.
        let maint = session(&store, "maint").await;
        let page = send_page(r, "GET", "/project/proj/series/", &maint.cookie, None, None).await;
        assert!(page.body.contains(r#"id="series-bulk""#));
        let reply = send_page(
            r,
            "POST",
            "/project/proj/series/",
            &maint.cookie,
            Some(&form(&maint)),
            None,
        )
        .await;
        assert_eq!(reply.status, 302);
        assert!(
            flash(&reply).contains("1 series updated"),
            "{}",
            flash(&reply)
        );
        for id in &ids {
            assert_eq!(patch(&f, *id).await["state"], "accepted");
        }
        let events = state_events(&f).await;
        assert!(ids.iter().all(|id| events.contains(id)), "{events:?}");

        // Now closed: gone from the default (open) list, in the closed one.
        let open = send_page(r, "GET", "/project/proj/series/", "", None, None).await;
        assert!(!open.body.contains(&format!(r#"data-series-id="{ten}""#)));
        let closed = send_page(
            r,
            "GET",
            "/project/proj/series/?show=closed",
            "",
            None,
            None,
        )
        .await;
        assert!(closed.body.contains(&format!(r#"data-series-id="{ten}""#)));
        let by_state = send_page(
            r,
            "GET",
            "/project/proj/series/?show=all&state=accepted",
            "",
            None,
            None,
        )
        .await;
        assert!(by_state.body.contains("10 Accepted"), "{}", by_state.body);
        let none = send_page(
            r,
            "GET",
            "/project/proj/series/?show=all&q=nosuchword",
            "",
            None,
            None,
        )
        .await;
        assert!(none.body.contains(r#"id="no-series""#));
    }
}
