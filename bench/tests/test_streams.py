"""Reading each system's stream, the raw command's lines and the bandwidth bound, on made-up
input."""

import json
import unittest

import bench_path  # noqa: F401
from gemdbench.client import Result
from gemdbench.probes import bandwidth
from gemdbench.probes.raw import merge_raw, raw_rate
from gemdbench.servers.gemd import Gemd, request_body
from gemdbench.servers.openai_chat import chat_body, parse_chat_stream


def events(*payloads):
    return [(float(i), p if isinstance(p, bytes) else json.dumps(p).encode())
            for i, p in enumerate(payloads)]


def gemd_event(text, generated, finish=None):
    c = {"content": {"parts": [{"text": text}]}}
    if finish:
        c["finishReason"] = finish
    return {"candidates": [c], "usageMetadata": {"promptTokenCount": 30,
                                                 "candidatesTokenCount": generated}}


class Streams(unittest.TestCase):
    def test_gemd_counts_come_from_the_last_usage(self):
        r = Result()
        r.t_send = -1.0
        Gemd.parse(None, events(gemd_event("a", 1), gemd_event("b", 3), gemd_event("", 3, "STOP")),
                   r, 8)
        self.assertEqual((r.text, r.tokens, r.prompt_tokens, r.finish), ("ab", 3, 30, "STOP"))
        self.assertEqual((r.t_first, r.t_last, r.ttft, r.decode_tps), (0.0, 1.0, 1.0, 2.0))
        self.assertEqual(request_body("hi", 8)["contents"], [{"parts": [{"text": "hi"}]}])

    def test_an_error_event_fails_the_request(self):
        with self.assertRaises(RuntimeError):
            Gemd.parse(None, events({"error": {"code": 429}}), Result(), 8)

    def test_chat_chunks_without_usage_count_content_chunks_or_the_limit(self):
        def chunk(content=None, finish=None):
            ch = {"delta": {} if content is None else {"content": content}}
            if finish:
                ch["finish_reason"] = finish
            return {"choices": [ch]}

        r = Result()
        parse_chat_stream(events(chunk(), chunk("a"), chunk("b"), chunk(finish="stop"), b"[DONE]"),
                          r, 8)
        self.assertEqual((r.text, r.tokens, r.finish, r.t_first, r.t_last),
                         ("ab", 2, "stop", 1.0, 2.0))
        r = Result()
        parse_chat_stream(events(chunk("a"), chunk(finish="length")), r, 8)
        self.assertEqual(r.tokens, 8)
        r = Result()
        usage = {"choices": [], "usage": {"completion_tokens": 5, "prompt_tokens": 40}}
        parse_chat_stream(events(chunk("a"), usage), r, 8)
        self.assertEqual((r.tokens, r.prompt_tokens), (5, 40))
        self.assertEqual(chat_body("hi", 8)["messages"], [{"role": "user", "content": "hi"}])

    def test_raw_lines_merge_by_position_and_feed_the_rates(self):
        runs = [[{"streams": 1, "tok_s": 10.0}, {"line": "x"}], [{"streams": 1, "tok_s": 30.0}],
                [{"streams": 1, "tok_s": 20.0}]]
        merged = merge_raw(runs)
        self.assertEqual(merged, [{"streams": 1, "tok_s": 20.0}, {"line": "x"}])
        self.assertEqual((raw_rate(merged, 1), raw_rate(merged, 8)), (20.0, None))

    def test_the_bound_is_bandwidth_over_bytes_per_token(self):
        bw = {"source": "t", "gb_s": {1: 20.0, 2: 30.0}}
        self.assertEqual(bandwidth.bound_tok_s(bw, 2, 5e8), 60.0)
        self.assertEqual(bandwidth.bound_tok_s(bw, 4, 5e8), 60.0)  # the best measured count


if __name__ == "__main__":
    unittest.main()
