"""The peers' OpenAI-compatible chat endpoint: the request body (one user message, which the
server renders with the GGUF's chat template) and the parsing of its chunk stream."""

import json


def chat_body(text, max_tokens):
    """One user message for an OpenAI-compatible chat endpoint: the server applies the GGUF's
    chat template. stream_options.include_usage asks for a usage chunk (ignored where unknown)."""
    return {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}


def parse_chat_stream(events, r, max_tokens):
    """OpenAI chat-completion chunks: choices[0].delta.content carries the text. A chunk whose
    delta has no content (the opening role-only chunk, the closing one with finish_reason) is no
    token; a content chunk is one token (a few may be held back and sent with a later one: bytes
    of an incomplete UTF-8 character, text that might start a stop string or a tool call). The
    token counts come from usage (llama-server sends it; llama-server's timings are the second
    choice); without usage a stop at the limit means exactly max_tokens, else one per content
    chunk."""
    n = 0
    usage = timings = None
    for t, data in events:
        if data == b"[DONE]":
            continue
        ev = json.loads(data)
        if "error" in ev:
            raise RuntimeError(json.dumps(ev["error"])[:300])
        if ev.get("usage"):
            usage = ev["usage"]
        if ev.get("timings"):
            timings = ev["timings"]
        for ch in ev.get("choices") or []:
            if ch.get("finish_reason"):
                r.finish = ch["finish_reason"]
            content = (ch.get("delta") or {}).get("content")
            if content is None:
                continue
            n += 1
            r.text += content
            if r.t_first is None:
                r.t_first = t
            r.t_last = t
    if usage and usage.get("completion_tokens") is not None:
        r.tokens = usage["completion_tokens"]
        r.prompt_tokens = usage.get("prompt_tokens")
    elif timings and timings.get("predicted_n") is not None:
        r.tokens = timings["predicted_n"]
        if timings.get("prompt_n") is not None:
            r.prompt_tokens = timings["prompt_n"] + (timings.get("cache_n") or 0)
    else:
        r.tokens = max_tokens if r.finish == "length" else n
