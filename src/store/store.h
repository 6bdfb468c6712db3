/*
 * store.h — where a study's history lives: the storage interface, its back-ends, and the
 * in-process mirror of a study's history that samplers and pruners read.
 *
 * Two layers:
 *   store            a back-end (memory, SQLite, PostgreSQL) behind a const type object of
 *                    function pointers. Every call is one transaction: a trial's state change,
 *                    a parameter value, a report. The back-end is the truth; several processes
 *                    (SQLite) or machines (PostgreSQL) may share one.
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
    /* Bookkeeping of the runner (see store_type.create_running, abandon, reap). */
    int has_claim;
    uint64_t claim;          /* the counter value claimed at creation (a grid point) */
    int64_t retry_of;        /* the trial this one re-runs, or -1 */
    unsigned retries;        /* how many "worker lost" failures precede it in its chain */
    int requeued;            /* FAIL and re-run by a later trial: not counted in budgets */
    char *fail_reason;       /* FAIL: why ("worker lost", "interrupted", ...), or NULL */
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

/* What a study is, as stored. spec is opaque to the store: the text a command line stores so
 * that a worker joining later can run the same objective (NULL: none). */
typedef struct store_study_info {
    const char *name;
    caviar_direction direction;
    uint64_t seed;
    const char *sampler, *sampler_settings, *pruner, *pruner_settings;
    const char *spec;
} store_study_info;

/* A study as read back by load_study and list_studies; strings owned (store_study_release).
 * id is its handle in the store that read it (the one open_study gives). */
typedef struct store_study {
    char *name;
    caviar_direction direction;
    uint64_t seed;
    char *sampler, *sampler_settings, *pruner, *pruner_settings, *spec;
    int64_t id;
} store_study;

void store_study_release(store_study *s);

/* Every study of a store, as list_studies reads it: an owned array in the order the studies
 * were created (store_study_list_release frees the array and its strings). */
typedef struct store_study_list {
    store_study *studies;
    size_t n;
} store_study_list;

void store_study_list_release(store_study_list *l);

/* How a trial is started (claim_waiting, create_running), checked in the same transaction:
 *   worker         who runs it (heartbeat() refreshes the RUNNING trials of that worker)
 *   max_trials     0, or create no trial once the study has this many that count: every trial
 *                  but the FAIL ones re-run by a later trial (requeued)
 *   counter        NULL, or the trial claims the counter's next value (trial.claim), so that a
 *                  grid point and its trial are created together or not at all
 *   counter_limit  with counter: create no trial once the counter has reached this value
 *   counter_done   the message of that refusal (NULL: a generic one)
 * A refusal is CAVIAR_STOPPED. */
typedef struct store_start {
    const char *worker;
    uint64_t max_trials;
    const char *counter;
    uint64_t counter_limit;
    const char *counter_done;
} store_start;

/* A study at a glance (count()): its trials by state, the ones that count against a budget,
 * the best COMPLETE trial and when a trial last started or ended, all read in one transaction
 * without copying the history. The best is chosen as caviar_study_best chooses it (study.c,
 * sample_better): by the study's direction, a NaN value never best, an infinity compared as a
 * number, a tie won by the lowest trial number. */
typedef struct store_counts {
    uint64_t n[5];     /* by caviar_trial_state */
    uint64_t counted;  /* all but the requeued */
    int has_best;      /* some COMPLETE trial has a value that is not NaN */
    uint64_t best_trial;
    double best_value; /* NaN without a best */
    double last_time;  /* the latest start or end time of any trial (seconds since the epoch),
                          0 when no trial has started */
} store_counts;

typedef struct store_type {
    const char *name;
    /* Whether this back-end handles a storage string (":memory:", "sqlite:…",
     * "postgresql://…"). */
    int (*accepts)(const char *url);
    caviar_status (*open)(const char *url, store **out, caviar_error *err);
    /* Opens the store so that it can never write (a dashboard looking at studies that workers
     * are running). The reads (load_study, list_studies, get_count, count, get_blob, sync)
     * work as on a store from open(); every operation that writes (open_study, define_study,
     * delete_study, add_param, enqueue, claim_waiting, create_running, set_param, report,
     * set_attr, finish, heartbeat, abandon, reap, put_blob) returns CAVIAR_EINVAL ("URL is
     * open read-only: cannot enqueue a trial") without touching the database. Nothing is
     * created or upgraded: the SQL back-ends connect read-only besides (SQLite opens the file
     * with SQLITE_OPEN_READONLY, and a missing file is CAVIAR_EMISSING, no file created;
     * PostgreSQL sessions have default_transaction_read_only on, so the server refuses writes
     * too), and a database of another schema version is CAVIAR_EFORMAT — except version 1,
     * which is read as it is (it holds no blobs: get_blob says CAVIAR_EMISSING). The memory
     * back-end gives a new, empty store that refuses writes the same way. */
    caviar_status (*open_read_only)(const char *url, store **out, caviar_error *err);
    void (*close)(store *s);
    /* Opens the study of that name, creating it if absent; *id is its handle in this store.
     * Opening an existing study with another direction is an error. */
    caviar_status (*open_study)(store *s, const store_study_info *info, int64_t *id,
                                caviar_error *err);
    /* Replaces the sampler, pruner (with their settings) and spec of an existing study: a
     * command that resumes a study with a new definition makes it the one joining workers
     * read. The name, direction and seed never change. */
    caviar_status (*define_study)(store *s, int64_t study, const store_study_info *info,
                                  caviar_error *err);
    /* Reads a study's definition back; CAVIAR_EMISSING when there is no such study. */
    caviar_status (*load_study)(store *s, const char *name, store_study *out, caviar_error *err);
    /* Every study of the store, oldest first, into *out (initialised here; release it with
     * store_study_list_release, also after an error). One consistent snapshot. */
    caviar_status (*list_studies)(store *s, store_study_list *out, caviar_error *err);
    /* Deletes the study of that name with everything it holds (parameters, trials and their
     * values, reports and attributes, counters), in one transaction; CAVIAR_EMISSING when there
     * is no such study. Its id is never given to another study: a process still working on it
     * gets errors ("study N does not exist"), never another study's trials, and open_study of
     * the same name creates a new, empty study with a new id. Workers of other studies are not
     * disturbed (nothing of theirs is locked). */
    caviar_status (*delete_study)(store *s, const char *name, caviar_error *err);
    /* Binds name to d in the study (or checks that it is bound to d); the mirror learns the
     * id at the next sync. */
    caviar_status (*add_param)(store *s, int64_t study, const char *name, const caviar_dist *d,
                               caviar_error *err);
    /* A new WAITING trial with fixed values (by parameter id, NaN = not fixed). */
    caviar_status (*enqueue)(store *s, int64_t study, const double *values, size_t n,
                             uint64_t *number, caviar_error *err);
    /* Starts the oldest WAITING trial if there is one (*found = 1): it is RUNNING by
     * start->worker with its start time and heartbeat set when this returns, and two callers
     * never get the same one. Only start->worker is used. */
    caviar_status (*claim_waiting)(store *s, int64_t study, const store_start *start,
                                   uint64_t *number, int *found, caviar_error *err);
    /* A new trial, RUNNING by start->worker from now, with the next number, unless start's
     * limits refuse (CAVIAR_STOPPED); *claim receives the counter value when start->counter. */
    caviar_status (*create_running)(store *s, int64_t study, const store_start *start,
                                    uint64_t *number, uint64_t *claim, caviar_error *err);
    caviar_status (*set_param)(store *s, int64_t study, uint64_t number, size_t param_id,
                               double value, caviar_error *err);
    caviar_status (*report)(store *s, int64_t study, uint64_t number, int64_t step, double value,
                            caviar_error *err);
    caviar_status (*set_attr)(store *s, int64_t study, uint64_t number, const char *key,
                              const char *value, caviar_error *err);
    /* RUNNING -> COMPLETE/PRUNED/FAIL with the value and end time. */
    caviar_status (*finish)(store *s, int64_t study, uint64_t number, caviar_trial_state state,
                            double value, caviar_error *err);
    /* The current value of a named counter of the study (0 when never used). */
    caviar_status (*get_count)(store *s, int64_t study, const char *counter, uint64_t *value,
                               caviar_error *err);
    /* Refreshes the heartbeat of every RUNNING trial of worker; does not change versions. */
    caviar_status (*heartbeat)(store *s, int64_t study, const char *worker, caviar_error *err);
    /* RUNNING -> FAIL with reason; with requeue, the same transaction adds a WAITING trial with
     * the same parameters, claim and retries, retry_of = number, and marks number requeued. */
    caviar_status (*abandon)(store *s, int64_t study, uint64_t number, const char *reason,
                             int requeue, caviar_error *err);
    /* Every RUNNING trial whose heartbeat is older than grace seconds becomes FAIL ("worker
     * lost"), each with its own transaction; one with retries < max_retries is re-queued as by
     * abandon() with retries + 1. *n_reaped (may be NULL) receives how many were found. */
    caviar_status (*reap)(store *s, int64_t study, double grace, unsigned max_retries,
                          size_t *n_reaped, caviar_error *err);
    /* The study at a glance (store_counts), in one read transaction: O(trials of the study)
     * work in the database, nothing copied. */
    caviar_status (*count)(store *s, int64_t study, store_counts *out, caviar_error *err);
    /* A named blob of the study (checkpoints of panda days and PBT members): put replaces
     * one of the same key; get gives a malloc'd copy (the caller frees it), CAVIAR_EMISSING
     * when there is none. Blobs change no version: samplers never read them, and sync does
     * not fetch them. Deleting the study deletes its blobs. */
    caviar_status (*put_blob)(store *s, int64_t study, const char *key, const void *data,
                              size_t len, caviar_error *err);
    caviar_status (*get_blob)(store *s, int64_t study, const char *key, void **data,
                              size_t *len, caviar_error *err);
    /* Brings h up to date with the study's parameters and trials. */
    caviar_status (*sync)(store *s, int64_t study, store_history *h, caviar_error *err);
} store_type;

/* Every back-end begins with its type, so that a store can be used through it. */
struct store {
    const store_type *type;
};

extern const store_type store_memory;
extern const store_type store_sqlite;   /* "sqlite:PATH", "PATH.db", "file:..." */
extern const store_type store_postgres; /* "postgresql://...", "postgres://..." */

/* A study's sampler or pruner as commands show it: "name:settings", or "name" without settings,
 * fallback for a NULL name; into buf, returned. */
const char *store_describe(const char *name, const char *settings, const char *fallback,
                           char *buf, size_t len);

/* The back-end for a storage string (NULL or ":memory:" is memory); NULL when none accepts. */
const store_type *store_find(const char *url);
/* url with any password replaced by "***", for messages and logs; into buf, returned. */
const char *store_redact(const char *url, char *buf, size_t len);
/* For back-ends: the refusal of a write on a read-only store, the same words everywhere
 * ("SHOWN is open read-only: cannot WHAT"); returns CAVIAR_EINVAL. */
caviar_status store_refuse_write(const char *shown, const char *what, caviar_error *err);

#endif
