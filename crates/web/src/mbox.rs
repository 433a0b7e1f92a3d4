//! Patches as mbox messages, the way Patchwork's downloads write them
//! (`patchwork/views/utils.py`): shared by the downloads, XML-RPC's
//! `patch_get_mbox` and `patchtrack dumparchive`.

use patchtrack_mail::export::{self, Submission};
use patchtrack_store::{Patch, Project, Store, StoreError, time};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (`ctime`, RFC 2822) forms of a stored date.
pub(crate) fn date_forms(t: time::Micros) -> (String, String) {
    let [y, mo, d, h, mi, s, wd] = time::parts(t);
    let day = DAYS[usize::try_from(wd).unwrap_or(0) % 7];
    let month = MONTHS[usize::try_from(mo - 1).unwrap_or(0) % 12];
    (
        format!("{day} {month} {d:>2} {h:02}:{mi:02}:{s:02} {y}"),
        format!("{day}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} -0000"),
    )
}

/// The mbox message of one patch, with its comments' trailers.
fn patch_message(project: &Project, p: &Patch, comments: &[String]) -> String {
    let body = p.body.as_ref();
    let (ctime, rfc2822) = date_forms(p.date);
    export::mbox(&Submission {
        id: p.id,
        headers: body.map_or("", |b| b.headers.as_str()),
        content: body.and_then(|b| b.content.as_deref()),
        diff: body.and_then(|b| b.diff.as_deref()),
        submitter_name: p.submitter.name.as_deref(),
        submitter_email: &p.submitter.email,
        delegate_email: p.delegate.as_ref().map(|d| d.email.as_str()),
        list_email: &project.listemail,
        comments: comments.iter().map(String::as_str).collect(),
        ctime,
        rfc2822,
    })
}

/// Patches as mbox messages joined by a newline, their comments read in
/// one statement.
pub async fn patches_mbox(store: &Store, patches: &[Patch]) -> Result<String, StoreError> {
    let projects = store.projects_by_id().await?;
    let ids: Vec<i64> = patches.iter().map(|p| p.id).collect();
    let comments = store.patch_comment_contents(&ids).await?;
    Ok(patches
        .iter()
        .filter_map(|p| {
            let project = projects.get(&p.project_id)?;
            let trailers = comments.get(&p.id).map_or(&[][..], Vec::as_slice);
            Some(patch_message(project, p, trailers))
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The patches of `ids`, in that order, as mbox messages.
pub async fn patch_ids_mbox(store: &Store, ids: &[i64]) -> Result<String, StoreError> {
    patches_mbox(store, &store.patches_by_ids(ids).await?).await
}
