//! The HTTP/1.1 server loop, with the limits that keep one client from
//! taking the site from the others.
//!
//! Without them, 370 half-sent requests used the 256 file descriptors of
//! a small server and locked everyone out, and a short body under a long
//! `Content-Length` waited forever. Now:
//! - headers must arrive within [`Limits::header_timeout`];
//! - a request, body included, must be answered within
//!   [`Limits::request_timeout`] (else 408);
//! - a connection that carries no request and moves no byte for
//!   [`Limits::idle_timeout`] is closed;
//! - at most [`Limits::max_connections`] are open; at the cap, the oldest
//!   connection with no request in progress (a slow client sending its
//!   headers, or an idle keep-alive) is closed to make room, so a client
//!   that sends a whole request is always served.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

/// How long and how many: the server's defences against slow and greedy
/// clients. Every field is a `patchtrack serve` option.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time to send a request's headers.
    pub header_timeout: Duration,
    /// Time from a request's headers to its response (the body is read in
    /// this time).
    pub request_timeout: Duration,
    /// Time a connection may sit with no request and no traffic.
    pub idle_timeout: Duration,
    /// Connections open at once (keep it below the file descriptor limit).
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the
    /// login throttle and the logs).
    pub trusted_proxies: Arc<[crate::proxy::Cidr]>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            trusted_proxies: Arc::from(Vec::new()),
        }
    }
}

/// The address a request came from, for limits kept per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// What the loop knows of an open connection.
struct Open {
    opened: Instant,
    in_flight: Arc<AtomicUsize>,
    close: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Default)]
struct Connections {
    next: u64,
    open: HashMap<u64, Open>,
}

impl Connections {
    /// Closes the oldest connection with no request in progress; false
    /// when every one is busy.
    fn shed_one(&mut self) -> bool {
        let oldest = self
            .open
            .iter()
            .filter(|(_, c)| c.in_flight.load(Ordering::Relaxed) == 0 && c.close.is_some())
            .min_by_key(|(_, c)| c.opened)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| self.open.get_mut(&id)) {
            Some(c) => {
                if let Some(close) = c.close.take() {
                    let _ = close.send(());
                }
                true
            }
            None => false,
        }
    }

    /// Open connections not yet told to close.
    fn live(&self) -> usize {
        self.open.values().filter(|c| c.close.is_some()).count()
    }
}

/// Serves `router` on `listener` until the process is stopped.
///
/// HTTP/1.1 with header names in title case (`Link`, not `link`):
/// pwclient looks the pagination header up case-sensitively, so hyper's
/// default lower-casing would break it.
pub async fn run(
    router: Router,
    listener: tokio::net::TcpListener,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Mutex::new(Connections::default()));
    let (draining, drain) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (close_tx, close_rx) = tokio::sync::oneshot::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let id = {
            let mut c = connections.lock().unwrap_or_else(|p| p.into_inner());
            while c.live() >= limits.max_connections.max(1) {
                if !c.shed_one() {
                    break;
                }
            }
            if c.live() >= limits.max_connections.max(1) {
                // Every connection is busy: this one waits for none.
                tracing::warn!(%peer, "connection refused: every connection is busy");
                continue;
            }
            c.next += 1;
            let id = c.next;
            c.open.insert(
                id,
                Open {
                    opened: Instant::now(),
                    in_flight: in_flight.clone(),
                    close: Some(close_tx),
                },
            );
            id
        };
        let router = router.clone();
        let connections = connections.clone();
        let drain = drain.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            connection(router, stream, peer, limits, in_flight, close_rx, drain).await;
            connections
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .open
                .remove(&id);
        });
    }
    // Stopping: no new connection; each open one finishes the request it
    // is answering and closes (an idle keep-alive closes at once), within
    // the grace period.
    drop(listener);
    let _ = draining.send(true);
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    loop {
        let open = connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .open
            .len();
        if open == 0 {
            tracing::info!("every connection closed");
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(open, "stopping with connections still open");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Requests answered 408 by the request timeout, for `/metrics`: they
/// are cut off outside the router, where requests are counted.
pub static TIMED_OUT: AtomicU64 = AtomicU64::new(0);

/// How long open requests may take to finish once the server stops.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// One connection, until the client leaves, a limit is reached or the
/// loop closes it.
async fn connection(
    router: Router,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    limits: Limits,
    in_flight: Arc<AtomicUsize>,
    mut close: tokio::sync::oneshot::Receiver<()>,
    mut drain: tokio::sync::watch::Receiver<bool>,
) {
    let started = Instant::now();
    let last_active = Arc::new(AtomicU64::new(0));
    let io = hyper_util::rt::TokioIo::new(Tracked {
        inner: stream,
        started,
        last_active: last_active.clone(),
    });
    let busy = in_flight.clone();
    let trusted = limits.trusted_proxies.clone();
    let request_timeout = limits.request_timeout;
    let service = tower::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            let router = router.clone();
            let guard = InFlight::enter(&busy);
            let forwarded: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let client = crate::proxy::client(peer.ip(), &forwarded, &trusted);
            // A request id is a proxy's to give; from anyone else it is
            // replaced by one of ours.
            if !crate::proxy::trusted(peer.ip(), &trusted) {
                request.headers_mut().remove("x-request-id");
            }
            request
                .extensions_mut()
                .insert(ClientAddr(SocketAddr::new(client, peer.port())));
            let api = request.uri().path().starts_with("/api");
            async move {
                let answer = tokio::time::timeout(request_timeout, router.oneshot(request)).await;
                drop(guard);
                Ok::<Response, std::convert::Infallible>(match answer {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => {
                        TIMED_OUT.fetch_add(1, Ordering::Relaxed);
                        timed_out(api)
                    }
                })
            }
        },
    );
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .title_case_headers(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(io, hyper_util::service::TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            _ = drain.wait_for(|d| *d), if !draining => {
                // Finish the request in progress, then close.
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = &mut close => {
                tracing::debug!(%peer, "connection closed to make room");
                return;
            }
            _ = idle(started, &last_active, &in_flight, limits.idle_timeout) => {
                tracing::debug!(%peer, "idle connection closed");
                return;
            }
        }
    }
}

/// Resolves when the connection has had no request in progress and no
/// traffic for `limit`.
async fn idle(started: Instant, last_active: &AtomicU64, in_flight: &AtomicUsize, limit: Duration) {
    loop {
        let last = started + Duration::from_micros(last_active.load(Ordering::Relaxed));
        let quiet = last.elapsed();
        if quiet >= limit && in_flight.load(Ordering::Relaxed) == 0 {
            return;
        }
        tokio::time::sleep(limit.saturating_sub(quiet).max(Duration::from_millis(100))).await;
    }
}

/// 408, in JSON for the API.
fn timed_out(api: bool) -> Response {
    let status = axum::http::StatusCode::REQUEST_TIMEOUT;
    if api {
        let body = "{\"detail\":\"The request took too long.\"}";
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    } else {
        (status, "The request took too long.\n").into_response()
    }
}

/// Counts a request in progress on its connection while alive.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that notes when bytes last moved, for the idle limit.
struct Tracked {
    inner: tokio::net::TcpStream,
    started: Instant,
    last_active: Arc<AtomicU64>,
}

impl Tracked {
    fn touch(&self) {
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_active.store(micros, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
