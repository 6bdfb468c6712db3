#!/usr/bin/env bash
# Configures and builds caviar: scripts/build.sh [BUILD_DIR] [extra cmake options...]
# Default BUILD_DIR is build/ (Release). Warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCAVIAR_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
