//! The list filters' autocomplete: `/submitter/?q=&l=` (people by name or
//! address) and `/delegate/?q=&l=` (accounts by username or name), JSON
//! as Patchwork's views write it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::App;

/// The most answers one request gives (upstream has no cap without `l`:
/// three letters could list a million people).
pub const MAX_ANSWERS: u64 = 500;

/// The autocomplete routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/submitter/", get(submitters))
        .route("/delegate/", get(delegates))
}

/// The search text and the limit: `None` when the text is too short to
/// search (Patchwork wants three characters).
fn terms(query: Option<&str>) -> Option<(String, u64)> {
    let mut q = String::new();
    let mut limit = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "q" if q.is_empty() => q = v.into_owned(),
            "l" if limit.is_none() => limit = Some(v.trim().parse::<i64>().ok()),
            _ => {}
        }
    }
    if q.chars().count() <= 2 || q.contains('\0') {
        return None;
    }
    let limit = match limit.flatten() {
        Some(n) if n > 0 => u64::try_from(n).unwrap_or(MAX_ANSWERS).min(MAX_ANSWERS),
        _ => MAX_ANSWERS,
    };
    Some((q, limit))
}

/// One answer: `pk`, `name` and `email` in that order.
type Item = [(&'static str, serde_json::Value); 3];

/// A JSON value as Python's `json.dumps` writes it by default
/// (`ensure_ascii`): every character outside ASCII as `\uXXXX`, in
/// surrogate pairs beyond the first plane.
fn python_value(v: &serde_json::Value) -> String {
    let Some(text) = v.as_str() else {
        return v.to_string();
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Python's `json.dumps` of a list of dicts: keys in insertion order,
/// `", "` and `": "` between them.
fn python_json(items: &[Item]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('{');
        for (j, (k, v)) in item.iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("\"{k}\": {}", python_value(v)));
        }
        out.push('}');
    }
    out.push(']');
    out
}

fn answer(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn item(pk: i64, name: serde_json::Value, email: &str) -> Item {
    [("pk", json!(pk)), ("name", name), ("email", json!(email))]
}

/// The answers as JSON, or a logged 500.
fn reply(found: Result<Vec<Item>, patchtrack_store::StoreError>) -> Response {
    match found {
        Ok(items) => answer(python_json(&items)),
        Err(e) => {
            tracing::error!(error = %e, "autocomplete failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "server error\n").into_response()
        }
    }
}

async fn submitters(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let Some((q, limit)) = terms(query.as_deref()) else {
        return answer(String::new());
    };
    let take = patchtrack_store::field_lookup::Take::First(limit);
    let found = app.store.people_containing(&q, take).await.map(|people| {
        people
            .iter()
            .map(|p| item(p.person.id, json!(p.person.name), &p.person.email))
            .collect()
    });
    reply(found)
}

async fn delegates(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let Some((q, limit)) = terms(query.as_deref()) else {
        return answer(String::new());
    };
    let found = app.store.users_containing(&q, limit).await.map(|users| {
        users
            .iter()
            .map(|u| item(u.user.id, json!(u.user.username), &u.user.email))
            .collect()
    });
    reply(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_searches_are_not_made() {
        assert_eq!(terms(Some("q=ab")), None);
        assert_eq!(terms(Some("q=%00%00%00")), None);
        assert_eq!(terms(Some("q=abc")), Some(("abc".into(), MAX_ANSWERS)));
        assert_eq!(terms(Some("q=abc&l=10")), Some(("abc".into(), 10)));
        assert_eq!(terms(Some("q=abc&l=x")), Some(("abc".into(), MAX_ANSWERS)));
        assert_eq!(terms(Some("l=-1&q=abc")), Some(("abc".into(), MAX_ANSWERS)));
    }

    #[test]
    fn writes_pythons_json() {
        let items = vec![[
            ("pk", json!(1)),
            ("name", json!(null)),
            ("email", json!("a\"@x")),
        ]];
        let accents = [[
            ("pk", json!(2)),
            ("name", json!("Rafał 😀")),
            ("email", json!("r@x")),
        ]];
        assert_eq!(
            python_json(&accents),
            r#"[{"pk": 2, "name": "Rafa\u0142 \ud83d\ude00", "email": "r@x"}]"#
        );
        assert_eq!(
            python_json(&items),
            r#"[{"pk": 1, "name": null, "email": "a\"@x"}]"#
        );
    }
}
