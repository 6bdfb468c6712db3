#!/usr/bin/env node
/*
 * dashboard_browser.js — drives the live pages of caviar dashboard in headless Chromium through
 * a script of steps: open a page, wait until its self-check (the JSON of pre#caviar-check, see
 * src/report/report_page.js) says something, write it to a file, run a command meanwhile (add
 * trials to the study), zoom, sort, filter and type as a reader would, check that the view
 * survives the next live redraw, take screenshots. Every request the page makes is recorded and
 * must go to the dashboard's own origin (the origin of the pages opened).
 *
 *   node dashboard_browser.js CHROMIUM SCRIPT.json
 *   node dashboard_browser.js CHROMIUM STEP...
 *
 * SCRIPT.json is an array of steps; on the command line each STEP is a step's JSON object or a
 * shorthand "op=argument" (or a bare "op"):
 *   {"open": URL}                   navigate to URL (http://...); the origins of the URLs opened
 *                                   are the only ones the page may fetch from
 *   {"wait": COND, "timeout": MS}   poll the self-check every 200 ms until COND holds (default
 *                                   timeout 30 s): a JavaScript expression over check (the
 *                                   self-check), mark (check.live when "mark" last ran), page
 *                                   (the last "snapshot"), json(PATH) (a JSON file, read now); or
 *                                   a name: "study" (drawn with its table), "index" (the list of
 *                                   studies drawn)
 *   {"write": PATH}                 the self-check as it is now, with "requests" (each URL the
 *                                   page fetched besides its own address, once),
 *                                   "request_count", "browser_seconds", "console" (errors and
 *                                   warnings the page logged) and "page" (a fresh snapshot)
 *   {"shot": PATH}                  a PNG of the whole page (the viewport stretched to it)
 *   {"sh": COMMAND}                 /bin/sh -c COMMAND (the page keeps running); must exit 0
 *   {"mark": true}                  mark = check.live now (renders, polls, not_modified),
 *                                   and mark.page = a snapshot (below) of the page now
 *   {"sleep": MS}
 *   {"snapshot": true}              page = the reader's view read from the DOM and ECharts:
 *                                   {zoom: {CHART_ID: [{start, end}...]}, active (the focused
 *                                   element's id), search (#trials-search's value), selection,
 *                                   state (#trials-state's value), sorted: {column, desc},
 *                                   scrollY, title, status (the live bar's text)}
 *   {"assert": COND}                COND (as for wait) must hold now (takes a snapshot first)
 *   {"zoom": "CHART_ID:START:END"}  dispatchAction dataZoom on that chart (percentages)
 *   {"click": "SELECTOR[|TEXT]"}    a real mouse click on the first element matching SELECTOR
 *                                   (whose text is TEXT, when given)
 *   {"type": "SELECTOR|TEXT"}       click into the element and type TEXT (Input.insertText)
 *   {"select": "SELECTOR|VALUE"}    set a <select>'s value and fire its change event
 *   {"eval": JS}                    evaluate JS in the page (its value is printed)
 * Shorthand: open=URL, wait=COND, write=PATH, shot=PATH, sh=COMMAND, mark, sleep=MS, snapshot,
 * assert=COND, zoom=ID:START:END, click=SEL|TEXT, type=SEL|TEXT, select=SEL|VALUE, eval=JS.
 *
 * Throughout, the page fails the run when its self-check reports a script error
 * (check.errors), when it fetches from another origin, when it logs a Content-Security-Policy
 * violation, or when a response it gets is an HTTP error (4xx/5xx, /favicon.ico aside).
 * The whole script may take DASHBOARD_BROWSER_TIMEOUT milliseconds (default 180000; checked
 * between steps). Exit status: 0 every step done, 1 a step failed or timed out (the self-check
 * so far is printed), 2 usage.
 */
'use strict';
const fs = require('fs');
const {spawn} = require('child_process');
const {launch, sleep} = require('./cdp_pipe');

function usage() {
  process.stderr.write('usage: dashboard_browser.js CHROMIUM SCRIPT.json | CHROMIUM STEP...\n');
  process.exit(2);
}
const [chromium, ...stepArgs] = process.argv.slice(2);
if (!chromium || !stepArgs.length) usage();

/* ---- the script ---------------------------------------------------------------------------- */

function parseStep(text) {
  if (text.trim().startsWith('{')) return JSON.parse(text);
  const at = text.indexOf('=');
  const op = at < 0 ? text : text.slice(0, at);
  const arg = at < 0 ? true : text.slice(at + 1);
  return {[op]: op === 'sleep' ? Number(arg) : arg};
}
let steps;
try {
  if (stepArgs.length === 1 && /\.json$/.test(stepArgs[0]) && fs.existsSync(stepArgs[0]))
    steps = JSON.parse(fs.readFileSync(stepArgs[0], 'utf8'));
  else
    steps = stepArgs.map(parseStep);
} catch (e) {
  process.stderr.write('dashboard_browser: cannot read the steps: ' + e.message + '\n');
  usage();
}
const OPS = ['open', 'wait', 'write', 'shot', 'sh', 'mark', 'sleep', 'snapshot', 'assert', 'zoom',
             'click', 'type', 'select', 'eval'];
if (!Array.isArray(steps)) usage();
for (const s of steps) {
  const op = s && OPS.find((o) => o in s);
  if (!op) {
    process.stderr.write('dashboard_browser: unknown step ' + JSON.stringify(s) + '\n');
    usage();
  }
}
const TIMEOUT_MS = Number(process.env.DASHBOARD_BROWSER_TIMEOUT || 180000);
const NAMED = {
  study: 'check.done && !!check.table && !!check.live && check.live.renders >= 1',
  index: 'check.done && !!check.index && !!check.live && check.live.renders >= 1'
};

/* ---- Chromium over the DevTools pipe (cdp_pipe.js) ------------------------------------------ */

const requests = [];        /* every URL the page asked for, in order */
const httpErrors = [];      /* responses of status >= 400 */
const consoleLog = [];      /* errors and warnings the page logged */
const cdp = launch(chromium, 'dashboard_browser', (msg) => {
  if (msg.method === 'Network.requestWillBeSent') requests.push(msg.params.request.url);
  if (msg.method === 'Network.responseReceived' && msg.params.response.status >= 400 &&
      !/\/favicon\.ico$/.test(msg.params.response.url))
    httpErrors.push(msg.params.response.status + ' ' + msg.params.response.url);
  if (msg.method === 'Log.entryAdded' && /error|warning/.test(msg.params.entry.level))
    consoleLog.push(msg.params.entry.level + ': ' + msg.params.entry.text);
  if (msg.method === 'Runtime.consoleAPICalled' && /error|warn/.test(msg.params.type))
    consoleLog.push(msg.params.type + ': ' + msg.params.args.map((a) =>
      a.value !== undefined ? String(a.value) : a.description || a.type).join(' '));
  if (msg.method === 'Runtime.exceptionThrown')
    consoleLog.push('exception: ' + (msg.params.exceptionDetails.exception &&
      msg.params.exceptionDetails.exception.description || msg.params.exceptionDetails.text));
});
let sessionId = null;
/* A command to the page's session, or with toBrowser to the browser itself. */
function send(method, params, toBrowser) {
  return cdp.send(method, params, toBrowser ? null : sessionId);
}

/* ---- the page ------------------------------------------------------------------------------ */

async function evaluate(expression) {
  const r = await send('Runtime.evaluate', {expression, returnByValue: true, awaitPromise: true});
  if (r.exceptionDetails)
    throw new Error('in the page: ' + (r.exceptionDetails.exception &&
      r.exceptionDetails.exception.description || r.exceptionDetails.text));
  return r.result ? r.result.value : undefined;
}

let check = null, checkText = '';
async function readCheck() {
  checkText = await evaluate('(function () { var p = document.getElementById("caviar-check");' +
                             ' return p ? p.textContent : ""; })()') || '';
  try { check = checkText ? JSON.parse(checkText) : null; } catch (e) { /* being written */ }
  return check;
}

const SNAPSHOT = `(function () {
  var out = {zoom: {}, win: {}, title: document.title, scrollY: window.scrollY,
             active: document.activeElement && document.activeElement.id || null,
             search: null, selection: null, state: null, sorted: null, status: null};
  if (window.echarts) document.querySelectorAll('.chart').forEach(function (d) {
    var c = echarts.getInstanceByDom(d);
    if (!c) return;
    var o = c.getOption();
    if (o.dataZoom && o.dataZoom.length)
      out.zoom[d.id] = o.dataZoom.map(function (z) { return {start: z.start, end: z.end}; });
    /* the window a cartesian chart shows, in values (ECharts' model) */
    try {
      if (o.xAxis && o.xAxis.length === 1 && o.yAxis && o.yAxis.length === 1) {
        var m = c.getModel(), w = {};
        ['x', 'y'].forEach(function (dim) {
          /* in values, also on a log axis */
          w[dim] = m.getComponent(dim + 'Axis', 0).axis.scale.getExtent().slice();
        });
        out.win[d.id] = w;
      }
    } catch (e) { /* not a cartesian chart */ }
  });
  var s = document.getElementById('trials-search');
  if (s) { out.search = s.value; out.selection = [s.selectionStart, s.selectionEnd]; }
  var st = document.getElementById('trials-state');
  if (st) out.state = st.value;
  var th = document.querySelector('#trials-table th.sorted-asc, #trials-table th.sorted-desc');
  if (th) out.sorted = {column: th.textContent, desc: th.classList.contains('sorted-desc')};
  var bar = document.getElementById('live-status');
  if (bar) out.status = bar.textContent;
  return out;
})()`;

/* The origins the page may fetch from: those of the pages opened. */
const origins = new Set();
let firstOpen = 0, pageUrls = new Set();
function originOf(u) { try { return new URL(u).origin; } catch (e) { return null; } }
function foreignRequests() {
  return [...new Set(requests)].filter((u) => !/^(data|blob|about):/.test(u) && !origins.has(originOf(u)));
}

/* Whatever fails the page at any moment: a script error, a foreign fetch, a CSP violation, an
 * HTTP error. */
function pageTrouble() {
  if (check && check.errors && check.errors.length)
    return 'the page reported script errors: ' + JSON.stringify(check.errors);
  const foreign = foreignRequests();
  if (foreign.length) return 'the page fetched from another origin: ' + JSON.stringify(foreign);
  const csp = consoleLog.filter((m) => /Content Security Policy|Refused to/i.test(m));
  if (csp.length) return 'Content-Security-Policy violations: ' + JSON.stringify(csp);
  if (httpErrors.length) return 'HTTP errors: ' + JSON.stringify(httpErrors);
  return null;
}

let mark = {}, page = {};
function json(p) { return JSON.parse(fs.readFileSync(p, 'utf8')); }
function holds(cond) {
  const expr = NAMED[cond] || cond;
  /* eslint-disable-next-line no-new-func */
  const f = new Function('check', 'mark', 'page', 'json', 'return (' + expr + ');');
  if (!check) return false;
  try { return !!f(check, mark, page, json); } catch (e) { return false; }
}

/* The centre of the first element matching sel (with that text), scrolled into view. */
async function centreOf(sel, text) {
  const r = await evaluate(`(function () {
    var want = ${JSON.stringify(text === undefined ? null : text)};
    var all = document.querySelectorAll(${JSON.stringify(sel)});
    for (var i = 0; i < all.length; i++) {
      var e = all[i];
      if (want !== null && e.textContent.trim() !== want) continue;
      e.scrollIntoView({block: 'center', inline: 'center'});
      var b = e.getBoundingClientRect();
      return {x: b.left + b.width / 2, y: b.top + b.height / 2};
    }
    return null;
  })()`);
  if (!r) throw new Error('no element ' + sel + (text !== undefined ? ' with text "' + text + '"' : ''));
  return r;
}
async function mouseClick(sel, text) {
  const {x, y} = await centreOf(sel, text);
  await send('Input.dispatchMouseEvent', {type: 'mouseMoved', x, y});
  await send('Input.dispatchMouseEvent', {type: 'mousePressed', x, y, button: 'left', clickCount: 1});
  await send('Input.dispatchMouseEvent', {type: 'mouseReleased', x, y, button: 'left', clickCount: 1});
}
function splitArg(arg) {
  const at = arg.indexOf('|');
  return at < 0 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
}

async function screenshot(file) {
  const m = await send('Page.getLayoutMetrics');
  const size = m.cssContentSize || m.contentSize;
  const height = Math.min(Math.ceil(size.height), 16000);
  await send('Emulation.setDeviceMetricsOverride',
             {width: 1300, height, deviceScaleFactor: 1, mobile: false});
  await sleep(1200); /* the charts resize and redraw */
  const shot = await send('Page.captureScreenshot', {format: 'png'});
  fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
  await send('Emulation.clearDeviceMetricsOverride');
  await sleep(300);
}

function runShell(cmd) {
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', cmd], {stdio: ['ignore', 'inherit', 'inherit']});
    p.on('error', reject);
    p.on('exit', (code, sig) => code === 0 ? resolve()
      : reject(new Error('"' + cmd + '" exited ' + (sig || code))));
  });
}

const t0 = Date.now();
async function runStep(step) {
  const op = OPS.find((o) => o in step);
  const arg = step[op];
  const say = (text) => process.stderr.write('dashboard_browser: ' + op + ' ' + text + '\n');
  switch (op) {
  case 'open': {
    const u = new URL(arg);
    if (!/^https?:$/.test(u.protocol)) throw new Error('open: not an http:// URL: ' + arg);
    origins.add(u.origin);
    pageUrls.add(u.href.split('#')[0]);
    check = null;
    checkText = '';
    firstOpen = firstOpen || Date.now();
    await send('Page.navigate', {url: u.href});
    say(u.href);
    return;
  }
  case 'wait': {
    const limit = Date.now() + (step.timeout || 30000);
    const start = Date.now();
    for (;;) {
      await readCheck();
      const trouble = pageTrouble();
      if (trouble) throw new Error(trouble);
      if (holds(arg)) break;
      if (Date.now() > limit) throw new Error('timed out after ' + (step.timeout || 30000) +
                                               ' ms waiting for ' + arg);
      await sleep(200);
    }
    say(arg + ' (' + ((Date.now() - start) / 1000).toFixed(1) + ' s)');
    return;
  }
  case 'write': {
    await readCheck();
    page = await evaluate(SNAPSHOT);
    const out = Object.assign({}, check);
    out.browser_seconds = (Date.now() - firstOpen) / 1000;
    out.requests = [...new Set(requests)].filter((u) => !pageUrls.has(u.split('#')[0]) &&
                                                        !/^(data|blob|about):/.test(u));
    out.request_count = requests.length;
    out.console = consoleLog.slice();
    out.page = page;
    fs.writeFileSync(arg, JSON.stringify(out, null, 1) + '\n');
    say(arg);
    return;
  }
  case 'shot': await screenshot(arg); say(arg); return;
  case 'sh': say(arg); await runShell(arg); return;
  case 'mark':
    await readCheck();
    mark = Object.assign({}, check && check.live, {page: await evaluate(SNAPSHOT)});
    say(JSON.stringify(check && check.live));
    return;
  case 'sleep': await sleep(Number(arg)); return;
  case 'snapshot': page = await evaluate(SNAPSHOT); say(JSON.stringify(page)); return;
  case 'assert':
    await readCheck();
    page = await evaluate(SNAPSHOT);
    if (!holds(arg))
      throw new Error('does not hold: ' + arg + '\n  page: ' + JSON.stringify(page) +
                      '\n  table: ' + JSON.stringify(check && check.table) +
                      '\n  live: ' + JSON.stringify(check && check.live));
    say(arg);
    return;
  case 'zoom': {
    const [id, start, end] = String(arg).split(':');
    await evaluate(`echarts.getInstanceByDom(document.getElementById(${JSON.stringify(id)}))` +
                   `.dispatchAction({type: 'dataZoom', start: ${Number(start)}, end: ${Number(end)}})`);
    say(arg);
    return;
  }
  case 'click': { const [sel, text] = splitArg(arg); await mouseClick(sel, text); say(arg); return; }
  case 'type': {
    const [sel, text] = splitArg(arg);
    await mouseClick(sel);
    await send('Input.insertText', {text: text || ''});
    say(arg);
    return;
  }
  case 'select': {
    const [sel, value] = splitArg(arg);
    await evaluate(`(function () { var s = document.querySelector(${JSON.stringify(sel)});
      s.value = ${JSON.stringify(value || '')};
      s.dispatchEvent(new Event('change', {bubbles: true})); })()`);
    say(arg);
    return;
  }
  case 'eval': say(arg + ' = ' + JSON.stringify(await evaluate(arg))); return;
  }
}

(async () => {
  const {targetInfos} = await send('Target.getTargets', {}, true);
  const target = targetInfos.find((t) => t.type === 'page');
  ({sessionId} = await send('Target.attachToTarget', {targetId: target.targetId, flatten: true}, true));
  await send('Page.enable');
  await send('Runtime.enable');
  await send('Network.enable');
  await send('Log.enable');
  for (let k = 0; k < steps.length; k++) {
    if (Date.now() - t0 > TIMEOUT_MS)
      throw new Error('the script took longer than ' + TIMEOUT_MS + ' ms');
    try {
      await runStep(steps[k]);
    } catch (e) {
      e.message = 'step ' + (k + 1) + ' ' + JSON.stringify(steps[k]) + ': ' + e.message;
      throw e;
    }
  }
  await readCheck();
  const trouble = pageTrouble();
  if (trouble) throw new Error(trouble);
  process.stderr.write('dashboard_browser: ' + steps.length + ' steps in ' +
                       ((Date.now() - t0) / 1000).toFixed(1) + ' s; ' + requests.length +
                       ' requests, all to ' + [...origins].join(', ') + '\n');
  return cdp.close(0);
})().catch((e) => {
  process.stderr.write('dashboard_browser: ' + e.message + '\n' +
                       (checkText ? '  the self-check: ' + checkText.slice(0, 3000) + '\n' : '') +
                       (consoleLog.length ? '  console: ' + consoleLog.slice(-10).join('\n    ') + '\n' : ''));
  cdp.close(1);
});
