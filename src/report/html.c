/*
 * html.c — the HTML report of a study (caviar report): one self-contained file.
 *
 * The file is a page skeleton, the page's style, Apache ECharts (echarts.min.js, installed
 * from npm at build time and embedded in libcaviar by cmake/report_assets.cmake), the study
 * as one JSON document in a <script type="application/json"> block, and the page's own script
 * (report_page.js), which builds every chart and the table from that JSON. Nothing is fetched
 * when the page opens: it works offline, from a mail attachment or a USB stick.
 *
 * The JSON (every key is read by report_page.js; numbers that are not finite are null):
 *   study       name, direction, sampler, pruner, storage, counts by state, best trial
 *   params      one per parameter the trials used, in order of first use: name, kind,
 *               scale, the axis it is drawn on (value, log, one-minus-log, category), its
 *               bounds and choices, its description
 *   trials      columns, one entry per trial in the study's order: number, state, value,
 *               duration, each parameter's internal value (a choice's index), user attributes
 *               (not the c2f./panda./pbt. ones, which have charts of their own), a note
 *   curves      learning curves: the best top_curves COMPLETE trials whole; every other curve
 *               thinned to at most per_curve points (curve_points shared among them, at least
 *               16 each) by largest-triangle-three-buckets (Steinarsson 2013), which keeps the
 *               first and last points and, in each bucket between, the point spanning the
 *               largest triangle with its neighbours: peaks and the end survive, flat
 *               stretches go. log_y when every value is positive (positive) and they span
 *               two decades.
 *   importance  a score per parameter, ranked (see importance_scores)
 *   heatmap     the two most important parameters: a heat_cells x heat_cells grid over their
 *               unit intervals (each on its own scale) of the Nadaraya-Watson (Gaussian
 *               kernel) mean of the COMPLETE values, the trials on top; axis labels are the
 *               values at the cells' centres; a cell with no trial within 2.5 bandwidths is
 *               left empty (null)
 *   c2f         coarse-to-fine rounds: per round its trials and best; each run of consecutive
 *               trials that share a round and a box, with the box in the unit interval; each
 *               trial's position in every unit interval
 *   panda       the days of a babysitting session, with their curves (panda.curve)
 *   pbt         the members of a population with their dev metric per epoch, and every
 *               exploit (pbt.exploit.E = "T E2 CHECKSUM") with what it explored
 *
 * Cost: one pass over the history per section (views are re-read, not kept: a view's
 * pointers last until the next read), O(trials x params) memory, the heat map's
 * heat_cells^2 x trials kernel sums and the fANOVA forest. Measured on two cores, the whole
 * `caviar report` of 10,000 trials with 6 parameters: 0.4 s with 30 steps each (a 3.6 MB
 * file), 1.6 s with 100 steps each (5.5 MB, 1,000,000 values thinned to 200,000), of which
 * reading the history from SQLite is 1 s and the forest 0.35 s.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "report/report_impl.h"
#include "space/space.h"
#include "util/util.h"

void report_html_opts_init(report_html_opts *o)
{
    memset(o, 0, sizeof *o);
    o->direction = CAVIAR_MINIMIZE;
    o->top_curves = 10;
    o->curve_points = 200000;
    o->heat_cells = 32;
}

/* ---- JSON for a <script> block ------------------------------------------------------------ */

/* A string: JSON escapes, plus '<', '>' and '&' as \u escapes so that no "</script>" or
 * "<!--" can end the block early. */
static void j_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p, out);
        } else if (*p == '\n') {
            fputs("\\n", out);
        } else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') {
            fprintf(out, "\\u%04x", *p);
        } else {
            fputc(*p, out);
        }
    }
    fputc('"', out);
}

/* A number as the shortest text that reads back as the same double; null when not finite. */
static void j_num(FILE *out, double v)
{
    if (!isfinite(v)) {
        fputs("null", out);
        return;
    }
    char text[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v)
            break;
    }
    fputs(text, out);
}

/* A number for drawing only (thinned curves): seven significant digits. */
static void j_num7(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.7g", v);
    else
        fputs("null", out);
}

static void j_key(FILE *out, int *first, const char *key)
{
    if (!*first)
        fputc(',', out);
    *first = 0;
    j_str(out, key);
    fputc(':', out);
}

/* ---- what the report keeps of the history -------------------------------------------------- */

typedef struct rtrial {
    uint64_t number;
    caviar_trial_state state;
    double value;
} rtrial;

#define MAX_PAIRS 10

typedef struct rpair {
    size_t a, b;           /* parameter indices */
    double share;
} rpair;

typedef struct rep {
    const caviar_study *s;
    const report_html_opts *o;
    FILE *out;
    int minimize;
    size_t n;              /* trials */
    rtrial *t;             /* [n] */
    size_t n_params;
    const char **names;    /* [n_params], borrowed from the study */
    const caviar_dist **dists;
    double *x;             /* [n * n_params] internal values, NaN where a trial lacks one */
    size_t *rank;          /* [n_params] parameters by importance, most important first */
    double *score, *sd;    /* [n_params] by parameter: importance and its spread (or NaN) */
    rpair pairs[MAX_PAIRS];/* the strongest interactions (fANOVA only) */
    size_t n_pairs;
} rep;

#define X(r, i, p) ((r)->x[(i) * (r)->n_params + (p)])

static const char *view_attr(const caviar_trial_view *v, const char *key)
{
    for (size_t a = 0; a < v->n_attrs; a++)
        if (strcmp(v->attrs[a].key, key) == 0)
            return v->attrs[a].value;
    return NULL;
}

static int better(const rep *r, double a, double b)
{
    return r->minimize ? a < b : a > b;
}

/* Reads the trials, their parameters (in order of first use) and values. */
static caviar_status rep_load(rep *r, caviar_error *err)
{
    r->n = caviar_study_n_trials(r->s);
    r->t = calloc(r->n ? r->n : 1, sizeof *r->t);
    if (!r->t)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    size_t cap = 0;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            return util_err(err, CAVIAR_EIO, "cannot read trial %zu of the study", i);
        r->t[i] = (rtrial){v.number, v.state, v.value};
        for (size_t p = 0; p < v.n_params; p++) {
            size_t k = 0;
            while (k < r->n_params && strcmp(r->names[k], v.param_names[p]) != 0)
                k++;
            if (k < r->n_params)
                continue;
            if (r->n_params == cap) {
                cap = cap ? 2 * cap : 8;
                const char **names = realloc(r->names, cap * sizeof *names);
                if (names)
                    r->names = names;
                const caviar_dist **dists = realloc(r->dists, cap * sizeof *dists);
                if (dists)
                    r->dists = dists;
                if (!names || !dists)
                    return util_err(err, CAVIAR_ENOMEM, "out of memory");
            }
            r->names[r->n_params] = v.param_names[p];
            r->dists[r->n_params++] = v.param_dists[p];
        }
    }
    size_t np = r->n_params ? r->n_params : 1;
    r->x = malloc((r->n ? r->n : 1) * np * sizeof *r->x);
    r->rank = calloc(np, sizeof *r->rank);
    r->score = calloc(np, sizeof *r->score);
    r->sd = calloc(np, sizeof *r->sd);
    if (!r->x || !r->rank || !r->score || !r->sd)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            return util_err(err, CAVIAR_EIO, "cannot read trial %zu of the study", i);
        for (size_t p = 0; p < r->n_params; p++)
            X(r, i, p) = NAN;
        for (size_t q = 0; q < v.n_params; q++)
            for (size_t p = 0; p < r->n_params; p++)
                if (strcmp(r->names[p], v.param_names[q]) == 0) {
                    X(r, i, p) = v.param_values[q];
                    break;
                }
    }
    return CAVIAR_OK;
}

static void rep_release(rep *r)
{
    free(r->t);
    free(r->names);
    free(r->dists);
    free(r->x);
    free(r->rank);
    free(r->score);
    free(r->sd);
}

/* Whether trial i counts for the charts of values: COMPLETE with a finite value. */
static int scored(const rep *r, size_t i)
{
    return r->t[i].state == CAVIAR_TRIAL_COMPLETE && isfinite(r->t[i].value);
}

/* ---- parameters ---------------------------------------------------------------------------- */

static const char *kind_name(const caviar_dist *d)
{
    return d->kind == CAVIAR_DIST_INT ? "int" : d->kind == CAVIAR_DIST_CATEGORICAL ? "categorical"
                                                                                  : "float";
}

/* The axis a parameter is drawn on, in its own scale: a log axis for log and log-normal;
 * one-minus-log is drawn as 1 - v on a log axis (the page labels the ticks with v). */
static const char *axis_name(const caviar_dist *d)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL)
        return "category";
    switch (d->scale) {
    case CAVIAR_SCALE_LOG:
    case CAVIAR_SCALE_LOG_NORMAL: return "log";
    case CAVIAR_SCALE_ONE_MINUS_LOG: return "one-minus-log";
    default: return "value";
    }
}

/* A choice as text: the string, true/false, or the number. */
static const char *choice_text(const caviar_value *c, char *buf, size_t len)
{
    if (c->type == CAVIAR_VALUE_STRING)
        snprintf(buf, len, "%s", c->string);
    else if (c->type == CAVIAR_VALUE_BOOL)
        snprintf(buf, len, "%s", c->number != 0 ? "true" : "false");
    else
        snprintf(buf, len, "%.15g", c->number);
    return buf;
}

/* An internal value as a short label (axis ticks): a choice's text, an integer, or a float
 * with enough digits to tell values near 1 apart on the one-minus-log scale. */
static const char *short_label(const caviar_dist *d, double x, char *buf, size_t len)
{
    if (!isfinite(x)) {
        snprintf(buf, len, "-");
    } else if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        size_t k = (size_t)x;
        if (x >= 0 && k < d->n_choices)
            choice_text(&d->choices[k], buf, len);
        else
            snprintf(buf, len, "?");
    } else if (d->kind == CAVIAR_DIST_INT) {
        snprintf(buf, len, "%.0f", x);
    } else if (d->scale == CAVIAR_SCALE_ONE_MINUS_LOG && x < 1) {
        int digits = (int)ceil(-log10(1 - x)) + 2;
        snprintf(buf, len, "%.*g", digits < 3 ? 3 : digits > 17 ? 17 : digits, x);
    } else {
        snprintf(buf, len, "%.3g", x);
    }
    return buf;
}

static void write_params(rep *r)
{
    FILE *out = r->out;
    fputs("[", out);
    for (size_t p = 0; p < r->n_params; p++) {
        const caviar_dist *d = r->dists[p];
        char buf[512];
        int first = 1;
        fputs(p ? ",{" : "{", out);
        j_key(out, &first, "name");
        j_str(out, r->names[p]);
        j_key(out, &first, "kind");
        j_str(out, kind_name(d));
        j_key(out, &first, "scale");
        j_str(out, d->kind == CAVIAR_DIST_CATEGORICAL ? "categorical"
                                                      : caviar_scale_name(d->scale));
        j_key(out, &first, "axis");
        j_str(out, axis_name(d));
        j_key(out, &first, "describe");
        j_str(out, space_describe(d, buf, sizeof buf));
        if (d->kind != CAVIAR_DIST_CATEGORICAL) {
            int normal = d->scale == CAVIAR_SCALE_NORMAL || d->scale == CAVIAR_SCALE_LOG_NORMAL;
            j_key(out, &first, "low");
            j_num(out, normal ? NAN : d->low);
            j_key(out, &first, "high");
            j_num(out, normal ? NAN : d->high);
        } else {
            j_key(out, &first, "choices");
            fputc('[', out);
            for (size_t k = 0; k < d->n_choices; k++) {
                if (k)
                    fputc(',', out);
                j_str(out, choice_text(&d->choices[k], buf, sizeof buf));
            }
            fputc(']', out);
        }
        fputc('}', out);
    }
    fputs("]", out);
}

/* ---- the study and the trials -------------------------------------------------------------- */

static void write_study(rep *r)
{
    FILE *out = r->out;
    const report_html_opts *o = r->o;
    caviar_study_summary sum;
    caviar_study_summarize(r->s, &sum);
    int first = 1;
    fputc('{', out);
    j_key(out, &first, "name");
    j_str(out, o->title ? o->title : "study");
    j_key(out, &first, "direction");
    j_str(out, r->minimize ? "minimize" : "maximize");
    j_key(out, &first, "sampler");
    if (o->sampler)
        j_str(out, o->sampler);
    else
        fputs("null", out);
    j_key(out, &first, "pruner");
    if (o->pruner)
        j_str(out, o->pruner);
    else
        fputs("null", out);
    j_key(out, &first, "storage");
    if (o->storage)
        j_str(out, o->storage);
    else
        fputs("null", out);
    j_key(out, &first, "counts");
    fprintf(out, "{\"trials\":%zu,\"complete\":%zu,\"pruned\":%zu,\"fail\":%zu,\"running\":%zu,"
                 "\"waiting\":%zu,\"requeued\":%zu}",
            sum.n_trials, sum.n_complete, sum.n_pruned, sum.n_fail, sum.n_running, sum.n_waiting,
            sum.n_requeued);
    j_key(out, &first, "best");
    if (isnan(sum.best_value))
        fputs("null", out);
    else {
        fprintf(out, "{\"trial\":%llu,\"value\":", (unsigned long long)sum.best_trial);
        j_num(out, sum.best_value);
        fputc('}', out);
    }
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    j_key(out, &first, "generated");
    j_str(out, when);
    j_key(out, &first, "caviar");
    j_str(out, caviar_version());
    j_key(out, &first, "echarts");
    j_str(out, report_asset_echarts_version);
    fputc('}', out);
}

/* Whether an attribute is drawn by a chart of its own (and so left out of the table). */
static int system_attr(const char *key)
{
    return strncmp(key, "c2f.", 4) == 0 || strncmp(key, "panda.", 6) == 0 ||
           strncmp(key, "pbt.", 4) == 0;
}

#define MAX_ATTR_COLS 16

static caviar_status write_trials(rep *r, caviar_error *err)
{
    FILE *out = r->out;
    /* The user attributes, in order of first appearance (at most MAX_ATTR_COLS). Keys are
     * copied: views do not last. */
    char *keys[MAX_ATTR_COLS];
    size_t n_keys = 0;
    caviar_status st = CAVIAR_OK;
    for (size_t i = 0; i < r->n && n_keys < MAX_ATTR_COLS; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        for (size_t a = 0; a < v.n_attrs && n_keys < MAX_ATTR_COLS; a++) {
            if (system_attr(v.attrs[a].key))
                continue;
            size_t k = 0;
            while (k < n_keys && strcmp(keys[k], v.attrs[a].key) != 0)
                k++;
            if (k == n_keys) {
                if (!(keys[n_keys] = strdup(v.attrs[a].key))) {
                    st = util_err(err, CAVIAR_ENOMEM, "out of memory");
                    goto done;
                }
                n_keys++;
            }
        }
    }
    fputs("{\"number\":[", out);
    for (size_t i = 0; i < r->n; i++)
        fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)r->t[i].number);
    fputs("],\"state\":[", out);
    for (size_t i = 0; i < r->n; i++)
        fprintf(out, "%s%d", i ? "," : "", (int)r->t[i].state);
    fputs("],\"value\":[", out);
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            fputc(',', out);
        j_num(out, r->t[i].value);
    }
    fputs("],\"duration\":[", out);
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        double d = NAN;
        if (caviar_study_trial(r->s, i, &v) == CAVIAR_OK && v.start_time > 0 && v.end_time > 0)
            d = v.end_time > v.start_time ? v.end_time - v.start_time : 0;
        if (i)
            fputc(',', out);
        if (isfinite(d))
            fprintf(out, "%.6g", d);
        else
            fputs("null", out);
    }
    fputs("],\"params\":[", out);
    for (size_t p = 0; p < r->n_params; p++) {
        fputs(p ? ",[" : "[", out);
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                fputc(',', out);
            j_num(out, X(r, i, p));
        }
        fputc(']', out);
    }
    fputs("],\"attr_keys\":[", out);
    for (size_t k = 0; k < n_keys; k++) {
        if (k)
            fputc(',', out);
        j_str(out, keys[k]);
    }
    fputs("],\"attrs\":[", out);
    for (size_t k = 0; k < n_keys; k++) {
        fputs(k ? ",[" : "[", out);
        for (size_t i = 0; i < r->n; i++) {
            caviar_trial_view v;
            const char *text = NULL;
            if (caviar_study_trial(r->s, i, &v) == CAVIAR_OK)
                text = view_attr(&v, keys[k]);
            if (i)
                fputc(',', out);
            if (text)
                j_str(out, text);
            else
                fputs("null", out);
        }
        fputc(']', out);
    }
    fputs("],\"note\":[", out);
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (i)
            fputc(',', out);
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK) {
            fputs("null", out);
            continue;
        }
        char note[512];
        size_t used = 0;
        note[0] = '\0';
        if (v.fail_reason)
            used += (size_t)snprintf(note, sizeof note, "%s", v.fail_reason);
        if (v.retry_of >= 0 && used < sizeof note)
            used += (size_t)snprintf(note + used, sizeof note - used, "%sre-runs trial %lld",
                                     used ? "; " : "", (long long)v.retry_of);
        if (v.requeued && used < sizeof note)
            snprintf(note + used, sizeof note - used, "%sre-queued", used ? "; " : "");
        if (note[0])
            j_str(out, note);
        else
            fputs("null", out);
    }
    fputs("]}", out);
done:
    for (size_t k = 0; k < n_keys; k++)
        free(keys[k]);
    return st;
}

/* ---- learning curves ----------------------------------------------------------------------- */

/* Largest-triangle-three-buckets: the indices of m of the n points (x, y) (m >= 3, n > m) into
 * keep, the first and last always among them. The points between are cut into m - 2 buckets
 * of about equal count; from each bucket the point is kept that makes the largest triangle
 * with the point kept before it and the mean of the next bucket. Returns m. */
static size_t lttb(const double *x, const double *y, size_t n, size_t m, size_t *keep)
{
    double every = (double)(n - 2) / (double)(m - 2);
    size_t a = 0, k = 0;
    keep[k++] = 0;
    for (size_t b = 0; b < m - 2; b++) {
        size_t lo = (size_t)floor((double)b * every) + 1;
        size_t hi = (size_t)floor((double)(b + 1) * every) + 1;
        if (hi > n - 1)
            hi = n - 1;
        /* The mean of the next bucket (the last point after the last bucket). */
        size_t nlo = hi, nhi = (size_t)floor((double)(b + 2) * every) + 1;
        if (nhi > n)
            nhi = n;
        if (b + 1 == m - 2) {
            nlo = n - 1;
            nhi = n;
        }
        double mx = 0, my = 0;
        for (size_t j = nlo; j < nhi; j++) {
            mx += x[j];
            my += y[j];
        }
        mx /= (double)(nhi - nlo);
        my /= (double)(nhi - nlo);
        size_t pick = lo;
        double biggest = -1;
        for (size_t j = lo; j < hi; j++) {
            double area = fabs((x[a] - mx) * (y[j] - y[a]) - (x[a] - x[j]) * (my - y[a]));
            if (area > biggest) {
                biggest = area;
                pick = j;
            }
        }
        keep[k++] = a = pick;
    }
    keep[k++] = n - 1;
    return k;
}

typedef struct by_value {
    double key; /* the value, negated when maximising: smaller is better */
    size_t index;
} by_value;

static int cmp_by_value(const void *pa, const void *pb)
{
    const by_value *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The finite points of a view's reports into xs, ys (at most n_reports each), positive ones
 * only when log_y; their count. */
static size_t finite_points(const caviar_trial_view *v, int log_y, double *xs, double *ys)
{
    size_t k = 0;
    for (size_t j = 0; j < v->n_reports; j++) {
        double y = v->report_values[j];
        if (!isfinite(y) || (log_y && !(y > 0)))
            continue;
        xs[k] = (double)v->report_steps[j];
        ys[k++] = y;
    }
    return k;
}

static caviar_status write_curves(rep *r, caviar_error *err)
{
    FILE *out = r->out;
    caviar_status st = CAVIAR_OK;
    size_t max_reports = 0, n_curves = 0, n_points = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    int nonpositive = 0;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < v.n_reports; j++) {
            double y = v.report_values[j];
            if (!isfinite(y))
                continue;
            k++;
            if (y <= 0)
                nonpositive = 1;
            else if (y < ymin)
                ymin = y;
            if (y > ymax)
                ymax = y;
        }
        n_curves += k > 0;
        n_points += k;
        if (v.n_reports > max_reports)
            max_reports = v.n_reports;
    }
    int log_y = !nonpositive && n_points > 0 && ymax >= 100 * ymin;

    /* The best top_curves COMPLETE trials that have a curve. */
    by_value *order = malloc((r->n ? r->n : 1) * sizeof *order);
    unsigned char *is_top = calloc(r->n ? r->n : 1, 1);
    double *xs = malloc((max_reports ? max_reports : 1) * sizeof *xs);
    double *ys = malloc((max_reports ? max_reports : 1) * sizeof *ys);
    size_t *keep = malloc((max_reports ? max_reports : 1) * sizeof *keep);
    if (!order || !is_top || !xs || !ys || !keep) {
        st = util_err(err, CAVIAR_ENOMEM, "out of memory");
        goto done;
    }
    size_t n_scored = 0;
    for (size_t i = 0; i < r->n; i++)
        if (scored(r, i))
            order[n_scored++] = (by_value){r->minimize ? r->t[i].value : -r->t[i].value, i};
    qsort(order, n_scored, sizeof *order, cmp_by_value);
    size_t n_top = 0, top_points = 0;
    long long best = -1;
    for (size_t k = 0; k < n_scored && n_top < r->o->top_curves; k++) {
        caviar_trial_view v;
        size_t i = order[k].index;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        size_t m = finite_points(&v, log_y, xs, ys);
        if (!m)
            continue;
        if (best < 0)
            best = (long long)i;
        is_top[i] = 1;
        n_top++;
        top_points += m;
    }
    /* The others share the budget. */
    size_t n_other = 0;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (is_top[i] || caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        n_other += finite_points(&v, log_y, xs, ys) > 0;
    }
    size_t per_curve = n_other ? r->o->curve_points / n_other : 0;
    if (per_curve < 16)
        per_curve = 16;

    int first = 1;
    fputc('{', out);
    j_key(out, &first, "log_y");
    fputs(log_y ? "true" : "false", out);
    j_key(out, &first, "positive");
    fputs(!nonpositive && n_points > 0 ? "true" : "false", out);
    j_key(out, &first, "n_curves");
    fprintf(out, "%zu", n_curves);
    j_key(out, &first, "n_points");
    fprintf(out, "%zu", n_points);
    j_key(out, &first, "per_curve");
    fprintf(out, "%zu", per_curve);
    j_key(out, &first, "best");
    if (best >= 0)
        fprintf(out, "%llu", (unsigned long long)r->t[best].number);
    else
        fputs("null", out);
    j_key(out, &first, "top");
    fputc('[', out);
    size_t written = 0, drawn = top_points;
    for (size_t k = 0; k < n_scored && written < n_top; k++) {
        size_t i = order[k].index;
        caviar_trial_view v;
        if (!is_top[i] || caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        size_t m = finite_points(&v, log_y, xs, ys);
        fprintf(out, "%s{\"trial\":%llu,\"value\":", written ? "," : "",
                (unsigned long long)v.number);
        j_num(out, v.value);
        fputs(",\"xy\":[", out);
        for (size_t j = 0; j < m; j++) {
            fprintf(out, "%s%.17g,", j ? "," : "", xs[j]);
            j_num(out, ys[j]);
        }
        fputs("]}", out);
        written++;
    }
    fputc(']', out);
    /* Every other curve: [trial, state, x0, y0, x1, y1, ...]. */
    j_key(out, &first, "other");
    fputc('[', out);
    written = 0;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (is_top[i] || caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        size_t m = finite_points(&v, log_y, xs, ys);
        if (!m)
            continue;
        fprintf(out, "%s[%llu,%d", written++ ? "," : "", (unsigned long long)v.number,
                (int)v.state);
        if (m > per_curve) {
            size_t kept = lttb(xs, ys, m, per_curve, keep);
            for (size_t j = 0; j < kept; j++) {
                fprintf(out, ",%.17g,", xs[keep[j]]);
                j_num7(out, ys[keep[j]]);
            }
            drawn += kept;
        } else {
            for (size_t j = 0; j < m; j++) {
                fprintf(out, ",%.17g,", xs[j]);
                j_num7(out, ys[j]);
            }
            drawn += m;
        }
        fputc(']', out);
    }
    fputc(']', out);
    j_key(out, &first, "n_drawn");
    fprintf(out, "%zu", drawn);
    fputc('}', out);
done:
    free(order);
    free(is_top);
    free(xs);
    free(ys);
    free(keep);
    return st;
}

/* ---- importance ---------------------------------------------------------------------------- */

typedef struct ranked {
    double v;
    size_t i;
} ranked;

static int cmp_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Ranks (1-based, ties get their mean rank) of v[0..n) into rank; sorts tmp. */
static void ranks_of(ranked *tmp, size_t n, double *rank)
{
    qsort(tmp, n, sizeof *tmp, cmp_ranked);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b + 1 < n && tmp[b + 1].v == tmp[a].v)
            b++;
        double mean = 0.5 * (double)(a + b) + 1;
        for (size_t k = a; k <= b; k++)
            rank[tmp[k].i] = mean;
        a = b + 1;
    }
}

/* Spearman's rank correlation of u (a parameter's unit-interval position) with the value over
 * the COMPLETE trials that have both; 0 with fewer than 3 such trials or no spread. */
static double spearman(const rep *r, size_t p, ranked *tmp, double *ru, double *rv, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (scored(r, i) && !isnan(X(r, i, p)))
            idx[n++] = i;
    if (n < 3)
        return 0;
    for (size_t k = 0; k < n; k++)
        tmp[k] = (ranked){caviar_dist_to_unit(r->dists[p], X(r, idx[k], p)), k};
    ranks_of(tmp, n, ru);
    for (size_t k = 0; k < n; k++)
        tmp[k] = (ranked){r->t[idx[k]].value, k};
    ranks_of(tmp, n, rv);
    double mean = 0.5 * (double)(n + 1), sab = 0, saa = 0, sbb = 0;
    for (size_t k = 0; k < n; k++) {
        double a = ru[k] - mean, b = rv[k] - mean;
        sab += a * b;
        saa += a * a;
        sbb += b * b;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

static double rank_key(double score)
{
    return isnan(score) ? -1 : score;
}

/* Orders r->rank by score, highest first (ties: the order of first use); few parameters. */
static void rank_by_score(rep *r)
{
    for (size_t p = 0; p < r->n_params; p++) {
        size_t j = p;
        while (j > 0 && rank_key(r->score[r->rank[j - 1]]) < rank_key(r->score[p])) {
            r->rank[j] = r->rank[j - 1];
            j--;
        }
        r->rank[j] = p;
    }
}

/* The importance of each parameter into r->score (r->sd: its spread over the trees) and their
 * ranking into r->rank: fANOVA (report_importance_compute, importance.c), each parameter's
 * share of the variance of a random forest's prediction over the whole space, its
 * interactions with the others left out. A parameter the analysis did not use (seen in no
 * COMPLETE trial) scores NaN and ranks last.
 *
 * When the analysis refuses the study (fewer than 2 COMPLETE trials: CAVIAR_EMISSING) or fails,
 * the score is the absolute Spearman rank correlation between a parameter's unit-interval
 * position and the value over the COMPLETE trials, and *note says why. It sees monotone effects
 * only (a learning rate with its optimum inside the range scores low) and no interactions; the
 * page names the method it shows. */
static caviar_status importance_scores(rep *r, const char **method, char *note, size_t note_len,
                                       caviar_error *err)
{
    report_importance_opts io;
    report_importance_opts_init(&io);
    io.pairs = 1;
    report_importance imp;
    memset(&imp, 0, sizeof imp);
    caviar_error ierr = {0};
    caviar_status st = report_importance_compute(r->s, &io, &imp, &ierr);
    note[0] = '\0';
    if (st == CAVIAR_OK) {
        for (size_t p = 0; p < r->n_params; p++)
            r->score[p] = r->sd[p] = NAN;
        for (size_t k = 0; k < imp.n_params; k++)
            for (size_t p = 0; p < r->n_params; p++)
                if (strcmp(r->names[p], imp.params[k].name) == 0) {
                    r->score[p] = imp.params[k].share;
                    r->sd[p] = imp.params[k].sd;
                }
        /* The strongest interactions, as parameter indices of the report. */
        r->n_pairs = 0;
        for (size_t k = 0; k < imp.n_pairs && r->n_pairs < MAX_PAIRS; k++) {
            const report_pair_importance *q = &imp.pairs[k];
            long a = -1, b = -1;
            for (size_t p = 0; p < r->n_params && q->a < imp.n_params && q->b < imp.n_params;
                 p++) {
                if (strcmp(r->names[p], imp.params[q->a].name) == 0)
                    a = (long)p;
                if (strcmp(r->names[p], imp.params[q->b].name) == 0)
                    b = (long)p;
            }
            if (a >= 0 && b >= 0)
                r->pairs[r->n_pairs++] = (rpair){(size_t)a, (size_t)b, q->share};
        }
        report_importance_release(&imp);
        rank_by_score(r);
        *method = "fanova";
        return CAVIAR_OK;
    }
    if (st == CAVIAR_ENOMEM) {
        if (err)
            *err = ierr;
        return st;
    }
    snprintf(note, note_len, "%s", ierr.msg);
    size_t n = r->n ? r->n : 1;
    ranked *tmp = malloc(n * sizeof *tmp);
    double *ru = malloc(n * sizeof *ru), *rv = malloc(n * sizeof *rv);
    size_t *idx = malloc(n * sizeof *idx);
    st = CAVIAR_OK;
    if (!tmp || !ru || !rv || !idx) {
        st = util_err(err, CAVIAR_ENOMEM, "out of memory");
    } else {
        for (size_t p = 0; p < r->n_params; p++) {
            r->score[p] = fabs(spearman(r, p, tmp, ru, rv, idx));
            r->sd[p] = NAN;
        }
        rank_by_score(r);
        *method = "spearman";
    }
    free(tmp);
    free(ru);
    free(rv);
    free(idx);
    return st;
}

static caviar_status write_importance(rep *r, caviar_error *err)
{
    const char *method = "spearman";
    char note[CAVIAR_ERRMSG_LEN];
    caviar_status st = importance_scores(r, &method, note, sizeof note, err);
    if (st != CAVIAR_OK)
        return st;
    FILE *out = r->out;
    size_t n_scored = 0;
    for (size_t i = 0; i < r->n; i++)
        n_scored += scored(r, i);
    fprintf(out, "{\"method\":");
    j_str(out, method);
    fputs(",\"note\":", out);
    if (note[0])
        j_str(out, note);
    else
        fputs("null", out);
    fprintf(out, ",\"n_trials\":%zu,\"params\":[", n_scored);
    for (size_t k = 0; k < r->n_params; k++) {
        size_t p = r->rank[k];
        fprintf(out, "%s{\"param\":%zu,\"score\":", k ? "," : "", p);
        j_num(out, r->score[p]);
        fputs(",\"sd\":", out);
        j_num(out, r->sd[p]);
        fputc('}', out);
    }
    fputs("],\"pairs\":[", out);
    for (size_t k = 0; k < r->n_pairs; k++) {
        fprintf(out, "%s{\"a\":%zu,\"b\":%zu,\"score\":", k ? "," : "", r->pairs[k].a,
                r->pairs[k].b);
        j_num(out, r->pairs[k].share);
        fputc('}', out);
    }
    fputs("]}", out);
    return CAVIAR_OK;
}

/* ---- the heat map of the two most important parameters ------------------------------------- */

/* Whether parameter p takes at least two values among the scored trials. */
static int varies(const rep *r, size_t p)
{
    double seen = NAN;
    for (size_t i = 0; i < r->n; i++) {
        double x = X(r, i, p);
        if (!scored(r, i) || isnan(x))
            continue;
        if (isnan(seen))
            seen = x;
        else if (x != seen)
            return 1;
    }
    return 0;
}

#define HEAT_MIN_WEIGHT 0.0439 /* exp(-2.5^2 / 2): one trial 2.5 bandwidths away */

static caviar_status write_heatmap(rep *r, caviar_error *err)
{
    FILE *out = r->out;
    long a = -1, b = -1;
    for (size_t k = 0; k < r->n_params && b < 0; k++) {
        size_t p = r->rank[k];
        if (!varies(r, p))
            continue;
        if (a < 0)
            a = (long)p;
        else
            b = (long)p;
    }
    size_t n = 0;
    for (size_t i = 0; b >= 0 && i < r->n; i++)
        n += scored(r, i) && !isnan(X(r, i, a)) && !isnan(X(r, i, b));
    if (b < 0 || n < 3) {
        fputs("null", out);
        return CAVIAR_OK;
    }
    size_t g = r->o->heat_cells < 2 ? 2 : r->o->heat_cells > 200 ? 200 : r->o->heat_cells;
    double *u = malloc(n * sizeof *u), *w = malloc(n * sizeof *w), *val = malloc(n * sizeof *val);
    size_t *idx = malloc(n * sizeof *idx);
    if (!u || !w || !val || !idx) {
        free(u);
        free(w);
        free(val);
        free(idx);
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        if (scored(r, i) && !isnan(X(r, i, a)) && !isnan(X(r, i, b))) {
            u[k] = caviar_dist_to_unit(r->dists[a], X(r, i, a));
            w[k] = caviar_dist_to_unit(r->dists[b], X(r, i, b));
            val[k] = r->t[i].value;
            idx[k++] = i;
        }
    /* Scott's rule for two dimensions, on the spread of uniform points in [0, 1]. */
    double h = 0.2887 * pow((double)n, -1.0 / 6.0), inv = -0.5 / (h * h);
    char buf[512];
    fprintf(out, "{\"x\":%ld,\"y\":%ld,\"n\":%zu,\"n_trials\":%zu,\"bandwidth\":%.3g", a, b, g, n,
            h);
    for (int axis = 0; axis < 2; axis++) {
        const caviar_dist *d = r->dists[axis ? b : a];
        fputs(axis ? ",\"ylabels\":[" : ",\"xlabels\":[", out);
        for (size_t c = 0; c < g; c++) {
            if (c)
                fputc(',', out);
            double x = caviar_dist_from_unit(d, ((double)c + 0.5) / (double)g);
            j_str(out, short_label(d, x, buf, sizeof buf));
        }
        fputc(']', out);
    }
    /* cells[j * g + i]: column i (x), row j (y). */
    fputs(",\"cells\":[", out);
    for (size_t j = 0; j < g; j++) {
        double cy = ((double)j + 0.5) / (double)g;
        for (size_t i = 0; i < g; i++) {
            double cx = ((double)i + 0.5) / (double)g, sw = 0, swv = 0;
            for (size_t t = 0; t < n; t++) {
                double dx = u[t] - cx, dy = w[t] - cy;
                double wt = exp((dx * dx + dy * dy) * inv);
                sw += wt;
                swv += wt * val[t];
            }
            if (i || j)
                fputc(',', out);
            /* A cell with no trial within 2.5 bandwidths has no estimate: the nearest cluster's
             * value would be extrapolated over it. */
            if (sw >= HEAT_MIN_WEIGHT)
                fprintf(out, "%.6g", swv / sw);
            else
                fputs("null", out);
        }
    }
    /* The trials: [x, y] in cell units, value, trial number. */
    fputs("],\"points\":[", out);
    for (size_t t = 0; t < n; t++) {
        fprintf(out, "%s[%.5g,%.5g,", t ? "," : "", u[t] * (double)g, w[t] * (double)g);
        j_num(out, val[t]);
        fprintf(out, ",%llu]", (unsigned long long)r->t[idx[t]].number);
    }
    fputs("]}", out);
    free(u);
    free(w);
    free(val);
    free(idx);
    return CAVIAR_OK;
}

/* ---- coarse-to-fine rounds ----------------------------------------------------------------- */

/* Reads a JSON string at *p (after its opening quote) into buf; the position after its
 * closing quote, NULL when malformed. Escapes other than \" and \\ are kept as they are. */
static const char *read_name(const char *p, char *buf, size_t len)
{
    size_t k = 0;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        if (k + 1 < len)
            buf[k++] = *p;
    }
    buf[k] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* Calls on(name, numbers, count) for each entry of a c2f.box attribute
 * ({"lr":[0.25,0.5],"act":[0,2]}); -1 when malformed. */
static int box_parse(const char *text, void (*on)(void *, const char *, const double *, size_t),
                     void *ctx)
{
    char name[256];
    double nums[256];
    const char *p = skip_ws(text);
    if (*p++ != '{')
        return -1;
    p = skip_ws(p);
    if (*p == '}')
        return 0;
    for (;;) {
        p = skip_ws(p);
        if (*p++ != '"' || !(p = read_name(p, name, sizeof name)))
            return -1;
        p = skip_ws(p);
        if (*p++ != ':')
            return -1;
        p = skip_ws(p);
        if (*p++ != '[')
            return -1;
        size_t n = 0;
        p = skip_ws(p);
        while (*p != ']') {
            char *end;
            double v = strtod(p, &end);
            if (end == p)
                return -1;
            if (n < sizeof nums / sizeof nums[0])
                nums[n++] = v;
            p = skip_ws(end);
            if (*p == ',')
                p = skip_ws(p + 1);
            else if (*p != ']')
                return -1;
        }
        on(ctx, name, nums, n);
        p = skip_ws(p + 1);
        if (*p == '}')
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

typedef struct box_writer {
    const rep *r;
    FILE *out;
    int first;
} box_writer;

/* The cell [lo, hi] of u that choice k of a categorical owns. */
static void choice_cell(const caviar_dist *d, size_t k, double *lo, double *hi)
{
    if (!d->weights) {
        *lo = (double)k / (double)d->n_choices;
        *hi = (double)(k + 1) / (double)d->n_choices;
        return;
    }
    double total = 0, before = 0;
    for (size_t j = 0; j < d->n_choices; j++) {
        total += d->weights[j];
        if (j < k)
            before += d->weights[j];
    }
    *lo = total > 0 ? before / total : 0;
    *hi = total > 0 ? (before + d->weights[k]) / total : 1;
}

/* One parameter of a box as "p": [[lo, hi], ...] in u: a float's or int's interval, the
 * cells of a categorical's allowed choices. */
static void box_entry(void *ctx, const char *name, const double *nums, size_t n)
{
    box_writer *bw = ctx;
    const rep *r = bw->r;
    size_t p = 0;
    while (p < r->n_params && strcmp(r->names[p], name) != 0)
        p++;
    if (p == r->n_params)
        return;
    const caviar_dist *d = r->dists[p];
    fprintf(bw->out, "%s\"%zu\":[", bw->first ? "" : ",", p);
    bw->first = 0;
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        int any = 0;
        for (size_t j = 0; j < n; j++) {
            if (!(nums[j] >= 0) || (size_t)nums[j] >= d->n_choices)
                continue;
            double lo, hi;
            choice_cell(d, (size_t)nums[j], &lo, &hi);
            fprintf(bw->out, "%s[%.17g,%.17g]", any ? "," : "", lo, hi);
            any = 1;
        }
    } else if (n == 2) {
        fprintf(bw->out, "[%.17g,%.17g]", nums[0], nums[1]);
    }
    fputc(']', bw->out);
}

static caviar_status write_c2f(rep *r, caviar_error *err)
{
    FILE *out = r->out;
    /* Rounds by number (the round of each trial, -1 when it has none). */
    long *round = malloc((r->n ? r->n : 1) * sizeof *round);
    if (!round)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    long max_round = -1;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        const char *text;
        round[i] = -1;
        if (caviar_study_trial(r->s, i, &v) == CAVIAR_OK && (text = view_attr(&v, "c2f.round"))) {
            char *end;
            long k = strtol(text, &end, 10);
            if (end != text && !*end && k >= 0 && k < 1000000)
                round[i] = k;
        }
        if (round[i] > max_round)
            max_round = round[i];
    }
    if (max_round < 0) {
        free(round);
        fputs("null", out);
        return CAVIAR_OK;
    }
    fputs("{\"rounds\":[", out);
    int any = 0;
    for (long k = 0; k <= max_round; k++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        size_t count = 0, complete = 0;
        long best = -1;
        for (size_t i = 0; i < r->n; i++) {
            if (round[i] != k)
                continue;
            count++;
            if (r->t[i].number < lo)
                lo = r->t[i].number;
            if (r->t[i].number > hi)
                hi = r->t[i].number;
            if (!scored(r, i))
                continue;
            complete++;
            if (best < 0 || better(r, r->t[i].value, r->t[best].value))
                best = (long)i;
        }
        if (!count)
            continue;
        fprintf(out, "%s{\"round\":%ld,\"first\":%llu,\"last\":%llu,\"n\":%zu,\"complete\":%zu,"
                     "\"best_trial\":",
                any ? "," : "", k, (unsigned long long)lo, (unsigned long long)hi, count,
                complete);
        any = 1;
        if (best >= 0) {
            fprintf(out, "%llu,\"best\":", (unsigned long long)r->t[best].number);
            j_num(out, r->t[best].value);
        } else {
            fputs("null,\"best\":null", out);
        }
        fputc('}', out);
    }
    /* Runs of consecutive trials with the same round and box. */
    fputs("],\"runs\":[", out);
    char *prev = NULL;
    long prev_round = -2;
    int n_runs = 0;
    uint64_t run_first = 0, run_last = 0;
    caviar_status st = CAVIAR_OK;
    for (size_t i = 0; i <= r->n; i++) {
        caviar_trial_view v;
        const char *box = NULL;
        if (i < r->n && round[i] >= 0 && caviar_study_trial(r->s, i, &v) == CAVIAR_OK)
            box = view_attr(&v, "c2f.box");
        int same = i < r->n && box && prev && round[i] == prev_round && strcmp(box, prev) == 0;
        if (same) {
            run_last = r->t[i].number;
            continue;
        }
        if (prev) { /* the run that ends here */
            fprintf(out, "%s{\"round\":%ld,\"first\":%llu,\"last\":%llu,\"box\":{",
                    n_runs++ ? "," : "", prev_round, (unsigned long long)run_first,
                    (unsigned long long)run_last);
            box_writer bw = {r, out, 1};
            box_parse(prev, box_entry, &bw); /* a malformed box is drawn as far as it reads */
            fputs("}}", out);
            free(prev);
            prev = NULL;
        }
        if (box) {
            if (!(prev = strdup(box))) {
                st = util_err(err, CAVIAR_ENOMEM, "out of memory");
                break;
            }
            prev_round = round[i];
            run_first = run_last = r->t[i].number;
        }
    }
    free(prev);
    /* Each parameter's axis: the values at u = 0, 1/4, 1/2, 3/4, 1; each trial's u. */
    fputs("],\"labels\":[", out);
    char buf[512];
    for (size_t p = 0; p < r->n_params; p++) {
        fputs(p ? ",[" : "[", out);
        for (int q = 0; q <= 4; q++) {
            if (q)
                fputc(',', out);
            j_str(out, short_label(r->dists[p], caviar_dist_from_unit(r->dists[p], q / 4.0), buf,
                                   sizeof buf));
        }
        fputc(']', out);
    }
    fputs("],\"round_of\":[", out);
    for (size_t i = 0; i < r->n; i++)
        fprintf(out, "%s%ld", i ? "," : "", round[i]);
    fputs("],\"u\":[", out);
    for (size_t p = 0; p < r->n_params; p++) {
        fputs(p ? ",[" : "[", out);
        for (size_t i = 0; i < r->n; i++) {
            double x = X(r, i, p);
            if (i)
                fputc(',', out);
            if (isnan(x))
                fputs("null", out);
            else
                fprintf(out, "%.6g", caviar_dist_to_unit(r->dists[p], x));
        }
        fputc(']', out);
    }
    fputs("]}", out);
    free(round);
    return st;
}

/* ---- panda days ---------------------------------------------------------------------------- */

/* A day's curve ("epoch lr train_loss dev_loss dev_metric;" per epoch) as JSON rows. */
static void write_day_curve(FILE *out, const char *text)
{
    fputc('[', out);
    const char *p = text ? text : "";
    int rows = 0;
    while (*p) {
        double f[5];
        int k = 0;
        char *end;
        while (k < 5) {
            f[k] = strtod(p, &end);
            if (end == p)
                break;
            p = end;
            k++;
        }
        if (k == 5) {
            fputs(rows++ ? ",[" : "[", out);
            for (int j = 0; j < 5; j++) {
                if (j)
                    fputc(',', out);
                j_num(out, f[j]);
            }
            fputc(']', out);
        }
        const char *semi = strchr(p, ';');
        if (!semi)
            break;
        p = semi + 1;
    }
    fputc(']', out);
}

static void write_panda(rep *r)
{
    FILE *out = r->out;
    int any = 0;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        const char *day, *parent;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK || !(day = view_attr(&v, "panda.day")) ||
            !(parent = view_attr(&v, "panda.parent")))
            continue;
        const char *epoch = view_attr(&v, "panda.epoch"), *note = view_attr(&v, "panda.note");
        fprintf(out, "%s{\"day\":%lld,\"parent\":%lld,\"epoch\":%lld,\"trial\":%llu,\"state\":%d,"
                     "\"value\":",
                any ? "," : "{\"days\":[", strtoll(day, NULL, 10), strtoll(parent, NULL, 10),
                epoch ? strtoll(epoch, NULL, 10) : 0LL, (unsigned long long)v.number,
                (int)v.state);
        any = 1;
        j_num(out, v.value);
        fputs(",\"diverged\":", out);
        fputs(view_attr(&v, "panda.diverged") ? "true" : "false", out);
        fputs(",\"note\":", out);
        j_str(out, note ? note : "");
        fputs(",\"hparams\":", out);
        j_str(out, view_attr(&v, "panda.hparams"));
        fputs(",\"curve\":", out);
        write_day_curve(out, view_attr(&v, "panda.curve"));
        fputc('}', out);
    }
    fputs(any ? "]}" : "null", out);
}

/* ---- PBT lineages -------------------------------------------------------------------------- */

static void write_pbt(rep *r)
{
    FILE *out = r->out;
    int any = 0;
    for (size_t i = 0; i < r->n; i++) {
        caviar_trial_view v;
        if (caviar_study_trial(r->s, i, &v) != CAVIAR_OK)
            continue;
        int member = 0;
        for (size_t a = 0; a < v.n_attrs && !member; a++)
            member = strncmp(v.attrs[a].key, "pbt.", 4) == 0;
        if (!member)
            continue;
        fprintf(out, "%s{\"trial\":%llu,\"state\":%d,\"value\":", any ? "," : "{\"members\":[",
                (unsigned long long)v.number, (int)v.state);
        any = 1;
        j_num(out, v.value);
        fputs(",\"steps\":[", out);
        for (size_t j = 0; j < v.n_reports; j++)
            fprintf(out, "%s%lld", j ? "," : "", (long long)v.report_steps[j]);
        fputs("],\"values\":[", out);
        for (size_t j = 0; j < v.n_reports; j++) {
            if (j)
                fputc(',', out);
            j_num(out, v.report_values[j]);
        }
        /* Exploits, in the order the attributes come. */
        fputs("],\"exploits\":[", out);
        int n_ex = 0;
        for (size_t a = 0; a < v.n_attrs; a++) {
            unsigned long long at, from, from_epoch;
            char tail;
            if (sscanf(v.attrs[a].key, "pbt.exploit.%llu%c", &at, &tail) != 1 ||
                sscanf(v.attrs[a].value, "%llu %llu", &from, &from_epoch) != 2)
                continue;
            char key[64];
            snprintf(key, sizeof key, "pbt.explore.%llu", at);
            const char *explore = view_attr(&v, key);
            fprintf(out, "%s{\"epoch\":%llu,\"from\":%llu,\"from_epoch\":%llu,\"explore\":",
                    n_ex++ ? "," : "", at, from, from_epoch);
            j_str(out, explore ? explore : "");
            fputc('}', out);
        }
        fputs("]}", out);
    }
    fputs(any ? "]}" : "null", out);
}

/* ---- the page ------------------------------------------------------------------------------ */

/* The study as the page's JSON document (its keys: the top of this file). */
static caviar_status write_data(rep *r, caviar_error *err)
{
    FILE *out = r->out;
    caviar_status st;
    fputs("{\"study\":", out);
    write_study(r);
    fputs(",\n\"params\":", out);
    write_params(r);
    fputs(",\n\"trials\":", out);
    if ((st = write_trials(r, err)) != CAVIAR_OK)
        return st;
    fputs(",\n\"curves\":", out);
    if ((st = write_curves(r, err)) != CAVIAR_OK)
        return st;
    fputs(",\n\"importance\":", out);
    if ((st = write_importance(r, err)) != CAVIAR_OK)
        return st;
    fputs(",\n\"heatmap\":", out);
    if ((st = write_heatmap(r, err)) != CAVIAR_OK)
        return st;
    fputs(",\n\"c2f\":", out);
    if ((st = write_c2f(r, err)) != CAVIAR_OK)
        return st;
    fputs(",\n\"panda\":", out);
    write_panda(r);
    fputs(",\n\"pbt\":", out);
    write_pbt(r);
    fputs("}\n", out);
    return CAVIAR_OK;
}

void report_html_text(FILE *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*p, out);
        }
    }
}

void report_json_str(FILE *out, const char *s)
{
    j_str(out, s);
}

void report_json_num(FILE *out, double v)
{
    j_num(out, v);
}

/* The study's JSON document alone (page 0), or the whole page around it (page 1). */
static caviar_status write_report(const caviar_study *study, const report_html_opts *o, FILE *out,
                                  int page, caviar_error *err)
{
    report_html_opts defaults;
    if (!o) {
        report_html_opts_init(&defaults);
        o = &defaults;
    }
    rep r = {.s = study, .o = o, .out = out, .minimize = o->direction != CAVIAR_MAXIMIZE};
    caviar_status st = rep_load(&r, err);
    if (st != CAVIAR_OK)
        goto done;
    if (page) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"generator\" content=\"caviar report\">\n<title>caviar report: ",
              out);
        report_html_text(out, o->title ? o->title : "study");
        fputs("</title>\n<style>\n", out);
        fwrite(report_asset_page_css, 1, report_asset_page_css_len, out);
        fputs("</style>\n<!-- Apache ECharts ", out);
        fputs(report_asset_echarts_version, out);
        fputs(" (Apache License 2.0), from npm -->\n<script>\n", out);
        fwrite(report_asset_echarts, 1, report_asset_echarts_len, out);
        fputs("\n</script>\n</head>\n<body>\n<div id=\"app\"><noscript>This report draws its "
              "charts with JavaScript: allow scripts for this file.</noscript></div>\n"
              "<pre id=\"caviar-check\" hidden></pre>\n"
              "<script type=\"application/json\" id=\"caviar-data\">\n",
              out);
    }
    if ((st = write_data(&r, err)) != CAVIAR_OK)
        goto done;
    if (page) {
        fputs("</script>\n<script>\n", out);
        fwrite(report_asset_page_js, 1, report_asset_page_js_len, out);
        fputs("\n</script>\n</body>\n</html>\n", out);
    }
    if (fflush(out) != 0 || ferror(out))
        st = util_err(err, CAVIAR_EIO, "cannot write the %s: %s", page ? "report" : "study's data",
                      "write error");
done:
    rep_release(&r);
    return st;
}

caviar_status report_json_write(const caviar_study *study, const report_html_opts *o, FILE *out,
                                caviar_error *err)
{
    return write_report(study, o, out, 0, err);
}

caviar_status report_html_write(const caviar_study *study, const report_html_opts *o, FILE *out,
                                caviar_error *err)
{
    return write_report(study, o, out, 1, err);
}
