//! Mail built to hurt the parser: it must answer, with a reason, on the
//! small stack of an import's reader thread.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::hostile::{Nesting, nested};
use patchtrack_mail::{Kind, ParseOptions, ParsedMail, mime::MAX_NESTING, parse_mail};

/// `parse_mail` on a thread with Rust's default 2 MiB stack, as
/// `parsearchive`'s reader runs it.
fn parse_on_small_stack(raw: Vec<u8>) -> ParsedMail {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || parse_mail(&raw, &ParseOptions::default()))
        .unwrap()
        .join()
        .unwrap()
}

const ALL: [Nesting; 3] = [Nesting::Multipart, Nesting::Message, Nesting::Digest];

#[test]
fn absurd_nesting_is_refused_with_a_reason() {
    for nesting in ALL {
        for depth in [1_000, 10_000, 100_000] {
            let mail = parse_on_small_stack(nested(nesting, depth, "deep@x"));
            assert_eq!(mail.kind, Kind::Invalid, "{nesting:?} {depth}");
            assert_eq!(
                mail.reason.as_deref(),
                Some("MIME parts nested deeper than 100 levels"),
                "{nesting:?} {depth}"
            );
            assert_eq!(mail.msgid.as_deref(), Some("<deep@x>"));
        }
    }
}

#[test]
fn nesting_up_to_the_cap_is_read() {
    for nesting in ALL {
        let mail = parse_on_small_stack(nested(nesting, MAX_NESTING - 2, "ok@x"));
        assert_eq!(mail.kind, Kind::Patch, "{nesting:?}: {:?}", mail.reason);
        assert_eq!(
            mail.diff.as_deref(),
            Some("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"),
            "{nesting:?}"
        );
    }
}

/// Python's parser does not undo a transfer encoding on `message/rfc822`
/// (RFC 2046 allows none there): the enclosed message is read from the
/// base64 text itself, which has no header and no diff, however deep the
/// message it encodes nests.
#[test]
fn an_encoded_enclosed_message_is_its_base64_text() {
    for depth in [2, 100_000] {
        let mail = parse_on_small_stack(nested(Nesting::EncodedMessage, depth, "enc@x"));
        assert_eq!(mail.kind, Kind::Comment, "{depth}");
        assert!(mail.diff.is_none());
        assert!(
            mail.content
                .starts_with("Q29udGVudC1UeXBlOiBtZXNzYWdlL3JmYzgyMg"),
            "{depth}: {}",
            &mail.content[..60.min(mail.content.len())]
        );
    }
}

#[test]
fn a_message_id_is_kept_whole_for_comparison_and_refused_with_a_nul() {
    use patchtrack_mail::message::full_message_id_of;
    let mail =
        |id: &str| format!("From: a@b\nSubject: s\nMessage-Id: x {id} y\n\nbody\n").into_bytes();
    let long = format!("<{}@x>", "a".repeat(300));
    let parsed = parse_mail(&mail(&long), &ParseOptions::default());
    assert_eq!(
        parsed.msgid.as_deref().map(|m| m.chars().count()),
        Some(255)
    );
    assert_eq!(full_message_id_of(&mail(&long)), Some(long.clone()));

    let parsed = parse_mail(&mail("<a\0b@x>"), &ParseOptions::default());
    assert_eq!(parsed.kind, Kind::Invalid);
    assert_eq!(
        parsed.reason.as_deref(),
        Some("Message-Id contains a NUL character")
    );
    // A NUL outside the id is only noise around it.
    let parsed = parse_mail(&mail("<ab@x>\0"), &ParseOptions::default());
    assert_eq!(parsed.msgid.as_deref(), Some("<ab@x>"));
}
