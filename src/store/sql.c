/*
 * sql.c — the store operations on an SQL engine, once for SQLite and PostgreSQL (the engines
 * differ only behind sql_driver, sql_impl.h).
 *
 * Schema (version SQL_SCHEMA_VERSION, in caviar_meta):
 *   studies       id, name (unique), direction, seed, sampler and pruner with settings, spec;
 *                 version (the study's change counter), n_trials (the next trial number),
 *                 n_counted (trials that count against a budget), n_params (the next id)
 *   params        (study, id) -> name, dist (space_dist_encode)
 *   trials        (study, number) -> state, value, times, heartbeat, worker, claim, retry_of,
 *                 retries, requeued, fail_reason, n_reports, version
 *   trial_params  (study, number, param) -> internal value
 *   trial_values  (study, number, seq) -> step, value   (seq: order of arrival; step unique)
 *   trial_attrs   (study, number, key) -> value
 *   counters      (study, name) -> value
 *   blobs         (study, key) -> data (base64 text: checkpoints of panda days and PBT members)
 * Version 2 added blobs; a version 1 database is upgraded when opened (the table is created and
 * the version row rewritten in one transaction) — except by a read-only store, which reads it
 * as it is.
 *
 * Read-only stores (open_read_only: a dashboard) never write: transaction() refuses every
 * SQL_WRITE transaction before it begins, q() refuses a statement that writes in an SQL_READ one
 * (so a read-only store cannot write even through a bug in a body), and the driver's connection
 * is read-only as well. Opening one reads the schema version and nothing else (no open_body).
 *
 * Versions. Every transaction that changes what a mirror shows ends by bumping the study's
 * version (UPDATE studies ... RETURNING version) and stamping the trials it changed with it.
 * The bump locks the study row until commit, so versions commit in increasing order: a reader
 * whose snapshot shows version v has every change stamped <= v, and sync() fetches exactly the
 * trials stamped after its mirror's version (with their parameters, reports and attributes,
 * looked up by trial through the primary keys, never by scanning the study), O(changes).
 * Heartbeats change no version (nothing a sampler reads).
 *
 * Locks. A writer locks the trial rows it changes first (UPDATE ... WHERE state = RUNNING, or
 * SELECT ... FOR UPDATE SKIP LOCKED for a WAITING or a stale trial, so that concurrent
 * claimers take different rows) and the study row last, by the bump; a transaction holding the
 * study row only creates rows or touches trials it already holds. No two transactions can thus
 * wait on each other (no deadlocks), and a trial is claimed, failed or re-queued by one worker
 * only. On SQLite the whole write transaction is exclusive anyway (BEGIN IMMEDIATE).
 *
 * Deleting a study keeps that order too: it deletes the study's trial rows first (waiting for
 * the transactions that hold one of them, which never wait for it), then the study row, but
 * only if the study's trial counter has not moved since before the trials were deleted — a
 * trial created in between (by a transaction that held the study row) would otherwise be
 * left behind, and deleting it with the study row held could wait on a worker that waits for
 * the study row. When the counter has moved it deletes the new trials and tries again. Every
 * statement names the study (primary-key prefixes), so other studies' workers wait for
 * nothing. Study ids are never reused: caviar_meta keeps the largest deleted one
 * ("max_deleted_study"), and a new study's id is above both it and every existing id, so that
 * a worker still running a deleted study can only get errors, never another study's trials.
 *
 * Times are the client's wall clock (seconds since the epoch): machines that share a study must
 * agree on the time to well within the heartbeat grace period (NTP does).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql_impl.h"

/* ---- results ------------------------------------------------------------------------------- */

void sql_result_init(sql_result *r)
{
    memset(r, 0, sizeof *r);
}

void sql_result_clear(sql_result *r)
{
    for (size_t i = 0; i < r->n_strings; i++)
        free(r->strings[i]);
    r->n_strings = 0;
    r->rows = r->cols = 0;
}

void sql_result_free(sql_result *r)
{
    sql_result_clear(r);
    free(r->strings);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

sql_val *sql_result_add_row(sql_result *r, size_t cols)
{
    if (r->rows && r->cols != cols)
        return NULL;
    size_t n = (r->rows + 1) * cols;
    if (n > r->cap_cells) {
        size_t cap = r->cap_cells ? 2 * r->cap_cells : 64;
        while (cap < n)
            cap *= 2;
        sql_val *c = realloc(r->cells, cap * sizeof *c);
        if (!c)
            return NULL;
        r->cells = c;
        r->cap_cells = cap;
    }
    r->cols = cols;
    sql_val *row = r->cells + r->rows++ * cols;
    for (size_t i = 0; i < cols; i++)
        row[i] = sql_null();
    return row;
}

int sql_result_shape(sql_result *r, size_t rows, size_t cols)
{
    size_t n = rows * cols;
    if (cols && n / cols != rows)
        return -1;
    if (n > r->cap_cells) {
        sql_val *c = realloc(r->cells, n * sizeof *c);
        if (!c)
            return -1;
        r->cells = c;
        r->cap_cells = n;
    }
    for (size_t i = 0; i < n; i++)
        r->cells[i] = sql_null();
    r->rows = rows;
    r->cols = cols;
    return 0;
}

const char *sql_result_keep(sql_result *r, const char *text, size_t len)
{
    if (r->n_strings == r->cap_strings) {
        size_t cap = r->cap_strings ? 2 * r->cap_strings : 64;
        char **s = realloc(r->strings, cap * sizeof *s);
        if (!s)
            return NULL;
        r->strings = s;
        r->cap_strings = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    r->strings[r->n_strings++] = copy;
    return copy;
}

static const sql_val *cell(const sql_result *r, size_t row, size_t col)
{
    return &r->cells[row * r->cols + col];
}

int sql_is_null(const sql_result *r, size_t row, size_t col)
{
    return cell(r, row, col)->type == SQL_NULL;
}

int64_t sql_get_int(const sql_result *r, size_t row, size_t col)
{
    const sql_val *v = cell(r, row, col);
    switch (v->type) {
    case SQL_INT: return v->i;
    case SQL_REAL: return (int64_t)v->r;
    case SQL_TEXT: return strtoll(v->s, NULL, 10);
    case SQL_NULL: break;
    }
    return 0;
}

double sql_get_real(const sql_result *r, size_t row, size_t col)
{
    const sql_val *v = cell(r, row, col);
    switch (v->type) {
    case SQL_INT: return (double)v->i;
    case SQL_REAL: return v->r;
    case SQL_TEXT: return strtod(v->s, NULL); /* also "NaN", "Infinity", "-Infinity" */
    case SQL_NULL: break;
    }
    return NAN;
}

const char *sql_get_text(const sql_result *r, size_t row, size_t col)
{
    const sql_val *v = cell(r, row, col);
    return v->type == SQL_TEXT ? v->s : NULL;
}

/* ---- the store ----------------------------------------------------------------------------- */

typedef struct sql_store {
    store base;
    const sql_driver *drv;
    sql_conn *conn;
    sql_result res, res2, res3, res4; /* scratch, reused */
    char shown[512];                  /* the storage string, password masked, for messages */
    util_rng jitter;
    int read_only;                    /* open_read_only: every SQL_WRITE transaction refused */
    int no_blobs;                     /* read-only on schema version 1: no blobs table */
} sql_store;

/* The transaction being run: what its statements need to report transient errors. */
typedef struct txn {
    sql_store *s;
    sql_txn kind;
    int transient;
    caviar_error *err;
} txn;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether a statement changes the database (by its first word: every statement here starts
 * with it). */
static int sql_writes(const char *sql)
{
    static const char *const verbs[] = {"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER",
                                        NULL};
    for (size_t i = 0; verbs[i]; i++)
        if (strncmp(sql, verbs[i], strlen(verbs[i])) == 0)
            return 1;
    return 0;
}

/* One statement; rows into out (may be NULL). A statement that writes in an SQL_READ
 * transaction is a bug (a read-only store refuses only SQL_WRITE ones), refused here before the
 * engine sees it. */
static caviar_status q(txn *t, sql_result *out, const char *sql, const sql_val *params, size_t n)
{
    if (t->kind == SQL_READ && sql_writes(sql))
        return util_err(t->err, CAVIAR_EINVAL, "internal error: a read transaction on %s would "
                        "run '%.40s...'", t->s->shown, sql);
    return t->s->drv->exec(t->s->conn, sql, params, n, out, &t->transient, t->err);
}

#define Q(t, out, sql, ...)                                                                     \
    q((t), (out), (sql), (const sql_val[]){__VA_ARGS__},                                        \
      sizeof((const sql_val[]){__VA_ARGS__}) / sizeof(sql_val))

typedef caviar_status (*txn_body)(txn *t, void *arg);

/* Runs body in one transaction, again from the start while the engine says the failure was
 * transient (busy, serialization, deadlock), for up to SQL_RETRY_SECONDS. what says what an
 * SQL_WRITE transaction does ("enqueue a trial"), for its refusal on a read-only store (NULL
 * for SQL_READ ones). */
static caviar_status transaction(sql_store *s, sql_txn kind, const char *what, txn_body body,
                                 void *arg, caviar_error *err)
{
    if (kind == SQL_WRITE && s->read_only)
        return store_refuse_write(s->shown, what ? what : "write", err);
    double start = mono_now(), pause = 0.001;
    for (;;) {
        txn t = {s, kind, 0, err};
        caviar_status st = s->drv->begin(s->conn, kind, &t.transient, err);
        if (st == CAVIAR_OK) {
            st = body(&t, arg);
            if (st == CAVIAR_OK)
                st = s->drv->commit(s->conn, &t.transient, err);
            if (st != CAVIAR_OK)
                s->drv->rollback(s->conn);
        }
        if (st == CAVIAR_OK || !t.transient || mono_now() - start > SQL_RETRY_SECONDS)
            return st;
        /* Randomised, growing pauses keep contending workers from retrying in lockstep. */
        double d = pause * (0.5 + util_rng_uniform(&s->jitter));
        struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        pause = pause * 2 < 0.1 ? pause * 2 : 0.1;
    }
}

static sql_val real_or_null(double v)
{
    return isnan(v) ? sql_null() : sql_real(v);
}

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS studies ("
    " id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, direction INTEGER NOT NULL,"
    " seed BIGINT NOT NULL, sampler TEXT, sampler_settings TEXT, pruner TEXT,"
    " pruner_settings TEXT, spec TEXT, created DOUBLE PRECISION,"
    " version BIGINT NOT NULL DEFAULT 0, n_trials BIGINT NOT NULL DEFAULT 0,"
    " n_counted BIGINT NOT NULL DEFAULT 0, n_params BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS params ("
    " study BIGINT NOT NULL, id BIGINT NOT NULL, name TEXT NOT NULL, dist TEXT NOT NULL,"
    " PRIMARY KEY (study, id), UNIQUE (study, name))",
    "CREATE TABLE IF NOT EXISTS trials ("
    " study BIGINT NOT NULL, number BIGINT NOT NULL, state INTEGER NOT NULL,"
    " value DOUBLE PRECISION, start_time DOUBLE PRECISION, end_time DOUBLE PRECISION,"
    " heartbeat DOUBLE PRECISION, worker TEXT, claim BIGINT, retry_of BIGINT,"
    " retries INTEGER NOT NULL DEFAULT 0, requeued INTEGER NOT NULL DEFAULT 0,"
    " fail_reason TEXT, n_reports BIGINT NOT NULL DEFAULT 0, version BIGINT NOT NULL,"
    " PRIMARY KEY (study, number))",
    "CREATE INDEX IF NOT EXISTS trials_by_version ON trials (study, version)",
    "CREATE INDEX IF NOT EXISTS trials_by_state ON trials (study, state, number)",
    "CREATE TABLE IF NOT EXISTS trial_params ("
    " study BIGINT NOT NULL, number BIGINT NOT NULL, param BIGINT NOT NULL,"
    " value DOUBLE PRECISION NOT NULL, PRIMARY KEY (study, number, param))",
    "CREATE TABLE IF NOT EXISTS trial_values ("
    " study BIGINT NOT NULL, number BIGINT NOT NULL, seq BIGINT NOT NULL, step BIGINT NOT NULL,"
    " value DOUBLE PRECISION, PRIMARY KEY (study, number, seq), UNIQUE (study, number, step))",
    "CREATE TABLE IF NOT EXISTS trial_attrs ("
    " study BIGINT NOT NULL, number BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (study, number, key))",
    "CREATE TABLE IF NOT EXISTS counters ("
    " study BIGINT NOT NULL, name TEXT NOT NULL, value BIGINT NOT NULL,"
    " PRIMARY KEY (study, name))",
    "CREATE TABLE IF NOT EXISTS blobs ("
    " study BIGINT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (study, key))",
    NULL};

typedef struct open_arg {
    const char *shown; /* the redacted URL */
} open_arg;

typedef struct check_arg {
    int ready;        /* the database holds caviar's schema of this version */
    char found[32];   /* the schema version it holds, "" when caviar_meta has none */
} check_arg;

/* The common case, read-only: the schema is there already. The tables are created in the
 * transaction that writes schema_version (open_body), so the version row says they exist, and
 * a worker joining a busy study takes no lock that would queue it behind the others' writes
 * (CREATE ... IF NOT EXISTS does lock in PostgreSQL). Any failure (no caviar_meta yet) leaves
 * the decision to open_body — or, on a read-only store, makes the open fail. */
static caviar_status check_body(txn *t, void *arg)
{
    check_arg *a = arg;
    caviar_status st = q(t, &t->s->res, "SELECT value FROM caviar_meta WHERE key ="
                                        " 'schema_version'", NULL, 0);
    if (st != CAVIAR_OK)
        return st;
    char version[16];
    snprintf(version, sizeof version, "%d", SQL_SCHEMA_VERSION);
    const char *found = t->s->res.rows ? sql_get_text(&t->s->res, 0, 0) : NULL;
    snprintf(a->found, sizeof a->found, "%s", found ? found : "");
    a->ready = found && strcmp(found, version) == 0;
    return CAVIAR_OK;
}

/* The refusal of a database of another schema version (found NULL: none). */
static caviar_status wrong_schema(caviar_error *err, const char *shown, const char *found)
{
    return util_err(err, CAVIAR_EFORMAT,
                    "%s holds a caviar study database of schema version %s; this caviar reads "
                    "version %d\nhint: use the caviar that wrote it, or another database", shown,
                    found ? found : "(none)", SQL_SCHEMA_VERSION);
}

static caviar_status open_body(txn *t, void *arg)
{
    const open_arg *a = arg;
    caviar_status st;
    if ((st = q(t, NULL, "CREATE TABLE IF NOT EXISTS caviar_meta ("
                         " key TEXT PRIMARY KEY, value TEXT NOT NULL)", NULL, 0)) != CAVIAR_OK)
        return st;
    char version[16];
    snprintf(version, sizeof version, "%d", SQL_SCHEMA_VERSION);
    if ((st = Q(t, NULL, "INSERT INTO caviar_meta (key, value) VALUES ('schema_version', $1)"
                         " ON CONFLICT (key) DO NOTHING", sql_text(version))) != CAVIAR_OK ||
        (st = q(t, &t->s->res, "SELECT value FROM caviar_meta WHERE key = 'schema_version'",
                NULL, 0)) != CAVIAR_OK)
        return st;
    const char *found = t->s->res.rows ? sql_get_text(&t->s->res, 0, 0) : NULL;
    if (found && strcmp(found, "1") == 0) { /* version 1 lacks only the blobs: upgrade */
        if ((st = Q(t, NULL, "UPDATE caviar_meta SET value = $1 WHERE key = 'schema_version'",
                    sql_text(version))) != CAVIAR_OK)
            return st;
        found = version;
    }
    if (!found || strcmp(found, version) != 0)
        return wrong_schema(t->err, a->shown, found);
    for (size_t i = 0; schema[i]; i++)
        if ((st = q(t, NULL, schema[i], NULL, 0)) != CAVIAR_OK)
            return st;
    return CAVIAR_OK;
}

static void sql_close(store *base)
{
    sql_store *s = (sql_store *)base;
    if (!s)
        return;
    if (s->conn)
        s->drv->disconnect(s->conn);
    sql_result_free(&s->res);
    sql_result_free(&s->res2);
    sql_result_free(&s->res3);
    sql_result_free(&s->res4);
    free(s);
}

/* A read-only store opens what is there, as it is: the schema of this version, or of version
 * 1 (no blobs table; nothing else differs), never creating or upgrading anything. */
static caviar_status check_read_only(sql_store *s, caviar_error *err)
{
    check_arg c = {0};
    caviar_error why = {0};
    caviar_status st = transaction(s, SQL_READ, NULL, check_body, &c, &why);
    if (st == CAVIAR_EIO) /* the engine's words: "no such table: caviar_meta" */
        return util_err(err, CAVIAR_EFORMAT, "%s holds no caviar study database (%s)\nhint: "
                        "check the storage string; a study database is made by a command that "
                        "writes (caviar tune), not by a read-only one", s->shown, why.msg);
    if (st != CAVIAR_OK)
        return util_err(err, st, "%s", why.msg);
    if (c.ready)
        return CAVIAR_OK;
    if (strcmp(c.found, "1") == 0) {
        s->no_blobs = 1;
        return CAVIAR_OK;
    }
    return wrong_schema(err, s->shown, c.found[0] ? c.found : NULL);
}

static caviar_status sql_open_with(const sql_driver *drv, const store_type *type, const char *url,
                                   int read_only, store **out, caviar_error *err)
{
    char shown[512];
    store_redact(url, shown, sizeof shown);
    sql_store *s = calloc(1, sizeof *s);
    if (!s)
        return util_err(err, CAVIAR_ENOMEM, "cannot open %s: out of memory", shown);
    s->base.type = type;
    s->drv = drv;
    memcpy(s->shown, shown, sizeof s->shown);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    util_rng_seed(&s->jitter, (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)s);
    s->read_only = read_only;
    caviar_status st = drv->connect(url, read_only, &s->conn, err);
    if (st == CAVIAR_OK && read_only) {
        st = check_read_only(s, err);
    } else if (st == CAVIAR_OK) {
        check_arg c = {0};
        caviar_error ignored;
        if (transaction(s, SQL_READ, NULL, check_body, &c, &ignored) != CAVIAR_OK || !c.ready) {
            open_arg a = {shown};
            st = transaction(s, SQL_WRITE, "create or upgrade the schema", open_body, &a, err);
        }
    }
    if (st != CAVIAR_OK) {
        sql_close(&s->base);
        return st;
    }
    *out = &s->base;
    return CAVIAR_OK;
}

/* ---- studies and parameters ---------------------------------------------------------------- */

typedef struct study_arg {
    const store_study_info *info;
    int64_t id;
} study_arg;

static const char *direction_word(int64_t d)
{
    return d == CAVIAR_MAXIMIZE ? "maximized" : "minimized";
}

static caviar_status open_study_body(txn *t, void *arg)
{
    study_arg *a = arg;
    const store_study_info *in = a->info;
    sql_result *r = &t->s->res;
    caviar_status st;
    if ((st = Q(t, r, "SELECT id, direction FROM studies WHERE name = $1", sql_text(in->name))) !=
        CAVIAR_OK)
        return st;
    if (r->rows) {
        if (sql_get_int(r, 0, 1) != (int64_t)in->direction)
            return util_err(t->err, CAVIAR_EINVAL,
                            "study '%s' exists and is to be %s; it cannot be reopened to be %s",
                            in->name, direction_word(sql_get_int(r, 0, 1)),
                            direction_word(in->direction));
        a->id = sql_get_int(r, 0, 0);
        return CAVIAR_OK;
    }
    if ((st = q(t, r,
                "SELECT COALESCE(MAX(id), 0) + 1 FROM (SELECT id FROM studies UNION ALL"
                " SELECT CAST(value AS BIGINT) FROM caviar_meta WHERE key = 'max_deleted_study')"
                " AS ids",
                NULL, 0)) != CAVIAR_OK)
        return st;
    a->id = sql_get_int(r, 0, 0);
    /* Two workers creating the study at once: the second one's insert is a unique violation,
     * transient, and its retry finds the study. */
    return Q(t, NULL,
             "INSERT INTO studies (id, name, direction, seed, sampler, sampler_settings, pruner,"
             " pruner_settings, spec, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
             sql_int(a->id), sql_text(in->name), sql_int(in->direction),
             sql_int((int64_t)in->seed), sql_text(in->sampler), sql_text(in->sampler_settings),
             sql_text(in->pruner), sql_text(in->pruner_settings), sql_text(in->spec),
             sql_real(wall_now()));
}

static caviar_status sql_open_study(store *base, const store_study_info *info, int64_t *id,
                                    caviar_error *err)
{
    study_arg a = {info, 0};
    caviar_status st = transaction((sql_store *)base, SQL_WRITE, "open or create a study",
                                   open_study_body, &a, err);
    if (st == CAVIAR_OK)
        *id = a.id;
    return st;
}

typedef struct define_arg {
    int64_t id;
    const store_study_info *info;
} define_arg;

static caviar_status define_study_body(txn *t, void *arg)
{
    define_arg *a = arg;
    const store_study_info *in = a->info;
    return Q(t, NULL,
             "UPDATE studies SET sampler = $2, sampler_settings = $3, pruner = $4,"
             " pruner_settings = $5, spec = $6 WHERE id = $1",
             sql_int(a->id), sql_text(in->sampler), sql_text(in->sampler_settings),
             sql_text(in->pruner), sql_text(in->pruner_settings), sql_text(in->spec));
}

static caviar_status sql_define_study(store *base, int64_t id, const store_study_info *info,
                                      caviar_error *err)
{
    define_arg a = {id, info};
    return transaction((sql_store *)base, SQL_WRITE, "change a study's definition",
                       define_study_body, &a, err);
}

typedef struct load_arg {
    const char *name;
    store_study *out;
} load_arg;

static char *dup_cell(const sql_result *r, size_t row, size_t col, int *oom)
{
    const char *s = sql_get_text(r, row, col);
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

/* The columns study_from_row reads, in its order. */
#define STUDY_COLUMNS                                                                           \
    "name, direction, seed, sampler, sampler_settings, pruner, pruner_settings, spec, id"

/* Row row of r (STUDY_COLUMNS) into o, replacing what o held. */
static caviar_status study_from_row(txn *t, const sql_result *r, size_t row, store_study *o)
{
    int oom = 0;
    store_study_release(o);
    o->name = dup_cell(r, row, 0, &oom);
    o->direction =
        sql_get_int(r, row, 1) == CAVIAR_MAXIMIZE ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
    o->seed = (uint64_t)sql_get_int(r, row, 2);
    o->sampler = dup_cell(r, row, 3, &oom);
    o->sampler_settings = dup_cell(r, row, 4, &oom);
    o->pruner = dup_cell(r, row, 5, &oom);
    o->pruner_settings = dup_cell(r, row, 6, &oom);
    o->spec = dup_cell(r, row, 7, &oom);
    o->id = sql_get_int(r, row, 8);
    if (oom || !o->name) {
        const char *name = sql_get_text(r, row, 0);
        store_study_release(o);
        return util_err(t->err, CAVIAR_ENOMEM, "cannot read study '%s': out of memory",
                        name ? name : "?");
    }
    return CAVIAR_OK;
}

static caviar_status load_study_body(txn *t, void *arg)
{
    load_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "SELECT " STUDY_COLUMNS " FROM studies WHERE name = $1",
                         sql_text(a->name));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EMISSING, "there is no study '%s' in %s", a->name,
                        t->s->shown);
    return study_from_row(t, r, 0, a->out);
}

static caviar_status sql_load_study(store *base, const char *name, store_study *out,
                                    caviar_error *err)
{
    memset(out, 0, sizeof *out);
    load_arg a = {name, out};
    return transaction((sql_store *)base, SQL_READ, NULL, load_study_body, &a, err);
}

static caviar_status list_studies_body(txn *t, void *arg)
{
    store_study_list *out = arg;
    sql_result *r = &t->s->res;
    store_study_list_release(out); /* a retried transaction starts again */
    caviar_status st =
        q(t, r, "SELECT " STUDY_COLUMNS " FROM studies ORDER BY id", NULL, 0);
    if (st != CAVIAR_OK || !r->rows)
        return st;
    if (!(out->studies = calloc(r->rows, sizeof *out->studies)))
        return util_err(t->err, CAVIAR_ENOMEM, "cannot list the studies of %s: out of memory",
                        t->s->shown);
    for (size_t i = 0; i < r->rows; i++) {
        if ((st = study_from_row(t, r, i, &out->studies[i])) != CAVIAR_OK)
            return st;
        out->n++;
    }
    return CAVIAR_OK;
}

static caviar_status sql_list_studies(store *base, store_study_list *out, caviar_error *err)
{
    out->studies = NULL;
    out->n = 0;
    return transaction((sql_store *)base, SQL_READ, NULL, list_studies_body, out, err);
}

/* The tables that hold a study's rows besides trials and studies, each keyed by (study, ...). */
static const char *const study_rows[] = {
    "DELETE FROM trial_params WHERE study = $1", "DELETE FROM trial_values WHERE study = $1",
    "DELETE FROM trial_attrs WHERE study = $1",  "DELETE FROM params WHERE study = $1",
    "DELETE FROM counters WHERE study = $1",     "DELETE FROM blobs WHERE study = $1",
    NULL};

#define DELETE_ROUNDS 1000

/* See "Deleting a study" at the top of the file for the order of the locks. */
static caviar_status delete_study_body(txn *t, void *arg)
{
    const char *name = arg;
    sql_result *r = &t->s->res;
    caviar_status st;
    for (int round = 0;; round++) {
        if ((st = Q(t, r, "SELECT id, n_trials FROM studies WHERE name = $1", sql_text(name))) !=
            CAVIAR_OK)
            return st;
        if (!r->rows)
            return util_err(t->err, CAVIAR_EMISSING, "there is no study '%s' in %s", name,
                            t->s->shown);
        int64_t id = sql_get_int(r, 0, 0), n_trials = sql_get_int(r, 0, 1);
        if ((st = Q(t, NULL, "DELETE FROM trials WHERE study = $1", sql_int(id))) != CAVIAR_OK ||
            (st = Q(t, r, "DELETE FROM studies WHERE id = $1 AND n_trials = $2 RETURNING id",
                    sql_int(id), sql_int(n_trials))) != CAVIAR_OK)
            return st;
        if (r->rows) {
            for (size_t i = 0; study_rows[i]; i++)
                if ((st = Q(t, NULL, study_rows[i], sql_int(id))) != CAVIAR_OK)
                    return st;
            char text[32];
            snprintf(text, sizeof text, "%lld", (long long)id);
            return Q(t, NULL,
                     "INSERT INTO caviar_meta (key, value) VALUES ('max_deleted_study', $1)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                     " WHERE CAST(caviar_meta.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
                     sql_text(text));
        }
        /* Trials were created since the counter was read (or the study went away): again. */
        if (round == DELETE_ROUNDS) {
            t->transient = 1;
            return util_err(t->err, CAVIAR_EIO, "cannot delete study '%s' from %s: its trials "
                            "keep changing", name, t->s->shown);
        }
    }
}

static caviar_status sql_delete_study(store *base, const char *name, caviar_error *err)
{
    return transaction((sql_store *)base, SQL_WRITE, "delete a study", delete_study_body,
                       (void *)name, err);
}

/* The study's version bumped (the study row locked until commit), with the trial counter
 * advanced by add_trials and the counted ones by add_counted; *version and *n_trials (may be
 * NULL) receive the new values. */
static caviar_status bump(txn *t, int64_t study, int add_trials, int add_counted,
                          int64_t *version, int64_t *n_trials)
{
    sql_result *r = &t->s->res4;
    caviar_status st = Q(t, r,
                         "UPDATE studies SET version = version + 1, n_trials = n_trials + $2,"
                         " n_counted = n_counted + $3 WHERE id = $1 RETURNING version, n_trials",
                         sql_int(study), sql_int(add_trials), sql_int(add_counted));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EINVAL, "study %lld does not exist", (long long)study);
    *version = sql_get_int(r, 0, 0);
    if (n_trials)
        *n_trials = sql_get_int(r, 0, 1);
    return CAVIAR_OK;
}

static caviar_status stamp(txn *t, int64_t study, int64_t number, int64_t version)
{
    return Q(t, NULL, "UPDATE trials SET version = $3 WHERE study = $1 AND number = $2",
             sql_int(study), sql_int(number), sql_int(version));
}

typedef struct param_arg {
    int64_t study;
    const char *name;
    const caviar_dist *d;
} param_arg;

static caviar_status add_param_body(txn *t, void *arg)
{
    param_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r, "SELECT dist FROM params WHERE study = $1 AND name = $2",
                         sql_int(a->study), sql_text(a->name));
    if (st != CAVIAR_OK)
        return st;
    if (r->rows) {
        /* Known: the table's own check gives the same message as everywhere else. */
        caviar_dist stored;
        if ((st = space_dist_decode(sql_get_text(r, 0, 0), &stored, t->err)) != CAVIAR_OK) {
            util_err_prefix(t->err, "parameter '%s' in the database", a->name);
            return st;
        }
        space_table tmp;
        size_t id;
        space_table_init(&tmp);
        st = space_table_add(&tmp, a->name, &stored, &id, t->err);
        if (st == CAVIAR_OK)
            st = space_table_add(&tmp, a->name, a->d, &id, t->err);
        space_table_release(&tmp);
        space_dist_release(&stored);
        return st;
    }
    char *text = space_dist_encode(a->d);
    if (!text)
        return util_err(t->err, CAVIAR_ENOMEM, "cannot add parameter '%s': out of memory",
                        a->name);
    if ((st = Q(t, r,
                "UPDATE studies SET n_params = n_params + 1, version = version + 1"
                " WHERE id = $1 RETURNING n_params",
                sql_int(a->study))) == CAVIAR_OK && !r->rows)
        st = util_err(t->err, CAVIAR_EINVAL, "study %lld does not exist", (long long)a->study);
    else if (st == CAVIAR_OK)
        st = Q(t, NULL, "INSERT INTO params (study, id, name, dist) VALUES ($1, $2, $3, $4)",
               sql_int(a->study), sql_int(sql_get_int(r, 0, 0) - 1), sql_text(a->name),
               sql_text(text));
    free(text);
    return st;
}

static caviar_status sql_add_param(store *base, int64_t study, const char *name,
                                   const caviar_dist *d, caviar_error *err)
{
    param_arg a = {study, name, d};
    return transaction((sql_store *)base, SQL_WRITE, "add a parameter", add_param_body, &a, err);
}

/* ---- trials -------------------------------------------------------------------------------- */

typedef struct trial_arg {
    int64_t study;
    int64_t number;
    const store_start *start;
    const double *values;
    size_t n_values;
    int found;
    uint64_t claim;
    int64_t step;
    double value;
    caviar_trial_state state;
    const char *key, *text;
    int requeue;
    unsigned add_retry;
} trial_arg;

static caviar_status insert_values(txn *t, int64_t study, int64_t number, const double *values,
                                   size_t n)
{
    caviar_status st = CAVIAR_OK;
    for (size_t i = 0; st == CAVIAR_OK && i < n; i++)
        if (!isnan(values[i]))
            st = Q(t, NULL,
                   "INSERT INTO trial_params (study, number, param, value) VALUES ($1, $2, $3,"
                   " $4)",
                   sql_int(study), sql_int(number), sql_int((int64_t)i), sql_real(values[i]));
    return st;
}

static caviar_status enqueue_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    int64_t v = 0, n = 0;
    caviar_status st = bump(t, a->study, 1, 1, &v, &n);
    if (st != CAVIAR_OK)
        return st;
    a->number = n - 1;
    if ((st = Q(t, NULL,
                "INSERT INTO trials (study, number, state, version) VALUES ($1, $2, $3, $4)",
                sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_WAITING),
                sql_int(v))) != CAVIAR_OK)
        return st;
    return insert_values(t, a->study, a->number, a->values, a->n_values);
}

static caviar_status sql_enqueue(store *base, int64_t study, const double *values, size_t n,
                                 uint64_t *number, caviar_error *err)
{
    trial_arg a = {.study = study, .values = values, .n_values = n};
    caviar_status st = transaction((sql_store *)base, SQL_WRITE, "enqueue a trial", enqueue_body,
                                   &a, err);
    if (st == CAVIAR_OK)
        *number = (uint64_t)a.number;
    return st;
}

static caviar_status claim_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st =
        t->s->drv->row_locks
            ? Q(t, r,
                "SELECT number FROM trials WHERE study = $1 AND state = $2 ORDER BY number"
                " LIMIT 1 FOR UPDATE SKIP LOCKED",
                sql_int(a->study), sql_int(CAVIAR_TRIAL_WAITING))
            : Q(t, r,
                "SELECT number FROM trials WHERE study = $1 AND state = $2 ORDER BY number"
                " LIMIT 1",
                sql_int(a->study), sql_int(CAVIAR_TRIAL_WAITING));
    if (st != CAVIAR_OK)
        return st;
    a->found = r->rows > 0;
    if (!a->found)
        return CAVIAR_OK;
    a->number = sql_get_int(r, 0, 0);
    double now = wall_now();
    int64_t v = 0;
    if ((st = Q(t, NULL,
                "UPDATE trials SET state = $3, start_time = $4, heartbeat = $4, worker = $5"
                " WHERE study = $1 AND number = $2",
                sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_RUNNING),
                sql_real(now), sql_text(a->start->worker ? a->start->worker : ""))) !=
            CAVIAR_OK ||
        (st = bump(t, a->study, 0, 0, &v, NULL)) != CAVIAR_OK)
        return st;
    return stamp(t, a->study, a->number, v);
}

static caviar_status sql_claim_waiting(store *base, int64_t study, const store_start *start,
                                       uint64_t *number, int *found, caviar_error *err)
{
    trial_arg a = {.study = study, .start = start};
    caviar_status st = transaction((sql_store *)base, SQL_WRITE, "start a waiting trial",
                                   claim_body, &a, err);
    *found = st == CAVIAR_OK && a.found;
    if (*found)
        *number = (uint64_t)a.number;
    return st;
}

static caviar_status create_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    const store_start *sp = a->start;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "UPDATE studies SET version = version + 1, n_trials = n_trials + 1,"
                         " n_counted = n_counted + 1 WHERE id = $1 AND ($2 = 0 OR n_counted < $2)"
                         " RETURNING version, n_trials",
                         sql_int(a->study), sql_int((int64_t)sp->max_trials));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows) {
        if ((st = Q(t, r, "SELECT name FROM studies WHERE id = $1", sql_int(a->study))) !=
            CAVIAR_OK)
            return st;
        if (!r->rows)
            return util_err(t->err, CAVIAR_EINVAL, "study %lld does not exist",
                            (long long)a->study);
        return util_err(t->err, CAVIAR_STOPPED, "study '%s' has reached its budget of %llu "
                        "trials", sql_get_text(r, 0, 0), (unsigned long long)sp->max_trials);
    }
    int64_t v = sql_get_int(r, 0, 0);
    a->number = sql_get_int(r, 0, 1) - 1;
    sql_val claim = sql_null();
    if (sp->counter) {
        if ((st = Q(t, NULL,
                    "INSERT INTO counters (study, name, value) VALUES ($1, $2, 0)"
                    " ON CONFLICT (study, name) DO NOTHING",
                    sql_int(a->study), sql_text(sp->counter))) != CAVIAR_OK ||
            (st = Q(t, r,
                    "UPDATE counters SET value = value + 1 WHERE study = $1 AND name = $2"
                    " AND value < $3 RETURNING value",
                    sql_int(a->study), sql_text(sp->counter),
                    sql_int((int64_t)sp->counter_limit))) != CAVIAR_OK)
            return st;
        if (!r->rows)
            return sp->counter_done
                       ? util_err(t->err, CAVIAR_STOPPED, "%s", sp->counter_done)
                       : util_err(t->err, CAVIAR_STOPPED, "study %lld: every point of '%s' is "
                                  "taken", (long long)a->study, sp->counter);
        a->claim = (uint64_t)sql_get_int(r, 0, 0) - 1;
        claim = sql_int((int64_t)a->claim);
    }
    double now = wall_now();
    return Q(t, NULL,
             "INSERT INTO trials (study, number, state, start_time, heartbeat, worker, claim,"
             " version) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
             sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_RUNNING), sql_real(now),
             sql_text(sp->worker ? sp->worker : ""), claim, sql_int(v));
}

static caviar_status sql_create_running(store *base, int64_t study, const store_start *start,
                                        uint64_t *number, uint64_t *claim, caviar_error *err)
{
    trial_arg a = {.study = study, .start = start};
    caviar_status st = transaction((sql_store *)base, SQL_WRITE, "create a trial", create_body,
                                   &a, err);
    if (st == CAVIAR_OK) {
        *number = (uint64_t)a.number;
        if (start->counter && claim)
            *claim = a.claim;
    }
    return st;
}

/* Why a trial could not be changed: it does not exist, or it is not running. */
static caviar_status not_running(txn *t, int64_t study, int64_t number)
{
    sql_result *r = &t->s->res3;
    caviar_status st = Q(t, r, "SELECT name FROM studies WHERE id = $1", sql_int(study));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EINVAL, "study %lld does not exist", (long long)study);
    char name[256];
    snprintf(name, sizeof name, "%s", sql_get_text(r, 0, 0) ? sql_get_text(r, 0, 0) : "?");
    if ((st = Q(t, r, "SELECT state FROM trials WHERE study = $1 AND number = $2",
                sql_int(study), sql_int(number))) != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EINVAL, "study '%s' has no trial %lld", name,
                        (long long)number);
    int64_t state = sql_get_int(r, 0, 0);
    return util_err(t->err, CAVIAR_EINVAL, "trial %lld of study '%s' is %s, not running",
                    (long long)number, name,
                    state >= 0 && state <= CAVIAR_TRIAL_FAIL
                        ? caviar_trial_state_name((caviar_trial_state)state)
                        : "in an unknown state");
}

static caviar_status set_param_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "UPDATE trials SET heartbeat = heartbeat WHERE study = $1 AND number = $2"
                         " AND state = $3 RETURNING number",
                         sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_RUNNING));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return not_running(t, a->study, a->number);
    int64_t v = 0;
    if ((st = Q(t, NULL,
                "INSERT INTO trial_params (study, number, param, value) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (study, number, param) DO UPDATE SET value = excluded.value",
                sql_int(a->study), sql_int(a->number), sql_int(a->step), sql_real(a->value))) !=
            CAVIAR_OK ||
        (st = bump(t, a->study, 0, 0, &v, NULL)) != CAVIAR_OK)
        return st;
    return stamp(t, a->study, a->number, v);
}

static caviar_status sql_set_param(store *base, int64_t study, uint64_t number, size_t param_id,
                                   double value, caviar_error *err)
{
    trial_arg a = {.study = study, .number = (int64_t)number, .step = (int64_t)param_id,
                   .value = value};
    return transaction((sql_store *)base, SQL_WRITE, "set a parameter of a trial", set_param_body,
                       &a, err);
}

static caviar_status report_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "UPDATE trials SET n_reports = n_reports + 1 WHERE study = $1 AND"
                         " number = $2 AND state = $3 RETURNING n_reports",
                         sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_RUNNING));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return not_running(t, a->study, a->number);
    int64_t seq = sql_get_int(r, 0, 0) - 1;
    if ((st = Q(t, r,
                "SELECT 1 FROM trial_values WHERE study = $1 AND number = $2 AND step = $3",
                sql_int(a->study), sql_int(a->number), sql_int(a->step))) != CAVIAR_OK)
        return st;
    if (r->rows)
        return util_err(t->err, CAVIAR_EINVAL, "trial %lld already reported step %lld",
                        (long long)a->number, (long long)a->step);
    int64_t v = 0;
    if ((st = Q(t, NULL,
                "INSERT INTO trial_values (study, number, seq, step, value) VALUES ($1, $2, $3,"
                " $4, $5)",
                sql_int(a->study), sql_int(a->number), sql_int(seq), sql_int(a->step),
                real_or_null(a->value))) != CAVIAR_OK ||
        (st = bump(t, a->study, 0, 0, &v, NULL)) != CAVIAR_OK)
        return st;
    return stamp(t, a->study, a->number, v);
}

static caviar_status sql_report(store *base, int64_t study, uint64_t number, int64_t step,
                                double value, caviar_error *err)
{
    trial_arg a = {.study = study, .number = (int64_t)number, .step = step, .value = value};
    return transaction((sql_store *)base, SQL_WRITE, "report a value", report_body, &a, err);
}

static caviar_status set_attr_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "UPDATE trials SET heartbeat = heartbeat WHERE study = $1 AND"
                         " number = $2 RETURNING number",
                         sql_int(a->study), sql_int(a->number));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return not_running(t, a->study, a->number); /* only when there is no such trial */
    int64_t v = 0;
    if ((st = Q(t, NULL,
                "INSERT INTO trial_attrs (study, number, key, value) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (study, number, key) DO UPDATE SET value = excluded.value",
                sql_int(a->study), sql_int(a->number), sql_text(a->key), sql_text(a->text))) !=
            CAVIAR_OK ||
        (st = bump(t, a->study, 0, 0, &v, NULL)) != CAVIAR_OK)
        return st;
    return stamp(t, a->study, a->number, v);
}

static caviar_status sql_set_attr(store *base, int64_t study, uint64_t number, const char *key,
                                  const char *value, caviar_error *err)
{
    trial_arg a = {.study = study, .number = (int64_t)number, .key = key, .text = value};
    return transaction((sql_store *)base, SQL_WRITE, "set an attribute of a trial", set_attr_body,
                       &a, err);
}

static caviar_status finish_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "UPDATE trials SET state = $4, value = $5, end_time = $6, worker = NULL"
                         " WHERE study = $1 AND number = $2 AND state = $3 RETURNING number",
                         sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_RUNNING),
                         sql_int(a->state), real_or_null(a->value), sql_real(wall_now()));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return not_running(t, a->study, a->number);
    int64_t v = 0;
    if ((st = bump(t, a->study, 0, 0, &v, NULL)) != CAVIAR_OK)
        return st;
    return stamp(t, a->study, a->number, v);
}

static caviar_status sql_finish(store *base, int64_t study, uint64_t number,
                                caviar_trial_state state, double value, caviar_error *err)
{
    trial_arg a = {.study = study, .number = (int64_t)number, .state = state, .value = value};
    return transaction((sql_store *)base, SQL_WRITE, "end a trial", finish_body, &a, err);
}

/* ---- blobs: base64 text, outside the versions (no sampler reads them) ---- */

typedef struct blob_arg {
    int64_t study;
    const char *key;
    const char *text; /* put: the encoding */
    void *data;       /* get: the decoded bytes */
    size_t len;
} blob_arg;

static caviar_status put_blob_body(txn *t, void *arg)
{
    blob_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r, "SELECT id FROM studies WHERE id = $1", sql_int(a->study));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EINVAL, "study %lld does not exist", (long long)a->study);
    return Q(t, NULL,
             "INSERT INTO blobs (study, key, data) VALUES ($1, $2, $3)"
             " ON CONFLICT (study, key) DO UPDATE SET data = excluded.data",
             sql_int(a->study), sql_text(a->key), sql_text(a->text));
}

static caviar_status sql_put_blob(store *base, int64_t study, const char *key, const void *data,
                                  size_t len, caviar_error *err)
{
    char *text = util_base64_encode(data, len);
    if (!text)
        return util_err(err, CAVIAR_ENOMEM, "cannot store '%s' (%zu bytes): out of memory", key,
                        len);
    blob_arg a = {.study = study, .key = key, .text = text};
    caviar_status st = transaction((sql_store *)base, SQL_WRITE, "store a blob", put_blob_body,
                                   &a, err);
    free(text);
    return st;
}

static caviar_status get_blob_body(txn *t, void *arg)
{
    blob_arg *a = arg;
    sql_result *r = &t->s->res;
    free(a->data);
    a->data = NULL;
    caviar_status st = Q(t, r, "SELECT data FROM blobs WHERE study = $1 AND key = $2",
                         sql_int(a->study), sql_text(a->key));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EMISSING, "the study holds no '%s'", a->key);
    const char *text = sql_get_text(r, 0, 0);
    if (!text || util_base64_decode(text, &a->data, &a->len) != 0)
        return util_err(t->err, CAVIAR_EFORMAT, "the study's '%s' is not base64 text (or out "
                        "of memory)", a->key);
    return CAVIAR_OK;
}

static caviar_status sql_get_blob(store *base, int64_t study, const char *key, void **data,
                                  size_t *len, caviar_error *err)
{
    sql_store *s = (sql_store *)base;
    if (s->no_blobs) {
        *data = NULL;
        *len = 0;
        return util_err(err, CAVIAR_EMISSING, "the study holds no '%s' (%s is a study database "
                        "of schema version 1, from before blobs)", key, s->shown);
    }
    blob_arg a = {.study = study, .key = key};
    caviar_status st = transaction((sql_store *)base, SQL_READ, NULL, get_blob_body, &a, err);
    if (st != CAVIAR_OK) {
        free(a.data);
        a.data = NULL;
        a.len = 0;
    }
    *data = a.data;
    *len = a.len;
    return st;
}

typedef struct count_arg {
    int64_t study;
    const char *name;
    uint64_t value;
    store_counts *counts;
} count_arg;

static caviar_status get_count_body(txn *t, void *arg)
{
    count_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r, "SELECT value FROM counters WHERE study = $1 AND name = $2",
                         sql_int(a->study), sql_text(a->name));
    if (st == CAVIAR_OK)
        a->value = r->rows ? (uint64_t)sql_get_int(r, 0, 0) : 0;
    return st;
}

static caviar_status sql_get_count(store *base, int64_t study, const char *name, uint64_t *value,
                                   caviar_error *err)
{
    count_arg a = {.study = study, .name = name};
    caviar_status st = transaction((sql_store *)base, SQL_READ, NULL, get_count_body, &a, err);
    if (st == CAVIAR_OK)
        *value = a.value;
    return st;
}

/* The best COMPLETE trial as caviar_study_best chooses it: a NaN value is stored as NULL and
 * left out; both engines order infinities as numbers, -Infinity first; the lowest number wins
 * a tie. */
#define BEST_TRIAL(order)                                                                       \
    "SELECT number, value FROM trials WHERE study = $1 AND state = $2 AND value IS NOT NULL"    \
    " ORDER BY value " order ", number LIMIT 1"

static caviar_status count_body(txn *t, void *arg)
{
    count_arg *a = arg;
    store_counts *c = a->counts;
    sql_result *r = &t->s->res;
    memset(c, 0, sizeof *c);
    c->best_value = NAN;
    caviar_status st = Q(t, r,
                         "SELECT state, COUNT(*), MAX(start_time), MAX(end_time) FROM trials"
                         " WHERE study = $1 GROUP BY state",
                         sql_int(a->study));
    if (st != CAVIAR_OK)
        return st;
    for (size_t i = 0; i < r->rows; i++) {
        int64_t state = sql_get_int(r, i, 0);
        if (state >= 0 && state <= CAVIAR_TRIAL_FAIL)
            c->n[state] = (uint64_t)sql_get_int(r, i, 1);
        for (size_t k = 2; k < 4; k++)
            if (!sql_is_null(r, i, k) && sql_get_real(r, i, k) > c->last_time)
                c->last_time = sql_get_real(r, i, k);
    }
    if ((st = Q(t, r, "SELECT n_counted, direction FROM studies WHERE id = $1",
                sql_int(a->study))) != CAVIAR_OK)
        return st;
    if (!r->rows)
        return CAVIAR_OK;
    c->counted = (uint64_t)sql_get_int(r, 0, 0);
    if (!c->n[CAVIAR_TRIAL_COMPLETE])
        return CAVIAR_OK;
    st = sql_get_int(r, 0, 1) == CAVIAR_MAXIMIZE
             ? Q(t, r, BEST_TRIAL("DESC"), sql_int(a->study), sql_int(CAVIAR_TRIAL_COMPLETE))
             : Q(t, r, BEST_TRIAL("ASC"), sql_int(a->study), sql_int(CAVIAR_TRIAL_COMPLETE));
    if (st != CAVIAR_OK || !r->rows)
        return st;
    c->has_best = 1;
    c->best_trial = (uint64_t)sql_get_int(r, 0, 0);
    c->best_value = sql_get_real(r, 0, 1);
    return CAVIAR_OK;
}

static caviar_status sql_count(store *base, int64_t study, store_counts *out, caviar_error *err)
{
    count_arg a = {.study = study, .counts = out};
    return transaction((sql_store *)base, SQL_READ, NULL, count_body, &a, err);
}

/* ---- workers: heartbeats, abandoned and lost trials ---------------------------------------- */

static caviar_status heartbeat_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    return Q(t, NULL,
             "UPDATE trials SET heartbeat = $4 WHERE study = $1 AND worker = $2 AND state = $3",
             sql_int(a->study), sql_text(a->text), sql_int(CAVIAR_TRIAL_RUNNING),
             sql_real(wall_now()));
}

static caviar_status sql_heartbeat(store *base, int64_t study, const char *worker,
                                   caviar_error *err)
{
    trial_arg a = {.study = study, .text = worker};
    return transaction((sql_store *)base, SQL_WRITE, "refresh heartbeats", heartbeat_body, &a,
                       err);
}

/* Trial a->number, RUNNING: FAIL with reason a->text, re-queued when a->requeue. */
static caviar_status fail_body(txn *t, void *arg)
{
    trial_arg *a = arg;
    sql_result *r = &t->s->res;
    caviar_status st = Q(t, r,
                         "UPDATE trials SET state = $4, value = NULL, end_time = $5, worker = NULL,"
                         " fail_reason = $6, requeued = $7 WHERE study = $1 AND number = $2 AND"
                         " state = $3 RETURNING claim, retries",
                         sql_int(a->study), sql_int(a->number), sql_int(CAVIAR_TRIAL_RUNNING),
                         sql_int(CAVIAR_TRIAL_FAIL), sql_real(wall_now()), sql_text(a->text),
                         sql_int(a->requeue ? 1 : 0));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return not_running(t, a->study, a->number);
    sql_val claim = sql_is_null(r, 0, 0) ? sql_null() : sql_int(sql_get_int(r, 0, 0));
    int64_t retries = sql_get_int(r, 0, 1) + a->add_retry;
    int64_t v = 0, n = 0;
    /* A re-run replaces the failed trial in the budget: one more trial, as many counted. */
    if ((st = bump(t, a->study, a->requeue ? 1 : 0, 0, &v, &n)) != CAVIAR_OK ||
        (st = stamp(t, a->study, a->number, v)) != CAVIAR_OK || !a->requeue)
        return st;
    if ((st = Q(t, NULL,
                "INSERT INTO trials (study, number, state, claim, retry_of, retries, version)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                sql_int(a->study), sql_int(n - 1), sql_int(CAVIAR_TRIAL_WAITING), claim,
                sql_int(a->number), sql_int(retries), sql_int(v))) != CAVIAR_OK)
        return st;
    return Q(t, NULL,
             "INSERT INTO trial_params (study, number, param, value) SELECT study,"
             " CAST($3 AS BIGINT), param, value FROM trial_params WHERE study = $1 AND number = $2",
             sql_int(a->study), sql_int(a->number), sql_int(n - 1));
}

static caviar_status sql_abandon(store *base, int64_t study, uint64_t number, const char *reason,
                                 int requeue, caviar_error *err)
{
    trial_arg a = {.study = study, .number = (int64_t)number, .text = reason,
                   .requeue = requeue};
    return transaction((sql_store *)base, SQL_WRITE, "abandon a trial", fail_body, &a, err);
}

typedef struct reap_arg {
    int64_t study;
    double cutoff;
    unsigned max_retries;
    int found;
} reap_arg;

/* The oldest stale trial, if any, failed and maybe re-queued. */
static caviar_status reap_body(txn *t, void *arg)
{
    reap_arg *a = arg;
    sql_result *r = &t->s->res2;
    caviar_status st =
        t->s->drv->row_locks
            ? Q(t, r,
                "SELECT number, retries FROM trials WHERE study = $1 AND state = $2 AND"
                " heartbeat < $3 ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED",
                sql_int(a->study), sql_int(CAVIAR_TRIAL_RUNNING), sql_real(a->cutoff))
            : Q(t, r,
                "SELECT number, retries FROM trials WHERE study = $1 AND state = $2 AND"
                " heartbeat < $3 ORDER BY number LIMIT 1",
                sql_int(a->study), sql_int(CAVIAR_TRIAL_RUNNING), sql_real(a->cutoff));
    if (st != CAVIAR_OK)
        return st;
    a->found = r->rows > 0;
    if (!a->found)
        return CAVIAR_OK;
    trial_arg f = {.study = a->study, .number = sql_get_int(r, 0, 0), .text = "worker lost",
                   .requeue = sql_get_int(r, 0, 1) < (int64_t)a->max_retries, .add_retry = 1};
    return fail_body(t, &f);
}

static caviar_status sql_reap(store *base, int64_t study, double grace, unsigned max_retries,
                              size_t *n_reaped, caviar_error *err)
{
    reap_arg a = {.study = study, .cutoff = wall_now() - grace, .max_retries = max_retries};
    size_t n = 0;
    caviar_status st;
    while ((st = transaction((sql_store *)base, SQL_WRITE, "reap lost trials", reap_body, &a,
                             err)) == CAVIAR_OK && a.found)
        n++;
    if (n_reaped)
        *n_reaped = n;
    return st;
}

/* ---- sync ---------------------------------------------------------------------------------- */

typedef struct sync_arg {
    int64_t study;
    store_history *h;
} sync_arg;

/* Rows of r (ordered by trial number, first column) belonging to trial number, from *at on. */
static size_t rows_of(const sql_result *r, size_t *at, int64_t number)
{
    while (*at < r->rows && sql_get_int(r, *at, 0) < number)
        (*at)++;
    size_t first = *at;
    while (*at < r->rows && sql_get_int(r, *at, 0) == number)
        (*at)++;
    return *at - first;
}

static caviar_status sync_body(txn *t, void *arg)
{
    sync_arg *a = arg;
    store_history *h = a->h;
    sql_store *s = t->s;
    sql_result *r = &s->res, *rp = &s->res2, *rv = &s->res3, *ra = &s->res4;
    caviar_status st = Q(t, r, "SELECT version, n_params FROM studies WHERE id = $1",
                         sql_int(a->study));
    if (st != CAVIAR_OK)
        return st;
    if (!r->rows)
        return util_err(t->err, CAVIAR_EINVAL, "study %lld does not exist", (long long)a->study);
    int64_t version = sql_get_int(r, 0, 0), n_params = sql_get_int(r, 0, 1);
    if ((uint64_t)version == h->version)
        return CAVIAR_OK;
    if ((size_t)n_params > h->params.n) {
        if ((st = Q(t, r, "SELECT id, name, dist FROM params WHERE study = $1 AND id >= $2"
                          " ORDER BY id",
                    sql_int(a->study), sql_int((int64_t)h->params.n))) != CAVIAR_OK)
            return st;
        for (size_t i = 0; i < r->rows; i++) {
            caviar_dist d;
            size_t id;
            const char *name = sql_get_text(r, i, 1);
            if ((uint64_t)sql_get_int(r, i, 0) != h->params.n || !name)
                return util_err(t->err, CAVIAR_EFORMAT, "study %lld: parameter ids are not "
                                "contiguous in the database", (long long)a->study);
            if ((st = space_dist_decode(sql_get_text(r, i, 2), &d, t->err)) != CAVIAR_OK) {
                util_err_prefix(t->err, "parameter '%s' in the database", name);
                return st;
            }
            st = space_table_add(&h->params, name, &d, &id, t->err);
            space_dist_release(&d);
            if (st != CAVIAR_OK)
                return st;
        }
    }
    sql_val since[] = {sql_int(a->study), sql_int((int64_t)h->version)};
    if ((st = q(t, rp,
                "SELECT p.number, p.param, p.value FROM trial_params p"
                " WHERE p.study = $1 AND p.number IN"
                " (SELECT number FROM trials WHERE study = $1 AND version > $2)"
                " ORDER BY p.number, p.param",
                since, 2)) != CAVIAR_OK ||
        (st = q(t, rv,
                "SELECT v.number, v.step, v.value FROM trial_values v"
                " WHERE v.study = $1 AND v.number IN"
                " (SELECT number FROM trials WHERE study = $1 AND version > $2)"
                " ORDER BY v.number, v.seq",
                since, 2)) != CAVIAR_OK ||
        (st = q(t, ra,
                "SELECT a.number, a.key, a.value FROM trial_attrs a"
                " WHERE a.study = $1 AND a.number IN"
                " (SELECT number FROM trials WHERE study = $1 AND version > $2)"
                " ORDER BY a.number, a.key",
                since, 2)) != CAVIAR_OK ||
        (st = q(t, r,
                "SELECT number, state, value, start_time, end_time, claim, retry_of, retries,"
                " requeued, fail_reason, version FROM trials WHERE study = $1 AND version > $2"
                " ORDER BY number",
                since, 2)) != CAVIAR_OK)
        return st;
    size_t at_p = 0, at_v = 0, at_a = 0;
    for (size_t i = 0; i < r->rows; i++) {
        store_trial tr = {0};
        int64_t number = sql_get_int(r, i, 0);
        int64_t state = sql_get_int(r, i, 1);
        tr.number = (uint64_t)number;
        tr.state = state >= 0 && state <= CAVIAR_TRIAL_FAIL ? (caviar_trial_state)state
                                                            : CAVIAR_TRIAL_FAIL;
        tr.value = sql_get_real(r, i, 2);
        tr.start_time = sql_is_null(r, i, 3) ? 0 : sql_get_real(r, i, 3);
        tr.end_time = sql_is_null(r, i, 4) ? 0 : sql_get_real(r, i, 4);
        tr.has_claim = !sql_is_null(r, i, 5);
        tr.claim = tr.has_claim ? (uint64_t)sql_get_int(r, i, 5) : 0;
        tr.retry_of = sql_is_null(r, i, 6) ? -1 : sql_get_int(r, i, 6);
        tr.retries = (unsigned)sql_get_int(r, i, 7);
        tr.requeued = sql_get_int(r, i, 8) != 0;
        tr.fail_reason = (char *)sql_get_text(r, i, 9); /* borrowed: copied by the put */
        tr.version = (uint64_t)sql_get_int(r, i, 10);
        size_t np = rows_of(rp, &at_p, number);
        for (size_t k = at_p - np; st == CAVIAR_OK && k < at_p; k++)
            st = store_trial_set_value(&tr, (size_t)sql_get_int(rp, k, 1),
                                       sql_get_real(rp, k, 2), t->err);
        size_t nv = rows_of(rv, &at_v, number);
        for (size_t k = at_v - nv; st == CAVIAR_OK && k < at_v; k++)
            st = store_trial_add_report(&tr, sql_get_int(rv, k, 1), sql_get_real(rv, k, 2),
                                        t->err);
        size_t na = rows_of(ra, &at_a, number);
        for (size_t k = at_a - na; st == CAVIAR_OK && k < at_a; k++)
            st = store_trial_set_attr(&tr, sql_get_text(ra, k, 1), sql_get_text(ra, k, 2),
                                      t->err);
        if (st == CAVIAR_OK)
            st = store_history_put(h, &tr, t->err);
        tr.fail_reason = NULL;
        store_trial_release(&tr);
        if (st != CAVIAR_OK)
            return st;
    }
    h->version = (uint64_t)version;
    return CAVIAR_OK;
}

static caviar_status sql_sync(store *base, int64_t study, store_history *h, caviar_error *err)
{
    sync_arg a = {study, h};
    return transaction((sql_store *)base, SQL_READ, NULL, sync_body, &a, err);
}

/* ---- the two back-ends --------------------------------------------------------------------- */

static int sqlite_accepts(const char *url)
{
    return sql_driver_sqlite.accepts(url);
}

static caviar_status sqlite_open(const char *url, store **out, caviar_error *err)
{
    return sql_open_with(&sql_driver_sqlite, &store_sqlite, url, 0, out, err);
}

static caviar_status sqlite_open_read_only(const char *url, store **out, caviar_error *err)
{
    return sql_open_with(&sql_driver_sqlite, &store_sqlite, url, 1, out, err);
}

static int postgres_accepts(const char *url)
{
    return sql_driver_postgres.accepts(url);
}

static caviar_status postgres_open(const char *url, store **out, caviar_error *err)
{
    return sql_open_with(&sql_driver_postgres, &store_postgres, url, 0, out, err);
}

static caviar_status postgres_open_read_only(const char *url, store **out, caviar_error *err)
{
    return sql_open_with(&sql_driver_postgres, &store_postgres, url, 1, out, err);
}

#define SQL_STORE_OPS                                                                           \
    .close = sql_close, .open_study = sql_open_study, .define_study = sql_define_study,         \
    .load_study = sql_load_study, .list_studies = sql_list_studies,                             \
    .delete_study = sql_delete_study,                                                           \
    .add_param = sql_add_param, .enqueue = sql_enqueue, .claim_waiting = sql_claim_waiting,     \
    .create_running = sql_create_running, .set_param = sql_set_param, .report = sql_report,     \
    .set_attr = sql_set_attr, .finish = sql_finish, .get_count = sql_get_count,                 \
    .put_blob = sql_put_blob, .get_blob = sql_get_blob,                                         \
    .heartbeat = sql_heartbeat, .abandon = sql_abandon, .reap = sql_reap, .count = sql_count,   \
    .sync = sql_sync

const store_type store_sqlite = {
    .name = "sqlite", .accepts = sqlite_accepts, .open = sqlite_open,
    .open_read_only = sqlite_open_read_only, SQL_STORE_OPS};

const store_type store_postgres = {
    .name = "postgresql", .accepts = postgres_accepts, .open = postgres_open,
    .open_read_only = postgres_open_read_only, SQL_STORE_OPS};
