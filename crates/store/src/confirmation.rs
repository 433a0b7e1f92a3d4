//! Accounts by mail: confirmations sent to an address (registration,
//! linking an address to an account, opting out of and back into
//! automated mail, password resets), what confirming each one does, and
//! their expiry.
//!
//! A confirmation and the mail carrying its link are written in one
//! transaction, so there is never a key without its mail or a mail whose
//! key was rolled back. Keys are 160 random bits from the system's CSPRNG
//! (Patchwork used Python's `random`), stored as SHA-256 like sessions.

use std::time::Duration;

use sha2::Digest;
use sqlx::Row;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::job::enqueue_in;
use crate::outgoing_mail::OutgoingMail;
use crate::session::random_hex;
use crate::time::{self, Micros};
use crate::user::hash_password;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// How long a confirmation link works: Patchwork's
/// `CONFIRMATION_VALIDITY_DAYS` default.
pub const CONFIRMATION_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a password-reset link works: Django's
/// `PASSWORD_RESET_TIMEOUT` default.
pub const PASSWORD_RESET_VALIDITY: Duration = Duration::from_secs(3 * 24 * 3600);

/// What confirming does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationKind {
    /// Activates a new account.
    Registration,
    /// Links an address to an account (Patchwork's `userperson`).
    LinkAddress,
    /// Stops automated mail to the address.
    OptOut,
    /// Allows automated mail to the address again.
    OptIn,
    /// Lets the account's owner set a new password, once.
    PasswordReset,
}

impl ConfirmationKind {
    fn as_str(self) -> &'static str {
        match self {
            ConfirmationKind::Registration => "registration",
            ConfirmationKind::LinkAddress => "userperson",
            ConfirmationKind::OptOut => "optout",
            ConfirmationKind::OptIn => "optin",
            ConfirmationKind::PasswordReset => "password-reset",
        }
    }

    fn parse(s: &str) -> Result<ConfirmationKind> {
        Ok(match s {
            "registration" => ConfirmationKind::Registration,
            "userperson" => ConfirmationKind::LinkAddress,
            "optout" => ConfirmationKind::OptOut,
            "optin" => ConfirmationKind::OptIn,
            "password-reset" => ConfirmationKind::PasswordReset,
            other => {
                return Err(StoreError::Inconsistent(format!(
                    "confirmation kind {other:?}"
                )));
            }
        })
    }
}

/// A confirmation found by its key.
#[allow(missing_docs)] // the fields are the columns
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub id: i64,
    pub kind: ConfirmationKind,
    pub email: String,
    /// The account it acts for (registration, linking, password reset).
    pub user_id: Option<i64>,
    pub created: Micros,
    /// False once used.
    pub active: bool,
}

impl Confirmation {
    /// Whether it is older than `validity` now.
    pub fn is_expired(&self, validity: Duration) -> bool {
        time::now() - self.created > micros(validity)
    }
}

/// A registration's form, already checked for shape by the caller.
#[allow(missing_docs)] // the form's fields
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRefused {
    /// Another account has this username, in any case.
    UsernameTaken,
    /// Another account (named) has this address, in any case.
    EmailInUse(String),
}

/// Why an address could not be unlinked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlinkRefused {
    /// The person is not linked to this account (Patchwork unlinks any
    /// person for any logged-in user; we do not).
    NotYours,
    /// It is the account's own address.
    Primary,
}

/// What an expiry run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Used or outdated confirmations.
    pub confirmations: u64,
    /// Registrations never confirmed.
    pub accounts: u64,
}

fn micros(d: Duration) -> Micros {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn key_digest(key: &str) -> String {
    sha2::Sha256::digest(key.trim().to_ascii_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a confirmation and queues the mail `compose` makes from its key.
async fn create_in<F>(
    tx: &mut Tx,
    kind: ConfirmationKind,
    email: &str,
    user_id: Option<i64>,
    compose: F,
) -> Result<()>
where
    F: FnOnce(&str) -> OutgoingMail,
{
    let key = random_hex(20)?;
    sqlx::query(
        "INSERT INTO email_confirmation (kind, email, user_id, key_hash, created, active) \
         VALUES ($1, $2, $3, $4, $5, 1)",
    )
    .bind(kind.as_str())
    .bind(email)
    .bind(user_id)
    .bind(key_digest(&key))
    .bind(time::now())
    .execute(&mut **tx)
    .await?;
    enqueue_in(tx, &compose(&key).to_job()?).await?;
    Ok(())
}

/// Marks a confirmation used; false when it already was (a second click
/// racing the first).
async fn use_up(tx: &mut Tx, id: i64) -> Result<bool> {
    let res = sqlx::query("UPDATE email_confirmation SET active = 0 WHERE id = $1 AND active = 1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Links the person with `email` (created when missing) to the account and
/// names it after the account, as Patchwork's confirmations do.
async fn link_person(tx: &mut Tx, user_id: i64, email: &str) -> Result<()> {
    let row = sqlx::query("SELECT username, first_name, last_name FROM app_user WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::Inconsistent(format!("a confirmation for no user {user_id}")))?;
    let full: Vec<String> = ["first_name", "last_name"]
        .iter()
        .map(|c| row.try_get::<String, _>(*c))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    let name = if full.is_empty() {
        row.try_get::<String, _>("username")?
    } else {
        full.join(" ")
    };
    sqlx::query(
        "INSERT INTO person (email, email_lower, name, user_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email_lower) DO UPDATE SET name = excluded.name, user_id = excluded.user_id",
    )
    .bind(email)
    .bind(email.to_lowercase())
    .bind(name)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Creates an inactive account and its registration confirmation, and
    /// queues the mail `compose` makes from the key, all or nothing.
    /// Usernames and addresses are unique among accounts in any case.
    pub async fn register<F>(
        &self,
        account: &NewAccount,
        compose: F,
    ) -> Result<std::result::Result<i64, AccountRefused>>
    where
        F: FnOnce(&str) -> OutgoingMail + Send,
    {
        let hash = hash_password(&account.password)?;
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT 1 AS one FROM app_user WHERE LOWER(username) = $1")
            .bind(account.username.to_lowercase())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(Err(AccountRefused::UsernameTaken));
        }
        let holder = sqlx::query("SELECT username FROM app_user WHERE LOWER(email) = $1")
            .bind(account.email.to_lowercase())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = holder {
            return Ok(Err(AccountRefused::EmailInUse(r.try_get("username")?)));
        }
        let row = sqlx::query(
            "INSERT INTO app_user (username, email, password_hash, first_name, last_name, \
             is_active, date_joined) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
        )
        .bind(&account.username)
        .bind(&account.email)
        .bind(hash)
        .bind(&account.first_name)
        .bind(&account.last_name)
        .bind(time::now())
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match row {
            // Another registration of the same name committed first.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Ok(Err(AccountRefused::UsernameTaken));
            }
            other => other?.try_get("id")?,
        };
        create_in(
            &mut tx,
            ConfirmationKind::Registration,
            &account.email,
            Some(id),
            compose,
        )
        .await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(Ok(id))
    }

    /// Creates a confirmation of `kind` for `email` (acting for `user_id`
    /// when it links an address) and queues the mail `compose` makes from
    /// the key.
    pub async fn request_confirmation<F>(
        &self,
        kind: ConfirmationKind,
        email: &str,
        user_id: Option<i64>,
        compose: F,
    ) -> Result<()>
    where
        F: FnOnce(&str) -> OutgoingMail + Send,
    {
        let mut tx = self.begin_write().await?;
        create_in(&mut tx, kind, email, user_id, compose).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(())
    }

    /// The confirmation behind a key from a link, used or not.
    pub async fn confirmation(&self, key: &str) -> Result<Option<Confirmation>> {
        let row = sqlx::query(
            "SELECT id, kind, email, user_id, created, active FROM email_confirmation \
             WHERE key_hash = $1",
        )
        .bind(key_digest(key))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Confirmation {
            id: r.try_get("id")?,
            kind: ConfirmationKind::parse(&r.try_get::<String, _>("kind")?)?,
            email: r.try_get("email")?,
            user_id: r.try_get("user_id")?,
            created: r.try_get("created")?,
            active: r.try_get::<i64, _>("active")? != 0,
        }))
    }

    /// Carries out a registration, address-link, opt-out or opt-in
    /// confirmation, once: false when it had already been used. A
    /// registration activates the account and links (or creates) the
    /// person with its address; a link links the address to the account
    /// that asked; opting out records the address (lower-cased), opting
    /// in removes it. Password resets are done by [`Store::reset_password`].
    pub async fn confirm(&self, confirmation: &Confirmation) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if !use_up(&mut tx, confirmation.id).await? {
            return Ok(false);
        }
        let user = || {
            confirmation
                .user_id
                .ok_or_else(|| StoreError::Inconsistent("a confirmation without its user".into()))
        };
        match confirmation.kind {
            ConfirmationKind::Registration => {
                sqlx::query("UPDATE app_user SET is_active = 1 WHERE id = $1")
                    .bind(user()?)
                    .execute(&mut *tx)
                    .await?;
                link_person(&mut tx, user()?, &confirmation.email).await?;
            }
            ConfirmationKind::LinkAddress => {
                link_person(&mut tx, user()?, &confirmation.email).await?;
            }
            ConfirmationKind::OptOut => {
                sqlx::query("INSERT INTO email_optout (email) VALUES ($1) ON CONFLICT DO NOTHING")
                    .bind(confirmation.email.to_lowercase())
                    .execute(&mut *tx)
                    .await?;
            }
            ConfirmationKind::OptIn => {
                sqlx::query("DELETE FROM email_optout WHERE email = $1")
                    .bind(confirmation.email.to_lowercase())
                    .execute(&mut *tx)
                    .await?;
            }
            ConfirmationKind::PasswordReset => {
                return Err(StoreError::Invalid(
                    "a password reset is confirmed with a new password".into(),
                ));
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the address asked for no automated mail.
    pub async fn is_opted_out(&self, email: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM email_optout WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Starts a password reset for every active account with this address
    /// (any case) and a password: one confirmation each, and the mail
    /// `compose` makes from the account's id and username and the key.
    /// Returns how many accounts that was; callers show the same page
    /// either way, so that the form does not tell which addresses have
    /// accounts.
    pub async fn request_password_reset<F>(&self, email: &str, compose: F) -> Result<usize>
    where
        F: Fn(i64, &str, &str) -> OutgoingMail + Send + Sync,
    {
        let email = email.trim();
        if email.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let accounts = sqlx::query(
            "SELECT id, username, email FROM app_user \
             WHERE LOWER(email) = $1 AND is_active = 1 AND password_hash <> '' ORDER BY id",
        )
        .bind(email.to_lowercase())
        .fetch_all(&mut *tx)
        .await?;
        for r in &accounts {
            let id: i64 = r.try_get("id")?;
            let username: String = r.try_get("username")?;
            let address: String = r.try_get("email")?;
            create_in(
                &mut tx,
                ConfirmationKind::PasswordReset,
                &address,
                Some(id),
                |key| compose(id, &username, key),
            )
            .await?;
        }
        tx.commit().await?;
        self.wake_workers();
        Ok(accounts.len())
    }

    /// The account a password-reset link is for, if the link is for that
    /// account, unused, and younger than [`PASSWORD_RESET_VALIDITY`].
    pub async fn password_reset_account(&self, user_id: i64, key: &str) -> Result<Option<i64>> {
        Ok(self
            .confirmation(key)
            .await?
            .filter(|c| {
                c.kind == ConfirmationKind::PasswordReset
                    && c.active
                    && c.user_id == Some(user_id)
                    && !c.is_expired(PASSWORD_RESET_VALIDITY)
            })
            .and(Some(user_id)))
    }

    /// Sets a new password through a password-reset link, which is then
    /// used up, with every other reset link of the account; every session
    /// of the account ends. False when the link is not (or no longer)
    /// valid for the account.
    pub async fn reset_password(&self, user_id: i64, key: &str, password: &str) -> Result<bool> {
        let Some(c) = self.confirmation(key).await? else {
            return Ok(false);
        };
        if self.password_reset_account(user_id, key).await?.is_none() {
            return Ok(false);
        }
        let hash = hash_password(password)?;
        let mut tx = self.begin_write().await?;
        if !use_up(&mut tx, c.id).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE email_confirmation SET active = 0 WHERE user_id = $1 AND kind = $2")
            .bind(user_id)
            .bind(ConfirmationKind::PasswordReset.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM web_session WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Unlinks one of the account's own addresses (not its primary one)
    /// from it; the person and their patches stay.
    pub async fn unlink_person(
        &self,
        user_id: i64,
        person_id: i64,
    ) -> Result<std::result::Result<(), UnlinkRefused>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT pe.email_lower, LOWER(u.email) AS primary_email FROM person pe \
             JOIN app_user u ON u.id = pe.user_id WHERE pe.id = $1 AND pe.user_id = $2",
        )
        .bind(person_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = row else {
            return Ok(Err(UnlinkRefused::NotYours));
        };
        if r.try_get::<String, _>("email_lower")? == r.try_get::<String, _>("primary_email")? {
            return Ok(Err(UnlinkRefused::Primary));
        }
        sqlx::query("UPDATE person SET user_id = NULL WHERE id = $1")
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Patchwork's expiry (run by cron): deletes registrations never
    /// confirmed within `validity` (the account; its person stays,
    /// unlinked), then every confirmation that is used or older than
    /// `validity`. Unlike Patchwork, an account an admin deactivated is
    /// never deleted: only accounts whose registration is still
    /// unconfirmed go, so no delegate's patches can cascade away.
    pub async fn expire_confirmations(&self, validity: Duration) -> Result<Expired> {
        let cutoff = time::now() - micros(validity);
        let mut tx = self.begin_write().await?;
        let accounts = sqlx::query(
            "DELETE FROM app_user WHERE is_active = 0 AND id IN \
             (SELECT user_id FROM email_confirmation \
              WHERE kind = 'registration' AND active = 1 AND created < $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let confirmations =
            sqlx::query("DELETE FROM email_confirmation WHERE active = 0 OR created < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(Expired {
            confirmations,
            accounts,
        })
    }
}
