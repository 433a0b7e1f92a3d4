//! Scoped API tokens: what a token may do besides who it is.
//!
//! Patchwork has one token per user, with all the user's rights; CI bots
//! then need maintainer rights just to post checks. A named token has a
//! [`Scope`]: `read`, `checks` on some projects (which also lets a bot
//! that maintains nothing post checks there), or `write`; and an optional
//! expiry. The profile's own token keeps the `write` scope, so every
//! existing token and client behaves as before.

use sqlx::Row;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::time::{self, Micros};

/// What a request may do, on top of the user's own rights.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Everything the user may do (sessions, passwords, the profile's
    /// token, and `write` tokens).
    #[default]
    Write,
    /// Reading only.
    Read,
    /// Reading, and posting and updating checks on these projects.
    Checks(Vec<i64>),
}

impl Scope {
    /// The scope's name, as the CLI and the profile page spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Scope::Write => "write",
            Scope::Read => "read",
            Scope::Checks(_) => "checks",
        }
    }

    /// Whether it allows writes beyond checks.
    pub fn writes(&self) -> bool {
        *self == Scope::Write
    }

    /// Whether it grants posting checks on `project_id` by itself (a
    /// `checks` token does, whether its user maintains the project or not).
    pub fn grants_checks(&self, project_id: i64) -> bool {
        matches!(self, Scope::Checks(projects) if projects.contains(&project_id))
    }
}

/// A token to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Whose.
    pub user_id: i64,
    /// What it is for ("kernelci"), shown with it.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// When it stops working.
    pub expires: Option<Micros>,
}

/// A named token as its owner sees it (never the token itself).
#[allow(missing_docs)] // the fields are the columns
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub created: Micros,
    pub expires: Option<Micros>,
}

/// How a presented token fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// Valid: the user and the token's scope.
    Valid(crate::user::Principal),
    /// No such token, or its user is inactive.
    Unknown,
    /// It expired.
    Expired,
}

pub(crate) fn parse_scope(name: &str, projects: Vec<i64>) -> Result<Scope> {
    match name {
        "write" => Ok(Scope::Write),
        "read" => Ok(Scope::Read),
        "checks" => Ok(Scope::Checks(projects)),
        other => Err(StoreError::Inconsistent(format!("token scope {other:?}"))),
    }
}

impl Store {
    /// Makes a named token; its id and the token (40 hex characters,
    /// shown once, stored hashed).
    pub async fn create_scoped_token(&self, new: &NewToken) -> Result<(i64, String)> {
        if new.name.trim().is_empty() {
            return Err(StoreError::Invalid("a token needs a name".into()));
        }
        if matches!(&new.scope, Scope::Checks(p) if p.is_empty()) {
            return Err(StoreError::Invalid(
                "a checks token needs at least one project".into(),
            ));
        }
        let token = crate::session::random_hex(20)?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO api_token (user_id, token_hash, created, name, scope, expires) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.user_id)
        .bind(crate::user::token_digest(&token))
        .bind(time::now())
        .bind(new.name.trim())
        .bind(new.scope.name())
        .bind(new.expires)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        if let Scope::Checks(projects) = &new.scope {
            let mut projects = projects.clone();
            projects.sort_unstable();
            projects.dedup();
            for p in &projects {
                sqlx::query("INSERT INTO api_token_project (token_id, project_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*p)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok((id, token))
    }

    /// A user's named tokens, oldest first.
    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, created, expires FROM api_token \
             WHERE user_id = $1 AND name IS NOT NULL ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let scope: String = r.try_get("scope")?;
            let projects = if scope == "checks" {
                self.token_projects(id).await?
            } else {
                Vec::new()
            };
            out.push(TokenInfo {
                id,
                name: r.try_get("name")?,
                scope: parse_scope(&scope, projects)?,
                created: r.try_get("created")?,
                expires: r.try_get("expires")?,
            });
        }
        Ok(out)
    }

    /// Revokes one of a user's named tokens; false when they have none
    /// of that id.
    pub async fn revoke_token(&self, user_id: i64, token_id: i64) -> Result<bool> {
        let res = sqlx::query(
            "DELETE FROM api_token WHERE id = $1 AND user_id = $2 AND name IS NOT NULL",
        )
        .bind(token_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    pub(crate) async fn token_projects(&self, token_id: i64) -> Result<Vec<i64>> {
        sqlx::query(
            "SELECT project_id FROM api_token_project WHERE token_id = $1 ORDER BY project_id",
        )
        .bind(token_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("project_id")?))
        .collect()
    }

    /// The user and scope a presented API token stands for.
    pub async fn check_token(&self, token: &str) -> Result<TokenCheck> {
        let row =
            sqlx::query("SELECT id, user_id, scope, expires FROM api_token WHERE token_hash = $1")
                .bind(crate::user::token_digest(token))
                .fetch_optional(&self.pool)
                .await?;
        let Some(r) = row else {
            return Ok(TokenCheck::Unknown);
        };
        if r.try_get::<Option<i64>, _>("expires")?
            .is_some_and(|e| e <= time::now())
        {
            return Ok(TokenCheck::Expired);
        }
        let Some(mut principal) = self.principal(r.try_get("user_id")?).await? else {
            return Ok(TokenCheck::Unknown);
        };
        let scope: String = r.try_get("scope")?;
        let projects = if scope == "checks" {
            self.token_projects(r.try_get("id")?).await?
        } else {
            Vec::new()
        };
        principal.scope = parse_scope(&scope, projects)?;
        Ok(TokenCheck::Valid(principal))
    }
}
