//! `/api/users/`: accounts, for authenticated users only; each user may
//! change their own names and (1.2+) settings.

use axum::http::Method;
use patchtrack_store::{User, UserOrder, UserUpdate};

use super::{Body, Ctx, Input, Reply, list_reply};
use crate::App;
use crate::error::{ApiError, NO_PERMISSION};
use crate::json::Json;

const ORDER: [(&str, UserOrder); 3] = [
    ("id", UserOrder::Id),
    ("username", UserOrder::Username),
    ("email", UserOrder::Email),
];

fn render(ctx: &Ctx, j: &mut Json, u: &User, settings: bool) {
    j.begin(None)
        .int("id", u.user.id)
        .str("url", &ctx.api(&format!("users/{}/", u.user.id)))
        .str("username", &u.user.username)
        .str("first_name", &u.user.first_name)
        .str("last_name", &u.user.last_name)
        .str("email", &u.user.email);
    if settings {
        j.begin(Some("settings"))
            .bool("send_email", u.settings.send_email)
            .int("items_per_page", u.settings.items_per_page)
            .bool("show_ids", u.settings.show_ids)
            .end();
    }
    j.end();
}

/// `GET /users/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_user()?;
    let page = ctx.page()?;
    let order = ctx.params.order(&ORDER, &[(UserOrder::Id, false)]);
    let listed = app.store.users(&ctx.params.search(), &order, page).await?;
    list_reply(ctx, page, listed, |j, u| render(ctx, j, u, false))
}

fn own_settings(ctx: &Ctx, id: i64) -> bool {
    ctx.version.at_least(2) && ctx.principal.as_ref().is_some_and(|p| p.user.id == id)
}

/// `GET /users/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    ctx.require_user()?;
    let u = app
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::no_match("User"))?;
    let mut j = Json::new();
    render(ctx, &mut j, &u, own_settings(ctx, id));
    Ok(Reply::ok(j.finish()))
}

fn name_field(body: &Body, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(v) => {
            let s = v
                .as_text()
                .ok_or_else(|| ApiError::field(key, "Not a valid string."))?;
            if s.chars().count() > 150 {
                return Err(ApiError::field(
                    key,
                    "Ensure this field has no more than 150 characters.",
                ));
            }
            Ok(Some(s))
        }
    }
}

/// `PATCH`/`PUT /users/ID/`: the user themselves only.
pub async fn update(
    app: &App,
    ctx: &Ctx,
    id: i64,
    method: &Method,
    body: &Body,
) -> Result<Reply, ApiError> {
    let who = ctx.require_user()?;
    if app.store.user(id).await?.is_none() {
        return Err(ApiError::no_match("User"));
    }
    if who.user.id != id {
        return Err(ApiError::Forbidden(NO_PERMISSION.into()));
    }
    let mut update = UserUpdate {
        first_name: name_field(body, "first_name")?,
        last_name: name_field(body, "last_name")?,
        ..UserUpdate::default()
    };
    match body.get("settings") {
        Some(Input::Object(s)) if ctx.version.at_least(2) => {
            if let Some(v) = s.get("send_email") {
                update.send_email = Some(
                    v.as_bool()
                        .ok_or_else(|| nested("send_email", "Must be a valid boolean."))?,
                );
            }
            if let Some(v) = s.get("show_ids") {
                update.show_ids = Some(
                    v.as_bool()
                        .ok_or_else(|| nested("show_ids", "Must be a valid boolean."))?,
                );
            }
            if let Some(v) = s.get("items_per_page") {
                let n = v
                    .as_i64()
                    .ok_or_else(|| nested("items_per_page", "A valid integer is required."))?;
                if n < 0 {
                    return Err(nested(
                        "items_per_page",
                        "Ensure this value is greater than or equal to 0.",
                    ));
                }
                update.items_per_page = Some(n);
            }
        }
        // Settings are only written from 1.2; earlier versions ignore them.
        Some(Input::Object(_)) => {}
        Some(_) => {
            return Err(ApiError::field(
                "settings",
                "Invalid data. Expected a dictionary.",
            ));
        }
        None if *method == Method::PUT => {
            return Err(ApiError::field("settings", "This field is required."));
        }
        None => {}
    }
    let u = app.store.update_user(id, &update).await?;
    let mut j = Json::new();
    render(ctx, &mut j, &u, own_settings(ctx, id));
    Ok(Reply::ok(j.finish()))
}

/// A nested field error: `{"settings": {"field": ["message"]}}`.
fn nested(field: &str, message: &str) -> ApiError {
    let mut out = String::from("{\"settings\":{");
    crate::json::escape(&mut out, field);
    out.push_str(":[");
    crate::json::escape(&mut out, message);
    out.push_str("]}}");
    ApiError::RawBadRequest(out)
}
