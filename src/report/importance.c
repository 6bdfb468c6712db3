/*
 * importance.c — which hyperparameters matter: functional ANOVA (fANOVA; Hutter, Hoos and
 * Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter Importance", ICML 2014) of a
 * random forest fitted to the COMPLETE trials of a study.
 *
 * The data. One row per COMPLETE trial with a finite value; the target is that value (scaled by
 * its largest magnitude and centred, which changes no share). Each parameter seen in those
 * trials is one feature, in its own scale:
 *   - floats and integers: u = caviar_dist_to_unit(d, internal) in [0, 1], so a log-scale
 *     learning rate is split on log(lr) and a one-minus-log beta on log(1 - beta);
 *   - categoricals: the choice index, split as a category (below), never as an ordered number.
 *     On the unit interval choice c owns a cell of width weights[c] / sum (1 / n_choices when
 *     unweighted), the measure the random sampler draws it with;
 *   - a trial without the parameter (a conditional one) takes the middle of its range: u = 0.5,
 *     or the choice that owns u = 0.5.
 *
 * The forest. n_trees regression trees, tree t drawn with its own stream
 * util_rng_derive(seed, t), so the result is a function of (study, opts) only:
 *   - bootstrap: n draws with replacement from the n trials; a trial drawn k times weighs k in
 *     the node means and the squared-error criterion;
 *   - a node is split when it is shallower than max_depth, holds at least 2 min_leaf distinct
 *     trials and not all of them have the same value. It takes the split with the largest
 *     decrease of the weighted squared error among mtry features drawn at random (without
 *     replacement), and if none of those can be split (constant in the node, or min_leaf cannot
 *     be met) the next drawn features, until one can. mtry = D for D <= 6 parameters and
 *     max(6, ceil(0.7 D)) beyond. Small subsets (Breiman's D / 3) decorrelate trees, but a
 *     split forced onto a useless parameter hands it spurious variance and spends the tree's
 *     leaves on nothing, which an importance analysis must avoid. Measured on 10,000 trials of
 *     y = 3 x0 + 2 sin(2 pi x1) + 4 (x2 - 1/2)(x3 - 1/2) + x4 / 2 with five unused parameters
 *     (closed form: x1 0.698, x0 0.262): mtry 3 gave x1 0.635, x0 0.239 and 2.9% of spurious
 *     pair shares, mtry 4 0.665, 0.250, 1.9%; mtry 6 0.688, 0.257, 1.3%; mtry 7 0.692, 0.258,
 *     1.2%; mtry 10 0.695, 0.259, 1.3%;
 *   - min_leaf counts distinct trials (not bootstrap copies): every leaf averages at least
 *     min_leaf different trials;
 *   - a continuous split is x < t with t halfway between two consecutive distinct values in the
 *     node. The search is one pass over the node's trials in order of that feature: each tree
 *     sorts nothing, it filters the global per-feature sort by its bootstrap counts, and every
 *     split partitions the per-feature orders stably (O(D n) per tree level);
 *   - a categorical split sends a subset of choices left: the choices present in the node are
 *     sorted by their mean target, and the best of the prefixes of that order is, for squared
 *     error, the best of all 2^(k-1) subsets (Breiman et al., CART, 1984). A choice absent from
 *     the node is sent left or right by a fair coin of the tree's stream: the data say nothing
 *     about it there, as they say nothing about the gap a continuous threshold halves.
 *
 * The decomposition, exact for each tree. Every leaf is a box of [0, 1]^D: on a continuous axis
 * an interval of cells cut by the tree's thresholds on that axis, on a categorical axis a set
 * of choice cells. With vol_l the box's volume (the uniform measure on the unit cube, i.e. the
 * parameters' own scales), w_l,i its width on axis i and v_l its value:
 *   f0  = sum_l vol_l v_l                     V   = sum_l vol_l (v_l - f0)^2
 *   E[f | x_i in cell c]       - f0 = sum_{l covers c}    (v_l - f0) vol_l / w_l,i
 *   E[f | x_i in c, x_j in c'] - f0 = sum_{l covers c,c'} (v_l - f0) vol_l / (w_l,i w_l,j)
 *   V_i  = sum_c width_c (E[f | c] - f0)^2        (the main effect's variance)
 *   V_ij = sum_{c,c'} width_c width_c' (E[f | c, c'] - f0)^2,  interaction = V_ij - V_i - V_j
 * (the leaves covering a cell tile the rest of the cube, so their weights vol_l / w_l,i sum to
 * 1). Each sum over the cells is one difference array (1-D for V_i, 2-D for V_ij) filled in
 * O(leaves) and integrated in O(cells): O(L + K_i) for a main effect and O(L + K_i K_j) for a
 * pair, with K_i the cells of axis i. A pair of which one axis is never split has no
 * interaction and costs nothing. An interaction below 0 by rounding is reported as 0.
 *
 * Shares. A tree with V > 0 gives share_i = V_i / V and share_ij = interaction / V; the result is
 * their mean over such trees and their sample standard deviation. Trees with V = 0 (a single
 * leaf: the values never vary, or too few trials for min_leaf) are left out; when every tree is,
 * every share is 0 and n_trees is 0. Main effects and pairs need not sum to 1: the rest is
 * higher-order interactions.
 *
 * A limit of greedy trees, not of the decomposition: a pure interaction, such as the centred
 * (x2 - 1/2)(x3 - 1/2) above, gives a single split no gain in expectation, so among stronger
 * effects no tree finds it (its 3.9% went unexplained, and the trees' steps on x0 and x1 took
 * its place). Alone (two parameters) it is found, as the tests show, and an interaction with
 * main effects (4 x2 x3 in the same study: pair 0.031 against 0.031 in closed form) is found.
 *
 * The oracle. opts.check decomposes each tree a second time by brute force: every cell of the
 * full grid (the product of all axes' cells), the tree evaluated at the cell by descending it,
 * and the same variances from the marginal sums. It is exponential in D and meant for tests.
 */
#include "report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* The oracle refuses trees whose full grid has more cells than this. */
#define IMP_CHECK_MAX_CELLS ((size_t)1 << 22)

void report_importance_opts_init(report_importance_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_trees = 64;
    o->min_leaf = 2;
    o->max_depth = 16;
    o->seed = 0;
    o->pairs = 1;
    o->check = 0;
}

/* ---- the data ------------------------------------------------------------------------------ */

typedef struct imp_feat {
    char *name;
    int categorical;
    size_t n_choices; /* categorical: its cells */
    double *cell_w;   /* categorical: (n_choices) each choice's width on the unit interval */
    double missing;   /* the position of a trial that lacks the parameter */
} imp_feat;

/* Rows are COMPLETE trials with a finite value, in study order. Owns everything. */
typedef struct imp_data {
    size_t n, n_feat, cap_feat;
    imp_feat *feat;
    double *x;          /* (n_feat, n): feature f of row i at x[f n + i] (a choice index for a
                           categorical) */
    double *y;          /* (n) the values, scaled by their largest magnitude and centred */
    uint32_t *sorted;   /* (n_feat, n) rows in increasing x of each feature, ties by row */
    size_t max_choices; /* the largest categorical's choices, 0 without one */
    size_t cat_total;   /* choices of all categoricals together */
} imp_data;

static void data_release(imp_data *d)
{
    for (size_t f = 0; f < d->n_feat; f++) {
        free(d->feat[f].name);
        free(d->feat[f].cell_w);
    }
    free(d->feat);
    free(d->x);
    free(d->y);
    free(d->sorted);
    memset(d, 0, sizeof *d);
}

static char *imp_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *c = malloc(len);
    if (c)
        memcpy(c, s, len);
    return c;
}

/* The feature called name, or -1; hint is where it usually is (trials list their parameters in
 * the study's order, so the hint is nearly always right). */
static long data_find(const imp_data *d, const char *name, size_t hint)
{
    if (hint < d->n_feat && strcmp(d->feat[hint].name, name) == 0)
        return (long)hint;
    for (size_t f = 0; f < d->n_feat; f++)
        if (strcmp(d->feat[f].name, name) == 0)
            return (long)f;
    return -1;
}

static caviar_status data_add(imp_data *d, const char *name, const caviar_dist *dist,
                              caviar_error *err)
{
    if (d->n_feat == d->cap_feat) {
        size_t cap = d->cap_feat ? 2 * d->cap_feat : 8;
        imp_feat *feat = realloc(d->feat, cap * sizeof *feat);
        if (!feat)
            return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
        d->feat = feat;
        d->cap_feat = cap;
    }
    imp_feat *f = &d->feat[d->n_feat];
    memset(f, 0, sizeof *f);
    if (!(f->name = imp_strdup(name)))
        return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
    d->n_feat++; /* from here on data_release frees it */
    if (dist->kind != CAVIAR_DIST_CATEGORICAL) {
        f->missing = 0.5;
        return CAVIAR_OK;
    }
    size_t nc = dist->n_choices ? dist->n_choices : 1;
    f->categorical = 1;
    f->n_choices = nc;
    if (!(f->cell_w = malloc(nc * sizeof *f->cell_w)))
        return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
    double total = 0;
    if (dist->weights && dist->n_choices)
        for (size_t c = 0; c < nc; c++)
            total += dist->weights[c];
    for (size_t c = 0; c < nc; c++)
        f->cell_w[c] = total > 0 ? dist->weights[c] / total : 1.0 / (double)nc;
    f->missing = dist->n_choices ? caviar_dist_from_unit(dist, 0.5) : 0;
    d->max_choices = nc > d->max_choices ? nc : d->max_choices;
    d->cat_total += nc;
    return CAVIAR_OK;
}

typedef struct imp_key {
    double x;
    uint32_t i;
} imp_key;

static int cmp_key(const void *a, const void *b)
{
    const imp_key *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads the study twice: the parameters and the row count, then the rows. A view is used before
 * the next caviar_study_trial() call, as its pointers require. */
static caviar_status data_load(const caviar_study *study, imp_data *d, caviar_error *err)
{
    size_t n_all = caviar_study_n_trials(study), n = 0;
    caviar_trial_view v;
    caviar_status st;
    for (size_t t = 0; t < n_all; t++) {
        if ((st = caviar_study_trial(study, t, &v)) != CAVIAR_OK)
            return util_err(err, st, "importance: cannot read trial %zu: %s", t,
                            caviar_status_str(st));
        if (v.state != CAVIAR_TRIAL_COMPLETE || !isfinite(v.value))
            continue;
        n++;
        for (size_t p = 0; p < v.n_params; p++)
            if (data_find(d, v.param_names[p], p) < 0 &&
                (st = data_add(d, v.param_names[p], v.param_dists[p], err)) != CAVIAR_OK)
                return st;
    }
    if (n < 2)
        return util_err(err, CAVIAR_EMISSING,
                        "importance needs at least 2 COMPLETE trials with a finite value; the "
                        "study has %zu (of %zu trials)\nhint: run more trials first",
                        n, n_all);
    if (d->n_feat == 0)
        return util_err(err, CAVIAR_EMISSING,
                        "importance needs parameters; the %zu COMPLETE trials of the study have "
                        "none", n);
    if (n > UINT32_MAX)
        return util_err(err, CAVIAR_EINVAL, "importance: %zu trials are too many (at most %lu)",
                        n, (unsigned long)UINT32_MAX);
    size_t D = d->n_feat;
    d->n = n;
    d->x = malloc(D * n * sizeof *d->x);
    d->y = malloc(n * sizeof *d->y);
    d->sorted = malloc(D * n * sizeof *d->sorted);
    imp_key *keys = malloc(n * sizeof *keys);
    if (!d->x || !d->y || !d->sorted || !keys) {
        free(keys);
        return util_err(err, CAVIAR_ENOMEM, "importance: out of memory for %zu trials", n);
    }
    for (size_t f = 0; f < D; f++)
        for (size_t i = 0; i < n; i++)
            d->x[f * n + i] = d->feat[f].missing;
    size_t row = 0;
    for (size_t t = 0; t < n_all && row < n; t++) {
        if ((st = caviar_study_trial(study, t, &v)) != CAVIAR_OK) {
            free(keys);
            return util_err(err, st, "importance: cannot read trial %zu: %s", t,
                            caviar_status_str(st));
        }
        if (v.state != CAVIAR_TRIAL_COMPLETE || !isfinite(v.value))
            continue;
        d->y[row] = v.value;
        for (size_t p = 0; p < v.n_params; p++) {
            long f = data_find(d, v.param_names[p], p);
            if (f < 0)
                continue; /* cannot happen: the first pass saw every name */
            const imp_feat *ft = &d->feat[f];
            double u, iv = v.param_values[p];
            if (ft->categorical) {
                u = iv >= 0 && iv < (double)ft->n_choices ? floor(iv) : ft->missing;
            } else {
                u = caviar_dist_to_unit(v.param_dists[p], iv);
                u = isfinite(u) ? (u < 0 ? 0 : u > 1 ? 1 : u) : 0.5;
            }
            d->x[(size_t)f * n + row] = u;
        }
        row++;
    }
    /* Scale, then centre: no overflow whatever the values' magnitude. */
    double big = 0, mean = 0;
    for (size_t i = 0; i < n; i++)
        big = fabs(d->y[i]) > big ? fabs(d->y[i]) : big;
    for (size_t i = 0; i < n; i++) {
        d->y[i] = big > 0 ? d->y[i] / big : 0;
        mean += d->y[i];
    }
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        d->y[i] -= mean;
    for (size_t f = 0; f < D; f++) {
        for (size_t i = 0; i < n; i++)
            keys[i] = (imp_key){d->x[f * n + i], (uint32_t)i};
        qsort(keys, n, sizeof *keys, cmp_key);
        for (size_t i = 0; i < n; i++)
            d->sorted[f * n + i] = keys[i].i;
    }
    free(keys);
    return CAVIAR_OK;
}

/* ---- one tree ------------------------------------------------------------------------------ */

typedef struct imp_node {
    int feat;      /* the split's feature, -1 in a leaf */
    uint32_t left; /* children: left and left + 1 */
    double thr;    /* continuous split: x < thr goes left */
    size_t set;    /* categorical split: offset of n_choices flags in sets, 1 = goes left */
    double value;  /* the node's mean target, weighted by the bootstrap counts */
} imp_node;

typedef struct imp_job {
    uint32_t node, start, end, depth;
} imp_job;

typedef struct imp_cat {
    double mean;
    uint32_t c;
} imp_cat;

/* The tree being fitted and its fitting scratch, allocated once for a forest (sizes from n, the
 * trials, and D, the features) and reused by every tree. */
typedef struct imp_tree {
    imp_node *nodes;     /* (2 n): a tree of m <= n distinct trials has at most 2 m - 1 */
    size_t n_nodes;
    unsigned char *sets; /* categorical splits' flags, grown as needed */
    size_t sets_len, sets_cap;
    size_t depth;        /* the deepest node's depth */
    size_t m;            /* distinct trials drawn */
    uint32_t *count;     /* (n) bootstrap multiplicity of each trial */
    uint32_t *order;     /* (D, n) the drawn trials by each feature, first m of each row; each
                            node owns one range [start, end) of every row */
    uint32_t *tmp;       /* (n) */
    unsigned char *left; /* (n) the current split's side of each trial */
    uint32_t *feats;     /* (D) features in the order a node tries them */
    imp_job *jobs;       /* (n + 2) depth-first stack */
    double *cat_w, *cat_s; /* (max_choices) per-choice weight and weighted target sum */
    uint32_t *cat_n;     /* (max_choices) per-choice distinct trials */
    imp_cat *cats;       /* (max_choices) the present choices by mean */
    unsigned char *best_set; /* (max_choices) the best categorical split so far: 1 left, 0
                                right, 2 absent from the node */
} imp_tree;

static void tree_release(imp_tree *t)
{
    free(t->nodes);
    free(t->sets);
    free(t->count);
    free(t->order);
    free(t->tmp);
    free(t->left);
    free(t->feats);
    free(t->jobs);
    free(t->cat_w);
    free(t->cat_s);
    free(t->cat_n);
    free(t->cats);
    free(t->best_set);
    memset(t, 0, sizeof *t);
}

static caviar_status tree_init(imp_tree *t, const imp_data *d, caviar_error *err)
{
    size_t n = d->n, D = d->n_feat, k = d->max_choices ? d->max_choices : 1;
    memset(t, 0, sizeof *t);
    t->nodes = malloc(2 * n * sizeof *t->nodes);
    t->count = malloc(n * sizeof *t->count);
    t->order = malloc(D * n * sizeof *t->order);
    t->tmp = malloc(n * sizeof *t->tmp);
    t->left = malloc(n);
    t->feats = malloc(D * sizeof *t->feats);
    t->jobs = malloc((n + 2) * sizeof *t->jobs);
    t->cat_w = malloc(k * sizeof *t->cat_w);
    t->cat_s = malloc(k * sizeof *t->cat_s);
    t->cat_n = malloc(k * sizeof *t->cat_n);
    t->cats = malloc(k * sizeof *t->cats);
    t->best_set = malloc(k);
    if (!t->nodes || !t->count || !t->order || !t->tmp || !t->left || !t->feats || !t->jobs ||
        !t->cat_w || !t->cat_s || !t->cat_n || !t->cats || !t->best_set)
        return util_err(err, CAVIAR_ENOMEM, "importance: out of memory for the forest");
    for (size_t f = 0; f < D; f++)
        t->feats[f] = (uint32_t)f;
    return CAVIAR_OK;
}

/* The best split so far of one node: score = sL^2 / wL + sR^2 / wR (the weighted squared
 * error's decrease plus a constant of the node). Ties are common: in a small node a split on
 * one feature often makes the same two groups of trials as a split on another, and then which
 * score is larger is rounding. A candidate replaces the best only if it beats it by tol = 1e-12
 * of the node's sum of c y^2 (an upper bound of every score), so a tie goes to the feature tried
 * first (in the node's random order) and the threshold found first, and the tree does not
 * change when the data change by an ulp (a log-scale value and its logarithm held linearly). */
typedef struct imp_split {
    long feat; /* -1: none yet */
    double score;
    double thr;
    double tol; /* a split must beat score by more than this to replace it */
} imp_split;

/* Every threshold between consecutive distinct values of continuous feature f in the node's
 * trials [start, end) of its order; wt and s are the node's weight and weighted target sum. */
static void split_continuous(const imp_data *d, imp_tree *t, size_t f, size_t start, size_t end,
                             double wt, double s, size_t min_leaf, imp_split *best)
{
    const uint32_t *ord = t->order + f * d->n + start;
    const double *x = d->x + f * d->n;
    size_t len = end - start;
    double wl = 0, sl = 0;
    for (size_t k = 0; k + 1 < len; k++) {
        uint32_t i = ord[k];
        wl += t->count[i];
        sl += t->count[i] * d->y[i];
        if (k + 1 < min_leaf)
            continue;
        if (len - (k + 1) < min_leaf)
            break;
        double xi = x[i], xn = x[ord[k + 1]];
        if (!(xn > xi))
            continue;
        double wr = wt - wl, sr = s - sl;
        double score = sl * sl / wl + sr * sr / wr;
        if (score > best->score + best->tol) {
            double thr = 0.5 * (xi + xn);
            best->feat = (long)f;
            best->score = score;
            best->thr = thr > xi ? thr : xn; /* adjacent doubles: the midpoint rounds to xi */
        }
    }
}

static int cmp_cat(const void *a, const void *b)
{
    const imp_cat *p = a, *q = b;
    if (p->mean != q->mean)
        return p->mean < q->mean ? -1 : 1;
    return p->c < q->c ? -1 : p->c > q->c;
}

/* The best subset split of categorical feature f: the prefixes of the present choices sorted by
 * mean target. Its flags go to t->best_set when it beats best. */
static void split_categorical(const imp_data *d, imp_tree *t, size_t f, size_t start,
                              size_t end, double wt, double s, size_t min_leaf, imp_split *best)
{
    const uint32_t *ord = t->order + f * d->n + start;
    const double *x = d->x + f * d->n;
    size_t len = end - start, n_present = 0;
    for (size_t k = 0; k < len;) { /* the node's trials come grouped by choice */
        size_t c = (size_t)x[ord[k]];
        double cw = 0, cs = 0;
        uint32_t cn = 0;
        for (; k < len && (size_t)x[ord[k]] == c; k++) {
            uint32_t i = ord[k];
            cw += t->count[i];
            cs += t->count[i] * d->y[i];
            cn++;
        }
        t->cat_w[c] = cw;
        t->cat_s[c] = cs;
        t->cat_n[c] = cn;
        t->cats[n_present++] = (imp_cat){cs / cw, (uint32_t)c};
    }
    if (n_present < 2)
        return;
    qsort(t->cats, n_present, sizeof *t->cats, cmp_cat);
    double wl = 0, sl = 0;
    size_t nl = 0;
    for (size_t k = 0; k + 1 < n_present; k++) {
        uint32_t c = t->cats[k].c;
        wl += t->cat_w[c];
        sl += t->cat_s[c];
        nl += t->cat_n[c];
        if (nl < min_leaf)
            continue;
        if (len - nl < min_leaf)
            break;
        double wr = wt - wl, sr = s - sl;
        double score = sl * sl / wl + sr * sr / wr;
        if (score > best->score + best->tol) {
            best->feat = (long)f;
            best->score = score;
            memset(t->best_set, 2, d->feat[f].n_choices);
            for (size_t j = 0; j < n_present; j++)
                t->best_set[t->cats[j].c] = j <= k;
        }
    }
}

/* Fits one tree on a bootstrap sample drawn from rng. */
static caviar_status tree_fit(imp_tree *t, const imp_data *d, const report_importance_opts *o,
                              size_t mtry, util_rng *rng, caviar_error *err)
{
    size_t n = d->n, D = d->n_feat, min_leaf = o->min_leaf;
    memset(t->count, 0, n * sizeof *t->count);
    for (size_t k = 0; k < n; k++)
        t->count[util_rng_below(rng, n)]++;
    size_t m = 0;
    for (size_t f = 0; f < D; f++) {
        uint32_t *row = t->order + f * n;
        const uint32_t *sorted = d->sorted + f * n;
        m = 0;
        for (size_t k = 0; k < n; k++)
            if (t->count[sorted[k]])
                row[m++] = sorted[k];
    }
    t->m = m;
    t->n_nodes = 1;
    t->sets_len = 0;
    t->depth = 0;
    size_t n_jobs = 0;
    t->jobs[n_jobs++] = (imp_job){0, 0, (uint32_t)m, 0};
    while (n_jobs) {
        imp_job j = t->jobs[--n_jobs];
        imp_node *nd = &t->nodes[j.node];
        const uint32_t *ord = t->order; /* any feature's row holds the node's trials */
        double wt = 0, s = 0, s2 = 0, ylo = INFINITY, yhi = -INFINITY;
        for (size_t k = j.start; k < j.end; k++) {
            uint32_t i = ord[k];
            double c = t->count[i], y = d->y[i];
            wt += c;
            s += c * y;
            s2 += c * y * y;
            ylo = y < ylo ? y : ylo;
            yhi = y > yhi ? y : yhi;
        }
        nd->feat = -1;
        nd->value = s / wt;
        t->depth = j.depth > t->depth ? j.depth : t->depth;
        size_t len = j.end - j.start;
        if (j.depth >= o->max_depth || len < 2 * min_leaf || ylo == yhi)
            continue;
        /* A split must beat rounding, not only 0. */
        imp_split best = {-1, s * s / wt, 0, 1e-12 * s2};
        util_rng_shuffle(rng, t->feats, D);
        for (size_t q = 0; q < D && (q < mtry || best.feat < 0); q++) {
            size_t f = t->feats[q];
            if (d->feat[f].categorical)
                split_categorical(d, t, f, j.start, j.end, wt, s, min_leaf, &best);
            else
                split_continuous(d, t, f, j.start, j.end, wt, s, min_leaf, &best);
        }
        if (best.feat < 0)
            continue;
        size_t f = (size_t)best.feat;
        const double *x = d->x + f * n;
        if (d->feat[f].categorical) {
            size_t nc = d->feat[f].n_choices;
            if (t->sets_len + nc > t->sets_cap) {
                size_t cap = t->sets_cap ? 2 * t->sets_cap : 1024;
                while (cap < t->sets_len + nc)
                    cap *= 2;
                unsigned char *sets = realloc(t->sets, cap);
                if (!sets)
                    return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
                t->sets = sets;
                t->sets_cap = cap;
            }
            unsigned char *set = t->sets + t->sets_len;
            for (size_t c = 0; c < nc; c++)
                set[c] = t->best_set[c] == 2 ? (unsigned char)(util_rng_u64(rng) >> 63)
                                             : t->best_set[c];
            for (size_t k = j.start; k < j.end; k++)
                t->left[ord[k]] = set[(size_t)x[ord[k]]];
            nd->set = t->sets_len;
            t->sets_len += nc;
        } else {
            for (size_t k = j.start; k < j.end; k++)
                t->left[ord[k]] = x[ord[k]] < best.thr;
            nd->thr = best.thr;
        }
        /* Stable partition of every feature's range: left trials first, each side still in
         * that feature's order. */
        size_t nl = 0;
        for (size_t g = 0; g < D; g++) {
            uint32_t *row = t->order + g * n;
            size_t a = j.start, b = 0;
            for (size_t k = j.start; k < j.end; k++) {
                uint32_t i = row[k];
                if (t->left[i])
                    row[a++] = i;
                else
                    t->tmp[b++] = i;
            }
            memcpy(row + a, t->tmp, b * sizeof *row);
            nl = a - j.start;
        }
        if (nl == 0 || nl == len)
            continue; /* cannot happen: the split's sides each hold min_leaf trials */
        nd->feat = (int)f;
        nd->left = (uint32_t)t->n_nodes;
        t->n_nodes += 2;
        t->jobs[n_jobs++] = (imp_job){nd->left + 1, j.start + (uint32_t)nl, j.end, j.depth + 1};
        t->jobs[n_jobs++] = (imp_job){nd->left, j.start, j.start + (uint32_t)nl, j.depth + 1};
    }
    return CAVIAR_OK;
}

/* ---- the decomposition of one tree -------------------------------------------------------- */

/* Per-tree scratch of the decomposition; grown as trees need, freed with the forest. */
typedef struct imp_anova {
    size_t *n_cells;   /* (D) K_i: cells of axis i */
    size_t *cut_off;   /* (D) where axis i's sorted thresholds start in cuts */
    size_t *cell_off;  /* (D) where axis i's cell widths start in cell_w */
    size_t *cat_off;   /* (D) where categorical axis i's flags start in a box row */
    double *cuts;      /* (2 n) */
    double *cell_w;    /* (2 n + D + cat_total) */
    /* leaves */
    size_t n_leaves;
    double *leaf_v, *leaf_vol; /* (n) the value (centred on f0 once known) and volume */
    double *leaf_w;            /* (n, D) the box's width on each axis */
    uint32_t *leaf_run;        /* (n, D) the box's first run on each axis, in runs */
    uint32_t *leaf_nrun;       /* (n, D) its number of runs */
    uint32_t *runs;            /* (lo, hi) pairs: the box covers cells lo .. hi - 1 */
    size_t runs_len, runs_cap;
    /* the box of each depth while descending */
    uint32_t *box;             /* (depth + 1, 2 D) lo, hi of every axis */
    unsigned char *box_set;    /* (depth + 1, cat_total) flags of the categorical axes */
    size_t box_rows;
    uint32_t *stack;           /* (4 n) pairs: node, depth */
    uint32_t *parent;          /* (2 n) each node's parent */
    /* sums over cells */
    double *acc;               /* (max K + 1) */
    double *grid;
    size_t grid_cap;
    double *V1;                /* (D) the main effects' variances */
    double *V2;                /* (D (D - 1) / 2) the interactions, pair (i, j) at pair_index */
} imp_anova;

static void anova_release(imp_anova *a)
{
    free(a->n_cells);
    free(a->cut_off);
    free(a->cell_off);
    free(a->cat_off);
    free(a->cuts);
    free(a->cell_w);
    free(a->leaf_v);
    free(a->leaf_vol);
    free(a->leaf_w);
    free(a->leaf_run);
    free(a->leaf_nrun);
    free(a->runs);
    free(a->box);
    free(a->box_set);
    free(a->stack);
    free(a->parent);
    free(a->acc);
    free(a->grid);
    free(a->V1);
    free(a->V2);
    memset(a, 0, sizeof *a);
}

static caviar_status anova_init(imp_anova *a, const imp_data *d, caviar_error *err)
{
    size_t n = d->n, D = d->n_feat, n_cells = 2 * n + D + d->cat_total;
    size_t n_pairs = D * (D - 1) / 2;
    memset(a, 0, sizeof *a);
    a->n_cells = malloc(D * sizeof *a->n_cells);
    a->cut_off = malloc(D * sizeof *a->cut_off);
    a->cell_off = malloc(D * sizeof *a->cell_off);
    a->cat_off = malloc(D * sizeof *a->cat_off);
    a->cuts = malloc(2 * n * sizeof *a->cuts);
    a->cell_w = malloc(n_cells * sizeof *a->cell_w);
    a->leaf_v = malloc(n * sizeof *a->leaf_v);
    a->leaf_vol = malloc(n * sizeof *a->leaf_vol);
    a->leaf_w = malloc(n * D * sizeof *a->leaf_w);
    a->leaf_run = malloc(n * D * sizeof *a->leaf_run);
    a->leaf_nrun = malloc(n * D * sizeof *a->leaf_nrun);
    a->stack = malloc(4 * n * sizeof *a->stack);
    a->parent = malloc(2 * n * sizeof *a->parent);
    a->acc = malloc((n_cells + 1) * sizeof *a->acc);
    a->V1 = malloc(D * sizeof *a->V1);
    a->V2 = malloc((n_pairs ? n_pairs : 1) * sizeof *a->V2);
    if (!a->n_cells || !a->cut_off || !a->cell_off || !a->cat_off || !a->cuts || !a->cell_w ||
        !a->leaf_v || !a->leaf_vol || !a->leaf_w || !a->leaf_run || !a->leaf_nrun ||
        !a->stack || !a->parent || !a->acc || !a->V1 || !a->V2)
        return util_err(err, CAVIAR_ENOMEM, "importance: out of memory for the decomposition");
    size_t off = 0;
    for (size_t f = 0; f < D; f++) {
        a->cat_off[f] = off;
        off += d->feat[f].categorical ? d->feat[f].n_choices : 0;
    }
    return CAVIAR_OK;
}

/* Index of pair (i, j), i < j, among the D (D - 1) / 2 pairs in row order. */
static size_t pair_index(size_t i, size_t j, size_t D)
{
    return i * (2 * D - i - 1) / 2 + (j - i - 1);
}

/* The lower edge of cell k of continuous axis f (k = K gives 1). */
static double cell_edge(const imp_anova *a, size_t f, size_t k)
{
    return k == 0 ? 0.0 : k == a->n_cells[f] ? 1.0 : a->cuts[a->cut_off[f] + k - 1];
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* The cells of every axis: the tree's sorted distinct thresholds on a continuous axis, the
 * choices on a categorical one. */
static void anova_cells(imp_anova *a, const imp_data *d, const imp_tree *t)
{
    size_t D = d->n_feat;
    for (size_t f = 0; f < D; f++)
        a->n_cells[f] = 0; /* thresholds counted first */
    for (size_t k = 0; k < t->n_nodes; k++)
        if (t->nodes[k].feat >= 0 && !d->feat[t->nodes[k].feat].categorical)
            a->n_cells[t->nodes[k].feat]++;
    size_t off = 0;
    for (size_t f = 0; f < D; f++) {
        a->cut_off[f] = off;
        off += a->n_cells[f];
        a->n_cells[f] = 0;
    }
    for (size_t k = 0; k < t->n_nodes; k++)
        if (t->nodes[k].feat >= 0 && !d->feat[t->nodes[k].feat].categorical) {
            size_t f = (size_t)t->nodes[k].feat;
            a->cuts[a->cut_off[f] + a->n_cells[f]++] = t->nodes[k].thr;
        }
    size_t cell = 0;
    for (size_t f = 0; f < D; f++) {
        a->cell_off[f] = cell;
        if (d->feat[f].categorical) {
            a->n_cells[f] = d->feat[f].n_choices;
            memcpy(a->cell_w + cell, d->feat[f].cell_w, a->n_cells[f] * sizeof *a->cell_w);
            cell += a->n_cells[f];
            continue;
        }
        double *cuts = a->cuts + a->cut_off[f];
        size_t n_cuts = a->n_cells[f], u = 0;
        qsort(cuts, n_cuts, sizeof *cuts, cmp_double);
        for (size_t k = 0; k < n_cuts; k++)
            if (u == 0 || cuts[k] != cuts[u - 1])
                cuts[u++] = cuts[k];
        a->n_cells[f] = u + 1;
        for (size_t k = 0; k <= u; k++)
            a->cell_w[cell + k] = cell_edge(a, f, k + 1) - cell_edge(a, f, k);
        cell += u + 1;
    }
}

/* Position of thr among the sorted cuts of axis f (it is one of them). */
static size_t cut_index(const imp_anova *a, size_t f, double thr)
{
    const double *cuts = a->cuts + a->cut_off[f];
    size_t lo = 0, hi = a->n_cells[f] - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cuts[mid] < thr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Descends the tree, recording every leaf's box as runs of cells with its widths and volume. */
static caviar_status anova_leaves(imp_anova *a, const imp_data *d, const imp_tree *t,
                                  caviar_error *err)
{
    size_t D = d->n_feat, rows = t->depth + 1, cat_total = d->cat_total;
    size_t set_len = cat_total ? cat_total : 1;
    if (rows > a->box_rows) {
        uint32_t *box = realloc(a->box, rows * 2 * D * sizeof *box);
        if (box)
            a->box = box;
        unsigned char *set = realloc(a->box_set, rows * set_len);
        if (set)
            a->box_set = set;
        if (!box || !set)
            return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
        a->box_rows = rows;
    }
    for (size_t k = 0; k < t->n_nodes; k++)
        if (t->nodes[k].feat >= 0)
            a->parent[t->nodes[k].left] = a->parent[t->nodes[k].left + 1] = (uint32_t)k;
    for (size_t f = 0; f < D; f++) {
        a->box[2 * f] = 0;
        a->box[2 * f + 1] = (uint32_t)a->n_cells[f];
    }
    memset(a->box_set, 1, set_len);
    a->n_leaves = 0;
    a->runs_len = 0;
    /* Depth first, left child first. A node's box is its parent's row (depth - 1) cut by the
     * parent's split; that row stays untouched until every node below the parent is done, as
     * only nodes at depth - 1 write it. */
    size_t top = 0;
    a->stack[top++] = 0;
    a->stack[top++] = 0;
    while (top) {
        size_t depth = a->stack[--top], id = a->stack[--top];
        uint32_t *box = a->box + depth * 2 * D;
        unsigned char *set = a->box_set + depth * set_len;
        if (depth > 0) {
            memcpy(box, box - 2 * D, 2 * D * sizeof *box);
            memcpy(set, set - set_len, set_len);
            const imp_node *p = &t->nodes[a->parent[id]];
            size_t f = (size_t)p->feat;
            unsigned char left = id == p->left;
            if (d->feat[f].categorical) {
                const unsigned char *split = t->sets + p->set;
                unsigned char *s = set + a->cat_off[f];
                for (size_t c = 0; c < d->feat[f].n_choices; c++)
                    if (split[c] != left)
                        s[c] = 0;
            } else {
                uint32_t k = (uint32_t)cut_index(a, f, p->thr) + 1;
                if (left)
                    box[2 * f + 1] = k < box[2 * f + 1] ? k : box[2 * f + 1];
                else
                    box[2 * f] = k > box[2 * f] ? k : box[2 * f];
            }
        }
        const imp_node *nd = &t->nodes[id];
        if (nd->feat >= 0) {
            a->stack[top++] = nd->left + 1;
            a->stack[top++] = (uint32_t)depth + 1;
            a->stack[top++] = nd->left;
            a->stack[top++] = (uint32_t)depth + 1;
            continue;
        }
        if (grow((void **)&a->runs, &a->runs_cap, a->runs_len + 2 * (D + cat_total),
                 sizeof *a->runs) != 0)
            return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
        size_t l = a->n_leaves++;
        double vol = 1;
        for (size_t f = 0; f < D; f++) {
            size_t first = a->runs_len / 2;
            double w = 0;
            if (d->feat[f].categorical) {
                const unsigned char *s = set + a->cat_off[f];
                const double *cw = d->feat[f].cell_w;
                size_t nc = d->feat[f].n_choices;
                for (size_t c = 0; c < nc; c++) {
                    if (!s[c])
                        continue;
                    w += cw[c];
                    if (c == 0 || !s[c - 1])
                        a->runs[a->runs_len++] = (uint32_t)c;
                    if (c + 1 == nc || !s[c + 1])
                        a->runs[a->runs_len++] = (uint32_t)c + 1;
                }
            } else {
                uint32_t lo = box[2 * f], hi = box[2 * f + 1];
                w = cell_edge(a, f, hi) - cell_edge(a, f, lo);
                a->runs[a->runs_len++] = lo;
                a->runs[a->runs_len++] = hi;
            }
            a->leaf_w[l * D + f] = w;
            a->leaf_run[l * D + f] = (uint32_t)first;
            a->leaf_nrun[l * D + f] = (uint32_t)(a->runs_len / 2 - first);
            vol *= w;
        }
        a->leaf_v[l] = nd->value;
        a->leaf_vol[l] = vol;
    }
    return CAVIAR_OK;
}

/* The tree's variance *V, its main effects a->V1 and (with pairs) its interactions a->V2. */
static caviar_status anova_tree(imp_anova *a, const imp_data *d, const imp_tree *t, int pairs,
                                double *V, caviar_error *err)
{
    size_t D = d->n_feat, L;
    caviar_status st;
    anova_cells(a, d, t);
    if ((st = anova_leaves(a, d, t, err)) != CAVIAR_OK)
        return st;
    L = a->n_leaves;
    double f0 = 0, var = 0;
    for (size_t l = 0; l < L; l++)
        f0 += a->leaf_vol[l] * a->leaf_v[l];
    for (size_t l = 0; l < L; l++) {
        a->leaf_v[l] -= f0;
        var += a->leaf_vol[l] * a->leaf_v[l] * a->leaf_v[l];
    }
    *V = var;
    memset(a->V1, 0, D * sizeof *a->V1);
    if (pairs && D > 1)
        memset(a->V2, 0, D * (D - 1) / 2 * sizeof *a->V2);
    if (!(var > 0))
        return CAVIAR_OK;
    for (size_t f = 0; f < D; f++) {
        size_t K = a->n_cells[f];
        if (K < 2)
            continue;
        double *acc = a->acc;
        memset(acc, 0, (K + 1) * sizeof *acc);
        for (size_t l = 0; l < L; l++) {
            if (!(a->leaf_vol[l] > 0))
                continue;
            double c = a->leaf_v[l] * a->leaf_vol[l] / a->leaf_w[l * D + f];
            const uint32_t *r = a->runs + 2 * (size_t)a->leaf_run[l * D + f];
            for (uint32_t k = 0; k < a->leaf_nrun[l * D + f]; k++) {
                acc[r[2 * k]] += c;
                acc[r[2 * k + 1]] -= c;
            }
        }
        const double *cw = a->cell_w + a->cell_off[f];
        double run = 0, s = 0;
        for (size_t c = 0; c < K; c++) {
            run += acc[c];
            s += cw[c] * run * run;
        }
        a->V1[f] = s;
    }
    if (!pairs)
        return CAVIAR_OK;
    for (size_t i = 0; i < D; i++)
        for (size_t j = i + 1; j < D; j++) {
            size_t Ki = a->n_cells[i], Kj = a->n_cells[j], stride = Kj + 1;
            if (Ki < 2 || Kj < 2)
                continue; /* f does not depend on one of them: no interaction */
            if (grow((void **)&a->grid, &a->grid_cap, (Ki + 1) * stride, sizeof *a->grid) != 0)
                return util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
            double *g = a->grid;
            memset(g, 0, (Ki + 1) * stride * sizeof *g);
            for (size_t l = 0; l < L; l++) {
                if (!(a->leaf_vol[l] > 0))
                    continue;
                double c = a->leaf_v[l] * a->leaf_vol[l] /
                           (a->leaf_w[l * D + i] * a->leaf_w[l * D + j]);
                const uint32_t *ri = a->runs + 2 * (size_t)a->leaf_run[l * D + i];
                const uint32_t *rj = a->runs + 2 * (size_t)a->leaf_run[l * D + j];
                for (uint32_t p = 0; p < a->leaf_nrun[l * D + i]; p++)
                    for (uint32_t q = 0; q < a->leaf_nrun[l * D + j]; q++) {
                        size_t i0 = ri[2 * p], i1 = ri[2 * p + 1];
                        size_t j0 = rj[2 * q], j1 = rj[2 * q + 1];
                        g[i0 * stride + j0] += c;
                        g[i0 * stride + j1] -= c;
                        g[i1 * stride + j0] -= c;
                        g[i1 * stride + j1] += c;
                    }
            }
            /* Integrate: g[r][c] becomes the sum of the differences over rows <= r, cols <= c,
             * i.e. E[f | cell (r, c)] - f0. */
            const double *cwi = a->cell_w + a->cell_off[i], *cwj = a->cell_w + a->cell_off[j];
            double s = 0;
            for (size_t r = 0; r < Ki; r++) {
                double *row = g + r * stride;
                const double *above = r ? row - stride : NULL;
                double run = 0, rs = 0;
                for (size_t c = 0; c < Kj; c++) {
                    run += row[c];
                    row[c] = run + (above ? above[c] : 0);
                    rs += cwj[c] * row[c] * row[c];
                }
                s += cwi[r] * rs;
            }
            a->V2[pair_index(i, j, D)] = s - a->V1[i] - a->V1[j];
        }
    return CAVIAR_OK;
}

/* ---- the oracle: the same variances by brute force over the full grid ---------------------- */

static double tree_predict(const imp_data *d, const imp_tree *t, const double *x)
{
    const imp_node *nd = t->nodes;
    while (nd->feat >= 0) {
        size_t f = (size_t)nd->feat;
        int left = d->feat[f].categorical ? t->sets[nd->set + (size_t)x[f]] != 0 : x[f] < nd->thr;
        nd = &t->nodes[left ? nd->left : nd->left + 1];
    }
    return nd->value;
}

/* Evaluates the tree on every cell of the product of the axes' cells (at the cell's lower
 * corner, which lies in it: splits are x < t) and compares the variances with those of
 * anova_tree; *max_err receives the largest difference relative to V. */
static caviar_status anova_check(const imp_anova *a, const imp_data *d, const imp_tree *t,
                                 int pairs, double V, double *max_err, caviar_error *err)
{
    size_t D = d->n_feat, total = 1, n1 = 0, n2 = 0;
    for (size_t f = 0; f < D; f++) {
        if (a->n_cells[f] > IMP_CHECK_MAX_CELLS / total)
            return util_err(err, CAVIAR_EINVAL,
                            "importance check: a tree's grid has more than %zu cells\nhint: the "
                            "check is for small studies (few parameters and trials)",
                            IMP_CHECK_MAX_CELLS);
        total *= a->n_cells[f];
        n1 += a->n_cells[f];
        for (size_t g = f + 1; g < D; g++)
            n2 += a->n_cells[f] * a->n_cells[g];
    }
    size_t *idx = calloc(D, sizeof *idx), *off2 = calloc(D * D, sizeof *off2);
    double *x = calloc(D, sizeof *x), *m1 = calloc(n1, sizeof *m1);
    double *m2 = calloc(n2 ? n2 : 1, sizeof *m2);
    if (!idx || !off2 || !x || !m1 || !m2) {
        free(idx), free(off2), free(x), free(m1), free(m2);
        return util_err(err, CAVIAR_ENOMEM, "importance check: out of memory");
    }
    for (size_t f = 0, o = 0; f < D; f++)
        for (size_t g = f + 1; g < D; g++) {
            off2[f * D + g] = o;
            o += a->n_cells[f] * a->n_cells[g];
        }
    double shift = t->nodes[0].value, s1 = 0, s2 = 0;
    for (size_t cell = 0; cell < total; cell++) {
        double w = 1;
        for (size_t f = 0; f < D; f++) {
            w *= a->cell_w[a->cell_off[f] + idx[f]];
            x[f] = d->feat[f].categorical ? (double)idx[f] : cell_edge(a, f, idx[f]);
        }
        if (w > 0) {
            double v = tree_predict(d, t, x) - shift;
            s1 += w * v;
            s2 += w * v * v;
            for (size_t f = 0; f < D; f++) {
                m1[a->cell_off[f] + idx[f]] += w * v;
                for (size_t g = f + 1; g < D; g++)
                    m2[off2[f * D + g] + idx[f] * a->n_cells[g] + idx[g]] += w * v;
            }
        }
        for (size_t f = 0; f < D && ++idx[f] == a->n_cells[f]; f++)
            idx[f] = 0;
    }
    double e = fabs((s2 - s1 * s1) - V);
    double *v1 = x; /* reused: the brute-force main effects */
    for (size_t f = 0; f < D; f++) {
        const double *cw = a->cell_w + a->cell_off[f];
        double s = 0;
        for (size_t c = 0; c < a->n_cells[f]; c++)
            if (cw[c] > 0) {
                double dev = m1[a->cell_off[f] + c] - s1 * cw[c];
                s += dev * dev / cw[c];
            }
        v1[f] = s;
        e = fmax(e, fabs(s - a->V1[f]));
    }
    for (size_t f = 0; pairs && f < D; f++)
        for (size_t g = f + 1; g < D; g++) {
            const double *cf = a->cell_w + a->cell_off[f], *cg = a->cell_w + a->cell_off[g];
            double s = 0;
            for (size_t p = 0; p < a->n_cells[f]; p++)
                for (size_t q = 0; q < a->n_cells[g]; q++) {
                    double w = cf[p] * cg[q];
                    if (w > 0) {
                        double dev = m2[off2[f * D + g] + p * a->n_cells[g] + q] - s1 * w;
                        s += dev * dev / w;
                    }
                }
            e = fmax(e, fabs((s - v1[f] - v1[g]) - a->V2[pair_index(f, g, D)]));
        }
    *max_err = e / V;
    free(idx), free(off2), free(x), free(m1), free(m2);
    return CAVIAR_OK;
}

/* ---- the forest ---------------------------------------------------------------------------- */

typedef struct imp_rank {
    double share;
    size_t i;
} imp_rank;

static int cmp_rank(const void *a, const void *b)
{
    const imp_rank *p = a, *q = b;
    if (p->share != q->share)
        return p->share > q->share ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

static int cmp_pair(const void *a, const void *b)
{
    const report_pair_importance *p = a, *q = b;
    if (p->share != q->share)
        return p->share > q->share ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

/* Welford's running mean and sum of squared deviations of one share over the trees. */
static void welford(double *mean, double *m2, size_t k, double x)
{
    double delta = x - *mean;
    *mean += delta / (double)k;
    *m2 += delta * (x - *mean);
}

caviar_status report_importance_compute(const caviar_study *study,
                                        const report_importance_opts *opts,
                                        report_importance *out, caviar_error *err)
{
    report_importance_opts o;
    if (opts)
        o = *opts;
    else
        report_importance_opts_init(&o);
    memset(out, 0, sizeof *out);
    if (o.n_trees == 0 || o.min_leaf == 0 || o.max_depth == 0)
        return util_err(err, CAVIAR_EINVAL,
                        "importance: n_trees, min_leaf and max_depth must be at least 1, got "
                        "%zu, %zu and %zu", o.n_trees, o.min_leaf, o.max_depth);
    imp_data d = {0};
    imp_tree t = {0};
    imp_anova a = {0};
    double *mean1 = NULL, *var1 = NULL, *mean2 = NULL, *var2 = NULL;
    imp_rank *rank = NULL;
    size_t *rank_of = NULL;
    caviar_status st;
    if ((st = data_load(study, &d, err)) != CAVIAR_OK ||
        (st = tree_init(&t, &d, err)) != CAVIAR_OK || (st = anova_init(&a, &d, err)) != CAVIAR_OK)
        goto done;
    size_t D = d.n_feat, n_pairs = o.pairs ? D * (D - 1) / 2 : 0;
    mean1 = calloc(D, sizeof *mean1);
    var1 = calloc(D, sizeof *var1);
    mean2 = calloc(n_pairs ? n_pairs : 1, sizeof *mean2);
    var2 = calloc(n_pairs ? n_pairs : 1, sizeof *var2);
    rank = malloc(D * sizeof *rank);
    rank_of = malloc(D * sizeof *rank_of);
    out->params = calloc(D, sizeof *out->params);
    out->pairs = calloc(n_pairs ? n_pairs : 1, sizeof *out->pairs);
    if (!mean1 || !var1 || !mean2 || !var2 || !rank || !rank_of || !out->params || !out->pairs) {
        st = util_err(err, CAVIAR_ENOMEM, "importance: out of memory");
        goto done;
    }
    size_t mtry = D <= 6 ? D : (7 * D + 9) / 10 > 6 ? (7 * D + 9) / 10 : 6; /* see the top */
    size_t used = 0;
    double check_err = 0;
    for (size_t tr = 0; tr < o.n_trees; tr++) {
        util_rng rng;
        util_rng_derive(&rng, o.seed, tr);
        double V;
        if ((st = tree_fit(&t, &d, &o, mtry, &rng, err)) != CAVIAR_OK ||
            (st = anova_tree(&a, &d, &t, n_pairs > 0, &V, err)) != CAVIAR_OK)
            goto done;
        if (!(V > 0))
            continue;
        if (o.check) {
            double e = 0;
            if ((st = anova_check(&a, &d, &t, n_pairs > 0, V, &e, err)) != CAVIAR_OK)
                goto done;
            check_err = fmax(check_err, e);
        }
        used++;
        for (size_t f = 0; f < D; f++)
            welford(&mean1[f], &var1[f], used, a.V1[f] / V);
        for (size_t p = 0; p < n_pairs; p++)
            welford(&mean2[p], &var2[p], used, a.V2[p] > 0 ? a.V2[p] / V : 0);
    }
    for (size_t f = 0; f < D; f++)
        rank[f] = (imp_rank){mean1[f], f};
    qsort(rank, D, sizeof *rank, cmp_rank);
    for (size_t r = 0; r < D; r++) {
        size_t f = rank[r].i;
        rank_of[f] = r;
        out->params[r].name = d.feat[f].name;
        d.feat[f].name = NULL; /* moved to out */
        out->params[r].share = mean1[f];
        out->params[r].sd = used > 1 ? sqrt(var1[f] / (double)(used - 1)) : 0;
    }
    out->n_params = D;
    for (size_t i = 0, p = 0; i < D && n_pairs; i++)
        for (size_t j = i + 1; j < D; j++, p++) {
            size_t ri = rank_of[i], rj = rank_of[j];
            out->pairs[p] = (report_pair_importance){
                ri < rj ? ri : rj, ri < rj ? rj : ri, mean2[p],
                used > 1 ? sqrt(var2[p] / (double)(used - 1)) : 0};
        }
    out->n_pairs = n_pairs;
    qsort(out->pairs, n_pairs, sizeof *out->pairs, cmp_pair);
    out->n_trials = d.n;
    out->n_trees = used;
    out->check_err = check_err;
    st = CAVIAR_OK;
done:
    free(mean1);
    free(var1);
    free(mean2);
    free(var2);
    free(rank);
    free(rank_of);
    anova_release(&a);
    tree_release(&t);
    data_release(&d);
    if (st != CAVIAR_OK)
        report_importance_release(out);
    return st;
}

void report_importance_release(report_importance *imp)
{
    if (!imp)
        return;
    if (imp->params)
        for (size_t i = 0; i < imp->n_params; i++)
            free(imp->params[i].name);
    free(imp->params);
    free(imp->pairs);
    memset(imp, 0, sizeof *imp);
}

/* ---- printing ------------------------------------------------------------------------------ */

/* text in exactly w columns: padded, or cut with "..." */
static void print_label(FILE *out, const char *text, int w)
{
    int len = (int)strlen(text);
    if (len <= w)
        fprintf(out, "%-*s", w, text);
    else
        fprintf(out, "%.*s...", w - 3, text);
}

/* "  share%  +- sd" and, when it has any, the bar (no trailing spaces). */
static void print_share(FILE *out, double share, double sd, int bar_w)
{
    int k = (int)floor(share * bar_w + 0.5);
    k = k < 0 ? 0 : k > bar_w ? bar_w : k;
    fprintf(out, "  %5.1f%%  +-%5.1f", 100 * share, 100 * sd);
    if (k)
        fputs("  ", out);
    for (int i = 0; i < k; i++)
        fputc('#', out);
    fputc('\n', out);
}

/* At most this many pairs are listed, those of at least half a percent. */
#define IMP_PRINT_PAIRS 10
#define IMP_PRINT_PAIR_MIN 0.005

void report_importance_print(const report_importance *imp, FILE *out, int width)
{
    width = width <= 0 ? 80 : width < 60 ? 60 : width;
    fprintf(out, "importance over %zu COMPLETE trials, %zu trees\n", imp->n_trials, imp->n_trees);
    if (imp->n_trees == 0) {
        fprintf(out, "  the value does not vary over these trials, or they are too\n"
                     "  few for min_leaf: there is nothing to explain\n");
        return;
    }
    char pair[256];
    size_t n_shown = 0;
    int lw = 9; /* "parameter" */
    for (size_t i = 0; i < imp->n_params; i++)
        lw = (int)strlen(imp->params[i].name) > lw ? (int)strlen(imp->params[i].name) : lw;
    for (size_t k = 0; k < imp->n_pairs && n_shown < IMP_PRINT_PAIRS; k++, n_shown++) {
        const report_pair_importance *p = &imp->pairs[k];
        if (p->share < IMP_PRINT_PAIR_MIN)
            break;
        int len = snprintf(pair, sizeof pair, "%s x %s", imp->params[p->a].name,
                           imp->params[p->b].name);
        lw = len > lw ? len : lw;
    }
    int max_lw = width / 3;
    lw = lw > max_lw ? max_lw : lw;
    /* "  %3zu  label  100.0%  +- 12.3  bar": 26 columns and the label around the bar */
    int bar_w = width - (26 + lw);
    fprintf(out, "    #  ");
    print_label(out, "parameter", lw);
    fprintf(out, "   share     sd\n");
    double main_sum = 0, pair_sum = 0;
    for (size_t i = 0; i < imp->n_params; i++) {
        const report_param_importance *p = &imp->params[i];
        fprintf(out, "  %3zu  ", i + 1);
        print_label(out, p->name, lw);
        print_share(out, p->share, p->sd, bar_w);
        main_sum += p->share;
    }
    for (size_t k = 0; k < imp->n_pairs; k++)
        pair_sum += imp->pairs[k].share;
    if (n_shown) {
        fprintf(out, "  pairs, beyond their main effects:\n");
        for (size_t k = 0; k < n_shown; k++) {
            const report_pair_importance *p = &imp->pairs[k];
            snprintf(pair, sizeof pair, "%s x %s", imp->params[p->a].name,
                     imp->params[p->b].name);
            fprintf(out, "       ");
            print_label(out, pair, lw);
            print_share(out, p->share, p->sd, bar_w);
        }
    }
    if (imp->n_pairs)
        fprintf(out, "  main effects %.1f%%, pairs %.1f%%, higher order %.1f%%\n",
                100 * main_sum, 100 * pair_sum, 100 * fmax(0, 1 - main_sum - pair_sum));
    else
        fprintf(out, "  main effects %.1f%%, interactions %.1f%%\n", 100 * main_sum,
                100 * fmax(0, 1 - main_sum));
}
