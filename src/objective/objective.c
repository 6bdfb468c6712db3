/*
 * objective.c — the table of objectives and opening one from its spec ("name:k=v,k=v").
 */
#include <stdio.h>
#include <string.h>

#include "objective.h"

static const objective_type *const objectives[] = {&objective_mlp, &objective_branin,
                                                   &objective_hartmann6, &objective_quadratic,
                                                   NULL};

caviar_direction objective_direction(const objective_type *type, const void *self)
{
    return type->direction_of ? type->direction_of(self) : type->direction;
}

const objective_type *const *objective_list(void)
{
    return objectives;
}

const objective_type *objective_find(const char *name)
{
    for (size_t i = 0; objectives[i]; i++)
        if (strcmp(objectives[i]->name, name) == 0)
            return objectives[i];
    return NULL;
}

caviar_status objective_open(objective *o, const char *spec, caviar_error *err)
{
    memset(o, 0, sizeof *o);
    char name[64];
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, spec, len);
    name[len] = '\0';
    const objective_type *type = objective_find(name);
    if (!type) {
        const char *close = NULL;
        int best = 3;
        for (size_t i = 0; objectives[i]; i++) {
            int d = util_edit_distance(name, objectives[i]->name);
            if (d < best)
                best = d, close = objectives[i]->name;
        }
        if (close)
            return util_err(err, CAVIAR_EINVAL, "unknown objective '%s'; did you mean '%s'?",
                            name, close);
        return util_err(err, CAVIAR_EINVAL,
                        "unknown objective '%s'\nhint: mlp, branin, hartmann6 or quadratic",
                        name);
    }
    util_settings kv;
    char what[96];
    snprintf(what, sizeof what, "objective '%s'", type->name);
    caviar_status st = util_settings_parse(&kv, colon ? colon + 1 : "", what, err);
    if (st != CAVIAR_OK)
        return st;
    st = type->create(&kv, &o->self, err);
    if (st == CAVIAR_OK && (st = util_settings_finish(&kv, type->keys, err)) != CAVIAR_OK) {
        type->destroy(o->self);
        o->self = NULL;
    }
    util_settings_release(&kv);
    if (st == CAVIAR_OK)
        o->type = type;
    return st;
}

caviar_status objective_set_space(objective *o, const objective_param *params, size_t n,
                                  caviar_error *err)
{
    if (!o->type->set_space)
        return n == 0 ? CAVIAR_OK
                      : util_err(err, CAVIAR_EINVAL, "objective '%s' has a search space of its "
                                 "own: it takes no parameters", o->type->name);
    return o->type->set_space(o->self, params, n, err);
}

void objective_close(objective *o)
{
    if (o->type)
        o->type->destroy(o->self);
    memset(o, 0, sizeof *o);
}
