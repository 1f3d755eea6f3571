//! Segment timestamps (ISO 8601 / RFC 3339 strings) -> Personalize `sentAt` (epoch seconds).

use serde::{Serialize, Serializer};

/// A point in time as whole seconds since the Unix epoch plus nanoseconds: what Personalize's
/// `sentAt` carries (a `timestamp` in the API model, sent by the rest-json protocol as epoch
/// seconds). Serialised as a JSON number of seconds with the fraction, every digit kept
/// (`1551110105.905`, `1715674530.250123`): the text the Rust SDK sends for the same instant
/// ([`SentAt::epoch_seconds`]). The forwarder builds the SDK's timestamp from `secs` and
/// `nanos`, without going through `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SentAt {
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// 0..1_000_000_000.
    pub nanos: u32,
}

impl SentAt {
    /// Seconds since the epoch, with the fraction. An `f64` keeps microseconds for present-day
    /// dates (the spacing of `f64` values near 1.7e9 is about 0.24 µs).
    pub fn as_secs_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// Milliseconds since the epoch (truncated), for logs and comparisons.
    pub fn as_millis(self) -> i64 {
        self.secs * 1000 + i64::from(self.nanos / 1_000_000)
    }
}

impl SentAt {
    /// Smithy's epoch-seconds form, as `aws-smithy-types` writes it in a request: whole
    /// seconds, then the fraction to the nanosecond without trailing zeros.
    pub fn epoch_seconds(self) -> String {
        if self.nanos == 0 {
            return self.secs.to_string();
        }
        let mut out = if self.secs < 0 {
            format!(
                "-{}.{:09}",
                self.secs.unsigned_abs() - 1,
                1_000_000_000 - self.nanos
            )
        } else {
            format!("{}.{:09}", self.secs, self.nanos)
        };
        while out.ends_with('0') {
            out.pop();
        }
        out
    }
}

impl Serialize for SentAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.nanos == 0 {
            return s.serialize_i64(self.secs);
        }
        // A JSON number with every digit of the fraction (an f64 keeps about 7).
        serde_json::value::RawValue::from_string(self.epoch_seconds())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// A valid date and time without `Z` or `±hh:mm`: a local time, which could be any of 26
    /// hours of instants.
    NoOffset,
    /// Not an RFC 3339 date-time.
    Invalid,
}

impl TimeError {
    /// The reason, for an error naming the field.
    pub fn reason(self) -> &'static str {
        match self {
            TimeError::NoOffset => {
                "no UTC offset (Z or +hh:mm): a local time is ambiguous (like 2024-05-14T10:15:30.250+02:00)"
            }
            TimeError::Invalid => {
                "not an RFC 3339 date-time with a time zone (like 2024-05-14T10:15:30.250+02:00)"
            }
        }
    }
}

/// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
///
/// Accepted beyond the strict grammar, because Segment libraries and hand-written events use
/// them: `t`/space as the date-time separator, `z` for `Z`, offsets without the colon (`+0200`)
/// or without minutes (`+02`). Any number of fraction digits (nanoseconds kept, further digits
/// dropped). Second 60 (a leap second) counts as the first second of the next minute.
/// Everything else, including a missing offset (a local time is ambiguous), is rejected.
pub fn parse_rfc3339(s: &str) -> Option<SentAt> {
    parse_timestamp(s).ok()
}

/// [`parse_rfc3339`], telling a date-time without an offset ([`TimeError::NoOffset`]) from
/// anything else.
pub fn parse_timestamp(s: &str) -> Result<SentAt, TimeError> {
    use TimeError::Invalid;
    let b = s.as_bytes();
    if b.len() < 19 {
        return Err(Invalid);
    }
    let year = digits(b, 0, 4).ok_or(Invalid)? as i64;
    let month = digits(b, 5, 2).ok_or(Invalid)?;
    let day = digits(b, 8, 2).ok_or(Invalid)?;
    let hour = digits(b, 11, 2).ok_or(Invalid)?;
    let minute = digits(b, 14, 2).ok_or(Invalid)?;
    let second = digits(b, 17, 2).ok_or(Invalid)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(Invalid);
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(Invalid);
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(Invalid);
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(Invalid);
    }

    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000;
        while i < b.len() && b[i].is_ascii_digit() {
            nanos += u32::from(b[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return Err(Invalid);
        }
    }

    let offset_secs: i64 = match b.get(i) {
        None => return Err(TimeError::NoOffset),
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let sign = if *sign == b'+' { 1 } else { -1 };
            let oh = digits(b, i + 1, 2).ok_or(Invalid)?;
            i += 3;
            let om = match b.get(i) {
                None => 0,
                Some(b':') => {
                    let m = digits(b, i + 1, 2).ok_or(Invalid)?;
                    i += 3;
                    m
                }
                Some(_) => {
                    let m = digits(b, i, 2).ok_or(Invalid)?;
                    i += 2;
                    m
                }
            };
            if oh > 23 || om > 59 {
                return Err(Invalid);
            }
            sign * i64::from(oh * 3600 + om * 60)
        }
        Some(_) => return Err(Invalid),
    };
    if i != b.len() {
        return Err(Invalid);
    }

    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    Ok(SentAt { secs, nanos })
}

/// `n` ASCII digits at `at` as a number.
#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SentAt {
        parse_rfc3339(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn utc_with_milliseconds() {
        let t = at("2019-02-25T15:55:05.905Z");
        assert_eq!(
            t,
            SentAt {
                secs: 1_551_110_105,
                nanos: 905_000_000
            }
        );
        assert_eq!(t.as_millis(), 1_551_110_105_905);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1551110105.905");
        assert_eq!(at("1970-01-01T00:00:00Z"), SentAt { secs: 0, nanos: 0 });
        assert_eq!(
            serde_json::to_string(&at("2019-02-25T15:55:05Z")).unwrap(),
            "1551110105"
        );
    }

    #[test]
    fn every_fraction_digit_is_serialised() {
        let t = at("2024-05-14T08:15:30.123456789Z");
        assert_eq!(t.epoch_seconds(), "1715674530.123456789");
        assert_eq!(serde_json::to_string(&t).unwrap(), "1715674530.123456789");
        let t = at("2024-05-14T08:15:30.250123+00:00");
        assert_eq!(serde_json::to_string(&t).unwrap(), "1715674530.250123");
        assert_eq!(at("1969-12-31T23:59:59.75Z").epoch_seconds(), "-0.25");
        assert_eq!(at("1969-12-31T23:59:58.5Z").epoch_seconds(), "-1.5");
    }

    #[test]
    fn offsets_are_applied() {
        let utc = at("2024-05-14T08:15:30.250Z");
        assert_eq!(at("2024-05-14T10:15:30.250+02:00"), utc);
        assert_eq!(at("2024-05-14T10:15:30.250+0200"), utc);
        assert_eq!(at("2024-05-14T10:15:30.250+02"), utc);
        assert_eq!(at("2024-05-14T03:45:30.250-04:30"), utc);
        assert_eq!(at("2024-05-14 08:15:30.250z"), utc);
        // Across a day boundary backwards.
        assert_eq!(at("2024-01-01T01:00:00+02:00"), at("2023-12-31T23:00:00Z"));
    }

    #[test]
    fn fractions_of_any_length() {
        assert_eq!(at("2024-05-14T08:15:30.1Z").nanos, 100_000_000);
        assert_eq!(at("2024-05-14T08:15:30.123456789Z").nanos, 123_456_789);
        assert_eq!(at("2024-05-14T08:15:30.1234567891234Z").nanos, 123_456_789);
        let t = at("2024-05-14T08:15:30.123456Z");
        assert!((t.as_secs_f64() - 1_715_674_530.123_456).abs() < 1e-6);
    }

    #[test]
    fn calendar_checks() {
        assert_eq!(at("2024-02-29T00:00:00Z").secs, 1_709_164_800);
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_none());
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_some());
        assert!(parse_rfc3339("1900-02-29T00:00:00Z").is_none());
        assert_eq!(at("2016-12-31T23:59:60Z"), at("2017-01-01T00:00:00Z"));
        assert_eq!(at("1969-12-31T23:59:59Z").secs, -1);
    }

    #[test]
    fn rejects_what_is_not_a_date_time() {
        for bad in [
            "",
            "2024-05-14",
            "2024-05-14T08:15:30",
            "2024-05-14T08:15:30.Z",
            "2024-13-14T08:15:30Z",
            "2024-05-32T08:15:30Z",
            "2024-05-14T24:00:00Z",
            "2024-05-14T08:60:00Z",
            "2024-05-14T08:15:30+24:00",
            "2024-05-14T08:15:30Zjunk",
            "2024/05/14T08:15:30Z",
            "1715674530",
            "2024-05-14T08:15:30.250+02:0",
            "２０２４-05-14T08:15:30Z",
        ] {
            assert!(parse_rfc3339(bad).is_none(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_local_time_is_told_apart() {
        for local in [
            "2024-05-14T08:15:30",
            "2024-05-14T08:15:30.250123",
            "2024-05-14 08:15:30.250",
        ] {
            assert_eq!(parse_timestamp(local), Err(TimeError::NoOffset), "{local}");
        }
        for bad in [
            "2024-05-14",
            "2024-05-14T08:15",
            "2024-05-14T08:15:30.",
            "2024-05-14T08:15:30Zjunk",
        ] {
            assert_eq!(parse_timestamp(bad), Err(TimeError::Invalid), "{bad}");
        }
    }

    #[test]
    fn agrees_with_the_time_crate() {
        use time::format_description::well_known::Rfc3339;
        for s in [
            "2015-12-12T19:11:01.249Z",
            "2024-05-14T10:15:30.250+02:00",
            "1999-12-31T23:59:59.999999999-11:45",
            "2038-01-19T03:14:08Z",
            "2100-03-01T12:00:00.5+05:30",
        ] {
            let t = time::OffsetDateTime::parse(s, &Rfc3339).unwrap();
            let ours = at(s);
            assert_eq!(ours.secs, t.unix_timestamp(), "{s}");
            assert_eq!(ours.nanos, t.nanosecond(), "{s}");
        }
    }
}
