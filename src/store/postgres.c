/*
 * postgres.c — the PostgreSQL driver of the SQL store (sql_impl.h), on libpq.
 *
 * A connection is one PGconn, set up for the store: notices dropped (a library prints nothing),
 * client_encoding UTF8 (strings are UTF-8 everywhere in caviar), and extra_float_digits = 3 so
 * that a double printed by the server reads back with the same bits; a read-only one (a
 * dashboard's) also has default_transaction_read_only on, so that the server refuses writes.
 *
 * Statements are prepared once per connection (PQprepare, then PQexecPrepared; cached by the
 * address of their static text, forgotten when the connection is reset), so that the server
 * parses and plans each once. Parameters go as text. Integers are typed int8 and reals
 * float8, so that the server never guesses a narrower type from the context ("$1 + 1" would
 * otherwise be int4);
 * texts and NULLs are untyped, like quoted literals. A NaN real goes as NULL (the contract of
 * sql_impl.h) and infinities as "Infinity" and "-Infinity", which float8 reads. Every result
 * cell comes back as text, or NULL; sql.c's readers convert.
 *
 * Errors. Serialization failures, deadlocks, unique violations (two workers creating the same
 * row) and lock timeouts are transient: sql.c runs the transaction again. So is a lost
 * connection (a server restart, a dropped TCP link): it is reset once, at once, and the
 * transaction is retried on the new one. A connection lost during COMMIT is not transient: the
 * commit may have happened, and running the transaction again could apply it twice.
 *
 * Passwords. Messages show the URL through store_redact(), and any text libpq returns about a
 * connection has the URL's password masked too (libpq quotes a malformed URL's pieces).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sql_impl.h"

#define PG_INT8_OID 20
#define PG_FLOAT8_OID 701

#define PG_PREPARED 128 /* more distinct statements than sql.c has */

struct sql_conn {
    PGconn *pg;
    int read_only;       /* every session: default_transaction_read_only = on */
    char *secrets[2];    /* the URL's password as written and decoded (masked in messages) */
    char shown[512];     /* the URL with its password masked */
    size_t cap;          /* parameter slots below */
    const char **values; /* PQexecParams' arrays */
    Oid *types;
    char (*nums)[32];    /* text of the numeric parameters */
    /* Statements prepared on this connection, by the address of their (static) text: the
     * server parses and plans each once per connection instead of once per call. */
    const char *prepared[PG_PREPARED];
    size_t n_prepared;
};

static int pg_accepts(const char *url)
{
    return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

/* ---- messages ------------------------------------------------------------------------------ */

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The password of a URL as written: after "user:" in "scheme://user:password@host/...", else
 * the value of a "password=" query parameter; NULL when there is none. */
static const char *raw_password(const char *url, size_t *len)
{
    const char *scheme = strstr(url, "://"), *auth = scheme ? scheme + 3 : url, *at = NULL;
    size_t end = strcspn(auth, "/?#");
    for (size_t i = 0; i < end; i++)
        if (auth[i] == '@')
            at = auth + i; /* the last '@' ends the user information, as for libpq */
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon && at > colon + 1) {
        *len = (size_t)(at - colon - 1);
        return colon + 1;
    }
    for (const char *p = strstr(url, "password="); p; p = strstr(p + 1, "password="))
        if ((p[-1] == '?' || p[-1] == '&') && (*len = strcspn(p + 9, "&#")) > 0)
            return p + 9;
    return NULL;
}

/* Keeps the URL's password as written and percent-decoded, the two forms libpq may quote. */
static void keep_secrets(sql_conn *c, const char *url)
{
    size_t len;
    const char *raw = raw_password(url, &len);
    if (!raw)
        return;
    for (int k = 0; k < 2; k++) {
        char *s = malloc(len + 1);
        if (!s)
            return; /* the connection fails for want of memory anyway */
        size_t o = 0;
        for (size_t i = 0; i < len; i++)
            if (k == 1 && raw[i] == '%' && i + 2 < len && hex(raw[i + 1]) >= 0 &&
                hex(raw[i + 2]) >= 0) {
                s[o++] = (char)(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
                i += 2;
            } else {
                s[o++] = raw[i];
            }
        s[o] = '\0';
        c->secrets[k] = s;
    }
}

/* libpq's message (or its first line) into buf (len bytes), without its trailing newline, its
 * continuation lines joined, and every occurrence of the password masked as "***". The whole
 * message is scanned before it is cut to fit, so a cut never leaves part of a password. */
static const char *clean(const sql_conn *c, const char *msg, int first_line, char *buf,
                         size_t len)
{
    size_t o = 0, n[2];
    for (int k = 0; k < 2; k++)
        n[k] = c->secrets[k] ? strlen(c->secrets[k]) : 0;
    for (const char *p = msg ? msg : ""; *p && !(first_line && *p == '\n') && o + 1 < len;) {
        int k = 0;
        while (k < 2 && !(n[k] && strncmp(p, c->secrets[k], n[k]) == 0))
            k++;
        if (k < 2) {
            for (int i = 0; i < 3 && o + 1 < len; i++)
                buf[o++] = '*';
            p += n[k];
        } else if (p[0] == '\n' && p[1] == '\t') { /* libpq's continuation of a line */
            buf[o++] = ' ';
            p += 2;
        } else {
            buf[o++] = *p++;
        }
    }
    while (o && (buf[o - 1] == '\n' || buf[o - 1] == ' '))
        o--;
    buf[o] = '\0';
    return buf;
}

/* ---- connections --------------------------------------------------------------------------- */

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* What every session needs, again after a reset. A read-only connection's transactions are
 * all READ ONLY by default, so that the server refuses a write (SQLSTATE 25006) whatever the
 * statement; it is set after connecting rather than through the options connection parameter,
 * which would replace any options the URL carries. */
static int setup(PGconn *pg, int read_only)
{
    PGresult *res = PQexec(pg, "SET client_min_messages = warning; SET client_encoding = 'UTF8';"
                               " SET extra_float_digits = 3");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok && read_only) {
        res = PQexec(pg, "SET default_transaction_read_only = on");
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    return ok;
}

static void pg_disconnect(sql_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c->secrets[0]);
    free(c->secrets[1]);
    free(c->values);
    free(c->types);
    free(c->nums);
    free(c);
}

static caviar_status pg_connect(const char *url, int read_only, sql_conn **out,
                                caviar_error *err)
{
    char msg[CAVIAR_ERRMSG_LEN / 2];
    sql_conn *c = calloc(1, sizeof *c);
    if (!c)
        return util_err(err, CAVIAR_ENOMEM, "postgresql: cannot connect: out of memory");
    c->read_only = read_only;
    store_redact(url, c->shown, sizeof c->shown);
    keep_secrets(c, url);
    /* The URL (and the PG* environment) decide everything; caviar only names itself. */
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const vals[] = {url, "caviar", NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    caviar_status st = CAVIAR_OK;
    if (!c->pg)
        st = util_err(err, CAVIAR_ENOMEM, "postgresql: cannot connect to '%s': out of memory",
                      c->shown);
    else if (PQstatus(c->pg) != CONNECTION_OK)
        st = util_err(err, CAVIAR_EIO, "postgresql: cannot connect to '%s': %s", c->shown,
                      clean(c, PQerrorMessage(c->pg), 0, msg, sizeof msg));
    else if (PQserverVersion(c->pg) < 90500)
        st = util_err(err, CAVIAR_EMISSING,
                      "postgresql: '%s' runs PostgreSQL %d.%d; caviar needs 9.5 or later "
                      "(ON CONFLICT, SKIP LOCKED)", c->shown, PQserverVersion(c->pg) / 10000,
                      PQserverVersion(c->pg) / 100 % 100);
    else {
        PQsetNoticeProcessor(c->pg, quiet, NULL);
        if (!setup(c->pg, c->read_only))
            st = util_err(err, CAVIAR_EIO, "postgresql: cannot set up the session on '%s': %s",
                          c->shown, clean(c, PQerrorMessage(c->pg), 0, msg, sizeof msg));
    }
    if (st != CAVIAR_OK) {
        pg_disconnect(c);
        return st;
    }
    *out = c;
    return CAVIAR_OK;
}

/* After the connection was lost: one attempt at a new one, set up like the first. */
static int reconnect(sql_conn *c)
{
    PQreset(c->pg);
    c->n_prepared = 0; /* a new session: nothing is prepared there */
    return PQstatus(c->pg) == CONNECTION_OK && setup(c->pg, c->read_only);
}

/* ---- statements ---------------------------------------------------------------------------- */

typedef enum run_kind { RUN_BEGIN, RUN_STATEMENT, RUN_COMMIT } run_kind;

/* The start of a statement, for messages: its first 60 bytes. */
static const char *excerpt(const char *sql, char *buf, size_t len)
{
    size_t n = strlen(sql);
    snprintf(buf, len, "%.60s%s", sql, n > 60 ? "..." : "");
    return buf;
}

static int is_transient(const char *state)
{
    static const char *const codes[] = {"40001", "40P01", "23505", "55P03", NULL};
    for (int i = 0; state && codes[i]; i++)
        if (strcmp(state, codes[i]) == 0)
            return 1;
    return 0;
}

static caviar_status set_params(sql_conn *c, const sql_val *params, size_t n, caviar_error *err)
{
    if (n > c->cap) {
        const char **values = realloc(c->values, n * sizeof *values);
        if (values)
            c->values = values;
        Oid *types = realloc(c->types, n * sizeof *types);
        if (types)
            c->types = types;
        char(*nums)[32] = realloc(c->nums, n * sizeof *nums);
        if (nums)
            c->nums = nums;
        if (!values || !types || !nums)
            return util_err(err, CAVIAR_ENOMEM, "postgresql: out of memory");
        c->cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        const sql_val *p = &params[i];
        c->values[i] = NULL;
        c->types[i] = 0;
        if (p->type == SQL_INT) {
            snprintf(c->nums[i], sizeof c->nums[i], "%lld", (long long)p->i);
            c->values[i] = c->nums[i];
            c->types[i] = PG_INT8_OID;
        } else if (p->type == SQL_REAL) {
            if (isinf(p->r))
                c->values[i] = p->r > 0 ? "Infinity" : "-Infinity";
            else if (!isnan(p->r)) {
                snprintf(c->nums[i], sizeof c->nums[i], "%.17g", p->r);
                c->values[i] = c->nums[i];
            }
            c->types[i] = PG_FLOAT8_OID;
        } else if (p->type == SQL_TEXT) {
            c->values[i] = p->s;
        }
    }
    return CAVIAR_OK;
}

static caviar_status take_rows(const PGresult *res, sql_result *out, caviar_error *err)
{
    size_t rows = (size_t)PQntuples(res), cols = (size_t)PQnfields(res);
    if (sql_result_shape(out, rows, cols) != 0)
        return util_err(err, CAVIAR_ENOMEM, "postgresql: cannot keep %zu rows: out of memory",
                        rows);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            if (PQgetisnull(res, (int)i, (int)j))
                continue; /* shaped as NULL */
            const char *s = sql_result_keep(out, PQgetvalue(res, (int)i, (int)j),
                                            (size_t)PQgetlength(res, (int)i, (int)j));
            if (!s)
                return util_err(err, CAVIAR_ENOMEM,
                                "postgresql: cannot keep %zu rows: out of memory", rows);
            out->cells[i * cols + j] = sql_text(s);
        }
    return CAVIAR_OK;
}

/* Runs one statement; see the top of the file for what is transient. */
static caviar_status run(sql_conn *c, run_kind kind, const char *sql, const sql_val *params,
                         size_t n, sql_result *out, int *transient, caviar_error *err)
{
    char what[80], msg[CAVIAR_ERRMSG_LEN / 2];
    excerpt(sql, what, sizeof what);
    *transient = 0;
    if (out)
        sql_result_clear(out);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        /* Lost earlier. A transaction can start on a new connection; one under way is gone. */
        *transient = 1;
        if (!reconnect(c))
            return util_err(err, CAVIAR_EIO, "postgresql: cannot run '%s': the connection to "
                            "'%s' was lost and cannot be reopened: %s", what, c->shown,
                            clean(c, PQerrorMessage(c->pg), 0, msg, sizeof msg));
        if (kind != RUN_BEGIN)
            return util_err(err, CAVIAR_EIO, "postgresql: cannot run '%s': the connection to "
                            "'%s' was lost; reconnected", what, c->shown);
        *transient = 0;
    }
    caviar_status st = set_params(c, params, n, err);
    if (st != CAVIAR_OK)
        return st;
    PGresult *res;
    size_t slot = 0;
    while (slot < c->n_prepared && c->prepared[slot] != sql)
        slot++;
    char name[16];
    snprintf(name, sizeof name, "caviar%zu", slot);
    if (kind == RUN_STATEMENT && slot == c->n_prepared && slot < PG_PREPARED) {
        /* The types of this first call's parameters become the statement's; a NULL's is
         * left for the server to infer, which later calls' values of any type then follow. */
        res = PQprepare(c->pg, name, sql, (int)n, c->types);
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            c->prepared[c->n_prepared++] = sql;
            PQclear(res);
            res = PQexecPrepared(c->pg, name, (int)n, c->values, NULL, NULL, 0);
        }
    } else if (kind == RUN_STATEMENT && slot < c->n_prepared) {
        res = PQexecPrepared(c->pg, name, (int)n, c->values, NULL, NULL, 0);
    } else {
        res = PQexecParams(c->pg, sql, (int)n, c->types, c->values, NULL, NULL, 0);
    }
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        if (kind == RUN_COMMIT && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
            st = util_err(err, CAVIAR_EIO, "postgresql: cannot commit on '%s': the transaction "
                          "had failed and was rolled back", c->shown);
        else if (out && status == PGRES_TUPLES_OK)
            st = take_rows(res, out, err);
        PQclear(res);
        return st;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        /* The first line is the news: "server closed the connection unexpectedly". */
        clean(c, res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg), 1, msg, sizeof msg);
        PQclear(res);
        int back = reconnect(c);
        if (kind == RUN_COMMIT)
            return util_err(err, CAVIAR_EIO, "postgresql: the connection to '%s' was lost "
                            "during COMMIT: %s\nhint: the transaction may or may not have been "
                            "committed", c->shown, msg);
        *transient = 1;
        return util_err(err, CAVIAR_EIO, "postgresql: cannot run '%s': the connection to '%s' "
                        "was lost (%s); %s", what, c->shown, msg,
                        back ? "reconnected" : "cannot reconnect");
    }
    if (!res) /* libpq could not even build a result */
        return util_err(err, CAVIAR_ENOMEM, "postgresql: cannot run '%s': %s", what,
                        clean(c, PQerrorMessage(c->pg), 0, msg, sizeof msg));
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    *transient = is_transient(state);
    st = util_err(err, CAVIAR_EIO, "postgresql: cannot run '%s': %s (SQLSTATE %s)%s%s", what,
                  clean(c, primary ? primary : PQresultErrorMessage(res), 0, msg, sizeof msg),
                  state ? state : "unknown", hint ? "\nhint: " : "", hint ? hint : "");
    PQclear(res);
    return st;
}

static caviar_status pg_begin(sql_conn *c, sql_txn kind, int *transient, caviar_error *err)
{
    /* Reads see one snapshot; writes run in READ COMMITTED and take row locks themselves. */
    return run(c, RUN_BEGIN,
               kind == SQL_READ ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
               NULL, 0, NULL, transient, err);
}

static caviar_status pg_commit(sql_conn *c, int *transient, caviar_error *err)
{
    return run(c, RUN_COMMIT, "COMMIT", NULL, 0, NULL, transient, err);
}

static void pg_rollback(sql_conn *c)
{
    /* Harmless when there is no transaction (a warning, dropped); nothing to do when the
     * connection is gone: the server rolled back, and the next begin reconnects. */
    if (PQstatus(c->pg) == CONNECTION_OK)
        PQclear(PQexec(c->pg, "ROLLBACK"));
}

static caviar_status pg_exec(sql_conn *c, const char *sql, const sql_val *params, size_t n,
                             sql_result *out, int *transient, caviar_error *err)
{
    return run(c, RUN_STATEMENT, sql, params, n, out, transient, err);
}

const sql_driver sql_driver_postgres = {
    .name = "postgresql",
    .row_locks = 1,
    .accepts = pg_accepts,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
};
