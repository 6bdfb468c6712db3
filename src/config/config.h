/*
 * config.h — the sweep file: a YAML file in the format of Weights & Biases sweeps, plus caviar's
 * own keys, read into a config_sweep that says what to search, how, and what to run.
 *
 * A W&B sweep file is accepted as it is and runs offline, without an account:
 *
 *   program: train.py
 *   method: bayes                        grid | random | bayes
 *   metric: {name: val_loss, goal: minimize}
 *   parameters:
 *     lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}
 *     batch_size: {values: [32, 64, 128]}
 *     optimizer:
 *       parameters:                      nested: "optimizer.beta1", "optimizer.eps"
 *         beta1: {min: 0.8, max: 0.99}
 *         eps: {value: 1e-8}
 *   early_terminate: {type: hyperband, min_iter: 3}
 *   command:                             a block list: "${" cannot open a flow list item
 *     - ${env}
 *     - ${interpreter}
 *     - ${program}
 *     - ${args}
 *
 * Top-level keys. W&B's: program, method, metric (name, goal, target; impute and
 * impute_while_running are accepted and mean nothing offline), parameters, early_terminate
 * (type: hyperband with min_iter, or max_iter and s; eta, strict), command, run_cap, and the keys
 * that mean nothing offline: entity, project, name, description, controller. caviar's own:
 *   sampler     a name (random, grid, sobol, coarse-to-fine, tpe) or {name: NAME, KEY: VALUE...}
 *               with the sampler's settings; instead of what method implies
 *   pruner      the same for pruners (none, median, percentile, successive-halving, hyperband,
 *               threshold, patience); instead of early_terminate (not with it)
 *   budget      {trials: N, time: SECONDS or "90s", "30m", "2h", "1d"}; without trials, run_cap
 *               is the trial budget
 *   jobs        worker processes (a number >= 1, or auto)
 *   storage     where the study lives (":memory:", a SQLite file, a postgresql:// URL)
 *   study       the study's name
 *   seed        the study's seed (an integer >= 0)
 *   retries     how many times a trial whose worker died is run again
 *   objective   {KEY: VALUE...} for the built-in MLP trainer instead of a program (read by the
 *               objective, which this reader does not know: kept as text with positions)
 *   panda       {KEY: VALUE...} for caviar panda (babysitting, population-based training),
 *               kept as text like objective:; with it, method and sampler are optional
 * A parameter may also take caviar's grid_points (how many points the grid sampler puts on a
 * continuous distribution's scale), and the distribution one_minus_log_uniform_values.
 *
 * Required: parameters (unless objective: is given: the trainer has a default space); method or
 * sampler; program unless objective: is given or command does not use ${program} (W&B requires
 * it always; caviar only when something runs it); metric.name for bayes, tpe, coarse-to-fine, a
 * pruner or early_terminate (as W&B for bayes and hyperband), unless objective: is given (the
 * trainer reports its own metric). program (or command) and objective exclude each other.
 *
 * Each W&B distribution becomes a caviar_dist on its own scale, so that every sampler works
 * where W&B samples (wandb.c has the table with W&B's definition of each). Values round to
 * W&B's q as they are drawn (caviar_dist.q). A grid (method: grid, or sampler: grid) takes W&B's
 * grid parameters: values, value, int_uniform, q_uniform (its values arange(min, max, q), as
 * W&B's grid has them); other continuous distributions need grid_points there.
 *
 * Numbers are YAML 1.1's, read strictly: an integer is [-+]?[0-9]+ (so "010" is ten, not
 * PyYAML's octal eight), a float also takes exponents without a dot (1e-5, which PyYAML, and so
 * W&B's CLI, would read as a string). Booleans are YAML 1.1's (true/false, yes/no, on/off in
 * their three casings); null is null, ~ or nothing. Quoted scalars are always strings. Aliases
 * (*name) are followed.
 *
 * Errors. Every message starts with FILE:LINE:COLUMN (from 1) and says what is wrong and what
 * was expected:
 *   sweep.yaml:4:5: unknown key 'lerning_rate' in metric; did you mean 'name'?
 *   sweep.yaml:7:20: expected a number for 'min', got 'abc'
 * Unknown keys, duplicate keys, wrong types, min >= max, keys a distribution does not take,
 * probabilities that do not sum to 1 (W&B's tolerance, numpy's isclose: 1e-8 + 1e-5), a YAML
 * syntax error (libyaml's message and position) and sizes beyond the limits below are all
 * errors, CAVIAR_EINVAL (a configuration error: the command line exits 2). A file that cannot
 * be read is CAVIAR_EIO, memory CAVIAR_ENOMEM. Nothing is ever half loaded: on failure *out is
 * empty (zeroed) and needs no release.
 */
#ifndef CAVIAR_CONFIG_H
#define CAVIAR_CONFIG_H

#include "caviar.h"
#include "objective/objective.h"
#include "util/util.h"

/* Limits, each with its own message. */
#define CONFIG_MAX_BYTES (1u << 20)   /* the file */
#define CONFIG_MAX_DEPTH 32           /* nesting of YAML collections */
#define CONFIG_MAX_PARAM_DEPTH 8      /* nesting of parameters */
#define CONFIG_MAX_PARAMS 1000        /* parameters, nested ones included */
#define CONFIG_MAX_VALUES 10000       /* values of one parameter (W&B's grid q_uniform too) */
#define CONFIG_MAX_STRING 4096        /* bytes of one scalar */
#define CONFIG_MAX_ITEMS 1000         /* command elements, objective keys, settings */
#define CONFIG_MAX_NODES 1000000      /* YAML nodes visited (aliases can repeat a subtree) */

/* A position in the file, from 1; 0:0 when the thing was not in the file. */
typedef struct config_pos {
    unsigned line, column;
} config_pos;

/* One key of objective:. A nested mapping gives dotted keys ("data.name"); a sequence of
 * scalars gives its items joined by commas ("256,128"); a scalar gives its text as written
 * (booleans and numbers too: "true", "1e-3"). */
typedef struct config_entry {
    char *key, *value;
    config_pos key_pos, value_pos;
} config_entry;

/* A sweep file read into memory. Every pointer is owned (config_release frees it all), and
 * strings that were absent are NULL. */
typedef struct config_sweep {
    char *path;            /* the name messages use for the file */
    /* What runs a trial: a program (the command objective), or the built-in trainer. */
    char *program;
    char **command;        /* W&B's command template, macros unexpanded; NULL when absent */
    size_t n_command;
    int has_objective;     /* objective: was given (the built-in MLP trainer) */
    config_entry *objective;
    size_t n_objective;
    int has_panda;         /* panda: was given (caviar panda's settings, read by src/panda) */
    config_entry *panda;
    size_t n_panda;
    /* What to optimise. */
    char *metric;          /* metric.name, NULL when absent */
    caviar_direction goal; /* metric.goal, MINIMIZE by default */
    double metric_target;  /* metric.target, NaN when absent (W&B: stop when a run reaches it) */
    /* The search space, in file order, nested names dotted. params[i].name and the choices,
     * their strings and weights of params[i].dist are owned (freed by config_release). */
    objective_param *params;
    config_pos *param_pos; /* where each parameter's name stands */
    size_t n_params;
    /* How to search: sampler and its settings ("k=v,k=v" for util_settings, "" for none) from
     * sampler:, else from method (grid -> grid, random -> random, bayes -> tpe). */
    char *method;          /* W&B's method as written, NULL when absent */
    char *sampler, *sampler_settings;
    /* The pruner and its settings from pruner:, else from early_terminate (see wandb.c), else
     * NULL (no pruning). */
    char *pruner, *pruner_settings;
    /* The budget: 0 means none. max_trials is budget.trials, else run_cap. */
    uint64_t max_trials;
    double max_seconds;
    unsigned jobs;         /* 0: not given (or auto: one per core) */
    char *storage, *study; /* NULL when absent */
    int has_seed;
    uint64_t seed;
    int has_retries;
    unsigned retries;
    /* Informational: W&B's name and description. */
    char *name, *description;
} config_sweep;

/* Reads and checks the sweep file at path. On success *out holds it (config_release); on
 * failure *out is zeroed and err says why. */
caviar_status config_load(const char *path, config_sweep *out, caviar_error *err);
/* The same from text in memory (len bytes, not necessarily NUL-terminated); name is the file
 * name messages use. */
caviar_status config_parse(const char *text, size_t len, const char *name, config_sweep *out,
                           caviar_error *err);
/* Frees everything *c owns and zeroes it; a zeroed struct is fine. */
void config_release(config_sweep *c);

/* The names caviar knows for samplers and pruners (NULL-terminated), for messages and tests. */
extern const char *const config_sampler_names[];
extern const char *const config_pruner_names[];

#endif
