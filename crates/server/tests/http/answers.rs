//! Answers, not just shapes, from the real default model (Qwen2.5-Coder-0.5B-Instruct,
//! prompted through its own chat template): the service guide's examples answer in the
//! prompt's language and end their turn well before the limit, a multi-turn chat uses an
//! earlier turn, a system instruction is followed, a weather question in AUTO mode calls the
//! declared function; and a second family (SmolLM2-135M-Instruct) answers through its own
//! template.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::harness::{engine_with, smollm2_path, TestServer};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
/// Room for a paragraph, so that an answer which ends does so by itself.
const LIMIT: u32 = 1024;

fn text_of(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .map(|p| p.iter().map(|p| p["text"].as_str().unwrap_or("")).collect())
        .unwrap_or_default()
}

fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

async fn generate(s: &TestServer, body: Value) -> Value {
    let (status, v) = s.post_json(GEN, &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Ended by the model itself, well before the limit.
fn assert_ended(v: &Value, what: &str) {
    assert_eq!(v["candidates"][0]["finishReason"], "STOP", "{what}: {v}");
    let out = v["usageMetadata"]["candidatesTokenCount"].as_u64().unwrap();
    assert!(out < LIMIT as u64 / 2, "{what}: {out} tokens");
}

#[tokio::test]
async fn the_guides_first_example_answers_in_chinese_and_ends_its_turn() {
    let s = TestServer::real_with_output_limit(LIMIT).await;
    // The guide's body exactly (temperature 1 by default), seeded so the run is reproducible.
    let v = generate(
        &s,
        json!({"contents": [{"parts": [{"text": "你好,介绍一下你自己"}]}], "generationConfig": {"seed": 1}}),
    )
    .await;
    let text = text_of(&v);
    println!("guide example 1: {text}");
    assert_ended(&v, "introduction");
    assert!(has_cjk(&text), "not Chinese: {text}");
}

#[tokio::test]
async fn the_guides_machine_learning_example_explains_in_chinese() {
    let s = TestServer::real_with_output_limit(LIMIT).await;
    let v = generate(
        &s,
        json!({"contents": [{"parts": [{"text": "解释一下什么是机器学习"}]}], "generationConfig": {"temperature": 0.7, "maxOutputTokens": 1024, "seed": 1}}),
    )
    .await;
    let text = text_of(&v);
    println!("guide example 2: {text}");
    assert_ended(&v, "machine learning");
    assert!(text.contains("机器学习") || text.contains("学习"), "{text}");
}

#[tokio::test]
async fn short_questions_get_short_right_answers() {
    let s = TestServer::real_with_output_limit(LIMIT).await;
    for (q, want) in [
        ("What is the capital of France? Answer with one word.", "Paris"),
        ("What is 12 + 30? Answer with just the number.", "42"),
    ] {
        let v =
            generate(&s, json!({"contents": [{"parts": [{"text": q}]}], "generationConfig": {"temperature": 0}})).await;
        let text = text_of(&v);
        assert_ended(&v, q);
        assert!(text.contains(want), "{q} → {text}");
    }
}

#[tokio::test]
async fn a_multi_turn_chat_uses_an_earlier_turn() {
    let s = TestServer::real_with_output_limit(LIMIT).await;
    let v = generate(
        &s,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "I have 3 cats and a dog."}]},
            {"role": "model", "parts": [{"text": "That sounds lovely! How can I help you?"}]},
            {"role": "user", "parts": [{"text": "How many cats do I have?"}]}
        ], "generationConfig": {"temperature": 0}}),
    )
    .await;
    let text = text_of(&v).to_lowercase();
    assert_ended(&v, "cats");
    assert!(text.contains('3') || text.contains("three"), "{text}");
}

#[tokio::test]
async fn a_system_instruction_is_followed() {
    let s = TestServer::real_with_output_limit(LIMIT).await;
    let v = generate(
        &s,
        json!({"systemInstruction": {"parts": [{"text": "You are a pirate. Always begin your answer with the word \"Arr\"."}]},
               "contents": [{"parts": [{"text": "Who are you?"}]}], "generationConfig": {"temperature": 0}}),
    )
    .await;
    let text = text_of(&v);
    assert_ended(&v, "pirate");
    assert!(text.trim_start().starts_with("Arr"), "{text}");
}

#[tokio::test]
async fn weather_questions_in_auto_mode_call_the_declared_function() {
    let s = TestServer::real_with_output_limit(LIMIT).await;
    let tool = json!({"functionDeclarations": [{"name": "get_weather", "description": "Get the current weather for a city.",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "description": "City name"}}, "required": ["city"]}}]});
    let cities = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Beijing", "Sydney", "Cairo", "Toronto"];
    let prompts: Vec<String> = cities
        .iter()
        .flat_map(|c| [format!("What's the weather like in {c} right now?"), format!("Is it raining in {c} today?")])
        .collect();
    let answers = join_all(prompts.iter().map(|p| {
        let body = json!({"contents": [{"role": "user", "parts": [{"text": p}]}], "tools": [tool], "generationConfig": {"temperature": 0}});
        generate(&s, body)
    }))
    .await;
    let mut called = 0;
    for (p, v) in prompts.iter().zip(&answers) {
        let calls: Vec<&Value> = v["candidates"][0]["content"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.get("functionCall"))
            .collect();
        if let Some(call) = calls.first() {
            assert_eq!(call["name"], "get_weather", "{p}: {v}");
            assert!(call["args"]["city"].is_string(), "{p}: {v}");
            called += 1;
        } else {
            println!("no call for {p:?}: {}", text_of(v));
        }
    }
    println!("AUTO mode: {called} of {} weather questions called get_weather", prompts.len());
    assert!(
        called >= prompts.len() * 3 / 4,
        "only {called} of {} weather questions called the function",
        prompts.len()
    );
}

#[tokio::test]
async fn a_second_family_answers_through_its_own_template() {
    let engine = engine_with(|c| c.model_path = smollm2_path());
    assert_eq!(engine.chat_format().source(), "gguf");
    let s = TestServer::with_engine(engine).await;
    let resp = s.post(GEN, &json!({"contents": [{"parts": [{"text": "What is the capital of France? Answer in one sentence."}]}], "generationConfig": {"temperature": 0}}).to_string()).await;
    assert!(
        resp.headers()["x-gemd-backend"].to_str().unwrap().contains("SmolLM2-135M-Instruct"),
        "{:?}",
        resp.headers()
    );
    let v: Value = resp.json().await.unwrap();
    let text = text_of(&v);
    assert_eq!(v["candidates"][0]["finishReason"], "STOP", "{v}");
    assert!(text.contains("Paris"), "{text}");
    assert!(!text.contains("<|im_end|>") && !text.contains("<|im_start|>"), "{text}");
}

#[tokio::test]
async fn a_template_without_tools_still_gets_valid_calls() {
    // SmolLM2's template has no tools branch: the declarations go in as text, in the ChatML
    // family's <tool_call> syntax, and the grammar still holds the call to the schema. (One
    // call: left to it, the 135M model repeats its call up to the parallel-call limit.)
    let engine = engine_with(|c| c.model_path = smollm2_path());
    assert!(!engine.chat_format().native_tools());
    let s = TestServer::with_engine_and_output_limit(engine, 200).await;
    let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}}, "required": ["city"]}}}],
        "tool_choice": "required", "parallel_tool_calls": false, "temperature": 0});
    let resp = s
        .http
        .post(format!("{}/v1beta/openai/chat/completions", s.base))
        .bearer_auth(crate::harness::KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{v}");
    let call = &v["choices"][0]["message"]["tool_calls"][0]["function"];
    assert_eq!(call["name"], "get_weather", "{v}");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert!(args["city"].as_str().is_some_and(|c| c.len() <= 30), "{v}");
}
