//! Browser sessions: a random id in a cookie (stored hashed, so a leaked
//! database does not hand out logged-in sessions) and a CSRF token per
//! session that forms and unsafe requests must echo back.

use std::io::Read;

use sha2::Digest;
use sqlx::Row;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::time;
use crate::user::Principal;

/// How long a session lasts: two weeks, Django's default.
pub const SESSION_MICROS: i64 = 14 * 24 * 3600 * 1_000_000;

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who.
    pub principal: Principal,
    /// The token unsafe requests must carry (`X-CSRFToken` or a form field).
    pub csrf_token: String,
}

/// `bytes` random bytes from the system, as hex: session ids, CSRF
/// tokens.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| StoreError::Invalid(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn digest(id: &str) -> String {
    sha2::Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// Opens a session for a user; returns the cookie value and the CSRF
    /// token.
    pub async fn create_session(&self, user_id: i64) -> Result<(String, String)> {
        let id = random_hex(32)?;
        let csrf = random_hex(32)?;
        let now = time::now();
        // Expired sessions go when new ones come: no cron job needed.
        sqlx::query("DELETE FROM web_session WHERE expires <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO web_session (id_hash, user_id, csrf_token, created, expires) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(digest(&id))
        .bind(user_id)
        .bind(&csrf)
        .bind(now)
        .bind(now + SESSION_MICROS)
        .execute(&self.pool)
        .await?;
        Ok((id, csrf))
    }

    /// The live session behind a cookie value.
    pub async fn session(&self, id: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token FROM web_session WHERE id_hash = $1 AND expires > $2",
        )
        .bind(digest(id))
        .bind(time::now())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let csrf_token: String = row.try_get("csrf_token")?;
        Ok(self
            .principal(row.try_get("user_id")?)
            .await?
            .map(|principal| Session {
                principal,
                csrf_token,
            }))
    }

    /// Ends a session (log out).
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_session WHERE id_hash = $1")
            .bind(digest(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
