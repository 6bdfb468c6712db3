/*
 * caviar.h — studies and trials: the ask/tell interface of the tuner.
 *
 * A study searches a space of hyperparameters for the best value of an objective. Each trial
 * asks the study for parameters one at a time (define-by-run: the objective may ask for
 * "n_layers" and then for "units_1" .. "units_n"), reports intermediate values as it trains so
 * that a pruner can stop a bad learning curve early, and is finally told back with its state and
 * value:
 *
 *     caviar_study *s = caviar_study_new(&opts, &err);
 *     for (int i = 0; i < 100; i++) {
 *         caviar_trial *t = caviar_study_ask(s, &err);
 *         double lr;  caviar_trial_suggest_float(t, "lr", 1e-5, 1, CAVIAR_SCALE_LOG, 0, &lr, &err);
 *         for (int epoch = 1; epoch <= 10; epoch++) {
 *             double loss = train_one_epoch(lr);
 *             caviar_trial_report(t, epoch, loss, &err);
 *             if (caviar_trial_should_prune(t)) break;   -> tell PRUNED
 *         }
 *         caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, loss, &err);
 *     }
 *
 * Scales. Every parameter lives on a scale and maps to and from the unit interval on it; the
 * samplers, plots and importance analysis all work in that unit interval:
 *   linear         v = low + u (high - low)
 *   log            v = 10^(log10 low + u (log10 high - log10 low))          (0 < low)
 *   one-minus-log  v = 1 - 10^(log10(1 - low) + u (log10(1 - high) - log10(1 - low)))
 *                  for betas near 1 (0 < low < high < 1): 0.9 -> 0.99 gets as much of the unit
 *                  interval as 0.99 -> 0.999
 *   normal         v = mu + sigma Phi^-1(u)         (Phi the standard normal CDF; unbounded)
 *   log-normal     v = exp(mu + sigma Phi^-1(u))    (ln v is normal)
 *                  u is clamped to [1e-12, 1 - 1e-12] first, so v stays finite: within
 *                  mu -+ 7.03 sigma (resp. its exp); W&B's normal and log_normal
 * Integers, and floats with a step, use the same scales with each admissible value v owning
 * the cell [v - step/2, v + step/2] of the scale; categorical parameters choose among strings,
 * numbers or booleans, each choice owning 1/n of u, or its weight's share of u when the
 * distribution has weights (so drawing u uniformly draws each choice with its probability). A
 * constant is a categorical of one choice.
 *
 * Reproducibility. One seed per study; each trial's random stream is derived from the study
 * seed and the trial number, so the random, grid and Sobol samplers give trial n the same
 * parameters whichever worker asks and in whatever order; the samplers that learn (TPE,
 * coarse-to-fine) give the same parameters for the same seed and the same history.
 *
 * Ownership. caviar_study_new() returns a study the caller frees with caviar_study_free().
 * A caviar_trial returned by caviar_study_ask() belongs to the study and stays valid until it
 * is told (caviar_study_tell) or the study is freed. Strings passed in are copied; strings
 * returned are borrowed from the study and stay valid until it is freed.
 */
#ifndef CAVIAR_H
#define CAVIAR_H

#include "caviar/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- distributions ----------------------------------------------------------------------- */

typedef enum caviar_scale {
    CAVIAR_SCALE_LINEAR, CAVIAR_SCALE_LOG, CAVIAR_SCALE_ONE_MINUS_LOG,
    CAVIAR_SCALE_NORMAL, CAVIAR_SCALE_LOG_NORMAL /* floats only, without a step */
} caviar_scale;

typedef enum caviar_dist_kind {
    CAVIAR_DIST_FLOAT, CAVIAR_DIST_INT, CAVIAR_DIST_CATEGORICAL
} caviar_dist_kind;

typedef enum caviar_value_type {
    CAVIAR_VALUE_NUMBER, CAVIAR_VALUE_STRING, CAVIAR_VALUE_BOOL
} caviar_value_type;

/* One categorical choice. A string is borrowed by whoever holds the value (a study copies the
 * choices it is given). */
typedef struct caviar_value {
    caviar_value_type type;
    double number;      /* NUMBER; BOOL as 0 or 1 */
    const char *string; /* STRING */
} caviar_value;

/* A parameter's distribution.
 *   FLOAT        low..high on scale; step > 0 quantises (v = low + k step, on the value axis);
 *                on the NORMAL and LOG_NORMAL scales mu and sigma instead of low..high, no step
 *   INT          integers low..high on scale (LINEAR or LOG); step >= 1 (default 1)
 *   CATEGORICAL  n_choices choices (the "internal" value is the index), optionally weighted
 * grid_points asks the grid sampler for that many points evenly spaced on the scale (a FLOAT
 * without a step needs it; INT parameters and stepped floats default to every admissible
 * value). It is a hint for the grid, not part of the distribution: caviar_dist_equal ignores
 * it. Fields a kind or scale does not use are ignored (leave them 0): designated initialisers
 * such as {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1} give every other field its default. */
typedef struct caviar_dist {
    caviar_dist_kind kind;
    caviar_scale scale;
    double low, high, step;     /* unused (0) on the NORMAL and LOG_NORMAL scales */
    size_t n_choices;
    const caviar_value *choices;
    size_t grid_points;
    /* CATEGORICAL: NULL (every choice equally likely) or n_choices finite weights >= 0, not all
     * 0. Choice i owns weights[i] / (sum of the weights) of the unit interval, so a sampler that
     * draws u uniformly (random, Sobol) draws it with that probability; coarse-to-fine draws
     * the choices its box allows by weight; TPE takes the weights as its prior over the
     * choices (the data can overrule it); the grid enumerates every choice whatever its
     * weight. Borrowed like choices (a study copies them). */
    const double *weights;
    /* NORMAL and LOG_NORMAL scales: the mean and the standard deviation (> 0) of v, resp. of
     * ln v. */
    double mu, sigma;
    /* FLOAT without a step: a quantum (0: none), W&B's q. A value drawn on the scale, x, becomes
     * round(x / q) q (halves to even): a multiple of q that may lie up to q/2 outside [low,
     * high] (W&B's q_uniform on [0.05, 0.95] with q 0.1 gives 0 and 1). Samplers still work on
     * the scale; the study stores, and the objective gets, the rounded value. */
    double q;
} caviar_dist;

/* Checks a definition; the message names the parameter: "parameter 'lr': log scale needs
 * low > 0, got 0". */
caviar_status caviar_dist_check(const caviar_dist *d, const char *name, caviar_error *err);
/* The unit-interval position of an internal value (a float/int value, or a choice index), and
 * back. from_unit maps [0, 1] onto admissible internal values only (rounded, quantised,
 * clipped). */
double caviar_dist_to_unit(const caviar_dist *d, double internal);
double caviar_dist_from_unit(const caviar_dist *d, double u);
/* Whether internal is an admissible value of d (in range, on the step, a valid index). */
int caviar_dist_contains(const caviar_dist *d, double internal);
/* Same kind, scale, bounds, step, choices and weights (mu and sigma instead of the bounds on
 * the normal scales). */
int caviar_dist_equal(const caviar_dist *a, const caviar_dist *b);
const char *caviar_scale_name(caviar_scale s);

/* ---- studies ------------------------------------------------------------------------------ */

typedef enum caviar_direction { CAVIAR_MINIMIZE, CAVIAR_MAXIMIZE } caviar_direction;

typedef enum caviar_trial_state {
    CAVIAR_TRIAL_WAITING, CAVIAR_TRIAL_RUNNING, CAVIAR_TRIAL_COMPLETE, CAVIAR_TRIAL_PRUNED,
    CAVIAR_TRIAL_FAIL
} caviar_trial_state;

const char *caviar_trial_state_name(caviar_trial_state s);

/* Sampler and pruner settings are "key=value" pairs separated by commas, e.g.
 * "n_startup=10,multivariate=true"; every sampler and pruner documents its keys, and an unknown
 * key is an error with a "did you mean". */
typedef struct caviar_study_opts {
    const char *name;             /* default "study" */
    caviar_direction direction;   /* default MINIMIZE */
    uint64_t seed;
    const char *sampler;          /* random (default), grid, sobol, coarse-to-fine, tpe */
    const char *sampler_settings; /* NULL or "" for the defaults */
    const char *pruner;           /* none (default), median, percentile, successive-halving,
                                     hyperband, threshold, patience */
    const char *pruner_settings;
    /* Where the study lives: NULL or ":memory:" (this process only); a SQLite file
     * ("caviar.db", "sqlite:PATH"), shared by the processes of one machine; a PostgreSQL URL
     * ("postgresql://user@host:5432/db", the PG* environment variables filling the gaps),
     * shared by any number of machines. A study that exists is resumed: its trials stay. */
    const char *storage;
    /* The budget: 0, or ask returns CAVIAR_STOPPED once the study holds this many trials,
     * counted across every worker (a re-run of a lost trial replaces it). */
    uint64_t max_trials;
    /* Workers that may die: every heartbeat seconds (0: never) a thread refreshes the
     * heartbeat of this process's running trials; a running trial whose heartbeat is older
     * than grace seconds (0: never) is ended FAIL ("worker lost") by the next ask of any
     * worker, and re-run with the same parameters up to max_retries times. */
    double heartbeat, grace;
    unsigned max_retries;
    /* Opaque text kept with the study when it is created (a command line keeps the objective
     * there, so that a worker joining later runs the same one); NULL for none. */
    const char *spec;
    /* Opens an existing study to look at it (a dashboard), never writing to its storage: the
     * storage is opened read-only (store_type.open_read_only), and the study of that name is
     * looked up, never created (CAVIAR_EMISSING, "there is no study 'NAME' in STORAGE", when
     * it is absent). Only name and storage are used: direction, seed, sampler, pruner and their
     * settings come from the stored definition, and max_trials, heartbeat (no thread is
     * started), grace, max_retries and spec are ignored. caviar_study_refresh brings the view
     * up to date with the workers' changes; the reading functions work as usual; every call
     * that would write (ask, tell, enqueue, add_param, put_blob, abandon, reap) fails with
     * CAVIAR_EINVAL, saying that the study is open read-only. 0 by default. */
    int read_only;
} caviar_study_opts;

void caviar_study_opts_init(caviar_study_opts *opts);

typedef struct caviar_study caviar_study;
typedef struct caviar_trial caviar_trial;

caviar_study *caviar_study_new(const caviar_study_opts *opts, caviar_error *err);
void caviar_study_free(caviar_study *study);

/* Declares a parameter before any trial asks for it (optional, except for the grid sampler,
 * which enumerates the declared parameters). Declaring it again with another distribution is
 * an error. */
caviar_status caviar_study_add_param(caviar_study *study, const char *name, const caviar_dist *d,
                                     caviar_error *err);

/* Queues a trial with fixed parameters ("try these first"); the next ask takes queued trials
 * before sampling new ones. values[i] is the internal value of names[i]; parameters the
 * objective asks for that are not given here are sampled as usual. */
caviar_status caviar_study_enqueue(caviar_study *study, const char *const *names,
                                   const double *values, size_t n, caviar_error *err);

/* A new RUNNING trial (a queued one, or a fresh number). Returns NULL with status
 * CAVIAR_STOPPED in err when the sampler has nothing left to give (a finished grid) or the
 * budget (opts.max_trials) is spent. */
caviar_trial *caviar_study_ask(caviar_study *study, caviar_error *err);

/* Ends a trial: COMPLETE with its value, PRUNED (value: the last reported one, or NaN) or FAIL
 * (value ignored). A COMPLETE trial with a NaN value is recorded as FAIL. */
caviar_status caviar_study_tell(caviar_study *study, caviar_trial *trial, caviar_trial_state state,
                                double value, caviar_error *err);
/* Ends a trial FAIL with a reason ("interrupted") that is not the trial's fault; with requeue,
 * the same transaction queues a re-run with the same parameters, which the next ask of any
 * worker takes first. */
caviar_status caviar_study_abandon(caviar_study *study, caviar_trial *trial, const char *reason,
                                   int requeue, caviar_error *err);
/* Ends now the running trials of the study whose heartbeat is older than opts.grace (see
 * caviar_study_opts); *n_lost (may be NULL) receives how many. ask() does this by itself. */
caviar_status caviar_study_reap(caviar_study *study, size_t *n_lost, caviar_error *err);
/* Brings this handle's view of the study up to date with every worker's changes (ask, tell
 * and should_prune do it by themselves). */
caviar_status caviar_study_refresh(caviar_study *study, caviar_error *err);
/* The version of this handle's view of the study: it grows whenever the view changes (a new
 * trial, a parameter, a report, an attribute, a state), so that a reader can tell whether there
 * is anything new since it last looked. Comparable only between calls on one handle. */
uint64_t caviar_study_version(const caviar_study *study);
/* This process's worker id, as recorded with the trials it runs ("host:pid:random"). */
const char *caviar_study_worker(const caviar_study *study);

/* Named blobs of the study, kept in its storage beside the trials and seen by every worker
 * (model checkpoints: panda's days, PBT's members). put replaces a blob of the same key; get
 * gives a malloc'd copy in *data (the caller frees it) of *len bytes, CAVIAR_EMISSING when
 * there is none. Deleting the study deletes them. */
caviar_status caviar_study_put_blob(caviar_study *study, const char *key, const void *data,
                                    size_t len, caviar_error *err);
caviar_status caviar_study_get_blob(caviar_study *study, const char *key, void **data,
                                    size_t *len, caviar_error *err);

/* ---- trials ------------------------------------------------------------------------------- */

uint64_t caviar_trial_number(const caviar_trial *trial);
/* The study the trial belongs to (an objective that reads its peers: population-based
 * training). */
caviar_study *caviar_trial_study(caviar_trial *trial);
/* A seed for what the trial trains (weight initialisation, shuffling), from the study's seed
 * and the trial's number: trials differ, runs repeat, and a study with another seed (a
 * re-test) trains every configuration afresh. */
uint64_t caviar_trial_seed(const caviar_trial *trial);

/* Define-by-run suggestions. Asking again for a name in the same trial returns the same value;
 * asking with another distribution than the study knows for that name is an error. */
caviar_status caviar_trial_suggest(caviar_trial *trial, const char *name, const caviar_dist *d,
                                   double *internal, caviar_error *err);
caviar_status caviar_trial_suggest_float(caviar_trial *trial, const char *name, double low,
                                         double high, caviar_scale scale, double step,
                                         double *out, caviar_error *err);
caviar_status caviar_trial_suggest_int(caviar_trial *trial, const char *name, int64_t low,
                                       int64_t high, caviar_scale scale, int64_t step,
                                       int64_t *out, caviar_error *err);
caviar_status caviar_trial_suggest_categorical(caviar_trial *trial, const char *name,
                                               const caviar_value *choices, size_t n,
                                               size_t *index, caviar_error *err);

/* An intermediate value at a step (an epoch, an iteration count); steps need not be
 * contiguous but may not repeat. A NaN or infinite value is recorded as given. */
caviar_status caviar_trial_report(caviar_trial *trial, int64_t step, double value,
                                  caviar_error *err);
/* Whether the study's pruner would stop this trial now, given its last report. */
int caviar_trial_should_prune(caviar_trial *trial);
/* A user attribute: any string key and string value, kept with the trial. */
caviar_status caviar_trial_set_attr(caviar_trial *trial, const char *key, const char *value,
                                    caviar_error *err);

/* ---- reading the history ------------------------------------------------------------------ */

/* A user or system attribute of a trial (system ones are prefixed by their author, e.g.
 * "c2f.round" and "c2f.box" from the coarse-to-fine sampler). */
typedef struct caviar_attr {
    const char *key, *value;
} caviar_attr;

/* A read-only view of a trial in the study's history. Its pointers are borrowed from the study
 * and stay valid until the next caviar_study_trial() or caviar_study_best() call, or the next
 * call that changes the study (ask, suggest, report, tell, enqueue), whichever comes first. */
typedef struct caviar_trial_view {
    uint64_t number;
    caviar_trial_state state;
    double value;                /* NaN unless COMPLETE (or PRUNED with a last value) */
    size_t n_params;
    const char *const *param_names;
    const caviar_dist *const *param_dists;
    const double *param_values;  /* internal values */
    size_t n_reports;
    const int64_t *report_steps;
    const double *report_values;
    size_t n_attrs;
    const caviar_attr *attrs;
    double start_time, end_time; /* seconds since the Unix epoch; end 0 while running */
    const char *fail_reason;     /* FAIL: why, when known ("worker lost", "interrupted") */
    int64_t retry_of;            /* the trial this one re-runs, or -1 */
    int requeued;                /* FAIL and re-run by a later trial */
} caviar_trial_view;

size_t caviar_study_n_trials(const caviar_study *study);
caviar_status caviar_study_trial(const caviar_study *study, size_t i, caviar_trial_view *out);
/* The best COMPLETE trial; CAVIAR_EMISSING when there is none. */
caviar_status caviar_study_best(const caviar_study *study, caviar_trial_view *out,
                                caviar_error *err);

typedef struct caviar_study_summary {
    size_t n_trials, n_waiting, n_running, n_complete, n_pruned, n_fail;
    size_t n_requeued;  /* FAIL trials re-run by a later trial (not counted in budgets) */
    double best_value;  /* NaN when nothing completed */
    uint64_t best_trial;
} caviar_study_summary;

void caviar_study_summarize(const caviar_study *study, caviar_study_summary *out);

/* ---- running trials: workers and the runner ----------------------------------------------- */

/* An objective: runs one trial (suggest, train, report, check should_prune) and returns how it
 * ended: COMPLETE with *value, PRUNED (*value: its last value, or NaN), or FAIL with the reason
 * in err. It runs in a worker process. */
typedef caviar_trial_state (*caviar_objective)(caviar_trial *trial, void *user, double *value,
                                               caviar_error *err);

typedef struct caviar_work_opts {
    unsigned jobs;        /* caviar_run: worker processes (0: the number of cores) */
    double max_seconds;   /* 0, or start no trial after this many seconds of this run */
    double poll;          /* seconds between looks at the study while others finish (0: 0.2) */
    int replace_dead;     /* caviar_run: start a new worker when one is killed (default 1) */
    int quiet;            /* no line on stderr per lost worker or failed trial */
    /* caviar_run: called in the runner's own process every tick seconds (0: 0.5) while the
     * workers run, e.g. to show progress (caviar_study_refresh on a handle of its own). */
    void (*on_tick)(void *user);
    void *tick_user;
    double tick;
} caviar_work_opts;

void caviar_work_opts_init(caviar_work_opts *w);

/* What a worker or a run did. */
typedef struct caviar_work_stats {
    size_t n_run;         /* trials this worker (run: all its workers) ended */
    size_t n_interrupted; /* trials ended FAIL "interrupted" and re-queued */
    size_t n_lost;        /* caviar_run: workers killed by a signal (and replaced) */
    size_t n_failed_workers; /* caviar_run: workers that stopped on an error */
    int interrupted;      /* stopped by SIGINT or SIGTERM */
} caviar_work_stats;

/* One worker in this process: asks, runs and tells trials until the budget (opts.max_trials,
 * counted across every worker), the time limit, the end of the sampler (a finished grid), or
 * SIGINT/SIGTERM. When nothing is left to start but trials of other workers are still running,
 * it waits for them (one of them may be lost and re-queued), reaping stale ones as it goes.
 * With opts.heartbeat > 0 a thread keeps this worker's trials alive. On SIGINT or SIGTERM the
 * running trial is ended FAIL "interrupted" and re-queued, and the call returns
 * CAVIAR_STOPPED with stats->interrupted = 1. */
caviar_status caviar_work(const caviar_study_opts *opts, const caviar_work_opts *w,
                          caviar_objective objective, void *user, caviar_work_stats *stats,
                          caviar_error *err);

/* w->jobs worker processes (fork) each running caviar_work() on the same study, which must live
 * in a store shared between processes (SQLite or PostgreSQL). A worker killed by a signal is
 * replaced while the study goes on (its trial is found stale and re-run after opts.grace). The
 * first SIGINT (Ctrl-C) or SIGTERM is passed to the workers, which stop cleanly; a second one
 * kills them at once (SIGKILL) and returns. */
caviar_status caviar_run(const caviar_study_opts *opts, const caviar_work_opts *w,
                         caviar_objective objective, void *user, caviar_work_stats *stats,
                         caviar_error *err);

/* Whether this process was asked to stop (SIGINT or SIGTERM during caviar_work): long
 * objectives should poll it (caviar_trial_should_prune() also returns 1 then). */
int caviar_stop_requested(void);

#ifdef __cplusplus
}
#endif
#endif
