//! `/admin/projects/`: every project, a new one, and one project's every
//! field, maintainers and delegation rules.

use askama::Template;
use axum::extract::{OriginalUri, Path};
use axum::response::Response;
use patchtrack_store::{DelegationRule, NewProject, Project, UserRef};

use super::super::{Base, FormPost, PageError, Req};
use super::{admin, checked, id_of, record, refusal};

#[derive(Template)]
#[template(path = "admin/projects.html")]
struct ListPage {
    base: Base,
    projects: Vec<Project>,
}

/// `GET /admin/projects/`.
pub async fn list(req: Req) -> Result<Response, PageError> {
    admin(&req, "/admin/projects/")?;
    let projects = req.app.store.projects().await?;
    let page = ListPage {
        base: req.base("Projects · Administration", None),
        projects,
    };
    Ok(req.render(&page))
}

/// `POST /admin/projects/`: a new project.
pub async fn create(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let who = admin(&req, "/admin/projects/")?;
    let field = |name| form.get(name).unwrap_or("").trim().to_string();
    let new = NewProject {
        linkname: field("linkname"),
        name: field("name"),
        listid: field("listid"),
        listemail: field("listemail"),
        ..NewProject::default()
    };
    match req.app.store.add_project(&new).await {
        Ok(p) => {
            let object = format!("project {}", p.linkname);
            let detail = format!("name {:?}, list id {:?}", p.name, p.listid);
            record(&req, &who, "project.add", &object, &detail).await?;
            let to = format!("/admin/projects/{}/", p.linkname);
            Ok(req.redirect(&to, &[format!("Project {} created", p.linkname)]))
        }
        Err(e) => {
            let m = refusal(e)?;
            Ok(req.redirect("/admin/projects/", &[m]))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/project.html")]
struct EditPage {
    base: Base,
    project: Project,
    maintainers: Vec<UserRef>,
    rules: Vec<DelegationRule>,
}

async fn project_or_404(req: &Req, linkname: &str) -> Result<Project, PageError> {
    req.app
        .store
        .project_by_linkname(linkname)
        .await?
        .ok_or(PageError::NotFound)
}

/// `GET /admin/projects/LINK/`.
pub async fn edit(Path(linkname): Path<String>, req: Req) -> Result<Response, PageError> {
    admin(&req, &format!("/admin/projects/{linkname}/"))?;
    let project = project_or_404(&req, &linkname).await?;
    let store = &req.app.store;
    let maintainers = store
        .maintainers(&[project.id])
        .await?
        .remove(&project.id)
        .unwrap_or_default();
    let rules = store.delegation_rules(project.id).await?;
    let page = EditPage {
        base: req.base(
            format!("{} · Administration", project.linkname),
            Some(&project),
        ),
        project,
        maintainers,
        rules,
    };
    Ok(req.render(&page))
}

/// The fields of a project in the edit form.
const FIELDS: [&str; 15] = [
    "name",
    "linkname",
    "listid",
    "listemail",
    "subject_match",
    "web_url",
    "scm_url",
    "webscm_url",
    "list_archive_url",
    "list_archive_url_format",
    "commit_url_format",
    "send_notifications",
    "use_tags",
    "show_dependencies",
    "auto_supersede",
];

fn field_value(p: &Project, name: &str) -> String {
    match name {
        "name" => p.name.clone(),
        "linkname" => p.linkname.clone(),
        "listid" => p.listid.clone(),
        "listemail" => p.listemail.clone(),
        "subject_match" => p.subject_match.clone(),
        "web_url" => p.web_url.clone(),
        "scm_url" => p.scm_url.clone(),
        "webscm_url" => p.webscm_url.clone(),
        "list_archive_url" => p.list_archive_url.clone(),
        "list_archive_url_format" => p.list_archive_url_format.clone(),
        "commit_url_format" => p.commit_url_format.clone(),
        "send_notifications" => p.send_notifications.to_string(),
        "use_tags" => p.use_tags.to_string(),
        "show_dependencies" => p.show_dependencies.to_string(),
        "auto_supersede" => p.auto_supersede.to_string(),
        _ => String::new(),
    }
}

/// `POST /admin/projects/LINK/`: `action` is `save` (every field),
/// `add-maintainer`/`remove-maintainer`, or `add-rule`/`remove-rule`.
pub async fn edit_post(
    Path(linkname): Path<String>,
    OriginalUri(uri): OriginalUri,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let who = admin(&req, uri.path())?;
    let project = project_or_404(&req, &linkname).await?;
    let store = &req.app.store;
    let here = format!("/admin/projects/{}/", project.linkname);
    let object = format!("project {}", project.linkname);
    let text = |name| form.get(name).unwrap_or("").trim().to_string();
    let result = match form.get("action").unwrap_or("") {
        "save" => {
            let new = Project {
                id: project.id,
                linkname: text("linkname"),
                name: text("name"),
                listid: text("listid"),
                listemail: text("listemail"),
                subject_match: form.get("subject_match").unwrap_or("").to_string(),
                web_url: text("web_url"),
                scm_url: text("scm_url"),
                webscm_url: text("webscm_url"),
                list_archive_url: text("list_archive_url"),
                list_archive_url_format: text("list_archive_url_format"),
                commit_url_format: text("commit_url_format"),
                send_notifications: checked(&form, "send_notifications"),
                use_tags: checked(&form, "use_tags"),
                show_dependencies: checked(&form, "show_dependencies"),
                auto_supersede: checked(&form, "auto_supersede"),
            };
            match store.update_project(&new).await {
                Ok(()) => {
                    let changed: Vec<String> = FIELDS
                        .iter()
                        .filter(|f| field_value(&project, f) != field_value(&new, f))
                        .map(|f| {
                            format!(
                                "{f}: {:?} -> {:?}",
                                field_value(&project, f),
                                field_value(&new, f)
                            )
                        })
                        .collect();
                    record(&req, &who, "project.edit", &object, &changed.join("; ")).await?;
                    let to = format!("/admin/projects/{}/", new.linkname);
                    return Ok(req.redirect(&to, &["Project saved".to_string()]));
                }
                Err(e) => Err(e),
            }
        }
        "add-maintainer" => {
            let username = text("username");
            store.add_maintainer(project.id, &username).await.map(|_| {
                (
                    "project.maintainer.add",
                    username.clone(),
                    "Maintainer added",
                )
            })
        }
        "remove-maintainer" => match id_of(&form, "user_id") {
            Some(user_id) => store.remove_maintainer(project.id, user_id).await.map(|_| {
                (
                    "project.maintainer.remove",
                    format!("user {user_id}"),
                    "Maintainer removed",
                )
            }),
            None => Ok(("", String::new(), "No user chosen")),
        },
        "add-rule" => {
            let path = text("path");
            let username = text("username");
            let priority = text("priority").parse::<i64>().unwrap_or(0);
            if path.is_empty() {
                Ok(("", String::new(), "A rule needs a path"))
            } else {
                store
                    .add_delegation_rule(project.id, &username, &path, priority)
                    .await
                    .map(|()| {
                        (
                            "project.rule.add",
                            format!("{path:?} -> {username} (priority {priority})"),
                            "Delegation rule added",
                        )
                    })
            }
        }
        "remove-rule" => match id_of(&form, "rule_id") {
            Some(rule) => store
                .remove_delegation_rule(project.id, rule)
                .await
                .map(|_| {
                    (
                        "project.rule.remove",
                        format!("rule {rule}"),
                        "Delegation rule removed",
                    )
                }),
            None => Ok(("", String::new(), "No rule chosen")),
        },
        _ => Ok(("", String::new(), "Unknown action")),
    };
    match result {
        Ok((action, detail, message)) => {
            if !action.is_empty() {
                record(&req, &who, action, &object, &detail).await?;
            }
            Ok(req.redirect(&here, &[message.to_string()]))
        }
        Err(e) => {
            let m = refusal(e)?;
            Ok(req.redirect(&here, &[m]))
        }
    }
}
