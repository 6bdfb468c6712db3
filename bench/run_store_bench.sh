#!/usr/bin/env bash
# run_store_bench.sh — caviar's storage benchmark, start to finish, in one command.
#
# Builds bench_store (Release, in its own build directory), then measures ask+tell round trips
# per second (ask, two suggestions, tell COMPLETE; random sampler) with 1, 4 and 8 worker
# processes sharing one fresh study:
#   1. caviar on SQLite: a fresh database file per worker count, in a temporary directory on
#      local disk;
#   2. caviar on PostgreSQL: a throwaway server started with tests/pg_server.sh (skipped, and
#      said so, when the PostgreSQL server binaries are not installed);
#   3. the peer, when /usr/bin/python3 can import optuna: Optuna's RDBStorage on SQLite with the
#      same workload, worker counts and window (bench/peers_store.py), its "database is locked"
#      errors counted;
# and writes every figure to bench/results/store-<UTC date>.jsonl (one JSON object per line)
# with the summary table beside it in store-<UTC date>.txt, and prints the table: the ratio
# caviar-on-SQLite ÷ Optuna-on-SQLite per worker count and the verdict on the target (at least
# 10×). Every caviar run ends by checking that its study holds exactly the trials its workers
# told; a run that fails the check makes the exit status 1.
#
# usage: bench/run_store_bench.sh [--seconds S] [--warmup S] [--workers "1 4 8"] [--no-peer]
#                                 [--no-postgres] [--out FILE.jsonl]
#   --seconds S        the timed window of every run (default 5)
#   --warmup S         round trips before the window, not counted (default 1)
#   --workers L        worker counts (default "1 4 8")
# environment:
#   CAVIAR_BUILD_DIR   build directory (default: ${TMPDIR:-/tmp}/caviar-bench-build)
#   CAVIAR_BENCH_STORE_BIN  an existing bench_store to use instead of building one
#   CAVIAR_PYTHON      the Python that runs the peer (default: /usr/bin/python3)
#   TMPDIR             where the SQLite files go (default /tmp; it must be a local disk)
# exit status: 0 done, 1 failure (a run failed or a study did not hold its trials), 2 usage.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=5
warmup=1
workers="1 4 8"
run_peer=1
run_pg=1
out=""

usage() {
    sed -n '/^# usage:/,/^# exit status/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=${2:?}; shift 2 ;;
        --warmup) warmup=${2:?}; shift 2 ;;
        --workers) workers=${2:?}; shift 2 ;;
        --no-peer) run_peer=0; shift ;;
        --no-postgres) run_pg=0; shift ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run_store_bench.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
workers=${workers//,/ }
workers_list=${workers// /,}

# libcaviar links OpenBLAS, whose thread pool would otherwise start in every worker and spin
# on the cores the workers and the database need. Optuna runs as a user would run it.
bench_env=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)

# ---- build, results file, repository state (common.sh) ----
# shellcheck source=bench/common.sh
. "$repo/bench/common.sh"
bench_build bench_store "${CAVIAR_BENCH_STORE_BIN:-}"
bench_results store

# The SQLite files go in a directory of their own; the PostgreSQL server gets another, directly
# under the temporary directory, because it may run as another user (pg_server.sh, as root)
# who must be able to reach it.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/caviar-store.XXXXXX")
pg_dir=""
cleanup() {
    if [ -n "$pg_dir" ]; then "$repo/tests/pg_server.sh" stop "$pg_dir" || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp_fs=$(df --output=fstype "$tmp" 2>/dev/null | tail -n 1 || echo unknown)
case $tmp_fs in
    nfs*|cifs|smb*|fuse*|9p|virtiofs)
        echo "run_store_bench.sh: warning: $tmp is on $tmp_fs, not a local disk; SQLite's WAL" \
             "needs one (set TMPDIR)" >&2 ;;
esac

optuna_version=""
sqlalchemy_version=""
python_version=$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null ||
                 true)
if [ "$run_peer" = 1 ]; then
    optuna_version=$("$python" -c 'import optuna; print(optuna.__version__)' 2>/dev/null || true)
    sqlalchemy_version=$("$python" -c 'import sqlalchemy; print(sqlalchemy.__version__)' \
                         2>/dev/null || true)
fi
# The server binaries pg_server.sh will choose (the newest of Debian's), for the record.
pg_version=""
if [ "$run_pg" = 1 ]; then
    pg_bin=$(for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && echo "$d"; done |
             sort -V | tail -n 1)
    if [ -n "$pg_bin" ]; then
        pg_version=$("$pg_bin/postgres" --version 2>/dev/null | sed 's/^[^0-9]*//' || true)
    fi
fi
n_cpus=$(nproc)
{
    printf '{"kind": "run", "date": %s, "commit": %s, "dirty": %s, "host": %s' \
        "$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(json_string "$commit")" "$dirty" \
        "$(json_string "$(uname -n)")"
    printf ', "kernel": %s, "python": %s, "optuna": %s, "sqlalchemy": %s' \
        "$(json_string "$(uname -sr)")" "$(json_string "$python_version")" \
        "$(json_string "$optuna_version")" "$(json_string "$sqlalchemy_version")"
    printf ', "postgresql_server": %s, "tmp_dir": %s, "tmp_fs": %s' \
        "$(json_string "$pg_version")" "$(json_string "$tmp")" "$(json_string "$tmp_fs")"
    printf ', "seconds": %s, "warmup": %s, "workers": %s, "n_cpus": %s}\n' \
        "$seconds" "$warmup" "$(json_string "$workers")" "$n_cpus"
} >>"$out"
"${bench_env[@]}" "$bench" --info --json >>"$out"

echo "$n_cpus cores: with more workers than cores the figures measure contention (for the" \
     "cores and the database), not scaling"

# Runs bench_store with the given options and appends its records; a failure (status 1: a run
# failed or its study did not hold its trials) is reported and the run goes on, so that the
# figures measured so far still reach the summary.
status=0
run() {
    local rc=0
    "${bench_env[@]}" "$bench" --json --seconds "$seconds" --warmup "$warmup" "$@" >>"$out" ||
        rc=$?
    if [ "$rc" != 0 ]; then
        echo "run_store_bench.sh: bench_store $* failed with status $rc" >&2
        status=1
    fi
}

# ---- 1. caviar on SQLite: a fresh file per worker count, as Optuna gets ----
for w in $workers; do
    echo "caviar on SQLite, $w worker(s): ${warmup} s warm-up + ${seconds} s ..."
    run --storage "sqlite:$tmp/caviar-${w}w.db" --workers "$w" --quiet
done

# ---- 2. caviar on PostgreSQL ----
if [ "$run_pg" = 1 ]; then
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/caviar-store-pg.XXXXXX")
    pg_rc=0
    pg_url=$("$repo/tests/pg_server.sh" start "$pg_dir") || pg_rc=$?
    if [ "$pg_rc" = 0 ]; then
        echo "caviar on PostgreSQL $pg_version (throwaway server, fsync off), workers" \
             "$workers ..."
        run --storage "$pg_url" --workers "$workers_list" --quiet
    elif [ "$pg_rc" = 77 ]; then
        echo "PostgreSQL: skipped (no server binaries; apt-get install postgresql)"
    else
        echo "run_store_bench.sh: cannot start a PostgreSQL server; going on without it" >&2
        status=1
    fi
    # Stopped before the peer runs, so that an idle server takes nothing from it.
    "$repo/tests/pg_server.sh" stop "$pg_dir" || true
    pg_dir=""
fi

# ---- 3. the peer ----
if [ -n "$optuna_version" ]; then
    echo "peer: Optuna $optuna_version RDBStorage on SQLite, workers $workers ..."
    if ! "$python" "$repo/bench/peers_store.py" --workers "$workers_list" --seconds "$seconds" \
            --warmup "$warmup" --dir "$tmp" >>"$out"; then
        echo "run_store_bench.sh: peers_store.py failed; going on" >&2
    fi
elif [ "$run_peer" = 1 ]; then
    echo "peer: missing ($python cannot import optuna; Debian's python3-optuna provides it)"
fi

# ---- summary ----
# The summary of the figures is appended to the same file: read it whole first.
summary=$("$bench" --summary "$out" --json)
printf '%s\n' "$summary" >>"$out"
echo
"$bench" --summary "$out" | tee "$text"
echo
echo "results: $out"
echo "         $text"
exit "$status"
