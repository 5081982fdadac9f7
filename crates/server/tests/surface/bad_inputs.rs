//! The bad-input catalog (tests/shared/bad_inputs.rs) on a scripted engine: every case refused
//! before any model runs.

use crate::harness::TestServer;
use crate::shared::bad_inputs::{catalog, probe_all};

#[tokio::test]
async fn every_bad_input_gets_its_status_in_the_envelope_and_the_server_survives() {
    let s = TestServer::scripted().await;
    let cases = catalog();
    assert!(cases.len() >= 200, "the catalog has {} cases", cases.len());
    let failures = probe_all(&s, &cases).await;
    let (wrong, all, report) = (failures.len(), cases.len(), failures.join("\n"));
    assert!(failures.is_empty(), "{wrong} of {all} cases answered wrongly:\n{report}");
}
