//! `patchtrack`: the one binary of a patch tracker for mailing-list-driven
//! projects. Subcommands are thin: they parse arguments and call the
//! library crates.

mod input;
mod parse;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "patchtrack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse mail and print one JSON object per message; nothing is stored.
    Parse(parse::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Parse(args) => parse::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`| head`) is not an error worth reporting.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return std::process::ExitCode::SUCCESS;
            }
            eprintln!("patchtrack: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
