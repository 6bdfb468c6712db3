#!/usr/bin/env bash
# Installs the Debian packages caviar needs to build, test and run its main job. Idempotent:
# when everything is already installed it changes nothing. Needs root (or sudo) to install.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # compiler and build
  libopenblas-dev                    # BLAS for the trainer's matrix products
  zlib1g-dev                         # gzipped IDX files, checkpoint checksums
  libsqlite3-dev                     # the default study database
  libpq-dev                          # PostgreSQL studies shared by many machines
  libyaml-dev                        # sweep files
  libedit-dev                        # the panda prompt: line editing and history (BSD licence)
  libmicrohttpd-dev                  # caviar dashboard: the HTTP server (GNU libmicrohttpd)
  postgresql                         # a real server for the storage tests (started by them)
  libcmocka-dev                      # unit tests
  python3                            # examples/sweeps/train.py, run by the examples' test
  tmux                               # the panda prompt's terminal test
  chromium                           # the HTML report's test opens reports in a headless browser
  dataset-fashion-mnist              # the main job's data
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm: the build installs the HTML report's chart library (Apache ECharts) with it. Debian's npm
# package, unless an npm is already there (a Node.js from elsewhere brings its own, and Debian's
# would conflict with it).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
