//! `patchtrack import-patchwork`: moves a Patchwork site into this
//! database (the work is the store's; this prints its progress and
//! summary).

use patchtrack_store::Store;
use patchtrack_store::import_patchwork::{ImportOptions, NOT_COPIED, Progress, Source};

/// Patchwork's own default (`patchwork/settings/base.py`), which sites
/// rarely change.
const UPSTREAM_TIME_ZONE: &str = "Australia/Canberra";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Patchwork database: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long)]
    from: String,
    /// The site's TIME_ZONE setting (its settings.py), in which Patchwork
    /// stored the dates of what happened on the site.
    #[arg(long, default_value = UPSTREAM_TIME_ZONE)]
    time_zone: String,
    /// Import only this project (by linkname); repeat for more.
    #[arg(long = "project")]
    projects: Vec<String>,
    /// After the import, compare counts and checksums per table.
    #[arg(long)]
    verify: bool,
}

/// A progress bar per table on standard error.
#[derive(Default)]
struct Bars {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress for Bars {
    fn start(&mut self, table: &str, total: u64) {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>26} [{bar:30}] {pos}/{len} {per_sec} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(table.to_string());
        self.bar = Some(bar);
    }

    fn advance(&mut self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
    }
}

/// Runs the import; false when rows were left out or `--verify` found a
/// difference (the exit status then says so).
pub async fn run(store: &Store, args: &Args) -> anyhow::Result<bool> {
    let source = Source::open(&args.from, &args.time_zone).await?;
    let options = ImportOptions {
        projects: args.projects.clone(),
    };
    let started = std::time::Instant::now();
    let report = store
        .import_patchwork(&source, &options, &mut Bars::default())
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Patchwork schema {} ({} source); activity dates read as {} local time, stored in UTC, \
         and shown by `serve` in that zone again, as Patchwork showed them",
        report.schema_version,
        match source.backend() {
            patchtrack_store::Backend::Sqlite => "SQLite",
            patchtrack_store::Backend::Postgres => "PostgreSQL",
        },
        report.time_zone
    );
    if report.resumed {
        println!("continued an interrupted import");
    }
    println!(
        "{:<28} {:>10} {:>10} {:>8}",
        "table", "read", "imported", "skipped"
    );
    let mut rows = 0;
    for t in &report.tables {
        rows += t.imported;
        println!(
            "{:<28} {:>10} {:>10} {:>8}{}",
            t.name,
            t.source_rows,
            t.imported,
            t.skipped.len(),
            if t.earlier { "  (earlier run)" } else { "" }
        );
    }
    for t in &report.tables {
        for s in &t.skipped {
            println!("skipped {} row {}: {}", t.name, s.source_key, s.reason);
        }
    }
    for (tables, why) in NOT_COPIED {
        println!("not copied: {tables}: {why}");
    }
    println!(
        "{rows} rows in {seconds:.1} s ({:.0} rows/s); {} skipped",
        rows as f64 / seconds.max(0.001),
        report.skipped()
    );
    let mut ok = report.skipped() == 0;
    if args.verify {
        for c in store.verify_patchwork_import(&source, &options).await? {
            let verdict = if c.matches() { "ok" } else { "DIFFERS" };
            println!(
                "verify {:<28} source {:>9} rows {}  target {:>9} rows {}  {verdict}",
                c.name, c.source_rows, c.source_checksum, c.target_rows, c.target_checksum
            );
            ok &= c.matches();
        }
    }
    source.close().await;
    Ok(ok)
}
