//! `patchtrack-store`: the database of a patch tracker.
//!
//! Every SQL statement of patchtrack lives here, written once for SQLite
//! (the embedded default) and PostgreSQL (for sites that outgrow one
//! machine) through sqlx's `Any` driver; only the DDL is kept per backend,
//! in `migrations/sqlite` and `migrations/postgres` with the same versions.
//! Ingestion turns a mail into stored objects exactly as Patchwork does.

#![warn(missing_docs)]

mod cache;
mod db;
pub mod delegation;
mod dialect;
mod error;
mod event;
mod ingest;
mod person;
mod project;
mod reparse;
mod series;
mod state;
mod stats;
pub(crate) mod tag;
pub mod time;
mod user;

pub use db::{Backend, DEFAULT_URL, Store};
pub use error::{Result, StoreError};
pub use ingest::{IngestOptions, Outcome};
pub use project::{NewProject, Project};
pub use reparse::Reparsed;
pub use state::State;
pub use stats::{Counts, PatchStatus, SeriesSummary};
pub use user::{NewUser, hash_password};
