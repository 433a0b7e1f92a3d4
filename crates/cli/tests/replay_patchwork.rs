//! The move from Patchwork, end to end: `patchtrack import-patchwork` of
//! the migration fixture (a site built by upstream Patchwork itself, as its
//! SQLite file and as its PostgreSQL dump, `testdata/migration/`), into
//! SQLite and into PostgreSQL, then `patchtrack serve` over each result
//! answers the 4,624 requests upstream's recording holds.
//!
//! Every response must equal upstream's (status, the recorded headers,
//! body, ids and URLs included) but for the kinds of difference the table
//! in `docs/compatibility.md` declares, each with the number of responses
//! it touches: an undeclared difference fails, and so does a count that
//! is not the documented one, so the document cannot drift from what the
//! server does.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use support::Server;

use serde_json::Value;

/// The host upstream was recorded under: every URL in the bodies has it.
const HOST: &str = "127.0.0.1:8000";

/// Which recording a replay compares with: upstream serving its SQLite
/// build, or its PostgreSQL build (the same requests; the activity of
/// each build happened at its own time).
#[derive(Clone, Copy)]
enum Recording {
    Sqlite,
    Postgres,
}

impl Recording {
    fn file(self) -> &'static str {
        match self {
            Recording::Sqlite => "responses.jsonl.xz",
            Recording::Postgres => "responses.pg.jsonl.xz",
        }
    }

    /// The column of the declared-differences table.
    fn column(self) -> usize {
        match self {
            Recording::Sqlite => 0,
            Recording::Postgres => 1,
        }
    }
}

fn unxz(name: &str) -> Vec<u8> {
    let path = common::testdata().join("migration").join(name);
    let mut data = Vec::new();
    liblzma::read::XzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    data
}

/// `patchtrack --database DB ARGS`, which must succeed; its stderr.
fn patchtrack(db: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "patchtrack {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout + &stderr
}

/// The fixture's SQLite file, as a source URL.
fn sqlite_source() -> String {
    let path = common::scratch_dir().join("replay-patchwork-site.sqlite3");
    std::fs::write(&path, unxz("patchwork-site.sqlite3.xz")).unwrap();
    format!("sqlite://{}", path.display())
}

/// The fixture's PostgreSQL dump loaded with `psql` into a new database
/// of the test cluster, as an operator restores a backup; its URL.
async fn postgres_source() -> Option<String> {
    let url = common::postgres_url().await?;
    // pg_dump 15.14 and later frame the dump with `\restrict KEY` and
    // `\unrestrict KEY`, which older psql refuses.
    let dump = String::from_utf8(unxz("patchwork-site.pg.sql.xz")).unwrap();
    let sql: String = dump
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .flat_map(|l| [l, "\n"])
        .collect();
    let psql = common::find_pg_bin("psql").expect("psql beside the PostgreSQL server");
    let mut child = Command::new(psql)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "psql could not load the dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(url)
}

fn sqlite_target(name: &str) -> String {
    let path = common::scratch_dir().join(format!("replay-{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
}

fn serve(db: &str) -> Server {
    support::serve(db, &["--no-cron"])
}

/// One answer, as the recording keeps it.
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// The headers the recording kept.
const KEPT: [&str; 4] = ["content-type", "link", "location", "content-disposition"];

/// A GET over a fresh connection, with the recording's Host.
fn get(addr: &str, path: &str, auth: Option<&str>) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n");
    if let Some(user) = auth {
        let token = common::MIGRATION_TOKENS
            .iter()
            .find(|(u, _)| *u == user)
            .unwrap()
            .1;
        req.push_str(&format!("Authorization: Token {token}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = BTreeMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        rest = dechunk(&rest);
    }
    headers.retain(|k, _| KEPT.contains(&k.as_str()));
    Answer {
        status,
        headers,
        body: rest,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&data[..eol]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

/// What sets a response apart from upstream's, when it is declared.
fn classify(recorded: &Value, got: &Answer) -> Result<Option<&'static str>, String> {
    let status = recorded["status"].as_u64().unwrap();
    if u64::from(got.status) != status {
        return Err(format!("status {} (upstream {status})", got.status));
    }
    let mut want_headers = BTreeMap::new();
    for (k, v) in recorded["headers"].as_object().unwrap() {
        want_headers.insert(k.to_ascii_lowercase(), v.as_str().unwrap().to_string());
    }
    if want_headers != got.headers {
        return Err(format!(
            "headers {:?} (upstream {want_headers:?})",
            got.headers
        ));
    }
    let want = &recorded["body"];
    if want.is_object() || want.is_array() {
        let body: Value =
            serde_json::from_slice(&got.body).map_err(|e| format!("body is not JSON ({e})"))?;
        if &body == want {
            return Ok(None);
        }
        // Upstream reads a project's maintainers without ORDER BY: their
        // order is the database's, so compare them as sets.
        if sorted_maintainers(&body) == sorted_maintainers(want) {
            return Ok(Some("maintainers-order"));
        }
        return Err(format!(
            "body differs: {}",
            first_difference(want, &body, "")
        ));
    }
    let text = String::from_utf8_lossy(&got.body);
    if text == want.as_str().unwrap() {
        return Ok(None);
    }
    let html = want_headers
        .get("content-type")
        .is_some_and(|t| t.starts_with("text/html"));
    if status == 404 && html {
        return Ok(Some("html-404"));
    }
    Err(format!(
        "text differs at byte {}",
        text.bytes()
            .zip(want.as_str().unwrap().bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(text.len().min(want.as_str().unwrap().len()))
    ))
}

/// `v` with every `maintainers` list sorted by id.
fn sorted_maintainers(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut v = sorted_maintainers(v);
                    if let (true, Value::Array(a)) = (k == "maintainers", &mut v) {
                        a.sort_by_key(|m| m["id"].as_i64());
                    }
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(sorted_maintainers).collect()),
        other => other.clone(),
    }
}

fn first_difference(want: &Value, got: &Value, path: &str) -> String {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    None => return format!("{path}.{k} missing"),
                    Some(w) if w != v => return first_difference(v, w, &format!("{path}.{k}")),
                    Some(_) => {}
                }
            }
            match b.keys().find(|k| !a.contains_key(*k)) {
                Some(k) => format!("{path}.{k} is extra"),
                None => format!("{path}: ?"),
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                if v != w {
                    return first_difference(v, w, &format!("{path}[{i}]"));
                }
            }
            format!("{path}: ?")
        }
        _ => format!("{path}: {got} (upstream {want})"),
    }
}

/// The kinds and counts `docs/compatibility.md` declares, read from its
/// table between the `replay-differences` markers.
fn declared() -> BTreeMap<String, [u64; 2]> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md");
    let doc = std::fs::read_to_string(doc).unwrap();
    let table = doc
        .split("<!-- replay-differences -->")
        .nth(1)
        .expect("compatibility.md has the replay-differences table");
    let mut out = BTreeMap::new();
    for row in table.lines().skip_while(|l| l.trim().is_empty()) {
        if !row.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let kind = cells[0].trim_matches('`');
        let (Ok(a), Ok(b)) = (cells[1].parse(), cells[2].parse()) else {
            continue; // the header and the rule
        };
        out.insert(kind.to_string(), [a, b]);
    }
    out
}

/// Replays the recording against `addr`; the count of each declared kind,
/// and the undeclared differences.
fn replay(addr: &str, recording: Recording) -> (BTreeMap<String, u64>, Vec<String>, usize) {
    let data = String::from_utf8(unxz(recording.file())).unwrap();
    let mut kinds = BTreeMap::new();
    let mut undeclared = Vec::new();
    let mut total = 0;
    for line in data.lines() {
        let recorded: Value = serde_json::from_str(line).unwrap();
        total += 1;
        assert_eq!(recorded["method"], "GET");
        let path = recorded["path"].as_str().unwrap();
        let auth = recorded["auth"].as_str();
        let got = get(addr, path, auth);
        match classify(&recorded, &got) {
            Ok(None) => {}
            Ok(Some(kind)) => *kinds.entry(kind.to_string()).or_insert(0) += 1,
            Err(why) => undeclared.push(format!("GET {path} as {auth:?}: {why}")),
        }
    }
    (kinds, undeclared, total)
}

/// A poller's `?since=` is the date it last read, in the site's zone: the
/// newest event must come back for its own date (read as UTC, that date
/// would lie 10 or 11 hours after it, and nothing would).
fn since_reads_the_site_zone(addr: &str, label: &str) {
    let json = |path: &str| -> Value {
        let got = get(addr, path, None);
        assert_eq!(got.status, 200, "{label}: GET {path}");
        serde_json::from_slice(&got.body).unwrap()
    };
    let newest = json("/api/1.4/events/?per_page=1");
    let (id, date) = (&newest[0]["id"], newest[0]["date"].as_str().unwrap());
    let since = json(&format!("/api/1.4/events/?since={date}"));
    let since = since.as_array().unwrap();
    assert!(
        since.iter().any(|e| &e["id"] == id),
        "{label}: ?since={date} leaves out the event of that date"
    );
    assert!(
        since.iter().all(|e| e["date"].as_str().unwrap() >= date),
        "{label}: ?since={date} lists older events"
    );
}

/// Imports `source` into `target`, serves it, replays, and checks the
/// differences against the declared ones.
fn import_serve_replay(source: &str, target: &str, recording: Recording, label: &str) {
    let summary = patchtrack(target, &["import-patchwork", "--from", source, "--verify"]);
    assert!(summary.contains("0 skipped"), "{label}: {summary}");
    let server = serve(target);
    let (kinds, undeclared, total) = replay(&server.addr, recording);
    eprintln!("{label}: {total} responses replayed, declared differences {kinds:?}");
    assert_eq!(total, 4624, "{label}: the recording is complete");
    assert!(
        undeclared.is_empty(),
        "{label}: {} undeclared differences, the first: \n{}",
        undeclared.len(),
        undeclared
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    since_reads_the_site_zone(&server.addr, label);
    let want: BTreeMap<String, u64> = declared()
        .into_iter()
        .map(|(k, counts)| (k, counts[recording.column()]))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        kinds, want,
        "{label}: the differences are not the ones docs/compatibility.md counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_sqlite_site_answers_as_upstream() {
    let source = sqlite_source();
    import_serve_replay(
        &source,
        &sqlite_target("from-sqlite"),
        Recording::Sqlite,
        "SQLite site into SQLite",
    );
    if let Some(target) = common::postgres_url().await {
        import_serve_replay(
            &source,
            &target,
            Recording::Sqlite,
            "SQLite site into PostgreSQL",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_postgres_site_answers_as_upstream() {
    let Some(source) = postgres_source().await else {
        return; // common says loudly why, and fails when it is required
    };
    import_serve_replay(
        &source,
        &sqlite_target("from-postgres"),
        Recording::Postgres,
        "PostgreSQL site into SQLite",
    );
    let target = common::postgres_url().await.unwrap();
    import_serve_replay(
        &source,
        &target,
        Recording::Postgres,
        "PostgreSQL site into PostgreSQL",
    );
}
