//! The web UI: server-rendered pages at Patchwork's URLs, usable without
//! JavaScript. Handlers take the request as a [`Req`] (who is asking,
//! their CSRF token, pending messages) or, for a form, a [`FormPost`],
//! call the store, and render an askama template; everything a mail says
//! is escaped by the templates or by [`render`]. They fail with a
//! [`PageError`] through `?`, which becomes the error page ([`error`]).
//!
//! Forms are protected by a synchronizer token: a logged-in browser's
//! comes with its session (the same token the API's `X-CSRFToken` checks),
//! an anonymous browser's (the login form) sits in a `csrftoken` cookie.
//! Every POST must echo it in `csrfmiddlewaretoken`, and a cross-site
//! `Origin` is refused outright.

mod about;
mod addresses;
mod admin;
mod auth;
mod bundle;
mod error;
mod interdiff;
mod list;
mod mail_settings;
mod mails;
mod password_reset;
mod project;
mod register;
pub(crate) mod render;
mod series_list;
mod submission;
mod user;
mod webhooks;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use patchtrack_store::{Principal, Project, StoreError};

use crate::App;
pub(crate) use error::PageError;
use error::Slot;

/// The page routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(project::index))
        .route("/project/{linkname}/", get(project::about))
        .route(
            "/project/{linkname}/settings/",
            get(project::settings).post(project::save_settings),
        )
        .route(
            "/project/{linkname}/webhooks/",
            get(webhooks::list).post(webhooks::change),
        )
        .route(
            "/project/{linkname}/webhooks/{id}/",
            get(webhooks::log).post(webhooks::replay),
        )
        .route(
            "/project/{linkname}/list/",
            get(list::project_list).post(list::project_list_post),
        )
        .route(
            "/project/{linkname}/patch/{msgid}/",
            get(submission::patch).post(submission::patch_post),
        )
        .route(
            "/project/{linkname}/cover/{msgid}/",
            get(submission::cover).post(submission::cover_post),
        )
        .route(
            "/project/{linkname}/series/",
            get(series_list::page).post(series_list::post),
        )
        .route(
            "/project/{linkname}/series/{id}/interdiff/",
            get(interdiff::page),
        )
        .route("/project/{linkname}/bundles/", get(bundle::project_bundles))
        .route("/user/bundles/", get(bundle::user_bundles))
        .route(
            "/bundle/{owner}/{name}/",
            get(bundle::bundle).post(bundle::bundle_post),
        )
        .route("/user/login/", get(auth::login).post(auth::login_post))
        .route("/user/logout/", axum::routing::post(auth::logout))
        .route(
            "/user/password-change/",
            get(auth::password).post(auth::password_post),
        )
        .route("/user/", get(user::profile).post(user::profile_post))
        .route(
            "/user/generate-token/",
            axum::routing::post(user::generate_token),
        )
        .route("/about/", get(about::about))
        .route("/help/", get(about::help))
        .route("/help/about/", get(about::help))
        .route("/help/pwclient/", get(about::help))
        .route("/user/todo/", get(user::todo))
        .route(
            "/user/todo/{linkname}/",
            get(list::todo_list).post(list::project_list_post),
        )
        .route(
            "/register/",
            get(register::register).post(register::register_post),
        )
        .route("/confirm/{key}/", get(register::confirm))
        .route(
            "/mail/",
            get(mail_settings::mail).post(mail_settings::mail_post),
        )
        .route(
            "/mail/optout/",
            get(mail_settings::to_settings).post(mail_settings::optout),
        )
        .route(
            "/mail/optin/",
            get(mail_settings::to_settings).post(mail_settings::optin),
        )
        .route(
            "/user/password-reset/",
            get(password_reset::reset).post(password_reset::reset_post),
        )
        .route(
            "/user/password-reset/mail-sent/",
            get(password_reset::mail_sent),
        )
        .route(
            "/user/password-reset/{uidb64}/{key}/",
            get(password_reset::new_password).post(password_reset::new_password_post),
        )
        .route(
            "/user/link/",
            get(addresses::link).post(addresses::link_post),
        )
        .route(
            "/user/unlink/{person_id}/",
            axum::routing::post(addresses::unlink),
        )
        .merge(admin::routes())
        // Over the routes above only: their PageErrors become pages in the
        // layout (a route added below would fail with bare pages).
        .route_layer(axum::middleware::from_fn(error::render_failures))
        .route("/static/patchtrack.css", get(stylesheet))
        .route("/static/patchtrack.js", get(script))
}

async fn stylesheet() -> Response {
    static_file("text/css", include_str!("../../static/patchtrack.css"))
}

async fn script() -> Response {
    static_file(
        "text/javascript",
        include_str!("../../static/patchtrack.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The project a page belongs to, for the navigation bar.
#[derive(Debug, Clone)]
pub(crate) struct NavProject {
    pub linkname: String,
    pub name: String,
}

/// What the layout (`base.html`) shows on every page.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub title: String,
    pub project: Option<NavProject>,
    /// The logged-in user's name.
    pub user: Option<String>,
    /// Whether the logged-in user is a site administrator (the
    /// navigation bar links to the admin pages).
    pub superuser: bool,
    pub csrf: String,
    pub messages: Vec<String>,
    /// Patches waiting for the logged-in user.
    pub todo: i64,
    pub version: &'static str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    base: Base,
    detail: String,
}

/// What a page response carries for its requester, whatever the page:
/// the navigation bar's user, token and to-do count, pending messages, and
/// the cookies to set. An error page is rendered from it too.
#[derive(Debug, Clone)]
pub(crate) struct PageContext {
    /// The logged-in user's name.
    user: Option<String>,
    superuser: bool,
    csrf: String,
    messages: Vec<String>,
    todo: i64,
    /// `Set-Cookie` values for the response.
    cookies: Vec<String>,
    /// Whether the browser reached us over HTTPS (directly configured, or
    /// as a proxy says): cookies are then `Secure`.
    secure: bool,
}

impl PageContext {
    fn base(&self, title: impl Into<String>, project: Option<&Project>) -> Base {
        Base {
            title: title.into(),
            project: project.map(|p| NavProject {
                linkname: p.linkname.clone(),
                name: p.name.clone(),
            }),
            user: self.user.clone(),
            superuser: self.superuser,
            csrf: self.csrf.clone(),
            messages: self.messages.clone(),
            todo: self.todo,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    fn finish(self, status: StatusCode, mut response: Response) -> Response {
        *response.status_mut() = status;
        let h = response.headers_mut();
        for c in self.cookies {
            let c = if self.secure {
                format!("{c}; Secure")
            } else {
                c
            };
            if let Ok(v) = c.parse() {
                h.append(header::SET_COOKIE, v);
            }
        }
        // Pages carry CSRF tokens, and the profile a new API token.
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        // No inline script runs here, so none can be injected either.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        response
    }

    fn render_status(self, status: StatusCode, page: &impl Template) -> Response {
        match page.render() {
            Ok(html) => {
                let response =
                    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
                self.finish(status, response)
            }
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
            }
        }
    }

    /// A page saying what went wrong.
    fn error(self, status: StatusCode, title: &str, detail: &str) -> Response {
        let page = ErrorPage {
            base: self.base(title, None),
            detail: detail.to_string(),
        };
        self.render_status(status, &page)
    }

    fn redirect(mut self, location: &str, messages: &[String]) -> Response {
        if !messages.is_empty() {
            let text = messages.join("\n");
            let encoded =
                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC);
            self.cookies.retain(|c| !c.starts_with("flash="));
            self.cookies
                .push(format!("flash={encoded}; Max-Age=60; {COOKIE_ATTRS}"));
        }
        let response = crate::download::found(location);
        self.finish(StatusCode::FOUND, response)
    }
}

/// A page request: who asks, and what the response must carry back. An
/// extractor (the session is read once, before the handler runs); a
/// failure to read it is a plain 500.
pub(crate) struct Req {
    pub app: Arc<App>,
    pub principal: Option<Principal>,
    session_id: Option<String>,
    headers: HeaderMap,
    page: PageContext,
    /// Where [`error::render_failures`] finds `page` should the handler fail.
    slot: Slot,
}

/// Parses the `Cookie` headers into (name, value) pairs.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers)
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// Flash messages travel in a cookie from a POST to the page it redirects
/// to, percent-encoded and separated by newlines.
fn flash_messages(headers: &HeaderMap) -> Vec<String> {
    cookie(headers, "flash")
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .split('\n')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `Set-Cookie` attributes every cookie of ours has.
const COOKIE_ATTRS: &str = "Path=/; HttpOnly; SameSite=Lax";

impl FromRequestParts<Arc<App>> for Req {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Req, PageError> {
        let slot = parts.extensions.get::<Slot>().cloned().unwrap_or_default();
        Req::read(Arc::clone(app), parts.headers.clone(), slot).await
    }
}

/// A form POST: its request and its form, which must carry the token and
/// come from this site (else the 403 page), and hold no NUL (else a 400).
pub(crate) struct FormPost(pub Req, pub Form);

impl FromRequest<Arc<App>> for FormPost {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<FormPost, Response> {
        let headers = request.headers().clone();
        let slot = request
            .extensions()
            .get::<Slot>()
            .cloned()
            .unwrap_or_default();
        // The body first, as a `Bytes` argument before the handler reads
        // the session would be: a refused body costs no query.
        let body = Bytes::from_request(request, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let req = Req::read(Arc::clone(app), headers, slot)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Form::parse(&body);
        if form
            .0
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            // No stored text holds a NUL, and PostgreSQL refuses one.
            return Err((
                StatusCode::BAD_REQUEST,
                "Null characters are not allowed.\n",
            )
                .into_response());
        }
        req.check_form(&form).map_err(IntoResponse::into_response)?;
        Ok(FormPost(req, form))
    }
}

impl Req {
    /// Reads the session (a stale one counts as none), the CSRF token and
    /// pending messages.
    async fn read(app: Arc<App>, headers: HeaderMap, slot: Slot) -> Result<Req, PageError> {
        let secure = app
            .base_url
            .as_deref()
            .is_some_and(|b| b.starts_with("https://"))
            || headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes() == b"https");
        let mut page = PageContext {
            user: None,
            superuser: false,
            csrf: String::new(),
            messages: flash_messages(&headers),
            todo: 0,
            cookies: Vec::new(),
            secure,
        };
        if !page.messages.is_empty() {
            page.cookies
                .push(format!("flash=; Max-Age=0; {COOKIE_ATTRS}"));
        }
        let mut principal = None;
        let mut session_id = None;
        if let Some(id) = cookie(&headers, "sessionid")
            && let Some(s) = app.store.session(id).await?
        {
            session_id = Some(id.to_string());
            page.csrf = s.csrf_token;
            principal = Some(s.principal);
        }
        if let Some(p) = &principal {
            page.user = Some(p.user.username.clone());
            page.superuser = p.superuser;
            page.todo = app.store.todo_count(p.user.id).await?;
        } else if let Some(t) = cookie(&headers, "csrftoken").filter(|t| t.len() == 64) {
            page.csrf = t.to_string();
        } else {
            page.csrf = patchtrack_store::random_hex(32)?;
            page.cookies
                .push(format!("csrftoken={}; {COOKIE_ATTRS}", page.csrf));
        }
        let req = Req {
            app,
            principal,
            session_id,
            headers,
            page,
            slot,
        };
        req.keep();
        Ok(req)
    }

    /// Leaves the page context where an error page would be rendered from.
    fn keep(&self) {
        self.slot.set(self.page.clone());
    }

    /// Logs this browser in as `user_id`: a new session and its cookie.
    pub async fn start_session(&mut self, user_id: i64) -> Result<(), StoreError> {
        let (id, _csrf) = self.app.store.create_session(user_id).await?;
        let max_age = patchtrack_store::SESSION_MICROS / 1_000_000;
        self.set_cookie(format!("sessionid={id}; Max-Age={max_age}; {COOKIE_ATTRS}"));
        Ok(())
    }

    /// The layout's data.
    pub fn base(&self, title: impl Into<String>, project: Option<&Project>) -> Base {
        self.page.base(title, project)
    }

    /// Adds a message to the page being rendered.
    pub fn message(&mut self, text: impl Into<String>) {
        self.page.messages.push(text.into());
        self.keep();
    }

    /// Sets a cookie on the response.
    pub fn set_cookie(&mut self, value: String) {
        self.page.cookies.push(value);
        self.keep();
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Renders a page.
    pub fn render(self, page: &impl Template) -> Response {
        self.render_status(StatusCode::OK, page)
    }

    /// Renders a page with another status.
    pub fn render_status(self, status: StatusCode, page: &impl Template) -> Response {
        self.page.render_status(status, page)
    }

    /// A 302 to `location` (after a POST, so that a reload does not repeat
    /// it), with messages for the next page.
    pub fn redirect(self, location: &str, messages: &[String]) -> Response {
        self.page.redirect(location, messages)
    }

    /// Checks a POST: same-origin (when the browser says) and the form's
    /// token.
    fn check_form(&self, form: &Form) -> Result<(), PageError> {
        if let Some(origin) = self
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            // This site's host: configured, else as the proxy or the
            // browser names it.
            let configured = self.app.base_url.as_deref().map(|b| {
                b.split_once("://")
                    .map_or(b, |(_, h)| h)
                    .trim_end_matches('/')
            });
            let header_host = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok());
            let host = configured
                .or_else(|| header_host("x-forwarded-host"))
                .or_else(|| header_host("host"))
                .unwrap_or("");
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            if origin != "null" && !origin_host.eq_ignore_ascii_case(host) {
                return Err(PageError::forbidden(
                    "Cross-site form submissions are refused.",
                ));
            }
        }
        let given = form.get("csrfmiddlewaretoken").unwrap_or("");
        if self.page.csrf.is_empty()
            || !crate::api::constant_time_eq(given.as_bytes(), self.page.csrf.as_bytes())
        {
            return Err(PageError::forbidden(
                "CSRF verification failed: reload the page and submit the form again.",
            ));
        }
        Ok(())
    }

    /// The session cookie value, when logged in.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The viewer's list settings (Patchwork's defaults when anonymous),
    /// read once per page.
    pub async fn settings(&self) -> Result<patchtrack_store::Settings, StoreError> {
        let stored = match &self.principal {
            Some(p) => self.app.store.user(p.user.id).await?.map(|u| u.settings),
            None => None,
        };
        Ok(stored.unwrap_or(patchtrack_store::Settings {
            send_email: false,
            items_per_page: 100,
            show_ids: false,
        }))
    }
}

/// A submitted form (`application/x-www-form-urlencoded`), fields in order.
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Parses a request body.
    pub fn parse(body: &Bytes) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses a query string.
    pub fn query(query: Option<&str>) -> Form {
        Form(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A date as lists show it (`2024-01-31`).
pub(crate) fn day(t: patchtrack_store::time::Micros) -> String {
    patchtrack_store::time::iso(t)
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

/// A date and time (`2024-01-31 12:34:56`).
pub(crate) fn when(t: patchtrack_store::time::Micros) -> String {
    patchtrack_store::time::iso(t)
        .get(..19)
        .unwrap_or_default()
        .replace('T', " ")
}

/// How a series is shown: its name, else its id (an empty name, from a
/// cover letter whose subject was only prefixes, shows nothing either).
pub(crate) fn series_label(name: Option<&str>, id: i64) -> String {
    match name {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("Series {id}"),
    }
}

/// How a person is shown: name, else address.
pub(crate) fn person_name(p: &patchtrack_store::PersonRef) -> String {
    match &p.name {
        Some(n) if !n.trim().is_empty() => n.clone(),
        _ => p.email.clone(),
    }
}
