//! Bundles: a user's named, ordered collections of patches, private unless
//! made public.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::{Refused, Result, StoreError};
use crate::listing::{Listed, Lookup, Page, push_order, push_search};
use crate::refs::{self, PatchRef, UserRef};
use crate::resolve::Kind;
use crate::sql::Sql;

/// A bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Primary key.
    pub id: i64,
    /// Creator.
    pub owner: UserRef,
    /// Project of its patches.
    pub project_id: i64,
    /// Name, unique per owner.
    pub name: String,
    /// Visible to everyone.
    pub public: bool,
    /// Its first patches by date (the API's order), at most the store's
    /// group limit of them.
    pub patches: Vec<PatchRef>,
    /// All its patch ids in bundle order (the mbox order).
    pub order: Vec<i64>,
}

/// Filters of the bundle list.
#[derive(Debug, Clone, Default)]
pub struct BundleFilter {
    /// In one of these projects.
    pub projects: Vec<Lookup>,
    /// Owned by one of these users.
    pub owners: Vec<Lookup>,
    /// Public or not.
    pub public: Option<bool>,
    /// Words that must all appear in the name.
    pub search: Vec<String>,
}

/// Orderings of bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleOrder {
    /// Primary key.
    Id,
    /// Name.
    Name,
    /// Owner (username).
    Owner,
}

impl BundleOrder {
    fn column(self) -> &'static str {
        match self {
            BundleOrder::Id => "b.id",
            BundleOrder::Name => "b.name",
            BundleOrder::Owner => "u.username",
        }
    }
}

/// A new bundle, or the changes to one (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct BundleChanges {
    /// Name.
    pub name: Option<String>,
    /// Patch ids in order (replaces the list).
    pub patches: Option<Vec<i64>>,
    /// Visibility.
    pub public: Option<bool>,
}

fn select() -> String {
    format!(
        "SELECT b.id, b.project_id, b.name, b.public, {} FROM bundle b \
         JOIN app_user u ON u.id = b.owner_id",
        refs::user_columns("u", "u_")
    )
}

fn from_row(r: &AnyRow) -> Result<Bundle> {
    Ok(Bundle {
        id: r.try_get("id")?,
        owner: refs::user(r, "u_")?
            .ok_or_else(|| StoreError::Inconsistent("a bundle without its owner".into()))?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        public: r.try_get::<i64, _>("public")? != 0,
        patches: Vec::new(),
        order: Vec::new(),
    })
}

/// Visible to `viewer`: public, or theirs.
fn push_visible(sql: &mut Sql, viewer: Option<i64>) {
    match viewer {
        Some(v) => {
            sql.push(" AND (b.public = 1 OR b.owner_id = ")
                .bind(v)
                .push(")");
        }
        None => {
            sql.push(" AND b.public = 1");
        }
    }
}

impl Store {
    /// One page of the bundles `viewer` may see.
    pub async fn bundles(
        &self,
        viewer: Option<i64>,
        filter: &BundleFilter,
        order: &[(BundleOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Bundle>>> {
        let (Some(projects), Some(owners)) = (
            self.resolve(Kind::Project, &filter.projects).await?,
            self.resolve(Kind::User, &filter.owners).await?,
        ) else {
            return Ok(Listed::empty(page));
        };
        let push_where = |sql: &mut Sql| {
            sql.push(" WHERE 1 = 1");
            push_visible(sql, viewer);
            if !projects.is_empty() {
                sql.push(" AND b.project_id IN ")
                    .bind_list(projects.iter().copied());
            }
            if !owners.is_empty() {
                sql.push(" AND b.owner_id IN ")
                    .bind_list(owners.iter().copied());
            }
            if let Some(p) = filter.public {
                sql.push(" AND b.public = ").bind(i64::from(p));
            }
            push_search(sql, &filter.search, &["b.name"]);
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM bundle b");
        push_where(&mut count);
        let total = count.count(&self.pool).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = Sql::new(&select());
        push_where(&mut sql);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "b.id");
        page.limit_offset(&mut sql, number);
        let rows = sql.fetch_all(&self.pool).await?;
        let items = self.complete_bundles(&rows).await?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// A bundle `viewer` may see.
    pub async fn bundle(&self, id: i64, viewer: Option<i64>) -> Result<Option<Bundle>> {
        let mut sql = Sql::new(&select());
        sql.push(" WHERE b.id = ").bind(id);
        push_visible(&mut sql, viewer);
        let rows = sql.fetch_all(&self.pool).await?;
        Ok(self.complete_bundles(&rows).await?.pop())
    }

    /// A bundle by owner and name, if `viewer` may see it.
    pub async fn bundle_by_name(
        &self,
        owner: &str,
        name: &str,
        viewer: Option<i64>,
    ) -> Result<Option<Bundle>> {
        let mut sql = Sql::new(&select());
        sql.push(" WHERE u.username = ")
            .bind(owner.to_string())
            .push(" AND b.name = ")
            .bind(name.to_string());
        push_visible(&mut sql, viewer);
        let rows = sql.fetch_all(&self.pool).await?;
        Ok(self.complete_bundles(&rows).await?.pop())
    }

    async fn complete_bundles(&self, rows: &[AnyRow]) -> Result<Vec<Bundle>> {
        let mut bundles: Vec<Bundle> = rows.iter().map(from_row).collect::<Result<_>>()?;
        if bundles.is_empty() {
            return Ok(bundles);
        }
        let ids: Vec<i64> = bundles.iter().map(|b| b.id).collect();
        // The embedded patches stop at the group limit, in the statement:
        // a bundle made before the limit existed may be any size.
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT bp.bundle_id AS bundle_id, {}, ROW_NUMBER() OVER \
             (PARTITION BY bp.bundle_id ORDER BY p.date, p.id) AS place \
             FROM bundle_patch bp JOIN patch p ON p.id = bp.patch_id WHERE bp.bundle_id IN ",
            refs::submission_columns("p", "p_")
        ));
        sql.bind_list(ids.iter().copied());
        sql.push(") ranked WHERE place <= ")
            .bind(i64::try_from(self.group_limit).unwrap_or(i64::MAX));
        sql.push(" ORDER BY bundle_id, place");
        let mut members: HashMap<i64, Vec<PatchRef>> = HashMap::new();
        for r in sql.fetch_all(&self.pool).await? {
            if let Some(t) = refs::submission(&r, "p_")? {
                members
                    .entry(r.try_get("bundle_id")?)
                    .or_default()
                    .push(refs::patch_ref(t));
            }
        }
        // Every id, for downloads and the pages (numbers, not objects).
        let mut sql = Sql::new(
            "SELECT bp.bundle_id, bp.patch_id FROM bundle_patch bp \
             JOIN patch p ON p.id = bp.patch_id WHERE bp.bundle_id IN ",
        );
        sql.bind_list(ids.iter().copied());
        sql.push(" ORDER BY bp.bundle_id, bp.ordering, bp.patch_id");
        let mut order: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in sql.fetch_all(&self.pool).await? {
            order
                .entry(r.try_get("bundle_id")?)
                .or_default()
                .push(r.try_get("patch_id")?);
        }
        for b in &mut bundles {
            b.patches = members.remove(&b.id).unwrap_or_default();
            b.order = order.remove(&b.id).unwrap_or_default();
        }
        Ok(bundles)
    }

    /// Checks a bundle's patch list: not empty, every id exists, one
    /// project. Returns the project, or why not.
    async fn bundle_project(&self, patches: &[i64]) -> Result<std::result::Result<i64, Refused>> {
        if patches.is_empty() {
            return Ok(Err(Refused::EmptyBundle));
        }
        // Unlike upstream (docs/compatibility.md): every bundle list embeds
        // each bundle's patches, so their number is bounded.
        let distinct = patches.iter().collect::<HashSet<_>>().len();
        if distinct > self.group_limit {
            return Ok(Err(Refused::TooMany {
                field: "patches",
                max: self.group_limit,
            }));
        }
        let mut sql = Sql::new("SELECT id, project_id FROM patch WHERE id IN ");
        sql.bind_list(patches.iter().copied());
        let found: HashMap<i64, i64> = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("project_id")?)))
            .collect::<Result<_>>()?;
        for id in patches {
            if !found.contains_key(id) {
                return Ok(Err(Refused::NoSuchObject {
                    field: "patches",
                    id: *id,
                }));
            }
        }
        let first = found[&patches[0]];
        if found.values().any(|p| *p != first) {
            return Ok(Err(Refused::BundleAcrossProjects));
        }
        Ok(Ok(first))
    }

    /// Creates or changes a bundle of `owner`; a refusal comes back inside
    /// the Ok.
    pub async fn save_bundle(
        &self,
        owner: i64,
        existing: Option<i64>,
        changes: &BundleChanges,
    ) -> Result<std::result::Result<Bundle, Refused>> {
        let mut project = None;
        if let Some(patches) = &changes.patches {
            match self.bundle_project(patches).await? {
                Ok(p) => project = Some(p),
                Err(refused) => return Ok(Err(refused)),
            }
        }
        if let Some(name) = &changes.name {
            if name.trim().is_empty() {
                return Ok(Err(Refused::Blank { field: "name" }));
            }
            // Upstream's model field: `max_length=50`.
            if name.chars().count() > 50 {
                return Ok(Err(Refused::TooLong {
                    field: "name",
                    max: 50,
                }));
            }
            let mut sql = Sql::new("SELECT id FROM bundle WHERE owner_id = ");
            sql.bind(owner).push(" AND name = ").bind(name.clone());
            if let Some(id) = existing {
                sql.push(" AND id <> ").bind(id);
            }
            if sql.fetch_optional(&self.pool).await?.is_some() {
                return Ok(Err(Refused::BundleNameTaken));
            }
        }
        let mut tx = self.begin_write().await?;
        let id = match existing {
            Some(id) => {
                let mut sql = Sql::new("UPDATE bundle SET name = COALESCE(");
                sql.bind(changes.name.clone())
                    .push(", name), public = COALESCE(")
                    .bind(changes.public.map(i64::from))
                    .push(", public), project_id = COALESCE(")
                    .bind(project)
                    .push(", project_id) WHERE id = ")
                    .bind(id);
                sql.execute(&mut *tx).await?;
                id
            }
            None => {
                let Some(name) = &changes.name else {
                    return Ok(Err(Refused::Required { field: "name" }));
                };
                let Some(project) = project else {
                    return Ok(Err(Refused::Required { field: "patches" }));
                };
                sqlx::query(
                    "INSERT INTO bundle (owner_id, project_id, name, public) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(owner)
                .bind(project)
                .bind(name.clone())
                .bind(i64::from(changes.public.unwrap_or(false)))
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?
            }
        };
        if let Some(patches) = &changes.patches {
            sqlx::query("DELETE FROM bundle_patch WHERE bundle_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let mut seen = HashSet::new();
            let mut ordering = 0i64;
            for p in patches {
                if !seen.insert(*p) {
                    continue;
                }
                ordering += 1;
                sqlx::query(
                    "INSERT INTO bundle_patch (bundle_id, patch_id, ordering) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(*p)
                .bind(ordering)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.bundle(id, Some(owner))
            .await?
            .map(Ok)
            .ok_or_else(|| StoreError::Inconsistent(format!("bundle {id} vanished while saved")))
    }

    /// Deletes a bundle.
    pub async fn delete_bundle(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM bundle WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
