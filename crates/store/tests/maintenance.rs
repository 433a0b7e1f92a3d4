//! The repair commands' store side on both backends: tag counts and
//! hashes recomputed from what is stored, relations replaced from a list.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::maintenance::Patches;
use patchtrack_store::{IngestOptions, Outcome, Store};

const DIFF: &str = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";

fn patch(id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: A <a@example.org>\nSubject: [PATCH] change {id}\nMessage-Id: <{id}@example.org>\n\
         Date: Mon, 3 Feb 2020 04:05:06 +0000\n\n{body}\n---\n{DIFF}"
    )
    .into_bytes()
}

async fn setup(store: &Store) -> (i64, Vec<i64>) {
    let project = common::project(store, "p", "p.example.org").await;
    let opts = IngestOptions {
        list_id: Some("p.example.org".into()),
    };
    let mut ids = Vec::new();
    for (id, body) in [
        (
            "one",
            "Fix.\n\nFixes: 0123456789ab (\"x\")\nReviewed-by: R <r@x.org>",
        ),
        ("two", "Fix."),
        ("three", "Fix."),
    ] {
        match store.ingest(&patch(id, body), &opts).await.unwrap() {
            Outcome::Patch { id } => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    (project.id, ids)
}

async fn tags(store: &Store, project: i64, msgid: &str) -> Vec<(String, i64)> {
    store
        .patch_status(project, msgid)
        .await
        .unwrap()
        .unwrap()
        .tags
}

#[tokio::test]
async fn retag_counts_a_new_tag_in_old_patches() {
    for store in common::stores().await {
        let (project, _) = setup(&store).await;
        assert_eq!(
            tags(&store, project, "<one@example.org>").await,
            vec![("Reviewed-by".to_string(), 1)]
        );
        store.add_tag("Fixes", "^Fixes:", "F", true).await.unwrap();
        // Counted from now on only, until a retag.
        assert_eq!(tags(&store, project, "<one@example.org>").await.len(), 1);
        let mut seen = Vec::new();
        let n = store
            .retag(Patches::All, &mut |done| seen.push(done))
            .await
            .unwrap();
        assert_eq!((n, seen), (3, vec![3]));
        let mut after = tags(&store, project, "<one@example.org>").await;
        after.sort();
        assert_eq!(
            after,
            vec![("Fixes".to_string(), 1), ("Reviewed-by".to_string(), 1)]
        );
        // Refusals: a broken pattern, a taken abbreviation.
        assert!(store.add_tag("Bad", "^(", "B", true).await.is_err());
        assert!(store.add_tag("Again", "^Again:", "F", true).await.is_err());
    }
}

#[tokio::test]
async fn rehash_repairs_lost_hashes_and_keeps_good_ones() {
    for store in common::stores().await {
        let (project, ids) = setup(&store).await;
        let good = store.patch(ids[0]).await.unwrap().unwrap().hash;
        assert_eq!(
            good.as_deref(),
            Some(patchtrack_mail::hash_diff(DIFF)).as_deref()
        );
        let (n, changed) = store.rehash(Patches::All, &mut |_| {}).await.unwrap();
        assert_eq!((n, changed), (3, 0), "ingestion and rehash agree");
        store
            .execute_admin("UPDATE patch SET hash = NULL")
            .await
            .unwrap();
        let (n, changed) = store
            .rehash(Patches::Only(&[ids[1], 999_999]), &mut |_| {})
            .await
            .unwrap();
        assert_eq!((n, changed), (1, 1), "only the named patch");
        let status = |msgid: &'static str| {
            let store = store.clone();
            async move {
                store
                    .patch_status(project, msgid)
                    .await
                    .unwrap()
                    .unwrap()
                    .hash
            }
        };
        assert_eq!(status("<two@example.org>").await, good);
        assert_eq!(status("<one@example.org>").await, None);
    }
}

#[tokio::test]
async fn replacerelations_replaces_every_relation() {
    for store in common::stores().await {
        let (_, ids) = setup(&store).await;
        let (one, two, three) = (ids[0], ids[1], ids[2]);
        let related = |id: i64| {
            let store = store.clone();
            async move {
                let mut r: Vec<i64> = store
                    .patch(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .related
                    .iter()
                    .map(|p| p.id)
                    .collect();
                r.sort();
                r
            }
        };
        let first = store
            .replace_relations(&[vec![one, two, three]])
            .await
            .unwrap();
        assert_eq!(first.relations, 1);
        assert_eq!(related(one).await, vec![two, three]);
        let second = store
            .replace_relations(&[vec![one, two], vec![three, 999_999], vec![two, three]])
            .await
            .unwrap();
        assert_eq!(second.relations, 1);
        assert_eq!(
            second
                .skipped
                .iter()
                .map(|(line, _)| *line)
                .collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(related(one).await, vec![two]);
        assert_eq!(
            related(three).await,
            Vec::<i64>::new(),
            "the old relation is gone"
        );
    }
}
