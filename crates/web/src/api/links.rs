//! The pagination `Link` header, spelled exactly as Patchwork's: next,
//! prev, first, last in that order, joined by `", "`; the query re-encoded
//! with its keys sorted; `prev` without `page` when it is page 1.

use patchtrack_store::Position;

use super::Ctx;
use super::params::quote_plus;

/// The header value for a served page.
pub fn header(ctx: &Ctx, at: Position) -> String {
    let mut parts = Vec::with_capacity(4);
    if let Some(next) = at.next() {
        parts.push(format!("<{}>; rel=\"next\"", url(ctx, Some(next))));
    }
    if let Some(prev) = at.prev() {
        parts.push(format!(
            "<{}>; rel=\"prev\"",
            url(ctx, (prev > 1).then_some(prev))
        ));
    }
    parts.push(format!("<{}>; rel=\"first\"", url(ctx, Some(1))));
    parts.push(format!("<{}>; rel=\"last\"", url(ctx, Some(at.last))));
    parts.join(", ")
}

/// The request URL with `page` set (or removed).
fn url(ctx: &Ctx, page: Option<u64>) -> String {
    // parse_qs groups values by key; urlencode(sorted(...), doseq=True)
    // then writes keys in order, each key's values in request order.
    let mut keys: Vec<&str> = Vec::new();
    for (k, _) in ctx.params.pairs() {
        if k != "page" && !keys.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    let page_text = page.map(|p| p.to_string());
    if page_text.is_some() {
        keys.push("page");
    }
    keys.sort_unstable();
    let mut query = Vec::new();
    for k in keys {
        if k == "page" {
            if let Some(p) = &page_text {
                query.push(format!("page={p}"));
            }
            continue;
        }
        for v in ctx.params.all(k) {
            query.push(format!("{}={}", quote_plus(k), quote_plus(v)));
        }
    }
    let mut out = format!("{}{}", ctx.base, ctx.path);
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}
