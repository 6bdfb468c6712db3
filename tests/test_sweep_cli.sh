#!/usr/bin/env bash
# test_sweep_cli.sh CAVIAR — `caviar tune FILE` end to end with sweep files: the built-in
# trainer with the file's space, a program as objective (W&B's command macros, metric lines,
# pruning observed), a grid run to exhaustion, resuming after an interruption, and a worker
# joining from the study's own copy of the file.
set -euo pipefail
caviar=$(realpath "$1")
examples=$(realpath "$(dirname "$0")/../examples")
dir=$(mktemp -d "${TMPDIR:-/tmp}/caviar-sweep-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
# A field of a one-line JSON summary (numbers only).
field() {
    sed -n "s/.*\"$2\": \\([-0-9.e]*\\).*/\\1/p" "$1" | head -n 1
}

# ---- the built-in trainer with the file's search space ----------------------------------------
cat >mlp.yaml <<'EOF'
objective: {data: spirals, epochs: 12}
method: random
metric: {name: dev_accuracy, goal: maximize}
budget: {trials: 6}
jobs: 2
parameters:
  lr: {distribution: log_uniform_values, min: 1e-3, max: 1e-1}
  units: {values: [16, 32]}
  n_layers: {min: 1, max: 2}
  activation: {values: [relu, tanh]}
EOF
"$caviar" tune mlp.yaml --json --quiet >mlp.json 2>mlp.err || fail "mlp sweep: $(cat mlp.err)"
[ "$(field mlp.json trials)" = 6 ] || fail "mlp sweep: $(cat mlp.json)"
grep -q '"study": "mlp"' mlp.json || fail "the study is named after the file: $(cat mlp.json)"
grep -q '"activation": "' mlp.json || fail "categorical values shown as such: $(cat mlp.json)"
grep -q '"test_accuracy": ' mlp.json || fail "the best trial's test accuracy: $(cat mlp.json)"

# A name the trainer does not know is a configuration error that says where to look.
cat >typo.yaml <<'EOF'
objective: {data: spirals}
method: random
parameters:
  lerning_rate: {min: 0.001, max: 0.1}
EOF
status=0
"$caviar" tune typo.yaml >out 2>err || status=$?
[ "$status" = 2 ] || fail "typo.yaml: status $status"
grep -q "the built-in trainer has no hyperparameter 'lerning_rate'" err || fail "typo: $(cat err)"

# ---- a program as objective: metric lines, W&B macros, pruning ---------------------------------
cat >train.sh <<'EOF'
#!/bin/sh
# A learning curve that settles at x^2 + 1; bad x are bad from the first step.
for a in "$@"; do case "$a" in --x=*) x=${a#--x=};; esac; done
s=1
while [ $s -le 6 ]; do
    echo "epoch $s of 6"                                   # ordinary output: only logged
    awk -v x="$x" -v s="$s" 'BEGIN { printf "{\"step\": %d, \"val_loss\": %.9f}\n", s, x * x + 1 + 1 / s }'
    s=$((s + 1))
done
EOF
chmod +x train.sh
cat >program.yaml <<'EOF'
program: ./train.sh
method: random
metric: {name: val_loss, goal: minimize}
run_cap: 24
parameters:
  x: {min: -3.0, max: 3.0}
pruner: {name: median, n_startup_trials: 4}
command:
  - ${program}
  - ${args}
EOF
"$caviar" tune program.yaml --jobs 2 --json --quiet >program.json 2>program.err ||
    fail "program sweep: $(cat program.err)"
[ "$(field program.json trials)" = 24 ] || fail "program sweep: $(cat program.json)"
[ "$(field program.json pruned)" -gt 0 ] || fail "no trial was pruned: $(cat program.json)"
[ -f caviar-logs/program/trial-0.log ] || fail "no log for trial 0"
grep -q "^epoch 1 of 6" caviar-logs/program/trial-0.log || fail "the log lacks the output"

# ---- a grid, run until every point is done ------------------------------------------------------
cat >grid.yaml <<'EOF'
objective: {data: spirals, epochs: 3}
method: grid
parameters:
  lr: {values: [0.01, 0.05]}
  units: {values: [8, 16, 32]}
EOF
"$caviar" tune grid.yaml --trials 100 --jobs 2 --json --quiet >grid.json 2>grid.err ||
    fail "grid: $(cat grid.err)"
[ "$(field grid.json trials)" = 6 ] || fail "the grid of 6 points ran $(field grid.json trials)"

# ---- interrupted, then resumed; a worker joins from the study's copy of the file --------------
cat >slow.yaml <<'EOF'
objective: {data: spirals, epochs: 400}
method: random
budget: {trials: 6}
parameters:
  lr: {distribution: log_uniform_values, min: 1e-3, max: 1e-2}
EOF
setsid "$caviar" tune slow.yaml --jobs 2 --quiet >slow.out 2>slow.err &
pid=$!
sleep 1.5
kill -INT -- "-$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 130 ] || fail "interrupted sweep: status $status: $(cat slow.err)"
sed -i 's/epochs: 400/epochs: 4/' slow.yaml   # an edited file resumes the same study
"$caviar" tune slow.yaml --jobs 1 --json --quiet >slow.json 2>slow.err ||
    fail "resume: $(cat slow.err)"
[ "$(field slow.json waiting)" = 0 ] && [ "$(field slow.json running)" = 0 ] ||
    fail "resume left trials behind: $(cat slow.json)"
requeued=$(field slow.json requeued)
[ "$(field slow.json trials)" = $((6 + requeued)) ] || fail "resume: $(cat slow.json)"
rm slow.yaml # the worker reads the file from the study
"$caviar" worker --storage caviar.db --study slow --json --quiet >w.json 2>w.err ||
    fail "worker: $(cat w.err)"
[ "$(field w.json run_here)" = 0 ] || fail "worker after the budget: $(cat w.json)"

# ---- the examples the README shows (the quick Fashion-MNIST one is the README's own test) ----
mkdir -p examples
cp -r "$examples/script" examples/
"$caviar" tune examples/script/sweep.yaml --jobs 2 --json --quiet >script.json 2>script.err ||
    fail "examples/script/sweep.yaml: $(cat script.err)"
[ "$(field script.json trials)" = 40 ] || fail "script sweep: $(cat script.json)"
grep -q '"study": "script-sweep"' script.json || fail "script sweep: $(cat script.json)"
"$caviar" tune "$examples/linear.yaml" --json --quiet >linear.json 2>linear.err ||
    fail "examples/linear.yaml: $(cat linear.err)"
[ "$(field linear.json trials)" = 30 ] || fail "linear: $(cat linear.json)"

if [ "$failures" -gt 0 ]; then
    echo "test_sweep_cli: $failures checks failed" >&2
    exit 1
fi
echo "test_sweep_cli: all checks passed"
