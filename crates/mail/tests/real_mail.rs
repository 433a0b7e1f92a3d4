//! Odd mail seen on real lists, read as upstream's parser reads it: cover
//! letters whose subject is only prefixes, Outlook and Exchange bodies
//! whose decoded lines end in CRLF, blank display names, and stand-alone
//! mails that no stored mail can explain.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use base64::Engine;
use patchtrack_mail::{Kind, ParseOptions, ParsedMail, parse_mail};

fn parse(raw: &str) -> ParsedMail {
    parse_mail(raw.as_bytes(), &ParseOptions::default())
}

fn head(subject: &str, extra: &str) -> String {
    format!(
        "From: A <a@example.org>\nSubject: {subject}\nMessage-Id: <m@example.org>\n\
         Date: Mon, 3 Feb 2020 04:05:06 +0000\n{extra}"
    )
}

#[test]
fn a_subject_of_only_prefixes_keeps_upstreams_name() {
    // `'[%s] %s' % (prefixes, "")`: the space stays, nothing follows it.
    let m = parse(&(head("[RFC PATCH v4 0/9] ", "\n") + "The series.\n"));
    assert_eq!(m.kind, Kind::Cover);
    assert_eq!(m.name.as_deref(), Some("[RFC,v4,0/9] "));
    assert_eq!((m.number, m.total, m.version), (Some(0), Some(9), 4));
    let m = parse(&(head("[PATCH]", "\n") + "Text.\n"));
    assert_eq!(m.name.as_deref(), Some(""));
}

const DIFF: &str = "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";

#[test]
fn blank_display_names_are_empty_names() {
    for (from, name) in [
        ("\"\" <b@example.org>", Some("")),
        ("<b@example.org>", Some("")),
        ("\" \" <b@example.org>", Some("")),
        ("b@example.org", None),
    ] {
        let raw =
            format!("From: {from}\nSubject: [PATCH] x\nMessage-Id: <n@example.org>\n\n{DIFF}");
        let who = parse(&raw).submitter.unwrap();
        assert_eq!(who.name.as_deref(), name, "{from}");
        assert_eq!(who.email, "b@example.org");
    }
}

#[test]
fn mails_that_answer_nothing_say_what_they_are() {
    let standalone = parse(&(head("Where is the release?", "\n") + "Anyone?\n"));
    assert_eq!(standalone.kind, Kind::Comment);
    assert_eq!(
        standalone.reason.as_deref(),
        Some("no diff, and not a cover letter, pull request or reply")
    );
    let diffless = parse(&(head("[PATCH 1/2] lost its diff", "\n") + "Text.\n"));
    assert_eq!(diffless.reason, standalone.reason);

    let bare_reply = parse(&(head("Re: the release", "\n") + "Soon.\n"));
    assert_eq!(
        bare_reply.reason.as_deref(),
        Some("a reply without In-Reply-To or References")
    );
    assert_eq!(bare_reply.orphan_reason(), bare_reply.reason.unwrap());

    // With references, only the database can tell; the parser says nothing.
    let threaded =
        parse(&(head("Re: the release", "In-Reply-To: <r@example.org>\n\n") + "Soon.\n"));
    assert_eq!(threaded.kind, Kind::Comment);
    assert_eq!(threaded.reason, None);
    assert_eq!(threaded.orphan_reason(), "a reply to nothing stored");
}

const COMMIT: &str = "Fix the frobnicator.\n\nSigned-off-by: A <a@example.org>\n---\n f | 2 +-\n\n";
const SIGNATURE: &str = "-- \n2.1.0\n";

/// The same patch as a plain mail and as an Outlook mail whose base64 or
/// quoted-printable body decodes to CRLF lines.
fn crlf_variants() -> (ParsedMail, Vec<ParsedMail>) {
    let body = format!("{COMMIT}{DIFF}{SIGNATURE}");
    let plain = parse(&(head("[PATCH] frob", "\n") + &body));
    let crlf = body.replace('\n', "\r\n");
    let b64 = base64::engine::general_purpose::STANDARD.encode(crlf.as_bytes());
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let base64_mail = head(
        "[PATCH] frob",
        "Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: base64\n\n",
    ) + &wrapped.join("\n")
        + "\n";
    let qp_mail = head(
        "[PATCH] frob",
        "Content-Type: text/plain; charset=\"utf-8\"\n\
         Content-Transfer-Encoding: quoted-printable\n\n",
    ) + &body.replace('\n', "=0D\n");
    (plain, vec![parse(&base64_mail), parse(&qp_mail)])
}

#[test]
fn crlf_bodies_are_stored_as_upstream_decodes_them() {
    // Python's get_payload(decode=True) and bytes.decode() keep CRLF, and
    // the diff split cuts on "\n" only, so every line keeps its "\r": in
    // the diff, and in the content, where the signature line reads
    // "-- \r" and so is not cut (clean_content wants "-- \n").
    let (plain, crlf) = crlf_variants();
    for m in crlf {
        assert_eq!(m.kind, Kind::Patch);
        assert_eq!(m.diff.as_deref(), Some(DIFF.replace('\n', "\r\n").as_str()));
        let content = format!("{COMMIT}{SIGNATURE}").replace('\n', "\r\n");
        assert_eq!(m.content, content.trim_end());
        // The hash drops every "\r": the same patch, the same hash.
        assert_eq!(m.hash, plain.hash);
        assert_eq!(plain.content, COMMIT.trim_end());
    }
}
