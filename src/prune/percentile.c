/*
 * percentile.c — the percentile pruner and the median pruner (percentile 50), one rule:
 *
 *   At a check step s, let best be the trial's best report so far (over all its reports, NaN
 *   counting as the worst value) and P the q-th percentile, with linear interpolation, of the
 *   values that the other finished trials (COMPLETE or PRUNED) reported at exactly step s,
 *   ranked best first. The trial is pruned when best is strictly worse than P.
 *
 * "Ranked best first" makes q the share of trials kept: q = 25 keeps a trial only if it beats
 * or ties the best quarter of the others at that step, in either direction (for a maximised
 * metric P is the (100 - q)-th percentile of the raw values). This is Optuna's rule, with two
 * choices made explicit: trials that were themselves pruned count (they reached step s and
 * what they showed there is evidence), and a NaN reported by another trial counts as the worst
 * value rather than being dropped.
 *
 * Comparing the trial's best-so-far with the others' value at s, not like with like, is on
 * purpose: it forgives a noisy curve one bad epoch, so the rule errs towards letting a trial
 * run.
 *
 * Settings (median: all but percentile):
 *   percentile        q in [0, 100], required for "percentile"; 50 for "median"
 *   n_startup_trials  no pruning until this many other trials are finished (default 5)
 *   n_warmup_steps    no pruning at a step below this (default 0)
 *   interval_steps    check at warmup, warmup + interval, ... only (default 1): a report is
 *                     checked if it is the first to reach or pass such a step
 *   n_min_trials      no pruning unless at least this many finished trials reported step s
 *                     (default 1)
 *
 * Invariant: a trial is pruned at step s only if s >= n_warmup_steps, s is its first report at
 * or past a check point, at least n_startup_trials other trials are finished, at least
 * n_min_trials of them reported step s, and its best value so far is strictly worse than the
 * q-th percentile (best first) of their values at s.
 *
 * Cost per call: O(reports of t) for the step checks; then one pass over the history, which
 * looks up step s in each finished trial in O(1) when its steps are evenly spaced and O(its
 * reports) otherwise; then a quickselect over the values found (expected O(n)) in a scratch
 * buffer kept in self, which grows with the history and is never freed between calls.
 */
#include <stdlib.h>

#include "prune_impl.h"

typedef struct percentile_pruner {
    caviar_direction direction;
    double q;
    size_t n_startup, n_min;
    int64_t warmup, interval;
    double *scratch; /* losses at step s of the other finished trials */
    size_t cap_scratch;
} percentile_pruner;

static const char *const percentile_keys[] = {"percentile",     "n_startup_trials",
                                              "n_warmup_steps", "interval_steps",
                                              "n_min_trials",   NULL};

static caviar_status create_common(util_settings *settings, caviar_direction direction,
                                   int with_q, void **self, caviar_error *err)
{
    size_t n_startup = 5, warmup = 0, interval = 1, n_min = 1;
    double q = with_q ? NAN : 50;
    caviar_status st;
    if ((with_q && (st = util_settings_double(settings, "percentile", 0, 100, &q, err)) !=
                       CAVIAR_OK) ||
        (st = util_settings_size(settings, "n_startup_trials", 0, PRUNE_COUNT_MAX, &n_startup,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_size(settings, "n_warmup_steps", 0, PRUNE_STEP_MAX, &warmup, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(settings, "interval_steps", 1, PRUNE_STEP_MAX, &interval,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_size(settings, "n_min_trials", 1, PRUNE_COUNT_MAX, &n_min, err)) !=
            CAVIAR_OK)
        return st;
    if (isnan(q))
        return prune_missing(settings, percentile_keys, "percentile",
                             "percentile=25 keeps a trial only while it is in the best quarter "
                             "of the others at the same step",
                             err);
    percentile_pruner *p = calloc(1, sizeof *p);
    if (!p)
        return util_err(err, CAVIAR_ENOMEM, "cannot create %s: out of memory", settings->what);
    p->direction = direction;
    p->q = q;
    p->n_startup = n_startup;
    p->n_min = n_min;
    p->warmup = (int64_t)warmup;
    p->interval = (int64_t)interval;
    *self = p;
    return CAVIAR_OK;
}

static caviar_status percentile_create(util_settings *settings, caviar_direction direction,
                                       void **self, caviar_error *err)
{
    return create_common(settings, direction, 1, self, err);
}

static caviar_status median_create(util_settings *settings, caviar_direction direction,
                                   void **self, caviar_error *err)
{
    return create_common(settings, direction, 0, self, err);
}

static void percentile_destroy(void *self)
{
    percentile_pruner *p = self;
    if (p)
        free(p->scratch);
    free(p);
}

/* The value t reported at exactly step s, if any. Trials usually report at evenly spaced
 * steps (every epoch, every 100 iterations), so the index is guessed from the first two steps
 * before falling back to a scan. */
static int value_at_step(const store_trial *t, int64_t s, double *value)
{
    size_t n = t->n_reports;
    if (n == 0)
        return 0;
    int64_t first = t->steps[0];
    if (n > 1 && t->steps[1] > first && s >= first) {
        /* Differences in uint64: steps are any int64, and these two are non-negative. */
        uint64_t stride = (uint64_t)t->steps[1] - (uint64_t)first;
        uint64_t d = (uint64_t)s - (uint64_t)first;
        if (d % stride == 0 && d / stride < n && t->steps[d / stride] == s) {
            *value = t->step_values[d / stride];
            return 1;
        }
    }
    for (size_t i = n; i-- > 0;)
        if (t->steps[i] == s) {
            *value = t->step_values[i];
            return 1;
        }
    return 0;
}

static void swap(double *a, ptrdiff_t i, ptrdiff_t j)
{
    double x = a[i];
    a[i] = a[j];
    a[j] = x;
}

/* Rearranges a[0..n) so that a[k] is its k-th smallest element (0-based), with nothing larger
 * before it and nothing smaller after it (Hoare's FIND with a median-of-three pivot; expected
 * O(n)). a holds no NaN. */
static void select_kth(double *a, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap(a, mid, lo);
        if (a[hi] < a[lo])
            swap(a, hi, lo);
        if (a[hi] < a[mid])
            swap(a, hi, mid);
        double pivot = a[mid];
        ptrdiff_t i = lo, j = hi;
        /* Afterwards a[lo..j] <= pivot, a[i..hi] >= pivot and a[j+1..i-1] == pivot. */
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (pivot < a[j])
                j--;
            if (i <= j)
                swap(a, i++, j--);
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return;
    }
}

/* The q-th percentile of a[0..n), n >= 1, interpolating linearly between the two order
 * statistics around rank q/100 (n - 1), as numpy's default does. Reorders a. */
double prune_percentile_of(double *a, size_t n, double q)
{
    double pos = q / 100 * (double)(n - 1);
    size_t k = (size_t)pos;
    if (k > n - 1)
        k = n - 1;
    double frac = pos - (double)k;
    select_kth(a, n, k);
    double lo = a[k];
    if (frac <= 0 || k + 1 >= n)
        return lo;
    double hi = a[k + 1]; /* the smallest of what follows the k-th */
    for (size_t i = k + 2; i < n; i++)
        if (a[i] < hi)
            hi = a[i];
    if (lo == hi)
        return lo;
    if (isfinite(lo) && isfinite(hi))
        return lo + frac * (hi - lo);
    /* An infinite end wins; -inf and +inf give NaN, which prunes nothing. */
    return (1 - frac) * lo + frac * hi;
}

static int percentile_should_prune(void *self, const store_history *h, const store_trial *t)
{
    percentile_pruner *p = self;
    if (!prune_is_check_step(t, p->warmup, p->interval))
        return 0;
    int64_t s = t->steps[t->n_reports - 1];
    double best = INFINITY;
    for (size_t i = 0; i < t->n_reports; i++) {
        double l = prune_loss(p->direction, t->step_values[i]);
        if (l < best)
            best = l;
    }
    if (p->cap_scratch < h->n_trials) {
        size_t cap = p->cap_scratch ? p->cap_scratch : 64;
        while (cap < h->n_trials)
            cap *= 2;
        double *a = realloc(p->scratch, cap * sizeof *a);
        if (!a)
            return 0; /* no memory to judge: let the trial run */
        p->scratch = a;
        p->cap_scratch = cap;
    }
    size_t n_finished = 0, n = 0;
    for (size_t i = 0; i < h->n_trials; i++) {
        const store_trial *o = &h->trials[i];
        if (o->number == t->number ||
            (o->state != CAVIAR_TRIAL_COMPLETE && o->state != CAVIAR_TRIAL_PRUNED))
            continue;
        n_finished++;
        double v;
        if (value_at_step(o, s, &v))
            p->scratch[n++] = prune_loss(p->direction, v);
    }
    if (n_finished < p->n_startup || n < p->n_min || n == 0)
        return 0;
    return best > prune_percentile_of(p->scratch, n, p->q);
}

const prune_type prune_percentile = {
    .name = "percentile",
    .keys = percentile_keys,
    .create = percentile_create,
    .destroy = percentile_destroy,
    .should_prune = percentile_should_prune,
};

const prune_type prune_median = {
    .name = "median",
    .keys = percentile_keys + 1, /* the same keys but "percentile" */
    .create = median_create,
    .destroy = percentile_destroy,
    .should_prune = percentile_should_prune,
};
