//! What happened on the site: checks, bundles, events, confirmations,
//! opt-outs and the state-change notifications not yet mailed.

use super::{Conv, Filter, Source, Step};
use crate::error::Result;

pub(crate) async fn steps(s: &Source, f: &Filter) -> Result<Vec<Step>> {
    let event_cols = s.columns("patchwork_event").await?;
    // Optional columns by the migration that added them: the actor (0037)
    // and the relations (0040).
    let opt = |c: &str| {
        if event_cols.iter().any(|e| e == c) {
            s.int(&format!("t.{c}"))
        } else {
            "NULL".into()
        }
    };
    let patches_of = "(SELECT id FROM patchwork_patch WHERE project_id IN {P})";
    Ok(vec![
        Step {
            table: "check_result",
            source_table: "patchwork_check",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("patch_id", s.int("t.patch_id"), Conv::Int),
                ("user_id", s.int("t.user_id"), Conv::Int),
                ("date", s.date("t.date"), Conv::SiteDate),
                ("state", s.int("t.state"), Conv::Int),
                ("target_url", "t.target_url".into(), Conv::Text),
                ("description", "t.description".into(), Conv::Text),
                ("context", "t.context".into(), Conv::Text),
            ],
            from: "patchwork_check t".into(),
            filter: f.on(&format!("t.patch_id IN {patches_of}")),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "bundle",
            source_table: "patchwork_bundle",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("owner_id", s.int("t.owner_id"), Conv::Int),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("name", "t.name".into(), Conv::Text),
                ("public", s.boolean("t.public"), Conv::Int),
            ],
            from: "patchwork_bundle t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "bundle_patch",
            source_table: "patchwork_bundlepatch",
            columns: vec![
                ("bundle_id", s.int("t.bundle_id"), Conv::Int),
                ("patch_id", s.int("t.patch_id"), Conv::Int),
                ("ordering", s.int("t.\"order\""), Conv::Int),
            ],
            from: "patchwork_bundlepatch t".into(),
            filter: f.on(&format!(
                "t.patch_id IN {patches_of} AND t.bundle_id IN \
                 (SELECT id FROM patchwork_bundle WHERE project_id IN {{P}})"
            )),
            key: Some("t.bundle_id"),
            target_key: Some("bundle_id"),
            before: None,
        },
        Step {
            table: "event",
            source_table: "patchwork_event",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("category", "t.category".into(), Conv::Text),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("date", s.date("t.date"), Conv::SiteDate),
                ("actor_id", opt("actor_id"), Conv::Int),
                ("patch_id", s.int("t.patch_id"), Conv::Int),
                ("series_id", s.int("t.series_id"), Conv::Int),
                ("cover_id", s.int("t.cover_id"), Conv::Int),
                ("previous_state_id", s.int("t.previous_state_id"), Conv::Int),
                ("current_state_id", s.int("t.current_state_id"), Conv::Int),
                (
                    "previous_delegate_id",
                    s.int("t.previous_delegate_id"),
                    Conv::Int,
                ),
                (
                    "current_delegate_id",
                    s.int("t.current_delegate_id"),
                    Conv::Int,
                ),
                ("created_check_id", s.int("t.created_check_id"), Conv::Int),
                ("patch_comment_id", opt("patch_comment_id"), Conv::Int),
                ("cover_comment_id", opt("cover_comment_id"), Conv::Int),
                (
                    "previous_relation_id",
                    opt("previous_relation_id"),
                    Conv::Int,
                ),
                ("current_relation_id", opt("current_relation_id"), Conv::Int),
            ],
            from: "patchwork_event t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "email_confirmation",
            source_table: "patchwork_emailconfirmation",
            // The keys in mailed links keep working: stored as their
            // SHA-256, as patchtrack stores its own.
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("kind", "t.type".into(), Conv::Text),
                ("email", "t.email".into(), Conv::Text),
                ("user_id", s.int("t.user_id"), Conv::Int),
                ("key_hash", "t.key".into(), Conv::Digest),
                ("created", s.date("t.date"), Conv::SiteDate),
                ("active", s.boolean("t.active"), Conv::Int),
            ],
            from: "patchwork_emailconfirmation t".into(),
            filter: String::new(),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "email_optout",
            source_table: "patchwork_emailoptout",
            columns: vec![("email", "t.email".into(), Conv::Lower)],
            from: "patchwork_emailoptout t".into(),
            filter: String::new(),
            key: None,
            target_key: None,
            before: None,
        },
        Step {
            table: "patch_change_notification",
            source_table: "patchwork_patchchangenotification",
            columns: vec![
                ("patch_id", s.int("t.patch_id"), Conv::Int),
                ("orig_state_id", s.int("t.orig_state_id"), Conv::Int),
                ("last_modified", s.date("t.last_modified"), Conv::SiteDate),
            ],
            from: "patchwork_patchchangenotification t".into(),
            filter: f.on(&format!("t.patch_id IN {patches_of}")),
            key: Some("t.patch_id"),
            target_key: Some("patch_id"),
            before: None,
        },
    ])
}
