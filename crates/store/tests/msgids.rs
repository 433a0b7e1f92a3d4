//! Message-ids that the stored form would merge: ids are kept to 255
//! characters and cannot hold a NUL, so two different mails could land
//! on one stored id and the second pass for a duplicate. Each such mail is
//! refused with a reason, on both engines; genuine duplicates stay
//! duplicates.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{IngestOptions, Outcome};

fn mail(msgid: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Sub Mitter <sub@example.org>\n\
         Subject: [PATCH] {subject}\n\
         Message-Id: {msgid}\n\
         Date: Mon, 3 Feb 2020 04:05:07 +0000\n\
         \n\
         A change.\n\
         ---\n\
         diff --git a/f b/f\n\
         --- a/f\n\
         +++ b/f\n\
         @@ -1 +1 @@\n\
         -a\n\
         +{subject}\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn ids_merged_by_truncation_or_nul_are_refused() {
    let opts = IngestOptions {
        list_id: Some("proj.example.org".into()),
    };
    let long = "a".repeat(300);
    let first = format!("<{long}1@example.org>");
    let second = format!("<{long}2@example.org>");
    // Exactly the 255 characters that `first` is stored under.
    let prefix: String = first.chars().take(255).collect();
    for store in common::stores().await {
        let project = common::project(&store, "proj", "proj.example.org").await;
        let got = store.ingest(&mail(&first, "one"), &opts).await.unwrap();
        assert!(matches!(got, Outcome::Patch { .. }), "{got:?}");
        for other in [&second, &prefix] {
            let got = store.ingest(&mail(other, "two"), &opts).await.unwrap();
            assert!(
                matches!(&got, Outcome::Rejected(why) if why.contains("255")),
                "{other}: {got:?}"
            );
        }
        // The same id again, even with other bytes, is a duplicate.
        let got = store.ingest(&mail(&first, "again"), &opts).await.unwrap();
        assert_eq!(got, Outcome::Duplicate);

        // A NUL would be stripped into another mail's id.
        let got = store
            .ingest(&mail("<ab@example.org>", "plain"), &opts)
            .await
            .unwrap();
        assert!(matches!(got, Outcome::Patch { .. }), "{got:?}");
        let got = store
            .ingest(&mail("<a\0b@example.org>", "nul"), &opts)
            .await
            .unwrap();
        assert!(
            matches!(&got, Outcome::Rejected(why) if why.contains("NUL")),
            "{got:?}"
        );
        assert_eq!(store.counts(project.id).await.unwrap().patches, 2);
    }
}
