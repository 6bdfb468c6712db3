/*
 * prune_impl.h — what the pruners of src/prune/ share, and what their tests look into. The rest
 * of caviar sees prune.h only.
 *
 * Conventions every pruner follows:
 *   - A value is compared as a loss (prune_loss): lower is better whatever the study's
 *     direction, and NaN is worse than every number, +Inf and -Inf included. Sorting and
 *     ranking losses never meets a NaN, so no comparison can go wrong on a diverged report.
 *   - A trial's newest report is the last entry of steps[]/step_values[]; steps are unique but
 *     the store does not promise they increase, so "the previous step" is the largest earlier
 *     one, and a report that goes back in steps never triggers a new decision.
 */
#ifndef CAVIAR_PRUNE_IMPL_H
#define CAVIAR_PRUNE_IMPL_H

#include <math.h>
#include <stdint.h>

#include "prune.h"

/* Caps on settings: steps (warm-up, interval, resources) stay far enough below INT64_MAX that
 * the sum of two cannot overflow; counts of trials or reports are capped at a billion. Both
 * are round so that the range in an error message reads well. */
#define PRUNE_STEP_MAX ((size_t)1000000000000000)
#define PRUNE_COUNT_MAX ((size_t)1000000000)

/* A reported value as a loss: lower is better, NaN the worst of all. */
static inline double prune_loss(caviar_direction direction, double value)
{
    if (isnan(value))
        return INFINITY;
    return direction == CAVIAR_MAXIMIZE ? -value : value;
}

/* The largest step t reported before its newest report; INT64_MIN when the newest is the
 * first. O(reports of t). */
static inline int64_t prune_previous_step(const store_trial *t)
{
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i + 1 < t->n_reports; i++)
        if (t->steps[i] > prev)
            prev = t->steps[i];
    return prev;
}

/* Whether t's newest report is a check point for a pruner that checks at steps warmup,
 * warmup + interval, warmup + 2 interval, ...: its step s is at least warmup and no earlier
 * report reached the last check point at or below s. A trial that skips a check point (reports
 * every 3 steps with interval 2) is checked at its first report past it; one that reports the
 * same interval twice is checked once. interval >= 1. */
static inline int prune_is_check_step(const store_trial *t, int64_t warmup, int64_t interval)
{
    if (t->n_reports == 0)
        return 0;
    int64_t s = t->steps[t->n_reports - 1];
    if (s < warmup)
        return 0;
    int64_t point = warmup + (s - warmup) / interval * interval;
    return prune_previous_step(t) < point;
}

/* For a pruner with a required key: reports first any key that is unknown (a misspelling of
 * the required key gets its "did you mean"), then that the key is missing. Call after reading
 * every other key. */
static inline caviar_status prune_missing(util_settings *settings, const char *const *keys,
                                          const char *key, const char *hint, caviar_error *err)
{
    caviar_status st = util_settings_finish(settings, keys, err);
    if (st != CAVIAR_OK)
        return st;
    return util_err(err, CAVIAR_EINVAL, "%s needs the setting '%s'\nhint: %s", settings->what,
                    key, hint);
}

/* The q-th percentile (q in [0, 100]) of a[0..n), n >= 1, no NaN in a, with linear
 * interpolation between order statistics (numpy's default); reorders a. Expected O(n). */
double prune_percentile_of(double *a, size_t n, double q);

/* ---- successive halving, shared by sha.c and hyperband.c ---------------------------------- */

/* Rungs at min_resource * eta^(rate + k), k = 0, 1, ...; only rungs strictly below
 * max_resource count (INT64_MAX for none). A trial that reaches a rung where fewer than
 * bootstrap other trials have been is not promoted. */
typedef struct prune_sha_rule {
    caviar_direction direction;
    int64_t min_resource, max_resource;
    int64_t eta;
    unsigned rate;
    size_t bootstrap;
} prune_sha_rule;

/* Whether other trial number competes with t (hyperband: the same bracket); NULL for all. */
typedef int (*prune_member_fn)(const void *ctx, uint64_t number);

/* 1 when t is not promoted at some rung its newest report crossed (see sha.c). */
int prune_sha_decide(const prune_sha_rule *rule, const store_history *h, const store_trial *t,
                     prune_member_fn member, const void *ctx);

/* The bracket of trial number under a hyperband pruner's self, and how many brackets it has
 * (for tests and reports). */
size_t prune_hyperband_bracket(const void *self, uint64_t number);
size_t prune_hyperband_n_brackets(const void *self);

#endif
