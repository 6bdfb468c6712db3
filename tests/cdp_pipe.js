/*
 * cdp_pipe.js — headless Chromium driven over the DevTools protocol on a pipe, for the tests
 * that open caviar's pages in a real browser (report_browser.js, dashboard_browser.js).
 *
 * With --remote-debugging-pipe Chromium reads commands on its fd 3 and writes answers and
 * events on its fd 4, each a JSON text ended by a NUL byte: nothing but node is needed. The
 * browser runs with a throwaway profile, removed when it is closed.
 *
 *   const cdp = launch(CHROMIUM, 'name', onEvent);   // onEvent(msg) for every event
 *   await cdp.send(method, params, sessionId);        // the answer's result, or throws
 *   cdp.close(code);                                   // ends Chromium and exits with code
 */
'use strict';
const {spawn} = require('child_process');
const fs = require('fs');
const path = require('path');
const os = require('os');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function launch(chromium, name, onEvent) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'caviar-' + name + '-chromium-'));
  const child = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
    '--no-first-run', '--no-default-browser-check', '--hide-scrollbars', '--mute-audio',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--disable-extensions', '--no-proxy-server',
    '--user-data-dir=' + profile, '--window-size=1300,1000', 'about:blank'
  ], {stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe']});
  let stderr = '';
  child.stdio[2].on('data', (d) => { stderr = (stderr + d).slice(-20000); });

  let nextId = 1, buffer = Buffer.alloc(0);
  const waiting = new Map();
  child.stdio[4].on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    let end;
    while ((end = buffer.indexOf(0)) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end).toString('utf8'));
      buffer = buffer.slice(end + 1);
      if (msg.method && onEvent) onEvent(msg);
      if (msg.id && waiting.has(msg.id)) {
        const {resolve, reject} = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) reject(new Error(JSON.stringify(msg.error)));
        else resolve(msg.result);
      }
    }
  });
  function send(method, params, sessionId) {
    const id = nextId++;
    const msg = {id, method, params: params || {}};
    if (sessionId) msg.sessionId = sessionId;
    child.stdio[3].write(JSON.stringify(msg) + '\0');
    return new Promise((resolve, reject) => waiting.set(id, {resolve, reject}));
  }

  let finished = false, exited = false;
  const exitedPromise = new Promise((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  /* Asks Chromium to close, kills it after 5 s, removes its profile, exits with code. */
  async function close(code) {
    if (finished) return;
    finished = true;
    send('Browser.close').catch(() => { /* closing */ });
    if (!exited) {
      await Promise.race([exitedPromise, sleep(5000)]);
      if (!exited) {
        child.kill('SIGKILL');
        await Promise.race([exitedPromise, sleep(5000)]);
      }
    }
    /* Chromium's helper processes may still write into the profile for a moment. */
    for (let k = 0; k < 10 && fs.existsSync(profile); k++) {
      try { fs.rmSync(profile, {recursive: true, force: true, maxRetries: 3}); } catch (e) { /* again */ }
      if (fs.existsSync(profile)) await sleep(200);
    }
    process.exit(code);
  }
  child.on('exit', (code) => {
    if (!finished) {
      process.stderr.write(name + ': chromium exited (' + code + ')\n' + stderr.slice(-2000));
      close(1);
    }
  });
  return {send, close, stderr: () => stderr};
}

module.exports = {launch, sleep};
