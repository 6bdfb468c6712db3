/*
 * test_pbt.c — population-based training.
 *   - explore: without resampling a value moves by exactly x 0.8 or x 1.25 on its own scale
 *     (of v on log and linear scales, of 1 - v on one-minus-log), a categorical to a
 *     neighbouring choice, an int to an integer, and everything stays inside its bounds;
 *     with resample = 0.25 about a quarter of the moves are fresh draws (binomial bound);
 *   - exploit: a real run (spirals, 4 members side by side in SQLite, or in the PostgreSQL
 *     server of $CAVIAR_TEST_PG_URL when run as "test_pbt postgresql"): members in the bottom
 *     quantile copy others, and every copy's checksum is the one its source recorded for that
 *     epoch (the state was copied exactly); the hyperparameters after each explore lie in the
 *     searched space.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "panda/panda_impl.h"

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-12 * fabs(b);
}

static void test_perturb_scales(void **state)
{
    (void)state;
    util_rng rng;
    util_rng_seed(&rng, 1);
    caviar_dist lr = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5,
                      .high = 1};
    caviar_dist beta = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG,
                        .low = 0.5, .high = 0.999};
    caviar_dist drop = {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 0.5};
    caviar_dist units = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 16,
                         .high = 1024, .step = 1};
    static const caviar_value bs[4] = {{CAVIAR_VALUE_NUMBER, 16, NULL},
                                       {CAVIAR_VALUE_NUMBER, 32, NULL},
                                       {CAVIAR_VALUE_NUMBER, 64, NULL},
                                       {CAVIAR_VALUE_NUMBER, 128, NULL}};
    caviar_dist batch = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 4, .choices = bs};
    int up = 0, down = 0;
    for (int i = 0; i < 400; i++) {
        double v = panda_pbt_perturb(&lr, 0.01, 0, &rng);
        assert_true(near(v, 0.0125) || near(v, 0.008));
        up += near(v, 0.0125);
        down += near(v, 0.008);
        v = panda_pbt_perturb(&beta, 0.9, 0, &rng);
        assert_true(near(1 - v, 0.125) || near(1 - v, 0.08));
        v = panda_pbt_perturb(&drop, 0.2, 0, &rng);
        assert_true(near(v, 0.25) || near(v, 0.16));
        v = panda_pbt_perturb(&units, 100, 0, &rng);
        assert_true(v == 80 || v == 125);
        v = panda_pbt_perturb(&batch, 1, 0, &rng);
        assert_true(v == 0 || v == 2);
        /* At the edges: kept inside. */
        assert_true(caviar_dist_contains(&lr, panda_pbt_perturb(&lr, 0.9, 0, &rng)));
        assert_true(caviar_dist_contains(&beta, panda_pbt_perturb(&beta, 0.998, 0, &rng)));
        assert_true(caviar_dist_contains(&units, panda_pbt_perturb(&units, 1000, 0, &rng)));
        v = panda_pbt_perturb(&batch, 3, 0, &rng);
        assert_true(v == 2);
    }
    /* Both directions, about equally often (binomial, 5 sd). */
    assert_true(abs(up - 200) < 5 * 10 && up + down == 400);
    /* Resampling: a quarter of the moves are draws from the distribution. */
    int fresh = 0, n = 4000;
    for (int i = 0; i < n; i++) {
        double v = panda_pbt_perturb(&lr, 0.01, 0.25, &rng);
        assert_true(caviar_dist_contains(&lr, v));
        fresh += !(near(v, 0.0125) || near(v, 0.008));
    }
    double sd = sqrt(n * 0.25 * 0.75);
    if (fabs(fresh - n * 0.25) > 5 * sd)
        fail_msg("%d of %d moves were fresh draws, expected %g +- %g", fresh, n, n * 0.25,
                 5 * sd);
}

static const char *attr(const caviar_trial_view *v, const char *key)
{
    for (size_t i = 0; i < v->n_attrs; i++)
        if (strcmp(v->attrs[i].key, key) == 0)
            return v->attrs[i].value;
    return NULL;
}

static const char *g_pg_url; /* PostgreSQL instead of SQLite */

static void test_exploit_exact(void **state)
{
    (void)state;
    char dir[] = "/tmp/caviar-pbt-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/pbt.db", dir);
    char name[64];
    snprintf(name, sizeof name, "pbt-%ld", (long)getpid()); /* a fresh study on a shared server */
    caviar_error err;
    caviar_data_opts dopts;
    caviar_data_opts_init(&dopts);
    caviar_data *data = caviar_data_load("spirals", &dopts, &err);
    assert_non_null(data);
    panda_pbt_opts o;
    memset(&o, 0, sizeof o);
    o.population = 4;
    o.epochs = 12;
    o.quantile = 0.5;
    o.resample = 0.25;
    o.exploit = 1;
    panda_opts *b = &o.base;
    b->data = data;
    caviar_nn_arch_init(&b->arch);
    caviar_nn_hparams_init(&b->hp);
    b->arch.n_inputs = data->n_features;
    b->arch.n_outputs = data->n_classes;
    b->arch.task = data->task;
    b->arch.n_hidden = 2;
    b->arch.hidden[0] = b->arch.hidden[1] = 256;
    b->day_epochs = 1;
    b->seed = 11;
    b->metric = PANDA_ACCURACY;
    objective_param space[2] = {
        {"lr", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5, .high = 1}},
        {"beta1", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0.5,
                   .high = 0.99}},
    };
    b->bounds = space;
    b->n_bounds = 2;
    caviar_study_opts so;
    caviar_study_opts_init(&so);
    so.name = name;
    so.storage = g_pg_url ? g_pg_url : path;
    so.seed = 11;
    so.direction = CAVIAR_MAXIMIZE;
    so.max_trials = 4;
    caviar_work_opts w;
    caviar_work_opts_init(&w);
    w.jobs = 4;
    w.quiet = 1;
    caviar_work_stats stats;
    if (caviar_run(&so, &w, panda_pbt_member, &o, &stats, &err) != CAVIAR_OK)
        fail_msg("run: %s", err.msg);
    caviar_study *s = caviar_study_new(&so, &err);
    assert_non_null(s);
    assert_int_equal(caviar_study_n_trials(s), 4);
    size_t exploits = 0;
    for (size_t i = 0; i < 4; i++) {
        caviar_trial_view v;
        assert_int_equal(caviar_study_trial(s, i, &v), CAVIAR_OK);
        assert_int_equal(v.state, CAVIAR_TRIAL_COMPLETE);
        assert_int_equal(v.n_reports, 12); /* every member trained 12 epochs */
        for (size_t a = 0; a < v.n_attrs; a++) {
            size_t at;
            unsigned long long src;
            size_t src_epoch;
            unsigned sum;
            if (sscanf(v.attrs[a].key, "pbt.exploit.%zu", &at) == 1) {
                assert_int_equal(sscanf(v.attrs[a].value, "%llu %zu %x", &src, &src_epoch, &sum),
                                 3);
                assert_true(src != v.number && src < 4);
                exploits++;
                /* The source recorded that checksum for that epoch. */
                caviar_trial_view sv;
                char key[64];
                snprintf(key, sizeof key, "pbt.saved.%zu", src_epoch);
                char recorded[32] = "";
                for (size_t j = 0; j < 4; j++) {
                    assert_int_equal(caviar_study_trial(s, j, &sv), CAVIAR_OK);
                    if (sv.number == src && attr(&sv, key))
                        snprintf(recorded, sizeof recorded, "%s", attr(&sv, key));
                }
                assert_true(strtoul(recorded, NULL, 16) == sum);
                assert_int_equal(caviar_study_trial(s, i, &v), CAVIAR_OK);
            }
            if (sscanf(v.attrs[a].key, "pbt.hparams.%zu", &at) == 1) {
                caviar_nn_hparams hp;
                caviar_nn_hparams_init(&hp);
                double lr, beta1;
                const char *t = v.attrs[a].value;
                assert_non_null(strstr(t, "lr="));
                lr = strtod(strstr(t, "lr=") + 3, NULL);
                beta1 = strtod(strstr(t, "beta1=") + 6, NULL);
                assert_true(caviar_dist_contains(&space[0].dist, lr));
                assert_true(caviar_dist_contains(&space[1].dist, beta1));
            }
        }
    }
    print_message("pbt: %zu exploits, every copy checked against its source's checksum\n",
                  exploits);
    assert_true(exploits >= 1);
    caviar_study_free(s);
    caviar_data_free(data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "postgresql") == 0) {
        if (!(g_pg_url = getenv("CAVIAR_TEST_PG_URL"))) {
            fprintf(stderr, "test_pbt: CAVIAR_TEST_PG_URL is not set\n");
            return 77;
        }
        const struct CMUnitTest pg[] = {cmocka_unit_test(test_exploit_exact)};
        return cmocka_run_group_tests(pg, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perturb_scales),
        cmocka_unit_test(test_exploit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
