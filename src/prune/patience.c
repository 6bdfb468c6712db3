/*
 * patience.c — the patience pruner, "patience": stops a trial whose learning curve has stopped
 * improving, like early stopping on a dev set but decided by the tuner.
 *
 * Rule, over the trial's own reports in order of arrival (no other trial is looked at): with
 * p = patience, let recent be the best of its last p reports and before the best of all the
 * reports before them. The trial is pruned when recent does not improve on before by more than
 * min_delta: recent >= before - min_delta when minimising, recent <= before + min_delta when
 * maximising. It needs at least p + 1 reports. NaN counts as the worst value, so a run that has
 * turned NaN for p reports is stopped, and one that recovers from NaN is not.
 *
 * Settings:
 *   patience        p >= 1, the number of reports without enough improvement to tolerate
 *                   (required)
 *   min_delta       >= 0, the least change that counts as an improvement (default 0: any)
 *   n_warmup_steps  no pruning at a step below this (default 0)
 *
 * Invariant: a trial is pruned at its report of step s only if s >= n_warmup_steps, it has at
 * least patience + 1 reports, and the best of its last patience reports is not better than the
 * best of its earlier ones by more than min_delta.
 *
 * Cost per call: O(reports of t), no allocation.
 */
#include <float.h>
#include <stdlib.h>

#include "prune_impl.h"

typedef struct patience {
    caviar_direction direction;
    size_t patience;
    double min_delta;
    int64_t warmup;
} patience;

static const char *const patience_keys[] = {"patience", "min_delta", "n_warmup_steps", NULL};

static caviar_status patience_create(util_settings *settings, caviar_direction direction,
                                     void **self, caviar_error *err)
{
    size_t n = 0, warmup = 0;
    double min_delta = 0;
    caviar_status st;
    if ((st = util_settings_size(settings, "patience", 1, PRUNE_COUNT_MAX, &n, err)) !=
            CAVIAR_OK ||
        (st = util_settings_double(settings, "min_delta", 0, DBL_MAX, &min_delta, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(settings, "n_warmup_steps", 0, PRUNE_STEP_MAX, &warmup, err)) !=
            CAVIAR_OK)
        return st;
    if (n == 0)
        return prune_missing(settings, patience_keys, "patience",
                             "patience=5 stops a trial after 5 reports without improvement", err);
    patience *p = calloc(1, sizeof *p);
    if (!p)
        return util_err(err, CAVIAR_ENOMEM, "cannot create %s: out of memory", settings->what);
    p->direction = direction;
    p->patience = n;
    p->min_delta = min_delta;
    p->warmup = (int64_t)warmup;
    *self = p;
    return CAVIAR_OK;
}

static void patience_destroy(void *self)
{
    free(self);
}

static int patience_should_prune(void *self, const store_history *h, const store_trial *t)
{
    (void)h;
    const patience *p = self;
    size_t n = t->n_reports;
    if (n <= p->patience || t->steps[n - 1] < p->warmup)
        return 0;
    double before = INFINITY, recent = INFINITY; /* as losses */
    for (size_t i = 0; i < n; i++) {
        double l = prune_loss(p->direction, t->step_values[i]);
        double *best = i < n - p->patience ? &before : &recent;
        if (l < *best)
            *best = l;
    }
    /* Both infinite (NaN or diverged all along) compares false: pruned. */
    return !(recent < before - p->min_delta);
}

const prune_type prune_patience = {
    .name = "patience",
    .keys = patience_keys,
    .create = patience_create,
    .destroy = patience_destroy,
    .should_prune = patience_should_prune,
};
