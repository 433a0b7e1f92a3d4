//! Header value decoding with Patchwork's rules (`clean_header`).
//!
//! RFC 2047 words are decoded with their declared charset; if any word fails
//! (bad bytes, unknown charset), every part is re-read as "unknown-8bit",
//! which turns each non-ASCII byte into U+FFFD. A header that carries raw
//! 8-bit bytes is never RFC 2047-decoded at all: each such byte becomes one
//! U+FFFD. Spacing between encoded and plain words follows Python's
//! `email.header` module, since names and subjects are compared verbatim.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::charset::{self, Codec};
use crate::text::{normalise_space, py_isspace};
use crate::transfer::{a2b_base64, decode_q_word};

pub(crate) static ENCODED_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"=\?([^?]*?)\?([qQbB])\?(.*?)\?=").expect("static regex is valid")
});

/// Decodes a raw header value and normalises its whitespace, as Patchwork's
/// `clean_header` does. `None` means the header cannot be made sane; callers
/// then treat it as absent.
pub fn clean_header(raw: &[u8]) -> Option<String> {
    let text = decode_header_value(raw)?;
    let text = if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    };
    Some(normalise_space(&text))
}

/// A word of a header value: bytes, and the charset they are in (`None` for
/// plain text).
pub(crate) struct Word {
    pub(crate) bytes: Vec<u8>,
    pub(crate) charset: Option<String>,
}

/// Decodes without normalising whitespace.
pub fn decode_header_value(raw: &[u8]) -> Option<String> {
    if !raw.is_ascii() {
        return Some(charset::replace_8bit(raw).into_owned());
    }
    if !ENCODED_WORD.is_match(raw) {
        // ASCII is valid UTF-8.
        return Some(String::from_utf8_lossy(raw).into_owned());
    }
    let words = split_words(raw)?;
    match make_header(&words) {
        Some(text) => Some(text),
        None => {
            // Some word would not decode: every part becomes unknown-8bit,
            // and same-charset chunks are joined with a space.
            let parts: Vec<String> = words
                .iter()
                .map(|w| charset::replace_8bit(&w.bytes).into_owned())
                .collect();
            Some(parts.join(" "))
        }
    }
}

/// Python's `splitlines` on an ASCII string.
fn split_lines(raw: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' => {
                out.push(&raw[start..i]);
                if raw.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            b'\n' | 0x0b | 0x0c | 0x1c | 0x1d | 0x1e => {
                out.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < raw.len() {
        out.push(&raw[start..]);
    }
    out
}

type RawWord = (Vec<u8>, Option<u8>, Option<String>);

/// Adds the plain text between encoded words; the first on each line loses
/// its leading whitespace.
fn push_plain(words: &mut Vec<RawWord>, text: &[u8], first: &mut bool) {
    let text = if *first {
        let n = text
            .iter()
            .take_while(|&&c| py_isspace(char::from(c)))
            .count();
        &text[n..]
    } else {
        text
    };
    *first = false;
    if !text.is_empty() {
        words.push((text.to_vec(), None, None));
    }
}

fn is_space_bytes(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(|&c| py_isspace(char::from(c)))
}

/// `email.header.decode_header`: split into plain and encoded words, drop
/// whitespace between encoded words, decode Q/B, merge runs of one charset.
pub(crate) fn split_words(raw: &[u8]) -> Option<Vec<Word>> {
    // (text, encoding, charset): encoding None for plain text.
    let mut words: Vec<RawWord> = Vec::new();
    for line in split_lines(raw) {
        let mut first = true;
        let mut last = 0;
        for caps in ENCODED_WORD.captures_iter(line) {
            let Some(whole) = caps.get(0) else { continue };
            push_plain(&mut words, &line[last..whole.start()], &mut first);
            let cs = caps.get(1).map_or(&b""[..], |m| m.as_bytes());
            let enc = caps
                .get(2)
                .map_or(b'q', |m| m.as_bytes()[0].to_ascii_lowercase());
            let text = caps.get(3).map_or(&b""[..], |m| m.as_bytes());
            words.push((
                text.to_vec(),
                Some(enc),
                Some(String::from_utf8_lossy(cs).to_ascii_lowercase()),
            ));
            last = whole.end();
        }
        push_plain(&mut words, &line[last..], &mut first);
    }

    // Whitespace between two encoded words disappears (decided on the
    // original neighbours, as Python does, then dropped in one pass).
    let drop: Vec<bool> = (0..words.len())
        .map(|n| {
            n >= 1
                && n + 1 < words.len()
                && words[n + 1].1.is_some()
                && words[n - 1].1.is_some()
                && is_space_bytes(&words[n].0)
        })
        .collect();
    let mut index = 0;
    words.retain(|_| {
        index += 1;
        !drop[index - 1]
    });

    let mut decoded = Vec::with_capacity(words.len());
    for (text, enc, cs) in words {
        let bytes = match enc {
            None => text,
            Some(b'q') => decode_q_word(&text),
            Some(_) => {
                let mut padded = text;
                let pad = padded.len() % 4;
                if pad != 0 {
                    padded.extend(std::iter::repeat_n(b'=', 4 - pad));
                }
                a2b_base64(&padded).ok()?
            }
        };
        decoded.push(Word { bytes, charset: cs });
    }

    let mut collapsed: Vec<Word> = Vec::with_capacity(decoded.len());
    for w in decoded {
        match collapsed.last_mut() {
            Some(last) if last.charset == w.charset => {
                if last.charset.is_none() {
                    last.bytes.push(b' ');
                }
                last.bytes.extend_from_slice(&w.bytes);
            }
            _ => collapsed.push(w),
        }
    }
    Some(collapsed)
}

fn is_ascii_charset(cs: Option<&str>) -> bool {
    matches!(cs, None | Some("us-ascii"))
}

fn nonctext(c: char) -> bool {
    py_isspace(c) || matches!(c, '(' | ')' | '\\')
}

/// `make_header` followed by `str()`: decode every word with its charset and
/// join the chunks with Python's spacing rules. `None` when a word cannot be
/// decoded (unknown charset or invalid bytes).
fn make_header(words: &[Word]) -> Option<String> {
    // (text, charset) with plain words in us-ascii.
    let mut chunks: Vec<(String, String)> = Vec::with_capacity(words.len());
    for w in words {
        let cs = charset::python_alias(w.charset.as_deref().unwrap_or("us-ascii")).to_string();
        let text = if cs == "unknown-8bit" {
            charset::replace_8bit(&w.bytes).into_owned()
        } else {
            let codec = charset::lookup(&cs)?;
            let codec = if codec == Codec::Unknown8bit {
                Codec::Ascii
            } else {
                codec
            };
            charset::decode(codec, &w.bytes).ok()?.into_owned()
        };
        // Non-ASCII text in a us-ascii chunk is relabelled utf-8 by Python.
        let cs = if cs == "us-ascii" && !text.is_ascii() {
            "utf-8".to_string()
        } else {
            cs
        };
        match chunks.last_mut() {
            Some((last, last_cs)) if *last_cs == cs => {
                last.push(' ');
                last.push_str(&text);
            }
            _ => chunks.push((text, cs)),
        }
    }

    let mut out = String::new();
    let mut last_cs: Option<&str> = None;
    let mut last_space = false;
    for (i, (text, cs)) in chunks.iter().enumerate() {
        let mut next_cs: Option<&str> = Some(cs.as_str());
        if i > 0 {
            let has_space = text.chars().next().is_some_and(nonctext);
            if !is_ascii_charset(last_cs) {
                if is_ascii_charset(next_cs) && !has_space {
                    out.push(' ');
                    next_cs = None;
                }
            } else if !is_ascii_charset(next_cs) && !last_space {
                out.push(' ');
            }
        }
        last_space = text.chars().last().is_some_and(nonctext);
        last_cs = next_cs;
        out.push_str(text);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &[u8]) -> Option<String> {
        clean_header(s)
    }

    #[test]
    fn plain_and_folded() {
        assert_eq!(clean(b"[PATCH] meep \n meep").unwrap(), "[PATCH] meep meep");
    }

    #[test]
    fn encoded_words() {
        assert_eq!(
            clean(b"=?utf-8?q?test=20s=c3=bcbject?=").unwrap(),
            "test s\u{fc}bject"
        );
        assert_eq!(
            clean(b"=?utf-8?q?test?= =?utf-8?q?s=c3=bcbject?=").unwrap(),
            "tests\u{fc}bject"
        );
        assert_eq!(clean(b"a =?utf-8?q?b?= c").unwrap(), "a b c");
        assert_eq!(
            clean(b"=?UTF-8?B?UmFmYcWCIE1pxYJlY2tp?= <zajec5@gmail.com>").unwrap(),
            "Rafa\u{142} Mi\u{142}ecki <zajec5@gmail.com>"
        );
    }

    #[test]
    fn undecodable_words_become_replacement_characters() {
        assert_eq!(
            clean(b"=?x-unknown?q?caf=E9?= bar").unwrap(),
            "caf\u{fffd} bar"
        );
        assert_eq!(clean(b"=?utf-8?q?=FF=FF?=").unwrap(), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn raw_8bit_is_not_decoded() {
        assert_eq!(clean("Rafał".as_bytes()).unwrap(), "Rafa\u{fffd}\u{fffd}");
    }

    #[test]
    fn broken_base64_is_unsanitisable() {
        assert_eq!(clean(b"=?utf-8?b?QUJDRA?= x"), Some("ABCD x".to_string()));
        assert_eq!(clean(b"=?utf-8?b?Q?="), None);
    }

    #[test]
    fn nul_removed() {
        assert_eq!(clean(b"a\0b").unwrap(), "ab");
    }
}
