//! Embedding ids and the OpenAI layer through upstreams that are real gemd processes over
//! HTTP (in-process, on a scripted engine and the test embedder): native embedContent,
//! batchEmbedContents and countTokens pass through a Gemini upstream with the model names
//! rewritten to the upstream's, and are answered from an OpenAI-compatible one's
//! `/embeddings`; the OpenAI layer's `embeddings` and `chat/completions` reach both kinds;
//! a dead first backend falls back to the next, and `x-gemd-backend` says who served.

use std::collections::BTreeMap;
use std::sync::Arc;

use gemd_engine::upstream::{Capabilities, Upstream, UpstreamConfig, UpstreamProtocol};
use gemd_server::{builtin_embedding_models, Backends, Catalog, CatalogError, QuotaTable, DEFAULT_BACKEND};
use serde_json::{json, Value};

use crate::harness::{test_embedder, TestServer, KEY};
use crate::shared::embeddings::values;
use crate::shared::native::sse_events;
use crate::shared::server::{test_specs, TEST_OUTPUT_LIMIT};
use crate::upstream::{config_of, hello_engine, post, upstream_config};

const EMBED: &str = "/v1beta/models/gemini-embedding-001:embedContent";
const BATCH: &str = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
const COUNT: &str = "/v1beta/models/gemini-embedding-001:countTokens";

/// A port nothing listens on.
async fn dead_base() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    base
}

/// A front whose embedding ids and generative ids go to the upstreams `hops`, in order
/// (`"default"`: the local scripted engine or test embedder).
async fn front(hops: &[(&str, Option<UpstreamConfig>)]) -> TestServer {
    let mut backends = Backends::default();
    backends.engines.insert(DEFAULT_BACKEND.into(), hello_engine(&["local"]));
    for (name, config) in hops {
        if let Some(c) = config {
            backends.upstreams.insert(name.to_string(), Arc::new(Upstream::new(c.clone()).expect("upstream")));
        }
    }
    let names: Vec<String> = hops.iter().map(|(n, _)| n.to_string()).collect();
    let route = |mut s: gemd_server::ModelSpec| {
        s.backend = names[0].clone();
        s.fallbacks = names[1..].to_vec();
        s
    };
    let embedders = BTreeMap::from([(gemd_server::DEFAULT_EMBEDDER.to_string(), test_embedder())]);
    let catalog = Catalog::with_backends(test_specs(TEST_OUTPUT_LIMIT).into_iter().map(route).collect(), &backends)
        .and_then(|c| {
            c.with_embeddings(
                builtin_embedding_models().into_iter().map(route).collect(),
                &embedders,
                &backends.upstreams,
            )
        })
        .expect("catalog");
    TestServer::with_catalog(catalog, QuotaTable::unlimited()).await
}

/// An OpenAI-kind config for gemd's own OpenAI layer at `base`, embeddings listed.
fn openai_config(name: &str, base: &str) -> UpstreamConfig {
    let mut c = config_of(name, &format!("{base}/v1beta/openai"), &[KEY], UpstreamProtocol::OpenAi);
    c.capabilities = Capabilities { embeddings: true, ..Capabilities::of_kind(UpstreamProtocol::OpenAi) };
    c
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

fn batch_body(model: &str, texts: &[&str]) -> String {
    let requests: Vec<Value> =
        texts.iter().map(|t| json!({"model": model, "content": {"parts": [{"text": t}]}})).collect();
    json!({ "requests": requests }).to_string()
}

#[tokio::test]
async fn native_embedding_calls_pass_through_a_gemini_upstream_with_its_model_names() {
    let upstream = TestServer::with_engine(hello_engine(&["x"])).await;
    // The front's gemini-embedding-001 is the upstream's text-embedding-004: the batch's own
    // model names must be rewritten, or the upstream refuses them.
    let mut config = upstream_config("up", &upstream.base, &[KEY]);
    config.model = Some("text-embedding-004".into());
    let front = front(&[("up", Some(config))]).await;

    let one = json!({"content": {"parts": [{"text": "a cat"}]}, "outputDimensionality": 8}).to_string();
    let (status, backend, via) = post(&front, EMBED, &one).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{via}");
    let (_, _, direct) = post(&upstream, "/v1beta/models/text-embedding-004:embedContent", &one).await;
    assert_eq!(via, direct, "the upstream's answer, as it is");
    assert_eq!(values(&serde_json::from_str::<Value>(&via).unwrap()["embedding"]).len(), 8);

    let (status, backend, via) = post(&front, BATCH, &batch_body("models/gemini-embedding-001", &["a", "b"])).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{via}");
    let direct_body = batch_body("models/text-embedding-004", &["a", "b"]);
    let (_, _, direct) = post(&upstream, "/v1beta/models/text-embedding-004:batchEmbedContents", &direct_body).await;
    assert_eq!(via, direct);

    // The front still checks the batch against its own path, in its own words.
    let (status, _, wrong) = post(&front, BATCH, &batch_body("models/other", &["a"])).await;
    assert_eq!(status, 400, "{wrong}");
    assert!(wrong.contains("requests[0].model"), "{wrong}");

    let count = json!({"contents": [{"parts": [{"text": "count me"}]}]}).to_string();
    let (status, backend, via) = post(&front, COUNT, &count).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{via}");
    let (_, _, direct) = post(&upstream, "/v1beta/models/text-embedding-004:countTokens", &count).await;
    assert_eq!(via, direct);

    let (_, model) = front.get_json("/v1beta/models/gemini-embedding-001").await;
    assert!(model["description"].as_str().unwrap().contains("Gemini API upstream up"), "{model}");
}

#[tokio::test]
async fn native_embeddings_are_answered_from_an_openai_upstreams_vectors() {
    let upstream = TestServer::with_engine(hello_engine(&["x"])).await;
    let front = front(&[("oa", Some(openai_config("oa", &upstream.base)))]).await;

    let one = json!({"content": {"parts": [{"text": "a dog"}]}}).to_string();
    let (status, backend, via) = post(&front, EMBED, &one).await;
    assert_eq!((status, backend.as_deref()), (200, Some("oa")), "{via}");
    let (_, _, direct) = post(&upstream, EMBED, &one).await;
    let via_v = values(&serde_json::from_str::<Value>(&via).unwrap()["embedding"]);
    let direct_v = values(&serde_json::from_str::<Value>(&direct).unwrap()["embedding"]);
    assert!(close(&via_v, &direct_v), "the upstream embedder's vector");

    // A dimension is cut and renormalised by gemd, as its own embedder does.
    let cut = json!({"content": {"parts": [{"text": "a dog"}]}, "outputDimensionality": 4}).to_string();
    let (_, _, via) = post(&front, EMBED, &cut).await;
    let (_, _, direct) = post(&upstream, EMBED, &cut).await;
    let via_v = values(&serde_json::from_str::<Value>(&via).unwrap()["embedding"]);
    assert!(close(&via_v, &values(&serde_json::from_str::<Value>(&direct).unwrap()["embedding"])), "{via}");

    let (status, _, batch) = post(&front, BATCH, &batch_body("models/gemini-embedding-001", &["a", "b", "c"])).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(serde_json::from_str::<Value>(&batch).unwrap()["embeddings"].as_array().unwrap().len(), 3);

    // OpenAI embeddings take text only: an image part is refused by its path.
    let image = json!({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}});
    let (status, _, refused) = post(&front, EMBED, &image.to_string()).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("content.parts[0]"), "{refused}");
}

#[tokio::test]
async fn a_dead_first_embedding_backend_falls_back_and_the_openai_layer_routes_too() {
    let upstream = TestServer::with_engine(hello_engine(&["x"])).await;
    let dead = dead_base().await;
    let front = front(&[
        ("dead", Some(upstream_config("dead", &dead, &[KEY]))),
        ("up", Some(upstream_config("up", &upstream.base, &[KEY]))),
    ])
    .await;

    let one = json!({"content": {"parts": [{"text": "fallback"}]}}).to_string();
    let (status, backend, body) = post(&front, EMBED, &one).await;
    assert_eq!((status, backend.as_deref()), (200, Some("up")), "{body}");

    // The OpenAI layer's embeddings, on a Gemini upstream (batchEmbedContents underneath).
    let resp = front
        .openai_post(
            "/v1beta/openai/embeddings",
            KEY,
            &json!({"model": "gemini-embedding-001", "input": ["x", "y"], "dimensions": 5}),
        )
        .await;
    assert_eq!(resp.headers()["x-gemd-backend"], "up");
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list["data"][1]["embedding"].as_array().unwrap().len(), 5, "{list}");
    let (_, _, direct) =
        post(&upstream, EMBED, &json!({"content": {"parts": [{"text": "y"}]}, "outputDimensionality": 5}).to_string())
            .await;
    let direct_v = values(&serde_json::from_str::<Value>(&direct).unwrap()["embedding"]);
    let via_v: Vec<f32> =
        list["data"][1]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    assert!(close(&via_v, &direct_v));
}

#[tokio::test]
async fn an_embedding_id_cannot_name_an_upstream_without_embeddings() {
    let mut backends = Backends::default();
    let c = config_of("chat", "http://127.0.0.1:9", &[], UpstreamProtocol::OpenAi);
    backends.upstreams.insert("chat".into(), Arc::new(Upstream::new(c).unwrap()));
    let mut spec = builtin_embedding_models().remove(0);
    spec.backend = "chat".into();
    let err = Catalog::default().with_embeddings(vec![spec.clone()], &BTreeMap::new(), &backends.upstreams).err();
    assert_eq!(err, Some(CatalogError::NoEmbeddings { model: spec.id, backend: "chat".into() }));
}

#[tokio::test]
async fn the_openai_layer_reaches_both_kinds_of_upstream() {
    let upstream = TestServer::with_engine(hello_engine(&["Hi", " there"])).await;
    let request = |stream: bool| {
        json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hello"}], "stream": stream,
               "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null }})
    };
    let gemini = front(&[("gem", Some(upstream_config("gem", &upstream.base, &[KEY])))]).await;
    let openai = front(&[("oa", Some(openai_config("oa", &upstream.base)))]).await;
    for (front, name) in [(&gemini, "gem"), (&openai, "oa")] {
        let resp = front.openai_post("/v1beta/openai/chat/completions", KEY, &request(false)).await;
        assert_eq!((resp.status().as_u16(), resp.headers()["x-gemd-backend"].to_str().unwrap()), (200, name));
        let completion: Value = resp.json().await.unwrap();
        assert_eq!(completion["choices"][0]["message"]["content"], "Hi there", "{completion}");
        assert!(completion["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{completion}");

        let resp = front.openai_post("/v1beta/openai/chat/completions", KEY, &request(true)).await;
        assert_eq!(resp.status().as_u16(), 200);
        let text = resp.text().await.unwrap();
        assert!(text.ends_with("data: [DONE]\n\n") && text.matches("[DONE]").count() == 1, "{text}");
        let chunks: Vec<Value> = text
            .split_terminator("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let streamed: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
        assert_eq!(streamed, "Hi there", "{text}");
        assert!(chunks.iter().any(|c| c["usage"].is_object()), "{text}");
    }
    // The native stream of the same front still works (SSE framing of the relay).
    let (status, _, sse) = post(
        &gemini,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!sse_events(&sse).is_empty());
}

#[tokio::test]
async fn the_openai_layer_falls_back_past_a_dead_upstream_and_passes_verdicts_on() {
    let upstream = TestServer::with_engine(hello_engine(&["ok"])).await;
    let dead = dead_base().await;
    let front = front(&[
        ("dead", Some(openai_config("dead", &dead))),
        ("up", Some(openai_config("up", &upstream.base))),
        ("default", None),
    ])
    .await;
    let resp = front
        .openai_post(
            "/v1beta/openai/chat/completions",
            KEY,
            &json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!((resp.status().as_u16(), resp.headers()["x-gemd-backend"].to_str().unwrap()), (200, "up"));

    // A request the upstream refuses is its verdict, in its words, not a fallback.
    let bad = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x"}], "n": 3});
    let resp = front.openai_post("/v1beta/openai/chat/completions", KEY, &bad).await;
    assert_eq!((resp.status().as_u16(), resp.headers()["x-gemd-backend"].to_str().unwrap()), (400, "up"));
}
