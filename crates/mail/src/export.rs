//! Submissions written back out as mbox messages, the way Patchwork's
//! downloads build them (reference: ingest-and-web §4): generated headers,
//! the original headers, the message with reviewers' trailers gathered
//! from the comments before the `---` line, then the diff. `git am` and
//! every client consume this.

use std::sync::LazyLock;

use regex::Regex;

use crate::header_encode::{self, MAX_LINE_LEN};

static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^-{2,3} ?$").expect("static regex is valid"));
static RESPONSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^(Tested|Reviewed|Acked|Signed-off|Nacked|Reported)-by:.*$")
        .expect("static regex is valid")
});

/// What a download needs to know about a patch or cover letter.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// Database id (`X-Patchwork-Id`).
    pub id: i64,
    /// Stored header block: `Name: value` lines, folds kept.
    pub headers: &'a str,
    /// Message without the diff.
    pub content: Option<&'a str>,
    /// The diff (patches).
    pub diff: Option<&'a str>,
    /// Submitter's current name.
    pub submitter_name: Option<&'a str>,
    /// Submitter's address.
    pub submitter_email: &'a str,
    /// Delegate's address, for `X-Patchwork-Delegate`.
    pub delegate_email: Option<&'a str>,
    /// The project's list address (a `From:` equal to it is DMARC
    /// rewriting, undone).
    pub list_email: &'a str,
    /// The contents of its comments, in date order, for their trailers.
    pub comments: Vec<&'a str>,
    /// The stored date as `Wed Jun  1 20:00:54 2016` (envelope line).
    pub ctime: String,
    /// The stored date as `Mon, 03 Feb 2020 04:05:06 -0000` (when the mail
    /// had no `Date:`).
    pub rfc2822: String,
}

/// `Name <email>` as Python's `formataddr` writes it: a non-ASCII name as
/// one RFC 2047 word (`q` or `b`, whichever is shorter), an ASCII name
/// quoted when it has specials.
pub fn format_address(name: Option<&str>, email: &str) -> String {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return email.to_string();
    };
    if !name.is_ascii() {
        return format!("{} <{email}>", header_encode::encode_word_utf8(name));
    }
    if name.chars().any(|c| "()<>@,:;.\"[]\\".contains(c)) {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        return format!("\"{quoted}\" <{email}>");
    }
    format!("{name} <{email}>")
}

/// The message part of the download: content up to the `---` line, the
/// comments' trailers, the normalised `---` and what followed it, then the
/// diff.
pub fn body(s: &Submission<'_>) -> String {
    // An empty content is "no content" to upstream, like a missing one.
    let mut body = match s.content.filter(|c| !c.is_empty()) {
        Some(c) => format!("{}\n", crate::text::py_strip(c)),
        None => String::new(),
    };
    let mut postscript = String::new();
    if let Some(m) = SEPARATOR.find(&body) {
        postscript = body[m.end()..].trim_end().to_string();
        body = format!("{}\n", crate::text::py_strip(&body[..m.start()]));
    }
    for comment in &s.comments {
        for m in RESPONSE.find_iter(comment) {
            body.push_str(m.as_str());
            body.push('\n');
        }
    }
    if !postscript.is_empty() {
        body.push_str("---");
        body.push_str(&postscript);
        body.push('\n');
    }
    if let Some(diff) = s.diff.filter(|d| !d.is_empty()) {
        body.push('\n');
        body.push_str(diff);
    }
    body
}

fn address_of(value: &str) -> &str {
    match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].trim(),
        _ => value.trim(),
    }
}

/// Appends `Name: value` the way Python's generator writes a header it
/// holds as a string: re-folded at 78 columns, original folds kept.
fn push_header(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(&header_encode::fold_plain(name, value, MAX_LINE_LEN));
    out.push('\n');
}

/// One mbox message (envelope line included) for a submission.
pub fn mbox(s: &Submission<'_>) -> String {
    let body = body(s);
    let submitter = format_address(s.submitter_name, s.submitter_email);
    let mut out = String::with_capacity(body.len() + s.headers.len() + 512);
    out.push_str("From patchwork ");
    out.push_str(&s.ctime);
    out.push('\n');
    out.push_str("Content-Type: text/plain; charset=\"utf-8\"\nMIME-Version: 1.0\n");
    out.push_str(if body.is_ascii() {
        "Content-Transfer-Encoding: 7bit\n"
    } else {
        "Content-Transfer-Encoding: 8bit\n"
    });
    push_header(&mut out, "X-Patchwork-Submitter", &submitter);
    push_header(&mut out, "X-Patchwork-Id", &s.id.to_string());
    if let Some(d) = s.delegate_email {
        push_header(&mut out, "X-Patchwork-Delegate", d);
    }
    let mut has_date = false;
    for (name, value) in split_headers(s.headers) {
        if name.eq_ignore_ascii_case("content-type")
            || name.eq_ignore_ascii_case("content-transfer-encoding")
        {
            continue;
        }
        if name.eq_ignore_ascii_case("date") {
            has_date = true;
        }
        if name.eq_ignore_ascii_case("from")
            && !s.list_email.is_empty()
            && address_of(&value) == s.list_email
        {
            push_header(&mut out, "X-Patchwork-Original-From", &value);
            push_header(&mut out, name, &submitter);
            continue;
        }
        push_header(&mut out, name, &value);
    }
    if !has_date {
        push_header(&mut out, "Date", &s.rfc2822);
    }
    out.push('\n');
    out.push_str(&body);
    out
}

/// The stored header block as (name, value) pairs, folds kept, read the
/// way upstream's download reads it.
fn split_headers(stored: &str) -> Vec<(&str, String)> {
    header_encode::parse_stored(stored)
}

/// Patchwork's download file name: each run of characters outside
/// `[-_A-Za-z0-9.]` becomes one `-` (a `-` already there stays, so
/// `git->reuse` gives `git--reuse`), leading and trailing `-` removed.
pub fn filename(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub<'a>(content: &'a str, comments: Vec<&'a str>) -> Submission<'a> {
        Submission {
            id: 7,
            headers: "From: A <a@x>\nSubject: [PATCH] x\nContent-Type: multipart/signed\nList-Id: <l.x>",
            content: Some(content),
            diff: Some("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"),
            submitter_name: Some("A"),
            submitter_email: "a@x",
            delegate_email: None,
            list_email: "list@x",
            comments,
            ctime: "Mon Feb  3 04:05:06 2020".into(),
            rfc2822: "Mon, 03 Feb 2020 04:05:06 -0000".into(),
        }
    }

    #[test]
    fn trailers_before_separator() {
        let s = sub(
            "msg\n\nSigned-off-by: A\n--\nv2: changed stuff\n",
            vec!["Looks good.\nReviewed-by: R\n"],
        );
        assert_eq!(
            body(&s),
            "msg\n\nSigned-off-by: A\nReviewed-by: R\n---\nv2: changed stuff\n\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
        );
    }

    #[test]
    fn headers_and_date() {
        let m = mbox(&sub("msg", vec!["Acked-by: 1\n", "Acked-by: 2\n"]));
        assert!(m.starts_with(
            "From patchwork Mon Feb  3 04:05:06 2020\nContent-Type: text/plain; charset=\"utf-8\"\n"
        ));
        assert!(m.contains("X-Patchwork-Id: 7\n"));
        assert!(m.contains("X-Patchwork-Submitter: A <a@x>\n"));
        assert!(!m.contains("multipart/signed"));
        assert!(m.contains("List-Id: <l.x>\n"));
        assert!(m.contains("Date: Mon, 03 Feb 2020 04:05:06 -0000\n"));
        assert!(m.contains("msg\nAcked-by: 1\nAcked-by: 2\n\n--- a/f"));
    }

    #[test]
    fn dmarc_rewrite() {
        let mut s = sub("msg", vec![]);
        s.headers = "From: A via L <list@x>\nDate: Mon, 3 Feb 2020 04:05:06 +0000";
        let m = mbox(&s);
        assert!(m.contains("X-Patchwork-Original-From: A via L <list@x>\nFrom: A <a@x>\n"));
        assert!(!m.contains("Date: Mon, 03 Feb"));
    }

    #[test]
    fn names() {
        assert_eq!(
            filename("[v2,2/2] test: Convert to Markdown"),
            "v2-2-2-test-Convert-to-Markdown"
        );
        assert_eq!(filename("Untitled series #12"), "Untitled-series-12");
        assert_eq!(
            format_address(Some("Rafał"), "r@x"),
            "=?utf-8?b?UmFmYcWC?= <r@x>"
        );
        assert_eq!(format_address(Some("Doe, J."), "j@x"), "\"Doe, J.\" <j@x>");
        assert_eq!(format_address(None, "j@x"), "j@x");
    }

    /// Expected text computed with Python 3.11's email generator, the way
    /// upstream builds the download (`as_bytes` of a text/plain message).
    #[test]
    fn generator_folds_long_headers_and_picks_q_for_mostly_ascii_names() {
        let mut s = sub("", vec![]);
        s.headers = "From: A <a@x>\nSubject: [PATCH] x\nX-Long: one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
        s.submitter_name = Some("Jean-Francois Lefevre Dupont Marchandé");
        s.submitter_email = "jean-francois.marchande@long.example.org";
        assert_eq!(
            mbox(&s),
            "From patchwork Mon Feb  3 04:05:06 2020\n\
             Content-Type: text/plain; charset=\"utf-8\"\n\
             MIME-Version: 1.0\n\
             Content-Transfer-Encoding: 7bit\n\
             X-Patchwork-Submitter: =?utf-8?q?Jean-Francois_Lefevre_Dupont_Marchand=C3=A9?=\n \
             <jean-francois.marchande@long.example.org>\n\
             X-Patchwork-Id: 7\n\
             From: A <a@x>\n\
             Subject: [PATCH] x\n\
             X-Long: one two three four five six seven eight nine ten eleven twelve\n thirteen fourteen\n\
             Date: Mon, 03 Feb 2020 04:05:06 -0000\n\
             \n\
             \n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
        );
    }

    #[test]
    fn empty_content_is_no_content() {
        let mut s = sub("", vec![]);
        assert_eq!(body(&s), "\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n");
        s.content = None;
        assert_eq!(body(&s), "\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n");
    }

    #[test]
    fn file_names_keep_dashes_next_to_replaced_runs() {
        assert_eq!(filename("[PATCH] git->reuse: a  b"), "PATCH-git--reuse-a-b");
        assert_eq!(filename("--x--"), "x");
    }

    #[test]
    fn backslash_names_are_quoted() {
        assert_eq!(format_address(Some("a\\b"), "j@x"), "\"a\\\\b\" <j@x>");
    }

    #[test]
    fn diffstat_unchanged() {
        let mut s = sub("some comment\n---\n some/file | 1 +\n", vec![]);
        s.diff = None;
        assert_eq!(body(&s), "some comment\n---\n some/file | 1 +\n");
    }
}
