//! Text decoding with the strictness of Python's codecs.
//!
//! Patchwork keeps or drops a MIME part depending on whether Python can
//! decode it. encoding_rs follows WHATWG, which maps `us-ascii` and
//! `iso-8859-1` to windows-1252 and never fails on windows-1252; Python's
//! codecs are strict ASCII, true Latin-1, and a windows-1252 with five
//! undefined bytes. Those three (and UTF-8) are handled here by hand; every
//! other charset goes through encoding_rs without replacement.

use std::borrow::Cow;

/// A text codec, resolved from a charset label the way `codecs.lookup` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Strict UTF-8.
    Utf8,
    /// Strict 7-bit ASCII.
    Ascii,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
    /// windows-1252 with 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined.
    Cp1252,
    /// Python's `unknown-8bit` pseudo charset: ASCII, other bytes undecodable
    /// but kept (and shown as U+FFFD).
    Unknown8bit,
    /// Any other charset encoding_rs knows.
    Other(&'static encoding_rs::Encoding),
}

/// Why a decode did not give text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes are not valid in the charset.
    Invalid,
}

/// Normalises a label like Python's `encodings.normalize_encoding`: lower
/// case, runs of characters other than alphanumerics and `.` become one `_`,
/// no leading or trailing `_`.
fn normalize(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut pending_sep = false;
    for c in label.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_sep = true;
        }
    }
    out
}

/// The charset name Python's `email.charset.Charset` settles on (its
/// `ALIASES` table), which decoding and re-encoding header words both use.
pub(crate) fn python_alias(label: &str) -> &str {
    match label {
        "latin_1" | "latin-1" => "iso-8859-1",
        "latin_2" | "latin-2" => "iso-8859-2",
        "latin_3" | "latin-3" => "iso-8859-3",
        "latin_4" | "latin-4" => "iso-8859-4",
        "latin_5" | "latin-5" => "iso-8859-9",
        "latin_6" | "latin-6" => "iso-8859-10",
        "latin_7" | "latin-7" => "iso-8859-13",
        "latin_8" | "latin-8" => "iso-8859-14",
        "latin_9" | "latin-9" => "iso-8859-15",
        "latin_10" | "latin-10" => "iso-8859-16",
        "cp949" => "ks_c_5601-1987",
        "euc_jp" => "euc-jp",
        "euc_kr" => "euc-kr",
        "ascii" => "us-ascii",
        other => other,
    }
}

/// Resolves a charset label. `None` means Python would not know it either
/// (so the caller falls back), or the label is unusable (NUL bytes, non-ASCII).
pub fn lookup(label: &str) -> Option<Codec> {
    if label.is_empty() || !label.is_ascii() || label.contains('\0') {
        return None;
    }
    let norm = normalize(label);
    let codec = match norm.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "utf8_ucs2" | "utf8_ucs4" | "cp65001" => Codec::Utf8,
        "ascii" | "us_ascii" | "646" | "ansi_x3.4_1968" | "ansi_x3_4_1968" | "ansi_x3.4_1986"
        | "cp367" | "csascii" | "ibm367" | "iso646_us" | "iso_646.irv_1991" | "iso_ir_6" | "us" => {
            Codec::Ascii
        }
        "latin_1" | "latin1" | "l1" | "iso_8859_1" | "iso8859_1" | "8859" | "cp819"
        | "iso_ir_100" | "iso_8859_1_1987" | "ibm819" | "latin" => Codec::Latin1,
        "cp1252" | "windows_1252" | "1252" => Codec::Cp1252,
        "unknown_8bit" => Codec::Unknown8bit,
        _ => {
            // Labels Python knows under other spellings, then encoding_rs.
            let enc = encoding_rs::Encoding::for_label_no_replacement(label.as_bytes())
                .or_else(|| encoding_rs::Encoding::for_label_no_replacement(norm.as_bytes()))
                .or_else(|| {
                    encoding_rs::Encoding::for_label_no_replacement(
                        norm.replace('_', "-").as_bytes(),
                    )
                })?;
            if enc == encoding_rs::UTF_8 {
                Codec::Utf8
            } else if enc == encoding_rs::WINDOWS_1252 {
                // Only labels that are really windows-1252 reach here.
                Codec::Cp1252
            } else {
                Codec::Other(enc)
            }
        }
    };
    Some(codec)
}

const CP1252_UNDEFINED: [u8; 5] = [0x81, 0x8d, 0x8f, 0x90, 0x9d];

/// Decodes `bytes` strictly with `codec`.
pub fn decode(codec: Codec, bytes: &[u8]) -> Result<Cow<'_, str>, DecodeError> {
    match codec {
        Codec::Utf8 => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|_| DecodeError::Invalid),
        Codec::Ascii => {
            if bytes.is_ascii() {
                // ASCII is valid UTF-8.
                std::str::from_utf8(bytes)
                    .map(Cow::Borrowed)
                    .map_err(|_| DecodeError::Invalid)
            } else {
                Err(DecodeError::Invalid)
            }
        }
        Codec::Latin1 => Ok(latin1(bytes)),
        Codec::Cp1252 => {
            if bytes.iter().any(|b| CP1252_UNDEFINED.contains(b)) {
                return Err(DecodeError::Invalid);
            }
            if bytes.is_ascii() {
                return Ok(latin1(bytes));
            }
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            Ok(text)
        }
        Codec::Unknown8bit => Ok(replace_8bit(bytes)),
        Codec::Other(enc) => enc
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(DecodeError::Invalid),
    }
}

/// ISO-8859-1: each byte is a code point.
pub fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8, so this cannot fail.
        return String::from_utf8_lossy(bytes);
    }
    Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
}

/// ASCII with every other byte shown as U+FFFD, as Python prints text in its
/// `unknown-8bit` pseudo charset.
pub fn replace_8bit(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        return String::from_utf8_lossy(bytes);
    }
    Cow::Owned(
        bytes
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b)
                } else {
                    '\u{fffd}'
                }
            })
            .collect(),
    )
}

/// How a body part was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartText<'a> {
    /// Decoded as Patchwork decodes it.
    Exact(Cow<'a, str>),
    /// The declared charset did not fit the bytes; Patchwork drops such a
    /// part, we decode it with U+FFFD for the bad sequences (lenient mode).
    Repaired(Cow<'a, str>),
    /// Dropped, as Patchwork drops it (strict mode).
    Dropped,
}

/// Decodes a body part like Patchwork: with the declared charset only, if it
/// is known; otherwise UTF-8, then windows-1252, then ISO-8859-1 (which
/// cannot fail). When the declared charset does not fit, `lenient` keeps the
/// part with replacement characters instead of dropping it.
pub fn decode_part<'a>(declared: Option<&str>, bytes: &'a [u8], lenient: bool) -> PartText<'a> {
    match declared.and_then(lookup) {
        Some(codec) => match decode(codec, bytes) {
            Ok(text) => PartText::Exact(text),
            Err(_) if lenient => PartText::Repaired(decode_lossy(codec, bytes)),
            Err(_) => PartText::Dropped,
        },
        None => match decode(Codec::Utf8, bytes)
            .or_else(|_| decode(Codec::Cp1252, bytes))
            .or_else(|_| decode(Codec::Latin1, bytes))
        {
            Ok(text) => PartText::Exact(text),
            Err(_) => PartText::Dropped,
        },
    }
}

/// Decodes with replacement characters where the bytes do not fit.
fn decode_lossy(codec: Codec, bytes: &[u8]) -> Cow<'_, str> {
    match codec {
        Codec::Utf8 => String::from_utf8_lossy(bytes),
        Codec::Ascii | Codec::Unknown8bit => replace_8bit(bytes),
        Codec::Latin1 => latin1(bytes),
        Codec::Cp1252 => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
        Codec::Other(enc) => enc.decode_without_bom_handling(bytes).0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_like_python() {
        assert_eq!(lookup("UTF-8"), Some(Codec::Utf8));
        assert_eq!(lookup("us-ascii"), Some(Codec::Ascii));
        assert_eq!(lookup("ISO-8859-1"), Some(Codec::Latin1));
        assert_eq!(lookup("windows-1252"), Some(Codec::Cp1252));
        assert_eq!(lookup("none"), None);
        assert_eq!(lookup("x-unknown"), None);
        assert_eq!(lookup("u\0\0\0d"), None);
        assert!(matches!(lookup("iso-8859-15"), Some(Codec::Other(_))));
        assert!(matches!(lookup("koi8-r"), Some(Codec::Other(_))));
    }

    #[test]
    fn strict_ascii_and_cp1252() {
        assert!(decode(Codec::Ascii, b"caf\xe9").is_err());
        assert!(decode(Codec::Cp1252, b"\x81").is_err());
        assert_eq!(decode(Codec::Cp1252, b"\x80").unwrap(), "\u{20ac}");
        assert_eq!(decode(Codec::Latin1, b"\x80").unwrap(), "\u{80}");
    }

    #[test]
    fn declared_charset_is_final_and_fallback_chain_never_fails() {
        let exact = |t: &str| PartText::Exact(Cow::Owned(t.to_string()));
        assert_eq!(
            decode_part(Some("us-ascii"), b"caf\xe9", false),
            PartText::Dropped
        );
        assert_eq!(
            decode_part(Some("us-ascii"), b"caf\xe9", true),
            PartText::Repaired(Cow::Owned("caf\u{fffd}".into()))
        );
        assert_eq!(decode_part(Some("none"), b"caf\xe9", false), exact("café"));
        assert_eq!(decode_part(None, b"\x81\xe9", false), exact("\u{81}é"));
        assert_eq!(decode_part(None, "é".as_bytes(), false), exact("é"));
    }
}
