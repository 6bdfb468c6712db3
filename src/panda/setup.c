/*
 * setup.c — a panda session from a sweep file (panda_opts_from_config).
 *
 * A value comes from, in order: panda: start.NAME, a constant parameter (value: X), the
 * middle of a parameter's range on its scale (the geometric middle on a log scale), or the
 * trainer's default. Only the settable hyperparameters (panda_settable) may have a range: the
 * architecture is fixed for the session's life.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panda.h"
#include "space/space.h"
#include "util/util.h"

static const char *entry(const config_entry *e, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0)
            return e[i].value;
    return NULL;
}

static const objective_param *param(const config_sweep *c, const char *name)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return &c->params[i];
    return NULL;
}

static int settable(const char *name)
{
    for (size_t i = 0; panda_settable[i]; i++)
        if (strcmp(panda_settable[i], name) == 0)
            return 1;
    return 0;
}

/* The text of NAME's starting value into buf, or NULL when nothing gives one. */
static const char *value_of(const config_sweep *c, const char *name, char *buf, size_t len)
{
    char key[128];
    snprintf(key, sizeof key, "start.%s", name);
    const char *v = entry(c->panda, c->n_panda, key);
    if (v)
        return v;
    const objective_param *p = param(c, name);
    if (!p)
        return NULL;
    const caviar_dist *d = &p->dist;
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        const caviar_value *ch = &d->choices[0];
        if (ch->type == CAVIAR_VALUE_STRING)
            return ch->string;
        snprintf(buf, len, "%.17g", ch->number);
        return buf;
    }
    snprintf(buf, len, "%.17g", caviar_dist_from_unit(d, 0.5));
    return buf;
}

static caviar_status number_of(const config_sweep *c, const char *name, double *out,
                               caviar_error *err)
{
    char buf[64];
    const char *v = value_of(c, name, buf, sizeof buf);
    if (!v)
        return CAVIAR_OK;
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = strcmp(v, "true") == 0;
        return CAVIAR_OK;
    }
    if (util_parse_double(v, out) != 0 || !isfinite(*out))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: expected a number for '%s', got '%s'",
                        c->path, name, v);
    return CAVIAR_OK;
}

static caviar_status count_of(const config_sweep *c, const char *name, size_t *out,
                              caviar_error *err)
{
    double v = (double)*out;
    caviar_status st = number_of(c, name, &v, err);
    if (st != CAVIAR_OK)
        return st;
    if (!(v >= 1 && v <= 1e9) || v != floor(v))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: '%s' must be a positive integer, got %g",
                        c->path, name, v);
    *out = (size_t)v;
    return CAVIAR_OK;
}

static caviar_status enum_of(const config_sweep *c, const char *name, int (*parse)(const char *),
                             int *out, caviar_error *err)
{
    char buf[64];
    const char *v = value_of(c, name, buf, sizeof buf);
    if (!v)
        return CAVIAR_OK;
    int e = parse(v);
    if (e < 0)
        return util_err(err, CAVIAR_EINVAL, "%s: panda: unknown %s '%s'", c->path, name, v);
    *out = e;
    return CAVIAR_OK;
}

caviar_status panda_opts_from_config(const config_sweep *c, panda_opts *o, caviar_data **data,
                                     caviar_error *err)
{
    memset(o, 0, sizeof *o);
    *data = NULL;
    caviar_nn_arch_init(&o->arch);
    caviar_nn_hparams_init(&o->hp);
    o->day_epochs = 1;
    o->min_delta = 1e-3;
    o->jump = 1.5;
    o->patience = 4;
    o->storage = c->storage;
    o->study = c->study ? c->study : c->name;
    o->seed = c->has_seed ? c->seed : 0;
    static const char *const panda_keys[] = {"day_epochs", "days",     "seed",     "patience",
                                             "min_delta",  "jump",     "population", "epochs",
                                             "quantile",   "resample", "exploit",  NULL};
    for (size_t i = 0; i < c->n_panda; i++) {
        const char *k = c->panda[i].key;
        if (strncmp(k, "start.", 6) == 0)
            continue;
        if (util_lookup(k, panda_keys) < 0)
            return util_err(err, CAVIAR_EINVAL, "%s:%u:%u: unknown key '%s' in panda; expected "
                            "day_epochs, days, seed, patience, min_delta, jump, population, "
                            "epochs, quantile, resample, exploit or start.NAME",
                            c->path, c->panda[i].key_pos.line, c->panda[i].key_pos.column, k);
    }
    /* Architecture and hyperparameters that may not have a range. */
    for (size_t i = 0; i < c->n_params; i++) {
        const objective_param *p = &c->params[i];
        int constant = p->dist.kind == CAVIAR_DIST_CATEGORICAL && p->dist.n_choices == 1;
        if (!constant && !settable(p->name))
            return util_err(err, CAVIAR_EINVAL, "%s: parameter '%s' cannot change during "
                            "training, so it needs one value (value: X) in a panda session",
                            c->path, p->name);
        if (constant)
            continue;
        if (p->dist.kind == CAVIAR_DIST_CATEGORICAL)
            for (size_t k = 0; k < p->dist.n_choices; k++)
                if (p->dist.choices[k].type != CAVIAR_VALUE_NUMBER)
                    return util_err(err, CAVIAR_EINVAL, "%s: parameter '%s' takes numbers",
                                    c->path, p->name);
    }
    o->bounds = c->params;
    o->n_bounds = c->n_params;

    caviar_status st;
    double v;
    size_t day_epochs = 1, patience = o->patience;
    const char *t;
    if ((t = entry(c->panda, c->n_panda, "day_epochs")) &&
        (util_parse_size(t, &day_epochs) != 0 || day_epochs < 1))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: day_epochs must be an integer >= 1, "
                        "got '%s'", c->path, t);
    if ((t = entry(c->panda, c->n_panda, "patience")) &&
        (util_parse_size(t, &patience) != 0 || patience < 1))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: patience must be an integer >= 1, got "
                        "'%s'", c->path, t);
    if ((t = entry(c->panda, c->n_panda, "seed"))) {
        uint64_t s;
        if (util_parse_u64(t, &s) != 0)
            return util_err(err, CAVIAR_EINVAL, "%s: panda: seed must be an integer >= 0, got "
                            "'%s'", c->path, t);
        o->seed = s;
    }
    if ((t = entry(c->panda, c->n_panda, "min_delta")) &&
        (util_parse_double(t, &o->min_delta) != 0 || !(o->min_delta >= 0)))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: min_delta must be a number >= 0",
                        c->path);
    if ((t = entry(c->panda, c->n_panda, "jump")) &&
        (util_parse_double(t, &o->jump) != 0 || !(o->jump > 1)))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: jump must be a number > 1", c->path);
    o->day_epochs = day_epochs;
    o->patience = patience;

    caviar_nn_hparams *hp = &o->hp;
    size_t n_layers = 2, units = 256;
    int e;
    if ((st = number_of(c, "lr", &hp->lr, err)) != CAVIAR_OK ||
        (st = number_of(c, "momentum", &hp->momentum, err)) != CAVIAR_OK ||
        (st = number_of(c, "beta1", &hp->beta1, err)) != CAVIAR_OK ||
        (st = number_of(c, "beta2", &hp->beta2, err)) != CAVIAR_OK ||
        (st = number_of(c, "eps", &hp->eps, err)) != CAVIAR_OK ||
        (st = number_of(c, "dropout", &hp->dropout, err)) != CAVIAR_OK ||
        (st = number_of(c, "l2", &hp->l2, err)) != CAVIAR_OK ||
        (st = number_of(c, "decay_rate", &hp->decay_rate, err)) != CAVIAR_OK ||
        (st = count_of(c, "batch_size", &hp->batch_size, err)) != CAVIAR_OK ||
        (st = count_of(c, "decay_step", &hp->decay_step, err)) != CAVIAR_OK ||
        (st = count_of(c, "n_layers", &n_layers, err)) != CAVIAR_OK ||
        (st = count_of(c, "units", &units, err)) != CAVIAR_OK)
        return st;
    e = (int)hp->decay;
    if ((st = enum_of(c, "decay", caviar_decay_parse, &e, err)) != CAVIAR_OK)
        return st;
    hp->decay = (caviar_decay)e;
    if (n_layers > CAVIAR_NN_MAX_HIDDEN)
        return util_err(err, CAVIAR_EINVAL, "%s: n_layers %zu: at most %d hidden layers",
                        c->path, n_layers, CAVIAR_NN_MAX_HIDDEN);
    o->arch.n_hidden = n_layers;
    for (size_t i = 0; i < n_layers; i++) {
        char name[32];
        snprintf(name, sizeof name, "units_%zu", i + 1);
        o->arch.hidden[i] = units;
        if ((st = count_of(c, name, &o->arch.hidden[i], err)) != CAVIAR_OK)
            return st;
    }
    e = (int)o->arch.activation;
    if ((st = enum_of(c, "activation", caviar_activation_parse, &e, err)) != CAVIAR_OK)
        return st;
    o->arch.activation = (caviar_activation)e;
    e = (int)o->arch.optimizer;
    if ((st = enum_of(c, "optimizer", caviar_optimizer_parse, &e, err)) != CAVIAR_OK)
        return st;
    o->arch.optimizer = (caviar_optimizer)e;
    v = 0;
    if ((st = number_of(c, "batchnorm", &v, err)) != CAVIAR_OK)
        return st;
    o->arch.batchnorm = v != 0;
    hp->epochs = day_epochs;
    if ((st = caviar_nn_hparams_check(hp, err)) != CAVIAR_OK) {
        util_err_prefix(err, "%s: panda", c->path);
        return st;
    }

    /* The data, as the built-in objective reads it. */
    caviar_data_opts dopts;
    caviar_data_opts_init(&dopts);
    const char *source = entry(c->objective, c->n_objective, "data");
    const char *metric = entry(c->objective, c->n_objective, "metric");
    if ((t = entry(c->objective, c->n_objective, "dev_fraction")) &&
        util_parse_double(t, &dopts.dev_fraction) != 0)
        return util_err(err, CAVIAR_EINVAL, "%s: objective: dev_fraction must be a number",
                        c->path);
    if ((t = entry(c->objective, c->n_objective, "split_seed")) &&
        util_parse_u64(t, &dopts.seed) != 0)
        return util_err(err, CAVIAR_EINVAL, "%s: objective: split_seed must be an integer",
                        c->path);
    caviar_data *d = caviar_data_load(source ? source : "fashion-mnist", &dopts, err);
    if (!d)
        return err ? err->status : CAVIAR_EIO;
    int classify = d->task == CAVIAR_TASK_CLASSIFICATION;
    o->metric = classify ? PANDA_ACCURACY : PANDA_RMSE;
    if (metric) {
        if (strcmp(metric, "loss") == 0)
            o->metric = PANDA_LOSS;
        else if (strcmp(metric, classify ? "accuracy" : "rmse") != 0) {
            caviar_data_free(d);
            return util_err(err, CAVIAR_EINVAL, "%s: objective: metric '%s' does not fit %s data",
                            c->path, metric, classify ? "classification" : "regression");
        }
    }
    o->arch.n_inputs = d->n_features;
    o->arch.task = d->task;
    o->arch.n_outputs = classify ? d->n_classes : d->n_targets;
    o->data = d;
    *data = d;
    return CAVIAR_OK;
}

caviar_status panda_pbt_opts_from_config(const config_sweep *c, panda_pbt_opts *o,
                                         caviar_data **data, caviar_error *err)
{
    memset(o, 0, sizeof *o);
    o->population = 8;
    o->epochs = 10;
    o->quantile = 0.25;
    o->resample = 0.25;
    o->exploit = 1;
    const char *t;
    if ((t = entry(c->panda, c->n_panda, "population")) &&
        (util_parse_size(t, &o->population) != 0 || o->population < 1 || o->population > 1000))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: population must be an integer in [1, "
                        "1000], got '%s'", c->path, t);
    if ((t = entry(c->panda, c->n_panda, "epochs")) &&
        (util_parse_size(t, &o->epochs) != 0 || o->epochs < 1))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: epochs must be an integer >= 1, got "
                        "'%s'", c->path, t);
    if ((t = entry(c->panda, c->n_panda, "quantile")) &&
        (util_parse_double(t, &o->quantile) != 0 || !(o->quantile > 0 && o->quantile <= 0.5)))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: quantile must be in (0, 0.5], got '%s'",
                        c->path, t);
    if ((t = entry(c->panda, c->n_panda, "resample")) &&
        (util_parse_double(t, &o->resample) != 0 || !(o->resample >= 0 && o->resample <= 1)))
        return util_err(err, CAVIAR_EINVAL, "%s: panda: resample must be in [0, 1], got '%s'",
                        c->path, t);
    if ((t = entry(c->panda, c->n_panda, "exploit"))) {
        if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0)
            return util_err(err, CAVIAR_EINVAL, "%s: panda: exploit must be true or false, got "
                            "'%s'", c->path, t);
        o->exploit = strcmp(t, "true") == 0;
    }
    return panda_opts_from_config(c, &o->base, data, err);
}
