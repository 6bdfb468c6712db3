/*
 * hyperband.c — Hyperband (Li et al. 2017, "Hyperband: A Novel Bandit-Based Approach to
 * Hyperparameter Optimization") over asynchronous successive halving, "hyperband".
 *
 * Successive halving must guess how early a curve says something: a low first rung stops bad
 * trials cheaply but also stops slow starters. Hyperband hedges by running several brackets,
 * from aggressive to none at all. With R = max_resource / min_resource and S the largest
 * integer with eta^S <= R, bracket b = 0 .. S is the rule of sha.c with min_early_stopping_rate
 * b: rungs at min_resource * eta^(b + k), only those strictly below max_resource (a trial that
 * reached max_resource has finished; pruning it would only lose its result). Bracket 0 prunes
 * from the first rung; bracket S, when max_resource is min_resource * eta^S, never prunes: it
 * is plain random search at full resource.
 *
 * Which bracket. Trial number n belongs to bracket b chosen from n alone, so every worker
 * agrees without recording anything. The paper starts bracket s = S - b with
 * n_b = ceil((S + 1) / (s + 1) * eta^s) configurations, which gives every bracket about the same
 * total budget; trials are shared out in those proportions. Trial n takes the point
 * u = frac((n + 1) / phi) (phi the golden ratio, a Weyl sequence computed in 64-bit fixed point)
 * and the bracket whose share of [0, 1), laid out in bracket order, contains it. Unlike
 * n mod total, consecutive trials spread over all brackets from the start, and the share of
 * each bracket among the first N trials is within O(log N / N) of its weight.
 * Example, min_resource=1, max_resource=9, eta=3: S = 2, weights 9, 5, 3 (of 17): bracket 0
 * has rungs 1 and 3, bracket 1 rung 3, bracket 2 none; trials 0..9 go to brackets
 * 1 0 2 0 0 1 0 2 1 0.
 *
 * A trial competes only with the trials of its own bracket, at that bracket's rungs.
 *
 * Settings:
 *   min_resource      the step of the most aggressive first rung (default 1)
 *   max_resource      the last step a trial reports, e.g. the number of epochs (required)
 *   reduction_factor  eta >= 2 (default 3)
 *
 * Invariant: a trial is pruned at a report of step s only if that report is its first to reach
 * some rung r <= s, r < max_resource, of its bracket, and either its value is NaN or at least
 * max(1, floor(n / eta)) of the n trials of its bracket at that rung (itself included) are
 * strictly better there.
 *
 * Cost per call: as successive halving (O(reports of t) off the rungs, one pass over the history
 * at a rung), plus O(S) per trial of the history to find its bracket at a rung.
 */
#include <stdlib.h>

#include "prune_impl.h"

#define MAX_BRACKETS 64

typedef struct hyperband {
    prune_sha_rule rule; /* min_early_stopping_rate set per bracket */
    size_t n_brackets;
    double cum[MAX_BRACKETS]; /* cum[b]: sum of the weights of brackets 0..b */
} hyperband;

size_t prune_hyperband_n_brackets(const void *self)
{
    return ((const hyperband *)self)->n_brackets;
}

size_t prune_hyperband_bracket(const void *self, uint64_t number)
{
    const hyperband *hb = self;
    /* 2^64 / phi, odd: multiplying by it and keeping the low 64 bits is the fractional part
     * of (n + 1) / phi in fixed point. */
    uint64_t frac = (number + 1) * UINT64_C(0x9E3779B97F4A7C15);
    double x = (double)(frac >> 11) * 0x1p-53 * hb->cum[hb->n_brackets - 1];
    for (size_t b = 0; b + 1 < hb->n_brackets; b++)
        if (x < hb->cum[b])
            return b;
    return hb->n_brackets - 1;
}

typedef struct bracket_ctx {
    const hyperband *hb;
    size_t bracket;
} bracket_ctx;

static int same_bracket(const void *ctx, uint64_t number)
{
    const bracket_ctx *c = ctx;
    return prune_hyperband_bracket(c->hb, number) == c->bracket;
}

static const char *const hyperband_keys[] = {"min_resource", "max_resource", "reduction_factor",
                                             NULL};

static caviar_status hyperband_create(util_settings *settings, caviar_direction direction,
                                      void **self, caviar_error *err)
{
    size_t min_resource = 1, max_resource = 0, eta = 3;
    caviar_status st;
    if ((st = util_settings_size(settings, "min_resource", 1, PRUNE_STEP_MAX, &min_resource,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_size(settings, "max_resource", 1, PRUNE_STEP_MAX, &max_resource,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_size(settings, "reduction_factor", 2, 1000000, &eta, err)) !=
            CAVIAR_OK)
        return st;
    if (max_resource == 0)
        return prune_missing(settings, hyperband_keys, "max_resource",
                             "max_resource is the last step a trial reports, e.g. "
                             "max_resource=100 for 100 epochs",
                             err);
    if (max_resource < min_resource)
        return util_err(err, CAVIAR_EINVAL, "%s: max_resource=%zu is below min_resource=%zu",
                        settings->what, max_resource, min_resource);
    hyperband *hb = calloc(1, sizeof *hb);
    if (!hb)
        return util_err(err, CAVIAR_ENOMEM, "cannot create %s: out of memory", settings->what);
    hb->rule.direction = direction;
    hb->rule.min_resource = (int64_t)min_resource;
    hb->rule.max_resource = (int64_t)max_resource;
    hb->rule.eta = (int64_t)eta;
    /* S: the largest s with min_resource * eta^s <= max_resource (below 50, since both are at
     * most 10^15 and eta >= 2). */
    size_t n_top = 0;
    for (size_t r = min_resource; r <= max_resource / eta; r *= eta)
        n_top++;
    hb->n_brackets = n_top + 1;
    double total = 0;
    for (size_t b = 0; b < hb->n_brackets; b++) {
        size_t s = n_top - b; /* halvings in bracket b */
        total += ceil((double)(n_top + 1) / (double)(s + 1) * pow((double)eta, (double)s));
        hb->cum[b] = total;
    }
    *self = hb;
    return CAVIAR_OK;
}

static void hyperband_destroy(void *self)
{
    free(self);
}

static int hyperband_should_prune(void *self, const store_history *h, const store_trial *t)
{
    const hyperband *hb = self;
    bracket_ctx ctx = {hb, prune_hyperband_bracket(hb, t->number)};
    prune_sha_rule rule = hb->rule;
    rule.rate = (unsigned)ctx.bracket;
    return prune_sha_decide(&rule, h, t, same_bracket, &ctx);
}

const prune_type prune_hyperband = {
    .name = "hyperband",
    .keys = hyperband_keys,
    .create = hyperband_create,
    .destroy = hyperband_destroy,
    .should_prune = hyperband_should_prune,
};
