// Reads a Server-Sent Events body (`data: <json>` events separated by blank lines, the framing
// of streamGenerateContent?alt=sse) as it arrives, yielding each event's parsed JSON.

/** @param {Response} response @returns {AsyncGenerator<object>} */
export async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value;
      // Events end with a blank line; gemd ends lines with CRLF, other servers with LF.
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = dataOf(event);
        if (data !== null) yield JSON.parse(data);
      }
    }
    const rest = dataOf(buffer);
    if (rest !== null && rest.trim()) yield JSON.parse(rest);
  } finally {
    reader.releaseLock();
  }
}

/** The joined `data:` lines of one event, or null when it has none (a comment, a ping). */
function dataOf(event) {
  const lines = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
  return lines.length ? lines.join('\n') : null;
}
