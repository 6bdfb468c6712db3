/*
 * objective.h — what a trial runs: the objectives the command line knows by name.
 *
 * An objective type has a name, the setting keys it reads ("k=v,k=v", util_settings) and a
 * caviar_objective (caviar.h) that runs one trial in a worker: it suggests its parameters,
 * reports intermediate values, checks caviar_trial_should_prune, and returns how the trial
 * ended. The study's spec (caviar_study_opts.spec) names the objective and its settings, so
 * that `caviar worker` joining a study later runs the same one.
 *
 * The built-in MLP trainer (mlp), and benchmark functions with known optima (branin,
 * hartmann6, quadratic), useful to try a sampler, a pruner or a cluster of workers in seconds.
 */
#ifndef CAVIAR_OBJECTIVE_H
#define CAVIAR_OBJECTIVE_H

#include "caviar.h"
#include "util/util.h"

typedef struct objective_param objective_param; /* below */

typedef struct objective_type {
    const char *name;
    const char *summary;
    const char *const *keys; /* NULL-terminated */
    caviar_direction direction;
    double optimum; /* the best value, when known (NaN otherwise) */
    caviar_status (*create)(util_settings *settings, void **self, caviar_error *err);
    void (*destroy)(void *self);
    caviar_objective run; /* user: self */
    /* The direction when it depends on the settings (a metric to maximise or minimise); NULL:
     * direction above. */
    caviar_direction (*direction_of)(const void *self);
    /* Takes the search space of a sweep file (borrowed: it must outlive the objective),
     * checking its names; NULL when the objective has a fixed space of its own. */
    caviar_status (*set_space)(void *self, const objective_param *params, size_t n,
                               caviar_error *err);
} objective_type;

extern const objective_type objective_branin, objective_hartmann6, objective_quadratic,
    objective_mlp;

/* The objective of that name, or NULL. */
const objective_type *objective_find(const char *name);
/* Every objective, NULL-terminated (for --help). */
const objective_type *const *objective_list(void);

/* The direction of an opened objective's value. */
caviar_direction objective_direction(const objective_type *type, const void *self);

/* An objective with its settings, as a worker holds it. */
typedef struct objective {
    const objective_type *type;
    void *self;
} objective;

/* "branin" or "branin:sleep=0.01,epochs=5": the name, then its settings after a colon. An
 * unknown name or key is CAVIAR_EINVAL with a "did you mean". */
caviar_status objective_open(objective *o, const char *spec, caviar_error *err);
void objective_close(objective *o);
/* Gives an opened objective the sweep file's search space (see objective_type.set_space). */
caviar_status objective_set_space(objective *o, const objective_param *params, size_t n,
                                  caviar_error *err);

/* ---- search parameters as a sweep file defines them ------------------------------------------- */

/* One search parameter of a sweep: the study samples dist on its scale; W&B's quantised
 * distributions carry their q in dist.q, so the value stored and passed on is already
 * round(x / q) q. A constant is a categorical of one choice. Names may be dotted for nested
 * parameters ("optimizer.lr"). */
struct objective_param {
    const char *name;
    caviar_dist dist;
};

/* Suggests p in t and returns the value the objective uses: a float's or an int's value; a
 * categorical's number (a boolean as 0 or 1, NaN for a string). A categorical's choice index
 * goes to *choice, when not NULL (0 otherwise). */
caviar_status objective_param_suggest(caviar_trial *t, const objective_param *p, double *value,
                                      size_t *choice, caviar_error *err);

/* ---- metric lines (metrics.c): what a training program prints on its standard output -------- */

#define METRIC_NAME_LEN 64
#define METRIC_MAX 64

typedef struct metric_kv {
    char name[METRIC_NAME_LEN];
    double value;
} metric_kv;

typedef struct metric_line {
    int has_step;
    int64_t step;
    size_t n;
    metric_kv kv[METRIC_MAX];
} metric_line;

/* One line of a program's output (len bytes, no NUL needed; a trailing newline is allowed): a
 * JSON object ({"step": 3, "val_loss": 0.41}) or name=value pairs ("step=3 val_loss=0.41").
 * 1: metrics in *out; 0: not a metric line (ordinary output, which is only logged); -1: a line
 * that claims to be metrics but is malformed, with the reason and the byte offset in err
 * (CAVIAR_EFORMAT). A line claims to be JSON when its first non-blank character is '{', and is
 * a name=value line when every token is NAME=NUMBER; steps come from "step", "_step" or an
 * integer "epoch". metrics.c states the whole rule. On 0 and -1, *out is empty. */
int metric_line_parse(const char *line, size_t len, metric_line *out, caviar_error *err);

/* ---- any program as objective (command.c) ----------------------------------------------------- */

typedef struct objective_command_opts {
    /* The command as a template of arguments, W&B's macros unexpanded ("${env}",
     * "${interpreter}", "${program}", "${args}", "${args_no_hyphens}", "${args_json}",
     * "${args_no_boolean_flags}", "${args_json_file}"); NULL for W&B's default
     * ["${env}", "${interpreter}", "${program}", "${args}"]. */
    const char *const *argv;
    size_t argc;
    const char *program;     /* the sweep's program */
    const objective_param *params;
    size_t n_params;
    const char *metric;      /* the metric the study optimises */
    double timeout;          /* seconds per trial, 0: none */
    double kill_grace;       /* seconds between SIGTERM and SIGKILL (0: 5) */
    const char *log_dir;     /* one log per trial there, trial-N.log, stdout and stderr
                                interleaved line by line (created if needed; NULL: no logs) */
    int threads;             /* BLAS/OpenMP threads of the child (0: 1, unless set in the
                                environment; > 0: that many, whatever the environment says) */
    const char *study;       /* the study's name, passed as CAVIAR_STUDY (NULL: not set) */
} objective_command_opts;

typedef struct objective_command objective_command;

caviar_status objective_command_new(const objective_command_opts *opts,
                                    objective_command **out, caviar_error *err);
void objective_command_free(objective_command *c);
/* A caviar_objective: user is the objective_command. Runs the program once for trial t: its
 * parameters suggested and put on the command line, its metric lines reported as they come,
 * the pruner asked after each; COMPLETE with the last value of opts.metric, PRUNED, or FAIL
 * with the reason (exit status and the end of stderr, timeout, ...). command.c states the
 * whole contract: macros, environment, logs, signals. */
caviar_trial_state objective_command_run(caviar_trial *t, void *user, double *value,
                                         caviar_error *err);

#endif
