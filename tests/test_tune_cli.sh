#!/usr/bin/env bash
# test_tune_cli.sh — `caviar tune` and `caviar worker` as a user meets them, on SQLite files in a
# temporary directory:
#   - a study run with --jobs, resumed with a larger budget, and a worker with nothing left to do;
#   - a worker joining a running study (both do some of the trials);
#   - Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM to the runner
#     alone (as a job scheduler sends it): exit status 130, the message, trials re-queued, and
#     the same command resumes;
#   - --time;
#   - the catalogue of bad invocations with their exact stderr and exit status 2;
#   - a PostgreSQL password never shown;
#   - --help lists every option the parser takes.
# Every check runs; the exit status is 1 when any failed.
#
# usage: test_tune_cli.sh PATH/TO/caviar
set -euo pipefail

CAVIAR=${1:?usage: test_tune_cli.sh PATH/TO/caviar}
CAVIAR=$(cd "$(dirname "$CAVIAR")" && pwd)/$(basename "$CAVIAR")
work=$(mktemp -d /tmp/caviar-tune-cli-XXXXXX)
groups=() # process groups started with setsid, killed on the way out if still there

cleanup() {
    for g in "${groups[@]+"${groups[@]}"}"; do
        kill -KILL -- "-$g" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run ARGS...: runs caviar with stdout in ./out and stderr in ./err; $status is its exit status.
status=0
run() {
    status=0
    "$CAVIAR" "$@" >out 2>err || status=$?
    no_sanitizer_report err "caviar $*"
}

# no_sanitizer_report FILE WHAT: a sanitizer build's report is a failure wherever it shows.
no_sanitizer_report() {
    if grep -q -e "Sanitizer" -e "runtime error:" "$1"; then
        fail "$2: sanitizer report: $(cat "$1")"
    fi
}

# jnum FILE KEY: the number after "KEY": in a one-line JSON summary.
jnum() {
    grep -o "\"$2\": [-0-9.e+]*" "$1" | head -n 1 | sed 's/.*: //'
}

# expect_json FILE KEY OP VALUE (OP: -eq -gt -lt ...)
expect_json() {
    local v
    v=$(jnum "$1" "$2")
    if [ -z "$v" ] || ! test "$v" "$3" "$4"; then
        fail "$1: \"$2\" is '${v}', expected $3 $4: $(cat "$1")"
    fi
}

# expect_usage 'EXACT STDERR' ARGS...: exit status 2, nothing on stdout, exactly that on stderr.
expect_usage() {
    local want=$1
    shift
    run "$@"
    if [ "$status" -ne 2 ] || [ -s out ] || [ "$(cat err)" != "$want" ]; then
        fail "caviar $*: status $status, stdout '$(cat out)', stderr:
$(cat err)
--- expected status 2 and stderr:
$want"
    fi
}

now() { date +%s.%N; }
# elapsed_ok START MAX: whether less than MAX seconds have passed since START.
elapsed_ok() { awk -v s="$1" -v e="$(now)" -v m="$2" 'BEGIN { exit !(e - s < m) }'; }

# start_group OUTFILE ERRFILE ARGS...: caviar in the background as the leader of its own process
# group (like a shell job); $bg is its pid, which is also the group's id.
bg=0
start_group() {
    local o=$1 e=$2
    shift 2
    setsid "$CAVIAR" "$@" >"$o" 2>"$e" &
    bg=$!
    groups+=("$bg")
    # A non-interactive shell's background job is no group leader, so setsid does not fork.
    local pgid
    pgid=$(ps -o pgid= -p "$bg" | tr -d ' ')
    [ "$pgid" = "$bg" ] || fail "setsid forked: pid $bg is in group $pgid"
}

# ---- a study, resumed, and a worker with nothing left ----------------------------------------

run tune --objective branin --trials 20 --jobs 2 --storage b.db --json
[ "$status" -eq 0 ] || fail "tune branin: status $status: $(cat err)"
cp out b1.json
expect_json b1.json trials -eq 20
expect_json b1.json complete -eq 20
expect_json b1.json run_here -eq 20
grep -q '"study": "branin", "storage": "b.db"' b1.json || fail "b1.json: $(cat b1.json)"

run tune --objective branin --trials 30 --jobs 2 --storage b.db --json
[ "$status" -eq 0 ] || fail "tune branin --trials 30: status $status: $(cat err)"
cp out b2.json
expect_json b2.json trials -eq 30
expect_json b2.json complete -eq 30
expect_json b2.json run_here -eq 10 # the first 20 are kept, not run again
awk -v a="$(jnum b1.json value)" -v b="$(jnum b2.json value)" 'BEGIN { exit !(b <= a) }' ||
    fail "the best value got worse on resume: $(cat b1.json) then $(cat b2.json)"

t0=$(now)
run worker --storage b.db --study branin --json
[ "$status" -eq 0 ] || fail "worker with nothing to do: status $status: $(cat err)"
expect_json out run_here -eq 0
expect_json out trials -eq 30
elapsed_ok "$t0" 2 || fail "a worker with nothing to do took more than 2 s"

# The human summary.
run tune --objective branin --trials 30 --jobs 2 --storage b.db
[ "$status" -eq 0 ] || fail "tune again: status $status"
grep -q "^study 'branin' in b.db: 30 trials (30 complete, 0 pruned, 0 failed)$" out ||
    fail "summary: $(cat out)"
grep -q "^this run: 0 trials in " out || fail "summary: $(cat out)"

# ---- a worker joins a running study -------------------------------------------------------------

# The study lives in join.db, named the sqlite:PATH way by tune and as a plain path by the worker.
start_group tune.json tune.err tune --objective quadratic:epochs=5,sleep=0.02 --trials 40 --jobs 1 \
    --storage sqlite:join.db --json
tune_pid=$bg
# The worker may come before tune has created the study: try again while it is missing.
for _ in $(seq 200); do
    run worker --storage join.db --study quadratic --json
    if [ "$status" -eq 2 ] && grep -q "there is no study 'quadratic'" err; then
        sleep 0.02
        continue
    fi
    break
done
cp out worker.json
[ "$status" -eq 0 ] || fail "worker joining: status $status: $(cat err)"
tune_status=0
wait "$tune_pid" || tune_status=$?
[ "$tune_status" -eq 0 ] || fail "tune joined by a worker: status $tune_status: $(cat tune.err)"
expect_json tune.json trials -eq 40
expect_json tune.json complete -eq 40
expect_json worker.json trials -eq 40
expect_json tune.json run_here -gt 0
expect_json worker.json run_here -gt 0
here=$(($(jnum tune.json run_here) + $(jnum worker.json run_here)))
[ "$here" -eq 40 ] || fail "tune and worker ran $here trials between them, not 40"

# ---- Ctrl-C and SIGTERM ----------------------------------------------------------------------------

slow=(--objective "quadratic:epochs=20,sleep=0.05" --trials 6 --jobs 2 --storage int.db --json)
start_group int.json int.err tune "${slow[@]}"
sleep 0.6 # both workers are in their first 1-second trial
t0=$(now)
kill -INT -- "-$bg"
int_status=0
wait "$bg" || int_status=$?
elapsed_ok "$t0" 2 || fail "Ctrl-C took more than 2 s to stop the run"
[ "$int_status" -eq 130 ] || fail "Ctrl-C: status $int_status, not 130"
# The last line says so (before it, one line per trial that ended: stderr is not a terminal).
[ "$(tail -n 1 int.err)" = "caviar tune: interrupted; run the same command again to resume" ] ||
    fail "Ctrl-C: stderr '$(cat int.err)'"
expect_json int.json interrupted -eq 2
expect_json int.json fail -eq 2
expect_json int.json waiting -eq 2
expect_json int.json running -eq 0
expect_json int.json complete -eq 0

run tune "${slow[@]}"
[ "$status" -eq 0 ] || fail "resume after Ctrl-C: status $status: $(cat err)"
expect_json out complete -eq 6 # the budget: 2 re-runs and 4 new trials
expect_json out run_here -eq 6
expect_json out fail -eq 2     # the interrupted ones, kept as they were
expect_json out waiting -eq 0
expect_json out running -eq 0

# SIGTERM to the runner alone (a job scheduler's): passed on to the workers.
start_group term.json term.err tune "${slow[@]}" --study term
sleep 0.6
kill -TERM "$bg"
term_status=0
wait "$bg" || term_status=$?
[ "$term_status" -eq 130 ] || fail "SIGTERM: status $term_status, not 130"
[ "$(tail -n 1 term.err)" = "caviar tune: interrupted; run the same command again to resume" ] ||
    fail "SIGTERM: stderr '$(cat term.err)'"
expect_json term.json interrupted -eq 2
expect_json term.json running -eq 0

# ---- --time -----------------------------------------------------------------------------------------

t0=$(now)
run tune --objective quadratic:epochs=5,sleep=0.05 --trials 1000 --jobs 2 --time 0.5 \
    --storage time.db --json
[ "$status" -eq 0 ] || fail "--time: status $status: $(cat err)"
elapsed_ok "$t0" 4 || fail "--time 0.5 with 0.25 s trials took more than 4 s"
expect_json out trials -lt 1000
expect_json out trials -gt 0
expect_json out running -eq 0

# ---- bad invocations ------------------------------------------------------------------------------

expect_usage "caviar tune: unknown option '--bogus'
hint: 'caviar tune --help' lists the options" tune --bogus
expect_usage "caviar tune: cannot read 'extra': No such file or directory" tune extra
expect_usage "caviar tune: unexpected argument 'two'
hint: 'caviar tune --help' lists the options" tune one two
expect_usage "caviar tune: invalid value '0' for --trials: expected a positive integer
hint: 'caviar tune --help' lists the options" tune --trials 0
expect_usage "caviar tune: invalid value '-3' for --trials: expected a positive integer
hint: 'caviar tune --help' lists the options" tune --trials -3
expect_usage "caviar tune: invalid value '0' for --jobs: expected 1 to 1024
hint: 'caviar tune --help' lists the options" tune --jobs 0
expect_usage "caviar tune: invalid value 'up' for --direction: expected minimize or maximize
hint: 'caviar tune --help' lists the options" tune --direction up
expect_usage "caviar tune: invalid value '0' for --time: expected a positive number of seconds" \
    tune --time 0
expect_usage "caviar tune: --objective: unknown objective 'nope'
hint: mlp, branin, hartmann6 or quadratic" tune --objective nope
expect_usage "caviar tune: --objective: unknown objective 'branni'; did you mean 'branin'?" \
    tune --objective branni
expect_usage "caviar tune: --objective: unknown setting 'bogus' for objective 'branin'
hint: its settings are: epochs, sleep, fail" tune --objective branin:bogus=1
expect_usage "caviar tune: --grace must be longer than --heartbeat
hint: 'caviar tune --help' lists the options" tune --heartbeat 5 --grace 3
expect_usage "caviar tune: --grace must be longer than --heartbeat
hint: 'caviar tune --help' lists the options" tune --grace 2 # the default heartbeat is 2 s
expect_usage "caviar tune: study 'branin' runs the objective 'branin', not 'hartmann6'
hint: another --study name starts a new study" tune --objective hartmann6 --study branin \
    --storage b.db
expect_usage "caviar worker: --study NAME is required
hint: 'caviar worker --help' lists the options" worker
expect_usage "caviar worker: unknown option '--trials'
hint: 'caviar worker --help' lists the options" worker --study branin --trials 5
expect_usage "caviar worker: there is no study 'missing' in b.db
hint: 'caviar tune --study missing ...' creates it" worker --storage b.db --study missing
expect_usage "caviar worker: ':memory:' is not a study database
hint: caviar.db, sqlite:PATH or postgresql://USER@HOST/DB" worker --storage :memory: --study x
[ ! -e caviar.db ] || fail "a usage error created caviar.db"

# A bad sampler is a usage error, and leaves nothing behind that a later worker would trip on:
# once the study is run with a good sampler, a worker joins it.
expect_usage "caviar tune: unknown sampler 'nope'
hint: did you mean 'tpe'?" tune --sampler nope --storage bad.db
run tune --storage bad.db --trials 2 --jobs 1 --json
[ "$status" -eq 0 ] || fail "tune after a bad --sampler: status $status: $(cat err)"
run worker --storage bad.db --study quadratic
[ "$status" -eq 0 ] ||
    fail "worker on a study first tried with --sampler nope: status $status: $(cat err)"

# A value missing after an option says so (as 'caviar train' does).
run tune --trials
if [ "$status" -ne 2 ] || [ "$(head -n 1 err)" != "caviar tune: option '--trials' needs a value" ]; then
    fail "tune --trials (no value): status $status, stderr '$(cat err)'"
fi

# ---- a worker joins after the budget was raised by a resumed tune ----------------------------------

# The study was created with a budget of 2; tune resumes it with 30, and a worker that joins
# works towards those 30 too.
grow=(--objective "quadratic:epochs=5,sleep=0.02" --storage grow.db --json)
run tune "${grow[@]}" --trials 2 --jobs 1
[ "$status" -eq 0 ] || fail "tune grow: status $status: $(cat err)"
start_group grow.json grow.err tune "${grow[@]}" --trials 30 --jobs 1
sleep 0.2
run worker --storage grow.db --study quadratic --json
cp out grow-worker.json
grow_status=0
wait "$bg" || grow_status=$?
[ "$grow_status" -eq 0 ] || fail "tune grow --trials 30: status $grow_status: $(cat grow.err)"
expect_json grow.json trials -eq 30
expect_json grow-worker.json run_here -gt 0

# ---- passwords ------------------------------------------------------------------------------------

url=postgresql://u:sekret@127.0.0.1:1/db
for args in "tune --storage $url --trials 2 --jobs 1" "tune --storage $url --json" \
    "tune --storage $url?sslmode=disable --sampler tpe:n_startup=3" "worker --storage $url --study x" \
    "worker --storage $url --study x --json" "tune --storage postgresql://127.0.0.1:1/db?password=sekret"; do
    set -f # the words of args are the arguments, never file patterns
    # shellcheck disable=SC2086
    run $args
    set +f
    [ "$status" -eq 1 ] || fail "caviar $args: status $status, not 1 (no server)"
    if grep -q sekret out err; then
        fail "caviar $args shows the password: $(cat out err)"
    fi
    grep -q "cannot connect to 'postgresql://" err || fail "caviar $args: stderr '$(cat err)'"
done

# ---- --help ------------------------------------------------------------------------------------------

run tune --help
if [ "$status" -ne 0 ] || [ -s err ]; then
    fail "tune --help: status $status, stderr '$(cat err)'"
fi
for o in --objective --sampler --pruner --direction --trials --time --jobs --storage --study \
    --seed --retries --heartbeat --grace --json --quiet --help; do
    grep -q "^  $o " out || fail "tune --help does not list $o"
done
grep -q "^Exit status: 0 done, 1 failure at run time, 2 bad options, 130 interrupted.$" out ||
    fail "tune --help: no exit statuses"
run worker --help
if [ "$status" -ne 0 ] || [ -s err ]; then
    fail "worker --help: status $status, stderr '$(cat err)'"
fi
for o in --storage --study --jobs --time --json --quiet --help; do
    grep -q "^  $o " out || fail "worker --help does not list $o"
done

for f in tune.err int.err term.err grow.err; do
    no_sanitizer_report "$f" "$f"
done

if [ "$failures" -ne 0 ]; then
    echo "test_tune_cli: $failures checks failed" >&2
    exit 1
fi
echo "test_tune_cli: all checks passed"
