#!/bin/sh
# Prints seven lines on stderr and exits with status 3 (test_command.c).
echo "step=1 val_loss=0.5"
for i in 1 2 3 4 5 6 7; do
    echo "stderr line $i" >&2
done
exit 3
