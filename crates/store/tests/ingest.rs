//! Ingestion on every backend: Patchwork's series mailboxes give exactly the
//! counts and groupings of reference §3.3, the mail mailboxes the stored
//! objects of §3.1, and re-running an import changes nothing.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{IngestOptions, Outcome, Store};

const LIST: &str = "test.example.org";

fn options() -> IngestOptions {
    IngestOptions {
        list_id: Some(LIST.into()),
    }
}

async fn ingest_all(store: &Store, mails: &[Vec<u8>]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for m in mails {
        out.push(store.ingest(m, &options()).await.unwrap());
    }
    out
}

fn series_file(name: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(common::testdata().join("patchwork/series").join(name)).unwrap();
    common::mbox(&data)
}

/// File, [covers, patches, comments], patches per series, covers per series.
type SeriesCase = (&'static str, [i64; 3], &'static [usize], &'static [usize]);

const SERIES: &[SeriesCase] = &[
    ("base-single-patch.mbox", [0, 1, 0], &[1], &[0]),
    ("base-cover-letter.mbox", [1, 2, 0], &[2], &[1]),
    ("base-no-cover-letter.mbox", [0, 2, 0], &[2], &[0]),
    ("base-deep-threaded.mbox", [1, 2, 0], &[2], &[1]),
    ("base-out-of-order.mbox", [1, 2, 0], &[2], &[1]),
    ("base-different-versions.mbox", [1, 4, 0], &[4], &[1]),
    ("base-extra-patches.mbox", [1, 3, 0], &[3], &[1]),
    ("base-incomplete.mbox", [1, 1, 0], &[1], &[1]),
    ("base-no-references.mbox", [0, 2, 0], &[2], &[0]),
    ("base-no-references-no-cover.mbox", [1, 2, 0], &[2], &[1]),
    ("bugs-multiple-references.mbox", [1, 4, 0], &[4], &[1]),
    ("bugs-multiple-content-types.mbox", [0, 1, 1], &[1], &[0]),
    ("bugs-mixed-versions.mbox", [0, 2, 0], &[1, 1], &[0, 0]),
    ("bugs-nocover.mbox", [0, 4, 0], &[2, 2], &[0, 0]),
    ("bugs-nocover-noversion.mbox", [0, 4, 0], &[2, 2], &[0, 0]),
    ("bugs-spamming.mbox", [0, 3, 0], &[1, 1, 1], &[0, 0, 0]),
    ("bugs-unnumbered.mbox", [1, 2, 0], &[1, 1], &[1, 0]),
    ("mercurial-cover-letter.mbox", [1, 2, 0], &[2], &[1]),
    ("mercurial-no-cover-letter.mbox", [0, 2, 0], &[2], &[0]),
    ("revision-basic.mbox", [2, 4, 0], &[2, 2], &[1, 1]),
    ("revision-no-cover-letter.mbox", [1, 4, 0], &[2, 2], &[1, 0]),
    ("revision-out-of-order.mbox", [2, 4, 0], &[2, 2], &[1, 1]),
    (
        "revision-threaded-to-cover.mbox",
        [2, 4, 0],
        &[2, 2],
        &[1, 1],
    ),
    (
        "revision-threaded-to-patch.mbox",
        [2, 4, 0],
        &[2, 2],
        &[1, 1],
    ),
    (
        "revision-threaded-to-single-patch.mbox",
        [0, 2, 0],
        &[1, 1],
        &[0, 0],
    ),
    ("revision-unlabeled.mbox", [2, 4, 0], &[2, 2], &[1, 1]),
    (
        "revision-unlabeled-noreferences.mbox",
        [0, 4, 0],
        &[2, 2],
        &[0, 0],
    ),
    ("dependency-base-patch.mbox", [1, 2, 0], &[2], &[1]),
];

#[tokio::test]
async fn migrations_are_identical_on_both_backends() {
    let (sqlite_versions, pg_versions) = Store::migration_versions();
    assert_eq!(sqlite_versions, pg_versions);
    let sqlite = common::sqlite().await;
    let Some(pg) = common::postgres().await else {
        return;
    };
    let a = sqlite.schema_columns().await.unwrap();
    let b = pg.schema_columns().await.unwrap();
    assert!(
        a.len() > 100,
        "the whole model is there ({} columns)",
        a.len()
    );
    assert_eq!(a, b);
    // Running migrations again is a no-op.
    sqlite.migrate().await.unwrap();
    pg.migrate().await.unwrap();
}

#[tokio::test]
async fn series_mailboxes_group_like_patchwork() {
    // Upstream parses each mailbox into a fresh database.
    for (file, counts, groups, cover_groups) in SERIES {
        for store in common::stores().await {
            let linkname = file.replace('.', "-");
            let project = store
                .add_project(&patchtrack_store::NewProject {
                    linkname: linkname.clone(),
                    name: linkname.clone(),
                    listid: format!("{linkname}.example.org"),
                    ..Default::default()
                })
                .await
                .unwrap();
            let opts = IngestOptions {
                list_id: Some(project.listid.clone()),
            };
            for m in series_file(file) {
                store.ingest(&m, &opts).await.unwrap();
            }
            let c = store.counts(project.id).await.unwrap();
            let got = [c.covers, c.patches, c.patch_comments + c.cover_comments];
            assert_eq!(
                &got,
                counts,
                "{file} on {:?}: [covers, patches, comments]",
                store.backend()
            );
            let series = store.series_summaries(project.id).await.unwrap();
            let got: Vec<usize> = series.iter().map(|s| s.patches.len()).collect();
            assert_eq!(
                &got,
                groups,
                "{file} on {:?}: patches per series",
                store.backend()
            );
            let got: Vec<usize> = series
                .iter()
                .map(|s| usize::from(s.cover.is_some()))
                .collect();
            assert_eq!(
                &got,
                cover_groups,
                "{file} on {:?}: covers per series",
                store.backend()
            );
        }
    }
}

#[tokio::test]
async fn series_names_follow_arrivals() {
    for store in common::stores().await {
        let project = common::project(&store, "names", LIST).await;
        let mails = series_file("base-out-of-order.mbox");
        let mut names = Vec::new();
        for m in &mails {
            store.ingest(m, &options()).await.unwrap();
            let s = store.series_summaries(project.id).await.unwrap();
            assert_eq!(s.len(), 1);
            names.push(s[0].name.clone());
        }
        assert_eq!(
            names,
            [
                None,
                Some("[1/2] test: Add some lorem ipsum".to_string()),
                Some("A sample series".to_string())
            ]
        );
        let s = &store.series_summaries(project.id).await.unwrap()[0];
        assert_eq!((s.total, s.patches.len()), (2, 2), "received_all");
    }
}

#[tokio::test]
async fn reimport_changes_nothing() {
    for store in common::stores().await {
        let project = common::project(&store, "again", LIST).await;
        let mails = series_file("revision-threaded-to-patch.mbox");
        let first = ingest_all(&store, &mails).await;
        assert!(first.iter().all(Outcome::is_stored));
        let before = store.counts(project.id).await.unwrap();
        let second = ingest_all(&store, &mails).await;
        assert!(
            second.iter().all(|o| *o == Outcome::Duplicate),
            "{second:?}"
        );
        assert_eq!(store.counts(project.id).await.unwrap(), before);
        assert_eq!(before.raw_mails, 6, "every accepted mail's bytes are kept");
    }
}

fn mail_file(name: &str) -> Vec<u8> {
    std::fs::read(common::testdata().join("patchwork/mail").join(name)).unwrap()
}

#[tokio::test]
async fn project_lookup_and_drops() {
    for store in common::stores().await {
        let pull = mail_file("0001-git-pull-request.mbox");
        // No project for cbe-oss-dev.ozlabs.org yet: dropped, not an error.
        let got = store
            .ingest(&pull, &IngestOptions::default())
            .await
            .unwrap();
        assert!(
            matches!(got, Outcome::Dropped(ref r) if r.contains("cbe-oss-dev.ozlabs.org")),
            "{got:?}"
        );
        let project = common::project(&store, "cbe", "cbe-oss-dev.ozlabs.org").await;
        let got = store
            .ingest(&pull, &IngestOptions::default())
            .await
            .unwrap();
        assert!(matches!(got, Outcome::Patch { .. }));
        let c = store.counts(project.id).await.unwrap();
        assert_eq!((c.patches, c.pull_requests), (1, 1));
        // 0002 shares 0001's Message-Id: a duplicate.
        let wrapped = mail_file("0002-git-pull-request-wrapped.mbox");
        assert_eq!(
            store
                .ingest(&wrapped, &IngestOptions::default())
                .await
                .unwrap(),
            Outcome::Duplicate
        );

        // subject_match picks among projects sharing a list id.
        let other = store
            .add_project(&patchtrack_store::NewProject {
                linkname: "cbe-pull".into(),
                name: "cbe pulls".into(),
                listid: "cbe-oss-dev.ozlabs.org".into(),
                subject_match: r"\[git pull\]".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let http = mail_file("0006-git-pull-request-http.mbox");
        let got = store
            .ingest(&http, &IngestOptions::default())
            .await
            .unwrap();
        assert!(matches!(got, Outcome::Patch { .. }), "{got:?}");
        assert_eq!(store.counts(other.id).await.unwrap().patches, 1);

        // A reply to nothing we know is dropped.
        let reply = mail_file("0020-multipart-comment.mbox");
        let opts = IngestOptions {
            list_id: Some("cbe-oss-dev.ozlabs.org".into()),
        };
        assert!(matches!(
            store.ingest(&reply, &opts).await.unwrap(),
            Outcome::Dropped(_)
        ));
        // Garbage is rejected with a reason.
        let got = store.ingest(b"not a mail", &opts).await.unwrap();
        assert!(
            matches!(got, Outcome::Rejected(ref r) if r.contains("Missing")),
            "{got:?}"
        );
    }
}

#[tokio::test]
async fn mail_mailboxes_store_patches() {
    for store in common::stores().await {
        let project = common::project(&store, "mails", LIST).await;
        let dir = common::testdata().join("patchwork/mail");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut patches = 0;
        for f in files {
            let mut raw = std::fs::read(&f).unwrap();
            if !String::from_utf8_lossy(&raw)
                .to_ascii_lowercase()
                .contains("\nmessage-id:")
            {
                let id = format!(
                    "Message-Id: <{}@test>\n",
                    f.file_name().unwrap().to_string_lossy()
                );
                raw.splice(0..0, id.into_bytes());
            }
            let got = store.ingest(&raw, &options()).await.unwrap();
            if matches!(got, Outcome::Patch { .. }) {
                patches += 1;
            }
        }
        // 26 files: 0002-0006 repeat 0001's Message-Id, 0014 and 0015
        // repeat 0013's, and 0020 answers 0019: 18 patches and a comment.
        assert_eq!(patches, 18);
        let c = store.counts(project.id).await.unwrap();
        assert_eq!((c.patches, c.patch_comments), (18, 1));
    }
}

fn fill(template: &str, tokens: &[(&str, &str)]) -> Vec<u8> {
    let mut s = template.replace("{{", "\u{0}").replace("}}", "\u{1}");
    for (k, v) in tokens {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s.replace('\u{0}', "{").replace('\u{1}', "}").into_bytes()
}

fn template(name: &str, tokens: &[(&str, &str)]) -> Vec<Vec<u8>> {
    let t =
        std::fs::read_to_string(common::testdata().join("patchwork/series").join(name)).unwrap();
    common::mbox(&fill(&t, tokens))
}

#[tokio::test]
async fn dependencies_from_depends_on() {
    for store in common::stores().await {
        let project = common::project(&store, "deps", LIST).await;
        ingest_all(&store, &series_file("dependency-base-patch.mbox")).await;
        let base = store.series_summaries(project.id).await.unwrap()[0].clone();
        let tokens = [
            format!(
                "https://pw.example.org/project/deps/list/?series={}",
                base.id
            ),
            format!(
                "https://pw.example.org/project/deps/patch/{}/",
                base.patches[0].trim_matches(['<', '>'])
            ),
            base.patches[1].clone(),
            base.cover.clone().unwrap(),
        ];
        for (i, token) in tokens.iter().enumerate() {
            // Each declaration in its own fresh project copy of the new series.
            let file = if i % 2 == 0 {
                "dependency-one-cover.mbox.template"
            } else {
                "dependency-one-first-patch.mbox.template"
            };
            let mails = template(file, &[("depends_token", token)]);
            let p = common::project(&store, &format!("deps{i}"), &format!("deps{i}.org")).await;
            let opts = IngestOptions {
                list_id: Some(p.listid.clone()),
            };
            for m in &mails {
                store.ingest(m, &opts).await.unwrap();
            }
            // Cross-project: not recorded.
            let s = store.series_summaries(p.id).await.unwrap();
            assert_eq!(s.len(), 1);
            assert!(s[0].dependencies.is_empty(), "{token}: other project");
        }
        // Same project: recorded.
        let mails = template(
            "dependency-one-cover.mbox.template",
            &[("depends_token", &tokens[2])],
        );
        ingest_all(&store, &mails).await;
        let all = store.series_summaries(project.id).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].dependencies, [base.id]);

        // A self-reference is not recorded.
        let p = common::project(&store, "selfdep", "selfdep.org").await;
        let mails = template(
            "dependency-one-first-patch.mbox.template",
            &[(
                "depends_token",
                "<20240611160854.192806-1-ahassick@iol.unh.edu>",
            )],
        );
        let opts = IngestOptions {
            list_id: Some(p.listid.clone()),
        };
        for m in &mails {
            store.ingest(m, &opts).await.unwrap();
        }
        assert!(
            store.series_summaries(p.id).await.unwrap()[0]
                .dependencies
                .is_empty()
        );
    }
}

fn short(id: &Option<String>) -> String {
    // `<1473632524-8585-2-git-send-email-...>` → `2`
    id.as_deref()
        .and_then(|s| s.split('-').nth(2))
        .unwrap_or("-")
        .to_string()
}

#[tokio::test]
async fn events_of_a_series() {
    for store in common::stores().await {
        let project = common::project(&store, "events", LIST).await;
        ingest_all(&store, &series_file("base-cover-letter.mbox")).await;
        let log: Vec<(String, String)> = store
            .event_log(project.id)
            .await
            .unwrap()
            .iter()
            .map(|(c, id)| (c.clone(), short(id)))
            .collect();
        let want = [
            ("series-created", "-"),
            ("cover-created", "1"),
            ("patch-created", "2"),
            ("patch-completed", "2"),
            ("patch-created", "3"),
            ("patch-completed", "3"),
            ("series-completed", "-"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(log, want, "{:?}", store.backend());

        // Out of order (2/2, 1/2, cover): patch 1 completes on the second
        // mail and unblocks patch 2 at once.
        let project = common::project(&store, "events2", "other.example.org").await;
        let opts = IngestOptions {
            list_id: Some(project.listid.clone()),
        };
        for m in series_file("base-out-of-order.mbox") {
            store.ingest(&m, &opts).await.unwrap();
        }
        let completed: Vec<String> = store
            .event_log(project.id)
            .await
            .unwrap()
            .iter()
            .filter(|(c, _)| c == "patch-completed")
            .map(|(_, id)| short(id))
            .collect();
        assert_eq!(completed, ["2", "3"]);
    }
}

fn synthetic(headers: &str, msgid: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Dev One <dev@example.org>\nSubject: [PATCH] fix it\nMessage-Id: {msgid}\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n{headers}\n{body}"
    )
    .into_bytes()
}

const DIFF: &str = "--- a/drivers/net/x.c\n+++ b/drivers/net/x.c\n@@ -1 +1,2 @@\n a\n+b\n";

#[tokio::test]
async fn patchwork_headers_tags_and_delegation() {
    for store in common::stores().await {
        let project = common::project(&store, "triage", LIST).await;
        store
            .add_user(&patchtrack_store::NewUser {
                username: "maint".into(),
                email: "Maint@Example.org".into(),
                ..Default::default()
            })
            .await
            .unwrap();

        // X-Patchwork-State and -Delegate (case-insensitive), and tags in
        // the commit message.
        let m = synthetic(
            "X-Patchwork-State: under review\nX-Patchwork-Delegate: maint@example.org\n",
            "<a@x>",
            &format!("Fix.\n\nReviewed-by: R <r@x.org>\n---\n{DIFF}"),
        );
        store.ingest(&m, &options()).await.unwrap();
        let s = store
            .patch_status(project.id, "<a@x>")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.state, "under-review");
        assert_eq!(s.delegate.as_deref(), Some("maint"));
        assert_eq!(s.tags, [("Reviewed-by".to_string(), 1)]);

        // Unknown state and delegate: the defaults.
        let m = synthetic(
            "X-Patchwork-State: Bogus\nX-Patchwork-Delegate: nobody\n",
            "<b@x>",
            &format!("Fix.\n---\n{DIFF}"),
        );
        store.ingest(&m, &options()).await.unwrap();
        let s = store
            .patch_status(project.id, "<b@x>")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((s.state.as_str(), s.delegate), ("new", None));

        // Replies add their tags; Action-Required marks the comment.
        let reply = |id: &str, extra: &str, body: &str| {
            format!(
                "From: Rev <rev@example.org>\nSubject: Re: [PATCH] fix it\nMessage-Id: {id}\nIn-Reply-To: <b@x>\n{extra}\n{body}\n"
            )
            .into_bytes()
        };
        store
            .ingest(
                &reply("<r1@x>", "", "Tested-by: T <t@x.org>\n> Acked-by: quoted"),
                &options(),
            )
            .await
            .unwrap();
        store
            .ingest(
                &reply(
                    "<r2@x>",
                    "X-Patchwork-Action-Required: yes\n",
                    "acked-by: A <a@x.org>",
                ),
                &options(),
            )
            .await
            .unwrap();
        let s = store
            .patch_status(project.id, "<b@x>")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            s.tags,
            [("Acked-by".to_string(), 1), ("Tested-by".to_string(), 1)]
        );
        assert_eq!(s.comments_addressed, [None, Some(false)]);

        // Delegation rules by file path: drivers/* goes to maint.
        store
            .add_delegation_rule(project.id, "maint", "drivers/*", 0)
            .await
            .unwrap();
        let m = synthetic("", "<c@x>", &format!("Fix.\n---\n{DIFF}"));
        store.ingest(&m, &options()).await.unwrap();
        let s = store
            .patch_status(project.id, "<c@x>")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.delegate.as_deref(), Some("maint"));
        let other = DIFF.replace("drivers/net", "fs");
        let m = synthetic("", "<d@x>", &format!("Fix.\n---\n{other}"));
        store.ingest(&m, &options()).await.unwrap();
        let s = store
            .patch_status(project.id, "<d@x>")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.delegate, None, "a file no rule covers");
    }
}

#[tokio::test]
async fn reparse_restores_what_the_parser_derives() {
    for store in common::stores().await {
        let project = common::project(&store, "reparse", LIST).await;
        let m = synthetic(
            "",
            "<p@x>",
            &format!("Fix.\n\nReviewed-by: R <r@x.org>\n---\n{DIFF}"),
        );
        store.ingest(&m, &options()).await.unwrap();
        let good = store
            .patch_status(project.id, "<p@x>")
            .await
            .unwrap()
            .unwrap();

        // What an older, buggy parser might have stored.
        store
            .execute_admin("UPDATE patch SET name = 'garbled', hash = NULL, content = 'x'")
            .await
            .unwrap();
        store.execute_admin("DELETE FROM patch_tag").await.unwrap();
        let result = store.reparse(project.id).await.unwrap();
        assert_eq!((result.examined, result.changed), (1, 1));
        assert_eq!(
            store
                .patch_status(project.id, "<p@x>")
                .await
                .unwrap()
                .unwrap(),
            good
        );

        // Nothing left to change.
        assert_eq!(store.reparse(project.id).await.unwrap().changed, 0);
    }
}

/// A mail of the series `<e0@x>` (cover) / `<e1@x>`, `<e2@x>` (patches
/// answering the cover) whose cover subject is only prefixes.
fn empty_cover_series(n: u32) -> Vec<u8> {
    let (subject, body) = match n {
        0 => (
            "[RFC PATCH v4 0/2] ".to_string(),
            "The cover text.\n".to_string(),
        ),
        _ => (
            format!("[RFC PATCH v4 {n}/2] part {n}"),
            format!(
                "Change {n}.\n---\ndiff --git a/f{n} b/f{n}\n--- a/f{n}\n+++ b/f{n}\n\
                 @@ -1 +1 @@\n-a\n+b\n"
            ),
        ),
    };
    let refs = if n == 0 {
        String::new()
    } else {
        "In-Reply-To: <e0@x>\nReferences: <e0@x>\n".to_string()
    };
    format!(
        "From: A <a@example.org>\nSubject: {subject}\nMessage-Id: <e{n}@x>\n{refs}\
         Date: Mon, 3 Feb 2020 04:05:0{n} +0000\n\n{body}"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_cover_subject_of_only_prefixes_leaves_the_name_to_patch_1() {
    for store in common::stores().await {
        for (i, order) in [[0, 1, 2], [1, 0, 2], [2, 1, 0]].iter().enumerate() {
            let project = common::project(&store, &format!("empty{i}"), &format!("e{i}.org")).await;
            let opts = IngestOptions {
                list_id: Some(format!("e{i}.org")),
            };
            for &n in order {
                let got = store.ingest(&empty_cover_series(n), &opts).await.unwrap();
                assert!(got.is_stored(), "{order:?} {n}: {got:?}");
            }
            let s = store.series_summaries(project.id).await.unwrap();
            assert_eq!(s.len(), 1, "{order:?}");
            assert_eq!(
                s[0].name.as_deref(),
                Some("[RFC,v4,1/2] part 1"),
                "arrival order {order:?}"
            );
            // The cover itself keeps upstream's name, trailing space and all.
            let cover = store
                .cover_by_msgid(project.id, "<e0@x>")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(cover.name, "[RFC,v4,0/2] ");
        }
    }
}

#[tokio::test]
async fn drops_say_what_the_mail_is() {
    for store in common::stores().await {
        common::project(&store, "drops", LIST).await;
        let mail = |n: u32, subject: &str, refs: &str| {
            format!(
                "From: A <a@example.org>\nSubject: {subject}\nMessage-Id: <d{n}@x>\n{refs}\n\
                 Some text.\n"
            )
            .into_bytes()
        };
        let cases = [
            (
                mail(1, "Where is the release?", ""),
                "no diff, and not a cover letter, pull request or reply",
            ),
            (
                mail(2, "Re: the release", ""),
                "a reply without In-Reply-To or References",
            ),
            (
                mail(3, "Re: the release", "In-Reply-To: <unknown@x>\n"),
                "a reply to nothing stored",
            ),
        ];
        for (raw, why) in cases {
            let got = store.ingest(&raw, &options()).await.unwrap();
            assert_eq!(got, Outcome::Dropped(why.into()));
        }
    }
}

#[tokio::test]
async fn crlf_bodies_are_stored_as_decoded_with_the_plain_hash() {
    for store in common::stores().await {
        common::project(&store, "crlf", LIST).await;
        let body = "Msg.\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
        let mail = |n: u32, cte: &str, body: &str| {
            format!(
                "From: A <a@example.org>\nSubject: [PATCH] crlf {n}\nMessage-Id: <c{n}@x>\n\
                 Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: {cte}\n\n\
                 {body}"
            )
            .into_bytes()
        };
        let mut stored = Vec::new();
        for raw in [
            mail(1, "8bit", body),
            mail(2, "quoted-printable", &body.replace('\n', "=0D\n")),
        ] {
            let Outcome::Patch { id } = store.ingest(&raw, &options()).await.unwrap() else {
                panic!("not a patch");
            };
            stored.push(store.patch(id).await.unwrap().unwrap());
        }
        let (plain, crlf) = (&stored[0], &stored[1]);
        let crlf_body = crlf.body.as_ref().unwrap();
        // As upstream: the decoded CRLF stays in both parts (both engines
        // keep "\r"), and the hash ignores it.
        assert_eq!(crlf_body.content.as_deref(), Some("Msg.\r\n---"));
        assert_eq!(
            crlf_body.diff.as_deref(),
            Some("diff --git a/f b/f\r\n--- a/f\r\n+++ b/f\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n")
        );
        assert_eq!(crlf.hash, plain.hash);
        assert!(plain.hash.is_some());
    }
}

#[tokio::test]
async fn inbox_marks_move_forward_and_count_what_was_read() {
    for store in common::stores().await {
        assert_eq!(store.inbox_mark("root-a").await.unwrap(), None);
        store
            .set_inbox_mark("root-a", "/srv/a/git/0.git", "c1", 10)
            .await
            .unwrap();
        store
            .set_inbox_mark("root-a", "/mirror/a/git/0.git", "c2", 5)
            .await
            .unwrap();
        store
            .set_inbox_mark("root-b", "/srv/a/git/1.git", "d1", 1)
            .await
            .unwrap();
        let a = store.inbox_mark("root-a").await.unwrap().unwrap();
        assert_eq!(
            (a.path.as_str(), a.last_commit.as_str(), a.messages),
            ("/mirror/a/git/0.git", "c2", 15)
        );
        let b = store.inbox_mark("root-b").await.unwrap().unwrap();
        assert_eq!((b.last_commit.as_str(), b.messages), ("d1", 1));
    }
}

#[tokio::test]
async fn raw_mail_is_kept_compressed_and_read_back_byte_for_byte() {
    for store in common::stores().await {
        let project = common::project(&store, "test", LIST).await;
        let mut mails = series_file("base-cover-letter.mbox");
        // A mail too small to gain from compression is kept as it came.
        mails.push(
            b"From: A <a@example.org>\nSubject: [PATCH] t\nMessage-Id: <tiny@x>\n\n---\n\
              diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
                .to_vec(),
        );
        ingest_all(&store, &mails).await;
        assert_eq!(store.raw_mails_in_order(project.id).await.unwrap(), mails);
        let reparsed = store.reparse(project.id).await.unwrap();
        assert_eq!((reparsed.examined, reparsed.changed), (4, 0));
    }
}
