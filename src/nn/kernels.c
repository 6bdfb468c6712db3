/*
 * kernels.c — the trainer's element-wise work, fused so that each layer costs one or two passes
 * over its activations besides the matrix products (which go to BLAS).
 *
 * Every kernel works on row-major (B, n) blocks: B rows (samples) of n units. Loops run over
 * units innermost, with the activation chosen outside the loops, so that the compiler vectorises
 * them. Per-unit reductions over the batch (bias gradients, batch-norm statistics) accumulate
 * whole rows into an n-vector rather than striding down columns.
 */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

void nn_bias_act(float *y, const float *b, size_t B, size_t n, caviar_activation act)
{
    for (size_t r = 0; r < B; r++) {
        float *row = y + r * n;
        if (b)
            for (size_t j = 0; j < n; j++)
                row[j] += b[j];
        switch (act) {
        case CAVIAR_ACT_RELU:
            for (size_t j = 0; j < n; j++)
                row[j] = row[j] > 0.0f ? row[j] : 0.0f;
            break;
        case CAVIAR_ACT_TANH:
            for (size_t j = 0; j < n; j++)
                row[j] = tanhf(row[j]);
            break;
        case CAVIAR_ACT_SIGMOID:
            for (size_t j = 0; j < n; j++)
                row[j] = 1.0f / (1.0f + expf(-row[j]));
            break;
        case CAVIAR_ACT_LINEAR:
            break;
        }
    }
}

void nn_scale_shift_act(float *y, const float *scale, const float *shift, size_t B, size_t n,
                        caviar_activation act)
{
    for (size_t r = 0; r < B; r++) {
        float *row = y + r * n;
        for (size_t j = 0; j < n; j++)
            row[j] = row[j] * scale[j] + shift[j];
    }
    nn_bias_act(y, NULL, B, n, act);
}

void nn_softmax(float *z, size_t B, size_t n)
{
    for (size_t r = 0; r < B; r++) {
        float *zr = z + r * n;
        float mx = zr[0], sum = 0.0f;
        for (size_t j = 1; j < n; j++)
            mx = zr[j] > mx ? zr[j] : mx;
        for (size_t j = 0; j < n; j++) {
            zr[j] = expf(zr[j] - mx);
            sum += zr[j];
        }
        for (size_t j = 0; j < n; j++)
            zr[j] /= sum;
    }
}

void nn_colsum(const float *d, size_t B, size_t n, float *s)
{
    memset(s, 0, n * sizeof *s);
    for (size_t r = 0; r < B; r++) {
        const float *row = d + r * n;
        for (size_t j = 0; j < n; j++)
            s[j] += row[j];
    }
}

void nn_bn_forward_train(float *z, float *act, size_t B, size_t n, const float *gamma,
                         const float *beta, float *mean, float *invstd, float *run_mean,
                         float *run_var, float momentum, float eps, caviar_activation a)
{
    /* Two passes for the statistics (mean, then the mean squared deviation) rather than
     * E[z^2] - E[z]^2, which cancels catastrophically in float when |mean| >> std. */
    float inv_b = 1.0f / (float)B;
    nn_colsum(z, B, n, mean);
    for (size_t j = 0; j < n; j++)
        mean[j] *= inv_b;
    float *var = invstd;
    memset(var, 0, n * sizeof *var);
    for (size_t r = 0; r < B; r++) {
        const float *row = z + r * n;
        for (size_t j = 0; j < n; j++) {
            float c = row[j] - mean[j];
            var[j] += c * c;
        }
    }
    /* The running variance uses the unbiased estimate (the batch is a sample of the data);
     * normalisation uses the batch's own (biased) variance, as the backward pass assumes. */
    float unbias = B > 1 ? (float)B / (float)(B - 1) : 1.0f;
    for (size_t j = 0; j < n; j++) {
        float v = var[j] * inv_b;
        run_mean[j] = momentum * run_mean[j] + (1.0f - momentum) * mean[j];
        run_var[j] = momentum * run_var[j] + (1.0f - momentum) * v * unbias;
        invstd[j] = 1.0f / sqrtf(v + eps);
    }
    for (size_t r = 0; r < B; r++) {
        float *zr = z + r * n, *ar = act + r * n;
        for (size_t j = 0; j < n; j++) {
            float xhat = (zr[j] - mean[j]) * invstd[j];
            zr[j] = xhat;
            ar[j] = gamma[j] * xhat + beta[j];
        }
    }
    nn_bias_act(act, NULL, B, n, a);
}

void nn_dropout(const float *act, float *out, uint8_t *keep, size_t len, float p, util_rng *rng,
                int draw)
{
    if (draw) {
        /* One 64-bit draw gives two 32-bit uniforms: keep when u >= p * 2^32. */
        uint64_t threshold = (uint64_t)((double)p * 4294967296.0);
        size_t i = 0;
        for (; i + 1 < len; i += 2) {
            uint64_t u = util_rng_u64(rng);
            keep[i] = (u & 0xffffffffu) >= threshold;
            keep[i + 1] = (u >> 32) >= threshold;
        }
        if (i < len)
            keep[i] = (util_rng_u64(rng) & 0xffffffffu) >= threshold;
    }
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < len; i++)
        out[i] = keep[i] ? act[i] * scale : 0.0f;
}

double nn_softmax_xent(float *z, float *dz, const int32_t *label, size_t B, size_t n)
{
    /* loss_r = log sum_k exp(z_k - max) - (z_label - max): no overflow, no log(0). */
    double loss = 0.0;
    float inv_b = 1.0f / (float)B;
    for (size_t r = 0; r < B; r++) {
        float *zr = z + r * n, *dr = dz + r * n;
        float mx = zr[0];
        for (size_t j = 1; j < n; j++)
            mx = zr[j] > mx ? zr[j] : mx;
        float zl = zr[label[r]] - mx;
        float sum = 0.0f;
        for (size_t j = 0; j < n; j++) {
            zr[j] = expf(zr[j] - mx);
            sum += zr[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < n; j++) {
            zr[j] *= inv;
            dr[j] = zr[j] * inv_b;
        }
        dr[label[r]] -= inv_b;
        loss += (double)logf(sum) - (double)zl;
    }
    return loss / (double)B;
}

double nn_softmax_xent_ref(float *z, float *dz, const int32_t *label, size_t B, size_t n)
{
    /* The textbook formulas in double precision: p = exp(z) / sum exp(z), loss = -log p_y. */
    double loss = 0.0;
    for (size_t r = 0; r < B; r++) {
        double mx = z[r * n];
        for (size_t j = 1; j < n; j++)
            if (z[r * n + j] > mx)
                mx = z[r * n + j];
        double sum = 0.0;
        for (size_t j = 0; j < n; j++)
            sum += exp((double)z[r * n + j] - mx);
        for (size_t j = 0; j < n; j++) {
            double p = exp((double)z[r * n + j] - mx) / sum;
            double y = (int32_t)j == label[r] ? 1.0 : 0.0;
            if (y == 1.0)
                loss -= log(p);
            z[r * n + j] = (float)p;
            dz[r * n + j] = (float)((p - y) / (double)B);
        }
    }
    return loss / (double)B;
}

double nn_mse(const float *z, float *dz, const float *t, size_t B, size_t n)
{
    double loss = 0.0;
    float inv_b = 1.0f / (float)B;
    for (size_t i = 0; i < B * n; i++) {
        float e = z[i] - t[i];
        loss += 0.5 * (double)e * (double)e;
        dz[i] = e * inv_b;
    }
    return loss / (double)B;
}

/* d <- d * dropout scale * activation'(act), where the derivative is written in terms of the
 * activation's output: relu 1[a > 0], tanh 1 - a^2, sigmoid a (1 - a), linear 1. */
static void act_grad(float *d, const float *act, const uint8_t *keep, float p, size_t B,
                     size_t n, caviar_activation a)
{
    size_t len = B * n;
    if (keep) {
        float scale = 1.0f / (1.0f - p);
        for (size_t i = 0; i < len; i++)
            d[i] = keep[i] ? d[i] * scale : 0.0f;
    }
    switch (a) {
    case CAVIAR_ACT_RELU:
        for (size_t i = 0; i < len; i++)
            d[i] = act[i] > 0.0f ? d[i] : 0.0f;
        break;
    case CAVIAR_ACT_TANH:
        for (size_t i = 0; i < len; i++)
            d[i] *= 1.0f - act[i] * act[i];
        break;
    case CAVIAR_ACT_SIGMOID:
        for (size_t i = 0; i < len; i++)
            d[i] *= act[i] * (1.0f - act[i]);
        break;
    case CAVIAR_ACT_LINEAR:
        break;
    }
}

void nn_act_backward(float *d, const float *act, const uint8_t *keep, float p, size_t B, size_t n,
                     caviar_activation a, float *db)
{
    act_grad(d, act, keep, p, B, n, a);
    nn_colsum(d, B, n, db);
}

void nn_bn_backward(float *d, const float *act, const uint8_t *keep, float p, const float *xhat,
                    const float *gamma, const float *invstd, size_t B, size_t n,
                    caviar_activation a, float *dgamma, float *dbeta, float *sum1, float *sum2)
{
    /* With dy = dL/d(gamma xhat + beta):
     *   dbeta = sum_r dy,  dgamma = sum_r dy xhat,
     *   dz = gamma invstd (dy - mean_r(dy) - xhat mean_r(dy xhat)). */
    act_grad(d, act, keep, p, B, n, a);
    memset(sum1, 0, n * sizeof *sum1);
    memset(sum2, 0, n * sizeof *sum2);
    for (size_t r = 0; r < B; r++) {
        const float *dr = d + r * n, *xr = xhat + r * n;
        for (size_t j = 0; j < n; j++) {
            sum1[j] += dr[j];
            sum2[j] += dr[j] * xr[j];
        }
    }
    float inv_b = 1.0f / (float)B;
    for (size_t j = 0; j < n; j++) {
        dbeta[j] = sum1[j];
        dgamma[j] = sum2[j];
        sum1[j] *= inv_b;
        sum2[j] *= inv_b;
    }
    for (size_t r = 0; r < B; r++) {
        float *dr = d + r * n;
        const float *xr = xhat + r * n;
        for (size_t j = 0; j < n; j++)
            dr[j] = gamma[j] * invstd[j] * (dr[j] - sum1[j] - xr[j] * sum2[j]);
    }
}
