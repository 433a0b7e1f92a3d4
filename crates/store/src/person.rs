//! People: mail authors, found by address case-insensitively.

use sqlx::Row;

use crate::error::Result;
use patchtrack_mail::Author;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Finds or creates the person behind `author`; a non-empty name that
/// differs from the stored one replaces it (the latest name wins).
pub(crate) async fn get_or_create(tx: &mut Tx, author: &Author) -> Result<i64> {
    let lower = author.email.to_lowercase();
    let name = author.name.as_deref().filter(|n| !n.is_empty());
    // One statement either way: insert, or keep the row (and its first-seen
    // address) and take the new name if the mail has one.
    let row = sqlx::query(
        "INSERT INTO person (email, email_lower, name) VALUES ($1, $2, $3) \
         ON CONFLICT (email_lower) DO UPDATE SET name = COALESCE(excluded.name, person.name) \
         RETURNING id",
    )
    .bind(&author.email)
    .bind(&lower)
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}
