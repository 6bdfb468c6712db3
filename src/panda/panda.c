/*
 * panda.c — a babysitting session: days, set, rollback, resume, the automatic policy. See
 * panda.h for what is stored where.
 */
#define _POSIX_C_SOURCE 200809L
#include "panda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panda_impl.h"
#include "space/space.h"
#include "util/util.h"

const char *const panda_settable[] = {"lr",      "momentum", "beta1", "beta2", "eps",
                                      "dropout", "l2",       "batch_size", NULL};

struct panda {
    panda_opts o;
    caviar_study *study;
    caviar_nn *nn;
    caviar_nn_hparams pending;
    panda_day *days; /* days[d - 1] is day d */
    size_t n_days, cap_days;
    uint64_t head;
};

/* ---- hyperparameters by name ---- */

static double *hp_field(caviar_nn_hparams *hp, const char *name)
{
    if (strcmp(name, "lr") == 0)
        return &hp->lr;
    if (strcmp(name, "momentum") == 0)
        return &hp->momentum;
    if (strcmp(name, "beta1") == 0)
        return &hp->beta1;
    if (strcmp(name, "beta2") == 0)
        return &hp->beta2;
    if (strcmp(name, "eps") == 0)
        return &hp->eps;
    if (strcmp(name, "dropout") == 0)
        return &hp->dropout;
    if (strcmp(name, "l2") == 0)
        return &hp->l2;
    return NULL;
}

double panda_hp_get(const caviar_nn_hparams *hp, const char *name)
{
    if (strcmp(name, "batch_size") == 0)
        return (double)hp->batch_size;
    double *f = hp_field((caviar_nn_hparams *)hp, name);
    return f ? *f : NAN;
}

void panda_hp_put(caviar_nn_hparams *hp, const char *name, double v)
{
    if (strcmp(name, "batch_size") == 0) {
        hp->batch_size = (size_t)v;
        return;
    }
    double *f = hp_field(hp, name);
    if (f)
        *f = v;
}

static const objective_param *bound_of(const panda *p, const char *name)
{
    for (size_t i = 0; i < p->o.n_bounds; i++)
        if (strcmp(p->o.bounds[i].name, name) == 0)
            return &p->o.bounds[i];
    return NULL;
}

/* The internal value of v for a bound (a categorical's index of the choice equal to v). */
int panda_internal_of(const caviar_dist *d, double v, double *out)
{
    if (d->kind != CAVIAR_DIST_CATEGORICAL) {
        *out = v;
        return caviar_dist_contains(d, v) ? 0 : -1;
    }
    for (size_t i = 0; i < d->n_choices; i++)
        if (d->choices[i].type == CAVIAR_VALUE_NUMBER && d->choices[i].number == v) {
            *out = (double)i;
            return 0;
        }
    return -1;
}

double panda_metric_value(panda_metric m, const caviar_nn_eval *e)
{
    return m == PANDA_ACCURACY ? e->accuracy : m == PANDA_RMSE ? e->rmse : e->loss;
}

const char *panda_metric_name(panda_metric m)
{
    return m == PANDA_ACCURACY ? "accuracy" : m == PANDA_RMSE ? "rmse" : "loss";
}

/* Whether a is better than b (NaN is never better). */
int panda_better(panda_metric m, double a, double b)
{
    if (isnan(a))
        return 0;
    if (isnan(b))
        return 1;
    return m == PANDA_ACCURACY ? a > b : a < b;
}

/* ---- the days ---- */

static void day_release(panda_day *d)
{
    free(d->curve);
    memset(d, 0, sizeof *d);
}

static panda_day *new_day(panda *p, caviar_error *err)
{
    if (p->n_days == p->cap_days) {
        size_t cap = p->cap_days ? 2 * p->cap_days : 16;
        panda_day *more = realloc(p->days, cap * sizeof *more);
        if (!more) {
            util_err(err, CAVIAR_ENOMEM, "out of memory");
            return NULL;
        }
        p->days = more;
        p->cap_days = cap;
    }
    panda_day *d = &p->days[p->n_days];
    memset(d, 0, sizeof *d);
    d->day = p->n_days + 1;
    d->value = NAN;
    return d;
}

static int add_epoch(panda_day *d, const panda_epoch *e)
{
    panda_epoch *more = realloc(d->curve, (d->n_curve + 1) * sizeof *more);
    if (!more)
        return -1;
    d->curve = more;
    d->curve[d->n_curve++] = *e;
    return 0;
}

static const char *attr(const caviar_trial_view *v, const char *key)
{
    for (size_t i = 0; i < v->n_attrs; i++)
        if (strcmp(v->attrs[i].key, key) == 0)
            return v->attrs[i].value;
    return NULL;
}

/* hparams as "name=value ..." and back. */
void panda_hp_write(const caviar_nn_hparams *hp, char *buf, size_t len)
{
    snprintf(buf, len,
             "lr=%.17g momentum=%.17g beta1=%.17g beta2=%.17g eps=%.17g batch_size=%zu "
             "decay=%s decay_rate=%.17g decay_step=%zu dropout=%.17g l2=%.17g",
             hp->lr, hp->momentum, hp->beta1, hp->beta2, hp->eps, hp->batch_size,
             caviar_decay_name(hp->decay), hp->decay_rate, hp->decay_step, hp->dropout, hp->l2);
}

static void hp_read(const char *text, caviar_nn_hparams *hp)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(tok, "decay") == 0) {
            int d = caviar_decay_parse(v);
            if (d >= 0)
                hp->decay = (caviar_decay)d;
        } else if (strcmp(tok, "decay_rate") == 0) {
            hp->decay_rate = strtod(v, NULL);
        } else if (strcmp(tok, "decay_step") == 0) {
            hp->decay_step = (size_t)strtoull(v, NULL, 10);
        } else {
            panda_hp_put(hp, tok, strtod(v, NULL));
        }
    }
}

static void curve_read(panda_day *d, const char *text)
{
    while (text && *text) {
        panda_epoch e;
        int used = 0;
        unsigned long long ep;
        if (sscanf(text, "%llu %lf %lf %lf %lf;%n", &ep, &e.lr, &e.train_loss, &e.dev_loss,
                   &e.dev_metric, &used) != 5 || used == 0)
            break;
        e.epoch = (size_t)ep;
        if (add_epoch(d, &e) != 0)
            break;
        text += used;
    }
}

/* The blob key of day d's checkpoint. */
static void day_key(uint64_t d, char *buf, size_t len)
{
    snprintf(buf, len, "panda/day/%llu", (unsigned long long)d);
}

static caviar_status save_state(panda *p, uint64_t day, caviar_error *err)
{
    void *bytes;
    size_t len;
    caviar_status st = caviar_nn_serialize(p->nn, &bytes, &len, err);
    if (st != CAVIAR_OK)
        return st;
    char key[64];
    day_key(day, key, sizeof key);
    st = caviar_study_put_blob(p->study, key, bytes, len, err);
    free(bytes);
    return st;
}

static caviar_status save_head(panda *p, caviar_error *err)
{
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)p->head);
    return caviar_study_put_blob(p->study, "panda/head", text, strlen(text), err);
}

static caviar_status load_state(panda *p, uint64_t day, caviar_error *err)
{
    char key[64];
    day_key(day, key, sizeof key);
    void *bytes;
    size_t len;
    caviar_status st = caviar_study_get_blob(p->study, key, &bytes, &len, err);
    if (st != CAVIAR_OK)
        return st;
    caviar_nn *nn = caviar_nn_deserialize(bytes, len, key, err);
    free(bytes);
    if (!nn)
        return err ? err->status : CAVIAR_EFORMAT;
    caviar_nn_free(p->nn);
    p->nn = nn;
    p->pending = *caviar_nn_get_hparams(nn);
    return CAVIAR_OK;
}

/* Reads the days back from the study (resume). */
static caviar_status load_days(panda *p, caviar_error *err)
{
    size_t n = caviar_study_n_trials(p->study);
    for (size_t i = 0; i < n; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(p->study, i, &v) != CAVIAR_OK)
            continue;
        const char *day = attr(&v, "panda.day"), *sum = attr(&v, "panda.checksum");
        if (!day || !sum || (v.state != CAVIAR_TRIAL_COMPLETE && v.state != CAVIAR_TRIAL_PRUNED))
            continue; /* cut short: no checkpoint */
        uint64_t number = strtoull(day, NULL, 10);
        if (number != p->n_days + 1)
            continue; /* days are trials 0, 1, ... in order; anything else is not ours */
        panda_day *d = new_day(p, err);
        if (!d)
            return CAVIAR_ENOMEM;
        const char *parent = attr(&v, "panda.parent"), *epoch = attr(&v, "panda.epoch");
        const char *note = attr(&v, "panda.note");
        d->parent = parent ? strtoull(parent, NULL, 10) : 0;
        d->epoch = epoch ? (size_t)strtoull(epoch, NULL, 10) : 0;
        d->checksum = (uint32_t)strtoul(sum, NULL, 16);
        d->diverged = attr(&v, "panda.diverged") != NULL;
        d->value = v.state == CAVIAR_TRIAL_COMPLETE ? v.value : NAN;
        caviar_nn_hparams_init(&d->hp);
        hp_read(attr(&v, "panda.hparams"), &d->hp);
        snprintf(d->note, sizeof d->note, "%s", note ? note : "");
        curve_read(d, attr(&v, "panda.curve"));
        p->n_days++;
    }
    return CAVIAR_OK;
}

caviar_status panda_open(const panda_opts *o, panda **out, caviar_error *err)
{
    *out = NULL;
    if (o->day_epochs < 1)
        return util_err(err, CAVIAR_EINVAL, "panda: day_epochs must be >= 1");
    panda *p = calloc(1, sizeof *p);
    if (!p)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    p->o = *o;
    caviar_study_opts so;
    caviar_study_opts_init(&so);
    so.name = o->study ? o->study : "panda";
    so.storage = o->storage;
    so.seed = o->seed;
    so.direction = o->metric == PANDA_ACCURACY ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
    so.max_retries = 0; /* a day cut short is not run again: the session decides */
    so.spec = "panda";
    caviar_status st = CAVIAR_OK;
    if (!(p->study = caviar_study_new(&so, err))) {
        st = err ? err->status : CAVIAR_EINVAL;
        goto fail;
    }
    for (size_t i = 0; i < o->n_bounds; i++)
        if ((st = caviar_study_add_param(p->study, o->bounds[i].name, &o->bounds[i].dist,
                                         err)) != CAVIAR_OK)
            goto fail;
    if ((st = load_days(p, err)) != CAVIAR_OK)
        goto fail;
    void *head = NULL;
    size_t len = 0;
    caviar_error miss;
    if (caviar_study_get_blob(p->study, "panda/head", &head, &len, &miss) == CAVIAR_OK) {
        char text[32];
        snprintf(text, sizeof text, "%.*s", (int)(len < 31 ? len : 31), (const char *)head);
        p->head = strtoull(text, NULL, 10);
        free(head);
        if (p->head > p->n_days)
            p->head = p->n_days; /* the head's day was cut short */
        if ((st = load_state(p, p->head, err)) != CAVIAR_OK)
            goto fail;
        if (p->head && panda_checksum(p) != p->days[p->head - 1].checksum) {
            st = util_err(err, CAVIAR_EFORMAT, "panda: the checkpoint of day %llu does not "
                          "match its recorded checksum", (unsigned long long)p->head);
            goto fail;
        }
    } else {
        caviar_nn_hparams hp = o->hp;
        hp.epochs = o->day_epochs;
        if (!(p->nn = caviar_nn_new(&o->arch, &hp, o->seed, err))) {
            st = err ? err->status : CAVIAR_EINVAL;
            goto fail;
        }
        p->pending = hp;
        if ((st = save_state(p, 0, err)) != CAVIAR_OK || (st = save_head(p, err)) != CAVIAR_OK)
            goto fail;
    }
    *out = p;
    return CAVIAR_OK;
fail:
    panda_close(p);
    return st;
}

void panda_close(panda *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_days; i++)
        day_release(&p->days[i]);
    free(p->days);
    caviar_nn_free(p->nn);
    caviar_study_free(p->study);
    free(p);
}

/* ---- training a day ---- */

typedef struct day_run {
    panda *p;
    caviar_trial *t;
    panda_day *d;
    int failed;
    caviar_error *err;
} day_run;

static int on_epoch(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    (void)nn;
    day_run *r = user;
    panda_epoch e = {info->epoch, info->lr, info->train_loss, info->dev.loss,
                     panda_metric_value(r->p->o.metric, &info->dev)};
    if (add_epoch(r->d, &e) != 0 ||
        caviar_trial_report(r->t, (int64_t)info->epoch, e.dev_metric, r->err) != CAVIAR_OK) {
        r->failed = 1;
        return CAVIAR_NN_STOP;
    }
    int stop = caviar_stop_requested() || (r->p->o.stop && *r->p->o.stop);
    return stop ? CAVIAR_NN_STOP : CAVIAR_NN_CONTINUE;
}

caviar_status panda_train_day(panda *p, const char *note, caviar_error *err)
{
    /* The day's trial, its parameters fixed to the pending hyperparameters. */
    const char **names = calloc(p->o.n_bounds + 1, sizeof *names);
    double *values = calloc(p->o.n_bounds + 1, sizeof *values);
    if (!names || !values) {
        free(names);
        free(values);
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < p->o.n_bounds; i++) {
        double v;
        if (panda_internal_of(&p->o.bounds[i].dist, panda_hp_get(&p->pending, p->o.bounds[i].name), &v) ==
            0) {
            names[n] = p->o.bounds[i].name;
            values[n++] = v;
        }
    }
    caviar_status st = caviar_study_enqueue(p->study, names, values, n, err);
    free(names);
    free(values);
    if (st != CAVIAR_OK)
        return st;
    caviar_trial *t = caviar_study_ask(p->study, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    for (size_t i = 0; i < p->o.n_bounds; i++) {
        double v;
        caviar_trial_suggest(t, p->o.bounds[i].name, &p->o.bounds[i].dist, &v, NULL);
    }
    panda_day *d = new_day(p, err);
    if (!d) {
        caviar_study_tell(p->study, t, CAVIAR_TRIAL_FAIL, NAN, NULL);
        return CAVIAR_ENOMEM;
    }
    d->parent = p->head;
    d->hp = p->pending;
    snprintf(d->note, sizeof d->note, "%s", note ? note : "");

    caviar_nn_hparams hp = p->pending;
    hp.epochs = caviar_nn_epoch(p->nn) + p->o.day_epochs;
    if ((st = caviar_nn_set_hparams(p->nn, &hp, err)) != CAVIAR_OK) {
        caviar_study_tell(p->study, t, CAVIAR_TRIAL_FAIL, NAN, NULL);
        day_release(d);
        return st;
    }
    caviar_nn_set_threads(1);
    day_run r = {p, t, d, 0, err};
    caviar_nn_train_opts to = {.dev = &p->o.data->dev, .target_std = p->o.data->target_std,
                               .on_epoch = on_epoch, .user = &r};
    caviar_nn_result res;
    caviar_error terr;
    st = caviar_nn_train(p->nn, &p->o.data->train, &to, &res, &terr);
    if (r.failed || (st != CAVIAR_OK && st != CAVIAR_DIVERGED)) {
        if (!r.failed)
            *err = terr;
        caviar_study_tell(p->study, t, CAVIAR_TRIAL_FAIL, NAN, NULL);
        day_release(d);
        /* The model may be half a day on: go back to where the day began. */
        caviar_error lerr;
        load_state(p, p->head, &lerr);
        return r.failed ? err->status : st == CAVIAR_STOPPED ? CAVIAR_STOPPED : terr.status;
    }
    d->diverged = st == CAVIAR_DIVERGED;
    d->epoch = caviar_nn_epoch(p->nn);
    d->value = d->diverged || !d->n_curve ? NAN : d->curve[d->n_curve - 1].dev_metric;
    d->checksum = caviar_nn_checksum(p->nn);

    char buf[64], hps[1024];
    char *curve = malloc(d->n_curve * 160 + 1);
    if (!curve) {
        caviar_study_tell(p->study, t, CAVIAR_TRIAL_FAIL, NAN, NULL);
        day_release(d);
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    size_t at = 0;
    curve[0] = '\0';
    for (size_t i = 0; i < d->n_curve; i++) {
        const panda_epoch *e = &d->curve[i];
        at += (size_t)snprintf(curve + at, d->n_curve * 160 + 1 - at, "%zu %.17g %.17g %.17g %.17g;", e->epoch, e->lr,
                               e->train_loss, e->dev_loss, e->dev_metric);
    }
    panda_hp_write(&d->hp, hps, sizeof hps);
    st = save_state(p, d->day, err);
#define SET(k, v)                                                                                  \
    do {                                                                                           \
        if (st == CAVIAR_OK)                                                                       \
            st = caviar_trial_set_attr(t, (k), (v), err);                                          \
    } while (0)
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)d->day);
    SET("panda.day", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)d->parent);
    SET("panda.parent", buf);
    snprintf(buf, sizeof buf, "%zu", d->epoch);
    SET("panda.epoch", buf);
    SET("panda.note", d->note);
    SET("panda.curve", curve);
    SET("panda.hparams", hps);
    if (d->diverged)
        SET("panda.diverged", terr.msg);
    snprintf(buf, sizeof buf, "%08x", (unsigned)d->checksum);
    SET("panda.checksum", buf); /* last: a day with a checksum is whole */
#undef SET
    free(curve);
    if (st == CAVIAR_OK)
        st = caviar_study_tell(p->study, t,
                               d->diverged ? CAVIAR_TRIAL_PRUNED : CAVIAR_TRIAL_COMPLETE,
                               d->value, err);
    if (st != CAVIAR_OK) {
        day_release(d);
        return st;
    }
    p->n_days++;
    p->head = d->day;
    p->pending = d->hp;
    return save_head(p, err);
}

/* ---- set, rollback, save ---- */

caviar_status panda_set(panda *p, const char *name, const char *value, caviar_error *err)
{
    int known = 0;
    for (size_t i = 0; panda_settable[i]; i++)
        known |= strcmp(panda_settable[i], name) == 0;
    if (!known) {
        char list[256] = "";
        for (size_t i = 0; panda_settable[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     panda_settable[i]);
        return util_err(err, CAVIAR_EINVAL, "'%s' cannot change during training; expected one "
                        "of %s", name, list);
    }
    const objective_param *b = bound_of(p, name);
    if (!b)
        return util_err(err, CAVIAR_EINVAL, "'%s' is not among the sweep file's parameters, so "
                        "it has no bounds; add it there to change it", name);
    double v;
    if (util_parse_double(value, &v) != 0 || !isfinite(v))
        return util_err(err, CAVIAR_EINVAL, "%s: expected a number, got '%s'", name, value);
    double internal;
    if (panda_internal_of(&b->dist, v, &internal) != 0) {
        char range[256];
        return util_err(err, CAVIAR_EINVAL, "%s=%s is outside its bounds: %s", name, value,
                        space_describe(&b->dist, range, sizeof range));
    }
    caviar_nn_hparams hp = p->pending;
    panda_hp_put(&hp, name, v);
    caviar_nn_hparams check = hp;
    check.epochs = caviar_nn_epoch(p->nn) + p->o.day_epochs;
    caviar_status st = caviar_nn_hparams_check(&check, err);
    if (st != CAVIAR_OK)
        return st;
    p->pending = hp;
    return CAVIAR_OK;
}

caviar_status panda_rollback(panda *p, uint64_t day, caviar_error *err)
{
    if (day > p->n_days)
        return util_err(err, CAVIAR_EINVAL, "there is no day %llu (days 0 to %zu)",
                        (unsigned long long)day, p->n_days);
    caviar_status st = load_state(p, day, err);
    if (st != CAVIAR_OK)
        return st;
    if (day && panda_checksum(p) != p->days[day - 1].checksum)
        return util_err(err, CAVIAR_EFORMAT, "the checkpoint of day %llu does not match its "
                        "recorded checksum", (unsigned long long)day);
    p->head = day;
    return save_head(p, err);
}

caviar_status panda_save(panda *p, const char *path, caviar_error *err)
{
    return caviar_nn_save(p->nn, path, err);
}

/* ---- reading ---- */

size_t panda_n_days(const panda *p) { return p->n_days; }
uint64_t panda_head(const panda *p) { return p->head; }
const caviar_nn_hparams *panda_pending(const panda *p) { return &p->pending; }
void panda_restore_pending(panda *p, const caviar_nn_hparams *hp) { p->pending = *hp; }
const caviar_nn_arch *panda_arch(const panda *p) { return caviar_nn_get_arch(p->nn); }
uint32_t panda_checksum(const panda *p) { return caviar_nn_checksum(p->nn); }
panda_metric panda_metric_of(const panda *p) { return p->o.metric; }

const panda_day *panda_get_day(const panda *p, uint64_t day)
{
    return day >= 1 && day <= p->n_days ? &p->days[day - 1] : NULL;
}

uint64_t panda_best(const panda *p)
{
    uint64_t best = 0;
    for (size_t i = 0; i < p->n_days; i++)
        if (panda_better(p->o.metric, p->days[i].value, best ? p->days[best - 1].value : NAN))
            best = p->days[i].day;
    return best;
}

size_t panda_branch(const panda *p, uint64_t day, uint64_t *out, size_t cap)
{
    size_t n = 0;
    for (uint64_t d = day; d >= 1 && d <= p->n_days; d = p->days[d - 1].parent)
        n++;
    size_t k = n < cap ? n : cap, i = n;
    for (uint64_t d = day; d >= 1 && d <= p->n_days; d = p->days[d - 1].parent) {
        i--;
        if (i < k)
            out[i] = d;
    }
    return k;
}

/* ---- the automatic policy ---- */

static double clamp_lr(const panda *p, double lr)
{
    const objective_param *b = bound_of(p, "lr");
    if (b && b->dist.kind == CAVIAR_DIST_FLOAT && b->dist.scale != CAVIAR_SCALE_NORMAL &&
        b->dist.scale != CAVIAR_SCALE_LOG_NORMAL)
        lr = lr < b->dist.low ? b->dist.low : lr > b->dist.high ? b->dist.high : lr;
    return lr;
}

caviar_status panda_auto(panda *p, int *stop, char *why, size_t len, caviar_error *err)
{
    *stop = 0;
    const panda_day *h = panda_get_day(p, p->head);
    const char *mname = panda_metric_name(p->o.metric);
    if (!h) {
        snprintf(why, len, "auto: first day at lr %g", p->pending.lr);
        return CAVIAR_OK;
    }
    char after[48];
    snprintf(after, sizeof after, "auto after day %llu", (unsigned long long)h->day);
    uint64_t branch[4096];
    size_t n = panda_branch(p, p->head, branch, 4096);
    /* The best dev loss and metric of the branch before the head, and the days since a best. */
    double best_loss = INFINITY, best_metric = NAN;
    size_t since_best = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const panda_day *d = panda_get_day(p, branch[i]);
        if (d->n_curve && d->curve[d->n_curve - 1].dev_loss < best_loss)
            best_loss = d->curve[d->n_curve - 1].dev_loss;
    }
    for (size_t i = 0; i < n; i++) {
        const panda_day *d = panda_get_day(p, branch[i]);
        if (panda_better(p->o.metric, d->value, best_metric)) {
            best_metric = d->value;
            since_best = 0;
        } else {
            since_best++;
        }
    }
    double head_loss = h->n_curve ? h->curve[h->n_curve - 1].dev_loss : NAN;
    const panda_day *prev = n >= 2 ? panda_get_day(p, branch[n - 2]) : NULL;
    double lr = p->pending.lr;
    if (h->diverged || !isfinite(head_loss) || head_loss > p->o.jump * best_loss) {
        char reason[128];
        if (h->diverged || !isfinite(head_loss))
            snprintf(reason, sizeof reason, "day %llu diverged", (unsigned long long)h->day);
        else
            snprintf(reason, sizeof reason, "dev loss jumped to %.4g (best %.4g)", head_loss,
                     best_loss);
        uint64_t back = h->parent;
        caviar_status st = panda_rollback(p, back, err);
        if (st != CAVIAR_OK)
            return st;
        double to = clamp_lr(p, p->pending.lr / 3);
        p->pending.lr = to;
        snprintf(why, len, "%s: %s: back to day %llu, lr %g -> %g", after, reason,
                 (unsigned long long)back, lr, to);
        return CAVIAR_OK;
    }
    if (since_best >= p->o.patience) {
        *stop = 1;
        snprintf(why, len, "%s: no better dev %s for %zu days: stop", after, mname,
                 since_best);
        return CAVIAR_OK;
    }
    double gain = prev ? h->value - prev->value : NAN;
    if (p->o.metric != PANDA_ACCURACY)
        gain = -gain;
    /* Smooth: the training loss fell at every epoch of the day, the first one included (from
     * the previous day's last), so that one-epoch days are judged too. */
    int smooth = h->n_curve > 0;
    const panda_epoch *before = prev && prev->n_curve ? &prev->curve[prev->n_curve - 1] : NULL;
    for (size_t i = 0; i < h->n_curve; i++) {
        const panda_epoch *e = i ? &h->curve[i - 1] : before;
        if (e)
            smooth &= h->curve[i].train_loss < e->train_loss;
    }
    /* A plateau: no better dev metric than the branch's best for two days (one worse day is
     * noise, not a plateau); lr falls every second day of it. */
    if (prev && gain > p->o.min_delta && smooth) {
        double to = clamp_lr(p, lr * 1.5);
        p->pending.lr = to;
        snprintf(why, len, "%s: dev %s rose by %.4g, the training loss fell every epoch: lr %g "
                 "-> %g", after, mname, gain, lr, to);
    } else if (prev && since_best >= 2 && since_best % 2 == 0) {
        double to = clamp_lr(p, lr / 3);
        p->pending.lr = to;
        if (to < lr)
            snprintf(why, len, "%s: no better dev %s for %zu days (plateau): lr %g -> %g", after,
                     mname, since_best, lr, to);
        else
            snprintf(why, len, "%s: no better dev %s for %zu days (plateau), lr %g is at its "
                     "lower bound", after, mname, since_best, lr);
    } else {
        snprintf(why, len, "%s: keep lr %g", after, lr);
    }
    return CAVIAR_OK;
}
