//! Re-parsing stored mail after a parser fix: every patch, cover and
//! comment keeps its id, series, state and history, and gets the name,
//! content, diff, hash and pull URL the current parser derives from its
//! original bytes.

use sqlx::Row;

use patchtrack_mail::{ParseOptions, parse_mail};

use crate::db::Store;
use crate::error::Result;
use crate::ingest::header_text;

/// What a re-parse changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reparsed {
    /// Submissions looked at.
    pub examined: u64,
    /// Submissions whose derived fields changed.
    pub changed: u64,
    /// Submissions imported from Patchwork, which kept no original mail:
    /// nothing to re-parse, so they keep what Patchwork derived.
    pub imported: u64,
    /// Series that were linked to the posting they revise, or re-linked
    /// to a better one (sites that predate lineage get it this way).
    pub linked: u64,
}

impl Store {
    /// Re-parses every stored mail of a project and updates what changed.
    pub async fn reparse(&self, project_id: i64) -> Result<Reparsed> {
        let project =
            sqlx::query("SELECT linkname, listemail, use_tags FROM project WHERE id = $1")
                .bind(project_id)
                .fetch_one(&self.pool)
                .await?;
        let listemail: String = project.try_get("listemail")?;
        let options = ParseOptions {
            drop_prefixes: vec![project.try_get("linkname")?],
            list_email: Some(listemail).filter(|e| !e.is_empty()),
            strict_charsets: false,
        };
        let use_tags = project.try_get::<i64, _>("use_tags")? != 0;
        let mut result = Reparsed::default();
        result.imported = u64::try_from(
            sqlx::query(
                "SELECT COUNT(*) AS n FROM raw_mail WHERE project_id = $1 AND imported = 1",
            )
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get::<i64, _>("n")?,
        )
        .unwrap_or(0);
        let raws = sqlx::query(
            "SELECT id FROM raw_mail WHERE project_id = $1 AND imported = 0 ORDER BY id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        for raw in raws {
            let raw_id: i64 = raw.try_get("id")?;
            result.examined += 1;
            let mut tx = self.begin_write().await?;
            let row = sqlx::query("SELECT data, compression FROM raw_mail WHERE id = $1")
                .bind(raw_id)
                .fetch_one(&mut *tx)
                .await?;
            let data = crate::raw_mail::unpack(row.try_get("data")?, row.try_get("compression")?)?;
            let mail = parse_mail(&data, &options);
            let name =
                patchtrack_mail::text::truncate_chars(mail.name.as_deref().unwrap_or(""), 255);
            let headers = header_text(&mail);
            let mut changed = 0;
            let patch = sqlx::query(
                "UPDATE patch SET name = $1, content = $2, diff = $3, hash = $4, pull_url = $5, \
                 headers = $6 WHERE raw_mail_id = $7 AND (name <> $1 OR content IS DISTINCT FROM $2 \
                 OR diff IS DISTINCT FROM $3 OR hash IS DISTINCT FROM $4 \
                 OR pull_url IS DISTINCT FROM $5 OR headers <> $6) RETURNING id",
            )
            .bind(name)
            .bind(&mail.content)
            .bind(mail.diff.as_deref())
            .bind(mail.hash.as_deref())
            .bind(mail.pull_url.as_deref())
            .bind(&headers)
            .bind(raw_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = patch {
                changed += 1;
                let id: i64 = row.try_get("id")?;
                recount_tags(self, &mut tx, id, use_tags).await?;
            }
            changed += sqlx::query(
                "UPDATE cover SET name = $1, content = $2, headers = $3 WHERE raw_mail_id = $4 \
                 AND (name <> $1 OR content IS DISTINCT FROM $2 OR headers <> $3)",
            )
            .bind(name)
            .bind(&mail.content)
            .bind(&headers)
            .bind(raw_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            for table in ["patch_comment", "cover_comment"] {
                let sql = format!(
                    "UPDATE {table} SET content = $1, headers = $2, subject = $4 \
                     WHERE raw_mail_id = $3 AND (content IS DISTINCT FROM $1 OR headers <> $2 \
                     OR subject <> $4) RETURNING id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&mail.content)
                    .bind(&headers)
                    .bind(raw_id)
                    .bind(patchtrack_mail::header_encode::stored_subject(
                        &mail.headers,
                    ))
                    .fetch_all(&mut *tx)
                    .await?;
                changed += rows.len() as u64;
                if table == "patch_comment" && !rows.is_empty() {
                    let patch: i64 =
                        sqlx::query("SELECT patch_id FROM patch_comment WHERE raw_mail_id = $1")
                            .bind(raw_id)
                            .fetch_one(&mut *tx)
                            .await?
                            .try_get("patch_id")?;
                    recount_tags(self, &mut tx, patch, use_tags).await?;
                }
            }
            result.linked += relink(&mut tx, raw_id, &mail).await?;
            tx.commit().await?;
            if changed > 0 {
                result.changed += 1;
            }
        }
        Ok(result)
    }
}

/// Runs the lineage rules for the series of a re-parsed patch or cover
/// as if its mail had just arrived; returns how many series links that
/// made or changed.
async fn relink(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    raw_id: i64,
    mail: &patchtrack_mail::ParsedMail,
) -> Result<u64> {
    let row = sqlx::query(
        "SELECT series_id, number, name FROM patch WHERE raw_mail_id = $1 AND series_id IS NOT NULL \
         UNION ALL SELECT s.id AS series_id, NULL AS number, c.name FROM cover c \
         JOIN series s ON s.cover_letter_id = c.id WHERE c.raw_mail_id = $1",
    )
    .bind(raw_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(0) };
    let series_id: i64 = row.try_get("series_id")?;
    let number: Option<i64> = row.try_get("number")?;
    let name: String = row.try_get("name")?;
    let before = crate::lineage::link_of(tx, series_id).await?;
    let mut events = crate::event::Events::default();
    let joined = crate::lineage::Joined {
        series_id,
        mail,
        patch: number.map(|n| (n, name.as_str())),
    };
    crate::lineage::joined(tx, &mut events, &joined).await?;
    events.flush(tx).await?;
    Ok(u64::from(
        crate::lineage::link_of(tx, series_id).await? != before,
    ))
}

/// Counts a patch's tags from scratch: its message and every comment.
pub(crate) async fn recount_tags(
    store: &Store,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    patch_id: i64,
    use_tags: bool,
) -> Result<()> {
    sqlx::query("DELETE FROM patch_tag WHERE patch_id = $1")
        .bind(patch_id)
        .execute(&mut **tx)
        .await?;
    if !use_tags {
        return Ok(());
    }
    let mut texts: Vec<String> = Vec::new();
    for row in sqlx::query(
        "SELECT content FROM patch WHERE id = $1 \
         UNION ALL SELECT content FROM patch_comment WHERE patch_id = $1",
    )
    .bind(patch_id)
    .fetch_all(&mut **tx)
    .await?
    {
        texts.extend(row.try_get::<Option<String>, _>("content")?);
    }
    for text in texts {
        crate::tag::add(&store.caches, tx, patch_id, &text).await?;
    }
    Ok(())
}
