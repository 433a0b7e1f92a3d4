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
