//! The tallies behind list counts, on both engines: after mail, state,
//! archive and delegate changes, and compaction, every count a list takes
//! from a tally equals the count of the rows themselves.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{
    DateRange, EventFilter, IngestOptions, Lookup, Page, PatchFilter, PatchUpdate, SeriesFilter,
    Store,
};

const PAGE: Page = Page { number: 1, size: 1 };

/// A date range that matches every row: the filter then counts rows
/// instead of reading the tally.
const ALWAYS: DateRange = DateRange {
    since: Some(i64::MIN + 1),
    before: None,
};

async fn patches(store: &Store, mut filter: PatchFilter) -> (u64, u64) {
    let tallied = store.patches(&filter, &[], PAGE).await.unwrap();
    filter.dates = ALWAYS;
    let counted = store.patches(&filter, &[], PAGE).await.unwrap();
    (
        tallied.map_or(0, |l| l.total),
        counted.map_or(0, |l| l.total),
    )
}

/// Asserts tally and rows agree on the lists real clients ask for.
async fn agree(store: &Store, project: &str, delegate: i64, what: &str) -> u64 {
    let p = vec![Lookup::parse(project)];
    let action = vec![Lookup::parse("new"), Lookup::parse("under-review")];
    let filters = [
        PatchFilter {
            projects: p.clone(),
            ..PatchFilter::default()
        },
        PatchFilter {
            projects: p.clone(),
            states: action.clone(),
            archived: Some(false),
            ..PatchFilter::default()
        },
        PatchFilter {
            projects: p.clone(),
            states: vec![Lookup::parse("accepted")],
            ..PatchFilter::default()
        },
        PatchFilter {
            projects: p.clone(),
            delegates: vec![Lookup::Id(delegate)],
            ..PatchFilter::default()
        },
        PatchFilter {
            projects: p.clone(),
            no_delegate: true,
            archived: Some(true),
            ..PatchFilter::default()
        },
        PatchFilter::default(),
    ];
    let mut all = 0;
    for (i, f) in filters.into_iter().enumerate() {
        let (tallied, counted) = patches(store, f).await;
        assert_eq!(tallied, counted, "{what}: patch filter {i}");
        if i == 0 {
            all = tallied;
        }
    }
    let series = |dates| SeriesFilter {
        projects: p.clone(),
        dates,
        ..SeriesFilter::default()
    };
    let s1 = store
        .series_list(&series(DateRange::default()), &[], PAGE)
        .await;
    let s2 = store.series_list(&series(ALWAYS), &[], PAGE).await;
    assert_eq!(
        s1.unwrap().map(|l| l.total),
        s2.unwrap().map(|l| l.total),
        "{what}: series"
    );
    for category in [None, Some("patch-state-changed".to_string())] {
        let events = |dates| EventFilter {
            projects: p.clone(),
            category: category.clone(),
            dates,
            ..EventFilter::default()
        };
        let e1 = store
            .events(
                &events(DateRange::default()),
                patchtrack_store::EventOrder::DateDesc,
                PAGE,
            )
            .await;
        let e2 = store
            .events(
                &events(ALWAYS),
                patchtrack_store::EventOrder::DateDesc,
                PAGE,
            )
            .await;
        assert_eq!(
            e1.unwrap().map(|l| l.total),
            e2.unwrap().map(|l| l.total),
            "{what}: events {category:?}"
        );
    }
    all
}

#[tokio::test]
async fn tallied_counts_equal_counted_rows_through_changes_and_compaction() {
    for store in common::stores().await {
        let project = common::project(&store, "t", "t.example.org").await;
        common::project(&store, "other", "other.example.org").await;
        let who = common::maintainer(&store, "t").await;
        let uid = who.user.id;
        let series = common::testdata().join("patchwork/series");
        let mut ids = Vec::new();
        for name in ["base-cover-letter.mbox", "base-different-versions.mbox"] {
            for m in common::mbox(&std::fs::read(series.join(name)).unwrap()) {
                let o = IngestOptions {
                    list_id: Some("t.example.org".into()),
                };
                if let patchtrack_store::Outcome::Patch { id } = store.ingest(&m, &o).await.unwrap()
                {
                    ids.push(id);
                }
            }
        }
        assert!(ids.len() >= 4, "{ids:?}");
        let stored = agree(&store, "t", uid, "after mail").await;
        assert_eq!(stored, ids.len() as u64);

        let accepted = store.state_for_input("accepted").await.unwrap().unwrap();
        let _ = project;
        let changes = [
            PatchUpdate {
                state: Some(accepted),
                archived: Some(true),
                ..PatchUpdate::default()
            },
            PatchUpdate {
                delegate: Some(Some(uid)),
                ..PatchUpdate::default()
            },
            PatchUpdate {
                archived: Some(true),
                ..PatchUpdate::default()
            },
        ];
        for (id, change) in ids.iter().zip(changes.iter().cycle()) {
            store
                .update_patch(&who, *id, change)
                .await
                .unwrap()
                .unwrap();
        }
        agree(&store, "t", uid, "after changes").await;
        // A change and its reverse leave the count as it was.
        store
            .update_patch(
                &who,
                ids[1],
                &PatchUpdate {
                    delegate: Some(None),
                    ..PatchUpdate::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        agree(&store, "t", uid, "after a delegate is taken off").await;

        let removed = store.compact_tallies().await.unwrap();
        assert!(removed > 0, "the +1/-1 rows are folded");
        assert_eq!(
            store.compact_tallies().await.unwrap(),
            0,
            "nothing left to fold"
        );
        assert_eq!(agree(&store, "t", uid, "after compaction").await, stored);
        let todo = PatchFilter {
            delegates: vec![Lookup::Id(uid)],
            states: vec![Lookup::parse("new"), Lookup::parse("under-review")],
            archived: Some(false),
            dates: ALWAYS,
            ..PatchFilter::default()
        };
        let counted = store
            .patches(&todo, &[], PAGE)
            .await
            .unwrap()
            .unwrap()
            .total;
        assert!(counted > 0, "a delegated patch is waiting");
        assert_eq!(
            store.todo_count(uid).await.unwrap(),
            counted as i64,
            "to-do"
        );
        assert_eq!(agree(&store, "other", uid, "an empty project").await, 0);
    }
}
