//! Patchwork's naive datetimes (Django with `USE_TZ = False`) as UTC
//! instants: mail dates are naive UTC already (the parser converts the
//! `Date:` header), dates of what happened on the site are naive local
//! time of the site's `TIME_ZONE`.

use crate::time::Micros;

/// `2026-12-02 09:12:43.123337` (or with a `T`) in `zone`, as UTC
/// microseconds. In the hour a zone repeats when its clocks go back, the
/// earlier of the two instants (a naive value cannot say which it was).
pub(crate) fn naive_to_micros(text: &str, zone: &jiff::tz::TimeZone) -> Option<Micros> {
    let text = text.trim();
    // A value with an offset (a SQLite file written by something other
    // than Django) is taken as the instant it names.
    if let Ok(ts) = text.replacen(' ', "T", 1).parse::<jiff::Timestamp>() {
        return Some(ts.as_microsecond());
    }
    let civil: jiff::civil::DateTime = text.replacen(' ', "T", 1).parse().ok()?;
    let zoned = zone.to_ambiguous_zoned(civil).earlier().ok()?;
    Some(zoned.timestamp().as_microsecond())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::time::iso;

    fn canberra() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get("Australia/Canberra").unwrap()
    }

    #[test]
    fn mail_dates_are_utc() {
        let t = naive_to_micros("2023-12-07 03:22:21", &jiff::tz::TimeZone::UTC).unwrap();
        assert_eq!(iso(t), "2023-12-07T03:22:21");
    }

    #[test]
    fn site_dates_are_canberra_time() {
        // The fixture's check 1, written at 2026-12-01 22:12 UTC (AEDT, +11).
        let t = naive_to_micros("2026-12-02 09:12:43.123337", &canberra()).unwrap();
        assert_eq!(iso(t), "2026-12-01T22:12:43.123337");
        // Winter: AEST, +10.
        let t = naive_to_micros("2026-07-01T10:00:00", &canberra()).unwrap();
        assert_eq!(iso(t), "2026-07-01T00:00:00");
    }

    #[test]
    fn the_repeated_hour_takes_the_earlier_instant() {
        // Clocks went back from 03:00 AEDT to 02:00 AEST on 2026-04-05.
        let t = naive_to_micros("2026-04-05 02:30:00", &canberra()).unwrap();
        assert_eq!(iso(t), "2026-04-04T15:30:00");
    }

    #[test]
    fn not_a_date() {
        assert_eq!(naive_to_micros("yesterday", &canberra()), None);
    }
}
