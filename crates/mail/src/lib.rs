//! `patchtrack-mail`: mailing-list bytes in, what a patch tracker needs out.
//!
//! This crate reads mail exactly the way Patchwork does — the same names,
//! prefixes, series markers, comment/diff split and patch hash — because
//! git-pw, pwclient, b4 and git hooks compare those values with what they
//! compute or expect. It is pure: no database, no async, no I/O other than
//! reading the bytes it is given (or mbox and Maildir files), so it can be
//! fuzzed and property-tested on its own.
//!
//! The entry point is [`parse_mail`]; [`MboxReader`] and [`maildir`] feed it
//! archives.

#![warn(missing_docs)]

pub mod address;
pub mod charset;
pub mod date;
pub mod encoded_word;
pub mod export;
pub mod hash;
pub mod header_encode;
pub mod headers;
pub mod interdiff;
pub mod lineage;
pub mod maildir;
pub mod mbox;
pub mod message;
pub mod mime;
pub mod pull;
pub mod split;
pub mod subject;
pub mod text;
pub mod trailers;
pub mod transfer;

pub use address::Author;
pub use date::UtcSeconds;
pub use hash::hash_diff;
pub use mbox::{MboxMessage, MboxReader, MboxWriter, Quoting};
pub use message::{Kind, ParseOptions, ParsedMail, parse_mail};
