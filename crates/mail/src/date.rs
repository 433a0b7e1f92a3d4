//! `Date:` parsing with the leniency of Python's `email.utils.parsedate_tz`,
//! so that the dates Patchwork would store (and the ±20-minute series window
//! that depends on them) come out the same.

use std::fmt;

/// A UTC instant in whole seconds since 1970-01-01, within years 1 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcSeconds(pub i64);

const MIN_SECS: i64 = -62_135_596_800; // 0001-01-01T00:00:00
const MAX_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59

impl UtcSeconds {
    /// The calendar date and time: (year, month, day, hour, minute, second).
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (m, d) = (u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1));
        let secs = u32::try_from(secs).unwrap_or(0);
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl serde::Serialize for UtcSeconds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for UtcSeconds {
    /// Naive ISO 8601, as Patchwork's API prints dates (no zone suffix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian). The one
/// home of calendar arithmetic: the store dates API values with it too.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const MONTHS: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn zone_offset(tz: &str) -> Option<i64> {
    Some(match tz {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "AST" => -400,
        "ADT" => -300,
        "EST" => -500,
        "EDT" => -400,
        "CST" => -600,
        "CDT" => -500,
        "MST" => -700,
        "MDT" => -600,
        "PST" => -800,
        "PDT" => -700,
        _ => return None,
    })
}

/// Python's `int()` on a short token: optional sign, digits, surrounding
/// whitespace, single underscores between digits.
fn py_int(s: &str) -> Option<i64> {
    let s = crate::text::py_strip(s);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = crate::split::digit_value(c)?;
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

/// The fields `parsedate_tz` extracts: y, m, d, H, M, S and the zone offset
/// in seconds (`None` when the date names no zone).
pub type DateFields = (i64, i64, i64, i64, i64, i64, Option<i64>);

/// A port of `email._parseaddr._parsedate_tz`.
pub fn parsedate_tz(data: &str) -> Option<DateFields> {
    let mut data: Vec<String> = data
        .split(crate::text::py_isspace)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if data.is_empty() {
        return None;
    }
    if data[0].ends_with(',') || DAYS.contains(&data[0].to_lowercase().as_str()) {
        data.remove(0);
    } else if let Some(i) = data[0].rfind(',') {
        data[0] = data[0][i + 1..].to_string();
    }
    if data.len() == 3 {
        let stuff: Vec<String> = data[0].split('-').map(str::to_string).collect();
        if stuff.len() == 3 {
            let mut v = stuff;
            v.extend(data[1..].iter().cloned());
            data = v;
        }
    }
    if data.len() == 4 {
        let s = data[3].clone();
        let i = s.find('+').or_else(|| s.find('-'));
        match i {
            Some(i) if i > 0 => {
                data[3] = s[..i].to_string();
                data.push(s[i..].to_string());
            }
            _ => data.push(String::new()),
        }
    }
    if data.len() < 5 {
        return None;
    }
    data.truncate(5);
    let [mut dd, mut mm, mut yy, mut tm, mut tz]: [String; 5] = data.try_into().ok()?;
    if dd.is_empty() || mm.is_empty() || yy.is_empty() {
        return None;
    }
    mm = mm.to_lowercase();
    if !MONTHS.contains(&mm.as_str()) {
        let swapped = dd.to_lowercase();
        dd = std::mem::replace(&mut mm, swapped);
        if !MONTHS.contains(&mm.as_str()) {
            return None;
        }
    }
    let mut month = MONTHS.iter().position(|m| *m == mm)? as i64 + 1;
    if month > 12 {
        month -= 12;
    }
    if dd.ends_with(',') {
        dd.pop();
    }
    if yy.find(':').is_some_and(|i| i > 0) {
        std::mem::swap(&mut yy, &mut tm);
    }
    if yy.ends_with(',') {
        yy.pop();
        if yy.is_empty() {
            return None;
        }
    }
    if !yy.chars().next().is_some_and(|c| c.is_numeric()) {
        std::mem::swap(&mut yy, &mut tz);
    }
    if tm.ends_with(',') {
        tm.pop();
    }
    let parts: Vec<&str> = tm.split(':').collect();
    let (thh, tmm, tss) = match parts.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        [one] if one.contains('.') => match one.split('.').collect::<Vec<_>>().as_slice() {
            [h, m] => (*h, *m, "0"),
            [h, m, s] => (*h, *m, *s),
            _ => return None,
        },
        _ => return None,
    };
    let mut year = py_int(&yy)?;
    let day = py_int(&dd)?;
    let hour = py_int(thh)?;
    let minute = py_int(tmm)?;
    let second = py_int(tss)?;
    if year < 100 {
        year += if year > 68 { 1900 } else { 2000 };
    }
    let tz = tz.to_uppercase();
    let mut offset = zone_offset(&tz).or_else(|| py_int(&tz));
    if offset == Some(0) && tz.starts_with('-') {
        offset = None;
    }
    let offset = match offset {
        Some(0) => Some(0),
        Some(o) => {
            let sign = o.signum();
            let o = o.checked_abs()?;
            Some(sign * ((o / 100) * 3600 + (o % 100) * 60))
        }
        None => None,
    };
    Some((year, month, day, hour, minute, second, offset))
}

/// The instant a `Date:` value names, converted to UTC like Patchwork's
/// `find_date`. `None` when Patchwork would fall back to "now": missing,
/// unparseable, or out of range. A date without a zone is taken as UTC (the
/// server's zone, in Patchwork).
pub fn parse_date(value: &str) -> Option<UtcSeconds> {
    let (y, mo, d, h, mi, s, off) = parsedate_tz(value)?;
    if !(1..=9999).contains(&y) {
        return None;
    }
    let days = days_from_civil(y, mo, 1).checked_add(d.checked_sub(1)?)?;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(mi.checked_mul(60)?)?
        .checked_add(s)?
        .checked_sub(off.unwrap_or(0))?;
    (MIN_SECS..=MAX_SECS)
        .contains(&secs)
        .then_some(UtcSeconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> Option<String> {
        parse_date(s).map(|d| d.to_string())
    }

    #[test]
    fn rfc2822_and_variants() {
        assert_eq!(
            iso("Fri, 27 Mar 2026 03:04:01 +0000").as_deref(),
            Some("2026-03-27T03:04:01")
        );
        assert_eq!(
            iso("Thu, 26 Mar 2026 23:13:59 -0400").as_deref(),
            Some("2026-03-27T03:13:59")
        );
        assert_eq!(
            iso("26 Mar 2026 23:13 EDT").as_deref(),
            Some("2026-03-27T03:13:00")
        );
        assert_eq!(
            iso("Mon, 1 Jan 99 00:00:00 GMT").as_deref(),
            Some("1999-01-01T00:00:00")
        );
        assert_eq!(
            iso("Wed, 4 Jun 2008 13:14:89 -0700").as_deref(),
            Some("2008-06-04T20:15:29")
        );
    }

    #[test]
    fn garbage_falls_back() {
        assert_eq!(iso("Wg>"), None);
        assert_eq!(iso(""), None);
        assert_eq!(
            iso("Mon, 1 Jan 207777777777777777777714 00:00:00 +0000"),
            None
        );
        assert_eq!(iso("Mon, 1 Jan 2000 23:20407080403080105:04 +0000"), None);
        assert_eq!(iso("Mon, 1 Jan 2000 23:22:904070804030804 +0000"), None);
    }

    #[test]
    fn civil_round_trip() {
        for secs in [MIN_SECS, -1, 0, 951_782_400, MAX_SECS] {
            let (y, mo, d, h, mi, s) = UtcSeconds(secs).civil();
            let back = days_from_civil(y, i64::from(mo), i64::from(d)) * 86_400
                + i64::from(h * 3600 + mi * 60 + s);
            assert_eq!(back, secs);
        }
    }
}
