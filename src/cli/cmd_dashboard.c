/*
 * cmd_dashboard.c — caviar dashboard: the report's pages served live from a study database
 * (report/dashboard.c serves them; this file reads the options, prints where, and waits for
 * Ctrl-C).
 *
 * The signals that stop it (SIGINT, SIGTERM, SIGHUP) are blocked before the server's thread
 * starts, so that the thread inherits the mask and the main thread alone takes them, in
 * sigwait. Exit status 0 stopped by a signal, 1 failure (the address cannot be bound, the
 * database cannot be read), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar.h"
#include "cli.h"
#include "report/report.h"
#include "store/store.h"
#include "util/util.h"

static const char dashboard_help[] =
    "usage: caviar dashboard [options]\n"
    "\n"
    "Serves the studies of a database as live web pages: a list of the studies, and for each\n"
    "the charts of 'caviar report' (learning curves, history, parallel coordinates, slices,\n"
    "heat map, importance, coarse-to-fine rounds, panda days, PBT lineages, the table of\n"
    "trials), redrawn as trials finish. Read-only: it opens the database read-only and\n"
    "answers only GET and HEAD. It prints its address on the standard output and serves\n"
    "until Ctrl-C.\n"
    "\n"
    "  --storage URL        the study database: caviar.db (default), sqlite:PATH, or\n"
    "                       postgresql://USER@HOST/DB\n"
    "  --port P             the TCP port (default 8080; 0: any free port)\n"
    "  --bind ADDR          the address to listen on (default 127.0.0.1: this machine only;\n"
    "                       0.0.0.0 or :: for every network, which anyone there can read)\n"
    "  --refresh S          seconds between the pages' looks for new trials (default 2)\n"
    "  --top N              learning curves kept whole: the best N trials (default 10)\n"
    "  --points N           points the other curves share (default 200000)\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 stopped by Ctrl-C or SIGTERM, 1 failure (the port is taken, the database\n"
    "cannot be read), 2 bad options or no such database.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "caviar dashboard: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nhint: 'caviar dashboard --help' lists the options\n");
    return CLI_USAGE;
}

enum { O_STORAGE = 256, O_PORT, O_BIND, O_REFRESH, O_TOP, O_POINTS, O_HELP };

int cmd_dashboard(int argc, char **argv)
{
    static const struct option longs[] = {
        {"storage", required_argument, 0, O_STORAGE}, {"port", required_argument, 0, O_PORT},
        {"bind", required_argument, 0, O_BIND},       {"refresh", required_argument, 0, O_REFRESH},
        {"top", required_argument, 0, O_TOP},         {"points", required_argument, 0, O_POINTS},
        {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
    report_dashboard_opts o;
    report_dashboard_opts_init(&o);
    o.storage = "caviar.db";
    o.log = stderr;
    optind = 1;
    opterr = 0;
    int c;
    size_t n;
    while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        switch (c) {
        case O_STORAGE: o.storage = optarg; break;
        case O_BIND:
            if (!*optarg)
                return usage_error("option '--bind' needs an address");
            o.bind = optarg;
            break;
        case O_PORT:
            if (util_parse_size(optarg, &n) != 0 || n > 65535)
                return usage_error("invalid value '%s' for --port: expected a port from 0 to "
                                   "65535", optarg);
            o.port = (unsigned)n;
            break;
        case O_REFRESH: {
            char *end = NULL;
            errno = 0;
            double s = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(s >= 0.1 && s <= 3600))
                return usage_error("invalid value '%s' for --refresh: expected seconds from 0.1 "
                                   "to 3600", optarg);
            o.refresh = s;
            break;
        }
        case O_TOP:
            if (util_parse_size(optarg, &n) != 0 || n > 100000)
                return usage_error("invalid value '%s' for --top: expected an integer from 0 "
                                   "to 100000", optarg);
            o.html.top_curves = n;
            break;
        case O_POINTS:
            if (util_parse_size(optarg, &n) != 0 || n == 0 || n > 100000000)
                return usage_error("invalid value '%s' for --points: expected an integer from 1 "
                                   "to 100000000", optarg);
            o.html.curve_points = n;
            break;
        case O_HELP: fputs(dashboard_help, stdout); return CLI_OK;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &stop, &old);

    caviar_error err = {0};
    report_dashboard *d = NULL;
    if (report_dashboard_new(&o, &d, &err) != CAVIAR_OK) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "caviar dashboard: %s\n", err.msg);
        if (err.status == CAVIAR_EMISSING)
            fprintf(stderr, "hint: --storage names the database that 'caviar tune' wrote "
                            "(default caviar.db)\n");
        return err.status == CAVIAR_EINVAL || err.status == CAVIAR_EMISSING ? CLI_USAGE
                                                                         : CLI_FAILURE;
    }
    char shown[512];
    printf("%s\n", report_dashboard_url(d));
    fflush(stdout);
    fprintf(stderr, "caviar dashboard: serving the studies of %s at %s (read-only; Ctrl-C "
            "stops)\n", store_redact(o.storage, shown, sizeof shown),
            report_dashboard_url(d));
    int sig = 0;
    sigwait(&stop, &sig);
    report_dashboard_free(d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "caviar dashboard: stopped (%s)\n", strsignal(sig));
    return CLI_OK;
}
