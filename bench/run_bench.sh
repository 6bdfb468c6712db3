#!/usr/bin/env bash
# run_bench.sh — caviar's training benchmark, start to finish, in one command.
#
# Builds bench_train (Release, in its own build directory), then, with one BLAS thread per
# process:
#   1. each reference network in its own process: training throughput, the sgemm reference at
#      the same shapes, peak memory;
#   2. network 1 again on 2 BLAS threads;
#   3. two trainings of network 1 at the same time (two processes whose timed epochs start
#      together), for the total throughput of the machine;
#   4. the PyTorch peer (../shared/peers/torch_mlp.py) on 2 threads (as a user would run it,
#      and with PyTorch's OpenBLAS kept to one thread) and on 1, when /usr/bin/python3 can
#      import torch;
# and writes every figure to bench/results/train-<UTC date>.jsonl (one JSON object per line)
# with the summary table beside it in train-<UTC date>.txt, and prints that table.
#
# usage: bench/run_bench.sh [--configs "1 2 3 4"] [--epochs N (3)] [--sgemm-seconds S (2)]
#                           [--no-peer] [--no-parallel] [--out FILE.jsonl]
# environment:
#   CAVIAR_BUILD_DIR   build directory (default: ${TMPDIR:-/tmp}/caviar-bench-build)
#   CAVIAR_BENCH_BIN   an existing bench_train to use instead of building one
#   CAVIAR_PEERS_DIR   where torch_mlp.py is (default: <repo>/../shared/peers)
#   CAVIAR_PYTHON      the Python that runs the peer (default: /usr/bin/python3)
# exit status: 0 done, 77 Fashion-MNIST is not installed (nothing measured), 1 failure,
# 2 usage.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
configs="1 2 3 4"
epochs=3
sgemm_seconds=2
run_peer=1
run_parallel=1
out=""

usage() {
    sed -n '/^# usage:/,/^# 2 usage/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --configs) configs=${2:?}; shift 2 ;;
        --epochs) epochs=${2:?}; shift 2 ;;
        --sgemm-seconds) sgemm_seconds=${2:?}; shift 2 ;;
        --no-peer) run_peer=0; shift ;;
        --no-parallel) run_parallel=0; shift ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run_bench.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

# One BLAS thread per process unless a step says otherwise; the variable must be set before
# OpenBLAS starts, so it cannot be left to bench_train.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

# ---- build, results file, repository state (common.sh) ----
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_build bench_train "${CAVIAR_BENCH_BIN:-}"
bench_results train
torch_version=""
if [ "$run_peer" = 1 ] && [ -f "$peers/torch_mlp.py" ] &&
   torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    :
else
    torch_version=""
fi
python_version=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null || true)
{
    printf '{"kind": "run", "date": %s, "commit": %s, "dirty": %s, "host": %s' \
        "$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(json_string "$commit")" "$dirty" \
        "$(json_string "$(uname -n)")"
    printf ', "kernel": %s, "python": %s, "torch": %s, "peers_dir": %s}\n' \
        "$(json_string "$(uname -sr)")" "$(json_string "$python_version")" \
        "$(json_string "$torch_version")" "$(json_string "$peers")"
} >>"$out"
"$bench" --info --json >>"$out"

# Runs bench_train with the given options and appends its records; 77 (no data) ends the run.
run() {
    local rc=0
    "$bench" --json --epochs "$epochs" "$@" >>"$out" || rc=$?
    if [ "$rc" = 77 ]; then
        echo "run_bench.sh: skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)" >&2
        rm -f "$out"
        exit 77
    elif [ "$rc" != 0 ]; then
        echo "run_bench.sh: bench_train $* failed with status $rc; figures so far are in $out" >&2
        exit 1
    fi
}

# ---- 1. each network alone, with its sgemm reference ----
for c in $configs; do
    echo "config $c: training, then sgemm at the same shapes ..."
    run --config "$c" --tag single --sgemm-seconds "$sgemm_seconds"
done

# ---- 2. network 1 on two BLAS threads ----
if [[ " $configs " == *" 1 "* ]]; then
    echo "config 1 on 2 BLAS threads ..."
    OPENBLAS_NUM_THREADS=2 run --config 1 --threads 2 --no-sgemm --tag threads2
fi

# ---- 3. two trainings at once ----
if [ "$run_parallel" = 1 ]; then
    echo "config 1, two trainings at the same time ..."
    barrier=$(mktemp -d)
    "$bench" --json --epochs "$epochs" --config 1 --no-sgemm --tag parallel \
        --barrier "$barrier:2" >"$barrier/a.jsonl" &
    pid_a=$!
    "$bench" --json --epochs "$epochs" --config 1 --no-sgemm --tag parallel \
        --barrier "$barrier:2" >"$barrier/b.jsonl" &
    pid_b=$!
    rc_a=0 rc_b=0
    wait "$pid_a" || rc_a=$?
    wait "$pid_b" || rc_b=$?
    cat "$barrier/a.jsonl" "$barrier/b.jsonl" >>"$out"
    rm -rf "$barrier"
    if [ "$rc_a" != 0 ] || [ "$rc_b" != 0 ]; then
        echo "run_bench.sh: the parallel trainings failed (status $rc_a and $rc_b)" >&2
        exit 1
    fi
fi

# ---- 4. the peer ----
# Runs torch_mlp.py on $2 threads with the environment changes $3... (env(1) arguments, the
# -u options first); its lines are tagged with
# the variant $1. With two threads PyTorch runs its element-wise work on OpenMP threads while
# the OpenBLAS it calls starts threads of its own, and on a two-core machine the two sets get in
# each other's way, so two threads are measured both as a user would run them (no variables
# set) and with OpenBLAS kept to one thread.
peer() {
    local variant=$1 threads=$2
    shift 2
    echo "peer: PyTorch $torch_version, $variant ..."
    if ! env "$@" "$python" "$peers/torch_mlp.py" "$threads" |
            sed -n "s/^{/{\"kind\": \"peer\", \"variant\": \"$variant\", /p" >>"$out"; then
        echo "run_bench.sh: the peer failed ($variant); going on without it" >&2
    fi
}
if [ -n "$torch_version" ]; then
    peer 2threads 2 -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS -u MKL_NUM_THREADS
    peer 2threads-blas1 2 -u OMP_NUM_THREADS -u MKL_NUM_THREADS OPENBLAS_NUM_THREADS=1
    peer 1thread 1 -u MKL_NUM_THREADS OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
elif [ "$run_peer" = 1 ]; then
    echo "peer: skipped ($python cannot import torch, or there is no $peers/torch_mlp.py)"
fi

# ---- summary ----
summary=$("$bench" --summary "$out" --json) # read the file whole before adding to it
printf '%s\n' "$summary" >>"$out"
"$bench" --summary "$out" | tee "$text"
echo
echo "results: $out"
echo "         $text"
