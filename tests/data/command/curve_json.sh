#!/bin/sh
# A learning curve in JSON lines, among ordinary output (test_command.c).
#   --level=L  val_loss at step s is 10 L - 1 + (10 - s) / 10: level 1 gives 9.9, 9.8, ...
#   --steps=N  steps 1..N (N <= 9, default 5)
#   --pause=S  seconds to sleep after each step (default 0)
level=1 steps=5 pause=0
for a in "$@"; do
    case $a in
        --level=*) level=${a#--level=} ;;
        --steps=*) steps=${a#--steps=} ;;
        --pause=*) pause=${a#--pause=} ;;
    esac
done
echo "pid: $$"
echo "Epoch 0/$steps: loading data"
s=1
while [ "$s" -le "$steps" ]; do
    printf '{"step": %d, "val_loss": %d.%d, "train": {"loss": %d, "note": "ok"}}\n' \
        "$s" $((level * 10 - 1)) $((10 - s)) "$s"
    [ "$pause" = 0 ] || sleep "$pause"
    s=$((s + 1))
done
echo "done" >&2
