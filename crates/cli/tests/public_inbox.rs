//! `patchtrack import-public-inbox` on real inboxes made by Debian's
//! public-inbox tools (`public-inbox-init`, `public-inbox-mda`,
//! `public-inbox-learn rm`), v1 and v2: the stored counts equal those of a
//! `parsearchive` of the same mail, a second run after new mail (in the
//! same epoch, and in an epoch added as a `git fetch` adds one) stores
//! exactly the new mail, a third finds nothing, and a message removed from
//! the inbox is skipped when it had not been read yet.
//!
//! The tools are looked for on PATH; without them the test says so and
//! is skipped, unless PATCHTRACK_REQUIRE_PUBLIC_INBOX=1 (CI) makes that a
//! failure.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::{ok_output as patchtrack, sigterm, site};

fn tools_present() -> bool {
    let found = Command::new("public-inbox-init")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    support::tool_present(
        found,
        "public-inbox tools (apt-get install public-inbox)",
        "PATCHTRACK_REQUIRE_PUBLIC_INBOX",
    )
}

/// A scratch home with a public-inbox configuration of its own.
struct Tools {
    home: PathBuf,
}

impl Tools {
    fn new(name: &str) -> Tools {
        let home = common::scratch_dir().join(format!("pi-{name}"));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let tools = Tools { home };
        // The mda wants a spam checker unless told there is none.
        tools.run(
            "git",
            &[
                "config",
                "-f",
                tools.config().to_str().unwrap(),
                "publicinboxmda.spamcheck",
                "none",
            ],
            None,
            &[],
        );
        tools
    }

    fn config(&self) -> PathBuf {
        self.home.join("config")
    }

    fn run(&self, program: &str, args: &[&str], input: Option<&[u8]>, env: &[(&str, &str)]) {
        let mut child = Command::new(program)
            .args(args)
            .env("HOME", &self.home)
            .env("PI_CONFIG", self.config())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(data) = input {
            stdin.write_all(data).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `public-inbox-init`: a new inbox of `version` (1 or 2).
    fn init(&self, name: &str, version: u8, extra: &[&str]) -> Inbox {
        let dir = self.home.join(name);
        let address = format!("{name}@example.org");
        let v = format!("-V{version}");
        let mut args = vec![v.as_str()];
        args.extend_from_slice(extra);
        let url = format!("http://example.org/{name}");
        args.extend_from_slice(&[name, dir.to_str().unwrap(), &url, &address]);
        self.run("public-inbox-init", &args, None, &[]);
        Inbox { dir, address }
    }

    /// `public-inbox-mda`: delivers each mail to the inbox.
    fn deliver(&self, inbox: &Inbox, mails: &[Vec<u8>]) {
        for mail in mails {
            self.run(
                "public-inbox-mda",
                &["--no-precheck"],
                Some(mail),
                &[("ORIGINAL_RECIPIENT", &inbox.address)],
            );
        }
    }

    /// `public-inbox-learn rm`: removes the mail from every inbox.
    fn remove(&self, mail: &[u8]) {
        self.run("public-inbox-learn", &["rm", "--all"], Some(mail), &[]);
    }
}

struct Inbox {
    dir: PathBuf,
    address: String,
}

fn import(db: &str, inbox: &Path) -> (String, String) {
    patchtrack(
        db,
        &[
            "import-public-inbox",
            "--list-id",
            "series.example.org",
            inbox.to_str().unwrap(),
        ],
    )
}

/// The same mails stored by `parsearchive` into a fresh site.
fn parsearchive(name: &str, mails: &[Vec<u8>]) -> PathBuf {
    let (db, path) = site(name);
    let mbox = common::scratch_dir().join(format!("{name}.mbox"));
    common::write_mboxrd(&mbox, mails);
    patchtrack(
        &db,
        &[
            "parsearchive",
            "--list-id",
            "series.example.org",
            mbox.to_str().unwrap(),
        ],
    );
    path
}

/// Stored patches, covers, comments and series, and each series' members.
fn counts(db: &Path) -> String {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lmtp/compare.py"))
        .arg("--counts")
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Mails of Patchwork's test mailboxes: covers, patches, replies,
/// revisions and a pull request, in mailbox order.
fn mails() -> Vec<Vec<u8>> {
    // Mailboxes whose Message-Ids are all different: an inbox keeps one
    // message per id, as patchtrack does.
    let dir = common::testdata().join("patchwork");
    let mut all = Vec::new();
    for name in [
        "series/base-cover-letter.mbox",
        "mail/0001-git-pull-request.mbox",
        "series/base-different-versions.mbox",
        "series/bugs-multiple-references.mbox",
        "mail/0013-with-utf8-body.mbox",
        "series/mercurial-cover-letter.mbox",
    ] {
        all.extend(common::mbox(&std::fs::read(dir.join(name)).unwrap()));
    }
    all
}

fn processed(summary: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.strip_prefix("Processed "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {summary:?}"))
}

#[test]
fn v1_inbox_imports_as_parsearchive_and_a_second_run_stores_only_new_mail() {
    if !tools_present() {
        return;
    }
    let mails = mails();
    assert!(mails.len() >= 12, "{} mails", mails.len());
    let (first, later) = mails.split_at(mails.len() - 3);
    let tools = Tools::new("v1");
    let inbox = tools.init("list1", 1, &[]);
    tools.deliver(&inbox, first);

    let (db, path) = site("pi-v1");
    let (summary, _) = import(&db, &inbox.dir);
    assert_eq!(processed(&summary), first.len() as u64, "{summary}");
    assert_eq!(counts(&path), counts(&parsearchive("pi-v1-archive", first)));

    // New mail, and a mail removed before it was read: only the others.
    let extra = first[0].clone();
    let spare = mail_with_id(&extra, "removed-before-read@example.org");
    tools.deliver(&inbox, later);
    tools.deliver(&inbox, std::slice::from_ref(&spare));
    tools.remove(&spare);
    let (summary, _) = import(&db, &inbox.dir);
    assert_eq!(processed(&summary), later.len() as u64, "{summary}");
    assert!(
        summary.contains(&format!("Total: {} new entries", later.len())),
        "{summary}"
    );
    assert_eq!(counts(&path), counts(&parsearchive("pi-v1-all", &mails)));

    let (summary, _) = import(&db, &inbox.dir);
    assert!(summary.contains("nothing new"), "{summary}");
}

#[test]
fn v2_inbox_with_an_epoch_added_later_stores_exactly_the_new_mail() {
    if !tools_present() {
        return;
    }
    let mails = mails();
    let (first, later) = mails.split_at(mails.len() - 4);
    let (same_epoch, next_epoch) = later.split_at(2);
    let tools = Tools::new("v2");
    let inbox = tools.init("list2", 2, &[]);
    tools.deliver(&inbox, first);

    let (db, path) = site("pi-v2");
    let (summary, _) = import(&db, &inbox.dir);
    assert_eq!(processed(&summary), first.len() as u64, "{summary}");
    assert_eq!(counts(&path), counts(&parsearchive("pi-v2-archive", first)));

    // A message stored, then removed from the inbox: named, and kept.
    let stored = first[1].clone();
    tools.remove(&stored);
    // More mail in epoch 0, and an epoch 1 arriving as a fetch brings it:
    // made by the tools in another inbox that starts at epoch 1.
    tools.deliver(&inbox, same_epoch);
    let other = tools.init("list2b", 2, &["--skip-epoch=1"]);
    tools.deliver(&other, next_epoch);
    let epoch1 = other.dir.join("git/1.git");
    assert!(epoch1.is_dir(), "--skip-epoch=1 made no git/1.git");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&epoch1)
        .arg(inbox.dir.join("git/1.git"))
        .status()
        .unwrap();
    assert!(copied.success());

    let (summary, stderr) = import(&db, &inbox.dir);
    assert_eq!(processed(&summary), later.len() as u64, "{summary}");
    assert!(
        summary.contains(&format!("Total: {} new entries", later.len())),
        "{summary}"
    );
    assert!(
        stderr.contains("was removed from the inbox") && stderr.contains("patchtrack keeps it"),
        "{stderr}"
    );
    assert_eq!(counts(&path), counts(&parsearchive("pi-v2-all", &mails)));

    let (summary, _) = import(&db, &inbox.dir);
    assert!(summary.contains("nothing new"), "{summary}");
}

/// `mail` under another Message-Id: a message of its own.
fn mail_with_id(mail: &[u8], id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(mail);
    let mut out = String::new();
    let mut in_headers = true;
    for line in text.split_inclusive('\n') {
        if in_headers && line.trim().is_empty() {
            in_headers = false;
        }
        if in_headers && line.to_ascii_lowercase().starts_with("message-id:") {
            out.push_str(&format!("Message-Id: <{id}>\n"));
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

#[test]
fn a_directory_that_is_no_inbox_is_refused_with_a_reason() {
    let (db, _) = site("pi-none");
    let dir = common::scratch_dir().join("pi-not-an-inbox");
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args(["--database", &db, "import-public-inbox"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a public-inbox"), "{stderr}");
}

/// A follower killed if the test fails before it stops it.
struct Follower(std::process::Child);

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn follow_stores_mail_as_it_arrives_and_stops_cleanly_on_sigterm() {
    if !tools_present() {
        return;
    }
    let mails = mails();
    let (first, later) = mails.split_at(3);
    let tools = Tools::new("follow");
    let inbox = tools.init("list3", 2, &[]);
    tools.deliver(&inbox, first);
    let (db, path) = site("pi-follow");
    let mut follower = Follower(
        Command::new(env!("CARGO_BIN_EXE_patchtrack"))
            .args(["--database", &db, "import-public-inbox", "--follow"])
            .args(["--poll-seconds", "1", "--list-id", "series.example.org"])
            .arg(&inbox.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let later = &later[..4];
    tools.deliver(&inbox, later);
    let expected = counts(&parsearchive("pi-follow-archive", &mails[..7]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while counts(&path) != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower did not store the new mail: {}",
            counts(&path)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    sigterm(&follower.0);
    let status = support::exits_within(&mut follower.0, 30);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut follower.0.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{status:?}: {out}");
    // Its marks are where it stopped: a run after it finds nothing.
    let (summary, _) = import(&db, &inbox.dir);
    assert!(summary.contains("nothing new"), "{summary}");
}

#[test]
fn mail_no_project_takes_is_not_marked_read_and_from_start_reads_it_all_again() {
    if !tools_present() {
        return;
    }
    let mails = mails();
    let first = &mails[..4];
    let tools = Tools::new("unrouted");
    let inbox = tools.init("list4", 2, &[]);
    tools.deliver(&inbox, first);
    let (db, path) = site("pi-unrouted");
    let dir = inbox.dir.to_str().unwrap();
    // The wrong list id: every mail dropped, an error, no mark.
    let out = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args([
            "--database",
            &db,
            "import-public-inbox",
            "--list-id",
            "typo.example.org",
            dir,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was marked as read"), "{stderr}");
    // Fixed: the same mail is read and stored.
    let (summary, _) = import(&db, &inbox.dir);
    assert_eq!(processed(&summary), first.len() as u64, "{summary}");
    assert_eq!(
        counts(&path),
        counts(&parsearchive("pi-unrouted-archive", first))
    );
    // --from-start reads everything again and stores nothing twice.
    let (summary, _) = patchtrack(
        &db,
        &[
            "import-public-inbox",
            "--from-start",
            "--list-id",
            "series.example.org",
            dir,
        ],
    );
    assert_eq!(processed(&summary), first.len() as u64, "{summary}");
    assert!(summary.contains("Total: 0 new entries"), "{summary}");
}
