//! The nested forms objects embed (reference §3.1), each gated by version
//! on its own, and the URLs they carry.

use std::collections::HashMap;
use std::sync::Arc;

use patchtrack_store::{
    CheckRef, CommentRef, CoverRef, Parent, PatchRef, PersonRef, Project, SeriesRef, UserRef, time,
};

use super::Ctx;
use crate::json::Json;
use crate::urls;

/// Renders embedded objects for one request.
#[derive(Debug, Clone)]
pub struct Embed<'a> {
    /// The request.
    pub ctx: &'a Ctx,
    /// Every project by id (cached by the store).
    pub projects: Arc<HashMap<i64, Project>>,
}

impl<'a> Embed<'a> {
    /// The renderer for a request, with the project list.
    pub async fn load(app: &crate::App, ctx: &'a Ctx) -> Result<Embed<'a>, crate::ApiError> {
        Ok(Embed {
            ctx,
            projects: app.store.projects_by_id().await?,
        })
    }

    /// The linkname of a project ("" if it vanished meanwhile).
    pub fn linkname(&self, project_id: i64) -> &str {
        self.projects
            .get(&project_id)
            .map_or("", |p| p.linkname.as_str())
    }

    /// `list_archive_url` of a message: the project's format with `{}`
    /// replaced by the bare message-id, or null.
    pub fn archive_url(&self, project_id: i64, msgid: &str) -> Option<String> {
        let p = self.projects.get(&project_id)?;
        (!p.list_archive_url_format.is_empty()).then(|| {
            p.list_archive_url_format
                .replace("{}", urls::bare_msgid(msgid))
        })
    }

    /// ProjectEmbedded.
    pub fn project(&self, j: &mut Json, key: Option<&str>, project_id: i64) {
        let Some(p) = self.projects.get(&project_id) else {
            match key {
                Some(k) => {
                    j.null(k);
                }
                None => {
                    j.begin(None).end();
                }
            }
            return;
        };
        j.begin(key);
        self.project_fields(j, p);
        j.end();
    }

    /// The fields ProjectEmbedded and Project share, in order, up to
    /// `webscm_url`; the 1.2 fields follow in [`Embed::project_tail`].
    pub fn project_fields(&self, j: &mut Json, p: &Project) {
        let v = self.ctx.version;
        j.int("id", p.id)
            .str("url", &self.ctx.api(&format!("projects/{}/", p.id)))
            .str("name", &p.name)
            .str("link_name", &p.linkname)
            .str("list_id", &p.listid)
            .str("list_email", &p.listemail)
            .str("web_url", &p.web_url)
            .str("scm_url", &p.scm_url)
            .str("webscm_url", &p.webscm_url);
        if v.at_least(2) {
            self.project_tail(j, p);
        }
    }

    /// The 1.2 project fields.
    pub fn project_tail(&self, j: &mut Json, p: &Project) {
        j.str("list_archive_url", &p.list_archive_url)
            .str("list_archive_url_format", &p.list_archive_url_format)
            .str("commit_url_format", &p.commit_url_format);
    }

    /// UserEmbedded, or null.
    pub fn user(&self, j: &mut Json, key: Option<&str>, user: Option<&UserRef>) {
        let Some(u) = user else {
            if let Some(k) = key {
                j.null(k);
            }
            return;
        };
        j.begin(key)
            .int("id", u.id)
            .str("url", &self.ctx.api(&format!("users/{}/", u.id)))
            .str("username", &u.username)
            .str("first_name", &u.first_name)
            .str("last_name", &u.last_name)
            .str("email", &u.email)
            .end();
    }

    /// PersonEmbedded.
    pub fn person(&self, j: &mut Json, key: Option<&str>, p: &PersonRef) {
        j.begin(key)
            .int("id", p.id)
            .str("url", &self.ctx.api(&format!("people/{}/", p.id)))
            .opt_str("name", p.name.as_deref())
            .str("email", &p.email)
            .end();
    }

    /// PatchEmbedded.
    pub fn patch(&self, j: &mut Json, key: Option<&str>, p: &PatchRef) {
        let v = self.ctx.version;
        let linkname = self.linkname(p.project_id);
        j.begin(key)
            .int("id", p.id)
            .str("url", &self.ctx.api(&format!("patches/{}/", p.id)));
        if v.at_least(1) {
            j.str("web_url", &self.ctx.web(&urls::patch(linkname, &p.msgid)));
        }
        j.str("msgid", &p.msgid);
        if v.at_least(2) {
            j.opt_str(
                "list_archive_url",
                self.archive_url(p.project_id, &p.msgid).as_deref(),
            );
        }
        j.str("date", &time::iso(p.date))
            .str("name", &p.name)
            .str(
                "mbox",
                &self
                    .ctx
                    .web(&format!("{}mbox/", urls::patch(linkname, &p.msgid))),
            )
            .end();
    }

    /// CoverEmbedded.
    pub fn cover(&self, j: &mut Json, key: Option<&str>, c: &CoverRef) {
        let v = self.ctx.version;
        let linkname = self.linkname(c.project_id);
        j.begin(key)
            .int("id", c.id)
            .str("url", &self.ctx.api(&format!("covers/{}/", c.id)));
        if v.at_least(1) {
            j.str("web_url", &self.ctx.web(&urls::cover(linkname, &c.msgid)));
        }
        j.str("msgid", &c.msgid);
        if v.at_least(2) {
            j.opt_str(
                "list_archive_url",
                self.archive_url(c.project_id, &c.msgid).as_deref(),
            );
        }
        j.str("date", &time::iso(c.date)).str("name", &c.name);
        if v.at_least(1) {
            j.str(
                "mbox",
                &self
                    .ctx
                    .web(&format!("{}mbox/", urls::cover(linkname, &c.msgid))),
            );
        }
        j.end();
    }

    /// SeriesEmbedded.
    pub fn series(&self, j: &mut Json, key: Option<&str>, s: &SeriesRef) {
        j.begin(key)
            .int("id", s.id)
            .str("url", &self.ctx.api(&format!("series/{}/", s.id)));
        if self.ctx.version.at_least(1) {
            j.str(
                "web_url",
                &self
                    .ctx
                    .web(&urls::series_list(self.linkname(s.project_id), s.id)),
            );
        }
        j.str("date", &time::iso(s.date))
            .opt_str("name", s.name.as_deref())
            .int("version", s.version)
            .str("mbox", &self.ctx.web(&format!("/series/{}/mbox/", s.id)))
            .end();
    }

    /// CommentEmbedded.
    pub fn comment(&self, j: &mut Json, key: Option<&str>, c: &CommentRef, project_id: i64) {
        let v = self.ctx.version;
        j.begin(key).int("id", c.id);
        if v.at_least(3) {
            let path = match c.parent {
                Parent::Patch(p) => format!("patches/{p}/comments/{}/", c.id),
                Parent::Cover(p) => format!("covers/{p}/comments/{}/", c.id),
            };
            j.str("url", &self.ctx.api(&path));
        }
        if v.at_least(1) {
            j.str("web_url", &self.ctx.web(&format!("/comment/{}/", c.id)));
        }
        j.str("msgid", &c.msgid);
        if v.at_least(2) {
            j.opt_str(
                "list_archive_url",
                self.archive_url(project_id, &c.msgid).as_deref(),
            );
        }
        j.str("date", &time::iso(c.date)).end();
    }

    /// CheckEmbedded.
    pub fn check(&self, j: &mut Json, key: Option<&str>, c: &CheckRef) {
        j.begin(key)
            .int("id", c.id)
            .str(
                "url",
                &self
                    .ctx
                    .api(&format!("patches/{}/checks/{}/", c.patch_id, c.id)),
            )
            .str("date", &self.ctx.zone.iso(c.date))
            .str("state", c.state.label())
            .opt_str("target_url", c.target_url.as_deref())
            .str("context", &c.context)
            .end();
    }

    /// A stored header block as the API's object (see [`header_object`]).
    pub fn headers(&self, j: &mut Json, key: &str, stored: &str) {
        let parsed = urls::split_headers(stored);
        j.begin(Some(key));
        for (name, values) in header_object(&parsed) {
            if let [one] = values.as_slice() {
                j.str(name, one);
            } else {
                j.begin_array(Some(name));
                for v in values {
                    j.item_str(v);
                }
                j.end_array();
            }
        }
        j.end();
    }
}

/// The API's `headers` object as upstream builds it: each spelling of a
/// name is a key (first seen first), holding every value of that name in
/// any case, since Python's `get_all` ignores case; one value is a string,
/// more a list.
pub fn header_object<'a>(parsed: &'a [(&'a str, String)]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, _) in parsed {
        if out.iter().any(|(n, _)| n == name) {
            continue;
        }
        let values = parsed
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        out.push((name, values));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_keys_and_values_gathered_ignoring_case() {
        let parsed = urls::split_headers("Cc: a\nTo: t\nCC: b\nCc: c");
        assert_eq!(
            header_object(&parsed),
            vec![
                ("Cc", vec!["a", "b", "c"]),
                ("To", vec!["t"]),
                ("CC", vec!["a", "b", "c"])
            ]
        );
    }
}
