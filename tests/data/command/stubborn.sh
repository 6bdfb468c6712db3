#!/bin/sh
# Ignores SIGTERM (and so does its sleep, which inherits that): only SIGKILL ends it
# (test_command.c).
trap '' TERM
echo "pid: $$"
while :; do
    sleep 1
done
