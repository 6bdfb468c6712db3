/*
 * store.h — where a study's history lives: the storage interface, its back-ends, and the
 * in-process mirror of a study's history that samplers and pruners read.
 *
 * Two layers:
 *   store            a back-end (memory today; SQLite and PostgreSQL next) behind a const type
 *                    object of function pointers. Every call is one transaction: a trial's state
 *                    change, a parameter value, a report. The back-end is the truth; several
 *                    processes may share one (SQL back-ends).
 *   store_history    a study's history as this process knows it: the parameter table and every
 *                    trial, indexed by trial number. store_type.sync() brings it up to date by
 *                    copying only the trials changed since its version, so a study of 10,000
 *                    trials costs O(changes) per ask, not O(trials).
 *
 * Trials are numbered 0, 1, 2, ... per study. A trial's parameters are internal values indexed
 * by parameter id (space_table order), NaN where the trial did not use the parameter (a
 * conditional parameter, or one defined after the trial).
 */
#ifndef CAVIAR_STORE_H
#define CAVIAR_STORE_H

#include <math.h>

#include "caviar.h"
#include "space/space.h"
#include "util/util.h"

/* ---- the history mirror -------------------------------------------------------------------- */

typedef struct store_trial {
    uint64_t number;
    caviar_trial_state state;
    double value;            /* COMPLETE: the objective; PRUNED: last report or NaN; else NaN */
    double start_time, end_time;
    size_t n_values;         /* length of values[] (parameter ids below it) */
    double *values;          /* internal value by parameter id, NaN when unused */
    size_t n_reports, cap_reports;
    int64_t *steps;          /* in order of arrival (usually increasing); never repeated */
    double *step_values;
    int64_t max_step;        /* the largest step reported (valid when n_reports > 0) */
    size_t n_attrs;
    caviar_attr *attrs;      /* keys and values owned by the trial */
    uint64_t version;        /* the history version of its last change */
} store_trial;

typedef struct store_history {
    space_table params;
    store_trial *trials;     /* trials[i].number == i */
    size_t n_trials, cap_trials;
    uint64_t version;        /* the back-end version this mirror reflects */
} store_history;

void store_history_init(store_history *h);
void store_history_release(store_history *h);
/* The value of parameter id in trial t (NaN when unused). */
static inline double store_trial_param(const store_trial *t, size_t id)
{
    return id < t->n_values ? t->values[id] : NAN;
}
/* The last reported value of a trial at or before step, and whether there is one. */
int store_trial_value_at(const store_trial *t, int64_t step, double *value);
const char *store_trial_attr(const store_trial *t, const char *key);

/* Building blocks for back-ends: deep copy of a trial into the mirror (replacing the trial of
 * that number, growing the array as needed). */
caviar_status store_history_put(store_history *h, const store_trial *src, caviar_error *err);
caviar_status store_trial_set_value(store_trial *t, size_t id, double value, caviar_error *err);
caviar_status store_trial_add_report(store_trial *t, int64_t step, double value,
                                     caviar_error *err);
caviar_status store_trial_set_attr(store_trial *t, const char *key, const char *value,
                                   caviar_error *err);
void store_trial_release(store_trial *t);

/* ---- back-ends ------------------------------------------------------------------------------- */

typedef struct store store;

/* What a study is, as stored. */
typedef struct store_study_info {
    const char *name;
    caviar_direction direction;
    uint64_t seed;
    const char *sampler, *sampler_settings, *pruner, *pruner_settings;
} store_study_info;

typedef struct store_type {
    const char *name;
    /* Whether this back-end handles a storage string (":memory:", "sqlite:…", "postgresql://…"). */
    int (*accepts)(const char *url);
    caviar_status (*open)(const char *url, store **out, caviar_error *err);
    void (*close)(store *s);
    /* Opens the study of that name, creating it if absent; *id is its handle in this store.
     * Opening an existing study with another direction is an error. */
    caviar_status (*open_study)(store *s, const store_study_info *info, int64_t *id,
                                caviar_error *err);
    /* Binds name to d in the study (or checks that it is bound to d); the mirror learns the
     * id at the next sync. */
    caviar_status (*add_param)(store *s, int64_t study, const char *name, const caviar_dist *d,
                               caviar_error *err);
    /* A new WAITING trial with fixed values (by parameter id, NaN = not fixed). */
    caviar_status (*enqueue)(store *s, int64_t study, const double *values, size_t n,
                             uint64_t *number, caviar_error *err);
    /* Starts the oldest WAITING trial if there is one (*found = 1): it is RUNNING with its
     * start time set when this returns, and two callers never get the same one. */
    caviar_status (*claim_waiting)(store *s, int64_t study, uint64_t *number, int *found,
                                   caviar_error *err);
    /* A new trial, RUNNING from now, with the next number. */
    caviar_status (*create_running)(store *s, int64_t study, uint64_t *number,
                                    caviar_error *err);
    caviar_status (*set_param)(store *s, int64_t study, uint64_t number, size_t param_id,
                               double value, caviar_error *err);
    caviar_status (*report)(store *s, int64_t study, uint64_t number, int64_t step, double value,
                            caviar_error *err);
    caviar_status (*set_attr)(store *s, int64_t study, uint64_t number, const char *key,
                              const char *value, caviar_error *err);
    /* RUNNING -> COMPLETE/PRUNED/FAIL with the value and end time. */
    caviar_status (*finish)(store *s, int64_t study, uint64_t number, caviar_trial_state state,
                            double value, caviar_error *err);
    /* Atomic fetch-and-increment of a named counter of the study (the grid's next point). */
    caviar_status (*next_count)(store *s, int64_t study, const char *counter, uint64_t *value,
                                caviar_error *err);
    /* Brings h up to date with the study's parameters and trials. */
    caviar_status (*sync)(store *s, int64_t study, store_history *h, caviar_error *err);
} store_type;

/* Every back-end begins with its type, so that a store can be used through it. */
struct store {
    const store_type *type;
};

extern const store_type store_memory;

/* The back-end for a storage string (NULL or ":memory:" is memory); NULL when none accepts. */
const store_type *store_find(const char *url);

#endif
