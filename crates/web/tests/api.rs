//! The REST API in-process, on SQLite and PostgreSQL: the seed round trip
//! against upstream's JSON, version gating, pagination links, filters,
//! downloads, and who may write what.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use patchtrack_store::{IngestOptions, NewProject, NewUser, Store};
use serde_json::Value;
use tower::ServiceExt;

struct Site {
    store: Store,
    router: axum::Router,
}

impl Site {
    fn new(store: Store) -> Site {
        Site::in_zone(store, patchtrack_store::time::SiteZone::utc())
    }

    /// A site showing event and check dates in `zone`, as one moved from
    /// Patchwork does.
    fn in_zone(store: Store, zone: patchtrack_store::time::SiteZone) -> Site {
        let router = patchtrack_web::router(patchtrack_web::App {
            store: store.clone(),
            base_url: None,
            logins: Default::default(),
            xmlrpc: true,
            zone,
            events: Default::default(),
            metrics: Default::default(),
        });
        Site { store, router }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        auth: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "patchwork.example.org");
        if let Some(token) = auth {
            req = req.header("authorization", format!("Token {token}"));
        }
        let req = match body {
            Some((ct, b)) => req
                .header("content-type", ct)
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn json(&self, uri: &str, auth: Option<&str>) -> Value {
        let (status, _, body) = self.call("GET", uri, auth, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn ingest(&self, mbox: &str, listid: &str) {
        let data = std::fs::read(common::testdata().join(mbox)).unwrap();
        for mail in common::mbox(&data) {
            self.store
                .ingest(
                    &mail,
                    &IngestOptions {
                        list_id: Some(listid.into()),
                    },
                )
                .await
                .unwrap();
        }
    }

    async fn user(&self, name: &str, maintainer_of: &[&str]) -> String {
        self.store
            .add_user(&NewUser {
                username: name.into(),
                email: format!("{name}@example.org"),
                password: Some("secret".into()),
                superuser: name == "admin",
                maintainer_of: maintainer_of.iter().map(|s| s.to_string()).collect(),
            })
            .await
            .unwrap();
        self.store.create_token(name).await.unwrap()
    }
}

/// Replaces the ids and host of upstream's JSON with ours, recursively
/// comparing everything else exactly.
fn same_but_ids(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: Vec<&String> = g.keys().collect();
            let wk: Vec<&String> = w.keys().collect();
            assert_eq!(gk, wk, "keys of {path}");
            for (k, v) in w {
                same_but_ids(&g[k], v, &format!("{path}.{k}"));
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "length of {path}");
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                same_but_ids(a, b, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(_), Value::Number(_)) if path.ends_with(".id") => {}
        (Value::String(g), Value::String(w)) if g.starts_with("http") => {
            // Same URL shape: host, ids and ?format=api aside.
            let shape = |s: &str| {
                let s = s.split("://").nth(1).unwrap_or(s);
                let s = s.split_once('/').map_or("", |(_, p)| p);
                let s = s.trim_end_matches("?format=api");
                s.split('/')
                    .map(|seg| {
                        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
                            "N".to_string()
                        } else {
                            seg.replace(|c: char| c.is_ascii_digit(), "N")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            };
            if path.ends_with("web_url") && g.contains("?series=") {
                assert_eq!(
                    g.split('?').next(),
                    w.split("://").nth(1).and_then(|_| g.split('?').next())
                );
            } else {
                assert_eq!(shape(g), shape(w), "{path}");
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

#[tokio::test]
async fn seed_patch_round_trips() {
    for store in common::stores().await {
        let site = Site::new(store);
        site.store
            .add_project(&NewProject {
                linkname: "qemu-devel".into(),
                name: "QEMU Development".into(),
                listid: "qemu-devel.nongnu.org".into(),
                listemail: "qemu-devel@nongnu.org".into(),
                ..NewProject::default()
            })
            .await
            .unwrap();
        let raw = std::fs::read(common::testdata().join("seed/seed-qemu-patch.mbox")).unwrap();
        let outcome = site
            .store
            .ingest(&raw, &IngestOptions::default())
            .await
            .unwrap();
        let patchtrack_store::Outcome::Patch { id } = outcome else {
            panic!("seed not stored as a patch: {outcome:?}");
        };
        let want: Value = serde_json::from_slice(
            &std::fs::read(common::testdata().join("seed/seed-qemu-patch.api.json")).unwrap(),
        )
        .unwrap();
        let got = site.json(&format!("/api/patches/{id}/"), None).await;
        same_but_ids(&got, &want, "patch");
        assert_eq!(
            got["url"],
            format!("http://patchwork.example.org/api/patches/{id}/")
        );
        // An Accept header naming nothing we render is a 406.
        let req = Request::builder()
            .uri(format!("/api/patches/{id}/"))
            .header("accept", "application/xml")
            .body(Body::empty())
            .unwrap();
        let resp = site.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
        // The browsable form answers too.
        let (status, headers, body) = site
            .call("GET", &format!("/api/patches/{id}/?format=api"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(body.contains("57b141dc83ac7b781189e8ef5fb178abb9aa880a"));
        assert!(body.contains("?format=api"), "links carry the format");
    }
}

#[tokio::test]
async fn versions_pages_and_filters() {
    for store in common::stores().await {
        let site = Site::new(store);
        common::project(&site.store, "proj", "proj.example.org").await;
        site.ingest(
            "patchwork/series/base-cover-letter.mbox",
            "proj.example.org",
        )
        .await;
        let all = site.json("/api/patches/", None).await;
        let n = all.as_array().unwrap().len();
        assert!(n >= 2, "{all}");
        // 1.0 has no web_url or comments; 1.1 has; related from 1.2.
        let v10 = site.json("/api/1.0/patches/", None).await;
        assert!(v10[0].get("web_url").is_none() && v10[0].get("comments").is_none());
        assert!(
            v10[0]["url"]
                .as_str()
                .unwrap()
                .contains("/api/1.0/patches/")
        );
        let v11 = site.json("/api/1.1/patches/", None).await;
        assert!(v11[0].get("web_url").is_some() && v11[0].get("related").is_none());
        assert!(
            v11[0]["comments"]
                .as_str()
                .unwrap()
                .starts_with("http://patchwork.example.org/api/patches/")
        );
        // Routes by version.
        assert_eq!(
            site.call("GET", "/api/9.9/", None, None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            site.call("GET", "/api/1.0/patches/1/comments/", None, None)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        // Pagination: Link entries in order, first and last always there.
        let (status, headers, _) = site
            .call("GET", "/api/patches/?per_page=1&page=2", None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let link = headers["link"].to_str().unwrap();
        let base = "http://patchwork.example.org/api/patches/";
        let mut expected = Vec::new();
        if n > 2 {
            expected.push(format!("<{base}?page=3&per_page=1>; rel=\"next\""));
        }
        expected.push(format!("<{base}?per_page=1>; rel=\"prev\""));
        expected.push(format!("<{base}?page=1&per_page=1>; rel=\"first\""));
        expected.push(format!("<{base}?page={n}&per_page=1>; rel=\"last\""));
        assert_eq!(link, expected.join(", "));
        let (status, _, body) = site.call("GET", "/api/patches/?page=99", None, None).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::NOT_FOUND, "{\"detail\":\"Invalid page.\"}")
        );
        // Unknown filter values give an empty list; no slash works too.
        for q in [
            "project=nope",
            "state=bogus",
            "since=garbage",
            "project=proj&project=nope",
            "submitter=",
        ] {
            let v = site.json(&format!("/api/patches?{q}"), None).await;
            assert_eq!(v, Value::Array(vec![]), "{q}");
        }
        let everything = site.json("/api/patches/?project=", None).await;
        assert_eq!(
            everything.as_array().unwrap().len(),
            n,
            "empty project means all"
        );
        let by_state = site
            .json(
                "/api/patches/?state=new&state=under-review&project=PROJ",
                None,
            )
            .await;
        assert_eq!(by_state.as_array().unwrap().len(), n);
        let hash = all[0]["hash"].as_str().unwrap().to_uppercase();
        let by_hash = site.json(&format!("/api/patches/?hash={hash}"), None).await;
        assert_eq!(by_hash[0]["id"], all[0]["id"]);
        let ignored = site.json("/api/1.1/patches/?hash=garbage", None).await;
        assert_eq!(ignored.as_array().unwrap().len(), n);
        let msgid = all[0]["msgid"]
            .as_str()
            .unwrap()
            .trim_matches(['<', '>'])
            .to_string();
        let by_msgid = site
            .json(&format!("/api/patches/?msgid={msgid}"), None)
            .await;
        assert_eq!(by_msgid.as_array().unwrap().len(), 1);
        // Series with cover letter and patches by date; events newest first.
        let series = site.json("/api/series/", None).await;
        assert_eq!(series[0]["received_all"], true);
        assert!(
            series[0]["cover_letter"]["mbox"]
                .as_str()
                .unwrap()
                .ends_with("/mbox/")
        );
        let events = site.json("/api/events/?order=date", None).await;
        assert_eq!(events[0]["category"], "series-created");
        assert_eq!(events[1]["category"], "cover-created");
        // People and users need authentication.
        let (status, _, body) = site.call("GET", "/api/people/", None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            site.call("GET", "/api/people/", Some("bad"), None).await.0,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn who_may_write() {
    for store in common::stores().await {
        let site = Site::new(store);
        common::project(&site.store, "proj", "proj.example.org").await;
        site.ingest(
            "patchwork/series/base-cover-letter.mbox",
            "proj.example.org",
        )
        .await;
        let patch = site.json("/api/patches/", None).await[0].clone();
        let id = patch["id"].as_i64().unwrap();
        let submitter = patch["submitter"]["email"].as_str().unwrap().to_string();
        let maintainer = site.user("maint", &["proj"]).await;
        let other = site.user("other", &[]).await;
        let admin = site.user("admin", &[]).await;
        let delegate = site.user("deleg", &["proj"]).await;
        // The submitter gets an account with their address.
        site.store
            .add_user(&NewUser {
                username: "author".into(),
                email: submitter.clone(),
                password: None,
                superuser: false,
                maintainer_of: vec![],
            })
            .await
            .unwrap();
        let author = site.store.create_token("author").await.unwrap();
        let form = "application/x-www-form-urlencoded";
        let url = format!("/api/1.2/patches/{id}/");
        let patch_as = |token: Option<String>, body: String| {
            let url = url.clone();
            let site = &site;
            async move {
                site.call("PATCH", &url, token.as_deref(), Some((form, body.as_str())))
                    .await
            }
        };
        // Anonymous, a stranger and a superuser who maintains nothing: 403.
        for token in [None, Some(other.clone()), Some(admin.clone())] {
            let (status, _, body) = patch_as(token, "state=accepted".into()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        }
        // The maintainer delegates (to a maintainer only).
        let deleg_id = site.json("/api/users/?q=deleg", Some(&maintainer)).await[0]["id"].clone();
        let other_id = site.json("/api/users/?q=other", Some(&maintainer)).await[0]["id"].clone();
        let (status, _, body) =
            patch_as(Some(maintainer.clone()), format!("delegate={other_id}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            "{\"delegate\":[\"User 'other' is not a maintainer for project 'proj'\"]}"
        );
        let (status, _, body) = patch_as(
            Some(maintainer.clone()),
            format!("delegate={deleg_id}&state=Under Review&archived=True"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (
                v["state"].as_str(),
                v["archived"].as_bool(),
                v["delegate"]["username"].as_str()
            ),
            (Some("under-review"), Some(true), Some("deleg"))
        );
        // The delegate and the submitter may edit too.
        assert_eq!(
            patch_as(Some(delegate.clone()), "state=accepted".into())
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            patch_as(Some(author.clone()), "commit_ref=abc123".into())
                .await
                .0,
            StatusCode::OK
        );
        let (status, _, body) = patch_as(Some(maintainer.clone()), "state=bogus".into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("Expected one of: new, under-review, accepted"),
            "{body}"
        );
        // JSON null clears the delegate.
        let (status, _, body) = site
            .call(
                "PATCH",
                &url,
                Some(&maintainer),
                Some(("application/json", "{\"delegate\":null}")),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["delegate"],
            Value::Null
        );
        // Events recorded the changes with their actor.
        let events = site
            .json("/api/events/?category=patch-state-changed", None)
            .await;
        assert_eq!(events[0]["payload"]["current_state"], "accepted");
        assert_eq!(events[0]["actor"]["username"], "deleg");
        // Checks: 201 for the maintainer, 403 for a stranger.
        let check =
            "{\"state\":\"success\",\"context\":\"ci-build\",\"target_url\":\"http://ci/1\"}";
        let checks = format!("/api/patches/{id}/checks/");
        let (status, headers, _) = site
            .call(
                "POST",
                &checks,
                Some(&maintainer),
                Some(("application/json", check)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert!(headers.contains_key("location"));
        assert_eq!(
            site.call(
                "POST",
                &checks,
                Some(&other),
                Some(("application/json", check))
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            site.call("POST", &checks, None, Some(("application/json", check)))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        let (status, _, body) = site
            .call(
                "POST",
                &checks,
                Some(&maintainer),
                Some(("application/json", "{\"state\":\"bogus\"}")),
            )
            .await;
        assert_eq!(
            (status, body.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "{\"state\":[\"\\\"bogus\\\" is not a valid choice.\"]}"
            )
        );
        assert_eq!(
            site.json(&format!("/api/patches/{id}/"), None).await["check"],
            "success"
        );
        // Projects: maintainers only.
        let proj = "/api/projects/proj/";
        let body = Some((form, "web_url=https://example.org"));
        assert_eq!(
            site.call("PATCH", proj, Some(&other), body).await.0,
            StatusCode::FORBIDDEN
        );
        let (status, _, body) = site.call("PATCH", proj, Some(&maintainer), body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["web_url"],
            "https://example.org"
        );
        // Bundles: 1.2+, owner only; private ones hidden from others.
        let bundle = format!("name=mine&patches={id}&public=False");
        assert_eq!(
            site.call(
                "POST",
                "/api/1.1/bundles/",
                Some(&other),
                Some((form, &bundle))
            )
            .await
            .0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        let (status, _, body) = site
            .call(
                "POST",
                "/api/1.2/bundles/",
                Some(&other),
                Some((form, &bundle)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let b: Value = serde_json::from_str(&body).unwrap();
        let burl = format!("/api/1.2/bundles/{}/", b["id"]);
        assert_eq!(
            site.call("GET", &burl, Some(&maintainer), None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            site.call("DELETE", &burl, Some(&maintainer), None).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, _, body) = site
            .call(
                "POST",
                "/api/1.2/bundles/",
                Some(&other),
                Some((form, &bundle)),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            site.call("DELETE", &burl, Some(&other), None).await.0,
            StatusCode::NO_CONTENT
        );
        // POST on a read-only resource.
        let (status, _, body) = site
            .call("POST", "/api/patches/", Some(&maintainer), None)
            .await;
        assert_eq!(
            (status, body.as_str()),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "{\"detail\":\"Method \\\"POST\\\" not allowed.\"}"
            )
        );
    }
}

#[tokio::test]
async fn downloads() {
    for store in common::stores().await {
        let site = Site::new(store);
        common::project(&site.store, "proj", "proj.example.org").await;
        site.ingest(
            "patchwork/series/base-cover-letter.mbox",
            "proj.example.org",
        )
        .await;
        let patches = site.json("/api/patches/?order=-id", None).await;
        let last = &patches[0];
        let mbox = last["mbox"]
            .as_str()
            .unwrap()
            .replace("http://patchwork.example.org", "");
        let (status, headers, body) = site.call("GET", &mbox, None, None).await;
        assert_eq!(status, StatusCode::OK);
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=") && disposition.ends_with(".patch"),
            "{disposition}"
        );
        assert!(body.starts_with("From patchwork "));
        assert!(body.contains(&format!("X-Patchwork-Id: {}\n", last["id"])));
        assert_eq!(body.matches("\nFrom patchwork ").count(), 0);
        let (_, _, with_series) = site
            .call("GET", &format!("{mbox}?series=*"), None, None)
            .await;
        assert_eq!(
            with_series.matches("From patchwork ").count(),
            patches.as_array().unwrap().len()
        );
        assert_eq!(
            site.call("GET", &format!("{mbox}?series=999"), None, None)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let raw = mbox.replace("/mbox/", "/raw/");
        let (status, headers, body) = site.call("GET", &raw, None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/x-patch");
        assert!(
            body.starts_with("diff ") || body.starts_with("---"),
            "{body}"
        );
        let series = last["series"][0]["mbox"]
            .as_str()
            .unwrap()
            .replace("http://patchwork.example.org", "");
        let (status, _, body) = site.call("GET", &series, None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body.matches("From patchwork ").count(),
            patches.as_array().unwrap().len()
        );
        let (status, headers, _) = site
            .call("GET", &format!("/patch/{}/mbox/", last["id"]), None, None)
            .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(headers["location"].to_str().unwrap(), mbox);
        let (status, _, body) = site
            .call("GET", "/project/proj/pwclientrc/", None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("url = http://patchwork.example.org/api/"));
        // Every web_url answers.
        let web = last["web_url"]
            .as_str()
            .unwrap()
            .replace("http://patchwork.example.org", "");
        assert_eq!(site.call("GET", &web, None, None).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn sessions_need_the_csrf_token_to_write() {
    for store in common::stores().await {
        let site = Site::new(store);
        common::project(&site.store, "proj", "proj.example.org").await;
        site.ingest(
            "patchwork/series/base-cover-letter.mbox",
            "proj.example.org",
        )
        .await;
        site.user("maint", &["proj"]).await;
        let uid = site
            .store
            .user_by_username("maint")
            .await
            .unwrap()
            .unwrap()
            .user
            .id;
        let (sid, csrf) = site.store.create_session(uid).await.unwrap();
        let request = |method: &str, uri: &str, csrf: Option<&str>, cookie: &str| {
            let mut req = Request::builder()
                .method(method)
                .uri(uri)
                .header("host", "pw.example.org")
                .header("cookie", format!("theme=dark; sessionid={cookie}"))
                .header("content-type", "application/json");
            if let Some(t) = csrf {
                req = req.header("x-csrftoken", t);
            }
            req.body(Body::from(if method == "GET" {
                ""
            } else {
                "{\"state\":\"rfc\"}"
            }))
            .unwrap()
        };
        let send = |req: Request<Body>| async {
            let resp = site.router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        };
        assert_eq!(
            send(request("GET", "/api/users/", None, &sid)).await.0,
            StatusCode::OK
        );
        let (status, body) = send(request("PATCH", "/api/patches/1/", None, &sid)).await;
        assert_eq!(
            (status, body.as_str()),
            (
                StatusCode::FORBIDDEN,
                "{\"detail\":\"CSRF Failed: CSRF token missing.\"}"
            )
        );
        let (status, body) = send(request("PATCH", "/api/patches/1/", Some("nope"), &sid)).await;
        assert_eq!(
            (status, body.as_str()),
            (
                StatusCode::FORBIDDEN,
                "{\"detail\":\"CSRF Failed: CSRF token incorrect.\"}"
            )
        );
        let (status, body) = send(request("PATCH", "/api/patches/1/", Some(&csrf), &sid)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("\"state\":\"rfc\""));
        // A stale or unknown session is no session at all.
        assert_eq!(
            send(request("GET", "/api/users/", None, "unknown")).await.0,
            StatusCode::FORBIDDEN
        );
        site.store.delete_session(&sid).await.unwrap();
        assert_eq!(
            send(request("GET", "/api/users/", None, &sid)).await.0,
            StatusCode::FORBIDDEN
        );
    }
}

/// A one-line patch mail to `listid`.
fn patch_mail(msgid: &str, listid: &str) -> String {
    format!(
        "From: Sub Mitter <sub@example.org>\nSubject: [PATCH] {msgid}: change\n\
         Message-Id: <{msgid}@example.org>\nList-Id: <{listid}>\n\
         Date: Mon, 3 Feb 2020 04:05:06 +0000\n\nChange.\n---\n\
         diff --git a/{msgid} b/{msgid}\n--- a/{msgid}\n+++ b/{msgid}\n@@ -1 +1 @@\n-a\n+b\n"
    )
}

/// Every refusal the store makes, as the client reads it: status and the
/// exact body Patchwork sends.
#[tokio::test]
async fn refusals_read_as_upstream() {
    for store in common::stores().await {
        let site = Site::new(store);
        common::project(&site.store, "proj", "proj.example.org").await;
        common::project(&site.store, "far", "far.example.org").await;
        let mut ids = Vec::new();
        for (msgid, listid) in [
            ("a", "proj.example.org"),
            ("b", "proj.example.org"),
            ("c", "proj.example.org"),
            ("d", "proj.example.org"),
            ("f", "far.example.org"),
        ] {
            let opts = IngestOptions {
                list_id: Some(listid.into()),
            };
            let mail = patch_mail(msgid, listid);
            match site.store.ingest(mail.as_bytes(), &opts).await.unwrap() {
                patchtrack_store::Outcome::Patch { id } => ids.push(id),
                other => panic!("{other:?}"),
            }
        }
        let [a, b, c, d, f] = ids[..] else {
            panic!("{ids:?}")
        };
        let maint = site.user("maint", &["proj"]).await;
        let json = "application/json";
        let send = |method: &'static str, url: String, body: String| {
            let site = &site;
            let maint = maint.clone();
            async move {
                let (status, _, body) = site
                    .call(method, &url, Some(&maint), Some((json, body.as_str())))
                    .await;
                (status.as_u16(), body)
            }
        };
        let patch =
            |id: i64, body: &str| send("PATCH", format!("/api/1.2/patches/{id}/"), body.into());
        let bundle = |body: String| send("POST", "/api/1.2/bundles/".into(), body);

        assert_eq!(
            patch(a, r#"{"state":"bogus"}"#).await,
            (
                400,
                "{\"state\":[\"Invalid state bogus. Expected one of: new, under-review, \
                 accepted, rejected, rfc, not-applicable, changes-requested, \
                 awaiting-upstream, superseded, deferred.\"]}"
                    .into()
            )
        );
        assert_eq!(
            patch(a, r#"{"delegate":999999}"#).await,
            (
                400,
                r#"{"delegate":["Invalid pk \"999999\" - object does not exist."]}"#.into()
            )
        );
        assert_eq!(
            patch(a, r#"{"related":[999999]}"#).await,
            (
                400,
                r#"{"related":["Invalid pk \"999999\" - object does not exist."]}"#.into()
            )
        );
        assert_eq!(
            patch(a, &format!(r#"{{"related":[{f}]}}"#)).await,
            (
                403,
                r#"{"detail":"At least one patch is part of a project you are not maintaining."}"#
                    .into()
            )
        );
        assert_eq!(patch(a, &format!(r#"{{"related":[{b}]}}"#)).await.0, 200);
        assert_eq!(patch(c, &format!(r#"{{"related":[{d}]}}"#)).await.0, 200);
        assert_eq!(
            patch(a, &format!(r#"{{"related":[{c}]}}"#)).await,
            (
                409,
                "{\"detail\":\"At least one patch is already part of another relation. You have \
                 to explicitly remove a patch from its existing relation before moving it to \
                 this one.\"}"
                    .into()
            )
        );

        let field = |name: &str, message: &str| {
            (
                400,
                format!("{{\"{name}\":[{}]}}", Value::String(message.into())),
            )
        };
        assert_eq!(
            bundle(r#"{"name":"x","patches":[]}"#.into()).await,
            field("patches", "Bundles cannot be empty")
        );
        assert_eq!(
            bundle(r#"{"name":"x","patches":[999999]}"#.into()).await,
            field("patches", "Invalid pk \"999999\" - object does not exist.")
        );
        assert_eq!(
            bundle(format!(r#"{{"name":"x","patches":[{a},{f}]}}"#)).await,
            field("patches", "Bundle patches must belong to the same project")
        );
        assert_eq!(
            bundle(format!(r#"{{"name":"  ","patches":[{a}]}}"#)).await,
            field("name", "This field may not be blank.")
        );
        assert_eq!(
            bundle(format!(
                r#"{{"name":"{}","patches":[{a}]}}"#,
                "n".repeat(51)
            ))
            .await,
            field("name", "Ensure this field has no more than 50 characters.")
        );
        assert_eq!(
            bundle(format!(
                r#"{{"name":"{}","patches":[{a}]}}"#,
                "n".repeat(50)
            ))
            .await
            .0,
            201
        );
        assert_eq!(
            bundle(format!(
                r#"{{"name":"{}","patches":[{b}]}}"#,
                "n".repeat(50)
            ))
            .await,
            field("name", "A bundle with this name already exists.")
        );
    }
}

/// A site moved from Patchwork shows event and check dates in its old
/// TIME_ZONE, naive, and reads `since`/`before` in it; mail dates stay UTC.
#[tokio::test]
async fn activity_dates_in_the_site_zone() {
    use patchtrack_store::time::{SiteZone, iso, parse_iso};
    for store in common::stores().await {
        let canberra = SiteZone::named("Australia/Canberra").unwrap();
        let site = Site::in_zone(store, canberra.clone());
        common::project(&site.store, "proj", "proj.example.org").await;
        site.ingest(
            "patchwork/series/base-single-patch.mbox",
            "proj.example.org",
        )
        .await;
        let maintainer = site.user("maint", &["proj"]).await;
        let patch = site.json("/api/patches/", None).await[0].clone();
        let id = patch["id"].as_i64().unwrap();
        let check = "{\"state\":\"success\",\"context\":\"ci\",\"target_url\":\"http://ci/1\",\"description\":\"ok\"}";
        let before = patchtrack_store::time::now();
        let (status, _, body) = site
            .call(
                "POST",
                &format!("/api/patches/{id}/checks/"),
                Some(&maintainer),
                Some(("application/json", check)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let created: Value = serde_json::from_str(&body).unwrap();
        let shown = created["date"].as_str().unwrap();
        // The shown date is the local time in Canberra (UTC+10 or +11),
        // not UTC: read back in the zone it is the instant of the post.
        let instant = canberra.parse_iso(shown).unwrap();
        assert!(instant >= before - 1_000_000 && instant <= patchtrack_store::time::now());
        let offset = parse_iso(shown).unwrap() - instant;
        assert!(
            offset == 10 * 3_600_000_000 || offset == 11 * 3_600_000_000,
            "{shown} is {offset} µs off UTC"
        );
        // Mail dates are not shifted.
        let mail = site.json(&format!("/api/patches/{id}/"), None).await;
        assert_eq!(mail["date"], patch["date"]);
        let stored = site.store.patch(id).await.unwrap().unwrap();
        assert_eq!(mail["date"], iso(stored.date));
        // `since` in the zone: the check's own date finds it, and so does
        // its event; read as UTC it would lie hours ahead and find nothing.
        let listed = site
            .json(&format!("/api/patches/{id}/checks/?since={shown}"), None)
            .await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let events = site
            .json(
                &format!("/api/events/?category=check-created&since={shown}"),
                None,
            )
            .await;
        assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
        assert_eq!(events[0]["date"], shown);
        assert_eq!(events[0]["payload"]["check"]["date"], shown);
        let none = site
            .json(
                &format!("/api/events/?category=check-created&before={shown}"),
                None,
            )
            .await;
        assert_eq!(none, serde_json::json!([]));
        // XML-RPC shows the same local time, Python's way.
        let call = "<?xml version=\"1.0\"?><methodCall><methodName>check_list</methodName>\
                    <params><param><value><struct></struct></value></param></params></methodCall>";
        let (status, _, body) = site
            .call("POST", "/xmlrpc/", None, Some(("text/xml", call)))
            .await;
        assert_eq!(status, StatusCode::OK);
        let python = shown.replacen('T', " ", 1);
        let encoded = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            python.as_bytes(),
        );
        assert!(body.contains(&encoded), "{body}");
    }
}
