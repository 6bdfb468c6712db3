/*
 * runner.c — workers and the runner: trials run in parallel processes that share one study
 * through its store, any of which may die.
 *
 * A worker (caviar_work) is a loop of ask, objective, tell on its own study handle (its own
 * database connection, its own heartbeat thread). The budget is the store's: create_running
 * refuses a trial beyond opts.max_trials in the same transaction that would create it, so the
 * workers of every machine together never overshoot. When ask has nothing left to start, the
 * worker does not leave while trials of others are RUNNING or WAITING: one of them may belong to
 * a worker that died, be found stale after the grace period (by this worker's reaping) and be
 * re-queued, and someone must run it.
 *
 * The runner (caviar_run) forks the workers and supervises them: a worker killed by a signal
 * (SIGKILL by the kernel's OOM killer, a chaos test, an operator) is replaced; a worker that
 * stops on an error is not. Ctrl-C sends SIGINT to the whole foreground process group: each
 * worker ends its running trial FAIL "interrupted" and re-queued (so that running the same
 * command again resumes it) and exits; the runner waits for them. A second Ctrl-C makes the
 * runner kill them at once; their trials are then left RUNNING and are re-run on resume once
 * their heartbeat is stale.
 *
 * Counters of what each worker did live in a shared anonymous mapping, one slot per worker, so
 * that a killed worker's counts are not lost with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caviar.h"
#include "util/util.h"

#define RUN_MAX_REPLACEMENTS_PER_JOB 1000

static volatile sig_atomic_t stop_signal; /* the signal that asked this process to stop */

int caviar_stop_requested(void)
{
    return stop_signal != 0;
}

static void on_stop(int sig)
{
    stop_signal = sig;
}

void caviar_work_opts_init(caviar_work_opts *w)
{
    memset(w, 0, sizeof *w);
    w->replace_dead = 1;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void pause_for(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    /* A stop signal interrupts the pause: the loop then sees it at once. */
    nanosleep(&ts, NULL);
}

typedef struct saved_handlers {
    struct sigaction intr, term;
} saved_handlers;

static void catch_stop(saved_handlers *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old->intr);
    sigaction(SIGTERM, &sa, &old->term);
}

static void restore_stop(const saved_handlers *old)
{
    sigaction(SIGINT, &old->intr, NULL);
    sigaction(SIGTERM, &old->term, NULL);
}

/* The worker loop on an open study; counts into stats. */
static caviar_status work_loop(caviar_study *s, const caviar_study_opts *opts,
                               const caviar_work_opts *w, caviar_objective objective, void *user,
                               caviar_work_stats *stats, caviar_error *err)
{
    double start = mono_now();
    double poll = w->poll > 0 ? w->poll : 0.2;
    for (;;) {
        if (stop_signal)
            break;
        if (w->max_seconds > 0 && mono_now() - start >= w->max_seconds)
            return CAVIAR_OK;
        caviar_trial *t = caviar_study_ask(s, err);
        if (!t) {
            if (!err || err->status != CAVIAR_STOPPED)
                return err ? err->status : CAVIAR_EIO;
            /* Nothing left to start. Others' trials may still need a hand: wait while some
             * run (and may be lost and re-queued) — unless lost trials are never reaped. */
            caviar_study_summary sum;
            caviar_study_summarize(s, &sum);
            if (sum.n_waiting == 0 && (sum.n_running == 0 || !(opts->grace > 0)))
                return CAVIAR_OK;
            pause_for(poll);
            caviar_status st = caviar_study_reap(s, NULL, err);
            if (st != CAVIAR_OK)
                return st;
            continue;
        }
        uint64_t number = caviar_trial_number(t);
        double value = NAN;
        caviar_error oerr;
        util_err_clear(&oerr);
        caviar_trial_state state = objective(t, user, &value, &oerr);
        caviar_status st;
        if (stop_signal) {
            st = caviar_study_abandon(s, t, "interrupted", 1, err);
            if (st == CAVIAR_OK) {
                stats->n_interrupted++;
                break;
            }
        } else if (state == CAVIAR_TRIAL_FAIL) {
            st = caviar_study_abandon(s, t, oerr.msg[0] ? oerr.msg : "the objective failed", 0,
                                      err);
            if (!w->quiet)
                fprintf(stderr, "caviar: trial %llu failed: %s\n", (unsigned long long)number,
                        oerr.msg[0] ? oerr.msg : "the objective failed");
        } else {
            st = caviar_study_tell(s, t, state, value, err);
        }
        if (st != CAVIAR_OK) {
            /* Most likely another worker found this one stale (it was stopped or starved past
             * the grace period) and ended the trial: its re-run will do the work. */
            if (!w->quiet)
                fprintf(stderr, "caviar: trial %llu could not be recorded: %s\n",
                        (unsigned long long)number, err ? err->msg : "?");
            continue;
        }
        stats->n_run++;
    }
    stats->interrupted = 1;
    return util_err(err, CAVIAR_STOPPED, "interrupted by %s",
                    stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
}

/* caviar_work without clearing stats: the runner's workers count into their shared slot as they
 * go, so that the counts of a worker killed later are kept. */
static caviar_status work(const caviar_study_opts *opts, const caviar_work_opts *w,
                          caviar_objective objective, void *user, caviar_work_stats *stats,
                          caviar_error *err)
{
    saved_handlers old;
    stop_signal = 0;
    catch_stop(&old);
    caviar_status st;
    caviar_study *s = caviar_study_new(opts, err);
    if (!s)
        st = err ? err->status : CAVIAR_EIO;
    else
        st = work_loop(s, opts, w, objective, user, stats, err);
    caviar_study_free(s);
    restore_stop(&old);
    stop_signal = 0; /* the status says it was interrupted; later calls start afresh */
    return st;
}

/* The defaults for a NULL w, somewhere to count for a NULL stats, and the counts cleared. */
static void start_call(const caviar_work_opts **w, caviar_work_opts *defaults,
                       caviar_work_stats **stats, caviar_work_stats *ignored)
{
    if (!*w) {
        caviar_work_opts_init(defaults);
        *w = defaults;
    }
    if (!*stats)
        *stats = ignored;
    memset(*stats, 0, sizeof **stats);
}

caviar_status caviar_work(const caviar_study_opts *opts, const caviar_work_opts *w,
                          caviar_objective objective, void *user, caviar_work_stats *stats,
                          caviar_error *err)
{
    caviar_work_opts defaults;
    caviar_work_stats ignored;
    start_call(&w, &defaults, &stats, &ignored);
    return work(opts, w, objective, user, stats, err);
}

/* ---- the runner ---------------------------------------------------------------------------- */

static long n_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* A worker process in slot i; its counters go to slots[i] (shared with the runner). */
static pid_t spawn(const caviar_study_opts *opts, const caviar_work_opts *w,
                   caviar_objective objective, void *user, caviar_work_stats *slot)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The worker. Its stop handlers are installed by caviar_work; the runner's SIGCHLD state
     * and any pending stop are not inherited in a way that matters. */
    caviar_error err;
    util_err_clear(&err);
    caviar_status st = work(opts, w, objective, user, slot, &err);
    if (st != CAVIAR_OK && st != CAVIAR_STOPPED)
        fprintf(stderr, "caviar: worker %ld: %s\n", (long)getpid(), err.msg);
    fflush(NULL);
    _exit(st == CAVIAR_OK || st == CAVIAR_STOPPED ? 0 : 1);
}

caviar_status caviar_run(const caviar_study_opts *opts, const caviar_work_opts *w,
                         caviar_objective objective, void *user, caviar_work_stats *stats,
                         caviar_error *err)
{
    caviar_work_opts defaults;
    caviar_work_stats ignored;
    start_call(&w, &defaults, &stats, &ignored);
    if (!opts || !opts->storage || !*opts->storage || strcmp(opts->storage, ":memory:") == 0)
        return util_err(err, CAVIAR_EINVAL, "parallel workers need a study database shared "
                        "between processes\nhint: a SQLite file ('caviar.db') or a PostgreSQL "
                        "URL");
    /* Create (or check) the study once before forking, so that a bad definition is one error
     * here rather than one per worker; nothing of it survives into the children. */
    caviar_study *probe = caviar_study_new(opts, err);
    if (!probe)
        return err ? err->status : CAVIAR_EINVAL;
    caviar_study_free(probe);

    size_t jobs = w->jobs ? w->jobs : (size_t)n_cores();
    caviar_work_stats *slots = mmap(NULL, jobs * sizeof *slots, PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t *pids = calloc(jobs, sizeof *pids);
    if (slots == MAP_FAILED || !pids) {
        if (slots != MAP_FAILED)
            munmap(slots, jobs * sizeof *slots);
        free(pids);
        return util_err(err, CAVIAR_ENOMEM, "cannot start %zu workers: out of memory", jobs);
    }
    memset(slots, 0, jobs * sizeof *slots);
    saved_handlers old;
    stop_signal = 0;
    catch_stop(&old);
    caviar_status st = CAVIAR_OK;
    size_t alive = 0, replacements = 0;
    for (size_t i = 0; i < jobs; i++) {
        pids[i] = spawn(opts, w, objective, user, &slots[i]);
        if (pids[i] < 0) {
            st = util_err(err, CAVIAR_EIO, "cannot start a worker: %s", strerror(errno));
            break;
        }
        alive++;
    }
    int forwarded = 0, killed = 0;
    double tick = w->tick > 0 ? w->tick : 0.5, next_tick = mono_now();
    while (alive > 0) {
        if (w->on_tick && mono_now() >= next_tick) {
            w->on_tick(w->tick_user);
            next_tick = mono_now() + tick;
        }
        if (stop_signal && !forwarded) {
            /* Ctrl-C reached the workers already (same process group); SIGTERM from a job
             * scheduler reached only us: pass it on either way. */
            for (size_t i = 0; i < jobs; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
            forwarded = 1;
            stop_signal = 0;
        } else if (stop_signal && forwarded && !killed) {
            for (size_t i = 0; i < jobs; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGKILL);
            killed = 1;
        }
        /* Polled, not blocking: a signal that lands just before a blocking wait would wait
         * for a worker to end, which may be long after a second Ctrl-C. */
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) {
            pause_for(0.05);
            continue;
        }
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break; /* no children left */
        }
        size_t i = 0;
        while (i < jobs && pids[i] != pid)
            i++;
        if (i == jobs)
            continue;
        pids[i] = 0;
        alive--;
        if (WIFSIGNALED(status) && !forwarded) {
            stats->n_lost++;
            if (!w->quiet)
                fprintf(stderr, "caviar: worker %ld was killed by signal %d%s\n", (long)pid,
                        WTERMSIG(status), w->replace_dead ? "; starting another" : "");
            if (w->replace_dead && replacements < RUN_MAX_REPLACEMENTS_PER_JOB * jobs) {
                replacements++;
                pids[i] = spawn(opts, w, objective, user, &slots[i]);
                if (pids[i] > 0)
                    alive++;
                else
                    pids[i] = 0;
            }
        } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            stats->n_failed_workers++;
        }
    }
    if (w->on_tick)
        w->on_tick(w->tick_user); /* the final state */
    for (size_t i = 0; i < jobs; i++) {
        stats->n_run += slots[i].n_run;
        stats->n_interrupted += slots[i].n_interrupted;
    }
    stats->interrupted = forwarded;
    munmap(slots, jobs * sizeof *slots);
    free(pids);
    restore_stop(&old);
    stop_signal = 0;
    if (st != CAVIAR_OK)
        return st;
    if (forwarded)
        return util_err(err, CAVIAR_STOPPED, "interrupted%s", killed ? " (workers killed)" : "");
    if (stats->n_failed_workers == jobs + replacements && stats->n_run == 0)
        return util_err(err, CAVIAR_EIO, "every worker stopped on an error (see above)");
    return CAVIAR_OK;
}
