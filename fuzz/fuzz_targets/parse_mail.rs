//! Arbitrary bytes through every public entry point of the mail crate:
//! nothing may panic, and whatever is parsed must serialise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patchtrack_mail::{MboxReader, ParseOptions, Quoting, hash_diff, parse_mail};

fuzz_target!(|data: &[u8]| {
    let options = ParseOptions {
        drop_prefixes: vec!["linux".into()],
        list_email: Some("list@example.org".into()),
        strict_charsets: data.first().is_some_and(|b| b & 1 == 1),
    };
    let mail = parse_mail(data, &options);
    if let Some(diff) = &mail.diff {
        assert_eq!(mail.hash.is_some(), matches!(mail.kind, patchtrack_mail::Kind::Patch | patchtrack_mail::Kind::PullRequest));
        let _ = hash_diff(diff);
    }
    for msg in MboxReader::new(data, Quoting::Mboxrd).flatten() {
        let _ = parse_mail(&msg.data, &options);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = patchtrack_mail::split::parse_patch(text);
        let _ = patchtrack_mail::date::parse_date(text);
        let _ = patchtrack_mail::subject::clean_subject(text, &["linux"]);
    }
});
