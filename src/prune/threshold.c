/*
 * threshold.c — the threshold pruner, "threshold": stops a trial whose newest report leaves a
 * fixed band, and at once any trial whose newest report is NaN or infinite.
 *
 * The bounds are absolute and do not depend on the study's direction: for a loss, upper=5
 * stops a run that is not learning; for an accuracy, lower=0.2 stops one stuck at chance.
 * A NaN or infinite value stops the trial whatever the warm-up and the interval say: a diverged
 * network does not come back, and every further epoch is wasted (the design asks for a diverged
 * trial to end as PRUNED with the step at which it diverged).
 *
 * Settings:
 *   lower           prune when the value is below it (default: no lower bound)
 *   upper           prune when the value is above it (default: no upper bound)
 *   n_warmup_steps  no pruning on the bounds at a step below this (default 0)
 *   interval_steps  check the bounds at warmup, warmup + interval, ... only (default 1); a
 *                   report is checked if it is the first to reach or pass such a step
 * With neither bound it stops only diverged trials. lower must not be above upper.
 *
 * Invariant: a trial is pruned at a report only if its value is NaN or infinite, or the report
 * is a check step (at or past n_warmup_steps, first at or past its check point) and its value
 * is below lower or above upper.
 *
 * Cost per call: O(1) for a non-finite value, else O(reports of t) for the check step.
 */
#include <stdlib.h>

#include "prune_impl.h"

typedef struct threshold {
    double lower, upper; /* -inf / +inf when not given */
    int64_t warmup, interval;
} threshold;

static const char *const threshold_keys[] = {"lower", "upper", "n_warmup_steps",
                                             "interval_steps", NULL};

static caviar_status threshold_create(util_settings *settings, caviar_direction direction,
                                      void **self, caviar_error *err)
{
    (void)direction;
    double lower = -INFINITY, upper = INFINITY;
    size_t warmup = 0, interval = 1;
    caviar_status st;
    if ((st = util_settings_double(settings, "lower", -INFINITY, INFINITY, &lower, err)) !=
            CAVIAR_OK ||
        (st = util_settings_double(settings, "upper", -INFINITY, INFINITY, &upper, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(settings, "n_warmup_steps", 0, PRUNE_STEP_MAX, &warmup, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(settings, "interval_steps", 1, PRUNE_STEP_MAX, &interval,
                                 err)) != CAVIAR_OK)
        return st;
    if (lower > upper)
        return util_err(err, CAVIAR_EINVAL, "%s: lower=%g is above upper=%g", settings->what,
                        lower, upper);
    threshold *th = calloc(1, sizeof *th);
    if (!th)
        return util_err(err, CAVIAR_ENOMEM, "cannot create %s: out of memory", settings->what);
    th->lower = lower;
    th->upper = upper;
    th->warmup = (int64_t)warmup;
    th->interval = (int64_t)interval;
    *self = th;
    return CAVIAR_OK;
}

static void threshold_destroy(void *self)
{
    free(self);
}

static int threshold_should_prune(void *self, const store_history *h, const store_trial *t)
{
    (void)h;
    const threshold *th = self;
    if (t->n_reports == 0)
        return 0;
    double v = t->step_values[t->n_reports - 1];
    if (!isfinite(v))
        return 1;
    if (!prune_is_check_step(t, th->warmup, th->interval))
        return 0;
    return v < th->lower || v > th->upper;
}

const prune_type prune_threshold = {
    .name = "threshold",
    .keys = threshold_keys,
    .create = threshold_create,
    .destroy = threshold_destroy,
    .should_prune = threshold_should_prune,
};
