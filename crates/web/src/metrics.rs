//! `GET /metrics`: the server's figures in Prometheus' text format
//! (version 0.0.4). Requests are counted by route (the route's pattern,
//! never the raw path, so that the labels stay few whatever clients ask),
//! method and status, with a latency histogram per route; the mail and
//! queue figures come from the database, since mail is taken in by other
//! processes (parsemail, lmtp, the importers).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{MatchedPath, State};
use axum::response::{IntoResponse, Response};

use crate::App;

/// Upper bounds of the latency buckets, in seconds: from a cached API
/// page (under a millisecond) to a large mbox download.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route of a request as the metrics name it, set on the response by
/// a handler that routes by itself (the REST API).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or under each bound (not cumulative yet).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// The request figures of this process.
#[derive(Debug)]
pub struct Metrics {
    started: SystemTime,
    in_flight: AtomicI64,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            started: SystemTime::now(),
            in_flight: AtomicI64::new(0),
            requests: Mutex::default(),
            latency: Mutex::default(),
        }
    }
}

impl Metrics {
    fn record(&self, route: &str, method: &str, status: u16, took: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            latency
                .entry(route.to_string())
                .or_default()
                .observe(took.as_secs_f64());
        }
    }
}

/// The id of a request: the one a proxy in front gave it (`X-Request-Id`,
/// when it is a short token), else a new one unique to this process run,
/// so that a log line, a proxy's log and a user's report can be matched.
fn request_id(headers: &axum::http::HeaderMap) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    static RUN: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let given = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    if let Some(id) = given {
        return id.to_string();
    }
    let run = RUN.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        std::process::id().rotate_left(16) ^ nanos
    });
    format!("{run:08x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Counts and logs every request (one line at `info`, target `request`,
/// with its id, which the response carries as `X-Request-Id`): the
/// middleware around the whole router.
pub async fn track(
    State(app): State<std::sync::Arc<App>>,
    matched: Option<MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().as_str().to_string();
    let id = request_id(request.headers());
    let path = request.uri().path().to_string();
    let client = request
        .extensions()
        .get::<crate::server::ClientAddr>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let started = Instant::now();
    // Left by drop: a request cut off by the server's timeout is dropped
    // here, not finished.
    let in_flight = InFlight::enter(&app.metrics);
    let mut response = next.run(request).await;
    drop(in_flight);
    let took = started.elapsed();
    tracing::info!(
        target: "request",
        request_id = %id,
        %client,
        method = %method,
        %path,
        status = response.status().as_u16(),
        ms = u64::try_from(took.as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0,
        "{method} {path} {}",
        response.status().as_u16()
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let route = match (response.extensions().get::<RouteLabel>(), &matched) {
        (Some(label), _) => label.0,
        (None, Some(path)) => path.as_str(),
        // No route matched: one label for every unknown path.
        (None, None) => "unmatched",
    };
    // Methods outside the standard set are counted together, for the
    // same reason.
    let method = match method.as_str() {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "other".to_string(),
    };
    app.metrics.record(
        route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Counts a request in progress while alive.
struct InFlight<'a>(&'a Metrics);

impl InFlight<'_> {
    fn enter(metrics: &Metrics) -> InFlight<'_> {
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How long a scrape waits for the database: a database that is away is
/// reported (`patchtrack_database_up 0`) within a scraper's timeout.
const DATABASE_WAIT: Duration = Duration::from_secs(2);

/// `GET /metrics`.
pub async fn serve(State(app): State<std::sync::Arc<App>>) -> Response {
    let mut out = String::new();
    render_requests(&app.metrics, &mut out);
    // The database's figures; a database that is away leaves them out
    // and says so, the process's own figures are still worth scraping.
    let figures = tokio::time::timeout(DATABASE_WAIT, async {
        (
            app.store.mail_counts().await,
            app.store.queue_lengths().await,
        )
    })
    .await;
    let up = match figures {
        Ok((Ok(mail), Ok(queue))) => {
            render_mail(&mail, &mut out);
            render_queue(&queue, &mut out);
            1
        }
        _ => 0,
    };
    family(
        &mut out,
        "patchtrack_database_up",
        "gauge",
        "Whether the database answered this scrape.",
    );
    let _ = writeln!(out, "patchtrack_database_up {up}");
    let pool = app.store.pool_state();
    family(
        &mut out,
        "patchtrack_database_connections",
        "gauge",
        "Database connections of this process, by state.",
    );
    let _ = writeln!(
        out,
        "patchtrack_database_connections{{state=\"idle\"}} {}",
        pool.idle
    );
    let _ = writeln!(
        out,
        "patchtrack_database_connections{{state=\"busy\"}} {}",
        pool.open.saturating_sub(pool.idle)
    );
    family(
        &mut out,
        "patchtrack_database_connections_max",
        "gauge",
        "The most database connections this process opens.",
    );
    let _ = writeln!(out, "patchtrack_database_connections_max {}", pool.max);
    family(
        &mut out,
        "patchtrack_event_stream_subscribers",
        "gauge",
        "Clients following /api/1.5/events/stream/.",
    );
    let _ = writeln!(
        out,
        "patchtrack_event_stream_subscribers {}",
        app.events.subscribers()
    );
    family(
        &mut out,
        "patchtrack_build_info",
        "gauge",
        "The running version.",
    );
    let _ = writeln!(
        out,
        "patchtrack_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    family(
        &mut out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch in seconds.",
    );
    let started = app
        .metrics
        .started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let _ = writeln!(out, "process_start_time_seconds {started}");
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_requests(metrics: &Metrics, out: &mut String) {
    family(
        out,
        "patchtrack_http_requests_in_flight",
        "gauge",
        "Requests being answered.",
    );
    let _ = writeln!(
        out,
        "patchtrack_http_requests_in_flight {}",
        metrics.in_flight.load(Ordering::Relaxed)
    );
    family(
        out,
        "patchtrack_http_requests_total",
        "counter",
        "Requests answered, by route, method and status.",
    );
    if let Ok(requests) = metrics.requests.lock() {
        for ((route, method, status), n) in requests.iter() {
            let _ = writeln!(
                out,
                "patchtrack_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
    }
    family(
        out,
        "patchtrack_http_request_timeouts_total",
        "counter",
        "Requests cut off by the request timeout (answered 408; not in the counts above).",
    );
    let _ = writeln!(
        out,
        "patchtrack_http_request_timeouts_total {}",
        crate::server::TIMED_OUT.load(Ordering::Relaxed)
    );
    family(
        out,
        "patchtrack_http_request_duration_seconds",
        "histogram",
        "Time from a request to its answer's headers, by route.",
    );
    if let Ok(latency) = metrics.latency.lock() {
        for (route, h) in latency.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "patchtrack_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "patchtrack_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "patchtrack_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "patchtrack_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
    }
}

fn render_mail(counts: &[patchtrack_store::MailCount], out: &mut String) {
    family(
        out,
        "patchtrack_mail_total",
        "counter",
        "Mail taken in by any door, by what became of it (and why a drop).",
    );
    for c in counts {
        let _ = writeln!(
            out,
            "patchtrack_mail_total{{outcome=\"{}\",reason=\"{}\"}} {}",
            escape(&c.outcome),
            escape(&c.reason),
            c.count
        );
    }
}

fn render_queue(queue: &[patchtrack_store::QueueLength], out: &mut String) {
    family(
        out,
        "patchtrack_jobs",
        "gauge",
        "Background jobs (mail out, webhooks, notifications) waiting or given up, by kind.",
    );
    for q in queue {
        let _ = writeln!(
            out,
            "patchtrack_jobs{{kind=\"{}\",status=\"{}\"}} {}",
            escape(&q.kind),
            escape(&q.status),
            q.count
        );
    }
}
