//! Users: accounts that log in, maintain projects and own bundles.

use std::collections::HashMap;
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
        self.caches.maintainers.clear();
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
        .await;
        let res = match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Invalid(format!(
                    "the project already has a rule for {path:?}"
                )));
            }
            other => other?,
        };
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no user {username:?}")));
        }
        self.caches.rules.clear();
        Ok(())
    }
}

use sha2::Digest;

use crate::listing::{Listed, Page, push_order, push_search};
use crate::refs::{self, UserRef};
use crate::sql::Sql;

/// A user's list preferences, shown to themselves only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Whether state changes of their patches are mailed to them.
    pub send_email: bool,
    /// Rows per page in the web lists.
    pub items_per_page: i64,
    /// Whether lists show patch ids.
    pub show_ids: bool,
}

/// A user account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Who.
    pub user: UserRef,
    /// Preferences.
    pub settings: Settings,
}

/// The authenticated requester: what permission checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Account.
    pub user: UserRef,
    /// Site administrator (no extra API rights, as upstream).
    pub superuser: bool,
    /// Projects they maintain.
    pub maintains: Vec<i64>,
    /// What the credential allows (a scoped token's limits).
    pub scope: crate::token::Scope,
}

impl Principal {
    /// Whether they maintain the project.
    pub fn maintains(&self, project_id: i64) -> bool {
        self.maintains.contains(&project_id)
    }
}

/// Orderings of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    /// Primary key.
    Id,
    /// Login name.
    Username,
    /// Address.
    Email,
}

impl UserOrder {
    fn column(self) -> &'static str {
        match self {
            UserOrder::Id => "u.id",
            UserOrder::Username => "u.username",
            UserOrder::Email => "u.email",
        }
    }
}

/// Changes to a user (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Mail on state changes.
    pub send_email: Option<bool>,
    /// Rows per page.
    pub items_per_page: Option<i64>,
    /// Show ids in lists.
    pub show_ids: Option<bool>,
}

fn user_select() -> String {
    format!(
        "SELECT {}, u.send_email, u.items_per_page, u.show_ids FROM app_user u",
        refs::user_columns("u", "u_")
    )
}

fn user_row(r: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        user: refs::user(r, "u_")?
            .ok_or_else(|| StoreError::Inconsistent("a user row without its user".into()))?,
        settings: Settings {
            send_email: r.try_get::<i64, _>("send_email")? != 0,
            items_per_page: r.try_get("items_per_page")?,
            show_ids: r.try_get::<i64, _>("show_ids")? != 0,
        },
    })
}

/// The stored form of an API token: its SHA-256, so a leaked database
/// does not leak usable tokens.
pub(crate) fn token_digest(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.trim().to_ascii_lowercase().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// One page of users matching every search term in username, names or
    /// address.
    pub async fn users(
        &self,
        search: &[String],
        order: &[(UserOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<User>>> {
        const FIELDS: [&str; 4] = ["u.username", "u.first_name", "u.last_name", "u.email"];
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM app_user u WHERE 1 = 1");
        push_search(&mut count, search, &FIELDS);
        let total = count.count(&self.pool).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = Sql::new(&user_select());
        sql.push(" WHERE 1 = 1");
        push_search(&mut sql, search, &FIELDS);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "u.id");
        page.limit_offset(&mut sql, number);
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_row)
            .collect::<Result<_>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// One user.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let mut sql = Sql::new(&user_select());
        sql.push(" WHERE u.id = ").bind(id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    /// The user with this username.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let mut sql = Sql::new(&user_select());
        sql.push(" WHERE u.username = ").bind(username.to_string());
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    /// Applies the changes a user made to themselves.
    pub async fn update_user(&self, id: i64, update: &UserUpdate) -> Result<User> {
        sqlx::query(
            "UPDATE app_user SET first_name = COALESCE($1, first_name), \
             last_name = COALESCE($2, last_name), send_email = COALESCE($3, send_email), \
             items_per_page = COALESCE($4, items_per_page), show_ids = COALESCE($5, show_ids) \
             WHERE id = $6",
        )
        .bind(update.first_name.clone())
        .bind(update.last_name.clone())
        .bind(update.send_email.map(i64::from))
        .bind(update.items_per_page)
        .bind(update.show_ids.map(i64::from))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.user(id)
            .await?
            .ok_or_else(|| StoreError::Inconsistent(format!("user {id} vanished while updated")))
    }

    /// The maintainers of each project (cached for a few seconds: every
    /// list page offers them as delegates).
    pub async fn maintainers(&self, project_ids: &[i64]) -> Result<HashMap<i64, Vec<UserRef>>> {
        let mut out: HashMap<i64, Vec<UserRef>> = HashMap::new();
        if project_ids.is_empty() {
            return Ok(out);
        }
        let key = project_ids.to_vec();
        if let Some(cached) = self.caches.maintainers.get(&key) {
            return Ok(cached.as_ref().clone());
        }
        let mut sql = Sql::new(&format!(
            "SELECT m.project_id, {} FROM project_maintainer m JOIN app_user u ON u.id = m.user_id \
             WHERE m.project_id IN ",
            refs::user_columns("u", "u_")
        ));
        sql.bind_list(project_ids.iter().copied());
        sql.push(" ORDER BY u.id");
        for r in sql.fetch_all(&self.pool).await? {
            if let Some(u) = refs::user(&r, "u_")? {
                out.entry(r.try_get("project_id")?).or_default().push(u);
            }
        }
        Ok(self.caches.maintainers.put(key, out).as_ref().clone())
    }

    pub(crate) async fn principal(&self, user_id: i64) -> Result<Option<Principal>> {
        let mut sql = Sql::new(&format!(
            "SELECT {}, u.is_superuser, u.is_active FROM app_user u WHERE u.id = ",
            refs::user_columns("u", "u_")
        ));
        sql.bind(user_id);
        let Some(r) = sql.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        if r.try_get::<i64, _>("is_active")? == 0 {
            return Ok(None);
        }
        let Some(user) = refs::user(&r, "u_")? else {
            return Ok(None);
        };
        let maintains = sqlx::query("SELECT project_id FROM project_maintainer WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("project_id"))
            .collect::<Result<_, _>>()?;
        Ok(Some(Principal {
            user,
            superuser: r.try_get::<i64, _>("is_superuser")? != 0,
            maintains,
            scope: crate::token::Scope::Write,
        }))
    }

    /// The user an API token belongs to, with the token's scope (None
    /// for an unknown or expired token: [`Store::check_token`] tells which).
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Principal>> {
        Ok(match self.check_token(token).await? {
            crate::token::TokenCheck::Valid(p) => Some(p),
            _ => None,
        })
    }

    /// The user with this username and password. Unknown users, users
    /// without a password and impossible names (a NUL, which no username
    /// holds and PostgreSQL cannot compare) cost the same password hash as
    /// a real check, so the answer's timing does not tell which accounts
    /// exist (it took 30 ms for a user and 2 ms for nobody).
    pub async fn authenticate_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>> {
        use argon2::password_hash::PasswordVerifier;
        let row = if username.contains('\0') {
            None
        } else {
            sqlx::query("SELECT id, password_hash FROM app_user WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?
        };
        let stored: Option<String> = match &row {
            Some(r) => r.try_get("password_hash")?,
            None => None,
        };
        // A hash imported from a Patchwork site: checked with its Django
        // hasher once, then replaced by our own, so the old site's
        // passwords keep working and the weaker hashes disappear with use.
        if let (Some(row), Some(stored)) = (&row, stored.as_deref())
            && let Some(matches) = crate::django_password::verify(stored, password)
        {
            if !matches {
                return Ok(None);
            }
            let id: i64 = row.try_get("id")?;
            let principal = self.principal(id).await?;
            // Only a login that succeeds (not one of an inactive account)
            // replaces the hash.
            if principal.is_some() {
                sqlx::query(
                    "UPDATE app_user SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
                )
                .bind(hash_password(password)?)
                .bind(id)
                .bind(stored)
                .execute(&self.pool)
                .await?;
            }
            return Ok(principal);
        }
        let (hash, real) = hash_to_verify(stored.as_deref());
        let matches = hash.is_some_and(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        match row {
            Some(row) if real && matches => self.principal(row.try_get("id")?).await,
            _ => Ok(None),
        }
    }

    /// How many accounts still hold a password hash of another system
    /// (Django's, from a Patchwork import): their owners have not logged
    /// in since, and their hashes are only as strong as the old site's.
    pub async fn legacy_password_count(&self) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM app_user WHERE password_hash <> '' \
             AND password_hash NOT LIKE '$argon2%'",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?)
    }

    /// Creates a new API token for `username`, replacing any previous one
    /// (Patchwork keeps one per user; named, scoped tokens are kept), and
    /// returns it: 40 hex characters, shown once, stored hashed.
    pub async fn create_token(&self, username: &str) -> Result<String> {
        let user = self
            .user_by_username(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no user {username:?}")))?;
        let mut bytes = [0u8; 20];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| StoreError::Invalid(format!("no randomness for a token: {e}")))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM api_token WHERE user_id = $1 AND name IS NULL")
            .bind(user.user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO api_token (user_id, token_hash, created) VALUES ($1, $2, $3)")
            .bind(user.user.id)
            .bind(token_digest(&token))
            .bind(time::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }
}

impl Store {
    /// Whether the user has an API token (tokens are stored hashed, so a
    /// profile can only say that one exists).
    pub async fn has_token(&self, user_id: i64) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM api_token WHERE user_id = $1 AND name IS NULL")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Revokes the user's (profile) API token; named tokens stay.
    pub async fn revoke_tokens(&self, user_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM api_token WHERE user_id = $1 AND name IS NULL")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// People whose name or address contains `text` (case-insensitive),
    /// for the list's submitter filter; at most 500.
    pub async fn people_matching(&self, text: &str) -> Result<Vec<i64>> {
        let people = self
            .people_containing(text, crate::field_lookup::Take::First(500))
            .await?;
        Ok(people.iter().map(|p| p.person.id).collect())
    }

    /// Users whose username, first or last name contains `text` (any
    /// case), by id, at most `limit`: the delegate autocomplete.
    pub async fn users_containing(&self, text: &str, limit: u64) -> Result<Vec<User>> {
        let mut sql = Sql::new(&user_select());
        sql.push(" WHERE 1 = 1");
        push_search(
            &mut sql,
            &[text.to_string()],
            &["u.username", "u.first_name", "u.last_name"],
        );
        sql.push(" ORDER BY u.id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_row)
            .collect()
    }
}

/// A site administrator's changes to an account (`patchtrack user edit`).
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// New password.
    pub password: Option<String>,
    /// Projects (linknames) it starts maintaining.
    pub maintain: Vec<String>,
    /// Projects (linknames) it stops maintaining.
    pub stop_maintaining: Vec<String>,
    /// Site administrator or not.
    pub superuser: Option<bool>,
}

impl Store {
    /// Applies an administrator's changes to the account `username`, in
    /// one transaction.
    pub async fn change_account(&self, username: &str, changes: &AccountChanges) -> Result<()> {
        let user = self
            .user_by_username(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no user {username:?}")))?;
        let ids = |names: &[String]| {
            let names = names.to_vec();
            async move {
                let mut out = Vec::new();
                for linkname in names {
                    let p = self
                        .project_by_linkname(&linkname)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("no project {linkname:?}")))?;
                    out.push(p.id);
                }
                Ok::<_, StoreError>(out)
            }
        };
        let add = ids(&changes.maintain).await?;
        let remove = ids(&changes.stop_maintaining).await?;
        let hash = changes.password.as_deref().map(hash_password).transpose()?;
        let mut tx = self.begin_write().await?;
        if let Some(h) = hash {
            sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
                .bind(h)
                .bind(user.user.id)
                .execute(&mut *tx)
                .await?;
            // A new password logs out every browser that knew the old one.
            sqlx::query("DELETE FROM web_session WHERE user_id = $1")
                .bind(user.user.id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(s) = changes.superuser {
            sqlx::query("UPDATE app_user SET is_superuser = $1 WHERE id = $2")
                .bind(i64::from(s))
                .bind(user.user.id)
                .execute(&mut *tx)
                .await?;
        }
        for p in add {
            sqlx::query(
                "INSERT INTO project_maintainer (project_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(p)
            .bind(user.user.id)
            .execute(&mut *tx)
            .await?;
        }
        for p in remove {
            sqlx::query("DELETE FROM project_maintainer WHERE project_id = $1 AND user_id = $2")
                .bind(p)
                .bind(user.user.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.caches.maintainers.clear();
        Ok(())
    }
}

/// The hash a login attempt is verified against, and whether it belongs to
/// a real account. Without a usable stored hash (no account, no password,
/// an unparseable one) it is a stand-in made with the same algorithm and
/// parameters as real ones, so that every attempt costs one full check.
fn hash_to_verify(stored: Option<&str>) -> (Option<argon2::password_hash::PasswordHash<'_>>, bool) {
    match stored.map(argon2::password_hash::PasswordHash::new) {
        Some(Ok(parsed)) => (Some(parsed), true),
        _ => (dummy_hash(), false),
    }
}

/// A hash with the parameters of real ones, to verify against when there is
/// no account: made once per process.
fn dummy_hash() -> Option<argon2::password_hash::PasswordHash<'static>> {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("no such account").unwrap_or_default());
    argon2::password_hash::PasswordHash::new(DUMMY.as_str()).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use argon2::password_hash::PasswordVerifier;

    use super::*;

    /// Timing is not measured here (a busy machine makes any threshold
    /// flaky); what makes the timings equal is that a missing account is
    /// checked against a hash of the same algorithm, version and cost.
    #[test]
    fn a_missing_account_is_checked_at_full_cost() {
        let real = hash_password("secret").unwrap();
        let (real_hash, is_real) = hash_to_verify(Some(&real));
        assert!(is_real);
        let real_hash = real_hash.unwrap();
        for stored in [None, Some(""), Some("pbkdf2_sha256$1$x$y"), Some("!")] {
            let (hash, is_real) = hash_to_verify(stored);
            assert!(!is_real, "{stored:?} counted as a real account");
            let hash = hash.expect("a stand-in hash to verify against");
            assert_eq!(hash.algorithm, real_hash.algorithm, "{stored:?}");
            assert_eq!(hash.version, real_hash.version, "{stored:?}");
            assert_eq!(hash.params, real_hash.params, "{stored:?}");
            assert!(
                argon2::Argon2::default()
                    .verify_password(b"no such account", &hash)
                    .is_ok(),
                "the stand-in is a real, verifiable hash"
            );
        }
    }
}

/// An account as the admin pages list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Who.
    pub user: UserRef,
    /// Site administrator.
    pub superuser: bool,
    /// Can log in (a deactivated account keeps its patches, bundles and
    /// delegations).
    pub active: bool,
    /// Ids of the projects they maintain.
    pub maintains: Vec<i64>,
}

impl Store {
    /// Accounts whose username, names or address contain every search
    /// term, by username, at most `limit`, with what the admin list shows.
    pub async fn accounts(&self, search: &[String], limit: usize) -> Result<Vec<Account>> {
        let mut sql = Sql::new(&format!(
            "SELECT {}, u.is_superuser, u.is_active FROM app_user u WHERE 1 = 1",
            refs::user_columns("u", "u_")
        ));
        push_search(
            &mut sql,
            search,
            &["u.username", "u.first_name", "u.last_name", "u.email"],
        );
        sql.push(" ORDER BY u.username LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut accounts = Vec::new();
        for r in sql.fetch_all(&self.pool).await? {
            let user = refs::user(&r, "u_")?
                .ok_or_else(|| StoreError::Inconsistent("a user row without its user".into()))?;
            accounts.push(Account {
                user,
                superuser: r.try_get::<i64, _>("is_superuser")? != 0,
                active: r.try_get::<i64, _>("is_active")? != 0,
                maintains: Vec::new(),
            });
        }
        if accounts.is_empty() {
            return Ok(accounts);
        }
        let mut sql =
            Sql::new("SELECT user_id, project_id FROM project_maintainer WHERE user_id IN ");
        sql.bind_list(accounts.iter().map(|a| a.user.id));
        sql.push(" ORDER BY project_id");
        let mut by_user: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in sql.fetch_all(&self.pool).await? {
            by_user
                .entry(r.try_get("user_id")?)
                .or_default()
                .push(r.try_get("project_id")?);
        }
        for a in &mut accounts {
            a.maintains = by_user.remove(&a.user.id).unwrap_or_default();
        }
        Ok(accounts)
    }

    /// Makes an account a site administrator or not, and active or not.
    /// Deactivating logs it out everywhere and never deletes it: its
    /// patches stay delegated to it. Any registration still waiting for
    /// confirmation is cancelled on either change, so that expiry (which
    /// deletes unconfirmed registrations, and would cascade over the
    /// patches delegated to them) never takes an account an administrator
    /// has decided about. False when there is no such account.
    pub async fn set_account_flags(
        &self,
        user_id: i64,
        superuser: Option<bool>,
        active: Option<bool>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let res = sqlx::query(
            "UPDATE app_user SET is_superuser = COALESCE($1, is_superuser), \
             is_active = COALESCE($2, is_active) WHERE id = $3",
        )
        .bind(superuser.map(i64::from))
        .bind(active.map(i64::from))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(active) = active {
            sqlx::query(
                "UPDATE email_confirmation SET active = 0 \
                 WHERE user_id = $1 AND kind = 'registration'",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            if !active {
                sqlx::query("DELETE FROM web_session WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
