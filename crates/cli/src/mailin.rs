//! Mail in: `parsemail` (one mail, for an MTA pipe) and `parsearchive`
//! (mbox files and Maildirs, re-runnable).

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use patchtrack_mail::{ParseOptions, ParsedMail, Quoting, parse_mail};
use patchtrack_store::{IngestOptions, Outcome, Store};

use crate::{affinity, input};

/// Arguments of `patchtrack parsemail`.
#[derive(Debug, clap::Args)]
pub struct ParsemailArgs {
    /// Use this list id instead of the mail's List-Id headers.
    #[arg(long, env = "PATCHTRACK_PARSEMAIL_LIST_ID")]
    list_id: Option<String>,
    /// The mail; standard input when absent.
    file: Option<String>,
}

/// Arguments of `patchtrack parsearchive`.
#[derive(Debug, clap::Args)]
pub struct ParsearchiveArgs {
    /// Use this list id instead of the mail's List-Id headers.
    #[arg(long, env = "PATCHTRACK_PARSEARCHIVE_LIST_ID")]
    list_id: Option<String>,
    /// Keep `>From ` lines as stored (mboxo) instead of unquoting (mboxrd).
    #[arg(long, env = "PATCHTRACK_PARSEARCHIVE_MBOXO")]
    mboxo: bool,
    /// mbox files (also .xz) and Maildirs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
}

/// One line for stderr describing an outcome that stored nothing.
fn describe(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Duplicate => Some("duplicate: already stored".into()),
        Outcome::Dropped(why) => Some(format!("dropped: {why}")),
        Outcome::Rejected(why) => Some(format!("rejected: {why}")),
        _ => None,
    }
}

/// Stores one mail. Exit status 0 when stored or deliberately not stored
/// (a one-line reason on stderr); database trouble is an error the caller
/// maps to EX_TEMPFAIL.
pub async fn parsemail(store: &Store, args: &ParsemailArgs) -> Result<()> {
    let mut raw = Vec::new();
    match &args.file {
        Some(path) if path != "-" => {
            raw = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut raw)
                .context("cannot read stdin")?;
        }
    }
    let options = IngestOptions {
        list_id: args.list_id.clone(),
    };
    let outcome = store.ingest(&raw, &options).await?;
    if let Some(line) = describe(&outcome) {
        eprintln!("patchtrack parsemail: {line}");
    }
    Ok(())
}

/// Totals of an archive import.
#[derive(Debug, Default)]
struct Summary {
    messages: u64,
    patches: u64,
    covers: u64,
    comments: u64,
    duplicates: u64,
    dropped: std::collections::BTreeMap<String, u64>,
    rejected: std::collections::BTreeMap<String, u64>,
}

impl Summary {
    fn add(&mut self, outcome: &Outcome) {
        self.messages += 1;
        match outcome {
            Outcome::Patch { .. } => self.patches += 1,
            Outcome::Cover { .. } => self.covers += 1,
            Outcome::PatchComment { .. } | Outcome::CoverComment { .. } => self.comments += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Dropped(why) => *self.dropped.entry(generalise(why)).or_default() += 1,
            Outcome::Rejected(why) => *self.rejected.entry(why.clone()).or_default() += 1,
        }
    }

    /// Patchwork's summary (counters in its order, then the total of new
    /// entries), with the reasons for drops and errors broken down.
    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let dropped: u64 = self.dropped.values().sum();
        let errors: u64 = self.rejected.values().sum();
        writeln!(out, "Processed {} messages -->", self.messages)?;
        writeln!(out, "  {} covers", self.covers)?;
        writeln!(out, "  {} patches", self.patches)?;
        writeln!(out, "  {} comments", self.comments)?;
        writeln!(out, "  {} duplicates", self.duplicates)?;
        writeln!(out, "  {dropped} dropped")?;
        for (why, n) in &self.dropped {
            writeln!(out, "    {n} {why}")?;
        }
        writeln!(out, "  {errors} errors")?;
        for (why, n) in &self.rejected {
            writeln!(out, "    {n} {why}")?;
        }
        writeln!(
            out,
            "Total: {} new entries",
            self.messages - self.duplicates - dropped - errors
        )?;
        out.flush()
    }
}

/// The drop reason of mail no project takes, as counted.
const NO_PROJECT: &str = "no project for the list id";

/// Groups drop reasons that name a particular list id.
fn generalise(why: &str) -> String {
    if why.starts_with("no project for list id") {
        return NO_PROJECT.into();
    }
    why.to_string()
}

/// Stores a stream of parsed mail one transaction per mail, counting the
/// outcomes: the store side of `parsearchive` and `import-public-inbox`.
pub struct Storer<'a> {
    store: &'a Store,
    options: IngestOptions,
    summary: Summary,
    next_analyze: u64,
    progress: Option<indicatif::ProgressBar>,
    /// Outcomes of mail not stored, counted for `/metrics` in batches.
    uncounted: Vec<Outcome>,
}

impl<'a> Storer<'a> {
    /// A storer that overrides the mails' list id with `list_id`.
    pub fn new(store: &'a Store, list_id: Option<String>) -> Storer<'a> {
        let progress = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos} messages, {per_sec}, {elapsed} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Storer {
            store,
            options: IngestOptions { list_id },
            summary: Summary::default(),
            next_analyze: 1_000,
            progress,
            uncounted: Vec::new(),
        }
    }

    /// Messages handled so far.
    pub fn messages(&self) -> u64 {
        self.summary.messages
    }

    /// Whether every mail so far was dropped for want of a project: the
    /// project is missing or the list id wrong, so the mail must be read
    /// again once that is fixed.
    pub fn unrouted_only(&self) -> bool {
        self.summary.messages > 0
            && self.summary.dropped.get(NO_PROJECT).copied() == Some(self.summary.messages)
    }

    /// Stores one mail. A mail the database refuses for what it holds is
    /// counted with its reason and the stream goes on; a database that is
    /// away is an error that stops it (re-run later).
    pub async fn store(&mut self, item: &input::Item, parsed: ParsedMail) -> Result<()> {
        let outcome = match self
            .store
            .ingest_parsed(&item.data, parsed, &self.options)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) if !e.is_transient() => {
                eprintln!("patchtrack: {}: {e}", item.origin);
                Outcome::Rejected(format!("not stored: {e}"))
            }
            Err(e) => return Err(e).with_context(|| format!("storing {}", item.origin)),
        };
        self.summary.add(&outcome);
        if !outcome.is_stored() {
            self.uncounted.push(outcome);
            if self.uncounted.len() >= 1_000 {
                self.count_uncounted().await;
            }
        }
        // Statistics at 1,000 mails and each fourfold growth after: a few
        // ANALYZE runs over the whole import keep the planner on the
        // message-id indexes (see `Store::refresh_statistics`).
        if self.summary.messages == self.next_analyze {
            self.store.refresh_statistics().await?;
            self.next_analyze *= 4;
        }
        // An import adds a few tally rows per mail; folding them now and
        // then keeps list counts cheap while it runs.
        if self.summary.messages.is_multiple_of(100_000) {
            self.store.compact_tallies().await?;
        }
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        Ok(())
    }

    async fn count_uncounted(&mut self) {
        if let Err(e) = self.store.count_unstored(&self.uncounted).await {
            tracing::warn!(error = %e, "could not count the mail that was not stored");
        }
        self.uncounted.clear();
    }

    /// Folds the tallies, refreshes the statistics and prints the summary.
    pub async fn finish(mut self) -> Result<()> {
        self.count_uncounted().await;
        if self.summary.messages > 0 {
            self.store.compact_tallies().await?;
            self.store.refresh_statistics().await?;
        }
        if let Some(bar) = self.progress {
            bar.finish_and_clear();
        }
        // The mail is stored by now: a reader that went away (`| head`)
        // loses only the summary, which is no reason to fail.
        match self.summary.print(&mut std::io::stdout().lock()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Parses one mail, turning a parser panic into an unparseable mail so
/// that one bad message never stops the ones after it.
pub fn parse_guarded(data: &[u8]) -> ParsedMail {
    std::panic::catch_unwind(|| parse_mail(data, &ParseOptions::default()))
        .unwrap_or_else(|_| ParsedMail::unparseable("the parser failed on this mail"))
}

/// Imports archives, one transaction per mail, so an interrupted import
/// can simply be run again.
pub async fn parsearchive(
    store: &Store,
    args: &ParsearchiveArgs,
    cores: &affinity::Cores,
) -> Result<()> {
    let quoting = if args.mboxo {
        Quoting::Raw
    } else {
        Quoting::Mboxrd
    };
    let mut storer = Storer::new(store, args.list_id.clone());
    // A reader thread splits the archives and parses each mail while this
    // task stores the one before; the bounded channel keeps memory bounded
    // by a few messages. The reader may run on any core (see `affinity`).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(input::Item, ParsedMail)>(64);
    let paths = args.paths.clone();
    let cores = cores.clone();
    let reader = std::thread::spawn(move || -> Result<()> {
        affinity::release(&cores);
        for path in &paths {
            input::for_each_message(path, quoting, &mut |item| {
                let parsed = parse_guarded(&item.data);
                tx.blocking_send((item, parsed))
                    .map_err(|_| anyhow::anyhow!("import stopped"))
            })?;
        }
        Ok(())
    });
    while let Some((item, parsed)) = rx.recv().await {
        storer.store(&item, parsed).await?;
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the archive reader panicked"))??;
    storer.finish().await
}
