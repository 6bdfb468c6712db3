#!/bin/sh
# A curve that ends in NaN, then exits 0 (test_command.c).
echo "step=1 val_loss=0.5"
echo "step=2 val_loss=nan"
