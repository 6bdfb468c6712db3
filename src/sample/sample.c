/*
 * sample.c — the table of samplers, opening one from its name and settings, shared helpers, and
 * the random sampler.
 *
 * random: every parameter independently uniform in its unit interval, mapped onto its scale
 * (so a log-scale learning rate is log-uniform, a one-minus-log beta is uniform in log(1 - b)).
 * No settings. Invariant: trial n's values depend only on the study seed and n.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sample.h"

static const sample_type *const samplers[] = {
    &sample_random, &sample_grid, &sample_sobol, &sample_c2f, &sample_tpe, NULL,
};

const sample_type *sample_find(const char *name)
{
    for (int i = 0; samplers[i]; i++)
        if (strcmp(samplers[i]->name, name) == 0)
            return samplers[i];
    return NULL;
}

caviar_status sampler_open(sampler *s, const char *name, const char *settings, uint64_t seed,
                           caviar_direction direction, caviar_error *err)
{
    memset(s, 0, sizeof *s);
    const sample_type *type = sample_find(name ? name : "random");
    if (!type) {
        const char *best = NULL;
        int best_d = 4;
        for (int i = 0; samplers[i]; i++) {
            int d = util_edit_distance(name, samplers[i]->name);
            if (d < best_d)
                best = samplers[i]->name, best_d = d;
        }
        if (best)
            return util_err(err, CAVIAR_EINVAL, "unknown sampler '%s'\nhint: did you mean '%s'?",
                            name, best);
        return util_err(err, CAVIAR_EINVAL, "unknown sampler '%s'", name);
    }
    char what[64];
    snprintf(what, sizeof what, "sampler '%s'", type->name);
    util_settings kv;
    caviar_status st = util_settings_parse(&kv, settings, what, err);
    if (st != CAVIAR_OK)
        return st;
    void *self = NULL;
    st = type->create(&kv, seed, direction, &self, err);
    if (st == CAVIAR_OK && (st = util_settings_finish(&kv, type->keys, err)) != CAVIAR_OK)
        type->destroy(self);
    util_settings_release(&kv);
    if (st != CAVIAR_OK)
        return st;
    s->type = type;
    s->self = self;
    return CAVIAR_OK;
}

void sampler_close(sampler *s)
{
    if (s->type)
        s->type->destroy(s->self);
    memset(s, 0, sizeof *s);
}

int sample_better(caviar_direction direction, double a, double b)
{
    if (isnan(a))
        return 0;
    if (isnan(b))
        return 1;
    return direction == CAVIAR_MAXIMIZE ? a > b : a < b;
}

double sample_uniform(const caviar_dist *d, util_rng *rng)
{
    return caviar_dist_from_unit(d, util_rng_uniform(rng));
}

/* ---- random ---- */

static const char *const random_keys[] = {NULL};

static caviar_status random_create(util_settings *settings, uint64_t seed,
                                   caviar_direction direction, void **self, caviar_error *err)
{
    (void)settings, (void)seed, (void)direction, (void)err;
    *self = NULL;
    return CAVIAR_OK;
}

static void random_destroy(void *self)
{
    (void)self;
}

static caviar_status random_begin(void *self, const store_history *h, sample_ctx *ctx,
                                  caviar_error *err)
{
    (void)self, (void)h, (void)ctx, (void)err;
    return CAVIAR_OK;
}

static caviar_status random_sample(void *self, const store_history *h, sample_ctx *ctx,
                                   size_t param, const caviar_dist *d, double *internal,
                                   caviar_error *err)
{
    (void)self, (void)h, (void)param, (void)err;
    *internal = sample_uniform(d, ctx->rng);
    return CAVIAR_OK;
}

const sample_type sample_random = {
    .name = "random",
    .keys = random_keys,
    .create = random_create,
    .destroy = random_destroy,
    .begin = random_begin,
    .sample = random_sample,
};
