// Spawns the gemd under test: the release binary on a free 127.0.0.1 port, a throwaway
// GEMD_HOME (its own key store and usage ledger, so earlier runs never count against the
// quotas) whose models/ is a link to the shared, already pulled models, and a random admin
// token for the console.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {launchGemd} from '../support/launch-gemd.mjs';

export {gemdBin} from '../support/launch-gemd.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Where `gemd pull` put the models: the usual home's models/ directory. */
function sharedModels() {
  return path.join(process.env.GEMD_HOME ?? path.join(os.homedir(), '.cache/gemd'), 'models');
}

/** Resolves to {base, adminToken, log(), stop()} once gemd answers. */
export async function startGemd({startTimeoutMs = 180_000} = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gemd-e2e-'));
  fs.symlinkSync(sharedModels(), path.join(home, 'models'));
  const adminToken = crypto.randomBytes(24).toString('base64url');
  const g = await launchGemd({
    args: ['--admin-token', adminToken, '--config', path.join(HERE, 'gemd-e2e.toml')],
    env: {GEMD_HOME: home},
    startTimeoutMs,
  });
  return {
    base: g.base,
    adminToken,
    log: g.log,
    /** SIGTERM, then the exit code (0 for a clean shutdown); the home goes too. */
    async stop() {
      if (g.proc.exitCode === null && g.proc.signalCode === null) g.proc.kill('SIGTERM');
      const code = await g.exited;
      fs.rmSync(home, {recursive: true, force: true});
      return code;
    },
  };
}
