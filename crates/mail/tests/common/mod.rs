//! Shared helpers for the integration tests: where the test data lives and
//! how to read it the way upstream's test helpers do.

#![allow(dead_code)]

pub mod hostile;

use std::path::PathBuf;

use patchtrack_mail::{MboxReader, ParseOptions, ParsedMail, Quoting, parse_mail};

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// The messages of a test file. Upstream reads `mail/` files whole (one
/// message, a leading `From ` line being the envelope) and splits `series/`
/// files with `mailbox.mbox`; `split` chooses. Like upstream's `read_mail`,
/// a message without a Message-Id gets one, so that the parser looks past
/// that check.
pub fn messages(rel: &str, split: bool) -> Vec<Vec<u8>> {
    let path = testdata().join(rel);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw: Vec<Vec<u8>> = if split {
        MboxReader::new(&data[..], Quoting::Raw)
            .map(|m| m.expect("in-memory read").data)
            .collect()
    } else {
        vec![data]
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let (headers, _) = patchtrack_mail::headers::parse_header_block(&m);
            if headers.contains("Message-Id") {
                m
            } else {
                let mut with = format!("Message-Id: <test-{i}@patchtrack.invalid>\n").into_bytes();
                with.extend_from_slice(&m);
                with
            }
        })
        .collect()
}

/// Parses every message of an mbox test file with default options.
pub fn parse_file(rel: &str) -> Vec<ParsedMail> {
    messages(rel, true)
        .iter()
        .map(|m| parse_mail(m, &ParseOptions::default()))
        .collect()
}

/// Parses a test file read whole, as one message.
pub fn parse_one(rel: &str) -> ParsedMail {
    let raw = messages(rel, false);
    parse_mail(&raw[0], &ParseOptions::default())
}
