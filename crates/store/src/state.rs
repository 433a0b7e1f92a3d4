//! Patch states. Ids and slugs of the default set are Patchwork's (and
//! kernel.org's), because clients send and compare them.

use sqlx::Row;

use crate::db::Store;
use crate::error::{Result, StoreError};

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

fn slugify(name: &str) -> String {
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
            .ok_or_else(|| StoreError::NotFound(slug))
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Changes Requested"), "changes-requested");
        assert_eq!(slugify(" Needs  ACK! "), "needs-ack");
    }
}
