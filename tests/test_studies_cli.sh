#!/usr/bin/env bash
# test_studies_cli.sh — `caviar studies`, `trials`, `best`, `export`, `enqueue` and `delete` as a
# user meets them, on SQLite files in a temporary directory:
#   - a database with two studies made by `caviar tune` (branin; quadratic with a learning curve
#     and the median pruner), one with failing trials, one with the MLP objective (categorical
#     and int parameters, an attribute, maximised);
#   - each command's output: exact lines where they are stable, the rest cross-checked against
#     the JSON export (with python3 when it is there; JSON is validated by python3, else by
#     its shape), table columns aligned;
#   - sorting, state filters, limits; failed, re-queued and re-run trials marked;
#   - CSV (RFC 4180: header, CRLF, quoting, a value read back bit for bit) and JSON export
#     (intermediate values), -o writing atomically;
#   - enqueue, then a resumed tune runs that trial first with exactly those values;
#   - delete: the study goes, the other one stays exactly as it was, the name starts afresh;
#     confirmation on a terminal, --yes without one;
#   - the catalogue of bad invocations with their exact stderr and exit status 2;
#   - a PostgreSQL password never shown; --help lists every option.
# Every check runs; the exit status is 1 when any failed.
#
# usage: test_studies_cli.sh PATH/TO/caviar
set -euo pipefail

CAVIAR=${1:?usage: test_studies_cli.sh PATH/TO/caviar}
CAVIAR=$(cd "$(dirname "$CAVIAR")" && pwd)/$(basename "$CAVIAR")
work=$(mktemp -d /tmp/caviar-studies-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export CAVIAR

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run ARGS...: runs caviar with stdout in ./out and stderr in ./err; $status is its exit status.
status=0
run() {
    status=0
    "$CAVIAR" "$@" >out 2>err </dev/null || status=$?
    no_sanitizer_report err "caviar $*"
}

# no_sanitizer_report FILE WHAT: a sanitizer build's report is a failure wherever it shows.
no_sanitizer_report() {
    if grep -q -e "Sanitizer" -e "runtime error:" "$1"; then
        fail "$2: sanitizer report: $(cat "$1")"
    fi
}

# ok ARGS...: run, which must succeed with nothing on stderr.
ok() {
    run "$@"
    if [ "$status" -ne 0 ] || [ -s err ]; then
        fail "caviar $*: status $status, stderr: $(cat err)"
    fi
}

# tune ARGS...: caviar tune, which must succeed (its progress lines on stderr are its own).
tune() {
    run tune "$@"
    [ "$status" -eq 0 ] || fail "caviar tune $*: status $status, stderr: $(cat err)"
}

# expect_status STATUS 'EXACT STDERR' ARGS...: that exit status, nothing on stdout, exactly that
# on stderr.
expect_status() {
    local want_status=$1 want=$2
    shift 2
    run "$@"
    if [ "$status" -ne "$want_status" ] || [ -s out ] || [ "$(cat err)" != "$want" ]; then
        fail "caviar $*: status $status, stdout '$(cat out)', stderr:
$(cat err)
--- expected status $want_status and stderr:
$want"
    fi
}
expect_usage() { expect_status 2 "$@"; }

# hint CMD: the last line of a usage error.
hint() { echo "hint: 'caviar $1 --help' lists the options"; }

# expect_line FILE 'EXACT LINE': the file holds that line.
expect_line() {
    grep -qxF -- "$2" "$1" || fail "$1 lacks the line '$2':
$(cat "$1")"
}

# lines FILE: its number of lines.
lines() { wc -l <"$1" | tr -d ' '; }

have_python=0
PYTHON=python3
if command -v python3 >/dev/null 2>&1 && python3 -c 'import csv, json, pty, sqlite3' 2>/dev/null; then
    have_python=1
    PYTHON=$(python3 -c 'import sys; print(sys.executable)') # past any version-manager shim
fi

# py WHAT ARGS... <<'EOF' (a python3 program): its failure (an assertion) is a failed check;
# skipped without python3.
py() {
    local what=$1
    shift
    if [ "$have_python" -eq 0 ]; then
        cat >/dev/null
        return 0
    fi
    local pystatus=0
    "$PYTHON" - "$@" >py.out 2>&1 || pystatus=$?
    [ "$pystatus" -eq 0 ] || fail "$what: $(cat py.out)"
}

# json_ok FILE WHAT: FILE is one JSON document (python3), or at least looks like one.
json_ok() {
    if [ "$have_python" -eq 1 ]; then
        "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>py.out ||
            fail "$2: not JSON: $(cat py.out): $(head -c 400 "$1")"
    else
        grep -q '^[[{]' "$1" && grep -q '[]}]$' "$1" || fail "$2: not JSON: $(head -c 400 "$1")"
    fi
}

# aligned FILE WHAT: the columns of a table line up: every column starts (left-aligned) or ends
# (right-aligned) at the same offset in every row. Cells are runs of words one space apart.
aligned() {
    py "$2: columns not aligned" "$1" <<'EOF'
import re, sys
rows = [[(m.start(), m.end()) for m in re.finditer(r"\S+(?: \S+)*", line.rstrip("\n"))]
        for line in open(sys.argv[1])]
assert len(rows) >= 2, "no rows"
header = rows[0]
for c, (hs, he) in enumerate(header):
    cells = [r[c] for r in rows[1:] if c < len(r)]
    starts = {s for s, _ in cells}
    ends = {e for _, e in cells}
    assert len(starts) == 1 or len(ends) == 1, f"column {c}: starts {starts}, ends {ends}"
    assert all(s >= hs for s, _ in cells), f"column {c} starts before its header"
for r in rows:
    assert len(r) <= len(header), f"a row has more cells than the header: {r}"
EOF
}

# ---- studies to look at -----------------------------------------------------------------------

tune --objective branin --trials 12 --jobs 2 --storage s.db --json
tune --objective quadratic:epochs=4 --pruner median --trials 12 --jobs 2 --storage s.db --json
tune --objective mlp:data=spirals,epochs=2 --trials 6 --jobs 2 --storage m.db --json
tune --objective quadratic:fail=0.5 --trials 8 --jobs 1 --storage f.db --json --quiet
tune --objective quadratic:fail=1 --trials 2 --jobs 1 --storage nf.db --json --quiet

# The JSON exports every other check compares with.
for s in branin quadratic; do
    ok export --storage s.db --study "$s" --format json
    cp out "$s.json"
    json_ok "$s.json" "export $s"
done
ok export --storage m.db --format json
cp out mlp.json
ok export --storage f.db --format json
cp out fail.json

# Re-queued trials: a run stopped by Ctrl-C (SIGINT to its process group) ends its running trials
# FAIL "interrupted" and queues their re-runs.
setsid "$CAVIAR" tune --objective quadratic:epochs=20,sleep=0.05 --trials 4 --jobs 2 --storage i.db \
    --json >int.out 2>int.err &
int_pid=$!
# Interrupted once both workers run a trial (a loaded machine may take a while to get there).
for _ in $(seq 300); do
    n_running=$("$CAVIAR" trials --storage i.db --state running --json 2>/dev/null | grep -c '"number"' || true)
    [ "${n_running:-0}" -ge 2 ] && break
    sleep 0.1
done
kill -INT -- "-$int_pid" 2>/dev/null || true
int_status=0
wait "$int_pid" || int_status=$?
[ "$int_status" -eq 130 ] || fail "interrupted tune: status $int_status: $(cat int.err)"

# ---- caviar studies -----------------------------------------------------------------------------

ok studies --storage s.db
cp out studies.txt
[ "$(lines studies.txt)" -eq 3 ] || fail "studies: $(cat studies.txt)"
grep -qE '^study +direction +sampler +pruner +trials +complete +pruned +fail +running +waiting +best +trial$' \
    studies.txt || fail "studies: header: $(head -n 1 studies.txt)"
aligned studies.txt "studies"
py "studies: the lines" studies.txt branin.json quadratic.json <<'EOF'
import json, sys
rows = {l.split()[0]: l.split() for l in list(open(sys.argv[1]))[1:]}
for name, path, pruner in (("branin", sys.argv[2], "none"), ("quadratic", sys.argv[3], "median")):
    trials = json.load(open(path))
    done = [t for t in trials if t["state"] == "complete"]
    best = min(done, key=lambda t: (t["value"], t["number"]))
    n = {s: sum(t["state"] == s for t in trials)
         for s in ("complete", "pruned", "fail", "running", "waiting")}
    want = [name, "minimize", "random", pruner, str(len(trials)), str(n["complete"]),
            str(n["pruned"]), str(n["fail"]), str(n["running"]), str(n["waiting"]),
            "%.6g" % best["value"], str(best["number"])]
    assert rows[name] == want, f"{rows[name]} != {want}"
EOF
ok studies --storage s.db --json
cp out studies.json
json_ok studies.json "studies --json"
grep -q '"study": "branin", "direction": "minimize", "seed": 0, "sampler": "random", "sampler_settings": "", "pruner": "none", "pruner_settings": "", "trials": 12, "waiting": 0, "running": 0, "complete": 12, "pruned": 0, "fail": 0, "requeued": 0, "best": {"trial": ' \
    studies.json || fail "studies --json: $(cat studies.json)"
py "studies --json: the best values" studies.json branin.json <<'EOF'
import json, sys
s = {x["study"]: x for x in json.load(open(sys.argv[1]))}
assert list(s) == ["branin", "quadratic"], list(s)
done = [t for t in json.load(open(sys.argv[2])) if t["state"] == "complete"]
best = min(done, key=lambda t: (t["value"], t["number"]))
assert s["branin"]["best"] == {"trial": best["number"], "value": best["value"]}, s["branin"]
q = s["quadratic"]
assert q["complete"] + q["pruned"] == 12 and q["pruner"] == "median", q
EOF
ok studies --storage nf.db
[ "$(tail -n 1 out | awk '{print $1, $8, $11, $12}')" = "quadratic 2 - -" ] ||
    fail "studies with no complete trial: $(cat out)"

# ---- caviar trials ------------------------------------------------------------------------------

ok trials --storage s.db --study branin
cp out trials.txt
[ "$(lines trials.txt)" -eq 13 ] || fail "trials: $(cat trials.txt)"
grep -qE '^trial +state +value +duration +x1 +x2$' trials.txt ||
    fail "trials: header: $(head -n 1 trials.txt)"
aligned trials.txt "trials"
py "trials: the rows" trials.txt branin.json <<'EOF'
import json, sys
rows = [l.split() for l in list(open(sys.argv[1]))[1:]]
trials = json.load(open(sys.argv[2]))
assert len(rows) == len(trials) == 12
for r, t in zip(rows, trials):
    want = [str(t["number"]), t["state"], "%.6g" % t["value"]]
    assert r[:3] == want, f"{r} != {want}"
    assert r[3].endswith("s") and abs(float(r[3][:-1]) - t["duration"]) < 0.0011, (r, t)
    assert r[4:] == ["%.6g" % t["params"]["x1"], "%.6g" % t["params"]["x2"]], (r, t)
EOF

# --sort value: best first in the study's direction, trials without a value last.
for spec in "s.db branin branin.json min" "s.db quadratic quadratic.json min" \
    "f.db quadratic fail.json min" "m.db mlp mlp.json max"; do
    read -r db study json dir <<<"$spec"
    ok trials --storage "$db" --study "$study" --sort value
    cp out "sorted-$study-$db.txt"
    aligned "sorted-$study-$db.txt" "trials --sort value ($study in $db)"
    py "trials --sort value ($study in $db)" "sorted-$study-$db.txt" "$json" "$dir" <<'EOF'
import json, math, sys
got = [int(l.split()[0]) for l in list(open(sys.argv[1]))[1:]]
trials = json.load(open(sys.argv[2]))
sign = 1 if sys.argv[3] == "min" else -1
key = lambda t: (t["value"] is None, sign * (t["value"] or 0), t["number"])
want = [t["number"] for t in sorted(trials, key=key)]
assert got == want, f"{got} != {want}"
EOF
done
grep -q ' fail  .* -  .*the objective failed on purpose (fail=0.5)$' sorted-quadratic-f.db.txt ||
    fail "trials: no fail reason: $(cat sorted-quadratic-f.db.txt)"

# Re-queued trials are marked, and so are their re-runs.
ok trials --storage i.db
cp out int.txt
aligned int.txt "trials of an interrupted study"
[ "$(grep -cE '^ +[01]  fail +- +[0-9.]+s .*  interrupted; re-queued as trial [23]$' int.txt)" -eq 2 ] ||
    fail "trials: the interrupted trials: $(cat int.txt)"
[ "$(grep -cE '^ +[23]  waiting +- +- .*  re-run of trial [01]$' int.txt)" -eq 2 ] ||
    fail "trials: the re-runs: $(cat int.txt)"
ok export --storage i.db --format json
grep -q '"fail_reason": "interrupted", "requeued": true, "rerun": [23]' out ||
    fail "export: re-queued trials: $(cat out)"
grep -q '"retry_of": [01]' out || fail "export: re-runs: $(cat out)"
ok export --storage i.db
[ "$(grep -c $',fail,,.*,interrupted,,true\r$' out)" -eq 2 ] && [ "$(grep -c $',waiting,,.*,,[01],false\r$' out)" -eq 2 ] ||
    fail "export csv: re-queued trials: $(cat out)"

# --sort duration: longest first.
ok trials --storage s.db --study quadratic --sort duration
py "trials --sort duration" out <<'EOF'
import sys
d = [float(l.split()[3].rstrip("s")) for l in list(open(sys.argv[1]))[1:]]
assert d == sorted(d, reverse=True) and len(d) == 12, d
EOF

# --state, --limit.
ok trials --storage s.db --study quadratic --state pruned
n_pruned=$(grep -o '"state": "pruned"' quadratic.json | wc -l | tr -d ' ')
if [ "$n_pruned" -gt 0 ]; then
    [ "$(($(lines out) - 1))" -eq "$n_pruned" ] || fail "--state pruned: $(cat out)"
    [ "$(tail -n +2 out | awk '$2 != "pruned"' | wc -l)" -eq 0 ] || fail "--state pruned: $(cat out)"
    [ "$(tail -n +2 out | grep -cE ' at step [1-3]$')" -eq "$n_pruned" ] ||
        fail "trials: pruned trials lack their step: $(cat out)"
else
    expect_line out "no trials in study 'quadratic' in the states asked for"
fi
ok trials --storage s.db --study quadratic --state complete,pruned
[ "$(lines out)" -eq 13 ] || fail "--state complete,pruned: $(cat out)"
ok trials --storage f.db --state fail
[ "$(tail -n +2 out | awk '$2 != "fail"' | wc -l)" -eq 0 ] && [ "$(lines out)" -gt 1 ] ||
    fail "--state fail: $(cat out)"
ok trials --storage s.db --study branin --state waiting
[ "$(cat out)" = "no trials in study 'branin' in the states asked for" ] || fail "no waiting: $(cat out)"
ok trials --storage s.db --study branin --sort value --limit 3
[ "$(lines out)" -eq 4 ] || fail "--limit 3: $(cat out)"
best_branin=$(awk 'NR == 2 {print $1}' out)
ok trials --storage s.db --study branin --limit 100
[ "$(lines out)" -eq 13 ] || fail "--limit 100: $(cat out)"

# --json
ok trials --storage s.db --study quadratic --json --sort value --limit 5
cp out trials.json
json_ok trials.json "trials --json"
py "trials --json" trials.json quadratic.json <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
every = {t["number"]: t for t in json.load(open(sys.argv[2]))}
assert len(got) == 5
for t in got:
    full = dict(every[t["number"]])
    del full["intermediate"]
    assert t == full, f"{t} != {full}"
EOF

# ---- caviar best --------------------------------------------------------------------------------

ok best --storage s.db --study branin --json
cp out best.json
json_ok best.json "best --json"
grep -q "^{\"study\": \"branin\", \"direction\": \"minimize\", \"trial\": $best_branin, \"value\": " best.json ||
    fail "best --json: $(cat best.json)"
ok best --storage s.db --study branin
cp out best.txt
[ "$(lines best.txt)" -eq 4 ] || fail "best: $(cat best.txt)"
expect_line best.txt "params:"
py "best: the lines" best.txt best.json branin.json <<'EOF'
import json, sys
text = open(sys.argv[1]).read().splitlines()
b = json.load(open(sys.argv[2]))
trials = json.load(open(sys.argv[3]))
t = trials[b["trial"]]
assert t["value"] == b["value"] and t["params"] == b["params"], (t, b)
assert min(x["value"] for x in trials if x["state"] == "complete") == b["value"]
want = ["study 'branin': best trial %d of 12, value %.6g" % (b["trial"], b["value"]), "params:",
        "  x1  %.6g" % b["params"]["x1"], "  x2  %.6g" % b["params"]["x2"]]
assert text == want, f"{text} != {want}"
EOF
ok best --storage m.db
grep -qE '^study .mlp.: best trial [0-9]+ of 6, value 0\.[0-9]+$' out || fail "best mlp: $(cat out)"
expect_line out "attributes:"
grep -qE '^  test_accuracy  0\.[0-9]+$' out || fail "best mlp: no test_accuracy: $(cat out)"
grep -qE '^  decay +(none|cosine)$' out || fail "best mlp: no decay: $(cat out)"
ok best --storage m.db --json
json_ok out "best mlp --json"
grep -qE '"attrs": \{"test_accuracy": 0\.[0-9]+\}\}$' out || fail "best mlp --json: $(cat out)"
grep -qE '"decay": "(none|cosine)"' out || fail "best mlp --json: $(cat out)"
expect_status 1 "caviar best: study 'quadratic' has no complete trial yet" best --storage nf.db

# ---- caviar export ------------------------------------------------------------------------------

ok export --storage s.db --study branin
cp out branin.csv
[ "$(head -n 1 branin.csv)" = $'number,state,value,start,end,duration,param.x1,param.x2,fail_reason,retry_of,requeued\r' ] ||
    fail "export csv: header '$(head -n 1 branin.csv)'"
[ "$(lines branin.csv)" -eq 13 ] || fail "export csv: $(lines branin.csv) lines, not 13"
[ "$(grep -c $'\r$' branin.csv)" -eq 13 ] || fail "export csv: lines not ended by CRLF"
ok export --storage s.db --study branin --format csv
cmp -s out branin.csv || fail "--format csv differs from the default"
py "export csv" branin.csv branin.json best.json <<'EOF'
import csv, json, re, sys
from datetime import datetime
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
trials = json.load(open(sys.argv[2]))
best = json.load(open(sys.argv[3]))
assert len(rows) == 12
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
for r, t in zip(rows, trials):
    assert int(r["number"]) == t["number"] and r["state"] == t["state"]
    assert float(r["value"]) == t["value"], (r["value"], t["value"])  # bit for bit
    assert float(r["param.x1"]) == t["params"]["x1"] and float(r["param.x2"]) == t["params"]["x2"]
    assert iso.match(r["start"]) and iso.match(r["end"]), r
    assert r["start"] == t["start"] and r["end"] == t["end"]
    p = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    assert 0 <= float(r["duration"]) and abs(p(r["end"]) - p(r["start"]) - float(r["duration"])) < 0.002
    assert r["fail_reason"] == "" and r["retry_of"] == "" and r["requeued"] == "false"
# The best value read back from the CSV is the one 'caviar best' gives, to the bit.
assert float(rows[best["trial"]]["value"]) == best["value"]
EOF

# JSON: intermediate values; a complete trial's value is its last report.
py "export json" quadratic.json <<'EOF'
import json, sys
trials = json.load(open(sys.argv[1]))
assert len(trials) == 12
for t in trials:
    steps = [r["step"] for r in t["intermediate"]]
    assert steps == sorted(set(steps)) and steps and steps[0] == 1, t
    if t["state"] == "complete":
        assert steps == [1, 2, 3, 4] and t["intermediate"][-1]["value"] == t["value"], t
    else:
        assert t["state"] == "pruned" and len(steps) < 4, t
EOF
grep -q '"intermediate": \[{"step": 1, "value": ' quadratic.json || fail "export json: $(head -c 600 quadratic.json)"

# Attribute columns; conditional parameters left empty.
ok export --storage m.db
cp out mlp.csv
head -n 1 mlp.csv | grep -q '^number,state,value,start,end,duration,param\.lr,param\.batch_size,.*,attr\.test_accuracy,fail_reason,retry_of,requeued'$'\r''$' ||
    fail "export mlp: header '$(head -n 1 mlp.csv)'"
py "export mlp csv" mlp.csv mlp.json <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
trials = json.load(open(sys.argv[2]))
for r, t in zip(rows, trials):
    assert r["param.decay"] == t["params"]["decay"] and r["param.decay"] in ("none", "cosine")
    assert int(r["param.batch_size"]) == t["params"]["batch_size"]
    assert float(r["attr.test_accuracy"]) == t["attrs"]["test_accuracy"]
    for k in [k for k in r if k.startswith("param.units_")]:
        name = k[len("param."):]
        assert (r[k] == "") == (name not in t["params"]), (k, r[k], t["params"])
EOF

# Fail reasons; RFC 4180 quoting of what needs it (an attribute written behind caviar's back).
if [ "$have_python" -eq 1 ]; then
    "$PYTHON" - f.db <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO trial_attrs (study, number, key, value) VALUES (1, 0, ?, ?)",
           ("k,1", 'a, "b"\nc'))
db.execute("INSERT INTO trial_attrs (study, number, key, value) VALUES (1, 1, 'k,1', ' lead')")
db.commit()
EOF
    ok export --storage f.db
    cp out fail.csv
    grep -q $'^0,complete,.*,"a, ""b""$' fail.csv || fail "export: quoting: $(cat fail.csv)"
    head -n 1 fail.csv | grep -q ',"attr.k,1",' || fail "export: header quoting: $(head -n 1 fail.csv)"
    py "export: quoting" fail.csv fail.json <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
trials = json.load(open(sys.argv[2]))
assert len(rows) == len(trials) == 8
assert rows[0]["attr.k,1"] == 'a, "b"\nc' and rows[1]["attr.k,1"] == " lead", rows[:2]
for r, t in zip(rows, trials):
    assert r["fail_reason"] == t.get("fail_reason", ""), (r, t)
    assert (r["state"] == "fail") == (r["fail_reason"] == "the objective failed on purpose (fail=0.5)")
    assert (r["value"] == "") == (t["value"] is None)
EOF
fi

# -o: the same bytes, written through a temporary file that is renamed; an existing file is
# replaced; a failure leaves nothing behind.
echo old >out.csv
run export --storage s.db --study branin -o out.csv
[ "$status" -eq 0 ] && [ ! -s out ] || fail "export -o: status $status, stdout $(cat out)"
[ "$(cat err)" = "caviar export: 12 trials of study 'branin' written to 'out.csv'" ] ||
    fail "export -o: stderr '$(cat err)'"
cmp -s out.csv branin.csv || fail "export -o wrote other bytes than the standard output"
ls out.csv.tmp-* >/dev/null 2>&1 && fail "export -o left a temporary file"
[ "$(stat -c %a out.csv)" = "$(printf '%o' $((0666 & ~$(umask))))" ] ||
    fail "export -o: mode $(stat -c %a out.csv), umask $(umask)"
run export --storage s.db --study quadratic --format json --output q.json
[ "$status" -eq 0 ] && cmp -s q.json quadratic.json || fail "export --output json: status $status"
run export --storage s.db --study branin -o -
[ "$status" -eq 0 ] && cmp -s out branin.csv || fail "export -o -: status $status"
expect_status 1 "caviar export: cannot write 'nodir/x.csv': No such file or directory" \
    export --storage s.db --study branin -o nodir/x.csv
[ ! -e nodir ] || fail "export into a missing directory created something"

# ---- caviar enqueue, then a resumed tune runs it first ---------------------------------------------

ok enqueue --storage s.db --study branin x1=1.5 x2=2.25
[ "$(cat out)" = "study 'branin': trial 12 enqueued with x1=1.5 x2=2.25" ] || fail "enqueue: $(cat out)"
ok trials --storage s.db --study branin --state waiting
[ "$(lines out)" -eq 2 ] || fail "trials --state waiting after enqueue: $(cat out)"
tail -n 1 out | grep -qE '^ +12  waiting +- +-  +1\.5  +2\.25$' || fail "the waiting trial: $(cat out)"
ok studies --storage s.db
grep -qE '^branin +minimize +random +none +13 +12 +0 +0 +0 +1 ' out || fail "studies after enqueue: $(cat out)"
tune --objective branin --trials 14 --jobs 2 --storage s.db --json
ok export --storage s.db --study branin --format json
cp out branin2.json
py "the enqueued trial" branin2.json branin.json <<'EOF'
import json, math, sys
t = json.load(open(sys.argv[1]))
assert len(t) == 14 and t[:12] == json.load(open(sys.argv[2])), "the first 12 trials changed"
q, new = t[12], t[13]
assert q["state"] == "complete" and q["params"] == {"x1": 1.5, "x2": 2.25}, q
assert new["params"] != q["params"] and new["start"] >= q["start"], (q, new)
# The objective saw exactly these values: Branin-Hoo at (1.5, 2.25).
x1, x2 = 1.5, 2.25
b, c, t8 = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
f = (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t8) * math.cos(x1) + 10
assert abs(q["value"] - f) < 1e-9, (q["value"], f)
EOF
grep -q '"number": 12, "state": "complete", .*"params": {"x1": 1.5, "x2": 2.25}' branin2.json ||
    fail "the enqueued trial: $(grep '"number": 12' branin2.json)"

# Categorical, int and float values on the MLP objective; the resumed study runs them.
ok enqueue --storage m.db lr=0.01 batch_size=64 decay=cosine n_layers=2 units_1=100 units_2=50
[ "$(cat out)" = "study 'mlp': trial 6 enqueued with lr=0.01 batch_size=64 decay=cosine n_layers=2 units_1=100 units_2=50" ] ||
    fail "enqueue mlp: $(cat out)"
tune --objective mlp:data=spirals,epochs=2 --trials 7 --jobs 2 --storage m.db --json
ok export --storage m.db --format json
grep -q '"number": 6, "state": "complete", .*"params": {"lr": 0.01, "batch_size": 64, "n_layers": 2, "units_1": 100, "units_2": 50, "decay": "cosine"}' out ||
    fail "the enqueued mlp trial: $(grep '"number": 6' out)"

# Bad values and names.
e=(enqueue --storage s.db --study branin)
expect_usage "caviar enqueue: nothing to enqueue: give the values as NAME=VALUE
$(hint enqueue)" "${e[@]}"
expect_usage "caviar enqueue: invalid argument 'x1': expected NAME=VALUE
$(hint enqueue)" "${e[@]}" x1
expect_usage "caviar enqueue: invalid argument '=3': expected NAME=VALUE
$(hint enqueue)" "${e[@]}" =3
expect_usage "caviar enqueue: parameter 'x1' is given twice
$(hint enqueue)" "${e[@]}" x1=1 x2=2 x1=2
expect_usage "caviar enqueue: study 'branin' has no parameter 'x3'
hint: did you mean 'x1'?" "${e[@]}" x3=1
expect_usage "caviar enqueue: study 'branin' has no parameter 'learning_rate'
hint: its parameters are x1, x2" "${e[@]}" learning_rate=1
expect_usage "caviar enqueue: invalid value 'abc' for parameter 'x1': expected a number
$(hint enqueue)" "${e[@]}" x1=abc
expect_usage "caviar enqueue: invalid value 'nan' for parameter 'x2': expected a number
$(hint enqueue)" "${e[@]}" x2=nan
expect_usage "caviar enqueue: invalid value '' for parameter 'x2': expected a number
$(hint enqueue)" "${e[@]}" x2=
expect_usage "caviar enqueue: cannot enqueue a trial: 20 is not an admissible value of parameter 'x1' (float in [-5, 10])" \
    "${e[@]}" x1=20
expect_usage "caviar enqueue: invalid value '2.5' for parameter 'n_layers': expected an integer
$(hint enqueue)" enqueue --storage m.db n_layers=2.5
expect_usage "caviar enqueue: invalid value 'linear' for parameter 'decay': expected one of none, cosine
$(hint enqueue)" enqueue --storage m.db decay=linear
expect_usage "caviar enqueue: invalid value '100' for parameter 'batch_size': expected one of 32, 64, 128, 256, 512
$(hint enqueue)" enqueue --storage m.db batch_size=100
expect_usage "caviar enqueue: cannot enqueue a trial: 9 is not an admissible value of parameter 'n_layers' (int in [1, 3])" \
    enqueue --storage m.db n_layers=9
expect_usage "caviar enqueue: study 'mlp' has no parameter 'unit_1'
hint: did you mean 'units_1'?" enqueue --storage m.db unit_1=64
ok trials --storage m.db --state waiting
[ "$(cat out)" = "no trials in study 'mlp' in the states asked for" ] ||
    fail "a refused enqueue queued something: $(cat out)"

# ---- caviar delete ------------------------------------------------------------------------------

ok export --storage s.db --study branin --format json
cp out branin-before.json
ok export --storage s.db --study branin
cp out branin-before.csv
expect_usage "caviar delete: deleting study 'quadratic' needs --yes when the standard input is not a terminal
$(hint delete)" delete --storage s.db --study quadratic
ok delete --storage s.db --study quadratic --yes
[ "$(cat out)" = "deleted study 'quadratic' (12 trials) from s.db" ] || fail "delete: $(cat out)"
ok studies --storage s.db
[ "$(lines out)" -eq 2 ] && grep -qE '^branin +minimize +random +none +14 +14 ' out ||
    fail "studies after delete: $(cat out)"
ok export --storage s.db --study branin --format json
cmp -s out branin-before.json || fail "deleting quadratic changed branin (json)"
ok export --storage s.db --study branin
cmp -s out branin-before.csv || fail "deleting quadratic changed branin (csv)"
expect_usage "caviar trials: there is no study 'quadratic' in s.db
hint: it holds 'branin'" trials --storage s.db --study quadratic
expect_usage "caviar delete: there is no study 'quadratic' in s.db
hint: it holds 'branin'" delete --storage s.db --study quadratic --yes
# The only study is the default one now.
ok trials --storage s.db
[ "$(lines out)" -eq 15 ] || fail "trials with the only study as default: $(cat out)"
# The name again: a new study, from trial 0.
tune --objective quadratic:epochs=4 --pruner median --trials 3 --jobs 1 --storage s.db --json
grep -q '"trials": 3, ' out || fail "quadratic again: $(cat out)"
ok trials --storage s.db --study quadratic
[ "$(lines out)" -eq 4 ] && [ "$(awk 'NR == 2 {print $1}' out)" = 0 ] || fail "quadratic again: $(cat out)"

# On a terminal (a pseudo-terminal from python3): asked, and only "y" or "yes" deletes.
if [ "$have_python" -eq 1 ]; then
    for answer in n y; do
        "$PYTHON" - "$answer" >pty.out 2>&1 <<'EOF' || fail "delete on a terminal ($answer): $(cat pty.out)"
import os, pty, sys
answer = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.execv(os.environ["CAVIAR"], ["caviar", "delete", "--storage", "m.db", "--study", "mlp"])
seen = b""
while b"[y/N] " not in seen:
    chunk = os.read(fd, 1024)
    assert chunk, seen
    seen += chunk
os.write(fd, (answer + "\n").encode())
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
text = seen.decode().replace("\r\n", "\n")
assert "delete study 'mlp' and its 7 trials from m.db? [y/N] " in text, text
if answer == "n":
    assert os.WEXITSTATUS(status) == 1, (status, text)
    assert "caviar delete: study 'mlp' was not deleted" in text, text
else:
    assert os.WEXITSTATUS(status) == 0, (status, text)
    assert "deleted study 'mlp' (7 trials) from m.db" in text, text
EOF
        run studies --storage m.db
        if [ "$answer" = n ]; then
            grep -q '^mlp ' out || fail "'n' deleted the study: $(cat out)"
        else
            [ "$(cat out)" = "no studies in m.db" ] || fail "'y' did not delete: $(cat out)"
        fi
    done
    ok studies --storage m.db --json
    [ "$(cat out)" = "[]" ] || fail "studies --json of an empty database: $(cat out)"
fi

# ---- bad invocations ----------------------------------------------------------------------------

for c in studies trials best export enqueue delete; do
    expect_usage "caviar $c: unknown option '--bogus'
$(hint $c)" $c --bogus
    expect_usage "caviar $c: option '--storage' needs a value
$(hint $c)" $c --storage
done
expect_usage "caviar studies: unexpected argument 'extra'
$(hint studies)" studies --storage s.db extra
for c in trials best export delete; do
    expect_usage "caviar $c: unexpected argument 'extra'
$(hint $c)" $c --storage s.db --study branin extra
done
expect_usage "caviar studies: unknown option '--study'
$(hint studies)" studies --study branin
expect_usage "caviar trials: unknown option '-o'
$(hint trials)" trials -o x
expect_usage "caviar export: option '-o' needs a value
$(hint export)" export --storage s.db -o
for c in studies trials best export; do
    expect_usage "caviar $c: no study database at 'caviar.db'
hint: --storage names the database that 'caviar tune' wrote (default caviar.db)" $c
done
expect_usage "caviar trials: no study database at 'nowhere.db'
hint: --storage names the database that 'caviar tune' wrote (default caviar.db)" \
    trials --storage sqlite:///nowhere.db
expect_usage "caviar best: no study database at 'sub/nowhere.sqlite'
hint: --storage names the database that 'caviar tune' wrote (default caviar.db)" \
    best --storage sub/nowhere.sqlite
expect_usage "caviar enqueue: no study database at 'nowhere.db'
hint: --storage names the database that 'caviar tune' wrote (default caviar.db)" \
    enqueue --storage nowhere.db x=1
expect_usage "caviar delete: no study database at 'nowhere.db'
hint: --storage names the database that 'caviar tune' wrote (default caviar.db)" \
    delete --storage nowhere.db --study x --yes
[ ! -e caviar.db ] && [ ! -e nowhere.db ] && [ ! -e sub ] || fail "a missing database was created"
expect_usage "caviar best: ':memory:' is not a study database
hint: caviar.db, sqlite:PATH or postgresql://USER@HOST/DB" best --storage :memory:
expect_usage "caviar export: unknown storage 'mysql://h/d'
hint: a SQLite file ('caviar.db', 'sqlite:PATH') or a PostgreSQL URL ('postgresql://USER@HOST/DB')" \
    export --storage mysql://h/d
tune --objective hartmann6 --trials 2 --jobs 1 --storage s.db --json
expect_usage "caviar trials: s.db holds 3 studies: 'branin', 'quadratic' and 'hartmann6'
hint: --study NAME chooses one" trials --storage s.db
expect_usage "caviar best: there is no study 'nope' in s.db
hint: it holds 'branin', 'quadratic' and 'hartmann6'" best --storage s.db --study nope
for bad in done complete,,pruned ""; do
    expect_usage "caviar trials: invalid value '$bad' for --state: expected states among waiting, running, complete, pruned, fail (comma-separated)
$(hint trials)" trials --storage s.db --study branin --state "$bad"
done
expect_usage "caviar trials: invalid value 'speed' for --sort: expected number, value or duration
$(hint trials)" trials --storage s.db --study branin --sort speed
for bad in 0 -1 x; do
    expect_usage "caviar trials: invalid value '$bad' for --limit: expected a positive integer
$(hint trials)" trials --storage s.db --study branin --limit "$bad"
done
expect_usage "caviar export: invalid value 'xml' for --format: expected csv or json
$(hint export)" export --storage s.db --study branin --format xml
expect_usage "caviar delete: --study NAME is required: a deletion names its study
$(hint delete)" delete --storage s.db --yes
expect_usage "caviar enqueue: study 'hartmann6' has no parameter 'x7'
hint: did you mean 'x1'?" enqueue --storage s.db --study hartmann6 x7=0.5

# A PostgreSQL password never shows.
for c in studies "trials --study x" "best --study x" "export --study x" "enqueue --study x a=1" \
    "delete --study x --yes"; do
    set -f
    # shellcheck disable=SC2086
    run $c --storage postgresql://u:sekret@127.0.0.1:1/db
    set +f
    [ "$status" -eq 1 ] || fail "caviar $c on an unreachable server: status $status, not 1"
    if grep -q sekret out err; then
        fail "caviar $c shows the password: $(cat out err)"
    fi
    grep -q "cannot connect to 'postgresql://" err || fail "caviar $c: stderr '$(cat err)'"
done

# ---- --help -------------------------------------------------------------------------------------

check_help() {
    local c=$1
    shift
    run "$c" --help
    if [ "$status" -ne 0 ] || [ -s err ]; then
        fail "$c --help: status $status, stderr '$(cat err)'"
    fi
    for o in "$@"; do
        grep -qE -- "^  (-[a-z], )?$o( |$)" out || fail "$c --help does not list $o"
    done
    grep -q "^Exit status: 0 " out || fail "$c --help: no exit statuses"
}
check_help studies --storage --json --help
check_help trials --storage --study --state --sort --limit --json --help
check_help best --storage --study --json --help
check_help export --storage --study --format --output --help
grep -q "^  -o, --output FILE " out || fail "export --help does not list -o"
check_help enqueue --storage --study --help
check_help delete --storage --study --yes --help
run --help
for c in studies trials best export enqueue delete; do
    grep -q "^  $c " out || fail "caviar --help does not list $c"
done

# A program that fails with several lines on stderr: its note holds them, and the table still
# has one line per trial.
cat > failing.yaml <<'EOF'
name: failing
program: sh
method: random
metric: {name: loss, goal: minimize}
run_cap: 2
parameters:
  x: {min: 0.0, max: 1.0}
command: ['${program}', '-c', 'echo first line >&2; echo second line >&2; exit 3']
EOF
run tune failing.yaml --storage failing.db --quiet
run trials --storage failing.db
if [ "$(wc -l < out)" -ne 3 ] || ! grep -q "second line" out; then
    fail "trials of failed programs: not one line per trial:
$(cat out)"
fi

if [ "$have_python" -eq 0 ]; then
    echo "test_studies_cli: python3 not found: JSON and CSV contents checked by their shape only"
fi
if [ "$failures" -ne 0 ]; then
    echo "test_studies_cli: $failures checks failed" >&2
    exit 1
fi
echo "test_studies_cli: all checks passed"
