/*
 * objective.h — what a trial runs: the objectives the command line knows by name.
 *
 * An objective type has a name, the setting keys it reads ("k=v,k=v", util_settings) and a
 * caviar_objective (caviar.h) that runs one trial in a worker: it suggests its parameters,
 * reports intermediate values, checks caviar_trial_should_prune, and returns how the trial
 * ended. The study's spec (caviar_study_opts.spec) names the objective and its settings, so
 * that `caviar worker` joining a study later runs the same one.
 *
 * Today: benchmark functions with known optima (branin, hartmann6, quadratic), useful to try a
 * sampler, a pruner or a cluster of workers in seconds. The built-in MLP trainer and any
 * program as objective come with the sweep files.
 */
#ifndef CAVIAR_OBJECTIVE_H
#define CAVIAR_OBJECTIVE_H

#include "caviar.h"
#include "util/util.h"

typedef struct objective_type {
    const char *name;
    const char *summary;
    const char *const *keys; /* NULL-terminated */
    caviar_direction direction;
    double optimum; /* the best value, when known (NaN otherwise) */
    caviar_status (*create)(util_settings *settings, void **self, caviar_error *err);
    void (*destroy)(void *self);
    caviar_objective run; /* user: self */
} objective_type;

extern const objective_type objective_branin, objective_hartmann6, objective_quadratic;

/* The objective of that name, or NULL. */
const objective_type *objective_find(const char *name);
/* Every objective, NULL-terminated (for --help). */
const objective_type *const *objective_list(void);

/* An objective with its settings, as a worker holds it. */
typedef struct objective {
    const objective_type *type;
    void *self;
} objective;

/* "branin" or "branin:sleep=0.01,epochs=5": the name, then its settings after a colon. An
 * unknown name or key is CAVIAR_EINVAL with a "did you mean". */
caviar_status objective_open(objective *o, const char *spec, caviar_error *err);
void objective_close(objective *o);

#endif
