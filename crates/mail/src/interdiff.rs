//! What changed between two versions of a series, patch by patch, the
//! way `git range-diff` shows it: patches of the two versions paired up,
//! and for each pair a diff between their texts (the commit message and
//! the diff), plus the patches only one version has.
//!
//! Pairing is by name first (the name with its `[...]` prefixes folded,
//! when it is unique on both sides), then by position for what is left,
//! when the two touch a file in common and their texts are similar
//! enough to be one patch reworked rather than one patch dropped and
//! another added (small patches share much of their shape, whatever they
//! change, so the text alone says too little).

use similar::TextDiff;

use crate::lineage::name_key;

/// One patch of a version, as the interdiff reads it.
#[derive(Debug, Clone)]
pub struct Side<'a> {
    /// Its number in the series.
    pub number: i64,
    /// Its name.
    pub name: &'a str,
    /// Commit message (the stored content).
    pub content: &'a str,
    /// Its diff.
    pub diff: &'a str,
}

/// How a pair was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Matched {
    /// The same folded name.
    Name,
    /// The same position, and texts similar enough.
    Position,
}

impl Matched {
    /// The name the API serves.
    pub fn as_str(self) -> &'static str {
        match self {
            Matched::Name => "name",
            Matched::Position => "position",
        }
    }
}

/// A patch of the older version and its counterpart in the newer one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Index into the older version's patches.
    pub old: usize,
    /// Index into the newer version's patches.
    pub new: usize,
    /// How they were paired.
    pub matched: Matched,
    /// The unified diff from the older text to the newer; empty when the
    /// two are the same.
    pub interdiff: String,
}

/// The comparison of two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interdiff {
    /// Pairs, in the newer version's order.
    pub pairs: Vec<Pair>,
    /// Newer patches with no counterpart (indexes).
    pub added: Vec<usize>,
    /// Older patches with no counterpart (indexes).
    pub dropped: Vec<usize>,
}

/// Below this similarity (0 to 1, the share of lines the two texts have
/// in common), two patches at the same position are taken to be
/// different patches: one dropped, one added. `git range-diff` draws the
/// line at the same place (its creation factor of 60%).
const SAME_PATCH: f32 = 0.4;

/// The text compared: the commit message, then the diff, as the mail
/// has them.
fn text(p: &Side<'_>) -> String {
    let mut t = String::with_capacity(p.content.len() + p.diff.len() + 5);
    t.push_str(p.content.trim_end());
    t.push_str("\n---\n");
    t.push_str(p.diff);
    if !t.ends_with('\n') {
        t.push('\n');
    }
    t
}

/// The files a diff changes (their new names, else their old ones), from
/// the `---`/`+++` lines of each file's header (a removed line may start
/// with `--` too, so lines inside hunks are not looked at).
fn files(diff: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_header = true;
    for line in diff.lines() {
        if line.starts_with("diff ") {
            in_header = true;
        } else if line.starts_with("@@") {
            in_header = false;
        }
        if !in_header {
            continue;
        }
        let name = line
            .strip_prefix("+++ ")
            .or_else(|| line.strip_prefix("--- "))
            .map(|n| n.split('\t').next().unwrap_or(n).trim_end());
        if let Some(n) = name.filter(|n| *n != "/dev/null") {
            let n = n
                .strip_prefix("a/")
                .or_else(|| n.strip_prefix("b/"))
                .unwrap_or(n);
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

fn share_a_file(a: &str, b: &str) -> bool {
    let theirs = files(b);
    files(a).iter().any(|f| theirs.contains(f))
}

/// Compares two versions: `old` and `new` are their patches in number
/// order; `labels` name the two sides in the diff headers (`v2`, `v3`).
pub fn interdiff(old: &[Side<'_>], new: &[Side<'_>], labels: (&str, &str)) -> Interdiff {
    let old_texts: Vec<String> = old.iter().map(text).collect();
    let new_texts: Vec<String> = new.iter().map(text).collect();
    let mut partner_of_new: Vec<Option<(usize, Matched)>> = vec![None; new.len()];
    let mut taken = vec![false; old.len()];

    let keys = |side: &[Side<'_>]| -> Vec<Option<String>> {
        side.iter().map(|p| name_key(p.name)).collect()
    };
    let (old_keys, new_keys) = (keys(old), keys(new));
    let unique = |keys: &[Option<String>], k: &String| {
        keys.iter().flatten().filter(|x| *x == k).count() == 1
    };
    for (n, key) in new_keys.iter().enumerate() {
        let Some(key) = key else { continue };
        if !unique(&new_keys, key) || !unique(&old_keys, key) {
            continue;
        }
        if let Some(o) = old_keys.iter().position(|k| k.as_ref() == Some(key)) {
            partner_of_new[n] = Some((o, Matched::Name));
            taken[o] = true;
        }
    }
    for (n, p) in new.iter().enumerate() {
        if partner_of_new[n].is_some() {
            continue;
        }
        let Some(o) = old.iter().position(|q| q.number == p.number) else {
            continue;
        };
        if taken[o] || !share_a_file(old[o].diff, p.diff) {
            continue;
        }
        let ratio = TextDiff::from_lines(&old_texts[o], &new_texts[n]).ratio();
        if ratio >= SAME_PATCH {
            partner_of_new[n] = Some((o, Matched::Position));
            taken[o] = true;
        }
    }

    let mut result = Interdiff {
        pairs: Vec::new(),
        added: Vec::new(),
        dropped: (0..old.len()).filter(|o| !taken[*o]).collect(),
    };
    for (n, partner) in partner_of_new.into_iter().enumerate() {
        let Some((o, matched)) = partner else {
            result.added.push(n);
            continue;
        };
        let interdiff = if old_texts[o] == new_texts[n] {
            String::new()
        } else {
            let from = format!("{}/{:02}", labels.0, old[o].number);
            let to = format!("{}/{:02}", labels.1, new[n].number);
            TextDiff::from_lines(&old_texts[o], &new_texts[n])
                .unified_diff()
                .context_radius(3)
                .header(&from, &to)
                .to_string()
        };
        result.pairs.push(Pair {
            old: o,
            new: n,
            matched,
            interdiff,
        });
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(number: i64, name: &'a str, diff: &'a str) -> Side<'a> {
        Side {
            number,
            name,
            content: "Message.\n\nSigned-off-by: A <a@b>",
            diff,
        }
    }

    const D1: &str = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
    const D1B: &str = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+c\n";
    const D2: &str = "diff --git a/g b/g\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-x\n+y\n";
    const D3: &str = "diff --git a/zzz b/zzz\nnew file mode 100644\n--- /dev/null\n+++ b/zzz\n@@ -0,0 +1,3 @@\n+1\n+2\n+3\n";

    #[test]
    fn pairs_by_name_then_position() {
        let old = [side(1, "[1/2] fix f", D1), side(2, "[2/2] fix g", D2)];
        let new = [
            side(1, "[v2,1/3] Fix F", D1B),
            side(2, "[v2,2/3] fix g, reworded", D2),
            side(3, "[v2,3/3] add zzz", D3),
        ];
        let d = interdiff(&old, &new, ("v1", "v2"));
        assert_eq!(d.pairs.len(), 2);
        assert_eq!((d.pairs[0].old, d.pairs[0].matched), (0, Matched::Name));
        assert!(d.pairs[0].interdiff.starts_with("--- v1/01\n+++ v2/01\n"));
        assert!(
            d.pairs[0].interdiff.contains("\n-+b\n++c\n"),
            "{}",
            d.pairs[0].interdiff
        );
        assert_eq!((d.pairs[1].old, d.pairs[1].matched), (1, Matched::Position));
        assert_eq!(d.pairs[1].interdiff, "", "same text, other name");
        assert_eq!(d.added, [2]);
        assert!(d.dropped.is_empty());
    }

    #[test]
    fn an_unrelated_patch_in_the_same_place_is_dropped_and_added() {
        let long = |c: &str| format!("diff --git a/{c} b/{c}\n{}", format!("+{c}\n").repeat(40));
        let (a, b) = (long("a"), long("b"));
        let old = [Side {
            number: 1,
            name: "one thing",
            content: "About a.",
            diff: &a,
        }];
        let new = [Side {
            number: 1,
            name: "another thing",
            content: "About b.",
            diff: &b,
        }];
        let d = interdiff(&old, &new, ("v1", "v2"));
        assert!(d.pairs.is_empty());
        assert_eq!(
            (d.added.as_slice(), d.dropped.as_slice()),
            (&[0][..], &[0][..])
        );
    }

    #[test]
    fn position_needs_a_file_in_common() {
        let old = [side(1, "[1/1] one", D1)];
        let new = [side(1, "[v2,1/1] another", D2)];
        let d = interdiff(&old, &new, ("v1", "v2"));
        assert!(d.pairs.is_empty());
        assert_eq!(files(D3), ["zzz"]);
        assert_eq!(files(D1), ["f"]);
    }

    #[test]
    fn duplicate_names_fall_back_to_position() {
        let old = [side(1, "[1/2] same", D1), side(2, "[2/2] same", D2)];
        let new = [side(1, "[v2,1/2] same", D1), side(2, "[v2,2/2] same", D2)];
        let d = interdiff(&old, &new, ("v1", "v2"));
        let got: Vec<(usize, usize, Matched)> =
            d.pairs.iter().map(|p| (p.old, p.new, p.matched)).collect();
        assert_eq!(got, [(0, 0, Matched::Position), (1, 1, Matched::Position)]);
    }
}
