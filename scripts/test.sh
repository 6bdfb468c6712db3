#!/usr/bin/env bash
# Sets up, builds and runs every test: scripts/test.sh [BUILD_DIR] [extra cmake options...]
# The long tests (a full Fashion-MNIST training) are included; to skip them run
#   ctest --test-dir build -LE long
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
bash scripts/setup.sh
bash scripts/build.sh "$dir" "$@"
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
# What the chaos tests survived (their lines are in ctest's log, not on the screen).
grep -h '^chaos: ' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null || true
