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

/// API 1.5 is 1.4 with additions only: every field of every 1.4 answer is
/// in the 1.5 answer with the same value (its links naming 1.5), and the
/// status is the same. 1.5 may add fields; it may not drop or change one.
#[tokio::test]
async fn version_1_5_is_a_superset_of_1_4() {
    fn renamed(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(s.replace("/api/1.4/", "/api/1.5/")),
            Value::Array(a) => Value::Array(a.iter().map(renamed).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), renamed(v))).collect())
            }
            other => other.clone(),
        }
    }
    fn contains(wider: &Value, narrow: &Value, path: &str) {
        match (wider, narrow) {
            (Value::Object(w), Value::Object(n)) => {
                for (k, v) in n {
                    let Some(got) = w.get(k) else {
                        panic!("1.5 drops {path}.{k}");
                    };
                    contains(got, v, &format!("{path}.{k}"));
                }
            }
            (Value::Array(w), Value::Array(n)) => {
                assert_eq!(w.len(), n.len(), "length of {path}");
                for (i, (a, b)) in w.iter().zip(n).enumerate() {
                    contains(a, b, &format!("{path}[{i}]"));
                }
            }
            _ => assert_eq!(wider, narrow, "{path}"),
        }
    }
    for store in common::stores().await {
        let f = fixture(store).await;
        let (p, c) = (f.patch, f.cover);
        let (pc, cc) = (f.patch_comment, f.cover_comment);
        let paths = [
            String::new(),
            "projects/".into(),
            "projects/1/".into(),
            "users/".into(),
            "users/4/".into(),
            "people/".into(),
            "patches/".into(),
            format!("patches/{p}/"),
            "patches/?state=new&order=-date&per_page=1&page=2".into(),
            "covers/".into(),
            format!("covers/{c}/"),
            "series/".into(),
            format!("patches/{p}/comments/"),
            format!("patches/{p}/comments/{pc}/"),
            format!("covers/{c}/comments/"),
            format!("covers/{c}/comments/{cc}/"),
            format!("patches/{p}/checks/"),
            "bundles/".into(),
            "events/".into(),
            "patches/999999/".into(),
        ];
        for token in &f.tokens {
            for path in &paths {
                let (s14, b14) =
                    get(&f.router, &format!("/api/1.4/{path}"), token.as_deref()).await;
                let (s15, b15) =
                    get(&f.router, &format!("/api/1.5/{path}"), token.as_deref()).await;
                assert_eq!(s14, s15, "status of {path}");
                contains(&b15, &renamed(&b14), path);
            }
        }
    }
}

/// API 1.5's series say where their patches stand: the count per state
/// and whether one still waits in an action-required state; 1.4's do not.
#[tokio::test]
async fn series_in_1_5_say_where_their_patches_stand() {
    for store in common::stores().await {
        let f = fixture(store).await;
        let maint = f.tokens[4].as_deref();
        let (_, series) = get(&f.router, "/api/1.5/series/", None).await;
        let ours = series
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["patches"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == f.patch)
            })
            .unwrap()
            .clone();
        assert_eq!(ours["open"], true);
        assert_eq!(ours["state"], serde_json::json!({"new": 1}));
        let id = ours["id"].as_i64().unwrap();
        let (_, old) = get(&f.router, &format!("/api/1.4/series/{id}/"), None).await;
        assert!(
            old.get("open").is_none() && old.get("state").is_none(),
            "{old}"
        );
        // Accepted is not action-required: nothing waits any more.
        let body = r#"{"state":"accepted"}"#.to_string();
        let patch = format!("/api/patches/{}/", f.patch);
        assert_eq!(call(&f.router, "PATCH", &patch, maint, &body).await, 200);
        let (_, now) = get(&f.router, &format!("/api/1.5/series/{id}/"), None).await;
        assert_eq!(now["open"], false);
        assert_eq!(now["state"], serde_json::json!({"accepted": 1}));
        // Back to new but archived: still nothing waits.
        let body = r#"{"state":"new","archived":true}"#.to_string();
        assert_eq!(call(&f.router, "PATCH", &patch, maint, &body).await, 200);
        let (_, now) = get(&f.router, &format!("/api/1.5/series/{id}/"), None).await;
        assert_eq!(
            (&now["open"], &now["state"]),
            (&serde_json::json!(false), &serde_json::json!({"new": 1}))
        );
    }
}
