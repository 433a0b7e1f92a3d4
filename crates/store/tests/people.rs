//! People: one per address whatever its case, and the latest name given
//! wins, also when an earlier name comes back (the person cache must not
//! hide it), on both backends.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{IngestOptions, Outcome, Store};

fn mail(n: u32, from: &str) -> String {
    format!(
        "From: {from}\nSubject: [PATCH] change {n}\nMessage-Id: <m{n}@example.org>\n\
         Date: Mon, 3 Feb 2020 04:05:0{n} +0000\n\nChange {n}.\n---\n\
         diff --git a/f{n} b/f{n}\n--- a/f{n}\n+++ b/f{n}\n@@ -1 +1 @@\n-a\n+b\n"
    )
}

async fn submitter(store: &Store, raw: &str) -> (Option<String>, String) {
    let opts = IngestOptions {
        list_id: Some("p.example.org".into()),
    };
    let Outcome::Patch { id } = store.ingest(raw.as_bytes(), &opts).await.unwrap() else {
        panic!("not stored");
    };
    let p = store.patch(id).await.unwrap().unwrap();
    let person = store.person(p.submitter.id).await.unwrap().unwrap().person;
    (person.name, person.email)
}

#[tokio::test]
async fn latest_name_wins() {
    for store in common::stores().await {
        common::project(&store, "p", "p.example.org").await;
        let first = submitter(&store, &mail(1, "Jo Dev <jo@example.org>")).await;
        assert_eq!(first, (Some("Jo Dev".into()), "jo@example.org".into()));
        let renamed = submitter(&store, &mail(2, "Joanna Dev <JO@example.org>")).await;
        assert_eq!(
            renamed.0.as_deref(),
            Some("Joanna Dev"),
            "same person, new name"
        );
        let back = submitter(&store, &mail(3, "Jo Dev <jo@example.org>")).await;
        assert_eq!(
            back.0.as_deref(),
            Some("Jo Dev"),
            "the older name, given again, wins"
        );
        let nameless = submitter(&store, &mail(4, "jo@example.org")).await;
        assert_eq!(
            nameless.0.as_deref(),
            Some("Jo Dev"),
            "no name keeps the name"
        );
        let again = submitter(&store, &mail(5, "Jo Dev <jo@example.org>")).await;
        assert_eq!(again, (Some("Jo Dev".into()), "jo@example.org".into()));
    }
}

#[tokio::test]
async fn an_empty_display_name_is_stored_empty_not_absent() {
    for store in common::stores().await {
        common::project(&store, "p", "p.example.org").await;
        for (n, from, email) in [
            (1, "\"\" <e1@example.org>", "e1@example.org"),
            (2, "<e2@example.org>", "e2@example.org"),
            (3, "\"   \" <e3@example.org>", "e3@example.org"),
            (4, "e4@example.org ( )", "e4@example.org"),
        ] {
            let got = submitter(&store, &mail(n, from)).await;
            assert_eq!(got, (Some(String::new()), email.into()), "{from}");
        }
        let bare = submitter(&store, &mail(5, "e5@example.org")).await;
        assert_eq!(
            bare,
            (None, "e5@example.org".into()),
            "no name slot, no name"
        );

        // An empty name is no name to take over: it never replaces one, and
        // a person first seen without a name keeps none.
        let named = submitter(&store, &mail(6, "Eve <e1@example.org>")).await;
        assert_eq!(named.0.as_deref(), Some("Eve"));
        let blank = submitter(&store, &mail(7, "\"\" <E1@example.org>")).await;
        assert_eq!(blank.0.as_deref(), Some("Eve"));
        let still_bare = submitter(&store, &mail(8, "\"\" <e5@example.org>")).await;
        assert_eq!(still_bare.0, None);
    }
}
