/*
 * sample.h — samplers: where a trial's parameters come from.
 *
 * A sampler is a const type object (a name, its setting keys and function pointers); adding one
 * is one new file and one entry in the table of sample.c. The study drives it:
 *
 *   create(settings)             once per study, with the study's seed and direction
 *   admit(history, ctx)          (optional) before a new trial is created: CAVIAR_STOPPED when
 *                                the sampler has nothing left, so that no trial is started in
 *                                vain; may name a store counter (ctx->counter, with the limit
 *                                ctx->counter_limit) whose next value the new trial claims in
 *                                the transaction that creates it (the grid's next point): the
 *                                store refuses with CAVIAR_STOPPED at the limit. Not called for
 *                                trials that were WAITING (enqueued by hand, or re-runs),
 *                                which run first and keep the claim they had.
 *   begin(history, ctx)          once per new trial, before any suggestion: a sampler that
 *                                samples jointly (grid, Sobol, coarse-to-fine, multivariate TPE)
 *                                fills ctx->proposed[] for the parameters it knows about
 *   sample(history, ctx, p, d)   a value for a parameter the trial asks for that begin did not
 *                                propose (a parameter seen for the first time, a conditional
 *                                one); independent sampling
 *
 * Everything a sampler draws comes from ctx->rng, the trial's own stream derived from the
 * study seed and the trial number: samplers that ignore the history (random, Sobol, grid) thus
 * give trial n the same parameters whichever process asks. Samplers return internal values
 * (caviar.h): a float or int value, or a categorical index; working in the unit interval and
 * mapping with caviar_dist_from_unit() is the usual way.
 *
 * The history is the study's mirror (store.h): every trial so far, RUNNING ones included (for
 * the constant liar), read-only. The trial being asked is in it too, RUNNING, gaining values as
 * it suggests them: a sampler that models running trials must leave out ctx->number itself.
 * ctx->direction tells which values are better. A cache may be keyed on store_trial.version,
 * which every back-end maintains (it changes whenever the trial does).
 */
#ifndef CAVIAR_SAMPLE_H
#define CAVIAR_SAMPLE_H

#include "store/store.h"

typedef struct sample_ctx {
    uint64_t number;             /* the trial being asked */
    util_rng *rng;               /* its random stream */
    caviar_direction direction;
    double *proposed;            /* by parameter id, NaN = no proposal; n_proposed entries */
    size_t n_proposed;
    /* For samplers that keep study-wide state in the store (the grid's cursor) or record what
     * they did with the trial (coarse-to-fine's round and box). */
    store *st;
    int64_t study;
    const char *counter;         /* set by admit(): the counter the new trial claims from, */
    uint64_t counter_limit;      /* its limit, */
    const char *counter_done;    /* and what to say when it is reached */
    int has_claim;               /* for begin(): the trial holds claim (a counter value) */
    uint64_t claim;
    int enqueued;                /* the trial was WAITING (admit was not called) */
} sample_ctx;

typedef struct sample_type {
    const char *name;
    const char *const *keys; /* the setting keys it reads, NULL-terminated */
    caviar_status (*create)(util_settings *settings, uint64_t seed, caviar_direction direction,
                            void **self, caviar_error *err);
    void (*destroy)(void *self);
    caviar_status (*admit)(void *self, const store_history *h, sample_ctx *ctx,
                           caviar_error *err); /* may be NULL */
    caviar_status (*begin)(void *self, const store_history *h, sample_ctx *ctx,
                           caviar_error *err);
    caviar_status (*sample)(void *self, const store_history *h, sample_ctx *ctx, size_t param,
                            const caviar_dist *d, double *internal, caviar_error *err);
} sample_type;

/* The sampler of that name, or NULL. */
const sample_type *sample_find(const char *name);

/* A sampler with its state, as the study holds it. */
typedef struct sampler {
    const sample_type *type;
    void *self;
} sampler;

caviar_status sampler_open(sampler *s, const char *name, const char *settings, uint64_t seed,
                           caviar_direction direction, caviar_error *err);
void sampler_close(sampler *s);

/* Helpers shared by samplers. */
/* Whether a is better than b in direction (NaN is worse than anything). */
int sample_better(caviar_direction direction, double a, double b);
/* A uniform draw in the unit interval mapped onto d. */
double sample_uniform(const caviar_dist *d, util_rng *rng);

extern const sample_type sample_random;
extern const sample_type sample_tpe;
extern const sample_type sample_grid;
extern const sample_type sample_sobol;
extern const sample_type sample_c2f;

#endif
