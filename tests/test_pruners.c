/*
 * test_pruners.c — every pruner against learning curves written out here, with the step at
 * which each trial must be pruned worked out by hand in the comments.
 *
 * Two harnesses: run_study() feeds the curves through a real study (ask, suggest one float,
 * report step by step, should_prune, tell PRUNED or COMPLETE), trials one after the other;
 * the history helpers build a store_history directly, for what a sequential study cannot show
 * (running trials of other workers, skipped and out-of-order steps). Every curve runs in both
 * directions: maximising the negated curve must prune exactly the same trials at the same steps.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar.h"
#include "prune/prune.h"
#include "prune/prune_impl.h"

#define MAX_STEPS 8

/* ---- harnesses -------------------------------------------------------------------------- */

/* Runs n trials of n_steps reports (steps 1..n_steps) through a study; pruned_at[i] is the step
 * at which trial i was pruned, 0 when it completed. With flip, the study maximises and every
 * value is negated. */
static void run_study(const char *name, const char *settings, int flip,
                      const double curves[][MAX_STEPS], size_t n, size_t n_steps,
                      int64_t *pruned_at)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.seed = 1;
    o.direction = flip ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
    o.pruner = name;
    o.pruner_settings = settings;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        assert_non_null(t);
        double x;
        assert_int_equal(caviar_trial_suggest_float(t, "x", 0, 1, CAVIAR_SCALE_LINEAR, 0, &x,
                                                    &err), CAVIAR_OK);
        pruned_at[i] = 0;
        double last = NAN;
        for (size_t k = 0; k < n_steps; k++) {
            last = flip ? -curves[i][k] : curves[i][k];
            assert_int_equal(caviar_trial_report(t, (int64_t)k + 1, last, &err), CAVIAR_OK);
            if (caviar_trial_should_prune(t)) {
                pruned_at[i] = (int64_t)k + 1;
                break;
            }
        }
        caviar_trial_state state = pruned_at[i] ? CAVIAR_TRIAL_PRUNED : CAVIAR_TRIAL_COMPLETE;
        if (!pruned_at[i] && isnan(last))
            state = CAVIAR_TRIAL_FAIL;
        assert_int_equal(caviar_study_tell(s, t, state, pruned_at[i] ? NAN : last, &err), CAVIAR_OK);
    }
    caviar_study_free(s);
}

static void expect_both_directions(const char *name, const char *settings,
                                   const double curves[][MAX_STEPS], size_t n, size_t n_steps,
                                   const int64_t *expected)
{
    int64_t got[16];
    assert_true(n <= 16);
    for (int flip = 0; flip < 2; flip++) {
        run_study(name, settings, flip, curves, n, n_steps, got);
        for (size_t i = 0; i < n; i++)
            if (got[i] != expected[i])
                fail_msg("%s (%s, %s): trial %zu pruned at step %lld, expected %lld", name,
                         settings, flip ? "maximize" : "minimize", i, (long long)got[i],
                         (long long)expected[i]);
    }
}

static pruner open_pruner(const char *name, const char *settings, caviar_direction dir)
{
    pruner p;
    caviar_error err;
    if (pruner_open(&p, name, settings, dir, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    return p;
}

/* Appends trial number h->n_trials with state and the reports (steps[i], values[i]). */
static void add_trial(store_history *h, caviar_trial_state state, const int64_t *steps,
                      const double *values, size_t n)
{
    store_trial t;
    memset(&t, 0, sizeof t);
    t.number = h->n_trials;
    t.state = state;
    t.value = NAN;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_trial_add_report(&t, steps[i], values[i], NULL), CAVIAR_OK);
    assert_int_equal(store_history_put(h, &t, NULL), CAVIAR_OK);
    store_trial_release(&t);
}

/* Adds a report to trial number in h, as a worker's report reaches the mirror. */
static void report(store_history *h, uint64_t number, int64_t step, double value)
{
    assert_int_equal(store_trial_add_report(&h->trials[number], step, value, NULL), CAVIAR_OK);
}

static int judge(const pruner *p, const store_history *h, uint64_t number)
{
    return pruner_should_prune(p, h, &h->trials[number]);
}

static const int64_t steps_1_to_8[] = {1, 2, 3, 4, 5, 6, 7, 8};

static void expect_error(const char *name, const char *settings, const char *msg)
{
    pruner p;
    caviar_error err;
    assert_int_equal(pruner_open(&p, name, settings, CAVIAR_MINIMIZE, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, msg);
}

/* ---- median and percentile --------------------------------------------------------------- */

/* Losses at steps 1..5. With n_startup_trials=3, n_warmup_steps=2 (median of the finished
 * trials' values at the step; best-so-far of the judged trial):
 *   T0-T2  fewer than 3 finished before them: run to the end.
 *   T3     step 2: best 1.4 > median{0.8, 1.0, 0.7} = 0.8: pruned at 2.
 *   T4     step 2: 0.75 <= median{0.8, 1.0, 0.7, 1.4} = 0.9; step 3: 0.5 <= med{.6,.9,.5} = .6
 *          (T3 stopped at 2 and has no step 3); 4: .45 <= .5; 5: .35 <= .4: completes.
 *   T5     step 2: 0.8 <= median{.8,1,.7,1.4,.75} = .8 (a tie is kept);
 *          step 3: 0.7 > median{.6,.9,.5,.5} = .55: pruned at 3.
 *   T6     the spike to 2.0 at step 3 does not prune it: its best so far, 0.6, is compared,
 *          and median{.6,.9,.5,.5,.7} = .6. Step 4: .45 <= med{.5,.8,.4,.45} = .475;
 *          step 5: .36 <= med{.4,.7,.3,.35} = .375: completes.
 *   T7     NaN from the start, which ranks below every number: not pruned at step 1 (warm-up),
 *          pruned at 2. */
static const double median_curves[8][MAX_STEPS] = {
    {1.0, 0.8, 0.6, 0.5, 0.4},   {1.2, 1.0, 0.9, 0.8, 0.7},  {0.9, 0.7, 0.5, 0.4, 0.3},
    {1.5, 1.4, 1.3, 1.2, 1.1},   {1.1, 0.75, 0.5, 0.45, 0.35}, {0.95, 0.8, 0.7, 0.65, 0.6},
    {0.85, 0.6, 2.0, 0.45, 0.36}, {NAN, NAN, NAN, NAN, NAN},
};

static void test_median_study(void **state)
{
    (void)state;
    static const int64_t expected[8] = {0, 0, 0, 2, 0, 3, 0, 2};
    expect_both_directions("median", "n_startup_trials=3,n_warmup_steps=2", median_curves, 8, 5,
                           expected);
    /* percentile=50 is the median. */
    expect_both_directions("percentile", "percentile=50,n_startup_trials=3,n_warmup_steps=2",
                           median_curves, 8, 5, expected);
}

static void test_median_startup_and_warmup(void **state)
{
    (void)state;
    /* Default n_startup_trials=5: T3 and T4 see only 3 and 4 finished trials and complete;
     * T5: step 3, 0.7 > median{.6,.9,.5,1.3,.5} = .6: pruned at 3; T6 completes (step 3: .6 <=
     * median{.6,.9,.5,1.3,.5,.7} = .65); T7 (NaN) pruned at 2. */
    static const int64_t startup5[8] = {0, 0, 0, 0, 0, 3, 0, 2};
    expect_both_directions("median", "n_warmup_steps=2", median_curves, 8, 5, startup5);
    /* No warm-up: T3 pruned at 1 (1.5 > median{1.0, 1.2, 0.9} = 1.0); T5 at 2 (0.8 >
     * median{.8,1,.7,.75} = .775); T6 at 3 (best .6 > median{.6,.9,.5,.5} = .55); T7 at 1. */
    static const int64_t nowarm[8] = {0, 0, 0, 1, 0, 2, 3, 1};
    expect_both_directions("median", "n_startup_trials=3", median_curves, 8, 5, nowarm);
}

static void test_percentile_rule(void **state)
{
    (void)state;
    for (int flip = 0; flip < 2; flip++) {
        caviar_direction dir = flip ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
        double sg = flip ? -1 : 1;
        store_history h;
        store_history_init(&h);
        /* Four finished trials with values 1, 2, 3, 4 (as losses) at step 3. The 25th
         * percentile, best first, is at rank 0.75: 1 + 0.75 (2 - 1) = 1.75. */
        for (int i = 1; i <= 4; i++) {
            double v[3] = {sg * 9, sg * 9, sg * i};
            add_trial(&h, i == 4 ? CAVIAR_TRIAL_PRUNED : CAVIAR_TRIAL_COMPLETE, steps_1_to_8, v,
                      3);
        }
        /* A running trial of another worker does not count, however good. */
        double other[3] = {sg * -100, sg * -100, sg * -100};
        add_trial(&h, CAVIAR_TRIAL_RUNNING, steps_1_to_8, other, 3);
        double a[3] = {sg * 5, sg * 5, sg * 1.8}, b[3] = {sg * 5, sg * 5, sg * 1.75};
        add_trial(&h, CAVIAR_TRIAL_RUNNING, steps_1_to_8, a, 3); /* 5 */
        add_trial(&h, CAVIAR_TRIAL_RUNNING, steps_1_to_8, b, 3); /* 6 */
        pruner p = open_pruner("percentile", "percentile=25,n_startup_trials=4", dir);
        assert_int_equal(judge(&p, &h, 5), 1); /* 1.8 worse than 1.75 */
        assert_int_equal(judge(&p, &h, 6), 0); /* a tie is kept */
        pruner_close(&p);
        /* Only four trials reported step 3: n_min_trials=5 holds the decision back. */
        p = open_pruner("percentile", "percentile=25,n_startup_trials=4,n_min_trials=5", dir);
        assert_int_equal(judge(&p, &h, 5), 0);
        pruner_close(&p);
        /* Five finished trials are needed by default; there are four. */
        p = open_pruner("percentile", "percentile=25", dir);
        assert_int_equal(judge(&p, &h, 5), 0);
        pruner_close(&p);
        /* percentile=100 keeps everything up to the worst (4); 0 only the best (1). */
        p = open_pruner("percentile", "percentile=100,n_startup_trials=0", dir);
        assert_int_equal(judge(&p, &h, 5), 0);
        pruner_close(&p);
        p = open_pruner("percentile", "percentile=0,n_startup_trials=0", dir);
        assert_int_equal(judge(&p, &h, 6), 1);
        pruner_close(&p);
        store_history_release(&h);
    }
}

static void test_median_interval_and_steps(void **state)
{
    (void)state;
    store_history h;
    store_history_init(&h);
    /* Finished trials report 1 at steps 1..4, then 0.1 at steps 5..8. */
    static const double fall[8] = {1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1};
    for (int i = 0; i < 3; i++)
        add_trial(&h, CAVIAR_TRIAL_COMPLETE, steps_1_to_8, fall, 8);
    add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0); /* 3 */
    pruner p = open_pruner("median", "n_startup_trials=3,n_warmup_steps=1,interval_steps=3",
                           CAVIAR_MINIMIZE);
    /* Check points 1, 4, 7. The trial stays at 0.5: good up to step 4, bad from step 5, but
     * steps 5 and 6 are not check points. It skips step 7: its report at 8 is the first past
     * check point 7 and is checked. */
    for (int64_t s = 1; s <= 6; s++) {
        report(&h, 3, s, 0.5);
        assert_int_equal(judge(&p, &h, 3), 0);
    }
    report(&h, 3, 8, 0.5);
    assert_int_equal(judge(&p, &h, 3), 1);
    /* A report that goes back in steps (7 after 8) is no new check point. */
    report(&h, 3, 7, 0.5);
    assert_int_equal(judge(&p, &h, 3), 0);
    pruner_close(&p);
    /* Steps not evenly spaced in a finished trial are still found (slow path). */
    static const int64_t odd_steps[4] = {1, 2, 4, 7};
    static const double odd_vals[4] = {1, 1, 1, 0.5};
    store_history_release(&h);
    store_history_init(&h);
    add_trial(&h, CAVIAR_TRIAL_COMPLETE, odd_steps, odd_vals, 4);
    static const int64_t at7[1] = {7};
    static const double worse[1] = {0.6};
    add_trial(&h, CAVIAR_TRIAL_RUNNING, at7, worse, 1);
    p = open_pruner("median", "n_startup_trials=1", CAVIAR_MINIMIZE);
    assert_int_equal(judge(&p, &h, 1), 1);
    pruner_close(&p);
    store_history_release(&h);
}

/* The quickselect percentile against sorting, on random arrays with ties and infinities. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_percentile_of_oracle(void **state)
{
    (void)state;
    util_rng rng;
    util_rng_seed(&rng, 42);
    double a[40], sorted[40];
    for (int round = 0; round < 400; round++) {
        size_t n = 1 + util_rng_below(&rng, 40);
        for (size_t i = 0; i < n; i++) {
            uint64_t kind = util_rng_below(&rng, 20);
            a[i] = kind == 0 ? INFINITY : kind < 6 ? (double)util_rng_below(&rng, 4)
                                                   : util_rng_uniform(&rng);
        }
        memcpy(sorted, a, n * sizeof *a);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double q = round % 5 == 0 ? 25.0 * (double)util_rng_below(&rng, 5)
                                  : 100 * util_rng_uniform(&rng);
        double pos = q / 100 * (double)(n - 1);
        size_t k = (size_t)pos;
        double f = pos - (double)k;
        double want = sorted[k];
        if (f > 0 && k + 1 < n && sorted[k + 1] != sorted[k])
            want = isinf(sorted[k + 1]) ? INFINITY : sorted[k] + f * (sorted[k + 1] - sorted[k]);
        double got = prune_percentile_of(a, n, q);
        if (!(got == want))
            fail_msg("round %d: n=%zu q=%g: got %.17g, want %.17g", round, n, q, got, want);
    }
}

/* ---- successive halving ------------------------------------------------------------------ */

/* min_resource=1, reduction_factor=2: rungs at steps 1, 2, 4. With n trials at a rung (the
 * judged one included) a trial goes on if fewer than max(1, floor(n/2)) are strictly better.
 *   T0  alone at every rung: runs to the end.
 *   T1  rung 1: 1.0 vs {0.9}: n=2, keep 1, one better: pruned at 1.
 *   T2  rung 1: 0.8 vs {0.9, 1.0}: n=3, keep 1, none better: on. rung 2: 0.75 vs {0.8} (T1
 *       never got there): on. rung 4: 0.71 vs {0.6}: pruned at 4.
 *   T3  rung 1: 0.85 vs {.9, 1.0, .8}: n=4, keep 2, one better: on. rung 2: 0.78 vs
 *       {.8, .75}: n=3, keep 1, one better: pruned at 2 (although it would have ended at 0.5:
 *       successive halving bets on the early ranking).
 *   T4  rung 1: 0.95 vs {.9, 1.0, .8, .85}: n=5, keep 2, three better: pruned at 1.
 *   T5  best at every rung: completes. */
static const double sha_curves[6][MAX_STEPS] = {
    {0.9, 0.8, 0.7, 0.6}, {1.0, 0.7, 0.5, 0.4}, {0.8, 0.75, 0.72, 0.71},
    {0.85, 0.78, 0.6, 0.5}, {0.95, 0.5, 0.4, 0.3}, {0.7, 0.6, 0.5, 0.3},
};

static void test_sha_study(void **state)
{
    (void)state;
    static const int64_t expected[6] = {0, 1, 4, 2, 1, 0};
    expect_both_directions("successive-halving", "min_resource=1,reduction_factor=2", sha_curves,
                           6, 4, expected);
    /* min_early_stopping_rate=1: rungs 2 and 4. T2: 0.75 vs {.8, .7}: n=3, one better: pruned at
     * 2; T3: 0.78 vs {.8,.7,.75}: n=4, keep 2, two better: pruned at 2; T4: .5 best at 2, and at
     * 4: .3 vs {.6, .4}; T5: .6 vs {.8,.7,.75,.78,.5}: n=6, keep 3, one better; at 4 it ties
     * T4's 0.3 (ties go on). */
    static const int64_t rate1[6] = {0, 0, 2, 2, 0, 0};
    expect_both_directions("successive-halving",
                           "min_resource=1,reduction_factor=2,min_early_stopping_rate=1",
                           sha_curves, 6, 4, rate1);
    /* bootstrap_count=2: the first two trials at a rung only set the bar. T0, T1 pruned at 1;
     * T2 on at 1, first at rung 2: pruned; T3 on at 1 (n=4, one better), second at rung 2:
     * pruned; T4 pruned at 1 as before; T5 on at 1 and 2 (third there, best), first at 4:
     * pruned. */
    static const int64_t boot2[6] = {1, 1, 2, 2, 1, 4};
    expect_both_directions("successive-halving",
                           "min_resource=1,reduction_factor=2,bootstrap_count=2", sha_curves, 6,
                           4, boot2);
}

static void test_sha_async(void **state)
{
    (void)state;
    for (int flip = 0; flip < 2; flip++) {
        caviar_direction dir = flip ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
        double sg = flip ? -1 : 1;
        store_history h;
        store_history_init(&h);
        /* Rungs at 1, 4, 16 (reduction_factor 4). */
        pruner p = open_pruner("successive-halving", "reduction_factor=4", dir);
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0); /* 0: another worker */
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0); /* 1: judged */
        report(&h, 0, 1, sg * 0.5);
        report(&h, 0, 2, sg * 0.4);
        /* The running trial 0 counts at rung 1: 0.6 vs {0.5}, n=2, keep 1: pruned. */
        report(&h, 1, 1, sg * 0.6);
        assert_int_equal(judge(&p, &h, 1), 1);
        /* Trial 2 reaches rung 1 with 0.45: on. Then between rungs nothing is judged, however
         * bad; at step 5 it jumps over rung 4, where it is alone: on. */
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        report(&h, 2, 1, sg * 0.45);
        assert_int_equal(judge(&p, &h, 2), 0);
        report(&h, 2, 2, sg * 9);
        assert_int_equal(judge(&p, &h, 2), 0);
        report(&h, 2, 3, sg * 9);
        assert_int_equal(judge(&p, &h, 2), 0);
        report(&h, 2, 5, sg * 0.3);
        assert_int_equal(judge(&p, &h, 2), 0);
        /* Promotion is final: trial 0 reaches rung 4 better than trial 2, but 2 is not judged
         * again, and a step back (4 after 5) is no new rung. */
        report(&h, 0, 4, sg * 0.1);
        assert_int_equal(judge(&p, &h, 0), 0);
        report(&h, 2, 4, sg * 9);
        assert_int_equal(judge(&p, &h, 2), 0);
        /* Trial 3 skips rung 1 (first report at step 6 crosses rungs 1 and 4): its value there
         * is 0.2; at rung 1 it meets {0.5, 0.6, 0.45}: best, on; at rung 4 it meets trial 0's
         * 0.1 and trial 2's 0.3 (its value on reaching 4 was the step-5 report): n=3, keep 1,
         * one better: pruned. */
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        report(&h, 3, 6, sg * 0.2);
        assert_int_equal(judge(&p, &h, 3), 1);
        /* A NaN at a rung is never promoted, even alone. */
        pruner_close(&p);
        p = open_pruner("successive-halving", "min_resource=100", dir);
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        report(&h, 4, 99, NAN);
        assert_int_equal(judge(&p, &h, 4), 0);
        report(&h, 4, 100, NAN);
        assert_int_equal(judge(&p, &h, 4), 1);
        /* Infinite values rank, and never crash anything: trial 5 at rung 100 with the best
         * possible value goes on; trial 6 with the worst is pruned. */
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        report(&h, 5, 100, -sg * INFINITY);
        assert_int_equal(judge(&p, &h, 5), 0);
        add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        report(&h, 6, 100, sg * INFINITY);
        assert_int_equal(judge(&p, &h, 6), 1);
        pruner_close(&p);
        store_history_release(&h);
    }
}

/* ---- hyperband --------------------------------------------------------------------------- */

static void test_hyperband_brackets(void **state)
{
    (void)state;
    /* min 1, max 9, eta 3: S = 2, brackets 0..2 with weights 9, 5, 3 (of 17). Trial n takes
     * u = frac((n + 1) / phi) and the bracket whose share of [0, 1) holds it:
     *   n  u      17 u   bracket
     *   0  0.618  10.5   1        (9 <= 10.5 < 14)
     *   1  0.236   4.0   0
     *   2  0.854  14.5   2
     *   3  0.472   8.0   0 ...                                                               */
    pruner p = open_pruner("hyperband", "max_resource=9", CAVIAR_MINIMIZE);
    assert_int_equal(prune_hyperband_n_brackets(p.self), 3);
    static const size_t expected[20] = {1, 0, 2, 0, 0, 1, 0, 2, 1, 0,
                                        1, 0, 0, 1, 0, 2, 0, 0, 1, 0};
    for (uint64_t n = 0; n < 20; n++)
        assert_int_equal(prune_hyperband_bracket(p.self, n), expected[n]);
    /* Over many trials the shares match the weights. */
    size_t count[3] = {0};
    for (uint64_t n = 0; n < 17000; n++)
        count[prune_hyperband_bracket(p.self, n)]++;
    assert_true(count[0] > 8950 && count[0] < 9050);
    assert_true(count[1] > 4950 && count[1] < 5050);
    assert_true(count[2] > 2950 && count[2] < 3050);
    pruner_close(&p);
    /* One bracket when max_resource < min_resource * eta. */
    p = open_pruner("hyperband", "min_resource=4,max_resource=10,reduction_factor=3",
                    CAVIAR_MINIMIZE);
    assert_int_equal(prune_hyperband_n_brackets(p.self), 1);
    pruner_close(&p);
    /* 1, 4, 16, 64 <= 100: four brackets. */
    p = open_pruner("hyperband", "max_resource=100,reduction_factor=4", CAVIAR_MINIMIZE);
    assert_int_equal(prune_hyperband_n_brackets(p.self), 4);
    pruner_close(&p);
}

static void test_hyperband_prunes_within_bracket(void **state)
{
    (void)state;
    for (int flip = 0; flip < 2; flip++) {
        caviar_direction dir = flip ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
        double sg = flip ? -1 : 1;
        /* Brackets (above): trial 0 -> 1 (rung 3), 1 -> 0 (rungs 1, 3), 2 -> 2 (no rung below
         * 9), 3 -> 0, 4 -> 0. */
        pruner p = open_pruner("hyperband", "min_resource=1,max_resource=9,reduction_factor=3",
                               dir);
        store_history h;
        store_history_init(&h);
        for (int i = 0; i < 5; i++)
            add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        /* Trial 0 (bracket 1) is very good at step 1 but bracket 1 has no rung at 1, and trial
         * 1 (bracket 0) does not compete with it: alone in bracket 0 at rung 1, it goes on. */
        report(&h, 0, 1, sg * 0.1);
        assert_int_equal(judge(&p, &h, 0), 0);
        report(&h, 1, 1, sg * 5.0);
        assert_int_equal(judge(&p, &h, 1), 0);
        /* Trial 3 (bracket 0) at rung 1 with 6.0 vs trial 1's 5.0: n=2, keep 1: pruned. */
        report(&h, 3, 1, sg * 6.0);
        assert_int_equal(judge(&p, &h, 3), 1);
        /* Trial 4 (bracket 0) at rung 1 with 4.0: best of three: on. */
        report(&h, 4, 1, sg * 4.0);
        assert_int_equal(judge(&p, &h, 4), 0);
        /* Trial 2 (bracket 2) never meets a rung: not pruned even when far the worst, up to
         * and at max_resource. */
        for (int64_t s = 1; s <= 9; s++) {
            report(&h, 2, s, sg * 100.0);
            assert_int_equal(judge(&p, &h, 2), 0);
        }
        /* Trial 0 reaches its bracket's rung 3 alone: on. Trial 1 reaches rung 3 of bracket 0
         * alone: on; trial 4 then reaches it worse: pruned. Rung 9 is max_resource: none. */
        report(&h, 0, 3, sg * 7.0);
        assert_int_equal(judge(&p, &h, 0), 0);
        report(&h, 1, 3, sg * 2.0);
        assert_int_equal(judge(&p, &h, 1), 0);
        report(&h, 4, 3, sg * 3.0);
        assert_int_equal(judge(&p, &h, 4), 1);
        report(&h, 0, 9, sg * 50.0);
        assert_int_equal(judge(&p, &h, 0), 0);
        pruner_close(&p);
        store_history_release(&h);
    }
}

static void test_hyperband_study(void **state)
{
    (void)state;
    /* The SHA curves through hyperband with max_resource=4, eta=2: S = 2, weights 4, 3, 3 of
     * 10; trials 0..5 fall in brackets 1, 0, 2, 1, 0, 2. Bracket 0 has rungs 1, 2, bracket 1
     * rung 2, bracket 2 none (4 is max_resource).
     *   bracket 0: T1 alone at 1 and 2: on. T4 at 1: 0.95 vs {1.0}: on; at 2: 0.5 vs {0.7}: on.
     *   bracket 1: T0 alone at 2: on. T3 at 2: 0.78 vs {0.8}: on.
     *   bracket 2: T2, T5 never meet a rung.
     * Nothing is pruned, although plain successive halving prunes T1, T2, T3 and T4 (above):
     * each trial is compared within its bracket only. */
    static const int64_t expected[6] = {0, 0, 0, 0, 0, 0};
    expect_both_directions("hyperband", "max_resource=4,reduction_factor=2", sha_curves, 6, 4,
                           expected);
    /* Worse curves for T3, T4, T5. T3 at 2: 0.9 vs {0.8}: pruned at 2. T4 at 1: 1.5 vs {1.0}:
     * pruned at 1. T5 is as bad as can be but in bracket 2: runs to the end. */
    static const double worse[6][MAX_STEPS] = {
        {0.9, 0.8, 0.7, 0.6}, {1.0, 0.7, 0.5, 0.4}, {0.8, 0.75, 0.72, 0.71},
        {0.85, 0.9, 0.6, 0.5}, {1.5, 0.5, 0.4, 0.3}, {9.0, 9.0, 9.0, 9.0},
    };
    static const int64_t expected_worse[6] = {0, 0, 0, 2, 1, 0};
    expect_both_directions("hyperband", "max_resource=4,reduction_factor=2", worse, 6, 4,
                           expected_worse);
}

/* ---- threshold --------------------------------------------------------------------------- */

static void test_threshold(void **state)
{
    (void)state;
    for (int flip = 0; flip < 2; flip++) {
        /* Bounds are absolute: the direction changes nothing. */
        caviar_direction dir = flip ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
        store_history h;
        store_history_init(&h);
        pruner p = open_pruner("threshold", "lower=0.1,upper=2,n_warmup_steps=3,interval_steps=2",
                               dir);
        for (int i = 0; i < 6; i++)
            add_trial(&h, CAVIAR_TRIAL_RUNNING, NULL, NULL, 0);
        /* Out of bounds before the warm-up: kept; at the check points 3, 5: pruned; at 4 (not
         * a check point): kept. */
        report(&h, 0, 1, 2.5);
        assert_int_equal(judge(&p, &h, 0), 0);
        report(&h, 0, 3, 2.5);
        assert_int_equal(judge(&p, &h, 0), 1);
        report(&h, 1, 3, 1.0);
        assert_int_equal(judge(&p, &h, 1), 0);
        report(&h, 1, 4, 0.05);
        assert_int_equal(judge(&p, &h, 1), 0);
        report(&h, 1, 5, 0.05);
        assert_int_equal(judge(&p, &h, 1), 1);
        report(&h, 2, 5, 2.0); /* on the bound: kept */
        assert_int_equal(judge(&p, &h, 2), 0);
        /* NaN and infinities stop at once, warm-up or not. */
        report(&h, 3, 0, NAN);
        assert_int_equal(judge(&p, &h, 3), 1);
        report(&h, 4, 1, INFINITY);
        assert_int_equal(judge(&p, &h, 4), 1);
        report(&h, 5, 1, -INFINITY);
        assert_int_equal(judge(&p, &h, 5), 1);
        pruner_close(&p);
        /* No bounds: only divergence stops a trial. */
        p = open_pruner("threshold", NULL, dir);
        report(&h, 2, 6, 1e300);
        assert_int_equal(judge(&p, &h, 2), 0);
        report(&h, 2, 7, NAN);
        assert_int_equal(judge(&p, &h, 2), 1);
        pruner_close(&p);
        store_history_release(&h);
    }
    /* Through a study: a learning curve that diverges at step 3 is pruned there. */
    static const double curves[2][MAX_STEPS] = {{1.0, 0.5, NAN, 0.1}, {1.0, 0.5, 0.3, 0.1}};
    static const int64_t expected[2] = {3, 0};
    expect_both_directions("threshold", "n_warmup_steps=10", curves, 2, 4, expected);
}

/* ---- patience ---------------------------------------------------------------------------- */

static void test_patience(void **state)
{
    (void)state;
    /* patience=2, min_delta=0.1, losses at steps 1..6:
     *   T0  1.0 0.8 0.75 0.72 ...: step 3: best of last two .75 vs before 1.0: improved by .25:
     *       on. Step 4: .72 vs .8: by .08 only: pruned at 4.
     *   T1  improves by 0.15 a step: never pruned.
     *   T2  1.0 then NaN NaN: step 3: last two NaN (the worst) vs 1.0: pruned at 3.
     *   T3  NaN NaN 0.5 ...: step 3: .5 vs NaN: an improvement; step 4: .45 vs NaN: on; step 5
     *       (.45 .44) vs (NaN NaN .5): .44 < .4 no: pruned at 5. */
    static const double curves[4][MAX_STEPS] = {
        {1.0, 0.8, 0.75, 0.72, 0.7, 0.69},
        {1.0, 0.85, 0.7, 0.55, 0.4, 0.25},
        {1.0, NAN, NAN, NAN, NAN, NAN},
        {NAN, NAN, 0.5, 0.45, 0.44, 0.43},
    };
    static const int64_t expected[4] = {4, 0, 3, 5};
    expect_both_directions("patience", "patience=2,min_delta=0.1", curves, 4, 6, expected);
    /* min_delta=0: any improvement counts. T0: .72 < .8, .7 < .75, .69 < .72: never pruned.
     * T3: step 5: .44 < .5: on; step 6: .43 < .45: on. */
    static const int64_t no_delta[4] = {0, 0, 3, 0};
    expect_both_directions("patience", "patience=2", curves, 4, 6, no_delta);
    /* Warm-up: nothing before step 5; T0 is pruned at 5 (.7 vs .75: by .05), T2 at 5. */
    static const int64_t warm[4] = {5, 0, 5, 5};
    expect_both_directions("patience", "patience=2,min_delta=0.1,n_warmup_steps=5", curves, 4, 6,
                           warm);
}

/* ---- settings ---------------------------------------------------------------------------- */

static void test_settings_errors(void **state)
{
    (void)state;
    expect_error("successive-halving", "reduction_factor=1",
                 "setting reduction_factor=1 of pruner 'successive-halving': expected a whole "
                 "number in [2, 1000000]");
    expect_error("hyperband", "reduction_factor=1,max_resource=9",
                 "setting reduction_factor=1 of pruner 'hyperband': expected a whole number in "
                 "[2, 1000000]");
    expect_error("successive-halving", "min_resource=0",
                 "setting min_resource=0 of pruner 'successive-halving': expected a whole "
                 "number in [1, 1000000000000000]");
    expect_error("successive-halving", "reduction_factr=3",
                 "unknown setting 'reduction_factr' for pruner 'successive-halving'\nhint: did "
                 "you mean 'reduction_factor'?");
    expect_error("hyperband", NULL,
                 "pruner 'hyperband' needs the setting 'max_resource'\nhint: max_resource is the "
                 "last step a trial reports, e.g. max_resource=100 for 100 epochs");
    expect_error("hyperband", "min_resource=10,max_resource=5",
                 "pruner 'hyperband': max_resource=5 is below min_resource=10");
    expect_error("percentile", "n_startup_trials=2",
                 "pruner 'percentile' needs the setting 'percentile'\nhint: percentile=25 keeps "
                 "a trial only while it is in the best quarter of the others at the same step");
    /* A misspelt required key is reported as such, not as missing. */
    expect_error("percentile", "percentil=25",
                 "unknown setting 'percentil' for pruner 'percentile'\nhint: did you mean "
                 "'percentile'?");
    expect_error("percentile", "percentile=101",
                 "setting percentile=101 of pruner 'percentile': expected a number in [0, 100]");
    expect_error("median", "percentile=30",
                 "unknown setting 'percentile' for pruner 'median'\nhint: its settings are: "
                 "n_startup_trials, n_warmup_steps, interval_steps, n_min_trials");
    expect_error("median", "n_warmup_step=3",
                 "unknown setting 'n_warmup_step' for pruner 'median'\nhint: did you mean "
                 "'n_warmup_steps'?");
    expect_error("median", "interval_steps=0",
                 "setting interval_steps=0 of pruner 'median': expected a whole number in "
                 "[1, 1000000000000000]");
    expect_error("median", "n_min_trials=0",
                 "setting n_min_trials=0 of pruner 'median': expected a whole number in "
                 "[1, 1000000000]");
    expect_error("threshold", "lower=2,upper=1", "pruner 'threshold': lower=2 is above upper=1");
    expect_error("threshold", "upper=nan",
                 "setting upper=nan of pruner 'threshold': expected a number in [-inf, inf]");
    expect_error("patience", "min_delta=0.1",
                 "pruner 'patience' needs the setting 'patience'\nhint: patience=5 stops a trial "
                 "after 5 reports without improvement");
    expect_error("patience", "patience=3,min_delta=-1",
                 "setting min_delta=-1 of pruner 'patience': expected a number in [0, "
                 "1.79769e+308]");
    expect_error("patiense", NULL, "unknown pruner 'patiense'\nhint: did you mean 'patience'?");
    /* The defaults open. */
    static const char *const names[] = {"none", "median", "successive-halving", "threshold",
                                        NULL};
    for (int i = 0; names[i]; i++) {
        pruner p = open_pruner(names[i], NULL, CAVIAR_MINIMIZE);
        assert_ptr_equal(p.type, prune_find(names[i]));
        pruner_close(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_study),
        cmocka_unit_test(test_median_startup_and_warmup),
        cmocka_unit_test(test_percentile_rule),
        cmocka_unit_test(test_median_interval_and_steps),
        cmocka_unit_test(test_percentile_of_oracle),
        cmocka_unit_test(test_sha_study),
        cmocka_unit_test(test_sha_async),
        cmocka_unit_test(test_hyperband_brackets),
        cmocka_unit_test(test_hyperband_prunes_within_bracket),
        cmocka_unit_test(test_hyperband_study),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_patience),
        cmocka_unit_test(test_settings_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
