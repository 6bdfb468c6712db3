/*
 * test_chaos.c — workers killed with SIGKILL at random moments, and nothing is lost.
 *
 * usage: test_chaos sqlite|postgresql [trials] [kills]
 *   sqlite      a fresh database file in a temporary directory
 *   postgresql  the server of $CAVIAR_TEST_PG_URL (tests/pg_server.sh run ... sets it); exit
 *               status 77 (skipped) without it
 *
 * A study of a grid of 250 points plus 20 trials enqueued by hand, with a budget of 220 trials
 * (default), is run by 8 worker processes (caviar_work, the loop of `caviar worker`) while this
 * process kills a random worker with SIGKILL every 20 to 150 ms — in the middle of a trial, of a
 * transaction, of a heartbeat, wherever it is — and starts another in its place, until the
 * budget is spent or enough kills have been made. Every lost trial is found stale after the
 * grace period (1 s) by a surviving worker and re-queued with its parameters and grid point.
 *
 * At the end, read back from the database:
 *   - every trial is in a final state (COMPLETE, PRUNED or FAIL), none RUNNING or WAITING;
 *   - every re-queued trial (FAIL "worker lost" or "interrupted", requeued) has exactly one
 *     re-run, which ran: following a chain of re-runs ends in a final trial that is not
 *     re-queued;
 *   - no grid point ran twice: the grid claims of the trials that count are distinct, and a
 *     re-run holds its original's claim;
 *   - every enqueued trial ran exactly once (its chain ends in exactly one trial), with its
 *     values;
 *   - the trials that count (all but the re-queued) are exactly the budget;
 *   - each COMPLETE trial's value is the one its parameters give (nothing mixed up);
 *   - the database passes its engine's integrity check (SQLite: PRAGMA integrity_check;
 *     PostgreSQL: amcheck's bt_index_check on every index of caviar's tables) and caviar's own
 *     bookkeeping agrees with the rows (trial counters, report counts).
 * It prints the number of kills survived.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "caviar.h"

#define N_WORKERS 8
#define N_ENQUEUED 20
#define GRID_X 10
#define GRID_Y 25

static int failures;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            failures++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fprintf(stderr, "\n");                                                              \
        }                                                                                       \
    } while (0)

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A quick objective: 20 to 100 ms of "training" with two reports, value x + 100 y. */
static caviar_trial_state objective(caviar_trial *t, void *user, double *value,
                                    caviar_error *err)
{
    (void)user;
    int64_t x, y;
    if (caviar_trial_suggest_int(t, "x", 0, GRID_X - 1, CAVIAR_SCALE_LINEAR, 1, &x, err) ||
        caviar_trial_suggest_int(t, "y", 0, GRID_Y - 1, CAVIAR_SCALE_LINEAR, 1, &y, err))
        return CAVIAR_TRIAL_FAIL;
    unsigned seed = (unsigned)(caviar_trial_number(t) * 2654435761u) ^ (unsigned)getpid();
    for (int step = 1; step <= 2; step++) {
        sleep_ms(10 + rand_r(&seed) % 40);
        if (caviar_trial_report(t, step, (double)(x + 100 * y) + 1.0 / step, err))
            return CAVIAR_TRIAL_FAIL;
    }
    *value = (double)(x + 100 * y);
    return CAVIAR_TRIAL_COMPLETE;
}

static void study_opts(caviar_study_opts *o, const char *url, const char *name,
                       uint64_t budget)
{
    caviar_study_opts_init(o);
    o->storage = url;
    o->name = name;
    o->sampler = "grid";
    o->seed = 7;
    o->max_trials = budget;
    o->heartbeat = 0.2;
    o->grace = 1.0;
    o->max_retries = 1000; /* a trial may be killed again and again: always re-run it */
}

static pid_t start_worker(const caviar_study_opts *o)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        caviar_work_opts w;
        caviar_work_opts_init(&w);
        w.poll = 0.05;
        w.quiet = 1;
        caviar_error err = {0};
        caviar_status st = caviar_work(o, &w, objective, NULL, NULL, &err);
        if (st != CAVIAR_OK)
            fprintf(stderr, "worker %ld: %s\n", (long)getpid(), err.msg);
        _exit(st == CAVIAR_OK ? 0 : 1);
    }
    return pid;
}

/* ---- integrity checks by engine ---- */

static void sqlite_integrity(const char *path)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK,
          "prepare");
    int rows = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        CHECK(rows == 0 && r && strcmp(r, "ok") == 0, "integrity_check: %s", r ? r : "?");
        rows++;
    }
    CHECK(rows == 1, "integrity_check gave %d rows", rows);
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("chaos: SQLite PRAGMA integrity_check: ok\n");
}

static void pg_exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    CHECK(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void pg_integrity(const char *url)
{
    PGconn *c = PQconnectdb(url);
    CHECK(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    pg_exec_ok(c, "SET client_min_messages = warning");
    /* tests/pg_server.sh created the extension and granted the check to the test role. */
    PGresult *r = PQexec(c, "SELECT c.relname, bt_index_check(c.oid, true) FROM pg_index i"
                            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON"
                            " t.oid = i.indrelid WHERE t.relname IN ('studies', 'params',"
                            " 'trials', 'trial_params', 'trial_values', 'trial_attrs',"
                            " 'counters', 'caviar_meta')");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK, "bt_index_check: %s", PQerrorMessage(c));
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    CHECK(n >= 8, "only %d indexes checked", n);
    PQclear(r);
    PQfinish(c);
    printf("chaos: PostgreSQL amcheck bt_index_check on %d indexes: ok\n", n);
}

/* caviar's bookkeeping against the rows, through SQL that both engines run. */
static void bookkeeping_sqlite(const char *path, const char *study)
{
    sqlite3 *db = NULL;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    const char *sql =
        "SELECT s.n_trials = (SELECT COUNT(*) FROM trials t WHERE t.study = s.id),"
        " s.n_counted = (SELECT COUNT(*) FROM trials t WHERE t.study = s.id AND t.requeued = 0),"
        " (SELECT COUNT(*) FROM trials t WHERE t.study = s.id AND t.n_reports <>"
        "  (SELECT COUNT(*) FROM trial_values v WHERE v.study = t.study AND v.number = t.number))"
        " FROM studies s WHERE s.name = ?1";
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "prepare: %s",
          sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, study, -1, SQLITE_STATIC);
    CHECK(st && sqlite3_step(st) == SQLITE_ROW, "no study row");
    CHECK(sqlite3_column_int(st, 0) == 1, "studies.n_trials disagrees with the trials");
    CHECK(sqlite3_column_int(st, 1) == 1, "studies.n_counted disagrees with the trials");
    CHECK(sqlite3_column_int(st, 2) == 0, "%d trials' report counts disagree",
          sqlite3_column_int(st, 2));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void bookkeeping_pg(const char *url, const char *study)
{
    PGconn *c = PQconnectdb(url);
    const char *params[1] = {study};
    PGresult *r = PQexecParams(
        c,
        "SELECT (s.n_trials = (SELECT COUNT(*) FROM trials t WHERE t.study = s.id))::int,"
        " (s.n_counted = (SELECT COUNT(*) FROM trials t WHERE t.study = s.id AND"
        "  t.requeued = 0))::int,"
        " (SELECT COUNT(*) FROM trials t WHERE t.study = s.id AND t.n_reports <>"
        "  (SELECT COUNT(*) FROM trial_values v WHERE v.study = t.study AND"
        "   v.number = t.number))"
        " FROM studies s WHERE s.name = $1",
        1, NULL, params, NULL, NULL, 0);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "bookkeeping: %s",
          PQerrorMessage(c));
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        CHECK(atoi(PQgetvalue(r, 0, 0)) == 1, "studies.n_trials disagrees with the trials");
        CHECK(atoi(PQgetvalue(r, 0, 1)) == 1, "studies.n_counted disagrees with the trials");
        CHECK(atoi(PQgetvalue(r, 0, 2)) == 0, "%s trials' report counts disagree",
              PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    PQfinish(c);
}

/* ---- the history checks ---- */

static double param(const caviar_trial_view *v, const char *name)
{
    for (size_t i = 0; i < v->n_params; i++)
        if (strcmp(v->param_names[i], name) == 0)
            return v->param_values[i];
    return NAN;
}

static void check_history(const char *url, const char *name, uint64_t budget,
                          const double (*enq)[2])
{
    caviar_study_opts o;
    study_opts(&o, url, name, budget);
    o.heartbeat = 0;
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&o, &err);
    CHECK(s, "reopen: %s", err.msg);
    if (!s)
        return;
    size_t n = caviar_study_n_trials(s);
    int64_t *retry_of = calloc(n, sizeof *retry_of);
    int *requeued = calloc(n, sizeof *requeued), *reruns = calloc(n, sizeof *reruns);
    uint64_t *claims_seen = calloc(GRID_X * GRID_Y, sizeof *claims_seen);
    size_t counted = 0, n_requeued = 0, n_lost = 0;
    for (size_t i = 0; i < n; i++) {
        caviar_trial_view v;
        CHECK(caviar_study_trial(s, i, &v) == CAVIAR_OK, "trial %zu", i);
        retry_of[i] = v.retry_of;
        requeued[i] = v.requeued;
        CHECK(v.state == CAVIAR_TRIAL_COMPLETE || v.state == CAVIAR_TRIAL_PRUNED ||
                  v.state == CAVIAR_TRIAL_FAIL,
              "trial %zu is %s at the end", i, caviar_trial_state_name(v.state));
        if (v.requeued) {
            n_requeued++;
            n_lost += v.fail_reason && strcmp(v.fail_reason, "worker lost") == 0;
            CHECK(v.state == CAVIAR_TRIAL_FAIL, "re-queued trial %zu is not FAIL", i);
        } else {
            counted++;
        }
        if (v.retry_of >= 0) {
            CHECK((size_t)v.retry_of < i, "trial %zu re-runs a later trial", i);
            if ((size_t)v.retry_of < i)
                reruns[v.retry_of]++;
        }
        double x = param(&v, "x"), y = param(&v, "y");
        if (v.state == CAVIAR_TRIAL_COMPLETE)
            CHECK(v.value == x + 100 * y, "trial %zu: value %g for x %g y %g", i, v.value, x,
                  y);
    }
    CHECK(counted == budget, "%zu trials count, the budget is %llu", counted,
          (unsigned long long)budget);
    for (size_t i = 0; i < n; i++) {
        if (requeued[i])
            CHECK(reruns[i] == 1, "re-queued trial %zu has %d re-runs", i, reruns[i]);
        else
            CHECK(reruns[i] == 0, "trial %zu is not re-queued but has %d re-runs", i,
                  reruns[i]);
    }
    /* Chains: the original of each trial; grid claims and enqueued values by original. */
    size_t *root = calloc(n, sizeof *root);
    for (size_t i = 0; i < n; i++)
        root[i] = retry_of[i] >= 0 ? root[retry_of[i]] : i;
    size_t *finals_of_root = calloc(n, sizeof *finals_of_root);
    for (size_t i = 0; i < n; i++)
        if (!requeued[i])
            finals_of_root[root[i]]++;
    for (size_t i = 0; i < n; i++)
        if (root[i] == i)
            CHECK(finals_of_root[i] == 1, "trial %zu ran %zu times to the end", i,
                  finals_of_root[i]);
    /* Enqueued trials: the originals 0 .. N_ENQUEUED-1, each with its own values. */
    for (size_t i = 0; i < n; i++) {
        if (root[i] >= N_ENQUEUED)
            continue;
        caviar_trial_view v;
        caviar_study_trial(s, i, &v);
        if (v.state == CAVIAR_TRIAL_COMPLETE)
            CHECK(param(&v, "x") == enq[root[i]][0] && param(&v, "y") == enq[root[i]][1],
                  "enqueued trial %zu ran with other values", root[i]);
    }
    /* Grid points: each (x, y) of a grid trial that counts at most once. Enqueued trials are
     * not grid points (no claim), so only the others are counted. */
    size_t grid_run = 0;
    for (size_t i = 0; i < n; i++) {
        if (requeued[i] || root[i] < N_ENQUEUED)
            continue;
        caviar_trial_view v;
        caviar_study_trial(s, i, &v);
        double x = param(&v, "x"), y = param(&v, "y");
        if (isnan(x) || isnan(y))
            continue; /* a FAIL before its parameters: impossible here, counted below */
        size_t k = (size_t)x * GRID_Y + (size_t)y;
        claims_seen[k]++;
        CHECK(claims_seen[k] == 1, "grid point (%g, %g) ran twice", x, y);
        grid_run++;
    }
    CHECK(grid_run == budget - N_ENQUEUED, "%zu grid points ran, expected %llu", grid_run,
          (unsigned long long)(budget - N_ENQUEUED));
    printf("chaos: %zu trials in the database, %zu count (budget %llu), %zu re-queued (%zu "
           "worker lost), every re-queued trial re-ran once, no grid point or enqueued trial "
           "ran twice\n",
           n, counted, (unsigned long long)budget, n_requeued, n_lost);
    free(root);
    free(finals_of_root);
    free(retry_of);
    free(requeued);
    free(reruns);
    free(claims_seen);
    caviar_study_free(s);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *kind = argc > 1 ? argv[1] : "sqlite";
    uint64_t budget = argc > 2 ? strtoull(argv[2], NULL, 10) : 220;
    int max_kills = argc > 3 ? atoi(argv[3]) : 40;
    char url[1024], dir[] = "/tmp/caviar-chaos-XXXXXX", path[512] = "";
    char name[64];
    snprintf(name, sizeof name, "chaos-%ld-%ld", (long)getpid(), (long)time(NULL));
    if (strcmp(kind, "sqlite") == 0) {
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(path, sizeof path, "%s/chaos.db", dir);
        snprintf(url, sizeof url, "sqlite:%s", path);
    } else if (strcmp(kind, "postgresql") == 0) {
        const char *pg = getenv("CAVIAR_TEST_PG_URL");
        if (!pg || !*pg) {
            printf("chaos: CAVIAR_TEST_PG_URL is not set: skipped\n");
            return 77;
        }
        snprintf(url, sizeof url, "%s", pg);
    } else {
        fprintf(stderr, "usage: test_chaos sqlite|postgresql [trials] [kills]\n");
        return 2;
    }
    if (budget <= N_ENQUEUED || budget > GRID_X * GRID_Y + N_ENQUEUED) {
        fprintf(stderr, "test_chaos: the budget must be in (%d, %d]\n", N_ENQUEUED,
                GRID_X * GRID_Y + N_ENQUEUED);
        return 2;
    }

    /* The study: the grid declared, the enqueued trials first. */
    caviar_study_opts o;
    study_opts(&o, url, name, budget);
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s) {
        fprintf(stderr, "test_chaos: %s\n", err.msg);
        return 1;
    }
    caviar_dist dx = {.kind = CAVIAR_DIST_INT, .low = 0, .high = GRID_X - 1, .step = 1};
    caviar_dist dy = {.kind = CAVIAR_DIST_INT, .low = 0, .high = GRID_Y - 1, .step = 1};
    CHECK(caviar_study_add_param(s, "x", &dx, &err) == CAVIAR_OK, "%s", err.msg);
    CHECK(caviar_study_add_param(s, "y", &dy, &err) == CAVIAR_OK, "%s", err.msg);
    double enq[N_ENQUEUED][2];
    for (int i = 0; i < N_ENQUEUED; i++) {
        const char *names[] = {"x", "y"};
        enq[i][0] = i % GRID_X;
        enq[i][1] = (i * 7) % GRID_Y;
        CHECK(caviar_study_enqueue(s, names, enq[i], 2, &err) == CAVIAR_OK, "%s", err.msg);
    }
    caviar_study_free(s); /* no connection crosses the forks */
    if (failures)
        return 1;

    /* The workers, and the killer. */
    pid_t workers[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++)
        workers[i] = start_worker(&o);
    unsigned seed = 12345;
    int kills = 0, exited = 0, bad_exits = 0;
    double t0 = mono_now();
    while (exited < N_WORKERS) {
        if (mono_now() - t0 > 240) {
            CHECK(0, "the study did not finish in 240 s");
            for (int i = 0; i < N_WORKERS; i++)
                if (workers[i] > 0)
                    kill(workers[i], SIGKILL);
            break;
        }
        sleep_ms(20 + rand_r(&seed) % 130);
        /* Reap the workers that finished on their own. */
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            for (int i = 0; i < N_WORKERS; i++)
                if (workers[i] == pid) {
                    workers[i] = 0;
                    exited++;
                    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        bad_exits++;
                }
        if (kills >= max_kills || exited > 0)
            continue; /* the budget is spent (a worker finished): let the others finish */
        int i = rand_r(&seed) % N_WORKERS;
        if (workers[i] <= 0)
            continue;
        kill(workers[i], SIGKILL);
        waitpid(workers[i], &status, 0);
        kills++;
        workers[i] = start_worker(&o);
    }
    double wall = mono_now() - t0;
    CHECK(bad_exits == 0, "%d workers stopped on an error", bad_exits);
    CHECK(kills > 0, "no worker was killed");
    printf("chaos: %s, %d workers, %d kills with SIGKILL survived, %.1f s\n", kind, N_WORKERS,
           kills, wall);

    check_history(url, name, budget, (const double (*)[2])enq);
    if (path[0]) {
        sqlite_integrity(path);
        bookkeeping_sqlite(path, name);
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (!failures && system(cmd) != 0)
            fprintf(stderr, "test_chaos: could not remove %s\n", dir);
    } else {
        pg_integrity(url);
        bookkeeping_pg(url, name);
    }
    printf("chaos: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
