#!/usr/bin/env node
// Interop client 1: headless Chromium's built-in EventSource (Debian /usr/bin/chromium,
// driven by npm playwright-core from .tools/node; nothing downloads a browser).
//
//   node tests/interop/chromium.mjs <server-base-url> <client-key> [--timeout-ms T]
//
// Opens <base>/?client=<key>: the interop server's page, whose EventSource runs the
// scenario on /events?client=<key> and records every event in `window.received`.
// The browser does everything itself: it reconnects when the server ends the stream,
// waits what `retry:` says, sends Last-Event-ID, and stops for good on 204 (readyState
// CLOSED). We wait for CLOSED (or T ms, default 15000) and print one JSON line:
//   {"client":"chromium","events":[{type,data,lastEventId}...],"stopped":bool,...}
// Exit 0 when the run completed (whether the events are right is the harness's call),
// 1 on an error (no browser, page did not load), 2 on the hard timeout (T + 30 s).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const [base, key, ...rest] = process.argv.slice(2);
let TIMEOUT = 15000;
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--timeout-ms') TIMEOUT = Number(rest[++i]);
  else { console.error(`unexpected argument: ${rest[i]}`); process.exit(1); }
}
if (!base || !key || !Number.isInteger(TIMEOUT) || TIMEOUT < 1) {
  console.error('usage: node tests/interop/chromium.mjs <server-base-url> <client-key> [--timeout-ms T]');
  process.exit(1);
}

let chromium;
try {
  ({ chromium } = createRequire(join(ROOT, '.tools', 'node', 'noop.js'))('playwright-core'));
} catch {
  console.error('playwright-core not found in .tools/node: run `bash scripts/setup-browser.sh` first');
  process.exit(1);
}

const profile = mkdtempSync(join(tmpdir(), 'sse-interop-chromium-'));
const removeProfile = () => {
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
};
let context, closing, hardHit = false;
const cleanup = () => closing ??= (async () => {
  if (context) await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  removeProfile();
})();
const hard = setTimeout(() => {
  hardHit = true;
  console.error(`chromium: hard timeout (${TIMEOUT + 30000} ms) reached; aborting`);
  cleanup().finally(() => process.exit(2));
}, TIMEOUT + 30000);
const within = (ms, what, promise) => Promise.race([promise, new Promise((_, no) =>
  setTimeout(() => no(new Error(`page unresponsive: ${what} took > ${ms} ms`)), ms).unref())]);

const problems = [];
let code = 1;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30000,
  });
  process.on('exit', removeProfile);
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The favicon 404 is noise; EventSource's own 204 "error" is expected.
    if (m.type() === 'error' && !/favicon\.ico$/.test(m.location().url)) problems.push(`console: ${m.text()}`);
  });
  const url = new URL(`/?client=${encodeURIComponent(key)}`, base).href;
  const started = Date.now();
  const resp = await page.goto(url, { timeout: TIMEOUT, waitUntil: 'domcontentloaded' });
  if (!resp || !resp.ok()) throw new Error(`GET ${url} -> ${resp ? resp.status() : 'no response'}`);

  // CLOSED (2) only comes from a fatal answer (here: the final 204); reconnections go
  // through CONNECTING (0).
  let stopped = true;
  await within(TIMEOUT + 5000, 'waiting for the stream to close', page.waitForFunction(
    () => window.es && window.es.readyState === 2, null, { timeout: TIMEOUT, polling: 50 },
  ).catch((e) => {
    if (!/Timeout/i.test(String(e))) throw e;
    stopped = false;
  }));
  const s = await within(5000, 'reading the results', page.evaluate(() => ({
    received: window.received, opens: window.opens, errors: window.errors,
    readyState: window.es.readyState,
  })));
  console.log(JSON.stringify({
    client: 'chromium',
    library: `Chromium ${context.browser()?.version() ?? '?'} EventSource (playwright-core driven)`,
    events: s.received,
    stopped,
    opens: s.opens,
    errors: s.errors,
    elapsed_ms: Date.now() - started,
    notes: problems.filter((p) => !/EventSource's response has a MIME type|204/.test(p)),
  }));
  code = 0;
} catch (e) {
  console.error(`chromium: ${e.message ?? e}`);
  for (const p of problems) console.error(`  ${p}`);
} finally {
  await cleanup();
  clearTimeout(hard);
}
process.exit(hardHit ? 2 : code);
