//! The compact forms of objects that other objects embed (a patch's
//! submitter, a series' patches, an event's payload). Loaded in batches,
//! one statement per kind and page, never one per row.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::Result;
use crate::sql::Sql;
use crate::time::Micros;

/// A mail author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    /// Primary key.
    pub id: i64,
    /// Display name, if the mail had one.
    pub name: Option<String>,
    /// Address as first seen.
    pub email: String,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// Primary key.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Address.
    pub email: String,
}

/// A patch, as listed inside series, bundles, relations and events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchRef {
    /// Primary key.
    pub id: i64,
    /// Project it belongs to.
    pub project_id: i64,
    /// Message-id with angle brackets.
    pub msgid: String,
    /// Mail date (UTC).
    pub date: Micros,
    /// Cleaned subject.
    pub name: String,
}

/// A cover letter, as embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverRef {
    /// Primary key.
    pub id: i64,
    /// Project it belongs to.
    pub project_id: i64,
    /// Message-id with angle brackets.
    pub msgid: String,
    /// Mail date (UTC).
    pub date: Micros,
    /// Cleaned subject.
    pub name: String,
}

/// A series, as embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRef {
    /// Primary key.
    pub id: i64,
    /// Project it belongs to.
    pub project_id: i64,
    /// Name, when known.
    pub name: Option<String>,
    /// Date of its first mail.
    pub date: Micros,
    /// Revision (`vN`).
    pub version: i64,
}

pub(crate) fn person(r: &AnyRow, prefix: &str) -> Result<PersonRef, sqlx::Error> {
    Ok(PersonRef {
        id: r.try_get(format!("{prefix}id").as_str())?,
        name: r.try_get(format!("{prefix}name").as_str())?,
        email: r.try_get(format!("{prefix}email").as_str())?,
    })
}

/// A user from columns `{prefix}id`, `{prefix}username`, ...; None when the
/// id is NULL (an outer join that found nothing).
pub(crate) fn user(r: &AnyRow, prefix: &str) -> Result<Option<UserRef>, sqlx::Error> {
    let Some(id) = r.try_get::<Option<i64>, _>(format!("{prefix}id").as_str())? else {
        return Ok(None);
    };
    Ok(Some(UserRef {
        id,
        username: r.try_get(format!("{prefix}username").as_str())?,
        first_name: r.try_get(format!("{prefix}first_name").as_str())?,
        last_name: r.try_get(format!("{prefix}last_name").as_str())?,
        email: r.try_get(format!("{prefix}email").as_str())?,
    }))
}

/// Column list selecting a person joined as `alias`, named `{prefix}...`.
pub(crate) fn person_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.id AS {prefix}id, {alias}.name AS {prefix}name, {alias}.email AS {prefix}email"
    )
}

/// Column list selecting a user joined as `alias`, named `{prefix}...`.
pub(crate) fn user_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.id AS {prefix}id, {alias}.username AS {prefix}username, \
         {alias}.first_name AS {prefix}first_name, {alias}.last_name AS {prefix}last_name, \
         {alias}.email AS {prefix}email"
    )
}

/// A series from columns `{prefix}id`, ...; None when the id is NULL.
pub(crate) fn series(r: &AnyRow, prefix: &str) -> Result<Option<SeriesRef>, sqlx::Error> {
    let Some(id) = r.try_get::<Option<i64>, _>(format!("{prefix}id").as_str())? else {
        return Ok(None);
    };
    Ok(Some(SeriesRef {
        id,
        project_id: r.try_get(format!("{prefix}project_id").as_str())?,
        name: r.try_get(format!("{prefix}name").as_str())?,
        date: r.try_get(format!("{prefix}date").as_str())?,
        version: r.try_get(format!("{prefix}version").as_str())?,
    }))
}

/// Column list selecting a series joined as `alias`.
pub(crate) fn series_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.id AS {prefix}id, {alias}.project_id AS {prefix}project_id, \
         {alias}.name AS {prefix}name, {alias}.date AS {prefix}date, \
         {alias}.version AS {prefix}version"
    )
}

/// The columns patches and covers share: id, project, msgid, date, name.
pub(crate) type Submission = (i64, i64, String, Micros, String);

/// A patch or cover from columns `{prefix}id`, ...; None when NULL.
pub(crate) fn submission(r: &AnyRow, prefix: &str) -> Result<Option<Submission>, sqlx::Error> {
    let Some(id) = r.try_get::<Option<i64>, _>(format!("{prefix}id").as_str())? else {
        return Ok(None);
    };
    Ok(Some((
        id,
        r.try_get(format!("{prefix}project_id").as_str())?,
        r.try_get(format!("{prefix}msgid").as_str())?,
        r.try_get(format!("{prefix}date").as_str())?,
        r.try_get(format!("{prefix}name").as_str())?,
    )))
}

/// Column list selecting a patch or cover joined as `alias`.
pub(crate) fn submission_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.id AS {prefix}id, {alias}.project_id AS {prefix}project_id, \
         {alias}.msgid AS {prefix}msgid, {alias}.date AS {prefix}date, \
         {alias}.name AS {prefix}name"
    )
}

pub(crate) fn patch_ref(t: Submission) -> PatchRef {
    PatchRef {
        id: t.0,
        project_id: t.1,
        msgid: t.2,
        date: t.3,
        name: t.4,
    }
}

pub(crate) fn cover_ref(t: Submission) -> CoverRef {
    CoverRef {
        id: t.0,
        project_id: t.1,
        msgid: t.2,
        date: t.3,
        name: t.4,
    }
}

/// The first `limit` patches of each of `series_ids`, by date (Patchwork's
/// model order). Mail alone makes a series (any `n/N` subject joins one),
/// so the limit bounds what one series costs every page that lists it.
pub(crate) async fn patches_of_series<'e, E>(
    executor: E,
    series_ids: &[i64],
    limit: usize,
) -> Result<HashMap<i64, Vec<PatchRef>>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut out: HashMap<i64, Vec<PatchRef>> = HashMap::new();
    if series_ids.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new(&format!(
        "SELECT * FROM (SELECT p.series_id AS series_id, {}, ROW_NUMBER() OVER \
         (PARTITION BY p.series_id ORDER BY p.date, p.id) AS place \
         FROM patch p WHERE p.series_id IN ",
        submission_columns("p", "p_")
    ));
    sql.bind_list(series_ids.iter().copied());
    sql.push(") ranked WHERE place <= ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    sql.push(" ORDER BY series_id, place");
    for row in sql.fetch_all(executor).await? {
        let series: i64 = row.try_get("series_id")?;
        if let Some(t) = submission(&row, "p_")? {
            out.entry(series).or_default().push(patch_ref(t));
        }
    }
    Ok(out)
}
