//! `parsemail` and `parsearchive` as an MTA and an operator run them:
//! exit statuses, summaries, an interrupted import re-run, and concurrent
//! deliveries on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
#[path = "../../mail/tests/common/hostile.rs"]
mod hostile;

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use patchtrack_mail::{MboxReader, Quoting};
use patchtrack_store::{IngestOptions, NewProject, Store};

fn patchtrack(db: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Adds project `p` for list `test.example.org`, as an operator would.
fn add_project(db: &str) {
    let out = patchtrack(
        db,
        &[
            "project",
            "add",
            "--linkname",
            "p",
            "--name",
            "P",
            "--listid",
            "test.example.org",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sqlite_url(name: &str) -> String {
    let path = common::scratch_dir().join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    format!("sqlite://{}", path.display())
}

fn series_mails(file: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(common::testdata().join("patchwork/series").join(file)).unwrap();
    common::mbox(&data)
}

#[test]
fn parsemail_exit_statuses() {
    let db = sqlite_url("parsemail");
    add_project(&db);

    let mails = series_mails("base-cover-letter.mbox");
    let first = patchtrack(
        &db,
        &["parsemail", "--list-id", "test.example.org"],
        &mails[0],
    );
    assert_eq!(first.status.code(), Some(0));
    assert!(
        first.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );

    let again = patchtrack(
        &db,
        &["parsemail", "--list-id", "test.example.org"],
        &mails[0],
    );
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("duplicate"));

    let nowhere = patchtrack(&db, &["parsemail"], &mails[1]);
    assert_eq!(nowhere.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("dropped: no project"));

    let garbage = patchtrack(
        &db,
        &["parsemail", "--list-id", "test.example.org"],
        b"\xff\xfe",
    );
    assert_eq!(garbage.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("rejected"));

    // The database cannot be reached: EX_TEMPFAIL, so the MTA retries.
    let down = patchtrack(
        "postgres://nobody@127.0.0.1:1/none",
        &["parsemail"],
        &mails[1],
    );
    assert_eq!(
        down.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let missing_dir = patchtrack("sqlite:///nonexistent/dir/x.db", &["parsemail"], &mails[1]);
    assert_eq!(missing_dir.status.code(), Some(75));
}

/// Mails nested 10,000 and 100,000 levels deep in the middle of an archive
/// cost themselves and nothing else: every other mail is stored, the import
/// exits 0, and the summary gives the reason (before the nesting cap, the
/// reader thread's stack overflowed and no re-run could get past them).
#[test]
fn absurdly_nested_mail_does_not_stop_an_archive() {
    let mut mails = series_mails("base-cover-letter.mbox");
    let tail = mails.split_off(2);
    mails.push(hostile::nested(
        hostile::Nesting::Multipart,
        10_000,
        "deep1@x",
    ));
    mails.push(hostile::nested(
        hostile::Nesting::Message,
        100_000,
        "deep2@x",
    ));
    mails.extend(tail);
    let expected = mails.len() - 2;
    let mbox = write_mbox(&mails, "nested");
    let db = sqlite_url("nested");
    add_project(&db);
    let out = patchtrack(
        &db,
        &[
            "parsearchive",
            "--list-id",
            "test.example.org",
            mbox.to_str().unwrap(),
        ],
        b"",
    );
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{summary}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary.contains(&format!("Processed {} messages -->", mails.len())),
        "{summary}"
    );
    assert!(
        summary.contains("  2 errors\n    2 MIME parts nested deeper than 100 levels\n"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("Total: {expected} new entries")),
        "{summary}"
    );
}

fn corpus_slice(n: usize) -> Option<Vec<Vec<u8>>> {
    let dir = common::corpus_dir()?;
    let file = std::fs::File::open(dir.join("git-list.mbox.xz")).unwrap();
    let reader = BufReader::new(liblzma::read::XzDecoder::new_multi_decoder(file));
    Some(
        MboxReader::new(reader, Quoting::Mboxrd)
            .take(n)
            .map(|m| m.unwrap().data)
            .collect(),
    )
}

fn write_mbox(mails: &[Vec<u8>], name: &str) -> PathBuf {
    let path = common::scratch_dir().join(format!("{name}.mbox"));
    let mut w = patchtrack_mail::MboxWriter::new(std::fs::File::create(&path).unwrap());
    for m in mails {
        w.write_message("test Thu Jan  1 00:00:00 1970", m).unwrap();
    }
    w.into_inner().unwrap();
    path
}

async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn add_git(store: &Store) -> i64 {
    store
        .add_project(&NewProject {
            linkname: "git".into(),
            name: "Git".into(),
            listid: "git.lists.example.org".into(),
            ..NewProject::default()
        })
        .await
        .unwrap()
        .id
}

/// Series as comparable data: (cover msgid, patch msgids) in a stable order.
async fn grouping(store: &Store, project: i64) -> Vec<(Option<String>, Vec<String>)> {
    let mut g: Vec<_> = store
        .series_summaries(project)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.cover, s.patches))
        .collect();
    g.sort();
    g
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_archive_import_can_be_rerun() {
    let Some(mails) = corpus_slice(1500) else {
        return;
    };
    let mbox = write_mbox(&mails, "interrupted");
    let clean = sqlite_url("clean");
    let killed = sqlite_url("killed");
    for db in [&clean, &killed] {
        add_git(&open(db).await).await;
    }
    let out = patchtrack(&clean, &["parsearchive", mbox.to_str().unwrap()], b"");
    assert!(out.status.success());
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        summary.starts_with("Processed 1500 messages -->"),
        "{summary}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args([
            "--database",
            &killed,
            "parsearchive",
            mbox.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = open(&killed).await.counts(1).await.unwrap();
    let rerun = patchtrack(&killed, &["parsearchive", mbox.to_str().unwrap()], b"");
    assert!(rerun.status.success());

    let (a, b) = (open(&clean).await, open(&killed).await);
    let full = a.counts(1).await.unwrap();
    assert!(
        partial.raw_mails < full.raw_mails,
        "the kill came before the end"
    );
    assert_eq!(b.counts(1).await.unwrap(), full);
    assert_eq!(grouping(&a, 1).await, grouping(&b, 1).await);
}

/// A deterministic shuffle (xorshift), so a failure can be reproduced.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Eight `parsemail` processes deliver a shuffled archive at once. The
/// result must equal one sequential delivery of the same mails in the
/// order they were committed (the order of `raw_mail` ids): concurrency may
/// change which mails are stored first, never how they are grouped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_group_like_one_delivery() {
    let Some(mut mails) = corpus_slice(600) else {
        return;
    };
    shuffle(&mut mails, 0x5eed);
    let mut urls = vec![sqlite_url("concurrent")];
    urls.extend(common::postgres_url().await);
    for url in urls {
        let store = open(&url).await;
        let project = add_git(&store).await;
        let chunks: Vec<Vec<Vec<u8>>> = (0..8)
            .map(|i| mails.iter().skip(i).step_by(8).cloned().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let url = url.clone();
                std::thread::spawn(move || {
                    for m in chunk {
                        let out = patchtrack(&url, &["parsemail"], &m);
                        assert_eq!(
                            out.status.code(),
                            Some(0),
                            "{}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }

        // Replay in commit order into a fresh database.
        let replay = common::sqlite().await;
        let replay_project = add_git(&replay).await;
        for raw in store.raw_mails_in_order(project).await.unwrap() {
            replay
                .ingest(&raw, &IngestOptions::default())
                .await
                .unwrap();
        }
        assert_eq!(
            store.counts(project).await.unwrap(),
            replay.counts(replay_project).await.unwrap(),
            "{url}"
        );
        assert_eq!(
            grouping(&store, project).await,
            grouping(&replay, replay_project).await,
            "{url}"
        );
        assert!(store.counts(project).await.unwrap().series > 50);
    }
}

#[tokio::test]
async fn parsearchive_says_why_mails_were_dropped() {
    let mail = |n: u32, subject: &str, refs: &str, body: &str| {
        format!(
            "From: A <a@example.org>\nSubject: {subject}\nMessage-Id: <s{n}@x>\n\
             List-Id: <git.lists.example.org>\n{refs}\n{body}"
        )
        .into_bytes()
    };
    let diff = "Fix.\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
    let mails = [
        mail(1, "[PATCH] fix", "", diff),
        mail(2, "Where is the release?", "", "Anyone?\n"),
        mail(3, "Re: the release", "", "Soon.\n"),
        mail(4, "Re: old news", "In-Reply-To: <gone@x>\n", "Yes.\n"),
        mail(
            5,
            "Re: [PATCH] fix",
            "In-Reply-To: <s1@x>\n",
            "Looks good.\n",
        ),
    ];
    let mbox = write_mbox(&mails, "drops");
    let db = sqlite_url("drops");
    add_git(&open(&db).await).await;
    let out = patchtrack(&db, &["parsearchive", mbox.to_str().unwrap()], b"");
    assert!(out.status.success());
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    // Patchwork's counters, then the reasons under "dropped".
    let want = "Processed 5 messages -->\n  0 covers\n  1 patches\n  1 comments\n  \
                0 duplicates\n  3 dropped\n    1 a reply to nothing stored\n    \
                1 a reply without In-Reply-To or References\n    \
                1 no diff, and not a cover letter, pull request or reply\n  0 errors\n\
                Total: 2 new entries\n";
    assert_eq!(summary, want);
}

/// `parsearchive ... | head -1` and a reader that goes away: the mail is
/// stored and the command succeeds (it used to panic printing the summary).
#[test]
fn parsearchive_with_its_reader_gone_still_succeeds() {
    let db = sqlite_url("closed-stdout");
    add_project(&db);
    let mbox = common::testdata().join("patchwork/series/base-cover-letter.mbox");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args([
            "--database",
            &db,
            "parsearchive",
            "--list-id",
            "test.example.org",
        ])
        .arg(&mbox)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let listed = patchtrack(
        &db,
        &[
            "parsearchive",
            "--list-id",
            "test.example.org",
            mbox.to_str().unwrap(),
        ],
        b"",
    );
    let summary = String::from_utf8_lossy(&listed.stdout);
    assert!(
        summary.contains(" duplicates") && !summary.contains("  0 duplicates"),
        "the first run stored the mail: {summary}"
    );
}
