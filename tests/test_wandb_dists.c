/*
 * test_wandb_dists.c — every W&B distribution, sampled through a real study, lands where W&B's
 * definition says; and the parts of the space W&B's distributions brought (the normal scales,
 * weighted choices, Phi^-1).
 *
 * Each distribution is read from a one-parameter sweep file (config_parse), declared in a study
 * in memory with the random sampler and a fixed seed, and sampled N_DRAWS times through
 * objective_param_suggest, which applies W&B's q. The reference is W&B's definition written
 * out here independently of the space code (its documentation and HyperParameter.cdf/.ppf of
 * its sweeps library): a CDF for the continuous distributions, each value's probability for the
 * discrete ones. Continuous: the Kolmogorov-Smirnov statistic D must satisfy D sqrt(n) < 1.95,
 * the asymptotic critical value at alpha = 0.001. Discrete (integers, categoricals with or
 * without probabilities, every quantised one): Pearson's chi-square over the values, the tails
 * pooled until each expected count is at least 5, must stay below the chi-square quantile at
 * alpha = 0.001 (Wilson-Hilferty). With fixed seeds the outcome is fixed; alpha says how
 * surprising a failure would be with a seed drawn at random.
 *
 * Phi^-1 (AS241) is checked against a reference computed here in long double: Newton's method
 * on erfcl, good to about 1e-18; the bound is 1e-15 relative.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar.h"
#include "config/config.h"
#include "objective/objective.h"
#include "space/space.h"
#include "util/util.h"

#define N_DRAWS 6000

/* ---- sampling through a study ---- */

/* Loads "parameters: {x: SPEC}" with the given method and returns the sweep (x is params[0]). */
static void load_param(const char *spec, const char *method, config_sweep *s)
{
    char text[1024];
    snprintf(text, sizeof text, "program: p\nmethod: %s\nparameters:\n  x: %s\n", method, spec);
    caviar_error err;
    memset(&err, 0, sizeof err);
    if (config_parse(text, strlen(text), "sweep.yaml", s, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(s->n_params, 1);
}

/* n values of parameter x of SPEC from a study with the random sampler and that seed: the
 * value objective_param_suggest gives (a categorical's choice index in *values instead). */
static void sample(const char *spec, uint64_t seed, double *values, size_t n)
{
    config_sweep s;
    load_param(spec, "random", &s);
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.storage = ":memory:";
    o.sampler = "random";
    o.seed = seed;
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_study *study = caviar_study_new(&o, &err);
    if (!study)
        fail_msg("%s", err.msg);
    const objective_param *p = &s.params[0];
    if (caviar_study_add_param(study, p->name, &p->dist, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        caviar_trial *t = caviar_study_ask(study, &err);
        if (!t)
            fail_msg("%s", err.msg);
        double v;
        size_t choice;
        if (objective_param_suggest(t, p, &v, &choice, &err) != CAVIAR_OK)
            fail_msg("%s", err.msg);
        values[i] = p->dist.kind == CAVIAR_DIST_CATEGORICAL ? (double)choice : v;
        assert_int_equal(caviar_study_tell(study, t, CAVIAR_TRIAL_COMPLETE, 0, &err),
                         CAVIAR_OK);
    }
    caviar_study_free(study);
    config_release(&s);
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The Kolmogorov-Smirnov statistic of x[0 .. n) (sorted here) against cdf, times sqrt(n). */
static double ks(double *x, size_t n, double (*cdf)(double x, const double *a), const double *a)
{
    qsort(x, n, sizeof *x, cmp_double);
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i], a);
        double lo = f - (double)i / (double)n, hi = (double)(i + 1) / (double)n - f;
        d = fmax(d, fmax(lo, hi));
    }
    return d * sqrt((double)n);
}

#define KS_CRIT_001 1.95

/* The chi-square quantile at 1 - 0.001 (Wilson-Hilferty; z = 3.0902). */
static double chi2_crit_001(int df)
{
    double k = df, z = 3.0902, a = 2.0 / (9.0 * k);
    return k * pow(1.0 - a + z * sqrt(a), 3.0);
}

/* Pearson's chi-square of counts against probabilities p over k cells, neighbouring cells
 * pooled from the left until each pool expects at least 5 (a short last pool joins the one
 * before it); *df receives the degrees of freedom. */
static double chi2(const double *count, const double *p, size_t k, double n, int *df)
{
    double *o = malloc(k * sizeof *o), *e = malloc(k * sizeof *e), oc = 0, ep = 0, x = 0;
    assert_non_null(o);
    assert_non_null(e);
    size_t cells = 0;
    for (size_t i = 0; i < k; i++) {
        oc += count[i];
        ep += p[i] * n;
        if (ep >= 5) {
            o[cells] = oc, e[cells] = ep, cells++;
            oc = 0, ep = 0;
        }
    }
    if (cells > 0)
        o[cells - 1] += oc, e[cells - 1] += ep;
    else
        o[0] = oc, e[0] = ep, cells = 1;
    for (size_t i = 0; i < cells; i++)
        x += (o[i] - e[i]) * (o[i] - e[i]) / e[i];
    free(o);
    free(e);
    *df = (int)cells - 1;
    return x;
}

/* Chi-square of integer-indexed values: v = base + k step, k in [0, k_n), with probabilities
 * prob(k) (which must sum to about 1 over the range; values outside fail the test). */
static void check_discrete(const double *values, size_t n, double base, double step,
                           size_t k_n, double (*prob)(double v, const void *a), const void *a,
                           const char *what)
{
    double *count = calloc(k_n, sizeof *count), *p = calloc(k_n, sizeof *p), total = 0;
    assert_non_null(count);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        double k = round((values[i] - base) / step);
        if (!(k >= 0 && k < (double)k_n) ||
            fabs(base + k * step - values[i]) > 1e-9 * fmax(1, fabs(values[i])))
            fail_msg("%s: value %.17g is not one W&B gives", what, values[i]);
        count[(size_t)k]++;
    }
    for (size_t k = 0; k < k_n; k++) {
        p[k] = prob(base + (double)k * step, a);
        total += p[k];
    }
    if (fabs(total - 1) > 1e-6)
        fail_msg("%s: the reference probabilities sum to %.9g", what, total);
    int df;
    double x = chi2(count, p, k_n, (double)n, &df);
    if (df < 1 || !(x < chi2_crit_001(df)))
        fail_msg("%s: chi-square %.2f with %d degrees of freedom (critical %.2f)", what, x, df,
                 chi2_crit_001(df));
    free(count);
    free(p);
}

static void check_ks(const char *spec, uint64_t seed, double (*cdf)(double, const double *),
                     const double *a, double lo, double hi)
{
    double *v = malloc(N_DRAWS * sizeof *v);
    assert_non_null(v);
    sample(spec, seed, v, N_DRAWS);
    for (size_t i = 0; i < N_DRAWS; i++)
        if (!(v[i] >= lo && v[i] <= hi))
            fail_msg("%s: value %.17g outside [%g, %g]", spec, v[i], lo, hi);
    double d = ks(v, N_DRAWS, cdf, a);
    if (!(d < KS_CRIT_001))
        fail_msg("%s: KS statistic D sqrt(n) = %.3f (critical %.2f)", spec, d, KS_CRIT_001);
    free(v);
}

/* ---- W&B's definitions, written out ---- */

/* Phi, the reference: erfc from libm. */
static double phi(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* a = {min, max}: uniform on [min, max]. */
static double cdf_uniform(double x, const double *a)
{
    return (x - a[0]) / (a[1] - a[0]);
}

/* a = {min, max}: log_uniform, ln x uniform on [min, max]. */
static double cdf_log_uniform(double x, const double *a)
{
    return (log(x) - a[0]) / (a[1] - a[0]);
}

/* a = {min, max}: log_uniform_values, ln x uniform on [ln min, ln max]. */
static double cdf_log_uniform_values(double x, const double *a)
{
    return (log(x) - log(a[0])) / (log(a[1]) - log(a[0]));
}

/* a = {min, max}: inv_log_uniform, ln(1/x) uniform on [min, max] (W&B's cdf: 1 - U(ln(1/x))). */
static double cdf_inv_log_uniform(double x, const double *a)
{
    return 1.0 - (log(1.0 / x) - a[0]) / (a[1] - a[0]);
}

/* a = {min, max}: inv_log_uniform_values, ln(1/x) uniform on [ln(1/max), ln(1/min)]. */
static double cdf_inv_log_uniform_values(double x, const double *a)
{
    double lo = log(1.0 / a[1]), hi = log(1.0 / a[0]);
    return 1.0 - (log(1.0 / x) - lo) / (hi - lo);
}

/* a = {mu, sigma}. */
static double cdf_normal(double x, const double *a)
{
    return phi((x - a[0]) / a[1]);
}

static double cdf_log_normal(double x, const double *a)
{
    return x > 0 ? phi((log(x) - a[0]) / a[1]) : 0.0;
}

/* a = {min, max}: caviar's one_minus_log_uniform_values, ln(1 - x) uniform. */
static double cdf_one_minus_log(double x, const double *a)
{
    return (log1p(-x) - log1p(-a[0])) / (log1p(-a[1]) - log1p(-a[0]));
}

/* A continuous CDF clipped to [0, 1] outside its support. */
typedef struct qref {
    double (*cdf)(double, const double *);
    double a[2], lo, hi, q; /* parameters, support, quantum */
} qref;

static double clipped(const qref *r, double x)
{
    if (x <= r->lo)
        return 0.0;
    if (x >= r->hi)
        return 1.0;
    double f = r->cdf(x, r->a);
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* W&B's round(X / q) q = v has probability P((v - q/2) <= X < (v + q/2)); ctx: a qref. */
static double prob_quantised(double v, const void *ctx)
{
    const qref *r = ctx;
    return clipped(r, v + 0.5 * r->q) - clipped(r, v - 0.5 * r->q);
}

/* ctx = {min, max}: int_uniform. */
static double prob_int_uniform(double v, const void *ctx)
{
    const double *a = ctx;
    (void)v;
    return 1.0 / (a[1] - a[0] + 1.0);
}

/* ctx = {n}: a uniform categorical. */
static double prob_categorical(double v, const void *ctx)
{
    (void)v;
    return 1.0 / *(const double *)ctx;
}

/* ctx = the probabilities. */
static double prob_weights(double v, const void *ctx)
{
    return ((const double *)ctx)[(size_t)v];
}

static void check_quantised(const char *spec, uint64_t seed, const qref *r, double base,
                            size_t k_n)
{
    double *v = malloc(N_DRAWS * sizeof *v);
    assert_non_null(v);
    sample(spec, seed, v, N_DRAWS);
    check_discrete(v, N_DRAWS, base, r->q, k_n, prob_quantised, r, spec);
    free(v);
}

/* ---- the tests ---- */

static void test_continuous(void **state)
{
    (void)state;
    const double uni[2] = {-2, 3};
    check_ks("{distribution: uniform, min: -2, max: 3}", 1, cdf_uniform, uni, -2, 3);
    /* Inferred uniform (one bound a float). */
    const double uni2[2] = {0, 0.5};
    check_ks("{min: 0, max: 0.5}", 2, cdf_uniform, uni2, 0, 0.5);
    const double lu[2] = {-4, 1};
    check_ks("{distribution: log_uniform, min: -4, max: 1}", 3, cdf_log_uniform, lu, exp(-4),
             exp(1));
    const double luv[2] = {1e-5, 1e-1};
    check_ks("{distribution: log_uniform_values, min: 1e-5, max: 1e-1}", 4,
             cdf_log_uniform_values, luv, 1e-5, 1e-1);
    const double ilu[2] = {0.5, 6};
    check_ks("{distribution: inv_log_uniform, min: 0.5, max: 6}", 5, cdf_inv_log_uniform, ilu,
             exp(-6), exp(-0.5));
    const double iluv[2] = {0.001, 2};
    check_ks("{distribution: inv_log_uniform_values, min: 0.001, max: 2}", 6,
             cdf_inv_log_uniform_values, iluv, 0.001, 2);
    const double n01[2] = {0, 1};
    check_ks("{distribution: normal}", 7, cdf_normal, n01, -8, 8);
    const double n2[2] = {-3, 0.25};
    check_ks("{distribution: normal, mu: -3, sigma: 0.25}", 8, cdf_normal, n2, -5, -1);
    const double ln[2] = {1, 0.5};
    check_ks("{distribution: log_normal, mu: 1, sigma: 0.5}", 9, cdf_log_normal, ln, 0, 1e3);
    const double ln01[2] = {0, 1};
    check_ks("{distribution: log_normal}", 10, cdf_log_normal, ln01, 0, 1e4);
    const double oml[2] = {0.9, 0.9999};
    check_ks("{distribution: one_minus_log_uniform_values, min: 0.9, max: 0.9999}", 11,
             cdf_one_minus_log, oml, 0.9, 0.9999);
}

static void test_discrete(void **state)
{
    (void)state;
    double *v = malloc(N_DRAWS * sizeof *v);
    assert_non_null(v);

    /* int_uniform, and its inferred form. */
    const double iu[2] = {-3, 7};
    sample("{distribution: int_uniform, min: -3, max: 7}", 21, v, N_DRAWS);
    check_discrete(v, N_DRAWS, -3, 1, 11, prob_int_uniform, iu, "int_uniform");
    const double iu2[2] = {1, 4};
    sample("{min: 1, max: 4}", 22, v, N_DRAWS);
    check_discrete(v, N_DRAWS, 1, 1, 4, prob_int_uniform, iu2, "inferred int_uniform");

    /* categorical, uniform; and with probabilities (by choice index). */
    const double five[1] = {5};
    sample("{values: [a, b, c, 4, false]}", 23, v, N_DRAWS);
    check_discrete(v, N_DRAWS, 0, 1, 5, prob_categorical, five, "categorical");
    const double w[4] = {0.5, 0.3, 0.15, 0.05};
    sample("{values: [a, b, c, d], probabilities: [0.5, 0.3, 0.15, 0.05]}", 24, v, N_DRAWS);
    check_discrete(v, N_DRAWS, 0, 1, 4, prob_weights, w, "categorical with probabilities");
    const double w0[3] = {0.25, 0, 0.75};
    sample("{distribution: categorical_w_probabilities, values: [x, y, z], "
           "probabilities: [0.25, 0, 0.75]}", 25, v, N_DRAWS);
    for (size_t i = 0; i < N_DRAWS; i++)
        assert_true(v[i] != 1); /* probability 0: never */
    check_discrete(v, N_DRAWS, 0, 1, 3, prob_weights, w0, "categorical_w_probabilities");

    /* constant: always the value. */
    sample("{value: 0.125}", 26, v, 100);
    for (size_t i = 0; i < 100; i++)
        assert_true(v[i] == 0);
    free(v);
}

static void test_quantised(void **state)
{
    (void)state;
    /* q_uniform: round(U(0.3, 9.7) / 2) 2 takes 0 .. 10 in steps of 2, the ends less often. */
    qref qu = {cdf_uniform, {0.3, 9.7}, 0.3, 9.7, 2};
    check_quantised("{distribution: q_uniform, min: 0.3, max: 9.7, q: 2}", 31, &qu, 0, 6);
    /* q defaults to 1. */
    qref qu1 = {cdf_uniform, {-2.5, 2.5}, -2.5, 2.5, 1};
    check_quantised("{distribution: q_uniform, min: -2.5, max: 2.5}", 32, &qu1, -3, 7);
    qref qu3 = {cdf_uniform, {0, 1}, 0, 1, 0.1};
    check_quantised("{distribution: q_uniform, min: 0, max: 1, q: 0.1}", 33, &qu3, 0, 11);
    /* q_log_uniform: bounds are natural logs, e^0 .. e^5 = 148.4, q = 10. */
    qref qlu = {cdf_log_uniform, {0, 5}, 1, exp(5), 10};
    check_quantised("{distribution: q_log_uniform, min: 0, max: 5, q: 10}", 34, &qlu, 0, 16);
    qref qluv = {cdf_log_uniform_values, {1, 512}, 1, 512, 8};
    check_quantised("{distribution: q_log_uniform_values, min: 1, max: 512, q: 8}", 35, &qluv, 0,
                    65);
    /* q_normal: mu 10, sigma 3, q 1: values within 10 -+ 7 sigma. */
    qref qn = {cdf_normal, {10, 3}, -INFINITY, INFINITY, 1};
    check_quantised("{distribution: q_normal, mu: 10, sigma: 3}", 36, &qn, -12, 45);
    qref qn2 = {cdf_normal, {0, 1}, -INFINITY, INFINITY, 0.5};
    check_quantised("{distribution: q_normal, q: 0.5}", 37, &qn2, -8, 33);
    /* q_log_normal: mu 3, sigma 0.5 (median e^3 = 20), q 5. */
    qref qln = {cdf_log_normal, {3, 0.5}, 0, INFINITY, 5};
    check_quantised("{distribution: q_log_normal, mu: 3, sigma: 0.5, q: 5}", 38, &qln, 0, 150);
}

/* The grid sampler still needs grid points for a normal float, and takes them. */
static void test_grid_normal(void **state)
{
    (void)state;
    config_sweep s;
    caviar_error err;
    memset(&err, 0, sizeof err);
    const char *text = "program: p\nmethod: grid\nparameters:\n  x: {distribution: normal}\n";
    assert_int_equal(config_parse(text, strlen(text), "sweep.yaml", &s, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "sweep.yaml:4:3: parameter 'x': the grid sampler cannot "
                                 "enumerate distribution 'normal'; expected values, "
                                 "int_uniform, q_uniform, or caviar's grid_points: N");

    /* Straight to the study: the grid refuses it at the first ask. */
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.storage = ":memory:";
    o.sampler = "grid";
    caviar_study *study = caviar_study_new(&o, &err);
    assert_non_null(study);
    caviar_dist d = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 1,
                     .sigma = 2};
    assert_int_equal(caviar_study_add_param(study, "x", &d, &err), CAVIAR_OK);
    assert_null(caviar_study_ask(study, &err));
    assert_non_null(strstr(err.msg, "float parameter 'x' needs grid points"));
    caviar_study_free(study);

    /* With grid_points: the points are mu + sigma Phi^-1(k / (n - 1)), u clamped. */
    load_param("{distribution: normal, mu: 1, sigma: 2, grid_points: 5}", "grid", &s);
    caviar_study_opts_init(&o);
    o.storage = ":memory:";
    o.sampler = "grid";
    o.sampler_settings = "shuffle=false";
    study = caviar_study_new(&o, &err);
    assert_non_null(study);
    assert_int_equal(caviar_study_add_param(study, "x", &s.params[0].dist, &err), CAVIAR_OK);
    double seen[5];
    for (int i = 0; i < 5; i++) {
        caviar_trial *t = caviar_study_ask(study, &err);
        if (!t)
            fail_msg("%s", err.msg);
        size_t choice;
        assert_int_equal(objective_param_suggest(t, &s.params[0], &seen[i], &choice, &err),
                         CAVIAR_OK);
        assert_int_equal(caviar_study_tell(study, t, CAVIAR_TRIAL_COMPLETE, 0, &err), CAVIAR_OK);
    }
    assert_null(caviar_study_ask(study, &err)); /* 5 points, then done */
    qsort(seen, 5, sizeof seen[0], cmp_double);
    const double z_end = 7.034483825301131; /* -Phi^-1(1e-12) */
    const double expect[5] = {1 - 2 * z_end, 1 - 2 * 0.6744897501960817, 1,
                              1 + 2 * 0.6744897501960817, 1 + 2 * z_end};
    for (int i = 0; i < 5; i++)
        if (fabs(seen[i] - expect[i]) > 1e-9)
            fail_msg("grid point %d: %.17g, expected %.17g", i, seen[i], expect[i]);
    caviar_study_free(study);
    config_release(&s);
}

/* ---- the space: Phi^-1, the normal scales, weights ---- */

/* Phi^-1(p) to about 1e-18 relative: Newton's method in long double from the double guess. */
static long double quantile_ref(double p)
{
    long double z = space_normal_quantile(p), pl = p;
    for (int i = 0; i < 4; i++) {
        long double f = 0.5L * erfcl(-z / sqrtl(2.0L)) - pl;
        long double dens = expl(-0.5L * z * z) / sqrtl(2.0L * 3.14159265358979323846264L);
        z -= f / dens;
    }
    return z;
}

static void test_quantile_accuracy(void **state)
{
    (void)state;
    /* Known values. */
    assert_true(space_normal_quantile(0.5) == 0);
    assert_true(fabs(space_normal_quantile(0.975) - 1.959963984540054) < 1e-15);
    assert_true(fabs(space_normal_quantile(1e-12) + 7.034483825301131) < 1e-14);
    assert_true(isinf(space_normal_quantile(0)) && space_normal_quantile(0) < 0);
    assert_true(isinf(space_normal_quantile(1)) && space_normal_quantile(1) > 0);
    assert_true(isnan(space_normal_quantile(-0.1)) && isnan(space_normal_quantile(1.5)));
    assert_true(isnan(space_normal_quantile(NAN)));
    /* Everywhere: p = 10^-k (the tails, past the split at r = 5), a grid over (0, 1), and
     * random p, each with its mirror 1 - p. */
    double worst = 0, worst_p = 0;
    util_rng rng;
    util_rng_seed(&rng, 99);
    for (int i = 0; i < 3000; i++) {
        double p = i < 300 ? pow(10.0, -(i + 1)) : i < 1300 ? (double)(i - 300 + 0.5) / 1000.0
                                                            : util_rng_uniform(&rng);
        if (!(p > 0 && p < 1))
            continue;
        for (int mirror = 0; mirror < 2; mirror++) {
            double q = mirror ? 1.0 - p : p;
            if (!(q > 0 && q < 1))
                continue;
            long double ref = quantile_ref(q);
            double got = space_normal_quantile(q);
            double rel = ref == 0 ? fabs(got) : (double)fabsl((got - ref) / ref);
            if (rel > worst)
                worst = rel, worst_p = q;
        }
    }
    if (!(worst <= 1e-15))
        fail_msg("Phi^-1 relative error %.3g at p = %.17g", worst, worst_p);
    /* Phi itself against the same erfcl. */
    /* Phi against erfcl: z / sqrt(2) is rounded once, which erfc's steep tail amplifies by
     * about 2 (z / sqrt 2)^2: 1e-15 near the centre, 2e-13 at z = -37 (below, Phi is a
     * subnormal double). */
    for (double z = -37; z <= 8; z += 0.125) {
        long double ref = 0.5L * erfcl(-(long double)z / sqrtl(2.0L));
        long double rel = fabsl((space_normal_cdf(z) - ref) / ref);
        long double bound = 1e-15L + 2.5e-16L * (long double)(z * z);
        if (!(rel < bound))
            fail_msg("Phi(%g): relative error %Lg (bound %Lg)", z, rel, bound);
    }
}

static void test_normal_scales(void **state)
{
    (void)state;
    caviar_dist n = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 2,
                     .sigma = 3};
    caviar_dist ln = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG_NORMAL, .mu = -1,
                      .sigma = 0.5};
    assert_int_equal(caviar_dist_check(&n, "n", NULL), CAVIAR_OK);
    assert_int_equal(caviar_dist_check(&ln, "ln", NULL), CAVIAR_OK);
    /* The middle, and round trips. */
    assert_true(caviar_dist_from_unit(&n, 0.5) == 2);
    assert_true(fabs(caviar_dist_from_unit(&ln, 0.5) - exp(-1)) < 1e-15);
    for (double u = 0.001; u < 1; u += 0.0371) {
        double x = caviar_dist_from_unit(&n, u);
        assert_true(fabs(caviar_dist_to_unit(&n, x) - u) < 1e-13);
        double y = caviar_dist_from_unit(&ln, u);
        assert_true(y > 0);
        assert_true(fabs(caviar_dist_to_unit(&ln, y) - u) < 1e-13);
    }
    /* The ends stay finite: u is clamped to [1e-12, 1 - 1e-12]. */
    const double z_end = 7.034483825301131;
    assert_true(fabs(caviar_dist_from_unit(&n, 0) - (2 - 3 * z_end)) < 1e-9);
    assert_true(fabs(caviar_dist_from_unit(&n, 1) - (2 + 3 * z_end)) < 1e-9);
    assert_true(caviar_dist_from_unit(&n, -5) == caviar_dist_from_unit(&n, 0));
    assert_true(fabs(caviar_dist_from_unit(&ln, 1) / exp(-1 + 0.5 * z_end) - 1) < 1e-12);
    assert_true(caviar_dist_to_unit(&ln, 0) == 0 && caviar_dist_to_unit(&ln, -1) == 0);
    assert_true(caviar_dist_to_unit(&n, 1e300) == 1);
    /* Unbounded: any finite value is admissible (positive for log-normal). */
    assert_true(caviar_dist_contains(&n, -1e6) && caviar_dist_contains(&n, 0));
    assert_false(caviar_dist_contains(&n, INFINITY) || caviar_dist_contains(&n, NAN));
    assert_true(caviar_dist_contains(&ln, 1e-300) && caviar_dist_contains(&ln, 1e6));
    assert_false(caviar_dist_contains(&ln, 0) || caviar_dist_contains(&ln, -1));
    /* Equality: mu and sigma (low and high mean nothing here). */
    caviar_dist m = n;
    m.low = 5, m.high = 7;
    assert_true(caviar_dist_equal(&n, &m));
    m.sigma = 3.5;
    assert_false(caviar_dist_equal(&n, &m));
    m = n;
    m.scale = CAVIAR_SCALE_LOG_NORMAL;
    assert_false(caviar_dist_equal(&n, &m));
    caviar_dist lin = {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1};
    assert_false(caviar_dist_equal(&n, &lin) || caviar_dist_equal(&lin, &n));
    char buf[128];
    assert_string_equal(space_describe(&n, buf, sizeof buf), "float normal(mu 2, sigma 3)");
    assert_string_equal(space_describe(&ln, buf, sizeof buf),
                        "float log-normal(mu -1, sigma 0.5)");
    assert_string_equal(caviar_scale_name(CAVIAR_SCALE_LOG_NORMAL), "log-normal");
}

static void test_weighted_choices(void **state)
{
    (void)state;
    const caviar_value v[4] = {{CAVIAR_VALUE_STRING, 0, "a"}, {CAVIAR_VALUE_STRING, 0, "b"},
                               {CAVIAR_VALUE_STRING, 0, "c"}, {CAVIAR_VALUE_STRING, 0, "d"}};
    const double w[4] = {0.5, 0, 0.25, 0.25}; /* binary fractions: the sums below are exact */
    caviar_dist d = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 4, .choices = v, .weights = w};
    assert_int_equal(caviar_dist_check(&d, "c", NULL), CAVIAR_OK);
    /* Each choice owns its weight's share of u, in order; the middle of it is its position. */
    assert_true(caviar_dist_to_unit(&d, 0) == 0.25);
    assert_true(caviar_dist_to_unit(&d, 1) == 0.5);
    assert_true(caviar_dist_to_unit(&d, 2) == 0.625);
    assert_true(caviar_dist_to_unit(&d, 3) == 0.875);
    assert_true(caviar_dist_from_unit(&d, 0) == 0);
    assert_true(caviar_dist_from_unit(&d, 0.4999) == 0);
    assert_true(caviar_dist_from_unit(&d, 0.5) == 2); /* b owns nothing */
    assert_true(caviar_dist_from_unit(&d, 0.7499) == 2);
    assert_true(caviar_dist_from_unit(&d, 0.75) == 3);
    assert_true(caviar_dist_from_unit(&d, 1) == 3);
    for (size_t k = 0; k < 4; k++)
        if (w[k] > 0)
            assert_true(caviar_dist_from_unit(&d, caviar_dist_to_unit(&d, (double)k)) ==
                        (double)k);
    /* Weights are relative: the same shares at ten times the weights. */
    const double w10[4] = {2, 0, 1, 1};
    caviar_dist e = d;
    e.weights = w10;
    for (double u = 0; u <= 1; u += 0.01)
        assert_true(caviar_dist_from_unit(&e, u) == caviar_dist_from_unit(&d, u));
    assert_false(caviar_dist_equal(&d, &e));
    caviar_dist plain = d;
    plain.weights = NULL;
    assert_false(caviar_dist_equal(&d, &plain));
    /* Copies own their weights. */
    caviar_dist c;
    assert_int_equal(space_dist_copy(&c, &d, NULL), CAVIAR_OK);
    assert_true(c.weights != d.weights && caviar_dist_equal(&c, &d));
    space_dist_release(&c);
    assert_null(c.weights);
    char buf[256];
    assert_string_equal(space_describe(&d, buf, sizeof buf),
                        "categorical {a (weight 0.5), b (weight 0), c (weight 0.25), d (weight "
                        "0.25)}");
    /* In a study, the random sampler draws by the weights: a chi-square like W&B's. */
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.storage = ":memory:";
    o.seed = 5;
    caviar_error err;
    caviar_study *study = caviar_study_new(&o, &err);
    assert_non_null(study);
    double counts[4] = {0};
    for (int i = 0; i < N_DRAWS; i++) {
        caviar_trial *t = caviar_study_ask(study, &err);
        double x;
        assert_non_null(t);
        assert_int_equal(caviar_trial_suggest(t, "c", &d, &x, &err), CAVIAR_OK);
        counts[(size_t)x]++;
        assert_int_equal(caviar_study_tell(study, t, CAVIAR_TRIAL_COMPLETE, 0, &err), CAVIAR_OK);
    }
    caviar_study_free(study);
    assert_true(counts[1] == 0);
    int df;
    const double p3[3] = {0.5, 0.25, 0.25}, c3[3] = {counts[0], counts[2], counts[3]};
    assert_true(chi2(c3, p3, 3, N_DRAWS, &df) < chi2_crit_001(df));
}

/* The space's own messages for what the new fields allow. */
static void test_space_catalogue(void **state)
{
    (void)state;
    const caviar_value two[2] = {{CAVIAR_VALUE_NUMBER, 1, NULL}, {CAVIAR_VALUE_NUMBER, 2, NULL}};
    const double neg[2] = {0.5, -0.5}, zero[2] = {0, 0}, nan_w[2] = {NAN, 1};
    const struct {
        caviar_dist d;
        const char *msg;
    } cases[] = {
        {{.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_NORMAL, .sigma = 1},
         "parameter 'x': the normal scale is for floats, not ints"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .sigma = 1, .step = 0.5},
         "parameter 'x': a float on the normal scale takes no step, got 0.5"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .sigma = 0},
         "parameter 'x': sigma must be a finite number > 0, got 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG_NORMAL, .sigma = -1},
         "parameter 'x': sigma must be a finite number > 0, got -1"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = NAN, .sigma = 1},
         "parameter 'x': mu must be a finite number"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 0, .sigma = 1e308},
         "parameter 'x': mu 0 and sigma 1e+308 are too large for a double"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG_NORMAL, .mu = 700, .sigma = 2},
         "parameter 'x': log-normal mu 700 and sigma 2 give values beyond the range of a double "
         "(mu -+ 7 sigma must lie within [-708, 709])"},
        {{.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = two, .weights = neg},
         "parameter 'x': the weight of choice 2 must be a finite number >= 0, got -0.5"},
        {{.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = two, .weights = nan_w},
         "parameter 'x': the weight of choice 1 must be a finite number >= 0, got nan"},
        {{.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = two, .weights = zero},
         "parameter 'x': the weights of the choices must have a positive finite sum, got 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        caviar_error err;
        memset(&err, 0, sizeof err);
        assert_int_equal(caviar_dist_check(&cases[i].d, "x", &err), CAVIAR_EINVAL);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu:\n  got      %s\n  expected %s", i, err.msg, cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continuous),
        cmocka_unit_test(test_discrete),
        cmocka_unit_test(test_quantised),
        cmocka_unit_test(test_grid_normal),
        cmocka_unit_test(test_quantile_accuracy),
        cmocka_unit_test(test_normal_scales),
        cmocka_unit_test(test_weighted_choices),
        cmocka_unit_test(test_space_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
