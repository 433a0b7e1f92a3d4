//! Comments on patches and on cover letters: two tables with separate ids,
//! one shape.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::listing::{Listed, Page, push_order, push_search};
use crate::refs::{self, PersonRef};
use crate::sql::Sql;
use crate::time::Micros;

/// What a comment answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parent {
    /// A patch (by id).
    Patch(i64),
    /// A cover letter (by id).
    Cover(i64),
}

impl Parent {
    fn tables(self) -> (&'static str, &'static str, &'static str, i64) {
        match self {
            Parent::Patch(id) => ("patch_comment", "patch_id", "patch", id),
            Parent::Cover(id) => ("cover_comment", "cover_id", "cover", id),
        }
    }
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Primary key (per parent kind).
    pub id: i64,
    /// What it answers.
    pub parent: Parent,
    /// Message-id with angle brackets.
    pub msgid: String,
    /// Mail date (UTC).
    pub date: Micros,
    /// Subject.
    pub subject: String,
    /// Author.
    pub submitter: PersonRef,
    /// Message.
    pub content: Option<String>,
    /// Header block as stored.
    pub headers: String,
    /// Whether the points it raises were dealt with (None: not said).
    pub addressed: Option<bool>,
}

/// Orderings of comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOrder {
    /// Primary key.
    Id,
    /// Subject.
    Subject,
    /// Mail date.
    Date,
    /// Submitter (person id).
    Submitter,
}

impl CommentOrder {
    fn column(self) -> &'static str {
        match self {
            CommentOrder::Id => "c.id",
            CommentOrder::Subject => "c.subject",
            CommentOrder::Date => "c.date",
            CommentOrder::Submitter => "c.submitter_id",
        }
    }
}

fn select(table: &str, parent_column: &str) -> String {
    format!(
        "SELECT c.id, c.{parent_column} AS parent_id, c.msgid, c.date, c.subject, c.content, \
         c.headers, c.addressed, {} FROM {table} c JOIN person pe ON pe.id = c.submitter_id",
        refs::person_columns("pe", "pe_")
    )
}

fn from_row(r: &AnyRow, patch: bool) -> Result<Comment> {
    let parent_id: i64 = r.try_get("parent_id")?;
    Ok(Comment {
        id: r.try_get("id")?,
        parent: if patch {
            Parent::Patch(parent_id)
        } else {
            Parent::Cover(parent_id)
        },
        msgid: r.try_get("msgid")?,
        date: r.try_get("date")?,
        subject: r.try_get("subject")?,
        submitter: refs::person(r, "pe_")?,
        content: r.try_get("content")?,
        headers: r.try_get("headers")?,
        addressed: r.try_get::<Option<i64>, _>("addressed")?.map(|a| a != 0),
    })
}

impl Store {
    /// The project of the parent, or None when it does not exist.
    pub async fn parent_project(&self, parent: Parent) -> Result<Option<i64>> {
        let (_, _, table, id) = parent.tables();
        let mut sql = Sql::new(&format!("SELECT project_id FROM {table} WHERE id = "));
        sql.bind(id);
        Ok(sql
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("project_id"))
            .transpose()?)
    }

    /// The message texts of the comments of each patch, by date, in one
    /// statement: the trailers a download appends.
    pub async fn patch_comment_contents(
        &self,
        patch_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<String>>> {
        let mut out: std::collections::HashMap<i64, Vec<String>> = Default::default();
        if patch_ids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new("SELECT patch_id, content FROM patch_comment WHERE patch_id IN ");
        sql.bind_list(patch_ids.iter().copied())
            .push(" AND content IS NOT NULL ORDER BY date, id");
        for r in sql.fetch_all(&self.pool).await? {
            out.entry(r.try_get("patch_id")?)
                .or_default()
                .push(r.try_get("content")?);
        }
        Ok(out)
    }

    /// One page of a patch's or cover's comments; None when the page is out
    /// of range.
    pub async fn comments(
        &self,
        parent: Parent,
        search: &[String],
        order: &[(CommentOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Comment>>> {
        let (table, column, _, id) = parent.tables();
        let push_where = |sql: &mut Sql| {
            sql.push(&format!(" WHERE c.{column} = ")).bind(id);
            push_search(sql, search, &["c.subject"]);
        };
        let mut count = Sql::new(&format!("SELECT COUNT(*) AS n FROM {table} c"));
        push_where(&mut count);
        let total = count.count(&self.pool).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = Sql::new(&select(table, column));
        push_where(&mut sql);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "c.id");
        page.limit_offset(&mut sql, number);
        let patch = matches!(parent, Parent::Patch(_));
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| from_row(r, patch))
            .collect::<Result<_>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// Every comment of a parent, by date (for pages and mbox trailers).
    pub async fn all_comments(&self, parent: Parent) -> Result<Vec<Comment>> {
        let (table, column, _, id) = parent.tables();
        let mut sql = Sql::new(&select(table, column));
        sql.push(&format!(" WHERE c.{column} = "))
            .bind(id)
            .push(" ORDER BY c.date, c.id");
        let patch = matches!(parent, Parent::Patch(_));
        sql.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| from_row(r, patch))
            .collect()
    }

    /// One comment of a parent.
    pub async fn comment(&self, parent: Parent, comment_id: i64) -> Result<Option<Comment>> {
        let (table, column, _, id) = parent.tables();
        let mut sql = Sql::new(&select(table, column));
        sql.push(&format!(" WHERE c.{column} = "))
            .bind(id)
            .push(" AND c.id = ")
            .bind(comment_id);
        let patch = matches!(parent, Parent::Patch(_));
        sql.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|r| from_row(r, patch))
            .transpose()
    }

    /// Sets a comment's `addressed` flag. Unlike Patchwork, no
    /// `*-comment-created` event is emitted again (docs/compatibility.md).
    pub async fn set_addressed(
        &self,
        parent: Parent,
        comment_id: i64,
        addressed: Option<bool>,
    ) -> Result<Comment> {
        let (table, column, _, id) = parent.tables();
        let mut sql = Sql::new(&format!("UPDATE {table} SET addressed = "));
        sql.bind(addressed.map(i64::from))
            .push(" WHERE id = ")
            .bind(comment_id)
            .push(&format!(" AND {column} = "))
            .bind(id);
        sql.execute(&self.pool).await?;
        self.comment(parent, comment_id)
            .await?
            .ok_or_else(|| StoreError::Inconsistent("a comment vanished while updated".into()))
    }

    /// The parent of a comment found by its id alone (the `/comment/ID/`
    /// redirect): patch comments first, as Patchwork does.
    pub async fn comment_parent(&self, comment_id: i64) -> Result<Option<Parent>> {
        for (table, column, patch) in [
            ("patch_comment", "patch_id", true),
            ("cover_comment", "cover_id", false),
        ] {
            let mut sql = Sql::new(&format!("SELECT {column} AS p FROM {table} WHERE id = "));
            sql.bind(comment_id);
            if let Some(r) = sql.fetch_optional(&self.pool).await? {
                let p: i64 = r.try_get("p")?;
                return Ok(Some(if patch {
                    Parent::Patch(p)
                } else {
                    Parent::Cover(p)
                }));
            }
        }
        Ok(None)
    }
}

impl Store {
    /// Whether `who` may set `addressed` on a comment: its author's
    /// account; for a patch comment anyone who may edit the patch; for a
    /// cover comment the cover's author or a maintainer.
    pub async fn can_address(
        &self,
        who: &crate::user::Principal,
        comment: &Comment,
    ) -> Result<bool> {
        Ok(self
            .addressable(who, std::slice::from_ref(comment))
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }

    /// [`Store::can_address`] for each of a page's comments: their
    /// authors' accounts in one statement, and each parent's rule once.
    pub async fn addressable(
        &self,
        who: &crate::user::Principal,
        comments: &[Comment],
    ) -> Result<Vec<bool>> {
        if comments.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT id, user_id FROM person WHERE id IN ");
        sql.bind_list(comments.iter().map(|c| c.submitter.id));
        let mut author_user = std::collections::HashMap::new();
        for r in sql.fetch_all(&self.pool).await? {
            author_user.insert(
                r.try_get::<i64, _>("id")?,
                r.try_get::<Option<i64>, _>("user_id")?,
            );
        }
        let mut parent_ok = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(comments.len());
        for c in comments {
            if author_user.get(&c.submitter.id).copied().flatten() == Some(who.user.id) {
                out.push(true);
                continue;
            }
            let ok = match parent_ok.get(&c.parent) {
                Some(ok) => *ok,
                None => {
                    let ok = self.may_address_under(who, c.parent).await?;
                    parent_ok.insert(c.parent, ok);
                    ok
                }
            };
            out.push(ok);
        }
        Ok(out)
    }

    /// Whether `who` may address any comment under `parent`.
    async fn may_address_under(
        &self,
        who: &crate::user::Principal,
        parent: Parent,
    ) -> Result<bool> {
        match parent {
            Parent::Patch(p) => self.can_edit_patch(who, p).await,
            Parent::Cover(c) => {
                let row = sqlx::query(
                    "SELECT c.project_id, pe.user_id FROM cover c \
                     JOIN person pe ON pe.id = c.submitter_id WHERE c.id = $1",
                )
                .bind(c)
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else { return Ok(false) };
                Ok(who.maintains(r.try_get("project_id")?)
                    || r.try_get::<Option<i64>, _>("user_id")? == Some(who.user.id))
            }
        }
    }
}
