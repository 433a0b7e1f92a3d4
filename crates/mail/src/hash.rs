//! Patchwork's patch hash.
//!
//! b4, pwclient and git hooks compute this SHA-1 locally from a diff and look
//! patches up by it, so it must match upstream byte for byte: the normalised
//! file names, hunk counts without positions, and `+`, `-` and context lines.

use sha1::{Digest, Sha1};

use crate::text::py_strip;

/// The lowercase hex SHA-1 Patchwork stores as `Patch.hash` for `diff`.
pub fn hash_diff(diff: &str) -> String {
    let mut hasher = Sha1::new();
    let cleaned;
    let diff = if diff.contains('\r') {
        cleaned = diff.replace('\r', "");
        cleaned.as_str()
    } else {
        diff
    };
    let mut line_buf = String::new();
    for line in py_strip(diff).split('\n') {
        if line.is_empty() {
            continue;
        }
        line_buf.clear();
        if let Some((marker, name)) = filename_line(line) {
            line_buf.push_str(marker);
            line_buf.push_str(if marker == "---" { " a/" } else { " b/" });
            if let Some((_, rest)) = name.split_once('/') {
                line_buf.push_str(rest);
            }
        } else if line.starts_with("@@") && hunk_header(line, &mut line_buf) {
            // written by hunk_header
        } else if line.starts_with(['-', '+', ' ']) {
            line_buf.push_str(line);
        } else {
            continue;
        }
        line_buf.push('\n');
        hasher.update(line_buf.as_bytes());
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(40);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

/// `^(---|\+\+\+) (\S+)`: the marker and the first non-space token.
fn filename_line(line: &str) -> Option<(&str, &str)> {
    let (marker, rest) = if let Some(r) = line.strip_prefix("--- ") {
        ("---", r)
    } else if let Some(r) = line.strip_prefix("+++ ") {
        ("+++", r)
    } else {
        return None;
    };
    let end = rest
        .char_indices()
        .find(|&(_, c)| crate::text::py_isspace(c))
        .map_or(rest.len(), |(i, _)| i);
    (end > 0).then(|| (marker, &rest[..end]))
}

/// Writes `@@ -<old> +<new> @@` for a hunk header, keeping the counts as
/// Python prints `int(count)`: without leading zeros, at any size.
fn hunk_header(line: &str, out: &mut String) -> bool {
    let Some((old, new)) = crate::split::hunk_header(line) else {
        return false;
    };
    out.push_str("@@ -");
    push_count(out, old);
    out.push_str(" +");
    push_count(out, new);
    out.push_str(" @@");
    true
}

fn push_count(out: &mut String, digits: Option<&str>) {
    let Some(digits) = digits else {
        out.push('1');
        return;
    };
    let ascii: String = digits
        .chars()
        .map(|c| {
            crate::split::digit_value(c)
                .and_then(|d| char::from_digit(u32::try_from(d).ok()?, 10))
                .unwrap_or('0')
        })
        .collect();
    let trimmed = ascii.trim_start_matches('0');
    out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        let diff = "diff --git a/meep.text b/meep.text\nindex 3d75d48..a57f4dd 100644\n--- a/meep.text\n+++ b/meep.text\n@@ -1,1 +1,2 @@\n meep\n+meep\n";
        assert_eq!(hash_diff(diff), "f59149b3310fb8f337b1cfc845c060ed6ef85df8");
    }

    #[test]
    fn empty_and_signature() {
        assert_eq!(hash_diff(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hash_diff("GIT binary patch\nliteral 0\n\n-- \n2.35.3\n"),
            "28bbf89195af1c065a2ebbfbdfaf0ee9dfe8296e"
        );
    }

    #[test]
    fn counts_keep_explicit_zero_and_drop_leading_zeros() {
        let mut a = String::new();
        hunk_header("@@ -1,0 +1,007 @@", &mut a);
        assert_eq!(a, "@@ -0 +7 @@");
    }
}
