//! Tag counts (Acked-by, Reviewed-by, Tested-by, ...): how many times each
//! tag line starts a line of a patch's message and of its comments.

use sqlx::Row;

use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Recounts the tags of one patch and rewrites its `patch_tag` rows (rows
/// exist only for counts above zero).
pub(crate) async fn recount(tx: &mut Tx, patch_id: i64, use_tags: bool) -> Result<()> {
    sqlx::query("DELETE FROM patch_tag WHERE patch_id = $1")
        .bind(patch_id)
        .execute(&mut **tx)
        .await?;
    if !use_tags {
        return Ok(());
    }
    let tags = sqlx::query("SELECT id, pattern FROM tag ORDER BY id")
        .fetch_all(&mut **tx)
        .await?;
    let mut texts: Vec<String> = Vec::new();
    let own = sqlx::query("SELECT content FROM patch WHERE id = $1")
        .bind(patch_id)
        .fetch_one(&mut **tx)
        .await?;
    texts.extend(own.try_get::<Option<String>, _>("content")?);
    for row in sqlx::query("SELECT content FROM patch_comment WHERE patch_id = $1")
        .bind(patch_id)
        .fetch_all(&mut **tx)
        .await?
    {
        texts.extend(row.try_get::<Option<String>, _>("content")?);
    }
    for tag in tags {
        let id: i64 = tag.try_get("id")?;
        let pattern: String = tag.try_get("pattern")?;
        // Patchwork matches with MULTILINE | IGNORECASE; a broken pattern
        // counts nothing rather than failing the mail.
        let Ok(re) = regex::Regex::new(&format!("(?mi){pattern}")) else {
            continue;
        };
        let count: usize = texts.iter().map(|t| re.find_iter(t).count()).sum();
        if count > 0 {
            sqlx::query("INSERT INTO patch_tag (patch_id, tag_id, count) VALUES ($1, $2, $3)")
                .bind(patch_id)
                .bind(id)
                .bind(i64::try_from(count).unwrap_or(i64::MAX))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
