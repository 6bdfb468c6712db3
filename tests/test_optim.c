/*
 * test_optim.c — optimiser updates and learning-rate schedules against values worked out by hand.
 *
 * A network with one input, no hidden layer and one regression output has exactly two
 * parameters (w, b). They start at (0.5, -0.2); three steps with lr 0.1 use the gradients
 * (0.3, -0.1), (-0.2, 0.05), (0.1, 0.4), and after each step the parameters must equal the
 * values the formulas of caviar/nn.h give, worked through in double precision (shown for the
 * first step of each optimiser):
 *   sgd       w = 0.5 - 0.1 * 0.3 = 0.47
 *   momentum  v = 0.1 * 0.3 = 0.03;  w = 0.5 - 0.1 * 0.03 = 0.497
 *   rmsprop   s = 0.001 * 0.09 = 9e-5;  w = 0.5 - 0.1 * 0.3 / sqrt(9e-5) = -2.66227
 *   adam      m^ = g, s^ = g^2 after bias correction, so w = 0.5 - 0.1 * sign(g) = 0.4
 * Float32 arithmetic allows a relative error of 1e-6.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "nn/nn_impl.h"

static const double grads[3][2] = {{0.3, -0.1}, {-0.2, 0.05}, {0.1, 0.4}};

static void run(caviar_optimizer opt, const double expect[3][2])
{
    caviar_nn_arch a;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&hp);
    a.n_inputs = 1;
    a.n_outputs = 1;
    a.task = CAVIAR_TASK_REGRESSION;
    a.optimizer = opt;
    hp.lr = 0.1;
    caviar_error err;
    caviar_nn *nn = caviar_nn_new(&a, &hp, 1, &err);
    assert_non_null(nn);
    assert_int_equal(caviar_nn_n_params(nn), 2);
    nn->params[0] = 0.5f;
    nn->params[1] = -0.2f;
    for (int t = 0; t < 3; t++) {
        nn->grads[0] = (float)grads[t][0];
        nn->grads[1] = (float)grads[t][1];
        nn_optimizer_step(nn, 0.1);
        for (int i = 0; i < 2; i++) {
            double got = nn->params[i], want = expect[t][i];
            if (fabs(got - want) > 1e-6 * fabs(want) + 1e-7)
                fail_msg("%s step %d param %d: got %.9g, want %.9g",
                         caviar_optimizer_name(opt), t + 1, i, got, want);
        }
    }
    assert_int_equal(caviar_nn_steps(nn), 3);
    caviar_nn_free(nn);
}

static void test_sgd(void **state)
{
    (void)state;
    static const double e[3][2] = {{0.47, -0.19}, {0.49, -0.195}, {0.48, -0.235}};
    run(CAVIAR_OPT_SGD, e);
}

static void test_momentum(void **state)
{
    (void)state;
    static const double e[3][2] = {{0.497, -0.199}, {0.4963, -0.1986}, {0.49467, -0.20224}};
    run(CAVIAR_OPT_MOMENTUM, e);
}

static void test_rmsprop(void **state)
{
    (void)state;
    static const double e[3][2] = {{-2.66227433, 2.96226766},
                                   {-0.907552318, 1.54749208},
                                   {-1.75337042, -1.49825211}};
    run(CAVIAR_OPT_RMSPROP, e);
}

static void test_adam(void **state)
{
    (void)state;
    static const double e[3][2] = {{0.400000003, -0.10000001},
                                   {0.385547951, -0.0733663094},
                                   {0.357697061, -0.129356157}};
    run(CAVIAR_OPT_ADAM, e);
}

static void test_decay(void **state)
{
    (void)state;
    caviar_nn_hparams hp;
    caviar_nn_hparams_init(&hp);
    hp.lr = 0.1;
    hp.epochs = 10;
    assert_true(nn_lr_at(&hp, 7) == 0.1);
    hp.decay = CAVIAR_DECAY_INVERSE;
    hp.decay_rate = 1.0;
    assert_true(fabs(nn_lr_at(&hp, 0) - 0.1) < 1e-15);
    assert_true(fabs(nn_lr_at(&hp, 3) - 0.025) < 1e-15); /* 0.1 / (1 + 3) */
    hp.decay = CAVIAR_DECAY_EXPONENTIAL;
    hp.decay_rate = 0.5;
    assert_true(fabs(nn_lr_at(&hp, 3) - 0.0125) < 1e-15); /* 0.1 * 0.5^3 */
    hp.decay = CAVIAR_DECAY_STEP;
    hp.decay_step = 4;
    assert_true(fabs(nn_lr_at(&hp, 3) - 0.1) < 1e-15);   /* floor(3 / 4) = 0 */
    assert_true(fabs(nn_lr_at(&hp, 4) - 0.05) < 1e-15);  /* floor(4 / 4) = 1 */
    assert_true(fabs(nn_lr_at(&hp, 9) - 0.025) < 1e-15); /* floor(9 / 4) = 2 */
    hp.decay = CAVIAR_DECAY_COSINE;
    assert_true(fabs(nn_lr_at(&hp, 0) - 0.1) < 1e-15);
    assert_true(fabs(nn_lr_at(&hp, 5) - 0.05) < 1e-15); /* cos(pi / 2) = 0 */
    assert_true(fabs(nn_lr_at(&hp, 10)) < 1e-15);
}

static void test_hparams_check(void **state)
{
    (void)state;
    caviar_nn_hparams hp;
    caviar_error err;
    caviar_nn_hparams_init(&hp);
    assert_int_equal(caviar_nn_hparams_check(&hp, &err), CAVIAR_OK);
    hp.lr = -1;
    assert_int_equal(caviar_nn_hparams_check(&hp, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "invalid lr -1: must be in (0, inf)");
    caviar_nn_hparams_init(&hp);
    hp.momentum = 1.0;
    assert_int_equal(caviar_nn_hparams_check(&hp, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "invalid momentum 1: must be in [0, 1)");
    caviar_nn_hparams_init(&hp);
    hp.dropout = NAN;
    assert_int_equal(caviar_nn_hparams_check(&hp, &err), CAVIAR_EINVAL);
    caviar_nn_hparams_init(&hp);
    hp.batch_size = 0;
    assert_int_equal(caviar_nn_hparams_check(&hp, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "invalid batch size 0: must be in [1, 1048576]");
    caviar_nn_hparams_init(&hp);
    hp.decay = CAVIAR_DECAY_EXPONENTIAL;
    hp.decay_rate = 1.5;
    assert_int_equal(caviar_nn_hparams_check(&hp, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "invalid decay rate 1.5 for exponential decay: must be in "
                                 "(0, 1] (the factor per epoch)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),     cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_rmsprop), cmocka_unit_test(test_adam),
        cmocka_unit_test(test_decay),   cmocka_unit_test(test_hparams_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
