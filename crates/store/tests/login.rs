//! Password checks that do not tell, by their timing, which accounts
//! exist; on both backends.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use patchtrack_store::{NewUser, Store};

async fn fastest(store: &Store, user: &str) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        assert!(
            store
                .authenticate_password(user, "wrong")
                .await
                .unwrap()
                .is_none()
        );
        best = best.min(started.elapsed());
    }
    best
}

/// The fastest of five tries, so that a busy machine only makes either
/// side slower: an unknown user used to answer fifteen times sooner than
/// a known one with a wrong password (2 ms against 30 ms).
#[tokio::test]
async fn an_unknown_user_costs_a_password_check() {
    for store in common::stores().await {
        store
            .add_user(&NewUser {
                username: "alice".into(),
                email: "alice@example.org".into(),
                password: Some("right".into()),
                superuser: false,
                maintainer_of: vec![],
            })
            .await
            .unwrap();
        assert!(
            store
                .authenticate_password("alice", "right")
                .await
                .unwrap()
                .is_some()
        );
        let known = fastest(&store, "alice").await;
        for unknown in ["nobody", "nul\0user"] {
            let took = fastest(&store, unknown).await;
            assert!(
                took * 2 > known,
                "{unknown:?}: {took:?}, against {known:?} for a real account"
            );
        }
    }
}
