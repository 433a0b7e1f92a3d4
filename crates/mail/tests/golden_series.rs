//! Golden tests over Patchwork's `tests/data/series` mailboxes: what each
//! mail is on its own (cover, patch, comment), its version and marker, and
//! the `Depends-on:` tokens of the dependency templates (reference §3.3).
//! Grouping into series needs the store and is tested there.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::parse_file;
use patchtrack_mail::trailers::Dependency;
use patchtrack_mail::{Kind, ParseOptions, parse_mail};

/// File, [covers, patches, comments], and the version of each mail in order.
const SERIES: &[(&str, [usize; 3], &[u32])] = &[
    ("base-single-patch.mbox", [0, 1, 0], &[1]),
    ("base-cover-letter.mbox", [1, 2, 0], &[1, 1, 1]),
    ("base-no-cover-letter.mbox", [0, 2, 0], &[1, 1]),
    ("base-deep-threaded.mbox", [1, 2, 0], &[1, 1, 1]),
    ("base-out-of-order.mbox", [1, 2, 0], &[1, 1, 1]),
    ("base-different-versions.mbox", [1, 4, 0], &[3, 1, 1, 1, 1]),
    ("base-extra-patches.mbox", [1, 3, 0], &[1, 1, 1, 1]),
    ("base-incomplete.mbox", [1, 1, 0], &[1, 1]),
    ("base-no-references.mbox", [0, 2, 0], &[2, 2]),
    ("base-no-references-no-cover.mbox", [1, 2, 0], &[1, 1, 1]),
    ("bugs-multiple-references.mbox", [1, 4, 0], &[2, 2, 2, 2, 2]),
    ("bugs-multiple-content-types.mbox", [0, 1, 1], &[1, 1]),
    ("bugs-mixed-versions.mbox", [0, 2, 0], &[1, 2]),
    ("bugs-nocover.mbox", [0, 4, 0], &[1, 1, 2, 2]),
    ("bugs-nocover-noversion.mbox", [0, 4, 0], &[1, 1, 1, 1]),
    ("bugs-spamming.mbox", [0, 3, 0], &[2, 2, 2]),
    ("bugs-unnumbered.mbox", [1, 2, 0], &[1, 1, 1]),
    ("mercurial-cover-letter.mbox", [1, 2, 0], &[1, 1, 1]),
    ("mercurial-no-cover-letter.mbox", [0, 2, 0], &[1, 1]),
    ("revision-basic.mbox", [2, 4, 0], &[1, 1, 1, 2, 2, 2]),
    ("revision-no-cover-letter.mbox", [1, 4, 0], &[1, 1, 1, 2, 2]),
    ("revision-out-of-order.mbox", [2, 4, 0], &[1, 1, 1, 2, 2, 2]),
    (
        "revision-threaded-to-cover.mbox",
        [2, 4, 0],
        &[1, 1, 1, 2, 2, 2],
    ),
    (
        "revision-threaded-to-patch.mbox",
        [2, 4, 0],
        &[1, 1, 1, 2, 2, 2],
    ),
    ("revision-threaded-to-single-patch.mbox", [0, 2, 0], &[1, 2]),
    ("revision-unlabeled.mbox", [2, 4, 0], &[1, 1, 1, 1, 1, 1]),
    (
        "revision-unlabeled-noreferences.mbox",
        [0, 4, 0],
        &[2, 2, 2, 2],
    ),
    ("dependency-base-patch.mbox", [1, 2, 0], &[1, 1, 1]),
];

#[test]
fn kinds_and_versions_per_mailbox() {
    for (file, counts, versions) in SERIES {
        let mails = parse_file(&format!("patchwork/series/{file}"));
        let count = |k: &[Kind]| mails.iter().filter(|m| k.contains(&m.kind)).count();
        let got = [
            count(&[Kind::Cover]),
            count(&[Kind::Patch, Kind::PullRequest]),
            count(&[Kind::Comment]),
        ];
        assert_eq!(&got, counts, "{file}: [covers, patches, comments]");
        let got: Vec<u32> = mails.iter().map(|m| m.version).collect();
        assert_eq!(&got, versions, "{file}: versions");
        for m in &mails {
            assert!(
                m.submitter.is_some(),
                "{file}: {:?} has a submitter",
                m.msgid
            );
            assert!(m.date.is_some(), "{file}: {:?} has a date", m.msgid);
        }
    }
}

#[test]
fn markers() {
    let numbers = |file: &str| -> Vec<(Option<u32>, Option<u32>)> {
        parse_file(&format!("patchwork/series/{file}"))
            .iter()
            .map(|m| (m.number, m.total))
            .collect()
    };
    let s = |x, n| (Some(x), Some(n));
    assert_eq!(
        numbers("base-out-of-order.mbox"),
        [s(2, 2), s(1, 2), s(0, 2)]
    );
    assert_eq!(
        numbers("base-extra-patches.mbox"),
        [s(0, 2), s(1, 2), s(2, 2), s(3, 2)]
    );
    assert_eq!(
        numbers("mercurial-cover-letter.mbox"),
        [s(0, 2), s(1, 2), s(2, 2)]
    );
    assert_eq!(
        numbers("bugs-unnumbered.mbox"),
        [s(0, 2), s(1, 2), (None, None)]
    );
    assert_eq!(numbers("base-single-patch.mbox"), [(None, None)]);
    let names: Vec<String> = parse_file("patchwork/series/base-cover-letter.mbox")
        .into_iter()
        .filter_map(|m| m.name)
        .collect();
    assert_eq!(
        names,
        [
            "[0/2] A sample series",
            "[1/2] test: Add some lorem ipsum",
            "[2/2] test: Convert to Markdown"
        ]
    );
}

#[test]
fn references_are_in_patchwork_order() {
    let mails = parse_file("patchwork/series/base-deep-threaded.mbox");
    // 2/2 has In-Reply-To: the cover, and References: 1/2 then the cover.
    // In-Reply-To comes first, then References newest first without repeats.
    assert_eq!(
        mails[2].references,
        [
            mails[0].msgid.clone().unwrap(),
            mails[1].msgid.clone().unwrap()
        ]
    );
    for m in parse_file("patchwork/series/base-no-references.mbox") {
        assert!(m.references.is_empty());
    }
}

/// Fills a Python `str.format` template.
fn fill(template: &str, tokens: &[(&str, &str)]) -> Vec<u8> {
    let mut s = template.replace("{{", "\u{0}").replace("}}", "\u{1}");
    for (k, v) in tokens {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s.replace('\u{0}', "{").replace('\u{1}', "}").into_bytes()
}

fn parse_template(file: &str, tokens: &[(&str, &str)]) -> Vec<patchtrack_mail::ParsedMail> {
    let path = common::testdata().join("patchwork/series").join(file);
    let template = std::fs::read_to_string(path).unwrap();
    let data = fill(&template, tokens);
    patchtrack_mail::MboxReader::new(&data[..], patchtrack_mail::Quoting::Raw)
        .map(|m| parse_mail(&m.unwrap().data, &ParseOptions::default()))
        .collect()
}

#[test]
fn dependency_templates() {
    let url = "https://patchwork.example.org/project/test/list/?series=7";
    let msgid = "<20240610210912.161735-3-ahassick@iol.unh.edu>";
    for token in [url, msgid] {
        let expected = if token.starts_with('<') {
            Dependency::Msgid(token.into())
        } else {
            Dependency::Url(token.into())
        };
        for file in [
            "dependency-one-cover.mbox.template",
            "dependency-one-first-patch.mbox.template",
        ] {
            let mails = parse_template(file, &[("depends_token", token)]);
            let kinds: Vec<Kind> = mails.iter().map(|m| m.kind).collect();
            assert_eq!(kinds, [Kind::Cover, Kind::Patch, Kind::Patch], "{file}");
            assert_eq!(
                mails[0].depends_on,
                std::slice::from_ref(&expected),
                "{file}: the cover declares it"
            );
            assert!(mails[1].depends_on.is_empty() && mails[2].depends_on.is_empty());
        }
    }

    let tokens = [("depends_token_1", url), ("depends_token_2", msgid)];
    let mails = parse_template("dependency-multi.mbox.template", &tokens);
    assert_eq!(
        mails[0].depends_on,
        [Dependency::Url(url.into()), Dependency::Msgid(msgid.into())]
    );
    // URL forms come first even when written after a message-id.
    let swapped = [("depends_token_1", msgid), ("depends_token_2", url)];
    let mails = parse_template("dependency-multi.mbox.template", &swapped);
    assert_eq!(
        mails[0].depends_on,
        [Dependency::Url(url.into()), Dependency::Msgid(msgid.into())]
    );

    let mails = parse_template("dependency-multi-2.mbox.template", &tokens);
    assert!(mails[0].depends_on.is_empty());
    assert_eq!(mails[1].depends_on, [Dependency::Url(url.into())]);
    assert_eq!(mails[2].depends_on, [Dependency::Msgid(msgid.into())]);
}
