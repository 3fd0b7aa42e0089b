//! Civil-time helpers: timestamps at the start of a line to Unix milliseconds, and back.
//!
//! Contract: `parse_iso_prefix` reads a timestamp at the very start of a line (`2025-03-14T01:22:05.117Z`,
//! a space instead of `T`, an optional fraction, `Z` or `±hh:mm` / `±hhmm`; no zone means UTC) and says
//! how many bytes it used. `parse_local_prefix` reads the same shapes but gives a zone-less timestamp a
//! fixed offset instead of UTC: `tcb fn log` prints Beijing time (`2025-03-14 09:22:05`, [`BEIJING`]).
//! An explicit `Z` or offset always wins. `format_utc` prints `2025-03-14T01:22:05.117Z`.
//!
//! The calendar (day counts, month lengths, leap years, offsets) is `jiff`'s; only finding where a
//! timestamp ends in a log line is done here, because jiff parses whole strings and our lines go on after
//! the time. A leap second (`:60`) reads as `:59`, as jiff's own parsers do; a date that does not
//! exist (`02-30`) is no timestamp.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// China Standard Time, UTC+8, no daylight saving: the zone `tcb fn log` and the consoles print in.
pub const BEIJING: Offset = Offset::constant(8);

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// Parses an ISO-8601 timestamp at the start of `b`; no zone means UTC. Returns (Unix ms, bytes consumed).
pub fn parse_iso_prefix(b: &[u8]) -> Option<(i64, usize)> {
    parse_local_prefix(b, Offset::UTC)
}

/// Parses a timestamp at the start of `b` like [`parse_iso_prefix`], but a timestamp without `Z` or an
/// offset is civil time at `local` (for `tcb fn log`, [`BEIJING`]). Returns (Unix ms, bytes consumed).
pub fn parse_local_prefix(b: &[u8], local: Offset) -> Option<(i64, usize)> {
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    let (month, day) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (hour, min, sec) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    let mut at = 19;
    let mut nanos = 0u32;
    if matches!(b.get(at), Some(b'.' | b',')) {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let mut offset = local;
    match b.get(at) {
        Some(b'Z' | b'z') => {
            offset = Offset::UTC;
            at += 1;
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, at + 1, 2)?;
            let (om, used) = match b.get(at + 3) {
                Some(b':') => (digits(b, at + 4, 2)?, 6),
                _ => (digits(b, at + 3, 2)?, 5),
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i32::try_from(oh * 3600 + om * 60).ok()?;
            offset = Offset::from_seconds(if sign == b'-' { -secs } else { secs }).ok()?;
            at += used;
        }
        _ => {}
    }
    let narrow = |v: u32| i8::try_from(v).ok();
    let dt = DateTime::new(
        i16::try_from(year).ok()?,
        narrow(month)?,
        narrow(day)?,
        narrow(hour)?,
        narrow(min)?,
        narrow(sec.min(59))?,
        i32::try_from(nanos).ok()?,
    )
    .ok()?;
    let ts = offset.to_timestamp(dt).ok()?;
    // Milliseconds, truncated like the fraction digits beyond the third always were.
    Some((ts.as_millisecond(), at))
}

/// `2025-03-14T01:22:05.117Z`. Times beyond jiff's range (years -9999..=9999) print as its bounds.
pub fn format_utc(ms: i64) -> String {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX });
    let dt = Offset::UTC.to_datetime(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
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
        for ms in [0, 1_640_577_239_192, 951_782_400_000 /* 2000-02-29 */, 4_102_444_799_999, -1] {
            let s = format_utc(ms);
            assert_eq!(parse_iso_prefix(s.as_bytes()).map(|(v, _)| v), Some(ms), "{s}");
        }
        assert_eq!(format_utc(1_640_577_239_192), "2021-12-27T03:53:59.192Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn beijing_local_time_and_explicit_offsets() {
        // `tcb fn log` prints Beijing time with no zone: 09:22:05 in Beijing is 01:22:05 UTC.
        let utc = parse_iso_prefix(b"2025-03-14T01:22:05Z").unwrap().0;
        assert_eq!(parse_local_prefix(b"2025-03-14 09:22:05 ", BEIJING), Some((utc, 19)));
        assert_eq!(parse_local_prefix(b"2025-03-14 09:22:05.117", BEIJING), Some((utc + 117, 23)));
        // Across midnight and a year end.
        assert_eq!(
            parse_local_prefix(b"2025-01-01 07:59:59", BEIJING).unwrap().0,
            parse_iso_prefix(b"2024-12-31T23:59:59Z").unwrap().0
        );
        // An explicit zone wins over the local default.
        assert_eq!(parse_local_prefix(b"2025-03-14T01:22:05Z", BEIJING).unwrap().0, utc);
        assert_eq!(parse_local_prefix(b"2025-03-14T09:22:05+08:00", BEIJING).unwrap().0, utc);
        assert_eq!(parse_iso_prefix(b"2025-03-13T20:22:05-0500").unwrap(), (utc, 24));
        assert_eq!(parse_iso_prefix(b"2025-03-14T06:52:05+05:30").unwrap().0, utc);
    }

    #[test]
    fn impossible_dates_and_leap_seconds() {
        assert_eq!(parse_iso_prefix(b"2023-02-29T00:00:00Z"), None);
        assert!(parse_iso_prefix(b"2024-02-29T00:00:00Z").is_some());
        assert_eq!(parse_iso_prefix(b"2021-12-27T24:00:00Z"), None);
        assert_eq!(
            parse_iso_prefix(b"2016-12-31T23:59:60Z").unwrap().0,
            parse_iso_prefix(b"2016-12-31T23:59:59Z").unwrap().0
        );
        assert_eq!(parse_iso_prefix(b"2021-12-27T03:53:59+25:00"), None);
        // Nanosecond fractions are cut to milliseconds.
        assert_eq!(parse_iso_prefix(b"1970-01-01T00:00:00.123456789123Z"), Some((123, 33)));
    }
}
