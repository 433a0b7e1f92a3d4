//! `import-patchwork` over the migration fixture: a site built by upstream
//! Patchwork itself (testdata/migration/README.md), imported into SQLite
//! and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use patchtrack_store::import_patchwork::{ImportOptions, NoProgress, Source};
use patchtrack_store::{IngestOptions, Outcome, Store};

/// Row counts of the fixture's README, by patchtrack table.
const COUNTS: &[(&str, u64)] = &[
    ("state", 11),
    ("tag", 4),
    ("project", 2),
    ("app_user", 7),
    ("project_maintainer", 4),
    ("api_token", 6),
    ("person", 79),
    ("delegation_rule", 3),
    ("patch_relation", 3),
    ("cover", 153),
    ("series", 590),
    ("series_reference", 594),
    ("series_dependency", 3),
    ("patch", 1189),
    ("patch_tag", 421),
    ("patch_comment", 621),
    ("cover_comment", 72),
    ("check_result", 40),
    ("bundle", 5),
    ("bundle_patch", 15),
    ("event", 4525),
    ("email_confirmation", 8),
    ("email_optout", 1),
    ("patch_change_notification", 46),
];

/// The fixture's SQLite file, decompressed once per test binary.
fn sqlite_source() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let xz = common::testdata().join("migration/patchwork-site.sqlite3.xz");
        let mut data = Vec::new();
        liblzma::read::XzDecoder::new(std::fs::File::open(xz).unwrap())
            .read_to_end(&mut data)
            .unwrap();
        let path = common::scratch_dir().join("patchwork-site.sqlite3");
        std::fs::write(&path, data).unwrap();
        path
    })
}

async fn source() -> Source {
    let url = format!("sqlite://{}", sqlite_source().display());
    Source::open(&url, "Australia/Canberra").await.unwrap()
}

async fn imported(store: &Store) {
    let src = source().await;
    let report = store
        .import_patchwork(&src, &ImportOptions::default(), &mut NoProgress)
        .await
        .unwrap();
    assert_eq!(report.schema_version, "0048_series_dependencies");
    assert_eq!(report.skipped(), 0, "{:?}", report.tables);
    let checks = store
        .verify_patchwork_import(&src, &ImportOptions::default())
        .await
        .unwrap();
    let got: HashMap<&str, u64> = checks
        .iter()
        .map(|c| (c.name.as_str(), c.target_rows))
        .collect();
    for (table, n) in COUNTS {
        assert_eq!(got.get(table), Some(n), "rows in {table}");
    }
    for c in &checks {
        assert!(c.matches(), "{c:?}");
    }
}

#[tokio::test]
async fn the_fixture_imports_with_its_ids_dates_and_counts() {
    for store in common::stores().await {
        imported(&store).await;
        let p = store.patch(1).await.unwrap().unwrap();
        assert_eq!(p.project_id, 1);
        assert_eq!(
            patchtrack_store::time::iso(p.date),
            "2023-12-07T03:22:21",
            "mail dates are UTC already"
        );
        for id in [152, 349, 1141] {
            assert_eq!(
                store.patch(id).await.unwrap().unwrap().state,
                "needs-rebase"
            );
        }
        let rel = store.patch(1149).await.unwrap().unwrap();
        assert_eq!(
            rel.related.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![1151]
        );
        let check = store.check(150, 1).await.unwrap().unwrap();
        assert_eq!(
            patchtrack_store::time::iso(check.date),
            "2026-12-01T22:12:43.123337",
            "site dates were Canberra time (AEDT, +11)"
        );
    }
}

/// The import drops each table's non-unique indexes while it fills the
/// table and builds them again after: the schema it leaves must be the
/// migrations' own, and the rebuilt indexes must serve.
#[tokio::test]
async fn the_import_leaves_every_index_as_migrations_made_it() {
    let fresh = common::stores().await;
    for (store, fresh) in common::stores().await.into_iter().zip(fresh) {
        imported(&store).await;
        let indexes = store.schema_indexes().await.unwrap();
        assert!(
            indexes
                .iter()
                .any(|(t, i)| t == "event" && i == "event_date")
        );
        assert_eq!(indexes, fresh.schema_indexes().await.unwrap());
        // Found through the rebuilt patch_hash index.
        let p = store.patch(1).await.unwrap().unwrap();
        let by_hash = store
            .patches_by_hash(p.hash.as_deref().unwrap(), None, 10)
            .await
            .unwrap();
        assert!(by_hash.iter().any(|q| q.id == 1), "{by_hash:?}");
    }
}

#[tokio::test]
async fn old_passwords_and_tokens_work_and_passwords_become_argon2id() {
    for store in common::stores().await {
        imported(&store).await;
        assert_eq!(store.legacy_password_count().await.unwrap(), 7);
        // carol registered and never confirmed: inactive, as upstream.
        assert!(
            store
                .authenticate_password("carol", "carol-pass")
                .await
                .unwrap()
                .is_none()
        );
        for user in ["admin", "maint", "maint2", "cibot", "alice", "bob"] {
            assert!(
                store
                    .authenticate_password(user, "wrong")
                    .await
                    .unwrap()
                    .is_none(),
                "{user}"
            );
            let p = store
                .authenticate_password(user, &format!("{user}-pass"))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{user} logs in"));
            assert_eq!(p.user.username, user);
        }
        assert_eq!(
            store.legacy_password_count().await.unwrap(),
            1,
            "all but carol re-hashed"
        );
        // And the new hashes verify.
        assert!(
            store
                .authenticate_password("bob", "bob-pass")
                .await
                .unwrap()
                .is_some()
        );
        for (user, token) in common::MIGRATION_TOKENS {
            let p = store.authenticate_token(token).await.unwrap().unwrap();
            assert_eq!(p.user.username, *user);
        }
    }
}

#[tokio::test]
async fn new_mail_continues_after_the_imported_ids() {
    for store in common::stores().await {
        imported(&store).await;
        let patch1 = store.patch(1).await.unwrap().unwrap();
        let opts = IngestOptions::default();
        let again = format!(
            "From: Someone <someone@example.org>\nSubject: [PATCH] again\n\
             Message-Id: {}\nList-Id: <synthetic.lists.example.org>\n\
             Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n\
             text\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n",
            patch1.msgid
        );
        assert_eq!(
            store.ingest(again.as_bytes(), &opts).await.unwrap(),
            Outcome::Duplicate
        );
        let reply = format!(
            "From: Someone <someone@example.org>\nSubject: Re: {}\n\
             Message-Id: <new-reply@example.org>\nIn-Reply-To: {}\n\
             List-Id: <synthetic.lists.example.org>\n\
             Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nAcked-by: Someone <someone@example.org>\n",
            patch1.name, patch1.msgid
        );
        assert_eq!(
            store.ingest(reply.as_bytes(), &opts).await.unwrap(),
            Outcome::PatchComment {
                id: 622,
                patch_id: 1
            }
        );
        let new = "From: Someone <someone@example.org>\nSubject: [PATCH] new\n\
             Message-Id: <brand-new@example.org>\nList-Id: <synthetic.lists.example.org>\n\
             Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n\
             text\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(
            store.ingest(new.as_bytes(), &opts).await.unwrap(),
            Outcome::Patch { id: 1190 }
        );
        let p = store.patch(1190).await.unwrap().unwrap();
        assert_eq!(
            p.series.map(|s| s.id),
            Some(591),
            "a new series after the imported"
        );
        // The rest of an imported, incomplete series (pwtest's series
        // 579 holds only its 1/4) joins it, as Patchwork would file it:
        // same submitter, version and thread, a number still missing.
        let rest = "From: Veronika Kabatova <vkabatov@redhat.com>\n\
             Subject: [PATCH v2 2/4] Add tags to the series\n\
             Message-Id: <20180917170156.23280-2-vkabatov@redhat.com>\n\
             In-Reply-To: <20180917170156.23280-1-vkabatov@redhat.com>\n\
             References: <20180917170156.23280-1-vkabatov@redhat.com>\n\
             List-Id: <patchwork.lists.example.org>\n\
             Date: Mon, 17 Sep 2018 17:01:54 +0000\n\n\
             text\n---\ndiff --git a/g b/g\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(
            store.ingest(rest.as_bytes(), &opts).await.unwrap(),
            Outcome::Patch { id: 1191 }
        );
        let joined = store.patch(1191).await.unwrap().unwrap();
        assert_eq!(
            joined.series.map(|s| s.id),
            Some(579),
            "joins the imported series"
        );
        assert_eq!(joined.number, Some(2));
        let series = store.series(579).await.unwrap().unwrap();
        assert_eq!(series.received_total, 2, "{series:?}");
        let r = store.reparse(1).await.unwrap();
        // The distinct message-ids of project 1's patches, covers and
        // comments in the source.
        assert_eq!(r.imported, 1972, "imported submissions are skipped");
        assert_eq!(r.examined, 2, "the two new mails are re-parsed");
    }
}

#[tokio::test]
async fn a_second_import_and_bad_sources_are_refused() {
    let store = common::sqlite().await;
    imported(&store).await;
    let err = store
        .import_patchwork(&source().await, &ImportOptions::default(), &mut NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already holds"), "{err}");

    let other = common::scratch_dir().join("not-patchwork.db");
    let s = Store::connect(&format!("sqlite://{}", other.display()))
        .await
        .unwrap();
    s.migrate().await.unwrap();
    s.close().await;
    let err = Source::open(&format!("sqlite://{}", other.display()), "UTC")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a Patchwork database"),
        "{err}"
    );
    let err = Source::open(
        &format!("sqlite://{}", sqlite_source().display()),
        "Mars/Base",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown time zone"), "{err}");
}
