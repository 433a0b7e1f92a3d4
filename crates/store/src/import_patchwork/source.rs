//! The Patchwork database being moved: opened read-only through sqlx like
//! our own, its schema version read from `django_migrations`, and the
//! few SQL spellings that differ between its two engines.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use crate::db::Backend;
use crate::error::{Result, StoreError};

/// Patchwork's own migrations, in order, as far as this importer knows
/// them (upstream commit 644cef7, the migration fixture's): a source with
/// any other patchwork migration has columns we have not seen, and is
/// refused rather than half-copied.
const KNOWN_MIGRATIONS: &[&str] = &[
    "0001_initial",
    "0002_fix_patch_state_default_values",
    "0003_add_check_model",
    "0004_add_delegation_rule_model",
    "0005_unselectable_maintainer_projects",
    "0006_add_patch_diff",
    "0007_move_comment_content_to_patch_content",
    "0008_add_email_mixin",
    "0009_add_submission_model",
    "0010_migrate_data_from_submission_to_patch",
    "0011_remove_temp_fields",
    "0012_add_coverletter_model",
    "0013_slug_check_context",
    "0014_remove_userprofile_primary_project",
    "0015_add_series_models",
    "0016_series_project",
    "0017_improved_delegation_rule_docs",
    "0018_add_event_model",
    "0019_userprofile_show_ids",
    "0020_tag_show_column",
    "0021_django_1_10_fixes",
    "0022_add_subject_match_to_project",
    "0023_timezone_unify",
    "0024_patch_patch_project",
    "0025_add_regex_validators",
    "0026_add_user_bundles_backref",
    "0027_remove_series_ordering",
    "0028_add_comment_date_index",
    "0029_add_list_covering_index",
    "0030_add_submission_covering_index",
    "0031_add_patch_series_fields",
    "0032_migrate_data_from_series_patch_to_patch",
    "0033_remove_patch_series_model",
    "0034_project_list_archive_url",
    "0035_project_list_archive_url_format",
    "0036_project_commit_url_format",
    "0037_event_actor",
    "0038_state_slug",
    "0039_unique_series_references",
    "0040_add_related_patches",
    "0001_squashed_0040_add_related_patches",
    "0041_python3",
    "0042_add_cover_model",
    "0043_merge_patch_submission",
    "0044_add_project_linkname_validation",
    "0045_addressed_fields",
    "0046_patch_comment_events",
    "0047_add_database_indexes",
    "0048_series_dependencies",
];

/// Patchwork 3.0 split submissions into `patchwork_patch`,
/// `patchwork_cover` and the two comment tables; the tables this importer
/// reads exist from there on.
const FIRST_SUPPORTED: &str = "0043_merge_patch_submission";

/// An open Patchwork database.
#[derive(Debug)]
pub struct Source {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// The newest patchwork migration applied.
    pub(crate) last_migration: String,
    pub(crate) zone: jiff::tz::TimeZone,
    pub(crate) zone_name: String,
    /// The URL without its password, for the import's record.
    pub(crate) label: String,
}

impl Source {
    /// Opens the Patchwork database at `url` (`sqlite://PATH`, opened
    /// read-only, or `postgres://...`) whose `TIME_ZONE` setting is
    /// `time_zone`, and checks that it is a Patchwork schema this importer
    /// knows.
    pub async fn open(url: &str, time_zone: &str) -> Result<Source> {
        sqlx::any::install_default_drivers();
        let zone = jiff::tz::TimeZone::get(time_zone)
            .map_err(|e| StoreError::Invalid(format!("unknown time zone {time_zone:?}: {e}")))?;
        // The zone is written into the source's SQL (`AT TIME ZONE '...'`):
        // only the spellings of the time-zone database get there.
        if !time_zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
        {
            return Err(StoreError::Invalid(format!(
                "unsupported time zone name {time_zone:?}"
            )));
        }
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            if !std::path::Path::new(path.split('?').next().unwrap_or(path)).is_file() {
                return Err(StoreError::Invalid(format!("no such file: {path}")));
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            (Backend::Sqlite, format!("sqlite://{path}{sep}mode=ro"))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported source URL {url:?}: use sqlite://PATH or postgres://... \
                 (MySQL sources are not supported yet)"
            )));
        };
        let options = AnyConnectOptions::from_str(&url).map_err(StoreError::Unavailable)?;
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(StoreError::Unavailable)?;
        let rows = sqlx::query("SELECT name FROM django_migrations WHERE app = 'patchwork'")
            .fetch_all(&pool)
            .await
            .map_err(|e| {
                StoreError::Invalid(format!(
                    "not a Patchwork database (no Django migration table: {e})"
                ))
            })?;
        let applied: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("name"))
            .collect::<Result<_, _>>()?;
        if applied.is_empty() {
            return Err(StoreError::Invalid(
                "not a Patchwork database (Django, but no patchwork migrations applied)".into(),
            ));
        }
        let newest = KNOWN_MIGRATIONS.last().copied().unwrap_or(FIRST_SUPPORTED);
        if let Some(unknown) = applied
            .iter()
            .find(|n| !KNOWN_MIGRATIONS.contains(&n.as_str()))
        {
            return Err(StoreError::Invalid(format!(
                "unknown Patchwork schema: migration patchwork.{unknown} is newer than this \
                 importer knows (Patchwork 3.0 and later, migrations {FIRST_SUPPORTED} to \
                 {newest}, upstream commit 644cef7)"
            )));
        }
        let last_migration = KNOWN_MIGRATIONS
            .iter()
            .rev()
            .find(|k| applied.iter().any(|a| a == *k))
            .map(|k| (*k).to_string())
            .unwrap_or_default();
        if !applied.iter().any(|a| a == FIRST_SUPPORTED) {
            return Err(StoreError::Invalid(format!(
                "Patchwork schema too old (last migration patchwork.{last_migration}): this \
                 importer reads Patchwork 3.0 and later (migrations {FIRST_SUPPORTED} to \
                 {newest}); upgrade the site with Patchwork's own `manage.py migrate` first"
            )));
        }
        Ok(Source {
            label: without_password(&url),
            pool,
            backend,
            last_migration,
            zone,
            zone_name: time_zone.to_string(),
        })
    }

    /// The newest patchwork migration the source has applied.
    pub fn schema_version(&self) -> &str {
        &self.last_migration
    }

    /// Which engine the source is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the source's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The columns of a source table (empty when there is no such table).
    pub(crate) async fn columns(&self, table: &str) -> Result<Vec<String>> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT name AS c FROM pragma_table_info($1)",
            Backend::Postgres => {
                "SELECT CAST(column_name AS TEXT) AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let rows = sqlx::query(sql).bind(table).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("c"))
            .collect::<Result<_, _>>()?)
    }

    /// An integer column, read as BIGINT on both engines.
    pub(crate) fn int(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("CAST({expr} AS INTEGER)"),
            Backend::Postgres => format!("CAST({expr} AS BIGINT)"),
        }
    }

    /// A boolean column as 0/1.
    pub(crate) fn boolean(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("CAST({expr} AS INTEGER)"),
            Backend::Postgres => format!("CAST(CAST({expr} AS INTEGER) AS BIGINT)"),
        }
    }

    /// A datetime column as the naive text Patchwork serves. SQLite holds
    /// that text; PostgreSQL holds `timestamptz` values that Django wrote
    /// as "naive value in TIME_ZONE", so the value in that zone without
    /// its offset is the naive one.
    pub(crate) fn date(&self, expr: &str) -> String {
        match self.backend {
            // Declared `datetime`, which sqlx's Any driver cannot read.
            Backend::Sqlite => format!("CAST({expr} AS TEXT)"),
            Backend::Postgres => {
                format!("CAST(({expr} AT TIME ZONE '{}') AS TEXT)", self.zone_name)
            }
        }
    }
}

/// `scheme://user:secret@host/...` without the secret.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
