//! Sampling fields in both dialects, through the surface-neutral [`GenerateOptions`]: an
//! OpenAI request's are read into them (gemd's OpenAI layer), and a Gemini request's are
//! written as an OpenAI request's (an OpenAI-compatible upstream).
//!
//! `topK` has no OpenAI field; it is written as `top_k`, which vLLM, SGLang, TGI, llama.cpp's
//! server, llama-cpp-python and Ollama read and OpenAI itself refuses (so an upstream gets it
//! only where its capabilities list `top_k`). `max_tokens` (not `max_completion_tokens`) is what every
//! OpenAI-compatible engine reads.

use gemd_wire::openai::ChatCompletionRequest;
use serde_json::{json, Map, Value};

use crate::service::generation::GenerateOptions;

/// An OpenAI request's sampling fields.
pub fn from_openai(req: &ChatCompletionRequest) -> GenerateOptions {
    GenerateOptions {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: None,
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        stop_sequences: req.stop_sequences(),
        max_output_tokens: req.max_output_tokens(),
        cap_field: if req.max_completion_tokens.is_some() { "max_completion_tokens" } else { "max_tokens" },
    }
}

/// The options as OpenAI request fields, into `body`.
pub fn to_openai(options: &GenerateOptions, body: &mut Map<String, Value>) {
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(key.into(), v);
        }
    };
    put("temperature", options.temperature.map(|v| json!(v)));
    put("top_p", options.top_p.map(|v| json!(v)));
    put("top_k", options.top_k.map(|v| json!(v)));
    put("seed", options.seed.map(|v| json!(v)));
    put("presence_penalty", options.presence_penalty.map(|v| json!(v)));
    put("frequency_penalty", options.frequency_penalty.map(|v| json!(v)));
    put("max_tokens", options.max_output_tokens.map(|v| json!(v)));
    put("stop", (!options.stop_sequences.is_empty()).then(|| json!(options.stop_sequences)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemd_wire::openai::parse_chat_completion;

    #[test]
    fn fields_go_both_ways() {
        let req = parse_chat_completion(
            br#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.5,"top_p":0.9,"seed":7,"max_completion_tokens":30,"stop":["END"],"presence_penalty":0.1,"frequency_penalty":0.2}"#,
        )
        .unwrap();
        let options = from_openai(&req);
        assert_eq!(options.cap_field, "max_completion_tokens");
        let mut body = Map::new();
        to_openai(&GenerateOptions { top_k: Some(40), ..options }, &mut body);
        assert_eq!(
            Value::Object(body),
            json!({"temperature": 0.5, "top_p": 0.9, "top_k": 40, "seed": 7, "presence_penalty": 0.1,
                   "frequency_penalty": 0.2, "max_tokens": 30, "stop": ["END"]})
        );
    }
}
