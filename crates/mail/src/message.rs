//! One mail, read the way Patchwork's `parse_mail` reads it: every field a
//! patch tracker stores, and the decision whether the mail is a patch, a pull
//! request, a cover letter or a comment.
//!
//! Decisions that need the database (which project, whether a `0/N` mail's
//! name is already a cover, which submission a comment answers) are left to
//! the caller; everything decidable from the bytes alone is decided here.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::address::{self, Author};
use crate::date::{UtcSeconds, parse_date};
use crate::encoded_word::clean_header;
use crate::headers::{Headers, parse_header_block};
use crate::lineage;
use crate::split::{find_comment_content, find_patch_content};
use crate::subject::{self, Subject};
use crate::text::{py_strip, truncate_chars};
use crate::trailers::{self, Dependency, Trailer};
use crate::{hash, mime, pull};

static MSGID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<[^>]+>").expect("static regex is valid"));
static LIST_ID_BRACKETS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)^.*<([^>]+)>").expect("static regex is valid"));

/// What a mail is, as far as its own bytes can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Not a reply, and has a diff (possibly also a pull URL).
    Patch,
    /// Not a reply, has a pull URL and no diff; stored as a patch without one.
    PullRequest,
    /// Not a reply, marked `0/N`, no diff and no pull URL: a cover letter,
    /// unless it has references and a cover of the same name exists (then
    /// Patchwork files it as a comment).
    Cover,
    /// Anything else with content: a comment, if it answers a known
    /// submission; otherwise Patchwork drops it (see
    /// [`ParsedMail::orphan_reason`]).
    Comment,
    /// Neither a diff nor any text: Patchwork drops it ("nothing to work
    /// with").
    Empty,
    /// `X-Patchwork-Hint: ignore`: dropped on purpose.
    Ignored,
    /// A required header is missing or unusable; Patchwork refuses the mail.
    Invalid,
}

/// The `X-Patchwork-*` instructions a mail carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PatchworkHeaders {
    /// `X-Patchwork-Hint`, cleaned (only `ignore` means anything).
    pub hint: Option<String>,
    /// `X-Patchwork-State`: a state name for a new patch.
    pub state: Option<String>,
    /// `X-Patchwork-Delegate`: a user's email address.
    pub delegate: Option<String>,
    /// `X-Patchwork-Action-Required` is present: the comment needs handling.
    pub action_required: bool,
}

/// Options that come from the project a mail is parsed for.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Subject prefix tokens to drop besides `PATCH` (the project linkname).
    pub drop_prefixes: Vec<String>,
    /// The list's own address: a `From:` equal to it was rewritten by the
    /// list (DMARC) and is un-munged.
    pub list_email: Option<String>,
    /// Drop text parts whose bytes do not fit their declared charset, as
    /// Patchwork does, instead of keeping them with U+FFFD (our default; see
    /// docs/compatibility.md).
    pub strict_charsets: bool,
}

/// Everything a patch tracker needs from one mail.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedMail {
    /// The classification.
    pub kind: Kind,
    /// Why the mail cannot be stored, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Message-Id with angle brackets, at most 255 characters.
    pub msgid: Option<String>,
    /// In-Reply-To then References (newest first), without duplicates.
    pub references: Vec<String>,
    /// The decoded `Subject:` header, prefixes and all (what a project's
    /// `subject_match` is tried on).
    pub subject: Option<String>,
    /// Patch name: cleaned subject with kept prefixes.
    pub name: Option<String>,
    /// Kept subject prefixes.
    pub prefixes: Vec<String>,
    /// Series version (1 when unmarked).
    pub version: u32,
    /// `x` of `x/n`.
    pub number: Option<u32>,
    /// `n` of `x/n`.
    pub total: Option<u32>,
    /// Whether the subject marks a reply.
    pub is_reply: bool,
    /// Submitter; `None` when `From:` has no valid address.
    pub submitter: Option<Author>,
    /// Date in UTC; `None` when missing or unparseable (Patchwork uses "now").
    pub date: Option<UtcSeconds>,
    /// Commit message or comment text.
    #[serde(skip)]
    pub content: String,
    /// The diff, if any.
    #[serde(skip)]
    pub diff: Option<String>,
    /// Patchwork's hash of the diff.
    pub hash: Option<String>,
    /// Pull request URL and branch.
    pub pull_url: Option<String>,
    /// Trailer lines of the content.
    pub trailers: Vec<Trailer>,
    /// `Depends-on:` declarations of the content.
    pub depends_on: Vec<Dependency>,
    /// What the mail says about the posting it revises.
    pub lineage: lineage::Hints,
    /// The `X-Patchwork-*` headers.
    pub patchwork: PatchworkHeaders,
    /// List ids from `List-Id`, `X-Mailing-List`, `X-list`, in that order.
    pub list_ids: Vec<String>,
    /// Things worth knowing that did not stop the parse.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// All header fields, raw.
    #[serde(skip)]
    pub headers: Headers,
}

impl ParsedMail {
    /// A mail that cannot be stored, for `reason`: what a caller reports
    /// when parsing itself failed (a bug in the parser must cost one mail,
    /// not the rest of an archive).
    pub fn unparseable(reason: &str) -> Self {
        ParsedMail::invalid(Headers::default(), reason)
    }

    fn invalid(headers: Headers, reason: &str) -> Self {
        ParsedMail {
            kind: Kind::Invalid,
            reason: Some(reason.to_string()),
            msgid: None,
            references: Vec::new(),
            subject: None,
            name: None,
            prefixes: Vec::new(),
            version: 1,
            number: None,
            total: None,
            is_reply: false,
            submitter: None,
            date: None,
            content: String::new(),
            diff: None,
            hash: None,
            pull_url: None,
            trailers: Vec::new(),
            depends_on: Vec::new(),
            lineage: lineage::Hints::default(),
            patchwork: PatchworkHeaders::default(),
            list_ids: Vec::new(),
            warnings: Vec::new(),
            headers,
        }
    }
}

impl ParsedMail {
    /// Why this mail, which can only be a comment, is dropped when nothing
    /// stored is what it answers. Most mails without references are not
    /// replies at all (announcements, questions, a patch sent without its
    /// diff), so the wording says what the mail is rather than calling
    /// everything a reply.
    pub fn orphan_reason(&self) -> &'static str {
        orphan_reason(&self.references, self.is_reply)
    }
}

fn orphan_reason(references: &[String], is_reply: bool) -> &'static str {
    match (references.is_empty(), is_reply) {
        (false, _) => "a reply to nothing stored",
        (true, true) => "a reply without In-Reply-To or References",
        (true, false) => "no diff, and not a cover letter, pull request or reply",
    }
}

fn cleaned(headers: &Headers, name: &str) -> Option<String> {
    headers.get(name).and_then(clean_header)
}

/// The Message-Id as the mail spells it: the id [`ParsedMail::msgid`] is
/// cut from, before the cut to 255 characters and with any NUL kept. Two
/// mails whose ids differ only past the cut share a stored id; the store
/// compares these to tell a genuine duplicate from such a collision.
pub fn full_message_id(headers: &Headers) -> Option<String> {
    let raw = headers.get("message-id")?;
    let value = crate::text::normalise_space(&crate::encoded_word::decode_header_value(raw)?);
    Some(first_msgid(&value)).filter(|id| !id.is_empty())
}

/// [`full_message_id`] of a whole mail.
pub fn full_message_id_of(raw: &[u8]) -> Option<String> {
    full_message_id(&parse_header_block(raw).0)
}

fn first_msgid(value: &str) -> String {
    match MSGID.find(value) {
        Some(m) => m.as_str().to_string(),
        None => py_strip(value).to_string(),
    }
}

/// In-Reply-To values first (their first `<id>`, or the bare value), then
/// every `<id>` of the References headers newest first, skipping repeats.
/// Repeats are found with a set, so a hostile mail with 100,000 References
/// costs linear time (a scan of the list per id took 12 s).
pub fn find_references(headers: &Headers) -> Vec<String> {
    let mut refs: Vec<String> = Vec::new();
    for raw in headers.get_all("in-reply-to") {
        if let Some(v) = clean_header(raw).filter(|v| !v.is_empty()) {
            refs.push(first_msgid(&v));
        }
    }
    let mut seen: std::collections::HashSet<String> = refs.iter().cloned().collect();
    for raw in headers.get_all("references") {
        let Some(v) = clean_header(raw) else { continue };
        let ids: Vec<&str> = MSGID.find_iter(&v).map(|m| m.as_str()).collect();
        for id in ids.into_iter().rev() {
            if seen.insert(id.to_string()) {
                refs.push(id.to_string());
            }
        }
    }
    refs
}

/// The list ids a mail names, in the order Patchwork tries them.
pub fn find_list_ids(headers: &Headers) -> Vec<String> {
    ["list-id", "x-mailing-list", "x-list"]
        .iter()
        .filter_map(|name| cleaned(headers, name))
        .filter(|v| !v.is_empty())
        .filter_map(|v| {
            if let Some(c) = LIST_ID_BRACKETS.captures(&v) {
                return Some(c[1].to_string());
            }
            (!v.contains(crate::text::py_isspace)).then_some(v)
        })
        .collect()
}

/// The submitter, with the DMARC rewrite undone when `From:` is the list.
fn find_author(headers: &Headers, list_email: Option<&str>) -> Option<Author> {
    let from = cleaned(headers, "from").filter(|f| !f.is_empty())?;
    let author = address::parse_author(&from)?;
    match list_email {
        Some(list) if author.email.eq_ignore_ascii_case(list) => {
            let all = |name: &str| -> Vec<String> {
                headers.get_all(name).filter_map(clean_header).collect()
            };
            Some(address::original_sender(
                &author,
                cleaned(headers, "x-original-from").as_deref(),
                &all("reply-to"),
                &all("cc"),
            ))
        }
        _ => Some(author),
    }
}

/// Parses one RFC 5322 message. Never panics; a mail it cannot use comes
/// back with [`Kind::Invalid`] (or `Empty`, `Ignored`) and a reason.
pub fn parse_mail(raw: &[u8], options: &ParseOptions) -> ParsedMail {
    let (headers, _) = parse_header_block(raw);
    for required in ["From", "Subject", "Message-Id"] {
        if !headers.contains(required) {
            return ParsedMail::invalid(headers, &format!("Missing '{required}' header"));
        }
    }
    let patchwork = PatchworkHeaders {
        hint: cleaned(&headers, "x-patchwork-hint").filter(|h| !h.is_empty()),
        state: cleaned(&headers, "x-patchwork-state").filter(|h| !h.is_empty()),
        delegate: cleaned(&headers, "x-patchwork-delegate").filter(|h| !h.is_empty()),
        action_required: headers.contains("x-patchwork-action-required"),
    };
    let list_ids = find_list_ids(&headers);
    if patchwork
        .hint
        .as_deref()
        .is_some_and(|h| h.eq_ignore_ascii_case("ignore"))
    {
        let mut m = ParsedMail::invalid(headers, "X-Patchwork-Hint: ignore");
        m.kind = Kind::Ignored;
        m.patchwork = patchwork;
        m.list_ids = list_ids;
        return m;
    }

    let Some(msgid) = cleaned(&headers, "message-id").filter(|m| !m.is_empty()) else {
        return ParsedMail::invalid(headers, "Broken 'Message-Id' header");
    };
    if full_message_id(&headers).is_some_and(|id| id.contains('\0')) {
        // Stripping the NUL would file the mail under another mail's id
        // (`<a\0b@x>` is not `<ab@x>`); upstream fails to store it on
        // PostgreSQL.
        return ParsedMail::invalid(headers, "Message-Id contains a NUL character");
    }
    let msgid = truncate_chars(&first_msgid(&msgid), 255).to_string();

    let Some(raw_subject) = cleaned(&headers, "subject") else {
        return ParsedMail::invalid(headers, "Invalid 'Subject' header");
    };
    let drop: Vec<&str> = options.drop_prefixes.iter().map(String::as_str).collect();
    let Subject { name, prefixes } = subject::clean_subject(&raw_subject, &drop);
    let is_reply = subject::is_reply(&raw_subject);
    let marker = subject::series_marker(&prefixes);
    let version = subject::version(&name, &prefixes);
    let references = find_references(&headers);
    let date = cleaned(&headers, "date").and_then(|d| parse_date(&d));

    let parts = match mime::text_parts(raw, !options.strict_charsets) {
        Ok(parts) => parts,
        Err(e) => {
            let mut m = ParsedMail::invalid(headers, &e.to_string());
            m.msgid = Some(msgid);
            m.subject = Some(raw_subject);
            return m;
        }
    };
    let warnings: Vec<String> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.repaired)
        .map(|(i, p)| {
            format!(
                "text part {} (text/{}) has bytes its declared charset cannot decode; \
                 they are shown as U+FFFD",
                i + 1,
                p.subtype
            )
        })
        .collect();
    let (diff, content) = if is_reply {
        (None, find_comment_content(&parts))
    } else {
        find_patch_content(&parts)
    };
    let has_diff = diff.as_deref().is_some_and(|d| !d.is_empty());
    let pull_url = pull::parse_pull_request(&content);

    let kind = if !has_diff && content.is_empty() {
        Kind::Empty
    } else if !is_reply && has_diff {
        Kind::Patch
    } else if !is_reply && pull_url.is_some() {
        Kind::PullRequest
    } else if !is_reply && marker.is_some_and(|(x, _)| x == 0) {
        Kind::Cover
    } else {
        Kind::Comment
    };
    let hash = match kind {
        Kind::Patch | Kind::PullRequest => diff.as_deref().map(hash::hash_diff),
        _ => None,
    };
    let submitter = find_author(&headers, options.list_email.as_deref());
    let reason = match kind {
        Kind::Empty => Some("nothing to work with: no diff and no text".to_string()),
        // Known without the database: nothing can be what it answers.
        // Patchwork drops it before it looks at the author.
        Kind::Comment if references.is_empty() => {
            Some(orphan_reason(&references, is_reply).to_string())
        }
        _ if submitter.is_none() => Some("Invalid 'From' header".to_string()),
        _ => None,
    };
    let hints = lineage::hints(
        &headers,
        &prefixes,
        &[content.as_str(), diff.as_deref().unwrap_or("")],
    );
    ParsedMail {
        kind,
        reason,
        msgid: Some(msgid),
        references,
        subject: Some(raw_subject),
        name: Some(name),
        prefixes,
        version,
        number: marker.map(|m| m.0),
        total: marker.map(|m| m.1),
        is_reply,
        submitter,
        date,
        trailers: trailers::trailers(&content),
        depends_on: trailers::depends_on(&content),
        lineage: hints,
        content,
        diff,
        hash,
        pull_url,
        patchwork,
        list_ids,
        warnings,
        headers,
    }
}
