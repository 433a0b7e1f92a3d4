//! What a state-change digest says (Patchwork's
//! `patch-change-notification` mail): one mail per submitter, with each
//! patch's web URL, its project, and its states before and after, then
//! the link to the mail settings where the address can opt out.
//!
//! The links are absolute: the mail is composed by a background pass, not
//! in a request, so the site's base URL comes from the configuration.

use askama::Template;
use patchtrack_store::{Digest, OutgoingMail};

use crate::urls;

/// One patch as the template shows it.
struct Line<'a> {
    linkname: &'a str,
    name: &'a str,
    url: String,
    project: &'a str,
    was: &'a str,
    now: &'a str,
}

#[derive(Template)]
#[template(path = "mail/patch_notification.txt")]
struct Notification<'a> {
    noun: &'static str,
    verb: &'static str,
    site: &'a str,
    patches: Vec<Line<'a>>,
    settings: String,
}

/// The digest mail for `digest`, with links under `base` (`https://host`,
/// a trailing slash is ignored) and from `from` (None: the mailer's
/// default sender).
pub fn digest_mail(base: &str, from: Option<&str>, digest: &Digest) -> OutgoingMail {
    let base = base.trim_end_matches('/');
    let site = base.split_once("://").map_or(base, |(_, h)| h);
    let n = digest.patches.len();
    let patches: Vec<Line<'_>> = digest
        .patches
        .iter()
        .map(|p| Line {
            linkname: &p.linkname,
            name: &p.name,
            url: format!("{base}{}", urls::patch(&p.linkname, &p.msgid)),
            project: &p.project,
            was: &p.was,
            now: &p.now,
        })
        .collect();
    let settings = format!("{base}/mail/");
    let template = Notification {
        noun: if n == 1 { "patch" } else { "patches" },
        verb: if n == 1 { "has" } else { "have" },
        site,
        patches,
        settings,
    };
    // Should the template ever fail, the list of URLs still tells.
    let mut body = template.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "notification template failed");
        template
            .patches
            .iter()
            .map(|l| format!("{}\n", l.url))
            .collect()
    });
    // askama drops the template's final newline; a text mail ends in one.
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let subject = format!(
        "[{}] Patch notification: {n} patch{} updated",
        digest.linknames().join(","),
        if n == 1 { "" } else { "es" }
    );
    let mut mail = OutgoingMail::new(&digest.email, &subject, body);
    mail.headers.push(("Precedence".into(), "bulk".into()));
    mail.from = from.map(str::to_string);
    mail
}

/// The mail that tells a maintainer the tracker disabled a webhook they
/// added, and how to turn it back on (which sends what waited).
pub fn webhook_disabled_mail(
    base: &str,
    hook: &patchtrack_store::Webhook,
    reason: &str,
    to: &str,
) -> OutgoingMail {
    let base = base.trim_end_matches('/');
    let body = format!(
        "The webhook {url} (number {id}) kept failing and has been disabled:\n\
         {reason}\n\n\
         Its events wait in the queue. Once the receiver works again, turn the\n\
         webhook back on and they are sent, in order:\n\n\
         \x20   PATCH {base}/api/1.5/webhooks/{id}/  {{\"active\": true}}\n\n\
         Its delivery log: {base}/api/1.5/webhooks/{id}/deliveries/\n",
        url = hook.url,
        id = hook.id,
    );
    OutgoingMail::new(to, &format!("Webhook disabled: {}", hook.url), body)
}

#[cfg(test)]
mod tests {
    use patchtrack_store::{ChangedPatch, Digest};

    use super::digest_mail;

    fn changed(linkname: &str, name: &str, msgid: &str) -> ChangedPatch {
        ChangedPatch {
            patch_id: 1,
            name: name.into(),
            msgid: msgid.into(),
            linkname: linkname.into(),
            project: format!("The {linkname} project"),
            was: "New".into(),
            now: "Accepted".into(),
        }
    }

    #[test]
    fn one_patch() {
        let d = Digest {
            email: "sub@example.org".into(),
            name: Some("Sub".into()),
            patches: vec![changed("qemu", "[v2,1/3] fix it", "<a/b@x>")],
        };
        let m = digest_mail(
            "https://pt.example.org/",
            Some("Notify <n@pt.example.org>"),
            &d,
        );
        assert_eq!(m.to, "sub@example.org");
        assert_eq!(m.from.as_deref(), Some("Notify <n@pt.example.org>"));
        assert_eq!(m.subject, "[qemu] Patch notification: 1 patch updated");
        assert_eq!(m.headers, vec![("Precedence".into(), "bulk".into())]);
        assert_eq!(
            m.body,
            "Hello,\n\
             \n\
             The following patch (submitted by you) has been updated on the\n\
             patch tracker at pt.example.org:\n\
             \n \
             * qemu: [v2,1/3] fix it\n     \
             - https://pt.example.org/project/qemu/patch/a%2Fb@x/\n     \
             - for: The qemu project\n    \
             was: New\n    \
             now: Accepted\n\
             \n\
             This email is a notification only - you do not need to respond.\n\
             \n\
             --\n\
             \n\
             This is an automated mail sent by the patch tracker at pt.example.org.\n\
             To stop receiving these notifications, edit your mail settings at:\n  \
             https://pt.example.org/mail/\n"
        );
    }

    #[test]
    fn several_patches_of_several_projects() {
        let d = Digest {
            email: "sub@example.org".into(),
            name: None,
            patches: vec![
                changed("zeta", "z", "z@x"),
                changed("alpha", "a", "a@x"),
                changed("zeta", "y", "y@x"),
            ],
        };
        let m = digest_mail("http://127.0.0.1:8000", None, &d);
        assert_eq!(m.from, None);
        assert_eq!(
            m.subject,
            "[alpha,zeta] Patch notification: 3 patches updated"
        );
        assert!(
            m.body
                .contains("The following patches (submitted by you) have been")
        );
        let urls: Vec<&str> = m
            .body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- http"))
            .collect();
        assert_eq!(
            urls,
            [
                "://127.0.0.1:8000/project/zeta/patch/z@x/",
                "://127.0.0.1:8000/project/alpha/patch/a@x/",
                "://127.0.0.1:8000/project/zeta/patch/y@x/"
            ]
        );
    }
}
