// Page timings for bench/console.py, in the e2e's Chromium: sign in once, then `--runs` navigations (after one
// warm-up each) to the calls page (until its table has rows) and to one call's page (until its transcript and analysis
// are shown). Each time is `performance.now()` at that point: milliseconds since the navigation started, assets from
// the browser's cache after the warm-up (hashed files are immutable). Prints one JSON object.
import { parseArgs } from 'node:util';

import { launchBrowser, settled } from './lib/browser.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    call: { type: 'string' },
    runs: { type: 'string', default: '5' },
  },
});
if (!values.url || !values.key || !values.call) {
  console.error('usage: node measure.mjs --url URL --key API_KEY --call TASK_ID [--runs N]');
  process.exit(2);
}
const runs = Number(values.runs);
const browser = await launchBrowser();
const { page } = browser;

async function time(path, ready) {
  await page.goto(values.url + path);
  await ready();
  return page.evaluate(() => performance.now());
}

try {
  await page.goto(`${values.url}/signin`);
  await page.getByLabel('API key', { exact: true }).fill(values.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await settled(page);

  const callsReady = async () => {
    await page.locator('table tbody tr a[href^="/calls/"]').first().waitFor();
  };
  const callReady = async () => {
    await page.getByRole('list', { name: 'Transcript' }).getByRole('button').first().waitFor();
    await page.getByRole('heading', { name: 'Analysis', exact: true }).waitFor();
  };
  const callPath = `/calls/${encodeURIComponent(values.call)}`;
  const result = { calls_page_ms: [], call_page_ms: [], rows: 0, errors: browser.errors };
  // the first visit of each (warm-up, reported apart): the browser then has the hashed assets in its cache
  result.first_calls_page_ms = await time('/calls', callsReady);
  result.first_call_page_ms = await time(callPath, callReady);
  for (let i = 0; i < runs; i += 1) {
    result.calls_page_ms.push(await time('/calls', callsReady));
    result.rows = await page.locator('table tbody tr').count();
    result.call_page_ms.push(await time(callPath, callReady));
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
