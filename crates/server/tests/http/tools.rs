//! Function calling and structured output with the real model: every call the server returns
//! names an allowed function with arguments valid against its schema, and every JSON answer
//! validates against its schema (checked with an independent JSON Schema validator), on both
//! surfaces, whole and streamed; bad declarations are 400s naming the field.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::harness::{TestServer, KEY};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
const CHAT: &str = "/v1beta/openai/chat/completions";
/// Enough output for a call or a small JSON document to finish.
const OUTPUT_LIMIT: u32 = 400;

fn weather_tool() -> Value {
    json!({"functionDeclarations": [{
        "name": "get_weather", "description": "Get the current weather for a city.",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "description": "City name", "maxLength": 40}}, "required": ["city"]}
    }]})
}

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}}, "required": ["city"], "additionalProperties": false})
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "parts": [{"text": text}]}])
}

fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("bad test schema {schema}: {e}"));
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {instance} does not validate against {schema}: {errors:?}");
}

/// The `functionCall` parts of a candidate.
fn calls(v: &Value) -> Vec<Value> {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .map(|p| p.iter().filter_map(|p| p.get("functionCall").cloned()).collect())
        .unwrap_or_default()
}

async fn chat(s: &TestServer, body: Value) -> (u16, Value) {
    let resp = s.http.post(format!("{}{CHAT}", s.base)).bearer_auth(KEY).json(&body).send().await.expect("sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

#[tokio::test]
async fn mode_any_returns_a_valid_call() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let body = json!({"contents": user("What's the weather in Paris?"), "tools": [weather_tool()],
                      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}});
    let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    let c = calls(&v);
    assert!(!c.is_empty(), "{v}");
    for call in &c {
        assert_eq!(call["name"], "get_weather", "{v}");
        assert_valid(&weather_schema(), &call["args"], "args");
    }
    assert_eq!(v["candidates"][0]["finishReason"], "STOP", "{v}");
    assert_eq!(v["candidates"][0]["finishMessage"], "Model generated function call(s).", "{v}");
}

#[tokio::test]
async fn generativeai_integer_enums_and_parallel_calls_to_allowed_functions() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let tools = json!([{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather.", "parameters": {"type": 6, "properties": {"city": {"type": 1, "maxLength": 30}}, "required": ["city"]}},
        {"name": "get_time", "description": "Local time.", "parameters": {"type": 6, "properties": {"zone": {"type": 1, "enum": ["UTC", "CET"]}}, "required": ["zone"]}},
        {"name": "forbidden", "description": "Never allowed."}
    ]}]);
    for seed in 0..3 {
        let body = json!({"contents": user("Weather and time in Paris?"), "tools": tools, "generationConfig": {"seed": seed},
                          "toolConfig": {"functionCallingConfig": {"mode": 2, "allowedFunctionNames": ["get_weather", "get_time"]}}});
        let (status, v) =
            s.post_json(&format!("{GENERATE}?%24alt=json%3Benum-encoding%3Dint"), &body.to_string()).await;
        assert_eq!(status, 200, "{v}");
        for call in calls(&v) {
            match call["name"].as_str().unwrap() {
                "get_weather" => assert_valid(
                    &json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}),
                    &call["args"],
                    "weather",
                ),
                "get_time" => {
                    assert_eq!(call["args"]["zone"].as_str().map(|z| ["UTC", "CET"].contains(&z)), Some(true), "{v}")
                }
                other => panic!("called {other}: {v}"),
            }
        }
        assert!(!calls(&v).is_empty(), "{v}");
    }
}

#[tokio::test]
async fn mode_auto_answers_text_or_a_valid_call_and_none_never_calls() {
    let s = TestServer::real_with_output_limit(64).await;
    for seed in 0..3 {
        let body = json!({"contents": user("What's the weather in Paris?"), "tools": [weather_tool()], "generationConfig": {"seed": seed}});
        let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
        assert_eq!(status, 200, "{v}");
        let parts = v["candidates"][0]["content"]["parts"].as_array().unwrap();
        for call in calls(&v) {
            assert_eq!(call["name"], "get_weather", "{v}");
            assert_valid(&weather_schema(), &call["args"], "args");
        }
        assert!(parts.iter().all(|p| p["text"].is_string() || p["functionCall"].is_object()), "{v}");
        let none = json!({"contents": user("What's the weather in Paris?"), "tools": [weather_tool()], "generationConfig": {"seed": seed},
                          "tool_config": {"function_calling_config": {"mode": "NONE"}}});
        let (status, v) = s.post_json(GENERATE, &none.to_string()).await;
        assert_eq!(status, 200, "{v}");
        assert!(calls(&v).is_empty() && v["candidates"][0]["content"]["parts"][0]["text"].is_string(), "{v}");
    }
}

#[tokio::test]
async fn the_guides_round_trip_reads_the_function_response() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let first = json!({"contents": user("What's the weather in Paris?"), "tools": [weather_tool()],
                       "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}});
    let (_, v) = s.post_json(GENERATE, &first.to_string()).await;
    let call = calls(&v).first().cloned().unwrap_or_else(|| panic!("{v}"));
    // countTokens counts what the model read, declarations included.
    let (status, c) = s.post_json("/v1beta/models/gemini-2.5-flash:countTokens", &json!({"generateContentRequest": {"model": "models/gemini-2.5-flash", "contents": first["contents"], "tools": first["tools"], "toolConfig": first["toolConfig"]}}).to_string()).await;
    assert_eq!((status, &c["totalTokens"]), (200, &v["usageMetadata"]["promptTokenCount"]), "{c} {v}");
    let history = json!([
        {"role": "user", "parts": [{"text": "What's the weather in Paris?"}]},
        {"role": "model", "parts": [{"functionCall": call}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": {"temperature_c": 21, "condition": "sunny"}}}}]}
    ]);
    let second = json!({"contents": history, "tools": [weather_tool()], "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}});
    let (status, v) = s.post_json(GENERATE, &second.to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["candidates"][0]["content"]["parts"][0]["text"].is_string(), "{v}");
}

#[tokio::test]
async fn a_streamed_call_arrives_whole_in_the_last_chunk() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let body = json!({"contents": user("What's the weather in Paris?"), "tools": [weather_tool()],
                      "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}});
    let text = s.post(STREAM, &body.to_string()).await.text().await.unwrap();
    let events: Vec<Value> = text
        .split_terminator("\r\n\r\n")
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let with_calls: Vec<&Value> = events.iter().filter(|e| !calls(e).is_empty()).collect();
    assert_eq!(with_calls.len(), 1, "{text}");
    assert_eq!(with_calls[0]["candidates"][0]["finishReason"], "STOP", "{text}");
    for call in calls(with_calls[0]) {
        assert_valid(&weather_schema(), &call["args"], "streamed args");
    }
}

#[tokio::test]
async fn structured_answers_parse_and_validate() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let recipe = json!({"type": "ARRAY", "maxItems": 3, "items": {"type": "OBJECT", "properties": {
        "recipe_name": {"type": "STRING", "maxLength": 40}, "ingredients": {"type": "ARRAY", "maxItems": 4, "items": {"type": "STRING", "maxLength": 20}}},
        "propertyOrdering": ["recipe_name", "ingredients"], "required": ["recipe_name", "ingredients"]}});
    let recipe_json = json!({"type": "array", "maxItems": 3, "items": {"type": "object", "additionalProperties": false, "required": ["recipe_name", "ingredients"], "properties": {
        "recipe_name": {"type": "string", "maxLength": 40}, "ingredients": {"type": "array", "maxItems": 4, "items": {"type": "string", "maxLength": 20}}}}});
    let cases = [
        (json!({"responseMimeType": "application/json", "responseSchema": recipe}), recipe_json.clone()),
        (json!({"response_mime_type": "application/json", "response_json_schema": recipe_json}), recipe_json.clone()),
        // Without a schema nothing bounds a string's length, and a 270M model sampled at
        // temperature 1 can ramble inside one until MAX_TOKENS. Greedy decoding is reproducible
        // whatever else the shared engine decodes alongside (batch invariance), so this case
        // checks the JSON grammar, not the luck of a draw.
        (json!({"responseMimeType": "application/json", "temperature": 0}), json!({})),
    ];
    for (cfg, schema) in cases {
        let body = json!({"contents": user("List a few popular cookie recipes."), "generationConfig": cfg});
        let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["candidates"][0]["finishReason"], "STOP", "{v}");
        let text = v["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap();
        let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert_valid(&schema, &doc, "answer");
    }
    let body = json!({"contents": user("Which instrument?"), "generationConfig": {"responseMimeType": "text/x.enum", "responseSchema": {"type": "STRING", "format": "enum", "enum": ["Percussion", "String", "Woodwind"]}}});
    let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    let text = v["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap();
    assert!(["Percussion", "String", "Woodwind"].contains(&text), "{v}");
}

#[tokio::test]
async fn bad_declarations_and_schemas_are_400s_naming_the_field() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let cases = [
        (
            json!({"tools": [{"functionDeclarations": [{"name": "get weather"}]}]}),
            Some("tools[0].function_declarations[0].name"),
        ),
        (
            json!({"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "ARRAY", "items": {"type": "STRING"}}}]}]}),
            Some("tools[0].function_declarations[0].parameters.type"),
        ),
        (
            json!({"tools": [weather_tool()], "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["get_weather"]}}}),
            Some("tool_config.function_calling_config.allowed_function_names"),
        ),
        (
            json!({"generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "string", "if": {"minLength": 2}}}}),
            None,
        ),
    ];
    for (extra, field) in cases {
        let mut body = json!({"contents": user("hi")});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{v}");
        if let Some(field) = field {
            assert_eq!(v["error"]["details"][0]["fieldViolations"][0]["field"], field, "{v}");
        }
    }
}

#[tokio::test]
async fn openai_tools_tool_choice_and_json_schema() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}}, "required": ["city"]}}}]);
    let messages = json!([{"role": "user", "content": "What's the weather in Paris?"}]);
    let (status, v) =
        chat(&s, json!({"model": "gemini-2.5-flash", "messages": messages, "tools": tools, "tool_choice": "required"}))
            .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{v}");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_") && call["type"] == "function", "{v}");
    let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_valid(&weather_schema(), &args, "openai args");

    // The call and its result in the history; a named tool_choice forces that function again.
    let history = json!([messages[0], {"role": "assistant", "content": null, "tool_calls": [call]},
                         {"role": "tool", "tool_call_id": call["id"], "content": "{\"temperature_c\": 21}"}]);
    let body = json!({"model": "gemini-2.5-flash", "messages": history, "tools": tools, "stream": true,
                      "tool_choice": {"type": "function", "function": {"name": "get_weather"}}});
    let resp = s.http.post(format!("{}{CHAT}", s.base)).bearer_auth(KEY).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let events: Vec<Value> = text
        .split_terminator("\n\n")
        .filter(|e| *e != "data: [DONE]")
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let deltas: Vec<&Value> =
        events.iter().filter_map(|e| e["choices"][0]["delta"]["tool_calls"].as_array()).flatten().collect();
    assert!(!deltas.is_empty(), "{text}");
    assert_eq!(deltas[0]["index"], 0, "{text}");
    assert_eq!(events.last().unwrap()["choices"][0]["finish_reason"], "tool_calls", "{text}");

    let schema = json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 30}, "age": {"type": "integer", "minimum": 0, "maximum": 120}}, "required": ["name", "age"]});
    let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Invent a person."}],
                      "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": true}}});
    let (status, v) = chat(&s, body).await;
    assert_eq!(status, 200, "{v}");
    let doc: Value = serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    let mut closed = schema.clone();
    closed["additionalProperties"] = json!(false);
    assert_valid(&closed, &doc, "openai json_schema");
    // Greedy, as the schema-less Gemini case above: nothing bounds a string here, and a vague
    // prompt ("JSON please") makes this model count digits inside one until the output limit.
    let ask = "Reply with a JSON object whose key \"ok\" is true.";
    let (status, v) = chat(&s, json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": ask}], "temperature": 0, "response_format": {"type": "json_object"}})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop", "{v}");
    assert!(
        serde_json::from_str::<Value>(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap().is_object(),
        "{v}"
    );
}

/// A small deterministic generator (xorshift), so a failing schema can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One random schema in both spellings: `(Gemini Schema, the JSON Schema it means)`.
fn random_schema(rng: &mut Rng, depth: u32) -> (Value, Value) {
    let kinds = if depth >= 2 { 5 } else { 7 };
    let (mut g, mut j) = match rng.below(kinds) {
        0 => {
            let n = 1 + rng.below(12);
            if rng.below(3) == 0 {
                let values: Vec<String> = (0..2 + rng.below(3)).map(|i| format!("v{i}_{}", rng.below(100))).collect();
                (json!({"type": "STRING", "format": "enum", "enum": values}), json!({"type": "string", "enum": values}))
            } else {
                (json!({"type": "STRING", "maxLength": n}), json!({"type": "string", "maxLength": n}))
            }
        }
        1 => {
            let lo = rng.below(50) as i64 - 25;
            let hi = lo + rng.below(100) as i64;
            (
                json!({"type": "INTEGER", "minimum": lo, "maximum": hi}),
                json!({"type": "integer", "minimum": lo, "maximum": hi}),
            )
        }
        2 => {
            let lo = rng.below(10) as f64 - 5.0;
            let hi = lo + 1.0 + rng.below(10) as f64;
            (
                json!({"type": "NUMBER", "minimum": lo, "maximum": hi}),
                json!({"type": "number", "minimum": lo, "maximum": hi}),
            )
        }
        3 | 4 if depth < 2 => random_object(rng, depth),
        3 => (json!({"type": "BOOLEAN"}), json!({"type": "boolean"})),
        _ => {
            let (gi, ji) = random_schema(rng, depth + 1);
            let max = 1 + rng.below(3);
            let min = rng.below(max + 1);
            (
                json!({"type": "ARRAY", "items": gi, "minItems": min, "maxItems": max}),
                json!({"type": "array", "items": ji, "minItems": min, "maxItems": max}),
            )
        }
    };
    if depth > 0 && rng.below(4) == 0 {
        g["nullable"] = json!(true);
        j = json!({"anyOf": [j, {"type": "null"}]});
    }
    (std::mem::take(&mut g), j)
}

fn random_object(rng: &mut Rng, depth: u32) -> (Value, Value) {
    let mut gp = serde_json::Map::new();
    let mut jp = serde_json::Map::new();
    let mut required = Vec::new();
    for i in 0..1 + rng.below(3) {
        let (g, j) = random_schema(rng, depth + 1);
        let name = format!("field_{i}");
        if rng.below(3) != 0 {
            required.push(name.clone());
        }
        gp.insert(name.clone(), g);
        jp.insert(name, j);
    }
    (
        json!({"type": "OBJECT", "properties": gp, "required": required}),
        json!({"type": "object", "properties": jp, "required": required, "additionalProperties": false}),
    )
}

#[tokio::test]
async fn fifty_random_schemas_all_validate() {
    let s = TestServer::real_with_output_limit(OUTPUT_LIMIT).await;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let cases: Vec<(usize, Value, Value)> = (0..50)
        .map(|i| {
            let (g, j) = random_object(&mut rng, 0);
            (i, g, j)
        })
        .collect();
    let s = &s;
    // Four at a time: the test engine batches four sequences.
    for batch in cases.chunks(4) {
        let runs = batch.iter().map(|(i, g, j)| async move {
            // Even cases send the Gemini Schema, odd ones the JSON Schema.
            let cfg = if i % 2 == 0 {
                json!({"responseMimeType": "application/json", "responseSchema": g, "seed": i})
            } else {
                json!({"responseMimeType": "application/json", "responseJsonSchema": j, "seed": i})
            };
            let body = json!({"contents": user("Fill in the form."), "generationConfig": cfg});
            let (status, v) = s.post_json(GENERATE, &body.to_string()).await;
            (*i, j.clone(), status, v)
        });
        for (i, schema, status, v) in join_all(runs).await {
            assert_eq!(status, 200, "schema {i} {schema}: {v}");
            assert_eq!(v["candidates"][0]["finishReason"], "STOP", "schema {i} {schema}: {v}");
            let text = v["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap();
            let doc: Value =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("schema {i} {schema}: not JSON ({e}): {text}"));
            assert_valid(&schema, &doc, &format!("schema {i}"));
        }
    }
}
