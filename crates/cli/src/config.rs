//! The configuration file: TOML, from `--config PATH`, else
//! `$PATCHTRACK_CONFIG`, else `/etc/patchtrack/config.toml` when it
//! exists. Its keys are the long flag names: `database` at the top, each
//! command's options in a table named after the command (`[serve]`,
//! `[lmtp]`, `[import-public-inbox]`, ...).
//!
//! A setting comes from, in order: the command line, its environment
//! variable, the file, the built-in default. The file is applied by
//! parsing the command line once, then adding `--flag=value` for every
//! key of the file whose option the command line and the environment left
//! at its default, and parsing again; so clap alone validates every value,
//! whichever source it came from. A key that names no option is an error,
//! so that a typo never passes silently.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// The file read when neither `--config` nor `PATCHTRACK_CONFIG` names one.
pub const DEFAULT_PATH: &str = "/etc/patchtrack/config.toml";

/// The file in use, if any, and its contents.
#[derive(Debug, Default)]
pub struct File {
    /// Where it was read from.
    pub path: Option<PathBuf>,
    table: toml::Table,
}

/// Which file applies: the one named, else the default one when it exists
/// and this process may read it (a file only the site's user reads must
/// not stop an MTA's `parsemail` that is given everything by flags: it is
/// then named on stderr and left out).
pub fn locate(named: Option<&Path>) -> Option<PathBuf> {
    match named {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let default = Path::new(DEFAULT_PATH);
            if !default.is_file() {
                return None;
            }
            match std::fs::File::open(default) {
                Ok(_) => Some(default.to_path_buf()),
                Err(e) => {
                    eprintln!("patchtrack: {DEFAULT_PATH} left out: {e}");
                    None
                }
            }
        }
    }
}

/// Reads and checks the file against the commands' options.
pub fn load(path: Option<PathBuf>, cli: &Command) -> Result<File> {
    let Some(path) = path else {
        return Ok(File::default());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let file = File {
        path: Some(path),
        table,
    };
    file.validate(cli)?;
    Ok(file)
}

/// The settings a file may hold for a command: its options that take a
/// long flag, less the global ones and `--help`/`--version`.
fn settable(cmd: &Command) -> impl Iterator<Item = &clap::Arg> {
    cmd.get_arguments().filter(|a| {
        a.get_long().is_some()
            && !a.is_global_set()
            && !matches!(a.get_id().as_str(), "help" | "version")
    })
}

impl File {
    /// Whether the file sets the database.
    pub fn has_database(&self) -> bool {
        self.table.contains_key("database")
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "(no file)".into(), |p| p.display().to_string())
    }

    fn validate(&self, cli: &Command) -> Result<()> {
        for (key, value) in &self.table {
            if let Some(global) = cli.get_arguments().find(|a| a.get_long() == Some(key)) {
                if global.get_id() == "config" {
                    bail!("{}: `config` cannot name another file", self.name());
                }
                if value.is_table() {
                    bail!("{}: `{key}` is a setting, not a table", self.name());
                }
                continue;
            }
            let Some(sub) = cli.find_subcommand(key) else {
                bail!(
                    "{}: unknown key `{key}` (settings are `database` and one table per \
                     command, such as [serve])",
                    self.name()
                );
            };
            let Some(options) = value.as_table() else {
                bail!(
                    "{}: `{key}` names a command: it must be a table [{key}]",
                    self.name()
                );
            };
            for (option, _) in options {
                if !settable(sub).any(|a| a.get_long() == Some(option)) {
                    bail!(
                        "{}: [{key}] has no option `{option}` (see `patchtrack {key} --help`)",
                        self.name()
                    );
                }
            }
        }
        Ok(())
    }

    /// `--flag=value` arguments for the file's settings that `matches`
    /// (from the command line and the environment) left at their default.
    fn arguments(
        &self,
        cmd: &Command,
        table: &toml::Table,
        matches: &ArgMatches,
    ) -> Result<Vec<OsString>> {
        let mut out = Vec::new();
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let Some(value) = table.get(long) else {
                continue;
            };
            let given = matches!(
                matches.value_source(arg.get_id().as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
            if given {
                continue;
            }
            let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
            let values: Vec<&toml::Value> = match value {
                toml::Value::Array(items) => items.iter().collect(),
                v => vec![v],
            };
            for v in values {
                match (v, takes_value) {
                    (toml::Value::Boolean(true), false) => out.push(format!("--{long}").into()),
                    (toml::Value::Boolean(false), false) => {}
                    (_, false) => bail!(
                        "{}: `{long}` is a switch: give it true or false",
                        self.name()
                    ),
                    (toml::Value::String(s), true) => out.push(format!("--{long}={s}").into()),
                    (
                        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_),
                        true,
                    ) => {
                        out.push(format!("--{long}={}", scalar(v)).into());
                    }
                    (other, true) => bail!(
                        "{}: `{long}` cannot be {} (give a string or a number)",
                        self.name(),
                        other.type_str()
                    ),
                }
            }
        }
        Ok(out)
    }

    /// The command line with the file's settings added where neither the
    /// command line nor the environment gave the option.
    pub fn apply(
        &self,
        cli: &Command,
        argv: &[OsString],
        matches: &ArgMatches,
    ) -> Result<Vec<OsString>> {
        if self.table.is_empty() {
            return Ok(argv.to_vec());
        }
        let globals = self.arguments(cli, &self.table, matches)?;
        let mut sub_args = Vec::new();
        if let Some((name, sub_matches)) = matches.subcommand() {
            let (Some(sub), Some(table)) = (
                cli.find_subcommand(name),
                self.table.get(name).and_then(toml::Value::as_table),
            ) else {
                return Ok(splice(argv, globals, sub_args));
            };
            // A command with commands of its own (`project add`) takes no
            // settings: they are what it is told to do, not configuration.
            if sub.has_subcommands() {
                return Ok(splice(argv, globals, sub_args));
            }
            sub_args = self.arguments(sub, table, sub_matches)?;
        }
        Ok(splice(argv, globals, sub_args))
    }

    /// What `patchtrack config check` prints: every setting of the
    /// commands that run as services, its value and where it came from,
    /// secrets hidden.
    pub fn describe(&self, cli: &Command, database: (&str, &str)) -> String {
        let mut cli = cli.clone();
        cli.build();
        let cli = &cli;
        let mut out = format!("# configuration file: {}\n", self.name());
        out.push_str(&format!(
            "database = {:?}    # {}\n",
            hide_password(database.0),
            database.1
        ));
        for name in [
            "serve",
            "lmtp",
            "import-public-inbox",
            "parsemail",
            "parsearchive",
            "cron",
        ] {
            let Some(sub) = cli.find_subcommand(name) else {
                continue;
            };
            out.push_str(&format!("\n[{name}]\n"));
            let table = self.table.get(name).and_then(toml::Value::as_table);
            for arg in settable(sub) {
                let Some(long) = arg.get_long() else { continue };
                let env = arg.get_env().and_then(|e| {
                    std::env::var(e)
                        .ok()
                        .map(|v| (e.to_string_lossy().to_string(), v))
                });
                let (value, source) = if let Some((var, v)) = env {
                    (format!("{v:?}"), format!("environment {var}"))
                } else if let Some(v) = table.and_then(|t| t.get(long)) {
                    (shown(v), "file".to_string())
                } else {
                    let defaults: Vec<String> = arg
                        .get_default_values()
                        .iter()
                        .map(|d| {
                            let d = d.to_string_lossy();
                            if d.parse::<f64>().is_ok() || d.parse::<bool>().is_ok() {
                                d.to_string()
                            } else {
                                format!("{d:?}")
                            }
                        })
                        .collect();
                    match defaults.as_slice() {
                        [] if arg.get_num_args().is_some_and(|n| !n.takes_values()) => {
                            ("false".into(), "default".into())
                        }
                        [] => ("(unset)".into(), "default".into()),
                        [one] => (one.clone(), "default".into()),
                        many => (format!("[{}]", many.join(", ")), "default".into()),
                    }
                };
                out.push_str(&format!("{long} = {value}    # {source}\n"));
            }
        }
        let password = if std::env::var_os("PATCHTRACK_SMTP_PASSWORD").is_some() {
            "(set)"
        } else {
            "(unset)"
        };
        out.push_str(&format!(
            "\n# PATCHTRACK_SMTP_PASSWORD: {password} (read from the environment only)\n"
        ));
        out
    }
}

/// A scalar setting as a flag's value.
fn scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

/// A setting as `config check` shows it (strings quoted, arrays listed).
fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(shown).collect::<Vec<_>>().join(", ")
            )
        }
        other => scalar(other),
    }
}

/// `argv` with `globals` after the program name and `sub_args` at the end
/// (options may follow a command's positional arguments). A `--` in the
/// command line ends its options, so the settings go before it.
fn splice(argv: &[OsString], globals: Vec<OsString>, sub_args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(argv.len() + globals.len() + sub_args.len());
    out.extend(argv.first().cloned());
    out.extend(globals);
    let rest = argv.get(1..).unwrap_or_default();
    match rest.iter().position(|a| a == "--") {
        Some(i) => {
            out.extend(rest[..i].iter().cloned());
            out.extend(sub_args);
            out.extend(rest[i..].iter().cloned());
        }
        None => {
            out.extend(rest.iter().cloned());
            out.extend(sub_args);
        }
    }
    out
}

/// A database URL with its password (if any, in the authority or as a
/// `password=` parameter) replaced by `****`.
pub fn hide_password(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, host)) => match credentials.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
                None => url.to_string(),
            },
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    if let Some(query) = query {
        let parts: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parts.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_hidden() {
        assert_eq!(
            hide_password("postgres://pt:s3cret@db.example.org/pt"),
            "postgres://pt:****@db.example.org/pt"
        );
        assert_eq!(hide_password("postgres://pt@db/pt"), "postgres://pt@db/pt");
        assert_eq!(
            hide_password("sqlite://./patchtrack.db"),
            "sqlite://./patchtrack.db"
        );
    }

    #[test]
    fn settings_go_before_a_double_dash() {
        let argv: Vec<OsString> = ["pt", "parsearchive", "--", "-weird.mbox"]
            .iter()
            .map(OsString::from)
            .collect();
        let out = splice(
            &argv,
            vec!["--database=x".into()],
            vec!["--list-id=l".into()],
        );
        let out: Vec<&str> = out.iter().map(|s| s.to_str().unwrap_or_default()).collect();
        assert_eq!(
            out,
            [
                "pt",
                "--database=x",
                "parsearchive",
                "--list-id=l",
                "--",
                "-weird.mbox"
            ]
        );
    }
}
