//! Subject lines: the patch name, the `[...]` prefixes, the series marker
//! (`3/7`, `3 of 7`) and the version (`v2`), exactly as Patchwork derives
//! them, because names and series grouping are compared across tools.

use std::sync::LazyLock;

use regex::Regex;

use crate::text::normalise_space;

static REPLY_OR_FORWARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(re|fwd?)[:\s]\s*").expect("static regex is valid"));
static REPLY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(re)[:\s]\s*").expect("static regex is valid"));
static MERCURIAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^PATCH (\d+ of \d+)(.*)$").expect("static regex is valid"));
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^.*?([0-9]+)(?:/| of )([0-9]+)\n?$").expect("static regex is valid")
});
static VERSION_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[vV](\d+)\n?$").expect("static regex is valid"));
static VERSION_IN_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\([vV](\d+)\)").expect("static regex is valid"));

/// A cleaned subject: the name Patchwork stores and the prefixes it kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `[prefixes] rest`, or just `rest` when no prefix was kept.
    pub name: String,
    /// Bracket tokens other than `PATCH` and the dropped ones, in order.
    pub prefixes: Vec<String>,
}

/// Splits the text of one `[...]` group into tokens.
fn split_prefixes(content: &str, out: &mut Vec<String>) {
    let mut rest = content;
    if let Some(caps) = MERCURIAL.captures(content) {
        out.push("PATCH".to_string());
        out.push(caps[1].to_string());
        rest = caps.get(2).map_or("", |m| m.as_str());
    }
    out.extend(
        rest.split(|c: char| c == ',' || crate::text::py_isspace(c))
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    );
}

/// Matches `^\[([^\]]*)\]\s*(.*)$` on whitespace-normalised text: returns the
/// bracket content and the rest.
fn leading_bracket(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix('[')?;
    let close = body.find(']')?;
    let rest = crate::text::py_lstrip(&body[close + 1..]);
    // `.` stops at a newline; normalised subjects have none, but be exact.
    if rest.contains('\n') && !rest.ends_with('\n') {
        return None;
    }
    Some((&body[..close], rest.strip_suffix('\n').unwrap_or(rest)))
}

/// Cleans a decoded subject. Tokens equal to `patch` or to any of
/// `drop_prefixes` (compared case-insensitively; Patchwork passes the
/// project's linkname) are removed.
pub fn clean_subject(subject: &str, drop_prefixes: &[&str]) -> Subject {
    let subject = REPLY_OR_FORWARD.replace(subject, " ");
    let mut subject = normalise_space(&subject);
    let drop: Vec<String> = drop_prefixes
        .iter()
        .map(|p| p.to_lowercase())
        .chain(std::iter::once("patch".to_string()))
        .collect();

    let mut prefixes = Vec::new();
    while let Some((content, rest)) = leading_bracket(&subject) {
        let mut tokens = Vec::new();
        split_prefixes(content, &mut tokens);
        prefixes.extend(
            tokens
                .into_iter()
                .filter(|t| !drop.contains(&t.to_lowercase())),
        );
        subject = rest.to_string();
    }
    let rest = normalise_space(&subject);
    let name = if prefixes.is_empty() {
        rest
    } else {
        format!("[{}] {}", prefixes.join(","), rest)
    };
    Subject { name, prefixes }
}

/// Whether a decoded subject marks a reply (`Re:`, `RE `, ...). `Fwd:` does
/// not.
pub fn is_reply(subject: &str) -> bool {
    REPLY.is_match(subject)
}

/// The first `x/n` or `x of n` token: `(x, n)`.
pub fn series_marker(prefixes: &[String]) -> Option<(u32, u32)> {
    prefixes.iter().find_map(|p| {
        let caps = MARKER.captures(p)?;
        Some((parse_number(&caps[1])?, parse_number(&caps[2])?))
    })
}

/// The version: the first `vN` prefix token, else `(vN)` in the name, else 1.
pub fn version(name: &str, prefixes: &[String]) -> u32 {
    let from_prefix = prefixes
        .iter()
        .find_map(|p| VERSION_PREFIX.captures(p))
        .and_then(|c| parse_number(&c[1]));
    if let Some(v) = from_prefix {
        return v;
    }
    VERSION_IN_NAME
        .captures(name)
        .and_then(|c| parse_number(&c[1]))
        .unwrap_or(1)
}

/// Parses a run of decimal digits (any script, as Python's `int` does).
/// Values beyond `u32` are out of any sane range and give `None`.
fn parse_number(digits: &str) -> Option<u32> {
    let mut value: u32 = 0;
    for c in digits.chars() {
        let d = u32::try_from(crate::split::digit_value(c)?).ok()?;
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> (String, Vec<String>) {
        let s = clean_subject(s, &[]);
        (s.name, s.prefixes)
    }

    #[test]
    fn asserted_examples() {
        for s in ["meep", "Re: meep", "[PATCH] meep"] {
            assert_eq!(clean(s), ("meep".into(), vec![]));
        }
        assert_eq!(clean("[PATCH] meep \n meep").0, "meep meep");
        for s in ["[PATCH RFC] meep", "[PATCH,RFC] meep", "[PATCH] [RFC] meep"] {
            assert_eq!(clean(s), ("[RFC] meep".into(), vec!["RFC".into()]));
        }
        assert_eq!(clean("[PATCH,1/2] meep").0, "[1/2] meep");
        for s in [
            "[PATCH RFC 1/2] meep",
            "[PATCH] [RFC,1/2] meep",
            "[PATCH] [RFC] [1/2] meep",
        ] {
            assert_eq!(
                clean(s),
                ("[RFC,1/2] meep".into(), vec!["RFC".into(), "1/2".into()])
            );
        }
        assert_eq!(
            clean("[PATCH] rewrite [a-z] regexes").0,
            "rewrite [a-z] regexes"
        );
        assert_eq!(
            clean_subject("[foo] [bar] meep", &["foo"]).name,
            "[bar] meep"
        );
        assert_eq!(
            clean_subject("[FOO] [bar] meep", &["foo"]).name,
            "[bar] meep"
        );
    }

    #[test]
    fn computed_examples() {
        let s = clean_subject("[RFC PATCH 1 of 2] x", &[]);
        assert_eq!(s.prefixes, ["RFC", "1", "of", "2"]);
        assert_eq!(series_marker(&s.prefixes), None);
        let s = clean_subject("[PATCH v2 01/10] x", &[]);
        assert_eq!(series_marker(&s.prefixes), Some((1, 10)));
        assert_eq!(version(&s.name, &s.prefixes), 2);
        assert_eq!(clean("[Patch]: Fix it").0, ": Fix it");
        assert_eq!(clean("[PATCH]foo").0, "foo");
        assert_eq!(clean("Re: Re: foo").0, "Re: foo");
        let s = clean_subject("[PATCH 0 of 12] x", &[]);
        assert_eq!(s.prefixes, ["0 of 12"]);
        assert_eq!(series_marker(&s.prefixes), Some((0, 12)));
    }

    #[test]
    fn markers_and_versions() {
        let m = |t: &str| series_marker(&[t.to_string()]);
        assert_eq!(m("PATCH1/8"), Some((1, 8)));
        assert_eq!(m("PATCH100/123"), Some((100, 123)));
        assert_eq!(m("v2.3PATCH1/4"), Some((1, 4)));
        assert_eq!(m("1/2x"), None);
        assert_eq!(version("x", &["PATCHv2".into()]), 1);
        assert_eq!(version("x (v3)", &[]), 3);
        assert_eq!(version("x", &["V4".into()]), 4);
    }

    #[test]
    fn replies() {
        assert!(is_reply("Re: x"));
        assert!(is_reply("RE: x"));
        assert!(is_reply("re meep"));
        assert!(is_reply("Re:foo"));
        assert!(!is_reply("Fwd: x"));
        assert!(!is_reply("Rebase things"));
    }
}
