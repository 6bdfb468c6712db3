/*
 * prune.h — pruners: whether a trial's learning curve is bad enough to stop it now.
 *
 * A pruner is a const type object like a sampler (prune.c holds the table). The study calls
 * should_prune() after each report with the history mirror (every trial's reports, including
 * the RUNNING ones of other workers) and the trial itself as it is in that history, its newest
 * report included. A pruner never changes the history; each file states its rule as an
 * invariant ("a trial is pruned at step s only if ...").
 *
 * Values are compared in the study's direction; a NaN or infinite report is left to the
 * threshold pruner (and every pruner must at least not crash on one).
 */
#ifndef CAVIAR_PRUNE_H
#define CAVIAR_PRUNE_H

#include "store/store.h"

typedef struct prune_type {
    const char *name;
    const char *const *keys;
    caviar_status (*create)(util_settings *settings, caviar_direction direction, void **self,
                            caviar_error *err);
    void (*destroy)(void *self);
    /* 1 to stop trial t at its newest report, else 0. */
    int (*should_prune)(void *self, const store_history *h, const store_trial *t);
} prune_type;

const prune_type *prune_find(const char *name);

typedef struct pruner {
    const prune_type *type;
    void *self;
} pruner;

caviar_status pruner_open(pruner *p, const char *name, const char *settings,
                          caviar_direction direction, caviar_error *err);
void pruner_close(pruner *p);
int pruner_should_prune(const pruner *p, const store_history *h, const store_trial *t);

extern const prune_type prune_none;
extern const prune_type prune_median;     /* percentile.c */
extern const prune_type prune_percentile; /* percentile.c */
extern const prune_type prune_sha;        /* sha.c, "successive-halving" */
extern const prune_type prune_hyperband;  /* hyperband.c */
extern const prune_type prune_threshold;  /* threshold.c */
extern const prune_type prune_patience;   /* patience.c */

#endif
