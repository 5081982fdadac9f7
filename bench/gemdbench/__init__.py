"""gemdbench: gemd against llama.cpp's llama-server and llama-cpp-python's server, on one machine.

Standard library only (the peers live in the venv made by bench/setup.sh); bench/run.py is the
entry point. The modules, in the order a run uses them:

- cli: the options and the run itself (bandwidth, prompt sizing, servers, tests, report);
- probes: machine facts, memory bandwidth (a C read loop, bandwidth.c) and the raw llama.cpp
  command (--raw-cmd);
- prompts, gemd_render: the random-word prompts, sized with `gemd render --count-tokens`;
- servers: each system's start, health check, request and stream parsing; client: the
  streaming HTTP client they share; procfs: RSS and CPU time of a server process;
- workloads: the tests (single stream, concurrent streams, shared prefix, RSS bursts);
- report: medians over runs, the markdown tables and target rows, the results files.
"""
