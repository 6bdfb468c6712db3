#!/usr/bin/env node
/*
 * report_expect.js — checks what a caviar report drew (the page's self-check, written by
 * report_browser.js) against the study itself, read independently with
 * `caviar export --format json` (every trial with its state, value, parameters, attributes and
 * intermediate values):
 *
 *   node report_expect.js EXPORT.json CHECK.json [minimize|maximize] [VIEW] [TOP PER_CURVE]
 *
 * The page must have fetched nothing besides itself (a dashboard's page: nothing but from the
 * origin in the environment variable REPORT_EXPECT_ALLOW_ORIGIN, when set), and every chart must
 * have finished drawing on a canvas, with no script error, and hold:
 *   curves      one curve per trial with a finite intermediate value, as many points as
 *               there are finite intermediate values, or with TOP and PER_CURVE (a report
 *               written with --top TOP and a --points budget that thins), the best TOP
 *               complete curves whole and min(points, PER_CURVE) of each other curve; a "last
 *               report" marker per pruned and per failed trial with a curve; the best trial's
 *               curve named "trial N (best)"
 *   history     a point per complete trial, per pruned trial with a value; best-so-far line
 *   parallel    a line per complete trial
 *   slices      one chart per parameter, a point per complete trial that has the parameter
 *   heatmap     at most 32 x 32 cells and a point per complete trial (when there are 2
 *               parameters and 3 complete trials)
 *   importance  a bar per parameter
 *   c2f         (trials with c2f.round) per parameter: a point per trial, a box per run of
 *               consecutive trials with the same round and box
 *   panda       (trials with panda.day) a day-end point per day; curves whose points are the
 *               day's epochs plus the parent day's last one
 *   pbt         (trials with pbt.* attributes) a point per finite report of each member, an
 *               arrow per pbt.exploit.E, a row per member
 *   table       every trial; the first page shown; with VIEW "state=pruned&sort=value" only
 *               the pruned trials, ordered by value (empty values last, then by number)
 * Prints each failure and exits 1 when there is any; 2 for usage.
 */
'use strict';
const fs = require('fs');

const [exportPath, checkPath, direction, view, topArg, perCurveArg] = process.argv.slice(2);
const top = topArg === undefined ? 10 : Number(topArg);
const perCurve = perCurveArg === undefined ? Infinity : Number(perCurveArg);
if (!exportPath || !checkPath) {
  process.stderr.write('usage: report_expect.js EXPORT.json CHECK.json [minimize|maximize] [VIEW]\n');
  process.exit(2);
}
const trials = JSON.parse(fs.readFileSync(exportPath, 'utf8'));
const check = JSON.parse(fs.readFileSync(checkPath, 'utf8'));
const minimize = direction !== 'maximize';
const failures = [];
function expect(what, got, want) {
  if (got !== want) failures.push(what + ': got ' + JSON.stringify(got) + ', expected ' + JSON.stringify(want));
}
function ok(what, cond) { if (!cond) failures.push(what); }

const finite = (v) => typeof v === 'number' && isFinite(v);
const reportsOf = (t) => (t.intermediate || []).filter((r) => finite(r.value));
const charts = check.charts || {};
function series(chartId, name) {
  const c = charts[chartId];
  if (!c || !c.series) return null;
  return c.series.find((s) => s.name === name) || null;
}
function n(chartId, name) { const s = series(chartId, name); return s ? s.n : 0; }

// ---- every chart drew ----
ok('the page reported script errors: ' + JSON.stringify(check.errors), (check.errors || []).length === 0);
ok('the page did not finish drawing', check.done === true);
/* A dashboard's page fetches its script, style and data from the dashboard itself: with
 * REPORT_EXPECT_ALLOW_ORIGIN=http://HOST:PORT, requests to that origin (only) are allowed. */
const allowOrigin = process.env.REPORT_EXPECT_ALLOW_ORIGIN || '';
const originOf = (u) => { try { return new URL(u).origin; } catch (e) { return null; } };
const fetched = Array.isArray(check.requests)
  ? check.requests.filter((u) => !allowOrigin || originOf(u) !== originOf(allowOrigin)) : null;
ok('the page fetched ' + JSON.stringify(fetched) + (allowOrigin ? ' (besides ' + allowOrigin +
   ')' : '') + ': a report must be self-contained', Array.isArray(fetched) && fetched.length === 0);
for (const [id, c] of Object.entries(charts)) {
  ok(id + ' did not finish drawing', c.finished === true);
  ok(id + ' has no canvas', c.canvas === true);
}

const complete = trials.filter((t) => t.state === 'complete' && finite(t.value));
const pruned = trials.filter((t) => t.state === 'pruned');
const failed = trials.filter((t) => t.state === 'fail');
const params = [];
for (const t of trials) for (const k of Object.keys(t.params)) if (!params.includes(k)) params.push(k);

// ---- learning curves ----
const withCurve = trials.filter((t) => reportsOf(t).length > 0);
if (withCurve.length) {
  const c = charts['chart-curves'];
  ok('no learning-curve chart', !!c);
  if (c) {
    let curves = 0, points = 0;
    for (const s of c.series) {
      if (s.type === 'lines') { curves += s.n; points += s.points; }
      if (s.type === 'line') { curves += 1; points += s.n; }
    }
    expect('learning curves drawn', curves, withCurve.length);
    const ranked = complete.filter((t) => reportsOf(t).length)
      .sort((a, b) => (minimize ? a.value - b.value : b.value - a.value) || a.number - b.number);
    const whole = new Set(ranked.slice(0, top).map((t) => t.number));
    expect('learning-curve points drawn', points, withCurve.reduce((a, t) =>
      a + (whole.has(t.number) ? reportsOf(t).length : Math.min(reportsOf(t).length, perCurve)), 0));
    expect('pruned: last report markers', n('chart-curves', 'pruned: last report'),
           pruned.filter((t) => reportsOf(t).length).length);
    expect('failed: last report markers', n('chart-curves', 'failed: last report'),
           failed.filter((t) => reportsOf(t).length).length);
    if (ranked.length)
      ok('the best curve is not trial ' + ranked[0].number + ' (best)',
         !!series('chart-curves', 'trial ' + ranked[0].number + ' (best)'));
    expect('curves drawn whole (top ' + top + ')', c.series.filter((s) => s.type === 'line').length,
           Math.min(top, ranked.length));
  }
} else {
  ok('a learning-curve chart without curves', !charts['chart-curves']);
}

// ---- history, parallel, slices, heat map, importance ----
const prunedWithValue = pruned.filter((t) => finite(t.value));
if (complete.length || prunedWithValue.length) {
  expect('history: complete points', n('chart-history', 'complete'), complete.length);
  expect('history: pruned points', n('chart-history', 'pruned (last value)'), prunedWithValue.length);
  expect('history: best-so-far points', n('chart-history', 'best so far'), complete.length);
}
if (complete.length && params.length) {
  expect('parallel: lines', n('chart-parallel', 'complete trials'), complete.length);
  params.forEach((p, k) => {
    expect('slice of ' + p + ': points', n('chart-slice-' + k, p),
           complete.filter((t) => t.params[p] !== undefined).length);
  });
  expect('slice charts', Object.keys(charts).filter((id) => id.startsWith('chart-slice-')).length,
         params.length);
  expect('importance bars', (series('chart-importance', 'share of variance') ||
                             series('chart-importance', '|Spearman rho|') || {n: 0}).n, params.length);
}
if (complete.length >= 3 && params.length >= 2) {
  const cells = n('chart-heatmap', 'mean value');
  ok('heat map: ' + cells + ' cells, expected 1 to 1024', cells >= 1 && cells <= 1024);
  expect('heat map: trials', n('chart-heatmap', 'complete trials'), complete.length);
}

// ---- coarse-to-fine ----
const inRounds = trials.filter((t) => t.attrs['c2f.round'] !== undefined)
  .sort((a, b) => a.number - b.number);
if (inRounds.length) {
  let runs = 0, prev = null;
  for (const t of inRounds) {
    const key = t.attrs['c2f.round'] + ' ' + JSON.stringify(t.attrs['c2f.box']);
    if (key !== prev) runs++;
    prev = key;
  }
  params.forEach((p, k) => {
    const id = 'chart-c2f-' + k;
    ok('no coarse-to-fine chart for ' + p, !!charts[id]);
    const valued = inRounds.filter((t) => t.params[p] !== undefined && t.state === 'complete' &&
                                          finite(t.value)).length;
    const all = inRounds.filter((t) => t.params[p] !== undefined).length;
    expect('c2f ' + p + ': trials with a value', n(id, 'trials with a value'), valued);
    expect('c2f ' + p + ': trials without a value', n(id, 'trials without a value'), all - valued);
    const s = series(id, 'trials with a value');
    expect('c2f ' + p + ': boxes', s ? s.areas : 0, runs);
  });
} else {
  ok('a coarse-to-fine section without rounds',
     !Object.keys(charts).some((id) => id.startsWith('chart-c2f-')));
}

// ---- panda ----
const days = trials.filter((t) => t.attrs['panda.day'] !== undefined);
if (days.length) {
  expect('panda: day ends', n('chart-panda', 'end of a day'), days.length);
  const byDay = {};
  const curveOf = (t) => String(t.attrs['panda.curve'] || '').split(';').filter((e) => e.trim()).length;
  for (const t of days) byDay[t.attrs['panda.day']] = t;
  let want = 0;
  for (const t of days) {
    const parent = byDay[t.attrs['panda.parent']];
    want += curveOf(t) + (parent && curveOf(parent) ? 1 : 0);
  }
  const c = charts['chart-panda'];
  let got = 0, items = 0;
  for (const s of (c ? c.series : []))
    if (s.type === 'lines' && s.name.startsWith('dev metric')) { got += s.points; items += s.n; }
  expect('panda: dev-metric points (days and their parents\' ends)', got, want);
  expect('panda: dev-metric curves', items, days.filter((t) => curveOf(t) > 0).length);
} else {
  ok('a panda chart without days', !charts['chart-panda']);
}

// ---- PBT ----
const members = trials.filter((t) => Object.keys(t.attrs).some((k) => k.startsWith('pbt.')));
if (members.length) {
  expect('pbt: member rows', n('chart-pbt', 'members'), members.length);
  expect('pbt: dev-metric points', n('chart-pbt', 'dev metric'),
         members.reduce((a, t) => a + reportsOf(t).length, 0));
  expect('pbt: exploit arrows', n('chart-pbt', 'exploits'),
         members.reduce((a, t) => a + Object.keys(t.attrs)
           .filter((k) => /^pbt\.exploit\.\d+$/.test(k)).length, 0));
  ok('pbt: no exploit at all (the run should have some)', n('chart-pbt', 'exploits') > 0);
} else {
  ok('a PBT chart without members', !charts['chart-pbt']);
}

// ---- the table ----
const table = check.table || {};
expect('table: trials', table.total, trials.length);
if (view === 'state=pruned&sort=value') {
  const want = pruned.slice().sort((a, b) => {
    const na = !finite(a.value), nb = !finite(b.value);
    if (na || nb) return na === nb ? a.number - b.number : na ? 1 : -1;
    return a.value - b.value || a.number - b.number;
  });
  expect('table (pruned, by value): rows', table.matched, want.length);
  expect('table (pruned, by value): first rows', JSON.stringify(table.first),
         JSON.stringify(want.slice(0, 5).map((t) => t.number)));
} else {
  expect('table: rows', table.matched, trials.length);
  expect('table: rows shown', table.shown, Math.min(100, trials.length));
}

if (failures.length) {
  process.stdout.write('FAIL: ' + checkPath + '\n  ' + failures.join('\n  ') + '\n');
  process.exit(1);
}
process.stdout.write('ok: ' + checkPath + ' (' + Object.keys(charts).length + ' charts, ' +
                     trials.length + ' trials)\n');
