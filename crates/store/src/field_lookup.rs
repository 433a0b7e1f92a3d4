//! Django's field lookups (`name__icontains`, `id__in`, `date__year`)
//! over patches, checks and people: the filters that Patchwork's XML-RPC
//! methods take from pwclient and from CI scripts. The web crate reads
//! the XML-RPC struct into these types; the SQL they become is here.

use crate::check::{self, Check};
use crate::db::{Backend, Store};
use crate::error::Result;
use crate::listing::escape_like;
use crate::patch::Patch;
use crate::sql::Sql;
use crate::time::{self, Micros};

use patchtrack_mail::date::days_from_civil;

/// A Django lookup type, the part after `__`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// No suffix: equality.
    Exact,
    /// Case-insensitive equality.
    IExact,
    /// Substring.
    Contains,
    /// Case-insensitive substring.
    IContains,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// One of a list.
    In,
    /// Prefix.
    StartsWith,
    /// Case-insensitive prefix.
    IStartsWith,
    /// Suffix.
    EndsWith,
    /// Case-insensitive suffix.
    IEndsWith,
    /// Between two values, both included.
    Range,
    /// The year of a date.
    Year,
    /// The month of a date (any year).
    Month,
    /// The day of the month of a date.
    Day,
    /// Whether the field is empty (NULL).
    IsNull,
}

impl FieldOp {
    /// The lookup named after `__` (Patchwork's `LOOKUP_TYPES`); None for
    /// any other name, for which Patchwork answers an empty list.
    pub fn parse(name: &str) -> Option<FieldOp> {
        Some(match name {
            "iexact" => FieldOp::IExact,
            "contains" => FieldOp::Contains,
            "icontains" => FieldOp::IContains,
            "gt" => FieldOp::Gt,
            "gte" => FieldOp::Gte,
            "lt" => FieldOp::Lt,
            "in" => FieldOp::In,
            "startswith" => FieldOp::StartsWith,
            "istartswith" => FieldOp::IStartsWith,
            "endswith" => FieldOp::EndsWith,
            "iendswith" => FieldOp::IEndsWith,
            "range" => FieldOp::Range,
            "year" => FieldOp::Year,
            "month" => FieldOp::Month,
            "day" => FieldOp::Day,
            "isnull" => FieldOp::IsNull,
            _ => return None,
        })
    }
}

/// A value a lookup compares with, as the XML-RPC call carried it.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// An integer (or a boolean, which Python counts as one).
    Int(i64),
    /// A string (also a date, or a number as text).
    Text(String),
    /// A list (for `in` and `range`).
    List(Vec<Operand>),
}

impl Operand {
    fn as_int(&self) -> Option<i64> {
        match self {
            Operand::Int(n) => Some(*n),
            Operand::Text(s) => s.trim().parse().ok(),
            Operand::List(_) => None,
        }
    }

    fn as_text(&self) -> Option<String> {
        match self {
            Operand::Int(n) => Some(n.to_string()),
            Operand::Text(s) => Some(s.clone()),
            Operand::List(_) => None,
        }
    }

    fn as_date(&self) -> Option<Micros> {
        match self {
            Operand::Text(s) => time::parse_iso(s),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Operand::Int(n) => *n != 0,
            Operand::Text(s) => !s.is_empty(),
            Operand::List(l) => !l.is_empty(),
        }
    }
}

/// A patch column that lookups may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchColumn {
    /// Primary key.
    Id,
    /// Cleaned subject.
    Name,
    /// Archived flag.
    Archived,
    /// Mail date.
    Date,
    /// Commit it was applied as.
    CommitRef,
    /// Patchwork's diff hash.
    Hash,
    /// Message-id.
    Msgid,
}

impl PatchColumn {
    /// The field named before `__`; None for the `*_id` fields, which are
    /// read as objects, and for anything else.
    pub fn parse(name: &str) -> Option<PatchColumn> {
        Some(match name {
            "id" => PatchColumn::Id,
            "name" => PatchColumn::Name,
            "archived" => PatchColumn::Archived,
            "date" => PatchColumn::Date,
            "commit_ref" => PatchColumn::CommitRef,
            "hash" => PatchColumn::Hash,
            "msgid" => PatchColumn::Msgid,
            _ => return None,
        })
    }

    fn sql(self) -> (&'static str, Kind) {
        match self {
            PatchColumn::Id => ("p.id", Kind::Int),
            PatchColumn::Name => ("p.name", Kind::Text),
            PatchColumn::Archived => ("p.archived", Kind::Bool),
            PatchColumn::Date => ("p.date", Kind::Date),
            PatchColumn::CommitRef => ("p.commit_ref", Kind::Text),
            PatchColumn::Hash => ("p.hash", Kind::Text),
            PatchColumn::Msgid => ("p.msgid", Kind::Text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Text,
    Date,
}

/// One `field__lookup: value` condition on a patch.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field.
    pub column: PatchColumn,
    /// The lookup.
    pub op: FieldOp,
    /// What it compares with.
    pub value: Operand,
}

/// How many of the matching rows to return, from Patchwork's `max_count`:
/// above 0 the first N, below 0 the last N, 0 all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Take {
    /// Every row.
    #[default]
    All,
    /// The first N in order.
    First(u64),
    /// The last N, still in ascending order.
    Last(u64),
}

impl Take {
    /// From a `max_count` value.
    pub fn from_max_count(n: i64) -> Take {
        match n {
            0 => Take::All,
            n if n > 0 => Take::First(n.unsigned_abs()),
            n => Take::Last(n.unsigned_abs()),
        }
    }
}

/// The filter of `patch_list`.
#[derive(Debug, Clone, Default)]
pub struct PatchQuery {
    /// In this project.
    pub project: Option<i64>,
    /// By this person.
    pub submitter: Option<i64>,
    /// Delegated to the account of this person.
    pub delegate_person: Option<i64>,
    /// In this state.
    pub state: Option<i64>,
    /// Every other condition.
    pub conditions: Vec<Condition>,
    /// How many.
    pub take: Take,
}

/// The filter of `check_list`.
#[derive(Debug, Clone, Default)]
pub struct CheckQuery {
    /// Conditions on the check's id.
    pub id: Vec<(FieldOp, Operand)>,
    /// Posted by this user.
    pub user: Option<i64>,
    /// On a patch of this project.
    pub project: Option<i64>,
    /// On this patch.
    pub patch: Option<i64>,
    /// How many.
    pub take: Take,
}

/// Appends ` AND <condition>`; false when the value cannot be compared
/// with the column (the caller then matches nothing, as Django's coercion
/// failure ends the call without results).
fn push_condition(
    sql: &mut Sql,
    backend: Backend,
    column: &str,
    kind: Kind,
    op: FieldOp,
    value: &Operand,
) -> bool {
    let scalar = |sql: &mut Sql, v: &Operand| -> bool {
        match kind {
            Kind::Int => v.as_int().map(|n| sql.bind(n)).is_some(),
            Kind::Bool => {
                sql.bind(i64::from(v.truthy()));
                true
            }
            Kind::Text => v.as_text().map(|t| sql.bind(t)).is_some(),
            Kind::Date => v.as_date().map(|t| sql.bind(t)).is_some(),
        }
    };
    let compare = |sql: &mut Sql, operator: &str| -> bool {
        sql.push(" AND ").push(column).push(operator);
        scalar(sql, value)
    };
    let pattern = |sql: &mut Sql, prefix: &str, suffix: &str, fold: bool| -> bool {
        let Some(text) = value.as_text() else {
            return false;
        };
        let text = if fold { text.to_lowercase() } else { text };
        if !fold && backend == Backend::Sqlite {
            // SQLite's LIKE ignores ASCII case; GLOB does not, but has
            // its own wildcards: compare the slice instead.
            return exact_slice(sql, column, prefix, suffix, &text);
        }
        let escaped = escape_like(&text);
        sql.push(" AND ");
        if fold {
            sql.push("LOWER(").push(column).push(")");
        } else {
            sql.push(column);
        }
        sql.push(" LIKE ")
            .bind(format!("{prefix}{escaped}{suffix}"))
            .push(" ESCAPE '\\'");
        true
    };
    match op {
        FieldOp::Exact => compare(sql, " = "),
        FieldOp::Gt => compare(sql, " > "),
        FieldOp::Gte => compare(sql, " >= "),
        FieldOp::Lt => compare(sql, " < "),
        FieldOp::IExact if kind == Kind::Text => pattern(sql, "", "", true),
        FieldOp::IExact => compare(sql, " = "),
        FieldOp::Contains => pattern(sql, "%", "%", false),
        FieldOp::IContains => pattern(sql, "%", "%", true),
        FieldOp::StartsWith => pattern(sql, "", "%", false),
        FieldOp::IStartsWith => pattern(sql, "", "%", true),
        FieldOp::EndsWith => pattern(sql, "%", "", false),
        FieldOp::IEndsWith => pattern(sql, "%", "", true),
        FieldOp::In => {
            let Operand::List(items) = value else {
                return false;
            };
            sql.push(" AND ").push(column).push(" IN (");
            if items.is_empty() {
                sql.push("NULL");
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                if !scalar(sql, item) {
                    return false;
                }
            }
            sql.push(")");
            true
        }
        FieldOp::Range => {
            let Operand::List(items) = value else {
                return false;
            };
            let [low, high] = items.as_slice() else {
                return false;
            };
            sql.push(" AND ").push(column).push(" BETWEEN ");
            if !scalar(sql, low) {
                return false;
            }
            sql.push(" AND ");
            scalar(sql, high)
        }
        FieldOp::IsNull => {
            sql.push(" AND ").push(column).push(if value.truthy() {
                " IS NULL"
            } else {
                " IS NOT NULL"
            });
            true
        }
        FieldOp::Year | FieldOp::Month | FieldOp::Day => {
            let Some(n) = value.as_int() else {
                return false;
            };
            if kind != Kind::Date {
                return false;
            }
            if op == FieldOp::Year {
                // A range, so that the date index serves it.
                let start = days_from_civil(n, 1, 1) * 86_400 * 1_000_000;
                let end = days_from_civil(n + 1, 1, 1) * 86_400 * 1_000_000;
                sql.push(" AND ")
                    .push(column)
                    .push(" >= ")
                    .bind(start)
                    .push(" AND ")
                    .push(column)
                    .push(" < ")
                    .bind(end);
                return true;
            }
            let field = if op == FieldOp::Month { "m" } else { "d" };
            sql.push(" AND ")
                .push(&date_part(backend, column, field))
                .push(" = ")
                .bind(n);
            true
        }
    }
}

/// Case-sensitive prefix, suffix or substring on SQLite, whose LIKE
/// ignores ASCII case.
fn exact_slice(sql: &mut Sql, column: &str, prefix: &str, suffix: &str, text: &str) -> bool {
    let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    sql.push(" AND ");
    match (prefix, suffix) {
        ("%", "%") => sql
            .push("instr(")
            .push(column)
            .push(", ")
            .bind(text.to_string())
            .push(") > 0"),
        ("", "%") => sql
            .push("substr(")
            .push(column)
            .push(", 1, ")
            .bind(length)
            .push(") = ")
            .bind(text.to_string()),
        _ => sql
            .push("substr(")
            .push(column)
            .push(", -")
            .bind(length)
            .push(") = ")
            .bind(text.to_string()),
    };
    true
}

/// The month (`m`) or day (`d`) of a stored time, in UTC.
fn date_part(backend: Backend, column: &str, field: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("CAST(strftime('%{field}', {column} / 1000000, 'unixepoch') AS INTEGER)")
        }
        Backend::Postgres => {
            let part = if field == "m" { "MONTH" } else { "DAY" };
            format!(
                "CAST(EXTRACT({part} FROM to_timestamp({column} / 1000000.0) \
                 AT TIME ZONE 'UTC') AS BIGINT)"
            )
        }
    }
}

/// Appends the order and limit of `take` over `order` (ascending
/// columns); for [`Take::Last`] the order is reversed, and the caller
/// reverses the rows back.
pub(crate) fn push_take(sql: &mut Sql, order: &str, take: Take) {
    match take {
        Take::All => {
            sql.push(" ORDER BY ").push(order);
        }
        Take::First(n) => {
            sql.push(" ORDER BY ")
                .push(order)
                .push(" LIMIT ")
                .bind(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Take::Last(n) => {
            let reversed = order.replace(" ASC", " DESC");
            sql.push(" ORDER BY ")
                .push(&reversed)
                .push(" LIMIT ")
                .bind(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

impl Store {
    /// The patches of an XML-RPC `patch_list` filter, by date.
    pub async fn patches_matching(&self, q: &PatchQuery) -> Result<Vec<Patch>> {
        // The ids are chosen first from the patch table alone, then only
        // those rows are joined and read, as the API's list does.
        let mut sql = Sql::new(&crate::patch::select(false));
        sql.push(" WHERE p.id IN (SELECT p.id FROM patch p");
        if q.delegate_person.is_some() {
            sql.push(" JOIN person dp ON dp.user_id = p.delegate_id");
        }
        sql.push(" WHERE 1 = 1");
        for (column, value) in [
            ("p.project_id", q.project),
            ("p.submitter_id", q.submitter),
            ("dp.id", q.delegate_person),
            ("p.state_id", q.state),
        ] {
            if let Some(v) = value {
                sql.push(" AND ").push(column).push(" = ").bind(v);
            }
        }
        for c in &q.conditions {
            let (column, kind) = c.column.sql();
            if !push_condition(&mut sql, self.backend, column, kind, c.op, &c.value) {
                return Ok(Vec::new());
            }
        }
        push_take(&mut sql, "p.date ASC, p.id ASC", q.take);
        sql.push(") ORDER BY p.date ASC, p.id ASC");
        let rows = sql.fetch_all(&self.pool).await?;
        self.complete(&rows, false).await
    }

    /// The checks of an XML-RPC `check_list` filter, by id.
    pub async fn checks_matching(&self, q: &CheckQuery) -> Result<Vec<Check>> {
        let mut sql = Sql::new(check::SELECT);
        if q.project.is_some() {
            sql.push(" JOIN patch cp ON cp.id = c.patch_id");
        }
        sql.push(" WHERE 1 = 1");
        for (column, value) in [
            ("cp.project_id", q.project),
            ("c.patch_id", q.patch),
            ("c.user_id", q.user),
        ] {
            if let Some(v) = value {
                sql.push(" AND ").push(column).push(" = ").bind(v);
            }
        }
        for (op, value) in &q.id {
            if !push_condition(&mut sql, self.backend, "c.id", Kind::Int, *op, value) {
                return Ok(Vec::new());
            }
        }
        push_take(&mut sql, "c.id ASC", q.take);
        let mut checks = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(check::from_row)
            .collect::<Result<Vec<_>>>()?;
        if matches!(q.take, Take::Last(_)) {
            checks.reverse();
        }
        Ok(checks)
    }

    /// The current check per user and context of a patch (a newer result
    /// replaces an older one), by id: what a patch's check summary counts.
    pub async fn current_checks(&self, patch_id: i64) -> Result<Vec<Check>> {
        let mut sql = Sql::new(check::SELECT);
        sql.push(" WHERE c.patch_id = ")
            .bind(patch_id)
            .push(" AND ")
            .push(check::CURRENT)
            .push(" ORDER BY c.id");
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(check::from_row)
            .collect()
    }

    /// Patches with exactly this diff hash (in one project, or any), at
    /// most `limit`: XML-RPC's hash lookups, which fail on several.
    pub async fn patches_by_hash(
        &self,
        hash: &str,
        project_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Patch>> {
        let mut sql = Sql::new(&crate::patch::select(false));
        sql.push(" WHERE p.hash = ").bind(hash.to_string());
        if let Some(project) = project_id {
            sql.push(" AND p.project_id = ").bind(project);
        }
        sql.push(" ORDER BY p.date, p.id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = sql.fetch_all(&self.pool).await?;
        self.complete(&rows, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_count_reads_as_patchwork_slices() {
        assert_eq!(Take::from_max_count(0), Take::All);
        assert_eq!(Take::from_max_count(5), Take::First(5));
        assert_eq!(Take::from_max_count(-3), Take::Last(3));
    }

    #[test]
    fn every_patchwork_lookup_type_is_known() {
        for name in [
            "iexact",
            "contains",
            "icontains",
            "gt",
            "gte",
            "lt",
            "in",
            "startswith",
            "istartswith",
            "endswith",
            "iendswith",
            "range",
            "year",
            "month",
            "day",
            "isnull",
        ] {
            assert!(FieldOp::parse(name).is_some(), "{name}");
        }
        assert_eq!(FieldOp::parse("lte"), None, "not in Patchwork's list");
        assert_eq!(FieldOp::parse("regex"), None);
    }

    #[test]
    fn sqlite_keeps_case_in_contains() {
        let mut sql = Sql::new("SELECT 1 FROM patch p WHERE 1 = 1");
        assert!(push_condition(
            &mut sql,
            Backend::Sqlite,
            "p.name",
            Kind::Text,
            FieldOp::Contains,
            &Operand::Text("Fix".into()),
        ));
        assert!(
            sql.text().contains("instr(p.name, $1) > 0"),
            "{}",
            sql.text()
        );
    }
}
