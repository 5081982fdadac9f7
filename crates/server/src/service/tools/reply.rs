//! Reading generated text back as an answer: plain text, or (when calls were possible and the
//! text opened a call answer) the function calls it holds, in the backend's [`ToolSyntax`].
//! Streams use the same [`CallGate`]: text is released as soon as it can no longer be the
//! opening of a call answer; a call answer is held whole and arrives as one chunk of
//! `functionCall` parts, as the real service sends calls.

use gemd_engine::{Finish, ToolSyntax};
use gemd_wire::gemini::{FinishReason, FunctionCall};

/// How an answer ended, in the terms both API surfaces report.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Stop,
    MaxTokens,
    /// The answer is these calls (at least one).
    Calls(Vec<FunctionCall>),
    /// The output cap cut a call answer off after these calls (at least one) were written
    /// whole: they are reported, with the answer's end as `MAX_TOKENS` / `length`.
    CallsCut(Vec<FunctionCall>),
    /// A call block that does not read back (the grammar should make this impossible).
    MalformedCall,
}

/// What the real service says on a candidate that ends in function calls.
pub const CALLS_MESSAGE: &str = "Model generated function call(s).";

impl Ending {
    /// The Gemini finish reason (an answer of calls is `STOP`, a cut one `MAX_TOKENS`).
    pub fn finish_reason(&self) -> FinishReason {
        match self {
            Ending::Stop | Ending::Calls(_) => FinishReason::Stop,
            Ending::MaxTokens | Ending::CallsCut(_) => FinishReason::MaxTokens,
            Ending::MalformedCall => FinishReason::MalformedFunctionCall,
        }
    }

    fn of(finish: Finish) -> Self {
        match finish {
            Finish::Stop => Ending::Stop,
            Finish::MaxTokens => Ending::MaxTokens,
        }
    }

    /// The calls the answer reports (none unless it is a call answer).
    pub fn calls(&self) -> &[FunctionCall] {
        match self {
            Ending::Calls(calls) | Ending::CallsCut(calls) => calls,
            Ending::Stop | Ending::MaxTokens | Ending::MalformedCall => &[],
        }
    }
}

fn function_calls(calls: Vec<(String, serde_json::Value)>) -> Vec<FunctionCall> {
    calls.into_iter().map(|(name, args)| FunctionCall { id: None, name, args: Some(args) }).collect()
}

/// Holds back text that may be a call block.
#[derive(Debug)]
pub struct CallGate {
    /// Whether calls are possible at all; if not, text passes straight through.
    watching: bool,
    syntax: ToolSyntax,
    /// What a call answer starts with, in each of the family's forms.
    markers: Vec<String>,
    held: String,
}

impl CallGate {
    pub fn new(calls_possible: bool, syntax: ToolSyntax) -> Self {
        CallGate { watching: calls_possible, syntax, markers: syntax.markers(), held: String::new() }
    }

    /// Text that may be sent now.
    pub fn feed(&mut self, text: &str) -> String {
        if !self.watching {
            return text.to_string();
        }
        self.held.push_str(text);
        if self.markers.iter().any(|m| self.held.starts_with(m.as_str()) || m.starts_with(self.held.as_str())) {
            return String::new();
        }
        // Plain text from here on.
        self.watching = false;
        std::mem::take(&mut self.held)
    }

    /// At the end of generation: the text still held (to send before the end) and how the
    /// answer ended.
    pub fn end(&mut self, finish: Finish) -> (String, Ending) {
        let held = std::mem::take(&mut self.held);
        if !self.watching || held.is_empty() {
            return (held, Ending::of(finish));
        }
        if finish == Finish::MaxTokens {
            // Cut off inside a call answer: the calls written whole before the cut still are
            // the model's calls (a model that repeats a call until the cap is common); a
            // half-written one is not reported.
            let finished = self.syntax.finished_calls(&held);
            let ending =
                if finished.is_empty() { Ending::MaxTokens } else { Ending::CallsCut(function_calls(finished)) };
            return (String::new(), ending);
        }
        match self.syntax.parse(&held) {
            Some(calls) if !calls.is_empty() => (String::new(), Ending::Calls(function_calls(calls))),
            _ => {
                tracing::warn!(output = %held, syntax = self.syntax.name(), "generated call answer does not parse");
                (String::new(), Ending::MalformedCall)
            }
        }
    }
}

/// A whole answer read at once.
pub fn read(text: &str, finish: Finish, calls_possible: bool, syntax: ToolSyntax) -> (String, Ending) {
    let mut gate = CallGate::new(calls_possible, syntax);
    let mut out = gate.feed(text);
    let (rest, ending) = gate.end(finish);
    out.push_str(&rest);
    (out, ending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CALL: &str = "```tool_call\n{\"name\": \"f\", \"args\": {\"a\": 1}}\n{\"name\": \"g\", \"args\": {}}\n```";

    #[test]
    fn a_call_block_becomes_calls() {
        let (text, ending) = read(CALL, Finish::Stop, true, ToolSyntax::Fenced);
        assert_eq!(text, "");
        let Ending::Calls(calls) = ending else { panic!("{ending:?}") };
        assert_eq!((calls[0].name.as_str(), calls[0].args.clone()), ("f", Some(json!({"a": 1}))));
        assert_eq!(calls[1].name, "g");
    }

    #[test]
    fn without_tools_a_block_is_just_text() {
        assert_eq!(read(CALL, Finish::Stop, false, ToolSyntax::Fenced), (CALL.to_string(), Ending::Stop));
        // Another family's call answer is text to this one.
        assert_eq!(read(CALL, Finish::Stop, true, ToolSyntax::Hermes), (CALL.to_string(), Ending::Stop));
    }

    #[test]
    fn qwen_calls_read_back_tagged_or_not() {
        let tagged = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>";
        let bare = "{\"name\": \"f\", \"arguments\": {\"a\": 1}}";
        for text in [tagged, bare] {
            let mut g = CallGate::new(true, ToolSyntax::Hermes);
            let (a, b) = text.split_at(5);
            assert_eq!(g.feed(a) + &g.feed(b), "", "{text}");
            let Ending::Calls(calls) = g.end(Finish::Stop).1 else { panic!("{text}") };
            assert_eq!((calls[0].name.as_str(), calls[0].args.clone()), ("f", Some(json!({"a": 1}))));
        }
        // JSON that is not a call is text.
        assert_eq!(
            read("{\"answer\": 42}", Finish::Stop, true, ToolSyntax::Hermes),
            ("{\"answer\": 42}".to_string(), Ending::Stop)
        );
    }

    #[test]
    fn streamed_text_is_released_once_it_cannot_be_a_call() {
        let mut g = CallGate::new(true, ToolSyntax::Fenced);
        assert_eq!(g.feed("``"), "");
        assert_eq!(g.feed("`x"), "```x");
        assert_eq!(g.feed(" more"), " more");
        assert_eq!(g.end(Finish::Stop), (String::new(), Ending::Stop));
    }

    #[test]
    fn streamed_calls_are_held_to_the_end() {
        let mut g = CallGate::new(true, ToolSyntax::Fenced);
        let (a, b) = CALL.split_at(20);
        assert_eq!(g.feed(a) + &g.feed(b), "");
        assert!(matches!(g.end(Finish::Stop).1, Ending::Calls(c) if c.len() == 2));
        let mut cut = CallGate::new(true, ToolSyntax::Fenced);
        cut.feed(a);
        assert_eq!(cut.end(Finish::MaxTokens), (String::new(), Ending::MaxTokens));
        // Cut inside the second call: the first is reported, the answer still ends MAX_TOKENS.
        let mut cut_later = CallGate::new(true, ToolSyntax::Fenced);
        cut_later.feed(&CALL[..CALL.len() - 8]);
        let (text, ending) = cut_later.end(Finish::MaxTokens);
        assert_eq!(text, "");
        let Ending::CallsCut(calls) = ending else { panic!("{ending:?}") };
        assert_eq!(calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["f"]);
        let mut bad = CallGate::new(true, ToolSyntax::Fenced);
        bad.feed("```tool_call\n{oops}\n```");
        assert_eq!(bad.end(Finish::Stop).1, Ending::MalformedCall);
    }
}
