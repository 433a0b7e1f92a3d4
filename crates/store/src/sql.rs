//! A small builder for statements whose shape depends on the request
//! (filters, orderings, `IN` lists): text and arguments grow together, so
//! `$N` numbering cannot drift from the bound values.

use sqlx::Arguments;
use sqlx::any::{AnyArguments, AnyRow};

use crate::error::Result;

/// A statement being built.
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: AnyArguments,
    count: usize,
}

impl std::fmt::Debug for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sql").field("text", &self.text).finish()
    }
}

impl Sql {
    /// Starts with fixed text.
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            ..Sql::default()
        }
    }

    /// Appends fixed text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.count += 1;
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        // Encoding an integer or a string into AnyArguments cannot fail.
        let _ = self.args.add(value);
        self
    }

    /// Appends `(p1, p2, ...)` bound to `values`; `(NULL)` when empty, which
    /// matches nothing.
    pub(crate) fn bind_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: 'static + Send + sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.text.push('(');
        let mut any = false;
        for v in values {
            if any {
                self.text.push_str(", ");
            }
            any = true;
            self.bind(v);
        }
        if !any {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    /// The statement's text, for tests of the SQL a builder makes.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Runs the statement and returns every row.
    pub(crate) async fn fetch_all<'e, E>(self, executor: E) -> Result<Vec<AnyRow>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        Ok(sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
            .fetch_all(executor)
            .await?)
    }

    /// Runs the statement and returns its first row, if any.
    pub(crate) async fn fetch_optional<'e, E>(self, executor: E) -> Result<Option<AnyRow>>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        Ok(sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
            .fetch_optional(executor)
            .await?)
    }

    /// Runs a `SELECT COUNT(*) AS n ...` statement and returns the count.
    pub(crate) async fn count<'e, E>(self, executor: E) -> Result<u64>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        use sqlx::Row;
        let n: i64 = match self.fetch_optional(executor).await? {
            Some(row) => row.try_get("n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Runs the statement and returns how many rows it changed.
    pub(crate) async fn execute<'e, E>(self, executor: E) -> Result<u64>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        Ok(sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
            .execute(executor)
            .await?
            .rows_affected())
    }
}
