/*
 * bench_train.c — how fast caviar's trainer is, measured against the BLAS it is built on.
 *
 * For each reference network on Fashion-MNIST (CONFIGS below), with one BLAS thread:
 *
 *   samples/s   over one or more full training epochs (60,000 images, no dev set, so nothing
 *               but training steps is timed), read from the trainer's own epoch clock
 *               (caviar_nn_epoch_info.seconds), after a warm-up epoch on a 10% view of the
 *               training set. Our own clock around caviar_nn_train() is reported beside it.
 *   GFLOP/s     samples/s × FLOPs per sample, counting only the matrix products:
 *                 forward            2 Σ_l n_in·n_out
 *                 weight gradients   2 Σ_l n_in·n_out
 *                 input gradients    2 Σ_{l≥2} n_in·n_out   (none for layer 1: the data is fixed)
 *   sgemm       the reference: cblas_sgemm from the same OpenBLAS on exactly the products of one
 *               training step at that batch size (Z = X·Wᵀ, dW = dZᵀ·X, dX = dZ·W per layer, in
 *               training order), run back to back over many rounds; "sgemm GFLOP/s at these
 *               shapes" is the median round. caviar's GFLOP/s as a share of it says how much of a
 *               step goes outside the products.
 *   memory      peak resident set size (getrusage ru_maxrss) of the process, after training.
 *   check       final training loss and test accuracy: a trainer that is fast because it skips
 *               work shows up here.
 *
 * bench/run_bench.sh drives it: one process per network, two processes at once for the
 * parallel figure (--barrier lines up their timed epochs), PyTorch as the peer, and --summary
 * to print the table with ratios from the results file. Output is a readable report, or with
 * --json one JSON object per line (the records the results file is made of).
 *
 * Exit status: 0 done, 77 Fashion-MNIST is not installed (skip), 2 usage, 1 failure.
 */
#define _XOPEN_SOURCE 700

#include <cblas.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "caviar/data.h"
#include "caviar/nn.h"

#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif
#ifndef BENCH_NATIVE
#define BENCH_NATIVE "OFF"
#endif

#define EXIT_SKIP 77
#define EXIT_USAGE 2
#define MAX_LAYERS 3
#define MAX_EPOCHS 16
#define MAX_GEMMS (3 * MAX_LAYERS)
#define MAX_ROUNDS 4096

/* ---- the reference networks ---------------------------------------------------------------- */

typedef struct bench_config {
    int id;
    size_t n_hidden;
    size_t hidden[MAX_LAYERS - 1];
    int batchnorm;
    size_t batch;
} bench_config;

/* All ReLU, Adam with lr 1e-3 and softmax cross-entropy over the 10 classes. The same four
 * networks as ../shared/peers/torch_mlp.py, in the same order. */
static const bench_config CONFIGS[] = {
    {1, 2, {256, 128}, 0, 128},
    {2, 2, {256, 128}, 1, 128},
    {3, 2, {256, 128}, 0, 32},
    {4, 2, {1024, 1024}, 0, 256},
};
#define N_CONFIGS (sizeof CONFIGS / sizeof CONFIGS[0])

#define N_INPUTS 784
#define N_CLASSES 10

/* Layer l (0-based) maps n_in to n_out; the last layer is the output layer. */
static size_t config_n_layers(const bench_config *c)
{
    return c->n_hidden + 1;
}

static size_t layer_n_in(const bench_config *c, size_t l)
{
    return l == 0 ? N_INPUTS : c->hidden[l - 1];
}

static size_t layer_n_out(const bench_config *c, size_t l)
{
    return l == c->n_hidden ? N_CLASSES : c->hidden[l];
}

/* "784-256-128-10" */
static void config_net_name(const bench_config *c, char *buf, size_t len)
{
    int used = snprintf(buf, len, "%d", N_INPUTS);
    for (size_t l = 0; l < config_n_layers(c) && used > 0 && (size_t)used < len; l++)
        used += snprintf(buf + used, len - (size_t)used, "-%zu", layer_n_out(c, l));
}

/* The FLOPs of the matrix products of one training step, per sample (see the top of the file). */
static double config_flops_per_sample(const bench_config *c)
{
    double fwd = 0, dx = 0;
    for (size_t l = 0; l < config_n_layers(c); l++) {
        double mn = (double)layer_n_in(c, l) * (double)layer_n_out(c, l);
        fwd += 2 * mn;
        if (l > 0)
            dx += 2 * mn;
    }
    return fwd + fwd + dx; /* forward, weight gradients, input gradients */
}

/* ---- small helpers -------------------------------------------------------------------------- */

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Peak resident set size of this process so far, in MB (Linux reports ru_maxrss in KiB). */
static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_maxrss / 1024.0;
}

/* CPU time (user + system, every thread) this process has used so far, in seconds. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Current resident set size in MB, from /proc/self/status (NaN where there is no /proc). */
static double current_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double mb = NAN;
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
            mb = (double)kb / 1024.0;
            break;
        }
    }
    fclose(f);
    return mb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), n > 0; sorts v. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- JSON: a writer for our one-line records, and a reader for the summary ------------------ */

/* Writes one object field by field; nested objects get their own writer on the same FILE. */
typedef struct jw {
    FILE *out;
    int n_fields;
} jw;

static void jw_begin(jw *j, FILE *out)
{
    j->out = out;
    j->n_fields = 0;
    fputc('{', out);
}

static void jw_end(jw *j)
{
    fputc('}', j->out);
}

static void jw_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void jw_key(jw *j, const char *key)
{
    if (j->n_fields++ > 0)
        fputs(", ", j->out);
    jw_escaped(j->out, key);
    fputs(": ", j->out);
}

static void jw_str(jw *j, const char *key, const char *value)
{
    jw_key(j, key);
    if (value)
        jw_escaped(j->out, value);
    else
        fputs("null", j->out);
}

/* Non-finite numbers become null: JSON has no NaN. */
static void jw_num(jw *j, const char *key, double value)
{
    jw_key(j, key);
    if (isfinite(value))
        fprintf(j->out, "%.10g", value);
    else
        fputs("null", j->out);
}

/* A time stamp in seconds since 1970, to the microsecond. */
static void jw_time(jw *j, const char *key, double value)
{
    jw_key(j, key);
    fprintf(j->out, "%.6f", value);
}

static void jw_int(jw *j, const char *key, long long value)
{
    jw_key(j, key);
    fprintf(j->out, "%lld", value);
}

static void jw_bool(jw *j, const char *key, int value)
{
    jw_key(j, key);
    fputs(value ? "true" : "false", j->out);
}

/* Finds key among the top-level fields of the one-line JSON object in line and returns a
 * pointer to the first character of its value, or NULL. Keys inside nested objects and
 * arrays are not seen. */
static const char *json_find(const char *line, const char *key)
{
    size_t key_len = strlen(key);
    int depth = 0;
    for (const char *p = line; *p; p++) {
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        } else if (*p == '"') {
            const char *s = p + 1, *e = s;
            while (*e && *e != '"')
                e += (*e == '\\' && e[1]) ? 2 : 1;
            if (!*e)
                return NULL;
            p = e;
            if (depth != 1)
                continue;
            const char *q = e + 1;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q != ':')
                continue; /* a string value, not a key */
            if ((size_t)(e - s) == key_len && memcmp(s, key, key_len) == 0) {
                q++;
                while (*q == ' ' || *q == '\t')
                    q++;
                return q;
            }
        }
    }
    return NULL;
}

/* A number (true is 1, false 0, null NaN); returns 0 when the key is missing or not a number. */
static int json_num(const char *line, const char *key, double *out)
{
    const char *v = json_find(line, key);
    char *end;
    if (!v)
        return 0;
    if (strncmp(v, "true", 4) == 0) {
        *out = 1;
        return 1;
    }
    if (strncmp(v, "false", 5) == 0) {
        *out = 0;
        return 1;
    }
    if (strncmp(v, "null", 4) == 0) {
        *out = NAN;
        return 1;
    }
    *out = strtod(v, &end);
    return end != v;
}

/* A string value, unescaped simply (\uXXXX becomes '?'); returns 0 when missing. */
static int json_str(const char *line, const char *key, char *buf, size_t len)
{
    const char *v = json_find(line, key);
    size_t n = 0;
    if (!v || *v != '"' || len == 0)
        return 0;
    for (v++; *v && *v != '"'; v++) {
        char c = *v;
        if (c == '\\' && v[1]) {
            v++;
            c = *v == 'n' ? '\n' : *v == 't' ? '\t' : *v;
            if (*v == 'u') {
                c = '?';
                for (int i = 0; i < 4 && isxdigit((unsigned char)v[1]); i++)
                    v++;
            }
        }
        if (n + 1 < len)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 1;
}

/* An array of non-negative integers; returns how many were read (at most max), 0 if missing. */
static size_t json_sizes(const char *line, const char *key, size_t *out, size_t max)
{
    const char *v = json_find(line, key);
    size_t n = 0;
    if (!v || *v != '[')
        return 0;
    v++;
    while (*v && *v != ']' && n < max) {
        char *end;
        unsigned long x = strtoul(v, &end, 10);
        if (end == v)
            break;
        out[n++] = x;
        v = end;
        while (*v == ',' || *v == ' ')
            v++;
    }
    return n;
}

/* ---- the machine --------------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v) {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                snprintf(buf, len, "%s", v);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

static double load_average(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double load = NAN;
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = NAN;
        fclose(f);
    }
    return load;
}

static void print_machine(int json)
{
    char cpu[256];
    const char *blas_config = openblas_get_config();
    const char *blas_core = openblas_get_corename();
    const char *threads_env = getenv("OPENBLAS_NUM_THREADS");
    /* set, it overrides OpenBLAS's choice of kernels for the CPU */
    const char *core_env = getenv("OPENBLAS_CORETYPE");
    long n_cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double load = load_average();
    cpu_model(cpu, sizeof cpu);
    if (json) {
        jw j;
        jw_begin(&j, stdout);
        jw_str(&j, "kind", "machine");
        jw_str(&j, "cpu", cpu);
        jw_int(&j, "n_cpus", n_cpus);
        jw_num(&j, "loadavg_1min", load);
        jw_str(&j, "openblas_config", blas_config);
        jw_str(&j, "openblas_core", blas_core);
        jw_str(&j, "OPENBLAS_NUM_THREADS", threads_env);
        jw_str(&j, "OPENBLAS_CORETYPE", core_env);
        jw_str(&j, "caviar_version", caviar_version());
        jw_str(&j, "build_type", BENCH_BUILD_TYPE);
        jw_str(&j, "native", BENCH_NATIVE);
#ifdef __VERSION__
        jw_str(&j, "compiler", __VERSION__);
#endif
        jw_end(&j);
        fputc('\n', stdout);
    } else {
        printf("machine   %s, %ld CPUs online, load average %.2f\n", cpu, n_cpus, load);
        printf("OpenBLAS  %s (core %s), OPENBLAS_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s\n",
               blas_config ? blas_config : "?", blas_core ? blas_core : "?",
               threads_env ? threads_env : "(unset)", core_env ? core_env : "(unset)");
        printf("caviar    %s, %s build, native %s\n", caviar_version(), BENCH_BUILD_TYPE,
               BENCH_NATIVE);
    }
    fflush(stdout);
}

/* ---- the sgemm reference -------------------------------------------------------------------- */

/* One product of a training step, as cblas_sgemm sees it (row-major): C (m × n) = op(A) op(B). */
typedef struct gemm {
    const char *what;   /* "fwd" Z = X·Wᵀ, "dW" dW = dZᵀ·X, "dX" dX = dZ·W */
    size_t layer;       /* 1-based */
    CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
    const float *a, *b;
    int lda, ldb;
    float *c;
    int ldc;
    double seconds;     /* summed over every timed call */
} gemm;

typedef struct sgemm_result {
    size_t n_gemms;
    gemm gemms[MAX_GEMMS];
    double step_flops;
    /* Seconds per step over the rounds: the headline is the 10th percentile (the fastest tenth
     * of the rounds), which a busy neighbour cannot pull down unless it is busy throughout;
     * the median and the best beside it. */
    double step_s, step_s_median, step_s_best;
    double gflops, gflops_median, gflops_best;
    double total_s;       /* every timed call of every product */
    size_t rounds, reps_per_round;
    double cpu_per_wall;  /* CPU seconds ÷ wall seconds over the timed rounds */
} sgemm_result;

/* Fills v[0..n) with values in [-0.5, 0.5): small, and far from denormals. */
static void fill_values(float *v, size_t n, uint32_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 1664525u + 1013904223u;
        v[i] = (float)(*state >> 8) / 16777216.0f - 0.5f;
    }
}

/* Runs the step's products once in order, adding each call's time to its gemm. */
static void sgemm_step(sgemm_result *r)
{
    for (size_t i = 0; i < r->n_gemms; i++) {
        gemm *g = &r->gemms[i];
        double t0 = now_mono();
        cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, g->lda, g->b,
                    g->ldb, 0.0f, g->c, g->ldc);
        g->seconds += now_mono() - t0;
    }
}

/* Times, for min_seconds at least, the products one training step of c makes: per layer
 * (inputs X B × n_in, weights W n_out × n_in, output gradient dZ B × n_out)
 *   fwd  Z  = X · Wᵀ     m = B,     n = n_out, k = n_in
 *   dW   dW = dZᵀ · X    m = n_out, n = n_in,  k = B
 *   dX   dX = dZ · W     m = B,     n = n_in,  k = n_out   (not for the first layer)
 * forward over the layers, then backward from the last one, each layer with its own buffers
 * as in training. Returns 0, or -1 when memory runs out. */
static int sgemm_reference(const bench_config *c, double min_seconds, sgemm_result *r)
{
    size_t B = c->batch, L = config_n_layers(c), total = 0;
    float *block, *p;
    double rounds_s[MAX_ROUNDS];
    uint32_t state = 12345u;

    memset(r, 0, sizeof *r);
    /* one block for every layer's X, W, Z, dZ, dW, dX */
    for (size_t l = 0; l < L; l++) {
        size_t n_in = layer_n_in(c, l), n_out = layer_n_out(c, l);
        total += 2 * B * n_in + 2 * n_out * n_in + 2 * B * n_out;
    }
    block = malloc(total * sizeof *block);
    if (!block)
        return -1;
    fill_values(block, total, &state);

    p = block;
    gemm fwd[MAX_LAYERS], dw[MAX_LAYERS], dx[MAX_LAYERS];
    for (size_t l = 0; l < L; l++) {
        int n_in = (int)layer_n_in(c, l), n_out = (int)layer_n_out(c, l), b = (int)B;
        float *x = p, *w = x + B * (size_t)n_in, *z = w + (size_t)n_out * (size_t)n_in;
        float *dz = z + B * (size_t)n_out, *dwb = dz + B * (size_t)n_out;
        float *dxb = dwb + (size_t)n_out * (size_t)n_in;
        p = dxb + B * (size_t)n_in;
        fwd[l] = (gemm){"fwd", l + 1, CblasNoTrans, CblasTrans, b, n_out, n_in,
                        x, w, n_in, n_in, z, n_out, 0};
        dw[l] = (gemm){"dW", l + 1, CblasTrans, CblasNoTrans, n_out, n_in, b,
                       dz, x, n_out, n_in, dwb, n_in, 0};
        dx[l] = (gemm){"dX", l + 1, CblasNoTrans, CblasNoTrans, b, n_in, n_out,
                       dz, w, n_out, n_in, dxb, n_in, 0};
    }
    for (size_t l = 0; l < L; l++)
        r->gemms[r->n_gemms++] = fwd[l];
    for (size_t l = L; l-- > 0;) {
        r->gemms[r->n_gemms++] = dw[l];
        if (l > 0)
            r->gemms[r->n_gemms++] = dx[l];
    }
    for (size_t i = 0; i < r->n_gemms; i++)
        r->step_flops += 2.0 * r->gemms[i].m * r->gemms[i].n * r->gemms[i].k;

    /* Warm up (thread pool, caches, page faults), then size the rounds to ~50 ms each. */
    double t0 = now_mono();
    size_t warm = 0;
    while (warm < 3 || now_mono() - t0 < 0.1) {
        sgemm_step(r);
        warm++;
    }
    double per_step = (now_mono() - t0) / (double)warm;
    r->reps_per_round = per_step > 0 ? (size_t)ceil(0.05 / per_step) : 1;
    if (r->reps_per_round < 1)
        r->reps_per_round = 1;
    for (size_t i = 0; i < r->n_gemms; i++)
        r->gemms[i].seconds = 0;

    double start = now_mono(), cpu0 = cpu_seconds();
    while (r->rounds < MAX_ROUNDS && (r->rounds < 5 || now_mono() - start < min_seconds)) {
        double t = now_mono();
        for (size_t i = 0; i < r->reps_per_round; i++)
            sgemm_step(r);
        rounds_s[r->rounds++] = (now_mono() - t) / (double)r->reps_per_round;
    }
    r->cpu_per_wall = (cpu_seconds() - cpu0) / (now_mono() - start);
    r->step_s_median = median(rounds_s, r->rounds); /* sorted now: [0] is the best */
    r->step_s_best = rounds_s[0];
    r->step_s = rounds_s[(r->rounds - 1) / 10];
    r->gflops = r->step_flops / r->step_s * 1e-9;
    r->gflops_median = r->step_flops / r->step_s_median * 1e-9;
    r->gflops_best = r->step_flops / r->step_s_best * 1e-9;
    /* the buffers go; keep the shapes and times only */
    for (size_t i = 0; i < r->n_gemms; i++) {
        r->total_s += r->gemms[i].seconds;
        r->gemms[i].a = r->gemms[i].b = NULL;
        r->gemms[i].c = NULL;
    }
    free(block);
    return 0;
}

static double gemm_gflops(const gemm *g, size_t calls)
{
    return 2.0 * g->m * g->n * g->k * (double)calls / g->seconds * 1e-9;
}

/* ---- training ------------------------------------------------------------------------------ */

typedef struct train_result {
    size_t n_train;           /* training-set size */
    size_t n_epochs;          /* timed epochs */
    double epoch_s[MAX_EPOCHS];
    uint64_t epoch_steps[MAX_EPOCHS];
    double samples_per_epoch;
    double train_s;           /* sum of epoch_s */
    double wall_s;            /* our clock around caviar_nn_train() for the timed epochs */
    double cpu_per_wall;      /* CPU seconds ÷ wall seconds over the timed epochs: about the
                               * number of threads when nothing else competes for the cores */
    double samples_per_s;     /* over every timed epoch, by the trainer's clock */
    double best_samples_per_s; /* the fastest timed epoch */
    double wall_samples_per_s;
    double warmup_s;
    double train_loss, test_accuracy;
    double rss_after_load_mb, peak_rss_mb;
    double start_unix, end_unix;
} train_result;

typedef struct epoch_log {
    train_result *r;
    size_t first_timed;       /* 1-based number of the first timed epoch */
    uint64_t steps_before;
} epoch_log;

static int on_epoch(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    epoch_log *log = user;
    train_result *r = log->r;
    (void)nn;
    if (info->epoch >= log->first_timed && r->n_epochs < MAX_EPOCHS) {
        r->epoch_s[r->n_epochs] = info->seconds;
        r->epoch_steps[r->n_epochs] = info->steps - log->steps_before;
        r->n_epochs++;
    }
    log->steps_before = info->steps;
    r->train_loss = info->train_loss;
    return CAVIAR_NN_CONTINUE;
}

/* Marks this process as ready in dir and waits until n processes are (at most 10 minutes), so
 * that the timed epochs of trainings started together overlap. Returns 0, or -1 on failure. */
static int barrier_wait(const char *dir, long n)
{
    char path[4096];
    int fd;
    snprintf(path, sizeof path, "%s/ready.%ld", dir, (long)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "bench_train: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    double t0 = now_mono();
    for (;;) {
        DIR *d = opendir(dir);
        long ready = 0;
        struct dirent *e;
        if (!d) {
            fprintf(stderr, "bench_train: cannot open '%s': %s\n", dir, strerror(errno));
            return -1;
        }
        while ((e = readdir(d)) != NULL)
            ready += strncmp(e->d_name, "ready.", 6) == 0;
        closedir(d);
        if (ready >= n)
            return 0;
        if (now_mono() - t0 > 600) {
            fprintf(stderr, "bench_train: only %ld of %ld processes reached the barrier in '%s'\n",
                    ready, n, dir);
            return -1;
        }
        sleep_s(0.001);
    }
}

typedef struct bench_opts {
    int config;               /* 1..N_CONFIGS, or 0 for all */
    size_t epochs;            /* timed epochs */
    double warmup_fraction;   /* share of the training set for the warm-up epoch; 0: none */
    int threads;
    int train, sgemm;         /* which parts to run */
    double sgemm_seconds;
    uint64_t seed;
    int json;
    const char *tag;
    const char *barrier_dir;
    long barrier_n;
    const char *datasets_dir;
} bench_opts;

/* Trains a fresh network of config c on data: the warm-up epoch, then the timed ones. */
static int train_config(const bench_config *c, const caviar_data *data, const bench_opts *o,
                        train_result *r)
{
    caviar_nn_arch arch;
    caviar_nn_hparams hp;
    caviar_nn_train_opts topts;
    caviar_nn_result res;
    caviar_nn_eval ev;
    caviar_error err;
    caviar_nn *nn;
    epoch_log log;
    size_t warm_epochs = 0;
    int rc = -1;

    caviar_nn_arch_init(&arch);
    arch.n_inputs = data->n_features;
    arch.n_outputs = data->n_classes;
    arch.task = CAVIAR_TASK_CLASSIFICATION;
    arch.n_hidden = c->n_hidden;
    for (size_t l = 0; l < c->n_hidden; l++)
        arch.hidden[l] = c->hidden[l];
    arch.activation = CAVIAR_ACT_RELU;
    arch.batchnorm = c->batchnorm;
    arch.optimizer = CAVIAR_OPT_ADAM;
    caviar_nn_hparams_init(&hp);
    hp.lr = 1e-3;
    hp.batch_size = c->batch;
    hp.epochs = 1; /* raised before the timed epochs */

    r->n_train = data->train.n;
    nn = caviar_nn_new(&arch, &hp, o->seed, &err);
    if (!nn) {
        fprintf(stderr, "bench_train: config %d: %s\n", c->id, err.msg);
        return -1;
    }

    memset(&topts, 0, sizeof topts);
    memset(&log, 0, sizeof log);
    log.r = r;
    topts.on_epoch = on_epoch;
    topts.user = &log;

    /* Warm-up: one epoch on the first part of the training set (page faults, workspace,
     * the BLAS thread pool and the caches are settled before anything is timed). */
    if (o->warmup_fraction > 0) {
        caviar_dataset view = data->train;
        view.n = (size_t)((double)view.n * o->warmup_fraction);
        if (view.n < c->batch)
            view.n = c->batch < data->train.n ? c->batch : data->train.n;
        log.first_timed = (size_t)-1;
        double t0 = now_mono();
        if (caviar_nn_train(nn, &view, &topts, &res, &err) != CAVIAR_OK) {
            fprintf(stderr, "bench_train: config %d: warm-up: %s\n", c->id, err.msg);
            goto out;
        }
        r->warmup_s = now_mono() - t0;
        warm_epochs = caviar_nn_epoch(nn);
    }

    if (o->barrier_dir && barrier_wait(o->barrier_dir, o->barrier_n) != 0)
        goto out;

    hp.epochs = warm_epochs + o->epochs;
    if (caviar_nn_set_hparams(nn, &hp, &err) != CAVIAR_OK) {
        fprintf(stderr, "bench_train: config %d: %s\n", c->id, err.msg);
        goto out;
    }
    log.first_timed = warm_epochs + 1;
    log.steps_before = caviar_nn_steps(nn);
    r->start_unix = now_unix();
    double cpu0 = cpu_seconds(), t0 = now_mono();
    caviar_status st = caviar_nn_train(nn, &data->train, &topts, &res, &err);
    r->wall_s = now_mono() - t0;
    r->cpu_per_wall = (cpu_seconds() - cpu0) / r->wall_s;
    r->end_unix = now_unix();
    if (st != CAVIAR_OK) {
        fprintf(stderr, "bench_train: config %d: %s\n", c->id, err.msg);
        goto out;
    }
    r->peak_rss_mb = peak_rss_mb(); /* before anything else is allocated */
    if (r->n_epochs != o->epochs) {
        fprintf(stderr, "bench_train: config %d: expected %zu timed epochs, the trainer reported %zu\n",
                c->id, o->epochs, r->n_epochs);
        goto out;
    }

    /* Samples per epoch: every sample once, unless the trainer drops the last partial batch
     * (then it took floor(n / B) steps). */
    {
        size_t n = data->train.n, B = c->batch;
        uint64_t steps = r->epoch_steps[0];
        r->samples_per_epoch = steps == (n + B - 1) / B ? (double)n : (double)(steps * B);
    }
    r->train_s = 0;
    for (size_t e = 0; e < r->n_epochs; e++)
        r->train_s += r->epoch_s[e];
    if (!(r->train_s > 0)) {
        fprintf(stderr, "bench_train: config %d: the trainer's epoch clock reads %g s; using ours\n",
                c->id, r->train_s);
        r->train_s = r->wall_s;
    }
    r->samples_per_s = r->samples_per_epoch * (double)r->n_epochs / r->train_s;
    r->best_samples_per_s = r->samples_per_s;
    for (size_t e = 0; e < r->n_epochs; e++)
        if (r->epoch_s[e] > 0 && r->samples_per_epoch / r->epoch_s[e] > r->best_samples_per_s)
            r->best_samples_per_s = r->samples_per_epoch / r->epoch_s[e];
    r->wall_samples_per_s = r->samples_per_epoch * (double)r->n_epochs / r->wall_s;

    /* not timed */
    r->test_accuracy = NAN;
    if (caviar_nn_evaluate(nn, &data->test, NULL, &ev, &err) == CAVIAR_OK)
        r->test_accuracy = ev.accuracy;
    else
        fprintf(stderr, "bench_train: config %d: test evaluation: %s\n", c->id, err.msg);
    rc = 0;
out:
    caviar_nn_free(nn);
    return rc;
}

/* ---- reports --------------------------------------------------------------------------------- */

static void report_json(const bench_config *c, const bench_opts *o, const train_result *t,
                        const sgemm_result *s)
{
    char net[64];
    double fps = config_flops_per_sample(c);
    jw j;
    config_net_name(c, net, sizeof net);
    jw_begin(&j, stdout);
    jw_str(&j, "kind", t ? "train" : "sgemm");
    jw_str(&j, "tag", o->tag);
    jw_int(&j, "config", c->id);
    jw_str(&j, "net", net);
    jw_key(&j, "hidden");
    for (size_t l = 0; l < c->n_hidden; l++)
        printf("%s%zu", l ? ", " : "[", c->hidden[l]);
    fputs("]", stdout);
    jw_str(&j, "activation", "relu");
    jw_bool(&j, "batchnorm", c->batchnorm);
    jw_int(&j, "batch", (long long)c->batch);
    jw_str(&j, "optimizer", "adam");
    jw_num(&j, "lr", 1e-3);
    jw_int(&j, "threads", o->threads);
    jw_num(&j, "flops_per_sample", fps);
    if (t) {
        jw_int(&j, "train_samples", (long long)t->n_train);
        jw_num(&j, "samples_per_epoch", t->samples_per_epoch);
        jw_int(&j, "epochs", (long long)t->n_epochs);
        jw_key(&j, "epoch_s");
        for (size_t e = 0; e < t->n_epochs; e++)
            printf("%s%.6f", e ? ", " : "[", t->epoch_s[e]);
        fputs("]", stdout);
        jw_num(&j, "warmup_s", t->warmup_s);
        jw_num(&j, "cpu_per_wall", t->cpu_per_wall);
        jw_num(&j, "samples_per_s", t->samples_per_s);
        jw_num(&j, "best_samples_per_s", t->best_samples_per_s);
        jw_num(&j, "wall_samples_per_s", t->wall_samples_per_s);
        jw_num(&j, "gflops", t->best_samples_per_s * fps * 1e-9);
        jw_num(&j, "step_ms", 1e3 * (double)c->batch / t->best_samples_per_s);
        jw_num(&j, "train_loss", t->train_loss);
        jw_num(&j, "test_accuracy", t->test_accuracy);
        jw_num(&j, "rss_after_load_mb", t->rss_after_load_mb);
        jw_num(&j, "peak_rss_mb", t->peak_rss_mb);
        jw_time(&j, "start_unix", t->start_unix);
        jw_time(&j, "end_unix", t->end_unix);
    }
    if (s) {
        jw_num(&j, "sgemm_gflops", s->gflops);
        jw_num(&j, "sgemm_gflops_median", s->gflops_median);
        jw_num(&j, "sgemm_gflops_best", s->gflops_best);
        jw_num(&j, "sgemm_step_ms", 1e3 * s->step_s);
        jw_int(&j, "sgemm_rounds", (long long)s->rounds);
        jw_int(&j, "sgemm_reps_per_round", (long long)s->reps_per_round);
        jw_num(&j, "sgemm_cpu_per_wall", s->cpu_per_wall);
        if (t) {
            double step_s = (double)c->batch / t->best_samples_per_s;
            jw_num(&j, "pct_of_sgemm", 100.0 * s->step_s / step_s);
            jw_num(&j, "outside_gemm_ms", 1e3 * (step_s - s->step_s));
        }
        jw_key(&j, "gemms");
        fputc('[', stdout);
        for (size_t i = 0; i < s->n_gemms; i++) {
            const gemm *g = &s->gemms[i];
            jw k;
            if (i)
                fputs(", ", stdout);
            jw_begin(&k, stdout);
            jw_str(&k, "op", g->what);
            jw_int(&k, "layer", (long long)g->layer);
            jw_int(&k, "m", g->m);
            jw_int(&k, "n", g->n);
            jw_int(&k, "k", g->k);
            jw_num(&k, "gflops", gemm_gflops(g, s->rounds * s->reps_per_round));
            jw_num(&k, "share", g->seconds / s->total_s);
            jw_end(&k);
        }
        fputc(']', stdout);
    }
    jw_end(&j);
    fputc('\n', stdout);
    fflush(stdout);
}

static void report_text(const bench_config *c, const bench_opts *o, const train_result *t,
                        const sgemm_result *s)
{
    char net[64];
    double fps = config_flops_per_sample(c);
    config_net_name(c, net, sizeof net);
    printf("\nconfig %d: %s ReLU%s, Adam lr 1e-3, batch %zu, %d BLAS thread%s%s%s\n", c->id, net,
           c->batchnorm ? " + batch norm" : "", c->batch, o->threads, o->threads == 1 ? "" : "s",
           o->tag ? ", " : "", o->tag ? o->tag : "");
    printf("  FLOPs      %.4f MFLOP per sample (products only: 2Σ n_in·n_out forward, the same for "
           "dW, 2Σ_{l≥2} n_in·n_out for dX)\n", fps * 1e-6);
    if (t) {
        printf("  training   %.0f samples per epoch;", t->samples_per_epoch);
        for (size_t e = 0; e < t->n_epochs; e++)
            printf(" %.3f s", t->epoch_s[e]);
        printf(" (warm-up %.2f s); %.2f CPU s per wall s\n", t->warmup_s, t->cpu_per_wall);
        printf("             fastest epoch %.0f samples/s, %.2f GFLOP/s, %.3f ms per step\n",
               t->best_samples_per_s, t->best_samples_per_s * fps * 1e-9,
               1e3 * (double)c->batch / t->best_samples_per_s);
        printf("             all timed epochs %.0f samples/s (%.0f by the outer clock)\n",
               t->samples_per_s, t->wall_samples_per_s);
        printf("  check      final epoch's train loss %.4f, test accuracy %.4f\n", t->train_loss,
               t->test_accuracy);
        printf("  memory     peak RSS %.1f MB (%.1f MB after loading the data)\n", t->peak_rss_mb,
               t->rss_after_load_mb);
    }
    if (s) {
        size_t calls = s->rounds * s->reps_per_round;
        printf("  sgemm      %.2f GFLOP/s at these shapes (fastest tenth of %zu rounds; median %.2f, "
               "best %.2f),\n             %.3f ms per step; %.2f CPU s per wall s\n", s->gflops,
               s->rounds,
               s->gflops_median, s->gflops_best, 1e3 * s->step_s, s->cpu_per_wall);
        for (size_t i = 0; i < s->n_gemms; i++) {
            const gemm *g = &s->gemms[i];
            printf("             %-3s layer %zu  m %4d n %4d k %4d  %6.2f GFLOP/s  %4.1f%% of the step\n",
                   g->what, g->layer, g->m, g->n, g->k, gemm_gflops(g, calls),
                   100.0 * g->seconds / s->total_s);
        }
        if (t) {
            double step_s = (double)c->batch / t->best_samples_per_s;
            printf("  caviar     %.1f%% of sgemm (target ≥ 50%%); %.3f ms per step outside the "
                   "products\n", 100.0 * s->step_s / step_s, 1e3 * (step_s - s->step_s));
        }
    }
    fflush(stdout);
}

/* ---- the summary of a results file ----------------------------------------------------------- */

typedef struct sum_train {
    int have;
    char net[64];
    int batchnorm;
    size_t batch;
    double threads, flops_per_sample, samples_per_s, best_samples_per_s, gflops, sgemm_gflops;
    double pct_of_sgemm;
    double outside_gemm_ms, test_accuracy, peak_rss_mb, rss_after_load_mb, cpu_per_wall;
    double sgemm_cpu_per_wall, sgemm_gflops_median;
    double start_unix, end_unix, samples_per_epoch, epochs;
} sum_train;

/* How the peer was run (run_bench.sh writes the variant into each of its lines). With two
 * threads, PyTorch's OpenMP threads and its OpenBLAS's own threads compete for the cores unless
 * OpenBLAS is kept to one thread, so both ways are measured. */
enum { PEER_1THREAD, PEER_2THREADS, PEER_2THREADS_BLAS1, N_PEER_VARIANTS };
static const char *const PEER_VARIANTS[N_PEER_VARIANTS] = {"1thread", "2threads",
                                                           "2threads-blas1"};

typedef struct summary {
    char date[64], commit[64], cpu[256], blas[512], peer_name[64], coretype[64];
    double dirty, n_cpus, loadavg;
    sum_train single[N_CONFIGS + 1];  /* by config id */
    sum_train threads2;
    sum_train parallel[2];
    size_t n_parallel;
    double peer[N_CONFIGS + 1][N_PEER_VARIANTS]; /* [config][variant]: samples/s, NaN if missing */
} summary;

static void read_train(const char *line, sum_train *t)
{
    memset(t, 0, sizeof *t);
    t->have = 1;
    json_str(line, "net", t->net, sizeof t->net);
    double v = 0;
    if (json_num(line, "batchnorm", &v))
        t->batchnorm = v != 0;
    if (json_num(line, "batch", &v))
        t->batch = (size_t)v;
#define GET(field) if (!json_num(line, #field, &t->field)) t->field = NAN
    GET(threads);
    GET(flops_per_sample);
    GET(samples_per_s);
    GET(best_samples_per_s);
    GET(gflops);
    GET(sgemm_gflops);
    GET(pct_of_sgemm);
    GET(outside_gemm_ms);
    GET(test_accuracy);
    GET(peak_rss_mb);
    GET(rss_after_load_mb);
    GET(cpu_per_wall);
    GET(sgemm_cpu_per_wall);
    GET(sgemm_gflops_median);
    GET(start_unix);
    GET(end_unix);
    GET(samples_per_epoch);
    GET(epochs);
#undef GET
}

/* Which reference network a peer line is about, by hidden widths, batch norm and batch; 0 if
 * none. */
static int peer_config(const char *line)
{
    size_t hidden[MAX_LAYERS];
    size_t n = json_sizes(line, "hidden", hidden, MAX_LAYERS);
    double bn = 0, batch = 0;
    json_num(line, "batchnorm", &bn);
    json_num(line, "batch", &batch);
    for (size_t i = 0; i < N_CONFIGS; i++) {
        const bench_config *c = &CONFIGS[i];
        if (n != c->n_hidden || (bn != 0) != (c->batchnorm != 0) || (size_t)batch != c->batch)
            continue;
        if (memcmp(hidden, c->hidden, n * sizeof *hidden) == 0)
            return c->id;
    }
    return 0;
}

static int summary_read(const char *path, summary *s)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f) {
        fprintf(stderr, "bench_train: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    memset(s, 0, sizeof *s);
    s->dirty = s->n_cpus = s->loadavg = NAN;
    for (size_t i = 0; i <= N_CONFIGS; i++)
        for (int v = 0; v < N_PEER_VARIANTS; v++)
            s->peer[i][v] = NAN;
    while (getline(&line, &cap, f) > 0) {
        char kind[32] = "", tag[32] = "";
        double v;
        if (!json_str(line, "kind", kind, sizeof kind))
            continue;
        json_str(line, "tag", tag, sizeof tag);
        if (strcmp(kind, "run") == 0) {
            json_str(line, "date", s->date, sizeof s->date);
            json_str(line, "commit", s->commit, sizeof s->commit);
            json_num(line, "dirty", &s->dirty);
        } else if (strcmp(kind, "machine") == 0) {
            json_str(line, "cpu", s->cpu, sizeof s->cpu);
            json_str(line, "openblas_config", s->blas, sizeof s->blas);
            json_str(line, "OPENBLAS_CORETYPE", s->coretype, sizeof s->coretype);
            json_num(line, "n_cpus", &s->n_cpus);
            json_num(line, "loadavg_1min", &s->loadavg);
        } else if (strcmp(kind, "train") == 0 && json_num(line, "config", &v)) {
            int id = (int)v;
            if (id < 1 || id > (int)N_CONFIGS)
                continue;
            if (strcmp(tag, "single") == 0)
                read_train(line, &s->single[id]);
            else if (strcmp(tag, "threads2") == 0 && id == 1)
                read_train(line, &s->threads2);
            else if (strcmp(tag, "parallel") == 0 && id == 1 && s->n_parallel < 2)
                read_train(line, &s->parallel[s->n_parallel++]);
        } else if (strcmp(kind, "peer") == 0) {
            int id = peer_config(line), variant = -1;
            char name[32];
            double threads = 0, sps = NAN;
            json_num(line, "threads", &threads);
            json_num(line, "samples_per_s", &sps);
            if (json_str(line, "variant", name, sizeof name)) {
                for (int k = 0; k < N_PEER_VARIANTS; k++)
                    if (strcmp(name, PEER_VARIANTS[k]) == 0)
                        variant = k;
            } else if (threads == 1 || threads == 2) { /* a line straight from torch_mlp.py */
                variant = threads == 1 ? PEER_1THREAD : PEER_2THREADS;
            }
            if (id > 0 && variant >= 0)
                s->peer[id][variant] = sps;
            json_str(line, "peer", s->peer_name, sizeof s->peer_name);
        }
    }
    free(line);
    fclose(f);
    return 0;
}

/* Figures derived from a summary: the ratios the report prints and the results file keeps. */
typedef struct summary_figures {
    double vs_peer[N_CONFIGS + 1][N_PEER_VARIANTS]; /* caviar ÷ peer samples/s */
    double parallel_sum, parallel_span, parallel_vs_one, parallel_overlap;
    double threads2_vs_one;
} summary_figures;

static void summary_compute(const summary *s, summary_figures *f)
{
    for (size_t i = 0; i <= N_CONFIGS; i++)
        for (int v = 0; v < N_PEER_VARIANTS; v++)
            f->vs_peer[i][v] = s->single[i].have ? s->single[i].samples_per_s / s->peer[i][v] : NAN;
    f->parallel_sum = f->parallel_span = f->parallel_vs_one = f->parallel_overlap = NAN;
    if (s->n_parallel == 2) {
        const sum_train *a = &s->parallel[0], *b = &s->parallel[1];
        double first = fmin(a->start_unix, b->start_unix), last = fmax(a->end_unix, b->end_unix);
        double both = fmin(a->end_unix, b->end_unix) - fmax(a->start_unix, b->start_unix);
        double longest = fmax(a->end_unix - a->start_unix, b->end_unix - b->start_unix);
        f->parallel_sum = a->samples_per_s + b->samples_per_s;
        /* total work over the time from the first start to the last end: the machine's rate */
        f->parallel_span = (a->samples_per_epoch * a->epochs + b->samples_per_epoch * b->epochs) /
                           (last - first);
        f->parallel_overlap = both > 0 ? both / longest : 0;
        if (s->single[1].have)
            f->parallel_vs_one = f->parallel_sum / s->single[1].samples_per_s;
    }
    f->threads2_vs_one = s->threads2.have && s->single[1].have
                             ? s->threads2.samples_per_s / s->single[1].samples_per_s : NAN;
}

static const char *verdict(int met)
{
    return met ? "met" : "MISSED";
}

static void summary_print_json(const summary *s, const summary_figures *f)
{
    jw j;
    char key[64];
    jw_begin(&j, stdout);
    jw_str(&j, "kind", "summary");
    for (size_t i = 1; i <= N_CONFIGS; i++) {
        snprintf(key, sizeof key, "config%zu_pct_of_sgemm", i);
        jw_num(&j, key, s->single[i].have ? s->single[i].pct_of_sgemm : NAN);
        for (int v = 0; v < N_PEER_VARIANTS; v++) {
            snprintf(key, sizeof key, "config%zu_vs_peer_%s", i, PEER_VARIANTS[v]);
            jw_num(&j, key, f->vs_peer[i][v]);
        }
    }
    jw_num(&j, "parallel_sum_samples_per_s", f->parallel_sum);
    jw_num(&j, "parallel_span_samples_per_s", f->parallel_span);
    jw_num(&j, "parallel_vs_one", f->parallel_vs_one);
    jw_num(&j, "parallel_overlap", f->parallel_overlap);
    jw_num(&j, "threads2_vs_one", f->threads2_vs_one);
    jw_num(&j, "config1_peak_rss_mb", s->single[1].have ? s->single[1].peak_rss_mb : NAN);
    jw_end(&j);
    fputc('\n', stdout);
}

/* "12,345" */
static const char *grouped(double v, char *buf, size_t len)
{
    char digits[32];
    size_t n, out = 0;
    if (!isfinite(v)) {
        snprintf(buf, len, "-");
        return buf;
    }
    snprintf(digits, sizeof digits, "%.0f", v);
    n = strlen(digits);
    for (size_t i = 0; i < n && out + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0 && digits[i - 1] != '-')
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

/* "5.42x", or "-" when the ratio is unknown. */
static const char *times(double v, char *buf, size_t len)
{
    if (isfinite(v))
        snprintf(buf, len, "%.2fx", v);
    else
        snprintf(buf, len, "-");
    return buf;
}

static void summary_print_text(const summary *s, const summary_figures *f)
{
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32]; /* one per figure in a printf */
    const sum_train *one = &s->single[1];
    double epochs = one->have ? one->epochs : 1;
    int contended = 0;

    printf("\ncaviar training benchmark, %s, commit %s%s\n", s->date[0] ? s->date : "?",
           s->commit[0] ? s->commit : "?", s->dirty == 1 ? " (with uncommitted changes)" : "");
    printf("machine: %s, %.0f CPUs, load average %.2f at the start\n", s->cpu, s->n_cpus, s->loadavg);
    printf("OpenBLAS: %s%s%s\n", s->blas, s->coretype[0] ? ", kernels forced by OPENBLAS_CORETYPE=" : "",
           s->coretype);
    printf("Fashion-MNIST, 60,000 training images; ReLU, Adam lr 1e-3; %.0f epoch%s timed after a "
           "warm-up epoch on 10%%, one BLAS thread\n", epochs, epochs == 1 ? "" : "s");
    printf("FLOPs per sample = 2·Σ n_in·n_out (forward) + 2·Σ n_in·n_out (weight gradients)\n"
           "                 + 2·Σ_{l≥2} n_in·n_out (input gradients), over the dense layers\n\n");

    printf(" %-2s %-20s %5s  %6s  %17s  %15s  %6s  %9s  %8s  %8s\n", "", "", "", "MFLOP",
           "samples/s", "GFLOP/s", "% of", "outside", "test", "peak");
    printf(" %-2s %-20s %5s  %6s  %8s %8s  %7s %7s  %6s  %9s  %8s  %8s\n", "#", "network", "batch",
           "/sample", "fastest", "mean", "fastest", "sgemm", "sgemm", "GEMM/step", "accuracy", "RSS");
    for (size_t i = 1; i <= N_CONFIGS; i++) {
        const sum_train *t = &s->single[i];
        char name[80];
        config_net_name(&CONFIGS[i - 1], name, sizeof name);
        if (CONFIGS[i - 1].batchnorm)
            strcat(name, " +BN");
        if (!t->have) {
            printf(" %zu %-20s %5zu  (not run)\n", i, name, CONFIGS[i - 1].batch);
            continue;
        }
        contended |= t->cpu_per_wall < 0.9 || t->sgemm_cpu_per_wall < 0.9 ||
                     t->sgemm_gflops > 1.1 * t->sgemm_gflops_median ||
                     t->best_samples_per_s > 1.1 * t->samples_per_s;
        printf(" %-2zu %-20s %5zu  %6.3f  %8s %8s  %7.2f %7.2f  %5.1f%%  %6.3f ms  %8.4f  %5.0f MB\n", i,
               name, t->batch, t->flops_per_sample * 1e-6,
               grouped(t->best_samples_per_s, a, sizeof a), grouped(t->samples_per_s, b, sizeof b),
               t->gflops, t->sgemm_gflops, t->pct_of_sgemm, t->outside_gemm_ms, t->test_accuracy,
               t->peak_rss_mb);
    }
    printf("   fastest: the fastest timed epoch, set against the fastest tenth of the sgemm rounds;\n"
           "   mean: all timed epochs, the figure every comparison below uses. outside GEMM/step: time\n"
           "   per step caviar spends beyond what sgemm needs for the same products.\n");

    printf("\npeer: %s, measured in the same run\n", s->peer_name[0] ? s->peer_name : "(not run)");
    if (s->peer_name[0]) {
        printf(" %-2s %-20s %5s  %11s  %18s  %18s  %18s\n", "", "", "", "caviar, mean",
               "PyTorch 2 thr", "2 thr, BLAS 1 thr", "PyTorch 1 thr");
        printf(" %-2s %-20s %5s  %11s  %10s %7s  %10s %7s  %10s %7s\n", "#", "network", "batch",
               "samples/s", "samples/s", "ratio", "samples/s", "ratio", "samples/s", "ratio");
        for (size_t i = 1; i <= N_CONFIGS; i++) {
            char name[80];
            config_net_name(&CONFIGS[i - 1], name, sizeof name);
            if (CONFIGS[i - 1].batchnorm)
                strcat(name, " +BN");
            printf(" %-2zu %-20s %5zu  %11s  %10s %7s  %10s %7s  %10s %7s\n", i, name,
                   CONFIGS[i - 1].batch,
                   grouped(s->single[i].have ? s->single[i].samples_per_s : NAN, a, sizeof a),
                   grouped(s->peer[i][PEER_2THREADS], b, sizeof b),
                   times(f->vs_peer[i][PEER_2THREADS], c, sizeof c),
                   grouped(s->peer[i][PEER_2THREADS_BLAS1], d, sizeof d),
                   times(f->vs_peer[i][PEER_2THREADS_BLAS1], e, sizeof e),
                   grouped(s->peer[i][PEER_1THREAD], g, sizeof g),
                   times(f->vs_peer[i][PEER_1THREAD], h, sizeof h));
        }
        printf("   ratio: caviar's samples/s ÷ PyTorch's. '2 thr' runs as a user would, with no thread\n"
               "   variables set: PyTorch's OpenMP and its OpenBLAS start 2 threads each. 'BLAS 1 thr'\n"
               "   sets OPENBLAS_NUM_THREADS=1, leaving the 2 threads to PyTorch's own parallelism.\n");
    }

    printf("\nconfig 1, two trainings at once (one process each, 1 BLAS thread each):\n");
    if (s->n_parallel == 2) {
        contended |= s->parallel[0].cpu_per_wall < 0.9 || s->parallel[1].cpu_per_wall < 0.9;
        printf("  %s + %s = %s samples/s in total, %s one training alone (%s samples/s);\n"
               "  timed epochs overlapped %.0f%%; all samples over first start to last end: %s "
               "samples/s;\n  CPU seconds per wall second %.2f and %.2f\n",
               grouped(s->parallel[0].samples_per_s, a, sizeof a),
               grouped(s->parallel[1].samples_per_s, b, sizeof b),
               grouped(f->parallel_sum, c, sizeof c), times(f->parallel_vs_one, d, sizeof d),
               grouped(one->have ? one->samples_per_s : NAN, e, sizeof e),
               100.0 * f->parallel_overlap, grouped(f->parallel_span, g, sizeof g),
               s->parallel[0].cpu_per_wall, s->parallel[1].cpu_per_wall);
    } else {
        printf("  (not run)\n");
    }
    if (s->threads2.have) {
        const char *versus = "";
        if (isfinite(f->parallel_sum))
            versus = f->parallel_sum > s->threads2.samples_per_s
                         ? "; two single-threaded trainings at once do more"
                         : "; NOTE: this beats two single-threaded trainings at once";
        printf("config 1, one training on 2 BLAS threads: %s samples/s, %s one thread%s\n",
               grouped(s->threads2.samples_per_s, a, sizeof a), times(f->threads2_vs_one, b, sizeof b),
               versus);
    }
    if (contended)
        printf("\nWARNING: something else was using the machine: a timed part got less than 0.9 "
               "CPU seconds\nper second (cpu_per_wall, sgemm_cpu_per_wall in the results), or the "
               "sgemm rounds' median\nor the mean of the timed epochs is more than 10%% below "
               "the fastest. Figures are low;\nrun again on a quiet machine.\n");

    printf("\ntargets\n");
    for (size_t i = 1; i <= N_CONFIGS; i++)
        if (s->single[i].have)
            printf("  config %zu at ≥ 50%% of sgemm at its shapes    %8.1f%%    %s\n", i,
                   s->single[i].pct_of_sgemm, verdict(s->single[i].pct_of_sgemm >= 50));
    if (isfinite(f->vs_peer[1][PEER_2THREADS]))
        printf("  config 1 ≥ 5x PyTorch on 2 threads            %8.2fx    %s\n",
               f->vs_peer[1][PEER_2THREADS], verdict(f->vs_peer[1][PEER_2THREADS] >= 5));
    if (isfinite(f->vs_peer[1][PEER_2THREADS_BLAS1]))
        printf("    the same, PyTorch's BLAS on 1 thread        %8.2fx    %s\n",
               f->vs_peer[1][PEER_2THREADS_BLAS1], verdict(f->vs_peer[1][PEER_2THREADS_BLAS1] >= 5));
    if (one->have)
        printf("  config 1 peak resident memory < 400 MB        %8.0f MB  %s\n", one->peak_rss_mb,
               verdict(one->peak_rss_mb < 400));
    fflush(stdout);
}

/* ---- main --------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: bench_train [options]\n"
        "  --config N           one network, 1-%zu (default: all)\n"
        "  --epochs N           timed epochs (default 1, at most %d)\n"
        "  --warmup-fraction F  warm-up epoch on this share of the training set (default 0.1;\n"
        "                       0: none, the first epoch is timed)\n"
        "  --threads N          BLAS threads (default 1)\n"
        "  --no-sgemm           skip the sgemm reference\n"
        "  --sgemm-only         only the sgemm reference (no data needed)\n"
        "  --sgemm-seconds S    time the sgemm reference for at least S seconds (default 1)\n"
        "  --seed N             model seed (default 1)\n"
        "  --tag NAME           label copied into the JSON records (default single)\n"
        "  --barrier DIR:N      after the warm-up, wait until N processes reached DIR\n"
        "  --datasets-dir DIR   where fashion-mnist/ lives (default /usr/share/datasets)\n"
        "  --json               JSON records, one per line, instead of the report\n"
        "  --info               describe the machine and exit\n"
        "  --summary FILE       print the summary of a results file and exit\n"
        "exit status: 0 done, 77 Fashion-MNIST not installed, 2 usage, 1 failure\n",
        N_CONFIGS, MAX_EPOCHS);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int bad_arg(const char *opt, const char *value)
{
    fprintf(stderr, "bench_train: bad value '%s' for %s\n", value ? value : "", opt);
    usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    bench_opts o = {.config = 0, .epochs = 1, .warmup_fraction = 0.1, .threads = 1, .train = 1,
                    .sgemm = 1, .sgemm_seconds = 1.0, .seed = 1, .tag = "single"};
    const char *summary_path = NULL;
    int info = 0, rc = 0;
    caviar_data *data = NULL;
    double rss_load = NAN;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long lv;
        double dv;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(arg, "--info") == 0) {
            info = 1;
        } else if (strcmp(arg, "--no-sgemm") == 0) {
            o.sgemm = 0;
        } else if (strcmp(arg, "--sgemm-only") == 0) {
            o.train = 0;
        } else if (!val) {
            return bad_arg(arg, NULL);
        } else if (strcmp(arg, "--config") == 0) {
            if (parse_long(val, 1, (long)N_CONFIGS, &lv) != 0)
                return bad_arg(arg, val);
            o.config = (int)lv;
            i++;
        } else if (strcmp(arg, "--epochs") == 0) {
            if (parse_long(val, 1, MAX_EPOCHS, &lv) != 0)
                return bad_arg(arg, val);
            o.epochs = (size_t)lv;
            i++;
        } else if (strcmp(arg, "--warmup-fraction") == 0) {
            if (parse_double(val, 0, 1, &dv) != 0)
                return bad_arg(arg, val);
            o.warmup_fraction = dv;
            i++;
        } else if (strcmp(arg, "--threads") == 0) {
            if (parse_long(val, 1, 256, &lv) != 0)
                return bad_arg(arg, val);
            o.threads = (int)lv;
            i++;
        } else if (strcmp(arg, "--sgemm-seconds") == 0) {
            if (parse_double(val, 0, 3600, &dv) != 0)
                return bad_arg(arg, val);
            o.sgemm_seconds = dv;
            i++;
        } else if (strcmp(arg, "--seed") == 0) {
            if (parse_long(val, 0, 0x7fffffffL, &lv) != 0)
                return bad_arg(arg, val);
            o.seed = (uint64_t)lv;
            i++;
        } else if (strcmp(arg, "--tag") == 0) {
            o.tag = val;
            i++;
        } else if (strcmp(arg, "--barrier") == 0) {
            static char dir[4096];
            const char *colon = strrchr(val, ':');
            if (!colon || (size_t)(colon - val) >= sizeof dir || colon == val ||
                parse_long(colon + 1, 1, 64, &o.barrier_n) != 0)
                return bad_arg(arg, val);
            memcpy(dir, val, (size_t)(colon - val));
            dir[colon - val] = '\0';
            o.barrier_dir = dir;
            i++;
        } else if (strcmp(arg, "--datasets-dir") == 0) {
            o.datasets_dir = val;
            i++;
        } else if (strcmp(arg, "--summary") == 0) {
            summary_path = val;
            i++;
        } else {
            fprintf(stderr, "bench_train: unknown option '%s'\n", arg);
            usage(stderr);
            return EXIT_USAGE;
        }
    }

    if (summary_path) {
        summary s;
        summary_figures f;
        if (summary_read(summary_path, &s) != 0)
            return 1;
        summary_compute(&s, &f);
        if (o.json)
            summary_print_json(&s, &f);
        else
            summary_print_text(&s, &f);
        return 0;
    }
    if (info) {
        print_machine(o.json);
        return 0;
    }
    if (!o.train && !o.sgemm) {
        fprintf(stderr, "bench_train: --no-sgemm with --sgemm-only leaves nothing to do\n");
        return EXIT_USAGE;
    }

    caviar_nn_set_threads(o.threads);
    openblas_set_num_threads(o.threads);
    if (!o.json)
        print_machine(0);

    if (o.train) {
        caviar_data_opts dopts;
        caviar_error err;
        caviar_data_opts_init(&dopts);
        dopts.dev_fraction = 0; /* all 60,000 images train; no evaluation inside the timing */
        dopts.standardize = 1;
        dopts.datasets_dir = o.datasets_dir;
        data = caviar_data_load("fashion-mnist", &dopts, &err);
        if (!data) {
            if (err.status == CAVIAR_EMISSING || err.status == CAVIAR_EIO) {
                fprintf(stderr, "bench_train: skipped, Fashion-MNIST is not available: %s\n"
                        "hint: apt-get install dataset-fashion-mnist\n", err.msg);
                return EXIT_SKIP;
            }
            fprintf(stderr, "bench_train: cannot load Fashion-MNIST: %s\n", err.msg);
            return 1;
        }
        rss_load = current_rss_mb();
    }

    for (size_t i = 0; i < N_CONFIGS && rc == 0; i++) {
        const bench_config *c = &CONFIGS[i];
        train_result t;
        sgemm_result s;
        if (o.config && o.config != c->id)
            continue;
        memset(&t, 0, sizeof t);
        t.rss_after_load_mb = rss_load;
        if (o.train && train_config(c, data, &o, &t) != 0) {
            rc = 1;
            break;
        }
        /* after training, so that its buffers do not count in the training's peak memory */
        if (o.sgemm && sgemm_reference(c, o.sgemm_seconds, &s) != 0) {
            fprintf(stderr, "bench_train: config %d: out of memory for the sgemm reference\n", c->id);
            rc = 1;
            break;
        }
        if (o.json)
            report_json(c, &o, o.train ? &t : NULL, o.sgemm ? &s : NULL);
        else
            report_text(c, &o, o.train ? &t : NULL, o.sgemm ? &s : NULL);
    }
    caviar_data_free(data);
    return rc;
}
