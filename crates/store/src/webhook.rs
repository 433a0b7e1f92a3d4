//! Webhooks: per-project receivers that get each event pushed to them.
//!
//! The deliveries themselves are queued by a trigger on `event` (migration
//! 0018), so every path that writes an event queues its deliveries in the
//! same transaction. What lives here is the rest: the receivers as
//! maintainers manage them, the delivery log, and what the sending job
//! needs: a lease on the receiver (deliveries to one receiver go out one
//! at a time, in event order), its pending deliveries, and the outcome of
//! each attempt.

use std::time::Duration;

use sqlx::Row;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::outgoing_mail::OutgoingMail;
use crate::sql::Sql;
use crate::time::{self, Micros};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The job kind that sends a receiver's pending deliveries; its payload
/// is the webhook's id.
pub const WEBHOOK_JOB: &str = "webhook";

/// A receiver of a project's events.
#[allow(missing_docs)] // the fields are the columns
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub project_id: i64,
    pub url: String,
    /// The HMAC key the bodies are signed with.
    pub secret: String,
    /// Event categories sent; empty for every category.
    pub categories: Vec<String>,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created: Micros,
    /// When the current run of failed attempts began (None: the last
    /// attempt worked).
    pub failing_since: Option<Micros>,
    /// Why it was disabled, when the tracker did it.
    pub disabled_reason: Option<String>,
}

impl Webhook {
    /// Whether an event of `category` goes to it.
    pub fn wants(&self, category: &str) -> bool {
        self.categories.is_empty() || self.categories.iter().any(|c| c == category)
    }
}

/// A receiver to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Whose events.
    pub project_id: i64,
    /// Where they are POSTed.
    pub url: String,
    /// HMAC key.
    pub secret: String,
    /// Categories; empty for all.
    pub categories: Vec<String>,
    /// The maintainer adding it (told when it is disabled).
    pub created_by: Option<i64>,
}

/// Changes to a receiver; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookUpdate {
    #[allow(missing_docs)]
    pub url: Option<String>,
    #[allow(missing_docs)]
    pub secret: Option<String>,
    #[allow(missing_docs)]
    pub categories: Option<Vec<String>>,
    /// Turning a receiver back on clears its failures and sends what
    /// waited meanwhile.
    pub active: Option<bool>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet accepted by the receiver.
    Pending,
    /// Answered with a 2xx.
    Delivered,
}

impl DeliveryStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
        }
    }

    fn parse(s: &str) -> Result<DeliveryStatus> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            other => Err(StoreError::Inconsistent(format!(
                "webhook delivery status {other:?}"
            ))),
        }
    }
}

/// One event for one receiver, as the log shows it.
#[allow(missing_docs)] // the fields are the columns
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    /// The event's category, for the log and the request header.
    pub category: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// The HTTP status of the last attempt, when there was an answer.
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    pub created: Micros,
    pub finished: Option<Micros>,
    pub duration_ms: Option<i64>,
    /// The delivery this one repeats.
    pub replay_of: Option<i64>,
}

/// How one attempt at a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// What went wrong; None for a 2xx.
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

const WEBHOOK_COLUMNS: &str = "id, project_id, url, secret, categories, active, created_by, \
                               created, failing_since, disabled_reason";

const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event_id, e.category, d.status, \
                                d.attempts, d.response_status, d.last_error, d.created, \
                                d.finished, d.duration_ms, d.replay_of";

/// The stored form of a category list.
fn join_categories(categories: &[String]) -> String {
    categories.join(",")
}

fn webhook_row(r: &sqlx::any::AnyRow) -> Result<Webhook> {
    let categories: String = r.try_get("categories")?;
    Ok(Webhook {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        categories: categories
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        active: r.try_get::<i64, _>("active")? != 0,
        created_by: r.try_get("created_by")?,
        created: r.try_get("created")?,
        failing_since: r.try_get("failing_since")?,
        disabled_reason: r.try_get("disabled_reason")?,
    })
}

fn delivery_row(r: &sqlx::any::AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        event_id: r.try_get("event_id")?,
        category: r.try_get("category")?,
        status: DeliveryStatus::parse(&r.try_get::<String, _>("status")?)?,
        attempts: r.try_get::<i64, _>("attempts")?,
        response_status: r.try_get("response_status")?,
        last_error: r.try_get("last_error")?,
        created: r.try_get("created")?,
        finished: r.try_get("finished")?,
        duration_ms: r.try_get("duration_ms")?,
        replay_of: r.try_get("replay_of")?,
    })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Queues the sending job of a receiver unless one waits unclaimed
/// already (a claimed one may have looked at the deliveries before the
/// new one was committed, so it does not count). The waiting job is
/// updated, which keeps it locked until the caller commits: no worker
/// claims it before the new delivery is visible.
async fn ensure_job(tx: &mut Tx, webhook_id: i64) -> Result<()> {
    let now = time::now();
    let waiting = sqlx::query(
        "UPDATE job SET run_at = CASE WHEN run_at < $1 THEN run_at ELSE $1 END \
         WHERE status = 'pending' AND kind = $2 AND payload = $3 AND locked_by IS NULL",
    )
    .bind(now)
    .bind(WEBHOOK_JOB)
    .bind(webhook_id.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if waiting == 0 {
        sqlx::query(
            "INSERT INTO job (kind, payload, status, attempts, max_attempts, run_at, created) \
             VALUES ($1, $2, 'pending', 0, 1000000000, $3, $3)",
        )
        .bind(WEBHOOK_JOB)
        .bind(webhook_id.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Adds a receiver; its id.
    pub async fn create_webhook(&self, new: &NewWebhook) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO webhook (project_id, url, secret, categories, active, created_by, created) \
             VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
        )
        .bind(new.project_id)
        .bind(&new.url)
        .bind(&new.secret)
        .bind(join_categories(&new.categories))
        .bind(new.created_by)
        .bind(time::now())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The receivers of a project, oldest first.
    pub async fn webhooks(&self, project_id: i64) -> Result<Vec<Webhook>> {
        let mut sql = Sql::new(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE project_id = "
        ));
        sql.bind(project_id).push(" ORDER BY id");
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(webhook_row)
            .collect()
    }

    /// One receiver.
    pub async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        let mut sql = Sql::new(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE id = "
        ));
        sql.bind(id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(webhook_row)
            .transpose()
    }

    /// Changes a receiver; false when there is none.
    pub async fn update_webhook(&self, id: i64, update: &WebhookUpdate) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let mut sql = Sql::new("UPDATE webhook SET id = id");
        if let Some(url) = &update.url {
            sql.push(", url = ").bind(url.clone());
        }
        if let Some(secret) = &update.secret {
            sql.push(", secret = ").bind(secret.clone());
        }
        if let Some(categories) = &update.categories {
            sql.push(", categories = ")
                .bind(join_categories(categories));
        }
        if let Some(active) = update.active {
            sql.push(", active = ").bind(i64::from(active));
            // On, it starts afresh; off by a maintainer, it queues nothing
            // more (only a receiver the tracker disabled keeps queuing).
            sql.push(", failing_since = NULL, disabled_reason = NULL");
        }
        sql.push(" WHERE id = ").bind(id);
        let found = sql.execute(&mut *tx).await? == 1;
        if found && update.active == Some(true) {
            ensure_job(&mut tx, id).await?;
        }
        tx.commit().await?;
        if found {
            self.wake_workers();
        }
        Ok(found)
    }

    /// Removes a receiver and its log.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM webhook_delivery WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query("DELETE FROM webhook WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(res.rows_affected() == 1)
    }

    /// The newest deliveries of a receiver, at most `limit`, and whether
    /// there are older ones (`before` pages back from a delivery id).
    pub async fn deliveries(
        &self,
        webhook_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<Delivery>, bool)> {
        let mut sql = Sql::new(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery d JOIN event e ON e.id = d.event_id \
             WHERE d.webhook_id = "
        ));
        sql.bind(webhook_id);
        if let Some(b) = before {
            sql.push(" AND d.id < ").bind(b);
        }
        sql.push(" ORDER BY d.id DESC LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1));
        let mut rows = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery_row)
            .collect::<Result<Vec<_>>>()?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows, more))
    }

    /// One delivery.
    pub async fn delivery(&self, id: i64) -> Result<Option<Delivery>> {
        let mut sql = Sql::new(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery d JOIN event e ON e.id = d.event_id \
             WHERE d.id = "
        ));
        sql.bind(id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(delivery_row)
            .transpose()
    }

    /// Sends a delivery's event again, after whatever is pending for the
    /// receiver: a new delivery that names the one it repeats. Its id, or
    /// None when there is no such delivery.
    pub async fn replay_delivery(&self, id: i64) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO webhook_delivery (webhook_id, event_id, status, attempts, created, replay_of) \
             SELECT webhook_id, event_id, 'pending', 0, $1, id FROM webhook_delivery WHERE id = $2 \
             RETURNING id, webhook_id",
        )
        .bind(time::now())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let new_id: i64 = row.try_get("id")?;
        let webhook_id: i64 = row.try_get("webhook_id")?;
        ensure_job(&mut tx, webhook_id).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(Some(new_id))
    }

    /// Takes the receiver for `holder` until the lease ends, so that one
    /// sender at a time delivers to it (in event order). The receiver when
    /// taken; None when it is gone, inactive or held by another sender.
    pub async fn lock_webhook(
        &self,
        id: i64,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<Webhook>> {
        let now = time::now();
        let until = now.saturating_add(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX));
        let mut sql = Sql::new("UPDATE webhook SET locked_by = ");
        sql.bind(holder.to_string())
            .push(", locked_until = ")
            .bind(until)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND active <> 0 AND (locked_until IS NULL OR locked_until <= ")
            .bind(now)
            .push(" OR locked_by = ")
            .bind(holder.to_string())
            .push(") RETURNING ")
            .push(WEBHOOK_COLUMNS);
        let row = sql.fetch_optional(&self.pool).await?;
        row.as_ref().map(webhook_row).transpose()
    }

    /// Queues the sending job of a receiver again (a sender that spent
    /// its time hands the rest to a fresh job).
    pub async fn requeue_webhook(&self, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        ensure_job(&mut tx, id).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(())
    }

    /// Gives the receiver back.
    pub async fn unlock_webhook(&self, id: i64, holder: &str) -> Result<()> {
        sqlx::query(
            "UPDATE webhook SET locked_by = NULL, locked_until = NULL \
             WHERE id = $1 AND locked_by = $2",
        )
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The oldest pending deliveries of a receiver, in event order (a
    /// replay comes after what was pending before it).
    pub async fn pending_deliveries(&self, webhook_id: i64, limit: usize) -> Result<Vec<Delivery>> {
        let mut sql = Sql::new(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery d JOIN event e ON e.id = d.event_id \
             WHERE d.status = 'pending' AND d.webhook_id = "
        ));
        sql.bind(webhook_id)
            .push(" ORDER BY d.id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery_row)
            .collect()
    }

    /// Records one attempt at a delivery, and the receiver's health: a
    /// success clears its failures; a failure starts or continues a run
    /// of them. Returns when that run began (None after a success).
    pub async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
    ) -> Result<Option<Micros>> {
        let now = time::now();
        let mut tx = self.begin_write().await?;
        let delivered = attempt.error.is_none();
        sqlx::query(
            "UPDATE webhook_delivery SET attempts = attempts + 1, response_status = $1, \
             last_error = $2, duration_ms = $3, status = $4, finished = $5 WHERE id = $6",
        )
        .bind(attempt.status.map(i64::from))
        .bind(attempt.error.as_deref())
        .bind(millis(attempt.duration))
        .bind(if delivered { "delivered" } else { "pending" })
        .bind(delivered.then_some(now))
        .bind(delivery.id)
        .execute(&mut *tx)
        .await?;
        let since = if delivered {
            sqlx::query("UPDATE webhook SET failing_since = NULL WHERE id = $1")
                .bind(delivery.webhook_id)
                .execute(&mut *tx)
                .await?;
            None
        } else {
            let row = sqlx::query(
                "UPDATE webhook SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 \
                 RETURNING failing_since",
            )
            .bind(now)
            .bind(delivery.webhook_id)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(r) => r.try_get("failing_since")?,
                None => None,
            }
        };
        tx.commit().await?;
        Ok(since)
    }

    /// Turns a receiver off after failing too long, and tells whoever
    /// added it (by mail, when they have an address) in the same
    /// transaction. Its pending deliveries stay, to be sent when a
    /// maintainer turns it back on.
    pub async fn disable_webhook(
        &self,
        id: i64,
        reason: &str,
        notice: Option<&OutgoingMail>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE webhook SET active = 0, disabled_reason = $1, locked_by = NULL, \
             locked_until = NULL WHERE id = $2",
        )
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(mail) = notice {
            crate::job::enqueue_in(&mut tx, &mail.to_job()?).await?;
        }
        tx.commit().await?;
        self.wake_workers();
        Ok(())
    }

    /// Deletes delivered deliveries finished before `before` (the log of
    /// pending ones stays whatever its age). How many went.
    pub async fn purge_deliveries(&self, before: Micros) -> Result<u64> {
        let res = sqlx::query(
            "DELETE FROM webhook_delivery WHERE status = 'delivered' AND finished < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected())
    }
}
