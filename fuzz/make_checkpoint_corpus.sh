#!/usr/bin/env bash
# Writes the seed corpus of fuzz_checkpoint into fuzz/corpus/checkpoint/ from real checkpoints
# of small networks (made with the caviar binary given as $1) and damaged copies of them.
set -euo pipefail
caviar=${1:?usage: make_checkpoint_corpus.sh PATH/TO/caviar}
out="$(dirname "$0")/corpus/checkpoint"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$caviar" train --data spirals --layers 4 --epochs 1 --quiet --save "$out/relu.ckpt" >/dev/null
"$caviar" train --data spirals --layers 3,2 --batchnorm --activation tanh --optimizer momentum \
  --epochs 2 --quiet --save "$out/bn-tanh.ckpt" >/dev/null
"$caviar" train --data linear --layers none --optimizer rmsprop --decay step --decay-rate 0.5 \
  --epochs 1 --quiet --save "$out/regression.ckpt" >/dev/null
src="$out/relu.ckpt"
len=$(stat -c %s "$src")
head -c $((len / 2)) "$src" > "$out/truncated-half"
head -c 12 "$src" > "$out/truncated-header"
: > "$out/empty"
printf 'CAVIARNN' > "$out/magic-only"
{ printf 'CAVIARNX'; tail -c +9 "$src"; } > "$out/bad-magic"
{ head -c 8 "$src"; printf '\002\000\000\000'; tail -c +13 "$src"; } > "$out/version-2"
cp "$src" "$out/bitflip"
printf '\377' | dd of="$out/bitflip" bs=1 seek=$((len / 2)) conv=notrunc status=none
