"""The report from a stored results file: the summary is recomputed from every run's figures,
and the markdown is byte for byte the table that run printed."""

import argparse
import os
import unittest

from bench_path import RESULTS
from gemdbench.report import files
from gemdbench.report.markdown import render
from gemdbench.report.summary import summarize
from gemdbench.report.targets import targets

# Recorded by the bench before it became a package: all three systems, every test, --raw-cmd.
STORED = os.path.join(RESULTS, "2026-12-01T22-57-33")


def stored():
    data = files.load(STORED + ".json")
    args = argparse.Namespace(**data["args"])
    return data, args, [s for s in args.systems.split(",") if s]


class StoredRun(unittest.TestCase):
    def test_the_summary_is_the_medians_of_the_runs(self):
        data, args, systems = stored()
        self.assertEqual(summarize(data, systems, args), data["summary"])

    def test_the_markdown_is_what_the_run_printed(self):
        data, args, systems = stored()
        with open(STORED + ".md") as fh:
            want = fh.read()
        self.assertEqual(render(data, data["summary"], systems, args), want)

    def test_targets_are_checked_against_llama_server_and_raw(self):
        data, args, systems = stored()
        rows = {r[0]: r for r in targets(data["summary"], data, systems, args)}
        self.assertIn("single-stream decode ≥ 1.0× llama-server", rows)
        self.assertIn("8-stream total ≥ 0.9× raw llama.cpp (8 streams)", rows)
        self.assertEqual(targets(data["summary"], data, ["llama-server"], args), [])

    def test_a_subset_of_tests_and_systems_renders_only_those(self):
        data, args, _ = stored()
        args.tests = ["single"]
        data["raw_cmd"] = None
        md = render(data, data["summary"], ["gemd"], args)
        self.assertIn("## Single stream", md)
        self.assertNotIn("## Concurrent streams", md)
        self.assertNotIn("## Raw in-process", md)
        self.assertNotIn("| llama-server |", md)

    def test_written_files_read_back_as_the_report_reads_them(self):
        import tempfile
        data, args, systems = stored()
        with tempfile.TemporaryDirectory() as out:
            base = files.write(out, "t", "md", data)
            again = files.load(base + ".json")
        self.assertEqual(render(again, again["summary"], systems, args),
                         render(data, data["summary"], systems, args))


if __name__ == "__main__":
    unittest.main()
