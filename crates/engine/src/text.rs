//! Turning decoded token bytes into text deltas: UTF-8 sequences split across tokens are held
//! back until complete, and text that might be the start of a stop sequence is held back until
//! it is known not to be one (stop text is never sent).

/// Outcome of feeding one token's bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Feed {
    /// Text safe to send now (possibly empty).
    Emit(String),
    /// A stop sequence matched: send this final text, then stop.
    Stopped(String),
}

#[derive(Debug, Default)]
pub struct TextAssembler {
    stops: Vec<String>,
    bytes: Vec<u8>,
    /// Decoded text not yet sent (it may be the start of a stop sequence).
    held: String,
}

impl TextAssembler {
    pub fn new(stops: Vec<String>) -> Self {
        TextAssembler { stops: stops.into_iter().filter(|s| !s.is_empty()).collect(), ..Default::default() }
    }

    pub fn feed(&mut self, piece: &[u8]) -> Feed {
        self.bytes.extend_from_slice(piece);
        let valid = match std::str::from_utf8(&self.bytes) {
            Ok(s) => s.len(),
            // An incomplete sequence at the end waits for the next token; invalid bytes in
            // the middle are replaced rather than stalling the stream forever.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                let s = String::from_utf8_lossy(&self.bytes).into_owned();
                self.bytes.clear();
                self.held.push_str(&s);
                return self.scan();
            }
        };
        let text: Vec<u8> = self.bytes.drain(..valid).collect();
        self.held.push_str(&String::from_utf8(text).expect("validated above"));
        self.scan()
    }

    /// Whatever is still held when generation ends for another reason.
    pub fn finish(&mut self) -> String {
        let mut rest = std::mem::take(&mut self.held);
        rest.push_str(&String::from_utf8_lossy(&std::mem::take(&mut self.bytes)));
        rest
    }

    fn scan(&mut self) -> Feed {
        if let Some(pos) = self.stops.iter().filter_map(|s| self.held.find(s.as_str())).min() {
            let out = self.held[..pos].to_string();
            self.held.clear();
            return Feed::Stopped(out);
        }
        let keep = self.longest_stop_prefix_suffix();
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        Feed::Emit(out)
    }

    /// Length of the longest suffix of `held` that is a proper prefix of a stop sequence.
    fn longest_stop_prefix_suffix(&self) -> usize {
        let mut best = 0;
        for stop in &self.stops {
            for (i, _) in stop.char_indices().skip(1) {
                let prefix = &stop[..i];
                if i > best && self.held.ends_with(prefix) {
                    best = i;
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_utf8_waits_for_completion() {
        let mut a = TextAssembler::new(vec![]);
        let euro = "€".as_bytes();
        assert_eq!(a.feed(&euro[..1]), Feed::Emit(String::new()));
        assert_eq!(a.feed(&euro[1..]), Feed::Emit("€".into()));
    }

    #[test]
    fn stop_sequence_is_excluded_even_across_tokens() {
        let mut a = TextAssembler::new(vec!["END".into()]);
        assert_eq!(a.feed(b"hello E"), Feed::Emit("hello ".into()));
        assert_eq!(a.feed(b"N"), Feed::Emit(String::new()));
        assert_eq!(a.feed(b"D more"), Feed::Stopped(String::new()));
    }

    #[test]
    fn held_prefix_is_released_when_it_diverges() {
        let mut a = TextAssembler::new(vec!["END".into()]);
        assert_eq!(a.feed(b"E"), Feed::Emit(String::new()));
        assert_eq!(a.feed(b"X"), Feed::Emit("EX".into()));
        assert_eq!(a.finish(), "");
    }
}
