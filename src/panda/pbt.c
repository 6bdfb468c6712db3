/*
 * pbt.c — population-based training: the caviar strategy and the panda strategy together.
 *
 * Each member of the population is a trial of the study, run by a worker (caviar_run with one
 * worker per member, so that the population trains side by side). A member starts from
 * hyperparameters the study's sampler draws, trains interval epochs at a time, and after each
 * interval
 *   1. saves its whole training state as the blob "pbt/T" (T its trial number), behind a line
 *      "trained=E\n" (E: the epochs this member has trained so far), and records
 *      "pbt.saved.E" = the state's checksum (the blob is replaced each interval; the checksums
 *      stay, one per E, which only grows);
 *   2. ranks itself among the members that have saved a state, by their dev metric at their
 *      newest saved state (asynchronous PBT: members ahead count with the epochs they have,
 *      members behind with theirs); in the bottom quantile it exploits: it loads the state of a
 *      member of the top quantile (chosen at random), checks that the state's checksum is the
 *      one that member recorded for that epoch, and takes its hyperparameters; then it
 *      explores: each searched hyperparameter is resampled from its distribution with
 *      probability resample, else perturbed on its own scale (x 0.8 or x 1.25 of the value on
 *      a log scale, of 1 - value on the one-minus-log scale, of the value on a linear one; the
 *      next choice up or down for a categorical), then kept inside its bounds.
 * Lineage: "pbt.exploit.E" = "T2 E2 CHECKSUM" (whose state it copied, after E2 epochs of T2's
 * training, checked),
 * "pbt.explore.E" = what changed, "pbt.hparams.E" = the hyperparameters it trained on with after
 * epoch E. The trial's parameters are its first hyperparameters; its reports are its dev metric
 * per epoch (step = the model's epoch count, which an exploit may move forward); its value is
 * the dev metric at the end, with the test metric in "test_accuracy" / "test_rmse".
 *
 * With exploit off (exploit: false) the same run is random search with the same compute: the
 * baseline PBT is measured against.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "panda_impl.h"
#include "space/space.h"
#include "util/util.h"

typedef struct member_view {
    uint64_t number;
    double value; /* latest dev metric at a step >= the window's start */
    int64_t step;
} member_view;

static int cmp_member(const void *a, const void *b, void *metric)
{
    const member_view *x = a, *y = b;
    panda_metric m = *(const panda_metric *)metric;
    if (panda_better(m, x->value, y->value))
        return -1;
    if (panda_better(m, y->value, x->value))
        return 1;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* Insertion sort with a context (few members): best first. */
static void sort_members(member_view *v, size_t n, panda_metric m)
{
    for (size_t i = 1; i < n; i++) {
        member_view key = v[i];
        size_t j = i;
        while (j > 0 && cmp_member(&v[j - 1], &key, &m) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = key;
    }
}

static const char *attr_of(const caviar_trial_view *v, const char *key)
{
    for (size_t i = 0; i < v->n_attrs; i++)
        if (strcmp(v->attrs[i].key, key) == 0)
            return v->attrs[i].value;
    return NULL;
}

/* A hyperparameter moved on its own scale, or resampled; kept admissible. */
double panda_pbt_perturb(const caviar_dist *d, double v, double resample, util_rng *rng)
{
    if (util_rng_uniform(rng) < resample)
        return caviar_dist_from_unit(d, util_rng_uniform(rng));
    int up = util_rng_uniform(rng) < 0.5;
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        double k = v + (up ? 1 : -1);
        return k < 0 ? 1 : k >= (double)d->n_choices ? (double)d->n_choices - 2 : k;
    }
    double f = up ? 1.25 : 0.8, x;
    switch (d->scale) {
    case CAVIAR_SCALE_ONE_MINUS_LOG: x = 1 - (1 - v) * f; break;
    case CAVIAR_SCALE_LINEAR:
        x = v != 0 ? v * f : (up ? 1 : -1) * 0.05 * (d->high - d->low);
        break;
    default: x = v * f; break;
    }
    if (d->scale != CAVIAR_SCALE_NORMAL && d->scale != CAVIAR_SCALE_LOG_NORMAL)
        x = x < d->low ? d->low : x > d->high ? d->high : x;
    /* ints and steps: the admissible value nearest on the scale */
    return caviar_dist_from_unit(d, caviar_dist_to_unit(d, x));
}

typedef struct member_run {
    const panda_pbt_opts *o;
    caviar_trial *t;
    size_t trained;     /* epochs this member has trained (its compute: the report step) */
    double last;
    int failed;
    caviar_error *err;
} member_run;

static int on_epoch(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    (void)nn;
    member_run *r = user;
    r->last = panda_metric_value(r->o->base.metric, &info->dev);
    r->trained++;
    if (caviar_trial_report(r->t, (int64_t)r->trained, r->last, r->err) != CAVIAR_OK) {
        r->failed = 1;
        return CAVIAR_NN_STOP;
    }
    return caviar_stop_requested() ? CAVIAR_NN_STOP : CAVIAR_NN_CONTINUE;
}

static caviar_status set_attrf(caviar_trial *t, const char *key, caviar_error *err,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static caviar_status set_attrf(caviar_trial *t, const char *key, caviar_error *err,
                               const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    return caviar_trial_set_attr(t, key, value, err);
}

/* A member's dev metric at its newest saved state: the report at the largest step E with a
 * "pbt.saved.E", so that the state an exploit copies is the one that was ranked (unless its
 * owner saves a newer one in between: the copy then says so). */
static int value_saved(const caviar_trial_view *v, double *value)
{
    for (size_t i = v->n_reports; i-- > 0;) {
        int64_t step = v->report_steps[i];
        char key[64];
        snprintf(key, sizeof key, "pbt.saved.%lld", (long long)step);
        if (attr_of(v, key)) {
            *value = v->report_values[i];
            return 1;
        }
    }
    return 0;
}

/* After `trained` epochs of this member: save, rank, maybe exploit and explore. */
static caviar_status interval_end(const panda_pbt_opts *o, caviar_trial *t, size_t trained,
                                  caviar_nn **nnp, caviar_nn_hparams *hp, util_rng *rng,
                                  caviar_error *err)
{
    caviar_study *s = caviar_trial_study(t);
    caviar_nn *nn = *nnp;
    size_t epoch = trained;
    uint64_t me = caviar_trial_number(t);
    char key[64], akey[64];
    void *bytes;
    size_t len;
    caviar_status st = caviar_nn_serialize(nn, &bytes, &len, err);
    if (st != CAVIAR_OK)
        return st;
    char head[32];
    int hl = snprintf(head, sizeof head, "trained=%zu\n", trained);
    unsigned char *blob = malloc(len + (size_t)hl);
    if (!blob) {
        free(bytes);
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    memcpy(blob, head, (size_t)hl);
    memcpy(blob + hl, bytes, len);
    free(bytes);
    snprintf(key, sizeof key, "pbt/%llu", (unsigned long long)me);
    st = caviar_study_put_blob(s, key, blob, len + (size_t)hl, err);
    free(blob);
    snprintf(akey, sizeof akey, "pbt.saved.%zu", trained);
    if (st != CAVIAR_OK ||
        (st = set_attrf(t, akey, err, "%08x", (unsigned)caviar_nn_checksum(nn))) != CAVIAR_OK ||
        (st = caviar_study_refresh(s, err)) != CAVIAR_OK)
        return st;
    if (!o->exploit)
        return CAVIAR_OK;

    /* The members with a saved state, by their metric then. */
    size_t n = caviar_study_n_trials(s), k = 0;
    member_view *m = calloc(n ? n : 1, sizeof *m);
    if (!m)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        caviar_trial_view v;
        double val;
        if (caviar_study_trial(s, i, &v) != CAVIAR_OK ||
            (v.state != CAVIAR_TRIAL_RUNNING && v.state != CAVIAR_TRIAL_COMPLETE) ||
            !value_saved(&v, &val))
            continue;
        m[k++] = (member_view){v.number, val, (int64_t)trained};
    }
    sort_members(m, k, o->base.metric);
    size_t rank = k;
    for (size_t i = 0; i < k; i++)
        if (m[i].number == me)
            rank = i;
    size_t cut = (size_t)floor(o->quantile * (double)k + 0.5); /* two members: one each */
    if (k < 2 || cut == 0 || rank == k || rank < k - cut) {
        free(m);
        return CAVIAR_OK; /* not in the bottom quantile (or too few to rank) */
    }
    /* Exploit a member of the top quantile whose saved state can be read and checked. */
    for (size_t tries = 0; tries < 2 * cut; tries++) {
        const member_view *src = &m[util_rng_below(rng, cut)];
        if (src->number == me)
            continue;
        snprintf(key, sizeof key, "pbt/%llu", (unsigned long long)src->number);
        caviar_error e2;
        if (caviar_study_get_blob(s, key, &bytes, &len, &e2) != CAVIAR_OK)
            continue;
        /* "trained=E\n", then the state. */
        size_t src_epoch = 0, skip = 0;
        const char *text = bytes;
        if (len > 8 && memcmp(text, "trained=", 8) == 0) {
            const char *nl = memchr(text, '\n', len < 40 ? len : 40);
            if (nl) {
                src_epoch = (size_t)strtoull(text + 8, NULL, 10);
                skip = (size_t)(nl - text) + 1;
            }
        }
        caviar_nn *copy = skip ? caviar_nn_deserialize(text + skip, len - skip, key, &e2) : NULL;
        free(bytes);
        if (!copy)
            continue;
        /* The checksum its owner recorded then (refreshed: it may be newer). */
        uint32_t sum = caviar_nn_checksum(copy);
        const char *rec = NULL;
        for (int pass = 0; pass < 2 && !rec; pass++) {
            if (pass && caviar_study_refresh(s, err) != CAVIAR_OK)
                break;
            for (size_t i = 0; i < caviar_study_n_trials(s); i++) {
                caviar_trial_view v;
                if (caviar_study_trial(s, i, &v) != CAVIAR_OK || v.number != src->number)
                    continue;
                snprintf(akey, sizeof akey, "pbt.saved.%zu", src_epoch);
                rec = attr_of(&v, akey);
                break;
            }
        }
        if (!rec || strtoul(rec, NULL, 16) != sum) {
            caviar_nn_free(copy);
            continue; /* replaced while we read it: try another */
        }
        caviar_nn_free(nn);
        *nnp = nn = copy;
        *hp = *caviar_nn_get_hparams(nn);
        snprintf(akey, sizeof akey, "pbt.exploit.%zu", epoch);
        st = set_attrf(t, akey, err, "%llu %zu %08x", (unsigned long long)src->number, src_epoch,
                       (unsigned)sum);
        /* Explore. */
        char what[512] = "";
        for (size_t i = 0; i < o->base.n_bounds && st == CAVIAR_OK; i++) {
            const objective_param *b = &o->base.bounds[i];
            double before = panda_hp_get(hp, b->name), internal, after;
            if (isnan(before) || panda_internal_of(&b->dist, before, &internal) != 0)
                continue;
            double moved = panda_pbt_perturb(&b->dist, internal, o->resample, rng);
            after = b->dist.kind == CAVIAR_DIST_CATEGORICAL ? b->dist.choices[(size_t)moved].number
                                                            : moved;
            panda_hp_put(hp, b->name, after);
            size_t at = strlen(what);
            snprintf(what + at, sizeof what - at, "%s%s %g -> %g", at ? ", " : "", b->name,
                     before, after);
        }
        snprintf(akey, sizeof akey, "pbt.explore.%zu", epoch);
        if (st == CAVIAR_OK)
            st = caviar_trial_set_attr(t, akey, what, err);
        break;
    }
    free(m);
    return st;
}

caviar_trial_state panda_pbt_member(caviar_trial *t, void *user, double *value, caviar_error *err)
{
    const panda_pbt_opts *o = user;
    const panda_opts *b = &o->base;
    caviar_nn_hparams hp = b->hp;
    for (size_t i = 0; i < b->n_bounds; i++) {
        double internal;
        if (caviar_trial_suggest(t, b->bounds[i].name, &b->bounds[i].dist, &internal, err) !=
            CAVIAR_OK)
            return CAVIAR_TRIAL_FAIL;
        const caviar_dist *d = &b->bounds[i].dist;
        panda_hp_put(&hp, b->bounds[i].name,
                     d->kind == CAVIAR_DIST_CATEGORICAL ? d->choices[(size_t)internal].number
                                                        : internal);
    }
    uint64_t number = caviar_trial_number(t);
    util_rng rng;
    util_rng_derive(&rng, b->seed, number + 1);
    hp.epochs = b->day_epochs;
    if (caviar_nn_hparams_check(&hp, err) != CAVIAR_OK)
        return CAVIAR_TRIAL_FAIL;
    caviar_nn_set_threads(1);
    caviar_nn *nn = caviar_nn_new(&b->arch, &hp, b->seed * 0x9e3779b97f4a7c15ULL + number + 1, err);
    if (!nn)
        return CAVIAR_TRIAL_FAIL;
    member_run r = {o, t, 0, NAN, 0, err};
    caviar_nn_train_opts to = {.dev = &b->data->dev, .target_std = b->data->target_std,
                               .on_epoch = on_epoch, .user = &r};
    caviar_trial_state end = CAVIAR_TRIAL_COMPLETE;
    char key[64], hps[1024];
    while (r.trained < o->epochs) {
        size_t k = o->epochs - r.trained < b->day_epochs ? o->epochs - r.trained : b->day_epochs;
        hp.epochs = caviar_nn_epoch(nn) + k;
        caviar_error terr;
        if (caviar_nn_set_hparams(nn, &hp, &terr) != CAVIAR_OK) {
            *err = terr;
            end = CAVIAR_TRIAL_FAIL;
            break;
        }
        caviar_status st = caviar_nn_train(nn, &b->data->train, &to, NULL, &terr);
        if (r.failed) {
            end = CAVIAR_TRIAL_FAIL;
            break;
        }
        if (st == CAVIAR_DIVERGED) {
            caviar_trial_set_attr(t, "diverged", terr.msg, NULL);
            end = CAVIAR_TRIAL_PRUNED;
            break;
        }
        if (st == CAVIAR_STOPPED) {
            end = CAVIAR_TRIAL_PRUNED;
            break;
        }
        if (st != CAVIAR_OK) {
            *err = terr;
            end = CAVIAR_TRIAL_FAIL;
            break;
        }
        if (r.trained >= o->epochs)
            break;
        if (interval_end(o, t, r.trained, &nn, &hp, &rng, err) != CAVIAR_OK) {
            end = CAVIAR_TRIAL_FAIL;
            break;
        }
        panda_hp_write(&hp, hps, sizeof hps);
        snprintf(key, sizeof key, "pbt.hparams.%zu", r.trained);
        caviar_trial_set_attr(t, key, hps, NULL);
    }
    *value = r.last;
    if (end == CAVIAR_TRIAL_COMPLETE) {
        if (!isfinite(r.last)) {
            util_err(err, CAVIAR_EINVAL, "the dev metric is not a number (no dev set?)");
            end = CAVIAR_TRIAL_FAIL;
        } else if (b->data->test.n) {
            caviar_nn_eval test;
            caviar_error terr;
            if (caviar_nn_evaluate(nn, &b->data->test, b->data->target_std, &test, &terr) ==
                CAVIAR_OK) {
                int acc = b->data->task == CAVIAR_TASK_CLASSIFICATION;
                set_attrf(t, acc ? "test_accuracy" : "test_rmse", NULL, "%.17g",
                          acc ? test.accuracy : test.rmse);
            }
        }
    }
    caviar_nn_free(nn);
    return end;
}
