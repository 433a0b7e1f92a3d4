//! A real Postfix in front of `patchtrack lmtp`: mail submitted over SMTP
//! reaches the tracker through Postfix's LMTP client (`transport_maps`
//! naming `lmtp:inet:...`, as docs/feeding-mail.md says), and is stored as
//! `parsearchive` stores the same mail. With PostgreSQL, the database then
//! goes away: patchtrack answers 451, Postfix defers the mail and keeps
//! it, and once the database is back a queue run delivers it, once.
//!
//! Postfix must be installed and the test run as root (Postfix starts its
//! master as root); it runs a private instance under /tmp with its own
//! queue, and lists that instance's directory in the default main.cf's
//! `alternate_config_directories`, which `postfix -c` requires. Without
//! Postfix the test says so and is skipped, unless
//! PATCHTRACK_REQUIRE_POSTFIX=1 (CI).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{add_project, lmtp};

/// The instance's directory: fixed, because it must be listed in the
/// default configuration.
const DIR: &str = "/tmp/patchtrack-postfix-test";

fn postfix_present() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    support::tool_present(
        Path::new("/usr/sbin/postfix").exists() && root,
        "Postfix, or root to run it (apt-get install postfix)",
        "PATCHTRACK_REQUIRE_POSTFIX",
    )
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A private Postfix whose SMTP server listens on `smtp` and which hands
/// mail for lists.test.local to LMTP at `lmtp`; stopped on drop.
struct Postfix {
    etc: PathBuf,
    log: PathBuf,
    smtp: String,
}

impl Postfix {
    fn start(lmtp: &str) -> Postfix {
        let dir = Path::new(DIR);
        if dir.join("etc/main.cf").exists() {
            let _ = Command::new("postfix")
                .args(["-c", &format!("{DIR}/etc"), "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(dir);
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        run("chown", &["postfix", &format!("{DIR}/data")]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let smtp = format!("127.0.0.1:{port}");
        // Debian's services, unchrooted (the instance has no chroot), and
        // the SMTP server on our port.
        let master = std::fs::read_to_string("/etc/postfix/master.cf").unwrap();
        let mut out = String::new();
        for line in master.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let service = !line.starts_with(['#', ' ', '\t']) && fields.len() >= 8;
            if !service {
                out.push_str(line);
            } else {
                let mut f: Vec<String> = fields.iter().map(|s| (*s).to_string()).collect();
                if f[0] == "smtp" && f[1] == "inet" {
                    f[0] = smtp.clone();
                }
                f[4] = "n".into();
                out.push_str(&f.join(" "));
            }
            out.push('\n');
        }
        std::fs::write(dir.join("etc/master.cf"), out).unwrap();
        let log = dir.join("maillog");
        std::fs::write(
            dir.join("etc/main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {DIR}/queue\n\
                 data_directory = {DIR}/data\nmail_owner = postfix\nsetgid_group = postdrop\n\
                 myhostname = mx.test.local\nmydomain = test.local\nmyorigin = test.local\n\
                 mydestination =\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n\
                 mynetworks = 127.0.0.0/8\nrelay_domains = lists.test.local\n\
                 transport_maps = inline:{{lists.test.local=lmtp:inet:{lmtp}}}\n\
                 smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n\
                 maillog_file = {log}\nmaillog_file_prefixes = /tmp\n\
                 queue_run_delay = 300s\nminimal_backoff_time = 300s\n\
                 alias_maps =\nalias_database =\nlocal_recipient_maps =\nbiff = no\n\
                 smtputf8_enable = no\n",
                log = log.display()
            ),
        )
        .unwrap();
        // `postfix -c DIR` wants DIR listed in the default configuration.
        let listed = run("postconf", &["-h", "alternate_config_directories"]);
        if !listed
            .split([',', ' ', '\n'])
            .any(|d| d == format!("{DIR}/etc"))
        {
            let all = format!("{} {DIR}/etc", listed.trim());
            run(
                "postconf",
                &[
                    "-e",
                    &format!("alternate_config_directories = {}", all.trim()),
                ],
            );
        }
        let etc = dir.join("etc");
        let etc_s = etc.to_str().unwrap();
        run("postfix", &["-c", etc_s, "check"]);
        run("postfix", &["-c", etc_s, "start"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&smtp).is_err() {
            assert!(
                Instant::now() < deadline,
                "postfix does not listen on {smtp}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Postfix { etc, log, smtp }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `postqueue -f`: a queue run now, as the MTA's own timer would.
    fn flush(&self) {
        run("postqueue", &["-c", self.etc.to_str().unwrap(), "-f"]);
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .args(["-c", self.etc.to_str().unwrap(), "stop"])
            .output();
    }
}

fn send(postfix: &Postfix, mboxes: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/postfix/send.py");
    let mut args = vec![
        script.to_str().unwrap().to_string(),
        postfix.smtp.clone(),
        "list@lists.test.local".into(),
    ];
    args.extend(mboxes.iter().map(|p| p.display().to_string()));
    let out = Command::new("python3").args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "send.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stored patches, covers and comments, by the API's own counts.
fn stored(db: &str) -> (i64, i64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = patchtrack_store::Store::connect_with(db, 1).await.unwrap();
        let project = store.project_by_linkname("s").await.unwrap().unwrap();
        let counts = store.counts(project.id).await.unwrap();
        store.close().await;
        (counts.patches, counts.covers)
    })
}

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn postfix_delivers_over_lmtp_and_keeps_the_mail_while_the_database_is_away() {
    if !postfix_present() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let postgres = rt.block_on(common::postgres_url());
    let sqlite = format!(
        "sqlite://{}",
        common::scratch_dir().join("postfix.db").display()
    );
    let db = postgres.clone().unwrap_or(sqlite);
    add_project(&db);
    let server = lmtp(&db, &[]);
    let postfix = Postfix::start(&server.addr);

    let series = common::testdata().join("patchwork/series");
    let mboxes = [
        series.join("base-cover-letter.mbox"),
        series.join("base-different-versions.mbox"),
        series.join("mercurial-cover-letter.mbox"),
    ];
    let refs: Vec<&Path> = mboxes.iter().map(PathBuf::as_path).collect();
    send(&postfix, &refs);
    // What a sequential import of the same mail stores.
    let reference = format!(
        "sqlite://{}",
        common::scratch_dir().join("postfix-ref.db").display()
    );
    add_project(&reference);
    let mut args = vec!["parsearchive", "--list-id", "series.example.org"];
    let paths: Vec<String> = mboxes.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    support::ok_run(&reference, &args);
    let want = stored(&reference);
    wait_for("Postfix's deliveries", 60, || stored(&db) == want);
    let log = postfix.log();
    assert!(log.contains("status=sent (250 2.0.0 stored)"), "{log}");

    let Some(url) = postgres else {
        eprintln!("no PostgreSQL: the database-away half of the Postfix test is skipped");
        return;
    };
    // The database goes away: new connections refused, open ones killed.
    let outage = support::Outage::of(&url);
    outage.begin();
    // A message-id none of the first mails has (a pull request).
    let late = common::testdata().join("patchwork/mail/0001-git-pull-request.mbox");
    send(&postfix, &[late.as_path()]);
    wait_for("Postfix to defer the mail", 60, || {
        postfix
            .log()
            .contains("status=deferred (host 127.0.0.1[127.0.0.1] said: 451 4.3.0")
    });
    // Back: the next queue run delivers it, once.
    outage.end();
    postfix.flush();
    wait_for("the deferred mail", 60, || stored(&url).0 == want.0 + 1);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        stored(&url),
        (want.0 + 1, want.1),
        "stored once, nothing lost"
    );
}
