//! Content-Transfer-Encoding decoders with Python's leniency.
//!
//! What Patchwork sees of a damaged base64 or quoted-printable body is what
//! Python's `binascii` makes of it, so these follow its rules (skip
//! characters outside the alphabet, stop at a complete padding sequence,
//! fail on a dangling sextet) rather than a strict RFC reading.

/// Why base64 data could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base64Error;

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Python's non-strict `binascii.a2b_base64`.
pub fn a2b_base64(data: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut quad_pos = 0u8;
    let mut left: u8 = 0;
    let mut pads = 0u8;
    for &c in data {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = b64_value(c) else { continue };
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    if quad_pos != 0 {
        return Err(Base64Error);
    }
    Ok(out)
}

fn is_strict_base64(data: &[u8]) -> bool {
    let body = data.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    data.len() - body <= 2 && data[..body].iter().all(|&c| b64_value(c).is_some())
}

/// Decodes a base64 body the way Python's `Message.get_payload(decode=True)`
/// does: line breaks removed, padding repaired when possible, and the raw
/// text returned when nothing decodes.
pub fn decode_base64_body(raw: &[u8]) -> Vec<u8> {
    let encoded: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|&c| c != b'\n' && c != b'\r')
        .collect();
    let pad = encoded.len() % 4;
    let mut padded = encoded.clone();
    if pad != 0 {
        padded.extend(std::iter::repeat_n(b'=', 4 - pad).take(3));
    }
    if is_strict_base64(&padded)
        && let Ok(v) = a2b_base64(&padded)
    {
        return v;
    }
    if let Ok(v) = a2b_base64(&encoded) {
        return v;
    }
    let mut more = encoded.clone();
    more.extend_from_slice(b"==");
    if let Ok(v) = a2b_base64(&more) {
        return v;
    }
    encoded
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Python's `binascii.a2b_qp`; with `header`, `_` stands for a space (the
/// RFC 2047 "Q" encoding).
pub fn a2b_qp(data: &[u8], header: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c == b'=' {
            i += 1;
            if i >= data.len() {
                break;
            }
            match data[i] {
                b'\n' | b'\r' => {
                    // Soft line break: skip to just after the next `\n`.
                    if data[i] != b'\n' {
                        while i < data.len() && data[i] != b'\n' {
                            i += 1;
                        }
                    }
                    if i < data.len() {
                        i += 1;
                    }
                }
                b'=' => {
                    out.push(b'=');
                    i += 1;
                }
                hi => match (hex_value(hi), data.get(i + 1).and_then(|&l| hex_value(l))) {
                    (Some(h), Some(l)) => {
                        out.push((h << 4) | l);
                        i += 2;
                    }
                    _ => out.push(b'='),
                },
            }
        } else if header && c == b'_' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// RFC 2047 "Q" decoding as Python's `email.quoprimime.header_decode` does
/// it: `_` is a space and only `=XX` with two hex digits is an escape.
pub fn decode_q_word(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if c == b'_' {
            out.push(b' ');
        } else if c == b'='
            && let (Some(h), Some(l)) = (
                data.get(i + 1).and_then(|&b| hex_value(b)),
                data.get(i + 2).and_then(|&b| hex_value(b)),
            )
        {
            out.push((h << 4) | l);
            i += 3;
            continue;
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_lenient_like_binascii() {
        assert_eq!(a2b_base64(b"aGVs bG8=").unwrap(), b"hello");
        assert_eq!(a2b_base64(b"aGVsbA==junk").unwrap(), b"hell");
        assert!(a2b_base64(b"aGVsb").is_err());
        assert!(a2b_base64(b"aGVsbG").is_err());
    }

    #[test]
    fn base64_body_repairs_padding_or_keeps_text() {
        assert_eq!(decode_base64_body(b"aGVsbG8\n"), b"hello");
        assert_eq!(decode_base64_body(b"aGVsbA\n=="), b"hell");
        assert_eq!(decode_base64_body(b"a"), b"a");
    }

    #[test]
    fn quoted_printable() {
        assert_eq!(a2b_qp(b"caf=E9 =\nx=3D=zz=", false), b"caf\xe9 x==zz");
        assert_eq!(a2b_qp(b"a=\r\nb", false), b"ab");
        assert_eq!(decode_q_word(b"a_b=c3=bc=4"), b"a b\xc3\xbc=4");
    }
}
