//! `patchtrack-store`: the database of a patch tracker.
//!
//! Every SQL statement of patchtrack lives here, written once for SQLite
//! (the embedded default) and PostgreSQL (for sites that outgrow one
//! machine) through sqlx's `Any` driver; only the DDL is kept per backend,
//! in `migrations/sqlite` and `migrations/postgres` with the same versions.
//! Ingestion turns a mail into stored objects exactly as Patchwork does;
//! the read side serves the API and the pages in a fixed number of
//! statements per request.

#![warn(missing_docs)]

mod admin_log;
mod bundle;
mod cache;
mod check;
mod check_lifecycle;
mod comment;
mod confirmation;
mod cover;
mod db;
pub mod delegation;
mod dialect;
mod django_password;
mod error;
mod event;
pub mod field_lookup;
mod grouping;
pub mod import_patchwork;
mod inbox_mark;
mod ingest;
mod job;
mod lineage;
pub mod listing;
pub mod maintenance;
mod metrics;
mod notification;
mod outgoing_mail;
mod patch;
mod patch_update;
mod person;
mod project;
mod raw_mail;
mod refs;
mod reparse;
mod resolve;
mod series;
mod session;
mod sql;
mod state;
mod stats;
pub(crate) mod tag;
mod tally;
pub mod time;
mod token;
mod user;
mod webhook;

pub use admin_log::AdminAction;
pub use bundle::{Bundle, BundleChanges, BundleFilter, BundleOrder};
pub use check::{Check, CheckCounts, CheckFilter, CheckOrder, CheckState, NewCheck};
pub use check_lifecycle::{CheckChange, CheckRefused, EXTENDED_CATEGORIES, RecheckOf};
pub use comment::{Comment, CommentOrder, Parent};
pub use confirmation::{
    AccountRefused, CONFIRMATION_VALIDITY, Confirmation, ConfirmationKind, Expired, NewAccount,
    PASSWORD_RESET_VALIDITY, UnlinkRefused,
};
pub use cover::{Cover, CoverFilter, CoverOrder};
pub use db::{Backend, DEFAULT_GROUP_LIMIT, DEFAULT_URL, Store};
pub use delegation::DelegationRule;
pub use error::{Refused, Result, StoreError};
pub use event::{CheckRef, CommentRef, Event, EventFilter, EventListener, EventOrder};
pub use inbox_mark::InboxMark;
pub use ingest::{IngestOptions, Outcome};
pub use job::{DEFAULT_MAX_ATTEMPTS, Failure, Job, JobStatus, NewJob, RetryPolicy};
pub use lineage::{Evidence, Lineage, VersionRef};
pub use listing::{DateRange, Listed, Lookup, Page, Position};
pub use metrics::{MailCount, PoolState, QueueLength};
pub use notification::{
    ChangedPatch, Digest, NOTIFICATION_DELAY, NotificationRun, PendingNotification,
};
pub use outgoing_mail::{MAIL_JOB, OutgoingMail};
pub use patch::{Body, Patch, PatchFilter, PatchOrder};
pub use patch_update::PatchUpdate;
pub use person::{Merged, Person, PersonOrder};
pub use project::{NewProject, Project, ProjectOrder, ProjectUpdate};
pub use refs::{CoverRef, PatchRef, PersonRef, SeriesRef, UserRef};
pub use reparse::Reparsed;
pub use series::{Series, SeriesFilter, SeriesOrder, SeriesStates};
pub use session::{SESSION_MICROS, Session, random_hex};
pub use state::{Move, State};
pub use stats::{Counts, PatchStatus, SeriesSummary};
pub use tag::Tag;
pub use token::{NewToken, Scope, TokenCheck, TokenInfo};
pub use user::{
    Account, AccountChanges, NewUser, Principal, Settings, User, UserOrder, UserUpdate,
    hash_password,
};
pub use webhook::{
    Attempt, Delivery, DeliveryStatus, NewWebhook, WEBHOOK_JOB, Webhook, WebhookUpdate,
};
