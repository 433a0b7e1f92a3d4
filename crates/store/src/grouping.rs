//! Series: grouping patches and cover letters into postings and revisions,
//! exactly as Patchwork does (reference §2): by shared message-ids first,
//! else by submitter, version, total and a ±20-minute window; a number
//! already taken starts a new series.

use sqlx::Row;

use crate::error::Result;
use crate::event::{EventRefs, Events};
use crate::time::Micros;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Patchwork's `SERIES_DELAY_INTERVAL`: minutes either side of a series'
/// date within which unthreaded patches still join it.
const DELAY_MICROS: i64 = 20 * 60 * 1_000_000;

/// What series assignment needs to know about a new patch or cover.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub project_id: i64,
    pub msgid: &'a str,
    pub refs: &'a [String],
    pub date: Micros,
    pub submitter_id: i64,
    pub version: i64,
}

impl<'a> Member<'a> {
    /// The member for a new patch or cover built from `mail`.
    pub(crate) fn of(
        project_id: i64,
        mail: &'a patchtrack_mail::ParsedMail,
        submitter_id: i64,
        date: Micros,
    ) -> Self {
        Member {
            project_id,
            msgid: mail.msgid.as_deref().unwrap_or_default(),
            refs: &mail.references,
            date,
            submitter_id,
            version: i64::from(mail.version),
        }
    }
}

fn truncated(id: &str) -> &str {
    patchtrack_mail::text::truncate_chars(id, 255)
}

/// The series a reference (own msgid first, then refs) points to: the
/// first id, in that order, that some series recorded.
async fn by_references(tx: &mut Tx, m: &Member<'_>) -> Result<Option<i64>> {
    let mut ids: Vec<&str> = Vec::with_capacity(m.refs.len() + 1);
    ids.push(truncated(m.msgid));
    ids.extend(m.refs.iter().map(|r| truncated(r)));
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT msgid, series_id FROM series_reference WHERE project_id = $1 AND msgid IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(m.project_id);
    for id in &ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        found.insert(
            row.try_get::<String, _>("msgid")?,
            row.try_get::<i64, _>("series_id")?,
        );
    }
    Ok(ids.iter().find_map(|id| found.get(*id).copied()))
}

/// A series' name and total and the (number, patch id) pairs of its
/// patches, in one statement.
async fn contents(tx: &mut Tx, series_id: i64) -> Result<(Option<String>, i64, Vec<(i64, i64)>)> {
    let rows = sqlx::query(
        "SELECT s.name, s.total, p.id AS patch_id, p.number FROM series s \
         LEFT JOIN patch p ON p.series_id = s.id WHERE s.id = $1",
    )
    .bind(series_id)
    .fetch_all(&mut **tx)
    .await?;
    let (mut name, mut total, mut present) = (None, 0, Vec::with_capacity(rows.len()));
    for r in &rows {
        name = r.try_get("name")?;
        total = r.try_get("total")?;
        if let Some(id) = r.try_get::<Option<i64>, _>("patch_id")? {
            present.push((r.try_get::<Option<i64>, _>("number")?.unwrap_or(0), id));
        }
    }
    Ok((name, total, present))
}

async fn has_number(tx: &mut Tx, series_id: i64, number: i64) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM patch WHERE series_id = $1 AND number = $2")
            .bind(series_id)
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// Unthreaded grouping: same submitter, version and total, date within the
/// window. With several candidates, the newest without patch `x`.
async fn by_markers(tx: &mut Tx, m: &Member<'_>, x: i64, n: i64) -> Result<Option<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM series WHERE project_id = $1 AND submitter_id = $2 AND version = $3 \
         AND total = $4 AND date >= $5 AND date <= $6 ORDER BY date DESC, id DESC",
    )
    .bind(m.project_id)
    .bind(m.submitter_id)
    .bind(m.version)
    .bind(n)
    .bind(m.date.saturating_sub(DELAY_MICROS))
    .bind(m.date.saturating_add(DELAY_MICROS))
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, sqlx::Error>>()?;
    match ids.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => {
            for &id in many {
                if !has_number(tx, id, x).await? {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        }
    }
}

async fn create(
    tx: &mut Tx,
    events: &mut Events,
    m: &Member<'_>,
    total: i64,
    refs: &[&str],
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO series (project_id, date, submitter_id, version, total) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(m.project_id)
    .bind(m.date)
    .bind(m.submitter_id)
    .bind(m.version)
    .bind(total)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    // An id already mapped to an older series keeps that mapping.
    let mut unique: Vec<&str> = Vec::with_capacity(refs.len());
    for r in refs {
        let r = truncated(r);
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    if !unique.is_empty() {
        let values: Vec<String> = (0..unique.len())
            .map(|i| format!("($1, $2, ${})", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO series_reference (project_id, series_id, msgid) VALUES {} \
             ON CONFLICT (project_id, msgid) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(m.project_id)
            .bind(id);
        for r in &unique {
            query = query.bind(*r);
        }
        query.execute(&mut **tx).await?;
    }
    events.push(
        "series-created",
        m.project_id,
        EventRefs {
            series: Some(id),
            ..EventRefs::default()
        },
    );
    Ok(id)
}

/// Where a new patch goes: its series (found or just created) and number.
#[derive(Debug)]
pub(crate) struct Placement {
    /// The series; a `0/N` patch with a diff gets none (though a series may
    /// have been created for it, as upstream does).
    pub series: Option<i64>,
    /// The patch's number in it.
    pub number: i64,
    /// The series' name and total as they were before this patch.
    name: Option<String>,
    total: i64,
    /// (number, patch id) of the patches already in the series.
    present: Vec<(i64, i64)>,
    /// The patch this one replaces in the series (a `v5.1` resend).
    pub replaces: Option<i64>,
}

/// The placement of a patch that replaces patch `old` of `series`: the
/// same number, and none of the completion events (the series had that
/// number already).
pub(crate) async fn place_replacement(
    tx: &mut Tx,
    series: i64,
    number: i64,
    old: i64,
) -> Result<Placement> {
    let (name, total, mut present) = contents(tx, series).await?;
    present.retain(|(_, id)| *id != old);
    Ok(Placement {
        series: Some(series),
        number,
        name,
        total,
        present,
        replaces: Some(old),
    })
}

/// Finds or creates the series of a new patch, before the patch is stored,
/// so that it is stored with its series and number. `marker` is the
/// subject's `(x, n)`.
pub(crate) async fn place_patch(
    tx: &mut Tx,
    events: &mut Events,
    m: &Member<'_>,
    marker: Option<(u32, u32)>,
) -> Result<Placement> {
    let (x, n, search) = match marker {
        Some((x, n)) if n != 0 => (i64::from(x), i64::from(n), true),
        _ => (1, 1, false),
    };
    let mut found = None;
    if search {
        found = by_references(tx, m).await?;
        if found.is_none() {
            found = by_markers(tx, m, x, n).await?;
        }
    }
    let mut existing = None;
    if let Some(s) = found {
        let (name, total, present) = contents(tx, s).await?;
        // A number already taken means a new posting.
        if !present.iter().any(|(num, _)| *num == x) {
            existing = Some((s, name, total, present));
        }
    }
    // A series created here has no name yet and a total of `n`.
    let (series, name, total, present) = match existing {
        Some(e) => e,
        None => {
            let mut refs: Vec<&str> = m.refs.iter().map(String::as_str).collect();
            refs.push(m.msgid);
            (create(tx, events, m, n, &refs).await?, None, n, Vec::new())
        }
    };
    Ok(Placement {
        // A `0/N` mail with a diff is a patch in no series.
        series: (x != 0).then_some(series),
        number: x,
        name,
        total,
        present,
        replaces: None,
    })
}

/// Completes the placement once the patch is stored: the series name and
/// the completion events.
pub(crate) async fn patch_placed(
    tx: &mut Tx,
    events: &mut Events,
    m: &Member<'_>,
    placement: &Placement,
    patch_id: i64,
    name: &str,
) -> Result<()> {
    let Some(series) = placement.series else {
        return Ok(());
    };
    if placement.replaces.is_some() {
        return Ok(());
    }
    add_patch(
        tx,
        events,
        m,
        series,
        placement.name.as_deref(),
        placement.total,
        &placement.present,
        patch_id,
        placement.number,
        name,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn add_patch(
    tx: &mut Tx,
    events: &mut Events,
    m: &Member<'_>,
    series_id: i64,
    series_name: Option<&str>,
    total: i64,
    present: &[(i64, i64)],
    patch_id: i64,
    number: i64,
    name: &str,
) -> Result<()> {
    // Upstream tests the name's truth, so a series named "" (a cover whose
    // subject was only prefixes) still takes patch 1's name.
    if number == 1 && series_name.is_none_or(str::is_empty) {
        sqlx::query("UPDATE series SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(series_id)
            .execute(&mut **tx)
            .await?;
    }

    let refs = |patch: i64| EventRefs {
        patch: Some(patch),
        series: Some(series_id),
        ..EventRefs::default()
    };
    // patch-completed for this patch once every lower number is present,
    // then for each consecutive successor it unblocks.
    let below = present.iter().filter(|(num, _)| *num < number).count() as i64;
    if below == number - 1 {
        events.push("patch-completed", m.project_id, refs(patch_id));
        let mut next = number + 1;
        while let Some(&(_, id)) = present.iter().find(|(num, _)| *num == next) {
            events.push("patch-completed", m.project_id, refs(id));
            next += 1;
        }
    }
    if present.len() as i64 + 1 >= total {
        let refs = EventRefs {
            series: Some(series_id),
            ..EventRefs::default()
        };
        events.push("series-completed", m.project_id, refs);
    }
    Ok(())
}

/// The series of a new cover letter: the one a patch already mapped this
/// message-id to, else a new one. Only the cover's own id is recorded.
pub(crate) async fn series_for_cover(
    tx: &mut Tx,
    events: &mut Events,
    m: &Member<'_>,
    total: i64,
) -> Result<i64> {
    let row =
        sqlx::query("SELECT series_id FROM series_reference WHERE project_id = $1 AND msgid = $2")
            .bind(m.project_id)
            .bind(truncated(m.msgid))
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        Some(r) => Ok(r.try_get("series_id")?),
        None => create(tx, events, m, total, &[m.msgid]).await,
    }
}

/// `[v2,0/3] Fix things` → `Fix things`.
fn without_leading_prefix(name: &str) -> &str {
    match name.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((_, rest)) => patchtrack_mail::text::py_lstrip(rest),
        None => name,
    }
}

/// Links a cover letter to its series (unless it has one already) and gives
/// the series the cover's name when it had none or only patch 1's.
pub(crate) async fn add_cover_letter(
    tx: &mut Tx,
    series_id: i64,
    cover_id: i64,
    cover_name: &str,
) -> Result<()> {
    let row = sqlx::query("SELECT cover_letter_id, name FROM series WHERE id = $1")
        .bind(series_id)
        .fetch_one(&mut **tx)
        .await?;
    if row.try_get::<Option<i64>, _>("cover_letter_id")?.is_some() {
        return Ok(());
    }
    let current: Option<String> = row.try_get("name")?;
    let first_patch: Option<String> =
        sqlx::query("SELECT name FROM patch WHERE series_id = $1 AND number = 1")
            .bind(series_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("name"))
            .transpose()?;
    let cover_name = without_leading_prefix(cover_name);
    // A name never gives way to an empty one: upstream replaces patch 1's
    // name with an empty cover name (docs/compatibility.md).
    let rename = current.as_deref().is_none_or(str::is_empty)
        || (current == first_patch && !cover_name.is_empty());
    let name = if rename {
        Some(cover_name.to_string())
    } else {
        current
    };
    sqlx::query("UPDATE series SET cover_letter_id = $1, name = $2 WHERE id = $3")
        .bind(cover_id)
        .bind(name)
        .bind(series_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Resolves `Depends-on:` tokens to series and records them as
/// dependencies of `series_id` (same project only, never itself).
pub(crate) async fn add_dependencies(
    tx: &mut Tx,
    project_id: i64,
    series_id: i64,
    deps: &[patchtrack_mail::trailers::Dependency],
) -> Result<()> {
    use patchtrack_mail::trailers::Dependency;
    for dep in deps {
        let target = match dep {
            Dependency::Url(url) => series_from_url(tx, url).await?,
            Dependency::Msgid(id) => series_from_msgid(tx, id).await?,
        };
        let Some(target) = target else { continue };
        if target == series_id {
            continue;
        }
        let same_project =
            sqlx::query("SELECT 1 AS one FROM series WHERE id = $1 AND project_id = $2")
                .bind(target)
                .bind(project_id)
                .fetch_optional(&mut **tx)
                .await?
                .is_some();
        if !same_project {
            continue;
        }
        sqlx::query(
            "INSERT INTO series_dependency (series_id, depends_on_id) VALUES ($1, $2) \
             ON CONFLICT (series_id, depends_on_id) DO NOTHING",
        )
        .bind(series_id)
        .bind(target)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn series_of_patch_msgid(tx: &mut Tx, msgid: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT series_id FROM patch WHERE msgid = $1 ORDER BY id LIMIT 1")
        .bind(msgid)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>, _>("series_id")?,
        None => None,
    })
}

async fn series_from_msgid(tx: &mut Tx, msgid: &str) -> Result<Option<i64>> {
    let patch = sqlx::query("SELECT series_id FROM patch WHERE msgid = $1 ORDER BY id LIMIT 1")
        .bind(msgid)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(r) = patch {
        return Ok(r.try_get::<Option<i64>, _>("series_id")?);
    }
    let cover = sqlx::query(
        "SELECT s.id AS id FROM cover c JOIN series s ON s.cover_letter_id = c.id \
         WHERE c.msgid = $1 ORDER BY c.id LIMIT 1",
    )
    .bind(msgid)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(cover.map(|r| r.try_get("id")).transpose()?)
}

/// `.../project/P/list/?series=N` gives series N; `.../project/P/patch/ID/`
/// gives the series of the first patch with message-id `<ID>`. The host is
/// ignored; other URLs give nothing.
async fn series_from_url(tx: &mut Tx, url: &str) -> Result<Option<i64>> {
    let Some(after_scheme) = url.split_once("://").map(|(_, r)| r) else {
        return Ok(None);
    };
    let path_and_query = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["project", _, "list"] => {
            let id = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("series="))
                .and_then(|v| v.parse::<i64>().ok());
            let Some(id) = id else { return Ok(None) };
            let exists = sqlx::query("SELECT id FROM series WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .is_some();
            Ok(exists.then_some(id))
        }
        ["project", _, "patch", msgid] => {
            let msgid = format!("<{}>", msgid.replace("%2F", "/").replace("%2f", "/"));
            series_of_patch_msgid(tx, &msgid).await
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::without_leading_prefix;

    #[test]
    fn cover_names_lose_their_first_bracket() {
        assert_eq!(
            without_leading_prefix("[0/2] A sample series"),
            "A sample series"
        );
        assert_eq!(without_leading_prefix("[v2,0/2] x [y]"), "x [y]");
        assert_eq!(without_leading_prefix("plain"), "plain");
    }
}
