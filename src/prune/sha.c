/*
 * sha.c — asynchronous successive halving, "successive-halving" (ASHA: Li et al. 2018, "A
 * System for Massively Parallel Hyperparameter Tuning"), and the rung rule that hyperband.c
 * runs once per bracket.
 *
 * Rungs stand at steps r_k = min_resource * eta^(min_early_stopping_rate + k), k = 0, 1, ...
 * A trial reaches rung r at its first report whose step is r or more (its earlier steps are all
 * below r), and its value at the rung is the value of that report. When the trial being judged
 * reaches a rung, it is compared with every other trial of the history that has reached the
 * rung (running, complete, pruned or failed: a trial counts at every rung it got to). With n
 * trials at the rung, itself included, and m = max(1, floor(n / eta)), it is promoted -- goes
 * on -- when fewer than m of them have a strictly better value there, i.e. it is among the best
 * m, ties in its favour. Otherwise it is pruned. A report that jumps over several rungs must
 * pass each of them, lowest first.
 *
 * Why m is at least 1: ASHA would leave a trial waiting at a rung until enough trials are there
 * to promote one; a training run here cannot be paused, so a trial that comes early to a rung
 * goes on only if it is the best there so far (Optuna makes the same choice).
 * Why nothing is recorded: the rung values are recomputed from the reports each time, so every
 * worker that sees the same history takes the same decision and there is no second copy of the
 * truth to disagree with the reports.
 * Why only at the report that reaches the rung: promotion is final, as in ASHA. A promoted trial
 * is not judged again at that rung when later trials get there, and reports between rungs cost
 * nothing.
 *
 * Settings:
 *   min_resource             the step of the first rung when the rate is 0 (default 1)
 *   reduction_factor         eta >= 2: the best 1/eta go on, rungs are eta times apart (default
 *                            4)
 *   min_early_stopping_rate  the first rung is at min_resource * eta^rate (default 0)
 *   bootstrap_count          a trial that reaches a rung which fewer than this many other trials
 *                            have reached is pruned: the first ones there only set the bar
 *                            (default 0; Optuna's rule)
 *
 * Invariant: a trial is pruned at a report of step s only if that report is its first to reach
 * some rung r <= s, and there fewer than bootstrap_count other trials had been, or its value is
 * NaN, or at least max(1, floor(n / eta)) of the n trials at the rung (itself included) are
 * strictly better there.
 *
 * Cost per call: O(reports of t) when no rung is reached, which is almost every call; at a rung,
 * one pass over the history that reads each trial's reports up to the rung: O(total reports) per
 * rung reached. No allocation.
 */
#include <stdlib.h>

#include "prune_impl.h"

/* The value trial o reported when it reached step r: its first report, in order of arrival,
 * whose step is r or more. */
static int rung_value(const store_trial *o, int64_t r, double *value)
{
    for (size_t i = 0; i < o->n_reports; i++)
        if (o->steps[i] >= r) {
            *value = o->step_values[i];
            return 1;
        }
    return 0;
}

/* Whether t passes rung r with the value of its newest report. */
static int promoted(const prune_sha_rule *rule, const store_history *h, const store_trial *t,
                    int64_t r, prune_member_fn member, const void *ctx)
{
    double value = t->step_values[t->n_reports - 1];
    if (isnan(value))
        return 0;
    double loss = prune_loss(rule->direction, value);
    size_t n_others = 0, n_better = 0;
    for (size_t i = 0; i < h->n_trials; i++) {
        const store_trial *o = &h->trials[i];
        double v;
        if (o->number == t->number || (member && !member(ctx, o->number)) ||
            !rung_value(o, r, &v))
            continue;
        n_others++;
        n_better += prune_loss(rule->direction, v) < loss;
    }
    if (n_others < rule->bootstrap)
        return 0;
    size_t m = (n_others + 1) / (size_t)rule->eta;
    return n_better < (m ? m : 1);
}

int prune_sha_decide(const prune_sha_rule *rule, const store_history *h, const store_trial *t,
                     prune_member_fn member, const void *ctx)
{
    if (t->n_reports == 0)
        return 0;
    int64_t s = t->steps[t->n_reports - 1], prev = prune_previous_step(t);
    if (s <= prev)
        return 0; /* a step back reaches no new rung */
    int64_t r = rule->min_resource;
    for (unsigned i = 0; i < rule->rate; i++) {
        if (r > INT64_MAX / rule->eta)
            return 0; /* the first rung is beyond any step */
        r *= rule->eta;
    }
    while (r <= s && r < rule->max_resource) {
        if (r > prev && !promoted(rule, h, t, r, member, ctx))
            return 1;
        if (r > INT64_MAX / rule->eta)
            break;
        r *= rule->eta;
    }
    return 0;
}

static const char *const sha_keys[] = {"min_resource", "reduction_factor",
                                       "min_early_stopping_rate", "bootstrap_count", NULL};

static caviar_status sha_create(util_settings *settings, caviar_direction direction, void **self,
                                caviar_error *err)
{
    size_t min_resource = 1, eta = 4, rate = 0, bootstrap = 0;
    caviar_status st;
    if ((st = util_settings_size(settings, "min_resource", 1, PRUNE_STEP_MAX, &min_resource,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_size(settings, "reduction_factor", 2, 1000000, &eta, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(settings, "min_early_stopping_rate", 0, 62, &rate, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(settings, "bootstrap_count", 0, PRUNE_COUNT_MAX, &bootstrap,
                                 err)) != CAVIAR_OK)
        return st;
    prune_sha_rule *rule = calloc(1, sizeof *rule);
    if (!rule)
        return util_err(err, CAVIAR_ENOMEM, "cannot create %s: out of memory", settings->what);
    rule->direction = direction;
    rule->min_resource = (int64_t)min_resource;
    rule->max_resource = INT64_MAX;
    rule->eta = (int64_t)eta;
    rule->rate = (unsigned)rate;
    rule->bootstrap = bootstrap;
    *self = rule;
    return CAVIAR_OK;
}

static void sha_destroy(void *self)
{
    free(self);
}

static int sha_should_prune(void *self, const store_history *h, const store_trial *t)
{
    return prune_sha_decide(self, h, t, NULL, NULL);
}

const prune_type prune_sha = {
    .name = "successive-halving",
    .keys = sha_keys,
    .create = sha_create,
    .destroy = sha_destroy,
    .should_prune = sha_should_prune,
};
