/*
 * test_command.c — the command objective (src/objective/command.c) running the /bin/sh scripts
 * of tests/data/command on real studies (":memory:", SQLite for the runner's stop):
 *   - a JSON learning curve (W&B's default command: /usr/bin/env bash curve_json.sh --level=1)
 *     and a name=value one with ordinary output, a malformed line and a repeated step around
 *     it: every report at its step, COMPLETE with the last value, notes in the log;
 *   - each macro form, the exact arguments received (a string with spaces and quotes, a float
 *     that must read back to the same double, booleans, dotted names nested in JSON), the
 *     JSON file, and the child's environment (threads, trial number, study);
 *   - failures with their exact messages: exit status with the last 5 lines of stderr, a
 *     signal, no metric, a program that does not exist, a timeout (its whole process group
 *     gone), SIGTERM ignored (SIGKILL after the grace period);
 *   - the median pruner stopping bad curves: PRUNED at step 1 with the value shown, the
 *     process gone long before it would have finished;
 *   - Ctrl-C of a worker (SIGTERM to a caviar_work process): the program is stopped, the trial
 *     ends FAIL "interrupted" and is re-queued;
 *   - very long lines; objective_param_suggest and its quantisation; bad options.
 * The last test checks that no child process is left unwaited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "caviar.h"
#include "objective/objective.h"

#define DATA CAVIAR_TEST_DATA "/command"

static char tmpdir[256];

/* ---- helpers --------------------------------------------------------------------------------- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The whole of a file (malloc'd, NUL-terminated), or NULL; *len gets its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *buf = malloc(cap + 1);
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown, cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void log_path(char *buf, size_t len, const char *dir, uint64_t number)
{
    snprintf(buf, len, "%s/%s/trial-%llu.log", tmpdir, dir, (unsigned long long)number);
}

/* The number after "what: " in the log, or -1. */
static long log_number(const char *log, const char *what)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s: ", what);
    const char *at = strstr(log, key);
    if (!at && strncmp(log, key + 1, strlen(key + 1)) == 0)
        at = log - 1;
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* Whether process pid is gone (not even a zombie of ours). */
static int gone(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Whether process pid, not a child of ours, is dead within 2 s: gone, or a zombie (killed, it
 * stays one until the process that inherited it, init or a subreaper, waits for it, which in
 * a container may be never). */
static int dead_soon(long pid)
{
    for (double t0 = mono_now(); mono_now() - t0 < 2; sleep_s(0.01)) {
        if (gone(pid))
            return 1;
        char path[64], stat[256] = "";
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(stat, 1, sizeof stat - 1, f);
            stat[n] = '\0';
            fclose(f);
        }
        const char *paren = strrchr(stat, ')'); /* "pid (comm) S ..." */
        if (paren && paren[1] == ' ' && paren[2] == 'Z')
            return 1;
    }
    return 0;
}

static caviar_study *memory_study(const char *pruner, const char *settings)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = "cmd";
    o.seed = 5;
    o.pruner = pruner;
    o.pruner_settings = settings;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail_msg("cannot create the study: %s", err.msg);
    return s;
}

/* The usual options: metric val_loss, logs in tmpdir/dir, the program run by /bin/sh. */
static void opts_init(objective_command_opts *o, const char *script, const char *dir)
{
    static char program[512], logs[512];
    static const char *const sh_argv[] = {"/bin/sh", "${program}", "${args}"};
    memset(o, 0, sizeof *o);
    snprintf(program, sizeof program, "%s/%s", DATA, script);
    snprintf(logs, sizeof logs, "%s/%s", tmpdir, dir);
    o->program = program;
    o->argv = sh_argv;
    o->argc = 3;
    o->metric = "val_loss";
    o->log_dir = logs;
    o->kill_grace = 1;
    o->timeout = 30;
}

typedef struct outcome {
    uint64_t number;
    caviar_trial_state state;
    double value;
    char msg[CAVIAR_ERRMSG_LEN];
    double seconds;
} outcome;

/* Asks a trial, runs the command on it and tells the study as the runner would. */
static outcome run_one(caviar_study *s, const objective_command_opts *opts)
{
    caviar_error err;
    objective_command *c;
    if (objective_command_new(opts, &c, &err) != CAVIAR_OK)
        fail_msg("objective_command_new: %s", err.msg);
    caviar_trial *t = caviar_study_ask(s, &err);
    assert_non_null(t);
    outcome o;
    memset(&o, 0, sizeof o);
    o.number = caviar_trial_number(t);
    memset(&err, 0, sizeof err);
    double t0 = mono_now();
    o.state = objective_command_run(t, c, &o.value, &err);
    o.seconds = mono_now() - t0;
    snprintf(o.msg, sizeof o.msg, "%s", err.msg);
    caviar_status st = o.state == CAVIAR_TRIAL_FAIL
                           ? caviar_study_abandon(s, t, err.msg, 0, &err)
                           : caviar_study_tell(s, t, o.state, o.value, &err);
    assert_int_equal(st, CAVIAR_OK);
    objective_command_free(c);
    return o;
}

static void view(caviar_study *s, uint64_t number, caviar_trial_view *v)
{
    for (size_t i = 0; i < caviar_study_n_trials(s); i++) {
        assert_int_equal(caviar_study_trial(s, i, v), CAVIAR_OK);
        if (v->number == number)
            return;
    }
    fail_msg("no trial %llu", (unsigned long long)number);
}

static const char *attr(const caviar_trial_view *v, const char *key)
{
    for (size_t i = 0; i < v->n_attrs; i++)
        if (strcmp(v->attrs[i].key, key) == 0)
            return v->attrs[i].value;
    return NULL;
}

static void check_reports(caviar_study *s, uint64_t number, const int64_t *steps,
                          const double *values, size_t n)
{
    caviar_trial_view v;
    view(s, number, &v);
    assert_int_equal(v.n_reports, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v.report_steps[i], steps[i]);
        assert_true(v.report_values[i] == values[i]);
    }
}

/* ---- learning curves ------------------------------------------------------------------------- */

static void test_json_curve(void **state)
{
    (void)state;
    caviar_study *s = memory_study(NULL, NULL);
    objective_command_opts o;
    opts_init(&o, "curve_json.sh", "json");
    o.argv = NULL; /* W&B's default: ${env} ${interpreter} ${program} ${args} */
    o.study = "cmd";
    objective_param level = {"level", {.kind = CAVIAR_DIST_INT, .low = 1, .high = 2, .step = 1}};
    o.params = &level;
    o.n_params = 1;
    caviar_error err;
    const char *names[] = {"level"};
    const double one = 1;
    assert_int_equal(caviar_study_add_param(s, "level", &level.dist, &err), CAVIAR_OK);
    assert_int_equal(caviar_study_enqueue(s, names, &one, 1, &err), CAVIAR_OK);
    outcome r = run_one(s, &o);
    if (r.state != CAVIAR_TRIAL_COMPLETE)
        fail_msg("state %d: %s", r.state, r.msg);
    assert_true(r.value == 9.5);
    const int64_t steps[] = {1, 2, 3, 4, 5};
    const double values[] = {9.9, 9.8, 9.7, 9.6, 9.5};
    check_reports(s, r.number, steps, values, 5);

    char path[512];
    log_path(path, sizeof path, "json", r.number);
    caviar_trial_view v;
    view(s, r.number, &v);
    assert_non_null(attr(&v, "log"));
    assert_string_equal(attr(&v, "log"), path);
    char *log = slurp(path, NULL);
    assert_non_null(log);
    char want[1024];
    snprintf(want, sizeof want, "caviar: trial %llu of study 'cmd': /usr/bin/env bash %s/"
             "curve_json.sh --level=1\n", (unsigned long long)r.number, DATA);
    assert_true(strncmp(log, want, strlen(want)) == 0);
    assert_non_null(strstr(log, "Epoch 0/5: loading data\n"));
    assert_non_null(strstr(log, "{\"step\": 5, \"val_loss\": 9.5, \"train\": {\"loss\": 5, "
                                "\"note\": \"ok\"}}\n"));
    assert_non_null(strstr(log, "\ndone\n")); /* stderr is in the log too */
    assert_non_null(strstr(log, "caviar: COMPLETE with val_loss = 9.5\n"));
    assert_true(gone(log_number(log, "pid")));
    free(log);
    caviar_study_free(s);
}

static void test_kv_curve(void **state)
{
    (void)state;
    caviar_study *s = memory_study(NULL, NULL);
    objective_command_opts o;
    opts_init(&o, "curve_kv.sh", "kv");
    outcome r = run_one(s, &o);
    if (r.state != CAVIAR_TRIAL_COMPLETE)
        fail_msg("state %d: %s", r.state, r.msg);
    assert_true(r.value == 0.5);
    const int64_t steps[] = {1, 2, 3, 4};
    const double values[] = {0.9, 0.7, 0.6, 0.5};
    check_reports(s, r.number, steps, values, 4);
    char path[512];
    log_path(path, sizeof path, "kv", r.number);
    char *log = slurp(path, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "{\"val_loss\": 0.8\ncaviar: the line above is not read as "
                                "metrics: metric line: the object opened at byte 0 is not "
                                "closed at byte 16\n"));
    assert_non_null(strstr(log, "step=2 val_loss=0.1\ncaviar: step 2 of 'val_loss' was "
                                "reported before: line skipped\n"));
    assert_non_null(strstr(log, "\nsome warning\n"));
    assert_non_null(strstr(log, "\nval_loss=0.5\tacc=0.9\n")); /* the last line, unterminated */
    free(log);
    caviar_study_free(s);
}

/* ---- arguments and environment --------------------------------------------------------------- */

static const caviar_value v_name = {CAVIAR_VALUE_STRING, 0, "a b  c"};
static const caviar_value v_quote = {CAVIAR_VALUE_STRING, 0, "it's \"q\" \\ x"};
static const caviar_value v_true = {CAVIAR_VALUE_BOOL, 1, NULL};
static const caviar_value v_false = {CAVIAR_VALUE_BOOL, 0, NULL};
static const caviar_value v_x = {CAVIAR_VALUE_NUMBER, 0.30000000000000004, NULL};
static const caviar_value v_tiny = {CAVIAR_VALUE_NUMBER, 1e-7, NULL};
static const caviar_value v_eps = {CAVIAR_VALUE_NUMBER, 1e-8, NULL};

#define N_ARG_PARAMS 10
static objective_param arg_params[N_ARG_PARAMS] = {
    {"lr", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5, .high = 1}},
    {"units", {.kind = CAVIAR_DIST_INT, .low = 16, .high = 256, .step = 1}},
    {"name", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_name}},
    {"quote", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_quote}},
    {"flag", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_true}},
    {"off", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_false}},
    {"x", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_x}},
    {"tiny", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_tiny}},
    {"opt.beta", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .q = 0.1}},
    {"opt.eps", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &v_eps}},
};

/* The arguments args.sh received ("arg:" lines of its log), NULL-terminated, malloc'd. */
static char **received_args(const char *log, size_t *n)
{
    char **args = calloc(64, sizeof *args);
    *n = 0;
    for (const char *at = log; (at = strstr(at, "\narg:")) != NULL && *n < 63;) {
        at += 5;
        size_t len = strcspn(at, "\n");
        args[(*n)++] = strndup(at, len);
        at += len;
    }
    return args;
}

static void free_args(char **args)
{
    for (size_t i = 0; args[i]; i++)
        free(args[i]);
    free(args);
}

/* Runs args.sh with the template; returns the log and the values the trial recorded. */
static char *run_args(const char *const *argv, size_t argc, const char *dir, int threads,
                      char *lr_text, size_t lr_len, long long *units,
                      char beta_text[static 32], uint64_t *number)
{
    caviar_study *s = memory_study(NULL, NULL);
    objective_command_opts o;
    opts_init(&o, "args.sh", dir);
    o.argv = argv;
    o.argc = argc;
    o.params = arg_params;
    o.n_params = N_ARG_PARAMS;
    o.threads = threads;
    o.study = "args study";
    outcome r = run_one(s, &o);
    if (r.state != CAVIAR_TRIAL_COMPLETE)
        fail_msg("state %d: %s", r.state, r.msg);
    caviar_trial_view v;
    view(s, r.number, &v);
    double lr = NAN, beta = NAN;
    for (size_t i = 0; i < v.n_params; i++) {
        if (strcmp(v.param_names[i], "lr") == 0)
            lr = v.param_values[i];
        if (strcmp(v.param_names[i], "units") == 0)
            *units = (long long)v.param_values[i];
        if (strcmp(v.param_names[i], "opt.beta") == 0)
            beta = v.param_values[i];
    }
    /* The shortest text that reads back as lr, and beta quantised to 0.1. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(lr_text, lr_len, "%.*g", prec, lr);
        if (strtod(lr_text, NULL) == lr)
            break;
    }
    snprintf(beta_text, 32, "%.15g", round(beta / 0.1) * 0.1);
    *number = r.number;
    char path[512];
    log_path(path, sizeof path, dir, r.number);
    char *log = slurp(path, NULL);
    assert_non_null(log);
    caviar_study_free(s);
    return log;
}

static void expect_args(const char *log, const char *const *want, size_t n_want)
{
    size_t n;
    char **got = received_args(log, &n);
    for (size_t i = 0; i < n && i < n_want; i++)
        if (strcmp(got[i], want[i]) != 0)
            fail_msg("argument %zu is '%s', expected '%s'", i, got[i], want[i]);
    if (n != n_want)
        fail_msg("%zu arguments, expected %zu", n, n_want);
    free_args(got);
}

static void test_args_flags(void **state)
{
    (void)state;
    static const char *const with_hyphens[] = {"/bin/sh", "${program}", "${args}"};
    static const char *const no_hyphens[] = {"/bin/sh", "${program}", "${args_no_hyphens}"};
    static const char *const no_booleans[] = {"/bin/sh", "${program}", "--first",
                                              "${args_no_boolean_flags}", "last"};
    char lr[40], beta[32], units[32], a[10][128];
    long long n_units;
    uint64_t number;

    char *log = run_args(with_hyphens, 3, "args", 3, lr, sizeof lr, &n_units, beta, &number);
    snprintf(units, sizeof units, "%lld", n_units);
    snprintf(a[0], sizeof a[0], "--lr=%s", lr);
    snprintf(a[1], sizeof a[1], "--units=%s", units);
    snprintf(a[2], sizeof a[2], "--opt.beta=%s", beta);
    const char *want[] = {a[0], a[1], "--name=a b  c", "--quote=it's \"q\" \\ x", "--flag=True",
                          "--off=False", "--x=0.30000000000000004", "--tiny=1e-07", a[2],
                          "--opt.eps=1e-08"};
    expect_args(log, want, 10);
    /* The float read back is the study's value to the last bit (checked through lr's text). */
    assert_true(strlen(beta) <= 3);
    char env[128];
    snprintf(env, sizeof env, "\nenv: OMP=3 OPENBLAS=3 MKL=3 trial=%llu study=args study\n",
             (unsigned long long)number);
    assert_non_null(strstr(log, env));
    free(log);

    log = run_args(no_hyphens, 3, "args", 0, lr, sizeof lr, &n_units, beta, &number);
    snprintf(a[0], sizeof a[0], "lr=%s", lr);
    snprintf(a[1], sizeof a[1], "units=%lld", n_units);
    snprintf(a[2], sizeof a[2], "opt.beta=%s", beta);
    const char *want2[] = {a[0], a[1], "name=a b  c", "quote=it's \"q\" \\ x", "flag=True",
                           "off=False", "x=0.30000000000000004", "tiny=1e-07", a[2],
                           "opt.eps=1e-08"};
    expect_args(log, want2, 10);
    free(log);

    log = run_args(no_booleans, 5, "args", 0, lr, sizeof lr, &n_units, beta, &number);
    snprintf(a[0], sizeof a[0], "--lr=%s", lr);
    snprintf(a[1], sizeof a[1], "--units=%lld", n_units);
    snprintf(a[2], sizeof a[2], "--opt.beta=%s", beta);
    const char *want3[] = {"--first", a[0], a[1], "--name=a b  c", "--quote=it's \"q\" \\ x",
                           "--flag", "--x=0.30000000000000004", "--tiny=1e-07", a[2],
                           "--opt.eps=1e-08", "last"};
    expect_args(log, want3, 11);
    free(log);
}

static void test_args_json(void **state)
{
    (void)state;
    static const char *const json[] = {"/bin/sh", "${program}", "${args_json}"};
    static const char *const file[] = {"${env}", "sh", "${program}", "${args_json_file}",
                                       "${envvar:CAVIAR_TEST_VAR}", "${envvar:CAVIAR_UNSET_VAR}",
                                       "literal ${x}", "${program"};
    char lr[40], beta[32], want[1024], path[512];
    long long units;
    uint64_t number;
    char *log = run_args(json, 3, "json-args", 0, lr, sizeof lr, &units, beta, &number);
    snprintf(want, sizeof want, "{\"lr\": %s, \"units\": %lld, \"name\": \"a b  c\", \"quote\": "
             "\"it's \\\"q\\\" \\\\ x\", \"flag\": true, \"off\": false, \"x\": "
             "0.30000000000000004, \"tiny\": 1e-07, \"opt\": {\"beta\": %s, \"eps\": 1e-08}}",
             lr, units, beta);
    const char *w[] = {want};
    expect_args(log, w, 1);
    free(log);

    setenv("CAVIAR_TEST_VAR", "from the environment", 1);
    unsetenv("CAVIAR_UNSET_VAR");
    log = run_args(file, 8, "json-file", 0, lr, sizeof lr, &units, beta, &number);
    snprintf(path, sizeof path, "%s/json-file/trial-%llu.json", tmpdir,
             (unsigned long long)number);
    const char *w2[] = {path, "from the environment", "", "literal ${x}", "${program"};
    expect_args(log, w2, 5);
    free(log);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    snprintf(want, sizeof want, "{\"lr\": %s, \"units\": %lld, \"name\": \"a b  c\", \"quote\": "
             "\"it's \\\"q\\\" \\\\ x\", \"flag\": true, \"off\": false, \"x\": "
             "0.30000000000000004, \"tiny\": 1e-07, \"opt\": {\"beta\": %s, \"eps\": 1e-08}}\n",
             lr, units, beta);
    assert_string_equal(text, want);
    free(text);
}

/* One thread by default; a variable the user exported wins over the default, an explicit
 * setting wins over both. */
static void test_environment(void **state)
{
    (void)state;
    static const char *const argv[] = {"/bin/sh", "${program}"};
    char lr[40], beta[32], want[160];
    long long units;
    uint64_t number;
    char *saved = getenv("OPENBLAS_NUM_THREADS") ? strdup(getenv("OPENBLAS_NUM_THREADS")) : NULL;
    unsetenv("OMP_NUM_THREADS");
    unsetenv("OPENBLAS_NUM_THREADS");
    setenv("MKL_NUM_THREADS", "7", 1);
    setenv("CAVIAR_TRIAL_NUMBER", "999", 1);
    char *log = run_args(argv, 2, "env", 0, lr, sizeof lr, &units, beta, &number);
    snprintf(want, sizeof want, "\nenv: OMP=1 OPENBLAS=1 MKL=7 trial=%llu study=args study\n",
             (unsigned long long)number);
    assert_non_null(strstr(log, want));
    free(log);
    log = run_args(argv, 2, "env", 2, lr, sizeof lr, &units, beta, &number);
    snprintf(want, sizeof want, "\nenv: OMP=2 OPENBLAS=2 MKL=2 trial=%llu study=args study\n",
             (unsigned long long)number);
    assert_non_null(strstr(log, want));
    free(log);
    unsetenv("MKL_NUM_THREADS");
    unsetenv("CAVIAR_TRIAL_NUMBER");
    if (saved)
        setenv("OPENBLAS_NUM_THREADS", saved, 1);
    free(saved);
}

/* ---- failures -------------------------------------------------------------------------------- */

static void test_exit_status(void **state)
{
    (void)state;
    caviar_study *s = memory_study(NULL, NULL);
    objective_command_opts o;
    opts_init(&o, "fail.sh", "fail");
    outcome r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    char path[512], want[1024];
    log_path(path, sizeof path, "fail", r.number);
    snprintf(want, sizeof want, "exit status 3 (see %s); the last lines of its stderr:\n"
             "  stderr line 3\n  stderr line 4\n  stderr line 5\n  stderr line 6\n"
             "  stderr line 7", path);
    assert_string_equal(r.msg, want);
    caviar_trial_view v;
    view(s, r.number, &v);
    assert_int_equal(v.state, CAVIAR_TRIAL_FAIL);
    assert_string_equal(v.fail_reason, want);
    assert_int_equal(v.n_reports, 1); /* what it printed before failing is kept */
    char *log = slurp(path, NULL);
    assert_non_null(strstr(log, "\nstderr line 1\n"));
    assert_non_null(strstr(log, "caviar: FAIL: exit status 3"));
    free(log);

    opts_init(&o, "crash.sh", "fail");
    r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    log_path(path, sizeof path, "fail", r.number);
    snprintf(want, sizeof want, "killed by signal %d (%s) (see %s); the last lines of its "
             "stderr:\n  about to crash", SIGSEGV, strsignal(SIGSEGV), path);
    assert_string_equal(r.msg, want);

    opts_init(&o, "nometric.sh", "fail");
    r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    log_path(path, sizeof path, "fail", r.number);
    snprintf(want, sizeof want, "the program printed no 'val_loss' metric (see %s)", path);
    assert_string_equal(r.msg, want);

    opts_init(&o, "diverge.sh", "fail");
    r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    log_path(path, sizeof path, "fail", r.number);
    snprintf(want, sizeof want, "the program's last 'val_loss' is nan, at step 2 (see %s)", path);
    assert_string_equal(r.msg, want);

    /* ${interpreter}: python3 for .py, nothing for a program without a known extension (both
     * fail here, python3 or not, but the command line is in the log first). */
    const char *programs[] = {DATA "/missing.py", DATA "/missing"};
    const char *lines[] = {"/usr/bin/env python3 " DATA "/missing.py\n",
                           "/usr/bin/env " DATA "/missing\n"};
    for (int i = 0; i < 2; i++) {
        opts_init(&o, "nometric.sh", "fail");
        o.argv = NULL;
        o.program = programs[i];
        r = run_one(s, &o);
        assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
        assert_true(strncmp(r.msg, "exit status ", 12) == 0);
        log_path(path, sizeof path, "fail", r.number);
        log = slurp(path, NULL);
        assert_non_null(strstr(log, lines[i]));
        free(log);
    }

    static const char *const missing[] = {"${program}", "${args}"};
    opts_init(&o, "nometric.sh", "fail");
    o.program = "/nonexistent/caviar-test-program";
    o.argv = missing;
    o.argc = 2;
    r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    assert_string_equal(r.msg, "cannot run '/nonexistent/caviar-test-program': No such file or "
                               "directory");
    log_path(path, sizeof path, "fail", r.number);
    log = slurp(path, NULL);
    assert_non_null(strstr(log, "caviar: cannot run '/nonexistent/caviar-test-program'"));
    free(log);
    o.program = "caviar-no-such-program-on-path";
    r = run_one(s, &o);
    assert_string_equal(r.msg, "cannot run 'caviar-no-such-program-on-path': No such file or "
                               "directory\nhint: it is not on PATH");
    caviar_study_free(s);
}

static void test_timeout(void **state)
{
    (void)state;
    caviar_study *s = memory_study(NULL, NULL);
    objective_command_opts o;
    opts_init(&o, "sleeper.sh", "timeout");
    o.timeout = 0.5;
    outcome r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    char path[512], want[600];
    log_path(path, sizeof path, "timeout", r.number);
    snprintf(want, sizeof want, "timed out after 0.5 s (see %s)", path);
    assert_string_equal(r.msg, want);
    assert_true(r.seconds >= 0.5 && r.seconds < 2);
    char *log = slurp(path, NULL);
    assert_non_null(strstr(log, "caviar: timed out after 0.5 s: SIGTERM\n"));
    assert_null(strstr(log, "SIGKILL"));
    long pid = log_number(log, "pid"), child = log_number(log, "child");
    assert_true(pid > 0 && child > 0);
    assert_true(gone(pid));
    assert_true(dead_soon(child)); /* its whole process group */
    free(log);

    opts_init(&o, "stubborn.sh", "timeout");
    o.timeout = 0.3;
    o.kill_grace = 0.4;
    r = run_one(s, &o);
    assert_int_equal(r.state, CAVIAR_TRIAL_FAIL);
    log_path(path, sizeof path, "timeout", r.number);
    snprintf(want, sizeof want, "timed out after 0.3 s (see %s)", path);
    assert_string_equal(r.msg, want);
    assert_true(r.seconds >= 0.7 && r.seconds < 2.5);
    log = slurp(path, NULL);
    assert_non_null(strstr(log, "caviar: timed out after 0.3 s: SIGTERM\n"
                                "caviar: still running 0.4 s after SIGTERM: SIGKILL\n"));
    assert_true(gone(log_number(log, "pid")));
    free(log);
    caviar_study_free(s);
}

/* ---- pruning --------------------------------------------------------------------------------- */

static void test_pruning(void **state)
{
    (void)state;
    caviar_study *s = memory_study("median", "n_startup_trials=2");
    static const caviar_value pauses[] = {{CAVIAR_VALUE_NUMBER, 0, NULL},
                                          {CAVIAR_VALUE_NUMBER, 1, NULL}};
    objective_param params[] = {
        {"level", {.kind = CAVIAR_DIST_INT, .low = 1, .high = 9, .step = 1}},
        {"pause", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = pauses}},
    };
    static const char *const argv[] = {"/bin/sh", "${program}", "${args}", "--steps=9"};
    objective_command_opts o;
    opts_init(&o, "curve_json.sh", "prune");
    o.argv = argv;
    o.argc = 4;
    o.params = params;
    o.n_params = 2;
    const char *names[] = {"level", "pause"};
    caviar_error err;
    for (int i = 0; i < 2; i++)
        assert_int_equal(caviar_study_add_param(s, names[i], &params[i].dist, &err), CAVIAR_OK);
    /* Two good curves without pauses, then three bad ones that would take 9 s each. */
    for (int i = 0; i < 5; i++) {
        double values[2] = {i < 2 ? 1 : 9, i < 2 ? 0 : 1};
        assert_int_equal(caviar_study_enqueue(s, names, values, 2, &err), CAVIAR_OK);
    }
    for (int i = 0; i < 5; i++) {
        outcome r = run_one(s, &o);
        char path[512];
        log_path(path, sizeof path, "prune", r.number);
        char *log = slurp(path, NULL);
        assert_non_null(log);
        if (i < 2) {
            assert_int_equal(r.state, CAVIAR_TRIAL_COMPLETE);
            assert_true(r.value == 9.1);
        } else {
            if (r.state != CAVIAR_TRIAL_PRUNED)
                fail_msg("trial %d: state %d (%s)", i, r.state, r.msg);
            assert_true(r.value == 89.9);
            assert_true(r.seconds < 5); /* 9 s unpruned */
            const int64_t steps[] = {1};
            const double values[] = {89.9};
            check_reports(s, r.number, steps, values, 1);
            assert_non_null(strstr(log, "caviar: pruned at step 1 (val_loss = 89.9): SIGTERM\n"));
            assert_non_null(strstr(log, "caviar: PRUNED with val_loss = 89.9"));
        }
        assert_true(gone(log_number(log, "pid")));
        free(log);
    }
    caviar_study_summary sum;
    caviar_study_summarize(s, &sum);
    assert_int_equal(sum.n_complete, 2);
    assert_int_equal(sum.n_pruned, 3);
    caviar_study_free(s);
}

/* ---- the runner's Ctrl-C --------------------------------------------------------------------- */

static void test_stop(void **state)
{
    (void)state;
    char db[512], logs[512], path[600];
    snprintf(db, sizeof db, "%s/stop.db", tmpdir);
    caviar_study_opts so;
    caviar_study_opts_init(&so);
    so.storage = db;
    so.name = "stop";
    so.max_trials = 1;
    objective_command_opts o;
    opts_init(&o, "sleeper.sh", "stop");
    snprintf(logs, sizeof logs, "%s", o.log_dir);
    snprintf(path, sizeof path, "%s/trial-0.log", logs);
    pid_t worker = fork();
    assert_true(worker >= 0);
    if (worker == 0) {
        caviar_error err;
        objective_command *c;
        if (objective_command_new(&o, &c, &err) != CAVIAR_OK)
            _exit(10);
        caviar_work_opts w;
        caviar_work_opts_init(&w);
        w.quiet = 1;
        caviar_work_stats stats;
        caviar_status st = caviar_work(&so, &w, objective_command_run, c, &stats, &err);
        objective_command_free(c);
        _exit(st == CAVIAR_STOPPED && stats.n_interrupted == 1 ? 0 : 11);
    }
    /* Wait until the program runs, then stop the worker as Ctrl-C would. */
    long pid = -1, child = -1;
    for (double t0 = mono_now(); mono_now() - t0 < 10 && child <= 0; sleep_s(0.02)) {
        char *log = slurp(path, NULL);
        if (log) {
            pid = log_number(log, "pid");
            child = log_number(log, "child");
        }
        free(log);
    }
    assert_true(pid > 0 && child > 0);
    double t0 = mono_now();
    kill(worker, SIGTERM);
    int status;
    assert_int_equal(waitpid(worker, &status, 0), worker);
    assert_true(mono_now() - t0 < 3);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(dead_soon(pid)); /* the worker's child: the worker has been waited for */
    assert_true(dead_soon(child));

    caviar_error err;
    caviar_study *s = caviar_study_new(&so, &err);
    assert_non_null(s);
    caviar_trial_view v;
    view(s, 0, &v);
    assert_int_equal(v.state, CAVIAR_TRIAL_FAIL);
    assert_string_equal(v.fail_reason, "interrupted");
    assert_true(v.requeued);
    assert_string_equal(attr(&v, "log"), path);
    char *log = slurp(path, NULL);
    assert_non_null(strstr(log, "caviar: caviar is stopping: SIGTERM\n"));
    free(log);
    caviar_study_free(s);
}

/* ---- long lines ------------------------------------------------------------------------------ */

static void test_huge_lines(void **state)
{
    (void)state;
    caviar_study *s = memory_study(NULL, NULL);
    objective_command_opts o;
    opts_init(&o, "huge.sh", "huge");
    outcome r = run_one(s, &o);
    if (r.state != CAVIAR_TRIAL_COMPLETE)
        fail_msg("state %d: %s", r.state, r.msg);
    assert_true(r.value == 2);
    const int64_t steps[] = {1};
    const double values[] = {2};
    check_reports(s, r.number, steps, values, 1);
    char path[512];
    log_path(path, sizeof path, "huge", r.number);
    size_t len = 0;
    char *log = slurp(path, &len);
    assert_non_null(log);
    /* Every byte is in the log: 200000 x, 70000 z, 100000 y. */
    size_t nx = 0, ny = 0, nz = 0;
    for (size_t i = 0; i < len; i++)
        nx += log[i] == 'x', ny += log[i] == 'y', nz += log[i] == 'z';
    assert_int_equal(nx, 200000);
    assert_int_equal(nz, 70000);
    assert_int_equal(ny, 100000 + 3); /* and the 'y' of three notes' "bytes" */
    assert_non_null(strstr(log, "zz\"}\ncaviar: the line above is longer than 65536 bytes: not "
                                "read as metrics\nval_loss=2\n"));
    assert_non_null(strstr(log, "yyyy\ncaviar: the line above is longer than 65536 bytes: not "
                                "read as metrics\ncaviar: COMPLETE with val_loss = 2\n"));
    free(log);
    caviar_study_free(s);
}

/* ---- parameters and options ------------------------------------------------------------------ */

static void test_param_suggest(void **state)
{
    (void)state;
    caviar_study *s = memory_study(NULL, NULL);
    caviar_error err;
    static const caviar_value choices[] = {{CAVIAR_VALUE_STRING, 0, "relu"},
                                           {CAVIAR_VALUE_NUMBER, 0.25, NULL},
                                           {CAVIAR_VALUE_BOOL, 1, NULL}};
    for (int k = 0; k < 40; k++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        assert_non_null(t);
        objective_param q = {"q", {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .q = 0.1}};
        objective_param qi = {"qi", {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG,
                                     .low = 30, .high = 100, .q = 8}};
        objective_param cat = {"cat", {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 3,
                                       .choices = choices}};
        double v, again;
        size_t choice = 99;
        assert_int_equal(objective_param_suggest(t, &q, &v, &choice, &err), CAVIAR_OK);
        assert_int_equal(choice, 0);
        char text[32];
        snprintf(text, sizeof text, "%.15g", round(v * 10) / 10);
        assert_true(v == strtod(text, NULL)); /* 0.3, not 0.30000000000000004 */
        assert_int_equal(objective_param_suggest(t, &q, &again, NULL, &err), CAVIAR_OK);
        assert_true(again == v);
        assert_int_equal(objective_param_suggest(t, &qi, &v, NULL, &err), CAVIAR_OK);
        assert_true(fmod(v, 8) == 0 && v >= 32 && v <= 104); /* 100 rounds to 104 */
        assert_int_equal(objective_param_suggest(t, &cat, &v, &choice, &err), CAVIAR_OK);
        assert_true(choice < 3);
        if (choice == 0)
            assert_true(isnan(v));
        else
            assert_true(v == (choice == 1 ? 0.25 : 1));
        assert_int_equal(caviar_study_tell(s, t, CAVIAR_TRIAL_COMPLETE, 0, &err), CAVIAR_OK);
    }
    caviar_study_free(s);
}

static void expect_new_error(const objective_command_opts *o, const char *msg)
{
    objective_command *c = (objective_command *)1;
    caviar_error err;
    assert_int_equal(objective_command_new(o, &c, &err), CAVIAR_EINVAL);
    assert_null(c);
    assert_string_equal(err.msg, msg);
}

static void test_bad_options(void **state)
{
    (void)state;
    objective_command_opts o;
    opts_init(&o, "args.sh", "bad");
    static const char *const typo[] = {"${program}", "${arg}"};
    o.argv = typo;
    o.argc = 2;
    expect_new_error(&o, "unknown macro '${arg}' in the command\nhint: known: ${env}, "
                         "${interpreter}, ${program}, ${args}, ${args_no_hyphens}, "
                         "${args_no_boolean_flags}, ${args_json}, ${args_json_file}, "
                         "${envvar:NAME}");
    opts_init(&o, "args.sh", "bad");
    o.program = NULL;
    expect_new_error(&o, "the command uses ${program} but no program is given");
    opts_init(&o, "args.sh", "bad");
    o.metric = NULL;
    expect_new_error(&o, "the command objective needs a metric to read");
    static const char *const json_file[] = {"/bin/sh", "${program}", "${args_json_file}"};
    opts_init(&o, "args.sh", "bad");
    o.argv = json_file;
    o.argc = 3;
    o.log_dir = NULL;
    expect_new_error(&o, "${args_json_file} needs a log directory");
    opts_init(&o, "args.sh", "bad");
    objective_param p[2] = {
        {"a", {.kind = CAVIAR_DIST_INT, .low = 0, .high = 9, .step = 1, .q = 0.5}},
        {"a", {.kind = CAVIAR_DIST_INT, .low = 0, .high = 9, .step = 1}},
    };
    o.params = p;
    o.n_params = 1;
    expect_new_error(&o, "parameter 'a': a quantum q is for floats without a step, got q 0.5 on "
                         "int with a step");
    p[0].dist.q = 0;
    o.n_params = 2;
    expect_new_error(&o, "parameter 'a' is given twice");
    p[1].name = "a..b";
    expect_new_error(&o, "bad parameter name 'a..b'");
    opts_init(&o, "args.sh", "bad");
    o.timeout = -1;
    expect_new_error(&o, "timeout, kill_grace and threads must be >= 0");
    objective_command_free(NULL);
}

/* Last: every child of this process was waited for. */
static void test_no_zombie(void **state)
{
    (void)state;
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/caviar-test-command-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("KEEP")) return 0;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_curve),    cmocka_unit_test(test_kv_curve),
        cmocka_unit_test(test_args_flags),    cmocka_unit_test(test_args_json),
        cmocka_unit_test(test_environment),   cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_timeout),       cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_stop),          cmocka_unit_test(test_huge_lines),
        cmocka_unit_test(test_param_suggest), cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_no_zombie),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
