//! Cover letters as the API and pages read them.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::Result;
use crate::listing::{DateRange, Listed, Lookup, Page, push_order, push_search};
use crate::patch::Body;
use crate::refs::{self, PersonRef, SeriesRef};
use crate::resolve::Kind;
use crate::sql::Sql;
use crate::time::Micros;

/// A cover letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
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
    /// Author.
    pub submitter: PersonRef,
    /// The series it introduces.
    pub series: Option<SeriesRef>,
    /// Headers and message (detail only; `diff` is always None).
    pub body: Option<Body>,
}

/// Filters of the cover list.
#[derive(Debug, Clone, Default)]
pub struct CoverFilter {
    /// In one of these projects.
    pub projects: Vec<Lookup>,
    /// Introducing one of these series.
    pub series: Vec<i64>,
    /// By one of these people.
    pub submitters: Vec<Lookup>,
    /// With this message-id (brackets included).
    pub msgid: Option<String>,
    /// Date range.
    pub dates: DateRange,
    /// Words that must all appear in the name.
    pub search: Vec<String>,
}

/// Orderings of the cover list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverOrder {
    /// Primary key.
    Id,
    /// Name.
    Name,
    /// Mail date.
    Date,
    /// Submitter (person id).
    Submitter,
}

impl CoverOrder {
    fn column(self) -> &'static str {
        match self {
            CoverOrder::Id => "c.id",
            CoverOrder::Name => "c.name",
            CoverOrder::Date => "c.date",
            CoverOrder::Submitter => "c.submitter_id",
        }
    }
}

fn select(body: bool) -> String {
    format!(
        "SELECT c.id, c.project_id, c.msgid, c.name, c.date{}, {}, {} \
         FROM cover c JOIN person pe ON pe.id = c.submitter_id \
         LEFT JOIN series s ON s.cover_letter_id = c.id",
        if body { ", c.headers, c.content" } else { "" },
        refs::person_columns("pe", "pe_"),
        refs::series_columns("s", "s_"),
    )
}

fn from_row(r: &AnyRow, body: bool) -> Result<Cover> {
    Ok(Cover {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        msgid: r.try_get("msgid")?,
        date: r.try_get("date")?,
        name: r.try_get("name")?,
        submitter: refs::person(r, "pe_")?,
        series: refs::series(r, "s_")?,
        body: if body {
            Some(Body {
                headers: r.try_get("headers")?,
                content: r.try_get("content")?,
                diff: None,
            })
        } else {
            None
        },
    })
}

impl Store {
    /// One page of cover letters.
    pub async fn covers(
        &self,
        filter: &CoverFilter,
        order: &[(CoverOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Cover>>> {
        let (Some(projects), Some(submitters)) = (
            self.resolve(Kind::Project, &filter.projects).await?,
            self.resolve(Kind::Person, &filter.submitters).await?,
        ) else {
            return Ok(Listed::empty(page));
        };
        let push_where = |sql: &mut Sql| {
            sql.push(" WHERE 1 = 1");
            if !projects.is_empty() {
                sql.push(" AND c.project_id IN ")
                    .bind_list(projects.iter().copied());
            }
            if !filter.series.is_empty() {
                sql.push(" AND c.id IN (SELECT cover_letter_id FROM series WHERE id IN ")
                    .bind_list(filter.series.iter().copied())
                    .push(")");
            }
            if !submitters.is_empty() {
                sql.push(" AND c.submitter_id IN ")
                    .bind_list(submitters.iter().copied());
            }
            if let Some(m) = &filter.msgid {
                sql.push(" AND c.msgid = ").bind(m.clone());
            }
            filter.dates.push(sql, "c.date");
            push_search(sql, &filter.search, &["c.name"]);
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM cover c");
        push_where(&mut count);
        let total = count.count(&self.pool).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = Sql::new(&select(false));
        push_where(&mut sql);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "c.id");
        page.limit_offset(&mut sql, number);
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| from_row(r, false))
            .collect::<Result<_>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// One cover letter with its headers and message.
    pub async fn cover(&self, id: i64) -> Result<Option<Cover>> {
        let mut sql = Sql::new(&select(true));
        sql.push(" WHERE c.id = ").bind(id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| from_row(r, true))
            .transpose()
    }

    /// The cover letter of a project with this message-id.
    pub async fn cover_by_msgid(&self, project_id: i64, msgid: &str) -> Result<Option<Cover>> {
        let mut sql = Sql::new(&select(true));
        sql.push(" WHERE c.project_id = ")
            .bind(project_id)
            .push(" AND c.msgid = ")
            .bind(msgid.to_string());
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| from_row(r, true))
            .transpose()
    }
}
