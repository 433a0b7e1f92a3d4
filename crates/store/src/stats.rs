//! What a project holds, summarised: the figures import reports and tests
//! compare with upstream's.

use sqlx::Row;

use crate::db::Store;
use crate::error::Result;

/// Object counts of one project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Patches, pull requests included.
    pub patches: i64,
    /// Patches with a pull URL.
    pub pull_requests: i64,
    /// Cover letters.
    pub covers: i64,
    /// Comments on patches.
    pub patch_comments: i64,
    /// Comments on covers.
    pub cover_comments: i64,
    /// Series.
    pub series: i64,
    /// Stored original mails.
    pub raw_mails: i64,
}

/// One series: its patches' message-ids (by number) and cover's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesSummary {
    /// Series id.
    pub id: i64,
    /// Name, if any.
    pub name: Option<String>,
    /// Version.
    pub version: i64,
    /// Expected number of patches.
    pub total: i64,
    /// Cover letter message-id.
    pub cover: Option<String>,
    /// Patch message-ids by number.
    pub patches: Vec<String>,
    /// Ids of the series this one depends on.
    pub dependencies: Vec<i64>,
}

impl Store {
    async fn count(&self, sql: &'static str, project_id: i64) -> Result<i64> {
        Ok(sqlx::query(sql)
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// Counts of everything stored for a project.
    pub async fn counts(&self, project_id: i64) -> Result<Counts> {
        Ok(Counts {
            patches: self
                .count("SELECT COUNT(*) AS n FROM patch WHERE project_id = $1", project_id)
                .await?,
            pull_requests: self
                .count(
                    "SELECT COUNT(*) AS n FROM patch WHERE project_id = $1 AND pull_url IS NOT NULL",
                    project_id,
                )
                .await?,
            covers: self
                .count("SELECT COUNT(*) AS n FROM cover WHERE project_id = $1", project_id)
                .await?,
            patch_comments: self
                .count(
                    "SELECT COUNT(*) AS n FROM patch_comment c JOIN patch p ON p.id = c.patch_id \
                     WHERE p.project_id = $1",
                    project_id,
                )
                .await?,
            cover_comments: self
                .count(
                    "SELECT COUNT(*) AS n FROM cover_comment c JOIN cover v ON v.id = c.cover_id \
                     WHERE v.project_id = $1",
                    project_id,
                )
                .await?,
            series: self
                .count("SELECT COUNT(*) AS n FROM series WHERE project_id = $1", project_id)
                .await?,
            raw_mails: self
                .count("SELECT COUNT(*) AS n FROM raw_mail WHERE project_id = $1", project_id)
                .await?,
        })
    }

    /// Every series of a project, by date then id, with members.
    pub async fn series_summaries(&self, project_id: i64) -> Result<Vec<SeriesSummary>> {
        let rows = sqlx::query(
            "SELECT s.id AS id, s.name AS name, s.version AS version, s.total AS total, \
             c.msgid AS cover FROM series s LEFT JOIN cover c ON c.id = s.cover_letter_id \
             WHERE s.project_id = $1 ORDER BY s.date, s.id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let patches =
                sqlx::query("SELECT msgid FROM patch WHERE series_id = $1 ORDER BY number, id")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|p| p.try_get("msgid"))
                    .collect::<Result<_, sqlx::Error>>()?;
            let dependencies = sqlx::query(
                "SELECT depends_on_id FROM series_dependency WHERE series_id = $1 \
                 ORDER BY depends_on_id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|p| p.try_get("depends_on_id"))
            .collect::<Result<_, sqlx::Error>>()?;
            out.push(SeriesSummary {
                id,
                name: r.try_get("name")?,
                version: r.try_get("version")?,
                total: r.try_get("total")?,
                cover: r.try_get("cover")?,
                patches,
                dependencies,
            });
        }
        Ok(out)
    }
}

impl Store {
    /// The original bytes of every mail stored for a project, in the order
    /// they were stored.
    pub async fn raw_mails_in_order(&self, project_id: i64) -> Result<Vec<Vec<u8>>> {
        let rows =
            sqlx::query("SELECT data, compression FROM raw_mail WHERE project_id = $1 ORDER BY id")
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| crate::raw_mail::unpack(r.try_get("data")?, r.try_get("compression")?))
            .collect()
    }
}

impl Store {
    /// A project's events, oldest first: category and the message-id of the
    /// patch or cover it concerns (if any).
    pub async fn event_log(&self, project_id: i64) -> Result<Vec<(String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT e.category AS category, COALESCE(p.msgid, c.msgid) AS msgid FROM event e \
             LEFT JOIN patch p ON p.id = e.patch_id LEFT JOIN cover c ON c.id = e.cover_id \
             WHERE e.project_id = $1 ORDER BY e.id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("category")?, r.try_get("msgid")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }
}

/// What triage needs to know about one patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchStatus {
    /// Name.
    pub name: String,
    /// Patchwork hash of the diff.
    pub hash: Option<String>,
    /// State slug.
    pub state: String,
    /// Delegate's username.
    pub delegate: Option<String>,
    /// Tag counts by tag name, only those above zero.
    pub tags: Vec<(String, i64)>,
    /// `addressed` of each comment, oldest first.
    pub comments_addressed: Vec<Option<bool>>,
}

impl Store {
    /// The state, delegate, tag counts and comment flags of the patch with
    /// this message-id in a project.
    pub async fn patch_status(&self, project_id: i64, msgid: &str) -> Result<Option<PatchStatus>> {
        let Some(row) = sqlx::query(
            "SELECT p.id AS id, p.name AS name, p.hash AS hash, s.slug AS state, \
             u.username AS delegate FROM patch p \
             JOIN state s ON s.id = p.state_id LEFT JOIN app_user u ON u.id = p.delegate_id \
             WHERE p.project_id = $1 AND p.msgid = $2",
        )
        .bind(project_id)
        .bind(msgid)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let tags = sqlx::query(
            "SELECT t.name AS name, pt.count AS count FROM patch_tag pt \
             JOIN tag t ON t.id = pt.tag_id WHERE pt.patch_id = $1 ORDER BY t.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("count")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let comments_addressed = sqlx::query(
            "SELECT addressed FROM patch_comment WHERE patch_id = $1 ORDER BY date, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<Option<i64>, _>("addressed")?.map(|v| v != 0)))
        .collect::<Result<_, sqlx::Error>>()?;
        Ok(Some(PatchStatus {
            name: row.try_get("name")?,
            hash: row.try_get("hash")?,
            state: row.try_get("state")?,
            delegate: row.try_get("delegate")?,
            tags,
            comments_addressed,
        }))
    }
}
