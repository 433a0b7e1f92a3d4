//! Users: accounts that log in, maintain projects and own bundles.

use std::io::Read;

use argon2::password_hash::{PasswordHasher, SaltString};
use sqlx::Row;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::time;

/// What `user add` needs.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login name, unique.
    pub username: String,
    /// Email address (also how `X-Patchwork-Delegate` finds the user).
    pub email: String,
    /// Password in clear; stored as an Argon2id hash. None: cannot log in
    /// with a password (API tokens still work).
    pub password: Option<String>,
    /// Site administrator.
    pub superuser: bool,
    /// Linknames of the projects the user maintains.
    pub maintainer_of: Vec<String>,
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| StoreError::Invalid(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| StoreError::Invalid(format!("cannot encode salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

impl Store {
    /// Creates a user, with a linked person for their address, and makes
    /// them maintainer of the named projects.
    pub async fn add_user(&self, user: &NewUser) -> Result<i64> {
        if user.username.trim().is_empty() {
            return Err(StoreError::Invalid("a username is required".into()));
        }
        let hash = match &user.password {
            Some(p) => hash_password(p)?,
            None => String::new(),
        };
        let mut projects = Vec::new();
        for linkname in &user.maintainer_of {
            let p = self
                .project_by_linkname(linkname)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no project {linkname:?}")))?;
            projects.push(p.id);
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO app_user (username, email, password_hash, is_superuser, date_joined) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.email)
        .bind(&hash)
        .bind(i64::from(user.superuser))
        .bind(time::now())
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match row {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Invalid(format!(
                    "user {:?} already exists",
                    user.username
                )));
            }
            other => other?.try_get("id")?,
        };
        for p in projects {
            sqlx::query("INSERT INTO project_maintainer (project_id, user_id) VALUES ($1, $2)")
                .bind(p)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if !user.email.is_empty() {
            let lower = user.email.to_lowercase();
            sqlx::query(
                "INSERT INTO person (email, email_lower, user_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (email_lower) DO UPDATE SET user_id = excluded.user_id",
            )
            .bind(&user.email)
            .bind(&lower)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }
}

impl Store {
    /// Adds a delegation rule: new patches whose files all match `path`
    /// (fnmatch) go to `username`. Higher priorities are tried first.
    pub async fn add_delegation_rule(
        &self,
        project_id: i64,
        username: &str,
        path: &str,
        priority: i64,
    ) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO delegation_rule (project_id, user_id, path, priority) \
             SELECT $1, id, $2, $3 FROM app_user WHERE username = $4",
        )
        .bind(project_id)
        .bind(path)
        .bind(priority)
        .bind(username)
        .execute(&self.pool)
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no user {username:?}")));
        }
        self.caches.rules.clear();
        Ok(())
    }
}
