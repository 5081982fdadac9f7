//! A prompt over the input limit, counted by the real tokenizer, is a 400 in the envelope.
//! (Every refusal that comes before any model runs: tests/surface/errors.rs.)

use serde_json::json;

use crate::harness::TestServer;
use crate::shared::native::expect_400;

#[tokio::test]
async fn prompt_over_the_input_limit_is_400() {
    let s = TestServer::real().await;
    let long = "lorem ipsum dolor sit amet ".repeat(1200);
    let v = expect_400(&s, &json!({"contents":[{"parts":[{"text": long}]}]}).to_string()).await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("The input token count ("), "{msg}");
    assert!(msg.contains("exceeds the maximum number of tokens allowed (2047)"), "{msg}");
}
