//! What every list endpoint shares: filter values that name an object by id
//! or by name, search terms, orderings and pages. The web layer turns query
//! strings into these; the store turns them into SQL.

use crate::sql::Sql;
use crate::time::Micros;

/// A filter value naming an object: an integer is a primary key, anything
/// else the object's name (linkname, email, username, state name),
/// compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// By primary key.
    Id(i64),
    /// By name.
    Name(String),
}

impl Lookup {
    /// Reads a query-string value the way Patchwork does: digits are an id.
    pub fn parse(value: &str) -> Lookup {
        match value.trim().parse::<i64>() {
            Ok(id) => Lookup::Id(id),
            Err(_) => Lookup::Name(value.to_string()),
        }
    }
}

/// One page of a list: 1-based number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 1. `u64::MAX` asks for the last page.
    pub number: u64,
    /// Items per page.
    pub size: u64,
}

impl Page {
    /// The page asking for the last one.
    pub const LAST: u64 = u64::MAX;

    /// The page number once the total is known (the last page for
    /// [`Page::LAST`]), or None when out of range. An empty list has one
    /// (empty) page.
    pub fn resolve(&self, total: u64) -> Option<u64> {
        let pages = self.pages(total);
        let n = if self.number == Self::LAST {
            pages
        } else {
            self.number
        };
        (n >= 1 && n <= pages).then_some(n)
    }

    /// How many pages `total` items fill (at least one).
    pub fn pages(&self, total: u64) -> u64 {
        total.div_ceil(self.size.max(1)).max(1)
    }

    /// Where `listed`, served for this request, sits among the list's
    /// pages.
    pub fn position<T>(&self, listed: &Listed<T>) -> Position {
        Position {
            page: listed.page,
            last: self.pages(listed.total),
        }
    }

    /// Appends `LIMIT n OFFSET m` as literals. Bound parameters there make
    /// SQLite (built with STAT4) re-prepare the statement on every
    /// execution, which cost a fifth of a list request.
    pub(crate) fn limit_offset(&self, sql: &mut Sql, number: u64) {
        let size = self.size.min(i64::MAX as u64);
        let offset = (number - 1).saturating_mul(self.size).min(i64::MAX as u64);
        sql.push(&format!(" LIMIT {size} OFFSET {offset}"));
    }

    /// Where page `number` of `total` rows is read from. A page in the
    /// second half is read from the end, in the reverse order: an OFFSET
    /// walks every row it skips (26 ns an index entry on SQLite, so
    /// 13 ms for the middle of a million patches), and from the nearer
    /// end it walks at most half of them; the last pages, which clients
    /// reach by `rel="last"`, cost what the first ones do.
    pub(crate) fn window(&self, number: u64, total: u64) -> Window {
        let offset = (number - 1).saturating_mul(self.size);
        let end = offset.saturating_add(self.size).min(total);
        if offset > total / 2 && offset < total {
            Window {
                reversed: true,
                limit: end - offset,
                offset: total - end,
            }
        } else {
            Window {
                reversed: false,
                limit: self.size,
                offset,
            }
        }
    }
}

/// The rows of one page: `limit` rows after `offset`, counted from the
/// front of the order or, when `reversed`, from its back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub reversed: bool,
    pub limit: u64,
    pub offset: u64,
}

impl Window {
    /// Appends the window's `ORDER BY` (reversed when it reads from the
    /// back) and `LIMIT`/`OFFSET`, as literals like [`Page::limit_offset`].
    /// The rows come out in the window's order: the caller sorts them in
    /// the list's own order afterwards.
    pub(crate) fn push(&self, sql: &mut Sql, order: &[(&str, bool)], id_column: &str) {
        push_order_maybe_reversed(sql, order, id_column, self.reversed);
        let limit = self.limit.min(i64::MAX as u64);
        let offset = self.offset.min(i64::MAX as u64);
        sql.push(&format!(" LIMIT {limit} OFFSET {offset}"));
    }
}

/// Where a served page sits among a list's pages: what the API's `Link`
/// header and the pages' previous and next links are made of, counted
/// here once so that the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The served page's number, from 1.
    pub page: u64,
    /// The last page's number: 1 for an empty list, which has one empty
    /// page.
    pub last: u64,
}

impl Position {
    /// The page before, if any.
    pub fn prev(&self) -> Option<u64> {
        (self.page > 1).then(|| self.page - 1)
    }

    /// The page after, if any.
    pub fn next(&self) -> Option<u64> {
        (self.page < self.last).then(|| self.page + 1)
    }
}

/// A page of results and the number of results over all pages.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// The items of the page.
    pub items: Vec<T>,
    /// How many items match, over all pages.
    pub total: u64,
    /// The page number served.
    pub page: u64,
}

impl<T> Listed<T> {
    /// The answer for a filter that names nothing: an empty first page,
    /// and no other page.
    pub fn empty(page: Page) -> Option<Listed<T>> {
        page.resolve(0).map(|_| Listed {
            items: Vec::new(),
            total: 0,
            page: 1,
        })
    }
}

/// A date range on the listed objects' `date`: `since` inclusive, `before`
/// exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    /// Lower bound, inclusive.
    pub since: Option<Micros>,
    /// Upper bound, exclusive.
    pub before: Option<Micros>,
}

impl DateRange {
    pub(crate) fn push(&self, sql: &mut Sql, column: &str) {
        if let Some(s) = self.since {
            sql.push(" AND ").push(column).push(" >= ").bind(s);
        }
        if let Some(b) = self.before {
            sql.push(" AND ").push(column).push(" < ").bind(b);
        }
    }
}

/// Adds "every term is found in one of `columns`" (case-insensitive
/// substring), Patchwork's `?q=` search.
pub(crate) fn push_search(sql: &mut Sql, terms: &[String], columns: &[&str]) {
    for term in terms {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        sql.push(" AND (");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("LOWER(")
                .push(c)
                .push(") LIKE ")
                .bind(pattern.clone())
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

/// `%`, `_` and `\` as themselves in a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Adds `ORDER BY` from (column expression, descending) pairs, then the
/// primary key as the tie-breaker so that pages never overlap.
pub(crate) fn push_order(sql: &mut Sql, order: &[(&str, bool)], id_column: &str) {
    push_order_maybe_reversed(sql, order, id_column, false);
}

fn push_order_maybe_reversed(
    sql: &mut Sql,
    order: &[(&str, bool)],
    id_column: &str,
    reversed: bool,
) {
    let dir = |desc: bool| if desc != reversed { " DESC" } else { " ASC" };
    sql.push(" ORDER BY ");
    for (column, desc) in order {
        sql.push(column).push(dir(*desc)).push(", ");
    }
    let id_desc = order.first().is_some_and(|(_, d)| *d) && order.len() == 1;
    sql.push(id_column).push(dir(id_desc));
}

/// Splits a `?q=` value into terms: whitespace and commas separate, double
/// quotes keep a phrase together.
pub fn search_terms(q: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if !quoted && (c.is_whitespace() || c == ',') => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms() {
        assert_eq!(search_terms("a b,c"), vec!["a", "b", "c"]);
        assert_eq!(search_terms("\"a b\" c"), vec!["a b", "c"]);
        assert!(search_terms("  ").is_empty());
    }

    #[test]
    fn pages() {
        let p = Page {
            number: 1,
            size: 30,
        };
        assert_eq!(p.pages(0), 1);
        assert_eq!(p.resolve(0), Some(1));
        assert_eq!(
            Page {
                number: 2,
                size: 30
            }
            .resolve(30),
            None
        );
        assert_eq!(
            Page {
                number: 2,
                size: 30
            }
            .resolve(31),
            Some(2)
        );
        assert_eq!(
            Page {
                number: Page::LAST,
                size: 1
            }
            .resolve(6),
            Some(6)
        );
        assert_eq!(Page { number: 0, size: 1 }.resolve(6), None);
    }

    #[test]
    fn windows_read_the_second_half_from_the_back() {
        let page = Page {
            number: 0,
            size: 10,
        };
        let w = |number| page.window(number, 95);
        assert_eq!(
            w(1),
            Window {
                reversed: false,
                limit: 10,
                offset: 0
            }
        );
        assert_eq!(
            w(5),
            Window {
                reversed: false,
                limit: 10,
                offset: 40
            }
        );
        // Rows 50..60 are rows 35..45 counted from the back.
        assert_eq!(
            w(6),
            Window {
                reversed: true,
                limit: 10,
                offset: 35
            }
        );
        // The last page holds the five rows left.
        assert_eq!(
            w(10),
            Window {
                reversed: true,
                limit: 5,
                offset: 0
            }
        );
        // Past the end: read forwards, and nothing is there.
        assert_eq!(
            w(11),
            Window {
                reversed: false,
                limit: 10,
                offset: 100
            }
        );
        let mut sql = Sql::new("");
        w(6).push(&mut sql, &[("p.date", true)], "p.id");
        assert_eq!(
            sql.text(),
            " ORDER BY p.date ASC, p.id ASC LIMIT 10 OFFSET 35"
        );
        let mut sql = Sql::new("");
        w(6).push(&mut sql, &[("a", true), ("b", false)], "p.id");
        assert_eq!(
            sql.text(),
            " ORDER BY a ASC, b DESC, p.id DESC LIMIT 10 OFFSET 35"
        );
    }

    #[test]
    fn positions() {
        let served = |page, total| Listed::<()> {
            items: Vec::new(),
            total,
            page,
        };
        let p = Page {
            number: Page::LAST,
            size: 30,
        };
        let at = p.position(&served(1, 0));
        assert_eq!((at.last, at.prev(), at.next()), (1, None, None));
        let at = p.position(&served(2, 61));
        assert_eq!((at.last, at.prev(), at.next()), (3, Some(1), Some(3)));
        let at = p.position(&served(3, 61));
        assert_eq!((at.last, at.prev(), at.next()), (3, Some(2), None));
    }
}
