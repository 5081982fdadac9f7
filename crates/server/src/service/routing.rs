//! The one loop every routed id runs (`backends = ["a", "b"]`, or an upstream at all), on
//! every surface: its backends are tried in order and the first that can answer does.
//!
//! - A local backend answers as for a plain id, with its own admission on its own count of
//!   the prompt; it passes the request on only when it cannot take it (overloaded, shutting
//!   down).
//! - Upstream hops are admitted once, on gemd's estimate ([`crate::service::estimate`]); the
//!   ticket passes from hop to hop and is settled by the one that answers, so a request that
//!   fell back is charged once.
//! - An upstream failure before its answer (the transport retried it already) passes the
//!   request on; a 4xx is the upstream's verdict and goes back to the client; a replaying
//!   backend's missing recording is the answer (a live fallback would make the run depend on
//!   the network again).
//! - An error of gemd's own (a refusal of the translation, an answer that does not read)
//!   gives the admission back.
//!
//! What is asked of each kind of hop is the surface's ([`HopCall`]).

use std::sync::Arc;

use gemd_engine::upstream::{Upstream, UpstreamError};
use gemd_engine::EngineError;

use super::access::{Access, Caller, Ticket};
use super::catalog::{Hop, LocalBackend, Routed};
use super::error::ApiError;

/// What a surface asks of each kind of hop of an id whose local backends are `L`
/// (crate-private: the `Send` of its futures comes from the implementations, which every
/// surface's handler checks).
pub(crate) trait HopCall<L> {
    type Answer;

    /// The admission of the upstream hops (`None`: nothing to charge, as for countTokens).
    async fn admit(&self, access: &Arc<Access>, caller: &Caller, id: &str) -> Result<Option<Ticket>, ApiError>;

    /// The answer of a local backend, admitted on its own; `Ok(Err)` passes the request on.
    async fn local(
        &self,
        local: &L,
        access: &Arc<Access>,
        caller: &Caller,
    ) -> Result<Result<Self::Answer, UpstreamError>, ApiError>;

    /// The answer of an upstream: `Ok(Err)` passes the request on. A served answer takes the
    /// ticket (to settle it, or to hand it to the stream that settles it at its end).
    async fn upstream(
        &self,
        upstream: &Upstream,
        id: &str,
        ticket: &mut Option<Ticket>,
    ) -> Result<Result<Self::Answer, UpstreamError>, ApiError>;
}

/// Tries `routed`'s backends in order; the answer and the name of the backend that gave it.
pub(crate) async fn serve<L: LocalBackend, C: HopCall<L>>(
    routed: &Routed<L>,
    access: &Arc<Access>,
    caller: &Caller,
    call: &C,
) -> Result<(C::Answer, String), ApiError> {
    let id = routed.spec.id.as_str();
    // The upstream hops' admission; the outer `None` is "not admitted yet".
    let mut admitted: Option<Option<Ticket>> = None;
    let mut failures = Vec::new();
    for hop in &routed.hops {
        let outcome = match hop {
            Hop::Local(local) => {
                // The local backend admits on its own count; a later upstream hop admits again.
                refund(admitted.take().flatten());
                call.local(local, access, caller).await
            }
            Hop::Upstream(upstream) => {
                if admitted.is_none() {
                    admitted = Some(call.admit(access, caller, id).await?);
                }
                let ticket = admitted.as_mut().expect("admitted above");
                call.upstream(upstream, id, ticket).await
            }
        };
        match outcome {
            Ok(Ok(answer)) => return Ok((answer, hop.name())),
            Err(e) => {
                refund(admitted.flatten());
                return Err(e);
            }
            Ok(Err(UpstreamError::NotRecorded(missing))) => {
                refund(admitted.flatten());
                return Err(ApiError::NotRecorded(missing));
            }
            Ok(Err(e)) => {
                tracing::warn!(model = %id, backend = %hop.name(), error = %e, "backend failed; trying the next");
                failures.push(e);
            }
        }
    }
    refund(admitted.flatten());
    tracing::warn!(model = %id, failures = ?failures, "no backend could answer");
    Err(ApiError::NoBackend { model: id.to_string(), failures })
}

/// A local backend's answer as a hop's: one that cannot take the request now (overloaded,
/// shutting down) passes it to the next backend; any other refusal is the client's.
pub(crate) fn local_outcome<T>(
    answer: Result<T, ApiError>,
    backend: String,
) -> Result<Result<T, UpstreamError>, ApiError> {
    match answer {
        Err(ApiError::Engine(e @ (EngineError::Overloaded | EngineError::ShuttingDown))) => {
            Ok(Err(UpstreamError::Unavailable { backend, reason: e.to_string() }))
        }
        other => other.map(Ok),
    }
}

/// Gives an admission back (nothing was served).
pub(crate) fn refund(ticket: Option<Ticket>) {
    if let Some(mut t) = ticket {
        t.refund();
    }
}
