//! Timestamps: BIGINT microseconds since the epoch, UTC, on both backends.

use patchtrack_mail::UtcSeconds;
use patchtrack_mail::date::{civil_from_days, days_from_civil};

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

const DAY: i64 = 86_400;

/// The API's date form: naive UTC ISO 8601, `YYYY-MM-DDTHH:MM:SS` plus
/// `.ffffff` only when there are microseconds (as Django renders).
pub fn iso(t: Micros) -> String {
    let secs = t.div_euclid(1_000_000);
    let micros = t.rem_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
    let s = secs.rem_euclid(DAY);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    );
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out
}

/// The parts of a UTC time: year, month, day, hour, minute, second and
/// day of the week (0 = Monday), for mail-style dates.
pub fn parts(t: Micros) -> [i64; 7] {
    let secs = t.div_euclid(1_000_000);
    let days = secs.div_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    let s = secs.rem_euclid(DAY);
    [
        y,
        m,
        d,
        s / 3600,
        s % 3600 / 60,
        s % 60,
        (days + 3).rem_euclid(7),
    ]
}

/// Reads a filter date: `2016-09-11`, `2016-09-11 22:26`,
/// `2016-09-11T22:26:00.5`, optionally with `Z` or `±HH:MM` (converted to
/// UTC; Patchwork fails on those). None when it is not a date.
pub fn parse_iso(s: &str) -> Option<Micros> {
    parse_iso_parts(s).map(|(t, offset)| t - offset.unwrap_or(0) * 60 * 1_000_000)
}

/// The zone a site shows the dates of what is done on it in (events,
/// checks), and reads the `since`/`before` of their filters in.
///
/// Patchwork stores those dates as naive local times of its `TIME_ZONE`
/// and prints them so; pollers hand them back as `?since=`. A site moved
/// from Patchwork therefore keeps showing them in its old zone, or every
/// bot would skip (or see twice) the hours between the two. A new site
/// shows UTC. Mail dates are UTC on both, and do not go through this.
#[derive(Clone, Debug)]
pub struct SiteZone(Option<jiff::tz::TimeZone>);

impl SiteZone {
    /// UTC: a new site.
    pub fn utc() -> SiteZone {
        SiteZone(None)
    }

    /// An IANA zone (`Australia/Canberra`); `UTC` is [`SiteZone::utc`].
    pub fn named(name: &str) -> Result<SiteZone, String> {
        if name.eq_ignore_ascii_case("UTC") {
            return Ok(SiteZone::utc());
        }
        jiff::tz::TimeZone::get(name)
            .map(|z| SiteZone(Some(z)))
            .map_err(|e| format!("unknown time zone {name:?}: {e}"))
    }

    /// The zone's name, as [`SiteZone::named`] takes it.
    pub fn name(&self) -> &str {
        self.0
            .as_ref()
            .and_then(jiff::tz::TimeZone::iana_name)
            .unwrap_or("UTC")
    }

    /// `t` as the API prints it: [`iso`] of the local time, no offset.
    pub fn iso(&self, t: Micros) -> String {
        iso(self.local(t))
    }

    /// The local time at `t`, as microseconds of a naive clock.
    pub fn local(&self, t: Micros) -> Micros {
        match &self.0 {
            None => t,
            Some(zone) => {
                let at =
                    jiff::Timestamp::from_microsecond(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                t + i64::from(zone.to_offset(at).seconds()) * 1_000_000
            }
        }
    }

    /// [`parse_iso`], a value without an offset being a local time of the
    /// zone (in the hour that repeats when clocks go back, the earlier).
    pub fn parse_iso(&self, s: &str) -> Option<Micros> {
        let (naive, offset) = parse_iso_parts(s)?;
        if let Some(minutes) = offset {
            return Some(naive - minutes * 60 * 1_000_000);
        }
        let Some(zone) = &self.0 else {
            return Some(naive);
        };
        let civil = jiff::Timestamp::from_microsecond(naive)
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .datetime();
        let at = zone.to_ambiguous_timestamp(civil).earlier().ok()?;
        Some(at.as_microsecond())
    }
}

/// A filter date as a naive clock (microseconds as if UTC), and the
/// offset in minutes it was written with, if any.
fn parse_iso_parts(s: &str) -> Option<(Micros, Option<i64>)> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut t = days_from_civil(y, mo, d) * DAY * 1_000_000;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some((t, None));
    }
    let rest = rest.strip_prefix(['T', ' '])?;
    let (clock, offset) = split_offset(rest)?;
    let mut fields = clock.splitn(3, ':');
    let h: i64 = fields.next()?.parse().ok()?;
    let mi: i64 = fields.next()?.parse().ok()?;
    let (sec, frac) = match fields.next() {
        Some(sf) => match sf.split_once('.') {
            Some((s, f)) => (s.parse::<i64>().ok()?, f),
            None => (sf.parse::<i64>().ok()?, ""),
        },
        None => (0, ""),
    };
    if h > 23 || mi > 59 || sec > 59 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut micros = 0i64;
    for (i, c) in frac.bytes().take(6).enumerate() {
        micros += i64::from(c - b'0') * 10i64.pow(5 - u32::try_from(i).ok()?);
    }
    t += ((h * 60 + mi) * 60 + sec) * 1_000_000 + micros;
    Some((t, offset))
}

/// Splits a trailing `Z` or `±HH:MM` / `±HHMM` off a clock; the offset in
/// minutes, None when there was none.
fn split_offset(s: &str) -> Option<(&str, Option<i64>)> {
    if let Some(c) = s.strip_suffix(['Z', 'z']) {
        return Some((c, Some(0)));
    }
    if let Some(pos) = s.rfind(['+', '-']) {
        let (clock, off) = s.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let h: i64 = digits[..2].parse().ok()?;
        let m: i64 = digits[2..].parse().ok()?;
        return Some((clock, Some(sign * (h * 60 + m))));
    }
    Some((s, None))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let t = parse_iso("2016-09-11T22:22:04").unwrap_or_default();
        assert_eq!(iso(t), "2016-09-11T22:22:04");
        let t = parse_iso("2026-11-24T12:07:35.872337").unwrap_or_default();
        assert_eq!(iso(t), "2026-11-24T12:07:35.872337");
        assert_eq!(iso(0), "1970-01-01T00:00:00");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999999");
    }

    #[test]
    fn filter_forms() {
        let base = parse_iso("2016-09-11T22:26:00");
        assert!(base.is_some());
        assert_eq!(parse_iso("2016-09-11 22:26"), base);
        assert_eq!(parse_iso("2016-09-11T23:26:00+01:00"), base);
        assert_eq!(parse_iso("2016-09-11T22:26:00Z"), base);
        assert_eq!(
            parse_iso("2016-09-11").map(iso).as_deref(),
            Some("2016-09-11T00:00:00")
        );
        for bad in [
            "garbage",
            "2016-13-01",
            "2016-02-30",
            "2016-09-11X",
            "",
            "2016-09-11T25:00",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn site_zone_round_trip() {
        let canberra = SiteZone::named("Australia/Canberra").unwrap_or_else(|_| SiteZone::utc());
        assert_eq!(canberra.name(), "Australia/Canberra");
        // 2026-12-01 22:12:43 UTC is 09:12:43 the next day in AEDT (+11).
        let t = parse_iso("2026-12-01T22:12:43.123337").unwrap_or_default();
        assert_eq!(canberra.iso(t), "2026-12-02T09:12:43.123337");
        assert_eq!(canberra.parse_iso("2026-12-02T09:12:43.123337"), Some(t));
        // Winter is AEST (+10).
        let w = parse_iso("2024-07-01T00:00:00").unwrap_or_default();
        assert_eq!(canberra.iso(w), "2024-07-01T10:00:00");
        // An explicit offset names the instant whatever the zone.
        assert_eq!(canberra.parse_iso("2026-12-01T22:12:43.123337Z"), Some(t));
        let utc = SiteZone::utc();
        assert_eq!(utc.iso(t), iso(t));
        assert_eq!(utc.parse_iso("2026-12-01T22:12:43.123337"), Some(t));
        assert!(SiteZone::named("Mars/Olympus").is_err());
    }

    #[test]
    fn weekday() {
        // 2020-02-03 was a Monday.
        let t = parse_iso("2020-02-03T04:05:06").unwrap_or_default();
        assert_eq!(parts(t), [2020, 2, 3, 4, 5, 6, 0]);
    }
}
