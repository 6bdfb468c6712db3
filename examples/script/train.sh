#!/bin/sh
# A stand-in for a training script, for examples/script/sweep.yaml: it takes --lr, --momentum
# and --layers as W&B's agent passes them (${args}), "trains" for 8 epochs, and prints one JSON
# metric line per epoch, as a real script would after each epoch (print(json.dumps({...}))).
# Its loss curve settles lowest near lr = 0.01, momentum = 0.95 and 2 layers.
lr=0.1 momentum=0.9 layers=1
for a in "$@"; do
    case "$a" in
        --lr=*) lr=${a#--lr=} ;;
        --momentum=*) momentum=${a#--momentum=} ;;
        --layers=*) layers=${a#--layers=} ;;
        *) echo "train.sh: unknown argument '$a'" >&2; exit 2 ;;
    esac
done
epoch=1
while [ "$epoch" -le 8 ]; do
    echo "epoch $epoch/8"
    awk -v lr="$lr" -v m="$momentum" -v l="$layers" -v e="$epoch" 'BEGIN {
        gap = (log(lr / 0.01) / log(10)) ^ 2 + 30 * (m - 0.95) ^ 2 + 0.05 * (l - 2) ^ 2
        printf "{\"epoch\": %d, \"val_loss\": %.6f}\n", e, 0.2 + gap + 1.5 / e
    }'
    epoch=$((epoch + 1))
done
