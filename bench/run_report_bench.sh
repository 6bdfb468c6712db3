#!/usr/bin/env bash
# run_report_bench.sh — how `caviar report` and `caviar dashboard` cope with a 10,000-trial
# study ("both stay usable with 10,000 trials"; "the report of a 10,000-trial study is
# generated in under a few seconds and opens in the browser").
#
# Three SQLite databases of one 10,000-trial study each, with learning curves of 5, 30 and 100
# steps: six parameters (lr log-uniform, beta1 one-minus-log-uniform, units and layers ints,
# dropout uniform, optimizer categorical), about 60% complete, 30% pruned at various steps (a
# percentile pruner), 10% failed part-way. Each study is started by `caviar tune` on a sweep
# file whose program is a tiny awk "training run" (the first 200 trials, which write the study
# row, the parameters' encodings and the spec the way caviar does), then filled up to 10,000
# trials from Python's sqlite3 with the same model, pruning rule and row layout (a real tune of
# 10,000 trials with 100 reports each takes minutes), and checked with `caviar studies`,
# `caviar trials` and `caviar export`. On each database:
#   report     `caviar report -o r.html`: wall seconds (best of 3) and file size; the reference
#              is `caviar export --format json > /dev/null` (the same reading of every trial
#              and report; best of 3), and the figure printed is report ÷ export; then the
#              seconds headless Chromium takes to draw the report until its self-check says
#              done (tests/report_browser.js, best of 3).
#   dashboard  `caviar dashboard --storage DB --port 0`: the first GET /api/study/NAME (open,
#              read and build the JSON; best of 3 fresh dashboards), its bytes plain and
#              gzipped, a GET with If-None-Match of its ETag (must be 304; median of 20), GET
#              /api/studies (median of 20), and the Chromium draw of the live page /study/NAME
#              against the running dashboard (best of 3).
#   live       on the 30-step database, with a dashboard running (default --refresh 2):
#              `caviar tune` resumes the study by 200 trials while a poller reads the
#              database's version and asks /api/study/NAME with its ETag every 0.1 s: how long
#              from the first change to a new ETag, how long each rebuild took, and from the
#              last change to an ETag of the final version.
# Prints the table and writes it to bench/results/report-<UTC date>.txt, with every figure in
# report-<UTC date>.jsonl beside it. About 4 minutes on 2 idle cores.
#
# usage: bench/run_report_bench.sh [BUILD_DIR]
#   BUILD_DIR   a build directory holding caviar (built there, target caviar, if it is not;
#               configured for Release if it is not configured); default:
#               ${CAVIAR_BUILD_DIR:-${TMPDIR:-/tmp}/caviar-bench-build}
# environment:
#   CAVIAR_PYTHON  the Python that writes the databases and polls (default: python3)
#   TMPDIR         where the databases go (about 150 MB, removed at the end)
# Needs python3 (sqlite3 module) and node; without Chromium (chromium or chromium-browser) the
# browser columns say '-'; without curl the HTTP figures come from Python's http.client.
# exit status: 0 done, 1 failure, 2 usage.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
    -h | --help)
        sed -n '2,/^# exit status/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
esac
[ $# -le 1 ] || { echo "usage: bench/run_report_bench.sh [BUILD_DIR]" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
python=${CAVIAR_PYTHON:-python3}
command -v "$python" >/dev/null || { echo "run_report_bench.sh: $python is not installed" >&2; exit 1; }
"$python" -c 'import sqlite3' || { echo "run_report_bench.sh: $python has no sqlite3 module" >&2; exit 1; }
command -v node >/dev/null || { echo "run_report_bench.sh: node is not installed" >&2; exit 1; }
chromium=$(command -v chromium || command -v chromium-browser || true)
curl=$(command -v curl || true)

# ---- the caviar binary ----
build=${1:-${CAVIAR_BUILD_DIR:-${TMPDIR:-/tmp}/caviar-bench-build}}
if [ ! -x "$build/caviar" ]; then
    echo "building caviar in $build ..."
    configure=(cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release)
    [ ! -f "$build/CMakeCache.txt" ] || configure=(true) # configured already: as it is
    if ! { "${configure[@]}" && cmake --build "$build" -j "$(nproc)" --target caviar; } \
        >"$build.caviar.log" 2>&1; then
        tail -n 30 "$build.caviar.log" >&2
        echo "run_report_bench.sh: the build failed; the whole log is in $build.caviar.log" >&2
        exit 1
    fi
fi
caviar=$(cd "$build" && pwd)/caviar
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$repo/bench/results"
out="$repo/bench/results/report-$stamp.jsonl"
text="${out%.jsonl}.txt"
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-report-bench-XXXXXX")
dash_pid=""
cleanup() {
    if [ -n "$dash_pid" ]; then kill -TERM "$dash_pid" 2>/dev/null || true; wait "$dash_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
commit=$(git -C "$repo" rev-parse --verify --quiet HEAD 2>/dev/null || echo none)
dirty=false
if [ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ]; then dirty=true; fi
bench_start=$(date +%s.%N)
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# ---- the helpers: the training program, and Python for the databases, checks and polling ----

# A training run in miniature, run by awk: name=value arguments (awk assigns them before it reads
# its empty input, so everything happens in END), one JSON metric line per epoch, a noisy loss
# curve that settles where the parameters put it; 11 trials in 100 diverge and exit 1 part-way
# (a few of them are pruned before).
cat >curve.awk <<'EOF'
END {
    n = ENVIRON["CAVIAR_TRIAL_NUMBER"] + 0
    h = (n * 2654435761 + 12345) % 4294967296
    u = (h % 1000) / 1000
    final = (log(lr / 3e-3) / log(10)) ^ 2 * 0.15 + 40 * (beta1 - 0.97) ^ 2 \
          + 0.1 * (log(units / 256) / log(2)) ^ 2 / 4 + 0.02 * (layers - 3) ^ 2 \
          + 0.3 * (dropout - 0.2) ^ 2 + (optimizer == "sgd" ? 0.05 : optimizer == "rmsprop" ? 0.02 : 0) \
          + 0.25 + 0.05 * ((h % 997) / 997)
    fail_at = (u < 0.11) ? 1 + int(u / 0.11 * epochs) : 0
    for (e = 1; e <= epochs; e++) {
        if (e == fail_at) { print "loss is NaN: diverged" > "/dev/stderr"; exit 1 }
        x = sin(n * 12.9898 + e * 78.233) * 43758.5453
        x = x - int(x) - (x < int(x))
        printf "{\"epoch\": %d, \"val_loss\": %.6f}\n", e, final + (1 + final) * (1 / e - 1 / epochs) + 0.02 * (x - 0.5)
    }
}
EOF

cat >bench.py <<'PY'
"""The Python half of run_report_bench.sh: gen, verify, check, get, poll, summary."""
import gzip, http.client, json, math, os, random, re, sqlite3, statistics, subprocess, sys, time
import urllib.parse

PARAMS = {"lr", "beta1", "units", "layers", "dropout", "optimizer"}


def gen(db, name, epochs, total, seed, warmup, interval, q):
    """Fills the study that `caviar tune` started (curve.awk's sweep) up to TOTAL trials."""
    epochs, total, seed, warmup, interval, q = (int(epochs), int(total), int(seed), int(warmup),
                                                int(interval), float(q) / 100)
    t_start = time.time()
    con = sqlite3.connect(db)
    cur = con.cursor()
    sid, version, n_trials, n_counted, spec = cur.execute(
        "SELECT id, version, n_trials, n_counted, spec FROM studies WHERE name = ?",
        (name,)).fetchone()
    pid = dict((n, i) for i, n in cur.execute("SELECT id, name FROM params WHERE study = ?", (sid,)))
    if set(pid) != PARAMS:
        sys.exit("gen: the study's parameters are %s, not %s" % (sorted(pid), sorted(PARAMS)))
    dist = dict(cur.execute("SELECT name, dist FROM params WHERE study = ?", (sid,)))
    # the encodings caviar wrote (src/space/codec.c): a categorical's internal value is the index
    # of its choice, an int's the integer, a float's the float
    if not dist["optimizer"].startswith("categorical 4 s4:adam s5:adamw s3:sgd s7:rmsprop"):
        sys.exit("gen: unexpected encoding of the categorical: %s" % dist["optimizer"])
    if not dist["units"].startswith("int ") or not dist["beta1"].startswith("float one-minus-log"):
        sys.exit("gen: unexpected encodings: %s" % dist)
    busy = cur.execute("SELECT count(*) FROM trials WHERE study = ? AND state NOT IN (2, 3, 4)",
                       (sid,)).fetchone()[0]
    if busy or n_trials != n_counted:
        sys.exit("gen: %d unfinished trials, n_trials %d, n_counted %d" % (busy, n_trials, n_counted))
    start = n_trials
    last_end = cur.execute("SELECT max(end_time) FROM trials WHERE study = ?", (sid,)).fetchone()[0]
    per_trial = max(1, version // max(1, n_trials))  # versions caviar used per trial

    # The percentile pruner (src/prune/percentile.c): at a check step s (warmup, warmup +
    # interval, ...) a trial is pruned when its best value so far is worse than the q-th
    # percentile, best first, of what the finished (complete or pruned) trials reported at s.
    at_step = [[] for _ in range(epochs + 1)]
    for step, value in cur.execute(
            "SELECT v.step, v.value FROM trial_values v JOIN trials t ON t.study = v.study AND"
            " t.number = v.number WHERE v.study = ? AND t.state IN (2, 3)", (sid,)):
        if 1 <= step <= epochs:
            at_step[step].append(value)
    threshold = [None] * (epochs + 1)

    def refresh():  # every 250 trials: close enough to the pruner's exact rule
        for s in range(warmup, epochs + 1, interval):
            v = sorted(at_step[s])
            if len(v) < 5:
                continue
            pos = q * (len(v) - 1)
            lo = int(pos)
            hi = min(lo + 1, len(v) - 1)
            threshold[s] = v[lo] + (v[hi] - v[lo]) * (pos - lo)
    refresh()

    rng = random.Random(seed)
    lanes = [last_end, last_end]  # two workers, as tune --jobs 2
    trials, params, values, attrs = [], [], [], []
    for n in range(start, total):
        lr = math.exp(rng.uniform(math.log(1e-5), math.log(1e-1)))
        beta1 = 1 - math.exp(rng.uniform(math.log(1 - 0.999), math.log(1 - 0.8)))
        units, layers = rng.randint(16, 1024), rng.randint(1, 6)
        dropout, opt = rng.uniform(0, 0.5), rng.randrange(4)
        h = (n * 2654435761 + 12345) % 4294967296  # curve.awk's model, line for line
        u = (h % 1000) / 1000
        final = ((math.log(lr / 3e-3) / math.log(10)) ** 2 * 0.15 + 40 * (beta1 - 0.97) ** 2
                 + 0.1 * (math.log(units / 256) / math.log(2)) ** 2 / 4
                 + 0.02 * (layers - 3) ** 2 + 0.3 * (dropout - 0.2) ** 2
                 + {2: 0.05, 3: 0.02}.get(opt, 0) + 0.25 + 0.05 * ((h % 997) / 997))
        fail_at = 1 + int(u / 0.11 * epochs) if u < 0.11 else 0
        state, value, reason, best, curve = 2, None, None, math.inf, []
        for e in range(1, epochs + 1):
            if e == fail_at:
                state = 4
                reason = ("exit status 1 (see caviar-logs/%s/trial-%d.log); the last lines of its"
                          " stderr:\n  loss is NaN: diverged" % (name, n))
                break
            x = math.sin(n * 12.9898 + e * 78.233) * 43758.5453
            v = round(final + (1 + final) * (1 / e - 1 / epochs) + 0.02 * (x - math.floor(x) - 0.5), 6)
            curve.append((e, v))
            best = min(best, v)
            p = threshold[e] if e >= warmup and (e - warmup) % interval == 0 else None
            if p is not None and best > p:
                state, value = 3, v
                break
        if state == 2:
            value = curve[-1][1]
        lane = 0 if lanes[0] <= lanes[1] else 1
        t0 = lanes[lane] + 0.0003
        t1 = t0 + 0.012 + 0.0009 * len(curve)
        lanes[lane] = t1
        version += per_trial
        trials.append((sid, n, state, value, t0, t1, t0, reason, len(curve), version))
        for nm, x in (("lr", lr), ("beta1", beta1), ("units", float(units)),
                      ("layers", float(layers)), ("dropout", dropout), ("optimizer", float(opt))):
            params.append((sid, n, pid[nm], x))
        for seq, (e, v) in enumerate(curve):
            values.append((sid, n, seq, e, v))
            if state != 4:
                at_step[e].append(v)
        attrs.append((sid, n, "log", "caviar-logs/%s/trial-%d.log" % (name, n)))
        if (n + 1) % 250 == 0:
            refresh()
    cur.execute("BEGIN IMMEDIATE")
    cur.executemany("INSERT INTO trials (study, number, state, value, start_time, end_time,"
                    " heartbeat, fail_reason, n_reports, version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", trials)
    cur.executemany("INSERT INTO trial_params (study, number, param, value) VALUES (?, ?, ?, ?)",
                    params)
    cur.executemany("INSERT INTO trial_values (study, number, seq, step, value)"
                    " VALUES (?, ?, ?, ?, ?)", values)
    cur.executemany("INSERT INTO trial_attrs (study, number, key, value) VALUES (?, ?, ?, ?)",
                    attrs)
    # The study ran until now: every time moved back so that its last trial ends now.
    shift = max(lanes) - time.time()
    if shift > 0:
        cur.execute("UPDATE trials SET start_time = start_time - ?, end_time = end_time - ?,"
                    " heartbeat = heartbeat - ? WHERE study = ?", (shift, shift, shift, sid))
        cur.execute("UPDATE studies SET created = created - ? WHERE id = ?", (shift, sid))
    spec = re.sub(r"(?m)^trials=\d+$", "trials=%d" % total, spec or "")
    cur.execute("UPDATE studies SET version = ?, n_trials = ?, n_counted = ?, spec = ?"
                " WHERE id = ?", (version, total, total, spec, sid))
    con.commit()
    cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print("%d %d %.2f" % (len(trials), len(values), time.time() - t_start))


def verify(path, epochs, total):
    """Reads `caviar export --format json` of a generated study: the counts, and its shape."""
    epochs, total = int(epochs), int(total)
    trials = json.load(open(path))
    problems = []
    if len(trials) != total:
        problems.append("%d trials, not %d" % (len(trials), total))
    if [t["number"] for t in trials] != list(range(len(trials))):
        problems.append("numbers are not 0..n-1")
    states = {"complete": 0, "pruned": 0, "fail": 0}
    reports, pruned_at = 0, set()
    for t in trials:
        states[t["state"]] = states.get(t["state"], 0) + 1
        p = t.get("params", {})
        if set(p) != PARAMS or not isinstance(p["units"], int) or not isinstance(p["layers"], int) \
                or p["optimizer"] not in ("adam", "adamw", "sgd", "rmsprop") \
                or not (1e-5 <= p["lr"] <= 1e-1 and 0.8 <= p["beta1"] <= 0.999):
            problems.append("trial %d: parameters %s" % (t["number"], p))
        steps = [r["step"] for r in t.get("intermediate", [])]
        if steps != list(range(1, len(steps) + 1)) or len(steps) > epochs:
            problems.append("trial %d: steps %s" % (t["number"], steps[:5]))
        if t["state"] == "complete" and len(steps) != epochs:
            problems.append("trial %d: complete with %d reports" % (t["number"], len(steps)))
        if t["state"] == "pruned":
            pruned_at.add(len(steps))
        reports += len(steps)
        if len(problems) > 5:
            break
    print(json.dumps({"trials": len(trials), "complete": states["complete"],
                      "pruned": states["pruned"], "fail": states["fail"], "reports": reports,
                      "pruned_at_steps": sorted(pruned_at), "problems": problems[:6]}))
    return 0 if not problems else 1


def check(path):
    """What a page's self-check (tests/report_browser.js's CHECK.json) says, as one JSON line."""
    try:
        c = json.load(open(path)) or {}
    except (OSError, ValueError):
        c = {}
    charts = c.get("charts") or {}
    curves = (charts.get("chart-curves") or {}).get("series") or []
    live = c.get("live") or {}
    print(json.dumps({
        "done": bool(c.get("done")), "browser_seconds": c.get("browser_seconds"),
        "drawn_ms": c.get("drawn_ms"), "charts": len(charts),
        "charts_finished": sum(1 for v in charts.values() if v.get("finished")),
        "table_total": (c.get("table") or {}).get("total"),
        "curve_lines": sum(s.get("n", 0) for s in curves),
        "curve_points": sum(s.get("points", 0) for s in curves),
        "errors": len(c.get("errors") or []), "renders": live.get("renders"),
        "polls": live.get("polls")}))


def request(url, headers):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    t0 = time.perf_counter()
    c.request("GET", u.path or "/", headers=headers)
    r = c.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    h = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, dt, len(body), h.get("etag", ""), h.get("content-encoding", ""), body


def get(url, *headers):
    """curl's -w '%{http_code} %{time_total} %{size_download}' and two headers, for no curl."""
    hd = dict(x.split(": ", 1) for x in headers)
    status, dt, n, etag, enc, _ = request(url, hd)
    print(status, "%.6f" % dt, n, etag or "-", enc or "-")


def etag_version(etag):
    m = re.search(r"-(\d+)\"?$", etag or "")
    return int(m.group(1)) if m else None


def poll(url, db, refresh, *cmd):
    """With the dashboard at URL serving DB: runs CMD (a tune that adds trials) while asking URL
    with its ETag every 0.1 s and reading the database's version; one JSON line of what it saw."""
    refresh = float(refresh)
    ro = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(db)), uri=True,
                         isolation_level=None)

    def db_version():
        return ro.execute("SELECT version FROM studies").fetchone()[0]
    status, dt, n, etag, _, _ = request(url, {})
    if status != 200:
        sys.exit("poll: GET %s: %d" % (url, status))
    v0 = db_version()
    time.sleep(refresh + 1)  # past the dashboard's rebuild pace since the build above
    t_cmd = time.time()
    proc = subprocess.Popen(cmd, stdout=open("poll-tune.out", "w"), stderr=subprocess.STDOUT)
    rebuilds, n304 = [], 0
    seen_v, first_change, last_change, t_exit, final_v, final_at = v0, None, None, None, None, None
    while True:
        tick = time.time()
        v = db_version()
        if v != seen_v:
            seen_v = v
            last_change = tick
            if first_change is None:
                first_change = tick
        status, dt, size, new_etag, _, _ = request(url, {"If-None-Match": etag})
        t_resp = time.time()
        if status == 200:
            rebuilds.append({"at": t_resp, "seconds": dt, "bytes": size,
                             "version": etag_version(new_etag)})
            etag = new_etag
        elif status == 304:
            n304 += 1
        else:
            sys.exit("poll: GET %s: %d" % (url, status))
        if t_exit is None and proc.poll() is not None:
            t_exit = time.time()
            final_v = db_version()
            if final_v != seen_v:
                seen_v, last_change = final_v, t_exit
        if final_v is not None and etag_version(etag) == final_v:
            final_at = rebuilds[-1]["at"] if rebuilds else None
            break
        if t_exit is not None and time.time() - t_exit > 30:
            break
        time.sleep(max(0.0, 0.1 - (time.time() - tick)))
    if proc.returncode != 0:
        sys.exit("poll: %s exited %s: %s" % (" ".join(cmd), proc.returncode,
                                             open("poll-tune.out").read()[-2000:]))
    first = next((r for r in rebuilds if first_change is not None and r["at"] >= first_change), None)
    secs = [r["seconds"] for r in rebuilds]
    print(json.dumps({
        "refresh_s": refresh, "poll_interval_s": 0.1, "version_before": v0, "version_after": final_v,
        "tune_s": round(t_exit - t_cmd, 2) if t_exit else None,
        "first_change_after_start_s": round(first_change - t_cmd, 3) if first_change else None,
        "first_new_etag_after_change_s": round(first["at"] - first_change, 3) if first else None,
        "first_rebuild_request_s": round(first["seconds"], 3) if first else None,
        "rebuilds": len(rebuilds), "not_modified": n304,
        "rebuild_request_median_s": round(statistics.median(secs), 3) if secs else None,
        "rebuild_request_max_s": round(max(secs), 3) if secs else None,
        "bytes_after": rebuilds[-1]["bytes"] if rebuilds else None,
        "final_etag_after_last_change_s": round(final_at - last_change, 3)
        if final_at and last_change else None,
        "caught_up": final_at is not None}))


def summary(facts_path, jsonl, txt, head_path):
    F = {}
    for line in open(facts_path):
        k, _, v = line.rstrip("\n").partition(" ")
        F[k] = json.loads(v)
    rows = [int(x) for x in F["steps"]]
    jl = open(jsonl, "a")
    for k in ("run", "machine"):
        jl.write(json.dumps(dict(kind=k, **F[k])) + "\n")

    def best(xs):
        xs = [x for x in xs if x is not None]
        return min(xs) if xs else None

    def med(xs):
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else None

    def f(x, fmt="%.2f"):
        return "-" if x is None else fmt % x

    def mb(x):
        return "-" if x is None else "%.2f MB" % (x / 1e6)

    recs = []
    for n in rows:
        d, r, b = F["db%d" % n], F["report%d" % n], F["dash%d" % n]
        rep, exp = best(r["report_s"]), best(r["export_s"])
        draws = [c.get("browser_seconds") if c.get("done") and not c.get("errors") else None
                 for c in r["draws"]]
        ldraws = [c.get("browser_seconds") if c.get("done") and not c.get("errors") else None
                  for c in b["draws"]]
        first = best(b["first_s"])
        rec = {"kind": "study", "steps": n, "database": d,
               "report_s": r["report_s"], "report_best_s": rep, "report_bytes": r["bytes"],
               "export_s": r["export_s"], "export_best_s": exp,
               "report_over_export": rep / exp if rep and exp else None,
               "report_draws": r["draws"], "report_draw_best_s": best(draws),
               "report_drawn_ms_best": best([c.get("drawn_ms") for c in r["draws"]]),
               "dashboard_first_get_s": b["first_s"], "dashboard_first_get_best_s": first,
               "dashboard_first_over_export": first / exp if first and exp else None,
               "json_bytes": b["bytes"], "json_gzip_bytes": b["gz_bytes"],
               "gzip_get_s": b["gz_s"], "not_modified_ms": b["nm_ms"],
               "not_modified_median_ms": med(b["nm_ms"]), "not_modified_codes": b["nm_codes"],
               "studies_ms": b["studies_ms"], "studies_median_ms": med(b["studies_ms"]),
               "live_draws": b["draws"], "live_draw_best_s": best(ldraws),
               "load_before": r["load"]}
        rec["live_over_report_draw"] = (rec["live_draw_best_s"] / rec["report_draw_best_s"]
                                        if rec["live_draw_best_s"] and rec["report_draw_best_s"] else None)
        recs.append(rec)
        jl.write(json.dumps(rec) + "\n")
    inc = F.get("live")
    if inc:
        jl.write(json.dumps(dict(kind="live", steps=30, **inc)) + "\n")

    out = [open(head_path).read().rstrip("\n"), ""]
    w = 26
    def line(label, vals):
        out.append(("%-" + str(w) + "s") % label + "".join("%18s" % v for v in vals))
    line("learning curves", ["%d steps" % n for n in rows])
    line("trials c/p/f", ["%d/%d/%d" % (F["db%d" % n]["complete"], F["db%d" % n]["pruned"],
                                         F["db%d" % n]["fail"]) for n in rows])
    line("reports", ["{:,}".format(F["db%d" % n]["reports"]) for n in rows])
    line("database", [mb(F["db%d" % n]["db_bytes"]) for n in rows])
    out.append("caviar report")
    line("  report -o r.html", [f(r["report_best_s"], "%.2f s") for r in recs])
    line("  export json (reference)", [f(r["export_best_s"], "%.2f s") for r in recs])
    line("  report / export", [f(r["report_over_export"], "%.2fx") for r in recs])
    line("  r.html size", [mb(r["report_bytes"]) for r in recs])
    line("  Chromium draws it", [f(r["report_draw_best_s"], "%.1f s") for r in recs])
    line("  (the page's own clock)", [f(r["report_drawn_ms_best"] / 1000 if r["report_drawn_ms_best"] else None,
                                        "%.1f s") for r in recs])
    line("  charts drawn", ["%s/%s" % (r["report_draws"][0].get("charts_finished"), r["report_draws"][0].get("charts"))
                            if r["report_draws"] else "-" for r in recs])
    out.append("caviar dashboard")
    line("  first GET /api/study", [f(r["dashboard_first_get_best_s"], "%.2f s") for r in recs])
    line("  first GET / export", [f(r["dashboard_first_over_export"], "%.2fx") for r in recs])
    line("  JSON plain", [mb(r["json_bytes"]) for r in recs])
    line("  JSON gzip", [mb(r["json_gzip_bytes"]) for r in recs])
    line("  If-None-Match (304)", [f(r["not_modified_median_ms"], "%.2f ms") for r in recs])
    line("  GET /api/studies", [f(r["studies_median_ms"], "%.2f ms") for r in recs])
    line("  Chromium draws /study", [f(r["live_draw_best_s"], "%.1f s") for r in recs])
    line("  live / report draw", [f(r["live_over_report_draw"], "%.2fx") for r in recs])
    line("  live renders", [str(r["live_draws"][0].get("renders")) if r["live_draws"] else "-" for r in recs])
    line("load avg before", [r["load_before"] for r in recs])
    out.append("")
    out.append("report, export: wall seconds, best of 3; Chromium: from navigation until the page's "
               "self-check says every chart is drawn, best of 3 (tests/report_browser.js; Chromium's "
               "start not counted). First GET: a fresh dashboard each time (open, read, build the JSON), "
               "best of 3; 304 and /api/studies: median of 20 (curl time_total); the live page is drawn "
               "against a dashboard that has built the JSON already.")
    bad = []
    for r in recs:
        codes = set(r["not_modified_codes"])
        if codes != {304}:
            bad.append("%d steps: the conditional GETs answered %s, not only 304" % (r["steps"], sorted(codes)))
        for what, draws in (("report", r["report_draws"]), ("live page", r["live_draws"])):
            for c in draws:
                if not c.get("done") or c.get("errors"):
                    bad.append("%d steps: the %s did not finish drawing cleanly: %s" % (r["steps"], what, c))
        for what, x in (("report", r["report_best_s"]), ("dashboard's first GET", r["dashboard_first_get_best_s"]),
                        ("report's draw", r["report_draw_best_s"]), ("live page's draw", r["live_draw_best_s"])):
            if x is not None and x > 3:
                bad.append("%d steps: the %s took %.1f s (more than 3 s)" % (r["steps"], what, x))
    if inc:
        out.append("")
        out.append("live update, 30-step study: `caviar tune` resumes it by %d trials (--jobs 2) while "
                   "the dashboard (--refresh %g) is asked every %g s with its ETag"
                   % (F["live_added"], inc["refresh_s"], inc["poll_interval_s"]))
        out.append("  tune ran %s s; versions %s -> %s; %d new ETags, %d answers 304"
                   % (f(inc["tune_s"], "%.1f"), inc["version_before"], inc["version_after"],
                      inc["rebuilds"], inc["not_modified"]))
        out.append("  first change in the database -> new ETag: %s (that GET, which rebuilt the JSON: %s)"
                   % (f(inc["first_new_etag_after_change_s"], "%.2f s"), f(inc["first_rebuild_request_s"], "%.2f s")))
        out.append("  GETs that rebuilt: median %s, slowest %s; JSON after: %s"
                   % (f(inc["rebuild_request_median_s"], "%.2f s"), f(inc["rebuild_request_max_s"], "%.2f s"),
                      mb(inc["bytes_after"])))
        out.append("  last change -> ETag of the final version: %s"
                   % (f(inc["final_etag_after_last_change_s"], "%.2f s") if inc["caught_up"]
                      else "never, within 30 s of the tune's end"))
        if not inc["caught_up"]:
            bad.append("live update: the dashboard never served the final version")
    out.append("")
    out.append("notes:" if bad else "notes: none (every page drew, every figure under 3 s, every 304 a 304)")
    out += ["  " + b for b in bad]
    text = "\n".join(out) + "\n"
    open(txt, "a").write(text)
    sys.stdout.write(text)
    jl.write(json.dumps({"kind": "summary", "notes": bad}) + "\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"gen": gen, "verify": verify, "check": check, "get": get, "poll": poll,
              "summary": summary}[cmd](*args) or 0)
PY

# The live page's driver: tests/report_browser.js, opening an http:// URL as it is.
if [ -n "$chromium" ]; then
    sed "s|^const url = 'file://' + file .*|const url = target;|" "$repo/tests/report_browser.js" >live_browser.js
    grep -q '^const url = target;$' live_browser.js || {
        echo "run_report_bench.sh: tests/report_browser.js no longer has the line 'const url = 'file://' + file ...' this script replaces" >&2
        exit 1
    }
fi

: >facts.txt
fact() { printf '%s %s\n' "$1" "$2" >>facts.txt; } # fact KEY JSON
: >commands.txt
cmd_note() { printf '%s\n' "$*" | sed -e "s|$caviar|caviar|g" -e "s|$work/||g" >>commands.txt; }

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
chromium_version="not installed"
if [ -n "$chromium" ]; then chromium_version=$("$chromium" --version 2>/dev/null | head -n 1); fi
http_client="python http.client"
if [ -n "$curl" ]; then http_client=$(curl --version | head -n 1 | cut -d' ' -f1-2); fi
caviar_version=$("$caviar" --version 2>/dev/null || echo '?')
{
    echo "caviar report and dashboard on 10,000-trial studies, run $stamp"
    echo "machine: $(nproc) CPUs ($cpu_model), $(uname -sm), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); load average at the start $(loadavg)"
    echo "caviar: $caviar_version, build type ${build_type:-?} ($build), git $commit$([ "$dirty" = true ] && echo ' (uncommitted changes in the tree)')"
    echo "Chromium: $chromium_version; HTTP: $http_client; node $(node --version); $("$python" --version 2>&1), SQLite $("$python" -c 'import sqlite3; print(sqlite3.sqlite_version)')"
} >head.txt
cat head.txt
echo
fact run "{\"date\": \"$stamp\", \"commit\": \"$commit\", \"dirty\": $dirty, \"host\": \"$(hostname)\", \"kernel\": \"$(uname -r)\", \"chromium\": \"$chromium_version\", \"node\": \"$(node --version)\", \"http_client\": \"$http_client\"}"
fact machine "{\"cpu\": \"$cpu_model\", \"cpus\": $(nproc), \"load_at_start\": \"$(loadavg)\", \"caviar\": \"$caviar_version\", \"build_type\": \"${build_type:-}\", \"build_dir\": \"$build\"}"

# ---- 1. the databases ----

total=10000
seed_trials=200
steps_list="5 30 100"
# the pruner's check interval: about five checks per trial whatever the curve's length
interval_of() { case $1 in 5) echo 1 ;; 30) echo 6 ;; *) echo 20 ;; esac; }
sweep_yaml() { # sweep_yaml STEPS: the sweep file of the study curvesSTEPS
    cat <<EOF
name: curves$1
program: $work/curve.awk
method: random
metric: {name: val_loss, goal: minimize}
pruner: {name: percentile, percentile: 92, n_warmup_steps: 1, interval_steps: $(interval_of "$1")}
parameters:
  lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}
  beta1: {distribution: one_minus_log_uniform_values, min: 0.8, max: 0.999}
  units: {distribution: int_uniform, min: 16, max: 1024}
  layers: {distribution: int_uniform, min: 1, max: 6}
  dropout: {distribution: uniform, min: 0, max: 0.5}
  optimizer: {values: [adam, adamw, sgd, rmsprop]}
command:
  - \${env}
  - awk
  - -f
  - \${program}
  - epochs=$1
  - \${args_no_hyphens}
EOF
}

for n in $steps_list; do
    echo "making the $n-step study: caviar tune for $seed_trials trials, then up to $total from Python ..."
    sweep_yaml "$n" >"s$n.yaml"
    t0=$(now)
    cmd_note "$caviar" tune "$work/s$n.yaml" --trials $seed_trials --jobs 2 --seed "$n" --storage "db$n.db" --quiet
    "$caviar" tune "s$n.yaml" --trials $seed_trials --jobs 2 --seed "$n" --storage "db$n.db" --quiet >"tune$n.out" 2>&1 || {
        tail -n 20 "tune$n.out" >&2
        echo "run_report_bench.sh: caviar tune failed" >&2
        exit 1
    }
    seed_s=$(since "$t0")
    gen=$("$python" bench.py gen "db$n.db" "curves$n" "$n" $total "$n" 1 "$(interval_of "$n")" 92) || exit 1
    read -r added synth_reports gen_s <<<"$gen"
    cmd_note "python3 (bench.py gen) db$n.db: trials $seed_trials..$((total - 1)) written with sqlite3"
    # Readable by caviar, and as made: the counts, the parameters' types, the reports' steps.
    "$caviar" studies --storage "db$n.db" >"studies$n.txt"
    "$caviar" trials --storage "db$n.db" --limit 3 >"trials$n.txt"
    "$caviar" export --storage "db$n.db" --format json >"export$n.json"
    cmd_note "$caviar" studies --storage "db$n.db"
    cmd_note "$caviar" trials --storage "db$n.db" --limit 3
    cmd_note "$caviar" export --storage "db$n.db" --format json
    v=$("$python" bench.py verify "export$n.json" "$n" $total) || {
        echo "run_report_bench.sh: the $n-step study is not as made: $v" >&2
        exit 1
    }
    grep -q "curves$n .* $total " "studies$n.txt" || {
        cat "studies$n.txt" >&2
        echo "run_report_bench.sh: caviar studies does not show $total trials" >&2
        exit 1
    }
    head -c 300 "export$n.json" | head -n 2 | cut -c1-160
    cat "trials$n.txt"
    rm -f "export$n.json"
    bytes=$(stat -c %s "db$n.db")
    fact "db$n" "$(printf '%s' "$v" | sed "s/}\$/, \"db_bytes\": $bytes, \"seed_trials\": $seed_trials, \"seed_tune_s\": $seed_s, \"python_trials\": $added, \"python_reports\": $synth_reports, \"python_s\": $gen_s}/")"
    echo "  $v"
    echo "  caviar tune ($seed_trials trials) $seed_s s, Python ($added trials) $gen_s s; $((bytes / 1000000)) MB"
done
rm -rf caviar-logs
fact steps "[${steps_list// /, }]"

# ---- 2. caviar report against caviar export, and Chromium ----

# draw URL_OR_FILE CHECK DRIVER: one Chromium draw; prints the check's summary line.
draw() {
    if [ -z "$chromium" ]; then echo '{}'; return; fi
    node "$3" "$chromium" "$1" "$2" >/dev/null 2>"$2.err" || true
    "$python" bench.py check "$2"
}
jlist() { local IFS=,; echo "[$*]"; } # jlist A B C: [A,B,C]

for n in $steps_list; do
    echo "caviar report, $n steps ..."
    load=$(loadavg)
    rep=() exp=() draws=()
    for i in 1 2 3; do
        t0=$(now)
        "$caviar" report --storage "db$n.db" -o r.html 2>report.err || { cat report.err >&2; exit 1; }
        rep+=("$(since "$t0")")
        t0=$(now)
        "$caviar" export --storage "db$n.db" --format json >/dev/null
        exp+=("$(since "$t0")")
    done
    cmd_note "$caviar" report --storage "db$n.db" -o r.html "  # 3 times"
    cmd_note "$caviar" export --storage "db$n.db" --format json ">/dev/null  # 3 times"
    bytes=$(stat -c %s r.html)
    for i in 1 2 3; do draws+=("$(draw r.html "check$n-$i.json" "$repo/tests/report_browser.js")"); done
    cmd_note node tests/report_browser.js "$chromium" r.html "check.json  # 3 times"
    fact "report$n" "{\"report_s\": $(jlist "${rep[@]}"), \"export_s\": $(jlist "${exp[@]}"), \"bytes\": $bytes, \"draws\": $(jlist "${draws[@]}"), \"load\": \"$load\"}"
    echo "  report ${rep[*]} s; export ${exp[*]} s; $bytes bytes; draws: $(for d in "${draws[@]}"; do printf '%s ' "$(printf '%s' "$d" | sed -n 's/.*"browser_seconds": \([0-9.]*\).*/\1/p')"; done)"
done
rm -f r.html

# ---- 3. caviar dashboard ----

# start_dashboard DB: sets dash_pid and dash_url (the first line of its output).
start_dashboard() {
    "$caviar" dashboard --storage "$1" --port 0 >dash.out 2>dash.err &
    dash_pid=$!
    dash_url=
    for _ in $(seq 100); do
        dash_url=$(head -n 1 dash.out)
        [ -n "$dash_url" ] && break
        kill -0 "$dash_pid" 2>/dev/null || { cat dash.err >&2; echo "run_report_bench.sh: caviar dashboard exited" >&2; exit 1; }
        sleep 0.1
    done
    [[ $dash_url =~ ^http:// ]] || { cat dash.err >&2; echo "run_report_bench.sh: caviar dashboard printed '$dash_url'" >&2; exit 1; }
}
stop_dashboard() {
    kill -TERM "$dash_pid"
    local st=0
    wait "$dash_pid" || st=$?
    dash_pid=""
    [ "$st" = 0 ] || { cat dash.err >&2; echo "run_report_bench.sh: caviar dashboard exited $st on SIGTERM" >&2; exit 1; }
}
# fetch URL [HEADER...]: "CODE SECONDS BYTES ETAG ENCODING" (curl, or Python without it).
fetch() {
    local url=$1
    shift
    if [ -n "$curl" ]; then
        local args=() h
        for h in "$@"; do args+=(-H "$h"); done
        curl -s -o /dev/null -D fetch.hdr "${args[@]}" -w '%{http_code} %{time_total} %{size_download}' "$url"
        printf ' %s %s\n' "$(tr -d '\r' <fetch.hdr | sed -n 's/^[Ee][Tt][Aa][Gg]: //p' | head -n 1)" \
            "$(tr -d '\r' <fetch.hdr | sed -n 's/^[Cc]ontent-[Ee]ncoding: //p' | head -n 1)"
    else
        "$python" bench.py get "$url" "$@"
    fi
}

for n in $steps_list; do
    echo "caviar dashboard, $n steps ..."
    first=()
    for i in 1 2 3; do
        start_dashboard "db$n.db"
        read -r code secs size etag _ < <(fetch "${dash_url}api/study/curves$n")
        [ "$code" = 200 ] || { echo "run_report_bench.sh: GET /api/study/curves$n: $code" >&2; exit 1; }
        first+=("$secs")
        if [ "$i" -lt 3 ]; then stop_dashboard; fi
    done
    plain=$size
    read -r code gz_secs gz_size _ enc < <(fetch "${dash_url}api/study/curves$n" 'Accept-Encoding: gzip')
    [ "$enc" = gzip ] || echo "  note: Accept-Encoding: gzip was answered without Content-Encoding: gzip" >&2
    nm=() nm_codes=() st=()
    for i in $(seq 20); do
        read -r code secs _ < <(fetch "${dash_url}api/study/curves$n" "If-None-Match: $etag")
        nm+=("$(awk -v s="$secs" 'BEGIN { printf "%.3f", 1000 * s }')")
        nm_codes+=("$code")
        read -r code secs _ < <(fetch "${dash_url}api/studies")
        st+=("$(awk -v s="$secs" 'BEGIN { printf "%.3f", 1000 * s }')")
    done
    draws=()
    for i in 1 2 3; do draws+=("$(draw "${dash_url}study/curves$n" "live$n-$i.json" live_browser.js)"); done
    stop_dashboard
    cmd_note "$caviar" dashboard --storage "db$n.db" --port 0 "  # 3 times, each: GET /api/study/curves$n"
    cmd_note "curl -H 'Accept-Encoding: gzip' /api/study/curves$n; 20 x (curl -H 'If-None-Match: ETAG' /api/study/curves$n; curl /api/studies)"
    cmd_note node live_browser.js "$chromium" "http://127.0.0.1:PORT/study/curves$n" "live.json  # 3 times"
    fact "dash$n" "{\"first_s\": $(jlist "${first[@]}"), \"bytes\": $plain, \"gz_bytes\": $gz_size, \"gz_s\": $gz_secs, \"nm_ms\": $(jlist "${nm[@]}"), \"nm_codes\": $(jlist "${nm_codes[@]}"), \"studies_ms\": $(jlist "${st[@]}"), \"draws\": $(jlist "${draws[@]}")}"
    echo "  first GET ${first[*]} s, $plain bytes ($gz_size gzipped); 304 in ${nm[0]} ms ...; live draws: $(for d in "${draws[@]}"; do printf '%s ' "$(printf '%s' "$d" | sed -n 's/.*"browser_seconds": \([0-9.]*\).*/\1/p')"; done)"
done

# ---- 4. a live update: trials added while the dashboard serves the 30-step study ----

added=200
echo "live update: $added trials added to the 30-step study while the dashboard is polled ..."
start_dashboard db30.db
cmd_note "$caviar" dashboard --storage db30.db --port 0
cmd_note "$caviar" tune "$work/s30.yaml" --trials $((total + added)) --jobs 2 --storage db30.db --quiet "  # meanwhile, GET /api/study/curves30 with If-None-Match every 0.1 s"
live=$("$python" bench.py poll "${dash_url}api/study/curves30" db30.db 2 \
    "$caviar" tune s30.yaml --trials $((total + added)) --jobs 2 --storage db30.db --quiet) || exit 1
stop_dashboard
fact live "$live"
fact live_added "$added"
echo "  $live"

# ---- the table ----

bench_end=$(date +%s.%N)
echo
: >"$out"
: >"$text"
"$python" bench.py summary facts.txt "$out" "$text" head.txt
{
    echo
    echo "whole benchmark: $(awk -v a="$bench_start" -v b="$bench_end" 'BEGIN { printf "%.0f", b - a }') s wall; load average at the end $(loadavg)"
    echo "The studies: sweep s<STEPS>.yaml (program curve.awk run by awk, a percentile pruner at 92 checked"
    echo "every 1, 6 or 20 steps from step 1), the first $seed_trials trials by caviar tune, the rest written"
    echo "by Python's sqlite3 with the same model and pruning rule (bench.py gen, inside this script)."
    echo "Commands, in order (in a temporary directory):"
    sed 's/^/  /' commands.txt
} | tee -a "$text"
echo
echo "results: $text and $out"
