/*
 * progress.c — what `caviar tune` shows while its workers run, from the runner's process.
 *
 * The runner calls cli_progress_tick() twice a second; it refreshes its own handle on the study
 * (every worker's changes) and then either redraws a small live view on a terminal:
 *
 *   [##########..............] 52/100 trials  31 complete  18 pruned  3 failed
 *   1:12 elapsed  ~1:06 left  best 0.8938 (#17)
 *     #53  running  14.2 s  step 3: 0.8611
 *     #54  running   2.0 s
 *
 * (the count is of finished trials; every line is cut to the terminal's width, so that none
 * wraps) or, when stderr is not a terminal (a log, CI), writes one plain line per event: a trial
 * that completed, was pruned, failed or was re-queued. Everything goes to stderr, so that
 * --json output on stdout stays clean.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PROGRESS_BAR 24
#define PROGRESS_RUNNING 8 /* running trials shown at most */

struct cli_progress {
    caviar_study_opts opts;
    uint64_t budget;
    double max_seconds, start;
    int live, quiet, failed_open;
    caviar_study *study;
    unsigned char *seen; /* by trial: the state last shown, +1 (0: never seen) */
    size_t n_seen;
    size_t lines;        /* lines of the live view on screen */
    size_t finished_at_start;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cli_progress *cli_progress_new(const caviar_study_opts *opts, double max_seconds, int live,
                               int quiet)
{
    cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->opts = *opts;
    p->opts.heartbeat = 0; /* an observer: it runs no trial */
    p->opts.grace = 0;
    p->budget = opts->max_trials;
    p->max_seconds = max_seconds;
    p->start = mono_now();
    p->live = live;
    p->quiet = quiet;
    return p;
}

void cli_progress_free(cli_progress *p)
{
    if (!p)
        return;
    caviar_study_free(p->study);
    free(p->seen);
    free(p);
}

static void clock_text(double seconds, char *buf, size_t len)
{
    long s = seconds > 0 && isfinite(seconds) ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

/* The plain lines of the trials whose state changed since the last tick. */
static void events(cli_progress *p)
{
    size_t n = caviar_study_n_trials(p->study);
    for (size_t i = 0; i < n && i < p->n_seen; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(p->study, i, &v) != CAVIAR_OK)
            continue;
        unsigned char now = (unsigned char)(v.state + 1);
        if (p->seen[i] == now)
            continue;
        p->seen[i] = now;
        if (p->live || p->quiet)
            continue;
        double took = v.end_time > 0 && v.start_time > 0 ? v.end_time - v.start_time : NAN;
        switch (v.state) {
        case CAVIAR_TRIAL_COMPLETE:
            fprintf(stderr, "trial %llu complete: %.6g (%.1f s)\n",
                    (unsigned long long)v.number, v.value, took);
            break;
        case CAVIAR_TRIAL_PRUNED:
            if (v.n_reports)
                fprintf(stderr, "trial %llu pruned at step %lld: %.6g (%.1f s)\n",
                        (unsigned long long)v.number,
                        (long long)v.report_steps[v.n_reports - 1], v.value, took);
            else
                fprintf(stderr, "trial %llu pruned (%.1f s)\n", (unsigned long long)v.number,
                        took);
            break;
        case CAVIAR_TRIAL_FAIL:
            fprintf(stderr, "trial %llu %s: %s\n", (unsigned long long)v.number,
                    v.requeued ? "re-queued" : "failed",
                    v.fail_reason ? v.fail_reason : "no reason recorded");
            break;
        default: break;
        }
    }
}

/* The terminal's width in columns (80 when it does not say). */
static size_t term_cols(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* One line of the live view, cleared first and cut to the terminal's width less one column, so
 * that it never wraps (a wrapped line would throw off the count of lines to go back up). */
__attribute__((format(printf, 3, 4))) static void view_line(cli_progress *p, size_t cols,
                                                            const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (cols > 1 && strlen(line) > cols - 1)
        line[cols - 1] = '\0';
    fprintf(stderr, "\033[2K%s\n", line);
    p->lines++;
}

static void live_view(cli_progress *p)
{
    caviar_study_summary sum;
    caviar_study_summarize(p->study, &sum);
    size_t finished = sum.n_complete + sum.n_pruned + sum.n_fail - sum.n_requeued;
    double elapsed = mono_now() - p->start;
    char bar[PROGRESS_BAR + 1], el[32], left[48] = "";
    double frac = p->budget ? (double)finished / (double)p->budget : 0;
    if (p->max_seconds > 0 && elapsed / p->max_seconds > frac)
        frac = elapsed / p->max_seconds;
    for (size_t i = 0; i < PROGRESS_BAR; i++)
        bar[i] = (double)i < frac * PROGRESS_BAR ? '#' : '.';
    bar[PROGRESS_BAR] = '\0';
    clock_text(elapsed, el, sizeof el);
    size_t done_here = finished > p->finished_at_start ? finished - p->finished_at_start : 0;
    if (p->budget && done_here > 0 && finished < p->budget) {
        double rest = elapsed / (double)done_here * (double)(p->budget - finished);
        if (p->max_seconds > 0 && p->max_seconds - elapsed < rest)
            rest = p->max_seconds - elapsed;
        char t[32];
        clock_text(rest, t, sizeof t);
        snprintf(left, sizeof left, "  ~%s left", t);
    }
    /* Back to the top of the previous view, clearing it line by line as it is redrawn. */
    if (p->lines)
        fprintf(stderr, "\033[%zuA", p->lines);
    fprintf(stderr, "\r");
    p->lines = 0;
    size_t cols = term_cols();
    char best[64] = "";
    if (!isnan(sum.best_value))
        snprintf(best, sizeof best, "  best %.6g (#%llu)", sum.best_value,
                 (unsigned long long)sum.best_trial);
    view_line(p, cols, "[%s] %zu/%llu trials  %zu complete  %zu pruned  %zu failed", bar,
              finished, (unsigned long long)p->budget, sum.n_complete, sum.n_pruned,
              sum.n_fail - sum.n_requeued);
    view_line(p, cols, "%s elapsed%s%s", el, left, best);
    size_t shown = 0, n = caviar_study_n_trials(p->study);
    double now = wall_now();
    for (size_t i = n; i-- > 0 && shown < PROGRESS_RUNNING;) {
        caviar_trial_view v;
        if (caviar_study_trial(p->study, i, &v) != CAVIAR_OK ||
            v.state != CAVIAR_TRIAL_RUNNING)
            continue;
        char step[64] = "";
        if (v.n_reports)
            snprintf(step, sizeof step, "  step %lld: %.6g",
                     (long long)v.report_steps[v.n_reports - 1], v.report_values[v.n_reports - 1]);
        view_line(p, cols, "  #%-5llu running %6.1f s%s", (unsigned long long)v.number,
                  v.start_time > 0 ? now - v.start_time : 0.0, step);
        shown++;
    }
    /* Lines left over from a longer view before. */
    fprintf(stderr, "\033[J");
    fflush(stderr);
}

void cli_progress_tick(void *arg)
{
    cli_progress *p = arg;
    if (p->failed_open)
        return;
    caviar_error err;
    if (!p->study) {
        /* Opened at the first tick, in the runner's process after its workers were forked. */
        if (!(p->study = caviar_study_new(&p->opts, &err))) {
            p->failed_open = 1;
            fprintf(stderr, "caviar: no progress display: %s\n", err.msg);
            return;
        }
        caviar_study_summary sum;
        caviar_study_summarize(p->study, &sum);
        p->finished_at_start = sum.n_complete + sum.n_pruned + sum.n_fail - sum.n_requeued;
        /* What was there before this run is not news. */
        p->n_seen = caviar_study_n_trials(p->study);
        p->seen = calloc(p->n_seen ? p->n_seen : 1, 1);
        for (size_t i = 0; p->seen && i < p->n_seen; i++) {
            caviar_trial_view v;
            if (caviar_study_trial(p->study, i, &v) == CAVIAR_OK)
                p->seen[i] = (unsigned char)(v.state + 1);
        }
    } else if (caviar_study_refresh(p->study, &err) != CAVIAR_OK) {
        return; /* a busy moment; the next tick tries again */
    }
    size_t n = caviar_study_n_trials(p->study);
    if (n > p->n_seen) {
        unsigned char *seen = realloc(p->seen, n);
        if (!seen)
            return;
        memset(seen + p->n_seen, 0, n - p->n_seen);
        p->seen = seen;
        p->n_seen = n;
    }
    events(p);
    if (p->live && !p->quiet)
        live_view(p);
}
