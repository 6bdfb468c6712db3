#!/usr/bin/env bash
# caviar retest end to end on the spirals data (a few seconds): the best configurations run
# again with fresh seeds as a linked study, the comparison table and its JSON, a second
# re-test under the next free name, --data, and the refusals; then caviar importance.
# usage: test_retest_cli.sh CAVIAR_BINARY
set -euo pipefail
caviar=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { grep -qE -- "$2" "$1" || { cat "$1" >&2; fail "'$2' not in $1"; }; }

cat > s.yaml <<'YAML'
name: rt
objective: {data: spirals, epochs: 4}
sampler: random
seed: 3
budget: {trials: 6}
parameters:
  lr: {distribution: log_uniform_values, min: 0.001, max: 0.3}
  units: {distribution: int_uniform, min: 8, max: 32}
YAML
"$caviar" tune s.yaml --storage r.db --jobs 2 > tune.out 2>&1
"$caviar" retest --storage r.db --top 3 --seeds 2 --jobs 2 > rt1.out 2> rt1.err
expect rt1.out "^re-testing the best 3 configuration\\(s\\) of study 'rt', 2 run\\(s\\) each, as study 'rt-retest'$"
expect rt1.out "^rank +trial +old value +new mean +new sd +new range +runs$"
[ "$(grep -cE '^ +[123] +[0-9]+ +[-0-9.e]+ +[-0-9.e]+ +[-0-9.e]+ +[-0-9.e]+\.\.[-0-9.e]+ +2/2$' rt1.out)" = 3 ] ||
    { cat rt1.out >&2; fail "not three rows of 2 runs each"; }
expect rt1.out "^ranking (holds|changed)"
# The old values are the study's best three, best first.
"$caviar" trials --storage r.db --study rt --sort value --limit 3 > best3.out
old=$(awk 'NR > 1 { print $1 }' best3.out | tr '\n' ' ')
new=$(awk '/^ +[123] +[0-9]+ / { print $2 }' rt1.out | tr '\n' ' ')
[ "$old" = "$new" ] || fail "re-tested trials '$new', the study's best three are '$old'"
# The re-test is a study of its own, linked to the old one, with 6 complete runs.
"$caviar" studies --storage r.db > studies.out
expect studies.out "^rt-retest +maximize +random +none +6 +6 "
# A second re-test goes to the next free name; --json gives the summary and the comparison.
"$caviar" retest --storage r.db --study rt --top 2 --seeds 1 --json > rt2.out 2> rt2.err
[ "$(wc -l < rt2.out)" = 2 ] || { cat rt2.out >&2; fail "--json: not two lines"; }
expect rt2.out '"retest": "rt-retest-2", "seeds": 1, "configs": \[\{"rank": 1, "trial": [0-9]+, "old": '
expect rt2.out '"ranking_holds": (true|false)\}$'
# --data: the built-in trainer on other data.
"$caviar" retest --storage r.db --study rt --top 1 --seeds 1 --data spirals > rt3.out 2>&1
expect rt3.out "as study 'rt-retest-3' on spirals$"
# Refusals.
rc=0; "$caviar" retest --storage r.db > e1.out 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "several studies without --study: exit $rc"
expect e1.out "r.db holds 4 studies"
rc=0; "$caviar" retest --storage r.db --study nope > e2.out 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "an unknown study: exit $rc"
rc=0; "$caviar" retest --storage r.db --study rt --top 0 > e3.out 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--top 0: exit $rc"
expect e3.out "invalid value '0' for --top"
cat > p.yaml <<'YAML'
name: prog
program: prog.sh
method: random
metric: {name: loss}
run_cap: 2
parameters: {x: {min: 0.0, max: 1.0}}
command: [/bin/sh, prog.sh, "${args}"]
YAML
printf '#!/bin/sh\necho "loss=0.5"\n' > prog.sh
"$caviar" tune p.yaml --storage p.db --jobs 1 > /dev/null 2>&1
rc=0; "$caviar" retest --storage p.db --data spirals > e4.out 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--data on a program study: exit $rc"
expect e4.out "--data is for the built-in trainer; study 'prog' runs a program"
# caviar importance on a study whose answer is known: Branin depends on both inputs, and an
# unused third parameter explains nothing.
"$caviar" tune --objective branin --sampler random --trials 200 --storage b.db --study br \
    --jobs 1 > /dev/null 2>&1
"$caviar" importance --storage b.db --study br > imp.out
expect imp.out "^study 'br': importance over 200 COMPLETE trials, 64 trees$"
expect imp.out "^ +[12] +x1 +[0-9.]+%"
expect imp.out "^ +[12] +x2 +[0-9.]+%"
"$caviar" importance --storage b.db --study br --json > imp.json
expect imp.json '^\{"study": "br", "trials": 200, "params": \[\{"name": "x[12]", "share": '
rc=0; "$caviar" importance --storage p.db > e5.out 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat e5.out >&2; fail "importance of the program study: exit $rc"; }
rc=0; "$caviar" importance --storage b.db --study br --trees 0 > e6.out 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--trees 0: exit $rc"
echo "test_retest_cli: ok"
