//! Patches as the API and the pages read them: lists with Patchwork's
//! filters and orderings, details with headers and diff, their checks'
//! aggregate and their related patches, in a fixed number of statements
//! whatever the page size.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::check::CheckState;
use crate::db::Store;
use crate::error::Result;
use crate::listing::{DateRange, Listed, Lookup, Page, push_order, push_search};
use crate::refs::{self, PatchRef, PersonRef, SeriesRef, UserRef};
use crate::resolve::Kind;
use crate::sql::Sql;
use crate::tally::PatchKey;
use crate::time::Micros;

/// A patch with what its API form shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
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
    /// The commit it was applied as.
    pub commit_ref: Option<String>,
    /// Pull request URL.
    pub pull_url: Option<String>,
    /// State slug.
    pub state: String,
    /// Hidden from default lists.
    pub archived: bool,
    /// Patchwork's diff hash.
    pub hash: Option<String>,
    /// Author.
    pub submitter: PersonRef,
    /// Maintainer in charge.
    pub delegate: Option<UserRef>,
    /// Series and position in it.
    pub series: Option<SeriesRef>,
    /// Position in the series.
    pub number: Option<i64>,
    /// Aggregate of its checks.
    pub check: CheckState,
    /// The other patches of its relation, by date.
    pub related: Vec<PatchRef>,
    /// Headers, message and diff (detail only).
    pub body: Option<Body>,
}

/// The stored text of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Header block as stored (`Name: value` lines, folds kept).
    pub headers: String,
    /// Message without the diff.
    pub content: Option<String>,
    /// The diff (patches only).
    pub diff: Option<String>,
}

/// Filters of the patch list (reference §4.2).
#[derive(Debug, Clone, Default)]
pub struct PatchFilter {
    /// In one of these projects.
    pub projects: Vec<Lookup>,
    /// In one of these series.
    pub series: Vec<i64>,
    /// By one of these people.
    pub submitters: Vec<Lookup>,
    /// Delegated to one of these users.
    pub delegates: Vec<Lookup>,
    /// Delegated to nobody (the web list's "Nobody").
    pub no_delegate: bool,
    /// In one of these states.
    pub states: Vec<Lookup>,
    /// Archived or not.
    pub archived: Option<bool>,
    /// With this hash (case-insensitive).
    pub hash: Option<String>,
    /// With this message-id (brackets included).
    pub msgid: Option<String>,
    /// Date range.
    pub dates: DateRange,
    /// Words that must all appear in the name.
    pub search: Vec<String>,
}

/// Orderings of the patch list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOrder {
    /// Primary key.
    Id,
    /// Name.
    Name,
    /// Project linkname.
    Project,
    /// Mail date.
    Date,
    /// State position.
    State,
    /// Archived flag.
    Archived,
    /// Submitter (person id).
    Submitter,
    /// Submitter's name, as the web list sorts.
    SubmitterName,
    /// Delegate username.
    Delegate,
}

impl PatchOrder {
    fn column(self) -> &'static str {
        match self {
            PatchOrder::Id => "p.id",
            PatchOrder::Name => "p.name",
            PatchOrder::Project => "(SELECT linkname FROM project WHERE id = p.project_id)",
            PatchOrder::Date => "p.date",
            PatchOrder::State => "st.ordering",
            PatchOrder::Archived => "p.archived",
            PatchOrder::Submitter => "p.submitter_id",
            PatchOrder::SubmitterName => {
                "(SELECT COALESCE(name, email) FROM person WHERE id = p.submitter_id)"
            }
            // No delegate sorts first on both engines (NULLs do not).
            PatchOrder::Delegate => "COALESCE(d.username, '')",
        }
    }
}

pub(crate) fn select(body: bool) -> String {
    format!(
        "SELECT p.id, p.project_id, p.msgid, p.name, p.date, p.commit_ref, p.pull_url, \
         st.slug AS state, p.archived, p.hash, p.number, p.related_id, {rank} AS check_rank\
         {}, {}, {}, {} \
         FROM patch p JOIN state st ON st.id = p.state_id \
         JOIN person pe ON pe.id = p.submitter_id \
         LEFT JOIN app_user d ON d.id = p.delegate_id \
         LEFT JOIN series s ON s.id = p.series_id",
        if body {
            ", p.headers, p.content, p.diff"
        } else {
            ""
        },
        refs::person_columns("pe", "pe_"),
        refs::user_columns("d", "d_"),
        refs::series_columns("s", "s_"),
        rank = crate::check::aggregate_rank(),
    )
}

fn from_row(r: &AnyRow, body: bool) -> Result<(Patch, Option<i64>)> {
    let patch = Patch {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        msgid: r.try_get("msgid")?,
        date: r.try_get("date")?,
        name: r.try_get("name")?,
        commit_ref: r.try_get("commit_ref")?,
        pull_url: r.try_get("pull_url")?,
        state: r.try_get("state")?,
        archived: r.try_get::<i64, _>("archived")? != 0,
        hash: r.try_get("hash")?,
        submitter: refs::person(r, "pe_")?,
        delegate: refs::user(r, "d_")?,
        series: refs::series(r, "s_")?,
        number: r.try_get("number")?,
        check: CheckState::from_rank(r.try_get("check_rank")?),
        related: Vec::new(),
        body: if body {
            Some(Body {
                headers: r.try_get("headers")?,
                content: r.try_get("content")?,
                diff: r.try_get("diff")?,
            })
        } else {
            None
        },
    };
    Ok((patch, r.try_get("related_id")?))
}

/// The resolved filter: ids instead of lookups.
struct Resolved<'a> {
    filter: &'a PatchFilter,
    projects: Vec<i64>,
    submitters: Vec<i64>,
    delegates: Vec<i64>,
    states: Vec<i64>,
}

impl Resolved<'_> {
    /// Whether the filter names only projects, states, the archived flag
    /// and delegates: the shape of the usual lists, which the tallies
    /// count and the list index serves in date order.
    fn tally_shaped(&self) -> bool {
        let f = self.filter;
        f.series.is_empty()
            && self.submitters.is_empty()
            && f.hash.is_none()
            && f.msgid.is_none()
            && f.dates.since.is_none()
            && f.dates.before.is_none()
            && f.search.is_empty()
    }

    fn push_where(&self, sql: &mut Sql) {
        let f = self.filter;
        sql.push(" WHERE 1 = 1");
        if !self.projects.is_empty() {
            sql.push(" AND p.project_id IN ")
                .bind_list(self.projects.iter().copied());
        }
        if !f.series.is_empty() {
            sql.push(" AND p.series_id IN ")
                .bind_list(f.series.iter().copied());
        }
        if !self.submitters.is_empty() {
            sql.push(" AND p.submitter_id IN ")
                .bind_list(self.submitters.iter().copied());
        }
        if !self.delegates.is_empty() {
            sql.push(" AND p.delegate_id IN ")
                .bind_list(self.delegates.iter().copied());
        }
        if f.no_delegate {
            sql.push(" AND p.delegate_id IS NULL");
        }
        if !self.states.is_empty() {
            sql.push(" AND p.state_id IN ")
                .bind_list(self.states.iter().copied());
        }
        if let Some(a) = f.archived {
            sql.push(" AND p.archived = ").bind(i64::from(a));
        }
        if let Some(h) = &f.hash {
            sql.push(" AND p.hash = ").bind(h.to_lowercase());
        }
        if let Some(m) = &f.msgid {
            sql.push(" AND p.msgid = ").bind(m.clone());
        }
        f.dates.push(sql, "p.date");
        push_search(sql, &f.search, &["p.name"]);
    }
}

impl Resolved<'_> {
    /// Whether a date-ordered page should be taken from the archived and
    /// the unarchived patches separately: the list index runs (project,
    /// archived, date), so with both halves listed no index gives the
    /// date order, and at a million patches the sort of the whole project
    /// took 311 ms. Read in two index ranges and merged, the first page
    /// costs what one half's does.
    fn by_date_in_both_halves(&self) -> bool {
        self.filter.archived.is_none() && self.projects.len() == 1 && self.tally_shaped()
    }
}

/// The ids of one date-ordered page, as the first `offset + size` of each
/// half (each read in index order) merged and cut to the page.
fn push_page_by_date_in_halves(
    sql: &mut Sql,
    resolved: &Resolved<'_>,
    desc: bool,
    page: Page,
    number: u64,
) {
    let through = Page {
        number: 1,
        size: number.saturating_mul(page.size),
    };
    sql.push("SELECT h.id FROM (");
    for archived in [0, 1] {
        if archived == 1 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT * FROM (SELECT p.id, p.date FROM patch p");
        resolved.push_where(sql);
        sql.push(&format!(" AND p.archived = {archived}"));
        push_order(sql, &[("p.date", desc)], "p.id");
        through.limit_offset(sql, 1);
        sql.push(&format!(") half{archived}"));
    }
    sql.push(") h");
    push_order(sql, &[("h.date", desc)], "h.id");
    page.limit_offset(sql, number);
}

impl Store {
    /// How many patches a resolved filter matches: from the tally when it
    /// only names projects, states, the archived flag and delegates (the
    /// usual lists, b4's backlog count, the to-do list), else by counting.
    async fn count_patches(&self, r: &Resolved<'_>) -> Result<u64> {
        let f = r.filter;
        if r.tally_shaped() {
            return self
                .tallied_patches(&PatchKey {
                    projects: &r.projects,
                    states: &r.states,
                    archived: f.archived,
                    delegates: &r.delegates,
                    no_delegate: f.no_delegate,
                })
                .await;
        }
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM patch p");
        r.push_where(&mut count);
        count.count(&self.pool).await
    }

    /// One page of patches.
    pub async fn patches(
        &self,
        filter: &PatchFilter,
        order: &[(PatchOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Patch>>> {
        let (Some(projects), Some(submitters), Some(delegates), Some(states)) = (
            self.resolve(Kind::Project, &filter.projects).await?,
            self.resolve(Kind::Person, &filter.submitters).await?,
            self.resolve(Kind::User, &filter.delegates).await?,
            self.resolve(Kind::State, &filter.states).await?,
        ) else {
            return Ok(Listed::empty(page));
        };
        let resolved = Resolved {
            filter,
            projects,
            submitters,
            delegates,
            states,
        };
        let total = self.count_patches(&resolved).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        // The page's ids are chosen first, from the patch table alone (the
        // list index covers the usual filters and the date order), and
        // only those rows are then joined and read: sorting every matching
        // row with its joins cost 20 ms on 10,000 patches.
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        let mut sql = Sql::new(&select(false));
        sql.push(" WHERE p.id IN (");
        match cols.as_slice() {
            [("p.date", desc)] if resolved.by_date_in_both_halves() => {
                push_page_by_date_in_halves(&mut sql, &resolved, *desc, page, number);
            }
            _ => {
                sql.push("SELECT p.id FROM patch p");
                if cols.iter().any(|(c, _)| c.starts_with("st.")) {
                    sql.push(" JOIN state st ON st.id = p.state_id");
                }
                if cols.iter().any(|(c, _)| c.contains("d.username")) {
                    sql.push(" LEFT JOIN app_user d ON d.id = p.delegate_id");
                }
                resolved.push_where(&mut sql);
                page.window(number, total).push(&mut sql, &cols, "p.id");
            }
        }
        sql.push(")");
        push_order(&mut sql, &cols, "p.id");
        let rows = sql.fetch_all(&self.pool).await?;
        let items = self.complete(&rows, false).await?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// One patch with its headers, message and diff.
    pub async fn patch(&self, id: i64) -> Result<Option<Patch>> {
        let mut sql = Sql::new(&select(true));
        sql.push(" WHERE p.id = ").bind(id);
        let rows = sql.fetch_all(&self.pool).await?;
        Ok(self.complete(&rows, true).await?.pop())
    }

    /// Patches with their bodies, in the order of `ids` (missing ones
    /// left out), in one statement: series and bundle downloads.
    pub async fn patches_by_ids(&self, ids: &[i64]) -> Result<Vec<Patch>> {
        self.by_ids(ids, true).await
    }

    /// Patches as lists show them (no headers, content or diff), in the
    /// order of `ids`, missing ones left out: the answer to a bulk write.
    pub async fn listed_patches_by_ids(&self, ids: &[i64]) -> Result<Vec<Patch>> {
        self.by_ids(ids, false).await
    }

    async fn by_ids(&self, ids: &[i64], body: bool) -> Result<Vec<Patch>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&select(body));
        sql.push(" WHERE p.id IN ").bind_list(ids.iter().copied());
        let rows = sql.fetch_all(&self.pool).await?;
        let mut by_id: HashMap<i64, Patch> = self
            .complete(&rows, body)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// The patch of a project with this message-id (brackets included).
    pub async fn patch_by_msgid(&self, project_id: i64, msgid: &str) -> Result<Option<Patch>> {
        let mut sql = Sql::new(&select(true));
        sql.push(" WHERE p.project_id = ")
            .bind(project_id)
            .push(" AND p.msgid = ")
            .bind(msgid.to_string());
        let rows = sql.fetch_all(&self.pool).await?;
        Ok(self.complete(&rows, true).await?.pop())
    }

    /// Rows to patches, with relations loaded in one statement (only when
    /// a patch of the page has one). Each patch lists at most the group
    /// limit of the others: the first by date, itself left out.
    pub(crate) async fn complete(&self, rows: &[AnyRow], body: bool) -> Result<Vec<Patch>> {
        let mut patches = Vec::with_capacity(rows.len());
        let mut relations: Vec<i64> = Vec::new();
        let mut relation_of = Vec::with_capacity(rows.len());
        for r in rows {
            let (p, rel) = from_row(r, body)?;
            if let Some(rel) = rel {
                relations.push(rel);
            }
            relation_of.push(rel);
            patches.push(p);
        }
        relations.sort_unstable();
        relations.dedup();
        let limit = self.group_limit;
        // One more than the limit, so that leaving a patch itself out
        // still leaves the limit.
        let members = self.relation_members(&relations, limit + 1).await?;
        for (p, rel) in patches.iter_mut().zip(relation_of) {
            if let Some(m) = rel.and_then(|rel| members.get(&rel)) {
                p.related = m
                    .iter()
                    .filter(|x| x.id != p.id)
                    .take(limit)
                    .cloned()
                    .collect();
            }
        }
        Ok(patches)
    }

    /// The first `limit` patches of each relation, by date then id. The
    /// limit is applied in the statement, so that a relation larger than
    /// any page allows (made before the limit existed) costs no more to
    /// read than one at the limit.
    pub(crate) async fn relation_members(
        &self,
        relations: &[i64],
        limit: usize,
    ) -> Result<HashMap<i64, Vec<PatchRef>>> {
        let mut out: HashMap<i64, Vec<PatchRef>> = HashMap::new();
        if relations.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT p.related_id AS rel, {}, ROW_NUMBER() OVER \
             (PARTITION BY p.related_id ORDER BY p.date, p.id) AS place \
             FROM patch p WHERE p.related_id IN ",
            refs::submission_columns("p", "p_")
        ));
        sql.bind_list(relations.iter().copied());
        sql.push(") ranked WHERE place <= ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        sql.push(" ORDER BY rel, place");
        for r in sql.fetch_all(&self.pool).await? {
            let rel: i64 = r.try_get("rel")?;
            if let Some(t) = refs::submission(&r, "p_")? {
                out.entry(rel).or_default().push(refs::patch_ref(t));
            }
        }
        Ok(out)
    }
}

impl Store {
    /// How many patches wait for this user: delegated to them, not
    /// archived, in a state that needs action (the navigation's badge).
    pub async fn todo_count(&self, user_id: i64) -> Result<i64> {
        Ok(self
            .todo_by_project(user_id)
            .await?
            .iter()
            .map(|(_, n)| n)
            .sum())
    }

    /// [`Store::todo_count`] per project: (project id, count).
    pub async fn todo_by_project(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        // From the tally: a busy delegate has tens of thousands of
        // patches, and this is counted for every page they open.
        let rows = sqlx::query(
            "SELECT t.project_id, CAST(SUM(t.n) AS BIGINT) AS n FROM patch_tally t \
             JOIN state st ON st.id = t.state_id \
             WHERE t.delegate_id = $1 AND t.archived = 0 AND st.action_required = 1 \
             GROUP BY t.project_id HAVING SUM(t.n) <> 0 ORDER BY t.project_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("project_id")?, r.try_get("n")?)))
            .collect()
    }
}
