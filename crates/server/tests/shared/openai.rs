//! A client of the OpenAI-compatible layer under `/v1beta/openai/`, as the OpenAI SDKs call it
//! (the key as a bearer), and the reader of the layer's error form (the `google.rpc.Status`
//! envelope inside a one-element JSON array).

use serde_json::{json, Value};

use super::server::{TestServer, KEY};

pub const CHAT: &str = "/v1beta/openai/chat/completions";

impl TestServer {
    /// POST to the layer with `Authorization: Bearer <key>`, as the OpenAI SDKs send it.
    pub async fn openai_post(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        let url = format!("{}{path}", self.base);
        self.http.post(url).bearer_auth(key).json(body).send().await.expect("sent")
    }

    pub async fn chat(&self, body: Value) -> (u16, Value) {
        let resp = self.openai_post(CHAT, KEY, &body).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, v)
    }

    pub async fn openai_get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let resp = self.http.get(url).bearer_auth(KEY).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

/// `messages` of one user turn.
pub fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

/// The layer's error form: one-element array holding the native envelope.
pub fn layer_error(status: u16, v: &Value) -> &Value {
    let list = v.as_array().unwrap_or_else(|| panic!("errors are a JSON array: {v}"));
    assert_eq!(list.len(), 1, "{v}");
    let e = &list[0]["error"];
    assert_eq!(e["code"], status, "{v}");
    e
}

/// The error of a chat completion refused with 400 INVALID_ARGUMENT.
pub async fn expect_400(s: &TestServer, body: Value) -> Value {
    let (status, v) = s.chat(body).await;
    assert_eq!(status, 400, "{v}");
    let e = layer_error(400, &v).clone();
    assert_eq!(e["status"], "INVALID_ARGUMENT");
    e
}
