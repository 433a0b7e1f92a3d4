//! The MIME walk: every `text/*` part of a message, transfer-decoded and
//! charset-decoded the way Patchwork's `_find_content` does it.
//!
//! Single-part mail (most list traffic) is handled directly from the header
//! block. Multipart and nested messages use mail-parser only for their
//! structure (part boundaries and nesting); each part's own headers are read
//! with [`crate::headers`] so that content types, charsets and encodings are
//! interpreted with Python's rules, not mail-parser's.

use mail_parser::{MessageParser, PartType};

use crate::charset::{self, PartText};
use crate::headers::{Headers, parse_header_block};
use crate::split::TextPart;
use crate::transfer;

/// The Content-Type a part has in Python's eyes: lower-case `type/subtype`,
/// with `default` when the header is missing and `text/plain` when it is
/// malformed.
pub fn content_type(headers: &Headers, default: &str) -> String {
    let Some(raw) = headers.get("content-type") else {
        return default.to_string();
    };
    let value = charset::replace_8bit(raw);
    let main = value.split(';').next().unwrap_or("");
    let ctype = crate::text::py_strip(main).to_lowercase();
    if ctype.matches('/').count() != 1 {
        return "text/plain".to_string();
    }
    ctype
}

/// The `charset` parameter of the Content-Type, lower case; `None` when it
/// is missing or not ASCII.
pub fn content_charset(headers: &Headers) -> Option<String> {
    let raw = headers.get("content-type")?;
    let value = charset::replace_8bit(raw);
    for param in split_params(&value).into_iter().skip(1) {
        let (name, val) = match param.split_once('=') {
            Some((n, v)) => (crate::text::py_strip(n), crate::text::py_strip(v)),
            None => continue,
        };
        if name.eq_ignore_ascii_case("charset") {
            let val = unquote(val);
            return val.is_ascii().then(|| val.to_lowercase());
        }
    }
    None
}

/// Python's `email.message._parseparam`: split on `;` outside quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = format!(";{value}");
    while let Some(rest) = s.strip_prefix(';') {
        let rest = rest.to_string();
        let mut end = rest.find(';');
        while let Some(e) = end {
            if e == 0 {
                break;
            }
            let head = &rest[..e];
            let quotes = head.matches('"').count() - head.matches("\\\"").count();
            if quotes % 2 == 0 {
                break;
            }
            end = rest[e + 1..].find(';').map(|i| i + e + 1);
        }
        let end = end.unwrap_or(rest.len());
        out.push(crate::text::py_strip(&rest[..end]).to_string());
        s = rest[end..].to_string();
    }
    out
}

/// Python's `email.utils.unquote`.
fn unquote(v: &str) -> String {
    if v.len() > 1 {
        if v.starts_with('"') && v.ends_with('"') {
            return v[1..v.len() - 1]
                .replace("\\\\", "\\")
                .replace("\\\"", "\"");
        }
        if v.starts_with('<') && v.ends_with('>') {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// Undoes the part's Content-Transfer-Encoding.
fn transfer_decode(headers: &Headers, body: &[u8]) -> Vec<u8> {
    let cte = headers
        .get("content-transfer-encoding")
        .map(|v| charset::replace_8bit(v).to_lowercase())
        .unwrap_or_default();
    match cte.as_str() {
        "quoted-printable" => transfer::a2b_qp(body, false),
        "base64" => transfer::decode_base64_body(body),
        _ => body.to_vec(),
    }
}

/// Decodes a leaf part if it is `text/*`; `None` when it is not text or its
/// charset cannot decode it (Patchwork drops such parts).
fn text_part(headers: &Headers, body: &[u8], default: &str, lenient: bool) -> Option<TextPart> {
    let ctype = content_type(headers, default);
    let (main, sub) = ctype.split_once('/')?;
    if main != "text" {
        return None;
    }
    let bytes = transfer_decode(headers, body);
    let declared = content_charset(headers);
    let (text, repaired) = match charset::decode_part(declared.as_deref(), &bytes, lenient) {
        PartText::Exact(t) => (t, false),
        PartText::Repaired(t) => (t, true),
        PartText::Dropped => return None,
    };
    Some(TextPart {
        subtype: sub.to_string(),
        text: text.into_owned(),
        repaired,
    })
}

/// Every `text/*` part of `raw`, in depth-first order. With `lenient`, a
/// part whose bytes do not fit its declared charset is kept (with U+FFFD)
/// instead of dropped.
pub fn text_parts(raw: &[u8], lenient: bool) -> Vec<TextPart> {
    let (headers, body_start) = parse_header_block(raw);
    let ctype = content_type(&headers, "text/plain");
    if !ctype.starts_with("multipart/") && !ctype.starts_with("message/") {
        return text_part(&headers, &raw[body_start..], "text/plain", lenient)
            .into_iter()
            .collect();
    }
    let mut out = Vec::new();
    if let Some(message) = MessageParser::default().parse(raw) {
        walk(&message, 0, "text/plain", lenient, &mut out);
    }
    out
}

fn walk(
    message: &mail_parser::Message<'_>,
    id: usize,
    default: &str,
    lenient: bool,
    out: &mut Vec<TextPart>,
) {
    let raw = message.raw_message.as_ref();
    let Some(part) = message.parts.get(id) else {
        return;
    };
    let start = part.offset_header as usize;
    let body_start = (part.offset_body as usize).min(raw.len());
    let Some(header_bytes) = raw.get(start.min(body_start)..body_start) else {
        return;
    };
    let (headers, _) = parse_header_block(header_bytes);
    match &part.body {
        PartType::Multipart(children) => {
            let child_default = if content_type(&headers, default) == "multipart/digest" {
                "message/rfc822"
            } else {
                "text/plain"
            };
            for &child in children {
                let child = child as usize;
                if child != id {
                    walk(message, child, child_default, lenient, out);
                }
            }
        }
        PartType::Message(nested) => walk(nested, 0, "text/plain", lenient, out),
        _ => {
            let end = (part.offset_end as usize).clamp(body_start, raw.len());
            // mail-parser ends a part before the line break that precedes
            // the next boundary, which is where Python ends it too.
            let body = &raw[body_start..end];
            out.extend(text_part(&headers, body, default, lenient));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_rules() {
        let (h, _) = parse_header_block(b"Content-Type: TEXT/X-Patch; charset=\"UTF-8\"\n\n");
        assert_eq!(content_type(&h, "text/plain"), "text/x-patch");
        assert_eq!(content_charset(&h).as_deref(), Some("utf-8"));
        let (h, _) = parse_header_block(b"Content-Type: garbage\n\n");
        assert_eq!(content_type(&h, "text/plain"), "text/plain");
        let (h, _) = parse_header_block(b"X: y\n\n");
        assert_eq!(content_type(&h, "message/rfc822"), "message/rfc822");
    }

    #[test]
    fn multipart_parts_in_order_without_boundary_newline() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\nContent-Type: text/plain\n\nhello\n--XX\nContent-Type: text/x-patch; charset=utf-8\nContent-Transfer-Encoding: base64\n\nZGlmZgo=\n--XX\nContent-Type: application/octet-stream\n\nbin\n--XX--\n";
        let parts = text_parts(raw, false);
        assert_eq!(
            parts,
            vec![
                TextPart {
                    subtype: "plain".into(),
                    text: "hello".into(),
                    repaired: false
                },
                TextPart {
                    subtype: "x-patch".into(),
                    text: "diff\n".into(),
                    repaired: false
                },
            ]
        );
    }

    #[test]
    fn single_part_latin1_fallback() {
        let parts = text_parts(b"Subject: x\n\ncaf\xe9\n", false);
        assert_eq!(parts[0].text, "caf\u{e9}\n");
    }
}
