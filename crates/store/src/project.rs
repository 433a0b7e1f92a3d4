//! Projects: one mailing list (or one subject-filtered slice of it) each.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::{Result, StoreError};

/// A project as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Primary key.
    pub id: i64,
    /// URL name, unique.
    pub linkname: String,
    /// Display name, unique.
    pub name: String,
    /// The List-Id this project receives.
    pub listid: String,
    /// The list's posting address (also used to undo DMARC rewriting).
    pub listemail: String,
    /// A regex on the subject that selects this project among those sharing
    /// a list id; empty for the default project of the list.
    pub subject_match: String,
    /// Project home page.
    pub web_url: String,
    /// Repository URL.
    pub scm_url: String,
    /// Repository web view URL.
    pub webscm_url: String,
    /// Mailing-list archive URL.
    pub list_archive_url: String,
    /// Archive URL of one message, `{}` standing for the message-id.
    pub list_archive_url_format: String,
    /// Commit URL, `{}` standing for the commit id.
    pub commit_url_format: String,
    /// Whether state changes are mailed to submitters.
    pub send_notifications: bool,
    /// Whether A/R/T tags are counted.
    pub use_tags: bool,
    /// Whether series dependencies are shown in the API.
    pub show_dependencies: bool,
    /// Whether a complete newer version of a series marks the open
    /// patches of the version it revises `superseded` (off by default,
    /// as kernel.org's bot is opt-in: some maintainers apply from v2 while
    /// v3 is reviewed).
    pub auto_supersede: bool,
}

/// What `project add` needs; the rest have defaults.
#[derive(Debug, Clone, Default)]
pub struct NewProject {
    /// URL name.
    pub linkname: String,
    /// Display name.
    pub name: String,
    /// List-Id.
    pub listid: String,
    /// List address.
    pub listemail: String,
    /// Subject filter regex.
    pub subject_match: String,
    /// Home page.
    pub web_url: String,
    /// Repository URL.
    pub scm_url: String,
    /// Repository web URL.
    pub webscm_url: String,
    /// Archive URL.
    pub list_archive_url: String,
    /// Archive URL format.
    pub list_archive_url_format: String,
    /// Commit URL format.
    pub commit_url_format: String,
}

const COLUMNS: &str = "id, linkname, name, listid, listemail, subject_match, web_url, scm_url, \
    webscm_url, list_archive_url, list_archive_url_format, commit_url_format, \
    send_notifications, use_tags, show_dependencies, auto_supersede";

fn from_row(r: &AnyRow) -> Result<Project, sqlx::Error> {
    Ok(Project {
        id: r.try_get("id")?,
        linkname: r.try_get("linkname")?,
        name: r.try_get("name")?,
        listid: r.try_get("listid")?,
        listemail: r.try_get("listemail")?,
        subject_match: r.try_get("subject_match")?,
        web_url: r.try_get("web_url")?,
        scm_url: r.try_get("scm_url")?,
        webscm_url: r.try_get("webscm_url")?,
        list_archive_url: r.try_get("list_archive_url")?,
        list_archive_url_format: r.try_get("list_archive_url_format")?,
        commit_url_format: r.try_get("commit_url_format")?,
        send_notifications: r.try_get::<i64, _>("send_notifications")? != 0,
        use_tags: r.try_get::<i64, _>("use_tags")? != 0,
        show_dependencies: r.try_get::<i64, _>("show_dependencies")? != 0,
        auto_supersede: r.try_get::<i64, _>("auto_supersede")? != 0,
    })
}

/// Whether a linkname is a slug (letters, digits, `-`, `_`, `.`).
fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Store {
    /// Creates a project.
    pub async fn add_project(&self, p: &NewProject) -> Result<Project> {
        if !is_slug(&p.linkname) {
            return Err(StoreError::Invalid(format!(
                "linkname {:?} must be a slug (letters, digits, '-', '_', '.')",
                p.linkname
            )));
        }
        if p.name.trim().is_empty() || p.listid.trim().is_empty() {
            return Err(StoreError::Invalid("name and list id are required".into()));
        }
        if let Err(e) = regex::Regex::new(&p.subject_match) {
            return Err(StoreError::Invalid(format!(
                "subject_match is not a regex: {e}"
            )));
        }
        let res = sqlx::query(
            "INSERT INTO project (linkname, name, listid, listemail, subject_match, web_url, \
             scm_url, webscm_url, list_archive_url, list_archive_url_format, commit_url_format) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.linkname)
        .bind(&p.name)
        .bind(&p.listid)
        .bind(&p.listemail)
        .bind(&p.subject_match)
        .bind(&p.web_url)
        .bind(&p.scm_url)
        .bind(&p.webscm_url)
        .bind(&p.list_archive_url)
        .bind(&p.list_archive_url_format)
        .bind(&p.commit_url_format)
        .execute(&self.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Invalid(format!(
                    "a project with linkname {:?}, name {:?} or list id {:?} (same subject match) already exists",
                    p.linkname, p.name, p.listid
                )));
            }
            other => other?,
        };
        self.caches.projects.clear();
        self.caches.projects_by_id.clear();
        self.project_by_linkname(&p.linkname)
            .await?
            .ok_or_else(|| StoreError::Inconsistent(format!("project {} vanished", p.linkname)))
    }

    /// Every project, by linkname.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        let sql = format!("SELECT {COLUMNS} FROM project ORDER BY linkname");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// The project with this linkname.
    pub async fn project_by_linkname(&self, linkname: &str) -> Result<Option<Project>> {
        let sql = format!("SELECT {COLUMNS} FROM project WHERE linkname = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(linkname)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Projects receiving this list id, by linkname (cached for a few
    /// seconds: every incoming mail asks).
    pub async fn projects_by_listid(&self, listid: &str) -> Result<Vec<Project>> {
        if let Some(p) = self.caches.projects.get(&listid.to_string()) {
            return Ok(p.as_ref().clone());
        }
        let sql = format!("SELECT {COLUMNS} FROM project WHERE listid = $1 ORDER BY linkname");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(listid)
            .fetch_all(&self.pool)
            .await?;
        let projects: Vec<Project> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        self.caches
            .projects
            .put(listid.to_string(), projects.clone());
        Ok(projects)
    }

    /// Patchwork's project choice for a list id and a (cleaned) subject:
    /// the first project whose `subject_match` matches, else the one with an
    /// empty `subject_match`.
    pub async fn project_for(&self, listid: &str, subject: &str) -> Result<Option<Project>> {
        let mut default = None;
        for p in self.projects_by_listid(listid).await? {
            if p.subject_match.is_empty() {
                default.get_or_insert(p);
                continue;
            }
            let re = match self.caches.subject_matches.get(&p.subject_match) {
                Some(re) => re,
                None => {
                    let re = regex::RegexBuilder::new(&p.subject_match)
                        .case_insensitive(true)
                        .multi_line(true)
                        .build()
                        .ok();
                    self.caches.subject_matches.put(p.subject_match.clone(), re)
                }
            };
            if re.as_ref().as_ref().is_some_and(|re| re.is_match(subject)) {
                return Ok(Some(p));
            }
        }
        Ok(default)
    }
}

impl Store {
    /// Saves every field of `p` (found by id), its linkname included.
    pub async fn update_project(&self, p: &Project) -> Result<()> {
        if !is_slug(&p.linkname) {
            return Err(StoreError::Invalid(format!(
                "linkname {:?} must be a slug (letters, digits, '-', '_', '.')",
                p.linkname
            )));
        }
        if p.name.trim().is_empty() || p.listid.trim().is_empty() {
            return Err(StoreError::Invalid("name and list id are required".into()));
        }
        if let Err(e) = regex::Regex::new(&p.subject_match) {
            return Err(StoreError::Invalid(format!(
                "subject_match is not a regex: {e}"
            )));
        }
        let res = sqlx::query(
            "UPDATE project SET name = $1, listid = $2, listemail = $3, subject_match = $4, \
             web_url = $5, scm_url = $6, webscm_url = $7, list_archive_url = $8, \
             list_archive_url_format = $9, commit_url_format = $10, send_notifications = $11, \
             use_tags = $12, show_dependencies = $13, linkname = $14, auto_supersede = $16 \
             WHERE id = $15",
        )
        .bind(&p.name)
        .bind(&p.listid)
        .bind(&p.listemail)
        .bind(&p.subject_match)
        .bind(&p.web_url)
        .bind(&p.scm_url)
        .bind(&p.webscm_url)
        .bind(&p.list_archive_url)
        .bind(&p.list_archive_url_format)
        .bind(&p.commit_url_format)
        .bind(i64::from(p.send_notifications))
        .bind(i64::from(p.use_tags))
        .bind(i64::from(p.show_dependencies))
        .bind(&p.linkname)
        .bind(p.id)
        .bind(i64::from(p.auto_supersede))
        .execute(&self.pool)
        .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Invalid(format!(
                    "another project already uses linkname {:?}, name {:?} or list id {:?} \
                     (same subject match)",
                    p.linkname, p.name, p.listid
                )))
            }
            Err(e) => Err(e.into()),
            Ok(r) if r.rows_affected() == 0 => Err(StoreError::NotFound(p.linkname.clone())),
            Ok(_) => {
                self.caches.projects.clear();
                self.caches.projects_by_id.clear();
                Ok(())
            }
        }
    }
}

use crate::listing::{Listed, Page, push_order, push_search};
use crate::sql::Sql;

/// Orderings of projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectOrder {
    /// Primary key.
    Id,
    /// Display name.
    Name,
    /// Linkname.
    LinkName,
    /// List id.
    ListId,
}

impl ProjectOrder {
    fn column(self) -> &'static str {
        match self {
            ProjectOrder::Id => "id",
            ProjectOrder::Name => "name",
            ProjectOrder::LinkName => "linkname",
            ProjectOrder::ListId => "listid",
        }
    }
}

/// The fields of a project its maintainers may change through the API
/// (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ProjectUpdate {
    /// Home page.
    pub web_url: Option<String>,
    /// Repository URL.
    pub scm_url: Option<String>,
    /// Repository web URL.
    pub webscm_url: Option<String>,
    /// Archive URL.
    pub list_archive_url: Option<String>,
    /// Archive URL of one message.
    pub list_archive_url_format: Option<String>,
    /// Commit URL format.
    pub commit_url_format: Option<String>,
    /// Whether series show their dependencies.
    pub show_dependencies: Option<bool>,
    /// See [`Project::auto_supersede`].
    pub auto_supersede: Option<bool>,
}

impl Store {
    /// One page of projects; the search matches linkname, name or list id
    /// (Patchwork's own `?q=` on projects fails with a 500).
    pub async fn project_list(
        &self,
        search: &[String],
        order: &[(ProjectOrder, bool)],
        page: Page,
    ) -> Result<Option<Listed<Project>>> {
        const FIELDS: [&str; 3] = ["linkname", "name", "listid"];
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM project WHERE 1 = 1");
        push_search(&mut count, search, &FIELDS);
        let total = count.count(&self.pool).await?;
        let Some(number) = page.resolve(total) else {
            return Ok(None);
        };
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM project WHERE 1 = 1"));
        push_search(&mut sql, search, &FIELDS);
        let cols: Vec<(&str, bool)> = order.iter().map(|(o, d)| (o.column(), *d)).collect();
        push_order(&mut sql, &cols, "id");
        page.limit_offset(&mut sql, number);
        let items = sql
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<_, _>>()?;
        Ok(Some(Listed {
            items,
            total,
            page: number,
        }))
    }

    /// The project with this id.
    pub async fn project_by_id(&self, id: i64) -> Result<Option<Project>> {
        let sql = format!("SELECT {COLUMNS} FROM project WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Every project by id, cached for a few seconds: every API object
    /// embeds its project.
    pub async fn projects_by_id(&self) -> Result<std::sync::Arc<HashMap<i64, Project>>> {
        if let Some(map) = self.caches.projects_by_id.get(&()) {
            return Ok(map);
        }
        let map: HashMap<i64, Project> = self
            .projects()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(self.caches.projects_by_id.put((), map))
    }

    /// The project with this linkname, from the few-seconds cache that
    /// every page and download reads (the admin commands use the
    /// uncached [`Store::project_by_linkname`]).
    pub async fn cached_project(&self, linkname: &str) -> Result<Option<Project>> {
        Ok(self
            .projects_by_id()
            .await?
            .values()
            .find(|p| p.linkname == linkname)
            .cloned())
    }

    /// Patchwork's project lookup in a URL: an integer is tried as an id
    /// first, then the segment as a linkname (so numeric linknames work).
    pub async fn project_by_id_or_linkname(&self, segment: &str) -> Result<Option<Project>> {
        if let Ok(id) = segment.parse::<i64>()
            && let Some(p) = self.project_by_id(id).await?
        {
            return Ok(Some(p));
        }
        self.project_by_linkname(segment).await
    }

    /// Applies a maintainer's changes to a project.
    pub async fn update_project_fields(&self, id: i64, u: &ProjectUpdate) -> Result<Project> {
        sqlx::query(
            "UPDATE project SET web_url = COALESCE($1, web_url), scm_url = COALESCE($2, scm_url), \
             webscm_url = COALESCE($3, webscm_url), \
             list_archive_url = COALESCE($4, list_archive_url), \
             list_archive_url_format = COALESCE($5, list_archive_url_format), \
             commit_url_format = COALESCE($6, commit_url_format), \
             show_dependencies = COALESCE($7, show_dependencies), \
             auto_supersede = COALESCE($9, auto_supersede) WHERE id = $8",
        )
        .bind(u.web_url.clone())
        .bind(u.scm_url.clone())
        .bind(u.webscm_url.clone())
        .bind(u.list_archive_url.clone())
        .bind(u.list_archive_url_format.clone())
        .bind(u.commit_url_format.clone())
        .bind(u.show_dependencies.map(i64::from))
        .bind(id)
        .bind(u.auto_supersede.map(i64::from))
        .execute(&self.pool)
        .await?;
        self.caches.projects.clear();
        self.caches.projects_by_id.clear();
        self.project_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Inconsistent(format!("project {id} vanished while updated")))
    }
}

impl Store {
    /// How many patches a project has: (not archived, archived), for its
    /// page's "N (+ M archived)".
    pub async fn patch_counts(&self, project_id: i64) -> Result<(i64, i64)> {
        let rows = sqlx::query(
            "SELECT archived, CAST(SUM(n) AS BIGINT) AS n FROM patch_tally WHERE project_id = $1 \
             GROUP BY archived",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = (0, 0);
        for r in rows {
            let n: i64 = r.try_get("n")?;
            if r.try_get::<i64, _>("archived")? != 0 {
                counts.1 = n;
            } else {
                counts.0 = n;
            }
        }
        Ok(counts)
    }
}

impl Store {
    /// Makes `username` a maintainer of the project (nothing changes when
    /// they already are). Returns the user's id.
    pub async fn add_maintainer(&self, project_id: i64, username: &str) -> Result<i64> {
        let user = self
            .user_by_username(username.trim())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no user {:?}", username.trim())))?;
        sqlx::query(
            "INSERT INTO project_maintainer (project_id, user_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(user.user.id)
        .execute(&self.pool)
        .await?;
        self.caches.maintainers.clear();
        Ok(user.user.id)
    }

    /// Ends a user's maintainership of the project. False when they were
    /// not a maintainer. Patches delegated to them stay delegated.
    pub async fn remove_maintainer(&self, project_id: i64, user_id: i64) -> Result<bool> {
        let res =
            sqlx::query("DELETE FROM project_maintainer WHERE project_id = $1 AND user_id = $2")
                .bind(project_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        self.caches.maintainers.clear();
        Ok(res.rows_affected() == 1)
    }
}
