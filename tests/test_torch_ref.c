/*
 * test_torch_ref.c — the trainer, step by step, against PyTorch 1.13.
 *
 * tests/torch_ref/make_ref.py trains small networks (6-8-5-K) for five optimiser steps with
 * torch.nn, autograd and torch.optim in float32 and writes tests/data/torch_ref/NAME.txt (the
 * format is described in the script): the initial parameters and batch-norm running averages,
 * every mini-batch with its learning rate, after every step the data loss, the gradients and
 * the new parameters and running averages, and at the end the inference-mode outputs and loss
 * on a held-out batch. No random generator has to agree: everything is in the file. This test
 * builds the same network with caviar_nn_new(), overwrites its state with the file's, replays
 * each step with nn_forward_backward() and nn_optimizer_step() and compares everything after
 * it; then caviar_nn_predict() and caviar_nn_evaluate() on the held-out batch.
 *
 * Cases (one file each):
 *   relu_xent_adam                     ReLU, softmax cross-entropy, Adam
 *   tanh_bn_xent_adam                  tanh + batch norm, cross-entropy, Adam
 *   sigmoid_mse_momentum               sigmoid, MSE with 2 outputs, momentum (beta 0.8)
 *   relu_bn_xent_rmsprop_l2            ReLU + batch norm (bn_momentum 0.8, bn_eps 1e-3),
 *                                      cross-entropy, RMSprop (beta2 0.9, eps 1e-4), L2 0.01
 *   linear_mse_sgd                     linear units, MSE with 3 outputs, plain SGD
 *   partial_batch_relu_bn_mse_adam_l2  39 samples in batches of 16, so steps of 16, 16, 7 and
 *                                      then 16, 16 rows with the learning rate halved; ReLU +
 *                                      batch norm, MSE, Adam (0.8, 0.99, eps 1e-5), L2 0.02
 * The larger eps and bn_eps make their placement (inside or outside a square root, training
 * and inference) visible above the bounds.
 *
 * Tolerances. Both sides compute in float32 but round and sum in different orders, so they
 * agree to a few ulps per operation, and five steps compound that a little. The bounds are
 *   loss, parameters, running averages, outputs:  |caviar - torch| <= 1e-4 max(|torch|, 1e-2)
 *   gradients:                                    |caviar - torch| <= 1e-3 max(|torch|, 1e-6)
 * The floor 1e-2 keeps a value that happens to pass near zero (a bias, a mean) from turning
 * float32 noise of the order of the other values into a large relative error. Gradients get a
 * looser bound because the backward pass sums terms of both signs, and with batch norm the
 * loss is flat in some directions, so a gradient can be much smaller than the terms it is
 * made of. To make sure the bounds have room, the script accepts a case's data only if PyTorch
 * repeating the same training in float64 stays ten times inside them (the differences it
 * measured are in each file's comments: at most 4e-6 for values, 1e-4 for gradients), if no
 * ReLU input comes within 1e-4 of the kink, and if every gradient component is at least 1e-6
 * in magnitude or exactly zero (a weight between two ReLU units never active together in the
 * batch, zero in any summation order). The last condition matters for Adam: its first steps
 * are nearly lr * sign(g), so a gradient that is rounding noise around zero would make the two
 * sides step in opposite directions.
 *
 * Observed (gcc 12, OpenBLAS 0.3.21, x86-64, -O3 and under ASan/UBSan): the worst difference is
 * 0.15 of the bound for gradients (1.5e-4 relative, on a gradient of 7e-5 in a tensor whose
 * larger entries are 1e-2) and 0.074 for everything else (a running mean of -0.014 after the
 * 7-row batch, off by 1e-7). A real mistake is far larger: a missing Adam bias correction
 * makes the first step (1 - 0.9) / sqrt(1 - 0.999) = 3.2 times too long, a running variance
 * without Bessel's correction loses 1/16 of the batch's share, a batch-norm backward pass that
 * drops a term changes gradients by their own order. Each of these, and a dozen other one-line
 * mistakes (eps inside the square root, torch's undamped momentum, L2 gradient 2 l2 W, MSE
 * averaged over outputs, ...), was put into a copy of the sources and made this test fail,
 * mostly by hundreds of times the bound.
 *
 * The reference files are parsed strictly; a malformed line fails the test with the file name,
 * the line number and what was expected (test_parser_errors holds the catalogue).
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

#define REF_FORMAT_VERSION 1
#define REF_MAX_STEPS 16
#define REF_MAX_ROWS 4096
/* Buffer for one field of a record (a number, a name); no valid field comes close. */
#define RD_FIELD_MAX 64
/* Tensors per layer: w and b, or w, gamma, beta, run_mean and run_var. */
#define REF_MAX_TENSORS (5 * (CAVIAR_NN_MAX_HIDDEN + 1))

/* ---- the reference case -------------------------------------------------------------------- */

/* One tensor of the model as the file names it, and where it lives in caviar's blocks. */
typedef struct ref_tensor {
    const char *kind; /* "w", "b", "gamma", "beta", "run_mean", "run_var" */
    size_t layer;
    size_t rows, cols; /* cols 0: a vector of rows values */
    int in_state;      /* 1: a running average (nn->state), 0: a parameter (nn->params) */
    size_t off;        /* offset into nn->params (and nn->grads) or nn->state */
} ref_tensor;

typedef struct ref_batch {
    size_t rows;
    float *x;       /* rows × n_inputs */
    int32_t *label; /* rows labels (classification) */
    float *target;  /* rows × n_outputs (regression) */
} ref_batch;

typedef struct ref_step {
    double lr;
    ref_batch batch;
    double loss;   /* mean data loss before the update */
    float *grads;  /* n_params, laid out as nn->grads */
    float *params; /* n_params after the update, as nn->params */
    float *state;  /* n_state after the update, as nn->state */
} ref_step;

/* A whole reference file. Everything is owned by the case and freed by ref_case_release(). */
typedef struct ref_case {
    char name[RD_FIELD_MAX];
    caviar_nn *nn; /* built from the file's header; its layout places the tensors */
    size_t n_tensors;
    ref_tensor tensors[REF_MAX_TENSORS];
    float *params0, *state0;
    size_t n_steps;
    ref_step steps[REF_MAX_STEPS];
    ref_batch infer;
    float *out; /* infer.rows × n_outputs: probabilities or regression outputs */
    double infer_loss;
} ref_case;

static void batch_release(ref_batch *b)
{
    free(b->x);
    free(b->label);
    free(b->target);
}

static void ref_case_release(ref_case *rc)
{
    for (size_t s = 0; s < REF_MAX_STEPS; s++) {
        ref_step *st = &rc->steps[s];
        batch_release(&st->batch);
        free(st->grads);
        free(st->params);
        free(st->state);
    }
    batch_release(&rc->infer);
    free(rc->out);
    free(rc->params0);
    free(rc->state0);
    caviar_nn_free(rc->nn);
    memset(rc, 0, sizeof *rc);
}

/* The model's tensors in the file's order: layer by layer, w, then b or gamma, beta, run_mean,
 * run_var. */
static void list_tensors(ref_case *rc)
{
    const caviar_nn *nn = rc->nn;
    size_t n = 0;
    for (size_t l = 0; l < nn->n_layers; l++) {
        const nn_layer *L = &nn->layers[l];
        rc->tensors[n++] = (ref_tensor){"w", l, L->n_out, L->n_in, 0, (size_t)(L->w - nn->params)};
        if (L->bn) {
            rc->tensors[n++] = (ref_tensor){"gamma", l, L->n_out, 0, 0,
                                            (size_t)(L->gamma - nn->params)};
            rc->tensors[n++] = (ref_tensor){"beta", l, L->n_out, 0, 0,
                                            (size_t)(L->beta - nn->params)};
            rc->tensors[n++] = (ref_tensor){"run_mean", l, L->n_out, 0, 1,
                                            (size_t)(L->run_mean - nn->state)};
            rc->tensors[n++] = (ref_tensor){"run_var", l, L->n_out, 0, 1,
                                            (size_t)(L->run_var - nn->state)};
        } else {
            rc->tensors[n++] = (ref_tensor){"b", l, L->n_out, 0, 0, (size_t)(L->b - nn->params)};
        }
    }
    rc->n_tensors = n;
}

static size_t tensor_len(const ref_tensor *t)
{
    return t->rows * (t->cols ? t->cols : 1);
}

/* ---- a strict reader for the reference format ----------------------------------------------
 * A record is one line: a keyword, then fields separated by spaces. Lines starting with '#'
 * and empty lines are skipped between records. Every function returns 0, or -1 after writing
 * the first error ("FILE:LINE: what went wrong") into r->err; once an error is set, every
 * later call fails at once, so callers chain them with || and check once. */
typedef struct reader {
    const char *name; /* for messages */
    const char *p;    /* the next unread character of the NUL-terminated text */
    size_t line;      /* line number of the record being read */
    int failed;
    char err[512];
} reader;

static int rd_fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rd_fail(reader *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    r->failed = 1;
    int n = snprintf(r->err, sizeof r->err, "%s:%zu: ", r->name, r->line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copies the next field of the current line into buf (RD_FIELD_MAX bytes) and returns its
 * length: 0 at the end of the line, -1 (after an error) when the field is too long. */
static int rd_field(reader *r, char *buf)
{
    while (*r->p == ' ')
        r->p++;
    size_t n = strcspn(r->p, " \n");
    if (n >= RD_FIELD_MAX)
        return rd_fail(r, "a field of %zu characters (at most %d)", n, RD_FIELD_MAX - 1);
    memcpy(buf, r->p, n);
    buf[n] = '\0';
    r->p += n;
    return (int)n;
}

/* Skips comment lines and empty lines, counting them. */
static void rd_skip_comments(reader *r)
{
    while (*r->p == '#' || *r->p == '\n') {
        const char *nl = strchr(r->p, '\n');
        r->p = nl ? nl + 1 : r->p + strlen(r->p);
        r->line++;
    }
}

/* Moves to the next record, which must start with keyword. */
static int rd_record(reader *r, const char *keyword)
{
    if (r->failed)
        return -1;
    r->line++;
    rd_skip_comments(r);
    char word[RD_FIELD_MAX];
    if (!*r->p)
        return rd_fail(r, "expected '%s', got the end of the file", keyword);
    if (rd_field(r, word) < 0)
        return -1;
    if (strcmp(word, keyword) != 0)
        return rd_fail(r, "expected '%s', got '%s'", keyword, word);
    return 0;
}

/* The current record must have no more fields. */
static int rd_end(reader *r)
{
    if (r->failed)
        return -1;
    char word[RD_FIELD_MAX];
    int n = rd_field(r, word);
    if (n < 0)
        return -1;
    if (n > 0)
        return rd_fail(r, "unexpected '%s' at the end of the record", word);
    if (*r->p == '\n')
        r->p++;
    return 0;
}

/* The next field into buf (RD_FIELD_MAX bytes); what names it in messages. */
static int rd_word(reader *r, const char *what, char *buf)
{
    if (r->failed)
        return -1;
    int n = rd_field(r, buf);
    if (n < 0)
        return -1;
    if (n == 0)
        return rd_fail(r, "the line ends before the %s", what);
    return 0;
}

static int rd_size(reader *r, const char *what, size_t *out)
{
    char word[RD_FIELD_MAX];
    if (rd_word(r, what, word) < 0)
        return -1;
    if (util_parse_size(word, out) < 0)
        return rd_fail(r, "bad %s '%s': not a count", what, word);
    return 0;
}

static int rd_double(reader *r, const char *what, double *out)
{
    char word[RD_FIELD_MAX];
    if (rd_word(r, what, word) < 0)
        return -1;
    if (util_parse_double(word, out) < 0 || !isfinite(*out))
        return rd_fail(r, "bad %s '%s': not a finite number", what, word);
    return 0;
}

/* n floats; strtof rounds a 9-digit decimal back to the float32 it was printed from. */
static int rd_floats(reader *r, const char *what, size_t n, float *dst)
{
    char word[RD_FIELD_MAX];
    for (size_t i = 0; i < n; i++) {
        if (r->failed)
            return -1;
        int len = rd_field(r, word);
        if (len < 0)
            return -1;
        if (len == 0)
            return rd_fail(r, "the line ends after %zu of the %zu values of '%s'", i, n, what);
        char *end;
        dst[i] = strtof(word, &end);
        if (*end || end == word || !isfinite(dst[i]))
            return rd_fail(r, "bad value '%s' in '%s': not a finite number", word, what);
    }
    return rd_end(r);
}

/* "KEY VALUE" for one hyperparameter. */
static int rd_setting(reader *r, const char *key, double *out)
{
    return rd_record(r, key) || rd_double(r, key, out) || rd_end(r) ? -1 : 0;
}

/* Looks name up in one of caviar's name lists (parse returns -1 for an unknown name). */
static int rd_enum(reader *r, const char *key, int (*parse)(const char *), int *out)
{
    char word[RD_FIELD_MAX];
    if (rd_record(r, key) || rd_word(r, key, word) || rd_end(r))
        return -1;
    *out = parse(word);
    if (*out < 0)
        return rd_fail(r, "unknown %s '%s'", key, word);
    return 0;
}

static int parse_task(const char *name)
{
    return strcmp(name, "classification") == 0 ? CAVIAR_TASK_CLASSIFICATION
           : strcmp(name, "regression") == 0    ? CAVIAR_TASK_REGRESSION
                                                : -1;
}

static int parse_flag(const char *name)
{
    return strcmp(name, "0") == 0 ? 0 : strcmp(name, "1") == 0 ? 1 : -1;
}

/* The header, up to "steps K"; builds rc->nn. */
static int rd_header(reader *r, ref_case *rc)
{
    caviar_nn_arch a;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&hp);
    size_t version, widths[CAVIAR_NN_MAX_HIDDEN + 2], n_widths = 0;
    int task, act, bn, opt;
    if (rd_record(r, "caviar-torch-ref") || rd_size(r, "format version", &version) || rd_end(r))
        return -1;
    if (version != REF_FORMAT_VERSION)
        return rd_fail(r, "unsupported format version %zu (this test reads %d)", version,
                       REF_FORMAT_VERSION);
    if (rd_record(r, "case") || rd_word(r, "case name", rc->name) || rd_end(r))
        return -1;
    if (rd_record(r, "layers"))
        return -1;
    while (*r->p && *r->p != '\n') {
        if (n_widths == CAVIAR_NN_MAX_HIDDEN + 2)
            return rd_fail(r, "more than %d layer widths", CAVIAR_NN_MAX_HIDDEN + 2);
        if (rd_size(r, "layer width", &widths[n_widths++]))
            return -1;
        while (*r->p == ' ')
            r->p++;
    }
    if (rd_end(r))
        return -1;
    if (n_widths < 2)
        return rd_fail(r, "'layers' needs at least the input and output widths");
    if (rd_enum(r, "task", parse_task, &task) ||
        rd_enum(r, "activation", caviar_activation_parse, &act) ||
        rd_enum(r, "batchnorm", parse_flag, &bn) ||
        rd_enum(r, "optimizer", caviar_optimizer_parse, &opt) ||
        rd_setting(r, "momentum", &hp.momentum) || rd_setting(r, "beta1", &hp.beta1) ||
        rd_setting(r, "beta2", &hp.beta2) || rd_setting(r, "eps", &hp.eps) ||
        rd_setting(r, "l2", &hp.l2) || rd_setting(r, "bn_momentum", &hp.bn_momentum) ||
        rd_setting(r, "bn_eps", &hp.bn_eps) || rd_record(r, "steps") ||
        rd_size(r, "number of steps", &rc->n_steps) || rd_end(r))
        return -1;
    if (rc->n_steps < 1 || rc->n_steps > REF_MAX_STEPS)
        return rd_fail(r, "%zu steps: must be in [1, %d]", rc->n_steps, REF_MAX_STEPS);

    a.n_inputs = widths[0];
    a.n_outputs = widths[n_widths - 1];
    a.n_hidden = n_widths - 2;
    for (size_t l = 0; l < a.n_hidden; l++)
        a.hidden[l] = widths[l + 1];
    a.task = (caviar_task)task;
    a.activation = (caviar_activation)act;
    a.batchnorm = bn;
    a.optimizer = (caviar_optimizer)opt;
    caviar_error err;
    rc->nn = caviar_nn_new(&a, &hp, 1, &err);
    if (!rc->nn)
        return rd_fail(r, "the header describes no valid network: %s", err.msg);
    list_tensors(rc);
    return 0;
}

static void *rd_alloc(reader *r, size_t n, size_t size)
{
    if (r->failed)
        return NULL;
    void *p = calloc(n ? n : 1, size);
    if (!p)
        rd_fail(r, "out of memory");
    return p;
}

/* One tensor record: KIND LAYER ROWS [COLS] values. */
static int rd_tensor(reader *r, const char *kind, const ref_tensor *t, float *dst)
{
    size_t layer, rows, cols = 0;
    if (rd_record(r, kind) || rd_size(r, "layer", &layer) || rd_size(r, "rows", &rows) ||
        (t->cols && rd_size(r, "columns", &cols)))
        return -1;
    if (layer != t->layer)
        return rd_fail(r, "'%s' of layer %zu where layer %zu was expected", kind, layer,
                       t->layer);
    if (rows != t->rows || cols != t->cols) {
        if (t->cols)
            return rd_fail(r, "'%s' of layer %zu is %zu x %zu in the network but %zu x %zu in "
                              "the file", kind, layer, t->rows, t->cols, rows, cols);
        return rd_fail(r, "'%s' of layer %zu has %zu values in the network but %zu in the file",
                       kind, layer, t->rows, rows);
    }
    return rd_floats(r, kind, tensor_len(t), dst);
}

/* "state S" and every parameter and running average, into params / state laid out as caviar
 * lays them out. */
static int rd_state(reader *r, const ref_case *rc, size_t s, float *params, float *state)
{
    size_t got;
    if (rd_record(r, "state") || rd_size(r, "step number", &got) || rd_end(r))
        return -1;
    if (got != s)
        return rd_fail(r, "'state %zu' where 'state %zu' was expected", got, s);
    for (size_t i = 0; i < rc->n_tensors; i++) {
        const ref_tensor *t = &rc->tensors[i];
        if (rd_tensor(r, t->kind, t, (t->in_state ? state : params) + t->off))
            return -1;
    }
    return 0;
}

/* "grad" and the gradient of every parameter (dw, db, dgamma, dbeta). */
static int rd_grads(reader *r, const ref_case *rc, float *grads)
{
    if (rd_record(r, "grad") || rd_end(r))
        return -1;
    for (size_t i = 0; i < rc->n_tensors; i++) {
        const ref_tensor *t = &rc->tensors[i];
        char kind[16];
        if (t->in_state)
            continue;
        snprintf(kind, sizeof kind, "d%s", t->kind);
        if (rd_tensor(r, kind, t, grads + t->off))
            return -1;
    }
    return 0;
}

/* "x ROWS N_IN ..." and "label ROWS ..." or "target ROWS N_OUT ...". */
static int rd_batch(reader *r, const ref_case *rc, ref_batch *b)
{
    const caviar_nn_arch *a = &rc->nn->arch;
    size_t rows, cols;
    if (rd_record(r, "x") || rd_size(r, "rows", &rows) || rd_size(r, "columns", &cols))
        return -1;
    if (rows != b->rows || cols != a->n_inputs)
        return rd_fail(r, "'x' is %zu x %zu where %zu x %zu was expected", rows, cols, b->rows,
                       a->n_inputs);
    b->x = rd_alloc(r, rows * cols, sizeof *b->x);
    if (!b->x || rd_floats(r, "x", rows * cols, b->x))
        return -1;
    if (a->task == CAVIAR_TASK_CLASSIFICATION) {
        if (rd_record(r, "label") || rd_size(r, "rows", &rows))
            return -1;
        if (rows != b->rows)
            return rd_fail(r, "%zu labels for %zu rows", rows, b->rows);
        b->label = rd_alloc(r, rows, sizeof *b->label);
        if (!b->label)
            return -1;
        for (size_t i = 0; i < rows; i++) {
            size_t v;
            if (rd_size(r, "label", &v))
                return -1;
            if (v >= a->n_outputs)
                return rd_fail(r, "label %zu outside [0, %zu)", v, a->n_outputs);
            b->label[i] = (int32_t)v;
        }
        return rd_end(r);
    }
    if (rd_record(r, "target") || rd_size(r, "rows", &rows) || rd_size(r, "columns", &cols))
        return -1;
    if (rows != b->rows || cols != a->n_outputs)
        return rd_fail(r, "'target' is %zu x %zu where %zu x %zu was expected", rows, cols,
                       b->rows, a->n_outputs);
    b->target = rd_alloc(r, rows * cols, sizeof *b->target);
    return !b->target ? -1 : rd_floats(r, "target", rows * cols, b->target);
}

static int rd_rows(reader *r, const char *what, size_t *rows)
{
    if (rd_size(r, "rows", rows))
        return -1;
    if (*rows < 1 || *rows > REF_MAX_ROWS)
        return rd_fail(r, "%s of %zu rows: must be in [1, %d]", what, *rows, REF_MAX_ROWS);
    return 0;
}

static int rd_step(reader *r, ref_case *rc, size_t s)
{
    const caviar_nn *nn = rc->nn;
    ref_step *st = &rc->steps[s - 1];
    size_t got;
    if (rd_record(r, "step") || rd_size(r, "step number", &got))
        return -1;
    if (got != s)
        return rd_fail(r, "'step %zu' where 'step %zu' was expected", got, s);
    if (rd_rows(r, "a batch", &st->batch.rows) || rd_double(r, "learning rate", &st->lr) ||
        rd_end(r) || rd_batch(r, rc, &st->batch) || rd_record(r, "loss") ||
        rd_double(r, "loss", &st->loss) || rd_end(r))
        return -1;
    st->grads = rd_alloc(r, nn->n_params, sizeof(float));
    st->params = rd_alloc(r, nn->n_params, sizeof(float));
    st->state = rd_alloc(r, nn->n_state, sizeof(float));
    return rd_grads(r, rc, st->grads) || rd_state(r, rc, s, st->params, st->state) ? -1 : 0;
}

static int rd_infer(reader *r, ref_case *rc)
{
    const size_t k = rc->nn->arch.n_outputs;
    size_t rows, cols;
    if (rd_record(r, "infer") || rd_rows(r, "the held-out batch", &rc->infer.rows) ||
        rd_end(r) || rd_batch(r, rc, &rc->infer) || rd_record(r, "out") ||
        rd_size(r, "rows", &rows) || rd_size(r, "columns", &cols))
        return -1;
    if (rows != rc->infer.rows || cols != k)
        return rd_fail(r, "'out' is %zu x %zu where %zu x %zu was expected", rows, cols,
                       rc->infer.rows, k);
    rc->out = rd_alloc(r, rows * k, sizeof *rc->out);
    if (!rc->out || rd_floats(r, "out", rows * k, rc->out) || rd_record(r, "loss") ||
        rd_double(r, "loss", &rc->infer_loss) || rd_end(r) || rd_record(r, "end") ||
        rd_end(r))
        return -1;
    rd_skip_comments(r);
    if (*r->p) {
        r->line++;
        return rd_fail(r, "text after 'end'");
    }
    return 0;
}

/* Parses a whole reference file held in text. Returns 0, or -1 with the message in err; rc is
 * filled as far as parsing went either way and must be released with ref_case_release(). */
static int ref_parse(const char *name, const char *text, ref_case *rc, char *err, size_t err_len)
{
    reader r = {name, text, 0, 0, ""};
    memset(rc, 0, sizeof *rc);
    if (rd_header(&r, rc) == 0) {
        const caviar_nn *nn = rc->nn;
        rc->params0 = rd_alloc(&r, nn->n_params, sizeof(float));
        rc->state0 = rd_alloc(&r, nn->n_state, sizeof(float));
        if (rd_state(&r, rc, 0, rc->params0, rc->state0) == 0)
            for (size_t s = 1; s <= rc->n_steps && rd_step(&r, rc, s) == 0; s++)
                ;
        if (!r.failed)
            rd_infer(&r, rc);
    }
    snprintf(err, err_len, "%s", r.err);
    return r.failed ? -1 : 0;
}

/* The whole file, NUL-terminated, malloc'd; NULL with a message on failure. */
static char *slurp(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot open '%s'", path);
        return NULL;
    }
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        snprintf(err, err_len, "cannot read '%s'", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* ---- comparison ------------------------------------------------------------------------------ */

enum { K_LOSS, K_GRAD, K_PARAM, K_STATE, K_OUT, N_KINDS };
static const char *const kind_names[N_KINDS] = {"loss", "gradients", "parameters",
                                                "running averages", "outputs"};
/* |caviar - torch| <= rtol * max(|torch|, floor); see the top of the file. */
static const double kind_rtol[N_KINDS] = {1e-4, 1e-3, 1e-4, 1e-4, 1e-4};
static const double kind_floor[N_KINDS] = {1e-2, 1e-6, 1e-2, 1e-2, 1e-2};

typedef struct tally {
    const char *name; /* the case */
    double worst[N_KINDS]; /* largest |caviar - torch| / bound seen */
    size_t n_compared[N_KINDS];
    size_t n_bad;
} tally;

/* Compares one value; what and the printf-style rest name it in a mismatch message. */
static void check_value(tally *t, int kind, double got, double want, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void check_value(tally *t, int kind, double got, double want, const char *fmt, ...)
{
    double bound = kind_rtol[kind] * fmax(fabs(want), kind_floor[kind]);
    double ratio = fabs(got - want) / bound;
    if (!(ratio <= 1.0)) { /* NaN fails too */
        if (t->n_bad < 10) {
            char where[128];
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(where, sizeof where, fmt, ap);
            va_end(ap);
            print_error("  %s: %s: caviar %.9g, torch %.9g (%.3g times the bound)\n", t->name,
                        where, got, want, ratio);
        }
        t->n_bad++;
    }
    if (ratio > t->worst[kind] || isnan(ratio))
        t->worst[kind] = ratio;
    t->n_compared[kind]++;
}

/* Compares every tensor of one kind (params, grads or state) after step s. */
static void check_tensors(tally *t, const ref_case *rc, int kind, size_t s, const float *got,
                          const float *want)
{
    for (size_t i = 0; i < rc->n_tensors; i++) {
        const ref_tensor *te = &rc->tensors[i];
        if (te->in_state != (kind == K_STATE))
            continue;
        const char *prefix = kind == K_GRAD ? "d" : "";
        for (size_t j = 0; j < tensor_len(te); j++) {
            size_t at = te->off + j;
            if (te->cols)
                check_value(t, kind, got[at], want[at], "step %zu %s%s[%zu][%zu,%zu]", s, prefix,
                            te->kind, te->layer, j / te->cols, j % te->cols);
            else
                check_value(t, kind, got[at], want[at], "step %zu %s%s[%zu][%zu]", s, prefix,
                            te->kind, te->layer, j);
        }
    }
}

/* Loads the batch into the network's mini-batch buffers. */
static void load_batch(caviar_nn *nn, const ref_batch *b)
{
    caviar_error err;
    assert_int_equal(nn_ws_reserve(nn, b->rows, &err), CAVIAR_OK);
    memcpy(nn->xb, b->x, b->rows * nn->arch.n_inputs * sizeof(float));
    if (b->label)
        memcpy(nn->yb_label, b->label, b->rows * sizeof(int32_t));
    else
        memcpy(nn->yb_target, b->target, b->rows * nn->arch.n_outputs * sizeof(float));
}

/* Replays a parsed case; returns the tally. */
static tally replay(ref_case *rc)
{
    caviar_nn *nn = rc->nn;
    tally t = {rc->name, {0}, {0}, 0};
    memcpy(nn->params, rc->params0, nn->n_params * sizeof(float));
    memcpy(nn->state, rc->state0, nn->n_state * sizeof(float));
    for (size_t s = 1; s <= rc->n_steps; s++) {
        const ref_step *st = &rc->steps[s - 1];
        load_batch(nn, &st->batch);
        double loss = nn_forward_backward(nn, st->batch.rows);
        check_value(&t, K_LOSS, loss, st->loss, "step %zu loss", s);
        check_tensors(&t, rc, K_GRAD, s, nn->grads, st->grads);
        nn_optimizer_step(nn, st->lr);
        check_tensors(&t, rc, K_PARAM, s, nn->params, st->params);
        check_tensors(&t, rc, K_STATE, s, nn->state, st->state);
    }
    assert_int_equal(caviar_nn_steps(nn), rc->n_steps);

    const ref_batch *b = &rc->infer;
    const size_t k = nn->arch.n_outputs;
    float *out = malloc(b->rows * k * sizeof *out);
    assert_non_null(out);
    caviar_error err;
    assert_int_equal(caviar_nn_predict(nn, b->x, b->rows, out, &err), CAVIAR_OK);
    for (size_t i = 0; i < b->rows * k; i++)
        check_value(&t, K_OUT, out[i], rc->out[i], "held-out output [%zu,%zu]", i / k, i % k);
    free(out);
    caviar_dataset set = {b->rows, nn->arch.n_inputs, b->x, b->label, b->target};
    caviar_nn_eval ev;
    assert_int_equal(caviar_nn_evaluate(nn, &set, NULL, &ev, &err), CAVIAR_OK);
    check_value(&t, K_LOSS, ev.loss, rc->infer_loss, "held-out loss");
    return t;
}

static void run_case(const char *name)
{
    char path[1024], err[1536];
    snprintf(path, sizeof path, "%s/torch_ref/%s.txt", CAVIAR_TEST_DATA, name);
    char *text = slurp(path, err, sizeof err);
    if (!text)
        fail_msg("%s", err);
    ref_case *rc = malloc(sizeof *rc);
    assert_non_null(rc);
    int bad = ref_parse(path, text, rc, err, sizeof err);
    free(text);
    if (bad) {
        ref_case_release(rc);
        free(rc);
        fail_msg("%s", err);
    }
    assert_string_equal(rc->name, name);
    tally t = replay(rc);
    char summary[512];
    size_t n = 0;
    for (int k = 0; k < N_KINDS; k++)
        if (t.n_compared[k] > 0)
            n += (size_t)snprintf(summary + n, sizeof summary - n, "%s %s %.3f", n ? "," : "",
                                  kind_names[k], t.worst[k]);
    print_message("%s: worst |caviar - torch| / bound:%s\n", name, summary);
    size_t n_bad = t.n_bad;
    int has_bn = rc->nn->arch.batchnorm;
    size_t n_state = t.n_compared[K_STATE];
    ref_case_release(rc);
    free(rc);
    if (n_bad)
        fail_msg("%s: %zu values differ from PyTorch beyond the bounds", name, n_bad);
    /* A case with batch norm must have compared its running averages. */
    assert_true(!has_bn || n_state > 0);
}

static void test_relu_xent_adam(void **state)
{
    (void)state;
    run_case("relu_xent_adam");
}

static void test_tanh_bn_xent_adam(void **state)
{
    (void)state;
    run_case("tanh_bn_xent_adam");
}

static void test_sigmoid_mse_momentum(void **state)
{
    (void)state;
    run_case("sigmoid_mse_momentum");
}

static void test_relu_bn_xent_rmsprop_l2(void **state)
{
    (void)state;
    run_case("relu_bn_xent_rmsprop_l2");
}

static void test_linear_mse_sgd(void **state)
{
    (void)state;
    run_case("linear_mse_sgd");
}

static void test_partial_batch(void **state)
{
    (void)state;
    run_case("partial_batch_relu_bn_mse_adam_l2");
}

/* ---- the parser's error catalogue ------------------------------------------------------------ */

/* A valid file for a 2-3-2 classifier with one step of 2 rows, in pieces so that each bad input
 * below replaces one piece. */
static const char *const good_pieces[] = {
    "# a comment\ncaviar-torch-ref 1\ncase tiny\nlayers 2 3 2\ntask classification\n",
    "activation relu\nbatchnorm 0\noptimizer sgd\n",
    "momentum 0.9\nbeta1 0.9\nbeta2 0.999\neps 1e-08\nl2 0\nbn_momentum 0.9\nbn_eps 1e-05\n"
    "steps 1\n",
    "state 0\nw 0 3 2 1 2 3 4 5 6\nb 0 3 0 0 0\nw 1 2 3 1 2 3 4 5 6\nb 1 2 0 0\n",
    "step 1 2 0.1\nx 2 2 1 2 3 4\nlabel 2 0 1\nloss 0.5\n",
    "grad\ndw 0 3 2 1 2 3 4 5 6\ndb 0 3 0 0 0\ndw 1 2 3 1 2 3 4 5 6\ndb 1 2 0 0\n"
    "state 1\nw 0 3 2 1 2 3 4 5 6\nb 0 3 0 0 0\nw 1 2 3 1 2 3 4 5 6\nb 1 2 0 0\n",
    "infer 1\nx 1 2 1 2\nlabel 1 1\nout 1 2 0.5 0.5\nloss 0.7\nend\n",
};
enum { N_PIECES = sizeof good_pieces / sizeof good_pieces[0] };

/* Parses the good file with piece i replaced by bad (i < 0: unchanged). */
static int parse_variant(int i, const char *bad, char *err, size_t err_len)
{
    char text[4096] = "";
    for (int p = 0; p < N_PIECES; p++) {
        const char *piece = p == i ? bad : good_pieces[p];
        assert_true(strlen(text) + strlen(piece) < sizeof text);
        strcat(text, piece);
    }
    ref_case *rc = malloc(sizeof *rc);
    assert_non_null(rc);
    int r = ref_parse("bad.txt", text, rc, err, err_len);
    ref_case_release(rc);
    free(rc);
    return r;
}

static void test_parser_errors(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(parse_variant(-1, NULL, err, sizeof err), 0);
    static const struct {
        int piece;
        const char *text, *msg;
    } cases[] = {
        {0, "caviar-torch-ref 2\n", "bad.txt:1: unsupported format version 2 (this test reads 1)"},
        {0, "caviar-torch-ref 1\ncase tiny\nlayers 2\ntask classification\n",
         "bad.txt:3: 'layers' needs at least the input and output widths"},
        {1, "activation swish\nbatchnorm 0\noptimizer sgd\n",
         "bad.txt:6: unknown activation 'swish'"},
        {1, "activation relu\nbatchnorm yes\noptimizer sgd\n",
         "bad.txt:7: unknown batchnorm 'yes'"},
        {2, "momentum 0.9x\n", "bad.txt:9: bad momentum '0.9x': not a finite number"},
        {2, "beta1 0.9\n", "bad.txt:9: expected 'momentum', got 'beta1'"},
        {3, "state 0\nw 0 3 3 1 2 3 4 5 6 7 8 9\n",
         "bad.txt:18: 'w' of layer 0 is 3 x 2 in the network but 3 x 3 in the file"},
        {3, "state 0\nw 0 3 2 1 2 3 4 5\n",
         "bad.txt:18: the line ends after 5 of the 6 values of 'w'"},
        {3, "state 0\nw 0 3 2 1 2 3 4 5 nan\n",
         "bad.txt:18: bad value 'nan' in 'w': not a finite number"},
        {3, "state 0\nw 1 3 2 1 2 3 4 5 6\n",
         "bad.txt:18: 'w' of layer 1 where layer 0 was expected"},
        {4, "step 1 2 0.1\nx 2 2 1 2 3 4\nlabel 2 0 2\nloss 0.5\n",
         "bad.txt:24: label 2 outside [0, 2)"},
        {4, "step 1 2 0.1\nx 2 2 1 2 3 4\nlabel 2 0 1\nloss 0.5 0.6\n",
         "bad.txt:25: unexpected '0.6' at the end of the record"},
        {4, "step 2 2 0.1\n", "bad.txt:22: 'step 2' where 'step 1' was expected"},
        {6, "infer 1\nx 1 2 1 2\nlabel 1 1\nout 1 2 0.5 0.5\n",
         "bad.txt:40: expected 'loss', got the end of the file"},
        {6, "infer 1\nx 1 2 1 2\nlabel 1 1\nout 1 2 0.5 0.5\nloss 0.7\nend\nmore\n",
         "bad.txt:42: text after 'end'"},
        {0, "caviar-torch-ref 1\ncase "
            "a_name_of_sixty_four_characters_is_one_too_many_for_the_buffer__\n",
         "bad.txt:2: a field of 64 characters (at most 63)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_variant(cases[i].piece, cases[i].text, err, sizeof err), -1);
        if (strcmp(err, cases[i].msg) != 0)
            fail_msg("bad input %zu: got \"%s\", want \"%s\"", i, err, cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_errors),
        cmocka_unit_test(test_relu_xent_adam),
        cmocka_unit_test(test_tanh_bn_xent_adam),
        cmocka_unit_test(test_sigmoid_mse_momentum),
        cmocka_unit_test(test_relu_bn_xent_rmsprop_l2),
        cmocka_unit_test(test_linear_mse_sgd),
        cmocka_unit_test(test_partial_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
