//! Accounts by mail on both engines: registration, confirmation, linking
//! and unlinking addresses, opting out and in, password resets, expiry.
//! Every confirmation's mail is queued with it; the key in the mail is
//! what confirms.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use patchtrack_store::{
    AccountRefused, ConfirmationKind, IngestOptions, Job, NewAccount, NewUser, Outcome,
    OutgoingMail, Page, Store, UnlinkRefused,
};

const LEASE: Duration = Duration::from_secs(60);

/// The mails queued since the last call, with their keys (the text after
/// `key=` in the test bodies below).
async fn sent(store: &Store) -> Vec<(OutgoingMail, String)> {
    let jobs: Vec<Job> = store.claim_jobs(&["mail"], "t", 100, LEASE).await.unwrap();
    let mut out = Vec::new();
    for j in jobs {
        store.complete_job(j.id, "t").await.unwrap();
        let mail = OutgoingMail::from_payload(&j.payload).unwrap();
        let key = mail
            .body
            .split("key=")
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_string();
        out.push((mail, key));
    }
    out
}

fn mail(to: &str, key: &str) -> OutgoingMail {
    OutgoingMail::new(to, "Patchwork account confirmation", format!("key={key}\n"))
}

fn account(username: &str, email: &str) -> NewAccount {
    NewAccount {
        username: username.into(),
        email: email.into(),
        password: "s3cret".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

async fn logs_in(store: &Store, user: &str, password: &str) -> bool {
    store
        .authenticate_password(user, password)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn a_registration_is_inactive_until_its_mail_is_confirmed() {
    for store in common::stores().await {
        let id = store
            .register(&account("ada", "Ada@Example.org"), |k| {
                mail("Ada@Example.org", k)
            })
            .await
            .unwrap()
            .unwrap();
        assert!(!logs_in(&store, "ada", "s3cret").await, "inactive");
        let mails = sent(&store).await;
        assert_eq!(mails.len(), 1);
        let (m, key) = &mails[0];
        assert_eq!(m.to, "Ada@Example.org");
        assert_eq!(key.len(), 40);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        // Taken names and addresses, in any case.
        let again = store
            .register(&account("ADA", "other@example.org"), |k| mail("x", k))
            .await
            .unwrap();
        assert_eq!(again, Err(AccountRefused::UsernameTaken));
        let again = store
            .register(&account("bob", "ada@EXAMPLE.org"), |k| mail("x", k))
            .await
            .unwrap();
        assert_eq!(again, Err(AccountRefused::EmailInUse("ada".into())));
        assert!(sent(&store).await.is_empty(), "refusals send nothing");
        // Unknown keys find nothing.
        assert!(store.confirmation(&"0".repeat(40)).await.unwrap().is_none());
        let c = store.confirmation(key).await.unwrap().unwrap();
        assert_eq!(c.kind, ConfirmationKind::Registration);
        assert_eq!(c.user_id, Some(id));
        assert!(c.active && !c.is_expired(Duration::from_secs(3600)));
        assert!(store.confirm(&c).await.unwrap());
        assert!(!store.confirm(&c).await.unwrap(), "once only");
        assert!(!store.confirmation(key).await.unwrap().unwrap().active);
        assert!(logs_in(&store, "ada", "s3cret").await);
        // The person with that address is the account's, named after it.
        let people = store
            .people(
                &["ada@example.org".into()],
                &[],
                Page {
                    number: 1,
                    size: 100,
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(people.items.len(), 1);
        let p = &people.items[0];
        assert_eq!(p.person.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(p.user.as_ref().map(|u| u.id), Some(id));
    }
}

#[tokio::test]
async fn linking_opting_out_and_in() {
    for store in common::stores().await {
        // A patch from the address about to be linked, in one of two projects.
        common::project(&store, "quiet", "quiet.example.org").await;
        let posted = common::project(&store, "busy", "busy.example.org").await;
        let patch = b"From: Carol <carol@work.example>\nSubject: [PATCH] fix\n\
Message-Id: <carol-1@work.example>\nList-Id: <busy.example.org>\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\n\nFix.\n---\n\
diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
        let outcome = store
            .ingest(patch, &IngestOptions::default())
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Patch { .. }), "{outcome:?}");
        let uid = store
            .add_user(&NewUser {
                username: "carol".into(),
                email: "carol@example.org".into(),
                password: Some("pw".into()),
                ..NewUser::default()
            })
            .await
            .unwrap();
        store
            .request_confirmation(
                ConfirmationKind::LinkAddress,
                "carol@work.example",
                Some(uid),
                |k| mail("carol@work.example", k),
            )
            .await
            .unwrap();
        let (_, key) = sent(&store).await.remove(0);
        let c = store.confirmation(&key).await.unwrap().unwrap();
        assert_eq!(c.kind, ConfirmationKind::LinkAddress);
        assert!(store.confirm(&c).await.unwrap());
        let linked = store
            .people(
                &["carol".into()],
                &[],
                Page {
                    number: 1,
                    size: 100,
                },
            )
            .await
            .unwrap()
            .unwrap()
            .items;
        assert_eq!(linked.len(), 2, "{linked:?}");
        assert!(
            linked
                .iter()
                .all(|p| p.user.as_ref().map(|u| u.id) == Some(uid))
        );
        let work = linked
            .iter()
            .find(|p| p.person.email == "carol@work.example")
            .unwrap();
        let primary = linked
            .iter()
            .find(|p| p.person.email == "carol@example.org")
            .unwrap();
        let mine: Vec<String> = store
            .people_of_user(uid)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.email)
            .collect();
        assert_eq!(mine, ["carol@example.org", "carol@work.example"]);
        assert_eq!(
            store.projects_contributed_to(uid).await.unwrap(),
            [posted.id]
        );
        // Unlinking: only one's own, never the primary address.
        let other = store
            .add_user(&NewUser {
                username: "mallory".into(),
                email: "m@example.org".into(),
                ..NewUser::default()
            })
            .await
            .unwrap();
        assert_eq!(
            store.unlink_person(other, work.person.id).await.unwrap(),
            Err(UnlinkRefused::NotYours)
        );
        assert_eq!(
            store.unlink_person(uid, primary.person.id).await.unwrap(),
            Err(UnlinkRefused::Primary)
        );
        assert_eq!(
            store.unlink_person(uid, work.person.id).await.unwrap(),
            Ok(())
        );
        assert_eq!(store.people_of_user(uid).await.unwrap().len(), 1);
        assert!(store.projects_contributed_to(uid).await.unwrap().is_empty());
        assert!(
            store
                .person(work.person.id)
                .await
                .unwrap()
                .unwrap()
                .user
                .is_none()
        );

        // Opting out stores the address lower-cased; opting in removes it.
        assert!(!store.is_opted_out("Carol@Example.org").await.unwrap());
        for _ in 0..2 {
            store
                .request_confirmation(ConfirmationKind::OptOut, "Carol@Example.org", None, |k| {
                    mail("Carol@Example.org", k)
                })
                .await
                .unwrap();
            let (_, key) = sent(&store).await.remove(0);
            let c = store.confirmation(&key).await.unwrap().unwrap();
            assert!(
                store.confirm(&c).await.unwrap(),
                "a second opt-out is harmless"
            );
        }
        assert!(store.is_opted_out("carol@example.ORG").await.unwrap());
        store
            .request_confirmation(ConfirmationKind::OptIn, "carol@example.org", None, |k| {
                mail("carol@example.org", k)
            })
            .await
            .unwrap();
        let (_, key) = sent(&store).await.remove(0);
        let c = store.confirmation(&key).await.unwrap().unwrap();
        assert!(store.confirm(&c).await.unwrap());
        assert!(!store.is_opted_out("carol@example.org").await.unwrap());
    }
}

#[tokio::test]
async fn a_password_reset_link_works_once_for_its_account_only() {
    for store in common::stores().await {
        let uid = store
            .add_user(&NewUser {
                username: "dave".into(),
                email: "dave@example.org".into(),
                password: Some("old".into()),
                ..NewUser::default()
            })
            .await
            .unwrap();
        let (cookie, _) = store.create_session(uid).await.unwrap();
        // Unknown addresses and accounts without a password get nothing.
        let compose = |id: i64, name: &str, key: &str| {
            OutgoingMail::new(
                "dave@example.org",
                "reset",
                format!("{id} {name} key={key}"),
            )
        };
        assert_eq!(
            store
                .request_password_reset("nobody@example.org", compose)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .request_password_reset("DAVE@example.org", compose)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .request_password_reset("dave@example.org", compose)
                .await
                .unwrap(),
            1
        );
        let mails = sent(&store).await;
        assert_eq!(mails.len(), 2);
        assert!(mails[0].0.body.starts_with(&format!("{uid} dave ")));
        let (first, second) = (&mails[0].1, &mails[1].1);
        // A reset key is no confirmation for /confirm/.
        let c = store.confirmation(first).await.unwrap().unwrap();
        assert_eq!(c.kind, ConfirmationKind::PasswordReset);
        assert!(store.confirm(&c).await.is_err());
        assert_eq!(
            store.password_reset_account(uid, first).await.unwrap(),
            Some(uid)
        );
        assert_eq!(
            store.password_reset_account(uid + 1, first).await.unwrap(),
            None
        );
        assert!(!store.reset_password(uid + 1, first, "new").await.unwrap());
        assert!(store.reset_password(uid, first, "new").await.unwrap());
        assert!(logs_in(&store, "dave", "new").await);
        assert!(!logs_in(&store, "dave", "old").await);
        assert!(
            store.session(&cookie).await.unwrap().is_none(),
            "logged out everywhere"
        );
        // Used up, and so is the other link.
        assert!(!store.reset_password(uid, first, "again").await.unwrap());
        assert!(!store.reset_password(uid, second, "again").await.unwrap());
        assert_eq!(
            store.password_reset_account(uid, second).await.unwrap(),
            None
        );
        assert!(logs_in(&store, "dave", "new").await);
    }
}

#[tokio::test]
async fn expiry_removes_old_confirmations_and_abandoned_registrations_only() {
    for store in common::stores().await {
        // Confirmed, abandoned, and an account an admin deactivated later.
        for name in ["kept", "abandoned"] {
            store
                .register(&account(name, &format!("{name}@example.org")), |k| {
                    mail("x@example.org", k)
                })
                .await
                .unwrap()
                .unwrap();
        }
        let (_, key) = sent(&store).await.remove(0);
        let c = store.confirmation(&key).await.unwrap().unwrap();
        assert!(store.confirm(&c).await.unwrap());
        store
            .request_confirmation(ConfirmationKind::OptOut, "o@example.org", None, |k| {
                mail("o@example.org", k)
            })
            .await
            .unwrap();
        // Within the validity nothing goes but what was used.
        let e = store
            .expire_confirmations(Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!((e.confirmations, e.accounts), (1, 0));
        assert!(store.user_by_username("abandoned").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(5)).await;
        let e = store.expire_confirmations(Duration::ZERO).await.unwrap();
        assert_eq!(e.accounts, 1);
        assert!(store.user_by_username("abandoned").await.unwrap().is_none());
        assert!(store.user_by_username("kept").await.unwrap().is_some());
        // The opt-out confirmation (the abandoned registration's went with
        // its account).
        assert_eq!(e.confirmations, 1);
        // Its person stays, unlinked.
        let p = store
            .people(
                &["abandoned@example.org".into()],
                &[],
                Page {
                    number: 1,
                    size: 100,
                },
            )
            .await
            .unwrap()
            .unwrap()
            .items;
        assert!(p.is_empty(), "never confirmed, so never linked: {p:?}");
        let e = store.expire_confirmations(Duration::ZERO).await.unwrap();
        assert_eq!((e.confirmations, e.accounts), (0, 0));
    }
}
