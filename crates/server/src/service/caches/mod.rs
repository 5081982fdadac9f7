//! Context caches (`cachedContents`): the part of requests a project asks to keep (contents,
//! system instruction, tools, tool config) under a name, for one model, until it expires;
//! and its use, `cachedContent: "cachedContents/{id}"` in a request, which puts the cached
//! part first and the request's own contents after it.
//!
//! The cache is kept in the store, not in an engine, so every replica and a restarted server
//! serve it. Its reuse in the engine is the prefix cache's: the cached part renders to the
//! same prompt prefix on every use, and the engine's exact prefix reuse skips its prefill
//! (copied cells, bit-identical to a cold prefill, so answers are the same with or without
//! the cache).

pub mod error;
pub mod expiry;

use std::sync::Arc;

use bytes::Bytes;
use gemd_store::{CachesPage, Store, StoredCache};
use rand::Rng;
use serde_json::{Map, Value};

pub use error::CacheError;

use super::error::ApiError;

/// The request keys a cache holds, by their JSON name and the proto spelling also accepted.
const CACHED_KEYS: [(&str, &str); 4] = [
    ("contents", "contents"),
    ("systemInstruction", "system_instruction"),
    ("tools", "tools"),
    ("toolConfig", "tool_config"),
];
const CACHED_CONTENT: [&str; 2] = ["cachedContent", "cached_content"];
const NESTED_REQUEST: [&str; 2] = ["generateContentRequest", "generate_content_request"];

/// The cached part of a creation's body (`cachedContents.create`), in the JSON names.
pub fn cached_part(body: &Map<String, Value>) -> Value {
    let mut part = Map::new();
    for (json, proto) in CACHED_KEYS {
        if let Some(v) = body.get(json).or_else(|| body.get(proto)) {
            part.insert(json.to_string(), v.clone());
        }
    }
    Value::Object(part)
}

/// `cachedContents/{id}` or the bare id.
fn id_of(name: &str) -> &str {
    name.strip_prefix("cachedContents/").unwrap_or(name)
}

/// A generated id (Google's are 12 or more characters of `[a-z0-9]`).
pub fn new_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

/// The caches of the store, seen by one project at a time.
pub struct Caches {
    pub store: Arc<dyn Store>,
}

impl Caches {
    pub async fn insert(&self, cache: &StoredCache) -> Result<(), ApiError> {
        Ok(self.store.insert_cache(cache).await?)
    }

    /// The project's live cache `name`; anything else is [`CacheError::NotFound`].
    pub async fn get(&self, project_id: &str, name: &str, now_ms: i64) -> Result<StoredCache, ApiError> {
        match self.store.get_cache(id_of(name)).await? {
            Some(c) if c.project_id == project_id && c.expires_at_ms > now_ms => Ok(c),
            _ => Err(CacheError::NotFound.into()),
        }
    }

    pub async fn list(&self, project_id: &str, page_size: i64, token: Option<&str>) -> Result<CachesPage, ApiError> {
        match self.store.list_caches(project_id, token.filter(|t| !t.is_empty()), page_size).await {
            Err(gemd_store::StoreError::NotFound(_)) => Err(CacheError::PageToken.into()),
            other => Ok(other?),
        }
    }

    /// Moves the expiry of the project's cache `name`; the cache as it is now.
    pub async fn set_expiry(
        &self,
        project_id: &str,
        name: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<StoredCache, ApiError> {
        let cache = self.get(project_id, name, now_ms).await?;
        self.store.set_cache_expiry(&cache.id, expires_at_ms, now_ms).await?;
        Ok(StoredCache { expires_at_ms, updated_at_ms: now_ms, ..cache })
    }

    pub async fn delete(&self, project_id: &str, name: &str, now_ms: i64) -> Result<(), ApiError> {
        let cache = self.get(project_id, name, now_ms).await?;
        self.store.delete_cache(&cache.id).await?;
        Ok(())
    }

    /// `body` with the cache it names put in: for the model `model` (a canonical id), the
    /// project's cache, its part first. The body as it came when it names none (or is not
    /// JSON: the route's parser says what is wrong with it).
    pub async fn apply(&self, project_id: &str, model: &str, body: Bytes, now_ms: i64) -> Result<Bytes, ApiError> {
        let mentions = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        if !(mentions(b"cachedContent") || mentions(b"cached_content")) {
            return Ok(body);
        }
        let Ok(mut request) = serde_json::from_slice::<Value>(&body) else { return Ok(body) };
        let Some(top) = request.as_object_mut() else { return Ok(body) };
        // countTokens may carry the request inside `generateContentRequest`.
        let target = match NESTED_REQUEST.iter().find(|k| top.get(**k).is_some_and(Value::is_object)) {
            Some(k) => top.get_mut(*k).and_then(Value::as_object_mut).expect("checked to be an object"),
            None => top,
        };
        let Some(name) = take_name(target) else { return Ok(body) };
        let cache = self.get(project_id, &name, now_ms).await?;
        let cache_model = cache.model.strip_prefix("models/").unwrap_or(&cache.model);
        if cache_model != model {
            return Err(CacheError::OtherModel { request: format!("models/{model}"), cache: cache.model }.into());
        }
        let part: Value = serde_json::from_str(&cache.body)
            .map_err(|e| ApiError::from(gemd_store::StoreError::Corrupt(format!("cache {}: {e}", cache.id))))?;
        merge(&part, target)?;
        Ok(Bytes::from(serde_json::to_vec(&request).map_err(ApiError::InvalidJson)?))
    }
}

/// Removes the request's `cachedContent`; its value, when it names one.
fn take_name(request: &mut Map<String, Value>) -> Option<String> {
    let key = CACHED_CONTENT.iter().find(|k| request.contains_key(**k))?;
    match request.remove(*key)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Puts the cached `part` in front of `request`: its contents before the request's, its
/// system instruction, tools and tool config instead of the request's, which may set none.
pub fn merge(part: &Value, request: &mut Map<String, Value>) -> Result<(), CacheError> {
    let overrides =
        CACHED_KEYS[1..].iter().any(|(json, proto)| request.contains_key(*json) || request.contains_key(*proto));
    if overrides {
        return Err(CacheError::WithOverrides);
    }
    let own = request.remove("contents").unwrap_or(Value::Array(Vec::new()));
    let mut contents: Vec<Value> = part.get("contents").and_then(Value::as_array).cloned().unwrap_or_default();
    contents.extend(own.as_array().cloned().unwrap_or_default());
    request.insert("contents".into(), Value::Array(contents));
    for (json, _) in &CACHED_KEYS[1..] {
        if let Some(v) = part.get(*json) {
            request.insert(json.to_string(), v.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_cached_part_goes_first_and_the_request_may_not_override_it() {
        let part = cached_part(
            json!({"model": "models/m", "contents": [{"role": "user", "parts": [{"text": "doc"}]}],
                   "system_instruction": {"parts": [{"text": "be brief"}]}, "ttl": "60s"})
            .as_object()
            .unwrap(),
        );
        assert_eq!(
            part,
            json!({"contents": [{"role": "user", "parts": [{"text": "doc"}]}],
                   "systemInstruction": {"parts": [{"text": "be brief"}]}})
        );
        let mut req = json!({"contents": [{"role": "user", "parts": [{"text": "q"}]}]});
        merge(&part, req.as_object_mut().unwrap()).unwrap();
        assert_eq!(req["contents"].as_array().unwrap().len(), 2);
        assert_eq!(req["contents"][1]["parts"][0]["text"], "q");
        assert_eq!(req["systemInstruction"]["parts"][0]["text"], "be brief");
        let mut overriding = json!({"contents": [], "tools": []});
        assert_eq!(merge(&part, overriding.as_object_mut().unwrap()), Err(CacheError::WithOverrides));
    }
}
