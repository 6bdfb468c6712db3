/*
 * test_train.c — whole trainings on the small built-in sets, with their expected outcomes.
 *
 * - linear (y = x + 10), one hidden layer of 16 linear units, Adam lr 0.01, standardised, 100
 *   epochs: the test RMSE, in the original units and on x in [100, 200) outside the training
 *   range, is below 1e-3.
 * - spirals (3 classes): a ReLU network separates them (dev accuracy above 95%), with and without
 *   batch norm and dropout.
 * - every optimiser lowers the training loss; every decay schedule shows in the epoch's lr.
 * - test metrics only when asked; sets that do not fit the network are clear errors.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "caviar/nn.h"

static caviar_data *load(const char *name, double dev_fraction)
{
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.seed = 1;
    o.dev_fraction = dev_fraction;
    caviar_error err;
    caviar_data *d = caviar_data_load(name, &o, &err);
    if (!d)
        fail_msg("cannot load %s: %s", name, err.msg);
    return d;
}

static caviar_nn *model_for(const caviar_data *d, const size_t *hidden, size_t n_hidden,
                            caviar_activation act, caviar_optimizer opt, caviar_nn_hparams *hp)
{
    caviar_nn_arch a;
    caviar_nn_arch_init(&a);
    a.n_inputs = d->n_features;
    a.task = d->task;
    a.n_outputs = d->task == CAVIAR_TASK_CLASSIFICATION ? d->n_classes : d->n_targets;
    a.n_hidden = n_hidden;
    for (size_t l = 0; l < n_hidden; l++)
        a.hidden[l] = hidden[l];
    a.activation = act;
    a.optimizer = opt;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, hp, 7, &err);
    if (!nn)
        fail_msg("cannot build network: %s", err.msg);
    return nn;
}

static void test_linear_example(void **state)
{
    (void)state;
    caviar_data *d = load("linear", 0.0);
    assert_int_equal(d->train.n, 100);
    assert_int_equal(d->test.n, 20);
    caviar_nn_hparams hp;
    caviar_nn_hparams_init(&hp);
    hp.lr = 0.01;
    hp.epochs = 100;
    hp.batch_size = 10;
    const size_t hidden[] = {16};
    caviar_nn *nn = model_for(d, hidden, 1, CAVIAR_ACT_LINEAR, CAVIAR_OPT_ADAM, &hp);
    caviar_nn_train_opts opts = {.target_std = d->target_std};
    caviar_error err;
    assert_int_equal(caviar_nn_train(nn, &d->train, &opts, NULL, &err), CAVIAR_OK);
    caviar_nn_eval test;
    assert_int_equal(caviar_nn_evaluate(nn, &d->test, d->target_std, &test, &err), CAVIAR_OK);
    print_message("linear: test RMSE %.3g (original units)\n", test.rmse);
    assert_true(test.rmse < 1e-3);
    caviar_nn_free(nn);
    caviar_data_free(d);
}

typedef struct trace {
    double first_loss, last_loss, lr[64];
} trace;

static int record(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    (void)nn;
    trace *t = user;
    if (info->epoch == 1)
        t->first_loss = info->train_loss;
    t->last_loss = info->train_loss;
    if (info->epoch <= 64)
        t->lr[info->epoch - 1] = info->lr;
    return CAVIAR_NN_CONTINUE;
}

static double spirals_accuracy(int batchnorm, double dropout)
{
    caviar_data *d = load("spirals", 0.2);
    caviar_nn_hparams hp;
    caviar_nn_hparams_init(&hp);
    hp.lr = 0.01;
    hp.epochs = 150;
    hp.batch_size = 32;
    hp.dropout = dropout;
    caviar_nn_arch a;
    caviar_nn_arch_init(&a);
    a.n_inputs = 2;
    a.n_outputs = 3;
    a.n_hidden = 2;
    a.hidden[0] = a.hidden[1] = 64;
    a.batchnorm = batchnorm;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, &hp, 3, &err);
    assert_non_null(nn);
    caviar_nn_train_opts opts = {.dev = &d->dev};
    caviar_nn_result res;
    assert_int_equal(caviar_nn_train(nn, &d->train, &opts, &res, &err), CAVIAR_OK);
    double acc = res.last.dev.accuracy;
    print_message("spirals bn=%d dropout=%.1f: dev accuracy %.3f\n", batchnorm, dropout, acc);
    caviar_nn_free(nn);
    caviar_data_free(d);
    return acc;
}

static void test_spirals(void **state)
{
    (void)state;
    assert_true(spirals_accuracy(0, 0.0) > 0.95);
    assert_true(spirals_accuracy(1, 0.0) > 0.95);
    assert_true(spirals_accuracy(1, 0.1) > 0.90);
}

static void test_every_optimizer_learns(void **state)
{
    (void)state;
    caviar_data *d = load("spirals", 0.0);
    static const double lrs[] = {0.1, 0.1, 0.003, 0.003};
    for (int o = CAVIAR_OPT_SGD; o <= CAVIAR_OPT_ADAM; o++) {
        caviar_nn_hparams hp;
        caviar_nn_hparams_init(&hp);
        hp.lr = lrs[o];
        hp.epochs = 20;
        hp.batch_size = 16;
        const size_t hidden[] = {32};
        caviar_nn *nn = model_for(d, hidden, 1, CAVIAR_ACT_TANH, (caviar_optimizer)o, &hp);
        trace t = {0};
        caviar_nn_train_opts opts = {.on_epoch = record, .user = &t};
        caviar_error err;
        assert_int_equal(caviar_nn_train(nn, &d->train, &opts, NULL, &err), CAVIAR_OK);
        print_message("%-8s loss %.4f -> %.6f\n", caviar_optimizer_name((caviar_optimizer)o),
                      t.first_loss, t.last_loss);
        assert_true(t.last_loss < 0.8 * t.first_loss);
        caviar_nn_free(nn);
    }
    caviar_data_free(d);
}

static void test_decay_schedules_apply(void **state)
{
    (void)state;
    caviar_data *d = load("spirals", 0.0);
    const size_t hidden[] = {8};
    for (int k = CAVIAR_DECAY_NONE; k <= CAVIAR_DECAY_COSINE; k++) {
        caviar_nn_hparams hp;
        caviar_nn_hparams_init(&hp);
        hp.lr = 0.01;
        hp.epochs = 4;
        hp.decay = (caviar_decay)k;
        hp.decay_rate = k == CAVIAR_DECAY_INVERSE ? 1.0 : 0.5;
        hp.decay_step = 2;
        caviar_nn *nn = model_for(d, hidden, 1, CAVIAR_ACT_RELU, CAVIAR_OPT_ADAM, &hp);
        trace t = {0};
        caviar_nn_train_opts opts = {.on_epoch = record, .user = &t};
        caviar_error err;
        assert_int_equal(caviar_nn_train(nn, &d->train, &opts, NULL, &err), CAVIAR_OK);
        static const double want[5][4] = {
            {0.01, 0.01, 0.01, 0.01},                   /* none */
            {0.01, 0.005, 0.01 / 3, 0.0025},            /* inverse, rate 1 */
            {0.01, 0.005, 0.0025, 0.00125},             /* exponential, 0.5 */
            {0.01, 0.01, 0.005, 0.005},                 /* step 2 epochs, 0.5 */
            {0.01, 0.01 * (1 + 0.70710678118654752) / 2, 0.005,
             0.01 * (1 - 0.70710678118654752) / 2},     /* cosine over 4 epochs */
        };
        for (int e = 0; e < 4; e++)
            if (fabs(t.lr[e] - want[k][e]) > 1e-12)
                fail_msg("%s epoch %d: lr %g, want %g", caviar_decay_name((caviar_decay)k),
                         e + 1, t.lr[e], want[k][e]);
        caviar_nn_free(nn);
    }
    caviar_data_free(d);
}

static int check_test_metrics(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    (void)nn;
    int *asked = user;
    if (*asked ? !isfinite(info->test.accuracy) : !isnan(info->test.accuracy))
        fail_msg("test accuracy %g with eval_test=%d", info->test.accuracy, *asked);
    return CAVIAR_NN_CONTINUE;
}

static void test_test_metrics_only_when_asked(void **state)
{
    (void)state;
    caviar_data *d = load("spirals", 0.1);
    const size_t hidden[] = {8};
    for (int asked = 0; asked <= 1; asked++) {
        caviar_nn_hparams hp;
        caviar_nn_hparams_init(&hp);
        hp.epochs = 2;
        caviar_nn *nn = model_for(d, hidden, 1, CAVIAR_ACT_RELU, CAVIAR_OPT_ADAM, &hp);
        caviar_nn_train_opts opts = {.dev = &d->dev, .test = &d->test, .eval_test = asked,
                                     .on_epoch = check_test_metrics, .user = &asked};
        caviar_error err;
        assert_int_equal(caviar_nn_train(nn, &d->train, &opts, NULL, &err), CAVIAR_OK);
        caviar_nn_free(nn);
    }
    caviar_data_free(d);
}

static void test_mismatched_sets(void **state)
{
    (void)state;
    caviar_data *d = load("spirals", 0.0);
    caviar_nn_hparams hp;
    caviar_nn_hparams_init(&hp);
    caviar_nn_arch a;
    caviar_nn_arch_init(&a);
    a.n_inputs = 3; /* spirals have 2 features */
    a.n_outputs = 3;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, &hp, 1, &err);
    assert_non_null(nn);
    assert_int_equal(caviar_nn_train(nn, &d->train, NULL, NULL, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "training set has 2 features but the network takes 3 inputs");
    caviar_nn_free(nn);

    a.n_inputs = 2;
    a.n_outputs = 2; /* but labels go up to 2 */
    nn = caviar_nn_new(&a, &hp, 1, &err);
    assert_non_null(nn);
    assert_int_equal(caviar_nn_train(nn, &d->train, NULL, NULL, &err), CAVIAR_EINVAL);
    assert_non_null(strstr(err.msg, "is outside [0, 2)"));
    caviar_nn_free(nn);

    a.n_outputs = 1;
    assert_null(caviar_nn_new(&a, &hp, 1, &err));
    assert_string_equal(err.msg, "invalid network: classification needs at least 2 classes, "
                                 "got 1");
    caviar_data_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_example),
        cmocka_unit_test(test_spirals),
        cmocka_unit_test(test_every_optimizer_learns),
        cmocka_unit_test(test_decay_schedules_apply),
        cmocka_unit_test(test_test_metrics_only_when_asked),
        cmocka_unit_test(test_mismatched_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
