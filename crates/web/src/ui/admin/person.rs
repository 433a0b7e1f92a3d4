//! `/admin/people/`: mail authors, linked to accounts, and duplicates
//! merged.

use askama::Template;
use axum::extract::RawQuery;
use axum::response::Response;
use patchtrack_store::{Page, Person, PersonOrder};

use super::super::{Base, Form, FormPost, PageError, Req};
use super::{admin, id_of, record, refusal};

const HERE: &str = "/admin/people/";

#[derive(Template)]
#[template(path = "admin/people.html")]
struct ListPage {
    base: Base,
    q: String,
    people: Vec<Person>,
    total: u64,
}

/// `GET /admin/people/?q=TEXT`: the first 200 people matching, by id.
pub async fn list(RawQuery(query): RawQuery, req: Req) -> Result<Response, PageError> {
    admin(&req, HERE)?;
    let q = Form::query(query.as_deref())
        .get("q")
        .unwrap_or("")
        .trim()
        .to_string();
    let terms: Vec<String> = q.split_whitespace().map(str::to_string).collect();
    let listed = req
        .app
        .store
        .people(
            &terms,
            &[(PersonOrder::Id, false)],
            Page {
                number: 1,
                size: 200,
            },
        )
        .await?;
    let (people, total) = listed.map_or((Vec::new(), 0), |l| (l.items, l.total));
    let page = ListPage {
        base: req.base("People · Administration", None),
        q,
        people,
        total,
    };
    Ok(req.render(&page))
}

/// `POST /admin/people/`: `action` is `link` (person `id` to the account
/// `username`; an empty one unlinks) or `merge` (person `duplicate` into
/// person `keep`).
pub async fn change(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let who = admin(&req, HERE)?;
    let store = &req.app.store;
    match form.get("action").unwrap_or("") {
        "link" => {
            let Some(id) = id_of(&form, "id") else {
                return Ok(req.redirect(HERE, &["No person chosen".to_string()]));
            };
            let username = form.get("username").unwrap_or("").trim();
            let linked = match store.link_person(id, Some(username)).await {
                Ok(linked) => linked,
                Err(e) => {
                    let m = refusal(e)?;
                    return Ok(req.redirect(HERE, &[m]));
                }
            };
            if !linked {
                return Ok(req.redirect(HERE, &["No such person".to_string()]));
            }
            let detail = if username.is_empty() {
                "unlinked".to_string()
            } else {
                format!("linked to {username}")
            };
            record(&req, &who, "person.link", &format!("person {id}"), &detail).await?;
            Ok(req.redirect(HERE, &[format!("Person {id} {detail}")]))
        }
        "merge" => {
            let (Some(keep), Some(duplicate)) = (id_of(&form, "keep"), id_of(&form, "duplicate"))
            else {
                return Ok(req.redirect(HERE, &["Give both people's ids".to_string()]));
            };
            let gone = store.person(duplicate).await?;
            let Some(merged) = store.merge_people(keep, duplicate).await? else {
                return Ok(req.redirect(
                    HERE,
                    &["Both people must exist and be different".to_string()],
                ));
            };
            let detail = format!(
                "merged person {duplicate} ({}) into it: {} patch(es), {} cover(s), {} series, \
                 {} comment(s) moved",
                gone.map(|g| g.person.email).unwrap_or_default(),
                merged.patches,
                merged.covers,
                merged.series,
                merged.comments
            );
            record(
                &req,
                &who,
                "person.merge",
                &format!("person {keep}"),
                &detail,
            )
            .await?;
            Ok(req.redirect(HERE, &[format!("Person {keep}: {detail}")]))
        }
        _ => Ok(req.redirect(HERE, &["Unknown action".to_string()])),
    }
}
