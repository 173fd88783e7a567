// `callpipe dev` for the browser tests: the whole stack (AWS emulator, WXCC simulator, OpenAI fake, workers, API
// serving the built console) in its own process on free ports, with an API key required; plus a small API client.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CONSOLE_DIST = path.join(REPO, 'console', 'dist');
const VENV_BIN = path.join(REPO, '.venv', 'bin');

/** Poll `check` until it returns a truthy value (returned), or fail after `timeoutMs` saying what was awaited. */
export async function waitFor(check, { timeoutMs = 30_000, intervalMs = 250, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** ISO timestamp (seconds) of `at`. */
export function iso(at) {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Start `callpipe dev --calls N` with `apiKey` required (its SHA-256 in CALLPIPE_API_KEY_HASHES) and the console
 * served from console/dist. Resolves once it printed that it is up, with its URL, the environment it printed (to point
 * other processes at the same AWS endpoint), an API client and `stop()`.
 */
export async function startDevStack({ calls = 20, apiKey, consoleDir = CONSOLE_DIST, timeoutMs = 120_000 } = {}) {
  if (!existsSync(path.join(consoleDir, 'index.html'))) {
    throw new Error(`${consoleDir}/index.html is missing: build the console first (make console-build)`);
  }
  const [apiPort, awsPort] = [await freePort(), await freePort()];
  const hash = createHash('sha256').update(apiKey).digest('hex');
  const child = spawn(
    path.join(VENV_BIN, 'callpipe'),
    ['dev', '--calls', String(calls), '--api-port', String(apiPort), '--aws-port', String(awsPort)],
    {
      cwd: REPO,
      env: {
        ...process.env,
        CALLPIPE_API_KEY_HASHES: JSON.stringify([hash]),
        CALLPIPE_API_CONSOLE_DIR: consoleDir,
        CALLPIPE_LOG_LEVEL: 'WARNING',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const env = {};
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    output = (output + chunk).slice(-20_000);
  });
  const up = new Promise((resolve) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      output = (output + chunk).slice(-20_000);
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const exported = /^\s*export (\w+)='(.*)'$/.exec(line);
        if (exported) env[exported[1]] = exported[2];
        if (line.startsWith('Ctrl-C stops')) resolve(true);
      }
    });
  });
  let timer;
  const outcome = await Promise.race([
    up,
    exited.then(({ code, signal }) => new Error(`callpipe dev exited (${code ?? signal}) before it was up`)),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(new Error(`callpipe dev was not up after ${timeoutMs} ms`)), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome instanceof Error) {
    child.kill('SIGKILL');
    throw new Error(`${outcome.message}\n${output}`);
  }
  const url = `http://127.0.0.1:${apiPort}`;

  async function api(route, { method = 'GET', body, headers = {} } = {}) {
    const response = await fetch(url + route, {
      method,
      headers: {
        Authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }

  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // Ctrl-C: workers drain, then the simulators and the AWS endpoint stop
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(kill);
  }

  return { url, env, apiKey, api, stop, output: () => output };
}

/** Start a window journey through the API and wait until it is COMPLETED; returns its final status. */
export async function runJourney(stack, from, to, { timeoutMs = 240_000 } = {}) {
  const created = await stack.api('/api/v1/journeys', {
    method: 'POST',
    body: { kind: 'window', from: iso(from), to: iso(to) },
  });
  const location = created.headers.get('location');
  return waitFor(
    async () => {
      const { body } = await stack.api(location);
      const state = body.journey.state;
      if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`journey ${body.journey.id} is ${state}`);
      return state === 'COMPLETED' ? body : null;
    },
    { timeoutMs, intervalMs: 1000, what: `journey ${created.body.id} to complete` },
  );
}

/** Put one message into a stage's DLQ of the stack (console/e2e/dead_letter.py, with the stack's environment). */
export function deadLetter(stack, { stage = 'fetch', task = 'task-e2e-dead' } = {}) {
  const run = spawnSync(
    path.join(VENV_BIN, 'python'),
    [path.join(REPO, 'console', 'e2e', 'dead_letter.py'), '--stage', stage, '--task', task],
    { cwd: REPO, env: { ...process.env, ...stack.env }, encoding: 'utf8', timeout: 60_000 },
  );
  if (run.status !== 0) throw new Error(`dead_letter.py failed (${run.status}): ${run.stderr}`);
}
