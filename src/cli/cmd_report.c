/*
 * cmd_report.c — caviar report: a study as one self-contained HTML file (report/html.c draws
 * it; this file picks the study and writes the file).
 *
 * The study is opened as the other commands that look at studies open it (cmd_studies.c):
 * --storage (default caviar.db; a SQLite file that does not exist is an error, never a new
 * empty database), --study (default: the only study of the database), its stored definition
 * handed to caviar_study_new, which reads the whole history. The file is written through a
 * temporary file beside it and renamed over it once complete, so a reader never sees half a
 * report and a failure leaves an older one as it was. Exit status 0 written, 1 failure at run
 * time, 2 usage error (a bad option, a missing database or study).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caviar.h"
#include "cli.h"
#include "report/report.h"
#include "store/store.h"
#include "util/util.h"

static const char report_help[] =
    "usage: caviar report [options]\n"
    "\n"
    "Writes a study as one HTML file that opens offline in any browser: the learning curves of\n"
    "every trial (the best ones whole, pruned ones marked where they stopped), the\n"
    "optimisation history, parallel coordinates, a slice per parameter on its own scale, a\n"
    "heat map of the two most important parameters, the importance of each, coarse-to-fine\n"
    "rounds with their boxes, panda days and PBT lineages when the study has them, and a table\n"
    "of trials that sorts and filters.\n"
    "\n"
    "  --storage URL        the study database: caviar.db (default), sqlite:PATH, or\n"
    "                       postgresql://USER@HOST/DB\n"
    "  --study NAME         the study (default: the only study of the database)\n"
    "  -o, --output FILE    the report (default report.html; - for the standard output)\n"
    "  --top N              learning curves kept whole: the best N trials (default 10)\n"
    "  --points N           points the other curves share (default 200000; each keeps at\n"
    "                       least 16, its shape, its first and last points)\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 written, 1 failure at run time, 2 bad options, no such database or study.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caviar report: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nhint: 'caviar report --help' lists the options\n");
    return CLI_USAGE;
}

/* A message of its own (which may carry its own hint line); returns code. */
__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caviar report: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* ---- the report ------------------------------------------------------------------------------ */

/* ---- writing -------------------------------------------------------------------------------- */

/* Writes the report to path through a temporary file in the same directory, renamed over path
 * once complete. */
static int write_file(const char *path, const caviar_study *s, const report_html_opts *ro)
{
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return fail(CLI_FAILURE, "cannot write '%s': out of memory", path);
    snprintf(tmp, len, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fail(CLI_FAILURE, "cannot write '%s': %s", path, strerror(e));
    }
    /* mkstemp makes the file private (0600); a report is an ordinary file. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        /* not fatal: the report stays readable by its owner */
    }
    FILE *out = fdopen(fd, "w");
    if (!out) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return fail(CLI_FAILURE, "cannot write '%s': %s", path, strerror(e));
    }
    caviar_error err = {0};
    caviar_status st = report_html_write(s, ro, out, &err);
    int e = errno;
    int bad = st != CAVIAR_OK || fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
    if (!bad)
        e = 0;
    else if (st == CAVIAR_OK)
        e = errno;
    if (fclose(out) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    int code = CLI_OK;
    if (bad) {
        unlink(tmp);
        code = st != CAVIAR_OK && st != CAVIAR_EIO
                   ? fail(CLI_FAILURE, "cannot write '%s': %s", path, err.msg)
                   : fail(CLI_FAILURE, "cannot write '%s': %s", path,
                          e ? strerror(e) : "write error");
    }
    free(tmp);
    return code;
}

enum { O_STORAGE = 256, O_STUDY, O_TOP, O_POINTS, O_HELP, O_OUTPUT = 'o' };

int cmd_report(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"study", required_argument, 0, O_STUDY},
        {"output", required_argument, 0, O_OUTPUT},   {"top", required_argument, 0, O_TOP},
        {"points", required_argument, 0, O_POINTS},   {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    const char *storage = "caviar.db", *study = NULL, *output = "report.html";
    report_html_opts ro;
    report_html_opts_init(&ro);
    optind = 1;
    opterr = 0;
    int c;
    size_t n;
    while ((c = getopt_long(argc, argv, ":o:", longs, NULL)) != -1) {
        switch (c) {
        case O_STORAGE: storage = optarg; break;
        case O_STUDY: study = optarg; break;
        case O_OUTPUT: output = optarg; break;
        case O_TOP:
            if (util_parse_size(optarg, &n) != 0 || n > 100000)
                return usage_error("invalid value '%s' for --top: expected an integer from 0 "
                                   "to 100000", optarg);
            ro.top_curves = n;
            break;
        case O_POINTS:
            if (util_parse_size(optarg, &n) != 0 || n == 0 || n > 100000000)
                return usage_error("invalid value '%s' for --points: expected an integer from 1 "
                                   "to 100000000", optarg);
            ro.curve_points = n;
            break;
        case O_HELP: fputs(report_help, stdout); return CLI_OK;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!*output)
        return usage_error("option '-o' needs a file name");

    cli_source src;
    int code = cli_source_open(&src, "report", storage, study);
    if (code >= 0)
        return code;
    char sampler[512], pruner[512];
    ro.title = src.info->name;
    ro.direction = src.info->direction;
    ro.sampler = store_describe(src.info->sampler, src.info->sampler_settings, "random", sampler,
                                sizeof sampler);
    ro.pruner = store_describe(src.info->pruner, src.info->pruner_settings, "none", pruner,
                               sizeof pruner);
    ro.storage = src.shown;
    if (strcmp(output, "-") == 0) {
        caviar_error err = {0};
        if (report_html_write(src.s, &ro, stdout, &err) != CAVIAR_OK)
            code = fail(CLI_FAILURE, "%s", err.msg);
        else if (fflush(stdout) != 0 || ferror(stdout))
            code = fail(CLI_FAILURE, "cannot write the standard output: %s", strerror(errno));
        else
            code = CLI_OK;
    } else {
        code = write_file(output, src.s, &ro);
        if (code == CLI_OK)
            fprintf(stderr, "caviar report: %zu trials of study '%s' written to '%s'\n",
                    caviar_study_n_trials(src.s), src.info->name, output);
    }
    cli_source_close(&src);
    return code;
}
