//! A generation read as a stream: the engine's events coalesced into steps (whatever is queued
//! when a slow client asks for more becomes one step), text that may open a call block held
//! back by the [`CallGate`], the ledger settled before the last frame, and each step printed by
//! the surface's [`StreamWriter`]. No transport here: the http layer sends the frames as a
//! response body (`crate::http::stream`).

use gemd_engine::{Event, EventStream, Finish};

use super::{ended_early, Started};
use crate::service::access::Ticket;
use crate::service::error::ApiError;
use crate::service::tools::{CallGate, Ending};

/// How one surface prints a stream: a chunk per step of output, and the event that ends a
/// stream which failed after it started.
pub trait StreamWriter: Send + 'static {
    /// Bytes for new text; `ending` is set on the last step (with the calls, if the answer is
    /// calls), which must also close the stream.
    fn chunk(&mut self, text: String, output_tokens: u32, ending: Option<Ending>) -> String;
    /// Bytes for a failure after the first chunk; nothing follows them.
    fn error(&mut self, error: &ApiError) -> String;
}

impl Started {
    /// The stream of this generation's frames, written by `writer`. The first step is awaited
    /// here, before the answer starts, so a failure before any output is a plain error with
    /// the right status (and takes no quota), not an event in a 200 stream.
    pub async fn into_frames<W: StreamWriter>(mut self, writer: W) -> Result<Frames<W>, ApiError> {
        let first = match next_step(&mut self.events).await {
            Some(Step::Failed(e)) => {
                // Failed before any output: refused, not served, so not charged.
                self.ticket.refund();
                return Err(e);
            }
            None => return Err(ended_early()),
            Some(step) => step,
        };
        let gate = CallGate::new(self.calls_possible, self.syntax);
        Ok(Frames { events: self.events, pending: Some(first), writer, finished: false, ticket: self.ticket, gate })
    }
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

/// A started generation read as a stream: each [`Frames::next_frame`] is the writer's bytes for
/// the next step.
pub struct Frames<W> {
    events: EventStream,
    pending: Option<Step>,
    writer: W,
    finished: bool,
    /// Lives as long as the body: the ledger gets what was streamed, even if the client left.
    ticket: Ticket,
    /// Holds back text that may be a block of calls.
    gate: CallGate,
}

impl<W: StreamWriter> Frames<W> {
    /// The next bytes to write, or `None` when the stream is complete.
    pub async fn next_frame(&mut self) -> Option<String> {
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
