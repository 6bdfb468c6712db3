/*
 * test_tpe.c — the TPE sampler through the study API: it beats random search on a simple
 * function, keeps every value admissible on every scale, copes with conditional parameters,
 * starts with exactly the random sampler's draws, spreads parallel proposals with the constant
 * liar, proposes whole points in a jointly good region with the multivariate estimator, is
 * deterministic (a function of seed and history), and rejects bad settings with the exact
 * message.
 *
 * Statistical tests use fixed seeds and compare medians or totals over several studies; the
 * margins were measured (see each test) and set well inside what was observed, so that they
 * test the behaviour rather than one lucky seed.
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

static caviar_study *new_study(const char *sampler, const char *settings, uint64_t seed,
                               caviar_direction dir)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.seed = seed;
    o.direction = dir;
    o.sampler = sampler;
    o.sampler_settings = settings;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

static caviar_trial *ask(caviar_study *s)
{
    caviar_error err;
    caviar_trial *t = caviar_study_ask(s, &err);
    if (!t)
        fail_msg("ask: %s", err.msg);
    return t;
}

static double suggest_float(caviar_trial *t, const char *name, double lo, double hi,
                            caviar_scale scale, double step)
{
    caviar_error err;
    double v;
    if (caviar_trial_suggest_float(t, name, lo, hi, scale, step, &v, &err) != CAVIAR_OK)
        fail_msg("suggest '%s': %s", name, err.msg);
    return v;
}

static int64_t suggest_int(caviar_trial *t, const char *name, int64_t lo, int64_t hi,
                           caviar_scale scale)
{
    caviar_error err;
    int64_t v;
    if (caviar_trial_suggest_int(t, name, lo, hi, scale, 1, &v, &err) != CAVIAR_OK)
        fail_msg("suggest '%s': %s", name, err.msg);
    return v;
}

static void tell(caviar_study *s, caviar_trial *t, caviar_trial_state state, double value)
{
    caviar_error err;
    if (caviar_study_tell(s, t, state, value, &err) != CAVIAR_OK)
        fail_msg("tell: %s", err.msg);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- beats random ---- */

/* A bowl in (x, log10 lr) with its minimum 0 at x = 1.5, lr = 1e-3: what a learning-rate
 * search looks like. */
static double bowl(caviar_trial *t)
{
    double x = suggest_float(t, "x", -5, 5, CAVIAR_SCALE_LINEAR, 0);
    double lr = suggest_float(t, "lr", 1e-6, 1, CAVIAR_SCALE_LOG, 0);
    double e = log10(lr) + 3;
    return (x - 1.5) * (x - 1.5) + e * e;
}

static double best_after(const char *sampler, const char *settings, uint64_t seed, int n,
                         caviar_direction dir)
{
    caviar_study *s = new_study(sampler, settings, seed, dir);
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        caviar_trial *t = ask(s);
        double v = bowl(t);
        best = v < best ? v : best;
        tell(s, t, CAVIAR_TRIAL_COMPLETE, dir == CAVIAR_MAXIMIZE ? -v : v);
    }
    caviar_study_free(s);
    return best;
}

/* Median over 10 seeds of the best value after 60 trials, minimising f and maximising -f.
 * Measured: random 0.254, TPE 0.013 (univariate; 0.016 before its good set was weighted by
 * improvement) and 0.030 (multivariate), the same for both directions; the bounds ask for a
 * third of random's median and an absolute 0.08. */
static void test_beats_random(void **state)
{
    (void)state;
    const char *modes[] = {"", "multivariate=true"};
    double rnd[10];
    for (int seed = 0; seed < 10; seed++)
        rnd[seed] = best_after("random", "", (uint64_t)seed, 60, CAVIAR_MINIMIZE);
    double m_rnd = median(rnd, 10);
    for (int k = 0; k < 2; k++)
        for (int dir = 0; dir < 2; dir++) {
            double tpe[10];
            for (int seed = 0; seed < 10; seed++)
                tpe[seed] = best_after("tpe", modes[k], (uint64_t)seed, 60,
                                       dir ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE);
            double m_tpe = median(tpe, 10);
            printf("bowl, best after 60, median of 10: random %.4f, tpe [%s] %s %.4f\n", m_rnd,
                   modes[k], dir ? "maximize" : "minimize", m_tpe);
            assert_true(m_tpe < m_rnd / 3);
            assert_true(m_tpe < 0.08);
        }
}

/* ---- scales and bounds ---- */

static void check_admissible(const char *settings)
{
    static const caviar_value acts[] = {{CAVIAR_VALUE_STRING, 0, "relu"},
                                        {CAVIAR_VALUE_STRING, 0, "tanh"},
                                        {CAVIAR_VALUE_STRING, 0, "sigmoid"}};
    caviar_study *s = new_study("tpe", settings, 3, CAVIAR_MINIMIZE);
    caviar_error err;
    for (int i = 0; i < 60; i++) {
        caviar_trial *t = ask(s);
        double lr = suggest_float(t, "lr", 1e-5, 1e-1, CAVIAR_SCALE_LOG, 0);
        double beta = suggest_float(t, "beta", 0.9, 0.999, CAVIAR_SCALE_ONE_MINUS_LOG, 0);
        double drop = suggest_float(t, "dropout", 0, 0.5, CAVIAR_SCALE_LINEAR, 0.1);
        int64_t layers = suggest_int(t, "layers", 1, 4, CAVIAR_SCALE_LINEAR);
        int64_t units = suggest_int(t, "units", 8, 512, CAVIAR_SCALE_LOG);
        size_t act;
        assert_int_equal(caviar_trial_suggest_categorical(t, "act", acts, 3, &act, &err),
                         CAVIAR_OK);
        assert_true(lr >= 1e-5 && lr <= 1e-1);
        assert_true(beta >= 0.9 && beta <= 0.999);
        assert_true(drop >= 0 && drop <= 0.5);
        double k = drop / 0.1;
        assert_true(fabs(k - floor(k + 0.5)) < 1e-9);
        assert_true(layers >= 1 && layers <= 4);
        assert_true(units >= 8 && units <= 512);
        assert_true(act < 3);
        /* An optimum inside the box, in the parameters' own scales. */
        double v = pow(log10(lr) + 3, 2) + pow(log10(1 - beta) + 2, 2) + pow(drop - 0.2, 2) +
                   0.1 * (double)labs((long)layers - 2) + pow(log2((double)units) - 7, 2) / 10 +
                   (act == 1 ? 0 : 0.5);
        tell(s, t, CAVIAR_TRIAL_COMPLETE, v);
    }
    caviar_study_free(s);
}

static void test_scales_and_bounds(void **state)
{
    (void)state;
    check_admissible("n_startup=5");
    check_admissible("n_startup=5,multivariate=true");
    check_admissible("n_startup=5,constant_liar=false,gamma=0.25,prior_weight=2");
}

/* ---- conditional parameters ---- */

static void run_conditional(const char *settings)
{
    caviar_study *s = new_study("tpe", settings, 11, CAVIAR_MINIMIZE);
    size_t deep = 0;
    for (int i = 0; i < 60; i++) {
        caviar_trial *t = ask(s);
        int64_t n_layers = suggest_int(t, "n_layers", 1, 3, CAVIAR_SCALE_LINEAR);
        double v = 0;
        for (int64_t l = 1; l <= n_layers; l++) {
            char name[32];
            snprintf(name, sizeof name, "units_%lld", (long long)l);
            int64_t units = suggest_int(t, name, 4, 256, CAVIAR_SCALE_LOG);
            assert_true(units >= 4 && units <= 256);
            v += pow(log2((double)units) - 5, 2);
        }
        deep += n_layers == 3;
        /* Every fifth trial is pruned or fails, as in a real study. */
        if (i % 5 == 3) {
            caviar_error err;
            assert_int_equal(caviar_trial_report(t, 1, v + 1, &err), CAVIAR_OK);
            tell(s, t, CAVIAR_TRIAL_PRUNED, NAN);
        } else if (i % 5 == 4) {
            tell(s, t, CAVIAR_TRIAL_FAIL, NAN);
        } else {
            tell(s, t, CAVIAR_TRIAL_COMPLETE, v - (double)n_layers);
        }
    }
    assert_true(deep > 0);
    caviar_study_free(s);
}

static void test_conditional(void **state)
{
    (void)state;
    run_conditional("n_startup=5");
    run_conditional("n_startup=5,multivariate=true");
}

/* ---- startup ---- */

/* The first n_startup trials draw exactly what the random sampler draws. */
static void test_startup_is_random(void **state)
{
    (void)state;
    const char *modes[] = {"n_startup=8", "n_startup=8,multivariate=true"};
    for (int k = 0; k < 2; k++) {
        caviar_study *r = new_study("random", "", 5, CAVIAR_MINIMIZE);
        caviar_study *s = new_study("tpe", modes[k], 5, CAVIAR_MINIMIZE);
        int differ_after = 0;
        for (int i = 0; i < 12; i++) {
            caviar_trial *tr = ask(r), *ts = ask(s);
            double a = bowl(tr), b = bowl(ts);
            if (i < 8)
                assert_true(a == b);
            else
                differ_after += a != b;
            tell(r, tr, CAVIAR_TRIAL_COMPLETE, a);
            tell(s, ts, CAVIAR_TRIAL_COMPLETE, b);
        }
        assert_true(differ_after > 0); /* then the model takes over */
        caviar_study_free(r);
        caviar_study_free(s);
    }
}

/* ---- constant liar ---- */

/* After 20 finished trials on a 1-D bowl, 8 workers ask at once (each suggests at once, none
 * tells): the mean distance between their proposals, in u, summed over 10 seeds. */
static double parallel_spread(const char *settings)
{
    double total = 0;
    for (uint64_t seed = 0; seed < 10; seed++) {
        caviar_study *s = new_study("tpe", settings, seed, CAVIAR_MINIMIZE);
        for (int i = 0; i < 20; i++) {
            caviar_trial *t = ask(s);
            double x = suggest_float(t, "x", 0, 1, CAVIAR_SCALE_LINEAR, 0);
            tell(s, t, CAVIAR_TRIAL_COMPLETE, (x - 0.3) * (x - 0.3));
        }
        caviar_trial *live[8];
        double x[8], sum = 0;
        for (int i = 0; i < 8; i++) {
            live[i] = ask(s);
            x[i] = suggest_float(live[i], "x", 0, 1, CAVIAR_SCALE_LINEAR, 0);
        }
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < i; j++)
                sum += fabs(x[i] - x[j]);
        total += sum / 28;
        for (int i = 0; i < 8; i++)
            tell(s, live[i], CAVIAR_TRIAL_COMPLETE, (x[i] - 0.3) * (x[i] - 0.3));
        caviar_study_free(s);
    }
    return total / 10;
}

/* Measured: mean pairwise distance 0.188 with the liar, 0.108 without (without it the eight
 * workers all crowd the same best region; with it each in-flight point pushes the next one
 * away). */
static void test_constant_liar_spreads(void **state)
{
    (void)state;
    double with = parallel_spread("constant_liar=true");
    double without = parallel_spread("constant_liar=false");
    printf("parallel proposals, mean pairwise distance: liar %.4f, no liar %.4f\n", with,
           without);
    assert_true(with > 1.5 * without);
}

/* ---- multivariate ---- */

/* The radical inverse of i in base b: the Halton sequence, an even spread of points. */
static double halton(unsigned i, unsigned b)
{
    double f = 1, r = 0;
    for (; i; i /= b) {
        f /= b;
        r += f * (double)(i % b);
    }
    return r;
}

/* A saddle, f = -x y on [-1, 1]^2: the good trials lie in two opposite corners, (1, 1) and
 * (-1, -1). Each parameter alone sees a good region at both ends; only the pair tells that
 * x and y must have the same sign. The history is fixed (60 enqueued points told their value:
 * 30 evenly spread ones, each followed by its mirror image (-x, -y), which has the same value,
 * so that both corners are equally good and equally weighted in the good set), then 60 trials
 * are asked from that same history (no liar, none told).
 * Univariate TPE draws x and y independently, so about half its proposals land in the bad
 * corners; the joint estimator draws whole points from kernels in the good corners. Returns how
 * many proposals have x y < 0, over 3 seeds (of 180). */
static int saddle_bad_proposals(const char *settings)
{
    static const char *const names[] = {"x", "y"};
    caviar_dist d = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = -1,
                     .high = 1};
    caviar_error err;
    int bad = 0;
    for (uint64_t seed = 0; seed < 3; seed++) {
        caviar_study *s = new_study("tpe", settings, seed, CAVIAR_MINIMIZE);
        assert_int_equal(caviar_study_add_param(s, "x", &d, &err), CAVIAR_OK);
        assert_int_equal(caviar_study_add_param(s, "y", &d, &err), CAVIAR_OK);
        for (unsigned i = 0; i < 60; i++) {
            double sign = i % 2 ? -1 : 1; /* odd trials mirror the one before */
            double v[2] = {sign * (2 * halton(i / 2 + 1, 2) - 1),
                           sign * (2 * halton(i / 2 + 1, 3) - 1)};
            assert_int_equal(caviar_study_enqueue(s, names, v, 2, &err), CAVIAR_OK);
            caviar_trial *t = ask(s);
            double x = suggest_float(t, "x", -1, 1, CAVIAR_SCALE_LINEAR, 0);
            double y = suggest_float(t, "y", -1, 1, CAVIAR_SCALE_LINEAR, 0);
            assert_true(x == v[0] && y == v[1]);
            tell(s, t, CAVIAR_TRIAL_COMPLETE, -x * y);
        }
        for (int i = 0; i < 60; i++) {
            caviar_trial *t = ask(s);
            double x = suggest_float(t, "x", -1, 1, CAVIAR_SCALE_LINEAR, 0);
            double y = suggest_float(t, "y", -1, 1, CAVIAR_SCALE_LINEAR, 0);
            bad += x * y < 0;
        }
        caviar_study_free(s); /* the 60 running trials go with it */
    }
    return bad;
}

/* Measured: 0 of 180 multivariate, 94 of 180 univariate (91 before the univariate good set was
 * weighted by improvement; with the unmirrored history of 60 Halton points the weighting lets
 * the better corner dominate both parameters' good sets, so univariate proposals avoided the bad
 * corners for that reason, not by modelling the pair). */
static void test_multivariate_joint_region(void **state)
{
    (void)state;
    int mv = saddle_bad_proposals("multivariate=true,constant_liar=false");
    int uni = saddle_bad_proposals("constant_liar=false");
    printf("saddle -x y, proposals in the bad corners (of 180): multivariate %d, univariate "
           "%d\n", mv, uni);
    assert_true(mv <= 18);
    assert_true(uni >= 60);
}

/* ---- determinism ---- */

static void sequence(const char *settings, uint64_t seed, double *out, int n)
{
    caviar_study *s = new_study("tpe", settings, seed, CAVIAR_MINIMIZE);
    /* Two workers in step: ask two, tell two, so the liar is part of what must repeat. */
    for (int i = 0; i < n; i += 2) {
        caviar_trial *a = ask(s), *b = ask(s);
        double va = bowl(a), vb = bowl(b);
        out[i] = va;
        out[i + 1] = vb;
        tell(s, b, CAVIAR_TRIAL_COMPLETE, vb);
        tell(s, a, CAVIAR_TRIAL_COMPLETE, va);
    }
    caviar_study_free(s);
}

static void test_deterministic(void **state)
{
    (void)state;
    const char *modes[] = {"n_startup=5", "n_startup=5,multivariate=true"};
    for (int k = 0; k < 2; k++) {
        double a[40], b[40], c[40];
        sequence(modes[k], 42, a, 40);
        sequence(modes[k], 42, b, 40);
        sequence(modes[k], 43, c, 40);
        int same_other = 0;
        for (int i = 0; i < 40; i++) {
            assert_true(a[i] == b[i]);
            same_other += a[i] == c[i];
        }
        assert_true(same_other < 5);
    }
}

/* The proposal is a function of the history: a study that reaches the same history by
 * enqueueing the same trials (so that its sampler's cached ranking was built along another
 * path, or from scratch) proposes the same next trial. Some trials are pruned and one fails,
 * and two are left running (liars), so every class of the ranking takes part. */
static void test_same_history_same_proposal(void **state)
{
    (void)state;
    static const char *const names[] = {"x", "lr"};
    const char *modes[] = {"n_startup=5", "n_startup=5,multivariate=true"};
    caviar_error err;
    for (int k = 0; k < 2; k++) {
        caviar_study *a = new_study("tpe", modes[k], 9, CAVIAR_MINIMIZE);
        caviar_study *b = new_study("tpe", modes[k], 9, CAVIAR_MINIMIZE);
        caviar_dist dx = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = -5,
                          .high = 5};
        caviar_dist dlr = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-6,
                           .high = 1};
        assert_int_equal(caviar_study_add_param(b, "x", &dx, &err), CAVIAR_OK);
        assert_int_equal(caviar_study_add_param(b, "lr", &dlr, &err), CAVIAR_OK);
        caviar_trial *running[2];
        for (int i = 0; i < 42; i++) {
            caviar_trial *t = ask(a);
            double v = bowl(t), p[2];
            p[0] = suggest_float(t, "x", -5, 5, CAVIAR_SCALE_LINEAR, 0);
            p[1] = suggest_float(t, "lr", 1e-6, 1, CAVIAR_SCALE_LOG, 0);
            assert_int_equal(caviar_study_enqueue(b, names, p, 2, &err), CAVIAR_OK);
            caviar_trial *u = ask(b);
            assert_true(bowl(u) == v);
            if (i >= 40) {
                running[i - 40] = t; /* left running in both studies */
                continue;
            }
            caviar_trial_state st = i % 7 == 3 ? CAVIAR_TRIAL_PRUNED
                                    : i == 20  ? CAVIAR_TRIAL_FAIL
                                               : CAVIAR_TRIAL_COMPLETE;
            if (st == CAVIAR_TRIAL_PRUNED) {
                assert_int_equal(caviar_trial_report(t, i % 3 + 1, v + 1, &err), CAVIAR_OK);
                assert_int_equal(caviar_trial_report(u, i % 3 + 1, v + 1, &err), CAVIAR_OK);
            }
            tell(a, t, st, st == CAVIAR_TRIAL_PRUNED ? NAN : v);
            tell(b, u, st, st == CAVIAR_TRIAL_PRUNED ? NAN : v);
        }
        for (int i = 0; i < 3; i++) {
            caviar_trial *t = ask(a), *u = ask(b);
            assert_true(bowl(t) == bowl(u));
        }
        (void)running;
        caviar_study_free(a);
        caviar_study_free(b);
    }
}

/* ---- settings ---- */

static void expect_error(const char *settings, const char *message)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.sampler = "tpe";
    o.sampler_settings = settings;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    assert_null(s);
    assert_int_equal(err.status, CAVIAR_EINVAL);
    assert_string_equal(err.msg, message);
}

static void test_bad_settings(void **state)
{
    (void)state;
    expect_error("n_startp=3",
                 "unknown setting 'n_startp' for sampler 'tpe'\nhint: did you mean 'n_startup'?");
    expect_error("bandwidth=2",
                 "unknown setting 'bandwidth' for sampler 'tpe'\nhint: its settings are: "
                 "n_startup, n_ei_candidates, gamma, multivariate, constant_liar, prior_weight");
    expect_error("n_ei_candidates=0", "setting n_ei_candidates=0 of sampler 'tpe': expected a "
                                      "whole number in [1, 10000]");
    expect_error("n_startup=-1", "setting n_startup=-1 of sampler 'tpe': expected a whole "
                                 "number in [0, 1000000]");
    expect_error("gamma=1.5",
                 "setting gamma=1.5 of sampler 'tpe': expected a number in [0.001, 1]");
    expect_error("prior_weight=0",
                 "setting prior_weight=0 of sampler 'tpe': expected a number in [0.001, 1000]");
    expect_error("multivariate=maybe",
                 "setting multivariate=maybe of sampler 'tpe': expected true or false");
    expect_error("constant_liar=2",
                 "setting constant_liar=2 of sampler 'tpe': expected true or false");
    /* And good ones are accepted. */
    caviar_study *s = new_study("tpe",
                                "n_startup=0, n_ei_candidates=64, gamma=0.2, multivariate=yes, "
                                "constant_liar=off, prior_weight=0.5",
                                1, CAVIAR_MINIMIZE);
    caviar_trial *t = ask(s); /* n_startup=0: the model runs on an empty history */
    tell(s, t, CAVIAR_TRIAL_COMPLETE, bowl(t));
    t = ask(s);
    tell(s, t, CAVIAR_TRIAL_COMPLETE, bowl(t));
    caviar_study_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_startup_is_random),
        cmocka_unit_test(test_scales_and_bounds),
        cmocka_unit_test(test_conditional),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_same_history_same_proposal),
        cmocka_unit_test(test_beats_random),
        cmocka_unit_test(test_constant_liar_spreads),
        cmocka_unit_test(test_multivariate_joint_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
