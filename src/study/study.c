/*
 * study.c — studies and trials: ask, suggest, report, should-prune, tell.
 *
 * A study is a store (the truth), a mirror of its history (store_history, brought up to date
 * with store.sync before every decision that reads it), a sampler and a pruner. A live trial is
 * the handle of one RUNNING trial of this process: its number, its random stream and the
 * sampler's proposals for it.
 *
 * ask:     an enqueued (WAITING) trial if there is one; else the sampler admits a new trial
 *          (or says the study is done) and the store creates it. Then the sampler's begin()
 *          proposes values for the parameters it samples jointly.
 * suggest: the value already fixed for the trial (enqueued, or asked before), else the
 *          sampler's proposal, else the sampler's independent sample; recorded in the store.
 * report:  recorded in the store; should_prune asks the pruner with the history brought up to
 *          date, so that it sees every worker's latest reports.
 *
 * A value, report or attribute this process records is also written into its own mirror at
 * once (the trial marked with MIRROR_DIRTY in its version, so that caches keyed on versions
 * look again), rather than read back with a sync: the next sync, before any decision that
 * reads other trials, replaces the trial with the store's copy anyway, since the store's
 * version has moved past the mirror's. That saves a read transaction per suggestion and per
 * report on the SQL back-ends.
 * tell:    the final state and value, in one store call.
 *
 * Read-only studies (opts.read_only: a dashboard) look at a study in a read-only store: found
 * with load_study rather than open_study, with the sampler and pruner of its stored definition,
 * no heartbeat thread; only refresh and the reading functions work, and every write is refused
 * here before it reaches the store (which would refuse it anyway).
 *
 * Workers. Each study object is one worker with its own id (host:pid:random), recorded with the
 * trials it runs. With opts.heartbeat > 0 and a store shared between processes, a thread with
 * its own connection refreshes the heartbeat of the worker's RUNNING trials every heartbeat
 * seconds, so that a worker busy in a long objective stays alive in the database; with
 * opts.grace > 0, ask() first ends the trials whose heartbeat is older than grace ("worker
 * lost": the worker was killed or its machine died), re-queuing them up to opts.max_retries
 * times (at most once per grace / 4 seconds per process).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caviar.h"
#include "prune/prune.h"
#include "sample/sample.h"

struct caviar_trial {
    caviar_study *study;
    uint64_t number;
    util_rng rng;
    double *proposed;
    size_t n_proposed;
    int enqueued;
};

typedef struct heartbeat {
    int running;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    double interval;
    const store_type *stype;
    store *st; /* its own connection */
    int64_t study;
    const char *worker;
} heartbeat;

struct caviar_study {
    char *name;
    int read_only;        /* opts.read_only: a read-only store, every write refused */
    caviar_direction direction;
    uint64_t seed;
    char worker[128];
    uint64_t max_trials;
    double grace, last_reap;
    unsigned max_retries;
    size_t first_waiting; /* no WAITING trial below it in the mirror (they never come back) */
    heartbeat hb;
    const store_type *stype;
    store *st;
    int64_t id;
    store_history h;
    sampler sampler;
    pruner pruner;
    caviar_trial **live;
    size_t n_live, cap_live;
    /* scratch for caviar_trial_view */
    const char **view_names;
    const caviar_dist **view_dists;
    double *view_values;
    size_t view_cap;
};

/* Set in store_trial.version when this process changed a trial in its mirror (no store version
 * comes near it). */
#define MIRROR_DIRTY ((uint64_t)1 << 63)

const char *caviar_trial_state_name(caviar_trial_state s)
{
    switch (s) {
    case CAVIAR_TRIAL_WAITING: return "waiting";
    case CAVIAR_TRIAL_RUNNING: return "running";
    case CAVIAR_TRIAL_COMPLETE: return "complete";
    case CAVIAR_TRIAL_PRUNED: return "pruned";
    case CAVIAR_TRIAL_FAIL: return "fail";
    }
    return "?";
}

void caviar_study_opts_init(caviar_study_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->name = "study";
    opts->direction = CAVIAR_MINIMIZE;
    opts->sampler = "random";
    opts->pruner = "none";
}

static caviar_status sync(caviar_study *s, caviar_error *err)
{
    return s->stype->sync(s->st, s->id, &s->h, err);
}

/* The refusal of a write on a study open read-only; the store would refuse it too, a step
 * later and in its own words. */
static caviar_status refuse_read_only(const caviar_study *s, const char *what,
                                      caviar_error *err)
{
    return util_err(err, CAVIAR_EINVAL, "study '%s' is open read-only: cannot %s", s->name,
                    what);
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* host:pid:random — unique among the workers of a study, readable in the database. */
static void worker_id(char *buf, size_t len)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    util_rng rng;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    util_rng_seed(&rng, (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                            ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)buf);
    snprintf(buf, len, "%s:%ld:%08llx", host, (long)getpid(),
             (unsigned long long)(util_rng_u64(&rng) & 0xffffffffu));
}

static void *heartbeat_main(void *arg)
{
    heartbeat *hb = arg;
    pthread_mutex_lock(&hb->lock);
    while (!hb->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double next = (double)until.tv_nsec * 1e-9 + hb->interval;
        until.tv_sec += (time_t)next;
        until.tv_nsec = (long)((next - floor(next)) * 1e9);
        int rc = 0;
        while (!hb->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&hb->wake, &hb->lock, &until);
        if (hb->stop)
            break;
        pthread_mutex_unlock(&hb->lock);
        caviar_error ignored; /* a missed beat is retried at the next one; grace covers it */
        hb->stype->heartbeat(hb->st, hb->study, hb->worker, &ignored);
        pthread_mutex_lock(&hb->lock);
    }
    pthread_mutex_unlock(&hb->lock);
    return NULL;
}

static caviar_status heartbeat_start(caviar_study *s, const char *url, double interval,
                                     caviar_error *err)
{
    heartbeat *hb = &s->hb;
    hb->interval = interval;
    hb->stype = s->stype;
    hb->study = s->id;
    hb->worker = s->worker;
    caviar_status st = s->stype->open(url, &hb->st, err);
    if (st != CAVIAR_OK)
        return st;
    pthread_mutex_init(&hb->lock, NULL);
    pthread_cond_init(&hb->wake, NULL);
    if (pthread_create(&hb->thread, NULL, heartbeat_main, hb) != 0) {
        pthread_mutex_destroy(&hb->lock);
        pthread_cond_destroy(&hb->wake);
        s->stype->close(hb->st);
        hb->st = NULL;
        return util_err(err, CAVIAR_ENOMEM, "cannot start the heartbeat thread");
    }
    hb->running = 1;
    return CAVIAR_OK;
}

static void heartbeat_stop(caviar_study *s)
{
    heartbeat *hb = &s->hb;
    if (!hb->running)
        return;
    pthread_mutex_lock(&hb->lock);
    hb->stop = 1;
    pthread_cond_signal(&hb->wake);
    pthread_mutex_unlock(&hb->lock);
    pthread_join(hb->thread, NULL);
    pthread_mutex_destroy(&hb->lock);
    pthread_cond_destroy(&hb->wake);
    s->stype->close(hb->st);
    hb->running = 0;
}

static caviar_status maybe_reap(caviar_study *s, caviar_error *err)
{
    if (!(s->grace > 0))
        return CAVIAR_OK;
    double now = monotonic_now();
    if (s->last_reap > 0 && now - s->last_reap < s->grace / 4)
        return CAVIAR_OK;
    s->last_reap = now;
    return s->stype->reap(s->st, s->id, s->grace, s->max_retries, NULL, err);
}

caviar_status caviar_study_reap(caviar_study *s, size_t *n_lost, caviar_error *err)
{
    size_t n = 0;
    caviar_status st = CAVIAR_OK;
    if (n_lost)
        *n_lost = 0;
    if (s->read_only)
        return refuse_read_only(s, "reap lost trials", err);
    if (s->grace > 0) {
        s->last_reap = monotonic_now();
        st = s->stype->reap(s->st, s->id, s->grace, s->max_retries, &n, err);
    }
    if (n_lost)
        *n_lost = n;
    return st == CAVIAR_OK ? sync(s, err) : st;
}

caviar_status caviar_study_refresh(caviar_study *s, caviar_error *err)
{
    return sync(s, err);
}

uint64_t caviar_study_version(const caviar_study *s)
{
    return s->h.version;
}

const char *caviar_study_worker(const caviar_study *s)
{
    return s->worker;
}

caviar_status caviar_study_put_blob(caviar_study *s, const char *key, const void *data,
                                    size_t len, caviar_error *err)
{
    if (s->read_only)
        return refuse_read_only(s, "store a blob", err);
    return s->stype->put_blob(s->st, s->id, key, data, len, err);
}

caviar_status caviar_study_get_blob(caviar_study *s, const char *key, void **data, size_t *len,
                                    caviar_error *err)
{
    return s->stype->get_blob(s->st, s->id, key, data, len, err);
}

/* opts.read_only: the study as stored, looked up in a read-only store, with the sampler and
 * pruner of its definition (s->name and s->stype set). */
static caviar_status open_to_look(caviar_study *s, const char *storage, caviar_error *err)
{
    store_study def;
    caviar_status st = s->stype->open_read_only(storage, &s->st, err);
    if (st != CAVIAR_OK || (st = s->stype->load_study(s->st, s->name, &def, err)) != CAVIAR_OK)
        return st;
    s->id = def.id;
    s->direction = def.direction;
    s->seed = def.seed;
    if ((st = sampler_open(&s->sampler, def.sampler, def.sampler_settings, def.seed,
                           def.direction, err)) != CAVIAR_OK ||
        (st = pruner_open(&s->pruner, def.pruner, def.pruner_settings, def.direction, err)) !=
            CAVIAR_OK)
        util_err_prefix(err, "the definition of study '%s'", s->name);
    store_study_release(&def);
    return st == CAVIAR_OK ? sync(s, err) : st;
}

caviar_study *caviar_study_new(const caviar_study_opts *opts, caviar_error *err)
{
    caviar_study_opts defaults;
    if (!opts) {
        caviar_study_opts_init(&defaults);
        opts = &defaults;
    }
    if (!opts->read_only && opts->direction != CAVIAR_MINIMIZE &&
        opts->direction != CAVIAR_MAXIMIZE) {
        util_err(err, CAVIAR_EINVAL, "invalid study direction %d", (int)opts->direction);
        return NULL;
    }
    const char *name = opts->name && *opts->name ? opts->name : "study";
    caviar_study *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        util_err(err, CAVIAR_ENOMEM, "cannot create study '%s': out of memory", name);
        return NULL;
    }
    s->read_only = opts->read_only != 0;
    if (!s->read_only) {
        s->direction = opts->direction;
        s->seed = opts->seed;
        s->max_trials = opts->max_trials;
        s->grace = opts->grace;
        s->max_retries = opts->max_retries;
    }
    worker_id(s->worker, sizeof s->worker);
    store_history_init(&s->h);
    s->stype = store_find(opts->storage);
    if (!s->stype) {
        char shown[512];
        util_err(err, CAVIAR_EINVAL, "unknown storage '%s'\nhint: ':memory:', a SQLite file "
                 "('caviar.db', 'sqlite:PATH') or a PostgreSQL URL ('postgresql://HOST/DB')",
                 store_redact(opts->storage, shown, sizeof shown));
        goto fail;
    }
    if (s->read_only) {
        if (open_to_look(s, opts->storage, err) != CAVIAR_OK)
            goto fail;
        return s;
    }
    store_study_info info = {name,           opts->direction,        opts->seed,
                             opts->sampler,  opts->sampler_settings, opts->pruner,
                             opts->pruner_settings, opts->spec};
    /* The sampler and pruner first: a bad name or setting must not leave a study behind. */
    if (sampler_open(&s->sampler, opts->sampler, opts->sampler_settings, opts->seed,
                     opts->direction, err) != CAVIAR_OK ||
        pruner_open(&s->pruner, opts->pruner, opts->pruner_settings, opts->direction, err) !=
            CAVIAR_OK ||
        s->stype->open(opts->storage, &s->st, err) != CAVIAR_OK ||
        s->stype->open_study(s->st, &info, &s->id, err) != CAVIAR_OK || sync(s, err) != CAVIAR_OK)
        goto fail;
    if (opts->heartbeat > 0 && s->stype != &store_memory &&
        heartbeat_start(s, opts->storage, opts->heartbeat, err) != CAVIAR_OK)
        goto fail;
    return s;
fail:
    caviar_study_free(s);
    return NULL;
}

static void trial_free(caviar_trial *t)
{
    if (t) {
        free(t->proposed);
        free(t);
    }
}

void caviar_study_free(caviar_study *s)
{
    if (!s)
        return;
    heartbeat_stop(s);
    for (size_t i = 0; i < s->n_live; i++)
        trial_free(s->live[i]);
    free(s->live);
    sampler_close(&s->sampler);
    pruner_close(&s->pruner);
    if (s->st)
        s->stype->close(s->st);
    store_history_release(&s->h);
    free(s->view_names);
    free(s->view_dists);
    free(s->view_values);
    free(s->name);
    free(s);
}

caviar_status caviar_study_add_param(caviar_study *s, const char *name, const caviar_dist *d,
                                     caviar_error *err)
{
    if (s->read_only)
        return refuse_read_only(s, "add a parameter", err);
    caviar_status st = caviar_dist_check(d, name, err);
    if (st == CAVIAR_OK)
        st = s->stype->add_param(s->st, s->id, name, d, err);
    return st == CAVIAR_OK ? sync(s, err) : st;
}

caviar_status caviar_study_enqueue(caviar_study *s, const char *const *names,
                                   const double *values, size_t n, caviar_error *err)
{
    if (s->read_only)
        return refuse_read_only(s, "enqueue a trial", err);
    caviar_status st = sync(s, err);
    if (st != CAVIAR_OK)
        return st;
    size_t n_params = s->h.params.n;
    double *by_id = malloc((n_params ? n_params : 1) * sizeof *by_id);
    if (!by_id)
        return util_err(err, CAVIAR_ENOMEM, "cannot enqueue a trial: out of memory");
    for (size_t i = 0; i < n_params; i++)
        by_id[i] = NAN;
    for (size_t i = 0; i < n; i++) {
        long id = space_table_find(&s->h.params, names[i]);
        if (id < 0) {
            st = util_err(err, CAVIAR_EINVAL,
                          "cannot enqueue a trial: study '%s' has no parameter '%s'\nhint: "
                          "declare it first (caviar_study_add_param)", s->name, names[i]);
            goto done;
        }
        const caviar_dist *d = &s->h.params.params[id].dist;
        if (!caviar_dist_contains(d, values[i])) {
            char buf[256];
            st = util_err(err, CAVIAR_EINVAL,
                          "cannot enqueue a trial: %g is not an admissible value of parameter "
                          "'%s' (%s)", values[i], names[i], space_describe(d, buf, sizeof buf));
            goto done;
        }
        by_id[id] = values[i];
    }
    uint64_t number;
    if ((st = s->stype->enqueue(s->st, s->id, by_id, n_params, &number, err)) == CAVIAR_OK)
        st = sync(s, err);
done:
    free(by_id);
    return st;
}

static store_trial *record(caviar_trial *t)
{
    return &t->study->h.trials[t->number];
}

caviar_trial *caviar_study_ask(caviar_study *s, caviar_error *err)
{
    caviar_status st;
    if (s->read_only) {
        refuse_read_only(s, "ask for a trial", err);
        return NULL;
    }
    if (s->n_live == s->cap_live) {
        size_t cap = s->cap_live ? 2 * s->cap_live : 8;
        caviar_trial **live = realloc(s->live, cap * sizeof *live);
        if (!live) {
            util_err(err, CAVIAR_ENOMEM, "cannot start a trial: out of memory");
            return NULL;
        }
        s->live = live;
        s->cap_live = cap;
    }
    caviar_trial *t = calloc(1, sizeof *t);
    if (!t) {
        util_err(err, CAVIAR_ENOMEM, "cannot start a trial: out of memory");
        return NULL;
    }
    if ((st = sync(s, err)) != CAVIAR_OK)
        goto fail;
    if ((st = maybe_reap(s, err)) != CAVIAR_OK)
        goto fail;
    sample_ctx ctx = {.direction = s->direction, .st = s->st, .study = s->id};
    store_start start = {.worker = s->worker, .max_trials = s->max_trials};
    int found = 0;
    /* A WAITING trial (enqueued, or a re-run) is claimed first. The mirror, just synced, says
     * whether there is one: without, the claim's write transaction is skipped; one queued
     * since is taken by the next ask. */
    while (s->first_waiting < s->h.n_trials &&
           s->h.trials[s->first_waiting].state != CAVIAR_TRIAL_WAITING)
        s->first_waiting++;
    if (s->first_waiting < s->h.n_trials &&
        (st = s->stype->claim_waiting(s->st, s->id, &start, &t->number, &found, err)) !=
            CAVIAR_OK)
        goto fail;
    t->study = s;
    if (found) {
        ctx.enqueued = t->enqueued = 1;
    } else {
        if (s->sampler.type->admit &&
            (st = s->sampler.type->admit(s->sampler.self, &s->h, &ctx, err)) != CAVIAR_OK)
            goto fail; /* CAVIAR_STOPPED: the sampler is done */
        start.counter = ctx.counter;
        start.counter_limit = ctx.counter_limit;
        start.counter_done = ctx.counter_done;
        if ((st = s->stype->create_running(s->st, s->id, &start, &t->number, &ctx.claim,
                                           err)) != CAVIAR_OK)
            goto fail; /* CAVIAR_STOPPED: the budget or the sampler's counter is spent */
    }
    if ((st = sync(s, err)) != CAVIAR_OK)
        goto fail;
    ctx.has_claim = record(t)->has_claim;
    ctx.claim = record(t)->claim;
    util_rng_derive(&t->rng, s->seed, t->number);
    t->n_proposed = s->h.params.n;
    t->proposed = malloc((t->n_proposed ? t->n_proposed : 1) * sizeof *t->proposed);
    if (!t->proposed) {
        st = util_err(err, CAVIAR_ENOMEM, "cannot start a trial: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < t->n_proposed; i++)
        t->proposed[i] = NAN;
    ctx.number = t->number;
    ctx.rng = &t->rng;
    ctx.proposed = t->proposed;
    ctx.n_proposed = t->n_proposed;
    if ((st = s->sampler.type->begin(s->sampler.self, &s->h, &ctx, err)) != CAVIAR_OK) {
        /* The trial exists in the store: end it rather than leave it running forever. */
        caviar_error ignored;
        s->stype->finish(s->st, s->id, t->number, CAVIAR_TRIAL_FAIL, NAN, &ignored);
        goto fail;
    }
    s->live[s->n_live++] = t;
    return t;
fail:
    trial_free(t);
    if (err)
        err->status = st;
    return NULL;
}

uint64_t caviar_trial_number(const caviar_trial *t)
{
    return t->number;
}

caviar_study *caviar_trial_study(caviar_trial *t)
{
    return t->study;
}

uint64_t caviar_trial_seed(const caviar_trial *t)
{
    return t->number * 0x9e3779b97f4a7c15ULL + 1 + t->study->seed * 0xbf58476d1ce4e5b9ULL;
}

caviar_status caviar_trial_suggest(caviar_trial *t, const char *name, const caviar_dist *d,
                                   double *internal, caviar_error *err)
{
    caviar_study *s = t->study;
    long found = space_table_find(&s->h.params, name);
    caviar_status st;
    size_t id;
    if (found >= 0 && caviar_dist_equal(&s->h.params.params[found].dist, d)) {
        id = (size_t)found;
    } else {
        /* New to this process, or a mismatch, which the store reports. Ids come from the
         * store (they must agree across processes), so the mirror learns this one by sync. */
        if ((st = caviar_dist_check(d, name, err)) != CAVIAR_OK ||
            (st = s->stype->add_param(s->st, s->id, name, d, err)) != CAVIAR_OK ||
            (st = sync(s, err)) != CAVIAR_OK)
            return st;
        found = space_table_find(&s->h.params, name);
        if (found < 0)
            return util_err(err, CAVIAR_EIO, "parameter '%s' was stored but cannot be read back",
                            name);
        id = (size_t)found;
    }
    double v = store_trial_param(record(t), id);
    if (!isnan(v)) {
        if (!caviar_dist_contains(d, v)) {
            char buf[256];
            return util_err(err, CAVIAR_EINVAL,
                            "trial %llu: the enqueued value %g of parameter '%s' is not in %s",
                            (unsigned long long)t->number, v, name,
                            space_describe(d, buf, sizeof buf));
        }
        *internal = v;
        return CAVIAR_OK;
    }
    if (id < t->n_proposed && !isnan(t->proposed[id])) {
        v = t->proposed[id];
    } else {
        sample_ctx ctx = {.number = t->number, .rng = &t->rng, .direction = s->direction,
                          .proposed = t->proposed, .n_proposed = t->n_proposed, .st = s->st,
                          .study = s->id, .enqueued = t->enqueued};
        if ((st = s->sampler.type->sample(s->sampler.self, &s->h, &ctx, id, d, &v, err)) !=
            CAVIAR_OK)
            return st;
    }
    if ((st = s->stype->set_param(s->st, s->id, t->number, id, v, err)) != CAVIAR_OK ||
        (st = store_trial_set_value(record(t), id, v, err)) != CAVIAR_OK)
        return st;
    record(t)->version |= MIRROR_DIRTY;
    *internal = v;
    return CAVIAR_OK;
}

caviar_status caviar_trial_suggest_float(caviar_trial *t, const char *name, double low,
                                         double high, caviar_scale scale, double step,
                                         double *out, caviar_error *err)
{
    caviar_dist d = {.kind = CAVIAR_DIST_FLOAT, .scale = scale, .low = low, .high = high,
                     .step = step};
    return caviar_trial_suggest(t, name, &d, out, err);
}

caviar_status caviar_trial_suggest_int(caviar_trial *t, const char *name, int64_t low,
                                       int64_t high, caviar_scale scale, int64_t step,
                                       int64_t *out, caviar_error *err)
{
    caviar_dist d = {.kind = CAVIAR_DIST_INT, .scale = scale, .low = (double)low,
                     .high = (double)high, .step = (double)(step < 1 ? 1 : step)};
    double v;
    caviar_status st = caviar_trial_suggest(t, name, &d, &v, err);
    if (st == CAVIAR_OK)
        *out = (int64_t)v;
    return st;
}

caviar_status caviar_trial_suggest_categorical(caviar_trial *t, const char *name,
                                               const caviar_value *choices, size_t n,
                                               size_t *index, caviar_error *err)
{
    caviar_dist d = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = n, .choices = choices};
    double v;
    caviar_status st = caviar_trial_suggest(t, name, &d, &v, err);
    if (st == CAVIAR_OK)
        *index = (size_t)v;
    return st;
}

caviar_status caviar_trial_report(caviar_trial *t, int64_t step, double value, caviar_error *err)
{
    caviar_study *s = t->study;
    caviar_status st = s->stype->report(s->st, s->id, t->number, step, value, err);
    if (st == CAVIAR_OK && (st = store_trial_add_report(record(t), step, value, err)) ==
                               CAVIAR_OK)
        record(t)->version |= MIRROR_DIRTY;
    return st;
}

int caviar_trial_should_prune(caviar_trial *t)
{
    caviar_study *s = t->study;
    caviar_error ignored;
    if (sync(s, &ignored) != CAVIAR_OK)
        return 0;
    if (caviar_stop_requested())
        return 1; /* the worker is stopping: end the trial now (it is re-queued) */
    const store_trial *r = record(t);
    if (r->n_reports == 0)
        return 0;
    return pruner_should_prune(&s->pruner, &s->h, r);
}

caviar_status caviar_trial_set_attr(caviar_trial *t, const char *key, const char *value,
                                    caviar_error *err)
{
    caviar_study *s = t->study;
    caviar_status st = s->stype->set_attr(s->st, s->id, t->number, key, value, err);
    if (st == CAVIAR_OK && (st = store_trial_set_attr(record(t), key, value, err)) == CAVIAR_OK)
        record(t)->version |= MIRROR_DIRTY;
    return st;
}

caviar_status caviar_study_tell(caviar_study *s, caviar_trial *t, caviar_trial_state state,
                                double value, caviar_error *err)
{
    if (s->read_only)
        return refuse_read_only(s, "tell a trial's result", err);
    size_t at = 0;
    while (at < s->n_live && s->live[at] != t)
        at++;
    if (at == s->n_live)
        return util_err(err, CAVIAR_EINVAL, "tell: this trial is not running in study '%s'",
                        s->name);
    if (state != CAVIAR_TRIAL_COMPLETE && state != CAVIAR_TRIAL_PRUNED &&
        state != CAVIAR_TRIAL_FAIL)
        return util_err(err, CAVIAR_EINVAL, "tell: a trial ends COMPLETE, PRUNED or FAIL, not %s",
                        caviar_trial_state_name(state));
    if (state == CAVIAR_TRIAL_COMPLETE && isnan(value))
        state = CAVIAR_TRIAL_FAIL;
    if (state == CAVIAR_TRIAL_FAIL)
        value = NAN;
    if (state == CAVIAR_TRIAL_PRUNED && isnan(value)) {
        const store_trial *r = record(t);
        if (r->n_reports)
            value = r->step_values[r->n_reports - 1];
    }
    caviar_status st = s->stype->finish(s->st, s->id, t->number, state, value, err);
    if (st != CAVIAR_OK)
        return st;
    s->live[at] = s->live[--s->n_live];
    trial_free(t);
    return sync(s, err);
}

caviar_status caviar_study_abandon(caviar_study *s, caviar_trial *t, const char *reason,
                                   int requeue, caviar_error *err)
{
    if (s->read_only)
        return refuse_read_only(s, "abandon a trial", err);
    size_t at = 0;
    while (at < s->n_live && s->live[at] != t)
        at++;
    if (at == s->n_live)
        return util_err(err, CAVIAR_EINVAL, "abandon: this trial is not running in study '%s'",
                        s->name);
    caviar_status st = s->stype->abandon(s->st, s->id, t->number, reason ? reason : "abandoned",
                                         requeue, err);
    if (st != CAVIAR_OK)
        return st;
    s->live[at] = s->live[--s->n_live];
    trial_free(t);
    return sync(s, err);
}

/* ---- reading ---- */

size_t caviar_study_n_trials(const caviar_study *s)
{
    return s->h.n_trials;
}

caviar_status caviar_study_trial(const caviar_study *cs, size_t i, caviar_trial_view *out)
{
    caviar_study *s = (caviar_study *)cs; /* the view scratch is not part of the study's value */
    if (i >= s->h.n_trials)
        return CAVIAR_EINVAL;
    const store_trial *r = &s->h.trials[i];
    size_t n = s->h.params.n;
    if (n > s->view_cap) {
        const char **names = realloc(s->view_names, n * sizeof *names);
        if (names)
            s->view_names = names;
        const caviar_dist **dists = realloc(s->view_dists, n * sizeof *dists);
        if (dists)
            s->view_dists = dists;
        double *values = realloc(s->view_values, n * sizeof *values);
        if (values)
            s->view_values = values;
        if (!names || !dists || !values)
            return CAVIAR_ENOMEM;
        s->view_cap = n;
    }
    memset(out, 0, sizeof *out);
    for (size_t id = 0; id < n; id++) {
        double v = store_trial_param(r, id);
        if (isnan(v))
            continue;
        s->view_names[out->n_params] = s->h.params.params[id].name;
        s->view_dists[out->n_params] = &s->h.params.params[id].dist;
        s->view_values[out->n_params++] = v;
    }
    out->number = r->number;
    out->state = r->state;
    out->value = r->value;
    out->param_names = s->view_names;
    out->param_dists = s->view_dists;
    out->param_values = s->view_values;
    out->n_reports = r->n_reports;
    out->report_steps = r->steps;
    out->report_values = r->step_values;
    out->n_attrs = r->n_attrs;
    out->attrs = r->attrs;
    out->start_time = r->start_time;
    out->end_time = r->end_time;
    out->fail_reason = r->fail_reason;
    out->retry_of = r->retry_of;
    out->requeued = r->requeued;
    return CAVIAR_OK;
}

static long best_index(const caviar_study *s)
{
    long best = -1;
    for (size_t i = 0; i < s->h.n_trials; i++) {
        const store_trial *r = &s->h.trials[i];
        if (r->state == CAVIAR_TRIAL_COMPLETE && !isnan(r->value) &&
            (best < 0 || sample_better(s->direction, r->value, s->h.trials[best].value)))
            best = (long)i;
    }
    return best;
}

caviar_status caviar_study_best(const caviar_study *s, caviar_trial_view *out, caviar_error *err)
{
    long best = best_index(s);
    if (best < 0)
        return util_err(err, CAVIAR_EMISSING, "study '%s' has no complete trial yet", s->name);
    return caviar_study_trial(s, (size_t)best, out);
}

void caviar_study_summarize(const caviar_study *s, caviar_study_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n_trials = s->h.n_trials;
    for (size_t i = 0; i < s->h.n_trials; i++) {
        switch (s->h.trials[i].state) {
        case CAVIAR_TRIAL_WAITING: out->n_waiting++; break;
        case CAVIAR_TRIAL_RUNNING: out->n_running++; break;
        case CAVIAR_TRIAL_COMPLETE: out->n_complete++; break;
        case CAVIAR_TRIAL_PRUNED: out->n_pruned++; break;
        case CAVIAR_TRIAL_FAIL: out->n_fail++; break;
        }
        out->n_requeued += s->h.trials[i].requeued != 0;
    }
    long best = best_index(s);
    out->best_value = best < 0 ? NAN : s->h.trials[best].value;
    out->best_trial = best < 0 ? 0 : (uint64_t)best;
}
