//! The MIME walk: every `text/*` part of a message, transfer-decoded and
//! charset-decoded the way Patchwork's `_find_content` does it.
//!
//! Single-part mail (most list traffic) is handled directly from the header
//! block. Multipart and enclosed messages are split here the way Python's
//! feed parser splits them (boundary lines, enclosing boundaries, the line
//! break before a boundary, `message/*` bodies), and each part's headers
//! are read with [`crate::headers`], so that content types, charsets and
//! encodings are interpreted with Python's rules.

use std::ops::Range;

use crate::charset::{self, PartText};
use crate::headers::{Headers, lines, parse_header_block};
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

/// How deep multiparts and enclosed messages may nest. Real mail nests a
/// handful of levels (a signed reply forwarding a patch is four); Python's
/// parser, which Patchwork uses, gives up with a `RecursionError` near a
/// thousand. A cap far below that keeps every walk cheap whatever the
/// input: each level rescans its part once.
pub const MAX_NESTING: usize = 100;

/// Why the parts of a mail could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MimeError {
    /// Parts nest deeper than [`MAX_NESTING`].
    TooDeep,
}

impl std::fmt::Display for MimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MimeError::TooDeep => write!(f, "MIME parts nested deeper than {MAX_NESTING} levels"),
        }
    }
}

impl std::error::Error for MimeError {}

/// Every `text/*` part of `raw`, in depth-first order. With `lenient`, a
/// part whose bytes do not fit its declared charset is kept (with U+FFFD)
/// instead of dropped.
pub fn text_parts(raw: &[u8], lenient: bool) -> Result<Vec<TextPart>, MimeError> {
    let (headers, body_start) = parse_header_block(raw);
    let ctype = content_type(&headers, "text/plain");
    if !ctype.starts_with("multipart/") && !ctype.starts_with("message/") {
        return Ok(
            text_part(&headers, &raw[body_start..], "text/plain", lenient)
                .into_iter()
                .collect(),
        );
    }
    walk(raw, lenient)
}

/// An entity still to visit: its bytes in the mail, the content type it has
/// when it declares none, how deep it sits, and whether a leaf here loses
/// its last line break. That line break belongs to the boundary after a
/// multipart's part; Python removes it from the payload of the last entity
/// the part created, which is the leaf at the end of a chain of
/// `message/*` enclosures too.
struct Entity {
    span: Range<usize>,
    default: &'static str,
    depth: usize,
    strip_eol: bool,
}

/// The structure walk of Python's feed parser (compat32), which Patchwork's
/// `_find_content` iterates: multiparts split at their boundary lines,
/// `message/*` bodies parsed as messages (without undoing a transfer
/// encoding, which RFC 2046 forbids there), everything else a leaf. An
/// explicit stack instead of recursion, and a depth cap, so that no input
/// can exhaust the stack or the time of the caller.
fn walk(raw: &[u8], lenient: bool) -> Result<Vec<TextPart>, MimeError> {
    let mut out = Vec::new();
    let mut pending = vec![Entity {
        span: 0..raw.len(),
        default: "text/plain",
        depth: 0,
        strip_eol: false,
    }];
    while let Some(entity) = pending.pop() {
        if entity.depth > MAX_NESTING {
            return Err(MimeError::TooDeep);
        }
        let bytes = &raw[entity.span.clone()];
        let (headers, body_offset) = parse_header_block(bytes);
        let body = entity.span.start + body_offset..entity.span.end;
        let ctype = content_type(&headers, entity.default);
        if ctype == "message/delivery-status" {
            // A list of header blocks: nothing of it is text.
            continue;
        }
        if ctype.starts_with("message/") {
            pending.push(Entity {
                span: body,
                default: "text/plain",
                depth: entity.depth + 1,
                strip_eol: entity.strip_eol,
            });
            continue;
        }
        if ctype.starts_with("multipart/") {
            // Without a boundary, or without its first boundary line, the
            // body is the payload of a multipart: no text parts.
            let Some(boundary) = boundary(&headers) else {
                continue;
            };
            let Some(parts) = split_multipart(raw, body, &boundary) else {
                continue;
            };
            let default = if ctype == "multipart/digest" {
                "message/rfc822"
            } else {
                "text/plain"
            };
            // Pushed in reverse so that they are visited in document order.
            pending.extend(parts.into_iter().rev().map(|span| Entity {
                span,
                default,
                depth: entity.depth + 1,
                strip_eol: true,
            }));
            continue;
        }
        let mut payload = &raw[body];
        if entity.strip_eol {
            payload = strip_one_eol(payload);
        }
        out.extend(text_part(&headers, payload, entity.default, lenient));
    }
    Ok(out)
}

/// The `boundary` parameter, as Python's `get_boundary` reads it.
fn boundary(headers: &Headers) -> Option<Vec<u8>> {
    let raw = headers.get("content-type")?;
    let value = charset::replace_8bit(raw);
    split_params(&value).into_iter().skip(1).find_map(|param| {
        let (name, val) = param.split_once('=')?;
        crate::text::py_strip(name)
            .eq_ignore_ascii_case("boundary")
            .then(|| {
                unquote(crate::text::py_strip(val))
                    .trim_end()
                    .as_bytes()
                    .to_vec()
            })
    })
}

/// Whether `line` is a boundary line for `separator` (`--` + boundary):
/// the separator, an optional `--` (the close delimiter), blanks, then the
/// line end. `Some(true)` for the close delimiter.
fn boundary_line(line: &[u8], separator: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(separator)?;
    let blank_to_end = |r: &[u8]| {
        let r = r.trim_ascii_start();
        matches!(r, b"" | b"\n" | b"\r" | b"\r\n")
    };
    if let Some(after) = rest.strip_prefix(b"--")
        && blank_to_end(after)
    {
        return Some(true);
    }
    blank_to_end(rest).then_some(false)
}

/// The spans of a multipart body's parts, each running from after its
/// boundary line to the start of the next one (its last line break is the
/// boundary's, removed later). `None` when the first boundary never comes
/// (or the close delimiter comes first): Python then keeps the body as the
/// multipart's payload. A part the body ends in before its close delimiter
/// runs to the end.
fn split_multipart(raw: &[u8], body: Range<usize>, boundary: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut separator = b"--".to_vec();
    separator.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut open: Option<usize> = None;
    let mut preamble = true;
    let mut at = body.start;
    let mut lines = lines(&raw[body.clone()]).peekable();
    while let Some(line) = lines.next() {
        let line_start = at;
        at += line.len();
        let Some(close) = boundary_line(line, &separator) else {
            continue;
        };
        if close && preamble {
            return None;
        }
        if let Some(start) = open.take() {
            parts.push(start..line_start);
        }
        if close {
            return Some(parts);
        }
        preamble = false;
        // Boundary lines that follow each other open a single part.
        while let Some(next) = lines.next_if(|l| boundary_line(l, &separator).is_some()) {
            at += next.len();
        }
        open = Some(at);
    }
    if preamble {
        return None;
    }
    parts.extend(open.map(|start| start..body.end));
    Some(parts)
}

/// Drops one trailing `\r\n`, `\n` or `\r`.
fn strip_one_eol(v: &[u8]) -> &[u8] {
    v.strip_suffix(b"\r\n")
        .or_else(|| v.strip_suffix(b"\n"))
        .or_else(|| v.strip_suffix(b"\r"))
        .unwrap_or(v)
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
        let parts = text_parts(raw, false).unwrap();
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
        let parts = text_parts(b"Subject: x\n\ncaf\xe9\n", false).unwrap();
        assert_eq!(parts[0].text, "caf\u{e9}\n");
    }
}
