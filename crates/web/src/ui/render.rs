//! Mail text as HTML: the diff with its lines classified for colouring,
//! and messages with trailers, quotes and links picked out. Everything a
//! mail says is escaped here; templates mark only these results safe.

use crate::html::escape;

/// The CSS class of each kind of diff line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    File,
    Hunk,
    Add,
    Del,
    Context,
}

/// A unified (or context) diff as lines in `<span>`s: `diff-file` for the
/// per-file header, `diff-hunk` for `@@` lines (the function context in
/// `diff-func`), `diff-add` / `diff-del` for changes.
pub fn diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let kind = if bare.starts_with("diff ") || bare.starts_with("Index: ") {
            in_header = true;
            Line::File
        } else if bare.starts_with("@@") {
            in_header = false;
            Line::Hunk
        } else if in_header {
            Line::File
        } else if bare.starts_with('+') {
            Line::Add
        } else if bare.starts_with('-') {
            Line::Del
        } else {
            Line::Context
        };
        match kind {
            Line::Hunk => {
                out.push_str("<span class=\"diff-hunk\">");
                // `@@ -a,b +c,d @@ function context`
                match bare[2..].find("@@") {
                    Some(end) if end + 4 < bare.len() => {
                        let (marks, func) = bare.split_at(end + 4);
                        out.push_str(&escape(marks));
                        out.push_str("<span class=\"diff-func\">");
                        out.push_str(&escape(func));
                        out.push_str("</span>");
                    }
                    _ => out.push_str(&escape(bare)),
                }
                out.push_str("</span>");
            }
            Line::Context => out.push_str(&escape(bare)),
            _ => {
                let class = match kind {
                    Line::File => "diff-file",
                    Line::Add => "diff-add",
                    _ => "diff-del",
                };
                out.push_str("<span class=\"");
                out.push_str(class);
                out.push_str("\">");
                out.push_str(&escape(bare));
                out.push_str("</span>");
            }
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Trailers worth picking out of a message (case-insensitive).
const TRAILERS: &[&str] = &[
    "signed-off-by:",
    "acked-by:",
    "nacked-by:",
    "tested-by:",
    "reviewed-by:",
    "reported-by:",
    "suggested-by:",
    "co-developed-by:",
    "fixes:",
    "from:",
];

/// A message body: trailer lines in `trailer`, quoted lines in `quote`,
/// and http(s)/git/ftp URLs as links.
pub fn message(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let lower = bare.trim_start().to_ascii_lowercase();
        let class = if bare.starts_with('>') {
            Some("quote")
        } else if TRAILERS.iter().any(|t| lower.starts_with(t)) {
            Some("trailer")
        } else {
            None
        };
        if let Some(c) = class {
            out.push_str("<span class=\"");
            out.push_str(c);
            out.push_str("\">");
        }
        linkify(bare, &mut out);
        if class.is_some() {
            out.push_str("</span>");
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

const SCHEMES: &[&str] = &["https://", "http://", "git://", "ftp://"];

/// Escapes `text` into `out`, turning URLs into links.
fn linkify(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some((start, _)) = SCHEMES
        .iter()
        .filter_map(|s| rest.find(s).map(|i| (i, *s)))
        .min_by_key(|(i, _)| *i)
    {
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
            .unwrap_or(tail.len());
        // Sentence punctuation after a URL is not part of it.
        while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', ')', ']', '!', '?']) {
            end -= 1;
        }
        let url = &tail[..end];
        out.push_str(&escape(&rest[..start]));
        if SCHEMES
            .iter()
            .any(|s| url.len() > s.len() && url.starts_with(s))
        {
            let u = escape(url);
            out.push_str("<a href=\"");
            out.push_str(&u);
            out.push_str("\" rel=\"nofollow noopener\">");
            out.push_str(&u);
            out.push_str("</a>");
        } else {
            out.push_str(&escape(url));
        }
        // Always advance past the scheme so a bare `http://` cannot loop.
        let consumed = start + end.max(1);
        rest = &rest[consumed..];
    }
    out.push_str(&escape(rest));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lines_are_classified() {
        let d = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n\
                 @@ -1,2 +1,2 @@ fn main()\n ctx\n-old\n+new\n--- not a header\n";
        let html = diff(d);
        assert!(html.contains("<span class=\"diff-file\">--- a/x</span>"));
        assert!(html.contains("<span class=\"diff-file\">+++ b/x</span>"));
        assert!(html.contains("<span class=\"diff-func\"> fn main()</span>"));
        assert!(html.contains("<span class=\"diff-del\">-old</span>"));
        assert!(html.contains("<span class=\"diff-add\">+new</span>"));
        // Inside a hunk a removed line that starts with "--" is a removal.
        assert!(html.contains("<span class=\"diff-del\">--- not a header</span>"));
        assert!(html.contains("\n ctx\n"));
    }

    #[test]
    fn hostile_text_is_escaped() {
        let evil = "<script>alert(1)</script> \"><img src=x onerror=alert(2)>";
        for html in [diff(&format!("+{evil}\n")), message(evil)] {
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains("<img"), "{html}");
            assert!(html.contains("&lt;script&gt;"));
        }
    }

    #[test]
    fn links_and_trailers() {
        let html =
            message("See https://example.org/a?b=1&c=2.\n> quoted http://x\nAcked-by: A <a@b>\n");
        assert!(
            html.contains(
                "<a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow noopener\">"
            )
        );
        assert!(html.contains("</a>.\n"));
        assert!(html.contains("<span class=\"quote\">&gt; quoted <a href=\"http://x\""));
        assert!(html.contains("<span class=\"trailer\">Acked-by: A &lt;a@b&gt;</span>"));
    }

    #[test]
    fn no_javascript_links() {
        let html = message("javascript:alert(1) http:// https://\"onmouseover=x");
        assert!(!html.contains("href=\"javascript"));
        assert!(!html.contains("<a href=\"https://&quot;"));
        assert!(!html.contains("<a href=\"http://\""));
    }
}
