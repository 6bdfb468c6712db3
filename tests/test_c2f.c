/*
 * test_c2f.c — the coarse-to-fine sampler: rounds by trial number, boxes that shrink by the
 * factor around the best trials of the previous round and move towards the optimum, draws
 * inside the recorded box, categorical narrowing, conditional parameters, parallel workers at
 * a round boundary, determinism, a statistical comparison with random search, and the
 * catalogue of bad settings with their exact messages.
 *
 * The public API has no way to read a trial's attributes back, so the tests that audit the
 * recorded round and box drive the sampler through the internal interfaces (store + sampler)
 * with a small harness that does what study.c does for ask, suggest and tell; the end-to-end
 * tests (determinism, beating random, settings) go through caviar_study.
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
#include "sample/sample.h"

/* ---- a minimal ask/suggest/tell over the in-memory store ---- */

#define MAX_PARAMS 8

typedef struct harness {
    const store_type *type;
    store *st;
    int64_t study;
    store_history h;
    sampler smp;
    uint64_t seed;
    caviar_direction direction;
} harness;

typedef struct live {
    uint64_t number;
    util_rng rng;
    double proposed[MAX_PARAMS];
    size_t n_proposed;
} live;

static void h_sync(harness *hs)
{
    caviar_error err;
    if (hs->type->sync(hs->st, hs->study, &hs->h, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
}

static void h_open(harness *hs, const char *settings, uint64_t seed, caviar_direction dir)
{
    caviar_error err;
    memset(hs, 0, sizeof *hs);
    hs->type = store_find(NULL);
    hs->seed = seed;
    hs->direction = dir;
    store_history_init(&hs->h);
    store_study_info info = {"c2f", dir, seed, "coarse-to-fine", settings, "none", NULL, NULL};
    assert_non_null(hs->type);
    if (hs->type->open(NULL, &hs->st, &err) != CAVIAR_OK ||
        hs->type->open_study(hs->st, &info, &hs->study, &err) != CAVIAR_OK ||
        sampler_open(&hs->smp, "coarse-to-fine", settings, seed, dir, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    h_sync(hs);
}

static void h_close(harness *hs)
{
    sampler_close(&hs->smp);
    hs->type->close(hs->st);
    store_history_release(&hs->h);
}

static void h_ask(harness *hs, live *t)
{
    caviar_error err;
    h_sync(hs);
    store_start start = {.worker = "test"};
    if (hs->type->create_running(hs->st, hs->study, &start, &t->number, NULL, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    h_sync(hs);
    util_rng_derive(&t->rng, hs->seed, t->number);
    t->n_proposed = hs->h.params.n;
    assert_true(t->n_proposed <= MAX_PARAMS);
    for (size_t i = 0; i < MAX_PARAMS; i++)
        t->proposed[i] = NAN;
    sample_ctx ctx = {.number = t->number, .rng = &t->rng, .direction = hs->direction,
                      .proposed = t->proposed, .n_proposed = t->n_proposed, .st = hs->st,
                      .study = hs->study};
    if (hs->smp.type->begin(hs->smp.self, &hs->h, &ctx, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    h_sync(hs);
}

static double h_suggest(harness *hs, live *t, const char *name, const caviar_dist *d)
{
    caviar_error err;
    long id = space_table_find(&hs->h.params, name);
    if (id < 0) {
        if (hs->type->add_param(hs->st, hs->study, name, d, &err) != CAVIAR_OK)
            fail_msg("%s", err.msg);
        h_sync(hs);
        id = space_table_find(&hs->h.params, name);
        assert_true(id >= 0);
    }
    double v;
    if ((size_t)id < t->n_proposed && !isnan(t->proposed[id])) {
        v = t->proposed[id];
    } else {
        sample_ctx ctx = {.number = t->number, .rng = &t->rng, .direction = hs->direction,
                          .proposed = t->proposed, .n_proposed = t->n_proposed, .st = hs->st,
                          .study = hs->study};
        if (hs->smp.type->sample(hs->smp.self, &hs->h, &ctx, (size_t)id, d, &v, &err) !=
            CAVIAR_OK)
            fail_msg("%s", err.msg);
    }
    assert_true(caviar_dist_contains(d, v));
    if (hs->type->set_param(hs->st, hs->study, t->number, (size_t)id, v, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    h_sync(hs);
    return v;
}

static void h_tell(harness *hs, live *t, double value)
{
    caviar_error err;
    if (hs->type->finish(hs->st, hs->study, t->number, CAVIAR_TRIAL_COMPLETE, value, &err) !=
        CAVIAR_OK)
        fail_msg("%s", err.msg);
    h_sync(hs);
}

/* ---- reading the recorded round and box back ---- */

static long trial_round(const harness *hs, uint64_t n)
{
    const char *r = store_trial_attr(&hs->h.trials[n], "c2f.round");
    assert_non_null(r);
    return strtol(r, NULL, 10);
}

/* The numbers recorded for name in trial n's c2f.box; returns how many (-1: name absent). */
static int trial_box(const harness *hs, uint64_t n, const char *name, double *out, int max)
{
    const char *box = store_trial_attr(&hs->h.trials[n], "c2f.box");
    assert_non_null(box);
    assert_true(box[0] == '{' && box[strlen(box) - 1] == '}');
    char key[64];
    snprintf(key, sizeof key, "\"%s\":[", name);
    const char *p = strstr(box, key);
    if (!p)
        return -1;
    p += strlen(key);
    int count = 0;
    while (*p != ']') {
        char *end;
        double v = strtod(p, &end);
        assert_true(end != p && count < max);
        out[count++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return count;
}

/* Width in u of name's box in trial n; a parameter missing from the box had the whole range. */
static double box_width(const harness *hs, uint64_t n, const char *name)
{
    double b[2];
    int nb = trial_box(hs, n, name, b, 2);
    assert_true(nb == -1 || nb == 2);
    return nb == -1 ? 1.0 : b[1] - b[0];
}

/* The best k COMPLETE trials numbered [first, end), best first (sign 1: smallest values,
 * -1: largest; ties to the lower number). */
static size_t best_of(const harness *hs, uint64_t first, uint64_t end, size_t k, double sign,
                      uint64_t *best)
{
    size_t m = 0;
    for (uint64_t n = first; n < end && n < hs->h.n_trials; n++) {
        const store_trial *t = &hs->h.trials[n];
        if (t->state != CAVIAR_TRIAL_COMPLETE)
            continue;
        size_t at = m < k ? m++ : k;
        while (at > 0 && sign * t->value < sign * hs->h.trials[best[at - 1]].value) {
            if (at < k)
                best[at] = best[at - 1];
            at--;
        }
        if (at < k)
            best[at] = n;
    }
    return m;
}

static double param_u(const harness *hs, uint64_t n, const char *name)
{
    long id = space_table_find(&hs->h.params, name);
    assert_true(id >= 0);
    double v = store_trial_param(&hs->h.trials[n], (size_t)id);
    return isnan(v) ? NAN : caviar_dist_to_unit(&hs->h.params.params[id].dist, v);
}

/* ---- the test function ----
 * f = (log10 lr + 3)^2 + (x - 1.3)^2, lr log-uniform in [1e-6, 1], x in [-5, 5]: the optimum
 * lr = 1e-3, x = 1.3 sits at u = 0.5 and u = 0.63. */

static const caviar_dist LR = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG,
                               .low = 1e-6, .high = 1};
static const caviar_dist X = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR,
                              .low = -5, .high = 5};
#define LR_OPT_U 0.5
#define X_OPT_U 0.63

static double f2(double lr, double x)
{
    double a = log10(lr) + 3, b = x - 1.3;
    return a * a + b * b;
}

/* ---- tests ---- */

/* Four rounds of 40 (k = 3, shrink = 0.5), run one trial at a time, on f2 plus two parameters
 * that do not matter. Checked for every trial: its round, that its draws lie in its recorded
 * box, that a parameter unknown when it began is missing from its box; for the first trial of
 * each zoomed round: that the box holds the best k of the previous round, that its width is
 * max(shrink * previous width, span of the best k), exactly, and that a parameter the best k
 * did not use keeps its box; at the end: that the final box holds the optimum.
 * Honest bounds: the assertions are deterministic for seed 11; over seeds 1..200 the rule and
 * containment always hold, but 5 seeds have one zoom where the best 3 spread wider than the
 * factor (so "every zoom is exactly the factor" is a property of this seed, typical at 97.5%),
 * and 1 seed has a best trial in the "units" branch. */
static void test_zoom_rounds(void **state)
{
    (void)state;
    enum { N = 40, R = 4, K = 3, LATE = 100 };
    harness hs;
    h_open(&hs, "trials_per_round=40,rounds=4,k=3,shrink=0.5", 11, CAVIAR_MINIMIZE);
    /* "units" is conditional on x > 3, a bad region: the best trials never use it. "late"
     * appears in the middle of round 2. */
    const caviar_dist units = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 8,
                               .high = 512, .step = 1};
    for (int i = 0; i < N * R + 10; i++) {
        live t;
        h_ask(&hs, &t);
        double lr = h_suggest(&hs, &t, "lr", &LR), x = h_suggest(&hs, &t, "x", &X);
        double v = f2(lr, x);
        if (x > 3)
            v += 1e-3 * h_suggest(&hs, &t, "units", &units);
        if (t.number >= LATE) /* a new parameter that does not matter */
            h_suggest(&hs, &t, "late", &X);
        h_tell(&hs, &t, v);
    }
    int exact = 0, total = 0;
    for (uint64_t n = 0; n < hs.h.n_trials; n++) {
        long r = trial_round(&hs, n);
        assert_int_equal(r, n / N < R ? (long)(n / N) : R - 1); /* the last round is open */
        /* Every draw lies in its trial's box. */
        const char *names[] = {"lr", "x", "units", "late"};
        for (int p = 0; p < 4; p++) {
            double b[2], u = param_u(&hs, n, names[p]);
            int nb = trial_box(&hs, n, names[p], b, 2);
            if (n == 0) {
                assert_int_equal(nb, -1); /* the study knew nothing when trial 0 began */
                continue;
            }
            if (nb == -1) { /* unknown when the trial began: drawn over its whole range */
                assert_true(p == 2 || (p == 3 && n <= LATE));
                continue;
            }
            assert_int_equal(nb, 2);
            assert_true(b[0] >= 0 && b[0] < b[1] && b[1] <= 1);
            if (!isnan(u))
                assert_true(u >= b[0] && u <= b[1]);
            if (p == 2 || (p == 3 && r < 3)) /* no best trial used it: the whole range */
                assert_true(b[0] == 0 && b[1] == 1);
        }
        if (r == 0 || n % N != 0 || n >= (uint64_t)N * R)
            continue;
        /* The first trial of round r: its box against round r - 1. */
        uint64_t best[K], prev = n - N;
        assert_int_equal(best_of(&hs, prev, n, K, 1, best), K);
        for (int p = 0; p < 4; p++) {
            double b[2], lo_b = 1, hi_b = 0;
            int used = 0;
            if (p == 3 && n <= LATE)
                continue;
            assert_int_equal(trial_box(&hs, n, names[p], b, 2), 2);
            for (int j = 0; j < K; j++) {
                double u = param_u(&hs, best[j], names[p]);
                if (isnan(u))
                    continue;
                assert_true(u >= b[0] && u <= b[1]); /* holds the best k */
                lo_b = fmin(lo_b, u), hi_b = fmax(hi_b, u);
                used++;
            }
            double w = b[1] - b[0], w_prev = box_width(&hs, prev, names[p]);
            if (!used) { /* keeps its box */
                assert_true(fabs(w - w_prev) < 1e-15);
                continue;
            }
            /* The rule: the factor, or the span of the best k when they spread wider. */
            assert_true(fabs(w - fmax(0.5 * w_prev, hi_b - lo_b)) < 1e-12);
            assert_true(w <= w_prev + 1e-12);
            if (p < 2) {
                exact += fabs(w - 0.5 * w_prev) < 1e-12;
                total++;
            }
        }
        /* Trials of one round (run one at a time) share one box. */
        for (uint64_t m = n + 1; m < n + N; m++)
            for (int p = 0; p < 2; p++) {
                double a[2], b[2];
                assert_int_equal(trial_box(&hs, n, names[p], a, 2), 2);
                assert_int_equal(trial_box(&hs, m, names[p], b, 2), 2);
                assert_true(a[0] == b[0] && a[1] == b[1]);
            }
    }
    /* With k = 3 of 40 the best usually cluster within half the box (see above): here every
     * zoom of lr and x is by exactly the factor. */
    assert_int_equal(exact, total);
    assert_int_equal(total, 2 * (R - 1));
    /* The final round zooms onto the optimum: width 1/8 in u around it. */
    double b[2];
    uint64_t last = hs.h.n_trials - 1;
    assert_int_equal(trial_box(&hs, last, "lr", b, 2), 2);
    assert_true(b[0] <= LR_OPT_U && LR_OPT_U <= b[1]);
    assert_true(fabs(b[1] - b[0] - 0.125) < 1e-12);
    assert_int_equal(trial_box(&hs, last, "x", b, 2), 2);
    assert_true(b[0] <= X_OPT_U && X_OPT_U <= b[1]);
    h_close(&hs);
}

/* Maximising, with a categorical where one choice is clearly better (10 worse otherwise) and an
 * integer (optimum 3 of 1..8). The allowed choices never grow and the final round allows only
 * tanh; integer boxes are whole cells, hold their draws and the best k, and shrink by the factor
 * to within a cell. Honest bounds, seed 5 being deterministic: over seeds 1..200 tanh alone is
 * left by round 1 in 63% and by round 2 in 99.5% (seed 47 narrowed to relu: a round 0 whose
 * best 4 all used another choice drops tanh for good, the price of narrowing), and the final
 * integer box holds 3 in 99%. */
static void test_categorical_and_int(void **state)
{
    (void)state;
    enum { N = 30, R = 3 };
    static const caviar_value acts[] = {{CAVIAR_VALUE_STRING, 0, "relu"},
                                        {CAVIAR_VALUE_STRING, 0, "tanh"},
                                        {CAVIAR_VALUE_STRING, 0, "sigmoid"}};
    const caviar_dist act = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = acts};
    const caviar_dist layers = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 1,
                                .high = 8, .step = 1};
    harness hs;
    h_open(&hs, "trials_per_round=30,rounds=3,k=4,shrink=0.5", 5, CAVIAR_MAXIMIZE);
    for (int i = 0; i < N * R; i++) {
        live t;
        h_ask(&hs, &t);
        double a = h_suggest(&hs, &t, "act", &act), l = h_suggest(&hs, &t, "layers", &layers);
        double x = h_suggest(&hs, &t, "x", &X);
        h_tell(&hs, &t, -(x - 1.3) * (x - 1.3) - (a == 1 ? 0 : 10) - (l - 3) * (l - 3));
    }
    for (uint64_t n = N; n < hs.h.n_trials; n++) {
        double b[3], u;
        long r = trial_round(&hs, n);
        /* The allowed choices only narrow, and the final round allows only tanh. */
        double prev_act[3];
        int n_act = trial_box(&hs, n, "act", b, 3), n_prev = trial_box(&hs, n - N, "act",
                                                                       prev_act, 3);
        assert_true(n_act >= 1 && n_act <= (n_prev < 0 ? 3 : n_prev));
        if (r == R - 1) {
            assert_int_equal(n_act, 1);
            assert_true(b[0] == 1);
            assert_true(param_u(&hs, n, "act") == caviar_dist_to_unit(&act, 1));
        }
        /* The integer's box is whole cells (1/8 of u each on a linear 1..8) and holds its draw. */
        assert_int_equal(trial_box(&hs, n, "layers", b, 2), 2);
        assert_true(fabs(b[0] * 8 - round(b[0] * 8)) < 1e-12);
        assert_true(fabs(b[1] * 8 - round(b[1] * 8)) < 1e-12);
        u = param_u(&hs, n, "layers");
        assert_true(u >= b[0] && u <= b[1]);
        if (n % N)
            continue;
        /* Its width: the factor to within a cell (each edge moves at most half a cell), or
         * the cells the best 4 of the previous round span, which it holds. */
        uint64_t best[4];
        assert_int_equal(best_of(&hs, n - N, n, 4, -1, best), 4);
        double v_lo = 8, v_hi = 1, cells = round((b[1] - b[0]) * 8);
        for (int j = 0; j < 4; j++) {
            double v = store_trial_param(&hs.h.trials[best[j]],
                                         (size_t)space_table_find(&hs.h.params, "layers"));
            v_lo = fmin(v_lo, v), v_hi = fmax(v_hi, v);
            assert_true(caviar_dist_to_unit(&layers, v) >= b[0] &&
                        caviar_dist_to_unit(&layers, v) <= b[1]);
        }
        double prev = 8 * box_width(&hs, n - N, "layers");
        assert_true(cells <= fmax(0.5 * prev + 1, v_hi - v_lo + 1) + 1e-9);
        assert_true(cells >= 0.5 * prev - 1 - 1e-9 && cells >= v_hi - v_lo + 1);
        if (r == R - 1) /* the final box holds the optimum, 3 layers */
            assert_true(b[0] <= caviar_dist_to_unit(&layers, 3) &&
                        caviar_dist_to_unit(&layers, 3) <= b[1]);
    }
    h_close(&hs);
}

/* Workers at a round boundary: round 1 is asked before round 0 has finished. */
static void test_parallel_boundary(void **state)
{
    (void)state;
    harness hs;
    h_open(&hs, "trials_per_round=4,rounds=2,k=2,shrink=0.5", 3, CAVIAR_MINIMIZE);
    live t[8];
    double x[8];
    /* Trial 0 defines x; 1..3 run together. */
    h_ask(&hs, &t[0]);
    x[0] = h_suggest(&hs, &t[0], "x", &X);
    h_tell(&hs, &t[0], x[0]);
    for (int i = 1; i < 4; i++) {
        h_ask(&hs, &t[i]);
        x[i] = h_suggest(&hs, &t[i], "x", &X);
    }
    /* Trial 4 is in round 1 and only trial 0 has finished: the zoom uses it alone. */
    h_ask(&hs, &t[4]);
    double b[2];
    assert_int_equal(trial_round(&hs, 4), 1);
    assert_int_equal(trial_box(&hs, 4, "x", b, 2), 2);
    double u0 = caviar_dist_to_unit(&X, x[0]);
    assert_true(fabs(b[1] - b[0] - 0.5) < 1e-12 && b[0] <= u0 && u0 <= b[1]);
    /* Round 0 finishes (the value is x itself, minimised): trial 5 zooms around the best 2 of
     * all four, a box of its own, and trial 6 (from the settled box) gets the same. */
    for (int i = 1; i < 4; i++)
        h_tell(&hs, &t[i], x[i]);
    h_ask(&hs, &t[5]);
    h_ask(&hs, &t[6]);
    uint64_t best[2];
    assert_int_equal(best_of(&hs, 0, 4, 2, 1, best), 2);
    double b6[2], b4[2] = {b[0], b[1]};
    assert_int_equal(trial_box(&hs, 5, "x", b, 2), 2);
    assert_int_equal(trial_box(&hs, 6, "x", b6, 2), 2);
    assert_true(b[0] == b6[0] && b[1] == b6[1]);
    assert_true(b[0] != b4[0] || b[1] != b4[1]);
    for (int j = 0; j < 2; j++) {
        double u = param_u(&hs, best[j], "x");
        assert_true(b[0] <= u && u <= b[1]);
    }
    /* With nothing of the previous round finished, the box stays as it was: a fresh study
     * whose four round-0 trials are all still running. */
    harness h2;
    h_open(&h2, "trials_per_round=4,rounds=2,k=2,shrink=0.5", 3, CAVIAR_MINIMIZE);
    for (int i = 0; i < 5; i++) {
        h_ask(&h2, &t[i]);
        x[i] = h_suggest(&h2, &t[i], "x", &X);
    }
    assert_int_equal(trial_round(&h2, 4), 1);
    assert_int_equal(trial_box(&h2, 4, "x", b, 2), 2);
    assert_true(b[0] == 0 && b[1] == 1);
    h_close(&h2);
    h_close(&hs);
}

/* rounds=unlimited: a new round every trials_per_round trials, each box no wider than the last
 * (the best k lie in the previous box) and at least the factor of it. */
static void test_unlimited(void **state)
{
    (void)state;
    enum { N = 6, R = 8 };
    harness hs;
    h_open(&hs, "trials_per_round=6,k=2,rounds=unlimited,shrink=0.7", 2, CAVIAR_MINIMIZE);
    for (int i = 0; i < N * R; i++) {
        live t;
        h_ask(&hs, &t);
        double lr = h_suggest(&hs, &t, "lr", &LR), x = h_suggest(&hs, &t, "x", &X);
        h_tell(&hs, &t, f2(lr, x));
    }
    for (uint64_t n = N; n < hs.h.n_trials; n++) {
        assert_int_equal(trial_round(&hs, n), (long)(n / N));
        double w = box_width(&hs, n, "x"), w_prev = box_width(&hs, n - N, "x");
        assert_true(w <= w_prev + 1e-12 && w >= 0.7 * w_prev - 1e-12);
    }
    assert_true(box_width(&hs, hs.h.n_trials - 1, "lr") < 0.5); /* it did zoom */
    h_close(&hs);
}

/* ---- through the public API ---- */

static caviar_study *new_study(const char *sampler_name, const char *settings, uint64_t seed)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.seed = seed;
    o.sampler = sampler_name;
    o.sampler_settings = settings;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

/* Runs n trials of f2; returns the best value, and the drawn values in lr[], x[] if given. */
static double run_f2(caviar_study *s, int n, double *lrs, double *xs)
{
    caviar_error err;
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        assert_non_null(t);
        double lr, x;
        assert_int_equal(caviar_trial_suggest_float(t, "lr", LR.low, LR.high, LR.scale, 0, &lr,
                                                    &err), CAVIAR_OK);
        assert_int_equal(caviar_trial_suggest_float(t, "x", X.low, X.high, X.scale, 0, &x,
                                                    &err), CAVIAR_OK);
        double v = f2(lr, x);
        best = v < best ? v : best;
        if (lrs)
            lrs[i] = lr, xs[i] = x;
        assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, v, &err), CAVIAR_OK);
    }
    return best;
}

/* Same seed, same history: the same sequence; another seed: another. */
static void test_determinism(void **state)
{
    (void)state;
    enum { N = 70 };
    double lr[3][N], x[3][N];
    uint64_t seeds[3] = {42, 42, 43};
    for (int i = 0; i < 3; i++) {
        caviar_study *s = new_study("coarse-to-fine", "trials_per_round=20,rounds=3", seeds[i]);
        run_f2(s, N, lr[i], x[i]);
        caviar_study_free(s);
    }
    assert_memory_equal(lr[0], lr[1], sizeof lr[0]);
    assert_memory_equal(x[0], x[1], sizeof x[0]);
    assert_true(lr[0][0] != lr[2][0] && x[0][N - 1] != x[2][N - 1]);
}

/* Best after 60 trials (three rounds of 20, the defaults) against random search with the same
 * seeds. Round 0 is itself random search, so any gain comes from the zoom. Margin: c2f's best
 * must be under half of random's. Over seeds 1..400 that holds in 77% of runs (median ratio of
 * the bests 0.16; c2f is better at all in 88%); at 77% a set of 10 seeds has a majority (>= 6)
 * of such wins with probability 0.94. Seeds 1..10 give 9. */
static void test_beats_random(void **state)
{
    (void)state;
    int wins = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        caviar_study *c = new_study("coarse-to-fine", NULL, seed);
        caviar_study *r = new_study("random", NULL, seed);
        double lc[60], xc[60], lr[60], xr[60];
        double bc = run_f2(c, 60, lc, xc), br = run_f2(r, 60, lr, xr);
        /* Round 0 draws in the whole box from the same streams as random: the same points. */
        assert_memory_equal(lc, lr, 20 * sizeof lc[0]);
        assert_memory_equal(xc, xr, 20 * sizeof xc[0]);
        wins += bc < 0.5 * br;
        caviar_study_free(c);
        caviar_study_free(r);
    }
    printf("coarse-to-fine beat random by 2x on %d of 10 seeds\n", wins);
    assert_true(wins >= 6);
}

/* The catalogue of bad settings and the exact message of each. */
static void test_bad_settings(void **state)
{
    (void)state;
    static const struct {
        const char *settings, *msg;
    } bad[] = {
        {"shrink=1", "setting shrink=1 of sampler 'coarse-to-fine': expected a number in (0, 1)"},
        {"shrink=0", "setting shrink=0 of sampler 'coarse-to-fine': expected a number in (0, 1)"},
        {"shrink=-0.5",
         "setting shrink=-0.5 of sampler 'coarse-to-fine': expected a number in (0, 1)"},
        {"shrink=half",
         "setting shrink=half of sampler 'coarse-to-fine': expected a number in (0, 1)"},
        {"k=0", "setting k=0 of sampler 'coarse-to-fine': expected a whole number in "
                "[1, 1000000]"},
        {"k=20", "sampler 'coarse-to-fine': k=20 must be less than trials_per_round=20\nhint: "
                 "the best k trials of a round choose the next round's box"},
        {"trials_per_round=4", "sampler 'coarse-to-fine': k=5 must be less than "
                               "trials_per_round=4\nhint: the best k trials of a round choose "
                               "the next round's box"},
        {"trials_per_round=1", "setting trials_per_round=1 of sampler 'coarse-to-fine': "
                               "expected a whole number in [2, 1000000]"},
        {"rounds=0", "setting rounds=0 of sampler 'coarse-to-fine': expected a whole number in "
                     "[1, 1000000] or 'unlimited'"},
        {"rounds=forever", "setting rounds=forever of sampler 'coarse-to-fine': expected a "
                           "whole number in [1, 1000000] or 'unlimited'"},
        {"shrnk=0.3", "unknown setting 'shrnk' for sampler 'coarse-to-fine'\nhint: did you "
                      "mean 'shrink'?"},
    };
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.sampler = "coarse-to-fine";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        caviar_error err;
        o.sampler_settings = bad[i].settings;
        caviar_study *s = caviar_study_new(&o, &err);
        if (s)
            fail_msg("'%s' was accepted", bad[i].settings);
        assert_int_equal(err.status, CAVIAR_EINVAL);
        assert_string_equal(err.msg, bad[i].msg);
    }
    /* And good ones. */
    const char *good[] = {"rounds=unlimited", "trials_per_round=2,k=1,shrink=0.9,rounds=1",
                          "", "shrink=0.25, k=3"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        caviar_study_free(new_study("coarse-to-fine", good[i], 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zoom_rounds),
        cmocka_unit_test(test_categorical_and_int),
        cmocka_unit_test(test_parallel_boundary),
        cmocka_unit_test(test_unlimited),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_beats_random),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
