//! Routed ids on an OpenAI-compatible upstream that is a real server over HTTP: gemd's own
//! OpenAI layer in a second in-process gemd, on an engine that records what it was asked.
//! A native request is translated to chat completions and back: the system instruction,
//! turns, calls and results, sampling fields, tools and calling mode arrive at the upstream's
//! engine as the native surface would have given them; answers, streams in both framings,
//! function calls, usage and finish reasons come back in Gemini's shape; the upstream's
//! refusals come back in Google's envelope; what the backend does not take is refused before
//! anything is sent. (Through real SDKs and the real model: tests/python.)

use std::sync::{Arc, Mutex};

use gemd_engine::upstream::{Capabilities, UpstreamConfig, UpstreamProtocol};
use gemd_engine::{
    CallPolicy, ChatPrompt, Engine, EngineError, Event, EventStream, Finish, Piece, PreparedPrompt, Role,
    SamplingParams,
};
use serde_json::{json, Value};

use crate::harness::{ScriptedEngine, TestServer, KEY};
use crate::shared::native::sse_events;
use crate::upstream::{config_of, front, hello_engine, post};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM_SSE: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const STREAM_ARRAY: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
const COUNT: &str = "/v1beta/models/gemini-2.5-flash:countTokens";

/// A scripted engine that keeps every prompt and sampling it is given.
struct Recorder {
    inner: ScriptedEngine,
    prompts: Mutex<Vec<ChatPrompt>>,
    sampling: Mutex<Vec<SamplingParams>>,
}

impl Recorder {
    fn new(inner: ScriptedEngine) -> Arc<Self> {
        Arc::new(Recorder { inner, prompts: Mutex::default(), sampling: Mutex::default() })
    }

    fn last_prompt(&self) -> ChatPrompt {
        self.prompts.lock().unwrap().last().cloned().expect("a prompt")
    }
}

impl Engine for Recorder {
    fn info(&self) -> &gemd_engine::BackendInfo {
        self.inner.info()
    }

    fn chat_format(&self) -> &gemd_engine::ChatFormat {
        self.inner.chat_format()
    }

    fn prepare(&self, prompt: &ChatPrompt) -> Result<PreparedPrompt, EngineError> {
        self.prompts.lock().unwrap().push(prompt.clone());
        self.inner.prepare(prompt)
    }

    fn generate(&self, prompt: PreparedPrompt, sampling: SamplingParams) -> Result<EventStream, EngineError> {
        self.sampling.lock().unwrap().push(sampling.clone());
        self.inner.generate(prompt, sampling)
    }
}

/// The OpenAI layer of `upstream` as an upstream backend named `oa`.
fn openai_config(upstream: &TestServer) -> UpstreamConfig {
    config_of("oa", &format!("{}/v1beta/openai", upstream.base), &[KEY], UpstreamProtocol::OpenAi)
}

async fn front_of(config: UpstreamConfig) -> TestServer {
    front(&[("oa", Some(config))], hello_engine(&["local"])).await
}

/// The plain chat format's complete call block (what the upstream's engine "writes").
fn call_script() -> ScriptedEngine {
    let pieces = ["```tool_call\n", "{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\"}}\n", "```"];
    let mut script: Vec<Event> = pieces
        .iter()
        .enumerate()
        .map(|(i, t)| Event::Text { text: t.to_string(), output_tokens: i as u32 + 1 })
        .collect();
    script.push(Event::Done { finish: Finish::Stop, prompt_tokens: 3, output_tokens: 3 });
    ScriptedEngine::new(script)
}

fn weather_tools() -> Value {
    json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather of a city.",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}])
}

#[tokio::test]
async fn a_conversation_arrives_as_the_native_surface_would_give_it_and_comes_back_in_gemini_shape() {
    let engine = Recorder::new(ScriptedEngine::text_then_done(&["Sun", "ny."]));
    let upstream = TestServer::with_engine(engine.clone()).await;
    let front = front_of(openai_config(&upstream)).await;
    let body = json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"sky": "clear"}}}]}],
        "tools": weather_tools(),
        "generationConfig": {"temperature": 0.25, "topP": 0.5, "topK": 7, "seed": 11, "maxOutputTokens": 20,
                             "stopSequences": ["END"], "presencePenalty": 0.1, "frequencyPenalty": 0.2}});

    let (status, backend, text) = post(&front, GENERATE, &body.to_string()).await;
    assert_eq!((status, backend.as_deref()), (200, Some("oa")), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["candidates"][0]["content"], json!({"parts": [{"text": "Sunny."}], "role": "model"}), "{v}");
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    // The upstream's own count: its engine saw 3 prompt tokens and wrote 2.
    assert_eq!(v["usageMetadata"], json!({"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}));
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");

    let prompt = engine.last_prompt();
    assert_eq!(prompt.system.as_deref(), Some("Be brief."));
    let roles: Vec<Role> = prompt.turns.iter().map(|t| t.role).collect();
    assert_eq!(roles, [Role::User, Role::Model, Role::User]);
    assert_eq!(prompt.turns[1].pieces, [Piece::Call { name: "get_weather".into(), args: json!({"city": "Paris"}) }]);
    assert_eq!(
        prompt.turns[2].pieces,
        [Piece::Result { name: "get_weather".into(), response: json!({"sky": "clear"}) }],
        "the result is named after the call it answers"
    );
    assert_eq!((prompt.tools.len(), prompt.policy), (1, Some(CallPolicy::May)));
    assert_eq!(prompt.tools[0].parameters["properties"]["city"]["type"], "string");
    let sampling = engine.sampling.lock().unwrap().last().cloned().unwrap();
    assert_eq!((sampling.temperature, sampling.top_p, sampling.seed), (Some(0.25), Some(0.5), Some(11)));
    assert_eq!((sampling.max_output_tokens, sampling.stop_sequences.clone()), (20, vec!["END".to_string()]));
    assert_eq!((sampling.presence_penalty, sampling.frequency_penalty), (Some(0.1), Some(0.2)));
    assert_ne!(sampling.top_k, Some(7), "topK is not sent to a server whose capabilities do not list top_k");

    // countTokens has no OpenAI endpoint: gemd's estimate, from the upstream backend's route.
    let (status, backend, count) = post(&front, COUNT, r#"{"contents":[{"parts":[{"text":"Hello, world"}]}]}"#).await;
    assert_eq!((status, backend.as_deref()), (200, Some("oa")), "{count}");
    assert_eq!(serde_json::from_str::<Value>(&count).unwrap()["totalTokens"], 3, "16 characters / 4");
}

#[tokio::test]
async fn streams_come_back_as_gemini_chunks_in_both_framings() {
    let upstream = TestServer::with_engine(hello_engine(&["One", " two", " three"])).await;
    let front = front_of(openai_config(&upstream)).await;
    let hello = r#"{"contents":[{"parts":[{"text":"Count"}]}]}"#;

    let (status, backend, sse) = post(&front, STREAM_SSE, hello).await;
    assert_eq!((status, backend.as_deref()), (200, Some("oa")), "{sse}");
    let events = sse_events(&sse);
    let text: String =
        events.iter().filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str()).collect();
    assert_eq!(text, "One two three", "{sse}");
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP", "{sse}");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 3, "{sse}");
    assert!(events[..events.len() - 1].iter().all(|e| e["candidates"][0].get("finishReason").is_none()));
    assert!(!sse.contains("[DONE]") && !sse.contains("chat.completion"), "{sse}");

    let (status, _, array) = post(&front, STREAM_ARRAY, hello).await;
    let items: Vec<Value> = serde_json::from_str(&array).unwrap_or_else(|e| panic!("{status} {e}: {array}"));
    assert_eq!(items.last().unwrap()["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn function_calls_come_back_as_function_call_parts() {
    let engine = Recorder::new(call_script());
    let upstream = TestServer::with_engine(engine.clone()).await;
    let front = front_of(openai_config(&upstream)).await;
    let body = json!({"contents": [{"parts": [{"text": "Weather in Paris?"}]}], "tools": weather_tools(),
                      "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}})
    .to_string();
    let call = json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}});

    let (status, _, text) = post(&front, GENERATE, &body).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["candidates"][0]["content"]["parts"], json!([call]), "{v}");
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert_eq!(v["candidates"][0]["finishMessage"], "Model generated function call(s).");
    assert_eq!(engine.last_prompt().policy, Some(CallPolicy::Must), "ANY with one function: that function, required");

    let (_, _, sse) = post(&front, STREAM_SSE, &body).await;
    let last = sse_events(&sse).pop().expect("events");
    assert_eq!(last["candidates"][0]["content"]["parts"], json!([call]), "{sse}");
}

#[tokio::test]
async fn refusals_come_back_in_googles_envelope_and_what_the_backend_lacks_is_refused_first() {
    let upstream = TestServer::with_engine(hello_engine(&["x"])).await;
    let hello = r#"{"contents":[{"parts":[{"text":"Hi"}]}]}"#;

    // The upstream does not know the model it is asked for: its 404, in Google's shape.
    let mut unknown = openai_config(&upstream);
    unknown.model = Some("no-such-model".into());
    let front = front_of(unknown).await;
    let (status, _, text) = post(&front, GENERATE, hello).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, v["error"]["status"].as_str()), (404, Some("NOT_FOUND")), "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Backend oa refused the request (404): ") && message.contains("no-such-model"), "{v}");

    // An image for a text-only upstream, declarations for one without tools.
    let mut no_tools = openai_config(&upstream);
    no_tools.capabilities = Capabilities { tools: false, ..no_tools.capabilities };
    let front = front_of(no_tools).await;
    let image = r#"{"contents":[{"parts":[{"text":"What is it?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0K"}}]}]}"#;
    let (status, _, text) = post(&front, GENERATE, image).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "contents[0].parts[1].inline_data", "{v}");
    let tools = json!({"contents": [{"parts": [{"text": "Hi"}]}], "tools": weather_tools()}).to_string();
    let (status, _, text) = post(&front, GENERATE, &tools).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["error"]["message"],
        "models/gemini-2.5-flash is served by backend oa, which does not take function declarations."
    );
    assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], "tools", "{v}");
}

#[tokio::test]
async fn a_dead_openai_upstream_falls_back_to_the_next_backend() {
    let dead = config_of("oa", "http://127.0.0.1:9/v1", &[KEY], UpstreamProtocol::OpenAi);
    let front = front(&[("oa", Some(dead)), ("default", None)], hello_engine(&["local"])).await;
    let (status, backend, text) = post(&front, GENERATE, r#"{"contents":[{"parts":[{"text":"Hi"}]}]}"#).await;
    assert_eq!((status, backend.as_deref()), (200, Some("scripted")), "{text}");
}
