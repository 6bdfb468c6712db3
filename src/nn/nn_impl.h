/*
 * nn_impl.h — the trainer's insides, shared by the files of src/nn/ and by its tests (gradient
 * checks need to run one forward/backward pass with a frozen dropout mask). Library users go
 * through include/caviar/nn.h instead.
 *
 * Memory: a model owns two blocks.
 *   nn->block      every tensor whose size depends only on the architecture: parameters, their
 *                  gradients, the optimiser's two moment buffers (same layout as the parameters),
 *                  batch-norm running averages. Allocated once in caviar_nn_new().
 *   nn->ws         the workspace for R rows (R = max(batch size, NN_EVAL_ROWS)): the gathered
 *                  mini-batch, every layer's activations, masks and batch-norm caches, and the
 *                  backward buffers. Re-allocated only when the batch size grows, between epochs.
 * The hot loop allocates nothing.
 *
 * Parameters are laid out layer by layer, W first: [W0 b0|gamma0 beta0] [W1 ...] ... so that the
 * optimiser can walk them in one loop and apply L2 only to the W ranges.
 */
#ifndef CAVIAR_NN_IMPL_H
#define CAVIAR_NN_IMPL_H

#include "caviar/nn.h"
#include "util/util.h"

#define NN_EVAL_ROWS 512

typedef struct nn_layer {
    size_t n_in, n_out;
    int hidden;     /* 1 for hidden layers, 0 for the output layer */
    int bn;         /* batch norm after the dense product (hidden layers only) */
    /* parameters (views into nn->params) and their gradients (views into nn->grads) */
    float *w, *dw;          /* n_out × n_in */
    float *b, *db;          /* n_out; NULL when bn */
    float *gamma, *dgamma;  /* n_out; NULL unless bn */
    float *beta, *dbeta;
    /* batch-norm running averages (views into nn->state) */
    float *run_mean, *run_var;
    /* workspace views, R rows each (see nn_ws_bind) */
    float *z;       /* B × n_out: pre-activation; with bn, the normalised xhat */
    float *act;     /* B × n_out: activation output before dropout */
    float *out;     /* B × n_out: after dropout (== act when there is no dropout) */
    uint8_t *keep;  /* B × n_out: dropout mask, 1 = kept */
    float *mean, *invstd; /* n_out: batch statistics (bn) */
    float *sum1, *sum2;   /* n_out: per-unit reductions for bn backward */
} nn_layer;

struct caviar_nn {
    caviar_nn_arch arch;
    caviar_nn_hparams hp;
    size_t n_layers;    /* hidden layers + 1 */
    nn_layer layers[CAVIAR_NN_MAX_HIDDEN + 1];

    size_t n_params;    /* trainable values */
    size_t n_state;     /* batch-norm running averages */
    float *block;       /* params | grads | m1 | m2 | state */
    float *params, *grads, *m1, *m2, *state;

    /* training progress, all saved in checkpoints */
    size_t epoch;       /* epochs completed */
    uint64_t step;      /* optimiser steps taken (Adam's t) */
    util_rng rng;       /* initialisation, then shuffling and dropout */

    /* workspace */
    void *ws;
    size_t ws_rows;     /* R */
    float *xb;          /* R × n_inputs: the gathered mini-batch */
    int32_t *yb_label;  /* R labels */
    float *yb_target;   /* R × n_outputs targets */
    float *dbuf[2];     /* R × max width each: ping-pong buffers for gradients flowing back */
    uint32_t *perm;     /* training-set order of the current epoch (own allocation) */
    size_t perm_len;

    int freeze_mask;    /* tests only: reuse the current dropout mask instead of drawing one */
};

/* Allocates a model with zeroed parameters and no workspace (new and load share it). */
caviar_nn *nn_alloc(const caviar_nn_arch *arch, const caviar_nn_hparams *hp, caviar_error *err);
/* The parameter and state counts an architecture needs, without allocating; -1 when they
 * overflow a size_t (or the layer count is out of range). */
int nn_arch_sizes(const caviar_nn_arch *a, size_t *n_params, size_t *n_state);

/* Sets up workspace for at least rows rows (keeps the current one when it is large enough). */
caviar_status nn_ws_reserve(caviar_nn *nn, size_t rows, caviar_error *err);

/* One training-mode forward and backward pass over B rows already in nn->xb / nn->yb_*:
 * fills nn->grads (with the L2 term) and returns the mean data loss (no L2 term). Updates the
 * batch-norm running averages. Draws a new dropout mask unless nn->freeze_mask. */
double nn_forward_backward(caviar_nn *nn, size_t B);

/* Inference-mode forward pass over B rows of x (B <= ws_rows); returns the output layer's
 * pre-softmax values (logits for classification, targets for regression), B × n_outputs,
 * valid until the next pass. */
const float *nn_forward_infer(caviar_nn *nn, const float *x, size_t B);

/* One optimiser step with the current gradients and learning rate lr. */
void nn_optimizer_step(caviar_nn *nn, double lr);

/* Learning rate of epoch e (0-based) under the decay schedule. */
double nn_lr_at(const caviar_nn_hparams *hp, size_t epoch);

/* ---- kernels (kernels.c): element-wise work fused into as few passes as possible ----
 * Each fast kernel has a plain reference version (suffix _ref) used as the oracle in tests. */

/* y[r, j] = act(y[r, j] + b[j]) for B rows of n; b may be NULL. */
void nn_bias_act(float *y, const float *b, size_t B, size_t n, caviar_activation act);
/* Batch norm, training mode, on z (B × n) in place: z <- xhat, act <- activation(gamma xhat +
 * beta); fills mean/invstd and updates the running averages. */
void nn_bn_forward_train(float *z, float *act, size_t B, size_t n, const float *gamma,
                         const float *beta, float *mean, float *invstd, float *run_mean,
                         float *run_var, float momentum, float eps, caviar_activation a);
/* Dropout: out = act * keep / (1 - p), drawing keep unless frozen. */
void nn_dropout(const float *act, float *out, uint8_t *keep, size_t len, float p, util_rng *rng,
                int draw);
/* Inference batch norm and activation: y <- act(y * scale + shift) per unit. */
void nn_scale_shift_act(float *y, const float *scale, const float *shift, size_t B, size_t n,
                        caviar_activation act);
/* Softmax in place over B rows of n. */
void nn_softmax(float *z, size_t B, size_t n);
/* Softmax in place over B rows of n and the mean cross-entropy; dz = (p - onehot) / B. */
double nn_softmax_xent(float *z, float *dz, const int32_t *label, size_t B, size_t n);
double nn_softmax_xent_ref(float *z, float *dz, const int32_t *label, size_t B, size_t n);
/* Mean over samples of 1/2 sum (z - t)^2; dz = (z - t) / B. */
double nn_mse(const float *z, float *dz, const float *t, size_t B, size_t n);
/* Backward through dropout and the activation (and, with bn, batch norm), in place on d
 * (B × n): d holds dL/d(out) on entry and dL/dz on exit. Accumulates db or dgamma/dbeta. */
void nn_act_backward(float *d, const float *act, const uint8_t *keep, float p, size_t B, size_t n,
                     caviar_activation a, float *db);
void nn_bn_backward(float *d, const float *act, const uint8_t *keep, float p, const float *xhat,
                    const float *gamma, const float *invstd, size_t B, size_t n,
                    caviar_activation a, float *dgamma, float *dbeta, float *sum1, float *sum2);
/* Column sums: s[j] = sum_r d[r, j]. */
void nn_colsum(const float *d, size_t B, size_t n, float *s);

#endif
