#!/usr/bin/env node
// Browser check: does a real Chromium EventSource receive the server's SSE messages,
// and never an empty message (a heartbeat must be a `:` comment, not `data:`)?
//
//   bash scripts/setup-browser.sh      # once: /usr/bin/chromium + .tools/node/playwright-core
//   node tests/browser/eventsource_page.mjs <page-url> [--ticks N] [--timeout-ms T]
//
// N (default 2): messages to wait for. T (default 15000): how long to wait for them.
// Success: one JSON line on stdout, {"ok":true,"messages":[...],"opens":k}, exit 0.
// Failure: a readable reason on stderr, exit 1 (exit 2 if the hard overall timeout hits).
// The browser is always closed; the whole run is capped at T + 30 s.
//
// PAGE CONTRACT (what the page at <page-url> must do; tests/browser/fixture_server.py
// has a reference page):
//   - open exactly one `new EventSource('/events')` on load;
//   - have an `<ol id="ticks">` and, for every `message` event, append an `<li>` whose
//     textContent is the event's data;
//   - keep `window.sseMessages`: an array of the data strings of all `message` events,
//     in order (so its entries equal the <li> texts);
//   - keep `window.sseOpenCount`: a number, incremented on every `open` event.
// The page must not filter messages: independently of the page, an init script wraps
// window.EventSource and records every `message` event dispatched to each instance in
// `window.__sseRecorded` ({data, lastEventId} objects); the page's list must match it.
//
// Env: CHROMIUM overrides the browser binary (default /usr/bin/chromium).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function usage(msg) {
  console.error(`${msg}\nusage: node tests/browser/eventsource_page.mjs <page-url> [--ticks N] [--timeout-ms T]`);
  process.exit(1);
}

// --- arguments (`--ticks N` or `--ticks=N`) ----------------------------------------------
const opts = { ticks: 2, 'timeout-ms': 15000 };
let url;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const m = /^--(ticks|timeout-ms)(?:=(.*))?$/.exec(a);
  if (m) {
    const v = Number(m[2] ?? process.argv[++i]);
    if (!Number.isInteger(v) || v < 1) usage(`bad value for --${m[1]}`);
    opts[m[1]] = v;
  } else if (!a.startsWith('--') && url === undefined) url = a;
  else usage(`unexpected argument: ${a}`);
}
if (!url) usage('missing <page-url>');
const TICKS = opts.ticks, TIMEOUT = opts['timeout-ms'];

// --- playwright-core from .tools/node (installed by scripts/setup-browser.sh) -----------
let chromium;
try {
  ({ chromium } = createRequire(join(ROOT, '.tools', 'node', 'noop.js'))('playwright-core'));
} catch {
  console.error('playwright-core not found in .tools/node: run `bash scripts/setup-browser.sh` first');
  process.exit(1);
}

// --- injected before any page script: record every `message` event per EventSource ------
// The listener is added in the constructor, before the page can add its own, so it sees
// every message event dispatched to the instance (onmessage and addEventListener alike).
function recorder() {
  const Native = window.EventSource;
  window.__sseRecorded = [];
  window.__sseOpens = 0;
  window.__sseErrors = 0;
  window.__sseInstances = [];
  class EventSource extends Native {
    constructor(...a) {
      super(...a);
      window.__sseInstances.push(this);
      super.addEventListener('message', (e) =>
        window.__sseRecorded.push({ data: e.data, lastEventId: e.lastEventId }));
      super.addEventListener('open', () => { window.__sseOpens += 1; });
      super.addEventListener('error', () => { window.__sseErrors += 1; });
    }
  }
  window.EventSource = EventSource;
}

// One consistent snapshot (page JS is single-threaded, so it is taken between events).
function snapshot() {
  const ol = document.getElementById('ticks');
  return {
    recorded: window.__sseRecorded ?? null,
    opens: window.__sseOpens, errors: window.__sseErrors,
    readyStates: (window.__sseInstances ?? []).map((es) => es.readyState),
    olTag: ol ? ol.tagName : null,
    items: ol ? [...ol.querySelectorAll(':scope > li')].map((li) => li.textContent) : null,
    messages: Array.isArray(window.sseMessages) ? window.sseMessages : typeof window.sseMessages,
    openCount: window.sseOpenCount,
  };
}

// Everything that must hold once the wait is over; returns failure reasons.
function check(s) {
  const bad = [];
  if (!s.recorded) return ['EventSource recorder missing (init script did not run?)'];
  s.recorded.forEach((r, i) => {
    if (r.data === '') bad.push(`message #${i} has EMPTY data: a heartbeat was delivered as a message (it must be a ':' comment line)`);
  });
  if (s.recorded.length < TICKS) bad.push(`only ${s.recorded.length} of ${TICKS} messages arrived within ${TIMEOUT} ms`);
  const data = JSON.stringify(s.recorded.map((r) => r.data));
  if (s.olTag !== 'OL') bad.push(`page contract: no <ol id="ticks"> (found ${s.olTag})`);
  else if (JSON.stringify(s.items) !== data) bad.push(`page contract: <ol id="ticks"> items ${JSON.stringify(s.items)} != received ${data}`);
  if (!Array.isArray(s.messages)) bad.push(`page contract: window.sseMessages is ${s.messages}, not an array`);
  else if (JSON.stringify(s.messages) !== data) bad.push(`page contract: window.sseMessages ${JSON.stringify(s.messages)} != received ${data}`);
  if (typeof s.openCount !== 'number' || s.openCount < 1) bad.push(`page contract: window.sseOpenCount is ${s.openCount}, expected a number >= 1`);
  else if (s.openCount !== s.opens) bad.push(`page contract: window.sseOpenCount ${s.openCount} != open events ${s.opens}`);
  return bad;
}

// --- run -----------------------------------------------------------------------------------
const profile = mkdtempSync(join(tmpdir(), 'sse-chromium-'));
const removeProfile = () => {
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
};
let context, closing, hardHit = false;
// Close once (memoized: the hard timeout and the normal path may both call it), bounded;
// if the browser will not close, process exit lets playwright kill it.
const cleanup = () => closing ??= (async () => {
  if (context) await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  removeProfile();
})();
const hard = setTimeout(() => {
  hardHit = true;
  console.error(`FAIL: hard timeout (${TIMEOUT + 30000} ms) reached; aborting`);
  cleanup().finally(() => process.exit(2));
}, TIMEOUT + 30000);

// Reject if `promise` takes longer than `ms` (a stuck page must not hang the run).
const within = (ms, what, promise) => Promise.race([promise, new Promise((_, no) =>
  setTimeout(() => no(new Error(`page unresponsive: ${what} took > ${ms} ms`)), ms).unref())]);

const problems = []; // page errors / console errors, reported on failure
let code = 1;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30000,
  });
  // Registered after launch, so it runs after playwright's own exit hook kills the browser.
  process.on('exit', removeProfile);
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { // (the favicon 404 is noise, not a problem)
    if (m.type() === 'error' && !/favicon\.ico$/.test(m.location().url)) problems.push(`console error: ${m.text()}`);
  });
  await page.addInitScript(recorder);

  const resp = await page.goto(url, { timeout: TIMEOUT, waitUntil: 'domcontentloaded' });
  if (!resp || !resp.ok()) throw new Error(`GET ${url} -> ${resp ? resp.status() : 'no response'}`);

  // Poll until N messages (recorded and on the page) or an empty message, or timeout.
  // (A hung renderer can outlive playwright's own timeout, hence the outer bound.)
  await within(TIMEOUT + 5000, 'waiting for messages', page.waitForFunction((n) => {
    const rec = window.__sseRecorded ?? [];
    return rec.some((r) => r.data === '') ||
      (rec.length >= n && Array.isArray(window.sseMessages) && window.sseMessages.length >= n);
  }, TICKS, { timeout: TIMEOUT, polling: 100 }).catch((e) => {
    if (!/Timeout/i.test(String(e))) throw e; // a timeout is reported by check() below
  }));

  const s = await within(5000, 'taking the snapshot', page.evaluate(snapshot));
  const bad = check(s);
  if (bad.length) {
    console.error(`FAIL: ${url}\n  - ${bad.join('\n  - ')}`);
    console.error(`  (open events: ${s.opens}, error events: ${s.errors}, readyState: ${JSON.stringify(s.readyStates)})`);
    for (const p of problems) console.error(`  ${p}`);
  } else {
    console.log(JSON.stringify({ ok: true, messages: s.recorded.map((r) => r.data), opens: s.openCount }));
    code = 0;
  }
} catch (e) {
  console.error(`FAIL: ${url}: ${e.message ?? e}`);
  for (const p of problems) console.error(`  ${p}`);
} finally {
  await cleanup();
  clearTimeout(hard);
}
process.exit(hardHit ? 2 : code);
