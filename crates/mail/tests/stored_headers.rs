//! The stored header block (`headers` column) must be byte for byte what
//! upstream Patchwork stores, since the API, the mbox downloads and comment
//! subjects are made from it. The expected values were recorded from a site
//! built by upstream (`testdata/upstream/stored-headers.jsonl.xz`).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use patchtrack_mail::header_encode::stored_block;
use patchtrack_mail::headers::parse_header_block;
use patchtrack_mail::{MboxReader, ParseOptions, Quoting, parse_mail};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// The folder holding `synthetic-2k.mbox`, or `None` (said loudly; fatal
/// under `PATCHTRACK_REQUIRE_CORPUS=1`).
fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PATCHTRACK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join("synthetic-2k.mbox").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "\n*** CORPUS NOT FOUND at {} — synthetic-2k stored headers SKIPPED. Set PATCHTRACK_CORPUS. ***\n",
        dir.display()
    );
    if std::env::var("PATCHTRACK_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    None
}

struct Golden {
    project: String,
    table: String,
    id: i64,
    msgid: String,
    headers: String,
}

fn golden() -> Vec<Golden> {
    let file = std::fs::File::open(testdata().join("upstream/stored-headers.jsonl.xz")).unwrap();
    let mut text = String::new();
    liblzma::read::XzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            Golden {
                project: s("project"),
                table: s("table"),
                id: v["id"].as_i64().unwrap(),
                msgid: s("msgid"),
                headers: s("headers"),
            }
        })
        .collect()
}

/// Stored header blocks by message-id, the first message with an id
/// winning, as upstream drops later duplicates.
fn ours(files: &[Vec<u8>], into: &mut HashMap<String, String>) {
    for data in files {
        for msg in MboxReader::new(&data[..], Quoting::Raw) {
            let mail = parse_mail(&msg.unwrap().data, &ParseOptions::default());
            if let Some(id) = mail.msgid.clone() {
                into.entry(id)
                    .or_insert_with(|| stored_block(&mail.headers));
            }
        }
    }
}

/// `parsearchive` order for the test project: `mail/`, then `series/`, in
/// name order, then the two dependency templates upstream filled. Only
/// their bodies depend on the filling.
fn pwtest_files() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for dir in ["mail", "series"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(testdata().join("patchwork").join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "mbox"))
            .collect();
        names.sort();
        files.extend(names.iter().map(|p| std::fs::read(p).unwrap()));
    }
    let placeholder = regex::Regex::new(r"\{depends_token\w*\}").unwrap();
    for template in ["dependency-multi", "dependency-one-cover"] {
        let path = testdata().join(format!("patchwork/series/{template}.mbox.template"));
        let text = std::fs::read_to_string(path).unwrap();
        let filled = placeholder
            .replace_all(&text, "<x@example.org>")
            .replace("{{", "{")
            .replace("}}", "}");
        files.push(filled.into_bytes());
    }
    files
}

#[test]
fn equal_to_upstream_for_every_stored_mail() {
    let golden = golden();
    let mut computed = HashMap::new();
    ours(&pwtest_files(), &mut computed);
    let corpus = corpus_dir();
    if let Some(dir) = &corpus {
        ours(
            &[std::fs::read(dir.join("synthetic-2k.mbox")).unwrap()],
            &mut computed,
        );
    }
    let (mut checked, mut bad) = (0, Vec::new());
    for g in &golden {
        if g.project == "synthetic" && corpus.is_none() {
            continue;
        }
        checked += 1;
        let Some(ours) = computed.get(&g.msgid) else {
            bad.push(format!("{} {} {}: not parsed", g.table, g.id, g.msgid));
            continue;
        };
        if *ours != g.headers {
            let first = ours
                .lines()
                .zip(g.headers.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("\n  ours: {a:?}\n  want: {b:?}"))
                .unwrap_or_else(|| "\n  (one is a prefix of the other)".into());
            bad.push(format!("{} {} {}:{first}", g.table, g.id, g.msgid));
        }
    }
    eprintln!(
        "stored headers: {} of {checked} equal to upstream",
        checked - bad.len()
    );
    assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.join("\n"));
    assert!(checked >= 63);
}

/// Development aid for wider coverage: `PATCHTRACK_HEADER_ORACLE` names a
/// JSONL file with the `headers` Python computes for each message of the
/// mbox named by `PATCHTRACK_HEADER_MBOX`, in mbox order. Without both the
/// test does nothing.
#[test]
fn against_python_oracle() {
    let (Ok(oracle), Ok(mbox)) = (
        std::env::var("PATCHTRACK_HEADER_ORACLE"),
        std::env::var("PATCHTRACK_HEADER_MBOX"),
    ) else {
        return;
    };
    let expected: Vec<serde_json::Value> = BufReader::new(std::fs::File::open(oracle).unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let data = std::fs::read(mbox).unwrap();
    let mut bad = 0;
    let mut n = 0;
    for (i, msg) in MboxReader::new(&data[..], Quoting::Raw).enumerate() {
        let (headers, _) = parse_header_block(&msg.unwrap().data);
        let ours = stored_block(&headers);
        let want = expected[i]["headers"].as_str().unwrap();
        n += 1;
        if ours != want {
            bad += 1;
            if bad <= 5 {
                let first = ours.lines().zip(want.lines()).find(|(a, b)| a != b);
                eprintln!("message {i} {:?}: {first:?}", expected[i]["msgid"]);
            }
        }
    }
    eprintln!("compared {n} messages");
    assert_eq!(n, expected.len());
    assert_eq!(bad, 0, "{bad} of {n} messages differ");
}
