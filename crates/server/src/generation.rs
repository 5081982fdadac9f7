//! Running a generation for any API surface: sampling defaults and caps of the served model,
//! tokenising the chat prompt off the async workers, the input-limit check, starting the
//! engine, and reading its events either whole or as a stream of coalesced steps. The native
//! and OpenAI surfaces differ only in how they read requests and print answers (a
//! [`StreamWriter`] each). A request's [`Plan`] (tools, response format) adds the function
//! declarations to the prompt and a grammar to the sampling, and its output is read back as
//! text or function calls ([`Ending`]).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::stream;
use gemd_engine::{ChatPrompt, EngineError, Event, EventStream, Finish, PrepareBounds, PreparedPrompt, SamplingParams, ToolSyntax};
use gemd_wire::gemini::GenerationConfig;
use rand::distributions::Alphanumeric;
use rand::Rng;

use std::sync::Arc;

use crate::access::{Access, Caller, Ticket};
use crate::catalog::Served;
use crate::error::ApiError;
use crate::tools::{CallGate, Ending, Plan};

static BACKEND_HEADER: HeaderName = HeaderName::from_static("x-gemd-backend");

/// Maps generation config to engine parameters; unset values take the model's defaults.
/// `cap_field` is the path of the request's output cap (`generation_config.max_output_tokens`,
/// `max_tokens`), named when it is refused ([`output_cap`]).
pub fn sampling_params(cfg: Option<&GenerationConfig>, served: &Served, cap_field: &str) -> Result<SamplingParams, ApiError> {
    let cfg = cfg.cloned().unwrap_or_default();
    Ok(SamplingParams {
        temperature: Some(cfg.temperature.map(|t| t as f32).unwrap_or(served.spec.temperature)),
        top_p: Some(cfg.top_p.map(|p| p as f32).unwrap_or(served.spec.top_p)),
        top_k: Some(cfg.top_k.filter(|k| *k > 0).map(|k| k.min(i32::MAX as i64) as i32).unwrap_or(served.spec.top_k as i32)),
        // Proto `seed` is int32; any value maps to a distinct u32 seed.
        seed: cfg.seed.map(|s| s as u32),
        presence_penalty: cfg.presence_penalty.map(|p| p as f32),
        frequency_penalty: cfg.frequency_penalty.map(|p| p as f32),
        stop_sequences: cfg.stop_sequences,
        max_output_tokens: output_cap(cfg.max_output_tokens, served, cap_field)?,
        constraint: None,
    })
}

/// The most tokens a request may write. The rule, Google's where Google has one:
/// - absent: what the backend can write (the models listing's `outputTokenLimit`);
/// - outside `[1, the id's output limit]` (the real service's, or a higher configured one):
///   refused,
///   400 INVALID_ARGUMENT in the real service's words (values that are not int32, such as
///   `1e12`, were already refused by the parser, as Google's parser does);
/// - within that range but above what this backend can write (its context per sequence is
///   smaller than the real model's output limit, or the configuration caps answers lower):
///   lowered to what it can write, so a request
///   the real service takes is taken here too, and ends `MAX_TOKENS` where the backend must stop.
///
/// Rejected alternative: refusing above the listing's (smaller) `outputTokenLimit` would answer
/// 400 to clients that send the real model's documented maximum (65,536 for Gemini 3 Flash)
/// to a server whose context is 8,192 tokens.
pub fn output_cap(requested: Option<i64>, served: &Served, field: &str) -> Result<u32, ApiError> {
    let writable = served.output_token_limit();
    let Some(n) = requested else { return Ok(writable) };
    let limit = i64::from(served.spec.accepted_output_tokens);
    if !(1..=limit).contains(&n) {
        let message = format!(
            "Unable to submit request because it has a maxOutputTokens value of {n} but the supported range is from 1 (inclusive) to {} (exclusive). Update the value and try again.",
            limit + 1
        );
        return Err(ApiError::invalid(message, Some(field.to_string())));
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX).min(writable))
}

/// Renders and tokenises off the async workers (a long prompt is real CPU work). A prompt
/// over `max_tokens` is refused as soon as that is known, not after tokenising all of it;
/// and if this future is dropped (axum drops a handler whose client disconnected), the
/// blocking work stops within one piece of text instead of running to the end.
pub async fn tokenize(served: &Served, chat: ChatPrompt, max_tokens: Option<usize>) -> Result<PreparedPrompt, ApiError> {
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
/// this model (counting the real prompt tokens), then starts the engine. `plan` adds its
/// function declarations to the system text and its grammar to the sampling.
pub async fn start(served: &Served, chat: ChatPrompt, mut params: SamplingParams, plan: &Plan, access: &Arc<Access>, caller: &Caller) -> Result<Started, ApiError> {
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
                EngineError::InvalidConstraint(message) => ApiError::invalid(message, None),
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
                Some(Event::Text { text: t, .. }) => {
                    produced = true;
                    text.push_str(&t);
                }
                Some(Event::Done { finish, prompt_tokens, output_tokens }) => {
                    self.ticket.set_output_tokens(output_tokens);
                    // In the ledger before the answer is sent.
                    self.ticket.settle().await;
                    let (text, ending) = crate::tools::reply::read(&text, finish, self.calls_possible, self.syntax);
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

/// How one surface prints a stream: a chunk per step of output, and the event that ends a
/// stream which failed after it started.
pub trait StreamWriter: Send + 'static {
    /// Bytes for new text; `ending` is set on the last step (with the calls, if the answer is
    /// calls), which must also close the stream.
    fn chunk(&mut self, text: String, output_tokens: u32, ending: Option<Ending>) -> String;
    /// Bytes for a failure after the first chunk; nothing follows them.
    fn error(&mut self, error: &ApiError) -> String;
}

/// Answers with a streamed body written by `writer`. The first step is awaited before the
/// answer starts, so failures before any output are plain HTTP errors with the right status.
pub async fn stream_response<W: StreamWriter>(mut run: Started, writer: W, content_type: HeaderValue) -> Result<Response, ApiError> {
    let first = match next_step(&mut run.events).await {
        Some(Step::Failed(e)) => {
            // Failed before any output: refused, not served, so not charged.
            run.ticket.refund();
            return Err(e);
        }
        None => return Err(ended_early()),
        Some(step) => step,
    };
    let gate = CallGate::new(run.calls_possible, run.syntax);
    let state = StreamState { events: run.events, pending: Some(first), writer, finished: false, ticket: run.ticket, gate };
    let body = stream::unfold(state, |mut st| async move {
        let chunk = st.next_frame().await?;
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), st))
    });
    Ok(([(header::CONTENT_TYPE, content_type)], Body::from_stream(body)).into_response())
}

/// What one pull from the engine produced for the stream.
enum Step {
    Chunk { text: String, output_tokens: u32, finish: Option<Finish> },
    Failed(ApiError),
}

/// Waits for the next event, then takes whatever else is already queued, so a slow client
/// gets fewer, larger chunks instead of a backlog of one-token events.
async fn next_step(events: &mut EventStream) -> Option<Step> {
    let first = events.recv().await?;
    let mut text = String::new();
    let mut tokens = 0;
    let mut event = Some(first);
    while let Some(e) = event.take() {
        match e {
            Event::Text { text: t, output_tokens } => {
                text.push_str(&t);
                tokens = output_tokens;
                event = events.try_recv().ok();
            }
            Event::Done { finish, output_tokens, .. } => {
                return Some(Step::Chunk { text, output_tokens, finish: Some(finish) });
            }
            Event::Failed(err) => return Some(Step::Failed(err.into())),
        }
    }
    Some(Step::Chunk { text, output_tokens: tokens, finish: None })
}

struct StreamState<W> {
    events: EventStream,
    pending: Option<Step>,
    writer: W,
    finished: bool,
    /// Lives as long as the body: the ledger gets what was streamed, even if the client left.
    ticket: Ticket,
    /// Holds back text that may be a block of calls.
    gate: CallGate,
}

impl<W: StreamWriter> StreamState<W> {
    /// The next bytes to write, or `None` when the stream is complete.
    async fn next_frame(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        loop {
            let step = match self.pending.take() {
                Some(step) => Some(step),
                None => next_step(&mut self.events).await,
            };
            return match step {
                Some(Step::Chunk { text, output_tokens, finish }) => {
                    self.ticket.set_output_tokens(output_tokens);
                    let mut text = self.gate.feed(&text);
                    let ending = finish.map(|f| {
                        let (rest, ending) = self.gate.end(f);
                        text.push_str(&rest);
                        ending
                    });
                    if text.is_empty() && ending.is_none() {
                        // Everything was held back (a possible call block): nothing to write yet.
                        continue;
                    }
                    self.finished = ending.is_some();
                    if self.finished {
                        // In the ledger before the last chunk is sent.
                        self.ticket.settle().await;
                    }
                    Some(self.writer.chunk(text, output_tokens, ending))
                }
                Some(Step::Failed(e)) => {
                    self.finished = true;
                    self.ticket.settle().await;
                    Some(self.writer.error(&e))
                }
                None => {
                    self.finished = true;
                    Some(self.writer.error(&ended_early()))
                }
            };
        }
    }
}

/// Names the backend that served the call (`x-gemd-backend`, gemd's own header).
pub fn tag_backend(mut resp: Response, served: &Served) -> Response {
    if let Ok(v) = HeaderValue::from_str(&served.engine.info().name) {
        resp.headers_mut().insert(BACKEND_HEADER.clone(), v);
    }
    resp
}

/// A 22-character URL-safe id, like the real service's `responseId`.
pub fn response_id() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(22).map(char::from).collect()
}
