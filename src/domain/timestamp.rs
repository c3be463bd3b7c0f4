//! An instant as every layer above handles it: ordered as time, parsed once where text enters,
//! rendered one way.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// An instant in UTC, to the millisecond (finer digits are dropped where one is made). Rendered
/// as RFC 3339 with a fixed width, `2026-12-04T13:20:00.000Z`, so the stored text of two
/// instants sorts as they do (DynamoDB range keys rely on it); compared here as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// Text that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an RFC 3339 date-time such as 2026-12-04T13:20:00Z")]
pub struct InvalidTimestamp(String);

impl Timestamp {
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    /// Any RFC 3339 date-time, in any offset.
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self::from)
            .map_err(|_| InvalidTimestamp(text.to_string()))
    }

    /// `duration` later; the last instant of year 9999 at most.
    pub fn plus(self, duration: Duration) -> Self {
        Self::from(self.0.checked_add(duration).unwrap_or(Self::max()))
    }

    /// `duration` earlier; 0000-01-01T00:00:00Z at least.
    pub fn minus(self, duration: Duration) -> Self {
        Self::from(self.0.checked_sub(duration).unwrap_or(Self::min()))
    }

    pub fn as_datetime(self) -> OffsetDateTime {
        self.0
    }

    /// Seconds since the Unix epoch (a JWT's `NumericDate`, a TTL attribute's value).
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant `seconds` after (or, negative, before) the Unix epoch, held within years 0
    /// to 9999 as `plus` and `minus` hold it.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        let epoch = Self::from(OffsetDateTime::UNIX_EPOCH);
        match seconds >= 0 {
            true => epoch.plus(Duration::seconds(seconds)),
            false => epoch.minus(Duration::seconds(seconds.saturating_neg())),
        }
    }

    fn max() -> OffsetDateTime {
        PrimitiveDateTime::MAX.assume_utc()
    }

    /// 0000-01-01T00:00:00Z: RFC 3339 has no earlier year.
    fn min() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
            .replace_year(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl From<OffsetDateTime> for Timestamp {
    /// In UTC, truncated to the millisecond. An instant past the year 9999 or before 0000 in UTC
    /// (a far offset on an edge year: `9999-12-31T23:59:59-23:00`) is clamped to the edge, so
    /// the year keeps four digits.
    fn from(at: OffsetDateTime) -> Self {
        let utc = match at.checked_to_offset(UtcOffset::UTC) {
            Some(utc) if utc.year() < 0 => Self::min(),
            Some(utc) => utc,
            None if at.year() >= 9999 => Self::max(),
            None => Self::min(),
        };
        Timestamp(utc.replace_millisecond(utc.millisecond()).unwrap_or(utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.0;
        // `pad`, so that widths in format strings (`{:<26}`) apply.
        f.pad(&format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        ))
    }
}

impl FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_renders_utc_with_milliseconds_and_reads_back_the_same() {
        let t = Timestamp::parse("2026-12-04T14:20:00.123456+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-12-04T13:20:00.123Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        assert_eq!(format!("[{t:<26}]"), "[2026-12-04T13:20:00.123Z  ]");
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!("2026-12-04T13:20:00.123Z")
        );
        assert_eq!(
            Timestamp::parse("2026-01-02T03:04:05Z")
                .unwrap()
                .to_string(),
            "2026-01-02T03:04:05.000Z"
        );
    }

    #[test]
    fn instants_compare_as_time_whatever_their_offset_or_text() {
        let earlier = Timestamp::parse("2026-12-04T13:59:00+02:00").unwrap();
        let later = Timestamp::parse("2026-12-04T12:00:00Z").unwrap();
        // As text the earlier instant sorts last.
        assert!("2026-12-04T13:59:00+02:00" > "2026-12-04T12:00:00Z");
        assert!(earlier < later);
        assert_eq!(
            later.minus(Duration::minutes(1)),
            Timestamp::parse("2026-12-04T11:59:00.000Z").unwrap()
        );
        assert!(later.plus(Duration::days(1)) > later);
    }

    #[test]
    fn what_is_not_rfc_3339_is_refused_and_the_edges_clamp() {
        for bad in [
            "",
            "2026-12-04",
            "13:20:00Z",
            "yesterday",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        let edge = Timestamp::parse("9999-12-31T23:59:59-23:00").unwrap();
        assert_eq!(edge.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(edge.plus(Duration::days(400)), edge);
        let first = Timestamp::parse("0000-01-01T00:00:00+23:00").unwrap();
        assert_eq!(first.to_string(), "0000-01-01T00:00:00.000Z");
    }
}
