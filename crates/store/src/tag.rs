//! Tag counts (Acked-by, Reviewed-by, Tested-by, ...): how many times each
//! tag line starts a line of a patch's message and of its comments.
//!
//! Counts are additive, so a new patch counts its own message and a new
//! comment adds its own counts to its patch's; nothing is re-read.

use sqlx::Row;

use crate::cache::Caches;
use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Adds the tag lines of `text` to the counts of `patch_id`.
pub(crate) async fn add(caches: &Caches, tx: &mut Tx, patch_id: i64, text: &str) -> Result<()> {
    let tags = match caches.tags.get(&()) {
        Some(tags) => tags,
        None => {
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
            caches.tags.put((), tags)
        }
    };
    for (tag_id, re) in tags.iter() {
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
