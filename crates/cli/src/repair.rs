//! Patchwork's repair commands: `retag`, `rehash` and `replacerelations`,
//! with its arguments.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use patchtrack_store::Store;
use patchtrack_store::maintenance::Patches;

/// `retag` and `rehash`: patch ids, or every patch.
#[derive(Debug, clap::Args)]
pub struct IdsArgs {
    /// Patch ids (default: every patch).
    ids: Vec<i64>,
}

impl IdsArgs {
    fn patches(&self) -> Patches<'_> {
        if self.ids.is_empty() {
            Patches::All
        } else {
            Patches::Only(&self.ids)
        }
    }
}

/// `replacerelations FILE`.
#[derive(Debug, clap::Args)]
pub struct ReplaceArgs {
    /// One relation per line: patch ids separated by spaces.
    file: PathBuf,
}

/// Progress on standard error, as a count that rewrites itself.
fn progress(what: &'static str) -> impl FnMut(u64) {
    move |n| {
        eprint!("\r{what}: {n}");
        let _ = std::io::stderr().flush();
    }
}

pub async fn retag(store: &Store, args: &IdsArgs) -> anyhow::Result<()> {
    let n = store
        .retag(args.patches(), &mut progress("retagged"))
        .await?;
    eprintln!();
    println!("{n} patches retagged");
    Ok(())
}

pub async fn rehash(store: &Store, args: &IdsArgs) -> anyhow::Result<()> {
    let (n, changed) = store
        .rehash(args.patches(), &mut progress("rehashed"))
        .await?;
    eprintln!();
    println!("{n} patches rehashed, {changed} hashes changed");
    Ok(())
}

/// Reads the relation file: one group of ids per non-empty line.
fn groups(text: &str) -> anyhow::Result<Vec<Vec<i64>>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ids = line
            .split_ascii_whitespace()
            .map(|w| {
                w.parse::<i64>()
                    .with_context(|| format!("line {}: {w:?} is not a patch id", n + 1))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        out.push(ids);
    }
    Ok(out)
}

pub async fn replace_relations(store: &Store, args: &ReplaceArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let replaced = store.replace_relations(&groups(&text)?).await?;
    for (line, why) in &replaced.skipped {
        eprintln!("patchtrack: line {line} left out: {why}");
    }
    println!("Ingested {} relations", replaced.relations);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups_and_names_the_bad_line() {
        assert_eq!(
            groups("1 2 3\n\n4  5\n").unwrap(),
            vec![vec![1, 2, 3], vec![4, 5]]
        );
        let e = groups("1 2\n3 x\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: \"x\" is not a patch id");
    }
}
