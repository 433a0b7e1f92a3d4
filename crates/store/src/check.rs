//! Checks: results that CI systems post on a patch, and the aggregate
//! state a patch shows (newest result per user and context counts).

use sqlx::Row;

use crate::db::Store;
use crate::error::{Refused, Result, StoreError};
use crate::listing::{DateRange, Listed, Lookup, Page, push_order};
use crate::refs::{self, UserRef};
use crate::resolve::Kind;
use crate::sql::Sql;
use crate::time::{self, Micros};

/// A check's state, stored as Patchwork's integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckState {
    /// 0: not finished, or nothing posted yet.
    Pending,
    /// 1.
    Success,
    /// 2.
    Warning,
    /// 3.
    Fail,
}

impl CheckState {
    /// The API label.
    pub fn label(self) -> &'static str {
        match self {
            CheckState::Pending => "pending",
            CheckState::Success => "success",
            CheckState::Warning => "warning",
            CheckState::Fail => "fail",
        }
    }

    /// From a label or its integer (`"2"` or `"warning"`).
    pub fn parse(s: &str) -> Option<CheckState> {
        match s.trim() {
            "pending" | "0" => Some(CheckState::Pending),
            "success" | "1" => Some(CheckState::Success),
            "warning" | "2" => Some(CheckState::Warning),
            "fail" | "3" => Some(CheckState::Fail),
            _ => None,
        }
    }

    fn from_db(n: i64) -> CheckState {
        match n {
            1 => CheckState::Success,
            2 => CheckState::Warning,
            3 => CheckState::Fail,
            _ => CheckState::Pending,
        }
    }

    pub(crate) fn to_db(self) -> i64 {
        match self {
            CheckState::Pending => 0,
            CheckState::Success => 1,
            CheckState::Warning => 2,
            CheckState::Fail => 3,
        }
    }

    /// The aggregate state from [`AGGREGATE_RANK`]: fail over warning
    /// over pending over success, pending when there is no check.
    pub(crate) fn from_rank(rank: Option<i64>) -> CheckState {
        match rank {
            Some(4) => CheckState::Fail,
            Some(3) => CheckState::Warning,
            Some(1) => CheckState::Success,
            _ => CheckState::Pending,
        }
    }
}

/// A posted check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Primary key.
    pub id: i64,
    /// The patch checked.
    pub patch_id: i64,
    /// Who posted it.
    pub user: UserRef,
    /// When it was posted (UTC).
    pub date: Micros,
    /// Result.
    pub state: CheckState,
    /// Where the details are.
    pub target_url: Option<String>,
    /// One line of explanation.
    pub description: Option<String>,
    /// Which test (a slug).
    pub context: String,
    /// The series it was posted on as a whole, for a series check.
    pub series_id: Option<i64>,
}

/// Filters of a patch's check list.
#[derive(Debug, Clone, Default)]
pub struct CheckFilter {
    /// Posted by one of these users.
    pub users: Vec<Lookup>,
    /// In one of these states.
    pub states: Vec<CheckState>,
    /// With this context.
    pub context: Option<String>,
    /// Date range.
    pub dates: DateRange,
}

/// Orderings of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOrder {
    /// Primary key.
    Id,
    /// Date posted.
    Date,
    /// State.
    State,
    /// Context.
    Context,
    /// Poster.
    User,
}

impl CheckOrder {
    fn column(self) -> &'static str {
        match self {
            CheckOrder::Id => "c.id",
            CheckOrder::Date => "c.date",
            CheckOrder::State => "c.state",
            CheckOrder::Context => "c.context",
            CheckOrder::User => "c.user_id",
        }
    }
}

/// A new check.
#[derive(Debug, Clone)]
pub struct NewCheck {
    /// Result.
    pub state: CheckState,
    /// Where the details are.
    pub target_url: Option<String>,
    /// One line of explanation.
    pub description: Option<String>,
    /// Which test.
    pub context: String,
}

pub(crate) const SELECT: &str = "SELECT c.id, c.patch_id, c.date, c.state, c.target_url, c.description, \
    c.context, c.series_id, u.id AS u_id, u.username AS u_username, u.first_name AS u_first_name, \
    u.last_name AS u_last_name, u.email AS u_email \
    FROM check_result c JOIN app_user u ON u.id = c.user_id";

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Check> {
    Ok(Check {
        id: r.try_get("id")?,
        patch_id: r.try_get("patch_id")?,
        user: refs::user(r, "u_")?
            .ok_or_else(|| StoreError::Inconsistent("a check without a user".into()))?,
        date: r.try_get("date")?,
        state: CheckState::from_db(r.try_get("state")?),
        target_url: r.try_get("target_url")?,
        description: r.try_get("description")?,
        context: r.try_get("context")?,
        series_id: r.try_get("series_id")?,
    })
}

impl Store {
    /// The checks of a patch.
    pub async fn checks(
        &self,
        patch_id: i64,
        filter: &CheckFilter,
        order: &[(CheckOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Check>>> {
        let Some(users) = self.resolve(Kind::User, &filter.users).await? else {
            return Ok(Listed::empty(page));
        };
        let build = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" WHERE c.patch_id = ").bind(patch_id);
            if !users.is_empty() {
                sql.push(" AND c.user_id IN ")
                    .bind_list(users.iter().copied());
            }
            if !filter.states.is_empty() {
                sql.push(" AND c.state IN ")
                    .bind_list(filter.states.iter().map(|s| s.to_db()));
            }
            if let Some(ctx) = &filter.context {
                sql.push(" AND c.context = ").bind(ctx.clone());
            }
            filter.dates.push(&mut sql, "c.date");
            sql
        };
        let total = build("SELECT COUNT(*) AS n FROM check_result c")
            .count(&self.pool)
            .await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = build(SELECT);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "c.id");
        page.limit_offset(&mut sql, number);
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<_>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// One check of a patch.
    pub async fn check(&self, patch_id: i64, check_id: i64) -> Result<Option<Check>> {
        let mut sql = Sql::new(SELECT);
        sql.push(" WHERE c.patch_id = ")
            .bind(patch_id)
            .push(" AND c.id = ")
            .bind(check_id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Posts a check as `user_id`, with its `check-created` event.
    pub async fn add_check(
        &self,
        patch_id: i64,
        user_id: i64,
        new: &NewCheck,
    ) -> Result<std::result::Result<Check, Refused>> {
        let mut tx = self.begin_event_write().await?;
        let Some(row) = sqlx::query("SELECT project_id FROM patch WHERE id = $1")
            .bind(patch_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Err(Refused::NoSuchPatch));
        };
        let project: i64 = row.try_get("project_id")?;
        let now = time::now();
        let id: i64 = sqlx::query(
            "INSERT INTO check_result (patch_id, user_id, date, state, target_url, description, \
             context) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(patch_id)
        .bind(user_id)
        .bind(now)
        .bind(new.state.to_db())
        .bind(new.target_url.clone())
        .bind(new.description.clone())
        .bind(new.context.clone())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query(
            "INSERT INTO event (category, project_id, date, actor_id, patch_id, created_check_id, \
             detail) VALUES ('check-created', $1, $2, $3, $4, $5, $6)",
        )
        .bind(project)
        .bind(now)
        .bind(user_id)
        .bind(patch_id)
        .bind(id)
        .bind(snapshot(new.state, new.target_url.as_deref(), now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.check(patch_id, id)
            .await?
            .map(Ok)
            .ok_or_else(|| StoreError::Inconsistent("a check vanished while stored".into()))
    }
}

/// What a check event shows of its check, kept with the event
/// (`event.detail`): a check can change later (API 1.5), its events must
/// keep showing it as it was when they were written, as upstream's do.
pub(crate) fn snapshot(state: CheckState, target_url: Option<&str>, date: Micros) -> String {
    serde_json::json!({"check": {"state": state.to_db(), "target_url": target_url, "date": date}})
        .to_string()
}

/// The check of an event as its snapshot says, when it has one.
pub(crate) fn from_snapshot(detail: &str, check: &mut crate::event::CheckRef) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(detail) else {
        return;
    };
    let Some(c) = v.get("check") else { return };
    if let Some(n) = c.get("state").and_then(serde_json::Value::as_i64) {
        check.state = CheckState::from_db(n);
    }
    if let Some(d) = c.get("date").and_then(serde_json::Value::as_i64) {
        check.date = d;
    }
    check.target_url = c
        .get("target_url")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
}

/// The list's S/W/F column: how many of a patch's current checks (the
/// newest per user and context) succeeded, warned and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckCounts {
    /// Successes.
    pub success: i64,
    /// Warnings.
    pub warning: i64,
    /// Failures.
    pub fail: i64,
}

/// The condition that check `c` is the current one of its (patch, user,
/// context): no newer check replaces it (upstream "updates" a check by
/// posting it again). Lists, counts and the aggregate all use it.
pub(crate) const CURRENT: &str = "NOT EXISTS (SELECT 1 FROM check_result n \
     WHERE n.patch_id = c.patch_id AND n.user_id = c.user_id AND n.context = c.context \
     AND (n.date > c.date OR (n.date = c.date AND n.id > c.id)))";

/// The aggregate check of patch `p` as a rank over its current checks
/// (NULL: no check; 1 success, 2 pending, 3 warning, 4 fail), computed in
/// a list's own statement and decoded by [`CheckState::from_rank`].
pub(crate) fn aggregate_rank() -> String {
    format!(
        "(SELECT MAX(CASE c.state WHEN 3 THEN 4 WHEN 2 THEN 3 WHEN 0 THEN 2 ELSE 1 END) \
         FROM check_result c WHERE c.patch_id = p.id AND {CURRENT})"
    )
}

impl Store {
    /// [`CheckCounts`] of a page of patches, in one statement.
    pub async fn check_counts(
        &self,
        patch_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, CheckCounts>> {
        let mut out = std::collections::HashMap::new();
        if patch_ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(&format!(
            "SELECT c.patch_id, c.state, COUNT(*) AS n FROM check_result c \
                 WHERE {CURRENT} AND c.patch_id IN "
        ));
        sql.bind_list(patch_ids.iter().copied());
        sql.push(" GROUP BY c.patch_id, c.state");
        for r in sql.fetch_all(&self.pool).await? {
            let counts: &mut CheckCounts = out.entry(r.try_get("patch_id")?).or_default();
            let n: i64 = r.try_get("n")?;
            match CheckState::from_db(r.try_get("state")?) {
                CheckState::Success => counts.success += n,
                CheckState::Warning => counts.warning += n,
                CheckState::Fail => counts.fail += n,
                CheckState::Pending => {}
            }
        }
        Ok(out)
    }

    /// [`CheckCounts`] of a page of series: the current checks of all
    /// their patches, in one statement.
    pub async fn series_check_counts(
        &self,
        series_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, CheckCounts>> {
        let mut out = std::collections::HashMap::new();
        if series_ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(&format!(
            "SELECT p.series_id, c.state, COUNT(*) AS n FROM check_result c \
             JOIN patch p ON p.id = c.patch_id WHERE {CURRENT} AND p.series_id IN "
        ));
        sql.bind_list(series_ids.iter().copied());
        sql.push(" GROUP BY p.series_id, c.state");
        for r in sql.fetch_all(&self.pool).await? {
            let counts: &mut CheckCounts = out.entry(r.try_get("series_id")?).or_default();
            let n: i64 = r.try_get("n")?;
            match CheckState::from_db(r.try_get("state")?) {
                CheckState::Success => counts.success += n,
                CheckState::Warning => counts.warning += n,
                CheckState::Fail => counts.fail += n,
                CheckState::Pending => {}
            }
        }
        Ok(out)
    }
}
