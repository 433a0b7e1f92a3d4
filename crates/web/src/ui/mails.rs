//! What the site's own mails say (confirmations and password resets), in
//! the text templates under `templates/mail/`. Links are absolute, from the
//! configured `--base-url`, else the request's Host.

use askama::Template;
use patchtrack_store::{CONFIRMATION_VALIDITY, OutgoingMail, PASSWORD_RESET_VALIDITY};

use super::Req;

/// Where the links in a mail point: this site as the browser reached it.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// `https://host`, without a trailing slash.
    pub base: String,
}

impl Site {
    /// The site a request reached.
    pub fn of(req: &Req) -> Site {
        Site {
            base: crate::api::base_url(&req.app, req.headers()),
        }
    }

    /// The host part, for the mails' wording.
    fn host(&self) -> &str {
        self.base.split_once("://").map_or(&self.base, |(_, h)| h)
    }

    fn confirm_link(&self, key: &str) -> String {
        format!("{}/confirm/{key}/", self.base)
    }
}

fn days(d: std::time::Duration) -> u64 {
    d.as_secs() / 86_400
}

/// Renders a mail body; should a template ever fail, the link alone still
/// does the job.
fn body(template: &impl Template, link: &str) -> String {
    template.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "mail template failed");
        format!("{link}\n")
    })
}

#[derive(Template)]
#[template(path = "mail/registration.txt")]
struct Registration<'a> {
    name: &'a str,
    username: &'a str,
    site: &'a str,
    link: &'a str,
    days: u64,
}

#[derive(Template)]
#[template(path = "mail/link_address.txt")]
struct LinkAddress<'a> {
    username: &'a str,
    email: &'a str,
    site: &'a str,
    link: &'a str,
    days: u64,
}

#[derive(Template)]
#[template(path = "mail/optout.txt")]
struct OptOut<'a> {
    email: &'a str,
    site: &'a str,
    link: &'a str,
    days: u64,
}

#[derive(Template)]
#[template(path = "mail/optin.txt")]
struct OptIn<'a> {
    email: &'a str,
    site: &'a str,
    link: &'a str,
    days: u64,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct PasswordReset<'a> {
    username: &'a str,
    site: &'a str,
    link: &'a str,
    days: u64,
}

impl Site {
    /// Patchwork's "Patchwork account confirmation".
    pub fn registration(&self, to: &str, name: &str, username: &str, key: &str) -> OutgoingMail {
        let link = self.confirm_link(key);
        let text = body(
            &Registration {
                name,
                username,
                site: self.host(),
                link: &link,
                days: days(CONFIRMATION_VALIDITY),
            },
            &link,
        );
        OutgoingMail::new(to, "Patchwork account confirmation", text)
    }

    /// Patchwork's "Patchwork email address confirmation".
    pub fn link_address(&self, to: &str, username: &str, key: &str) -> OutgoingMail {
        let link = self.confirm_link(key);
        let text = body(
            &LinkAddress {
                username,
                email: to,
                site: self.host(),
                link: &link,
                days: days(CONFIRMATION_VALIDITY),
            },
            &link,
        );
        OutgoingMail::new(to, "Patchwork email address confirmation", text)
    }

    /// Patchwork's "Patchwork opt-out request".
    pub fn optout(&self, to: &str, key: &str) -> OutgoingMail {
        let link = self.confirm_link(key);
        let text = body(
            &OptOut {
                email: to,
                site: self.host(),
                link: &link,
                days: days(CONFIRMATION_VALIDITY),
            },
            &link,
        );
        OutgoingMail::new(to, "Patchwork opt-out request", text)
    }

    /// Patchwork's "Patchwork opt-in request".
    pub fn optin(&self, to: &str, key: &str) -> OutgoingMail {
        let link = self.confirm_link(key);
        let text = body(
            &OptIn {
                email: to,
                site: self.host(),
                link: &link,
                days: days(CONFIRMATION_VALIDITY),
            },
            &link,
        );
        OutgoingMail::new(to, "Patchwork opt-in request", text)
    }

    /// Django's "Password reset on <site>", linking to
    /// `/user/password-reset/<uidb64>/<key>/`.
    pub fn password_reset(
        &self,
        to: &str,
        user_id: i64,
        username: &str,
        key: &str,
    ) -> OutgoingMail {
        let link = format!(
            "{}/user/password-reset/{}/{key}/",
            self.base,
            super::password_reset::uidb64(user_id)
        );
        let text = body(
            &PasswordReset {
                username,
                site: self.host(),
                link: &link,
                days: days(PASSWORD_RESET_VALIDITY),
            },
            &link,
        );
        OutgoingMail::new(to, &format!("Password reset on {}", self.host()), text)
    }
}

/// Whether a form's address can be mailed: one `@` between non-empty
/// parts, a dot in the domain, no spaces or controls, at most `max`
/// characters (what Django's EmailField lets through, near enough; the
/// confirmation mail is the real test).
pub(crate) fn is_address(email: &str, max: usize) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.chars().count() <= max
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}

#[cfg(test)]
mod tests {
    use super::is_address;

    #[test]
    fn addresses() {
        for ok in [
            "a@b.org",
            "first.last+tag@sub.example.co.uk",
            "zoë@exämple.org",
        ] {
            assert!(is_address(ok, 100), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.org",
            "a@b",
            "a b@c.org",
            "a@b.org\nBcc: x@y.org",
            "a@@b.org",
            "<a@b.org>",
            "a@.org",
            "a@b.org.",
        ] {
            assert!(!is_address(bad, 100), "{bad:?}");
        }
        assert!(!is_address(&format!("{}@b.org", "a".repeat(100)), 100));
    }
}
