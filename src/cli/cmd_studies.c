/*
 * cmd_studies.c — the commands that look at and manage the studies of a database:
 *   caviar studies   one line per study: definition, trials by state, best value
 *   caviar trials    a study's trials as an aligned table or JSON, filtered, sorted, limited
 *   caviar best      the best trial: value, parameters, attributes
 *   caviar export    every trial as CSV (RFC 4180) or JSON, to stdout or atomically to a file
 *   caviar enqueue   a trial with given values, taken first by the next worker (warm start)
 *   caviar delete    a study with everything it holds
 *
 * A study is read through the public API (caviar_study_new on its stored definition, then
 * trial views); the list of studies and their deletion come from the store (store.h), which
 * caviar.h does not expose. Common options: --storage (default caviar.db; a SQLite file that
 * does not exist is an error here, never a new empty database), --study (default: the only
 * study of the database), --json. Exit status 0 ok, 1 failure at run time, 2 usage error (a
 * bad option, a missing database or study, a bad value to enqueue).
 *
 * Parameter values are shown in their external form: the number of a float or an int, the
 * choice of a categorical (its text, true/false, or its number). Tables use six significant
 * digits; JSON and CSV use the shortest text that reads back as the same double.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caviar.h"
#include "cli.h"
#include "report/report.h"
#include "store/store.h"

/* ---- help texts ------------------------------------------------------------------------------ */

#define COMMON_HELP                                                                             \
    "  --storage URL        the study database: caviar.db (default), sqlite:PATH, or\n"        \
    "                       postgresql://USER@HOST/DB\n"                                        \
    "  --study NAME         the study (default: the only study of the database)\n"

static const char studies_help[] =
    "usage: caviar studies [options]\n"
    "\n"
    "Lists the studies of a database, one line each: direction, sampler, pruner, trials by\n"
    "state, and the best value with its trial.\n"
    "\n"
    "  --storage URL        the study database: caviar.db (default), sqlite:PATH, or\n"
    "                       postgresql://USER@HOST/DB\n"
    "  --json               a JSON array, one object per study\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time, 2 bad options or no such database.\n";

static const char trials_help[] =
    "usage: caviar trials [options]\n"
    "\n"
    "Shows the trials of a study as a table: number, state, value, duration, the value of\n"
    "each parameter, and a note (why a trial failed, which trial re-runs it).\n"
    "\n" COMMON_HELP
    "  --state LIST         only trials in these states, comma-separated: waiting,\n"
    "                       running, complete, pruned, fail\n"
    "  --sort KEY           number (default), value (best first in the study's direction,\n"
    "                       trials without a value last) or duration (longest first)\n"
    "  --limit N            at most N trials (after sorting)\n"
    "  --json               a JSON array, one object per trial\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time, 2 bad options, no such database or study.\n";

static const char best_help[] =
    "usage: caviar best [options]\n"
    "\n"
    "Shows the best complete trial of a study: its number, value, parameters and\n"
    "attributes (such as test_accuracy).\n"
    "\n" COMMON_HELP
    "  --json               one JSON object\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time or no complete trial yet, 2 bad options,\n"
    "no such database or study.\n";

static const char importance_help[] =
    "usage: caviar importance [options]\n"
    "\n"
    "Says which hyperparameters mattered: a random forest fitted to the study's complete\n"
    "trials, each parameter on its own scale (log for a learning rate, one-minus-log for a\n"
    "beta), and the share of the variance of the value each parameter explains alone and\n"
    "each pair explains together (fANOVA), ranked, with bars.\n"
    "\n" COMMON_HELP
    "  --trees N            trees in the forest (default 64)\n"
    "  --seed N             the forest's seed (default 0)\n"
    "  --json               one JSON object\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time or fewer than 2 complete trials, 2 bad\n"
    "options, no such database or study.\n";

static const char export_help[] =
    "usage: caviar export [options]\n"
    "\n"
    "Writes every trial of a study, one row (or object) per trial: number, state, value,\n"
    "start and end times (ISO 8601, UTC), duration in seconds, a column per parameter\n"
    "(\"param.NAME\", empty when the trial did not use it), a column per attribute\n"
    "(\"attr.KEY\"), the fail reason, the trial it re-runs, whether it was re-queued. JSON\n"
    "adds the intermediate values (step and value of each report).\n"
    "\n" COMMON_HELP
    "  --format FMT         csv (default; RFC 4180, CRLF line ends) or json\n"
    "  -o, --output FILE    write to FILE (replaced at once when complete) instead of the\n"
    "                       standard output\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time, 2 bad options, no such database or study.\n";

static const char enqueue_help[] =
    "usage: caviar enqueue [options] NAME=VALUE [NAME=VALUE ...]\n"
    "\n"
    "Queues a trial with these parameter values (a warm start: a configuration known to be\n"
    "good); the next worker of the study runs it before sampling new ones, and samples the\n"
    "parameters not given. A value is a number for a float or an int, the text of a choice\n"
    "for a categorical, true or false for a boolean; it must lie in the parameter's range.\n"
    "\n" COMMON_HELP
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure at run time, 2 bad options or values, no such database\n"
    "or study.\n";

static const char delete_help[] =
    "usage: caviar delete --study NAME [options]\n"
    "\n"
    "Deletes a study with all its trials. Asks for confirmation on a terminal; without one,\n"
    "--yes is required. Workers still running the study stop with an error.\n"
    "\n"
    "  --storage URL        the study database: caviar.db (default), sqlite:PATH, or\n"
    "                       postgresql://USER@HOST/DB\n"
    "  --study NAME         the study to delete (required)\n"
    "  --yes                do not ask\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 deleted, 1 failure at run time or not confirmed, 2 bad options, no such\n"
    "database or study.\n";

/* ---- errors ---------------------------------------------------------------------------------- */

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

/* A message of its own (which may carry its own hint line); returns code. */
__attribute__((format(printf, 3, 4))) static int fail(const char *cmd, int code, const char *fmt,
                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caviar %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* ---- options --------------------------------------------------------------------------------- */

enum {
    O_STORAGE = 256, O_STUDY, O_JSON, O_STATE, O_SORT, O_LIMIT, O_FORMAT, O_YES, O_HELP,
    O_OUTPUT = 'o'
};

typedef struct cli_opts {
    const char *storage, *study;
    int json, yes;
    unsigned states;  /* --state: a bit per caviar_trial_state; 0: all */
    int sort;         /* SORT_* */
    size_t limit;     /* 0: none */
    int csv;          /* export: 1 csv, 0 json */
    const char *output;
    int n_args;       /* what is left after the options */
    char **args;
} cli_opts;

enum { SORT_NUMBER, SORT_VALUE, SORT_DURATION };

static const char *const state_names[] = {"waiting", "running", "complete", "pruned", "fail",
                                          NULL};

/* "complete,pruned" -> bits; -1 (after the message) for a bad list. */
static int parse_states(const char *cmd, const char *text, unsigned *bits)
{
    *bits = 0;
    const char *p = text;
    for (;;) {
        size_t n = strcspn(p, ",");
        char word[32];
        int k = -1;
        if (n && n < sizeof word) {
            memcpy(word, p, n);
            word[n] = '\0';
            k = util_lookup(word, state_names);
        }
        if (k < 0) {
            usage_error(cmd, "invalid value '%s' for --state: expected states among waiting, "
                        "running, complete, pruned, fail (comma-separated)", text);
            return -1;
        }
        *bits |= 1u << k;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

/* Parses argv with the command's options (shorts: getopt's string, starting with ':' so that a
 * missing value is told apart from an unknown option). Positional arguments are left in
 * o->args when allow_args, else an error. Returns -1 to go on, or the exit status (after
 * --help, or after the message of an error). */
static int parse_opts(const char *cmd, int argc, char **argv, const char *shorts,
                      const struct option *longs, const char *help, int allow_args, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->storage = "caviar.db";
    o->csv = 1;
    optind = 1;
    opterr = 0;
    int c;
    size_t n;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        switch (c) {
        case O_STORAGE: o->storage = optarg; break;
        case O_STUDY: o->study = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_YES: o->yes = 1; break;
        case O_STATE:
            if (parse_states(cmd, optarg, &o->states) != 0)
                return CLI_USAGE;
            break;
        case O_SORT:
            if (strcmp(optarg, "number") == 0)
                o->sort = SORT_NUMBER;
            else if (strcmp(optarg, "value") == 0)
                o->sort = SORT_VALUE;
            else if (strcmp(optarg, "duration") == 0)
                o->sort = SORT_DURATION;
            else
                return usage_error(cmd, "invalid value '%s' for --sort: expected number, value "
                                   "or duration", optarg);
            break;
        case O_LIMIT:
            if (util_parse_size(optarg, &n) != 0 || n == 0)
                return usage_error(cmd, "invalid value '%s' for --limit: expected a positive "
                                   "integer", optarg);
            o->limit = n;
            break;
        case O_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                o->csv = 1;
            else if (strcmp(optarg, "json") == 0)
                o->csv = 0;
            else
                return usage_error(cmd, "invalid value '%s' for --format: expected csv or json",
                                   optarg);
            break;
        case O_OUTPUT: o->output = optarg; break;
        case O_HELP: fputs(help, stdout); return CLI_OK;
        case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc && !allow_args)
        return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    o->n_args = argc - optind;
    o->args = argv + optind;
    return -1;
}

/* ---- the database and its studies ------------------------------------------------------------ */

typedef struct db {
    const char *cmd;
    const char *storage;
    char shown[512];      /* the storage string, password masked */
    const store_type *type;
    store *st;
    store_study_list list;
} db;

/* The file a SQLite storage string names (as sqlite.c reads it), into buf; NULL when it names
 * no file on disk (an in-memory database). */
static const char *sqlite_file(const char *url, char *buf, size_t len)
{
    const char *p = url;
    if (strncmp(p, "sqlite:", 7) == 0) {
        p += 7;
        if (strncmp(p, "//", 2) == 0) { /* SQLAlchemy: sqlite:///rel.db, sqlite:////abs.db */
            p += 2;
            if (*p == '/')
                p++;
        }
    }
    if (strncmp(p, "file:", 5) == 0) { /* a URI: file:PATH, file:///PATH, file://host/PATH */
        p += 5;
        if (strncmp(p, "//", 2) == 0) {
            p += 2;
            p += strcspn(p, "/");
        }
        const char *query = p + strcspn(p, "?#");
        if (strstr(query, "mode=memory"))
            return NULL;
        snprintf(buf, len, "%.*s", (int)(query - p), p);
    } else {
        snprintf(buf, len, "%s", p);
    }
    if (!buf[0] || strcmp(buf, ":memory:") == 0)
        return NULL;
    return buf;
}

/* Opens the database and lists its studies; an exit status other than -1 on error. */
static int db_open(db *d, const char *cmd, const char *storage)
{
    memset(d, 0, sizeof *d);
    d->cmd = cmd;
    d->storage = storage;
    store_redact(storage, d->shown, sizeof d->shown);
    d->type = store_find(storage);
    if (!d->type)
        return fail(cmd, CLI_USAGE, "unknown storage '%s'\nhint: a SQLite file ('caviar.db', "
                    "'sqlite:PATH') or a PostgreSQL URL ('postgresql://USER@HOST/DB')", d->shown);
    if (d->type == &store_memory)
        return fail(cmd, CLI_USAGE, "'%s' is not a study database\nhint: caviar.db, "
                    "sqlite:PATH or postgresql://USER@HOST/DB", d->shown);
    char path[4096];
    struct stat sb;
    if (d->type == &store_sqlite && sqlite_file(storage, path, sizeof path) &&
        stat(path, &sb) != 0 && errno == ENOENT)
        return fail(cmd, CLI_USAGE, "no study database at '%s'\nhint: --storage names the "
                    "database that 'caviar tune' wrote (default caviar.db)", path);
    caviar_error err = {0};
    if (d->type->open(storage, &d->st, &err) != CAVIAR_OK ||
        d->type->list_studies(d->st, &d->list, &err) != CAVIAR_OK)
        return fail(cmd, CLI_FAILURE, "%s", err.msg);
    return -1;
}

static void db_close(db *d)
{
    store_study_list_release(&d->list);
    if (d->st)
        d->type->close(d->st);
    d->st = NULL;
}

/* "a, b and c" of the study names, into buf. */
static const char *study_names(const db *d, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->list.n && used < len; i++) {
        const char *sep = i == 0 ? "" : i + 1 == d->list.n ? " and " : ", ";
        int w = snprintf(buf + used, len - used, "%s'%s'", sep, d->list.studies[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* The study the command is about: the one named, or the only one. NULL after the message
 * (*code: the exit status). */
static const store_study *db_pick(db *d, const char *name, int *code)
{
    char names[2048];
    *code = CLI_USAGE;
    if (name) {
        for (size_t i = 0; i < d->list.n; i++)
            if (strcmp(d->list.studies[i].name, name) == 0)
                return &d->list.studies[i];
        if (!d->list.n)
            fail(d->cmd, CLI_USAGE, "there is no study '%s' in %s: it holds none\nhint: 'caviar "
                 "tune --storage %s' creates one", name, d->shown, d->shown);
        else
            fail(d->cmd, CLI_USAGE, "there is no study '%s' in %s\nhint: it holds %s", name,
                 d->shown, study_names(d, names, sizeof names));
        return NULL;
    }
    if (d->list.n == 1)
        return &d->list.studies[0];
    if (!d->list.n)
        fail(d->cmd, CLI_USAGE, "there is no study in %s\nhint: 'caviar tune --storage %s' "
             "creates one", d->shown, d->shown);
    else
        fail(d->cmd, CLI_USAGE, "%s holds %zu studies: %s\nhint: --study NAME chooses one",
             d->shown, d->list.n, study_names(d, names, sizeof names));
    return NULL;
}

/* The study as the library sees it (its whole history read); NULL after the message. */
static caviar_study *study_open(const db *d, const store_study *info)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = info->name;
    o.direction = info->direction;
    o.seed = info->seed;
    o.sampler = info->sampler ? info->sampler : "random";
    o.sampler_settings = info->sampler_settings;
    o.pruner = info->pruner ? info->pruner : "none";
    o.pruner_settings = info->pruner_settings;
    o.storage = d->storage;
    o.spec = info->spec;
    caviar_error err = {0};
    caviar_study *s = caviar_study_new(&o, &err);
    if (!s)
        fail(d->cmd, CLI_FAILURE, "cannot read study '%s': %s", info->name, err.msg);
    return s;
}

int cli_source_open(cli_source *src, const char *cmd, const char *storage, const char *name)
{
    memset(src, 0, sizeof *src);
    db *d = calloc(1, sizeof *d);
    if (!d)
        return fail(cmd, CLI_FAILURE, "out of memory");
    int code = db_open(d, cmd, storage);
    const store_study *info = code < 0 ? db_pick(d, name, &code) : NULL;
    caviar_study *s = info ? study_open(d, info) : NULL;
    if (!s) {
        db_close(d);
        free(d);
        return code >= 0 ? code : CLI_FAILURE;
    }
    snprintf(src->shown, sizeof src->shown, "%s", d->shown);
    src->info = info;
    src->s = s;
    src->priv = d;
    return -1;
}

void cli_source_close(cli_source *src)
{
    caviar_study_free(src->s);
    if (src->priv)
        db_close(src->priv);
    free(src->priv);
    memset(src, 0, sizeof *src);
}

/* ---- formatting ------------------------------------------------------------------------------ */

/* The shortest text that reads back as v ("0.1", not "0.10000000000000001"); "" for NaN, and
 * "inf"/"-inf". */
static const char *fmt_exact(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "%s", "");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
        return buf;
    }
    char text[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v)
            break;
    }
    snprintf(buf, len, "%s", text);
    return buf;
}

/* A parameter's external value as exact text: the choice's text, true/false, or a number. */
static const char *fmt_param_exact(const caviar_dist *d, double internal, char *buf, size_t len)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        size_t k = (size_t)internal;
        if (!(internal >= 0) || k >= d->n_choices)
            return space_format(d, internal, buf, len); /* "?" */
        const caviar_value *c = &d->choices[k];
        if (c->type == CAVIAR_VALUE_STRING)
            snprintf(buf, len, "%s", c->string);
        else if (c->type == CAVIAR_VALUE_BOOL)
            snprintf(buf, len, "%s", c->number != 0 ? "true" : "false");
        else
            fmt_exact(c->number, buf, len);
        return buf;
    }
    if (d->kind == CAVIAR_DIST_INT)
        return space_format(d, internal, buf, len);
    return fmt_exact(internal, buf, len);
}

/* Seconds since the epoch as ISO 8601 UTC with milliseconds; "" for no time. */
static const char *fmt_time(double t, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!(t > 0) || !isfinite(t))
        return buf;
    double whole = floor(t);
    long ms = lround((t - whole) * 1000);
    if (ms >= 1000) {
        whole += 1;
        ms -= 1000;
    }
    time_t secs = (time_t)whole;
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return buf;
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", day, ms);
    return buf;
}

/* A trial's duration in seconds: to its end, or until now while it runs; NaN when it has not
 * started. */
static double duration_of(const caviar_trial_view *v, double now)
{
    if (!(v->start_time > 0))
        return NAN;
    double end = v->end_time > 0 ? v->end_time : now;
    return end > v->start_time ? end - v->start_time : 0;
}

/* A duration in seconds to the microsecond, for files ("0.036235"); "" for none. */
static const char *fmt_seconds(double s, char *buf, size_t len)
{
    if (isnan(s))
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "%.6f", s);
    return buf;
}

/* A duration for people: "0.036s", "12.5s", "3m07s", "2h05m". */
static const char *fmt_duration(double s, char *buf, size_t len)
{
    if (isnan(s))
        snprintf(buf, len, "-");
    else if (s < 10)
        snprintf(buf, len, "%.3fs", s);
    else if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    return buf;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* JSON: a number (null when not finite), a string. */
static void json_num(FILE *out, double v)
{
    char buf[64];
    if (isfinite(v))
        fputs(fmt_exact(v, buf, sizeof buf), out);
    else
        fputs("null", out);
}

/* A parameter's external value as JSON: the choice itself for a categorical (a string, a
 * boolean or a number), else the number. */
static void json_param(FILE *out, const caviar_dist *d, double internal)
{
    size_t k = (size_t)internal;
    if (d->kind != CAVIAR_DIST_CATEGORICAL || !(internal >= 0) || k >= d->n_choices) {
        json_num(out, internal);
        return;
    }
    const caviar_value *c = &d->choices[k];
    if (c->type == CAVIAR_VALUE_STRING)
        util_json_escape(out, c->string);
    else if (c->type == CAVIAR_VALUE_BOOL)
        fputs(c->number != 0 ? "true" : "false", out);
    else
        json_num(out, c->number);
}

/* An attribute's value: a number when the whole text is one (test_accuracy), else the text. */
static void json_attr(FILE *out, const char *text)
{
    double v;
    if (util_parse_double(text, &v) == 0 && isfinite(v))
        json_num(out, v);
    else
        util_json_escape(out, text);
}

/* ---- tables ---------------------------------------------------------------------------------- */

/* Rows of owned cells, the first one the header, printed with the columns aligned (two spaces
 * apart, numbers flush right, no trailing blanks); a column empty but for its header is left
 * out. */
typedef struct table {
    size_t n_cols;
    const unsigned char *right; /* by column: align right */
    char **cells;               /* row-major */
    size_t n_rows, cap_rows;
} table;

static int table_add(table *t, char **row)
{
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? 2 * t->cap_rows : 16;
        char **c = realloc(t->cells, cap * t->n_cols * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        t->cap_rows = cap;
    }
    /* One line per row: a line break or tab in a cell (a failed program's last lines of
     * stderr in a note) is shown as a space. */
    for (size_t c = 0; c < t->n_cols; c++)
        for (char *p = row[c]; p && *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
    memcpy(t->cells + t->n_rows * t->n_cols, row, t->n_cols * sizeof *row);
    t->n_rows++;
    return 0;
}

/* A row of cells copied from texts; -1 when out of memory. */
static int table_row(table *t, const char *const *texts)
{
    char **row = calloc(t->n_cols, sizeof *row);
    int oom = !row;
    for (size_t c = 0; !oom && c < t->n_cols; c++)
        oom = !(row[c] = strdup(texts[c] ? texts[c] : ""));
    if (!oom && table_add(t, row) == 0) {
        free(row);
        return 0;
    }
    for (size_t c = 0; row && c < t->n_cols; c++)
        free(row[c]);
    free(row);
    return -1;
}

/* Display width of UTF-8 text: one column per code point (good enough for names and values). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void table_print(const table *t, FILE *out)
{
    size_t *width = calloc(t->n_cols ? t->n_cols : 1, sizeof *width);
    unsigned char *used = calloc(t->n_cols ? t->n_cols : 1, 1);
    if (!width || !used) {
        free(width);
        free(used);
        return;
    }
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *cell = t->cells[r * t->n_cols + c];
            size_t w = text_width(cell);
            if (w > width[c])
                width[c] = w;
            used[c] |= r > 0 && cell[0];
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        /* The last non-empty cell ends the line. */
        size_t last = t->n_cols;
        while (last > 0 && (!used[last - 1] || !t->cells[r * t->n_cols + last - 1][0]))
            last--;
        int first = 1;
        for (size_t c = 0; c < last; c++) {
            if (!used[c])
                continue;
            const char *cell = t->cells[r * t->n_cols + c];
            size_t pad = width[c] - text_width(cell);
            if (!first)
                fputs("  ", out);
            first = 0;
            if (t->right[c] && r > 0) /* headers stay flush left */
                fprintf(out, "%*s%s", (int)pad, "", cell);
            else if (c + 1 < last)
                fprintf(out, "%s%*s", cell, (int)pad, "");
            else
                fputs(cell, out);
        }
        fputc('\n', out);
    }
    free(width);
    free(used);
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* ---- caviar studies -------------------------------------------------------------------------- */


static const char *direction_name(caviar_direction d)
{
    return d == CAVIAR_MAXIMIZE ? "maximize" : "minimize";
}

int cmd_studies(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("studies", argc, argv, ":", longs, studies_help, 0, &o);
    if (code >= 0)
        return code;
    db d;
    if ((code = db_open(&d, "studies", o.storage)) >= 0) {
        db_close(&d);
        return code;
    }
    code = CLI_OK;
    static const unsigned char right[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    table t = {.n_cols = 12, .right = right};
    const char *const header[] = {"study",   "direction", "sampler", "pruner",
                                  "trials",  "complete",  "pruned",  "fail",
                                  "running", "waiting",   "best",    "trial"};
    if (!o.json && table_row(&t, header) != 0)
        code = fail("studies", CLI_FAILURE, "out of memory");
    if (o.json)
        fputs("[", stdout);
    for (size_t i = 0; code == CLI_OK && i < d.list.n; i++) {
        const store_study *info = &d.list.studies[i];
        caviar_study *s = study_open(&d, info);
        if (!s) {
            code = CLI_FAILURE;
            break;
        }
        caviar_study_summary sum;
        caviar_study_summarize(s, &sum);
        int has_best = !isnan(sum.best_value);
        if (o.json) {
            printf("%s\n{\"study\": ", i ? "," : "");
            util_json_escape(stdout, info->name);
            printf(", \"direction\": \"%s\", \"seed\": %llu, \"sampler\": ",
                   direction_name(info->direction), (unsigned long long)info->seed);
            util_json_escape(stdout, info->sampler ? info->sampler : "random");
            printf(", \"sampler_settings\": ");
            util_json_escape(stdout, info->sampler_settings ? info->sampler_settings : "");
            printf(", \"pruner\": ");
            util_json_escape(stdout, info->pruner ? info->pruner : "none");
            printf(", \"pruner_settings\": ");
            util_json_escape(stdout, info->pruner_settings ? info->pruner_settings : "");
            printf(", \"trials\": %zu, \"waiting\": %zu, \"running\": %zu, \"complete\": %zu, "
                   "\"pruned\": %zu, \"fail\": %zu, \"requeued\": %zu, \"best\": ",
                   sum.n_trials, sum.n_waiting, sum.n_running, sum.n_complete, sum.n_pruned,
                   sum.n_fail, sum.n_requeued);
            if (has_best) {
                printf("{\"trial\": %llu, \"value\": ", (unsigned long long)sum.best_trial);
                json_num(stdout, sum.best_value);
                printf("}}");
            } else {
                printf("null}");
            }
        } else {
            char sampler[512], pruner[512], n[6][32], best[64] = "-", trial[32] = "-";
            const size_t counts[6] = {sum.n_trials, sum.n_complete, sum.n_pruned, sum.n_fail,
                                      sum.n_running, sum.n_waiting};
            for (int k = 0; k < 6; k++)
                snprintf(n[k], sizeof n[k], "%zu", counts[k]);
            if (has_best) {
                snprintf(best, sizeof best, "%.6g", sum.best_value);
                snprintf(trial, sizeof trial, "%llu", (unsigned long long)sum.best_trial);
            }
            const char *const row[] = {
                info->name,
                direction_name(info->direction),
                store_describe(info->sampler, info->sampler_settings, "-", sampler, sizeof sampler),
                store_describe(info->pruner, info->pruner_settings, "-", pruner, sizeof pruner),
                n[0], n[1], n[2], n[3], n[4], n[5], best, trial};
            if (table_row(&t, row) != 0)
                code = fail("studies", CLI_FAILURE, "out of memory");
        }
        caviar_study_free(s);
    }
    if (o.json) {
        fputs(d.list.n ? "\n]\n" : "]\n", stdout);
    } else if (code == CLI_OK) {
        if (d.list.n)
            table_print(&t, stdout);
        else
            printf("no studies in %s\n", d.shown);
    }
    table_free(&t);
    db_close(&d);
    return code;
}

/* ---- reading a study ------------------------------------------------------------------------- */

/* The parameters a study's trials use, in the order they first appear (the study's order for
 * every objective that asks for them in a fixed order). Names and distributions are borrowed
 * from the study: valid until it changes. */
typedef struct param_cols {
    size_t n;
    const char **names;
    const caviar_dist **dists;
} param_cols;

static int param_cols_build(caviar_study *s, param_cols *pc)
{
    memset(pc, 0, sizeof *pc);
    size_t cap = 0;
    for (size_t i = 0; i < caviar_study_n_trials(s); i++) {
        caviar_trial_view v;
        if (caviar_study_trial(s, i, &v) != CAVIAR_OK)
            return -1;
        for (size_t p = 0; p < v.n_params; p++) {
            size_t k = 0;
            while (k < pc->n && strcmp(pc->names[k], v.param_names[p]) != 0)
                k++;
            if (k < pc->n)
                continue;
            if (pc->n == cap) {
                cap = cap ? 2 * cap : 8;
                const char **names = realloc(pc->names, cap * sizeof *names);
                if (names)
                    pc->names = names;
                const caviar_dist **dists = realloc(pc->dists, cap * sizeof *dists);
                if (dists)
                    pc->dists = dists;
                if (!names || !dists)
                    return -1;
            }
            pc->names[pc->n] = v.param_names[p];
            pc->dists[pc->n++] = v.param_dists[p];
        }
    }
    return 0;
}

static void param_cols_release(param_cols *pc)
{
    free(pc->names);
    free(pc->dists);
    memset(pc, 0, sizeof *pc);
}

/* The internal value of parameter name in a view; NaN when the trial did not use it. */
static double view_param(const caviar_trial_view *v, const char *name)
{
    for (size_t p = 0; p < v->n_params; p++)
        if (strcmp(v->param_names[p], name) == 0)
            return v->param_values[p];
    return NAN;
}

static const char *view_attr(const caviar_trial_view *v, const char *key)
{
    for (size_t a = 0; a < v->n_attrs; a++)
        if (strcmp(v->attrs[a].key, key) == 0)
            return v->attrs[a].value;
    return NULL;
}

/* A study opened for reading, with what the commands need about each trial. */
typedef struct reading {
    db d;
    const store_study *info;
    caviar_study *s;
    size_t n_trials;
    int64_t *rerun;  /* by trial: the trial that re-runs it, or -1 */
    param_cols cols;
} reading;

/* Opens the database and the study of o; an exit status other than -1 on error (r is then
 * released). */
static int reading_open(reading *r, const char *cmd, const cli_opts *o)
{
    memset(r, 0, sizeof *r);
    int code = db_open(&r->d, cmd, o->storage);
    if (code < 0) {
        if (!(r->info = db_pick(&r->d, o->study, &code)))
            ; /* code tells */
        else if (!(r->s = study_open(&r->d, r->info)))
            code = CLI_FAILURE;
        else
            code = -1;
    }
    if (code >= 0) {
        db_close(&r->d);
        return code;
    }
    r->n_trials = caviar_study_n_trials(r->s);
    r->rerun = malloc((r->n_trials ? r->n_trials : 1) * sizeof *r->rerun);
    if (!r->rerun || param_cols_build(r->s, &r->cols) != 0) {
        caviar_study_free(r->s);
        free(r->rerun);
        param_cols_release(&r->cols);
        db_close(&r->d);
        return fail(cmd, CLI_FAILURE, "out of memory");
    }
    for (size_t i = 0; i < r->n_trials; i++)
        r->rerun[i] = -1;
    for (size_t i = 0; i < r->n_trials; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) == CAVIAR_OK && v.retry_of >= 0 &&
            (uint64_t)v.retry_of < r->n_trials)
            r->rerun[v.retry_of] = (int64_t)i;
    }
    return -1;
}

static void reading_close(reading *r)
{
    param_cols_release(&r->cols);
    free(r->rerun);
    caviar_study_free(r->s);
    db_close(&r->d);
}

/* One trial as a JSON object: number, state, value, times, duration, params, attrs, the fail
 * reason, retry links, and (with reports) the intermediate values. */
static void json_trial(FILE *out, const reading *r, const caviar_trial_view *v, int reports,
                       double now)
{
    char buf[64];
    fprintf(out, "{\"number\": %llu, \"state\": \"%s\", \"value\": ",
            (unsigned long long)v->number, caviar_trial_state_name(v->state));
    json_num(out, v->value);
    fprintf(out, ", \"start\": ");
    if (v->start_time > 0)
        fprintf(out, "\"%s\"", fmt_time(v->start_time, buf, sizeof buf));
    else
        fputs("null", out);
    fprintf(out, ", \"end\": ");
    if (v->end_time > 0)
        fprintf(out, "\"%s\"", fmt_time(v->end_time, buf, sizeof buf));
    else
        fputs("null", out);
    fprintf(out, ", \"duration\": ");
    if (v->end_time > 0)
        fputs(fmt_seconds(duration_of(v, now), buf, sizeof buf), out);
    else
        fputs("null", out);
    fprintf(out, ", \"params\": {");
    for (size_t p = 0; p < v->n_params; p++) {
        fputs(p ? ", " : "", out);
        util_json_escape(out, v->param_names[p]);
        fputs(": ", out);
        json_param(out, v->param_dists[p], v->param_values[p]);
    }
    fprintf(out, "}, \"attrs\": {");
    for (size_t a = 0; a < v->n_attrs; a++) {
        fputs(a ? ", " : "", out);
        util_json_escape(out, v->attrs[a].key);
        fputs(": ", out);
        json_attr(out, v->attrs[a].value);
    }
    fputs("}", out);
    if (v->fail_reason) {
        fputs(", \"fail_reason\": ", out);
        util_json_escape(out, v->fail_reason);
    }
    if (v->retry_of >= 0)
        fprintf(out, ", \"retry_of\": %lld", (long long)v->retry_of);
    if (v->requeued) {
        fputs(", \"requeued\": true", out);
        if (r->rerun[v->number] >= 0)
            fprintf(out, ", \"rerun\": %lld", (long long)r->rerun[v->number]);
    }
    if (reports) {
        fputs(", \"intermediate\": [", out);
        for (size_t k = 0; k < v->n_reports; k++) {
            fprintf(out, "%s{\"step\": %lld, \"value\": ", k ? ", " : "",
                    (long long)v->report_steps[k]);
            json_num(out, v->report_values[k]);
            fputs("}", out);
        }
        fputs("]", out);
    }
    fputs("}", out);
}

/* ---- caviar trials --------------------------------------------------------------------------- */

/* What a sort needs of a trial, copied out of its view (views do not outlive the next one). */
typedef struct trial_key {
    size_t index;
    double value, duration;
} trial_key;

static caviar_direction g_sort_direction; /* for the comparators */

static int by_value(const void *pa, const void *pb)
{
    const trial_key *a = pa, *b = pb;
    int na = isnan(a->value), nb = isnan(b->value);
    if (na != nb)
        return na - nb; /* without a value: last */
    if (!na && a->value != b->value) {
        int less = a->value < b->value;
        return (g_sort_direction == CAVIAR_MINIMIZE) == less ? -1 : 1;
    }
    return a->index < b->index ? -1 : a->index > b->index;
}

static int by_duration(const void *pa, const void *pb)
{
    const trial_key *a = pa, *b = pb;
    int na = isnan(a->duration), nb = isnan(b->duration);
    if (na != nb)
        return na - nb;
    if (!na && a->duration != b->duration)
        return a->duration > b->duration ? -1 : 1; /* longest first */
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The note of a trial: why it failed, which trial re-runs it or which one it re-runs. */
static const char *trial_note(const reading *r, const caviar_trial_view *v, char *buf,
                              size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
#define NOTE(...)                                                                               \
    do {                                                                                        \
        int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                                 \
        if (w_ > 0)                                                                             \
            used = used + (size_t)w_ < len ? used + (size_t)w_ : len - 1;                       \
    } while (0)
    if (v->state == CAVIAR_TRIAL_FAIL)
        NOTE("%s", v->fail_reason ? v->fail_reason : "failed");
    if (v->requeued) {
        if (r->rerun[v->number] >= 0)
            NOTE("%sre-queued as trial %lld", used ? "; " : "", (long long)r->rerun[v->number]);
        else
            NOTE("%sre-queued", used ? "; " : "");
    }
    if (v->retry_of >= 0)
        NOTE("%sre-run of trial %lld", used ? "; " : "", (long long)v->retry_of);
    const char *diverged = view_attr(v, "diverged");
    if (v->state == CAVIAR_TRIAL_PRUNED && diverged)
        NOTE("%s%s", used ? "; " : "", diverged);
    else if (v->state == CAVIAR_TRIAL_PRUNED && v->n_reports)
        NOTE("%sat step %lld", used ? "; " : "", (long long)v->report_steps[v->n_reports - 1]);
#undef NOTE
    return buf;
}

int cmd_trials(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"state", required_argument, 0, O_STATE},     {"sort", required_argument, 0, O_SORT},
        {"limit", required_argument, 0, O_LIMIT},     {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("trials", argc, argv, ":", longs, trials_help, 0, &o);
    if (code >= 0)
        return code;
    reading r;
    if ((code = reading_open(&r, "trials", &o)) >= 0)
        return code;
    code = CLI_OK;
    double now = wall_now();
    trial_key *keys = malloc((r.n_trials ? r.n_trials : 1) * sizeof *keys);
    if (!keys) {
        reading_close(&r);
        return fail("trials", CLI_FAILURE, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < r.n_trials; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r.s, i, &v) != CAVIAR_OK)
            continue;
        if (o.states && !(o.states & (1u << v.state)))
            continue;
        keys[n++] = (trial_key){i, v.value, duration_of(&v, now)};
    }
    g_sort_direction = r.info->direction;
    if (o.sort == SORT_VALUE)
        qsort(keys, n, sizeof *keys, by_value);
    else if (o.sort == SORT_DURATION)
        qsort(keys, n, sizeof *keys, by_duration);
    if (o.limit && n > o.limit)
        n = o.limit;

    if (o.json) {
        fputs("[", stdout);
        for (size_t k = 0; k < n; k++) {
            caviar_trial_view v;
            caviar_study_trial(r.s, keys[k].index, &v);
            fputs(k ? ",\n" : "\n", stdout);
            json_trial(stdout, &r, &v, 0, now);
        }
        fputs(n ? "\n]\n" : "]\n", stdout);
    } else if (!n) {
        printf("no trials in study '%s'%s\n", r.info->name,
               o.states ? " in the states asked for" : "");
    } else {
        size_t n_cols = 5 + r.cols.n;
        unsigned char *right = calloc(n_cols, 1);
        const char **texts = calloc(n_cols, sizeof *texts);
        char (*bufs)[256] = calloc(n_cols, sizeof *bufs);
        table t = {.n_cols = n_cols, .right = right};
        if (!right || !texts || !bufs) {
            code = fail("trials", CLI_FAILURE, "out of memory");
        } else {
            right[0] = right[2] = right[3] = 1;
            texts[0] = "trial";
            texts[1] = "state";
            texts[2] = "value";
            texts[3] = "duration";
            for (size_t p = 0; p < r.cols.n; p++) {
                texts[4 + p] = r.cols.names[p];
                right[4 + p] = r.cols.dists[p]->kind != CAVIAR_DIST_CATEGORICAL;
            }
            texts[n_cols - 1] = "note";
            if (table_row(&t, texts) != 0)
                code = fail("trials", CLI_FAILURE, "out of memory");
        }
        for (size_t k = 0; code == CLI_OK && k < n; k++) {
            caviar_trial_view v;
            caviar_study_trial(r.s, keys[k].index, &v);
            snprintf(bufs[0], sizeof bufs[0], "%llu", (unsigned long long)v.number);
            texts[0] = bufs[0];
            texts[1] = caviar_trial_state_name(v.state);
            if (isnan(v.value))
                snprintf(bufs[2], sizeof bufs[2], "-");
            else
                snprintf(bufs[2], sizeof bufs[2], "%.6g", v.value);
            texts[2] = bufs[2];
            texts[3] = fmt_duration(keys[k].duration, bufs[3], sizeof bufs[3]);
            for (size_t p = 0; p < r.cols.n; p++) {
                double x = view_param(&v, r.cols.names[p]);
                if (isnan(x))
                    snprintf(bufs[4 + p], sizeof bufs[4 + p], "-");
                else
                    space_format(r.cols.dists[p], x, bufs[4 + p], sizeof bufs[4 + p]);
                texts[4 + p] = bufs[4 + p];
            }
            texts[n_cols - 1] = trial_note(&r, &v, bufs[n_cols - 1], sizeof bufs[n_cols - 1]);
            if (table_row(&t, texts) != 0)
                code = fail("trials", CLI_FAILURE, "out of memory");
        }
        if (code == CLI_OK)
            table_print(&t, stdout);
        table_free(&t);
        free(right);
        free(texts);
        free(bufs);
    }
    free(keys);
    reading_close(&r);
    return code;
}

/* ---- caviar best ----------------------------------------------------------------------------- */

int cmd_best(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"json", no_argument, 0, O_JSON},             {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("best", argc, argv, ":", longs, best_help, 0, &o);
    if (code >= 0)
        return code;
    reading r;
    if ((code = reading_open(&r, "best", &o)) >= 0)
        return code;
    caviar_trial_view v;
    caviar_error err = {0};
    if (caviar_study_best(r.s, &v, &err) != CAVIAR_OK) {
        code = fail("best", CLI_FAILURE, "%s", err.msg);
        reading_close(&r);
        return code;
    }
    if (o.json) {
        printf("{\"study\": ");
        util_json_escape(stdout, r.info->name);
        printf(", \"direction\": \"%s\", \"trial\": %llu, \"value\": ",
               direction_name(r.info->direction), (unsigned long long)v.number);
        json_num(stdout, v.value);
        printf(", \"params\": {");
        for (size_t p = 0; p < v.n_params; p++) {
            fputs(p ? ", " : "", stdout);
            util_json_escape(stdout, v.param_names[p]);
            fputs(": ", stdout);
            json_param(stdout, v.param_dists[p], v.param_values[p]);
        }
        printf("}, \"attrs\": {");
        for (size_t a = 0; a < v.n_attrs; a++) {
            fputs(a ? ", " : "", stdout);
            util_json_escape(stdout, v.attrs[a].key);
            fputs(": ", stdout);
            json_attr(stdout, v.attrs[a].value);
        }
        printf("}}\n");
    } else {
        size_t w = 0;
        for (size_t p = 0; p < v.n_params; p++)
            if (text_width(v.param_names[p]) > w)
                w = text_width(v.param_names[p]);
        for (size_t a = 0; a < v.n_attrs; a++)
            if (text_width(v.attrs[a].key) > w)
                w = text_width(v.attrs[a].key);
        printf("study '%s': best trial %llu of %zu, value %.6g\n", r.info->name,
               (unsigned long long)v.number, r.n_trials, v.value);
        if (v.n_params)
            printf("params:\n");
        for (size_t p = 0; p < v.n_params; p++) {
            char buf[256];
            printf("  %s%*s  %s\n", v.param_names[p],
                   (int)(w - text_width(v.param_names[p])), "",
                   space_format(v.param_dists[p], v.param_values[p], buf, sizeof buf));
        }
        if (v.n_attrs)
            printf("attributes:\n");
        for (size_t a = 0; a < v.n_attrs; a++)
            printf("  %s%*s  %s\n", v.attrs[a].key, (int)(w - text_width(v.attrs[a].key)), "",
                   v.attrs[a].value);
    }
    reading_close(&r);
    return CLI_OK;
}

/* ---- caviar export --------------------------------------------------------------------------- */

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF, or begins or ends
 * with a blank; quotes doubled. */
static void csv_field(FILE *out, const char *s, int first)
{
    if (!first)
        fputc(',', out);
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (n && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The attribute keys of every trial, sorted, each once (borrowed from the study). */
static int attr_keys(const reading *r, const char ***keys, size_t *n_keys)
{
    size_t n = 0, cap = 0;
    const char **k = NULL;
    for (size_t i = 0; i < r->n_trials; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        for (size_t a = 0; a < v.n_attrs; a++) {
            size_t j = 0;
            while (j < n && strcmp(k[j], v.attrs[a].key) != 0)
                j++;
            if (j < n)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                const char **grown = realloc(k, cap * sizeof *grown);
                if (!grown) {
                    free(k);
                    return -1;
                }
                k = grown;
            }
            k[n++] = v.attrs[a].key;
        }
    }
    if (n)
        qsort(k, n, sizeof *k, cmp_str);
    *keys = k;
    *n_keys = n;
    return 0;
}

static void export_csv(FILE *out, const reading *r, double now)
{
    const char **keys = NULL;
    size_t n_keys = 0;
    if (attr_keys(r, &keys, &n_keys) != 0)
        n_keys = 0; /* out of memory: no attribute columns rather than no file */
    static const char *const fixed[] = {"number", "state", "value", "start", "end", "duration"};
    char buf[1024];
    for (size_t c = 0; c < 6; c++)
        csv_field(out, fixed[c], c == 0);
    for (size_t p = 0; p < r->cols.n; p++) {
        snprintf(buf, sizeof buf, "param.%s", r->cols.names[p]);
        csv_field(out, buf, 0);
    }
    for (size_t a = 0; a < n_keys; a++) {
        snprintf(buf, sizeof buf, "attr.%s", keys[a]);
        csv_field(out, buf, 0);
    }
    csv_field(out, "fail_reason", 0);
    csv_field(out, "retry_of", 0);
    csv_field(out, "requeued", 0);
    fputs("\r\n", out);
    for (size_t i = 0; i < r->n_trials; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.number);
        csv_field(out, buf, 1);
        csv_field(out, caviar_trial_state_name(v.state), 0);
        csv_field(out, fmt_exact(v.value, buf, sizeof buf), 0);
        csv_field(out, fmt_time(v.start_time, buf, sizeof buf), 0);
        csv_field(out, fmt_time(v.end_time, buf, sizeof buf), 0);
        csv_field(out, fmt_seconds(v.end_time > 0 ? duration_of(&v, now) : NAN, buf, sizeof buf),
                  0);
        for (size_t p = 0; p < r->cols.n; p++) {
            double x = view_param(&v, r->cols.names[p]);
            csv_field(out, isnan(x) ? "" : fmt_param_exact(r->cols.dists[p], x, buf, sizeof buf),
                      0);
        }
        for (size_t a = 0; a < n_keys; a++) {
            const char *text = view_attr(&v, keys[a]);
            csv_field(out, text ? text : "", 0);
        }
        csv_field(out, v.fail_reason ? v.fail_reason : "", 0);
        if (v.retry_of >= 0)
            snprintf(buf, sizeof buf, "%lld", (long long)v.retry_of);
        else
            buf[0] = '\0';
        csv_field(out, buf, 0);
        csv_field(out, v.requeued ? "true" : "false", 0);
        fputs("\r\n", out);
    }
    free(keys);
}

static void export_json(FILE *out, const reading *r, double now)
{
    fputs("[", out);
    for (size_t i = 0; i < r->n_trials; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        fputs(i ? ",\n" : "\n", out);
        json_trial(out, r, &v, 1, now);
    }
    fputs(r->n_trials ? "\n]\n" : "]\n", out);
}

/* Writes the export to path through a temporary file in the same directory, renamed over path
 * once complete: a reader never sees half a file, and a failure leaves path as it was. */
static int export_to_file(const char *path, const reading *r, int csv, double now)
{
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return fail("export", CLI_FAILURE, "cannot write '%s': out of memory", path);
    snprintf(tmp, len, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fail("export", CLI_FAILURE, "cannot write '%s': %s", path, strerror(e));
    }
    /* mkstemp makes the file private (0600); an export is an ordinary file. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        /* not fatal: the export stays readable by its owner */
    }
    FILE *out = fdopen(fd, "w");
    if (!out) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return fail("export", CLI_FAILURE, "cannot write '%s': %s", path, strerror(e));
    }
    if (csv)
        export_csv(out, r, now);
    else
        export_json(out, r, now);
    int bad = fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
    int e = errno;
    if (fclose(out) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        free(tmp);
        return fail("export", CLI_FAILURE, "cannot write '%s': %s", path, strerror(e));
    }
    free(tmp);
    return CLI_OK;
}

int cmd_export(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"format", required_argument, 0, O_FORMAT},   {"output", required_argument, 0, O_OUTPUT},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("export", argc, argv, ":o:", longs, export_help, 0, &o);
    if (code >= 0)
        return code;
    if (o.output && !*o.output)
        return usage_error("export", "option '-o' needs a file name");
    reading r;
    if ((code = reading_open(&r, "export", &o)) >= 0)
        return code;
    double now = wall_now();
    if (o.output && strcmp(o.output, "-") != 0) {
        code = export_to_file(o.output, &r, o.csv, now);
        if (code == CLI_OK)
            fprintf(stderr, "caviar export: %zu trials of study '%s' written to '%s'\n",
                    r.n_trials, r.info->name, o.output);
    } else {
        if (o.csv)
            export_csv(stdout, &r, now);
        else
            export_json(stdout, &r, now);
        code = fflush(stdout) != 0 || ferror(stdout)
                   ? fail("export", CLI_FAILURE, "cannot write the standard output: %s",
                          strerror(errno))
                   : CLI_OK;
    }
    reading_close(&r);
    return code;
}

/* ---- caviar enqueue -------------------------------------------------------------------------- */

/* The internal value of text for distribution d (a number, a choice's text, true/false);
 * -1 after the message when it is not one. */
static int parse_value(const char *name, const caviar_dist *d, const char *text, double *out)
{
    double x;
    if (d->kind == CAVIAR_DIST_FLOAT) {
        if (util_parse_double(text, &x) != 0 || !isfinite(x)) {
            usage_error("enqueue", "invalid value '%s' for parameter '%s': expected a number",
                        text, name);
            return -1;
        }
        *out = x;
        return 0;
    }
    if (d->kind == CAVIAR_DIST_INT) {
        if (util_parse_double(text, &x) != 0 || !isfinite(x) || x != floor(x)) {
            usage_error("enqueue", "invalid value '%s' for parameter '%s': expected an "
                        "integer", text, name);
            return -1;
        }
        *out = x;
        return 0;
    }
    for (size_t k = 0; k < d->n_choices; k++) {
        const caviar_value *c = &d->choices[k];
        int match = 0;
        if (c->type == CAVIAR_VALUE_STRING)
            match = strcmp(text, c->string) == 0;
        else if (c->type == CAVIAR_VALUE_BOOL)
            match = strcmp(text, c->number != 0 ? "true" : "false") == 0;
        else
            match = util_parse_double(text, &x) == 0 && x == c->number;
        if (match) {
            *out = (double)k;
            return 0;
        }
    }
    char list[1024] = "";
    size_t used = 0;
    for (size_t k = 0; k < d->n_choices && used < sizeof list; k++) {
        char buf[256];
        int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                         fmt_param_exact(d, (double)k, buf, sizeof buf));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    usage_error("enqueue", "invalid value '%s' for parameter '%s': expected one of %s", text,
                name, list);
    return -1;
}

/* The parameter of that name among the study's; -1 after the message (with a "did you mean"). */
static long find_param(const reading *r, const char *name)
{
    for (size_t p = 0; p < r->cols.n; p++)
        if (strcmp(r->cols.names[p], name) == 0)
            return (long)p;
    char known[1024] = "";
    size_t used = 0;
    long best = -1;
    int best_d = 1 << 30;
    for (size_t p = 0; p < r->cols.n; p++) {
        int dist = util_edit_distance(name, r->cols.names[p]);
        if (dist < best_d) {
            best_d = dist;
            best = (long)p;
        }
        int w = snprintf(known + used, used < sizeof known ? sizeof known - used : 0, "%s%s",
                         p ? ", " : "", r->cols.names[p]);
        if (w > 0)
            used += (size_t)w;
    }
    size_t len = strlen(name);
    if (best >= 0 && best_d <= (len < 6 ? 2 : 3))
        fail("enqueue", CLI_USAGE, "study '%s' has no parameter '%s'\nhint: did you mean '%s'?",
             r->info->name, name, r->cols.names[best]);
    else
        fail("enqueue", CLI_USAGE, "study '%s' has no parameter '%s'\nhint: its parameters are "
             "%s", r->info->name, name, known);
    return -1;
}

int cmd_enqueue(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("enqueue", argc, argv, ":", longs, enqueue_help, 1, &o);
    if (code >= 0)
        return code;
    if (!o.n_args)
        return usage_error("enqueue", "nothing to enqueue: give the values as NAME=VALUE");
    /* The syntax first: nothing is opened for a malformed command line. */
    for (int i = 0; i < o.n_args; i++) {
        const char *eq = strchr(o.args[i], '=');
        if (!eq || eq == o.args[i])
            return usage_error("enqueue", "invalid argument '%s': expected NAME=VALUE",
                               o.args[i]);
        for (int j = 0; j < i; j++)
            if (strcspn(o.args[j], "=") == (size_t)(eq - o.args[i]) &&
                strncmp(o.args[j], o.args[i], (size_t)(eq - o.args[i])) == 0)
                return usage_error("enqueue", "parameter '%.*s' is given twice",
                                   (int)(eq - o.args[i]), o.args[i]);
    }
    reading r;
    if ((code = reading_open(&r, "enqueue", &o)) >= 0)
        return code;
    size_t n = (size_t)o.n_args;
    char **names = calloc(n, sizeof *names);
    double *values = calloc(n, sizeof *values);
    char (*shown)[256] = calloc(n, sizeof *shown); /* each value as given back */
    if (!names || !values || !shown) {
        code = fail("enqueue", CLI_FAILURE, "out of memory");
        goto done;
    }
    if (!r.cols.n) {
        code = fail("enqueue", CLI_USAGE, "study '%s' has no parameters yet\nhint: run it once "
                    "('caviar tune' or 'caviar worker'): its objective declares them",
                    r.info->name);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char *arg = o.args[i];
        size_t len = strcspn(arg, "=");
        if (!(names[i] = strndup(arg, len))) {
            code = fail("enqueue", CLI_FAILURE, "out of memory");
            goto done;
        }
        long p = find_param(&r, names[i]);
        if (p < 0) {
            code = CLI_USAGE;
            goto done;
        }
        const caviar_dist *d = r.cols.dists[p];
        if (parse_value(names[i], d, arg + len + 1, &values[i]) != 0) {
            code = CLI_USAGE;
            goto done;
        }
        fmt_param_exact(d, values[i], shown[i], sizeof shown[i]);
    }
    /* The study checks the values against the distributions (its message names the value and
     * the range); it may change here, so the borrowed columns are not used after this. */
    caviar_error err = {0};
    if (caviar_study_enqueue(r.s, (const char *const *)names, values, n, &err) != CAVIAR_OK) {
        code = fail("enqueue", err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE, "%s",
                    err.msg);
        goto done;
    }
    /* Its number: the newest waiting trial with exactly these values. */
    long long number = -1;
    for (size_t i = caviar_study_n_trials(r.s); i-- > 0 && number < 0;) {
        caviar_trial_view v;
        if (caviar_study_trial(r.s, i, &v) != CAVIAR_OK || v.state != CAVIAR_TRIAL_WAITING ||
            v.n_params != n)
            continue;
        size_t same = 0;
        for (size_t k = 0; k < n; k++)
            same += view_param(&v, names[k]) == values[k];
        if (same == n)
            number = (long long)v.number;
    }
    if (number >= 0)
        printf("study '%s': trial %lld enqueued with", r.info->name, number);
    else
        printf("study '%s': a trial enqueued with", r.info->name);
    for (size_t i = 0; i < n; i++)
        printf(" %s=%s", names[i], shown[i]);
    printf("\n");
    code = CLI_OK;
done:
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(values);
    free(shown);
    reading_close(&r);
    return code;
}

/* ---- caviar delete --------------------------------------------------------------------------- */

int cmd_delete(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"yes", no_argument, 0, O_YES},               {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("delete", argc, argv, ":", longs, delete_help, 0, &o);
    if (code >= 0)
        return code;
    if (!o.study)
        return usage_error("delete", "--study NAME is required: a deletion names its study");
    int interactive = isatty(STDIN_FILENO);
    if (!o.yes && !interactive)
        return usage_error("delete", "deleting study '%s' needs --yes when the standard input "
                           "is not a terminal", o.study);
    db d;
    if ((code = db_open(&d, "delete", o.storage)) >= 0) {
        db_close(&d);
        return code;
    }
    const store_study *info = db_pick(&d, o.study, &code);
    if (!info) {
        db_close(&d);
        return code;
    }
    store_counts counts;
    caviar_error err = {0};
    if (d.type->count(d.st, info->id, &counts, &err) != CAVIAR_OK) {
        code = fail("delete", CLI_FAILURE, "%s", err.msg);
        db_close(&d);
        return code;
    }
    uint64_t n_trials = 0;
    for (int k = 0; k < 5; k++)
        n_trials += counts.n[k];
    uint64_t running = counts.n[CAVIAR_TRIAL_RUNNING];
    if (!o.yes) {
        fprintf(stderr, "delete study '%s' and its %llu trials from %s", info->name,
                (unsigned long long)n_trials, d.shown);
        if (running)
            fprintf(stderr, " (%llu running: their workers will stop with an error)",
                    (unsigned long long)running);
        fprintf(stderr, "? [y/N] ");
        fflush(stderr);
        char answer[64];
        if (!fgets(answer, sizeof answer, stdin))
            answer[0] = '\0';
        answer[strcspn(answer, "\r\n")] = '\0';
        if (strcmp(answer, "y") != 0 && strcmp(answer, "Y") != 0 &&
            strcmp(answer, "yes") != 0) {
            fprintf(stderr, "caviar delete: study '%s' was not deleted\n", info->name);
            db_close(&d);
            return CLI_FAILURE;
        }
    }
    char *name = strdup(info->name);
    if (!name || d.type->delete_study(d.st, name, &err) != CAVIAR_OK) {
        code = name ? fail("delete", err.status == CAVIAR_EMISSING ? CLI_USAGE : CLI_FAILURE,
                           "%s", err.msg)
                    : fail("delete", CLI_FAILURE, "out of memory");
    } else {
        printf("deleted study '%s' (%llu trials) from %s\n", name, (unsigned long long)n_trials,
               d.shown);
        code = CLI_OK;
    }
    free(name);
    db_close(&d);
    return code;
}

int cmd_importance(int argc, char **argv)
{
    enum { O_TREES = 600, O_SEED };
    /* --trees and --seed are read here; the rest by parse_opts. */
    report_importance_opts io;
    report_importance_opts_init(&io);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return fail("importance", CLI_FAILURE, "out of memory");
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        int trees = strcmp(argv[i], "--trees") == 0, seed = strcmp(argv[i], "--seed") == 0;
        if (!trees && !seed) {
            rest[n_rest++] = argv[i];
            continue;
        }
        uint64_t v;
        if (i + 1 >= argc || util_parse_u64(argv[i + 1], &v) != 0 ||
            (trees && (v < 1 || v > 10000))) {
            free(rest);
            return fail("importance", CLI_USAGE, "%s expects %s", argv[i],
                        trees ? "a number of trees from 1 to 10000" : "an integer >= 0");
        }
        if (trees)
            io.n_trees = (size_t)v;
        else
            io.seed = v;
        i++;
    }
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"json", no_argument, 0, O_JSON},             {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    cli_opts o;
    int code = parse_opts("importance", n_rest, rest, ":", longs, importance_help, 0, &o);
    free(rest);
    if (code >= 0)
        return code;
    reading r;
    if ((code = reading_open(&r, "importance", &o)) >= 0)
        return code;
    report_importance imp;
    caviar_error err = {0};
    if (report_importance_compute(r.s, &io, &imp, &err) != CAVIAR_OK) {
        code = fail("importance", CLI_FAILURE, "%s", err.msg);
        reading_close(&r);
        return code;
    }
    if (o.json) {
        printf("{\"study\": ");
        util_json_escape(stdout, r.info->name);
        printf(", \"trials\": %zu, \"params\": [", imp.n_trials);
        for (size_t i = 0; i < imp.n_params; i++) {
            printf("%s{\"name\": ", i ? ", " : "");
            util_json_escape(stdout, imp.params[i].name);
            printf(", \"share\": %.6g, \"sd\": %.6g}", imp.params[i].share, imp.params[i].sd);
        }
        printf("], \"pairs\": [");
        for (size_t i = 0; i < imp.n_pairs; i++) {
            printf("%s{\"a\": ", i ? ", " : "");
            util_json_escape(stdout, imp.params[imp.pairs[i].a].name);
            printf(", \"b\": ");
            util_json_escape(stdout, imp.params[imp.pairs[i].b].name);
            printf(", \"share\": %.6g}", imp.pairs[i].share);
        }
        printf("]}\n");
    } else {
        printf("study '%s': ", r.info->name);
        report_importance_print(&imp, stdout, isatty(1) ? 100 : 80);
    }
    report_importance_release(&imp);
    reading_close(&r);
    return CLI_OK;
}
