//! The aggregate check state of a patch, computed in SQL, on both
//! backends: the newest check of each (user, context) counts; fail over
//! warning over pending over success; pending without checks.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{CheckState, IngestOptions, NewCheck, NewUser, Store};

async fn user(store: &Store, name: &str) -> i64 {
    store
        .add_user(&NewUser {
            username: name.into(),
            email: format!("{name}@example.org"),
            password: None,
            superuser: false,
            maintainer_of: vec![],
        })
        .await
        .unwrap()
}

async fn post(store: &Store, patch: i64, user: i64, context: &str, state: CheckState) {
    store
        .add_check(
            patch,
            user,
            &NewCheck {
                state,
                target_url: None,
                description: None,
                context: context.into(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    // Distinct dates, as checks posted over time have.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
}

async fn state(store: &Store, patch: i64) -> CheckState {
    store.patch(patch).await.unwrap().unwrap().check
}

#[tokio::test]
async fn newest_per_user_and_context_counts() {
    use CheckState::*;
    for store in common::stores().await {
        common::project(&store, "p", "p.example.org").await;
        let raw = std::fs::read(common::testdata().join("seed/seed-qemu-patch.mbox")).unwrap();
        let outcome = store
            .ingest(
                &raw,
                &IngestOptions {
                    list_id: Some("p.example.org".into()),
                },
            )
            .await
            .unwrap();
        let patchtrack_store::Outcome::Patch { id } = outcome else {
            panic!("{outcome:?}");
        };
        let (a, b) = (user(&store, "a").await, user(&store, "b").await);
        assert_eq!(state(&store, id).await, Pending, "no checks");
        post(&store, id, a, "build", Success).await;
        assert_eq!(state(&store, id).await, Success);
        post(&store, id, a, "test", Pending).await;
        assert_eq!(state(&store, id).await, Pending);
        post(&store, id, b, "build", Warning).await;
        assert_eq!(state(&store, id).await, Warning);
        post(&store, id, a, "test", Fail).await;
        assert_eq!(state(&store, id).await, Fail);
        // A newer result of the same user and context replaces the old.
        post(&store, id, a, "test", Success).await;
        assert_eq!(state(&store, id).await, Warning);
        post(&store, id, b, "build", Success).await;
        assert_eq!(state(&store, id).await, Success);
        let listed = store
            .patches(
                &patchtrack_store::PatchFilter::default(),
                &[],
                patchtrack_store::Page {
                    number: 1,
                    size: 30,
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(listed.items[0].check, Success, "the list agrees");
    }
}
