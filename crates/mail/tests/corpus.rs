//! The realistic archives: every message parses without a panic, and the
//! parser classifies exactly as upstream Patchwork's parser does (the counts
//! in `*.upstream.json`, measured by running Patchwork on the same files).
//!
//! The archives are large and live outside the repository: set
//! `PATCHTRACK_CORPUS` to their folder, or keep the `shared/corpus` folder
//! beside the checkout. Without them these tests say so loudly and pass,
//! unless `PATCHTRACK_REQUIRE_CORPUS=1` (set by `.ci/run`) makes that fatal.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use patchtrack_mail::{Kind, MboxReader, ParseOptions, Quoting, parse_mail};

/// The five git-list patches whose diff holds bytes their declared charset
/// cannot decode. Upstream drops that text part and so sees no patch; we
/// keep it (see docs/compatibility.md).
const REPAIRED_IN_GIT_LIST: [&str; 5] = [
    "<20190514-pull-v1-8-569581dbbdbb@gmx.de>",
    "<20190514-pull-v1-10-569581dbbdbb@gmx.de>",
    "<20191103004636.82437-1-congdanhqx@gmail.com>",
    "<20191108094350.78509-2-congdanhqx@gmail.com>",
    "<20191111060342.83580-1-congdanhqx@gmail.com>",
];

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PATCHTRACK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join("git-list.mbox.xz").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "\n*** CORPUS NOT FOUND at {} — corpus tests SKIPPED. Set PATCHTRACK_CORPUS. ***\n",
        dir.display()
    );
    if std::env::var("PATCHTRACK_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    None
}

fn open(path: &PathBuf) -> Box<dyn BufRead> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "xz") {
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(file))
    } else {
        Box::new(file)
    };
    Box::new(BufReader::with_capacity(1 << 16, reader))
}

/// Counts per upstream category (patch, pull, cover, other) and the
/// message-ids of the patches.
fn classify(path: &PathBuf, options: &ParseOptions) -> (BTreeMap<&'static str, u64>, Vec<String>) {
    let mut counts = BTreeMap::new();
    let mut patches = Vec::new();
    for msg in MboxReader::new(open(path), Quoting::Mboxrd) {
        let msg = msg.expect("read corpus");
        let mail = parse_mail(&msg.data, options);
        let category = match mail.kind {
            Kind::Patch => "patch",
            Kind::PullRequest => "pull",
            Kind::Cover => "cover",
            _ => "other",
        };
        if mail.kind == Kind::Patch {
            assert!(mail.hash.is_some(), "{:?}: a patch has a hash", mail.msgid);
            patches.push(mail.msgid.clone().unwrap_or_default());
        }
        *counts.entry(category).or_insert(0) += 1;
    }
    (counts, patches)
}

fn upstream(dir: &std::path::Path, name: &str) -> BTreeMap<&'static str, u64> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(name)).expect("upstream counts")).unwrap();
    ["patch", "pull", "cover", "other"]
        .into_iter()
        .map(|k| (k, json["parse"][k].as_u64().expect("count")))
        .collect()
}

#[test]
fn git_list_classification_matches_upstream() {
    let Some(dir) = corpus_dir() else { return };
    let path = dir.join("git-list.mbox.xz");
    let expected = upstream(&dir, "git-list.upstream.json");

    let strict = ParseOptions {
        strict_charsets: true,
        ..ParseOptions::default()
    };
    let (counts, strict_patches) = classify(&path, &strict);
    assert_eq!(counts, expected, "strict mode equals upstream exactly");

    let (counts, patches) = classify(&path, &ParseOptions::default());
    let mut lenient = expected.clone();
    *lenient.entry("patch").or_default() += 5;
    *lenient.entry("other").or_default() -= 5;
    assert_eq!(counts, lenient, "default mode recognises five more patches");
    let extra: Vec<&String> = patches
        .iter()
        .filter(|p| !strict_patches.contains(p))
        .collect();
    assert_eq!(extra, REPAIRED_IN_GIT_LIST, "exactly the documented five");
}

#[test]
fn synthetic_classification_matches_upstream() {
    let Some(dir) = corpus_dir() else { return };
    let expected = upstream(&dir, "synthetic-2k.upstream.json");
    let (counts, _) = classify(&dir.join("synthetic-2k.mbox"), &ParseOptions::default());
    assert_eq!(counts, expected);
}
