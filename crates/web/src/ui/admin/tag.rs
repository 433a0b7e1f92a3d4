//! `/admin/tags/`: the trailers counted on patches (Acked-by, ...), their
//! patterns and whether the list has a column for them.

use askama::Template;
use axum::response::Response;
use patchtrack_store::Tag;

use super::super::{Base, FormPost, PageError, Req};
use super::{admin, checked, id_of, record, refusal};

const HERE: &str = "/admin/tags/";

#[derive(Template)]
#[template(path = "admin/tags.html")]
struct ListPage {
    base: Base,
    tags: Vec<Tag>,
}

/// `GET /admin/tags/`.
pub async fn list(req: Req) -> Result<Response, PageError> {
    admin(&req, HERE)?;
    let tags = req.app.store.tags().await?;
    let page = ListPage {
        base: req.base("Tags · Administration", None),
        tags,
    };
    Ok(req.render(&page))
}

/// `POST /admin/tags/`: `action` is `add`, or `save` for the tag `id`;
/// both with `name`, `pattern`, `abbrev` and `show_column`.
pub async fn change(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let who = admin(&req, HERE)?;
    let store = &req.app.store;
    let text = |name| form.get(name).unwrap_or("").trim().to_string();
    let tag = Tag {
        id: id_of(&form, "id").unwrap_or(0),
        name: text("name"),
        pattern: text("pattern"),
        abbrev: text("abbrev"),
        show_column: checked(&form, "show_column"),
    };
    let detail = format!(
        "{:?} pattern {:?} abbrev {:?} column {}",
        tag.name, tag.pattern, tag.abbrev, tag.show_column
    );
    let done = match form.get("action").unwrap_or("") {
        "add" => store
            .add_tag(&tag.name, &tag.pattern, &tag.abbrev, tag.show_column)
            .await
            .map(|t| ("tag.add", t.id, "Tag added")),
        "save" => store
            .update_tag(&tag)
            .await
            .map(|()| ("tag.edit", tag.id, "Tag saved")),
        _ => return Ok(req.redirect(HERE, &["Unknown action".to_string()])),
    };
    match done {
        Ok((action, id, message)) => {
            record(&req, &who, action, &format!("tag {id}"), &detail).await?;
            Ok(req.redirect(
                HERE,
                &[
                    message.to_string(),
                    "Counts change for new mail; `patchtrack retag` recounts the rest.".to_string(),
                ],
            ))
        }
        Err(e) => {
            let m = refusal(e)?;
            Ok(req.redirect(HERE, &[m]))
        }
    }
}
