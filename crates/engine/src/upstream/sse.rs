//! Server-sent events as an upstream writes them, cut into the `data:` payloads of whole
//! events however the bytes arrive (an event split over reads, several in one read, `\n` or
//! `\r\n` line ends). Comments (`:`), `event:`/`id:` fields and `[DONE]` are not payloads.

/// Collects bytes and hands out each whole event's data.
#[derive(Debug, Default)]
pub struct SseEvents {
    pending: Vec<u8>,
}

impl SseEvents {
    /// The data of every event completed by `bytes`, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some((end, skip)) = event_end(&self.pending) {
            let event: Vec<u8> = self.pending.drain(..end + skip).take(end).collect();
            if let Some(data) = data_of(&String::from_utf8_lossy(&event)) {
                out.push(data);
            }
        }
        out
    }

    /// The data of an event the stream ended in without its blank line (lenient, as
    /// browsers' EventSource is not, because some servers end so).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        data_of(&String::from_utf8_lossy(&rest))
    }
}

/// Where the first event ends (before its blank line) and how long the blank line is.
fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
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
        let whole = SseEvents::default().feed(stream.as_bytes());
        assert_eq!(whole, ["{\"a\":1}", "{\"b\":\n2}"]);
        for cut in 1..stream.len() {
            let mut e = SseEvents::default();
            let mut got = e.feed(&stream.as_bytes()[..cut]);
            got.extend(e.feed(&stream.as_bytes()[cut..]));
            assert_eq!(got, whole, "cut at {cut}");
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_still_read() {
        let mut e = SseEvents::default();
        assert!(e.feed(b"data: {\"x\":1}\n").is_empty());
        assert_eq!(e.finish().as_deref(), Some("{\"x\":1}"));
        assert_eq!(e.finish(), None);
    }
}
