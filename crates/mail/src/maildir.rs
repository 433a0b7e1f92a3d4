//! Reading Maildir folders (`cur/` and `new/`, one message per file).

use std::io;
use std::path::{Path, PathBuf};

/// Whether `dir` looks like a Maildir (has `cur` or `new`).
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// The message files of a Maildir, `new/` then `cur/`, each sorted by name
/// so that runs are repeatable. Dot files (editor or delivery temporaries)
/// are skipped; `tmp/` holds deliveries in progress and is never read.
pub fn message_paths(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    for sub in ["new", "cur"] {
        let sub = dir.join(sub);
        if !sub.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&sub)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            files.push(entry.path());
        }
        files.sort();
        all.extend(files);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_new_then_cur() {
        let dir = std::env::temp_dir().join(format!("pt-maildir-{}", std::process::id()));
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("cur/2"), b"x").unwrap();
        std::fs::write(dir.join("cur/1"), b"x").unwrap();
        std::fs::write(dir.join("new/9"), b"x").unwrap();
        std::fs::write(dir.join("new/.hidden"), b"x").unwrap();
        std::fs::write(dir.join("tmp/5"), b"x").unwrap();
        assert!(is_maildir(&dir));
        let names: Vec<String> = message_paths(&dir)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["new/9", "cur/1", "cur/2"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
