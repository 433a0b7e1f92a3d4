//! Where mail comes from: a single message, an mbox (plain or `.xz`), a
//! Maildir, or standard input. Each is streamed message by message.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use patchtrack_mail::{MboxReader, Quoting, maildir};

/// One message and where it came from, for error messages and reports.
#[derive(Debug)]
pub struct Item {
    /// `path`, `path#N` (Nth message of an mbox) or `-`.
    pub origin: String,
    /// The message bytes.
    pub data: Vec<u8>,
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "xz") {
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// Calls `each` for every message under `path` (`-` is standard input). A
/// stream that starts with `From ` is an mbox; otherwise it is one message.
pub fn for_each_message(
    path: &str,
    quoting: Quoting,
    each: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    if path == "-" {
        let stdin = io::stdin();
        return read_stream(Box::new(stdin.lock()), "-", quoting, each);
    }
    let p = PathBuf::from(path);
    if p.is_dir() {
        let files = if maildir::is_maildir(&p) {
            maildir::message_paths(&p)?
        } else {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            v
        };
        for f in files {
            let data = std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
            each(Item {
                origin: f.display().to_string(),
                data,
            })?;
        }
        return Ok(());
    }
    read_stream(open(&p)?, path, quoting, each)
}

fn read_stream(
    mut reader: Box<dyn BufRead + '_>,
    origin: &str,
    quoting: Quoting,
    each: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let is_mbox = reader.fill_buf()?.starts_with(b"From ");
    if !is_mbox {
        let mut data = Vec::new();
        reader.read_to_end(&mut data)?;
        return each(Item {
            origin: origin.to_string(),
            data,
        });
    }
    for (i, msg) in MboxReader::new(reader, quoting).enumerate() {
        let msg = msg.with_context(|| format!("reading {origin}"))?;
        each(Item {
            origin: format!("{origin}#{}", i + 1),
            data: msg.data,
        })?;
    }
    Ok(())
}
