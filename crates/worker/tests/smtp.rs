//! Outgoing mail through a real SMTP server (aiosmtpd, started here):
//! what arrives, and that an SMTP outage delays mail without losing it.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use patchtrack_store::{JobStatus, OutgoingMail, RetryPolicy};
use patchtrack_worker::mailer::{Mailer, SmtpConfig, TlsMode};
use patchtrack_worker::{Pace, Worker};
use support::{SmtpServer, header, subject_and_body};

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls: TlsMode::None,
        user: None,
        password: None,
        from: "Patchwork <patchwork@tracker.example.org>".into(),
        timeout: Duration::from_secs(5),
    }
}

fn quick() -> Pace {
    Pace {
        poll: Duration::from_millis(50),
        retry: RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(1),
        },
        ..Pace::default()
    }
}

#[tokio::test]
async fn a_queued_mail_arrives_with_its_headers_and_text() {
    let Some(server) = SmtpServer::start_new() else {
        return;
    };
    let store = support::sqlite().await;
    let mut mail = OutgoingMail::new(
        "Zoë Example <zoe@example.org>",
        "Patchwork opt-out request für Zoë",
        "Hello,\n\nhttp://tracker.example.org/confirm/abc/\n\nÜmlaut line.\n".into(),
    );
    mail.headers.push(("Precedence".into(), "bulk".into()));
    let id = store.queue_mail(&mail).await.unwrap();
    let worker = Worker::new(store.clone())
        .with(Mailer::new(&config(server.port)).unwrap())
        .with_pace(quick());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Done, "{:?}", job.last_error);
    let messages = server.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        header(m, "From").as_deref(),
        Some("Patchwork <patchwork@tracker.example.org>")
    );
    assert!(header(m, "To").unwrap().contains("<zoe@example.org>"));
    assert_eq!(header(m, "X-RcptTo").as_deref(), Some("zoe@example.org"));
    assert_eq!(
        header(m, "X-MailFrom").as_deref(),
        Some("patchwork@tracker.example.org")
    );
    assert_eq!(header(m, "Precedence").as_deref(), Some("bulk"));
    let msgid = header(m, "Message-ID").unwrap();
    assert!(
        msgid.starts_with('<') && msgid.ends_with("@tracker.example.org>"),
        "{msgid}"
    );
    assert!(header(m, "Date").is_some());
    assert!(header(m, "Content-Type").unwrap().contains("text/plain"));
    let (subject, body) = subject_and_body(m);
    assert_eq!(subject, "Patchwork opt-out request für Zoë");
    assert!(
        body.contains("http://tracker.example.org/confirm/abc/"),
        "{body}"
    );
    assert!(body.contains("Ümlaut line."), "{body}");
    // Nothing is sent twice.
    assert_eq!(worker.run_once().await.unwrap(), 0);
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_stopped_smtp_server_delays_mail_without_losing_it() {
    let Some(mut server) = SmtpServer::new() else {
        return;
    };
    let store = support::sqlite().await;
    let id = store
        .queue_mail(&OutgoingMail::new(
            "dev@example.org",
            "Patchwork account confirmation",
            "http://x/confirm/1/\n".into(),
        ))
        .await
        .unwrap();
    let worker = Worker::new(store.clone())
        .with(Mailer::new(&config(server.port)).unwrap())
        .with_pace(quick());
    // The server is down: the attempt fails, the job waits.
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Pending, 1));
    assert!(
        job.last_error.as_deref().unwrap().starts_with("SMTP:"),
        "{job:?}"
    );
    assert_eq!(store.waiting_jobs(10).await.unwrap().len(), 1);
    // Not due again before its backoff.
    assert_eq!(worker.run_once().await.unwrap(), 0);
    // Back up: the worker, running on its own, delivers it once.
    server.start();
    let running = tokio::spawn(worker.clone().run());
    let messages = server.wait_for(1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.job(id).await.unwrap().unwrap().status != JobStatus::Done {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.abort();
    assert_eq!(messages.len(), 1);
    assert_eq!(server.messages().len(), 1, "delivered once");
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 2);
    let (subject, _) = subject_and_body(&messages[0]);
    assert_eq!(subject, "Patchwork account confirmation");
}

#[tokio::test]
async fn a_mail_queued_in_this_process_wakes_the_worker() {
    let Some(server) = SmtpServer::start_new() else {
        return;
    };
    let store = support::sqlite().await;
    let worker = Worker::new(store.clone())
        .with(Mailer::new(&config(server.port)).unwrap())
        .with_pace(Pace {
            poll: Duration::from_secs(3600),
            ..quick()
        });
    let running = tokio::spawn(worker.run());
    tokio::time::sleep(Duration::from_millis(100)).await;
    store
        .queue_mail(&OutgoingMail::new("a@example.org", "hi", "text\n".into()))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(server.wait_for(1).await.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken, not polled"
    );
    running.abort();
}

#[test]
fn tls_modes_and_their_ports() {
    assert_eq!("STARTTLS".parse::<TlsMode>(), Ok(TlsMode::Starttls));
    assert_eq!("none".parse::<TlsMode>(), Ok(TlsMode::None));
    assert_eq!("tls".parse::<TlsMode>(), Ok(TlsMode::Tls));
    assert!("ssl".parse::<TlsMode>().is_err());
    let ports: Vec<u16> = [TlsMode::None, TlsMode::Starttls, TlsMode::Tls]
        .map(TlsMode::default_port)
        .to_vec();
    assert_eq!(ports, [25, 587, 465]);
    assert!(
        Mailer::new(&SmtpConfig {
            from: "not an address".into(),
            ..config(25)
        })
        .is_err()
    );
}
