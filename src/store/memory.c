/*
 * memory.c — the in-memory back-end: studies live as long as the process. For library users
 * and tests; the reference behaviour the SQL back-ends must match.
 *
 * Each study holds its authoritative history and a change log: log[v - 1] is the number of the
 * trial changed by version v. sync() replays the log from the mirror's version, copying each
 * changed trial once (at its latest change), so its cost is the number of changes, not the
 * number of trials.
 *
 * A read-only store (open_read_only) is a new one, empty, that refuses every write.
 *
 * Study ids are indices into the store's array. A deleted study keeps its slot, emptied and
 * marked deleted, so that no id ever names another study: every call on a deleted id fails
 * ("study N does not exist"), and opening the name again appends a new study.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

typedef struct mem_counter {
    char *name;
    uint64_t value;
} mem_counter;

typedef struct mem_blob {
    char *key;
    void *data;
    size_t len;
} mem_blob;

typedef struct mem_study {
    store_study info;
    mem_blob *blobs;
    size_t n_blobs;
    store_history h;
    char **worker;        /* by trial: who runs it (RUNNING), NULL otherwise */
    double *beat;         /* by trial: its last heartbeat */
    size_t cap_run;
    uint64_t *log;
    size_t cap_log;
    size_t first_waiting; /* no WAITING trial below this number */
    mem_counter *counters;
    size_t n_counters;
    int deleted;          /* everything above released; the slot is never reused */
} mem_study;

typedef struct mem_store {
    store base;
    mem_study *studies;
    size_t n_studies;
    int read_only; /* open_read_only: empty, and every write refused */
} mem_store;

/* The refusal of a write on a read-only store (the SQL back-ends' words). */
#define REFUSE_IF_READ_ONLY(s, what, err)                                                       \
    do {                                                                                        \
        if (((mem_store *)(s))->read_only)                                                      \
            return store_refuse_write(":memory:", (what), (err));                               \
    } while (0)

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int mem_accepts(const char *url)
{
    return !url || !*url || strcmp(url, ":memory:") == 0;
}

static caviar_status mem_open(const char *url, store **out, caviar_error *err)
{
    (void)url;
    mem_store *m = calloc(1, sizeof *m);
    if (!m)
        return util_err(err, CAVIAR_ENOMEM, "cannot open an in-memory store: out of memory");
    m->base.type = &store_memory;
    *out = &m->base;
    return CAVIAR_OK;
}

/* Another process's memory cannot be looked at: a new store, empty for good. */
static caviar_status mem_open_read_only(const char *url, store **out, caviar_error *err)
{
    caviar_status rc = mem_open(url, out, err);
    if (rc == CAVIAR_OK)
        ((mem_store *)*out)->read_only = 1;
    return rc;
}

/* Frees everything a study holds; the slot is left zeroed (and so safe to release again). */
static void study_release(mem_study *st)
{
    store_study_release(&st->info);
    for (size_t t = 0; t < st->h.n_trials; t++)
        free(st->worker[t]);
    free(st->worker);
    free(st->beat);
    store_history_release(&st->h);
    free(st->log);
    for (size_t c = 0; c < st->n_counters; c++)
        free(st->counters[c].name);
    free(st->counters);
    for (size_t b = 0; b < st->n_blobs; b++) {
        free(st->blobs[b].key);
        free(st->blobs[b].data);
    }
    free(st->blobs);
    memset(st, 0, sizeof *st);
}

static void mem_close(store *s)
{
    mem_store *m = (mem_store *)s;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_studies; i++)
        study_release(&m->studies[i]);
    free(m->studies);
    free(m);
}

/* The study of that id, or NULL when there is none (never was, or deleted). */
static mem_study *study_at(store *s, int64_t id)
{
    mem_store *m = (mem_store *)s;
    if (id < 0 || (size_t)id >= m->n_studies || m->studies[id].deleted)
        return NULL;
    return &m->studies[id];
}

/* The error of a call on a study that does not exist (the SQL back-ends' words). */
static caviar_status gone(int64_t id, caviar_error *err)
{
    return util_err(err, CAVIAR_EINVAL, "study %lld does not exist", (long long)id);
}

/* The live study of that name, or NULL. */
static mem_study *study_named(mem_store *m, const char *name, size_t *index)
{
    for (size_t i = 0; i < m->n_studies; i++)
        if (!m->studies[i].deleted && strcmp(m->studies[i].info.name, name) == 0) {
            if (index)
                *index = i;
            return &m->studies[i];
        }
    return NULL;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

static caviar_status mem_open_study(store *s, const store_study_info *info, int64_t *id,
                                    caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "open or create a study", err);
    mem_store *m = (mem_store *)s;
    size_t i;
    const mem_study *known = study_named(m, info->name, &i);
    if (known) {
        if (known->info.direction != info->direction)
            return util_err(err, CAVIAR_EINVAL,
                            "study '%s' exists and is to be %s; it cannot be reopened to be %s",
                            info->name,
                            known->info.direction == CAVIAR_MAXIMIZE ? "maximized" : "minimized",
                            info->direction == CAVIAR_MAXIMIZE ? "maximized" : "minimized");
        *id = (int64_t)i;
        return CAVIAR_OK;
    }
    mem_study *ns = realloc(m->studies, (m->n_studies + 1) * sizeof *ns);
    if (!ns)
        return util_err(err, CAVIAR_ENOMEM, "cannot create study '%s': out of memory",
                        info->name);
    m->studies = ns;
    mem_study *st = &m->studies[m->n_studies];
    memset(st, 0, sizeof *st);
    int oom = 0;
    st->info.name = dup_or_null(info->name, &oom);
    st->info.direction = info->direction;
    st->info.seed = info->seed;
    st->info.sampler = dup_or_null(info->sampler, &oom);
    st->info.sampler_settings = dup_or_null(info->sampler_settings, &oom);
    st->info.pruner = dup_or_null(info->pruner, &oom);
    st->info.pruner_settings = dup_or_null(info->pruner_settings, &oom);
    st->info.spec = dup_or_null(info->spec, &oom);
    store_history_init(&st->h);
    if (oom) {
        store_study_release(&st->info);
        return util_err(err, CAVIAR_ENOMEM, "cannot create study '%s': out of memory",
                        info->name);
    }
    *id = (int64_t)m->n_studies++;
    return CAVIAR_OK;
}

static caviar_status mem_define_study(store *s, int64_t id, const store_study_info *info,
                                      caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "change a study's definition", err);
    mem_study *st = study_at(s, id);
    if (!st)
        return gone(id, err);
    int oom = 0;
    char *sampler = dup_or_null(info->sampler, &oom);
    char *sampler_settings = dup_or_null(info->sampler_settings, &oom);
    char *pruner = dup_or_null(info->pruner, &oom);
    char *pruner_settings = dup_or_null(info->pruner_settings, &oom);
    char *spec = dup_or_null(info->spec, &oom);
    if (oom) {
        free(sampler), free(sampler_settings), free(pruner), free(pruner_settings), free(spec);
        return util_err(err, CAVIAR_ENOMEM, "cannot update study '%s': out of memory",
                        st->info.name);
    }
    free(st->info.sampler), free(st->info.sampler_settings), free(st->info.pruner);
    free(st->info.pruner_settings), free(st->info.spec);
    st->info.sampler = sampler;
    st->info.sampler_settings = sampler_settings;
    st->info.pruner = pruner;
    st->info.pruner_settings = pruner_settings;
    st->info.spec = spec;
    return CAVIAR_OK;
}

/* A deep copy of study i's definition into out. */
static caviar_status copy_info(const mem_store *m, size_t i, store_study *out, caviar_error *err)
{
    const store_study *in = &m->studies[i].info;
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->name = dup_or_null(in->name, &oom);
    out->direction = in->direction;
    out->seed = in->seed;
    out->sampler = dup_or_null(in->sampler, &oom);
    out->sampler_settings = dup_or_null(in->sampler_settings, &oom);
    out->pruner = dup_or_null(in->pruner, &oom);
    out->pruner_settings = dup_or_null(in->pruner_settings, &oom);
    out->spec = dup_or_null(in->spec, &oom);
    out->id = (int64_t)i;
    if (oom) {
        store_study_release(out);
        return util_err(err, CAVIAR_ENOMEM, "cannot read study '%s': out of memory", in->name);
    }
    return CAVIAR_OK;
}

static caviar_status mem_load_study(store *s, const char *name, store_study *out,
                                    caviar_error *err)
{
    mem_store *m = (mem_store *)s;
    size_t i;
    memset(out, 0, sizeof *out);
    if (!study_named(m, name, &i))
        return util_err(err, CAVIAR_EMISSING, "there is no study '%s' in memory", name);
    return copy_info(m, i, out, err);
}

static caviar_status mem_list_studies(store *s, store_study_list *out, caviar_error *err)
{
    mem_store *m = (mem_store *)s;
    out->studies = NULL;
    out->n = 0;
    size_t n_live = 0;
    for (size_t i = 0; i < m->n_studies; i++)
        n_live += !m->studies[i].deleted;
    if (!n_live)
        return CAVIAR_OK;
    if (!(out->studies = calloc(n_live, sizeof *out->studies)))
        return util_err(err, CAVIAR_ENOMEM, "cannot list the studies: out of memory");
    for (size_t i = 0; i < m->n_studies; i++) {
        if (m->studies[i].deleted)
            continue;
        caviar_status rc = copy_info(m, i, &out->studies[out->n], err);
        if (rc != CAVIAR_OK)
            return rc; /* the caller releases what was copied */
        out->n++;
    }
    return CAVIAR_OK;
}

static caviar_status mem_delete_study(store *s, const char *name, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "delete a study", err);
    mem_store *m = (mem_store *)s;
    size_t i;
    if (!study_named(m, name, &i))
        return util_err(err, CAVIAR_EMISSING, "there is no study '%s' in memory", name);
    study_release(&m->studies[i]);
    m->studies[i].deleted = 1;
    return CAVIAR_OK;
}

/* Records that trial number changed: a new version, logged. */
static caviar_status changed(mem_study *st, uint64_t number, caviar_error *err)
{
    if (st->h.version == st->cap_log) {
        size_t cap = st->cap_log ? 2 * st->cap_log : 256;
        uint64_t *log = realloc(st->log, cap * sizeof *log);
        if (!log)
            return util_err(err, CAVIAR_ENOMEM, "cannot log a change: out of memory");
        st->log = log;
        st->cap_log = cap;
    }
    st->log[st->h.version++] = number;
    st->h.trials[number].version = st->h.version;
    return CAVIAR_OK;
}

static caviar_status mem_add_param(store *s, int64_t study, const char *name, const caviar_dist *d,
                                   caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "add a parameter", err);
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    size_t id;
    return space_table_add(&st->h.params, name, d, &id, err);
}

static caviar_status new_trial(mem_study *st, caviar_trial_state state, uint64_t *number,
                               caviar_error *err)
{
    store_trial t = {0};
    t.number = st->h.n_trials;
    t.state = state;
    t.value = NAN;
    t.retry_of = -1;
    if (t.number >= st->cap_run) {
        size_t cap = st->cap_run ? 2 * st->cap_run : 64;
        char **w = realloc(st->worker, cap * sizeof *w);
        if (w)
            st->worker = w;
        double *b = realloc(st->beat, cap * sizeof *b);
        if (b)
            st->beat = b;
        if (!w || !b)
            return util_err(err, CAVIAR_ENOMEM, "cannot create a trial: out of memory");
        memset(st->worker + st->cap_run, 0, (cap - st->cap_run) * sizeof *w);
        st->cap_run = cap;
    }
    caviar_status rc = store_history_put(&st->h, &t, err);
    if (rc == CAVIAR_OK)
        rc = changed(st, t.number, err);
    *number = t.number;
    return rc;
}

static caviar_status mem_enqueue(store *s, int64_t study, const double *values, size_t n,
                                 uint64_t *number, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "enqueue a trial", err);
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    caviar_status rc = new_trial(st, CAVIAR_TRIAL_WAITING, number, err);
    for (size_t i = 0; rc == CAVIAR_OK && i < n; i++)
        if (!isnan(values[i]))
            rc = store_trial_set_value(&st->h.trials[*number], i, values[i], err);
    return rc;
}

/* Trial number is RUNNING by worker from now. */
static caviar_status start(mem_study *st, uint64_t number, const char *worker, caviar_error *err)
{
    char *w = strdup(worker ? worker : "");
    if (!w)
        return util_err(err, CAVIAR_ENOMEM, "cannot start a trial: out of memory");
    free(st->worker[number]);
    st->worker[number] = w;
    st->h.trials[number].state = CAVIAR_TRIAL_RUNNING;
    st->h.trials[number].start_time = st->beat[number] = wall_now();
    return changed(st, number, err);
}

static caviar_status mem_claim_waiting(store *s, int64_t study, const store_start *sp,
                                       uint64_t *number, int *found, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    *found = 0;
    REFUSE_IF_READ_ONLY(s, "start a waiting trial", err);
    if (!st)
        return gone(study, err);
    while (st->first_waiting < st->h.n_trials &&
           st->h.trials[st->first_waiting].state != CAVIAR_TRIAL_WAITING)
        st->first_waiting++;
    *found = st->first_waiting < st->h.n_trials;
    if (!*found)
        return CAVIAR_OK;
    *number = st->first_waiting;
    return start(st, *number, sp->worker, err);
}

static mem_counter *counter(mem_study *st, const char *name, int create, caviar_error *err)
{
    for (size_t i = 0; i < st->n_counters; i++)
        if (strcmp(st->counters[i].name, name) == 0)
            return &st->counters[i];
    if (!create)
        return NULL;
    mem_counter *c = realloc(st->counters, (st->n_counters + 1) * sizeof *c);
    if (!c) {
        util_err(err, CAVIAR_ENOMEM, "cannot create counter '%s': out of memory", name);
        return NULL;
    }
    st->counters = c;
    if (!(c[st->n_counters].name = strdup(name))) {
        util_err(err, CAVIAR_ENOMEM, "cannot create counter '%s': out of memory", name);
        return NULL;
    }
    c[st->n_counters].value = 0;
    return &c[st->n_counters++];
}

static uint64_t counted(const mem_study *st)
{
    uint64_t n = 0;
    for (size_t i = 0; i < st->h.n_trials; i++)
        n += !st->h.trials[i].requeued;
    return n;
}

static caviar_status mem_create_running(store *s, int64_t study, const store_start *sp,
                                        uint64_t *number, uint64_t *claim, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "create a trial", err);
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    if (sp->max_trials && counted(st) >= sp->max_trials)
        return util_err(err, CAVIAR_STOPPED, "study '%s' has reached its budget of %llu trials",
                        st->info.name, (unsigned long long)sp->max_trials);
    mem_counter *c = NULL;
    if (sp->counter) {
        if (!(c = counter(st, sp->counter, 1, err)))
            return err ? err->status : CAVIAR_ENOMEM;
        if (c->value >= sp->counter_limit)
            return sp->counter_done
                       ? util_err(err, CAVIAR_STOPPED, "%s", sp->counter_done)
                       : util_err(err, CAVIAR_STOPPED, "study '%s': every point of '%s' is taken",
                                  st->info.name, sp->counter);
    }
    caviar_status rc = new_trial(st, CAVIAR_TRIAL_WAITING, number, err);
    if (rc != CAVIAR_OK)
        return rc;
    if (c) {
        st->h.trials[*number].has_claim = 1;
        st->h.trials[*number].claim = *claim = c->value++;
    }
    return start(st, *number, sp->worker, err);
}

static store_trial *running(store *s, int64_t study, uint64_t number, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    if (!st) {
        gone(study, err);
        return NULL;
    }
    if (number >= st->h.n_trials) {
        util_err(err, CAVIAR_EINVAL, "study '%s' has no trial %llu", st->info.name,
                 (unsigned long long)number);
        return NULL;
    }
    store_trial *t = &st->h.trials[number];
    if (t->state != CAVIAR_TRIAL_RUNNING) {
        util_err(err, CAVIAR_EINVAL, "trial %llu of study '%s' is %s, not running",
                 (unsigned long long)number, st->info.name, caviar_trial_state_name(t->state));
        return NULL;
    }
    return t;
}

static caviar_status mem_set_param(store *s, int64_t study, uint64_t number, size_t param_id,
                                   double value, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "set a parameter of a trial", err);
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    caviar_status rc = store_trial_set_value(t, param_id, value, err);
    return rc == CAVIAR_OK ? changed(study_at(s, study), number, err) : rc;
}

static caviar_status mem_report(store *s, int64_t study, uint64_t number, int64_t step,
                                double value, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "report a value", err);
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    caviar_status rc = store_trial_add_report(t, step, value, err);
    return rc == CAVIAR_OK ? changed(study_at(s, study), number, err) : rc;
}

static caviar_status mem_set_attr(store *s, int64_t study, uint64_t number, const char *key,
                                  const char *value, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "set an attribute of a trial", err);
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    if (number >= st->h.n_trials)
        return util_err(err, CAVIAR_EINVAL, "study '%s' has no trial %llu", st->info.name,
                        (unsigned long long)number);
    caviar_status rc = store_trial_set_attr(&st->h.trials[number], key, value, err);
    return rc == CAVIAR_OK ? changed(st, number, err) : rc;
}

static caviar_status mem_finish(store *s, int64_t study, uint64_t number, caviar_trial_state state,
                                double value, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "end a trial", err);
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    t->state = state;
    t->value = value;
    t->end_time = wall_now();
    mem_study *st = study_at(s, study);
    free(st->worker[number]);
    st->worker[number] = NULL;
    return changed(st, number, err);
}

static caviar_status mem_get_count(store *s, int64_t study, const char *name, uint64_t *value,
                                   caviar_error *err)
{
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    mem_counter *c = counter(st, name, 0, NULL);
    *value = c ? c->value : 0;
    return CAVIAR_OK;
}

static caviar_status mem_heartbeat(store *s, int64_t study, const char *worker, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "refresh heartbeats", err);
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    double now = wall_now();
    for (size_t i = 0; i < st->h.n_trials; i++)
        if (st->worker[i] && strcmp(st->worker[i], worker) == 0)
            st->beat[i] = now;
    return CAVIAR_OK;
}

/* FAIL with reason; re-queued (a new WAITING trial with the same parameters and claim) when
 * requeue, with retries + add_retry. */
static caviar_status fail_trial(store *s, int64_t study, uint64_t number, const char *reason,
                                int requeue, unsigned add_retry, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    char *why = strdup(reason);
    if (!why)
        return util_err(err, CAVIAR_ENOMEM, "cannot end trial %llu: out of memory",
                        (unsigned long long)number);
    uint64_t again = 0;
    caviar_status rc = CAVIAR_OK;
    if (requeue && (rc = new_trial(st, CAVIAR_TRIAL_WAITING, &again, err)) != CAVIAR_OK) {
        free(why);
        return rc;
    }
    t = &st->h.trials[number]; /* new_trial may have moved the history */
    if (requeue) {
        store_trial *r = &st->h.trials[again];
        for (size_t i = 0; rc == CAVIAR_OK && i < t->n_values; i++)
            if (!isnan(t->values[i]))
                rc = store_trial_set_value(r, i, t->values[i], err);
        r->has_claim = t->has_claim;
        r->claim = t->claim;
        r->retry_of = (int64_t)number;
        r->retries = t->retries + add_retry;
        t->requeued = 1;
    }
    free(t->fail_reason);
    t->fail_reason = why;
    t->state = CAVIAR_TRIAL_FAIL;
    t->value = NAN;
    t->end_time = wall_now();
    free(st->worker[number]);
    st->worker[number] = NULL;
    if (rc == CAVIAR_OK)
        rc = changed(st, number, err);
    if (rc == CAVIAR_OK && requeue)
        rc = changed(st, again, err);
    return rc;
}

static caviar_status mem_abandon(store *s, int64_t study, uint64_t number, const char *reason,
                                 int requeue, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "abandon a trial", err);
    return fail_trial(s, study, number, reason, requeue, 0, err);
}

static caviar_status mem_reap(store *s, int64_t study, double grace, unsigned max_retries,
                              size_t *n_reaped, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    if (n_reaped)
        *n_reaped = 0;
    REFUSE_IF_READ_ONLY(s, "reap lost trials", err);
    if (!st)
        return gone(study, err);
    double now = wall_now();
    size_t n = 0, n_trials = st->h.n_trials;
    caviar_status rc = CAVIAR_OK;
    for (size_t i = 0; i < n_trials && rc == CAVIAR_OK; i++) {
        if (st->h.trials[i].state != CAVIAR_TRIAL_RUNNING || now - st->beat[i] <= grace)
            continue;
        n++;
        rc = fail_trial(s, study, i, "worker lost", st->h.trials[i].retries < max_retries, 1,
                        err);
    }
    if (n_reaped)
        *n_reaped = n;
    return rc;
}

static caviar_status mem_count(store *s, int64_t study, store_counts *out, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    memset(out, 0, sizeof *out);
    out->best_value = NAN;
    if (!st)
        return gone(study, err);
    int maximize = st->info.direction == CAVIAR_MAXIMIZE;
    for (size_t i = 0; i < st->h.n_trials; i++) {
        const store_trial *t = &st->h.trials[i];
        out->n[t->state]++;
        out->counted += !t->requeued;
        if (t->start_time > out->last_time)
            out->last_time = t->start_time;
        if (t->end_time > out->last_time)
            out->last_time = t->end_time;
        /* sample_better: strictly better replaces, so the lowest number wins a tie. */
        if (t->state == CAVIAR_TRIAL_COMPLETE && !isnan(t->value) &&
            (!out->has_best ||
             (maximize ? t->value > out->best_value : t->value < out->best_value))) {
            out->has_best = 1;
            out->best_trial = t->number;
            out->best_value = t->value;
        }
    }
    return CAVIAR_OK;
}

static caviar_status mem_sync(store *s, int64_t study, store_history *h, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    caviar_status rc;
    for (size_t i = h->params.n; i < st->h.params.n; i++) {
        size_t id;
        const space_param *p = &st->h.params.params[i];
        if ((rc = space_table_add(&h->params, p->name, &p->dist, &id, err)) != CAVIAR_OK)
            return rc;
    }
    for (uint64_t v = h->version; v < st->h.version; v++) {
        const store_trial *t = &st->h.trials[st->log[v]];
        if (t->version != v + 1)
            continue; /* changed again later; copied at its latest change */
        if ((rc = store_history_put(h, t, err)) != CAVIAR_OK)
            return rc;
    }
    h->version = st->h.version;
    return CAVIAR_OK;
}

static mem_blob *blob_named(mem_study *st, const char *key)
{
    for (size_t i = 0; i < st->n_blobs; i++)
        if (strcmp(st->blobs[i].key, key) == 0)
            return &st->blobs[i];
    return NULL;
}

static caviar_status mem_put_blob(store *s, int64_t study, const char *key, const void *data,
                                  size_t len, caviar_error *err)
{
    REFUSE_IF_READ_ONLY(s, "store a blob", err);
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return util_err(err, CAVIAR_ENOMEM, "cannot store '%s': out of memory", key);
    if (len)
        memcpy(copy, data, len);
    mem_blob *b = blob_named(st, key);
    if (!b) {
        mem_blob *more = realloc(st->blobs, (st->n_blobs + 1) * sizeof *more);
        char *k = strdup(key);
        if (more)
            st->blobs = more;
        if (!more || !k) {
            free(copy);
            free(k);
            return util_err(err, CAVIAR_ENOMEM, "cannot store '%s': out of memory", key);
        }
        b = &st->blobs[st->n_blobs++];
        *b = (mem_blob){.key = k};
    }
    free(b->data);
    b->data = copy;
    b->len = len;
    return CAVIAR_OK;
}

static caviar_status mem_get_blob(store *s, int64_t study, const char *key, void **data,
                                  size_t *len, caviar_error *err)
{
    *data = NULL;
    *len = 0;
    mem_study *st = study_at(s, study);
    if (!st)
        return gone(study, err);
    const mem_blob *b = blob_named(st, key);
    if (!b)
        return util_err(err, CAVIAR_EMISSING, "the study holds no '%s'", key);
    if (!(*data = malloc(b->len ? b->len : 1)))
        return util_err(err, CAVIAR_ENOMEM, "cannot read '%s': out of memory", key);
    if (b->len)
        memcpy(*data, b->data, b->len);
    *len = b->len;
    return CAVIAR_OK;
}

const store_type store_memory = {
    .name = "memory",
    .accepts = mem_accepts,
    .open = mem_open,
    .open_read_only = mem_open_read_only,
    .close = mem_close,
    .open_study = mem_open_study,
    .define_study = mem_define_study,
    .load_study = mem_load_study,
    .list_studies = mem_list_studies,
    .delete_study = mem_delete_study,
    .add_param = mem_add_param,
    .enqueue = mem_enqueue,
    .claim_waiting = mem_claim_waiting,
    .create_running = mem_create_running,
    .set_param = mem_set_param,
    .report = mem_report,
    .set_attr = mem_set_attr,
    .finish = mem_finish,
    .get_count = mem_get_count,
    .heartbeat = mem_heartbeat,
    .abandon = mem_abandon,
    .reap = mem_reap,
    .count = mem_count,
    .sync = mem_sync,
    .put_blob = mem_put_blob,
    .get_blob = mem_get_blob,
};
