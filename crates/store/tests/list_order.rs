//! How pages are read, checked against one plain sort of the matching
//! rows: date-ordered lists over archived and unarchived patches together
//! (the web list's `archive=both`), read as two index ranges merged, and
//! pages in a list's second half, read from its end in the reverse order.
//! Every page, in both directions and with ties, holds exactly the
//! patches the plain sort puts there.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{
    DateRange, EventFilter, IngestOptions, Lookup, Outcome, Page, PatchFilter, PatchOrder,
    PatchUpdate, SeriesFilter, Store,
};

/// A date range that matches every row; a filter holding it is not one the
/// merged read serves, so it gives the plain sort to compare against.
const ALWAYS: DateRange = DateRange {
    since: Some(i64::MIN + 1),
    before: None,
};

fn mail(n: usize, day: usize) -> Vec<u8> {
    format!(
        "From: Sub Mitter <sub@example.org>\n\
         Subject: [PATCH] change {n}\n\
         Message-Id: <order-{n}@example.org>\n\
         Date: Mon, {day} Feb 2020 04:05:07 +0000\n\
         \n\
         A change.\n\
         ---\n\
         diff --git a/f b/f\n\
         --- a/f\n\
         +++ b/f\n\
         @@ -1 +1 @@\n\
         -a\n\
         +{n}\n"
    )
    .into_bytes()
}

/// Every page of `filter` in `order`, as ids.
async fn pages(store: &Store, filter: &PatchFilter, order: &[(PatchOrder, bool)]) -> Vec<i64> {
    pages_of(store, filter, order, 3).await
}

async fn pages_of(
    store: &Store,
    filter: &PatchFilter,
    order: &[(PatchOrder, bool)],
    size: u64,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for number in 1.. {
        let page = Page { number, size };
        let Some(listed) = store.patches(filter, order, page).await.unwrap() else {
            break;
        };
        ids.extend(listed.items.iter().map(|p| p.id));
        if listed.items.len() < size as usize {
            break;
        }
    }
    ids
}

#[tokio::test]
async fn every_page_holds_what_one_plain_sort_puts_there() {
    for store in common::stores().await {
        common::project(&store, "t", "t.example.org").await;
        common::project(&store, "other", "other.example.org").await;
        let opts = IngestOptions {
            list_id: Some("t.example.org".into()),
        };
        // Days out of arrival order, several patches on one day.
        let days = [5, 3, 3, 9, 1, 3, 7, 5, 2, 8, 3, 6, 4];
        let mut ids = Vec::new();
        for (n, day) in days.iter().enumerate() {
            match store.ingest(&mail(n, *day), &opts).await.unwrap() {
                Outcome::Patch { id } => ids.push(id),
                other => panic!("mail {n}: {other:?}"),
            }
        }
        let other = IngestOptions {
            list_id: Some("other.example.org".into()),
        };
        store.ingest(&mail(99, 4), &other).await.unwrap();

        let who = common::maintainer(&store, "t").await;
        let accepted = store.state_for_input("accepted").await.unwrap().unwrap();
        for (i, id) in ids.iter().enumerate() {
            let change = match i % 3 {
                0 => PatchUpdate {
                    archived: Some(true),
                    ..PatchUpdate::default()
                },
                1 => PatchUpdate {
                    state: Some(accepted),
                    archived: Some(true),
                    ..PatchUpdate::default()
                },
                _ => continue,
            };
            store
                .update_patch(&who, *id, &change)
                .await
                .unwrap()
                .unwrap();
        }

        let project = vec![Lookup::parse("t")];
        let filters = [
            PatchFilter {
                projects: project.clone(),
                ..PatchFilter::default()
            },
            PatchFilter {
                projects: project.clone(),
                states: vec![Lookup::parse("new")],
                ..PatchFilter::default()
            },
        ];
        for (i, filter) in filters.iter().enumerate() {
            let plain = PatchFilter {
                dates: ALWAYS,
                ..filter.clone()
            };
            for desc in [false, true] {
                let order = [(PatchOrder::Date, desc)];
                let merged = pages(&store, filter, &order).await;
                let sorted = pages(&store, &plain, &order).await;
                assert_eq!(merged, sorted, "filter {i}, descending {desc}");
                // Every third patch was accepted; the rest stay new.
                let expected = if i == 0 {
                    ids.len()
                } else {
                    (0..ids.len()).filter(|n| n % 3 != 1).count()
                };
                assert_eq!(merged.len(), expected, "filter {i}: {merged:?}");
            }
        }
        // Pages past the middle, read from the end, against one page of all.
        let orders: [&[(PatchOrder, bool)]; 5] = [
            &[],
            &[(PatchOrder::Id, true)],
            &[(PatchOrder::Date, true)],
            &[(PatchOrder::Name, false)],
            &[(PatchOrder::Date, false), (PatchOrder::Name, true)],
        ];
        for (i, order) in orders.iter().enumerate() {
            for filter in [&filters[0], &filters[1]] {
                let plain = PatchFilter {
                    dates: ALWAYS,
                    ..filter.clone()
                };
                let whole = pages_of(&store, &plain, order, 1000).await;
                for size in [2, 3, 5] {
                    assert_eq!(
                        pages_of(&store, &plain, order, size).await,
                        whole,
                        "order {i}, pages of {size}"
                    );
                    assert_eq!(
                        pages_of(&store, filter, order, size).await,
                        whole,
                        "order {i}, pages of {size}, tallied"
                    );
                }
            }
        }
        // The series and event lists read their later pages the same way.
        for dates in [DateRange::default(), ALWAYS] {
            let series = SeriesFilter {
                projects: project.clone(),
                dates,
                ..SeriesFilter::default()
            };
            let events = EventFilter {
                projects: project.clone(),
                dates,
                ..EventFilter::default()
            };
            let mut whole_series = None;
            let mut whole_events = [None, None, None, None];
            for size in [1000, 2, 3, 5] {
                let mut got = Vec::new();
                for number in 1..=1000 / size {
                    let page = Page { number, size };
                    match store.series_list(&series, &[], page).await.unwrap() {
                        Some(l) => got.extend(l.items.iter().map(|s| s.id)),
                        None => break,
                    }
                }
                let want = whole_series.get_or_insert_with(|| got.clone());
                assert_eq!(&got, want, "series, pages of {size}");
                use patchtrack_store::EventOrder;
                let orders = [
                    EventOrder::DateDesc,
                    EventOrder::DateAsc,
                    EventOrder::IdAsc,
                    EventOrder::IdDesc,
                ];
                for (order, whole) in orders.into_iter().zip(&mut whole_events) {
                    let mut got = Vec::new();
                    for number in 1..=1000 / size {
                        let page = Page { number, size };
                        match store.events(&events, order, page).await.unwrap() {
                            Some(l) => got.extend(l.items.iter().map(|e| e.id)),
                            None => break,
                        }
                    }
                    let want = whole.get_or_insert_with(|| got.clone());
                    assert!(want.len() > 13, "the mails and changes made events");
                    assert_eq!(&got, want, "events, {order:?}, pages of {size}");
                    if order == EventOrder::IdAsc {
                        assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
                    }
                }
            }
        }
        // Both halves are listed: the whole project, each patch once.
        let all = pages(&store, &filters[0], &[(PatchOrder::Date, false)]).await;
        let mut seen = all.clone();
        seen.sort_unstable();
        let mut want = ids.clone();
        want.sort_unstable();
        assert_eq!(seen, want);
    }
}
