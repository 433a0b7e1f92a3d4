//! `patchtrack lmtp` with the real binary: Python's smtplib.LMTP from 8
//! concurrent clients delivers Patchwork's series test mailboxes (and the
//! synthetic corpus when it is there); the result equals a sequential
//! `parsearchive` of the same mails in the order they were committed.
//! A raw session checks the protocol: LHLO only, one reply per recipient,
//! dot-unstuffing, the size limit, and commands in the wrong order.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use support::{add_project, exits_within, lmtp, ok_run, sigterm, site};

fn python(script: &str, args: &[&str]) -> String {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lmtp");
    let out = Command::new("python3")
        .arg(here.join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn eight_concurrent_clients_store_what_a_sequential_import_stores() {
    let (db, path) = site("lmtp-concurrent");
    let server = lmtp(&db, &[]);
    let mut mboxes: Vec<String> = std::fs::read_dir(common::testdata().join("patchwork/series"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "mbox"))
        .map(|p| p.display().to_string())
        .collect();
    mboxes.sort();
    match common::corpus_dir() {
        Some(dir) => mboxes.push(dir.join("synthetic-2k.mbox").display().to_string()),
        None => eprintln!("LMTP test without the synthetic corpus: its 2,000 mails are skipped"),
    }
    let mut args = vec![server.addr.as_str(), "8"];
    args.extend(mboxes.iter().map(String::as_str));
    let counts: serde_json::Value = serde_json::from_str(&python("deliver.py", &args)).unwrap();
    assert_eq!(
        counts["250"], counts["sent"],
        "every mail accepted: {counts}"
    );
    assert!(counts["sent"].as_u64().unwrap() >= 100);

    // The same mails, in the order they were committed, imported in one go.
    let (db2, path2) = site("lmtp-sequential");
    let export = common::scratch_dir().join("lmtp-committed.mbox");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let committed = runtime.block_on(async {
        let store = patchtrack_store::Store::connect(&db).await.unwrap();
        let project = store.project_by_linkname("s").await.unwrap().unwrap();
        store.raw_mails_in_order(project.id).await.unwrap()
    });
    common::write_mboxrd(&export, &committed);
    ok_run(
        &db2,
        &[
            "parsearchive",
            "--list-id",
            "series.example.org",
            export.to_str().unwrap(),
        ],
    );
    let same = python(
        "compare.py",
        &[path.to_str().unwrap(), path2.to_str().unwrap()],
    );
    eprintln!("counts, LMTP / sequential: {same}");
    assert!(same.contains("same"), "{same}");
}

/// Sends `lines` and reads one reply (all its lines) per expected code.
fn converse(s: &mut BufReader<TcpStream>, send: &str, replies: usize) -> Vec<String> {
    s.get_mut().write_all(send.as_bytes()).unwrap();
    let mut out = Vec::new();
    while out.len() < replies {
        let mut line = String::new();
        s.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed after {out:?}");
        // A multi-line reply continues with `250-`.
        if line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        out.push(line.trim_end().to_string());
    }
    out
}

#[test]
fn the_protocol_as_rfc_2033_says() {
    let (db, path) = site("lmtp-protocol");
    let server = lmtp(&db, &["--max-size", "2000"]);
    let stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut s = BufReader::new(stream);
    let mut greeting = String::new();
    s.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert!(converse(&mut s, "EHLO x\r\n", 1)[0].starts_with("500 "));
    assert!(converse(&mut s, "MAIL FROM:<a@b>\r\n", 1)[0].starts_with("503 "));
    assert!(converse(&mut s, "LHLO x\r\n", 1)[0].starts_with("250 SIZE 2000"));
    assert!(
        converse(&mut s, "DATA\r\n", 1)[0].starts_with("503 "),
        "no recipient yet"
    );
    assert!(converse(&mut s, "MAIL FROM:<a@b> SIZE=99999\r\n", 1)[0].starts_with("552 "));
    // Pipelined: MAIL, two RCPTs, DATA.
    let replies = converse(
        &mut s,
        "MAIL FROM:<a@b>\r\nRCPT TO:<one@x>\r\nRCPT TO:<two@x>\r\nDATA\r\n",
        4,
    );
    assert!(
        replies[0].starts_with("250") && replies[2].starts_with("250"),
        "{replies:?}"
    );
    assert!(replies[3].starts_with("354"), "{replies:?}");
    let mail = "From: A <a@example.org>\r\nTo: s@example.org\r\nSubject: [PATCH] dots\r\n\
                Message-Id: <lmtp-dots@x>\r\nDate: Mon, 3 Feb 2020 04:05:07 +0000\r\n\r\n\
                ..a line with a dot\r\n---\r\ndiff --git a/f b/f\r\n--- a/f\r\n+++ b/f\r\n\
                @@ -1 +1 @@\r\n-a\r\n+b\r\n.\r\n";
    let stored = converse(&mut s, mail, 2);
    assert_eq!(
        stored,
        ["250 2.0.0 stored", "250 2.0.0 stored"],
        "one reply per recipient"
    );
    // The same mail again: accepted, not stored twice.
    let again = converse(&mut s, "MAIL FROM:<a@b>\r\nRCPT TO:<one@x>\r\nDATA\r\n", 3);
    assert!(again[2].starts_with("354"));
    assert_eq!(converse(&mut s, mail, 1), ["250 2.0.0 already stored"]);
    // Too big: refused after its end, the session goes on.
    let big = converse(&mut s, "MAIL FROM:<a@b>\r\nRCPT TO:<one@x>\r\nDATA\r\n", 3);
    assert!(big[2].starts_with("354"));
    let body = format!("Subject: big\r\n\r\n{}\r\n.\r\n", "x".repeat(3000));
    assert!(converse(&mut s, &body, 1)[0].starts_with("552 "));
    assert!(converse(&mut s, "NOOP\r\n", 1)[0].starts_with("250"));
    assert!(converse(&mut s, "QUIT\r\n", 1)[0].starts_with("221"));

    // The stored patch kept its content, the leading dot unstuffed.
    let content = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT content FROM patch\").fetchone()[0])",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let content = String::from_utf8_lossy(&content.stdout);
    assert!(
        content.contains("\n.a line with a dot") || content.starts_with(".a line with a dot"),
        "{content}"
    );
}

/// A session past its greeting and LHLO, with replies awaited for at
/// most `secs` seconds.
fn greeted(addr: &str, secs: u64) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    let mut s = BufReader::new(stream);
    let mut greeting = String::new();
    s.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    converse(&mut s, "LHLO x\r\n", 1);
    s
}

/// One mail over a session already greeted: the reply to its DATA.
fn deliver(s: &mut BufReader<TcpStream>, msgid: &str) -> String {
    let start = converse(s, "MAIL FROM:<a@b>\r\nRCPT TO:<list@x>\r\nDATA\r\n", 3);
    assert!(start[2].starts_with("354"), "{start:?}");
    let mail = format!(
        "From: A <a@example.org>\r\nTo: s@example.org\r\nSubject: [PATCH] {msgid}\r\n\
         Message-Id: <{msgid}>\r\nDate: Mon, 3 Feb 2020 04:05:07 +0000\r\n\r\n\
         A change.\r\n---\r\ndiff --git a/f b/f\r\n--- a/f\r\n+++ b/f\r\n\
         @@ -1 +1 @@\r\n-a\r\n+b\r\n.\r\n"
    );
    converse(s, &mail, 1).remove(0)
}

#[test]
fn a_database_gone_away_gets_451_and_the_retried_mail_is_stored_once() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(url) = rt.block_on(common::postgres_url()) else {
        return;
    };
    add_project(&url);
    let server = lmtp(&url, &[]);
    let mut s = greeted(&server.addr, 60);
    assert_eq!(deliver(&mut s, "before@x"), "250 2.0.0 stored");

    // The database goes away: no new connections, the open ones killed.
    let outage = support::Outage::of(&url);
    outage.begin();
    let refused = deliver(&mut s, "during@x");
    assert!(refused.starts_with("451 4.3.0"), "{refused}");

    // Back: the MTA's retry stores it, once.
    outage.end();
    assert_eq!(deliver(&mut s, "during@x"), "250 2.0.0 stored");
    assert_eq!(deliver(&mut s, "during@x"), "250 2.0.0 already stored");
    assert_eq!(deliver(&mut s, "before@x"), "250 2.0.0 already stored");
}

#[test]
fn sigterm_finishes_the_mail_in_progress_then_answers_421_and_exits_0() {
    let (db, path) = site("lmtp-graceful");
    let mut server = lmtp(&db, &[]);
    let mut s = greeted(&server.addr, 20);
    let replies = converse(&mut s, "MAIL FROM:<a@b>\r\nRCPT TO:<s@x>\r\nDATA\r\n", 3);
    assert!(replies[2].starts_with("354"), "{replies:?}");
    s.get_mut()
        .write_all(
            b"From: A <a@example.org>\r\nSubject: [PATCH] in flight\r\n\
              Message-Id: <lmtp-in-flight@x>\r\nDate: Mon, 3 Feb 2020 04:05:07 +0000\r\n\r\n",
        )
        .unwrap();
    // The signal arrives while the mail is being received.
    sigterm(&server.child);
    std::thread::sleep(Duration::from_millis(300));
    let stored = converse(
        &mut s,
        "Change.\r\n---\r\ndiff --git a/f b/f\r\n--- a/f\r\n+++ b/f\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n.\r\n",
        2,
    );
    assert_eq!(stored[0], "250 2.0.0 stored", "{stored:?}");
    assert!(stored[1].starts_with("421 "), "then closed: {stored:?}");
    let status = exits_within(&mut server.child, 10);
    assert!(status.success(), "{status:?}");
    let counts = python("compare.py", &["--counts", path.to_str().unwrap()]);
    assert!(counts.contains("'patch': 1,"), "{counts}");
}
