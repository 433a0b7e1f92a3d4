//! Site-wide repairs, as Patchwork's management commands make them: tag
//! counts and patch hashes recomputed from what is stored (after a tag or
//! hasher change), and every patch relation replaced from a list.
//!
//! The first two walk the patches in batches by id, one transaction per
//! batch, so that a site with a million patches neither holds one long
//! transaction nor loads every id at once, and an interrupted run can be
//! run again.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;
use crate::sql::Sql;

/// Patches per transaction.
const BATCH: i64 = 500;

/// What `replace_relations` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replaced {
    /// Relations made.
    pub relations: u64,
    /// Lines left out, with the reason: (line number from 1, reason).
    pub skipped: Vec<(usize, String)>,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What a repair recomputes.
#[derive(Debug, Clone, Copy)]
enum Repair {
    /// Tag counts.
    Tags,
    /// Diff hashes.
    Hashes,
}

/// Rehashes a batch from the stored diffs; how many hashes changed.
async fn rehash_batch(tx: &mut Tx, batch: &[(i64, bool)]) -> Result<u64> {
    let mut changed = 0;
    let mut sql = Sql::new("SELECT id, diff, hash FROM patch WHERE id IN ");
    sql.bind_list(batch.iter().map(|(id, _)| *id));
    for row in sql.fetch_all(&mut **tx).await? {
        let id: i64 = row.try_get("id")?;
        let diff: Option<String> = row.try_get("diff")?;
        let stored: Option<String> = row.try_get("hash")?;
        let hash = diff
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(patchtrack_mail::hash_diff);
        if hash != stored {
            sqlx::query("UPDATE patch SET hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Which patches a repair walks.
#[derive(Debug, Clone, Copy)]
pub enum Patches<'a> {
    /// Every patch of the site.
    All,
    /// These ids (unknown ones are ignored).
    Only(&'a [i64]),
}

impl Store {
    /// The next batch of patch ids after `after`, with their project's
    /// `use_tags`.
    async fn batch(&self, which: Patches<'_>, after: i64) -> Result<Vec<(i64, bool)>> {
        let mut sql = Sql::new(
            "SELECT p.id, pr.use_tags FROM patch p JOIN project pr ON pr.id = p.project_id \
             WHERE p.id > ",
        );
        sql.bind(after);
        if let Patches::Only(ids) = which {
            sql.push(" AND p.id IN ").bind_list(ids.iter().copied());
        }
        sql.push(" ORDER BY p.id LIMIT ").bind(BATCH);
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get::<i64, _>("use_tags")? != 0)))
            .collect()
    }

    /// Recounts the tags of patches from their message and comments
    /// (Patchwork's `retag`); `progress` hears the running count after
    /// each batch. Returns how many patches were recounted.
    pub async fn retag(&self, which: Patches<'_>, progress: &mut dyn FnMut(u64)) -> Result<u64> {
        Ok(self.repair(Repair::Tags, which, progress).await?.0)
    }

    /// Recomputes the hash of patches from their stored diff (Patchwork's
    /// `rehash`, which clears and re-saves each one). Returns (patches
    /// looked at, hashes that changed).
    pub async fn rehash(
        &self,
        which: Patches<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, u64)> {
        self.repair(Repair::Hashes, which, progress).await
    }

    /// Walks the patches batch by batch, one transaction each, making
    /// `what` on each batch: (patches looked at, patches changed).
    async fn repair(
        &self,
        what: Repair,
        which: Patches<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, u64)> {
        let (mut done, mut changed) = (0, 0);
        let mut after = i64::MIN;
        loop {
            let batch = self.batch(which, after).await?;
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            let mut tx = self.begin_write().await?;
            changed += match what {
                Repair::Tags => self.recount_batch(&mut tx, &batch).await?,
                Repair::Hashes => rehash_batch(&mut tx, &batch).await?,
            };
            tx.commit().await?;
            done += batch.len() as u64;
            after = last;
            progress(done);
        }
        Ok((done, changed))
    }

    /// Recounts the tags of a batch; every patch counts as changed.
    async fn recount_batch(&self, tx: &mut Tx, batch: &[(i64, bool)]) -> Result<u64> {
        for &(id, use_tags) in batch {
            crate::reparse::recount_tags(self, tx, id, use_tags).await?;
        }
        Ok(batch.len() as u64)
    }

    /// The ids of a project's patches after `after`, by id, at most
    /// `limit`: for walking a whole project (a dump) without offsets.
    pub async fn project_patch_ids(
        &self,
        project_id: i64,
        after: i64,
        limit: u64,
    ) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT id FROM patch WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(project_id)
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Replaces every patch relation with `groups` (Patchwork's
    /// `replacerelations`), in one transaction: a group whose ids name
    /// fewer than two existing patches is left out, and so is one larger
    /// than the group limit, or naming a patch an earlier group took.
    pub async fn replace_relations(&self, groups: &[Vec<i64>]) -> Result<Replaced> {
        let mut out = Replaced::default();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE patch SET related_id = NULL WHERE related_id IS NOT NULL")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM patch_relation")
            .execute(&mut *tx)
            .await?;
        let mut taken = BTreeSet::new();
        for (n, group) in groups.iter().enumerate() {
            let line = n + 1;
            let wanted: BTreeSet<i64> = group.iter().copied().collect();
            let mut existing: Vec<i64> = Vec::with_capacity(wanted.len());
            for chunk in wanted.iter().copied().collect::<Vec<_>>().chunks(500) {
                let mut sql = Sql::new("SELECT id FROM patch WHERE id IN ");
                sql.bind_list(chunk.iter().copied());
                for row in sql.fetch_all(&mut *tx).await? {
                    existing.push(row.try_get("id")?);
                }
            }
            if existing.len() < 2 {
                out.skipped.push((
                    line,
                    format!(
                        "names {} existing patch(es); a relation needs two",
                        existing.len()
                    ),
                ));
                continue;
            }
            if existing.len() > self.group_limit {
                out.skipped.push((
                    line,
                    format!(
                        "{} patches, more than the group limit of {}",
                        existing.len(),
                        self.group_limit
                    ),
                ));
                continue;
            }
            if let Some(dup) = existing.iter().find(|id| taken.contains(*id)) {
                out.skipped
                    .push((line, format!("patch {dup} is already in an earlier line")));
                continue;
            }
            let relation: i64 =
                sqlx::query("INSERT INTO patch_relation DEFAULT VALUES RETURNING id")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
            let mut sql = Sql::new("UPDATE patch SET related_id = ");
            sql.bind(relation)
                .push(" WHERE id IN ")
                .bind_list(existing.iter().copied());
            sql.execute(&mut *tx).await?;
            taken.extend(existing);
            out.relations += 1;
        }
        tx.commit().await?;
        Ok(out)
    }
}
