//! Events pushed to bots, end to end with the real binary: webhooks to a
//! real HTTP receiver started here (signed, in order, through receiver
//! failures and a server killed mid-delivery), and the Server-Sent Events
//! stream (a mail stored by `parsemail` in another process reaches a
//! subscriber within a second; a reconnection with `Last-Event-ID` gets
//! exactly what it missed), on SQLite and on PostgreSQL with two server
//! nodes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::{Server, ok_run};

/// One patch mail of project `p`.
fn patch_mail(msgid: &str, subject: &str) -> String {
    format!(
        "From: Sub Mitter <sub@example.org>\n\
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
         +{subject}\n"
    )
}

/// An mbox of `n` patches.
fn mbox(name: &str, n: usize) -> String {
    let path = common::scratch_dir().join(format!("{name}.mbox"));
    let mut text = String::new();
    for i in 0..n {
        text.push_str("From mboxrd@z Thu Jan  1 00:00:00 1970\n");
        text.push_str(&patch_mail(
            &format!("{name}-{i}@x"),
            &format!("{name} change {i}"),
        ));
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Project `p` on `db` with a maintainer; its API token.
fn site(db: &str) -> String {
    ok_run(db, &["migrate"]);
    ok_run(
        db,
        &[
            "project",
            "add",
            "--linkname",
            "p",
            "--name",
            "P",
            "--listid",
            "p.example.org",
        ],
    );
    ok_run(
        db,
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
    ok_run(db, &["token", "create", "maint"]).trim().to_string()
}

fn sqlite_db(name: &str) -> String {
    let path = common::scratch_dir().join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
}

/// `patchtrack serve` without the periodic pass.
fn serve(db: &str, extra: &[&str]) -> Server {
    support::serve(db, &[&["--no-cron"], extra].concat())
}

/// One JSON request with a token: status and body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let auth = format!("Authorization: Token {token}");
    support::http(
        addr,
        method,
        path,
        &[&auth, "Content-Type: application/json"],
        body,
    )
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Every stored event id, lowest first (through the API's `since_id`).
fn event_ids(addr: &str, token: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    loop {
        let after = ids.last().copied().unwrap_or(0);
        let (status, body) = http(
            addr,
            "GET",
            &format!("/api/1.5/events/?since_id={after}&per_page=250"),
            token,
            "",
        );
        assert_eq!(status, 200, "{body}");
        let page: Vec<i64> = json(&body)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        if page.is_empty() {
            return ids;
        }
        ids.extend(page);
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    delivery: i64,
    category: String,
    signature: String,
    body: String,
    /// Whether it was answered 200 (else 500).
    accepted: bool,
}

/// A webhook receiver: answers 500 while `failing`, else 200.
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    failing: Arc<AtomicBool>,
}

fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let failing = Arc::new(AtomicBool::new(false));
    let (h, f) = (hits.clone(), failing.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (h, f) = (h.clone(), f.clone());
            std::thread::spawn(move || {
                let _ = take_requests(stream, &h, &f);
            });
        }
    });
    Receiver { url, hits, failing }
}

fn take_requests(
    stream: TcpStream,
    hits: &Mutex<Vec<Hit>>,
    failing: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            headers.push(line);
        }
        let header = |name: &str| {
            headers
                .iter()
                .find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let accepted = !failing.load(Ordering::SeqCst);
        hits.lock().unwrap().push(Hit {
            delivery: header("x-patchtrack-delivery").parse().unwrap_or(0),
            category: header("x-patchtrack-event"),
            signature: header("x-patchtrack-signature-256"),
            body: String::from_utf8(body).unwrap(),
            accepted,
        });
        let status = if accepted { "200 OK" } else { "500 Broken" };
        out.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())?;
    }
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The ids of the events the receiver accepted, in the order it first
/// accepted each.
fn accepted_events(r: &Receiver) -> Vec<i64> {
    let mut seen = Vec::new();
    for h in r.hits.lock().unwrap().iter().filter(|h| h.accepted) {
        let id = json(&h.body)["id"].as_i64().unwrap();
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen
}

/// The mail waiting in the queue.
fn queued_mail(db: &str) -> Vec<patchtrack_store::OutgoingMail> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = patchtrack_store::Store::connect(db).await.unwrap();
        store
            .waiting_jobs(100)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.kind == "mail")
            .map(|j| patchtrack_store::OutgoingMail::from_payload(&j.payload).unwrap())
            .collect()
    })
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn add_webhook(addr: &str, token: &str, url: &str, secret: &str) -> i64 {
    let (status, body) = http(
        addr,
        "POST",
        "/api/1.5/projects/p/webhooks/",
        token,
        &format!("{{\"target_url\": \"{url}\", \"secret\": \"{secret}\"}}"),
    );
    assert_eq!(status, 201, "{body}");
    let hook = json(&body);
    assert_eq!(hook["secret"], secret);
    assert_eq!(hook["active"], true);
    hook["id"].as_i64().unwrap()
}

/// Every event exactly as the API lists it, each signed, and in id order.
fn assert_delivered_in_order(r: &Receiver, all: &[i64], secret: &str) {
    let got = accepted_events(r);
    assert_eq!(got, all, "each event accepted, first time in id order");
    for h in r.hits.lock().unwrap().iter() {
        assert_eq!(h.signature, sign(secret, &h.body), "signature of {h:?}");
        let body = json(&h.body);
        assert_eq!(body["category"], h.category.as_str());
        assert!(h.delivery > 0);
        assert!(body["project"]["link_name"] == "p", "{body}");
    }
}

#[test]
fn webhook_gets_every_event_in_order_through_failures_and_a_killed_server() {
    let db = sqlite_db("webhook-order");
    let token = site(&db);
    let hook = receiver();
    let retry = ["--webhook-retry-seconds", "1"];
    let server = serve(&db, &retry);
    add_webhook(&server.addr, &token, &hook.url, "s3cret");

    // The receiver is down while the mail comes in.
    hook.failing.store(true, Ordering::SeqCst);
    ok_run(&db, &["parsearchive", &mbox("order", 40)]);
    let all = event_ids(&server.addr, &token);
    assert!(all.len() >= 80, "{} events", all.len());
    wait_until("failed attempts", Duration::from_secs(20), || {
        hook.hits.lock().unwrap().len() >= 2
    });
    // Every failure is the same first event: later ones wait behind it.
    let first = all[0];
    for h in hook.hits.lock().unwrap().iter() {
        assert!(!h.accepted);
        assert_eq!(json(&h.body)["id"].as_i64(), Some(first));
    }

    // It comes back; the server is killed in the middle of the backlog.
    hook.failing.store(false, Ordering::SeqCst);
    wait_until("some deliveries", Duration::from_secs(30), || {
        accepted_events(&hook).len() >= 10
    });
    drop(server);
    let delivered_before = accepted_events(&hook).len();
    assert!(delivered_before < all.len(), "killed after every delivery");

    let server = serve(&db, &retry);
    wait_until("every delivery", Duration::from_secs(60), || {
        accepted_events(&hook).len() == all.len()
    });
    assert_delivered_in_order(&hook, &all, "s3cret");

    // The log says the same.
    let (status, body) = http(
        &server.addr,
        "GET",
        "/api/1.5/webhooks/1/deliveries/?per_page=250",
        &token,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let log = json(&body);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), all.len().min(250));
    assert!(log.iter().all(|d| d["status"] == "delivered"), "{body}");
    assert!(
        log.iter().any(|d| d["attempts"].as_i64().unwrap() > 1),
        "retries counted"
    );
}

#[test]
fn a_receiver_failing_too_long_is_disabled_then_turned_back_on_and_replayed() {
    let db = sqlite_db("webhook-disable");
    let token = site(&db);
    let hook = receiver();
    let server = serve(
        &db,
        &[
            "--webhook-retry-seconds",
            "1",
            "--webhook-disable-after-seconds",
            "2",
        ],
    );
    let id = add_webhook(&server.addr, &token, &hook.url, "k");
    hook.failing.store(true, Ordering::SeqCst);
    ok_run(&db, &["parsearchive", &mbox("disable", 3)]);
    assert!(
        event_ids(&server.addr, &token).len() >= 6,
        "3 patches make events"
    );
    let detail = || {
        json(
            &http(
                &server.addr,
                "GET",
                &format!("/api/1.5/webhooks/{id}/"),
                &token,
                "",
            )
            .1,
        )
    };
    wait_until("the webhook disabled", Duration::from_secs(30), || {
        detail()["active"] == false
    });
    let d = detail();
    assert!(
        d["disabled_reason"].as_str().unwrap().contains("500"),
        "{d}"
    );
    assert!(d["secret"].is_null(), "the secret is shown only when made");
    // Its maintainer is told by mail (queued: no SMTP server here).
    let queued = queued_mail(&db);
    assert!(
        queued
            .iter()
            .any(|m| m.to == "maint@example.org" && m.subject.starts_with("Webhook disabled")),
        "{queued:?}"
    );
    // Disabled, it gets nothing, even for new events.
    let tried = hook.hits.lock().unwrap().len();
    ok_run(&db, &["parsearchive", &mbox("disable-later", 1)]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.hits.lock().unwrap().len(), tried);

    // Back on, it gets everything that waited, in order.
    hook.failing.store(false, Ordering::SeqCst);
    let (status, body) = http(
        &server.addr,
        "PATCH",
        &format!("/api/1.5/webhooks/{id}/"),
        &token,
        "{\"active\": true}",
    );
    assert_eq!(status, 200, "{body}");
    assert!(json(&body)["disabled_reason"].is_null());
    let all = event_ids(&server.addr, &token);
    assert!(all.len() > 6);
    wait_until("the backlog", Duration::from_secs(30), || {
        accepted_events(&hook).len() == all.len()
    });
    assert_delivered_in_order(&hook, &all, "k");

    // A replay sends one event again, as a new delivery naming the old.
    let (_, body) = http(
        &server.addr,
        "GET",
        &format!("/api/1.5/webhooks/{id}/deliveries/?per_page=1"),
        &token,
        "",
    );
    let newest = json(&body)[0].clone();
    let (status, body) = http(
        &server.addr,
        "POST",
        &format!("/api/1.5/webhooks/{id}/deliveries/{}/replay/", newest["id"]),
        &token,
        "",
    );
    assert_eq!(status, 201, "{body}");
    let replay = json(&body);
    assert_eq!(replay["replay_of"], newest["id"]);
    let replay_id = replay["id"].as_i64().unwrap();
    wait_until("the replay", Duration::from_secs(20), || {
        hook.hits
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.delivery == replay_id && h.accepted)
    });
    let hits = hook.hits.lock().unwrap();
    let again = hits.iter().find(|h| h.delivery == replay_id).unwrap();
    assert_eq!(json(&again.body)["id"], newest["event_id"]);

    // Someone who does not maintain the project sees no webhook.
    drop(hits);
    ok_run(&db, &["user", "add", "other", "--email", "o@example.org"]);
    let other = ok_run(&db, &["token", "create", "other"])
        .trim()
        .to_string();
    let (status, _) = http(
        &server.addr,
        "GET",
        &format!("/api/1.5/webhooks/{id}/"),
        &other,
        "",
    );
    assert_eq!(status, 404);
    let (status, _) = http(
        &server.addr,
        "GET",
        "/api/1.5/projects/p/webhooks/",
        &other,
        "",
    );
    assert_eq!(status, 403);
    let (status, _) = http(
        &server.addr,
        "GET",
        "/api/1.4/projects/p/webhooks/",
        &token,
        "",
    );
    assert_eq!(status, 404, "1.4 has no webhooks");
}

/// A Server-Sent Events subscriber: each event as (id, category, data),
/// with the time it arrived.
struct Subscriber {
    events: mpsc::Receiver<(i64, String, serde_json::Value, Instant)>,
    stream: TcpStream,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

fn subscribe(addr: &str, query: &str, last_event_id: Option<i64>) -> Subscriber {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "GET /api/1.5/events/stream/{query} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n"
    );
    if let Some(id) = last_event_id {
        req.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    let mut content_type = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if line.to_ascii_lowercase().starts_with("content-type:") {
            content_type = line;
        }
    }
    assert!(content_type.contains("text/event-stream"), "{content_type}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut id, mut category, mut data) = (0, String::new(), String::new());
        for line in reader.lines().map_while(Result::ok) {
            // Chunked framing: size lines are hex digits alone.
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.trim().parse().unwrap();
            } else if let Some(v) = line.strip_prefix("event: ") {
                category = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = v.to_string();
            } else if line.is_empty() && !data.is_empty() {
                let value: serde_json::Value = serde_json::from_str(&data).unwrap();
                if tx
                    .send((id, category.clone(), value, Instant::now()))
                    .is_err()
                {
                    return;
                }
                data.clear();
            }
        }
    });
    Subscriber {
        events: rx,
        stream: s,
    }
}

impl Subscriber {
    /// The next `n` events, each within `limit`.
    fn take(&self, n: usize, limit: Duration) -> Vec<(i64, String, serde_json::Value, Instant)> {
        (0..n)
            .map(|i| {
                self.events
                    .recv_timeout(limit)
                    .unwrap_or_else(|_| panic!("event {i} of {n} did not come"))
            })
            .collect()
    }

    /// Whether nothing more comes within `wait`.
    fn quiet(&self, wait: Duration) -> bool {
        self.events.recv_timeout(wait).is_err()
    }
}

/// A mail by `parsemail` in another process reaches a subscriber of
/// `reader` within a second of being committed, and a reconnection
/// resumes exactly where the subscriber left.
fn stream_follows_parsemail(db: &str, writer_db: &str, reader: &Server, token: &str, tag: &str) {
    let sub = subscribe(&reader.addr, "?project=p&category=patch-created", None);
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..3 {
        let file = common::scratch_dir().join(format!("{tag}-live-{i}.eml"));
        std::fs::write(
            &file,
            patch_mail(&format!("{tag}-live-{i}@x"), &format!("{tag} live {i}")),
        )
        .unwrap();
        ok_run(writer_db, &["parsemail", file.to_str().unwrap()]);
        let committed = Instant::now();
        let (_, category, data, at) = sub.take(1, Duration::from_secs(5)).pop().unwrap();
        let delay = at.duration_since(committed);
        assert!(
            delay < Duration::from_secs(1),
            "{tag}: event came after {delay:?}"
        );
        assert_eq!(category, "patch-created");
        let name = data["payload"]["patch"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(name.contains(&format!("{tag} live {i}")), "{data}");
    }
    let last_seen = {
        let ids = event_ids(&reader.addr, token);
        *ids.last().unwrap()
    };
    drop(sub);

    // Missed while away: three more patches (and their other events).
    for i in 0..3 {
        let file = common::scratch_dir().join(format!("{tag}-missed-{i}.eml"));
        std::fs::write(
            &file,
            patch_mail(&format!("{tag}-missed-{i}@x"), &format!("{tag} missed {i}")),
        )
        .unwrap();
        ok_run(db, &["parsemail", file.to_str().unwrap()]);
    }
    let all = event_ids(&reader.addr, token);
    let missed: Vec<i64> = all.iter().copied().filter(|id| *id > last_seen).collect();
    assert!(missed.len() >= 3);
    let sub = subscribe(&reader.addr, "?project=p", Some(last_seen));
    let got: Vec<i64> = sub
        .take(missed.len(), Duration::from_secs(5))
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(got, missed, "exactly the missed events, in order");
    assert!(sub.quiet(Duration::from_millis(700)), "nothing twice");
}

#[test]
fn event_stream_follows_another_process_and_resumes_on_sqlite() {
    let db = sqlite_db("stream");
    let token = site(&db);
    let server = serve(&db, &[]);
    stream_follows_parsemail(&db, &db, &server, &token, "sqlite");
}

#[test]
fn two_nodes_on_postgresql_stream_and_deliver_every_event_once_in_order() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(common::postgres_url()) else {
        return;
    };
    let token = site(&db);
    let hook = receiver();
    let a = serve(&db, &["--webhook-retry-seconds", "1"]);
    let b = serve(&db, &["--webhook-retry-seconds", "1"]);
    add_webhook(&a.addr, &token, &hook.url, "pg");
    // The subscriber is on node B; the mail arrives by parsemail.
    stream_follows_parsemail(&db, &db, &b, &token, "pg");
    ok_run(&db, &["parsearchive", &mbox("pg-order", 20)]);
    let all = event_ids(&a.addr, &token);
    wait_until(
        "every delivery from two nodes",
        Duration::from_secs(60),
        || accepted_events(&hook).len() == all.len(),
    );
    assert_delivered_in_order(&hook, &all, "pg");
    // Two workers, one receiver: no event was sent twice.
    let hits = hook.hits.lock().unwrap();
    let mut deliveries: Vec<i64> = hits.iter().map(|h| h.delivery).collect();
    deliveries.sort_unstable();
    deliveries.dedup();
    assert_eq!(deliveries.len(), hits.len(), "a delivery sent twice");
}
