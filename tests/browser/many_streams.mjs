#!/usr/bin/env node
// How many of N EventSources on one page get events? Over HTTP/2 all of them share one
// connection; over HTTP/1.1 Chromium opens at most 6 connections per origin, and each
// open event stream holds one.
//
//   bash scripts/setup-browser.sh      # once: /usr/bin/chromium + .tools/node/playwright-core
//   node tests/browser/many_streams.mjs <page-url> [--streams N] [--wait-ms T]
//
// Loads <page-url> (the clock page, which opens one EventSource of its own), asks
// `/version` which HTTP version the server saw, then opens N (default 10)
// `new EventSource('/events')` and waits T ms (default 3000). Prints one JSON line:
// {"version":"HTTP/2.0","counts":[messages per EventSource, ...]}. Certificate errors are
// ignored (the test's certificate is made at test time). Exit 1 on failure; the browser is
// always closed, and the whole run is capped at T + 30 s.
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
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--ignore-certificate-errors'];

const opts = { streams: 10, 'wait-ms': 3000 };
let url;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const m = /^--(streams|wait-ms)$/.exec(a);
  if (m) opts[m[1]] = Number(process.argv[++i]);
  else if (url === undefined) url = a;
}
if (!url || !Number.isInteger(opts.streams) || !Number.isInteger(opts['wait-ms'])) {
  console.error('usage: node tests/browser/many_streams.mjs <page-url> [--streams N] [--wait-ms T]');
  process.exit(1);
}

let chromium;
try {
  ({ chromium } = createRequire(join(ROOT, '.tools', 'node', 'noop.js'))('playwright-core'));
} catch {
  console.error('playwright-core not found in .tools/node: run `bash scripts/setup-browser.sh` first');
  process.exit(1);
}

const hardStop = setTimeout(() => {
  console.error('many_streams: overall timeout');
  process.exit(2);
}, opts['wait-ms'] + 30000);

// A fresh profile for every run.
const profile = mkdtempSync(join(tmpdir(), 'sse-many-streams-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ignoreHTTPSErrors: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url, { waitUntil: 'load' });
  const result = await page.evaluate(async ({ streams, waitMs }) => {
    // Before the streams take the connections.
    const version = await (await fetch('/version')).text();
    const counts = new Array(streams).fill(0);
    const sources = [];
    for (let i = 0; i < streams; i++) {
      const source = new EventSource('/events');
      source.onmessage = () => { counts[i] += 1; };
      sources.push(source);
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    for (const source of sources) source.close();
    return { version, counts };
  }, { streams: opts.streams, waitMs: opts['wait-ms'] });
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`many_streams: ${error.stack || error}`);
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
  clearTimeout(hardStop);
}
