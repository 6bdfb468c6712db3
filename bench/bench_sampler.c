/*
 * bench_sampler.c — what caviar's samplers cost per trial, and how well they search.
 *
 * Overhead. One study per sampler, seed 0, in-memory storage, minimising the cheap function of
 * ../shared/peers/optuna_overhead.py, so that only the tuner's own work is timed:
 *     x0 .. x4 uniform in [-5, 5], lr log-uniform in [1e-5, 1]
 *     f = Σ x_i² + (log10 lr + 2)²
 * Each trial (ask, six suggestions, the evaluation, tell) is timed on its own with the monotonic
 * clock. For every mark m (100, 1,000, 10,000 trials by default) the record holds
 *     cumulative   the time of trials 1 .. m
 *     per trial    the mean (and the median) of trials m+1 .. m+W, W = 20: the cost of one more
 *                  trial once the history holds m, as the Optuna script measures it ("time the
 *                  next 20 trials")
 * A run stops after the last mark plus W trials, at --max-trials plus W, or W trials after its
 * cumulative time passes --max-seconds, whichever comes first; a mark it did not reach is
 * recorded as null, and the cost of its last W trials is recorded in every case, with the
 * number of trials before them.
 *
 * Search quality. Branin (2-D) and Hartmann-6 (6-D), minimised by each sampler with seeds
 * 0 .. S-1 (S = 20); the record holds, for every seed, the best value found after each budget
 * (50 and 100 trials). The summary gives the median and the quartiles over the seeds, with
 * linear interpolation between order statistics (numpy's default), so figures computed here and
 * by bench/peers_sampler.py for Optuna are comparable.
 *
 * The parameters are declared with caviar_study_add_param() before the first trial, as a user of
 * a sampler that proposes all of them at once (Sobol, coarse-to-fine, multivariate TPE) would,
 * and then asked for by name in every trial. A sampler that is not built (caviar_study_new()
 * says "unknown sampler") or that rejects a variant's settings is reported as not available,
 * with the library's message, and the run goes on with the others.
 *
 * bench/run_sampler_bench.sh runs it together with Optuna (the peer); --summary FILE prints the
 * tables of a results file with the ratios against the peer. The output is a readable report,
 * or with --json one JSON object per line (what results files are made of).
 *
 * Exit status: 0 done, 1 a failure (a sampler that exists failed during a run), 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caviar.h"

#include "bench_json.h"

#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif

#define EXIT_USAGE 2
#define MAX_DIM 8
#define MAX_MARKS 8
#define MAX_BUDGETS 8
#define MAX_SEEDS 200
#define MAX_VARIANTS 16
#define MAX_QUALITY 64
#define MAX_PEER_OVERHEAD 32
#define NAME_LEN 64
#define MSG_LEN 512

/* ---- the samplers under test ---------------------------------------------------------------- */

/* A label as it appears in the tables, the caviar sampler it opens and its settings. The labels
 * of the TPE variants and of random match the names optuna_overhead.py gives its samplers. A
 * label not in this table opens the sampler of that name with its default settings. */
typedef struct variant {
    char label[NAME_LEN];
    char sampler[NAME_LEN];
    char settings[NAME_LEN];
} variant;

static const struct {
    const char *label, *sampler, *settings;
} KNOWN_VARIANTS[] = {
    {"random", "random", ""},
    {"sobol", "sobol", ""},
    {"coarse-to-fine", "coarse-to-fine", ""},
    {"tpe", "tpe", ""},
    {"tpe-multivariate", "tpe", "multivariate=true"},
};

static void variant_from_label(variant *v, const char *label)
{
    snprintf(v->label, sizeof v->label, "%s", label);
    snprintf(v->sampler, sizeof v->sampler, "%s", label);
    v->settings[0] = '\0';
    for (size_t i = 0; i < sizeof KNOWN_VARIANTS / sizeof KNOWN_VARIANTS[0]; i++)
        if (strcmp(KNOWN_VARIANTS[i].label, label) == 0) {
            snprintf(v->sampler, sizeof v->sampler, "%s", KNOWN_VARIANTS[i].sampler);
            snprintf(v->settings, sizeof v->settings, "%s", KNOWN_VARIANTS[i].settings);
        }
}

/* ---- the problems ---------------------------------------------------------------------------- */

typedef struct param {
    const char *name;
    double low, high;
    caviar_scale scale;
} param;

typedef struct problem {
    const char *name;  /* as in the records */
    const char *title; /* as in the tables */
    size_t n_params;
    const param *params;
    double (*f)(const double *x);
    double f_min; /* the global minimum, NaN if none is claimed */
} problem;

/* The overhead function: x[0..4] in [-5, 5], x[5] the learning rate. */
static double f_overhead(const double *x)
{
    double sum = 0;
    for (int i = 0; i < 5; i++)
        sum += x[i] * x[i];
    double r = log10(x[5]) + 2;
    return sum + r * r;
}

static const param OVERHEAD_PARAMS[] = {
    {"x0", -5, 5, CAVIAR_SCALE_LINEAR}, {"x1", -5, 5, CAVIAR_SCALE_LINEAR},
    {"x2", -5, 5, CAVIAR_SCALE_LINEAR}, {"x3", -5, 5, CAVIAR_SCALE_LINEAR},
    {"x4", -5, 5, CAVIAR_SCALE_LINEAR}, {"lr", 1e-5, 1, CAVIAR_SCALE_LOG},
};

/* Branin-Hoo: a (x2 - b x1² + c x1 - r)² + s (1 - t) cos x1 + s with a = 1, b = 5.1 / (4π²),
 * c = 5 / π, r = 6, s = 10, t = 1 / (8π); three global minima of 0.397887, at (-π, 12.275),
 * (π, 2.275) and (9.42478, 2.475). */
static double f_branin(const double *x)
{
    const double pi = 3.14159265358979323846;
    double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
    double q = x[1] - b * x[0] * x[0] + c * x[0] - 6;
    return q * q + 10 * (1 - t) * cos(x[0]) + 10;
}

static const param BRANIN_PARAMS[] = {
    {"x1", -5, 10, CAVIAR_SCALE_LINEAR},
    {"x2", 0, 15, CAVIAR_SCALE_LINEAR},
};

/* Hartmann-6: -Σ_i α_i exp(-Σ_j A_ij (x_j - P_ij)²) on [0, 1]^6, with the usual constants;
 * global minimum -3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). */
static double f_hartmann6(const double *x)
{
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double a[4][6] = {
        {10, 3, 17, 3.5, 1.7, 8},
        {0.05, 10, 17, 0.1, 8, 14},
        {3, 3.5, 1.7, 10, 17, 8},
        {17, 8, 0.05, 10, 0.1, 14},
    };
    static const double p[4][6] = {
        {0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
        {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
        {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
        {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381},
    };
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        double e = 0;
        for (int j = 0; j < 6; j++)
            e += a[i][j] * (x[j] - p[i][j]) * (x[j] - p[i][j]);
        sum += alpha[i] * exp(-e);
    }
    return -sum;
}

static const param HARTMANN6_PARAMS[] = {
    {"x1", 0, 1, CAVIAR_SCALE_LINEAR}, {"x2", 0, 1, CAVIAR_SCALE_LINEAR},
    {"x3", 0, 1, CAVIAR_SCALE_LINEAR}, {"x4", 0, 1, CAVIAR_SCALE_LINEAR},
    {"x5", 0, 1, CAVIAR_SCALE_LINEAR}, {"x6", 0, 1, CAVIAR_SCALE_LINEAR},
};

static const problem OVERHEAD_PROBLEM = {"overhead6", "6-D quadratic", 6, OVERHEAD_PARAMS,
                                         f_overhead, 0};
static const problem QUALITY_PROBLEMS[] = {
    {"branin", "Branin", 2, BRANIN_PARAMS, f_branin, 0.397887},
    {"hartmann6", "Hartmann-6", 6, HARTMANN6_PARAMS, f_hartmann6, -3.32237},
};
#define N_QUALITY_PROBLEMS (sizeof QUALITY_PROBLEMS / sizeof QUALITY_PROBLEMS[0])

static const problem *find_problem(const char *name)
{
    for (size_t i = 0; i < N_QUALITY_PROBLEMS; i++)
        if (strcmp(QUALITY_PROBLEMS[i].name, name) == 0)
            return &QUALITY_PROBLEMS[i];
    return NULL;
}

/* The functions must give their published minima at the published minimisers: a typo in a
 * constant would otherwise pass for a sampler that searches badly. Returns 0 when they do. */
static int check_problems(void)
{
    const double pi = 3.14159265358979323846;
    const double branin_at[3][2] = {{-pi, 12.275}, {pi, 2.275}, {9.42478, 2.475}};
    const double hartmann_at[6] = {0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573};
    int bad = 0;
    for (int i = 0; i < 3; i++)
        bad |= fabs(f_branin(branin_at[i]) - 0.397887) > 1e-5;
    bad |= fabs(f_hartmann6(hartmann_at) - -3.32237) > 1e-5;
    if (bad)
        fprintf(stderr, "bench_sampler: a test function does not reach its published minimum\n");
    return bad;
}

/* ---- clocks and the machine ---------------------------------------------------------------- */

static double wall_now(void)
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
    char buf[65536];
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

static void jl_begin(const char *kind);

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
        jl_raw("%.10g", v);
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

static void jl_sizes(const char *key, const size_t *v, size_t n)
{
    jl_key(key);
    jl_raw("[");
    for (size_t i = 0; i < n; i++)
        jl_raw("%s%zu", i ? ", " : "", v[i]);
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


/* An object of numbers keyed by integers, {"10": 0.01, "100": 0.2}, as optuna_overhead.py
 * writes its cumulative times; the count of pairs read, at most max. */
static size_t jget_int_keyed(const char *s, const char *key, size_t *keys, double *vals,
                             size_t max)
{
    const char *v = jfind(s, key);
    size_t n = 0;
    if (!v || *v != '{')
        return 0;
    for (v++; *v && *v != '}' && n < max;) {
        char *end;
        v += strspn(v, " ,\"");
        unsigned long long k = strtoull(v, &end, 10);
        if (end == v)
            break;
        v = end + strspn(end, "\" :");
        vals[n] = strtod(v, &end);
        if (end == v)
            break;
        keys[n++] = (size_t)k;
        v = end;
    }
    return n;
}

/* ---- results ------------------------------------------------------------------------------- */

typedef struct overhead_rec {
    char label[NAME_LEN], sampler[NAME_LEN], settings[NAME_LEN];
    int available;
    char reason[MSG_LEN]; /* why not available, or what failed */
    size_t window, trials_run, n_marks, marks[MAX_MARKS];
    double cumulative_s[MAX_MARKS]; /* NaN: mark not reached */
    double us_mean[MAX_MARKS], us_median[MAX_MARKS];
    size_t end_trials; /* trials in the history before the last window */
    double us_end, cpu_per_wall, total_s, best, max_seconds;
    char stop[NAME_LEN]; /* "marks", "max-trials", "max-seconds", "sampler-stopped", "error" */
} overhead_rec;

typedef struct quality_rec {
    char source[NAME_LEN]; /* "caviar" or the peer, "optuna-3.1.0" */
    char label[NAME_LEN], function[NAME_LEN];
    int available, failed; /* failed: it exists but a trial failed; reason says which */
    char reason[MSG_LEN];
    size_t n_seeds, n_budgets, budgets[MAX_BUDGETS];
    double best[MAX_BUDGETS][MAX_SEEDS]; /* best[b][seed] after budgets[b] trials */
    double seconds;
} quality_rec;

/* One line of optuna_overhead.py: its cumulative times at its marks and the cost per trial of
 * the 20 trials after its last one. */
typedef struct peer_overhead_rec {
    char peer[NAME_LEN], label[NAME_LEN];
    size_t trials;
    double ms_at_end;
    size_t n_cumulative, cumulative_at[MAX_MARKS]; /* its marks */
    double cumulative_s[MAX_MARKS];
} peer_overhead_rec;

typedef struct results {
    char date[64], commit[64], host[128], python[32], optuna[32], numpy[32], cpu[256];
    char build_type[32], caviar_version[32];
    int dirty;
    double n_cpus, loadavg;
    size_t n_marks, marks[MAX_MARKS]; /* of the overhead records */
    size_t n_over, n_quality, n_peer_over;
    overhead_rec over[MAX_VARIANTS];
    quality_rec quality[MAX_QUALITY];
    peer_overhead_rec peer_over[MAX_PEER_OVERHEAD];
} results;

/* ---- options -------------------------------------------------------------------------------- */

typedef struct options {
    int json, quiet, info, run_overhead, run_quality;
    const char *summary;
    size_t n_over_variants, n_quality_variants;
    variant over_variants[MAX_VARIANTS], quality_variants[MAX_VARIANTS];
    size_t n_marks, marks[MAX_MARKS];
    size_t window, max_trials;
    double max_seconds;
    size_t n_seeds, n_budgets, budgets[MAX_BUDGETS];
    size_t n_functions;
    const problem *functions[N_QUALITY_PROBLEMS];
} options;

static void usage(FILE *f)
{
    fputs("usage: bench_sampler [options]\n"
          "\n"
          "Times caviar's samplers per ask+tell as the history grows, and measures how well they\n"
          "search (best value after a budget of trials, over many seeds). With neither --overhead\n"
          "nor --quality, does both.\n"
          "\n"
          "  --overhead            run the overhead measurement\n"
          "  --quality             run the search-quality measurement\n"
          "  --samplers LIST       comma-separated labels for both parts: random, sobol,\n"
          "                        coarse-to-fine, tpe, tpe-multivariate (tpe with\n"
          "                        multivariate=true), or any sampler name (default settings;\n"
          "                        grid fails here: its float parameters need grid points)\n"
          "  --overhead-samplers LIST  for the overhead only\n"
          "                        (default random,sobol,tpe,tpe-multivariate,coarse-to-fine)\n"
          "  --quality-samplers LIST   for the quality only\n"
          "                        (default random,sobol,coarse-to-fine,tpe,tpe-multivariate)\n"
          "  --marks LIST          history sizes at which the overhead is reported\n"
          "                        (default 100,1000,10000)\n"
          "  --window W            trials timed after each mark for the cost per trial (default 20)\n"
          "  --max-trials N        stop an overhead run at N trials (+ W) even if marks remain\n"
          "                        (default: the last mark)\n"
          "  --max-seconds S       stop an overhead run W trials after its cumulative time passes\n"
          "                        S seconds (default 300); marks not reached are reported as such\n"
          "  --seeds S             quality: seeds 0..S-1 (default 20, at most 200)\n"
          "  --budgets LIST        quality: trial budgets (default 50,100)\n"
          "  --functions LIST      quality: branin,hartmann6 (default both)\n"
          "  --json                one JSON object per line instead of the readable report\n"
          "  --quiet               no progress lines on stderr\n"
          "  --info                print the machine record (CPU, caviar version, build type)\n"
          "  --summary FILE        print the tables of a results file (with the Optuna peer's\n"
          "                        records, if any, and the ratios); with --json, a summary record\n"
          "  -h, --help            this text\n"
          "\n"
          "exit status: 0 done, 1 a sampler that exists failed, 2 usage\n",
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

/* "a,b,c" into sizes; returns the count, 0 on a bad list. */
static size_t parse_size_list(const char *s, size_t *out, size_t max)
{
    char buf[256], *save = NULL;
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == max || !parse_size(tok, &out[n]))
            return 0;
        n++;
    }
    return n;
}

static size_t parse_variants(const char *s, variant *out, size_t max)
{
    char buf[512], *save = NULL;
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == max || !*tok)
            return 0;
        variant_from_label(&out[n++], tok);
    }
    return n;
}

static int sizes_ascending(const size_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i] <= v[i - 1])
            return 0;
    return 1;
}

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->n_over_variants =
        parse_variants("random,sobol,tpe,tpe-multivariate,coarse-to-fine", o->over_variants,
                       MAX_VARIANTS);
    o->n_quality_variants = parse_variants("random,sobol,coarse-to-fine,tpe,tpe-multivariate",
                                           o->quality_variants, MAX_VARIANTS);
    o->n_marks = parse_size_list("100,1000,10000", o->marks, MAX_MARKS);
    o->window = 20;
    o->max_seconds = 300;
    o->n_seeds = 20;
    o->n_budgets = parse_size_list("50,100", o->budgets, MAX_BUDGETS);
    o->n_functions = N_QUALITY_PROBLEMS;
    for (size_t i = 0; i < N_QUALITY_PROBLEMS; i++)
        o->functions[i] = &QUALITY_PROBLEMS[i];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, ok = 1;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1, takes = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1, takes = 0;
        } else if (strcmp(a, "--info") == 0) {
            o->info = 1, takes = 0;
        } else if (strcmp(a, "--overhead") == 0) {
            o->run_overhead = 1, takes = 0;
        } else if (strcmp(a, "--quality") == 0) {
            o->run_quality = 1, takes = 0;
        } else if (strcmp(a, "--summary") != 0 && strcmp(a, "--samplers") != 0 &&
                   strcmp(a, "--overhead-samplers") != 0 &&
                   strcmp(a, "--quality-samplers") != 0 && strcmp(a, "--marks") != 0 &&
                   strcmp(a, "--window") != 0 && strcmp(a, "--max-trials") != 0 &&
                   strcmp(a, "--max-seconds") != 0 && strcmp(a, "--seeds") != 0 &&
                   strcmp(a, "--budgets") != 0 && strcmp(a, "--functions") != 0) {
            fprintf(stderr, "bench_sampler: unknown option '%s'\n", a);
            return 0;
        } else if (!val) {
            ok = 0;
        } else if (strcmp(a, "--summary") == 0) {
            o->summary = val;
        } else if (strcmp(a, "--samplers") == 0) {
            ok = (o->n_over_variants = parse_variants(val, o->over_variants, MAX_VARIANTS)) &&
                 (o->n_quality_variants = parse_variants(val, o->quality_variants, MAX_VARIANTS));
        } else if (strcmp(a, "--overhead-samplers") == 0) {
            ok = (o->n_over_variants = parse_variants(val, o->over_variants, MAX_VARIANTS)) > 0;
        } else if (strcmp(a, "--quality-samplers") == 0) {
            ok = (o->n_quality_variants =
                      parse_variants(val, o->quality_variants, MAX_VARIANTS)) > 0;
        } else if (strcmp(a, "--marks") == 0) {
            ok = (o->n_marks = parse_size_list(val, o->marks, MAX_MARKS)) > 0 &&
                 sizes_ascending(o->marks, o->n_marks);
        } else if (strcmp(a, "--window") == 0) {
            ok = parse_size(val, &o->window);
        } else if (strcmp(a, "--max-trials") == 0) {
            ok = parse_size(val, &o->max_trials);
        } else if (strcmp(a, "--max-seconds") == 0) {
            char *end;
            o->max_seconds = strtod(val, &end);
            ok = end != val && !*end && o->max_seconds > 0;
        } else if (strcmp(a, "--seeds") == 0) {
            ok = parse_size(val, &o->n_seeds) && o->n_seeds <= MAX_SEEDS;
        } else if (strcmp(a, "--budgets") == 0) {
            ok = (o->n_budgets = parse_size_list(val, o->budgets, MAX_BUDGETS)) > 0 &&
                 sizes_ascending(o->budgets, o->n_budgets);
        } else if (strcmp(a, "--functions") == 0) {
            char buf[256], *save = NULL;
            snprintf(buf, sizeof buf, "%s", val);
            o->n_functions = 0;
            for (char *tok = strtok_r(buf, ",", &save); tok && ok;
                 tok = strtok_r(NULL, ",", &save)) {
                const problem *p = find_problem(tok);
                ok = p && o->n_functions < N_QUALITY_PROBLEMS;
                if (ok)
                    o->functions[o->n_functions++] = p;
            }
            ok = ok && o->n_functions > 0;
        }
        if (!ok) {
            if (!val && takes)
                fprintf(stderr, "bench_sampler: option '%s' needs a value\n", a);
            else
                fprintf(stderr, "bench_sampler: bad value '%s' for option '%s'\n", val, a);
            return 0;
        }
        i += takes;
    }
    if (!o->max_trials)
        o->max_trials = o->marks[o->n_marks - 1];
    if (!o->run_overhead && !o->run_quality && !o->summary && !o->info)
        o->run_overhead = o->run_quality = 1;
    return 1;
}

/* ---- driving a study ------------------------------------------------------------------------ */

/* The first line of a library message, for a table cell. */
static void first_line(char *dst, size_t len, const char *msg)
{
    snprintf(dst, len, "%.*s", (int)strcspn(msg, "\n"), msg);
}

/* A study of the variant with the problem's parameters declared, or NULL with the reason. */
static caviar_study *open_study(const variant *v, const problem *p, uint64_t seed, char *why,
                                size_t why_len)
{
    caviar_study_opts opts;
    caviar_error err;
    caviar_study_opts_init(&opts);
    opts.name = "bench";
    opts.direction = CAVIAR_MINIMIZE;
    opts.seed = seed;
    opts.sampler = v->sampler;
    opts.sampler_settings = v->settings;
    memset(&err, 0, sizeof err);
    caviar_study *s = caviar_study_new(&opts, &err);
    if (!s) {
        first_line(why, why_len, err.msg);
        return NULL;
    }
    for (size_t i = 0; i < p->n_params; i++) {
        caviar_dist d;
        memset(&d, 0, sizeof d);
        d.kind = CAVIAR_DIST_FLOAT;
        d.scale = p->params[i].scale;
        d.low = p->params[i].low;
        d.high = p->params[i].high;
        if (caviar_study_add_param(s, p->params[i].name, &d, &err) != CAVIAR_OK) {
            first_line(why, why_len, err.msg);
            caviar_study_free(s);
            return NULL;
        }
    }
    return s;
}

/* One trial: ask, suggest every parameter, evaluate, tell COMPLETE. CAVIAR_STOPPED when the
 * sampler has nothing left to give. */
static caviar_status run_trial(caviar_study *s, const problem *p, double *value, caviar_error *err)
{
    double x[MAX_DIM];
    caviar_trial *t = caviar_study_ask(s, err);
    if (!t)
        return err->status != CAVIAR_OK ? err->status : CAVIAR_EINVAL;
    for (size_t i = 0; i < p->n_params; i++) {
        const param *q = &p->params[i];
        caviar_status st =
            caviar_trial_suggest_float(t, q->name, q->low, q->high, q->scale, 0, &x[i], err);
        if (st != CAVIAR_OK) {
            caviar_study_tell(s, t, CAVIAR_TRIAL_FAIL, NAN, NULL);
            return st;
        }
    }
    *value = p->f(x);
    return caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, *value, err);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n-1] (NaNs left out), linear between order statistics; NaN if empty. */
static double quantile(const double *v, size_t n, double q)
{
    double sorted[MAX_SEEDS > 1024 ? MAX_SEEDS : 1024];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof sorted / sizeof sorted[0]; i++)
        if (!isnan(v[i]))
            sorted[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(sorted, m, sizeof sorted[0], cmp_double);
    double h = q * (double)(m - 1);
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < m ? lo + 1 : lo;
    return sorted[lo] + (h - (double)lo) * (sorted[hi] - sorted[lo]);
}

static double mean_of(const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return n ? sum / (double)n : NAN;
}

static double median_of(const double *v, size_t n)
{
    return quantile(v, n, 0.5);
}

/* ---- overhead ------------------------------------------------------------------------------- */

/* Returns 0 when the sampler ran (or is not available), 1 when it failed during the run. */
static int measure_overhead(const options *o, const variant *v, overhead_rec *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", v->label);
    snprintf(r->sampler, sizeof r->sampler, "%s", v->sampler);
    snprintf(r->settings, sizeof r->settings, "%s", v->settings);
    r->window = o->window;
    r->n_marks = o->n_marks;
    r->max_seconds = o->max_seconds;
    memcpy(r->marks, o->marks, sizeof r->marks);
    for (size_t k = 0; k < MAX_MARKS; k++)
        r->cumulative_s[k] = r->us_mean[k] = r->us_median[k] = NAN;
    r->us_end = r->cpu_per_wall = r->total_s = r->best = NAN;

    caviar_study *s = open_study(v, &OVERHEAD_PROBLEM, 0, r->reason, sizeof r->reason);
    if (!s) {
        snprintf(r->stop, sizeof r->stop, "not-available");
        return 0;
    }
    r->available = 1;

    size_t last_mark = o->marks[o->n_marks - 1];
    size_t limit = (last_mark < o->max_trials ? last_mark : o->max_trials) + o->window;
    double *dur = malloc(limit * sizeof *dur);
    if (!dur) {
        caviar_study_free(s);
        snprintf(r->reason, sizeof r->reason, "out of memory");
        return 1;
    }
    snprintf(r->stop, sizeof r->stop, "%s", last_mark <= o->max_trials ? "marks" : "max-trials");

    int failed = 0;
    size_t n = 0;
    double cumulative = 0, best = INFINITY;
    double cpu0 = cpu_now(), wall0 = wall_now();
    while (n < limit) {
        caviar_error err;
        double value = NAN;
        memset(&err, 0, sizeof err);
        double t0 = wall_now();
        caviar_status st = run_trial(s, &OVERHEAD_PROBLEM, &value, &err);
        double dt = wall_now() - t0;
        if (st == CAVIAR_STOPPED) {
            snprintf(r->stop, sizeof r->stop, "sampler-stopped");
            break;
        }
        if (st != CAVIAR_OK) {
            char msg[MSG_LEN];
            first_line(msg, sizeof msg, err.msg);
            snprintf(r->reason, sizeof r->reason, "trial %zu failed: %.400s", n, msg);
            snprintf(r->stop, sizeof r->stop, "error");
            failed = 1;
            break;
        }
        dur[n++] = dt;
        cumulative += dt;
        best = value < best ? value : best;
        /* Over time: run one more window for the cost near the end, then stop. */
        if (cumulative > o->max_seconds && strcmp(r->stop, "max-seconds") != 0 &&
            n + o->window < limit) {
            limit = n + o->window;
            snprintf(r->stop, sizeof r->stop, "max-seconds");
        }
        if (!o->quiet && !o->json && n % 1000 == 0) {
            fprintf(stderr, "\r  %s: %zu trials, %.1f s", v->label, n, cumulative);
            fflush(stderr);
        }
    }
    r->total_s = wall_now() - wall0;
    r->cpu_per_wall = (cpu_now() - cpu0) / r->total_s;
    if (!o->quiet && !o->json && n >= 1000)
        fputc('\n', stderr);
    r->trials_run = n;
    r->best = best;

    for (size_t k = 0; k < o->n_marks; k++) {
        size_t m = o->marks[k];
        if (n >= m + o->window) {
            double sum = 0;
            for (size_t i = 0; i < m; i++)
                sum += dur[i];
            r->cumulative_s[k] = sum;
            r->us_mean[k] = 1e6 * mean_of(dur + m, o->window);
            r->us_median[k] = 1e6 * median_of(dur + m, o->window);
        }
    }
    if (n >= o->window) {
        r->end_trials = n - o->window;
        r->us_end = 1e6 * mean_of(dur + r->end_trials, o->window);
    }
    free(dur);
    caviar_study_free(s);
    return failed;
}

static void print_overhead_json(const overhead_rec *r)
{
    jl_begin("overhead");
    jl_str("sampler", r->label);
    jl_str("caviar_sampler", r->sampler);
    jl_str("settings", r->settings);
    jl_str("function", OVERHEAD_PROBLEM.name);
    jl_bool("available", r->available);
    if (r->reason[0])
        jl_str("reason", r->reason);
    if (r->available) {
        jl_int("window", (long long)r->window);
        jl_sizes("marks", r->marks, r->n_marks);
        jl_nums("cumulative_s", r->cumulative_s, r->n_marks);
        jl_nums("us_per_trial", r->us_mean, r->n_marks);
        jl_nums("us_per_trial_median", r->us_median, r->n_marks);
        jl_int("trials_run", (long long)r->trials_run);
        jl_str("stopped_by", r->stop);
        jl_num("max_seconds", r->max_seconds);
        jl_int("end_trials", (long long)r->end_trials);
        jl_num("us_per_trial_at_end", r->us_end);
        jl_num("total_s", r->total_s);
        jl_num("cpu_per_wall", r->cpu_per_wall);
        jl_num("best", r->best);
    }
    jl_end();
}

/* ---- search quality ------------------------------------------------------------------------- */

static int measure_quality(const options *o, const variant *v, const problem *p, quality_rec *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->source, sizeof r->source, "caviar");
    snprintf(r->label, sizeof r->label, "%s", v->label);
    snprintf(r->function, sizeof r->function, "%s", p->name);
    r->n_seeds = o->n_seeds;
    r->n_budgets = o->n_budgets;
    memcpy(r->budgets, o->budgets, sizeof r->budgets);
    size_t max_budget = o->budgets[o->n_budgets - 1];
    double t0 = wall_now();
    r->available = 1;
    for (size_t seed = 0; seed < o->n_seeds; seed++) {
        caviar_study *s = open_study(v, p, seed, r->reason, sizeof r->reason);
        if (!s) {
            r->available = 0;
            return 0;
        }
        double best = INFINITY;
        size_t b = 0;
        for (size_t i = 1; i <= max_budget; i++) {
            caviar_error err;
            double value;
            memset(&err, 0, sizeof err);
            caviar_status st = run_trial(s, p, &value, &err);
            if (st == CAVIAR_STOPPED)
                break; /* a finished grid: the budgets left keep the best so far */
            if (st != CAVIAR_OK) {
                char msg[MSG_LEN];
                first_line(msg, sizeof msg, err.msg);
                snprintf(r->reason, sizeof r->reason, "seed %zu, trial %zu failed: %.400s", seed,
                         i - 1, msg);
                r->failed = 1;
                caviar_study_free(s);
                return 1;
            }
            best = value < best ? value : best;
            while (b < o->n_budgets && o->budgets[b] == i)
                r->best[b++][seed] = best;
        }
        for (; b < o->n_budgets; b++)
            r->best[b][seed] = best;
        caviar_study_free(s);
    }
    r->seconds = wall_now() - t0;
    return 0;
}

static void print_quality_json(const quality_rec *r)
{
    jl_begin("quality");
    jl_str("source", r->source);
    jl_str("sampler", r->label);
    jl_str("function", r->function);
    jl_bool("available", r->available);
    if (r->failed)
        jl_bool("failed", 1);
    if (r->reason[0])
        jl_str("reason", r->reason);
    if (r->available && !r->failed) {
        const problem *p = find_problem(r->function);
        jl_num("f_min", p ? p->f_min : NAN);
        jl_int("seeds", (long long)r->n_seeds);
        jl_sizes("budgets", r->budgets, r->n_budgets);
        for (size_t b = 0; b < r->n_budgets; b++) {
            char key[32];
            snprintf(key, sizeof key, "best_%zu", r->budgets[b]);
            jl_nums(key, r->best[b], r->n_seeds);
        }
        jl_num("seconds", r->seconds);
    }
    jl_end();
}

/* ---- the machine record --------------------------------------------------------------------- */

static void machine_info(results *res)
{
    read_cpu_model(res->cpu, sizeof res->cpu);
    res->n_cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
    res->loadavg = read_loadavg();
    snprintf(res->caviar_version, sizeof res->caviar_version, "%s", caviar_version());
    snprintf(res->build_type, sizeof res->build_type, "%s", BENCH_BUILD_TYPE);
}

static void print_machine_json(const results *res)
{
    jl_begin("machine");
    jl_str("cpu", res->cpu);
    jl_num("n_cpus", res->n_cpus);
    jl_num("loadavg_1min", res->loadavg);
    jl_str("caviar_version", res->caviar_version);
    jl_str("build_type", res->build_type);
    jl_str("OPENBLAS_NUM_THREADS", getenv("OPENBLAS_NUM_THREADS"));
#ifdef __VERSION__
    jl_str("compiler", __VERSION__);
#endif
    jl_end();
}

/* ---- reading a results file ----------------------------------------------------------------- */

static int read_results(const char *path, results *res)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 0;
    }
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    if (!line) {
        fclose(f);
        return 0;
    }
    res->n_cpus = res->loadavg = NAN;
    for (;;) {
        /* A line of any length. */
        size_t len = 0;
        int c = 0;
        while ((c = fgetc(f)) != EOF && c != '\n') {
            if (len + 1 >= cap) {
                char *bigger = realloc(line, cap * 2);
                if (!bigger)
                    break;
                line = bigger;
                cap *= 2;
            }
            line[len++] = (char)c;
        }
        line[len] = '\0';
        if (c == EOF && len == 0)
            break;
        char kind[NAME_LEN] = "";
        jget_str(line, "kind", kind, sizeof kind);
        if (strcmp(kind, "run") == 0) {
            jget_str(line, "date", res->date, sizeof res->date);
            jget_str(line, "commit", res->commit, sizeof res->commit);
            jget_str(line, "host", res->host, sizeof res->host);
            jget_str(line, "python", res->python, sizeof res->python);
            jget_str(line, "optuna", res->optuna, sizeof res->optuna);
            jget_str(line, "numpy", res->numpy, sizeof res->numpy);
            jget_bool(line, "dirty", &res->dirty);
        } else if (strcmp(kind, "machine") == 0) {
            jget_str(line, "cpu", res->cpu, sizeof res->cpu);
            jget_str(line, "build_type", res->build_type, sizeof res->build_type);
            jget_str(line, "caviar_version", res->caviar_version, sizeof res->caviar_version);
            jget_num(line, "n_cpus", &res->n_cpus);
            jget_num(line, "loadavg_1min", &res->loadavg);
        } else if (strcmp(kind, "overhead") == 0 && res->n_over < MAX_VARIANTS) {
            overhead_rec *r = &res->over[res->n_over++];
            double x;
            memset(r, 0, sizeof *r);
            jget_str(line, "sampler", r->label, sizeof r->label);
            jget_str(line, "settings", r->settings, sizeof r->settings);
            jget_str(line, "reason", r->reason, sizeof r->reason);
            jget_str(line, "stopped_by", r->stop, sizeof r->stop);
            jget_bool(line, "available", &r->available);
            double marks[MAX_MARKS];
            r->n_marks = jget_nums(line, "marks", marks, MAX_MARKS);
            for (size_t k = 0; k < r->n_marks; k++)
                r->marks[k] = (size_t)marks[k];
            for (size_t k = 0; k < MAX_MARKS; k++)
                r->cumulative_s[k] = r->us_mean[k] = r->us_median[k] = NAN;
            jget_nums(line, "cumulative_s", r->cumulative_s, r->n_marks);
            jget_nums(line, "us_per_trial", r->us_mean, r->n_marks);
            jget_nums(line, "us_per_trial_median", r->us_median, r->n_marks);
            r->us_end = r->cpu_per_wall = r->total_s = r->best = r->max_seconds = NAN;
            jget_num(line, "us_per_trial_at_end", &r->us_end);
            jget_num(line, "cpu_per_wall", &r->cpu_per_wall);
            jget_num(line, "total_s", &r->total_s);
            jget_num(line, "best", &r->best);
            jget_num(line, "max_seconds", &r->max_seconds);
            if (jget_num(line, "trials_run", &x))
                r->trials_run = (size_t)x;
            if (jget_num(line, "end_trials", &x))
                r->end_trials = (size_t)x;
            if (jget_num(line, "window", &x))
                r->window = (size_t)x;
            if (r->n_marks > res->n_marks) {
                res->n_marks = r->n_marks;
                memcpy(res->marks, r->marks, sizeof res->marks);
            }
        } else if (strcmp(kind, "quality") == 0 && res->n_quality < MAX_QUALITY) {
            quality_rec *r = &res->quality[res->n_quality++];
            double x, budgets[MAX_BUDGETS];
            memset(r, 0, sizeof *r);
            jget_str(line, "source", r->source, sizeof r->source);
            jget_str(line, "sampler", r->label, sizeof r->label);
            jget_str(line, "function", r->function, sizeof r->function);
            jget_str(line, "reason", r->reason, sizeof r->reason);
            jget_bool(line, "available", &r->available);
            jget_bool(line, "failed", &r->failed);
            r->n_budgets = jget_nums(line, "budgets", budgets, MAX_BUDGETS);
            r->seconds = NAN;
            jget_num(line, "seconds", &r->seconds);
            if (jget_num(line, "seeds", &x))
                r->n_seeds = (size_t)x > MAX_SEEDS ? MAX_SEEDS : (size_t)x;
            for (size_t b = 0; b < r->n_budgets; b++) {
                char key[32];
                r->budgets[b] = (size_t)budgets[b];
                snprintf(key, sizeof key, "best_%zu", r->budgets[b]);
                size_t got = jget_nums(line, key, r->best[b], MAX_SEEDS);
                r->n_seeds = got < r->n_seeds ? got : r->n_seeds;
            }
        } else if (strcmp(kind, "peer_overhead") == 0 && res->n_peer_over < MAX_PEER_OVERHEAD) {
            peer_overhead_rec *r = &res->peer_over[res->n_peer_over++];
            double x = NAN;
            memset(r, 0, sizeof *r);
            jget_str(line, "peer", r->peer, sizeof r->peer);
            jget_str(line, "sampler", r->label, sizeof r->label);
            if (jget_num(line, "trials", &x))
                r->trials = (size_t)x;
            r->ms_at_end = NAN;
            jget_num(line, "ms_per_trial_at_end", &r->ms_at_end);
            r->n_cumulative = jget_int_keyed(line, "cumulative_s", r->cumulative_at,
                                             r->cumulative_s, MAX_MARKS);
        }
    }
    free(line);
    fclose(f);
    return 1;
}

/* ---- the tables ------------------------------------------------------------------------------ */

/* Optuna's cost per trial (ms) once its history held m trials: the run of optuna_overhead.py
 * with exactly m trials times the 20 trials after them. NaN if there is none. */
static double peer_ms_at(const results *res, const char *label, size_t m, char *peer,
                         size_t peer_len)
{
    for (size_t i = 0; i < res->n_peer_over; i++) {
        const peer_overhead_rec *r = &res->peer_over[i];
        if (strcmp(r->label, label) == 0 && r->trials == m) {
            if (peer)
                snprintf(peer, peer_len, "%s", r->peer);
            return r->ms_at_end;
        }
    }
    return NAN;
}

/* Optuna's cumulative time (s) over its first m trials, from the longest run that reached m. */
static double peer_cumulative_at(const results *res, const char *label, size_t m)
{
    double found = NAN;
    size_t longest = 0;
    for (size_t i = 0; i < res->n_peer_over; i++) {
        const peer_overhead_rec *r = &res->peer_over[i];
        if (strcmp(r->label, label) != 0 || r->trials < longest)
            continue;
        for (size_t k = 0; k < r->n_cumulative; k++)
            if (r->cumulative_at[k] == m) {
                found = r->cumulative_s[k];
                longest = r->trials;
            }
    }
    return found;
}

/* A number for a table cell, with a precision that suits its size; "-" when missing. */
static void cell(char *buf, size_t len, double v)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1000)
        snprintf(buf, len, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(buf, len, "%.1f", v);
    else if (fabs(v) >= 10)
        snprintf(buf, len, "%.2f", v);
    else
        snprintf(buf, len, "%.3f", v);
}

static const char *fmt_cell(double v)
{
    static char ring[16][32];
    static int next;
    char *buf = ring[next++ % 16];
    cell(buf, 32, v);
    return buf;
}

static const overhead_rec *find_over(const results *res, const char *label)
{
    for (size_t i = 0; i < res->n_over; i++)
        if (strcmp(res->over[i].label, label) == 0)
            return &res->over[i];
    return NULL;
}

static const quality_rec *find_quality(const results *res, const char *source_prefix,
                                       const char *label, const char *function)
{
    for (size_t i = 0; i < res->n_quality; i++) {
        const quality_rec *r = &res->quality[i];
        if (strncmp(r->source, source_prefix, strlen(source_prefix)) == 0 &&
            strcmp(r->label, label) == 0 && strcmp(r->function, function) == 0)
            return r;
    }
    return NULL;
}

/* Optuna's cost per trial ÷ caviar's for TPE with 1,000 trials in the history; NaN if either
 * was not measured. */
static double tpe_overhead_ratio(const results *res)
{
    const overhead_rec *r = find_over(res, "tpe");
    if (!r || !r->available)
        return NAN;
    for (size_t k = 0; k < r->n_marks; k++)
        if (r->marks[k] == 1000)
            return 1e3 * peer_ms_at(res, "tpe", 1000, NULL, 0) / r->us_mean[k];
    return NAN;
}

/* The probability that a run of a beats a run of b (lower best value), ties counting half,
 * over all pairs of their seeds: the Mann-Whitney U statistic divided by n_a n_b. 0.5 means
 * neither is better; seeds are not paired between two tools, so every pair counts. */
static double prob_better(const double *a, size_t n_a, const double *b, size_t n_b)
{
    double wins = 0;
    for (size_t i = 0; i < n_a; i++)
        for (size_t j = 0; j < n_b; j++)
            wins += a[i] < b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
    return n_a && n_b ? wins / ((double)n_a * (double)n_b) : NAN;
}

/* The smallest probability of a caviar win that still counts as "at least as good": two
 * standard errors below a tie. Under the hypothesis that the two samplers are equally good, the
 * probability estimated from n_a and n_b independent runs (the Mann-Whitney statistic over
 * n_a n_b) has mean 1/2 and standard error sqrt((n_a + n_b + 1) / (12 n_a n_b)); an observed
 * probability below this bound says caviar is worse with one-sided confidence of about 97.7%.
 * Comparing the two medians instead would call a tie "NOT met" half the time (100 seeds on
 * Branin: 0.42627 against 0.42583, a win probability of 0.50). */
static double tie_bound(size_t n_a, size_t n_b)
{
    double a = (double)n_a, b = (double)n_b;
    return 0.5 - 2.0 * sqrt((a + b + 1.0) / (12.0 * a * b));
}

/* The medians of the best values of caviar's TPE and Optuna's TPE at their largest budget on a
 * function, the probability that a caviar run beats an Optuna run and its tie_bound(); 0 when
 * either is missing. */
static int tpe_quality_medians(const results *res, const char *function, double *ours,
                               double *theirs, double *p_better, double *bound, size_t *budget)
{
    const quality_rec *a = find_quality(res, "caviar", "tpe", function);
    const quality_rec *b = find_quality(res, "optuna", "tpe", function);
    if (!a || !b || !a->available || !b->available || a->failed || b->failed ||
        !a->n_budgets || !b->n_budgets)
        return 0;
    *ours = quantile(a->best[a->n_budgets - 1], a->n_seeds, 0.5);
    *theirs = quantile(b->best[b->n_budgets - 1], b->n_seeds, 0.5);
    *p_better = prob_better(a->best[a->n_budgets - 1], a->n_seeds, b->best[b->n_budgets - 1],
                            b->n_seeds);
    *bound = tie_bound(a->n_seeds, b->n_seeds);
    *budget = a->budgets[a->n_budgets - 1];
    return 1;
}

/* 1 when caviar's TPE is at least as good as Optuna's on every function measured (at the
 * largest budget, a caviar run beats an Optuna run with a probability no lower than
 * tie_bound()), 0 when not, -1 when nothing was measured for both. */
static int tpe_quality_verdict(const results *res)
{
    int verdict = -1;
    for (size_t i = 0; i < res->n_quality; i++) {
        double ours, theirs, p_better, bound;
        size_t budget;
        if (strcmp(res->quality[i].source, "caviar") != 0 ||
            strcmp(res->quality[i].label, "tpe") != 0)
            continue;
        if (!tpe_quality_medians(res, res->quality[i].function, &ours, &theirs, &p_better,
                                 &bound, &budget))
            return verdict < 0 ? -1 : 0; /* measured on some functions only */
        verdict = (verdict != 0) && p_better >= bound;
    }
    return verdict;
}

static void print_header(const results *res)
{
    if (res->date[0])
        printf("run      %s, commit %.12s%s, host %s\n", res->date, res->commit,
               res->dirty ? " (with uncommitted changes)" : "", res->host);
    printf("machine  %s, %.0f CPUs online, load average %.2f at the start\n", res->cpu,
           res->n_cpus, res->loadavg);
    printf("caviar   %s, %s build", res->caviar_version, res->build_type);
    if (res->date[0])
        printf("; peer: %s%s", res->optuna[0] ? "Optuna " : "Optuna missing",
               res->optuna);
    if (res->python[0])
        printf(" (Python %s, numpy %s)", res->python, res->numpy[0] ? res->numpy : "-");
    printf("\n");
    if (strcmp(res->build_type, "Release") != 0)
        printf("warning: not a Release build: the overhead figures mean little\n");
}

static void print_overhead_tables(const results *res)
{
    size_t nm = res->n_marks;
    if (!res->n_over)
        return;
    size_t window = res->over[0].window ? res->over[0].window : 20;
    printf("\nOVERHEAD  one ask + 6 suggestions + tell on the cheap 6-D function of "
           "optuna_overhead.py, in-memory storage, seed 0\n");
    printf("          cumulative: trials 1..m; per trial: mean of the %zu trials after m "
           "(their median is in the results file)\n\n",
           window);
    printf("%-18s %-*s | %-*s | %s\n", "", (int)(11 * nm - 1), "cumulative (ms) at m",
           (int)(10 * nm - 1), "per trial (µs) at m", "CPU/wall");
    printf("%-18s", "caviar sampler");
    for (size_t k = 0; k < nm; k++)
        printf(" %10zu", res->marks[k]);
    printf(" |");
    for (size_t k = 0; k < nm; k++)
        printf(" %9zu", res->marks[k]);
    printf(" |\n");
    int contended = 0;
    for (size_t i = 0; i < res->n_over; i++) {
        const overhead_rec *r = &res->over[i];
        printf("%-18s", r->label);
        if (!r->available) {
            printf(" not available: %s\n", r->reason);
            continue;
        }
        for (size_t k = 0; k < nm; k++)
            printf(" %10s", fmt_cell(k < r->n_marks ? 1e3 * r->cumulative_s[k] : NAN));
        printf(" |");
        for (size_t k = 0; k < nm; k++)
            printf(" %9s", fmt_cell(k < r->n_marks ? r->us_mean[k] : NAN));
        printf(" | %8.2f", r->cpu_per_wall);
        contended |= r->cpu_per_wall < 0.9;
        if (strcmp(r->stop, "marks") != 0)
            printf("   stopped by %s after %zu trials; %s µs per trial at %zu", r->stop,
                   r->trials_run, fmt_cell(r->us_end), r->end_trials);
        if (strcmp(r->stop, "error") == 0)
            printf(" (%s)", r->reason);
        printf("\n");
    }
    if (contended)
        printf("warning: CPU/wall below 0.9: other processes took the core during the run; "
               "run again on a quiet machine\n");
    /* How the cost grows with the history. */
    printf("\ncost per trial from one mark to the next:");
    for (size_t i = 0; i < res->n_over; i++) {
        const overhead_rec *r = &res->over[i];
        if (!r->available || r->n_marks < 2 || !isfinite(r->us_mean[1]))
            continue;
        printf("%s %s", i ? ";" : "", r->label);
        for (size_t k = 1; k < r->n_marks && isfinite(r->us_mean[k]); k++)
            printf(" %s×", fmt_cell(r->us_mean[k] / r->us_mean[k - 1]));
    }
    printf("\n");

    if (!res->n_peer_over) {
        printf("\nOptuna: not measured in this run\n");
        return;
    }
    char peer[NAME_LEN] = "optuna";
    for (size_t i = 0; i < res->n_peer_over; i++)
        snprintf(peer, sizeof peer, "%s", res->peer_over[i].peer);
    printf("\nAGAINST %s (optuna_overhead.py in the same run; ratio = Optuna's time ÷ "
           "caviar's, higher is better)\n\n",
           peer);
    printf("%-18s %-28s %-24s %s\n", "sampler", "Optuna per trial (ms) at m", "ratio per trial",
           "ratio cumulative");
    printf("%-18s", "");
    for (int part = 0; part < 3; part++) {
        for (size_t k = 0; k < nm; k++)
            printf(" %8zu", res->marks[k]);
        printf(part < 2 ? " |" : "\n");
    }
    for (size_t i = 0; i < res->n_over; i++) {
        const overhead_rec *r = &res->over[i];
        int any = 0;
        for (size_t j = 0; j < res->n_peer_over; j++)
            any |= strcmp(res->peer_over[j].label, r->label) == 0;
        if (!any)
            continue;
        printf("%-18s", r->label);
        for (size_t k = 0; k < nm; k++)
            printf(" %8s", fmt_cell(peer_ms_at(res, r->label, res->marks[k], NULL, 0)));
        printf(" |");
        for (size_t k = 0; k < nm; k++) {
            double ratio = 1e3 * peer_ms_at(res, r->label, res->marks[k], NULL, 0) /
                           (r->available ? r->us_mean[k] : NAN);
            printf(" %8s", fmt_cell(ratio));
        }
        printf(" |");
        for (size_t k = 0; k < nm; k++)
            printf(" %8s", fmt_cell(peer_cumulative_at(res, r->label, res->marks[k]) /
                                    (r->available ? r->cumulative_s[k] : NAN)));
        printf("%s\n", r->available ? "" : "   (caviar: not available)");
    }
    printf("(Optuna's cost per trial at m is measured only for the m it was run with; "
           "'-': not measured)\n");
    printf("\ntarget: caviar's TPE at 1,000 trials at least 50x cheaper per trial than "
           "Optuna's TPE: ");
    double tpe_ratio = tpe_overhead_ratio(res);
    if (isfinite(tpe_ratio))
        printf("%.0fx, %s\n", tpe_ratio, tpe_ratio >= 50 ? "met" : "NOT met");
    else
        printf("not measured\n");
}

static void print_quality_tables(const results *res)
{
    if (!res->n_quality)
        return;
    /* The functions, in the order they first appear. */
    const char *functions[MAX_QUALITY];
    size_t n_functions = 0;
    for (size_t i = 0; i < res->n_quality; i++) {
        size_t j = 0;
        while (j < n_functions && strcmp(functions[j], res->quality[i].function) != 0)
            j++;
        if (j == n_functions)
            functions[n_functions++] = res->quality[i].function;
    }
    size_t n_seeds = 0;
    for (size_t i = 0; i < res->n_quality; i++)
        if (res->quality[i].available && !res->quality[i].failed)
            n_seeds = res->quality[i].n_seeds;
    printf("\nSEARCH QUALITY  best value found after a budget of trials, %zu seeds (0..%zu); "
           "median [first quartile, third quartile]; lower is better\n",
           n_seeds, n_seeds ? n_seeds - 1 : 0);
    for (size_t fi = 0; fi < n_functions; fi++) {
        const problem *p = find_problem(functions[fi]);
        printf("\n%s (global minimum %g)\n", p ? p->title : functions[fi], p ? p->f_min : NAN);
        size_t n_budgets = 0, budgets[MAX_BUDGETS];
        for (size_t i = 0; i < res->n_quality; i++) {
            const quality_rec *r = &res->quality[i];
            if (strcmp(r->function, functions[fi]) == 0 && r->available && !r->failed &&
                !n_budgets) {
                n_budgets = r->n_budgets;
                memcpy(budgets, r->budgets, sizeof budgets);
            }
        }
        printf("  %-30s", "sampler");
        for (size_t b = 0; b < n_budgets; b++) {
            char head[32];
            snprintf(head, sizeof head, "after %zu", budgets[b]);
            printf(" %-28s", head);
        }
        printf("\n");
        for (int pass = 0; pass < 2; pass++) /* caviar first, then the peer */
            for (size_t i = 0; i < res->n_quality; i++) {
                const quality_rec *r = &res->quality[i];
                int is_caviar = strcmp(r->source, "caviar") == 0;
                if (strcmp(r->function, functions[fi]) != 0 || is_caviar != (pass == 0))
                    continue;
                char name[2 * NAME_LEN + 2];
                snprintf(name, sizeof name, "%s %s", is_caviar ? "caviar" : r->source, r->label);
                printf("  %-30s", name);
                if (!r->available || r->failed) {
                    printf(" %s: %s\n", r->failed ? "failed" : "not available", r->reason);
                    continue;
                }
                for (size_t b = 0; b < r->n_budgets; b++) {
                    char c[64];
                    snprintf(c, sizeof c, "%s [%s, %s]",
                             fmt_cell(quantile(r->best[b], r->n_seeds, 0.5)),
                             fmt_cell(quantile(r->best[b], r->n_seeds, 0.25)),
                             fmt_cell(quantile(r->best[b], r->n_seeds, 0.75)));
                    printf(" %-28s", c);
                }
                printf("\n");
            }
        double mo, mt, p_better, bound;
        size_t budget;
        if (tpe_quality_medians(res, functions[fi], &mo, &mt, &p_better, &bound, &budget))
            printf("  caviar tpe vs Optuna tpe after %zu trials: median %.6g vs %.6g (above the "
                   "minimum by %.3g vs %.3g);\n  a caviar seed beats an Optuna seed with "
                   "probability %.2f (0.5: a tie; below %.2f: worse)\n",
                   budget, mo, mt, p ? mo - p->f_min : NAN, p ? mt - p->f_min : NAN, p_better,
                   bound);
    }
    int verdict = tpe_quality_verdict(res);
    printf("\ntarget: caviar's TPE at least as good as Optuna's TPE on every function (at the "
           "largest budget, a caviar run\n        beats an Optuna run with probability at least "
           "0.5 minus two standard errors of a tie): %s\n",
           verdict < 0 ? "not measured" : verdict ? "met" : "NOT met");
}

static void print_summary_json(const results *res)
{
    double tpe_ratio = tpe_overhead_ratio(res);
    int tpe_quality_ok = tpe_quality_verdict(res);
    jl_begin("summary");
    jl_num("tpe_optuna_ratio_per_trial_at_1000", tpe_ratio);
    jl_key("target_overhead_met");
    jl_raw("%s", isfinite(tpe_ratio) ? (tpe_ratio >= 50 ? "true" : "false") : "null");
    jl_key("target_quality_met");
    jl_raw("%s", tpe_quality_ok < 0 ? "null" : tpe_quality_ok ? "true" : "false");
    /* caviar's TPE against Optuna's, per function. */
    jl_key("tpe_vs_optuna");
    jl_raw("{");
    int n_written = 0;
    for (size_t i = 0; i < res->n_quality; i++) {
        const quality_rec *r = &res->quality[i];
        double ours, theirs, p_better, bound;
        size_t budget;
        if (strcmp(r->source, "caviar") != 0 || strcmp(r->label, "tpe") != 0 ||
            !tpe_quality_medians(res, r->function, &ours, &theirs, &p_better, &bound, &budget))
            continue;
        jl_raw("%s", n_written++ ? ", " : "");
        jl_strval(r->function);
        jl_raw(": {\"budget\": %zu, \"caviar_median\": ", budget);
        jl_numval(ours);
        jl_raw(", \"optuna_median\": ");
        jl_numval(theirs);
        jl_raw(", \"p_caviar_better\": ");
        jl_numval(p_better);
        jl_raw(", \"p_worse_below\": ");
        jl_numval(bound);
        jl_raw("}");
    }
    jl_raw("}");
    /* The medians of every quality row at every budget. */
    jl_key("quality_medians");
    jl_raw("{");
    int first = 1;
    for (size_t i = 0; i < res->n_quality; i++) {
        const quality_rec *r = &res->quality[i];
        if (!r->available || r->failed)
            continue;
        for (size_t b = 0; b < r->n_budgets; b++) {
            char key[3 * NAME_LEN + 24]; /* three names, slashes, a budget */
            snprintf(key, sizeof key, "%s/%s/%s/%zu", r->source, r->label, r->function,
                     r->budgets[b]);
            jl_raw("%s", first ? "" : ", ");
            jl_strval(key);
            jl_raw(": ");
            jl_numval(quantile(r->best[b], r->n_seeds, 0.5));
            first = 0;
        }
    }
    jl_raw("}");
    jl_key("overhead_us_per_trial");
    jl_raw("{");
    first = 1;
    for (size_t i = 0; i < res->n_over; i++) {
        const overhead_rec *r = &res->over[i];
        if (!r->available)
            continue;
        for (size_t k = 0; k < r->n_marks; k++) {
            char key[2 * NAME_LEN];
            snprintf(key, sizeof key, "%s/%zu", r->label, r->marks[k]);
            jl_raw("%s", first ? "" : ", ");
            jl_strval(key);
            jl_raw(": ");
            jl_numval(r->us_mean[k]);
            first = 0;
        }
    }
    jl_raw("}");
    jl_end();
}

static void print_tables(const results *res)
{
    print_header(res);
    print_overhead_tables(res);
    print_quality_tables(res);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    options o;
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "try 'bench_sampler --help'\n");
        return EXIT_USAGE;
    }
    results *res = calloc(1, sizeof *res);
    if (!res) {
        fprintf(stderr, "bench_sampler: out of memory\n");
        return 1;
    }
    int status = 0;

    if (o.summary) {
        if (!read_results(o.summary, res)) {
            free(res);
            return 1;
        }
        if (o.json)
            print_summary_json(res);
        else
            print_tables(res);
        free(res);
        return 0;
    }

    if (check_problems()) {
        free(res);
        return 1;
    }
    machine_info(res);
    if (o.info && o.json)
        print_machine_json(res);
    else if (o.info || !o.json)
        print_header(res);

    if (o.run_overhead) {
        res->n_marks = o.n_marks;
        memcpy(res->marks, o.marks, sizeof res->marks);
        for (size_t i = 0; i < o.n_over_variants && res->n_over < MAX_VARIANTS; i++) {
            overhead_rec *r = &res->over[res->n_over++];
            if (!o.quiet)
                fprintf(stderr, "overhead: %s ...\n", o.over_variants[i].label);
            status |= measure_overhead(&o, &o.over_variants[i], r);
            if (o.json)
                print_overhead_json(r);
        }
    }
    if (o.run_quality) {
        for (size_t i = 0; i < o.n_quality_variants; i++)
            for (size_t fi = 0; fi < o.n_functions && res->n_quality < MAX_QUALITY; fi++) {
                quality_rec *r = &res->quality[res->n_quality++];
                if (!o.quiet)
                    fprintf(stderr, "quality: %s on %s ...\n", o.quality_variants[i].label,
                            o.functions[fi]->name);
                status |= measure_quality(&o, &o.quality_variants[i], o.functions[fi], r);
                if (o.json)
                    print_quality_json(r);
            }
    }
    if (!o.json) {
        print_overhead_tables(res);
        print_quality_tables(res);
    }
    free(res);
    return status;
}
