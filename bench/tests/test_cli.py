"""The options: defaults, the lists they split into, and the refusals."""

import contextlib
import io
import os
import tempfile
import unittest

import bench_path  # noqa: F401
from gemdbench import cli


class Options(unittest.TestCase):
    def setUp(self):
        fd, self.model = tempfile.mkstemp(suffix=".gguf")
        os.close(fd)

    def tearDown(self):
        os.remove(self.model)

    def parse(self, *argv):
        return cli.parse_args(["--model", self.model, *argv])

    def test_defaults_are_every_system_and_test(self):
        args, systems = self.parse()
        self.assertEqual(systems, ["gemd", "llama-server", "llama-cpp-python"])
        self.assertEqual(args.tests, ["single", "concurrency", "prefix", "rss"])
        self.assertEqual(args.concurrency, [1, 4, 8, 16])
        self.assertEqual((args.runs, args.threads, args.max_tokens, args.prompt_tokens,
                          args.prefix_tokens, args.bursts), (3, 2, 128, 200, 2000, 5))
        self.assertEqual(args.gemd_batch_invariant, "true")
        # Recorded as given: the results JSON keeps the string.
        self.assertEqual(args.systems, "gemd,llama-server,llama-cpp-python")

    def test_a_small_run_against_gemd_only(self):
        args, systems = self.parse("--systems", "gemd", "--runs", "1", "--tests", "single",
                                   "--max-tokens", "8", "--concurrency", "1,")
        self.assertEqual((systems, args.runs, args.tests, args.max_tokens, args.concurrency),
                         (["gemd"], 1, ["single"], 8, [1]))

    def test_an_unknown_system_or_a_missing_model_is_refused(self):
        for argv in (["--model", self.model, "--systems", "gemd,vllm"],
                     ["--model", self.model + ".missing"]):
            with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit):
                cli.parse_args(argv)
            self.assertRegex(err.getvalue(), "unknown system vllm|missing: run")

    def test_the_recorded_command_is_the_one_given(self):
        args, systems = self.parse("--runs", "1")
        data = cli.new_results("t", args, systems, ["--runs", "1", "--seed", "a b"])
        self.assertEqual(data["command"], "bench/run.py --runs 1 --seed 'a b'")
        self.assertEqual(set(data["raw"]), set(systems))


if __name__ == "__main__":
    unittest.main()
