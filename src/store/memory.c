/*
 * memory.c — the in-memory back-end: studies live as long as the process. For library users
 * and tests; the reference behaviour the SQL back-ends must match.
 *
 * Each study holds its authoritative history and a change log: log[v - 1] is the number of the
 * trial changed by version v. sync() replays the log from the mirror's version, copying each
 * changed trial once (at its latest change), so its cost is the number of changes, not the
 * number of trials.
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

typedef struct mem_study {
    char *name;
    caviar_direction direction;
    store_history h;
    uint64_t *log;
    size_t cap_log;
    size_t first_waiting; /* no WAITING trial below this number */
    mem_counter *counters;
    size_t n_counters;
} mem_study;

typedef struct mem_store {
    store base;
    mem_study *studies;
    size_t n_studies;
} mem_store;

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

static void mem_close(store *s)
{
    mem_store *m = (mem_store *)s;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_studies; i++) {
        mem_study *st = &m->studies[i];
        free(st->name);
        store_history_release(&st->h);
        free(st->log);
        for (size_t c = 0; c < st->n_counters; c++)
            free(st->counters[c].name);
        free(st->counters);
    }
    free(m->studies);
    free(m);
}

static mem_study *study_at(store *s, int64_t id)
{
    mem_store *m = (mem_store *)s;
    return id >= 0 && (size_t)id < m->n_studies ? &m->studies[id] : NULL;
}

static caviar_status mem_open_study(store *s, const store_study_info *info, int64_t *id,
                                    caviar_error *err)
{
    mem_store *m = (mem_store *)s;
    for (size_t i = 0; i < m->n_studies; i++)
        if (strcmp(m->studies[i].name, info->name) == 0) {
            if (m->studies[i].direction != info->direction)
                return util_err(err, CAVIAR_EINVAL,
                                "study '%s' exists and is to be %s; it cannot be reopened to be "
                                "%s", info->name,
                                m->studies[i].direction == CAVIAR_MAXIMIZE ? "maximized"
                                                                           : "minimized",
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
    st->name = strdup(info->name);
    if (!st->name)
        return util_err(err, CAVIAR_ENOMEM, "cannot create study '%s': out of memory",
                        info->name);
    st->direction = info->direction;
    store_history_init(&st->h);
    *id = (int64_t)m->n_studies++;
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
    size_t id;
    return space_table_add(&study_at(s, study)->h.params, name, d, &id, err);
}

static caviar_status new_trial(mem_study *st, caviar_trial_state state, uint64_t *number,
                               caviar_error *err)
{
    store_trial t = {0};
    t.number = st->h.n_trials;
    t.state = state;
    t.value = NAN;
    caviar_status rc = store_history_put(&st->h, &t, err);
    if (rc == CAVIAR_OK)
        rc = changed(st, t.number, err);
    *number = t.number;
    return rc;
}

static caviar_status mem_enqueue(store *s, int64_t study, const double *values, size_t n,
                                 uint64_t *number, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    caviar_status rc = new_trial(st, CAVIAR_TRIAL_WAITING, number, err);
    for (size_t i = 0; rc == CAVIAR_OK && i < n; i++)
        if (!isnan(values[i]))
            rc = store_trial_set_value(&st->h.trials[*number], i, values[i], err);
    return rc;
}

static caviar_status mem_claim_waiting(store *s, int64_t study, uint64_t *number, int *found,
                                       caviar_error *err)
{
    mem_study *st = study_at(s, study);
    while (st->first_waiting < st->h.n_trials &&
           st->h.trials[st->first_waiting].state != CAVIAR_TRIAL_WAITING)
        st->first_waiting++;
    *found = st->first_waiting < st->h.n_trials;
    if (!*found)
        return CAVIAR_OK;
    *number = st->first_waiting;
    st->h.trials[*number].state = CAVIAR_TRIAL_RUNNING;
    st->h.trials[*number].start_time = wall_now();
    return changed(st, *number, err);
}

static caviar_status mem_create_running(store *s, int64_t study, uint64_t *number,
                                        caviar_error *err)
{
    mem_study *st = study_at(s, study);
    caviar_status rc = new_trial(st, CAVIAR_TRIAL_RUNNING, number, err);
    if (rc == CAVIAR_OK)
        st->h.trials[*number].start_time = wall_now();
    return rc;
}

static store_trial *running(store *s, int64_t study, uint64_t number, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    if (number >= st->h.n_trials) {
        util_err(err, CAVIAR_EINVAL, "study '%s' has no trial %llu", st->name,
                 (unsigned long long)number);
        return NULL;
    }
    store_trial *t = &st->h.trials[number];
    if (t->state != CAVIAR_TRIAL_RUNNING) {
        util_err(err, CAVIAR_EINVAL, "trial %llu of study '%s' is %s, not running",
                 (unsigned long long)number, st->name, caviar_trial_state_name(t->state));
        return NULL;
    }
    return t;
}

static caviar_status mem_set_param(store *s, int64_t study, uint64_t number, size_t param_id,
                                   double value, caviar_error *err)
{
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    caviar_status rc = store_trial_set_value(t, param_id, value, err);
    return rc == CAVIAR_OK ? changed(study_at(s, study), number, err) : rc;
}

static caviar_status mem_report(store *s, int64_t study, uint64_t number, int64_t step,
                                double value, caviar_error *err)
{
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    caviar_status rc = store_trial_add_report(t, step, value, err);
    return rc == CAVIAR_OK ? changed(study_at(s, study), number, err) : rc;
}

static caviar_status mem_set_attr(store *s, int64_t study, uint64_t number, const char *key,
                                  const char *value, caviar_error *err)
{
    mem_study *st = study_at(s, study);
    if (number >= st->h.n_trials)
        return util_err(err, CAVIAR_EINVAL, "study '%s' has no trial %llu", st->name,
                        (unsigned long long)number);
    caviar_status rc = store_trial_set_attr(&st->h.trials[number], key, value, err);
    return rc == CAVIAR_OK ? changed(st, number, err) : rc;
}

static caviar_status mem_finish(store *s, int64_t study, uint64_t number, caviar_trial_state state,
                                double value, caviar_error *err)
{
    store_trial *t = running(s, study, number, err);
    if (!t)
        return err ? err->status : CAVIAR_EINVAL;
    t->state = state;
    t->value = value;
    t->end_time = wall_now();
    return changed(study_at(s, study), number, err);
}

static caviar_status mem_next_count(store *s, int64_t study, const char *counter, uint64_t *value,
                                    caviar_error *err)
{
    mem_study *st = study_at(s, study);
    for (size_t i = 0; i < st->n_counters; i++)
        if (strcmp(st->counters[i].name, counter) == 0) {
            *value = st->counters[i].value++;
            return CAVIAR_OK;
        }
    mem_counter *c = realloc(st->counters, (st->n_counters + 1) * sizeof *c);
    if (!c)
        return util_err(err, CAVIAR_ENOMEM, "cannot create counter '%s': out of memory",
                        counter);
    st->counters = c;
    c[st->n_counters].name = strdup(counter);
    if (!c[st->n_counters].name)
        return util_err(err, CAVIAR_ENOMEM, "cannot create counter '%s': out of memory",
                        counter);
    c[st->n_counters++].value = 1;
    *value = 0;
    return CAVIAR_OK;
}

static caviar_status mem_sync(store *s, int64_t study, store_history *h, caviar_error *err)
{
    mem_study *st = study_at(s, study);
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

const store_type store_memory = {
    .name = "memory",
    .accepts = mem_accepts,
    .open = mem_open,
    .close = mem_close,
    .open_study = mem_open_study,
    .add_param = mem_add_param,
    .enqueue = mem_enqueue,
    .claim_waiting = mem_claim_waiting,
    .create_running = mem_create_running,
    .set_param = mem_set_param,
    .report = mem_report,
    .set_attr = mem_set_attr,
    .finish = mem_finish,
    .next_count = mem_next_count,
    .sync = mem_sync,
};

static const store_type *const back_ends[] = {&store_memory, NULL};

const store_type *store_find(const char *url)
{
    for (int i = 0; back_ends[i]; i++)
        if (back_ends[i]->accepts(url))
            return back_ends[i];
    return NULL;
}
