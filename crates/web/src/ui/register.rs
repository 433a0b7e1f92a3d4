//! Registration (`/register/`) and the confirmation links every mail of
//! ours carries (`/confirm/<key>/`), as Patchwork has them: a new account
//! is inactive until the link in its mail is followed.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use patchtrack_store::{AccountRefused, CONFIRMATION_VALIDITY, ConfirmationKind, NewAccount};

use super::mails::{Site, is_address};
use super::{Base, FormPost, PageError, Req};

/// The form as typed, to show again with its errors.
#[derive(Debug, Default)]
struct Typed {
    first_name: String,
    last_name: String,
    username: String,
    email: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    base: Base,
    form: Typed,
    errors: Vec<String>,
    sent_to: Option<String>,
}

/// `GET /register/`.
pub async fn register(req: Req) -> Response {
    let page = RegisterPage {
        base: req.base("Register", None),
        form: Typed::default(),
        errors: Vec::new(),
        sent_to: None,
    };
    req.render(&page)
}

/// Patchwork's field rules: names at most 30 characters, the username
/// word characters only (Python's Unicode `\w`) and at most 30, the
/// address at most 100; a password (at least 8 characters, as our
/// password change asks).
fn check(form: &Typed, password: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if form.first_name.chars().count() > 30 || form.last_name.chars().count() > 30 {
        errors.push("Names have at most 30 characters.".to_string());
    }
    let name = &form.username;
    if name.is_empty() {
        errors.push("A username is required.".to_string());
    } else if name.chars().count() > 30 || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        errors.push(
            "A username has at most 30 characters: letters, digits and underscores.".to_string(),
        );
    }
    if !is_address(&form.email, 100) {
        errors.push("Enter a valid email address (at most 100 characters).".to_string());
    }
    if password.chars().count() < 8 {
        errors.push("The password needs at least 8 characters.".to_string());
    }
    errors
}

/// `POST /register/`: an inactive account, and its confirmation mail.
pub async fn register_post(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let field = |n: &str| form.get(n).unwrap_or("").trim().to_string();
    let typed = Typed {
        first_name: field("first_name"),
        last_name: field("last_name"),
        username: field("username"),
        email: field("email"),
    };
    let password = form.get("password").unwrap_or("");
    let mut errors = check(&typed, password);
    if errors.is_empty() {
        let site = Site::of(&req);
        let account = NewAccount {
            username: typed.username.clone(),
            email: typed.email.clone(),
            password: password.to_string(),
            first_name: typed.first_name.clone(),
            last_name: typed.last_name.clone(),
        };
        let full = format!("{} {}", typed.first_name, typed.last_name);
        let name = match full.trim() {
            "" => typed.username.clone(),
            n => n.to_string(),
        };
        let (to, username) = (typed.email.clone(), typed.username.clone());
        let outcome = req
            .app
            .store
            .register(&account, move |key| {
                site.registration(&to, &name, &username, key)
            })
            .await?;
        match outcome {
            Ok(_) => {
                let page = RegisterPage {
                    base: req.base("Registration", None),
                    form: Typed::default(),
                    errors: Vec::new(),
                    sent_to: Some(typed.email),
                };
                return Ok(req.render(&page));
            }
            Err(AccountRefused::UsernameTaken) => {
                errors.push("This username is already taken. Please choose another.".into());
            }
            Err(AccountRefused::EmailInUse(holder)) => errors.push(format!(
                "This email address is already in use for the account \"{holder}\"."
            )),
        }
    }
    let page = RegisterPage {
        base: req.base("Register", None),
        form: typed,
        errors,
        sent_to: None,
    };
    Ok(req.render(&page))
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    base: Base,
    detail: String,
    login: bool,
}

/// `GET /confirm/<key>/`: carries out what the mail asked for, once.
/// Unknown keys (and password-reset keys, which have their own page) are
/// 404; used ones say so, as do outdated ones. Linking an address needs
/// the account that asked to be logged in.
pub async fn confirm(Path(key): Path<String>, req: Req) -> Result<Response, PageError> {
    let Some(c) = req.app.store.confirmation(&key).await? else {
        return Err(PageError::NotFound);
    };
    if c.kind == ConfirmationKind::PasswordReset {
        return Err(PageError::NotFound);
    }
    if c.kind == ConfirmationKind::LinkAddress {
        let Some(who) = &req.principal else {
            return Err(PageError::login_first(format!("/confirm/{key}/")));
        };
        if Some(who.user.id) != c.user_id {
            return Err(PageError::forbidden(
                "This link adds an address to another account: log in as that account to follow it.",
            ));
        }
    }
    let problem = if !c.active {
        Some((
            "Already confirmed",
            "This confirmation has already been processed: the link was followed before.",
        ))
    } else if c.is_expired(CONFIRMATION_VALIDITY) {
        Some((
            "Confirmation expired",
            "This confirmation link has expired. Please start again to get a new one.",
        ))
    } else {
        None
    };
    if let Some((title, detail)) = problem {
        let page = ConfirmPage {
            base: req.base(title, None),
            detail: detail.to_string(),
            login: false,
        };
        return Ok(req.render(&page));
    }
    if !req.app.store.confirm(&c).await? {
        // Another click got there first.
        let page = ConfirmPage {
            base: req.base("Already confirmed", None),
            detail: "This confirmation has already been processed.".to_string(),
            login: false,
        };
        return Ok(req.render(&page));
    }
    let (title, detail, login) = match c.kind {
        ConfirmationKind::Registration => (
            "Registration confirmed",
            "Your account is active: you can log in now.".to_string(),
            true,
        ),
        ConfirmationKind::LinkAddress => (
            "Address linked",
            format!("The address {} is now linked to your account.", c.email),
            false,
        ),
        ConfirmationKind::OptOut => (
            "Opted out",
            format!(
                "Patchwork will not send automated notifications to {} any more.",
                c.email
            ),
            false,
        ),
        ConfirmationKind::OptIn | ConfirmationKind::PasswordReset => (
            "Opted in",
            format!(
                "Patchwork may send automated notifications to {} again.",
                c.email
            ),
            false,
        ),
    };
    let page = ConfirmPage {
        base: req.base(title, None),
        detail,
        login,
    };
    Ok(req.render(&page))
}

#[cfg(test)]
mod tests {
    use super::{Typed, check};

    fn typed(username: &str, email: &str) -> Typed {
        Typed {
            username: username.into(),
            email: email.into(),
            ..Typed::default()
        }
    }

    #[test]
    fn field_rules() {
        assert!(check(&typed("ada_99", "ada@example.org"), "longenough").is_empty());
        assert!(check(&typed("zoë", "zoe@example.org"), "longenough").is_empty());
        assert_eq!(
            check(&typed("a b", "ada@example.org"), "longenough").len(),
            1
        );
        assert_eq!(
            check(&typed(&"a".repeat(31), "a@example.org"), "longenough").len(),
            1
        );
        assert_eq!(check(&typed("", "a@example.org"), "longenough").len(), 1);
        assert_eq!(check(&typed("ada", "nope"), "longenough").len(), 1);
        assert_eq!(check(&typed("ada", "a@example.org"), "short").len(), 1);
        let long_name = Typed {
            first_name: "x".repeat(31),
            ..typed("ada", "a@example.org")
        };
        assert_eq!(check(&long_name, "longenough").len(), 1);
    }
}
