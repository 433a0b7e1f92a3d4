//! Web URLs of submissions, series and bundles, shared by the API (which
//! returns them) and the pages (which serve them), and the stored header
//! block read back into names and values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The message-id without its angle brackets.
pub fn bare_msgid(msgid: &str) -> &str {
    let m = msgid.trim();
    let m = m.strip_prefix('<').unwrap_or(m);
    m.strip_suffix('>').unwrap_or(m)
}

/// A message-id as a URL segment: brackets stripped, only `/` encoded
/// (Patchwork leaves `@` and the rest alone).
pub fn msgid_segment(msgid: &str) -> String {
    bare_msgid(msgid).replace('/', "%2F")
}

/// `/project/LINK/patch/MSGID/`.
pub fn patch(linkname: &str, msgid: &str) -> String {
    format!("/project/{linkname}/patch/{}/", msgid_segment(msgid))
}

/// `/project/LINK/cover/MSGID/`.
pub fn cover(linkname: &str, msgid: &str) -> String {
    format!("/project/{linkname}/cover/{}/", msgid_segment(msgid))
}

/// `/project/LINK/list/?series=ID`.
pub fn series_list(linkname: &str, id: i64) -> String {
    format!("/project/{linkname}/list/?series={id}")
}

/// Everything but RFC 3986's unreserved and sub-delimiter characters, `:`
/// and `@`: what a path segment may hold unencoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// `/bundle/OWNER/NAME/`.
pub fn bundle(owner: &str, name: &str) -> String {
    format!(
        "/bundle/{}/{}/",
        utf8_percent_encode(owner, SEGMENT),
        utf8_percent_encode(name, SEGMENT)
    )
}

/// A stored header block as upstream's API reads it (Python's email
/// parser): `(name, value)` pairs in order, folds kept.
pub fn split_headers(stored: &str) -> Vec<(&str, String)> {
    patchtrack_mail::header_encode::parse_stored(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgids() {
        assert_eq!(msgid_segment("<a/b@c>"), "a%2Fb@c");
        assert_eq!(patch("p", "<x@y>"), "/project/p/patch/x@y/");
        assert_eq!(bundle("a b", "[0/2] x"), "/bundle/a%20b/%5B0%2F2%5D%20x/");
    }

    #[test]
    fn headers_fold() {
        let h = split_headers("A: 1\nB: x;\n\ty\nA: 2");
        assert_eq!(
            h,
            vec![
                ("A", "1".to_string()),
                ("B", "x;\n\ty".to_string()),
                ("A", "2".to_string())
            ]
        );
    }
}
