/*
 * test_gradcheck.c — the trainer's backward pass against central finite differences.
 *
 * For every combination of activation (relu, tanh, sigmoid, linear), batch norm (off, on, in
 * training mode), dropout (off, on with a frozen mask), loss (softmax cross-entropy, MSE) and L2
 * (off, on), a small network 5-7-6-K is given a random mini-batch; every parameter's analytic
 * gradient is compared with (J(w + h) - J(w - h)) / 2h, where J is the mean data loss plus
 * (l2 / 2) sum W^2. The network computes in float32, so h trades truncation (O(h^2)) against
 * rounding (O(1e-7 J / h)): h = 1e-2 for the smooth activations, 2e-3 for ReLU, whose kinks
 * leave less room. The bound is |analytic - numeric| <= 2e-4 + 2e-2 |numeric|: a real mistake
 * (a missing factor, a wrong sign, a term left out) is of the order of the gradient itself.
 * With ReLU, a parameter whose +-h moves any unit across its kink is skipped (the quotient then
 * straddles a corner of the loss); when more than a tenth would be skipped, another random
 * batch is drawn.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/nn_impl.h"

#define B 8

static double objective(caviar_nn *nn)
{
    double j = nn_forward_backward(nn, B);
    double sq = 0.0;
    for (size_t l = 0; l < nn->n_layers; l++) {
        const nn_layer *L = &nn->layers[l];
        for (size_t i = 0; i < L->n_out * L->n_in; i++)
            sq += (double)L->w[i] * (double)L->w[i];
    }
    return j + 0.5 * nn->hp.l2 * sq;
}

/* Which ReLU units are active in the batch, as a hash: the loss is smooth between kinks, so a
 * difference quotient is meaningful only when w - h, w and w + h share one pattern. */
static uint64_t relu_pattern(const caviar_nn *nn)
{
    uint64_t hsh = 1469598103934665603ULL;
    for (size_t l = 0; l + 1 < nn->n_layers; l++) {
        const nn_layer *L = &nn->layers[l];
        for (size_t i = 0; i < B * L->n_out; i++)
            hsh = (hsh ^ (uint64_t)(L->act[i] > 0.0f)) * 1099511628211ULL;
    }
    return hsh;
}

/* Returns the number of mismatches, or -1 when too many parameters had to be skipped for the
 * check to mean much (the caller then tries another random batch). */
static int check(caviar_activation act, int bn, double dropout, caviar_task task, double l2,
                 uint64_t seed)
{
    caviar_nn_arch a;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&hp);
    a.n_inputs = 5;
    a.n_hidden = 2;
    a.hidden[0] = 7;
    a.hidden[1] = 6;
    a.task = task;
    a.n_outputs = task == CAVIAR_TASK_CLASSIFICATION ? 4 : 3;
    a.activation = act;
    a.batchnorm = bn;
    hp.dropout = dropout;
    hp.l2 = l2;
    hp.batch_size = B;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, &hp, 42, &err);
    assert_non_null(nn);
    assert_int_equal(nn_ws_reserve(nn, B, &err), CAVIAR_OK);
    util_rng rng;
    util_rng_seed(&rng, seed);
    for (size_t i = 0; i < B * a.n_inputs; i++)
        nn->xb[i] = (float)util_rng_normal(&rng);
    for (size_t r = 0; r < B; r++) {
        nn->yb_label[r] = (int32_t)util_rng_below(&rng, a.n_outputs);
        for (size_t k = 0; k < a.n_outputs; k++)
            nn->yb_target[r * a.n_outputs + k] = (float)util_rng_normal(&rng);
    }
    /* Give batch-norm parameters values away from their initial 1 and 0 so that their
     * gradients are exercised in general position. */
    for (size_t l = 0; l + 1 < nn->n_layers; l++)
        if (nn->layers[l].bn)
            for (size_t j = 0; j < nn->layers[l].n_out; j++) {
                nn->layers[l].gamma[j] = (float)(0.5 + util_rng_uniform(&rng));
                nn->layers[l].beta[j] = (float)(0.3 * util_rng_normal(&rng));
            }

    objective(nn); /* draws the dropout mask */
    nn->freeze_mask = 1;
    objective(nn);
    float *analytic = malloc(nn->n_params * sizeof *analytic);
    assert_non_null(analytic);
    memcpy(analytic, nn->grads, nn->n_params * sizeof *analytic);

    const float h = act == CAVIAR_ACT_RELU ? 2e-3f : 1e-2f;
    const int relu = act == CAVIAR_ACT_RELU;
    uint64_t pattern = relu ? relu_pattern(nn) : 0;
    int n_bad = 0, n_checked = 0, n_skipped = 0;
    double worst = 0.0;
    for (size_t i = 0; i < nn->n_params; i++) {
        float w0 = nn->params[i];
        nn->params[i] = w0 + h;
        double jp = objective(nn);
        uint64_t pp = relu ? relu_pattern(nn) : 0;
        nn->params[i] = w0 - h;
        double jm = objective(nn);
        uint64_t pm = relu ? relu_pattern(nn) : 0;
        nn->params[i] = w0;
        if (pp != pattern || pm != pattern) {
            n_skipped++;
            continue;
        }
        double numeric = (jp - jm) / (2.0 * (double)h);
        double diff = fabs((double)analytic[i] - numeric);
        double bound = 2e-4 + 2e-2 * fabs(numeric);
        if (diff > bound) {
            if (n_bad < 5)
                print_error("  param %zu: analytic %.6g numeric %.6g\n", i, (double)analytic[i],
                            numeric);
            n_bad++;
        }
        if (diff / bound > worst)
            worst = diff / bound;
        n_checked++;
    }
    print_message("%-7s bn=%d dropout=%.1f %s l2=%.2f: %d params checked, %d skipped, %d bad, worst %.2f of the bound\n",
                  caviar_activation_name(act), bn, dropout,
                  task == CAVIAR_TASK_CLASSIFICATION ? "xent" : "mse ", l2, n_checked, n_skipped,
                  n_bad, worst);
    free(analytic);
    caviar_nn_free(nn);
    /* Skips must stay rare, or the check would prove little. */
    return n_skipped * 10 < n_checked ? n_bad : -1;
}

static void test_all_layers(void **state)
{
    (void)state;
    int bad = 0;
    for (int act = CAVIAR_ACT_RELU; act <= CAVIAR_ACT_LINEAR; act++)
        for (int bn = 0; bn <= 1; bn++)
            for (int drop = 0; drop <= 1; drop++)
                for (int task = CAVIAR_TASK_CLASSIFICATION; task <= CAVIAR_TASK_REGRESSION;
                     task++)
                    for (int l2 = 0; l2 <= 1; l2++)
                    {
                        int r = -1;
                        for (uint64_t seed = 1; seed <= 5 && r < 0; seed++)
                            r = check((caviar_activation)act, bn, drop ? 0.3 : 0.0,
                                      (caviar_task)task, l2 ? 0.05 : 0.0, seed);
                        assert_true(r >= 0); /* some batch away from the kinks was found */
                        bad += r;
                    }
    assert_int_equal(bad, 0);
}

/* The fast softmax + cross-entropy against the textbook formulas in double precision,
 * including logits large enough to overflow a naive exp(). */
static void test_softmax_reference(void **state)
{
    (void)state;
    enum { R = 6, K = 5 };
    float z1[R * K], z2[R * K], d1[R * K], d2[R * K];
    int32_t lab[R];
    util_rng rng;
    util_rng_seed(&rng, 3);
    for (int i = 0; i < R * K; i++)
        z1[i] = z2[i] = (float)(10.0 * util_rng_normal(&rng));
    z1[3] = z2[3] = 95.0f; /* exp(95) overflows float */
    for (int r = 0; r < R; r++)
        lab[r] = (int32_t)util_rng_below(&rng, K);
    double l1 = nn_softmax_xent(z1, d1, lab, R, K);
    double l2 = nn_softmax_xent_ref(z2, d2, lab, R, K);
    assert_true(isfinite(l1));
    assert_true(fabs(l1 - l2) <= 1e-5 * (1.0 + fabs(l2)));
    for (int i = 0; i < R * K; i++) {
        assert_true(fabsf(z1[i] - z2[i]) <= 1e-6f);
        assert_true(fabsf(d1[i] - d2[i]) <= 1e-6f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_layers),
        cmocka_unit_test(test_softmax_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
