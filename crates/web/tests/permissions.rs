//! Who may write what, as a matrix: every write of the API against
//! anonymous, another user, the submitter, the delegate, a maintainer and
//! a superuser who maintains nothing (superusers get no API rights
//! upstream), on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../store/tests/common/mod.rs"]
mod common;

mod support;

use support::{ACTORS, call, fixture};

#[tokio::test]
async fn every_write_by_every_actor() {
    for store in common::stores().await {
        let f = fixture(store).await;
        let (p, p2, c) = (f.patch, f.patch2, f.cover);
        let (pc, cc) = (f.patch_comment, f.cover_comment);
        // (what, method, path, body, expected status per actor)
        let rows: Vec<(&str, &str, String, String, [u16; 6])> = vec![
            (
                "patch state",
                "PATCH",
                format!("/api/patches/{p}/"),
                r#"{"state":"under-review"}"#.into(),
                [403, 403, 200, 200, 200, 403],
            ),
            (
                "patch archived",
                "PATCH",
                format!("/api/patches/{p}/"),
                r#"{"archived":true}"#.into(),
                [403, 403, 200, 200, 200, 403],
            ),
            (
                "patch related",
                "PATCH",
                format!("/api/patches/{p}/"),
                format!(r#"{{"related":[{p2}]}}"#),
                [403, 403, 403, 403, 200, 403],
            ),
            (
                "check create",
                "POST",
                format!("/api/patches/{p}/checks/"),
                r#"{"state":"success","context":"ci"}"#.into(),
                [403, 403, 201, 201, 201, 403],
            ),
            (
                "patch comment addressed",
                "PATCH",
                format!("/api/patches/{p}/comments/{pc}/"),
                r#"{"addressed":true}"#.into(),
                [403, 403, 200, 200, 200, 403],
            ),
            (
                "cover comment addressed",
                "PATCH",
                format!("/api/covers/{c}/comments/{cc}/"),
                r#"{"addressed":true}"#.into(),
                [403, 403, 200, 403, 200, 403],
            ),
            (
                "project",
                "PATCH",
                "/api/projects/proj/".into(),
                r#"{"web_url":"https://example.org"}"#.into(),
                [403, 403, 403, 403, 200, 403],
            ),
            (
                "user (the maintainer's account)",
                "PATCH",
                "/api/users/4/".into(),
                r#"{"first_name":"M"}"#.into(),
                [403, 403, 403, 403, 200, 403],
            ),
            (
                "bundle create",
                "POST",
                "/api/bundles/".into(),
                format!(r#"{{"name":"b","patches":[{p}]}}"#),
                [403, 201, 201, 201, 201, 201],
            ),
        ];
        for (what, method, path, body, expected) in &rows {
            for (actor, (token, want)) in ACTORS.iter().zip(f.tokens.iter().zip(expected)) {
                let got = call(&f.router, method, path, token.as_deref(), body).await;
                assert_eq!(got, *want, "{what} by {actor}");
            }
        }
        // Bundles: only the owner changes or deletes; others see a private
        // bundle as missing (404), a public one as forbidden (403).
        let maint = f.tokens[4].as_deref();
        let other = f.tokens[1].as_deref();
        let body = format!(r#"{{"name":"mine","patches":[{p}]}}"#);
        assert_eq!(
            call(&f.router, "POST", "/api/bundles/", maint, &body).await,
            201
        );
        // Five bundles named "b" were created above; this is the sixth.
        let url = "/api/bundles/6/";
        assert_eq!(
            call(&f.router, "PATCH", url, other, r#"{"name":"x"}"#).await,
            404
        );
        assert_eq!(
            call(&f.router, "PATCH", url, None, r#"{"name":"x"}"#).await,
            403
        );
        assert_eq!(
            call(&f.router, "PATCH", url, maint, r#"{"public":true}"#).await,
            200
        );
        assert_eq!(
            call(&f.router, "PATCH", url, other, r#"{"name":"x"}"#).await,
            403
        );
        assert_eq!(call(&f.router, "DELETE", url, other, "").await, 403);
        assert_eq!(call(&f.router, "DELETE", url, maint, "").await, 204);
        // Reads that need an account.
        for path in [
            "/api/users/",
            "/api/people/",
            "/api/users/1/",
            "/api/people/1/",
        ] {
            assert_eq!(call(&f.router, "GET", path, None, "").await, 403, "{path}");
            assert_eq!(call(&f.router, "GET", path, other, "").await, 200, "{path}");
        }
        // Nothing is writable where upstream has no write.
        for (method, path) in [
            ("POST", "/api/patches/".to_string()),
            ("DELETE", format!("/api/patches/{p}/")),
            ("PATCH", format!("/api/covers/{c}/")),
            ("DELETE", "/api/projects/proj/".to_string()),
            ("PATCH", format!("/api/patches/{p}/checks/1/")),
            ("POST", "/api/events/".to_string()),
        ] {
            assert_eq!(
                call(&f.router, method, &path, maint, "{}").await,
                405,
                "{method} {path}"
            );
        }
    }
}
