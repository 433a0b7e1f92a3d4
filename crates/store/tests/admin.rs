//! What the admin pages change, on both engines: states reordered and
//! deleted only when unused, tags and projects edited with their
//! checks, maintainers and delegation rules, people linked and merged,
//! accounts deactivated without losing their patches, and the admin log.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use patchtrack_store::{
    Failure, IngestOptions, JobStatus, Move, NewJob, NewUser, Outcome, Refused, RetryPolicy, Store,
    StoreError,
};

fn mail(from: &str, msgid: &str, subject: &str) -> String {
    format!(
        "From: {from}\nSubject: {subject}\nMessage-Id: <{msgid}>\n\
         Date: Mon, 3 Feb 2020 04:05:06 +0000\n\nChange.\n---\n\
         diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
    )
}

async fn ingest(store: &Store, text: &str) -> i64 {
    let opts = IngestOptions {
        list_id: Some("p.example.org".into()),
    };
    match store.ingest(text.as_bytes(), &opts).await.unwrap() {
        Outcome::Patch { id } => id,
        other => panic!("{other:?}"),
    }
}

async fn user(store: &Store, name: &str) -> i64 {
    store
        .add_user(&NewUser {
            username: name.into(),
            email: format!("{name}@example.org"),
            password: None,
            superuser: false,
            maintainer_of: vec![],
        })
        .await
        .unwrap()
}

fn names(states: &[patchtrack_store::State]) -> Vec<String> {
    states.iter().map(|s| s.name.clone()).collect()
}

#[tokio::test]
async fn states_reorder_rename_and_delete_only_when_unused() {
    for store in common::stores().await {
        common::project(&store, "p", "p.example.org").await;
        let added = store.add_state("Needs Ack", true).await.unwrap();
        store.move_state(added.id, Move::Up).await.unwrap();
        let states = store.states().await.unwrap();
        let n = states.len();
        assert_eq!(states[n - 2].name, "Needs Ack");
        assert_eq!(states[n - 1].name, "Deferred");
        // At the ends nothing moves.
        store.move_state(1, Move::Up).await.unwrap();
        assert_eq!(store.states().await.unwrap()[0].name, "New");
        let renamed = store.rename_state(added.id, "Needs ACKs").await.unwrap();
        assert_eq!(renamed.slug, "needs-acks");
        assert!(matches!(
            store.rename_state(added.id, "Accepted").await,
            Err(StoreError::Invalid(_))
        ));
        store
            .set_state_action_required(added.id, false)
            .await
            .unwrap();
        assert!(
            !store
                .states()
                .await
                .unwrap()
                .iter()
                .any(|s| s.id == added.id && s.action_required)
        );
        // A state with a patch in it stays.
        ingest(&store, &mail("A <a@example.org>", "m1@x", "[PATCH] one")).await;
        assert_eq!(
            store.delete_state(1).await.unwrap(),
            Err(Refused::StateInUse {
                patches: 1,
                events: 0
            })
        );
        // Deleting the first unused state closes the gap: a state keeps
        // ordering 0 and new mail still gets a state.
        let before = names(&store.states().await.unwrap());
        store.move_state(added.id, Move::Up).await.unwrap();
        for _ in 0..n {
            store.move_state(added.id, Move::Up).await.unwrap();
        }
        assert_eq!(store.states().await.unwrap()[0].id, added.id);
        store.delete_state(added.id).await.unwrap().unwrap();
        let after = store.states().await.unwrap();
        let orderings: Vec<i64> = after.iter().map(|s| s.ordering).collect();
        assert_eq!(
            orderings,
            (0..i64::try_from(n - 1).unwrap()).collect::<Vec<_>>()
        );
        let mut expected = before.clone();
        expected.retain(|s| s != "Needs ACKs");
        assert_eq!(names(&after), expected);
        let id = ingest(&store, &mail("A <a@example.org>", "m2@x", "[PATCH] two")).await;
        assert_eq!(store.patch(id).await.unwrap().unwrap().state, "new");
        assert_eq!(
            store.delete_state(9999).await.unwrap(),
            Err(Refused::NoSuchObject {
                field: "state",
                id: 9999
            })
        );
    }
}

#[tokio::test]
async fn tags_and_projects_are_edited_with_their_checks() {
    for store in common::stores().await {
        let mut p = common::project(&store, "p", "p.example.org").await;
        let mut tag = store.tags().await.unwrap().remove(0);
        tag.pattern = "^Acked-(by".into();
        assert!(matches!(
            store.update_tag(&tag).await,
            Err(StoreError::Invalid(_))
        ));
        tag.pattern = "^Acked-by:".into();
        tag.abbrev = "R".into();
        assert!(matches!(
            store.update_tag(&tag).await,
            Err(StoreError::Invalid(_))
        ));
        tag.abbrev = "Ak".into();
        tag.show_column = false;
        store.update_tag(&tag).await.unwrap();
        let saved = store.tags().await.unwrap().remove(0);
        assert_eq!((saved.abbrev.as_str(), saved.show_column), ("Ak", false));
        p.linkname = "renamed".into();
        p.use_tags = false;
        p.send_notifications = true;
        store.update_project(&p).await.unwrap();
        let saved = store.project_by_linkname("renamed").await.unwrap().unwrap();
        assert_eq!(saved, p);
        p.linkname = "not a slug".into();
        assert!(matches!(
            store.update_project(&p).await,
            Err(StoreError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn maintainers_and_delegation_rules() {
    for store in common::stores().await {
        let p = common::project(&store, "p", "p.example.org").await;
        let alice = user(&store, "alice").await;
        assert_eq!(store.add_maintainer(p.id, "alice").await.unwrap(), alice);
        store.add_maintainer(p.id, "alice").await.unwrap();
        assert!(matches!(
            store.add_maintainer(p.id, "nobody").await,
            Err(StoreError::NotFound(_))
        ));
        let m = store.maintainers(&[p.id]).await.unwrap();
        assert_eq!(m[&p.id].len(), 1);
        store
            .add_delegation_rule(p.id, "alice", "drivers/*", 5)
            .await
            .unwrap();
        assert!(matches!(
            store
                .add_delegation_rule(p.id, "alice", "drivers/*", 1)
                .await,
            Err(StoreError::Invalid(_))
        ));
        let rules = store.delegation_rules(p.id).await.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            (rules[0].path.as_str(), rules[0].priority, rules[0].user.id),
            ("drivers/*", 5, alice)
        );
        assert!(
            store
                .remove_delegation_rule(p.id, rules[0].id)
                .await
                .unwrap()
        );
        assert!(store.delegation_rules(p.id).await.unwrap().is_empty());
        assert!(store.remove_maintainer(p.id, alice).await.unwrap());
        assert!(!store.remove_maintainer(p.id, alice).await.unwrap());
        assert!(store.maintainers(&[p.id]).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn people_are_linked_and_merged_in_one_go() {
    for store in common::stores().await {
        common::project(&store, "p", "p.example.org").await;
        let alice = user(&store, "alice").await;
        let one = ingest(
            &store,
            &mail("A One <a1@example.org>", "m1@x", "[PATCH] one"),
        )
        .await;
        let two = ingest(
            &store,
            &mail("A Two <a2@example.org>", "m2@x", "[PATCH] two"),
        )
        .await;
        let keep = store.patch(one).await.unwrap().unwrap().submitter.id;
        let dup = store.patch(two).await.unwrap().unwrap().submitter.id;
        assert!(store.link_person(dup, Some("alice")).await.unwrap());
        assert!(matches!(
            store.link_person(dup, Some("nobody")).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(!store.link_person(99_999, None).await.unwrap());
        assert_eq!(store.merge_people(keep, keep).await.unwrap(), None);
        assert_eq!(store.merge_people(keep, 99_999).await.unwrap(), None);
        let merged = store.merge_people(keep, dup).await.unwrap().unwrap();
        assert_eq!((merged.patches, merged.series), (1, 1));
        assert_eq!(store.patch(two).await.unwrap().unwrap().submitter.id, keep);
        assert!(store.person(dup).await.unwrap().is_none());
        // The kept person took the duplicate's account.
        let kept = store.person(keep).await.unwrap().unwrap();
        assert_eq!(kept.user.map(|u| u.id), Some(alice));
        // Mail from the merged-away address makes a new person again.
        let three = ingest(
            &store,
            &mail("A Two <a2@example.org>", "m3@x", "[PATCH] three"),
        )
        .await;
        // (SQLite may give it the duplicate's old id, the highest one.)
        let new = store.patch(three).await.unwrap().unwrap().submitter;
        assert_ne!(new.id, keep);
        assert_eq!(new.email, "a2@example.org");
    }
}

/// Deactivating an account logs it out and never loses what it holds,
/// even an account whose registration was never confirmed (which expiry
/// would delete, cascading over the patches delegated to it).
#[tokio::test]
async fn a_deactivated_delegate_keeps_their_patches() {
    for store in common::stores().await {
        common::project(&store, "p", "p.example.org").await;
        let account = store
            .register(
                &patchtrack_store::NewAccount {
                    username: "late".into(),
                    email: "late@example.org".into(),
                    password: "pw-pw-pw-pw".into(),
                    first_name: String::new(),
                    last_name: String::new(),
                },
                |_key| {
                    patchtrack_store::OutgoingMail::new(
                        "late@example.org",
                        "confirm",
                        "confirm\n".into(),
                    )
                },
            )
            .await;
        let late = account.unwrap().unwrap();
        assert!(
            store
                .set_account_flags(late, None, Some(true))
                .await
                .unwrap()
        );
        let text = mail("A <a@example.org>", "m1@x", "[PATCH] one").replace(
            "Subject:",
            "X-Patchwork-Delegate: late@example.org\nSubject:",
        );
        let id = ingest(&store, &text).await;
        assert_eq!(
            store
                .patch(id)
                .await
                .unwrap()
                .unwrap()
                .delegate
                .map(|u| u.id),
            Some(late)
        );
        let (session, _) = store.create_session(late).await.unwrap();
        assert!(
            store
                .set_account_flags(late, Some(true), Some(false))
                .await
                .unwrap()
        );
        assert!(store.session(&session).await.unwrap().is_none());
        store.expire_confirmations(Duration::ZERO).await.unwrap();
        assert!(store.user(late).await.unwrap().is_some());
        assert_eq!(
            store
                .patch(id)
                .await
                .unwrap()
                .unwrap()
                .delegate
                .map(|u| u.id),
            Some(late)
        );
        let accounts = store.accounts(&["late".into()], 10).await.unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!((accounts[0].superuser, accounts[0].active), (true, false));
        assert!(
            !store
                .set_account_flags(99_999, Some(true), None)
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn the_log_and_the_queue_counts() {
    for store in common::stores().await {
        let alice = user(&store, "alice").await;
        store
            .record_admin_action(alice, "alice", "state.add", "state 11", "\"X\"")
            .await
            .unwrap();
        store
            .record_admin_action(alice, "alice", "tag.edit", "tag 1", "")
            .await
            .unwrap();
        let log = store.admin_log(10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["tag.edit", "state.add"]);
        assert_eq!(log[1].actor_id, Some(alice));
        let id = store
            .enqueue(&NewJob::new("mail", "x".into()))
            .await
            .unwrap();
        let jobs = store
            .claim_jobs(&["mail"], "w", 1, Duration::from_secs(60))
            .await
            .unwrap();
        store
            .fail_job(
                &jobs[0],
                "w",
                "refused",
                Failure::Permanent,
                &RetryPolicy::default(),
            )
            .await
            .unwrap();
        let counts = store.job_counts().await.unwrap();
        assert_eq!(
            counts,
            [
                (JobStatus::Pending, 0),
                (JobStatus::Done, 0),
                (JobStatus::Failed, 1)
            ]
        );
        assert!(store.retry_job(id).await.unwrap());
        assert_eq!(
            store.job_counts().await.unwrap()[0],
            (JobStatus::Pending, 1)
        );
    }
}
