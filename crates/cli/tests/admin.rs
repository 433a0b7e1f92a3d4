//! The site administrator's commands: accounts and maintainers.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};

use patchtrack_store::Store;

fn patchtrack(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .arg("--database")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

/// A fresh SQLite database in the scratch directory.
fn fresh_db(name: &str) -> String {
    let path = common::scratch_dir().join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    format!("sqlite://{}", path.display())
}

/// Runs a command that must succeed; its standard output.
fn ok_run(db: &str, args: &[&str]) -> String {
    let out = patchtrack(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Adds a project and imports Patchwork's two-patch series into it.
fn project_with_series(db: &str, linkname: &str, listid: &str) {
    ok_run(
        db,
        &[
            "project",
            "add",
            "--linkname",
            linkname,
            "--name",
            linkname,
            "--listid",
            listid,
        ],
    );
    let mbox = common::testdata().join("patchwork/series/base-cover-letter.mbox");
    ok_run(
        db,
        &["parsearchive", "--list-id", listid, mbox.to_str().unwrap()],
    );
}

#[tokio::test]
async fn user_edit_changes_maintainers_and_password() {
    let path = common::scratch_dir().join("admin.db");
    let _ = std::fs::remove_file(&path);
    let db = format!("sqlite://{}", path.display());
    let ok = |out: Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(patchtrack(
        &db,
        &[
            "project",
            "add",
            "--linkname",
            "p",
            "--name",
            "P",
            "--listid",
            "p.example.org",
        ],
    ));
    ok(patchtrack(
        &db,
        &["user", "add", "alice", "--email", "alice@example.org"],
    ));
    ok(patchtrack(
        &db,
        &[
            "user",
            "edit",
            "alice",
            "--maintainer-of",
            "p",
            "--password",
            "pw",
        ],
    ));
    let store = Store::connect(&db).await.unwrap();
    let project = store.project_by_linkname("p").await.unwrap().unwrap();
    let alice = store
        .authenticate_password("alice", "pw")
        .await
        .unwrap()
        .unwrap();
    assert!(alice.maintains(project.id));
    // Twice is harmless; then stop.
    ok(patchtrack(
        &db,
        &["user", "edit", "alice", "--maintainer-of", "p"],
    ));
    ok(patchtrack(
        &db,
        &["user", "edit", "alice", "--not-maintainer-of", "p"],
    ));
    let alice = store
        .authenticate_password("alice", "pw")
        .await
        .unwrap()
        .unwrap();
    assert!(!alice.maintains(project.id));
    // Unknown names fail with a message and change nothing.
    let out = patchtrack(
        &db,
        &[
            "user",
            "edit",
            "alice",
            "--maintainer-of",
            "nope",
            "--password",
            "x",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no project \"nope\""));
    assert!(
        store
            .authenticate_password("alice", "pw")
            .await
            .unwrap()
            .is_some()
    );
    let out = patchtrack(&db, &["user", "edit", "bob", "--password", "x"]);
    assert!(!out.status.success());
}

/// Patchwork's repair commands, end to end on a file database.
#[test]
fn repair_commands_report_what_they_did() {
    let db = fresh_db("repair");
    let run = |args: &[&str]| ok_run(&db, args);
    project_with_series(&db, "p", "p.example.org");
    assert_eq!(run(&["retag"]), "2 patches retagged\n");
    assert_eq!(
        run(&["rehash", "1"]),
        "1 patches rehashed, 0 hashes changed\n"
    );
    let relations = common::scratch_dir().join("relations.txt");
    std::fs::write(&relations, "1 2\n2 77\n").unwrap();
    let out = patchtrack(&db, &["replacerelations", relations.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Ingested 1 relations\n"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2 left out"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&relations, "1 two\n").unwrap();
    let out = patchtrack(&db, &["replacerelations", relations.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: \"two\" is not a patch id"));
    let out = patchtrack(&db, &["replacerelations", "/nonexistent/file"]);
    assert_eq!(out.status.code(), Some(1));
}

/// `dumparchive`: one mbox per project in a tar, plain or gzipped, every
/// patch once; an unknown list id is an error.
#[test]
fn dumparchive_writes_a_tar_of_mboxes() {
    let db = fresh_db("dump");
    let out_dir = common::scratch_dir().join("dump-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let run = |args: &[&str]| ok_run(&db, args);
    project_with_series(&db, "p", "p.example.org");
    run(&[
        "project",
        "add",
        "--linkname",
        "q",
        "--name",
        "q",
        "--listid",
        "q.example.org",
    ]);
    let dir = out_dir.to_str().unwrap();
    let printed = run(&["dumparchive", "--directory", dir, "p.example.org"]);
    assert!(printed.contains("Project 01/01 (p)"), "{printed}");
    let read = |compressed: bool| {
        let name = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.to_string_lossy()
                    .ends_with(if compressed { ".tar.gz" } else { ".tar" })
            })
            .unwrap();
        let file = std::fs::File::open(&name).unwrap();
        let reader: Box<dyn std::io::Read> = if compressed {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut archive = tar::Archive::new(reader);
        let mut members = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            members.push((entry.path().unwrap().display().to_string(), text));
        }
        std::fs::remove_file(name).unwrap();
        members
    };
    let members = read(false);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].0, "p.mbox");
    assert_eq!(members[0].1.matches("\nFrom patchwork ").count() + 1, 2);
    assert!(members[0].1.starts_with("From patchwork "));
    assert!(
        members[0].1.ends_with("\n\n"),
        "each patch followed by a newline"
    );
    run(&["dumparchive", "-c", "--directory", dir]);
    let members = read(true);
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["p.mbox", "q.mbox"]);
    assert_eq!(members[1].1, "", "a project without patches");
    let out = patchtrack(
        &db,
        &["dumparchive", "--directory", dir, "nope.example.org"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Project not found: nope.example.org"));
}
