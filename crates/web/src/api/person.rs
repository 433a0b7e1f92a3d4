//! `/api/people/`: mail authors, for authenticated users only.

use patchtrack_store::{Person, PersonOrder};

use super::embed::Embed;
use super::{Ctx, Reply, list_reply};
use crate::App;
use crate::error::ApiError;
use crate::json::Json;

const ORDER: [(&str, PersonOrder); 3] = [
    ("id", PersonOrder::Id),
    ("name", PersonOrder::Name),
    ("email", PersonOrder::Email),
];

fn render(e: &Embed<'_>, j: &mut Json, p: &Person) {
    j.begin(None)
        .int("id", p.person.id)
        .str("url", &e.ctx.api(&format!("people/{}/", p.person.id)))
        .opt_str("name", p.person.name.as_deref())
        .str("email", &p.person.email);
    match &p.user {
        Some(u) => e.user(j, Some("user"), Some(u)),
        None => {
            j.null("user");
        }
    }
    j.end();
}

/// `GET /people/`.
pub async fn list(app: &App, ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_user()?;
    let page = ctx.page()?;
    let order = ctx.params.order(&ORDER, &[(PersonOrder::Id, false)]);
    let listed = app.store.people(&ctx.params.search(), &order, page).await?;
    let e = Embed::load(app, ctx).await?;
    list_reply(ctx, page, listed, |j, p| render(&e, j, p))
}

/// `GET /people/ID/`.
pub async fn detail(app: &App, ctx: &Ctx, id: i64) -> Result<Reply, ApiError> {
    ctx.require_user()?;
    let p = app
        .store
        .person(id)
        .await?
        .ok_or_else(|| ApiError::no_match("Person"))?;
    let e = Embed::load(app, ctx).await?;
    let mut j = Json::new();
    render(&e, &mut j, &p);
    Ok(Reply::ok(j.finish()))
}
