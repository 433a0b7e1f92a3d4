//! `patchtrack dumparchive`: Patchwork's tar of one mbox per project,
//! every patch as its download shows it.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::PathBuf;

use anyhow::Context;
use patchtrack_store::{Project, Store};

/// `dumparchive [-c] [LISTID...]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compress with gzip (`.tar.gz`); without it the tar is plain.
    #[arg(short = 'c', long)]
    compress: bool,
    /// Projects by list id (default: every project).
    listids: Vec<String>,
    /// Directory to write into (default: the current one).
    #[arg(long, default_value = ".")]
    directory: PathBuf,
}

/// Patches read and rendered per batch.
const BATCH: u64 = 200;

async fn projects(store: &Store, listids: &[String]) -> anyhow::Result<Vec<Project>> {
    if listids.is_empty() {
        return Ok(store.projects().await?);
    }
    let mut out = Vec::new();
    for listid in listids {
        let found = store.projects_by_listid(listid).await?;
        anyhow::ensure!(!found.is_empty(), "Project not found: {listid}");
        out.extend(found);
    }
    Ok(out)
}

/// Writes one project's mbox into `file`: every patch by id, each
/// followed by a newline, as upstream's dump does.
async fn project_mbox(store: &Store, project: &Project, file: &mut File) -> anyhow::Result<u64> {
    let (open, archived) = store.patch_counts(project.id).await?;
    let total = open + archived;
    let mut out = BufWriter::new(file);
    let (mut done, mut after) = (0u64, i64::MIN);
    loop {
        let ids = store.project_patch_ids(project.id, after, BATCH).await?;
        let Some(&last) = ids.last() else { break };
        // Messages joined by a newline, plus one after the last: each
        // patch followed by a newline.
        let text = patchtrack_web::mbox::patch_ids_mbox(store, &ids).await?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        done += ids.len() as u64;
        after = last;
        print!("{done:06}/{total:06}\r");
        std::io::stdout().flush()?;
    }
    out.flush()?;
    Ok(done)
}

pub async fn run(store: &Store, args: &Args) -> anyhow::Result<()> {
    let projects = projects(store, &args.listids).await?;
    let [y, mo, d, h, mi, s, _] = patchtrack_store::time::parts(patchtrack_store::time::now());
    let stem = format!("patchwork_dump_{y:04}_{mo:02}_{d:02}_{h:02}{mi:02}{s:02}");
    let name = if args.compress {
        format!("{stem}.tar.gz")
    } else {
        format!("{stem}.tar")
    };
    let path = args.directory.join(&name);
    println!("Generating patch archive...");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    if args.compress {
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        write_archive(store, &projects, &args.directory, tar::Builder::new(gz))
            .await?
            .finish()?
            .sync_all()?;
    } else {
        write_archive(store, &projects, &args.directory, tar::Builder::new(file))
            .await?
            .sync_all()?;
    }
    println!("Dumped patch archive to {:?}", path.display().to_string());
    Ok(())
}

/// Appends one `<linkname>.mbox` per project; returns the writer.
async fn write_archive<W: Write>(
    store: &Store,
    projects: &[Project],
    scratch: &std::path::Path,
    mut tar: tar::Builder<W>,
) -> anyhow::Result<W> {
    for (i, project) in projects.iter().enumerate() {
        println!(
            "Project {:02}/{:02} ({})",
            i + 1,
            projects.len(),
            project.linkname
        );
        // Built in a temporary file, not in memory: a large project's
        // mbox is gigabytes.
        let mut mbox = tempfile_in(scratch)?;
        project_mbox(store, project, &mut mbox).await?;
        mbox.rewind()?;
        tar.append_file(format!("{}.mbox", project.linkname), &mut mbox)
            .context("cannot write the archive")?;
        println!();
    }
    Ok(tar.into_inner()?)
}

/// An anonymous temporary file in `dir` (removed once closed).
fn tempfile_in(dir: &std::path::Path) -> anyhow::Result<File> {
    let path = dir.join(format!(".patchtrack-dump-{}.mbox", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::fs::remove_file(&path)?;
    Ok(file)
}
