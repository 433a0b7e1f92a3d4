//! What a mail says about the posting it revises: the evidence version
//! lineage is built from. Authors and their tools state it in several
//! ways, none universal (b4's `change-id:`, its `Link to vN:` lines,
//! Patchew's `Supersedes:`, a `v5.1` replacement patch), so the store
//! weighs whichever of them a mail carries; this module only reads them.

use std::sync::LazyLock;

use regex::Regex;

use crate::headers::Headers;

static CHANGE_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^change-id:[ \t]*(\S{1,200})[ \t]*$").expect("static regex is valid")
});
static LINK_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^[-*+ \t]*Link to v\d+(?:\.\d+)?:[ \t]*(\S+)").expect("static regex is valid")
});
static SUPERSEDES_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^(?:Supersedes|Obsoletes):[ \t]*(<[^>\s]+>)[ \t]*$")
        .expect("static regex is valid")
});
static MSGID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<[^<>\s]+>").expect("static regex is valid"));
static REVISION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[vV](\d{1,6})\.(\d{1,6})$").expect("static regex is valid"));

/// The lineage evidence of one mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Hints {
    /// b4's `change-id:` footer: the same for every version of a series.
    pub change_id: Option<String>,
    /// Message-ids named by `Link to vN:` lines (b4 cover letters).
    pub links: Vec<String>,
    /// Message-ids named by `Supersedes:` / `Obsoletes:`, as headers or
    /// as lines of the body.
    pub supersedes: Vec<String>,
    /// `(5, 1)` for a `v5.1` prefix: a patch sent to replace one patch
    /// of version 5, not a new version of the whole series. (Patchwork's
    /// version rule does not read `v5.1`; the version stays as it says.)
    pub revision: Option<(u32, u32)>,
}

impl Hints {
    /// Whether the mail carries any evidence beyond its name.
    pub fn is_empty(&self) -> bool {
        self.change_id.is_none()
            && self.links.is_empty()
            && self.supersedes.is_empty()
            && self.revision.is_none()
    }
}

/// Reads the evidence from a mail's headers, kept prefixes and body
/// (comment text and diff: b4 writes its footer after a lone patch's
/// diff). Quoted lines (`> change-id: ...`) are someone else's words and
/// are not read.
pub fn hints(headers: &Headers, prefixes: &[String], body: &[&str]) -> Hints {
    let mut h = Hints {
        revision: prefixes.iter().find_map(|p| {
            let c = REVISION.captures(p)?;
            Some((c[1].parse().ok()?, c[2].parse().ok()?))
        }),
        ..Hints::default()
    };
    for name in ["Supersedes", "Obsoletes"] {
        for value in headers.get_all(name) {
            let value = String::from_utf8_lossy(value);
            for m in MSGID.find_iter(&value) {
                push_unique(&mut h.supersedes, m.as_str());
            }
        }
    }
    for text in body {
        if h.change_id.is_none() {
            h.change_id = CHANGE_ID.captures(text).map(|c| c[1].to_string());
        }
        for c in LINK_TO.captures_iter(text) {
            if let Some(id) = msgid_of_url(&c[1]) {
                push_unique(&mut h.links, &id);
            }
        }
        for c in SUPERSEDES_LINE.captures_iter(text) {
            push_unique(&mut h.supersedes, &c[1]);
        }
    }
    h
}

fn push_unique(list: &mut Vec<String>, id: &str) {
    if list.len() < 20 && !list.iter().any(|x| x == id) {
        list.push(id.to_string());
    }
}

/// The message-id an archive URL names: its last path segment holding an
/// `@` (lore's `/r/ID`, `/list/ID/`, Patchwork's `/patch/ID/`), percent
/// decoded, in angle brackets.
pub fn msgid_of_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let segment = path
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .filter(|s| s.contains('@'))
        .last()?;
    let id = segment.trim_start_matches('<').trim_end_matches('>');
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| format!("<{id}>"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The part of a series or patch name that stays the same from one
/// version to the next: leading `[...]` groups (version, number, RFC,
/// subsystem) dropped, case and runs of white space folded. `None` for a
/// name that says nothing (empty, or git's `*** SUBJECT HERE ***`).
pub fn name_key(name: &str) -> Option<String> {
    let mut rest = name.trim();
    while let Some(after) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        rest = after.1.trim_start();
    }
    let key = rest
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (!key.is_empty() && key != "*** subject here ***").then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::parse_header_block;

    fn headers(text: &str) -> Headers {
        parse_header_block(text.as_bytes()).0
    }

    #[test]
    fn reads_b4_footer_and_links() {
        let cover = "Intro.\n\nChanges in v3:\n- Link to v2: https://lore.kernel.org/r/20240101-x-v2-0-abc%40example.org\n\
                     - Link to v1: https://lore.kernel.org/all/20231201-x-v1-0-def@example.org/\n\n\
                     ---\nbase-commit: 1234\nchange-id: 20231201-x-0123456789ab\n\nBest regards,\n";
        let h = hints(&headers("Subject: x\n\n"), &[], &[cover]);
        assert_eq!(h.change_id.as_deref(), Some("20231201-x-0123456789ab"));
        assert_eq!(
            h.links,
            [
                "<20240101-x-v2-0-abc@example.org>",
                "<20231201-x-v1-0-def@example.org>"
            ]
        );
        assert!(h.supersedes.is_empty() && h.revision.is_none());
    }

    #[test]
    fn quoted_footers_are_not_evidence() {
        let h = hints(
            &headers("Subject: x\n\n"),
            &[],
            &["> change-id: 1-2\n> Supersedes: <a@b>\n"],
        );
        assert!(h.is_empty());
    }

    #[test]
    fn supersedes_from_headers_and_body() {
        let h = hints(
            &headers("Supersedes: <a@b.org> <c@d.org>\nObsoletes: <a@b.org>\n\n"),
            &[],
            &["Text\n\nSupersedes: <e@f.org>\n"],
        );
        assert_eq!(h.supersedes, ["<a@b.org>", "<c@d.org>", "<e@f.org>"]);
    }

    #[test]
    fn dotted_versions_are_revisions() {
        let prefixes = vec!["v5.1".to_string(), "10/12".to_string()];
        let h = hints(&headers("Subject: x\n\n"), &prefixes, &[]);
        assert_eq!(h.revision, Some((5, 1)));
        let plain = vec!["v5".to_string()];
        assert_eq!(hints(&headers("\n"), &plain, &[]).revision, None);
    }

    #[test]
    fn urls_name_their_message() {
        assert_eq!(
            msgid_of_url("https://lists.example.org/archive/abc.123@host/").as_deref(),
            Some("<abc.123@host>")
        );
        assert_eq!(
            msgid_of_url("https://pw.example.org/project/p/patch/x%2Fy@z/?a=b").as_deref(),
            Some("<x/y@z>")
        );
        assert_eq!(msgid_of_url("https://example.org/no/id/"), None);
        assert_eq!(msgid_of_url("not a url"), None);
    }

    #[test]
    fn name_keys_drop_prefixes_and_case() {
        assert_eq!(
            name_key("[v2,1/3] net:  Fix  it").as_deref(),
            Some("net: fix it")
        );
        assert_eq!(name_key("[RFC] [v3] Fix it"), name_key("fix IT"));
        assert_eq!(name_key("[0/3] *** SUBJECT HERE ***"), None);
        assert_eq!(name_key("[1/2]"), None);
        assert_eq!(name_key(""), None);
    }
}
