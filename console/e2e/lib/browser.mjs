// Chromium from the OS packages (never a downloaded browser) driven by playwright-core, with a fresh empty profile;
// every page's console errors are recorded, axe-core checks a page, screenshots go to console/e2e/screenshots/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CALLPIPE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launch Chromium on a new empty user-data-dir. `errors` collects every console error and uncaught page error;
 * `allowErrors(pattern)` lets the errors a step expects (a refused key's 401) through while it runs.
 */
export async function launchBrowser({ viewport = { width: 1440, height: 900 } } = {}) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'callpipe-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const errors = [];
  let allowed = [];
  const record = (page, text) => {
    if (!allowed.some((pattern) => pattern.test(text))) errors.push(`${page.url()}: ${text}`);
  };
  const watch = (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') record(page, message.text());
    });
    page.on('pageerror', (error) => record(page, `uncaught ${error.name}: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);

  async function allowErrors(pattern, step) {
    allowed = [...allowed, pattern];
    try {
      return await step();
    } finally {
      allowed = allowed.filter((p) => p !== pattern);
    }
  }

  async function close() {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }

  return { context, page, errors, allowErrors, close };
}

/** axe-core on the page as it is: the serious and critical violations, one line each (empty: none). */
export async function seriousViolations(page) {
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
  const results = await new AxeBuilder({ page }).withTags(tags).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')})`);
}

/** A full-page screenshot as screenshots/NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** Wait until no loading indicator (role status "Loading…") is on the page. */
export async function settled(page, timeoutMs = 30_000) {
  await page.waitForFunction(
    () => ![...document.querySelectorAll('[role="status"]')].some((el) => /Loading/.test(el.textContent ?? '')),
    null,
    { timeout: timeoutMs },
  );
}
