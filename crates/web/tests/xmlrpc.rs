//! The XML-RPC API at `/xmlrpc/` on both engines: Python's bytes for
//! answers and faults, every method's result shape (reference §10), the
//! `patch_list` and `check_list` filters, and HTTP Basic for the writes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use http_body_util::BodyExt;
use patchtrack_store::{NewUser, Store};
use tower::ServiceExt;

const HEADER: &str = "<?xml version='1.0'?>\n<methodResponse>\n";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64(&format!("{user}:{password}")))
}

fn int(n: i64) -> String {
    format!("<value><int>{n}</int></value>")
}

fn string(s: &str) -> String {
    format!("<value><string>{s}</string></value>")
}

fn boolean(b: bool) -> String {
    format!("<value><boolean>{}</boolean></value>", u8::from(b))
}

fn array(items: &[String]) -> String {
    format!(
        "<value><array><data>{}</data></array></value>",
        items.concat()
    )
}

fn record(members: &[(&str, String)]) -> String {
    let members: String = members
        .iter()
        .map(|(k, v)| format!("<member><name>{k}</name>{v}</member>"))
        .collect();
    format!("<value><struct>{members}</struct></value>")
}

/// Sends a raw request to `/xmlrpc/`: status, content type and body.
async fn raw(
    router: &axum::Router,
    method: &str,
    body: String,
    auth: Option<&str>,
) -> (u16, String, String) {
    let mut req = Request::builder()
        .method(method)
        .uri("/xmlrpc/")
        .header("host", "pw.example.org")
        .header("content-type", "text/xml");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .or_else(|| resp.headers().get("location"))
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// Calls a method: the answer's body (always a 200 in text/html).
async fn call(
    router: &axum::Router,
    method: &str,
    params: &[String],
    auth: Option<&str>,
) -> String {
    let params: String = params
        .iter()
        .map(|p| format!("<param>{p}</param>"))
        .collect();
    let body = format!(
        "<?xml version='1.0'?>\n<methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    );
    let (status, content_type, text) = raw(router, "POST", body, auth).await;
    assert_eq!(status, 200, "{method}: {text}");
    assert_eq!(content_type, "text/html; charset=utf-8", "{method}");
    assert!(text.starts_with(HEADER), "{method}: {text}");
    text
}

/// The fault string of an answer, or None for a success.
fn fault(text: &str) -> Option<String> {
    if !text.contains("<fault>") {
        return None;
    }
    let start = text.find("<name>faultString</name>\n<value><string>")? + 40;
    let end = text[start..].find("</string>")? + start;
    Some(
        text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The values of `<name>id</name>` members of an answer, in order.
fn ids(text: &str) -> Vec<i64> {
    text.split("<name>id</name>\n<value><int>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().parse().unwrap())
        .collect()
}

struct Site {
    f: support::Fixture,
    hash: String,
}

async fn site(store: Store) -> Site {
    let f = support::fixture(store.clone()).await;
    for (name, email, maintains) in [
        ("ci", "ci@example.org", true),
        ("nobody", "nobody@example.org", false),
    ] {
        store
            .add_user(&NewUser {
                username: name.into(),
                email: email.into(),
                password: Some("secret".into()),
                superuser: false,
                maintainer_of: if maintains {
                    vec!["proj".into()]
                } else {
                    vec![]
                },
            })
            .await
            .unwrap();
    }
    let hash = store.patch(f.patch).await.unwrap().unwrap().hash.unwrap();
    Site { f, hash }
}

#[tokio::test]
async fn answers_are_pythons_bytes() {
    for store in common::stores().await {
        let s = site(store).await;
        let r = &s.f.router;
        assert_eq!(
            call(r, "pw_rpc_version", &[], None).await,
            format!(
                "{HEADER}<params>\n<param>\n<value><array><data>\n<value><int>1</int></value>\n\
                 <value><int>3</int></value>\n<value><int>0</int></value>\n</data></array></value>\n\
                 </param>\n</params>\n</methodResponse>\n"
            )
        );
        let member = |name: &str, value: String| {
            format!("<member>\n<name>{name}</name>\n{value}</member>\n")
        };
        let b = |s: &str| format!("<value><base64>\n{}\n</base64></value>\n", b64(s));
        let i = |n: i64| format!("<value><int>{n}</int></value>\n");
        let st = |s: &str| format!("<value><string>{s}</string></value>\n");
        // Ids of people, users and projects depend on insertion order:
        // take them from the REST API.
        let (_, rest) = support::get(r, &format!("/api/patches/{}/", s.f.patch), None).await;
        let id_of = |object: &str| i(rest[object]["id"].as_i64().unwrap());
        let expected = [
            member("id", i(s.f.patch)),
            member("date", b("2020-02-03 04:05:07")),
            member("filename", st("1-1-file-change-a-line")),
            member("msgid", st("&lt;patch@example.org&gt;")),
            member("name", st("[1/1] file: change a line")),
            member("project", b("proj")),
            member("project_id", id_of("project")),
            member("state", b("New")),
            member("state_id", i(1)),
            member("archived", "<value><boolean>0</boolean></value>\n".into()),
            member("submitter", b("Sub Mitter <sub@example.org>")),
            member("submitter_id", id_of("submitter")),
            member("delegate", b("deleg")),
            member("delegate_id", id_of("delegate")),
            member("commit_ref", st("")),
            member("hash", st(&s.hash)),
        ]
        .concat();
        let got = call(r, "patch_get", &[int(s.f.patch)], None).await;
        assert_eq!(
            got,
            format!(
                "{HEADER}<params>\n<param>\n<value><struct>\n{expected}</struct></value>\n</param>\n</params>\n</methodResponse>\n"
            )
        );
        // Missing objects are empty structs, not faults.
        for method in [
            "patch_get",
            "project_get",
            "person_get",
            "state_get",
            "check_get",
            "patch_check_get",
        ] {
            assert_eq!(
                call(r, method, &[int(99_999)], None).await,
                format!(
                    "{HEADER}<params>\n<param>\n<value><struct>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n"
                ),
                "{method}"
            );
        }
    }
}

#[tokio::test]
async fn faults_read_as_patchworks() {
    for store in common::stores().await {
        let s = site(store).await;
        let r = &s.f.router;
        let text = call(r, "no_such_method", &[], None).await;
        assert_eq!(
            text,
            format!(
                "{HEADER}<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n\
                 <value><int>1</int></value>\n</member>\n<member>\n<name>faultString</name>\n\
                 <value><string>&lt;class 'Exception'&gt;:method \"no_such_method\" is not supported</string></value>\n\
                 </member>\n</struct></value>\n</fault>\n</methodResponse>\n"
            )
        );
        assert_eq!(
            fault(&call(r, "patch_get", &[], None).await).unwrap(),
            "<class 'TypeError'>:patch_get() missing 1 required positional argument: 'patch_id'"
        );
        assert_eq!(
            fault(&call(r, "patch_get", &[string("x")], None).await).unwrap(),
            "<class 'ValueError'>:Field 'id' expected a number but got 'x'."
        );
        let (status, _, text) = raw(r, "POST", "<methodCall><methodName>x".into(), None).await;
        assert_eq!(status, 200);
        assert!(
            fault(&text)
                .unwrap()
                .starts_with("<class 'xml.parsers.expat.ExpatError'>:"),
            "{text}"
        );
        // A missing patch's diff is an empty string.
        assert_eq!(
            call(r, "patch_get_diff", &[int(99_999)], None).await,
            format!(
                "{HEADER}<params>\n<param>\n<value><string></string></value>\n</param>\n</params>\n</methodResponse>\n"
            )
        );
    }
}

#[tokio::test]
async fn patch_list_filters_like_django() {
    for store in common::stores().await {
        let s = site(store).await;
        let r = &s.f.router;
        let (p1, p2) = (s.f.patch, s.f.patch2);
        let list = |filters: Vec<(&'static str, String)>| {
            let r = r.clone();
            async move { ids(&call(&r, "patch_list", &[record(&filters)], None).await) }
        };
        assert_eq!(list(vec![]).await, vec![p1, p2], "every patch, by date");
        assert_eq!(list(vec![("max_count", int(1))]).await, vec![p1]);
        assert_eq!(
            list(vec![("max_count", int(-1))]).await,
            vec![p2],
            "the last one"
        );
        assert_eq!(list(vec![("max_count", int(-5))]).await, vec![p1, p2]);
        assert_eq!(
            list(vec![("name__icontains", string("FILE"))]).await,
            vec![p1]
        );
        assert_eq!(
            list(vec![("name__contains", string("file"))]).await,
            vec![p1]
        );
        assert_eq!(
            list(vec![("name__contains", string("FILE"))]).await,
            Vec::<i64>::new(),
            "contains keeps case, on SQLite too"
        );
        assert_eq!(
            list(vec![("name__startswith", string("[1/1]"))]).await,
            vec![p1]
        );
        assert_eq!(
            list(vec![("name__iendswith", string("UNRELATED"))]).await,
            vec![p2]
        );
        assert_eq!(
            list(vec![("id__in", array(&[int(p2), int(123_456)]))]).await,
            vec![p2]
        );
        assert_eq!(list(vec![("id__gt", int(p1))]).await, vec![p2]);
        assert_eq!(
            list(vec![("id__range", array(&[int(p1), int(p2)]))]).await,
            vec![p1, p2]
        );
        assert_eq!(
            list(vec![("msgid", string("&lt;patch2@example.org&gt;"))]).await,
            vec![p2]
        );
        assert_eq!(list(vec![("hash", string(&s.hash))]).await, vec![p1]);
        assert_eq!(list(vec![("archived", boolean(false))]).await, vec![p1, p2]);
        assert_eq!(
            list(vec![("archived", boolean(true))]).await,
            Vec::<i64>::new()
        );
        assert_eq!(
            list(vec![("commit_ref__isnull", boolean(true))]).await,
            vec![p1, p2]
        );
        assert_eq!(list(vec![("date__year", int(2020))]).await, vec![p1, p2]);
        assert_eq!(
            list(vec![("date__year", int(2019))]).await,
            Vec::<i64>::new()
        );
        assert_eq!(list(vec![("date__month", int(2))]).await, vec![p1, p2]);
        assert_eq!(list(vec![("date__day", int(4))]).await, Vec::<i64>::new());
        assert_eq!(
            list(vec![("date__gt", string("2020-02-03 05:00:00"))]).await,
            vec![p2]
        );
        assert_eq!(list(vec![("state_id", int(1))]).await, vec![p1, p2]);
        assert_eq!(list(vec![("state_id", int(2))]).await, Vec::<i64>::new());
        assert_eq!(list(vec![("state_id", int(999))]).await, Vec::<i64>::new());
        // Unknown fields and lookups (pwclient's `series`) give [].
        assert_eq!(list(vec![("series", int(1))]).await, Vec::<i64>::new());
        assert_eq!(
            list(vec![("name__regex", string("."))]).await,
            Vec::<i64>::new()
        );
        // People by id: the submitter, and (fixed upstream bug) the
        // delegate as the person of the delegated account.
        let people = call(r, "person_list", &[string("deleg"), int(0)], None).await;
        let deleg_person = ids(&people);
        assert_eq!(deleg_person.len(), 1, "{people}");
        assert_eq!(
            list(vec![("delegate_id", int(deleg_person[0]))]).await,
            vec![p1]
        );
        let sub = ids(&call(r, "person_list", &[string("SUB@"), int(0)], None).await);
        assert_eq!(list(vec![("submitter_id", int(sub[0]))]).await, vec![p1]);
        assert_eq!(
            list(vec![("submitter_id", int(99_999))]).await,
            Vec::<i64>::new()
        );
        let projects = call(r, "project_list", &[string("PRO"), int(0)], None).await;
        let project = ids(&projects);
        assert_eq!(project.len(), 1, "{projects}");
        assert_eq!(
            list(vec![
                ("project_id", int(project[0])),
                ("name__icontains", string("other"))
            ])
            .await,
            vec![p2]
        );
        // Hash lookups.
        assert_eq!(
            ids(&call(r, "patch_get_by_hash", &[string(&s.hash)], None).await),
            vec![p1]
        );
        assert_eq!(
            ids(&call(
                r,
                "patch_get_by_project_hash",
                &[string("proj"), string(&s.hash)],
                None
            )
            .await),
            vec![p1]
        );
        assert_eq!(
            ids(&call(
                r,
                "patch_get_by_project_hash",
                &[string("nope"), string(&s.hash)],
                None
            )
            .await),
            Vec::<i64>::new()
        );
    }
}

#[tokio::test]
async fn writes_need_basic_credentials_and_rights() {
    for store in common::stores().await {
        let s = site(store).await;
        let r = &s.f.router;
        let p = s.f.patch;
        let set = record(&[
            ("state", int(2)),
            ("archived", boolean(true)),
            ("commit_ref", string("abc123")),
            ("ignored", string("x")),
        ]);
        let args = [int(p), set.clone()];
        for (auth, text) in [
            (None, "No authentication credentials given"),
            (
                Some("Token abc".to_string()),
                "Authentication scheme not supported",
            ),
            (
                Some("Basic !!!".to_string()),
                "Invalid authentication credentials",
            ),
            (Some(basic("ci", "wrong")), "Invalid username/password"),
            (
                Some(basic("nobody", "secret")),
                "No permissions to edit this patch",
            ),
        ] {
            let answer = call(r, "patch_set", &args, auth.as_deref()).await;
            assert_eq!(
                fault(&answer).unwrap(),
                format!("<class 'Exception'>:{text}")
            );
        }
        let ci = basic("ci", "secret");
        let answer = call(r, "patch_set", &[int(99_999), set.clone()], Some(&ci)).await;
        assert_eq!(
            fault(&answer).unwrap(),
            "<class 'patchwork.models.Patch.DoesNotExist'>:Patch matching query does not exist."
        );
        let answer = call(
            r,
            "patch_set",
            &[int(p), record(&[("state", int(999))])],
            Some(&ci),
        )
        .await;
        assert_eq!(
            fault(&answer).unwrap(),
            "<class 'patchwork.models.State.DoesNotExist'>:State matching query does not exist."
        );
        let answer = call(r, "patch_set", &args, Some(&ci)).await;
        assert!(answer.contains("<boolean>1</boolean>"), "{answer}");
        let (_, after) = support::get(r, &format!("/api/patches/{p}/"), None).await;
        assert_eq!(after["state"], "under-review");
        assert_eq!(after["archived"], true);
        assert_eq!(after["commit_ref"], "abc123");
        let (_, events) = support::get(r, "/api/events/?category=patch-state-changed", None).await;
        assert_eq!(events.as_array().unwrap().len(), 1, "{events}");

        // Checks: create, list, get, the patch's summary.
        let check = |state: &str| {
            vec![
                int(p),
                string("ci-build"),
                string(state),
                string("http://ci.example.org/1"),
                string("Build &amp; test"),
            ]
        };
        let answer = call(r, "check_create", &check("passed"), Some(&ci)).await;
        assert_eq!(
            fault(&answer).unwrap(),
            "<class 'Exception'>:Invalid check state: passed"
        );
        let answer = call(r, "check_create", &check("warning"), Some(&ci)).await;
        assert!(answer.contains("<boolean>1</boolean>"), "{answer}");
        let answer = call(r, "check_create", &check("success"), Some(&ci)).await;
        assert!(answer.contains("<boolean>1</boolean>"), "{answer}");
        let all = call(r, "check_list", &[record(&[("patch_id", int(p))])], None).await;
        let check_ids = ids(&all);
        assert_eq!(check_ids.len(), 2, "{all}");
        assert!(all.contains(&format!(
            "<name>patch</name>\n<value><base64>\n{}\n",
            b64("[1/1] file: change a line")
        )));
        assert!(all.contains("<name>description</name>\n<value><string>Build &amp; test</string>"));
        assert_eq!(
            ids(&call(r, "check_list", &[record(&[("max_count", int(-1))])], None).await),
            vec![check_ids[1]]
        );
        assert_eq!(
            ids(&call(
                r,
                "check_list",
                &[record(&[("id__gt", int(check_ids[0]))])],
                None
            )
            .await),
            vec![check_ids[1]]
        );
        assert_eq!(
            fault(
                &call(
                    r,
                    "check_list",
                    &[record(&[("patch_id", int(99_999))])],
                    None
                )
                .await
            )
            .unwrap(),
            "<class 'IndexError'>:list index out of range"
        );
        assert_eq!(
            ids(&call(r, "check_get", &[int(check_ids[0])], None).await),
            vec![check_ids[0]]
        );
        let summary = call(r, "patch_check_get", &[int(p)], None).await;
        assert!(
            summary.starts_with(&format!(
                "{HEADER}<params>\n<param>\n<value><struct>\n<member>\n<name>state</name>\n\
             <value><string>success</string></value>\n</member>\n<member>\n<name>total</name>\n\
             <value><int>1</int></value>\n</member>\n<member>\n<name>checks</name>\n"
            )),
            "{summary}"
        );
        assert_eq!(
            ids(&summary),
            vec![check_ids[1]],
            "only the newest per context"
        );
    }
}

#[tokio::test]
async fn lists_downloads_and_the_page() {
    for store in common::stores().await {
        let s = site(store).await;
        let r = &s.f.router;
        let states = call(r, "state_list", &[string("review"), int(0)], None).await;
        assert_eq!(ids(&states), vec![2], "{states}");
        assert!(states.contains("<name>name</name>\n<value><string>Under Review</string>"));
        assert_eq!(
            ids(&call(r, "state_list", &[string(""), int(-1)], None).await).len(),
            1
        );
        let people = call(r, "person_list", &[string("sub"), int(0)], None).await;
        assert!(
            people.contains(&format!(
                "<name>user</name>\n<value><base64>\n{}\n",
                b64("submitter")
            )),
            "{people}"
        );
        let nobody = call(r, "person_list", &[string("rev@"), int(0)], None).await;
        assert!(
            nobody.contains(&format!(
                "<name>user</name>\n<value><base64>\n{}\n",
                b64("None")
            )),
            "{nobody}"
        );
        let mbox = call(r, "patch_get_mbox", &[int(s.f.patch)], None).await;
        assert!(
            mbox.contains("Subject: [PATCH 1/1] file: change a line"),
            "{mbox}"
        );
        assert!(
            mbox.contains("Reviewed-by: Re Viewer"),
            "comments' trailers: {mbox}"
        );
        let diff = call(r, "patch_get_diff", &[int(s.f.patch)], None).await;
        assert!(
            diff.contains("<value><string>diff --git a/f b/f\n--- a/f\n"),
            "{diff}"
        );

        let (status, content_type, page) = raw(r, "GET", String::new(), None).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "text/html; charset=utf-8")
        );
        assert!(page.contains("<title>Python: XML-RPC Server Documentation</title>"));
        assert!(page.contains("patch_check_get"));
        let (status, location, _) = raw(r, "PUT", String::new(), None).await;
        assert_eq!((status, location.as_str()), (302, "/"));
    }
}

#[tokio::test]
async fn can_be_turned_off() {
    let store = common::sqlite().await;
    let router = patchtrack_web::router(patchtrack_web::App {
        xmlrpc: false,
        zone: patchtrack_store::time::SiteZone::utc(),
        ..patchtrack_web::App::new(store)
    });
    let (status, _, _) = raw(&router, "POST", "<methodCall/>".into(), None).await;
    assert_eq!(status, 404);
}
