/*
 * test_space.c — distributions on their scales, checked statistically and exactly.
 *
 * Statistics: u ~ U(0, 1) from a fixed-seed util_rng, mapped with caviar_dist_from_unit, must be
 * uniform on the parameter's own scale. Continuous scales: the Kolmogorov–Smirnov statistic of
 * the value transformed back to the scale variable (v, log10 v, log10(1 - v)), normalised to
 * [0, 1], must stay below the asymptotic critical value at alpha = 0.001, 1.95 / sqrt(n).
 * Discrete ones: Pearson's chi-square against each value's share of u on the scale must stay
 * below the chi-square quantile at alpha = 0.001 (each expected count is at least 5, where the
 * chi-square approximation holds). With fixed seeds the outcomes are fixed;
 * the bounds say how surprising a failure would be had the seed been drawn at random.
 *
 * Exact checks: from_unit(to_unit(x)) == x for every admissible value of discrete
 * distributions, contains(), the catalogue of invalid definitions with the exact message each
 * produces, the parameter table, and the text of space_describe and space_format.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar.h"
#include "space/space.h"
#include "util/util.h"

#define N_DRAWS 20000

/* ---- statistics helpers ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Kolmogorov–Smirnov distance between the sample t[0..n) (sorted here) and U(0, 1). */
static double ks_uniform(double *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_double);
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double above = (double)(i + 1) / (double)n - t[i], below = t[i] - (double)i / (double)n;
        d = fmax(d, fmax(above, below));
    }
    return d;
}

/* Upper alpha = 0.001 quantiles of chi-square for the degrees of freedom used here (from the
 * standard tables). */
static double chi2_crit_001(int df)
{
    switch (df) {
    case 2: return 13.816;
    case 4: return 18.467;
    case 6: return 22.458;
    case 9: return 27.877;
    case 21: return 46.797;
    case 99: return 148.230;
    }
    fail_msg("no chi-square quantile for %d degrees of freedom", df);
    return 0;
}

static double chi2(const double *observed, const double *p, size_t k, double n)
{
    double x = 0;
    for (size_t i = 0; i < k; i++) {
        double e = n * p[i];
        assert_true(e >= 5.0); /* the approximation needs it */
        x += (observed[i] - e) * (observed[i] - e) / e;
    }
    return x;
}

/* Draws N_DRAWS values of d and returns the KS distance of the scale variable g(v) normalised to
 * [0, 1] by its values at the bounds. */
static double ks_on_scale(const caviar_dist *d, double (*g)(double), uint64_t seed)
{
    double *t = malloc(N_DRAWS * sizeof *t);
    assert_non_null(t);
    util_rng rng;
    util_rng_seed(&rng, seed);
    double glo = g(d->low), ghi = g(d->high);
    for (size_t i = 0; i < N_DRAWS; i++) {
        double u = util_rng_uniform(&rng);
        double v = caviar_dist_from_unit(d, u);
        assert_true(v >= d->low && v <= d->high);
        assert_true(caviar_dist_contains(d, v));
        t[i] = (g(v) - glo) / (ghi - glo);
        /* The map is a change of variable: the scale variable is u itself, up to rounding. */
        assert_true(fabs(t[i] - u) < 1e-9);
    }
    double dist = ks_uniform(t, N_DRAWS);
    free(t);
    return dist;
}

static double identity(double v)
{
    return v;
}

static double one_minus_log10(double v)
{
    return log10(1.0 - v);
}

static const double ks_crit = 1.95; /* times 1/sqrt(n): alpha = 0.001 */

static void test_continuous_scales_ks(void **state)
{
    (void)state;
    caviar_dist lin = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = -3,
                       .high = 5};
    caviar_dist lg = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5,
                      .high = 1};
    caviar_dist oml = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG,
                       .low = 0.9, .high = 0.999};
    double bound = ks_crit / sqrt((double)N_DRAWS);
    double d;
    d = ks_on_scale(&lin, identity, 11);
    assert_true(d < bound);
    d = ks_on_scale(&lg, log10, 12);
    assert_true(d < bound);
    d = ks_on_scale(&oml, one_minus_log10, 13);
    assert_true(d < bound);
    /* The wrong scale is rejected by the same test: log10 of a linear draw is far from
     * uniform. (The exactness check inside ks_on_scale would fail first, so do it by hand.) */
    double *t = malloc(N_DRAWS * sizeof *t);
    assert_non_null(t);
    util_rng rng;
    util_rng_seed(&rng, 14);
    caviar_dist lin_wide = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 1e-5,
                            .high = 1};
    for (size_t i = 0; i < N_DRAWS; i++)
        t[i] = (log10(caviar_dist_from_unit(&lin_wide, util_rng_uniform(&rng))) + 5.0) / 5.0;
    assert_true(ks_uniform(t, N_DRAWS) > 10 * bound);
    free(t);
}

/* The point of the one-minus-log scale: 0.9 -> 0.99 gets as many draws as 0.99 -> 0.999. */
static void test_one_minus_log_shares(void **state)
{
    (void)state;
    caviar_dist oml = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG,
                       .low = 0.9, .high = 0.999};
    assert_true(fabs(caviar_dist_from_unit(&oml, 0.5) - 0.99) < 1e-12);
    assert_true(fabs(caviar_dist_to_unit(&oml, 0.99) - 0.5) < 1e-12);
    assert_true(caviar_dist_from_unit(&oml, 0.0) == 0.9);
    assert_true(fabs(caviar_dist_from_unit(&oml, 1.0) - 0.999) < 1e-15);
    util_rng rng;
    util_rng_seed(&rng, 21);
    double below = 0;
    for (size_t i = 0; i < N_DRAWS; i++)
        below += caviar_dist_from_unit(&oml, util_rng_uniform(&rng)) < 0.99;
    /* Binomial(n, 1/2): standard deviation sqrt(n)/2; 4 of them, p ~ 6e-5 two-sided. */
    double sd = sqrt((double)N_DRAWS) / 2;
    assert_true(fabs(below - N_DRAWS / 2.0) < 4 * sd);
    /* On a linear scale the same interval would give 0.9 -> 0.99 nine tenths of the draws. */
    caviar_dist lin = oml;
    lin.scale = CAVIAR_SCALE_LINEAR;
    assert_true(fabs(caviar_dist_from_unit(&lin, 0.5) - 0.9495) < 1e-12);
}

/* Draws N_DRAWS values of a discrete d and returns the chi-square against shares p[] of the
 * n_values admissible values low, low + step, ... (or choice indices). */
static double chi2_discrete(const caviar_dist *d, const double *values, const double *p,
                            size_t n_values, uint64_t seed)
{
    double *observed = calloc(n_values, sizeof *observed);
    assert_non_null(observed);
    util_rng rng;
    util_rng_seed(&rng, seed);
    for (size_t i = 0; i < N_DRAWS; i++) {
        double v = caviar_dist_from_unit(d, util_rng_uniform(&rng));
        assert_true(caviar_dist_contains(d, v));
        size_t j = 0;
        while (j < n_values && values[j] != v)
            j++;
        assert_true(j < n_values); /* every draw is one of the admissible values */
        observed[j]++;
    }
    double x = chi2(observed, p, n_values, N_DRAWS);
    free(observed);
    return x;
}

static void test_int_linear_chi2(void **state)
{
    (void)state;
    /* 2, 5, ..., 20: seven values, equal shares on a linear scale. */
    caviar_dist d = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 2, .high = 20,
                     .step = 3};
    double values[7], p[7];
    for (int k = 0; k < 7; k++)
        values[k] = 2 + 3 * k, p[k] = 1.0 / 7;
    assert_int_equal(space_grid_size(&d), 7);
    assert_true(chi2_discrete(&d, values, p, 7, 31) < chi2_crit_001(6));
    /* A step that does not divide the range: 0, 4, 8 (high 10 is not admissible). */
    caviar_dist e = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 0, .high = 10,
                     .step = 4};
    double ev[3] = {0, 4, 8}, ep[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    assert_true(chi2_discrete(&e, ev, ep, 3, 32) < chi2_crit_001(2));
    assert_true(caviar_dist_from_unit(&e, 1.0) == 8);
}

/* On a log scale each integer k owns [k - step/2, k + step/2] of log-space (clipped at half the
 * low end when that would reach 0), so its share is the log-length of that cell. */
static void int_log_shares(const caviar_dist *d, double *values, double *p, size_t n)
{
    double step = d->step >= 1 ? d->step : 1;
    double lo = d->low - step / 2 > 0 ? log(d->low - step / 2) : log(d->low / 2);
    double hi = log(d->low + (double)(n - 1) * step + step / 2);
    for (size_t k = 0; k < n; k++) {
        values[k] = d->low + (double)k * step;
        double a = k == 0 ? lo : log(values[k] - step / 2);
        double b = k == n - 1 ? hi : log(values[k] + step / 2);
        p[k] = (b - a) / (hi - lo);
    }
}

static void test_int_log_chi2(void **state)
{
    (void)state;
    caviar_dist d = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1, .high = 100,
                     .step = 1};
    double values[100], p[100];
    int_log_shares(&d, values, p, 100);
    assert_true(chi2_discrete(&d, values, p, 100, 41) < chi2_crit_001(99));
    /* Small values get far more draws than large ones: the share of 1 is ~ 26 times that of
     * 100 (log 3 / log(100.5 / 99.5)). */
    assert_true(p[0] > 25 * p[99]);
    /* With a step of 3 the first cell [1 - 1.5, 2.5] reaches 0 and is clipped at 0.5. */
    caviar_dist s = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1, .high = 64,
                     .step = 3};
    double sv[22], sp[22];
    assert_int_equal(space_grid_size(&s), 22);
    int_log_shares(&s, sv, sp, 22);
    assert_true(chi2_discrete(&s, sv, sp, 22, 42) < chi2_crit_001(21));
}

static void test_categorical_chi2(void **state)
{
    (void)state;
    caviar_value ch[5] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_STRING, 0, "tanh"},
                          {CAVIAR_VALUE_NUMBER, 32, NULL}, {CAVIAR_VALUE_BOOL, 1, NULL},
                          {CAVIAR_VALUE_BOOL, 0, NULL}};
    caviar_dist d = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 5, .choices = ch};
    double values[5] = {0, 1, 2, 3, 4}, p[5] = {0.2, 0.2, 0.2, 0.2, 0.2};
    assert_true(chi2_discrete(&d, values, p, 5, 51) < chi2_crit_001(4));
    assert_true(caviar_dist_from_unit(&d, 1.0) == 4);
    assert_true(caviar_dist_from_unit(&d, 0.0) == 0);
    assert_true(caviar_dist_from_unit(&d, 0.2) == 1);
}

/* A step quantises the value axis: each admissible value v = low + k step owns the cell
 * [v - step/2, v + step/2] of the scale (cut at half way where it would leave the scale's
 * domain), like an int: on a linear scale every value, the two ends included, gets an equal
 * share. */
static void test_quantised_float_chi2(void **state)
{
    (void)state;
    caviar_dist lin = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 0,
                       .high = 1, .step = 0.25};
    double lv[5] = {0, 0.25, 0.5, 0.75, 1}, lp[5] = {0.2, 0.2, 0.2, 0.2, 0.2};
    assert_true(chi2_discrete(&lin, lv, lp, 5, 61) < chi2_crit_001(4));
    /* log scale on [1, 100] with step 10: values 1, 11, ..., 91; value v owns [v - 5, v + 5]
     * of log-space, the first cut at low / 2 = 0.5 (v - 5 < 0), so the span is [0.5, 96]. */
    caviar_dist lg = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1,
                      .high = 100, .step = 10};
    double gv[10], gp[10];
    for (int k = 0; k < 10; k++) {
        gv[k] = 1 + 10 * k;
        double a = k == 0 ? 0.5 : gv[k] - 5, b = gv[k] + 5;
        gp[k] = log(b / a) / log(96 / 0.5);
    }
    assert_true(chi2_discrete(&lg, gv, gp, 10, 62) < chi2_crit_001(9));
    /* And a one-minus-log beta on a 0.001 step. */
    caviar_dist oml = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG,
                       .low = 0.9, .high = 0.999, .step = 0.001};
    util_rng rng;
    util_rng_seed(&rng, 63);
    for (int i = 0; i < 1000; i++) {
        double v = caviar_dist_from_unit(&oml, util_rng_uniform(&rng));
        assert_true(caviar_dist_contains(&oml, v));
        assert_true(fabs(v * 1000 - round(v * 1000)) < 1e-6);
    }
}

/* ---- exact properties ---- */

static void check_discrete_round_trip(const caviar_dist *d)
{
    uint64_t n = space_grid_size(d);
    assert_true(n > 0);
    double prev_u = -1;
    for (uint64_t k = 0; k < n; k++) {
        double x = space_grid_value(d, k);
        assert_true(caviar_dist_contains(d, x));
        double u = caviar_dist_to_unit(d, x);
        assert_true(u >= 0 && u <= 1 && u > prev_u); /* increasing in the value */
        prev_u = u;
        if (caviar_dist_from_unit(d, u) != x)
            fail_msg("from_unit(to_unit(%.17g)) = %.17g", x, caviar_dist_from_unit(d, u));
    }
}

static void test_round_trips(void **state)
{
    (void)state;
    const caviar_dist ints[] = {
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = -5, .high = 5},
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 0, .high = 100, .step = 7},
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1, .high = 1024},
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 8, .high = 512, .step = 8},
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1, .high = 64, .step = 3},
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 1e12, .high = 1e12 + 50},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        check_discrete_round_trip(&ints[i]);
    caviar_value ch[3] = {{CAVIAR_VALUE_STRING, 0, "a"}, {CAVIAR_VALUE_STRING, 0, "b"},
                          {CAVIAR_VALUE_STRING, 0, "c"}};
    caviar_dist cat = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = ch};
    check_discrete_round_trip(&cat);
    caviar_dist one = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = ch};
    check_discrete_round_trip(&one);
    /* Quantised floats: every low + k step comes back exactly. */
    caviar_dist q = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 0.5,
                     .high = 100, .step = 0.5};
    for (int k = 0; k <= 199; k++) {
        double x = 0.5 + k * 0.5;
        assert_true(caviar_dist_contains(&q, x));
        assert_true(caviar_dist_from_unit(&q, caviar_dist_to_unit(&q, x)) == x);
    }
    /* Continuous floats: to within rounding. */
    caviar_dist c[3] = {
        {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = -1, .high = 3},
        {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-8, .high = 10},
        {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0.5,
         .high = 0.99999},
    };
    for (int i = 0; i < 3; i++)
        for (int k = 0; k <= 100; k++) {
            double u = k / 100.0, x = caviar_dist_from_unit(&c[i], u);
            assert_true(fabs(caviar_dist_to_unit(&c[i], x) - u) < 1e-12);
            double back = caviar_dist_from_unit(&c[i], caviar_dist_to_unit(&c[i], x));
            assert_true(fabs(back - x) <= 1e-12 * fabs(x) + 1e-300);
        }
    /* from_unit clamps u outside [0, 1]. */
    assert_true(caviar_dist_from_unit(&c[1], -0.5) == 1e-8);
    assert_true(caviar_dist_from_unit(&c[1], 2.0) <= 10);
}

static void test_contains(void **state)
{
    (void)state;
    caviar_dist i = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 1, .high = 9,
                     .step = 2};
    assert_true(caviar_dist_contains(&i, 1) && caviar_dist_contains(&i, 9));
    assert_false(caviar_dist_contains(&i, 2));   /* off the step */
    assert_false(caviar_dist_contains(&i, 3.5)); /* not an integer */
    assert_false(caviar_dist_contains(&i, 11));  /* beyond high */
    assert_false(caviar_dist_contains(&i, -1));
    assert_false(caviar_dist_contains(&i, NAN));
    caviar_dist f = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5,
                     .high = 1};
    assert_true(caviar_dist_contains(&f, 1e-5) && caviar_dist_contains(&f, 0.5));
    assert_false(caviar_dist_contains(&f, 1.5));
    assert_false(caviar_dist_contains(&f, 0));
    assert_false(caviar_dist_contains(&f, INFINITY));
    caviar_dist q = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 0,
                     .high = 1, .step = 0.1};
    assert_true(caviar_dist_contains(&q, 0.3) && caviar_dist_contains(&q, 0.1 * 7));
    assert_false(caviar_dist_contains(&q, 0.35));
    /* A quantum: multiples of q, up to q/2 beyond the bounds (W&B's round(x / q) q). */
    caviar_dist w = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 0.05,
                     .high = 0.95, .q = 0.1};
    assert_true(caviar_dist_contains(&w, 0) && caviar_dist_contains(&w, 0.3) &&
                caviar_dist_contains(&w, 1));
    assert_false(caviar_dist_contains(&w, 0.35));
    assert_false(caviar_dist_contains(&w, 1.1) || caviar_dist_contains(&w, -0.1));
    for (int k = 0; k <= 1000; k++) { /* every value drawn is admissible and decimal */
        double v = caviar_dist_from_unit(&w, k / 1000.0);
        assert_true(caviar_dist_contains(&w, v));
        char text[32];
        snprintf(text, sizeof text, "%.1f", v);
        assert_true(strtod(text, NULL) == v);
    }
    caviar_dist w2 = {.kind = CAVIAR_DIST_FLOAT, .low = 0.25, .high = 2.5, .q = 0.5};
    assert_true(caviar_dist_from_unit(&w2, 0) == 0);   /* 0.25 / 0.5 = 0.5: halves to even */
    assert_true(caviar_dist_from_unit(&w2, 1) == 2.5);
    assert_true(caviar_dist_from_unit(&w2, 0.5) == 1.5); /* 1.375 */
    caviar_dist qn = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 0,
                      .sigma = 1, .q = 0.5};
    assert_true(caviar_dist_contains(&qn, -1.5) && !caviar_dist_contains(&qn, 0.25));
    caviar_value ch[2] = {{CAVIAR_VALUE_STRING, 0, "a"}, {CAVIAR_VALUE_STRING, 0, "b"}};
    caviar_dist c = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = ch};
    assert_true(caviar_dist_contains(&c, 0) && caviar_dist_contains(&c, 1));
    assert_false(caviar_dist_contains(&c, 2));
    assert_false(caviar_dist_contains(&c, -1));
    assert_false(caviar_dist_contains(&c, 0.5));
}

/* ---- invalid definitions: each with the exact message ---- */

static void test_invalid_catalogue(void **state)
{
    (void)state;
    caviar_value dup[3] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_STRING, 0, "tanh"},
                           {CAVIAR_VALUE_STRING, 0, "relu"}};
    caviar_value nulls[2] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_STRING, 0, NULL}};
    caviar_value nan_choice[1] = {{CAVIAR_VALUE_NUMBER, NAN, NULL}};
    caviar_value dup_num[2] = {{CAVIAR_VALUE_NUMBER, 0.5, NULL}, {CAVIAR_VALUE_NUMBER, 0.5, NULL}};
    const struct {
        const char *name;
        caviar_dist d;
        const char *msg;
    } cases[] = {
        {"x", {.kind = CAVIAR_DIST_FLOAT, .low = 1, .high = 1},
         "parameter 'x': low 1 must be below high 1 (for a fixed value use a constant)"},
        {"q", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .q = -1},
         "parameter 'q': q -1 must be a number >= 0"},
        {"q", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .step = 0.5, .q = 0.1},
         "parameter 'q': a quantum q is for floats without a step, got q 0.1 on float with a "
         "step"},
        {"q", {.kind = CAVIAR_DIST_INT, .low = 0, .high = 9, .q = 2},
         "parameter 'q': a quantum q is for floats without a step, got q 2 on int"},
        {"x", {.kind = CAVIAR_DIST_FLOAT, .low = 2, .high = 1},
         "parameter 'x': low 2 must be below high 1 (for a fixed value use a constant)"},
        {"lr", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 0, .high = 1},
         "parameter 'lr': log scale needs low > 0, got 0"},
        {"lr", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = -1, .high = 1},
         "parameter 'lr': log scale needs low > 0, got -1"},
        {"units", {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 0, .high = 64},
         "parameter 'units': an int on a log scale needs low >= 1, got 0"},
        {"beta", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0.5,
                  .high = 1},
         "parameter 'beta': one-minus-log bounds must lie in (0, 1), got [0.5, 1]"},
        {"beta", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0,
                  .high = 0.9},
         "parameter 'beta': one-minus-log bounds must lie in (0, 1), got [0, 0.9]"},
        {"n", {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 1, .high = 5},
         "parameter 'n': the one-minus-log scale is for floats in (0, 1), not ints"},
        {"n", {.kind = CAVIAR_DIST_INT, .low = 0.5, .high = 5},
         "parameter 'n': int bounds and step must be whole numbers"},
        {"n", {.kind = CAVIAR_DIST_INT, .low = 0, .high = 5, .step = 1.5},
         "parameter 'n': int bounds and step must be whole numbers"},
        {"n", {.kind = CAVIAR_DIST_INT, .low = 0, .high = 1e16},
         "parameter 'n': int bounds beyond 2^53"},
        {"x", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .step = 5},
         "parameter 'x': step 5 is larger than the range [0, 1]"},
        {"n", {.kind = CAVIAR_DIST_INT, .low = 1, .high = 4, .step = 4},
         "parameter 'n': step 4 is larger than the range [1, 4]"},
        {"x", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .step = -0.1},
         "parameter 'x': step -0.1 must be a number >= 0"},
        {"x", {.kind = CAVIAR_DIST_FLOAT, .low = NAN, .high = 1},
         "parameter 'x': bounds must be finite numbers"},
        {"x", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = INFINITY},
         "parameter 'x': bounds must be finite numbers"},
        {"x", {.kind = CAVIAR_DIST_FLOAT, .scale = (caviar_scale)7, .low = 0, .high = 1},
         "parameter 'x': unknown scale 7"},
        {"x", {.kind = (caviar_dist_kind)9, .low = 0, .high = 1},
         "parameter 'x': unknown distribution kind 9"},
        {"act", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 0, .choices = dup},
         "parameter 'act': a categorical needs at least one choice"},
        {"act", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = NULL},
         "parameter 'act': a categorical needs at least one choice"},
        {"act", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = dup},
         "parameter 'act': choice 'relu' appears twice"},
        {"p", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = dup_num},
         "parameter 'p': choice '0.5' appears twice"},
        {"act", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = nulls},
         "parameter 'act': choice 2 is a NULL string"},
        {"p", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = nan_choice},
         "parameter 'p': choice 1 is not a finite number"},
        {"act", {.kind = CAVIAR_DIST_CATEGORICAL, .scale = CAVIAR_SCALE_LOG, .n_choices = 2,
                 .choices = dup},
         "parameter 'act': a categorical has no scale"},
        {"", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1},
         "a parameter needs a non-empty name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        caviar_error err;
        memset(&err, 0, sizeof err);
        caviar_status st = caviar_dist_check(&cases[i].d, cases[i].name, &err);
        if (st != CAVIAR_EINVAL || strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)st, err.msg,
                     cases[i].msg);
    }
    /* And some valid edges. */
    caviar_error err;
    caviar_dist ok[] = {
        {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1, .high = 2},
        {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 1e-9,
         .high = 0.999999},
        {.kind = CAVIAR_DIST_INT, .low = -3, .high = 3, .step = 6},
        {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = dup},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(caviar_dist_check(&ok[i], "ok", &err), CAVIAR_OK);
}

/* ---- the parameter table ---- */

static void test_table(void **state)
{
    (void)state;
    space_table t;
    space_table_init(&t);
    caviar_error err;
    size_t id;
    caviar_dist lr = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5,
                      .high = 1};
    caviar_dist x = {.kind = CAVIAR_DIST_FLOAT, .low = -1, .high = 1};
    caviar_value ch[2] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_STRING, 0, "tanh"}};
    caviar_dist act = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = ch};
    assert_int_equal(space_table_add(&t, "lr", &lr, &id, &err), CAVIAR_OK);
    assert_int_equal(id, 0);
    assert_int_equal(space_table_add(&t, "x", &x, &id, &err), CAVIAR_OK);
    assert_int_equal(id, 1);
    assert_int_equal(space_table_add(&t, "lr", &lr, &id, &err), CAVIAR_OK);
    assert_int_equal(id, 0);
    /* The table owns copies: the caller's choices may go away. */
    char relu[8] = "relu";
    caviar_value mine[2] = {{CAVIAR_VALUE_STRING, 0, relu}, {CAVIAR_VALUE_STRING, 0, "tanh"}};
    caviar_dist act_mine = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = mine};
    assert_int_equal(space_table_add(&t, "act", &act_mine, &id, &err), CAVIAR_OK);
    assert_int_equal(id, 2);
    strcpy(relu, "gelu");
    assert_int_equal(space_table_add(&t, "act", &act, &id, &err), CAVIAR_OK);
    assert_int_equal(id, 2);
    assert_int_equal(t.n, 3);
    assert_int_equal(space_table_find(&t, "x"), 1);
    assert_int_equal(space_table_find(&t, "nope"), -1);

    caviar_dist lr2 = lr;
    lr2.scale = CAVIAR_SCALE_LINEAR;
    assert_int_equal(space_table_add(&t, "lr", &lr2, &id, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "parameter 'lr' was defined as float in [1e-05, 1] (log) and is "
                                 "now asked as float in [1e-05, 1]; one study gives each name one "
                                 "distribution");
    caviar_dist xi = {.kind = CAVIAR_DIST_INT, .low = -1, .high = 1};
    assert_int_equal(space_table_add(&t, "x", &xi, &id, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "parameter 'x' was defined as float in [-1, 1] and is now asked "
                                 "as int in [-1, 1]; one study gives each name one distribution");
    caviar_value ch3[3] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_STRING, 0, "tanh"},
                           {CAVIAR_VALUE_STRING, 0, "elu"}};
    caviar_dist act3 = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = ch3};
    assert_int_equal(space_table_add(&t, "act", &act3, &id, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "parameter 'act' was defined as categorical {relu, tanh} and is "
                                 "now asked as categorical {relu, tanh, elu}; one study gives "
                                 "each name one distribution");
    /* An int's step 0 and step 1 are the same distribution. */
    caviar_dist n0 = {.kind = CAVIAR_DIST_INT, .low = 1, .high = 8, .step = 0};
    caviar_dist n1 = {.kind = CAVIAR_DIST_INT, .low = 1, .high = 8, .step = 1};
    assert_int_equal(space_table_add(&t, "n", &n0, &id, &err), CAVIAR_OK);
    assert_int_equal(space_table_add(&t, "n", &n1, &id, &err), CAVIAR_OK);
    assert_int_equal(id, 3);
    /* A new name is checked. */
    caviar_dist bad = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 0, .high = 1};
    assert_int_equal(space_table_add(&t, "y", &bad, &id, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "parameter 'y': log scale needs low > 0, got 0");
    assert_int_equal(t.n, 4);
    space_table_release(&t);
    space_table_release(&t); /* released twice is harmless */
}

/* ---- text ---- */

static void test_describe_format(void **state)
{
    (void)state;
    char buf[256];
    const struct {
        caviar_dist d;
        const char *text;
    } cases[] = {
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5, .high = 1},
         "float in [1e-05, 1] (log)"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0.9,
          .high = 0.999},
         "float in [0.9, 0.999] (one-minus-log)"},
        {{.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .step = 0.25},
         "float in [0, 1] step 0.25"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 32, .high = 512, .q = 8},
         "float in [32, 512] (log) q 8"},
        {{.kind = CAVIAR_DIST_INT, .low = 1, .high = 8, .step = 2}, "int in [1, 8] step 2"},
        {{.kind = CAVIAR_DIST_INT, .low = 1, .high = 8, .step = 1}, "int in [1, 8]"},
        {{.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 8, .high = 512},
         "int in [8, 512] (log)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(space_describe(&cases[i].d, buf, sizeof buf), cases[i].text);
    caviar_value ch[4] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_NUMBER, 32, NULL},
                          {CAVIAR_VALUE_BOOL, 1, NULL}, {CAVIAR_VALUE_NUMBER, 0.125, NULL}};
    caviar_dist cat = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 4, .choices = ch};
    assert_string_equal(space_describe(&cat, buf, sizeof buf),
                        "categorical {relu, 32, true, 0.125}");
    /* A short buffer truncates and stays a string. */
    char small[12];
    memset(small, 'x', sizeof small);
    space_describe(&cat, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    assert_string_equal(small, "categorical");
    space_describe(&cases[0].d, small, sizeof small);
    assert_true(strlen(small) < sizeof small);

    assert_string_equal(space_format(&cat, 0, buf, sizeof buf), "relu");
    assert_string_equal(space_format(&cat, 1, buf, sizeof buf), "32");
    assert_string_equal(space_format(&cat, 2, buf, sizeof buf), "true");
    assert_string_equal(space_format(&cat, 3, buf, sizeof buf), "0.125");
    assert_string_equal(space_format(&cat, 4, buf, sizeof buf), "?");
    assert_string_equal(space_format(&cat, -1, buf, sizeof buf), "?");
    caviar_value off = {CAVIAR_VALUE_BOOL, 0, NULL};
    caviar_dist b = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &off};
    assert_string_equal(space_format(&b, 0, buf, sizeof buf), "false");
    assert_string_equal(space_format(&cases[0].d, 0.00123, buf, sizeof buf), "0.00123");
    assert_string_equal(space_format(&cases[0].d, 1e-5, buf, sizeof buf), "1e-05");
    assert_string_equal(space_format(&cases[3].d, 64, buf, sizeof buf), "64");
    assert_string_equal(space_format(&cases[3].d, -3, buf, sizeof buf), "-3");
    assert_string_equal(caviar_scale_name(CAVIAR_SCALE_ONE_MINUS_LOG), "one-minus-log");
}

/* ---- grid values (what the grid sampler enumerates) ---- */

static void test_grid_values(void **state)
{
    (void)state;
    caviar_value ch[3] = {{CAVIAR_VALUE_STRING, 0, "a"}, {CAVIAR_VALUE_STRING, 0, "b"},
                          {CAVIAR_VALUE_STRING, 0, "c"}};
    caviar_dist cat = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = ch};
    assert_int_equal(space_grid_size(&cat), 3);
    for (int k = 0; k < 3; k++)
        assert_true(space_grid_value(&cat, (uint64_t)k) == k);
    caviar_dist in = {.kind = CAVIAR_DIST_INT, .low = 2, .high = 11, .step = 3};
    assert_int_equal(space_grid_size(&in), 4);
    assert_true(space_grid_value(&in, 3) == 11);
    in.grid_points = 2;
    assert_int_equal(space_grid_size(&in), 2);
    assert_true(space_grid_value(&in, 0) == 2 && space_grid_value(&in, 1) == 11);
    caviar_dist f = {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1};
    assert_int_equal(space_grid_size(&f), 0); /* a float has no grid of its own */
    f.grid_points = 5;
    for (int k = 0; k < 5; k++)
        assert_true(fabs(space_grid_value(&f, (uint64_t)k) - k * 0.25) < 1e-15);
    f.grid_points = 1;
    assert_true(space_grid_value(&f, 0) == 0.5);
    caviar_dist lg = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-4,
                      .high = 1, .grid_points = 5};
    for (int k = 0; k < 5; k++) {
        double want = pow(10, k - 4);
        assert_true(fabs(space_grid_value(&lg, (uint64_t)k) - want) < 1e-12 * want);
    }
    caviar_dist oml = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG,
                       .low = 0.9, .high = 0.999, .grid_points = 3};
    assert_true(fabs(space_grid_value(&oml, 0) - 0.9) < 1e-12);
    assert_true(fabs(space_grid_value(&oml, 1) - 0.99) < 1e-12);
    assert_true(fabs(space_grid_value(&oml, 2) - 0.999) < 1e-12);
    /* An int on a log scale with grid points is spaced on the log scale: 1, 10, 100, 1000. */
    caviar_dist il = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1,
                      .high = 1000, .grid_points = 4};
    assert_true(space_grid_value(&il, 0) == 1 && space_grid_value(&il, 1) == 10 &&
                space_grid_value(&il, 2) == 100 && space_grid_value(&il, 3) == 1000);
    /* Never more grid points than admissible values. */
    caviar_dist few = {.kind = CAVIAR_DIST_INT, .low = 1, .high = 3, .grid_points = 5};
    assert_int_equal(space_grid_size(&few), 3);
    /* A float on a step has its admissible values as its grid. */
    caviar_dist qf = {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 0.5, .step = 0.1};
    assert_int_equal(space_grid_size(&qf), 6);
    assert_true(fabs(space_grid_value(&qf, 5) - 0.5) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continuous_scales_ks),
        cmocka_unit_test(test_one_minus_log_shares),
        cmocka_unit_test(test_int_linear_chi2),
        cmocka_unit_test(test_int_log_chi2),
        cmocka_unit_test(test_categorical_chi2),
        cmocka_unit_test(test_quantised_float_chi2),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_invalid_catalogue),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_describe_format),
        cmocka_unit_test(test_grid_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
