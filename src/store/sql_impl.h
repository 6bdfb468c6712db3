/*
 * sql_impl.h — inside the store subsystem: the SQL back-ends. One implementation of the store
 * operations (sql.c) runs on any engine through a small driver (sqlite.c, postgres.c).
 *
 * Statements are written once, with numbered parameters $1, $2, ... (PostgreSQL's syntax; the
 * SQLite driver rewrites them to ?1, ?2, ...), in the SQL both engines accept: BIGINT, DOUBLE
 * PRECISION and TEXT columns, INSERT ... ON CONFLICT, RETURNING. Where the engines differ the
 * driver says so (sql_driver.row_locks).
 *
 * Values. A parameter or a result cell is a sql_val: NULL, an integer, a real or a text. The
 * SQLite driver returns typed cells; the PostgreSQL driver returns every cell as text (libpq's
 * text format) and the readers below convert. A NaN real is stored as NULL (SQLite cannot store
 * it) and a NULL real reads back as NaN; infinities are stored as they are. Every other double
 * comes back bit for bit, except that SQLite returns a negative zero as zero (its REAL columns
 * keep whole numbers as integers) — the same value for every sampler, pruner and objective.
 *
 * Read-only stores (store_type.open_read_only) are refused twice: sql.c refuses every SQL_WRITE
 * transaction before it begins (and any statement that writes inside an SQL_READ one), and the
 * driver's connection is itself read-only (sql_driver.connect).
 *
 * Transactions. sql.c wraps every store operation in one transaction (driver.begin, the
 * statements, driver.commit; driver.rollback on any error). A driver reports an error that is
 * worth retrying as a whole (SQLite's BUSY and LOCKED, PostgreSQL's serialization failures,
 * deadlocks and unique violations of concurrent creations) with *transient = 1; sql.c then
 * rolls back and runs the transaction again after a short, growing, randomised pause, for up to
 * SQL_RETRY_SECONDS, so that "database is locked" never reaches the user while the database is
 * merely busy.
 */
#ifndef CAVIAR_SQL_IMPL_H
#define CAVIAR_SQL_IMPL_H

#include "store.h"

#define SQL_SCHEMA_VERSION 2
#define SQL_RETRY_SECONDS 120.0

typedef enum sql_type { SQL_NULL, SQL_INT, SQL_REAL, SQL_TEXT } sql_type;

typedef struct sql_val {
    sql_type type;
    int64_t i;
    double r;
    const char *s; /* TEXT: borrowed (parameters) or owned by the result (cells) */
} sql_val;

static inline sql_val sql_int(int64_t i) { return (sql_val){.type = SQL_INT, .i = i}; }
static inline sql_val sql_real(double r) { return (sql_val){.type = SQL_REAL, .r = r}; }
static inline sql_val sql_text(const char *s)
{
    return s ? (sql_val){.type = SQL_TEXT, .s = s} : (sql_val){.type = SQL_NULL};
}
static inline sql_val sql_null(void) { return (sql_val){.type = SQL_NULL}; }

/* A materialised result: rows x cols cells, row-major; text cells point into the result's own
 * storage. */
typedef struct sql_result {
    size_t rows, cols;
    sql_val *cells;
    char **strings; /* owned text, freed by sql_result_clear */
    size_t n_strings, cap_strings;
    size_t cap_cells;
} sql_result;

void sql_result_init(sql_result *r);
void sql_result_clear(sql_result *r); /* back to 0 rows; keeps the allocations */
void sql_result_free(sql_result *r);
/* For drivers: room for rows x cols cells (cells zeroed to NULL), and an owned copy of text. */
int sql_result_shape(sql_result *r, size_t rows, size_t cols);
/* For drivers that learn the rows one by one: a new row of cols NULL cells (NULL when out of
 * memory or when cols differs from the earlier rows'). */
sql_val *sql_result_add_row(sql_result *r, size_t cols);
const char *sql_result_keep(sql_result *r, const char *text, size_t len);

/* Readers of a cell, whatever the driver returned. */
int sql_is_null(const sql_result *r, size_t row, size_t col);
int64_t sql_get_int(const sql_result *r, size_t row, size_t col);      /* NULL -> 0 */
double sql_get_real(const sql_result *r, size_t row, size_t col);      /* NULL -> NaN */
const char *sql_get_text(const sql_result *r, size_t row, size_t col); /* NULL -> NULL */

typedef struct sql_conn sql_conn; /* a driver's connection */

typedef enum sql_txn { SQL_READ, SQL_WRITE } sql_txn;

typedef struct sql_driver {
    const char *name;          /* "sqlite", "postgresql" */
    int row_locks;             /* claims use SELECT ... FOR UPDATE SKIP LOCKED */
    int (*accepts)(const char *url);
    /* Connects and sets the connection up (SQLite: WAL, busy timeout); messages never contain
     * a password (store_redact). With read_only the connection cannot write, whatever sql.c
     * asks of it: SQLite opens an existing file read-only (a missing one is CAVIAR_EMISSING
     * and is not created) and leaves its journal mode alone; PostgreSQL turns
     * default_transaction_read_only on in the session (again after a reconnection), so that
     * the server refuses any write. */
    caviar_status (*connect)(const char *url, int read_only, sql_conn **out, caviar_error *err);
    void (*disconnect)(sql_conn *c);
    /* READ: a consistent snapshot for several statements; WRITE: a transaction that will
     * write (SQLite: BEGIN IMMEDIATE, so that two writers never deadlock on an upgrade). */
    caviar_status (*begin)(sql_conn *c, sql_txn kind, int *transient, caviar_error *err);
    caviar_status (*commit)(sql_conn *c, int *transient, caviar_error *err);
    void (*rollback)(sql_conn *c);
    /* Runs one statement with its parameters; rows (if any) into out (cleared first; out may
     * be NULL when no rows are wanted). sql is a static string: drivers may cache on its
     * address. */
    caviar_status (*exec)(sql_conn *c, const char *sql, const sql_val *params, size_t n,
                          sql_result *out, int *transient, caviar_error *err);
} sql_driver;

/* The drivers; sql.c builds store_sqlite and store_postgres (store.h) on them. */
extern const sql_driver sql_driver_sqlite;
extern const sql_driver sql_driver_postgres;

#endif
