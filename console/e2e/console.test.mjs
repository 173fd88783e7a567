// The console in a real browser against `callpipe dev --calls 20` (an API key required): sign in, the dashboard's
// numbers, call filters held in the URL, a call's audio and transcript in sync, a journey started and finished from the
// UI, a dead letter replayed after a dry run. axe-core on every page (no serious or critical violation), a screenshot
// of every page, and no console error anywhere (a CSP violation is one).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, screenshot, seriousViolations, settled } from './lib/browser.mjs';
import { deadLetter, runJourney, startDevStack, waitFor } from './lib/stack.mjs';

const API_KEY = 'e2e-console-key-7f3a91';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The API's exclusive end of a `YYYY-MM-DD` range end (the next midnight, UTC). */
function dayEnd(day) {
  return `${new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10)}T00:00:00Z`;
}

/** Wait until the locator's text matches `pattern`; a timeout says what the text was. */
async function waitForText(locator, pattern, what, timeoutMs = 30_000) {
  await waitFor(
    async () => {
      const text = await locator.innerText();
      if (!pattern.test(text)) throw new Error(`the text is ${JSON.stringify(text.slice(0, 400))}`);
      return true;
    },
    { what, timeoutMs },
  );
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('web console', { concurrency: 1 }, () => {
  let stack;
  let browser;
  let page;
  let journeyFromApi;

  before(async () => {
    stack = await startDevStack({ calls: 20, apiKey: API_KEY });
    const now = Date.now();
    journeyFromApi = await runJourney(stack, new Date(now - 24 * HOUR_MS + 60_000), new Date(now - 60_000));
    browser = await launchBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const violations = {}; // page name → axe's serious and critical violations (asserted empty at the end)

  /** The page once loaded: axe-core's serious/critical violations recorded, then a screenshot. */
  async function checkPage(name) {
    await settled(page);
    violations[name] = await seriousViolations(page);
    await screenshot(page, name);
  }

  async function signedInKey() {
    return page.evaluate(() => sessionStorage.getItem('callpipe.apiKey'));
  }

  test('the journey started through the API analysed the simulated calls', () => {
    assert.equal(journeyFromApi.journey.state, 'COMPLETED');
    assert.ok(journeyFromApi.stages.analyze.done > 0, JSON.stringify(journeyFromApi.stages));
  });

  test('sign in: a refused key says so, the right key opens the dashboard', async () => {
    await page.goto(`${stack.url}/`);
    await page.waitForURL(/\/signin$/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await checkPage('signin');
    await browser.allowErrors(/401/, async () => {
      await page.getByLabel('API key', { exact: true }).fill('not-the-key-000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
    });
    assert.equal(await signedInKey(), null);
    await page.getByLabel('API key', { exact: true }).fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.equal(await signedInKey(), API_KEY);
  });

  test('dashboard: the totals are the analysed calls of the range; group by queue', async () => {
    await settled(page);
    const from = await page.getByLabel('From', { exact: true }).inputValue();
    const to = await page.getByLabel('To', { exact: true }).inputValue();
    const { body: summary } = await stack.api(
      `/api/v1/analytics/summary?from=${from}T00:00:00Z&to=${encodeURIComponent(dayEnd(to))}&group_by=queue`,
    );
    assert.ok(summary.totals.calls > 0, `no analysed call from ${from} to ${to}`);
    const totals = page.getByLabel('Totals', { exact: true });
    const callsFigure = new RegExp(`Calls\\s+${summary.totals.calls}\\b`);
    await waitForText(totals, callsFigure, `"Calls ${summary.totals.calls}"`);
    await page.getByRole('combobox', { name: /^Group by/ }).selectOption('queue');
    await waitFor(() => new URL(page.url()).searchParams.get('group_by') === 'queue' || page.url().endsWith('/'), {
      what: 'group_by in the URL',
    });
    const queue = summary.groups[0].key;
    const byQueue = page.getByRole('region', { name: 'By queue' });
    await byQueue.getByText(queue, { exact: true }).first().waitFor();
    assert.equal(await page.getByRole('alert').count(), 0);
    await checkPage('dashboard');
  });

  test('calls: a queue filter lists exactly the API\'s calls of that queue and stays in the URL', async () => {
    await page.getByRole('link', { name: 'Calls', exact: true }).click();
    await page.getByRole('heading', { name: 'Calls', exact: true }).waitFor();
    await settled(page);
    const rows = page.locator('table tbody tr').filter({ has: page.locator('a[href^="/calls/"]') });
    await waitFor(async () => (await rows.count()) > 0, { what: 'rows in the calls table' });
    const { body: all } = await stack.api('/api/v1/calls?limit=100');
    const queue = all.items.find((c) => c.queue)?.queue;
    assert.ok(queue, 'the analysed calls have a queue');
    const expected = all.items.filter((c) => c.queue === queue).map((c) => c.task_id);
    await page.getByLabel('Queue', { exact: true }).fill(queue);
    await page.getByLabel('Queue', { exact: true }).press('Enter');
    await waitFor(() => new URL(page.url()).searchParams.get('queue') === queue, { what: `queue=${queue} in the URL` });
    await settled(page);
    const listed = async () =>
      rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('a[href^="/calls/"]').getAttribute('href')));
    await waitFor(async () => (await listed()).length === expected.length, {
      what: `${expected.length} rows for queue ${queue}`,
    });
    assert.deepEqual(
      (await listed()).map((href) => decodeURIComponent(href.slice('/calls/'.length))).sort(),
      [...expected].sort(),
    );
    await page.reload();
    await page.getByRole('heading', { name: 'Calls', exact: true }).waitFor();
    const kept = await page.getByLabel('Queue', { exact: true }).inputValue();
    assert.equal(kept, queue, 'the filter comes back from the URL');
    await waitFor(async () => (await listed()).length === expected.length, { what: 'the filtered rows after reload' });
    await checkPage('calls');
  });

  test('a call: the recording plays from S3, a click on a turn seeks to it and marks it current', async () => {
    const { body: list } = await stack.api('/api/v1/calls?limit=100');
    const candidates = list.items.filter((c) => c.qa_flags > 0);
    const call = candidates[0] ?? list.items[0];
    const { body: transcript } = await stack.api(`/api/v1/calls/${encodeURIComponent(call.task_id)}/transcript`);
    const { body: record } = await stack.api(`/api/v1/calls/${encodeURIComponent(call.task_id)}`);
    await page.goto(`${stack.url}/calls?limit=100`);
    await page.locator(`a[href="/calls/${encodeURIComponent(call.task_id)}"]`).first().click();
    await page.waitForURL(new RegExp(`/calls/${escapeRegExp(encodeURIComponent(call.task_id))}$`));
    await page.getByRole('heading', { name: call.task_id }).first().waitFor();
    for (const name of ['Analysis', 'QA flags', 'Conversation']) {
      await page.getByRole('heading', { name, exact: true }).waitFor();
    }
    const audio = page.locator('audio');
    await audio.waitFor({ state: 'attached' });
    const src = await audio.getAttribute('src');
    assert.ok(src.startsWith(stack.env.AWS_ENDPOINT_URL), `the audio comes from S3: ${src}`);
    // metadata loaded: the CSP lets media come from the S3 endpoint and the presigned URL works
    await waitFor(() => audio.evaluate((el) => el.readyState >= 1 && el.duration > 0), { what: 'audio metadata' });
    const list_ = page.getByRole('list', { name: 'Transcript' });
    const turns = list_.getByRole('button');
    assert.equal(await turns.count(), transcript.turns.length);
    const index = transcript.turns.length - 1;
    const turn = transcript.turns[index];
    assert.ok(turn.start > 1, 'the last turn starts after the first second');
    await turns.nth(index).click();
    const position = await waitFor(
      async () => {
        const at = await audio.evaluate((el) => el.currentTime);
        return at >= turn.start - 0.3 && at <= turn.start + 3 ? at : null;
      },
      { what: `audio currentTime near ${turn.start}s` },
    );
    assert.ok(position >= turn.start - 0.3);
    await waitFor(
      () => turns.nth(index).evaluate((el) => el.closest('[aria-current]')?.getAttribute('aria-current') === 'true'),
      { what: 'the clicked turn to be aria-current' },
    );
    const speaker = turn.speaker === 'agent' ? 'Agent' : 'Customer';
    assert.match(await turns.nth(index).innerText(), new RegExp(speaker));
    const evidence = (record.record?.qa_flags ?? []).map((f) => f.evidence).filter(Boolean);
    const quoted = evidence.some((e) => transcript.turns.some((t) => t.text.includes(e)));
    if (quoted) assert.ok((await list_.locator('mark').count()) > 0, 'QA evidence is highlighted');
    await checkPage('call');
  });

  test('journeys: one started from the UI shows live per-stage progress and completes', async () => {
    await page.getByRole('link', { name: 'Journeys', exact: true }).click();
    await page.getByRole('heading', { name: 'Journeys', exact: true }).waitFor();
    await settled(page);
    await page.getByText(journeyFromApi.journey.id).first().waitFor();
    await checkPage('journeys');
    const form = page.getByRole('form', { name: 'Start a journey' });
    // the simulator's calls ended over the last 24 hours (the browser's time zone is UTC: local time is UTC)
    const from = new Date(Date.now() - 23 * HOUR_MS).toISOString().slice(0, 16);
    await form.getByLabel('From', { exact: true }).fill(from);
    await form.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/journeys\/j-[0-9a-f]+$/);
    const id = decodeURIComponent(page.url().split('/').pop());
    assert.notEqual(id, journeyFromApi.journey.id);
    await waitFor(async () => (await page.getByRole('progressbar').count()) === 4, { what: 'a progress bar per stage' });
    await page.getByText('COMPLETED', { exact: true }).first().waitFor({ timeout: 180_000 });
    const { body } = await stack.api(`/api/v1/journeys/${id}`);
    assert.equal(body.journey.state, 'COMPLETED');
    assert.ok(body.discovered > 0, `the journey found the simulator's calls: ${JSON.stringify(body.stages)}`);
    const found = page.getByText('Calls found', { exact: true }).locator('..');
    await waitForText(found, new RegExp(`\\b${body.discovered}\\b`), `"Calls found ${body.discovered}" on the page`);
    const report = (format) =>
      page
        .getByRole('button', { name: format, exact: true })
        .or(page.getByRole('link', { name: format, exact: true }))
        .first();
    for (const format of ['JSON', 'CSV', 'HTML']) await report(format).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), report('JSON').click()]);
    const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(saved.journey_id ?? saved.id ?? saved.journey?.id, id, 'the downloaded JSON report is this journey\'s');
    await checkPage('journey');
  });

  test('dead letters: a dry run counts the message, the replay moves it back', async () => {
    deadLetter(stack, { stage: 'fetch', task: 'task-e2e-dead' });
    // the API reads a DLQ's depth at most every 5 s (api/status.py): wait until it counts the new dead letter
    await waitFor(
      async () => (await stack.api('/api/v1/dlq')).body.stages.find((s) => s.stage === 'fetch').messages === 1,
      { what: 'the API to count the dead letter in the fetch DLQ', timeoutMs: 20_000 },
    );
    await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
    await page.getByRole('heading', { name: 'Dead letters', exact: true }).waitFor();
    await settled(page);
    const fetchRow = page.getByRole('row', { name: /Fetch/ });
    await waitForText(fetchRow, /Fetch\s+1\b/, 'one fetch dead letter');
    await page.getByRole('combobox', { name: /^Stage/ }).selectOption('fetch');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const result = page.locator('[aria-live="polite"]').last();
    await waitForText(result, /SUCCEEDED[\s\S]*Would move\s+1\b/, 'the dry run to count one message');
    await checkPage('dlq-dry-run');
    const replay = page.getByRole('button', { name: 'Replay', exact: true });
    await waitFor(() => replay.isEnabled(), { what: 'Replay enabled after the dry run' });
    await replay.click();
    await waitForText(result, /SUCCEEDED[\s\S]*Moved\s+1\b/, 'the replay to move one message', 60_000);
    await checkPage('dlq');
  });

  test('a key the API stops accepting brings the sign-in back and is forgotten', async () => {
    await browser.allowErrors(/401/, async () => {
      await page.evaluate(() => sessionStorage.setItem('callpipe.apiKey', 'revoked-key-123456'));
      await page.goto(`${stack.url}/calls`);
      await page.waitForURL(/\/signin$/);
      await waitFor(async () => (await signedInKey()) === null, { what: 'the refused key to be cleared' });
    });
  });

  test('axe-core: no serious or critical violation on any page', () => {
    const pages = ['signin', 'dashboard', 'calls', 'call', 'journeys', 'journey', 'dlq-dry-run', 'dlq'];
    assert.deepEqual(Object.keys(violations).sort(), [...pages].sort(), 'every page was checked');
    assert.deepEqual(Object.fromEntries(Object.entries(violations).filter(([, v]) => v.length)), {});
  });

  test('no console error on any page', () => {
    assert.deepEqual(browser.errors, []);
  });
});
