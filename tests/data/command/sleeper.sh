#!/bin/sh
# Sleeps forever, with a child of its own in its process group (test_command.c).
sleep 1000 &
echo "pid: $$"
echo "child: $!"
wait
