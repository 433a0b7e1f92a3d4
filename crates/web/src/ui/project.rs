//! The project list, a project's page, and its maintainer settings.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use patchtrack_store::{Project, ProjectUpdate};

use super::{Base, FormPost, PageError, Req};

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    base: Base,
    projects: Vec<Project>,
}

/// `GET /`: every project; straight to the patch list when there is only
/// one, as Patchwork does.
pub async fn index(req: Req) -> Result<Response, PageError> {
    let projects = req.app.store.projects().await?;
    if let [only] = projects.as_slice() {
        let location = format!("/project/{}/list/", only.linkname);
        return Ok(req.redirect(&location, &[]));
    }
    let page = IndexPage {
        base: req.base("Projects", None),
        projects,
    };
    Ok(req.render(&page))
}

/// The project named in the URL, or the 404 page.
pub(crate) async fn project_or_404(req: &Req, linkname: &str) -> Result<Project, PageError> {
    req.app
        .store
        .cached_project(linkname)
        .await?
        .ok_or(PageError::NotFound)
}

#[derive(Template)]
#[template(path = "project.html")]
struct AboutPage {
    base: Base,
    project: Project,
    /// (name, address)
    maintainers: Vec<(String, String)>,
    active: i64,
    archived: i64,
    api_url: String,
    maintainer: bool,
}

/// `GET /project/LINK/`.
pub async fn about(Path(linkname): Path<String>, req: Req) -> Result<Response, PageError> {
    let project = project_or_404(&req, &linkname).await?;
    let store = &req.app.store;
    let maintainers = store.maintainers(&[project.id]).await?;
    let counts = store.patch_counts(project.id).await?;
    let maintainers = maintainers
        .get(&project.id)
        .map(|users| {
            users
                .iter()
                .map(|u| {
                    let full = format!("{} {}", u.first_name, u.last_name);
                    let name = if full.trim().is_empty() {
                        u.username.clone()
                    } else {
                        full.trim().to_string()
                    };
                    (name, u.email.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let page = AboutPage {
        base: req.base(project.name.clone(), Some(&project)),
        maintainer: req
            .principal
            .as_ref()
            .is_some_and(|p| p.maintains(project.id)),
        api_url: format!("{}/api/", crate::api::base_url(&req.app, req.headers())),
        maintainers,
        active: counts.0,
        archived: counts.1,
        project,
    };
    Ok(req.render(&page))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    base: Base,
    project: Project,
}

/// The project, when the requester maintains it.
pub(super) async fn maintained(
    req: &Req,
    linkname: &str,
    back_to: &str,
) -> Result<Project, PageError> {
    let project = project_or_404(req, linkname).await?;
    match &req.principal {
        None => Err(PageError::login_first(back_to)),
        Some(p) if !p.maintains(project.id) => Err(PageError::forbidden(
            "Only the project's maintainers can change its settings.",
        )),
        Some(_) => Ok(project),
    }
}

/// `GET /project/LINK/settings/`: the fields Patchwork lets maintainers
/// change through its API (the rest is the site administrator's).
pub async fn settings(Path(linkname): Path<String>, req: Req) -> Result<Response, PageError> {
    let back = format!("/project/{linkname}/settings/");
    let project = maintained(&req, &linkname, &back).await?;
    let page = SettingsPage {
        base: req.base("Settings", Some(&project)),
        project,
    };
    Ok(req.render(&page))
}

/// `POST /project/LINK/settings/`.
pub async fn save_settings(
    Path(linkname): Path<String>,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let back = format!("/project/{linkname}/settings/");
    let project = maintained(&req, &linkname, &back).await?;
    let field = |name: &str| Some(form.get(name).unwrap_or("").trim().to_string());
    // These become links on every page of the project: web addresses only.
    for name in [
        "web_url",
        "webscm_url",
        "list_archive_url",
        "list_archive_url_format",
        "commit_url_format",
    ] {
        let value = form.get(name).unwrap_or("").trim();
        if !value.is_empty() && !is_web_url(value) {
            return Ok(req.redirect(
                &back,
                &[format!("{name}: give an http, https or ftp address")],
            ));
        }
    }
    let update = ProjectUpdate {
        web_url: field("web_url"),
        scm_url: field("scm_url"),
        webscm_url: field("webscm_url"),
        list_archive_url: field("list_archive_url"),
        list_archive_url_format: field("list_archive_url_format"),
        commit_url_format: field("commit_url_format"),
        show_dependencies: Some(form.get("show_dependencies") == Some("true")),
        auto_supersede: Some(form.get("auto_supersede") == Some("true")),
    };
    req.app
        .store
        .update_project_fields(project.id, &update)
        .await?;
    Ok(req.redirect(&back, &["Project settings saved.".to_string()]))
}

/// Whether `url` is a web address (what Django's URLField accepts).
fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "ftp://", "ftps://"]
        .iter()
        .any(|s| lower.starts_with(s) && lower.len() > s.len())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::is_web_url;

    #[test]
    fn only_web_addresses() {
        assert!(is_web_url("https://lore.kernel.org/git/{}/"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("JavaScript://%0aalert(1)"));
        assert!(!is_web_url("https://"));
        assert!(!is_web_url("https://x/\u{0}"));
    }
}
