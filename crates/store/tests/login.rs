//! Password checks on both backends: the right password lets in, every
//! other attempt (wrong password, unknown or impossible user) does not.
//! That an unknown user costs a full password check is asserted without a
//! clock in `user.rs` (a timed threshold failed on a busy CI machine).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::{NewUser, Store};

async fn lets_in(store: &Store, user: &str, password: &str) -> bool {
    store
        .authenticate_password(user, password)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn only_the_right_password_lets_in() {
    for store in common::stores().await {
        for (name, password) in [("alice", Some("right")), ("bob", None)] {
            store
                .add_user(&NewUser {
                    username: name.into(),
                    email: format!("{name}@example.org"),
                    password: password.map(str::to_owned),
                    superuser: false,
                    maintainer_of: vec![],
                })
                .await
                .unwrap();
        }
        assert!(lets_in(&store, "alice", "right").await);
        assert!(!lets_in(&store, "alice", "wrong").await);
        assert!(!lets_in(&store, "alice", "").await);
        assert!(!lets_in(&store, "Alice", "right").await);
        // An account without a password cannot be entered with any, not
        // even with the stand-in hash's own secret.
        assert!(!lets_in(&store, "bob", "").await);
        assert!(!lets_in(&store, "bob", "no such account").await);
        for unknown in ["nobody", "nul\0user", "alice\0"] {
            assert!(!lets_in(&store, unknown, "right").await, "{unknown:?}");
            assert!(!lets_in(&store, unknown, "no such account").await);
        }
    }
}
