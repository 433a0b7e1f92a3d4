//! State names and slugs as Patchwork makes and reads them, on both
//! backends.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use patchtrack_store::Refused;

#[tokio::test]
async fn a_state_is_found_by_its_name_or_its_django_slug() {
    for store in common::stores().await {
        let added = store.add_state("Won't fix", false).await.unwrap();
        assert_eq!(added.slug, "wont-fix");
        let umlaut = store.add_state("Geprüft", false).await.unwrap();
        assert_eq!(umlaut.slug, "gepruft");
        for input in ["Won't fix", "wont-fix", "WONT-FIX", " won't  fix "] {
            assert_eq!(
                store.state_for_input(input).await.unwrap(),
                Ok(added.id),
                "{input}"
            );
        }
        assert_eq!(
            store.state_for_input("Geprüft").await.unwrap(),
            Ok(umlaut.id)
        );
        let refused = store
            .state_for_input("won-t-fix")
            .await
            .unwrap()
            .unwrap_err();
        let Refused::UnknownState { value, slugs } = &refused else {
            panic!("{refused:?}");
        };
        assert_eq!(value, "won-t-fix");
        // Every slug, in the states' order: the message lists them.
        assert_eq!(slugs.first().map(String::as_str), Some("new"), "{slugs:?}");
        assert!(
            slugs.ends_with(&["wont-fix".into(), "gepruft".into()]),
            "{slugs:?}"
        );
    }
}

/// Slugs stored by the old rule are repaired when the store migrates; a
/// slug chosen on purpose is kept.
#[tokio::test]
async fn migrate_repairs_slugs_of_the_old_rule() {
    for store in common::stores().await {
        store
            .execute_admin(
                "INSERT INTO state (name, slug, ordering, action_required) VALUES \
                 ('Won''t fix', 'won-t-fix', 90, 0), ('Needs_Ack', 'needs-ack', 91, 1), \
                 ('Chosen', 'my-own', 92, 0)",
            )
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let states = store.states().await.unwrap();
        let slug = |name: &str| {
            states
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.slug.clone())
                .unwrap()
        };
        assert_eq!(slug("Won't fix"), "wont-fix");
        assert_eq!(slug("Needs_Ack"), "needs_ack");
        assert_eq!(slug("Chosen"), "my-own");
        assert_eq!(slug("Under Review"), "under-review");
    }
}
