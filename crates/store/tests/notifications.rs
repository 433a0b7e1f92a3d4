//! Patch state-change notifications on both engines: what a change
//! records (reference §6.1) and what a sending run makes of it: one digest
//! per submitter, held while any of their changes is younger than the
//! delay, dropped for opted-out and unmailable addresses.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use patchtrack_store::{
    ConfirmationKind, Digest, IngestOptions, NewUser, Outcome, OutgoingMail, PatchUpdate,
    Principal, Project, Store,
};

const LEASE: Duration = Duration::from_secs(60);

fn mail(from: &str, msgid: &str, subject: &str, list: &str) -> Vec<u8> {
    format!(
        "From: {from}\n\
         To: {list}\n\
         List-Id: <{list}>\n\
         Subject: [PATCH] {subject}\n\
         Message-Id: <{msgid}>\n\
         Date: Mon, 3 Feb 2020 04:05:07 +0000\n\
         \n\
         A change.\n\
         ---\n\
         diff --git a/f b/f\n\
         --- a/f\n\
         +++ b/f\n\
         @@ -1 +1 @@\n\
         -a\n\
         +{subject}\n"
    )
    .into_bytes()
}

/// A project sending notifications (or not), receiving `<linkname>.example.org`.
async fn project(store: &Store, linkname: &str, notify: bool) -> Project {
    let mut p = common::project(store, linkname, &format!("{linkname}.example.org")).await;
    p.send_notifications = notify;
    store.update_project(&p).await.unwrap();
    p
}

async fn patch(store: &Store, from: &str, msgid: &str, linkname: &str) -> i64 {
    let opts = IngestOptions::default();
    let list = format!("{linkname}.example.org");
    match store
        .ingest(&mail(from, msgid, msgid, &list), &opts)
        .await
        .unwrap()
    {
        Outcome::Patch { id } => id,
        other => panic!("not a patch: {other:?}"),
    }
}

/// A user (linked to the person with `email`) maintaining `projects`.
async fn user(store: &Store, name: &str, email: &str, projects: &[&str]) -> Principal {
    store
        .add_user(&NewUser {
            username: name.into(),
            email: email.into(),
            password: None,
            superuser: false,
            maintainer_of: projects.iter().map(|p| p.to_string()).collect(),
        })
        .await
        .unwrap();
    let token = store.create_token(name).await.unwrap();
    store.authenticate_token(&token).await.unwrap().unwrap()
}

async fn state(store: &Store, slug: &str) -> i64 {
    store.state_for_input(slug).await.unwrap().unwrap()
}

async fn set_state(store: &Store, who: &Principal, patch: i64, slug: &str) {
    let update = PatchUpdate {
        state: Some(state(store, slug).await),
        ..PatchUpdate::default()
    };
    store
        .update_patch(who, patch, &update)
        .await
        .unwrap()
        .unwrap();
}

/// The pending notifications as `(patch, orig_state)`.
async fn pending(store: &Store) -> Vec<(i64, i64)> {
    store
        .pending_notifications()
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.patch_id, n.orig_state_id))
        .collect()
}

/// The mails queued since the last call.
async fn queued(store: &Store) -> Vec<OutgoingMail> {
    let jobs = store.claim_jobs(&["mail"], "t", 100, LEASE).await.unwrap();
    let mut out = Vec::new();
    for j in jobs {
        store.complete_job(j.id, "t").await.unwrap();
        out.push(OutgoingMail::from_payload(&j.payload).unwrap());
    }
    out
}

/// A digest as a test mail: the recipient, the linknames in the subject,
/// one body line per patch.
fn compose(d: &Digest) -> OutgoingMail {
    let lines: String = d
        .patches
        .iter()
        .map(|p| format!("{}: {} {} -> {}\n", p.linkname, p.name, p.was, p.now))
        .collect();
    OutgoingMail::new(
        &d.email,
        &format!("[{}] {}", d.linknames().join(","), d.patches.len()),
        lines,
    )
}

async fn send(store: &Store, delay: Duration) -> patchtrack_store::NotificationRun {
    store.send_notifications(delay, compose).await.unwrap()
}

#[tokio::test]
async fn a_state_change_records_the_old_state_and_later_changes_keep_it() {
    for store in common::stores().await {
        project(&store, "p", true).await;
        let maint = user(&store, "maint", "maint@example.org", &["p"]).await;
        let id = patch(&store, "Sub <sub@example.org>", "a@x", "p").await;
        let new = state(&store, "new").await;
        set_state(&store, &maint, id, "under-review").await;
        let first = store.pending_notifications().await.unwrap();
        assert_eq!(pending(&store).await, vec![(id, new)]);
        // A later change keeps the original state and moves the time.
        tokio::time::sleep(Duration::from_millis(5)).await;
        set_state(&store, &maint, id, "accepted").await;
        let later = store.pending_notifications().await.unwrap();
        assert_eq!(pending(&store).await, vec![(id, new)]);
        assert!(later[0].last_modified > first[0].last_modified);
        // Setting the same state again is no change.
        set_state(&store, &maint, id, "accepted").await;
        assert_eq!(
            store.pending_notifications().await.unwrap()[0].last_modified,
            later[0].last_modified
        );
        // Back to the original state: nothing to tell.
        set_state(&store, &maint, id, "new").await;
        assert_eq!(pending(&store).await, vec![]);
    }
}

#[tokio::test]
async fn delegate_and_archive_changes_do_not_notify() {
    for store in common::stores().await {
        project(&store, "p", true).await;
        let maint = user(&store, "maint", "maint@example.org", &["p"]).await;
        let id = patch(&store, "Sub <sub@example.org>", "a@x", "p").await;
        let update = PatchUpdate {
            delegate: Some(Some(maint.user.id)),
            archived: Some(true),
            commit_ref: Some(Some("abc".into())),
            ..PatchUpdate::default()
        };
        store
            .update_patch(&maint, id, &update)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pending(&store).await, vec![]);
    }
}

#[tokio::test]
async fn projects_without_notifications_record_none() {
    for store in common::stores().await {
        project(&store, "quiet", false).await;
        let maint = user(&store, "maint", "maint@example.org", &["quiet"]).await;
        let id = patch(&store, "Sub <sub@example.org>", "a@x", "quiet").await;
        set_state(&store, &maint, id, "accepted").await;
        assert_eq!(pending(&store).await, vec![]);
    }
}

#[tokio::test]
async fn the_submitters_own_changes_record_none() {
    for store in common::stores().await {
        project(&store, "p", true).await;
        // The submitter has an account linked to their address; they may
        // edit their own patch, and are not told about what they did.
        let sub = user(&store, "sub", "Sub@Example.org", &[]).await;
        let maint = user(&store, "maint", "maint@example.org", &["p"]).await;
        let id = patch(&store, "Sub <sub@example.org>", "a@x", "p").await;
        assert!(store.can_edit_patch(&sub, id).await.unwrap());
        set_state(&store, &sub, id, "superseded").await;
        assert_eq!(pending(&store).await, vec![]);
        // A maintainer's change is told; the submitter's later change
        // still moves it (or cancels it when it goes back).
        set_state(&store, &maint, id, "accepted").await;
        let superseded = state(&store, "superseded").await;
        assert_eq!(pending(&store).await, vec![(id, superseded)]);
        set_state(&store, &sub, id, "rfc").await;
        assert_eq!(pending(&store).await, vec![(id, superseded)]);
        set_state(&store, &sub, id, "superseded").await;
        assert_eq!(pending(&store).await, vec![]);
    }
}

#[tokio::test]
async fn the_delay_holds_everything_of_a_recipient_with_a_recent_change() {
    for store in common::stores().await {
        project(&store, "p", true).await;
        let maint = user(&store, "maint", "maint@example.org", &["p"]).await;
        let a = patch(&store, "Sub <sub@example.org>", "a@x", "p").await;
        let b = patch(&store, "Sub <sub@example.org>", "b@x", "p").await;
        set_state(&store, &maint, a, "accepted").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        set_state(&store, &maint, b, "rejected").await;
        // `a` is old enough, `b` is not: both wait.
        let run = send(&store, Duration::from_millis(200)).await;
        assert_eq!((run.mails, run.held), (0, 1));
        assert_eq!(pending(&store).await.len(), 2);
        assert!(queued(&store).await.is_empty());
        // The default ten minutes hold them too.
        let run = send(&store, patchtrack_store::NOTIFICATION_DELAY).await;
        assert_eq!((run.mails, run.held), (0, 1));
        // Once both are old enough, one mail tells both.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let run = send(&store, Duration::from_millis(200)).await;
        assert_eq!((run.mails, run.patches, run.held), (1, 2, 0));
        assert_eq!(pending(&store).await, vec![]);
        let mails = queued(&store).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "sub@example.org");
        assert_eq!(
            mails[0].body,
            "p: a@x New -> Accepted\np: b@x New -> Rejected\n"
        );
        // Nothing is sent twice.
        assert_eq!(send(&store, Duration::ZERO).await.mails, 0);
        assert!(queued(&store).await.is_empty());
    }
}

#[tokio::test]
async fn one_digest_per_submitter_across_projects() {
    for store in common::stores().await {
        project(&store, "zeta", true).await;
        project(&store, "alpha", true).await;
        let maint = user(&store, "maint", "maint@example.org", &["zeta", "alpha"]).await;
        let z1 = patch(&store, "Sub <sub@example.org>", "z1@x", "zeta").await;
        let a1 = patch(&store, "Sub <sub@example.org>", "a1@x", "alpha").await;
        let z2 = patch(&store, "Sub <sub@example.org>", "z2@x", "zeta").await;
        let other = patch(&store, "Oth <oth@example.org>", "o1@x", "alpha").await;
        for id in [z1, a1, z2, other] {
            set_state(&store, &maint, id, "changes-requested").await;
        }
        let run = send(&store, Duration::ZERO).await;
        assert_eq!((run.mails, run.patches), (2, 4));
        let mut mails = queued(&store).await;
        mails.sort_by(|a, b| a.to.cmp(&b.to));
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].to, "oth@example.org");
        assert_eq!(mails[0].subject, "[alpha] 1");
        assert_eq!(mails[1].to, "sub@example.org");
        // Linknames sorted and once each; patches by id.
        assert_eq!(mails[1].subject, "[alpha,zeta] 3");
        assert_eq!(
            mails[1].body,
            "zeta: z1@x New -> Changes Requested\n\
             alpha: a1@x New -> Changes Requested\n\
             zeta: z2@x New -> Changes Requested\n"
        );
        assert_eq!(pending(&store).await, vec![]);
    }
}

#[tokio::test]
async fn opted_out_addresses_lose_their_notifications_without_mail() {
    for store in common::stores().await {
        project(&store, "p", true).await;
        let maint = user(&store, "maint", "maint@example.org", &["p"]).await;
        // Opted out under another case than the patch's address.
        store
            .request_confirmation(ConfirmationKind::OptOut, "SUB@example.org", None, |k| {
                OutgoingMail::new("SUB@example.org", "opt-out", k.to_string())
            })
            .await
            .unwrap();
        let key = queued(&store).await.pop().unwrap().body;
        let c = store.confirmation(&key).await.unwrap().unwrap();
        assert!(store.confirm(&c).await.unwrap());
        assert!(store.is_opted_out("sub@example.org").await.unwrap());
        let id = patch(&store, "Sub <Sub@Example.org>", "a@x", "p").await;
        let kept = patch(&store, "Oth <oth@example.org>", "b@x", "p").await;
        set_state(&store, &maint, id, "accepted").await;
        set_state(&store, &maint, kept, "accepted").await;
        let run = send(&store, Duration::ZERO).await;
        assert_eq!((run.mails, run.opted_out), (1, 1));
        let mails = queued(&store).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "oth@example.org");
        assert_eq!(pending(&store).await, vec![]);
    }
}

#[tokio::test]
async fn an_empty_address_is_an_error_and_its_notifications_go() {
    for store in common::stores().await {
        project(&store, "p", true).await;
        let maint = user(&store, "maint", "maint@example.org", &["p"]).await;
        // A list that rewrote From: (DMARC) and kept an empty original
        // sender: the person has no address (Patchwork's parseaddr gives
        // '' too).
        let raw = String::from_utf8(mail(
            "Sub via p <p@lists.example.org>",
            "a@x",
            "a@x",
            "p.example.org",
        ))
        .unwrap()
        .replacen("Subject:", "X-Original-From: <>\nSubject:", 1);
        let id = match store
            .ingest(raw.as_bytes(), &IngestOptions::default())
            .await
            .unwrap()
        {
            Outcome::Patch { id } => id,
            other => panic!("not a patch: {other:?}"),
        };
        let submitter = store.patch(id).await.unwrap().unwrap().submitter;
        set_state(&store, &maint, id, "accepted").await;
        assert_eq!(pending(&store).await.len(), 1);
        let run = send(&store, Duration::ZERO).await;
        assert_eq!(run.mails, 0);
        assert_eq!(run.failed.len(), 1, "{run:?} (submitter {submitter:?})");
        assert_eq!(pending(&store).await, vec![]);
        assert!(queued(&store).await.is_empty());
    }
}
