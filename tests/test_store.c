/*
 * test_store.c — the one storage suite every back-end must pass: memory, SQLite, PostgreSQL.
 *
 * The back-end under test is named by the first argument, or else by CAVIAR_TEST_STORAGE:
 *   memory       ":memory:" (a second open() is another, empty store: the tests that need two
 *                handles on one study are skipped)
 *   sqlite       a fresh file in a new temporary directory (mkdtemp) for every test
 *   postgresql   the server of $CAVIAR_TEST_PG_URL (exit 77, "skipped", when it is unset);
 *                the database is shared, so every test names its studies with a prefix unique
 *                to the run and the test
 *   URL          any other storage string is used as it is, with the same unique prefixes
 * A second argument is a cmocka test filter ("*reap*").
 *
 * Every test goes through store_type (store/store.h) directly, except the study-layer ones
 * (test_study_*), which drive the public API of caviar.h over the same storage. The read-only
 * tests open a second handle with open_read_only beside a read-write one. The contract checked is the one
 * written in store.h; the in-memory back-end is the reference behaviour.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "caviar.h"
#include "store/store.h"

/* ---- the back-end under test ----------------------------------------------------------------- */

static const store_type *g_type; /* what store_find() chose for the storage string */
static char g_base[1024];        /* the storage string, unless a fresh SQLite file per test */
static int g_fresh_sqlite;       /* a new temporary file for every test */
static char g_run[64];           /* unique to this run: the PostgreSQL database is shared */
static unsigned g_seq;           /* tests run so far */
/* Per test (setup/teardown). */
static char g_url[2048];
static char g_dir[1024];         /* the temporary directory of a fresh SQLite file, or "" */
static char g_prefix[128];       /* study names start with it */

static int is_memory(void)
{
    return g_type == &store_memory;
}

/* Everything but memory: a second open() of g_url is a second handle on the same studies. */
#define NEEDS_SHARED_STORE()                                                                    \
    do {                                                                                        \
        if (is_memory())                                                                        \
            skip();                                                                             \
    } while (0)

static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char file[2048];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            unlink(file);
        }
        closedir(d);
    }
    rmdir(path);
}

static int setup(void **state)
{
    (void)state;
    g_seq++;
    snprintf(g_prefix, sizeof g_prefix, "%s_t%u_", g_run, g_seq);
    g_dir[0] = '\0';
    if (g_fresh_sqlite) {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_dir, sizeof g_dir, "%s/caviar-test-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(g_dir)) {
            fprintf(stderr, "cannot create a temporary directory '%s': %s\n", g_dir,
                    strerror(errno));
            g_dir[0] = '\0';
            return -1;
        }
        snprintf(g_url, sizeof g_url, "sqlite:%s/store.db", g_dir);
    } else {
        snprintf(g_url, sizeof g_url, "%s", g_base);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_dir[0])
        remove_dir(g_dir);
    g_dir[0] = '\0';
    return 0;
}

/* A study name unique to this run and test (eight rotating buffers). */
static const char *study_name(const char *base)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s%s", g_prefix, base);
    return b;
}

/* ---- checking calls ---------------------------------------------------------------------------
 * Each test declares `caviar_error err`; OK() fails the test with the call and its message, and
 * FAILS() wants an error (a given status, or ANY) whose message mentions a given text. */

#define ANY_ERROR (-1)

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               (hay[i] | 0x20) == (needle[i] | 0x20) /* ASCII case-insensitive */)
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

#define OK(call)                                                                                \
    do {                                                                                        \
        memset(&err, 0, sizeof err);                                                            \
        caviar_status ok_rc_ = (call);                                                          \
        if (ok_rc_ != CAVIAR_OK)                                                                \
            fail_msg("%s:%d: %s\n  -> %s: %s", __FILE__, __LINE__, #call,                      \
                     caviar_status_str(ok_rc_), err.msg);                                       \
    } while (0)

#define FAILS(call, want, needle)                                                               \
    do {                                                                                        \
        memset(&err, 0, sizeof err);                                                            \
        caviar_status f_rc_ = (call);                                                           \
        if (f_rc_ == CAVIAR_OK)                                                                 \
            fail_msg("%s:%d: %s succeeded; an error was expected", __FILE__, __LINE__, #call); \
        if ((int)(want) != ANY_ERROR && f_rc_ != (caviar_status)(want))                         \
            fail_msg("%s:%d: %s returned '%s', expected '%s': %s", __FILE__, __LINE__, #call,  \
                     caviar_status_str(f_rc_), caviar_status_str((caviar_status)(want)),        \
                     err.msg);                                                                  \
        if (!err.msg[0])                                                                        \
            fail_msg("%s:%d: %s failed without a message", __FILE__, __LINE__, #call);          \
        if ((needle) && !contains_ci(err.msg, (needle)))                                        \
            fail_msg("%s:%d: %s: the message does not mention '%s': %s", __FILE__, __LINE__,    \
                     #call, (const char *)(needle), err.msg);                                   \
    } while (0)

static store *open_store(void)
{
    store *s = NULL;
    caviar_error err = {0};
    caviar_status rc = g_type->open(g_url, &s, &err);
    if (rc != CAVIAR_OK)
        fail_msg("cannot open the store '%s': %s", g_url, err.msg);
    assert_non_null(s);
    return s;
}

static int64_t open_study(store *s, const char *base)
{
    store_study_info info = {.name = study_name(base), .direction = CAVIAR_MINIMIZE,
                             .seed = 1, .sampler = "random", .pruner = "none"};
    int64_t id = -1;
    caviar_error err;
    OK(g_type->open_study(s, &info, &id, &err));
    return id;
}

static void sync_h(store *s, int64_t id, store_history *h)
{
    caviar_error err;
    OK(g_type->sync(s, id, h, &err));
}

static const store_trial *trial_at(const store_history *h, uint64_t number)
{
    if (number >= h->n_trials)
        fail_msg("the mirror has %zu trials; trial %llu is not there", h->n_trials,
                 (unsigned long long)number);
    const store_trial *t = &h->trials[number];
    assert_int_equal(t->number, number);
    return t;
}

static uint64_t create(store *s, int64_t id, const char *worker)
{
    store_start start = {.worker = worker};
    uint64_t number = UINT64_MAX, claim = UINT64_MAX;
    caviar_error err;
    OK(g_type->create_running(s, id, &start, &number, &claim, &err));
    return number;
}

/* Claims the oldest waiting trial for worker: its number, or -1 when there is none. */
static int64_t claim_next(store *s, int64_t id, const char *worker)
{
    store_start start = {.worker = worker};
    uint64_t number = 123456789;
    int found = 1; /* claim_waiting must say 0 itself */
    caviar_error err;
    OK(g_type->claim_waiting(s, id, &start, &number, &found, &err));
    return found ? (int64_t)number : -1;
}

static store_counts counts(store *s, int64_t id)
{
    store_counts c;
    caviar_error err;
    OK(g_type->count(s, id, &c, &err));
    return c;
}

/* The study's trials by state, and how many count against a budget. */
static void check_counts(store *s, int64_t id, uint64_t waiting, uint64_t running,
                         uint64_t complete, uint64_t pruned, uint64_t fail, uint64_t counted)
{
    store_counts got = counts(s, id);
    const uint64_t want[5] = {waiting, running, complete, pruned, fail};
    for (int i = 0; i < 5; i++)
        if (got.n[i] != want[i])
            fail_msg("count: %llu trials %s, expected %llu", (unsigned long long)got.n[i],
                     caviar_trial_state_name((caviar_trial_state)i),
                     (unsigned long long)want[i]);
    if (got.counted != counted)
        fail_msg("count: %llu trials counted, expected %llu", (unsigned long long)got.counted,
                 (unsigned long long)counted);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Equal bit for bit; any NaN equals any NaN (SQL back-ends keep NaN as NULL, not its bits).
 * SQLite keeps a REAL with no fractional part as an integer, so a negative zero reads back as
 * zero there (sql_impl.h): the same value for everything caviar computes. */
static int same_double(double a, double b)
{
    if (a == 0 && b == 0 && strcmp(g_type->name, "sqlite") == 0)
        return 1;
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Appends a formatted line to the text of buf. */
static void note(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* ---- comparing mirrors -------------------------------------------------------------------------
 * Field by field; the first difference goes into why. Plain functions (no cmocka): the child
 * processes of the concurrency test use them too. */

#define DIFF(...)                                                                               \
    do {                                                                                        \
        snprintf(why, len, __VA_ARGS__);                                                        \
        return 1;                                                                               \
    } while (0)

static int trial_diff(const store_trial *a, const store_trial *b, char *why, size_t len)
{
    unsigned long long n = (unsigned long long)a->number;
    if (a->number != b->number)
        DIFF("trial number %llu vs %llu", n, (unsigned long long)b->number);
    if (a->state != b->state)
        DIFF("trial %llu: state %s vs %s", n, caviar_trial_state_name(a->state),
             caviar_trial_state_name(b->state));
    if (!same_double(a->value, b->value))
        DIFF("trial %llu: value %.17g vs %.17g", n, a->value, b->value);
    if (!same_double(a->start_time, b->start_time))
        DIFF("trial %llu: start_time %.17g vs %.17g", n, a->start_time, b->start_time);
    if (!same_double(a->end_time, b->end_time))
        DIFF("trial %llu: end_time %.17g vs %.17g", n, a->end_time, b->end_time);
    size_t n_values = a->n_values > b->n_values ? a->n_values : b->n_values;
    for (size_t id = 0; id < n_values; id++)
        if (!same_double(store_trial_param(a, id), store_trial_param(b, id)))
            DIFF("trial %llu: parameter %zu is %.17g vs %.17g", n, id, store_trial_param(a, id),
                 store_trial_param(b, id));
    if (a->n_reports != b->n_reports)
        DIFF("trial %llu: %zu reports vs %zu", n, a->n_reports, b->n_reports);
    for (size_t i = 0; i < a->n_reports; i++)
        if (a->steps[i] != b->steps[i] || !same_double(a->step_values[i], b->step_values[i]))
            DIFF("trial %llu: report %zu is (%lld, %.17g) vs (%lld, %.17g)", n, i,
                 (long long)a->steps[i], a->step_values[i], (long long)b->steps[i],
                 b->step_values[i]);
    if (a->n_reports && a->max_step != b->max_step)
        DIFF("trial %llu: max_step %lld vs %lld", n, (long long)a->max_step,
             (long long)b->max_step);
    if (a->n_attrs != b->n_attrs)
        DIFF("trial %llu: %zu attributes vs %zu", n, a->n_attrs, b->n_attrs);
    for (size_t i = 0; i < a->n_attrs; i++) {
        const char *other = store_trial_attr(b, a->attrs[i].key);
        if (!other || strcmp(other, a->attrs[i].value) != 0)
            DIFF("trial %llu: attribute '%s' is '%s' vs '%s'", n, a->attrs[i].key,
                 a->attrs[i].value, other ? other : "(absent)");
    }
    if (a->version != b->version)
        DIFF("trial %llu: version %llu vs %llu", n, (unsigned long long)a->version,
             (unsigned long long)b->version);
    if (a->has_claim != b->has_claim || (a->has_claim && a->claim != b->claim))
        DIFF("trial %llu: claim %d/%llu vs %d/%llu", n, a->has_claim,
             (unsigned long long)a->claim, b->has_claim, (unsigned long long)b->claim);
    if (a->retry_of != b->retry_of)
        DIFF("trial %llu: retry_of %lld vs %lld", n, (long long)a->retry_of,
             (long long)b->retry_of);
    if (a->retries != b->retries)
        DIFF("trial %llu: retries %u vs %u", n, a->retries, b->retries);
    if (a->requeued != b->requeued)
        DIFF("trial %llu: requeued %d vs %d", n, a->requeued, b->requeued);
    if ((a->fail_reason == NULL) != (b->fail_reason == NULL) ||
        (a->fail_reason && strcmp(a->fail_reason, b->fail_reason) != 0))
        DIFF("trial %llu: fail_reason '%s' vs '%s'", n, a->fail_reason ? a->fail_reason : "NULL",
             b->fail_reason ? b->fail_reason : "NULL");
    return 0;
}

static int history_diff(const store_history *a, const store_history *b, char *why, size_t len)
{
    if (a->params.n != b->params.n)
        DIFF("%zu parameters vs %zu", a->params.n, b->params.n);
    for (size_t i = 0; i < a->params.n; i++) {
        const space_param *p = &a->params.params[i], *q = &b->params.params[i];
        if (strcmp(p->name, q->name) != 0)
            DIFF("parameter %zu is '%s' vs '%s'", i, p->name, q->name);
        if (!caviar_dist_equal(&p->dist, &q->dist) || p->dist.grid_points != q->dist.grid_points)
            DIFF("parameter '%s' has two distributions", p->name);
    }
    if (a->version != b->version)
        DIFF("history version %llu vs %llu", (unsigned long long)a->version,
             (unsigned long long)b->version);
    if (a->n_trials != b->n_trials)
        DIFF("%zu trials vs %zu", a->n_trials, b->n_trials);
    for (size_t i = 0; i < a->n_trials; i++)
        if (trial_diff(&a->trials[i], &b->trials[i], why, len))
            return 1;
    return 0;
}

/* A deep copy of src into a new mirror (release it). */
static caviar_status history_copy(store_history *dst, const store_history *src, caviar_error *err)
{
    store_history_init(dst);
    caviar_status rc = CAVIAR_OK;
    for (size_t i = 0; rc == CAVIAR_OK && i < src->params.n; i++) {
        size_t id;
        rc = space_table_add(&dst->params, src->params.params[i].name,
                             &src->params.params[i].dist, &id, err);
    }
    for (size_t i = 0; rc == CAVIAR_OK && i < src->n_trials; i++)
        rc = store_history_put(dst, &src->trials[i], err);
    dst->version = src->version;
    return rc;
}

/* Brings h up to date and checks it against a fresh full sync of the same study, and that a
 * second sync with nothing changed leaves it as it is. */
static void check_mirror(store *s, int64_t id, store_history *h, const char *where)
{
    caviar_error err;
    char why[1024];
    sync_h(s, id, h);
    store_history fresh, before;
    store_history_init(&fresh);
    sync_h(s, id, &fresh);
    if (history_diff(h, &fresh, why, sizeof why))
        fail_msg("%s: the incremental mirror differs from a full sync: %s", where, why);
    store_history_release(&fresh);
    OK(history_copy(&before, h, &err));
    sync_h(s, id, h);
    if (history_diff(&before, h, why, sizeof why))
        fail_msg("%s: a sync with nothing changed changed the mirror: %s", where, why);
    store_history_release(&before);
}

/* ---- schema versions ---------------------------------------------------------------------------- */

/* Runs sql behind the store's back, with the engine's own client. */
static void exec_sql(const char *sql)
{
    if (g_type == &store_sqlite) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(g_url + strlen("sqlite:"), &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(g_url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        PQfinish(c);
    }
}

static void set_schema_version(const char *version)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE caviar_meta SET value = '%s' WHERE key = 'schema_version'",
             version);
    exec_sql(sql);
}

/* A database written by another schema version is refused with a clear message, and nothing
 * is changed in it; a file that is not a database is refused too. */
static void test_schema_version(void **state)
{
    (void)state;
    if (is_memory())
        skip();
    store *s = open_store();
    open_study(s, "schema");
    g_type->close(s);
    set_schema_version("999");
    caviar_error err = {0};
    char shown[1024], want[2048];
    store_redact(g_url, shown, sizeof shown);
    assert_int_equal(g_type->open(g_url, &s, &err), CAVIAR_EFORMAT);
    snprintf(want, sizeof want, "%s holds a caviar study database of schema version 999; this "
             "caviar reads version 2\nhint: use the caviar that wrote it, or another database",
             shown);
    assert_string_equal(err.msg, want);
    set_schema_version("2");
    s = open_store();
    g_type->close(s);
    /* A version 1 database (no blobs table) is upgraded in place: its study is still there and
     * takes blobs. */
    exec_sql("DROP TABLE blobs");
    set_schema_version("1");
    s = open_store();
    int64_t id = open_study(s, "schema");
    OK(g_type->put_blob(s, id, "k", "v", 1, &err));
    g_type->close(s);
    s = open_store();
    g_type->close(s);
    if (g_type == &store_sqlite) {
        char path[1100];
        snprintf(path, sizeof path, "%s/not-a-database.db", g_dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("these are not the pages of a SQLite database, but plain text long enough to "
              "fill a header of one hundred bytes, which SQLite reads first\n", f);
        fclose(f);
        assert_int_not_equal(g_type->open(path, &s, &err), CAVIAR_OK);
        assert_non_null(strstr(err.msg, "file is not a database"));
        assert_non_null(strstr(err.msg, path));
    }
}

/* ---- choosing a back-end ---------------------------------------------------------------------- */

static void test_find(void **state)
{
    (void)state;
    char buf[256];
    assert_ptr_equal(store_find(NULL), &store_memory);
    assert_ptr_equal(store_find(":memory:"), &store_memory);
    assert_ptr_equal(store_find("sqlite:/tmp/x.db"), &store_sqlite);
    assert_ptr_equal(store_find("/tmp/study.db"), &store_sqlite);
    assert_ptr_equal(store_find("caviar.db"), &store_sqlite);
    assert_ptr_equal(store_find("postgresql://user@localhost:5432/db"), &store_postgres);
    assert_ptr_equal(store_find("postgres://localhost/db"), &store_postgres);
    assert_null(store_find("mysql://localhost/db"));
    store_redact("postgresql://user:secret@host/db", buf, sizeof buf);
    assert_null(strstr(buf, "secret"));
    assert_non_null(g_type->name);
}

/* ---- studies ---------------------------------------------------------------------------------- */

static void check_study(const store_study *got, const store_study_info *want)
{
    const char *const got_s[] = {got->name, got->sampler, got->sampler_settings, got->pruner,
                                 got->pruner_settings, got->spec};
    const char *const want_s[] = {want->name, want->sampler, want->sampler_settings,
                                  want->pruner, want->pruner_settings, want->spec};
    const char *const field[] = {"name", "sampler", "sampler_settings", "pruner",
                                 "pruner_settings", "spec"};
    for (int i = 0; i < 6; i++) {
        if (!want_s[i] && got_s[i])
            fail_msg("study '%s': %s should be NULL, is '%s'", want->name, field[i], got_s[i]);
        if (want_s[i] && (!got_s[i] || strcmp(got_s[i], want_s[i]) != 0))
            fail_msg("study '%s': %s should be '%s', is '%s'", want->name, field[i], want_s[i],
                     got_s[i] ? got_s[i] : "NULL");
    }
    assert_int_equal(got->direction, want->direction);
    if (got->seed != want->seed)
        fail_msg("study '%s': seed %llu read back as %llu", want->name,
                 (unsigned long long)want->seed, (unsigned long long)got->seed);
}

static void test_open_study(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    store_study_info a = {
        .name = study_name("alpha"), .direction = CAVIAR_MAXIMIZE,
        .seed = 0xFEDCBA9876543210ULL, /* above INT64_MAX: a signed BIGINT must keep it */
        .sampler = "tpe", .sampler_settings = "n_startup=10,multivariate=true",
        .pruner = "median", .pruner_settings = "n_warmup=3",
        .spec = "command: [python3, \"train.py\", '--lr={lr}']\n\tÿ ünïcødé ✓ 🐍; DROP TABLE "
                "studies; --"};
    store_study_info b = {.name = study_name("beta 'quoted' \"ü\""), .direction = CAVIAR_MINIMIZE,
                          .seed = 0, .sampler = "random", .sampler_settings = "",
                          .pruner = "none"};
    int64_t ia = -1, ib = -1, again = -1;
    OK(g_type->open_study(s, &a, &ia, &err));
    OK(g_type->open_study(s, &b, &ib, &err));
    assert_true(ia != ib);
    OK(g_type->open_study(s, &a, &again, &err));
    assert_int_equal(again, ia);
    /* Reopening does not redefine: the stored definition stays. */
    store_study_info a2 = a;
    a2.seed = 7;
    a2.sampler = "grid";
    a2.spec = NULL;
    OK(g_type->open_study(s, &a2, &again, &err));
    assert_int_equal(again, ia);
    /* Another direction is an error that names the study. */
    a2 = a;
    a2.direction = CAVIAR_MINIMIZE;
    FAILS(g_type->open_study(s, &a2, &again, &err), ANY_ERROR, "alpha");

    store_study got;
    OK(g_type->load_study(s, a.name, &got, &err));
    check_study(&got, &a);
    store_study_release(&got);
    OK(g_type->load_study(s, b.name, &got, &err));
    check_study(&got, &b);
    store_study_release(&got);
    FAILS(g_type->load_study(s, study_name("missing"), &got, &err), CAVIAR_EMISSING, "missing");
    g_type->close(s);

    if (is_memory())
        return;
    /* Another handle: the same studies, as stored. */
    s = open_store();
    OK(g_type->load_study(s, a.name, &got, &err));
    check_study(&got, &a);
    store_study_release(&got);
    OK(g_type->open_study(s, &b, &again, &err));
    FAILS(g_type->open_study(s, &a2, &again, &err), ANY_ERROR, "alpha");
    g_type->close(s);
    if (g_fresh_sqlite) {
        /* A plain "PATH.db" names the same file. */
        char path[2048];
        snprintf(path, sizeof path, "%s/store.db", g_dir);
        assert_ptr_equal(store_find(path), &store_sqlite);
        OK(store_sqlite.open(path, &s, &err));
        OK(store_sqlite.load_study(s, b.name, &got, &err));
        check_study(&got, &b);
        store_study_release(&got);
        store_sqlite.close(s);
    }
}

/* ---- parameters ------------------------------------------------------------------------------- */

static const caviar_value g_acts[] = {
    {CAVIAR_VALUE_STRING, 0, "relu"},
    {CAVIAR_VALUE_STRING, 0, "tanh, 'x' \"y\" | ü ✓"},
    {CAVIAR_VALUE_STRING, 0, ""},
    {CAVIAR_VALUE_STRING, 0, "3"},
};
static const caviar_value g_mixed[] = {
    {CAVIAR_VALUE_NUMBER, 0.1, NULL},   {CAVIAR_VALUE_NUMBER, -3, NULL},
    {CAVIAR_VALUE_NUMBER, 1e300, NULL}, {CAVIAR_VALUE_NUMBER, 1.0 / 3.0, NULL},
    {CAVIAR_VALUE_BOOL, 1, NULL},       {CAVIAR_VALUE_BOOL, 0, NULL},
    {CAVIAR_VALUE_STRING, 0, "1"},      {CAVIAR_VALUE_STRING, 0, "true"},
    {CAVIAR_VALUE_NUMBER, 0, NULL},
};

static const caviar_dist g_lr = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG,
                                 .low = 1e-5, .high = 1};
static const caviar_dist g_units = {.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG,
                                    .low = 8, .high = 512, .step = 1};
static const caviar_dist g_beta = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG,
                                   .low = 0.9, .high = 0.999, .grid_points = 5};
static const caviar_dist g_drop = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR,
                                   .low = 0, .high = 1, .step = 0.25};
static const caviar_dist g_act = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 4,
                                  .choices = g_acts};
static const caviar_dist g_mix = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 9,
                                  .choices = g_mixed};
/* Wide enough for any value set_param is given below. */
static const caviar_dist g_any = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR,
                                  .low = -DBL_MAX, .high = DBL_MAX};

static void check_param(const store_history *h, const char *name, size_t id, const caviar_dist *d)
{
    long found = space_table_find(&h->params, name);
    if (found < 0)
        fail_msg("the mirror does not know parameter '%s'", name);
    assert_int_equal(found, id);
    const caviar_dist *got = &h->params.params[id].dist;
    if (!caviar_dist_equal(got, d)) {
        char a[512], b[512];
        fail_msg("parameter '%s' was stored as %s and read back as %s", name,
                 space_describe(d, a, sizeof a), space_describe(got, b, sizeof b));
    }
    /* The grid sampler reads grid_points from the mirror, in every worker. */
    assert_int_equal(got->grid_points, d->grid_points);
}

static void test_add_param(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "params");
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    assert_int_equal(h.params.n, 0);

    OK(g_type->add_param(s, id, "lr", &g_lr, &err));
    OK(g_type->add_param(s, id, "units", &g_units, &err));
    OK(g_type->add_param(s, id, "beta", &g_beta, &err));
    OK(g_type->add_param(s, id, "act", &g_act, &err));
    assert_int_equal(h.params.n, 0); /* learnt at the next sync */
    sync_h(s, id, &h);
    assert_int_equal(h.params.n, 4);
    check_param(&h, "lr", 0, &g_lr);
    check_param(&h, "units", 1, &g_units);
    check_param(&h, "beta", 2, &g_beta);
    check_param(&h, "act", 3, &g_act);

    /* The same name with the same distribution is fine; with another one it is an error that
     * names the parameter, and nothing changes. */
    OK(g_type->add_param(s, id, "lr", &g_lr, &err));
    caviar_dist other = g_lr;
    other.high = 0.1;
    FAILS(g_type->add_param(s, id, "lr", &other, &err), ANY_ERROR, "'lr'");
    other = g_act;
    other.n_choices = 3;
    FAILS(g_type->add_param(s, id, "act", &other, &err), ANY_ERROR, "'act'");
    other = g_units;
    other.kind = CAVIAR_DIST_FLOAT;
    other.step = 0;
    FAILS(g_type->add_param(s, id, "units", &other, &err), ANY_ERROR, "'units'");

    /* Learnt incrementally, with the next id. */
    OK(g_type->add_param(s, id, "mixed", &g_mix, &err));
    OK(g_type->add_param(s, id, "drop", &g_drop, &err));
    sync_h(s, id, &h);
    assert_int_equal(h.params.n, 6);
    check_param(&h, "lr", 0, &g_lr);
    check_param(&h, "mixed", 4, &g_mix);
    check_param(&h, "drop", 5, &g_drop);
    check_mirror(s, id, &h, "parameters");

    /* Parameters belong to their study. */
    int64_t id2 = open_study(s, "params other");
    store_history h2;
    store_history_init(&h2);
    sync_h(s, id2, &h2);
    assert_int_equal(h2.params.n, 0);
    OK(g_type->add_param(s, id2, "lr", &other, &err)); /* another study, another definition */
    sync_h(s, id2, &h2);
    assert_int_equal(h2.params.n, 1);
    store_history_release(&h2);
    g_type->close(s);

    if (!is_memory()) {
        /* Another handle: the same ids; what it adds, the first learns. */
        s = open_store();
        int64_t idb = open_study(s, "params");
        store_history hb;
        store_history_init(&hb);
        sync_h(s, idb, &hb);
        assert_int_equal(hb.params.n, 6);
        check_param(&hb, "act", 3, &g_act);
        check_param(&hb, "mixed", 4, &g_mix);
        FAILS(g_type->add_param(s, idb, "lr", &g_units, &err), ANY_ERROR, "'lr'");
        OK(g_type->add_param(s, idb, "late", &g_any, &err));
        store *first = open_store();
        int64_t ida = open_study(first, "params");
        sync_h(first, ida, &h);
        assert_int_equal(h.params.n, 7);
        check_param(&h, "late", 6, &g_any);
        check_mirror(first, ida, &h, "parameters, second handle");
        g_type->close(first);
        store_history_release(&hb);
        g_type->close(s);
    }
    store_history_release(&h);
}

/* ---- enqueue and claim ------------------------------------------------------------------------ */

static void test_enqueue_claim(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "queue");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    OK(g_type->add_param(s, id, "units", &g_units, &err));
    const double fixed[3][2] = {{0.1, NAN}, {NAN, 64}, {-2.5, 8}};
    uint64_t number = 99;
    for (uint64_t i = 0; i < 3; i++) {
        OK(g_type->enqueue(s, id, fixed[i], 2, &number, &err));
        assert_int_equal(number, i);
    }
    OK(g_type->enqueue(s, id, NULL, 0, &number, &err)); /* nothing fixed */
    assert_int_equal(number, 3);

    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 4);
    for (uint64_t i = 0; i < 4; i++) {
        const store_trial *t = trial_at(&h, i);
        assert_int_equal(t->state, CAVIAR_TRIAL_WAITING);
        assert_true(isnan(t->value));
        assert_int_equal(t->n_reports, 0);
        assert_int_equal(t->retry_of, -1);
        assert_int_equal(t->has_claim, 0);
        for (size_t p = 0; p < 2; p++)
            assert_true(same_double(store_trial_param(t, p), i < 3 ? fixed[i][p] : NAN));
    }
    check_counts(s, id, 4, 0, 0, 0, 0, 4);

    /* Oldest first; a new trial takes the next number and does not disturb the queue. */
    double before = wall_now();
    assert_int_equal(claim_next(s, id, "w1"), 0);
    assert_int_equal(create(s, id, "w1"), 4);
    assert_int_equal(claim_next(s, id, "w1"), 1);
    sync_h(s, id, &h);
    for (uint64_t i = 0; i < 2; i++) {
        const store_trial *t = trial_at(&h, i);
        assert_int_equal(t->state, CAVIAR_TRIAL_RUNNING);
        if (!(t->start_time >= before - 5 && t->start_time <= wall_now() + 5))
            fail_msg("trial %llu: start_time %.6f is not now (%.6f)", (unsigned long long)i,
                     t->start_time, before);
        for (size_t p = 0; p < 2; p++) /* the fixed values are kept, NaN stays unfixed */
            assert_true(same_double(store_trial_param(t, p), fixed[i][p]));
    }
    assert_int_equal(trial_at(&h, 2)->state, CAVIAR_TRIAL_WAITING);
    assert_int_equal(trial_at(&h, 4)->state, CAVIAR_TRIAL_RUNNING);
    assert_int_equal(claim_next(s, id, "w1"), 2);
    assert_int_equal(claim_next(s, id, "w1"), 3);
    assert_int_equal(claim_next(s, id, "w1"), -1);
    check_counts(s, id, 0, 5, 0, 0, 0, 5);
    /* A claimed trial gets its other values like any running one. */
    OK(g_type->set_param(s, id, 0, 1, 16, &err));
    sync_h(s, id, &h);
    assert_true(same_double(store_trial_param(trial_at(&h, 0), 0), 0.1));
    assert_true(same_double(store_trial_param(trial_at(&h, 0), 1), 16));
    check_mirror(s, id, &h, "queue");

    /* Queues are per study. */
    int64_t other = open_study(s, "queue other");
    assert_int_equal(claim_next(s, other, "w1"), -1);
    store_history_release(&h);
    g_type->close(s);
}

/* ---- creating trials, budgets and counters ----------------------------------------------------- */

static void test_create_running(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "create");
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(create(s, id, "w"), i);
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    for (uint64_t i = 0; i < 3; i++) {
        const store_trial *t = trial_at(&h, i);
        assert_int_equal(t->state, CAVIAR_TRIAL_RUNNING);
        assert_int_equal(t->has_claim, 0);
        assert_int_equal(t->retry_of, -1);
        assert_int_equal(t->retries, 0);
        assert_int_equal(t->requeued, 0);
        assert_null(t->fail_reason);
        assert_true(t->start_time > 1e9);
    }

    /* The budget counts every trial (waiting, running, ended, failed) but the requeued, and
     * refuses exactly at it. Claiming a waiting trial is not a new trial: no budget. */
    uint64_t number, claim;
    store_start budget = {.worker = "w", .max_trials = 5};
    OK(g_type->finish(s, id, 0, CAVIAR_TRIAL_FAIL, NAN, &err));
    OK(g_type->enqueue(s, id, NULL, 0, &number, &err));
    assert_int_equal(number, 3);
    OK(g_type->create_running(s, id, &budget, &number, &claim, &err));
    assert_int_equal(number, 4);
    FAILS(g_type->create_running(s, id, &budget, &number, &claim, &err), CAVIAR_STOPPED, NULL);
    FAILS(g_type->create_running(s, id, &budget, &number, &claim, &err), CAVIAR_STOPPED, NULL);
    assert_int_equal(claim_next(s, id, budget.worker), 3);
    check_counts(s, id, 0, 4, 0, 0, 1, 5);
    budget.max_trials = 6;
    OK(g_type->create_running(s, id, &budget, &number, &claim, &err));
    assert_int_equal(number, 5);
    FAILS(g_type->create_running(s, id, &budget, &number, &claim, &err), CAVIAR_STOPPED, NULL);
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 6);

    /* A counter hands out 0 .. limit - 1, once each, with the trial; then refuses. */
    int64_t g = open_study(s, "create grid");
    uint64_t value = 99;
    OK(g_type->get_count(s, g, "grid:a", &value, &err));
    assert_int_equal(value, 0);
    store_start grid = {.worker = "w", .counter = "grid:a", .counter_limit = 4};
    for (uint64_t k = 0; k < 4; k++) {
        claim = 99;
        OK(g_type->create_running(s, g, &grid, &number, &claim, &err));
        assert_int_equal(number, k);
        assert_int_equal(claim, k);
        OK(g_type->get_count(s, g, "grid:a", &value, &err));
        assert_int_equal(value, k + 1);
    }
    FAILS(g_type->create_running(s, g, &grid, &number, &claim, &err), CAVIAR_STOPPED, NULL);
    OK(g_type->get_count(s, g, "grid:a", &value, &err));
    assert_int_equal(value, 4);
    /* Counters are independent of each other and of other studies. */
    store_start grid_b = {.worker = "w", .counter = "grid:b", .counter_limit = 2};
    OK(g_type->create_running(s, g, &grid_b, &number, &claim, &err));
    assert_int_equal(number, 4);
    assert_int_equal(claim, 0);
    OK(g_type->get_count(s, id, "grid:a", &value, &err));
    assert_int_equal(value, 0);
    OK(g_type->get_count(s, g, "never", &value, &err));
    assert_int_equal(value, 0);
    store_start none_left = {.worker = "w", .counter = "grid:c", .counter_limit = 0};
    FAILS(g_type->create_running(s, g, &none_left, &number, &claim, &err), CAVIAR_STOPPED, NULL);
    /* A refusal by the budget takes no counter value, and a refusal creates no trial. */
    store_start both = {.worker = "w", .max_trials = 7, .counter = "grid:d", .counter_limit = 10};
    OK(g_type->create_running(s, g, &both, &number, &claim, &err));
    assert_int_equal(number, 5);
    assert_int_equal(claim, 0);
    OK(g_type->create_running(s, g, &both, &number, &claim, &err));
    assert_int_equal(claim, 1);
    FAILS(g_type->create_running(s, g, &both, &number, &claim, &err), CAVIAR_STOPPED, NULL);
    OK(g_type->get_count(s, g, "grid:d", &value, &err));
    assert_int_equal(value, 2);
    check_counts(s, g, 0, 7, 0, 0, 0, 7);

    store_history hg;
    store_history_init(&hg);
    sync_h(s, g, &hg);
    assert_int_equal(hg.n_trials, 7);
    const uint64_t want_claim[7] = {0, 1, 2, 3, 0, 0, 1};
    for (uint64_t i = 0; i < 7; i++) {
        assert_int_equal(trial_at(&hg, i)->has_claim, 1);
        assert_int_equal(trial_at(&hg, i)->claim, want_claim[i]);
    }
    check_mirror(s, g, &hg, "counters");
    store_history_release(&hg);
    store_history_release(&h);
    g_type->close(s);
}

/* ---- values, reports, attributes, ends ---------------------------------------------------------- */

static const double g_doubles[] = {
    0.1, 1.0 / 3.0, -2.5e-300, 4.9406564584124654e-324 /* the smallest subnormal */,
    DBL_MIN, DBL_MAX, -DBL_MAX, 9007199254740993.0 /* 2^53 + 1, rounded */, 0.0, -0.0,
    1.0000000000000002, 3.141592653589793, 123456789.12345679, -1e-7, 1e22, 2.2250738585072009e-308,
};

static void test_values(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "values");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    OK(g_type->add_param(s, id, "units", &g_units, &err));
    OK(g_type->add_param(s, id, "act", &g_act, &err));
    const size_t n_doubles = sizeof g_doubles / sizeof g_doubles[0];

    /* One trial per double, as a parameter value and as the final value. */
    for (size_t i = 0; i < n_doubles; i++) {
        uint64_t n = create(s, id, "w");
        assert_int_equal(n, i);
        OK(g_type->set_param(s, id, n, 0, g_doubles[i], &err));
        OK(g_type->set_param(s, id, n, 2, (double)(i % 4), &err));
        if (i % 2)
            OK(g_type->set_param(s, id, n, 1, 512, &err));
        OK(g_type->finish(s, id, n, CAVIAR_TRIAL_COMPLETE, g_doubles[i], &err));
    }
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    char bad[4096] = ""; /* every value that did not come back, not only the first */
    for (size_t i = 0; i < n_doubles; i++) {
        const store_trial *t = trial_at(&h, i);
        if (!same_double(store_trial_param(t, 0), g_doubles[i]))
            note(bad, sizeof bad, "\n  trial %zu: parameter value %a read back as %a", i,
                 g_doubles[i], store_trial_param(t, 0));
        if (!same_double(t->value, g_doubles[i]))
            note(bad, sizeof bad, "\n  trial %zu: value %a read back as %a", i, g_doubles[i],
                 t->value);
        assert_true(same_double(store_trial_param(t, 1), i % 2 ? 512 : NAN));
        assert_true(same_double(store_trial_param(t, 2), (double)(i % 4)));
        assert_int_equal(t->state, CAVIAR_TRIAL_COMPLETE);
    }

    /* Reports: every double, NaN and the infinities, at int64 steps in order of arrival. */
    const int64_t steps[] = {0, 1, -5, INT64_MAX, INT64_MIN, ((int64_t)1 << 53) + 1,
                             -((int64_t)1 << 40), 7, 6, 1000000000000LL};
    const size_t n_steps = sizeof steps / sizeof steps[0];
    double values[sizeof steps / sizeof steps[0] + 3];
    uint64_t r = create(s, id, "w");
    size_t n_reports = 0;
    for (size_t i = 0; i < n_steps; i++) {
        values[n_reports] = g_doubles[i % n_doubles];
        OK(g_type->report(s, id, r, steps[i], values[n_reports], &err));
        n_reports++;
    }
    const double special[3] = {NAN, INFINITY, -INFINITY};
    const int64_t special_steps[3] = {100, 101, 102};
    for (size_t i = 0; i < 3; i++) {
        values[n_reports++] = special[i];
        OK(g_type->report(s, id, r, special_steps[i], special[i], &err));
    }
    /* A repeated step is an error, and nothing changes. */
    FAILS(g_type->report(s, id, r, 7, 0.5, &err), ANY_ERROR, "step");
    FAILS(g_type->report(s, id, r, INT64_MIN, 0.5, &err), ANY_ERROR, "step");
    FAILS(g_type->report(s, id, r, 102, 0.5, &err), ANY_ERROR, "step");
    sync_h(s, id, &h);
    const store_trial *t = trial_at(&h, r);
    assert_int_equal(t->n_reports, n_reports);
    for (size_t i = 0; i < n_reports; i++) {
        int64_t want = i < n_steps ? steps[i] : special_steps[i - n_steps];
        if (t->steps[i] != want)
            fail_msg("report %zu: step %lld read back as %lld (order of arrival)", i,
                     (long long)want, (long long)t->steps[i]);
        if (!same_double(t->step_values[i], values[i]))
            note(bad, sizeof bad, "\n  report %zu (step %lld): value %a read back as %a", i,
                 (long long)want, values[i], t->step_values[i]);
    }
    if (bad[0])
        fail_msg("values changed on their way through the store:%s", bad);
    assert_true(t->max_step == INT64_MAX);
    double at;
    assert_true(store_trial_value_at(t, 8, &at) && same_double(at, values[7]));

    /* Attributes: overwritten in place, any text. */
    char long_value[8192];
    for (size_t i = 0; i < sizeof long_value - 1; i++)
        long_value[i] = (char)('a' + i % 26);
    long_value[sizeof long_value - 1] = '\0';
    const char *const keys[] = {"note", "ünïcødé ключ 🐍", "quotes", "empty", "long"};
    const char *const vals[] = {"second", "值 ✓", "it's \"quoted\" \\ back; DROP TABLE trials; --",
                                "", long_value};
    OK(g_type->set_attr(s, id, r, "note", "first", &err));
    for (size_t i = 0; i < 5; i++)
        OK(g_type->set_attr(s, id, r, keys[i], vals[i], &err));
    sync_h(s, id, &h);
    t = trial_at(&h, r);
    assert_int_equal(t->n_attrs, 5);
    for (size_t i = 0; i < 5; i++) {
        const char *got = store_trial_attr(t, keys[i]);
        if (!got || strcmp(got, vals[i]) != 0)
            fail_msg("attribute '%s' read back as '%.60s'", keys[i], got ? got : "(absent)");
    }

    /* The ends: COMPLETE, PRUNED (with a value or NaN), FAIL; each with its end time. */
    double before = wall_now();
    OK(g_type->finish(s, id, r, CAVIAR_TRIAL_PRUNED, -INFINITY, &err));
    uint64_t p = create(s, id, "w"), f = create(s, id, "w"), c = create(s, id, "w");
    OK(g_type->finish(s, id, p, CAVIAR_TRIAL_PRUNED, NAN, &err));
    OK(g_type->finish(s, id, f, CAVIAR_TRIAL_FAIL, NAN, &err));
    OK(g_type->finish(s, id, c, CAVIAR_TRIAL_COMPLETE, 0.125, &err));
    sync_h(s, id, &h);
    const struct {
        uint64_t number;
        caviar_trial_state state;
        double value;
    } ends[4] = {{r, CAVIAR_TRIAL_PRUNED, -INFINITY},
                 {p, CAVIAR_TRIAL_PRUNED, NAN},
                 {f, CAVIAR_TRIAL_FAIL, NAN},
                 {c, CAVIAR_TRIAL_COMPLETE, 0.125}};
    for (size_t i = 0; i < 4; i++) {
        t = trial_at(&h, ends[i].number);
        assert_int_equal(t->state, ends[i].state);
        if (!same_double(t->value, ends[i].value))
            fail_msg("trial %llu: value %g read back as %g", (unsigned long long)t->number,
                     ends[i].value, t->value);
        if (!(t->end_time >= before - 5 && t->end_time <= wall_now() + 5 &&
              t->end_time >= t->start_time))
            fail_msg("trial %llu: end_time %.6f (start %.6f, now %.6f)",
                     (unsigned long long)t->number, t->end_time, t->start_time, wall_now());
    }
    assert_int_equal(trial_at(&h, r)->n_reports, n_reports); /* kept after the end */
    check_counts(s, id, 0, 0, n_doubles + 1, 2, 1, n_doubles + 4);
    check_mirror(s, id, &h, "values");
    store_history_release(&h);
    g_type->close(s);
}

/* set_param, report and finish need a RUNNING trial; the message says it is not running. */
static void test_not_running(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "not running");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    uint64_t done = create(s, id, "w");
    OK(g_type->set_param(s, id, done, 0, 1.5, &err));
    OK(g_type->report(s, id, done, 1, 2.5, &err));
    OK(g_type->finish(s, id, done, CAVIAR_TRIAL_COMPLETE, 3.5, &err));
    uint64_t waiting;
    const double fixed = 4.5;
    OK(g_type->enqueue(s, id, &fixed, 1, &waiting, &err));
    uint64_t failed = create(s, id, "w");
    OK(g_type->abandon(s, id, failed, "interrupted", 0, &err));

    store_history h, before;
    store_history_init(&h);
    sync_h(s, id, &h);
    OK(history_copy(&before, &h, &err));
    const uint64_t numbers[3] = {done, waiting, failed};
    for (size_t i = 0; i < 3; i++) {
        uint64_t n = numbers[i];
        FAILS(g_type->set_param(s, id, n, 0, 9.5, &err), ANY_ERROR, "not running");
        FAILS(g_type->report(s, id, n, 2, 9.5, &err), ANY_ERROR, "not running");
        FAILS(g_type->finish(s, id, n, CAVIAR_TRIAL_COMPLETE, 9.5, &err), ANY_ERROR,
              "not running");
        FAILS(g_type->finish(s, id, n, CAVIAR_TRIAL_FAIL, NAN, &err), ANY_ERROR, "not running");
        FAILS(g_type->abandon(s, id, n, "interrupted", 1, &err), ANY_ERROR, "not running");
    }
    /* A trial that does not exist. */
    FAILS(g_type->set_param(s, id, 1000, 0, 9.5, &err), ANY_ERROR, NULL);
    FAILS(g_type->report(s, id, 1000, 2, 9.5, &err), ANY_ERROR, NULL);
    FAILS(g_type->finish(s, id, 1000, CAVIAR_TRIAL_COMPLETE, 9.5, &err), ANY_ERROR, NULL);
    FAILS(g_type->set_attr(s, id, 1000, "k", "v", &err), ANY_ERROR, NULL);
    FAILS(g_type->abandon(s, id, 1000, "interrupted", 1, &err), ANY_ERROR, NULL);
    /* Nothing changed. */
    char why[1024];
    sync_h(s, id, &h);
    if (history_diff(&before, &h, why, sizeof why))
        fail_msg("a refused call changed the study: %s", why);
    check_counts(s, id, 1, 0, 1, 0, 1, 3);
    store_history_release(&before);
    store_history_release(&h);
    g_type->close(s);
}

/* ---- versions and mirrors --------------------------------------------------------------------- */

static uint64_t version_of(store *s, int64_t id, store_history *h, uint64_t number)
{
    sync_h(s, id, h);
    return trial_at(h, number)->version;
}

static void test_versions(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "versions");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    uint64_t n = create(s, id, "w"), other = create(s, id, "w");
    uint64_t v = version_of(s, id, &h, n), w;
    uint64_t v_other = trial_at(&h, other)->version;
    assert_true(v > 0);
#define CHANGES(call)                                                                           \
    do {                                                                                        \
        uint64_t hv_ = h.version;                                                               \
        OK(call);                                                                               \
        w = version_of(s, id, &h, n);                                                           \
        if (!(w > v))                                                                           \
            fail_msg("%s: version %llu -> %llu", #call, (unsigned long long)v,                  \
                     (unsigned long long)w);                                                    \
        if (!(h.version > hv_))                                                                 \
            fail_msg("%s: history version %llu -> %llu", #call, (unsigned long long)hv_,        \
                     (unsigned long long)h.version);                                            \
        v = w;                                                                                  \
    } while (0)
    CHANGES(g_type->set_param(s, id, n, 0, 0.5, &err));
    CHANGES(g_type->set_param(s, id, n, 0, 0.75, &err));
    CHANGES(g_type->report(s, id, n, 1, 0.5, &err));
    CHANGES(g_type->report(s, id, n, 2, 0.25, &err));
    CHANGES(g_type->set_attr(s, id, n, "k", "v", &err));
    CHANGES(g_type->set_attr(s, id, n, "k", "w", &err));
    CHANGES(g_type->finish(s, id, n, CAVIAR_TRIAL_COMPLETE, 0.25, &err));
    /* The other trial did not change. */
    assert_int_equal(trial_at(&h, other)->version, v_other);

    /* A heartbeat, a reap that finds nothing and reads change no version. */
    store_history before;
    OK(history_copy(&before, &h, &err));
    OK(g_type->heartbeat(s, id, "w", &err));
    size_t n_reaped = 99;
    OK(g_type->reap(s, id, 3600, 3, &n_reaped, &err));
    assert_int_equal(n_reaped, 0);
    check_counts(s, id, 0, 1, 1, 0, 0, 2);
    uint64_t value;
    OK(g_type->get_count(s, id, "grid:x", &value, &err));
    store_study info;
    OK(g_type->load_study(s, study_name("versions"), &info, &err));
    store_study_release(&info);
    char why[1024];
    sync_h(s, id, &h);
    if (history_diff(&before, &h, why, sizeof why))
        fail_msg("heartbeat or a read changed the history: %s", why);
    store_history_release(&before);

    /* Many changes between two syncs: the incremental mirror equals a full one. */
    store_history lazy;
    store_history_init(&lazy);
    sync_h(s, id, &lazy);
    for (int rd = 0; rd < 5; rd++) {
        uint64_t a = create(s, id, "w"), b = create(s, id, "w");
        OK(g_type->set_param(s, id, a, 0, rd + 0.5, &err));
        OK(g_type->report(s, id, b, rd, rd * 2.0, &err));
        OK(g_type->set_attr(s, id, other, "round", rd % 2 ? "odd" : "even", &err));
        OK(g_type->report(s, id, other, rd, rd * 3.0, &err));
        OK(g_type->finish(s, id, a, CAVIAR_TRIAL_PRUNED, rd, &err));
        uint64_t q;
        const double x = rd;
        OK(g_type->enqueue(s, id, &x, 1, &q, &err));
        if (rd % 2)
            OK(g_type->abandon(s, id, b, "interrupted", 1, &err));
        check_mirror(s, id, &h, "versions, synced every round");
    }
    check_mirror(s, id, &lazy, "versions, synced once");
    if (history_diff(&h, &lazy, why, sizeof why))
        fail_msg("two mirrors of one store differ: %s", why);
    store_history_release(&lazy);
    store_history_release(&h);
    g_type->close(s);
}

/* Two handles on one study: each sees the other's changes after a sync, incrementally. */
static void test_two_handles(void **state)
{
    (void)state;
    NEEDS_SHARED_STORE();
    caviar_error err;
    char why[1024];
    store *a = open_store(), *b = open_store();
    int64_t ia = open_study(a, "two"), ib = open_study(b, "two");
    store_history ha, hb;
    store_history_init(&ha);
    store_history_init(&hb);
    OK(g_type->add_param(a, ia, "x", &g_any, &err));
    OK(g_type->add_param(a, ia, "act", &g_act, &err));
    sync_h(a, ia, &ha);
    sync_h(b, ib, &hb);
    assert_int_equal(hb.params.n, 2);

    uint64_t t0 = create(a, ia, "wa");
    OK(g_type->set_param(a, ia, t0, 0, 0.1, &err));
    OK(g_type->report(a, ia, t0, 1, 0.5, &err));
    check_mirror(b, ib, &hb, "b after a's trial 0");
    assert_int_equal(hb.n_trials, 1);
    assert_int_equal(trial_at(&hb, 0)->state, CAVIAR_TRIAL_RUNNING);
    assert_true(same_double(store_trial_param(trial_at(&hb, 0), 0), 0.1));
    assert_int_equal(trial_at(&hb, 0)->n_reports, 1);

    store_start sb = {.worker = "wb", .counter = "grid:two", .counter_limit = 10};
    uint64_t t1, claim;
    OK(g_type->create_running(b, ib, &sb, &t1, &claim, &err));
    assert_int_equal(t1, 1);
    OK(g_type->set_param(b, ib, t1, 1, 2, &err));
    OK(g_type->set_attr(b, ib, t1, "who", "b", &err));
    OK(g_type->report(a, ia, t0, 2, 0.25, &err)); /* both write between syncs */
    const double fixed[2] = {NAN, 3};
    uint64_t t2;
    OK(g_type->enqueue(a, ia, fixed, 2, &t2, &err));
    assert_int_equal(t2, 2);
    check_mirror(a, ia, &ha, "a after b's trial 1");
    check_mirror(b, ib, &hb, "b after b's trial 1");
    if (history_diff(&ha, &hb, why, sizeof why))
        fail_msg("the mirrors of two handles differ: %s", why);

    assert_int_equal(claim_next(b, ib, sb.worker), t2);
    OK(g_type->finish(a, ia, t0, CAVIAR_TRIAL_COMPLETE, 0.25, &err));
    OK(g_type->abandon(b, ib, t1, "interrupted", 1, &err)); /* -> trial 3, same claim */
    OK(g_type->abandon(a, ia, t2, "worker lost", 0, &err));
    check_mirror(a, ia, &ha, "a after the ends");
    check_mirror(b, ib, &hb, "b after the ends");
    if (history_diff(&ha, &hb, why, sizeof why))
        fail_msg("the mirrors of two handles differ: %s", why);
    assert_int_equal(ha.n_trials, 4);
    assert_int_equal(trial_at(&ha, 3)->retry_of, 1);
    assert_int_equal(trial_at(&ha, 3)->claim, claim);
    assert_int_equal(claim_next(a, ia, sb.worker), 3);
    OK(g_type->finish(a, ia, 3, CAVIAR_TRIAL_COMPLETE, 1, &err));
    check_mirror(b, ib, &hb, "b after a re-ran trial 1");
    check_mirror(a, ia, &ha, "a after a re-ran trial 1");
    if (history_diff(&ha, &hb, why, sizeof why))
        fail_msg("the mirrors of two handles differ: %s", why);
    store_counts ca = counts(a, ia), cb = counts(b, ib);
    assert_memory_equal(&ca, &cb, sizeof ca);
    assert_int_equal(ca.counted, 3);

    store_history_release(&ha);
    store_history_release(&hb);
    g_type->close(a);
    g_type->close(b);
}

/* ---- abandon, reap, heartbeat ----------------------------------------------------------------- */

static void test_abandon(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t id = open_study(s, "abandon");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    OK(g_type->add_param(s, id, "units", &g_units, &err));
    store_start grid = {.worker = "w", .counter = "grid:ab", .counter_limit = 10};
    uint64_t n, claim;

    /* Without requeue: FAIL with the reason, nothing else. */
    OK(g_type->create_running(s, id, &grid, &n, &claim, &err));
    assert_true(n == 0 && claim == 0);
    OK(g_type->set_param(s, id, 0, 0, 0.5, &err));
    OK(g_type->abandon(s, id, 0, "interrupted", 0, &err));
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 1);
    const store_trial *t = trial_at(&h, 0);
    assert_int_equal(t->state, CAVIAR_TRIAL_FAIL);
    assert_string_equal(t->fail_reason, "interrupted");
    assert_int_equal(t->requeued, 0);
    assert_true(isnan(t->value));
    assert_true(t->end_time >= t->start_time && t->end_time > 0);
    check_counts(s, id, 0, 0, 0, 0, 1, 1);

    /* With requeue: the old trial is requeued; a new WAITING one has its values and claim. */
    OK(g_type->create_running(s, id, &grid, &n, &claim, &err));
    assert_true(n == 1 && claim == 1);
    OK(g_type->set_param(s, id, 1, 0, -0.25, &err));
    OK(g_type->set_param(s, id, 1, 1, 128, &err));
    OK(g_type->report(s, id, 1, 1, 3.5, &err));
    OK(g_type->set_attr(s, id, 1, "k", "v", &err));
    OK(g_type->abandon(s, id, 1, "interrupted", 1, &err));
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 3);
    t = trial_at(&h, 1);
    assert_int_equal(t->state, CAVIAR_TRIAL_FAIL);
    assert_string_equal(t->fail_reason, "interrupted");
    assert_int_equal(t->requeued, 1);
    assert_int_equal(t->n_reports, 1); /* the failed run keeps its record */
    const store_trial *r = trial_at(&h, 2);
    assert_int_equal(r->state, CAVIAR_TRIAL_WAITING);
    assert_true(same_double(store_trial_param(r, 0), -0.25));
    assert_true(same_double(store_trial_param(r, 1), 128));
    assert_int_equal(r->has_claim, 1);
    assert_int_equal(r->claim, 1);
    assert_int_equal(r->retry_of, 1);
    assert_int_equal(r->retries, 0); /* abandon keeps the retries; reap adds one */
    assert_int_equal(r->requeued, 0);
    assert_int_equal(r->n_reports, 0);
    assert_null(r->fail_reason);
    assert_true(isnan(r->value));
    check_counts(s, id, 1, 0, 0, 0, 2, 2);
    uint64_t value;
    OK(g_type->get_count(s, id, "grid:ab", &value, &err));
    assert_int_equal(value, 2); /* a re-run takes no new counter value */

    /* The budget: the requeued trial does not count, its re-run does. */
    store_start budget = {.worker = "w", .max_trials = 3};
    OK(g_type->create_running(s, id, &budget, &n, &claim, &err));
    assert_int_equal(n, 3);
    FAILS(g_type->create_running(s, id, &budget, &n, &claim, &err), CAVIAR_STOPPED, NULL);

    /* The re-run is claimed first, keeps its values, and can be abandoned again. */
    assert_int_equal(claim_next(s, id, grid.worker), 2);
    sync_h(s, id, &h);
    r = trial_at(&h, 2);
    assert_int_equal(r->state, CAVIAR_TRIAL_RUNNING);
    assert_true(same_double(store_trial_param(r, 0), -0.25));
    assert_int_equal(r->claim, 1);
    OK(g_type->abandon(s, id, 2, "stopped by the user", 1, &err));
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 5);
    assert_int_equal(trial_at(&h, 4)->retry_of, 2);
    assert_int_equal(trial_at(&h, 4)->retries, 0);
    assert_int_equal(trial_at(&h, 4)->claim, 1);
    assert_string_equal(trial_at(&h, 2)->fail_reason, "stopped by the user");
    check_counts(s, id, 1, 1, 0, 0, 3, 3);
    /* Only a running trial can be abandoned. */
    FAILS(g_type->abandon(s, id, 1, "again", 1, &err), ANY_ERROR, "not running");
    FAILS(g_type->abandon(s, id, 4, "again", 0, &err), ANY_ERROR, "not running");
    check_mirror(s, id, &h, "abandon");
    store_history_release(&h);
    g_type->close(s);
}

static void test_reap(void **state)
{
    (void)state;
    caviar_error err;
    /* grace: long enough that a loaded machine does not stall past it between a heartbeat and
     * the next call; nap: surely past it. */
    const double grace = 0.5, nap = 1.0;
    store *s = open_store();
    int64_t id = open_study(s, "reap");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    store_start lost = {.worker = "lost", .counter = "grid:reap", .counter_limit = 100};
    uint64_t n, claim;
    assert_int_equal(create(s, id, "alive"), 0);
    OK(g_type->create_running(s, id, &lost, &n, &claim, &err));
    assert_true(n == 1 && claim == 0);
    OK(g_type->set_param(s, id, 1, 0, 2.75, &err));
    size_t n_reaped = 99;
    OK(g_type->reap(s, id, grace, 2, &n_reaped, &err)); /* nothing is stale yet */
    assert_int_equal(n_reaped, 0);

    /* "alive" beats, "lost" does not: trial 1 is reaped and re-queued with retries 1. */
    sleep_s(nap);
    OK(g_type->heartbeat(s, id, "alive", &err));
    OK(g_type->reap(s, id, grace, 2, &n_reaped, &err));
    assert_int_equal(n_reaped, 1);
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 3);
    assert_int_equal(trial_at(&h, 0)->state, CAVIAR_TRIAL_RUNNING);
    const store_trial *t = trial_at(&h, 1);
    assert_int_equal(t->state, CAVIAR_TRIAL_FAIL);
    assert_non_null(t->fail_reason);
    assert_string_equal(t->fail_reason, "worker lost");
    assert_int_equal(t->requeued, 1);
    t = trial_at(&h, 2);
    assert_int_equal(t->state, CAVIAR_TRIAL_WAITING);
    assert_int_equal(t->retry_of, 1);
    assert_int_equal(t->retries, 1);
    assert_true(t->has_claim && t->claim == 0);
    assert_true(same_double(store_trial_param(t, 0), 2.75));

    /* The chain: each re-run lost again has retries + 1, until max_retries. */
    for (uint64_t k = 2; k <= 3; k++) {
        assert_int_equal(claim_next(s, id, lost.worker), k);
        OK(g_type->reap(s, id, grace, 2, &n_reaped, &err)); /* just claimed: fresh */
        assert_int_equal(n_reaped, 0);
        sleep_s(nap);
        OK(g_type->heartbeat(s, id, "alive", &err));
        OK(g_type->reap(s, id, grace, 2, NULL, &err));
        sync_h(s, id, &h);
        t = trial_at(&h, k);
        assert_int_equal(t->state, CAVIAR_TRIAL_FAIL);
        assert_string_equal(t->fail_reason, "worker lost");
        assert_int_equal(t->retries, k - 1);
        if (k == 2) {
            assert_int_equal(t->requeued, 1);
            const store_trial *next = trial_at(&h, 3);
            assert_int_equal(next->state, CAVIAR_TRIAL_WAITING);
            assert_int_equal(next->retry_of, 2);
            assert_int_equal(next->retries, 2);
            assert_true(next->has_claim && next->claim == 0);
            assert_true(same_double(store_trial_param(next, 0), 2.75));
        } else {
            assert_int_equal(t->requeued, 0); /* retries == max_retries: the chain stops */
            assert_int_equal(h.n_trials, 4);
        }
    }
    assert_int_equal(trial_at(&h, 0)->state, CAVIAR_TRIAL_RUNNING);
    check_counts(s, id, 0, 1, 0, 0, 3, 2);
    uint64_t value;
    OK(g_type->get_count(s, id, "grid:reap", &value, &err));
    assert_int_equal(value, 1);

    /* max_retries 0: reaped, not re-queued. A trial's heartbeat is its worker's, so "alive" can
     * still end its trial normally. */
    OK(g_type->create_running(s, id, &lost, &n, &claim, &err));
    assert_int_equal(n, 4);
    sleep_s(nap);
    OK(g_type->heartbeat(s, id, "alive", &err));
    OK(g_type->reap(s, id, grace, 0, &n_reaped, &err));
    assert_int_equal(n_reaped, 1);
    OK(g_type->finish(s, id, 0, CAVIAR_TRIAL_COMPLETE, 1.5, &err));
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, 5);
    assert_int_equal(trial_at(&h, 4)->state, CAVIAR_TRIAL_FAIL);
    assert_int_equal(trial_at(&h, 4)->requeued, 0);
    assert_int_equal(trial_at(&h, 0)->state, CAVIAR_TRIAL_COMPLETE);
    /* Reaping is per study. */
    int64_t other = open_study(s, "reap other");
    assert_int_equal(create(s, other, "lost"), 0);
    sleep_s(nap);
    OK(g_type->reap(s, id, grace, 2, &n_reaped, &err));
    assert_int_equal(n_reaped, 0);
    OK(g_type->reap(s, other, grace, 2, &n_reaped, &err));
    assert_int_equal(n_reaped, 1);
    check_mirror(s, id, &h, "reap");
    store_history_release(&h);
    g_type->close(s);
}

/* ---- listing and deleting studies --------------------------------------------------------------
 * list_studies gives every study with its definition and id, oldest first; delete_study removes
 * one with every row it holds and leaves the others exactly as they were. On PostgreSQL the
 * database is shared with other tests and runs: only the studies of this test's prefix count. */

/* The index in l of the study of that name, or -1. */
static long listed(const store_study_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->studies[i].name && strcmp(l->studies[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* How many studies of l carry this test's prefix. */
static size_t n_listed_here(const store_study_list *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->studies[i].name && strncmp(l->studies[i].name, g_prefix, strlen(g_prefix)) == 0;
    return n;
}

static void test_list_studies(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    store_study_list l;
    OK(g_type->list_studies(s, &l, &err));
    assert_int_equal(n_listed_here(&l), 0);
    store_study_list_release(&l);
    assert_null(l.studies);
    assert_int_equal(l.n, 0);

    store_study_info a = {
        .name = study_name("list a"), .direction = CAVIAR_MAXIMIZE,
        .seed = 0xFEDCBA9876543210ULL, .sampler = "tpe", .sampler_settings = "n_startup=10",
        .pruner = "median", .pruner_settings = "n_warmup=3", .spec = "objective=branin\n"};
    store_study_info b = {.name = study_name("list 'b' ü"), .direction = CAVIAR_MINIMIZE,
                          .seed = 0, .sampler = "random"};
    store_study_info c = {.name = study_name("list c"), .direction = CAVIAR_MINIMIZE, .seed = 3,
                          .sampler = "sobol", .pruner = "none", .spec = ""};
    int64_t ids[3];
    OK(g_type->open_study(s, &a, &ids[0], &err));
    OK(g_type->open_study(s, &b, &ids[1], &err));
    OK(g_type->open_study(s, &c, &ids[2], &err));
    const store_study_info *want[3] = {&a, &b, &c};

    /* Twice through each handle: the list does not change by being read. */
    for (int pass = 0; pass < (is_memory() ? 2 : 4); pass++) {
        store *h = s;
        if (pass >= 2)
            h = open_store();
        OK(g_type->list_studies(h, &l, &err));
        assert_int_equal(n_listed_here(&l), 3);
        long at[3];
        for (int i = 0; i < 3; i++) {
            at[i] = listed(&l, want[i]->name);
            if (at[i] < 0)
                fail_msg("study '%s' is not listed", want[i]->name);
            check_study(&l.studies[at[i]], want[i]);
            assert_int_equal(l.studies[at[i]].id, ids[i]);
        }
        /* Oldest first: the ids increase along the whole list. */
        assert_true(at[0] < at[1] && at[1] < at[2]);
        for (size_t i = 1; i < l.n; i++)
            assert_true(l.studies[i - 1].id < l.studies[i].id);
        store_study_list_release(&l);
        /* load_study tells the id too. */
        store_study got;
        OK(g_type->load_study(h, b.name, &got, &err));
        assert_int_equal(got.id, ids[1]);
        store_study_release(&got);
        if (h != s)
            g_type->close(h);
    }
    g_type->close(s);
}

/* Fills a study with a bit of everything a study holds: parameters, trials waiting, running,
 * complete, failed and re-queued, reports, attributes, a counter. */
static void populate(store *s, int64_t id, double base)
{
    caviar_error err;
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    OK(g_type->add_param(s, id, "act", &g_act, &err));
    const double fixed[2] = {base, 1};
    uint64_t n, claim;
    OK(g_type->enqueue(s, id, fixed, 2, &n, &err));
    store_start grid = {.worker = "w", .counter = "grid:del", .counter_limit = 100};
    for (int i = 0; i < 3; i++) {
        OK(g_type->create_running(s, id, &grid, &n, &claim, &err));
        OK(g_type->set_param(s, id, n, 0, base + i, &err));
        OK(g_type->set_param(s, id, n, 1, (double)(i % 4), &err));
        OK(g_type->report(s, id, n, 1, base * 2 + i, &err));
        OK(g_type->set_attr(s, id, n, "note", "populated", &err));
    }
    OK(g_type->finish(s, id, 1, CAVIAR_TRIAL_COMPLETE, base, &err));
    OK(g_type->abandon(s, id, 2, "interrupted", 1, &err));
    /* trial 3 stays running, trial 4 (the re-run of 2) and trial 0 wait */
}

/* Rows of the study of that id left in each table, counted with the engine's own client (SQL
 * back-ends only); fails the test when there is any. */
static void check_no_rows(int64_t id)
{
    static const char *const tables[] = {"trials", "trial_params", "trial_values", "trial_attrs",
                                          "params", "counters", NULL};
    for (int i = 0; tables[i]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE study = %lld", tables[i],
                 (long long)id);
        long long n = -1;
        if (g_type == &store_sqlite) {
            sqlite3 *db = NULL;
            sqlite3_stmt *stmt = NULL;
            assert_int_equal(sqlite3_open(g_url + strlen("sqlite:"), &db), SQLITE_OK);
            assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
            assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
            n = sqlite3_column_int64(stmt, 0);
            sqlite3_finalize(stmt);
            sqlite3_close(db);
        } else {
            PGconn *c = PQconnectdb(g_url);
            assert_int_equal(PQstatus(c), CONNECTION_OK);
            PGresult *r = PQexec(c, sql);
            assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
            n = atoll(PQgetvalue(r, 0, 0));
            PQclear(r);
            PQfinish(c);
        }
        if (n != 0)
            fail_msg("study %lld was deleted but %lld of its rows are left in '%s'",
                     (long long)id, n, tables[i]);
    }
}

/* Blobs: bytes back exactly (zeros and every byte value, a few MB, empty), replaced by key,
 * per study, missing ones EMISSING, gone with their study, and no version change. */
static void test_blobs(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t a = open_study(s, "blobs a"), b = open_study(s, "blobs b");
    size_t big = 3u << 20;
    unsigned char *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    memset(data, 0, 1000);
    store_history h;
    store_history_init(&h);
    sync_h(s, a, &h);
    uint64_t version = h.version;
    OK(g_type->put_blob(s, a, "day/1", data, big, &err));
    OK(g_type->put_blob(s, a, "empty", "", 0, &err));
    OK(g_type->put_blob(s, b, "day/1", "other", 5, &err));
    void *got;
    size_t len;
    OK(g_type->get_blob(s, a, "day/1", &got, &len, &err));
    assert_int_equal(len, big);
    assert_memory_equal(got, data, big);
    free(got);
    OK(g_type->get_blob(s, a, "empty", &got, &len, &err));
    assert_int_equal(len, 0);
    free(got);
    for (size_t n = 0; n < 7; n++) { /* every padding of the text form */
        OK(g_type->put_blob(s, a, "small", data + 1000 - n, n + 1, &err));
        OK(g_type->get_blob(s, a, "small", &got, &len, &err));
        assert_int_equal(len, n + 1);
        assert_memory_equal(got, data + 1000 - n, n + 1);
        free(got);
    }
    OK(g_type->put_blob(s, a, "day/1", "replaced", 8, &err));
    OK(g_type->get_blob(s, a, "day/1", &got, &len, &err));
    assert_int_equal(len, 8);
    assert_memory_equal(got, "replaced", 8);
    free(got);
    OK(g_type->get_blob(s, b, "day/1", &got, &len, &err));
    assert_memory_equal(got, "other", 5);
    free(got);
    got = (void *)1;
    FAILS(g_type->get_blob(s, a, "day/2", &got, &len, &err), CAVIAR_EMISSING, "day/2");
    assert_null(got);
    assert_int_equal(len, 0);
    sync_h(s, a, &h);
    assert_true(h.version == version);
    store_history_release(&h);
    OK(g_type->delete_study(s, study_name("blobs a"), &err));
    a = open_study(s, "blobs a");
    FAILS(g_type->get_blob(s, a, "day/1", &got, &len, &err), CAVIAR_EMISSING, "day/1");
    OK(g_type->get_blob(s, b, "day/1", &got, &len, &err));
    free(got);
    free(data);
    g_type->close(s);
}

static void test_delete_study(void **state)
{
    (void)state;
    caviar_error err;
    store *s = open_store();
    int64_t keep = open_study(s, "keep");
    int64_t doomed = open_study(s, "doomed");
    int64_t after = open_study(s, "after"); /* created after the doomed one */
    populate(s, keep, 10);
    populate(s, doomed, 20);
    populate(s, after, 30);
    store_history hk, ha, hk0, ha0;
    store_history_init(&hk);
    store_history_init(&ha);
    sync_h(s, keep, &hk);
    sync_h(s, after, &ha);
    OK(history_copy(&hk0, &hk, &err));
    OK(history_copy(&ha0, &ha, &err));
    uint64_t value;

    OK(g_type->delete_study(s, study_name("doomed"), &err));
    FAILS(g_type->delete_study(s, study_name("doomed"), &err), CAVIAR_EMISSING, "doomed");
    FAILS(g_type->delete_study(s, study_name("never"), &err), CAVIAR_EMISSING, "never");
    store_study got;
    FAILS(g_type->load_study(s, study_name("doomed"), &got, &err), CAVIAR_EMISSING, "doomed");
    store_study_list l;
    OK(g_type->list_studies(s, &l, &err));
    assert_int_equal(n_listed_here(&l), 2);
    assert_true(listed(&l, study_name("doomed")) < 0);
    assert_true(listed(&l, study_name("keep")) >= 0 && listed(&l, study_name("after")) >= 0);
    store_study_list_release(&l);

    /* The others are as they were: no version moved, no trial changed. */
    char why[1024];
    sync_h(s, keep, &hk);
    sync_h(s, after, &ha);
    if (history_diff(&hk0, &hk, why, sizeof why) || history_diff(&ha0, &ha, why, sizeof why))
        fail_msg("deleting a study changed another one: %s", why);
    check_mirror(s, keep, &hk, "the study kept");
    check_counts(s, after, 2, 1, 1, 0, 1, 4);
    OK(g_type->get_count(s, keep, "grid:del", &value, &err));
    assert_int_equal(value, 3);

    /* Every call on the deleted study's id fails: the id names nothing any more. */
    store_history hd;
    store_history_init(&hd);
    uint64_t n, claim;
    store_start start = {.worker = "w"};
    const double x = 1;
    FAILS(g_type->sync(s, doomed, &hd, &err), ANY_ERROR, "does not exist");
    FAILS(g_type->create_running(s, doomed, &start, &n, &claim, &err), ANY_ERROR,
          "does not exist");
    FAILS(g_type->enqueue(s, doomed, &x, 1, &n, &err), ANY_ERROR, "does not exist");
    FAILS(g_type->add_param(s, doomed, "y", &g_any, &err), ANY_ERROR, "does not exist");
    FAILS(g_type->set_param(s, doomed, 3, 0, 1.5, &err), ANY_ERROR, "does not exist");
    FAILS(g_type->report(s, doomed, 3, 2, 1.5, &err), ANY_ERROR, "does not exist");
    FAILS(g_type->finish(s, doomed, 3, CAVIAR_TRIAL_COMPLETE, 1.5, &err), ANY_ERROR,
          "does not exist");
    FAILS(g_type->abandon(s, doomed, 3, "interrupted", 1, &err), ANY_ERROR, "does not exist");
    FAILS(g_type->set_attr(s, doomed, 3, "k", "v", &err), ANY_ERROR, "does not exist");
    store_history_release(&hd);
    if (!is_memory())
        check_no_rows(doomed);

    /* The name again: a new, empty study with an id never used before. */
    int64_t again = open_study(s, "doomed");
    assert_true(again != doomed && again != keep && again != after);
    assert_true(again > after);
    store_history_init(&hd);
    sync_h(s, again, &hd);
    assert_int_equal(hd.n_trials, 0);
    assert_int_equal(hd.params.n, 0);
    check_counts(s, again, 0, 0, 0, 0, 0, 0);
    OK(g_type->get_count(s, again, "grid:del", &value, &err));
    assert_int_equal(value, 0);
    assert_int_equal(create(s, again, "w"), 0);
    check_mirror(s, again, &hd, "the study created again");
    store_history_release(&hd);

    /* Deleting the newest study does not give its id to the next one either. */
    OK(g_type->delete_study(s, study_name("doomed"), &err));
    int64_t next = open_study(s, "next");
    assert_true(next > again);
    if (!is_memory()) {
        check_no_rows(again);
        /* Another handle agrees, and its deletions are seen here. */
        store *s2 = open_store();
        OK(g_type->list_studies(s2, &l, &err));
        assert_int_equal(n_listed_here(&l), 3);
        assert_true(listed(&l, study_name("next")) >= 0);
        store_study_list_release(&l);
        OK(g_type->delete_study(s2, study_name("after"), &err));
        g_type->close(s2);
        FAILS(g_type->load_study(s, study_name("after"), &got, &err), CAVIAR_EMISSING, "after");
        FAILS(g_type->sync(s, after, &ha, &err), ANY_ERROR, "does not exist");
        check_no_rows(after);
    }
    check_mirror(s, keep, &hk, "the study kept, at the end");
    if (history_diff(&hk0, &hk, why, sizeof why))
        fail_msg("deleting studies changed another one: %s", why);
    store_history_release(&hk);
    store_history_release(&ha);
    store_history_release(&hk0);
    store_history_release(&ha0);
    g_type->close(s);
}

/* ---- many processes --------------------------------------------------------------------------
 * N_CHILDREN processes, each with its own store, N_ITER iterations each of: claim a waiting trial
 * or create one (budget BUDGET; every other iteration also claiming from a counter of GRID_LIMIT
 * values), set parameters, report, end it. Each child writes what it got to a pipe, one line per
 * trial ("C number" claimed, "N number claim" created, "S" refused, "E message" failed), waits
 * at a barrier until all are done, then checks that its incremental mirror equals a full sync
 * ("X difference" when not). */

#define N_CHILDREN 8
#define N_ITER 50
#define N_ENQUEUED 40
#define BUDGET 200
#define GRID_LIMIT 60

static int child_failed(int fd, int k, const char *what, const caviar_error *err)
{
    fprintf(stderr, "child %d: %s: %s\n", k, what, err->msg);
    dprintf(fd, "E %s: %s\n", what, err->msg);
    return 1;
}

#define CHILD_OK(call, what)                                                                    \
    do {                                                                                        \
        if ((call) != CAVIAR_OK)                                                                \
            return child_failed(fd, k, (what), &err);                                           \
    } while (0)

static int child_main(int k, int fd, int barrier, const char *name)
{
    caviar_error err = {0};
    char worker[32];
    snprintf(worker, sizeof worker, "child-%d", k);
    store *s = NULL;
    CHILD_OK(g_type->open(g_url, &s, &err), "open");
    store_study_info info = {.name = name, .direction = CAVIAR_MINIMIZE, .seed = 1,
                             .sampler = "random", .pruner = "none"};
    int64_t id;
    CHILD_OK(g_type->open_study(s, &info, &id, &err), "open_study");
    store_history h;
    store_history_init(&h);
    for (int it = 0; it < N_ITER; it++) {
        CHILD_OK(g_type->sync(s, id, &h, &err), "sync");
        store_start start = {.worker = worker};
        uint64_t n = 0, claim = UINT64_MAX;
        int found = 0;
        CHILD_OK(g_type->claim_waiting(s, id, &start, &n, &found, &err), "claim_waiting");
        if (found) {
            dprintf(fd, "C %llu\n", (unsigned long long)n);
        } else {
            start.max_trials = BUDGET;
            if (it % 2 == 0) {
                start.counter = "grid:conc";
                start.counter_limit = GRID_LIMIT;
            }
            caviar_status rc = g_type->create_running(s, id, &start, &n, &claim, &err);
            if (rc == CAVIAR_STOPPED) {
                dprintf(fd, "S\n");
                continue;
            }
            CHILD_OK(rc, "create_running");
            if (start.counter)
                dprintf(fd, "N %llu %llu\n", (unsigned long long)n, (unsigned long long)claim);
            else
                dprintf(fd, "N %llu -\n", (unsigned long long)n);
            CHILD_OK(g_type->set_param(s, id, n, 0, 1000.0 + (double)n, &err), "set_param x");
        }
        CHILD_OK(g_type->set_param(s, id, n, 1, (double)(8 << (it % 6)), &err), "set_param units");
        for (int64_t step = 0; step < 3; step++)
            CHILD_OK(g_type->report(s, id, n, step, (double)n + (double)step, &err), "report");
        CHILD_OK(g_type->heartbeat(s, id, worker, &err), "heartbeat");
        if (it % 10 == 9)
            CHILD_OK(g_type->reap(s, id, 3600, 1, NULL, &err), "reap");
        CHILD_OK(g_type->finish(s, id, n, CAVIAR_TRIAL_COMPLETE, (double)n + 0.25, &err),
                 "finish");
    }
    dprintf(fd, "D\n");
    char byte;
    while (read(barrier, &byte, 1) < 0 && errno == EINTR)
        ; /* EOF once the parent has seen every child done */
    CHILD_OK(g_type->sync(s, id, &h, &err), "final sync");
    store_history full;
    store_history_init(&full);
    CHILD_OK(g_type->sync(s, id, &full, &err), "full sync");
    char why[1024];
    if (history_diff(&h, &full, why, sizeof why)) {
        fprintf(stderr, "child %d: the incremental mirror differs from a full sync: %s\n", k, why);
        dprintf(fd, "X %s\n", why);
        return 1;
    }
    store_history_release(&full);
    store_history_release(&h);
    g_type->close(s);
    return 0;
}

/* A family of child processes, each running fn(k, its pipe, the barrier, the study name) and
 * writing lines to its own pipe; they wait at the barrier until the parent closes it. */
#define MAX_CHILDREN 8

typedef struct family {
    int n;
    pid_t pid[MAX_CHILDREN];
    int out[MAX_CHILDREN];
    int barrier; /* the write end: closing it lets every child go on */
    char *text[MAX_CHILDREN];
    size_t len[MAX_CHILDREN], cap[MAX_CHILDREN];
} family;

static void family_start(family *f, int n, int (*fn)(int, int, int, const char *),
                         const char *name)
{
    memset(f, 0, sizeof *f);
    int barrier[2];
    assert_int_equal(pipe(barrier), 0);
    fflush(stdout);
    fflush(stderr);
    for (int k = 0; k < n; k++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            close(barrier[1]);
            for (int j = 0; j < k; j++)
                close(f->out[j]);
            _exit(fn(k, p[1], barrier[0], name));
        }
        close(p[1]);
        f->pid[k] = pid;
        f->out[k] = p[0];
        f->n = k + 1;
    }
    close(barrier[0]);
    f->barrier = barrier[1];
}

/* Reads child k's pipe up to a "D" line (stop_at_done) or to its end. */
static void family_read(family *f, int k, int stop_at_done)
{
    char **buf = &f->text[k];
    size_t *len = &f->len[k], *cap = &f->cap[k];
    for (;;) {
        if (stop_at_done && *len >= 2 &&
            ((*len == 2 && memcmp(*buf, "D\n", 2) == 0) ||
             (*len > 2 && memcmp(*buf + *len - 3, "\nD\n", 3) == 0)))
            return;
        if (*cap - *len < 2) {
            *cap = *cap ? 2 * *cap : 4096;
            *buf = realloc(*buf, *cap);
            assert_non_null(*buf);
        }
        ssize_t r = read(f->out[k], *buf + *len, stop_at_done ? 1 : *cap - *len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        *len += (size_t)r;
        (*buf)[*len] = '\0';
    }
}

/* Opens the barrier (if still closed), reads every pipe to its end and waits for every child;
 * fails the test with each failed child's message ("E ..." or "X ..." line). */
static void family_end(family *f)
{
    if (f->barrier >= 0)
        close(f->barrier);
    f->barrier = -1;
    char problems[4096] = "";
    for (int k = 0; k < f->n; k++) {
        family_read(f, k, 0);
        close(f->out[k]);
        int status = 0;
        while (waitpid(f->pid[k], &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        const char *line = f->text[k] ? strstr(f->text[k], "E ") : NULL;
        if (!line && f->text[k])
            line = strstr(f->text[k], "X ");
        note(problems, sizeof problems, "\n  child %d (status %d): %.300s%s", k, status,
             line ? line : "(no message)",
             line && (contains_ci(line, "locked") || contains_ci(line, "busy"))
                 ? "  <- the database was busy and a child saw it"
                 : "");
    }
    if (problems[0])
        fail_msg("children failed:%s", problems);
}

static void family_free(family *f)
{
    for (int k = 0; k < f->n; k++)
        free(f->text[k]);
}

static void test_concurrency(void **state)
{
    (void)state;
    NEEDS_SHARED_STORE();
    caviar_error err;
    const char *name = study_name("concurrency");
    store *s = open_store();
    int64_t id = open_study(s, "concurrency");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    OK(g_type->add_param(s, id, "units", &g_units, &err));
    for (uint64_t i = 0; i < N_ENQUEUED; i++) {
        const double x = (double)i;
        uint64_t n;
        OK(g_type->enqueue(s, id, &x, 1, &n, &err));
        assert_int_equal(n, i);
    }
    g_type->close(s); /* no connection crosses fork() */

    _Static_assert(N_CHILDREN <= MAX_CHILDREN, "too many children");
    family f;
    family_start(&f, N_CHILDREN, child_main, name);
    for (int k = 0; k < N_CHILDREN; k++)
        family_read(&f, k, 1);
    family_end(&f); /* every child is done (or dead): now they check their mirrors */

    /* What the children say they got: every trial once, every counter value once. */
    unsigned seen[BUDGET + N_CHILDREN * N_ITER] = {0};
    unsigned claims[GRID_LIMIT] = {0};
    int has_claim[BUDGET] = {0};
    uint64_t claim_of[BUDGET] = {0};
    size_t n_got = 0, n_claimed = 0, n_claims = 0;
    for (int k = 0; k < N_CHILDREN; k++) {
        for (char *line = f.text[k]; line && *line;) {
            char *end = strchr(line, '\n');
            if (end)
                *end = '\0';
            unsigned long long n, c;
            if (line[0] == 'C' && sscanf(line, "C %llu", &n) == 1) {
                if (n >= N_ENQUEUED)
                    fail_msg("child %d claimed trial %llu, which was never enqueued", k, n);
                seen[n]++;
                n_got++;
                n_claimed++;
            } else if (line[0] == 'N') {
                if (sscanf(line, "N %llu", &n) != 1 || n >= BUDGET)
                    fail_msg("child %d: bad line '%s' (beyond the budget?)", k, line);
                seen[n]++;
                n_got++;
                if (sscanf(line, "N %llu %llu", &n, &c) == 2) {
                    if (c >= GRID_LIMIT)
                        fail_msg("trial %llu claimed %llu, beyond the limit %d", n, c, GRID_LIMIT);
                    claims[c]++;
                    n_claims++;
                    has_claim[n] = 1;
                    claim_of[n] = c;
                }
            }
            line = end ? end + 1 : line + strlen(line);
        }
    }
    family_free(&f);
    for (size_t n = 0; n < BUDGET + N_CHILDREN * N_ITER; n++)
        if (seen[n] > 1)
            fail_msg("trial %zu was handed out %u times", n, seen[n]);
    for (size_t n = 0; n < N_ENQUEUED; n++)
        if (seen[n] != 1)
            fail_msg("enqueued trial %zu ran %u times", n, seen[n]);
    assert_int_equal(n_claimed, N_ENQUEUED);
    assert_int_equal(n_got, BUDGET);
    for (size_t c = 0; c < n_claims; c++)
        if (claims[c] != 1)
            fail_msg("counter value %zu was claimed %u times (%zu claims)", c, claims[c],
                     n_claims);

    /* What the store says. */
    s = open_store();
    id = open_study(s, "concurrency");
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    assert_int_equal(h.n_trials, BUDGET);
    for (uint64_t n = 0; n < BUDGET; n++) {
        const store_trial *t = trial_at(&h, n);
        if (t->state != CAVIAR_TRIAL_COMPLETE || !same_double(t->value, (double)n + 0.25))
            fail_msg("trial %llu is %s with value %g", (unsigned long long)n,
                     caviar_trial_state_name(t->state), t->value);
        assert_int_equal(t->n_reports, 3);
        assert_true(same_double(store_trial_param(t, 0), n < N_ENQUEUED ? (double)n
                                                                         : 1000.0 + (double)n));
        assert_int_equal(t->has_claim, has_claim[n]);
        if (has_claim[n])
            assert_int_equal(t->claim, claim_of[n]);
    }
    check_counts(s, id, 0, 0, BUDGET, 0, 0, BUDGET);
    uint64_t value;
    OK(g_type->get_count(s, id, "grid:conc", &value, &err));
    assert_int_equal(value, n_claims);
    store_start start = {.worker = "parent", .max_trials = BUDGET};
    uint64_t n, claim;
    FAILS(g_type->create_running(s, id, &start, &n, &claim, &err), CAVIAR_STOPPED, NULL);
    store_history_release(&h);
    g_type->close(s);
}

/* N_REAPERS processes reap the same N_STALE stale trials at once: each is failed and re-queued
 * by exactly one of them (a trial re-queued twice would run its grid point twice). */
#define N_REAPERS 4
#define N_STALE 20

static int reaper_main(int k, int fd, int barrier, const char *name)
{
    caviar_error err = {0};
    store *s = NULL;
    CHILD_OK(g_type->open(g_url, &s, &err), "open");
    store_study_info info = {.name = name, .direction = CAVIAR_MINIMIZE, .seed = 1,
                             .sampler = "random", .pruner = "none"};
    int64_t id;
    CHILD_OK(g_type->open_study(s, &info, &id, &err), "open_study");
    char byte;
    while (read(barrier, &byte, 1) < 0 && errno == EINTR)
        ; /* all start together */
    size_t n = 0;
    CHILD_OK(g_type->reap(s, id, 0.3, 3, &n, &err), "reap");
    dprintf(fd, "R %zu\n", n);
    g_type->close(s);
    return 0;
}

static void test_concurrent_reap(void **state)
{
    (void)state;
    NEEDS_SHARED_STORE();
    caviar_error err;
    const char *name = study_name("reapers");
    store *s = open_store();
    int64_t id = open_study(s, "reapers");
    OK(g_type->add_param(s, id, "x", &g_any, &err));
    store_start dead = {.worker = "dead", .counter = "grid:r", .counter_limit = 1000};
    for (uint64_t i = 0; i < N_STALE; i++) {
        uint64_t n, claim;
        OK(g_type->create_running(s, id, &dead, &n, &claim, &err));
        OK(g_type->set_param(s, id, n, 0, (double)i + 0.5, &err));
    }
    g_type->close(s);
    sleep_s(0.6);

    _Static_assert(N_REAPERS <= MAX_CHILDREN, "too many children");
    family f;
    family_start(&f, N_REAPERS, reaper_main, name);
    sleep_s(0.2); /* let them connect, then let them go at once */
    family_end(&f);
    size_t n_reaped = 0;
    for (int k = 0; k < N_REAPERS; k++) {
        size_t n = 0;
        if (!f.text[k] || sscanf(f.text[k], "R %zu", &n) != 1)
            fail_msg("reaper %d said '%s'", k, f.text[k] ? f.text[k] : "");
        n_reaped += n;
    }
    family_free(&f);

    s = open_store();
    id = open_study(s, "reapers");
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    if (h.n_trials != 2 * N_STALE || n_reaped != N_STALE)
        fail_msg("%d stale trials, %zu reaped, %zu trials after (want %d)", N_STALE, n_reaped,
                 h.n_trials, 2 * N_STALE);
    unsigned reruns[N_STALE] = {0};
    for (uint64_t i = 0; i < N_STALE; i++) {
        const store_trial *t = trial_at(&h, i);
        assert_int_equal(t->state, CAVIAR_TRIAL_FAIL);
        assert_int_equal(t->requeued, 1);
        const store_trial *r = trial_at(&h, N_STALE + i);
        assert_int_equal(r->state, CAVIAR_TRIAL_WAITING);
        assert_int_equal(r->retries, 1);
        assert_true(r->retry_of >= 0 && r->retry_of < N_STALE);
        reruns[r->retry_of]++;
        assert_true(r->has_claim && r->claim == (uint64_t)r->retry_of);
        assert_true(same_double(store_trial_param(r, 0), (double)r->retry_of + 0.5));
    }
    for (size_t i = 0; i < N_STALE; i++)
        if (reruns[i] != 1)
            fail_msg("trial %zu was re-queued %u times", i, reruns[i]);
    check_counts(s, id, N_STALE, 0, 0, 0, N_STALE, N_STALE);
    store_history_release(&h);
    g_type->close(s);
}

/* Deleting a study while processes work on it and on another one: the workers of the other
 * study never notice; the workers of the deleted one get "does not exist" errors and never
 * write into a study created after the deletion (ids are not reused). */
#define N_DELETE_KEEPERS 3
#define N_DELETE_DOOMED 3
#define DELETE_KEEP_ITER 40

/* Children 0 .. N_DELETE_KEEPERS-1 run DELETE_KEEP_ITER trials in study name (the one kept);
 * the others run trials in study name + " doomed" until it is gone (or DELETE_WAIT_SECONDS
 * have passed, a failure). Each pauses a millisecond between trials: SQLite's lock is not
 * fair, and writers that never pause could keep the deletion waiting for a long time. */
#define DELETE_WAIT_SECONDS 60.0
static int delete_child_main(int k, int fd, int barrier, const char *name)
{
    caviar_error err = {0};
    store *s = NULL;
    CHILD_OK(g_type->open(g_url, &s, &err), "open");
    char doomed[600];
    snprintf(doomed, sizeof doomed, "%s doomed", name);
    int keeper = k < N_DELETE_KEEPERS;
    store_study_info info = {.name = keeper ? name : doomed, .direction = CAVIAR_MINIMIZE,
                             .seed = 1, .sampler = "random", .pruner = "none"};
    int64_t id;
    CHILD_OK(g_type->open_study(s, &info, &id, &err), "open_study");
    char worker[32];
    snprintf(worker, sizeof worker, "child-%d", k);
    dprintf(fd, "D\n"); /* the study is open: the parent may delete it from now on */
    char byte;
    while (read(barrier, &byte, 1) < 0 && errno == EINTR)
        ; /* all start together */
    store_start start = {.worker = worker};
    double until = wall_now() + DELETE_WAIT_SECONDS;
    for (int it = 0; keeper ? it < DELETE_KEEP_ITER : wall_now() < until; it++) {
        sleep_s(0.001);
        uint64_t n = 0, claim;
        caviar_status rc = g_type->create_running(s, id, &start, &n, &claim, &err);
        if (rc == CAVIAR_OK)
            rc = g_type->set_param(s, id, n, 0, (double)k, &err);
        if (rc == CAVIAR_OK)
            rc = g_type->report(s, id, n, 1, (double)it, &err);
        if (rc == CAVIAR_OK)
            rc = g_type->heartbeat(s, id, worker, &err);
        if (rc == CAVIAR_OK)
            rc = g_type->finish(s, id, n, CAVIAR_TRIAL_COMPLETE, (double)it, &err);
        if (rc == CAVIAR_OK) {
            if (keeper)
                dprintf(fd, "N %llu\n", (unsigned long long)n);
            continue;
        }
        if (!keeper && strstr(err.msg, "does not exist")) {
            dprintf(fd, "G %d\n", it);
            g_type->close(s);
            return 0;
        }
        return child_failed(fd, k, "a trial", &err);
    }
    if (!keeper) {
        dprintf(fd, "E the study was never deleted\n");
        return 1;
    }
    g_type->close(s);
    return 0;
}

static void test_delete_concurrent(void **state)
{
    (void)state;
    NEEDS_SHARED_STORE();
    caviar_error err;
    const char *name = study_name("del busy");
    char doomed[600];
    snprintf(doomed, sizeof doomed, "%s doomed", name);
    store *s = open_store();
    int64_t keep = open_study(s, "del busy");
    OK(g_type->add_param(s, keep, "x", &g_any, &err));
    store_study_info info = {.name = doomed, .direction = CAVIAR_MINIMIZE, .seed = 1,
                             .sampler = "random", .pruner = "none"};
    int64_t gone_id;
    OK(g_type->open_study(s, &info, &gone_id, &err));
    OK(g_type->add_param(s, gone_id, "x", &g_any, &err));
    g_type->close(s); /* no connection crosses fork() */

    family f;
    family_start(&f, N_DELETE_KEEPERS + N_DELETE_DOOMED, delete_child_main, name);
    for (int k = 0; k < f.n; k++)
        family_read(&f, k, 1); /* every child has its study open (by the old id) */
    close(f.barrier);
    f.barrier = -1;
    s = open_store();
    /* Let the doomed study's workers get going, then delete it under them and create studies
     * at once (one of them under the same name): none may receive the old id. */
    store_counts c;
    for (int i = 0; i < 2000; i++) {
        OK(g_type->count(s, gone_id, &c, &err));
        if (c.n[CAVIAR_TRIAL_COMPLETE] >= 10)
            break;
        sleep_s(0.005);
    }
    OK(g_type->delete_study(s, doomed, &err));
    int64_t fresh = open_study(s, "del busy fresh");
    int64_t reborn;
    OK(g_type->open_study(s, &info, &reborn, &err));
    assert_true(fresh != gone_id && reborn != gone_id);
    family_end(&f);

    /* Every child got what it should have: the keepers all their trials, the others the end. */
    size_t n_kept = 0, n_gone = 0;
    for (int k = 0; k < f.n; k++)
        for (const char *line = f.text[k]; line && *line;) {
            n_kept += line[0] == 'N';
            n_gone += line[0] == 'G';
            const char *end = strchr(line, '\n');
            line = end ? end + 1 : NULL;
        }
    family_free(&f);
    assert_int_equal(n_kept, N_DELETE_KEEPERS * DELETE_KEEP_ITER);
    assert_int_equal(n_gone, N_DELETE_DOOMED);
    check_counts(s, keep, 0, 0, N_DELETE_KEEPERS * DELETE_KEEP_ITER, 0, 0,
                 N_DELETE_KEEPERS * DELETE_KEEP_ITER);
    check_counts(s, fresh, 0, 0, 0, 0, 0, 0);
    check_counts(s, reborn, 0, 0, 0, 0, 0, 0);
    store_history h;
    store_history_init(&h);
    check_mirror(s, keep, &h, "the study kept");
    store_history_release(&h);
    check_no_rows(gone_id);
    g_type->close(s);
}

/* PostgreSQL's row locks, with the engine's own client playing a worker that holds locks in the
 * middle of a transaction while a child process deletes a study (SQLite locks the whole
 * database for a write, so there is nothing to see there):
 *   1. a worker of another study holds its study row and a trial row: the deletion does not
 *      wait for it;
 *   2. a worker of the doomed study holds one of its trial rows, then asks for the study row
 *      (as every write does, last): it gets it at once — the deletion waits for the trial row
 *      without holding the study row, so there is no deadlock — and the deletion finishes
 *      once it commits;
 *   3. a worker holds the doomed study's row and creates a trial: the deletion waits, then
 *      deletes that trial too. */

/* A child process that opens the store at once and deletes study name when *go is written to
 * (opening the store is done before the test takes its locks: the schema statements of
 * open() take table locks of their own). Returns its pid. */
static pid_t start_delete(const char *name, int *go)
{
    int p[2], ready[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(ready), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        close(ready[0]);
        caviar_error err = {0};
        store *s = NULL;
        char byte = 0;
        if (g_type->open(g_url, &s, &err) != CAVIAR_OK) {
            fprintf(stderr, "open: %s\n", err.msg);
            _exit(1);
        }
        if (write(ready[1], "r", 1) != 1 || read(p[0], &byte, 1) != 1)
            _exit(1);
        if (g_type->delete_study(s, name, &err) != CAVIAR_OK) {
            fprintf(stderr, "delete '%s': %s\n", name, err.msg);
            _exit(1);
        }
        g_type->close(s);
        _exit(0);
    }
    close(p[0]);
    close(ready[1]);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    *go = p[1];
    return pid;
}

static void go_delete(int *go)
{
    assert_int_equal(write(*go, "g", 1), 1);
    close(*go);
    *go = -1;
}

/* Whether child pid has exited (0 status) within seconds; -1 when it is still running. */
static int delete_done(pid_t pid, double seconds)
{
    double until = wall_now() + seconds;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (wall_now() > until)
            return -1;
        sleep_s(0.01);
    }
}

static void kill_delete(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* One statement on a raw connection; fails the test unless it succeeds. */
static PGresult *pg_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    return r;
}

static void pg_run(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pg_run(PGconn *c, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PQclear(pg_ok(c, sql));
}

static void test_delete_locks(void **state)
{
    (void)state;
    if (g_type != &store_postgres)
        skip();
    store *s = open_store();
    int64_t other = open_study(s, "locks other");
    int64_t d1 = open_study(s, "locks one"), d2 = open_study(s, "locks two");
    int64_t d3 = open_study(s, "locks three");
    populate(s, other, 1);
    populate(s, d1, 2);
    populate(s, d2, 3);
    populate(s, d3, 4);
    g_type->close(s);
    PGconn *c = PQconnectdb(g_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    pg_run(c, "SET statement_timeout = '20s'");

    int go;
    /* 1 */
    pid_t pid = start_delete(study_name("locks one"), &go);
    pg_run(c, "BEGIN");
    pg_run(c, "UPDATE trials SET heartbeat = heartbeat WHERE study = %lld", (long long)other);
    pg_run(c, "UPDATE studies SET version = version + 1 WHERE id = %lld", (long long)other);
    go_delete(&go);
    int done = delete_done(pid, 20);
    if (done < 0)
        kill_delete(pid);
    pg_run(c, "COMMIT");
    if (done != 1)
        fail_msg("deleting a study waited for the locks of another study (%d)", done);
    check_no_rows(d1);

    /* 2 */
    pid = start_delete(study_name("locks two"), &go);
    pg_run(c, "BEGIN");
    pg_run(c, "UPDATE trials SET heartbeat = heartbeat WHERE study = %lld AND number = 3",
           (long long)d2);
    go_delete(&go);
    sleep_s(0.5);
    if (delete_done(pid, 0) != -1) /* it must be waiting for the trial row */
        fail_msg("the deletion did not wait for a trial row a worker holds");
    double t0 = wall_now();
    pg_run(c, "UPDATE studies SET version = version + 1 WHERE id = %lld", (long long)d2);
    if (wall_now() - t0 > 0.5)
        fail_msg("a worker waited %.1f s for the study row: the deletion held it",
                 wall_now() - t0);
    pg_run(c, "COMMIT");
    done = delete_done(pid, 20);
    if (done < 0)
        kill_delete(pid);
    assert_int_equal(done, 1);
    check_no_rows(d2);

    /* 3 */
    pid = start_delete(study_name("locks three"), &go);
    pg_run(c, "BEGIN");
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE studies SET version = version + 1, n_trials = n_trials + 1,"
             " n_counted = n_counted + 1 WHERE id = %lld RETURNING version, n_trials",
             (long long)d3);
    PGresult *r = pg_ok(c, sql);
    long long v = atoll(PQgetvalue(r, 0, 0)), number = atoll(PQgetvalue(r, 0, 1)) - 1;
    PQclear(r);
    go_delete(&go);
    sleep_s(0.5);
    if (delete_done(pid, 0) != -1)
        fail_msg("the deletion did not wait for the study row a worker holds");
    pg_run(c, "INSERT INTO trials (study, number, state, version) VALUES (%lld, %lld, 0, %lld)",
           (long long)d3, number, v);
    pg_run(c, "INSERT INTO trial_params (study, number, param, value) VALUES (%lld, %lld, 0, 1)",
           (long long)d3, number);
    pg_run(c, "COMMIT");
    done = delete_done(pid, 20);
    if (done < 0)
        kill_delete(pid);
    assert_int_equal(done, 1);
    check_no_rows(d3);
    PQfinish(c);

    /* The other study is whole. */
    s = open_store();
    check_counts(s, other, 2, 1, 1, 0, 1, 4);
    g_type->close(s);
}

/* ---- read-only stores ------------------------------------------------------------------------
 * open_read_only (a dashboard): reads as a read-write handle reads, every write refused with
 * CAVIAR_EINVAL and the database untouched; count()'s best trial and last time. */

static store *open_read_only(void)
{
    store *s = NULL;
    caviar_error err = {0};
    caviar_status rc = g_type->open_read_only(g_url, &s, &err);
    if (rc != CAVIAR_OK)
        fail_msg("cannot open the store '%s' read-only: %s", g_url, err.msg);
    assert_non_null(s);
    return s;
}

/* The first cell of a query run behind the store's back with the engine's own client (SQL
 * back-ends), into buf ("" for NULL, "(no row)" for no row). */
static const char *query_cell(const char *sql, char *buf, size_t len)
{
    if (g_type == &store_sqlite) {
        sqlite3 *db = NULL;
        sqlite3_stmt *stmt = NULL;
        assert_int_equal(sqlite3_open_v2(g_url + strlen("sqlite:"), &db, SQLITE_OPEN_READONLY,
                                         NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
        int rc = sqlite3_step(stmt);
        assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
        const unsigned char *text = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
        snprintf(buf, len, "%s", rc != SQLITE_ROW ? "(no row)" : text ? (const char *)text : "");
        sqlite3_finalize(stmt);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(g_url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        snprintf(buf, len, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "(no row)");
        PQclear(r);
        PQfinish(c);
    }
    return buf;
}

/* Everything a store says about a study, to show that nothing changed: its full history, its
 * counts, its definition, a counter and a blob. */
typedef struct snapshot {
    store_history h;
    store_counts c;
    store_study def;
    uint64_t counter;
    void *blob;
    size_t blob_len;
} snapshot;

static void snapshot_take(store *s, int64_t id, const char *name, snapshot *out)
{
    caviar_error err;
    store_history_init(&out->h);
    sync_h(s, id, &out->h);
    out->c = counts(s, id);
    OK(g_type->load_study(s, name, &out->def, &err));
    OK(g_type->get_count(s, id, "grid:del", &out->counter, &err));
    OK(g_type->get_blob(s, id, "ckpt", &out->blob, &out->blob_len, &err));
}

static void snapshot_check(store *s, int64_t id, const char *name, const snapshot *before)
{
    snapshot now;
    char why[1024];
    snapshot_take(s, id, name, &now);
    if (history_diff(&before->h, &now.h, why, sizeof why))
        fail_msg("the study changed: %s", why);
    assert_memory_equal(&before->c, &now.c, sizeof now.c);
    store_study_info want = {before->def.name, before->def.direction, before->def.seed,
                             before->def.sampler, before->def.sampler_settings,
                             before->def.pruner, before->def.pruner_settings, before->def.spec};
    check_study(&now.def, &want);
    assert_int_equal(now.def.id, before->def.id);
    assert_int_equal(now.counter, before->counter);
    assert_int_equal(now.blob_len, before->blob_len);
    assert_memory_equal(now.blob, before->blob, now.blob_len);
    store_history_release(&now.h);
    store_study_release(&now.def);
    free(now.blob);
}

static void snapshot_release(snapshot *s)
{
    store_history_release(&s->h);
    store_study_release(&s->def);
    free(s->blob);
}

/* Every writing operation of ro fails with CAVIAR_EINVAL saying the store is read-only, on
 * arguments a read-write store would take: study id (with a WAITING trial, a counter
 * "grid:del" and a blob "ckpt") and its RUNNING trial running (of worker "w"). */
static void check_refuses_writes(store *ro, int64_t id, const char *name, uint64_t running)
{
    caviar_error err;
    const char *ro_text = "is open read-only: cannot";
    store_study_info info = {.name = name, .direction = CAVIAR_MINIMIZE, .seed = 1,
                             .sampler = "random", .pruner = "none"};
    store_study_info fresh = info;
    fresh.name = study_name("never created");
    int64_t got_id = -1;
    FAILS(g_type->open_study(ro, &info, &got_id, &err), CAVIAR_EINVAL, ro_text);
    FAILS(g_type->open_study(ro, &fresh, &got_id, &err), CAVIAR_EINVAL, ro_text);
    assert_int_equal(got_id, -1);
    store_study_info redefined = info;
    redefined.sampler = "tpe";
    FAILS(g_type->define_study(ro, id, &redefined, &err), CAVIAR_EINVAL, "change a study");
    FAILS(g_type->delete_study(ro, name, &err), CAVIAR_EINVAL, "delete a study");
    const caviar_dist other = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR,
                               .low = 0, .high = 2};
    FAILS(g_type->add_param(ro, id, "new", &other, &err), CAVIAR_EINVAL, "add a parameter");
    const double fixed[2] = {0.5, 1};
    uint64_t number = 77;
    FAILS(g_type->enqueue(ro, id, fixed, 2, &number, &err), CAVIAR_EINVAL, "enqueue a trial");
    store_start start = {.worker = "w"};
    int found = 1;
    FAILS(g_type->claim_waiting(ro, id, &start, &number, &found, &err), CAVIAR_EINVAL, ro_text);
    assert_int_equal(found, 0);
    uint64_t claim = 0;
    store_start grid = {.worker = "w", .counter = "grid:del", .counter_limit = 100};
    FAILS(g_type->create_running(ro, id, &start, &number, &claim, &err), CAVIAR_EINVAL, ro_text);
    FAILS(g_type->create_running(ro, id, &grid, &number, &claim, &err), CAVIAR_EINVAL, ro_text);
    assert_int_equal(number, 77);
    FAILS(g_type->set_param(ro, id, running, 0, 0.25, &err), CAVIAR_EINVAL, ro_text);
    FAILS(g_type->report(ro, id, running, 99, 0.25, &err), CAVIAR_EINVAL, "report");
    FAILS(g_type->set_attr(ro, id, running, "k", "v", &err), CAVIAR_EINVAL, ro_text);
    FAILS(g_type->set_attr(ro, id, 0, "k", "v", &err), CAVIAR_EINVAL, ro_text);
    FAILS(g_type->finish(ro, id, running, CAVIAR_TRIAL_COMPLETE, 1, &err), CAVIAR_EINVAL,
          "end a trial");
    FAILS(g_type->heartbeat(ro, id, "w", &err), CAVIAR_EINVAL, "heartbeat");
    FAILS(g_type->abandon(ro, id, running, "interrupted", 1, &err), CAVIAR_EINVAL, ro_text);
    FAILS(g_type->abandon(ro, id, running, "interrupted", 0, &err), CAVIAR_EINVAL, ro_text);
    size_t n_reaped = 99;
    FAILS(g_type->reap(ro, id, 0, 3, &n_reaped, &err), CAVIAR_EINVAL, "reap");
    assert_int_equal(n_reaped, 0);
    FAILS(g_type->put_blob(ro, id, "ckpt", "other", 5, &err), CAVIAR_EINVAL, "store a blob");
    FAILS(g_type->put_blob(ro, id, "new", "x", 1, &err), CAVIAR_EINVAL, "store a blob");
}

/* A read-only handle beside a read-write one that keeps writing: it lists and loads the
 * studies, its mirror follows the writer's exactly (incrementally and by full syncs), its
 * counts are the writer's, and every write it attempts is refused with the study unchanged —
 * on SQLite not a byte of the database file changes. The memory back-end's read-only store is
 * a new, empty one: it finds nothing and refuses the same writes. */
static void test_read_only_store(void **state)
{
    (void)state;
    caviar_error err;
    char why[1024];
    if (is_memory()) {
        store *ro = open_read_only();
        store_study_list l;
        OK(g_type->list_studies(ro, &l, &err));
        assert_int_equal(l.n, 0);
        store_study_list_release(&l);
        store_study got;
        FAILS(g_type->load_study(ro, study_name("ro"), &got, &err), CAVIAR_EMISSING,
              "there is no study");
        check_refuses_writes(ro, 0, study_name("ro"), 0);
        store_counts c;
        FAILS(g_type->count(ro, 0, &c, &err), CAVIAR_EINVAL, "does not exist");
        OK(g_type->list_studies(ro, &l, &err));
        assert_int_equal(l.n, 0);
        store_study_list_release(&l);
        g_type->close(ro);
        return;
    }
    const char *name = study_name("ro");
    store *rw = open_store();
    int64_t id = open_study(rw, "ro");
    populate(rw, id, 2.5);
    OK(g_type->put_blob(rw, id, "ckpt", "bytes\0of a checkpoint", 21, &err));
    store *ro = open_read_only();

    /* Listed and loaded as the writer sees them. */
    store_study_list lw, lr;
    OK(g_type->list_studies(rw, &lw, &err));
    OK(g_type->list_studies(ro, &lr, &err));
    assert_int_equal(lw.n, lr.n);
    long at = listed(&lr, name);
    assert_true(at >= 0);
    assert_int_equal(lr.studies[at].id, id);
    for (size_t i = 0; i < lw.n; i++) {
        assert_string_equal(lw.studies[i].name, lr.studies[i].name);
        assert_int_equal(lw.studies[i].id, lr.studies[i].id);
    }
    store_study_list_release(&lw);
    store_study_list_release(&lr);
    store_study got;
    OK(g_type->load_study(ro, name, &got, &err));
    assert_int_equal(got.id, id);
    assert_string_equal(got.sampler, "random");
    store_study_release(&got);
    FAILS(g_type->load_study(ro, study_name("absent"), &got, &err), CAVIAR_EMISSING,
          "there is no study");

    /* Its mirror follows the writer's while the writer goes on. */
    store_history hw, hr;
    store_history_init(&hw);
    store_history_init(&hr);
    for (int round = 0; round < 4; round++) {
        uint64_t n = create(rw, id, "w2");
        OK(g_type->set_param(rw, id, n, 0, 0.125 * round, &err));
        OK(g_type->report(rw, id, n, 1, round == 2 ? NAN : 1.0 / (round + 1), &err));
        if (round == 1)
            OK(g_type->add_param(rw, id, "later", &g_lr, &err));
        if (round % 2 == 0)
            OK(g_type->finish(rw, id, n, CAVIAR_TRIAL_COMPLETE, round == 2 ? NAN : -1.0 * round,
                              &err));
        check_mirror(ro, id, &hr, "the read-only handle");
        sync_h(rw, id, &hw);
        if (history_diff(&hw, &hr, why, sizeof why))
            fail_msg("round %d: the read-only mirror differs from the writer's: %s", round, why);
        store_counts cw = counts(rw, id), cr = counts(ro, id);
        assert_memory_equal(&cw, &cr, sizeof cw);
        uint64_t vw, vr;
        OK(g_type->get_count(rw, id, "grid:del", &vw, &err));
        OK(g_type->get_count(ro, id, "grid:del", &vr, &err));
        assert_int_equal(vw, vr);
    }
    void *blob;
    size_t len;
    OK(g_type->get_blob(ro, id, "ckpt", &blob, &len, &err));
    assert_int_equal(len, 21);
    assert_memory_equal(blob, "bytes\0of a checkpoint", 21);
    free(blob);
    FAILS(g_type->get_blob(ro, id, "none", &blob, &len, &err), CAVIAR_EMISSING, "none");

    /* Every write refused, nothing changed; the writer still writes. */
    uint64_t running = 3; /* populate() leaves trial 3 running (worker "w") and 0 waiting */
    assert_int_equal(trial_at(&hw, running)->state, CAVIAR_TRIAL_RUNNING);
    snapshot before;
    snapshot_take(rw, id, name, &before);
    check_refuses_writes(ro, id, name, running);
    snapshot_check(rw, id, name, &before);
    snapshot_check(ro, id, name, &before);
    OK(g_type->list_studies(ro, &lr, &err));
    assert_true(listed(&lr, study_name("never created")) < 0);
    store_study_list_release(&lr);
    snapshot_release(&before);
    OK(g_type->finish(rw, id, running, CAVIAR_TRIAL_COMPLETE, 0.5, &err));
    check_mirror(ro, id, &hr, "the read-only handle after the refusals");
    assert_int_equal(trial_at(&hr, running)->state, CAVIAR_TRIAL_COMPLETE);
    g_type->close(ro);

    if (g_type == &store_sqlite) {
        /* Not a byte of the file changes under a read-only handle (the writer closed, so the
         * file holds everything). */
        g_type->close(rw);
        rw = NULL;
        char path[1100];
        snprintf(path, sizeof path, "%s/store.db", g_dir);
        size_t n_before = 0, n_after = 0;
        char *bytes_before = NULL, *bytes_after = NULL;
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        bytes_before = malloc(1 << 22);
        assert_non_null(bytes_before);
        n_before = fread(bytes_before, 1, 1 << 22, f);
        fclose(f);
        ro = open_read_only();
        store_history full;
        store_history_init(&full);
        sync_h(ro, id, &full);
        assert_int_equal(trial_at(&full, running)->state, CAVIAR_TRIAL_COMPLETE);
        assert_int_equal(trial_at(&full, 6)->state, CAVIAR_TRIAL_RUNNING);
        check_refuses_writes(ro, id, name, 6);
        store_counts c = counts(ro, id);
        assert_int_equal(c.n[CAVIAR_TRIAL_COMPLETE], 4);
        store_history_release(&full);
        g_type->close(ro);
        f = fopen(path, "rb");
        assert_non_null(f);
        bytes_after = malloc(1 << 22);
        assert_non_null(bytes_after);
        n_after = fread(bytes_after, 1, 1 << 22, f);
        fclose(f);
        assert_true(n_before > 0 && n_before < (1 << 22));
        assert_int_equal(n_before, n_after);
        assert_memory_equal(bytes_before, bytes_after, n_before);
        free(bytes_before);
        free(bytes_after);
    }
    store_history_release(&hw);
    store_history_release(&hr);
    if (rw)
        g_type->close(rw);
}

/* What count() must say of the history h of study what (of that direction), computed as
 * caviar_study_best and sample_better do; want_best and want_trial are the test's own answer. */
static void check_count_of(store *s, int64_t id, const char *what, caviar_direction direction,
                           const store_history *h, int want_best, uint64_t want_trial)
{
    store_counts c = counts(s, id);
    long best = -1;
    double last = 0;
    uint64_t n[5] = {0}, counted = 0;
    for (size_t i = 0; i < h->n_trials; i++) {
        const store_trial *t = &h->trials[i];
        n[t->state]++;
        counted += !t->requeued;
        last = t->start_time > last ? t->start_time : last;
        last = t->end_time > last ? t->end_time : last;
        if (t->state != CAVIAR_TRIAL_COMPLETE || isnan(t->value))
            continue;
        double b = best < 0 ? NAN : h->trials[best].value;
        if (best < 0 || (direction == CAVIAR_MAXIMIZE ? t->value > b : t->value < b))
            best = (long)i;
    }
    for (int k = 0; k < 5; k++)
        if (c.n[k] != n[k])
            fail_msg("study '%s': %llu trials %s, expected %llu", what,
                     (unsigned long long)c.n[k], caviar_trial_state_name((caviar_trial_state)k),
                     (unsigned long long)n[k]);
    if (c.counted != counted)
        fail_msg("study '%s': %llu counted, expected %llu", what, (unsigned long long)c.counted,
                 (unsigned long long)counted);
    if (c.has_best != (best >= 0) || c.has_best != want_best)
        fail_msg("study '%s': has_best %d, expected %d", what, c.has_best, want_best);
    if (best >= 0 && (c.best_trial != (uint64_t)best || c.best_trial != want_trial ||
                      !same_double(c.best_value, h->trials[best].value)))
        fail_msg("study '%s': best trial %llu (%.17g), expected %llu (%.17g)", what,
                 (unsigned long long)c.best_trial, c.best_value, (unsigned long long)want_trial,
                 h->trials[best].value);
    if (best < 0 && !isnan(c.best_value))
        fail_msg("study '%s': best value %.17g without a best trial", what, c.best_value);
    if (!same_double(c.last_time, last))
        fail_msg("study '%s': last_time %.17g, expected %.17g", what, c.last_time, last);
}

/* A study of that direction whose trials end as told: COMPLETE with values[i], or, where
 * states[i] is not COMPLETE, in that state (WAITING: enqueued; RUNNING: left running). */
static int64_t study_of(store *s, const char *base, caviar_direction direction, size_t n,
                        const caviar_trial_state *states, const double *values)
{
    caviar_error err;
    store_study_info info = {.name = study_name(base), .direction = direction, .seed = 1,
                             .sampler = "random", .pruner = "none"};
    int64_t id;
    OK(g_type->open_study(s, &info, &id, &err));
    for (size_t i = 0; i < n; i++) {
        uint64_t number;
        if (states[i] == CAVIAR_TRIAL_WAITING) {
            OK(g_type->enqueue(s, id, NULL, 0, &number, &err));
            continue;
        }
        number = create(s, id, "w");
        assert_int_equal(number, i);
        if (states[i] != CAVIAR_TRIAL_RUNNING)
            OK(g_type->finish(s, id, number, states[i], values[i], &err));
    }
    return id;
}

/* count(): the best COMPLETE trial by the direction (NaN never, infinities as numbers, the
 * lowest number on a tie; PRUNED values never count) and the last start or end time, read by
 * the writer and by a read-only handle; they agree with a read-only study's summary. */
static void test_count_best(void **state)
{
    (void)state;
    caviar_error err;
    const caviar_trial_state C = CAVIAR_TRIAL_COMPLETE, P = CAVIAR_TRIAL_PRUNED,
                             F = CAVIAR_TRIAL_FAIL, R = CAVIAR_TRIAL_RUNNING,
                             W = CAVIAR_TRIAL_WAITING;
    const double inf = INFINITY;
    struct {
        const char *base;
        caviar_direction direction;
        size_t n;
        caviar_trial_state states[8];
        double values[8];
        int has_best;
        uint64_t best;
        int timeless; /* no trial has started: last_time 0 */
    } cases[] = {
        {"min", CAVIAR_MINIMIZE, 8, {C, C, C, C, P, F, R, W}, {3, NAN, 1, 1, -5, NAN, 0, 0}, 1, 2,
         0},
        {"max", CAVIAR_MAXIMIZE, 7, {C, P, C, C, C, C, F}, {1, 9, 5, NAN, 5, 2, NAN}, 1, 2, 0},
        {"min inf", CAVIAR_MINIMIZE, 5, {C, C, C, C, C}, {inf, 0, -inf, -inf, 7}, 1, 2, 0},
        {"max inf", CAVIAR_MAXIMIZE, 4, {C, C, C, C}, {-inf, inf, 1e308, inf}, 1, 1, 0},
        {"min only inf", CAVIAR_MINIMIZE, 3, {C, C, P}, {inf, inf, -inf}, 1, 0, 0},
        {"max only -inf", CAVIAR_MAXIMIZE, 2, {C, C}, {-inf, -inf}, 1, 0, 0},
        {"min zero", CAVIAR_MINIMIZE, 3, {C, C, C}, {0.5, -0.0, 0.0}, 1, 1, 0},
        {"only nan", CAVIAR_MINIMIZE, 3, {C, C, R}, {NAN, NAN, 0}, 0, 0, 0},
        {"no complete", CAVIAR_MAXIMIZE, 4, {P, F, R, W}, {4, NAN, 0, 0}, 0, 0, 0},
        {"empty", CAVIAR_MINIMIZE, 0, {C}, {0}, 0, 0, 1},
        {"waiting only", CAVIAR_MAXIMIZE, 2, {W, W}, {0, 0}, 0, 0, 1},
    };
    size_t n_cases = sizeof cases / sizeof cases[0];
    store *s = open_store();
    store *ro = is_memory() ? NULL : open_read_only();
    for (size_t k = 0; k < n_cases; k++) {
        int64_t id = study_of(s, cases[k].base, cases[k].direction, cases[k].n, cases[k].states,
                              cases[k].values);
        store_history h;
        store_history_init(&h);
        sync_h(s, id, &h);
        check_count_of(s, id, cases[k].base, cases[k].direction, &h, cases[k].has_best,
                       cases[k].best);
        if (cases[k].timeless)
            assert_true(counts(s, id).last_time == 0);
        else
            assert_true(counts(s, id).last_time > 0);
        if (ro) {
            check_count_of(ro, id, cases[k].base, cases[k].direction, &h, cases[k].has_best,
                           cases[k].best);
            store_counts a = counts(s, id), b = counts(ro, id);
            assert_memory_equal(&a, &b, sizeof a);
            /* The study layer's choice, on a read-only study. */
            caviar_study_opts o;
            caviar_study_opts_init(&o);
            o.name = study_name(cases[k].base);
            o.storage = g_url;
            o.read_only = 1;
            caviar_study *st = caviar_study_new(&o, &err);
            if (!st)
                fail_msg("cannot open study '%s' read-only: %s", o.name, err.msg);
            caviar_study_summary sum;
            caviar_study_summarize(st, &sum);
            if (a.has_best) {
                assert_int_equal(sum.best_trial, a.best_trial);
                assert_true(same_double(sum.best_value, a.best_value));
                caviar_trial_view v;
                OK(caviar_study_best(st, &v, &err));
                assert_int_equal(v.number, a.best_trial);
            } else {
                assert_true(isnan(sum.best_value));
            }
            caviar_study_free(st);
        }
        store_history_release(&h);
    }
    /* The last time moves with the latest start or end, whichever trial it is. */
    int64_t id = study_of(s, "times", CAVIAR_MINIMIZE, 0, NULL, NULL);
    uint64_t a = create(s, id, "w");
    store_history h;
    store_history_init(&h);
    sync_h(s, id, &h);
    assert_true(same_double(counts(s, id).last_time, trial_at(&h, a)->start_time));
    sleep_s(0.01);
    uint64_t b = create(s, id, "w");
    sleep_s(0.01);
    OK(g_type->finish(s, id, a, CAVIAR_TRIAL_COMPLETE, 1, &err));
    sync_h(s, id, &h);
    assert_true(trial_at(&h, a)->end_time > trial_at(&h, b)->start_time);
    assert_true(same_double(counts(s, id).last_time, trial_at(&h, a)->end_time));
    check_count_of(s, id, "times", CAVIAR_MINIMIZE, &h, 1, a);
    sleep_s(0.01);
    OK(g_type->abandon(s, id, b, "interrupted", 1, &err)); /* a WAITING re-run: no time */
    sync_h(s, id, &h);
    assert_true(same_double(counts(s, id).last_time, trial_at(&h, b)->end_time));
    check_count_of(s, id, "times", CAVIAR_MINIMIZE, &h, 1, a);
    if (ro)
        check_count_of(ro, id, "times", CAVIAR_MINIMIZE, &h, 1, a);
    store_history_release(&h);
    if (ro)
        g_type->close(ro);
    g_type->close(s);
}

/* Opening read-only never creates nor upgrades: a missing SQLite file stays missing; a
 * database of schema version 1 is read as it is (no blobs) and stays at version 1; another
 * version, or a database without caviar's schema, is CAVIAR_EFORMAT. */
static void test_read_only_schema(void **state)
{
    (void)state;
    if (is_memory())
        skip();
    caviar_error err = {0};
    store *s = NULL;
    char buf[256], shown[1024], want[2048];
    store_redact(g_url, shown, sizeof shown);
    if (g_type == &store_sqlite) {
        /* A missing file: an error naming it, and no file made (nor its journal). */
        char path[1100], url[1200];
        snprintf(path, sizeof path, "%s/missing.db", g_dir);
        snprintf(url, sizeof url, "sqlite:%s", path);
        const char *named = path;
        FAILS(g_type->open_read_only(url, &s, &err), CAVIAR_EMISSING, named);
        assert_null(s);
        assert_non_null(strstr(err.msg, "no such file"));
        FAILS(g_type->open_read_only(path, &s, &err), CAVIAR_EMISSING, named);
        DIR *d = opendir(g_dir);
        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (strncmp(e->d_name, "missing", 7) == 0)
                fail_msg("a read-only open made '%s'", e->d_name);
        closedir(d);
        /* A SQLite database that is not caviar's, and an empty file. */
        sqlite3 *db = NULL;
        snprintf(path, sizeof path, "%s/other.db", g_dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x INTEGER)", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        FAILS(g_type->open_read_only(path, &s, &err), CAVIAR_EFORMAT,
              "holds no caviar study database");
        assert_non_null(strstr(err.msg, "caviar_meta"));
        snprintf(path, sizeof path, "%s/empty.db", g_dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
        FAILS(g_type->open_read_only(path, &s, &err), CAVIAR_EFORMAT,
              "holds no caviar study database");
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_size, 0);
        snprintf(path, sizeof path, "%s/not-a-database.db", g_dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("these are not the pages of a SQLite database, but plain text long enough to "
              "fill a header of one hundred bytes, which SQLite reads first\n", f);
        fclose(f);
        FAILS(g_type->open_read_only(path, &s, &err), ANY_ERROR, "file is not a database");
        assert_non_null(strstr(err.msg, path));
    }
    /* Another schema version: refused as by a read-write open, and left as it is. */
    store *rw = open_store();
    int64_t id = open_study(rw, "ro schema");
    populate(rw, id, 1);
    store_history hw;
    store_history_init(&hw);
    sync_h(rw, id, &hw);
    g_type->close(rw);
    set_schema_version("999");
    FAILS(g_type->open_read_only(g_url, &s, &err), CAVIAR_EFORMAT, NULL);
    snprintf(want, sizeof want, "%s holds a caviar study database of schema version 999; this "
             "caviar reads version 2\nhint: use the caviar that wrote it, or another database",
             shown);
    assert_string_equal(err.msg, want);
    assert_string_equal(query_cell("SELECT value FROM caviar_meta WHERE key = 'schema_version'",
                                   buf, sizeof buf), "999");
    /* Version 1 (no blobs table): read as it is, not upgraded. */
    exec_sql("DROP TABLE blobs");
    set_schema_version("1");
    store *ro = open_read_only();
    store_history hr;
    store_history_init(&hr);
    sync_h(ro, id, &hr);
    char why[1024];
    if (history_diff(&hw, &hr, why, sizeof why))
        fail_msg("the version 1 database reads differently: %s", why);
    check_counts(ro, id, 2, 1, 1, 0, 1, 4);
    void *blob = (void *)1;
    size_t len = 1;
    FAILS(g_type->get_blob(ro, id, "ckpt", &blob, &len, &err), CAVIAR_EMISSING, "version 1");
    assert_null(blob);
    assert_int_equal(len, 0);
    FAILS(g_type->put_blob(ro, id, "ckpt", "x", 1, &err), CAVIAR_EINVAL, "read-only");
    g_type->close(ro);
    assert_string_equal(query_cell("SELECT value FROM caviar_meta WHERE key = 'schema_version'",
                                   buf, sizeof buf), "1");
    const char *has_blobs =
        g_type == &store_sqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE name = 'blobs'"
            : "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'blobs'"
              " AND table_schema = current_schema()";
    assert_string_equal(query_cell(has_blobs, buf, sizeof buf), "0");
    /* A read-write open upgrades it as before. */
    rw = open_store();
    OK(g_type->put_blob(rw, id, "ckpt", "x", 1, &err));
    g_type->close(rw);
    assert_string_equal(query_cell("SELECT value FROM caviar_meta WHERE key = 'schema_version'",
                                   buf, sizeof buf), "2");
    assert_string_equal(query_cell(has_blobs, buf, sizeof buf), "1");
    store_history_release(&hw);
    store_history_release(&hr);
}

/* ---- the study layer over the store ----------------------------------------------------------- */

static caviar_study *new_study(const char *base, const char *sampler, uint64_t max_trials)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = study_name(base);
    o.storage = g_url;
    o.seed = 42;
    o.sampler = sampler;
    o.max_trials = max_trials;
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("cannot open study '%s' in '%s': %s", o.name, g_url, err.msg);
    return s;
}

/* A new trial, or the test fails with ask's message. */
static caviar_trial *ask(caviar_study *s)
{
    caviar_error err = {0};
    caviar_trial *t = caviar_study_ask(s, &err);
    if (!t)
        fail_msg("ask: %s", err.msg);
    return t;
}

/* ask must say CAVIAR_STOPPED. */
static void ask_stopped(caviar_study *s)
{
    caviar_error err = {0};
    caviar_trial *t = caviar_study_ask(s, &err);
    if (t)
        fail_msg("ask gave trial %llu; the study should be stopped",
                 (unsigned long long)caviar_trial_number(t));
    if (err.status != CAVIAR_STOPPED)
        fail_msg("ask: '%s' where CAVIAR_STOPPED was expected: %s", caviar_status_str(err.status),
                 err.msg);
}

static const caviar_value g_act_choices[] = {{CAVIAR_VALUE_STRING, 0, "relu"},
                                             {CAVIAR_VALUE_STRING, 0, "tanh"}};

/* One trial of an objective with three parameters, three reports and an attribute. */
static void run_trial(caviar_study *s, caviar_trial *t, double *x_out)
{
    caviar_error err;
    double x;
    int64_t units;
    size_t act;
    OK(caviar_trial_suggest_float(t, "x", -1, 1, CAVIAR_SCALE_LINEAR, 0, &x, &err));
    OK(caviar_trial_suggest_int(t, "units", 8, 512, CAVIAR_SCALE_LOG, 1, &units, &err));
    OK(caviar_trial_suggest_categorical(t, "act", g_act_choices, 2, &act, &err));
    for (int64_t step = 1; step <= 3; step++)
        OK(caviar_trial_report(t, step, x * (double)step, &err));
    char note[64];
    snprintf(note, sizeof note, "trial %llu", (unsigned long long)caviar_trial_number(t));
    OK(caviar_trial_set_attr(t, "note", note, &err));
    if (x_out)
        *x_out = x;
    OK(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, x * x + (double)units * 1e-3, &err));
}

static void check_same_view(caviar_study *a, caviar_study *b, size_t i)
{
    caviar_trial_view va, vb;
    assert_int_equal(caviar_study_trial(a, i, &va), CAVIAR_OK);
    assert_int_equal(caviar_study_trial(b, i, &vb), CAVIAR_OK);
    assert_int_equal(va.number, vb.number);
    assert_int_equal(va.state, vb.state);
    assert_true(same_double(va.value, vb.value));
    assert_int_equal(va.n_params, vb.n_params);
    for (size_t p = 0; p < va.n_params; p++) {
        assert_string_equal(va.param_names[p], vb.param_names[p]);
        assert_true(same_double(va.param_values[p], vb.param_values[p]));
    }
    assert_int_equal(va.n_reports, vb.n_reports);
    for (size_t r = 0; r < va.n_reports; r++) {
        assert_int_equal(va.report_steps[r], vb.report_steps[r]);
        assert_true(same_double(va.report_values[r], vb.report_values[r]));
    }
    assert_int_equal(va.n_attrs, vb.n_attrs);
    assert_int_equal(va.retry_of, vb.retry_of);
    assert_int_equal(va.requeued, vb.requeued);
    assert_true(same_double(va.start_time, vb.start_time));
    assert_true(same_double(va.end_time, vb.end_time));
}

static void test_study_layer(void **state)
{
    (void)state;
    caviar_error err;
    caviar_study *s = new_study("layer", "random", 0);
    assert_int_equal(caviar_study_n_trials(s), 0);
    for (uint64_t i = 0; i < 5; i++) {
        caviar_trial *t = ask(s);
        assert_int_equal(caviar_trial_number(t), i);
        run_trial(s, t, NULL);
    }
    /* An abandoned trial with requeue is run again first, with the same values. */
    caviar_trial *t = ask(s);
    assert_int_equal(caviar_trial_number(t), 5);
    double x5, again;
    OK(caviar_trial_suggest_float(t, "x", -1, 1, CAVIAR_SCALE_LINEAR, 0, &x5, &err));
    OK(caviar_study_abandon(s, t, "interrupted", 1, &err));
    t = ask(s);
    assert_int_equal(caviar_trial_number(t), 6);
    run_trial(s, t, &again);
    assert_true(same_double(again, x5));
    assert_int_equal(caviar_study_n_trials(s), 7);
    caviar_trial_view v;
    assert_int_equal(caviar_study_trial(s, 5, &v), CAVIAR_OK);
    assert_int_equal(v.state, CAVIAR_TRIAL_FAIL);
    assert_int_equal(v.requeued, 1);
    assert_string_equal(v.fail_reason, "interrupted");
    assert_int_equal(caviar_study_trial(s, 6, &v), CAVIAR_OK);
    assert_int_equal(v.retry_of, 5);
    assert_int_equal(v.n_reports, 3);
    assert_int_equal(v.n_params, 3);
    OK(caviar_study_best(s, &v, &err));
    assert_int_equal(v.state, CAVIAR_TRIAL_COMPLETE);

    if (!is_memory()) {
        /* Reopened: the same trials; new ones continue the numbering, seen by both. */
        caviar_study *s2 = new_study("layer", "random", 0);
        assert_int_equal(caviar_study_n_trials(s2), 7);
        for (size_t i = 0; i < 7; i++)
            check_same_view(s, s2, i);
        t = ask(s2);
        assert_int_equal(caviar_trial_number(t), 7);
        run_trial(s2, t, NULL);
        t = ask(s);
        assert_int_equal(caviar_trial_number(t), 8);
        run_trial(s, t, NULL);
        t = ask(s2); /* syncs s2 */
        OK(caviar_study_tell(s2, t, CAVIAR_TRIAL_FAIL, NAN, &err));
        t = ask(s);
        OK(caviar_study_tell(s, t, CAVIAR_TRIAL_PRUNED, NAN, &err));
        assert_int_equal(caviar_study_n_trials(s), 11);
        t = ask(s2);
        OK(caviar_study_tell(s2, t, CAVIAR_TRIAL_FAIL, NAN, &err));
        for (size_t i = 0; i < 11; i++)
            check_same_view(s, s2, i);
        caviar_study_free(s2);
    }
    caviar_study_free(s);
}

static void test_study_budget(void **state)
{
    (void)state;
    caviar_study *s = new_study("budget", "random", 3);
    caviar_trial *t[3];
    for (int i = 0; i < 3; i++) /* running trials count */
        t[i] = ask(s);
    ask_stopped(s);
    for (int i = 0; i < 3; i++)
        run_trial(s, t[i], NULL);
    ask_stopped(s);
    assert_int_equal(caviar_study_n_trials(s), 3);
    if (!is_memory()) {
        /* The budget is the study's, across handles. */
        caviar_study *s2 = new_study("budget", "random", 3);
        ask_stopped(s2);
        caviar_study_free(s2);
        s2 = new_study("budget", "random", 4);
        caviar_trial *more = ask(s2);
        assert_int_equal(caviar_trial_number(more), 3);
        ask_stopped(s);
        run_trial(s2, more, NULL);
        caviar_study_free(s2);
    }
    caviar_study_free(s);
}

/* A 3 x 3 grid (a categorical and a float with grid_points) across two study handles (one for
 * memory): every point runs once, then ask says CAVIAR_STOPPED. */
static void test_study_grid(void **state)
{
    (void)state;
    caviar_error err;
    const caviar_value acts[3] = {{CAVIAR_VALUE_STRING, 0, "relu"},
                                  {CAVIAR_VALUE_STRING, 0, "tanh"},
                                  {CAVIAR_VALUE_STRING, 0, "sigmoid"}};
    const caviar_dist act = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3, .choices = acts};
    const caviar_dist x = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 0,
                           .high = 1, .grid_points = 3};
    caviar_study *st[2] = {new_study("grid", "grid", 0), NULL};
    int n_handles = is_memory() ? 1 : 2;
    if (n_handles == 2)
        st[1] = new_study("grid", "grid", 0);
    for (int i = 0; i < n_handles; i++) {
        OK(caviar_study_add_param(st[i], "act", &act, &err));
        OK(caviar_study_add_param(st[i], "x", &x, &err));
    }
    unsigned hits[3][3] = {{0}};
    int stopped[2] = {0, 0}, n_run = 0;
    for (int rd = 0; rd < 40 && !(stopped[0] && (n_handles == 1 || stopped[1])); rd++) {
        int i = rd % n_handles;
        memset(&err, 0, sizeof err);
        caviar_trial *t = caviar_study_ask(st[i], &err);
        if (!t) {
            if (err.status != CAVIAR_STOPPED)
                fail_msg("ask: %s", err.msg);
            stopped[i] = 1;
            continue;
        }
        size_t a;
        double xv;
        OK(caviar_trial_suggest_categorical(t, "act", acts, 3, &a, &err));
        OK(caviar_trial_suggest_float(t, "x", 0, 1, CAVIAR_SCALE_LINEAR, 0, &xv, &err));
        int k = xv == 0 ? 0 : xv == 0.5 ? 1 : xv == 1 ? 2 : -1;
        if (k < 0 || a > 2)
            fail_msg("trial %llu: (%zu, %g) is not a grid point",
                     (unsigned long long)caviar_trial_number(t), a, xv);
        hits[a][k]++;
        n_run++;
        OK(caviar_study_tell(st[i], t, CAVIAR_TRIAL_COMPLETE, xv + (double)a, &err));
    }
    assert_int_equal(n_run, 9);
    for (int a = 0; a < 3; a++)
        for (int k = 0; k < 3; k++)
            if (hits[a][k] != 1)
                fail_msg("grid point (%d, %d) ran %u times", a, k, hits[a][k]);
    for (int i = 0; i < n_handles; i++) {
        ask_stopped(st[i]);
        assert_int_equal(caviar_study_n_trials(st[i]), 9);
        caviar_study_free(st[i]);
    }
}

/* A study opened read-only beside a handle that writes to it: its definition comes from the
 * store (the options' direction and sampler are ignored), refresh shows the writer's new trials,
 * every write is refused, and nothing is ever created — a missing study is CAVIAR_EMISSING. */
static void test_study_read_only(void **state)
{
    (void)state;
    caviar_error err = {0};
    store *s = open_store(); /* the database exists (a fresh SQLite file is made here) */
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = study_name("look absent");
    o.storage = g_url;
    o.read_only = 1;
    o.direction = (caviar_direction)7; /* ignored */
    caviar_study *ro = caviar_study_new(&o, &err);
    assert_null(ro);
    assert_int_equal(err.status, CAVIAR_EMISSING);
    char want[600];
    snprintf(want, sizeof want, "there is no study '%s' in ", o.name);
    if (!strstr(err.msg, want))
        fail_msg("unexpected message: %s", err.msg);
    if (is_memory()) {
        g_type->close(s);
        return; /* a read-only memory store is empty: there is nothing else to look at */
    }
    store_study got;
    FAILS(g_type->load_study(s, o.name, &got, &err), CAVIAR_EMISSING, "there is no study");
    g_type->close(s);

    /* The writer: maximised, with a TPE sampler and a median pruner. */
    caviar_study_opts wo;
    caviar_study_opts_init(&wo);
    wo.name = study_name("look");
    wo.storage = g_url;
    wo.direction = CAVIAR_MAXIMIZE;
    wo.seed = 7;
    wo.sampler = "tpe";
    wo.sampler_settings = "n_startup=3";
    wo.pruner = "median";
    caviar_study *w = caviar_study_new(&wo, &err);
    if (!w)
        fail_msg("cannot open study '%s': %s", wo.name, err.msg);
    for (int i = 0; i < 3; i++)
        run_trial(w, ask(w), NULL);
    OK(caviar_study_put_blob(w, "ckpt", "abc", 3, &err));
    caviar_trial *live = ask(w); /* running while the reader looks */

    o.name = wo.name;
    o.direction = CAVIAR_MINIMIZE;
    o.sampler = "no such sampler"; /* ignored: the stored definition is used */
    o.heartbeat = 0.05;
    o.grace = 0.01;
    o.max_trials = 1;
    ro = caviar_study_new(&o, &err);
    if (!ro)
        fail_msg("cannot open study '%s' read-only: %s", o.name, err.msg);
    assert_int_equal(caviar_study_n_trials(ro), 4);
    for (size_t i = 0; i < 4; i++)
        check_same_view(w, ro, i);
    caviar_trial_view vw, vr;
    OK(caviar_study_best(w, &vw, &err));
    OK(caviar_study_best(ro, &vr, &err)); /* by the stored direction, maximise */
    assert_int_equal(vw.number, vr.number);

    /* The writer goes on; the reader sees it after a refresh. */
    run_trial(w, live, NULL);
    for (int i = 0; i < 2; i++)
        run_trial(w, ask(w), NULL);
    assert_int_equal(caviar_study_n_trials(ro), 4);
    OK(caviar_study_refresh(ro, &err));
    OK(caviar_study_refresh(w, &err));
    assert_int_equal(caviar_study_n_trials(ro), 6);
    for (size_t i = 0; i < 6; i++)
        check_same_view(w, ro, i);
    caviar_study_summary sw, sr;
    caviar_study_summarize(w, &sw);
    caviar_study_summarize(ro, &sr);
    assert_memory_equal(&sw, &sr, sizeof sw);
    void *blob;
    size_t len;
    OK(caviar_study_get_blob(ro, "ckpt", &blob, &len, &err));
    assert_int_equal(len, 3);
    assert_memory_equal(blob, "abc", 3);
    free(blob);

    /* Every write refused, in the study's words. */
    snprintf(want, sizeof want, "study '%s' is open read-only: cannot", o.name);
    const char *refused = want;
    memset(&err, 0, sizeof err);
    assert_null(caviar_study_ask(ro, &err));
    assert_int_equal(err.status, CAVIAR_EINVAL);
    assert_non_null(strstr(err.msg, want));
    live = ask(w);
    FAILS(caviar_study_tell(ro, live, CAVIAR_TRIAL_COMPLETE, 1, &err), CAVIAR_EINVAL, refused);
    FAILS(caviar_study_abandon(ro, live, "interrupted", 1, &err), CAVIAR_EINVAL, refused);
    const char *names[1] = {"x"};
    const double values[1] = {0.5};
    FAILS(caviar_study_enqueue(ro, names, values, 1, &err), CAVIAR_EINVAL, refused);
    const caviar_dist d = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = 0,
                           .high = 1};
    FAILS(caviar_study_add_param(ro, "y", &d, &err), CAVIAR_EINVAL, refused);
    FAILS(caviar_study_put_blob(ro, "ckpt", "xyz", 3, &err), CAVIAR_EINVAL, refused);
    size_t n_lost = 99;
    FAILS(caviar_study_reap(ro, &n_lost, &err), CAVIAR_EINVAL, refused);
    assert_int_equal(n_lost, 0);
    /* The writer's trial is still running, unchanged; the blob is the writer's. */
    OK(caviar_study_refresh(ro, &err));
    assert_int_equal(caviar_study_n_trials(ro), 7);
    OK(caviar_study_trial(ro, 6, &vr));
    assert_int_equal(vr.state, CAVIAR_TRIAL_RUNNING);
    run_trial(w, live, NULL);
    OK(caviar_study_refresh(ro, &err));
    for (size_t i = 0; i < 7; i++)
        check_same_view(w, ro, i);
    OK(caviar_study_get_blob(w, "ckpt", &blob, &len, &err));
    assert_memory_equal(blob, "abc", 3);
    free(blob);
    caviar_study_free(ro);
    caviar_study_free(w);

    if (g_type == &store_sqlite) {
        /* A missing file: CAVIAR_EMISSING, and still no file. */
        char path[1100], url[1200];
        snprintf(path, sizeof path, "%s/nothing.db", g_dir);
        snprintf(url, sizeof url, "sqlite:%s", path);
        o.storage = url;
        memset(&err, 0, sizeof err);
        assert_null(caviar_study_new(&o, &err));
        assert_int_equal(err.status, CAVIAR_EMISSING);
        assert_non_null(strstr(err.msg, path));
        assert_int_not_equal(access(path, F_OK), 0);
    }
}

/* ---- main ------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : getenv("CAVIAR_TEST_STORAGE");
    if (!what || !*what)
        what = "memory";
    if (strcmp(what, "memory") == 0 || strcmp(what, ":memory:") == 0) {
        snprintf(g_base, sizeof g_base, ":memory:");
    } else if (strcmp(what, "sqlite") == 0) {
        g_fresh_sqlite = 1;
        snprintf(g_base, sizeof g_base, "sqlite:/tmp/unused.db");
    } else if (strcmp(what, "postgresql") == 0 || strcmp(what, "postgres") == 0) {
        const char *url = getenv("CAVIAR_TEST_PG_URL");
        if (!url || !*url) {
            printf("test_store: CAVIAR_TEST_PG_URL is not set; PostgreSQL tests skipped\n");
            return 77;
        }
        snprintf(g_base, sizeof g_base, "%s", url);
    } else {
        snprintf(g_base, sizeof g_base, "%s", what);
    }
    g_type = store_find(g_base);
    if (!g_type) {
        fprintf(stderr, "test_store: no back-end accepts '%s'\n", what);
        return 2;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(g_run, sizeof g_run, "r%lx%05lx_%ld", (unsigned long)ts.tv_sec,
             (unsigned long)(ts.tv_nsec / 10000) & 0xfffff, (long)getpid());
    if (argc > 2)
        cmocka_set_test_filter(argv[2]);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_study, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_param, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_reap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_studies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_study, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_study_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_study_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_study_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_best, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_study_read_only, setup, teardown),
    };
    char group[64];
    snprintf(group, sizeof group, "test_store (%s)", g_type->name);
    return cmocka_run_group_tests_name(group, tests, NULL, NULL);
}
