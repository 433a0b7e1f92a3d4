//! `/admin/states/`: add, rename, reorder and delete states, and say
//! which need a maintainer's action.

use askama::Template;
use axum::response::Response;
use patchtrack_store::{Move, State};

use super::super::{Base, FormPost, PageError, Req};
use super::{admin, checked, id_of, record, refusal};

const HERE: &str = "/admin/states/";

#[derive(Template)]
#[template(path = "admin/states.html")]
struct ListPage {
    base: Base,
    states: Vec<State>,
}

/// `GET /admin/states/`.
pub async fn list(req: Req) -> Result<Response, PageError> {
    admin(&req, HERE)?;
    let states = req.app.store.states().await?;
    let page = ListPage {
        base: req.base("States · Administration", None),
        states,
    };
    Ok(req.render(&page))
}

/// `POST /admin/states/`: `action` is `add` (with `name`,
/// `action_required`), or `rename`, `up`, `down`, `toggle`, `delete` for
/// the state `id`.
pub async fn change(FormPost(req, form): FormPost) -> Result<Response, PageError> {
    let who = admin(&req, HERE)?;
    let store = &req.app.store;
    let name = form.get("name").unwrap_or("").trim().to_string();
    let action = form.get("action").unwrap_or("");
    if action == "add" {
        return Ok(
            match store
                .add_state(&name, checked(&form, "action_required"))
                .await
            {
                Ok(s) => {
                    let object = format!("state {}", s.id);
                    let detail = format!("{:?} ({})", s.name, s.slug);
                    record(&req, &who, "state.add", &object, &detail).await?;
                    req.redirect(HERE, &[format!("State {} added", s.name)])
                }
                Err(e) => {
                    let m = refusal(e)?;
                    req.redirect(HERE, &[m])
                }
            },
        );
    }
    let states = store.states().await?;
    let Some(state) = id_of(&form, "id").and_then(|id| states.into_iter().find(|s| s.id == id))
    else {
        return Ok(req.redirect(HERE, &["No such state".to_string()]));
    };
    let object = format!("state {}", state.id);
    let done = match action {
        "rename" => store.rename_state(state.id, &name).await.map(|s| {
            (
                "state.rename",
                format!("{:?} -> {:?} (slug {})", state.name, s.name, s.slug),
                "State renamed".to_string(),
            )
        }),
        "up" | "down" => {
            let direction = if action == "up" { Move::Up } else { Move::Down };
            store.move_state(state.id, direction).await.map(|()| {
                (
                    "state.move",
                    format!("{:?} {action}", state.name),
                    "States reordered".to_string(),
                )
            })
        }
        "toggle" => {
            let required = !state.action_required;
            store
                .set_state_action_required(state.id, required)
                .await
                .map(|()| {
                    (
                        "state.action_required",
                        format!("{:?}: {} -> {required}", state.name, state.action_required),
                        "State saved".to_string(),
                    )
                })
        }
        "delete" => match store.delete_state(state.id).await? {
            Ok(()) => Ok((
                "state.delete",
                format!("{:?} ({})", state.name, state.slug),
                format!("State {} deleted", state.name),
            )),
            Err(refused) => {
                let m = crate::refusal::message(&refused);
                return Ok(req.redirect(HERE, &[m]));
            }
        },
        _ => return Ok(req.redirect(HERE, &["Unknown action".to_string()])),
    };
    match done {
        Ok((action, detail, message)) => {
            record(&req, &who, action, &object, &detail).await?;
            Ok(req.redirect(HERE, &[message]))
        }
        Err(e) => {
            let m = refusal(e)?;
            Ok(req.redirect(HERE, &[m]))
        }
    }
}
