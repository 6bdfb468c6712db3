/*
 * train.c — forward and backward passes, the optimisers, evaluation and the training loop.
 *
 * One training step on a mini-batch of B rows (shapes in the header of caviar/nn.h):
 *   forward   for each layer: act = activation(bn(inp W^T) or inp W^T + b); out = dropout(act)
 *   loss      softmax + cross-entropy or MSE, giving dz of the output layer
 *   backward  for each layer from the top: dW = dz^T inp (+ l2 W), db = colsum(dz),
 *             d(inp) = dz W, then back through dropout, activation and batch norm to the
 *             previous layer's dz
 *   update    one fused pass of the optimiser over every parameter
 * The three matrix products per layer are BLAS calls; everything else is in kernels.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn_impl.h"

/* The tensor layer l hands to the next one: its dropout output when dropout is on. */
static const float *layer_output(const caviar_nn *nn, const nn_layer *L)
{
    return nn->hp.dropout > 0.0 ? L->out : L->act;
}

double nn_forward_backward(caviar_nn *nn, size_t B)
{
    const caviar_nn_arch *a = &nn->arch;
    const float p = (float)nn->hp.dropout;
    const int bi = (int)B;
    const float *inp = nn->xb;
    double loss = 0.0;
    float *d = nn->dbuf[0], *other = nn->dbuf[1];

    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        int n_in = (int)L->n_in, n_out = (int)L->n_out;
        float *dst = L->bn ? L->z : L->act;
        /* dst (B, n_out) = inp (B, n_in) · W^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, n_out, n_in, 1.0f, inp, n_in,
                    L->w, n_in, 0.0f, dst, n_out);
        if (!L->hidden) {
            nn_bias_act(L->act, L->b, B, L->n_out, CAVIAR_ACT_LINEAR);
            if (a->task == CAVIAR_TASK_CLASSIFICATION)
                loss = nn_softmax_xent(L->act, d, nn->yb_label, B, L->n_out);
            else
                loss = nn_mse(L->act, d, nn->yb_target, B, L->n_out);
            break;
        }
        if (L->bn)
            nn_bn_forward_train(L->z, L->act, B, L->n_out, L->gamma, L->beta, L->mean, L->invstd,
                                L->run_mean, L->run_var, (float)nn->hp.bn_momentum,
                                (float)nn->hp.bn_eps, a->activation);
        else
            nn_bias_act(L->act, L->b, B, L->n_out, a->activation);
        if (p > 0.0f)
            nn_dropout(L->act, L->out, L->keep, B * L->n_out, p, &nn->rng, !nn->freeze_mask);
        inp = layer_output(nn, L);
    }

    const float l2 = (float)nn->hp.l2;
    for (size_t l = nn->n_layers; l-- > 0;) {
        nn_layer *L = &nn->layers[l];
        int n_in = (int)L->n_in, n_out = (int)L->n_out;
        /* d holds dL/dz (B, n_out) of this layer. */
        if (!L->hidden)
            nn_colsum(d, B, L->n_out, L->db);
        const float *lin = l == 0 ? nn->xb : layer_output(nn, &nn->layers[l - 1]);
        /* dW (n_out, n_in) = d^T · inp  (+ l2 W, put in first and accumulated onto) */
        float beta = 0.0f;
        if (l2 > 0.0f) {
            size_t nw = L->n_out * L->n_in;
            for (size_t i = 0; i < nw; i++)
                L->dw[i] = l2 * L->w[i];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, n_in, bi, 1.0f, d, n_out, lin,
                    n_in, beta, L->dw, n_in);
        if (l == 0)
            break;
        /* d(inp) (B, n_in) = d · W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi, n_in, n_out, 1.0f, d, n_out,
                    L->w, n_in, 0.0f, other, n_in);
        nn_layer *P = &nn->layers[l - 1];
        const uint8_t *keep = p > 0.0f ? P->keep : NULL;
        if (P->bn)
            nn_bn_backward(other, P->act, keep, p, P->z, P->gamma, P->invstd, B, P->n_out,
                           a->activation, P->dgamma, P->dbeta, P->sum1, P->sum2);
        else
            nn_act_backward(other, P->act, keep, p, B, P->n_out, a->activation, P->db);
        float *t = d;
        d = other;
        other = t;
    }
    return loss;
}

const float *nn_forward_infer(caviar_nn *nn, const float *x, size_t B)
{
    const caviar_nn_arch *a = &nn->arch;
    const float *inp = x;
    const int bi = (int)B;
    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        int n_in = (int)L->n_in, n_out = (int)L->n_out;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, n_out, n_in, 1.0f, inp, n_in,
                    L->w, n_in, 0.0f, L->act, n_out);
        if (L->bn) {
            /* gamma (z - m) / sqrt(v + eps) + beta = z scale + shift, with the running m, v;
             * sum1/sum2 are free scratch outside a training step. */
            float eps = (float)nn->hp.bn_eps;
            for (size_t j = 0; j < L->n_out; j++) {
                L->sum1[j] = L->gamma[j] / sqrtf(L->run_var[j] + eps);
                L->sum2[j] = L->beta[j] - L->run_mean[j] * L->sum1[j];
            }
            nn_scale_shift_act(L->act, L->sum1, L->sum2, B, L->n_out, a->activation);
        } else {
            nn_bias_act(L->act, L->b, B, L->n_out, L->hidden ? a->activation : CAVIAR_ACT_LINEAR);
        }
        inp = L->act;
    }
    return inp;
}

/* Every parameter is read and written each step whatever the batch size, so at batch 32 this
 * loop is a quarter of a step. The AVX2 clone runs it eight floats wide instead of four, with
 * the same bits (see UTIL_CLONES_AVX2). */
UTIL_CLONES_AVX2
void nn_optimizer_step(caviar_nn *nn, double lr)
{
    const caviar_nn_hparams *hp = &nn->hp;
    float *w = nn->params, *m = nn->m1, *v = nn->m2;
    const float *g = nn->grads;
    const size_t n = nn->n_params;
    const float a = (float)lr;
    nn->step++;
    /* 1 - beta is formed in double: in float, 1 - 0.999f is off by 1e-5 relative, and betas
     * even closer to 1 (on the one-minus-log scale a tuner explores) lose more. */
    switch (nn->arch.optimizer) {
    case CAVIAR_OPT_SGD:
        for (size_t i = 0; i < n; i++)
            w[i] -= a * g[i];
        break;
    case CAVIAR_OPT_MOMENTUM: {
        const float b = (float)hp->momentum, nb = (float)(1.0 - hp->momentum);
        for (size_t i = 0; i < n; i++) {
            m[i] = b * m[i] + nb * g[i];
            w[i] -= a * m[i];
        }
        break;
    }
    case CAVIAR_OPT_RMSPROP: {
        const float b2 = (float)hp->beta2, nb2 = (float)(1.0 - hp->beta2);
        const float eps = (float)hp->eps;
        for (size_t i = 0; i < n; i++) {
            v[i] = b2 * v[i] + nb2 * g[i] * g[i];
            w[i] -= a * g[i] / (sqrtf(v[i]) + eps);
        }
        break;
    }
    case CAVIAR_OPT_ADAM: {
        /* Bias corrections in double: beta^t underflows gracefully and 1 - beta2^t is tiny
         * for small t. */
        double t = (double)nn->step;
        const float c1 = (float)(1.0 / (1.0 - pow(hp->beta1, t)));
        const float c2 = (float)(1.0 / (1.0 - pow(hp->beta2, t)));
        const float b1 = (float)hp->beta1, nb1 = (float)(1.0 - hp->beta1);
        const float b2 = (float)hp->beta2, nb2 = (float)(1.0 - hp->beta2);
        const float eps = (float)hp->eps;
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + nb1 * g[i];
            v[i] = b2 * v[i] + nb2 * g[i] * g[i];
            w[i] -= a * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
        }
        break;
    }
    }
}

/* Checks that a dataset fits the network: widths, and labels in range. */
static caviar_status check_set(const caviar_nn *nn, const caviar_dataset *set, const char *what,
                               caviar_error *err)
{
    const caviar_nn_arch *a = &nn->arch;
    if (set->n == 0)
        return CAVIAR_OK;
    if (set->n_features != a->n_inputs)
        return util_err(err, CAVIAR_EINVAL,
                        "%s set has %zu features but the network takes %zu inputs", what,
                        set->n_features, a->n_inputs);
    if (set->n > UINT32_MAX)
        return util_err(err, CAVIAR_EINVAL, "%s set has %zu samples (at most %u)", what, set->n,
                        UINT32_MAX);
    if (a->task == CAVIAR_TASK_CLASSIFICATION) {
        if (!set->label)
            return util_err(err, CAVIAR_EINVAL, "%s set has no class labels but the network "
                                                "is a classifier", what);
        for (size_t i = 0; i < set->n; i++)
            if (set->label[i] < 0 || (size_t)set->label[i] >= a->n_outputs)
                return util_err(err, CAVIAR_EINVAL,
                                "%s set: label %d of sample %zu is outside [0, %zu)", what,
                                (int)set->label[i], i, a->n_outputs);
    } else if (!set->target) {
        return util_err(err, CAVIAR_EINVAL, "%s set has no regression targets", what);
    }
    return CAVIAR_OK;
}

caviar_status caviar_nn_evaluate(caviar_nn *nn, const caviar_dataset *set, const float *target_std,
                                 caviar_nn_eval *out, caviar_error *err)
{
    out->loss = out->accuracy = out->rmse = NAN;
    if (!set || set->n == 0)
        return CAVIAR_OK;
    caviar_status st = check_set(nn, set, "evaluation", err);
    if (st != CAVIAR_OK || (st = nn_ws_reserve(nn, 0, err)) != CAVIAR_OK)
        return st;
    const size_t k = nn->arch.n_outputs, chunk = nn->ws_rows, nf = set->n_features;
    const int classify = nn->arch.task == CAVIAR_TASK_CLASSIFICATION;
    double loss = 0.0, sq = 0.0;
    size_t correct = 0;
    for (size_t r0 = 0; r0 < set->n; r0 += chunk) {
        size_t B = set->n - r0 < chunk ? set->n - r0 : chunk;
        float *z = (float *)nn_forward_infer(nn, set->x + r0 * nf, B);
        if (classify) {
            const int32_t *lab = set->label + r0;
            loss += nn_softmax_xent(z, nn->dbuf[0], lab, B, k) * (double)B;
            for (size_t r = 0; r < B; r++) {
                size_t best = 0;
                for (size_t j = 1; j < k; j++)
                    if (z[r * k + j] > z[r * k + best])
                        best = j;
                correct += best == (size_t)lab[r];
            }
        } else {
            const float *t = set->target + r0 * k;
            loss += nn_mse(z, nn->dbuf[0], t, B, k) * (double)B;
            for (size_t i = 0; i < B * k; i++) {
                double e = (double)z[i] - (double)t[i];
                double s = target_std ? (double)target_std[i % k] : 1.0;
                sq += e * e * s * s;
            }
        }
    }
    out->loss = loss / (double)set->n;
    if (classify)
        out->accuracy = (double)correct / (double)set->n;
    else
        out->rmse = sqrt(sq / (double)(set->n * k));
    return CAVIAR_OK;
}

caviar_status caviar_nn_predict(caviar_nn *nn, const float *x, size_t n, float *out,
                                caviar_error *err)
{
    caviar_status st = nn_ws_reserve(nn, 0, err);
    if (st != CAVIAR_OK)
        return st;
    const size_t k = nn->arch.n_outputs, chunk = nn->ws_rows, nf = nn->arch.n_inputs;
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t B = n - r0 < chunk ? n - r0 : chunk;
        float *z = (float *)nn_forward_infer(nn, x + r0 * nf, B);
        if (nn->arch.task == CAVIAR_TASK_CLASSIFICATION)
            nn_softmax(z, B, k);
        memcpy(out + r0 * k, z, B * k * sizeof *out);
    }
    return CAVIAR_OK;
}

/* Copies the rows perm[0..B) of set into the mini-batch buffers. */
static void gather(caviar_nn *nn, const caviar_dataset *set, const uint32_t *idx, size_t B)
{
    const size_t nf = set->n_features, k = nn->arch.n_outputs;
    for (size_t r = 0; r < B; r++) {
        memcpy(nn->xb + r * nf, set->x + (size_t)idx[r] * nf, nf * sizeof(float));
        if (set->label)
            nn->yb_label[r] = set->label[idx[r]];
        else
            memcpy(nn->yb_target + r * k, set->target + (size_t)idx[r] * k, k * sizeof(float));
    }
}

static caviar_status diverged(caviar_nn_result *res, size_t epoch, uint64_t step,
                              caviar_error *err)
{
    res->status = CAVIAR_DIVERGED;
    res->diverged_epoch = epoch;
    res->diverged_step = step;
    return util_err(err, CAVIAR_DIVERGED, "diverged at epoch %zu, step %llu", epoch,
                    (unsigned long long)step);
}

caviar_status caviar_nn_train(caviar_nn *nn, const caviar_dataset *train,
                              const caviar_nn_train_opts *opts, caviar_nn_result *result,
                              caviar_error *err)
{
    caviar_nn_train_opts none = {0};
    caviar_nn_result scratch;
    caviar_nn_result *res = result ? result : &scratch;
    if (!opts)
        opts = &none;
    memset(res, 0, sizeof *res);
    res->last.train_loss = NAN;
    res->last.dev.loss = res->last.dev.accuracy = res->last.dev.rmse = NAN;
    res->last.test = res->last.dev;
    double t_start = util_now();

    caviar_status st;
    if (!train || train->n == 0)
        return res->status = util_err(err, CAVIAR_EINVAL, "the training set is empty");
    if ((st = check_set(nn, train, "training", err)) != CAVIAR_OK ||
        (opts->dev && (st = check_set(nn, opts->dev, "dev", err)) != CAVIAR_OK) ||
        (opts->test && (st = check_set(nn, opts->test, "test", err)) != CAVIAR_OK))
        return res->status = st;
    if (nn->perm_len != train->n) {
        uint32_t *perm = realloc(nn->perm, train->n * sizeof *perm);
        if (!perm)
            return res->status = util_err(err, CAVIAR_ENOMEM, "cannot allocate the shuffling "
                                                              "order: out of memory");
        nn->perm = perm;
        nn->perm_len = train->n;
    }

    st = CAVIAR_OK;
    while (nn->epoch < nn->hp.epochs) {
        /* The callback may have changed any hyperparameter; read them afresh every epoch. */
        const size_t B = nn->hp.batch_size, n = train->n;
        if ((st = nn_ws_reserve(nn, B, err)) != CAVIAR_OK)
            break;
        const double lr = nn_lr_at(&nn->hp, nn->epoch);
        for (size_t i = 0; i < n; i++)
            nn->perm[i] = (uint32_t)i;
        util_rng_shuffle(&nn->rng, nn->perm, n);

        const size_t n_steps = (n + B - 1) / B;
        const size_t every = n_steps / 50 > 0 ? n_steps / 50 : 1;
        double t0 = util_now(), loss_sum = 0.0;
        size_t seen = 0;
        for (size_t s = 0; s < n_steps; s++) {
            size_t rows = n - s * B < B ? n - s * B : B;
            /* Batch statistics of a single sample are undefined (zero variance): with batch
             * norm such a trailing batch is left out of this epoch; the shuffle gives its
             * sample a full batch in the others. */
            if (rows == 1 && nn->arch.batchnorm && n > 1)
                continue;
            gather(nn, train, nn->perm + s * B, rows);
            double loss = nn_forward_backward(nn, rows);
            if (!isfinite(loss)) {
                st = diverged(res, nn->epoch + 1, s + 1, err);
                break;
            }
            nn_optimizer_step(nn, lr);
            loss_sum += loss * (double)rows;
            seen += rows;
            if (opts->on_progress && ((s + 1) % every == 0 || s + 1 == n_steps))
                opts->on_progress(s + 1, n_steps, loss_sum / (double)seen, opts->user);
        }
        if (st != CAVIAR_OK)
            break;
        nn->epoch++;

        caviar_nn_epoch_info *info = &res->last;
        info->epoch = nn->epoch;
        info->steps = nn->step;
        info->lr = lr;
        info->seconds = util_now() - t0;
        info->train_loss = loss_sum / (double)seen;
        if ((st = caviar_nn_evaluate(nn, opts->dev, opts->target_std, &info->dev, err)) !=
            CAVIAR_OK)
            break;
        info->test.loss = info->test.accuracy = info->test.rmse = NAN;
        if (opts->eval_test &&
            (st = caviar_nn_evaluate(nn, opts->test, opts->target_std, &info->test, err)) !=
                CAVIAR_OK)
            break;
        res->epochs_done++;
        /* Weights that went infinite in the epoch's last step show only in the dev loss. */
        if (opts->dev && opts->dev->n > 0 && !isfinite(info->dev.loss)) {
            st = diverged(res, nn->epoch, n_steps, err);
            break;
        }
        if (opts->on_epoch && opts->on_epoch(nn, info, opts->user) == CAVIAR_NN_STOP) {
            st = util_err(err, CAVIAR_STOPPED, "stopped by the epoch callback at epoch %zu",
                          nn->epoch);
            break;
        }
    }
    res->status = st;
    res->seconds = util_now() - t_start;
    return st;
}
