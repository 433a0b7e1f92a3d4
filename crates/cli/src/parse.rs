//! `patchtrack parse`: show what the parser makes of mail, one JSON object
//! per message, without storing anything.

use std::io::{self, Write};

use anyhow::Result;
use patchtrack_mail::{ParseOptions, ParsedMail, Quoting, parse_mail};
use serde::Serialize;

use crate::input;

/// Arguments of `patchtrack parse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the full content and diff instead of their lengths.
    #[arg(long)]
    full: bool,
    /// Subject prefix to drop besides PATCH (a project's linkname).
    #[arg(long = "drop-prefix", value_name = "TOKEN")]
    drop_prefixes: Vec<String>,
    /// The list's address, to undo DMARC "via list" From rewriting.
    #[arg(long, value_name = "EMAIL")]
    list_email: Option<String>,
    /// Drop text parts whose bytes do not fit their declared charset, exactly
    /// as Patchwork does (by default they are kept, with U+FFFD).
    #[arg(long)]
    strict_charsets: bool,
    /// Keep `>From ` lines as stored (mboxo) instead of unquoting (mboxrd).
    #[arg(long)]
    mboxo: bool,
    /// Print only the counts per kind at the end.
    #[arg(long)]
    summary: bool,
    /// mbox files (optionally .xz), Maildirs, single messages, or - for stdin.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    paths: Vec<String>,
}

#[derive(Serialize)]
struct Output<'a> {
    origin: &'a str,
    #[serde(flatten)]
    mail: &'a ParsedMail,
    content_length: usize,
    diff_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<&'a str>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let options = ParseOptions {
        drop_prefixes: args.drop_prefixes.clone(),
        list_email: args.list_email.clone(),
        strict_charsets: args.strict_charsets,
    };
    let quoting = if args.mboxo {
        Quoting::Raw
    } else {
        Quoting::Mboxrd
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for path in &args.paths {
        input::for_each_message(path, quoting, &mut |item| {
            let mail = parse_mail(&item.data, &options);
            let kind = serde_json::to_value(mail.kind)?;
            *counts
                .entry(kind.as_str().unwrap_or("?").to_string())
                .or_default() += 1;
            if args.summary {
                return Ok(());
            }
            let record = Output {
                origin: &item.origin,
                mail: &mail,
                content_length: mail.content.chars().count(),
                diff_length: mail.diff.as_ref().map(|d| d.chars().count()),
                content: args.full.then_some(mail.content.as_str()),
                diff: if args.full {
                    mail.diff.as_deref()
                } else {
                    None
                },
            };
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
    }
    if args.summary {
        serde_json::to_writer(&mut out, &counts)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
