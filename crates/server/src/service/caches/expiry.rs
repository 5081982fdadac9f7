//! When a cache expires: `ttl` (a protobuf Duration in its JSON form, decimal seconds with an
//! `s`: `"300s"`, `"1.5s"`) from now, or `expireTime` (RFC 3339), one of the two; an hour from
//! now when neither is given, as Google's default.

use chrono::DateTime;

use super::error::CacheError;

pub const DEFAULT_TTL_MS: i64 = 3_600_000;

/// `"300s"` in milliseconds.
pub fn parse_ttl(value: &str, field: &'static str) -> Result<i64, CacheError> {
    let bad = || CacheError::BadValue {
        field,
        value: value.to_string(),
        expected: "expected a duration in seconds such as \"300s\".",
    };
    let seconds: f64 = value.strip_suffix('s').ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if !seconds.is_finite() || !(0.0..=1e12).contains(&seconds) {
        return Err(bad());
    }
    Ok((seconds * 1000.0).round() as i64)
}

/// An RFC 3339 time in Unix milliseconds.
pub fn parse_time(value: &str, field: &'static str) -> Result<i64, CacheError> {
    DateTime::parse_from_rfc3339(value).map(|t| t.timestamp_millis()).map_err(|_| CacheError::BadValue {
        field,
        value: value.to_string(),
        expected: "expected an RFC 3339 time such as \"2026-01-01T00:00:00Z\".",
    })
}

/// The expiry `ttl` or `expire_time` ask for, at `now_ms` (`None` for both: the default).
pub fn expiry(
    ttl: Option<&str>,
    expire_time: Option<&str>,
    now_ms: i64,
    field_prefix: Fields,
) -> Result<i64, CacheError> {
    match (ttl, expire_time) {
        (Some(_), Some(_)) => Err(CacheError::BothExpiries),
        (Some(ttl), None) => Ok(now_ms + parse_ttl(ttl, field_prefix.ttl)?),
        (None, Some(t)) => {
            let at = parse_time(t, field_prefix.expire_time)?;
            if at <= now_ms {
                return Err(CacheError::ExpiryPast { value: t.to_string() });
            }
            Ok(at)
        }
        (None, None) => Ok(now_ms + DEFAULT_TTL_MS),
    }
}

/// The paths the two fields are named by in refusals.
#[derive(Clone, Copy)]
pub struct Fields {
    pub ttl: &'static str,
    pub expire_time: &'static str,
}

pub const CREATE_FIELDS: Fields = Fields { ttl: "cached_content.ttl", expire_time: "cached_content.expire_time" };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_times_and_the_default() {
        assert_eq!(parse_ttl("300s", "ttl"), Ok(300_000));
        assert_eq!(parse_ttl("1.5s", "ttl"), Ok(1_500));
        assert!(parse_ttl("300", "ttl").is_err() && parse_ttl("-1s", "ttl").is_err());
        assert_eq!(expiry(None, None, 10, CREATE_FIELDS), Ok(10 + DEFAULT_TTL_MS));
        assert_eq!(expiry(Some("2s"), None, 10, CREATE_FIELDS), Ok(2_010));
        assert_eq!(expiry(None, Some("1970-01-01T00:00:01Z"), 10, CREATE_FIELDS), Ok(1_000));
        assert!(matches!(
            expiry(None, Some("1970-01-01T00:00:00Z"), 10, CREATE_FIELDS),
            Err(CacheError::ExpiryPast { .. })
        ));
        assert_eq!(expiry(Some("1s"), Some("x"), 0, CREATE_FIELDS), Err(CacheError::BothExpiries));
    }
}
