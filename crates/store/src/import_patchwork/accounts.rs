//! States, tags, projects, users with their profiles, maintainers, API
//! tokens, people and delegation rules.

use super::{Conv, Filter, Source, Step};
use crate::error::Result;

pub(crate) async fn steps(s: &Source, f: &Filter) -> Result<Vec<Step>> {
    let project_cols = s.columns("patchwork_project").await?;
    let show_dependencies = if project_cols.iter().any(|c| c == "show_dependencies") {
        s.boolean("t.show_dependencies")
    } else {
        "0".into()
    };
    Ok(vec![
        Step {
            table: "state",
            source_table: "patchwork_state",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("name", "t.name".into(), Conv::Text),
                ("slug", "t.slug".into(), Conv::Text),
                ("ordering", s.int("t.ordering"), Conv::Int),
                ("action_required", s.boolean("t.action_required"), Conv::Int),
            ],
            from: "patchwork_state t".into(),
            filter: String::new(),
            key: Some("t.id"),
            target_key: Some("id"),
            // The site's states replace the defaults of a new database.
            before: Some("DELETE FROM state"),
        },
        Step {
            table: "tag",
            source_table: "patchwork_tag",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("name", "t.name".into(), Conv::Text),
                ("pattern", "t.pattern".into(), Conv::Text),
                ("abbrev", "t.abbrev".into(), Conv::Text),
                ("show_column", s.boolean("t.show_column"), Conv::Int),
            ],
            from: "patchwork_tag t".into(),
            filter: String::new(),
            key: Some("t.id"),
            target_key: Some("id"),
            before: Some("DELETE FROM tag"),
        },
        Step {
            table: "project",
            source_table: "patchwork_project",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("linkname", "t.linkname".into(), Conv::Text),
                ("name", "t.name".into(), Conv::Text),
                ("listid", "t.listid".into(), Conv::Text),
                ("listemail", "t.listemail".into(), Conv::Text),
                ("subject_match", "t.subject_match".into(), Conv::Text),
                ("web_url", "t.web_url".into(), Conv::Text),
                ("scm_url", "t.scm_url".into(), Conv::Text),
                ("webscm_url", "t.webscm_url".into(), Conv::Text),
                ("list_archive_url", "t.list_archive_url".into(), Conv::Text),
                (
                    "list_archive_url_format",
                    "t.list_archive_url_format".into(),
                    Conv::Text,
                ),
                (
                    "commit_url_format",
                    "t.commit_url_format".into(),
                    Conv::Text,
                ),
                (
                    "send_notifications",
                    s.boolean("t.send_notifications"),
                    Conv::Int,
                ),
                ("use_tags", s.boolean("t.use_tags"), Conv::Int),
                ("show_dependencies", show_dependencies, Conv::Int),
            ],
            from: "patchwork_project t".into(),
            filter: f.on("t.id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "app_user",
            source_table: "auth_user",
            // Patchwork's profile (one per user, made by a signal) is
            // part of the account here; a user without one gets the
            // profile's defaults.
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("username", "t.username".into(), Conv::Text),
                ("email", "t.email".into(), Conv::Text),
                ("password_hash", "t.password".into(), Conv::Text),
                ("first_name", "t.first_name".into(), Conv::Text),
                ("last_name", "t.last_name".into(), Conv::Text),
                ("is_superuser", s.boolean("t.is_superuser"), Conv::Int),
                ("is_active", s.boolean("t.is_active"), Conv::Int),
                ("date_joined", s.date("t.date_joined"), Conv::SiteDate),
                ("last_login", s.date("t.last_login"), Conv::SiteDate),
                (
                    "items_per_page",
                    s.int("COALESCE(p.items_per_page, 100)"),
                    Conv::Int,
                ),
                (
                    "show_ids",
                    s.boolean("COALESCE(p.show_ids, false)"),
                    Conv::Int,
                ),
                (
                    "send_email",
                    s.boolean("COALESCE(p.send_email, false)"),
                    Conv::Int,
                ),
            ],
            from: "auth_user t LEFT JOIN patchwork_userprofile p ON p.user_id = t.id".into(),
            filter: String::new(),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "project_maintainer",
            source_table: "patchwork_userprofile_maintainer_projects",
            columns: vec![
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("user_id", s.int("p.user_id"), Conv::Int),
            ],
            from: "patchwork_userprofile_maintainer_projects t \
                   JOIN patchwork_userprofile p ON p.id = t.userprofile_id"
                .into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.project_id"),
            target_key: Some("project_id"),
            before: None,
        },
        Step {
            table: "api_token",
            source_table: "authtoken_token",
            columns: vec![
                ("user_id", s.int("t.user_id"), Conv::Int),
                ("token_hash", "t.key".into(), Conv::Digest),
                ("created", s.date("t.created"), Conv::SiteDate),
            ],
            from: "authtoken_token t".into(),
            filter: String::new(),
            key: Some("t.user_id"),
            target_key: Some("user_id"),
            before: None,
        },
        Step {
            table: "person",
            source_table: "patchwork_person",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("email", "t.email".into(), Conv::Text),
                ("email_lower", "t.email".into(), Conv::Lower),
                ("name", "t.name".into(), Conv::Text),
                ("user_id", s.int("t.user_id"), Conv::Int),
            ],
            from: "patchwork_person t".into(),
            filter: String::new(),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "delegation_rule",
            source_table: "patchwork_delegationrule",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("user_id", s.int("t.user_id"), Conv::Int),
                ("path", "t.path".into(), Conv::Text),
                ("priority", s.int("t.priority"), Conv::Int),
            ],
            from: "patchwork_delegationrule t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
    ])
}
