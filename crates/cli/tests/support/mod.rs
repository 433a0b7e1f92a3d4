//! What the binary's end-to-end tests share: running `patchtrack`
//! commands, a site with its one project, a `patchtrack serve` or `lmtp`
//! killed on drop, signals, tools a test needs, and one HTTP request over
//! a fresh connection. Test files that use it also declare `mod common`.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Runs `patchtrack --database DB ARGS...`.
pub fn patchtrack(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .arg("--database")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

/// Runs a command that must succeed; its standard output.
pub fn ok_run(db: &str, args: &[&str]) -> String {
    ok_output(db, args).0
}

/// Runs a command that must succeed; its standard output and error.
pub fn ok_output(db: &str, args: &[&str]) -> (String, String) {
    let out = patchtrack(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// Migrates `db` and adds the project `s` of list `series.example.org`,
/// which the tests' mail is delivered to.
pub fn add_project(db: &str) {
    ok_run(db, &["migrate"]);
    ok_run(
        db,
        &[
            "project",
            "add",
            "--linkname",
            "s",
            "--name",
            "S",
            "--listid",
            "series.example.org",
        ],
    );
}

/// A fresh SQLite site named `name` with the project `s`: its URL and
/// its file.
pub fn site(name: &str) -> (String, PathBuf) {
    let path = crate::common::scratch_dir().join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let db = format!("sqlite://{}", path.display());
    add_project(&db);
    (db, path)
}

/// Whether a tool a test needs is here; without it the test says so and
/// is skipped, unless `require_var=1` (as in `.ci/run`) makes that a
/// failure.
pub fn tool_present(found: bool, what: &str, require_var: &str) -> bool {
    if !found {
        let msg = format!("\n*** {what} NOT FOUND: test SKIPPED ***\n");
        if std::env::var(require_var).is_ok_and(|v| v == "1") {
            panic!("{msg}");
        }
        eprintln!("{msg}");
    }
    found
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits for `child` to exit, at most `secs` seconds.
pub fn exits_within(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "still running {secs} s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `command` and reads its standard error up to the line that
/// holds `marker`: the address after it (up to a `/` or a space), and the
/// lines after it, also echoed to the test's output with `label`.
pub fn spawn_announcing(
    command: &mut Command,
    marker: &str,
    label: &'static str,
) -> (Child, String, Receiver<String>) {
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the command exited").unwrap();
        if let Some(rest) = line.split(marker).nth(1) {
            break rest.split(['/', ' ']).next().unwrap().to_string();
        }
    };
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("{label}: {line}");
            let _ = tx.send(line);
        }
    });
    (child, addr, rx)
}

/// A running `patchtrack serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(db: &str, extra: &[&str]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patchtrack"));
    command
        .args(["--database", db, "serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("PATCHTRACK_LOG", "info");
    let (child, addr, _) = spawn_announcing(&mut command, "serving http://", "serve");
    Server { child, addr }
}

/// A running `patchtrack lmtp` for the list `series.example.org`.
pub fn lmtp(db: &str, extra: &[&str]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patchtrack"));
    command
        .args(["--database", db, "lmtp", "--listen", "127.0.0.1:0"])
        .args(["--list-id", "series.example.org"])
        .args(extra);
    let (child, addr, _) = spawn_announcing(&mut command, "LMTP on ", "lmtp");
    Server { child, addr }
}

/// One HTTP/1.1 request over a fresh connection: the status code and the
/// body.
pub fn http(addr: &str, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A PostgreSQL test database that can be made to go away and come back,
/// as when its server is restarted: new connections refused, open ones
/// killed.
pub struct Outage {
    rt: tokio::runtime::Runtime,
    admin: patchtrack_store::Store,
    name: String,
}

impl Outage {
    /// For the database at `url` (from `common::postgres_url`).
    pub fn of(url: &str) -> Outage {
        let (base, name) = url.rsplit_once('/').unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin = rt
            .block_on(patchtrack_store::Store::connect_with(
                &format!("{base}/postgres"),
                1,
            ))
            .unwrap();
        Outage {
            rt,
            admin,
            name: name.to_string(),
        }
    }

    fn sql(&self, q: &str) {
        self.rt.block_on(self.admin.execute_admin(q)).unwrap();
    }

    /// The database goes away.
    pub fn begin(&self) {
        let name = &self.name;
        self.sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
        self.sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ));
    }

    /// It is back.
    pub fn end(&self) {
        self.sql(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ));
    }
}
