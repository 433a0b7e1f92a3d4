//! API 1.5's check lifecycle: checks updated in place by their author,
//! checks posted on a whole series, and recheck requests that bots
//! subscribe to (a maintainer's action, or a `Recheck-request:` line in a
//! comment, as DPDK's CI reads them).
//!
//! A series check is stored on each patch of the series (migration 0020),
//! so that everything that shows a patch's checks shows it, with one
//! `check-created` event per patch as if the bot had posted each.

use sqlx::Row;

use crate::check::{Check, CheckState, NewCheck, SELECT, from_row, snapshot};
use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::time;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The event categories only API 1.5 shows (1.0 to 1.4 list exactly
/// upstream's).
pub const EXTENDED_CATEGORIES: [&str; 2] = ["check-updated", "recheck-requested"];

/// Changes to a check; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CheckChange {
    #[allow(missing_docs)]
    pub state: Option<CheckState>,
    /// `Some(None)` clears it.
    pub target_url: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
}

/// Why a check cannot be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckRefused {
    /// No such check (on that patch or series).
    NotFound,
    /// Only its author may change it.
    NotAuthor,
}

/// What a recheck is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecheckOf {
    /// One patch.
    Patch(i64),
    /// A whole series.
    Series(i64),
}

/// The contexts a recheck names, as stored in `event.detail`.
fn detail(contexts: &[String]) -> String {
    serde_json::Value::from(contexts.to_vec()).to_string()
}

/// Records a recheck request event inside `tx`.
pub(crate) async fn push_recheck(
    tx: &mut Tx,
    project_id: i64,
    actor: Option<i64>,
    patch: Option<i64>,
    series: Option<i64>,
    comment: Option<i64>,
    contexts: &[String],
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO event (category, project_id, date, actor_id, patch_id, series_id, \
         patch_comment_id, detail) VALUES ('recheck-requested', $1, $2, $3, $4, $5, $6, $7) \
         RETURNING id",
    )
    .bind(project_id)
    .bind(time::now())
    .bind(actor)
    .bind(patch)
    .bind(series)
    .bind(comment)
    .bind(detail(contexts))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// Changes a check in place, by its author: the check on `patch_id`
    /// (or, for a series check, every patch of its series), dated now,
    /// with a `check-updated` event per patch. Returns the check as it is
    /// listed on `patch_id`.
    pub async fn update_check(
        &self,
        patch_id: i64,
        check_id: i64,
        user_id: i64,
        change: &CheckChange,
    ) -> Result<std::result::Result<Check, CheckRefused>> {
        let mut tx = self.begin_event_write().await?;
        let Some(row) = sqlx::query(
            "SELECT c.user_id, c.series_check_id, p.project_id FROM check_result c \
             JOIN patch p ON p.id = c.patch_id WHERE c.id = $1 AND c.patch_id = $2",
        )
        .bind(check_id)
        .bind(patch_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Err(CheckRefused::NotFound));
        };
        if row.try_get::<i64, _>("user_id")? != user_id {
            return Ok(Err(CheckRefused::NotAuthor));
        }
        let group: Option<i64> = row.try_get("series_check_id")?;
        let project: i64 = row.try_get("project_id")?;
        let mut rows = sqlx::query(
            "SELECT c.id, c.patch_id, p.series_id FROM check_result c \
             JOIN patch p ON p.id = c.patch_id \
             WHERE c.series_check_id = $1 OR c.id = $2 ORDER BY c.id",
        )
        .bind(group.unwrap_or(-1))
        .bind(check_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>("id")?,
                r.try_get::<i64, _>("patch_id")?,
                r.try_get::<Option<i64>, _>("series_id")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        rows.dedup();
        let now = time::now();
        for (id, patch, series) in &rows {
            let mut sql = crate::sql::Sql::new("UPDATE check_result SET date = ");
            sql.bind(now);
            if let Some(s) = change.state {
                sql.push(", state = ").bind(s.to_db());
            }
            if let Some(u) = &change.target_url {
                sql.push(", target_url = ").bind(u.clone());
            }
            if let Some(d) = &change.description {
                sql.push(", description = ").bind(d.clone());
            }
            sql.push(" WHERE id = ")
                .bind(*id)
                .push(" RETURNING state, target_url");
            let row = sql
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::Inconsistent("a check vanished while updated".into()))?;
            let state = CheckState::parse(&row.try_get::<i64, _>("state")?.to_string())
                .unwrap_or(CheckState::Pending);
            let url: Option<String> = row.try_get("target_url")?;
            sqlx::query(
                "INSERT INTO event (category, project_id, date, actor_id, patch_id, series_id, \
                 created_check_id, detail) VALUES ('check-updated', $1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(project)
            .bind(now)
            .bind(user_id)
            .bind(*patch)
            .bind(*series)
            .bind(*id)
            .bind(snapshot(state, url.as_deref(), now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.check(patch_id, check_id)
            .await?
            .map(Ok)
            .ok_or_else(|| StoreError::Inconsistent("a check vanished while updated".into()))
    }

    /// Posts a check on every patch of a series as `user_id`, with a
    /// `check-created` event per patch. Returns the series' check (the
    /// row on its first patch); None when the series has no patch.
    pub async fn add_series_check(
        &self,
        series_id: i64,
        user_id: i64,
        new: &NewCheck,
    ) -> Result<Option<Check>> {
        let mut tx = self.begin_event_write().await?;
        let patches: Vec<(i64, i64)> = sqlx::query(
            "SELECT id, project_id FROM patch WHERE series_id = $1 ORDER BY number, id",
        )
        .bind(series_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("project_id")?)))
        .collect::<Result<_>>()?;
        if patches.is_empty() {
            return Ok(None);
        }
        let now = time::now();
        let mut lead = None;
        for (patch, project) in &patches {
            let id: i64 = sqlx::query(
                "INSERT INTO check_result (patch_id, user_id, date, state, target_url, \
                 description, context, series_id, series_check_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(*patch)
            .bind(user_id)
            .bind(now)
            .bind(new.state.to_db())
            .bind(new.target_url.clone())
            .bind(new.description.clone())
            .bind(new.context.clone())
            .bind(series_id)
            .bind(lead)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            if lead.is_none() {
                lead = Some(id);
                sqlx::query("UPDATE check_result SET series_check_id = id WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO event (category, project_id, date, actor_id, patch_id, series_id, \
                 created_check_id, detail) VALUES ('check-created', $1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(*project)
            .bind(now)
            .bind(user_id)
            .bind(*patch)
            .bind(series_id)
            .bind(id)
            .bind(snapshot(new.state, new.target_url.as_deref(), now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        match lead {
            Some(lead) => self.series_check(series_id, lead).await,
            None => Ok(None),
        }
    }

    /// The checks posted on a series as a whole, oldest first.
    pub async fn series_checks(&self, series_id: i64) -> Result<Vec<Check>> {
        let mut sql = crate::sql::Sql::new(SELECT);
        sql.push(" WHERE c.series_id = ")
            .bind(series_id)
            .push(" AND c.series_check_id = c.id ORDER BY c.id");
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// One check of a series.
    pub async fn series_check(&self, series_id: i64, check_id: i64) -> Result<Option<Check>> {
        let mut sql = crate::sql::Sql::new(SELECT);
        sql.push(" WHERE c.series_id = ")
            .bind(series_id)
            .push(" AND c.id = ")
            .bind(check_id)
            .push(" AND c.series_check_id = c.id");
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// The series a check belongs to as a series check (None for a check
    /// posted on its patch alone).
    pub async fn check_series(&self, check_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT series_id FROM check_result WHERE id = $1")
            .bind(check_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("series_id")?,
            None => None,
        })
    }

    /// Asks the bots to test a patch or a series again: a
    /// `recheck-requested` event naming `contexts` (empty: every test).
    /// The event's id, or None when there is no such patch or series.
    pub async fn request_recheck(
        &self,
        of: RecheckOf,
        actor: i64,
        contexts: &[String],
    ) -> Result<Option<i64>> {
        let mut tx = self.begin_event_write().await?;
        let (sql, id) = match of {
            RecheckOf::Patch(id) => ("SELECT project_id, series_id FROM patch WHERE id = $1", id),
            RecheckOf::Series(id) => (
                "SELECT project_id, id AS series_id FROM series WHERE id = $1",
                id,
            ),
        };
        let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let project: i64 = row.try_get("project_id")?;
        let series: Option<i64> = row.try_get("series_id")?;
        let patch = match of {
            RecheckOf::Patch(id) => Some(id),
            RecheckOf::Series(_) => None,
        };
        let event =
            push_recheck(&mut tx, project, Some(actor), patch, series, None, contexts).await?;
        tx.commit().await?;
        Ok(Some(event))
    }
}
