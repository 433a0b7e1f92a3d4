//! `patchtrack`: the one binary of a patch tracker for mailing-list-driven
//! projects. Subcommands are thin: they parse arguments and call the
//! library crates.

/// sqlx allocates for every value of every row it reads, and glibc's
/// allocator showed up as a tenth of both the import and the pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod affinity;
mod config;
mod dump;
mod import;
mod input;
mod lmtp;
mod mailin;
mod parse;
mod public_inbox;
mod repair;
mod shutdown;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use patchtrack_store::time::SiteZone;
use patchtrack_store::{Store, StoreError};

/// sysexits.h EX_TEMPFAIL: the MTA keeps the mail and retries.
const EX_TEMPFAIL: u8 = 75;

#[derive(Debug, Parser)]
#[command(name = "patchtrack", version, about)]
struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "PATCHTRACK_DATABASE_URL",
        default_value = patchtrack_store::DEFAULT_URL
    )]
    database: String,
    /// The configuration file (TOML; default /etc/patchtrack/config.toml
    /// when it exists). A flag or an environment variable beats the file.
    #[arg(long, global = true, env = "PATCHTRACK_CONFIG", value_name = "PATH")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse mail and print one JSON object per message; nothing is stored.
    Parse(parse::Args),
    /// Create or update the database schema.
    Migrate,
    /// Store one mail (standard input or FILE), for an MTA pipe.
    Parsemail(mailin::ParsemailArgs),
    /// Take mail over LMTP (RFC 2033), for Postfix's and Exim's LMTP
    /// transports: one reply per recipient once the mail is committed,
    /// 451 when the database is unavailable.
    Lmtp(lmtp::LmtpArgs),
    /// Store every mail of mbox files and Maildirs.
    Parsearchive(mailin::ParsearchiveArgs),
    /// Re-parse every stored mail of a project (after a parser fix) and
    /// update the names, contents, diffs and hashes derived from it.
    Reparse {
        /// The project's linkname.
        linkname: String,
    },
    /// Manage projects.
    #[command(subcommand)]
    Project(admin::ProjectCommand),
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Manage patch states.
    #[command(subcommand)]
    State(admin::StateCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Serve the REST API, downloads and pages over HTTP.
    Serve(ServeArgs),
    /// Recount the tags (Acked-by, ...) of patches from their message and
    /// comments.
    Retag(repair::IdsArgs),
    /// Recompute the hash of patches from their stored diff.
    Rehash(repair::IdsArgs),
    /// Replace every patch relation with the groups of a file (one line
    /// of space-separated patch ids per relation).
    Replacerelations(repair::ReplaceArgs),
    /// Write every patch of the site (or of projects named by list id)
    /// into a tar of one mbox per project, as Patchwork's dumparchive.
    Dumparchive(dump::Args),
    /// Queue the state-change notifications that are due, then expire old
    /// confirmations, once (what `serve` also does every minute, unless
    /// started with --no-cron).
    Cron(CronCommand),
    /// Move a Patchwork site (its SQLite or PostgreSQL database) into this
    /// empty database, keeping every id; exits non-zero when rows were
    /// left out (listed) or --verify finds a difference.
    ImportPatchwork(import::Args),
    /// Store the mail of a public-inbox archive (v1 or v2, every epoch),
    /// oldest first; a later run reads only the commits added since.
    ImportPublicInbox(public_inbox::ImportPublicInboxArgs),
    /// The configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent copy of the SQLite database to a new file while
    /// the site keeps running (for PostgreSQL, use pg_dump).
    Backup {
        /// The copy to write; it must not exist yet.
        dest: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration of the commands that run as
    /// services (each value with where it came from: the environment, the
    /// file or the default; secrets hidden); fails on a key the file
    /// should not have.
    Check,
}

#[derive(Debug, clap::Args)]
struct CronCommand {
    /// The site's external base URL, for the links in the mails (give
    /// `serve` the same).
    #[arg(
        long,
        env = "PATCHTRACK_BASE_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    base_url: String,
    #[command(flatten)]
    cron: CronArgs,
}

/// The periodic pass: notifications and expiry (Patchwork's cron).
#[derive(Debug, clap::Args)]
struct CronArgs {
    /// Minutes a submitter's newest state change must be old before they
    /// are mailed a digest of all their changed patches.
    #[arg(
        long,
        env = "PATCHTRACK_NOTIFICATION_DELAY_MINUTES",
        default_value_t = 10
    )]
    notification_delay_minutes: u64,
    /// Sender of the notifications (Patchwork's NOTIFICATION_FROM_EMAIL;
    /// default: the --mail-from of the serve that sends them).
    #[arg(long, env = "PATCHTRACK_NOTIFICATION_FROM")]
    notification_from: Option<String>,
    /// Days a confirmation link works; older ones, and registrations never
    /// confirmed in that time, are removed.
    #[arg(
        long,
        env = "PATCHTRACK_CONFIRMATION_VALIDITY_DAYS",
        default_value_t = 7
    )]
    confirmation_validity_days: u64,
}

impl CronArgs {
    fn config(&self) -> patchtrack_worker::cron::CronConfig {
        use std::time::Duration;
        patchtrack_worker::cron::CronConfig {
            notification_delay: Duration::from_secs(
                self.notification_delay_minutes.saturating_mul(60),
            ),
            confirmation_validity: Duration::from_secs(
                self.confirmation_validity_days.saturating_mul(86_400),
            ),
        }
    }

    /// The digest composer, with links under `base_url`.
    fn compose(&self, base_url: &str) -> patchtrack_worker::cron::Compose {
        let base = base_url.trim_end_matches('/').to_string();
        let from = self.notification_from.clone();
        std::sync::Arc::new(move |d| {
            patchtrack_web::notification::digest_mail(&base, from.as_deref(), d)
        })
    }
}

async fn cron(store: &Store, args: &CronCommand) -> anyhow::Result<()> {
    let report = patchtrack_worker::cron::run_pass(
        store,
        &args.cron.config(),
        &args.cron.compose(&args.base_url),
    )
    .await?;
    for (email, why) in &report.notifications.failed {
        eprintln!("Failed sending to {email}: {why}");
    }
    println!("{report}");
    Ok(())
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PATCHTRACK_LISTEN", default_value = "127.0.0.1:8000")]
    listen: String,
    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "PATCHTRACK_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds from a request's headers to its answer, body included.
    #[arg(long, env = "PATCHTRACK_REQUEST_TIMEOUT", default_value_t = 60)]
    request_timeout: u64,
    /// Seconds a connection may sit with no request and no traffic.
    #[arg(long, env = "PATCHTRACK_IDLE_TIMEOUT", default_value_t = 30)]
    idle_timeout: u64,
    /// Connections open at once (at most the file descriptor limit less 64;
    /// at the cap the oldest connection without a request makes room).
    #[arg(long, env = "PATCHTRACK_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Reverse proxies (addresses or ADDRESS/PREFIX ranges) whose
    /// X-Forwarded-For header names the client, for the login throttle
    /// and the logs; from anyone else the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "PATCHTRACK_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.1,::1",
        value_name = "CIDR"
    )]
    trusted_proxies: Vec<patchtrack_web::proxy::Cidr>,
    /// External base URL for absolute links (default: from each request's
    /// Host header; in mails, which answer no request, http://LISTEN).
    #[arg(long, env = "PATCHTRACK_BASE_URL")]
    base_url: Option<String>,
    /// On a database without projects, add the `qemu-devel` project and
    /// its sample patch, so there is something to look at.
    #[arg(long, env = "PATCHTRACK_DEMO")]
    demo: bool,
    /// The most patches a relation or a bundle may be given, and the most
    /// patches one API object lists (a series' patches, a relation's
    /// members); larger groups already stored are listed up to it.
    #[arg(long, env = "PATCHTRACK_GROUP_LIMIT", default_value_t = patchtrack_store::DEFAULT_GROUP_LIMIT,
          value_parser = at_least_one)]
    group_limit: usize,
    /// Turn off the XML-RPC API at `/xmlrpc/` (Patchwork's
    /// `ENABLE_XMLRPC = False`): it then answers 404.
    #[arg(long, env = "PATCHTRACK_NO_XMLRPC")]
    no_xmlrpc: bool,
    /// Zone to show the dates of events and checks in, and to read their
    /// `since`/`before` in (default: a site moved from Patchwork keeps its
    /// TIME_ZONE, as its API printed them; any other site, UTC)
    #[arg(long, env = "PATCHTRACK_TIME_ZONE")]
    time_zone: Option<String>,
    #[command(flatten)]
    mail: MailArgs,
    #[command(flatten)]
    cron: CronArgs,
    #[command(flatten)]
    webhooks: WebhookArgs,
    /// Seconds between two runs of the periodic pass (notifications,
    /// expiry) in this process.
    #[arg(long, env = "PATCHTRACK_CRON_INTERVAL_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    cron_interval_seconds: u64,
    /// Do not run the periodic pass here: the site runs `patchtrack cron`
    /// from its own timer (or another serve node runs it).
    #[arg(long, env = "PATCHTRACK_NO_CRON")]
    no_cron: bool,
}

/// Outgoing mail (account confirmations, password resets). The password
/// comes from `PATCHTRACK_SMTP_PASSWORD` only, so that it never shows in
/// the process list.
#[derive(Debug, clap::Args)]
struct MailArgs {
    /// SMTP server for outgoing mail. Without one, mail is queued in the
    /// database and sent once a server is configured.
    #[arg(long, env = "PATCHTRACK_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default: 25 with --smtp-tls none, 587 with starttls,
    /// 465 with tls).
    #[arg(long, env = "PATCHTRACK_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// Connection security: none, starttls (required, not opportunistic)
    /// or tls (SMTPS).
    #[arg(long, env = "PATCHTRACK_SMTP_TLS", default_value = "starttls")]
    smtp_tls: patchtrack_worker::mailer::TlsMode,
    /// SMTP login; its password is read from PATCHTRACK_SMTP_PASSWORD.
    #[arg(long, env = "PATCHTRACK_SMTP_USER")]
    smtp_user: Option<String>,
    /// Sender of every mail (Patchwork's DEFAULT_FROM_EMAIL).
    #[arg(
        long,
        env = "PATCHTRACK_MAIL_FROM",
        default_value = "Patchwork <patchwork@localhost>"
    )]
    mail_from: String,
}

impl MailArgs {
    /// The job worker of `serve`: it sends mail when a server is
    /// configured; without one, mail waits in the queue.
    fn worker(&self, store: &Store) -> anyhow::Result<patchtrack_worker::Worker> {
        let worker = patchtrack_worker::Worker::new(store.clone());
        let Some(host) = &self.smtp_host else {
            eprintln!(
                "patchtrack: no --smtp-host: outgoing mail is queued in the database \
                 and sent once an SMTP server is configured"
            );
            return Ok(worker);
        };
        let config = patchtrack_worker::mailer::SmtpConfig {
            host: host.clone(),
            port: self.smtp_port,
            tls: self.smtp_tls,
            user: self.smtp_user.clone(),
            password: std::env::var("PATCHTRACK_SMTP_PASSWORD").ok(),
            from: self.mail_from.clone(),
            timeout: std::time::Duration::from_secs(30),
        };
        let mailer = patchtrack_worker::mailer::Mailer::new(&config)?;
        eprintln!(
            "patchtrack: sending mail through {host}:{} ({:?}) from {}",
            config.port.unwrap_or(config.tls.default_port()),
            config.tls,
            self.mail_from
        );
        Ok(worker.with(mailer))
    }
}

/// Webhook deliveries (receivers are added per project by maintainers).
#[derive(Debug, clap::Args)]
struct WebhookArgs {
    /// Seconds one delivery may take, connection included.
    #[arg(long, env = "PATCHTRACK_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    webhook_timeout_seconds: u64,
    /// Seconds before the first retry of a failing receiver; each further
    /// retry waits twice as long, at most 10 minutes.
    #[arg(long, env = "PATCHTRACK_WEBHOOK_RETRY_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    webhook_retry_seconds: u64,
    /// Seconds a receiver may keep failing before it is disabled (its
    /// deliveries wait for a maintainer to turn it back on); 3 days.
    #[arg(long, env = "PATCHTRACK_WEBHOOK_DISABLE_AFTER_SECONDS", default_value_t = 259_200,
          value_parser = clap::value_parser!(u64).range(1..))]
    webhook_disable_after_seconds: u64,
}

impl WebhookArgs {
    /// The job handler that delivers events, rendering them as the API
    /// does with links under `base`.
    fn sender(
        &self,
        app: &patchtrack_web::App,
        base: &str,
    ) -> anyhow::Result<patchtrack_worker::webhook::WebhookSender> {
        use std::time::Duration;
        let config = patchtrack_worker::webhook::WebhookConfig {
            timeout: Duration::from_secs(self.webhook_timeout_seconds),
            disable_after: Duration::from_secs(self.webhook_disable_after_seconds),
            retry: patchtrack_store::RetryPolicy {
                base: Duration::from_secs(self.webhook_retry_seconds),
                cap: Duration::from_secs(600).max(Duration::from_secs(self.webhook_retry_seconds)),
            },
        };
        let (render_app, render_base) = (app.clone(), base.to_string());
        let render: patchtrack_worker::webhook::RenderEvent = std::sync::Arc::new(move |id| {
            let (app, base) = (render_app.clone(), render_base.clone());
            Box::pin(async move {
                patchtrack_web::api::event_body(&app, &base, id)
                    .await
                    .map_err(|e| format!("cannot render event {id}: {e:?}"))
            })
        });
        let notice_base = base.to_string();
        let notice: patchtrack_worker::webhook::DisabledNotice =
            std::sync::Arc::new(move |hook, reason, to| {
                patchtrack_web::notification::webhook_disabled_mail(&notice_base, hook, reason, to)
            });
        patchtrack_worker::webhook::WebhookSender::new(app.store.clone(), render, notice, config)
            .map_err(anyhow::Error::msg)
    }
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number of at least 1".into()),
    }
}

/// The sample patch `serve --demo` loads (a real QEMU patch).
const DEMO_MAIL: &[u8] = include_bytes!("../../../testdata/seed/seed-qemu-patch.mbox");

async fn open(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url).await?;
    store.ensure_migrated().await?;
    Ok(store)
}

async fn open_bulk(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect_bulk(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// The configuration as it was read, for `config check`.
struct Loaded {
    file: config::File,
    /// Where `--database` came from.
    database_source: &'static str,
}

async fn run(cli: &Cli, cores: &affinity::Cores, loaded: &Loaded) -> anyhow::Result<()> {
    match &cli.command {
        Command::Config(ConfigCommand::Check) => {
            print!(
                "{}",
                loaded
                    .file
                    .describe(&Cli::command(), (&cli.database, loaded.database_source))
            );
        }
        Command::Parse(args) => parse::run(args)?,
        Command::Migrate => {
            open(&cli.database).await?;
            println!("database is up to date");
        }
        Command::Parsemail(args) => {
            // One mail needs one connection; a second would cost another
            // open and schema read on SQLite, per delivered mail.
            let store = Store::connect_with(&cli.database, 1).await?;
            store.ensure_migrated().await?;
            mailin::parsemail(&store, args).await?;
        }
        Command::Parsearchive(args) => {
            mailin::parsearchive(&open_bulk(&cli.database).await?, args, cores).await?;
        }
        Command::Reparse { linkname } => {
            let store = open(&cli.database).await?;
            let project = store
                .project_by_linkname(linkname)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no project {linkname:?}"))?;
            let r = store.reparse(project.id).await?;
            println!(
                "{} mails re-parsed, {} submissions changed, {} series linked to an older version",
                r.examined, r.changed, r.linked
            );
            if r.imported > 0 {
                println!(
                    "{} submissions imported from Patchwork skipped: Patchwork kept no \
                     original mail, so they keep the fields it derived",
                    r.imported
                );
            }
        }
        Command::Project(cmd) => admin::project(&open(&cli.database).await?, cmd).await?,
        Command::User(cmd) => admin::user(&open(&cli.database).await?, cmd).await?,
        Command::State(cmd) => admin::state(&open(&cli.database).await?, cmd).await?,
        Command::Token(cmd) => admin::token(&open(&cli.database).await?, cmd).await?,
        Command::Serve(args) => serve(&cli.database, args).await?,
        Command::Lmtp(args) => lmtp::run(open(&cli.database).await?, args).await?,
        Command::Retag(args) => repair::retag(&open(&cli.database).await?, args).await?,
        Command::Rehash(args) => repair::rehash(&open(&cli.database).await?, args).await?,
        Command::Dumparchive(args) => dump::run(&open(&cli.database).await?, args).await?,
        Command::Cron(args) => cron(&open(&cli.database).await?, args).await?,
        Command::ImportPatchwork(args) => {
            if !import::run(&open_bulk(&cli.database).await?, args).await? {
                anyhow::bail!("the import is incomplete or differs from its source (see above)");
            }
        }
        Command::ImportPublicInbox(args) => {
            public_inbox::run(&open_bulk(&cli.database).await?, args, cores).await?;
        }
        Command::Backup { dest } => {
            // Read-only: a mistyped path must fail, not back up a new,
            // empty database.
            let url = match cli.database.starts_with("sqlite:") && !cli.database.contains("mode=") {
                true if cli.database.contains('?') => format!("{}&mode=ro", cli.database),
                true => format!("{}?mode=ro", cli.database),
                false => cli.database.clone(),
            };
            let store = Store::connect_with(&url, 1).await?;
            let started = std::time::Instant::now();
            store.backup_to(dest).await?;
            let size = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
            println!(
                "backup written to {} ({size} bytes, {:.1} s)",
                dest.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Replacerelations(args) => {
            repair::replace_relations(&open(&cli.database).await?, args).await?;
        }
    }
    Ok(())
}

impl ServeArgs {
    fn limits(&self) -> patchtrack_web::server::Limits {
        use std::time::Duration;
        patchtrack_web::server::Limits {
            header_timeout: Duration::from_secs(self.header_timeout.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            max_connections: self.max_connections.min(descriptor_budget()).max(1),
            trusted_proxies: self.trusted_proxies.clone().into(),
        }
    }
}

/// Connections the process can hold: its file descriptor limit less room
/// for the database, the listener and the logs. Past it, accepting fails
/// for everyone.
fn descriptor_budget() -> usize {
    #[cfg(target_os = "linux")]
    if let Ok((soft, _)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    {
        return usize::try_from(soft.saturating_sub(64))
            .unwrap_or(usize::MAX)
            .max(1);
    }
    usize::MAX
}

async fn serve(database: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let store = Store::connect_serving(database)
        .await?
        .with_group_limit(args.group_limit);
    store.ensure_migrated().await?;
    if args.demo && store.projects().await?.is_empty() {
        store
            .add_project(&patchtrack_store::NewProject {
                linkname: "qemu-devel".into(),
                name: "QEMU Development".into(),
                listid: "qemu-devel.nongnu.org".into(),
                listemail: "qemu-devel@nongnu.org".into(),
                ..patchtrack_store::NewProject::default()
            })
            .await?;
        let outcome = store
            .ingest(DEMO_MAIL, &patchtrack_store::IngestOptions::default())
            .await?;
        eprintln!("patchtrack: demo project qemu-devel added with its sample patch ({outcome:?})");
        // Someone to log in as: a maintainer of the demo project. Only in
        // a database that had no project, so never on a real site.
        if store.user_by_username("demo").await?.is_none() {
            store
                .add_user(&patchtrack_store::NewUser {
                    username: "demo".into(),
                    email: "demo@example.org".into(),
                    password: Some("demo".into()),
                    superuser: false,
                    maintainer_of: vec!["qemu-devel".into()],
                })
                .await?;
            eprintln!("patchtrack: demo maintainer added: log in as demo, password demo");
        }
    }
    // Planner statistics for a database filled by parsemail alone, in the
    // background: the first requests need not wait for them.
    let analyzer = store.clone();
    tokio::spawn(async move {
        if let Err(e) = analyzer.refresh_statistics().await {
            tracing::warn!(error = %e, "could not refresh planner statistics");
        }
    });
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    if args.no_cron {
        eprintln!("patchtrack: --no-cron: notifications and expiry wait for `patchtrack cron`");
    } else {
        let base = args
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let scheduler = patchtrack_worker::cron::Scheduler::new(
            store.clone(),
            args.cron.config(),
            args.cron.compose(&base),
            std::time::Duration::from_secs(args.cron_interval_seconds),
        );
        tokio::spawn(scheduler.run());
    }
    let zone = match &args.time_zone {
        Some(name) => Some(name.clone()),
        None => store.imported_time_zone().await?,
    };
    let zone = match zone {
        Some(name) => SiteZone::named(&name).map_err(anyhow::Error::msg)?,
        None => SiteZone::utc(),
    };
    eprintln!("patchtrack: serving http://{addr}/ (API at http://{addr}/api/)");
    if zone.name() != "UTC" {
        eprintln!(
            "patchtrack: event and check dates in {} (the Patchwork site's TIME_ZONE)",
            zone.name()
        );
    }
    let app = patchtrack_web::App {
        store: store.clone(),
        base_url: args.base_url.clone(),
        logins: Default::default(),
        xmlrpc: !args.no_xmlrpc,
        zone,
        events: Default::default(),
        metrics: Default::default(),
    };
    let base = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let worker = args
        .mail
        .worker(&store)?
        .with(args.webhooks.sender(&app, &base)?)
        .with_pace(patchtrack_worker::Pace {
            // Webhook jobs queued by parsemail in another process are found
            // by polling: once a second keeps their delay under that.
            poll: std::time::Duration::from_secs(1),
            ..patchtrack_worker::Pace::default()
        });
    tokio::spawn(worker.run());
    app.events.start(&app.store);
    let mut stop = shutdown::on_signal()?;
    let hub = app.events.clone();
    patchtrack_web::serve(app, listener, args.limits(), async move {
        shutdown::requested(&mut stop).await;
        // Event streams never finish on their own.
        hub.close();
    })
    .await?;
    eprintln!("patchtrack: stopped");
    Ok(())
}

/// Parses the command line, then again with the configuration file's
/// settings added (see `config`). The error says whether the command is
/// one an MTA runs.
fn parse_with_config() -> Result<(Cli, Loaded), (anyhow::Error, bool)> {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Built, so that every option knows whether it takes a value.
    let mut command = Cli::command();
    command.build();
    let first = command
        .clone()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    let mta = matches!(first.subcommand_name(), Some("parsemail"));
    let named = first.get_one::<std::path::PathBuf>("config").cloned();
    let file = config::load(config::locate(named.as_deref()), &command).map_err(|e| (e, mta))?;
    let database_source = match first.value_source("database") {
        Some(clap::parser::ValueSource::CommandLine) => "command line",
        Some(clap::parser::ValueSource::EnvVariable) => "environment PATCHTRACK_DATABASE_URL",
        _ if file.has_database() => "file",
        _ => "default",
    };
    let argv = file.apply(&command, &argv, &first).map_err(|e| (e, mta))?;
    let matches = command.try_get_matches_from(&argv).map_err(|e| {
        let e = anyhow::anyhow!("{}", e.render().to_string().trim_end());
        (e.context("with the configuration file's settings"), mta)
    })?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| (anyhow::Error::from(e), mta))?;
    Ok((
        cli,
        Loaded {
            file,
            database_source,
        },
    ))
}

fn main() -> ExitCode {
    // PATCHTRACK_LOG filters (default: warnings, and one line per HTTP
    // request); PATCHTRACK_LOG_FORMAT=json writes one JSON object per line
    // for a log collector.
    let filter = tracing_subscriber::EnvFilter::try_from_env("PATCHTRACK_LOG")
        // sqlx's slow-statement warning prints the whole statement: a
        // screenful per batch insert of an import.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,sqlx::query=error,request=info")
        });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("PATCHTRACK_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }
    let (cli, loaded) = match parse_with_config() {
        Ok(parsed) => parsed,
        Err((e, mta)) => {
            eprintln!("patchtrack: {e:#}");
            // An MTA bounces mail on a plain failure: a broken
            // configuration must make it keep the mail instead.
            return if mta {
                ExitCode::from(EX_TEMPFAIL)
            } else {
                ExitCode::FAILURE
            };
        }
    };
    // An import keeps its store traffic on one core (see `affinity`),
    // pinned before the runtime and the connection threads exist.
    let cores = if matches!(
        cli.command,
        Command::Parsearchive(_) | Command::ImportPublicInbox(_)
    ) {
        affinity::pin_here()
    } else {
        affinity::unpinned()
    };
    // The server uses every core; one-shot commands need one thread.
    let runtime = if matches!(cli.command, Command::Serve(_) | Command::Lmtp(_)) {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let result = runtime
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(&cli, &cores, &loaded)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`| head`) is not an error worth reporting.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("patchtrack: {e:#}");
            let transient = e.chain().any(|c| {
                c.downcast_ref::<StoreError>()
                    .is_some_and(StoreError::is_transient)
            });
            if transient {
                ExitCode::from(EX_TEMPFAIL)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
