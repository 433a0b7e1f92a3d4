//! The webhooks page of a project, on SQLite and PostgreSQL: only its
//! maintainers see it; they add a receiver (its secret shown once), turn
//! it off and on, read its delivery log, replay a delivery and remove it;
//! the profile page makes and revokes scoped tokens.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use support::{fixture, send_page, session};

#[tokio::test]
async fn maintainers_manage_webhooks_and_tokens_on_their_pages() {
    for store in common::stores().await {
        let f = fixture(store.clone()).await;
        let r = &f.router;
        let maint = session(&store, "maint").await;
        let other = session(&store, "other").await;
        let page = "/project/proj/webhooks/";

        let anonymous = send_page(r, "GET", page, "", None, None).await;
        assert_eq!(anonymous.status, 302, "to the login page");
        let refused = send_page(r, "GET", page, &other.cookie, None, None).await;
        assert_eq!(refused.status, 403);
        let empty = send_page(r, "GET", page, &maint.cookie, None, None).await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("No webhooks yet"));

        // Add one for two categories, with a made secret.
        let form = format!(
            "csrfmiddlewaretoken={}&action=add&target_url=http%3A%2F%2F127.0.0.1%3A9%2Fhook\
             &secret=&category=patch-created&category=check-updated",
            maint.csrf
        );
        let added = send_page(r, "POST", page, &maint.cookie, Some(&form), None).await;
        assert_eq!(added.status, 200, "{}", added.body);
        assert!(
            added.body.contains("id=\"webhook-secret\""),
            "the secret, once"
        );
        let hooks = store.webhooks(1).await.unwrap();
        assert_eq!(hooks.len(), 1);
        let hook = &hooks[0];
        assert_eq!(hook.categories, ["patch-created", "check-updated"]);
        assert_eq!(hook.secret.len(), 64);
        assert!(added.body.contains(&hook.secret));
        let listed = send_page(r, "GET", page, &maint.cookie, None, None).await;
        assert!(!listed.body.contains(&hook.secret), "never shown again");
        assert!(listed.body.contains("patch-created, check-updated"));

        // A bad address is refused with a reason.
        let bad = format!(
            "csrfmiddlewaretoken={}&action=add&target_url=ftp%3A%2F%2Fx",
            maint.csrf
        );
        let reply = send_page(r, "POST", page, &maint.cookie, Some(&bad), None).await;
        assert_eq!(reply.status, 302);
        assert_eq!(store.webhooks(1).await.unwrap().len(), 1);

        // Off, then on.
        let toggle = |action: &str| {
            format!(
                "csrfmiddlewaretoken={}&action={action}&webhook={}",
                maint.csrf, hook.id
            )
        };
        send_page(r, "POST", page, &maint.cookie, Some(&toggle("off")), None).await;
        assert!(!store.webhook(hook.id).await.unwrap().unwrap().active);
        send_page(r, "POST", page, &maint.cookie, Some(&toggle("on")), None).await;
        assert!(store.webhook(hook.id).await.unwrap().unwrap().active);

        // A new patch comment is not a category it asked for; a check is.
        // (Delivery is the worker's; here the log shows what is queued.)
        let check = format!("/api/1.5/patches/{}/checks/", f.patch);
        let (status, _) = support::send(
            r,
            "POST",
            &check,
            Some(format!("Token {}", f.tokens[4].as_deref().unwrap())),
            "application/json",
            r#"{"state": "success", "context": "ci"}"#.into(),
        )
        .await;
        assert_eq!(status, 201);
        let log_page = format!("/project/proj/webhooks/{}/", hook.id);
        let log = send_page(r, "GET", &log_page, &maint.cookie, None, None).await;
        assert_eq!(log.status, 200);
        assert!(
            log.body.contains("Nothing delivered yet"),
            "check-created is not asked for"
        );
        let (deliveries, _) = store.deliveries(hook.id, None, 10).await.unwrap();
        assert!(deliveries.is_empty());

        // Replay of a delivery: make one by asking for every category.
        store
            .update_webhook(
                hook.id,
                &patchtrack_store::WebhookUpdate {
                    categories: Some(vec![]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        support::send(
            r,
            "POST",
            &check,
            Some(format!("Token {}", f.tokens[4].as_deref().unwrap())),
            "application/json",
            r#"{"state": "fail", "context": "ci"}"#.into(),
        )
        .await;
        let (deliveries, _) = store.deliveries(hook.id, None, 10).await.unwrap();
        assert_eq!(deliveries.len(), 1);
        let log = send_page(r, "GET", &log_page, &maint.cookie, None, None).await;
        assert!(log.body.contains("check-created"), "{}", log.body);
        let replay = format!(
            "csrfmiddlewaretoken={}&delivery={}",
            maint.csrf, deliveries[0].id
        );
        let reply = send_page(r, "POST", &log_page, &maint.cookie, Some(&replay), None).await;
        assert_eq!(reply.status, 302);
        let (deliveries, _) = store.deliveries(hook.id, None, 10).await.unwrap();
        assert_eq!(deliveries.len(), 2);
        assert_eq!(deliveries[0].replay_of, Some(deliveries[1].id));
        let foreign = send_page(r, "GET", &log_page, &other.cookie, None, None).await;
        assert_eq!(foreign.status, 403);

        send_page(
            r,
            "POST",
            page,
            &maint.cookie,
            Some(&toggle("delete")),
            None,
        )
        .await;
        assert!(store.webhooks(1).await.unwrap().is_empty());

        // A maintainer asks for a recheck from the patch page.
        let (_, patch) = support::get(r, &format!("/api/patches/{}/", f.patch), None).await;
        let page_url = patch["web_url"]
            .as_str()
            .unwrap()
            .replace("http://pw.example.org", "");
        let shown = send_page(r, "GET", &page_url, &maint.cookie, None, None).await;
        assert!(shown.body.contains("recheck-form"), "for maintainers");
        let visitor = send_page(r, "GET", &page_url, &other.cookie, None, None).await;
        assert!(!visitor.body.contains("recheck-form"), "not for others");
        let ask = format!(
            "csrfmiddlewaretoken={}&action=recheck&contexts=ci%2C+bad%2Fone",
            maint.csrf
        );
        let reply = send_page(r, "POST", &page_url, &maint.cookie, Some(&ask), None).await;
        assert_eq!(reply.status, 302);
        let (_, events) =
            support::get(r, "/api/1.5/events/?category=recheck-requested", None).await;
        assert_eq!(events[0]["payload"]["contexts"], serde_json::json!(["ci"]));
        let refused = send_page(
            r,
            "POST",
            &page_url,
            &other.cookie,
            Some(&ask.replace(&maint.csrf, &other.csrf)),
            None,
        )
        .await;
        assert_eq!(refused.status, 403);

        // Scoped tokens from the profile page: a checks token only for
        // projects one maintains.
        let mint = |user: &support::Session, scope: &str, project: &str| {
            format!(
                "csrfmiddlewaretoken={}&action=mint&name=ci&scope={scope}{project}&expires_days=30",
                user.csrf
            )
        };
        let made = send_page(
            r,
            "POST",
            "/user/",
            &maint.cookie,
            Some(&mint(&maint, "checks", "&project=proj")),
            None,
        )
        .await;
        assert_eq!(made.status, 200, "{}", made.body);
        assert!(made.body.contains("id=\"scoped-token\""));
        assert!(made.body.contains("checks on proj"));
        let refused = send_page(
            r,
            "POST",
            "/user/",
            &other.cookie,
            Some(&mint(&other, "checks", "&project=proj")),
            None,
        )
        .await;
        assert_eq!(refused.status, 302, "not a maintainer of proj");
        let other_id = store
            .user_by_username("other")
            .await
            .unwrap()
            .unwrap()
            .user
            .id;
        assert!(store.tokens_of(other_id).await.unwrap().is_empty());
        let maint_id = store
            .user_by_username("maint")
            .await
            .unwrap()
            .unwrap()
            .user
            .id;
        let tokens = store.tokens_of(maint_id).await.unwrap();
        assert_eq!(tokens.len(), 1);
        assert!(tokens[0].expires.is_some());
        let revoke = format!(
            "csrfmiddlewaretoken={}&action=revoke-scoped&token={}",
            maint.csrf, tokens[0].id
        );
        send_page(r, "POST", "/user/", &maint.cookie, Some(&revoke), None).await;
        assert!(store.tokens_of(maint_id).await.unwrap().is_empty());
    }
}
