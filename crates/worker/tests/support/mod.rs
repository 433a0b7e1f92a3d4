//! A real SMTP server for the tests: aiosmtpd, delivering into a Maildir
//! the test reads. Found as Debian's `python3-aiosmtpd` (what `.ci/run`
//! installs), in any `python3` that has it, or installed by the test into
//! a venv from PyPI. When none of that works the test says so loudly and
//! is skipped, unless `PATCHTRACK_REQUIRE_SMTP=1` (set by `.ci/run`)
//! makes it fatal.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use patchtrack_store::Store;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// This test process's scratch folder.
pub fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchtrack-smtp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn has_aiosmtpd(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A venv with aiosmtpd from PyPI, made once per machine and kept in the
/// temp folder for later runs.
fn venv_python() -> Result<PathBuf, String> {
    let venv = std::env::temp_dir().join("patchtrack-aiosmtpd-venv");
    let python = venv.join("bin/python3");
    if has_aiosmtpd(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "aiosmtpd==1.4.6"])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() {
        return Err(format!(
            "pip install aiosmtpd failed: {}",
            String::from_utf8_lossy(&pip.stderr)
        ));
    }
    has_aiosmtpd(&python)
        .then_some(python)
        .ok_or_else(|| "aiosmtpd does not import in the new venv".into())
}

/// A Python that can run aiosmtpd, if one can be had.
pub fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let candidates = std::env::var_os("PATCHTRACK_AIOSMTPD_PYTHON")
                .map(PathBuf::from)
                .into_iter()
                .chain(["/usr/bin/python3", "python3"].map(PathBuf::from));
            for p in candidates {
                if has_aiosmtpd(&p) {
                    return Some(p);
                }
            }
            match venv_python() {
                Ok(p) => Some(p),
                Err(e) => {
                    let msg = format!(
                        "\n*** aiosmtpd unavailable ({e}): SMTP tests SKIPPED; \
                         install python3-aiosmtpd ***\n"
                    );
                    if std::env::var("PATCHTRACK_REQUIRE_SMTP").is_ok_and(|v| v == "1") {
                        panic!("{msg}");
                    }
                    eprintln!("{msg}");
                    None
                }
            }
        })
        .as_deref()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A running aiosmtpd on a loopback port.
#[derive(Debug)]
pub struct SmtpServer {
    pub port: u16,
    maildir: PathBuf,
    child: Option<Child>,
}

impl SmtpServer {
    /// A server on a free port, not yet started; None without aiosmtpd.
    pub fn new() -> Option<SmtpServer> {
        python()?;
        let maildir = scratch().join(unique("maildir"));
        Some(SmtpServer {
            port: free_port(),
            maildir,
            child: None,
        })
    }

    /// A started server; None without aiosmtpd.
    pub fn start_new() -> Option<SmtpServer> {
        let mut s = SmtpServer::new()?;
        s.start();
        Some(s)
    }

    /// Starts (or restarts) it on its port and waits until it answers.
    pub fn start(&mut self) {
        let python = python().expect("aiosmtpd");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen in 20 s");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Stops it; mail already delivered stays in the Maildir.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every delivered message, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let new = self.maildir.join("new");
        let Ok(dir) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = dir
            .filter_map(|e| e.ok())
            .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read(p).unwrap())
            .collect()
    }

    /// Waits until `n` messages have arrived (at most 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A header's value as delivered (unfolded, not decoded).
pub fn header(message: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let head = text
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace("\r", "");
    let mut value: Option<String> = None;
    for line in head.lines() {
        if let Some(v) = value.as_mut()
            && line.starts_with([' ', '\t'])
        {
            v.push(' ');
            v.push_str(line.trim());
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

/// The subject and body text of a delivered message, decoded.
pub fn subject_and_body(message: &[u8]) -> (String, String) {
    let parsed = patchtrack_mail::parse_mail(message, &patchtrack_mail::ParseOptions::default());
    (parsed.subject.unwrap_or_default(), parsed.content)
}

/// A fresh, migrated SQLite store.
pub async fn sqlite() -> Store {
    let path = scratch().join(format!("{}.db", unique("db")));
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}
