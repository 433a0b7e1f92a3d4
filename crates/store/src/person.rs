//! People: mail authors, found by address case-insensitively.

use sqlx::Row;

use crate::error::Result;
use patchtrack_mail::Author;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The cache key of an author: address (lower case) and name as given.
pub(crate) fn cache_key(author: &Author) -> (String, Option<String>) {
    (
        author.email.to_lowercase(),
        author.name.clone().filter(|n| !n.is_empty()),
    )
}

/// Finds or creates the person behind `author`; a non-empty name that
/// differs from the stored one replaces it (the latest name wins). A new
/// person keeps the name exactly as the mail gives it, so `"" <a@b>` is
/// named "" and a bare `a@b` has no name, as upstream stores them. An
/// author this process stored moments ago with the same name needs no
/// statement: most mails come from people already seen.
pub(crate) async fn get_or_create(
    tx: &mut Tx,
    caches: &crate::cache::Caches,
    author: &Author,
) -> Result<i64> {
    if let Some(id) = caches.people.get(&cache_key(author)) {
        return Ok(*id);
    }
    let lower = author.email.to_lowercase();
    // One statement either way: insert, or keep the row (and its first-seen
    // address) and take the new name if the mail has a non-empty one.
    let row = sqlx::query(
        "INSERT INTO person (email, email_lower, name) VALUES ($1, $2, $3) \
         ON CONFLICT (email_lower) DO UPDATE \
         SET name = COALESCE(NULLIF(excluded.name, ''), person.name) \
         RETURNING id",
    )
    .bind(&author.email)
    .bind(&lower)
    .bind(author.name.as_deref())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

use crate::db::Store;
use crate::field_lookup::{Take, push_take};
use crate::listing::{Listed, Page, push_order, push_search};
use crate::refs::{self, PersonRef, UserRef};
use crate::sql::Sql;

/// A person with the account linked to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Who.
    pub person: PersonRef,
    /// Their account, if linked.
    pub user: Option<UserRef>,
}

/// Orderings of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonOrder {
    /// Primary key.
    Id,
    /// Name.
    Name,
    /// Address.
    Email,
}

impl PersonOrder {
    fn column(self) -> &'static str {
        match self {
            PersonOrder::Id => "pe.id",
            PersonOrder::Name => "pe.name",
            PersonOrder::Email => "pe.email",
        }
    }
}

pub(crate) fn person_select() -> String {
    format!(
        "SELECT {}, {} FROM person pe LEFT JOIN app_user u ON u.id = pe.user_id",
        refs::person_columns("pe", "pe_"),
        refs::user_columns("u", "u_")
    )
}

pub(crate) fn person_row(r: &sqlx::any::AnyRow) -> Result<Person> {
    Ok(Person {
        person: refs::person(r, "pe_")?,
        user: refs::user(r, "u_")?,
    })
}

impl Store {
    /// One page of people matching every search term in name or address.
    pub async fn people(
        &self,
        search: &[String],
        order: &[(PersonOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Person>>> {
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM person pe WHERE 1 = 1");
        push_search(&mut count, search, &["pe.name", "pe.email"]);
        let total = count.count(&self.pool).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = Sql::new(&person_select());
        sql.push(" WHERE 1 = 1");
        push_search(&mut sql, search, &["pe.name", "pe.email"]);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "pe.id");
        page.limit_offset(&mut sql, number);
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(person_row)
            .collect::<Result<_>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// People whose name or address contains `search` (any case), by id.
    pub async fn people_containing(&self, search: &str, take: Take) -> Result<Vec<Person>> {
        let mut sql = Sql::new(&person_select());
        sql.push(" WHERE 1 = 1");
        if !search.is_empty() {
            push_search(&mut sql, &[search.to_string()], &["pe.name", "pe.email"]);
        }
        push_take(&mut sql, "pe.id ASC", take);
        let mut people = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(person_row)
            .collect::<Result<Vec<_>>>()?;
        if matches!(take, Take::Last(_)) {
            people.reverse();
        }
        Ok(people)
    }

    /// One person.
    pub async fn person(&self, id: i64) -> Result<Option<Person>> {
        let mut sql = Sql::new(&person_select());
        sql.push(" WHERE pe.id = ").bind(id);
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(person_row)
            .transpose()
    }
}

impl Store {
    /// The addresses linked to an account for the profile page's list of
    /// them: the account's own address first, then the others in the
    /// order they were first seen.
    pub async fn people_of_user(&self, user_id: i64) -> Result<Vec<PersonRef>> {
        let mut sql = Sql::new(&person_select());
        sql.push(" WHERE pe.user_id = ").bind(user_id);
        sql.push(" ORDER BY CASE WHEN LOWER(pe.email) = LOWER(u.email) THEN 0 ELSE 1 END, pe.id");
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| refs::person(r, "pe_").map_err(Into::into))
            .collect()
    }

    /// The projects an account's addresses have posted to ("Contributor
    /// to" on the profile). Read from the series, whose index leads with
    /// (project, submitter), so the cost is one probe per project and
    /// address whatever the size of the archive.
    pub async fn projects_contributed_to(&self, user_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT pr.id FROM project pr WHERE EXISTS (SELECT 1 FROM series s \
             WHERE s.project_id = pr.id AND s.submitter_id IN \
             (SELECT pe.id FROM person pe WHERE pe.user_id = $1)) ORDER BY pr.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("id").map_err(Into::into))
            .collect()
    }
}

impl Store {
    /// Every person linked to the same account as `person_id` (itself
    /// alone when it has none), so that the web list's submitter filter
    /// shows a user's patches from all their addresses, as Patchwork does.
    pub async fn people_of_same_user(&self, person_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT o.id FROM person p JOIN person o ON o.user_id = p.user_id \
             WHERE p.id = $1 ORDER BY o.id",
        )
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        Ok(if ids.is_empty() { vec![person_id] } else { ids })
    }
}

/// What merging two people moved to the one kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    /// Patches submitted.
    pub patches: u64,
    /// Cover letters.
    pub covers: u64,
    /// Series.
    pub series: u64,
    /// Comments on patches and covers.
    pub comments: u64,
}

impl Store {
    /// Links a person to an account (`None`: unlinks it), whatever it was
    /// linked to. False when there is no such person; an unknown username
    /// is [`crate::StoreError::NotFound`].
    pub async fn link_person(&self, person_id: i64, username: Option<&str>) -> Result<bool> {
        let user_id = match username.map(str::trim).filter(|u| !u.is_empty()) {
            Some(name) => Some(
                self.user_by_username(name)
                    .await?
                    .ok_or_else(|| crate::StoreError::NotFound(format!("no user {name:?}")))?
                    .user
                    .id,
            ),
            None => None,
        };
        let res = sqlx::query("UPDATE person SET user_id = $1 WHERE id = $2")
            .bind(user_id)
            .bind(person_id)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Merges the person `duplicate` into `keep`, in one transaction:
    /// their patches, cover letters, series and comments become `keep`'s,
    /// `keep` takes the duplicate's account link when it has none, and the
    /// duplicate is deleted. Its address goes with it: a later mail from
    /// that address creates a new person (link both to one account
    /// instead to keep both addresses). Checks belong to accounts, not
    /// people, and bundles to accounts: neither moves. None when either
    /// person does not exist or they are the same.
    pub async fn merge_people(&self, keep: i64, duplicate: i64) -> Result<Option<Merged>> {
        if keep == duplicate {
            return Ok(None);
        }
        let mut tx = self.begin_write().await?;
        let found = sqlx::query("SELECT id, user_id FROM person WHERE id IN ($1, $2)")
            .bind(keep)
            .bind(duplicate)
            .fetch_all(&mut *tx)
            .await?;
        if found.len() != 2 {
            return Ok(None);
        }
        let mut moved = [0u64; 5];
        for (i, table) in ["patch", "cover", "series", "patch_comment", "cover_comment"]
            .iter()
            .enumerate()
        {
            let sql = format!("UPDATE {table} SET submitter_id = $1 WHERE submitter_id = $2");
            moved[i] = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(keep)
                .bind(duplicate)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        sqlx::query(
            "UPDATE person SET user_id = (SELECT user_id FROM person WHERE id = $1) \
             WHERE id = $2 AND user_id IS NULL",
        )
        .bind(duplicate)
        .bind(keep)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM person WHERE id = $1")
            .bind(duplicate)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Ingestion remembers people by address: the duplicate's id is gone.
        self.caches.people.clear();
        Ok(Some(Merged {
            patches: moved[0],
            covers: moved[1],
            series: moved[2],
            comments: moved[3] + moved[4],
        }))
    }
}
