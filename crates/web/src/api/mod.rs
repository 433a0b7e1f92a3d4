//! Patchwork's REST API, versions 1.0 to 1.4, at `/api/` and
//! `/api/1.X/`, and patchtrack's 1.5 (1.4 plus additions, at `/api/1.5/`
//! only: see `docs/api-1.5.md`). Routing is done here by hand rather than by axum's router:
//! the optional version segment, the optional trailing slash, Patchwork's
//! 404/405 rules and the per-route `Allow` header are all decided in one
//! place.

mod body;
mod bundle;
mod check;
mod comment;
mod cover;
mod embed;
pub(crate) mod event;
mod event_stream;
mod links;
pub mod params;
mod patch;
mod person;
mod project;
mod series;
mod user;
pub(crate) mod webhook;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patchtrack_store::time::SiteZone;
use patchtrack_store::{Listed, Page, Principal};

pub use body::{Body, Input};
pub use event::event_body;
pub use event_stream::Hub;

use crate::App;
use crate::error::{ApiError, NOT_AUTHENTICATED};
use crate::json::Json;
use params::Params;

/// The API version a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Minor number: 0 to 5.
    pub minor: u8,
    /// Whether the URL named it (it is then echoed into links).
    pub explicit: bool,
}

impl Version {
    /// The newest of upstream's versions, served at `/api/`: unmodified
    /// clients see what Patchwork sends.
    pub const LATEST: u8 = 4;

    /// patchtrack's own version: 1.4 with additions only (new fields and
    /// routes, never a changed one), named in the URL by the clients that
    /// want them (`docs/api-1.5.md`, `testdata/openapi/v1.5/`).
    pub const EXTENDED: u8 = 5;

    /// Whether the request's version is 1.`minor` or later.
    pub fn at_least(self, minor: u8) -> bool {
        self.minor >= minor
    }

    fn parse(segment: &str) -> Option<Version> {
        let minor = match segment {
            "1.0" => 0,
            "1.1" => 1,
            "1.2" => 2,
            "1.3" => 3,
            "1.4" => 4,
            "1.5" => Version::EXTENDED,
            _ => return None,
        };
        Some(Version {
            minor,
            explicit: true,
        })
    }
}

/// What every handler knows about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `scheme://host` of absolute URLs, without a trailing slash.
    pub base: String,
    /// API version.
    pub version: Version,
    /// `?format=` to carry into API links.
    pub format: Option<String>,
    /// The authenticated requester.
    pub principal: Option<Principal>,
    /// Query parameters.
    pub params: Params,
    /// Request path, for pagination links.
    pub path: String,
    /// The zone of event and check dates.
    pub zone: SiteZone,
}

impl Ctx {
    /// An API link: version segment and `?format=` as requested.
    pub fn api(&self, path: &str) -> String {
        let mut url = self.api_plain_versioned(path);
        if let Some(f) = &self.format {
            url.push_str("?format=");
            url.push_str(&params::quote_plus(f));
        }
        url
    }

    fn api_plain_versioned(&self, path: &str) -> String {
        if self.version.explicit {
            format!("{}/api/1.{}/{path}", self.base, self.version.minor)
        } else {
            format!("{}/api/{path}", self.base)
        }
    }

    /// An API link without version or format (patch `comments` and
    /// `checks`, as upstream builds them).
    pub fn api_bare(&self, path: &str) -> String {
        format!("{}/api/{path}", self.base)
    }

    /// A web link (`path` starts with `/`).
    pub fn web(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The page asked for, or the 404 Patchwork gives for a bad `page`.
    pub fn page(&self) -> Result<Page, ApiError> {
        self.params.page().ok_or_else(invalid_page)
    }

    /// The requester, or the 403 Patchwork gives anonymous clients.
    pub fn require_user(&self) -> Result<&Principal, ApiError> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::Forbidden(NOT_AUTHENTICATED.into()))
    }
}

/// A successful API answer.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: String,
    link: Option<String>,
    location: Option<String>,
    /// A body that goes on after the answer (the event stream), instead
    /// of `body`.
    stream: Option<axum::body::Body>,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn ok(body: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            link: None,
            location: None,
            stream: None,
        }
    }

    /// 201 with the object and its location.
    pub fn created(body: String, location: String) -> Reply {
        Reply {
            status: StatusCode::CREATED,
            body,
            link: None,
            location: Some(location),
            stream: None,
        }
    }

    /// 200 with a Server-Sent Events stream.
    pub fn stream(body: axum::body::Body) -> Reply {
        Reply {
            stream: Some(body),
            ..Reply::ok(String::new())
        }
    }

    /// 204 without a body.
    pub fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: String::new(),
            link: None,
            location: None,
            stream: None,
        }
    }
}

/// Patchwork's 404 for a `page` that is not a number or past the end.
fn invalid_page() -> ApiError {
    ApiError::NotFound("Invalid page.".into())
}

/// Renders `listed`, served for `page`, as a bare JSON array with the
/// `Link` header.
pub fn list_reply<T>(
    ctx: &Ctx,
    page: Page,
    listed: Option<Listed<T>>,
    mut render: impl FnMut(&mut Json, &T),
) -> Result<Reply, ApiError> {
    let listed = listed.ok_or_else(invalid_page)?;
    let at = page.position(&listed);
    let mut json = Json::new();
    json.begin_array(None);
    for item in &listed.items {
        render(&mut json, item);
    }
    json.end_array();
    let mut reply = Reply::ok(json.finish());
    reply.link = Some(links::header(ctx, at));
    Ok(reply)
}

/// Which resource a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Index,
    Projects,
    Project(String),
    Users,
    User(i64),
    People,
    Person(i64),
    Patches,
    Patch(i64),
    PatchChecks(i64),
    PatchCheck(i64, i64),
    PatchComments(i64),
    PatchComment(i64, i64),
    Covers,
    Cover(i64),
    CoverComments(i64),
    CoverComment(i64, i64),
    SeriesList,
    Series(i64),
    SeriesInterdiff(i64),
    Bundles,
    Bundle(i64),
    Events,
    EventStream,
    SeriesChecks(i64),
    SeriesCheck(i64, i64),
    PatchRecheck(i64),
    SeriesRecheck(i64),
    ProjectWebhooks(String),
    Webhook(i64),
    WebhookDeliveries(i64),
    DeliveryReplay(i64, i64),
}

/// The route of an API path as `/metrics` labels it: its pattern, with
/// ids as `{id}`, the version as `{version}` when the path names one,
/// and a path that routes nowhere as `/api/unmatched`.
pub fn route_label(rest: &str) -> &'static str {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (versioned, segments) = match segments.first().and_then(|s| Version::parse(s)) {
        Some(_) => (true, &segments[1..]),
        None => (false, &segments[..]),
    };
    let Some(route) = Route::parse(segments) else {
        return "/api/unmatched";
    };
    let pattern = route.pattern();
    if versioned { pattern.1 } else { pattern.0 }
}

impl Route {
    /// The route's pattern without and with the version segment.
    fn pattern(&self) -> (&'static str, &'static str) {
        macro_rules! p {
            ($tail:literal) => {
                (concat!("/api/", $tail), concat!("/api/{version}/", $tail))
            };
        }
        match self {
            Route::Index => p!(""),
            Route::Projects => p!("projects/"),
            Route::Project(_) => p!("projects/{id}/"),
            Route::Users => p!("users/"),
            Route::User(_) => p!("users/{id}/"),
            Route::People => p!("people/"),
            Route::Person(_) => p!("people/{id}/"),
            Route::Patches => p!("patches/"),
            Route::Patch(_) => p!("patches/{id}/"),
            Route::PatchChecks(_) => p!("patches/{id}/checks/"),
            Route::PatchCheck(..) => p!("patches/{id}/checks/{id}/"),
            Route::PatchComments(_) => p!("patches/{id}/comments/"),
            Route::PatchComment(..) => p!("patches/{id}/comments/{id}/"),
            Route::Covers => p!("covers/"),
            Route::Cover(_) => p!("covers/{id}/"),
            Route::CoverComments(_) => p!("covers/{id}/comments/"),
            Route::CoverComment(..) => p!("covers/{id}/comments/{id}/"),
            Route::SeriesList => p!("series/"),
            Route::Series(_) => p!("series/{id}/"),
            Route::SeriesInterdiff(_) => p!("series/{id}/interdiff/"),
            Route::Bundles => p!("bundles/"),
            Route::Bundle(_) => p!("bundles/{id}/"),
            Route::Events => p!("events/"),
            Route::EventStream => p!("events/stream/"),
            Route::SeriesChecks(_) => p!("series/{id}/checks/"),
            Route::SeriesCheck(..) => p!("series/{id}/checks/{id}/"),
            Route::PatchRecheck(_) => p!("patches/{id}/recheck/"),
            Route::SeriesRecheck(_) => p!("series/{id}/recheck/"),
            Route::ProjectWebhooks(_) => p!("projects/{id}/webhooks/"),
            Route::Webhook(_) => p!("webhooks/{id}/"),
            Route::WebhookDeliveries(_) => p!("webhooks/{id}/deliveries/"),
            Route::DeliveryReplay(..) => p!("webhooks/{id}/deliveries/{id}/replay/"),
        }
    }

    fn parse(segments: &[&str]) -> Option<Route> {
        let id = |s: &str| -> Option<i64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        Some(match segments {
            [] => Route::Index,
            ["projects"] => Route::Projects,
            ["projects", p] if !p.is_empty() => Route::Project((*p).to_string()),
            ["users"] => Route::Users,
            ["users", u] => Route::User(id(u)?),
            ["people"] => Route::People,
            ["people", p] => Route::Person(id(p)?),
            ["patches"] => Route::Patches,
            ["patches", p] => Route::Patch(id(p)?),
            ["patches", p, "checks"] => Route::PatchChecks(id(p)?),
            ["patches", p, "checks", c] => Route::PatchCheck(id(p)?, id(c)?),
            ["patches", p, "comments"] => Route::PatchComments(id(p)?),
            ["patches", p, "comments", c] => Route::PatchComment(id(p)?, id(c)?),
            ["covers"] => Route::Covers,
            ["covers", c] => Route::Cover(id(c)?),
            ["covers", c, "comments"] => Route::CoverComments(id(c)?),
            ["covers", c, "comments", x] => Route::CoverComment(id(c)?, id(x)?),
            ["series"] => Route::SeriesList,
            ["series", s] => Route::Series(id(s)?),
            ["series", s, "interdiff"] => Route::SeriesInterdiff(id(s)?),
            ["series", s, "checks"] => Route::SeriesChecks(id(s)?),
            ["series", s, "checks", c] => Route::SeriesCheck(id(s)?, id(c)?),
            ["series", s, "recheck"] => Route::SeriesRecheck(id(s)?),
            ["patches", p, "recheck"] => Route::PatchRecheck(id(p)?),
            ["bundles"] => Route::Bundles,
            ["bundles", b] => Route::Bundle(id(b)?),
            ["events"] => Route::Events,
            ["events", "stream"] => Route::EventStream,
            ["projects", p, "webhooks"] if !p.is_empty() => {
                Route::ProjectWebhooks((*p).to_string())
            }
            ["webhooks", w] => Route::Webhook(id(w)?),
            ["webhooks", w, "deliveries"] => Route::WebhookDeliveries(id(w)?),
            ["webhooks", w, "deliveries", d, "replay"] => Route::DeliveryReplay(id(w)?, id(d)?),
            _ => return None,
        })
    }

    /// The first version that routes it.
    /// Whether the route answers with a list (and takes filters).
    fn is_list(&self) -> bool {
        matches!(
            self,
            Route::Projects
                | Route::Users
                | Route::People
                | Route::Patches
                | Route::PatchChecks(_)
                | Route::PatchComments(_)
                | Route::CoverComments(_)
                | Route::Covers
                | Route::SeriesList
                | Route::Bundles
                | Route::Events
        )
    }

    fn since(&self) -> u8 {
        match self {
            Route::PatchComments(_) | Route::CoverComments(_) => 1,
            Route::PatchComment(..) | Route::CoverComment(..) => 3,
            Route::SeriesInterdiff(_)
            | Route::SeriesChecks(_)
            | Route::SeriesCheck(..)
            | Route::PatchRecheck(_)
            | Route::SeriesRecheck(_)
            | Route::EventStream
            | Route::ProjectWebhooks(_)
            | Route::Webhook(_)
            | Route::WebhookDeliveries(_)
            | Route::DeliveryReplay(..) => Version::EXTENDED,
            _ => 0,
        }
    }

    /// The methods the view implements (not narrowed by version or rights).
    /// The methods of the route in `version`: API 1.5 adds `PATCH` of a
    /// whole series and of a list of patches.
    fn allow(&self, version: Version) -> &'static str {
        match self {
            Route::Patches | Route::Series(_) | Route::PatchCheck(..) | Route::SeriesCheck(..)
                if version.at_least(Version::EXTENDED) =>
            {
                "GET, PATCH, HEAD, OPTIONS"
            }
            Route::SeriesChecks(_) => "GET, POST, HEAD, OPTIONS",
            Route::PatchRecheck(_) | Route::SeriesRecheck(_) => "POST, OPTIONS",
            Route::Project(_) | Route::User(_) | Route::Patch(_) => {
                "GET, PUT, PATCH, HEAD, OPTIONS"
            }
            Route::PatchComment(..) | Route::CoverComment(..) => "GET, PUT, PATCH, HEAD, OPTIONS",
            Route::PatchChecks(_) | Route::Bundles | Route::ProjectWebhooks(_) => {
                "GET, POST, HEAD, OPTIONS"
            }
            Route::Webhook(_) => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
            Route::DeliveryReplay(..) => "POST, OPTIONS",
            Route::Bundle(_) => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
            _ => "GET, HEAD, OPTIONS",
        }
    }

    /// Name and description for OPTIONS.
    fn describe(&self) -> (&'static str, &'static str) {
        match self {
            Route::Index => ("Index", ""),
            Route::Projects => ("Project List", "List projects."),
            Route::Project(_) => ("Project Detail", "Show a project."),
            Route::Users => ("User List", "List users."),
            Route::User(_) => ("User Detail", "Show a user."),
            Route::People => ("Person List", "List people."),
            Route::Person(_) => ("Person Detail", "Show a person."),
            Route::Patches => ("Patch List", "List patches."),
            Route::Patch(_) => ("Patch Detail", "Show a patch."),
            Route::PatchChecks(_) => ("Check List Create", "List or create checks."),
            Route::PatchCheck(..) => ("Check Detail", "Show a check."),
            Route::PatchComments(_) | Route::CoverComments(_) => ("Comment List", "List comments"),
            Route::PatchComment(..) | Route::CoverComment(..) => {
                ("Comment Detail", "Show a comment.")
            }
            Route::Covers => ("Cover List", "List cover letters."),
            Route::Cover(_) => ("Cover Detail", "Show a cover letter."),
            Route::SeriesList => ("Series List", "List series."),
            Route::Series(_) => ("Series Detail", "Show a series."),
            Route::SeriesInterdiff(_) => (
                "Series Interdiff",
                "Compare a series with another version of it.",
            ),
            Route::Bundles => ("Bundle List Create", "List or create bundles."),
            Route::Bundle(_) => ("Bundle Detail", "Show a bundle."),
            Route::Events => ("Event List", "List events."),
            Route::EventStream => ("Event Stream", "Follow events as Server-Sent Events."),
            Route::SeriesChecks(_) => ("Series Check List Create", "List or create series checks."),
            Route::SeriesCheck(..) => ("Series Check Detail", "Show or update a series check."),
            Route::PatchRecheck(_) | Route::SeriesRecheck(_) => {
                ("Recheck", "Ask the CI systems to test again.")
            }
            Route::ProjectWebhooks(_) => {
                ("Webhook List Create", "List or add a project's webhooks.")
            }
            Route::Webhook(_) => ("Webhook Detail", "Show, change or remove a webhook."),
            Route::WebhookDeliveries(_) => ("Delivery List", "List a webhook's deliveries."),
            Route::DeliveryReplay(..) => ("Delivery Replay", "Send a delivery again."),
        }
    }
}

/// How the requester proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; unsafe requests must echo this CSRF token.
    Session(String),
    /// HTTP Basic or an API token (no CSRF check, as upstream).
    Header,
}

/// The session id in a `Cookie` header (`sessionid`, Django's name).
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("sessionid="))
        .find(|v| !v.is_empty())
}

/// Reads the credentials in upstream's order: the session cookie, then
/// HTTP Basic, then `Authorization: Token`. A stale session counts as
/// none; bad Basic or Token credentials are a 403 even on public
/// resources, as upstream.
pub(crate) async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
) -> Result<Option<(Principal, Credential)>, ApiError> {
    if let Some(id) = session_cookie(headers)
        && let Some(s) = app.store.session(id).await?
    {
        return Ok(Some((s.principal, Credential::Session(s.csrf_token))));
    }
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if scheme.eq_ignore_ascii_case("token") {
        return match app.store.check_token(rest.trim()).await? {
            patchtrack_store::TokenCheck::Valid(p) => Ok(Some((p, Credential::Header))),
            patchtrack_store::TokenCheck::Unknown => {
                Err(ApiError::Forbidden("Invalid token.".into()))
            }
            patchtrack_store::TokenCheck::Expired => {
                Err(ApiError::Forbidden("Token expired.".into()))
            }
        };
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(ApiError::Forbidden(
                "Invalid basic header. Credentials not correctly base64 encoded.".into(),
            ));
        };
        if let Some(wait) = app.logins.wait(user, client) {
            return Err(ApiError::Throttled(crate::throttle::retry_after(wait)));
        }
        return match app.store.authenticate_password(user, password).await? {
            Some(p) => {
                app.logins.succeeded(user);
                Ok(Some((p, Credential::Header)))
            }
            None => {
                app.logins.failed(user, client);
                Err(ApiError::Forbidden("Invalid username/password.".into()))
            }
        };
    }
    Ok(None)
}

/// A scoped token's limit, before any handler runs: a `read` token
/// changes nothing, a `checks` token only posts and updates checks (on
/// which projects, the check handlers decide). Sessions, passwords and
/// `write` tokens pass.
fn scope_allows(
    scope: &patchtrack_store::Scope,
    route: &Route,
    method: &Method,
) -> Result<(), ApiError> {
    use patchtrack_store::Scope;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    match scope {
        Scope::Write => Ok(()),
        Scope::Read => Err(ApiError::Forbidden(
            "This token's scope is read: it may not change anything.".into(),
        )),
        Scope::Checks(_) => match route {
            Route::PatchChecks(_)
            | Route::PatchCheck(..)
            | Route::SeriesChecks(_)
            | Route::SeriesCheck(..) => Ok(()),
            _ => Err(ApiError::Forbidden(
                "This token's scope is checks: it may only post and update checks.".into(),
            )),
        },
    }
}

/// Django's CSRF rule for session-authenticated unsafe requests: the
/// `X-CSRFToken` header must carry the session's token.
fn check_csrf(
    method: &Method,
    credential: &Credential,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let Credential::Session(expected) = credential else {
        return Ok(());
    };
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok(());
    }
    match headers.get("x-csrftoken").and_then(|v| v.to_str().ok()) {
        None => Err(ApiError::Forbidden(
            "CSRF Failed: CSRF token missing.".into(),
        )),
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::Forbidden(
            "CSRF Failed: CSRF token incorrect.".into(),
        )),
    }
}

/// Compares secrets without revealing where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The external base URL: configured, else from the Host header.
pub fn base_url(app: &App, headers: &HeaderMap) -> String {
    if let Some(b) = &app.base_url {
        return b.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// Serves one API request; `rest` is the path after `/api/`.
pub async fn serve(
    app: &App,
    method: Method,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
    client: Option<std::net::IpAddr>,
) -> Response {
    if rest.len() + query.map_or(0, str::len) > URI_LIMIT {
        return bare_error(&ApiError::UriTooLong(URI_LIMIT));
    }
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (version, segments) = match segments.first().and_then(|s| Version::parse(s)) {
        Some(v) => (v, &segments[1..]),
        None => (
            Version {
                minor: Version::LATEST,
                explicit: false,
            },
            &segments[..],
        ),
    };
    let route = match Route::parse(segments) {
        Some(r) if version.at_least(r.since()) => r,
        _ => return not_found_page(),
    };
    if crate::has_nul(rest) {
        // Only a project is named by text in an API path; none has a NUL.
        let err = Err(ApiError::NotFound(
            "No Project matches the given query.".into(),
        ));
        return finish(&route, version, err, false, &method, rest);
    }
    let params = Params::parse(query);
    let format = params.last("format").map(str::to_string);
    if format.is_none() && !acceptable(headers) && !event_stream_accepted(&route, headers) {
        return finish(
            &route,
            version,
            Err(ApiError::NotAcceptable),
            false,
            &method,
            rest,
        );
    }
    let html = match format.as_deref() {
        None => wants_html(headers),
        Some("json") => false,
        Some("api") => true,
        Some(_) => {
            let err = Err(ApiError::NotFound("Not found.".into()));
            return finish(&route, version, err, false, &method, rest);
        }
    };
    let ctx = Ctx {
        base: base_url(app, headers),
        version,
        format,
        principal: None,
        params,
        path: format!("/api/{rest}"),
        zone: app.zone.clone(),
    };
    let result = async {
        let principal = match authenticate(app, headers, client).await? {
            Some((p, credential)) => {
                check_csrf(&method, &credential, headers)?;
                Some(p)
            }
            None => None,
        };
        if let Some(p) = &principal {
            scope_allows(&p.scope, &route, &method)?;
        }
        let ctx = Ctx { principal, ..ctx };
        if route == Route::EventStream && method == Method::GET {
            let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
            return event_stream::stream(app, ctx, last).await;
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        dispatch(app, &ctx, &route, &method, content_type, &body).await
    }
    .await;
    finish(&route, version, result, html, &method, rest)
}

/// Whether the Accept header admits JSON or the HTML page (a missing
/// header does); anything else is a 406, as upstream.
fn acceptable(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|part| {
        let mime = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            mime.as_str(),
            "" | "*/*" | "application/*" | "application/json" | "text/*" | "text/html"
        )
    })
}

/// `Accept: text/event-stream`, which SSE clients send, for the stream.
fn event_stream_accepted(route: &Route, headers: &HeaderMap) -> bool {
    *route == Route::EventStream
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/event-stream"))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

async fn dispatch(
    app: &App,
    ctx: &Ctx,
    route: &Route,
    method: &Method,
    content_type: Option<&str>,
    body: &Bytes,
) -> Result<Reply, ApiError> {
    let allowed = route.allow(ctx.version);
    let name = method.as_str();
    if *method == Method::OPTIONS {
        let (title, description) = route.describe();
        let mut j = Json::new();
        j.begin(None)
            .str("name", title)
            .str("description", description);
        j.begin_array(Some("renders"))
            .item_str("application/json")
            .item_str("text/html")
            .end_array();
        j.begin_array(Some("parses"))
            .item_str("application/json")
            .item_str("application/x-www-form-urlencoded")
            .item_str("multipart/form-data")
            .end_array();
        j.end();
        return Ok(Reply::ok(j.finish()));
    }
    let read = *method == Method::GET || *method == Method::HEAD;
    if !allowed.split(", ").any(|m| m == name) && (!read || !allowed.contains("GET")) {
        return Err(ApiError::MethodNotAllowed(name.to_string()));
    }
    let parse_body = || Body::parse(content_type, body);
    if read && ctx.params.has_nul() && route.is_list() {
        let page = ctx.page()?;
        return list_reply(ctx, page, Listed::<()>::empty(page), |_, _| {});
    }
    match route {
        Route::Index => Ok(index(ctx)),
        Route::Projects => project::list(app, ctx).await,
        Route::Project(p) if read => project::detail(app, ctx, p).await,
        Route::Project(p) => project::update(app, ctx, p, &parse_body()?).await,
        Route::Users => user::list(app, ctx).await,
        Route::User(id) if read => user::detail(app, ctx, *id).await,
        Route::User(id) => user::update(app, ctx, *id, method, &parse_body()?).await,
        Route::People => person::list(app, ctx).await,
        Route::Person(id) => person::detail(app, ctx, *id).await,
        Route::Patches if read => patch::list(app, ctx).await,
        Route::Patches => {
            patch::update_many(app, ctx, &Body::parse_list(content_type, body)?).await
        }
        Route::Patch(id) if read => patch::detail(app, ctx, *id).await,
        Route::Patch(id) => patch::update(app, ctx, *id, method, &parse_body()?).await,
        Route::PatchChecks(p) if read => check::list(app, ctx, *p).await,
        Route::PatchChecks(p) => check::create(app, ctx, *p, &parse_body()?).await,
        Route::PatchCheck(p, c) if read => check::detail(app, ctx, *p, *c).await,
        Route::PatchCheck(p, c) => check::update(app, ctx, *p, *c, &parse_body()?).await,
        Route::SeriesChecks(s) if read => check::series_list(app, ctx, *s).await,
        Route::SeriesChecks(s) => check::series_create(app, ctx, *s, &parse_body()?).await,
        Route::SeriesCheck(s, c) if read => check::series_detail(app, ctx, *s, *c).await,
        Route::SeriesCheck(s, c) => check::series_update(app, ctx, *s, *c, &parse_body()?).await,
        Route::PatchRecheck(p) => {
            let of = patchtrack_store::RecheckOf::Patch(*p);
            check::recheck(app, ctx, of, &parse_body()?).await
        }
        Route::SeriesRecheck(s) => {
            let of = patchtrack_store::RecheckOf::Series(*s);
            check::recheck(app, ctx, of, &parse_body()?).await
        }
        Route::PatchComments(p) => {
            comment::list(app, ctx, patchtrack_store::Parent::Patch(*p)).await
        }
        Route::CoverComments(c) => {
            comment::list(app, ctx, patchtrack_store::Parent::Cover(*c)).await
        }
        Route::PatchComment(p, c) if read => {
            comment::detail(app, ctx, patchtrack_store::Parent::Patch(*p), *c).await
        }
        Route::CoverComment(p, c) if read => {
            comment::detail(app, ctx, patchtrack_store::Parent::Cover(*p), *c).await
        }
        Route::PatchComment(p, c) => {
            let parent = patchtrack_store::Parent::Patch(*p);
            comment::update(app, ctx, parent, *c, &parse_body()?).await
        }
        Route::CoverComment(p, c) => {
            let parent = patchtrack_store::Parent::Cover(*p);
            comment::update(app, ctx, parent, *c, &parse_body()?).await
        }
        Route::Covers => cover::list(app, ctx).await,
        Route::Cover(id) => cover::detail(app, ctx, *id).await,
        Route::SeriesList => series::list(app, ctx).await,
        Route::Series(id) if read => series::detail(app, ctx, *id).await,
        Route::Series(id) => series::update(app, ctx, *id, &parse_body()?).await,
        Route::SeriesInterdiff(id) => series::interdiff(app, ctx, *id).await,
        Route::Bundles if read => bundle::list(app, ctx).await,
        Route::Bundles => bundle::create(app, ctx, &parse_body()?).await,
        Route::Bundle(id) if read => bundle::detail(app, ctx, *id).await,
        Route::Bundle(id) => bundle::write(app, ctx, *id, method, &parse_body()?).await,
        Route::Events => event::list(app, ctx).await,
        // GET is answered before dispatch; HEAD gets the headers only.
        Route::EventStream => Ok(Reply::ok(String::new())),
        Route::ProjectWebhooks(p) if read => webhook::list(app, ctx, p).await,
        Route::ProjectWebhooks(p) => webhook::create(app, ctx, p, &parse_body()?).await,
        Route::Webhook(id) if read => webhook::detail(app, ctx, *id).await,
        Route::Webhook(id) if *method == Method::DELETE => webhook::delete(app, ctx, *id).await,
        Route::Webhook(id) => webhook::update(app, ctx, *id, &parse_body()?).await,
        Route::WebhookDeliveries(id) => webhook::deliveries(app, ctx, *id).await,
        Route::DeliveryReplay(id, d) => webhook::replay(app, ctx, *id, *d).await,
    }
}

fn index(ctx: &Ctx) -> Reply {
    let mut j = Json::new();
    j.begin(None);
    for name in [
        "projects", "users", "people", "patches", "covers", "series", "events", "bundles",
    ] {
        j.str(name, &ctx.api(&format!("{name}/")));
    }
    j.end();
    Reply::ok(j.finish())
}

fn finish(
    route: &Route,
    version: Version,
    result: Result<Reply, ApiError>,
    html: bool,
    method: &Method,
    rest: &str,
) -> Response {
    let retry_after = match &result {
        Err(ApiError::Throttled(secs)) => Some(*secs),
        _ => None,
    };
    let (status, body, link, location) = match result {
        Ok(Reply {
            stream: Some(stream),
            ..
        }) => return event_stream_response(stream),
        Ok(r) => (r.status, r.body, r.link, r.location),
        Err(e) => {
            if let ApiError::Internal(cause) = &e {
                tracing::error!(%cause, "API request failed");
            }
            let (status, body) = e.parts();
            (status, body, None, None)
        }
    };
    let (content_type, body) = if html && status != StatusCode::NO_CONTENT {
        (
            "text/html; charset=utf-8",
            browsable(
                route,
                version,
                method,
                &format!("/api/{rest}"),
                status,
                &body,
                link.as_deref(),
            ),
        )
    } else {
        ("application/json", body)
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::ALLOW,
        HeaderValue::from_static(route.allow(version)),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept, Cookie"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LINK, link);
    }
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc);
    }
    if let Some(secs) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The answer of the event stream: never cached, never buffered by a
/// proxy (nginx reads `X-Accel-Buffering`).
fn event_stream_response(stream: axum::body::Body) -> Response {
    let mut response = Response::new(stream);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::VARY, HeaderValue::from_static("Accept, Cookie"));
    response
}

/// The `?format=api` page: the JSON shown in a page, as the browsable API
/// does.
fn browsable(
    route: &Route,
    version: Version,
    method: &Method,
    path: &str,
    status: StatusCode,
    body: &str,
    link: Option<&str>,
) -> String {
    let pretty = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string());
    let (title, description) = route.describe();
    let mut head = format!(
        "HTTP {} {}\nAllow: {}\nContent-Type: application/json\nVary: Accept\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        route.allow(version)
    );
    if let Some(l) = link {
        head.push_str(&format!("Link: {l}\n"));
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{} – patchtrack REST API</title></head>\
         <body><h1>{}</h1><p>{}</p><p>{} {}</p><pre>{}\n{}</pre></body></html>\n",
        crate::html::escape(title),
        crate::html::escape(title),
        crate::html::escape(description),
        method,
        crate::html::escape(path),
        crate::html::escape(&head),
        crate::html::escape(&pretty)
    )
}

/// Django's 404 for paths no route matches.
pub fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!DOCTYPE html>\n<html><head><title>Not Found</title></head><body><h1>Not Found</h1>\
         <p>The requested resource was not found on this server.</p></body></html>\n",
    )
        .into_response()
}

/// The largest request body the API reads (axum's default, made explicit
/// so that the 413 can say it). Django's own limit for form bodies is
/// 2.5 MB; the largest real write, a bundle of thousands of patch ids, is
/// a few dozen kilobytes.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The longest path plus query string the API serves. Every list answer
/// echoes the query, re-encoded (up to three times longer), in each of
/// its four `Link` entries; Python's `http.client`, under git-pw, pwclient
/// and b4, refuses a header line over 64 KiB, so an unbounded echo would
/// break the very clients that follow those links. gunicorn, which serves
/// upstream, refuses request lines over 4094 bytes.
pub const URI_LIMIT: usize = 4096;

/// A body axum could not read: over [`BODY_LIMIT`] (413), or cut short;
/// JSON like every other API error, instead of axum's plain text.
pub fn body_refused(refused: &axum::extract::rejection::BytesRejection) -> Response {
    let error = if refused.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(BODY_LIMIT)
    } else {
        ApiError::BadRequest("The request body could not be read.".into())
    };
    bare_error(&error)
}

/// An error answered before any route is known.
fn bare_error(error: &ApiError) -> Response {
    let (status, body) = error.parts();
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept, Cookie"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}
