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
    let row = sqlx::query("SELECT id, name FROM person WHERE email_lower = $1")
        .bind(&lower)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = row {
        let id: i64 = row.try_get("id")?;
        let stored: Option<String> = row.try_get("name")?;
        if let Some(name) = name
            && stored.as_deref() != Some(name)
        {
            sqlx::query("UPDATE person SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(id);
    }
    let row = sqlx::query(
        "INSERT INTO person (email, email_lower, name) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&author.email)
    .bind(&lower)
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}
