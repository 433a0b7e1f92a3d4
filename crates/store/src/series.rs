//! Series as the API and pages read them: their patches, cover letter and
//! dependencies loaded per page in one statement each.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::Result;
use crate::listing::{DateRange, Listed, Lookup, Page, push_order, push_search};
use crate::refs::{self, CoverRef, PatchRef, PersonRef};
use crate::resolve::Kind;
use crate::sql::Sql;
use crate::time::Micros;

/// A series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Primary key.
    pub id: i64,
    /// Project it belongs to.
    pub project_id: i64,
    /// Cover subject, else first patch's name.
    pub name: Option<String>,
    /// Date of its first mail.
    pub date: Micros,
    /// Author.
    pub submitter: PersonRef,
    /// Revision.
    pub version: i64,
    /// Patches announced.
    pub total: i64,
    /// Patches received.
    pub received_total: i64,
    /// Its cover letter.
    pub cover_letter: Option<CoverRef>,
    /// Its patches, by date.
    pub patches: Vec<PatchRef>,
    /// Series it depends on (ids).
    pub dependencies: Vec<i64>,
    /// Series depending on it (ids).
    pub dependents: Vec<i64>,
}

/// Where a series' patches stand: what a maintainer acting on whole
/// series reads first (API 1.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesStates {
    /// Patches per state slug, in the states' order, states without
    /// patches left out.
    pub counts: Vec<(String, i64)>,
    /// Whether one of its patches is in an action-required state and not
    /// archived: the series still waits for someone.
    pub open: bool,
}

/// Filters of the series list.
#[derive(Debug, Clone, Default)]
pub struct SeriesFilter {
    /// In one of these projects.
    pub projects: Vec<Lookup>,
    /// By one of these people.
    pub submitters: Vec<Lookup>,
    /// Date range.
    pub dates: DateRange,
    /// Words that must all appear in the name.
    pub search: Vec<String>,
    /// Open (`Some(true)`) or closed (`Some(false)`) series only; see
    /// [`SeriesStates::open`].
    pub open: Option<bool>,
    /// With at least one patch in one of these states (archived or not).
    pub states: Vec<Lookup>,
    /// Of one of these versions.
    pub versions: Vec<i64>,
}

/// Orderings of the series list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesOrder {
    /// Primary key.
    Id,
    /// Name.
    Name,
    /// Date.
    Date,
    /// Submitter (person id).
    Submitter,
    /// Complete or not.
    ReceivedAll,
}

impl SeriesOrder {
    fn column(self) -> &'static str {
        match self {
            SeriesOrder::Id => "s.id",
            SeriesOrder::Name => "s.name",
            SeriesOrder::Date => "s.date",
            SeriesOrder::Submitter => "s.submitter_id",
            SeriesOrder::ReceivedAll => {
                "(CASE WHEN s.total <= (SELECT COUNT(*) FROM patch x WHERE x.series_id = s.id) \
                 THEN 1 ELSE 0 END)"
            }
        }
    }
}

fn select() -> String {
    format!(
        "SELECT s.id, s.project_id, s.name, s.date, s.version, s.total, \
         (SELECT COUNT(*) FROM patch x WHERE x.series_id = s.id) AS received_total, {}, {} \
         FROM series s JOIN person pe ON pe.id = s.submitter_id \
         LEFT JOIN cover c ON c.id = s.cover_letter_id",
        refs::person_columns("pe", "pe_"),
        refs::submission_columns("c", "c_"),
    )
}

fn from_row(r: &AnyRow) -> Result<Series> {
    Ok(Series {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        date: r.try_get("date")?,
        submitter: refs::person(r, "pe_")?,
        version: r.try_get("version")?,
        total: r.try_get("total")?,
        received_total: r.try_get("received_total")?,
        cover_letter: refs::submission(r, "c_")?.map(refs::cover_ref),
        patches: Vec::new(),
        dependencies: Vec::new(),
        dependents: Vec::new(),
    })
}

impl Store {
    /// One page of series.
    pub async fn series_list(
        &self,
        filter: &SeriesFilter,
        order: &[(SeriesOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Series>>> {
        let (Some(projects), Some(submitters), Some(states)) = (
            self.resolve(Kind::Project, &filter.projects).await?,
            self.resolve(Kind::Person, &filter.submitters).await?,
            self.resolve(Kind::State, &filter.states).await?,
        ) else {
            return Ok(Listed::empty(page));
        };
        let push_where = |sql: &mut Sql, open: Option<bool>| {
            sql.push(" WHERE 1 = 1");
            if !projects.is_empty() {
                sql.push(" AND s.project_id IN ")
                    .bind_list(projects.iter().copied());
            }
            if !submitters.is_empty() {
                sql.push(" AND s.submitter_id IN ")
                    .bind_list(submitters.iter().copied());
            }
            // Written as the partial index `series_open` is, so that both
            // engines read the open series from it.
            match open {
                Some(true) => sql.push(" AND s.open_patches > 0"),
                Some(false) => sql.push(" AND s.open_patches = 0"),
                None => sql,
            };
            if !states.is_empty() {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM series_patch_state c \
                     WHERE c.series_id = s.id AND c.state_id IN ",
                )
                .bind_list(states.iter().copied())
                .push(")");
            }
            if !filter.versions.is_empty() {
                sql.push(" AND s.version IN ")
                    .bind_list(filter.versions.iter().copied());
            }
            filter.dates.push(sql, "s.date");
            push_search(sql, &filter.search, &["s.name"]);
        };
        let only_projects = submitters.is_empty()
            && states.is_empty()
            && filter.versions.is_empty()
            && filter.dates.since.is_none()
            && filter.dates.before.is_none()
            && filter.search.is_empty();
        let count = |open: Option<bool>| {
            let mut count = Sql::new("SELECT COUNT(*) AS n FROM series s");
            push_where(&mut count, open);
            count
        };
        let total = match (only_projects, filter.open) {
            (true, None) => self.tallied_series(&projects).await?,
            // The open series are a project's backlog, counted from their
            // partial index; the closed ones are all the others, so that
            // neither count walks the project's archive.
            (true, Some(false)) => {
                let all = self.tallied_series(&projects).await?;
                all.saturating_sub(count(Some(true)).count(&self.pool).await?)
            }
            (_, open) => count(open).count(&self.pool).await?,
        };
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        // The page's ids first, from the series table alone; only those
        // rows are then joined and given their patch counts. Sorting every
        // matching row with its joins and counts before the LIMIT cost
        // 60 ms on 10,000 series, and grew with the project.
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        let mut sql = Sql::new(&select());
        sql.push(" WHERE s.id IN (SELECT s.id FROM series s");
        push_where(&mut sql, filter.open);
        page.window(number, total).push(&mut sql, &cols, "s.id");
        sql.push(")");
        push_order(&mut sql, &cols, "s.id");
        let rows = sql.fetch_all(&self.pool).await?;
        let items = self.complete_series(&rows).await?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// The [`SeriesStates`] of each of `ids` (a page of series), read from
    /// the per-series counts migration 0016's triggers keep: a few rows
    /// per series, whatever its size. Every patch counts, also past the
    /// group limit the listed patches stop at.
    pub async fn series_states(&self, ids: &[i64]) -> Result<HashMap<i64, SeriesStates>> {
        let mut out: HashMap<i64, SeriesStates> = ids
            .iter()
            .map(|id| (*id, SeriesStates::default()))
            .collect();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(
            "SELECT c.series_id AS series_id, st.slug AS slug, \
             st.action_required AS action_required, c.archived AS archived, c.n AS n \
             FROM series_patch_state c JOIN state st ON st.id = c.state_id WHERE c.series_id IN ",
        );
        sql.bind_list(ids.iter().copied());
        sql.push(" ORDER BY c.series_id, st.ordering, st.id, c.archived");
        for row in sql.fetch_all(&self.pool).await? {
            let series: i64 = row.try_get("series_id")?;
            let slug: String = row.try_get("slug")?;
            let n: i64 = row.try_get("n")?;
            let entry = out.entry(series).or_default();
            if row.try_get::<i64, _>("action_required")? != 0
                && row.try_get::<i64, _>("archived")? == 0
            {
                entry.open = true;
            }
            match entry.counts.last_mut() {
                Some((last, count)) if *last == slug => *count += n,
                _ => entry.counts.push((slug, n)),
            }
        }
        Ok(out)
    }

    /// One series.
    pub async fn series(&self, id: i64) -> Result<Option<Series>> {
        let mut sql = Sql::new(&select());
        sql.push(" WHERE s.id = ").bind(id);
        let rows = sql.fetch_all(&self.pool).await?;
        Ok(self.complete_series(&rows).await?.pop())
    }

    async fn complete_series(&self, rows: &[AnyRow]) -> Result<Vec<Series>> {
        let mut series: Vec<Series> = rows.iter().map(from_row).collect::<Result<_>>()?;
        let ids: Vec<i64> = series.iter().map(|s| s.id).collect();
        if ids.is_empty() {
            return Ok(series);
        }
        let limit = self.group_limit;
        let mut patches = refs::patches_of_series(&self.pool, &ids, limit).await?;
        let mut sql =
            Sql::new("SELECT series_id, depends_on_id FROM series_dependency WHERE series_id IN ");
        sql.bind_list(ids.iter().copied());
        sql.push(" OR depends_on_id IN ")
            .bind_list(ids.iter().copied());
        sql.push(" ORDER BY series_id, depends_on_id");
        let mut deps: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut dependents: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in sql.fetch_all(&self.pool).await? {
            let s: i64 = r.try_get("series_id")?;
            let d: i64 = r.try_get("depends_on_id")?;
            deps.entry(s).or_default().push(d);
            dependents.entry(d).or_default().push(s);
        }
        for s in &mut series {
            s.patches = patches.remove(&s.id).unwrap_or_default();
            // Any mail may name a series in `Depends-on:`, so its
            // dependents grow with the list: both lists stop at the limit.
            let mut d = deps.remove(&s.id).unwrap_or_default();
            d.truncate(limit);
            s.dependencies = d;
            let mut d = dependents.remove(&s.id).unwrap_or_default();
            d.sort_unstable();
            d.truncate(limit);
            s.dependents = d;
        }
        Ok(series)
    }

    /// The patches of a series in number order, for its mbox.
    pub async fn series_patch_ids(&self, series_id: i64) -> Result<Vec<i64>> {
        let mut sql = Sql::new("SELECT id FROM patch WHERE series_id = ");
        sql.bind(series_id).push(" ORDER BY number, id");
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("id")?))
            .collect()
    }
}
