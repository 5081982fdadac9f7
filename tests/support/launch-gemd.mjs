// Starts the gemd under test for the Node test packages (tests/js, tests/e2e): the release
// binary on a free 127.0.0.1 port, ready once it logs `listening on http://H:P` and answers
// /healthz. Node built-ins only, so any package can import it by relative path.
import {spawn} from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

/** `GEMD_BIN`, else the release binary in the shared cargo target (`CARGO_TARGET_DIR`). */
export function gemdBin() {
  if (process.env.GEMD_BIN) return process.env.GEMD_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/gemd/target');
  return path.join(target, 'release/gemd');
}

/**
 * Runs `gemd serve --host 127.0.0.1 --port 0 ...args` with `env` added to this process's.
 * Resolves to {base, proc, log(), exited}; `exited` resolves to the exit code or signal.
 */
export async function launchGemd({args = [], env = {}, startTimeoutMs = 180_000} = {}) {
  const proc = spawn(gemdBin(), ['serve', '--host', '127.0.0.1', '--port', '0', ...args],
                     {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, ...env}});
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`gemd did not start in ${startTimeoutMs} ms:\n${log}`));
    }, startTimeoutMs);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${gemdBin()}: ${e.message} (build it with cargo build --release -p gemd, or set GEMD_BIN)`));
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gemd exited ${code}:\n${log}`));
    });
  });
  await waitHealthy(base, startTimeoutMs, () => log);
  return {base, proc, log: () => log, exited};
}

async function waitHealthy(base, timeoutMs, log) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error(`gemd never answered ${base}/healthz:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
