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
