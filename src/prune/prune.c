/*
 * prune.c — the table of pruners, opening one from its name and settings, and "none" (never
 * prunes).
 */
#include <stdio.h>
#include <string.h>

#include "prune.h"

static const prune_type *const pruners[] = {
    &prune_none,      &prune_median,    &prune_percentile, &prune_sha,
    &prune_hyperband, &prune_threshold, &prune_patience,   NULL,
};

const prune_type *prune_find(const char *name)
{
    for (int i = 0; pruners[i]; i++)
        if (strcmp(pruners[i]->name, name) == 0)
            return pruners[i];
    return NULL;
}

caviar_status pruner_open(pruner *p, const char *name, const char *settings,
                          caviar_direction direction, caviar_error *err)
{
    memset(p, 0, sizeof *p);
    const prune_type *type = prune_find(name ? name : "none");
    if (!type) {
        const char *best = NULL;
        int best_d = 4;
        for (int i = 0; pruners[i]; i++) {
            int d = util_edit_distance(name, pruners[i]->name);
            if (d < best_d)
                best = pruners[i]->name, best_d = d;
        }
        if (best)
            return util_err(err, CAVIAR_EINVAL, "unknown pruner '%s'\nhint: did you mean '%s'?",
                            name, best);
        return util_err(err, CAVIAR_EINVAL, "unknown pruner '%s'", name);
    }
    char what[64];
    snprintf(what, sizeof what, "pruner '%s'", type->name);
    util_settings kv;
    caviar_status st = util_settings_parse(&kv, settings, what, err);
    if (st != CAVIAR_OK)
        return st;
    void *self = NULL;
    st = type->create(&kv, direction, &self, err);
    if (st == CAVIAR_OK && (st = util_settings_finish(&kv, type->keys, err)) != CAVIAR_OK)
        type->destroy(self);
    util_settings_release(&kv);
    if (st != CAVIAR_OK)
        return st;
    p->type = type;
    p->self = self;
    return CAVIAR_OK;
}

void pruner_close(pruner *p)
{
    if (p->type)
        p->type->destroy(p->self);
    memset(p, 0, sizeof *p);
}

int pruner_should_prune(const pruner *p, const store_history *h, const store_trial *t)
{
    return p->type ? p->type->should_prune(p->self, h, t) : 0;
}

/* ---- none ---- */

static const char *const none_keys[] = {NULL};

static caviar_status none_create(util_settings *settings, caviar_direction direction,
                                 void **self, caviar_error *err)
{
    (void)settings, (void)direction, (void)err;
    *self = NULL;
    return CAVIAR_OK;
}

static void none_destroy(void *self)
{
    (void)self;
}

static int none_should_prune(void *self, const store_history *h, const store_trial *t)
{
    (void)self, (void)h, (void)t;
    return 0;
}

const prune_type prune_none = {
    .name = "none",
    .keys = none_keys,
    .create = none_create,
    .destroy = none_destroy,
    .should_prune = none_should_prune,
};
