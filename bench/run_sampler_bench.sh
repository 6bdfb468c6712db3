#!/usr/bin/env bash
# run_sampler_bench.sh — caviar's sampler benchmark, start to finish, in one command.
#
# Builds bench_sampler (Release, in its own build directory), then:
#   1. overhead: caviar's cost per ask+tell at 100, 1,000 and 10,000 trials for random, Sobol,
#      TPE, multivariate TPE and coarse-to-fine, on the cheap 6-D function of
#      ../shared/peers/optuna_overhead.py;
#   2. search quality: caviar's best value after 50 and 100 trials on Branin and Hartmann-6,
#      seeds 0..19, for random, Sobol, coarse-to-fine, TPE and multivariate TPE;
#   3. the peer, when /usr/bin/python3 can import optuna: optuna_overhead.py with 100 and 1,000
#      trials, and bench/peers_sampler.py (Optuna's TPE, random and multivariate TPE on the
#      same functions and seeds);
# and writes every figure to bench/results/sampler-<UTC date>.jsonl (one JSON object per line)
# with the summary tables beside it in sampler-<UTC date>.txt, and prints the tables.
# A caviar sampler that is not built yet is reported as "not available", not as a failure.
#
# usage: bench/run_sampler_bench.sh [--max-trials N] [--max-seconds S] [--seeds S]
#                                   [--peer-trials "100 1000"] [--no-peer] [--no-overhead]
#                                   [--no-quality] [--out FILE.jsonl]
#   --max-trials N     stop each overhead run at N trials (default 10000, the last mark)
#   --max-seconds S    stop an overhead run once it has spent S seconds (default 300)
#   --seeds S          seeds for the quality runs, caviar's and Optuna's (default 20)
#   --peer-trials L    the trial counts optuna_overhead.py runs with (default "100 1000";
#                      Optuna's TPE costs minutes at 1,000 trials and hours at 10,000)
# environment:
#   CAVIAR_BUILD_DIR   build directory (default: ${TMPDIR:-/tmp}/caviar-bench-build)
#   CAVIAR_BENCH_SAMPLER_BIN  an existing bench_sampler to use instead of building one
#   CAVIAR_PEERS_DIR   where optuna_overhead.py is (default: <repo>/../shared/peers)
#   CAVIAR_PYTHON      the Python that runs the peer (default: /usr/bin/python3)
# exit status: 0 done, 1 failure, 2 usage.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
max_trials=10000
max_seconds=300
seeds=20
peer_trials="100 1000"
run_peer=1
run_overhead=1
run_quality=1
out=""

usage() {
    sed -n '/^# usage:/,/^# exit status/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --max-trials) max_trials=${2:?}; shift 2 ;;
        --max-seconds) max_seconds=${2:?}; shift 2 ;;
        --seeds) seeds=${2:?}; shift 2 ;;
        --peer-trials) peer_trials=${2:?}; shift 2 ;;
        --no-peer) run_peer=0; shift ;;
        --no-overhead) run_overhead=0; shift ;;
        --no-quality) run_quality=0; shift ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run_sampler_bench.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

# caviar's samplers call no BLAS, but libcaviar links OpenBLAS, whose thread pool would start
# with the process and spin on the other core; one BLAS thread keeps bench_sampler to the one
# core it uses. Optuna runs as a user would run it, with no thread variables set.
bench_env=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)

# ---- build, results file, repository state (common.sh) ----
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_build bench_sampler "${CAVIAR_BENCH_SAMPLER_BIN:-}"
bench_results sampler
optuna_version=""
numpy_version=""
python_version=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null || true)
if [ "$run_peer" = 1 ]; then
    optuna_version=$("$python" -c 'import optuna; print(optuna.__version__)' 2>/dev/null || true)
    numpy_version=$("$python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)
fi
{
    printf '{"kind": "run", "date": %s, "commit": %s, "dirty": %s, "host": %s' \
        "$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(json_string "$commit")" "$dirty" \
        "$(json_string "$(uname -n)")"
    printf ', "kernel": %s, "python": %s, "optuna": %s, "numpy": %s, "peers_dir": %s' \
        "$(json_string "$(uname -sr)")" "$(json_string "$python_version")" \
        "$(json_string "$optuna_version")" "$(json_string "$numpy_version")" \
        "$(json_string "$peers")"
    printf ', "max_trials": %s, "max_seconds": %s, "seeds": %s, "peer_trials": %s}\n' \
        "$max_trials" "$max_seconds" "$seeds" "$(json_string "$peer_trials")"
} >>"$out"
"${bench_env[@]}" "$bench" --info --json >>"$out"

# Runs bench_sampler with the given options and appends its records. A sampler that is not
# built is a record saying so; any other failure (status 1) is reported and the run goes on,
# so that the figures measured so far still reach the summary.
status=0
run() {
    local rc=0
    "${bench_env[@]}" "$bench" --json "$@" >>"$out" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "run_sampler_bench.sh: bench_sampler $* failed with status $rc" >&2
        status=1
    fi
}

# ---- 1. overhead ----
if [ "$run_overhead" = 1 ]; then
    echo "overhead: caviar, up to $max_trials trials or $max_seconds s per sampler ..."
    run --overhead --max-trials "$max_trials" --max-seconds "$max_seconds"
fi

# ---- 2. search quality ----
if [ "$run_quality" = 1 ]; then
    echo "search quality: caviar, $seeds seeds ..."
    run --quality --seeds "$seeds"
fi

# ---- 3. the peer ----
if [ -n "$optuna_version" ]; then
    if [ "$run_overhead" = 1 ]; then
        if [ -f "$peers/optuna_overhead.py" ]; then
            for n in $peer_trials; do
                echo "peer: Optuna $optuna_version overhead, $n trials ..."
                # Each line is tagged as a peer_overhead record.
                if ! "$python" "$peers/optuna_overhead.py" "$n" |
                        sed -n 's/^{/{"kind": "peer_overhead", /p' >>"$out"; then
                    echo "run_sampler_bench.sh: optuna_overhead.py $n failed; going on" >&2
                fi
            done
        else
            echo "peer: no $peers/optuna_overhead.py; Optuna's overhead not measured"
        fi
    fi
    if [ "$run_quality" = 1 ]; then
        echo "peer: Optuna $optuna_version search quality, $seeds seeds ..."
        if ! "$python" "$repo/bench/peers_sampler.py" --seeds "$seeds" >>"$out"; then
            echo "run_sampler_bench.sh: peers_sampler.py failed; going on" >&2
        fi
    fi
elif [ "$run_peer" = 1 ]; then
    echo "peer: missing ($python cannot import optuna; Debian's python3-optuna provides it)"
fi

# ---- summary ----
# The summary of the figures is appended to the same file: read it whole first.
summary=$("$bench" --summary "$out" --json)
printf '%s\n' "$summary" >>"$out"
"$bench" --summary "$out" | tee "$text"
echo
echo "results: $out"
echo "         $text"
exit "$status"
