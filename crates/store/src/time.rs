//! Timestamps: BIGINT microseconds since the epoch, UTC, on both backends.

use patchtrack_mail::UtcSeconds;

/// Microseconds since 1970-01-01 UTC.
pub type Micros = i64;

/// The current time.
pub fn now() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A mail date as stored.
pub fn from_seconds(s: UtcSeconds) -> Micros {
    s.0.saturating_mul(1_000_000)
}
