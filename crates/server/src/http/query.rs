//! The standard query parameters of Google APIs that gemd reads: `key` (and its system-parameter
//! spelling `$key`), `alt`, the GAPIC form `$alt=json;enum-encoding=int`, paging and
//! `updateMask`. Others
//! (`prettyPrint`, `fields`, `$.xgafv`) are tolerated and ignored.

use axum::http::request::Parts;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestQuery {
    /// Every `key=` / `$key=` value, in order: a request naming two different keys is refused
    /// ([`crate::http::auth`]), so none may silently win over another.
    pub keys: Vec<String>,
    /// `sse` for Server-Sent Events; `json` (or absent) for the JSON forms.
    pub alt: Option<String>,
    pub page_size: Option<String>,
    pub page_token: Option<String>,
    /// `updateMask` of a PATCH: the fields it changes, comma-separated.
    pub update_mask: Option<String>,
}

impl RequestQuery {
    pub fn from_parts(parts: &Parts) -> Self {
        Self::parse(parts.uri.query().unwrap_or(""))
    }

    pub fn parse(raw: &str) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
        let mut q = RequestQuery::default();
        for (k, v) in pairs {
            match k.as_str() {
                "key" | "$key" => q.keys.push(v),
                "alt" => q.alt = Some(v),
                // `$alt=json;enum-encoding=int`: the data format is the part before `;`.
                "$alt" => q.alt = Some(v.split(';').next().unwrap_or("").to_string()),
                "pageSize" | "page_size" => q.page_size = Some(v),
                "pageToken" | "page_token" => q.page_token = Some(v),
                "updateMask" | "update_mask" => q.update_mask = Some(v),
                _ => {}
            }
        }
        q
    }

    /// `pageSize` as Google's list methods read it: absent, empty, zero or negative is
    /// `default`, more than `max` is `max`; `Err` holds a value that is not a number.
    pub fn page_size(&self, default: i64, max: i64) -> Result<i64, String> {
        match self.page_size.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n <= 0 => Ok(default),
                Ok(n) => Ok(n.min(max)),
                Err(_) => Err(s.to_string()),
            },
        }
    }

    pub fn wants_sse(&self) -> bool {
        self.alt.as_deref() == Some("sse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gapic_alt_is_understood() {
        let q = RequestQuery::parse("%24alt=json%3Benum-encoding%3Dint&key=k");
        assert_eq!(q.alt.as_deref(), Some("json"));
        assert_eq!(q.keys, ["k"]);
        assert!(RequestQuery::parse("alt=sse").wants_sse());
    }

    #[test]
    fn every_key_is_kept_in_order() {
        assert_eq!(RequestQuery::parse("key=a&alt=sse&%24key=b&key=a").keys, ["a", "b", "a"]);
        assert!(RequestQuery::parse("alt=json").keys.is_empty());
    }
}
