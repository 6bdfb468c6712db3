/*
 * test_weighted_choices.c — categorical parameters with weights (W&B's `probabilities`) under
 * every sampler that draws them: random and Sobol draw each choice with its weight's share,
 * coarse-to-fine draws the allowed choices by weight, and TPE takes the weights as its prior
 * over the choices. Fixed seeds; every bound is several standard deviations wide.
 *
 *   - a choice of weight 0 is never proposed (random, Sobol, coarse-to-fine, TPE univariate
 *     and multivariate);
 *   - random and coarse-to-fine's first round draw choice 1 of weights {1, 3} three times in
 *     four (binomial bound);
 *   - TPE, where the objective does not depend on the categorical, proposes the heavy choice
 *     more often with weights than without (the prior row weighs more in the small good set
 *     than in the bad one, and candidates are drawn from it);
 *   - TPE, where the objective strongly favours the light choice, still finds it: weights are
 *     a prior, not a constraint.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "caviar.h"

static const caviar_value CHOICES[3] = {
    {.type = CAVIAR_VALUE_STRING, .string = "a"},
    {.type = CAVIAR_VALUE_STRING, .string = "b"},
    {.type = CAVIAR_VALUE_STRING, .string = "c"},
};

static caviar_study *new_study(const char *sampler, const char *settings, uint64_t seed)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.seed = seed;
    o.direction = CAVIAR_MINIMIZE;
    o.sampler = sampler;
    o.sampler_settings = settings;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

/* Runs n trials of: x in [0, 1] (a bowl at 0.3) and a categorical with the given weights
 * (NULL: none) over the first k choices; value = bowl + cost[choice]. Counts the choices made
 * from trial `from` on into count[]. */
static void run(const char *sampler, const char *settings, uint64_t seed, int n, int from,
                size_t k, const double *weights, const double *cost, int *count)
{
    caviar_study *s = new_study(sampler, settings, seed);
    caviar_dist cat = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = k, .choices = CHOICES,
                       .weights = weights};
    caviar_dist x = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 0, .high = 1};
    for (size_t c = 0; c < k; c++)
        count[c] = 0;
    caviar_error err;
    for (int i = 0; i < n; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        if (!t)
            fail_msg("ask: %s", err.msg);
        double xv = 0, cv = 0;
        if (caviar_trial_suggest(t, "x", &x, &xv, &err) != CAVIAR_OK ||
            caviar_trial_suggest(t, "choice", &cat, &cv, &err) != CAVIAR_OK)
            fail_msg("suggest: %s", err.msg);
        size_t c = (size_t)cv;
        assert_true(cv == (double)c && c < k);
        if (i >= from)
            count[c]++;
        if (caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, (xv - 0.3) * (xv - 0.3) + cost[c],
                              &err) != CAVIAR_OK)
            fail_msg("tell: %s", err.msg);
    }
    caviar_study_free(s);
}

static const double FLAT[3] = {0, 0, 0};

static void test_zero_weight_never_drawn(void **state)
{
    (void)state;
    static const double w[3] = {0, 1, 3};
    static const struct {
        const char *sampler, *settings;
    } cases[] = {
        {"random", ""},
        {"sobol", ""},
        {"coarse-to-fine", "trials_per_round=20"},
        {"tpe", "n_startup=5"},
        {"tpe", "n_startup=5,multivariate=true"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int count[3];
        run(cases[i].sampler, cases[i].settings, 7, 150, 0, 3, w, FLAT, count);
        if (count[0] != 0)
            fail_msg("%s %s: the choice of weight 0 was drawn %d times", cases[i].sampler,
                     cases[i].settings, count[0]);
        assert_int_equal(count[1] + count[2], 150);
    }
}

/* Binomial: n draws with success probability p; fail outside 5 standard deviations. */
static void expect_share(const char *what, int hits, int n, double p)
{
    double sd = sqrt(n * p * (1 - p)), dev = fabs(hits - n * p);
    if (dev > 5 * sd)
        fail_msg("%s: %d of %d, expected %.1f +- %.1f", what, hits, n, n * p, 5 * sd);
}

static void test_shares(void **state)
{
    (void)state;
    static const double w[2] = {1, 3};
    int count[2];
    run("random", "", 11, 2000, 0, 2, w, FLAT, count);
    expect_share("random", count[1], 2000, 0.75);
    /* Round 0 of coarse-to-fine draws over the whole range, by weight. */
    run("coarse-to-fine", "trials_per_round=2000", 11, 2000, 0, 2, w, FLAT, count);
    expect_share("coarse-to-fine round 0", count[1], 2000, 0.75);
}

/* Later rounds of coarse-to-fine: when the best trials used both choices, both stay allowed
 * and the draws keep the weights' proportion. */
static void test_c2f_later_rounds(void **state)
{
    (void)state;
    static const double w[2] = {1, 3};
    int count[2];
    run("coarse-to-fine", "trials_per_round=400,k=40,rounds=2", 3, 1600, 400, 2, w, FLAT, count);
    expect_share("coarse-to-fine round 1", count[1], 1200, 0.75);
}

static void test_tpe_prior(void **state)
{
    (void)state;
    static const double w[2] = {9, 1};
    static const char *settings[] = {"n_startup=10", "n_startup=10,multivariate=true"};
    for (size_t k = 0; k < 2; k++) {
        int with = 0, without = 0;
        for (uint64_t seed = 1; seed <= 8; seed++) {
            int c[2];
            run("tpe", settings[k], seed, 120, 10, 2, w, FLAT, c);
            with += c[0];
            run("tpe", settings[k], seed, 120, 10, 2, NULL, FLAT, c);
            without += c[0];
        }
        print_message("tpe %s: the heavy choice in %d of 880 proposals with weights, %d without\n",
                      settings[k], with, without);
        if (with < without + 80)
            fail_msg("%s: weights 9:1 barely moved TPE (%d against %d)", settings[k], with,
                     without);
    }
}

static void test_tpe_data_beats_prior(void **state)
{
    (void)state;
    static const double w[2] = {0.95, 0.05};
    static const double cost[2] = {1.0, 0.0};
    static const char *settings[] = {"n_startup=10", "n_startup=10,multivariate=true"};
    for (size_t k = 0; k < 2; k++) {
        int c[2];
        run("tpe", settings[k], 5, 150, 100, 2, w, cost, c);
        print_message("tpe %s: the better, light choice in %d of the last 50\n", settings[k],
                      c[1]);
        assert_true(c[1] >= 35);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_weight_never_drawn),
        cmocka_unit_test(test_shares),
        cmocka_unit_test(test_c2f_later_rounds),
        cmocka_unit_test(test_tpe_prior),
        cmocka_unit_test(test_tpe_data_beats_prior),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
