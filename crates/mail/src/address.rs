//! The submitter: name and address from `From:`, with Patchwork's patterns
//! and its DMARC "via list" un-munging.

use std::sync::LazyLock;

use regex::Regex;

use crate::text::{py_strip, truncate_chars};

static ANGLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^"?(.*?)"?\s*<([^>]+)>"#).expect("static regex is valid"));
static MAILMAN_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.*?)\sat\s(.*?)\s*\(([^\)]+)\)").expect("static regex is valid")
});
static PAREN_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^"?(.*?)"?\s*\(([^\)]+)\)"#).expect("static regex is valid"));
static VALID_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^[\w!#$%&"*+/=?^`{|}~-]+(?:\.[\w!#$%&"*+/=?^`{|}~-]+)*@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"#,
    )
    .expect("static regex is valid")
});

/// A person as a mail names them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Author {
    /// Display name, if any (may be empty).
    pub name: Option<String>,
    /// Email address, as written (Patchwork compares it case-insensitively).
    pub email: String,
}

/// Splits a cleaned `From:` value into (name, address) with Patchwork's
/// patterns, tried in order: `Name <addr>`, Mailman's `user at host (Name)`,
/// `addr (Name)`, else the whole value as the address.
pub fn split_from_header(from: &str) -> (Option<String>, String) {
    // Patterns use `.`, which stops at a newline; cleaned headers have none.
    if let Some(c) = ANGLE.captures(from) {
        return (Some(c[1].to_string()), c[2].to_string());
    }
    if let Some(c) = MAILMAN_AT.captures(from) {
        return (Some(c[3].to_string()), format!("{}@{}", &c[1], &c[2]));
    }
    if let Some(c) = PAREN_NAME.captures(from) {
        return (Some(c[2].to_string()), c[1].to_string());
    }
    (None, from.to_string())
}

/// Whether Patchwork accepts `email` as an address.
pub fn is_valid_email(email: &str) -> bool {
    !email.contains('\n') && VALID_EMAIL.is_match(email)
}

/// Parses a cleaned `From:` value into an author; `None` when the address is
/// missing or invalid (Patchwork then rejects the mail).
pub fn parse_author(from: &str) -> Option<Author> {
    let (name, email) = split_from_header(from);
    let email = py_strip(&email);
    if !is_valid_email(email) {
        return None;
    }
    Some(Author {
        name: name.map(|n| truncate_chars(py_strip(&n), 255).to_string()),
        email: truncate_chars(email, 255).to_string(),
    })
}

/// The name a list put in front of " via List" when it rewrote `From:`.
fn stripped_via_name(name: Option<&str>) -> Option<String> {
    let name = name?;
    if let Some(i) = name.rfind(" via ") {
        let head = &name[..i];
        return Some(
            head.trim_matches(|c: char| crate::text::py_isspace(c) || c == '\'')
                .to_string(),
        );
    }
    name.strip_suffix(" via").map(str::to_string)
}

/// Undoes a DMARC `From:` rewrite by the list (`Name via List <list@...>`):
/// the address comes from `X-Original-From`, else from the `Reply-To` or
/// `Cc` entry whose display name matches. `reply_to` and `cc` are the cleaned
/// values of every such header.
pub fn original_sender(
    munged: &Author,
    x_original_from: Option<&str>,
    reply_to: &[String],
    cc: &[String],
) -> Author {
    let stripped = stripped_via_name(munged.name.as_deref());
    if let Some(orig) = x_original_from.filter(|v| !v.is_empty()) {
        let (_, email) = split_from_header(orig);
        return Author {
            name: stripped,
            email: truncate_chars(py_strip(&email), 255).to_string(),
        };
    }
    for value in reply_to.iter().chain(cc) {
        for addr in value.split(',') {
            let (name, email) = split_from_header(py_strip(addr));
            let name = name.map(|n| py_strip(&n).to_string());
            if name == stripped {
                return Author {
                    name: stripped,
                    email: truncate_chars(py_strip(&email), 255).to_string(),
                };
            }
        }
    }
    munged.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_forms() {
        assert_eq!(
            split_from_header("\"Foo Bar\" <foo@bar.org>"),
            (Some("Foo Bar".into()), "foo@bar.org".into())
        );
        assert_eq!(
            split_from_header("foo at bar.org (Foo Bar)"),
            (Some("Foo Bar".into()), "foo@bar.org".into())
        );
        assert_eq!(
            split_from_header("foo@bar.org (Foo Bar)"),
            (Some("Foo Bar".into()), "foo@bar.org".into())
        );
        assert_eq!(
            split_from_header("foo@bar.org"),
            (None, "foo@bar.org".into())
        );
        assert_eq!(
            split_from_header("<foo@bar.org>"),
            (Some(String::new()), "foo@bar.org".into())
        );
    }

    #[test]
    fn empty_display_names_stay_empty_and_absent_ones_absent() {
        // Upstream's split then strip: every form that has a name slot gives
        // a name, "" when the slot is blank; only a bare address has none.
        let cases: [(&str, Option<&str>, &str); 9] = [
            ("\"\" <a@b.org>", Some(""), "a@b.org"),
            ("\"\"<a@b.org>", Some(""), "a@b.org"),
            ("<a@b.org>", Some(""), "a@b.org"),
            ("\"   \" <a@b.org>", Some(""), "a@b.org"),
            ("a@b.org ( )", Some(""), "a@b.org"),
            ("a at b.org ( )", Some(""), "a@b.org"),
            ("'' <a@b.org>", Some("''"), "a@b.org"),
            ("a@b.org", None, "a@b.org"),
            ("Jo <a@b.org>", Some("Jo"), "a@b.org"),
        ];
        for (from, name, email) in cases {
            let a = parse_author(from).unwrap();
            assert_eq!(
                (a.name.as_deref(), a.email.as_str()),
                (name, email),
                "{from}"
            );
        }
        assert!(parse_author("\"\" a@b.org").is_none());
    }

    #[test]
    fn validity() {
        assert!(parse_author("A <a@b.org>").is_some());
        assert!(parse_author("testH\u{e1}user\u{e1}").is_none());
        assert!(parse_author("A <a@b>").is_none());
    }

    #[test]
    fn dmarc() {
        let munged = parse_author("'Jane Doe' via list <list@example.org>").unwrap();
        let a = original_sender(&munged, Some("Jane Doe <jane@x.org>"), &[], &[]);
        assert_eq!(a.email, "jane@x.org");
        assert_eq!(a.name.as_deref(), Some("Jane Doe"));
        let munged = parse_author("Jane Doe via list <list@example.org>").unwrap();
        let a = original_sender(
            &munged,
            None,
            &["list <list@example.org>".into()],
            &["Other <o@x.org>, Jane Doe <jane@x.org>".into()],
        );
        assert_eq!(a.email, "jane@x.org");
    }
}
