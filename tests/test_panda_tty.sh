#!/usr/bin/env bash
# test_panda_tty.sh CAVIAR — `caviar panda` at its interactive prompt on a real terminal: a
# private tmux server (120x40 pane, no user configuration) runs a shell, the test types into it
# with send-keys and reads the screen back with capture-pane.
#   - the prompt starts, `continue 2` trains two days and draws the learning curve across the
#     terminal's 120 columns (the width comes from the terminal);
#   - `set lr=0.03` changes the next day, `continue` trains it with that note, `rollback 2` is
#     back at day 2's exact checksum, `history` shows the branch and the head, an unknown command
#     says so;
#   - line editing: Up five times recalls `set lr=0.03` from libedit's history (the screen shows
#     it), Left and Delete edit it into `set lr=0.05`, and that is what the next day records;
#     an empty line continues; `quit` exits with status 0;
#   - a second sweep with 40-epoch days: `continue 50`, SIGKILL halfway through a day (status
#     137), the same command again in the same pane resumes at the last whole day ("N day(s) so
#     far, at day N"), `rollback N` prints day N's checksum as recorded before the kill, and the
#     next day trains on from day N.
# Output is waited for by polling the pane; a wait that times out fails and shows the pane.
# With CAVIAR_TEST_ARTEFACTS=DIR the final pane (scrollback included) is kept in
# DIR/test_panda_tty.pane.txt. Exit status: 0 passed, 1 failed, 77 skipped (no tmux).
#
# usage: test_panda_tty.sh PATH/TO/caviar
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: test_panda_tty.sh PATH/TO/caviar" >&2; exit 2; }
if ! command -v tmux >/dev/null 2>&1; then
    echo "test_panda_tty: skipped: tmux is not installed" >&2
    exit 77
fi
caviar=$(realpath "$1")
unset TMUX TMUX_PANE # a test run from inside tmux still gets its own server

work=$(mktemp -d)
sock="caviar-panda-tty-$$-$RANDOM"
sock_path=""
pane=panda # the session; its only pane is the target of every command
tm() { tmux -L "$sock" -f /dev/null "$@"; }
finish() {
    local rc=$?
    if [ -n "${CAVIAR_TEST_ARTEFACTS:-}" ] && mkdir -p "$CAVIAR_TEST_ARTEFACTS"; then
        tm capture-pane -p -J -S - -E - -t "$pane" > "$CAVIAR_TEST_ARTEFACTS/test_panda_tty.pane.txt" \
            2>/dev/null || true
    fi
    tm kill-server 2>/dev/null || true
    [ -z "$sock_path" ] || rm -f "$sock_path" # tmux leaves its socket behind
    rm -rf "$work"
    exit "$rc"
}
trap finish EXIT
trap 'exit 1' INT TERM HUP
cd "$work"

# ---- the pane: a plain interactive bash, hermetic (no rc files, no ~/.editrc, no history file)
cat > run-panda.sh <<'EOF'
#!/bin/sh
# caviar panda, its pid left in caviar.pid for the kill below
echo $$ > caviar.pid
exec "$CAVIAR" panda "$@"
EOF
{
    echo '#!/usr/bin/env bash'
    printf 'exec env -u EDITRC HOME=%q HISTFILE= PS1=%q CAVIAR=%q OPENBLAS_NUM_THREADS=1 %q %s\n' \
        "$work" 'sh$ ' "$caviar" "$BASH" '--norc --noprofile -i'
} > pane.sh
chmod +x run-panda.sh pane.sh
# The options first, for the pane to get them: scrollback for the whole test, and a pane whose
# shell died stays to be read.
tm start-server \; set-option -g history-limit 5000 \; set-option -g remain-on-exit on \; \
    new-session -d -s "$pane" -x 120 -y 40 -c "$work" ./pane.sh
sock_path=$(tm display-message -p '#{socket_path}')

# ---- driving and reading the pane. Polling is cheap: one tmux process per look, no other
# process (forks are slow on some machines, and the training needs the CPU).
mark=0      # the screen line where the last typed command began; checks look from there on
typed=""    # what was typed last, for the failure messages
rows=()     # the pane at the last snap: its lines with text, scrollback included
last=0      # ... how many (the last is the cursor's line when a prompt waits)
last_row="" # ... the last one, without trailing blanks
exec {nap_fd}<> <(:) # a pipe nobody writes to: read -t on it sleeps without a process
nap() { read -r -t 0.05 -u "$nap_fd" || true; }
snap() {
    local text
    text=$(tm capture-pane -p -J -S - -E - -t "$pane" 2>/dev/null) || text=""
    local - IFS=$'\n'
    set -f # the charts are full of '*'
    # shellcheck disable=SC2206 # split on newlines only, no globbing: blank lines go, as wanted
    rows=($text)
    last=${#rows[@]}
    while [ "$last" -gt 0 ] && [[ ${rows[last-1]} != *[![:space:]]* ]]; do last=$((last - 1)); done
    last_row=""
    [ "$last" -eq 0 ] || last_row=${rows[last-1]}
    last_row=${last_row%"${last_row##*[![:space:]]}"}
}
# since_mark: the pane's lines from the mark on, trailing blanks cut.
since_mark() {
    local from=$((mark > 1 ? mark - 1 : 0))
    snap
    [ "$last" -gt "$from" ] || return 0
    printf '%s\n' "${rows[@]:from:last-from}" | sed 's/[[:space:]]*$//'
}
fail() {
    echo "FAIL: $*" >&2
    echo "---- the pane since '$typed' was typed (line $mark on, blank lines left out) ----" >&2
    since_mark | tail -n 80 >&2 || true
    echo "----" >&2
    exit 1
}
# set_mark: output checks look from the line the cursor is on (the prompt) onwards.
set_mark() { snap; mark=$((last > 0 ? last : 1)); }
# type_line TEXT: types TEXT and Enter at the prompt.
type_line() {
    set_mark
    typed=$1
    [ -z "$1" ] || tm send-keys -t "$pane" -l -- "$1"
    tm send-keys -t "$pane" Enter
}
# keys KEY...: presses keys (tmux names: Up, Left, DC...) without moving the mark.
keys() { tm send-keys -t "$pane" "$@"; }
# wait_until WHAT SECONDS CONDITION...: polls CONDITION about every 50 ms until it holds.
wait_until() {
    local what=$1 secs=$2 end=$((SECONDS + $2 + 1))
    shift 2
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || fail "waited $secs s for $what"
        nap
    done
}
# prompt_is_back PROMPT: a new prompt PROMPT after the mark, with nothing after it.
prompt_is_back() { snap; [ "$last" -gt "$mark" ] && [ "$last_row" = "$1" ]; }
line_reads() { snap; [ "$last_row" = "$1" ]; }
output_has() {
    local from=$((mark > 1 ? mark - 1 : 0)) IFS=$'\n'
    snap
    [ "$last" -gt "$from" ] && [[ "${rows[*]:from:last-from}" == *"$1"* ]]
}
# wait_prompt PROMPT [SECONDS]: the command's output is complete when its prompt is back.
wait_prompt() { wait_until "the prompt '$1' to come back" "${2:-20}" prompt_is_back "$1"; }
wait_output() { wait_until "'$1' on the screen" "${2:-20}" output_has "$1"; }
expect() { output_has "$1" || fail "'$1' is not on the screen"; }
# day_sum N: day N's checksum as printed since the mark.
day_sum() {
    since_mark |
        sed -n "s/^day $1 (from day [0-9]*, epoch [0-9]*): .*, checksum \([0-9a-f]\{8\}\)$/\1/p" |
        tail -n 1
}

wait_prompt 'sh$'

# ---- set, continue, rollback, history, an unknown command, on the spirals data
cat > panda.yaml <<'EOF'
name: spirals-panda
metric: {name: accuracy, goal: maximize}
objective: {data: spirals}
panda: {day_epochs: 2, seed: 3, start: {lr: 0.01}}
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 10}
  momentum: {distribution: one_minus_log_uniform_values, min: 0.5, max: 0.999}
  batch_size: {values: [16, 32, 64]}
  n_layers: {value: 2}
  units: {value: 32}
EOF
type_line './run-panda.sh panda.yaml --storage p.db'
wait_prompt 'panda>'
expect "panda: study 'spirals-panda' in p.db, 0 day(s) so far, at day 0; 2 epoch(s) a day"

type_line 'continue 2'
wait_prompt 'panda>'
expect 'day 1 (from day 0, epoch 2): train loss '
expect 'day 2 (from day 1, epoch 4): train loss '
expect 'learning curve up to day 2'
sum2=$(day_sum 2)
[ -n "$sum2" ] || fail "no checksum for day 2"
# The chart is as wide as the terminal (120 columns; 80 when the width is not read from it).
axis=$(since_mark | grep -E '^ *\+\+-' | tail -n 1)
[ "${#axis}" -ge 110 ] || fail "the chart's axis is ${#axis} columns wide on a 120-column terminal"

type_line 'set lr=0.03'
wait_prompt 'panda>'
expect 'next day trains with:'
expect '  lr 0.03  momentum '

type_line 'continue'
wait_prompt 'panda>'
expect 'day 3 (from day 2, epoch 6): train loss '
expect '  set lr=0.03'
sum3=$(day_sum 3)
if [ -z "$sum3" ] || [ "$sum3" = "$sum2" ]; then
    fail "day 3's checksum is '$sum3', day 2's $sum2"
fi

type_line 'rollback 2'
wait_prompt 'panda>'
expect "back at the end of day 2, checksum $sum2; next day trains with:"
expect '  lr 0.01  momentum '

type_line 'history'
wait_prompt 'panda>'
hist=$(since_mark)
grep -qE '^ +3 +2 +6 +0\.03 +16 +[0-9.]+  set lr=0\.03$' <<< "$hist" ||
    fail "history has no row for day 3 (parent 2, epoch 6, lr 0.03, batch 16, its note)"
expect 'head: day 2'

type_line 'frobnicate'
wait_prompt 'panda>'
expect "unknown command 'frobnicate'; expected set, continue, rollback"

# ---- line editing and history: Up x5 recalls 'set lr=0.03' (the entries since: continue,
# rollback 2, history, frobnicate); Left, Delete and 5 make it 'set lr=0.05'.
set_mark
typed='Up x5'
keys Up Up Up Up Up
wait_until "Up x5 to show 'panda> set lr=0.03'" 10 line_reads 'panda> set lr=0.03'
typed='Left DC 5'
keys Left DC 5
wait_until "the edit to show 'panda> set lr=0.05'" 10 line_reads 'panda> set lr=0.05'
typed='Enter on the edited line'
keys Enter
wait_prompt 'panda>'
expect '  lr 0.05  momentum '

type_line 'continue'
wait_prompt 'panda>'
expect 'day 4 (from day 2, epoch 6): train loss '
expect '  rollback to day 2; set lr=0.05'

type_line '' # an empty line is continue
wait_prompt 'panda>'
expect 'day 5 (from day 4, epoch 8): train loss '

type_line 'quit'
wait_prompt 'sh$'
type_line 'echo "status $?"'
wait_prompt 'sh$'
expect 'status 0'

# ---- SIGKILL in the middle of a day, then the same command again in the same pane
cat > slow.yaml <<'EOF'
name: slow-panda
metric: {name: accuracy, goal: maximize}
objective: {data: spirals}
panda: {day_epochs: 40, seed: 1}
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 1}
  units: {value: 256}
  n_layers: {value: 3}
EOF
rm -f caviar.pid
type_line './run-panda.sh slow.yaml --storage k.db --no-chart'
wait_prompt 'panda>'
expect "panda: study 'slow-panda' in k.db, 0 day(s) so far, at day 0; 40 epoch(s) a day"
pid=$(cat caviar.pid)

type_line 'continue 50'
wait_output 'day 1 (from day 0, epoch 40): ' 60
t1=$(date +%s%N)
wait_output 'day 2 (from day 1, epoch 80): ' 60
t2=$(date +%s%N)
# About halfway through day 3 (a later day on a loaded machine, which is as good): half the
# time day 2 took, at least 50 ms, at most 5 s. Whatever day it is, it is cut short.
half=$(( (t2 - t1) / 2000000 ))
half=$(( half < 50 ? 50 : half > 5000 ? 5000 : half ))
sleep "$(printf '%d.%03d' $((half / 1000)) $((half % 1000)))"
kill -0 "$pid" 2>/dev/null || fail "caviar panda (pid $pid) is not running at the kill"
kill -KILL "$pid"
wait_prompt 'sh$'
days=$(since_mark | grep -cE '^day [0-9]+ \(') || true
sum=$(day_sum "$days")
if [ "$days" -lt 2 ] || [ -z "$sum" ]; then
    fail "expected 2 or more whole days before the kill, saw $days (last checksum '$sum')"
fi
type_line 'echo "status $?"'
wait_prompt 'sh$'
expect 'status 137'

type_line './run-panda.sh slow.yaml --storage k.db --no-chart'
wait_prompt 'panda>'
expect "panda: study 'slow-panda' in k.db, $days day(s) so far, at day $days; 40 epoch(s) a day"

type_line "rollback $days"
wait_prompt 'panda>'
expect "back at the end of day $days, checksum $sum; next day trains with:"

type_line 'continue'
wait_prompt 'panda>' 60
expect "day $((days + 1)) (from day $days, epoch $((40 * (days + 1)))): train loss "

# ---- Ctrl-C: drops a half-typed line; stops a day that trains (not kept), back at the prompt
set_mark
typed='set lr then C-c'
keys -l 'set lr'
wait_until "the half-typed line" 10 line_reads 'panda> set lr'
keys C-c
wait_prompt 'panda>'
typed='continue, then C-c during the day'
type_line 'continue'
sleep 0.3
keys C-c
wait_output "interrupted: the day was not kept; still at day $((days + 1))" 60
wait_prompt 'panda>'
type_line 'history'
wait_prompt 'panda>'
expect "head: day $((days + 1))"

type_line 'quit'
wait_prompt 'sh$'
echo "test_panda_tty: ok ($days days before the kill, day $days checksum $sum)"
