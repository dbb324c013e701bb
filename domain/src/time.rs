//! Wall-clock instants as plain values (the clock itself is a port).

use std::fmt;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

/// An instant in UTC with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    unix_millis: i64,
}

/// Years 0000..=9999 keep RFC 3339 text four digits wide.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp { unix_millis: 0 };

    /// Clamps to the years 0000..=9999.
    pub fn from_unix_millis(unix_millis: i64) -> Self {
        Timestamp {
            unix_millis: unix_millis.clamp(MIN_MILLIS, MAX_MILLIS),
        }
    }

    pub fn from_unix_secs_f64(secs: f64) -> Self {
        Self::from_unix_millis((secs * 1000.0).round() as i64)
    }

    pub fn unix_millis(self) -> i64 {
        self.unix_millis
    }

    pub fn unix_secs(self) -> i64 {
        self.unix_millis.div_euclid(1000)
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.unix_millis - earlier.unix_millis) as f64 / 1000.0
    }

    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Self::from_unix_millis(self.unix_millis.saturating_add(millis))
    }

    fn parts(self) -> OffsetDateTime {
        // In range by construction (MIN_MILLIS..=MAX_MILLIS).
        OffsetDateTime::from_unix_timestamp_nanos(self.unix_millis as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `2025-01-15T14:30:00.123Z`
    pub fn to_rfc3339(self) -> String {
        let t = self.parts();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// `20250115T143000Z`: second precision, for recording file names.
    pub fn compact_secs(self) -> String {
        let t = self.parts();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// `20250115T143000.123Z`: millisecond precision, for snapshot file names.
    pub fn compact_millis(self) -> String {
        let t = self.parts();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// Parses RFC 3339 text (any offset; the value is kept in UTC).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
        let millis = t.unix_timestamp_nanos() / 1_000_000;
        Some(Self::from_unix_millis(millis as i64))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_the_api_examples() {
        let t = Timestamp::parse_rfc3339("2025-01-15T14:30:00.123Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-01-15T14:30:00.123Z");
        assert_eq!(t.compact_millis(), "20250115T143000.123Z");
        assert_eq!(t.compact_secs(), "20250115T143000Z");
    }

    #[test]
    fn epoch_is_1970() {
        assert_eq!(
            Timestamp::UNIX_EPOCH.to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(ms in MIN_MILLIS..=MAX_MILLIS) {
            let t = Timestamp::from_unix_millis(ms);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        }

        #[test]
        fn text_order_is_time_order(a in 0i64..=MAX_MILLIS, b in 0i64..=MAX_MILLIS) {
            let (ta, tb) = (Timestamp::from_unix_millis(a), Timestamp::from_unix_millis(b));
            prop_assert_eq!(ta.cmp(&tb), ta.to_rfc3339().cmp(&tb.to_rfc3339()));
        }
    }
}
