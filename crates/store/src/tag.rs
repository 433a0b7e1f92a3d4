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

/// A tag as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Primary key.
    pub id: i64,
    /// Trailer name (`Acked-by`).
    pub name: String,
    /// The regular expression lines are counted by (`^Acked-by:`).
    pub pattern: String,
    /// Column heading (`A`).
    pub abbrev: String,
    /// Whether the patch list has a column for it.
    pub show_column: bool,
}

impl crate::db::Store {
    /// Adds a tag: `pattern` is a regular expression matched at line
    /// starts, any case (`^Fixes:`). Existing counts are not recomputed:
    /// `retag` does that. A pattern that is not a valid expression, or an
    /// abbreviation already taken, is refused.
    pub async fn add_tag(
        &self,
        name: &str,
        pattern: &str,
        abbrev: &str,
        show_column: bool,
    ) -> Result<Tag> {
        if regex::Regex::new(pattern).is_err() {
            return Err(crate::error::StoreError::Invalid(format!(
                "the tag pattern {pattern:?} is not a valid regular expression"
            )));
        }
        let taken = sqlx::query("SELECT 1 FROM tag WHERE abbrev = $1")
            .bind(abbrev)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Err(crate::error::StoreError::Invalid(format!(
                "the abbreviation {abbrev:?} is taken"
            )));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO tag (name, pattern, abbrev, show_column) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(name)
        .bind(pattern)
        .bind(abbrev)
        .bind(i64::from(show_column))
        .fetch_one(&self.pool)
        .await?
        .try_get("id")?;
        self.caches.tags.clear();
        self.caches.tag_list.clear();
        Ok(Tag {
            id,
            name: name.to_string(),
            pattern: pattern.to_string(),
            abbrev: abbrev.to_string(),
            show_column,
        })
    }

    /// Saves a tag's fields (found by `tag.id`), refused as [`Store::add_tag`]
    /// refuses. Existing counts are not recomputed: `retag` does that.
    pub async fn update_tag(&self, tag: &Tag) -> Result<()> {
        if tag.name.trim().is_empty() || tag.abbrev.trim().is_empty() {
            return Err(crate::error::StoreError::Invalid(
                "a tag needs a name and an abbreviation".into(),
            ));
        }
        if let Err(e) = regex::Regex::new(&tag.pattern) {
            return Err(crate::error::StoreError::Invalid(format!(
                "the tag pattern {:?} is not a valid regular expression: {e}",
                tag.pattern
            )));
        }
        let res = sqlx::query(
            "UPDATE tag SET name = $1, pattern = $2, abbrev = $3, show_column = $4 WHERE id = $5",
        )
        .bind(tag.name.trim())
        .bind(&tag.pattern)
        .bind(tag.abbrev.trim())
        .bind(i64::from(tag.show_column))
        .bind(tag.id)
        .execute(&self.pool)
        .await;
        let res = match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(crate::error::StoreError::Invalid(format!(
                    "the abbreviation {:?} is taken",
                    tag.abbrev
                )));
            }
            other => other?,
        };
        self.caches.tags.clear();
        self.caches.tag_list.clear();
        if res.rows_affected() == 0 {
            return Err(crate::error::StoreError::NotFound(format!(
                "no tag {}",
                tag.id
            )));
        }
        Ok(())
    }

    /// Every tag, in id order (the order of the list's A/R/T columns),
    /// cached for a few seconds.
    pub async fn tags(&self) -> Result<Vec<Tag>> {
        if let Some(tags) = self.caches.tag_list.get(&()) {
            return Ok(tags.as_ref().clone());
        }
        let rows =
            sqlx::query("SELECT id, name, pattern, abbrev, show_column FROM tag ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let tags = rows
            .iter()
            .map(|r| {
                Ok(Tag {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    pattern: r.try_get("pattern")?,
                    abbrev: r.try_get("abbrev")?,
                    show_column: r.try_get::<i64, _>("show_column")? != 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.caches.tag_list.put((), tags).as_ref().clone())
    }

    /// Tag counts of a page of patches, keyed by (patch, tag), in one
    /// statement whatever the page size.
    pub async fn tag_counts(
        &self,
        patch_ids: &[i64],
    ) -> Result<std::collections::HashMap<(i64, i64), i64>> {
        let mut out = std::collections::HashMap::new();
        if patch_ids.is_empty() {
            return Ok(out);
        }
        let mut sql = crate::sql::Sql::new(
            "SELECT patch_id, tag_id, count FROM patch_tag WHERE patch_id IN ",
        );
        sql.bind_list(patch_ids.iter().copied());
        for r in sql.fetch_all(&self.pool).await? {
            out.insert(
                (r.try_get("patch_id")?, r.try_get("tag_id")?),
                r.try_get("count")?,
            );
        }
        Ok(out)
    }
}
