//! Short-lived caches of configuration that every mail reads (projects of a
//! list id, tag patterns, the initial state, delegation rules). Each entry
//! is re-read after a few seconds, so an edit made by another process (the
//! CLI, the web UI) is seen almost at once, while an import does not ask
//! the database the same question twenty thousand times.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached value is trusted.
pub(crate) const TTL: Duration = Duration::from_secs(5);

/// A map of values that expire.
#[derive(Debug)]
pub(crate) struct TtlMap<K, V> {
    inner: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

impl<K, V> Default for TtlMap<K, V> {
    fn default() -> Self {
        TtlMap {
            inner: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V> TtlMap<K, V> {
    /// The fresh value for `key`, if any.
    pub(crate) fn get(&self, key: &K) -> Option<Arc<V>> {
        let guard = self.inner.lock().ok()?;
        let (at, v) = guard.get(key)?;
        (at.elapsed() < TTL).then(|| Arc::clone(v))
    }

    /// Stores `value` for `key` and returns it shared.
    pub(crate) fn put(&self, key: K, value: V) -> Arc<V> {
        let value = Arc::new(value);
        if let Ok(mut guard) = self.inner.lock() {
            guard.insert(key, (Instant::now(), Arc::clone(&value)));
        }
        value
    }

    /// Forgets the entries whose key matches.
    pub(crate) fn remove_where(&self, mut doomed: impl FnMut(&K) -> bool) {
        if let Ok(mut guard) = self.inner.lock() {
            guard.retain(|k, _| !doomed(k));
        }
    }

    /// Forgets everything (after a change made through this store).
    pub(crate) fn clear(&self) {
        if let Ok(mut guard) = self.inner.lock() {
            guard.clear();
        }
    }
}

/// Every cache a store keeps.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// Projects receiving a list id, by linkname.
    pub projects: TtlMap<String, Vec<crate::project::Project>>,
    /// Every project by id.
    pub projects_by_id: TtlMap<(), HashMap<i64, crate::project::Project>>,
    /// Tag ids and compiled patterns.
    pub tags: TtlMap<(), Vec<(i64, regex::Regex)>>,
    /// The id of the state new patches get.
    pub initial_state: TtlMap<(), i64>,
    /// Compiled `subject_match` patterns (`None`: not a valid regex).
    pub subject_matches: TtlMap<String, Option<regex::Regex>>,
    /// People by (lower-case address, name), filled only from committed
    /// mails so that a rolled-back insert is never reused.
    pub people: TtlMap<(String, Option<String>), i64>,
    /// Delegation rules of a project, in matching order.
    pub rules: TtlMap<i64, Vec<(i64, String)>>,
    /// Every state, by ordering: every list page and filter reads them.
    pub states: TtlMap<(), Vec<crate::state::State>>,
    /// Every tag, for the lists' columns.
    pub tag_list: TtlMap<(), Vec<crate::tag::Tag>>,
    /// Maintainers by project, per set of projects asked for.
    pub maintainers: TtlMap<Vec<i64>, HashMap<i64, Vec<crate::refs::UserRef>>>,
}
