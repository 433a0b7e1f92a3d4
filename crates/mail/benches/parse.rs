//! Parse throughput on the git-list corpus (20,000 real-shaped messages),
//! one core: `cargo bench -p patchtrack-mail --bench parse`.
//!
//! The archive is decompressed and split before timing, so the figures are
//! the parser alone (headers, MIME walk, decoding, classification, hash).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patchtrack_mail::{MboxReader, ParseOptions, Quoting, parse_mail};

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("PATCHTRACK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    let path = dir.join("git-list.mbox.xz");
    let file = File::open(&path).unwrap_or_else(|e| {
        panic!(
            "benchmark needs {} (set PATCHTRACK_CORPUS): {e}",
            path.display()
        )
    });
    let reader = BufReader::new(liblzma::read::XzDecoder::new_multi_decoder(file));
    MboxReader::new(reader, Quoting::Mboxrd)
        .map(|m| m.expect("read corpus").data)
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = corpus();
    let bytes: u64 = messages.iter().map(|m| m.len() as u64).sum();
    let options = ParseOptions::default();
    let run = || {
        for m in &messages {
            std::hint::black_box(parse_mail(std::hint::black_box(m), &options));
        }
    };

    let mut group = c.benchmark_group("git-list");
    group.sample_size(10);
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("messages", |b| b.iter(run));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("bytes", |b| b.iter(run));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
