/*
 * test_fashion.c (long) — the reference training on Fashion-MNIST: 784-256-128-10 ReLU, Adam
 * 1e-3, batch 128, 10 epochs, inputs standardised with training statistics. The test accuracy
 * must reach 88%. Skipped when Debian's dataset-fashion-mnist is not installed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "caviar/nn.h"

static int on_epoch(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    (void)nn, (void)user;
    print_message("epoch %2zu  train loss %.4f  dev loss %.4f  dev acc %.4f  %.1fs\n",
                  info->epoch, info->train_loss, info->dev.loss, info->dev.accuracy,
                  info->seconds);
    return CAVIAR_NN_CONTINUE;
}

static void test_reference_mlp(void **state)
{
    (void)state;
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    caviar_error err;
    caviar_data *d = caviar_data_load("fashion-mnist", &o, &err);
    if (!d)
        fail_msg("%s", err.msg);
    caviar_nn_arch a;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&hp);
    a.n_inputs = 784;
    a.n_outputs = 10;
    a.n_hidden = 2;
    a.hidden[0] = 256;
    a.hidden[1] = 128;
    hp.lr = 1e-3;
    hp.batch_size = 128;
    hp.epochs = 10;
    caviar_nn *nn = caviar_nn_new(&a, &hp, 0, &err);
    assert_non_null(nn);
    caviar_nn_train_opts opts = {.dev = &d->dev, .on_epoch = on_epoch};
    assert_int_equal(caviar_nn_train(nn, &d->train, &opts, NULL, &err), CAVIAR_OK);
    caviar_nn_eval test;
    assert_int_equal(caviar_nn_evaluate(nn, &d->test, NULL, &test, &err), CAVIAR_OK);
    print_message("test accuracy %.4f (loss %.4f)\n", test.accuracy, test.loss);
    assert_true(test.accuracy >= 0.88);
    caviar_nn_free(nn);
    caviar_data_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reference_mlp)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
