#!/usr/bin/env bash
# test_examples.sh CAVIAR — every example sweep file runs as shipped and ends with a best trial:
# examples/sweeps/*.yaml (W&B sweeps driving examples/sweeps/train.py, and the built-in trainer
# on Fashion-MNIST), examples/samplers/*.yaml (one per sampler), examples/linear.yaml and
# examples/script/sweep.yaml. Each runs from a scratch directory holding a link to examples/
# (programs are found relative to the working directory, as from the repository root, and
# caviar-logs/ lands there), with its database there too, on 2 workers. The program sweeps
# run a few trials each (--trials), the others their whole budget; caviar-mlp.yaml runs from a
# copy trained for one epoch. A run passes when caviar exits 0 and its summary names a best
# trial, with no failed trial (a failed trial is almost always train.py refusing what a sweep
# passes it).
# Without python3 the sweeps that run train.py are skipped, the rest still run, and the test
# exits 77 (skipped) unless something failed; without the Fashion-MNIST files (Debian's
# dataset-fashion-mnist) caviar-mlp.yaml is skipped the same way.
set -euo pipefail
caviar=$(realpath "$1")
root=$(realpath "$(dirname "$0")/..")
dir=$(mktemp -d "${TMPDIR:-/tmp}/caviar-examples-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
ln -s "$root/examples" examples
export OPENBLAS_NUM_THREADS=1
failures=0
skipped=()
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# python3 itself, not a wrapper: a version manager's shim (pyenv) can cost a second per start,
# which is most of a trial here. A link to the interpreter it resolves to comes first in PATH
# for ${interpreter} and for train.py's #! line alike.
python=
if command -v python3 >/dev/null 2>&1; then
    python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
fi
if [ -n "$python" ] && [ -x "$python" ]; then
    mkdir bin
    ln -s "$python" bin/python3
    export PATH="$dir/bin:$PATH"
else
    python=
fi

# The end of the newest trial log written since the file STAMP, if any (a program's trials
# only), to show why a trial failed.
newest_log() {
    local log
    log=$(find caviar-logs -name 'trial-*.log' -newer "$1" 2>/dev/null | xargs -r ls -t |
          head -n 1 || true)
    if [ -n "$log" ]; then
        echo "--- the end of $log:" >&2
        tail -n 15 "$log" >&2
    fi
}

# run FILE [TRIALS]: caviar tune FILE (with --trials TRIALS when given); checks the summary.
run() {
    local file=$1 study_db out start status=0
    study_db="$dir/$(echo "$file" | tr '/' '_').db"
    out="$dir/$(echo "$file" | tr '/' '_')"
    start=$SECONDS
    touch "$out.stamp"
    timeout 120 "$caviar" tune "$file" --storage "$study_db" --jobs 2 ${2:+--trials "$2"} \
        --json --quiet >"$out.json" 2>"$out.err" || status=$?
    echo "$file: $((SECONDS - start)) s"
    if [ "$status" != 0 ]; then
        fail "$file: exit status $status: $(cat "$out.err")"
        newest_log "$out.stamp"
        return
    fi
    grep -q '"best": {"trial": [0-9]' "$out.json" || fail "$file: no best trial: $(cat "$out.json")"
    grep -q '"fail": 0,' "$out.json" || {
        fail "$file: failed trials: $(cat "$out.json")"
        newest_log "$out.stamp"
    }
    if [ -n "${2:-}" ]; then
        grep -q "\"trials\": $2," "$out.json" || fail "$file: not $2 trials: $(cat "$out.json")"
    fi
}

# ---- W&B sweeps and caviar's keys, examples/sweeps ----------------------------------------------
for f in examples/sweeps/*.yaml; do
    if [ "$f" = examples/sweeps/caviar-mlp.yaml ]; then
        continue
    fi
    grep -q '^program: examples/sweeps/train.py$' "$f" ||
        fail "$f: program is not examples/sweeps/train.py (relative to the repository root)"
    if [ -z "$python" ]; then
        skipped+=("$f (no python3)")
        continue
    fi
    case "$f" in
        */wandb-grid.yaml) run "$f" 4 ;;  # a grid cut short: 4 of its 48 combinations
        *) run "$f" 3 ;;
    esac
done

# The built-in trainer on Fashion-MNIST, one epoch a trial instead of ten.
if [ -e /usr/share/datasets/fashion-mnist ]; then
    sed 's/^  epochs: 10$/  epochs: 1/' examples/sweeps/caviar-mlp.yaml >caviar-mlp.yaml
    if grep -q '^  epochs: 1$' caviar-mlp.yaml; then
        run caviar-mlp.yaml 2
    else
        fail "examples/sweeps/caviar-mlp.yaml: no 'epochs: 10' line to shorten for the test"
    fi
else
    skipped+=("examples/sweeps/caviar-mlp.yaml (no /usr/share/datasets/fashion-mnist)")
fi

# train.py itself: a name it does not know is an error that says so, exit status 2.
if [ -n "$python" ]; then
    status=0
    examples/sweeps/train.py --lerning_rate=0.1 >out 2>err || status=$?
    [ "$status" = 2 ] || fail "train.py --lerning_rate: exit status $status"
    grep -q "unknown argument '--lerning_rate'; did you mean '--learning_rate'?" err ||
        fail "train.py --lerning_rate: $(cat err)"
    # Every epoch prints one JSON line with the metrics the sweeps name.
    examples/sweeps/train.py --epochs=2 --optimizer=adam --layers=2 >out 2>err ||
        fail "train.py --epochs=2: $(cat err)"
    [ "$(grep -c '^{"epoch": [12], "loss": .*"val_loss": .*"val_accuracy": ' out)" = 2 ] ||
        fail "train.py's metric lines: $(cat out)"
fi

# ---- one sweep per sampler, examples/samplers: their whole budget (seconds each) ---------------
for f in examples/samplers/*.yaml; do
    run "$f"
done
for s in grid random sobol coarse-to-fine tpe; do
    [ -e "examples/samplers/$s.yaml" ] || fail "examples/samplers/$s.yaml is missing"
done

# ---- the other examples -------------------------------------------------------------------------
run examples/linear.yaml
run examples/script/sweep.yaml 6

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
if [ "${#skipped[@]}" != 0 ]; then
    printf 'skipped: %s\n' "${skipped[@]}"
    exit 77
fi
echo "every example ran"
