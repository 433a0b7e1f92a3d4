//! The per-series state counts behind API 1.5's series `state`, `open`
//! and the series list's `open`/`state`/`version` filters, on both
//! engines: after mail, state and archive changes and a state that stops
//! needing action, what the kept counts say equals what the patches say.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::collections::{BTreeMap, BTreeSet};

use patchtrack_store::{
    IngestOptions, Lookup, Outcome, Page, PatchFilter, PatchUpdate, SeriesFilter, Store,
};

const ALL: Page = Page {
    number: 1,
    size: 1000,
};

/// Series ids a filter lists, and the total it reports.
async fn listed(store: &Store, filter: SeriesFilter) -> (BTreeSet<i64>, u64) {
    let l = store.series_list(&filter, &[], ALL).await.unwrap().unwrap();
    (l.items.iter().map(|s| s.id).collect(), l.total)
}

/// Checks the kept counts against the patches themselves, for every
/// series of project `t`; returns the open series.
async fn agree(store: &Store, what: &str) -> BTreeSet<i64> {
    let project = || vec![Lookup::parse("t")];
    let states = store.states().await.unwrap();
    let action: BTreeSet<String> = states
        .iter()
        .filter(|s| s.action_required)
        .map(|s| s.slug.clone())
        .collect();
    let (series, total) = listed(
        store,
        SeriesFilter {
            projects: project(),
            ..SeriesFilter::default()
        },
    )
    .await;
    assert_eq!(total, series.len() as u64);
    let ids: Vec<i64> = series.iter().copied().collect();
    let kept = store.series_states(&ids).await.unwrap();
    let mut open = BTreeSet::new();
    let mut by_state: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for id in &ids {
        let patches = store
            .patches(
                &PatchFilter {
                    series: vec![*id],
                    ..PatchFilter::default()
                },
                &[],
                ALL,
            )
            .await
            .unwrap()
            .unwrap()
            .items;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for p in &patches {
            *counts.entry(p.state.clone()).or_default() += 1;
            by_state.entry(p.state.clone()).or_default().insert(*id);
            if !p.archived && action.contains(&p.state) {
                open.insert(*id);
            }
        }
        let k = &kept[id];
        let kept_counts: BTreeMap<String, i64> = k.counts.iter().cloned().collect();
        assert_eq!(kept_counts, counts, "{what}: series {id}'s counts");
        assert_eq!(k.open, open.contains(id), "{what}: series {id} open");
        // The states come in the states' order.
        let order: Vec<usize> = k
            .counts
            .iter()
            .map(|(slug, _)| states.iter().position(|s| &s.slug == slug).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{what}: {order:?}");
    }
    for wanted in [true, false] {
        let (got, total) = listed(
            store,
            SeriesFilter {
                projects: project(),
                open: Some(wanted),
                ..SeriesFilter::default()
            },
        )
        .await;
        let expected: BTreeSet<i64> = series
            .iter()
            .copied()
            .filter(|id| open.contains(id) == wanted)
            .collect();
        assert_eq!(got, expected, "{what}: open={wanted}");
        assert_eq!(total, expected.len() as u64, "{what}: open={wanted} count");
    }
    for state in &states {
        let (got, total) = listed(
            store,
            SeriesFilter {
                projects: project(),
                states: vec![Lookup::parse(&state.slug)],
                ..SeriesFilter::default()
            },
        )
        .await;
        let expected = by_state.get(&state.slug).cloned().unwrap_or_default();
        assert_eq!(got, expected, "{what}: state={}", state.slug);
        assert_eq!(total, expected.len() as u64);
    }
    open
}

#[tokio::test]
async fn kept_series_states_equal_their_patches_through_changes() {
    for store in common::stores().await {
        common::project(&store, "t", "t.example.org").await;
        let who = common::maintainer(&store, "t").await;
        let dir = common::testdata().join("patchwork/series");
        let mut ids = Vec::new();
        for name in [
            "base-cover-letter.mbox",
            "base-different-versions.mbox",
            "revision-basic.mbox",
            "base-incomplete.mbox",
        ] {
            for m in common::mbox(&std::fs::read(dir.join(name)).unwrap()) {
                let o = IngestOptions {
                    list_id: Some("t.example.org".into()),
                };
                if let Outcome::Patch { id } = store.ingest(&m, &o).await.unwrap() {
                    ids.push(id);
                }
            }
        }
        let open = agree(&store, "after mail").await;
        assert!(open.len() >= 3, "new mail is open: {open:?}");

        let accepted = store.state_for_input("accepted").await.unwrap().unwrap();
        let review = store
            .state_for_input("under-review")
            .await
            .unwrap()
            .unwrap();
        let changes = [
            PatchUpdate {
                state: Some(accepted),
                ..PatchUpdate::default()
            },
            PatchUpdate {
                archived: Some(true),
                ..PatchUpdate::default()
            },
            PatchUpdate {
                state: Some(review),
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
        let open = agree(&store, "after changes").await;
        assert!(!open.is_empty());

        // Every patch accepted or archived: nothing is open any more.
        for id in &ids {
            let change = PatchUpdate {
                state: Some(accepted),
                ..PatchUpdate::default()
            };
            store
                .update_patch(&who, *id, &change)
                .await
                .unwrap()
                .unwrap();
        }
        assert!(agree(&store, "all accepted").await.is_empty());

        // A state that comes to need action reopens the series in it, and
        // closes them again when it stops.
        store
            .set_state_action_required(accepted, true)
            .await
            .unwrap();
        let reopened = agree(&store, "accepted needs action").await;
        assert!(!reopened.is_empty());
        store
            .set_state_action_required(accepted, false)
            .await
            .unwrap();
        assert!(agree(&store, "accepted is done again").await.is_empty());

        // Versions filter by the series' own number.
        let (v2, _) = listed(
            &store,
            SeriesFilter {
                projects: vec![Lookup::parse("t")],
                versions: vec![2],
                ..SeriesFilter::default()
            },
        )
        .await;
        assert!(!v2.is_empty(), "revision-basic has a v2");
        for id in v2 {
            assert_eq!(store.series(id).await.unwrap().unwrap().version, 2);
        }
    }
}
