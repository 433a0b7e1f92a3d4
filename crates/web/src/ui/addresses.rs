//! A user's addresses: linking another one (`/user/link/`, confirmed by a
//! mail to it, followed while logged in) and unlinking one
//! (`POST /user/unlink/<person_id>/`). Unlike Patchwork, which unlinks any
//! person for any logged-in user, only one's own addresses can go.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use patchtrack_store::{ConfirmationKind, UnlinkRefused};

use super::mails::{Site, is_address};
use super::{Base, FormPost, PageError, Req};

#[derive(Template)]
#[template(path = "link_address.html")]
struct LinkPage {
    base: Base,
    error: Option<String>,
    sent_to: Option<String>,
}

/// `GET /user/link/`.
pub async fn link(req: Req) -> Result<Response, PageError> {
    if req.principal.is_none() {
        return Err(PageError::login_first("/user/link/"));
    }
    let page = LinkPage {
        base: req.base("Add an address", None),
        error: None,
        sent_to: None,
    };
    Ok(req.render(&page))
}

/// `POST /user/link/`: a confirmation mail to the new address.
pub async fn link_post(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/link/"));
    };
    let email = form.get("email").unwrap_or("").trim().to_string();
    if !is_address(&email, 200) {
        let page = LinkPage {
            base: req.base("Add an address", None),
            error: Some("Enter a valid email address.".into()),
            sent_to: None,
        };
        return Ok(req.render(&page));
    }
    let site = Site::of(&req);
    let (to, username) = (email.clone(), who.user.username.clone());
    req.app
        .store
        .request_confirmation(
            ConfirmationKind::LinkAddress,
            &email,
            Some(who.user.id),
            move |key| site.link_address(&to, &username, key),
        )
        .await?;
    let page = LinkPage {
        base: req.base("Add an address", None),
        error: None,
        sent_to: Some(email),
    };
    Ok(req.render(&page))
}

/// `POST /user/unlink/<person_id>/`: back to the profile.
pub async fn unlink(
    Path(person_id): Path<String>,
    FormPost(req, _): FormPost,
) -> Result<Response, PageError> {
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/"));
    };
    let Ok(person_id) = person_id.parse::<i64>() else {
        return Err(PageError::NotFound);
    };
    match req.app.store.unlink_person(who.user.id, person_id).await? {
        Ok(()) => Ok(req.redirect("/user/", &["The address was unlinked.".to_string()])),
        Err(UnlinkRefused::Primary) => Ok(req.redirect(
            "/user/",
            &["Your account's own address cannot be unlinked.".to_string()],
        )),
        Err(UnlinkRefused::NotYours) => Err(PageError::NotFound),
    }
}
