//! Turning filter values ("id or name") into primary keys, one statement
//! per filter. Patchwork answers a filter naming nothing with an empty
//! list, and a repeated filter fails as a whole when any value names
//! nothing; `None` says so.

use std::collections::HashSet;

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;
use crate::listing::Lookup;
use crate::sql::Sql;

/// Which objects a lookup names, and how names compare.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Projects by linkname.
    Project,
    /// People by email.
    Person,
    /// Users by username.
    User,
    /// States by name, `-` read as a space.
    State,
}

impl Kind {
    fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Kind::Project => ("project", "linkname"),
            Kind::Person => ("person", "email"),
            Kind::User => ("app_user", "username"),
            Kind::State => ("state", "name"),
        }
    }

    fn normalise(self, name: &str) -> String {
        let lower = name.to_lowercase();
        match self {
            Kind::State => lower.replace('-', " "),
            _ => lower,
        }
    }
}

impl Store {
    /// The ids named by `lookups`; `Some(empty)` when there are none (no
    /// filter), `None` when any names nothing (the result must be empty).
    pub(crate) async fn resolve(&self, kind: Kind, lookups: &[Lookup]) -> Result<Option<Vec<i64>>> {
        if lookups.is_empty() {
            return Ok(Some(Vec::new()));
        }
        if let Some(ids) = self.resolve_cached(kind, lookups).await? {
            return Ok(ids);
        }
        let (table, key) = kind.table_and_key();
        let ids: Vec<i64> = lookups
            .iter()
            .filter_map(|l| match l {
                Lookup::Id(i) => Some(*i),
                Lookup::Name(_) => None,
            })
            .collect();
        let names: Vec<String> = lookups
            .iter()
            .filter_map(|l| match l {
                Lookup::Name(n) => Some(kind.normalise(n)),
                Lookup::Id(_) => None,
            })
            .collect();
        let mut sql = Sql::new(&format!(
            "SELECT id, LOWER({key}) AS k FROM {table} WHERE id IN "
        ));
        sql.bind_list(ids.iter().copied());
        sql.push(&format!(" OR LOWER({key}) IN "));
        sql.bind_list(names.iter().cloned());
        let rows = sql.fetch_all(&self.pool).await?;
        let mut found_ids = HashSet::new();
        let mut found_names = std::collections::HashMap::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let k: String = r.try_get("k")?;
            found_ids.insert(id);
            found_names.insert(kind.normalise(&k), id);
        }
        let mut out = Vec::with_capacity(lookups.len());
        for l in lookups {
            match l {
                Lookup::Id(i) if found_ids.contains(i) => out.push(*i),
                Lookup::Name(n) => match found_names.get(&kind.normalise(n)) {
                    Some(id) => out.push(*id),
                    None => return Ok(None),
                },
                Lookup::Id(_) => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Projects and states come from the few-seconds caches every page
    /// fills anyway: one statement less per filter on a list. `None`
    /// when the kind is not cached.
    async fn resolve_cached(
        &self,
        kind: Kind,
        lookups: &[Lookup],
    ) -> Result<Option<Option<Vec<i64>>>> {
        let known: Vec<(i64, String)> = match kind {
            Kind::Project => self
                .projects_by_id()
                .await?
                .values()
                .map(|p| (p.id, kind.normalise(&p.linkname)))
                .collect(),
            Kind::State => self
                .states()
                .await?
                .iter()
                .map(|s| (s.id, kind.normalise(&s.name)))
                .collect(),
            Kind::Person | Kind::User => return Ok(None),
        };
        let mut out = Vec::with_capacity(lookups.len());
        for l in lookups {
            let found = match l {
                Lookup::Id(i) => known.iter().find(|(id, _)| id == i),
                Lookup::Name(n) => {
                    let n = kind.normalise(n);
                    known.iter().find(|(_, k)| *k == n)
                }
            };
            match found {
                Some((id, _)) => out.push(*id),
                None => return Ok(Some(None)),
            }
        }
        Ok(Some(Some(out)))
    }
}

impl Store {
    /// The projects `lookups` name (ids or linknames); `Some(empty)` for no
    /// lookups, None when one names nothing.
    pub async fn resolve_projects(&self, lookups: &[Lookup]) -> Result<Option<Vec<i64>>> {
        self.resolve(Kind::Project, lookups).await
    }

    /// The user a lookup (id or username) names.
    pub async fn resolve_user(&self, lookup: &Lookup) -> Result<Option<i64>> {
        Ok(self
            .resolve(Kind::User, std::slice::from_ref(lookup))
            .await?
            .and_then(|ids| ids.first().copied()))
    }
}
