//! What the message text says about the patch: review trailers (the basis of
//! Patchwork's A/R/T tag counts) and `Depends-on:` declarations between
//! series.

use std::sync::LazyLock;

use regex::Regex;

static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)^([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-[Bb][Yy]|Fixes|Link|Closes|Cc|CC):[ \t]*([^\n]*?)[ \t]*$",
    )
    .expect("static regex is valid")
});
static DEPENDS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^Depends-on: (http[s]?://[\w\d\-./=&@:%?_+()]+)\s*$")
        .expect("static regex is valid")
});
static DEPENDS_MSGID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^Depends-on: (<[^>]+>)\s*$").expect("static regex is valid")
});

/// A trailer line of the message, e.g. `Reviewed-by: A <a@b.org>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trailer {
    /// The key as written (`Reviewed-by`, `Fixes`, ...).
    pub name: String,
    /// The value, trimmed.
    pub value: String,
}

/// Every trailer line (`*-by:`, `Fixes:`, `Link:`, `Closes:`, `Cc:`) at the
/// start of a line, in order. Quoted lines (`> Acked-by:`) are not trailers.
pub fn trailers(text: &str) -> Vec<Trailer> {
    TRAILER
        .captures_iter(text)
        .filter(|c| !c[2].is_empty())
        .map(|c| Trailer {
            name: c[1].to_string(),
            value: c[2].to_string(),
        })
        .collect()
}

/// How many times a tag line such as `Acked-by:` starts a line of `text`,
/// case-insensitively: Patchwork's per-patch tag count for one message.
pub fn count_tag(text: &str, tag: &str) -> usize {
    let needle = format!("{tag}:");
    let n = needle.len();
    let mut count = 0;
    for line in text.split('\n') {
        if line.len() >= n && line.is_char_boundary(n) && line[..n].eq_ignore_ascii_case(&needle) {
            count += 1;
        }
    }
    count
}

/// A dependency a message declares, in the order Patchwork resolves them:
/// all URL forms first, then all message-id forms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Dependency {
    /// A web URL of a patch (`/project/P/patch/MSGID/`) or a series list.
    Url(String),
    /// A message-id with angle brackets.
    Msgid(String),
}

/// The `Depends-on:` tokens of a message text.
pub fn depends_on(text: &str) -> Vec<Dependency> {
    let urls = DEPENDS_URL
        .captures_iter(text)
        .map(|c| Dependency::Url(c[1].to_string()));
    let ids = DEPENDS_MSGID
        .captures_iter(text)
        .map(|c| Dependency::Msgid(c[1].to_string()));
    urls.chain(ids).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_trailers_not_quotes() {
        let t = trailers(
            "Fix it.\n\nFixes: abc (\"x\")\nReviewed-by: A <a@b.org>\n> Acked-by: B <b@c.org>\nSigned-off-by: C <c@d.org>  \n",
        );
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Fixes", "Reviewed-by", "Signed-off-by"]);
        assert_eq!(t[2].value, "C <c@d.org>");
    }

    #[test]
    fn tag_counts_are_case_insensitive() {
        let text = "Acked-by: a\nacked-by: b\nACKED-BY: c\n> Acked-by: d\nTested-by: e";
        assert_eq!(count_tag(text, "Acked-by"), 3);
        assert_eq!(count_tag(text, "Tested-by"), 1);
        assert_eq!(count_tag(text, "Reviewed-by"), 0);
    }

    #[test]
    fn depends_urls_before_msgids() {
        let text = "Depends-on: <a@b>\nDepends-on: https://pw.example.org/project/p/list/?series=4\ndepends-on: <c@d>  \nDepends-on:  <e@f>\n";
        assert_eq!(
            depends_on(text),
            vec![
                Dependency::Url("https://pw.example.org/project/p/list/?series=4".into()),
                Dependency::Msgid("<a@b>".into()),
                Dependency::Msgid("<c@d>".into()),
            ]
        );
    }
}

/// The most contexts one comment's recheck requests may name.
pub const MAX_RECHECK_CONTEXTS: usize = 32;

/// The CI contexts a comment asks to be run again, DPDK's convention: a
/// line `Recheck-request: iol-unit-testing, github-robot` (quoted lines,
/// which repeat someone else's request, do not count). `Some(empty)` for
/// a request that names no context (every test); None without one.
pub fn recheck_request(content: &str) -> Option<Vec<String>> {
    let mut found = None;
    for line in content.lines() {
        let line = line.trim_end();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if !key.eq_ignore_ascii_case("recheck-request") {
            continue;
        }
        let contexts: &mut Vec<String> = found.get_or_insert_with(Vec::new);
        for c in value.split([',', ' ', '\t']).map(str::trim) {
            // Slugs only, as a check's context; a few dozen at most, so a
            // hostile mail costs nothing.
            let slug = !c.is_empty()
                && c.len() <= 255
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if slug && contexts.len() < MAX_RECHECK_CONTEXTS && !contexts.iter().any(|x| x == c) {
                contexts.push(c.to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod recheck_tests {
    use super::recheck_request;

    #[test]
    fn recheck_lines_name_their_contexts() {
        let mail = "Looks flaky.\n\nRecheck-request: iol-unit-testing, github-robot\n\
                    recheck-request: github-robot iol-abi\n\n> Recheck-request: quoted\n";
        assert_eq!(
            recheck_request(mail).unwrap(),
            ["iol-unit-testing", "github-robot", "iol-abi"]
        );
        assert_eq!(
            recheck_request("Recheck-request:\n").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(recheck_request("no request here\nRecheck: x\n"), None);
        assert_eq!(recheck_request("> Recheck-request: x\n"), None);
        let many: String = (0..100).map(|i| format!("c{i},")).collect();
        let got = recheck_request(&format!("Recheck-request: {many} bad/ctx\n")).unwrap();
        assert_eq!(got.len(), super::MAX_RECHECK_CONTEXTS);
        assert!(!got.iter().any(|c| c.contains('/')));
    }
}
