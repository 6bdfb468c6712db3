#!/usr/bin/env bash
# run_panda_bench.sh — the panda strategy and population-based training on Fashion-MNIST, each
# against its baseline with the same number of epochs:
#   (a) `caviar panda --auto` babysitting examples/fashion-mnist-panda.yaml (784-256-256-10,
#       Adam, one epoch a day) from a poor starting learning rate, 1e-5, for EPOCHS days, against
#       the same session with the rate left at 1e-5 (a --script of "continue EPOCHS": the same
#       session code, nothing set), and, for scale, the same session at Adam's usual rate 1e-3.
#       After each, the final model (the last day) and the best day's model are saved ("save")
#       and evaluated on the dev and test sets by `caviar train --resume` (no epoch trained):
#       `caviar panda` itself never looks at the test set.
#   (b) `caviar pbt` on examples/fashion-mnist-pbt.yaml (population 8, EPOCHS epochs each,
#       exploit every 2 epochs) against `caviar pbt --no-exploit` (random search: the same eight
#       draws, same seed, the same epochs), both with --jobs 8 (all members side by side).
# One run at a time, each with the whole machine; OPENBLAS_NUM_THREADS=1. Prints the figures and
# writes them, with the commands, the machine and the git revision, to
# bench/results/panda-<UTC date>.txt.
#
# usage: bench/run_panda_bench.sh [EPOCHS]   (default 20: about 5 minutes on 2 idle cores)
# environment:
#   CAVIAR_BIN   the caviar binary (default: <repo>/build/caviar, built there if missing)
#   TMPDIR       where the study databases go (about 300 MB at EPOCHS=20, removed at the end)
# exit status: 0 done, 77 Fashion-MNIST is not installed (nothing measured), 1 failure,
# 2 usage.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
epochs=${1:-20}
case $epochs in
    -h | --help)
        sed -n '2,/^# 2 usage/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
esac
if ! [[ $epochs =~ ^[0-9]+$ ]] || [ "$epochs" -lt 2 ] || [ "$epochs" -gt 1000 ]; then
    echo "usage: bench/run_panda_bench.sh [EPOCHS]   (an integer in [2, 1000], default 20)" >&2
    exit 2
fi
if ! ls /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte* >/dev/null 2>&1; then
    echo "run_panda_bench.sh: skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)" >&2
    exit 77
fi
export OPENBLAS_NUM_THREADS=1

caviar=${CAVIAR_BIN:-$repo/build/caviar}
if [ ! -x "$caviar" ]; then
    echo "building caviar in $repo/build ..."
    bash "$repo/scripts/build.sh" >/dev/null
fi
caviar=$(cd "$(dirname "$caviar")" && pwd)/$(basename "$caviar")

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$repo/bench/results"
out="$repo/bench/results/panda-$stamp.txt"
work=$(mktemp -d "${TMPDIR:-/tmp}/caviar-panda-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
commit=$(git -C "$repo" rev-parse --verify --quiet HEAD 2>/dev/null || echo none)
dirty=""
if [ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ]; then dirty=" (uncommitted changes in the tree)"; fi
bench_start=$(date +%s.%N)

# Everything for the results file goes to $work/report as well as to the screen.
say() { printf '%s\n' "$*" | tee -a report; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# timed NAME CMD...: runs CMD (stdout NAME.out, stderr NAME.err), records the command in
# commands.txt and sets $wall and $cpu (user + system seconds of CMD and its children) and
# $load (the load average just before).
timed() {
    local name=$1
    shift
    printf '%s\n' "$*" | sed "s|$caviar|caviar|g" >>commands.txt
    load=$(loadavg)
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$name.time" "$@" >"$name.out" 2>"$name.err" || rc=$?
    else
        "$@" >"$name.out" 2>"$name.err" || rc=$?
    fi
    t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    cpu=$( [ -f "$name.time" ] && awk 'NF == 2 { printf "%.1f", $1 + $2 }' "$name.time" || echo -)
    if [ "$rc" != 0 ]; then
        echo "run_panda_bench.sh: '$*' failed (status $rc):" >&2
        tail -n 20 "$name.err" "$name.out" >&2
        exit 1
    fi
}

# The session files: the example with its starting rate and patience replaced.
panda_yaml() { # panda_yaml START_LR OUT
    sed -e "s/^  start: {lr: 0.001,/  start: {lr: $1,/" \
        -e "s/^  patience: 4\$/  patience: $((epochs + 1))/" \
        "$repo/examples/fashion-mnist-panda.yaml" >"$2"
    if ! { grep -q "^  start: {lr: $1," "$2" && grep -q "^  patience: $((epochs + 1))\$" "$2"; }; then
        echo "run_panda_bench.sh: examples/fashion-mnist-panda.yaml no longer has the lines" \
             "'  start: {lr: 0.001, ...' and '  patience: 4' this script replaces" >&2
        exit 1
    fi
}
sed -e "s/^  epochs: 12\$/  epochs: $epochs/" "$repo/examples/fashion-mnist-pbt.yaml" >pbt.yaml
grep -q "^  epochs: $epochs\$" pbt.yaml || {
    echo "run_panda_bench.sh: examples/fashion-mnist-pbt.yaml no longer has the line" \
         "'  epochs: 12' this script replaces" >&2
    exit 1
}
panda_yaml 1e-05 poor.yaml
panda_yaml 0.001 usual.yaml

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
say "caviar panda and pbt on Fashion-MNIST, run $stamp"
say "machine: $(nproc) CPUs ($cpu_model), $(uname -sm), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); load average at the start $(loadavg)"
say "caviar: $("$caviar" --version 2>/dev/null || echo '?'), git $commit$dirty"
say "EPOCHS=$epochs; OPENBLAS_NUM_THREADS=1; one run at a time"
say ""

# ---- (a) panda ----

# eval_ckpt FILE: sets $e_dev and $e_test from caviar train --resume FILE (no epoch trained).
eval_ckpt() {
    printf '%s\n' "caviar train --resume $1 --json --quiet" >>commands.txt
    local j
    j=$("$caviar" train --resume "$1" --json --quiet | tail -n 1)
    e_dev=$(printf '%s' "$j" | sed -n 's/.*"dev_accuracy": \([-0-9.e]*\).*/\1/p')
    e_test=$(printf '%s' "$j" | sed -n 's/.*"test_accuracy": \([-0-9.e]*\).*/\1/p')
    if [ -z "$e_dev" ] || [ -z "$e_test" ]; then
        echo "run_panda_bench.sh: no accuracies from caviar train --resume $1: $j" >&2
        exit 1
    fi
}

# panda_run NAME YAML MODE: one session in NAME.db (MODE auto or fixed), then its final and best
# models saved and evaluated; sets the row NAME in rows.txt.
panda_run() {
    local name=$1 yaml=$2 mode=$3
    if [ "$mode" = auto ]; then
        timed "$name" "$caviar" panda "$yaml" --storage "$name.db" --auto --days "$epochs" --no-chart
    else
        printf 'continue %s\n' "$epochs" >"$name.script"
        timed "$name" "$caviar" panda "$yaml" --storage "$name.db" --script "$name.script" --no-chart
    fi
    local w=$wall c=$cpu l=$load
    printf 'best\nhistory\nsave %s\n' "$name-final.ckpt" >"$name.post1"
    "$caviar" panda "$yaml" --storage "$name.db" --script "$name.post1" --no-chart >"$name.post1.out"
    local best_day
    best_day=$(sed -n '/^panda> best$/{n;s/^day \([0-9]*\) .*/\1/p;}' "$name.post1.out")
    [ -n "$best_day" ] || { echo "run_panda_bench.sh: no best day in $name" >&2; exit 1; }
    printf 'rollback %s\nsave %s\n' "$best_day" "$name-best.ckpt" >"$name.post2"
    "$caviar" panda "$yaml" --storage "$name.db" --script "$name.post2" --no-chart >"$name.post2.out"
    printf '%s\n' "caviar panda $yaml --storage $name.db --script $name.post1   # best; history; save $name-final.ckpt" \
        "caviar panda $yaml --storage $name.db --script $name.post2   # rollback $best_day; save $name-best.ckpt" \
        >>commands.txt
    local last days last_day last_epoch last_dev best_dev best_epoch
    last=$(grep '^day ' "$name.out" | tail -n 1)
    days=$(grep -c '^day ' "$name.out")
    last_day=$(printf '%s' "$last" | sed 's/^day \([0-9]*\) .*/\1/')
    last_epoch=$(printf '%s' "$last" | sed 's/.*, epoch \([0-9]*\)).*/\1/')
    last_dev=$(printf '%s' "$last" | sed -n 's/.*dev accuracy \([0-9.]*\),.*/\1/p')
    best_dev=$(sed -n '/^panda> best$/{n;s/.*dev accuracy \([0-9.]*\),.*/\1/p;}' "$name.post1.out")
    best_epoch=$(sed -n '/^panda> best$/{n;s/.*, epoch \([0-9]*\)).*/\1/p;}' "$name.post1.out")
    eval_ckpt "$name-final.ckpt"
    local f_dev=$e_dev f_test=$e_test
    eval_ckpt "$name-best.ckpt"
    local b_dev=$e_dev b_test=$e_test
    # The dev accuracy caviar train measures on the saved model must be the session's own.
    local check=ok
    if [ -z "$last_dev" ] ||
       ! awk -v a="$last_dev" -v b="$f_dev" -v c="$best_dev" -v d="$b_dev" \
           'BEGIN { exit !((a - b)^2 < 1e-8 && (c - d)^2 < 1e-8) }'; then
        check="MISMATCH (session: last $last_dev, best $best_dev; caviar train: $f_dev, $b_dev)"
    fi
    local rollbacks stopped lrs
    rollbacks=$(grep -c 'back to day' "$name.out" || true)
    stopped=$(grep -q ': stop$' "$name.out" && echo "yes, after $days days" || echo no)
    lrs=$(awk '/^ *day parent/ { on = 1; next } /^head:/ { on = 0 } on { printf "%s%s", sep, $4; sep = " " }' \
          "$name.post1.out")
    printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$name" "$days" "$last_day" \
        "$last_epoch" "$f_dev" "$f_test" "$best_day" "$best_epoch" "$b_dev" "$b_test" "$w" "$c" \
        "$l" "$rollbacks" "$stopped" >>rows.txt
    printf '%s: lr by day: %s\n' "$name" "$lrs" >>lrs.txt
    printf '%s: check of the saved models against the session: %s\n' "$name" "$check" >>checks.txt
    rm -f "$name.db" "$name.db-wal" "$name.db-shm" ./*.ckpt
}

: >rows.txt
: >lrs.txt
: >checks.txt
: >commands.txt
echo "(a) caviar panda: $epochs days of 1 epoch each, three sessions one after the other ..."
panda_run auto poor.yaml auto
panda_run fixed poor.yaml fixed
panda_run usual usual.yaml fixed

pct() { awk -v v="$1" 'BEGIN { if (v == "" || v == "-") print "-"; else printf "%.2f%%", 100 * v }'; }
label() {
    case $1 in
        auto) echo "--auto from lr 1e-5" ;;
        fixed) echo "fixed lr 1e-5" ;;
        usual) echo "fixed lr 1e-3 (reference)" ;;
    esac
}
{
    echo "(a) caviar panda, examples/fashion-mnist-panda.yaml (784-256-256-10 ReLU, Adam, batch 128),"
    echo "    $epochs days of 1 epoch = $epochs epochs trained in each session. Final = the model at the last"
    echo "    day; best day = the day with the best dev accuracy (chosen on dev). Test accuracy from"
    echo "    'save' + 'caviar train --resume CKPT' (no epoch trained); caviar panda prints none."
    echo
    printf '%-27s %12s %9s %9s %14s %9s %9s %8s %7s %9s\n' "session" "final epoch" "final dev" \
        "final test" "best day (ep.)" "best dev" "best test" "wall s" "CPU s" "rollbacks"
    while IFS='|' read -r name days last_day last_epoch f_dev f_test best_day best_epoch b_dev \
        b_test w c l rb stopped; do
        printf '%-27s %12s %9s %9s %14s %9s %9s %8s %7s %9s\n' "$(label "$name")" "$last_epoch" \
            "$(pct "$f_dev")" "$(pct "$f_test")" "$best_day ($best_epoch)" "$(pct "$b_dev")" \
            "$(pct "$b_test")" "$w" "$c" "$rb"
    done <rows.txt
    echo
    while IFS='|' read -r name days last_day last_epoch f_dev f_test best_day best_epoch b_dev \
        b_test w c l rb stopped; do
        echo "$(label "$name"): $days days trained, final day $last_day; stopped early by patience: $stopped; load average before: $l"
    done <rows.txt
    cat checks.txt
    cat lrs.txt
    echo
    echo "The --auto session, day by day (the line under a day is the decision taken before it):"
    grep -E '^(day |  auto|auto|best:)' auto.out
    echo
} | tee -a report

# ---- (b) PBT against random search ----

echo "(b) caviar pbt: population 8, $epochs epochs each, with and without exploit ..."
timed pbt "$caviar" pbt pbt.yaml --storage pbt.db --jobs 8
pbt_wall=$wall pbt_cpu=$cpu pbt_load=$load
timed random "$caviar" pbt pbt.yaml --storage random.db --jobs 8 --no-exploit
rs_wall=$wall rs_cpu=$cpu rs_load=$load
"$caviar" trials --storage pbt.db --study fashion-mnist-pbt >pbt.trials
"$caviar" trials --storage random.db --study fashion-mnist-pbt-random >random.trials
printf '%s\n' "caviar trials --storage pbt.db --study fashion-mnist-pbt" \
    "caviar trials --storage random.db --study fashion-mnist-pbt-random" >>commands.txt
# The first hyperparameters of each member (the columns after trial, state, value, duration).
draws() { awk 'NR > 1 { printf "%s", $1; for (i = 5; i <= NF; i++) printf " %s", $i; print "" }' "$1"; }
same_draws=no
if [ "$(draws pbt.trials)" = "$(draws random.trials)" ] && [ -n "$(draws pbt.trials)" ]; then same_draws=yes; fi

# pbt_summary NAME: the best member (by final dev accuracy) and its test accuracy, etc.
pbt_row() {
    local f=$1.out best_n best_dev best_test n_ok n_exploit n_stale chance
    best_n=$(sed -n 's/^best: member #\([0-9]*\),.*/\1/p' "$f")
    best_dev=$(sed -n 's/^best: member #[0-9]*, dev accuracy \([0-9.]*\).*/\1/p' "$f")
    best_test=$(sed -n "s/^member #$best_n [a-z]*: dev accuracy [0-9.]*, test accuracy \([0-9.e-]*\).*/\1/p" "$f")
    n_ok=$(grep -c '^member #[0-9]* complete:' "$f" || true)
    n_exploit=$(grep -c '^    after epoch [0-9]*: copied' "$f" || true)
    # copies from a member that had trained fewer epochs than the copier (asynchronous PBT)
    n_stale=$(sed -n 's/^    after epoch \([0-9]*\): copied #[0-9]* (after its epoch \([0-9]*\));.*/\1 \2/p' "$f" |
              awk '$2 < $1' | wc -l)
    chance=$(sed -n 's/^member #[0-9]* [a-z]*: dev accuracy \([0-9.]*\).*/\1/p' "$f" | awk '$1 < 0.2' | wc -l)
    local devs
    devs=$(sed -n 's/^member #\([0-9]*\) [a-z]*: dev accuracy \([0-9.]*\).*/#\1 \2/p' "$f" | tr '\n' ' ')
    echo "$best_n|$best_dev|$best_test|$n_ok|$n_exploit|$n_stale|$chance|$devs"
}
IFS='|' read -r p_n p_dev p_test p_ok p_ex p_stale p_chance p_devs <<<"$(pbt_row pbt)"
IFS='|' read -r r_n r_dev r_test r_ok r_ex r_stale r_chance r_devs <<<"$(pbt_row random)"
{
    echo "(b) caviar pbt, examples/fashion-mnist-pbt.yaml with epochs: $epochs (8 members, the network of (a),"
    echo "    lr log [1e-5, 1e-1], beta1 one-minus-log [0.5, 0.999], batch 64/128/256, dropout [0, 0.5];"
    echo "    exploit every 2 epochs, bottom quarter copies top quarter), --jobs 8 on $(nproc) CPUs;"
    echo "    $((8 * epochs)) epochs of training in each run. Best member by final dev accuracy; its test"
    echo "    accuracy is the one caviar pbt records for it."
    echo
    printf '%-32s %8s %9s %9s %8s %7s %9s %12s %9s\n' "run" "best" "best dev" "best test" "wall s" \
        "CPU s" "exploits" "from behind" "complete"
    printf '%-32s %8s %9s %9s %8s %7s %9s %12s %9s\n' "pbt (exploit every 2 epochs)" "#$p_n" \
        "$(pct "$p_dev")" "$(pct "$p_test")" "$pbt_wall" "$pbt_cpu" "$p_ex" "$p_stale" "$p_ok/8"
    printf '%-32s %8s %9s %9s %8s %7s %9s %12s %9s\n' "pbt --no-exploit (random search)" "#$r_n" \
        "$(pct "$r_dev")" "$(pct "$r_test")" "$rs_wall" "$rs_cpu" "$r_ex" "$r_stale" "$r_ok/8"
    echo
    echo "same first draws in both runs (caviar trials, parameter columns): $same_draws"
    echo "members at chance level (dev < 20%): pbt $p_chance, random search $r_chance"
    echo "final dev accuracy of every member: pbt: $p_devs"
    echo "                                    random search: $r_devs"
    echo "load average before: pbt $pbt_load; random search $rs_load"
    echo
    echo "The members' first draws (caviar trials, random search run):"
    cat random.trials
    echo
    echo "caviar pbt's own summary (with exploit):"
    grep -E '^(member #|    after epoch|best: )' pbt.out
    echo
} | tee -a report

bench_end=$(date +%s.%N)
total=$(awk -v a="$bench_start" -v b="$bench_end" 'BEGIN { printf "%.0f", b - a }')
{
    echo "whole benchmark: $total s wall; load average at the end $(loadavg)"
    echo
    echo "Commands, in order (in a temporary directory):"
    echo "  poor.yaml  = examples/fashion-mnist-panda.yaml with 'start: {lr: 1e-05, ...' and 'patience: $((epochs + 1))'"
    echo "  usual.yaml = examples/fashion-mnist-panda.yaml with 'patience: $((epochs + 1))'"
    echo "  pbt.yaml   = examples/fashion-mnist-pbt.yaml with 'epochs: $epochs'"
    echo "  *.script: 'continue $epochs'"
    sed 's/^/  /' commands.txt
} | tee -a report
cp report "$out"
echo
echo "results: $out"
