/*
 * test_study.c — the ask/tell engine with the in-memory store and the random sampler:
 * define-by-run suggestions, conditional parameters, enqueued trials, reproducibility by trial
 * number, errors for inconsistent definitions, best trial and summary.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "caviar.h"

static caviar_study *new_study(uint64_t seed, caviar_direction dir)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.seed = seed;
    o.direction = dir;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

/* A quadratic in (x, log10 lr) with a conditional branch. */
static double objective(caviar_trial *t)
{
    caviar_error err;
    double x, lr;
    int64_t layers;
    assert_int_equal(caviar_trial_suggest_float(t, "x", -5, 5, CAVIAR_SCALE_LINEAR, 0, &x, &err),
                     CAVIAR_OK);
    assert_int_equal(caviar_trial_suggest_float(t, "lr", 1e-5, 1, CAVIAR_SCALE_LOG, 0, &lr, &err),
                     CAVIAR_OK);
    assert_int_equal(caviar_trial_suggest_int(t, "layers", 1, 3, CAVIAR_SCALE_LINEAR, 1, &layers,
                                              &err), CAVIAR_OK);
    double extra = 0;
    for (int64_t l = 1; l <= layers; l++) {
        char name[32];
        int64_t units;
        snprintf(name, sizeof name, "units_%lld", (long long)l);
        assert_int_equal(caviar_trial_suggest_int(t, name, 8, 512, CAVIAR_SCALE_LOG, 1, &units,
                                                  &err), CAVIAR_OK);
        assert_true(units >= 8 && units <= 512);
        extra += 1e-3 * (double)units;
    }
    assert_true(x >= -5 && x <= 5 && lr >= 1e-5 && lr <= 1);
    return x * x + (log10(lr) + 2) * (log10(lr) + 2) + extra;
}

static void test_ask_tell_best(void **state)
{
    (void)state;
    caviar_study *s = new_study(1, CAVIAR_MINIMIZE);
    caviar_error err;
    double best = INFINITY;
    for (int i = 0; i < 50; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        assert_non_null(t);
        assert_int_equal(caviar_trial_number(t), i);
        double v = objective(t);
        best = v < best ? v : best;
        assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, v, &err), CAVIAR_OK);
    }
    caviar_trial_view view;
    assert_int_equal(caviar_study_best(s, &view, &err), CAVIAR_OK);
    assert_true(view.value == best);
    assert_int_equal(view.state, CAVIAR_TRIAL_COMPLETE);
    caviar_study_summary sum;
    caviar_study_summarize(s, &sum);
    assert_int_equal(sum.n_trials, 50);
    assert_int_equal(sum.n_complete, 50);
    assert_true(sum.best_value == best);
    /* Conditional parameters appear only in the trials that asked for them. */
    size_t with3 = 0;
    for (size_t i = 0; i < 50; i++) {
        assert_int_equal(caviar_study_trial(s, i, &view), CAVIAR_OK);
        int has3 = 0;
        for (size_t p = 0; p < view.n_params; p++)
            has3 |= strcmp(view.param_names[p], "units_3") == 0;
        with3 += has3;
        assert_int_equal(view.n_params >= 4, 1);
    }
    assert_true(with3 > 5 && with3 < 30);
    caviar_study_free(s);
}

/* Trial n gets the same parameters whatever the order of asks (random sampler). */
static void test_reproducible_by_number(void **state)
{
    (void)state;
    caviar_error err;
    caviar_study *a = new_study(7, CAVIAR_MINIMIZE), *b = new_study(7, CAVIAR_MINIMIZE);
    double xa[6], xb[6];
    for (int i = 0; i < 6; i++) {
        caviar_trial *t = caviar_study_ask(a, &err);
        assert_int_equal(caviar_trial_suggest_float(t, "x", 0, 1, CAVIAR_SCALE_LINEAR, 0, &xa[i],
                                                    &err), CAVIAR_OK);
        caviar_study_tell(a, t, CAVIAR_TRIAL_COMPLETE, xa[i], &err);
    }
    /* In b, ask all six first (as six parallel workers would), then suggest in reverse. */
    caviar_trial *ts[6];
    for (int i = 0; i < 6; i++)
        ts[i] = caviar_study_ask(b, &err);
    for (int i = 5; i >= 0; i--) {
        assert_int_equal(caviar_trial_suggest_float(ts[i], "x", 0, 1, CAVIAR_SCALE_LINEAR, 0,
                                                    &xb[i], &err), CAVIAR_OK);
        caviar_study_tell(b, ts[i], CAVIAR_TRIAL_COMPLETE, xb[i], &err);
    }
    for (int i = 0; i < 6; i++)
        assert_true(xa[i] == xb[i]);
    assert_true(xa[0] != xa[1]);
    caviar_study_free(a);
    caviar_study_free(b);
}

static void test_enqueue_first(void **state)
{
    (void)state;
    caviar_error err;
    caviar_study *s = new_study(3, CAVIAR_MINIMIZE);
    caviar_dist lr = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5,
                      .high = 1};
    assert_int_equal(caviar_study_add_param(s, "lr", &lr, &err), CAVIAR_OK);
    const char *names[] = {"lr"};
    double v1 = 0.01, v2 = 0.003;
    assert_int_equal(caviar_study_enqueue(s, names, &v1, 1, &err), CAVIAR_OK);
    assert_int_equal(caviar_study_enqueue(s, names, &v2, 1, &err), CAVIAR_OK);
    double bad = 2.0;
    assert_int_equal(caviar_study_enqueue(s, names, &bad, 1, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "cannot enqueue a trial: 2 is not an admissible value of "
                                 "parameter 'lr' (float in [1e-05, 1] (log))");
    const char *unknown[] = {"momentum"};
    assert_int_equal(caviar_study_enqueue(s, unknown, &v1, 1, &err), CAVIAR_EINVAL);
    double got[3];
    for (int i = 0; i < 3; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        assert_non_null(t);
        assert_int_equal(caviar_trial_suggest(t, "lr", &lr, &got[i], &err), CAVIAR_OK);
        double again;
        assert_int_equal(caviar_trial_suggest(t, "lr", &lr, &again, &err), CAVIAR_OK);
        assert_true(again == got[i]);
        caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, got[i], &err);
    }
    assert_true(got[0] == 0.01 && got[1] == 0.003);
    assert_true(got[2] != 0.01 && got[2] != 0.003);
    caviar_study_free(s);
}

static void test_errors_and_states(void **state)
{
    (void)state;
    caviar_error err;
    caviar_study *s = new_study(3, CAVIAR_MAXIMIZE);
    caviar_trial *t = caviar_study_ask(s, &err);
    double x;
    assert_int_equal(caviar_trial_suggest_float(t, "x", 0, 1, CAVIAR_SCALE_LINEAR, 0, &x, &err),
                     CAVIAR_OK);
    assert_int_equal(caviar_trial_suggest_float(t, "x", 0, 2, CAVIAR_SCALE_LINEAR, 0, &x, &err),
                     CAVIAR_EINVAL);
    assert_string_equal(err.msg, "parameter 'x' was defined as float in [0, 1] and is now asked "
                                 "as float in [0, 2]; one study gives each name one "
                                 "distribution");
    assert_int_equal(caviar_trial_suggest_float(t, "y", 0, 1, CAVIAR_SCALE_LOG, 0, &x, &err),
                     CAVIAR_EINVAL);
    assert_string_equal(err.msg, "parameter 'y': log scale needs low > 0, got 0");
    assert_int_equal(caviar_trial_report(t, 1, 0.5, &err), CAVIAR_OK);
    assert_int_equal(caviar_trial_report(t, 1, 0.6, &err), CAVIAR_EINVAL);
    assert_int_equal(caviar_trial_should_prune(t), 0); /* pruner "none" */
    assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_PRUNED, NAN, &err), CAVIAR_OK);
    caviar_trial_view v;
    assert_int_equal(caviar_study_trial(s, 0, &v), CAVIAR_OK);
    assert_int_equal(v.state, CAVIAR_TRIAL_PRUNED);
    assert_true(v.value == 0.5); /* the last report */
    assert_int_equal(v.n_reports, 1);

    t = caviar_study_ask(s, &err);
    assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, NAN, &err), CAVIAR_OK);
    t = caviar_study_ask(s, &err);
    assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, 3.0, &err), CAVIAR_OK);
    t = caviar_study_ask(s, &err);
    assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, 2.0, &err), CAVIAR_OK);
    caviar_study_summary sum;
    caviar_study_summarize(s, &sum);
    assert_int_equal(sum.n_fail, 1);
    assert_int_equal(sum.n_pruned, 1);
    assert_int_equal(sum.n_complete, 2);
    assert_true(sum.best_value == 3.0); /* maximising */
    assert_int_equal(sum.best_trial, 2);

    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.sampler = "tpee";
    o.sampler_settings = NULL;
    assert_null(caviar_study_new(&o, &err));
    o.sampler = "random";
    o.sampler_settings = "n_startup=3";
    assert_null(caviar_study_new(&o, &err));
    assert_string_equal(err.msg, "unknown setting 'n_startup' for sampler 'random'\nhint: its "
                                 "settings are: (none)");
    o.sampler_settings = NULL;
    o.pruner = "medain";
    assert_null(caviar_study_new(&o, &err));
    caviar_study_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_tell_best),
        cmocka_unit_test(test_reproducible_by_number),
        cmocka_unit_test(test_enqueue_first),
        cmocka_unit_test(test_errors_and_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
