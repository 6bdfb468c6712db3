/*
 * functions.c — benchmark functions as objectives: cheap, with known minima, and shaped like a
 * training run when asked (reports per "epoch"), so that samplers, pruners, storage and
 * workers can be exercised in seconds.
 *
 *   branin     x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887 at three points
 *   hartmann6  x1..x6 in [0, 1]; minimum -3.32237
 *   quadratic  x1..x5 in [-5, 5] and a learning rate lr in [1e-5, 1] (log scale):
 *              sum x_i^2 + (log10 lr + 3)^2, minimum 0 at x = 0, lr = 1e-3
 *
 * Settings (all optional):
 *   epochs=N    report N intermediate values, the final value plus a gap that shrinks as
 *               1/epoch (a learning curve that converges to the value), checking
 *               should_prune after each (PRUNED when told); default 1
 *   sleep=S     seconds of "training" per epoch (default 0)
 *   fail=P      fraction of trials that fail, from the trial's own number (default 0): a
 *               failing objective is part of what the runner must survive
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "objective.h"

typedef struct fn_settings {
    size_t epochs;
    double sleep, fail;
} fn_settings;

static const char *const fn_keys[] = {"epochs", "sleep", "fail", NULL};

static caviar_status fn_create(util_settings *kv, void **self, caviar_error *err)
{
    fn_settings *s = calloc(1, sizeof *s);
    if (!s)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    s->epochs = 1;
    caviar_status st;
    if ((st = util_settings_size(kv, "epochs", 1, 1000000, &s->epochs, err)) != CAVIAR_OK ||
        (st = util_settings_double(kv, "sleep", 0, 3600, &s->sleep, err)) != CAVIAR_OK ||
        (st = util_settings_double(kv, "fail", 0, 1, &s->fail, err)) != CAVIAR_OK) {
        free(s);
        return st;
    }
    *self = s;
    return CAVIAR_OK;
}

static void fn_destroy(void *self)
{
    free(self);
}

static void nap(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !caviar_stop_requested())
        ;
}

/* Runs the learning curve of a trial whose final value is f. */
static caviar_trial_state curve(caviar_trial *t, const fn_settings *s, double f, double *value,
                                caviar_error *err)
{
    uint64_t n = caviar_trial_number(t);
    /* A fixed fraction of trials fail, chosen by a hash of the trial number. */
    uint64_t h = (n + 1) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31;
    if (s->fail > 0 && (double)(h >> 11) * 0x1.0p-53 < s->fail) {
        util_err(err, CAVIAR_EINVAL, "the objective failed on purpose (fail=%g)", s->fail);
        return CAVIAR_TRIAL_FAIL;
    }
    double gap = 1.0 + fabs(f);
    for (size_t e = 1; e <= s->epochs; e++) {
        nap(s->sleep);
        double v = f + gap * (1.0 / (double)e - 1.0 / (double)s->epochs);
        if (s->epochs > 1) {
            if (caviar_trial_report(t, (int64_t)e, v, err) != CAVIAR_OK)
                return CAVIAR_TRIAL_FAIL;
            if (e < s->epochs && caviar_trial_should_prune(t)) {
                *value = v;
                return CAVIAR_TRIAL_PRUNED;
            }
        }
    }
    *value = f;
    return CAVIAR_TRIAL_COMPLETE;
}

static caviar_trial_state branin(caviar_trial *t, void *self, double *value, caviar_error *err)
{
    double x1, x2;
    if (caviar_trial_suggest_float(t, "x1", -5, 10, CAVIAR_SCALE_LINEAR, 0, &x1, err) ||
        caviar_trial_suggest_float(t, "x2", 0, 15, CAVIAR_SCALE_LINEAR, 0, &x2, err))
        return CAVIAR_TRIAL_FAIL;
    const double pi = 3.14159265358979323846;
    double b = 5.1 / (4 * pi * pi), c = 5 / pi, r = 6, s = 10, tt = 1 / (8 * pi);
    double f = pow(x2 - b * x1 * x1 + c * x1 - r, 2) + s * (1 - tt) * cos(x1) + s;
    return curve(t, self, f, value, err);
}

static caviar_trial_state hartmann6(caviar_trial *t, void *self, double *value, caviar_error *err)
{
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                   {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                   {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                   {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
    static const char *const names[6] = {"x1", "x2", "x3", "x4", "x5", "x6"};
    double x[6];
    for (int i = 0; i < 6; i++)
        if (caviar_trial_suggest_float(t, names[i], 0, 1, CAVIAR_SCALE_LINEAR, 0, &x[i], err))
            return CAVIAR_TRIAL_FAIL;
    double f = 0;
    for (int i = 0; i < 4; i++) {
        double inner = 0;
        for (int j = 0; j < 6; j++)
            inner += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
        f -= alpha[i] * exp(-inner);
    }
    return curve(t, self, f, value, err);
}

static caviar_trial_state quadratic(caviar_trial *t, void *self, double *value,
                                    caviar_error *err)
{
    static const char *const names[5] = {"x1", "x2", "x3", "x4", "x5"};
    double f = 0, x, lr;
    for (int i = 0; i < 5; i++) {
        if (caviar_trial_suggest_float(t, names[i], -5, 5, CAVIAR_SCALE_LINEAR, 0, &x, err))
            return CAVIAR_TRIAL_FAIL;
        f += x * x;
    }
    if (caviar_trial_suggest_float(t, "lr", 1e-5, 1, CAVIAR_SCALE_LOG, 0, &lr, err))
        return CAVIAR_TRIAL_FAIL;
    f += (log10(lr) + 3) * (log10(lr) + 3);
    return curve(t, self, f, value, err);
}

const objective_type objective_branin = {
    "branin", "Branin-Hoo, 2 floats (minimum 0.397887)", fn_keys, CAVIAR_MINIMIZE, 0.397887,
    fn_create, fn_destroy, branin, NULL, NULL};
const objective_type objective_hartmann6 = {
    "hartmann6", "Hartmann 6-D, 6 floats in [0, 1] (minimum -3.32237)", fn_keys,
    CAVIAR_MINIMIZE, -3.32237, fn_create, fn_destroy, hartmann6, NULL, NULL};
const objective_type objective_quadratic = {
    "quadratic", "5 floats and a log-scale learning rate (minimum 0 at lr = 1e-3)", fn_keys,
    CAVIAR_MINIMIZE, 0, fn_create, fn_destroy, quadratic, NULL, NULL};
