//! A call answer the output cap cuts off: the calls written whole before the cut are the
//! answer's calls on both surfaces, unary and streamed, and the answer still says it was cut
//! (`MAX_TOKENS`, `length`). Small models repeat a call until the cap (Qwen2.5-Coder 0.5B does
//! so after a tool result 25 times in 30), and dropping the whole answer left clients an empty
//! text that was neither a call nor an answer.

use std::sync::Arc;

use gemd_engine::{Event, Finish};
use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer, KEY};
use crate::shared::native::sse_events;
use crate::shared::openai::CHAT;

/// The plain format's call syntax (fenced), cut inside the second call.
const CUT: [&str; 3] =
    ["```tool_call\n", "{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\"}}\n", "{\"name\": \"get_wea"];

fn cut_engine() -> Arc<ScriptedEngine> {
    let mut script: Vec<Event> =
        CUT.iter().enumerate().map(|(i, t)| Event::Text { text: t.to_string(), output_tokens: i as u32 + 1 }).collect();
    script.push(Event::Done { finish: Finish::MaxTokens, prompt_tokens: 3, output_tokens: 3 });
    Arc::new(ScriptedEngine::new(script))
}

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Weather of a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

#[tokio::test]
async fn native_answers_report_the_finished_calls_and_max_tokens() {
    let s = TestServer::with_engine(cut_engine()).await;
    let body = json!({"contents": [{"parts": [{"text": "Weather in Paris?"}]}], "tools": [{"functionDeclarations": [weather_tool()]}]}).to_string();
    let call = json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}});

    let (status, v) = s.post_json("/v1beta/models/gemini-2.5-flash:generateContent", &body).await;
    assert_eq!(status, 200, "{v}");
    let candidate = &v["candidates"][0];
    assert_eq!(candidate["content"]["parts"], json!([call]), "{v}");
    assert_eq!(candidate["finishReason"], "MAX_TOKENS", "{v}");
    assert!(candidate.get("finishMessage").is_none(), "a cut answer is not 'Model generated function call(s).': {v}");

    let sse =
        s.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", &body).await.text().await.unwrap();
    let last = sse_events(&sse).pop().expect("events");
    assert_eq!(last["candidates"][0]["content"]["parts"], json!([call]), "{sse}");
    assert_eq!(last["candidates"][0]["finishReason"], "MAX_TOKENS", "{sse}");
}

#[tokio::test]
async fn openai_answers_report_the_finished_calls_and_length() {
    let s = TestServer::with_engine(cut_engine()).await;
    let mut body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Weather in Paris?"}],
                          "tools": [{"type": "function", "function": weather_tool()}]});

    let r: Value = s.openai_post(CHAT, KEY, &body).await.json().await.unwrap();
    let choice = &r["choices"][0];
    assert_eq!(choice["finish_reason"], "length", "{r}");
    assert_eq!(choice["message"]["content"], Value::Null, "{r}");
    let calls = choice["message"]["tool_calls"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(calls.len(), 1, "{r}");
    assert_eq!(calls[0]["function"], json!({"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}), "{r}");

    body["stream"] = json!(true);
    let sse = s.openai_post(CHAT, KEY, &body).await.text().await.unwrap();
    let chunks: Vec<Value> = sse
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let streamed: Vec<&Value> =
        chunks.iter().flat_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array().into_iter().flatten()).collect();
    assert_eq!(streamed.len(), 1, "{sse}");
    assert_eq!(streamed[0]["function"]["name"], "get_weather", "{sse}");
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "length", "{sse}");
}
