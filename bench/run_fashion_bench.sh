#!/usr/bin/env bash
# run_fashion_bench.sh — the main job against its peer: caviar tuning an MLP on Fashion-MNIST
# with examples/fashion-mnist.yaml (15 minutes, two worker processes) and, after it on the same
# machine, Optuna 3.1 + PyTorch (../shared/peers/optuna_torch_fashion.py, same wall-clock
# budget, TPE + median pruning, PyTorch on 2 threads). One after the other, never side by side:
# each gets both cores. Records both summaries in bench/results/fashion-<UTC date>.{jsonl,txt}.
#
# usage: bench/run_fashion_bench.sh [SECONDS]   (default 900)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-900}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$repo/bench/results/fashion-$stamp"
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-fashion-XXXXXX")
trap 'rm -rf "$work"' EXIT
caviar="$repo/build/caviar"
[ -x "$caviar" ] || bash "$repo/scripts/build.sh" >/dev/null
sed "s/time: 15m/time: ${seconds}s/" "$repo/examples/fashion-mnist.yaml" >"$work/fashion-mnist.yaml"
cd "$work"
start=$(date +%s.%N)
"$caviar" tune fashion-mnist.yaml --json --quiet >caviar.json 2>caviar.err
end=$(date +%s.%N)
{
    printf '{"kind": "caviar", "budget_s": %s, "wall_s": %.1f, "summary": ' "$seconds" \
        "$(echo "$end - $start" | awk '{print $1 - $3}')"
    cat caviar.json | tr -d '\n'
    printf '}\n'
} >"$out.jsonl"
"$caviar" trials --storage caviar.db --study fashion-mnist --sort value --limit 5 >caviar-top.txt 2>&1 || true
peer="$repo/../shared/peers/optuna_torch_fashion.py"
if [ -f "$peer" ] && /usr/bin/python3 -c 'import optuna, torch' 2>/dev/null; then
    /usr/bin/python3 "$peer" "$seconds" >optuna.jsonl 2>optuna.err || true
    sed 's/^/{"kind": "optuna-torch", "line": /; s/$/}/' optuna.jsonl >>"$out.jsonl"
fi
{
    echo "run $stamp, budget $seconds s, machine: $(nproc) CPUs, $(uname -m)"
    echo
    echo "caviar (examples/fashion-mnist.yaml, 2 workers):"
    cat caviar.json
    echo
    cat caviar-top.txt
    echo
    echo "Optuna 3.1 + PyTorch 1.13 (optuna_torch_fashion.py):"
    [ -f optuna.jsonl ] && tail -n 1 optuna.jsonl || echo "not available"
} >"$out.txt"
cat "$out.txt"
