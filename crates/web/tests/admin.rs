//! The admin pages on SQLite and PostgreSQL: only superusers reach them
//! (anonymous visitors go to the login page, everyone else gets 403, GET
//! or POST), every POST needs the CSRF token, and what an administrator
//! changes shows on the site and in the admin log.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use std::time::Duration;

use patchtrack_store::{Failure, JobStatus, NewJob, RetryPolicy};

use support::{Reply, Session, session};

async fn send(
    r: &axum::Router,
    method: &str,
    uri: &str,
    cookie: &str,
    form: Option<&str>,
) -> Reply {
    support::send_page(r, method, uri, cookie, form, None).await
}

impl Session {
    /// A POST with the token, expected to redirect back: the flash
    /// message it leaves.
    async fn post(&self, r: &axum::Router, uri: &str, form: &str) -> String {
        let form = format!("csrfmiddlewaretoken={}&{form}", self.csrf);
        let reply = send(r, "POST", uri, &self.cookie, Some(&form)).await;
        assert_eq!(reply.status, 302, "{uri} {form}: {}", reply.body);
        let flash = reply
            .cookies
            .iter()
            .find_map(|c| c.strip_prefix("flash="))
            .map(|c| c.split(';').next().unwrap().to_string())
            .unwrap_or_default();
        percent_encoding::percent_decode_str(&flash)
            .decode_utf8_lossy()
            .into_owned()
    }

    async fn get(&self, r: &axum::Router, uri: &str) -> Reply {
        send(r, "GET", uri, &self.cookie, None).await
    }
}

const PAGES: [&str; 9] = [
    "/admin/",
    "/admin/projects/",
    "/admin/projects/proj/",
    "/admin/states/",
    "/admin/tags/",
    "/admin/users/",
    "/admin/people/",
    "/admin/jobs/",
    "/admin/log/",
];

/// What each POST would change were it allowed.
const POSTS: [(&str, &str); 8] = [
    (
        "/admin/projects/",
        "linkname=new&name=New&listid=new.example.org",
    ),
    (
        "/admin/projects/proj/",
        "action=add-maintainer&username=other",
    ),
    ("/admin/states/", "action=add&name=Sneaky"),
    (
        "/admin/tags/",
        "action=add&name=Fixes&pattern=%5EFixes%3A&abbrev=F",
    ),
    ("/admin/users/", "action=superuser&id=2&value=1"),
    ("/admin/people/", "action=link&id=1&username=other"),
    ("/admin/jobs/", "id=1"),
    ("/admin/log/", ""),
];

#[tokio::test]
async fn only_superusers_get_in() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let admin = session(&store, "admin").await;
        let maint = session(&store, "maint").await;
        for page in PAGES {
            let anon = send(r, "GET", page, "", None).await;
            assert_eq!(anon.status, 302, "{page}");
            assert!(
                anon.location.starts_with("/user/login/?next=%2Fadmin%2F"),
                "{page}"
            );
            let refused = maint.get(r, page).await;
            assert_eq!(refused.status, 403, "{page}");
            assert!(refused.body.contains("Only site administrators"), "{page}");
            let ok = admin.get(r, page).await;
            assert_eq!(ok.status, 200, "{page}: {}", ok.body);
            assert!(ok.body.contains("id=\"nav-admin\""), "{page}");
        }
        // The nav bar links to the admin pages for superusers only.
        let nav = "<a id=\"nav-admin\" href=\"/admin/\">Administration</a>";
        assert!(!maint.get(r, "/project/proj/").await.body.contains(nav));
        assert!(admin.get(r, "/project/proj/").await.body.contains(nav));
        for (uri, form) in POSTS {
            let with_token = format!("csrfmiddlewaretoken={}&{form}", maint.csrf);
            let refused = send(r, "POST", uri, &maint.cookie, Some(&with_token)).await;
            // The log takes no POST at all.
            let expected = if uri == "/admin/log/" { 405 } else { 403 };
            assert_eq!(refused.status, expected, "{uri}");
            // Without the token even an administrator is refused.
            let no_token = send(r, "POST", uri, &admin.cookie, Some(form)).await;
            assert_eq!(no_token.status, expected, "{uri}");
            let anon = send(r, "POST", uri, "", Some(form)).await;
            assert_eq!(anon.status, expected, "{uri}");
        }
        // Nothing changed, and nothing was logged.
        assert!(store.project_by_linkname("new").await.unwrap().is_none());
        assert!(
            !store
                .states()
                .await
                .unwrap()
                .iter()
                .any(|s| s.name == "Sneaky")
        );
        assert_eq!(store.tags().await.unwrap().len(), 3);
        assert!(store.admin_log(10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_administrator_edits_a_project() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let admin = session(&store, "admin").await;
        let form = "action=save&name=The+Project&linkname=proj&listid=proj.example.org\
                    &listemail=list%40example.org&subject_match=&web_url=https%3A%2F%2Fproj.example.org%2Fhome\
                    &scm_url=&webscm_url=&list_archive_url=&list_archive_url_format=\
                    &commit_url_format=&use_tags=true&send_notifications=true";
        assert_eq!(
            admin.post(r, "/admin/projects/proj/", form).await,
            "Project saved"
        );
        let about = admin.get(r, "/project/proj/").await;
        assert!(
            about.body.contains("https://proj.example.org/home"),
            "{}",
            about.body
        );
        assert!(about.body.contains("<h1>The Project</h1>"));
        let p = store.project_by_linkname("proj").await.unwrap().unwrap();
        assert!(p.send_notifications && p.use_tags && !p.show_dependencies);
        // A subject match that is no regex is refused, and nothing changes.
        let bad = form.replace("subject_match=", "subject_match=%28");
        let m = admin.post(r, "/admin/projects/proj/", &bad).await;
        assert!(m.contains("not a regex"), "{m}");
        // Maintainers and delegation rules, by username.
        let m = admin
            .post(
                r,
                "/admin/projects/proj/",
                "action=add-maintainer&username=other",
            )
            .await;
        assert_eq!(m, "Maintainer added");
        let m = admin
            .post(
                r,
                "/admin/projects/proj/",
                "action=add-maintainer&username=nobody",
            )
            .await;
        assert!(m.contains("no user"), "{m}");
        let m = admin
            .post(
                r,
                "/admin/projects/proj/",
                "action=add-rule&path=drivers%2F*&username=other&priority=3",
            )
            .await;
        assert_eq!(m, "Delegation rule added");
        let page = admin.get(r, "/admin/projects/proj/").await.body;
        assert!(page.contains("<code>drivers/*</code>"), "{page}");
        let rules = store.delegation_rules(p.id).await.unwrap();
        let other = store.user_by_username("other").await.unwrap().unwrap();
        admin
            .post(
                r,
                "/admin/projects/proj/",
                &format!("action=remove-rule&rule_id={}", rules[0].id),
            )
            .await;
        admin
            .post(
                r,
                "/admin/projects/proj/",
                &format!("action=remove-maintainer&user_id={}", other.user.id),
            )
            .await;
        assert!(store.delegation_rules(p.id).await.unwrap().is_empty());
        let maintainers = store.maintainers(&[p.id]).await.unwrap();
        assert!(!maintainers[&p.id].iter().any(|u| u.username == "other"));
        // A new project.
        let m = admin
            .post(
                r,
                "/admin/projects/",
                "linkname=two&name=Two&listid=two.example.org",
            )
            .await;
        assert_eq!(m, "Project two created");
        assert_eq!(admin.get(r, "/project/two/").await.status, 200);
        // The log lists every write, newest first.
        let log = admin.get(r, "/admin/log/").await.body;
        for action in [
            "project.add",
            "project.rule.remove",
            "project.maintainer.remove",
            "project.rule.add",
            "project.maintainer.add",
            "project.edit",
        ] {
            assert!(
                log.contains(&format!("<code>{action}</code>")),
                "{action}: {log}"
            );
        }
        assert!(log.contains("https://proj.example.org/home"), "{log}");
        let entries = store.admin_log(100).await.unwrap();
        assert_eq!(entries.len(), 6, "refusals are not logged: {entries:?}");
        assert!(entries.iter().all(|e| e.actor == "admin"));
        assert_eq!(entries[0].action, "project.add");
        let edit = entries.iter().find(|e| e.action == "project.edit").unwrap();
        assert_eq!(
            edit.detail,
            "name: \"proj\" -> \"The Project\"; listemail: \"proj@lists.example.org\" -> \
             \"list@example.org\"; web_url: \"\" -> \"https://proj.example.org/home\"; \
             send_notifications: \"false\" -> \"true\""
        );
        assert_eq!(edit.object, "project proj");
    }
}

#[tokio::test]
async fn states_are_added_reordered_and_deleted_when_unused() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let admin = session(&store, "admin").await;
        let m = admin
            .post(
                r,
                "/admin/states/",
                "action=add&name=Needs+Ack&action_required=true",
            )
            .await;
        assert_eq!(m, "State Needs Ack added");
        let added = store
            .states()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.name == "Needs Ack")
            .unwrap();
        assert!(added.action_required);
        admin
            .post(r, "/admin/states/", &format!("action=up&id={}", added.id))
            .await;
        // The list's state filter offers the states in their new order.
        let list = admin.get(r, "/project/proj/list/").await.body;
        let at = |name: &str| list.find(&format!(">{name}</option>")).unwrap();
        assert!(at("Superseded") < at("Needs Ack") && at("Needs Ack") < at("Deferred"));
        // And the API takes the new state by its slug.
        let maint = f.tokens[4].as_deref();
        let status = support::call(
            r,
            "PATCH",
            &format!("/api/patches/{}/", f.patch),
            maint,
            r#"{"state": "needs-ack"}"#,
        )
        .await;
        assert_eq!(status, 200);
        let (_, patch) = support::get(r, &format!("/api/patches/{}/", f.patch), None).await;
        assert_eq!(patch["state"], "needs-ack");
        // Rename and toggle.
        admin
            .post(
                r,
                "/admin/states/",
                &format!("action=rename&id={}&name=Needs+ACKs", added.id),
            )
            .await;
        admin
            .post(
                r,
                "/admin/states/",
                &format!("action=toggle&id={}", added.id),
            )
            .await;
        let (_, patch) = support::get(r, &format!("/api/patches/{}/", f.patch), None).await;
        assert_eq!(patch["state"], "needs-acks");
        let page = admin.get(r, "/admin/states/").await.body;
        assert!(page.contains("value=\"Needs ACKs\""), "{page}");
        // A used state cannot be deleted, and says why.
        let m = admin
            .post(
                r,
                "/admin/states/",
                &format!("action=delete&id={}", added.id),
            )
            .await;
        assert!(
            m.contains("cannot be deleted: 1 patch(es) are in it"),
            "{m}"
        );
        assert!(
            store
                .states()
                .await
                .unwrap()
                .iter()
                .any(|s| s.id == added.id)
        );
        // An unused one goes.
        admin
            .post(r, "/admin/states/", "action=add&name=Unused")
            .await;
        let unused = store
            .states()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.name == "Unused")
            .unwrap();
        let m = admin
            .post(
                r,
                "/admin/states/",
                &format!("action=delete&id={}", unused.id),
            )
            .await;
        assert_eq!(m, "State Unused deleted");
        assert!(
            !store
                .states()
                .await
                .unwrap()
                .iter()
                .any(|s| s.id == unused.id)
        );
        let log: Vec<String> = store
            .admin_log(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            log,
            [
                "state.delete",
                "state.add",
                "state.action_required",
                "state.rename",
                "state.move",
                "state.add"
            ]
        );
    }
}

#[tokio::test]
async fn tags_users_people_and_the_queue() {
    for store in common::stores().await {
        let f = support::fixture(store.clone()).await;
        let r = &f.router;
        let admin = session(&store, "admin").await;
        // Tags: a pattern must compile.
        let m = admin
            .post(
                r,
                "/admin/tags/",
                "action=add&name=Fixes&pattern=%5EFixes%28&abbrev=F",
            )
            .await;
        assert!(m.contains("not a valid regular expression"), "{m}");
        let m = admin
            .post(
                r,
                "/admin/tags/",
                "action=add&name=Fixes&pattern=%5EFixes%3A&abbrev=F&show_column=true",
            )
            .await;
        assert!(m.starts_with("Tag added"), "{m}");
        admin
            .post(
                r,
                "/admin/tags/",
                "action=save&id=1&name=Acked-by&pattern=%5EAcked-by%3A&abbrev=A",
            )
            .await;
        let tags = store.tags().await.unwrap();
        assert_eq!(tags.len(), 4);
        assert!(!tags[0].show_column);
        // Users: superuser and active flags, maintainership.
        let other = store
            .user_by_username("other")
            .await
            .unwrap()
            .unwrap()
            .user
            .id;
        let (other_session, _) = store.create_session(other).await.unwrap();
        admin
            .post(
                r,
                "/admin/users/",
                &format!("action=superuser&id={other}&value=1"),
            )
            .await;
        admin
            .post(
                r,
                "/admin/users/",
                &format!("action=maintain&id={other}&project=1"),
            )
            .await;
        let page = admin.get(r, "/admin/users/?q=other").await.body;
        assert!(page.contains("id=\"user-row-other\""), "{page}");
        assert!(page.contains("Revoke"), "{page}");
        assert!(!page.contains("user-row-maint"), "{page}");
        let deleg = store
            .user_by_username("deleg")
            .await
            .unwrap()
            .unwrap()
            .user
            .id;
        admin
            .post(
                r,
                "/admin/users/",
                &format!("action=active&id={deleg}&value=0"),
            )
            .await;
        let accounts = store.accounts(&[], 100).await.unwrap();
        let flags = |id: i64| {
            let a = accounts.iter().find(|a| a.user.id == id).unwrap();
            (a.superuser, a.active, a.maintains.clone())
        };
        assert_eq!(flags(other), (true, true, vec![1]));
        assert!(!flags(deleg).1);
        // The deactivated delegate keeps the patch delegated to them.
        let (_, patch) = support::get(r, &format!("/api/patches/{}/", f.patch), None).await;
        assert_eq!(patch["delegate"]["username"], "deleg");
        // An administrator cannot lock themselves out.
        let me = store
            .user_by_username("admin")
            .await
            .unwrap()
            .unwrap()
            .user
            .id;
        let m = admin
            .post(
                r,
                "/admin/users/",
                &format!("action=superuser&id={me}&value=0"),
            )
            .await;
        assert!(m.contains("cannot remove your own"), "{m}");
        let m = admin
            .post(
                r,
                "/admin/users/",
                &format!("action=active&id={me}&value=0"),
            )
            .await;
        assert!(m.contains("cannot remove your own"), "{m}");
        assert_eq!(admin.get(r, "/admin/").await.status, 200);
        let still = send(
            r,
            "GET",
            "/admin/",
            &format!("sessionid={other_session}"),
            None,
        )
        .await;
        assert_eq!(still.status, 200, "a new administrator gets in");
        // People: merge the second patch's author into the first's.
        let (_, p1) = support::get(r, &format!("/api/patches/{}/", f.patch), None).await;
        let (_, p2) = support::get(r, &format!("/api/patches/{}/", f.patch2), None).await;
        let keep = p1["submitter"]["id"].as_i64().unwrap();
        let dup = p2["submitter"]["id"].as_i64().unwrap();
        let m = admin
            .post(
                r,
                "/admin/people/",
                &format!("action=merge&keep={keep}&duplicate={dup}"),
            )
            .await;
        assert!(m.contains("1 patch(es)"), "{m}");
        let (_, p2) = support::get(r, &format!("/api/patches/{}/", f.patch2), None).await;
        assert_eq!(p2["submitter"]["id"], keep);
        let (status, _) =
            support::get(r, &format!("/api/people/{dup}/"), f.tokens[5].as_deref()).await;
        assert_eq!(status, 404);
        let m = admin
            .post(
                r,
                "/admin/people/",
                &format!("action=link&id={keep}&username=other"),
            )
            .await;
        assert_eq!(m, format!("Person {keep} linked to other"));
        let people = admin.get(r, "/admin/people/?q=sub%40example").await.body;
        assert!(people.contains("value=\"other\""), "{people}");
        // The queue: a failed job is retried.
        let id = store
            .enqueue(&NewJob::new("mail", "{}".into()))
            .await
            .unwrap();
        let claimed = store
            .claim_jobs(&["mail"], "w", 1, Duration::from_secs(60))
            .await
            .unwrap();
        store
            .fail_job(
                &claimed[0],
                "w",
                "550 no such mailbox",
                Failure::Permanent,
                &RetryPolicy::default(),
            )
            .await
            .unwrap();
        let jobs = admin.get(r, "/admin/jobs/").await.body;
        assert!(jobs.contains("550 no such mailbox"), "{jobs}");
        assert!(jobs.contains(">Retry</button>"), "{jobs}");
        let m = admin.post(r, "/admin/jobs/", &format!("id={id}")).await;
        assert_eq!(m, format!("Job {id} queued again"));
        assert_eq!(
            store.job(id).await.unwrap().unwrap().status,
            JobStatus::Pending
        );
        let m = admin.post(r, "/admin/jobs/", &format!("id={id}")).await;
        assert!(m.contains("not a failed job"), "{m}");
        let log: Vec<String> = store
            .admin_log(20)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            log,
            [
                "job.retry",
                "person.link",
                "person.merge",
                "user.active",
                "user.maintain",
                "user.superuser",
                "tag.edit",
                "tag.add"
            ]
        );
    }
}
