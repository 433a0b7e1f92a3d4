//! Webhook deliveries: the handler that POSTs a receiver's pending events
//! to it, signed, one at a time and in event order.
//!
//! A `webhook` job names one receiver. The handler takes a lease on the
//! receiver (so two workers never deliver to it at once, which would
//! reorder its events), sends its pending deliveries oldest first, and
//! stops at the first failure: the job is then retried with backoff and
//! the later events wait behind the failed one. A receiver failing for
//! longer than [`WebhookConfig::disable_after`] is disabled and whoever
//! added it gets a mail.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use patchtrack_store::{
    Attempt as DeliveryAttempt, Delivery, Job, OutgoingMail, RetryPolicy, Store, WEBHOOK_JOB,
    Webhook,
};
use sha2::Sha256;

use crate::{Attempt, Handler, JobError};

/// The request body of one event: the JSON `/api/1.5/events/` shows for
/// it, or None when the event is gone. Supplied by the web layer, which
/// owns the API's rendering.
pub type RenderEvent = Arc<
    dyn Fn(i64) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>>
        + Send
        + Sync,
>;

/// The notice mailed to whoever added a receiver the tracker disabled
/// (the receiver, why, their address).
pub type DisabledNotice = Arc<dyn Fn(&Webhook, &str, &str) -> OutgoingMail + Send + Sync>;

/// How deliveries are made.
#[derive(Debug, Clone, Copy)]
pub struct WebhookConfig {
    /// How long one POST may take, connection included.
    pub timeout: Duration,
    /// How long a receiver may keep failing before it is disabled.
    pub disable_after: Duration,
    /// Spacing of the retries of a failing receiver.
    pub retry: RetryPolicy,
}

impl Default for WebhookConfig {
    /// A 10 s timeout; retries from 10 s doubling to 10 min; disabled
    /// after three days of failures.
    fn default() -> Self {
        WebhookConfig {
            timeout: Duration::from_secs(10),
            disable_after: Duration::from_secs(3 * 24 * 3600),
            retry: RetryPolicy {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(600),
            },
        }
    }
}

/// The name of the header carrying the body's signature:
/// `sha256=` and the hex HMAC-SHA256 of the body under the secret.
pub const SIGNATURE_HEADER: &str = "X-Patchtrack-Signature-256";

/// The signature header's value for `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // An HMAC accepts a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Bodies kept between receivers: an event going to a hundred receivers
/// is rendered once.
const BODY_CACHE: usize = 4096;

/// The handler of `webhook` jobs.
pub struct WebhookSender {
    store: Store,
    render: RenderEvent,
    notice: DisabledNotice,
    config: WebhookConfig,
    client: HttpsClient,
    bodies: Mutex<HashMap<i64, Arc<String>>>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WebhookSender {
    /// A sender over `store`, rendering bodies with `render`. Fails when
    /// the system's CA certificates cannot be read.
    pub fn new(
        store: Store,
        render: RenderEvent,
        notice: DisabledNotice,
        config: WebhookConfig,
    ) -> Result<WebhookSender, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot read the system's CA certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(WebhookSender {
            store,
            render,
            notice,
            config,
            client,
            bodies: Mutex::new(HashMap::new()),
        })
    }

    async fn body(&self, event_id: i64) -> Result<Option<Arc<String>>, JobError> {
        if let Some(b) = self
            .bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&event_id)
        {
            return Ok(Some(b.clone()));
        }
        let Some(body) = (self.render)(event_id).await.map_err(JobError::transient)? else {
            return Ok(None);
        };
        let body = Arc::new(body);
        let mut cache = self.bodies.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= BODY_CACHE {
            cache.clear();
        }
        cache.insert(event_id, body.clone());
        Ok(Some(body))
    }

    /// One POST of one delivery.
    async fn post(&self, hook: &Webhook, delivery: &Delivery, body: &str) -> DeliveryAttempt {
        let started = Instant::now();
        let request = hyper::Request::post(hook.url.as_str())
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("patchtrack/", env!("CARGO_PKG_VERSION")),
            )
            .header("X-Patchtrack-Event", delivery.category.as_str())
            .header("X-Patchtrack-Delivery", delivery.id.to_string())
            .header("X-Patchtrack-Webhook", hook.id.to_string())
            .header(SIGNATURE_HEADER, signature(&hook.secret, body.as_bytes()))
            .body(Full::new(Bytes::from(body.to_string())));
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                return DeliveryAttempt {
                    status: None,
                    error: Some(format!("cannot make a request to {:?}: {e}", hook.url)),
                    duration: started.elapsed(),
                };
            }
        };
        let answer = tokio::time::timeout(self.config.timeout, async {
            let response = self.client.request(request).await.map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                text
            })?;
            let status = response.status();
            // Read (and drop) a short answer so the connection can be
            // reused; a long one is cut off, never held in memory.
            let _ = http_body_util::Limited::new(response.into_body(), 64 * 1024)
                .collect()
                .await;
            Ok::<_, String>(status)
        })
        .await;
        let duration = started.elapsed();
        match answer {
            Ok(Ok(status)) if status.is_success() => DeliveryAttempt {
                status: Some(status.as_u16()),
                error: None,
                duration,
            },
            Ok(Ok(status)) => DeliveryAttempt {
                status: Some(status.as_u16()),
                error: Some(format!("the receiver answered {status}")),
                duration,
            },
            Ok(Err(e)) => DeliveryAttempt {
                status: None,
                error: Some(e),
                duration,
            },
            Err(_) => DeliveryAttempt {
                status: None,
                error: Some(format!(
                    "no answer within {} s",
                    self.config.timeout.as_secs_f64()
                )),
                duration,
            },
        }
    }

    /// Sends the receiver's pending deliveries until none is left, one
    /// fails, the receiver is turned off or taken, or [`DRAIN_BUDGET`] is
    /// spent (then [`Drained::Budget`]: a fresh job goes on, so that one
    /// receiver's backlog never holds the worker's other jobs for long).
    async fn drain(&self, hook: &Webhook, holder: &str) -> Result<Drained, JobError> {
        let store_err = |e: patchtrack_store::StoreError| JobError::transient(e.to_string());
        let started = Instant::now();
        let mut renewed = Instant::now();
        loop {
            let batch = self
                .store
                .pending_deliveries(hook.id, 64)
                .await
                .map_err(store_err)?;
            if batch.is_empty() {
                return Ok(Drained::Empty);
            }
            for delivery in &batch {
                if started.elapsed() >= DRAIN_BUDGET {
                    return Ok(Drained::Budget);
                }
                if renewed.elapsed() >= RENEW {
                    // Keep the receiver; stop when it was turned off or
                    // another sender has it.
                    let kept = self
                        .store
                        .lock_webhook(hook.id, holder, LEASE)
                        .await
                        .map_err(store_err)?;
                    if kept.is_none() {
                        return Ok(Drained::Lost);
                    }
                    renewed = Instant::now();
                }
                let attempt = match self.body(delivery.event_id).await? {
                    Some(body) => self.post(hook, delivery, &body).await,
                    // The event was deleted with its patch: nothing to send.
                    None => DeliveryAttempt {
                        status: None,
                        error: None,
                        duration: Duration::ZERO,
                    },
                };
                let since = self
                    .store
                    .record_attempt(delivery, &attempt)
                    .await
                    .map_err(store_err)?;
                let Some(error) = attempt.error else {
                    continue;
                };
                let failing = since
                    .map(|s| patchtrack_store::time::now().saturating_sub(s))
                    .unwrap_or(0);
                let limit =
                    i64::try_from(self.config.disable_after.as_micros()).unwrap_or(i64::MAX);
                if failing >= limit {
                    let reason = format!(
                        "failing since {} ({error}); disabled after {} s",
                        patchtrack_store::time::iso(since.unwrap_or(0)),
                        self.config.disable_after.as_secs()
                    );
                    let to = match hook.created_by {
                        Some(id) => self.store.user(id).await.map_err(store_err)?,
                        None => None,
                    };
                    let notice = to.map(|u| (self.notice)(hook, &reason, &u.user.email));
                    self.store
                        .disable_webhook(hook.id, &reason, notice.as_ref())
                        .await
                        .map_err(store_err)?;
                    tracing::warn!(webhook = hook.id, url = %hook.url, "webhook disabled: {reason}");
                    return Ok(Drained::Lost);
                }
                return Err(JobError::transient(format!(
                    "delivery {} of event {} to {}: {error}",
                    delivery.id, delivery.event_id, hook.url
                )));
            }
        }
    }

    async fn attempt(&self, job: &Job) -> Result<(), JobError> {
        let id: i64 = job
            .payload
            .parse()
            .map_err(|_| JobError::permanent(format!("not a webhook id: {:?}", job.payload)))?;
        // The worker and the job: a job taken over by another worker after
        // its lease is another holder.
        let holder = format!("{}/{}", job.locked_by.as_deref().unwrap_or("-"), job.id);
        let store_err = |e: patchtrack_store::StoreError| JobError::transient(e.to_string());
        loop {
            // Gone, disabled, or another job is delivering to it: that job
            // looks for pending deliveries again after it lets go.
            let Some(hook) = self
                .store
                .lock_webhook(id, &holder, LEASE)
                .await
                .map_err(store_err)?
            else {
                return Ok(());
            };
            let result = self.drain(&hook, &holder).await;
            self.store
                .unlock_webhook(id, &holder)
                .await
                .map_err(store_err)?;
            match result? {
                Drained::Empty => {}
                Drained::Lost => return Ok(()),
                Drained::Budget => {
                    return self.store.requeue_webhook(id).await.map_err(store_err);
                }
            }
            // A delivery committed while the lease was held may have found
            // this job claimed and queued no other: look once more.
            let left = self
                .store
                .pending_deliveries(id, 1)
                .await
                .map_err(store_err)?;
            if left.is_empty() {
                return Ok(());
            }
        }
    }
}

/// How long a sender holds a receiver without renewing; a crashed
/// sender's receiver is free again after it.
const LEASE: Duration = Duration::from_secs(300);

/// How often a sender renews its hold while it delivers (well inside the
/// lease, with a delivery's timeout to spare).
const RENEW: Duration = Duration::from_secs(60);

/// How long one job delivers before handing the rest to a fresh job;
/// with the timeout of one delivery it stays far inside the job's lease.
const DRAIN_BUDGET: Duration = Duration::from_secs(60);

/// How a drain ended.
enum Drained {
    /// Nothing pending.
    Empty,
    /// The receiver was turned off, disabled or taken by another sender.
    Lost,
    /// Time is up; there may be more.
    Budget,
}

impl Handler for WebhookSender {
    fn kind(&self) -> &'static str {
        WEBHOOK_JOB
    }

    fn retry(&self) -> Option<RetryPolicy> {
        Some(self.config.retry)
    }

    fn run<'a>(&'a self, job: &'a Job) -> Attempt<'a> {
        Box::pin(self.attempt(job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
