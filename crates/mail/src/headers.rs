//! The header block of a message, split the way Python's `email` package
//! (compat32 policy) splits it, because Patchwork's answers depend on it.
//!
//! Values are kept as raw bytes: a header with 8-bit bytes is decoded
//! differently from one without (see [`crate::encoded_word`]), so the bytes
//! must survive until a value is asked for.

/// One header field: the name as written and the raw, still folded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    /// The field name exactly as it appears before the colon.
    pub name: String,
    /// The value with leading blanks of the first line removed and the final
    /// line ending dropped; folding line breaks are kept.
    pub value: Vec<u8>,
}

/// All header fields of a message (or a MIME part), in their original order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<RawHeader>,
}

impl Headers {
    /// The raw value of the first field called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// The raw values of every field called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// Whether a field called `name` is present (even with an empty value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field in order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = &RawHeader> {
        self.fields.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Splits `data` into lines, each keeping its terminator; `\r\n`, `\r` and
/// `\n` all end a line, as in Python's feed parser.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = match memchr::memchr2(b'\n', b'\r', rest) {
            Some(i) if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        };
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

fn is_header_line(line: &[u8]) -> bool {
    if line.starts_with(b"From ") || matches!(line.first(), Some(b' ' | b'\t')) {
        return true;
    }
    // `[\041-\071\073-\176]*:` — printable ASCII except the colon, then a colon.
    for &b in line {
        match b {
            b':' => return true,
            0x21..=0x7e => continue,
            _ => return false,
        }
    }
    false
}

fn is_blank_line(line: &[u8]) -> bool {
    line.starts_with(b"\n") || line.starts_with(b"\r")
}

fn strip_eol(mut v: &[u8]) -> &[u8] {
    while let Some((&last, head)) = v.split_last() {
        if last == b'\n' || last == b'\r' {
            v = head;
        } else {
            break;
        }
    }
    v
}

/// Parses the header block at the start of `data`. Returns the headers and
/// the offset where the body starts (after the blank separator line, or at
/// the first line that cannot be a header).
pub fn parse_header_block(data: &[u8]) -> (Headers, usize) {
    let mut raw_lines: Vec<&[u8]> = Vec::new();
    let mut offset = 0;
    for line in lines(data) {
        if !is_header_line(line) {
            if is_blank_line(line) {
                offset += line.len();
            }
            break;
        }
        raw_lines.push(line);
        offset += line.len();
    }

    let mut fields = Vec::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    let count = raw_lines.len();
    for (lineno, line) in raw_lines.iter().enumerate() {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // A continuation; one before any field is a defect and dropped.
            if let Some((_, value)) = current.as_mut() {
                value.extend_from_slice(line);
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            fields.push(finish(name, value));
        }
        if line.starts_with(b"From ") {
            if lineno == 0 {
                continue; // the envelope line
            }
            if lineno == count - 1 {
                // Probably the first body line: give it back to the body.
                offset -= line.len();
                break;
            }
            continue; // misplaced envelope line: ignored
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        if colon == 0 {
            continue; // a field without a name
        }
        let name = String::from_utf8_lossy(&line[..colon]).into_owned();
        let value = line[colon + 1..].trim_ascii_start_blanks().to_vec();
        current = Some((name, value));
    }
    if let Some((name, value)) = current.take() {
        fields.push(finish(name, value));
    }
    (Headers { fields }, offset)
}

fn finish(name: String, value: Vec<u8>) -> RawHeader {
    let end = strip_eol(&value).len();
    let mut value = value;
    value.truncate(end);
    RawHeader { name, value }
}

trait TrimBlanks {
    fn trim_ascii_start_blanks(&self) -> &Self;
}

impl TrimBlanks for [u8] {
    fn trim_ascii_start_blanks(&self) -> &[u8] {
        let n = self
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        &self[n..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fields_and_body() {
        let mail = b"From someone Mon Jan  1 00:00:00 2000\nSubject: a\n b\nX-A:  v\r\n\nbody\n";
        let (h, off) = parse_header_block(mail);
        assert_eq!(h.len(), 2);
        assert_eq!(h.get("subject"), Some(&b"a\n b"[..]));
        assert_eq!(h.get("X-a"), Some(&b"v"[..]));
        assert_eq!(&mail[off..], b"body\n");
    }

    #[test]
    fn non_header_line_starts_body() {
        let mail = b"Subject: a\nthis is body\nmore\n";
        let (h, off) = parse_header_block(mail);
        assert_eq!(h.len(), 1);
        assert_eq!(&mail[off..], b"this is body\nmore\n");
    }

    #[test]
    fn leading_continuation_is_dropped_and_duplicates_kept() {
        let (h, _) = parse_header_block(b" junk\nReceived: 1\nReceived: 2\n\n");
        assert_eq!(
            h.get_all("received").collect::<Vec<_>>(),
            vec![&b"1"[..], b"2"]
        );
    }

    #[test]
    fn name_is_not_trimmed() {
        let (h, _) = parse_header_block(b"Subject : x\n\n");
        assert!(h.get("Subject").is_none());
    }
}
