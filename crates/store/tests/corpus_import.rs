//! The git-list archive (20,000 messages) imported on every backend stores
//! exactly what upstream Patchwork stores, apart from the differences
//! `docs/compatibility.md` explains message by message; importing again
//! changes nothing. On it and on the synthetic archive, version lineage
//! links every revision the generator made.
//!
//! Needs the corpus (`PATCHTRACK_CORPUS`, else `../shared/corpus`); without
//! it the test says so loudly and passes, unless
//! `PATCHTRACK_REQUIRE_CORPUS=1` (set by `.ci/run`).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::io::BufReader;

use patchtrack_mail::{MboxReader, Quoting};
use patchtrack_store::{Counts, IngestOptions, Outcome, Page, SeriesFilter, Store};

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
        lineage_matches_the_generator(&store, &dir, "git-list.mbox.json").await;
    }
}

/// The generator's revisions (`series_revisions`: postings of v2 and
/// later) are each linked to the posting of the version before; the
/// only other links are resends (`series_detail.resend`), which link to
/// the posting they resend at the same version.
async fn lineage_matches_the_generator(store: &Store, dir: &std::path::Path, json: &str) {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(json)).unwrap()).unwrap();
    let revisions = json["series_revisions"].as_u64().unwrap();
    let resends = json["series_detail"]["resend"].as_u64().unwrap();
    let (mut revised, mut linked, mut same_version) = (0, 0, 0);
    let mut evidence = std::collections::BTreeMap::new();
    for number in 1.. {
        let page = Page { number, size: 1000 };
        // A page past the last is none at all.
        let Some(listed) = store
            .series_list(&SeriesFilter::default(), &[], page)
            .await
            .unwrap()
        else {
            break;
        };
        if listed.items.is_empty() {
            break;
        }
        let ids: Vec<i64> = listed.items.iter().map(|s| s.id).collect();
        let lineage = store.series_lineage(&ids).await.unwrap();
        for s in &listed.items {
            if s.version >= 2 {
                revised += 1;
            }
            let Some(p) = lineage[&s.id].previous.last() else {
                continue;
            };
            *evidence.entry(p.evidence.unwrap().as_str()).or_insert(0) += 1;
            match s.version - p.version {
                1 => linked += 1,
                0 => same_version += 1,
                gap => panic!(
                    "series {} (v{}) linked {gap} versions back",
                    s.id, s.version
                ),
            }
        }
    }
    eprintln!(
        "{:?}: lineage: {linked} of {revised} revisions linked, {same_version} resends, {evidence:?}",
        store.backend()
    );
    assert_eq!(revised, revisions, "stored postings of v2 and later");
    assert_eq!(linked, revisions, "each linked to the version before");
    assert!(same_version <= resends, "{same_version} same-version links");
    for kind in ["in-reply-to", "link", "name"] {
        assert!(evidence.contains_key(kind), "no {kind} link in the corpus");
    }
}

#[tokio::test]
async fn synthetic_lineage_matches_the_generator() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    for store in common::stores().await {
        common::project(&store, "syn", "synthetic.lists.example.org").await;
        let file = std::fs::File::open(dir.join("synthetic-2k.mbox")).unwrap();
        let options = IngestOptions::default();
        for m in MboxReader::new(BufReader::new(file), Quoting::Mboxrd) {
            let outcome = store.ingest(&m.unwrap().data, &options).await.unwrap();
            assert!(!matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
        }
        lineage_matches_the_generator(&store, &dir, "synthetic-2k.json").await;
    }
}
