/*
 * caviar/nn.h — the multi-layer-perceptron trainer.
 *
 * A network is L dense layers: hidden layers of the chosen widths with one activation, then an
 * output layer (softmax + cross-entropy for classification, linear + mean squared error for
 * regression). Shapes, for a mini-batch of B samples and layer l with n_in inputs and n_out
 * units (weights row-major, one row per unit):
 *
 *   dense      z = x W^T + b                 x (B, n_in), W (n_out, n_in), b (n_out)
 *   batchnorm  zhat = (z - mean_B) / sqrt(var_B + eps),  y = gamma * zhat + beta   (no bias b)
 *              inference uses running averages: m <- bn_momentum m + (1 - bn_momentum) mean_B
 *   activation relu max(0, y) | tanh | sigmoid 1 / (1 + e^-y) | linear y
 *   dropout    keep with probability 1 - p, scaled by 1 / (1 - p) (inverted), training only
 *   output     softmax(z) with loss -mean log p[label]        (dz = (yhat - y) / B)
 *              or z with loss mean over samples of 1/2 sum_k (z_k - t_k)^2  (dz = (z - t) / B)
 *   L2         + (l2 / 2) * sum of squares of every W (not b, gamma, beta); gradient l2 * W
 *
 * Initialisation: He (normal, variance 2 / n_in) before ReLU, Xavier (normal, variance
 * 1 / n_in) before tanh, sigmoid and linear units and for the output layer; biases and beta 0,
 * gamma 1.
 *
 * Optimisers, for a parameter w with gradient g at step t (t counts from 1), learning rate a:
 *   sgd        w -= a g
 *   momentum   v = beta v + (1 - beta) g;  w -= a v    (an exponentially weighted average:
 *              PyTorch's v = beta v + g with rate a (1 - beta) takes the same steps)
 *   rmsprop    s = beta2 s + (1 - beta2) g^2;  w -= a g / (sqrt(s) + eps)
 *   adam       m = beta1 m + (1 - beta1) g;  s = beta2 s + (1 - beta2) g^2;
 *              w -= a (m / (1 - beta1^t)) / (sqrt(s / (1 - beta2^t)) + eps)
 *
 * Learning-rate decay, by epoch e counted from 0 (a0 = lr):
 *   none a0 | inverse a0 / (1 + decay_rate e) | exponential a0 decay_rate^e
 *   step a0 decay_rate^floor(e / decay_step) | cosine a0 (1 + cos(pi e / epochs)) / 2
 *
 * Reproducibility: with one thread and one seed, training gives bit-identical weights run after
 * run, and a model saved between epochs and loaded again trains on exactly as if it had never
 * stopped (the checkpoint holds weights, batch-norm averages, optimiser moments and step, the
 * epoch, the random state and the hyperparameters).
 *
 * Ownership: caviar_nn_new()/caviar_nn_load() allocate a model (all its tensors in one block);
 * caviar_nn_free() frees it. Datasets passed to training and evaluation are borrowed for the
 * call only.
 */
#ifndef CAVIAR_NN_H
#define CAVIAR_NN_H

#include "caviar/common.h"
#include "caviar/data.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAVIAR_NN_MAX_HIDDEN 64

typedef enum caviar_activation {
    CAVIAR_ACT_RELU, CAVIAR_ACT_TANH, CAVIAR_ACT_SIGMOID, CAVIAR_ACT_LINEAR
} caviar_activation;

typedef enum caviar_optimizer {
    CAVIAR_OPT_SGD, CAVIAR_OPT_MOMENTUM, CAVIAR_OPT_RMSPROP, CAVIAR_OPT_ADAM
} caviar_optimizer;

typedef enum caviar_decay {
    CAVIAR_DECAY_NONE, CAVIAR_DECAY_INVERSE, CAVIAR_DECAY_EXPONENTIAL, CAVIAR_DECAY_STEP,
    CAVIAR_DECAY_COSINE
} caviar_decay;

/* Names for the enums above ("relu", "adam", "cosine", ...) and the reverse lookup, which
 * returns -1 for an unknown name. */
const char *caviar_activation_name(caviar_activation a);
const char *caviar_optimizer_name(caviar_optimizer o);
const char *caviar_decay_name(caviar_decay d);
int caviar_activation_parse(const char *name);
int caviar_optimizer_parse(const char *name);
int caviar_decay_parse(const char *name);

/* What a network is; fixed for its life. */
typedef struct caviar_nn_arch {
    size_t n_inputs;
    size_t n_outputs;          /* classes (classification) or targets (regression) */
    caviar_task task;          /* CLASSIFICATION or REGRESSION */
    size_t n_hidden;           /* number of hidden layers, 0..CAVIAR_NN_MAX_HIDDEN */
    size_t hidden[CAVIAR_NN_MAX_HIDDEN];
    caviar_activation activation;
    int batchnorm;             /* batch normalisation after every hidden dense layer */
    caviar_optimizer optimizer;
} caviar_nn_arch;

/* How it is trained; every field may change between epochs (caviar_nn_set_hparams). */
typedef struct caviar_nn_hparams {
    double lr;           /* learning rate a0 */
    double momentum;     /* beta of the momentum optimiser (default 0.9) */
    double beta1, beta2; /* Adam (0.9, 0.999); RMSprop uses beta2 as its decay */
    double eps;          /* Adam / RMSprop (1e-8) */
    size_t batch_size;   /* default 128 */
    size_t epochs;       /* train until this many epochs are done */
    caviar_decay decay;
    double decay_rate;
    size_t decay_step;   /* epochs per step of the step decay (default 1) */
    double dropout;      /* drop probability after each hidden activation, in [0, 1) */
    double l2;
    double bn_momentum;  /* running-average factor of batch norm (default 0.9) */
    double bn_eps;       /* default 1e-5 */
} caviar_nn_hparams;

/* Defaults: an arch with no layers and ReLU/Adam; hparams as documented above, lr 1e-3,
 * 10 epochs, no decay, no dropout, no L2. */
void caviar_nn_arch_init(caviar_nn_arch *arch);
void caviar_nn_hparams_init(caviar_nn_hparams *hp);

/* Checks every field (ranges, finite numbers) and says which one is wrong. */
caviar_status caviar_nn_hparams_check(const caviar_nn_hparams *hp, caviar_error *err);

typedef struct caviar_nn caviar_nn;

/* A new network with freshly initialised weights; seed drives initialisation, shuffling and
 * dropout. NULL and err filled on failure. */
caviar_nn *caviar_nn_new(const caviar_nn_arch *arch, const caviar_nn_hparams *hp, uint64_t seed,
                         caviar_error *err);
void caviar_nn_free(caviar_nn *nn);

const caviar_nn_arch *caviar_nn_get_arch(const caviar_nn *nn);
const caviar_nn_hparams *caviar_nn_get_hparams(const caviar_nn *nn);
/* Changes the hyperparameters in place, keeping weights and optimiser moments. */
caviar_status caviar_nn_set_hparams(caviar_nn *nn, const caviar_nn_hparams *hp, caviar_error *err);
/* Number of epochs completed so far, and optimiser steps taken. */
size_t caviar_nn_epoch(const caviar_nn *nn);
uint64_t caviar_nn_steps(const caviar_nn *nn);
/* Number of trainable parameters. */
size_t caviar_nn_n_params(const caviar_nn *nn);
/* CRC-32 of the whole training state (parameters, batch-norm averages, optimiser moments,
 * counters, random state): equal checksums mean the same state. */
uint32_t caviar_nn_checksum(const caviar_nn *nn);
/* The learning rate decay gives for the current epoch. */
double caviar_nn_current_lr(const caviar_nn *nn);

/* Metrics of one evaluation pass (inference mode: no dropout, batch-norm running averages). */
typedef struct caviar_nn_eval {
    double loss;     /* mean loss without the L2 term */
    double accuracy; /* classification; NaN for regression */
    double rmse;     /* regression, in the original units of the targets; NaN otherwise */
} caviar_nn_eval;

/* target_std (n_outputs values, may be NULL for 1) maps a regression RMSE back to the original
 * units. An empty set gives NaN metrics. */
caviar_status caviar_nn_evaluate(caviar_nn *nn, const caviar_dataset *set, const float *target_std,
                                 caviar_nn_eval *out, caviar_error *err);

/* Forward pass in inference mode for n samples: out is n × n_outputs (class probabilities, or
 * standardised targets). */
caviar_status caviar_nn_predict(caviar_nn *nn, const float *x, size_t n, float *out,
                                caviar_error *err);

/* What the epoch callback sees. */
typedef struct caviar_nn_epoch_info {
    size_t epoch;        /* 1-based number of the epoch just finished */
    uint64_t steps;      /* optimiser steps so far */
    double lr;           /* learning rate used in this epoch */
    double train_loss;   /* mean mini-batch loss over the epoch (training mode, no L2 term) */
    caviar_nn_eval dev;  /* NaN fields when there is no dev set */
    caviar_nn_eval test; /* only when asked (caviar_nn_train_opts.eval_test), else NaN */
    double seconds;      /* wall time of the epoch's training steps */
} caviar_nn_epoch_info;

/* Returned by the epoch callback. */
enum { CAVIAR_NN_CONTINUE = 0, CAVIAR_NN_STOP = 1 };

typedef struct caviar_nn_train_opts {
    const caviar_dataset *dev;  /* may be NULL */
    const caviar_dataset *test; /* evaluated each epoch only when eval_test is set */
    int eval_test;
    const float *target_std;    /* see caviar_nn_evaluate */
    /* Called after every epoch. It may read the model, save a checkpoint, or change the
     * hyperparameters with caviar_nn_set_hparams(); returning CAVIAR_NN_STOP ends training
     * with status CAVIAR_STOPPED. */
    int (*on_epoch)(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user);
    /* Called every few steps within an epoch (for a progress bar); may be NULL. */
    void (*on_progress)(size_t step, size_t n_steps, double loss, void *user);
    void *user;
} caviar_nn_train_opts;

/* The outcome of caviar_nn_train(). */
typedef struct caviar_nn_result {
    caviar_status status;   /* OK, STOPPED, DIVERGED or an error */
    size_t epochs_done;
    size_t diverged_epoch;  /* 1-based, when status is DIVERGED */
    uint64_t diverged_step; /* 1-based step within that epoch */
    caviar_nn_epoch_info last;
    double seconds;
} caviar_nn_result;

/* Trains from the current epoch until hparams.epochs epochs are done. A NaN or infinite loss
 * stops training with CAVIAR_DIVERGED and the message "diverged at epoch E, step S". result may
 * be NULL. */
caviar_status caviar_nn_train(caviar_nn *nn, const caviar_dataset *train,
                              const caviar_nn_train_opts *opts, caviar_nn_result *result,
                              caviar_error *err);

/* Checkpoints: a versioned file with a CRC-32 of its contents. Loading a truncated or corrupt
 * file, or one of another format version, is a clear error. */
caviar_status caviar_nn_save(const caviar_nn *nn, const char *path, caviar_error *err);
caviar_nn *caviar_nn_load(const char *path, caviar_error *err);
/* The same state into / from memory (for a database or a test). *bytes is malloc'd; the caller
 * frees it. */
caviar_status caviar_nn_serialize(const caviar_nn *nn, void **bytes, size_t *len, caviar_error *err);
caviar_nn *caviar_nn_deserialize(const void *bytes, size_t len, const char *name, caviar_error *err);

/* Number of threads BLAS may use (the trainer's default is 1). Process-wide. */
void caviar_nn_set_threads(int n_threads);

#ifdef __cplusplus
}
#endif
#endif
