//! How a page fails: handlers return [`PageError`] through `?`, and
//! [`render_failures`], the layer over the page routes, turns it into the
//! error page in the site's layout, with the navigation bar, messages and
//! cookies of the request as the handler left it (a token generated just
//! before a failure still shows its message).
//!
//! A [`PageError`] outside that layer, or before the request was read (the
//! session lookup failed), has no page context: it is then a bare page, and
//! a store failure a plain-text 500, as a server's own errors are.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use patchtrack_store::StoreError;

use super::PageContext;
use crate::download::found;
use crate::html;

/// Why a page is not the one asked for.
#[derive(Debug)]
pub(crate) enum PageError {
    /// 500; the cause is logged, not shown. Whatever the store error:
    /// pages ask for what their URL names as an `Option`, a missing one
    /// being [`PageError::NotFound`].
    Store(StoreError),
    /// Nothing at this address: 404.
    NotFound,
    /// 403 saying why.
    Forbidden(String),
    /// A 302 to the login page, which comes back to this path.
    LoginFirst(String),
    /// A 302 to where what the URL names is shown (a cover letter's
    /// message-id under `/patch/`).
    Redirect(String),
}

impl PageError {
    /// 403 saying why.
    pub fn forbidden(detail: impl Into<String>) -> PageError {
        PageError::Forbidden(detail.into())
    }

    /// Anonymous users go to the login page first.
    pub fn login_first(back_to: impl Into<String>) -> PageError {
        PageError::LoginFirst(back_to.into())
    }

    /// The response without a page context.
    fn bare(&self) -> Response {
        match self {
            PageError::Store(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
            }
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                bare_page("Not found", "<h1>Not found</h1>"),
            )
                .into_response(),
            PageError::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                bare_page(
                    "Forbidden",
                    &format!("<h1>Forbidden</h1><p>{}</p>", html::escape(detail)),
                ),
            )
                .into_response(),
            PageError::LoginFirst(back_to) => found(&login_url(back_to)),
            PageError::Redirect(location) => found(location),
        }
    }

    /// The response in the site's layout, for the requester of `page`.
    pub(super) fn render(&self, page: PageContext) -> Response {
        match self {
            PageError::Store(_) => page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error",
                "Something went wrong on our side; it has been logged.",
            ),
            PageError::NotFound => page.error(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.",
            ),
            PageError::Forbidden(detail) => page.error(StatusCode::FORBIDDEN, "Forbidden", detail),
            PageError::LoginFirst(back_to) => page.redirect(&login_url(back_to), &[]),
            PageError::Redirect(location) => page.redirect(location, &[]),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Store(e)
    }
}

/// The bare response, marked for [`render_failures`] to render again with
/// the request's page context. A store failure is logged here, once.
impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::Store(e) = &self {
            tracing::error!(error = %e, "page failed");
        }
        let mut response = self.bare();
        response.extensions_mut().insert(Unrendered(Arc::new(self)));
        response
    }
}

/// The mark a [`PageError`]'s response carries.
#[derive(Clone)]
struct Unrendered(Arc<PageError>);

/// Where a request's [`super::Req`] leaves its page context (on creation
/// and after each change) for [`render_failures`] to render an error with.
#[derive(Clone, Default)]
pub(super) struct Slot(Arc<Mutex<Option<PageContext>>>);

impl Slot {
    pub fn set(&self, page: PageContext) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(page);
    }

    fn take(&self) -> Option<PageContext> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The layer over the page routes: gives the request a [`Slot`], and
/// renders a failed handler's [`PageError`] with what it holds.
pub(super) async fn render_failures(mut request: Request, next: Next) -> Response {
    let slot = Slot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    match (response.extensions().get::<Unrendered>(), slot.take()) {
        (Some(Unrendered(e)), Some(page)) => e.render(page),
        _ => response,
    }
}

/// `/user/login/?next=...` coming back to `back_to`.
fn login_url(back_to: &str) -> String {
    let next = percent_encoding::utf8_percent_encode(back_to, percent_encoding::NON_ALPHANUMERIC);
    format!("/user/login/?next={next}")
}

/// An HTML page outside the layout.
fn bare_page(title: &str, body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{} – patchtrack</title></head>\
             <body>{body}</body></html>\n",
            html::escape(title)
        ),
    )
        .into_response()
}
