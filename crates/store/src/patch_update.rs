//! Changing a patch through the API or the pages: state, delegate,
//! archived, commit and pull URLs, and relations, each with the event
//! Patchwork emits. Permission rules that depend on data live here too.

use std::collections::{BTreeSet, HashMap, HashSet};

use sqlx::Row;

use crate::db::Store;
use crate::error::{Refused, Result};
use crate::notification;
use crate::sql::Sql;
use crate::time;
use crate::user::Principal;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Changes to a patch (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct PatchUpdate {
    /// New state id.
    pub state: Option<i64>,
    /// New delegate (Some(None): nobody).
    pub delegate: Option<Option<i64>>,
    /// Archived flag.
    pub archived: Option<bool>,
    /// Commit reference (Some(None): clear).
    pub commit_ref: Option<Option<String>>,
    /// Pull URL (Some(None): clear).
    pub pull_url: Option<Option<String>>,
    /// The patches it is related to (`[]`: leave its relation).
    pub related: Option<Vec<i64>>,
}

impl Store {
    /// Whether `who` may change the patch: its submitter's account, its
    /// delegate, or a maintainer of its project.
    pub async fn can_edit_patch(&self, who: &Principal, patch_id: i64) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        Ok(may_edit(&mut conn, who, patch_id).await? == Some(true))
    }

    /// The state whose slug matches `input` once lower-cased and slugified
    /// (so `Under Review` finds `under-review`), or the refusal listing the
    /// slugs.
    pub async fn state_for_input(&self, input: &str) -> Result<std::result::Result<i64, Refused>> {
        let wanted = crate::state::slugify(&input.to_lowercase());
        let states = self.states().await?;
        if let Some(s) = states.iter().find(|s| s.slug == wanted) {
            return Ok(Ok(s.id));
        }
        Ok(Err(Refused::UnknownState {
            value: input.to_string(),
            slugs: states.into_iter().map(|s| s.slug).collect(),
        }))
    }

    /// Applies `update` to a patch on behalf of `who` (already known to be
    /// allowed to edit it), with events.
    pub async fn update_patch(
        &self,
        who: &Principal,
        patch_id: i64,
        update: &PatchUpdate,
    ) -> Result<std::result::Result<(), Refused>> {
        let mut tx = self.begin_event_write().await?;
        let applied = apply(
            &mut tx,
            who,
            patch_id,
            update,
            time::now(),
            self.group_limit,
        )
        .await?;
        if applied.is_ok() {
            tx.commit().await?;
        }
        Ok(applied)
    }

    /// Applies each update to its patch in one transaction, with the
    /// events one [`Store::update_patch`] per patch would make: all of
    /// them, or, when any is refused (also for want of the right to
    /// change that patch), none, with every refusal by its index in
    /// `updates`. What a maintainer does to a whole series or a selection
    /// of patches at once (API 1.5). With `check_only`, nothing is kept
    /// even when all are accepted: the API then reports the store's
    /// refusals beside the items it refused itself.
    pub async fn update_patches(
        &self,
        who: &Principal,
        updates: &[(i64, PatchUpdate)],
        check_only: bool,
    ) -> Result<std::result::Result<(), Vec<(usize, Refused)>>> {
        let mut tx = self.begin_event_write().await?;
        let now = time::now();
        let mut refused = Vec::new();
        for (i, (id, update)) in updates.iter().enumerate() {
            match may_edit(&mut tx, who, *id).await? {
                None => {
                    refused.push((i, Refused::NoSuchPatch));
                    continue;
                }
                Some(false) => {
                    refused.push((i, Refused::NotAllowed));
                    continue;
                }
                Some(true) => {}
            }
            // Refusals come before any write of their patch, so what the
            // accepted ones wrote is undone with the transaction.
            if let Err(r) = apply(&mut tx, who, *id, update, now, self.group_limit).await? {
                refused.push((i, r));
            }
        }
        if !refused.is_empty() || check_only {
            tx.rollback().await?;
            return Ok(if refused.is_empty() {
                Ok(())
            } else {
                Err(refused)
            });
        }
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// [`Store::can_edit_patch`] on a connection or inside a transaction;
/// `None` when there is no such patch.
async fn may_edit(
    conn: &mut sqlx::AnyConnection,
    who: &Principal,
    patch_id: i64,
) -> Result<Option<bool>> {
    let row = sqlx::query(
        "SELECT p.project_id, p.delegate_id, pe.user_id FROM patch p \
         JOIN person pe ON pe.id = p.submitter_id WHERE p.id = $1",
    )
    .bind(patch_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let project: i64 = r.try_get("project_id")?;
    let delegate: Option<i64> = r.try_get("delegate_id")?;
    let submitter_user: Option<i64> = r.try_get("user_id")?;
    Ok(Some(
        who.maintains(project)
            || delegate == Some(who.user.id)
            || submitter_user == Some(who.user.id),
    ))
}

/// One patch's change with its events, inside the caller's transaction;
/// a refusal leaves the patch untouched.
async fn apply(
    tx: &mut Tx,
    who: &Principal,
    patch_id: i64,
    update: &PatchUpdate,
    now: i64,
    limit: usize,
) -> Result<std::result::Result<(), Refused>> {
    let Some(row) = sqlx::query(
        "SELECT p.project_id, p.state_id, p.delegate_id, p.related_id, \
         pr.send_notifications, pe.user_id AS submitter_user_id FROM patch p \
         JOIN project pr ON pr.id = p.project_id \
         JOIN person pe ON pe.id = p.submitter_id WHERE p.id = $1",
    )
    .bind(patch_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(Err(Refused::NoSuchPatch));
    };
    let project: i64 = row.try_get("project_id")?;
    let old_state: i64 = row.try_get("state_id")?;
    let old_delegate: Option<i64> = row.try_get("delegate_id")?;
    let relation: Option<i64> = row.try_get("related_id")?;
    let notifies = row.try_get::<i64, _>("send_notifications")? != 0;
    let submitter_user: Option<i64> = row.try_get("submitter_user_id")?;

    if let Some(Some(d)) = update.delegate {
        let ok = sqlx::query(
            "SELECT u.username, (SELECT COUNT(*) FROM project_maintainer m \
             WHERE m.user_id = u.id AND m.project_id = $1) AS n FROM app_user u WHERE u.id = $2",
        )
        .bind(project)
        .bind(d)
        .fetch_optional(&mut **tx)
        .await?;
        match ok {
            None => {
                return Ok(Err(Refused::NoSuchObject {
                    field: "delegate",
                    id: d,
                }));
            }
            Some(r) if r.try_get::<i64, _>("n")? == 0 => {
                let user: String = r.try_get("username")?;
                let linkname: String = sqlx::query("SELECT linkname FROM project WHERE id = $1")
                    .bind(project)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("linkname")?;
                return Ok(Err(Refused::NotMaintainer {
                    user,
                    project: linkname,
                }));
            }
            Some(_) => {}
        }
    }
    if let Some(related) = &update.related
        && let Err(refused) = change_relation(
            tx,
            who,
            Change {
                patch_id,
                project,
                relation,
                related,
                now,
                limit,
            },
        )
        .await?
    {
        return Ok(Err(refused));
    }
    let mut sql = Sql::new("UPDATE patch SET id = id");
    if let Some(s) = update.state {
        sql.push(", state_id = ").bind(s);
    }
    if let Some(d) = update.delegate {
        sql.push(", delegate_id = ").bind(d);
    }
    if let Some(a) = update.archived {
        sql.push(", archived = ").bind(i64::from(a));
    }
    if let Some(c) = &update.commit_ref {
        sql.push(", commit_ref = ").bind(c.clone());
    }
    if let Some(u) = &update.pull_url {
        sql.push(", pull_url = ").bind(u.clone());
    }
    sql.push(" WHERE id = ").bind(patch_id);
    sql.execute(&mut **tx).await?;
    if let Some(s) = update.state.filter(|s| *s != old_state) {
        sqlx::query(
            "INSERT INTO event (category, project_id, date, actor_id, patch_id, \
             previous_state_id, current_state_id) \
             VALUES ('patch-state-changed', $1, $2, $3, $4, $5, $6)",
        )
        .bind(project)
        .bind(now)
        .bind(who.user.id)
        .bind(patch_id)
        .bind(old_state)
        .bind(s)
        .execute(&mut **tx)
        .await?;
        if notifies {
            let own = submitter_user == Some(who.user.id);
            notification::record_state_change(tx, patch_id, old_state, s, own).await?;
        }
    }
    if let Some(d) = update.delegate.filter(|d| *d != old_delegate) {
        sqlx::query(
            "INSERT INTO event (category, project_id, date, actor_id, patch_id, \
             previous_delegate_id, current_delegate_id) \
             VALUES ('patch-delegated', $1, $2, $3, $4, $5, $6)",
        )
        .bind(project)
        .bind(now)
        .bind(who.user.id)
        .bind(patch_id)
        .bind(old_delegate)
        .bind(d)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Ok(()))
}

/// A relation change asked for on one patch.
struct Change<'a> {
    patch_id: i64,
    project: i64,
    /// The patch's current relation.
    relation: Option<i64>,
    related: &'a [i64],
    now: i64,
    /// [`Store::group_limit`].
    limit: usize,
}

/// Patchwork's relation algorithm: `[]` leaves the relation (dissolving it
/// when one member would remain); a list joins this patch, its current
/// relation and the given patches into one relation, refused when they
/// span two relations. The requester must maintain every project involved.
/// Unlike upstream, a relation may not grow beyond the store's group limit
/// (docs/compatibility.md): each member embeds all the others.
async fn change_relation(
    tx: &mut Tx,
    who: &Principal,
    change: Change<'_>,
) -> Result<std::result::Result<(), Refused>> {
    let Change {
        patch_id,
        project,
        relation,
        related,
        now,
        limit,
    } = change;
    // Current members of this patch's relation.
    let mut members: BTreeSet<i64> = BTreeSet::new();
    if let Some(rel) = relation {
        for r in sqlx::query("SELECT id FROM patch WHERE related_id = $1")
            .bind(rel)
            .fetch_all(&mut **tx)
            .await?
        {
            members.insert(r.try_get("id")?);
        }
    }
    let mut wanted: Vec<i64> = related.to_vec();
    wanted.retain(|p| *p != patch_id);
    // Every given id must exist; collect projects and relations.
    let mut sql = Sql::new("SELECT id, project_id, related_id FROM patch WHERE id IN ");
    sql.bind_list(wanted.iter().chain(members.iter()).copied());
    let rows = sql.fetch_all(&mut **tx).await?;
    let mut found = HashSet::new();
    let mut projects = BTreeSet::from([project]);
    let mut relations = BTreeSet::new();
    for r in &rows {
        found.insert(r.try_get::<i64, _>("id")?);
        projects.insert(r.try_get::<i64, _>("project_id")?);
        if let Some(rel) = r.try_get::<Option<i64>, _>("related_id")? {
            relations.insert(rel);
        }
    }
    if let Some(missing) = wanted.iter().find(|p| !found.contains(p)) {
        return Ok(Err(Refused::NoSuchObject {
            field: "related",
            id: *missing,
        }));
    }
    if projects.iter().any(|p| !who.maintains(*p)) {
        return Ok(Err(Refused::RelatesUnmaintained));
    }
    if wanted.is_empty() {
        let Some(rel) = relation else {
            return Ok(Ok(()));
        };
        sqlx::query("UPDATE patch SET related_id = NULL WHERE id = $1")
            .bind(patch_id)
            .execute(&mut **tx)
            .await?;
        relation_event(tx, now, patch_id, Some(who.user.id)).await?;
        members.remove(&patch_id);
        if members.len() <= 1 {
            for m in &members {
                sqlx::query("UPDATE patch SET related_id = NULL WHERE id = $1")
                    .bind(*m)
                    .execute(&mut **tx)
                    .await?;
                relation_event(tx, now, *m, None).await?;
            }
            sqlx::query("DELETE FROM patch_relation WHERE id = $1")
                .bind(rel)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(Ok(()));
    }
    if relations.len() > 1 || (relation.is_some() && relations.iter().any(|r| Some(*r) != relation))
    {
        return Ok(Err(Refused::RelationConflict));
    }
    // The relation the patches end in, and its size before.
    let joined = relations.first().copied().or(relation);
    let before = match joined {
        None => 0,
        Some(r) if Some(r) == relation => members.len(),
        Some(r) => {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM patch WHERE related_id = $1")
                .bind(r)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
            usize::try_from(n).unwrap_or(usize::MAX)
        }
    };
    let mut relation_of: HashMap<i64, Option<i64>> = HashMap::from([(patch_id, relation)]);
    for r in &rows {
        relation_of.insert(r.try_get("id")?, r.try_get("related_id")?);
    }
    let newcomers = members
        .iter()
        .chain(&wanted)
        .chain([&patch_id])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|id| joined.is_none() || relation_of.get(id).copied().flatten() != joined)
        .count();
    let size = before + newcomers;
    // A relation already over the limit (made before the limit existed) is
    // served up to it and may stay as it is, but not grow.
    if newcomers > 0 && size > limit {
        return Ok(Err(Refused::RelationTooBig { max: limit, size }));
    }
    let target = match joined {
        Some(r) => r,
        None => sqlx::query("INSERT INTO patch_relation DEFAULT VALUES RETURNING id")
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?,
    };
    let mut all: BTreeSet<i64> = members;
    all.extend(wanted.iter().copied());
    all.insert(patch_id);
    for id in all {
        let changed = sqlx::query(
            "UPDATE patch SET related_id = $1 WHERE id = $2 AND \
             (related_id IS NULL OR related_id <> $1)",
        )
        .bind(target)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if changed > 0 {
            relation_event(tx, now, id, (id == patch_id).then_some(who.user.id)).await?;
        }
    }
    Ok(Ok(()))
}

/// One `patch-relation-changed` event (Patchwork's payload carries no
/// relation, only the patch).
async fn relation_event(tx: &mut Tx, now: i64, id: i64, actor: Option<i64>) -> Result<()> {
    sqlx::query(
        "INSERT INTO event (category, project_id, date, actor_id, patch_id) \
         SELECT 'patch-relation-changed', project_id, $1, $2, id FROM patch WHERE id = $3",
    )
    .bind(now)
    .bind(actor)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
