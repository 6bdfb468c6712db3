#!/usr/bin/env bash
# Runs every fuzz target briefly under libFuzzer: scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
# Defaults: 20 seconds per target, build-fuzz/. CI runs it after the sanitizer suite.
#
# It installs clang (and the compiler-rt package holding libFuzzer) when they are missing,
# configures BUILD_DIR with clang and CAVIAR_LIBFUZZER=ON (warnings are errors, as in build.sh),
# builds only the fuzz targets and runs each for SECONDS_PER_TARGET seconds. Each run starts
# from a fresh temporary corpus directory, which is where libFuzzer writes what it finds, plus
# the seed corpus fuzz/corpus/<target>, which it only reads. The first crash, leak, timeout or
# out-of-memory stops the script with a non-zero status, the sanitizer's report and the path
# of the input that caused it (kept in BUILD_DIR/fuzz-artifacts/<target>/). At the end, one
# line per target: "fuzz: TARGET S s, RUNS runs, COV coverage, ok".
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
dir=${2:-build-fuzz}
case "$secs" in
  ''|*[!0-9]*|0) echo "fuzz: SECONDS_PER_TARGET must be a positive integer, not '$secs'" >&2; exit 2 ;;
esac
targets=(idx csv checkpoint dist metrics config http)

# A per-input time limit far above any sane parse (milliseconds), so that only a hang trips
# it, and libFuzzer's usual memory limit: a parser that needs more on a small input has a bug.
timeout_s=10
rss_mb=2048

# --- clang and libFuzzer -------------------------------------------------------------------
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
apt_install() {
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "fuzz: need root to install: $*" >&2
    exit 1
  fi
  echo "fuzz: installing $*"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}
if ! command -v clang >/dev/null; then
  apt_install clang
fi
# Since Debian 12 the sanitizer and libFuzzer runtimes are in libclang-rt-N-dev, which clang
# only recommends. Link an empty target to see whether they are there.
probe=$(mktemp -d)
links_fuzzer() {
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$probe/t.c"
  clang -fsanitize=fuzzer,address,undefined "$probe/t.c" -o "$probe/t" >/dev/null 2>&1
}
if ! links_fuzzer; then
  major=$(clang -dumpversion | cut -d. -f1)
  apt_install "libclang-rt-$major-dev"
  if ! links_fuzzer; then
    rm -rf "$probe"
    echo "fuzz: clang $major cannot link -fsanitize=fuzzer even with libclang-rt-$major-dev" >&2
    exit 1
  fi
fi
rm -rf "$probe"

# --- build ---------------------------------------------------------------------------------
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAVIAR_WERROR=ON \
      -DCMAKE_C_COMPILER=clang -DCAVIAR_LIBFUZZER=ON >/dev/null
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# --- run -----------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Our own sanitizer settings, whatever the caller exported: leaks are bugs too, and libFuzzer
# (not abort_on_error) decides how a run ends so that it can write the crashing input.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1

summary=()
for t in "${targets[@]}"; do
  bin="$dir/fuzz/fuzz_$t"
  seed="$PWD/fuzz/corpus/$t"
  art="$dir/fuzz-artifacts/$t"
  log="$work/$t.log"
  rm -rf "$art"
  mkdir -p "$work/$t" "$art"
  echo "fuzz: $t for $secs s"
  start=$SECONDS
  status=0
  # The fresh directory comes first: libFuzzer adds new inputs to the first directory only.
  "$bin" -max_total_time="$secs" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
         -print_final_stats=1 -artifact_prefix="$art/" "$work/$t" "$seed" >"$log" 2>&1 \
    || status=$?
  elapsed=$((SECONDS - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  done_s=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  line="fuzz: $t ${done_s:-$elapsed} s, ${runs:-?} runs, ${cov:-?} coverage"
  found=$(find "$art" -type f | sort)
  if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    # The sanitizer's report and stack (the log without libFuzzer's progress lines), then
    # where the input is.
    grep -v -E '^(#[0-9]+[[:space:]]|INFO: )' "$log" | tail -n 200 >&2
    echo "fuzz: $t FAILED (exit status $status) after $elapsed s" >&2
    if [ -n "$found" ]; then
      echo "fuzz: $t: input that failed, replay with $bin FILE:" >&2
      printf '%s\n' "$found" | sed 's/^/  /' >&2
    else
      echo "fuzz: $t: libFuzzer wrote no input file; full log above" >&2
    fi
    summary+=("$line, FAILED")
    printf '%s\n' "${summary[@]}"
    exit 1
  fi
  rmdir "$art"
  summary+=("$line, ok")
done
rmdir "$dir/fuzz-artifacts" 2>/dev/null || true
printf '%s\n' "${summary[@]}"
