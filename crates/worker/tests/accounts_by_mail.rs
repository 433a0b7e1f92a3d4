//! Accounts by mail end to end: the pages, through the router, queue mail
//! that a worker delivers to a real SMTP server (aiosmtpd), and the links
//! in the delivered mails, followed through the router, do what they say.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use patchtrack_worker::Worker;
use patchtrack_worker::mailer::{Mailer, SmtpConfig, TlsMode};
use support::{SmtpServer, header, subject_and_body};
use tower::ServiceExt;

const SITE: &str = "http://tracker.test";

struct Browser {
    router: axum::Router,
    cookies: Vec<(String, String)>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    async fn send(&mut self, method: &str, uri: &str, form: &[(&str, &str)]) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "tracker.test")
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        for c in response.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() && !c.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// GETs a page and POSTs one of its forms with its CSRF token.
    async fn post_form(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let got = self.send("GET", page, &[]).await;
        assert_eq!(got.status, 200, "{page}: {}", got.body);
        let token = got
            .body
            .split("name=\"csrfmiddlewaretoken\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        let mut form = vec![("csrfmiddlewaretoken", token.as_str())];
        form.extend_from_slice(fields);
        self.send("POST", action, &form).await
    }
}

/// The one link to this site in a delivered mail, as a path.
fn link(message: &[u8]) -> String {
    let (_, body) = subject_and_body(message);
    let url = body
        .split_whitespace()
        .find(|w| w.starts_with(SITE))
        .unwrap_or_else(|| panic!("no link in {body}"));
    url.strip_prefix(SITE).unwrap().to_string()
}

/// Sends the one queued mail and returns it as delivered.
async fn next_mail(worker: &Worker, server: &SmtpServer, delivered: &mut usize) -> Vec<u8> {
    assert_eq!(worker.run_once().await.unwrap(), 1, "one mail queued");
    *delivered += 1;
    let all = server.wait_for(*delivered).await;
    assert_eq!(all.len(), *delivered);
    all[*delivered - 1].clone()
}

#[tokio::test]
async fn register_confirm_log_in_opt_out_reset_and_link_by_mail() {
    let Some(server) = SmtpServer::start_new() else {
        return;
    };
    let store = support::sqlite().await;
    let mut app = patchtrack_web::App::new(store.clone());
    app.base_url = Some(SITE.into());
    let mut browser = Browser {
        router: patchtrack_web::router(app),
        cookies: Vec::new(),
    };
    let worker = Worker::new(store.clone()).with(
        Mailer::new(&SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(server.port),
            tls: TlsMode::None,
            user: None,
            password: None,
            from: "Patchwork <patchwork@tracker.test>".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap(),
    );
    let mut delivered = 0;

    // Register: an inactive account and its mail.
    let form = [
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("username", "ada"),
        ("email", "ada@example.org"),
        ("password", "analytical"),
    ];
    let r = browser.post_form("/register/", "/register/", &form).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"registration-sent\""), "{}", r.body);
    let again = browser.post_form("/register/", "/register/", &form).await;
    assert!(again.body.contains("already taken"), "{}", again.body);
    let mail = next_mail(&worker, &server, &mut delivered).await;
    let (subject, body) = subject_and_body(&mail);
    assert_eq!(subject, "Patchwork account confirmation");
    assert_eq!(
        header(&mail, "X-RcptTo").as_deref(),
        Some("ada@example.org")
    );
    assert!(
        body.contains("Ada Lovelace") && body.contains("\"ada\""),
        "{body}"
    );
    let confirm = link(&mail);
    assert!(confirm.starts_with("/confirm/") && confirm.len() == "/confirm/".len() + 41);

    // Not before the link is followed.
    let login = [("username", "ada"), ("password", "analytical")];
    let r = browser
        .post_form("/user/login/", "/user/login/", &login)
        .await;
    assert_eq!(r.status, 200, "refused");
    let r = browser.send("GET", &confirm, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Registration confirmed"), "{}", r.body);
    let r = browser.send("GET", &confirm, &[]).await;
    assert!(r.body.contains("already been processed"), "{}", r.body);
    assert_eq!(browser.send("GET", "/confirm/0123/", &[]).await.status, 404);
    let r = browser
        .post_form("/user/login/", "/user/login/", &login)
        .await;
    assert_eq!((r.status, r.location.as_deref()), (302, Some("/user/")));

    // Link another address: the mail goes to it, the link needs the login.
    let r = browser
        .post_form(
            "/user/link/",
            "/user/link/",
            &[("email", "ada@work.example")],
        )
        .await;
    assert!(r.body.contains("id=\"link-sent\""), "{}", r.body);
    let mail = next_mail(&worker, &server, &mut delivered).await;
    assert_eq!(
        subject_and_body(&mail).0,
        "Patchwork email address confirmation"
    );
    assert_eq!(
        header(&mail, "X-RcptTo").as_deref(),
        Some("ada@work.example")
    );
    let add = link(&mail);
    let mut stranger = Browser {
        router: browser.router.clone(),
        cookies: Vec::new(),
    };
    let r = stranger.send("GET", &add, &[]).await;
    assert_eq!(r.status, 302);
    assert!(r.location.unwrap().starts_with("/user/login/?next="));
    let r = browser.send("GET", &add, &[]).await;
    assert!(
        r.body.contains("ada@work.example is now linked"),
        "{}",
        r.body
    );
    let people = store
        .people(
            &["ada".into()],
            &[],
            patchtrack_store::Page {
                number: 1,
                size: 10,
            },
        )
        .await
        .unwrap()
        .unwrap()
        .items;
    assert_eq!(people.len(), 2);
    let work = people
        .iter()
        .find(|p| p.person.email == "ada@work.example")
        .unwrap();
    // The profile lists both addresses; only the other one can be unlinked.
    let unlink = format!("/user/unlink/{}/", work.person.id);
    let profile = browser.send("GET", "/user/", &[]).await.body;
    let addresses = profile.split("id=\"addresses\"").nth(1).unwrap();
    let addresses = addresses.split("</table>").next().unwrap();
    assert!(addresses.contains("ada@example.org <span class=\"muted\">(primary)"));
    assert!(addresses.contains("ada@work.example"));
    assert_eq!(
        addresses
            .matches("class=\"inline-form unlink-form\"")
            .count(),
        1
    );
    assert!(addresses.contains(&format!("action=\"{unlink}\"")));
    assert_eq!(addresses.matches("action=\"/mail/optout/\"").count(), 2);
    // Unlink it again (only one's own: another id is a 404).
    let r = browser.post_form("/user/", &unlink, &[]).await;
    assert_eq!((r.status, r.location.as_deref()), (302, Some("/user/")));
    assert!(
        store
            .person(work.person.id)
            .await
            .unwrap()
            .unwrap()
            .user
            .is_none()
    );
    let r = browser
        .post_form("/user/", "/user/unlink/999999/", &[])
        .await;
    assert_eq!(r.status, 404);
    let profile = browser.send("GET", "/user/", &[]).await.body;
    assert!(!profile.contains("ada@work.example"), "{profile}");

    // Opt out, no login needed.
    let r = stranger
        .post_form("/mail/", "/mail/optout/", &[("email", "Ada@Example.org")])
        .await;
    assert!(r.body.contains("opt-out has been sent"), "{}", r.body);
    let mail = next_mail(&worker, &server, &mut delivered).await;
    assert_eq!(subject_and_body(&mail).0, "Patchwork opt-out request");
    let r = stranger.send("GET", &link(&mail), &[]).await;
    assert!(r.body.contains("will not send"), "{}", r.body);
    assert!(store.is_opted_out("ada@example.org").await.unwrap());
    let r = stranger
        .post_form("/mail/", "/mail/", &[("email", "ada@example.org")])
        .await;
    assert!(r.body.contains("may not"), "{}", r.body);
    assert_eq!(
        stranger
            .send("GET", "/mail/optin/", &[])
            .await
            .location
            .as_deref(),
        Some("/mail/")
    );

    // Reset the password by mail; the link works once.
    let r = stranger
        .post_form(
            "/user/password-reset/",
            "/user/password-reset/",
            &[("email", "ada@example.org")],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some("/user/password-reset/mail-sent/")
    );
    let mail = next_mail(&worker, &server, &mut delivered).await;
    assert_eq!(subject_and_body(&mail).0, "Password reset on tracker.test");
    let reset = link(&mail);
    assert!(reset.starts_with("/user/password-reset/MQ/"), "{reset}");
    let new = [
        ("new_password1", "differential"),
        ("new_password2", "differential"),
    ];
    let r = stranger.post_form(&reset, &reset, &new).await;
    assert_eq!(r.location.as_deref(), Some("/user/login/"));
    let r = stranger.send("GET", &reset, &[]).await;
    assert!(r.body.contains("id=\"reset-invalid\""), "used up");
    let r = stranger
        .post_form(
            "/user/login/",
            "/user/login/",
            &[("username", "ada"), ("password", "differential")],
        )
        .await;
    assert_eq!(r.status, 302, "the new password works");
    // Unknown addresses get the same answer and no mail.
    let r = stranger
        .post_form(
            "/user/password-reset/",
            "/user/password-reset/",
            &[("email", "nobody@example.org")],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some("/user/password-reset/mail-sent/")
    );
    assert_eq!(worker.run_once().await.unwrap(), 0);
    assert_eq!(server.messages().len(), delivered);
}
