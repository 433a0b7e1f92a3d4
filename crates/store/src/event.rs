//! Events: the timeline clients poll (`/api/events/`), written in the same
//! transaction as the change they describe.

use crate::error::Result;
use crate::time::Micros;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The objects an event points at; unset ones are NULL.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EventRefs {
    pub patch: Option<i64>,
    pub series: Option<i64>,
    pub cover: Option<i64>,
    pub patch_comment: Option<i64>,
    pub cover_comment: Option<i64>,
}

/// Records one event of `category` (one of Patchwork's category strings).
pub(crate) async fn record(
    tx: &mut Tx,
    category: &str,
    project_id: i64,
    date: Micros,
    refs: EventRefs,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO event (category, project_id, date, patch_id, series_id, cover_id, \
         patch_comment_id, cover_comment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(category)
    .bind(project_id)
    .bind(date)
    .bind(refs.patch)
    .bind(refs.series)
    .bind(refs.cover)
    .bind(refs.patch_comment)
    .bind(refs.cover_comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
