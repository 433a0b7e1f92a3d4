//! Property tests: the parser never panics, on arbitrary bytes or on
//! mutated copies of the test mailboxes, and its pieces keep their
//! invariants.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_mail::date::{UtcSeconds, parse_date};
use patchtrack_mail::header_encode::stored_block;
use patchtrack_mail::split::parse_patch;
use patchtrack_mail::subject::clean_subject;
use patchtrack_mail::{Kind, MboxReader, MboxWriter, ParseOptions, Quoting, hash_diff, parse_mail};
use proptest::prelude::*;

/// Every test mailbox of the repository, whole.
fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in ["patchwork/mail", "patchwork/series", "seed"] {
        let dir = common::testdata().join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.extension().is_some_and(|e| e == "md" || e == "json"))
            .collect();
        files.sort();
        out.extend(files.iter().map(|f| std::fs::read(f).unwrap()));
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"=?utf-8?b?".to_vec()),
        Just(b"=?x?q?=FF?=".to_vec()),
        Just(b"\n--".to_vec()),
        Just(b"\ndiff --git a/x b/x\n".to_vec()),
        Just(b"\n@@ -1,99999999999999999999 +1 @@\n".to_vec()),
        Just(b"\nGIT binary patch\n".to_vec()),
        Just(b"Content-Type: multipart/mixed; boundary=\"".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\n".to_vec()),
        Just(vec![0u8, 0xff, 0xfe, 0x80]),
        proptest::collection::vec(any::<u8>(), 0..16),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), snippet).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    if data.is_empty() {
        return;
    }
    match m {
        Mutation::Flip(i, b) => {
            let i = i % data.len();
            data[i] ^= b;
        }
        Mutation::Insert(i, s) => {
            let i = i % (data.len() + 1);
            data.splice(i..i, s.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = i % data.len();
            let end = (i + n).min(data.len());
            data.drain(i..end);
        }
        Mutation::Truncate(i) => data.truncate(i % data.len()),
    }
}

/// What every parse result must satisfy.
fn check(mail: &patchtrack_mail::ParsedMail) {
    match mail.kind {
        Kind::Patch => {
            assert!(mail.diff.as_deref().is_some_and(|d| !d.is_empty()));
            assert_eq!(mail.hash.as_ref().map(String::len), Some(40));
        }
        Kind::Invalid | Kind::Ignored | Kind::Empty => assert!(mail.reason.is_some()),
        _ => {}
    }
    if let Some(id) = &mail.msgid {
        assert!(id.chars().count() <= 255);
    }
    serde_json::to_string(mail).unwrap();
    // Re-encoding never panics and, like upstream's, only writes ASCII.
    let stored = stored_block(&mail.headers);
    assert!(stored.is_ascii() && !stored.contains('\0'), "{stored:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check(&parse_mail(&data, &ParseOptions::default()));
        for msg in MboxReader::new(&data[..], Quoting::Mboxrd) {
            check(&parse_mail(&msg.unwrap().data, &ParseOptions::default()));
        }
    }

    #[test]
    fn header_shaped_garbage_never_panics(
        headers in proptest::collection::vec(
            ("(From|Subject|Message-Id|In-Reply-To|References|Content-Type|Date|List-Id|Content-Transfer-Encoding)",
             "([ -~\t\u{80}-\u{10ffff}]|=\\?(utf-8|iso-8859-1|x)\\?[qb]\\?){0,60}"), 0..10),
        body in "(.|\n){0,400}",
    ) {
        let mut raw = String::new();
        for (k, v) in &headers {
            raw.push_str(&format!("{k}: {v}\n"));
        }
        raw.push('\n');
        raw.push_str(&body);
        check(&parse_mail(raw.as_bytes(), &ParseOptions::default()));
    }

    #[test]
    fn mutated_test_mailboxes_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..8),
        strict in any::<bool>(),
    ) {
        let all = seeds();
        let mut data = which.get(&all).clone();
        for m in &mutations {
            apply(&mut data, m);
        }
        let options = ParseOptions { strict_charsets: strict, ..ParseOptions::default() };
        check(&parse_mail(&data, &options));
        for msg in MboxReader::new(&data[..], Quoting::Mboxrd) {
            check(&parse_mail(&msg.unwrap().data, &options));
        }
    }

    #[test]
    fn split_keeps_every_line(text in "([ +@\\-a-z\\\\]{0,12}\n){0,40}") {
        // Each line lands in exactly one of the two buffers, and the split
        // adds one newline per line (the last, empty, piece included).
        let (diff, comment) = parse_patch(&text);
        let total = diff.as_deref().map_or(0, str::len) + comment.as_deref().map_or(0, str::len);
        prop_assert_eq!(total, text.len() + 1);
    }

    #[test]
    fn hash_ignores_carriage_returns_and_outer_space(lines in proptest::collection::vec("[ +\\-@a-z0-9,]{0,20}", 0..30)) {
        let diff = lines.join("\n");
        let crlf = format!("  \n{}\r\n\n", lines.join("\r\n"));
        prop_assert_eq!(hash_diff(&diff), hash_diff(&crlf));
    }

    #[test]
    fn clean_subject_is_normalised(subject in "(\\[[A-Za-z0-9 ,/]{0,12}\\] ?){0,3}[ -~\u{a0}-\u{17f}\t]{0,40}") {
        let s = clean_subject(&subject, &["linux"]);
        prop_assert!(!s.name.starts_with(' '));
        // Upstream formats "[prefixes] rest", so an empty rest leaves "] ".
        prop_assert!(!s.name.ends_with(' ') || s.name.ends_with("] "));
        prop_assert!(!s.name.contains("  "));
        for p in &s.prefixes {
            prop_assert!(!p.eq_ignore_ascii_case("patch") && !p.eq_ignore_ascii_case("linux"));
            prop_assert!(!p.is_empty());
        }
    }

    #[test]
    fn dates_round_trip(secs in -62_135_596_800i64..253_402_300_799) {
        let (y, mo, d, h, mi, s) = UtcSeconds(secs).civil();
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let text = format!("{d} {} {y:04} {h:02}:{mi:02}:{s:02} +0000", MONTHS[mo as usize - 1]);
        // Two-digit years are RFC 2822's 19xx/20xx; skip those.
        prop_assume!(y >= 100);
        prop_assert_eq!(parse_date(&text), Some(UtcSeconds(secs)));
    }

    #[test]
    fn mboxrd_round_trip(messages in proptest::collection::vec("(>{0,2}From x\n|[a-z ]{0,10}\n|\n){0,8}", 1..5)) {
        let mut w = MboxWriter::new(Vec::new());
        for m in &messages {
            w.write_message("patchtrack Thu Jan  1 00:00:00 1970", format!("Subject: x\n\n{m}").as_bytes()).unwrap();
        }
        let out = w.into_inner().unwrap();
        let back: Vec<Vec<u8>> = MboxReader::new(&out[..], Quoting::Mboxrd).map(|m| m.unwrap().data).collect();
        let want: Vec<Vec<u8>> = messages.iter().map(|m| format!("Subject: x\n\n{m}").into_bytes()).collect();
        prop_assert_eq!(back, want);
    }
}
