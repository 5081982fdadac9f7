//! Every refusal answers with the `google.rpc.Status` envelope, the right status and field.
//! (A prompt over the input limit, counted by the real tokenizer: http/errors.rs.)

use serde_json::{json, Value};

use crate::harness::{TestServer, KEY, TEST_BODY_LIMIT};
use crate::shared::native::{expect_400, violation_field};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

#[tokio::test]
async fn missing_key_is_403_with_the_exact_body() {
    let s = TestServer::scripted().await;
    let resp = s
        .http
        .post(format!("{}{GEN}", s.base))
        .body(r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v,
        json!({"error": {"code": 403, "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "status": "PERMISSION_DENIED"}})
    );
}

#[tokio::test]
async fn invalid_key_is_400_api_key_invalid_by_header_and_query() {
    let s = TestServer::scripted().await;
    for req in [
        s.http.post(format!("{}{GEN}", s.base)).header("x-goog-api-key", "AIzaWrong"),
        s.http.post(format!("{}{GEN}?key=AIzaWrong", s.base)),
    ] {
        let resp = req.body(r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#).send().await.unwrap();
        assert_eq!(resp.status(), 400);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["message"], "API key not valid. Please pass a valid API key.");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(v["error"]["details"][0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
        assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");
        assert_eq!(v["error"]["details"][0]["metadata"]["service"], "generativelanguage.googleapis.com");
        assert_eq!(v["error"]["details"][1]["@type"], "type.googleapis.com/google.rpc.LocalizedMessage");
    }
    // The query key works as well as the header.
    let ok = s
        .http
        .post(format!("{}{GEN}?key={KEY}", s.base))
        .body(r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":2}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields() {
    let s = TestServer::scripted().await;
    let v = expect_400(&s, r#"{"contents": [{"parts": [{"text": "hi"}]}"#).await;
    assert!(v["error"]["message"].as_str().unwrap().starts_with("Invalid JSON payload received."));

    let v = expect_400(&s, r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"effortLevel":1}}"#).await;
    assert_eq!(
        v["error"]["message"],
        "Invalid JSON payload received. Unknown name \"effortLevel\" at 'generation_config': Cannot find field."
    );
    assert_eq!(violation_field(&v), Some("generation_config"));

    let v = expect_400(&s, r#"{"contents":[{"parts":[{"text":"hi"}]}],"bogus":true}"#).await;
    assert_eq!(v["error"]["message"], "Invalid JSON payload received. Unknown name \"bogus\": Cannot find field.");
    assert_eq!(violation_field(&v), None);

    let v =
        expect_400(&s, r#"{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":"hot"}}"#).await;
    assert_eq!(v["error"]["message"], "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"");
    assert_eq!(violation_field(&v), Some("generation_config.temperature"));

    let v = expect_400(&s, r#"{"contents":[{"parts":[{"text":1}]}]}"#).await;
    assert_eq!(violation_field(&v), Some("contents[0].parts[0].text"));
}

#[tokio::test]
async fn empty_contents_and_parts() {
    let s = TestServer::scripted().await;
    let v = expect_400(&s, r#"{"contents":[]}"#).await;
    assert_eq!(v["error"]["message"], "* GenerateContentRequest.contents: contents is not specified\n");
    let v = expect_400(&s, r#"{}"#).await;
    assert_eq!(violation_field(&v), Some("contents"));
    let v = expect_400(&s, r#"{"contents":[{"role":"user","parts":[]}]}"#).await;
    assert_eq!(violation_field(&v), Some("contents[0].parts"));
}

#[tokio::test]
async fn unknown_model_and_method_are_404_in_the_spec_wording() {
    let s = TestServer::scripted().await;
    let (status, v) = s
        .post_json("/v1beta/models/gemini-9-ultra:generateContent", r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#)
        .await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["status"], "NOT_FOUND");
    assert_eq!(
        v["error"]["message"],
        "models/gemini-9-ultra is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
    );
    let (status, v) = s.post_json("/v1/models/gemini-2.5-flash:embedContent", r#"{}"#).await;
    assert_eq!(status, 404);
    assert!(v["error"]["message"].as_str().unwrap().contains("is not supported for embedContent"));
    let (status, v) = s.get_json("/v1beta/models/nope").await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = s.get_json("/v2/models").await;
    assert_eq!((status, v["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn oversized_body_is_413_in_the_envelope() {
    let s = TestServer::scripted().await;
    let big = "x".repeat(TEST_BODY_LIMIT + 10);
    let resp = s.post(GEN, &json!({"contents":[{"parts":[{"text": big}]}]}).to_string()).await;
    assert_eq!(resp.status(), 413);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], 413);
    assert!(v["error"]["message"].as_str().unwrap().contains("exceeds the limit"));
}

#[tokio::test]
async fn unsupported_parts_and_features_are_named() {
    let s = TestServer::scripted().await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAIAQMAAAD+wSzIAAAABlBMVEX///+/v7+jQ3Y5AAAADklEQVQI12P4AIX8EAgALgAD/aNpbtEAAAAASUVORK5CYII";
    let v = expect_400(&s, &json!({"contents":[{"parts":[{"text":"what is this?"},{"inline_data":{"mime_type":"image/png","data": png}}]}]}).to_string()).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("text-only backend"), "{v}");
    assert_eq!(violation_field(&v), Some("contents[0].parts[1].inline_data"));

    let v = expect_400(&s, r#"{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"googleSearch":{}}]}"#).await;
    assert_eq!(violation_field(&v), Some("tools[0].google_search"));

    let (status, v) = s
        .post_json(
            "/v1beta/models/gemma-3-27b-it:generateContent",
            r#"{"systemInstruction":{"parts":[{"text":"be brief"}]},"contents":[{"parts":[{"text":"hi"}]}]}"#,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["message"], "Developer instruction is not enabled for models/gemma-3-27b-it");
}

#[tokio::test]
async fn text_inline_data_is_read_as_text() {
    let s = TestServer::scripted().await;
    // "Say hi." as standard base64 without padding, from a client that strips it.
    let (status, v) = s
        .post_json(GEN, r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"text/plain","data":"U2F5IGhpLg"}}]}],"generationConfig":{"maxOutputTokens":3}}"#)
        .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn overloaded_engine_is_503_unavailable() {
    use std::sync::Arc;
    let mut engine = crate::harness::ScriptedEngine::text_then_done(&["x"]);
    engine.refuse = Some(gemd_engine::EngineError::Overloaded);
    let s = TestServer::with_engine(Arc::new(engine)).await;
    let resp = s.post(GEN, r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "UNAVAILABLE");
    assert_eq!(v["error"]["message"], "The model is overloaded. Please try again later.");
}
