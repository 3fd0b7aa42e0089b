//! Civil-time helpers: ISO-8601 timestamps to Unix milliseconds and back, UTC only.
//!
//! Contract: `parse_iso_prefix` reads a timestamp at the very start of a line (`2025-03-14T01:22:05.117Z`,
//! a space instead of `T`, an optional fraction, `Z` or `±hh:mm`; no zone means UTC) and says how many
//! bytes it used; `format_utc` prints `2025-03-14T01:22:05.117Z`. Hand-written because the two formats
//! our logs use do not justify a date-time crate.

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// Parses an ISO-8601 timestamp at the start of `b`. Returns (Unix ms, bytes consumed).
pub fn parse_iso_prefix(b: &[u8]) -> Option<(i64, usize)> {
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let (month, day) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (hour, min, sec) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut at = 19;
    let mut millis = 0i64;
    if matches!(b.get(at), Some(b'.' | b',')) {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                millis = millis * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..3 {
            millis *= 10;
        }
    }
    let mut offset_secs = 0i64;
    match b.get(at) {
        Some(b'Z' | b'z') => at += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, at + 1, 2)?;
            let (om, used) = match b.get(at + 3) {
                Some(b':') => (digits(b, at + 4, 2)?, 6),
                _ => (digits(b, at + 3, 2)?, 5),
            };
            offset_secs = i64::from(oh * 3600 + om * 60);
            if sign == b'+' {
                offset_secs = -offset_secs;
            }
            at += used;
        }
        _ => {}
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec) + offset_secs;
    Some((secs * 1000 + millis, at))
}

/// `2025-03-14T01:22:05.117Z`.
pub fn format_utc(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (mi, rem) = (rem / 60_000, rem % 60_000);
    let (s, milli) = (rem / 1000, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_scf_prints() {
        assert_eq!(parse_iso_prefix(b"2021-12-27T03:53:59.192Z\tabc"), Some((1_640_577_239_192, 24)));
        assert_eq!(parse_iso_prefix(b"2021-12-27 03:53:59"), Some((1_640_577_239_000, 19)));
        assert_eq!(parse_iso_prefix(b"2021-12-27T11:53:59.1+08:00"), Some((1_640_577_239_100, 27)));
        assert_eq!(parse_iso_prefix(b"1970-01-01T00:00:00Z"), Some((0, 20)));
        assert_eq!(parse_iso_prefix(b"2021-13-27T03:53:59Z"), None);
        assert_eq!(parse_iso_prefix(b"START RequestId"), None);
        assert_eq!(parse_iso_prefix(b"2021-12-27T03:53"), None);
    }

    #[test]
    fn formats_round_trip() {
        for ms in [0, 1_640_577_239_192, 951_782_400_000 /* 2000-02-29 */, 4_102_444_799_999] {
            let s = format_utc(ms);
            assert_eq!(parse_iso_prefix(s.as_bytes()).map(|(v, _)| v), Some(ms), "{s}");
        }
        assert_eq!(format_utc(1_640_577_239_192), "2021-12-27T03:53:59.192Z");
    }
}
