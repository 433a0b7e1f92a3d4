//! The web pages on SQLite and PostgreSQL: every page renders; forms need
//! the CSRF token and a same-site origin; nobody changes what they may
//! not (per action); hostile mail renders as text.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use axum::body::Body;
use axum::http::Request;
use patchtrack_store::{IngestOptions, NewUser, Store};
use support::{send_page as send, session};
use tower::ServiceExt;

/// A project, one user with a password (address `NAME@example.org`), and
/// the site over them.
async fn site_with_user(store: &Store, username: &str, password: &str) -> axum::Router {
    common::project(store, "proj", "proj.example.org").await;
    store
        .add_user(&NewUser {
            username: username.into(),
            email: format!("{username}@example.org"),
            password: Some(password.into()),
            superuser: false,
            maintainer_of: vec![],
        })
        .await
        .unwrap();
    patchtrack_web::router(patchtrack_web::App {
        store: store.clone(),
        base_url: None,
        logins: Default::default(),
        xmlrpc: true,
        zone: patchtrack_store::time::SiteZone::utc(),
        events: Default::default(),
        metrics: Default::default(),
    })
}

async fn state_of(store: &Store, id: i64) -> String {
    store.patch(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn every_page_renders() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let maint = session(&store, "maint").await;
        // One project: the front page goes straight to its list.
        let front = send(r, "GET", "/", "", None, None).await;
        assert_eq!(
            (front.status, front.location.as_str()),
            (302, "/project/proj/list/")
        );
        let list = send(r, "GET", "/project/proj/list/", "", None, None).await;
        assert_eq!(list.status, 200);
        assert!(
            list.body.contains("[1/1] file: change a line"),
            "{}",
            list.body
        );
        assert!(list.body.contains("other: unrelated"));
        assert!(
            !list.body.contains("name=\"patch_id\""),
            "anonymous has no checkboxes"
        );
        // Filters: search, state (Accepted has none), sorting, a page past the end.
        let q = send(r, "GET", "/project/proj/list/?q=unrelated", "", None, None).await;
        assert!(q.body.contains("other: unrelated") && !q.body.contains("change a line"));
        let accepted = send(r, "GET", "/project/proj/list/?state=3", "", None, None).await;
        assert!(accepted.body.contains("id=\"no-patches\""));
        let sorted = send(
            r,
            "GET",
            "/project/proj/list/?order=-name&page=99",
            "",
            None,
            None,
        )
        .await;
        assert_eq!(sorted.status, 200);
        let (o, c) = (
            sorted.body.find("other: unrelated").unwrap(),
            sorted.body.find("file: change a line").unwrap(),
        );
        assert!(o < c, "names descending");
        let by_name = send(
            r,
            "GET",
            "/project/proj/list/?submitter=Else",
            "",
            None,
            None,
        )
        .await;
        assert!(
            by_name.body.contains("other: unrelated") && !by_name.body.contains("change a line")
        );
        // A person linked to an account stands for all its addresses.
        let other_address = "From: Sub Mitter <sub.mitter@work.example.org>\n\
Subject: [PATCH] work: from the other address\n\
Message-Id: <work@example.org>\n\
Date: Mon, 3 Feb 2020 08:05:07 +0000\n\
\n\
Work.\n\
---\n\
diff --git a/w b/w\n\
--- a/w\n\
+++ b/w\n\
@@ -1 +1 @@\n\
-a\n\
+b\n";
        let opts = IngestOptions {
            list_id: Some("proj.example.org".into()),
        };
        store.ingest(other_address.as_bytes(), &opts).await.unwrap();
        let sub = store.patch(f.patch).await.unwrap().unwrap().submitter.id;
        let by_id = format!("/project/proj/list/?submitter={sub}");
        let before = send(r, "GET", &by_id, "", None, None).await;
        assert!(
            before.body.contains("change a line")
                && !before.body.contains("from the other address")
        );
        store
            .execute_admin(
                "UPDATE person SET user_id = (SELECT user_id FROM person WHERE email_lower = 'sub@example.org') \
                 WHERE email_lower = 'sub.mitter@work.example.org'",
            )
            .await
            .unwrap();
        let after = send(r, "GET", &by_id, "", None, None).await;
        assert!(
            after.body.contains("change a line") && after.body.contains("from the other address")
        );
        // The delegate filter: the delegated patch only, or nobody's.
        let nobody = send(
            r,
            "GET",
            "/project/proj/list/?delegate=Nobody",
            "",
            None,
            None,
        )
        .await;
        assert!(nobody.body.contains("other: unrelated") && !nobody.body.contains("change a line"));
        // By delegate: nobody's first, on both engines.
        let by_delegate = send(
            r,
            "GET",
            "/project/proj/list/?order=delegate",
            "",
            None,
            None,
        )
        .await;
        assert_eq!(by_delegate.status, 200);
        let (nobody, deleg) = (
            by_delegate.body.find("other: unrelated").unwrap(),
            by_delegate.body.find("file: change a line").unwrap(),
        );
        assert!(nobody < deleg);
        // Logged in: checkboxes and the bulk form.
        let mine = send(r, "GET", "/project/proj/list/", &maint.cookie, None, None).await;
        assert!(mine.body.contains("name=\"patch_id\"") && mine.body.contains("id=\"bulk\""));
        assert!(mine.body.contains("<span id=\"nav-user\">maint</span>"));
        // The patch page: message, diff, comment, series, editing form.
        let page = send(
            r,
            "GET",
            "/project/proj/patch/patch@example.org/",
            &maint.cookie,
            None,
            None,
        )
        .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<span class=\"diff-add\">+b</span>"));
        assert!(
            page.body
                .contains("<span class=\"trailer\">Reviewed-by: Re Viewer")
        );
        assert!(page.body.contains("id=\"patch-update\""));
        assert!(page.body.contains("A series"), "series box");
        // Covers and patches redirect to each other's pages.
        let wrong = send(
            r,
            "GET",
            "/project/proj/patch/cover@example.org/",
            "",
            None,
            None,
        )
        .await;
        assert_eq!(
            (wrong.status, wrong.location.as_str()),
            (302, "/project/proj/cover/cover@example.org/")
        );
        let cover = send(
            r,
            "GET",
            "/project/proj/cover/cover@example.org/",
            "",
            None,
            None,
        )
        .await;
        assert!(cover.status == 200 && cover.body.contains("This series does things."));
        // The series page is the list narrowed to it.
        let sid = store
            .patch(f.patch)
            .await
            .unwrap()
            .unwrap()
            .series
            .unwrap()
            .id;
        let series = send(
            r,
            "GET",
            &format!("/project/proj/list/?series={sid}"),
            "",
            None,
            None,
        )
        .await;
        assert!(
            series.body.contains("id=\"series-name\"")
                && series.body.contains(&format!("/series/{sid}/mbox/"))
        );
        // About, settings (maintainer), profile, to-do (the delegate's).
        let about = send(r, "GET", "/project/proj/", "", None, None).await;
        assert!(about.status == 200 && about.body.contains("maint@example.org"));
        let settings = send(
            r,
            "GET",
            "/project/proj/settings/",
            &maint.cookie,
            None,
            None,
        )
        .await;
        assert_eq!(settings.status, 200);
        let profile = send(r, "GET", "/user/", &maint.cookie, None, None).await;
        assert!(profile.status == 200 && profile.body.contains("Maintainer of"));
        let deleg = session(&store, "deleg").await;
        let todo = send(r, "GET", "/user/todo/", &deleg.cookie, None, None).await;
        assert_eq!(
            (todo.status, todo.location.as_str()),
            (302, "/user/todo/proj/")
        );
        let todo = send(r, "GET", "/user/todo/proj/", &deleg.cookie, None, None).await;
        assert!(todo.body.contains("change a line") && !todo.body.contains("unrelated"));
        assert!(todo.body.contains("<span class=\"badge\">1</span>"));
        // Unknown things are 404 pages.
        for uri in [
            "/project/nope/list/",
            "/project/proj/patch/nope@x/",
            "/bundle/maint/nope/",
        ] {
            assert_eq!(
                send(r, "GET", uri, "", None, None).await.status,
                404,
                "{uri}"
            );
        }
    }
}

#[tokio::test]
async fn login_and_logout() {
    for store in common::stores().await {
        let r = site_with_user(&store, "alice", "s3cret").await;
        let form = send(&r, "GET", "/user/login/", "", None, None).await;
        let token_cookie = form
            .cookies
            .iter()
            .find(|c| c.starts_with("csrftoken="))
            .unwrap();
        let token = &token_cookie["csrftoken=".len()..token_cookie.find(';').unwrap()];
        assert!(form.body.contains(&format!("value=\"{token}\"")));
        let cookie = format!("csrftoken={token}");
        let login = |pw: &str, tok: &str| {
            format!(
                "csrfmiddlewaretoken={tok}&username=alice&password={pw}&next=/project/proj/list/"
            )
        };
        let missing = send(
            &r,
            "POST",
            "/user/login/",
            &cookie,
            Some("username=alice&password=s3cret"),
            None,
        )
        .await;
        assert_eq!(missing.status, 403);
        let bad = send(
            &r,
            "POST",
            "/user/login/",
            &cookie,
            Some(&login("nope", token)),
            None,
        )
        .await;
        assert!(bad.status == 200 && bad.body.contains("incorrect"));
        assert!(!bad.cookies.iter().any(|c| c.starts_with("sessionid=")));
        let good = send(
            &r,
            "POST",
            "/user/login/",
            &cookie,
            Some(&login("s3cret", token)),
            None,
        )
        .await;
        assert_eq!(
            (good.status, good.location.as_str()),
            (302, "/project/proj/list/")
        );
        let sid = good
            .cookies
            .iter()
            .find(|c| c.starts_with("sessionid="))
            .unwrap();
        assert!(sid.contains("HttpOnly") && sid.contains("SameSite=Lax"));
        let session_cookie = sid.split(';').next().unwrap().to_string();
        let me = send(&r, "GET", "/user/", &session_cookie, None, None).await;
        assert!(me.status == 200 && me.body.contains("<h1>alice</h1>"));
        // The session also authenticates the API, as upstream's does.
        let api = send(&r, "GET", "/api/users/", &session_cookie, None, None).await;
        assert_eq!(api.status, 200);
        let csrf = me
            .body
            .split("name=\"csrf-token\" content=\"")
            .nth(1)
            .unwrap()[..64]
            .to_string();
        let out = send(
            &r,
            "POST",
            "/user/logout/",
            &session_cookie,
            Some(&format!("csrfmiddlewaretoken={csrf}")),
            None,
        )
        .await;
        assert_eq!((out.status, out.location.as_str()), (302, "/"));
        let after = send(&r, "GET", "/user/", &session_cookie, None, None).await;
        assert_eq!(
            (after.status, after.location.as_str()),
            (302, "/user/login/?next=%2Fuser%2F")
        );
        // Never sent elsewhere after logging in.
        let evil = send(
            &r,
            "POST",
            "/user/login/",
            &cookie,
            Some(&format!(
                "csrfmiddlewaretoken={token}&username=alice&password=s3cret&next=//evil.example/"
            )),
            None,
        )
        .await;
        assert_eq!(evil.location, "/user/");
    }
}

/// The login form counts failures with the API's Basic authentication:
/// after ten wrong passwords the account pauses (429, `Retry-After`), and
/// the right password waits too.
#[tokio::test]
async fn the_login_form_is_throttled() {
    for store in common::stores().await {
        let r = site_with_user(&store, "alice", "s3cret").await;
        let form = send(&r, "GET", "/user/login/", "", None, None).await;
        let token_cookie = form
            .cookies
            .iter()
            .find(|c| c.starts_with("csrftoken="))
            .unwrap();
        let token = &token_cookie["csrftoken=".len()..token_cookie.find(';').unwrap()];
        let cookie = format!("csrftoken={token}");
        let login = |pw: &str| format!("csrfmiddlewaretoken={token}&username=alice&password={pw}");
        for _ in 0..patchtrack_web::throttle::PER_ACCOUNT {
            let bad = send(
                &r,
                "POST",
                "/user/login/",
                &cookie,
                Some(&login("nope")),
                None,
            )
            .await;
            assert!(bad.status == 200 && bad.body.contains("incorrect"));
        }
        let paused = send(
            &r,
            "POST",
            "/user/login/",
            &cookie,
            Some(&login("s3cret")),
            None,
        )
        .await;
        assert_eq!(paused.status, 429);
        assert!(
            paused.body.contains("Too many failed logins"),
            "{}",
            paused.body
        );
        assert!(!paused.cookies.iter().any(|c| c.starts_with("sessionid=")));
    }
}

#[tokio::test]
async fn forms_need_the_token_and_this_site() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let m = session(&store, "maint").await;
        let url = "/project/proj/patch/patch@example.org/";
        let update =
            |tok: &str| format!("csrfmiddlewaretoken={tok}&action=update&state=3&delegate=");
        let none = send(
            r,
            "POST",
            url,
            &m.cookie,
            Some("action=update&state=3"),
            None,
        )
        .await;
        assert_eq!(none.status, 403);
        let wrong = send(
            r,
            "POST",
            url,
            &m.cookie,
            Some(&update(&"0".repeat(64))),
            None,
        )
        .await;
        assert_eq!(wrong.status, 403);
        let other_site = send(
            r,
            "POST",
            url,
            &m.cookie,
            Some(&update(&m.csrf)),
            Some("https://evil.example"),
        )
        .await;
        assert_eq!(other_site.status, 403);
        assert_eq!(state_of(&store, f.patch).await, "new");
        let ok = send(
            r,
            "POST",
            url,
            &m.cookie,
            Some(&update(&m.csrf)),
            Some("http://pw.example.org"),
        )
        .await;
        assert_eq!((ok.status, ok.location.as_str()), (302, url));
        assert!(ok.cookies.iter().any(|c| c.starts_with("flash=Patch")));
        assert_eq!(state_of(&store, f.patch).await, "accepted");
        // The message shows once on the next page.
        let flash = ok.cookies.iter().find(|c| c.starts_with("flash=")).unwrap();
        let next = format!("{}; {}", m.cookie, flash.split(';').next().unwrap());
        let shown = send(r, "GET", url, &next, None, None).await;
        assert!(
            shown
                .body
                .contains("<ul id=\"messages\"><li>Patch updated</li></ul>")
        );
        assert!(
            shown
                .cookies
                .iter()
                .any(|c| c.starts_with("flash=; Max-Age=0"))
        );
        // Every other form checks the token too.
        for (uri, form) in [
            ("/project/proj/list/", "action=update&state=1&patch_id=1"),
            ("/project/proj/settings/", "web_url=x"),
            ("/user/", "action=generate"),
            ("/user/logout/", ""),
        ] {
            let refused = send(r, "POST", uri, &m.cookie, Some(form), None).await;
            assert_eq!(refused.status, 403, "{uri}");
        }
        // The refused "generate" left the maintainer's token working.
        let (status, _) = support::get(r, "/api/users/", f.tokens[4].as_deref()).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn only_those_allowed_change_anything() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let other = session(&store, "other").await;
        let maint = session(&store, "maint").await;
        let url = "/project/proj/patch/patch@example.org/";
        // The form is not even offered.
        let page = send(r, "GET", url, &other.cookie, None, None).await;
        assert!(!page.body.contains("id=\"patch-update\""));
        // Patch page update: 403, nothing changes.
        let form = format!(
            "csrfmiddlewaretoken={}&action=update&state=3&delegate=&archived=true",
            other.csrf
        );
        assert_eq!(
            send(r, "POST", url, &other.cookie, Some(&form), None)
                .await
                .status,
            403
        );
        // Bulk update: refused per patch, with the reason.
        let bulk = format!(
            "csrfmiddlewaretoken={}&action=update&state=3&delegate=*&archived=true&patch_id={}&patch_id={}",
            other.csrf, f.patch, f.patch2
        );
        let reply = send(
            r,
            "POST",
            "/project/proj/list/",
            &other.cookie,
            Some(&bulk),
            None,
        )
        .await;
        assert_eq!(reply.status, 302);
        let flash = reply
            .cookies
            .iter()
            .find(|c| c.starts_with("flash="))
            .unwrap();
        assert!(flash.contains("No%20patches%20updated"), "{flash}");
        for id in [f.patch, f.patch2] {
            let p = store.patch(id).await.unwrap().unwrap();
            assert_eq!((p.state.as_str(), p.archived), ("new", false));
        }
        // Marking a comment addressed: not theirs, not their patch.
        let mark = |tok: &str| {
            format!(
                "csrfmiddlewaretoken={tok}&action=address&comment_id={}&addressed=true",
                f.patch_comment
            )
        };
        assert_eq!(
            send(
                r,
                "POST",
                url,
                &other.cookie,
                Some(&mark(&other.csrf)),
                None
            )
            .await
            .status,
            403
        );
        let parent = patchtrack_store::Parent::Patch(f.patch);
        let comment = store
            .comment(parent, f.patch_comment)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(comment.addressed, None);
        let page = send(r, "GET", url, &maint.cookie, None, None).await;
        assert!(page.body.contains("Mark action required"));
        let done = send(
            r,
            "POST",
            url,
            &maint.cookie,
            Some(&mark(&maint.csrf)),
            None,
        )
        .await;
        assert_eq!(done.status, 302);
        let comment = store
            .comment(parent, f.patch_comment)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(comment.addressed, Some(true));
        // Project settings.
        let settings = format!(
            "csrfmiddlewaretoken={}&web_url=https://evil.example",
            other.csrf
        );
        assert_eq!(
            send(
                r,
                "POST",
                "/project/proj/settings/",
                &other.cookie,
                Some(&settings),
                None
            )
            .await
            .status,
            403
        );
        assert_eq!(
            send(
                r,
                "GET",
                "/project/proj/settings/",
                &other.cookie,
                None,
                None
            )
            .await
            .status,
            403
        );
        // Someone else's bundle: private is invisible, public is read-only.
        let create = format!(
            "csrfmiddlewaretoken={}&action=create-bundle&bundle_name=mine&patch_id={}",
            maint.csrf, f.patch
        );
        let made = send(
            r,
            "POST",
            "/project/proj/list/",
            &maint.cookie,
            Some(&create),
            None,
        )
        .await;
        assert!(
            made.cookies
                .iter()
                .any(|c| c.contains("Bundle%20mine%20created"))
        );
        assert_eq!(
            send(r, "GET", "/bundle/maint/mine/", &other.cookie, None, None)
                .await
                .status,
            404
        );
        let publish = format!(
            "csrfmiddlewaretoken={}&action=settings&name=mine&public=true",
            maint.csrf
        );
        assert_eq!(
            send(
                r,
                "POST",
                "/bundle/maint/mine/",
                &maint.cookie,
                Some(&publish),
                None
            )
            .await
            .status,
            302
        );
        let seen = send(r, "GET", "/bundle/maint/mine/", &other.cookie, None, None).await;
        assert!(seen.status == 200 && !seen.body.contains("id=\"bundle-settings\""));
        let delete = format!("csrfmiddlewaretoken={}&action=delete", other.csrf);
        assert_eq!(
            send(
                r,
                "POST",
                "/bundle/maint/mine/",
                &other.cookie,
                Some(&delete),
                None
            )
            .await
            .status,
            403
        );
        assert!(
            store
                .bundle_by_name("maint", "mine", None)
                .await
                .unwrap()
                .is_some()
        );
        // Anonymous writers are sent to log in, and nothing changes.
        let anon_form = send(r, "GET", "/user/login/", "", None, None).await;
        let tok_cookie = anon_form
            .cookies
            .iter()
            .find(|c| c.starts_with("csrftoken="))
            .unwrap();
        let tok = &tok_cookie["csrftoken=".len()..tok_cookie.find(';').unwrap()];
        let anon = send(
            r,
            "POST",
            url,
            &format!("csrftoken={tok}"),
            Some(&format!("csrfmiddlewaretoken={tok}&action=update&state=3")),
            None,
        )
        .await;
        assert_eq!(anon.status, 302);
        assert!(anon.location.starts_with("/user/login/?next="));
        assert_eq!(state_of(&store, f.patch).await, "new");
        // The maintainer can: the bundle's owner reorders and the list acts.
        let ok = format!(
            "csrfmiddlewaretoken={}&action=update&state=3&delegate=*&archived=*&patch_id={}",
            maint.csrf, f.patch2
        );
        let done = send(
            r,
            "POST",
            "/project/proj/list/",
            &maint.cookie,
            Some(&ok),
            None,
        )
        .await;
        assert!(
            done.cookies
                .iter()
                .any(|c| c.contains("1%20patch%20updated"))
        );
        assert_eq!(state_of(&store, f.patch2).await, "accepted");
    }
}

/// The text a browser shows for `html` (entities decoded, tags kept).
fn shown(html: &str) -> String {
    let mut s = html.to_string();
    for (entity, c) in [
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ] {
        s = s.replace(entity, c);
    }
    s
}

/// A mail whose every part tries to run script.
const HOSTILE: &str = "From: =?UTF-8?B?RXZlIiBvbm1vdXNlb3Zlcj0iYWxlcnQoMSknICYg4oCuZXZpbOKAjSDwn5mCIGXMgQ==?= <eve@example.org>\n\
Subject: [PATCH] <script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">\n\
Message-Id: <hostile@example.org>\n\
X-Evil: <script>window.__pwned=3</script>\n\
Date: Mon, 3 Feb 2020 07:05:07 +0000\n\
\n\
Body <script>window.__pwned=4</script> \"><svg onload=window.__pwned=5> javascript:alert(1)\n\
---\n\
diff --git a/<script>x b/<script>x\n\
--- a/<script>x\n\
+++ b/<script>x\n\
@@ -1 +1 @@ <img src=x onerror=alert(6)>\n\
-<script>alert(7)</script>\n\
+\"><svg onload=alert(8)>\n";

#[tokio::test]
async fn hostile_mail_renders_as_text() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let opts = IngestOptions {
            list_id: Some("proj.example.org".into()),
        };
        // (A display name with `<` in it is refused as upstream does: its
        // address pattern takes the first `<...>`; this one has quotes,
        // an ampersand, a right-to-left override and a zero-width joiner.)
        let outcome = store.ingest(HOSTILE.as_bytes(), &opts).await.unwrap();
        assert!(
            matches!(outcome, patchtrack_store::Outcome::Patch { .. }),
            "{outcome:?}"
        );
        let r = &f.router;
        for uri in [
            "/project/proj/list/",
            "/project/proj/list/?q=pwned",
            "/project/proj/patch/hostile@example.org/",
        ] {
            let page = send(r, "GET", uri, "", None, None).await;
            assert_eq!(page.status, 200, "{uri}");
            // Our own script tag is the only one; no tag from the mail.
            assert_eq!(
                page.body.matches("<script").count(),
                1,
                "{uri}: {}",
                page.body
            );
            for tag in [
                "<img",
                "<svg",
                "\" onmouseover=\"",
                "onerror=\"window",
                "href=\"javascript",
            ] {
                assert!(!page.body.contains(tag), "{uri} contains {tag}");
            }
            assert!(
                shown(&page.body).contains("<script>window.__pwned=1</script><img src=x"),
                "{uri}: {}",
                page.body
            );
        }
        let page = send(
            r,
            "GET",
            "/project/proj/patch/hostile@example.org/",
            "",
            None,
            None,
        )
        .await;
        let text = shown(&page.body);
        assert!(
            text.contains("Eve\" onmouseover=\"alert(1)' & \u{202e}evil\u{200d}"),
            "{}",
            page.body
        );
        assert!(text.contains("X-Evil: <script>window.__pwned=3"));
        assert!(
            page.body
                .contains("<span class=\"diff-del\">-&lt;script&gt;alert(7)&lt;/script&gt;</span>")
        );
        // And the browser is told to run no inline script at all.
        let req = Request::builder()
            .uri("/project/proj/list/")
            .header("host", "pw.example.org")
            .body(Body::empty())
            .unwrap();
        let resp = r.clone().oneshot(req).await.unwrap();
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    }
}

#[tokio::test]
async fn bundles_todo_and_settings() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let m = session(&store, "maint").await;
        // A bundle keeps the order its owner gives it.
        let create = format!(
            "csrfmiddlewaretoken={}&action=create-bundle&bundle_name=b&patch_id={}&patch_id={}",
            m.csrf, f.patch2, f.patch
        );
        send(
            r,
            "POST",
            "/project/proj/list/",
            &m.cookie,
            Some(&create),
            None,
        )
        .await;
        let order = |body: &str| {
            let a = body
                .find(&format!("data-patch-id=\"{}\"", f.patch))
                .unwrap();
            let b = body
                .find(&format!("data-patch-id=\"{}\"", f.patch2))
                .unwrap();
            a < b
        };
        let page = send(r, "GET", "/bundle/maint/b/", &m.cookie, None, None).await;
        assert!(order(&page.body), "created in date order");
        let down = format!("csrfmiddlewaretoken={}&move-down={}", m.csrf, f.patch);
        let moved = send(r, "POST", "/bundle/maint/b/", &m.cookie, Some(&down), None).await;
        assert_eq!(moved.status, 302);
        let page = send(r, "GET", "/bundle/maint/b/", &m.cookie, None, None).await;
        assert!(!order(&page.body), "moved down");
        let owner = store.user_by_username("maint").await.unwrap().unwrap();
        let b = store
            .bundle_by_name("maint", "b", Some(owner.user.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.order, vec![f.patch2, f.patch]);
        // The to-do list acts on its patches too (the delegate's).
        let d = session(&store, "deleg").await;
        let bulk = format!(
            "csrfmiddlewaretoken={}&action=update&state=3&delegate=*&archived=*&patch_id={}",
            d.csrf, f.patch
        );
        let done = send(r, "POST", "/user/todo/proj/", &d.cookie, Some(&bulk), None).await;
        assert_eq!(done.status, 302);
        assert_eq!(state_of(&store, f.patch).await, "accepted");
        // Project links must be web addresses.
        let evil = format!("csrfmiddlewaretoken={}&web_url=javascript:alert(1)", m.csrf);
        let refused = send(
            r,
            "POST",
            "/project/proj/settings/",
            &m.cookie,
            Some(&evil),
            None,
        )
        .await;
        assert!(
            refused
                .cookies
                .iter()
                .any(|c| c.contains("give%20an%20http"))
        );
        let p = store.project_by_linkname("proj").await.unwrap().unwrap();
        assert_eq!(p.web_url, "");
        let good = format!(
            "csrfmiddlewaretoken={}&web_url=https%3A%2F%2Fproj.example.org%2F",
            m.csrf
        );
        send(
            r,
            "POST",
            "/project/proj/settings/",
            &m.cookie,
            Some(&good),
            None,
        )
        .await;
        let p = store.project_by_linkname("proj").await.unwrap().unwrap();
        assert_eq!(p.web_url, "https://proj.example.org/");
        // Behind an HTTPS proxy, cookies are Secure.
        let req = Request::builder()
            .uri("/user/login/")
            .header("host", "pw.example.org")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap();
        let resp = r.clone().oneshot(req).await.unwrap();
        let cookie = resp.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.ends_with("; Secure"), "{cookie}");
    }
}

#[tokio::test]
async fn password_change_ends_other_sessions() {
    for store in common::stores().await {
        let r = site_with_user(&store, "bob", "old-password").await;
        let here = session(&store, "bob").await;
        let elsewhere = session(&store, "bob").await;
        let change = |old: &str, a: &str, b: &str| {
            format!(
                "csrfmiddlewaretoken={}&old_password={old}&new_password1={a}&new_password2={b}",
                here.csrf
            )
        };
        for (form, why) in [
            (change("wrong", "new-password", "new-password"), "incorrect"),
            (
                change("old-password", "new-password", "other-one"),
                "differ",
            ),
            (change("old-password", "short", "short"), "8%20characters"),
        ] {
            let r = send(
                &r,
                "POST",
                "/user/password-change/",
                &here.cookie,
                Some(&form),
                None,
            )
            .await;
            assert!(r.cookies.iter().any(|c| c.contains(why)), "{why}");
        }
        assert!(
            store
                .authenticate_password("bob", "old-password")
                .await
                .unwrap()
                .is_some()
        );
        let ok = send(
            &r,
            "POST",
            "/user/password-change/",
            &here.cookie,
            Some(&change("old-password", "new-password", "new-password")),
            None,
        )
        .await;
        assert_eq!((ok.status, ok.location.as_str()), (302, "/user/"));
        assert!(
            store
                .authenticate_password("bob", "new-password")
                .await
                .unwrap()
                .is_some()
        );
        // This browser has a new session; the other one is logged out.
        let fresh = ok
            .cookies
            .iter()
            .find(|c| c.starts_with("sessionid="))
            .unwrap();
        let fresh = fresh.split(';').next().unwrap();
        assert_eq!(
            send(&r, "GET", "/user/", fresh, None, None).await.status,
            200
        );
        assert_eq!(
            send(&r, "GET", "/user/", &elsewhere.cookie, None, None)
                .await
                .status,
            302
        );
        assert_eq!(
            send(&r, "GET", "/user/", &here.cookie, None, None)
                .await
                .status,
            302
        );
    }
}

/// A store failure on a page is the 500 page in the site's layout, for
/// the requester as the handler left it: the navigation bar, a message
/// added before the failure, the anonymous token's cookie. Downloads and a
/// failure before the session is read are plain-text 500s.
#[tokio::test]
async fn a_store_failure_is_the_error_page_with_the_nav_bar() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let m = session(&store, "maint").await;
        for table in ["bundle_patch", "bundle"] {
            store
                .execute_admin(&format!("DROP TABLE {table}"))
                .await
                .unwrap();
        }
        let failed = "Something went wrong on our side; it has been logged.";
        let nav = "<span id=\"nav-user\">maint</span>";
        let list = send(r, "GET", "/user/bundles/", &m.cookie, None, None).await;
        assert_eq!(list.status, 500);
        assert!(
            list.body.contains(failed) && list.body.contains(nav),
            "{}",
            list.body
        );
        // The token is made before the profile fails to render: its
        // message still shows.
        let generate = format!("csrfmiddlewaretoken={}&action=generate", m.csrf);
        let profile = send(r, "POST", "/user/", &m.cookie, Some(&generate), None).await;
        assert_eq!(profile.status, 500);
        assert!(
            profile.body.contains(failed)
                && profile.body.contains(nav)
                && profile.body.contains("A new API token was generated"),
            "{}",
            profile.body
        );
        // Anonymous: the page still hands out the form token it shows.
        let anonymous = send(r, "GET", "/bundle/maint/b/", "", None, None).await;
        assert_eq!(anonymous.status, 500);
        assert!(anonymous.body.contains(failed) && !anonymous.body.contains("nav-user"));
        let cookie = anonymous
            .cookies
            .iter()
            .find(|c| c.starts_with("csrftoken="))
            .unwrap();
        let token = &cookie["csrftoken=".len()..cookie.find(';').unwrap()];
        assert!(
            anonymous
                .body
                .contains(&format!("name=\"csrf-token\" content=\"{token}\""))
        );
        let mbox = send(r, "GET", "/bundle/maint/b/mbox/", "", None, None).await;
        assert_eq!((mbox.status, mbox.body.as_str()), (500, "server error\n"));
        // No session table: no page context to render with.
        store.execute_admin("DROP TABLE web_session").await.unwrap();
        let bare = send(r, "GET", "/project/proj/list/", &m.cookie, None, None).await;
        assert_eq!((bare.status, bare.body.as_str()), (500, "server error"));
        assert!(bare.cookies.is_empty());
    }
}

/// `/about/` says which APIs are on, the old help pages move there for
/// good, and Patchwork's token URL makes a new token shown once.
#[tokio::test]
async fn about_help_and_the_token_url() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let about = send(r, "GET", "/about/", "", None, None).await;
        assert_eq!(about.status, 200);
        assert!(
            about.body.contains("<td id=\"api-xmlrpc\">enabled</td>")
                && about
                    .body
                    .contains("git config pw.server http://pw.example.org/api/"),
            "{}",
            about.body
        );
        for old in ["/help/", "/help/about/", "/help/pwclient/"] {
            let moved = send(r, "GET", old, "", None, None).await;
            assert_eq!(
                (moved.status, moved.location.as_str()),
                (301, "/about/"),
                "{old}"
            );
        }
        let off = patchtrack_web::router(patchtrack_web::App {
            xmlrpc: false,
            zone: patchtrack_store::time::SiteZone::utc(),
            ..patchtrack_web::App::new(store.clone())
        });
        let about = send(&off, "GET", "/about/", "", None, None).await;
        assert!(about.body.contains("<td id=\"api-xmlrpc\">disabled</td>"));

        let m = session(&store, "maint").await;
        let old_token = f.tokens[4].clone().unwrap();
        let form = format!("csrfmiddlewaretoken={}", m.csrf);
        let made = send(
            r,
            "POST",
            "/user/generate-token/",
            &m.cookie,
            Some(&form),
            None,
        )
        .await;
        assert_eq!(made.status, 200);
        assert!(
            made.body.contains("A new API token was generated"),
            "{}",
            made.body
        );
        let (status, _) = support::get(r, "/api/users/", Some(&old_token)).await;
        assert_eq!(status, 403, "the old token no longer works");
        // Without the form token, or logged out, nothing happens.
        let refused = send(
            r,
            "POST",
            "/user/generate-token/",
            &m.cookie,
            Some(""),
            None,
        )
        .await;
        assert_eq!(refused.status, 403);
        let anonymous = send(r, "POST", "/user/generate-token/", "", Some(""), None).await;
        assert_ne!(anonymous.status, 200);
    }
}

/// The list's pager at one patch a page: previous and next links where
/// there are pages before and after, and a page past the end shown as
/// the last.
#[tokio::test]
async fn the_list_pages_by_the_users_setting() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let maint = store.user_by_username("maint").await.unwrap().unwrap();
        store
            .update_user(
                maint.user.id,
                &patchtrack_store::UserUpdate {
                    items_per_page: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let m = session(&store, "maint").await;
        let pager = |body: &str| {
            let start = body.find("<nav class=\"pagination\"").unwrap();
            let end = start + body[start..].find("</nav>").unwrap();
            body[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let list = |query: &'static str| {
            let cookie = m.cookie.clone();
            async move {
                let uri = format!("/project/proj/list/{query}");
                let page = send(r, "GET", &uri, &cookie, None, None).await;
                assert_eq!(page.status, 200, "{uri}");
                pager(&page.body)
            }
        };
        assert_eq!(
            list("").await,
            "<nav class=\"pagination\" aria-label=\"Pages\"> <span>Page 1 of 2</span> \
             <a rel=\"next\" href=\"/project/proj/list/?page=2\">Next →</a>"
        );
        let last = "<nav class=\"pagination\" aria-label=\"Pages\"> <a rel=\"prev\" \
                    href=\"/project/proj/list/?page=1\">← Previous</a> <span>Page 2 of 2</span>";
        assert_eq!(list("?page=2").await, last);
        assert_eq!(list("?page=99").await, last);
    }
}
