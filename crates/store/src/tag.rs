//! Tag counts (Acked-by, Reviewed-by, Tested-by, ...): how many times each
//! tag line starts a line of a patch's message and of its comments.
//!
//! Counts are additive, so a new patch counts its own message and a new
//! comment adds its own counts to its patch's; nothing is re-read.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Compiled tag patterns, re-read from the database at most every few
/// seconds (tags change rarely; compiling them per mail is the import's
/// largest CPU cost otherwise).
#[derive(Debug, Default)]
pub(crate) struct TagCache {
    inner: Mutex<Option<(Instant, Tags)>>,
}

/// Tag ids with their compiled patterns.
type Tags = Arc<Vec<(i64, regex::Regex)>>;

const TTL: Duration = Duration::from_secs(5);

impl TagCache {
    async fn get(&self, tx: &mut Tx) -> Result<Tags> {
        if let Ok(guard) = self.inner.lock()
            && let Some((at, tags)) = guard.as_ref()
            && at.elapsed() < TTL
        {
            return Ok(Arc::clone(tags));
        }
        let rows = sqlx::query("SELECT id, pattern FROM tag ORDER BY id")
            .fetch_all(&mut **tx)
            .await?;
        let mut tags = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let pattern: String = row.try_get("pattern")?;
            // Patchwork matches with MULTILINE | IGNORECASE; a broken
            // pattern counts nothing rather than failing the mail.
            if let Ok(re) = regex::Regex::new(&format!("(?mi){pattern}")) {
                tags.push((id, re));
            }
        }
        let tags = Arc::new(tags);
        if let Ok(mut guard) = self.inner.lock() {
            *guard = Some((Instant::now(), Arc::clone(&tags)));
        }
        Ok(tags)
    }

    /// Adds the tag lines of `text` to the counts of `patch_id`.
    pub(crate) async fn add(&self, tx: &mut Tx, patch_id: i64, text: &str) -> Result<()> {
        for (tag_id, re) in self.get(tx).await?.iter() {
            let count = re.find_iter(text).count();
            if count == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO patch_tag (patch_id, tag_id, count) VALUES ($1, $2, $3) \
                 ON CONFLICT (patch_id, tag_id) DO UPDATE SET count = patch_tag.count + excluded.count",
            )
            .bind(patch_id)
            .bind(tag_id)
            .bind(i64::try_from(count).unwrap_or(i64::MAX))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
