#!/usr/bin/env bash
# caviar panda end to end, driven by --script on the spirals data (a few seconds):
#   - days train and are numbered; set changes the next day's hyperparameters and is recorded;
#   - rollback 2 restores day 2's exact state (its checksum) and training on with day 3's
#     hyperparameters repeats day 3 bit for bit (same checksum, same numbers);
#   - bad commands and values change nothing and say why;
#   - the session survives SIGKILL mid-day: the next run resumes at the last whole day;
#   - --auto decides, records its reasons, and stops.
# usage: test_panda_cli.sh CAVIAR_BINARY
set -euo pipefail
caviar=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' not in $1"; }; }

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

# ---- days, set, rollback, repeat ----
printf '%s\n' 'continue 2' 'set lr=0.03 batch_size=32' 'continue' 'rollback 2' \
    'set lr=0.03 batch_size=32' 'continue' 'history' 'set lr=99' 'set bogus=1' 'set lr' \
    'rollback 9' 'frobnicate' 'best' 'quit' > s1.txt
"$caviar" panda panda.yaml --storage p.db --script s1.txt > out1.txt
day_line() { grep "^day $2 (" "$1" | head -1; }
sum_of() { day_line "$1" "$2" | sed 's/.*checksum //'; }
numbers_of() { day_line "$1" "$2" | sed 's/^day [0-9]* (from day [0-9]*, //; s/, checksum.*//'; }
[ -n "$(sum_of out1.txt 3)" ] || fail "no day 3"
expect out1.txt "back at the end of day 2, checksum $(sum_of out1.txt 2)"
[ "$(sum_of out1.txt 4)" = "$(sum_of out1.txt 3)" ] ||
    fail "day 4 (day 3 again from day 2) has checksum $(sum_of out1.txt 4), day 3 $(sum_of out1.txt 3)"
[ "$(numbers_of out1.txt 4)" = "$(numbers_of out1.txt 3)" ] || fail "day 4's numbers differ from day 3's"
expect out1.txt "day 4 (from day 2, epoch 6)"
expect out1.txt "set lr=0.03 batch_size=32"
expect out1.txt "rollback to day 2; set lr=0.03 batch_size=32"
expect out1.txt "set: lr=99 is outside its bounds: float in [0.0001, 10] (log)"
expect out1.txt "set: 'bogus' cannot change during training"
expect out1.txt "set: expected NAME=VALUE, got 'lr'"
expect out1.txt "rollback: there is no day 9 (days 0 to 4)"
expect out1.txt "unknown command 'frobnicate'"
# A refused set changed nothing: the session's next day still trains with lr 0.03.
printf '%s\n' 'set lr=0.5 momentum=2' 'continue' > s2.txt
"$caviar" panda panda.yaml --storage p.db --script s2.txt --no-chart > out2.txt
expect out2.txt "set: momentum=2 is outside its bounds"
expect out2.txt "day 5 (from day 4, epoch 8)"
grep -q "^    5      4      8       0.03 " <(printf 'history\n' | "$caviar" panda panda.yaml \
    --storage p.db --script - --no-chart) || fail "day 5 did not keep lr 0.03 after a refused set"

# ---- resume after SIGKILL in the middle of a day ----
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
printf 'continue\ncontinue\ncontinue\ncontinue\n' > s3.txt
"$caviar" panda slow.yaml --storage k.db --script s3.txt --no-chart > out3.txt &
pid=$!
for _ in $(seq 1 300); do grep -q "^day 1 " out3.txt 2>/dev/null && break; sleep 0.1; done
grep -q "^day 1 " out3.txt || fail "no day finished before the kill"
sleep 0.3
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
done_days=$(grep -c "^day " out3.txt)
last_sum=$(sum_of out3.txt "$done_days")
printf 'history\nquit\n' | "$caviar" panda slow.yaml --storage k.db --script - --no-chart > out4.txt
expect out4.txt "$done_days day(s) so far, at day $done_days"
expect out4.txt "head: day $done_days"
printf 'rollback %s\n' "$done_days" | "$caviar" panda slow.yaml --storage k.db --script - \
    --no-chart > out5.txt
expect out5.txt "checksum $last_sum"

# ---- --auto ----
"$caviar" panda panda.yaml --storage a.db --study auto --auto --days 6 --no-chart > out6.txt
expect out6.txt "auto: "
expect out6.txt "best: day "
grep -q "^day 6 \|no better dev accuracy" out6.txt || fail "--auto neither ran 6 days nor stopped"

# ---- the chart ----
printf 'chart\n' | "$caviar" panda panda.yaml --storage p.db --script - > out7.txt
expect out7.txt "learning curve up to day 5"
expect out7.txt "train loss"
# ---- bad session files: each refused with its message, exit 2 ----
bad() { # bad NAME MESSAGE: the file bad-NAME.yaml (from stdin) is refused saying MESSAGE
    cat > "bad-$1.yaml"
    local rc=0
    "$caviar" panda "bad-$1.yaml" --storage bad.db --script /dev/null > /dev/null 2> "bad-$1.err" || rc=$?
    [ "$rc" = 2 ] || fail "bad-$1.yaml: exit $rc, expected 2"
    expect "bad-$1.err" "$2"
}
head='objective: {data: spirals}
metric: {name: accuracy, goal: maximize}'
printf '%s\npanda: {day_epoch: 2}\nparameters: {lr: {min: 0.001, max: 0.1}}\n' "$head" |
    bad typo "unknown key 'day_epoch' in panda; expected day_epochs, days, seed"
printf '%s\npanda: {day_epochs: 0}\nparameters: {lr: {min: 0.001, max: 0.1}}\n' "$head" |
    bad zero "panda: day_epochs must be an integer >= 1, got '0'"
printf '%s\npanda: {}\nparameters: {units: {values: [16, 32]}}\n' "$head" |
    bad arch "parameter 'units' cannot change during training, so it needs one value (value: X)"
printf '%s\npanda: {start: {lr: fast}}\nparameters: {lr: {min: 0.001, max: 0.1}}\n' "$head" |
    bad start "panda: expected a number for 'lr', got 'fast'"
printf '%s\npanda: {start: {activation: swish}}\nparameters: {lr: {min: 0.001, max: 0.1}}\n' \
    "$head" | bad act "panda: unknown activation 'swish'"
printf '%s\npanda: {start: {lr: -1}}\nparameters: {momentum: {min: 0.5, max: 0.9}}\n' "$head" |
    bad lr "panda: invalid lr -1: must be in (0, inf)"
printf 'objective: {data: spirals}\npanda: {population: 0}\nparameters: {lr: {min: 0.001, max: 0.1}}\n' \
    > bad-pop.yaml
rc=0
"$caviar" pbt bad-pop.yaml --storage bad.db > /dev/null 2> bad-pop.err || rc=$?
[ "$rc" = 2 ] || fail "bad-pop.yaml: exit $rc, expected 2"
expect bad-pop.err "panda: population must be an integer in [1, 1000], got '0'"
echo "test_panda_cli: ok"
