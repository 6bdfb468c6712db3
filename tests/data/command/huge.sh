#!/bin/sh
# Very long lines (test_command.c): 200000 bytes, then a metric line of more than 65536 bytes
# (logged but not read), then a metric, then 100000 bytes without a final newline.
head -c 200000 /dev/zero | tr '\0' x
echo
printf '{"val_loss": 1, "pad": "'
head -c 70000 /dev/zero | tr '\0' z
echo '"}'
echo "val_loss=2"
head -c 100000 /dev/zero | tr '\0' y
