// Spawns the gemd under test: the release binary on a free 127.0.0.1 port, a throwaway
// GEMD_HOME (its own key store and usage ledger, so earlier runs never count against the
// quotas) whose models/ is a link to the shared, already pulled models, and a random admin
// token for the console.
import {spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** `GEMD_BIN`, else the release binary in the shared cargo target (`CARGO_TARGET_DIR`). */
export function gemdBin() {
  if (process.env.GEMD_BIN) return process.env.GEMD_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/gemd/target');
  return path.join(target, 'release/gemd');
}

/** Where `gemd pull` put the models: the usual home's models/ directory. */
function sharedModels() {
  return path.join(process.env.GEMD_HOME ?? path.join(os.homedir(), '.cache/gemd'), 'models');
}

/** Resolves to {base, adminToken, log(), stop()} once gemd logs `listening on http://H:P`. */
export async function startGemd({startTimeoutMs = 180_000} = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gemd-e2e-'));
  fs.symlinkSync(sharedModels(), path.join(home, 'models'));
  const adminToken = crypto.randomBytes(24).toString('base64url');
  const proc = spawn(gemdBin(), ['serve', '--host', '127.0.0.1', '--port', '0', '--admin-token', adminToken,
                                 '--config', path.join(HERE, 'gemd-e2e.toml')],
                     {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, GEMD_HOME: home}});
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
  return {
    base,
    adminToken,
    log: () => log,
    /** SIGTERM, then the exit code (0 for a clean shutdown); the home goes too. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(home, {recursive: true, force: true});
      return code;
    },
  };
}
