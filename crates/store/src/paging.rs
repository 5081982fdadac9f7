//! Keyset paging of a project's records, newest first: the cursor of a page is its last
//! record's `created_at:id`, and the next page is what sorts after it. Unlike an offset, a
//! cursor stays right while records are added or removed between two pages.

use crate::StoreError;

/// Where a page starts: after `(created_at, id)`; the first page starts after everything.
pub(crate) fn start(after: Option<&str>) -> Result<(i64, String), StoreError> {
    let Some(c) = after else { return Ok((i64::MAX, String::new())) };
    let bad = || StoreError::NotFound(format!("page cursor {c}"));
    let (at, id) = c.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_string()))
}

/// A page of `limit` records from `rows`, read one past the limit, and the cursor of the next
/// page when there is one (`key`: a record's `created_at` and id).
pub(crate) fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> (i64, &str)) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = more.then(|| rows.last().map(|r| format!("{}:{}", key(r).0, key(r).1))).flatten();
    (rows, next)
}
