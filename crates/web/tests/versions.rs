//! The JSON of every resource in every API version, as snapshots: field
//! sets and order per version (reference §3, §12), embedded forms, URLs.
//! SQLite and PostgreSQL must produce the very same snapshot.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use serde_json::{Map, Value};
use support::{call, fixture, get};

/// Dates set from the clock (checks, events) vary; mail dates do not.
/// Person ids differ between the backends (PostgreSQL's upsert takes a
/// sequence number even when the person exists), so they are masked.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let is_person = map
                .get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains("/people/"));
            if is_person {
                map.insert("id".into(), Value::String("[person]".into()));
                if let Some(Value::String(u)) = map.get_mut("url") {
                    let base = u.split("/people/").next().unwrap_or_default().to_string();
                    *u = format!("{base}/people/[person]/");
                }
            }
            for (k, v) in map.iter_mut() {
                if k == "date"
                    && let Value::String(s) = v
                    && !s.starts_with("2020-02-03")
                {
                    *s = "[now]".into();
                }
                redact(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test]
async fn each_resource_in_each_version() {
    for store in common::stores().await {
        let f = fixture(store).await;
        let maint = f.tokens[4].as_deref();
        let (p, c) = (f.patch, f.cover);
        let (pc, cc) = (f.patch_comment, f.cover_comment);
        // A state change, a check and a bundle, so that every kind of
        // object and event exists.
        let json = |s: &str| s.to_string();
        assert_eq!(
            call(
                &f.router,
                "PATCH",
                &format!("/api/patches/{p}/"),
                maint,
                &json(r#"{"state":"accepted"}"#)
            )
            .await,
            200
        );
        assert_eq!(call(&f.router, "POST", &format!("/api/patches/{p}/checks/"), maint, &json(r#"{"state":"warning","context":"ci","target_url":"https://ci.example.org/1","description":"2 warnings"}"#)).await, 201);
        assert_eq!(
            call(
                &f.router,
                "POST",
                "/api/bundles/",
                maint,
                &format!(r#"{{"name":"mine","patches":[{p}],"public":true}}"#)
            )
            .await,
            201
        );
        let paths = [
            ("index", String::new()),
            ("projects", "projects/".into()),
            ("project", "projects/1/".into()),
            ("users", "users/".into()),
            ("user (self)", "users/4/".into()),
            ("person", "people/1/".into()),
            ("patches", "patches/".into()),
            ("patch", format!("patches/{p}/")),
            ("covers", "covers/".into()),
            ("cover", format!("covers/{c}/")),
            ("series", "series/".into()),
            ("patch comments", format!("patches/{p}/comments/")),
            ("patch comment", format!("patches/{p}/comments/{pc}/")),
            ("cover comments", format!("covers/{c}/comments/")),
            ("cover comment", format!("covers/{c}/comments/{cc}/")),
            ("checks", format!("patches/{p}/checks/")),
            ("bundles", "bundles/".into()),
            ("events", "events/".into()),
        ];
        for v in ["1.0", "1.1", "1.2", "1.3", "1.4"] {
            let mut all = Map::new();
            for (name, path) in &paths {
                let (status, mut body) = get(&f.router, &format!("/api/{v}/{path}"), maint).await;
                redact(&mut body);
                let entry = if status == 200 {
                    body
                } else {
                    Value::String(format!("HTTP {status}"))
                };
                all.insert((*name).to_string(), entry);
            }
            insta::assert_json_snapshot!(format!("api-v{v}"), all);
        }
    }
}
