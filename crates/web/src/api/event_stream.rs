//! `GET /api/1.5/events/stream/`: the event list as Server-Sent Events,
//! for bots that would rather be told than poll.
//!
//! One [`Hub`] per process watches the event table: on PostgreSQL it
//! wakes on the `patchtrack_event` notification every writer sends (so a
//! mail stored by another process or another node arrives at once), and
//! it also polls by id, which is all SQLite has. Each new batch is read
//! once and broadcast; a subscriber filters it in memory and renders what
//! it wants. An idle subscriber costs one task and a small buffer.
//!
//! The hub also wakes the process's job worker when new events appear,
//! so that their webhook deliveries go out at once, wherever the events
//! were written.
//!
//! A subscriber resumes with `Last-Event-ID` (or `?since_id=`): it is sent
//! the stored events after that id first, then the live ones, with no
//! event twice and none skipped (event ids become visible in commit
//! order: see migration 0018).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use patchtrack_store::{Event, EventFilter, Store};
use tokio::sync::{broadcast, mpsc};

use super::embed::Embed;
use super::{Ctx, Reply};
use crate::App;
use crate::error::ApiError;
use crate::json::Json;

/// How often the hub looks for new events when nothing woke it.
const POLL: Duration = Duration::from_millis(200);
/// Events read from the database at once.
const BATCH: usize = 500;
/// A comment line this often keeps proxies and the idle limit from
/// closing a quiet stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// New events as the hub read them: those after event `after`.
#[derive(Debug)]
struct Batch {
    after: i64,
    events: Vec<Event>,
}

/// The process's watcher of new events.
#[derive(Debug)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Batch>>,
    started: std::sync::Once,
    subscribers: std::sync::atomic::AtomicUsize,
    /// Set when the server stops: every stream ends, and its client
    /// reconnects (to another node, or to this one restarted) with its
    /// Last-Event-ID.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            sender: broadcast::channel(256).0,
            started: std::sync::Once::new(),
            subscribers: std::sync::atomic::AtomicUsize::new(0),
            closing: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Hub {
    /// Ends every stream, now and to come: the server is stopping and
    /// waits for its responses to finish.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts watching (once per process): `serve` does it at start, so
    /// that the job worker is woken for the webhook deliveries of mail
    /// stored by other processes; otherwise the first subscriber does.
    pub fn start(&self, store: &Store) {
        self.started.call_once(|| {
            let sender = self.sender.clone();
            let store = store.clone();
            tokio::spawn(watch(store, sender));
        });
    }

    fn subscribe(&self, store: &Store) -> broadcast::Receiver<Arc<Batch>> {
        let receiver = self.sender.subscribe();
        self.start(store);
        receiver
    }
}

/// The hub's loop: reads the events after the last one it saw whenever
/// it is woken or the poll interval passes, and broadcasts them.
async fn watch(store: Store, sender: broadcast::Sender<Arc<Batch>>) {
    let mut last = loop {
        match store.last_event_id().await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "event stream: cannot read the events: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut listener = None;
    let mut next_listen_attempt = tokio::time::Instant::now();
    let all = EventFilter::default();
    loop {
        if listener.is_none() && tokio::time::Instant::now() >= next_listen_attempt {
            match store.event_listener().await {
                Ok(l) => listener = l,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: LISTEN failed, polling: {e}");
                    next_listen_attempt = tokio::time::Instant::now() + Duration::from_secs(10);
                }
            }
        }
        let full = match store.events_after(&all, last, BATCH).await {
            Ok(batch) => {
                let full = batch.len() == BATCH;
                if let Some(e) = batch.last() {
                    let after = last;
                    last = e.id;
                    // Their webhook deliveries were queued with them: the
                    // worker of this process need not wait for its poll.
                    store.wake_workers();
                    // No receiver is not an error: nobody is listening.
                    let _ = sender.send(Arc::new(Batch {
                        after,
                        events: batch,
                    }));
                }
                full
            }
            Err(e) => {
                tracing::warn!(error = %e, "event stream: cannot read the events: {e}");
                false
            }
        };
        if full {
            continue;
        }
        match listener.as_mut() {
            Some(l) => match tokio::time::timeout(POLL * 5, l.next()).await {
                Ok(Ok(())) | Err(_) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "event stream: LISTEN connection lost: {e}");
                    listener = None;
                }
            },
            None => tokio::time::sleep(POLL).await,
        }
    }
}

/// Whether a broadcast event passes the subscriber's filter (resolved to
/// ids when it connected).
struct Wanted {
    projects: Vec<i64>,
    filter: EventFilter,
    actor: Option<i64>,
}

impl Wanted {
    fn admits(&self, ev: &Event) -> bool {
        let f = &self.filter;
        (self.projects.is_empty() || self.projects.contains(&ev.project_id))
            && f.category.as_deref().is_none_or(|c| c == ev.category)
            && (f.series.is_empty() || ev.series.as_ref().is_some_and(|s| f.series.contains(&s.id)))
            && (f.patches.is_empty()
                || ev.patch.as_ref().is_some_and(|p| f.patches.contains(&p.id)))
            && (f.covers.is_empty() || ev.cover.as_ref().is_some_and(|c| f.covers.contains(&c.id)))
            && self
                .actor
                .is_none_or(|a| ev.actor.as_ref().is_some_and(|u| u.id == a))
    }
}

/// A response body fed by a channel.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// One event as an SSE message.
fn message(e: &Embed<'_>, ev: &Event) -> Bytes {
    let mut j = Json::new();
    super::event::render(e, &mut j, ev);
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        ev.id,
        ev.category,
        j.finish()
    ))
}

/// `GET /events/stream/` (1.5).
pub async fn stream(app: &App, ctx: Ctx, last_event_id: Option<&str>) -> Result<Reply, ApiError> {
    let filter = super::event::filter(&ctx).map_err(|_| {
        ApiError::BadRequest("A filter of the stream names nothing that exists.".into())
    })?;
    let resume = match last_event_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => Some(
            id.parse::<i64>()
                .map_err(|_| ApiError::BadRequest("Last-Event-ID must be an event id.".into()))?,
        ),
        None => super::event::since_id(&ctx)?,
    };
    let projects = app
        .store
        .resolve_projects(&filter.projects)
        .await?
        .ok_or_else(|| ApiError::no_match("Project"))?;
    let actor = match &filter.actor {
        Some(a) => Some(
            app.store
                .resolve_user(a)
                .await?
                .ok_or_else(|| ApiError::no_match("User"))?,
        ),
        None => None,
    };
    let wanted = Wanted {
        projects,
        filter: EventFilter {
            dates: Default::default(),
            ..filter
        },
        actor,
    };
    let mut live = app.events.subscribe(&app.store);
    // Where the stream starts: after the id it resumes from, else now.
    let mut cursor = match resume {
        Some(id) => id,
        None => app.store.last_event_id().await?,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let app = app.clone();
    tokio::spawn(async move {
        let hub = app.events.clone();
        hub.subscribers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = subscriber(&app, &ctx, &wanted, &mut live, &mut cursor, &tx).await;
        hub.subscribers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    });
    Ok(Reply::stream(axum::body::Body::new(ChannelBody(rx))))
}

/// Resolves once the hub is closing.
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    // The value is read and dropped here: its guard must not live across
    // the subscriber's awaits.
    let _ = closing.wait_for(|c| *c).await.map(|_| ());
}

/// Feeds one subscriber until it leaves. Errs when it has gone.
async fn subscriber(
    app: &App,
    ctx: &Ctx,
    wanted: &Wanted,
    live: &mut broadcast::Receiver<Arc<Batch>>,
    cursor: &mut i64,
    tx: &mpsc::Sender<Bytes>,
) -> Result<(), ()> {
    let send = |b: Bytes| async move { tx.send(b).await.map_err(|_| ()) };
    send(Bytes::from_static(
        b"retry: 2000\n: patchtrack event stream\n\n",
    ))
    .await?;
    let mut catch_up = true;
    let mut closing = app.events.closing.subscribe();
    loop {
        let stopping = *closing.borrow();
        if stopping {
            return Err(());
        }
        if catch_up {
            // The stored events after the cursor, in pages, then live.
            loop {
                let batch = app
                    .store
                    .events_after(&wanted.filter, *cursor, BATCH)
                    .await
                    .map_err(|_| ())?;
                let e = Embed::load(app, ctx).await.map_err(|_| ())?;
                for ev in &batch {
                    send(message(&e, ev)).await?;
                    *cursor = ev.id;
                }
                if batch.len() < BATCH {
                    break;
                }
            }
            catch_up = false;
        }
        tokio::select! {
            got = live.recv() => match got {
                // The hub read from further than this subscriber has seen
                // (it started after the subscriber caught up): read the
                // gap, this batch included, from the database.
                Ok(batch) if batch.after > *cursor => catch_up = true,
                Ok(batch) => {
                    let batch = &batch.events;
                    let fresh: Vec<&Event> = batch
                        .iter()
                        .filter(|ev| ev.id > *cursor && wanted.admits(ev))
                        .collect();
                    if let Some(last) = batch.last() {
                        // Everything up to the batch's end has been seen,
                        // sent or filtered out.
                        if !fresh.is_empty() {
                            let e = Embed::load(app, ctx).await.map_err(|_| ())?;
                            for ev in fresh {
                                send(message(&e, ev)).await?;
                            }
                        }
                        *cursor = (*cursor).max(last.id);
                    }
                }
                // Fell behind the broadcast: read what was missed.
                Err(broadcast::error::RecvError::Lagged(_)) => catch_up = true,
                Err(broadcast::error::RecvError::Closed) => return Err(()),
            },
            () = tokio::time::sleep(HEARTBEAT) => send(Bytes::from_static(b": heartbeat\n\n")).await?,
            () = tx.closed() => return Err(()),
            () = closed(&mut closing) => return Err(()),
        }
    }
}
