/*
 * bench_store.c — how many ask+tell round trips per second caviar's shared storage sustains,
 * with several worker processes on one study.
 *
 * The workload is the cheapest trial a user can write, so that only the storage is timed:
 *     ask; x = suggest_float("x", -5, 5); lr = suggest_float("lr", 1e-5, 1, log);
 *     tell(COMPLETE, x² + (log10 lr + 2)²)
 * with the random sampler. For a storage URL and each worker count W of the list:
 *
 *   1. the parent creates a fresh study (a name no earlier run used), runs --prefill round
 *      trips on it itself (none by default: the history a study has when the window opens
 *      changes the rate of a store whose cost grows with it), and closes it;
 *   2. it forks W workers; each opens the study itself (caviar_study_new after the fork: a
 *      handle never crosses a fork) and says "ready" on a pipe;
 *   3. when all are ready, the parent fixes the window [t0, t1] on the monotonic clock (shared
 *      by every process of the machine), t0 = now + warm-up, t1 = t0 + seconds, and closes the
 *      "go" pipe: every worker wakes at once, so connection set-up is never timed;
 *   4. each worker loops round trips; one that completes inside [t0, t1] counts, with its
 *      latency (and the time of its ask, its two suggestions and its tell). A worker stops
 *      after its first round trip that ends past t1, so the load is the same all through the
 *      window. With --trials N instead, each worker stops after N counted round trips and the
 *      window ends with the last worker;
 *   5. the rate is the counted round trips of all workers ÷ the window's length. The rates of
 *      the window's first and second halves are recorded too: they differ when the cost of a
 *      round trip grows with the number of trials in the study.
 *
 * Then, outside any timing, the parent checks the study: it must hold exactly the trials the
 * workers told (warm-up and tail included), all COMPLETE, numbered 0 .. n-1 without gaps,
 * each number told by one worker once, each trial with its two parameters. A benchmark that
 * loses or duplicates trials is a bug to report, not a figure: the record says "verified":
 * false with what was wrong, and the exit status is 1.
 *
 * Workers share their results through an anonymous shared mapping: a small record each, and a
 * bitmap of the trial numbers told (an atomic OR per round trip, which also catches a number
 * handed to two workers).
 *
 * bench/run_store_bench.sh runs it on SQLite and PostgreSQL with Optuna beside it
 * (bench/peers_store.py); --summary FILE prints the table of a results file with the ratios.
 * Output: a readable line per run, or with --json one JSON object per line.
 *
 * Exit status: 0 done, 1 a run failed or did not verify, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "caviar.h"

#include "bench_json.h"

/* bench/CMakeLists.txt passes no build type to this program: an optimised build without
 * assertions is what CMake's Release (and RelWithDebInfo, MinSizeRel) make. */
#ifndef BENCH_BUILD_TYPE
#if defined(__OPTIMIZE__) && defined(NDEBUG)
#define BENCH_BUILD_TYPE "Release"
#else
#define BENCH_BUILD_TYPE "Debug"
#endif
#endif

#define EXIT_USAGE 2
#define MAX_WORKERS 64
#define MAX_COUNTS 16
#define MAX_RECORDS 64
#define NAME_LEN 64
#define MSG_LEN 512
/* Trial numbers up to this many are checked one by one (2 MB of bitmap). */
#define BITMAP_BITS (1u << 24)
#define BITMAP_WORDS (BITMAP_BITS / 64)

/* ---- clocks and the machine ---------------------------------------------------------------- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The first "model name" of /proc/cpuinfo, or "unknown". */
static void read_cpu_model(char *buf, size_t len)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(buf, len, "unknown");
    while (f && fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon += strspn(colon + 1, " \t") + 1;
        snprintf(buf, len, "%.*s", (int)strcspn(colon, "\n"), colon);
        break;
    }
    if (f)
        fclose(f);
}

static double read_loadavg(void)
{
    double load = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &load) != 1)
        load = NAN;
    if (f)
        fclose(f);
    return load;
}

/* ---- JSON lines out ------------------------------------------------------------------------ */

/* One record is built in a buffer and printed as one line. Non-finite numbers become null. */
typedef struct jline {
    char buf[16384];
    size_t len;
    int n_fields;
} jline;

static jline jl;

__attribute__((format(printf, 1, 2))) static void jl_raw(const char *fmt, ...)
{
    va_list ap;
    if (jl.len >= sizeof jl.buf)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(jl.buf + jl.len, sizeof jl.buf - jl.len, fmt, ap);
    va_end(ap);
    if (n > 0)
        jl.len += (size_t)n;
}

static void jl_key(const char *key)
{
    jl_raw("%s\"%s\": ", jl.n_fields++ ? ", " : "{", key);
}

static void jl_strval(const char *s)
{
    jl_raw("\"");
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            jl_raw("\\%c", *c);
        else if (*c < 0x20)
            jl_raw("\\u%04x", *c);
        else
            jl_raw("%c", *c);
    }
    jl_raw("\"");
}

static void jl_numval(double v)
{
    if (isfinite(v))
        jl_raw("%.6g", v);
    else
        jl_raw("null");
}

static void jl_str(const char *key, const char *s)
{
    jl_key(key);
    jl_strval(s);
}

static void jl_num(const char *key, double v)
{
    jl_key(key);
    jl_numval(v);
}

static void jl_int(const char *key, long long v)
{
    jl_key(key);
    jl_raw("%lld", v);
}

static void jl_bool(const char *key, int v)
{
    jl_key(key);
    jl_raw("%s", v ? "true" : "false");
}

static void jl_nums(const char *key, const double *v, size_t n)
{
    jl_key(key);
    jl_raw("[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            jl_raw(", ");
        jl_numval(v[i]);
    }
    jl_raw("]");
}

static void jl_begin(const char *kind)
{
    jl.len = 0;
    jl.n_fields = 0;
    jl_str("kind", kind);
}

static void jl_end(void)
{
    jl_raw("}");
    fputs(jl.buf, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ---- JSON lines in ------------------------------------------------------------------------- */


/* ---- statistics ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted[0..n-1], linear between order statistics; NaN if empty. */
static double quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (h - (double)lo) * (sorted[hi] - sorted[lo]);
}

/* The median of v[0..n-1] without NaNs (v is reordered); NaN if empty. */
static double median_of(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    qsort(v, m, sizeof *v, cmp_double);
    return quantile_sorted(v, m, 0.5);
}

static double max_of(const double *v, size_t n)
{
    double m = NAN;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]) && !(v[i] <= m))
            m = v[i];
    return m;
}

static double mean_of(const double *v, size_t n)
{
    double sum = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            sum += v[i], m++;
    return m ? sum / (double)m : NAN;
}

/* ---- options -------------------------------------------------------------------------------- */

typedef struct options {
    const char *storage;
    size_t n_counts, counts[MAX_COUNTS]; /* worker counts */
    double seconds, warmup;
    size_t trials; /* per worker, instead of seconds (0: seconds) */
    size_t prefill; /* round trips the parent runs before the workers start */
    uint64_t seed;
    int json, quiet, info;
    const char *summary;
} options;

static void usage(FILE *f)
{
    fputs("usage: bench_store --storage URL [options]\n"
          "       bench_store --summary FILE [--json]\n"
          "       bench_store --info [--json]\n"
          "\n"
          "Times ask + 2 suggestions + tell round trips per second on a study shared by W worker\n"
          "processes, for each W, and checks afterwards that the study holds every trial told.\n"
          "\n"
          "  --storage URL      sqlite:PATH or postgresql://... (a shared store; not :memory:)\n"
          "  --workers LIST     worker counts, run one after the other, each on a fresh study\n"
          "                     (default 1,4,8; at most 64 workers)\n"
          "  --seconds S        length of the timed window (default 5)\n"
          "  --warmup S         round trips before the window, not counted (default 1)\n"
          "  --trials N         instead of --seconds: each worker times N round trips\n"
          "  --prefill N        the parent tells N trials before the workers start, so that\n"
          "                     the window opens on a study of that size (default 0)\n"
          "  --seed N           the studies' seed (default 0)\n"
          "  --json             one JSON object per line instead of readable lines\n"
          "  --quiet            no progress lines on stderr\n"
          "  --info             print the machine record (CPU, versions, build type)\n"
          "  --summary FILE     print the table of a results file (with Optuna's records, if\n"
          "                     any, and the ratios); with --json, a summary record\n"
          "  -h, --help         this text\n"
          "\n"
          "exit status: 0 done, 1 a run failed or its study did not verify, 2 usage\n",
          f);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || v == 0 || s[0] == '-')
        return 0;
    *out = (size_t)v;
    return 1;
}

static int parse_seconds(const char *s, double *out, int zero_ok)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0 || (!zero_ok && v == 0))
        return 0;
    *out = v;
    return 1;
}

/* "1,4,8" (or "1 4 8") into worker counts; the count read, 0 on a bad list. */
static size_t parse_counts(const char *s, size_t *out, size_t max)
{
    char buf[256], *save = NULL;
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (n == max || !parse_size(tok, &out[n]) || out[n] > MAX_WORKERS)
            return 0;
        n++;
    }
    return n;
}

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->n_counts = parse_counts("1,4,8", o->counts, MAX_COUNTS);
    o->seconds = 5;
    o->warmup = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1, takes = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1, takes = 0;
        } else if (strcmp(a, "--info") == 0) {
            o->info = 1, takes = 0;
        } else if (strcmp(a, "--storage") != 0 && strcmp(a, "--workers") != 0 &&
                   strcmp(a, "--seconds") != 0 && strcmp(a, "--warmup") != 0 &&
                   strcmp(a, "--trials") != 0 && strcmp(a, "--seed") != 0 &&
                   strcmp(a, "--prefill") != 0 &&
                   strcmp(a, "--summary") != 0) {
            fprintf(stderr, "bench_store: unknown option '%s'\n", a);
            return 0;
        } else if (!val) {
            ok = 0;
        } else if (strcmp(a, "--storage") == 0) {
            o->storage = val;
        } else if (strcmp(a, "--workers") == 0) {
            ok = (o->n_counts = parse_counts(val, o->counts, MAX_COUNTS)) > 0;
        } else if (strcmp(a, "--seconds") == 0) {
            ok = parse_seconds(val, &o->seconds, 0);
        } else if (strcmp(a, "--warmup") == 0) {
            ok = parse_seconds(val, &o->warmup, 1);
        } else if (strcmp(a, "--trials") == 0) {
            ok = parse_size(val, &o->trials);
        } else if (strcmp(a, "--prefill") == 0) {
            char *end;
            o->prefill = (size_t)strtoull(val, &end, 10);
            ok = end != val && !*end && val[0] != '-';
        } else if (strcmp(a, "--seed") == 0) {
            char *end;
            o->seed = strtoull(val, &end, 10);
            ok = end != val && !*end && val[0] != '-';
        } else if (strcmp(a, "--summary") == 0) {
            o->summary = val;
        }
        if (!ok) {
            if (!val && takes)
                fprintf(stderr, "bench_store: option '%s' needs a value\n", a);
            else
                fprintf(stderr, "bench_store: bad value '%s' for option '%s'\n", val, a);
            return 0;
        }
        i += takes;
    }
    if (!o->summary && !o->info && !o->storage) {
        fprintf(stderr, "bench_store: --storage URL is required\n");
        return 0;
    }
    if (o->storage && (strcmp(o->storage, ":memory:") == 0 || !*o->storage)) {
        fprintf(stderr, "bench_store: storage '%s' is not shared between processes\n"
                        "hint: sqlite:PATH or a postgresql:// URL\n", o->storage);
        return 0;
    }
    return 1;
}

/* "sqlite" or "postgresql", as caviar's store would choose. */
static const char *backend_of(const char *url)
{
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return "postgresql";
    return "sqlite";
}

/* url with a password ("user:secret@" or "password=secret") replaced by "***". */
static void redact(const char *url, char *buf, size_t len)
{
    snprintf(buf, len, "%s", url);
    char *scheme = strstr(buf, "://");
    char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon && at > colon + 1) {
        char tail[512];
        snprintf(tail, sizeof tail, "%s", at);
        snprintf(colon + 1, len - (size_t)(colon + 1 - buf), "***%s", tail);
    }
    char *pw = strstr(buf, "password=");
    if (pw) {
        char tail[512];
        snprintf(tail, sizeof tail, "%s", pw + 9 + strcspn(pw + 9, "&#"));
        snprintf(pw + 9, len - (size_t)(pw + 9 - buf), "***%s", tail);
    }
}

/* ---- the workers ---------------------------------------------------------------------------- */

/* What one worker reports to the parent, in the shared mapping. Times in seconds. */
typedef struct worker_out {
    int ready, failed;
    size_t n_told;    /* round trips completed, warm-up and tail included */
    size_t n_window;  /* of them, counted in the window */
    size_t n_first;   /* of those, in the first half of the window (--seconds only) */
    size_t n_before;  /* round trips that ended before the window opened */
    size_t n_dup;     /* numbers it told that another round trip had told already */
    size_t n_beyond;  /* numbers past the bitmap, not checked */
    double end;       /* when its last counted round trip ended */
    double p50, p99, mean, max;  /* latency of a counted round trip */
    double ask, suggest, tell;   /* sums over the counted round trips */
    double cpu_per_wall;         /* its CPU seconds per wall second in the window */
    char msg[MSG_LEN];           /* what failed */
} worker_out;

typedef struct shared {
    double t0, t1;    /* the window, on the monotonic clock; t1 = +inf with --trials */
    worker_out w[MAX_WORKERS];
    uint64_t told[BITMAP_WORDS]; /* bit n: trial n was told */
} shared;

typedef struct run_spec {
    const options *o;
    char name[NAME_LEN]; /* the study */
    size_t workers;
} run_spec;

static void study_opts(const run_spec *r, caviar_study_opts *opts)
{
    caviar_study_opts_init(opts);
    opts->name = r->name;
    opts->storage = r->o->storage;
    opts->sampler = "random";
    opts->seed = r->o->seed;
}

/* One round trip; *number receives the trial's number, ph[0..2] the seconds spent in ask, in
 * the two suggestions and in tell. On failure *phase names the call that failed. */
static caviar_status round_trip(caviar_study *s, uint64_t *number, double ph[3],
                                const char **phase, caviar_error *err)
{
    double a = mono_now();
    *phase = "ask";
    caviar_trial *t = caviar_study_ask(s, err);
    if (!t)
        return err->status != CAVIAR_OK ? err->status : CAVIAR_EIO;
    *number = caviar_trial_number(t);
    double b = mono_now(), x, lr;
    *phase = "suggest";
    caviar_status st = caviar_trial_suggest_float(t, "x", -5, 5, CAVIAR_SCALE_LINEAR, 0, &x, err);
    if (st == CAVIAR_OK)
        st = caviar_trial_suggest_float(t, "lr", 1e-5, 1, CAVIAR_SCALE_LOG, 0, &lr, err);
    if (st != CAVIAR_OK)
        return st;
    double c = mono_now(), r = log10(lr) + 2;
    *phase = "tell";
    if ((st = caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, x * x + r * r, err)) != CAVIAR_OK)
        return st;
    double d = mono_now();
    ph[0] = b - a;
    ph[1] = c - b;
    ph[2] = d - c;
    return CAVIAR_OK;
}

/* Marks number as told; counts it in *dup when it was already, in *beyond when it cannot be
 * checked. */
static void mark_told(shared *sh, uint64_t number, size_t *dup, size_t *beyond)
{
    if (number >= BITMAP_BITS) {
        (*beyond)++;
        return;
    }
    uint64_t bit = (uint64_t)1 << (number % 64);
    uint64_t was = __atomic_fetch_or(&sh->told[number / 64], bit, __ATOMIC_RELAXED);
    if (was & bit)
        (*dup)++;
}

/* A worker process: opens the study, waits for "go", loops round trips. Never returns. */
static void worker_main(const run_spec *r, shared *sh, size_t id, int ready_fd, int go_fd)
{
    worker_out *out = &sh->w[id];
    caviar_study_opts opts;
    caviar_error err;
    memset(&err, 0, sizeof err);
    study_opts(r, &opts);
    caviar_study *s = caviar_study_new(&opts, &err);
    char c = s ? 'r' : 'f';
    if (!s) {
        out->failed = 1;
        snprintf(out->msg, sizeof out->msg, "cannot open the study: %.480s", err.msg);
    }
    out->ready = s != NULL;
    if (write(ready_fd, &c, 1) != 1 || !s) {
        caviar_study_free(s);
        _exit(1);
    }
    close(ready_fd);
    /* The parent closes the write end: end of file for every worker at once. */
    while (read(go_fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(go_fd);
    double t0, t1;
    __atomic_load(&sh->t0, &t0, __ATOMIC_ACQUIRE);
    t1 = sh->t1;

    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    double cpu0 = NAN, wall0 = NAN, cpu1 = NAN, wall1 = NAN;
    if (!lat) {
        out->failed = 1;
        snprintf(out->msg, sizeof out->msg, "out of memory");
        caviar_study_free(s);
        _exit(1);
    }
    for (;;) {
        uint64_t number = 0;
        double ph[3], start = mono_now();
        const char *phase = "";
        if (round_trip(s, &number, ph, &phase, &err) != CAVIAR_OK) {
            out->failed = 1;
            snprintf(out->msg, sizeof out->msg, "%s: %.480s", phase, err.msg);
            break;
        }
        double end = mono_now();
        out->n_told++;
        mark_told(sh, number, &out->n_dup, &out->n_beyond);
        if (end < t0) {
            out->n_before++;
            continue;
        }
        if (end > t1)
            break;
        if (isnan(cpu0)) {
            cpu0 = cpu_now();
            wall0 = end;
        }
        if (n == cap) {
            double *bigger = realloc(lat, 2 * cap * sizeof *lat);
            if (!bigger) {
                out->failed = 1;
                snprintf(out->msg, sizeof out->msg, "out of memory");
                break;
            }
            lat = bigger;
            cap *= 2;
        }
        lat[n++] = end - start;
        out->n_first += end < 0.5 * (t0 + t1);
        out->ask += ph[0];
        out->suggest += ph[1];
        out->tell += ph[2];
        out->end = end;
        cpu1 = cpu_now();
        wall1 = end;
        if (r->o->trials && n == r->o->trials)
            break;
    }
    out->n_window = n;
    out->cpu_per_wall = wall1 > wall0 ? (cpu1 - cpu0) / (wall1 - wall0) : NAN;
    qsort(lat, n, sizeof *lat, cmp_double);
    out->p50 = quantile_sorted(lat, n, 0.5);
    out->p99 = quantile_sorted(lat, n, 0.99);
    out->max = n ? lat[n - 1] : NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    out->mean = n ? sum / (double)n : NAN;
    free(lat);
    caviar_study_free(s);
    _exit(out->failed ? 1 : 0);
}

/* ---- one run: W workers on a fresh study ---------------------------------------------------- */

typedef struct run_result {
    size_t workers;
    double elapsed, round_trips, per_s;
    double per_worker[MAX_WORKERS], p50[MAX_WORKERS], p99[MAX_WORKERS], cpu[MAX_WORKERS];
    double ask_ms, suggest_ms, tell_ms, mean_ms;
    double first_half_per_s, second_half_per_s;
    size_t told, in_study, complete;
    size_t at_open; /* trials told before the window opened (prefill and warm-up) */
    int failed, verified;
    char reason[MSG_LEN];   /* the first failure */
    char problems[MSG_LEN]; /* what the check of the study found wrong */
} run_result;

__attribute__((format(printf, 2, 3))) static void add_problem(run_result *res, const char *fmt,
                                                              ...)
{
    size_t len = strlen(res->problems);
    va_list ap;
    if (len && len + 2 < sizeof res->problems)
        len += (size_t)snprintf(res->problems + len, sizeof res->problems - len, "; ");
    va_start(ap, fmt);
    vsnprintf(res->problems + len, sizeof res->problems - len, fmt, ap);
    va_end(ap);
    res->verified = 0;
}

/* The study after the run, against what the workers told. */
static void verify(const run_spec *r, const shared *sh, run_result *res)
{
    caviar_study_opts opts;
    caviar_error err;
    caviar_study_summary sum;
    memset(&err, 0, sizeof err);
    study_opts(r, &opts);
    caviar_study *s = caviar_study_new(&opts, &err);
    res->verified = 1;
    if (!s) {
        add_problem(res, "cannot reopen the study: %.480s", err.msg);
        return;
    }
    size_t dup = 0, beyond = 0;
    for (size_t i = 0; i < r->workers; i++) {
        dup += sh->w[i].n_dup;
        beyond += sh->w[i].n_beyond;
    }
    caviar_study_summarize(s, &sum);
    res->in_study = sum.n_trials;
    res->complete = sum.n_complete;
    if (sum.n_trials != res->told)
        add_problem(res, "the study holds %zu trials, the workers told %zu", sum.n_trials,
                    res->told);
    if (sum.n_complete != sum.n_trials)
        add_problem(res, "%zu of %zu trials are not COMPLETE (%zu waiting or gaps, %zu running, "
                    "%zu failed, %zu pruned)", sum.n_trials - sum.n_complete, sum.n_trials,
                    sum.n_waiting, sum.n_running, sum.n_fail, sum.n_pruned);
    if (dup)
        add_problem(res, "%zu trial numbers were handed to two round trips", dup);
    /* Every number below the count told, none above (the bitmap; duplicates are counted by
     * the workers as they tell). */
    size_t below = 0, above = 0;
    for (size_t w = 0; w < BITMAP_WORDS; w++) {
        uint64_t bits = sh->told[w];
        if (!bits)
            continue;
        size_t first = 64 * w;
        uint64_t low = first + 64 <= res->told ? ~(uint64_t)0
                       : first >= res->told   ? 0
                                              : ((uint64_t)1 << (res->told - first)) - 1;
        below += (size_t)__builtin_popcountll(bits & low);
        above += (size_t)__builtin_popcountll(bits & ~low);
    }
    size_t checked = res->told < BITMAP_BITS ? res->told : BITMAP_BITS;
    size_t missing = checked - below, extra = above;
    if (missing || extra)
        add_problem(res, "told numbers are not 0..%zu: %zu missing, %zu beyond", res->told - 1,
                    missing, extra);
    if (beyond)
        add_problem(res, "%zu numbers past %u were not checked", beyond, BITMAP_BITS);
    size_t bad_params = 0;
    for (size_t i = 0; i < sum.n_trials; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(s, i, &v) != CAVIAR_OK || v.number != i || v.n_params != 2 ||
            (v.state == CAVIAR_TRIAL_COMPLETE && !isfinite(v.value)))
            bad_params++;
    }
    if (bad_params)
        add_problem(res, "%zu trials lack their number, their two parameters or their value",
                    bad_params);
    caviar_study_free(s);
}

/* Reaps the workers, killing them (by pid) once deadline passes. */
static void wait_workers(const pid_t *pids, size_t n, double deadline, run_result *res)
{
    size_t left = n;
    int killed = 0;
    int done[MAX_WORKERS] = {0};
    while (left) {
        for (size_t i = 0; i < n; i++) {
            int status;
            if (done[i] || waitpid(pids[i], &status, WNOHANG) != pids[i])
                continue;
            done[i] = 1;
            left--;
            if (WIFSIGNALED(status) && !res->failed) {
                res->failed = 1;
                snprintf(res->reason, sizeof res->reason, "worker %zu killed by signal %d%s", i,
                         WTERMSIG(status), killed ? " (it ran past the deadline)" : "");
            }
        }
        if (!left)
            break;
        if (!killed && mono_now() > deadline) {
            for (size_t i = 0; i < n; i++)
                if (!done[i])
                    kill(pids[i], SIGKILL);
            killed = 1;
        }
        sleep_s(0.01);
    }
}

static int run_one(const options *o, size_t workers, shared *sh, run_result *res)
{
    run_spec r = {.o = o, .workers = workers};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(r.name, sizeof r.name, "bench-store-%zuw-%ld-%lld%09ld", workers, (long)getpid(),
             (long long)ts.tv_sec, ts.tv_nsec);
    memset(res, 0, sizeof *res);
    memset(sh, 0, sizeof *sh);
    res->workers = workers;

    /* The study exists before the workers start, so that none of them races to create it. */
    caviar_study_opts opts;
    caviar_error err;
    memset(&err, 0, sizeof err);
    study_opts(&r, &opts);
    caviar_study *s = caviar_study_new(&opts, &err);
    if (!s) {
        res->failed = 1;
        snprintf(res->reason, sizeof res->reason, "cannot create the study: %.480s",
                 err.msg);
        return 1;
    }
    size_t prefilled = 0, dup = 0, beyond = 0;
    for (; prefilled < o->prefill; prefilled++) {
        uint64_t number;
        double ph[3];
        const char *phase;
        if (round_trip(s, &number, ph, &phase, &err) != CAVIAR_OK) {
            res->failed = 1;
            snprintf(res->reason, sizeof res->reason, "prefill: %s: %.480s", phase, err.msg);
            break;
        }
        mark_told(sh, number, &dup, &beyond);
    }
    caviar_study_free(s);
    res->told = prefilled;
    if (res->failed)
        return 1;

    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) {
        res->failed = 1;
        snprintf(res->reason, sizeof res->reason, "pipe: %s", strerror(errno));
        return 1;
    }
    pid_t pids[MAX_WORKERS];
    size_t started = 0;
    fflush(NULL); /* nothing buffered may be written twice by a child */
    for (; started < workers; started++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            worker_main(&r, sh, started, ready[1], go[0]);
        }
        pids[started] = pid;
    }
    close(ready[1]);
    close(go[0]);
    /* Wait until every worker has its connection (or one says it failed, or died). */
    size_t n_ready = 0;
    char c;
    ssize_t got;
    while (n_ready < started && ((got = read(ready[0], &c, 1)) == 1 || (got < 0 && errno == EINTR)))
        if (got == 1)
            n_ready += c == 'r' ? 1 : 0, res->failed |= c != 'r';
    close(ready[0]);
    double now = mono_now();
    sh->t1 = o->trials ? INFINITY : now + o->warmup + o->seconds;
    double t0 = now + o->warmup;
    __atomic_store(&sh->t0, &t0, __ATOMIC_RELEASE);
    close(go[1]); /* go */
    if (started < workers && !res->failed) {
        res->failed = 1;
        snprintf(res->reason, sizeof res->reason, "fork: %s", strerror(errno));
    }
    /* Caviar retries a busy database for up to 120 s before it fails a call: wait past that. */
    double deadline = o->trials ? INFINITY : now + o->warmup + o->seconds + 180;
    wait_workers(pids, started, deadline, res);

    double lat_sum[MAX_WORKERS], sum_ask = 0, sum_suggest = 0, sum_tell = 0, end = sh->t0;
    size_t counted = 0, first = 0;
    for (size_t i = 0; i < started; i++) {
        const worker_out *w = &sh->w[i];
        if (w->failed && !res->failed) {
            res->failed = 1;
            snprintf(res->reason, sizeof res->reason, "worker %zu: %.400s", i, w->msg);
        }
        res->told += w->n_told;
        counted += w->n_window;
        first += w->n_first;
        res->at_open += w->n_before;
        sum_ask += w->ask;
        sum_suggest += w->suggest;
        sum_tell += w->tell;
        if (w->n_window && w->end > end)
            end = w->end;
        res->p50[i] = 1e3 * w->p50;
        res->p99[i] = 1e3 * w->p99;
        res->cpu[i] = w->cpu_per_wall;
        lat_sum[i] = w->n_window ? w->mean * (double)w->n_window : 0;
    }
    res->round_trips = (double)counted;
    res->elapsed = o->trials ? end - sh->t0 : o->seconds;
    res->per_s = res->elapsed > 0 ? (double)counted / res->elapsed : NAN;
    res->first_half_per_s = o->trials ? NAN : (double)first / (0.5 * o->seconds);
    res->second_half_per_s = o->trials ? NAN : (double)(counted - first) / (0.5 * o->seconds);
    res->at_open += prefilled;
    for (size_t i = 0; i < started; i++)
        res->per_worker[i] = res->elapsed > 0 ? (double)sh->w[i].n_window / res->elapsed : NAN;
    double total = 0;
    for (size_t i = 0; i < started; i++)
        total += lat_sum[i];
    res->mean_ms = counted ? 1e3 * total / (double)counted : NAN;
    res->ask_ms = counted ? 1e3 * sum_ask / (double)counted : NAN;
    res->suggest_ms = counted ? 1e3 * sum_suggest / (double)counted : NAN;
    res->tell_ms = counted ? 1e3 * sum_tell / (double)counted : NAN;
    verify(&r, sh, res);
    return res->failed || !res->verified;
}

static void print_run_json(const options *o, const run_result *res)
{
    char shown[512];
    redact(o->storage, shown, sizeof shown);
    size_t w = res->workers;
    jl_begin("store");
    jl_str("source", "caviar");
    jl_str("backend", backend_of(o->storage));
    jl_str("storage", shown);
    jl_int("workers", (long long)w);
    jl_str("mode", o->trials ? "trials" : "seconds");
    jl_num("seconds", o->trials ? NAN : o->seconds);
    jl_int("trials_per_worker", (long long)o->trials);
    jl_num("warmup", o->warmup);
    jl_int("prefill", (long long)o->prefill);
    jl_int("trials_at_window_open", (long long)res->at_open);
    jl_num("elapsed_s", res->elapsed);
    jl_num("round_trips", res->round_trips);
    jl_num("round_trips_per_s", res->per_s);
    jl_num("first_half_per_s", res->first_half_per_s);
    jl_num("second_half_per_s", res->second_half_per_s);
    jl_nums("per_worker_per_s", res->per_worker, w);
    jl_nums("p50_ms", res->p50, w);
    jl_nums("p99_ms", res->p99, w);
    jl_num("mean_ms", res->mean_ms);
    jl_num("ask_ms", res->ask_ms);
    jl_num("suggest_ms", res->suggest_ms);
    jl_num("tell_ms", res->tell_ms);
    jl_nums("cpu_per_wall", res->cpu, w);
    jl_int("errors", res->failed ? 1 : 0);
    jl_bool("failed", res->failed);
    jl_str("reason", res->reason);
    jl_bool("verified", res->verified);
    jl_int("trials_told", (long long)res->told);
    jl_int("trials_in_study", (long long)res->in_study);
    jl_int("trials_complete", (long long)res->complete);
    jl_str("problems", res->problems);
    jl_end();
}

static void print_run_text(const options *o, const run_result *res)
{
    double p50[MAX_WORKERS];
    memcpy(p50, res->p50, sizeof p50);
    printf("%-10s %2zu worker%s  %9.0f round trips/s  (%.0f in %.2f s)  p50 %.3f ms  p99 %.3f "
           "ms (worst worker)  ask %.3f / suggest×2 %.3f / tell %.3f ms  halves %.0f, %.0f/s "
           "from %zu trials  %s%s\n",
           backend_of(o->storage), res->workers, res->workers == 1 ? " " : "s", res->per_s,
           res->round_trips, res->elapsed, median_of(p50, res->workers),
           max_of(res->p99, res->workers), res->ask_ms, res->suggest_ms, res->tell_ms,
           res->first_half_per_s, res->second_half_per_s, res->at_open,
           res->verified ? "verified" : "NOT VERIFIED: ", res->problems);
    if (res->failed)
        printf("           failed: %s\n", res->reason);
}

/* ---- the machine record --------------------------------------------------------------------- */

static void print_machine_json(void)
{
    char cpu[256];
    read_cpu_model(cpu, sizeof cpu);
    jl_begin("machine");
    jl_str("cpu", cpu);
    jl_num("n_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    jl_num("loadavg_1min", read_loadavg());
    jl_str("caviar_version", caviar_version());
    jl_str("build_type", BENCH_BUILD_TYPE);
    jl_str("sqlite_version", sqlite3_libversion());
    jl_int("libpq_version", PQlibVersion());
#ifdef __VERSION__
    jl_str("compiler", __VERSION__);
#endif
    jl_end();
}

/* ---- the summary of a results file ---------------------------------------------------------- */

typedef struct store_rec {
    char source[NAME_LEN], backend[NAME_LEN];
    size_t workers, n_w;
    double per_s, seconds, warmup, round_trips;
    double p50[MAX_WORKERS], p99[MAX_WORKERS], cpu[MAX_WORKERS];
    double ask_ms, suggest_ms, tell_ms, mean_ms;
    double errors, locked_errors, left_running;
    double first_half, second_half, at_open, in_study;
    int verified, failed;
    char reason[MSG_LEN], problems[MSG_LEN];
} store_rec;

typedef struct results {
    char date[64], commit[64], host[128], optuna[32], python[32], sqlalchemy[32];
    char cpu[256], build_type[32], caviar_version[32], sqlite[32], tmpfs[64], pg_version[64];
    int dirty;
    double n_cpus, loadavg;
    size_t n;
    store_rec rec[MAX_RECORDS];
} results;

static int read_results(const char *path, results *res)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_store: cannot open '%s': %s\n", path, strerror(errno));
        return 0;
    }
    static char line[1 << 16];
    res->n_cpus = res->loadavg = NAN;
    while (fgets(line, sizeof line, f)) {
        char kind[NAME_LEN] = "";
        jget_str(line, "kind", kind, sizeof kind);
        if (strcmp(kind, "run") == 0) {
            jget_str(line, "date", res->date, sizeof res->date);
            jget_str(line, "commit", res->commit, sizeof res->commit);
            jget_str(line, "host", res->host, sizeof res->host);
            jget_str(line, "optuna", res->optuna, sizeof res->optuna);
            jget_str(line, "python", res->python, sizeof res->python);
            jget_str(line, "sqlalchemy", res->sqlalchemy, sizeof res->sqlalchemy);
            jget_str(line, "tmp_fs", res->tmpfs, sizeof res->tmpfs);
            jget_str(line, "postgresql_server", res->pg_version, sizeof res->pg_version);
            jget_bool(line, "dirty", &res->dirty);
        } else if (strcmp(kind, "machine") == 0) {
            jget_str(line, "cpu", res->cpu, sizeof res->cpu);
            jget_str(line, "build_type", res->build_type, sizeof res->build_type);
            jget_str(line, "caviar_version", res->caviar_version, sizeof res->caviar_version);
            jget_str(line, "sqlite_version", res->sqlite, sizeof res->sqlite);
            jget_num(line, "n_cpus", &res->n_cpus);
            jget_num(line, "loadavg_1min", &res->loadavg);
        } else if (strcmp(kind, "store") == 0 && res->n < MAX_RECORDS) {
            store_rec *r = &res->rec[res->n++];
            double x = NAN;
            memset(r, 0, sizeof *r);
            jget_str(line, "source", r->source, sizeof r->source);
            jget_str(line, "backend", r->backend, sizeof r->backend);
            jget_str(line, "reason", r->reason, sizeof r->reason);
            jget_str(line, "problems", r->problems, sizeof r->problems);
            if (jget_num(line, "workers", &x))
                r->workers = (size_t)x;
            r->per_s = r->seconds = r->warmup = r->round_trips = NAN;
            r->ask_ms = r->suggest_ms = r->tell_ms = r->mean_ms = NAN;
            r->errors = r->locked_errors = r->left_running = NAN;
            r->first_half = r->second_half = r->at_open = r->in_study = NAN;
            jget_num(line, "first_half_per_s", &r->first_half);
            jget_num(line, "second_half_per_s", &r->second_half);
            jget_num(line, "trials_at_window_open", &r->at_open);
            jget_num(line, "trials_in_study", &r->in_study);
            jget_num(line, "round_trips_per_s", &r->per_s);
            jget_num(line, "seconds", &r->seconds);
            jget_num(line, "warmup", &r->warmup);
            jget_num(line, "round_trips", &r->round_trips);
            jget_num(line, "ask_ms", &r->ask_ms);
            jget_num(line, "suggest_ms", &r->suggest_ms);
            jget_num(line, "tell_ms", &r->tell_ms);
            jget_num(line, "mean_ms", &r->mean_ms);
            jget_num(line, "errors", &r->errors);
            jget_num(line, "locked_errors", &r->locked_errors);
            jget_num(line, "trials_left_running", &r->left_running);
            jget_bool(line, "verified", &r->verified);
            jget_bool(line, "failed", &r->failed);
            r->n_w = jget_nums(line, "p50_ms", r->p50, MAX_WORKERS);
            jget_nums(line, "p99_ms", r->p99, MAX_WORKERS);
            jget_nums(line, "cpu_per_wall", r->cpu, MAX_WORKERS);
        }
    }
    fclose(f);
    return 1;
}

static const store_rec *find_rec(const results *res, const char *source_prefix,
                                 const char *backend, size_t workers)
{
    const store_rec *found = NULL;
    for (size_t i = 0; i < res->n; i++) {
        const store_rec *r = &res->rec[i];
        if (strncmp(r->source, source_prefix, strlen(source_prefix)) == 0 &&
            strcmp(r->backend, backend) == 0 && r->workers == workers)
            found = r; /* the last one wins */
    }
    return found;
}

/* The worker counts caviar ran on SQLite, in the order of the file. */
static size_t sqlite_counts(const results *res, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < res->n; i++) {
        const store_rec *r = &res->rec[i];
        if (strcmp(r->source, "caviar") != 0 || strcmp(r->backend, "sqlite") != 0)
            continue;
        size_t k = 0;
        while (k < n && out[k] != r->workers)
            k++;
        if (k == n && n < MAX_COUNTS)
            out[n++] = r->workers;
    }
    return n;
}

/* caviar on SQLite ÷ Optuna on SQLite at W workers: NaN when either is missing or did not
 * produce a figure to trust, +inf when Optuna completed nothing. */
static double ratio_at(const results *res, size_t workers)
{
    const store_rec *ours = find_rec(res, "caviar", "sqlite", workers);
    const store_rec *theirs = find_rec(res, "optuna", "sqlite", workers);
    if (!ours || !theirs || ours->failed || !ours->verified || !isfinite(theirs->per_s))
        return NAN;
    return theirs->per_s > 0 ? ours->per_s / theirs->per_s : INFINITY;
}

/* 1 met, 0 not met, -1 not measured (no Optuna figures). */
static int target_verdict(const results *res)
{
    size_t counts[MAX_COUNTS], n = sqlite_counts(res, counts);
    int verdict = -1;
    for (size_t k = 0; k < n; k++) {
        const store_rec *ours = find_rec(res, "caviar", "sqlite", counts[k]);
        if (!find_rec(res, "optuna", "sqlite", counts[k]))
            continue;
        double ratio = ratio_at(res, counts[k]);
        if (ours->failed || !ours->verified || !(ratio >= 10))
            return 0;
        verdict = 1;
    }
    return verdict;
}

static void fmt_ratio(char *buf, size_t len, double r)
{
    if (isinf(r))
        snprintf(buf, len, "inf (Optuna completed none)");
    else if (isnan(r))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f×", r);
}

static void print_table(const results *res)
{
    if (res->date[0])
        printf("run      %s, commit %.12s%s, host %s\n", res->date, res->commit,
               res->dirty ? " (with uncommitted changes)" : "", res->host);
    printf("machine  %s, %.0f CPUs online, load average %.2f at the start\n", res->cpu,
           res->n_cpus, res->loadavg);
    printf("caviar   %s, %s build, SQLite %s%s%s", res->caviar_version, res->build_type,
           res->sqlite, res->pg_version[0] ? ", PostgreSQL " : "", res->pg_version);
    if (res->date[0])
        printf("; peer: %s%s", res->optuna[0] ? "Optuna " : "Optuna missing", res->optuna);
    if (res->python[0] && res->optuna[0])
        printf(" (Python %s, SQLAlchemy %s)", res->python, res->sqlalchemy);
    printf("\n");
    if (res->tmpfs[0])
        printf("files    SQLite databases on a %s file system\n", res->tmpfs);
    if (strcmp(res->build_type, "Release") != 0)
        printf("warning: not a Release build: the figures mean little\n");
    size_t most = 0;
    for (size_t i = 0; i < res->n; i++)
        most = res->rec[i].workers > most ? res->rec[i].workers : most;
    if ((double)most > res->n_cpus)
        printf("note: %.0f cores: with more than %.0f workers the figures measure contention "
               "(for the cores and the database's lock), not scaling\n", res->n_cpus,
               res->n_cpus);

    double seconds = NAN, warmup = NAN;
    for (size_t i = 0; i < res->n; i++)
        if (strcmp(res->rec[i].source, "caviar") == 0) {
            seconds = res->rec[i].seconds;
            warmup = res->rec[i].warmup;
        }
    printf("\nSTORAGE  ask + 2 suggestions (linear x, log lr) + tell COMPLETE, random sampler, W "
           "worker processes on one fresh study;\n         round trips completed by all workers "
           "in a %.3g s window after %.3g s of warm-up\n\n", seconds, warmup);
    printf("%-22s %7s %14s %10s %10s %10s %8s %8s  %s\n", "", "workers", "round trips/s",
           "p50 ms", "p99 ms", "mean ms", "CPU/wall", "errors", "study check");
    int contended = 0;
    for (size_t i = 0; i < res->n; i++) {
        const store_rec *r = &res->rec[i];
        char label[2 * NAME_LEN], errors[32], check[MSG_LEN + 32];
        double p50[MAX_WORKERS];
        memcpy(p50, r->p50, sizeof p50);
        snprintf(label, sizeof label, "%s %s", r->source, r->backend);
        if (isnan(r->errors))
            snprintf(errors, sizeof errors, "-");
        else
            snprintf(errors, sizeof errors, "%.0f", r->errors);
        if (r->verified)
            snprintf(check, sizeof check, "ok");
        else
            snprintf(check, sizeof check, "%s%s", strncmp(r->source, "caviar", 6) == 0
                                                      ? "NOT VERIFIED: "
                                                      : "", r->problems);
        double cpu = mean_of(r->cpu, r->n_w);
        printf("%-22s %7zu %14.0f %10.3f %10.3f %10.3f %8.2f %8s  %s\n", label, r->workers,
               r->per_s, median_of(p50, r->n_w), max_of(r->p99, r->n_w), r->mean_ms, cpu,
               errors, check);
        if (r->failed)
            printf("%-22s failed: %s\n", "", r->reason);
        /* One caviar worker on SQLite never waits for anybody: below 0.9 of a core, something
         * else had the core. (Optuna's SQLite waits for the disk: it syncs every commit.) */
        if (r->workers == 1 && cpu < 0.9 && strcmp(r->source, "caviar") == 0 &&
            strcmp(r->backend, "sqlite") == 0)
            contended = 1;
    }
    printf("p50: the median of the workers' medians; p99: the worst worker's; mean: all "
           "counted round trips;\nCPU/wall: the workers' own CPU seconds per wall second, "
           "averaged over workers (the PostgreSQL server's are not in it)\n");
    if (contended)
        printf("warning: caviar's single SQLite worker used less than 0.9 of a core: something "
               "else used the machine during the run\n");

    printf("\nwhere a round trip's time goes (mean ms), and how the rate moves as the study "
           "grows during the window\n\n");
    printf("%-22s %7s %8s %12s %8s | %14s %10s | %12s %12s\n", "", "workers", "ask", "suggest×2",
           "tell", "trials at open", "at end", "1st half/s", "2nd half/s");
    for (size_t i = 0; i < res->n; i++) {
        const store_rec *r = &res->rec[i];
        char label[2 * NAME_LEN];
        snprintf(label, sizeof label, "%s %s", r->source, r->backend);
        printf("%-22s %7zu %8.3f %12.3f %8.3f | %14.0f %10.0f | %12.0f %12.0f\n", label,
               r->workers, r->ask_ms, r->suggest_ms, r->tell_ms, r->at_open, r->in_study,
               r->first_half, r->second_half);
    }
    printf("(a store whose cost per round trip grows with the study is slower in the second "
           "half; the faster store\n reaches a bigger study in the same window)\n");
    for (size_t i = 0; i < res->n; i++) {
        const store_rec *r = &res->rec[i];
        if (strncmp(r->source, "optuna", 6) == 0 && r->errors > 0)
            printf("%s %s, %zu workers: %.0f errors, %.0f of them \"database is locked\"; %.0f "
                   "trials left RUNNING\n", r->source, r->backend, r->workers, r->errors,
                   r->locked_errors, r->left_running);
    }

    size_t counts[MAX_COUNTS], n = sqlite_counts(res, counts);
    printf("\ncaviar on SQLite ÷ Optuna %s on SQLite (round trips/s):", res->optuna[0] ?
           res->optuna : "(missing)");
    for (size_t k = 0; k < n; k++) {
        char buf[64];
        fmt_ratio(buf, sizeof buf, ratio_at(res, counts[k]));
        printf("%s %zu worker%s %s", k ? "," : "", counts[k], counts[k] == 1 ? "" : "s", buf);
    }
    printf("\n");
    int verdict = target_verdict(res);
    printf("target: caviar on SQLite at least 10× Optuna's rate on SQLite at every worker count: "
           "%s\n", verdict < 0 ? "not measured (no Optuna figures)" : verdict ? "met"
                                                                          : "NOT met");
    for (size_t i = 0; i < res->n; i++)
        if (strcmp(res->rec[i].source, "caviar") == 0 && !res->rec[i].verified) {
            printf("BUG: a caviar study did not hold the trials its workers told (see above): "
                   "its figure is not a result\n");
            break;
        }
}

static void print_summary_json(const results *res)
{
    size_t counts[MAX_COUNTS], n = sqlite_counts(res, counts);
    jl_begin("summary");
    int verdict = target_verdict(res);
    jl_key("target_met");
    jl_raw("%s", verdict < 0 ? "null" : verdict ? "true" : "false");
    static const struct {
        const char *key, *source, *backend;
    } series[] = {{"caviar_sqlite_per_s", "caviar", "sqlite"},
                  {"caviar_postgresql_per_s", "caviar", "postgresql"},
                  {"optuna_sqlite_per_s", "optuna", "sqlite"}};
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        jl_key(series[k].key);
        jl_raw("{");
        int first = 1;
        for (size_t i = 0; i < res->n; i++) {
            const store_rec *r = &res->rec[i];
            if (strncmp(r->source, series[k].source, strlen(series[k].source)) != 0 ||
                strcmp(r->backend, series[k].backend) != 0)
                continue;
            jl_raw("%s\"%zu\": ", first ? "" : ", ", r->workers);
            jl_numval(r->per_s);
            first = 0;
        }
        jl_raw("}");
    }
    jl_key("ratio_caviar_optuna_sqlite");
    jl_raw("{");
    for (size_t k = 0; k < n; k++) {
        double ratio = ratio_at(res, counts[k]);
        jl_raw("%s\"%zu\": ", k ? ", " : "", counts[k]);
        if (isinf(ratio))
            jl_raw("\"inf\"");
        else
            jl_numval(ratio);
    }
    jl_raw("}");
    jl_key("optuna_errors");
    jl_raw("{");
    int first = 1;
    for (size_t i = 0; i < res->n; i++) {
        const store_rec *r = &res->rec[i];
        if (strncmp(r->source, "optuna", 6) != 0)
            continue;
        jl_raw("%s\"%s/%zu\": ", first ? "" : ", ", r->backend, r->workers);
        jl_numval(r->errors);
        first = 0;
    }
    jl_raw("}");
    int all = 1;
    for (size_t i = 0; i < res->n; i++)
        if (strcmp(res->rec[i].source, "caviar") == 0)
            all &= res->rec[i].verified && !res->rec[i].failed;
    jl_bool("caviar_all_verified", all);
    jl_end();
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    options o;
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "try 'bench_store --help'\n");
        return EXIT_USAGE;
    }
    if (o.summary) {
        static results res;
        if (!read_results(o.summary, &res))
            return 1;
        if (o.json)
            print_summary_json(&res);
        else
            print_table(&res);
        return 0;
    }
    if (o.info) {
        if (o.json)
            print_machine_json();
        else
            printf("caviar %s, %s build, SQLite %s, libpq %d\n", caviar_version(),
                   BENCH_BUILD_TYPE, sqlite3_libversion(), PQlibVersion());
        if (!o.storage)
            return 0;
    }
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        fprintf(stderr, "bench_store: cannot map %zu bytes: %s\n", sizeof *sh, strerror(errno));
        return 1;
    }
    int status = 0;
    for (size_t k = 0; k < o.n_counts; k++) {
        run_result res;
        if (!o.quiet)
            fprintf(stderr, "store: %s, %zu worker%s ...\n", backend_of(o.storage), o.counts[k],
                    o.counts[k] == 1 ? "" : "s");
        status |= run_one(&o, o.counts[k], sh, &res);
        if (o.json)
            print_run_json(&o, &res);
        else
            print_run_text(&o, &res);
        if (!o.quiet && (res.failed || !res.verified))
            fprintf(stderr, "bench_store: %s with %zu workers: %s%s%s\n", backend_of(o.storage),
                    o.counts[k], res.failed ? res.reason : "",
                    res.failed && !res.verified ? "; " : "", res.verified ? "" : res.problems);
    }
    munmap(sh, sizeof *sh);
    return status;
}
