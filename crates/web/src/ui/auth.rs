//! Logging in and out. A session is a random id in the `sessionid`
//! cookie (Django's name, so the API reads the same cookie), stored
//! hashed with its CSRF token.

use askama::Template;
use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Base, COOKIE_ATTRS, Form, FormPost, PageError, Req};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    base: Base,
    username: String,
    next: String,
}

/// Where to go after logging in: a local path only, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from URLs, so `/\t/evil` would
        // become `//evil`: only visible, non-space characters pass.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/user/".to_string(),
    }
}

/// `GET /user/login/`.
pub async fn login(OriginalUri(uri): OriginalUri, req: Req) -> Response {
    let query = Form::query(uri.query());
    let next = safe_next(query.get("next"));
    if req.principal.is_some() {
        return req.redirect(&next, &[]);
    }
    let page = LoginPage {
        base: req.base("Log in", None),
        username: String::new(),
        next,
    };
    req.render(&page)
}

/// `POST /user/login/`.
pub async fn login_post(
    client: Option<axum::Extension<crate::server::ClientAddr>>,
    FormPost(mut req, form): FormPost,
) -> Result<Response, PageError> {
    let client = client.map(|c| c.0.0.ip());
    let username = form.get("username").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("");
    let next = safe_next(form.get("next"));
    if let Some(wait) = req.app.logins.wait(&username, client) {
        let secs = crate::throttle::retry_after(wait);
        req.message(format!(
            "Too many failed logins. Please try again in {secs} seconds."
        ));
        let page = LoginPage {
            base: req.base("Log in", None),
            username,
            next,
        };
        let mut response = req.render_status(StatusCode::TOO_MANY_REQUESTS, &page);
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
        return Ok(response);
    }
    let principal = req
        .app
        .store
        .authenticate_password(&username, password)
        .await?;
    let Some(principal) = principal else {
        req.app.logins.failed(&username, client);
        req.message("Your username or password is incorrect. Please try again.");
        let page = LoginPage {
            base: req.base("Log in", None),
            username,
            next,
        };
        return Ok(req.render_status(StatusCode::OK, &page));
    };
    req.app.logins.succeeded(&username);
    req.start_session(principal.user.id).await?;
    Ok(req.redirect(&next, &[]))
}

/// `POST /user/logout/`: ends the session and goes to the project list.
pub async fn logout(FormPost(mut req, _): FormPost) -> Result<Response, PageError> {
    if let Some(id) = req.session_id() {
        req.app.store.delete_session(id).await?;
    }
    req.set_cookie(format!("sessionid=; Max-Age=0; {COOKIE_ATTRS}"));
    Ok(req.redirect("/", &["You have been logged out.".to_string()]))
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    base: Base,
}

/// `GET /user/password-change/`.
pub async fn password(req: Req) -> Result<Response, PageError> {
    if req.principal.is_none() {
        return Err(PageError::login_first("/user/password-change/"));
    }
    let page = PasswordPage {
        base: req.base("Change password", None),
    };
    Ok(req.render(&page))
}

/// `POST /user/password-change/`: the current password, then the new one
/// twice. Every session of the user ends; this browser gets a new one.
pub async fn password_post(FormPost(mut req, form): FormPost) -> Result<Response, PageError> {
    let Some(who) = req.principal.clone() else {
        return Err(PageError::login_first("/user/password-change/"));
    };
    let back = "/user/password-change/";
    let new = form.get("new_password1").unwrap_or("");
    if new != form.get("new_password2").unwrap_or("") {
        return Ok(req.redirect(back, &["The two new passwords differ.".to_string()]));
    }
    if new.chars().count() < 8 {
        return Ok(req.redirect(
            back,
            &["The new password needs at least 8 characters.".to_string()],
        ));
    }
    let store = &req.app.store;
    let old = form.get("old_password").unwrap_or("");
    if store
        .authenticate_password(&who.user.username, old)
        .await?
        .is_none()
    {
        return Ok(req.redirect(back, &["Your current password is incorrect.".to_string()]));
    }
    let changes = patchtrack_store::AccountChanges {
        password: Some(new.to_string()),
        ..patchtrack_store::AccountChanges::default()
    };
    store.change_account(&who.user.username, &changes).await?;
    req.start_session(who.user.id).await?;
    Ok(req.redirect("/user/", &["Your password was changed.".to_string()]))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/project/x/list/")), "/project/x/list/");
        assert_eq!(safe_next(Some("//evil.example/")), "/user/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/user/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/user/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/user/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/user/");
        assert_eq!(safe_next(None), "/user/");
    }
}
