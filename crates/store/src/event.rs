//! Events: the timeline clients poll (`/api/events/`), written in the same
//! transaction as the change they describe, all of one mail in one
//! statement.

use sqlx::Arguments;

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

/// The events of one mail, written together by [`Events::flush`].
#[derive(Debug, Default)]
pub(crate) struct Events {
    rows: Vec<(&'static str, i64, Micros, EventRefs)>,
}

impl Events {
    /// Queues one event of `category` (one of Patchwork's category strings).
    pub(crate) fn push(
        &mut self,
        category: &'static str,
        project_id: i64,
        date: Micros,
        refs: EventRefs,
    ) {
        self.rows.push((category, project_id, date, refs));
    }

    /// How many events are queued (a position for [`Events::insert`]).
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Queues an event before those queued since position `at`, for an
    /// object whose id became known only after later events were decided.
    pub(crate) fn insert(
        &mut self,
        at: usize,
        category: &'static str,
        project_id: i64,
        date: Micros,
        refs: EventRefs,
    ) {
        self.rows
            .insert(at.min(self.rows.len()), (category, project_id, date, refs));
    }

    /// Writes the queued events in order.
    pub(crate) async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO event (category, project_id, date, patch_id, series_id, cover_id, \
             patch_comment_id, cover_comment_id) VALUES ",
        );
        let mut args = sqlx::any::AnyArguments::default();
        for (i, (category, project, date, refs)) in self.rows.drain(..).enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 8;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8
            ));
            let bound = args
                .add(category)
                .and_then(|()| args.add(project))
                .and_then(|()| args.add(date))
                .and_then(|()| args.add(refs.patch))
                .and_then(|()| args.add(refs.series))
                .and_then(|()| args.add(refs.cover))
                .and_then(|()| args.add(refs.patch_comment))
                .and_then(|()| args.add(refs.cover_comment));
            bound.map_err(sqlx::Error::Encode)?;
        }
        sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
