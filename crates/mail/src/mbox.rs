//! Reading and writing mbox files, streaming.
//!
//! Messages are split at every line that starts with `From ` (as Python's
//! `mailbox.mbox` does, so archives split the same way Patchwork splits
//! them), one line at a time from any reader, so a 300 MB archive is read in
//! memory bounded by its largest message. Both quoting conventions are
//! understood: mboxrd (`>From `, `>>From ` ... each lose one `>`) and mboxo
//! (only `>From ` exists and is ambiguous); see [`Quoting`].

use std::io::{self, BufRead, Write};

/// How `From ` lines inside messages were escaped when the mbox was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quoting {
    /// mboxrd: every `>*From ` line got one more `>`; remove one on reading.
    #[default]
    Mboxrd,
    /// Leave lines exactly as stored (mboxo, or when unsure). This is what
    /// Patchwork's `parsearchive` does.
    Raw,
}

/// One message of an mbox: the envelope line and the message bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// The `From ` line without `From ` and without its line ending.
    pub envelope: String,
    /// The message: headers, blank line, body.
    pub data: Vec<u8>,
    /// Byte offset of the `From ` line in the file.
    pub offset: u64,
}

/// A streaming reader over the messages of an mbox.
#[derive(Debug)]
pub struct MboxReader<R> {
    reader: R,
    quoting: Quoting,
    line: Vec<u8>,
    /// The envelope line read ahead of the current message, if any.
    next_envelope: Option<(String, u64)>,
    offset: u64,
    started: bool,
}

impl<R: BufRead> MboxReader<R> {
    /// Reads an mbox from `reader` with the given quoting convention.
    pub fn new(reader: R, quoting: Quoting) -> Self {
        MboxReader {
            reader,
            quoting,
            line: Vec::with_capacity(256),
            next_envelope: None,
            offset: 0,
            started: false,
        }
    }

    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let n = self.reader.read_until(b'\n', &mut self.line)?;
        self.offset += n as u64;
        Ok(n > 0)
    }

    fn envelope_of(line: &[u8]) -> String {
        let rest = &line[5..];
        let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
        let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
        String::from_utf8_lossy(rest).into_owned()
    }

    fn unquote(&self, line: &[u8]) -> usize {
        if self.quoting == Quoting::Mboxrd {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if quotes > 0 && line[quotes..].starts_with(b"From ") {
                return 1;
            }
        }
        0
    }

    /// The next message, or `None` at the end of the file.
    pub fn next_message(&mut self) -> io::Result<Option<MboxMessage>> {
        if !self.started {
            self.started = true;
            // Skip anything before the first `From ` line.
            loop {
                let start = self.offset;
                if !self.read_line()? {
                    return Ok(None);
                }
                if self.line.starts_with(b"From ") {
                    self.next_envelope = Some((Self::envelope_of(&self.line), start));
                    break;
                }
            }
        }
        let Some((envelope, offset)) = self.next_envelope.take() else {
            return Ok(None);
        };
        let mut data = Vec::new();
        let mut last_was_empty = false;
        loop {
            let start = self.offset;
            if !self.read_line()? {
                break;
            }
            if self.line.starts_with(b"From ") {
                self.next_envelope = Some((Self::envelope_of(&self.line), start));
                break;
            }
            last_was_empty = self.line == b"\n";
            let skip = self.unquote(&self.line);
            data.extend_from_slice(&self.line[skip..]);
        }
        // The blank line before the next `From ` belongs to the mbox format.
        if last_was_empty {
            data.pop();
        }
        Ok(Some(MboxMessage {
            envelope,
            data,
            offset,
        }))
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<MboxMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_message().transpose()
    }
}

/// Writes messages as an mboxrd file: `From ` separator lines, `>`-quoting
/// of every `>*From ` line, and a blank line after each message.
#[derive(Debug)]
pub struct MboxWriter<W> {
    out: W,
}

impl<W: Write> MboxWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        MboxWriter { out }
    }

    /// Appends one message. `envelope` is the text after `From ` (for
    /// example `patchwork Mon Jan  1 00:00:00 2024`).
    pub fn write_message(&mut self, envelope: &str, data: &[u8]) -> io::Result<()> {
        self.out.write_all(b"From ")?;
        self.out.write_all(envelope.as_bytes())?;
        self.out.write_all(b"\n")?;
        for line in data.split_inclusive(|&b| b == b'\n') {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                self.out.write_all(b">")?;
            }
            self.out.write_all(line)?;
        }
        if !data.ends_with(b"\n") {
            self.out.write_all(b"\n")?;
        }
        self.out.write_all(b"\n")
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(data: &[u8], quoting: Quoting) -> Vec<MboxMessage> {
        MboxReader::new(data, quoting)
            .collect::<io::Result<Vec<_>>>()
            .unwrap_or_default()
    }

    #[test]
    fn splits_and_unquotes() {
        let mbox = b"From a Mon Jan 1 00:00:00 2024\nSubject: 1\n\n>From here\n>>From there\n\nFrom b Mon Jan 1 00:00:00 2024\r\nSubject: 2\n\nbody\n";
        let msgs = read_all(mbox, Quoting::Mboxrd);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].envelope, "a Mon Jan 1 00:00:00 2024");
        assert_eq!(msgs[0].data, b"Subject: 1\n\nFrom here\n>From there\n");
        assert_eq!(msgs[1].data, b"Subject: 2\n\nbody\n");
        assert_eq!(msgs[1].offset, 68);
        let raw = read_all(mbox, Quoting::Raw);
        assert_eq!(raw[0].data, b"Subject: 1\n\n>From here\n>>From there\n");
    }

    #[test]
    fn round_trip() {
        let mut w = MboxWriter::new(Vec::new());
        let bodies: [&[u8]; 2] = [
            b"Subject: a\n\nFrom x\n>From y\n",
            b"Subject: b\n\nno newline",
        ];
        for b in bodies {
            w.write_message("patchwork Mon Jan  1 00:00:00 2024", b)
                .unwrap_or(());
        }
        let out = w.into_inner().unwrap_or_default();
        let msgs = read_all(&out, Quoting::Mboxrd);
        assert_eq!(msgs[0].data, bodies[0]);
        assert_eq!(msgs[1].data, b"Subject: b\n\nno newline\n");
    }

    #[test]
    fn empty_and_garbage() {
        assert!(read_all(b"", Quoting::Mboxrd).is_empty());
        assert!(read_all(b"no from line\n", Quoting::Mboxrd).is_empty());
    }
}
