//! Version lineage at ingestion, on both engines: each kind of evidence
//! links a posting to the one it revises (and says which), a stronger
//! kind replaces a weaker one, deliveries out of order end with the links
//! of a delivery in order, a `v5.1` patch takes its patch's place, and
//! the auto-supersede setting marks the older version once the newer is
//! complete (and only where it is on).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{EventFilter, Evidence, IngestOptions, Outcome, Page, Store};

/// A mail of list `t.example.org`; a patch when `diff` is set.
struct Mail<'a> {
    id: &'a str,
    from: &'a str,
    subject: &'a str,
    minute: u32,
    reply_to: Option<&'a str>,
    headers: &'a str,
    body: &'a str,
    diff: bool,
}

impl Default for Mail<'_> {
    fn default() -> Self {
        Mail {
            id: "",
            from: "Ann Author <ann@example.org>",
            subject: "",
            minute: 0,
            reply_to: None,
            headers: "",
            body: "Some words.\n",
            diff: true,
        }
    }
}

impl Mail<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut m = format!(
            "From: {}\nTo: t@example.org\nSubject: {}\nDate: Mon, 1 Jan 2024 {:02}:{:02}:00 +0000\n\
             Message-Id: <{}>\nList-Id: <t.example.org>\n",
            self.from,
            self.subject,
            10 + self.minute / 60,
            self.minute % 60,
            self.id
        );
        if let Some(r) = self.reply_to {
            m.push_str(&format!("In-Reply-To: <{r}>\nReferences: <{r}>\n"));
        }
        m.push_str(self.headers);
        m.push('\n');
        m.push_str(self.body);
        if self.diff {
            // A diff of its own per mail, so that no two patches share a hash.
            m.push_str(&format!(
                "---\n f | 1 +\n\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n x\n+{}\n",
                self.id
            ));
        }
        m.into_bytes()
    }
}

async fn deliver(store: &Store, mail: Mail<'_>) -> Outcome {
    let o = IngestOptions {
        list_id: Some("t.example.org".into()),
    };
    let outcome = store.ingest(&mail.bytes(), &o).await.unwrap();
    assert!(outcome.is_stored(), "{}: {outcome:?}", mail.id);
    outcome
}

async fn series_of(store: &Store, outcome: &Outcome) -> i64 {
    match outcome {
        Outcome::Patch { id } => store.patch(*id).await.unwrap().unwrap().series.unwrap().id,
        Outcome::Cover { id } => {
            let cover = store.cover(*id).await.unwrap().unwrap();
            cover.series.unwrap().id
        }
        other => panic!("not a patch or cover: {other:?}"),
    }
}

fn patch_id(outcome: &Outcome) -> i64 {
    match outcome {
        Outcome::Patch { id } => *id,
        other => panic!("not a patch: {other:?}"),
    }
}

/// The posting `series` revises and how it was found.
async fn previous(store: &Store, series: i64) -> Option<(i64, Option<Evidence>)> {
    let l = store
        .series_lineage(&[series])
        .await
        .unwrap()
        .remove(&series)?;
    l.previous.last().map(|p| (p.id, p.evidence))
}

async fn fresh() -> Vec<Store> {
    let stores = common::stores().await;
    for s in &stores {
        common::project(s, "t", "t.example.org").await;
    }
    stores
}

#[tokio::test]
async fn every_kind_of_evidence_links_and_is_named() {
    for store in fresh().await {
        // name: same submitter, same folded name, lower version.
        let a1 = deliver(
            &store,
            Mail {
                id: "a1@x",
                subject: "[PATCH] net: Fix the frobnicator",
                ..Mail::default()
            },
        )
        .await;
        let a2 = deliver(
            &store,
            Mail {
                id: "a2@x",
                subject: "[PATCH v2] net: fix  the Frobnicator",
                minute: 60,
                ..Mail::default()
            },
        )
        .await;
        let (s1, s2) = (series_of(&store, &a1).await, series_of(&store, &a2).await);
        assert_eq!(previous(&store, s2).await, Some((s1, Some(Evidence::Name))));
        let sup = store.patch_supersedes(&[patch_id(&a2)]).await.unwrap();
        assert_eq!(
            sup[&patch_id(&a2)].id,
            patch_id(&a1),
            "the patch it revises"
        );
        // Another submitter's same name is not a version of it.
        let other = deliver(
            &store,
            Mail {
                id: "a3@x",
                from: "Bob <bob@example.org>",
                subject: "[PATCH v3] net: Fix the frobnicator",
                minute: 120,
                ..Mail::default()
            },
        )
        .await;
        assert_eq!(
            previous(&store, series_of(&store, &other).await).await,
            None
        );

        // change-id: b4's footer, whatever the names.
        let b4_footer = "Words.\n\n---\nbase-commit: 1234\nchange-id: 20240101-idea-0123456789ab\n";
        let b2 = deliver(
            &store,
            Mail {
                id: "b2c@x",
                subject: "[PATCH v2 0/1] a title",
                minute: 240,
                body: b4_footer,
                diff: false,
                ..Mail::default()
            },
        )
        .await;
        let b3 = deliver(
            &store,
            Mail {
                id: "b3c@x",
                subject: "[PATCH v3 0/1] another title",
                minute: 300,
                body: b4_footer,
                diff: false,
                ..Mail::default()
            },
        )
        .await;
        assert_eq!(
            previous(&store, series_of(&store, &b3).await).await,
            Some((series_of(&store, &b2).await, Some(Evidence::ChangeId)))
        );

        // link: a `Link to v1:` line naming the older cover.
        let d1 = deliver(
            &store,
            Mail {
                id: "d1c@x",
                subject: "[PATCH 0/1] one title",
                minute: 360,
                diff: false,
                ..Mail::default()
            },
        )
        .await;
        let d2 = deliver(
            &store,
            Mail {
                id: "d2c@x",
                subject: "[PATCH v2 0/1] another title",
                minute: 420,
                body: "Changes.\n\n- Link to v1: https://lore.example.org/r/d1c@x\n",
                diff: false,
                ..Mail::default()
            },
        )
        .await;
        assert_eq!(
            previous(&store, series_of(&store, &d2).await).await,
            Some((series_of(&store, &d1).await, Some(Evidence::Link)))
        );

        // in-reply-to: a revision sent into the older thread.
        let e1 = deliver(
            &store,
            Mail {
                id: "e1@x",
                subject: "[PATCH] old wording",
                minute: 480,
                ..Mail::default()
            },
        )
        .await;
        let e2 = deliver(
            &store,
            Mail {
                id: "e2@x",
                subject: "[PATCH v2] new wording",
                minute: 540,
                reply_to: Some("e1@x"),
                ..Mail::default()
            },
        )
        .await;
        assert_eq!(
            previous(&store, series_of(&store, &e2).await).await,
            Some((series_of(&store, &e1).await, Some(Evidence::InReplyTo)))
        );

        // supersedes: a header naming the older mail, from someone else.
        let f1 = deliver(
            &store,
            Mail {
                id: "f1@x",
                subject: "[PATCH] taken over",
                minute: 600,
                ..Mail::default()
            },
        )
        .await;
        let f2 = deliver(
            &store,
            Mail {
                id: "f2@x",
                from: "Carol <carol@example.org>",
                subject: "[PATCH] taken over, reworked",
                minute: 660,
                headers: "Supersedes: <f1@x>\n",
                ..Mail::default()
            },
        )
        .await;
        assert_eq!(
            previous(&store, series_of(&store, &f2).await).await,
            Some((series_of(&store, &f1).await, Some(Evidence::Supersedes)))
        );
        // The older posting lists the newer one.
        let f1s = series_of(&store, &f1).await;
        let l = store
            .series_lineage(&[f1s])
            .await
            .unwrap()
            .remove(&f1s)
            .unwrap();
        let next: Vec<i64> = l.next.iter().map(|n| n.id).collect();
        assert_eq!(next, [series_of(&store, &f2).await]);
    }
}

async fn cover_id(store: &Store, msgid: &str) -> i64 {
    let covers = store
        .covers(
            &Default::default(),
            &[],
            Page {
                number: 1,
                size: 100,
            },
        )
        .await
        .unwrap()
        .unwrap()
        .items;
    covers
        .iter()
        .find(|c| c.msgid == format!("<{msgid}>"))
        .unwrap()
        .id
}

#[tokio::test]
async fn stronger_evidence_replaces_a_name_match() {
    for store in fresh().await {
        // Two v1 postings of the same name; v2's patch finds the newer by
        // name, its cover's link names the older: the link wins.
        let old = deliver(
            &store,
            Mail {
                id: "o1@x",
                subject: "[PATCH 1/1] the change",
                ..Mail::default()
            },
        )
        .await;
        let newer = deliver(
            &store,
            Mail {
                id: "n1@x",
                subject: "[PATCH 1/1] the change",
                minute: 60,
                ..Mail::default()
            },
        )
        .await;
        let v2 = deliver(
            &store,
            Mail {
                id: "v2p@x",
                subject: "[PATCH v2 1/1] the change",
                minute: 120,
                ..Mail::default()
            },
        )
        .await;
        let s = series_of(&store, &v2).await;
        assert_eq!(
            previous(&store, s).await,
            Some((series_of(&store, &newer).await, Some(Evidence::Name)))
        );
        deliver(
            &store,
            Mail {
                id: "v2c@x",
                subject: "[PATCH v2 0/1] the change",
                minute: 119,
                body: "Link to v1: https://lore.example.org/all/o1@x/\n",
                diff: false,
                ..Mail::default()
            },
        )
        .await;
        let o = series_of(&store, &old).await;
        // The cover shares no reference with the patch, so it starts a
        // series of its own, which the name alone would link to `newer`.
        let cs = series_of(
            &store,
            &Outcome::Cover {
                id: cover_id(&store, "v2c@x").await,
            },
        )
        .await;
        assert_eq!(previous(&store, cs).await, Some((o, Some(Evidence::Link))));
    }
}

/// Delivers `order` (indexes into the three versions) and returns, per
/// version, the version number its series' previous posting has.
async fn versions_linked(order: &[usize]) -> Vec<Vec<Option<i64>>> {
    let subjects = [
        "[PATCH 1/1] same thing",
        "[PATCH v2 1/1] same thing",
        "[PATCH v3 1/1] same thing",
    ];
    let mut all = Vec::new();
    for store in fresh().await {
        let mut series = [0i64; 3];
        for &i in order {
            let ids = ["r1@x", "r2@x", "r3@x"];
            let o = deliver(
                &store,
                Mail {
                    id: ids[i],
                    subject: subjects[i],
                    minute: 60 * i as u32,
                    ..Mail::default()
                },
            )
            .await;
            series[i] = series_of(&store, &o).await;
        }
        let l = store.series_lineage(&series).await.unwrap();
        all.push(
            series
                .iter()
                .map(|s| l[s].previous.last().map(|p| p.version))
                .collect(),
        );
    }
    all
}

#[tokio::test]
async fn deliveries_out_of_order_end_with_the_same_links() {
    let in_order = versions_linked(&[0, 1, 2]).await;
    for run in &in_order {
        assert_eq!(run, &[None, Some(1), Some(2)]);
    }
    for order in [[2, 0, 1], [1, 2, 0], [2, 1, 0]] {
        assert_eq!(versions_linked(&order).await, in_order, "order {order:?}");
    }
}

#[tokio::test]
async fn a_dotted_revision_takes_its_patchs_place() {
    for store in fresh().await {
        deliver(
            &store,
            Mail {
                id: "s0@x",
                subject: "[PATCH v5 0/3] three things",
                diff: false,
                ..Mail::default()
            },
        )
        .await;
        let mut patches = Vec::new();
        for k in 1..=3 {
            let id = format!("s{k}@x");
            let subject = format!("[PATCH v5 {k}/3] thing {k}");
            patches.push(
                deliver(
                    &store,
                    Mail {
                        id: &id,
                        subject: &subject,
                        minute: k,
                        reply_to: Some("s0@x"),
                        ..Mail::default()
                    },
                )
                .await,
            );
        }
        let series = series_of(&store, &patches[0]).await;
        let new = deliver(
            &store,
            Mail {
                id: "s2b@x",
                subject: "[PATCH v5.1 2/3] thing 2, fixed",
                minute: 600,
                reply_to: Some("s2@x"),
                ..Mail::default()
            },
        )
        .await;
        assert_eq!(series_of(&store, &new).await, series, "joins the series");
        let s = store.series(series).await.unwrap().unwrap();
        assert_eq!(s.received_total, 3);
        let old = patch_id(&patches[1]);
        let in_mbox = store.series_patch_ids(series).await.unwrap();
        assert_eq!(
            in_mbox,
            [patch_id(&patches[0]), patch_id(&new), patch_id(&patches[2])]
        );
        let replaced = store.patch(old).await.unwrap().unwrap();
        assert!(replaced.series.is_none(), "the old patch left the series");
        let sup = store.patch_supersedes(&[patch_id(&new)]).await.unwrap();
        assert_eq!(sup[&patch_id(&new)].id, old);

        // A plain reply with the same number is no replacement.
        let again = deliver(
            &store,
            Mail {
                id: "s3b@x",
                subject: "[PATCH v5 3/3] thing 3 again",
                minute: 660,
                reply_to: Some("s3@x"),
                ..Mail::default()
            },
        )
        .await;
        assert_ne!(series_of(&store, &again).await, series);
    }
}

async fn post_two(store: &Store, version: u32, minute: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    for k in 1..=2 {
        let id = format!("w{version}-{k}@x");
        let subject = match version {
            1 => format!("[PATCH {k}/2] part {k}"),
            v => format!("[PATCH v{v} {k}/2] part {k}"),
        };
        let o = deliver(
            store,
            Mail {
                id: &id,
                subject: &subject,
                minute: minute + k,
                ..Mail::default()
            },
        )
        .await;
        ids.push(patch_id(&o));
    }
    ids
}

#[tokio::test]
async fn auto_supersede_only_where_the_project_asks() {
    for store in fresh().await {
        let v1 = post_two(&store, 1, 0).await;
        let v2 = post_two(&store, 2, 60).await;
        for id in &v1 {
            assert_eq!(store.patch(*id).await.unwrap().unwrap().state, "new");
        }

        let mut p = store.project_by_linkname("t").await.unwrap().unwrap();
        p.auto_supersede = true;
        store.update_project(&p).await.unwrap();
        let v3 = post_two(&store, 3, 120).await;
        let v4_first = post_two(&store, 4, 180).await;
        // v3 superseded v2 and v4 superseded v3; v1 stays as it was (the
        // setting was off when v2 came).
        for id in &v1 {
            assert_eq!(store.patch(*id).await.unwrap().unwrap().state, "new");
        }
        for id in v2.iter().chain(&v3) {
            assert_eq!(store.patch(*id).await.unwrap().unwrap().state, "superseded");
        }
        for id in &v4_first {
            assert_eq!(store.patch(*id).await.unwrap().unwrap().state, "new");
        }
        let events = store
            .events(
                &EventFilter {
                    category: Some("patch-state-changed".into()),
                    patches: v3.clone(),
                    ..EventFilter::default()
                },
                patchtrack_store::EventOrder::DateAsc,
                Page {
                    number: 1,
                    size: 100,
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(events.items.len(), 2, "one event per superseded patch");
    }
}
