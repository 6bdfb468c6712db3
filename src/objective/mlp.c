/*
 * mlp.c — the built-in objective: train a multi-layer perceptron with the trial's
 * hyperparameters and report its dev metric every epoch.
 *
 * The data is loaded once, when the objective is opened (in the runner, before it forks its
 * workers: the workers share the pages). Each trial builds a network from its parameters,
 * trains it single-threaded with its own seed (the study's seed mixed with the trial number, so
 * a trial is reproducible) and after every epoch reports the dev metric and asks the pruner:
 *   metric=accuracy  dev accuracy, maximised (classification; the default there)
 *   metric=loss      dev loss (cross-entropy or MSE), minimised
 *   metric=rmse      dev RMSE in the targets' units, minimised (regression; the default there)
 * A trial whose loss becomes NaN or infinite ends PRUNED with its reason ("diverged at epoch E,
 * step S") in the attribute "diverged" — PRUNED rather than FAIL, so that samplers learn that
 * its learning rate was too large. A COMPLETE trial's value is the dev metric of its last
 * epoch; its test metric is computed then and kept in the attribute "test_accuracy" (or
 * "test_rmse") for the final report of the best trial only: nothing chooses by it.
 *
 * Hyperparameters, by name, searched when the space has them and fixed otherwise:
 *   lr, momentum, beta1, beta2, eps, batch_size, epochs, optimizer (sgd, momentum, rmsprop,
 *   adam), activation (relu, tanh, sigmoid, linear), batchnorm (bool), dropout, l2,
 *   decay (none, inverse, exponential, step, cosine), decay_rate, decay_step,
 *   n_layers, units (every hidden layer) or units_1 .. units_N (layer i, asked only when
 *   i <= n_layers: a conditional parameter).
 * The default space (no space given) follows the usual priority of hyperparameters: the
 * learning rate first (log scale), then the hidden units and the mini-batch size, then the
 * number of layers and the learning-rate decay; Adam's betas and epsilon stay at 0.9, 0.999
 * and 1e-8, and the optimizer is Adam (so the plain momentum beta has no role).
 *
 * Settings: data=SOURCE (fashion-mnist; any source caviar_data_load reads), epochs=N (default
 * 10), metric=accuracy|loss|rmse, dev_fraction=F, split_seed=N (the data split, default 0),
 * max_layers=N (default 3, the default space's bound on n_layers).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/nn.h"
#include "objective.h"

typedef enum { MLP_ACCURACY, MLP_LOSS, MLP_RMSE } mlp_metric;

typedef struct mlp {
    caviar_data *data;
    size_t epochs, max_layers;
    mlp_metric metric;
    const objective_param *params; /* the search space */
    size_t n_params;
    objective_param *owned;        /* the default space, kept until the end */
    size_t n_owned;
} mlp;

static const char *const mlp_keys[] = {"data",       "epochs",     "metric", "dev_fraction",
                                       "split_seed", "max_layers", NULL};

static const caviar_value batch_choices[] = {{CAVIAR_VALUE_NUMBER, 32, NULL},
                                             {CAVIAR_VALUE_NUMBER, 64, NULL},
                                             {CAVIAR_VALUE_NUMBER, 128, NULL},
                                             {CAVIAR_VALUE_NUMBER, 256, NULL},
                                             {CAVIAR_VALUE_NUMBER, 512, NULL}};
static const caviar_value decay_choices[] = {{CAVIAR_VALUE_STRING, 0, "none"},
                                             {CAVIAR_VALUE_STRING, 0, "cosine"}};

/* The default space, in the order of priority. units_i are asked only for the layers there. */
static caviar_status default_space(mlp *m, caviar_error *err)
{
    size_t n = 4 + m->max_layers;
    objective_param *p = calloc(n, sizeof *p);
    char **names = calloc(m->max_layers, sizeof *names);
    if (!p || !names) {
        free(p);
        free(names);
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    size_t k = 0;
    p[k++] = (objective_param){"lr", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG,
                                      .low = 1e-4, .high = 1e-1}};
    for (size_t i = 0; i < m->max_layers; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "units_%zu", i + 1);
        if (!(names[i] = strdup(buf))) {
            for (size_t j = 0; j < i; j++)
                free(names[j]);
            free(names);
            free(p);
            return util_err(err, CAVIAR_ENOMEM, "out of memory");
        }
        p[k++] = (objective_param){names[i], {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG,
                                              .low = 32, .high = 1024, .step = 1}};
    }
    p[k++] = (objective_param){"batch_size", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 5,
                                              .choices = batch_choices}};
    p[k++] = (objective_param){"n_layers", {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR,
                                            .low = 1, .high = (double)m->max_layers, .step = 1}};
    p[k++] = (objective_param){"decay", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2,
                                         .choices = decay_choices}};
    free(names); /* the strings now belong to p (freed in mlp_destroy) */
    m->owned = p;
    m->n_owned = k;
    m->params = p;
    m->n_params = k;
    return CAVIAR_OK;
}

static void mlp_destroy(void *self)
{
    mlp *m = self;
    if (!m)
        return;
    for (size_t i = 0; m->owned && i < m->n_owned; i++)
        if (strncmp(m->owned[i].name, "units_", 6) == 0)
            free((char *)m->owned[i].name);
    free(m->owned);
    caviar_data_free(m->data);
    free(m);
}

static caviar_status mlp_create(util_settings *kv, void **self, caviar_error *err)
{
    mlp *m = calloc(1, sizeof *m);
    if (!m)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    m->epochs = 10;
    m->max_layers = 3;
    caviar_data_opts dopts;
    caviar_data_opts_init(&dopts);
    size_t split_seed = 0;
    caviar_status st;
    if ((st = util_settings_size(kv, "epochs", 1, 100000, &m->epochs, err)) != CAVIAR_OK ||
        (st = util_settings_size(kv, "max_layers", 1, CAVIAR_NN_MAX_HIDDEN, &m->max_layers,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_double(kv, "dev_fraction", 0.001, 0.9, &dopts.dev_fraction, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(kv, "split_seed", 0, (size_t)-1, &split_seed, err)) !=
            CAVIAR_OK)
        goto fail;
    dopts.seed = split_seed;
    const char *source = util_settings_str(kv, "data");
    const char *metric = util_settings_str(kv, "metric");
    if (!(m->data = caviar_data_load(source ? source : "fashion-mnist", &dopts, err))) {
        st = err ? err->status : CAVIAR_EIO;
        goto fail;
    }
    int classify = m->data->task == CAVIAR_TASK_CLASSIFICATION;
    m->metric = classify ? MLP_ACCURACY : MLP_RMSE;
    if (metric) {
        if (strcmp(metric, "accuracy") == 0 && classify)
            m->metric = MLP_ACCURACY;
        else if (strcmp(metric, "loss") == 0)
            m->metric = MLP_LOSS;
        else if (strcmp(metric, "rmse") == 0 && !classify)
            m->metric = MLP_RMSE;
        else {
            st = util_err(err, CAVIAR_EINVAL, "objective 'mlp': metric '%s' does not fit %s "
                          "data\nhint: %s", metric, classify ? "classification" : "regression",
                          classify ? "accuracy or loss" : "rmse or loss");
            goto fail;
        }
    }
    if ((st = default_space(m, err)) != CAVIAR_OK)
        goto fail;
    *self = m;
    return CAVIAR_OK;
fail:
    mlp_destroy(m);
    return st;
}

/* ---- one trial ---- */

static const objective_param *find(const mlp *m, const char *name)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

/* The value of a searched hyperparameter into *value (its choice's string into *text for a
 * categorical of strings); 0 when the space does not have it, -1 on error. */
static int ask(const mlp *m, caviar_trial *t, const char *name, double *value, const char **text,
               caviar_error *err)
{
    const objective_param *p = find(m, name);
    if (!p)
        return 0;
    double v;
    size_t choice;
    if (objective_param_suggest(t, p, &v, &choice, err) != CAVIAR_OK)
        return -1;
    if (p->dist.kind == CAVIAR_DIST_CATEGORICAL &&
        p->dist.choices[choice].type == CAVIAR_VALUE_STRING) {
        if (!text) {
            util_err(err, CAVIAR_EINVAL, "parameter '%s': expected a number, got '%s'", name,
                     p->dist.choices[choice].string);
            return -1;
        }
        *text = p->dist.choices[choice].string;
        return 1;
    }
    *value = v;
    return 1;
}

/* A count from a searched value: a positive integer. */
static int ask_count(const mlp *m, caviar_trial *t, const char *name, size_t *out,
                     caviar_error *err)
{
    double v;
    int r = ask(m, t, name, &v, NULL, err);
    if (r <= 0)
        return r;
    if (!(v >= 1 && v <= 1e9) || v != floor(v)) {
        util_err(err, CAVIAR_EINVAL, "parameter '%s': expected a positive integer, got %g", name,
                 v);
        return -1;
    }
    *out = (size_t)v;
    return 1;
}

/* An enum from a searched categorical of names. */
static int ask_enum(const mlp *m, caviar_trial *t, const char *name, int (*parse)(const char *),
                    int *out, caviar_error *err)
{
    const char *s = NULL;
    double v;
    int r = ask(m, t, name, &v, &s, err);
    if (r <= 0)
        return r;
    int e = s ? parse(s) : -1;
    if (e < 0) {
        util_err(err, CAVIAR_EINVAL, "parameter '%s': unknown value '%s'", name, s ? s : "?");
        return -1;
    }
    *out = e;
    return 1;
}

typedef struct trial_run {
    caviar_trial *t;
    const mlp *m;
    double last;
    int pruned, stopped;
    caviar_error *err;
} trial_run;

static double metric_of(const mlp *m, const caviar_nn_eval *e)
{
    return m->metric == MLP_ACCURACY ? e->accuracy : m->metric == MLP_RMSE ? e->rmse : e->loss;
}

static int on_epoch(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    (void)nn;
    trial_run *r = user;
    r->last = metric_of(r->m, &info->dev);
    caviar_error err;
    if (caviar_trial_report(r->t, (int64_t)info->epoch, r->last, &err) != CAVIAR_OK) {
        *r->err = err;
        r->stopped = 1;
        return CAVIAR_NN_STOP;
    }
    if (caviar_trial_should_prune(r->t)) {
        r->pruned = 1;
        return CAVIAR_NN_STOP;
    }
    return CAVIAR_NN_CONTINUE;
}

static caviar_trial_state mlp_run(caviar_trial *t, void *self, double *value, caviar_error *err)
{
    const mlp *m = self;
    const caviar_data *d = m->data;
    caviar_nn_arch arch;
    caviar_nn_hparams hp;
    caviar_nn_arch_init(&arch);
    caviar_nn_hparams_init(&hp);
    arch.n_inputs = d->n_features;
    arch.task = d->task;
    arch.n_outputs = d->task == CAVIAR_TASK_CLASSIFICATION ? d->n_classes : d->n_targets;
    hp.epochs = m->epochs;
    /* Priority order, so that a study's parameter ids follow it too. */
    size_t n_layers = 2, units = 256;
    int e = 0, bn;
    double v;
    if (ask(m, t, "lr", &hp.lr, NULL, err) < 0 ||
        ask(m, t, "momentum", &hp.momentum, NULL, err) < 0 ||
        ask_count(m, t, "batch_size", &hp.batch_size, err) < 0 ||
        ask_count(m, t, "n_layers", &n_layers, err) < 0 ||
        ask_count(m, t, "units", &units, err) < 0)
        return CAVIAR_TRIAL_FAIL;
    if (n_layers > CAVIAR_NN_MAX_HIDDEN) {
        util_err(err, CAVIAR_EINVAL, "n_layers %zu: at most %d hidden layers", n_layers,
                 CAVIAR_NN_MAX_HIDDEN);
        return CAVIAR_TRIAL_FAIL;
    }
    arch.n_hidden = n_layers;
    for (size_t i = 0; i < n_layers; i++) {
        char name[32];
        snprintf(name, sizeof name, "units_%zu", i + 1);
        arch.hidden[i] = units;
        if (ask_count(m, t, name, &arch.hidden[i], err) < 0)
            return CAVIAR_TRIAL_FAIL;
    }
    if (ask_enum(m, t, "decay", caviar_decay_parse, &e, err) < 0)
        return CAVIAR_TRIAL_FAIL;
    hp.decay = find(m, "decay") ? (caviar_decay)e : hp.decay;
    if (ask(m, t, "decay_rate", &hp.decay_rate, NULL, err) < 0 ||
        ask_count(m, t, "decay_step", &hp.decay_step, err) < 0 ||
        ask_count(m, t, "epochs", &hp.epochs, err) < 0 ||
        ask(m, t, "beta1", &hp.beta1, NULL, err) < 0 ||
        ask(m, t, "beta2", &hp.beta2, NULL, err) < 0 || ask(m, t, "eps", &hp.eps, NULL, err) < 0 ||
        ask(m, t, "dropout", &hp.dropout, NULL, err) < 0 || ask(m, t, "l2", &hp.l2, NULL, err) < 0)
        return CAVIAR_TRIAL_FAIL;
    if (ask_enum(m, t, "optimizer", caviar_optimizer_parse, &e, err) < 0)
        return CAVIAR_TRIAL_FAIL;
    if (find(m, "optimizer"))
        arch.optimizer = (caviar_optimizer)e;
    if (ask_enum(m, t, "activation", caviar_activation_parse, &e, err) < 0)
        return CAVIAR_TRIAL_FAIL;
    if (find(m, "activation"))
        arch.activation = (caviar_activation)e;
    if ((bn = ask(m, t, "batchnorm", &v, NULL, err)) < 0)
        return CAVIAR_TRIAL_FAIL;
    if (bn)
        arch.batchnorm = v != 0;
    if (caviar_nn_hparams_check(&hp, err) != CAVIAR_OK)
        return CAVIAR_TRIAL_FAIL;

    caviar_nn_set_threads(1);
    uint64_t seed = caviar_trial_seed(t);
    caviar_nn *nn = caviar_nn_new(&arch, &hp, seed, err);
    if (!nn)
        return CAVIAR_TRIAL_FAIL;
    trial_run r = {t, m, NAN, 0, 0, err};
    caviar_nn_train_opts to = {.dev = &d->dev, .target_std = d->target_std, .on_epoch = on_epoch,
                               .user = &r};
    caviar_nn_result res;
    caviar_error terr;
    caviar_status st = caviar_nn_train(nn, &d->train, &to, &res, &terr);
    caviar_trial_state end;
    if (st == CAVIAR_DIVERGED) {
        caviar_trial_set_attr(t, "diverged", terr.msg, NULL);
        *value = NAN; /* PRUNED: the study keeps its last report */
        end = CAVIAR_TRIAL_PRUNED;
    } else if (r.stopped) {
        end = CAVIAR_TRIAL_FAIL; /* err holds why the report failed */
    } else if (r.pruned || (st == CAVIAR_STOPPED && caviar_stop_requested())) {
        *value = r.last;
        end = CAVIAR_TRIAL_PRUNED;
    } else if (st != CAVIAR_OK) {
        *err = terr;
        end = CAVIAR_TRIAL_FAIL;
    } else {
        *value = r.last;
        end = isfinite(r.last) ? CAVIAR_TRIAL_COMPLETE : CAVIAR_TRIAL_FAIL;
        if (end == CAVIAR_TRIAL_FAIL)
            util_err(err, CAVIAR_EINVAL, "the dev metric is not a number (no dev set?)");
        caviar_nn_eval test;
        if (end == CAVIAR_TRIAL_COMPLETE && d->test.n &&
            caviar_nn_evaluate(nn, &d->test, d->target_std, &test, &terr) == CAVIAR_OK) {
            char buf[64];
            int acc = d->task == CAVIAR_TASK_CLASSIFICATION;
            snprintf(buf, sizeof buf, "%.17g", acc ? test.accuracy : test.rmse);
            caviar_trial_set_attr(t, acc ? "test_accuracy" : "test_rmse", buf, NULL);
        }
    }
    caviar_nn_free(nn);
    return end;
}

/* The hyperparameters a space may name (units_N separately). */
static const char *const mlp_names[] = {
    "lr",      "momentum", "beta1",      "beta2",     "eps",        "batch_size", "epochs",
    "optimizer", "activation", "batchnorm", "dropout", "l2",        "decay",      "decay_rate",
    "decay_step", "n_layers", "units",    NULL};

static caviar_status mlp_set_space(void *self, const objective_param *params, size_t n,
                                   caviar_error *err)
{
    mlp *m = self;
    for (size_t i = 0; i < n; i++) {
        const char *name = params[i].name;
        size_t layer;
        if (util_lookup(name, mlp_names) >= 0)
            continue;
        if (strncmp(name, "units_", 6) == 0 && util_parse_size(name + 6, &layer) == 0 &&
            layer >= 1 && layer <= CAVIAR_NN_MAX_HIDDEN)
            continue;
        const char *close = NULL;
        int best = 3;
        for (size_t k = 0; mlp_names[k]; k++) {
            int d = util_edit_distance(name, mlp_names[k]);
            if (d < best)
                best = d, close = mlp_names[k];
        }
        if (close)
            return util_err(err, CAVIAR_EINVAL, "the built-in trainer has no hyperparameter "
                            "'%s'; did you mean '%s'?", name, close);
        return util_err(err, CAVIAR_EINVAL, "the built-in trainer has no hyperparameter '%s'"
                        "\nhint: lr, momentum, beta1, beta2, eps, batch_size, epochs, optimizer, "
                        "activation, batchnorm, dropout, l2, decay, decay_rate, decay_step, "
                        "n_layers, units, units_1, units_2, ...", name);
    }
    m->params = params;
    m->n_params = n;
    return CAVIAR_OK;
}

static caviar_direction mlp_direction(const void *self)
{
    const mlp *m = self;
    return m->metric == MLP_ACCURACY ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
}

const objective_type objective_mlp = {
    "mlp", "a multi-layer perceptron trained by caviar (data=fashion-mnist, epochs=10, ...)",
    mlp_keys, CAVIAR_MAXIMIZE, NAN, mlp_create, mlp_destroy, mlp_run, mlp_direction,
    mlp_set_space};
