//! Whitespace as Python's `str` methods understand it.
//!
//! Python's `str.isspace`, `strip` and the Unicode `\s` class also treat the
//! ASCII separators U+001C to U+001F as whitespace, which Rust's
//! `char::is_whitespace` does not. Names, subjects and hashes pass through
//! these functions, so the difference is observable.

/// Python's `str.isspace` for one character.
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no arguments.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Python's `str.lstrip()` with no arguments.
pub fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(py_isspace)
}

/// Collapses every whitespace run into one space and strips the ends
/// (Patchwork's `normalise_space`).
pub fn normalise_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        if py_isspace(c) {
            pending = true;
        } else {
            if pending && !out.is_empty() {
                out.push(' ');
            }
            pending = false;
            out.push(c);
        }
    }
    out
}

/// Cuts `s` to at most `max` characters (Python slices count code points).
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_space() {
        assert_eq!(py_strip("\u{1c} a \u{1f}"), "a");
        assert_eq!(normalise_space("  a \n\t b\u{a0}c  "), "a b c");
        assert_eq!(truncate_chars("héllo", 2), "hé");
    }
}
