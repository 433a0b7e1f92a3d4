//! Moving a Patchwork site: every table of a Patchwork 3.x database
//! copied into an empty patchtrack database with the same primary keys,
//! so that `/patch/123456/`, `/api/patches/123456/` and every id a bot or
//! a commit message holds keep answering.
//!
//! The copy is a list of steps, one per target table, in foreign-key
//! order ([`accounts`], [`submissions`], [`activity`]). Each reads its
//! source table in windows of ids and writes multi-row inserts, all in one
//! transaction that also records the step as done
//! (`patchwork_import_table`): an interrupted import re-run starts at the
//! first unfinished table. A batch that the target refuses is retried row
//! by row, so one bad row (a NULL our schema forbids, a reference to a row
//! that was itself refused) is recorded in `patchwork_import_skip` with
//! the database's reason and the rest goes in.

mod accounts;
mod activity;
mod dates;
mod source;
mod submissions;

use sha2::Digest;
use sqlx::{Arguments, Row};

use crate::db::{Backend, Store};
use crate::error::{Result, StoreError};
use crate::time;

pub use source::Source;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Linknames of the projects to import; empty: all of them.
    pub projects: Vec<String>,
}

/// Told how the import advances, for a progress bar per table.
pub trait Progress {
    /// A table starts; `total` source rows to copy.
    fn start(&mut self, table: &str, total: u64);
    /// `n` more rows done.
    fn advance(&mut self, n: u64);
    /// The table is done.
    fn finish(&mut self);
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// A source row left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The row's key in the source table (its id, mostly).
    pub source_key: String,
    /// The target database's refusal.
    pub reason: String,
}

/// One table of the import.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// The patchtrack table.
    pub name: String,
    /// The Patchwork table it was read from.
    pub source: String,
    /// Rows read.
    pub source_rows: u64,
    /// Rows written.
    pub imported: u64,
    /// Rows left out (also in `patchwork_import_skip`).
    pub skipped: Vec<Skipped>,
    /// Time taken, in milliseconds.
    pub millis: u64,
    /// Done by an earlier, interrupted run.
    pub earlier: bool,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The source's newest patchwork migration.
    pub schema_version: String,
    /// The zone the site's activity dates were read in.
    pub time_zone: String,
    /// Whether an interrupted import was continued.
    pub resumed: bool,
    /// Per table, in the order copied.
    pub tables: Vec<TableReport>,
}

impl ImportReport {
    /// Rows left out in all.
    pub fn skipped(&self) -> usize {
        self.tables.iter().map(|t| t.skipped.len()).sum()
    }
}

/// Patchwork tables not copied, and why (for the summary).
pub const NOT_COPIED: &[(&str, &str)] = &[
    (
        "django_session",
        "logins do not carry over: users log in again",
    ),
    (
        "django_admin_log",
        "Django admin history; patchtrack's /admin/ keeps its own log",
    ),
    (
        "auth_group, auth_permission, auth_user_groups, auth_user_user_permissions",
        "Django permissions; patchtrack's rights come from superuser and maintainer flags",
    ),
    (
        "django_content_type, django_site, django_migrations",
        "Django's own bookkeeping",
    ),
];

/// How a source column becomes a target value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conv {
    Int,
    Text,
    /// Lower-cased text (addresses matched case-insensitively).
    Lower,
    /// A secret (API token, confirmation key) stored as patchtrack stores
    /// its own: the SHA-256 of the lower-cased text, so the old secrets
    /// still work.
    Digest,
    /// A date taken from mail: naive UTC already.
    MailDate,
    /// A date of something done on the site: naive local time of the
    /// site's TIME_ZONE.
    SiteDate,
    /// A comment's subject, from its stored headers as upstream reads it.
    Subject,
}

impl Conv {
    fn is_text(self) -> bool {
        matches!(
            self,
            Conv::Text | Conv::Lower | Conv::Digest | Conv::Subject
        )
    }
}

/// A value on its way to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

/// One target table and where its rows come from.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// The target table (and the step's name in the records).
    pub table: &'static str,
    /// The source table, for the summary and the counts.
    pub source_table: &'static str,
    /// `(target column, source expression, conversion)`, in order.
    pub columns: Vec<(&'static str, String, Conv)>,
    /// The source's FROM clause (the main table aliased `t`) and joins.
    pub from: String,
    /// A condition on the source rows (the `--project` filter), or "".
    pub filter: String,
    /// An integer source expression to read in windows of; rows with one
    /// value always land in one window. None: read everything at once.
    pub key: Option<&'static str>,
    /// The target column matching `key`, for `--verify`.
    pub target_key: Option<&'static str>,
    /// SQL run on the target first, in the step's transaction.
    pub before: Option<&'static str>,
}

/// How many key values a window spans.
const WINDOW: i64 = 5000;

/// Values per insert statement: under SQLite's 32766 and PostgreSQL's
/// 65535 bound parameters.
const MAX_BINDS: usize = 16_000;

impl Step {
    /// The source query. On PostgreSQL every text column is cast to
    /// `text`: Patchwork declares some `character(40)` (patch hashes,
    /// confirmation keys), a type sqlx's Any driver cannot read.
    fn select(&self, windowed: bool, backend: Backend) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, expr, conv))| match backend {
                Backend::Postgres if conv.is_text() => format!("CAST({expr} AS TEXT) AS c{i}"),
                _ => format!("{expr} AS c{i}"),
            })
            .collect();
        let mut sql = format!("SELECT {} FROM {} WHERE 1 = 1", cols.join(", "), self.from);
        if !self.filter.is_empty() {
            sql.push_str(&format!(" AND ({})", self.filter));
        }
        if let (true, Some(key)) = (windowed, self.key) {
            sql.push_str(&format!(" AND {key} > $1 AND {key} <= $2 ORDER BY {key}"));
        }
        sql
    }

    fn count_sql(&self) -> String {
        let mut sql = format!("SELECT COUNT(*) AS n FROM {} WHERE 1 = 1", self.from);
        if !self.filter.is_empty() {
            sql.push_str(&format!(" AND ({})", self.filter));
        }
        sql
    }

    /// A multi-row INSERT. SQLite gets anonymous `?` placeholders: for a
    /// numbered one, sqlx asks SQLite its name, a linear search of the
    /// statement's names, which made binding a 16,000-value batch cost
    /// quadratic time (93% of an import's CPU).
    fn insert_sql(&self, rows: usize, backend: Backend) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.0).collect();
        let n = names.len();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, names.join(", "));
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..n {
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => sql.push_str(&format!("${}", r * n + c + 1)),
                }
            }
            sql.push(')');
        }
        sql
    }

    fn source_key_of(&self, row: &[Val]) -> String {
        let shown: Vec<String> = row
            .iter()
            .zip(&self.columns)
            .take(2)
            .map(|(v, (name, _, _))| match v {
                Val::Int(Some(i)) => format!("{name}={i}"),
                Val::Int(None) | Val::Text(None) => format!("{name}=NULL"),
                Val::Text(Some(s)) => format!("{name}={}", s.chars().take(60).collect::<String>()),
            })
            .collect();
        shown.join(" ")
    }
}

/// The steps of an import, in foreign-key order.
async fn steps(source: &Source, projects: &[i64]) -> Result<Vec<Step>> {
    let in_projects = if projects.is_empty() {
        None
    } else {
        let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
        Some(format!("({})", ids.join(", ")))
    };
    let f = Filter(in_projects);
    let mut out = accounts::steps(source, &f).await?;
    out.extend(submissions::steps(source, &f).await?);
    out.extend(activity::steps(source, &f).await?);
    Ok(out)
}

/// The `--project` filter: an SQL list of project ids, or none.
#[derive(Debug)]
pub(crate) struct Filter(Option<String>);

impl Filter {
    /// `template` with `{P}` replaced by the id list; "" without a filter.
    pub(crate) fn on(&self, template: &str) -> String {
        match &self.0 {
            Some(list) => template.replace("{P}", list),
            None => String::new(),
        }
    }
}

fn read_row(row: &sqlx::any::AnyRow, step: &Step, source: &Source) -> Result<Vec<Val>> {
    let mut out = Vec::with_capacity(step.columns.len());
    for (i, (name, _, conv)) in step.columns.iter().enumerate() {
        let v = if conv.is_text() || matches!(conv, Conv::MailDate | Conv::SiteDate) {
            let s: Option<String> = row.try_get(i)?;
            match conv {
                Conv::Text => Val::Text(s),
                Conv::Lower => Val::Text(s.map(|s| s.to_lowercase())),
                Conv::Digest => Val::Text(s.map(|s| digest(&s))),
                Conv::Subject => Val::Text(Some(s.map(|h| subject_of(&h)).unwrap_or_default())),
                Conv::MailDate | Conv::SiteDate => {
                    let zone = if *conv == Conv::MailDate {
                        &jiff::tz::TimeZone::UTC
                    } else {
                        &source.zone
                    };
                    match s {
                        None => Val::Int(None),
                        Some(text) => Val::Int(Some(
                            dates::naive_to_micros(&text, zone).ok_or_else(|| {
                                StoreError::Invalid(format!(
                                    "{}.{name}: not a date: {text:?}",
                                    step.source_table
                                ))
                            })?,
                        )),
                    }
                }
                Conv::Int => Val::Int(None),
            }
        } else {
            Val::Int(row.try_get::<Option<i64>, _>(i)?)
        };
        out.push(v);
    }
    Ok(out)
}

/// The stored form of a secret, as `user.rs` and `confirmation.rs` store
/// theirs.
pub(crate) fn digest(secret: &str) -> String {
    sha2::Sha256::digest(secret.trim().to_ascii_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn subject_of(headers: &str) -> String {
    patchtrack_mail::header_encode::parse_stored(headers)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("subject"))
        .map(|(_, v)| v.replace('\0', ""))
        .unwrap_or_default()
}

fn bind_rows(rows: &[Vec<Val>]) -> Result<sqlx::any::AnyArguments> {
    let mut args = sqlx::any::AnyArguments::default();
    for row in rows {
        for v in row {
            match v {
                Val::Int(i) => args.add(*i),
                Val::Text(s) => args.add(s.clone()),
            }
            .map_err(sqlx::Error::Encode)?;
        }
    }
    Ok(args)
}

/// Drops `table`'s non-unique indexes, in the step's transaction, and
/// returns the statements that make them again. Building an index once
/// from the whole table is a sort; keeping five of them up to date row by
/// row, in key orders the rows do not arrive in, was most of the time of a
/// million-row table. Unique indexes stay: they are the constraints that
/// refuse bad rows. An interrupted step rolls the drops back with the rest.
async fn drop_secondary_indexes(tx: &mut Tx, table: &str, backend: Backend) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name AS name, sql AS def FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = $1 AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
        }
        Backend::Postgres => {
            "SELECT CAST(indexname AS TEXT) AS name, indexdef AS def FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = $1 \
             AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        }
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(&mut **tx).await?;
    let mut creates = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("name")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(&mut **tx)
            .await?;
        creates.push(row.try_get("def")?);
    }
    Ok(creates)
}

async fn insert(tx: &mut Tx, step: &Step, rows: &[Vec<Val>], backend: Backend) -> Result<()> {
    let sql = step.insert_sql(rows.len(), backend);
    sqlx::query_with(sqlx::AssertSqlSafe(sql), bind_rows(rows)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes `rows`: in one statement per batch, and when the target refuses
/// a batch, row by row inside savepoints, collecting the refused rows.
async fn write(
    tx: &mut Tx,
    step: &Step,
    rows: &[Vec<Val>],
    skipped: &mut Vec<Skipped>,
    backend: Backend,
) -> Result<()> {
    let per = (MAX_BINDS / step.columns.len().max(1)).clamp(1, 1000);
    for batch in rows.chunks(per) {
        sqlx::query("SAVEPOINT batch").execute(&mut **tx).await?;
        if insert(tx, step, batch, backend).await.is_ok() {
            sqlx::query("RELEASE SAVEPOINT batch")
                .execute(&mut **tx)
                .await?;
            continue;
        }
        sqlx::query("ROLLBACK TO SAVEPOINT batch")
            .execute(&mut **tx)
            .await?;
        for row in batch {
            sqlx::query("SAVEPOINT one").execute(&mut **tx).await?;
            match insert(tx, step, std::slice::from_ref(row), backend).await {
                Ok(()) => {
                    sqlx::query("RELEASE SAVEPOINT one")
                        .execute(&mut **tx)
                        .await?;
                }
                Err(e) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT one")
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query("RELEASE SAVEPOINT one")
                        .execute(&mut **tx)
                        .await?;
                    skipped.push(Skipped {
                        source_key: step.source_key_of(row),
                        reason: e.to_string(),
                    });
                }
            }
        }
        sqlx::query("RELEASE SAVEPOINT batch")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The key windows `(after, through]` that cover `lo..=hi`, `WINDOW` keys
/// each: a million-row table is read a window at a time, on the source
/// and, for `--verify`, on the target alike.
fn windows(lo: i64, hi: i64) -> impl Iterator<Item = (i64, i64)> {
    let mut after = lo.saturating_sub(1);
    std::iter::from_fn(move || {
        (after < hi).then(|| {
            let through = after.saturating_add(WINDOW).min(hi);
            let window = (after, through);
            after = through;
            window
        })
    })
}

/// The (min, max) of a step's key over the rows it reads.
async fn key_range(source: &Source, step: &Step, key: &str) -> Result<Option<(i64, i64)>> {
    let mut sql = format!(
        "SELECT {} AS lo, {} AS hi FROM {} WHERE 1 = 1",
        source.int(&format!("MIN({key})")),
        source.int(&format!("MAX({key})")),
        step.from
    );
    if !step.filter.is_empty() {
        sql.push_str(&format!(" AND ({})", step.filter));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&source.pool)
        .await?;
    let lo: Option<i64> = row.try_get("lo")?;
    let hi: Option<i64> = row.try_get("hi")?;
    Ok(lo.zip(hi))
}

/// Reads a step's source rows window by window, handing each to `each`.
async fn for_each_window<F>(source: &Source, step: &Step, mut each: F) -> Result<()>
where
    F: AsyncFnMut(Vec<Vec<Val>>) -> Result<()>,
{
    let Some(key) = step.key else {
        let rows = sqlx::query(sqlx::AssertSqlSafe(step.select(false, source.backend)))
            .fetch_all(&source.pool)
            .await?;
        let vals = rows
            .iter()
            .map(|r| read_row(r, step, source))
            .collect::<Result<Vec<_>>>()?;
        return each(vals).await;
    };
    let Some((lo, hi)) = key_range(source, step, key).await? else {
        return Ok(());
    };
    let sql = step.select(true, source.backend);
    for (after, through) in windows(lo, hi) {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after)
            .bind(through)
            .fetch_all(&source.pool)
            .await?;
        let vals = rows
            .iter()
            .map(|r| read_row(r, step, source))
            .collect::<Result<Vec<_>>>()?;
        each(vals).await?;
    }
    Ok(())
}

/// The business tables that make a target "not empty" (states and tags
/// are not among them: a fresh database holds the default ones, which the
/// import replaces with the site's).
const CONTENT_TABLES: &[&str] = &[
    "project",
    "app_user",
    "person",
    "patch",
    "cover",
    "series",
    "bundle",
    "event",
    "email_confirmation",
];

/// The tables whose ids new rows take from a sequence, on PostgreSQL.
const SEQUENCED: &[&str] = &[
    "project",
    "app_user",
    "api_token",
    "person",
    "state",
    "tag",
    "raw_mail",
    "cover",
    "series",
    "series_reference",
    "patch_relation",
    "patch",
    "patch_comment",
    "cover_comment",
    "check_result",
    "bundle",
    "delegation_rule",
    "event",
    "email_confirmation",
];

/// The finishing steps' names in `patchwork_import_table`.
const MARKS_STEP: &str = "raw_mail (imported marks)";

impl Store {
    async fn count_rows(&self, sql: &str) -> Result<i64> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// The `TIME_ZONE` of the Patchwork site this database was moved
    /// from, if it was: the zone it goes on showing activity dates in
    /// (see [`crate::time::SiteZone`]).
    pub async fn imported_time_zone(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT time_zone FROM patchwork_import ORDER BY id DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Imports the Patchwork site `source` into this (empty) database.
    ///
    /// Refuses a target that holds anything but an unfinished import of
    /// the same options; continues such an import at its first unfinished
    /// table. Rows the target refuses are left out and reported; the
    /// import itself fails only when the source or the target fails.
    pub async fn import_patchwork(
        &self,
        source: &Source,
        options: &ImportOptions,
        progress: &mut dyn Progress,
    ) -> Result<ImportReport> {
        let projects = resolve_projects(source, &options.projects).await?;
        let project_list = options.projects.join(",");
        let earlier = sqlx::query(
            "SELECT id, schema_version, time_zone, projects, finished FROM patchwork_import \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let resumed = match earlier {
            Some(r) => {
                if r.try_get::<Option<i64>, _>("finished")?.is_some() {
                    return Err(StoreError::Invalid(
                        "the target database already holds a finished Patchwork import".into(),
                    ));
                }
                let zone: String = r.try_get("time_zone")?;
                let listed: String = r.try_get("projects")?;
                if zone != source.zone_name || listed != project_list {
                    return Err(StoreError::Invalid(format!(
                        "the target holds an unfinished import with other options \
                         (--time-zone {zone}, projects {listed:?}); re-run it with those, \
                         or start again on an empty database"
                    )));
                }
                true
            }
            None => {
                for table in CONTENT_TABLES {
                    let n = self
                        .count_rows(&format!("SELECT COUNT(*) AS n FROM {table}"))
                        .await?;
                    if n > 0 {
                        return Err(StoreError::Invalid(format!(
                            "the target database is not empty ({n} rows in {table}): \
                             import into a new database"
                        )));
                    }
                }
                sqlx::query(
                    "INSERT INTO patchwork_import (source, schema_version, time_zone, projects, \
                     started) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&source.label)
                .bind(&source.last_migration)
                .bind(&source.zone_name)
                .bind(&project_list)
                .bind(time::now())
                .execute(&self.pool)
                .await?;
                false
            }
        };
        let mut report = ImportReport {
            schema_version: source.last_migration.clone(),
            time_zone: source.zone_name.clone(),
            resumed,
            tables: Vec::new(),
        };
        for step in steps(source, &projects).await? {
            report
                .tables
                .push(self.run_step(source, &step, progress).await?);
        }
        self.finish_import(progress).await?;
        Ok(report)
    }

    async fn run_step(
        &self,
        source: &Source,
        step: &Step,
        progress: &mut dyn Progress,
    ) -> Result<TableReport> {
        let done = sqlx::query(
            "SELECT source_rows, imported, millis FROM patchwork_import_table WHERE name = $1",
        )
        .bind(step.table)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(r) = done {
            let skipped = sqlx::query(
                "SELECT source_key, reason FROM patchwork_import_skip WHERE table_name = $1 \
                 ORDER BY id",
            )
            .bind(step.table)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|s| {
                Ok(Skipped {
                    source_key: s.try_get("source_key")?,
                    reason: s.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
            return Ok(TableReport {
                name: step.table.to_string(),
                source: step.source_table.to_string(),
                source_rows: u64::try_from(r.try_get::<i64, _>("source_rows")?).unwrap_or(0),
                imported: u64::try_from(r.try_get::<i64, _>("imported")?).unwrap_or(0),
                skipped,
                millis: u64::try_from(r.try_get::<i64, _>("millis")?).unwrap_or(0),
                earlier: true,
            });
        }
        let started = std::time::Instant::now();
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(step.count_sql()))
            .fetch_one(&source.pool)
            .await?
            .try_get("n")?;
        progress.start(step.table, u64::try_from(total).unwrap_or(0));
        let mut tx = self.begin_write().await?;
        if let Some(sql) = step.before {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let indexes = drop_secondary_indexes(&mut tx, step.table, self.backend).await?;
        let mut skipped = Vec::new();
        let mut read = 0u64;
        for_each_window(source, step, async |rows: Vec<Vec<Val>>| {
            write(&mut tx, step, &rows, &mut skipped, self.backend).await?;
            read += rows.len() as u64;
            progress.advance(rows.len() as u64);
            Ok(())
        })
        .await?;
        for create in &indexes {
            sqlx::query(sqlx::AssertSqlSafe(create.clone()))
                .execute(&mut *tx)
                .await?;
        }
        for s in &skipped {
            sqlx::query(
                "INSERT INTO patchwork_import_skip (table_name, source_key, reason) \
                 VALUES ($1, $2, $3)",
            )
            .bind(step.table)
            .bind(&s.source_key)
            .bind(&s.reason)
            .execute(&mut *tx)
            .await?;
        }
        let imported = read - skipped.len() as u64;
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        sqlx::query(
            "INSERT INTO patchwork_import_table (name, source_rows, imported, skipped, millis, \
             finished) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(step.table)
        .bind(i64::try_from(read).unwrap_or(i64::MAX))
        .bind(i64::try_from(imported).unwrap_or(i64::MAX))
        .bind(i64::try_from(skipped.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(millis).unwrap_or(i64::MAX))
        .bind(time::now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        progress.finish();
        Ok(TableReport {
            name: step.table.to_string(),
            source: step.source_table.to_string(),
            source_rows: read,
            imported,
            skipped,
            millis,
            earlier: false,
        })
    }

    /// After the tables: the imported marks in raw_mail, the sequences
    /// past the imported ids, the folded tallies, fresh statistics.
    async fn finish_import(&self, progress: &mut dyn Progress) -> Result<()> {
        let done: Option<i64> =
            sqlx::query("SELECT 1 AS one FROM patchwork_import_table WHERE name = $1")
                .bind(MARKS_STEP)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("one"))
                .transpose()?;
        if done.is_none() {
            progress.start(MARKS_STEP, 4);
            let mut tx = self.begin_write().await?;
            let started = std::time::Instant::now();
            // Every imported submission's message-id, so that the same
            // mail arriving again is a duplicate as it would have been
            // upstream; received = the mail's date. The submissions are
            // not linked to these rows (raw_mail_id stays NULL): only
            // `reparse` follows that link, and it skips imported mail,
            // while setting it would rewrite every imported row, headers
            // and diffs included (4.5 minutes of a million-patch import).
            for select in [
                "SELECT project_id, msgid, date FROM patch",
                "SELECT project_id, msgid, date FROM cover",
                "SELECT p.project_id, c.msgid, c.date FROM patch_comment c \
                 JOIN patch p ON p.id = c.patch_id",
                "SELECT v.project_id, c.msgid, c.date FROM cover_comment c \
                 JOIN cover v ON v.id = c.cover_id",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO raw_mail (project_id, msgid, received, data, imported) \
                     SELECT s.project_id, s.msgid, MIN(s.date), $1, 1 FROM ({select}) s \
                     GROUP BY s.project_id, s.msgid \
                     ON CONFLICT (project_id, msgid) DO NOTHING"
                )))
                .bind(Vec::<u8>::new())
                .execute(&mut *tx)
                .await?;
                progress.advance(1);
            }
            let marks: i64 = sqlx::query("SELECT COUNT(*) AS n FROM raw_mail WHERE imported = 1")
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            sqlx::query(
                "INSERT INTO patchwork_import_table (name, source_rows, imported, skipped, \
                 millis, finished) VALUES ($1, $2, $2, 0, $3, $4)",
            )
            .bind(MARKS_STEP)
            .bind(marks)
            .bind(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX))
            .bind(time::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            progress.finish();
        }
        if self.backend == Backend::Postgres {
            // New rows must get ids after the imported ones; SQLite's
            // INTEGER PRIMARY KEY takes max(id) + 1 by itself.
            for table in SEQUENCED {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )))
                .execute(&self.pool)
                .await?;
            }
        }
        self.compact_tallies().await?;
        self.refresh_statistics().await?;
        sqlx::query("UPDATE patchwork_import SET finished = $1 WHERE finished IS NULL")
            .bind(time::now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Compares every imported table with its source: row counts, and a
    /// checksum of the rows as converted (ids, texts, dates in UTC), which
    /// does not depend on row order.
    pub async fn verify_patchwork_import(
        &self,
        source: &Source,
        options: &ImportOptions,
    ) -> Result<Vec<TableCheck>> {
        let projects = resolve_projects(source, &options.projects).await?;
        let mut out = Vec::new();
        for step in steps(source, &projects).await? {
            let mut src = Tally::default();
            for_each_window(source, &step, async |rows: Vec<Vec<Val>>| {
                for r in &rows {
                    src.add(r);
                }
                Ok(())
            })
            .await?;
            let dst = self.target_tally(&step).await?;
            out.push(TableCheck {
                name: step.table.to_string(),
                source_rows: src.rows,
                target_rows: dst.rows,
                source_checksum: format!("{:016x}", src.sum),
                target_checksum: format!("{:016x}", dst.sum),
            });
        }
        Ok(out)
    }

    async fn target_tally(&self, step: &Step) -> Result<Tally> {
        let cols: Vec<String> = step
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, _, _))| format!("{name} AS c{i}"))
            .collect();
        let base = format!("SELECT {} FROM {}", cols.join(", "), step.table);
        let mut tally = Tally::default();
        let read = |rows: Vec<sqlx::any::AnyRow>, tally: &mut Tally| -> Result<()> {
            for row in rows {
                let mut vals = Vec::with_capacity(step.columns.len());
                for (i, (_, _, conv)) in step.columns.iter().enumerate() {
                    vals.push(if conv.is_text() {
                        Val::Text(row.try_get(i)?)
                    } else {
                        Val::Int(row.try_get(i)?)
                    });
                }
                tally.add(&vals);
            }
            Ok(())
        };
        let Some(key) = step.target_key else {
            let rows = sqlx::query(sqlx::AssertSqlSafe(base))
                .fetch_all(&self.pool)
                .await?;
            read(rows, &mut tally)?;
            return Ok(tally);
        };
        let range = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT MIN({key}) AS lo, MAX({key}) AS hi FROM {}",
            step.table
        )))
        .fetch_one(&self.pool)
        .await?;
        let (Some(lo), Some(hi)) = (
            range.try_get::<Option<i64>, _>("lo")?,
            range.try_get::<Option<i64>, _>("hi")?,
        ) else {
            return Ok(tally);
        };
        let sql = format!("{base} WHERE {key} > $1 AND {key} <= $2");
        for (after, through) in windows(lo, hi) {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(through)
                .fetch_all(&self.pool)
                .await?;
            read(rows, &mut tally)?;
        }
        Ok(tally)
    }
}

/// One table compared by `--verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    /// The patchtrack table.
    pub name: String,
    /// Rows in the source (as the import reads them).
    pub source_rows: u64,
    /// Rows in the target.
    pub target_rows: u64,
    /// Checksum of the source rows as converted.
    pub source_checksum: String,
    /// Checksum of the target rows.
    pub target_checksum: String,
}

impl TableCheck {
    /// Whether both sides hold the same rows.
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

/// An order-independent checksum: the wrapping sum of each row's SHA-256
/// (first 8 bytes).
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    sum: u64,
}

impl Tally {
    fn add(&mut self, row: &[Val]) {
        let mut h = sha2::Sha256::new();
        for v in row {
            match v {
                Val::Int(None) | Val::Text(None) => h.update([0u8]),
                Val::Int(Some(i)) => {
                    h.update([1u8]);
                    h.update(i.to_le_bytes());
                }
                Val::Text(Some(s)) => {
                    h.update([2u8]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        let d = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(u64::from_le_bytes(first));
    }
}

/// The source ids of the projects named by linkname.
async fn resolve_projects(source: &Source, linknames: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for l in linknames {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} AS id FROM patchwork_project WHERE linkname = $1",
            source.int("id")
        )))
        .bind(l)
        .fetch_optional(&source.pool)
        .await?;
        match row {
            Some(r) => ids.push(r.try_get("id")?),
            None => {
                return Err(StoreError::NotFound(format!(
                    "the source has no project {l:?}"
                )));
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_key_once() {
        let w: Vec<_> = windows(1, 2 * WINDOW + 3).collect();
        assert_eq!(
            w,
            vec![
                (0, WINDOW),
                (WINDOW, 2 * WINDOW),
                (2 * WINDOW, 2 * WINDOW + 3)
            ]
        );
        assert_eq!(windows(7, 7).collect::<Vec<_>>(), vec![(6, 7)]);
    }
}
