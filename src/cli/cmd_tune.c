/*
 * cmd_tune.c — `caviar tune` (run or resume a study with N worker processes), `caviar worker`
 * (one more worker for a study that exists, from any machine that reaches its database) and
 * `caviar retest` (a study's best configurations again, with fresh seeds, as a new study).
 *
 * The study's spec, kept in the database when tune creates the study, holds what a worker
 * needs besides the sampler and pruner (which the study row holds): the objective with its
 * settings, the trial budget, and the retry and heartbeat settings, one "key=value" per line.
 * A worker started later reads it, so `caviar worker --storage URL --study NAME` needs nothing
 * else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caviar.h"
#include "cli.h"
#include "objective/objective.h"
#include "store/store.h"

static const char tune_help[] =
    "usage: caviar tune [FILE] [options]\n"
    "\n"
    "Runs a study, or resumes it: --jobs worker processes ask for trials, run the objective\n"
    "and record every trial in the study database. Running the same command again resumes\n"
    "the study; Ctrl-C stops cleanly (running trials are re-queued), a second Ctrl-C at once.\n"
    "More machines join with 'caviar worker --storage URL --study NAME'.\n"
    "\n"
    "FILE is a sweep file in the format of Weights & Biases sweeps (program, method, metric,\n"
    "parameters, early_terminate, command), with caviar's keys on top (objective: for the\n"
    "built-in trainer, sampler, pruner, budget, jobs, storage, study, seed, retries); the\n"
    "options below override the file. A program's trials are logged in caviar-logs/STUDY/.\n"
    "The study is named after the file unless it says otherwise. Without FILE, --objective\n"
    "names what a trial runs.\n"
    "\n"
    "  --objective SPEC     what a trial runs, with settings after a colon:\n"
    "                       mlp: a network trained by caviar on data=SOURCE (default\n"
    "                       fashion-mnist), epochs=N (10), metric=accuracy|loss|rmse,\n"
    "                       max_layers=N (3); searches lr, units per layer, batch size,\n"
    "                       layers and decay, e.g. mlp:data=fashion-mnist,epochs=15\n"
    "                       branin, hartmann6, quadratic: benchmark functions with\n"
    "                       epochs=N (report a learning curve), sleep=S (seconds per\n"
    "                       epoch), fail=P (share of trials that fail);\n"
    "                       e.g. quadratic:epochs=10,sleep=0.01 (default: quadratic)\n"
    "  --sampler NAME[:KV]  random (default), sobol, coarse-to-fine, tpe;\n"
    "                       e.g. tpe:n_startup=10,multivariate=true (grid needs a list of\n"
    "                       values per parameter: it comes with sweep files)\n"
    "  --pruner NAME[:KV]   none (default), median, percentile, successive-halving,\n"
    "                       hyperband, threshold, patience\n"
    "  --direction DIR      minimize or maximize (default: the objective's)\n"
    "  --trials N           the study's budget of trials, across every worker (default 100)\n"
    "  --time SECONDS       start no trial after this much time in this run (default: none)\n"
    "  --jobs N             worker processes (default: the number of cores)\n"
    "  --storage URL        caviar.db (default), sqlite:PATH, or postgresql://USER@HOST/DB\n"
    "                       (PG* environment variables fill in what the URL leaves out)\n"
    "  --study NAME         the study's name (default: the objective's name)\n"
    "  --seed N             the study's seed (default 0)\n"
    "  --retries N          re-runs of a trial whose worker was lost (default 2)\n"
    "  --heartbeat S        seconds between heartbeats of running trials (default 2)\n"
    "  --grace S            a running trial silent this long is lost (default 20)\n"
    "  --json               the summary as one JSON object on stdout\n"
    "  --quiet              no line per lost worker or failed trial\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time, 2 bad options, 130 interrupted.\n";

static const char worker_help[] =
    "usage: caviar worker --storage URL --study NAME [options]\n"
    "\n"
    "One more worker for a study that 'caviar tune' created: asks for trials, runs the\n"
    "study's objective and records them, until the study's budget is spent. Start as many\n"
    "as you like, on any machine that reaches the database (by hand, Slurm, Kubernetes,\n"
    "mpirun); caviar needs no server of its own.\n"
    "\n"
    "  --storage URL        the study database (default caviar.db)\n"
    "  --study NAME         the study (required)\n"
    "  --jobs N             worker processes on this machine (default 1)\n"
    "  --time SECONDS       start no trial after this much time (default: none)\n"
    "  --json               the summary as one JSON object on stdout\n"
    "  --quiet              no line per lost worker or failed trial\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time, 2 bad options, 130 interrupted.\n";

/* What a study runs, as its spec keeps it: one "key=value" per line, then, for a study of a
 * sweep file, a line "sweep<<" followed by the file's text as it was. */
typedef struct tune_spec {
    char objective[512];   /* an objective's spec, or "sweep" */
    uint64_t trials;
    unsigned retries;
    double heartbeat, grace;
    const char *sweep;     /* the sweep file's text (borrowed), or NULL */
    size_t sweep_len;
} tune_spec;

/* A malloc'd spec text, NULL when out of memory. */
static char *spec_write(const tune_spec *sp)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "objective=%s\ntrials=%llu\nretries=%u\nheartbeat=%.17g\ngrace=%.17g\n%s",
                     sp->objective, (unsigned long long)sp->trials, sp->retries, sp->heartbeat,
                     sp->grace, sp->sweep ? "sweep<<\n" : "");
    size_t len = (size_t)n + (sp->sweep ? sp->sweep_len : 0);
    char *text = malloc(len + 1);
    if (!text)
        return NULL;
    memcpy(text, head, (size_t)n);
    if (sp->sweep)
        memcpy(text + n, sp->sweep, sp->sweep_len);
    text[len] = '\0';
    return text;
}

/* Reads a spec written by spec_write; unknown lines are ignored (a newer caviar may add some).
 * sp->sweep points into text. */
static int spec_read(const char *text, tune_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->heartbeat = 2;
    sp->grace = 20;
    int have_objective = 0;
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t n = end ? (size_t)(end - text) : strlen(text);
        if (n == 7 && strncmp(text, "sweep<<", 7) == 0) {
            sp->sweep = end ? end + 1 : text + n;
            sp->sweep_len = strlen(sp->sweep);
            break;
        }
        char line[600];
        if (n < sizeof line) {
            memcpy(line, text, n);
            line[n] = '\0';
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = '\0';
                const char *v = eq + 1;
                if (strcmp(line, "objective") == 0) {
                    snprintf(sp->objective, sizeof sp->objective, "%s", v);
                    have_objective = 1;
                } else if (strcmp(line, "trials") == 0) {
                    sp->trials = strtoull(v, NULL, 10);
                } else if (strcmp(line, "retries") == 0) {
                    sp->retries = (unsigned)strtoul(v, NULL, 10);
                } else if (strcmp(line, "heartbeat") == 0) {
                    sp->heartbeat = strtod(v, NULL);
                } else if (strcmp(line, "grace") == 0) {
                    sp->grace = strtod(v, NULL);
                }
            }
        }
        text = end ? end + 1 : text + n;
    }
    return have_objective ? 0 : -1;
}

/* Where a program's trial logs go: caviar-logs/STUDY beside the working directory. */
static void log_dir_of(const char *study, char *buf, size_t len)
{
    snprintf(buf, len, "caviar-logs/%s", study);
    for (char *p = buf + strlen("caviar-logs/"); *p; p++)
        if (*p == '/')
            *p = '_';
}


__attribute__((format(printf, 2, 3))) static int usage_error(const char *cmd, const char *fmt,
                                                              ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caviar %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nhint: 'caviar %s --help' lists the options\n", cmd);
    return CLI_USAGE;
}

/* "name:settings" -> name into buf, settings pointer (or NULL). */
static const char *split_kv(const char *arg, char *name, size_t len)
{
    const char *colon = strchr(arg, ':');
    size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
    if (n >= len)
        n = len - 1;
    memcpy(name, arg, n);
    name[n] = '\0';
    return colon ? colon + 1 : NULL;
}

/* A parameter's value as JSON: the choice itself for a categorical (a number, a string or a
 * boolean), else the number. */
static void json_value(const caviar_dist *d, double internal)
{
    if (d->kind != CAVIAR_DIST_CATEGORICAL) {
        printf("%.17g", internal);
        return;
    }
    const caviar_value *c = &d->choices[(size_t)internal];
    if (c->type == CAVIAR_VALUE_STRING) {
        util_json_escape(stdout, c->string); /* quoted */
    } else if (c->type == CAVIAR_VALUE_BOOL) {
        printf("%s", c->number != 0 ? "true" : "false");
    } else {
        printf("%.17g", c->number);
    }
}

static void print_summary(const caviar_study_opts *o, const caviar_work_stats *ws, int json,
                          double seconds)
{
    caviar_study_opts ro = *o;
    ro.heartbeat = 0;
    ro.grace = 0;
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&ro, &err);
    if (!s) {
        fprintf(stderr, "caviar: cannot read the study back: %s\n", err.msg);
        return;
    }
    caviar_study_summary sum;
    caviar_study_summarize(s, &sum);
    caviar_trial_view best;
    int have_best = caviar_study_best(s, &best, NULL) == CAVIAR_OK;
    char shown[512];
    store_redact(o->storage, shown, sizeof shown);
    if (json) {
        printf("{\"study\": \"%s\", \"storage\": \"%s\", \"trials\": %zu, \"complete\": %zu, "
               "\"pruned\": %zu, \"fail\": %zu, \"requeued\": %zu, \"running\": %zu, "
               "\"waiting\": %zu, "
               "\"run_here\": %zu, \"workers_lost\": %zu, \"interrupted\": %zu, "
               "\"seconds\": %.3f",
               o->name, shown, sum.n_trials, sum.n_complete, sum.n_pruned, sum.n_fail,
               sum.n_requeued, sum.n_running, sum.n_waiting, ws->n_run, ws->n_lost,
               ws->n_interrupted, seconds);
        if (have_best) {
            printf(", \"best\": {\"trial\": %llu, \"value\": %.17g, \"params\": {",
                   (unsigned long long)best.number, best.value);
            for (size_t i = 0; i < best.n_params; i++) {
                printf("%s", i ? ", " : "");
                util_json_escape(stdout, best.param_names[i]);
                printf(": ");
                json_value(best.param_dists[i], best.param_values[i]);
            }
            printf("}");
            for (size_t i = 0; i < best.n_attrs; i++)
                if (strncmp(best.attrs[i].key, "test_", 5) == 0)
                    printf(", \"%s\": %s", best.attrs[i].key, best.attrs[i].value);
            printf("}");
        }
        printf("}\n");
    } else {
        printf("study '%s' in %s: %zu trials (%zu complete, %zu pruned, %zu failed", o->name,
               shown, sum.n_trials, sum.n_complete, sum.n_pruned, sum.n_fail);
        if (sum.n_requeued)
            printf(" of which %zu were re-run", sum.n_requeued);
        if (sum.n_running || sum.n_waiting)
            printf(", %zu running, %zu waiting", sum.n_running, sum.n_waiting);
        printf(")\nthis run: %zu trials in %.1f s", ws->n_run, seconds);
        if (ws->n_lost)
            printf(", %zu workers lost and replaced", ws->n_lost);
        if (ws->n_interrupted)
            printf(", %zu trials interrupted and re-queued", ws->n_interrupted);
        printf("\n");
        if (have_best) {
            printf("best: trial %llu, value %.6g", (unsigned long long)best.number, best.value);
            for (size_t i = 0; i < best.n_attrs; i++)
                if (strncmp(best.attrs[i].key, "test_", 5) == 0)
                    printf(", %s %.6g (on the test set, after the choice)",
                           best.attrs[i].key + 5, strtod(best.attrs[i].value, NULL));
            printf("\n");
            for (size_t i = 0; i < best.n_params; i++) {
                char buf[64];
                printf("  %-16s %s\n", best.param_names[i],
                       space_format(best.param_dists[i], best.param_values[i], buf,
                                    sizeof buf));
            }
        }
    }
    caviar_study_free(s);
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs the study with an opened objective (closed here); the exit status. */
static int run_study(const char *cmd, caviar_study_opts *o, cli_objective *obj,
                     const caviar_work_opts *w, int single, int json)
{
    caviar_error err = {0};
    caviar_work_stats ws;
    caviar_work_opts wo = *w;
    cli_progress *progress = NULL;
    if (!single && (progress = cli_progress_new(o, w->max_seconds, isatty(2), w->quiet))) {
        wo.on_tick = cli_progress_tick;
        wo.tick_user = progress;
    }
    double t0 = mono_seconds();
    caviar_status st = single ? caviar_work(o, &wo, cli_objective_run, obj, &ws, &err)
                              : caviar_run(o, &wo, cli_objective_run, obj, &ws, &err);
    double seconds = mono_seconds() - t0;
    cli_progress_free(progress);
    if (st != CAVIAR_OK && st != CAVIAR_STOPPED) {
        fprintf(stderr, "caviar %s: %s\n", cmd, err.msg);
        cli_objective_close(obj);
        return st == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
    }
    print_summary(o, &ws, json, seconds); /* o may point into the sweep: close it after */
    cli_objective_close(obj);
    if (st == CAVIAR_STOPPED && ws.interrupted) {
        fprintf(stderr, "caviar %s: interrupted; run the same command again to resume\n", cmd);
        return 130;
    }
    return CLI_OK;
}

enum {
    T_OBJECTIVE = 256, T_SAMPLER, T_PRUNER, T_DIRECTION, T_TRIALS, T_TIME, T_JOBS, T_STORAGE,
    T_STUDY, T_SEED, T_RETRIES, T_HEARTBEAT, T_GRACE, T_JSON, T_QUIET, T_HELP
};

static const struct option tune_opts[] = {
    {"objective", required_argument, 0, T_OBJECTIVE},
    {"sampler", required_argument, 0, T_SAMPLER},
    {"pruner", required_argument, 0, T_PRUNER},
    {"direction", required_argument, 0, T_DIRECTION},
    {"trials", required_argument, 0, T_TRIALS},
    {"time", required_argument, 0, T_TIME},
    {"jobs", required_argument, 0, T_JOBS},
    {"storage", required_argument, 0, T_STORAGE},
    {"study", required_argument, 0, T_STUDY},
    {"seed", required_argument, 0, T_SEED},
    {"retries", required_argument, 0, T_RETRIES},
    {"heartbeat", required_argument, 0, T_HEARTBEAT},
    {"grace", required_argument, 0, T_GRACE},
    {"json", no_argument, 0, T_JSON},
    {"quiet", no_argument, 0, T_QUIET},
    {"help", no_argument, 0, T_HELP},
    {0, 0, 0, 0},
};

static int parse_positive(const char *cmd, const char *opt, const char *v, double *out)
{
    if (util_parse_double(v, out) != 0 || !(*out > 0) || !isfinite(*out)) {
        fprintf(stderr, "caviar %s: invalid value '%s' for --%s: expected a positive number "
                        "of seconds\n", cmd, v, opt);
        return -1;
    }
    return 0;
}

/* Whether the sweep a study was created with runs what obj runs (the same program, or the
 * built-in trainer both times): an edited file (a larger budget, a narrower range) resumes the
 * study, another program does not. */
static int same_search(const char *text, size_t len, const cli_objective *obj)
{
    config_sweep old;
    caviar_error e;
    if (config_parse(text, len, "the study's sweep file", &old, &e) != CAVIAR_OK)
        return 0;
    const char *a = old.program, *b = obj->sweep.program;
    int same = old.has_objective == obj->sweep.has_objective &&
               ((!a && !b) || (a && b && strcmp(a, b) == 0));
    config_release(&old);
    return same;
}

/* Reads a whole file (a sweep) into a malloc'd, NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t c = cap ? 2 * cap : 8192;
            char *b = realloc(buf, c);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
            cap = c;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cmd_tune(int argc, char **argv)
{
    tune_spec sp = {.trials = 100, .retries = 2, .heartbeat = 2, .grace = 20};
    snprintf(sp.objective, sizeof sp.objective, "quadratic");
    char sampler[64] = "random", pruner[64] = "none";
    const char *sampler_kv = NULL, *pruner_kv = NULL, *storage = NULL, *study = NULL;
    const char *direction = NULL;
    uint64_t seed = 0;
    caviar_work_opts w;
    caviar_work_opts_init(&w);
    int json = 0, c;
    int given_objective = 0, given_sampler = 0, given_pruner = 0, given_trials = 0;
    int given_seed = 0, given_retries = 0;
    size_t n;
    double d;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", tune_opts, NULL)) != -1) {
        switch (c) {
        case T_OBJECTIVE:
            snprintf(sp.objective, sizeof sp.objective, "%s", optarg);
            given_objective = 1;
            break;
        case T_SAMPLER:
            sampler_kv = split_kv(optarg, sampler, sizeof sampler);
            given_sampler = 1;
            break;
        case T_PRUNER:
            pruner_kv = split_kv(optarg, pruner, sizeof pruner);
            given_pruner = 1;
            break;
        case T_DIRECTION:
            if (strcmp(optarg, "minimize") != 0 && strcmp(optarg, "maximize") != 0)
                return usage_error("tune", "invalid value '%s' for --direction: expected "
                                   "minimize or maximize", optarg);
            direction = optarg;
            break;
        case T_TRIALS:
            if (util_parse_u64(optarg, &sp.trials) != 0 || sp.trials == 0)
                return usage_error("tune", "invalid value '%s' for --trials: expected a "
                                   "positive integer", optarg);
            given_trials = 1;
            break;
        case T_TIME:
            if (parse_positive("tune", "time", optarg, &w.max_seconds))
                return CLI_USAGE;
            break;
        case T_JOBS:
            if (util_parse_size(optarg, &n) != 0 || n == 0 || n > 1024)
                return usage_error("tune", "invalid value '%s' for --jobs: expected 1 to 1024",
                                   optarg);
            w.jobs = (unsigned)n;
            break;
        case T_STORAGE: storage = optarg; break;
        case T_STUDY: study = optarg; break;
        case T_SEED:
            if (util_parse_u64(optarg, &seed) != 0)
                return usage_error("tune", "invalid value '%s' for --seed: expected an "
                                   "integer", optarg);
            given_seed = 1;
            break;
        case T_RETRIES:
            if (util_parse_size(optarg, &n) != 0 || n > 1000)
                return usage_error("tune", "invalid value '%s' for --retries: expected 0 to "
                                   "1000", optarg);
            sp.retries = (unsigned)n;
            given_retries = 1;
            break;
        case T_HEARTBEAT:
            if (parse_positive("tune", "heartbeat", optarg, &d))
                return CLI_USAGE;
            sp.heartbeat = d;
            break;
        case T_GRACE:
            if (parse_positive("tune", "grace", optarg, &d))
                return CLI_USAGE;
            sp.grace = d;
            break;
        case T_JSON: json = 1; break;
        case T_QUIET: w.quiet = 1; break;
        case T_HELP: fputs(tune_help, stdout); return CLI_OK;
        case ':': return usage_error("tune", "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("tune", "unknown option '%s'", argv[optind - 1]);
        }
    }
    const char *file = optind < argc ? argv[optind++] : NULL;
    if (optind < argc)
        return usage_error("tune", "unexpected argument '%s'", argv[optind]);
    if (file && given_objective)
        return usage_error("tune", "--objective and a sweep file exclude each other: the file "
                           "says what a trial runs");
    if (!(sp.grace > sp.heartbeat))
        return usage_error("tune", "--grace must be longer than --heartbeat");
    if (!file && strcmp(sampler, "grid") == 0)
        return usage_error("tune", "the grid sampler needs the values of each parameter, which "
                           "the built-in objectives do not list\nhint: random, sobol, "
                           "coarse-to-fine or tpe; or a sweep file that lists them");

    /* What a trial runs, and the sweep file's settings under the command line's. */
    caviar_error err = {0};
    cli_objective obj;
    char *sweep_text = NULL, sweep_sampler[64] = "", sweep_pruner[64] = "";
    char study_name[256], logs[512];
    if (file) {
        config_sweep sw;
        if (!(sweep_text = read_file(file, &sp.sweep_len))) {
            fprintf(stderr, "caviar tune: cannot read '%s': %s\n", file, strerror(errno));
            return CLI_USAGE;
        }
        sp.sweep = sweep_text;
        if (config_parse(sweep_text, sp.sweep_len, file, &sw, &err) != CAVIAR_OK) {
            fprintf(stderr, "caviar tune: %s\n", err.msg);
            free(sweep_text);
            return err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
        }
        snprintf(sp.objective, sizeof sp.objective, "sweep");
        if (!given_sampler && sw.sampler) {
            snprintf(sweep_sampler, sizeof sweep_sampler, "%s", sw.sampler);
            snprintf(sampler, sizeof sampler, "%s", sweep_sampler);
            sampler_kv = NULL;
        }
        if (!given_pruner && sw.pruner) {
            snprintf(sweep_pruner, sizeof sweep_pruner, "%s", sw.pruner);
            snprintf(pruner, sizeof pruner, "%s", sweep_pruner);
            pruner_kv = NULL;
        }
        if (!given_trials && sw.max_trials)
            sp.trials = sw.max_trials;
        if (!(w.max_seconds > 0) && sw.max_seconds > 0)
            w.max_seconds = sw.max_seconds;
        if (!w.jobs && sw.jobs)
            w.jobs = sw.jobs;
        if (!given_seed && sw.has_seed)
            seed = sw.seed;
        if (!given_retries && sw.has_retries)
            sp.retries = sw.retries;
        /* The study: --study, the file's study: or W&B's name:, else the file's name without
         * its folder and extension ("sweeps/fashion.yaml" -> "fashion"). */
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        size_t stem = strcspn(base, ".");
        snprintf(study_name, sizeof study_name, "%.*s", (int)(stem ? stem : strlen(base)), base);
        if (study || sw.study || sw.name)
            snprintf(study_name, sizeof study_name, "%s",
                     study ? study : sw.study ? sw.study : sw.name);
        if (!storage && sw.storage) {
            static char kept[1024]; /* outlives sw, which obj takes over */
            snprintf(kept, sizeof kept, "%s", sw.storage);
            storage = kept;
        }
        log_dir_of(study_name, logs, sizeof logs);
        if (cli_objective_from_sweep(&obj, &sw, study_name, logs, &err) != CAVIAR_OK) {
            fprintf(stderr, "caviar tune: %s\n", err.msg);
            config_release(&sw);
            free(sweep_text);
            return err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
        }
        if (!given_sampler && obj.sweep.sampler_settings)
            sampler_kv = obj.sweep.sampler_settings;
        if (!given_pruner && obj.sweep.pruner_settings)
            pruner_kv = obj.sweep.pruner_settings;
    } else if (cli_objective_from_spec(&obj, sp.objective, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar tune: --objective: %s\n", err.msg);
        return err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
    } else {
        snprintf(study_name, sizeof study_name, "%s", study ? study : obj.builtin.type->name);
    }
    if (!storage)
        storage = "caviar.db";
    caviar_direction dir = cli_objective_direction(&obj);
    if (direction)
        dir = strcmp(direction, "maximize") == 0 ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;

    int code = CLI_OK;
    char *spec = spec_write(&sp);
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = study_name;
    o.direction = dir;
    o.seed = seed;
    o.sampler = sampler;
    o.sampler_settings = sampler_kv;
    o.pruner = pruner;
    o.pruner_settings = pruner_kv;
    o.storage = storage;
    o.max_trials = sp.trials;
    o.heartbeat = sp.heartbeat;
    o.grace = sp.grace;
    o.max_retries = sp.retries;
    o.spec = spec;
    if (!spec) {
        fprintf(stderr, "caviar tune: out of memory\n");
        code = CLI_FAILURE;
        goto done;
    }
    /* Create the study, or check it, with the sampler and pruner checked first (nothing is
     * stored for a bad name); then a resumed study takes this run's definition, so that
     * workers joining it run towards this budget with this sampler. Its objective stays. */
    caviar_study *probe_study = caviar_study_new(&o, &err);
    if (!probe_study) {
        fprintf(stderr, "caviar tune: %s\n", err.msg);
        code = err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
        goto done;
    }
    /* The sweep's parameters are declared, in the file's order: a grid enumerates them, and
     * a trial can be enqueued by name before any trial has asked for them. */
    for (size_t i = 0; obj.has_sweep && i < obj.sweep.n_params; i++)
        if (caviar_study_add_param(probe_study, obj.sweep.params[i].name,
                                   &obj.sweep.params[i].dist, &err) != CAVIAR_OK) {
            fprintf(stderr, "caviar tune: %s\n", err.msg);
            caviar_study_free(probe_study);
            code = CLI_USAGE;
            goto done;
        }
    caviar_study_free(probe_study);
    const store_type *type = store_find(storage);
    store *st = NULL;
    if (type->open(storage, &st, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar tune: %s\n", err.msg);
        code = CLI_FAILURE;
        goto done;
    }
    store_study known;
    store_study_info info = {o.name,    o.direction,        o.seed,   o.sampler,
                             o.sampler_settings, o.pruner, o.pruner_settings, o.spec};
    int64_t id;
    if (type->load_study(st, o.name, &known, &err) == CAVIAR_OK) {
        tune_spec old;
        if (known.spec && spec_read(known.spec, &old) == 0 &&
            (strcmp(old.objective, sp.objective) != 0 ||
             (old.sweep && sp.sweep && (old.sweep_len != sp.sweep_len ||
                                        memcmp(old.sweep, sp.sweep, sp.sweep_len) != 0) &&
              !same_search(old.sweep, old.sweep_len, &obj)))) {
            fprintf(stderr, "caviar tune: study '%s' runs %s%s%s, not %s%s%s\n"
                            "hint: another --study name starts a new study\n",
                    o.name, old.sweep ? "another sweep file" : "the objective '",
                    old.sweep ? "" : old.objective, old.sweep ? "" : "'",
                    sp.sweep ? "this sweep file" : "'", sp.sweep ? "" : sp.objective,
                    sp.sweep ? "" : "'");
            code = CLI_USAGE;
        }
        store_study_release(&known);
    }
    if (code == CLI_OK && (type->open_study(st, &info, &id, &err) != CAVIAR_OK ||
                           type->define_study(st, id, &info, &err) != CAVIAR_OK)) {
        fprintf(stderr, "caviar tune: %s\n", err.msg);
        code = CLI_FAILURE;
    }
    type->close(st);
    if (code == CLI_OK) {
        code = run_study("tune", &o, &obj, &w, 0, json);
        free(spec);
        free(sweep_text);
        return code;
    }
done:
    cli_objective_close(&obj);
    free(spec);
    free(sweep_text);
    return code;
}

int cmd_worker(int argc, char **argv)
{
    static const struct option opts[] = {
        {"storage", required_argument, 0, T_STORAGE}, {"study", required_argument, 0, T_STUDY},
        {"jobs", required_argument, 0, T_JOBS},       {"time", required_argument, 0, T_TIME},
        {"json", no_argument, 0, T_JSON},             {"quiet", no_argument, 0, T_QUIET},
        {"help", no_argument, 0, T_HELP},             {0, 0, 0, 0},
    };
    const char *storage = "caviar.db", *study = NULL;
    caviar_work_opts w;
    caviar_work_opts_init(&w);
    w.jobs = 1;
    int json = 0, c;
    size_t n;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case T_STORAGE: storage = optarg; break;
        case T_STUDY: study = optarg; break;
        case T_JOBS:
            if (util_parse_size(optarg, &n) != 0 || n == 0 || n > 1024)
                return usage_error("worker", "invalid value '%s' for --jobs: expected 1 to "
                                   "1024", optarg);
            w.jobs = (unsigned)n;
            break;
        case T_TIME:
            if (parse_positive("worker", "time", optarg, &w.max_seconds))
                return CLI_USAGE;
            break;
        case T_JSON: json = 1; break;
        case T_QUIET: w.quiet = 1; break;
        case T_HELP: fputs(worker_help, stdout); return CLI_OK;
        case ':': return usage_error("worker", "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("worker", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("worker", "unexpected argument '%s'", argv[optind]);
    if (!study)
        return usage_error("worker", "%s", "--study NAME is required");
    caviar_error err = {0};
    char shown[512];
    store_redact(storage, shown, sizeof shown);
    const store_type *type = store_find(storage);
    if (!type || strcmp(type->name, "memory") == 0) {
        fprintf(stderr, "caviar worker: '%s' is not a study database\nhint: caviar.db, "
                        "sqlite:PATH or postgresql://USER@HOST/DB\n", shown);
        return CLI_USAGE;
    }
    store *st = NULL;
    if (type->open(storage, &st, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar worker: %s\n", err.msg);
        return CLI_FAILURE;
    }
    store_study known;
    caviar_status rc = type->load_study(st, study, &known, &err);
    type->close(st);
    if (rc != CAVIAR_OK) {
        fprintf(stderr, "caviar worker: %s\nhint: 'caviar tune --study %s ...' creates it\n",
                err.msg, study);
        return rc == CAVIAR_EMISSING ? CLI_USAGE : CLI_FAILURE;
    }
    tune_spec sp;
    if (spec_read(known.spec, &sp) != 0) {
        fprintf(stderr, "caviar worker: study '%s' was not created by 'caviar tune': it names "
                        "no objective to run\n", study);
        store_study_release(&known);
        return CLI_USAGE;
    }
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = study;
    o.direction = known.direction;
    o.seed = known.seed;
    o.sampler = known.sampler ? known.sampler : "random";
    o.sampler_settings = known.sampler_settings;
    o.pruner = known.pruner ? known.pruner : "none";
    o.pruner_settings = known.pruner_settings;
    o.storage = storage;
    o.max_trials = sp.trials;
    o.heartbeat = sp.heartbeat;
    o.grace = sp.grace;
    o.max_retries = sp.retries;
    o.spec = known.spec;
    cli_objective obj;
    caviar_status rs;
    if (sp.sweep) {
        /* The sweep file as the study keeps it: this machine needs no copy of it. */
        config_sweep sw;
        char logs[512];
        log_dir_of(study, logs, sizeof logs);
        rs = config_parse(sp.sweep, sp.sweep_len, "the study's sweep file", &sw, &err);
        if (rs == CAVIAR_OK)
            rs = cli_objective_from_sweep(&obj, &sw, study, logs, &err);
    } else {
        rs = cli_objective_from_spec(&obj, sp.objective, &err);
    }
    if (rs != CAVIAR_OK) {
        fprintf(stderr, "caviar worker: the study's objective: %s\n", err.msg);
        store_study_release(&known);
        return CLI_FAILURE;
    }
    int code = run_study("worker", &o, &obj, &w, w.jobs == 1, json);
    store_study_release(&known);
    return code;
}

/* ---- caviar retest ---------------------------------------------------------------------------- */

static const char retest_help[] =
    "usage: caviar retest [--storage URL] [--study NAME] [--top K] [--seeds S] [options]\n"
    "\n"
    "Runs the study's best K configurations again, S times each with fresh seeds (and, with\n"
    "--data, on other data), as a new study NAME-retest (NAME-retest-2, ... for later ones)\n"
    "that records which study it re-tests. Then it shows, for each configuration, its old\n"
    "value, the new values' mean and spread, and whether the ranking still holds: good\n"
    "settings go stale when the data, the code or the hardware change.\n"
    "\n"
    "  --storage URL   the database (default caviar.db)\n"
    "  --study NAME    the study to re-test (default: the only one)\n"
    "  --top K         configurations, best first (default 3)\n"
    "  --seeds S       runs of each (default 3)\n"
    "  --data SOURCE   the built-in trainer's data for the re-test (fashion-mnist, a CSV, ...)\n"
    "  --jobs N        worker processes (default: the number of cores)\n"
    "  --json          two JSON lines on stdout: the re-test study's summary, then the\n"
    "                  comparison\n"
    "  --help          this text\n";

typedef struct retest_config {
    uint64_t old_trial;
    double old_value;
    size_t n_params;
    char **names;
    double *values;      /* internal */
    double sum, sum2, lo, hi;
    size_t n;            /* re-test runs that completed */
    size_t n_failed;
} retest_config;

static void retest_configs_free(retest_config *c, size_t k)
{
    for (size_t i = 0; c && i < k; i++) {
        for (size_t j = 0; j < c[i].n_params; j++)
            free(c[i].names[j]);
        free(c[i].names);
        free(c[i].values);
    }
    free(c);
}

/* Whether the trial view has exactly the configuration's parameters and values. */
static int same_config(const caviar_trial_view *v, const retest_config *c)
{
    if (v->n_params != c->n_params)
        return 0;
    for (size_t i = 0; i < c->n_params; i++) {
        size_t j = 0;
        while (j < v->n_params && strcmp(v->param_names[j], c->names[i]) != 0)
            j++;
        if (j == v->n_params || v->param_values[j] != c->values[i])
            return 0;
    }
    return 1;
}

static int by_old_value(const void *a, const void *b, int maximize)
{
    const retest_config *x = a, *y = b;
    if (x->old_value == y->old_value)
        return 0;
    return (x->old_value < y->old_value) == !maximize ? -1 : 1;
}

int cmd_retest(int argc, char **argv)
{
    enum { R_TOP = 512, R_SEEDS, R_DATA };
    static const struct option opts[] = {
        {"storage", required_argument, 0, T_STORAGE}, {"study", required_argument, 0, T_STUDY},
        {"top", required_argument, 0, R_TOP},         {"seeds", required_argument, 0, R_SEEDS},
        {"data", required_argument, 0, R_DATA},       {"jobs", required_argument, 0, T_JOBS},
        {"json", no_argument, 0, T_JSON},             {"quiet", no_argument, 0, T_QUIET},
        {"help", no_argument, 0, T_HELP},             {0, 0, 0, 0},
    };
    const char *storage = "caviar.db", *study = NULL, *data = NULL;
    size_t top = 3, seeds = 3, n;
    caviar_work_opts w;
    caviar_work_opts_init(&w);
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case T_STORAGE: storage = optarg; break;
        case T_STUDY: study = optarg; break;
        case R_TOP:
        case R_SEEDS:
            if (util_parse_size(optarg, &n) != 0 || n == 0 || n > 10000)
                return usage_error("retest", "invalid value '%s' for --%s: expected 1 to 10000",
                                   optarg, c == R_TOP ? "top" : "seeds");
            *(c == R_TOP ? &top : &seeds) = n;
            break;
        case R_DATA: data = optarg; break;
        case T_JOBS:
            if (util_parse_size(optarg, &n) != 0 || n == 0 || n > 1024)
                return usage_error("retest", "invalid value '%s' for --jobs: expected 1 to "
                                   "1024", optarg);
            w.jobs = (unsigned)n;
            break;
        case T_JSON: json = 1; break;
        case T_QUIET: w.quiet = 1; break;
        case T_HELP: fputs(retest_help, stdout); return CLI_OK;
        case ':': return usage_error("retest", "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("retest", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("retest", "unexpected argument '%s'", argv[optind]);
    caviar_error err = {0};
    char shown[512];
    store_redact(storage, shown, sizeof shown);
    const store_type *type = store_find(storage);
    if (!type || strcmp(type->name, "memory") == 0) {
        fprintf(stderr, "caviar retest: '%s' is not a study database\nhint: caviar.db, "
                        "sqlite:PATH or postgresql://USER@HOST/DB\n", shown);
        return CLI_USAGE;
    }
    store *st = NULL;
    if (type->open(storage, &st, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar retest: %s\n", err.msg);
        return CLI_FAILURE;
    }
    /* The study to re-test (the only one when not named), and a free name for the re-test. */
    store_study_list list;
    caviar_status rs = type->list_studies(st, &list, &err);
    if (rs == CAVIAR_OK && !study) {
        if (list.n != 1) {
            fprintf(stderr, "caviar retest: %s holds %zu studies\nhint: --study NAME chooses "
                            "one\n", shown, list.n);
            store_study_list_release(&list);
            type->close(st);
            return CLI_USAGE;
        }
        study = list.studies[0].name;
    }
    store_study known;
    if (rs == CAVIAR_OK)
        rs = type->load_study(st, study, &known, &err);
    char name[600];
    for (unsigned k = 1; rs == CAVIAR_OK; k++) {
        snprintf(name, sizeof name, k == 1 ? "%s-retest" : "%s-retest-%u", study, k);
        int taken = 0;
        for (size_t i = 0; i < list.n; i++)
            taken |= strcmp(list.studies[i].name, name) == 0;
        if (!taken)
            break;
    }
    type->close(st);
    if (rs != CAVIAR_OK) {
        fprintf(stderr, "caviar retest: %s\n", err.msg);
        store_study_list_release(&list);
        return rs == CAVIAR_EMISSING ? CLI_USAGE : CLI_FAILURE;
    }
    tune_spec sp;
    if (spec_read(known.spec, &sp) != 0) {
        fprintf(stderr, "caviar retest: study '%s' was not created by 'caviar tune': it names "
                        "no objective to run again\n", study);
        store_study_release(&known);
        store_study_list_release(&list);
        return CLI_USAGE;
    }

    /* The best K configurations, from the study's COMPLETE trials, without repeats. */
    caviar_study_opts oo;
    caviar_study_opts_init(&oo);
    oo.name = study;
    oo.direction = known.direction;
    oo.seed = known.seed;
    oo.storage = storage;
    caviar_study *old = caviar_study_new(&oo, &err);
    retest_config *cfg = NULL;
    size_t k = 0;
    int maximize = known.direction == CAVIAR_MAXIMIZE;
    if (old) {
        size_t total = caviar_study_n_trials(old);
        cfg = calloc(total ? total : 1, sizeof *cfg);
        for (size_t i = 0; cfg && i < total; i++) {
            caviar_trial_view v;
            if (caviar_study_trial(old, i, &v) != CAVIAR_OK || v.state != CAVIAR_TRIAL_COMPLETE)
                continue;
            retest_config *r = &cfg[k];
            r->old_trial = v.number;
            r->old_value = v.value;
            r->n_params = v.n_params;
            r->names = calloc(v.n_params ? v.n_params : 1, sizeof *r->names);
            r->values = calloc(v.n_params ? v.n_params : 1, sizeof *r->values);
            for (size_t j = 0; r->names && r->values && j < v.n_params; j++) {
                r->names[j] = strdup(v.param_names[j]);
                r->values[j] = v.param_values[j];
            }
            int dup = 0;
            for (size_t j = 0; j < k && !dup; j++)
                dup = same_config(&v, &cfg[j]);
            if (dup) { /* keep the first (better after sorting: compare) */
                for (size_t j = 0; j < r->n_params; j++)
                    free(r->names[j]);
                free(r->names);
                free(r->values);
                memset(r, 0, sizeof *r);
                continue;
            }
            k++;
        }
        /* best first (stable by trial number) */
        for (size_t i = 1; i < k; i++)
            for (size_t j = i; j > 0 && by_old_value(&cfg[j - 1], &cfg[j], maximize) > 0; j--) {
                retest_config t = cfg[j - 1];
                cfg[j - 1] = cfg[j];
                cfg[j] = t;
            }
    }
    if (!old || !cfg || k == 0) {
        fprintf(stderr, "caviar retest: %s\n",
                !old ? err.msg : "the study has no complete trial to re-test");
        caviar_study_free(old);
        retest_configs_free(cfg, k);
        store_study_release(&known);
        store_study_list_release(&list);
        return !old ? CLI_FAILURE : CLI_USAGE;
    }
    size_t n_cfg = top < k ? top : k;

    /* The objective, as the study keeps it; --data replaces the built-in trainer's data. */
    cli_objective obj;
    char logs[700], objective_text[1200];
    log_dir_of(name, logs, sizeof logs);
    config_sweep sw;
    int have_sweep = 0;
    if (sp.sweep) {
        rs = config_parse(sp.sweep, sp.sweep_len, "the study's sweep file", &sw, &err);
        have_sweep = rs == CAVIAR_OK;
        if (rs == CAVIAR_OK && data) {
            if (!sw.has_objective) {
                rs = util_err(&err, CAVIAR_EINVAL, "--data is for the built-in trainer; study "
                              "'%s' runs a program (give it its data through its arguments)",
                              study);
            } else {
                int replaced = 0;
                for (size_t i = 0; i < sw.n_objective && rs == CAVIAR_OK; i++)
                    if (strcmp(sw.objective[i].key, "data") == 0) {
                        char *d = strdup(data);
                        if (!d)
                            rs = util_err(&err, CAVIAR_ENOMEM, "out of memory");
                        else {
                            free(sw.objective[i].value);
                            sw.objective[i].value = d;
                            replaced = 1;
                        }
                    }
                if (rs == CAVIAR_OK && !replaced) {
                    config_entry *more =
                        realloc(sw.objective, (sw.n_objective + 1) * sizeof *more);
                    if (more) {
                        sw.objective = more;
                        memset(&more[sw.n_objective], 0, sizeof *more);
                        more[sw.n_objective].key = strdup("data");
                        more[sw.n_objective].value = strdup(data);
                        sw.n_objective++;
                    }
                    if (!more || !more[sw.n_objective - 1].key ||
                        !more[sw.n_objective - 1].value)
                        rs = util_err(&err, CAVIAR_ENOMEM, "out of memory");
                }
            }
        }
        if (rs == CAVIAR_OK)
            rs = cli_objective_from_sweep(&obj, &sw, name, logs, &err);
    } else {
        if (data && strncmp(sp.objective, "mlp", 3) != 0)
            rs = util_err(&err, CAVIAR_EINVAL, "--data is for the built-in trainer; study '%s' "
                          "runs '%s'", study, sp.objective);
        else if (data)
            snprintf(objective_text, sizeof objective_text, "%s%sdata=%s", sp.objective,
                     strchr(sp.objective, ':') ? "," : ":", data);
        else
            snprintf(objective_text, sizeof objective_text, "%s", sp.objective);
        if (rs == CAVIAR_OK)
            rs = cli_objective_from_spec(&obj, objective_text, &err);
    }
    if (rs != CAVIAR_OK) {
        fprintf(stderr, "caviar retest: %s\n", err.msg);
        if (have_sweep)
            config_release(&sw);
        caviar_study_free(old);
        retest_configs_free(cfg, k);
        store_study_release(&known);
        store_study_list_release(&list);
        return rs == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
    }

    /* The re-test study: the same spec, marked as a re-test; no pruning (every run goes to the
     * end), another seed (fresh weights), the configurations queued S times each. */
    size_t spec_len = strlen(known.spec ? known.spec : "") + strlen(study) + 64;
    char *spec = malloc(spec_len);
    if (spec)
        snprintf(spec, spec_len, "retest_of=%s\n%s", study, known.spec ? known.spec : "");
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = name;
    o.direction = known.direction;
    o.seed = known.seed + 1000003u * (uint64_t)(strlen(name) - strlen(study));
    o.sampler = "random";
    o.pruner = "none";
    o.storage = storage;
    o.max_trials = (uint64_t)(n_cfg * seeds);
    o.heartbeat = sp.heartbeat;
    o.grace = sp.grace;
    o.max_retries = sp.retries;
    o.spec = spec;
    caviar_study *ns = spec ? caviar_study_new(&o, &err) : NULL;
    rs = ns ? CAVIAR_OK : spec ? err.status : util_err(&err, CAVIAR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_cfg && rs == CAVIAR_OK; i++) {
        /* the parameters' distributions as the old study has them */
        caviar_trial_view v;
        for (size_t t = 0; t < caviar_study_n_trials(old) && rs == CAVIAR_OK; t++)
            if (caviar_study_trial(old, t, &v) == CAVIAR_OK && v.number == cfg[i].old_trial)
                for (size_t p = 0; p < v.n_params && rs == CAVIAR_OK; p++)
                    rs = caviar_study_add_param(ns, v.param_names[p], v.param_dists[p], &err);
        for (size_t s = 0; s < seeds && rs == CAVIAR_OK; s++)
            rs = caviar_study_enqueue(ns, (const char *const *)cfg[i].names, cfg[i].values,
                                      cfg[i].n_params, &err);
    }
    caviar_study_free(ns);
    caviar_study_free(old);
    free(spec);
    o.spec = NULL;
    if (rs != CAVIAR_OK) {
        fprintf(stderr, "caviar retest: %s\n", err.msg);
        cli_objective_close(&obj);
        if (have_sweep)
            config_release(&sw);
        retest_configs_free(cfg, k);
        store_study_release(&known);
        store_study_list_release(&list);
        return CLI_FAILURE;
    }
    if (!json)
        printf("re-testing the best %zu configuration(s) of study '%s', %zu run(s) each, as "
               "study '%s'%s%s\n", n_cfg, study, seeds, name, data ? " on " : "",
               data ? data : "");
    fflush(stdout);
    int code = run_study("retest", &o, &obj, &w, 0, json); /* its summary: a first JSON line */
    if (have_sweep)
        config_release(&sw);

    /* The comparison. */
    caviar_study_opts ro = o;
    ro.heartbeat = ro.grace = 0;
    caviar_study *rs_study = code == CLI_OK ? caviar_study_new(&ro, &err) : NULL;
    for (size_t i = 0; rs_study && i < caviar_study_n_trials(rs_study); i++) {
        caviar_trial_view v;
        if (caviar_study_trial(rs_study, i, &v) != CAVIAR_OK)
            continue;
        for (size_t j = 0; j < n_cfg; j++) {
            if (!same_config(&v, &cfg[j]))
                continue;
            if (v.state != CAVIAR_TRIAL_COMPLETE) {
                cfg[j].n_failed++;
                break;
            }
            if (cfg[j].n == 0 || v.value < cfg[j].lo)
                cfg[j].lo = v.value;
            if (cfg[j].n == 0 || v.value > cfg[j].hi)
                cfg[j].hi = v.value;
            cfg[j].n++;
            cfg[j].sum += v.value;
            cfg[j].sum2 += v.value * v.value;
            break;
        }
    }
    if (rs_study) {
        /* New ranks by mean; the ranking holds when the order of the means is the old order. */
        size_t discordant = 0, pairs = 0;
        for (size_t a = 0; a < n_cfg; a++)
            for (size_t b = a + 1; b < n_cfg; b++) {
                if (!cfg[a].n || !cfg[b].n)
                    continue;
                double ma = cfg[a].sum / (double)cfg[a].n, mb = cfg[b].sum / (double)cfg[b].n;
                pairs++;
                discordant += maximize ? ma < mb : ma > mb;
            }
        if (json) {
            printf("{\"study\": \"%s\", \"retest\": \"%s\", \"seeds\": %zu, \"configs\": [", study,
                   name, seeds);
            for (size_t i = 0; i < n_cfg; i++) {
                double mean = cfg[i].n ? cfg[i].sum / (double)cfg[i].n : NAN;
                double var = cfg[i].n > 1 ? (cfg[i].sum2 - cfg[i].sum * mean) /
                                                (double)(cfg[i].n - 1) : NAN;
                printf("%s{\"rank\": %zu, \"trial\": %llu, \"old\": %.17g, \"runs\": %zu, "
                       "\"failed\": %zu", i ? ", " : "", i + 1,
                       (unsigned long long)cfg[i].old_trial, cfg[i].old_value, cfg[i].n,
                       cfg[i].n_failed);
                if (cfg[i].n)
                    printf(", \"mean\": %.17g, \"min\": %.17g, \"max\": %.17g", mean, cfg[i].lo,
                           cfg[i].hi);
                if (cfg[i].n > 1)
                    printf(", \"sd\": %.17g", sqrt(var > 0 ? var : 0));
                printf("}");
            }
            printf("], \"pairs\": %zu, \"discordant\": %zu, \"ranking_holds\": %s}\n", pairs,
                   discordant, discordant == 0 ? "true" : "false");
        } else {
            printf("\n%4s %8s %12s %12s %12s %12s %5s\n", "rank", "trial", "old value",
                   "new mean", "new sd", "new range", "runs");
            for (size_t i = 0; i < n_cfg; i++) {
                double mean = cfg[i].n ? cfg[i].sum / (double)cfg[i].n : NAN;
                double var = cfg[i].n > 1 ? (cfg[i].sum2 - cfg[i].sum * mean) /
                                                (double)(cfg[i].n - 1) : NAN;
                char range[48] = "-";
                if (cfg[i].n)
                    snprintf(range, sizeof range, "%.4g..%.4g", cfg[i].lo, cfg[i].hi);
                printf("%4zu %8llu %12.6g %12.6g %12.4g %12s %2zu/%zu\n", i + 1,
                       (unsigned long long)cfg[i].old_trial, cfg[i].old_value, mean,
                       cfg[i].n > 1 ? sqrt(var > 0 ? var : 0) : NAN, range, cfg[i].n, seeds);
            }
            if (pairs == 0)
                printf("ranking: nothing to compare\n");
            else if (discordant == 0)
                printf("ranking holds: the new means keep the old order (%zu pair(s))\n", pairs);
            else
                printf("ranking changed: %zu of %zu pair(s) swapped order; the old winner may "
                       "have been lucky or gone stale\n", discordant, pairs);
        }
        caviar_study_free(rs_study);
    }
    retest_configs_free(cfg, k);
    store_study_release(&known);
    store_study_list_release(&list);
    return code;
}
