//! What the API and page tests share: a small project with a cover letter, a
//! delegated patch with a review, an unrelated patch, a reply to the
//! cover, and one user per role, each with a token.

#![allow(dead_code)] // each test binary uses part of it

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patchtrack_store::{IngestOptions, NewUser, Outcome, Store};
use tower::ServiceExt;

use super::common;

pub const COVER: &str = "From: Sub Mitter <sub@example.org>\n\
Subject: [PATCH 0/1] A series\n\
Message-Id: <cover@example.org>\n\
Date: Mon, 3 Feb 2020 04:05:06 +0000\n\
\n\
This series does things.\n";

pub const PATCH: &str = "From: Sub Mitter <sub@example.org>\n\
Subject: [PATCH 1/1] file: change a line\n\
Message-Id: <patch@example.org>\n\
In-Reply-To: <cover@example.org>\n\
References: <cover@example.org>\n\
X-Patchwork-Delegate: deleg@example.org\n\
Date: Mon, 3 Feb 2020 04:05:07 +0000\n\
\n\
Change a line.\n\
\n\
Signed-off-by: Sub Mitter <sub@example.org>\n\
---\n\
diff --git a/f b/f\n\
--- a/f\n\
+++ b/f\n\
@@ -1 +1 @@\n\
-a\n\
+b\n";

pub const PATCH2: &str = "From: Else Where <else@example.org>\n\
Subject: [PATCH] other: unrelated\n\
Message-Id: <patch2@example.org>\n\
Date: Mon, 3 Feb 2020 05:05:07 +0000\n\
\n\
Another change.\n\
---\n\
diff --git a/g b/g\n\
--- a/g\n\
+++ b/g\n\
@@ -1 +1 @@\n\
-a\n\
+b\n";

pub fn reply(to: &str, id: &str) -> String {
    format!(
        "From: Re Viewer <rev@example.org>\nSubject: Re: something\nMessage-Id: <{id}@example.org>\n\
         In-Reply-To: <{to}@example.org>\nReferences: <{to}@example.org>\n\
         Date: Mon, 3 Feb 2020 06:05:06 +0000\n\nLooks good.\n\nReviewed-by: Re Viewer <rev@example.org>\n"
    )
}

/// The actors, in column order.
pub const ACTORS: [&str; 6] = [
    "anonymous",
    "other",
    "submitter",
    "delegate",
    "maintainer",
    "superuser",
];

pub struct Fixture {
    pub router: axum::Router,
    pub tokens: Vec<Option<String>>,
    pub patch: i64,
    pub patch2: i64,
    pub cover: i64,
    pub patch_comment: i64,
    pub cover_comment: i64,
}

pub async fn fixture(store: Store) -> Fixture {
    common::project(&store, "proj", "proj.example.org").await;
    let mut tokens = vec![None];
    for (name, email, maintains, superuser) in [
        ("other", "other@example.org", false, false),
        ("submitter", "sub@example.org", false, false),
        ("deleg", "deleg@example.org", false, false),
        ("maint", "maint@example.org", true, false),
        ("admin", "admin@example.org", false, true),
    ] {
        store
            .add_user(&NewUser {
                username: name.into(),
                email: email.into(),
                password: None,
                superuser,
                maintainer_of: if maintains {
                    vec!["proj".into()]
                } else {
                    vec![]
                },
            })
            .await
            .unwrap();
        tokens.push(Some(store.create_token(name).await.unwrap()));
    }
    let opts = IngestOptions {
        list_id: Some("proj.example.org".into()),
    };
    let mut ids = Vec::new();
    for mail in [
        COVER.to_string(),
        PATCH.to_string(),
        PATCH2.to_string(),
        reply("patch", "r1"),
        reply("cover", "r2"),
    ] {
        let id = match store.ingest(mail.as_bytes(), &opts).await.unwrap() {
            Outcome::Patch { id } | Outcome::Cover { id } => id,
            Outcome::PatchComment { id, .. } | Outcome::CoverComment { id, .. } => id,
            other => panic!("{other:?}"),
        };
        ids.push(id);
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
    Fixture {
        router,
        tokens,
        cover: ids[0],
        patch: ids[1],
        patch2: ids[2],
        patch_comment: ids[3],
        cover_comment: ids[4],
    }
}

/// Any request: status and parsed body (a non-JSON body becomes a string).
pub async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    authorization: Option<String>,
    content_type: &str,
    body: String,
) -> (u16, serde_json::Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "pw.example.org")
        .header("content-type", content_type);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

/// A JSON request with an API token; the status only.
pub async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    json: &str,
) -> u16 {
    let auth = token.map(|t| format!("Token {t}"));
    send(
        router,
        method,
        uri,
        auth,
        "application/json",
        json.to_string(),
    )
    .await
    .0
}

/// GET as JSON (status and parsed body; a non-JSON body becomes a string).
pub async fn get(
    router: &axum::Router,
    uri: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let auth = token.map(|t| format!("Token {t}"));
    send(router, "GET", uri, auth, "", String::new()).await
}

/// One response: status, `Location`, `Set-Cookie` values, body.
pub struct Reply {
    pub status: u16,
    pub location: String,
    pub cookies: Vec<String>,
    pub body: String,
}

/// A page request as a browser sends it: session cookie, form body,
/// `Origin`.
pub async fn send_page(
    router: &axum::Router,
    method: &str,
    uri: &str,
    cookie: &str,
    form: Option<&str>,
    origin: Option<&str>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "pw.example.org");
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let body = match form {
        Some(f) => {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            Body::from(f.to_string())
        }
        None => Body::empty(),
    };
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        location,
        cookies,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A logged-in browser: its cookie header and CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub async fn session(store: &Store, username: &str) -> Session {
    let user = store.user_by_username(username).await.unwrap().unwrap();
    let (id, csrf) = store.create_session(user.user.id).await.unwrap();
    Session {
        cookie: format!("sessionid={id}"),
        csrf,
    }
}
