//! Patchwork's `tests/data/patches` diffs, fed in synthetic mails the way
//! upstream's parser tests build them (reference §3.2), and the seed QEMU
//! patch whose API answer started the project.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_mail::{Kind, ParseOptions, hash_diff, parse_mail};

fn patch_file(name: &str) -> String {
    std::fs::read_to_string(common::testdata().join("patchwork/patches").join(name)).unwrap()
}

fn mail(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Test <test@example.com>\nSubject: [PATCH] test\nMessage-Id: <t@example.com>\n{headers}\n{body}"
    )
    .into_bytes()
}

fn parse(raw: &[u8]) -> patchtrack_mail::ParsedMail {
    parse_mail(raw, &ParseOptions::default())
}

#[test]
fn hashes_of_the_test_diffs() {
    assert_eq!(
        hash_diff(&patch_file("0001-add-line.patch")),
        "f59149b3310fb8f337b1cfc845c060ed6ef85df8"
    );
    assert_eq!(
        hash_diff(&patch_file("0002-utf-8.patch")),
        "10b45755273a7d1cf3f245d7d4013a820bbaa1bc"
    );
}

#[test]
fn inline_diff() {
    let diff = patch_file("0001-add-line.patch");
    let m = parse(&mail(
        "Content-Type: text/plain\n",
        &format!("Test for attached patch\n{diff}"),
    ));
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(m.diff.as_deref(), Some(diff.as_str()));
    assert_eq!(m.content, "Test for attached patch");
    assert_eq!(
        m.hash.as_deref(),
        Some("f59149b3310fb8f337b1cfc845c060ed6ef85df8")
    );

    // No Content-Type at all is text/plain.
    let m = parse(&mail("", &format!("Test for attached patch\n{diff}")));
    assert_eq!(m.diff.as_deref(), Some(diff.as_str()));
}

#[test]
fn utf8_inline_diff() {
    let diff = patch_file("0002-utf-8.patch");
    let m = parse(&mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
        &format!("Test for attached patch\n{diff}"),
    ));
    assert_eq!(m.diff.as_deref(), Some(diff.as_str()));
    assert_eq!(
        m.hash.as_deref(),
        Some("10b45755273a7d1cf3f245d7d4013a820bbaa1bc")
    );
}

#[test]
fn attached_diff_parts() {
    let diff = patch_file("0001-add-line.patch");
    for subtype in ["x-patch", "x-diff"] {
        let body = format!(
            "--b\nContent-Type: text/plain\n\nTest for attached patch\n--b\nContent-Type: text/{subtype}\nContent-Disposition: attachment; filename=\"x.patch\"\n\n{diff}\n--b--\n"
        );
        let m = parse(&mail(
            "Content-Type: multipart/mixed; boundary=\"b\"\n",
            &body,
        ));
        assert_eq!(m.kind, Kind::Patch, "{subtype}");
        assert_eq!(m.diff.as_deref(), Some(diff.as_str()), "{subtype}");
        assert_eq!(m.content, "Test for attached patch", "{subtype}");
    }
    // A patch attached as application/octet-stream is not read.
    let body = format!(
        "--b\nContent-Type: text/plain\n\nSee attached\n--b\nContent-Type: application/octet-stream\n\n{diff}\n--b--\n"
    );
    let m = parse(&mail(
        "Content-Type: multipart/mixed; boundary=\"b\"\n",
        &body,
    ));
    assert_eq!(m.kind, Kind::Comment);
    assert_eq!(m.diff, None);
}

#[test]
fn signatures_footers_and_updates() {
    let diff = patch_file("0001-add-line.patch");
    let with_sig = parse(&mail("", &format!("Test comment\n-- \nsig\n{diff}")));
    assert_eq!(with_sig.content, "Test comment");
    let with_footer = parse(&mail(
        "",
        &format!("Test comment\n{diff}_______\nlist footer\n"),
    ));
    assert_eq!(with_footer.content, "Test comment");
    let update = parse(&mail(
        "",
        &format!("Test comment\n---\nUpdate: test update\n{diff}"),
    ));
    assert_eq!(update.content, "Test comment\n---\nUpdate: test update");
    let words = parse(&mail("", &format!("difficult\nDifferent\n{diff}")));
    assert_eq!(words.content, "difficult\nDifferent");
    assert_eq!(words.diff.as_deref(), Some(diff.as_str()));
}

#[test]
fn replies_keep_diffs_in_the_comment() {
    let diff = patch_file("0001-add-line.patch");
    let raw = format!(
        "From: A <a@example.com>\nSubject: Re: [PATCH] test\nMessage-Id: <r@example.com>\nIn-Reply-To: <t@example.com>\n\nLooks good\n{diff}\nReviewed-by: A <a@example.com>\n"
    );
    let m = parse(raw.as_bytes());
    assert_eq!(m.kind, Kind::Comment);
    assert_eq!(m.diff, None);
    assert!(m.content.contains("+meep"));
    assert_eq!(m.references, ["<t@example.com>"]);
    assert_eq!(m.trailers.len(), 1);
    assert_eq!(m.trailers[0].name, "Reviewed-by");
}

#[test]
fn message_id_and_references_forms() {
    let raw = b"From: A <a@example.com>\nSubject: x\nMessage-Id: <id@x> (comment)\nIn-Reply-To: bare-id\nReferences: <a@x> <b@x>\nReferences: <b@x> <c@x>\n\ntext\n";
    let m = parse(raw);
    assert_eq!(m.msgid.as_deref(), Some("<id@x>"));
    assert_eq!(m.references, ["bare-id", "<b@x>", "<a@x>", "<c@x>"]);
    let raw = b"From: A <a@example.com>\nSubject: x\nMessage-Id: no-brackets \n\ntext\n";
    assert_eq!(parse(raw).msgid.as_deref(), Some("no-brackets"));
}

#[test]
fn invalid_required_headers() {
    let m = parse(b"Subject: x\nMessage-Id: <a@b>\n\ntext\n");
    assert_eq!(m.kind, Kind::Invalid);
    assert_eq!(m.reason.as_deref(), Some("Missing 'From' header"));
    let m = parse(b"From: a@b.org\nSubject: x\nMessage-Id:\n\ntext\n");
    assert_eq!(m.kind, Kind::Invalid);
    let m = parse(b"From: nobody\nSubject: [PATCH] x\nMessage-Id: <a@b>\n\ntext\n");
    assert_eq!(m.kind, Kind::Comment);
    assert_eq!(m.submitter, None);
    // Upstream looks for a comment's parent before its author, and this
    // one can have none: dropped, not refused.
    assert_eq!(m.reason.as_deref(), Some(m.orphan_reason()));
    let m = parse(
        b"From: nobody\nSubject: [PATCH] x\nMessage-Id: <a@b>\n\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n",
    );
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(m.submitter, None);
    assert_eq!(m.reason.as_deref(), Some("Invalid 'From' header"));
    let m =
        parse(b"From: a@b.org\nSubject: x\nMessage-Id: <a@b>\nX-Patchwork-Hint: IGNORE\n\ntext\n");
    assert_eq!(m.kind, Kind::Ignored);
    let m = parse(b"From: a@b.org\nSubject: x\nMessage-Id: <a@b>\n\n\n");
    assert_eq!(m.kind, Kind::Empty);
}

#[test]
fn seed_qemu_patch_matches_patchwork_api() {
    let dir = common::testdata().join("seed");
    let raw = std::fs::read(dir.join("seed-qemu-patch.mbox")).unwrap();
    let api: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("seed-qemu-patch.api.json")).unwrap())
            .unwrap();
    let m = parse(&raw);
    assert_eq!(m.kind, Kind::Patch);
    assert_eq!(m.name.as_deref(), api["name"].as_str());
    assert_eq!(m.hash.as_deref(), api["hash"].as_str());
    assert_eq!(Some(m.content.as_str()), api["content"].as_str());
    assert_eq!(m.diff.as_deref(), api["diff"].as_str());
    assert_eq!(m.msgid.as_deref(), api["msgid"].as_str());
    assert_eq!(
        m.date.map(|d| d.to_string()).as_deref(),
        api["date"].as_str()
    );
    let who = m.submitter.unwrap();
    assert_eq!(who.name.as_deref(), api["submitter"]["name"].as_str());
    assert_eq!(Some(who.email.as_str()), api["submitter"]["email"].as_str());
    let prefixes: Vec<&str> = api["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(m.prefixes, prefixes);
    assert_eq!(m.list_ids, [api["project"]["list_id"].as_str().unwrap()]);
}

#[test]
fn crlf_mail_reads_like_lf_mail() {
    let raw = std::fs::read(common::testdata().join("seed/seed-qemu-patch.mbox")).unwrap();
    let crlf: Vec<u8> = String::from_utf8(raw.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let (lf, crlf) = (parse(&raw), parse(&crlf));
    assert_eq!(crlf.kind, Kind::Patch);
    assert_eq!(crlf.name, lf.name);
    assert_eq!(crlf.msgid, lf.msgid);
    assert_eq!(crlf.submitter, lf.submitter);
    assert_eq!(crlf.date, lf.date);
    // The hash drops carriage returns, so tools agree whatever the line ends.
    assert_eq!(crlf.hash, lf.hash);
}
