#!/usr/bin/env bash
# test_live_view.sh CAVIAR — the live view of `caviar tune` (src/cli/progress.c) on a real
# pseudo-terminal, driven by util-linux's `script`:
#   - a small sweep (a /bin/sh program printing one metric line per step, 8 grid points, 2 jobs,
#     the threshold pruner stopping 3 of them) runs with stdout and stderr on a 100x30 terminal;
#   - from the bytes captured: the budget bar with its count, running trials with their latest
#     step and value, the best so far, the pruned count, elapsed and remaining time, a final
#     frame that agrees with the summary, and no plain event lines;
#   - the same bytes replayed on a small terminal model (screen.awk, below): what is left on the
#     screen at the end is the final frame once, then the summary as printed, nothing stale;
#   - the same sweep with stderr to a file (stdout still on the terminal): one plain line per
#     trial that ended, no escape sequences, and no live view on the terminal;
#   - negative controls: each capture fed to the other mode's checks must fail them, so that no
#     check passes vacuously.
# Every check runs; the exit status is 1 when any failed, 77 when `script` is not there.
#
# usage: test_live_view.sh PATH/TO/caviar
set -Eeuo pipefail
# A command that stops the script (set -e) says where, rather than leaving a bare status 1.
trap 'if [ "$BASH_SUBSHELL" = 0 ]; then
    echo "test_live_view: stopped at line $LINENO: $BASH_COMMAND" >&2
fi' ERR

CAVIAR=${1:?usage: test_live_view.sh PATH/TO/caviar}
CAVIAR=$(cd "$(dirname "$CAVIAR")" && pwd)/$(basename "$CAVIAR")

# util-linux's script (bsdutils on Debian); the BSD and macOS one takes other options.
if ! command -v script >/dev/null 2>&1 ||
    ! script -qfec true /dev/null </dev/null >/dev/null 2>&1; then
    echo "test_live_view: skipped: util-linux 'script' is not available" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-live-view-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# oneline FILE [N]: the first N (3) lines of FILE on one line, control characters shown.
oneline() {
    head -n "${2:-3}" "$1" | cat -v | tr '\n' '|'
}

COLS=80
ROWS=30
ESC=$'\033'
CR=$'\r'

# ---- the sweep ---------------------------------------------------------------------------------

# A learning curve x^2 + 1/step over 5 steps of 0.2 s: each trial is visibly running for about a
# second. The grid takes each x once; the threshold pruner stops x = 2, 2.5 and 3 (above 4 from
# step 2 on), so the counts are known: 5 complete, 3 pruned, best x = 0.25 at 0.0625 + 0.2.
cat >train.sh <<'EOF'
#!/bin/sh
for a in "$@"; do case "$a" in --x=*) x=${a#--x=};; esac; done
s=1
while [ $s -le 5 ]; do
    awk -v x="$x" -v s="$s" 'BEGIN { printf "{\"step\": %d, \"loss\": %.4f}\n", s, x * x + 1 / s }'
    sleep 0.2
    s=$((s + 1))
done
EOF
chmod +x train.sh
cat >live.yaml <<'EOF'
program: ../train.sh
method: grid
metric: {name: loss, goal: minimize}
jobs: 2
budget: {trials: 8}
parameters:
  x: {values: [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 0.25, 0.75]}
pruner: {name: threshold, upper: 4, n_warmup_steps: 2}
command:
  - ${program}
  - ${args}
EOF
N_TRIALS=8
N_COMPLETE=5
N_PRUNED=3
BEST_VALUE=0.2625
SUMMARY="study 'live' in caviar.db: $N_TRIALS trials"
SUMMARY+=" ($N_COMPLETE complete, $N_PRUNED pruned, 0 failed)"

# run_on_pty DIR LOG REDIRECT: runs the sweep in DIR (its own caviar.db) on a pseudo-terminal of
# COLS x ROWS; LOG gets every byte the terminal received. REDIRECT goes at the end of the caviar
# command inside the terminal (e.g. '2>plain.err'). Prints caviar's exit status.
run_on_pty() {
    local dir=$1 log=$2 redirect=$3 status=0
    mkdir -p "$dir"
    cp live.yaml "$dir/"
    : >"$log"
    local cmd="stty cols $COLS rows $ROWS; TERM=xterm exec '$CAVIAR' tune live.yaml $redirect"
    (cd "$dir" && SHELL=/bin/sh script -qfec "$cmd" "$log" </dev/null >/dev/null \
        2>"$log.script-err") || status=$?
    echo "$status"
}

# ---- reading a capture -------------------------------------------------------------------------

# body LOG: the bytes the program wrote, without the lines `script` adds around them.
body() {
    sed -e '/^Script started on /d' -e '/^Script done on /d' "$1"
}

# stream LOG: every line ever drawn, escape sequences and carriage returns removed. A redraw
# starts with the cursor moved up and the line cleared, so each frame's lines come out whole.
stream() {
    body "$1" | sed -e "s/$ESC\\[[0-9;?]*[A-Za-z]//g" -e "s/$CR//g"
}

# screen.awk: what a cols x rows terminal shows once all the bytes are written (from the top of
# the window to the last row with text, trailing blanks cut). It knows what a line-oriented
# program sends: printable ASCII with automatic wrapping at the right margin (deferred, as in
# xterm and the Linux console), CR, LF, BS, TAB, and ESC [ n A/B/C/D/G/K/J. Any other escape
# sequence is named on stderr and makes the exit status 1: it never shows a screen it did not
# understand. The screen is an endless column of rows; the window is the last `rows` of them
# that the cursor reached, and the cursor does not leave it.
cat >screen.awk <<'EOF'
function reach(r) { if (r > low) { low = r; top = low - rows + 1; if (top < 0) top = 0 } }
function put(ch,    s) {
    if (col >= cols) { row++; reach(row); col = 0 }     # the deferred wrap
    s = scr[row]
    while (length(s) < col) s = s " "
    scr[row] = substr(s, 1, col) ch substr(s, col + 2)
    col++
}
function erase_line(mode,    s) {
    s = scr[row]
    if (mode == 2) { scr[row] = ""; return }
    if (mode == 0) { scr[row] = substr(s, 1, col); return }
    while (length(s) < col + 1) s = s " "
    scr[row] = sprintf("%" (col + 1) "s", "") substr(s, col + 2)
}
function csi(params, final,    n, r) {
    n = params == "" ? 1 : params + 0
    if (col >= cols) col = cols - 1                     # any movement ends a pending wrap
    if (final == "A") { row -= n; if (row < top) row = top }
    else if (final == "B") { row += n; if (row > top + rows - 1) row = top + rows - 1; reach(row) }
    else if (final == "C") { col += n; if (col > cols - 1) col = cols - 1 }
    else if (final == "D") { col -= n; if (col < 0) col = 0 }
    else if (final == "G") { col = n - 1; if (col > cols - 1) col = cols - 1 }
    else if (final == "K") erase_line(params + 0)
    else if (final == "J" && params + 0 == 0) {
        erase_line(0)
        for (r = row + 1; r <= low; r++) scr[r] = ""
    } else {
        printf "unknown escape ESC[%s%s\n", params, final > "/dev/stderr"
        unknown++
    }
}
function feed(text,    i, n, c) {
    n = length(text)
    for (i = 1; i <= n; i++) {
        c = substr(text, i, 1)
        if (esc == 1) {
            if (c == "[") { esc = 2; params = ""; continue }
            printf "unknown escape ESC%s\n", c > "/dev/stderr"
            unknown++
            esc = 0
        } else if (esc == 2) {
            if (c ~ /[0-9;?]/) params = params c
            else { csi(params, c); esc = 0 }
        } else if (c == "\033") esc = 1
        else if (c == "\r") col = 0
        else if (c == "\n") { row++; reach(row) }
        else if (c == "\b") { if (col >= cols) col = cols - 1; if (col > 0) col-- }
        else if (c == "\t") { col = (int(col / 8) + 1) * 8; if (col > cols - 1) col = cols - 1 }
        else if (c != "\a") put(c)
    }
}
BEGIN { row = col = low = top = esc = unknown = 0 }
{ feed($0); feed("\n") }        # the last line of a capture ends with CR LF as well
END {
    last = -1
    for (r = top; r <= low; r++) { sub(/ +$/, "", scr[r]); if (scr[r] != "") last = r }
    for (r = top; r <= last; r++) print scr[r]
    exit unknown > 0
}
EOF

# screen LOG: the screen at the end (screen.awk).
screen() {
    body "$1" | awk -v cols="$COLS" -v rows="$ROWS" -f "$work/screen.awk"
}

# ---- the checks ----------------------------------------------------------------------------------

BAR="\\[[#.]{24}\\] [0-9]+/$N_TRIALS trials  [0-9]+ complete  [0-9]+ pruned  [0-9]+ failed"
RUNNING="^  #[0-9]+ +running +[0-9]+\\.[0-9] s  step [0-9]+: [-0-9.e+]+$"
CLOCK="[0-9]+:[0-9]{2}"
PLAIN="^trial [0-9]+ (complete: |pruned |failed: |re-queued: )"

# check_summary WHAT LINES: the summary on stdout: counts, storage, best trial and parameters.
check_summary() {
    local what=$1 lines=$2
    grep -qxF "$SUMMARY" "$lines" || fail "$what: no summary line \"$SUMMARY\""
    grep -qE "^this run: $N_TRIALS trials in [0-9.]+ s$" "$lines" ||
        fail "$what: no summary line 'this run: $N_TRIALS trials in S s'"
    grep -qE "^best: trial [0-9]+, value $BEST_VALUE$" "$lines" ||
        fail "$what: no best value line 'best: trial N, value $BEST_VALUE'"
    grep -qE "^  x +0\\.25$" "$lines" || fail "$what: no best parameter line '  x  0.25'"
}

# best_number FILE: the trial number of the summary's best trial.
best_number() {
    sed -n "s/^best: trial \\([0-9]*\\), value .*/\\1/p" "$1" | head -n 1
}

# check_live LOG: the live view was drawn on the terminal, and the plain lines were not.
check_live() {
    local log=$1
    stream "$log" >stream.txt
    grep -E "^$BAR" stream.txt >frames.txt || true # the first line of each frame
    grep -q "$ESC\\[2K" "$log" || fail "$log: no line was cleared (ESC[2K): no live view drawn"
    grep -qE "$ESC\\[[0-9]+A" "$log" ||
        fail "$log: the cursor never went up (ESC[nA): the live view was never redrawn"
    [ -s frames.txt ] ||
        fail "$log: no budget bar '[####....] N/$N_TRIALS trials  C complete  P pruned  F failed'"
    grep -qE "^$CLOCK elapsed.*  best [-0-9.e+]+ \\(#[0-9]+\\)$" stream.txt ||
        fail "$log: no best-so-far 'best V (#N)' after the clock"
    grep -qE "  [1-9][0-9]* pruned" frames.txt ||
        fail "$log: the budget bar never showed a non-zero pruned count"
    grep -qE "$RUNNING" stream.txt ||
        fail "$log: no running trial with its latest value ('  #N  running  T s  step S: V')"
    grep -qE "^$CLOCK elapsed  ~$CLOCK left( |$)" stream.txt ||
        fail "$log: no 'M:SS elapsed  ~M:SS left' line (elapsed and remaining time)"
    if grep -E "$PLAIN" stream.txt >plain-lines.txt; then
        fail "$log: plain event lines on the terminal: $(oneline plain-lines.txt 2)"
    fi
    # The last frame is the final state, and agrees with the summary printed after it.
    local final want
    final=$(tail -n 1 frames.txt)
    want="[########################] $N_TRIALS/$N_TRIALS trials  $N_COMPLETE complete"
    want+="  $N_PRUNED pruned  0 failed"
    [ "$final" = "$want" ] ||
        fail "$log: the last frame's bar is '$final', not the final state '$want'"
    # Each frame's count: at least the finished trials, at most the budget.
    awk -v b="$N_TRIALS" '{ split($2, f, "/"); done = $4 + $6 + $8
                            if (f[1] + 0 < done || f[1] + 0 > b) print }' frames.txt >bad.txt
    [ ! -s bad.txt ] ||
        fail "$log: frames counting fewer than the finished trials or more than the budget:" \
            "$(oneline bad.txt)"
    check_summary "$log" stream.txt

    # What is left on the screen: the final frame once, its clock line, then the summary.
    local status=0 before=$failures
    screen "$log" >screen.txt 2>screen.err || status=$?
    [ "$status" = 0 ] ||
        fail "$log: escape sequences the terminal model does not know: $(oneline screen.err)"
    local row1='' row2='' row3=''
    { read -r row1 || true; read -r row2 || true; read -r row3 || true; } <screen.txt
    [ "$row1" = "$want" ] || fail "$log: the screen's first row is '$row1', not the final bar"
    local best_end="  best $BEST_VALUE (#$(best_number stream.txt))"
    [[ $row2 =~ ^[0-9]+:[0-9]{2}\ elapsed ]] && [ "${row2%"$best_end"}" != "$row2" ] ||
        fail "$log: the screen's second row is '$row2', not 'M:SS elapsed ...$best_end'"
    [[ $row3 == "study 'live' in caviar.db: "* ]] ||
        fail "$log: the summary does not follow the final frame: the third row is '$row3'"
    local bars
    bars=$(grep -cE "$BAR" screen.txt || true)
    [ "$bars" = 1 ] || fail "$log: $bars budget bars left on the screen, not 1"
    if grep -E "running|left$" screen.txt >stale.txt; then
        fail "$log: stale lines left on the screen: $(oneline stale.txt)"
    fi
    [ "$(wc -l <screen.txt)" = 6 ] ||
        fail "$log: the screen has $(wc -l <screen.txt) rows at the end, not 6 (2 of the view," \
            "4 of the summary)"
    # The summary rows read exactly as printed: no leftovers of the view mixed into them.
    awk '/ elapsed/ { n = NR } { l[NR] = $0 }
         END { for (i = n + 1; i <= NR; i++) if (l[i] != "") print l[i] }' stream.txt >printed.txt
    sed 1,2d screen.txt >summary-rows.txt
    if ! diff printed.txt summary-rows.txt >summary.diff; then
        fail "$log: the summary on the screen is not as printed: $(oneline summary.diff 6)"
    fi
    check_summary "$log (screen)" screen.txt
    if [ "$failures" -gt "$before" ]; then
        echo "the screen of $log at the end (${COLS}x$ROWS):" >&2
        sed 's/^/    |/' screen.txt >&2
    fi
}

# check_plain ERR: one plain line per trial that ended, nothing else, no escape sequences.
check_plain() {
    local err=$1
    if grep "$ESC" "$err" >esc.txt; then
        fail "$err: escape sequences in the plain output: $(oneline esc.txt 2)"
    fi
    if grep -q "$CR" "$err"; then
        fail "$err: carriage returns in the plain output (a redrawn line)"
    fi
    if grep -vE "$PLAIN" "$err" >other.txt; then
        fail "$err: lines that are not plain event lines: $(oneline other.txt)"
    fi
    local n_complete n_pruned took="\\([0-9]+\\.[0-9] s\\)"
    n_complete=$(grep -cE "^trial [0-9]+ complete: [-0-9.e+]+ $took$" "$err" || true)
    n_pruned=$(grep -cE "^trial [0-9]+ pruned at step [0-9]+: [-0-9.e+]+ $took$" "$err" || true)
    [ "$n_complete" = "$N_COMPLETE" ] ||
        fail "$err: $n_complete 'trial N complete: V (T s)' lines, not $N_COMPLETE"
    [ "$n_pruned" = "$N_PRUNED" ] ||
        fail "$err: $n_pruned 'trial N pruned at step S: V (T s)' lines, not $N_PRUNED"
    local numbers
    numbers=$(sed -n 's/^trial \([0-9]*\) .*/\1/p' "$err" | sort -n | tr '\n' ' ')
    [ "$numbers" = "$(seq -s ' ' 0 $((N_TRIALS - 1))) " ] ||
        fail "$err: trials announced: '$numbers', not each of 0..$((N_TRIALS - 1)) once"
}

# ---- the runs (both at once: they mostly sleep) ------------------------------------------------

t0=$(date +%s.%N)
(run_on_pty plain "$work/plain.log" '2>plain.err' >plain-status) &
plain_job=$!
live_status=$(run_on_pty live "$work/live.log" '')
wait "$plain_job" || true
plain_status=$(cat plain-status)
seconds=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

cat plain/plain.err >plain.err 2>/dev/null || true
[ "$live_status" = 0 ] ||
    fail "caviar tune on the terminal: status $live_status: $(body live.log | tail -n 5 | cat -v)"
[ "$plain_status" = 0 ] ||
    fail "caviar tune with stderr to a file: status $plain_status: $(cat plain.err)"
for f in live.log.script-err plain.log.script-err; do
    [ ! -s "$f" ] || fail "script said: $(cat "$f")"
done
[ -s live/caviar.db ] || fail "no study database live/caviar.db"
[ -s plain/caviar.db ] || fail "no study database plain/caviar.db"
[ -d live/caviar-logs/live ] || fail "no trial logs in live/caviar-logs/live"

check_live live.log

check_plain plain.err
# With stderr to a file the terminal got the summary (stdout) and nothing else: no live view.
if grep "$ESC" plain.log >esc.txt; then
    fail "plain.log: escape sequences on the terminal with stderr to a file: $(oneline esc.txt)"
fi
stream plain.log >plain-stream.txt
check_summary plain.log plain-stream.txt

# ---- negative controls: each mode's checks fail on the other mode's capture --------------------

# expect_caught WHAT MESSAGE...: the checks just run (their stderr in caught.txt) failed with
# each MESSAGE.
expect_caught() {
    local what=$1 m
    shift
    for m in "$@"; do
        grep -qF -- "$m" caught.txt ||
            fail "negative control: the $what checks did not catch '$m'" \
                "(they said: $(oneline caught.txt 20))"
    done
}
mkdir neg
(cd neg && check_live ../plain.log) 2>caught.txt || true
expect_caught live "no line was cleared" "the cursor never went up" "no budget bar" \
    "no best-so-far" "never showed a non-zero pruned count" "no running trial" \
    "elapsed and remaining" "not the final bar" "budget bars left on the screen, not 1"
# The summary was on the terminal in both runs: those checks must not have fired.
if grep -E "no summary line|no best value line|no best parameter line" caught.txt >wrong.txt; then
    fail "negative control: summary checks failed on plain.log, which has it: $(oneline wrong.txt)"
fi
(cd neg && body ../live.log >live-as-plain.err && check_plain live-as-plain.err) 2>caught.txt ||
    true
expect_caught plain "escape sequences in the plain output" "carriage returns" \
    "lines that are not plain event lines" "'trial N complete: V (T s)' lines, not $N_COMPLETE" \
    "each of 0..$((N_TRIALS - 1)) once"
# Plain lines on the terminal, after the live view, are caught too.
(cd neg && cat ../live.log ../plain.err >mixed.log && check_live mixed.log) 2>caught.txt || true
expect_caught live "plain event lines on the terminal"

if [ "$failures" -gt 0 ]; then
    echo "test_live_view: $failures checks failed (runs took $seconds s); the captures:" >&2
    for f in live.log plain.log plain.err; do
        echo "--- $f" >&2
        head -n 60 "$f" | cat -v >&2
    done
    exit 1
fi
echo "test_live_view: all checks passed (runs took $seconds s)"
