//! `/mail/`: whether Patchwork may send automated mail to an address,
//! and opting out or back in, each confirmed by a mail to the address
//! (no login needed: the mail proves the address is yours).

use askama::Template;
use axum::response::Response;
use patchtrack_store::ConfirmationKind;

use super::mails::{Site, is_address};
use super::{Base, FormPost, PageError, Req};

#[derive(Template)]
#[template(path = "mail_settings.html")]
struct MailPage {
    base: Base,
    email: String,
    /// Whether the address is opted out, once one is asked about.
    status: Option<bool>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "mail_sent.html")]
struct SentPage {
    base: Base,
    detail: String,
}

/// `GET /mail/`: the form.
pub async fn mail(req: Req) -> Response {
    let page = MailPage {
        base: req.base("Mail settings", None),
        email: String::new(),
        status: None,
        error: None,
    };
    req.render(&page)
}

fn invalid(req: Req, email: String) -> Response {
    let page = MailPage {
        base: req.base("Mail settings", None),
        email,
        status: None,
        error: Some("Enter a valid email address.".into()),
    };
    req.render(&page)
}

/// `POST /mail/`: the address's setting, with the button that changes it.
pub async fn mail_post(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or("").trim().to_string();
    if !is_address(&email, 200) {
        return Ok(invalid(req, email));
    }
    let opted_out = req.app.store.is_opted_out(&email).await?;
    let page = MailPage {
        base: req.base("Mail settings", None),
        email,
        status: Some(opted_out),
        error: None,
    };
    Ok(req.render(&page))
}

/// `POST /mail/optout/` and `POST /mail/optin/`: a confirmation mail to
/// the address. Opting in an address that is not opted out is an error.
async fn change(req: Req, email: String, kind: ConfirmationKind) -> Result<Response, PageError> {
    if !is_address(&email, 200) {
        return Ok(invalid(req, email));
    }
    let opted_out = req.app.store.is_opted_out(&email).await?;
    if kind == ConfirmationKind::OptIn && !opted_out {
        let page = MailPage {
            base: req.base("Mail settings", None),
            error: Some(format!(
                "{email} is not opted out: Patchwork may already send notifications to it."
            )),
            email,
            status: Some(false),
        };
        return Ok(req.render(&page));
    }
    let site = Site::of(&req);
    let to = email.clone();
    req.app
        .store
        .request_confirmation(kind, &email, None, move |key| match kind {
            ConfirmationKind::OptIn => site.optin(&to, key),
            _ => site.optout(&to, key),
        })
        .await?;
    let what = if kind == ConfirmationKind::OptIn {
        "opt-in"
    } else {
        "opt-out"
    };
    let page = SentPage {
        base: req.base("Confirmation sent", None),
        detail: format!(
            "A mail to confirm the {what} has been sent to {email}; nothing changes until its link is followed."
        ),
    };
    Ok(req.render(&page))
}

/// `POST /mail/optout/`.
pub async fn optout(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or("").trim().to_string();
    change(req, email, ConfirmationKind::OptOut).await
}

/// `POST /mail/optin/`.
pub async fn optin(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or("").trim().to_string();
    change(req, email, ConfirmationKind::OptIn).await
}

/// `GET /mail/optout/` and `GET /mail/optin/`: back to the form, as
/// upstream.
pub async fn to_settings(req: Req) -> Response {
    req.redirect("/mail/", &[])
}
