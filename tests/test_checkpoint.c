/*
 * test_checkpoint.c — reproducibility and checkpoints.
 *
 * - The same seed gives bit-identical training state twice; another seed does not.
 * - Saving after epoch 2 and loading into a new process-like fresh model, then training to
 *   epoch 4, gives exactly the state of training 4 epochs without stopping (weights, moments,
 *   batch-norm averages, random state), with batch norm, dropout and Adam all in play.
 * - The epoch callback can change hyperparameters in place and stop training.
 * - A catalogue of damaged checkpoints, each with the message it must produce.
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

#include "nn/nn_impl.h"

enum { N = 300, F = 6, K = 3 };
static float xs[N * F];
static int32_t labels[N];
static float targets[N];
static caviar_dataset train_set = {N, F, xs, labels, NULL};
static caviar_dataset regression_set = {N, F, xs, NULL, targets};

static void make_data(void)
{
    util_rng rng;
    util_rng_seed(&rng, 11);
    for (int i = 0; i < N; i++) {
        labels[i] = (int32_t)(i % K);
        for (int j = 0; j < F; j++)
            xs[i * F + j] = (float)(util_rng_normal(&rng) + (j % K == labels[i] ? 1.5 : 0.0));
        targets[i] = xs[i * F] - 2 * xs[i * F + 1];
    }
}

static caviar_nn *make_model(uint64_t seed, size_t epochs)
{
    caviar_nn_arch a;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&hp);
    a.n_inputs = F;
    a.n_outputs = K;
    a.n_hidden = 2;
    a.hidden[0] = 16;
    a.hidden[1] = 8;
    a.batchnorm = 1;
    hp.dropout = 0.2;
    hp.batch_size = 32; /* 300 = 9 × 32 + 12: the last batch is partial */
    hp.epochs = epochs;
    hp.lr = 0.01;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, &hp, seed, &err);
    assert_non_null(nn);
    return nn;
}

static void train(caviar_nn *nn)
{
    caviar_error err;
    caviar_nn_result res;
    assert_int_equal(caviar_nn_train(nn, &train_set, NULL, &res, &err), CAVIAR_OK);
}

static void test_same_seed_same_bits(void **state)
{
    (void)state;
    caviar_nn *a = make_model(5, 3), *b = make_model(5, 3), *c = make_model(6, 3);
    train(a);
    train(b);
    train(c);
    assert_int_equal(caviar_nn_checksum(a), caviar_nn_checksum(b));
    assert_memory_equal(a->params, b->params, a->n_params * sizeof(float));
    assert_int_not_equal(caviar_nn_checksum(a), caviar_nn_checksum(c));
    caviar_nn_free(a);
    caviar_nn_free(b);
    caviar_nn_free(c);
}

static void test_resume_is_bit_identical(void **state)
{
    (void)state;
    caviar_error err;
    caviar_nn *straight = make_model(9, 4);
    train(straight);

    caviar_nn *first = make_model(9, 2);
    train(first);
    char path[] = "/tmp/caviar-ckpt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(caviar_nn_save(first, path, &err), CAVIAR_OK);
    uint32_t saved = caviar_nn_checksum(first);
    caviar_nn_free(first);

    caviar_nn *resumed = caviar_nn_load(path, &err);
    assert_non_null(resumed);
    assert_int_equal(caviar_nn_checksum(resumed), saved);
    assert_int_equal(caviar_nn_epoch(resumed), 2);
    caviar_nn_hparams hp = *caviar_nn_get_hparams(resumed);
    hp.epochs = 4;
    assert_int_equal(caviar_nn_set_hparams(resumed, &hp, &err), CAVIAR_OK);
    train(resumed);
    assert_int_equal(caviar_nn_epoch(resumed), 4);
    assert_int_equal(caviar_nn_checksum(resumed), caviar_nn_checksum(straight));
    assert_memory_equal(resumed->params, straight->params, straight->n_params * sizeof(float));
    assert_memory_equal(resumed->state, straight->state, straight->n_state * sizeof(float));
    unlink(path);
    caviar_nn_free(resumed);
    caviar_nn_free(straight);
}

/* The callback halves the learning rate after epoch 1 and stops after epoch 3. */
static int halve_then_stop(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    double *lrs = user;
    lrs[info->epoch - 1] = info->lr;
    if (info->epoch == 1) {
        caviar_nn_hparams hp = *caviar_nn_get_hparams(nn);
        hp.lr /= 2;
        hp.batch_size = 64;
        caviar_error err;
        if (caviar_nn_set_hparams(nn, &hp, &err) != CAVIAR_OK)
            return CAVIAR_NN_STOP;
    }
    return info->epoch == 3 ? CAVIAR_NN_STOP : CAVIAR_NN_CONTINUE;
}

static void test_callback_changes_and_stops(void **state)
{
    (void)state;
    caviar_nn *nn = make_model(3, 10);
    double lrs[10] = {0};
    caviar_nn_train_opts opts = {.on_epoch = halve_then_stop, .user = lrs};
    caviar_nn_result res;
    caviar_error err;
    assert_int_equal(caviar_nn_train(nn, &train_set, &opts, &res, &err), CAVIAR_STOPPED);
    assert_int_equal(res.epochs_done, 3);
    assert_true(lrs[0] == 0.01 && lrs[1] == 0.005 && lrs[2] == 0.005);
    /* 300 samples: epoch 1 has 10 steps of 32, epochs 2-3 have 5 steps of 64 each. */
    assert_int_equal(caviar_nn_steps(nn), 20);
    caviar_nn_free(nn);
}

static void test_divergence_is_reported(void **state)
{
    (void)state;
    caviar_nn_arch a;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&hp);
    /* Gradient descent on a squared error with a rate far above 2 / curvature grows the
     * weights geometrically until the loss overflows. */
    a.n_inputs = F;
    a.n_outputs = 1;
    a.task = CAVIAR_TASK_REGRESSION;
    a.n_hidden = 1;
    a.hidden[0] = 32;
    a.activation = CAVIAR_ACT_LINEAR;
    a.optimizer = CAVIAR_OPT_SGD;
    hp.lr = 100;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, &hp, 1, &err);
    assert_non_null(nn);
    caviar_nn_result res;
    assert_int_equal(caviar_nn_train(nn, &regression_set, NULL, &res, &err), CAVIAR_DIVERGED);
    char want[64];
    snprintf(want, sizeof want, "diverged at epoch %zu, step %llu", res.diverged_epoch,
             (unsigned long long)res.diverged_step);
    assert_string_equal(err.msg, want);
    assert_true(res.diverged_epoch >= 1 && res.diverged_step >= 1);
    assert_int_equal(res.epochs_done, res.diverged_epoch - 1);
    assert_int_equal(caviar_nn_epoch(nn), res.epochs_done);
    caviar_nn_free(nn);
}

/* ---- damaged checkpoints ---- */

static void expect_load_error(const void *bytes, size_t len, const char *want)
{
    caviar_error err;
    caviar_nn *nn = caviar_nn_deserialize(bytes, len, "m.ckpt", &err);
    assert_null(nn);
    assert_int_equal(err.status, CAVIAR_EFORMAT);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_damaged_catalogue(void **state)
{
    (void)state;
    caviar_error err;
    caviar_nn *nn = make_model(2, 1);
    void *bytes;
    size_t len;
    assert_int_equal(caviar_nn_serialize(nn, &bytes, &len, &err), CAVIAR_OK);
    unsigned char *b = bytes, *copy = malloc(len);
    assert_non_null(copy);

    expect_load_error(b, 0, "'m.ckpt' is not a caviar checkpoint: bad magic at offset 0 "
                            "(expected \"CAVIARNN\")");
    memcpy(copy, b, len);
    copy[0] = 'X';
    expect_load_error(copy, len, "is not a caviar checkpoint: bad magic at offset 0");
    memcpy(copy, b, len);
    put32(copy + 8, 7);
    expect_load_error(copy, len, "checkpoint 'm.ckpt' has format version 7; this build reads "
                                 "version 1");
    expect_load_error(b, 10, "checkpoint 'm.ckpt' is truncated: version at offset 8 needs 4 "
                             "bytes, 2 remain");
    expect_load_error(b, len - 1, "checkpoint 'm.ckpt' is corrupt or truncated: checksum");
    expect_load_error(b, len / 2, "checkpoint 'm.ckpt' is corrupt or truncated: checksum");
    memcpy(copy, b, len);
    copy[len / 2] ^= 0x10; /* one flipped bit in the weights */
    expect_load_error(copy, len, "checkpoint 'm.ckpt' is corrupt or truncated: checksum");

    free(copy);
    free(bytes);
    caviar_nn_free(nn);

    /* A missing file is a clear I/O error naming the file. */
    assert_null(caviar_nn_load("/nonexistent/m.ckpt", &err));
    assert_int_equal(err.status, CAVIAR_EMISSING);
    assert_string_equal(err.msg,
                        "cannot open checkpoint '/nonexistent/m.ckpt': No such file or directory");
}

int main(void)
{
    make_data();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bits),
        cmocka_unit_test(test_resume_is_bit_identical),
        cmocka_unit_test(test_callback_changes_and_stops),
        cmocka_unit_test(test_divergence_is_reported),
        cmocka_unit_test(test_damaged_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
