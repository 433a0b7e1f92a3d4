//! Choosing a delegate for a new patch: the `X-Patchwork-Delegate` header,
//! else the project's delegation rules matched against the files the diff
//! touches.

use sqlx::Row;

use crate::error::Result;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The user whose email is `email` (case-insensitive). Several users with
/// one address give none (Patchwork fails the whole mail there).
pub(crate) async fn user_by_email(tx: &mut Tx, email: &str) -> Result<Option<i64>> {
    let rows = sqlx::query("SELECT id FROM app_user WHERE LOWER(email) = LOWER($1) LIMIT 2")
        .bind(email)
        .fetch_all(&mut **tx)
        .await?;
    Ok(match rows.as_slice() {
        [one] => Some(one.try_get("id")?),
        _ => None,
    })
}

/// The files a diff touches, as Patchwork lists them for delegation: every
/// `---`/`+++` path except `/dev/null`, without its first component,
/// de-duplicated and sorted.
pub fn filenames(diff: &str) -> Vec<String> {
    let mut names: Vec<String> = diff
        .lines()
        .filter_map(|l| l.strip_prefix("--- ").or_else(|| l.strip_prefix("+++ ")))
        .filter_map(|rest| rest.split(patchtrack_mail::text::py_isspace).next())
        .filter(|t| !t.is_empty() && !t.starts_with("/dev/null"))
        .map(|t| t.split_once('/').map_or("", |(_, r)| r).to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Python's `fnmatch.fnmatchcase`: `*` matches anything (slashes too), `?`
/// one character, `[...]`/`[!...]` a set.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let close = chars[i + 1..]
                    .iter()
                    .enumerate()
                    .skip(usize::from(chars.get(i + 1) == Some(&'!')))
                    .skip(1)
                    .find(|(_, c)| **c == ']')
                    .map(|(j, _)| i + 1 + j);
                match close {
                    Some(end) => {
                        let mut set: String = chars[i + 1..end].iter().collect();
                        if let Some(rest) = set.strip_prefix('!') {
                            set = format!("^{rest}");
                        }
                        re.push('[');
                        re.push_str(
                            &set.replace('\\', "\\\\")
                                .replace('[', "\\[")
                                .replace('&', "\\&")
                                .replace('~', "\\~"),
                        );
                        re.push(']');
                        i = end;
                    }
                    None => re.push_str("\\["),
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    regex::RegexBuilder::new(&re)
        .dot_matches_new_line(true)
        .build()
        .is_ok_and(|r| r.is_match(name))
}

/// The delegate the project's rules give for `diff`: every file must match
/// some rule (first by priority, then path), and all must give one user.
pub(crate) async fn by_rules(
    caches: &crate::cache::Caches,
    tx: &mut Tx,
    project_id: i64,
    diff: &str,
) -> Result<Option<i64>> {
    let rules = match caches.rules.get(&project_id) {
        Some(rules) => rules,
        None => {
            let rows = sqlx::query(
                "SELECT user_id, path FROM delegation_rule WHERE project_id = $1 \
                 ORDER BY priority DESC, path ASC",
            )
            .bind(project_id)
            .fetch_all(&mut **tx)
            .await?;
            let rules: Vec<(i64, String)> = rows
                .iter()
                .map(|r| Ok((r.try_get("user_id")?, r.try_get("path")?)))
                .collect::<Result<_, sqlx::Error>>()?;
            caches.rules.put(project_id, rules)
        }
    };
    if rules.is_empty() {
        return Ok(None);
    }
    let mut chosen = None;
    let files = filenames(diff);
    if files.is_empty() {
        return Ok(None);
    }
    for file in files {
        let Some((user, _)) = rules.iter().find(|(_, path)| fnmatch(path, &file)) else {
            return Ok(None);
        };
        match chosen {
            None => chosen = Some(*user),
            Some(u) if u != *user => return Ok(None),
            Some(_) => {}
        }
    }
    Ok(chosen)
}

/// A project's rule: new patches whose files all match `path` go to `user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationRule {
    /// Primary key.
    pub id: i64,
    /// An fnmatch pattern on the touched files' paths.
    pub path: String,
    /// Rules with higher priorities are tried first.
    pub priority: i64,
    /// The delegate.
    pub user: crate::refs::UserRef,
}

impl crate::db::Store {
    /// A project's delegation rules in the order they are tried.
    pub async fn delegation_rules(&self, project_id: i64) -> Result<Vec<DelegationRule>> {
        let sql = format!(
            "SELECT r.id, r.path, r.priority, {} FROM delegation_rule r \
             JOIN app_user u ON u.id = r.user_id WHERE r.project_id = $1 \
             ORDER BY r.priority DESC, r.path ASC",
            crate::refs::user_columns("u", "u_")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DelegationRule {
                    id: r.try_get("id")?,
                    path: r.try_get("path")?,
                    priority: r.try_get("priority")?,
                    user: crate::refs::user(r, "u_")?.ok_or_else(|| {
                        crate::error::StoreError::Inconsistent("a rule without its user".into())
                    })?,
                })
            })
            .collect()
    }

    /// Removes one of a project's delegation rules. False when the
    /// project has no such rule.
    pub async fn remove_delegation_rule(&self, project_id: i64, rule_id: i64) -> Result<bool> {
        let res = sqlx::query("DELETE FROM delegation_rule WHERE id = $1 AND project_id = $2")
            .bind(rule_id)
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        self.caches.rules.clear();
        Ok(res.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_a_diff() {
        let diff = "--- a/x/y.c\t2020\n+++ b/x/y.c\n--- /dev/null\n+++ quit.sh\n";
        assert_eq!(filenames(diff), ["", "x/y.c"]);
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("drivers/*", "drivers/net/x.c"));
        assert!(fnmatch("*.c", "a/b.c"));
        assert!(fnmatch("x?.c", "xy.c"));
        assert!(fnmatch("[ab]*", "b.c"));
        assert!(!fnmatch("[!ab]*", "b.c"));
        assert!(!fnmatch("Docs/*", "docs/x"));
        assert!(fnmatch("a[.c", "a[.c"));
    }
}
