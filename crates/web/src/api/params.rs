//! The query string as Patchwork reads it: repeated keys, booleans,
//! "id or name" values, dates, pages and orderings.

use patchtrack_store::time::SiteZone;
use patchtrack_store::{DateRange, Lookup, Page};

/// Default and maximum page sizes (`REST_RESULTS_PER_PAGE`,
/// `MAX_REST_RESULTS_PER_PAGE`).
pub const PER_PAGE: u64 = 30;
/// See [`PER_PAGE`].
pub const MAX_PER_PAGE: u64 = 250;

/// Decoded query parameters in request order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    nul: bool,
}

/// A filter value that names nothing: the list is empty.
#[derive(Debug)]
pub struct Invalid;

impl Params {
    /// Parses a raw query string.
    pub fn parse(query: Option<&str>) -> Params {
        Params {
            pairs: query
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
            nul: query.is_some_and(crate::has_nul),
        }
    }

    /// Whether some value holds a NUL: no stored text does, so a list
    /// filtered by it is empty (and no such value reaches the store).
    pub fn has_nul(&self) -> bool {
        self.nul
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The last value of `key` (single-value filters use the last).
    pub fn last(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The values of a repeatable filter, in every version: Patchwork 2.0
    /// (API 1.0) read only the last one, but today's server gates the
    /// multiple-choice filters on no version, and `/api/1.0/` is served by
    /// it.
    fn multi(&self, key: &str) -> Vec<&str> {
        self.all(key)
    }

    /// An "id or name" filter. An empty value names nothing, except for
    /// `project`, where it means every project: git-pw sends `project=`
    /// when configured for all projects (upstream answers `[]`).
    pub fn lookups(&self, key: &str) -> Result<Vec<Lookup>, Invalid> {
        self.multi(key)
            .into_iter()
            .filter(|s| key != "project" || !s.trim().is_empty())
            .map(|s| {
                if s.trim().is_empty() {
                    Err(Invalid)
                } else {
                    Ok(Lookup::parse(s))
                }
            })
            .collect()
    }

    /// A filter by numeric ids.
    pub fn ids(&self, key: &str) -> Result<Vec<i64>, Invalid> {
        self.multi(key)
            .into_iter()
            .map(|s| s.trim().parse().map_err(|_| Invalid))
            .collect()
    }

    /// A boolean filter: true/false/1/0 in any case; anything else means
    /// no filtering.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.last(key)?.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }

    /// `since` and `before`, a date without an offset being a time of
    /// `zone` (UTC for mail dates, the site's zone for events and checks).
    pub fn dates(&self, zone: &SiteZone) -> Result<DateRange, Invalid> {
        let get = |key: &str| match self.last(key) {
            None => Ok(None),
            Some(s) => zone.parse_iso(s).map(Some).ok_or(Invalid),
        };
        Ok(DateRange {
            since: get("since")?,
            before: get("before")?,
        })
    }

    /// The search terms of `q`.
    pub fn search(&self) -> Vec<String> {
        self.last("q")
            .map(patchtrack_store::listing::search_terms)
            .unwrap_or_default()
    }

    /// The requested page; None when `page` is not a page number.
    pub fn page(&self) -> Option<Page> {
        let size = self
            .last("per_page")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
            .map_or(PER_PAGE, |n| n.min(MAX_PER_PAGE));
        let number = match self.last("page") {
            None => 1,
            Some("last") => Page::LAST,
            Some(s) => s.trim().parse::<u64>().ok()?,
        };
        Some(Page { number, size })
    }

    /// The `order` parameter mapped through `allowed` (name → field); an
    /// unknown field makes the whole ordering fall back to the default.
    pub fn order<T: Copy>(&self, allowed: &[(&str, T)], default: &[(T, bool)]) -> Vec<(T, bool)> {
        let Some(order) = self.last("order") else {
            return default.to_vec();
        };
        let mut out = Vec::new();
        for part in order.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, desc) = match part.strip_prefix('-') {
                Some(n) => (n, true),
                None => (part, false),
            };
            match allowed.iter().find(|(n, _)| *n == name) {
                Some((_, field)) => out.push((*field, desc)),
                None => return default.to_vec(),
            }
        }
        if out.is_empty() {
            default.to_vec()
        } else {
            out
        }
    }
}

/// Python's `urllib.parse.quote_plus`: letters, digits and `_.-~` kept,
/// space as `+`, every other byte percent-encoded.
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let p = |q: &str| Params::parse(Some(q)).page();
        assert_eq!(p("").map(|p| (p.number, p.size)), Some((1, 30)));
        assert_eq!(p("per_page=1000").map(|p| p.size), Some(250));
        assert_eq!(p("per_page=0").map(|p| p.size), Some(30));
        assert_eq!(p("per_page=-3").map(|p| p.size), Some(30));
        assert_eq!(p("page=abc"), None);
        assert_eq!(p("page=last").map(|p| p.number), Some(Page::LAST));
    }

    #[test]
    fn orders() {
        let q = Params::parse(Some("order=-date,name"));
        let allowed = [("date", 1), ("name", 2)];
        assert_eq!(
            q.order(&allowed, &[(0, false)]),
            vec![(1, true), (2, false)]
        );
        let q = Params::parse(Some("order=bogus"));
        assert_eq!(q.order(&allowed, &[(0, false)]), vec![(0, false)]);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_plus("a b:c,d@e*~"), "a+b%3Ac%2Cd%40e%2A~");
    }
}
