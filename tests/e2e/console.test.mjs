// The web console end to end, in headless Chromium against a real gemd: the service guide's
// "Get API key" flow, the key used from @google/genai, the live quota dashboard, a 429 and its
// countdowns, a tier change, the playground streaming, "Get code" whose snippets run, revoking
// the key, an expired sign-in, and the phone layout. The steps run in order on one page (each
// builds on the one before) and take a screenshot each into $GEMD_TEST_OUT.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {promisify} from 'node:util';
import {GoogleGenAI, ApiError} from '@google/genai';
import {startGemd} from './gemd.mjs';
import {launch, OUT, screenshot, textMatching, until} from './browser.mjs';

const run = promisify(execFile);
const FLASH = 'gemini-2.5-flash';
const PRO = 'gemini-2.5-pro';

const g = {};
let browser;
let page;
/** What the page did that it must not: script errors, CSP refusals, requests elsewhere. */
const problems = [];
/** Every URL the page requested, to check that no credential ever lands in one. */
const urls = [];
/** Shared between the steps. */
const state = {};

before(async () => {
  Object.assign(g, await startGemd());
  browser = await launch();
  const context = await browser.newContext({baseURL: g.base, viewport: {width: 1280, height: 860}, locale: 'en-US'});
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: g.base});
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // 4xx answers are expected (a wrong token, a 429); anything else logged as an error is not.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('request', (r) => {
    urls.push(r.url());
    if (!r.url().startsWith(`${g.base}/`)) problems.push(`request outside gemd: ${r.url()}`);
  });
});

after(async () => {
  await browser?.close();
  if (g.stop) assert.equal(await g.stop(), 0, 'gemd exits 0 on SIGTERM');
  console.log(`screenshots in ${OUT}`);
});

const sdk = (apiKey) => new GoogleGenAI({apiKey, httpOptions: {baseUrl: g.base}});
const generate = (apiKey, model, contents = 'Say hello.') =>
  sdk(apiKey).models.generateContent({model, contents, config: {maxOutputTokens: 8}});
/** A labelled control of one view (labels repeat across views and dialogs). */
const field = (view, label) => page.locator(`#view-${view}`).getByLabel(label, {exact: true});
const nav = (name) => page.getByRole('navigation', {name: 'Console'}).getByRole('link', {name});
const heading = (name) => page.getByRole('heading', {level: 1, name});
const modelRow = (model) => page.locator(`#dash-models tr[data-model="${model}"]`);
const useCell = (model, column) => modelRow(model).locator('td').nth(column);

/** The name of the step that failed: later steps build on it, so they are skipped. */
let broken = null;

/** One step: skipped after an earlier failure; a failure leaves a screenshot of the page. */
function step(name, fn) {
  test(name, async (t) => {
    if (broken) return t.skip(`an earlier step failed: ${broken}`);
    try {
      await fn(t);
    } catch (e) {
      broken = name;
      await screenshot(page, 'FAILED').catch(() => {});
      throw e;
    }
  });
}

async function signIn() {
  await page.getByLabel('Admin token').fill(g.adminToken);
  await page.getByRole('button', {name: 'Sign in'}).click();
}

step('the console is served at / with its security headers, and asks to sign in', async () => {
  const response = await page.goto('/');
  const h = response.headers();
  assert.match(h['content-security-policy'], /^default-src 'self'/);
  assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.match(h['content-type'], /^text\/html/);
  await heading('Sign in to gemd').waitFor();
  assert.equal(await nav('Get API key').count(), 0, 'no navigation before sign-in');
  // No admin call works without a session.
  const anonymous = await page.request.get('/admin/v1/projects');
  assert.equal(anonymous.status(), 401);
  assert.equal((await anonymous.json()).error.status, 'UNAUTHENTICATED');

  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await textMatching(page.locator('#signin-error'), /not right/);
  await screenshot(page, 'sign-in-wrong-token');

  await signIn();
  await heading('API keys').waitFor();
  assert.match(page.url(), /#\/keys$/);
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('gemd.session')));
  assert.ok(stored.session && Date.parse(stored.expireTime) > Date.now(), 'the session and its expiry are kept in sessionStorage');
  assert.notEqual(stored.session, g.adminToken, 'the token itself is not kept');
  await screenshot(page, 'signed-in-api-keys');
});

step('Get API key: create a project and a key, shown once with a copy button', async () => {
  await page.getByRole('button', {name: 'Create API key', exact: true}).click();
  const dialog = page.locator('#key-dialog');
  await dialog.getByLabel('Project', {exact: true}).selectOption({label: 'Create API key in a new project…'});
  await dialog.getByLabel('New project name').fill('E2E app');
  await dialog.getByLabel('Key name').fill('sdk');
  await screenshot(page, 'create-api-key-dialog');
  await dialog.getByRole('button', {name: 'Create API key'}).click();

  const secretDialog = page.locator('#secret-dialog');
  await secretDialog.waitFor();
  state.secret = await secretDialog.getByLabel('API key').inputValue();
  assert.match(state.secret, /^AIza[0-9A-Za-z_-]{35}$/);
  assert.match(await secretDialog.textContent(), /will not be able to see it again/);
  await secretDialog.getByRole('button', {name: 'Copy'}).click();
  await textMatching(page.locator('#secret-copied'), /Copied to the clipboard/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), state.secret);
  await screenshot(page, 'key-created-shown-once');
  await secretDialog.getByRole('button', {name: 'Done'}).click();
  await until(async () => (await page.locator('#secret-value').inputValue()) === '', 'the secret to leave the page with the dialog');

  const card = page.locator('section.project', {has: page.getByRole('heading', {name: 'E2E app'})});
  const row = card.locator('tbody tr');
  await textMatching(row, /sdk/);
  state.projectId = await card.getAttribute('data-project');
  const rowText = await row.textContent();
  const prefix = rowText.match(/(AIza\S*)…/)[1];
  assert.ok(prefix.length >= 6 && state.secret.startsWith(prefix), `the listed prefix ${prefix} begins the key`);
  assert.ok(!rowText.includes(state.secret), 'the list never shows the key');
  assert.match(rowText, /never/, 'not used yet');
  assert.match(rowText, /Active/);
  await screenshot(page, 'keys-list-with-new-key');
});

step('the new key works from @google/genai, and the request shows on the dashboard', async () => {
  const r = await generate(state.secret, FLASH, 'Hello from the console test');
  assert.ok(r.text.length > 0);
  const promptTokens = r.usageMetadata.promptTokenCount;

  await nav('Quota dashboard').click();
  await heading('Quota dashboard').waitFor();
  await field('dashboard', 'Project').selectOption(state.projectId);
  await textMatching(useCell(FLASH, 0), /^1 \/ 15$/);
  await textMatching(useCell(FLASH, 1), new RegExp(`^${promptTokens} / 1,000,000$`));
  await textMatching(useCell(FLASH, 2), /^1 \/ 1,500$/);
  await textMatching(page.locator('#dash-tier'), /^Free tier$/);
  // The last hour of the chart counts it.
  await textMatching(page.locator('#dash-hours tbody tr').last().locator('td').first(), /^[1-9]/);
  assert.ok(await page.locator('#chart-requests rect.bar').count() >= 1, 'a bar is drawn');
  assert.match(await page.locator('#chart-requests').getAttribute('aria-label'), /Requests per hour over the last 24 hours: [1-9]/);
  await screenshot(page, 'dashboard-after-sdk-call');
});

step('exhausting gemini-2.5-pro\'s 2 RPM: the 429 and the countdowns on the dashboard', async () => {
  await generate(state.secret, PRO);
  await generate(state.secret, PRO);
  await assert.rejects(generate(state.secret, PRO), (e) => e instanceof ApiError && e.status === 429);

  await textMatching(useCell(PRO, 0), /^2 \/ 2$/);
  assert.match(await useCell(PRO, 0).getAttribute('class'), /full/);
  const refusal = page.locator('#dash-refusals-table tbody tr').first();
  await textMatching(refusal, /gemini-2\.5-pro.*requests per minute/);
  // The retry countdown of the refusal and the daily reset countdown both tick.
  const retry = refusal.locator('td').last();
  const firstRetry = await textMatching(retry, /^in \d+s$/);
  const reset = page.locator('#dash-reset');
  const firstReset = await textMatching(reset, /^(\d+h \d\dm \d\ds|\d+m \d\ds|\d+s)$/);
  await until(async () => (await retry.textContent()) !== firstRetry && (await reset.textContent()) !== firstReset, 'the countdowns to tick');
  await screenshot(page, 'dashboard-429-and-countdowns');
});

step('the playground shows a 429 as a rate limit, with the retry delay', async () => {
  await nav('Playground').click();
  await heading('Playground').waitFor();
  await field('playground', 'Project (quota charged)').selectOption(state.projectId);
  await field('playground', 'Model').selectOption(PRO);
  await field('playground', 'Prompt').fill('Hello?');
  await page.getByRole('button', {name: 'Run'}).click();
  const error = page.locator('#pg-error');
  await textMatching(error, /429 RESOURCE_EXHAUSTED/);
  assert.match(await error.textContent(), /requests per minute \(limit 2\)/);
  await textMatching(error.locator('.retry'), /^Retry in \d+s/);
  await screenshot(page, 'playground-429');
});

step('changing the tier raises the limits the dashboard shows and the server applies', async () => {
  await nav('Get API key').click();
  await page.locator(`#tier-${state.projectId}`).selectOption('tier1');
  await textMatching(page.locator('#toast'), /E2E app is now on Tier 1/);
  await screenshot(page, 'tier-changed');
  await nav('Quota dashboard').click();
  await field('dashboard', 'Project').selectOption(state.projectId);
  await textMatching(page.locator('#dash-tier'), /^Tier 1$/);
  await textMatching(useCell(PRO, 0), /^2 \/ 20$/);
  const r = await generate(state.secret, PRO);
  assert.ok(r.usageMetadata.totalTokenCount > 0, 'a fourth pro request passes on tier 1');
  await textMatching(useCell(PRO, 0), /^3 \/ 20$/);
});

step('the playground streams an answer token by token and shows its usage', async () => {
  await nav('Playground').click();
  await field('playground', 'Model').selectOption(FLASH);
  await field('playground', 'System instruction').fill('Answer in one sentence.');
  await field('playground', 'Prompt').fill('Tell me a story about a robot.');
  // The keyboard way: ten steps of 0.05 down from 1.
  await page.locator('#pg-temperature').focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
  assert.equal(await page.locator('#pg-temperature-value').textContent(), '0.50');
  await field('playground', 'Max output tokens').fill('40');
  // Record the answer's length at each change, to see it grow in steps.
  await page.evaluate(() => {
    window.lengths = [];
    new MutationObserver(() => window.lengths.push(document.getElementById('pg-output').textContent.length))
      .observe(document.getElementById('pg-output'), {childList: true, characterData: true, subtree: true});
  });
  await field('playground', 'Prompt').press('Control+Enter');
  const usage = await textMatching(page.locator('#pg-usage'), /Input \d+ tokens · output \d+ tokens/, 60_000);
  const output = await page.locator('#pg-output').textContent();
  assert.ok(output.length > 0, 'an answer');
  const steps = new Set((await page.evaluate(() => window.lengths)).filter((n) => n > 0));
  assert.ok(steps.size >= 3, `the answer arrived in pieces (lengths seen: ${[...steps]})`);
  assert.match(usage, /output ([1-9]\d*) tokens/);
  await screenshot(page, 'playground-streamed');
});

step('Get code shows curl and google-genai for the current settings, and they run', async () => {
  await page.getByRole('button', {name: 'Get code'}).click();
  const curl = await page.locator('#code-curl').textContent();
  const python = await page.locator('#code-python').textContent();
  assert.ok(curl.includes(`${g.base}/v1beta/models/${FLASH}:streamGenerateContent?alt=sse`), curl);
  assert.match(curl, /YOUR_API_KEY/);
  assert.match(curl, /"temperature": 0\.5/);
  assert.match(curl, /"maxOutputTokens": 40/);
  assert.match(curl, /Answer in one sentence\./);
  assert.ok(python.includes(`base_url="${g.base}"`), python);
  assert.match(python, /api_key="YOUR_API_KEY"/);
  assert.match(python, /max_output_tokens=40/);
  assert.ok(!curl.includes(state.secret) && !python.includes(state.secret));
  await screenshot(page, 'get-code');

  // The snippets, with the placeholder replaced by the real key, work as shown.
  const withKey = (code) => code.replaceAll('YOUR_API_KEY', state.secret);
  const {stdout: curlOut} = await run('bash', ['-c', withKey(curl)], {timeout: 60_000});
  assert.match(curlOut, /^data: \{"candidates"/m);
  await page.getByLabel('Stream the answer').uncheck();
  const unary = await page.locator('#code-curl').textContent();
  assert.ok(unary.includes(`:generateContent'`), unary);
  const {stdout: unaryOut} = await run('bash', ['-c', withKey(unary)], {timeout: 60_000});
  assert.ok(JSON.parse(unaryOut).candidates[0].content.parts[0].text.length > 0);
  if (process.env.GEMD_TEST_PYTHON) {
    const {stdout} = await run(process.env.GEMD_TEST_PYTHON, ['-c', withKey(await page.locator('#code-python').textContent())], {timeout: 60_000});
    assert.ok(stdout.trim().length > 0, 'the google-genai snippet printed an answer');
  } else {
    console.log('# GEMD_TEST_PYTHON unset: the Python snippet was not run');
  }
  await page.locator('#code-dialog').getByRole('button', {name: 'Close'}).click();
});

step('revoking the key, after confirming, makes the SDK call fail with API_KEY_INVALID', async () => {
  await nav('Get API key').click();
  const card = page.locator(`section.project[data-project="${state.projectId}"]`);
  await textMatching(card.locator('tbody tr'), /sdk/);
  assert.doesNotMatch(await card.locator('tbody tr').textContent(), /never/, 'its last use is recorded');
  await card.getByRole('button', {name: 'Revoke key sdk'}).click();
  const confirm = page.locator('#confirm-dialog');
  await confirm.waitFor();
  assert.match(await confirm.textContent(), /stops working at once/);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel', 'the safe choice has the focus');
  await screenshot(page, 'revoke-confirmation');
  await confirm.getByRole('button', {name: 'Revoke key'}).click();
  await textMatching(card.locator('tbody tr'), /Revoked/);
  await screenshot(page, 'key-revoked');
  await assert.rejects(generate(state.secret, FLASH), (e) => e instanceof ApiError && e.status === 400 && /API_KEY_INVALID/.test(e.message));
});

step('an expired or refused sign-in returns to the sign-in form and says why', async () => {
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('gemd.session'));
    sessionStorage.setItem('gemd.session', JSON.stringify({...s, expireTime: new Date(Date.now() - 1000).toISOString()}));
  });
  await page.reload();
  await heading('Sign in to gemd').waitFor();
  await textMatching(page.locator('#signin-notice'), /Your sign-in expired/);
  await screenshot(page, 'sign-in-expired');

  await signIn();
  await heading('API keys').waitFor();
  // A session the server refuses (say, after the admin token changed): back to sign-in.
  await page.evaluate(() => sessionStorage.setItem('gemd.session', JSON.stringify({session: 'gs1.9999999999999.00', expireTime: new Date(Date.now() + 3600e3).toISOString()})));
  await nav('Quota dashboard').click();
  await heading('Sign in to gemd').waitFor();
  await textMatching(page.locator('#signin-notice'), /signed out.*not valid/i);
  await signIn();
  await heading('Quota dashboard').waitFor();
});

step('at a phone\'s width every page fits the screen', async () => {
  await page.setViewportSize({width: 390, height: 844});
  for (const [link, title, name] of [['Quota dashboard', 'Quota dashboard', 'phone-dashboard'],
                                     ['Get API key', 'API keys', 'phone-api-keys'],
                                     ['Playground', 'Playground', 'phone-playground']]) {
    await nav(link).click();
    await heading(title).waitFor();
    if (name === 'phone-dashboard') await field('dashboard', 'Project').selectOption(state.projectId);
    if (name === 'phone-dashboard') await textMatching(useCell(PRO, 0), /\//);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${title} is ${overflow}px wider than the screen`);
    await screenshot(page, name);
  }
});

step('the page loaded nothing from elsewhere, hit no CSP refusal, and put no credential in a URL', () => {
  assert.deepEqual(problems, []);
  for (const u of urls) {
    assert.ok(!u.includes(g.adminToken) && !(state.secret && u.includes(state.secret)), `credential in ${u}`);
  }
});
