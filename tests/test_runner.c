/*
 * test_runner.c — caviar_run, the forking runner, through the C API on SQLite files in a
 * temporary directory:
 *   - a budget spent exactly by several workers, failing trials counted in it with their reason;
 *   - a finished grid ends the run by itself;
 *   - a study that is not shared between processes is refused with its exact message;
 *   - Ctrl-C (SIGINT to the process group): running trials end FAIL "interrupted" and are
 *     re-queued with their parameters, nothing is left RUNNING, and a second run resumes;
 *   - a second Ctrl-C kills the workers at once;
 *   - a worker killed with SIGKILL is replaced and its trial re-run after the grace period;
 *   - the time limit (w.max_seconds) stops starting trials;
 *   - caviar_stop_requested() is 0 outside a stop.
 *
 * The runner's signal tests run caviar_run in a forked child that leads its own process group
 * (setpgid), as a shell's job would be, and pass its results back through a shared mapping;
 * the objectives count their starts and publish their pid there too, so that signals are sent
 * when the workers are known to be inside a trial rather than after a guessed delay alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "caviar.h"

static char tmpdir[256];

/* ---- helpers --------------------------------------------------------------------------- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleeps the whole time, whatever signals arrive. */
static void sleep_full(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Sleeps, or less when a signal arrives (the objective then looks at should_prune). */
static void sleep_once(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    nanosleep(&ts, NULL);
}

static void db_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s.db", tmpdir, name);
}

/* What the objectives share with the test across fork (a MAP_SHARED mapping). */
typedef struct shared {
    int n_started;      /* trials that entered the objective */
    int victim_pid;     /* the worker running the victim trial */
    /* A runner run in a child process: its results. */
    int done;
    caviar_status status;
    caviar_work_stats stats;
    char msg[CAVIAR_ERRMSG_LEN];
    int stop_requested_after;
} shared;

static shared *shared_new(void)
{
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                      0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    return sh;
}

static void shared_free(shared *sh)
{
    munmap(sh, sizeof *sh);
}

/* The objective of most tests: x in [-5, 5], y in 0..9, value x^2 + y, reported over `steps`
 * steps of `step_sleep` seconds each.
 *   fail_mod > 0    trials whose number % fail_mod == 1 fail with "boom on trial N"
 *   ignore_stop     sleeps through signals and never asks should_prune (a stubborn objective)
 *   victim >= 0     that trial publishes its pid and sleeps victim_sleep seconds first */
typedef struct obj_cfg {
    int steps;
    double step_sleep;
    unsigned fail_mod;
    int ignore_stop;
    int64_t victim;
    double victim_sleep;
    shared *sh;
} obj_cfg;

static void cfg_init(obj_cfg *c, shared *sh)
{
    memset(c, 0, sizeof *c);
    c->steps = 3;
    c->step_sleep = 0.002;
    c->victim = -1;
    c->sh = sh;
}

static caviar_trial_state objective(caviar_trial *t, void *user, double *value,
                                    caviar_error *err)
{
    const obj_cfg *c = user;
    double x;
    int64_t y;
    if (caviar_trial_suggest_float(t, "x", -5, 5, CAVIAR_SCALE_LINEAR, 0, &x, err) ||
        caviar_trial_suggest_int(t, "y", 0, 9, CAVIAR_SCALE_LINEAR, 1, &y, err))
        return CAVIAR_TRIAL_FAIL;
    uint64_t n = caviar_trial_number(t);
    if (c->sh)
        __atomic_add_fetch(&c->sh->n_started, 1, __ATOMIC_SEQ_CST);
    if (c->fail_mod && n % c->fail_mod == 1) {
        err->status = CAVIAR_EINVAL;
        snprintf(err->msg, sizeof err->msg, "boom on trial %llu", (unsigned long long)n);
        return CAVIAR_TRIAL_FAIL;
    }
    if (c->victim >= 0 && (int64_t)n == c->victim) {
        __atomic_store_n(&c->sh->victim_pid, (int)getpid(), __ATOMIC_SEQ_CST);
        sleep_full(c->victim_sleep);
    }
    double f = x * x + (double)y, v = f;
    for (int step = 1; step <= c->steps; step++) {
        if (c->ignore_stop)
            sleep_full(c->step_sleep);
        else
            sleep_once(c->step_sleep);
        v = f + 1.0 / step;
        if (caviar_trial_report(t, step, v, err) != CAVIAR_OK)
            return CAVIAR_TRIAL_FAIL;
        if (!c->ignore_stop && step < c->steps && caviar_trial_should_prune(t)) {
            *value = v;
            return CAVIAR_TRIAL_PRUNED;
        }
    }
    *value = f;
    return CAVIAR_TRIAL_COMPLETE;
}

static void study_opts(caviar_study_opts *o, const char *path, const char *name,
                       uint64_t budget)
{
    caviar_study_opts_init(o);
    o->storage = path;
    o->name = name;
    o->seed = 11;
    o->max_trials = budget;
    o->heartbeat = 0.2;
    o->grace = 1.0;
    o->max_retries = 2;
}

static void work_opts(caviar_work_opts *w, unsigned jobs)
{
    caviar_work_opts_init(w);
    w->jobs = jobs;
    w->poll = 0.05;
    w->quiet = 1;
}

/* A trial as read back, copied out of the study's borrowed view. */
#define MAX_PARAMS 4
typedef struct trial_copy {
    uint64_t number;
    caviar_trial_state state;
    double value;
    char reason[128];
    int has_reason;
    int64_t retry_of;
    int requeued;
    size_t n_params;
    char names[MAX_PARAMS][16];
    double values[MAX_PARAMS];
    size_t n_reports;
} trial_copy;

typedef struct tally {
    size_t n, counted, waiting, running, complete, pruned, fail, requeued;
} tally;

/* Reads every trial of the study back (without reaping: grace and heartbeat 0). */
static size_t load_trials(const caviar_study_opts *opts, trial_copy **out, tally *ty)
{
    caviar_study_opts o = *opts;
    o.heartbeat = 0;
    o.grace = 0;
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("cannot read study '%s' back: %s", o.name, err.msg);
    size_t n = caviar_study_n_trials(s);
    trial_copy *tc = calloc(n ? n : 1, sizeof *tc);
    assert_non_null(tc);
    memset(ty, 0, sizeof *ty);
    for (size_t i = 0; i < n; i++) {
        caviar_trial_view v;
        assert_int_equal(caviar_study_trial(s, i, &v), CAVIAR_OK);
        trial_copy *c = &tc[i];
        c->number = v.number;
        c->state = v.state;
        c->value = v.value;
        c->has_reason = v.fail_reason != NULL;
        snprintf(c->reason, sizeof c->reason, "%s", v.fail_reason ? v.fail_reason : "");
        c->retry_of = v.retry_of;
        c->requeued = v.requeued;
        assert_true(v.n_params <= MAX_PARAMS);
        c->n_params = v.n_params;
        for (size_t k = 0; k < v.n_params; k++) {
            snprintf(c->names[k], sizeof c->names[k], "%s", v.param_names[k]);
            c->values[k] = v.param_values[k];
        }
        c->n_reports = v.n_reports;
        ty->n++;
        ty->counted += !v.requeued;
        ty->requeued += v.requeued != 0;
        switch (v.state) {
        case CAVIAR_TRIAL_WAITING: ty->waiting++; break;
        case CAVIAR_TRIAL_RUNNING: ty->running++; break;
        case CAVIAR_TRIAL_COMPLETE: ty->complete++; break;
        case CAVIAR_TRIAL_PRUNED: ty->pruned++; break;
        case CAVIAR_TRIAL_FAIL: ty->fail++; break;
        }
    }
    caviar_study_free(s);
    *out = tc;
    return n;
}

static const trial_copy *find_trial(const trial_copy *tc, size_t n, uint64_t number)
{
    for (size_t i = 0; i < n; i++)
        if (tc[i].number == number)
            return &tc[i];
    return NULL;
}

static const trial_copy *find_rerun(const trial_copy *tc, size_t n, uint64_t of)
{
    const trial_copy *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (tc[i].retry_of >= 0 && (uint64_t)tc[i].retry_of == of) {
            if (found)
                fail_msg("trial %llu has two re-runs", (unsigned long long)of);
            found = &tc[i];
        }
    return found;
}

static double param_of(const trial_copy *c, const char *name)
{
    for (size_t k = 0; k < c->n_params; k++)
        if (strcmp(c->names[k], name) == 0)
            return c->values[k];
    return NAN;
}

/* The re-run holds every parameter of its original with the same value. */
static void assert_same_params(const trial_copy *orig, const trial_copy *rerun)
{
    if (orig->n_params == 0)
        fail_msg("trial %llu has no parameters", (unsigned long long)orig->number);
    for (size_t k = 0; k < orig->n_params; k++) {
        double v = param_of(rerun, orig->names[k]);
        if (!(v == orig->values[k]))
            fail_msg("re-run %llu of trial %llu: %s = %.17g, not %.17g",
                     (unsigned long long)rerun->number, (unsigned long long)orig->number,
                     orig->names[k], v, orig->values[k]);
    }
}

/* Every trial final and the trials that count are exactly the budget. */
static void assert_budget_spent(const tally *ty, uint64_t budget)
{
    if (ty->running || ty->waiting)
        fail_msg("%zu trials RUNNING, %zu WAITING after the run", ty->running, ty->waiting);
    if (ty->counted != budget)
        fail_msg("%zu trials count, budget %llu", ty->counted, (unsigned long long)budget);
}

/* Starts caviar_run in a child that leads its own process group; its results go to sh. */
static pid_t run_in_child(const caviar_study_opts *o, const caviar_work_opts *w, obj_cfg *cfg,
                          shared *sh)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        caviar_error err = {0};
        caviar_work_stats stats;
        caviar_status st = caviar_run(o, w, objective, cfg, &stats, &err);
        sh->status = st;
        sh->stats = stats;
        snprintf(sh->msg, sizeof sh->msg, "%s", st == CAVIAR_OK ? "" : err.msg);
        sh->stop_requested_after = caviar_stop_requested();
        __atomic_store_n(&sh->done, 1, __ATOMIC_SEQ_CST);
        _exit(0);
    }
    setpgid(pid, pid); /* both sides, so that no signal races the child's own call */
    return pid;
}

/* Waits up to timeout seconds for the child; on timeout kills its process group and fails. */
static double wait_child(pid_t pid, double timeout)
{
    double t0 = mono_now();
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("the runner's process ended with status %d", status);
            return mono_now() - t0;
        }
        if (mono_now() - t0 > timeout) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("the runner did not return within %.0f s", timeout);
        }
        sleep_full(0.01);
    }
}

/* Waits until n trials have entered the objective. */
static void wait_started(shared *sh, int n, double timeout)
{
    double t0 = mono_now();
    while (__atomic_load_n(&sh->n_started, __ATOMIC_SEQ_CST) < n) {
        if (mono_now() - t0 > timeout)
            fail_msg("only %d of %d trials started within %.0f s", sh->n_started, n, timeout);
        sleep_full(0.01);
    }
}

/* The children of a process, from /proc/PID/task/PID/children. */
static size_t children_of(pid_t pid, pid_t *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    long p;
    while (n < cap && fscanf(f, "%ld", &p) == 1)
        out[n++] = (pid_t)p;
    fclose(f);
    return n;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/caviar-runner-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

/* ---- tests --------------------------------------------------------------------------------- */

/* 3 workers, a budget of 30: exactly 30 trials, all final, every one run by this run; the
 * objective fails every fourth trial, which ends FAIL with its message and counts. */
static void test_budget_and_failures(void **state)
{
    (void)state;
    assert_int_equal(caviar_stop_requested(), 0);
    char path[512];
    db_path(path, sizeof path, "budget");
    caviar_study_opts o;
    study_opts(&o, path, "budget", 30);
    caviar_work_opts w;
    work_opts(&w, 3);
    obj_cfg cfg;
    cfg_init(&cfg, NULL);
    cfg.fail_mod = 4;
    caviar_work_stats stats;
    caviar_error err = {0};
    caviar_status st = caviar_run(&o, &w, objective, &cfg, &stats, &err);
    if (st != CAVIAR_OK)
        fail_msg("caviar_run: %s", err.msg);
    assert_int_equal(stats.n_run, 30);
    assert_int_equal(stats.n_lost, 0);
    assert_int_equal(stats.n_interrupted, 0);
    assert_int_equal(stats.n_failed_workers, 0);
    assert_int_equal(stats.interrupted, 0);
    assert_int_equal(caviar_stop_requested(), 0);

    trial_copy *tc;
    tally ty;
    size_t n = load_trials(&o, &tc, &ty);
    assert_int_equal(n, 30);
    assert_budget_spent(&ty, 30);
    assert_int_equal(ty.requeued, 0);
    size_t n_fail = 0;
    for (size_t i = 0; i < n; i++) {
        const trial_copy *c = &tc[i];
        assert_true(c->number < 30);
        assert_null(find_trial(tc, i, c->number)); /* numbers are distinct */
        if (c->number % 4 == 1) {
            char want[64];
            snprintf(want, sizeof want, "boom on trial %llu", (unsigned long long)c->number);
            if (c->state != CAVIAR_TRIAL_FAIL || strcmp(c->reason, want) != 0)
                fail_msg("trial %llu: state %s, reason '%s', want FAIL '%s'",
                         (unsigned long long)c->number, caviar_trial_state_name(c->state),
                         c->reason, want);
            assert_int_equal(c->retry_of, -1);
            n_fail++;
        } else {
            assert_int_equal(c->state, CAVIAR_TRIAL_COMPLETE);
            assert_int_equal(c->n_reports, 3);
            double x = param_of(c, "x"), y = param_of(c, "y");
            assert_true(fabs(c->value - (x * x + y)) < 1e-12);
        }
    }
    assert_int_equal(n_fail, 8); /* 1, 5, 9, ..., 29 */
    assert_int_equal(ty.fail, 8);
    free(tc);

    /* Running again with the budget spent does nothing and returns at once. */
    double t0 = mono_now();
    st = caviar_run(&o, &w, objective, &cfg, &stats, &err);
    if (st != CAVIAR_OK)
        fail_msg("caviar_run again: %s", err.msg);
    assert_int_equal(stats.n_run, 0);
    assert_true(mono_now() - t0 < 5);
}

/* The grid sampler of 4 x 3 = 12 declared points with a budget of 50: every point once, then
 * the run ends by itself. */
static const caviar_value grid_choices[3] = {
    {CAVIAR_VALUE_STRING, 0, "a"}, {CAVIAR_VALUE_STRING, 0, "b"}, {CAVIAR_VALUE_STRING, 0, "c"}};

static caviar_trial_state grid_objective(caviar_trial *t, void *user, double *value,
                                         caviar_error *err)
{
    (void)user;
    int64_t x;
    size_t c;
    if (caviar_trial_suggest_int(t, "x", 0, 3, CAVIAR_SCALE_LINEAR, 1, &x, err) ||
        caviar_trial_suggest_categorical(t, "c", grid_choices, 3, &c, err))
        return CAVIAR_TRIAL_FAIL;
    sleep_full(0.005);
    *value = (double)(10 * x) + (double)c;
    return CAVIAR_TRIAL_COMPLETE;
}

static void test_grid_ends(void **state)
{
    (void)state;
    char path[512];
    db_path(path, sizeof path, "grid");
    caviar_study_opts o;
    study_opts(&o, path, "grid", 50);
    o.sampler = "grid";
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("%s", err.msg);
    caviar_dist dx = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LINEAR, .low = 0, .high = 3,
                      .step = 1};
    caviar_dist dc = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = grid_choices};
    assert_int_equal(caviar_study_add_param(s, "x", &dx, &err), CAVIAR_OK);
    assert_int_equal(caviar_study_add_param(s, "c", &dc, &err), CAVIAR_OK);
    caviar_study_free(s);

    caviar_work_opts w;
    work_opts(&w, 3);
    caviar_work_stats stats;
    alarm(60); /* a hang is a failure, not a stuck test */
    double t0 = mono_now();
    caviar_status st = caviar_run(&o, &w, grid_objective, NULL, &stats, &err);
    double took = mono_now() - t0;
    alarm(0);
    if (st != CAVIAR_OK)
        fail_msg("caviar_run: %s", err.msg);
    assert_int_equal(stats.n_run, 12);
    if (took > 10)
        fail_msg("a grid of 12 quick points took %.1f s", took);

    trial_copy *tc;
    tally ty;
    size_t n = load_trials(&o, &tc, &ty);
    assert_int_equal(n, 12);
    assert_int_equal(ty.complete, 12);
    int seen[4][3] = {{0}};
    for (size_t i = 0; i < n; i++) {
        double x = param_of(&tc[i], "x"), c = param_of(&tc[i], "c");
        assert_true(x >= 0 && x <= 3 && x == floor(x));
        assert_true(c >= 0 && c <= 2 && c == floor(c));
        seen[(int)x][(int)c]++;
        assert_true(tc[i].value == 10 * x + c);
    }
    for (int x = 0; x < 4; x++)
        for (int c = 0; c < 3; c++)
            if (seen[x][c] != 1)
                fail_msg("grid point (%d, %d) ran %d times", x, c, seen[x][c]);
    free(tc);
}

/* A study in this process's memory cannot be shared by worker processes. */
static void test_needs_shared_storage(void **state)
{
    (void)state;
    static const char want[] = "parallel workers need a study database shared between "
                               "processes\nhint: a SQLite file ('caviar.db') or a PostgreSQL "
                               "URL";
    const char *storages[] = {NULL, ":memory:", ""};
    for (size_t i = 0; i < 3; i++) {
        caviar_study_opts o;
        caviar_study_opts_init(&o);
        o.storage = storages[i];
        o.max_trials = 5;
        caviar_work_opts w;
        work_opts(&w, 2);
        caviar_work_stats stats;
        memset(&stats, 0xff, sizeof stats);
        caviar_error err = {0};
        obj_cfg cfg;
        cfg_init(&cfg, NULL);
        caviar_status st = caviar_run(&o, &w, objective, &cfg, &stats, &err);
        assert_int_equal(st, CAVIAR_EINVAL);
        assert_int_equal(err.status, CAVIAR_EINVAL);
        assert_string_equal(err.msg, want);
        assert_int_equal(stats.n_run, 0); /* cleared even on an error */
    }
    caviar_error err = {0};
    assert_int_equal(caviar_run(NULL, NULL, objective, NULL, NULL, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, want);
}

/* Ctrl-C: the child's process group gets SIGINT while its 3 workers are inside their 5-second
 * trials. Each trial ends FAIL "interrupted" and is re-queued with its parameters; then a
 * second run resumes and spends the budget, running the re-runs. */
static void test_sigint_requeues_and_resumes(void **state)
{
    (void)state;
    char path[512];
    db_path(path, sizeof path, "sigint");
    caviar_study_opts o;
    study_opts(&o, path, "sigint", 6);
    caviar_work_opts w;
    work_opts(&w, 3);
    shared *sh = shared_new();
    obj_cfg cfg;
    cfg_init(&cfg, sh);
    cfg.steps = 100; /* 100 x 50 ms: 5 s per trial, far longer than a clean stop takes */
    cfg.step_sleep = 0.05;

    pid_t pid = run_in_child(&o, &w, &cfg, sh);
    wait_started(sh, 3, 10);
    sleep_full(0.3);
    double t0 = mono_now();
    assert_int_equal(kill(-pid, SIGINT), 0);
    wait_child(pid, 15);
    double took = mono_now() - t0;
    assert_int_equal(sh->done, 1);
    assert_int_equal(sh->status, CAVIAR_STOPPED);
    assert_string_equal(sh->msg, "interrupted");
    assert_int_equal(sh->stats.interrupted, 1);
    assert_int_equal(sh->stats.n_interrupted, 3);
    assert_int_equal(sh->stats.n_run, 0);
    assert_int_equal(sh->stats.n_lost, 0);
    assert_int_equal(sh->stats.n_failed_workers, 0);
    assert_int_equal(sh->stop_requested_after, 0);
    if (took > 3) /* a trial stops at its next report, 50 ms away, not after its 5 s */
        fail_msg("the workers took %.2f s to stop", took);

    trial_copy *tc;
    tally ty;
    size_t n = load_trials(&o, &tc, &ty);
    assert_int_equal(ty.running, 0);
    assert_int_equal(ty.requeued, 3);
    assert_int_equal(ty.waiting, 3);
    assert_int_equal(n, 6);
    uint64_t interrupted[3];
    size_t n_int = 0;
    for (size_t i = 0; i < n; i++) {
        const trial_copy *c = &tc[i];
        if (!c->requeued)
            continue;
        if (c->state != CAVIAR_TRIAL_FAIL || strcmp(c->reason, "interrupted") != 0)
            fail_msg("re-queued trial %llu: state %s, reason '%s'",
                     (unsigned long long)c->number, caviar_trial_state_name(c->state),
                     c->reason);
        assert_true(c->n_reports >= 1);
        const trial_copy *r = find_rerun(tc, n, c->number);
        if (!r)
            fail_msg("interrupted trial %llu has no re-run", (unsigned long long)c->number);
        assert_int_equal(r->state, CAVIAR_TRIAL_WAITING);
        assert_int_equal(r->requeued, 0);
        assert_same_params(c, r);
        interrupted[n_int++] = c->number;
    }
    assert_int_equal(n_int, 3);
    free(tc);

    /* Resume, now with quick trials: the 3 re-runs and 3 new trials spend the budget. */
    cfg.steps = 3;
    cfg.step_sleep = 0.002;
    caviar_work_stats stats;
    caviar_error err = {0};
    alarm(60);
    caviar_status st = caviar_run(&o, &w, objective, &cfg, &stats, &err);
    alarm(0);
    if (st != CAVIAR_OK)
        fail_msg("resume: %s", err.msg);
    assert_int_equal(stats.n_run, 6);
    assert_int_equal(stats.interrupted, 0);
    assert_int_equal(caviar_stop_requested(), 0);
    n = load_trials(&o, &tc, &ty);
    assert_int_equal(n, 9);
    assert_budget_spent(&ty, 6);
    assert_int_equal(ty.complete, 6);
    for (size_t i = 0; i < n_int; i++) {
        const trial_copy *orig = find_trial(tc, n, interrupted[i]);
        const trial_copy *r = find_rerun(tc, n, interrupted[i]);
        assert_non_null(orig);
        assert_non_null(r);
        assert_int_equal(r->state, CAVIAR_TRIAL_COMPLETE);
        assert_int_equal(r->n_reports, 3);
        assert_same_params(orig, r);
    }
    free(tc);
    shared_free(sh);
}

/* A second Ctrl-C kills the workers at once, although the objective would sleep 30 s through
 * the first; their trials are left RUNNING, and are found lost and re-run by the next run. */
static void test_second_sigint_kills(void **state)
{
    (void)state;
    char path[512];
    db_path(path, sizeof path, "sigint2");
    caviar_study_opts o;
    study_opts(&o, path, "sigint2", 4);
    caviar_work_opts w;
    work_opts(&w, 2);
    shared *sh = shared_new();
    obj_cfg cfg;
    cfg_init(&cfg, sh);
    cfg.steps = 1;
    cfg.step_sleep = 30;
    cfg.ignore_stop = 1;

    pid_t pid = run_in_child(&o, &w, &cfg, sh);
    wait_started(sh, 2, 10);
    sleep_full(0.2);
    double t0 = mono_now();
    assert_int_equal(kill(-pid, SIGINT), 0);
    sleep_full(0.3);
    assert_int_equal(sh->done, 0); /* the stubborn objective holds the first Ctrl-C */
    assert_int_equal(kill(-pid, SIGINT), 0);
    wait_child(pid, 10);
    double took = mono_now() - t0;
    if (took > 3)
        fail_msg("the run took %.2f s to return after a second SIGINT", took);
    assert_int_equal(sh->status, CAVIAR_STOPPED);
    assert_string_equal(sh->msg, "interrupted (workers killed)");
    assert_int_equal(sh->stats.interrupted, 1);
    assert_int_equal(sh->stats.n_lost, 0); /* killed on purpose, not lost */
    /* No worker of the group outlives the run. */
    errno = 0;
    assert_int_equal(kill(-pid, 0), -1);
    assert_int_equal(errno, ESRCH);

    trial_copy *tc;
    tally ty;
    load_trials(&o, &tc, &ty);
    assert_int_equal(ty.running, 2);
    free(tc);

    /* Resume: the 2 trials left RUNNING are found stale after the grace period (1 s), ended
     * FAIL "worker lost" and re-run. */
    cfg.steps = 2;
    cfg.step_sleep = 0.002;
    cfg.ignore_stop = 0;
    caviar_work_stats stats;
    caviar_error err = {0};
    alarm(60);
    caviar_status st = caviar_run(&o, &w, objective, &cfg, &stats, &err);
    alarm(0);
    if (st != CAVIAR_OK)
        fail_msg("resume: %s", err.msg);
    size_t n = load_trials(&o, &tc, &ty);
    assert_budget_spent(&ty, 4);
    assert_int_equal(ty.requeued, 2);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        if (!tc[i].requeued)
            continue;
        assert_string_equal(tc[i].reason, "worker lost");
        const trial_copy *r = find_rerun(tc, n, tc[i].number);
        assert_non_null(r);
        assert_int_equal(r->state, CAVIAR_TRIAL_COMPLETE);
        assert_same_params(&tc[i], r);
    }
    free(tc);
    shared_free(sh);
}

/* A worker killed with SIGKILL in the middle of trial 2 is replaced; its trial is found stale
 * after the grace period and re-run with the same parameters; the budget is spent exactly. */
static void test_killed_worker_replaced(void **state)
{
    (void)state;
    char path[512];
    db_path(path, sizeof path, "sigkill");
    caviar_study_opts o;
    study_opts(&o, path, "sigkill", 12);
    o.grace = 1;
    o.heartbeat = 0.2;
    caviar_work_opts w;
    work_opts(&w, 3);
    shared *sh = shared_new();
    obj_cfg cfg;
    cfg_init(&cfg, sh);
    cfg.steps = 2;
    cfg.step_sleep = 0.02;
    cfg.victim = 2;
    cfg.victim_sleep = 20; /* far longer than the test: only the kill ends it */

    pid_t pid = run_in_child(&o, &w, &cfg, sh);
    double t0 = mono_now();
    pid_t victim;
    while ((victim = __atomic_load_n(&sh->victim_pid, __ATOMIC_SEQ_CST)) == 0) {
        if (mono_now() - t0 > 10) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("trial 2 never started");
        }
        sleep_full(0.01);
    }
    pid_t kids[64];
    size_t n_kids = children_of(pid, kids, 64);
    int is_child = 0;
    for (size_t i = 0; i < n_kids; i++)
        is_child |= kids[i] == victim;
    if (!is_child) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("worker %ld is not among the runner's %zu children", (long)victim, n_kids);
    }
    assert_int_equal(n_kids, 3);
    assert_int_equal(kill(victim, SIGKILL), 0);
    wait_child(pid, 30);
    assert_int_equal(sh->status, CAVIAR_OK);
    assert_int_equal(sh->stats.n_lost, 1);
    assert_int_equal(sh->stats.n_run, 12);
    assert_int_equal(sh->stats.interrupted, 0);
    assert_int_equal(sh->stats.n_failed_workers, 0);

    trial_copy *tc;
    tally ty;
    size_t n = load_trials(&o, &tc, &ty);
    assert_budget_spent(&ty, 12);
    assert_int_equal(n, 13);
    assert_int_equal(ty.requeued, 1);
    const trial_copy *lost = find_trial(tc, n, 2);
    assert_non_null(lost);
    assert_int_equal(lost->state, CAVIAR_TRIAL_FAIL);
    assert_string_equal(lost->reason, "worker lost");
    assert_int_equal(lost->requeued, 1);
    const trial_copy *r = find_rerun(tc, n, 2);
    assert_non_null(r);
    assert_int_equal(r->state, CAVIAR_TRIAL_COMPLETE);
    assert_same_params(lost, r);
    free(tc);
    shared_free(sh);
}

/* w.max_seconds = 1 with 0.3 s trials: no trial starts after 1 s, and the run returns soon after
 * the last one ends, far short of its budget. */
static void test_time_limit(void **state)
{
    (void)state;
    char path[512];
    db_path(path, sizeof path, "time");
    caviar_study_opts o;
    study_opts(&o, path, "time", 100);
    caviar_work_opts w;
    work_opts(&w, 2);
    w.max_seconds = 1;
    obj_cfg cfg;
    cfg_init(&cfg, NULL);
    cfg.steps = 6;
    cfg.step_sleep = 0.05;
    caviar_work_stats stats;
    caviar_error err = {0};
    alarm(60);
    double t0 = mono_now();
    caviar_status st = caviar_run(&o, &w, objective, &cfg, &stats, &err);
    double took = mono_now() - t0;
    alarm(0);
    if (st != CAVIAR_OK)
        fail_msg("caviar_run: %s", err.msg);
    if (took < 1 || took > 1 + 0.3 + 3)
        fail_msg("a 1 s time limit returned after %.2f s", took);
    assert_int_equal(stats.interrupted, 0);
    trial_copy *tc;
    tally ty;
    size_t n = load_trials(&o, &tc, &ty);
    assert_true(n >= 2 && n < 100);
    assert_int_equal(stats.n_run, n);
    assert_int_equal(ty.running, 0);
    assert_int_equal(ty.waiting, 0);
    assert_int_equal(ty.complete, n);
    free(tc);
}

/* caviar_stop_requested() is 1 only inside a stop: 0 while a worker runs normally, 1 once SIGINT
 * came (and should_prune says so), and 0 again once caviar_work has returned, so that a study
 * used later in the same process is not pruned by a stop that is over. In a child process,
 * whose own objective raises the SIGINT. */
typedef struct stop_probe {
    int before, during, prune_during, st, interrupted, after, prune_after, n_interrupted;
    char msg[CAVIAR_ERRMSG_LEN];
} stop_probe;

static caviar_trial_state raising_objective(caviar_trial *t, void *user, double *value,
                                            caviar_error *err)
{
    stop_probe *p = user;
    double x;
    if (caviar_trial_suggest_float(t, "x", 0, 1, CAVIAR_SCALE_LINEAR, 0, &x, err) ||
        caviar_trial_report(t, 1, x, err))
        return CAVIAR_TRIAL_FAIL;
    p->before = caviar_stop_requested();
    raise(SIGINT);
    p->during = caviar_stop_requested();
    p->prune_during = caviar_trial_should_prune(t);
    *value = x;
    return CAVIAR_TRIAL_PRUNED;
}

static void test_stop_requested(void **state)
{
    (void)state;
    assert_int_equal(caviar_stop_requested(), 0);
    char path[512];
    db_path(path, sizeof path, "stopflag");
    stop_probe *p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                         0);
    assert_true(p != MAP_FAILED);
    memset(p, 0xff, sizeof *p);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        caviar_study_opts o;
        study_opts(&o, path, "stopflag", 5);
        caviar_work_opts w;
        work_opts(&w, 1);
        caviar_work_stats stats;
        caviar_error err = {0};
        p->st = caviar_work(&o, &w, raising_objective, p, &stats, &err);
        snprintf(p->msg, sizeof p->msg, "%s", err.msg);
        p->interrupted = stats.interrupted;
        p->n_interrupted = (int)stats.n_interrupted;
        p->after = caviar_stop_requested();
        /* A study of this process's memory, used after the worker has returned. */
        caviar_study_opts m;
        caviar_study_opts_init(&m);
        caviar_study *s = caviar_study_new(&m, &err);
        caviar_trial *t = s ? caviar_study_ask(s, &err) : NULL;
        p->prune_after = t && caviar_trial_report(t, 1, 1.0, &err) == CAVIAR_OK
                             ? caviar_trial_should_prune(t)
                             : -1;
        caviar_study_free(s);
        _exit(0);
    }
    wait_child(pid, 20);
    assert_int_equal(p->before, 0);
    assert_int_equal(p->during, 1);
    assert_int_equal(p->prune_during, 1);
    assert_int_equal(p->st, CAVIAR_STOPPED);
    assert_string_equal(p->msg, "interrupted by SIGINT");
    assert_int_equal(p->interrupted, 1);
    assert_int_equal(p->n_interrupted, 1);
    if (p->after != 0 || p->prune_after != 0)
        fail_msg("after caviar_work returned from a stop: caviar_stop_requested() = %d, and "
                 "should_prune of a new study's first trial = %d (want 0 and 0)",
                 p->after, p->prune_after);
    munmap(p, sizeof *p);
    assert_int_equal(caviar_stop_requested(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_and_failures),
        cmocka_unit_test(test_grid_ends),
        cmocka_unit_test(test_needs_shared_storage),
        cmocka_unit_test(test_sigint_requeues_and_resumes),
        cmocka_unit_test(test_second_sigint_kills),
        cmocka_unit_test(test_killed_worker_replaced),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_stop_requested),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
