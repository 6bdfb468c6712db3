#!/usr/bin/env bash
# caviar dashboard end to end: a SQLite database with a study of complete, pruned and failed
# trials (mixed) and one whose name has a space, a slash and a non-ASCII letter ('a b/ü') is
# served with `caviar dashboard --port 0 --refresh 0.5`, and its pages are opened in headless
# Chromium (tests/dashboard_browser.js, over the DevTools pipe as tests/report_browser.js):
#   - the index (/) lists the studies with the trial counts of `caviar studies --json`;
#   - /study/mixed draws every chart as the study implies (tests/report_expect.js against
#     `caviar export --format json`, requests to the dashboard's own origin allowed, and only
#     those: the browser step fails on a request to any other origin, a CSP violation, an HTTP
#     error or a script error);
#   - live update: with the page open and the reader's view set (table filtered to the pruned
#     trials, sorted by value, text typed in the search box which keeps the focus, the
#     learning curves zoomed to 20-60 %), `caviar tune` resumes the study to 60 trials; the page
#     redraws by itself with 60 trials, the view kept (the curves show the very window of
#     steps and values they showed before), and matches the new export (the view included:
#     the pruned trials by value);
#   - the study 'a b/ü' opens at its percent-encoded /study/ address and draws;
#   - HTTP (node's http module, nothing to install): POST/PUT/DELETE/PATCH 405 with
#     "Allow: GET, HEAD"; foreign Host headers 403 (DNS rebinding), loopback ones 200; unknown
#     paths 404 (JSON under /api/); ETag and If-None-Match 304; gzip that gunzips to the same
#     JSON; HEAD without a body; a Content-Security-Policy header on every response;
#   - read-only: a second database (a copy, served by a second dashboard that only the
#     browser and the HTTP checks touch, POSTs included) is byte-identical afterwards, and no
#     -wal with content is left beside it;
#   - usage errors (exit 2 and the message), a missing database (exit 2, named, not created),
#     the port already in use (exit 1, said, with a hint); SIGTERM stops it with status 0.
# Screenshots (dashboard-*.png) are kept in $CAVIAR_TEST_ARTEFACTS (default: the directory the
# test runs in) and their paths printed. Exit 77 (skipped) when Chromium is not installed.
#
# With a second argument "postgresql" (and CAVIAR_TEST_PG_URL, as tests/pg_server.sh run sets
# it), the same dashboard on a PostgreSQL study instead: the index and the study's JSON, its
# page drawn and checked against the export, a live update to more trials, a write refused.
# usage: test_dashboard.sh CAVIAR_BINARY [postgresql]
set -euo pipefail
caviar=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/browser_env.sh"   # chromium, fail, artefacts, work (exit 77 without Chromium)
export OPENBLAS_NUM_THREADS=1
SECONDS=0

# The dashboards this test started (pid list): stopped on any exit.
dashboards=()
cleanup() {
    local p
    for p in "${dashboards[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${dashboards[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# Starts `caviar dashboard ARGS...` in the background with stdout in $1.out and stderr in
# $1.err; sets dash_pid and dash_url (its first line of output).
start_dashboard() {
    local name=$1
    shift
    "$caviar" dashboard "$@" > "$name.out" 2> "$name.err" &
    dash_pid=$!
    dashboards+=("$dash_pid")
    dash_url=
    for _ in $(seq 100); do
        dash_url=$(head -n 1 "$name.out")
        [ -n "$dash_url" ] && break
        kill -0 "$dash_pid" 2>/dev/null || { cat "$name.err" >&2; fail "caviar dashboard $* exited at once"; }
        sleep 0.1
    done
    [[ "$dash_url" =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] ||
        { cat "$name.err" >&2; fail "caviar dashboard $* printed '$dash_url', not its http://127.0.0.1:PORT/ address"; }
}
# Stops dashboard $1 (pid $2) with SIGTERM: it must exit 0 within 10 s, saying so.
stop_dashboard() {
    local name=$1 pid=$2 status=0
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "caviar dashboard ($name) did not stop within 10 s of SIGTERM"
    fi
    wait "$pid" || status=$?
    [ "$status" = 0 ] || { cat "$name.err" >&2; fail "caviar dashboard ($name) exited $status on SIGTERM, expected 0"; }
    grep -q 'stopped' "$name.err" || { cat "$name.err" >&2; fail "caviar dashboard ($name) did not say it stopped"; }
    # Nothing logged but where it serves and that it stopped: no read failed meanwhile.
    if grep -v -e '^caviar dashboard: serving ' -e '^caviar dashboard: stopped ' "$name.err" >&2; then
        fail "caviar dashboard ($name) logged the lines above"
    fi
}
sha() { # the hashes of a database and of its -wal and -shm files, when they exist
    local f
    for f in "$1" "$1-wal" "$1-shm"; do
        if [ -e "$f" ]; then echo "$f $(stat -c %s "$f") $(sha256sum < "$f" | cut -c1-64)"; fi
    done
}

# ---- PostgreSQL: the same dashboard on a shared database ----
if [ "${2:-}" = postgresql ]; then
    pg=${CAVIAR_TEST_PG_URL:?CAVIAR_TEST_PG_URL is not set: run me through tests/pg_server.sh run}
    tune_pg() {
        "$caviar" tune --objective quadratic:epochs=6,fail=0.15 --pruner median:n_startup_trials=4 \
            --sampler tpe --trials "$1" --jobs 2 --seed 7 --storage "$pg" --study pgmixed --quiet \
            > "tune-pg-$1.txt" 2>&1 || { cat "tune-pg-$1.txt" >&2; fail "tune (PostgreSQL, $1 trials) failed"; }
        "$caviar" export --storage "$pg" --study pgmixed --format json > "pg$1.export.json"
    }
    tune_pg 20
    start_dashboard pgdash --storage "$pg" --port 0 --refresh 0.5
    pg_url=$dash_url
    node - "$pg_url" > pg-http.txt 2>&1 <<'EOF' || { cat pg-http.txt >&2; fail "HTTP checks (PostgreSQL)"; }
const http = require('http');
const base = process.argv[2];
function req(method, path) {
  return new Promise((resolve, reject) => {
    const r = http.request(base + path.replace(/^\//, ''), {method, agent: false}, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({status: res.statusCode, body}));
    });
    r.on('error', reject);
    r.end(method === 'POST' ? 'x=1' : undefined);
  });
}
(async () => {
  const idx = await req('GET', '/api/studies');
  const s = JSON.parse(idx.body).studies.find((x) => x.name === 'pgmixed');
  if (idx.status !== 200 || !s || s.trials !== 20) throw new Error('index: ' + idx.body);
  const st = await req('GET', '/api/study/pgmixed');
  if (st.status !== 200 || JSON.parse(st.body).trials.number.length !== 20)
    throw new Error('study: ' + st.status + ' ' + st.body.slice(0, 200));
  const post = await req('POST', '/api/study/pgmixed');
  if (post.status !== 405) throw new Error('POST gave ' + post.status);
  console.log('PostgreSQL: index, study JSON and a refused POST as expected');
})().catch((e) => { console.error(e.message); process.exit(1); });
EOF
    cat pg-http.txt
    pg_origin=${pg_url%/}
    cat > pg-steps.json <<EOF
[{"open": "${pg_url}study/pgmixed"}, {"wait": "study"}, {"write": "pg20.check.json"},
 {"mark": true},
 {"sh": "cd '$work' && '$caviar' tune --objective quadratic:epochs=6,fail=0.15 --pruner median:n_startup_trials=4 --sampler tpe --trials 30 --jobs 2 --seed 7 --storage '$pg' --study pgmixed --quiet > tune-pg-30.txt 2>&1 && '$caviar' export --storage '$pg' --study pgmixed --format json > pg30.export.json"},
 {"wait": "check.live.renders > mark.renders && check.done && check.table && check.table.total === 30", "timeout": 30000},
 {"sleep": 1500}, {"mark": true}, {"wait": "check.live.polls >= mark.polls + 2 && check.done && !!check.table", "timeout": 15000},
 {"write": "pg30.check.json"}, {"shot": "$artefacts/dashboard-postgresql.png"}]
EOF
    node "$here/dashboard_browser.js" "$chromium" pg-steps.json 2> pg-browser.err ||
        { cat pg-browser.err >&2; cat pgdash.err >&2; fail "the dashboard's pages on PostgreSQL did not behave"; }
    export REPORT_EXPECT_ALLOW_ORIGIN=$pg_origin
    node "$here/report_expect.js" pg20.export.json pg20.check.json minimize ||
        fail "the PostgreSQL study's page does not show its 20 trials as they are"
    node "$here/report_expect.js" pg30.export.json pg30.check.json minimize ||
        fail "the PostgreSQL study's page does not show its 30 trials after the live update"
    stop_dashboard pgdash "$dash_pid"
    echo "test_dashboard (PostgreSQL): index, study page, live update to 30 trials and a refused write ($SECONDS s); screenshot $artefacts/dashboard-postgresql.png"
    exit 0
fi

# ---- the database: a study with complete, pruned and failed trials, and an oddly named one ----
tune_mixed() {
    "$caviar" tune --objective quadratic:epochs=6,fail=0.15 --pruner median:n_startup_trials=4 \
        --sampler tpe --trials "$1" --jobs 2 --seed 7 --storage mixed.db --study mixed --quiet
}
tune_mixed 40 > tune-mixed.txt 2>&1 || { cat tune-mixed.txt >&2; fail "tune (mixed) failed"; }
for state in complete pruned fail; do
    "$caviar" trials --storage mixed.db --study mixed --state "$state" --json > "trials-$state.json"
    grep -q '"number"' "trials-$state.json" ||
        fail "the mixed study has no $state trial: $(cat tune-mixed.txt)"
done
odd='a b/ü'
odd_path='a%20b%2F%C3%BC'
"$caviar" tune --objective quadratic:epochs=3 --trials 6 --seed 3 --storage mixed.db \
    --study "$odd" --quiet > tune-odd.txt 2>&1 || { cat tune-odd.txt >&2; fail "tune ('$odd') failed"; }
# Opening and closing the database checkpoints its WAL: the copy below is the whole database.
"$caviar" studies --storage mixed.db --json > studies.json
"$caviar" export --storage mixed.db --study mixed --format json > mixed40.export.json
"$caviar" export --storage mixed.db --study "$odd" --format json > odd.export.json
[ ! -s mixed.db-wal ] || fail "mixed.db-wal holds changes after caviar studies"
cp mixed.db ro.db
sha ro.db > ro.before
echo "databases made ($SECONDS s)"

# ---- the live dashboard of mixed.db, in the browser ----
start_dashboard dash --storage mixed.db --port 0 --refresh 0.5
url=$dash_url
dash=$dash_pid
origin=${url%/}
port=${origin##*:}
echo "caviar dashboard at $url"
# The tune that resumes the study to 60 trials while the page is open, then the new export.
cat > resume.sh <<EOF
set -e
cd '$work'
'$caviar' tune --objective quadratic:epochs=6,fail=0.15 --pruner median:n_startup_trials=4 \
    --sampler tpe --trials 60 --jobs 2 --seed 7 --storage mixed.db --study mixed --quiet > tune-60.txt 2>&1
'$caviar' export --storage mixed.db --study mixed --format json > mixed60.export.json
EOF
# The reader's view, as the page must keep it across a live redraw.
# The zoom is the window the curves show, in values: the same before and after a redraw.
view_kept="page.win['chart-curves'] && mark.page.win['chart-curves'] &&
  ['x', 'y'].every((d) => [0, 1].every((k) => Math.abs(page.win['chart-curves'][d][k] -
    mark.page.win['chart-curves'][d][k]) <= 1e-9 * Math.abs(mark.page.win['chart-curves'][d][k]))) &&
  page.win['chart-curves'].x[1] - page.win['chart-curves'].x[0] < 4 &&
  check.table.sort === 'value' && !check.table.desc &&
  check.table.filter === 'pruned' && page.state === 'pruned' && page.search === 'prun' &&
  page.active === 'trials-search' && page.sorted && page.sorted.column === 'value' && !page.sorted.desc"
cat > steps.js <<'EOF'
const [url, oddUrl, art, view] = process.argv.slice(2);
const steps = [
  {open: url}, {wait: 'index'}, {write: 'index.check.json'}, {shot: art + '/dashboard-index.png'},
  {open: url + 'study/mixed'}, {wait: 'study'}, {write: 'mixed40.check.json'},
  {shot: art + '/dashboard-study-before.png'},
  /* the reader's view: pruned trials, by value, "prun" typed (focus kept), curves zoomed */
  {select: '#trials-state|pruned'}, {click: '#trials-table th|value'},
  {zoom: 'chart-curves:20:60'}, {type: '#trials-search|prun'}, {sleep: 600}, {mark: true},
  {assert: view}, {assert: 'check.table.total === 40 && check.table.first.length > 0'},
  /* more trials while the page is open: it redraws by itself, the view kept */
  {sh: 'sh resume.sh'},
  {wait: 'check.live.renders > mark.renders && check.done && check.table && check.table.total === 60',
   timeout: 20000},
  {assert: view}, {assert: 'mark.page.scrollY > 0 && Math.abs(page.scrollY - mark.page.scrollY) <= 1'},
  /* the last build the server makes lags the database by at most the rebuild pace: two more
   * looks after a while, and the page holds the study as it is now */
  {sleep: 1500}, {mark: true}, {wait: 'check.live.polls >= mark.polls + 2 && check.done && !!check.table',
                                 timeout: 15000},
  {assert: view}, {write: 'mixed60.check.json'}, {shot: art + '/dashboard-study-after.png'},
  /* the toolbox's restore: the curves get their whole range back (redrawn without the kept
   * window), the rest of the view stays */
  {mark: true},
  {eval: 'echarts.getInstanceByDom(document.getElementById("chart-curves")).dispatchAction({type: "restore"}), 1'},
  {wait: 'check.live.renders > mark.renders && check.done && !!check.table', timeout: 15000},
  {assert: 'page.win["chart-curves"].x[1] - page.win["chart-curves"].x[0] >= 4 && ' +
           'check.table.filter === "pruned" && page.search === "prun"'},
  /* the index again: the new count */
  {open: url}, {wait: 'index'}, {write: 'index60.check.json'},
  /* a name with a space, a slash and a non-ASCII letter */
  {open: oddUrl}, {wait: 'study'}, {write: 'odd.check.json'}, {shot: art + '/dashboard-odd-name.png'},
  /* negative control: a page opened afresh has none of that view, and the check says so */
  {open: url + 'study/mixed'}, {wait: 'study'}, {assert: '!(' + view + ')'},
  {assert: 'page.zoom["chart-curves"][0].start === 0 && check.table.sort === "trial" && page.search === ""'}
];
process.stdout.write(JSON.stringify(steps, null, 1));
EOF
node steps.js "$url" "$origin/study/$odd_path" "$artefacts" "$view_kept" > steps.json
node "$here/dashboard_browser.js" "$chromium" steps.json 2> browser.err ||
    { cat browser.err >&2; cat dash.err >&2; fail "the dashboard's pages did not behave in the browser"; }
grep -E 'wait|steps in' browser.err | sed 's/^/  /'
echo "browser done ($SECONDS s)"

# ---- what the pages showed, against the study ----
node - index.check.json studies.json <<'EOF' || fail "the index page does not list the studies of 'caviar studies --json'"
const fs = require('fs');
const check = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const studies = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const want = {names: studies.map((s) => s.study), trials: studies.map((s) => s.trials)};
const got = {names: check.index.names, trials: check.index.trials};
if (JSON.stringify(got) !== JSON.stringify(want)) {
  console.log('index page: ' + JSON.stringify(got) + '\ncaviar studies --json: ' + JSON.stringify(want));
  process.exit(1);
}
EOF
node -e 'const c = require(process.argv[1]); process.exit(c.index.names.length === 2 &&
    c.index.trials[c.index.names.indexOf("mixed")] === 60 ? 0 : 1)' "$work/index60.check.json" ||
    fail "the index page did not show the study's 60 trials: $(cat index60.check.json)"
export REPORT_EXPECT_ALLOW_ORIGIN=$origin
node "$here/report_expect.js" mixed40.export.json mixed40.check.json minimize ||
    fail "/study/mixed does not show the study as it is"
node -e 'process.exit(require(process.argv[1]).length === 60 ? 0 : 1)' "$work/mixed60.export.json" ||
    fail "the resumed tune did not make 60 trials: $(cat tune-60.txt)"
node "$here/report_expect.js" mixed60.export.json mixed60.check.json minimize 'state=pruned&sort=value' ||
    fail "/study/mixed after the live update does not show the study (pruned trials by value) as it is"
node "$here/report_expect.js" odd.export.json odd.check.json minimize ||
    fail "/study/$odd_path does not show study '$odd' as it is"
node -e 'const c = require(process.argv[1]);
         const own = c.requests.every((u) => u.startsWith(process.argv[2] + "/"));
         process.exit(own && c.requests.some((u) => u.includes("/api/study/'"$odd_path"'")) ? 0 : 1)' \
    "$work/odd.check.json" "$origin" || fail "odd.check.json: unexpected requests $(cat odd.check.json)"

# ---- HTTP, and read-only: a second dashboard serves a copy that nothing else touches ----
start_dashboard ro --storage ro.db --port 0 --refresh 0.5
ro_url=$dash_url
ro=$dash_pid
node "$here/dashboard_browser.js" "$chromium" "open=${ro_url}" wait=index "open=${ro_url}study/mixed" \
    wait=study write=ro.check.json "open=${ro_url}study/$odd_path" wait=study \
    'wait=check.live.not_modified >= 1 && check.live.renders === 1' 2> ro-browser.err ||
    { cat ro-browser.err >&2; cat ro.err >&2; fail "the read-only dashboard's pages did not draw"; }
# Negative control: a page that fetches from elsewhere fails the browser step (the dashboard's
# CSP blocks the fetch; either the block or the request fails it).
if node "$here/dashboard_browser.js" "$chromium" "open=${ro_url}" wait=index \
        'eval=void fetch("http://127.0.0.1:9/elsewhere.json").catch(() => 0)' sleep=500 \
        wait=index 2> foreign.err; then
    fail "a page that fetched from another origin passed the browser step"
fi
grep -q -e 'Content-Security-Policy violations' -e 'another origin' foreign.err ||
    fail "the page that fetched from another origin failed for another reason: $(cat foreign.err)"
REPORT_EXPECT_ALLOW_ORIGIN=${ro_url%/} node "$here/report_expect.js" mixed40.export.json ro.check.json minimize ||
    fail "the copy's /study/mixed does not show the study as it is"
node - "$ro_url" "$odd" > http.txt 2>&1 <<'EOF' || { cat http.txt >&2; fail "HTTP checks"; }
/* The dashboard's HTTP: methods, Host, paths, ETags, gzip, HEAD, headers. */
'use strict';
const http = require('http');
const zlib = require('zlib');
const [base, odd] = process.argv.slice(2);
const u = new URL(base);
const port = Number(u.port);
const failures = [];
let n = 0;
function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({host: '127.0.0.1', port, method, path, headers: headers || {},
                              agent: false}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode, headers: res.headers,
                                   body: Buffer.concat(chunks)}));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timed out')));
    if (body) req.write(body);
    req.end();
  });
}
async function expect(what, method, path, headers, want, body) {
  n++;
  const r = await request(method, path, headers, body);
  const bad = (why) => failures.push(what + ' (' + method + ' ' + path + ' ' +
    JSON.stringify(headers || {}) + '): ' + why + '; got ' + r.status + ' ' +
    JSON.stringify(r.headers) + ' ' + JSON.stringify(r.body.toString('utf8').slice(0, 300)));
  if (r.status !== want) bad('status, expected ' + want);
  else if (!/default-src 'none'/.test(r.headers['content-security-policy'] || ''))
    bad('no Content-Security-Policy header');
  return r;
}
(async () => {
  // Only GET and HEAD.
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])
    for (const p of ['/', '/api/study/mixed']) {
      const r = await expect('read-only', m, p, {'Content-Type': 'application/json'}, 405,
                             m === 'OPTIONS' ? undefined : '{"state": "complete"}');
      if (r.headers.allow !== 'GET, HEAD')
        failures.push(m + ' ' + p + ': Allow is ' + JSON.stringify(r.headers.allow) + ', expected "GET, HEAD"');
    }
  // Host: loopback names only (a page elsewhere cannot reach it by DNS rebinding).
  for (const h of ['evil.example', 'evil.example:' + port, '127.0.0.1.evil.example',
                   'localhost.evil.example', '10.0.0.1:' + port])
    await expect('foreign Host', 'GET', '/api/studies', {Host: h}, 403);
  for (const h of ['localhost:' + port, 'localhost', '127.0.0.1:' + port, '[::1]:' + port,
                   'LOCALHOST:' + port, 'localhost.:' + port])
    await expect('loopback Host', 'GET', '/api/studies', {Host: h}, 200);
  // Paths.
  for (const p of ['/nope', '/study/', '/study/nope', '/assets/nope.js', '/assets/../../etc/passwd'])
    await expect('unknown path', 'GET', p, {}, 404);
  for (const p of ['/api/study/nope', '/api/nope', '/api/study/']) {
    const r = await expect('unknown API path', 'GET', p, {}, 404);
    let j = null;
    try { j = JSON.parse(r.body.toString('utf8')); } catch (e) { /* below */ }
    if (!j || typeof j.error !== 'string' || !j.error)
      failures.push(p + ': not a JSON error: ' + r.body.toString('utf8').slice(0, 200));
    if (!/^application\/json/.test(r.headers['content-type'] || ''))
      failures.push(p + ': Content-Type ' + r.headers['content-type']);
  }
  const nope = await request('GET', '/api/study/nope');
  if (!/nope/.test(nope.body.toString('utf8'))) failures.push('/api/study/nope does not name the study');
  // The study's JSON: ETag, 304, gzip, HEAD.
  const plain = await expect('study JSON', 'GET', '/api/study/mixed', {}, 200);
  const etag = plain.headers.etag;
  let doc = null;
  try { doc = JSON.parse(plain.body.toString('utf8')); } catch (e) { failures.push('/api/study/mixed is not JSON'); }
  if (doc && (!doc.study || doc.study.name !== 'mixed' || doc.trials.number.length !== 40))
    failures.push('/api/study/mixed is not the study of 40 trials: ' + JSON.stringify(doc.study));
  if (!/^application\/json/.test(plain.headers['content-type'] || ''))
    failures.push('/api/study/mixed: Content-Type ' + plain.headers['content-type']);
  if (!etag) failures.push('/api/study/mixed has no ETag');
  if (plain.headers['content-encoding']) failures.push('gzip sent to a client that did not ask');
  const again = await expect('If-None-Match', 'GET', '/api/study/mixed', {'If-None-Match': etag}, 304);
  if (again.body.length) failures.push('a 304 with a body');
  if (again.headers.etag !== etag) failures.push('the 304 names ETag ' + again.headers.etag);
  await expect('another ETag', 'GET', '/api/study/mixed', {'If-None-Match': '"other"'}, 200);
  const gz = await expect('gzip', 'GET', '/api/study/mixed', {'Accept-Encoding': 'gzip, deflate, br'}, 200);
  if (gz.headers['content-encoding'] !== 'gzip') {
    failures.push('Accept-Encoding: gzip got Content-Encoding ' + gz.headers['content-encoding']);
  } else {
    let body = null;
    try { body = zlib.gunzipSync(gz.body); } catch (e) { failures.push('the gzip body does not gunzip: ' + e.message); }
    if (body && !body.equals(plain.body)) failures.push('the gzip body gunzips to other bytes than the plain one');
    if (gz.body.length >= plain.body.length) failures.push('gzip is not smaller');
    if (!/Accept-Encoding/i.test(gz.headers.vary || '')) failures.push('gzip without Vary: Accept-Encoding');
  }
  const noGz = await expect('gzip;q=0', 'GET', '/api/study/mixed', {'Accept-Encoding': 'gzip;q=0'}, 200);
  if (noGz.headers['content-encoding']) failures.push('gzip;q=0 got gzip');
  for (const p of ['/api/study/mixed', '/', '/study/mixed', '/assets/echarts.min.js']) {
    const get = await request('GET', p);
    const head = await expect('HEAD', 'HEAD', p, {}, 200);
    if (head.body.length) failures.push('HEAD ' + p + ' has a body of ' + head.body.length + ' bytes');
    if (head.headers['content-type'] !== get.headers['content-type'])
      failures.push('HEAD ' + p + ': Content-Type ' + head.headers['content-type'] + ' but GET ' +
                    get.headers['content-type']);
    if (head.headers['content-length'] !== String(get.body.length))
      failures.push('HEAD ' + p + ': Content-Length ' + head.headers['content-length'] + ', the body has ' +
                    get.body.length);
  }
  // Pages and assets.
  for (const [p, type] of [['/', /^text\/html/], ['/index.html', /^text\/html/],
                           ['/study/mixed', /^text\/html/],
                           ['/assets/echarts.min.js', /^text\/javascript/],
                           ['/assets/report.js', /^text\/javascript/],
                           ['/assets/report.css', /^text\/css/], ['/api/studies', /^application\/json/]]) {
    const r = await expect('page', 'GET', p, {}, 200);
    if (!type.test(r.headers['content-type'] || '')) failures.push(p + ': Content-Type ' + r.headers['content-type']);
    if (r.headers['x-content-type-options'] !== 'nosniff') failures.push(p + ': no X-Content-Type-Options: nosniff');
  }
  const asset = await request('GET', '/assets/echarts.min.js');
  if (!asset.headers.etag) failures.push('/assets/echarts.min.js has no ETag');
  else await expect('asset If-None-Match', 'GET', '/assets/echarts.min.js', {'If-None-Match': asset.headers.etag}, 304);
  // The oddly named study, percent-encoded.
  const enc = encodeURIComponent(odd);
  const page = await expect('odd page', 'GET', '/study/' + enc, {}, 200);
  if (!page.body.toString('utf8').includes('/api/study/' + enc))
    failures.push('/study/' + enc + ' does not fetch /api/study/' + enc);
  const oddDoc = await expect('odd JSON', 'GET', '/api/study/' + enc, {}, 200);
  try {
    const j = JSON.parse(oddDoc.body.toString('utf8'));
    if (j.study.name !== odd) failures.push('/api/study/' + enc + ' is study ' + JSON.stringify(j.study.name));
  } catch (e) { failures.push('/api/study/' + enc + ' is not JSON'); }
  const index = JSON.parse((await request('GET', '/api/studies')).body.toString('utf8'));
  const link = index.studies.find((s) => s.name === odd);
  if (!link || link.url !== '/study/' + enc)
    failures.push('/api/studies links the study at ' + JSON.stringify(link && link.url) + ', expected /study/' + enc);
  if (failures.length) {
    console.log('FAIL: ' + failures.length + ' of the HTTP checks:\n  ' + failures.join('\n  '));
    process.exit(1);
  }
  console.log('ok: ' + n + ' HTTP checks');
})().catch((e) => { console.log('FAIL: ' + e.stack); process.exit(1); });
EOF
cat http.txt
stop_dashboard ro "$ro"
sha ro.db > ro.after
# The database is byte-identical; a -wal or -shm beside it may be left by SQLite's reader, but
# no -wal that holds anything.
diff <(grep -v -e '-shm ' -e '-wal ' ro.before) <(grep -v -e '-shm ' -e '-wal ' ro.after) ||
    fail "the dashboard changed ro.db"
if grep -q -- '-wal ' ro.before; then
    diff <(grep -- '-wal ' ro.before) <(grep -- '-wal ' ro.after) || fail "the dashboard changed ro.db-wal"
elif [ -s ro.db-wal ]; then
    fail "the dashboard left a ro.db-wal of $(stat -c %s ro.db-wal) bytes"
fi
echo "read-only: ro.db unchanged ($(tr '\n' ';' < ro.after))"

# ---- usage errors, a missing database, the port in use ----
expect_exit() { # expected status, what the message must say, the command
    local want=$1 text=$2 got=0
    shift 2
    timeout 20 "$@" > out.txt 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat out.txt >&2; fail "'$*' exited $got, expected $want"; }
    grep -qF -- "$text" out.txt || { cat out.txt >&2; fail "'$*' did not say '$text'"; }
}
expect_exit 2 "invalid value 'x' for --port" "$caviar" dashboard --storage mixed.db --port x
expect_exit 2 "invalid value '70000' for --port" "$caviar" dashboard --storage mixed.db --port 70000
expect_exit 2 "invalid value '0' for --refresh" "$caviar" dashboard --storage mixed.db --refresh 0
expect_exit 2 "unknown option '--bogus'" "$caviar" dashboard --bogus
expect_exit 2 "unexpected argument 'extra'" "$caviar" dashboard --storage mixed.db extra
expect_exit 0 "usage: caviar dashboard" "$caviar" dashboard --help
expect_exit 2 "'nothere.db'" "$caviar" dashboard --storage nothere.db --port 0
! ls nothere.db* > /dev/null 2>&1 || fail "caviar dashboard --storage nothere.db created $(ls nothere.db*)"
# The first dashboard still serves (a second one on its port must find it taken).
if ! kill -0 "$dash" 2>/dev/null; then
    st=0; wait "$dash" || st=$?
    cat dash.err >&2
    fail "the dashboard of mixed.db died (status $st) while nothing but this test used it"
fi
node -e 'require("http").get(process.argv[1], {agent: false}, (r) => process.exit(r.statusCode === 200 ? 0 : 1))
           .on("error", () => process.exit(1))' "$url" ||
    { cat dash.err >&2; fail "the dashboard of mixed.db no longer answers at $url"; }
expect_exit 1 "in use" "$caviar" dashboard --storage mixed.db --port "$port"
grep -q '^hint: ' out.txt || { cat out.txt >&2; fail "the port in use: no hint"; }
echo "port in use: $(head -n 1 out.txt)"

# ---- stop: SIGTERM, status 0 ----
stop_dashboard dash "$dash"
echo "screenshots: $artefacts/dashboard-index.png $artefacts/dashboard-study-before.png" \
     "$artefacts/dashboard-study-after.png $artefacts/dashboard-odd-name.png"
echo "test_dashboard: the dashboard's pages drawn, kept live and the view kept; HTTP and read-only checks passed ($SECONDS s)"
