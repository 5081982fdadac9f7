//! The bad-input catalog: hundreds of malformed, hostile or merely wrong requests across every
//! surface (native generate, stream in both forms, countTokens and embeddings on /v1beta and
//! /v1, the OpenAI layer, auth, routing, the admin API). Each must be answered with its
//! status in the surface's error envelope — never a 5xx, an empty body, a hang or a crash —
//! and the server must answer a normal request after every one of them.
//!
//! The cases are built from a list of body mutations applied to each generate surface, plus
//! surface-specific cases, so adding a mutation tests it everywhere. Each case names what it
//! probes; a failure prints every case that went wrong, not just the first.
//!
//! Nearly every case is refused before any model runs ([`catalog`], run on a scripted engine
//! by tests/surface); the few the real engine refuses ([`model_catalog`]: prompts over the
//! input limit by its tokenizer's count, response schemas its grammar compiler rejects) run
//! on the real model in tests/http.

use std::time::Duration;

use serde_json::{json, Value};

use super::server::{TestServer, ADMIN_TOKEN, KEY, TEST_BODY_LIMIT};

/// How a surface wraps its error: the native `{"error": …}` or the OpenAI layer's `[{"error": …}]`.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Form {
    Native,
    OpenAi,
}

#[derive(Clone, Debug)]
enum Key {
    Test,
    None,
    Header(&'static str),
    Raw(Vec<u8>),
    Query(&'static str),
    Admin,
}

#[derive(Clone, Debug)]
pub struct Case {
    name: String,
    method: &'static str,
    path: String,
    key: Key,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    want: u16,
    /// The `google.rpc` status name the envelope must carry.
    status: &'static str,
    form: Form,
}

fn case(
    name: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    body: impl Into<Vec<u8>>,
    want: u16,
    status: &'static str,
) -> Case {
    let path = path.into();
    let form = if path.starts_with("/v1beta/openai/") { Form::OpenAi } else { Form::Native };
    Case {
        name: name.into(),
        method,
        path,
        key: Key::Test,
        body: body.into(),
        content_type: Some("application/json"),
        want,
        status,
        form,
    }
}

const INVALID: (u16, &str) = (400, "INVALID_ARGUMENT");
const NOT_FOUND: (u16, &str) = (404, "NOT_FOUND");

/// A text-part body with `extra` merged into its top level.
fn gen_body(extra: Value) -> String {
    let mut b = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    if let (Some(b), Value::Object(extra)) = (b.as_object_mut(), extra) {
        b.extend(extra);
    }
    b.to_string()
}

fn config(cfg: Value) -> String {
    gen_body(json!({"generationConfig": cfg}))
}

fn with_contents(contents: Value) -> String {
    json!({ "contents": contents }).to_string()
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn deep_schema(depth: usize) -> Value {
    let mut s = json!({"type": "string"});
    for _ in 0..depth {
        s = json!({"type": "object", "properties": {"a": s}});
    }
    s
}

fn wide_schema(properties: usize) -> Value {
    let props: serde_json::Map<String, Value> =
        (0..properties).map(|i| (format!("p{i}"), json!({"type": "integer"}))).collect();
    json!({"type": "object", "properties": props})
}

/// `(name, body, status)` of a request body every generate-shaped surface must refuse.
type Mutation = (&'static str, Vec<u8>, (u16, &'static str));

/// Body mutations every generate-shaped surface must refuse before any model runs.
fn generate_mutations() -> Vec<Mutation> {
    vec![
        ("empty body", String::new(), INVALID),
        ("truncated JSON", r#"{"contents": [{"parts": [{"text": "hi"}]}"#.into(), INVALID),
        ("not JSON", "hello there".into(), INVALID),
        ("top-level array", "[]".into(), INVALID),
        ("top-level number", "42".into(), INVALID),
        ("top-level string", "\"hi\"".into(), INVALID),
        ("empty object", "{}".into(), INVALID),
        ("NaN literal", r#"{"contents": NaN}"#.into(), INVALID),
        ("trailing garbage", format!("{} x", gen_body(json!({}))), INVALID),
        ("lone surrogate escape", r#"{"contents": [{"parts": [{"text": "\ud800"}]}]}"#.into(), INVALID),
        ("deeply nested arrays", format!(r#"{{"contents": {}}}"#, nested_arrays(5000)), INVALID),
        ("contents empty", with_contents(json!([])), INVALID),
        ("contents a string", with_contents(json!("hi")), INVALID),
        ("contents an object", with_contents(json!({"parts": [{"text": "hi"}]})), INVALID),
        ("content without parts", with_contents(json!([{}])), INVALID),
        ("parts empty", with_contents(json!([{"parts": []}])), INVALID),
        ("part with no data", with_contents(json!([{"parts": [{}]}])), INVALID),
        ("text a number", with_contents(json!([{"parts": [{"text": 5}]}])), INVALID),
        ("text null in a list", with_contents(json!([{"parts": [null]}])), INVALID),
        ("unknown role", with_contents(json!([{"role": "wizard", "parts": [{"text": "hi"}]}])), INVALID),
        ("role a number", with_contents(json!([{"role": 5, "parts": [{"text": "hi"}]}])), INVALID),
        ("unknown top-level field", gen_body(json!({"foo": 1})), INVALID),
        ("unknown part field", with_contents(json!([{"parts": [{"text": "hi", "colour": "red"}]}])), INVALID),
        ("two data fields in a part", with_contents(json!([{"parts": [{"text": "hi", "inlineData": {"mimeType": "text/plain", "data": "aGk="}}]}])), INVALID),
        ("temperature a string", config(json!({"temperature": "hot"})), INVALID),
        ("temperature negative", config(json!({"temperature": -1})), INVALID),
        ("temperature above 2", config(json!({"temperature": 3})), INVALID),
        ("topP above 1", config(json!({"topP": 2})), INVALID),
        ("topP negative", config(json!({"topP": -0.5})), INVALID),
        ("topK a string", config(json!({"topK": "many"})), INVALID),
        ("maxOutputTokens a string", config(json!({"maxOutputTokens": "many"})), INVALID),
        ("maxOutputTokens beyond int32", config(json!({"maxOutputTokens": 1e12})), INVALID),
        ("maxOutputTokens fractional", config(json!({"maxOutputTokens": 1.5})), INVALID),
        ("candidateCount a string", config(json!({"candidateCount": "two"})), INVALID),
        ("seed a string", config(json!({"seed": "x"})), INVALID),
        ("presencePenalty a string", config(json!({"presencePenalty": "x"})), INVALID),
        ("stopSequences not a list", config(json!({"stopSequences": "END"})), INVALID),
        ("six stopSequences", config(json!({"stopSequences": ["a", "b", "c", "d", "e", "f"]})), INVALID),
        ("unknown generationConfig field", config(json!({"creativity": 11})), INVALID),
        ("responseMimeType unsupported", config(json!({"responseMimeType": "text/html"})), INVALID),
        ("responseSchema without JSON mime type", config(json!({"responseSchema": {"type": "STRING"}})), INVALID),
        ("responseSchema unknown type", config(json!({"responseMimeType": "application/json", "responseSchema": {"type": "BANANA"}})), INVALID),
        ("responseSchema and responseJsonSchema both", config(json!({"responseMimeType": "application/json", "responseSchema": {"type": "STRING"}, "responseJsonSchema": {"type": "string"}})), INVALID),
        ("responseJsonSchema 7,000 properties", config(json!({"responseMimeType": "application/json", "responseJsonSchema": wide_schema(7000)})), INVALID),
        ("responseJsonSchema nested 200 deep", config(json!({"responseMimeType": "application/json", "responseJsonSchema": deep_schema(200)})), INVALID),
        ("tools not a list", gen_body(json!({"tools": {"functionDeclarations": []}})), INVALID),
        ("function name with spaces", gen_body(json!({"tools": [{"functionDeclarations": [{"name": "bad name!", "description": "x"}]}]})), INVALID),
        ("function without a name", gen_body(json!({"tools": [{"functionDeclarations": [{"description": "x"}]}]})), INVALID),
        ("function parameters a string", gen_body(json!({"tools": [{"functionDeclarations": [{"name": "f", "parameters": "none"}]}]})), INVALID),
        ("two functions with one name", gen_body(json!({"tools": [{"functionDeclarations": [{"name": "f"}, {"name": "f"}]}]})), INVALID),
        ("function parameters 7,000 properties", gen_body(json!({"tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": wide_schema(7000)}]}]})), INVALID),
        ("toolConfig unknown mode", gen_body(json!({"toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}})), INVALID),
        ("allowedFunctionNames with AUTO", gen_body(json!({"tools": [{"functionDeclarations": [{"name": "f"}]}], "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["f"]}}})), INVALID),
        ("allowedFunctionNames naming no declared function", gen_body(json!({"tools": [{"functionDeclarations": [{"name": "f"}]}], "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["g"]}}})), INVALID),
        ("functionResponse without a name", with_contents(json!([{"role": "user", "parts": [{"functionResponse": {"response": {}}}]}])), INVALID),
        ("functionCall args a list", with_contents(json!([{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}, {"role": "user", "parts": [{"text": "ok"}]}])), INVALID),
        ("inlineData invalid base64", with_contents(json!([{"parts": [{"inlineData": {"mimeType": "text/plain", "data": "!!!not base64!!!"}}]}])), INVALID),
        ("inlineData without mimeType", with_contents(json!([{"parts": [{"inlineData": {"data": "aGk="}}]}])), INVALID),
        ("image to a text-only backend", with_contents(json!([{"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}])), INVALID),
        ("systemInstruction a number", gen_body(json!({"systemInstruction": 7})), INVALID),
        ("safetySettings unknown category", gen_body(json!({"safetySettings": [{"category": "HARM_CATEGORY_RUDENESS", "threshold": "BLOCK_NONE"}]})), INVALID),
        ("safetySettings unknown threshold", gen_body(json!({"safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_EVERYTHING"}]})), INVALID),
        ("body over the size limit", gen_body(json!({"contents": [{"parts": [{"text": "x".repeat(TEST_BODY_LIMIT + 10)}]}]})), (413, "INVALID_ARGUMENT")),
    ]
    .into_iter()
    .map(|(name, body, status)| (name, body.into_bytes(), status))
    .chain([("invalid UTF-8", b"{\"contents\": [{\"parts\": [{\"text\": \"\xff\xfe\"}]}]}".to_vec(), INVALID)])
    .collect()
}

/// Body mutations the real engine refuses: prompts over the input limit (by its tokenizer's
/// count) and response schemas its grammar compiler rejects.
fn model_mutations() -> Vec<Mutation> {
    let long_prompt = "word ".repeat(6000);
    let many_parts: Vec<Value> = (0..50_000).map(|_| json!({"text": "a"})).collect();
    let json_schema =
        |schema: Value| config(json!({"responseMimeType": "application/json", "responseJsonSchema": schema}));
    let defs = json!({"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}});
    let cycle = json!({"$defs": defs, "$ref": "#/$defs/a"});
    let mutations = [
        ("responseJsonSchema self reference", json_schema(json!({"$ref": "#"}))),
        ("responseJsonSchema reference cycle", json_schema(cycle)),
        ("responseJsonSchema a string", json_schema(json!("object"))),
        ("prompt over the input limit", with_contents(json!([{"parts": [{"text": long_prompt}]}]))),
        ("50,000 one-letter parts", with_contents(json!([{"parts": many_parts}]))),
    ];
    mutations.into_iter().map(|(name, body)| (name, body.into_bytes(), INVALID)).collect()
}

fn generate_surfaces() -> Vec<&'static str> {
    vec![
        "/v1beta/models/gemini-2.0-flash:generateContent",
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        "/v1/models/gemini-2.0-flash:generateContent",
    ]
}

fn count_cases() -> Vec<Case> {
    let p = "/v1beta/models/gemini-2.0-flash:countTokens";
    vec![
        case("countTokens: empty body", "POST", p, "", INVALID.0, INVALID.1),
        case("countTokens: not JSON", "POST", p, "{{", INVALID.0, INVALID.1),
        case("countTokens: contents a string", "POST", p, with_contents(json!("hi")), INVALID.0, INVALID.1),
        case("countTokens: unknown field", "POST", p, gen_body(json!({"foo": 1})), INVALID.0, INVALID.1),
        case(
            "countTokens: generationConfig at the top",
            "POST",
            p,
            config(json!({"temperature": 1})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "countTokens: contents and generateContentRequest both",
            "POST",
            p,
            gen_body(json!({"generateContentRequest": {"contents": [{"parts": [{"text": "hi"}]}]}})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "countTokens: generateContentRequest a list",
            "POST",
            p,
            json!({"generateContentRequest": []}).to_string(),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "countTokens: part with no data",
            "POST",
            p,
            with_contents(json!([{"parts": [{}]}])),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "countTokens: unknown role",
            "POST",
            p,
            with_contents(json!([{"role": "x", "parts": [{"text": "hi"}]}])),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "countTokens: unknown model",
            "POST",
            "/v1beta/models/no-such-model:countTokens",
            gen_body(json!({})),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case(
            "countTokens: embedding model with a bad body",
            "POST",
            "/v1beta/models/text-embedding-004:countTokens",
            "[1]",
            INVALID.0,
            INVALID.1,
        ),
        case(
            "countTokens: body over the size limit",
            "POST",
            p,
            with_contents(json!([{"parts": [{"text": "x".repeat(TEST_BODY_LIMIT + 10)}]}])),
            413,
            "INVALID_ARGUMENT",
        ),
    ]
}

fn embed_cases() -> Vec<Case> {
    let one = "/v1beta/models/text-embedding-004:embedContent";
    let batch = "/v1beta/models/text-embedding-004:batchEmbedContents";
    let content = |t: Value| json!({"content": {"parts": [{"text": t}]}});
    let mut cases = vec![
        case("embed: empty body", "POST", one, "", INVALID.0, INVALID.1),
        case("embed: not JSON", "POST", one, "nope", INVALID.0, INVALID.1),
        case("embed: no content", "POST", one, "{}", INVALID.0, INVALID.1),
        case("embed: content a string", "POST", one, json!({"content": "hi"}).to_string(), INVALID.0, INVALID.1),
        case("embed: text a number", "POST", one, content(json!(3)).to_string(), INVALID.0, INVALID.1),
        case("embed: parts empty", "POST", one, json!({"content": {"parts": []}}).to_string(), INVALID.0, INVALID.1),
        case("embed: unknown taskType", "POST", one, json!({"content": {"parts": [{"text": "hi"}]}, "taskType": "GUESSING"}).to_string(), INVALID.0, INVALID.1),
        case("embed: outputDimensionality negative", "POST", one, json!({"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": -5}).to_string(), INVALID.0, INVALID.1),
        case("embed: outputDimensionality above the model's", "POST", one, json!({"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 100000}).to_string(), INVALID.0, INVALID.1),
        case("embed: outputDimensionality a string", "POST", one, json!({"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": "big"}).to_string(), INVALID.0, INVALID.1),
        case("embed: unknown field", "POST", one, json!({"content": {"parts": [{"text": "hi"}]}, "foo": 1}).to_string(), INVALID.0, INVALID.1),
        case("embed: image part", "POST", one, json!({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}}).to_string(), INVALID.0, INVALID.1),
        case("embed: a generate model", "POST", "/v1beta/models/gemini-2.0-flash:embedContent", content(json!("hi")).to_string(), NOT_FOUND.0, NOT_FOUND.1),
        case("embed: unknown model", "POST", "/v1beta/models/no-such-embedder:embedContent", content(json!("hi")).to_string(), NOT_FOUND.0, NOT_FOUND.1),
        case("embed: generate on an embedding model", "POST", "/v1beta/models/text-embedding-004:generateContent", gen_body(json!({})), NOT_FOUND.0, NOT_FOUND.1),
        case("batchEmbed: empty body", "POST", batch, "", INVALID.0, INVALID.1),
        case("batchEmbed: requests missing", "POST", batch, "{}", INVALID.0, INVALID.1),
        case("batchEmbed: requests empty", "POST", batch, json!({"requests": []}).to_string(), INVALID.0, INVALID.1),
        case("batchEmbed: requests an object", "POST", batch, json!({"requests": {}}).to_string(), INVALID.0, INVALID.1),
        case("batchEmbed: a request for another model", "POST", batch, json!({"requests": [{"model": "models/gemini-2.0-flash", "content": {"parts": [{"text": "hi"}]}}]}).to_string(), INVALID.0, INVALID.1),
        case("batchEmbed: a request without content", "POST", batch, json!({"requests": [{"model": "models/text-embedding-004"}]}).to_string(), INVALID.0, INVALID.1),
        case("batchEmbed: 101 requests", "POST", batch, json!({"requests": (0..101).map(|_| json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "hi"}]}})).collect::<Vec<_>>()}).to_string(), INVALID.0, INVALID.1),
    ];
    for c in cases.clone().into_iter().filter(|c| c.path == one).take(6) {
        cases.push(Case { name: format!("{} (on /v1)", c.name), path: c.path.replacen("/v1beta/", "/v1/", 1), ..c });
    }
    cases
}

fn openai_cases() -> Vec<Case> {
    let chat = "/v1beta/openai/chat/completions";
    let emb = "/v1beta/openai/embeddings";
    let msg = |extra: Value| {
        let mut b = json!({"model": "gemini-2.0-flash", "messages": [{"role": "user", "content": "hi"}]});
        if let (Some(b), Value::Object(extra)) = (b.as_object_mut(), extra) {
            b.extend(extra);
        }
        b.to_string()
    };
    let embed = |extra: Value| {
        let mut b = json!({"model": "text-embedding-004", "input": "hi"});
        if let (Some(b), Value::Object(extra)) = (b.as_object_mut(), extra) {
            b.extend(extra);
        }
        b.to_string()
    };
    vec![
        case("openai chat: empty body", "POST", chat, "", INVALID.0, INVALID.1),
        case("openai chat: not JSON", "POST", chat, "{", INVALID.0, INVALID.1),
        case("openai chat: top-level array", "POST", chat, "[]", INVALID.0, INVALID.1),
        case(
            "openai chat: no model",
            "POST",
            chat,
            json!({"messages": [{"role": "user", "content": "hi"}]}).to_string(),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: no messages",
            "POST",
            chat,
            json!({"model": "gemini-2.0-flash"}).to_string(),
            INVALID.0,
            INVALID.1,
        ),
        case("openai chat: messages empty", "POST", chat, msg(json!({"messages": []})), INVALID.0, INVALID.1),
        case("openai chat: messages a string", "POST", chat, msg(json!({"messages": "hi"})), INVALID.0, INVALID.1),
        case(
            "openai chat: unknown role",
            "POST",
            chat,
            msg(json!({"messages": [{"role": "wizard", "content": "hi"}]})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: content a number",
            "POST",
            chat,
            msg(json!({"messages": [{"role": "user", "content": 5}]})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: unknown content part type",
            "POST",
            chat,
            msg(json!({"messages": [{"role": "user", "content": [{"type": "hologram"}]}]})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: temperature a string",
            "POST",
            chat,
            msg(json!({"temperature": "hot"})),
            INVALID.0,
            INVALID.1,
        ),
        case("openai chat: temperature above 2", "POST", chat, msg(json!({"temperature": 5})), INVALID.0, INVALID.1),
        case("openai chat: top_p above 1", "POST", chat, msg(json!({"top_p": 3})), INVALID.0, INVALID.1),
        case("openai chat: max_tokens negative", "POST", chat, msg(json!({"max_tokens": -1})), INVALID.0, INVALID.1),
        case(
            "openai chat: max_tokens beyond int32",
            "POST",
            chat,
            msg(json!({"max_tokens": 1e12})),
            INVALID.0,
            INVALID.1,
        ),
        case("openai chat: n of 0", "POST", chat, msg(json!({"n": 0})), INVALID.0, INVALID.1),
        case("openai chat: stop a number", "POST", chat, msg(json!({"stop": 5})), INVALID.0, INVALID.1),
        case(
            "openai chat: unknown response_format",
            "POST",
            chat,
            msg(json!({"response_format": {"type": "yaml"}})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: json_schema without schema",
            "POST",
            chat,
            msg(json!({"response_format": {"type": "json_schema"}})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: json_schema 7,000 properties",
            "POST",
            chat,
            msg(
                json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": wide_schema(7000)}}}),
            ),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: tools not a list",
            "POST",
            chat,
            msg(json!({"tools": {"type": "function"}})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: tool of unknown type",
            "POST",
            chat,
            msg(json!({"tools": [{"type": "teleport"}]})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: tool_choice naming no tool",
            "POST",
            chat,
            msg(
                json!({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}}),
            ),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: unknown model",
            "POST",
            chat,
            msg(json!({"model": "no-such-model"})),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case(
            "openai chat: image_url not a data URL",
            "POST",
            chat,
            msg(
                json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}]}),
            ),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai chat: body over the size limit",
            "POST",
            chat,
            msg(json!({"messages": [{"role": "user", "content": "x".repeat(TEST_BODY_LIMIT + 10)}]})),
            413,
            "INVALID_ARGUMENT",
        ),
        case("openai embeddings: empty body", "POST", emb, "", INVALID.0, INVALID.1),
        case(
            "openai embeddings: no input",
            "POST",
            emb,
            json!({"model": "text-embedding-004"}).to_string(),
            INVALID.0,
            INVALID.1,
        ),
        case("openai embeddings: input a number", "POST", emb, embed(json!({"input": 5})), INVALID.0, INVALID.1),
        case("openai embeddings: input empty list", "POST", emb, embed(json!({"input": []})), INVALID.0, INVALID.1),
        case(
            "openai embeddings: dimensions negative",
            "POST",
            emb,
            embed(json!({"dimensions": -5})),
            INVALID.0,
            INVALID.1,
        ),
        case("openai embeddings: dimensions zero", "POST", emb, embed(json!({"dimensions": 0})), INVALID.0, INVALID.1),
        case(
            "openai embeddings: dimensions above the model's",
            "POST",
            emb,
            embed(json!({"dimensions": 100000})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai embeddings: unknown encoding_format",
            "POST",
            emb,
            embed(json!({"encoding_format": "hex"})),
            INVALID.0,
            INVALID.1,
        ),
        case(
            "openai embeddings: a generate model",
            "POST",
            emb,
            embed(json!({"model": "gemini-2.0-flash"})),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case(
            "openai embeddings: unknown model",
            "POST",
            emb,
            embed(json!({"model": "nope"})),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case("openai models: unknown id", "GET", "/v1beta/openai/models/no-such-model", "", NOT_FOUND.0, NOT_FOUND.1),
    ]
}

fn auth_and_routing_cases() -> Vec<Case> {
    let gen = "/v1beta/models/gemini-2.0-flash:generateContent";
    let ok = gen_body(json!({"generationConfig": {"maxOutputTokens": 1}}));
    let keyed = |name: &str, key: Key, want: (u16, &'static str)| Case {
        key,
        ..case(name, "POST", gen, ok.clone(), want.0, want.1)
    };
    let mut cases = vec![
        keyed("no key", Key::None, (403, "PERMISSION_DENIED")),
        keyed("wrong key in the header", Key::Header("AIzaWrongKey"), INVALID),
        keyed("empty key header (as no key)", Key::Header(""), (403, "PERMISSION_DENIED")),
        keyed("wrong key in the query", Key::Query("AIzaWrongKey"), INVALID),
        keyed("non-ASCII key header", Key::Raw("AIza\u{e9}\u{e9}".as_bytes().to_vec()), INVALID),
        keyed("a key of 10,000 characters", Key::Header(Box::leak("A".repeat(10_000).into_boxed_str())), INVALID),
        Case {
            key: Key::None,
            ..case(
                "no key on the OpenAI layer",
                "POST",
                "/v1beta/openai/chat/completions",
                json!({"model": "gemini-2.0-flash", "messages": [{"role": "user", "content": "hi"}]}).to_string(),
                403,
                "PERMISSION_DENIED",
            )
        },
        Case { key: Key::None, ..case("no key listing models", "GET", "/v1beta/models", "", 403, "PERMISSION_DENIED") },
        case(
            "unknown model",
            "POST",
            "/v1beta/models/no-such-model:generateContent",
            ok.clone(),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case("unknown method", "POST", "/v1beta/models/gemini-2.0-flash:dance", ok.clone(), NOT_FOUND.0, NOT_FOUND.1),
        case(
            "unknown version",
            "POST",
            "/v9/models/gemini-2.0-flash:generateContent",
            ok.clone(),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case("unknown path", "GET", "/v1beta/nothing/here", "", NOT_FOUND.0, NOT_FOUND.1),
        case(
            "model name of 5,000 characters",
            "POST",
            format!("/v1beta/models/{}:generateContent", "m".repeat(5000)),
            ok.clone(),
            NOT_FOUND.0,
            NOT_FOUND.1,
        ),
        case(
            "percent-encoded invalid UTF-8 in the model",
            "POST",
            "/v1beta/models/%00%ff:generateContent",
            ok.clone(),
            INVALID.0,
            INVALID.1,
        ),
        case("GET on generateContent (a model named so)", "GET", gen, "", NOT_FOUND.0, NOT_FOUND.1),
        case("DELETE on a model", "DELETE", "/v1beta/models/gemini-2.0-flash", "", 405, "UNIMPLEMENTED"),
        case("PUT on the models list", "PUT", "/v1beta/models", "", 405, "UNIMPLEMENTED"),
        case("GET on chat completions", "GET", "/v1beta/openai/chat/completions", "", 405, "UNIMPLEMENTED"),
        case("unknown page token", "GET", "/v1beta/models?pageToken=%%%", "", INVALID.0, INVALID.1),
        case("pageSize a word", "GET", "/v1beta/models?pageSize=many", "", INVALID.0, INVALID.1),
        Case {
            content_type: Some("text/plain"),
            ..case("JSON body sent as text/plain", "POST", gen, "not json", INVALID.0, INVALID.1)
        },
    ];
    // The admin API: bad credentials, bad bodies.
    let admin = |name: &str, method: &'static str, path: &str, body: &str, key: Key, want: (u16, &'static str)| Case {
        key,
        ..case(name, method, path, body.to_string(), want.0, want.1)
    };
    cases.extend([
        admin(
            "admin: sign-in with a wrong token",
            "POST",
            "/admin/v1/sessions",
            r#"{"token":"wrong"}"#,
            Key::None,
            (401, "UNAUTHENTICATED"),
        ),
        admin("admin: sign-in not JSON", "POST", "/admin/v1/sessions", "token", Key::None, INVALID),
        admin("admin: projects without a token", "GET", "/admin/v1/projects", "", Key::None, (401, "UNAUTHENTICATED")),
        admin(
            "admin: projects with an API key",
            "GET",
            "/admin/v1/projects",
            "",
            Key::Header(KEY),
            (401, "UNAUTHENTICATED"),
        ),
        admin(
            "admin: create project with a bad tier",
            "POST",
            "/admin/v1/projects",
            r#"{"displayName":"x","tier":"platinum"}"#,
            Key::Admin,
            INVALID,
        ),
        admin("admin: create project not JSON", "POST", "/admin/v1/projects", "{", Key::Admin, INVALID),
        admin(
            "admin: create project with unknown field",
            "POST",
            "/admin/v1/projects",
            r#"{"displayName":"x","owner":"y"}"#,
            Key::Admin,
            INVALID,
        ),
        admin(
            "admin: keys of an unknown project",
            "GET",
            "/admin/v1/projects/no-such-project/keys",
            "",
            Key::Admin,
            NOT_FOUND,
        ),
        admin(
            "admin: key action on an unknown key",
            "POST",
            "/admin/v1/keys/no-such-key:revoke",
            "",
            Key::Admin,
            NOT_FOUND,
        ),
        admin(
            "admin: quota of an unknown project",
            "GET",
            "/admin/v1/projects/no-such-project/quota",
            "",
            Key::Admin,
            NOT_FOUND,
        ),
        admin(
            "admin: body over 2 MB",
            "POST",
            "/admin/v1/projects",
            &format!(r#"{{"displayName":"{}"}}"#, "x".repeat(3 * 1024 * 1024)),
            Key::Admin,
            (413, "INVALID_ARGUMENT"),
        ),
        admin("admin: DELETE on projects", "DELETE", "/admin/v1/projects", "", Key::Admin, (405, "UNIMPLEMENTED")),
    ]);
    cases
}

/// `mutations` on every generate surface.
fn on_every_generate_surface(mutations: Vec<Mutation>) -> Vec<Case> {
    let mut cases = Vec::new();
    for path in generate_surfaces() {
        for (name, body, (want, status)) in mutations.clone() {
            cases.push(case(format!("{path}: {name}"), "POST", path, body, want, status));
        }
    }
    cases
}

/// Every case refused before any model runs.
pub fn catalog() -> Vec<Case> {
    let mut cases = on_every_generate_surface(generate_mutations());
    cases.extend(count_cases());
    cases.extend(embed_cases());
    cases.extend(openai_cases());
    cases.extend(auth_and_routing_cases());
    cases
}

/// Every case the real engine refuses.
pub fn model_catalog() -> Vec<Case> {
    let mut cases = on_every_generate_surface(model_mutations());
    let chat = "/v1beta/openai/chat/completions";
    let self_reference = json!({"name": "x", "schema": {"$ref": "#"}});
    let format = json!({"type": "json_schema", "json_schema": self_reference});
    let messages = json!([{"role": "user", "content": "hi"}]);
    let body = json!({"model": "gemini-2.0-flash", "messages": messages, "response_format": format});
    let name = "openai chat: json_schema self reference";
    cases.push(case(name, "POST", chat, body.to_string(), INVALID.0, INVALID.1));
    let messages = json!([{"role": "user", "content": "word ".repeat(6000)}]);
    let long = json!({"model": "gemini-2.0-flash", "messages": messages}).to_string();
    let name = "openai chat: prompt over the input limit";
    cases.push(case(name, "POST", chat, long, INVALID.0, INVALID.1));
    cases
}

async fn session(s: &TestServer) -> String {
    let r = s
        .http
        .post(format!("{}/admin/v1/sessions", s.base))
        .json(&json!({"token": ADMIN_TOKEN}))
        .send()
        .await
        .expect("sign-in sent");
    r.json::<Value>().await.expect("sign-in JSON")["session"].as_str().expect("a session").to_string()
}

/// Sends one case; returns what was wrong with its answer, if anything.
async fn probe(s: &TestServer, c: &Case, admin_session: &str) -> Option<String> {
    let method = reqwest::Method::from_bytes(c.method.as_bytes()).expect("method");
    let mut url = format!("{}{}", s.base, c.path);
    let mut req = s.http.request(method, &url);
    match &c.key {
        Key::Test => req = req.header("x-goog-api-key", KEY),
        Key::None => {}
        Key::Header(k) => req = req.header("x-goog-api-key", *k),
        Key::Raw(bytes) => {
            req = req
                .header("x-goog-api-key", reqwest::header::HeaderValue::from_bytes(bytes).expect("opaque header value"))
        }
        Key::Query(k) => {
            url.push_str(if url.contains('?') { "&key=" } else { "?key=" });
            url.push_str(k);
            req = s.http.request(reqwest::Method::from_bytes(c.method.as_bytes()).unwrap(), &url);
        }
        Key::Admin => req = req.bearer_auth(admin_session),
    }
    if c.path.starts_with("/v1beta/openai/") && matches!(c.key, Key::Test) {
        req = req.bearer_auth(KEY);
    }
    if let Some(ct) = c.content_type {
        req = req.header("content-type", ct);
    }
    if !c.body.is_empty() || c.method == "POST" {
        req = req.body(c.body.clone());
    }
    let resp = match tokio::time::timeout(Duration::from_secs(120), req.send()).await {
        Err(_) => return Some("no answer within 120 s".into()),
        Ok(Err(e)) => return Some(format!("the connection failed: {e}")),
        Ok(Ok(r)) => r,
    };
    let code = resp.status().as_u16();
    let allow = resp.headers().get("allow").is_some();
    let text = resp.text().await.unwrap_or_default();
    let mut wrong = Vec::new();
    if code != c.want {
        wrong.push(format!("status {code}, want {}", c.want));
    }
    if code == 405 && !allow {
        wrong.push("405 without Allow".into());
    }
    match serde_json::from_str::<Value>(&text) {
        Err(_) => wrong.push(format!("not JSON: {:?}", text.chars().take(200).collect::<String>())),
        Ok(v) => {
            let envelope = match (c.form, &v) {
                (Form::OpenAi, Value::Array(items)) if items.len() == 1 => &items[0],
                // The native JSON-array stream may wrap its error as the array's one element.
                (Form::Native, Value::Array(items))
                    if items.len() == 1 && c.path.contains(":streamGenerateContent") =>
                {
                    &items[0]
                }
                (_, other) => other,
            };
            let e = &envelope["error"];
            if e["code"].as_u64() != Some(code as u64) {
                wrong.push(format!("error.code {} for HTTP {code}", e["code"]));
            }
            if e["message"].as_str().is_none_or(str::is_empty) {
                wrong.push("no error.message".into());
            }
            if e["status"].as_str() != Some(c.status) {
                wrong.push(format!("error.status {}, want {}", e["status"], c.status));
            }
        }
    }
    (!wrong.is_empty())
        .then(|| format!("{}: {} — body {:?}", c.name, wrong.join("; "), text.chars().take(300).collect::<String>()))
}

/// Sends every case (the admin API's signed in), checking after each that the server still
/// answers a normal call; returns what was wrong with the answers.
pub async fn probe_all(s: &TestServer, cases: &[Case]) -> Vec<String> {
    let admin_session = session(s).await;
    let mut failures = Vec::new();
    for c in cases {
        if let Some(f) = probe(s, c, &admin_session).await {
            failures.push(f);
        }
        // Alive after every case: a normal call still answers.
        let (status, _) = s.get_json("/v1beta/models").await;
        assert_eq!(status, 200, "the server stopped answering after {}", c.name);
    }
    failures
}
