/*
 * nn.c — a network's life: defaults and checks of its settings, allocation of its one parameter
 * block, initialisation, the workspace, accessors and the state checksum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <zlib.h>

#include "nn_impl.h"

static const char *const activation_names[] = {"relu", "tanh", "sigmoid", "linear", NULL};
static const char *const optimizer_names[] = {"sgd", "momentum", "rmsprop", "adam", NULL};
static const char *const decay_names[] = {"none", "inverse", "exponential", "step", "cosine",
                                          NULL};

const char *caviar_activation_name(caviar_activation a)
{
    return (unsigned)a < 4 ? activation_names[a] : "?";
}
const char *caviar_optimizer_name(caviar_optimizer o)
{
    return (unsigned)o < 4 ? optimizer_names[o] : "?";
}
const char *caviar_decay_name(caviar_decay d)
{
    return (unsigned)d < 5 ? decay_names[d] : "?";
}
int caviar_activation_parse(const char *name)
{
    return util_lookup(name, activation_names);
}
int caviar_optimizer_parse(const char *name)
{
    return util_lookup(name, optimizer_names);
}
int caviar_decay_parse(const char *name)
{
    return util_lookup(name, decay_names);
}

const char *caviar_version(void)
{
    return CAVIAR_VERSION;
}

void caviar_nn_arch_init(caviar_nn_arch *arch)
{
    memset(arch, 0, sizeof *arch);
    arch->task = CAVIAR_TASK_CLASSIFICATION;
    arch->activation = CAVIAR_ACT_RELU;
    arch->optimizer = CAVIAR_OPT_ADAM;
}

void caviar_nn_hparams_init(caviar_nn_hparams *hp)
{
    memset(hp, 0, sizeof *hp);
    hp->lr = 1e-3;
    hp->momentum = 0.9;
    hp->beta1 = 0.9;
    hp->beta2 = 0.999;
    hp->eps = 1e-8;
    hp->batch_size = 128;
    hp->epochs = 10;
    hp->decay = CAVIAR_DECAY_NONE;
    hp->decay_rate = 0.0;
    hp->decay_step = 1;
    hp->dropout = 0.0;
    hp->l2 = 0.0;
    hp->bn_momentum = 0.9;
    hp->bn_eps = 1e-5;
}

/* Largest mini-batch we accept: keeps R × width products far from overflow. */
#define NN_MAX_BATCH ((size_t)1 << 20)

caviar_status caviar_nn_hparams_check(const caviar_nn_hparams *hp, caviar_error *err)
{
    struct {
        const char *name;
        double v, lo, hi;
        int lo_open, hi_open;
    } r[] = {
        {"lr", hp->lr, 0, INFINITY, 1, 1},
        {"momentum", hp->momentum, 0, 1, 0, 1},
        {"beta1", hp->beta1, 0, 1, 0, 1},
        {"beta2", hp->beta2, 0, 1, 0, 1},
        {"eps", hp->eps, 0, INFINITY, 1, 1},
        {"dropout", hp->dropout, 0, 1, 0, 1},
        {"l2", hp->l2, 0, INFINITY, 0, 1},
        {"bn_momentum", hp->bn_momentum, 0, 1, 0, 1},
        {"bn_eps", hp->bn_eps, 0, INFINITY, 1, 1},
        {"decay_rate", hp->decay_rate, 0, INFINITY, 0, 1},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        double v = r[i].v;
        int bad = !isfinite(v) || v < r[i].lo || v > r[i].hi || (r[i].lo_open && v == r[i].lo) ||
                  (r[i].hi_open && v == r[i].hi);
        if (bad)
            return util_err(err, CAVIAR_EINVAL, "invalid %s %g: must be in %c%g, %g%c", r[i].name,
                            v, r[i].lo_open ? '(' : '[', r[i].lo, r[i].hi, r[i].hi_open ? ')' : ']');
    }
    if (hp->batch_size < 1 || hp->batch_size > NN_MAX_BATCH)
        return util_err(err, CAVIAR_EINVAL, "invalid batch size %zu: must be in [1, %zu]",
                        hp->batch_size, NN_MAX_BATCH);
    if ((unsigned)hp->decay > CAVIAR_DECAY_COSINE)
        return util_err(err, CAVIAR_EINVAL, "invalid decay kind %d", (int)hp->decay);
    if (hp->decay == CAVIAR_DECAY_STEP && hp->decay_step < 1)
        return util_err(err, CAVIAR_EINVAL, "invalid decay step 0: must be at least 1 epoch");
    if ((hp->decay == CAVIAR_DECAY_EXPONENTIAL || hp->decay == CAVIAR_DECAY_STEP) &&
        (hp->decay_rate <= 0 || hp->decay_rate > 1))
        return util_err(err, CAVIAR_EINVAL,
                        "invalid decay rate %g for %s decay: must be in (0, 1] (the factor per %s)",
                        hp->decay_rate, caviar_decay_name(hp->decay),
                        hp->decay == CAVIAR_DECAY_STEP ? "step" : "epoch");
    return CAVIAR_OK;
}

static caviar_status arch_check(const caviar_nn_arch *a, caviar_error *err)
{
    if (a->n_inputs < 1 || a->n_outputs < 1)
        return util_err(err, CAVIAR_EINVAL, "invalid network: %zu inputs and %zu outputs",
                        a->n_inputs, a->n_outputs);
    if (a->task != CAVIAR_TASK_CLASSIFICATION && a->task != CAVIAR_TASK_REGRESSION)
        return util_err(err, CAVIAR_EINVAL, "invalid network: task must be classification or "
                                            "regression");
    if (a->task == CAVIAR_TASK_CLASSIFICATION && a->n_outputs < 2)
        return util_err(err, CAVIAR_EINVAL, "invalid network: classification needs at least "
                                            "2 classes, got %zu", a->n_outputs);
    if (a->n_hidden > CAVIAR_NN_MAX_HIDDEN)
        return util_err(err, CAVIAR_EINVAL, "invalid network: %zu hidden layers (at most %d)",
                        a->n_hidden, CAVIAR_NN_MAX_HIDDEN);
    if ((unsigned)a->activation > CAVIAR_ACT_LINEAR)
        return util_err(err, CAVIAR_EINVAL, "invalid activation %d", (int)a->activation);
    if ((unsigned)a->optimizer > CAVIAR_OPT_ADAM)
        return util_err(err, CAVIAR_EINVAL, "invalid optimizer %d", (int)a->optimizer);
    /* Widths are capped so that every tensor size below fits comfortably in size_t and int
     * (BLAS takes int dimensions). */
    const size_t max_width = (size_t)1 << 24;
    if (a->n_inputs > max_width || a->n_outputs > max_width)
        return util_err(err, CAVIAR_EINVAL, "invalid network: layer width above %zu", max_width);
    for (size_t l = 0; l < a->n_hidden; l++)
        if (a->hidden[l] < 1 || a->hidden[l] > max_width)
            return util_err(err, CAVIAR_EINVAL, "invalid width %zu of hidden layer %zu",
                            a->hidden[l], l + 1);
    return CAVIAR_OK;
}

static int threads_set_by_user;

void caviar_nn_set_threads(int n_threads)
{
    threads_set_by_user = 1;
    openblas_set_num_threads(n_threads < 1 ? 1 : n_threads);
}

/* Carves the parameter block into layers. Called on a fresh block (new, load). */
static void bind_params(caviar_nn *nn)
{
    float *p = nn->params, *g = nn->grads, *s = nn->state;
    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        size_t nw = L->n_out * L->n_in;
        L->w = p, L->dw = g;
        p += nw, g += nw;
        L->b = L->db = L->gamma = L->dgamma = L->beta = L->dbeta = NULL;
        L->run_mean = L->run_var = NULL;
        if (L->bn) {
            L->gamma = p, L->dgamma = g;
            L->beta = p + L->n_out, L->dbeta = g + L->n_out;
            p += 2 * L->n_out, g += 2 * L->n_out;
            L->run_mean = s, L->run_var = s + L->n_out;
            s += 2 * L->n_out;
        } else {
            L->b = p, L->db = g;
            p += L->n_out, g += L->n_out;
        }
    }
}

/* Layer shapes and the sizes of the parameter block, from the architecture. */
static void plan_layers(caviar_nn *nn)
{
    const caviar_nn_arch *a = &nn->arch;
    nn->n_layers = a->n_hidden + 1;
    nn->n_params = nn->n_state = 0;
    size_t n_in = a->n_inputs;
    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        memset(L, 0, sizeof *L);
        L->hidden = l < a->n_hidden;
        L->n_in = n_in;
        L->n_out = L->hidden ? a->hidden[l] : a->n_outputs;
        L->bn = L->hidden && a->batchnorm;
        nn->n_params += L->n_out * L->n_in + (L->bn ? 2 : 1) * L->n_out;
        nn->n_state += L->bn ? 2 * L->n_out : 0;
        n_in = L->n_out;
    }
}

int nn_arch_sizes(const caviar_nn_arch *a, size_t *n_params, size_t *n_state)
{
    size_t p = 0, s = 0, n_in = a->n_inputs, w;
    if (a->n_hidden > CAVIAR_NN_MAX_HIDDEN)
        return -1;
    for (size_t l = 0; l <= a->n_hidden; l++) {
        int hidden = l < a->n_hidden, bn = hidden && a->batchnorm;
        size_t n_out = hidden ? a->hidden[l] : a->n_outputs, extra;
        if (__builtin_mul_overflow(n_out, n_in, &w) ||
            __builtin_mul_overflow(n_out, (size_t)(bn ? 2 : 1), &extra) ||
            __builtin_add_overflow(p, w, &p) || __builtin_add_overflow(p, extra, &p) ||
            (bn && __builtin_add_overflow(s, 2 * n_out, &s)))
            return -1;
        n_in = n_out;
    }
    *n_params = p;
    *n_state = s;
    return 0;
}

caviar_nn *nn_alloc(const caviar_nn_arch *arch, const caviar_nn_hparams *hp, caviar_error *err)
{
    if (arch_check(arch, err) != CAVIAR_OK || caviar_nn_hparams_check(hp, err) != CAVIAR_OK)
        return NULL;
    if (!threads_set_by_user)
        openblas_set_num_threads(1);
    caviar_nn *nn = calloc(1, sizeof *nn);
    if (!nn) {
        util_err(err, CAVIAR_ENOMEM, "cannot allocate a network: out of memory");
        return NULL;
    }
    nn->arch = *arch;
    nn->hp = *hp;
    plan_layers(nn);
    /* params, grads, m1, m2 (4 × n_params) then the batch-norm state. */
    size_t total = 4 * nn->n_params + nn->n_state;
    nn->block = calloc(total, sizeof(float));
    if (!nn->block) {
        util_err(err, CAVIAR_ENOMEM, "cannot allocate a network of %zu parameters: out of memory",
                 nn->n_params);
        free(nn);
        return NULL;
    }
    nn->params = nn->block;
    nn->grads = nn->params + nn->n_params;
    nn->m1 = nn->grads + nn->n_params;
    nn->m2 = nn->m1 + nn->n_params;
    nn->state = nn->m2 + nn->n_params;
    bind_params(nn);
    return nn;
}

caviar_nn *caviar_nn_new(const caviar_nn_arch *arch, const caviar_nn_hparams *hp, uint64_t seed,
                         caviar_error *err)
{
    caviar_nn *nn = nn_alloc(arch, hp, err);
    if (!nn)
        return NULL;
    util_rng_seed(&nn->rng, seed);
    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        /* He for ReLU layers, Xavier (variance 1 / n_in) otherwise and for the output. */
        int he = L->hidden && arch->activation == CAVIAR_ACT_RELU;
        double sd = sqrt((he ? 2.0 : 1.0) / (double)L->n_in);
        for (size_t i = 0; i < L->n_out * L->n_in; i++)
            L->w[i] = (float)(sd * util_rng_normal(&nn->rng));
        if (L->bn)
            for (size_t j = 0; j < L->n_out; j++) {
                L->gamma[j] = 1.0f;
                L->run_var[j] = 1.0f;
            }
    }
    return nn;
}

void caviar_nn_free(caviar_nn *nn)
{
    if (!nn)
        return;
    free(nn->ws);
    free(nn->perm);
    free(nn->block);
    free(nn);
}

caviar_status nn_ws_reserve(caviar_nn *nn, size_t rows, caviar_error *err)
{
    if (rows < NN_EVAL_ROWS)
        rows = NN_EVAL_ROWS;
    if (nn->ws && nn->ws_rows >= rows)
        return CAVIAR_OK;
    size_t width = nn->arch.n_inputs, floats = 0, bytes_u8 = 0;
    for (size_t l = 0; l < nn->n_layers; l++) {
        const nn_layer *L = &nn->layers[l];
        width = L->n_out > width ? L->n_out : width;
        size_t cells = rows * L->n_out;
        floats += cells;                                    /* act */
        if (L->bn)
            floats += cells + 4 * L->n_out;                 /* z, mean, invstd, sum1, sum2 */
        if (L->hidden)
            floats += cells, bytes_u8 += cells;             /* out, keep */
    }
    floats += rows * nn->arch.n_inputs + rows * nn->arch.n_outputs + 2 * rows * width;
    size_t bytes = floats * sizeof(float) + rows * sizeof(int32_t) + bytes_u8;
    void *ws = malloc(bytes);
    if (!ws)
        return util_err(err, CAVIAR_ENOMEM,
                        "cannot allocate a training workspace of %zu MB: out of memory",
                        bytes >> 20);
    float *f = ws;
    nn->xb = f, f += rows * nn->arch.n_inputs;
    nn->yb_target = f, f += rows * nn->arch.n_outputs;
    nn->dbuf[0] = f, f += rows * width;
    nn->dbuf[1] = f, f += rows * width;
    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        size_t cells = rows * L->n_out;
        L->act = f, f += cells;
        L->out = L->act;
        L->z = L->mean = L->invstd = L->sum1 = L->sum2 = NULL;
        if (L->bn) {
            L->z = f, f += cells;
            L->mean = f, f += L->n_out;
            L->invstd = f, f += L->n_out;
            L->sum1 = f, f += L->n_out;
            L->sum2 = f, f += L->n_out;
        }
        if (L->hidden)
            L->out = f, f += cells;
    }
    nn->yb_label = (int32_t *)f;
    uint8_t *u8 = (uint8_t *)(nn->yb_label + rows);
    for (size_t l = 0; l < nn->n_layers; l++) {
        nn_layer *L = &nn->layers[l];
        L->keep = NULL;
        if (L->hidden)
            L->keep = u8, u8 += rows * L->n_out;
    }
    free(nn->ws);
    nn->ws = ws;
    nn->ws_rows = rows;
    return CAVIAR_OK;
}

const caviar_nn_arch *caviar_nn_get_arch(const caviar_nn *nn)
{
    return &nn->arch;
}

const caviar_nn_hparams *caviar_nn_get_hparams(const caviar_nn *nn)
{
    return &nn->hp;
}

caviar_status caviar_nn_set_hparams(caviar_nn *nn, const caviar_nn_hparams *hp, caviar_error *err)
{
    caviar_status st = caviar_nn_hparams_check(hp, err);
    if (st != CAVIAR_OK)
        return st;
    nn->hp = *hp;
    return CAVIAR_OK;
}

size_t caviar_nn_epoch(const caviar_nn *nn)
{
    return nn->epoch;
}

uint64_t caviar_nn_steps(const caviar_nn *nn)
{
    return nn->step;
}

size_t caviar_nn_n_params(const caviar_nn *nn)
{
    return nn->n_params;
}

uint32_t caviar_nn_checksum(const caviar_nn *nn)
{
    /* Gradients are scratch (overwritten by every step) and are left out. */
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32_z(crc, (const Bytef *)nn->params, nn->n_params * sizeof(float));
    crc = crc32_z(crc, (const Bytef *)nn->m1, 2 * nn->n_params * sizeof(float));
    crc = crc32_z(crc, (const Bytef *)nn->state, nn->n_state * sizeof(float));
    uint64_t counters[2] = {nn->epoch, nn->step};
    crc = crc32_z(crc, (const Bytef *)counters, sizeof counters);
    crc = crc32_z(crc, (const Bytef *)nn->rng.s, sizeof nn->rng.s);
    return (uint32_t)crc;
}

double nn_lr_at(const caviar_nn_hparams *hp, size_t epoch)
{
    double e = (double)epoch, a0 = hp->lr;
    switch (hp->decay) {
    case CAVIAR_DECAY_NONE: return a0;
    case CAVIAR_DECAY_INVERSE: return a0 / (1.0 + hp->decay_rate * e);
    case CAVIAR_DECAY_EXPONENTIAL: return a0 * pow(hp->decay_rate, e);
    case CAVIAR_DECAY_STEP: return a0 * pow(hp->decay_rate, (double)(epoch / hp->decay_step));
    case CAVIAR_DECAY_COSINE:
        if (hp->epochs == 0 || epoch >= hp->epochs)
            return 0.0;
        return a0 * 0.5 * (1.0 + cos(3.14159265358979323846 * e / (double)hp->epochs));
    }
    return a0;
}

double caviar_nn_current_lr(const caviar_nn *nn)
{
    return nn_lr_at(&nn->hp, nn->epoch);
}
