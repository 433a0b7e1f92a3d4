//! State-change notifications end to end, with the real binary: a
//! maintainer changes patches through the REST API of a running
//! `patchtrack serve`, and `patchtrack cron` (or serve's own periodic pass)
//! turns the changes into one digest per submitter, delivered to a real
//! SMTP server (aiosmtpd); the link in the mail opens the patch.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
#[path = "../../worker/tests/support/mod.rs"]
mod smtp;
mod support;

use std::time::Duration;

use patchtrack_store::{ConfirmationKind, OutgoingMail, Store};
use support::{Server, http, ok_run, serve};

fn patch_mail(from: &str, msgid: &str, subject: &str) -> String {
    format!(
        "From: {from}\n\
         To: p@lists.example.org\n\
         List-Id: <p.example.org>\n\
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
         +b\n"
    )
}

/// A site with project `p` (sending notifications), a maintainer whose
/// API token it returns, and one patch from each of `senders`.
fn site(name: &str, senders: &[(&str, &str)]) -> (String, String) {
    let path = common::scratch_dir().join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    let db = format!("sqlite://{}", path.display());
    ok_run(&db, &["migrate"]);
    ok_run(
        &db,
        &[
            "project",
            "add",
            "--linkname",
            "p",
            "--name",
            "Project P",
            "--listid",
            "p.example.org",
            "--listemail",
            "p@lists.example.org",
        ],
    );
    ok_run(
        &db,
        &["project", "edit", "p", "--send-notifications", "true"],
    );
    ok_run(
        &db,
        &[
            "user",
            "add",
            "maint",
            "--email",
            "maint@example.org",
            "--maintainer-of",
            "p",
        ],
    );
    let token = ok_run(&db, &["token", "create", "maint"])
        .trim()
        .to_string();
    for (i, (from, msgid)) in senders.iter().enumerate() {
        let file = common::scratch_dir().join(format!("{name}-{i}.eml"));
        std::fs::write(
            &file,
            patch_mail(from, msgid, &format!("change number {i}")),
        )
        .unwrap();
        ok_run(&db, &["parsemail", file.to_str().unwrap()]);
    }
    (db, token)
}

fn set_state(server: &Server, token: &str, patch: i64, state: &str) {
    let (status, body) = http(
        &server.addr,
        "PATCH",
        &format!("/api/1.2/patches/{patch}/"),
        &[
            &format!("Authorization: Token {token}"),
            "Content-Type: application/json",
        ],
        &format!("{{\"state\": \"{state}\"}}"),
    );
    assert_eq!(status, 200, "{body}");
}

/// Opts `email` out the way a user does, by its confirmation key.
async fn opt_out(db: &str, email: &str) {
    let store = Store::connect(db).await.unwrap();
    store
        .request_confirmation(ConfirmationKind::OptOut, email, None, |k| {
            OutgoingMail::new(email, "opt-out", k.to_string())
        })
        .await
        .unwrap();
    let job = store
        .claim_jobs(&["mail"], "test", 1, Duration::from_secs(60))
        .await
        .unwrap()
        .pop()
        .unwrap();
    store.complete_job(job.id, "test").await.unwrap();
    let key = OutgoingMail::from_payload(&job.payload).unwrap().body;
    let c = store.confirmation(&key).await.unwrap().unwrap();
    assert!(store.confirm(&c).await.unwrap());
}

#[tokio::test]
async fn cron_queues_a_digest_once_the_delay_has_passed() {
    let (db, token) = site("cron-once", &[("Sub Mitter <sub@example.org>", "one@x")]);
    let server = serve(&db, &["--no-cron"]);
    set_state(&server, &token, 1, "accepted");
    // Within the default ten minutes: held.
    let out = ok_run(&db, &["cron"]);
    assert!(
        out.contains("notifications: 0 mails queued for 0 patches, 1 recipients held back"),
        "{out}"
    );
    assert!(out.contains("expiry: 0 confirmations"), "{out}");
    // The import and the state change left tally rows to fold.
    assert!(out.contains("housekeeping: 2 tally rows folded"), "{out}");
    let out = ok_run(
        &db,
        &[
            "cron",
            "--notification-delay-minutes",
            "0",
            "--base-url",
            "https://pt.example.org/",
        ],
    );
    assert!(
        out.contains("notifications: 1 mails queued for 1 patches"),
        "{out}"
    );
    // Queued once, for the submitter, with links under the base URL; the
    // serve without --smtp-host keeps it in the queue.
    let store = Store::connect(&db).await.unwrap();
    let jobs = store.waiting_jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let mail = OutgoingMail::from_payload(&jobs[0].payload).unwrap();
    assert_eq!(mail.to, "sub@example.org");
    assert_eq!(mail.from, None, "the serve's --mail-from");
    assert_eq!(mail.subject, "[p] Patch notification: 1 patch updated");
    assert!(
        mail.body
            .contains("https://pt.example.org/project/p/patch/one@x/"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("https://pt.example.org/mail/"),
        "{}",
        mail.body
    );
    // Nothing left to send.
    let out = ok_run(&db, &["cron", "--notification-delay-minutes", "0"]);
    assert!(out.contains("notifications: 0 mails queued"), "{out}");
    assert_eq!(store.waiting_jobs(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn serve_mails_one_digest_to_the_submitter_and_its_link_opens_the_patch() {
    let Some(smtp) = smtp::SmtpServer::start_new() else {
        return;
    };
    let (db, token) = site(
        "serve-digest",
        &[
            ("Sub Mitter <sub@example.org>", "one@x"),
            ("Sub Mitter <sub@example.org>", "two@x"),
            ("Opted Out <out@example.org>", "three@x"),
        ],
    );
    opt_out(&db, "OUT@example.org").await;
    let port = smtp.port.to_string();
    let server = serve(
        &db,
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
            "--mail-from",
            "Patchwork <patchwork@pt.example.org>",
            "--notification-from",
            "Patchwork notifications <notify@pt.example.org>",
            "--notification-delay-minutes",
            "0",
            "--cron-interval-seconds",
            "1",
        ],
    );
    set_state(&server, &token, 1, "accepted");
    set_state(&server, &token, 2, "changes-requested");
    set_state(&server, &token, 3, "rejected");
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1, "one digest");
    // Several more passes send nothing more: not to the opted-out
    // address, not the same digest twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = smtp.messages();
    assert_eq!(all.len(), 1, "{all:?}");
    let m = &all[0];
    assert_eq!(
        smtp::header(m, "X-RcptTo").as_deref(),
        Some("sub@example.org")
    );
    assert_eq!(
        smtp::header(m, "From").as_deref(),
        Some("\"Patchwork notifications\" <notify@pt.example.org>")
    );
    assert_eq!(smtp::header(m, "Precedence").as_deref(), Some("bulk"));
    let (subject, body) = smtp::subject_and_body(m);
    assert_eq!(subject, "[p] Patch notification: 2 patches updated");
    let base = format!("http://{}", server.addr);
    for expected in [
        " * p: change number 0".to_string(),
        format!("     - {base}/project/p/patch/one@x/"),
        "     - for: Project P".into(),
        "    was: New".into(),
        "    now: Accepted".into(),
        " * p: change number 1".into(),
        "    now: Changes Requested".into(),
        "This email is a notification only - you do not need to respond.".into(),
        format!("  {base}/mail/"),
    ] {
        assert!(
            body.lines().any(|l| l == expected),
            "{expected:?} in:\n{body}"
        );
    }
    assert!(!body.contains("change number 2"), "{body}");
    // The links work against the running server.
    let links: Vec<&str> = body
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.strip_prefix(&base))
        .collect();
    assert_eq!(links.len(), 2, "{body}");
    for path in links {
        let (status, page) = http(&server.addr, "GET", path, &[], "");
        assert_eq!(status, 200, "{path}");
        assert!(page.contains("change number"), "{path}");
    }
    let (status, _) = http(&server.addr, "GET", "/mail/", &[], "");
    assert_eq!(status, 200);
    let store = Store::connect(&db).await.unwrap();
    assert_eq!(store.pending_notifications().await.unwrap(), vec![]);
}
