//! The git-list archive (20,000 messages) imported on every backend stores
//! exactly what upstream Patchwork stores, apart from the differences
//! `docs/compatibility.md` explains message by message; importing again
//! changes nothing.
//!
//! Needs the corpus (`PATCHTRACK_CORPUS`, else `../shared/corpus`); without
//! it the test says so loudly and passes, unless
//! `PATCHTRACK_REQUIRE_CORPUS=1` (set by `.ci/run`).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::io::BufReader;

use patchtrack_mail::{MboxReader, Quoting};
use patchtrack_store::{Counts, IngestOptions, Outcome, Store};

fn messages(dir: &std::path::Path) -> impl Iterator<Item = Vec<u8>> {
    let file = std::fs::File::open(dir.join("git-list.mbox.xz")).unwrap();
    let reader = BufReader::new(liblzma::read::XzDecoder::new_multi_decoder(file));
    MboxReader::new(reader, Quoting::Mboxrd).map(|m| m.unwrap().data)
}

/// Upstream's stored counts plus the documented differences.
fn expected(dir: &std::path::Path) -> (Counts, i64) {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("git-list.upstream.json")).unwrap())
            .unwrap();
    let s = &json["stored"];
    let n = |k: &str| s[k].as_i64().unwrap();
    let counts = Counts {
        patches: n("patches") + 5,
        pull_requests: n("pull_requests"),
        covers: n("covers"),
        patch_comments: n("patch_comments") + 1,
        cover_comments: n("cover_comments"),
        series: n("series") + 2,
        raw_mails: n("patches") + 5 + n("covers") + n("comments") + 1,
    };
    (counts, n("dropped") - 6)
}

async fn import(store: &Store, dir: &std::path::Path) -> (i64, i64) {
    let options = IngestOptions::default();
    let (mut dropped, mut duplicates) = (0, 0);
    for m in messages(dir) {
        match store.ingest(&m, &options).await.unwrap() {
            Outcome::Dropped(_) => dropped += 1,
            Outcome::Duplicate => duplicates += 1,
            Outcome::Rejected(why) => panic!("rejected: {why}"),
            _ => {}
        }
    }
    (dropped, duplicates)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_list_stores_what_upstream_stores() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let (want, want_dropped) = expected(&dir);
    for store in common::stores().await {
        let project = common::project(&store, "git", "git.lists.example.org").await;
        let started = std::time::Instant::now();
        let (dropped, duplicates) = import(&store, &dir).await;
        eprintln!(
            "{:?}: imported in {:.1?}",
            store.backend(),
            started.elapsed()
        );
        assert_eq!(duplicates, 0);
        assert_eq!(dropped, want_dropped, "{:?}", store.backend());
        let got = store.counts(project.id).await.unwrap();
        assert_eq!(got, want, "{:?}", store.backend());

        // Again: every mail is a duplicate and nothing changes.
        let (dropped_again, duplicates_again) = import(&store, &dir).await;
        assert_eq!(dropped_again, want_dropped);
        assert_eq!(duplicates_again, 20_000 - want_dropped);
        assert_eq!(store.counts(project.id).await.unwrap(), want);
    }
}
