//! Password reset by mail, at Django's URLs: `/user/password-reset/` asks
//! for the address, `.../mail-sent/` says a link is on its way (whether or
//! not an account has the address, so the form tells nobody which do),
//! and `/user/password-reset/<uidb64>/<key>/` sets the new password. The
//! key is a single-use confirmation that expires, not Django's HMAC.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::mails::Site;
use super::{Base, FormPost, PageError, Req};

/// Django's `uidb64`: the account id in decimal, in URL-safe base64
/// without padding.
pub(crate) fn uidb64(user_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(user_id.to_string())
}

fn user_id(uidb64: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(uidb64.trim_end_matches('=')).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    base: Base,
}

#[derive(Template)]
#[template(path = "mail_sent.html")]
struct SentPage {
    base: Base,
    detail: String,
}

#[derive(Template)]
#[template(path = "password_reset_confirm.html")]
struct NewPasswordPage {
    base: Base,
    valid: bool,
}

/// `GET /user/password-reset/`.
pub async fn reset(req: Req) -> Response {
    let page = ResetPage {
        base: req.base("Reset your password", None),
    };
    req.render(&page)
}

/// `POST /user/password-reset/`: a link to every active account with the
/// address, then the same page whatever happened.
pub async fn reset_post(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or("").trim().to_string();
    let site = Site::of(&req);
    let to = email.clone();
    req.app
        .store
        .request_password_reset(&email, move |id, username, key| {
            site.password_reset(&to, id, username, key)
        })
        .await?;
    Ok(req.redirect("/user/password-reset/mail-sent/", &[]))
}

/// `GET /user/password-reset/mail-sent/`.
pub async fn mail_sent(req: Req) -> Response {
    let page = SentPage {
        base: req.base("Password reset sent", None),
        detail: "If an account has that address, a mail with a link to choose a new password \
                 is on its way. The link works once."
            .to_string(),
    };
    req.render(&page)
}

/// `GET /user/password-reset/<uidb64>/<key>/`: the new-password form, or
/// why the link does not work.
pub async fn new_password(
    Path((uid, key)): Path<(String, String)>,
    req: Req,
) -> Result<Response, PageError> {
    let valid = match user_id(&uid) {
        Some(id) => req
            .app
            .store
            .password_reset_account(id, &key)
            .await?
            .is_some(),
        None => false,
    };
    let page = NewPasswordPage {
        base: req.base("Choose a new password", None),
        valid,
    };
    Ok(req.render(&page))
}

/// `POST /user/password-reset/<uidb64>/<key>/`: sets the password (the
/// link is then used up, and every session of the account ends) and goes
/// to the login page, as upstream.
pub async fn new_password_post(
    Path((uid, key)): Path<(String, String)>,
    FormPost(req, form): FormPost,
) -> Result<Response, PageError> {
    let here = format!("/user/password-reset/{uid}/{key}/");
    let new = form.get("new_password1").unwrap_or("");
    if new != form.get("new_password2").unwrap_or("") {
        return Ok(req.redirect(&here, &["The two new passwords differ.".to_string()]));
    }
    if new.chars().count() < 8 {
        return Ok(req.redirect(
            &here,
            &["The new password needs at least 8 characters.".to_string()],
        ));
    }
    let done = match user_id(&uid) {
        Some(id) => req.app.store.reset_password(id, &key, new).await?,
        None => false,
    };
    if !done {
        let page = NewPasswordPage {
            base: req.base("Choose a new password", None),
            valid: false,
        };
        return Ok(req.render(&page));
    }
    Ok(req.redirect(
        "/user/login/",
        &["Your password has been set. You may log in now.".to_string()],
    ))
}

#[cfg(test)]
mod tests {
    use super::{uidb64, user_id};

    #[test]
    fn uidb64_is_djangos() {
        // Django: urlsafe_base64_encode(b"1") == "MQ", b"42" == "NDI".
        assert_eq!(uidb64(1), "MQ");
        assert_eq!(uidb64(42), "NDI");
        assert_eq!(user_id("NDI"), Some(42));
        assert_eq!(user_id("NDI="), Some(42));
        assert_eq!(user_id("!!"), None);
        assert_eq!(user_id("eA"), None, "not a number");
    }
}
