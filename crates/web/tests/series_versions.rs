//! API 1.5's versions of a series, on both engines: `previous_versions`
//! and `next_versions` with the evidence of each link, `supersedes` on
//! patches, and the interdiff between two versions (pairs, added and
//! dropped patches, the diff between diffs, and its errors). 1.0-1.4
//! show none of it.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use serde_json::Value;
use support::{fixture, get, send_page};

/// Posts version `v` of a series: a cover and the patches `parts` (name,
/// diff line), unthreaded between versions, the cover of v3 naming v2's
/// in a `Link to v2:` line.
async fn post(store: &patchtrack_store::Store, v: u32, day: u32, parts: &[(&str, &str)]) {
    let opts = patchtrack_store::IngestOptions {
        list_id: Some("proj.example.org".into()),
    };
    let n = parts.len();
    let tag = if v == 1 {
        String::new()
    } else {
        format!("v{v} ")
    };
    let link = match v {
        3 => "\n- Link to v2: https://lore.example.org/r/ver2-0@example.org\n",
        _ => "",
    };
    let cover = format!(
        "From: Sub Mitter <sub@example.org>\nSubject: [PATCH {tag}0/{n}] the feature\n\
         Message-Id: <ver{v}-0@example.org>\nDate: Tue, {day} Feb 2020 04:00:00 +0000\n\n\
         The feature.{link}\n"
    );
    store.ingest(cover.as_bytes(), &opts).await.unwrap();
    for (k, (name, line)) in parts.iter().enumerate() {
        let k = k + 1;
        let mail = format!(
            "From: Sub Mitter <sub@example.org>\nSubject: [PATCH {tag}{k}/{n}] {name}\n\
             Message-Id: <ver{v}-{k}@example.org>\nIn-Reply-To: <ver{v}-0@example.org>\n\
             References: <ver{v}-0@example.org>\nDate: Tue, {day} Feb 2020 04:00:{k:02} +0000\n\n\
             {name}.\n---\ndiff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n\
             @@ -1 +1 @@\n-old\n+{line}\n"
        );
        let o = store.ingest(mail.as_bytes(), &opts).await.unwrap();
        assert!(o.is_stored(), "{o:?}");
    }
}

async fn series_with_cover(router: &axum::Router, msgid: &str) -> i64 {
    let (_, covers) = get(router, &format!("/api/1.5/covers/?msgid={msgid}"), None).await;
    covers[0]["series"][0]["id"].as_i64().unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn versions_supersedes_and_interdiff() {
    for store in common::stores().await {
        let f = fixture(store.clone()).await;
        post(&store, 1, 3, &[("alpha", "a1"), ("beta", "b1")]).await;
        post(
            &store,
            2,
            5,
            &[("alpha", "a2"), ("beta", "b1"), ("gamma", "c2")],
        )
        .await;
        post(&store, 3, 7, &[("alpha", "a2"), ("gamma", "c3")]).await;
        let r = &f.router;
        let s1 = series_with_cover(r, "ver1-0@example.org").await;
        let s2 = series_with_cover(r, "ver2-0@example.org").await;
        let s3 = series_with_cover(r, "ver3-0@example.org").await;

        let (status, v2) = get(r, &format!("/api/1.5/series/{s2}/"), None).await;
        assert_eq!(status, 200);
        assert_eq!(ids(&v2["previous_versions"]), [s1]);
        assert_eq!(v2["previous_versions"][0]["evidence"], "name");
        assert_eq!(v2["previous_versions"][0]["version"], 1);
        assert_eq!(ids(&v2["next_versions"]), [s3]);
        assert_eq!(v2["next_versions"][0]["evidence"], "link");
        let (_, v3) = get(r, &format!("/api/1.5/series/{s3}/"), None).await;
        assert_eq!(ids(&v3["previous_versions"]), [s1, s2]);
        assert_eq!(ids(&v3["next_versions"]), Vec::<i64>::new());
        let (_, list) = get(r, "/api/1.5/series/?order=id", None).await;
        let first = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == s1)
            .unwrap();
        assert_eq!(ids(&first["next_versions"]), [s2, s3], "in the list too");
        for old in ["/api/", "/api/1.4/", "/api/1.0/"] {
            let (_, s) = get(r, &format!("{old}series/{s2}/"), None).await;
            assert!(s.get("previous_versions").is_none(), "{old}");
            let (status, _) = get(r, &format!("{old}series/{s2}/interdiff/"), None).await;
            assert_eq!(status, 404, "{old}: no interdiff route");
        }

        // Each v2 patch names its v1 counterpart; gamma is new.
        let (_, patches) = get(r, &format!("/api/1.5/patches/?series={s2}&order=id"), None).await;
        let (_, older) = get(r, &format!("/api/1.5/patches/?series={s1}&order=id"), None).await;
        let p = patches.as_array().unwrap();
        assert_eq!(p[0]["supersedes"]["id"], older[0]["id"]);
        assert_eq!(p[1]["supersedes"]["id"], older[1]["id"]);
        assert!(p[2]["supersedes"].is_null());
        let one = p[0]["id"].as_i64().unwrap();
        let (_, detail) = get(r, &format!("/api/1.5/patches/{one}/"), None).await;
        assert_eq!(detail["supersedes"]["msgid"], "<ver1-1@example.org>");
        let (_, detail) = get(r, &format!("/api/1.4/patches/{one}/"), None).await;
        assert!(detail.get("supersedes").is_none());

        // v3 against its previous version (the default): alpha is the
        // same, gamma changed, beta was dropped.
        let (status, d) = get(r, &format!("/api/1.5/series/{s3}/interdiff/"), None).await;
        assert_eq!(status, 200, "{d}");
        assert_eq!(d["series"]["id"], s3);
        assert_eq!(d["against"]["id"], s2);
        let pairs = d["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0]["patch"]["name"], "[v3,1/2] alpha");
        assert_eq!(pairs[0]["against"]["name"], "[v2,1/3] alpha");
        assert_eq!(pairs[0]["matched"], "name");
        assert_eq!(pairs[0]["interdiff"], "");
        assert_eq!(pairs[1]["against"]["name"], "[v2,3/3] gamma");
        let text = pairs[1]["interdiff"].as_str().unwrap();
        assert!(text.starts_with("--- v2/03\n+++ v3/02\n"), "{text}");
        assert!(text.contains("\n-+c2\n++c3\n"), "{text}");
        assert_eq!(ids(&d["added"]), Vec::<i64>::new());
        assert_eq!(d["dropped"][0]["name"], "[v2,2/3] beta");

        // Against v1, named: gamma is added.
        let (_, d) = get(
            r,
            &format!("/api/1.5/series/{s3}/interdiff/?against={s1}"),
            None,
        )
        .await;
        assert_eq!(d["against"]["id"], s1);
        assert_eq!(d["added"][0]["name"], "[v3,2/2] gamma");

        // Errors: no previous version, a bad or unknown `against`.
        for (url, field) in [
            (format!("/api/1.5/series/{s1}/interdiff/"), "against"),
            (
                format!("/api/1.5/series/{s3}/interdiff/?against=x"),
                "against",
            ),
            (
                format!("/api/1.5/series/{s3}/interdiff/?against=999999"),
                "against",
            ),
        ] {
            let (status, body) = get(r, &url, None).await;
            assert_eq!(status, 400, "{url}: {body}");
            assert!(body[field].is_array(), "{url}: {body}");
        }
        let (status, _) = get(r, "/api/1.5/series/999999/interdiff/", None).await;
        assert_eq!(status, 404);

        // The pages: the series page lists the versions and links the
        // interdiff; the interdiff page shows the pairs and what was
        // dropped; a patch page lists the patch's versions.
        let page = |url: String| async move { send_page(r, "GET", &url, "", None, None).await };
        let series_page = page(format!("/project/proj/list/?series={s2}")).await;
        assert_eq!(series_page.status, 200);
        assert!(series_page.body.contains(r#"id="series-versions""#));
        let interdiff_url = format!("/project/proj/series/{s2}/interdiff/");
        assert!(
            series_page.body.contains(&interdiff_url),
            "links the interdiff"
        );
        let diff_page = page(format!("/project/proj/series/{s3}/interdiff/")).await;
        assert_eq!(diff_page.status, 200);
        assert!(diff_page.body.contains("the feature: v3 against v2"));
        assert!(diff_page.body.contains(r#"id="interdiff-dropped""#));
        assert!(diff_page.body.contains("[v2,2/3] beta"));
        assert!(
            diff_page
                .body
                .contains(r#"<span class="diff-add">++c3</span>"#),
            "{}",
            diff_page.body
        );
        assert!(diff_page.body.contains("No change."));
        let refused = page(format!("/project/proj/series/{s1}/interdiff/")).await;
        assert!(refused.body.contains(r#"id="interdiff-refusal""#));
        assert_eq!(
            page("/project/proj/series/999999/interdiff/".into())
                .await
                .status,
            404
        );
        let patch_page = page("/project/proj/patch/ver2-1@example.org/".into()).await;
        assert_eq!(patch_page.status, 200);
        assert!(patch_page.body.contains(r#"id="patch-versions""#));
        assert!(
            patch_page
                .body
                .contains("/project/proj/patch/ver1-1@example.org/")
        );
    }
}
