//! Odd mail seen on real lists, read as upstream's parser reads it: cover
//! letters whose subject is only prefixes, Outlook and Exchange bodies
//! whose decoded lines end in CRLF, blank display names, and stand-alone
//! mails that no stored mail can explain.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

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
