#!/usr/bin/env python3
"""gemd against llama.cpp's llama-server and llama-cpp-python's server, on one machine: the entry
point of the gemdbench package next to this file (gemdbench/cli.py has the options and the run;
bench/README.md how to use it). Standard library only."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gemdbench.cli import main  # noqa: E402 (the package is found through the path above)

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    main()
