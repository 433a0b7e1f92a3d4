//! Events: the timeline clients poll (`/api/events/`), written in the same
//! transaction as the change they describe, all of one mail in one
//! statement.

use sqlx::Arguments;

use crate::error::Result;
use crate::time::Micros;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The objects an event points at; unset ones are NULL.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EventRefs {
    pub patch: Option<i64>,
    pub series: Option<i64>,
    pub cover: Option<i64>,
    pub patch_comment: Option<i64>,
    pub cover_comment: Option<i64>,
    /// For `patch-state-changed` made by the tracker itself (a newer
    /// version superseding an older one).
    pub previous_state: Option<i64>,
    pub current_state: Option<i64>,
    /// Who caused it, when not the mail parser (a recheck request in a
    /// comment names the commenter's account).
    pub actor: Option<i64>,
}

/// The events of one mail, written together by [`Events::flush`].
#[derive(Debug, Default)]
pub(crate) struct Events {
    rows: Vec<(&'static str, i64, EventRefs, Option<String>)>,
    /// The person the mail's author resolved to, remembered by the
    /// ingestion once the mail's transaction commits.
    pub submitter: Option<i64>,
}

impl Events {
    /// Queues one event of `category` (one of Patchwork's category strings).
    pub(crate) fn push(&mut self, category: &'static str, project_id: i64, refs: EventRefs) {
        self.rows.push((category, project_id, refs, None));
    }

    /// Queues one event with its `detail` (a recheck's contexts).
    pub(crate) fn push_detailed(
        &mut self,
        category: &'static str,
        project_id: i64,
        refs: EventRefs,
        detail: String,
    ) {
        self.rows.push((category, project_id, refs, Some(detail)));
    }

    /// How many events are queued (a position for [`Events::insert`]).
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Queues an event before those queued since position `at`, for an
    /// object whose id became known only after later events were decided.
    pub(crate) fn insert(
        &mut self,
        at: usize,
        category: &'static str,
        project_id: i64,
        refs: EventRefs,
    ) {
        self.rows
            .insert(at.min(self.rows.len()), (category, project_id, refs, None));
    }

    /// Writes the queued events in order, dated now: bots poll with
    /// `?since=` their last poll, so an event must never be dated in the
    /// past (a late or re-sent mail would be missed), as upstream.
    pub(crate) async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        let date = crate::time::now();
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO event (category, project_id, date, patch_id, series_id, cover_id, \
             patch_comment_id, cover_comment_id, previous_state_id, current_state_id, actor_id, \
             detail) VALUES ",
        );
        let mut args = sqlx::any::AnyArguments::default();
        for (i, (category, project, refs, detail)) in self.rows.drain(..).enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 12;
            let marks: Vec<String> = (1..=12).map(|k| format!("${}", n + k)).collect();
            sql.push_str(&format!("({})", marks.join(", ")));
            let bound = args
                .add(category)
                .and_then(|()| args.add(project))
                .and_then(|()| args.add(date))
                .and_then(|()| args.add(refs.patch))
                .and_then(|()| args.add(refs.series))
                .and_then(|()| args.add(refs.cover))
                .and_then(|()| args.add(refs.patch_comment))
                .and_then(|()| args.add(refs.cover_comment))
                .and_then(|()| args.add(refs.previous_state))
                .and_then(|()| args.add(refs.current_state))
                .and_then(|()| args.add(refs.actor))
                .and_then(|()| args.add(detail));
            bound.map_err(sqlx::Error::Encode)?;
        }
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::check::CheckState;
use crate::db::Store;
use crate::listing::{DateRange, Listed, Lookup, Page};
use crate::refs::{self, CoverRef, PatchRef, SeriesRef, UserRef};
use crate::resolve::Kind;
use crate::sql::Sql;

/// A check as an event embeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRef {
    /// Primary key.
    pub id: i64,
    /// The patch checked.
    pub patch_id: i64,
    /// When posted.
    pub date: Micros,
    /// Result.
    pub state: CheckState,
    /// Details URL.
    pub target_url: Option<String>,
    /// Which test.
    pub context: String,
}

/// A comment as an event embeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRef {
    /// Primary key.
    pub id: i64,
    /// What it answers.
    pub parent: crate::comment::Parent,
    /// Message-id.
    pub msgid: String,
    /// Mail date.
    pub date: Micros,
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Primary key.
    pub id: i64,
    /// Patchwork's category string.
    pub category: String,
    /// Project.
    pub project_id: i64,
    /// When (UTC).
    pub date: Micros,
    /// Who did it (None: the mail parser).
    pub actor: Option<UserRef>,
    /// The patch concerned.
    pub patch: Option<PatchRef>,
    /// The series concerned.
    pub series: Option<SeriesRef>,
    /// The cover letter concerned.
    pub cover: Option<CoverRef>,
    /// State before a change (slug).
    pub previous_state: Option<String>,
    /// State after a change (slug).
    pub current_state: Option<String>,
    /// Delegate before a change.
    pub previous_delegate: Option<UserRef>,
    /// Delegate after a change.
    pub current_delegate: Option<UserRef>,
    /// The check created.
    pub check: Option<CheckRef>,
    /// The comment created.
    pub comment: Option<CommentRef>,
    /// What the event carries beyond its references (the contexts of a
    /// recheck request, as a JSON array).
    pub detail: Option<String>,
}

/// Filters of the event list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// In one of these projects.
    pub projects: Vec<Lookup>,
    /// Of this category.
    pub category: Option<String>,
    /// About one of these series.
    pub series: Vec<i64>,
    /// About one of these patches.
    pub patches: Vec<i64>,
    /// About one of these covers.
    pub covers: Vec<i64>,
    /// Caused by this user.
    pub actor: Option<Lookup>,
    /// Date range.
    pub dates: DateRange,
    /// Leave out the comment categories (API before 1.3).
    pub without_comments: bool,
    /// Leave out the categories only API 1.5 shows
    /// ([`crate::EXTENDED_CATEGORIES`]).
    pub without_extended: bool,
    /// Only events after this id (API 1.5's `?since_id=`, for pollers
    /// that page by id, and the event stream's resumption).
    pub since_id: Option<i64>,
}

/// Orders of the event list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOrder {
    /// Newest first (Patchwork's default).
    DateDesc,
    /// Oldest first (`?order=date`).
    DateAsc,
    /// By id, lowest first: commit order, what a poller paging with
    /// `since_id` wants.
    IdAsc,
    /// By id, highest first.
    IdDesc,
}

/// The columns of an event and its payload, selected from `source` (the
/// event rows, aliased `e`); [`event_joins`] must follow.
fn event_select(source: &str) -> String {
    format!(
        "SELECT e.id, e.category, e.project_id, e.date, e.detail, {}, {}, {}, {}, \
         ps.slug AS previous_state, cs.slug AS current_state, {}, {}, \
         ch.id AS ch_id, ch.patch_id AS ch_patch_id, ch.date AS ch_date, ch.state AS ch_state, \
         ch.target_url AS ch_target_url, ch.context AS ch_context, \
         pc.id AS pc_id, pc.patch_id AS pc_parent, pc.msgid AS pc_msgid, pc.date AS pc_date, \
         cc.id AS cc_id, cc.cover_id AS cc_parent, cc.msgid AS cc_msgid, cc.date AS cc_date \
         FROM {source}",
        refs::user_columns("a", "a_"),
        refs::submission_columns("p", "p_"),
        refs::series_columns("s", "s_"),
        refs::submission_columns("c", "c_"),
        refs::user_columns("pd", "pd_"),
        refs::user_columns("cd", "cd_"),
    )
}

/// The joins of [`event_select`].
fn event_joins() -> &'static str {
    " LEFT JOIN app_user a ON a.id = e.actor_id \
     LEFT JOIN patch p ON p.id = e.patch_id \
     LEFT JOIN series s ON s.id = e.series_id \
     LEFT JOIN cover c ON c.id = e.cover_id \
     LEFT JOIN state ps ON ps.id = e.previous_state_id \
     LEFT JOIN state cs ON cs.id = e.current_state_id \
     LEFT JOIN app_user pd ON pd.id = e.previous_delegate_id \
     LEFT JOIN app_user cd ON cd.id = e.current_delegate_id \
     LEFT JOIN check_result ch ON ch.id = e.created_check_id \
     LEFT JOIN patch_comment pc ON pc.id = e.patch_comment_id \
     LEFT JOIN cover_comment cc ON cc.id = e.cover_comment_id"
}

fn event_row(r: &AnyRow) -> Result<Event> {
    use crate::comment::Parent;
    let detail: Option<String> = r.try_get("detail")?;
    let check = match r.try_get::<Option<i64>, _>("ch_id")? {
        Some(id) => Some(CheckRef {
            id,
            patch_id: r.try_get("ch_patch_id")?,
            date: r.try_get("ch_date")?,
            state: CheckState::parse(&r.try_get::<i64, _>("ch_state")?.to_string())
                .unwrap_or(CheckState::Pending),
            target_url: r.try_get("ch_target_url")?,
            context: r.try_get("ch_context")?,
        }),
        None => None,
    };
    let check = check.map(|mut c| {
        if let Some(d) = &detail {
            crate::check::from_snapshot(d, &mut c);
        }
        c
    });
    let comment = if let Some(id) = r.try_get::<Option<i64>, _>("pc_id")? {
        Some(CommentRef {
            id,
            parent: Parent::Patch(r.try_get("pc_parent")?),
            msgid: r.try_get("pc_msgid")?,
            date: r.try_get("pc_date")?,
        })
    } else if let Some(id) = r.try_get::<Option<i64>, _>("cc_id")? {
        Some(CommentRef {
            id,
            parent: Parent::Cover(r.try_get("cc_parent")?),
            msgid: r.try_get("cc_msgid")?,
            date: r.try_get("cc_date")?,
        })
    } else {
        None
    };
    Ok(Event {
        id: r.try_get("id")?,
        category: r.try_get("category")?,
        project_id: r.try_get("project_id")?,
        date: r.try_get("date")?,
        actor: refs::user(r, "a_")?,
        patch: refs::submission(r, "p_")?.map(refs::patch_ref),
        series: refs::series(r, "s_")?,
        cover: refs::submission(r, "c_")?.map(refs::cover_ref),
        previous_state: r.try_get("previous_state")?,
        current_state: r.try_get("current_state")?,
        previous_delegate: refs::user(r, "pd_")?,
        current_delegate: refs::user(r, "cd_")?,
        check,
        comment,
        detail,
    })
}

impl Store {
    /// One page of events in `order`.
    pub async fn events(
        &self,
        filter: &EventFilter,
        order: EventOrder,
        page: Page,
    ) -> Result<Option<Listed<Event>>> {
        let Some((projects, actor)) = self.event_filter_ids(filter).await? else {
            return Ok(Listed::empty(page));
        };
        let push_where = |sql: &mut Sql| push_event_filter(sql, filter, &projects, actor);
        let tallied = filter.series.is_empty()
            && filter.patches.is_empty()
            && filter.covers.is_empty()
            && actor.is_none()
            && filter.dates.since.is_none()
            && filter.dates.before.is_none()
            && filter.since_id.is_none();
        let total = if tallied {
            self.tallied_events(
                &projects,
                filter.category.as_deref(),
                filter.without_comments,
                filter.without_extended,
            )
            .await?
        } else {
            let mut count = Sql::new("SELECT COUNT(*) AS n FROM event e");
            push_where(&mut count);
            count.count(&self.pool).await?
        };
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        // The page of events is chosen first, on the event table alone
        // (by index), then joined with what its payloads embed.
        // (The id breaks ties; for the id orders it is the whole order.)
        let (order_by, keys): (&str, &[(&str, bool)]) = match order {
            EventOrder::DateAsc => (" ORDER BY e.date ASC, e.id ASC", &[("e.date", false)]),
            EventOrder::DateDesc => (" ORDER BY e.date DESC, e.id DESC", &[("e.date", true)]),
            EventOrder::IdAsc => (" ORDER BY e.id ASC", &[]),
            EventOrder::IdDesc => (" ORDER BY e.id DESC", &[("e.id", true)]),
        };
        let mut sql = Sql::new(&event_select("(SELECT e.* FROM event e"));
        push_where(&mut sql);
        page.window(number, total).push(&mut sql, keys, "e.id");
        sql.push(") e");
        sql.push(event_joins());
        sql.push(order_by);
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_row)
            .collect::<Result<_>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// The events after `after` in id order, at most `limit`: what the
    /// event stream sends next.
    pub async fn events_after(
        &self,
        filter: &EventFilter,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let Some((projects, actor)) = self.event_filter_ids(filter).await? else {
            return Ok(Vec::new());
        };
        let mut sql = Sql::new(&event_select("(SELECT e.* FROM event e"));
        push_event_filter(&mut sql, filter, &projects, actor);
        sql.push(" AND e.id > ")
            .bind(after)
            .push(&format!(" ORDER BY e.id LIMIT {}) e", limit.max(1)));
        sql.push(event_joins());
        sql.push(" ORDER BY e.id");
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_row)
            .collect()
    }

    /// One event.
    pub async fn event(&self, id: i64) -> Result<Option<Event>> {
        let mut sql = Sql::new(&event_select("(SELECT e.* FROM event e WHERE e.id = "));
        sql.bind(id).push(") e");
        sql.push(event_joins());
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(event_row)
            .transpose()
    }

    /// The highest event id (0 without events): where a new stream
    /// subscriber starts.
    pub async fn last_event_id(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM event")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The filter's project and actor ids; None when one names nothing
    /// (the list is then empty).
    async fn event_filter_ids(
        &self,
        filter: &EventFilter,
    ) -> Result<Option<(Vec<i64>, Option<i64>)>> {
        let Some(projects) = self.resolve(Kind::Project, &filter.projects).await? else {
            return Ok(None);
        };
        let actor = match &filter.actor {
            Some(a) => match self.resolve(Kind::User, std::slice::from_ref(a)).await? {
                Some(ids) => ids.first().copied(),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some((projects, actor)))
    }
}

/// The `WHERE` of an event list.
fn push_event_filter(sql: &mut Sql, filter: &EventFilter, projects: &[i64], actor: Option<i64>) {
    sql.push(" WHERE 1 = 1");
    if !projects.is_empty() {
        sql.push(" AND e.project_id IN ")
            .bind_list(projects.iter().copied());
    }
    if let Some(c) = &filter.category {
        sql.push(" AND e.category = ").bind(c.clone());
    }
    for (column, ids) in [
        ("e.series_id", &filter.series),
        ("e.patch_id", &filter.patches),
        ("e.cover_id", &filter.covers),
    ] {
        if !ids.is_empty() {
            sql.push(" AND ")
                .push(column)
                .push(" IN ")
                .bind_list(ids.iter().copied());
        }
    }
    if let Some(a) = actor {
        sql.push(" AND e.actor_id = ").bind(a);
    }
    if filter.without_comments {
        sql.push(" AND e.category NOT IN ('patch-comment-created', 'cover-comment-created')");
    }
    if filter.without_extended {
        sql.push(" AND e.category NOT IN ('check-updated', 'recheck-requested')");
    }
    if let Some(id) = filter.since_id {
        sql.push(" AND e.id > ").bind(id);
    }
    filter.dates.push(sql, "e.date");
}

/// Wakes on every transaction that wrote events, on any process or node
/// of a PostgreSQL site (the `patchtrack_event` notification of migration
/// 0018). SQLite has no such thing; its readers poll.
#[derive(Debug)]
pub struct EventListener(sqlx::postgres::PgListener);

impl EventListener {
    /// Waits for the next notification (several may fold into one).
    pub async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl Store {
    /// A listener for event writes on PostgreSQL; None on SQLite.
    pub async fn event_listener(&self) -> Result<Option<EventListener>> {
        if self.backend != crate::db::Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
        listener.listen("patchtrack_event").await?;
        Ok(Some(EventListener(listener)))
    }
}
