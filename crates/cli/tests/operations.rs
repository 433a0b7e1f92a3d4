//! What an admin running the server relies on, with the real binary:
//! `/metrics` scraped and read by Prometheus' own text parser.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{Server, exits_within, http, ok_run, serve, sigterm, spawn_announcing};

fn site(name: &str) -> String {
    support::site(name).0
}

/// Samples of a scrape, parsed by `prometheus_client`'s parser.
fn parse_metrics(text: &str) -> Vec<serde_json::Value> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/operations/parse_metrics.py");
    // Debian's python, where apt puts python3-prometheus-client.
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'prometheus_client'") {
        let msg = "\n*** prometheus_client NOT FOUND (apt-get install python3-prometheus-client): \
                   the scrape is not parsed ***\n";
        assert!(
            std::env::var("PATCHTRACK_REQUIRE_PROMETHEUS").is_err(),
            "{msg}"
        );
        eprintln!("{msg}");
        return Vec::new();
    }
    assert!(
        out.status.success(),
        "the parser refused the scrape: {stderr}\n{text}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn value(samples: &[serde_json::Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s["name"] == name
                && labels
                    .iter()
                    .all(|(k, v)| s["labels"][k].as_str() == Some(v))
        })
        .and_then(|s| s["value"].as_f64())
}

#[test]
fn metrics_count_requests_by_route_mail_by_outcome_and_parse_as_prometheus_text() {
    let db = site("metrics");
    let series = common::testdata().join("patchwork/series/base-cover-letter.mbox");
    let series = series.to_str().unwrap();
    ok_run(
        &db,
        &["parsearchive", "--list-id", "series.example.org", series],
    );
    // Again: three duplicates; and one mail for no project.
    ok_run(
        &db,
        &["parsearchive", "--list-id", "series.example.org", series],
    );
    ok_run(
        &db,
        &["parsearchive", "--list-id", "nobody.example.org", series],
    );

    let server = serve(&db, &[]);
    for path in [
        "/api/1.2/patches/",
        "/api/1.2/patches/",
        "/api/patches/1/",
        "/api/1.3/patches/99999/",
    ] {
        http(&server.addr, "GET", path, &["Accept: application/json"], "");
    }
    http(&server.addr, "GET", "/project/s/list/", &[], "");
    http(&server.addr, "GET", "/no/such/page/", &[], "");
    let (status, text) = http(&server.addr, "GET", "/metrics", &[], "");
    assert_eq!(status, 200, "{text}");
    let samples = parse_metrics(&text);
    if samples.is_empty() {
        return;
    }
    let requests = |route: &str, status: &str| {
        value(
            &samples,
            "patchtrack_http_requests_total",
            &[("route", route), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(
        requests("/api/{version}/patches/", "200"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(requests("/api/patches/{id}/", "200"), Some(1.0), "{text}");
    assert_eq!(
        requests("/api/{version}/patches/{id}/", "404"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests("/project/{linkname}/list/", "200"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(requests("unmatched", "404"), Some(1.0), "{text}");
    // The histogram: cumulative buckets ending in +Inf, equal to the count.
    let inf = value(
        &samples,
        "patchtrack_http_request_duration_seconds_bucket",
        &[("route", "/api/{version}/patches/"), ("le", "+Inf")],
    );
    let count = value(
        &samples,
        "patchtrack_http_request_duration_seconds_count",
        &[("route", "/api/{version}/patches/")],
    );
    assert_eq!((inf, count), (Some(2.0), Some(2.0)), "{text}");

    let mail = |outcome: &str, reason: &str| {
        value(
            &samples,
            "patchtrack_mail_total",
            &[("outcome", outcome), ("reason", reason)],
        )
    };
    assert_eq!(mail("patch", ""), Some(2.0), "{text}");
    assert_eq!(mail("cover", ""), Some(1.0), "{text}");
    assert_eq!(mail("duplicate", ""), Some(3.0), "{text}");
    assert_eq!(mail("dropped", "no project"), Some(3.0), "{text}");
    assert_eq!(value(&samples, "patchtrack_database_up", &[]), Some(1.0));
    assert!(value(&samples, "patchtrack_database_connections_max", &[]).unwrap() >= 1.0);
    let types: Vec<(&str, &str)> = samples
        .iter()
        .map(|s| (s["family"].as_str().unwrap(), s["type"].as_str().unwrap()))
        .collect();
    assert!(types.contains(&("patchtrack_http_request_duration_seconds", "histogram")));
    assert!(types.contains(&("patchtrack_mail", "counter")));
}

#[test]
fn sigterm_lets_the_request_in_progress_finish_ends_event_streams_and_exits_0() {
    use std::io::{BufRead, BufReader, Read};
    let db = site("graceful-serve");
    let mut server = serve(&db, &[]);
    // A follower of the event stream: it never ends on its own.
    let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET /api/1.5/events/stream/ HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut sse = BufReader::new(stream);
    let mut status = String::new();
    sse.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    // A request whose body is still coming when the signal arrives.
    let mut slow = std::net::TcpStream::connect(&server.addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let body = r#"{"state": "accepted"}"#;
    write!(
        slow,
        "PATCH /api/1.2/patches/1/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..5]
    )
    .unwrap();
    // The signal once the server is inside that request (the scrape is
    // the other one in flight).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, metrics) = http(&server.addr, "GET", "/metrics", &[], "");
        let in_flight = metrics
            .lines()
            .find_map(|l| l.strip_prefix("patchtrack_http_requests_in_flight "))
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if in_flight >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    sigterm(&server.child);
    std::thread::sleep(std::time::Duration::from_millis(300));
    slow.write_all(&body.as_bytes()[5..]).unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    // Answered (the API's refusal of an anonymous change), not cut off.
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // The stream was ended by the server.
    let mut rest = Vec::new();
    sse.read_to_end(&mut rest).unwrap();
    let status = exits_within(&mut server.child, 10);
    assert!(status.success(), "{status:?}");
}

/// A serve writing JSON logs, and its log lines.
fn json_serve(db: &str, extra: &[&str]) -> (Server, std::sync::mpsc::Receiver<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patchtrack"));
    command
        .args(["--database", db, "serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("PATCHTRACK_LOG")
        .env("PATCHTRACK_LOG_FORMAT", "json");
    let (child, addr, lines) = spawn_announcing(&mut command, "serving http://", "serve");
    (Server { child, addr }, lines)
}

/// The next `n` request log lines, as JSON.
fn request_logs(rx: &std::sync::mpsc::Receiver<String>, n: usize) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.len() < n && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                assert!(!line.starts_with('{'), "not JSON: {line}");
                continue;
            };
            if json["target"] == "request" {
                seen.push(json);
            }
        }
    }
    seen
}

#[test]
fn request_logs_are_json_lines_carrying_the_request_id_the_client_gets_back() {
    let db = site("json-logs");
    let (server, rx) = json_serve(&db, &[]);
    let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
    write!(
        s,
        "GET /api/1.2/projects/ HTTP/1.1\r\nHost: x\r\nX-Request-Id: proxy-42\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nx-request-id: proxy-42\r\n"),
        "{answer}"
    );
    // Without one, the server makes one up.
    let mut s = std::net::TcpStream::connect(&server.addr).unwrap();
    write!(
        s,
        "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(
        answer.to_ascii_lowercase().contains("\r\nx-request-id: "),
        "{answer}"
    );

    let seen = request_logs(&rx, 2);
    drop(server);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["fields"]["request_id"], "proxy-42", "{seen:?}");
    assert_eq!(seen[0]["fields"]["status"], 200, "{seen:?}");
    assert_eq!(seen[0]["fields"]["path"], "/api/1.2/projects/", "{seen:?}");
    assert_eq!(seen[1]["fields"]["status"], 404, "{seen:?}");
    assert!(seen[0]["level"] == "INFO", "{seen:?}");
}

#[test]
fn backup_copies_a_sqlite_site_while_it_serves_and_refuses_what_it_cannot_do() {
    let db = site("backup");
    let mbox = common::testdata().join("patchwork/series/base-cover-letter.mbox");
    ok_run(
        &db,
        &[
            "parsearchive",
            mbox.to_str().unwrap(),
            "--list-id",
            "series.example.org",
        ],
    );
    let server = serve(&db, &[]);
    let dest = common::scratch_dir().join("backup-copy.db");
    let _ = std::fs::remove_file(&dest);
    let out = ok_run(&db, &["backup", dest.to_str().unwrap()]);
    assert!(out.contains("backup written"), "{out}");
    // The copy is a whole site: it serves the same patches.
    let copy = format!("sqlite://{}", dest.display());
    let (_, original) = http(
        &server.addr,
        "GET",
        "/api/1.2/patches/",
        &["Accept: application/json"],
        "",
    );
    drop(server);
    let server = serve(&copy, &[]);
    let (status, copied) = http(
        &server.addr,
        "GET",
        "/api/1.2/patches/",
        &["Accept: application/json"],
        "",
    );
    assert_eq!(status, 200);
    let names = |body: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&copied), names(&original));
    assert_eq!(names(&copied).len(), 2);

    // Not of a database that is not there (no empty one is made), not
    // over an existing file, and not for PostgreSQL.
    let missing = common::scratch_dir().join("no-such-site.db");
    let none = support::patchtrack(
        &format!("sqlite://{}", missing.display()),
        &[
            "backup",
            common::scratch_dir().join("never.db").to_str().unwrap(),
        ],
    );
    assert!(!none.status.success());
    assert!(!missing.exists(), "an empty database was made");
    let again = support::patchtrack(&db, &["backup", dest.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{again:?}"
    );
    let postgres = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::postgres_url());
    if let Some(url) = postgres {
        ok_run(&url, &["migrate"]);
        let pg = support::patchtrack(&url, &["backup", "/tmp/never.db"]);
        assert!(!pg.status.success());
        assert!(
            String::from_utf8_lossy(&pg.stderr).contains("pg_dump"),
            "{pg:?}"
        );
    }
}

/// Starts `patchtrack ARGS` (a serve) without a database URL from the
/// environment, with `env` added.
fn serve_with(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patchtrack"));
    command
        .args(args)
        .env_remove("PATCHTRACK_DATABASE_URL")
        .envs(env.iter().copied());
    let (child, addr, _) = spawn_announcing(&mut command, "serving http://", "serve");
    Server { child, addr }
}

fn project_url(server: &Server) -> String {
    let (status, body) = http(
        &server.addr,
        "GET",
        "/api/1.2/projects/",
        &["Accept: application/json"],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v[0]["url"].as_str().unwrap().to_string()
}

#[test]
fn the_configuration_file_sets_what_flags_and_environment_leave_unset() {
    let db = site("config");
    let file = common::scratch_dir().join("config-test.toml");
    std::fs::write(
        &file,
        format!(
            "database = \"{db}\"\n\n[serve]\nlisten = \"127.0.0.1:0\"\n\
             base-url = \"https://from-file.example.org\"\nno-cron = true\n\n\
             [lmtp]\nmax-sessions = 4\n"
        ),
    )
    .unwrap();
    let config = file.to_str().unwrap();
    // The file alone: its database, its listen address, its base URL.
    let server = serve_with(&["--config", config, "serve"], &[]);
    assert!(
        project_url(&server).starts_with("https://from-file.example.org/api/1.2/projects/"),
        "{}",
        project_url(&server)
    );
    drop(server);
    // The environment beats the file, the command line beats both.
    let server = serve_with(
        &["serve"],
        &[
            ("PATCHTRACK_CONFIG", config),
            ("PATCHTRACK_BASE_URL", "https://from-env.example.org"),
        ],
    );
    assert!(project_url(&server).starts_with("https://from-env.example.org/"));
    drop(server);
    let server = serve_with(
        &[
            "--config",
            config,
            "serve",
            "--base-url",
            "https://from-flag.example.org",
        ],
        &[("PATCHTRACK_BASE_URL", "https://from-env.example.org")],
    );
    assert!(project_url(&server).starts_with("https://from-flag.example.org/"));
    drop(server);

    // `config check` says where each value came from, without secrets.
    let out = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args(["--config", config, "config", "check"])
        .env_remove("PATCHTRACK_DATABASE_URL")
        .env("PATCHTRACK_SMTP_PASSWORD", "hunter2")
        .env("PATCHTRACK_LISTEN", "127.0.0.1:9999")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("base-url = \"https://from-file.example.org\"    # file"),
        "{text}"
    );
    assert!(
        text.contains("listen = \"127.0.0.1:9999\"    # environment PATCHTRACK_LISTEN"),
        "{text}"
    );
    assert!(text.contains("max-sessions = 4    # file"), "{text}");
    assert!(text.contains("header-timeout = 10    # default"), "{text}");
    assert!(
        text.contains("PATCHTRACK_SMTP_PASSWORD: (set)") && !text.contains("hunter2"),
        "{text}"
    );

    // A key that names nothing is refused, and parsemail then asks the
    // MTA to keep the mail (75) instead of bouncing it.
    std::fs::write(&file, "[serve]\nlisten-adress = \"127.0.0.1:1\"\n").unwrap();
    let check = support::patchtrack(&db, &["--config", config, "config", "check"]);
    assert!(!check.status.success());
    let why = String::from_utf8_lossy(&check.stderr);
    assert!(
        why.contains("[serve] has no option `listen-adress`"),
        "{why}"
    );
    let mut parsemail = Command::new(env!("CARGO_BIN_EXE_patchtrack"))
        .args(["--database", &db, "--config", config, "parsemail"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(parsemail.stdin.take());
    assert_eq!(parsemail.wait().unwrap().code(), Some(75));
    // A value the option refuses is named with the file.
    std::fs::write(&file, "[serve]\nheader-timeout = \"soon\"\n").unwrap();
    let bad = support::patchtrack(&db, &["--config", config, "serve"]);
    assert!(!bad.status.success());
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(
        why.contains("configuration file") && why.contains("soon"),
        "{why}"
    );
}

#[test]
fn only_a_trusted_proxy_names_the_client_in_x_forwarded_for() {
    let db = site("proxies");
    let ask = |addr: &str| {
        http(
            addr,
            "GET",
            "/api/1.2/projects/",
            &["X-Forwarded-For: 203.0.113.9"],
            "",
        );
    };
    // Loopback is trusted by default: the proxy's client is logged.
    let (server, rx) = json_serve(&db, &[]);
    ask(&server.addr);
    let seen = request_logs(&rx, 1);
    drop(server);
    assert_eq!(seen[0]["fields"]["client"], "203.0.113.9", "{seen:?}");
    // Trusting another proxy only: the header of a loopback peer is ignored.
    let (server, rx) = json_serve(&db, &["--trusted-proxy", "10.0.0.0/8"]);
    ask(&server.addr);
    let seen = request_logs(&rx, 1);
    drop(server);
    assert_eq!(seen[0]["fields"]["client"], "127.0.0.1", "{seen:?}");
}
