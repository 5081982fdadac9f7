//! Server-sent events as an upstream writes them, cut into the `data:` payloads of whole
//! events however the bytes arrive (an event split over reads, several in one read, `\n` or
//! `\r\n` line ends). Comments (`:`), `event:`/`id:` fields and `[DONE]` are not payloads.

/// The largest event held while waiting for its end: an upstream that never ends one cannot
/// make gemd buffer without bound.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

/// An event grew past [`MAX_EVENT_BYTES`] without ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an event is longer than {MAX_EVENT_BYTES} bytes")]
pub struct EventTooLong;

/// Collects bytes and hands out each whole event's data.
#[derive(Debug, Default)]
pub struct SseEvents {
    pending: Vec<u8>,
    /// How far `pending` is known to hold no event end (less three bytes, so an end split
    /// over reads is still found): each byte is scanned about once.
    scanned: usize,
}

impl SseEvents {
    /// The data of every event completed by `bytes`, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, EventTooLong> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some((end, skip)) = event_end(&self.pending, self.scanned) {
            let event: Vec<u8> = self.pending.drain(..end + skip).take(end).collect();
            self.scanned = 0;
            if let Some(data) = data_of(&String::from_utf8_lossy(&event)) {
                out.push(data);
            }
        }
        self.scanned = self.pending.len().saturating_sub(3);
        if self.pending.len() > MAX_EVENT_BYTES {
            return Err(EventTooLong);
        }
        Ok(out)
    }

    /// The data of an event the stream ended in without its blank line (lenient, as
    /// browsers' EventSource is not, because some servers end so).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        data_of(&String::from_utf8_lossy(&rest))
    }
}

/// Where the first event ends (before its blank line) and how long the blank line is.
fn event_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        if buf[i..].starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
        if buf[i..].starts_with(b"\n\n") {
            return Some((i, 2));
        }
        i += 1;
    }
    None
}

/// The joined `data:` lines of one event; `None` for an event with none, or `[DONE]`.
fn data_of(event: &str) -> Option<String> {
    let lines: Vec<&str> =
        event.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.strip_prefix(' ').unwrap_or(d)).collect();
    let data = lines.join("\n");
    (!lines.is_empty() && data.trim() != "[DONE]").then_some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_whole_however_the_bytes_arrive() {
        let stream = "data: {\"a\":1}\r\n\r\n: comment\n\ndata: {\"b\":\ndata: 2}\n\nevent: x\ndata: [DONE]\n\n";
        let whole = SseEvents::default().feed(stream.as_bytes()).unwrap();
        assert_eq!(whole, ["{\"a\":1}", "{\"b\":\n2}"]);
        for cut in 1..stream.len() {
            let mut e = SseEvents::default();
            let mut got = e.feed(&stream.as_bytes()[..cut]).unwrap();
            got.extend(e.feed(&stream.as_bytes()[cut..]).unwrap());
            assert_eq!(got, whole, "cut at {cut}");
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_still_read() {
        let mut e = SseEvents::default();
        assert!(e.feed(b"data: {\"x\":1}\n").unwrap().is_empty());
        assert_eq!(e.finish().as_deref(), Some("{\"x\":1}"));
        assert_eq!(e.finish(), None);
    }

    #[test]
    fn an_event_that_never_ends_is_refused_past_the_cap() {
        let mut e = SseEvents::default();
        let piece = vec![b'x'; 1 << 20];
        let results: Vec<_> = (0..17).map(|_| e.feed(&piece)).collect();
        assert!(results[..16].iter().all(Result::is_ok));
        assert_eq!(results[16], Err(EventTooLong));
    }
}
