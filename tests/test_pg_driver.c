/*
 * test_pg_driver.c — the PostgreSQL driver alone (sql_driver_postgres), against the server in
 * $CAVIAR_TEST_PG_URL (ctest starts a throwaway one with tests/pg_server.sh; without the
 * variable every test is skipped): values round-trip exactly (integers, the bits of doubles,
 * NaN as NULL, infinities, texts with quotes, newlines and Unicode, NULLs), results have the
 * right shape, errors are transient or not as sql.c needs, SQLSTATEs are in the messages,
 * passwords never are, a lost connection comes back, the server's notices stay quiet, and a
 * read-only connection cannot write.
 */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/sql_impl.h"

static const sql_driver *const drv = &sql_driver_postgres;

typedef struct fixture {
    sql_conn *conn;
    sql_result res;
} fixture;

static int setup(void **state)
{
    static fixture f;
    *state = &f;
    sql_result_init(&f.res);
    const char *url = getenv("CAVIAR_TEST_PG_URL");
    if (!url || !*url)
        return 0; /* each test skips */
    caviar_error err = {0};
    if (drv->connect(url, 0, &f.conn, &err) != CAVIAR_OK) {
        fprintf(stderr, "cannot connect: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->conn)
        drv->disconnect(f->conn);
    sql_result_free(&f->res);
    return 0;
}

static fixture *need_server(void **state)
{
    fixture *f = *state;
    if (!f->conn)
        skip();
    return f;
}

/* Runs a statement that must succeed. */
static void ok(fixture *f, const char *sql, const sql_val *params, size_t n, sql_result *out)
{
    caviar_error err = {0};
    int transient = -1;
    if (drv->exec(f->conn, sql, params, n, out, &transient, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(transient, 0);
}

#define OK(f, out, sql, ...)                                                                    \
    ok((f), (sql), (const sql_val[]){__VA_ARGS__},                                              \
       sizeof((const sql_val[]){__VA_ARGS__}) / sizeof(sql_val), (out))

/* Runs a statement that must fail; returns whether the failure was transient. */
static int fails(sql_conn *c, const char *sql, const sql_val *params, size_t n, caviar_error *err)
{
    int transient = -1;
    assert_int_not_equal(drv->exec(c, sql, params, n, NULL, &transient, err), CAVIAR_OK);
    assert_true(transient == 0 || transient == 1);
    assert_true(strncmp(err->msg, "postgresql: ", 12) == 0);
    return transient;
}

static void test_accepts(void **state)
{
    (void)state;
    assert_true(drv->accepts("postgresql://host/db"));
    assert_true(drv->accepts("postgres://u:p@host:5432/db?sslmode=require"));
    assert_false(drv->accepts("postgresql:host=x"));
    assert_false(drv->accepts("sqlite:study.db"));
    assert_false(drv->accepts("study.db"));
    assert_false(drv->accepts(NULL));
    assert_string_equal(drv->name, "postgresql");
    assert_int_equal(drv->row_locks, 1);
}

static void test_integers(void **state)
{
    fixture *f = need_server(state);
    const int64_t v[] = {0, 1, -1, INT32_MAX + 1LL, (1LL << 53) + 1, INT64_MAX, INT64_MIN};
    const size_t n = sizeof v / sizeof v[0];
    ok(f, "CREATE TEMP TABLE ints (k BIGINT PRIMARY KEY, i BIGINT)", NULL, 0, NULL);
    for (size_t k = 0; k < n; k++) {
        OK(f, NULL, "INSERT INTO ints (k, i) VALUES ($1, $2)", sql_int((int64_t)k), sql_int(v[k]));
        /* A typed parameter keeps its width in arithmetic ("$1 + 0" is not int4). */
        OK(f, &f->res, "SELECT $1, $1 - 0", sql_int(v[k]));
        assert_true(sql_get_int(&f->res, 0, 0) == v[k]);
        assert_true(sql_get_int(&f->res, 0, 1) == v[k]);
    }
    ok(f, "SELECT i FROM ints ORDER BY k", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, n);
    for (size_t k = 0; k < n; k++)
        assert_true(sql_get_int(&f->res, k, 0) == v[k]);
    ok(f, "DROP TABLE ints", NULL, 0, NULL);
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void test_reals(void **state)
{
    fixture *f = need_server(state);
    const double v[] = {0.1,     1.0 / 3,     -0.0,    5e-324,  -2.5e-308,         DBL_MIN,
                        DBL_MAX, -DBL_MAX,    1e300,   1e-5,    3.141592653589793, 2.0 / 3e7,
                        123456789.123456789,  nextafter(1.0, 2.0), INFINITY,  -INFINITY};
    const size_t n = sizeof v / sizeof v[0];
    ok(f, "CREATE TEMP TABLE reals (k BIGINT PRIMARY KEY, r DOUBLE PRECISION)", NULL, 0, NULL);
    for (size_t k = 0; k < n; k++) {
        OK(f, NULL, "INSERT INTO reals (k, r) VALUES ($1, $2)", sql_int((int64_t)k),
           sql_real(v[k]));
        OK(f, &f->res, "SELECT $1, $1 * 1", sql_real(v[k]));
        assert_true(same_bits(sql_get_real(&f->res, 0, 0), v[k]));
        assert_true(same_bits(sql_get_real(&f->res, 0, 1), v[k]));
    }
    ok(f, "SELECT r FROM reals ORDER BY k", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, n);
    for (size_t k = 0; k < n; k++)
        if (!same_bits(sql_get_real(&f->res, k, 0), v[k]))
            fail_msg("%.17g came back as %s", v[k], sql_get_text(&f->res, k, 0));
    /* The server spells the infinities this way; the reader takes them. */
    assert_string_equal(sql_get_text(&f->res, n - 2, 0), "Infinity");
    assert_string_equal(sql_get_text(&f->res, n - 1, 0), "-Infinity");

    /* NaN is stored as NULL and a NULL real reads as NaN; a NaN the server made reads as NaN. */
    OK(f, NULL, "INSERT INTO reals (k, r) VALUES ($1, $2)", sql_int(100), sql_real(NAN));
    OK(f, &f->res, "SELECT r, r IS NULL, 'NaN'::float8 FROM reals WHERE k = $1", sql_int(100));
    assert_true(sql_is_null(&f->res, 0, 0));
    assert_true(isnan(sql_get_real(&f->res, 0, 0)));
    assert_string_equal(sql_get_text(&f->res, 0, 1), "t");
    assert_string_equal(sql_get_text(&f->res, 0, 2), "NaN");
    assert_true(isnan(sql_get_real(&f->res, 0, 2)));
    ok(f, "DROP TABLE reals", NULL, 0, NULL);
}

static void test_texts_and_nulls(void **state)
{
    fixture *f = need_server(state);
    static char big[100001];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + i % 26);
    const char *v[] = {"plain",
                       "it's",
                       "a \"quoted\" word",
                       "line 1\nline 2\r\n\ttabbed",
                       "back\\slash \\x41 \\\\",
                       "ünïcødé — ✓ 🐼 漢字",
                       "",
                       "$1 ? %s",
                       "'); DROP TABLE texts; --",
                       big};
    const size_t n = sizeof v / sizeof v[0];
    ok(f, "CREATE TEMP TABLE texts (k BIGINT PRIMARY KEY, s TEXT, i BIGINT, r DOUBLE PRECISION)",
       NULL, 0, NULL);
    for (size_t k = 0; k < n; k++)
        OK(f, NULL, "INSERT INTO texts (k, s) VALUES ($1, $2)", sql_int((int64_t)k),
           sql_text(v[k]));
    OK(f, NULL, "INSERT INTO texts (k, s, i, r) VALUES ($1, $2, $3, $4)", sql_int(100),
       sql_text(NULL), sql_null(), sql_null());
    ok(f, "SELECT s, i, r FROM texts ORDER BY k", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, n + 1);
    assert_int_equal(f->res.cols, 3);
    for (size_t k = 0; k < n; k++) {
        assert_false(sql_is_null(&f->res, k, 0));
        assert_string_equal(sql_get_text(&f->res, k, 0), v[k]);
        assert_true(sql_is_null(&f->res, k, 1)); /* never set */
    }
    for (size_t j = 0; j < 3; j++)
        assert_true(sql_is_null(&f->res, n, j));
    assert_null(sql_get_text(&f->res, n, 0));
    assert_true(sql_get_int(&f->res, n, 1) == 0);
    assert_true(isnan(sql_get_real(&f->res, n, 2)));
    /* An untyped text parameter takes its type from the context, like a quoted literal. */
    OK(f, &f->res, "SELECT k FROM texts WHERE k = $1::bigint AND s = $2", sql_text("1"),
       sql_text("it's"));
    assert_int_equal(f->res.rows, 1);
    ok(f, "DROP TABLE texts", NULL, 0, NULL);
}

static void test_result_shapes(void **state)
{
    fixture *f = need_server(state);
    ok(f, "SELECT 1, 'two', NULL", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, 1);
    assert_int_equal(f->res.cols, 3);
    ok(f, "SELECT g, g * g FROM generate_series(1, 1000) AS g", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, 1000);
    assert_int_equal(f->res.cols, 2);
    assert_true(sql_get_int(&f->res, 999, 1) == 1000000);
    /* No rows: the result is cleared, whatever it held. */
    ok(f, "SELECT 1 WHERE false", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, 0);
    /* A command leaves no rows; rows may be thrown away (out = NULL). */
    ok(f, "SELECT 1", NULL, 0, NULL);
    ok(f, "CREATE TEMP TABLE shapes (k BIGINT)", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, 0);
    ok(f, "INSERT INTO shapes VALUES (1), (2) RETURNING k", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, 2);
    ok(f, "DROP TABLE shapes", NULL, 0, NULL);
}

static void test_transactions(void **state)
{
    fixture *f = need_server(state);
    caviar_error err = {0};
    int transient = -1;
    /* Not a temporary table: a read-only transaction may write those. */
    ok(f, "DROP TABLE IF EXISTS test_pg_driver_tx", NULL, 0, NULL);
    ok(f, "CREATE TABLE test_pg_driver_tx (k BIGINT)", NULL, 0, NULL);
    /* A write transaction commits; a rolled-back one leaves nothing. */
    assert_int_equal(drv->begin(f->conn, SQL_WRITE, &transient, &err), CAVIAR_OK);
    OK(f, NULL, "INSERT INTO test_pg_driver_tx VALUES ($1)", sql_int(1));
    assert_int_equal(drv->commit(f->conn, &transient, &err), CAVIAR_OK);
    assert_int_equal(drv->begin(f->conn, SQL_WRITE, &transient, &err), CAVIAR_OK);
    OK(f, NULL, "INSERT INTO test_pg_driver_tx VALUES ($1)", sql_int(2));
    drv->rollback(f->conn);
    ok(f, "SELECT k FROM test_pg_driver_tx", NULL, 0, &f->res);
    assert_int_equal(f->res.rows, 1);
    /* A read transaction is a snapshot and refuses writes, for good (not transient). */
    assert_int_equal(drv->begin(f->conn, SQL_READ, &transient, &err), CAVIAR_OK);
    ok(f, "SHOW transaction_isolation", NULL, 0, &f->res);
    assert_string_equal(sql_get_text(&f->res, 0, 0), "repeatable read");
    const sql_val one[] = {sql_int(1)};
    assert_int_equal(fails(f->conn, "INSERT INTO test_pg_driver_tx VALUES ($1)", one, 1, &err), 0);
    assert_non_null(strstr(err.msg, "SQLSTATE 25006"));
    drv->rollback(f->conn);
    /* A rollback outside a transaction is harmless. */
    drv->rollback(f->conn);
    ok(f, "DROP TABLE test_pg_driver_tx", NULL, 0, NULL);
}

static void test_errors(void **state)
{
    fixture *f = need_server(state);
    caviar_error err = {0};
    int transient = -1;
    /* Two workers creating the same row: a unique violation, worth running again. */
    ok(f, "CREATE TEMP TABLE uniq (name TEXT PRIMARY KEY)", NULL, 0, NULL);
    const sql_val name[] = {sql_text("mnist")};
    ok(f, "INSERT INTO uniq VALUES ($1)", name, 1, NULL);
    assert_int_equal(drv->begin(f->conn, SQL_WRITE, &transient, &err), CAVIAR_OK);
    assert_int_equal(fails(f->conn, "INSERT INTO uniq VALUES ($1)", name, 1, &err), 1);
    assert_non_null(strstr(err.msg, "SQLSTATE 23505"));
    assert_non_null(strstr(err.msg, "INSERT INTO uniq"));
    drv->rollback(f->conn);
    /* A syntax error is for good, with its SQLSTATE. */
    assert_int_equal(fails(f->conn, "SELEC 1", NULL, 0, &err), 0);
    assert_non_null(strstr(err.msg, "SQLSTATE 42601"));
    assert_non_null(strstr(err.msg, "'SELEC 1'"));
    assert_null(strchr(err.msg + strlen(err.msg) - 1, '\n'));
    /* So is a missing table, with its SQLSTATE. */
    assert_int_equal(fails(f->conn, "SELECT * FROM no_such_table", NULL, 0, &err), 0);
    assert_non_null(strstr(err.msg, "SQLSTATE 42P01"));
    /* The connection is still good. */
    ok(f, "SELECT 1", NULL, 0, NULL);
    ok(f, "DROP TABLE uniq", NULL, 0, NULL);
}

/* The test URL with its user information replaced by userinfo ("user:password") and a query
 * parameter added ("password=..." or ""). */
static void with_user(char *buf, size_t len, const char *userinfo, const char *query_param)
{
    const char *url = getenv("CAVIAR_TEST_PG_URL");
    const char *auth = strstr(url, "://") + 3;
    size_t end = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', end);
    const char *rest = at ? at + 1 : auth;
    snprintf(buf, len, "postgresql://%s@%s%s%s", userinfo, rest,
             !*query_param ? "" : strchr(rest, '?') ? "&" : "?", query_param);
}

static void connect_fails_without(const char *url, const char *secret)
{
    caviar_error err = {0};
    sql_conn *c = NULL;
    assert_int_not_equal(drv->connect(url, 0, &c, &err), CAVIAR_OK);
    assert_null(c);
    if (strstr(err.msg, secret))
        fail_msg("the password shows in: %s", err.msg);
    assert_true(strncmp(err.msg, "postgresql: cannot connect to '", 31) == 0);
    assert_null(strchr(err.msg + strlen(err.msg) - 1, '\n'));
}

static void test_passwords(void **state)
{
    need_server(state);
    char url[1024];
    /* A wrong password, refused by the server (the test server asks caviar_pw for one). */
    with_user(url, sizeof url, "caviar_pw:Wr0ngSecret", "");
    connect_fails_without(url, "Wr0ngSecret");
    /* A malformed one, which libpq quotes back in its message. */
    with_user(url, sizeof url, "caviar_pw:Wr0ng%zzSecret", "");
    connect_fails_without(url, "Wr0ng");
    connect_fails_without(url, "Secret");
    /* A percent-encoded one, decoded by libpq. */
    with_user(url, sizeof url, "caviar_pw:Wr0ng%40Secret", "");
    connect_fails_without(url, "Wr0ng@Secret");
    connect_fails_without(url, "Wr0ng%40Secret");
    /* One in the query string. */
    with_user(url, sizeof url, "caviar_pw", "password=Wr0ngSecret");
    connect_fails_without(url, "Wr0ngSecret");
    /* The right one works. */
    with_user(url, sizeof url, "caviar_pw:right", "");
    caviar_error err = {0};
    sql_conn *c = NULL;
    if (drv->connect(url, 0, &c, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    drv->disconnect(c);
}

/* Terminates c's server process from another connection and waits until it is gone. */
static void kill_backend(fixture *f, sql_conn *c)
{
    caviar_error err = {0};
    int transient;
    sql_conn *other = NULL;
    if (drv->connect(getenv("CAVIAR_TEST_PG_URL"), 0, &other, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(drv->exec(c, "SELECT pg_backend_pid()", NULL, 0, &f->res, &transient, &err),
                     CAVIAR_OK);
    const sql_val pid[] = {sql_int(sql_get_int(&f->res, 0, 0))};
    assert_int_equal(drv->exec(other, "SELECT pg_terminate_backend($1::integer)", pid, 1,
                               &f->res, &transient, &err), CAVIAR_OK);
    for (int tries = 0;; tries++) {
        assert_int_equal(drv->exec(other, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                   pid, 1, &f->res, &transient, &err), CAVIAR_OK);
        if (sql_get_int(&f->res, 0, 0) == 0)
            break;
        assert_true(tries < 500);
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    drv->disconnect(other);
}

static void test_lost_connection(void **state)
{
    fixture *f = need_server(state);
    caviar_error err = {0};
    int transient = -1;
    sql_conn *c = NULL;
    if (drv->connect(getenv("CAVIAR_TEST_PG_URL"), 0, &c, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);

    /* In the middle of a transaction: transient, and the connection is back, set up again. */
    assert_int_equal(drv->begin(c, SQL_WRITE, &transient, &err), CAVIAR_OK);
    kill_backend(f, c);
    assert_int_equal(fails(c, "SELECT 1", NULL, 0, &err), 1);
    assert_non_null(strstr(err.msg, "' was lost ("));
    assert_non_null(strstr(err.msg, "); reconnected"));
    assert_null(strchr(err.msg, '\n')); /* libpq's first line only */
    drv->rollback(c);
    assert_int_equal(drv->exec(c, "SHOW extra_float_digits", NULL, 0, &f->res, &transient, &err),
                     CAVIAR_OK);
    assert_string_equal(sql_get_text(&f->res, 0, 0), "3");

    /* At BEGIN: transient too (sql.c runs the transaction again). */
    kill_backend(f, c);
    assert_int_not_equal(drv->begin(c, SQL_WRITE, &transient, &err), CAVIAR_OK);
    assert_int_equal(transient, 1);
    assert_int_equal(drv->begin(c, SQL_WRITE, &transient, &err), CAVIAR_OK);

    /* At COMMIT: not transient, since the commit may have happened. */
    kill_backend(f, c);
    assert_int_not_equal(drv->commit(c, &transient, &err), CAVIAR_OK);
    assert_int_equal(transient, 0);
    assert_non_null(strstr(err.msg, "may or may not have been committed"));
    drv->rollback(c);
    assert_int_equal(drv->exec(c, "SELECT 1", NULL, 0, NULL, &transient, &err), CAVIAR_OK);
    drv->disconnect(c);
}

/* CREATE TABLE IF NOT EXISTS on an existing table makes the server send a NOTICE, which libpq
 * prints on stderr unless told otherwise; the driver keeps quiet. */
static void test_quiet(void **state)
{
    fixture *f = need_server(state);
    FILE *capture = tmpfile();
    assert_non_null(capture);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
    ok(f, "CREATE TEMP TABLE IF NOT EXISTS quiet (k BIGINT)", NULL, 0, NULL);
    ok(f, "CREATE TEMP TABLE IF NOT EXISTS quiet (k BIGINT)", NULL, 0, NULL);
    ok(f, "DO $$ BEGIN RAISE WARNING 'a warning'; END $$", NULL, 0, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(lseek(fileno(capture), 0, SEEK_END), 0); /* the descriptor's offset */
    fclose(capture);
    ok(f, "DROP TABLE quiet", NULL, 0, NULL);
}

/* A read-only connection (a dashboard's): every transaction of its session is read-only by
 * default, so the server itself refuses a write (SQLSTATE 25006), in a transaction or not, and
 * again once the connection was lost and reopened. */
static void test_read_only(void **state)
{
    fixture *f = need_server(state);
    caviar_error err = {0};
    int transient = -1;
    ok(f, "CREATE TABLE IF NOT EXISTS ro_target (k BIGINT)", NULL, 0, NULL);
    sql_conn *c = NULL;
    if (drv->connect(getenv("CAVIAR_TEST_PG_URL"), 1, &c, &err) != CAVIAR_OK)
        fail_msg("%s", err.msg);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(drv->exec(c, "SHOW default_transaction_read_only", NULL, 0, &f->res,
                                   &transient, &err), CAVIAR_OK);
        assert_string_equal(sql_get_text(&f->res, 0, 0), "on");
        assert_int_equal(drv->begin(c, SQL_WRITE, &transient, &err), CAVIAR_OK);
        assert_int_equal(fails(c, "INSERT INTO ro_target (k) VALUES (1)", NULL, 0, &err), 0);
        assert_non_null(strstr(err.msg, "read-only transaction"));
        assert_non_null(strstr(err.msg, "SQLSTATE 25006"));
        drv->rollback(c);
        assert_int_equal(fails(c, "DELETE FROM ro_target", NULL, 0, &err), 0);
        assert_non_null(strstr(err.msg, "SQLSTATE 25006"));
        assert_int_equal(fails(c, "CREATE TABLE ro_other (k BIGINT)", NULL, 0, &err), 0);
        assert_non_null(strstr(err.msg, "SQLSTATE 25006"));
        /* Reads work. */
        assert_int_equal(drv->begin(c, SQL_READ, &transient, &err), CAVIAR_OK);
        assert_int_equal(drv->exec(c, "SELECT COUNT(*) FROM ro_target", NULL, 0, &f->res,
                                   &transient, &err), CAVIAR_OK);
        assert_int_equal(sql_get_int(&f->res, 0, 0), 0);
        assert_int_equal(drv->commit(c, &transient, &err), CAVIAR_OK);
        if (round == 0) { /* lost: the next statement reconnects, read-only again */
            kill_backend(f, c);
            assert_int_equal(fails(c, "SELECT 1", NULL, 0, &err), 1);
        }
    }
    drv->disconnect(c);
    /* The same server, through a read-write connection: writes work. */
    ok(f, "INSERT INTO ro_target (k) VALUES (1)", NULL, 0, NULL);
    ok(f, "DROP TABLE ro_target", NULL, 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),       cmocka_unit_test(test_integers),
        cmocka_unit_test(test_reals),         cmocka_unit_test(test_texts_and_nulls),
        cmocka_unit_test(test_result_shapes), cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_lost_connection), cmocka_unit_test(test_quiet),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
