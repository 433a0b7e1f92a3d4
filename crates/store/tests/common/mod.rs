//! Test databases: a fresh SQLite file, and a fresh database on a throwaway
//! PostgreSQL cluster (started once per test binary with initdb/pg_ctl on a
//! free loopback port, stopped when the binary exits), or on the server in
//! `PATCHTRACK_TEST_POSTGRES_URL`. Without PostgreSQL binaries the
//! PostgreSQL half is skipped loudly, unless `PATCHTRACK_REQUIRE_POSTGRES=1`
//! (set by `.ci/run`) makes that fatal.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use patchtrack_store::{NewProject, NewUser, Principal, Project, Store};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A directory for this test process's databases, removed (with any
/// cluster in it) by a watchdog shell once the process has exited.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("patchtrack-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; sleep 3; rm -rf '{dir}'",
            me = std::process::id(),
            dir = dir.display()
        );
        // Best effort: without sh the files stay in the temp directory.
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        dir
    })
}

pub fn find_pg_bin(name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
        .filter(|p| p.is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root
/// (PostgreSQL refuses to run as root).
fn pg_command(bin: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        c.arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts a cluster and returns its base URL (without a database name).
fn start_cluster() -> Result<String, String> {
    let initdb = find_pg_bin("initdb").ok_or("initdb not found")?;
    let postgres = find_pg_bin("postgres").ok_or("postgres not found")?;
    let root = is_root();
    let dir = scratch_dir().join(unique("pg"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if root {
        // The scratch directory must be reachable by the postgres user.
        let _ = Command::new("chmod").arg("755").arg(scratch_dir()).status();
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("cannot chown the cluster directory to postgres".into());
        }
    }
    let data = dir.join("data");
    let out = pg_command(&initdb, root)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        ])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = free_port();
    // A watchdog shell stops the server and removes the cluster when this
    // test process exits, however it exits.
    let server = pg_command(&postgres, root)
        .args(["-D"])
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("postgres: {e}"))?;
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -INT {pg} 2>/dev/null; \
         sleep 2; kill -KILL {pg} 2>/dev/null; rm -rf '{dir}'",
        me = std::process::id(),
        pg = server.id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("postgres did not start within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(format!("postgres://postgres@127.0.0.1:{port}"))
}

/// The base URL of the PostgreSQL server to test on, if any.
fn postgres_base() -> Option<&'static str> {
    static BASE: OnceLock<Option<String>> = OnceLock::new();
    BASE.get_or_init(|| {
        if let Ok(url) = std::env::var("PATCHTRACK_TEST_POSTGRES_URL") {
            return Some(url.trim_end_matches('/').to_string());
        }
        match start_cluster() {
            Ok(url) => Some(url),
            Err(e) => {
                let msg = format!(
                    "\n*** PostgreSQL unavailable ({e}): PostgreSQL store tests SKIPPED ***\n"
                );
                if std::env::var("PATCHTRACK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("{msg}");
                }
                eprintln!("{msg}");
                None
            }
        }
    })
    .as_deref()
}

/// A fresh, migrated SQLite database.
pub async fn sqlite() -> Store {
    let path = scratch_dir().join(format!("{}.db", unique("sqlite")));
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// A URL of a fresh, empty PostgreSQL database, if PostgreSQL is available.
pub async fn postgres_url() -> Option<String> {
    let base = postgres_base()?;
    let name = unique("t");
    let admin = Store::connect_with(&format!("{base}/postgres"), 1)
        .await
        .unwrap();
    admin
        .execute_admin(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await;
    Some(format!("{base}/{name}"))
}

/// A fresh, migrated PostgreSQL database, if PostgreSQL is available.
pub async fn postgres() -> Option<Store> {
    let url = postgres_url().await?;
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

/// Fresh stores on every available backend.
pub async fn stores() -> Vec<Store> {
    let mut out = vec![sqlite().await];
    out.extend(postgres().await);
    out
}

/// A project receiving `listid`.
pub async fn project(store: &Store, linkname: &str, listid: &str) -> Project {
    store
        .add_project(&NewProject {
            linkname: linkname.into(),
            name: linkname.into(),
            listid: listid.into(),
            listemail: format!("{linkname}@lists.example.org"),
            ..NewProject::default()
        })
        .await
        .unwrap()
}

/// A user `maint` (password `pw`) who maintains `linkname`, signed in.
pub async fn maintainer(store: &Store, linkname: &str) -> Principal {
    store
        .add_user(&NewUser {
            username: "maint".into(),
            email: "maint@example.org".into(),
            password: Some("pw".into()),
            maintainer_of: vec![linkname.into()],
            ..NewUser::default()
        })
        .await
        .unwrap();
    store
        .authenticate_password("maint", "pw")
        .await
        .unwrap()
        .unwrap()
}

/// The repository's `testdata/`.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// The folder of the large corpora (`PATCHTRACK_CORPUS`, else the
/// `shared/corpus` beside the checkout). Without it a test says so loudly
/// and is skipped, unless `PATCHTRACK_REQUIRE_CORPUS=1` makes that fatal.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PATCHTRACK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| testdata().join("../../shared/corpus"));
    if dir.join("git-list.mbox.xz").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "\n*** CORPUS NOT FOUND at {}: test SKIPPED ***\n",
        dir.display()
    );
    if std::env::var("PATCHTRACK_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    None
}

/// The messages of an mbox file, split as Python's `mailbox.mbox` splits.
pub fn mbox(data: &[u8]) -> Vec<Vec<u8>> {
    patchtrack_mail::MboxReader::new(data, patchtrack_mail::Quoting::Raw)
        .map(|m| m.unwrap().data)
        .collect()
}

/// `mails` as an mboxrd file (what `parsearchive` reads back unchanged).
pub fn write_mboxrd(path: &Path, mails: &[Vec<u8>]) {
    let mut out = Vec::new();
    for mail in mails {
        out.extend_from_slice(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n");
        for line in mail.split_inclusive(|&b| b == b'\n') {
            let unquoted = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
            if line[unquoted..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !mail.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

/// The API tokens of the migration fixture's users (testdata/migration/
/// README.md): `sha1("patchwork-site:" + username)`.
pub const MIGRATION_TOKENS: &[(&str, &str)] = &[
    ("admin", "e4cb1be6d1f6cbaaea333cc699c4a0bb213b7236"),
    ("maint", "29cf2487459721df9918ef94a950ce91bb1ea6b0"),
    ("maint2", "3967747155a1b036f0169783603f2ccd0af831dd"),
    ("cibot", "ef97a4e3f595a29f4133c3b7d89ff11eb366c902"),
    ("alice", "28448ef052e30736b1ce3343bd9b7e63a21321a9"),
    ("bob", "f96b38a112ed842be18c2bfa52e8efa766a96444"),
];
