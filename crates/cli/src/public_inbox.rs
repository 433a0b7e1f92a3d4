//! `patchtrack import-public-inbox`: mail in from a public-inbox archive
//! (lore.kernel.org and its mirrors), read with git.
//!
//! A v1 inbox is one bare repository whose commits each add a message
//! under a path made of the hash of its Message-ID; a v2 inbox is a
//! directory of epochs, `git/0.git`, `git/1.git`, ..., whose commits each
//! add one message as the file `m` (and a removal replaces it with `d`).
//! Epochs are read in order, each along its first-parent history oldest
//! first, and the last commit whose mail is stored is remembered per epoch
//! in the database (see `Store::set_inbox_mark`), so a second run, or the
//! next round of `--follow`, reads only what arrived since, including
//! epochs a `git fetch` added.
//!
//! A message removed from the inbox before it was read is skipped; one
//! removed after it was stored is named on stderr and kept, as patchtrack
//! never deletes mail on its own.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use patchtrack_mail::ParsedMail;
use patchtrack_store::Store;

use crate::affinity;
use crate::input::Item;
use crate::mailin::{Storer, parse_guarded};

/// Arguments of `patchtrack import-public-inbox`.
#[derive(Debug, clap::Args)]
pub struct ImportPublicInboxArgs {
    /// Use this list id instead of the mails' List-Id headers (a
    /// public-inbox keeps the headers as the list sent them).
    #[arg(long, env = "PATCHTRACK_PUBLIC_INBOX_LIST_ID")]
    list_id: Option<String>,
    /// After reading what is there, keep waiting for new commits (and new
    /// epochs) and store them as they come; stops on SIGTERM or SIGINT
    /// after the mail in hand is stored.
    #[arg(long, env = "PATCHTRACK_PUBLIC_INBOX_FOLLOW")]
    follow: bool,
    /// Read every epoch from its first commit, whatever was read before
    /// (mail already stored is skipped): after adding a project whose
    /// mail an earlier run dropped.
    #[arg(long, env = "PATCHTRACK_PUBLIC_INBOX_FROM_START")]
    from_start: bool,
    /// With --follow, seconds between two looks at the inbox.
    #[arg(long, env = "PATCHTRACK_PUBLIC_INBOX_POLL_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    poll_seconds: u64,
    /// The inbox: a v2 inbox's directory (holding `git/N.git`) or a v1
    /// inbox's git repository.
    path: PathBuf,
}

/// Marks are written after this many stored mails, besides at the end of
/// each epoch and on a stop: a crash re-reads at most this many.
const MARK_EVERY: u64 = 1_000;

/// One git repository of mail, as it is found on disk.
#[derive(Debug, Clone)]
struct Epoch {
    /// `git/N.git` of a v2 inbox, or the v1 repository.
    dir: PathBuf,
    /// `0` for v1; N for v2.
    number: u64,
    v2: bool,
}

/// The epochs of the inbox at `path`, oldest first.
fn epochs(path: &Path) -> Result<Vec<Epoch>> {
    let git = path.join("git");
    if git.is_dir() {
        let mut found = Vec::new();
        for entry in
            std::fs::read_dir(&git).with_context(|| format!("cannot read {}", git.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            let Some(n) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".git"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            found.push(Epoch {
                dir: entry.path(),
                number: n,
                v2: true,
            });
        }
        found.sort_by_key(|e| e.number);
        return Ok(found);
    }
    let bare = path.join("objects").is_dir() && path.join("HEAD").is_file();
    let dir = if bare {
        path.to_path_buf()
    } else if path.join(".git").is_dir() {
        path.join(".git")
    } else {
        bail!(
            "{} is not a public-inbox: neither a v2 inbox (git/N.git) nor a v1 inbox (a git repository)",
            path.display()
        );
    };
    Ok(vec![Epoch {
        dir,
        number: 0,
        v2: false,
    }])
}

/// `git --git-dir=DIR ARGS`, reading nothing.
fn git_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null());
    command
}

/// `git --git-dir=DIR ARGS`, its standard output, or its complaint.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = git_in(dir, args)
        .output()
        .context("cannot run git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// The epoch's newest commit, or None while it has none.
fn head(dir: &Path) -> Result<Option<String>> {
    let out = git_in(dir, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        .output()
        .context("cannot run git (is it installed?)")?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
}

/// Whether `commit` is on the history of `head` (false also when the
/// commit is gone, after a purge or a re-created epoch).
fn is_ancestor(dir: &Path, commit: &str, head: &str) -> Result<bool> {
    let status = git_in(dir, &["merge-base", "--is-ancestor", commit, head])
        .stderr(Stdio::null())
        .status()
        .context("cannot run git (is it installed?)")?;
    Ok(status.success())
}

/// What one commit did to the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Added { commit: String, blob: String },
    Removed { commit: String, blob: String },
}

/// The changes of the commits in `range`, oldest first, from one
/// `git log --raw` (first-parent: the inbox's own line of history).
fn changes(epoch: &Epoch, range: &str) -> Result<Vec<Change>> {
    let out = git(
        &epoch.dir,
        &[
            "-c",
            "core.quotePath=false",
            "log",
            "--first-parent",
            "--reverse",
            "--root",
            "--no-renames",
            "--raw",
            "--no-abbrev",
            "--format=commit %H",
            range,
        ],
    )?;
    parse_raw_log(&out, epoch.v2)
}

/// Parses `git log --raw --format='commit %H'`. In a v2 epoch a message is
/// the file `m` and a removal adds `d` holding the removed message; in v1
/// any added or changed file is a message and a deleted one a removal.
fn parse_raw_log(out: &[u8], v2: bool) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    let mut commit = String::new();
    for line in out.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        if let Some(c) = line.strip_prefix("commit ") {
            commit = c.trim().to_string();
            continue;
        }
        let Some(raw) = line.strip_prefix(':') else {
            continue;
        };
        // ":old_mode new_mode old_blob new_blob STATUS\tpath"
        let Some((meta, path)) = raw.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [_, _, old, new, status] = fields[..] else {
            bail!("unexpected line in git log: {line}");
        };
        let status = status.chars().next().unwrap_or(' ');
        let change = match (v2, path, status) {
            (true, "m", 'A' | 'M') => Change::Added {
                commit: commit.clone(),
                blob: new.to_string(),
            },
            (true, "d", 'A' | 'M') => Change::Removed {
                commit: commit.clone(),
                blob: new.to_string(),
            },
            (true, _, _) => continue,
            (false, _, 'A' | 'M') => Change::Added {
                commit: commit.clone(),
                blob: new.to_string(),
            },
            (false, _, 'D') => Change::Removed {
                commit: commit.clone(),
                blob: old.to_string(),
            },
            (false, _, _) => continue,
        };
        changes.push(change);
    }
    Ok(changes)
}

/// What the reader hands to the storing task, in order.
enum Feed {
    Mail {
        item: Item,
        parsed: Box<ParsedMail>,
        epoch: usize,
        commit: String,
    },
    /// Everything of the epoch up to `commit` has been handed over.
    EpochRead { epoch: usize, commit: String },
}

/// An epoch with what this run knows of it.
#[derive(Debug, Clone)]
struct Plan {
    epoch: Epoch,
    root: String,
    /// `MARK..HEAD`, or `HEAD` when reading from the start.
    range: String,
    head: String,
}

/// The root commit of each epoch, found once per process: finding it
/// walks the epoch's whole history, which a follower must not do on
/// every look.
type Roots = HashMap<PathBuf, String>;

/// What to read of each epoch: those with commits past their mark (all
/// of each with `from_start`).
async fn plan(
    store: &Store,
    path: &Path,
    roots: &mut Roots,
    from_start: bool,
) -> Result<Vec<Plan>> {
    let mut plans = Vec::new();
    for epoch in epochs(path)? {
        let Some(head) = head(&epoch.dir)? else {
            continue;
        };
        let root = match roots.get(&epoch.dir) {
            Some(root) => root.clone(),
            None => {
                let out = git(
                    &epoch.dir,
                    &["rev-list", "--first-parent", "--max-parents=0", &head],
                )?;
                let root = String::from_utf8_lossy(&out)
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_string();
                roots.insert(epoch.dir.clone(), root.clone());
                root
            }
        };
        let mark = if from_start {
            None
        } else {
            store.inbox_mark(&root).await?
        };
        let range = match mark {
            Some(mark) if mark.last_commit == head => continue,
            Some(mark) if is_ancestor(&epoch.dir, &mark.last_commit, &head)? => {
                format!("{}..{head}", mark.last_commit)
            }
            Some(mark) => {
                eprintln!(
                    "patchtrack: {}: the history changed since commit {} was read \
                     (a purge?); reading the epoch again, mail already stored is skipped",
                    epoch.dir.display(),
                    mark.last_commit
                );
                head.clone()
            }
            None => head.clone(),
        };
        plans.push(Plan {
            epoch,
            root,
            range,
            head,
        });
    }
    Ok(plans)
}

/// Reads the planned epochs and sends their mail, parsed, down `tx`.
/// Runs on its own thread: git and the parser are blocking work.
fn read(plans: &[Plan], tx: &tokio::sync::mpsc::Sender<Feed>, stop: &Stop) -> Result<()> {
    for (index, plan) in plans.iter().enumerate() {
        if stop.requested() {
            bail!("import stopped");
        }
        let changes = changes(&plan.epoch, &plan.range)?;
        // A message removed later in the range is not stored at all; one
        // removed whose addition came in an earlier run was stored then.
        let mut last_removal: HashMap<&str, usize> = HashMap::new();
        for (i, change) in changes.iter().enumerate() {
            if let Change::Removed { blob, .. } = change {
                last_removal.insert(blob, i);
            }
        }
        let mut added = std::collections::HashSet::new();
        let mut wanted = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            match change {
                Change::Added { commit, blob } => {
                    added.insert(blob.as_str());
                    if last_removal.get(blob.as_str()).is_none_or(|&j| j < i) {
                        wanted.push((commit.as_str(), blob.as_str()));
                    }
                }
                Change::Removed { commit, blob } if !added.contains(blob.as_str()) => {
                    let id = removed_message_id(&plan.epoch.dir, blob)
                        .unwrap_or_else(|| format!("blob {blob}"));
                    eprintln!(
                        "patchtrack: {}: {id} was removed from the inbox (commit {commit}) \
                         after it was stored; patchtrack keeps it",
                        plan.epoch.dir.display()
                    );
                }
                Change::Removed { .. } => {}
            }
        }
        cat_blobs(&plan.epoch.dir, &wanted, &mut |commit, data| {
            if stop.requested() {
                bail!("import stopped");
            }
            let origin = format!("{}:{commit}", plan.epoch.dir.display());
            let parsed = Box::new(parse_guarded(&data));
            tx.blocking_send(Feed::Mail {
                item: Item { origin, data },
                parsed,
                epoch: index,
                commit: commit.to_string(),
            })
            .map_err(|_| anyhow::anyhow!("import stopped"))
        })?;
        tx.blocking_send(Feed::EpochRead {
            epoch: index,
            commit: plan.head.clone(),
        })
        .map_err(|_| anyhow::anyhow!("import stopped"))?;
    }
    Ok(())
}

/// The Message-ID of a removed message, to name it in the warning.
fn removed_message_id(dir: &Path, blob: &str) -> Option<String> {
    let data = git(dir, &["cat-file", "blob", blob]).ok()?;
    parse_guarded(&data).msgid
}

/// Reads the blobs of `wanted` with one `git cat-file --batch`, calling
/// `each` with the commit and the bytes of each, in order.
fn cat_blobs(
    dir: &Path,
    wanted: &[(&str, &str)],
    each: &mut dyn FnMut(&str, Vec<u8>) -> Result<()>,
) -> Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let child = git_in(dir, &["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run git (is it installed?)")?;
    let mut child = Reaped(child);
    let mut stdin = child.0.stdin.take().context("git cat-file has no stdin")?;
    let ids: Vec<String> = wanted.iter().map(|(_, b)| format!("{b}\n")).collect();
    // Writing from a thread of its own: git answers while it reads, and a
    // full pipe either way would stop both.
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        for id in ids {
            stdin.write_all(id.as_bytes())?;
        }
        Ok(())
    });
    let mut stdout = BufReader::new(
        child
            .0
            .stdout
            .take()
            .context("git cat-file has no stdout")?,
    );
    let mut header = String::new();
    let mut result = Ok(());
    for (commit, blob) in wanted {
        header.clear();
        stdout.read_line(&mut header)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        let size = match fields[..] {
            [_, "blob", size] => size
                .parse::<usize>()
                .context("bad size from git cat-file")?,
            _ => {
                result = Err(anyhow::anyhow!("git cat-file: {blob}: {}", header.trim()));
                break;
            }
        };
        if size > LARGEST_MAIL {
            // Read past it: the next answer follows.
            std::io::copy(
                &mut (&mut stdout).take(size as u64 + 1),
                &mut std::io::sink(),
            )?;
            eprintln!(
                "patchtrack: {}: commit {commit}: a message of {size} bytes is over the \
                 {LARGEST_MAIL}-byte limit; skipped",
                dir.display()
            );
            continue;
        }
        let mut data = vec![0; size];
        stdout.read_exact(&mut data)?;
        let mut newline = [0u8; 1];
        stdout.read_exact(&mut newline)?;
        if let Err(e) = each(commit, data) {
            result = Err(e);
            break;
        }
    }
    drop(stdout);
    drop(child);
    let _ = writer.join();
    result
}

/// The largest message read from an inbox (as `lmtp`'s default): a
/// mirror is someone else's data, and a message is read whole.
const LARGEST_MAIL: usize = 64 << 20;

/// A child process killed and reaped however its reader leaves.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads what is new in the inbox, storing it; returns the mails handled.
async fn pass(
    store: &Store,
    args: &ImportPublicInboxArgs,
    stop: &Stop,
    roots: &mut Roots,
    from_start: bool,
    cores: &affinity::Cores,
) -> Result<u64> {
    let plans = plan(store, &args.path, roots, from_start).await?;
    if plans.is_empty() {
        return Ok(0);
    }
    let mut storer = Storer::new(store, args.list_id.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Feed>(64);
    let reader_plans = plans.clone();
    let reader_stop = stop.clone();
    // The store's side stays on its core (see `affinity`); the reader, git
    // and the parser may use any.
    let reader_cores = cores.clone();
    let reader = std::thread::spawn(move || {
        affinity::release(&reader_cores);
        read(&reader_plans, &tx, &reader_stop)
    });
    // The commit of the newest stored mail per epoch and the mails since
    // its mark last moved.
    let mut stored: Vec<(Option<String>, u64)> = vec![(None, 0); plans.len()];
    let mut since_mark = 0u64;
    let mut stopped = false;
    while let Some(feed) = rx.recv().await {
        match feed {
            Feed::Mail {
                item,
                parsed,
                epoch,
                commit,
            } => {
                storer.store(&item, *parsed).await?;
                stored[epoch] = (Some(commit), stored[epoch].1 + 1);
                since_mark += 1;
                if (since_mark >= MARK_EVERY || stop.requested()) && !storer.unrouted_only() {
                    flush_marks(store, &plans, &mut stored).await?;
                    since_mark = 0;
                }
                if stop.requested() {
                    stopped = true;
                    break;
                }
            }
            Feed::EpochRead { epoch, commit } => {
                if storer.unrouted_only() {
                    continue;
                }
                let read = std::mem::take(&mut stored[epoch].1);
                stored[epoch].0 = None;
                let path = plans[epoch].epoch.dir.display().to_string();
                store
                    .set_inbox_mark(&plans[epoch].root, &path, &commit, read)
                    .await?;
            }
        }
    }
    drop(rx);
    let unrouted = storer.unrouted_only();
    // After a stop or a reader's failure: the mail stored so far counts.
    if !unrouted {
        flush_marks(store, &plans, &mut stored).await?;
    }
    let handled = storer.messages();
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the inbox reader panicked"))?;
    if !stopped && !stop.requested() {
        read?;
    }
    storer.finish().await?;
    if unrouted {
        bail!(
            "no project takes this inbox's mail (see the list id above): add the project, \
             or give --list-id, and run again; nothing was marked as read"
        );
    }
    Ok(handled)
}

/// Moves the mark of each epoch with newly stored mail to the commit of
/// its newest stored mail.
async fn flush_marks(
    store: &Store,
    plans: &[Plan],
    stored: &mut [(Option<String>, u64)],
) -> Result<()> {
    for (plan, (commit, read)) in plans.iter().zip(stored.iter_mut()) {
        if let Some(c) = commit.take() {
            let path = plan.epoch.dir.display().to_string();
            store.set_inbox_mark(&plan.root, &path, &c, *read).await?;
            *read = 0;
        }
    }
    Ok(())
}

/// SIGTERM or SIGINT, seen by the storing loop between two mails.
#[derive(Clone)]
struct Stop(Option<tokio::sync::watch::Receiver<bool>>);

impl Stop {
    fn requested(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }
}

/// `import-public-inbox`: one pass, or passes until stopped with --follow.
pub async fn run(
    store: &Store,
    args: &ImportPublicInboxArgs,
    cores: &affinity::Cores,
) -> Result<()> {
    // One pass ends on its own; only a follower waits for a signal.
    let stop = Stop(if args.follow {
        Some(crate::shutdown::on_signal()?)
    } else {
        None
    });
    if epochs(&args.path)?.is_empty() {
        bail!(
            "{}: no epoch (git/N.git) in this inbox yet",
            args.path.display()
        );
    }
    let mut roots = Roots::new();
    // --from-start is for the first look only: a follower goes on from
    // where that one ends.
    let mut from_start = args.from_start;
    loop {
        let handled = pass(store, args, &stop, &mut roots, from_start, cores).await?;
        from_start = false;
        if !args.follow || stop.requested() {
            if handled == 0 && !args.follow {
                println!("nothing new in {}", args.path.display());
            }
            return Ok(());
        }
        let pause = tokio::time::sleep(Duration::from_secs(args.poll_seconds));
        match stop.0.clone() {
            Some(mut signal) => tokio::select! {
                _ = pause => {}
                _ = crate::shutdown::requested(&mut signal) => return Ok(()),
            },
            None => pause.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0000000000000000000000000000000000000000";
    const B1: &str = "1111111111111111111111111111111111111111";
    const B2: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn v2_messages_are_m_and_removals_are_d() {
        let log = format!(
            "commit c1\n\n:000000 100644 {A} {B1} A\tm\n\
             commit c2\n\n:100644 000000 {B1} {A} D\tm\n:000000 100644 {A} {B1} A\td\n\
             commit c3\n\n:100644 100644 {B1} {B2} M\tm\n"
        );
        let changes = parse_raw_log(log.as_bytes(), true).unwrap();
        assert_eq!(
            changes,
            vec![
                Change::Added {
                    commit: "c1".into(),
                    blob: B1.into()
                },
                Change::Removed {
                    commit: "c2".into(),
                    blob: B1.into()
                },
                Change::Added {
                    commit: "c3".into(),
                    blob: B2.into()
                },
            ]
        );
    }

    #[test]
    fn v1_messages_are_any_file_and_removals_are_deletions() {
        let log = format!(
            "commit c1\n\n:000000 100644 {A} {B1} A\tab/cdef\n\
             commit c2\n\n:100644 000000 {B1} {A} D\tab/cdef\n"
        );
        let changes = parse_raw_log(log.as_bytes(), false).unwrap();
        assert_eq!(
            changes,
            vec![
                Change::Added {
                    commit: "c1".into(),
                    blob: B1.into()
                },
                Change::Removed {
                    commit: "c2".into(),
                    blob: B1.into()
                },
            ]
        );
    }

    #[test]
    fn a_directory_without_git_is_refused() {
        let dir = std::env::temp_dir().join(format!("pt-not-inbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = epochs(&dir).unwrap_err().to_string();
        assert!(err.contains("is not a public-inbox"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
