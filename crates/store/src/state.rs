//! Patch states. Ids and slugs of the default set are Patchwork's (and
//! kernel.org's), because clients send and compare them.

use sqlx::Row;

use crate::db::Store;
use crate::error::{Refused, Result, StoreError};

/// A state a patch can be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// URL and API name.
    pub slug: String,
    /// Sort position; the state with ordering 0 is given to new patches.
    pub ordering: i64,
    /// Whether patches in this state still need a maintainer's action.
    pub action_required: bool,
}

/// Django's `slugify`, by which Patchwork makes a state's slug and reads
/// the state a client names: compatibility decomposition with the
/// non-ASCII dropped (`Geprüft` -> `gepruft`), lower case, everything but
/// letters, digits, `_`, `-` and blanks removed (`Won't fix` -> `wont-fix`),
/// runs of blanks and `-` made one `-`, and `-`/`_` trimmed from the ends
/// (`Needs_Review` -> `needs_review`). There is one such function: two
/// that disagreed once made `PATCH {"state": "wont-fix"}` fail.
pub fn slugify(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let ascii: String = name
        .nfkd()
        .filter(char::is_ascii)
        .map(|c| c.to_ascii_lowercase())
        .filter(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || is_py_space(c))
        .collect();
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c == '-' || is_py_space(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    out.trim_matches(|c| c == '-' || c == '_').to_string()
}

/// Python's `\s` on ASCII: the usual blanks and the separators 0x1c-0x1f.
fn is_py_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f'
    )
}

/// What the slugs of states added before [`slugify`] followed Django look
/// like: any run of non-alphanumerics became `-`.
fn old_slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

impl Store {
    /// Gives states added with the old slug rule (`Won't fix` stored as
    /// `won-t-fix`) the slug Patchwork gives them, unless another state
    /// holds it. A slug that is not the old rule's output was chosen on
    /// purpose (or came from Patchwork) and is kept. Idempotent; run by
    /// [`Store::migrate`].
    pub(crate) async fn repair_state_slugs(&self) -> Result<()> {
        let states = self.states_uncached().await?;
        for state in &states {
            let wanted = slugify(&state.name);
            if state.slug == wanted || state.slug != old_slug(&state.name) || wanted.is_empty() {
                continue;
            }
            if states.iter().any(|s| s.slug == wanted) {
                tracing::warn!(state = %state.name, slug = %wanted, "slug taken; kept {}", state.slug);
                continue;
            }
            sqlx::query("UPDATE state SET slug = $1 WHERE id = $2")
                .bind(&wanted)
                .bind(state.id)
                .execute(&self.pool)
                .await?;
        }
        self.caches.states.clear();
        Ok(())
    }

    /// Every state, by ordering (cached for a few seconds).
    pub async fn states(&self) -> Result<Vec<State>> {
        if let Some(states) = self.caches.states.get(&()) {
            return Ok(states.as_ref().clone());
        }
        let states = self.states_uncached().await?;
        Ok(self.caches.states.put((), states).as_ref().clone())
    }

    async fn states_uncached(&self) -> Result<Vec<State>> {
        let rows = sqlx::query(
            "SELECT id, name, slug, ordering, action_required FROM state ORDER BY ordering",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(State {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    slug: r.try_get("slug")?,
                    ordering: r.try_get("ordering")?,
                    action_required: r.try_get::<i64, _>("action_required")? != 0,
                })
            })
            .collect()
    }

    /// Adds a state after the existing ones.
    pub async fn add_state(&self, name: &str, action_required: bool) -> Result<State> {
        let slug = slugify(name);
        if slug.is_empty() {
            return Err(StoreError::Invalid(format!("state name {name:?} is empty")));
        }
        let res = sqlx::query(
            "INSERT INTO state (name, slug, ordering, action_required) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(ordering), -1) + 1 FROM state), $3)",
        )
        .bind(name.trim())
        .bind(&slug)
        .bind(i64::from(action_required))
        .execute(&self.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Invalid(format!(
                    "state {name:?} already exists"
                )));
            }
            other => other?,
        };
        self.caches.states.clear();
        self.states()
            .await?
            .into_iter()
            .find(|s| s.slug == slug)
            .ok_or_else(|| StoreError::Inconsistent(format!("state {slug} vanished")))
    }
}

/// Which way a state moves in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Before the one before it.
    Up,
    /// After the one after it.
    Down,
}

impl Store {
    /// Renames a state; its slug follows the name, as Patchwork's does
    /// when a state is saved. A name whose slug another state holds, or
    /// one without a slug, is refused.
    pub async fn rename_state(&self, id: i64, name: &str) -> Result<State> {
        let slug = slugify(name);
        if slug.is_empty() {
            return Err(StoreError::Invalid(format!(
                "state name {name:?} has no letters or digits"
            )));
        }
        let res = sqlx::query("UPDATE state SET name = $1, slug = $2 WHERE id = $3")
            .bind(name.trim())
            .bind(&slug)
            .bind(id)
            .execute(&self.pool)
            .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Invalid(format!(
                    "another state is already named {name:?} or has the slug {slug:?}"
                )));
            }
            other => other?,
        };
        self.caches.states.clear();
        self.states()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("no state {id}")))
    }

    /// Whether patches in the state still need a maintainer's action.
    /// The series with patches in it are recounted in the same
    /// transaction, since whether they are open depends on it.
    pub async fn set_state_action_required(&self, id: i64, action_required: bool) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let res = sqlx::query("UPDATE state SET action_required = $1 WHERE id = $2")
            .bind(i64::from(action_required))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no state {id}")));
        }
        sqlx::query(
            "UPDATE series SET open_patches = (SELECT CAST(COALESCE(SUM(c.n), 0) AS BIGINT) \
             FROM series_patch_state c JOIN state st ON st.id = c.state_id \
             WHERE c.series_id = series.id AND c.archived = 0 AND st.action_required <> 0) \
             WHERE id IN (SELECT series_id FROM series_patch_state WHERE state_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.caches.states.clear();
        Ok(())
    }

    /// Swaps a state with its neighbour in the order (nothing happens at
    /// either end). The first state is the one new patches get. Orderings
    /// are unique, and both engines check that row by row, so the swap
    /// parks one state on -1 first.
    pub async fn move_state(&self, id: i64, direction: Move) -> Result<()> {
        let states = self.states_uncached().await?;
        let Some(i) = states.iter().position(|s| s.id == id) else {
            return Err(StoreError::NotFound(format!("no state {id}")));
        };
        let j = match direction {
            Move::Up if i > 0 => i - 1,
            Move::Down if i + 1 < states.len() => i + 1,
            _ => return Ok(()),
        };
        let (a, b) = (&states[i], &states[j]);
        let mut tx = self.begin_write().await?;
        for (state, ordering) in [(a.id, -1), (b.id, a.ordering), (a.id, b.ordering)] {
            sqlx::query("UPDATE state SET ordering = $1 WHERE id = $2")
                .bind(ordering)
                .bind(state)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.caches.states.clear();
        Ok(())
    }

    /// Deletes a state no patch is in and no event names (deleting those
    /// would cascade over the patches' history, so they are refused with
    /// the counts), and closes the gap in the order so that a state keeps
    /// ordering 0 for new patches. The last state is refused too.
    pub async fn delete_state(&self, id: i64) -> Result<Result<(), Refused>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query("SELECT ordering FROM state WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Err(Refused::NoSuchObject { field: "state", id }));
        };
        let ordering: i64 = row.try_get("ordering")?;
        let count = |sql: &'static str| sqlx::query(sql).bind(id);
        let patches: i64 = count("SELECT COUNT(*) AS n FROM patch WHERE state_id = $1")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let events: i64 = count(
            "SELECT COUNT(*) AS n FROM event WHERE previous_state_id = $1 OR current_state_id = $1",
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if patches > 0 || events > 0 {
            return Ok(Err(Refused::StateInUse { patches, events }));
        }
        let others: i64 = sqlx::query("SELECT COUNT(*) AS n FROM state WHERE id <> $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if others == 0 {
            return Ok(Err(Refused::LastState));
        }
        sqlx::query("DELETE FROM state WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Shift the later states down by one, through negative values
        // (unique orderings are checked row by row).
        sqlx::query("UPDATE state SET ordering = -ordering WHERE ordering > $1")
            .bind(ordering)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE state SET ordering = -ordering - 1 WHERE ordering < 0")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.caches.states.clear();
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_follow_django() {
        for (name, slug) in [
            ("Changes Requested", "changes-requested"),
            (" Needs  ACK! ", "needs-ack"),
            ("Won't fix", "wont-fix"),
            ("Needs_Review", "needs_review"),
            ("Geprüft", "gepruft"),
            ("under-review", "under-review"),
            ("Under Review", "under-review"),
            ("a -- b", "a-b"),
            ("_x_", "x"),
            ("Ελληνικά", ""),
            ("ﬁx", "fix"),
        ] {
            assert_eq!(slugify(name), slug, "{name}");
        }
    }
}
