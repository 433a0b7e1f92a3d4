//! `patchtrack serve` against slow and greedy clients, with real sockets:
//! hundreds of half-sent requests, a body shorter than its
//! `Content-Length`, connections that send nothing.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;

use std::time::{Duration, Instant};
use support::Server;

/// A `patchtrack serve` with at most 256 file descriptors, as a small
/// server has.
fn serve(name: &str, extra: &str) -> Server {
    let db = common::scratch_dir().join(format!("{name}.db"));
    let _ = std::fs::remove_file(&db);
    let script = format!(
        "ulimit -n 256 && exec {} --database sqlite://{} serve --listen 127.0.0.1:0 {extra}",
        env!("CARGO_BIN_EXE_patchtrack"),
        db.display()
    );
    let mut command = Command::new("sh");
    command.args(["-c", &script]);
    let (child, addr, _) = support::spawn_announcing(&mut command, "serving http://", "serve");
    Server { child, addr }
}

/// Sends a whole request and reads the status line, with a deadline.
fn status_of(addr: &str, request: &str, within: Duration) -> Result<String, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(within)).unwrap();
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| format!("{e} after {:?}", started.elapsed()))?;
    if started.elapsed() > within {
        return Err(format!("answered after {:?}", started.elapsed()));
    }
    Ok(line.trim_end().to_string())
}

const GET: &str = "GET /api/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn half_sent_requests_do_not_lock_others_out() {
    let server = serve("slowloris", "");
    let mut held = Vec::new();
    for _ in 0..400 {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        s.write_all(b"GET /api/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        held.push(s);
    }
    for attempt in 0..5 {
        let status = status_of(&server.addr, GET, Duration::from_secs(1));
        assert_eq!(
            status.as_deref(),
            Ok("HTTP/1.1 200 OK"),
            "attempt {attempt} with 400 half-open connections"
        );
    }
    drop(held);
}

#[test]
fn a_body_shorter_than_its_length_times_out() {
    let server = serve("short-body", "--request-timeout 1");
    let request = "POST /api/bundles/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Content-Length: 1000\r\nConnection: close\r\n\r\n{\"name\":";
    let status = status_of(&server.addr, request, Duration::from_secs(5));
    assert_eq!(status.as_deref(), Ok("HTTP/1.1 408 Request Timeout"));
    // Counted, though cut off outside the router.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut scrape = String::new();
    Read::read_to_string(&mut s, &mut scrape).unwrap();
    assert!(
        scrape.contains("\npatchtrack_http_request_timeouts_total 1\n"),
        "{scrape}"
    );
}

#[test]
fn silent_and_idle_connections_are_closed() {
    let server = serve("idle", "--header-timeout 1 --idle-timeout 1");
    // Headers never finished: closed after the header timeout.
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /api/ HTTP/1.1\r\n").unwrap();
    // Nothing sent at all.
    let silent = TcpStream::connect(&server.addr).unwrap();
    // A finished request on a kept-alive connection.
    let mut kept = TcpStream::connect(&server.addr).unwrap();
    kept.write_all(b"GET /api/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    for (what, mut s) in [("slow", slow), ("silent", silent), ("kept", kept)] {
        let started = Instant::now();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut all = Vec::new();
        let read = s.read_to_end(&mut all);
        assert!(read.is_ok(), "{what}: {read:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what} closed after {:?}",
            started.elapsed()
        );
        if what == "kept" {
            assert!(all.starts_with(b"HTTP/1.1 200 OK"), "{what}");
        }
    }
}
