/*
 * c2f.c — the coarse-to-fine sampler ("coarse-to-fine"): sample the whole space at random, then
 * zoom a box around the best trials and sample it more densely; repeat.
 *
 * Rounds. Trial n belongs to round r(n) = min(floor(n / trials_per_round), rounds - 1): the
 * last round is open-ended and keeps sampling its box for as long as the study runs (with
 * rounds=unlimited every trials_per_round trials start a new round). Rounds go by trial
 * number, not by arrival, so every worker puts a trial in the same round.
 *
 * Boxes. Everything happens in each parameter's unit interval u (caviar.h): log10 for a
 * log-scale learning rate, log10(1 - b) for a one-minus-log beta, so "half the box" means half
 * the decades. Round 0's box is the whole space. The box of round r > 0 is the box of round
 * r - 1 zoomed around the best k COMPLETE trials of round r - 1 (PRUNED and FAIL trials have no
 * final value to rank by; ties go to the lower trial number):
 *   float, int   width   w_r = max(shrink * w_{r-1}, span of the best k in u)
 *                centre  the mean of the best k in u, moved just enough that the box holds
 *                        all of them; the box is then slid (not cut) into [0, 1]
 *                ints and stepped floats then move each edge to the nearest cell edge (each
 *                admissible value owns a cell of u), so every value in the box keeps its full
 *                share, the width stays within a cell of the rule, and the cells of the best k
 *                stay in (a box never gets narrower than one value)
 *   categorical  the choices that the best k used
 *   a parameter none of the best k used (a conditional one) keeps the box of round r - 1.
 * So a box contains the best k of the previous round and, while they cluster within
 * shrink * w of each other, shrinks by exactly the factor; when they spread wider the data say
 * the good region is wide and the box follows the data (a parameter that does not matter
 * shrinks by about max(shrink, (k - 1) / (k + 1)) per round, (k - 1) / (k + 1) being the
 * expected span of k uniform points).
 * The new box is not clipped to the old one: when the best trials sit at an edge, the box
 * reaches past it, so a zoom that went the wrong way can walk back towards the optimum.
 *
 * Why round r - 1 only, not every earlier round: the best k of one round were drawn at the same
 * density in the same box, so they compare fairly, and they lie inside that box, so boxes never
 * grow. Older rounds speak through the box of round r - 1, which they chose.
 *
 * Parallel workers. The box is computed from the history at the moment a trial begins, using
 * the trials of round r - 1 that are COMPLETE by then. A worker that reaches round r while round
 * r - 1 is still running zooms around what has finished; if nothing of round r - 1 has finished
 * (all workers crossed the boundary together, or every trial failed), there is no evidence and
 * the box of round r - 1 is kept unchanged rather than shrunk blindly.
 *
 * Within a round every parameter is drawn uniformly in its box (in u; a categorical among its
 * allowed choices, by its weights when it has some, uniformly otherwise), one draw per
 * parameter in id order from the trial's own stream.
 * A parameter the study first sees after the trial began is drawn over its whole range.
 *
 * Recording. Every trial gets two attributes, enough to audit and plot the zoom:
 *   c2f.round  the round, "2"
 *   c2f.box    {"lr":[0.25,0.5],"x":[0.5,0.75],"act":[0,2]}: for floats and ints the box
 *              [u_lo, u_hi] in the unit interval (caviar_dist_from_unit gives values), with 17
 *              significant digits so that it is the box drawn from, bit for bit; for
 *              categoricals the list of allowed choice indices. Every parameter the study knew
 *              when the trial began is listed; one that is missing was drawn over its range.
 * u rather than values, because u is where the sampler works and where zooms compare: equal
 * widths in u are equal zooms on any scale.
 * An enqueued trial records them too, but its fixed values may lie outside the box.
 *
 * Settings:
 *   trials_per_round  trials in each round (default 20, at least 2)
 *   rounds            number of rounds, the last one open-ended (default 3), or "unlimited"
 *   k                 best trials of a round that choose the next box (default 5; fewer than
 *                     trials_per_round, or there is nothing to choose)
 *   shrink            width of a box relative to the previous one, in (0, 1) (default 0.5)
 *
 * Invariants: the box of round r is a function of the COMPLETE trials of rounds < r alone (their
 * values and parameters), so every worker that sees the same finished trials computes the same
 * box, and trial n's parameters depend only on the study seed, n and that history. Every value
 * the sampler draws lies in the box the trial records. The box of round r contains the u of each
 * of the best k trials of round r - 1 it ranked.
 *
 * Cost: a zoom ranks the trials_per_round trials of one round and looks at k of them per
 * parameter (plus about 200 from_unit calls per integer to find cell edges). The box of the
 * newest round whose earlier rounds have all finished is cached (nothing can change it any
 * more), so an ask costs O(trials_per_round * (k + params)) however long the study has run: a
 * few microseconds with six parameters and 5,000 trials. Only an enqueued trial of an old round
 * zooms again from round 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

/* Upper bound of trials_per_round, rounds and k: generous, and keeps round * trials_per_round
 * far from overflow. */
#define C2F_MAX 1000000

/* A box over the parameters of a study, by parameter id. A numeric parameter has an interval
 * [lo, hi] of u; a categorical one a row of allowed[] flags, one per choice, starting at at[id].
 * Rows follow the parameter table's order, which only ever grows at the end, so the box of an
 * earlier table is a prefix of the box of a later one. */
typedef struct c2f_box {
    size_t n, cap;       /* parameters covered; capacity of lo, hi, at */
    double *lo, *hi;
    size_t *at;
    unsigned char *allowed;
    size_t n_mask, cap_mask;
} c2f_box;

typedef struct c2f {
    caviar_direction direction;
    size_t per_round, k;
    size_t rounds;       /* 0: unlimited */
    double shrink;
    c2f_box cur;         /* the box being computed / drawn from */
    c2f_box settled;     /* the box of round settled_round, which can no longer change */
    uint64_t settled_round;
    int has_settled;
    size_t *best;        /* k trial numbers, best first (ranking scratch) */
    char *json;          /* the c2f.box attribute being written */
    size_t json_len, json_cap;
} c2f;

static const char *const c2f_keys[] = {"trials_per_round", "rounds", "k", "shrink", NULL};

/* ---- boxes ---- */

static void box_release(c2f_box *b)
{
    free(b->lo);
    free(b->hi);
    free(b->at);
    free(b->allowed);
    memset(b, 0, sizeof *b);
}

static int is_discrete(const caviar_dist *d)
{
    return d->kind == CAVIAR_DIST_INT || (d->kind == CAVIAR_DIST_FLOAT && d->step > 0);
}

/* Sizes b for every parameter of t and makes it the whole space. */
static caviar_status box_whole(c2f_box *b, const space_table *t, caviar_error *err)
{
    size_t n = t->n, n_mask = 0;
    for (size_t i = 0; i < n; i++)
        if (t->params[i].dist.kind == CAVIAR_DIST_CATEGORICAL)
            n_mask += t->params[i].dist.n_choices;
    if (n > b->cap) {
        /* Each realloc that succeeds is kept, so a failure part-way leaks nothing. */
        double *lo = realloc(b->lo, n * sizeof *lo);
        if (lo)
            b->lo = lo;
        double *hi = realloc(b->hi, n * sizeof *hi);
        if (hi)
            b->hi = hi;
        size_t *at = realloc(b->at, n * sizeof *at);
        if (at)
            b->at = at;
        if (!lo || !hi || !at)
            return util_err(err, CAVIAR_ENOMEM, "coarse-to-fine: cannot size a box of %zu "
                                                "parameters: out of memory", n);
        b->cap = n;
    }
    if (n_mask > b->cap_mask) {
        unsigned char *allowed = realloc(b->allowed, n_mask);
        if (!allowed)
            return util_err(err, CAVIAR_ENOMEM, "coarse-to-fine: cannot size a box of %zu "
                                                "parameters: out of memory", n);
        b->allowed = allowed;
        b->cap_mask = n_mask;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        b->lo[i] = 0.0;
        b->hi[i] = 1.0;
        b->at[i] = off;
        if (t->params[i].dist.kind == CAVIAR_DIST_CATEGORICAL)
            off += t->params[i].dist.n_choices;
    }
    if (n_mask)
        memset(b->allowed, 1, n_mask);
    b->n = n;
    b->n_mask = n_mask;
    return CAVIAR_OK;
}

/* dst = src over the parameters src covers, the whole space over those added to t since. */
static caviar_status box_assign(c2f_box *dst, const c2f_box *src, const space_table *t,
                                caviar_error *err)
{
    caviar_status st = box_whole(dst, t, err);
    if (st != CAVIAR_OK)
        return st;
    if (src->n) {
        memcpy(dst->lo, src->lo, src->n * sizeof *src->lo);
        memcpy(dst->hi, src->hi, src->n * sizeof *src->hi);
    }
    if (src->n_mask)
        memcpy(dst->allowed, src->allowed, src->n_mask);
    return CAVIAR_OK;
}

/* Brackets the lower (up = 0) or upper (up = 1) edge of the cell of u, for an integer or a
 * stepped float: *a and *b lie either side of the edge, less than 2^-50 apart, with
 * from_unit(*a) < from_unit(*b); at 0 and 1 there is no neighbour and both are that end.
 * from_unit is non-decreasing in u on every scale, so each admissible value owns an interval of
 * u and bisection finds its edges: exactly consistent with space.c without knowing its formulas.
 * A box edge is then taken on the side of the cell it includes, so a draw inside the box never
 * lands on a value outside it. */
static void cell_edge(const caviar_dist *d, double u, int up, double *a, double *b)
{
    double v = caviar_dist_from_unit(d, u);
    double end = up ? 1.0 : 0.0;
    if (caviar_dist_from_unit(d, end) == v) {
        *a = *b = end;
        return;
    }
    double lo = up ? u : 0.0, hi = up ? 1.0 : u;
    while (hi - lo > 0x1p-50) {
        double mid = 0.5 * (lo + hi), m = caviar_dist_from_unit(d, mid);
        if (up ? m <= v : m < v)
            lo = mid;
        else
            hi = mid;
    }
    *a = lo;
    *b = hi;
}

/* Moves each edge of [*lo, *hi] to the nearest cell edge (a box of whole values: each keeps its
 * full share of u), but never so far in that the cell of a best trial (lo_b, hi_b) is lost. */
static void snap_to_cells(const caviar_dist *d, double *lo, double *hi, double lo_b, double hi_b)
{
    double a_dn, b_dn, a_up, b_up;
    cell_edge(d, *lo, 0, &a_dn, &b_dn);
    cell_edge(d, *lo, 1, &a_up, &b_up);
    double l = *lo - a_dn <= b_up - *lo ? b_dn : b_up; /* keep the cell, or start after it */
    if (l > lo_b) {
        cell_edge(d, lo_b, 0, &a_dn, &b_dn);
        l = b_dn;
    }
    cell_edge(d, *hi, 0, &a_dn, &b_dn);
    cell_edge(d, *hi, 1, &a_up, &b_up);
    double h = b_up - *hi <= *hi - a_dn ? a_up : a_dn; /* keep the cell, or end before it */
    if (h < hi_b) {
        cell_edge(d, hi_b, 1, &a_up, &b_up);
        h = a_up;
    }
    *lo = l;
    *hi = h;
}

/* ---- rounds ---- */

static uint64_t round_of(const c2f *c, uint64_t number)
{
    uint64_t r = number / c->per_round;
    return c->rounds && r > c->rounds - 1 ? c->rounds - 1 : r;
}

/* Ranks the COMPLETE trials numbered [first, end) into c->best, best first; returns how many
 * (at most k). Insertion into a sorted array of k: k is small and this runs over one round. */
static size_t rank_round(c2f *c, const store_history *h, uint64_t first, uint64_t end)
{
    size_t m = 0;
    if (end > h->n_trials)
        end = h->n_trials;
    for (uint64_t n = first; n < end; n++) {
        const store_trial *t = &h->trials[n];
        if (t->state != CAVIAR_TRIAL_COMPLETE || isnan(t->value))
            continue;
        if (m == c->k && !sample_better(c->direction, t->value, h->trials[c->best[m - 1]].value))
            continue;
        size_t at = m < c->k ? m++ : m - 1;
        /* Strictly better moves up: an equal value stays behind the lower number. */
        while (at > 0 && sample_better(c->direction, t->value, h->trials[c->best[at - 1]].value)) {
            c->best[at] = c->best[at - 1];
            at--;
        }
        c->best[at] = (size_t)n;
    }
    return m;
}

/* Whether every trial numbered [first, end) exists and has finished: then nothing can change
 * the ranking of that round any more. */
static int round_finished(const store_history *h, uint64_t first, uint64_t end)
{
    if (end > h->n_trials)
        return 0;
    for (uint64_t n = first; n < end; n++) {
        caviar_trial_state s = h->trials[n].state;
        if (s == CAVIAR_TRIAL_WAITING || s == CAVIAR_TRIAL_RUNNING)
            return 0;
    }
    return 1;
}

/* Zooms c->cur around the m best trials in c->best (the header's rule). */
static void zoom(c2f *c, const store_history *h, size_t m)
{
    c2f_box *b = &c->cur;
    for (size_t id = 0; id < b->n; id++) {
        const caviar_dist *d = &h->params.params[id].dist;
        if (d->kind == CAVIAR_DIST_CATEGORICAL) {
            unsigned char *allowed = b->allowed + b->at[id];
            int used = 0;
            for (size_t j = 0; j < m; j++) {
                double v = store_trial_param(&h->trials[c->best[j]], id);
                if (!(v >= 0 && v < (double)d->n_choices))
                    continue; /* NaN: not used */
                if (!used)
                    memset(allowed, 0, d->n_choices);
                used = 1;
                allowed[(size_t)v] = 1;
            }
            continue;
        }
        double lo_b = INFINITY, hi_b = -INFINITY, sum = 0.0;
        size_t used = 0;
        for (size_t j = 0; j < m; j++) {
            double v = store_trial_param(&h->trials[c->best[j]], id);
            if (isnan(v))
                continue;
            double u = caviar_dist_to_unit(d, v);
            lo_b = u < lo_b ? u : lo_b;
            hi_b = u > hi_b ? u : hi_b;
            sum += u;
            used++;
        }
        if (!used)
            continue;
        double w = c->shrink * (b->hi[id] - b->lo[id]);
        if (w < hi_b - lo_b)
            w = hi_b - lo_b;
        double centre = sum / (double)used;
        if (centre < hi_b - 0.5 * w)
            centre = hi_b - 0.5 * w;
        if (centre > lo_b + 0.5 * w)
            centre = lo_b + 0.5 * w;
        double lo = centre - 0.5 * w, hi = centre + 0.5 * w;
        if (lo < 0.0)
            hi -= lo, lo = 0.0;
        if (hi > 1.0)
            lo -= hi - 1.0, hi = 1.0;
        /* Rounding must not cost a best trial its place in the box. */
        lo = lo > lo_b ? lo_b : lo < 0.0 ? 0.0 : lo;
        hi = hi < hi_b ? hi_b : hi > 1.0 ? 1.0 : hi;
        if (is_discrete(d))
            snap_to_cells(d, &lo, &hi, lo_b, hi_b);
        b->lo[id] = lo;
        b->hi[id] = hi;
    }
}

/* Leaves in c->cur the box of round r for the history h. Starts from the settled box when it
 * is for round r or earlier (from the whole space otherwise, e.g. for an enqueued trial of an
 * old round), zooms round by round, and keeps as settled the latest box whose rounds have all
 * finished. */
static caviar_status box_for_round(c2f *c, const store_history *h, uint64_t r, caviar_error *err)
{
    caviar_status st;
    uint64_t q = 0;
    if (c->has_settled && c->settled_round <= r) {
        st = box_assign(&c->cur, &c->settled, &h->params, err);
        q = c->settled_round;
    } else {
        st = box_whole(&c->cur, &h->params, err);
    }
    if (st != CAVIAR_OK)
        return st;
    int settled = 1; /* the box of round q can no longer change */
    for (; q < r; q++) {
        uint64_t first = q * c->per_round, end = first + c->per_round;
        size_t m = rank_round(c, h, first, end);
        if (m)
            zoom(c, h, m);
        settled = settled && round_finished(h, first, end);
        if (settled && (!c->has_settled || q + 1 > c->settled_round)) {
            if ((st = box_assign(&c->settled, &c->cur, &h->params, err)) != CAVIAR_OK)
                return st;
            c->settled_round = q + 1;
            c->has_settled = 1;
        }
    }
    return CAVIAR_OK;
}

/* ---- the c2f.box attribute ---- */

static int json_add(c2f *c, const char *s, size_t len)
{
    if (c->json_len + len + 1 > c->json_cap) {
        size_t cap = c->json_cap ? c->json_cap : 256;
        while (cap < c->json_len + len + 1)
            cap *= 2;
        char *json = realloc(c->json, cap);
        if (!json)
            return -1;
        c->json = json;
        c->json_cap = cap;
    }
    memcpy(c->json + c->json_len, s, len);
    c->json_len += len;
    c->json[c->json_len] = '\0';
    return 0;
}

static int json_lit(c2f *c, const char *s)
{
    return json_add(c, s, strlen(s));
}

/* A JSON string: parameter names are the user's and may hold quotes or control characters. */
static int json_name(c2f *c, const char *s)
{
    if (json_lit(c, "\""))
        return -1;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch, esc[2] = '\0';
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
        } else {
            esc[0] = (char)ch, esc[1] = '\0';
        }
        if (json_lit(c, esc))
            return -1;
    }
    return json_lit(c, "\"");
}

static int json_box(c2f *c, const space_table *t)
{
    const c2f_box *b = &c->cur;
    c->json_len = 0;
    if (json_lit(c, "{"))
        return -1;
    for (size_t id = 0; id < b->n; id++) {
        const caviar_dist *d = &t->params[id].dist;
        char num[64];
        if ((id && json_lit(c, ",")) || json_name(c, t->params[id].name) || json_lit(c, ":["))
            return -1;
        if (d->kind == CAVIAR_DIST_CATEGORICAL) {
            int first = 1;
            for (size_t j = 0; j < d->n_choices; j++) {
                if (!b->allowed[b->at[id] + j])
                    continue;
                snprintf(num, sizeof num, "%s%zu", first ? "" : ",", j);
                first = 0;
                if (json_lit(c, num))
                    return -1;
            }
        } else {
            /* 17 digits: the recorded box is the drawn-from box, bit for bit. */
            snprintf(num, sizeof num, "%.17g,%.17g", b->lo[id], b->hi[id]);
            if (json_lit(c, num))
                return -1;
        }
        if (json_lit(c, "]"))
            return -1;
    }
    return json_lit(c, "}");
}

/* ---- the sampler ---- */

static caviar_status c2f_create(util_settings *s, uint64_t seed, caviar_direction direction,
                                void **self, caviar_error *err)
{
    (void)seed; /* every draw comes from the trial's stream */
    size_t per_round = 20, rounds = 3, k = 5;
    double shrink = 0.5;
    caviar_status st;
    if ((st = util_settings_size(s, "trials_per_round", 2, C2F_MAX, &per_round, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(s, "k", 1, C2F_MAX, &k, err)) != CAVIAR_OK)
        return st;
    const char *v = util_settings_str(s, "rounds");
    if (v && strcmp(v, "unlimited") == 0)
        rounds = 0;
    else if (v && (util_parse_size(v, &rounds) != 0 || rounds < 1 || rounds > C2F_MAX))
        return util_err(err, CAVIAR_EINVAL, "setting rounds=%s of %s: expected a whole number "
                        "in [1, %d] or 'unlimited'", v, s->what, C2F_MAX);
    /* Open interval: shrink=1 never zooms and shrink=0 collapses the box at once. */
    v = util_settings_str(s, "shrink");
    if (v && (util_parse_double(v, &shrink) != 0 || !(shrink > 0.0 && shrink < 1.0)))
        return util_err(err, CAVIAR_EINVAL, "setting shrink=%s of %s: expected a number in "
                        "(0, 1)", v, s->what);
    if (k >= per_round)
        return util_err(err, CAVIAR_EINVAL, "%s: k=%zu must be less than trials_per_round=%zu"
                        "\nhint: the best k trials of a round choose the next round's box",
                        s->what, k, per_round);
    c2f *c = calloc(1, sizeof *c);
    if (!c || !(c->best = malloc(k * sizeof *c->best))) {
        free(c);
        return util_err(err, CAVIAR_ENOMEM, "cannot create sampler 'coarse-to-fine': out of "
                                            "memory");
    }
    c->direction = direction;
    c->per_round = per_round;
    c->rounds = rounds;
    c->k = k;
    c->shrink = shrink;
    *self = c;
    return CAVIAR_OK;
}

static void c2f_destroy(void *self)
{
    c2f *c = self;
    if (!c)
        return;
    box_release(&c->cur);
    box_release(&c->settled);
    free(c->best);
    free(c->json);
    free(c);
}

/* A choice among the allowed ones (all of them when none is flagged), by the categorical's
 * weights when it has some and the allowed ones weigh anything, uniformly otherwise. */
static double pick_choice(const caviar_dist *d, const unsigned char *allowed, util_rng *rng)
{
    size_t n_allowed = 0;
    double weight = 0.0;
    for (size_t j = 0; j < d->n_choices; j++)
        n_allowed += allowed[j];
    int all = n_allowed == 0;
    for (size_t j = 0; d->weights && j < d->n_choices; j++)
        weight += all || allowed[j] ? d->weights[j] : 0.0;
    if (weight > 0.0) {
        double r = util_rng_uniform(rng) * weight;
        size_t last = 0;
        for (size_t j = 0; j < d->n_choices; j++) {
            double w = all || allowed[j] ? d->weights[j] : 0.0;
            if (w <= 0.0)
                continue;
            if (r < w)
                return (double)j;
            r -= w;
            last = j;
        }
        return (double)last; /* rounding left r at the end */
    }
    uint64_t pick = util_rng_below(rng, all ? d->n_choices : n_allowed);
    for (size_t j = 0; !all && j < d->n_choices; j++)
        if (allowed[j] && pick-- == 0)
            return (double)j;
    return (double)pick;
}

static caviar_status c2f_begin(void *self, const store_history *h, sample_ctx *ctx,
                               caviar_error *err)
{
    c2f *c = self;
    uint64_t r = round_of(c, ctx->number);
    caviar_status st = box_for_round(c, h, r, err);
    if (st != CAVIAR_OK)
        return st;
    const c2f_box *b = &c->cur;
    size_t n = ctx->n_proposed < b->n ? ctx->n_proposed : b->n;
    for (size_t id = 0; id < n; id++) {
        const caviar_dist *d = &h->params.params[id].dist;
        if (d->kind == CAVIAR_DIST_CATEGORICAL) {
            ctx->proposed[id] = pick_choice(d, b->allowed + b->at[id], ctx->rng);
        } else {
            double u = b->lo[id] + util_rng_uniform(ctx->rng) * (b->hi[id] - b->lo[id]);
            ctx->proposed[id] = caviar_dist_from_unit(d, u);
        }
    }
    char round[32];
    snprintf(round, sizeof round, "%llu", (unsigned long long)r);
    if (json_box(c, &h->params) != 0)
        return util_err(err, CAVIAR_ENOMEM, "coarse-to-fine: cannot record the box of trial "
                        "%llu: out of memory", (unsigned long long)ctx->number);
    if ((st = ctx->st->type->set_attr(ctx->st, ctx->study, ctx->number, "c2f.round", round,
                                      err)) != CAVIAR_OK ||
        (st = ctx->st->type->set_attr(ctx->st, ctx->study, ctx->number, "c2f.box", c->json,
                                      err)) != CAVIAR_OK)
        return st;
    return CAVIAR_OK;
}

/* Only for a parameter the study first saw after this trial began: no earlier round has
 * narrowed it, so its box is the whole range. */
static caviar_status c2f_sample(void *self, const store_history *h, sample_ctx *ctx,
                                size_t param, const caviar_dist *d, double *internal,
                                caviar_error *err)
{
    (void)self, (void)h, (void)param, (void)err;
    *internal = sample_uniform(d, ctx->rng);
    return CAVIAR_OK;
}

const sample_type sample_c2f = {
    .name = "coarse-to-fine",
    .keys = c2f_keys,
    .create = c2f_create,
    .destroy = c2f_destroy,
    .begin = c2f_begin,
    .sample = c2f_sample,
};
