//! Turning one mail into stored objects, in one transaction, as Patchwork's
//! `parse_mail` does: project lookup, patch / cover / comment creation,
//! series assignment, tags, dependencies and events, plus the original
//! bytes. A mail already stored is a no-op, so imports can be re-run.

use sqlx::Row;

use patchtrack_mail::message::full_message_id_of;
use patchtrack_mail::{Kind, ParseOptions, ParsedMail, parse_mail};

use crate::cache::Caches;
use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::event::{EventRefs, Events};
use crate::grouping::{self, Member};
use crate::project::Project;
use crate::{delegation, lineage, metrics, person, raw_mail, tag, time};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Use this list id instead of the mail's List-Id headers.
    pub list_id: Option<String>,
}

/// What became of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as a patch (or a pull request).
    Patch {
        /// The new patch.
        id: i64,
    },
    /// Stored as a cover letter.
    Cover {
        /// The new cover.
        id: i64,
    },
    /// Stored as a comment on a patch.
    PatchComment {
        /// The new comment.
        id: i64,
        /// The patch it answers.
        patch_id: i64,
    },
    /// Stored as a comment on a cover letter.
    CoverComment {
        /// The new comment.
        id: i64,
        /// The cover it answers.
        cover_id: i64,
    },
    /// Already stored: nothing changed.
    Duplicate,
    /// Deliberately not stored (no project, ignore hint, no content, a
    /// comment on nothing we know); the reason says which.
    Dropped(String),
    /// Not a usable mail (missing or invalid From, Subject or Message-Id).
    Rejected(String),
}

impl Outcome {
    /// Whether something was stored.
    pub fn is_stored(&self) -> bool {
        matches!(
            self,
            Outcome::Patch { .. }
                | Outcome::Cover { .. }
                | Outcome::PatchComment { .. }
                | Outcome::CoverComment { .. }
        )
    }
}

/// The stored header block, re-encoded header by header exactly as upstream
/// stores it (see [`patchtrack_mail::header_encode`]): the API, the mbox
/// downloads and the comment subjects serve this text verbatim.
pub(crate) fn header_text(mail: &ParsedMail) -> String {
    patchtrack_mail::header_encode::stored_block(&mail.headers)
}

impl Store {
    /// Finds the project a mail belongs to.
    async fn project_of(
        &self,
        mail: &ParsedMail,
        options: &IngestOptions,
    ) -> Result<Option<Project>> {
        let subject = mail.subject.as_deref().unwrap_or("");
        if let Some(id) = &options.list_id {
            return self.project_for(id, subject).await;
        }
        for id in &mail.list_ids {
            if let Some(p) = self.project_for(id, subject).await? {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// Stores one mail. Transient failures (lost races, a busy database)
    /// are retried; the result says what was stored or why nothing was,
    /// and is counted for `/metrics`.
    pub async fn ingest(&self, raw: &[u8], options: &IngestOptions) -> Result<Outcome> {
        let outcome = self
            .ingest_parsed(raw, parse_mail(raw, &ParseOptions::default()), options)
            .await?;
        // A counter is no reason to have the MTA send the mail again.
        if let Err(e) = self.count_unstored(std::slice::from_ref(&outcome)).await {
            tracing::warn!(error = %e, "could not count a mail that was not stored");
        }
        Ok(outcome)
    }

    /// [`Store::ingest`] for a mail already parsed with the default
    /// options, so that a bulk import can parse on another thread while
    /// the previous mail is being stored. A stored mail is counted in its
    /// transaction; one not stored is left to the caller's
    /// [`Store::count_unstored`], which a bulk import calls once per batch.
    pub async fn ingest_parsed(
        &self,
        raw: &[u8],
        first: ParsedMail,
        options: &IngestOptions,
    ) -> Result<Outcome> {
        match first.kind {
            Kind::Invalid => {
                return Ok(Outcome::Rejected(first.reason.unwrap_or_default()));
            }
            Kind::Ignored => return Ok(Outcome::Dropped("X-Patchwork-Hint: ignore".into())),
            _ => {}
        }
        let Some(project) = self.project_of(&first, options).await? else {
            let ids = options
                .list_id
                .clone()
                .unwrap_or_else(|| first.list_ids.join(", "));
            return Ok(Outcome::Dropped(format!("no project for list id [{ids}]")));
        };
        // Project-specific parsing: the linkname is dropped from prefixes and
        // the list address undoes DMARC rewriting.
        let linkname_prefix = first
            .prefixes
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&project.linkname));
        let from_list = !project.listemail.is_empty()
            && first
                .submitter
                .as_ref()
                .is_some_and(|a| a.email.eq_ignore_ascii_case(&project.listemail));
        let mail = if linkname_prefix || from_list {
            parse_mail(
                raw,
                &ParseOptions {
                    drop_prefixes: vec![project.linkname.clone()],
                    list_email: Some(project.listemail.clone()).filter(|e| !e.is_empty()),
                    strict_charsets: false,
                },
            )
        } else {
            first
        };
        if mail.kind == Kind::Empty {
            return Ok(Outcome::Dropped(
                "nothing to work with: no diff and no text".into(),
            ));
        }

        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut tx = self.begin_for_project(project.id).await?;
                let (outcome, submitter) =
                    store_mail(&mut tx, &self.caches, &project, &mail, raw).await?;
                if outcome.is_stored() {
                    let (counter, reason) = metrics::label(&outcome);
                    sqlx::query(metrics::COUNT_MAIL)
                        .bind(counter)
                        .bind(reason)
                        .bind(1_i64)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    if let (Some(id), Some(author)) = (submitter, &mail.submitter) {
                        // One name per address in the cache: a mail under
                        // an older name must still restore it.
                        let key = person::cache_key(author);
                        self.caches
                            .people
                            .remove_where(|(email, _)| *email == key.0);
                        self.caches.people.put(key, id);
                    }
                } else {
                    tx.rollback().await?;
                }
                Ok::<_, StoreError>(outcome)
            }
            .await;
            match result {
                Err(e) if e.is_transient() && attempt < 10 => {
                    tracing::debug!(attempt, error = %e, "retrying mail");
                    tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
                }
                other => return other,
            }
        }
    }
}

async fn store_mail(
    tx: &mut Tx,
    caches: &Caches,
    project: &Project,
    mail: &ParsedMail,
    raw: &[u8],
) -> Result<(Outcome, Option<i64>)> {
    let msgid = mail.msgid.as_deref().unwrap_or_default();
    // The original bytes go first and double as the duplicate check, so
    // that re-importing an archive is a no-op even for mails whose
    // classification depends on what is already stored.
    let Some(raw_id) = save_raw(tx, project.id, msgid, raw).await? else {
        if truncated_collision(tx, project.id, msgid, raw).await? {
            return Ok((
                Outcome::Rejected(
                    "Message-Id differs from a stored mail's only after the 255 characters \
                     kept: both would have the same id"
                        .into(),
                ),
                None,
            ));
        }
        return Ok((Outcome::Duplicate, None));
    };
    let mut events = Events::default();
    let outcome = store_new(tx, &mut events, caches, project, mail, raw_id).await?;
    if outcome.is_stored() {
        events.flush(tx).await?;
    }
    Ok((outcome, events.submitter))
}

async fn store_new(
    tx: &mut Tx,
    events: &mut Events,
    caches: &Caches,
    project: &Project,
    mail: &ParsedMail,
    raw_id: i64,
) -> Result<Outcome> {
    match mail.kind {
        Kind::Patch | Kind::PullRequest => {
            create_patch(tx, events, caches, project, mail, raw_id).await
        }
        Kind::Cover => {
            let name = mail.name.as_deref().unwrap_or("");
            // Upstream looks for the name in every project; a cover of
            // another project must not turn this one into a comment.
            let named_cover_exists = !mail.references.is_empty()
                && sqlx::query(
                    "SELECT 1 AS one FROM cover WHERE project_id = $1 AND name = $2 LIMIT 1",
                )
                .bind(project.id)
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?
                .is_some();
            if named_cover_exists {
                create_comment(tx, events, project, caches, mail, raw_id).await
            } else {
                create_cover(tx, events, caches, project, mail, raw_id).await
            }
        }
        Kind::Comment => create_comment(tx, events, project, caches, mail, raw_id).await,
        Kind::Empty | Kind::Ignored | Kind::Invalid => Ok(Outcome::Dropped(
            mail.reason
                .clone()
                .unwrap_or_else(|| "unusable mail".into()),
        )),
    }
}

fn invalid_from() -> Outcome {
    Outcome::Rejected("Invalid 'From' header".into())
}

/// Whether a mail whose id is already taken is another mail: ids are kept
/// to 255 characters (as upstream), so two ids that differ only later
/// collide. Upstream then drops the second as a duplicate without a word;
/// a shorter id cannot have been cut, so only those pay for the look.
async fn truncated_collision(
    tx: &mut Tx,
    project_id: i64,
    msgid: &str,
    raw: &[u8],
) -> Result<bool> {
    if msgid.chars().count() < 255 {
        return Ok(false);
    }
    let row =
        sqlx::query("SELECT data, compression FROM raw_mail WHERE project_id = $1 AND msgid = $2")
            .bind(project_id)
            .bind(msgid)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(row) = row else { return Ok(false) };
    let stored = raw_mail::unpack(row.try_get("data")?, row.try_get("compression")?)?;
    Ok(full_message_id_of(&stored) != full_message_id_of(raw))
}

/// Stores a mail's bytes, unless this project already holds a mail with
/// its message-id (every stored patch, cover and comment has its bytes
/// here): then `None`, and the mail is a duplicate.
async fn save_raw(tx: &mut Tx, project_id: i64, msgid: &str, raw: &[u8]) -> Result<Option<i64>> {
    let (data, compression) = raw_mail::pack(raw);
    let row = sqlx::query(
        "INSERT INTO raw_mail (project_id, msgid, received, data, compression) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, msgid) DO NOTHING RETURNING id",
    )
    .bind(project_id)
    .bind(msgid)
    .bind(time::now())
    .bind(data)
    .bind(compression)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

async fn create_patch(
    tx: &mut Tx,
    events: &mut Events,
    caches: &Caches,
    project: &Project,
    mail: &ParsedMail,
    raw_id: i64,
) -> Result<Outcome> {
    let Some(author) = &mail.submitter else {
        return Ok(invalid_from());
    };
    let msgid = mail.msgid.as_deref().unwrap_or_default();
    let submitter = person::get_or_create(tx, caches, author).await?;
    events.submitter = Some(submitter);
    let mut delegate = match &mail.patchwork.delegate {
        Some(email) => delegation::user_by_email(tx, email).await?,
        None => None,
    };
    if delegate.is_none()
        && let Some(diff) = mail.diff.as_deref().filter(|d| !d.is_empty())
    {
        delegate = delegation::by_rules(caches, tx, project.id, diff).await?;
    }
    let state = initial_state(caches, tx, mail.patchwork.state.as_deref()).await?;
    let date = mail.date.map_or_else(time::now, time::from_seconds);
    let name = patchtrack_mail::text::truncate_chars(mail.name.as_deref().unwrap_or(""), 255);
    let member = Member::of(project.id, mail, submitter, date);
    // The series comes first so that the patch is stored with it; the
    // patch-created event still goes before the series' events.
    let first_event = events.len();
    let marker = mail.number.zip(mail.total);
    let replaced = match marker {
        Some((x, n)) if x != 0 && n != 0 => {
            lineage::replaced_patch(tx, project.id, mail, i64::from(x)).await?
        }
        _ => None,
    };
    let placement = match replaced {
        Some((old, series)) => {
            grouping::place_replacement(tx, series, i64::from(marker.map_or(1, |m| m.0)), old)
                .await?
        }
        None => grouping::place_patch(tx, events, &member, marker).await?,
    };
    if let Some(old) = placement.replaces {
        lineage::vacate(tx, old).await?;
    }
    let row = sqlx::query(
        "INSERT INTO patch (project_id, msgid, name, date, submitter_id, headers, content, diff, \
         pull_url, delegate_id, state_id, hash, raw_mail_id, series_id, number) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(project.id)
    .bind(msgid)
    .bind(name)
    .bind(date)
    .bind(submitter)
    .bind(header_text(mail))
    .bind(&mail.content)
    .bind(mail.diff.as_deref())
    .bind(mail.pull_url.as_deref())
    .bind(delegate)
    .bind(state)
    .bind(mail.hash.as_deref())
    .bind(raw_id)
    .bind(placement.series)
    .bind(placement.series.map(|_| placement.number))
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    if project.use_tags {
        tag::add(caches, tx, id, &mail.content).await?;
    }
    let patch_refs = EventRefs {
        patch: Some(id),
        ..EventRefs::default()
    };
    events.insert(first_event, "patch-created", project.id, patch_refs);
    grouping::patch_placed(tx, events, &member, &placement, id, name).await?;
    if let Some(old) = placement.replaces {
        lineage::replace(tx, old, id).await?;
    }
    if let Some(series) = placement.series {
        grouping::add_dependencies(tx, project.id, series, &mail.depends_on).await?;
        let joined = lineage::Joined {
            series_id: series,
            mail,
            patch: Some((placement.number, name)),
        };
        lineage::joined(tx, events, &joined).await?;
    }
    Ok(Outcome::Patch { id })
}

/// The state for a new patch: `X-Patchwork-State` if it names one, else the
/// state with ordering 0.
async fn initial_state(caches: &Caches, tx: &mut Tx, requested: Option<&str>) -> Result<i64> {
    if let Some(name) = requested {
        let row = sqlx::query("SELECT id FROM state WHERE LOWER(name) = LOWER($1)")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(r) = row {
            return Ok(r.try_get("id")?);
        }
    }
    if let Some(id) = caches.initial_state.get(&()) {
        return Ok(*id);
    }
    let row = sqlx::query("SELECT id FROM state WHERE ordering = 0")
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        Some(r) => Ok(*caches.initial_state.put((), r.try_get("id")?)),
        None => Err(StoreError::Invalid(
            "no initial state (a state with ordering 0) is defined".into(),
        )),
    }
}

async fn create_cover(
    tx: &mut Tx,
    events: &mut Events,
    caches: &Caches,
    project: &Project,
    mail: &ParsedMail,
    raw_id: i64,
) -> Result<Outcome> {
    let Some(author) = &mail.submitter else {
        return Ok(invalid_from());
    };
    let msgid = mail.msgid.as_deref().unwrap_or_default();
    let submitter = person::get_or_create(tx, caches, author).await?;
    events.submitter = Some(submitter);
    let date = mail.date.map_or_else(time::now, time::from_seconds);
    let member = Member::of(project.id, mail, submitter, date);
    let total = i64::from(mail.total.unwrap_or(0));
    let series = grouping::series_for_cover(tx, events, &member, total).await?;
    let name = patchtrack_mail::text::truncate_chars(mail.name.as_deref().unwrap_or(""), 255);
    let row = sqlx::query(
        "INSERT INTO cover (project_id, msgid, name, date, submitter_id, headers, content, \
         raw_mail_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(project.id)
    .bind(msgid)
    .bind(name)
    .bind(date)
    .bind(submitter)
    .bind(header_text(mail))
    .bind(&mail.content)
    .bind(raw_id)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let refs = EventRefs {
        cover: Some(id),
        ..EventRefs::default()
    };
    events.push("cover-created", project.id, refs);
    grouping::add_cover_letter(tx, series, id, name).await?;
    grouping::add_dependencies(tx, project.id, series, &mail.depends_on).await?;
    let joined = lineage::Joined {
        series_id: series,
        mail,
        patch: None,
    };
    lineage::joined(tx, events, &joined).await?;
    Ok(Outcome::Cover { id })
}

/// The submission a reply answers: a patch (directly or through one of its
/// comments) for any reference, before a cover for any reference.
async fn find_parent(tx: &mut Tx, project_id: i64, refs: &[String]) -> Result<Option<Parent>> {
    const PATCH: [&str; 2] = [
        "SELECT id FROM patch WHERE project_id = $1 AND msgid = $2",
        "SELECT c.patch_id AS id FROM patch_comment c WHERE c.msgid = $2 \
         AND (SELECT p.project_id FROM patch p WHERE p.id = c.patch_id) = $1 \
         ORDER BY c.date DESC, c.id DESC LIMIT 1",
    ];
    const COVER: [&str; 2] = [
        "SELECT id FROM cover WHERE project_id = $1 AND msgid = $2",
        "SELECT c.cover_id AS id FROM cover_comment c WHERE c.msgid = $2 \
         AND (SELECT v.project_id FROM cover v WHERE v.id = c.cover_id) = $1 \
         ORDER BY c.date DESC, c.id DESC LIMIT 1",
    ];
    if let Some(id) = first_match(tx, project_id, refs, PATCH).await? {
        return Ok(Some(Parent::Patch(id)));
    }
    Ok(first_match(tx, project_id, refs, COVER)
        .await?
        .map(Parent::Cover))
}

/// For each reference in order, the submission with that message-id, else
/// the one whose (latest) comment has it. The queries take the project as
/// `$1` and the message-id as `$2`.
async fn first_match(
    tx: &mut Tx,
    project_id: i64,
    refs: &[String],
    queries: [&'static str; 2],
) -> Result<Option<i64>> {
    for r in refs {
        let msgid = patchtrack_mail::text::truncate_chars(r, 255);
        for sql in queries {
            let row = sqlx::query(sql)
                .bind(project_id)
                .bind(msgid)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(row) = row {
                return Ok(Some(row.try_get("id")?));
            }
        }
    }
    Ok(None)
}

enum Parent {
    Patch(i64),
    Cover(i64),
}

async fn create_comment(
    tx: &mut Tx,
    events: &mut Events,
    project: &Project,
    caches: &Caches,
    mail: &ParsedMail,
    raw_id: i64,
) -> Result<Outcome> {
    let Some(parent) = find_parent(tx, project.id, &mail.references).await? else {
        return Ok(Outcome::Dropped(mail.orphan_reason().into()));
    };
    let Some(author) = &mail.submitter else {
        return Ok(invalid_from());
    };
    let msgid = mail.msgid.as_deref().unwrap_or_default();
    // A comment already stored under this message-id was caught by
    // `already_stored`.
    let parent_id = match parent {
        Parent::Patch(p) => p,
        Parent::Cover(c) => c,
    };
    let submitter = person::get_or_create(tx, caches, author).await?;
    events.submitter = Some(submitter);
    let date = mail.date.map_or_else(time::now, time::from_seconds);
    // Upstream serves a comment's subject from its stored headers.
    let subject = patchtrack_mail::header_encode::stored_subject(&mail.headers);
    let (sql, addressed) = match parent {
        Parent::Patch(_) => (
            "INSERT INTO patch_comment (patch_id, msgid, date, submitter_id, subject, headers, \
             content, addressed, raw_mail_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
            mail.patchwork.action_required.then_some(0i64),
        ),
        Parent::Cover(_) => (
            "INSERT INTO cover_comment (cover_id, msgid, date, submitter_id, subject, headers, \
             content, addressed, raw_mail_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
            None,
        ),
    };
    let row = sqlx::query(sql)
        .bind(parent_id)
        .bind(msgid)
        .bind(date)
        .bind(submitter)
        .bind(&subject)
        .bind(header_text(mail))
        .bind(&mail.content)
        .bind(addressed)
        .bind(raw_id)
        .fetch_one(&mut **tx)
        .await?;
    let id: i64 = row.try_get("id")?;
    match parent {
        Parent::Patch(patch_id) => {
            if project.use_tags {
                tag::add(caches, tx, patch_id, &mail.content).await?;
            }
            let refs = EventRefs {
                patch: Some(patch_id),
                patch_comment: Some(id),
                ..EventRefs::default()
            };
            events.push("patch-comment-created", project.id, refs);
            if let Some(contexts) = patchtrack_mail::trailers::recheck_request(&mail.content) {
                // A request for the bots (API 1.5's `recheck-requested`),
                // by the commenter's account when they have one.
                let row = sqlx::query(
                    "SELECT p.series_id, pe.user_id FROM patch p, person pe \
                     WHERE p.id = $1 AND pe.id = $2",
                )
                .bind(patch_id)
                .bind(submitter)
                .fetch_one(&mut **tx)
                .await?;
                let refs = EventRefs {
                    series: row.try_get("series_id")?,
                    actor: row.try_get("user_id")?,
                    ..refs
                };
                let detail = serde_json::Value::from(contexts).to_string();
                events.push_detailed("recheck-requested", project.id, refs, detail);
            }
            Ok(Outcome::PatchComment { id, patch_id })
        }
        Parent::Cover(cover_id) => {
            let refs = EventRefs {
                cover: Some(cover_id),
                cover_comment: Some(id),
                ..EventRefs::default()
            };
            events.push("cover-comment-created", project.id, refs);
            Ok(Outcome::CoverComment { id, cover_id })
        }
    }
}
