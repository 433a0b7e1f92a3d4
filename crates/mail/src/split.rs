//! Separating the commit message from the diff.
//!
//! This is Patchwork's line state machine, reproduced state for state,
//! quirks included (text after a binary patch lands in the diff; a lone
//! extended-header line is only committed when another follows), because the
//! diff it yields is what the patch hash is computed from.

use std::sync::LazyLock;

use regex::Regex;

use crate::text::py_strip;

/// `@@ -a[,b] +c[,d] @@` (trailing text allowed): the digits of the two
/// counts `b` and `d`, `None` where a count is absent (which means 1).
/// Patchwork's diff split and its hash both read hunk headers this way.
pub(crate) fn hunk_header(line: &str) -> Option<(Option<&str>, Option<&str>)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = range_count(rest)?;
    let rest = rest.strip_prefix(" +")?;
    let (new, rest) = range_count(rest)?;
    rest.starts_with(" @@").then_some((old, new))
}

/// The counts of a hunk header as numbers.
fn hunk_counts(line: &str) -> Option<(i64, i64)> {
    let (old, new) = hunk_header(line)?;
    Some((old.map_or(1, count_value), new.map_or(1, count_value)))
}

/// Parses `\d+(?:,(\d+))?`: the count's digits, if any, and the rest.
fn range_count(s: &str) -> Option<(Option<&str>, &str)> {
    let start_len = digits_len(s);
    if start_len == 0 {
        return None;
    }
    let rest = &s[start_len..];
    if let Some(after) = rest.strip_prefix(',') {
        let n = digits_len(after);
        if n > 0 {
            return Some((Some(&after[..n]), &after[n..]));
        }
    }
    Some((None, rest))
}

/// Length in bytes of the leading run of decimal digits. Python's `\d` also
/// takes other scripts' digits; those are measured too.
fn digits_len(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !is_decimal(c))
        .map_or(s.len(), |(i, _)| i)
}

fn is_decimal(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric() && digit_value(c).is_some())
}

pub(crate) fn digit_value(c: char) -> Option<i64> {
    if let Some(d) = c.to_digit(10) {
        return Some(i64::from(d));
    }
    const ZEROS: &[u32] = &[
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0xFF10,
    ];
    let cp = u32::from(c);
    ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&cp))
        .map(|&z| i64::from(cp - z))
}

/// A count, saturating: a hunk claiming more lines than fit simply never
/// ends, which is what an absurdly large Python integer does too.
fn count_value(digits: &str) -> i64 {
    digits.chars().fold(0i64, |acc, c| {
        acc.saturating_mul(10)
            .saturating_add(digit_value(c).unwrap_or(0))
    })
}

const EXT_HEADERS: [&str; 11] = [
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "copy from ",
    "copy to ",
    "rename from ",
    "rename to ",
    "similarity index ",
    "dissimilarity index ",
    "index ",
];

fn is_ext_header(line: &str) -> bool {
    EXT_HEADERS.iter().any(|p| line.starts_with(p))
}

/// Moves the pending (suspected header) lines and `line` to `dst`.
fn flush(dst: &mut String, pending: &mut String, line: &str) {
    dst.push_str(pending);
    dst.push_str(line);
    pending.clear();
}

const NO_NEWLINE: &str = "\\ No newline at end of file";

/// Splits a text/plain body into (diff, comment); either may be absent.
pub fn parse_patch(content: &str) -> (Option<String>, Option<String>) {
    let mut patch = String::new();
    let mut comment = String::new();
    let mut pending = String::new();
    let mut state = 0u8;
    let mut hunks = 0u32;
    let (mut old_left, mut new_left) = (0i64, 0i64);

    let mut line = String::new();
    for piece in content.split('\n') {
        line.clear();
        line.push_str(piece);
        line.push('\n');
        let l = line.as_str();
        match state {
            0 => {
                if l.starts_with("diff ") || l.starts_with("Index: ") {
                    pending.push_str(l);
                    state = 1;
                } else if l.starts_with("--- ") {
                    pending.push_str(l);
                    state = 2;
                } else {
                    comment.push_str(l);
                }
            }
            1 => {
                pending.push_str(l);
                if l.starts_with("--- ") {
                    state = 2;
                } else if is_ext_header(l) {
                    state = 6;
                }
            }
            2 => {
                if l.starts_with("+++ ") {
                    pending.push_str(l);
                    state = 3;
                } else if hunks > 0 {
                    pending.push_str(l);
                    state = 1;
                } else {
                    flush(&mut comment, &mut pending, l);
                    state = 0;
                }
            }
            3 => {
                if let Some((old, new)) = hunk_counts(l) {
                    old_left = old;
                    new_left = new;
                    flush(&mut patch, &mut pending, l);
                    state = 4;
                } else if l.starts_with("--- ") {
                    flush(&mut patch, &mut pending, l);
                    state = 2;
                } else if hunks > 0 && l.starts_with(NO_NEWLINE) {
                    patch.push_str(l);
                } else if hunks > 0 {
                    pending.push_str(l);
                    state = 1;
                } else {
                    flush(&mut comment, &mut pending, l);
                    state = 0;
                }
            }
            4 | 5 => {
                if l.starts_with('-') {
                    old_left -= 1;
                } else if l.starts_with('+') {
                    new_left -= 1;
                } else if !l.starts_with(NO_NEWLINE) {
                    old_left -= 1;
                    new_left -= 1;
                }
                patch.push_str(l);
                if old_left <= 0 && new_left <= 0 {
                    hunks += 1;
                    state = 3;
                } else {
                    state = 5;
                }
            }
            6 => {
                if is_ext_header(l) || l.starts_with("--- ") {
                    flush(&mut patch, &mut pending, l);
                    state = if l.starts_with("--- ") { 2 } else { 6 };
                } else if l.starts_with("GIT binary patch") {
                    flush(&mut patch, &mut pending, l);
                    state = 7;
                } else {
                    pending.push_str(l);
                    state = 1;
                }
            }
            _ => {
                if l.starts_with("diff") {
                    pending.push_str(l);
                    state = 0;
                } else {
                    flush(&mut patch, &mut pending, l);
                }
            }
        }
    }
    comment.push_str(&pending);
    (
        (!patch.is_empty()).then_some(patch),
        (!comment.is_empty()).then_some(comment),
    )
}

static SIGNATURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^(-- |_+)\n").expect("static regex is valid"));

/// Drops the signature (from a `-- ` line) and list footers (from a line of
/// underscores), strips, and removes NULs (Patchwork's `clean_content`).
pub fn clean_content(content: &str) -> String {
    let cut = match SIGNATURE.find(content) {
        Some(m) => &content[..m.start()],
        None => content,
    };
    let out = py_strip(cut);
    if out.contains('\0') {
        out.replace('\0', "")
    } else {
        out.to_string()
    }
}

/// A decoded text part: its MIME subtype (`plain`, `x-patch`, ...) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPart {
    /// The subtype, lower case.
    pub subtype: String,
    /// The decoded text.
    pub text: String,
    /// Whether bad bytes were replaced (Patchwork would have dropped it).
    pub repaired: bool,
}

/// Patchwork's `find_patch_content`: the diff comes from an `x-patch` or
/// `x-diff` part (the last one wins) or from the first `plain` part that has
/// one; every `plain` part's remaining text is the comment.
pub fn find_patch_content(parts: &[TextPart]) -> (Option<String>, String) {
    let mut diff: Option<String> = None;
    let mut comment = String::new();
    for part in parts {
        match part.subtype.as_str() {
            "x-patch" | "x-diff" => diff = Some(part.text.clone()),
            "plain" => {
                let rest = if diff.as_deref().is_none_or(str::is_empty) {
                    let (d, c) = parse_patch(&part.text);
                    diff = d;
                    c
                } else {
                    Some(part.text.clone())
                };
                if let Some(c) = rest {
                    comment.push_str(py_strip(&c));
                    comment.push('\n');
                }
            }
            _ => {}
        }
    }
    let diff = diff.map(|d| {
        if d.contains('\0') {
            d.replace('\0', "")
        } else {
            d
        }
    });
    (diff, clean_content(&comment))
}

/// Patchwork's `find_comment_content`, for replies: every non-empty `plain`
/// part is comment text; no diff is looked for.
pub fn find_comment_content(parts: &[TextPart]) -> String {
    let mut comment = String::new();
    for part in parts {
        if part.subtype == "plain" && !part.text.is_empty() {
            comment.push_str(py_strip(&part.text));
            comment.push('\n');
        }
    }
    clean_content(&comment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_header() {
        assert_eq!(hunk_counts("@@ -1 +2 @@"), Some((1, 1)));
        assert_eq!(hunk_counts("@@ -1,0 +2,3 @@ fn x"), Some((0, 3)));
        assert_eq!(hunk_counts("@@ -1,x +2 @@"), None);
        assert_eq!(hunk_counts("@@ -1, +2 @@"), None);
    }

    #[test]
    fn git_format_patch_shape() {
        let body = "Commit message.\n\nSigned-off-by: A <a@b.c>\n---\n f | 1 +\n\ndiff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n-- \n2.1.0\n";
        let (diff, comment) = parse_patch(body);
        assert_eq!(
            diff.as_deref(),
            Some(
                "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n"
            )
        );
        let comment = comment.unwrap_or_default();
        assert!(comment.starts_with("Commit message.\n"));
        assert!(comment.ends_with("-- \n2.1.0\n\n"));
        assert_eq!(
            clean_content(&comment),
            "Commit message.\n\nSigned-off-by: A <a@b.c>\n---\n f | 1 +"
        );
    }

    #[test]
    fn no_diff() {
        assert_eq!(parse_patch("hello\n"), (None, Some("hello\n\n".into())));
        assert_eq!(parse_patch(""), (None, Some("\n".into())));
    }

    #[test]
    fn signature_and_footer() {
        assert_eq!(clean_content("a\n-- \nsig"), "a");
        assert_eq!(clean_content("a\n--\nnot sig\n"), "a\n--\nnot sig");
        assert_eq!(clean_content("a\n____\nfooter\n"), "a");
        assert_eq!(clean_content(" \0a "), "a");
    }
}
