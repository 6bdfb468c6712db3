/*
 * cmd_panda.c — caviar panda FILE: babysit one model, at a prompt (libedit: line editing and
 * history), from a script of prompt commands, or automatically.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"
#include "config/config.h"
#include "panda/chart.h"
#include "panda/panda.h"

static const char usage[] =
    "usage: caviar panda FILE [options]\n"
    "\n"
    "Babysits one model of the sweep file's built-in trainer: it trains a day (panda:\n"
    "day_epochs) at a time, shows the learning curve, and lets you change the hyperparameters\n"
    "the file gives bounds for, keeping the weights. Every day is kept in the study database;\n"
    "running the command again resumes the session. A hyperparameter starts at panda:\n"
    "start.NAME, else at its parameter's value, else at the middle of its range.\n"
    "\n"
    "Commands at the prompt:\n"
    "  set NAME=VALUE ...   change hyperparameters for the next days (lr, momentum, beta1,\n"
    "                       beta2, eps, dropout, l2, batch_size), within the file's bounds\n"
    "  continue [N]         train N days (default 1); an empty line is continue\n"
    "  rollback DAY         go back to the exact state at the end of DAY (0: the fresh model)\n"
    "  history              every day: its parent, hyperparameters, result and note\n"
    "  best                 the best day so far\n"
    "  chart                the learning curve of the current branch\n"
    "  save PATH            write the current model as a checkpoint file\n"
    "  help, quit\n"
    "\n"
    "Options:\n"
    "  --auto               a policy babysits: raises the learning rate while the dev metric\n"
    "                       improves smoothly, rolls back and lowers it when the loss jumps,\n"
    "                       lowers it on a plateau, stops after panda: patience days\n"
    "  --days N             at most N days in this run (--auto; default 20)\n"
    "  --script FILE        read the prompt's commands from FILE ('-': standard input)\n"
    "  --storage URL        the study database (default: the file's storage, else caviar.db)\n"
    "  --study NAME         the study (default: the file's study or name, else 'panda')\n"
    "  --no-chart           no learning-curve chart after each day\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 done, 1 failure, 2 bad options or file.\n";

/* Ctrl-C: stops a day after its current epoch (the day is not kept), or drops the line being
 * typed; a second Ctrl-C while a day trains ends the program. */
static volatile int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    if (interrupted) {
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    interrupted = 1;
}

typedef struct session {
    panda *p;
    int chart;
    char note[256]; /* what changed since the last day: the next day's note */
    int interactive;
} session;

static void add_note(session *s, const char *what)
{
    size_t n = strlen(s->note);
    snprintf(s->note + n, sizeof s->note - n, "%s%s", n ? "; " : "", what);
}

static int term_width(void)
{
    struct winsize ws;
    if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col > 120 ? 120 : ws.ws_col;
    return 80;
}

static void print_hparams(const caviar_nn_hparams *hp)
{
    printf("  lr %g  momentum %g  beta1 %g  beta2 %g  eps %g  batch_size %zu  dropout %g  l2 %g\n",
           hp->lr, hp->momentum, hp->beta1, hp->beta2, hp->eps, hp->batch_size, hp->dropout,
           hp->l2);
}

static void print_day(const panda *p, const panda_day *d)
{
    const char *m = panda_metric_name(panda_metric_of(p));
    const panda_epoch *e = d->n_curve ? &d->curve[d->n_curve - 1] : NULL;
    if (d->diverged)
        printf("day %llu (from day %llu, epoch %zu): DIVERGED", (unsigned long long)d->day,
               (unsigned long long)d->parent, d->epoch);
    else
        printf("day %llu (from day %llu, epoch %zu): train loss %.4f, dev loss %.4f, dev %s "
               "%.4f", (unsigned long long)d->day, (unsigned long long)d->parent, d->epoch,
               e ? e->train_loss : NAN, e ? e->dev_loss : NAN, m, d->value);
    printf(", checksum %08x\n", (unsigned)d->checksum);
    if (d->note[0])
        printf("  %s\n", d->note);
}

/* The learning curve of the branch ending at the head: losses on the left (log), the dev
 * metric on the right, a line at each day's start. */
static void show_chart(const session *s)
{
    const panda *p = s->p;
    uint64_t branch[4096];
    size_t n = panda_branch(p, panda_head(p), branch, 4096), pts = 0;
    for (size_t i = 0; i < n; i++)
        pts += panda_get_day(p, branch[i])->n_curve;
    if (!pts)
        return;
    double *x = malloc(pts * sizeof *x), *tl = malloc(pts * sizeof *tl);
    double *dl = malloc(pts * sizeof *dl), *dm = malloc(pts * sizeof *dm);
    double *vl = malloc((n + 1) * sizeof *vl);
    if (x && tl && dl && dm && vl) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const panda_day *d = panda_get_day(p, branch[i]);
            vl[i] = d->n_curve ? (double)d->curve[0].epoch - 0.5 : NAN;
            for (size_t j = 0; j < d->n_curve; j++, k++) {
                x[k] = (double)d->curve[j].epoch;
                tl[k] = d->curve[j].train_loss;
                dl[k] = d->curve[j].dev_loss;
                dm[k] = d->curve[j].dev_metric;
            }
        }
        char metric[64];
        snprintf(metric, sizeof metric, "dev %s", panda_metric_name(panda_metric_of(p)));
        chart_series series[3] = {{"train loss", x, tl, pts, '*', 0},
                                  {"dev loss", x, dl, pts, 'o', 0},
                                  {metric, x, dm, pts, '+', 1}};
        char title[64];
        snprintf(title, sizeof title, "learning curve up to day %llu",
                 (unsigned long long)panda_head(p));
        chart_opts o = {.width = term_width(), .height = 16, .log_left = 1, .unicode = 0,
                        .vlines = vl, .n_vlines = n > 1 ? n : 0, .title = title};
        char *text = chart_render(series, 3, &o);
        if (text)
            fputs(text, stdout);
        free(text);
    }
    free(x);
    free(tl);
    free(dl);
    free(dm);
    free(vl);
}

static int train_days(session *s, size_t days, const char *note)
{
    for (size_t i = 0; i < days; i++) {
        caviar_error err;
        /* A Ctrl-C since the command was typed (the flag is cleared before each prompt and
         * after each day) stops this day before it starts: clearing it here would lose one
         * pressed just after Enter. */
        caviar_status st = panda_train_day(s->p, i == 0 ? note : "", &err);
        interrupted = 0;
        if (st == CAVIAR_STOPPED) {
            printf("interrupted: the day was not kept; still at day %llu\n",
                   (unsigned long long)panda_head(s->p));
            return 1;
        }
        if (st != CAVIAR_OK) {
            fprintf(stderr, "caviar panda: %s\n", err.msg);
            return -1;
        }
        const panda_day *d = panda_get_day(s->p, panda_head(s->p));
        if (s->chart)
            show_chart(s);
        print_day(s->p, d);
        fflush(stdout);
        if (d->diverged)
            return 0; /* the user decides: rollback */
    }
    return 0;
}

static void print_history(const panda *p)
{
    size_t n = panda_n_days(p);
    if (!n) {
        printf("no day yet\n");
        return;
    }
    printf("%5s %6s %6s %10s %10s %10s  %s\n", "day", "parent", "epoch", "lr", "batch",
           panda_metric_name(panda_metric_of(p)), "note");
    for (uint64_t d = 1; d <= n; d++) {
        const panda_day *day = panda_get_day(p, d);
        printf("%5llu %6llu %6zu %10.4g %10zu %10.4f  %s%s\n", (unsigned long long)d,
               (unsigned long long)day->parent, day->epoch, day->hp.lr, day->hp.batch_size,
               day->value, day->diverged ? "DIVERGED " : "", day->note);
    }
    printf("head: day %llu\n", (unsigned long long)panda_head(p));
}

/* Runs one prompt command; 1 to quit, -1 on a failure that ends the session. */
static int run_command(session *s, char *line)
{
    char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
    caviar_error err;
    if (!cmd || strcmp(cmd, "continue") == 0 || strcmp(cmd, "c") == 0) {
        char *arg = cmd ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        size_t days = 1;
        if (arg && (util_parse_size(arg, &days) != 0 || days < 1 || days > 100000)) {
            printf("continue: expected a number of days >= 1, got '%s'\n", arg);
            return 0;
        }
        int r = train_days(s, days, s->note);
        s->note[0] = '\0';
        if (r > 0 && !s->interactive)
            return 1; /* a script stops at Ctrl-C */
        return r < 0 ? -1 : 0;
    }
    if (strcmp(cmd, "set") == 0) {
        caviar_nn_hparams before = *panda_pending(s->p);
        char *arg, note[256] = "set";
        int any = 0;
        while ((arg = strtok_r(NULL, " \t\r\n", &save))) {
            char *eq = strchr(arg, '=');
            if (!eq || eq == arg || !eq[1]) {
                printf("set: expected NAME=VALUE, got '%s'\n", arg);
                any = -1;
                break;
            }
            *eq = '\0';
            if (panda_set(s->p, arg, eq + 1, &err) != CAVIAR_OK) {
                printf("set: %s\n", err.msg);
                any = -1;
                break;
            }
            snprintf(note + strlen(note), sizeof note - strlen(note), " %s=%s", arg, eq + 1);
            any = 1;
        }
        if (any <= 0) {
            if (any == 0)
                printf("set: expected NAME=VALUE ...\n");
            panda_restore_pending(s->p, &before); /* all or nothing */
            return 0;
        }
        add_note(s, note);
        printf("next day trains with:\n");
        print_hparams(panda_pending(s->p));
        return 0;
    }
    if (strcmp(cmd, "rollback") == 0) {
        char *arg = strtok_r(NULL, " \t\r\n", &save);
        uint64_t day;
        if (!arg || util_parse_u64(arg, &day) != 0) {
            printf("rollback: expected a day number, got '%s'\n", arg ? arg : "");
            return 0;
        }
        if (panda_rollback(s->p, day, &err) != CAVIAR_OK) {
            printf("rollback: %s\n", err.msg);
            return 0;
        }
        char what[64];
        snprintf(what, sizeof what, "rollback to day %llu", (unsigned long long)day);
        s->note[0] = '\0'; /* what was set before now applies to nothing */
        add_note(s, what);
        printf("back at the end of day %llu, checksum %08x; next day trains with:\n",
               (unsigned long long)day, (unsigned)panda_checksum(s->p));
        print_hparams(panda_pending(s->p));
        return 0;
    }
    if (strcmp(cmd, "history") == 0) {
        print_history(s->p);
        return 0;
    }
    if (strcmp(cmd, "best") == 0) {
        uint64_t b = panda_best(s->p);
        if (!b)
            printf("no completed day yet\n");
        else
            print_day(s->p, panda_get_day(s->p, b));
        return 0;
    }
    if (strcmp(cmd, "chart") == 0) {
        show_chart(s);
        return 0;
    }
    if (strcmp(cmd, "save") == 0) {
        char *arg = strtok_r(NULL, " \t\r\n", &save);
        if (!arg) {
            printf("save: expected a path\n");
            return 0;
        }
        if (panda_save(s->p, arg, &err) != CAVIAR_OK)
            printf("save: %s\n", err.msg);
        else
            printf("saved the model at day %llu to %s\n", (unsigned long long)panda_head(s->p),
                   arg);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        fputs(strstr(usage, "Commands at the prompt:"), stdout);
        return 0;
    }
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0 || strcmp(cmd, "q") == 0)
        return 1;
    printf("unknown command '%s'; expected set, continue, rollback, history, best, chart, save, "
           "help or quit\n", cmd);
    return 0;
}

static int run_auto(session *s, size_t max_days)
{
    for (size_t i = 0; i < max_days; i++) {
        int stop;
        char why[256];
        caviar_error err;
        if (panda_auto(s->p, &stop, why, sizeof why, &err) != CAVIAR_OK) {
            fprintf(stderr, "caviar panda: %s\n", err.msg);
            return CLI_FAILURE;
        }
        if (stop) {
            printf("%s\n", why);
            break;
        }
        int r = train_days(s, 1, why);
        if (r < 0)
            return CLI_FAILURE;
        if (r > 0)
            return 130;
    }
    return 0;
}

int cmd_panda(int argc, char **argv)
{
    const char *file = NULL, *script = NULL, *storage = NULL, *study = NULL;
    int automatic = 0, chart = 1;
    size_t max_days = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--auto") == 0) {
            automatic = 1;
        } else if (strcmp(a, "--no-chart") == 0) {
            chart = 0;
        } else if ((strcmp(a, "--script") == 0 || strcmp(a, "--storage") == 0 ||
                    strcmp(a, "--study") == 0 || strcmp(a, "--days") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "caviar panda: %s needs a value\n", a);
                return CLI_USAGE;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--script") == 0)
                script = v;
            else if (strcmp(a, "--storage") == 0)
                storage = v;
            else if (strcmp(a, "--study") == 0)
                study = v;
            else if (util_parse_size(v, &max_days) != 0 || max_days < 1) {
                fprintf(stderr, "caviar panda: --days expects a number >= 1, got '%s'\n", v);
                return CLI_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "caviar panda: unknown option '%s'\nhint: 'caviar panda --help' "
                            "lists the options\n", a);
            return CLI_USAGE;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "caviar panda: one sweep file only, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (!file) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    config_sweep cfg;
    caviar_error err;
    if (config_load(file, &cfg, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar panda: %s\n", err.msg);
        return err.status == CAVIAR_EINVAL || err.status == CAVIAR_EFORMAT ? CLI_USAGE
                                                                            : CLI_FAILURE;
    }
    panda_opts o;
    caviar_data *data = NULL;
    if (panda_opts_from_config(&cfg, &o, &data, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar panda: %s\n", err.msg);
        config_release(&cfg);
        return err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
    }
    if (storage)
        o.storage = storage;
    if (!o.storage)
        o.storage = "caviar.db";
    if (study)
        o.study = study;
    session s = {NULL, chart, "", 0};
    o.stop = &interrupted;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: readline returns on Ctrl-C */
    int rc = 0;
    if (panda_open(&o, &s.p, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar panda: %s\n", err.msg);
        rc = CLI_FAILURE;
        goto done;
    }
    printf("panda: study '%s' in %s, %zu day(s) so far, at day %llu; %zu epoch(s) a day\n",
           o.study ? o.study : "panda", o.storage, panda_n_days(s.p),
           (unsigned long long)panda_head(s.p), o.day_epochs);
    print_hparams(panda_pending(s.p));
    if (automatic) {
        rc = run_auto(&s, max_days);
        uint64_t b = panda_best(s.p);
        if (b) {
            printf("best: ");
            print_day(s.p, panda_get_day(s.p, b));
        }
        goto done;
    }
    FILE *in = NULL;
    int interactive = !script && isatty(0);
    s.interactive = interactive;
    if (script)
        in = strcmp(script, "-") == 0 ? stdin : fopen(script, "r");
    else if (!interactive)
        in = stdin;
    if (!interactive && !in) {
        fprintf(stderr, "caviar panda: cannot read %s: %s\n", script, strerror(errno));
        rc = CLI_USAGE;
        goto done;
    }
    char hist[4096] = "";
    if (interactive) {
        using_history();
        const char *home = getenv("HOME");
        if (home && *home) { /* the prompt's history across sessions */
            snprintf(hist, sizeof hist, "%s/.caviar_panda_history", home);
            read_history(hist);
        }
    }
    for (;;) {
        char *line = NULL;
        if (interactive) {
            interrupted = 0;
            line = readline("panda> ");
            if (!line && interrupted) { /* Ctrl-C: drop the line, a fresh prompt */
                printf("\n");
                continue;
            }
            if (!line) { /* Ctrl-D */
                printf("\n");
                break;
            }
            if (*line)
                add_history(line);
        } else {
            char buf[4096];
            if (!fgets(buf, sizeof buf, in))
                break;
            buf[strcspn(buf, "\n")] = '\0';
            if (buf[0] == '#')
                continue;
            printf("panda> %s\n", buf);
            line = strdup(buf);
            if (!line)
                break;
        }
        int r = run_command(&s, line);
        free(line);
        fflush(stdout);
        if (r != 0) {
            rc = r < 0 ? CLI_FAILURE : 0;
            break;
        }
    }
    if (in && in != stdin)
        fclose(in);
    if (hist[0]) {
        stifle_history(1000);
        write_history(hist);
    }
done:
    panda_close(s.p);
    caviar_data_free(data);
    config_release(&cfg);
    return rc;
}

/* ---- caviar pbt ---- */

static const char pbt_usage[] =
    "usage: caviar pbt FILE [options]\n"
    "\n"
    "Population-based training of the sweep file's built-in trainer: panda: population members\n"
    "train side by side, each from hyperparameters drawn from the file's parameters; every\n"
    "panda: day_epochs epochs the bottom quantile copies the weights, optimiser state and\n"
    "hyperparameters of a member of the top quantile, then perturbs them on their own scales\n"
    "(or resamples them). Members are the study's trials; their lineage is kept with them.\n"
    "\n"
    "Options:\n"
    "  --jobs N         worker processes (default: the population, so that all train at once)\n"
    "  --storage URL    the study database (default: the file's storage, else caviar.db)\n"
    "  --study NAME     the study (default: the file's study or name, else 'pbt')\n"
    "  --no-exploit     random search with the same compute (the baseline)\n"
    "  --help           this text\n";

/* A member's lineage: its exploits, oldest first, as "after epoch E: copied #T ...". */
static void print_lineage(const caviar_trial_view *v)
{
    size_t last = 0;
    for (;;) { /* the next exploit after epoch `last` (attributes come sorted as text) */
        size_t i = v->n_attrs, at = 0, best_at = SIZE_MAX;
        for (size_t j = 0; j < v->n_attrs; j++)
            if (sscanf(v->attrs[j].key, "pbt.exploit.%zu", &at) == 1 && at > last &&
                at < best_at) {
                best_at = at;
                i = j;
            }
        if (i == v->n_attrs)
            break;
        at = last = best_at;
        unsigned long long from;
        size_t src_epoch;
        if (sscanf(v->attrs[i].value, "%llu %zu", &from, &src_epoch) != 2)
            continue;
        char key[64];
        snprintf(key, sizeof key, "pbt.explore.%zu", at);
        const char *explore = "";
        for (size_t j = 0; j < v->n_attrs; j++)
            if (strcmp(v->attrs[j].key, key) == 0)
                explore = v->attrs[j].value;
        printf("    after epoch %zu: copied #%llu (after its epoch %zu); %s\n", at, from, src_epoch,
               explore);
    }
}

/* ", test accuracy 0.8931" from the member's test attribute, if it has one. */
static void print_test(const caviar_trial_view *v)
{
    for (size_t j = 0; j < v->n_attrs; j++)
        if (strncmp(v->attrs[j].key, "test_", 5) == 0)
            printf(", test %s %.4f", v->attrs[j].key + 5, strtod(v->attrs[j].value, NULL));
}

int cmd_pbt(int argc, char **argv)
{
    const char *file = NULL, *storage = NULL, *study = NULL;
    unsigned jobs = 0;
    int no_exploit = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(pbt_usage, stdout);
            return 0;
        } else if (strcmp(a, "--no-exploit") == 0) {
            no_exploit = 1;
        } else if (strcmp(a, "--jobs") == 0 || strcmp(a, "--storage") == 0 ||
                   strcmp(a, "--study") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "caviar pbt: %s needs a value\n", a);
                return CLI_USAGE;
            }
            const char *v = argv[++i];
            size_t n;
            if (strcmp(a, "--storage") == 0) {
                storage = v;
            } else if (strcmp(a, "--study") == 0) {
                study = v;
            } else if (util_parse_size(v, &n) != 0 || n < 1 || n > 1024) {
                fprintf(stderr, "caviar pbt: --jobs expects a number in [1, 1024], got '%s'\n",
                        v);
                return CLI_USAGE;
            } else {
                jobs = (unsigned)n;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "caviar pbt: unknown option '%s'\nhint: 'caviar pbt --help' lists "
                            "the options\n", a);
            return CLI_USAGE;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "caviar pbt: one sweep file only, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (!file) {
        fputs(pbt_usage, stderr);
        return CLI_USAGE;
    }
    config_sweep cfg;
    caviar_error err;
    if (config_load(file, &cfg, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar pbt: %s\n", err.msg);
        return err.status == CAVIAR_EINVAL || err.status == CAVIAR_EFORMAT ? CLI_USAGE
                                                                            : CLI_FAILURE;
    }
    panda_pbt_opts o;
    caviar_data *data = NULL;
    if (panda_pbt_opts_from_config(&cfg, &o, &data, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar pbt: %s\n", err.msg);
        config_release(&cfg);
        return err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
    }
    if (no_exploit)
        o.exploit = 0;
    caviar_study_opts so;
    caviar_study_opts_init(&so);
    /* Random search gets a study of its own unless told: the same name would resume the PBT
     * run's finished members. */
    char name[512];
    snprintf(name, sizeof name, "%s%s", study ? study : o.base.study ? o.base.study : "pbt",
             !study && !o.exploit ? "-random" : "");
    so.name = name;
    so.storage = storage ? storage : o.base.storage ? o.base.storage : "caviar.db";
    so.seed = o.base.seed;
    so.sampler = cfg.sampler ? cfg.sampler : "random";
    so.sampler_settings = cfg.sampler_settings;
    so.direction = o.base.metric == PANDA_ACCURACY ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
    so.max_trials = o.population;
    so.heartbeat = 2;
    so.grace = 60;
    so.max_retries = 1;
    so.spec = o.exploit ? "pbt" : "pbt exploit=false";
    caviar_work_opts w;
    caviar_work_opts_init(&w);
    w.jobs = jobs ? jobs : (unsigned)o.population;
    printf("pbt: study '%s' in %s: %zu members, %zu epochs each, exploit every %zu epoch(s)%s, "
           "%u workers\n", so.name, so.storage, o.population, o.epochs, o.base.day_epochs,
           o.exploit ? "" : " (off: random search)", w.jobs);
    fflush(stdout);
    caviar_work_stats stats;
    int rc = 0;
    caviar_status st = caviar_run(&so, &w, panda_pbt_member, &o, &stats, &err);
    if (st != CAVIAR_OK && st != CAVIAR_STOPPED) {
        fprintf(stderr, "caviar pbt: %s\n", err.msg);
        rc = CLI_FAILURE;
    } else if (stats.n_run == 0) {
        printf("nothing to run: study '%s' already holds its %zu members (--study NAME starts "
               "another)\n", so.name, o.population);
    }
    caviar_study *s = caviar_study_new(&so, &err);
    if (s) {
        const char *m = panda_metric_name(o.base.metric);
        for (size_t i = 0; i < caviar_study_n_trials(s); i++) {
            caviar_trial_view v;
            if (caviar_study_trial(s, i, &v) != CAVIAR_OK)
                continue;
            printf("member #%llu %s: dev %s %.4f", (unsigned long long)v.number,
                   caviar_trial_state_name(v.state), m, v.value);
            print_test(&v);
            printf("\n");
            print_lineage(&v);
        }
        caviar_trial_view best;
        if (caviar_study_best(s, &best, &err) == CAVIAR_OK) {
            printf("best: member #%llu, dev %s %.4f", (unsigned long long)best.number, m,
                   best.value);
            print_test(&best);
            printf("\n");
        }
        caviar_study_free(s);
    }
    caviar_data_free(data);
    config_release(&cfg);
    return rc ? rc : stats.interrupted ? 130 : 0;
}
