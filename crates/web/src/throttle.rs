//! Failed logins, counted per account and per client address, for every
//! way of giving a password (the login form, HTTP Basic on the API).
//!
//! Patchwork has no throttle: a password can be guessed as fast as the
//! server answers. Here an address that fails [`PER_ADDRESS`] times in
//! [`WINDOW`] waits until that window ends, and an account that fails
//! [`PER_ACCOUNT`] times in [`WINDOW`] is closed for [`ACCOUNT_PAUSE`]
//! after each further failure. The pause is short on purpose: an attacker
//! who guesses at a real user's name gets one guess a minute, and the real
//! user is kept out for a minute at most, never for long.
//!
//! The counts live in the process (each `serve` node keeps its own), hold
//! a bounded number of entries and forget everything older than the window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far back failures count.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Failures an address may have in [`WINDOW`].
pub const PER_ADDRESS: u32 = 30;
/// Failures an account may have in [`WINDOW`] before it pauses.
pub const PER_ACCOUNT: u32 = 10;
/// How long an account over [`PER_ACCOUNT`] stays closed after a failure.
pub const ACCOUNT_PAUSE: Duration = Duration::from_secs(60);
/// Entries kept before the oldest are forgotten (memory stays bounded
/// whatever names an attacker tries).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
}

/// The failed logins of the process.
#[derive(Debug, Default)]
pub struct Logins {
    failures: Mutex<HashMap<Key, Failures>>,
}

impl Logins {
    /// How long `account` (from `address`) must wait before its password
    /// is checked; `None` when it may try now.
    pub fn wait(&self, account: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        if let Some(f) = map.get(&account_key(account))
            && f.count >= PER_ACCOUNT
            && now.duration_since(f.first) < WINDOW
        {
            wait = wait.max(ACCOUNT_PAUSE.saturating_sub(now.duration_since(f.last)));
        }
        if let Some(f) = address.and_then(|a| map.get(&Key::Address(a)))
            && f.count >= PER_ADDRESS
        {
            wait = wait.max(WINDOW.saturating_sub(now.duration_since(f.first)));
        }
        (!wait.is_zero()).then_some(wait)
    }

    /// Counts a wrong password.
    pub fn failed(&self, account: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, f| now.duration_since(f.first) < WINDOW);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        let keys = std::iter::once(account_key(account)).chain(address.map(Key::Address));
        for key in keys {
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                first: now,
                last: now,
            });
            if now.duration_since(f.first) >= WINDOW {
                *f = Failures {
                    count: 0,
                    first: now,
                    last: now,
                };
            }
            f.count += 1;
            f.last = now;
        }
    }

    /// Forgets an account's failures after a right password.
    pub fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&account_key(account));
    }
}

/// Usernames compare exactly in the store; a case-folded key also counts
/// `Alice` and `alice` together, which only makes guessing slower.
fn account_key(account: &str) -> Key {
    Key::Account(account.to_lowercase())
}

/// Seconds for a `Retry-After` header, rounded up.
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_pauses_after_its_failures_and_success_clears_it() {
        let logins = Logins::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for _ in 0..PER_ACCOUNT - 1 {
            logins.failed("Alice", Some(a));
        }
        assert_eq!(logins.wait("alice", None), None);
        logins.failed("alice", Some(a));
        let wait = logins.wait("alice", None).unwrap_or_default();
        assert!(
            wait > Duration::from_secs(55) && wait <= ACCOUNT_PAUSE,
            "{wait:?}"
        );
        assert_eq!(logins.wait("bob", None), None, "other accounts are open");
        logins.succeeded("alice");
        assert_eq!(logins.wait("alice", None), None);
    }

    #[test]
    fn an_address_waits_for_its_window() {
        let logins = Logins::default();
        let a: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for i in 0..PER_ADDRESS {
            logins.failed(&format!("user{i}"), Some(a));
        }
        let wait = logins.wait("someone", Some(a)).unwrap_or_default();
        assert!(wait > WINDOW - Duration::from_secs(5), "{wait:?}");
        assert_eq!(
            logins.wait("someone", None),
            None,
            "other addresses are open"
        );
        assert_eq!(retry_after(Duration::from_millis(1500)), 2);
    }
}
