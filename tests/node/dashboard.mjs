// The dashboard in a real browser: Debian's headless Chromium driven by
// puppeteer-core (pinned in tests/peers/package-lock.json; it downloads
// nothing and uses the system browser).
//
//   node dashboard.mjs CAF_MCP_BIN OUT_DIR [CHROMIUM]
//
// Starts three demo servers (separate processes, each sending log lines on
// its own rhythm) and a node holding them, opens the page and checks:
//   1. every card appears with the state healthy and the stream is live;
//   2. the log pane shows a log line a server sent;
//   3. SIGKILL of one server turns its card to down within 5 s, and the
//      server started again on the same port turns it back to healthy, with
//      no reload of the page;
//   4. a tool called from the form shows its progress and its result;
//   5. the node stopped and started again: the page says "reconnecting",
//      then "live" again by itself, cards healthy, no reload;
//   6. at a phone's width nothing overflows sideways;
//   7. a node with a token: the page asks for it, then shows the cards; the
//      token is in no URL the page requests;
//   8. the node on its embedded default (what ./deploy/run starts, no
//      config) shows its three streams healthy and their log lines;
//   9. no console errors or warnings, no uncaught exceptions, no failed
//      requests (except requests to the node while it is deliberately down).
// Saves OUT_DIR/dashboard.png (the page after the call) and
// OUT_DIR/dashboard-phone.png. Exit 0 if every check passed, 1 if one
// failed or no Chromium is installed. Every wait is bounded; loopback
// addresses only.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../peers/package.json'));
const puppeteer = require('puppeteer-core');

const [bin, outDir, chromiumArg] = process.argv.slice(2);
if (!bin || !outDir) {
  console.log('usage: node dashboard.mjs CAF_MCP_BIN OUT_DIR [CHROMIUM]');
  process.exit(2);
}
const chromium = chromiumArg
  || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(fs.existsSync);
if (!chromium) {
  // Fails, never skips: ./deploy/test installs it (deploy/packages.txt).
  console.log('FAIL no chromium: apt-get install chromium');
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-'));

// -- results ----------------------------------------------------------------

let passed = 0;
let failed = 0;
function ok(what) {
  passed++;
  console.log(`ok   ${what}`);
}
function bad(what) {
  failed++;
  console.log(`FAIL ${what}`);
}
function check(cond, what) {
  cond ? ok(what) : bad(what);
  return cond;
}

// -- processes --------------------------------------------------------------

const children = new Set();
function start(args, name) {
  const out = fs.openSync(path.join(tmp, `${name}.out`), 'w');
  const child = spawn(bin, args, { stdio: ['ignore', out, out] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function stopAll() {
  for (const c of children) c.kill('SIGKILL');
}
process.on('exit', () => {
  stopAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Polls `fn` every 50 ms until it returns a truthy value or `ms` pass.
async function until(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= end) return null;
    await sleep(50);
  }
}

function readFile(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/// A demo server on `port` (0: any); resolves its port.
async function startServer(name, flavour, port) {
  const portFile = path.join(tmp, `${name}.port`);
  fs.rmSync(portFile, { force: true });
  const child = start(['demo-server', '--host', '127.0.0.1', '--port',
    String(port), '--port-file', portFile, '--notify', `${flavour}:300`],
  name);
  const got = await until(() => {
    const t = readFile(portFile).trim();
    return t ? Number(t) : 0;
  }, 10000);
  if (!got) throw new Error(`${name} did not start: ${readFile(path.join(tmp, `${name}.out`))}`);
  return { child, port: got };
}

async function stopChild(child, signal) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await Promise.race([gone, sleep(10000)]);
}

/// A node with `config`; resolves its URL.
async function startNode(name, config, listen) {
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  const child = start(['node', '--config', file, '--listen', listen], name);
  const out = path.join(tmp, `${name}.out`);
  const url = await until(() => {
    const m = readFile(out).match(/listening on (http:\/\/\S+)/);
    return m ? m[1] : null;
  }, 10000);
  if (!url) throw new Error(`node ${name} did not start: ${readFile(out)}`);
  return { child, url };
}

// -- the run ----------------------------------------------------------------

const names = ['alerts_stream', 'logs_stream', 'metrics_stream'];
const flavours = { alerts_stream: 'alerts', logs_stream: 'logs',
  metrics_stream: 'metrics' };
const servers = {};
let browser;

function configFor(token) {
  const mcpServers = {};
  for (const n of names) {
    mcpServers[n] = { url: `http://127.0.0.1:${servers[n].port}/sse`,
      description: `the ${flavours[n]} server` };
  }
  const node = { name: 'browser-test', drain_timeout_s: 1 };
  if (token) node.token = token;
  return { node, mcpServers };
}

/// Console messages, page errors and failed requests, with the phase they
/// happened in.
const problems = [];
let phase = 'start';

function watch(page) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn' || m.type() === 'warning')
      problems.push({ phase, what: `console ${m.type()}: ${m.text()}` });
  });
  page.on('pageerror', (e) => problems.push({ phase, what: `page error: ${e.message}` }));
  page.on('requestfailed', (r) => {
    // The event stream is aborted by the browser when the page goes away.
    if (phase === 'closing') return;
    problems.push({ phase, what: `request failed: ${r.url()} ${r.failure()?.errorText}` });
  });
}

const cardState = (page, name) => page.$eval(`article.card[data-server="${name}"]`,
  (e) => e.getAttribute('data-state')).catch(() => null);
const fieldText = (page, name, field) => page.$eval(
  `article.card[data-server="${name}"] [data-field="${field}"]`,
  (e) => e.textContent.trim()).catch(() => null);

async function allHealthy(page, ms) {
  return until(async () => {
    for (const n of names) {
      if (await cardState(page, n) !== 'healthy') return false;
      if (await fieldText(page, n, 'state') !== 'healthy') return false;
    }
    return true;
  }, ms);
}

async function main() {
  for (const n of names) servers[n] = await startServer(n, flavours[n], 0);
  const listen = '127.0.0.1:0';
  let node = await startNode('node', configFor(null), listen);
  const nodePort = new URL(node.url).port;

  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--no-default-browser-check'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  watch(page);
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  // 1. Cards.
  phase = 'load';
  const res = await page.goto(node.url, { waitUntil: 'load', timeout: 15000 });
  check(res && res.status() === 200, 'GET / answers 200');
  const csp = res ? res.headers()['content-security-policy'] || '' : '';
  check(csp.includes("script-src 'self'"), 'the page comes with its Content-Security-Policy');
  check(await until(() => page.$eval('#status', (e) => e.getAttribute('data-state'))
    .then((s) => s === 'live').catch(() => false), 10000), 'the event stream is live');
  check(await allHealthy(page, 15000), 'three cards, each healthy (colour class and word)');
  const count = await page.$$eval('article.card', (l) => l.length);
  check(count === 3, `exactly three cards (${count})`);
  check(await until(() => page.$eval('article.card[data-server="metrics_stream"] details.tools li[data-tool="slow"]',
    () => true).catch(() => false), 10000), 'a card lists its tools (slow)');
  check(await until(() => page.$eval('article.card[data-server="metrics_stream"] svg.plot',
    () => true).catch(() => false), 5000), 'a card has its plot');

  // 2. Log pane.
  phase = 'log';
  const logLine = await until(() => page.$eval('#log li.log-entry[data-kind="log"][data-server="logs_stream"]',
    (e) => e.textContent).catch(() => null), 10000);
  check(!!logLine, `the log pane shows a line from logs_stream (${(logLine || '').slice(0, 80)})`);

  // 3. Kill one server, then start it again on the same port.
  phase = 'kill';
  const victim = 'logs_stream';
  const killedAt = Date.now();
  await stopChild(servers[victim].child, 'SIGKILL');
  const down = await until(async () => (await cardState(page, victim)) === 'down', 5000);
  const downMs = Date.now() - killedAt;
  check(!!down && await fieldText(page, victim, 'state') === 'down',
    `SIGKILL of ${victim}: its card says down within 5 s (${downMs} ms)`);
  check(await cardState(page, 'metrics_stream') === 'healthy', 'the other cards stay healthy');
  const downLogged = await until(() => page.$eval(`#log li.log-entry[data-kind="state"][data-server="${victim}"]`,
    () => true).catch(() => false), 3000);
  check(!!downLogged, 'the state change is in the log pane');
  phase = 'restart';
  servers[victim] = await startServer(victim, flavours[victim], servers[victim].port);
  const backAt = Date.now();
  const healthy = await until(async () => (await cardState(page, victim)) === 'healthy', 20000);
  check(!!healthy, `started again: healthy within ${Date.now() - backAt} ms, no reload`);

  // 4. A call from the form.
  phase = 'call';
  await page.select('#call-server', 'metrics_stream');
  await until(() => page.$eval('#call-tool', (s) => [...s.options].some((o) => o.value === 'slow'))
    .catch(() => false), 5000);
  await page.select('#call-tool', 'slow');
  await page.$eval('#call-args', (t) => { t.value = ''; });
  await page.type('#call-args', '{"ms": 1500}');
  await page.click('#call-submit');
  const running = await until(() => page.$eval('#call-result', (e) => e.getAttribute('data-status'))
    .then((s) => s === 'running').catch(() => false), 3000);
  check(!!running, 'the call is shown running');
  const updates = await until(() => page.$eval('#call-progress', (e) => Number(e.getAttribute('data-updates') || 0))
    .then((n) => (n >= 2 ? n : 0)).catch(() => 0), 5000);
  check(updates >= 2, `the progress bar moves while the call runs (${updates} updates seen)`);
  const done = await until(() => page.$eval('#call-result', (e) => [e.getAttribute('data-status'), e.textContent])
    .then(([s, t]) => (s !== 'running' ? [s, t] : null)).catch(() => null), 10000);
  check(!!done && done[0] === 'ok' && done[1].includes('slept 1500 ms'),
    `the result is shown (${done ? `${done[0]}: ${done[1].trim().slice(0, 60)}` : 'none'})`);
  const duration = await page.$eval('#call-duration', (e) => e.textContent.trim()).catch(() => '');
  check(/\d/.test(duration), `with its duration (${duration})`);
  // A tool that answers isError is marked so.
  await page.select('#call-tool', 'fail');
  await page.$eval('#call-args', (t) => { t.value = '{"message":"no luck"}'; });
  await page.click('#call-submit');
  const failDone = await until(() => page.$eval('#call-result', (e) => e.getAttribute('data-status'))
    .then((s) => (s !== 'running' ? s : null)).catch(() => null), 10000);
  check(failDone === 'is_error', `isError is marked (${failDone})`);
  // Bad JSON is refused in the page, nothing sent.
  await page.$eval('#call-args', (t) => { t.value = '{"ms": '; });
  await page.click('#call-submit');
  const badJson = await until(() => page.$eval('#call-result', (e) => e.getAttribute('data-status'))
    .then((s) => (s === 'error' ? s : null)).catch(() => null), 3000);
  check(badJson === 'error', 'arguments that are not JSON are refused with an error');
  // Back to the good result for the screenshot.
  await page.select('#call-tool', 'echo');
  await page.$eval('#call-args', (t) => { t.value = '{"text":"hello from the browser test"}'; });
  await page.click('#call-submit');
  await until(() => page.$eval('#call-result', (e) => e.getAttribute('data-status'))
    .then((s) => s === 'ok').catch(() => false), 10000);
  // The health monitor pings every 15 s: the round trip appears then.
  const rtt = await until(async () => {
    const t = await fieldText(page, 'metrics_stream', 'rtt');
    return t && /\d/.test(t) ? t : null;
  }, 20000);
  check(!!rtt, `a card shows its round-trip time once pinged (${rtt})`);
  await page.screenshot({ path: path.join(outDir, 'dashboard.png'), fullPage: true });
  ok(`screenshot: ${path.join(outDir, 'dashboard.png')}`);

  // 5. The node goes away and comes back on the same port.
  phase = 'node-down';
  await stopChild(node.child, 'SIGTERM');
  const reconnecting = await until(() => page.$eval('#status', (e) => e.getAttribute('data-state'))
    .then((s) => s === 'reconnecting').catch(() => false), 5000);
  check(!!reconnecting, 'node stopped: the page says reconnecting');
  node = await startNode('node2', configFor(null), `127.0.0.1:${nodePort}`);
  const live = await until(() => page.$eval('#status', (e) => e.getAttribute('data-state'))
    .then((s) => s === 'live').catch(() => false), 15000);
  phase = 'node-back';
  check(!!live, 'node started again: the page is live again by itself');
  check(await allHealthy(page, 15000), 'and its cards are healthy');
  check(navigations === 1, `no reload happened (${navigations} navigation)`);

  // 6. Phone width.
  phase = 'phone';
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await sleep(300); // layout settles; the check below reads the result
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `nothing overflows at 390 px (${overflow} px)`);
  await page.screenshot({ path: path.join(outDir, 'dashboard-phone.png'), fullPage: false });
  // Keyboard: the form's controls are reachable with Tab.
  const focusables = await page.$$eval('select#call-server, select#call-tool, textarea#call-args, button#call-submit',
    (l) => l.filter((e) => e.tabIndex >= 0 && !e.disabled).length);
  check(focusables === 4, `the call form is keyboard-reachable (${focusables}/4)`);
  phase = 'closing';
  await page.close();

  // 7. A node with a token.
  phase = 'token';
  await stopChild(node.child, 'SIGTERM');
  const token = 'browser-test-token-3f9c';
  node = await startNode('node3', configFor(token), `127.0.0.1:${nodePort}`);
  const page2 = await browser.newPage();
  await page2.setViewport({ width: 1280, height: 900 });
  const urls = [];
  page2.on('request', (r) => urls.push(r.url()));
  // The first request without the token answers 401 by design; Chromium
  // reports that as a console error, so only errors after the token count.
  const tokenProblems = [];
  let tokenGiven = false;
  page2.on('console', (m) => {
    if (tokenGiven && (m.type() === 'error' || m.type() === 'warn'))
      tokenProblems.push(m.text());
  });
  page2.on('pageerror', (e) => tokenProblems.push(e.message));
  await page2.goto(node.url, { waitUntil: 'load', timeout: 15000 });
  const asked = await until(() => page2.$eval('#token-dialog', (d) => {
    const r = d.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(d).visibility !== 'hidden';
  }).catch(() => false), 5000);
  check(!!asked, 'a node with a token: the page asks for it');
  await page2.type('#token-input', token);
  tokenGiven = true;
  await page2.click('#token-submit');
  check(await allHealthy(page2, 15000), 'with the token: three healthy cards');
  check(await until(() => page2.$eval('#status', (e) => e.getAttribute('data-state'))
    .then((s) => s === 'live').catch(() => false), 10000), 'with the token: the event stream is live');
  check(urls.length > 0 && !urls.some((u) => u.includes(token)),
    `the token is in none of the ${urls.length} URLs requested`);
  const inDom = await page2.evaluate((t) => document.documentElement.outerHTML.includes(t), token);
  check(!inDom, 'the token is not left in the page');
  check(tokenProblems.length === 0, `no console errors with the token (${tokenProblems.join(' | ')})`);
  phase = 'closing';
  await page2.close();

  // 8. What ./deploy/run starts: the node on its embedded default (no
  // config), the three streams inside the process.
  phase = 'embedded';
  await stopChild(node.child, 'SIGTERM');
  const embeddedChild = start(['node', '--listen', '127.0.0.1:0'], 'embedded');
  const embeddedOut = path.join(tmp, 'embedded.out');
  const embeddedUrl = await until(() => {
    const m = readFile(embeddedOut).match(/listening on (http:\/\/\S+)/);
    return m ? m[1] : null;
  }, 10000);
  check(!!embeddedUrl, 'the embedded default (./deploy/run) listens');
  if (embeddedUrl) {
    const page3 = await browser.newPage();
    watch(page3);
    await page3.goto(embeddedUrl, { waitUntil: 'load', timeout: 15000 });
    check(await allHealthy(page3, 15000), 'the embedded default: metrics_stream, logs_stream, alerts_stream healthy');
    const alert = await until(() => page3.$eval('#log li.log-entry[data-kind="log"][data-server="alerts_stream"]',
      () => true).catch(() => false), 10000);
    check(!!alert, 'the embedded default: the log pane shows alerts_stream\'s lines');
    phase = 'closing';
    await page3.close();
  }
  await stopChild(embeddedChild, 'SIGTERM');

  // 9. Problems.
  const real = problems.filter((p) => !(p.phase === 'node-down'
    && /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|Failed to load resource|ERR_INCOMPLETE_CHUNKED_ENCODING|net::ERR_ABORTED|api\/events/.test(p.what)));
  for (const p of real) console.log(`     [${p.phase}] ${p.what}`);
  check(real.length === 0, `no console errors, page errors or failed requests (${real.length})`);
}

const guard = setTimeout(() => {
  bad('the whole run took longer than 150 s');
  stopAll();
  process.exit(1);
}, 150000);
try {
  await main();
} catch (e) {
  bad(`unexpected: ${e.stack || e}`);
} finally {
  clearTimeout(guard);
  if (browser) await browser.close().catch(() => {});
  stopAll();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
