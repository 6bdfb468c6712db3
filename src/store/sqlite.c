/*
 * sqlite.c — the SQLite driver of the SQL back-end (sql_impl.h): the embedded default, one file
 * shared by the worker processes of one machine.
 *
 * Storage strings: "sqlite:PATH"; SQLAlchemy's "sqlite:///relative.db" and
 * "sqlite:////absolute.db" (so that an Optuna user's URL works); "file:..." URIs as SQLite
 * reads them; or a plain path ending in .db, .sqlite or .sqlite3.
 *
 * Concurrency. The database is in WAL mode: readers never block the writer nor each other, and
 * every write transaction starts with BEGIN IMMEDIATE, which takes the write lock at once, so
 * that two writers queue on the lock instead of deadlocking on an upgrade. A connection waits
 * up to 5 s for the lock, polling it every 50 to 500 microseconds (lite_busy: SQLite's own
 * busy timeout sleeps up to 100 ms between tries, long after a transaction of a few hundred
 * microseconds has let go of the lock); past that, SQLITE_BUSY is reported transient and sql.c
 * runs the transaction again, so a busy database delays workers but never fails them.
 * synchronous=NORMAL: in WAL mode a transaction survives the death of its process (the kill -9
 * of a worker); only a power cut may lose the last ones, never corrupt the file. WAL needs a
 * local file system (not NFS): use PostgreSQL to share a study between machines.
 *
 * Statements are prepared once per connection and cached by the address of their (static)
 * text; "$N" parameters are rewritten to SQLite's "?N".
 *
 * Read-only connections (a dashboard) open an existing file with SQLITE_OPEN_READONLY: SQLite
 * itself refuses every write, and a missing file is not created. They still use a WAL
 * database's -wal and -shm files to read it consistently while workers write: when the last
 * writer has closed (and removed them), SQLite creates them, empty, beside the database and
 * leaves them there (the directory must be writable then); the database file is never written.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "sql_impl.h"

#define LITE_BUSY_SECONDS 5.0
#define LITE_CACHE 64

typedef struct lite_cached {
    const char *sql; /* the caller's static text: the key */
    sqlite3_stmt *stmt;
} lite_cached;

struct sql_conn {
    sqlite3 *db;
    double busy_since; /* when the current wait for the lock began */
    uint64_t jitter;
    char path[512]; /* for messages */
    lite_cached cache[LITE_CACHE];
    size_t n_cache, next_evict;
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int lite_accepts(const char *url)
{
    if (!url || !*url)
        return 0;
    if (strncmp(url, "sqlite:", 7) == 0 || strncmp(url, "file:", 5) == 0)
        return 1;
    if (strstr(url, "://"))
        return 0;
    return has_suffix(url, ".db") || has_suffix(url, ".sqlite") || has_suffix(url, ".sqlite3");
}

/* The file name SQLite opens for a storage string. */
static const char *lite_path(const char *url)
{
    if (strncmp(url, "sqlite:", 7) != 0)
        return url;
    const char *p = url + 7;
    if (strncmp(p, "//", 2) == 0) { /* SQLAlchemy: sqlite:///rel.db, sqlite:////abs.db */
        p += 2;
        if (*p == '/')
            p++;
    }
    return p;
}

static caviar_status lite_error(sql_conn *c, int rc, const char *what, int *transient,
                                caviar_error *err)
{
    int primary = rc & 0xff;
    if (transient)
        *transient = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    return util_err(err, primary == SQLITE_NOMEM ? CAVIAR_ENOMEM : CAVIAR_EIO,
                    "sqlite: %s in '%s': %s", what, c->path,
                    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
}

static void lite_disconnect(sql_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_cache; i++)
        sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* SQLite's busy handler: n is how many times it was called for this wait. */
static int lite_busy(void *arg, int n)
{
    sql_conn *c = arg;
    double now = mono_now();
    if (n == 0)
        c->busy_since = now;
    if (now - c->busy_since > LITE_BUSY_SECONDS)
        return 0; /* give up: SQLITE_BUSY, which sql.c retries as a whole */
    c->jitter = c->jitter * 6364136223846793005ULL + 1442695040888963407ULL;
    long us = 50 + (long)((c->jitter >> 33) % (n < 20 ? 100 : 450));
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

static caviar_status lite_simple(sql_conn *c, const char *sql, int *transient, caviar_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    return rc == SQLITE_OK ? CAVIAR_OK : lite_error(c, rc, sql, transient, err);
}

static caviar_status lite_connect(const char *url, int read_only, sql_conn **out,
                                  caviar_error *err)
{
    sql_conn *c = calloc(1, sizeof *c);
    if (!c)
        return util_err(err, CAVIAR_ENOMEM, "sqlite: cannot open '%s': out of memory", url);
    const char *path = lite_path(url);
    snprintf(c->path, sizeof c->path, "%s", path);
    if (!*path) {
        free(c);
        return util_err(err, CAVIAR_EINVAL, "sqlite: '%s' names no file\nhint: sqlite:PATH, "
                        "e.g. sqlite:caviar.db", url);
    }
    int uri = strncmp(path, "file:", 5) == 0;
    int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0);
    /* A read-only open of a missing file fails in SQLite too, but only as "unable to open
     * database file"; a plain path is checked first to say what is wrong. */
    struct stat sb;
    if (read_only && !uri && stat(path, &sb) != 0 && errno == ENOENT) {
        caviar_status st = util_err(err, CAVIAR_EMISSING, "sqlite: cannot open '%s' read-only: "
                                    "there is no such file", c->path);
        free(c);
        return st;
    }
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    caviar_status st = CAVIAR_OK;
    if (rc != SQLITE_OK) {
        st = util_err(err, CAVIAR_EIO, "sqlite: cannot open '%s'%s: %s", c->path,
                      read_only ? " read-only" : "",
                      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    } else {
        c->jitter = (uint64_t)(uintptr_t)c ^ (uint64_t)(mono_now() * 1e9);
        sqlite3_busy_handler(c->db, lite_busy, c);
        sqlite3_extended_result_codes(c->db, 1);
        /* journal_mode=WAL needs the write lock once, when the file is new: the busy timeout
         * covers workers starting together. A read-only connection leaves the file as it is
         * (a database caviar wrote is in WAL mode already), and synchronous only matters to
         * writers. */
        int transient = 0;
        if (!read_only) {
            st = lite_simple(c, "PRAGMA journal_mode = WAL", &transient, err);
            if (st == CAVIAR_OK)
                st = lite_simple(c, "PRAGMA synchronous = NORMAL", &transient, err);
        }
        if (st == CAVIAR_OK)
            st = lite_simple(c, "PRAGMA foreign_keys = OFF", &transient, err);
    }
    if (st != CAVIAR_OK) {
        lite_disconnect(c);
        return st;
    }
    *out = c;
    return CAVIAR_OK;
}

static caviar_status lite_begin(sql_conn *c, sql_txn kind, int *transient, caviar_error *err)
{
    return lite_simple(c, kind == SQL_WRITE ? "BEGIN IMMEDIATE" : "BEGIN", transient, err);
}

static caviar_status lite_commit(sql_conn *c, int *transient, caviar_error *err)
{
    return lite_simple(c, "COMMIT", transient, err);
}

static void lite_rollback(sql_conn *c)
{
    if (!sqlite3_get_autocommit(c->db)) {
        char *msg = NULL;
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, &msg);
        sqlite3_free(msg);
    }
}

/* The cached statement for sql, prepared on first use. */
static sqlite3_stmt *lite_prepare(sql_conn *c, const char *sql, int *rc)
{
    for (size_t i = 0; i < c->n_cache; i++)
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].stmt);
            sqlite3_clear_bindings(c->cache[i].stmt);
            return c->cache[i].stmt;
        }
    size_t len = strlen(sql);
    char *text = malloc(len + 1);
    if (!text) {
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i <= len; i++)
        text[i] = sql[i] == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9' ? '?' : sql[i];
    sqlite3_stmt *stmt = NULL;
    *rc = sqlite3_prepare_v2(c->db, text, (int)len, &stmt, NULL);
    free(text);
    if (*rc != SQLITE_OK)
        return NULL;
    size_t at = c->n_cache < LITE_CACHE ? c->n_cache++ : c->next_evict++ % LITE_CACHE;
    if (c->cache[at].stmt)
        sqlite3_finalize(c->cache[at].stmt);
    c->cache[at] = (lite_cached){sql, stmt};
    return stmt;
}

static caviar_status lite_exec(sql_conn *c, const char *sql, const sql_val *params, size_t n,
                               sql_result *out, int *transient, caviar_error *err)
{
    if (out)
        sql_result_clear(out);
    int rc = SQLITE_OK;
    sqlite3_stmt *stmt = lite_prepare(c, sql, &rc);
    if (!stmt)
        return lite_error(c, rc, "preparing a statement", transient, err);
    for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
        int at = (int)i + 1;
        switch (params[i].type) {
        case SQL_NULL: rc = sqlite3_bind_null(stmt, at); break;
        case SQL_INT: rc = sqlite3_bind_int64(stmt, at, params[i].i); break;
        case SQL_REAL: rc = sqlite3_bind_double(stmt, at, params[i].r); break;
        case SQL_TEXT: rc = sqlite3_bind_text(stmt, at, params[i].s, -1, SQLITE_STATIC); break;
        }
    }
    if (rc != SQLITE_OK)
        return lite_error(c, rc, "binding a parameter", transient, err);
    int cols = sqlite3_column_count(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (!out)
            continue;
        sql_val *row = sql_result_add_row(out, (size_t)cols);
        if (!row) {
            sqlite3_reset(stmt);
            return util_err(err, CAVIAR_ENOMEM, "sqlite: out of memory reading '%s'", c->path);
        }
        for (int k = 0; k < cols; k++) {
            switch (sqlite3_column_type(stmt, k)) {
            case SQLITE_INTEGER: row[k] = sql_int(sqlite3_column_int64(stmt, k)); break;
            case SQLITE_FLOAT: row[k] = sql_real(sqlite3_column_double(stmt, k)); break;
            case SQLITE_NULL: break;
            default: {
                const char *text = (const char *)sqlite3_column_text(stmt, k);
                const char *kept =
                    text ? sql_result_keep(out, text, (size_t)sqlite3_column_bytes(stmt, k))
                         : NULL;
                if (!kept) {
                    sqlite3_reset(stmt);
                    return util_err(err, CAVIAR_ENOMEM, "sqlite: out of memory reading '%s'",
                                    c->path);
                }
                row[k] = sql_text(kept);
            }
            }
        }
    }
    /* The statement stays prepared in the cache; resetting it releases its read lock. */
    int reset = sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return lite_error(c, reset != SQLITE_OK ? reset : rc, "running a statement", transient,
                          err);
    return CAVIAR_OK;
}

const sql_driver sql_driver_sqlite = {
    .name = "sqlite",
    .row_locks = 0,
    .accepts = lite_accepts,
    .connect = lite_connect,
    .disconnect = lite_disconnect,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .exec = lite_exec,
};
