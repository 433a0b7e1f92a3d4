//! `patchtrack parse` as a user runs it: files, Maildirs, stdin, `.xz`, and
//! hostile input, checking the JSON it prints and its exit status.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn patchtrack(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchtrack-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn seed_patch_from_file_and_stdin() {
    let seed = testdata().join("seed/seed-qemu-patch.mbox");
    let from_file = json_lines(&patchtrack(&["parse", seed.to_str().unwrap()], None));
    let raw = std::fs::read(&seed).unwrap();
    let from_stdin = json_lines(&patchtrack(&["parse", "-"], Some(&raw)));
    assert_eq!(from_file.len(), 1);
    let m = &from_file[0];
    assert_eq!(m["kind"], "patch");
    assert_eq!(m["hash"], "57b141dc83ac7b781189e8ef5fb178abb9aa880a");
    assert_eq!(m["submitter"]["email"], "hayatake396@gmail.com");
    assert!(m["content_length"].as_u64().unwrap() > 0);
    assert!(m.get("content").is_none(), "texts only with --full");
    assert_eq!(from_stdin[0]["hash"], m["hash"]);
    assert_eq!(from_stdin[0]["origin"], "-#1");

    let full = json_lines(&patchtrack(
        &["parse", "--full", seed.to_str().unwrap()],
        None,
    ));
    let diff = full[0]["diff"].as_str().unwrap();
    assert!(diff.starts_with("diff --git a/tests/qtest/migration/misc-tests.c"));
    assert_eq!(
        full[0]["diff_length"].as_u64().unwrap(),
        diff.chars().count() as u64
    );
}

#[test]
fn maildir_xz_and_summary() {
    let dir = scratch("maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mail = testdata().join("patchwork/mail");
    std::fs::copy(mail.join("0013-with-utf8-body.mbox"), dir.join("new/1")).unwrap();
    std::fs::copy(
        mail.join("0020-multipart-comment.mbox"),
        dir.join("cur/2:2,S"),
    )
    .unwrap();
    let lines = json_lines(&patchtrack(&["parse", dir.to_str().unwrap()], None));
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["patch", "comment"]);

    // The same two mails as an xz-compressed mbox.
    let mut mbox = Vec::new();
    for f in ["0013-with-utf8-body.mbox", "0020-multipart-comment.mbox"] {
        let data = std::fs::read(mail.join(f)).unwrap();
        if !data.starts_with(b"From ") {
            mbox.extend_from_slice(b"From x Thu Jan  1 00:00:00 1970\n");
        }
        mbox.extend_from_slice(&data);
        mbox.extend_from_slice(b"\n");
    }
    let xz_path = dir.join("two.mbox.xz");
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
    enc.write_all(&mbox).unwrap();
    std::fs::write(&xz_path, enc.finish().unwrap()).unwrap();
    let summary = json_lines(&patchtrack(
        &["parse", "--summary", xz_path.to_str().unwrap()],
        None,
    ));
    assert_eq!(summary, [serde_json::json!({"patch": 1, "comment": 1})]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_input_is_reported_not_fatal() {
    let garbage: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let out = json_lines(&patchtrack(&["parse", "-"], Some(&garbage)));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["kind"], "invalid");
    assert!(out[0]["reason"].as_str().unwrap().contains("Missing"));

    let empty = json_lines(&patchtrack(&["parse", "-"], Some(b"")));
    assert_eq!(empty[0]["kind"], "invalid");
}

#[test]
fn missing_file_is_an_error_with_a_message() {
    let out = patchtrack(&["parse", "/nonexistent/mail.mbox"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open /nonexistent/mail.mbox"), "{err}");
}
