#!/usr/bin/env node
/*
 * report_browser.js — opens a caviar report in headless Chromium, waits until the page says
 * every chart has finished drawing, and writes what the page's self-check holds (the JSON of
 * its hidden pre#caviar-check: each chart's series as ECharts holds them, the table's rows,
 * script errors), the URLs the page fetched besides itself ("requests") and, if asked, a
 * screenshot of the whole page.
 *
 *   node report_browser.js CHROMIUM REPORT.html[#fragment] CHECK.json [SHOT.png]
 *
 * Why not `chromium --dump-dom --virtual-time-budget`: under virtual time Chromium runs timers
 * but no animation frames, and ECharts draws in animation frames, so a dump cannot tell a
 * drawn chart from one that never drew. Here the page runs in real time and Chromium is
 * driven over the DevTools protocol on a pipe (cdp_pipe.js), which needs nothing but node.
 * Exit status: 0 done, 1 the page never finished or reported a script error (the check so
 * far is still written), 2 usage.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const {launch, sleep} = require('./cdp_pipe');

const [chromium, target, checkPath, shotPath] = process.argv.slice(2);
if (!chromium || !target || !checkPath) {
  process.stderr.write('usage: report_browser.js CHROMIUM REPORT.html[#fragment] CHECK.json [SHOT.png]\n');
  process.exit(2);
}
const hashAt = target.indexOf('#');
const file = path.resolve(hashAt >= 0 ? target.slice(0, hashAt) : target);
const url = 'file://' + file + (hashAt >= 0 ? target.slice(hashAt) : '');
const TIMEOUT_MS = Number(process.env.REPORT_BROWSER_TIMEOUT || 120000);

const requests = [];  /* every URL the page asked for */
const cdp = launch(chromium, 'report_browser', (msg) => {
  if (msg.method === 'Network.requestWillBeSent') requests.push(msg.params.request.url);
});
const send = cdp.send;

(async () => {
  const {targetInfos} = await send('Target.getTargets');
  const page = targetInfos.find((t) => t.type === 'page');
  const {sessionId} = await send('Target.attachToTarget', {targetId: page.targetId, flatten: true});
  await send('Page.enable', {}, sessionId);
  await send('Runtime.enable', {}, sessionId);
  await send('Network.enable', {}, sessionId);
  const t0 = Date.now();
  await send('Page.navigate', {url}, sessionId);
  let check = null, text = '', erredAt = 0;
  while (Date.now() - t0 < TIMEOUT_MS) {
    await sleep(250);
    /* A script error: what is left may never finish; a second to let the rest settle. */
    if (erredAt && Date.now() - erredAt > 1000) break;
    const r = await send('Runtime.evaluate', {
      expression: 'document.getElementById("caviar-check") ? ' +
                  'document.getElementById("caviar-check").textContent : ""',
      returnByValue: true}, sessionId);
    text = r.result && r.result.value || '';
    if (!text) continue;
    try { check = JSON.parse(text); } catch (e) { continue; }
    if (check.done && check.table) break;
    if (check.errors && check.errors.length && !erredAt) erredAt = Date.now();
  }
  const seconds = (Date.now() - t0) / 1000;
  if (check) {
    check.browser_seconds = seconds;
    /* What the page fetched besides itself: a self-contained report fetches nothing. */
    check.requests = requests.filter((u) => u.split('#')[0] !== url.split('#')[0] &&
                                            !/^(data|blob|about):/.test(u));
  }
  fs.writeFileSync(checkPath, JSON.stringify(check, null, 1) + '\n');
  if (shotPath) {
    /* The whole page: the viewport stretched to the document's height. */
    const m = await send('Page.getLayoutMetrics', {}, sessionId);
    const size = m.cssContentSize || m.contentSize;
    const height = Math.min(Math.ceil(size.height), 16000);
    await send('Emulation.setDeviceMetricsOverride',
               {width: 1300, height, deviceScaleFactor: 1, mobile: false}, sessionId);
    await sleep(1500); /* charts resize and redraw */
    const shot = await send('Page.captureScreenshot', {format: 'png'}, sessionId);
    fs.writeFileSync(shotPath, Buffer.from(shot.data, 'base64'));
  }
  if (!check || !check.done || (check.errors && check.errors.length)) {
    process.stderr.write('report_browser: the page did not finish drawing cleanly in ' +
                         seconds + ' s: ' + text.slice(0, 2000) + '\n');
    return cdp.close(1);
  }
  process.stderr.write('report_browser: ' + url + ' drawn in ' + seconds.toFixed(1) + ' s\n');
  return cdp.close(0);
})().catch((e) => {
  process.stderr.write('report_browser: ' + e.message + '\n' + cdp.stderr().slice(-2000));
  cdp.close(1);
});
