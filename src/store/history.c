/*
 * history.c — the in-process mirror of a study's history (store_history) and the trial records
 * in it. Back-ends fill it through store_history_put(); samplers and pruners only read it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "store.h"

void store_history_init(store_history *h)
{
    memset(h, 0, sizeof *h);
    space_table_init(&h->params);
}

void store_trial_release(store_trial *t)
{
    free(t->values);
    free(t->steps);
    free(t->step_values);
    for (size_t i = 0; i < t->n_attrs; i++) {
        free((char *)t->attrs[i].key);
        free((char *)t->attrs[i].value);
    }
    free(t->attrs);
    free(t->fail_reason);
    memset(t, 0, sizeof *t);
    t->retry_of = -1;
}

void store_study_release(store_study *s)
{
    free(s->name);
    free(s->sampler);
    free(s->sampler_settings);
    free(s->pruner);
    free(s->pruner_settings);
    free(s->spec);
    memset(s, 0, sizeof *s);
}

void store_study_list_release(store_study_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        store_study_release(&l->studies[i]);
    free(l->studies);
    l->studies = NULL;
    l->n = 0;
}

void store_history_release(store_history *h)
{
    for (size_t i = 0; i < h->n_trials; i++)
        store_trial_release(&h->trials[i]);
    free(h->trials);
    space_table_release(&h->params);
    memset(h, 0, sizeof *h);
}

int store_trial_value_at(const store_trial *t, int64_t step, double *value)
{
    /* Reports arrive in increasing step order in practice; scan from the end for the latest
     * one at or before step, and accept any order. */
    int found = 0;
    int64_t best = 0;
    for (size_t i = t->n_reports; i-- > 0;) {
        if (t->steps[i] <= step && (!found || t->steps[i] > best)) {
            best = t->steps[i];
            *value = t->step_values[i];
            found = 1;
            if (best == step)
                break;
        }
    }
    return found;
}

const char *store_trial_attr(const store_trial *t, const char *key)
{
    for (size_t i = 0; i < t->n_attrs; i++)
        if (strcmp(t->attrs[i].key, key) == 0)
            return t->attrs[i].value;
    return NULL;
}

caviar_status store_trial_set_value(store_trial *t, size_t id, double value, caviar_error *err)
{
    if (id >= t->n_values) {
        double *v = realloc(t->values, (id + 1) * sizeof *v);
        if (!v)
            return util_err(err, CAVIAR_ENOMEM, "cannot record a parameter: out of memory");
        for (size_t i = t->n_values; i <= id; i++)
            v[i] = NAN;
        t->values = v;
        t->n_values = id + 1;
    }
    t->values[id] = value;
    return CAVIAR_OK;
}

caviar_status store_trial_add_report(store_trial *t, int64_t step, double value,
                                     caviar_error *err)
{
    /* Steps usually arrive in increasing order: then the check for a repeat is one compare. */
    int later = t->n_reports == 0 || step > t->max_step;
    for (size_t i = 0; !later && i < t->n_reports; i++)
        if (t->steps[i] == step)
            return util_err(err, CAVIAR_EINVAL, "trial %llu already reported step %lld",
                            (unsigned long long)t->number, (long long)step);
    if (t->n_reports == t->cap_reports) {
        size_t cap = t->cap_reports ? 2 * t->cap_reports : 16;
        int64_t *s = realloc(t->steps, cap * sizeof *s);
        if (!s)
            return util_err(err, CAVIAR_ENOMEM, "cannot record a report: out of memory");
        t->steps = s;
        double *v = realloc(t->step_values, cap * sizeof *v);
        if (!v)
            return util_err(err, CAVIAR_ENOMEM, "cannot record a report: out of memory");
        t->step_values = v;
        t->cap_reports = cap;
    }
    t->steps[t->n_reports] = step;
    t->step_values[t->n_reports++] = value;
    if (later)
        t->max_step = step;
    return CAVIAR_OK;
}

caviar_status store_trial_set_attr(store_trial *t, const char *key, const char *value,
                                   caviar_error *err)
{
    char *v = strdup(value);
    if (!v)
        return util_err(err, CAVIAR_ENOMEM, "cannot record an attribute: out of memory");
    for (size_t i = 0; i < t->n_attrs; i++)
        if (strcmp(t->attrs[i].key, key) == 0) {
            free((char *)t->attrs[i].value);
            t->attrs[i].value = v;
            return CAVIAR_OK;
        }
    caviar_attr *a = realloc(t->attrs, (t->n_attrs + 1) * sizeof *a);
    char *k = strdup(key);
    if (!a || !k) {
        if (a)
            t->attrs = a;
        free(k);
        free(v);
        return util_err(err, CAVIAR_ENOMEM, "cannot record an attribute: out of memory");
    }
    t->attrs = a;
    t->attrs[t->n_attrs].key = k;
    t->attrs[t->n_attrs++].value = v;
    return CAVIAR_OK;
}

/* Deep copy of src into an empty dst. */
static caviar_status trial_copy(store_trial *dst, const store_trial *src, caviar_error *err)
{
    memset(dst, 0, sizeof *dst);
    dst->number = src->number;
    dst->state = src->state;
    dst->value = src->value;
    dst->start_time = src->start_time;
    dst->end_time = src->end_time;
    dst->version = src->version;
    dst->has_claim = src->has_claim;
    dst->claim = src->claim;
    dst->retry_of = src->retry_of;
    dst->retries = src->retries;
    dst->requeued = src->requeued;
    caviar_status st = CAVIAR_OK;
    if (src->fail_reason && !(dst->fail_reason = strdup(src->fail_reason)))
        goto oom;
    if (src->n_values) {
        dst->values = malloc(src->n_values * sizeof *dst->values);
        if (!dst->values)
            goto oom;
        memcpy(dst->values, src->values, src->n_values * sizeof *dst->values);
        dst->n_values = src->n_values;
    }
    if (src->n_reports) {
        dst->steps = malloc(src->n_reports * sizeof *dst->steps);
        dst->step_values = malloc(src->n_reports * sizeof *dst->step_values);
        if (!dst->steps || !dst->step_values)
            goto oom;
        memcpy(dst->steps, src->steps, src->n_reports * sizeof *dst->steps);
        memcpy(dst->step_values, src->step_values, src->n_reports * sizeof *dst->step_values);
        dst->n_reports = dst->cap_reports = src->n_reports;
        dst->max_step = src->max_step;
    }
    for (size_t i = 0; i < src->n_attrs; i++)
        if ((st = store_trial_set_attr(dst, src->attrs[i].key, src->attrs[i].value, err)) !=
            CAVIAR_OK) {
            store_trial_release(dst);
            return st;
        }
    return CAVIAR_OK;
oom:
    store_trial_release(dst);
    return util_err(err, CAVIAR_ENOMEM, "cannot copy trial %llu: out of memory",
                    (unsigned long long)src->number);
}

caviar_status store_history_put(store_history *h, const store_trial *src, caviar_error *err)
{
    if (src->number >= h->cap_trials) {
        size_t cap = h->cap_trials ? h->cap_trials : 64;
        while (cap <= src->number)
            cap *= 2;
        store_trial *t = realloc(h->trials, cap * sizeof *t);
        if (!t)
            return util_err(err, CAVIAR_ENOMEM, "cannot grow the history: out of memory");
        memset(t + h->cap_trials, 0, (cap - h->cap_trials) * sizeof *t);
        h->trials = t;
        h->cap_trials = cap;
    }
    store_trial copy;
    caviar_status st = trial_copy(&copy, src, err);
    if (st != CAVIAR_OK)
        return st;
    /* Trials arrive in number order from every back-end; fill any gap with WAITING records so
     * that trials[i].number == i always holds. */
    for (size_t i = h->n_trials; i < src->number; i++) {
        h->trials[i].number = i;
        h->trials[i].state = CAVIAR_TRIAL_WAITING;
        h->trials[i].value = NAN;
        h->trials[i].retry_of = -1;
    }
    store_trial_release(&h->trials[src->number]);
    h->trials[src->number] = copy;
    if (src->number >= h->n_trials)
        h->n_trials = src->number + 1;
    return CAVIAR_OK;
}
