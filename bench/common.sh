# common.sh — what the benchmark scripts share; sourced by run_bench.sh and run_sampler_bench.sh
# after they have set $repo and parsed their options.
# shellcheck shell=bash
# The variables it sets are read by the scripts that source it, and $repo is theirs:
# shellcheck disable=SC2034,SC2154

# bench_build TARGET OVERRIDE: sets $bench to the benchmark binary — $OVERRIDE when it is set,
# else TARGET built in Release in ${CAVIAR_BUILD_DIR:-/tmp/caviar-bench-build} (log beside it).
bench_build() {
    local target=$1 override=$2
    if [ -n "$override" ]; then
        bench=$override
        return
    fi
    local build=${CAVIAR_BUILD_DIR:-${TMPDIR:-/tmp}/caviar-bench-build}
    local log="$build.$target.log"
    echo "building $target (Release) in $build ..."
    if ! { cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
           cmake --build "$build" -j "$(nproc)" --target "$target"; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "$(basename "$0"): the build failed; the whole log is in $log" >&2
        exit 1
    fi
    bench="$build/bench/$target"
}

# bench_results PREFIX: sets $stamp, $out (unless given) to bench/results/PREFIX-<UTC>.jsonl,
# $text beside it, and empties $out.
bench_results() {
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    if [ -z "$out" ]; then
        mkdir -p "$repo/bench/results"
        out="$repo/bench/results/$1-$stamp.jsonl"
    fi
    text="${out%.jsonl}.txt"
    mkdir -p "$(dirname "$out")"
    : >"$out"
}

json_string() { # a shell string as a JSON string
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# The checkout's commit and whether it has uncommitted changes, and where the peers are.
commit=$(git -C "$repo" rev-parse --verify --quiet HEAD 2>/dev/null || echo none)
dirty=false
if [ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ]; then dirty=true; fi
python=${CAVIAR_PYTHON:-/usr/bin/python3}
peers=${CAVIAR_PEERS_DIR:-$repo/../shared/peers}
