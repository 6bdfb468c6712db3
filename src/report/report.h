/*
 * report.h — seeing a study: hyperparameter importance, the HTML report and the dashboard's
 * data.
 *
 * Importance (importance.c) is fANOVA-style: a random forest of regression trees is fitted
 * to the COMPLETE trials of a study, each parameter in its own scale (the unit interval of its
 * distribution, caviar_dist_to_unit: log for a learning rate, one-minus-log for a beta;
 * categoricals as their choice index), and the variance of the forest's prediction over the
 * whole space is decomposed into the shares each parameter explains alone (main effects) and
 * each pair explains together beyond them (interactions), averaged over the trees.
 */
#ifndef CAVIAR_REPORT_H
#define CAVIAR_REPORT_H

#include <stdio.h>

#include "caviar.h"

typedef struct report_importance_opts {
    size_t n_trees;        /* default 64 */
    size_t min_leaf;       /* fewest trials in a leaf (default 2) */
    size_t max_depth;      /* default 16 */
    uint64_t seed;         /* bootstrap and split choices (default 0) */
    int pairs;             /* also the pairs' interaction shares (default 1) */
    /* Tests: also decompose every tree by brute force over the full grid of its cells and put
     * the largest difference, relative to the tree's variance, in check_err (default 0;
     * exponential in the number of parameters: CAVIAR_EINVAL beyond 4M cells). */
    int check;
} report_importance_opts;

void report_importance_opts_init(report_importance_opts *o);

typedef struct report_param_importance {
    char *name;
    double share;          /* of the prediction's variance, this parameter alone, in [0, 1] */
    double sd;             /* its standard deviation over the trees */
} report_param_importance;

typedef struct report_pair_importance {
    size_t a, b;           /* indices into params[] */
    double share;          /* the pair's interaction beyond the two main effects */
    double sd;             /* its standard deviation over the trees */
} report_pair_importance;

typedef struct report_importance {
    report_param_importance *params; /* ranked, most important first */
    size_t n_params;
    report_pair_importance *pairs;   /* ranked; every pair when opts.pairs */
    size_t n_pairs;
    size_t n_trials;                 /* COMPLETE trials used */
    size_t n_trees;                  /* trees whose prediction varies, those averaged (0: the
                                        value never varies; every share is then 0) */
    double check_err;                /* opts.check: the oracle's largest relative difference */
} report_importance;

/* Fits and decomposes; CAVIAR_EMISSING when the study has fewer than 2 COMPLETE trials (with a
 * finite value) or no parameter, CAVIAR_EINVAL for opts of 0 trees, min_leaf or max_depth.
 * Parameters a trial lacks (conditional ones) take the middle of their range. opts NULL means
 * the defaults. The result is a function of the study's trials and opts (seed included).
 * out is the caller's struct; on success it owns malloc'd arrays and names that
 * report_importance_release() frees; on failure it is left empty. */
caviar_status report_importance_compute(const caviar_study *study,
                                        const report_importance_opts *opts,
                                        report_importance *out, caviar_error *err);
void report_importance_release(report_importance *imp);

/* A ranked table for a terminal, lines of at most width columns (<= 0: 80; 60 at least),
 * ASCII, names longer than a third of the width cut with "...": each
 * parameter's share and standard deviation in percent with a bar, then the strongest pairs
 * (at most 10, those of at least 0.5%), then how the variance splits between main effects,
 * pairs and higher-order interactions. */
void report_importance_print(const report_importance *imp, FILE *out, int width);

/* ---- the HTML report (html.c) ---- added for `caviar report` -----------------------------
 *
 * One self-contained HTML file that opens offline in any browser: the study's data as JSON,
 * Apache ECharts (from npm at build time, embedded in libcaviar) and the page's own script
 * draw learning curves, the optimisation history, parallel coordinates, a slice per
 * parameter on its own scale, a heat map of the two most important parameters, importance,
 * coarse-to-fine rounds, panda days and PBT lineages, and a table of trials that sorts and
 * filters. Curves are thinned (the best top_curves trials in full, the others together within
 * curve_points points, each keeping its shape: largest-triangle-three-buckets) so that a study
 * of 10,000 trials stays a few MB and draws in a browser in seconds. */
typedef struct report_html_opts {
    const char *title;           /* the study's name (NULL: "study") */
    caviar_direction direction;  /* the study's: "best" and the colour scales follow it */
    const char *sampler, *pruner;/* shown as given ("tpe:n_startup=10"); NULL: not shown */
    const char *storage;         /* shown as given: mask any password first (store_redact) */
    size_t top_curves;           /* best trials whose learning curves are kept whole (10) */
    size_t curve_points;         /* points for all the other curves together (200,000) */
    size_t heat_cells;           /* cells on each side of the heat map (32) */
} report_html_opts;

void report_html_opts_init(report_html_opts *o);
/* Writes the report of the study's history, as this handle sees it, to out. CAVIAR_EIO when
 * out cannot be written (the message says so; the caller names the file), CAVIAR_ENOMEM. */
caviar_status report_html_write(const caviar_study *study, const report_html_opts *o, FILE *out,
                                caviar_error *err);
/* The same study as the JSON document the page draws from (the report embeds it; the dashboard
 * serves it): one object, its keys described at the top of html.c. Errors as above. */
caviar_status report_json_write(const caviar_study *study, const report_html_opts *o, FILE *out,
                                caviar_error *err);

/* ---- the dashboard (dashboard.c) ---- added for `caviar dashboard` ------------------------
 *
 * The report's pages served live from a study database by an HTTP server (GNU libmicrohttpd)
 * that runs in a thread of its own until report_dashboard_free():
 *   /                    every study of the database: counts by state, best value, last
 *                        activity (a page, refreshed in place)
 *   /study/NAME          the report page of one study, redrawn when its data changes (the
 *                        reader's zoom, legend, table sort and filter, and scroll kept)
 *   /api/studies         the index as JSON
 *   /api/study/NAME      the study's JSON document (report_json_write), with an ETag: the page
 *                        asks with If-None-Match and gets 304 while nothing changed
 *   /assets/...          ECharts, the page's script and style (the ones the report embeds)
 * and nothing else (404). Read-only in every way: only GET and HEAD (others 405); the database
 * is opened read-only (the store refuses writes; SQLite opens the file read-only, PostgreSQL
 * sessions are read-only), so neither a bug nor a request can change a study. Bound to
 * 127.0.0.1 unless told otherwise; while bound to a loopback address it answers only requests
 * whose Host is a loopback name (a web page elsewhere cannot reach it through DNS rebinding).
 *
 * Studies are read incrementally (caviar_study_refresh costs what changed); a study's JSON is
 * rebuilt only when its history changed, and no sooner than max(refresh, 3 x the last build's
 * time) seconds after the last build ended, so that a study of 10,000 trials that is still
 * running costs the server at most a quarter of one core. At most max_open studies stay open (least recently looked at
 * closed first). Responses are gzip-compressed for clients that accept it. */
typedef struct report_dashboard_opts {
    const char *storage;        /* the database: a SQLite file or a PostgreSQL URL */
    const char *bind;           /* the address to listen on (NULL: "127.0.0.1"); "::1", "0.0.0.0",
                                   "::" or a host's address */
    unsigned port;              /* 0: a free port (report_dashboard_url says which) */
    double refresh;             /* seconds between the pages' looks for changes (2) */
    size_t max_open;            /* studies kept open (8) */
    report_html_opts html;      /* top_curves, curve_points, heat_cells of every study page */
    FILE *log;                  /* one line per error (a study that cannot be read); NULL: none */
} report_dashboard_opts;

void report_dashboard_opts_init(report_dashboard_opts *o);

typedef struct report_dashboard report_dashboard;

/* Opens the database read-only and starts serving; CAVIAR_EIO when the address cannot be
 * bound (in use, not this host's), CAVIAR_EINVAL for a bad address, the store's errors for the
 * database. The dashboard is the caller's until report_dashboard_free. */
caviar_status report_dashboard_new(const report_dashboard_opts *o, report_dashboard **out,
                                   caviar_error *err);
/* "http://127.0.0.1:8080/" (an IPv6 address in brackets); valid until report_dashboard_free. */
const char *report_dashboard_url(const report_dashboard *d);
/* Stops serving (requests in flight finish first) and closes everything. */
void report_dashboard_free(report_dashboard *d);

#endif
