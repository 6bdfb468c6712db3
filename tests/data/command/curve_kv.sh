#!/bin/sh
# A learning curve as name=value pairs among ordinary output (test_command.c): a malformed
# JSON line (noted in the log, not a failure), a progress bar, a step printed twice (the second
# is skipped), and lines without a step (counted on from the largest step: 3, then 4).
echo "Epoch 1/3"
echo "step=1 val_loss=0.9 acc=0.5"
echo '{"val_loss": 0.8'
printf ' 50%%|#####     | 1/2 [00:01<00:01, 1.00it/s]\r\n'
echo "step=2, val_loss=0.7"
echo "step=2 val_loss=0.1"
echo "val_loss=0.6"
echo "some warning" >&2
printf 'val_loss=0.5\tacc=0.9'
