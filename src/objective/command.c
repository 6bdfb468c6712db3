/*
 * command.c — any program as objective: a trial is one run of it, with its parameters on the
 * command line, its metrics read from its standard output as it trains.
 *
 * The command line. The sweep's command is a template of arguments, expanded as W&B's agent
 * does, each macro being a whole argument:
 *   ${env}                    /usr/bin/env
 *   ${interpreter}            python3 for a program ending in .py, bash for .sh, nothing else
 *                             (W&B says "python", which Debian does not install; a program in
 *                             another language is run directly, by its #! line)
 *   ${program}                the sweep's program
 *   ${args}                   --name=value for each parameter
 *   ${args_no_hyphens}        name=value
 *   ${args_no_boolean_flags}  --name=value, but --name for a true boolean, nothing for false
 *   ${args_json}              one argument: every parameter as a JSON object
 *   ${args_json_file}         the path of log_dir/trial-N.json, holding that JSON object
 *   ${envvar:NAME}            the value of the environment variable NAME ("" when unset)
 * Any other argument is passed as it is; an unknown ${...} argument is refused by _new. Values
 * are written so that the program reads back exactly what the study recorded: floats in the
 * shortest form that reads back to the same double (%.15g, else %.16g, else %.17g: 0.001,
 * 1e-05), ints as integers, a string choice as it is (spaces and all: no shell is involved),
 * a boolean as True or False in flags (Python's str(), as W&B passes it) and as true or false
 * in JSON. Dotted names (optimizer.lr) are passed dotted in flags and nested in JSON
 * ({"optimizer": {"lr": 0.001}}).
 *
 * The child. fork + execvp, never a shell, in a process group of its own (so that a signal
 * reaches whatever it starts, and the terminal's Ctrl-C reaches only caviar, which decides),
 * stdin from /dev/null, stdout and stderr through pipes, every other descriptor closed,
 * signal dispositions and mask reset. Its environment is caviar's plus CAVIAR_TRIAL_NUMBER,
 * CAVIAR_STUDY (when known) and one BLAS/OpenMP thread: OMP_NUM_THREADS,
 * OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to opts.threads when it is > 0, and to 1
 * when it is 0 and caviar's environment does not set them already (the user's export wins
 * over the default, an explicit setting wins over both). An exec failure comes back through a
 * close-on-exec pipe as errno.
 *
 * While it runs. Both pipes are polled and read as data comes; complete lines go to the log
 * (stdout and stderr interleaved line by line, caviar's own notes as "caviar: ..." lines).
 * Each stdout line is given to metric_line_parse (metrics.c); a line that carries the study's
 * metric is reported at its step, or without one at one more than the largest step reported so
 * far (1, 2, ... for a program that never gives steps). A step reported before is skipped with
 * a note, a malformed metric line is noted and ignored: both are the program's business, not a
 * reason to fail the trial. A line longer than LINE_CAP bytes is logged but not parsed. After
 * each report the pruner is asked; to stop the program caviar sends SIGTERM to its group, goes
 * on reading (so that a program which writes while it dies is not blocked on a full pipe) and
 * sends SIGKILL kill_grace seconds later if it is still there.
 *
 * How a trial ends:
 *   pruned                      PRUNED, value: the last reported value
 *   past opts.timeout           FAIL "timed out after S s (see LOG)"
 *   caviar_stop_requested()     FAIL "interrupted" (the worker re-queues the trial)
 *   exit 0, metric seen         COMPLETE with the last value printed (W&B's summary value);
 *                               FAIL if that value is NaN or infinite
 *   exit 0, no metric           FAIL "the program printed no 'M' metric (see LOG)"
 *   exit N != 0, or a signal    FAIL "exit status N" / "killed by signal S (Name)", with the
 *                               log's path and the last TAIL_LINES lines of stderr
 *   exec failed                 FAIL "cannot run 'ARGV0': strerror"
 * The child is always waited for, and when it has ended whatever it left in its process group
 * is killed, so that no zombie and no stray process outlives the trial.
 *
 * Ownership: objective_command_new copies everything it is given; the objective is not
 * thread-safe (one per worker process, as the runner forks them).
 */
#define _GNU_SOURCE /* pipe2, close_range */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "objective.h"
#include "space/space.h"

extern char **environ;

#define LINE_CAP 65536  /* bytes of a line read for metrics */
#define TAIL_LINES 5    /* lines of stderr quoted when the program fails */
#define TAIL_LEN 160    /* bytes kept of each */
#define POLL_MS 100     /* longest sleep between looks at the clock and the stop flag */

static const char *const thread_vars[] = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS", NULL};
static const char *const default_argv[] = {"${env}", "${interpreter}", "${program}", "${args}"};
static const char *const macros[] = {"${env}", "${interpreter}", "${program}", "${args}",
                                     "${args_no_hyphens}", "${args_no_boolean_flags}",
                                     "${args_json}", "${args_json_file}", NULL};

struct objective_command {
    char **argv;
    size_t argc;
    char *program, *metric, *log_dir, *study;
    objective_param *params;
    size_t n_params;
    double timeout, kill_grace;
    int threads;
};

/* ---- small helpers --------------------------------------------------------------------------- */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

/* Appends s (taking it; NULL is an allocation that failed) and keeps v NULL-terminated. */
static int sv_push(strvec *sv, char *s)
{
    if (s && sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? 2 * sv->cap : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return -1;
        }
        sv->v = v, sv->cap = cap;
    }
    if (!s)
        return -1;
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
    return 0;
}

static void sv_release(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as x. */
static void format_double(double x, char *buf, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* mkdir -p */
static caviar_status make_dir(const char *path, caviar_error *err)
{
    char *p = xstrdup(path);
    if (!p)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            caviar_status st = util_err(err, CAVIAR_EIO, "cannot create log directory '%s': %s",
                                        p, strerror(errno));
            free(p);
            return st;
        }
        if (c == '\0')
            break;
        *s = c;
    }
    free(p);
    return CAVIAR_OK;
}

/* ---- parameters ------------------------------------------------------------------------------ */

caviar_status objective_param_suggest(caviar_trial *t, const objective_param *p, double *value,
                                      size_t *choice, caviar_error *err)
{
    double x;
    caviar_status st = caviar_trial_suggest(t, p->name, &p->dist, &x, err);
    if (st != CAVIAR_OK)
        return st;
    if (choice)
        *choice = 0;
    if (p->dist.kind == CAVIAR_DIST_CATEGORICAL) {
        size_t k = (size_t)x;
        const caviar_value *v = &p->dist.choices[k];
        if (choice)
            *choice = k;
        *value = v->type == CAVIAR_VALUE_STRING ? NAN : v->number;
        return CAVIAR_OK;
    }
    *value = x;
    return CAVIAR_OK;
}

/* The text of a value as flags carry it (malloc'd). */
static char *value_text(const objective_param *p, double x, size_t choice)
{
    char buf[40];
    if (p->dist.kind == CAVIAR_DIST_CATEGORICAL) {
        const caviar_value *v = &p->dist.choices[choice];
        if (v->type == CAVIAR_VALUE_STRING)
            return xstrdup(v->string);
        if (v->type == CAVIAR_VALUE_BOOL)
            return xstrdup(v->number != 0 ? "True" : "False");
        x = v->number;
    }
    if (p->dist.kind == CAVIAR_DIST_INT && fabs(x) < 9007199254740992.0)
        snprintf(buf, sizeof buf, "%.0f", x);
    else
        format_double(x, buf, sizeof buf);
    return xstrdup(buf);
}

/* 1 or 0 for a boolean choice, -1 for anything else. */
static int bool_value(const objective_param *p, size_t choice)
{
    if (p->dist.kind != CAVIAR_DIST_CATEGORICAL ||
        p->dist.choices[choice].type != CAVIAR_VALUE_BOOL)
        return -1;
    return p->dist.choices[choice].number != 0;
}

static void json_value(FILE *f, const objective_param *p, double x, size_t choice)
{
    int b = bool_value(p, choice);
    if (b >= 0) {
        fputs(b ? "true" : "false", f);
    } else if (p->dist.kind == CAVIAR_DIST_CATEGORICAL &&
               p->dist.choices[choice].type == CAVIAR_VALUE_STRING) {
        util_json_escape(f, p->dist.choices[choice].string);
    } else {
        char *s = value_text(p, x, choice);
        fputs(s ? s : "null", f);
        free(s);
    }
}

/* The members of the object holding the names that start with prefix (plen bytes, ending in
 * '.' unless empty): a name with another dot after the prefix opens a nested object, once. */
static void json_object(FILE *f, const objective_command *c, const double *xs,
                        const size_t *choices, const char *prefix, size_t plen)
{
    int first = 1;
    fputc('{', f);
    for (size_t i = 0; i < c->n_params; i++) {
        const char *name = c->params[i].name;
        if (strncmp(name, prefix, plen) != 0)
            continue;
        const char *rest = name + plen, *dot = strchr(rest, '.');
        size_t n = dot ? (size_t)(dot - rest) : strlen(rest);
        int seen = 0;
        for (size_t j = 0; dot && j < i && !seen; j++) {
            const char *other = c->params[j].name;
            seen = strncmp(other, name, plen + n) == 0 && other[plen + n] == '.';
        }
        if (seen)
            continue;
        fputs(first ? "" : ", ", f);
        first = 0;
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)n, rest);
        util_json_escape(f, key);
        fputs(": ", f);
        if (dot)
            json_object(f, c, xs, choices, name, plen + n + 1);
        else
            json_value(f, &c->params[i], xs[i], choices[i]);
    }
    fputc('}', f);
}

static char *json_text(const objective_command *c, const double *xs, const size_t *choices)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    json_object(f, c, xs, choices, "", 0);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- creation -------------------------------------------------------------------------------- */

caviar_status objective_command_new(const objective_command_opts *o, objective_command **out,
                                    caviar_error *err)
{
    *out = NULL;
    const char *const *argv = o->argv ? o->argv : default_argv;
    size_t argc = o->argv ? o->argc : sizeof default_argv / sizeof *default_argv;
    if (argc == 0)
        return util_err(err, CAVIAR_EINVAL, "the command is empty");
    if (!o->metric || !*o->metric)
        return util_err(err, CAVIAR_EINVAL, "the command objective needs a metric to read");
    if (!(o->timeout >= 0) || !(o->kill_grace >= 0) || o->threads < 0)
        return util_err(err, CAVIAR_EINVAL, "timeout, kill_grace and threads must be >= 0");
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!a)
            return util_err(err, CAVIAR_EINVAL, "argument %zu of the command is NULL", i);
        size_t n = strlen(a);
        if (n < 3 || strncmp(a, "${", 2) != 0 || a[n - 1] != '}' || strncmp(a, "${envvar:", 9) == 0)
            continue;
        if (util_lookup(a, macros) < 0)
            return util_err(err, CAVIAR_EINVAL, "unknown macro '%s' in the command\nhint: known: "
                            "${env}, ${interpreter}, ${program}, ${args}, ${args_no_hyphens}, "
                            "${args_no_boolean_flags}, ${args_json}, ${args_json_file}, "
                            "${envvar:NAME}", a);
        if ((!strcmp(a, "${program}") || !strcmp(a, "${interpreter}")) && !o->program)
            return util_err(err, CAVIAR_EINVAL, "the command uses %s but no program is given", a);
        if (!strcmp(a, "${args_json_file}") && !o->log_dir)
            return util_err(err, CAVIAR_EINVAL, "${args_json_file} needs a log directory");
    }
    for (size_t i = 0; i < o->n_params; i++) {
        const objective_param *p = &o->params[i];
        const char *name = p->name ? p->name : "";
        caviar_status st = caviar_dist_check(&p->dist, name, err);
        if (st != CAVIAR_OK)
            return st;
        if (!*name || name[0] == '.' || name[strlen(name) - 1] == '.' || strstr(name, ".."))
            return util_err(err, CAVIAR_EINVAL, "bad parameter name '%s'", name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->params[j].name, name) == 0)
                return util_err(err, CAVIAR_EINVAL, "parameter '%s' is given twice", name);
    }
    if (o->log_dir) {
        caviar_status st = make_dir(o->log_dir, err);
        if (st != CAVIAR_OK)
            return st;
    }
    objective_command *c = calloc(1, sizeof *c);
    if (!c)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    c->argv = calloc(argc, sizeof *c->argv);
    c->params = calloc(o->n_params ? o->n_params : 1, sizeof *c->params);
    c->program = xstrdup(o->program);
    c->metric = xstrdup(o->metric);
    c->log_dir = xstrdup(o->log_dir);
    c->study = xstrdup(o->study);
    c->timeout = o->timeout;
    c->kill_grace = o->kill_grace > 0 ? o->kill_grace : 5;
    c->threads = o->threads;
    int bad = !c->argv || !c->params || (o->program && !c->program) || !c->metric ||
              (o->log_dir && !c->log_dir) || (o->study && !c->study);
    for (size_t i = 0; i < argc && !bad; i++, c->argc++)
        bad = !(c->argv[i] = strdup(argv[i]));
    for (size_t i = 0; i < o->n_params && !bad; i++, c->n_params++) {
        bad = !(c->params[i].name = strdup(o->params[i].name)) ||
              space_dist_copy(&c->params[i].dist, &o->params[i].dist, NULL) != CAVIAR_OK;
    } /* (the loop counts a failed entry too, so that _free releases what it holds) */
    if (bad) {
        objective_command_free(c);
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    *out = c;
    return CAVIAR_OK;
}

void objective_command_free(objective_command *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->argc; i++)
        free(c->argv[i]);
    for (size_t i = 0; i < c->n_params; i++) {
        free((char *)c->params[i].name);
        space_dist_release(&c->params[i].dist);
    }
    free(c->argv);
    free(c->params);
    free(c->program);
    free(c->metric);
    free(c->log_dir);
    free(c->study);
    free(c);
}

/* ---- one run --------------------------------------------------------------------------------- */

typedef enum ending { END_NONE, END_PRUNED, END_TIMEOUT, END_STOP } ending;

typedef struct stream {
    int fd;          /* -1 once closed */
    char *buf;       /* LINE_CAP bytes: the line being read */
    size_t len;
    int overlong;    /* the current line did not fit: its start is already in the log */
} stream;

typedef struct run {
    const objective_command *c;
    caviar_trial *t;
    int log_fd;
    char *log_path;
    stream out, err;
    char tail[TAIL_LINES][TAIL_LEN]; /* the last lines of stderr, a ring */
    size_t n_tail;
    metric_line line;
    int64_t *steps;  /* reported steps, sorted */
    size_t n_steps, cap_steps;
    size_t n_values; /* values of the metric reported */
    double last;     /* the last of them */
    int64_t last_step;
    pid_t pid;
    ending end;
    double kill_at;  /* when SIGKILL follows SIGTERM (end != END_NONE) */
    int killed;
} run;

static void log_write(run *r, const char *s, size_t n)
{
    while (r->log_fd >= 0 && n > 0) {
        ssize_t k = write(r->log_fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* a full disk loses the log, not the trial */
        s += k, n -= (size_t)k;
    }
}

static void note(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(run *r, const char *fmt, ...)
{
    char buf[1200];
    int n = snprintf(buf, sizeof buf, "caviar: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(buf, "\n");
    log_write(r, buf, strlen(buf));
}

/* The command line at the top of the log, quoted as a shell would need it. */
static void note_command(run *r, char *const *argv)
{
    char head[512];
    snprintf(head, sizeof head, "caviar: trial %llu%s%s%s:",
             (unsigned long long)caviar_trial_number(r->t), r->c->study ? " of study '" : "",
             r->c->study ? r->c->study : "", r->c->study ? "'" : "");
    log_write(r, head, strlen(head));
    for (size_t i = 0; argv[i]; i++) {
        const char *a = argv[i];
        log_write(r, " ", 1);
        if (*a && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            "_./=:,+-@%") == strlen(a)) {
            log_write(r, a, strlen(a));
            continue;
        }
        log_write(r, "'", 1);
        for (const char *q; (q = strchr(a, '\'')) != NULL; a = q + 1) {
            log_write(r, a, (size_t)(q - a));
            log_write(r, "'\\''", 4);
        }
        log_write(r, a, strlen(a));
        log_write(r, "'", 1);
    }
    log_write(r, "\n", 1);
}

/* Asks the program to stop: SIGTERM to its group now, SIGKILL after the grace period. */
static void stop_child(run *r, ending why)
{
    r->end = why;
    r->kill_at = util_now() + r->c->kill_grace;
    kill(-r->pid, SIGTERM);
}

/* Whether step was reported; if not, records it (sorted). */
static int step_seen(run *r, int64_t step)
{
    size_t lo = 0, hi = r->n_steps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->steps[mid] < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->n_steps && r->steps[lo] == step)
        return 1;
    if (r->n_steps == r->cap_steps) {
        size_t cap = r->cap_steps ? 2 * r->cap_steps : 64;
        int64_t *s = realloc(r->steps, cap * sizeof *s);
        if (!s)
            return 0; /* without memory, repeats reach the store, which refuses them */
        r->steps = s, r->cap_steps = cap;
    }
    memmove(r->steps + lo + 1, r->steps + lo, (r->n_steps - lo) * sizeof *r->steps);
    r->steps[lo] = step;
    r->n_steps++;
    return 0;
}

static void on_stdout_line(run *r, const char *s, size_t n)
{
    caviar_error perr;
    if (r->end != END_NONE)
        return; /* the trial is decided: what comes now is only logged */
    int k = metric_line_parse(s, n, &r->line, &perr);
    if (k < 0)
        note(r, "the line above is not read as metrics: %s", perr.msg);
    if (k <= 0)
        return;
    size_t i = 0;
    while (i < r->line.n && strcmp(r->line.kv[i].name, r->c->metric) != 0)
        i++;
    if (i == r->line.n)
        return;
    double v = r->line.kv[i].value;
    int64_t step = r->line.has_step ? r->line.step
                   : r->n_steps ? r->steps[r->n_steps - 1] + 1 : 1;
    if (step_seen(r, step)) {
        note(r, "step %lld of '%s' was reported before: line skipped", (long long)step,
             r->c->metric);
        return;
    }
    if (caviar_trial_report(r->t, step, v, &perr) != CAVIAR_OK) {
        note(r, "cannot record '%s' at step %lld: %s", r->c->metric, (long long)step, perr.msg);
        return;
    }
    r->last = v, r->last_step = step, r->n_values++;
    if (caviar_trial_should_prune(r->t) && !caviar_stop_requested()) {
        char num[40];
        format_double(v, num, sizeof num);
        note(r, "pruned at step %lld (%s = %s): SIGTERM", (long long)step, r->c->metric, num);
        stop_child(r, END_PRUNED);
    }
}

static void on_stderr_line(run *r, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    char *slot = r->tail[r->n_tail++ % TAIL_LINES];
    snprintf(slot, TAIL_LEN, "%.*s", (int)n, s);
}

/* A line of stream s (without its newline) is complete: logs and reads it. */
static void line_done(run *r, stream *s, const char *line, size_t n)
{
    log_write(r, line, n);
    log_write(r, "\n", 1);
    if (s == &r->err) {
        on_stderr_line(r, line, n);
    } else if (s->overlong) {
        note(r, "the line above is longer than %d bytes: not read as metrics", LINE_CAP);
    } else {
        on_stdout_line(r, line, n);
    }
    s->overlong = 0;
}

/* Reads what s has (once; with drain, until it is empty) and handles every complete line. */
static void pump(run *r, stream *s, int drain)
{
    for (int rounds = 0; s->fd >= 0 && rounds < (drain ? 4096 : 1); rounds++) {
        ssize_t k = read(s->fd, s->buf + s->len, LINE_CAP - s->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) { /* the end, or an error that ends it: a last line without newline */
            if (s->len > 0 || s->overlong)
                line_done(r, s, s->buf, s->len);
            s->len = 0;
            close(s->fd);
            s->fd = -1;
            return;
        }
        size_t start = 0, from = s->len; /* no newline before from */
        s->len += (size_t)k;
        char *nl;
        while ((nl = memchr(s->buf + from, '\n', s->len - from)) != NULL) {
            size_t end = (size_t)(nl - s->buf);
            line_done(r, s, s->buf + start, end - start);
            start = from = end + 1;
        }
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
        if (s->len == LINE_CAP) { /* no newline in sight: log what we have, read no metrics */
            log_write(r, s->buf, s->len);
            s->len = 0;
            s->overlong = 1;
        }
    }
}

/* ---- the command line and the environment ---------------------------------------------------- */

static int uses(const objective_command *c, const char *macro)
{
    for (size_t i = 0; i < c->argc; i++)
        if (strcmp(c->argv[i], macro) == 0)
            return 1;
    return 0;
}

/* Expands the template (see the top of the file); -1 when out of memory. */
static int expand(const objective_command *c, const double *xs, const size_t *choices,
                  const char *json, const char *json_path, strvec *argv)
{
    for (size_t i = 0; i < c->argc; i++) {
        const char *a = c->argv[i];
        int st = 0;
        if (strcmp(a, "${env}") == 0) {
            st = sv_push(argv, xstrdup("/usr/bin/env"));
        } else if (strcmp(a, "${interpreter}") == 0) {
            if (ends_with(c->program, ".py"))
                st = sv_push(argv, xstrdup("python3"));
            else if (ends_with(c->program, ".sh"))
                st = sv_push(argv, xstrdup("bash"));
        } else if (strcmp(a, "${program}") == 0) {
            st = sv_push(argv, xstrdup(c->program));
        } else if (strcmp(a, "${args_json}") == 0) {
            st = sv_push(argv, xstrdup(json));
        } else if (strcmp(a, "${args_json_file}") == 0) {
            st = sv_push(argv, xstrdup(json_path));
        } else if (strncmp(a, "${envvar:", 9) == 0 && a[strlen(a) - 1] == '}') {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(strlen(a) - 10), a + 9);
            const char *v = getenv(name);
            st = sv_push(argv, xstrdup(v ? v : ""));
        } else if (strcmp(a, "${args}") == 0 || strcmp(a, "${args_no_hyphens}") == 0 ||
                   strcmp(a, "${args_no_boolean_flags}") == 0) {
            int hyphens = strcmp(a, "${args_no_hyphens}") != 0;
            int flags = strcmp(a, "${args_no_boolean_flags}") == 0;
            for (size_t k = 0; k < c->n_params && st == 0; k++) {
                const objective_param *p = &c->params[k];
                int b = bool_value(p, choices[k]);
                if (flags && b == 0)
                    continue;
                if (flags && b == 1) {
                    st = sv_push(argv, xprintf("--%s", p->name));
                    continue;
                }
                char *text = value_text(p, xs[k], choices[k]);
                st = text ? sv_push(argv, xprintf("%s%s=%s", hyphens ? "--" : "", p->name, text))
                          : -1;
                free(text);
            }
        } else {
            st = sv_push(argv, xstrdup(a));
        }
        if (st != 0)
            return -1;
    }
    return 0;
}

static int env_name_is(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* caviar's environment with the trial's variables and the thread counts (see the top). */
static int make_env(const objective_command *c, uint64_t number, strvec *env)
{
    for (char **e = environ; e && *e; e++) {
        int drop = env_name_is(*e, "CAVIAR_TRIAL_NUMBER") || env_name_is(*e, "CAVIAR_STUDY");
        for (size_t i = 0; thread_vars[i] && c->threads > 0; i++)
            drop |= env_name_is(*e, thread_vars[i]);
        if (!drop && sv_push(env, xstrdup(*e)) != 0)
            return -1;
    }
    for (size_t i = 0; thread_vars[i]; i++)
        if (c->threads > 0 || !getenv(thread_vars[i]))
            if (sv_push(env, xprintf("%s=%d", thread_vars[i], c->threads > 0 ? c->threads : 1)))
                return -1;
    if (sv_push(env, xprintf("CAVIAR_TRIAL_NUMBER=%llu", (unsigned long long)number)) != 0)
        return -1;
    if (c->study && sv_push(env, xprintf("CAVIAR_STUDY=%s", c->study)) != 0)
        return -1;
    return 0;
}

/* ---- the child process ----------------------------------------------------------------------- */

/* fd itself, or a close-on-exec copy of it at 3 or above (so that dup2 onto 0-2 is safe). */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

static int make_pipe(int p[2])
{
    p[0] = p[1] = -1;
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    p[0] = above_stdio(p[0]);
    p[1] = above_stdio(p[1]);
    return p[0] >= 0 && p[1] >= 0 ? 0 : -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child(int in, int out, int errfd, int report, char **argv, char **envp)
{
    int to = report; /* where an errno goes: report, then its copy at 3 */
    setpgid(0, 0);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0 ||
        (report != 3 && dup2(report, 3) < 0))
        goto failed;
    to = 3;
    if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
        goto failed;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (close_range(4, ~0U, 0) != 0)
#endif
        for (int fd = 4; fd < 65536; fd++)
            close(fd);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* fails harmlessly for the libc's own signals */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    environ = envp;
    execvp(argv[0], argv);
failed:;
    int e = errno;
    ssize_t ignored = write(to, &e, sizeof e);
    (void)ignored;
    _exit(127);
}

static caviar_status spawn(run *r, char **argv, char **envp, caviar_error *err)
{
    int in = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, ex[2] = {-1, -1};
    caviar_status st = CAVIAR_OK;
    if (in < 0 || make_pipe(out) != 0 || make_pipe(errp) != 0 || make_pipe(ex) != 0) {
        st = util_err(err, CAVIAR_EIO, "cannot start '%s': %s", argv[0], strerror(errno));
        goto done;
    }
    pid_t pid = fork();
    if (pid < 0) {
        st = util_err(err, CAVIAR_EIO, "cannot start '%s': fork: %s", argv[0], strerror(errno));
        goto done;
    }
    if (pid == 0)
        child(in, out[1], errp[1], ex[1], argv, envp);
    setpgid(pid, pid); /* the child does it too: whichever comes first, no window */
    close_fd(&ex[1]);
    int e = 0;
    ssize_t n;
    while ((n = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    if (n == (ssize_t)sizeof e) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        st = util_err(err, e == ENOENT ? CAVIAR_EMISSING : CAVIAR_EIO, "cannot run '%s': %s%s",
                      argv[0], strerror(e),
                      e == ENOENT && !strchr(argv[0], '/') ? "\nhint: it is not on PATH" : "");
        goto done;
    }
    r->pid = pid;
    r->out.fd = out[0], r->err.fd = errp[0];
    out[0] = errp[0] = -1;
    fcntl(r->out.fd, F_SETFL, fcntl(r->out.fd, F_GETFL) | O_NONBLOCK);
    fcntl(r->err.fd, F_SETFL, fcntl(r->err.fd, F_GETFL) | O_NONBLOCK);
done:
    close_fd(&in);
    close_fd(&out[0]), close_fd(&out[1]);
    close_fd(&errp[0]), close_fd(&errp[1]);
    close_fd(&ex[0]), close_fd(&ex[1]);
    return st;
}

/* Reads the program's output until it has ended (by itself or by our signals); returns its
 * wait status. The leader is reaped last, after the SIGKILL to its group, so that its pid, and
 * with it the group's id, cannot be reused by another process in between. */
static int supervise(run *r)
{
    const objective_command *c = r->c;
    double deadline = c->timeout > 0 ? util_now() + c->timeout : 0;
    for (;;) {
        siginfo_t info;
        info.si_pid = 0;
        if (waitid(P_PID, (id_t)r->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == r->pid)
            break;
        double now = util_now();
        if (r->end == END_NONE && caviar_stop_requested()) {
            note(r, "caviar is stopping: SIGTERM");
            stop_child(r, END_STOP);
        } else if (r->end == END_NONE && deadline > 0 && now >= deadline) {
            note(r, "timed out after %g s: SIGTERM", c->timeout);
            stop_child(r, END_TIMEOUT);
        }
        if (r->end != END_NONE && !r->killed && now >= r->kill_at) {
            note(r, "still running %g s after SIGTERM: SIGKILL", c->kill_grace);
            kill(-r->pid, SIGKILL);
            r->killed = 1;
        }
        double wait = POLL_MS / 1000.0;
        if (r->end == END_NONE && deadline > 0)
            wait = fmin(wait, deadline - now);
        if (r->end != END_NONE && !r->killed)
            wait = fmin(wait, r->kill_at - now);
        if (r->out.fd < 0 && r->err.fd < 0)
            wait = fmin(wait, 0.01); /* both closed: only the exit is left to see */
        struct pollfd fds[2] = {{r->out.fd, POLLIN, 0}, {r->err.fd, POLLIN, 0}};
        if (poll(fds, 2, wait > 0 ? (int)ceil(wait * 1000) : 0) > 0) {
            if (fds[0].revents)
                pump(r, &r->out, 0);
            if (fds[1].revents)
                pump(r, &r->err, 0);
        }
    }
    pump(r, &r->out, 1);
    pump(r, &r->err, 1);
    kill(-r->pid, SIGKILL); /* what it left running in its group */
    int status = 0;
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        ;
    r->pid = 0;
    return status;
}

/* ---- the verdict ----------------------------------------------------------------------------- */

static caviar_trial_state verdict(run *r, int status, double *value, caviar_error *err)
{
    const char *m = r->c->metric;
    char see[600] = "";
    if (r->log_path)
        snprintf(see, sizeof see, " (see %s)", r->log_path);
    *value = r->n_values ? r->last : NAN;
    switch (r->end) {
    case END_PRUNED:
        return CAVIAR_TRIAL_PRUNED;
    case END_STOP:
        util_err(err, CAVIAR_STOPPED, "interrupted");
        return CAVIAR_TRIAL_FAIL;
    case END_TIMEOUT:
        util_err(err, CAVIAR_EIO, "timed out after %g s%s", r->c->timeout, see);
        return CAVIAR_TRIAL_FAIL;
    case END_NONE:
        break;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (r->n_values == 0) {
            util_err(err, CAVIAR_EMISSING, "the program printed no '%s' metric%s", m, see);
            return CAVIAR_TRIAL_FAIL;
        }
        if (!isfinite(r->last)) {
            util_err(err, CAVIAR_DIVERGED, "the program's last '%s' is %s, at step %lld%s", m,
                     isnan(r->last) ? "nan" : r->last > 0 ? "inf" : "-inf",
                     (long long)r->last_step, see);
            return CAVIAR_TRIAL_FAIL;
        }
        return CAVIAR_TRIAL_COMPLETE;
    }
    char msg[CAVIAR_ERRMSG_LEN];
    size_t at;
    if (WIFSIGNALED(status))
        at = (size_t)snprintf(msg, sizeof msg, "killed by signal %d (%s)%s", WTERMSIG(status),
                              strsignal(WTERMSIG(status)), see);
    else
        at = (size_t)snprintf(msg, sizeof msg, "exit status %d%s", WEXITSTATUS(status), see);
    size_t n = r->n_tail < TAIL_LINES ? r->n_tail : TAIL_LINES;
    if (n > 0 && at < sizeof msg)
        at += (size_t)snprintf(msg + at, sizeof msg - at, "; the last lines of its stderr:");
    for (size_t i = r->n_tail - n; i < r->n_tail && at < sizeof msg; i++)
        at += (size_t)snprintf(msg + at, sizeof msg - at, "\n  %s", r->tail[i % TAIL_LINES]);
    util_err(err, CAVIAR_EIO, "%s", msg);
    return CAVIAR_TRIAL_FAIL;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int bad = fputs(text, f) < 0 || fputc('\n', f) == EOF;
    return fclose(f) != 0 || bad ? -1 : 0;
}

caviar_trial_state objective_command_run(caviar_trial *t, void *user, double *value,
                                         caviar_error *err)
{
    const objective_command *c = user;
    unsigned long long number = (unsigned long long)caviar_trial_number(t);
    run r;
    memset(&r, 0, sizeof r);
    r.c = c, r.t = t, r.log_fd = r.out.fd = r.err.fd = -1;
    strvec argv = {0}, env = {0};
    char *json = NULL, *json_path = NULL;
    caviar_trial_state state = CAVIAR_TRIAL_FAIL;
    double *xs = calloc(c->n_params + 1, sizeof *xs);
    size_t *choices = calloc(c->n_params + 1, sizeof *choices);
    r.out.buf = malloc(LINE_CAP);
    r.err.buf = malloc(LINE_CAP);
    *value = NAN;
    if (!xs || !choices || !r.out.buf || !r.err.buf) {
        util_err(err, CAVIAR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c->n_params; i++)
        if (objective_param_suggest(t, &c->params[i], &xs[i], &choices[i], err) != CAVIAR_OK)
            goto done;
    if (c->log_dir) {
        if (make_dir(c->log_dir, err) != CAVIAR_OK)
            goto done;
        if (!(r.log_path = xprintf("%s/trial-%llu.log", c->log_dir, number))) {
            util_err(err, CAVIAR_ENOMEM, "out of memory");
            goto done;
        }
        r.log_fd = open(r.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (r.log_fd < 0) {
            util_err(err, CAVIAR_EIO, "cannot open log '%s': %s", r.log_path, strerror(errno));
            goto done;
        }
        if (caviar_trial_set_attr(t, "log", r.log_path, err) != CAVIAR_OK)
            goto done;
    }
    if (uses(c, "${args_json}") || uses(c, "${args_json_file}")) {
        if (!(json = json_text(c, xs, choices))) {
            util_err(err, CAVIAR_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (uses(c, "${args_json_file}")) {
        if (!(json_path = xprintf("%s/trial-%llu.json", c->log_dir, number))) {
            util_err(err, CAVIAR_ENOMEM, "out of memory");
            goto done;
        }
        if (write_text(json_path, json) != 0) {
            util_err(err, CAVIAR_EIO, "cannot write '%s': %s", json_path, strerror(errno));
            goto done;
        }
    }
    if (expand(c, xs, choices, json, json_path, &argv) != 0 || make_env(c, number, &env) != 0) {
        util_err(err, CAVIAR_ENOMEM, "out of memory");
        goto done;
    }
    if (argv.n == 0) {
        util_err(err, CAVIAR_EINVAL, "the command expands to nothing");
        goto done;
    }
    if (caviar_stop_requested()) { /* the worker is stopping: start nothing */
        util_err(err, CAVIAR_STOPPED, "interrupted");
        goto done;
    }
    note_command(&r, argv.v);
    if (spawn(&r, argv.v, env.v, err) != CAVIAR_OK) {
        note(&r, "%s", err ? err->msg : "cannot start the program");
        goto done;
    }
    int status = supervise(&r);
    for (stream *s = &r.out; s; s = s == &r.out ? &r.err : NULL) {
        if (s->len > 0 || s->overlong)
            line_done(&r, s, s->buf, s->len);
        close_fd(&s->fd);
    }
    state = verdict(&r, status, value, err);
    if (state == CAVIAR_TRIAL_FAIL) {
        note(&r, "FAIL: %s", err ? err->msg : "");
    } else {
        char num[40];
        format_double(*value, num, sizeof num);
        note(&r, "%s with %s = %s", state == CAVIAR_TRIAL_PRUNED ? "PRUNED" : "COMPLETE",
             c->metric, num);
    }
done:
    close_fd(&r.log_fd);
    close_fd(&r.out.fd);
    close_fd(&r.err.fd);
    free(r.out.buf);
    free(r.err.buf);
    free(r.steps);
    free(r.log_path);
    free(json);
    free(json_path);
    free(xs);
    free(choices);
    sv_release(&argv);
    sv_release(&env);
    return state;
}
