//! Header values re-encoded the way Patchwork stores them.
//!
//! Patchwork does not keep a mail's header bytes. Each header is decoded
//! (RFC 2047 words with their charsets, or every part as `unknown-8bit` when
//! one of them does not decode), then rebuilt and re-encoded by Python's
//! `email.header.Header` with a TAB as continuation whitespace. That text is
//! what the API's `headers` objects, the mbox downloads and the comment
//! subjects are made of, and clients compare it verbatim, so the result here
//! must be byte for byte what Python computes: the same folding points
//! (78 columns, the first line shortened by `Name: `), the same choice
//! between `q` and `b` words, the same lower-case chrome, the same quirks
//! (a lone long word moves to its own line after the colon; plain ASCII keeps
//! its original folding; a value that would look like an embedded header is
//! dropped).
//!
//! Text is held as [`Unit`]s rather than a `String` because Python carries
//! undecodable header bytes as lone surrogates, one "character" each, and
//! they take part in the line splitting like any other character.

use std::sync::LazyLock;

use regex::Regex;

use crate::charset::{self, Codec};
use crate::encoded_word::{ENCODED_WORD, split_words};
use crate::headers::Headers;
use crate::text::py_isspace;

/// Python's default `maxlinelen` for a `Header`.
pub const MAX_LINE_LEN: usize = 78;

/// A value containing a line that starts like a field name is refused by
/// `Header.encode` (header injection guard).
static EMBEDDED_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\n[^ \t]+:").expect("static regex is valid"));

/// One character of header text: a code point, or a raw byte Python keeps
/// as a surrogate escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Char(char),
    Byte(u8),
}

impl Unit {
    fn is_space(self) -> bool {
        matches!(self, Unit::Char(c) if py_isspace(c))
    }

    /// Not RFC 822 `ctext`: whitespace, parentheses or a backslash.
    fn is_nonctext(self) -> bool {
        matches!(self, Unit::Char(c) if py_isspace(c) || matches!(c, '(' | ')' | '\\'))
    }

    fn is_line_break(self) -> bool {
        matches!(
            self,
            Unit::Char(
                '\n' | '\r'
                    | '\u{0b}'
                    | '\u{0c}'
                    | '\u{1c}'
                    | '\u{1d}'
                    | '\u{1e}'
                    | '\u{85}'
                    | '\u{2028}'
                    | '\u{2029}'
            )
        )
    }
}

fn units_of_str(s: &str) -> Vec<Unit> {
    s.chars().map(Unit::Char).collect()
}

/// Bytes read as ASCII with surrogate escapes.
fn units_of_8bit(bytes: &[u8]) -> Vec<Unit> {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                Unit::Char(char::from(b))
            } else {
                Unit::Byte(b)
            }
        })
        .collect()
}

/// How a charset's text goes into a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transfer {
    Q,
    B,
    /// Whichever of `q` and `b` is shorter for the whole chunk (`b` wins
    /// only when strictly shorter).
    Shortest,
}

/// What Python's `email.charset.Charset` knows about a charset label.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Charset {
    /// The canonical input name; charsets compare equal by it.
    input: String,
    /// `None` for us-ascii: such text is folded, never encoded.
    transfer: Option<Transfer>,
    /// The output charset (its length counts in the RFC 2047 chrome).
    output: String,
    /// The codec name written into encoded words.
    output_codec: String,
}

/// The codec Python uses for a canonical charset name (`CODEC_MAP`).
fn codec_name(charset: &str) -> &str {
    match charset {
        "gb2312" => "eucgb2312_cn",
        "big5" => "big5_tw",
        other => other,
    }
}

impl Charset {
    fn new(label: &str) -> Charset {
        let label = label.to_ascii_lowercase();
        let input = charset::python_alias(&label).to_string();
        let (transfer, conversion) = match input.as_str() {
            "iso-8859-1" | "iso-8859-2" | "iso-8859-3" | "iso-8859-4" | "iso-8859-9"
            | "iso-8859-10" | "iso-8859-13" | "iso-8859-14" | "iso-8859-15" | "iso-8859-16"
            | "windows-1252" | "viscii" => (Some(Transfer::Q), None),
            "us-ascii" => (None, None),
            "big5" | "gb2312" | "iso-2022-jp" | "koi8-r" => (Some(Transfer::B), None),
            "euc-jp" | "shift_jis" => (Some(Transfer::B), Some("iso-2022-jp")),
            _ => (Some(Transfer::Shortest), None),
        };
        let output = charset::python_alias(conversion.unwrap_or(&input)).to_string();
        let output_codec = codec_name(&output).to_string();
        Charset {
            input,
            transfer,
            output,
            output_codec,
        }
    }

    fn is_ascii(&self) -> bool {
        self.input == "us-ascii"
    }
}

/// Resolves a codec name; `None` is Python's `LookupError`.
fn codec(name: &str) -> Option<Codec> {
    if name == "unknown-8bit" {
        return Some(Codec::Unknown8bit);
    }
    // Python knows these under the CODEC_MAP spellings; encoding_rs does not.
    let name = match name {
        "eucgb2312_cn" => "gb2312",
        "big5_tw" => "big5",
        other => other,
    };
    match charset::lookup(name)? {
        // Python has no codec by a spelling of "unknown-8bit" other than the
        // exact one handled above; the existing decoder reads such words as
        // ASCII, and so do we.
        Codec::Unknown8bit => Some(Codec::Ascii),
        c => Some(c),
    }
}

/// Encodes one unit; `None` when the codec cannot represent it.
fn encode_unit(codec: Codec, unit: Unit, out: &mut Vec<u8>) -> Option<()> {
    let c = match unit {
        Unit::Byte(b) => {
            // Only the surrogate-escape pseudo codec gives raw bytes back.
            return (codec == Codec::Unknown8bit).then(|| out.push(b));
        }
        Unit::Char(c) => c,
    };
    if c.is_ascii() && !matches!(codec, Codec::Other(_)) {
        out.push(c as u8);
        return Some(());
    }
    match codec {
        Codec::Utf8 => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            Some(())
        }
        Codec::Ascii | Codec::Unknown8bit => None,
        Codec::Latin1 => u8::try_from(u32::from(c)).ok().map(|b| out.push(b)),
        Codec::Cp1252 => (0x80..=0xffu8)
            .find(|&b| charset::decode(Codec::Cp1252, &[b]).is_ok_and(|t| t.starts_with(c)))
            .map(|b| out.push(b)),
        Codec::Other(enc) => {
            let mut buf = [0u8; 4];
            let (bytes, used, errors) = enc.encode(c.encode_utf8(&mut buf));
            (!errors && used == enc).then(|| out.extend_from_slice(&bytes))
        }
    }
}

/// Encodes text; `None` is Python's `UnicodeEncodeError`.
fn encode_units(codec: Codec, units: &[Unit]) -> Option<Vec<u8>> {
    if let Codec::Other(enc) = codec
        && enc == encoding_rs::ISO_2022_JP
    {
        // Stateful: escape sequences depend on the neighbours.
        let text: String = units
            .iter()
            .map(|u| match u {
                Unit::Char(c) => Some(*c),
                Unit::Byte(_) => None,
            })
            .collect::<Option<String>>()?;
        let (bytes, used, errors) = enc.encode(&text);
        return (!errors && used == enc).then(|| bytes.into_owned());
    }
    let mut out = Vec::with_capacity(units.len());
    for &u in units {
        encode_unit(codec, u, &mut out)?;
    }
    Some(out)
}

/// A run of text in one charset.
#[derive(Debug, Clone)]
struct Chunk {
    text: Vec<Unit>,
    charset: Charset,
}

/// `Header.append` for bytes in a declared charset. `None` is one of the
/// errors Patchwork catches to retry everything as unknown-8bit.
fn append(chunks: &mut Vec<Chunk>, bytes: &[u8], label: Option<&str>) -> Option<()> {
    let mut cs = Charset::new(label.unwrap_or("us-ascii"));
    let text = if cs.input == "unknown-8bit" {
        units_of_8bit(bytes)
    } else {
        let input = codec(codec_name(&cs.input))?;
        units_of_str(&charset::decode(input, bytes).ok()?)
    };
    if cs.output_codec != "unknown-8bit" {
        let output = codec(&cs.output_codec)?;
        if encode_units(output, &text).is_none() {
            if cs.output_codec != "us-ascii" {
                return None;
            }
            cs = Charset::new("utf-8");
        }
    }
    chunks.push(Chunk { text, charset: cs });
    Some(())
}

/// `Header._normalize`: neighbouring chunks of one charset become one,
/// joined by a space.
fn normalise(chunks: Vec<Chunk>) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        match out.last_mut() {
            Some(last) if last.charset.input == chunk.charset.input => {
                last.text.push(Unit::Char(' '));
                last.text.extend(chunk.text);
            }
            _ => out.push(chunk),
        }
    }
    out
}

/// Python's `str.splitlines()` without the line ends.
fn split_lines(text: &[Unit]) -> Vec<&[Unit]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i].is_line_break() {
            lines.push(&text[start..i]);
            if text[i] == Unit::Char('\r') && text.get(i + 1) == Some(&Unit::Char('\n')) {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn lstrip(text: &[Unit]) -> &[Unit] {
    let n = text.iter().take_while(|u| u.is_space()).count();
    &text[n..]
}

/// The line being built: `(whitespace, text)` parts after an initial width
/// (the `Name: ` prefix on the first line).
#[derive(Debug, Default)]
struct Line {
    initial: usize,
    parts: Vec<(String, String)>,
    width: usize,
}

impl Line {
    fn len(&self) -> usize {
        self.initial + self.width
    }

    fn push(&mut self, fws: String, text: String) {
        self.width += fws.chars().count() + text.chars().count();
        self.parts.push((fws, text));
    }

    fn pop(&mut self) -> (String, String) {
        match self.parts.pop() {
            Some((fws, text)) => {
                self.width -= fws.chars().count() + text.chars().count();
                (fws, text)
            }
            None => (String::new(), String::new()),
        }
    }

    fn text(&self) -> String {
        self.parts
            .iter()
            .flat_map(|(fws, text)| [fws.as_str(), text.as_str()])
            .collect()
    }

    fn reset(&mut self, parts: Vec<(String, String)>) {
        self.initial = 0;
        self.width = parts
            .iter()
            .map(|(f, t)| f.chars().count() + t.chars().count())
            .sum();
        self.parts = parts;
    }

    fn is_only_whitespace(&self) -> bool {
        self.initial == 0
            && (self.parts.is_empty() || {
                let t = self.text();
                !t.is_empty() && t.chars().all(py_isspace)
            })
    }
}

/// The folding state machine of `Header.encode`.
struct Formatter<'a> {
    max_len: usize,
    continuation: &'a str,
    lines: Vec<String>,
    current: Line,
}

/// Preferred fold points, best first.
const SPLIT_CHARS: [char; 4] = [';', ',', ' ', '\t'];

impl<'a> Formatter<'a> {
    fn new(header_len: usize, max_len: usize, continuation: &'a str) -> Self {
        Formatter {
            max_len,
            continuation,
            lines: Vec::new(),
            current: Line {
                initial: header_len,
                ..Line::default()
            },
        }
    }

    fn newline(&mut self) {
        let (fws, text) = self.current.pop();
        if !(fws == " " && text.is_empty()) {
            self.current.push(fws, text);
        }
        if self.current.len() > 0 {
            let text = self.current.text();
            match self.lines.last_mut() {
                Some(last) if self.current.is_only_whitespace() => last.push_str(&text),
                _ => self.lines.push(text),
            }
        }
        self.current.reset(Vec::new());
    }

    /// Marks a charset change: a space, dropped again at a line end.
    fn add_transition(&mut self) {
        self.current.push(" ".into(), String::new());
    }

    fn feed(&mut self, fws: &str, text: &[Unit], cs: &Charset) -> Option<()> {
        let Some(transfer) = cs.transfer else {
            let text: String = text
                .iter()
                .map(|u| match u {
                    Unit::Char(c) => *c,
                    Unit::Byte(_) => '\u{fffd}',
                })
                .collect();
            self.ascii_split(&format!("{fws}{text}"));
            return Some(());
        };
        let first_max = self.max_len as isize - self.current.len() as isize;
        let rest_max = self.max_len as isize - self.continuation.chars().count() as isize;
        let mut encoded = encode_lines(text, cs, transfer, first_max, rest_max)?;
        let first = encoded.remove(0);
        if let Some(first) = first {
            self.append_chunk(fws.to_string(), first);
        }
        let Some(last) = encoded.pop() else {
            return Some(());
        };
        self.newline();
        self.current
            .push(self.continuation.to_string(), last.unwrap_or_default());
        for line in encoded {
            self.lines
                .push(format!("{}{}", self.continuation, line.unwrap_or_default()));
        }
        Some(())
    }

    /// Splits plain text at blank runs, each run staying with the word after
    /// it.
    fn ascii_split(&mut self, s: &str) {
        let mut pieces: Vec<&str> = Vec::new();
        let mut start = 0;
        let mut in_blank = false;
        for (i, c) in s.char_indices() {
            let blank = c == ' ' || c == '\t';
            if blank != in_blank {
                pieces.push(&s[start..i]);
                start = i;
                in_blank = blank;
            }
        }
        pieces.push(&s[start..]);
        if in_blank {
            pieces.push("");
        }
        // `pieces` alternates text, blanks, text... starting with text.
        let pairs: Vec<(&str, &str)> = if pieces[0].is_empty() {
            pieces[1..].chunks_exact(2).map(|p| (p[0], p[1])).collect()
        } else {
            std::iter::once(("", pieces[0]))
                .chain(pieces[1..].chunks_exact(2).map(|p| (p[0], p[1])))
                .collect()
        };
        for (fws, text) in pairs {
            self.append_chunk(fws.to_string(), text.to_string());
        }
    }

    fn append_chunk(&mut self, fws: String, text: String) {
        self.current.push(fws, text);
        if self.current.len() <= self.max_len {
            return;
        }
        let parts = &self.current.parts;
        let split = SPLIT_CHARS.iter().find_map(|&ch| {
            (1..parts.len()).rev().find(|&i| {
                (ch.is_whitespace() && parts[i].0.starts_with(ch)) || parts[i - 1].1.ends_with(ch)
            })
        });
        match split {
            Some(i) => {
                let rest = self.current.parts.split_off(i);
                self.lines.push(self.current.text());
                self.current.reset(rest);
            }
            None => {
                let (mut fws, text) = self.current.pop();
                if self.current.initial > 0 {
                    // A header name goes on a line by itself.
                    self.newline();
                    if fws.is_empty() {
                        fws = " ".into();
                    }
                }
                self.current.push(fws, text);
            }
        }
    }

    fn finish(mut self) -> String {
        self.newline();
        self.lines.join("\n")
    }
}

/// QP header length of one byte.
fn q_len(b: u8) -> usize {
    if b.is_ascii_alphanumeric() || b" -!*+/".contains(&b) {
        1
    } else {
        3
    }
}

fn b_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

fn q_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b == b' ' {
            out.push('_');
        } else if q_len(b) == 1 {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

/// `Charset.header_encode_lines`: encoded words filling the given widths
/// (the first `None` when nothing fits on the current line).
fn encode_lines(
    text: &[Unit],
    cs: &Charset,
    transfer: Transfer,
    first_max: isize,
    rest_max: isize,
) -> Option<Vec<Option<String>>> {
    let output = codec(&cs.output_codec)?;
    let all = encode_units(output, text)?;
    let use_b = match transfer {
        Transfer::B => true,
        Transfer::Q => false,
        Transfer::Shortest => b_len(all.len()) < all.iter().map(|&b| q_len(b)).sum(),
    };
    let word = |units: &[Unit]| -> Option<String> {
        let bytes = encode_units(output, units)?;
        Some(if bytes.is_empty() {
            String::new()
        } else if use_b {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            format!("=?{}?b?{}?=", cs.output_codec, b64)
        } else {
            format!("=?{}?q?{}?=", cs.output_codec, q_encode(&bytes))
        })
    };
    let stateful = matches!(output, Codec::Other(e) if e == encoding_rs::ISO_2022_JP);
    let chrome = (cs.output.len() + 7) as isize;
    let mut lines: Vec<Option<String>> = Vec::new();
    let mut start = 0;
    let mut max = first_max - chrome;
    // Encoded size of text[start..i]: bytes and q length so far.
    let (mut nbytes, mut qlen) = (0usize, 0usize);
    let mut scratch = Vec::new();
    for i in 0..text.len() {
        let (cand_bytes, cand_q) = if stateful {
            let b = encode_units(output, &text[start..=i])?;
            (b.len(), b.iter().map(|&x| q_len(x)).sum())
        } else {
            scratch.clear();
            encode_unit(output, text[i], &mut scratch)?;
            (
                nbytes + scratch.len(),
                qlen + scratch.iter().map(|&x| q_len(x)).sum::<usize>(),
            )
        };
        let length = if use_b { b_len(cand_bytes) } else { cand_q };
        if length as isize > max {
            if lines.is_empty() && start == i {
                lines.push(None);
            } else {
                lines.push(Some(word(&text[start..i])?));
            }
            start = i;
            max = rest_max - chrome;
            let single = encode_units(output, &text[i..=i])?;
            nbytes = single.len();
            qlen = single.iter().map(|&x| q_len(x)).sum();
        } else {
            nbytes = cand_bytes;
            qlen = cand_q;
        }
    }
    lines.push(Some(word(&text[start..])?));
    Some(lines)
}

/// `Header.encode`: the chunks folded into lines joined by `\n`. `None`
/// when Python would raise (an embedded header, an unencodable character).
fn encode_chunks(
    chunks: &[Chunk],
    header_len: usize,
    max_len: usize,
    continuation: &str,
) -> Option<String> {
    let max_len = if max_len == 0 { 1_000_000 } else { max_len };
    let mut f = Formatter::new(header_len, max_len, continuation);
    let mut last: Option<&Chunk> = None;
    for chunk in chunks {
        let cs = &chunk.charset;
        if let Some(prev) = last {
            let has_space = chunk.text.first().is_some_and(|u| u.is_nonctext());
            let last_space = prev.text.last().is_some_and(|u| u.is_nonctext());
            if !prev.charset.is_ascii() {
                if !has_space || !cs.is_ascii() {
                    f.add_transition();
                }
            } else if !cs.is_ascii() && !last_space {
                f.add_transition();
            }
        }
        last = Some(chunk);
        let lines = split_lines(&chunk.text);
        f.feed("", lines.first().copied().unwrap_or(&[]), cs)?;
        for line in lines.iter().skip(1) {
            f.newline();
            let stripped = lstrip(line);
            if cs.transfer.is_some() {
                let mut spaced = vec![Unit::Char(' ')];
                spaced.extend_from_slice(stripped);
                f.feed(continuation, &spaced, cs)?;
            } else {
                let fws: String = line[..line.len() - stripped.len()]
                    .iter()
                    .map(|u| match u {
                        Unit::Char(c) => *c,
                        Unit::Byte(_) => '\u{fffd}',
                    })
                    .collect();
                f.feed(&fws, stripped, cs)?;
            }
        }
        if lines.len() > 1 {
            f.newline();
        }
    }
    if !chunks.is_empty() {
        f.add_transition();
    }
    let value = f.finish();
    (!EMBEDDED_HEADER.is_match(&value)).then_some(value)
}

/// The chunks of a raw header value, decoded as Patchwork's
/// `sanitise_header` decodes it. `None`: the value cannot be decoded at all
/// (broken base64), and the header is left out.
fn decode(raw: &[u8]) -> Option<Vec<Chunk>> {
    let parts: Vec<(Vec<u8>, Option<String>)> = if !raw.is_ascii() {
        // Python's parser hands such a value over as one unknown-8bit chunk.
        vec![(raw.to_vec(), Some("unknown-8bit".into()))]
    } else if !ENCODED_WORD.is_match(raw) {
        vec![(raw.to_vec(), None)]
    } else {
        split_words(raw)?
            .into_iter()
            .map(|w| (w.bytes, w.charset))
            .collect()
    };
    let mut chunks = Vec::with_capacity(parts.len());
    let ok = parts
        .iter()
        .try_for_each(|(bytes, cs)| append(&mut chunks, bytes, cs.as_deref()));
    if ok.is_none() {
        chunks.clear();
        for (bytes, _) in &parts {
            append(&mut chunks, bytes, Some("unknown-8bit"))?;
        }
    }
    Some(normalise(chunks))
}

/// One header value as Patchwork stores it (`sanitise_header` followed by
/// `Header.encode()`), or `None` when Patchwork leaves the header out.
pub fn stored_value(name: &str, raw: &[u8]) -> Option<String> {
    if let Some(plain) = unchanged(name, raw) {
        return Some(plain);
    }
    let chunks = decode(raw)?;
    encode_chunks(&chunks, name.chars().count() + 2, MAX_LINE_LEN, "\t")
}

/// Most headers come out as they went in: plain printable ASCII with no
/// encoded word, already folded within the line length, with its folds
/// starting with a blank. Those skip the decoding and re-encoding (a tenth
/// of an import's time otherwise); anything else takes the full path.
fn unchanged(name: &str, raw: &[u8]) -> Option<String> {
    if raw.windows(2).any(|w| w == b"=?") {
        return None;
    }
    let mut first = true;
    for line in raw.split(|&b| b == b'\n') {
        let prefix = if first { name.len() + 2 } else { 0 };
        let ok = line.len() + prefix <= MAX_LINE_LEN - 2
            && !line.is_empty()
            && line
                .iter()
                .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
            && !line.ends_with(b" ")
            && !line.ends_with(b"\t")
            && (first || line.starts_with(b" ") || line.starts_with(b"\t"))
            && !(first && line.starts_with(b" "))
            && !(first && line.starts_with(b"\t"));
        if !ok {
            return None;
        }
        first = false;
    }
    String::from_utf8(raw.to_vec()).ok()
}

/// The whole stored header block: `Name: value` lines in the mail's order,
/// joined by `\n`, NULs removed (PostgreSQL text cannot hold them).
pub fn stored_block(headers: &Headers) -> String {
    let mut out = String::new();
    for h in headers.iter() {
        let Some(value) = stored_value(&h.name, &h.value) else {
            continue;
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&h.name);
        out.push_str(": ");
        out.push_str(&value);
    }
    if out.contains('\0') {
        out.retain(|c| c != '\0');
    }
    out
}

/// The first `Subject` of the stored block, as upstream's API reads it back
/// with Python's email parser (a comment's `subject`): re-encoded, folding
/// kept; empty when no Subject survives.
pub fn stored_subject(headers: &Headers) -> String {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("subject"))
        .find_map(|h| stored_value(&h.name, &h.value))
        .map(|v| v.replace('\0', ""))
        .unwrap_or_default()
}

/// The stored block read back the way upstream reads it, with Python's
/// email parser (headers only): `(name, value)` in order, values with their
/// folds, the first line's leading blanks dropped. A line that cannot be a
/// header ends the block; a nameless or misplaced `From ` line is skipped.
pub fn parse_stored(stored: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    let mut lines = stored.split(['\n', '\r']).peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        let is_first = std::mem::replace(&mut first, false);
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
            continue;
        }
        if line.starts_with("From ") {
            if !is_first && lines.peek().is_none() {
                break;
            }
            continue;
        }
        let Some(colon) = line.find(':') else {
            break;
        };
        if !line[..colon].bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            break;
        }
        if colon == 0 {
            continue;
        }
        let value = line[colon + 1..].trim_start_matches([' ', '\t']);
        out.push((&line[..colon], value.to_string()));
    }
    for (_, value) in &mut out {
        let end = value.trim_end_matches(['\r', '\n']).len();
        value.truncate(end);
    }
    out
}

/// One RFC 2047 word for UTF-8 text, `b` only when strictly shorter than
/// `q`, as Python's `Charset('utf-8').header_encode` writes it (what
/// `email.utils.formataddr` does with a non-ASCII name).
pub fn encode_word_utf8(text: &str) -> String {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return String::new();
    }
    let q: usize = bytes.iter().map(|&b| q_len(b)).sum();
    if b_len(bytes.len()) < q {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        format!("=?utf-8?b?{b64}?=")
    } else {
        format!("=?utf-8?q?{}?=", q_encode(bytes))
    }
}

/// A plain string header as Python's compat32 generator folds it: text
/// keeps its line structure and is folded at `max_len` (0: never); text
/// with non-ASCII characters is relabelled UTF-8 and encoded, as Python's
/// `Header` does.
pub fn fold_plain(name: &str, value: &str, max_len: usize) -> String {
    let chunks = vec![Chunk {
        text: units_of_str(value),
        charset: if value.is_ascii() {
            Charset::new("us-ascii")
        } else {
            Charset::new("utf-8")
        },
    }];
    encode_chunks(&chunks, name.chars().count() + 2, max_len, " ").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    //! Expected values computed with Python 3.11's `email.header`, the way
    //! Patchwork calls it.

    use super::*;

    fn stored(name: &str, raw: &[u8]) -> Option<String> {
        stored_value(name, raw)
    }

    #[test]
    fn short_ascii_is_unchanged_and_folding_kept() {
        assert_eq!(stored("Subject", b"[PATCH] foo").unwrap(), "[PATCH] foo");
        assert_eq!(
            stored("References", b"<1@example.org>\n <2@example.org>").unwrap(),
            "<1@example.org>\n <2@example.org>"
        );
        assert_eq!(
            stored("References", b"<1@example.org>\r\n\t<2@example.org>").unwrap(),
            "<1@example.org>\n\t<2@example.org>"
        );
        assert_eq!(stored("X-Empty", b"").unwrap(), "");
    }

    #[test]
    fn long_ascii_folds_at_the_best_split_point_keeping_its_blank() {
        assert_eq!(
            stored(
                "References",
                b"<1@example.org> <2@example.org> <3@example.org> <4@example.org> <5@example.org>"
            )
            .unwrap(),
            "<1@example.org> <2@example.org> <3@example.org> <4@example.org>\n <5@example.org>"
        );
        assert_eq!(
            stored(
                "To",
                b"alpha@example.org, beta@example.org, gamma@example.org, delta@example.org, epsilon@example.org"
            )
            .unwrap(),
            "alpha@example.org, beta@example.org, gamma@example.org, delta@example.org,\n epsilon@example.org"
        );
        assert_eq!(
            stored(
                "Content-Type",
                b"text/plain; charset=\"utf-8\"; format=flowed; delsp=yes; some-long-parameter=value"
            )
            .unwrap(),
            "text/plain; charset=\"utf-8\"; format=flowed; delsp=yes;\n some-long-parameter=value"
        );
    }

    #[test]
    fn one_long_word_moves_off_the_name_line() {
        let id = "<CAHk-=wjLongMessageIdThatIsVeryLongIndeed.1234567890.abcdefghijklmnop@mail.gmail.com>";
        assert_eq!(
            stored("In-Reply-To", id.as_bytes()).unwrap(),
            format!("\n {id}")
        );
    }

    #[test]
    fn raw_8bit_becomes_unknown_8bit_words() {
        assert_eq!(
            stored("From", "Rafał Miłecki <zajec5@gmail.com>".as_bytes()).unwrap(),
            "=?unknown-8bit?b?UmFmYcWCIE1pxYJlY2tpIDx6YWplYzVAZ21haWwuY29tPg==?="
        );
        // Folded raw text: each continuation is a new word after a TAB, and
        // q wins where it is shorter.
        assert_eq!(
            stored(
                "Received",
                b"from host.example.org (\xc3\xa9t\xc3\xa9.example [198.51.100.1])\n\tby mx.example.org with ESMTP id 12345 for <someone@example.org>; Mon, 1 Jan 2024"
            )
            .unwrap(),
            "=?unknown-8bit?b?ZnJvbSBob3N0LmV4YW1wbGUub3JnICjDqXTDqS5leGFtcGxl?=\n\t\
             =?unknown-8bit?b?IFsxOTguNTEuMTAwLjFdKQ==?=\n\t\
             =?unknown-8bit?q?_by_mx=2Eexample=2Eorg_with_ESMTP_id_12345_for_=3Csomeone?=\n\t\
             =?unknown-8bit?q?=40example=2Eorg=3E=3B_Mon=2C_1_Jan_2024?="
        );
    }

    #[test]
    fn encoded_words_are_rebuilt_lower_case_and_shortest() {
        assert_eq!(
            stored("From", b"=?utf-8?q?J=C3=B6rg?= Schmidt <js@example.org>").unwrap(),
            "=?utf-8?b?SsO2cmc=?= Schmidt <js@example.org>"
        );
        assert_eq!(
            stored("Subject", b"a =?UTF-8?Q?b=C3=A9?= c").unwrap(),
            "a =?utf-8?b?YsOp?= c"
        );
        assert_eq!(
            stored("From", b"=?ISO-8859-1?Q?Andr=E9?= <a@b.c>").unwrap(),
            "=?iso-8859-1?q?Andr=E9?= <a@b.c>"
        );
        assert_eq!(
            stored("Subject", b"=?windows-1252?q?=93quoted=94?=").unwrap(),
            "=?windows-1252?q?=93quoted=94?="
        );
    }

    #[test]
    fn long_encoded_text_splits_into_words_of_one_line_each() {
        let raw = b"=?utf-8?b?W1BBVENIXSDDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOp?=";
        assert_eq!(
            stored("Subject", raw).unwrap(),
            "=?utf-8?b?W1BBVENIXSDDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOp?=\n\t\
             =?utf-8?b?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOp?="
        );
    }

    #[test]
    fn undecodable_words_turn_every_part_unknown_8bit() {
        assert_eq!(
            stored("Subject", b"=?x-unknown?q?caf=E9?= bar").unwrap(),
            "=?unknown-8bit?q?caf=E9__bar?="
        );
        assert_eq!(
            stored("Subject", b"=?utf-8?q?=FF?= x").unwrap(),
            "=?unknown-8bit?q?=FF__x?="
        );
    }

    #[test]
    fn unsanitisable_headers_are_left_out() {
        // Broken base64.
        assert_eq!(stored("Subject", b"=?utf-8?b?Q?="), None);
        // A vertical tab is a line break to `str.splitlines`, so the value
        // would carry what looks like a header of its own.
        assert_eq!(stored("X-Odd", b"a\x0bFoo: b"), None);
    }

    #[test]
    fn subject_is_the_first_surviving_one_folding_kept() {
        let (h, _) = crate::headers::parse_header_block(
            b"Subject: =?utf-8?b?Q?=\nSubject: Re: [PATCH 4/4] acme: add missing block check in\n devi_unregister_table()\n\n",
        );
        assert_eq!(
            stored_subject(&h),
            "Re: [PATCH 4/4] acme: add missing block check in\n devi_unregister_table()"
        );
        let (h, _) = crate::headers::parse_header_block(b"From: a\n\n");
        assert_eq!(stored_subject(&h), "");
    }

    #[test]
    fn single_words_pick_the_shorter_encoding() {
        assert_eq!(encode_word_utf8("Rafał"), "=?utf-8?b?UmFmYcWC?=");
        assert_eq!(
            encode_word_utf8("Jérôme Dupont-Lefèvre"),
            "=?utf-8?b?SsOpcsO0bWUgRHVwb250LUxlZsOodnJl?="
        );
        assert_eq!(
            encode_word_utf8("René Scharfe"),
            "=?utf-8?q?Ren=C3=A9_Scharfe?="
        );
        assert_eq!(encode_word_utf8(""), "");
    }

    #[test]
    fn plain_values_fold_like_the_generator() {
        let long = "from mail.kernel.org (pdx-korg-mail-1.web.codeaurora.org [172.30.200.123])\n\tby pdx-korg-patchwork-2.web.codeaurora.org (Postfix) with ESMTP id 5AB8792A\n\tfor <patchwork-kvm@patchwork.kernel.org>; Sun,  3 May 2020 10:07:07 +0000 (UTC)";
        assert_eq!(
            fold_plain("Received", long, MAX_LINE_LEN),
            "from mail.kernel.org (pdx-korg-mail-1.web.codeaurora.org\n [172.30.200.123])\n\tby pdx-korg-patchwork-2.web.codeaurora.org (Postfix) with ESMTP id 5AB8792A\n\tfor <patchwork-kvm@patchwork.kernel.org>;\n Sun,  3 May 2020 10:07:07 +0000 (UTC)"
        );
        assert_eq!(fold_plain("Received", long, 0), long);
        assert_eq!(
            fold_plain("X-Name", "Jörg", MAX_LINE_LEN),
            "=?utf-8?b?SsO2cmc=?="
        );
    }

    #[test]
    fn stored_block_reads_back_like_python_parser() {
        assert_eq!(
            parse_stored("A: 1\nB: x;\n\ty\nA:  2\nIn-Reply-To: \n <long@id>"),
            vec![
                ("A", "1".to_string()),
                ("B", "x;\n\ty".to_string()),
                ("A", "2".to_string()),
                ("In-Reply-To", "\n <long@id>".to_string())
            ]
        );
        // A line that is no header ends the block; a nameless one is skipped.
        assert_eq!(
            parse_stored("A: 1\n: odd\nB: 2\nnot a header\nC: 3"),
            vec![("A", "1".to_string()), ("B", "2".to_string())]
        );
        assert!(parse_stored("").is_empty());
    }

    #[test]
    fn block_keeps_order_duplicates_and_drops_nul_and_bad_headers() {
        let (h, _) = crate::headers::parse_header_block(
            b"Received: 1\nSubject: =?utf-8?b?Q?=\nX-Nul: a\0b\nReceived: 2\n\n",
        );
        assert_eq!(stored_block(&h), "Received: 1\nX-Nul: ab\nReceived: 2");
    }
}
