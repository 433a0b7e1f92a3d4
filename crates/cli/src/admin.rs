//! Site administration: projects, users and states.

use anyhow::Result;
use patchtrack_store::{NewProject, NewUser, Store};

/// `patchtrack project ...`
#[derive(Debug, clap::Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Add(ProjectFields),
    /// List projects.
    List,
    /// Change a project's fields (only those given).
    Edit(ProjectEdit),
}

/// Fields of `project add`.
#[derive(Debug, clap::Args)]
pub struct ProjectFields {
    /// URL name (a slug).
    #[arg(long)]
    linkname: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// The List-Id of the list, without angle brackets.
    #[arg(long)]
    listid: String,
    /// The list's posting address.
    #[arg(long, default_value = "")]
    listemail: String,
    /// Regex on the subject choosing this project among those of one list.
    #[arg(long, default_value = "")]
    subject_match: String,
    /// Project home page.
    #[arg(long, default_value = "")]
    web_url: String,
    /// Repository URL.
    #[arg(long, default_value = "")]
    scm_url: String,
    /// Repository web view.
    #[arg(long, default_value = "")]
    webscm_url: String,
    /// Mailing-list archive.
    #[arg(long, default_value = "")]
    list_archive_url: String,
    /// Archive URL of a message, `{}` for the message-id.
    #[arg(long, default_value = "")]
    list_archive_url_format: String,
    /// Commit URL, `{}` for the commit id.
    #[arg(long, default_value = "")]
    commit_url_format: String,
}

/// Fields of `project edit`.
#[derive(Debug, clap::Args)]
pub struct ProjectEdit {
    /// The project to change.
    linkname: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// New list id.
    #[arg(long)]
    listid: Option<String>,
    /// New list address.
    #[arg(long)]
    listemail: Option<String>,
    /// New subject filter.
    #[arg(long)]
    subject_match: Option<String>,
    /// New home page.
    #[arg(long)]
    web_url: Option<String>,
    /// New repository URL.
    #[arg(long)]
    scm_url: Option<String>,
    /// New repository web view.
    #[arg(long)]
    webscm_url: Option<String>,
    /// New archive URL.
    #[arg(long)]
    list_archive_url: Option<String>,
    /// New archive URL format.
    #[arg(long)]
    list_archive_url_format: Option<String>,
    /// New commit URL format.
    #[arg(long)]
    commit_url_format: Option<String>,
    /// Count A/R/T tags (true/false).
    #[arg(long)]
    use_tags: Option<bool>,
    /// Show series dependencies in the API (true/false).
    #[arg(long)]
    show_dependencies: Option<bool>,
    /// Mail state changes to submitters (true/false).
    #[arg(long)]
    send_notifications: Option<bool>,
    /// Mark an older version's open patches superseded once a newer
    /// version is complete (true/false).
    #[arg(long)]
    auto_supersede: Option<bool>,
}

/// Runs a project command.
pub async fn project(store: &Store, cmd: &ProjectCommand) -> Result<()> {
    match cmd {
        ProjectCommand::Add(f) => {
            let p = store
                .add_project(&NewProject {
                    linkname: f.linkname.clone(),
                    name: f.name.clone(),
                    listid: f.listid.clone(),
                    listemail: f.listemail.clone(),
                    subject_match: f.subject_match.clone(),
                    web_url: f.web_url.clone(),
                    scm_url: f.scm_url.clone(),
                    webscm_url: f.webscm_url.clone(),
                    list_archive_url: f.list_archive_url.clone(),
                    list_archive_url_format: f.list_archive_url_format.clone(),
                    commit_url_format: f.commit_url_format.clone(),
                })
                .await?;
            println!("project {} added (id {})", p.linkname, p.id);
        }
        ProjectCommand::List => {
            for p in store.projects().await? {
                println!("{}\t{}\t{}\t{}", p.id, p.linkname, p.listid, p.name);
            }
        }
        ProjectCommand::Edit(e) => {
            let mut p = store
                .project_by_linkname(&e.linkname)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no project {:?}", e.linkname))?;
            let set = |dst: &mut String, v: &Option<String>| {
                if let Some(v) = v {
                    dst.clone_from(v);
                }
            };
            set(&mut p.name, &e.name);
            set(&mut p.listid, &e.listid);
            set(&mut p.listemail, &e.listemail);
            set(&mut p.subject_match, &e.subject_match);
            set(&mut p.web_url, &e.web_url);
            set(&mut p.scm_url, &e.scm_url);
            set(&mut p.webscm_url, &e.webscm_url);
            set(&mut p.list_archive_url, &e.list_archive_url);
            set(&mut p.list_archive_url_format, &e.list_archive_url_format);
            set(&mut p.commit_url_format, &e.commit_url_format);
            if let Some(v) = e.use_tags {
                p.use_tags = v;
            }
            if let Some(v) = e.show_dependencies {
                p.show_dependencies = v;
            }
            if let Some(v) = e.send_notifications {
                p.send_notifications = v;
            }
            if let Some(v) = e.auto_supersede {
                p.auto_supersede = v;
            }
            store.update_project(&p).await?;
            println!("project {} updated", p.linkname);
        }
    }
    Ok(())
}

/// `patchtrack user ...`
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        /// Login name.
        username: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Password (omit for token-only accounts).
        #[arg(long)]
        password: Option<String>,
        /// Linkname of a project the user maintains (repeatable).
        #[arg(long = "maintainer-of", value_name = "LINKNAME")]
        maintainer_of: Vec<String>,
        /// Make the user a site administrator.
        #[arg(long)]
        superuser: bool,
    },
    /// Change a user: password, maintained projects, administrator flag.
    Edit {
        /// Login name.
        username: String,
        /// New password.
        #[arg(long)]
        password: Option<String>,
        /// Linkname of a project the user starts maintaining (repeatable).
        #[arg(long = "maintainer-of", value_name = "LINKNAME")]
        maintainer_of: Vec<String>,
        /// Linkname of a project the user stops maintaining (repeatable).
        #[arg(long = "not-maintainer-of", value_name = "LINKNAME")]
        not_maintainer_of: Vec<String>,
        /// Site administrator or not.
        #[arg(long, value_name = "true|false")]
        superuser: Option<bool>,
    },
}

/// Runs a user command.
pub async fn user(store: &Store, cmd: &UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add {
            username,
            email,
            password,
            maintainer_of,
            superuser,
        } => {
            let id = store
                .add_user(&NewUser {
                    username: username.clone(),
                    email: email.clone(),
                    password: password.clone(),
                    superuser: *superuser,
                    maintainer_of: maintainer_of.clone(),
                })
                .await?;
            println!("user {username} added (id {id})");
        }
        UserCommand::Edit {
            username,
            password,
            maintainer_of,
            not_maintainer_of,
            superuser,
        } => {
            store
                .change_account(
                    username,
                    &patchtrack_store::AccountChanges {
                        password: password.clone(),
                        maintain: maintainer_of.clone(),
                        stop_maintaining: not_maintainer_of.clone(),
                        superuser: *superuser,
                    },
                )
                .await?;
            println!("user {username} changed");
        }
    }
    Ok(())
}

/// `patchtrack state ...`
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List states in order.
    List,
    /// Add a state after the existing ones.
    Add {
        /// Display name; the slug is derived from it.
        name: String,
        /// Patches in this state need no further action.
        #[arg(long)]
        no_action_required: bool,
    },
}

/// Runs a state command.
pub async fn state(store: &Store, cmd: &StateCommand) -> Result<()> {
    match cmd {
        StateCommand::List => {
            for s in store.states().await? {
                let action = if s.action_required {
                    "action required"
                } else {
                    ""
                };
                println!("{}\t{}\t{}\t{}", s.id, s.slug, s.name, action);
            }
        }
        StateCommand::Add {
            name,
            no_action_required,
        } => {
            let s = store.add_state(name, !no_action_required).await?;
            println!("state {} added (id {})", s.slug, s.id);
        }
    }
    Ok(())
}

/// `patchtrack token ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it; only its hash is
    /// stored. Without --scope or --name it is the user's profile token
    /// (Patchwork's one per user, replacing the previous one, all the
    /// user's rights); with them, a named token beside it.
    Create {
        /// The user.
        username: String,
        /// What it may do: read (nothing else), checks (post and update
        /// checks on the --project projects, also for a user who does not
        /// maintain them), or write (all the user may do).
        #[arg(long, value_parser = ["read", "checks", "write"])]
        scope: Option<String>,
        /// A project (linkname) a checks token posts on; repeat for more.
        #[arg(long = "project")]
        projects: Vec<String>,
        /// What the token is for, shown with it (default: the scope).
        #[arg(long)]
        name: Option<String>,
        /// Days until it stops working (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36500))]
        expires_days: Option<u32>,
    },
    /// List a user's named tokens.
    List {
        /// The user.
        username: String,
    },
    /// Revoke one of a user's named tokens.
    Revoke {
        /// The user.
        username: String,
        /// The token's id (from `token list`).
        id: i64,
    },
}

/// Runs a token command.
pub async fn token(store: &Store, cmd: &TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create {
            username,
            scope: None,
            name: None,
            projects,
            expires_days: None,
        } if projects.is_empty() => {
            let token = store.create_token(username).await?;
            println!("{token}");
        }
        TokenCommand::Create {
            username,
            scope,
            projects,
            name,
            expires_days,
        } => {
            let user = user_id(store, username).await?;
            let scope_name = scope.as_deref().unwrap_or("write");
            let scope = match scope_name {
                "read" => patchtrack_store::Scope::Read,
                "checks" => {
                    let mut ids = Vec::new();
                    for l in projects {
                        let p = store
                            .project_by_linkname(l)
                            .await?
                            .ok_or_else(|| anyhow::anyhow!("no project {l:?}"))?;
                        if !ids.contains(&p.id) {
                            ids.push(p.id);
                        }
                    }
                    if ids.is_empty() {
                        anyhow::bail!("a checks token needs --project");
                    }
                    patchtrack_store::Scope::Checks(ids)
                }
                _ => patchtrack_store::Scope::Write,
            };
            if !projects.is_empty() && scope_name != "checks" {
                anyhow::bail!("--project is for --scope checks");
            }
            let expires = expires_days.map(|d| {
                patchtrack_store::time::now().saturating_add(i64::from(d) * 86_400_000_000)
            });
            let (_, token) = store
                .create_scoped_token(&patchtrack_store::NewToken {
                    user_id: user,
                    name: name.clone().unwrap_or_else(|| scope_name.to_string()),
                    scope,
                    expires,
                })
                .await?;
            println!("{token}");
        }
        TokenCommand::List { username } => {
            let user = user_id(store, username).await?;
            for t in store.tokens_of(user).await? {
                let projects = match &t.scope {
                    patchtrack_store::Scope::Checks(ids) => {
                        let mut names = Vec::new();
                        for id in ids {
                            names.push(
                                store
                                    .project_by_id_or_linkname(&id.to_string())
                                    .await?
                                    .map_or_else(|| id.to_string(), |p| p.linkname),
                            );
                        }
                        format!(" on {}", names.join(","))
                    }
                    _ => String::new(),
                };
                let expires = t
                    .expires
                    .map(|e| format!(", expires {}", patchtrack_store::time::iso(e)))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}{projects}{expires}",
                    t.id,
                    t.name,
                    t.scope.name()
                );
            }
        }
        TokenCommand::Revoke { username, id } => {
            let user = user_id(store, username).await?;
            if !store.revoke_token(user, *id).await? {
                anyhow::bail!("{username} has no named token {id}");
            }
        }
    }
    Ok(())
}

async fn user_id(store: &Store, username: &str) -> Result<i64> {
    Ok(store
        .user_by_username(username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {username:?}"))?
        .user
        .id)
}
