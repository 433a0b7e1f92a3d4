//! The methods of Patchwork's XML-RPC API (reference §10): the same
//! names, arguments, filters, struct fields in the same order and the
//! same faults, over the store.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use patchtrack_mail::export;
use patchtrack_store::field_lookup::{
    CheckQuery, Condition, FieldOp, Operand, PatchColumn, PatchQuery, Take,
};
use patchtrack_store::time::SiteZone;
use patchtrack_store::{
    Check, CheckState, NewCheck, Patch, PatchUpdate, Person, Principal, Project, State, StoreError,
    time,
};

use super::wire::{Call, Value};
use crate::App;

/// A fault: Python's exception class and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    class: String,
    message: String,
}

impl Fault {
    /// A fault of exception class `class`.
    pub fn new(class: impl Into<String>, message: impl Into<String>) -> Fault {
        Fault {
            class: class.into(),
            message: message.into(),
        }
    }

    /// Patchwork's plain `Exception`.
    fn exception(message: impl Into<String>) -> Fault {
        Fault::new("Exception", message)
    }

    /// Django's `Model.DoesNotExist`.
    fn does_not_exist(model: &str) -> Fault {
        Fault::new(
            format!("patchwork.models.{model}.DoesNotExist"),
            format!("{model} matching query does not exist."),
        )
    }

    /// The fault string: `<class 'Type'>:message`.
    pub fn text(&self) -> String {
        format!("<class '{}'>:{}", self.class, self.message)
    }
}

impl From<StoreError> for Fault {
    /// A store failure is logged and answered as a fault without details
    /// (Patchwork would leak its traceback's last line).
    fn from(e: StoreError) -> Fault {
        tracing::error!(error = %e, "xml-rpc call failed");
        Fault::exception("internal error; it has been logged")
    }
}

type Reply = Result<Value, Fault>;

/// A method's Python signature, for the arity checks Python makes.
struct Signature {
    name: &'static str,
    /// Every parameter, the authenticated user first for write methods.
    params: &'static [&'static str],
    /// How many have no default.
    required: usize,
    /// Reads credentials (the user is then the first argument).
    auth: bool,
    /// The documentation page's line.
    doc: &'static str,
}

const METHODS: &[Signature] = &[
    Signature {
        name: "pw_rpc_version",
        params: &[],
        required: 0,
        auth: false,
        doc: "The XML-RPC API's version: (1, 3, 0).",
    },
    Signature {
        name: "project_list",
        params: &["search_str", "max_count"],
        required: 0,
        auth: false,
        doc: "Projects whose linkname contains search_str (any case), by linkname.",
    },
    Signature {
        name: "project_get",
        params: &["project_id"],
        required: 1,
        auth: false,
        doc: "A project by id, or {}.",
    },
    Signature {
        name: "person_list",
        params: &["search_str", "max_count"],
        required: 0,
        auth: false,
        doc: "People whose name or address contains search_str (any case).",
    },
    Signature {
        name: "person_get",
        params: &["person_id"],
        required: 1,
        auth: false,
        doc: "A person by id, or {}.",
    },
    Signature {
        name: "patch_list",
        params: &["filt"],
        required: 0,
        auth: false,
        doc: "Patches matching a struct of field[__lookup] filters and max_count, by date.",
    },
    Signature {
        name: "patch_get",
        params: &["patch_id"],
        required: 1,
        auth: false,
        doc: "A patch by id, or {}.",
    },
    Signature {
        name: "patch_get_by_hash",
        params: &["hash"],
        required: 1,
        auth: false,
        doc: "The patch with this hash, or {}.",
    },
    Signature {
        name: "patch_get_by_project_hash",
        params: &["project", "hash"],
        required: 2,
        auth: false,
        doc: "The patch of project (linkname) with this hash, or {}.",
    },
    Signature {
        name: "patch_get_mbox",
        params: &["patch_id"],
        required: 1,
        auth: false,
        doc: "A patch as an mbox message, or ''.",
    },
    Signature {
        name: "patch_get_diff",
        params: &["patch_id"],
        required: 1,
        auth: false,
        doc: "A patch's diff, or ''.",
    },
    Signature {
        name: "patch_set",
        params: &["user", "patch_id", "params"],
        required: 3,
        auth: true,
        doc: "Sets state (a state id), commit_ref and archived of a patch; needs a login.",
    },
    Signature {
        name: "state_list",
        params: &["search_str", "max_count"],
        required: 0,
        auth: false,
        doc: "States whose name contains search_str (any case), by ordering.",
    },
    Signature {
        name: "state_get",
        params: &["state_id"],
        required: 1,
        auth: false,
        doc: "A state by id, or {}.",
    },
    Signature {
        name: "check_list",
        params: &["filt"],
        required: 0,
        auth: false,
        doc: "Checks matching a struct of id, user, project_id, patch_id and max_count.",
    },
    Signature {
        name: "check_get",
        params: &["check_id"],
        required: 1,
        auth: false,
        doc: "A check by id, or {}.",
    },
    Signature {
        name: "check_create",
        params: &[
            "user",
            "patch_id",
            "context",
            "state",
            "target_url",
            "description",
        ],
        required: 4,
        auth: true,
        doc: "Posts a check (state: pending, success, warning or fail); needs a login.",
    },
    Signature {
        name: "patch_check_get",
        params: &["patch_id"],
        required: 1,
        auth: false,
        doc: "A patch's combined check state, count and current checks, or {}.",
    },
];

/// Python's `TypeError` for a call with the wrong number of arguments.
fn arity(sig: &Signature, given: usize) -> Result<(), Fault> {
    let total = sig.params.len();
    if given > total {
        let takes = if sig.required == total {
            let s = if total == 1 { "" } else { "s" };
            format!("{total} positional argument{s}")
        } else {
            format!("from {} to {total} positional arguments", sig.required)
        };
        let was = if given == 1 { "was" } else { "were" };
        return Err(Fault::new(
            "TypeError",
            format!("{}() takes {takes} but {given} {was} given", sig.name),
        ));
    }
    if given < sig.required {
        let missing: Vec<String> = sig.params[given..sig.required]
            .iter()
            .map(|p| format!("'{p}'"))
            .collect();
        let n = missing.len();
        let list = match missing.as_slice() {
            [one] => one.clone(),
            [a, b] => format!("{a} and {b}"),
            [init @ .., last] => format!("{}, and {last}", init.join(", ")),
            [] => String::new(),
        };
        let s = if n == 1 { "" } else { "s" };
        return Err(Fault::new(
            "TypeError",
            format!(
                "{}() missing {n} required positional argument{s}: {list}",
                sig.name
            ),
        ));
    }
    Ok(())
}

/// Runs one call.
pub async fn dispatch(app: &App, headers: &HeaderMap, client: Option<IpAddr>, call: Call) -> Reply {
    let Some(sig) = METHODS.iter().find(|m| m.name == call.method) else {
        return Err(Fault::exception(format!(
            "method \"{}\" is not supported",
            call.method
        )));
    };
    let mut args = call.params;
    let user = if sig.auth {
        Some(authenticate(app, headers, client).await?)
    } else {
        None
    };
    arity(sig, args.len() + usize::from(user.is_some()))?;
    let arg = |args: &mut Vec<Value>, i: usize| -> Option<Value> {
        (i < args.len()).then(|| std::mem::replace(&mut args[i], Value::Nil))
    };
    let m = Methods { app };
    match (sig.name, user) {
        ("pw_rpc_version", _) => Ok(Value::Array(vec![
            Value::Int(1),
            Value::Int(3),
            Value::Int(0),
        ])),
        ("project_list", _) => m.project_list(arg(&mut args, 0), arg(&mut args, 1)).await,
        ("project_get", _) => m.project_get(&args[0]).await,
        ("person_list", _) => m.person_list(arg(&mut args, 0), arg(&mut args, 1)).await,
        ("person_get", _) => m.person_get(&args[0]).await,
        ("patch_list", _) => m.patch_list(arg(&mut args, 0)).await,
        ("patch_get", _) => m.patch_get(&args[0]).await,
        ("patch_get_by_hash", _) => m.patch_get_by_hash(None, &args[0]).await,
        ("patch_get_by_project_hash", _) => m.patch_get_by_hash(Some(&args[0]), &args[1]).await,
        ("patch_get_mbox", _) => m.patch_get_mbox(&args[0]).await,
        ("patch_get_diff", _) => m.patch_get_diff(&args[0]).await,
        ("patch_set", Some(who)) => m.patch_set(&who, &args[0], &args[1]).await,
        ("state_list", _) => m.state_list(arg(&mut args, 0), arg(&mut args, 1)).await,
        ("state_get", _) => m.state_get(&args[0]).await,
        ("check_list", _) => m.check_list(arg(&mut args, 0)).await,
        ("check_get", _) => m.check_get(&args[0]).await,
        ("check_create", Some(who)) => {
            let (url, description) = (arg(&mut args, 3), arg(&mut args, 4));
            m.check_create(&who, &args[0], &args[1], &args[2], url, description)
                .await
        }
        ("patch_check_get", _) => m.patch_check_get(&args[0]).await,
        (name, _) => Err(Fault::exception(format!(
            "method \"{name}\" is not supported"
        ))),
    }
}

/// HTTP Basic, with Patchwork's fault texts, through the login throttle.
async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<Principal, Fault> {
    use base64::Engine;
    let value = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if value.is_empty() {
        return Err(Fault::exception("No authentication credentials given"));
    }
    let Some(encoded) = value.trim().strip_prefix("Basic ") else {
        return Err(Fault::exception("Authentication scheme not supported"));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Err(Fault::exception("Invalid authentication credentials"));
    };
    if let Some(wait) = app.logins.wait(user, client) {
        return Err(Fault::exception(format!(
            "Too many failed logins: retry in {} seconds",
            crate::throttle::retry_after(wait)
        )));
    }
    match app.store.authenticate_password(user, password).await? {
        Some(p) => {
            app.logins.succeeded(user);
            Ok(p)
        }
        None => {
            app.logins.failed(user, client);
            Err(Fault::exception("Invalid username/password"))
        }
    }
}

/// An object id as Django's `get(id=...)` reads it: an integer, a
/// boolean, or a string of one; None (Python's) finds nothing.
fn object_id(v: &Value) -> Result<Option<i64>, Fault> {
    match v {
        Value::Int(n) => Ok(Some(*n)),
        Value::Bool(b) => Ok(Some(i64::from(*b))),
        Value::Nil => Ok(None),
        Value::Str(s) => s.trim().parse().map(Some).map_err(|_| {
            Fault::new(
                "ValueError",
                format!("Field 'id' expected a number but got '{s}'."),
            )
        }),
        other => Err(Fault::new(
            "TypeError",
            format!(
                "Field 'id' expected a number but got {}.",
                other.python_type()
            ),
        )),
    }
}

/// The text of an argument that Patchwork uses as a string.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `search_str`: searched for only when truthy.
fn search(v: Option<Value>) -> String {
    v.as_ref().and_then(text).unwrap_or_default()
}

/// `max_count` (default 0), which Python compares with 0.
fn max_count(v: Option<Value>) -> Result<Take, Fault> {
    match v {
        None => Ok(Take::All),
        Some(Value::Int(n)) => Ok(Take::from_max_count(n)),
        Some(Value::Bool(b)) => Ok(Take::from_max_count(i64::from(b))),
        Some(other) => Err(Fault::new(
            "TypeError",
            format!(
                "'>' not supported between instances of '{}' and 'int'",
                other.python_type()
            ),
        )),
    }
}

/// Applies `take` to an in-memory list already in order.
fn taken<T>(mut items: Vec<T>, take: Take) -> Vec<T> {
    match take {
        Take::All => items,
        Take::First(n) => {
            items.truncate(usize::try_from(n).unwrap_or(usize::MAX));
            items
        }
        Take::Last(n) => {
            let keep = usize::try_from(n).unwrap_or(usize::MAX);
            let skip = items.len().saturating_sub(keep);
            items.split_off(skip)
        }
    }
}

/// Python's `str(datetime)`: a space, and `.ffffff` only when needed.
fn python_date(t: time::Micros) -> String {
    time::iso(t).replacen('T', " ", 1)
}

fn project_struct(p: &Project) -> Value {
    Value::record(vec![
        ("id", Value::Int(p.id)),
        ("linkname", Value::Str(p.linkname.clone())),
        ("name", Value::Str(p.name.clone())),
    ])
}

fn person_struct(p: &Person) -> Value {
    let name = match &p.person.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => p.person.email.clone(),
    };
    let user = p
        .user
        .as_ref()
        .map_or("None".to_string(), |u| u.username.clone());
    Value::record(vec![
        ("id", Value::Int(p.person.id)),
        ("email", Value::Str(p.person.email.clone())),
        ("name", Value::Str(name)),
        ("user", Value::bytes(&user)),
    ])
}

fn state_struct(s: &State) -> Value {
    Value::record(vec![
        ("id", Value::Int(s.id)),
        ("name", Value::Str(s.name.clone())),
    ])
}

fn check_struct(c: &Check, patch_name: &str, zone: &SiteZone) -> Value {
    let optional = |v: &Option<String>| v.clone().map_or(Value::Nil, Value::Str);
    Value::record(vec![
        ("id", Value::Int(c.id)),
        (
            "date",
            Value::bytes(&zone.iso(c.date).replacen('T', " ", 1)),
        ),
        ("patch", Value::bytes(patch_name)),
        ("patch_id", Value::Int(c.patch_id)),
        ("user", Value::bytes(&c.user.username)),
        ("user_id", Value::Int(c.user.id)),
        ("state", Value::Str(c.state.label().to_string())),
        ("target_url", optional(&c.target_url)),
        ("description", optional(&c.description)),
        ("context", Value::Str(c.context.clone())),
    ])
}

/// The lookups `patch_list` names by patch field, and `*_id` keys.
const PATCH_FIELDS: &[&str] = &[
    "id",
    "name",
    "project_id",
    "submitter_id",
    "delegate_id",
    "archived",
    "state_id",
    "date",
    "commit_ref",
    "hash",
    "msgid",
    "max_count",
];

/// A filter value as a lookup operand.
fn operand(v: &Value) -> Option<Operand> {
    Some(match v {
        Value::Int(n) => Operand::Int(*n),
        Value::Bool(b) => Operand::Int(i64::from(*b)),
        Value::Str(s) | Value::DateTime(s) => Operand::Text(s.clone()),
        Value::Bytes(b) => Operand::Text(String::from_utf8_lossy(b).into_owned()),
        Value::Array(items) => Operand::List(items.iter().map(operand).collect::<Option<_>>()?),
        Value::Double(_) | Value::Struct(_) | Value::Nil => return None,
    })
}

/// The keys of a filter struct, or Python's error for another type.
fn filter_members(filt: Option<Value>) -> Result<Vec<(String, Value)>, Fault> {
    match filt {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::Struct(members)) => Ok(members),
        Some(other) => Err(Fault::new(
            "AttributeError",
            format!("'{}' object has no attribute 'keys'", other.python_type()),
        )),
    }
}

struct Methods<'a> {
    app: &'a App,
}

impl Methods<'_> {
    async fn states(&self) -> Result<Vec<State>, Fault> {
        Ok(self.app.store.states().await?)
    }

    /// Patch structs, in order; one read of projects and states.
    async fn patch_structs(&self, patches: &[Patch]) -> Result<Vec<Value>, Fault> {
        let projects = self.app.store.projects_by_id().await?;
        let states = self.states().await?;
        let by_slug: HashMap<&str, &State> = states.iter().map(|s| (s.slug.as_str(), s)).collect();
        Ok(patches
            .iter()
            .map(|p| {
                let project = projects.get(&p.project_id);
                let state = by_slug.get(p.state.as_str());
                let submitter = match &p.submitter.name {
                    Some(n) if !n.is_empty() => format!("{n} <{}>", p.submitter.email),
                    _ => p.submitter.email.clone(),
                };
                let delegate = p
                    .delegate
                    .as_ref()
                    .map_or("None".to_string(), |d| d.username.clone());
                Value::record(vec![
                    ("id", Value::Int(p.id)),
                    ("date", Value::bytes(&python_date(p.date))),
                    // Without extension: pwclient adds `.patch`.
                    ("filename", Value::Str(export::filename(&p.name))),
                    ("msgid", Value::Str(p.msgid.clone())),
                    ("name", Value::Str(p.name.clone())),
                    (
                        "project",
                        Value::bytes(project.map_or("", |p| p.name.as_str())),
                    ),
                    ("project_id", Value::Int(p.project_id)),
                    ("state", Value::bytes(state.map_or("", |s| s.name.as_str()))),
                    ("state_id", Value::Int(state.map_or(0, |s| s.id))),
                    ("archived", Value::Bool(p.archived)),
                    ("submitter", Value::bytes(&submitter)),
                    ("submitter_id", Value::Int(p.submitter.id)),
                    ("delegate", Value::bytes(&delegate)),
                    (
                        "delegate_id",
                        Value::Int(p.delegate.as_ref().map_or(0, |d| d.id)),
                    ),
                    (
                        "commit_ref",
                        Value::Str(p.commit_ref.clone().unwrap_or_default()),
                    ),
                    ("hash", Value::Str(p.hash.clone().unwrap_or_default())),
                ])
            })
            .collect())
    }

    async fn one_patch(&self, p: Option<Patch>) -> Reply {
        match p {
            None => Ok(Value::empty()),
            Some(p) => Ok(self
                .patch_structs(std::slice::from_ref(&p))
                .await?
                .pop()
                .unwrap_or_else(Value::empty)),
        }
    }

    async fn patch_by_id(&self, id: &Value) -> Result<Option<Patch>, Fault> {
        match object_id(id)? {
            Some(id) => Ok(self.app.store.patch(id).await?),
            None => Ok(None),
        }
    }

    async fn project_list(&self, search_str: Option<Value>, max: Option<Value>) -> Reply {
        let take = max_count(max)?;
        let wanted = search(search_str).to_lowercase();
        let projects: Vec<Value> = self
            .app
            .store
            .projects()
            .await?
            .iter()
            .filter(|p| p.linkname.to_lowercase().contains(&wanted))
            .map(project_struct)
            .collect();
        Ok(Value::Array(taken(projects, take)))
    }

    async fn project_get(&self, id: &Value) -> Reply {
        let Some(id) = object_id(id)? else {
            return Ok(Value::empty());
        };
        let projects = self.app.store.projects_by_id().await?;
        Ok(projects.get(&id).map_or_else(Value::empty, project_struct))
    }

    async fn person_list(&self, search_str: Option<Value>, max: Option<Value>) -> Reply {
        let take = max_count(max)?;
        let people = self
            .app
            .store
            .people_containing(&search(search_str), take)
            .await?;
        Ok(Value::Array(people.iter().map(person_struct).collect()))
    }

    async fn person_get(&self, id: &Value) -> Reply {
        let Some(id) = object_id(id)? else {
            return Ok(Value::empty());
        };
        let person = self.app.store.person(id).await?;
        Ok(person.as_ref().map_or_else(Value::empty, person_struct))
    }

    async fn patch_list(&self, filt: Option<Value>) -> Reply {
        let mut q = PatchQuery::default();
        let nothing = Ok(Value::Array(Vec::new()));
        for (key, value) in filter_members(filt)? {
            let mut parts = key.split("__");
            let field = parts.next().unwrap_or("");
            let op = match parts.next() {
                None => FieldOp::Exact,
                Some(name) => match FieldOp::parse(name) {
                    Some(op) => op,
                    None => return nothing,
                },
            };
            if !PATCH_FIELDS.contains(&field) || parts.next().is_some() {
                return nothing;
            }
            // The `*_id` keys name an object, whatever the lookup; one
            // that does not exist gives no patches.
            let store = &self.app.store;
            let id = || object_id(&value);
            match field {
                "max_count" => q.take = max_count(Some(value.clone()))?,
                "project_id" => match id()? {
                    Some(id) if store.project_by_id(id).await?.is_some() => q.project = Some(id),
                    _ => return nothing,
                },
                "submitter_id" | "delegate_id" => match id()? {
                    Some(id) if store.person(id).await?.is_some() => {
                        if field == "submitter_id" {
                            q.submitter = Some(id);
                        } else {
                            q.delegate_person = Some(id);
                        }
                    }
                    _ => return nothing,
                },
                "state_id" => match id()? {
                    Some(id) if self.states().await?.iter().any(|s| s.id == id) => {
                        q.state = Some(id);
                    }
                    _ => return nothing,
                },
                _ => {
                    let (Some(column), Some(value)) = (PatchColumn::parse(field), operand(&value))
                    else {
                        return nothing;
                    };
                    q.conditions.push(Condition { column, op, value });
                }
            }
        }
        let patches = self.app.store.patches_matching(&q).await?;
        Ok(Value::Array(self.patch_structs(&patches).await?))
    }

    async fn patch_get(&self, id: &Value) -> Reply {
        let patch = self.patch_by_id(id).await?;
        self.one_patch(patch).await
    }

    async fn patch_get_by_hash(&self, project: Option<&Value>, hash: &Value) -> Reply {
        let project_id = match project {
            None => None,
            Some(linkname) => {
                let linkname = text(linkname).unwrap_or_default();
                match self.app.store.cached_project(&linkname).await? {
                    Some(p) => Some(p.id),
                    None => return Ok(Value::empty()),
                }
            }
        };
        let Some(hash) = text(hash) else {
            return Ok(Value::empty());
        };
        let mut found = self.app.store.patches_by_hash(&hash, project_id, 2).await?;
        if found.len() > 1 {
            let n = self
                .app
                .store
                .patches_by_hash(&hash, project_id, u64::MAX)
                .await?
                .len();
            return Err(Fault::new(
                "patchwork.models.Patch.MultipleObjectsReturned",
                format!("get() returned more than one Patch -- it returned {n}!"),
            ));
        }
        self.one_patch(found.pop()).await
    }

    async fn patch_get_mbox(&self, id: &Value) -> Reply {
        let Some(id) = object_id(id)? else {
            return Ok(Value::Str(String::new()));
        };
        let mbox = crate::mbox::patch_ids_mbox(&self.app.store, &[id]).await?;
        Ok(Value::Str(mbox))
    }

    async fn patch_get_diff(&self, id: &Value) -> Reply {
        Ok(match self.patch_by_id(id).await? {
            None => Value::Str(String::new()),
            // A pull request has no diff: Python cannot marshal None.
            Some(p) => p.body.and_then(|b| b.diff).map_or(Value::Nil, Value::Str),
        })
    }

    async fn patch_set(&self, who: &Principal, id: &Value, params: &Value) -> Reply {
        let store = &self.app.store;
        let Some(patch) = self.patch_by_id(id).await? else {
            return Err(Fault::does_not_exist("Patch"));
        };
        if !store.can_edit_patch(who, patch.id).await? {
            return Err(Fault::exception("No permissions to edit this patch"));
        }
        let Value::Struct(members) = params else {
            return Err(Fault::new(
                "AttributeError",
                format!("'{}' object has no attribute 'items'", params.python_type()),
            ));
        };
        let mut update = PatchUpdate::default();
        for (key, value) in members {
            match key.as_str() {
                "state" => {
                    let wanted = object_id(value)?;
                    let states = self.states().await?;
                    let Some(state) = states.iter().find(|s| Some(s.id) == wanted) else {
                        return Err(Fault::does_not_exist("State"));
                    };
                    update.state = Some(state.id);
                }
                "commit_ref" => {
                    update.commit_ref = Some(match value {
                        Value::Nil => None,
                        v => Some(text(v).unwrap_or_default()),
                    });
                }
                "archived" => {
                    update.archived = Some(match value {
                        Value::Bool(b) => *b,
                        Value::Int(n) => *n != 0,
                        Value::Str(s) => !s.is_empty(),
                        Value::Nil => false,
                        _ => true,
                    });
                }
                // Patchwork ignores every other key.
                _ => {}
            }
        }
        match store.update_patch(who, patch.id, &update).await? {
            Ok(()) => Ok(Value::Bool(true)),
            Err(refused) => Err(Fault::exception(crate::refusal::message(&refused))),
        }
    }

    async fn state_list(&self, search_str: Option<Value>, max: Option<Value>) -> Reply {
        let take = max_count(max)?;
        let wanted = search(search_str).to_lowercase();
        let states: Vec<Value> = self
            .states()
            .await?
            .iter()
            .filter(|s| s.name.to_lowercase().contains(&wanted))
            .map(state_struct)
            .collect();
        Ok(Value::Array(taken(states, take)))
    }

    async fn state_get(&self, id: &Value) -> Reply {
        let wanted = object_id(id)?;
        let states = self.states().await?;
        Ok(states
            .iter()
            .find(|s| Some(s.id) == wanted)
            .map_or_else(Value::empty, state_struct))
    }

    /// Check structs, with one read of their patches' names.
    async fn check_structs(&self, checks: &[Check]) -> Result<Vec<Value>, Fault> {
        let mut ids: Vec<i64> = checks.iter().map(|c| c.patch_id).collect();
        ids.sort_unstable();
        ids.dedup();
        // Without their mail: only the names are wanted.
        let q = PatchQuery {
            conditions: vec![Condition {
                column: PatchColumn::Id,
                op: FieldOp::In,
                value: Operand::List(ids.into_iter().map(Operand::Int).collect()),
            }],
            ..PatchQuery::default()
        };
        let names: HashMap<i64, String> = self
            .app
            .store
            .patches_matching(&q)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        Ok(checks
            .iter()
            .map(|c| {
                let name = names.get(&c.patch_id).map_or("", String::as_str);
                check_struct(c, name, &self.app.zone)
            })
            .collect())
    }

    async fn check_list(&self, filt: Option<Value>) -> Reply {
        let mut q = CheckQuery::default();
        let nothing = Ok(Value::Array(Vec::new()));
        // Patchwork indexes the first match of a missing object.
        let index_error = || Fault::new("IndexError", "list index out of range");
        for (key, value) in filter_members(filt)? {
            let mut parts = key.split("__");
            let field = parts.next().unwrap_or("");
            let op = match parts.next() {
                None => FieldOp::Exact,
                Some(name) => match FieldOp::parse(name) {
                    Some(op) => op,
                    None => return nothing,
                },
            };
            let store = &self.app.store;
            match field {
                "max_count" => q.take = max_count(Some(value))?,
                "project_id" => match object_id(&value)? {
                    Some(id) if store.project_by_id(id).await?.is_some() => q.project = Some(id),
                    _ => return Err(index_error()),
                },
                "patch_id" => match object_id(&value)? {
                    Some(id) if store.patch(id).await?.is_some() => q.patch = Some(id),
                    _ => return Err(index_error()),
                },
                "user" if op == FieldOp::Exact => match object_id(&value)? {
                    Some(id) => q.user = Some(id),
                    None => return nothing,
                },
                "id" => match operand(&value) {
                    Some(v) => q.id.push((op, v)),
                    None => return nothing,
                },
                _ => return nothing,
            }
        }
        let checks = self.app.store.checks_matching(&q).await?;
        Ok(Value::Array(self.check_structs(&checks).await?))
    }

    async fn check_get(&self, id: &Value) -> Reply {
        let Some(id) = object_id(id)? else {
            return Ok(Value::empty());
        };
        let q = CheckQuery {
            id: vec![(FieldOp::Exact, Operand::Int(id))],
            ..CheckQuery::default()
        };
        let checks = self.app.store.checks_matching(&q).await?;
        Ok(self
            .check_structs(&checks)
            .await?
            .pop()
            .unwrap_or_else(Value::empty))
    }

    async fn check_create(
        &self,
        who: &Principal,
        id: &Value,
        context: &Value,
        state: &Value,
        target_url: Option<Value>,
        description: Option<Value>,
    ) -> Reply {
        let store = &self.app.store;
        let Some(patch) = self.patch_by_id(id).await? else {
            return Err(Fault::does_not_exist("Patch"));
        };
        if !store.can_edit_patch(who, patch.id).await? {
            return Err(Fault::exception("No permissions to edit this patch"));
        }
        let label = text(state).unwrap_or_default();
        let Some(state) = ["pending", "success", "warning", "fail"]
            .contains(&label.as_str())
            .then(|| CheckState::parse(&label))
            .flatten()
        else {
            return Err(Fault::exception(format!("Invalid check state: {label}")));
        };
        // Defaults are '' as upstream; an explicit None is stored as one.
        let optional = |v: Option<Value>| match v {
            None => Some(String::new()),
            Some(Value::Nil) => None,
            Some(v) => Some(text(&v).unwrap_or_default()),
        };
        let new = NewCheck {
            state,
            target_url: optional(target_url),
            description: optional(description),
            context: text(context).unwrap_or_default(),
        };
        match store.add_check(patch.id, who.user.id, &new).await? {
            Ok(_) => Ok(Value::Bool(true)),
            // The patch went away meanwhile, as Django's get() would say.
            Err(_) => Err(Fault::does_not_exist("Patch")),
        }
    }

    async fn patch_check_get(&self, id: &Value) -> Reply {
        let Some(patch) = self.patch_by_id(id).await? else {
            return Ok(Value::empty());
        };
        let checks = self.app.store.current_checks(patch.id).await?;
        let structs = self.check_structs(&checks).await?;
        Ok(Value::record(vec![
            ("state", Value::Str(patch.check.label().to_string())),
            (
                "total",
                Value::Int(i64::try_from(checks.len()).unwrap_or(i64::MAX)),
            ),
            ("checks", Value::Array(structs)),
        ]))
    }
}

/// The `GET /xmlrpc/` page: every method with its arguments, under the
/// title Python's documentation generator gives Patchwork's page.
pub fn documentation() -> String {
    let mut rows = String::new();
    for m in METHODS {
        let params: Vec<&str> = m
            .params
            .iter()
            .copied()
            .filter(|p| !(m.auth && *p == "user"))
            .collect();
        rows.push_str(&format!(
            "<dt><a name=\"-{0}\"><strong>{0}</strong></a>({1})</dt><dd><tt>{2}</tt></dd>\n",
            m.name,
            params.join(", "),
            crate::html::escape(m.doc)
        ));
    }
    format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.0 Transitional//EN\">\n\
         <html><head><title>Python: XML-RPC Server Documentation</title>\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\
         </head><body>\n<h1>XML-RPC Server Documentation</h1>\n\
         <p>Patchwork's XML-RPC API, version 1.3.0. Calls are POSTed here; \
         patch_set and check_create need HTTP Basic credentials.</p>\n\
         <h2>Methods</h2>\n<dl>\n{rows}</dl>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use super::*;

    fn sig(name: &str) -> &'static Signature {
        METHODS.iter().find(|m| m.name == name).unwrap()
    }

    #[test]
    fn arity_faults_read_as_python_writes_them() {
        let text = |name: &str, n: usize| arity(sig(name), n).unwrap_err().message;
        assert_eq!(
            text("patch_get", 0),
            "patch_get() missing 1 required positional argument: 'patch_id'"
        );
        assert_eq!(
            text("patch_get", 2),
            "patch_get() takes 1 positional argument but 2 were given"
        );
        assert_eq!(
            text("pw_rpc_version", 1),
            "pw_rpc_version() takes 0 positional arguments but 1 was given"
        );
        assert_eq!(
            text("project_list", 3),
            "project_list() takes from 0 to 2 positional arguments but 3 were given"
        );
        assert_eq!(
            text("check_create", 2),
            "check_create() missing 2 required positional arguments: 'context' and 'state'"
        );
        assert_eq!(
            text("check_create", 1),
            "check_create() missing 3 required positional arguments: 'patch_id', 'context', and 'state'"
        );
        assert!(arity(sig("check_create"), 6).is_ok());
    }

    #[test]
    fn max_count_takes_from_either_end() {
        assert_eq!(taken(vec![1, 2, 3], Take::First(2)), vec![1, 2]);
        assert_eq!(taken(vec![1, 2, 3], Take::Last(2)), vec![2, 3]);
        assert_eq!(taken(vec![1, 2, 3], Take::Last(9)), vec![1, 2, 3]);
        assert_eq!(taken(vec![1, 2, 3], Take::All), vec![1, 2, 3]);
    }
}
