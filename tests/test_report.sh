#!/usr/bin/env bash
# caviar report end to end: studies of every kind are made with the caviar command, a report is
# written for each, and each report is opened in headless Chromium, which must draw every chart
# with the series and point counts that the study itself implies:
#   - mixed: the quadratic benchmark with a learning curve, the median pruner and failures
#     (complete, pruned and failed trials; a log-scale parameter); also its table filtered to
#     the pruned trials and sorted by value (a view named in the address's fragment);
#   - script: a program that reports and, for one choice of a categorical, fails after three
#     epochs (failed trials with curves; a categorical and a one-minus-log parameter);
#   - thin:  curves of 40 points, the best 3 kept whole and the others thinned to 16 points;
#   - c2f:   a coarse-to-fine study (rounds and their boxes);
#   - panda: a babysitting session on the spirals data with a rollback (days and a branch;
#            a one-minus-log momentum and a categorical batch size);
#   - pbt:   population-based training on the spirals data (lineages and exploits).
# The expectations come from `caviar export --format json` (tests/report_expect.js); the
# drawing from the page's own self-check, read in real time over the DevTools protocol
# (tests/report_browser.js), which also lists every URL the page fetched: a report must fetch
# nothing (self-contained, offline). Three negative controls prove the checks can fail: a
# report whose chart library is removed must fail in the browser, one that fetches an image
# must fail as not self-contained, and the c2f report checked against the mixed study's
# export must fail the expectations. Usage errors are checked too.
#
# Screenshots of each report are kept as artefacts in $CAVIAR_TEST_ARTEFACTS (default: the
# directory ctest runs the test in) and their paths printed. Exit 77 (skipped) when Chromium
# is not installed.
# usage: test_report.sh CAVIAR_BINARY
set -euo pipefail
caviar=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/browser_env.sh"   # chromium, fail, artefacts, work (exit 77 without Chromium)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OPENBLAS_NUM_THREADS=1

# Writes the report of study $2 in database $1 as $3.html (from another directory: the report
# needs nothing beside the binary), opens it, keeps a screenshot, and checks it.
check_report() {
    local db=$1 study=$2 name=$3 direction=$4
    (cd / && "$caviar" report --storage "$work/$db" --study "$study" -o "$work/$name.html") ||
        fail "caviar report of study '$study' failed"
    "$caviar" export --storage "$db" --study "$study" --format json > "$name.export.json"
    grep -q 'Apache ECharts' "$name.html" || fail "$name.html does not embed ECharts"
    node "$here/report_browser.js" "$chromium" "$name.html" "$name.check.json" \
        "$artefacts/report-$name.png" || { cat "$name.check.json" >&2 || true; fail "$name.html did not draw"; }
    node "$here/report_expect.js" "$name.export.json" "$name.check.json" "$direction" ||
        fail "$name.html does not show study '$study' as it is"
    echo "report of '$study': $(stat -c %s "$name.html") bytes; screenshot $artefacts/report-$name.png"
}

# ---- a study with complete, pruned and failed trials ----
"$caviar" tune --objective quadratic:epochs=6,fail=0.15 --pruner median:n_startup_trials=4 \
    --sampler tpe --trials 40 --jobs 2 --seed 7 --storage mixed.db --study mixed --quiet \
    > tune-mixed.txt 2>&1 || { cat tune-mixed.txt >&2; fail "tune (mixed) failed"; }
for state in complete pruned fail; do
    "$caviar" trials --storage mixed.db --state "$state" --json > "trials-$state.json"
    grep -q '"number"' "trials-$state.json" ||
        fail "the mixed study has no $state trial: $(cat tune-mixed.txt)"
done
check_report mixed.db mixed mixed minimize
# The table as a view: the pruned trials, by value.
node "$here/report_browser.js" "$chromium" "mixed.html#state=pruned&sort=value" view.check.json ||
    fail "mixed.html#state=pruned&sort=value did not draw"
node "$here/report_expect.js" mixed.export.json view.check.json minimize 'state=pruned&sort=value' ||
    fail "the table's view of the pruned trials by value is wrong"

# ---- a program that fails after a few epochs for one choice: failed trials with curves ----
cat > train.sh <<'EOF'
#!/bin/sh
# Reports val_loss per epoch; with --layers=3 it dies after epoch 3.
lr=0.1 momentum=0.9 layers=1
for a in "$@"; do
    case "$a" in
        --lr=*) lr=${a#--lr=} ;;
        --momentum=*) momentum=${a#--momentum=} ;;
        --layers=*) layers=${a#--layers=} ;;
    esac
done
for epoch in 1 2 3 4 5; do
    if [ "$layers" = 3 ] && [ "$epoch" = 4 ]; then echo "out of memory" >&2; exit 1; fi
    awk -v lr="$lr" -v m="$momentum" -v e="$epoch" 'BEGIN {
        printf "{\"epoch\": %d, \"val_loss\": %.6f}\n", e,
               (log(lr / 0.01) / log(10)) ^ 2 + 30 * (m - 0.95) ^ 2 + 1.5 / e }'
done
EOF
chmod +x train.sh
cat > script.yaml <<EOF
name: script
program: $work/train.sh
method: random
metric: {name: val_loss, goal: minimize}
run_cap: 12
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 1}
  momentum: {distribution: one_minus_log_uniform_values, min: 0.8, max: 0.999}
  layers: {values: [1, 2, 3]}
command: ['\${program}', '\${args}']
EOF
"$caviar" tune script.yaml --storage script.db --jobs 2 --seed 2 --quiet > tune-script.txt 2>&1 ||
    { cat tune-script.txt >&2; fail "tune (script) failed"; }
"$caviar" trials --storage script.db --state fail --json > script-fail.json
grep -q '"number"' script-fail.json || { cat tune-script.txt >&2; fail "the script study has no failed trial"; }
check_report script.db script script minimize
node -e 'const c = require(process.argv[1]).charts["chart-curves"].series;
         const s = c.find((x) => x.name === "failed: last report");
         process.exit(s && s.n > 0 ? 0 : 1)' "$work/script.check.json" ||
    fail "the failed trials' curves have no end marker"

# ---- thinned curves: 3 kept whole, the other 27 curves of 40 points thinned to 16 each ----
"$caviar" tune --objective quadratic:epochs=40 --trials 30 --jobs 2 --seed 5 --storage thin.db \
    --study thin --quiet > tune-thin.txt 2>&1 || { cat tune-thin.txt >&2; fail "tune (thin) failed"; }
"$caviar" report --storage thin.db --top 3 --points 100 -o thin.html 2> thin.err ||
    fail "caviar report --top 3 --points 100 failed: $(cat thin.err)"
"$caviar" export --storage thin.db --format json > thin.export.json
node "$here/report_browser.js" "$chromium" thin.html thin.check.json || fail "thin.html did not draw"
node "$here/report_expect.js" thin.export.json thin.check.json minimize '' 3 16 ||
    fail "the thinned curves are not what --top 3 --points 100 asks for"

# ---- coarse to fine ----
"$caviar" tune --objective quadratic:epochs=3 \
    --sampler coarse-to-fine:trials_per_round=10,rounds=3,k=3 --trials 35 --jobs 2 --seed 3 \
    --storage c2f.db --study c2f --quiet > tune-c2f.txt 2>&1 ||
    { cat tune-c2f.txt >&2; fail "tune (c2f) failed"; }
check_report c2f.db c2f c2f minimize

# ---- a panda session with a rollback ----
cat > panda.yaml <<'EOF'
name: spirals-panda
metric: {name: accuracy, goal: maximize}
objective: {data: spirals}
panda: {day_epochs: 2, seed: 3, start: {lr: 0.01}}
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 10}
  momentum: {distribution: one_minus_log_uniform_values, min: 0.5, max: 0.999}
  batch_size: {values: [16, 32, 64]}
  n_layers: {value: 2}
  units: {value: 32}
EOF
printf '%s\n' 'continue 2' 'set lr=0.03 batch_size=32' 'continue' 'rollback 2' \
    'set lr=0.1 momentum=0.99' 'continue 2' 'quit' > panda-script.txt
"$caviar" panda panda.yaml --storage panda.db --script panda-script.txt --no-chart \
    > panda.txt 2>&1 || { cat panda.txt >&2; fail "panda failed"; }
grep -q '^day 5 (from day 4' panda.txt || { cat panda.txt >&2; fail "the panda session did not train 5 days"; }
check_report panda.db spirals-panda panda maximize

# ---- population-based training ----
cat > pbt.yaml <<'EOF'
name: spirals-pbt
metric: {name: accuracy, goal: maximize}
objective: {data: spirals}
panda: {population: 4, epochs: 6, day_epochs: 1, quantile: 0.5, resample: 0.25, seed: 11}
parameters:
  lr: {distribution: log_uniform_values, min: 0.00001, max: 1}
  beta1: {distribution: one_minus_log_uniform_values, min: 0.5, max: 0.99}
  n_layers: {value: 2}
  units: {value: 32}
  optimizer: {value: adam}
EOF
"$caviar" pbt pbt.yaml --storage pbt.db > pbt.txt 2>&1 || { cat pbt.txt >&2; fail "pbt failed"; }
grep -q 'copied #' pbt.txt || { cat pbt.txt >&2; fail "the population never exploited"; }
check_report pbt.db spirals-pbt pbt maximize

# ---- negative controls: the checks can fail ----
# A report without its chart library draws nothing: the browser step must fail.
python3 - mixed.html broken.html <<'EOF' || fail "cannot make the broken report"
import sys
page = open(sys.argv[1], encoding='utf-8').read()
start = page.index('<script>\n', page.index('<!-- Apache ECharts'))
end = page.index('</script>', start)
open(sys.argv[2], 'w', encoding='utf-8').write(page[:start] + '<script>' + page[end:])
EOF
if node "$here/report_browser.js" "$chromium" broken.html broken.check.json 2> broken.err; then
    fail "a report without ECharts passed the browser check"
fi
grep -q 'echarts is not defined' broken.check.json ||
    fail "a report without ECharts failed for another reason: $(cat broken.check.json broken.err)"
# A report that fetches something (here from a closed port of this machine) is not
# self-contained: the expectations must say so.
sed 's|<pre id="caviar-check" hidden></pre>|&<img src="http://127.0.0.1:9/x.png" alt="">|' \
    mixed.html > fetching.html
grep -q '127.0.0.1:9' fetching.html || fail "cannot make the fetching report"
node "$here/report_browser.js" "$chromium" fetching.html fetching.check.json 2> fetching.err ||
    fail "fetching.html did not draw: $(cat fetching.err)"
if node "$here/report_expect.js" mixed.export.json fetching.check.json minimize > fetching.txt; then
    fail "a report that fetches a URL passed as self-contained"
fi
grep -q '127.0.0.1:9/x.png' fetching.txt || fail "unexpected mismatch report: $(cat fetching.txt)"
# The c2f report is not the mixed study: the expectations must say so.
if node "$here/report_expect.js" mixed.export.json c2f.check.json minimize > wrong.txt; then
    fail "the c2f report passed as the mixed study's"
fi
grep -q 'learning-curve points drawn' wrong.txt || fail "unexpected mismatch report: $(cat wrong.txt)"

# ---- usage errors ----
expect_exit() { # expected status, what the message must say, the command
    local want=$1 text=$2 got=0
    shift 2
    "$@" > out.txt 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat out.txt >&2; fail "'$*' exited $got, expected $want"; }
    grep -qF -- "$text" out.txt || { cat out.txt >&2; fail "'$*' did not say '$text'"; }
}
expect_exit 2 "no study database at 'nothere.db'" "$caviar" report --storage nothere.db
expect_exit 2 "there is no study 'nope' in mixed.db" "$caviar" report --storage mixed.db --study nope
expect_exit 2 "unknown option '--bogus'" "$caviar" report --bogus
expect_exit 2 "invalid value 'x' for --top" "$caviar" report --storage mixed.db --top x
expect_exit 2 "invalid value '0' for --points" "$caviar" report --storage mixed.db --points 0
expect_exit 0 "usage: caviar report" "$caviar" report --help
expect_exit 1 "cannot write 'no/such/dir/r.html'" "$caviar" report --storage mixed.db -o no/such/dir/r.html
"$caviar" report --storage mixed.db -o - > stdout.html || fail "report -o - failed"
[ "$(head -c 15 stdout.html)" = '<!DOCTYPE html>' ] ||
    fail "report -o - did not write the page to the standard output"
echo "test_report: all reports drawn as the studies say; screenshots in $artefacts"
