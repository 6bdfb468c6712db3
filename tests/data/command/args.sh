#!/bin/sh
# Prints each argument it received on a line of its own ("arg:VALUE") and the variables caviar
# sets for it, then a metric (test_command.c reads them back from the log).
for a in "$@"; do
    printf 'arg:%s\n' "$a"
done
printf 'env: OMP=%s OPENBLAS=%s MKL=%s trial=%s study=%s\n' "${OMP_NUM_THREADS-unset}" \
    "${OPENBLAS_NUM_THREADS-unset}" "${MKL_NUM_THREADS-unset}" \
    "${CAVIAR_TRIAL_NUMBER-unset}" "${CAVIAR_STUDY-unset}"
echo "val_loss=1"
