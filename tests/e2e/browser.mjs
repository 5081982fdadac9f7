// Headless Chromium for the console tests: Debian's /usr/bin/chromium driven by playwright-core
// (no browser is downloaded), with Chromium's own background traffic switched off (this
// machine's network is closed, and the test asserts the page talks to gemd only). Also the
// small waiting and screenshot helpers the steps share.
import {chromium} from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const OUT = process.env.GEMD_TEST_OUT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

let shots = 0;
fs.mkdirSync(OUT, {recursive: true});
// A run's screenshots replace the last run's, so none is mistaken for this one's.
for (const f of fs.readdirSync(OUT)) if (f.endsWith('.png')) fs.rmSync(path.join(OUT, f));

/** Saves a full-page screenshot as OUT/NN-name.png, numbered in the order taken. */
export async function screenshot(page, name) {
  const file = path.join(OUT, `${String(++shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  return file;
}

/** Polls `check` (sync or async) until it returns a truthy value, which it returns. */
export async function until(check, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the locator's text matches `pattern`, and returns that text. */
export function textMatching(locator, pattern, timeoutMs) {
  return until(async () => {
    const text = (await locator.textContent({timeout: 1000})) ?? '';
    return pattern.test(text) ? text : null;
  }, `${locator} to match ${pattern}`, timeoutMs);
}
