//! Request ids and timestamps in the formats AWS uses.

use time::macros::format_description;
use time::OffsetDateTime;

/// A random (version 4) UUID, lower-case hex: the format of Lambda request ids.
pub fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `2019-11-14T18:16:05.568Z`: UTC with milliseconds, as in Lambda destination records.
pub fn timestamp_millis(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid_v4());
    }

    #[test]
    fn timestamp_shape() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_573_755_365_568_000_000).unwrap();
        assert_eq!(timestamp_millis(at), "2019-11-14T18:16:05.568Z");
    }
}
