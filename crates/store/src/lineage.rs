//! Version lineage: which posting each series revises, decided inside the
//! transaction of every mail that joins a series, from the best evidence
//! seen so far (see [`Evidence`]), and a `v5.1` patch that replaces one
//! patch of a series.
//!
//! The set-based rules (change-id and name) are applied both ways: a new
//! posting looks for the one it revises, and for later postings that
//! should now point at it, so that deliveries out of order (concurrent
//! ones included) end with the links a delivery in date order gives.

use std::collections::HashMap;

use sqlx::Row;

use patchtrack_mail::ParsedMail;
use patchtrack_mail::lineage::name_key;

use crate::error::Result;
use crate::event::{EventRefs, Events};
use crate::sql::Sql;
use crate::time::Micros;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// How a posting was linked to the one it revises, best first: a weaker
/// link gives way when a later mail of the series brings a stronger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    /// b4's `change-id:` footer, the same in every version.
    ChangeId,
    /// A `Link to vN:` line naming a mail of the older posting.
    Link,
    /// A mail of the series answers a mail of the older posting.
    InReplyTo,
    /// A `Supersedes:` or `Obsoletes:` header or line.
    Supersedes,
    /// Same project, submitter and name once prefixes are folded, lower
    /// version.
    Name,
}

impl Evidence {
    /// The name stored and served (API 1.5 `evidence`).
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::ChangeId => "change-id",
            Evidence::Link => "link",
            Evidence::InReplyTo => "in-reply-to",
            Evidence::Supersedes => "supersedes",
            Evidence::Name => "name",
        }
    }

    /// The evidence a stored name stands for.
    pub fn parse(s: &str) -> Option<Evidence> {
        [
            Evidence::ChangeId,
            Evidence::Link,
            Evidence::InReplyTo,
            Evidence::Supersedes,
            Evidence::Name,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// A series as lineage compares them.
#[derive(Debug, Clone, Copy)]
struct Posting {
    id: i64,
    version: i64,
    date: Micros,
}

impl Posting {
    /// Whether `self` may be revised by `later`: every link goes down in
    /// (version, date), so links never form a cycle.
    fn precedes(&self, later: &Posting) -> bool {
        self.id != later.id && (self.version, self.date) < (later.version, later.date)
    }

    /// The order candidates are ranked in: the closest older version.
    fn rank(&self) -> (i64, Micros, i64) {
        (self.version, self.date, self.id)
    }
}

fn posting(r: &sqlx::any::AnyRow) -> Result<Posting> {
    Ok(Posting {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        date: r.try_get("date")?,
    })
}

/// The mail that just joined a series, as lineage reads it.
pub(crate) struct Joined<'a> {
    pub series_id: i64,
    pub mail: &'a ParsedMail,
    /// The patch's number and name, for a patch.
    pub patch: Option<(i64, &'a str)>,
}

struct SeriesRow {
    me: Posting,
    project_id: i64,
    submitter_id: i64,
    name: Option<String>,
    previous: Option<i64>,
    evidence: Option<Evidence>,
    change_id: Option<String>,
    total: i64,
    received: i64,
    auto_supersede: bool,
}

async fn load(tx: &mut Tx, series_id: i64) -> Result<SeriesRow> {
    let r = sqlx::query(
        "SELECT s.id, s.version, s.date, s.project_id, s.submitter_id, s.name, s.previous_id, \
         s.lineage, s.change_id, s.total, pr.auto_supersede, \
         (SELECT COUNT(*) FROM patch x WHERE x.series_id = s.id) AS received \
         FROM series s JOIN project pr ON pr.id = s.project_id WHERE s.id = $1",
    )
    .bind(series_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(SeriesRow {
        me: posting(&r)?,
        project_id: r.try_get("project_id")?,
        submitter_id: r.try_get("submitter_id")?,
        name: r.try_get("name")?,
        previous: r.try_get("previous_id")?,
        evidence: r
            .try_get::<Option<String>, _>("lineage")?
            .as_deref()
            .and_then(Evidence::parse),
        change_id: r.try_get("change_id")?,
        total: r.try_get("total")?,
        received: r.try_get("received")?,
        auto_supersede: r.try_get::<i64, _>("auto_supersede")? != 0,
    })
}

/// Updates the lineage after a patch or cover joined a series: records
/// the mail's change-id and names, links the series to the posting it
/// revises when this mail brings better evidence than the link it has,
/// re-points later postings the change-id or name rule now sends here,
/// and, where the project asks for it, supersedes the older version's
/// open patches once this one is complete.
pub(crate) async fn joined(tx: &mut Tx, events: &mut Events, j: &Joined<'_>) -> Result<()> {
    let mut s = load(tx, j.series_id).await?;
    let hints = &j.mail.lineage;
    if s.change_id.is_none()
        && let Some(c) = &hints.change_id
    {
        sqlx::query("UPDATE series SET change_id = $1 WHERE id = $2")
            .bind(c)
            .bind(s.me.id)
            .execute(&mut **tx)
            .await?;
        s.change_id = Some(c.clone());
    }
    let mut keys: Vec<String> = Vec::with_capacity(2);
    let first_patch = j.patch.filter(|(number, _)| *number == 1).map(|(_, n)| n);
    for name in [s.name.as_deref(), first_patch].into_iter().flatten() {
        if let Some(k) = name_key(name).filter(|k| !keys.contains(k)) {
            keys.push(k);
        }
    }
    let new_keys = record_keys(tx, &s, &keys).await?;

    let mut linked = false;
    if let Some((found, evidence)) = find_previous(tx, &s, j, &keys).await?
        && s.evidence.is_none_or(|e| evidence < e)
        && s.previous != Some(found)
    {
        set_previous(tx, s.me.id, found, evidence).await?;
        s.previous = Some(found);
        s.evidence = Some(evidence);
        linked = true;
    }
    if let Some(c) = s.change_id.clone() {
        let later = sqlx::query(
            "SELECT id, version, date, previous_id, lineage FROM series \
             WHERE project_id = $1 AND change_id = $2 AND version > $3",
        )
        .bind(s.project_id)
        .bind(c)
        .bind(s.me.version)
        .fetch_all(&mut **tx)
        .await?;
        repoint(tx, &s.me, later, Evidence::ChangeId).await?;
    }
    if !new_keys.is_empty() {
        let mut sql = Sql::new(
            "SELECT DISTINCT s.id, s.version, s.date, s.previous_id, s.lineage \
             FROM series_name_key k JOIN series s ON s.id = k.series_id WHERE k.project_id = ",
        );
        sql.bind(s.project_id)
            .push(" AND k.submitter_id = ")
            .bind(s.submitter_id)
            .push(" AND k.name_key IN ")
            .bind_list(new_keys.iter().cloned())
            .push(" AND s.version > ")
            .bind(s.me.version);
        let later = sql.fetch_all(&mut **tx).await?;
        repoint(tx, &s.me, later, Evidence::Name).await?;
    }
    if s.previous.is_some() {
        relink_patches(tx, s.me.id).await?;
    }
    let completed_now = j.patch.is_some() && s.received == s.total;
    if s.auto_supersede
        && s.received >= s.total
        && (linked || completed_now)
        && let Some(previous) = s.previous
    {
        supersede(tx, events, s.project_id, previous).await?;
    }
    Ok(())
}

/// A series' link: the posting it revises and the evidence.
pub(crate) async fn link_of(tx: &mut Tx, series_id: i64) -> Result<(Option<i64>, Option<String>)> {
    let r = sqlx::query("SELECT previous_id, lineage FROM series WHERE id = $1")
        .bind(series_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok((r.try_get("previous_id")?, r.try_get("lineage")?))
}

/// Stores the name keys a series is known by; returns the new ones.
async fn record_keys(tx: &mut Tx, s: &SeriesRow, keys: &[String]) -> Result<Vec<String>> {
    let mut new = Vec::new();
    for k in keys {
        let added = sqlx::query(
            "INSERT INTO series_name_key (project_id, submitter_id, name_key, series_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(s.project_id)
        .bind(s.submitter_id)
        .bind(k)
        .bind(s.me.id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if added > 0 {
            new.push(k.clone());
        }
    }
    Ok(new)
}

async fn set_previous(tx: &mut Tx, series: i64, previous: i64, e: Evidence) -> Result<()> {
    sqlx::query("UPDATE series SET previous_id = $1, lineage = $2 WHERE id = $3")
        .bind(previous)
        .bind(e.as_str())
        .bind(series)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The best posting this mail's evidence points to, strongest evidence
/// first; only evidence stronger than the series' current link is looked
/// up.
async fn find_previous(
    tx: &mut Tx,
    s: &SeriesRow,
    j: &Joined<'_>,
    keys: &[String],
) -> Result<Option<(i64, Evidence)>> {
    let hints = &j.mail.lineage;
    let stronger = |e: Evidence| s.evidence.is_none_or(|cur| e < cur);
    if stronger(Evidence::ChangeId)
        && let Some(c) = &s.change_id
    {
        let rows = sqlx::query(
            "SELECT id, version, date FROM series WHERE project_id = $1 AND change_id = $2 \
             AND version < $3",
        )
        .bind(s.project_id)
        .bind(c)
        .bind(s.me.version)
        .fetch_all(&mut **tx)
        .await?;
        if let Some(p) = best(&s.me, &rows)? {
            return Ok(Some((p, Evidence::ChangeId)));
        }
    }
    let by_msgid = [
        (Evidence::Link, &hints.links),
        (Evidence::InReplyTo, &j.mail.references),
        (Evidence::Supersedes, &hints.supersedes),
    ];
    for (evidence, ids) in by_msgid {
        if !stronger(evidence) || ids.is_empty() {
            continue;
        }
        let rows = series_of_msgids(tx, s.project_id, ids).await?;
        if let Some(p) = best(&s.me, &rows)? {
            return Ok(Some((p, evidence)));
        }
    }
    if stronger(Evidence::Name) && !keys.is_empty() {
        let mut sql = Sql::new(
            "SELECT DISTINCT s.id, s.version, s.date FROM series_name_key k \
             JOIN series s ON s.id = k.series_id WHERE k.project_id = ",
        );
        sql.bind(s.project_id)
            .push(" AND k.submitter_id = ")
            .bind(s.submitter_id)
            .push(" AND k.name_key IN ")
            .bind_list(keys.iter().cloned())
            .push(" AND s.version < ")
            .bind(s.me.version);
        let rows = sql.fetch_all(&mut **tx).await?;
        if let Some(p) = best(&s.me, &rows)? {
            return Ok(Some((p, Evidence::Name)));
        }
    }
    Ok(None)
}

/// The closest older posting among `rows` that `me` may revise. The
/// change-id and name rules ask for a lower version in their query; the
/// others name mails explicitly and take any posting before this one.
fn best(me: &Posting, rows: &[sqlx::any::AnyRow]) -> Result<Option<i64>> {
    let mut found: Option<Posting> = None;
    for r in rows {
        let p = posting(r)?;
        if p.precedes(me) && found.is_none_or(|f| p.rank() > f.rank()) {
            found = Some(p);
        }
    }
    Ok(found.map(|p| p.id))
}

/// The series (of this project) the given message-ids belong to: as a
/// patch, as a cover letter, or through the references grouping kept.
async fn series_of_msgids(
    tx: &mut Tx,
    project: i64,
    ids: &[String],
) -> Result<Vec<sqlx::any::AnyRow>> {
    let ids: Vec<String> = ids
        .iter()
        .map(|i| patchtrack_mail::text::truncate_chars(i, 255).to_string())
        .take(50)
        .collect();
    let mut sql = Sql::new("SELECT id, version, date FROM series WHERE project_id = ");
    sql.bind(project)
        .push(" AND id IN (SELECT series_id FROM patch WHERE project_id = ")
        .bind(project)
        .push(" AND msgid IN ")
        .bind_list(ids.iter().cloned())
        .push(" UNION SELECT x.id FROM cover c JOIN series x ON x.cover_letter_id = c.id WHERE c.project_id = ")
        .bind(project)
        .push(" AND c.msgid IN ")
        .bind_list(ids.iter().cloned())
        .push(" UNION SELECT series_id FROM series_reference WHERE project_id = ")
        .bind(project)
        .push(" AND msgid IN ")
        .bind_list(ids.iter().cloned())
        .push(")");
    sql.fetch_all(&mut **tx).await
}

/// Points each later posting at `me` where `me` is now its best
/// candidate by `evidence`: it has weaker evidence, or the same evidence
/// and an older or lower posting.
async fn repoint(
    tx: &mut Tx,
    me: &Posting,
    later: Vec<sqlx::any::AnyRow>,
    evidence: Evidence,
) -> Result<()> {
    for r in later {
        let other = posting(&r)?;
        if !me.precedes(&other) {
            continue;
        }
        let current: Option<i64> = r.try_get("previous_id")?;
        let current_evidence = r
            .try_get::<Option<String>, _>("lineage")?
            .as_deref()
            .and_then(Evidence::parse);
        let take = match (current, current_evidence) {
            (None, _) | (_, None) => true,
            (Some(c), _) if c == me.id => false,
            (Some(_), Some(e)) if evidence < e => true,
            (Some(c), Some(e)) if e == evidence => {
                let row = sqlx::query("SELECT id, version, date FROM series WHERE id = $1")
                    .bind(c)
                    .fetch_optional(&mut **tx)
                    .await?;
                match row {
                    Some(row) => posting(&row)?.rank() < me.rank(),
                    None => true,
                }
            }
            _ => false,
        };
        if take {
            set_previous(tx, other.id, me.id, evidence).await?;
            relink_patches(tx, other.id).await?;
        }
    }
    Ok(())
}

/// Sets `supersedes_id` of a series' patches to their counterpart in the
/// posting it revises: the patch with the same folded name, else the one
/// with the same number. Replacements keep the patch they replaced.
pub(crate) async fn relink_patches(tx: &mut Tx, series_id: i64) -> Result<()> {
    let previous: Option<i64> = sqlx::query("SELECT previous_id FROM series WHERE id = $1")
        .bind(series_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("previous_id")?;
    let Some(previous) = previous else {
        return Ok(());
    };
    let rows = sqlx::query(
        "SELECT p.id, p.series_id, p.number, p.name, p.supersedes_id, \
         (SELECT MIN(o.id) FROM patch o WHERE o.replaced_by_id = p.id) AS replaced \
         FROM patch p WHERE p.series_id = $1 OR p.series_id = $2 ORDER BY p.number, p.id",
    )
    .bind(series_id)
    .bind(previous)
    .fetch_all(&mut **tx)
    .await?;
    struct P {
        id: i64,
        number: Option<i64>,
        key: Option<String>,
        supersedes: Option<i64>,
        replaced: Option<i64>,
    }
    let (mut mine, mut older) = (Vec::new(), Vec::new());
    for r in &rows {
        let p = P {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            key: name_key(&r.try_get::<String, _>("name")?),
            supersedes: r.try_get("supersedes_id")?,
            replaced: r.try_get("replaced")?,
        };
        if r.try_get::<Option<i64>, _>("series_id")? == Some(series_id) {
            mine.push(p);
        } else {
            older.push(p);
        }
    }
    let mut taken: HashMap<i64, ()> = HashMap::new();
    let mut matched: HashMap<i64, i64> = HashMap::new();
    for p in mine.iter().filter(|p| p.replaced.is_none()) {
        let Some(key) = &p.key else { continue };
        let same: Vec<&P> = older
            .iter()
            .filter(|o| o.key.as_ref() == Some(key))
            .collect();
        if let [one] = same.as_slice() {
            matched.insert(p.id, one.id);
            taken.insert(one.id, ());
        }
    }
    for p in mine.iter().filter(|p| p.replaced.is_none()) {
        if matched.contains_key(&p.id) {
            continue;
        }
        if let Some(o) = older
            .iter()
            .find(|o| o.number == p.number && !taken.contains_key(&o.id))
        {
            matched.insert(p.id, o.id);
            taken.insert(o.id, ());
        }
    }
    for p in &mine {
        let want = match p.replaced {
            Some(r) => Some(r),
            None => matched.get(&p.id).copied(),
        };
        if want != p.supersedes {
            sqlx::query("UPDATE patch SET supersedes_id = $1 WHERE id = $2")
                .bind(want)
                .bind(p.id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Moves the open patches (action-required state, not archived) of an
/// older posting to `superseded`, with an event each and no actor: the
/// tracker did it. Nothing happens where no state has that slug.
async fn supersede(tx: &mut Tx, events: &mut Events, project: i64, series: i64) -> Result<()> {
    let state = sqlx::query("SELECT id FROM state WHERE slug = 'superseded'")
        .fetch_optional(&mut **tx)
        .await?;
    let Some(state) = state else { return Ok(()) };
    let superseded: i64 = state.try_get("id")?;
    let rows = sqlx::query(
        "SELECT p.id, p.state_id FROM patch p JOIN state st ON st.id = p.state_id \
         WHERE p.series_id = $1 AND p.archived = 0 AND st.action_required <> 0 \
         AND p.state_id <> $2 ORDER BY p.number, p.id",
    )
    .bind(series)
    .bind(superseded)
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let old: i64 = r.try_get("state_id")?;
        sqlx::query("UPDATE patch SET state_id = $1 WHERE id = $2")
            .bind(superseded)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        events.push(
            "patch-state-changed",
            project,
            EventRefs {
                patch: Some(id),
                previous_state: Some(old),
                current_state: Some(superseded),
                ..EventRefs::default()
            },
        );
    }
    Ok(())
}

/// The patch a new patch replaces, when it is one patch resent in place
/// (`[PATCH v5.1 10/12]` in reply to `10/12`, or with `Supersedes:`
/// naming it): a patch of this project with the same number, in a
/// series, not replaced already. `number` is the new patch's.
pub(crate) async fn replaced_patch(
    tx: &mut Tx,
    project: i64,
    mail: &ParsedMail,
    number: i64,
) -> Result<Option<(i64, i64)>> {
    let hints = &mail.lineage;
    let mut candidates: Vec<&str> = hints.supersedes.iter().map(String::as_str).collect();
    if hints.revision.is_some()
        && let Some(parent) = mail.references.first()
    {
        candidates.push(parent);
    }
    for msgid in candidates {
        let row = sqlx::query(
            "SELECT id, series_id FROM patch WHERE project_id = $1 AND msgid = $2 \
             AND number = $3 AND series_id IS NOT NULL AND replaced_by_id IS NULL",
        )
        .bind(project)
        .bind(patchtrack_mail::text::truncate_chars(msgid, 255))
        .bind(number)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(r) = row {
            return Ok(Some((r.try_get("id")?, r.try_get("series_id")?)));
        }
    }
    Ok(None)
}

/// Makes room for a replacement before it is stored: the old patch
/// leaves its series (a number is held by one patch of a series).
pub(crate) async fn vacate(tx: &mut Tx, old: i64) -> Result<()> {
    sqlx::query("UPDATE patch SET series_id = NULL WHERE id = $1")
        .bind(old)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Completes a replacement once the new patch is stored: each points at
/// the other.
pub(crate) async fn replace(tx: &mut Tx, old: i64, new: i64) -> Result<()> {
    sqlx::query("UPDATE patch SET replaced_by_id = $1 WHERE id = $2")
        .bind(new)
        .bind(old)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE patch SET supersedes_id = $1 WHERE id = $2")
        .bind(old)
        .bind(new)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One posting of a series among its versions, as a series lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    /// The series.
    pub id: i64,
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: Option<String>,
    /// Date of its first mail.
    pub date: Micros,
    /// How it was linked to its neighbour on the way to the series
    /// asked about: for an older posting, how the next one found it; for
    /// a newer one, how it found the one before.
    pub evidence: Option<Evidence>,
}

/// The other versions of a series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Older postings, oldest first, following the links back.
    pub previous: Vec<VersionRef>,
    /// Newer postings (every posting that revises this one or one of
    /// them), by version then date.
    pub next: Vec<VersionRef>,
}

/// How far lineage is followed either way: more versions than any real
/// series has, few enough that a page of series stays a handful of
/// statements.
const MAX_VERSIONS: usize = 64;

#[derive(Debug, Clone)]
struct Node {
    previous: Option<i64>,
    r: VersionRef,
}

fn node(r: &sqlx::any::AnyRow) -> Result<Node> {
    Ok(Node {
        previous: r.try_get("previous_id")?,
        r: VersionRef {
            id: r.try_get("id")?,
            version: r.try_get("version")?,
            name: r.try_get("name")?,
            date: r.try_get("date")?,
            evidence: r
                .try_get::<Option<String>, _>("lineage")?
                .as_deref()
                .and_then(Evidence::parse),
        },
    })
}

const NODE_COLUMNS: &str =
    "SELECT id, version, name, date, previous_id, lineage FROM series WHERE ";

impl crate::db::Store {
    /// The versions of each series: one statement per step along the
    /// links for the whole page, not per series.
    pub async fn series_lineage(&self, ids: &[i64]) -> Result<HashMap<i64, Lineage>> {
        let mut nodes: HashMap<i64, Node> = HashMap::new();
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut back: Vec<i64> = ids.to_vec();
        let mut forward: Vec<i64> = ids.to_vec();
        let mut seen_forward: std::collections::HashSet<i64> = ids.iter().copied().collect();
        for _ in 0..MAX_VERSIONS {
            if back.is_empty() && forward.is_empty() {
                break;
            }
            let mut next_back = Vec::new();
            if !back.is_empty() {
                let mut sql = Sql::new(NODE_COLUMNS);
                sql.push("id IN ").bind_list(back.iter().copied());
                for r in sql.fetch_all(&self.pool).await? {
                    let n = node(&r)?;
                    if let Some(p) = n.previous
                        && !nodes.contains_key(&p)
                    {
                        next_back.push(p);
                    }
                    nodes.insert(n.r.id, n);
                }
            }
            let mut next_forward = Vec::new();
            if !forward.is_empty() {
                let mut sql = Sql::new(NODE_COLUMNS);
                sql.push("previous_id IN ")
                    .bind_list(forward.iter().copied())
                    .push(" ORDER BY version, date, id");
                for r in sql.fetch_all(&self.pool).await? {
                    let n = node(&r)?;
                    let (id, parent) = (n.r.id, n.previous.unwrap_or_default());
                    children.entry(parent).or_default().push(id);
                    if seen_forward.insert(id) {
                        next_forward.push(id);
                    }
                    nodes.entry(id).or_insert(n);
                }
            }
            next_back.sort_unstable();
            next_back.dedup();
            back = next_back;
            forward = next_forward;
        }
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            let mut l = Lineage::default();
            let mut evidence = nodes.get(&id).and_then(|n| n.r.evidence);
            let mut at = nodes.get(&id).and_then(|n| n.previous);
            while let Some(p) = at.filter(|_| l.previous.len() < MAX_VERSIONS) {
                let Some(n) = nodes.get(&p) else { break };
                let mut r = n.r.clone();
                r.evidence = evidence;
                evidence = n.r.evidence;
                l.previous.push(r);
                at = n.previous;
            }
            l.previous.reverse();
            let mut queue = vec![id];
            let mut seen = std::collections::HashSet::from([id]);
            while let Some(at) = queue.pop() {
                for c in children.get(&at).into_iter().flatten() {
                    if l.next.len() < MAX_VERSIONS && seen.insert(*c) {
                        l.next.push(nodes[c].r.clone());
                        queue.push(*c);
                    }
                }
            }
            l.next.sort_by_key(|r| (r.version, r.date, r.id));
            out.insert(id, l);
        }
        Ok(out)
    }

    /// The patch each of these patches revises, where lineage knows it.
    pub async fn patch_supersedes(&self, ids: &[i64]) -> Result<HashMap<i64, crate::PatchRef>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT p.id AS of_id, {} FROM patch p JOIN patch o ON o.id = p.supersedes_id \
             WHERE p.id IN ",
            crate::refs::submission_columns("o", "o_")
        ));
        sql.bind_list(ids.iter().copied());
        let mut out = HashMap::new();
        for r in sql.fetch_all(&self.pool).await? {
            if let Some(s) = crate::refs::submission(&r, "o_")? {
                out.insert(r.try_get("of_id")?, crate::refs::patch_ref(s));
            }
        }
        Ok(out)
    }
}

impl crate::db::Store {
    /// The same patch in the other versions of its series, oldest first,
    /// as (patch, its series' version), this one included: the patches it
    /// supersedes, one after the other, then those superseding it (the
    /// first of each, when a version was posted twice).
    pub async fn patch_versions(&self, patch_id: i64) -> Result<Vec<(crate::PatchRef, i64)>> {
        let sql = format!(
            "SELECT p.supersedes_id, COALESCE(s.version, r.version, 1) AS version, {} \
             FROM patch p LEFT JOIN series s ON s.id = p.series_id \
             LEFT JOIN patch rp ON rp.id = p.replaced_by_id \
             LEFT JOIN series r ON r.id = rp.series_id WHERE ",
            crate::refs::submission_columns("p", "p_")
        );
        let one = |r: &sqlx::any::AnyRow| -> Result<Option<(crate::PatchRef, i64, Option<i64>)>> {
            let Some(sub) = crate::refs::submission(r, "p_")? else {
                return Ok(None);
            };
            Ok(Some((
                crate::refs::patch_ref(sub),
                r.try_get("version")?,
                r.try_get("supersedes_id")?,
            )))
        };
        let mut out = Vec::new();
        let mut at = Some(patch_id);
        while let Some(id) = at.filter(|_| out.len() < MAX_VERSIONS) {
            let mut q = Sql::new(&sql);
            q.push("p.id = ").bind(id);
            let Some(row) = q.fetch_optional(&self.pool).await? else {
                break;
            };
            let Some((p, version, supersedes)) = one(&row)? else {
                break;
            };
            if out
                .iter()
                .any(|(o, _): &(crate::PatchRef, i64)| o.id == p.id)
            {
                break;
            }
            out.push((p, version));
            at = supersedes;
        }
        out.reverse();
        let mut at = patch_id;
        for _ in 0..MAX_VERSIONS {
            let mut q = Sql::new(&sql);
            q.push("p.supersedes_id = ")
                .bind(at)
                .push(" ORDER BY p.date, p.id LIMIT 1");
            let Some(row) = q.fetch_optional(&self.pool).await? else {
                break;
            };
            let Some((p, version, _)) = one(&row)? else {
                break;
            };
            if out.iter().any(|(o, _)| o.id == p.id) {
                break;
            }
            at = p.id;
            out.push((p, version));
        }
        Ok(if out.len() > 1 { out } else { Vec::new() })
    }
}
