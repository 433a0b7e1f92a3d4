//! Covers, series and their references and dependencies, relations,
//! patches with their tag counts, and the comments on both.

use super::{Conv, Filter, Source, Step};
use crate::error::Result;

pub(crate) async fn steps(s: &Source, f: &Filter) -> Result<Vec<Step>> {
    // `addressed` came with Patchwork 3.1 (migration 0045).
    let addressed = |table: &str, cols: &[String]| {
        if cols.iter().any(|c| c == "addressed") {
            s.boolean(&format!("{table}.addressed"))
        } else {
            "NULL".into()
        }
    };
    let patch_comment_cols = s.columns("patchwork_patchcomment").await?;
    let cover_comment_cols = s.columns("patchwork_covercomment").await?;
    let has_dependencies = !s.columns("patchwork_series_dependencies").await?.is_empty();
    let patches_of = "(SELECT id FROM patchwork_patch WHERE project_id IN {P})";
    let series_of = "(SELECT id FROM patchwork_series WHERE project_id IN {P})";
    let mut out = vec![
        Step {
            table: "patch_relation",
            source_table: "patchwork_patchrelation",
            columns: vec![("id", s.int("t.id"), Conv::Int)],
            from: "patchwork_patchrelation t".into(),
            filter: String::new(),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "cover",
            source_table: "patchwork_cover",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("msgid", "t.msgid".into(), Conv::Text),
                ("name", "t.name".into(), Conv::Text),
                ("date", s.date("t.date"), Conv::MailDate),
                ("submitter_id", s.int("t.submitter_id"), Conv::Int),
                ("headers", "t.headers".into(), Conv::Text),
                ("content", "t.content".into(), Conv::Text),
            ],
            from: "patchwork_cover t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "series",
            source_table: "patchwork_series",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("cover_letter_id", s.int("t.cover_letter_id"), Conv::Int),
                ("name", "t.name".into(), Conv::Text),
                ("date", s.date("t.date"), Conv::MailDate),
                ("submitter_id", s.int("t.submitter_id"), Conv::Int),
                ("version", s.int("t.version"), Conv::Int),
                ("total", s.int("t.total"), Conv::Int),
            ],
            from: "patchwork_series t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "series_reference",
            source_table: "patchwork_seriesreference",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("series_id", s.int("t.series_id"), Conv::Int),
                ("msgid", "t.msgid".into(), Conv::Text),
            ],
            from: "patchwork_seriesreference t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
    ];
    if has_dependencies {
        out.push(Step {
            table: "series_dependency",
            source_table: "patchwork_series_dependencies",
            // from_series depends on to_series (`Depends-on:` in from's mail).
            columns: vec![
                ("series_id", s.int("t.from_series_id"), Conv::Int),
                ("depends_on_id", s.int("t.to_series_id"), Conv::Int),
            ],
            from: "patchwork_series_dependencies t".into(),
            filter: f.on(&format!(
                "t.from_series_id IN {series_of} AND t.to_series_id IN {series_of}"
            )),
            key: Some("t.from_series_id"),
            target_key: Some("series_id"),
            before: None,
        });
    }
    out.extend([
        Step {
            table: "patch",
            source_table: "patchwork_patch",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("project_id", s.int("t.project_id"), Conv::Int),
                ("msgid", "t.msgid".into(), Conv::Text),
                ("name", "t.name".into(), Conv::Text),
                ("date", s.date("t.date"), Conv::MailDate),
                ("submitter_id", s.int("t.submitter_id"), Conv::Int),
                ("delegate_id", s.int("t.delegate_id"), Conv::Int),
                ("state_id", s.int("t.state_id"), Conv::Int),
                ("archived", s.boolean("t.archived"), Conv::Int),
                ("hash", "t.hash".into(), Conv::Text),
                ("series_id", s.int("t.series_id"), Conv::Int),
                ("number", s.int("t.number"), Conv::Int),
                ("related_id", s.int("t.related_id"), Conv::Int),
                ("commit_ref", "t.commit_ref".into(), Conv::Text),
                ("pull_url", "t.pull_url".into(), Conv::Text),
                ("headers", "t.headers".into(), Conv::Text),
                ("content", "t.content".into(), Conv::Text),
                ("diff", "t.diff".into(), Conv::Text),
            ],
            from: "patchwork_patch t".into(),
            filter: f.on("t.project_id IN {P}"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "patch_tag",
            source_table: "patchwork_patchtag",
            columns: vec![
                ("patch_id", s.int("t.patch_id"), Conv::Int),
                ("tag_id", s.int("t.tag_id"), Conv::Int),
                ("count", s.int("t.count"), Conv::Int),
            ],
            from: "patchwork_patchtag t".into(),
            filter: f.on(&format!("t.patch_id IN {patches_of}")),
            key: Some("t.patch_id"),
            target_key: Some("patch_id"),
            before: None,
        },
        Step {
            table: "patch_comment",
            source_table: "patchwork_patchcomment",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("patch_id", s.int("t.patch_id"), Conv::Int),
                ("msgid", "t.msgid".into(), Conv::Text),
                ("date", s.date("t.date"), Conv::MailDate),
                ("submitter_id", s.int("t.submitter_id"), Conv::Int),
                ("subject", "t.headers".into(), Conv::Subject),
                ("headers", "t.headers".into(), Conv::Text),
                ("content", "t.content".into(), Conv::Text),
                ("addressed", addressed("t", &patch_comment_cols), Conv::Int),
            ],
            from: "patchwork_patchcomment t".into(),
            filter: f.on(&format!("t.patch_id IN {patches_of}")),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
        Step {
            table: "cover_comment",
            source_table: "patchwork_covercomment",
            columns: vec![
                ("id", s.int("t.id"), Conv::Int),
                ("cover_id", s.int("t.cover_id"), Conv::Int),
                ("msgid", "t.msgid".into(), Conv::Text),
                ("date", s.date("t.date"), Conv::MailDate),
                ("submitter_id", s.int("t.submitter_id"), Conv::Int),
                ("subject", "t.headers".into(), Conv::Subject),
                ("headers", "t.headers".into(), Conv::Text),
                ("content", "t.content".into(), Conv::Text),
                ("addressed", addressed("t", &cover_comment_cols), Conv::Int),
            ],
            from: "patchwork_covercomment t".into(),
            filter: f.on("t.cover_id IN (SELECT id FROM patchwork_cover WHERE project_id IN {P})"),
            key: Some("t.id"),
            target_key: Some("id"),
            before: None,
        },
    ]);
    Ok(out)
}
