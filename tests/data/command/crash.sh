#!/bin/sh
# Dies by a signal: SIGSEGV sent to itself (test_command.c).
echo "val_loss=1"
echo "about to crash" >&2
kill -SEGV $$
