//! Parsing mail whose headers are built to be slow, one core:
//! `cargo bench -p patchtrack-mail --bench hostile`.
//!
//! Each mail has a 1 MB header: 100,000 References, or a Subject of
//! 50,000 RFC 2047 words (encoded words separated by blanks, which Python
//! drops, and plain words between them). Both must cost time in proportion
//! to their length (issue 10 asks under 50 ms for the References).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patchtrack_mail::{ParseOptions, parse_mail};

const BODY: &str = "\nhello\n---\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";

fn with_header(name: &str, value: &str) -> Vec<u8> {
    format!("From: a@example.org\nSubject: [PATCH] x\nMessage-Id: <m@x>\n{name}: {value}\n{BODY}")
        .into_bytes()
}

fn references(n: usize) -> Vec<u8> {
    let refs: Vec<String> = (0..n).map(|i| format!("<{i}@x>")).collect();
    with_header("References", &refs.join("\n "))
}

fn encoded_subject(n: usize) -> Vec<u8> {
    let words: Vec<&str> = (0..n)
        .map(|i| {
            if i % 3 == 2 {
                "plain"
            } else {
                "=?utf-8?q?caf=C3=A9?="
            }
        })
        .collect();
    let mut mail = with_header("X-Long", "x");
    let subject = format!("Subject: {}\n", words.join(" "));
    mail.splice(0..0, subject.into_bytes());
    mail
}

fn bench(c: &mut Criterion) {
    let options = ParseOptions::default();
    let mut group = c.benchmark_group("hostile-headers");
    group.sample_size(10);
    for (name, mail) in [
        ("references-100k", references(100_000)),
        ("rfc2047-words-50k", encoded_subject(50_000)),
    ] {
        group.throughput(Throughput::Bytes(mail.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| std::hint::black_box(parse_mail(std::hint::black_box(&mail), &options)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
