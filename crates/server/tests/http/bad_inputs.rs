//! The bad-input catalog's cases the real engine refuses (tests/shared/bad_inputs.rs): prompts
//! over the input limit by its tokenizer's count, response schemas its grammar compiler
//! rejects. (Every case refused before any model runs: tests/surface/bad_inputs.rs.)

use crate::harness::TestServer;
use crate::shared::bad_inputs::{model_catalog, probe_all};

#[tokio::test]
async fn every_input_the_real_engine_refuses_gets_its_status_in_the_envelope() {
    let s = TestServer::wire().await;
    let cases = model_catalog();
    let failures = probe_all(&s, &cases).await;
    let (wrong, all, report) = (failures.len(), cases.len(), failures.join("\n"));
    assert!(failures.is_empty(), "{wrong} of {all} cases answered wrongly:\n{report}");
}
