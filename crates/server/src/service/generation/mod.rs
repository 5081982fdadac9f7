//! Running a generation for any API surface: tokenising the chat prompt off the async workers,
//! the input-limit check, the quota admission, starting the engine, and reading its events
//! either whole ([`Started::complete`]) or as a stream of coalesced steps ([`stream`]). The
//! surfaces differ only in how they read requests into a [`GenerateRequest`] and print
//! answers (a [`StreamWriter`] each). A request's [`Plan`](super::tools::Plan) (tools, response format) adds the
//! function declarations to the prompt and a grammar to the sampling, and its output is read
//! back as text or function calls ([`Ending`]).

pub mod content_error;
mod features;
mod request;
pub mod stream;

use std::sync::Arc;

use gemd_engine::{ChatPrompt, EngineError, Event, EventStream, PrepareBounds, PreparedPrompt, ToolSyntax};
use rand::distributions::Alphanumeric;
use rand::Rng;

pub use content_error::ContentError;
pub use features::check_unserved_features;
pub use request::{GenerateOptions, GenerateRequest, ValidGenerateRequest};
pub use stream::{Frames, StreamWriter};

use super::access::{Access, Caller, Ticket};
use super::catalog::Served;
use super::error::ApiError;
use super::tools::{reply, Ending};

/// Renders and tokenises off the async workers (a long prompt is real CPU work). A prompt
/// over `max_tokens` is refused as soon as that is known, not after tokenising all of it;
/// and if this future is dropped (the HTTP layer drops a handler whose client disconnected), the
/// blocking work stops within one piece of text instead of running to the end.
pub async fn tokenize(
    served: &Served,
    chat: ChatPrompt,
    max_tokens: Option<usize>,
) -> Result<PreparedPrompt, ApiError> {
    let bounds = PrepareBounds { max_tokens, ..Default::default() };
    let _stop_when_dropped = bounds.cancel.cancel_on_drop();
    let engine = served.engine.clone();
    let prompt = tokio::task::spawn_blocking(move || engine.prepare_bounded(&chat, &bounds))
        .await
        .map_err(|e| ApiError::Engine(EngineError::Internal(format!("tokeniser task: {e}"))))??;
    Ok(prompt)
}

/// A generation that has been tokenised, checked against the input limit and handed to the
/// engine.
pub struct Started {
    pub events: EventStream,
    pub prompt_tokens: u32,
    pub response_id: String,
    /// The quota admission; dropped (and written to the ledger) when the generation ends.
    pub ticket: Ticket,
    /// Whether the output may be a block of function calls.
    pub calls_possible: bool,
    /// How the backend's model spells calls.
    pub syntax: ToolSyntax,
}

/// Tokenises, checks the input limit, admits the request against the caller's quota for
/// this model (counting the real prompt tokens), then starts the engine. The request's plan
/// adds its function declarations to the system text and its grammar to the sampling.
pub async fn start(
    served: &Served,
    chat: ChatPrompt,
    request: ValidGenerateRequest,
    access: &Arc<Access>,
    caller: &Caller,
) -> Result<Started, ApiError> {
    let (mut params, plan) = request.into_parts();
    let syntax = served.engine.chat_format().tool_syntax();
    params.constraint = plan.constraint(syntax);
    let prompt = tokenize(served, plan.prompt(chat), Some(served.input_token_limit() as usize)).await?;
    let prompt_tokens = prompt.len() as u32;
    let mut ticket = access.admit(caller, &served.spec.id, prompt_tokens as u64).await?;
    let events = match served.engine.generate(prompt, params) {
        Ok(events) => events,
        Err(e) => {
            // Refused by the engine (overloaded, shutting down, a bad grammar): not served, so
            // not charged.
            ticket.refund();
            return Err(match e {
                EngineError::InvalidConstraint(message) => ApiError::GrammarRefused(message),
                e => e.into(),
            });
        }
    };
    Ok(Started { events, prompt_tokens, response_id: response_id(), ticket, calls_possible: plan.may_call(), syntax })
}

/// A finished generation, read whole.
pub struct Completion {
    pub text: String,
    pub ending: Ending,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
}

impl Started {
    pub async fn complete(mut self) -> Result<Completion, ApiError> {
        let mut text = String::new();
        let mut produced = false;
        loop {
            match self.events.recv().await {
                Some(Event::Text { text: t, output_tokens }) => {
                    produced = true;
                    text.push_str(&t);
                    // Counted as it comes: a call dropped before the end (its client left, its
                    // deadline passed) is in the ledger with the output it cost.
                    self.ticket.set_output_tokens(output_tokens);
                }
                Some(Event::Done { finish, prompt_tokens, output_tokens }) => {
                    self.ticket.set_output_tokens(output_tokens);
                    // In the ledger before the answer is sent.
                    self.ticket.settle().await;
                    let (text, ending) = reply::read(&text, finish, self.calls_possible, self.syntax);
                    return Ok(Completion { text, ending, prompt_tokens, output_tokens });
                }
                Some(Event::Failed(e)) => {
                    if !produced {
                        // Failed before any output: refused, not served, so not charged.
                        self.ticket.refund();
                    }
                    return Err(e.into());
                }
                None => return Err(ended_early()),
            }
        }
    }
}

fn ended_early() -> ApiError {
    EngineError::Internal("generation ended without a result".into()).into()
}

/// A 22-character URL-safe id, like the real service's `responseId`.
pub fn response_id() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(22).map(char::from).collect()
}
