/*
 * tpe.c — the Tree-structured Parzen Estimator sampler ("tpe"): Bayesian optimisation that
 * models where good trials are, not what the objective is (Bergstra et al., NIPS 2011), with
 * the joint (multivariate) variant of Falkner et al. (BOHB, ICML 2018) and a constant liar for
 * parallel workers.
 *
 * Algorithm, for one parameter p (univariate, the default; everything happens in p's unit
 * interval u = caviar_dist_to_unit, which is p's own scale: log for a log-scale learning rate,
 * log(1 - beta) for a one-minus-log beta):
 *   1. The observations are the trials other than the one being asked that are COMPLETE or
 *      PRUNED, plus (constant liar) the RUNNING ones, and that used p. Fewer than n_startup
 *      finished (COMPLETE or PRUNED) trials in the whole study: p is drawn uniformly in u, with
 *      exactly the draws of the random sampler.
 *   2. Rank: COMPLETE trials by value in the study's direction; then PRUNED trials, those that
 *      got further first (largest reported step, then the value reported there; a pruned trial
 *      that reported nothing comes last among them); then the RUNNING trials, which count as
 *      worse than anything (the constant liar: a worker's in-flight point lands in the bad set,
 *      so the next worker is steered away from it). Ties go to the older trial.
 *   3. Split: with n_p the finished trials that used p, the good set is the first
 *      n_good = min(ceil(gamma n_p), 25) of them in rank order; every other observation is bad.
 *      A conditional parameter ("units_3" exists only when n_layers >= 3) is thus fitted on the
 *      trials that have it, with its own split.
 *   4. Fit l(u) to the good set and g(u) to the bad set: mixtures of Gaussian kernels truncated
 *      to [0, 1], one per observation at its u, plus a prior kernel (mean 1/2, sigma 1, weight
 *      prior_weight). Kernel weights in the bad set: 1 for the newest 25, the older ones
 *      ramped linearly from 1/n up to 1 (recent trials matter more). Kernel weights in the
 *      good set (at most 25 trials, so never ramped): the improvement y* - y of each trial
 *      over y*, the value of the first bad observation, scaled to average 1 (so the prior
 *      keeps its share of l). TPE's derivation of expected improvement has the improvement
 *      inside the integral over the good region; weighting the good kernels by it makes l
 *      that integrand's estimate, instead of counting a trial that barely made the cut as
 *      much as the best one. Where there is no such value (the first bad observation is
 *      PRUNED or RUNNING, so the good set may hold pruned trials too; an infinite value; all
 *      improvements 0) the good kernels weigh 1. Measured against weight 1 (caviar's
 *      harness, seeds 0..1199, probability that a run with the weighting ends better than a
 *      run without, after 50 / 100 trials): Branin 0.51 / 0.53, Hartmann-6 0.50 / 0.50,
 *      Styblinski-Tang 4-D 0.51 / 0.50, shifted Rosenbrock 2-D 0.52 / 0.55, a 6-D quadratic
 *      in five floats and a log-scale learning rate 0.50 / 0.51, a 5-D mix of integers, a
 *      stepped float and log floats 0.52 / 0.53 (0.5: a tie; one standard error is 0.012);
 *      a 3-D function with a categorical, 400 seeds, 0.53 / 0.50. The joint estimator below
 *      keeps weight 1: there the weighting cost Styblinski-Tang 4-D after 100 trials (0.46
 *      over 800 seeds, fewer runs reaching the global minimum) while helping elsewhere.
 *      Bandwidth of an observation's kernel: the larger distance to its neighbours among the
 *      sorted means (the prior mean included; the outermost kernels use their inner neighbour
 *      only), clipped to [1/min(100, n + 2), 1] with n the set's size (the "magic clip", which
 *      keeps kernels from collapsing onto a point) and, for integers and stepped floats, to at
 *      least half a cell (0.5 / number of admissible values). Split and bandwidths are
 *      Optuna 3.1's defaults; measured the same way (400 seeds, after 100 trials), Hyperopt's
 *      gamma rule ceil(0.25 sqrt n) lost on all six functions (0.20 to 0.47), a clip by the
 *      number of all observations instead of the set's size lost on four (0.21 to 0.46), the
 *      endpoints as neighbours of the outermost kernels and 48 candidates were ties or
 *      slightly worse.
 *   5. Draw n_ei_candidates points from l (a kernel by weight, then its truncated Gaussian),
 *      keep the one with the largest l(u)/g(u) (TPE's expected-improvement criterion), and map
 *      it back with caviar_dist_from_unit. Integers and stepped floats are kernels on u like
 *      any float; their candidates are scored at the position of the value they map to.
 *   Scoring weights. In the ratio, each kernel counts with its weight times its bandwidth,
 *   i.e. every kernel of weight w peaks at the same height w whatever its width, instead of a
 *   narrow kernel towering over a wide one. An isolated trial thus weighs as much as one in a
 *   crowd; a crowd of bad trials next to the good ones does not drown the good region. This
 *   is what Optuna's TPE computed up to version 3.4 (its truncated-normal log density lacked
 *   the -log sigma term, optuna issue #5109), the reference this sampler is measured against;
 *   with exactly normalised kernels, caviar's median best on Branin after 50 trials was 0.64
 *   instead of 0.53 and on Hartmann-6 -2.41 instead of -2.72 (20 seeds), clearly behind Optuna
 *   3.1 (0.57, -2.76). Candidates are still drawn with the plain weights.
 * Categorical parameters have no kernels on u: each observation is a categorical distribution
 * with its choice smoothed by a = prior_weight / (n + 1) per choice (row c: (1[c = obs] + a) /
 * (1 + a K)), and the prior is uniform; l and g are the weighted mixtures of these rows. A
 * categorical with weights (W&B's probabilities) is a prior belief: the prior row is the
 * weights' shares p, and each observation smooths by a K p_c instead of a.
 *
 * Multivariate (multivariate=true): begin() fits one joint estimator over the parameters that
 * every finished trial has (the joint set), with product kernels: per dimension the same
 * truncated Gaussian (or categorical row) as above, but a common bandwidth per dimension,
 * 0.2 n^(-1/(D + 4)) (Scott's rule as in BOHB, D = size of the joint set), clipped as above.
 * Candidates are whole points drawn from l; the best l/g goes into ctx->proposed[]. RUNNING
 * trials join the joint estimator (as liars) only once they have every parameter of the joint
 * set. Parameters outside the joint set (conditional ones, new ones) are left to sample(),
 * which is the univariate algorithm above.
 *
 * Settings (util_settings keys):
 *   n_startup=10        finished trials of plain random sampling before the model is used
 *   n_ei_candidates=24  candidates drawn from l per decision
 *   gamma=0.1           fraction of the finished trials in the good set (capped at 25 trials)
 *   multivariate=false  joint estimator over the shared parameters
 *   constant_liar=true  RUNNING trials count as the worst observations
 *   prior_weight=1.0    weight of the prior kernel (each observation weighs at most 1)
 *
 * Invariants: everything random comes from ctx->rng, so the proposal is a function of the
 * seed, the trial number and the history (the trial being asked excluded: its own earlier
 * parameters never count as a liar against its later ones). Every proposal is admissible:
 * candidates stay in [0, 1] and are mapped with caviar_dist_from_unit. l and g are positive
 * everywhere on [0, 1] (the prior kernel covers it), so the ratio is always defined.
 *
 * Cost, n trials: the ranking is kept in the sampler; each call scans the trials' states,
 * values and report counts (O(n)) and re-places only the trials that changed (the one just
 * told, the one just asked) by binary search, so no sort of the whole history per ask. Each
 * numeric parameter also keeps its trials' unit positions sorted (tpe_pcache): a call scans
 * the trials' versions and re-places the changed ones by binary search, so its bad set comes
 * out already in kernel order, with no conversion, gathering or sort of the history. What
 * is left per ask is inherent to the model, since the split, the age ramp and the bandwidths
 * move with n: a few O(n) passes over byte and double arrays to split, the fit of the bad
 * mixture (O(n), in vectorised passes), and for each candidate a sum over the bad kernels
 * within 5 bandwidths (blocks of sorted kernels out of reach are skipped; the terms use a
 * vectorisable exp, four candidates summed side by side). About 0.18 ms per ask and tell at
 * 1,000 trials and 1.5 ms at 10,000 for six parameters (it was 0.31 and 3.0 ms with a sort
 * per parameter per ask; same proposals bit for bit); the joint estimator costs O(n D) per
 * candidate.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

#define TPE_GOOD_CAP 25   /* most trials in the good set, whatever gamma says */
#define TPE_FLAT 25       /* newest kernels of a set that keep full weight */
#define TPE_SIGMA0 0.2    /* multivariate bandwidth factor (BOHB) */
#define TPE_CUT2 25.0     /* z^2 beyond which a Gaussian term is dropped (e^-12.5 of its peak) */
#define TPE_BLOCK 16      /* kernels per block when skipping far ones */
#define TPE_FEW_CHANGES 64 /* trials changed since the last ranking, beyond which it is redone */
#define TPE_SQRT2PI 2.5066282746310002
#define TPE_LOG_SQRT2PI 0.91893853320467274

/* Observation classes in rank order. */
enum { TPE_COMPLETE, TPE_PRUNED, TPE_RUNNING };
/* Per-trial marks for one split. */
enum { TPE_NONE, TPE_GOOD, TPE_BAD };

typedef struct tpe_rank {
    int cls;
    double key1, key2; /* COMPLETE (signed value, 0); PRUNED (-step, signed value); RUNNING 0 */
    size_t trial;
} tpe_rank;

/* What the ranking of a trial depends on; the cache is valid while these are unchanged. */
typedef struct tpe_sig {
    caviar_trial_state state;
    size_t n_reports;
    double value;
} tpe_sig;

/* An observation being turned into a kernel: position u, weight w; ord keeps ties in a fixed
 * order (SIZE_MAX marks the prior). */
typedef struct tpe_obs {
    double u, w;
    size_t ord;
} tpe_obs;

/* A one-dimensional mixture of truncated Gaussians, kernels sorted by mean.
 *   score density(x) = sum_i coef[i] exp(-(x - mu[i])^2 / (2 sigma[i]^2)),
 *   coef[i] = weight_i / (sqrt(2 pi) Z_i), Z_i the kernel's mass inside [0, 1]
 * (each kernel's normalised density times its bandwidth, see the file comment); candidates
 * are drawn with the plain weights (cum).
 * Block b holds kernels [b B, (b + 1) B); reach_lo/hi[b] bound where any of them matters. */
typedef struct tpe_mix {
    size_t n, cap;
    double *mu, *sigma, *inv_sigma, *coef, *cum; /* cum: cumulative normalised weights */
    double *reach_lo, *reach_hi;
} tpe_mix;

/* A joint mixture over D dimensions (multivariate): kernel i has means mu[i D + d] (u for a
 * numeric dimension, the choice index for a categorical one) and log weight logc[i] that
 * folds in the Gaussian normalisers; bandwidth per dimension, the prior kernel (the last) has
 * sigma 1 and the categoricals' prior rows. */
typedef struct tpe_joint {
    size_t n, dims;
    double *mu, *logc, *cum;
    double *inv_sigma, *sigma; /* per dimension, observation kernels */
    double *cat_a;              /* per categorical dimension: the smoothing a */
    double *log_hit, *log_miss; /* scratch of joint_logpdf: log row at / away from obs at x */
} tpe_joint;

typedef struct tpe_settings {
    size_t n_startup, n_ei_candidates;
    double gamma, prior_weight;
    int multivariate, constant_liar;
} tpe_settings;

/* A growable scratch array. */
typedef struct tpe_buf {
    void *p;
    size_t cap; /* bytes */
} tpe_buf;

typedef struct tpe {
    tpe_settings set;
    caviar_direction direction;
    /* The ranking cache: rank[0 .. n_rank) sorted, the first n_finished are COMPLETE/PRUNED;
     * valid for the history described by sig[0 .. n_sig) with trial own left out. */
    int rank_ok;
    uint64_t own;
    size_t n_sig, n_rank, n_finished;
    tpe_buf sig, rank, changed, flag;
    size_t n_flag; /* flag[0 .. n_flag) is allocated and zero */
    /* Scratch, reused from call to call (hot paths allocate only to grow these). */
    tpe_buf mark, good, bad, tmp, kv, cand, ids, counts, dists, weights;
    tpe_mix lmix, gmix;
    tpe_buf jl_buf, jg_buf;
    /* Per numeric parameter, the sorted positions of the trials that have it (see
     * pcache_update); pc[0 .. n_pc) allocated. */
    struct tpe_pcache *pc;
    size_t n_pc;
    tpe_buf pos, age; /* bad-set index by trial; age weights of a bad set of age_n */
    size_t age_n;
    int age_ok;
} tpe;

/* A position of a trial's value of one parameter, sorted by (u, trial). */
typedef struct tpe_ent {
    double u;
    size_t trial;
} tpe_ent;

/* What the univariate fit of one numeric parameter p needs from the history, kept across calls
 * (the history only grows and a trial rarely changes): u[i] the unit position of trial i's
 * value of p (NaN when it has none) and sorted[0 .. n_sorted) every (u, trial) with u not NaN,
 * sorted by (u, trial). Valid for the trials i < n whose version is ver[i] and for the
 * distribution d; a trial whose version changed is taken out and put back by binary search, so
 * no sort of the history per ask. */
typedef struct tpe_pcache {
    int ok;
    caviar_dist d;
    size_t n, n_sorted;
    tpe_buf ver, u, sorted;
} tpe_pcache;

static const char *const tpe_keys[] = {"n_startup",     "n_ei_candidates", "gamma",
                                       "multivariate",  "constant_liar",   "prior_weight",
                                       NULL};

/* ---- small helpers ---- */

static void *buf_reserve(tpe_buf *b, size_t n, size_t elem)
{
    size_t need = (n ? n : 1) * elem;
    if (need <= b->cap)
        return b->p;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    void *p = realloc(b->p, cap);
    if (!p)
        return NULL;
    b->p = p;
    b->cap = cap;
    return p;
}

static caviar_status oom(caviar_error *err)
{
    return util_err(err, CAVIAR_ENOMEM, "sampler 'tpe': out of memory");
}

/* e^y for -700 <= y <= 0, to about 2e-10 relative (libm's exp is the reference): y = k ln 2 + r
 * with |r| <= ln 2 / 2, e^r by its Taylor series to r^8, and k added to the exponent bits.
 * Adding 1.5 2^52 rounds y / ln 2 to the nearest integer k, which then sits in the low bits of
 * kd: the difference of the two bit patterns is k itself, so no float-to-int conversion is
 * needed and a loop of these vectorises with plain SSE2. */
static inline double exp_neg(double y)
{
    const double round = 6755399441055744.0; /* 1.5 * 2^52 */
    const uint64_t round_bits = 0x4338000000000000u;
    double kd = y * 1.4426950408889634 + round, k = kd - round;
    double r = y - k * 0.69314718055994531;
    double p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 +
               r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320))))))));
    uint64_t kbits, bits;
    memcpy(&kbits, &kd, sizeof kbits);
    memcpy(&bits, &p, sizeof bits);
    bits += (kbits - round_bits) << 52; /* k 2^52, modulo 2^64: adds k to the exponent */
    memcpy(&p, &bits, sizeof p);
    return p;
}

/* Standard normal tail mass above x >= 0, accurate far out. */
static double upper_tail(double x)
{
    return 0.5 * erfc(x * 0.70710678118654752); /* x / sqrt 2 */
}

/* Mass of N(mu, s) inside [0, 1], for mu in [0, 1]. */
static double inside_mass(double mu, double s)
{
    double below = mu / s, above = (1.0 - mu) / s; /* distances in sigmas, both >= 0 */
    double out = (below < 8.5 ? upper_tail(below) : 0.0) + (above < 8.5 ? upper_tail(above) : 0.0);
    return 1.0 - out;
}

/* N(mu, s) truncated to [0, 1], by rejection: for mu in [0, 1] and s <= 1 at least a third of
 * the draws land inside, so the bound on tries is never met in practice. */
static double trunc_normal(util_rng *rng, double mu, double s)
{
    for (int i = 0; i < 200; i++) {
        double x = mu + s * util_rng_normal(rng);
        if (x >= 0.0 && x <= 1.0)
            return x;
    }
    return mu;
}

/* The index i with cum[i - 1] <= r < cum[i] (cum increasing, cum[n - 1] == 1). */
static size_t pick(const double *cum, size_t n, double r)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r < cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Kernel weight of the j-th oldest of n observations: the newest TPE_FLAT keep weight 1, the
 * older ones ramp linearly from 1/n (oldest) towards 1. */
static double age_weight(size_t j, size_t n)
{
    if (n <= TPE_FLAT || j >= n - TPE_FLAT)
        return 1.0;
    size_t n_ramp = n - TPE_FLAT;
    double lo = 1.0 / (double)n;
    return n_ramp == 1 ? lo : lo + (1.0 - lo) * (double)j / (double)(n_ramp - 1);
}

/* The smallest bandwidth a discrete parameter gets: half a cell of u. */
static double sigma_floor(const caviar_dist *d)
{
    double step = d->kind == CAVIAR_DIST_INT ? (d->step >= 1 ? d->step : 1) : d->step;
    if (d->kind == CAVIAR_DIST_CATEGORICAL || step <= 0)
        return 0.0;
    return 0.5 / (floor((d->high - d->low) / step + 1e-9) + 1.0);
}

static int is_discrete(const caviar_dist *d)
{
    return d->kind == CAVIAR_DIST_INT || (d->kind == CAVIAR_DIST_FLOAT && d->step > 0);
}

/* Where a candidate is scored: for a discrete parameter, the unit position of the admissible
 * value it maps to (where that value's observations sit too). */
static double snap(const caviar_dist *d, double u)
{
    return is_discrete(d) ? caviar_dist_to_unit(d, caviar_dist_from_unit(d, u)) : u;
}

/* Good-set size for n finished observations; the tolerance keeps ceil(0.1 * 30) at 3. */
static size_t n_good_of(const tpe *t, size_t n)
{
    double g = ceil(t->set.gamma * (double)n - 1e-9);
    size_t k = g < 1.0 ? 1 : (size_t)g;
    k = k > TPE_GOOD_CAP ? TPE_GOOD_CAP : k;
    return k > n ? n : k;
}

/* ---- ranking ---- */

static int rank_cmp(const void *pa, const void *pb)
{
    const tpe_rank *a = pa, *b = pb;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->key1 != b->key1)
        return a->key1 < b->key1 ? -1 : 1;
    if (a->key2 != b->key2)
        return a->key2 < b->key2 ? -1 : 1;
    return a->trial < b->trial ? -1 : a->trial > b->trial;
}

/* A value made "smaller is better"; NaN as the worst. */
static double signed_value(const tpe *t, double v)
{
    if (isnan(v))
        return INFINITY;
    return t->direction == CAVIAR_MAXIMIZE ? -v : v;
}

/* The ranking entry of trial i, or 0 when it is not an observation. */
static int rank_entry(const tpe *t, const store_history *h, size_t i, uint64_t own, tpe_rank *e)
{
    const store_trial *r = &h->trials[i];
    *e = (tpe_rank){.trial = i};
    if (r->number == own)
        return 0;
    if (r->state == CAVIAR_TRIAL_COMPLETE) {
        e->cls = TPE_COMPLETE;
        e->key1 = signed_value(t, r->value);
    } else if (r->state == CAVIAR_TRIAL_PRUNED) {
        /* Further is better: the largest step reached, then the value reported there. */
        e->cls = TPE_PRUNED;
        if (r->n_reports == 0) {
            e->key1 = INFINITY;
        } else {
            size_t at = 0;
            for (size_t k = 1; k < r->n_reports; k++)
                if (r->steps[k] > r->steps[at])
                    at = k;
            e->key1 = -(double)r->steps[at];
            e->key2 = signed_value(t, r->step_values[at]);
        }
    } else if (r->state == CAVIAR_TRIAL_RUNNING && t->set.constant_liar) {
        e->cls = TPE_RUNNING;
    } else {
        return 0;
    }
    return 1;
}

static void sig_set(tpe_sig *sig, const store_trial *r)
{
    sig->state = r->state;
    sig->n_reports = r->n_reports;
    sig->value = r->value;
}

static int sig_same(const tpe_sig *sig, const store_trial *r)
{
    return r->state == sig->state && r->n_reports == sig->n_reports &&
           memcmp(&r->value, &sig->value, sizeof r->value) == 0;
}

/* Brings the ranking up to date with h, leaving out trial own. The ranking depends only on
 * each trial's state, value and reports (its signature) and on own, so the trials whose
 * signature changed since the last call (usually the one just told and the one just asked)
 * are taken out and put back at their sorted places; a full sort happens only when many
 * changed. Either way the result is the same total order (ties broken by trial number). */
static caviar_status rank_update(tpe *t, const store_history *h, uint64_t own, caviar_error *err)
{
    size_t n = h->n_trials, n_old = t->n_sig;
    size_t *changed = buf_reserve(&t->changed, TPE_FEW_CHANGES, sizeof *changed);
    unsigned char *flag = buf_reserve(&t->flag, n, 1);
    tpe_sig *sig = buf_reserve(&t->sig, n, sizeof *sig);
    tpe_rank *rank = buf_reserve(&t->rank, n, sizeof *rank);
    if (!changed || !flag || !sig || !rank)
        return oom(err);
    if (n > t->n_flag) { /* flag[] must read zero everywhere, realloc leaves the tail unset */
        memset(flag + t->n_flag, 0, n - t->n_flag);
        t->n_flag = n;
    }
    size_t n_changed = 0;
    int full = !t->rank_ok || n < n_old;
    for (size_t i = 0; i < n && !full; i++) {
        int differs = i >= n_old || !sig_same(&sig[i], &h->trials[i]) ||
                      (own != t->own && (h->trials[i].number == own ||
                                         h->trials[i].number == t->own));
        if (!differs)
            continue;
        if (n_changed == TPE_FEW_CHANGES)
            full = 1;
        else
            changed[n_changed++] = i;
    }
    if (!full && n_changed == 0)
        return CAVIAR_OK;
    t->rank_ok = 0;
    if (full) {
        size_t m = 0, n_finished = 0;
        for (size_t i = 0; i < n; i++) {
            sig_set(&sig[i], &h->trials[i]);
            if (rank_entry(t, h, i, own, &rank[m])) {
                n_finished += rank[m].cls != TPE_RUNNING;
                m++;
            }
        }
        qsort(rank, m, sizeof *rank, rank_cmp);
        t->n_rank = m;
        t->n_finished = n_finished;
    } else {
        /* Take the changed trials out (flag[] is all zero between calls) ... */
        for (size_t c = 0; c < n_changed; c++)
            flag[changed[c]] = 1;
        size_t m = 0;
        for (size_t k = 0; k < t->n_rank; k++) {
            if (flag[rank[k].trial])
                t->n_finished -= rank[k].cls != TPE_RUNNING;
            else
                rank[m++] = rank[k];
        }
        /* ... and put them back where they now belong. */
        for (size_t c = 0; c < n_changed; c++) {
            size_t i = changed[c];
            flag[i] = 0;
            sig_set(&sig[i], &h->trials[i]);
            tpe_rank e;
            if (!rank_entry(t, h, i, own, &e))
                continue;
            size_t lo = 0, hi = m;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (rank_cmp(&rank[mid], &e) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            memmove(rank + lo + 1, rank + lo, (m - lo) * sizeof *rank);
            rank[lo] = e;
            m++;
            t->n_finished += e.cls != TPE_RUNNING;
        }
        t->n_rank = m;
    }
    t->n_sig = n;
    t->own = own;
    t->rank_ok = 1;
    return CAVIAR_OK;
}

static int has_param(const store_history *h, size_t trial, size_t p)
{
    return !isnan(store_trial_param(&h->trials[trial], p));
}

/* Marks each observation of parameter p good or bad (mark[] by trial index); returns the
 * number of finished observations, *n_good the size of the good set. */
static size_t split_param(const tpe *t, const store_history *h, size_t p, unsigned char *mark,
                          size_t *n_good)
{
    const tpe_rank *rank = t->rank.p;
    memset(mark, TPE_NONE, h->n_trials);
    size_t n_p = 0;
    for (size_t k = 0; k < t->n_finished; k++)
        n_p += has_param(h, rank[k].trial, p);
    size_t want = n_p ? n_good_of(t, n_p) : 0, got = 0;
    for (size_t k = 0; k < t->n_rank; k++) {
        if (!has_param(h, rank[k].trial, p))
            continue;
        /* Finished trials come first in the ranking, so the good ones are all finished. */
        mark[rank[k].trial] = got < want ? (got++, TPE_GOOD) : TPE_BAD;
    }
    *n_good = want;
    return n_p;
}

/* ---- one-dimensional mixtures ---- */

static int obs_cmp(const void *pa, const void *pb)
{
    const tpe_obs *a = pa, *b = pb;
    if (a->u != b->u)
        return a->u < b->u ? -1 : 1;
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* Sorts obs[0 .. n) by (u, ord), u in [0, 1]. Comparisons are slow at a thousand observations
 * per parameter per ask, so: a stable least-significant-digit radix sort of (key, index) pairs,
 * key = floor(u (2^32 - 1)) (byte by byte, skipping the bytes all keys share), which is
 * monotone in u and leaves only keys that collide (u closer than 2^-32) possibly out of order;
 * then the observations are permuted into that order and an insertion sort by obs_cmp puts the
 * colliding ones right in a near-linear pass. The result is exactly the order of qsort with
 * obs_cmp, the reference version (used below 64 observations). tmp has room for n
 * observations, kv for 2 n pairs. */
typedef struct tpe_kv {
    uint32_t key, index;
} tpe_kv;

static void obs_sort(tpe_obs *obs, tpe_obs *tmp, tpe_kv *kv, size_t n)
{
    if (n < 64) {
        qsort(obs, n, sizeof *obs, obs_cmp);
        return;
    }
    tpe_kv *from = kv, *to = kv + n;
    for (size_t i = 0; i < n; i++)
        from[i] = (tpe_kv){(uint32_t)(obs[i].u * 4294967295.0), (uint32_t)i};
    size_t count[256];
    for (int shift = 0; shift < 32; shift += 8) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(from[i].key >> shift) & 0xff]++;
        if (count[(from[0].key >> shift) & 0xff] == n)
            continue; /* every key has this byte: the pass would not move anything */
        size_t at = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].key >> shift) & 0xff]++] = from[i];
        tpe_kv *swap = from;
        from = to;
        to = swap;
    }
    for (size_t i = 0; i < n; i++)
        tmp[i] = obs[from[i].index];
    memcpy(obs, tmp, n * sizeof *obs);
    for (size_t i = 1; i < n; i++) {
        if (obs_cmp(&obs[i - 1], &obs[i]) <= 0)
            continue;
        tpe_obs o = obs[i];
        size_t j = i;
        while (j > 0 && obs_cmp(&obs[j - 1], &o) > 0) {
            obs[j] = obs[j - 1];
            j--;
        }
        obs[j] = o;
    }
}

static int mix_reserve(tpe_mix *m, size_t n)
{
    if (n <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap : 64;
    while (cap < n)
        cap *= 2;
    /* Seven arrays of cap doubles in one allocation (the block arrays need fewer). */
    double *p = realloc(m->mu, 7 * cap * sizeof *p);
    if (!p)
        return -1;
    m->mu = p;
    m->sigma = p + cap;
    m->inv_sigma = p + 2 * cap;
    m->coef = p + 3 * cap;
    m->cum = p + 4 * cap;
    m->reach_lo = p + 5 * cap;
    m->reach_hi = p + 6 * cap;
    m->cap = cap;
    return 0;
}

/* Fits the mixture to obs[0 .. n) (positions and weights, in gathering order; obs must have
 * room for n + 1, the prior is appended; tmp for n + 1 too, kv for 2 (n + 1)) with the
 * neighbour bandwidth rule of the file comment. */
static int mix_fit_sorted(tpe_mix *m, const tpe_obs *obs, size_t k, double floor);

static int mix_fit(tpe_mix *m, tpe_obs *obs, tpe_obs *tmp, tpe_kv *kv, size_t n,
                   double prior_weight, double floor)
{
    obs[n] = (tpe_obs){.u = 0.5, .w = prior_weight, .ord = SIZE_MAX};
    obs_sort(obs, tmp, kv, n + 1);
    return mix_fit_sorted(m, obs, n + 1, floor);
}

/* The hot loops (mix_fit_sorted, mix_pdf_batch) also get an AVX2 version chosen at load time
 * where the platform allows (UTIL_CLONES_AVX2): the same IEEE operations on four lanes instead
 * of two, so the results are the same bits. */
#define TPE_CLONES UTIL_CLONES_AVX2

/* The fit of mix_fit to obs[0 .. k) already in obs_cmp order, the prior among them. */
TPE_CLONES
static int mix_fit_sorted(tpe_mix *m, const tpe_obs *obs, size_t k, double floor)
{
    if (mix_reserve(m, k) != 0)
        return -1;
    double lo_sigma = 1.0 / fmin(100.0, (double)k + 1.0), total = 0.0;
    if (lo_sigma < floor)
        lo_sigma = floor;
    for (size_t i = 0; i < k; i++)
        total += obs[i].w;
    /* Per kernel i (the reference formulas, one loop in earlier versions):
     *   sigma = clip(max(gap left, gap right)), inv_sigma = 1 / sigma, w = w_i / total,
     *   coef = w / (sqrt(2 pi) inside_mass(u, sigma)), cum = running sum of w;
     * here in passes the compiler can vectorise, with the same operations in the same order
     * for each value, so every value comes out bit for bit the same. */
    double *mu = m->mu, *sg = m->sigma, *inv = m->inv_sigma, *coef = m->coef, *cum = m->cum;
    for (size_t i = 0; i < k; i++)
        mu[i] = obs[i].u;
    /* Bandwidths: the larger gap to a neighbour, clipped; the outermost kernels look inward
     * only (no endpoint as a neighbour); the prior has 1. */
    for (size_t i = 1; i + 1 < k; i++) {
        double left = mu[i] - mu[i - 1], right = mu[i + 1] - mu[i];
        double s = left > right ? left : right;
        sg[i] = s < lo_sigma ? lo_sigma : s > 1.0 ? 1.0 : s;
    }
    if (k == 1) {
        double s = mu[0] > 1 - mu[0] ? mu[0] : 1 - mu[0];
        sg[0] = s < lo_sigma ? lo_sigma : s > 1.0 ? 1.0 : s;
    } else {
        double s0 = mu[1] - mu[0], s1 = mu[k - 1] - mu[k - 2];
        sg[0] = s0 < lo_sigma ? lo_sigma : s0 > 1.0 ? 1.0 : s0;
        sg[k - 1] = s1 < lo_sigma ? lo_sigma : s1 > 1.0 ? 1.0 : s1;
    }
    for (size_t i = 0; i < k; i++)
        if (obs[i].ord == SIZE_MAX)
            sg[i] = 1.0;
    for (size_t i = 0; i < k; i++) {
        inv[i] = 1.0 / sg[i];
        coef[i] = obs[i].w / total; /* the normalised weight w, for now */
    }
    double acc = 0.0;
    for (size_t i = 0; i < k; i++) {
        acc += coef[i];
        cum[i] = acc;
    }
    /* Scoring weight w s (see the file comment): the 1/s of the Gaussian cancels. A kernel
     * more than 8.6 bandwidths from both ends has its whole mass inside: inside_mass() would
     * find both distances >= 8.5 and return exactly 1. */
    for (size_t i = 0; i < k; i++) {
        double u = mu[i], s = sg[i];
        if (u > 8.6 * s && 1.0 - u > 8.6 * s)
            coef[i] = coef[i] / TPE_SQRT2PI;
        else
            coef[i] = coef[i] / (TPE_SQRT2PI * inside_mass(u, s));
    }
    m->cum[k - 1] = 1.0;
    m->n = k;
    double reach = sqrt(TPE_CUT2);
    for (size_t b = 0; b * TPE_BLOCK < k; b++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = b * TPE_BLOCK; i < k && i < (b + 1) * TPE_BLOCK; i++) {
            double a = m->mu[i] - reach * m->sigma[i], z = m->mu[i] + reach * m->sigma[i];
            lo = a < lo ? a : lo;
            hi = z > hi ? z : hi;
        }
        m->reach_lo[b] = lo;
        m->reach_hi[b] = hi;
    }
    return 0;
}

/* The mixture's density at x in [0, 1]. */
static double mix_pdf(const tpe_mix *m, double x)
{
    double p = 0.0;
    for (size_t b = 0; b * TPE_BLOCK < m->n; b++) {
        if (x < m->reach_lo[b] || x > m->reach_hi[b])
            continue;
        /* Every kernel of a block in reach (the far ones add ~0): exponents, then terms, in
         * two loops the compiler vectorises (as one it does not), then their sum in order. */
        size_t at = b * TPE_BLOCK, len = m->n - at < TPE_BLOCK ? m->n - at : TPE_BLOCK;
        const double *mu = m->mu + at, *inv = m->inv_sigma + at, *coef = m->coef + at;
        double term[TPE_BLOCK];
        for (size_t i = 0; i < len; i++) {
            double z = (x - mu[i]) * inv[i], y = -0.5 * z * z;
            term[i] = y > -700.0 ? y : -700.0;
        }
        for (size_t i = 0; i < len; i++)
            term[i] = coef[i] * exp_neg(term[i]);
        for (size_t i = 0; i < len; i++)
            p += term[i];
    }
    return p;
}

#define TPE_BATCH 4 /* candidates whose densities are summed side by side */

/* out[c] = mix_pdf(m, xs[c]) for c < n <= TPE_BATCH, bit for bit: each candidate's terms are
 * formed and added in the same order, a block out of a candidate's reach adds exact zeros
 * (p + 0 = p for the sums here, which are >= 0). Running TPE_BATCH sums side by side hides
 * the latency of the additions, which one sum in order cannot. */
TPE_CLONES
static void mix_pdf_batch(const tpe_mix *m, const double *xs, size_t n, double *out)
{
    double p[TPE_BATCH] = {0.0}, x[TPE_BATCH];
    for (size_t c = 0; c < TPE_BATCH; c++)
        x[c] = c < n ? xs[c] : NAN; /* NaN: never in reach */
    for (size_t b = 0; b * TPE_BLOCK < m->n; b++) {
        int in[TPE_BATCH], any = 0;
        for (size_t c = 0; c < TPE_BATCH; c++) {
            in[c] = !(x[c] < m->reach_lo[b] || x[c] > m->reach_hi[b]) && c < n;
            any |= in[c];
        }
        if (!any)
            continue;
        size_t at = b * TPE_BLOCK, len = m->n - at < TPE_BLOCK ? m->n - at : TPE_BLOCK;
        const double *mu = m->mu + at, *inv = m->inv_sigma + at, *coef = m->coef + at;
        double term[TPE_BATCH][TPE_BLOCK];
        for (size_t c = 0; c < TPE_BATCH; c++) {
            double *tc = term[c];
            if (!in[c]) {
                for (size_t i = 0; i < TPE_BLOCK; i++)
                    tc[i] = 0.0;
                continue;
            }
            for (size_t i = 0; i < len; i++) {
                double z = (x[c] - mu[i]) * inv[i], y = -0.5 * z * z;
                tc[i] = y > -700.0 ? y : -700.0;
            }
            for (size_t i = 0; i < len; i++)
                tc[i] = coef[i] * exp_neg(tc[i]);
        }
        for (size_t i = 0; i < len; i++)
            for (size_t c = 0; c < TPE_BATCH; c++)
                p[c] += term[c][i];
    }
    for (size_t c = 0; c < n; c++)
        out[c] = p[c];
}

/* ---- univariate decisions ---- */

/* Improvement weights of a good set (see step 4 of the file comment): w[j] for the j-th good
 * observation in trial order (as gather() lists them) is y* - y_j, with y* the signed value of
 * the first bad observation in rank order, scaled so that the n_good weights average 1.
 * Returns 0 and leaves w unspecified when they do not apply: the first bad observation is not
 * COMPLETE (then some good ones may not be either), there is none, or the improvements sum to
 * 0 or to infinity; the caller then keeps weight 1 for each. */
static int improvement_weights(const tpe *t, const store_history *h, const unsigned char *mark,
                               size_t n_good, double *w)
{
    const tpe_rank *rank = t->rank.p;
    double thr = NAN;
    for (size_t k = 0; k < t->n_rank && isnan(thr); k++) {
        if (mark[rank[k].trial] != TPE_BAD)
            continue;
        if (rank[k].cls != TPE_COMPLETE)
            return 0;
        thr = rank[k].key1;
    }
    if (isnan(thr))
        return 0;
    /* Good observations rank before the threshold, so every term is >= 0 (ties give 0). */
    double sum = 0.0;
    size_t j = 0;
    for (size_t i = 0; i < h->n_trials && j < n_good; i++) {
        if (mark[i] != TPE_GOOD)
            continue;
        w[j] = thr - signed_value(t, h->trials[i].value);
        sum += w[j++];
    }
    if (j != n_good || !(sum > 0.0) || isinf(sum))
        return 0;
    for (size_t k = 0; k < n_good; k++)
        w[k] *= (double)n_good / sum;
    return 1;
}

/* Gathers the u positions of parameter p's good and bad observations, oldest first, with their
 * age weights. */
static caviar_status gather(tpe *t, const store_history *h, size_t p, const caviar_dist *d,
                            const unsigned char *mark, size_t n_good, size_t n_bad,
                            tpe_obs **good, tpe_obs **bad, caviar_error *err)
{
    tpe_obs *g = buf_reserve(&t->good, n_good + 1, sizeof *g);
    tpe_obs *b = buf_reserve(&t->bad, n_bad + 1, sizeof *b);
    if (!g || !b)
        return oom(err);
    size_t ng = 0, nb = 0;
    for (size_t i = 0; i < h->n_trials; i++) {
        if (mark[i] == TPE_NONE)
            continue;
        double u = caviar_dist_to_unit(d, store_trial_param(&h->trials[i], p));
        if (mark[i] == TPE_GOOD) {
            g[ng] = (tpe_obs){.u = u, .ord = ng};
            g[ng].w = age_weight(ng, n_good);
            ng++;
        } else {
            b[nb] = (tpe_obs){.u = u, .ord = nb};
            b[nb].w = age_weight(nb, n_bad);
            nb++;
        }
    }
    *good = g;
    *bad = b;
    return CAVIAR_OK;
}

/* The prior probability of choice c of d: its weight's share, or 1/K without weights. */
static double cat_p(const caviar_dist *d, size_t c)
{
    if (!d->weights)
        return 1.0 / (double)d->n_choices;
    double total = 0.0;
    for (size_t i = 0; i < d->n_choices; i++)
        total += d->weights[i];
    return d->weights[c] / total;
}

/* The smoothing mass an observation's row gives choice c: a per choice without weights, a K
 * times c's prior probability with them (the same total a K either way). */
static double cat_smooth(const caviar_dist *d, double a, size_t c)
{
    return d->weights ? a * (double)d->n_choices * cat_p(d, c) : a;
}

/* A choice drawn from the prior: uniform, or by weight (the choice whose cell holds r). */
static double cat_prior_draw(const caviar_dist *d, double r)
{
    double K = (double)d->n_choices;
    return d->weights ? caviar_dist_from_unit(d, r) : fmin(floor(r * K), K - 1);
}

/* Density of a categorical mixture (observations obs[0 .. n) whose .u holds the choice index,
 * weights .w) at choice c of d. */
static double cat_prob(const tpe_obs *obs, size_t n, double prior_weight, const caviar_dist *d,
                       double c)
{
    double total = prior_weight, hit = 0.0;
    for (size_t i = 0; i < n; i++) {
        total += obs[i].w;
        if (obs[i].u == c)
            hit += obs[i].w;
    }
    double K = (double)d->n_choices, a = prior_weight / ((double)n + 1.0), norm = 1.0 + a * K;
    double obs_part = (hit + cat_smooth(d, a, (size_t)c) * (total - prior_weight)) / norm;
    return (obs_part + prior_weight * cat_p(d, (size_t)c)) / total;
}

/* One categorical draw from the good mixture: a kernel by weight, then a choice from its row. */
static double cat_draw(util_rng *rng, const tpe_obs *obs, size_t n, double prior_weight,
                       const caviar_dist *d)
{
    double total = prior_weight;
    for (size_t i = 0; i < n; i++)
        total += obs[i].w;
    double r = util_rng_uniform(rng) * total;
    size_t i = 0;
    while (i < n && r >= obs[i].w)
        r -= obs[i++].w;
    if (i == n) /* the prior */
        return cat_prior_draw(d, util_rng_uniform(rng));
    double fk = (double)d->n_choices, a = prior_weight / ((double)n + 1.0);
    double x = util_rng_uniform(rng) * (1.0 + a * fk);
    if (x < 1.0)
        return obs[i].u;
    return d->weights ? caviar_dist_from_unit(d, fmin((x - 1.0) / (a * fk), 1.0))
                      : fmin(floor((x - 1.0) / a), fk - 1);
}

/* ---- the per-parameter cache (numeric parameters) ---- */

static int ent_cmp(const void *pa, const void *pb)
{
    const tpe_ent *a = pa, *b = pb;
    if (a->u != b->u)
        return a->u < b->u ? -1 : 1;
    return a->trial < b->trial ? -1 : a->trial > b->trial;
}

static int dist_same(const caviar_dist *a, const caviar_dist *b)
{
    return a->kind == b->kind && a->scale == b->scale && a->n_choices == b->n_choices &&
           memcmp(&a->low, &b->low, sizeof a->low) == 0 &&
           memcmp(&a->high, &b->high, sizeof a->high) == 0 &&
           memcmp(&a->step, &b->step, sizeof a->step) == 0;
}

/* Where e belongs in s[0 .. n) (the first entry not below it). */
static size_t ent_lower(const tpe_ent *s, size_t n, const tpe_ent *e)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ent_cmp(&s[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Brings parameter p's cache up to date with h (see tpe_pcache); *out is valid until the next
 * call for p. */
static caviar_status pcache_update(tpe *t, const store_history *h, size_t p, const caviar_dist *d,
                                   tpe_pcache **out, caviar_error *err)
{
    if (p >= t->n_pc) {
        tpe_pcache *pc = realloc(t->pc, (p + 1) * sizeof *pc);
        if (!pc)
            return oom(err);
        memset(pc + t->n_pc, 0, (p + 1 - t->n_pc) * sizeof *pc);
        t->pc = pc;
        t->n_pc = p + 1;
    }
    tpe_pcache *c = &t->pc[p];
    size_t n = h->n_trials;
    uint64_t *ver = buf_reserve(&c->ver, n, sizeof *ver);
    double *u = buf_reserve(&c->u, n, sizeof *u);
    tpe_ent *s = buf_reserve(&c->sorted, n, sizeof *s);
    size_t *changed = buf_reserve(&t->changed, TPE_FEW_CHANGES, sizeof *changed);
    if (!ver || !u || !s || !changed)
        return oom(err);
    int full = !c->ok || n < c->n || !dist_same(&c->d, d);
    size_t n_changed = 0;
    for (size_t i = 0; i < n && !full; i++) {
        if (i < c->n && h->trials[i].version == ver[i])
            continue;
        if (n_changed == TPE_FEW_CHANGES)
            full = 1;
        else
            changed[n_changed++] = i;
    }
    *out = c;
    if (!full && n_changed == 0)
        return CAVIAR_OK;
    c->ok = 0;
    if (full) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            double v = store_trial_param(&h->trials[i], p);
            ver[i] = h->trials[i].version;
            u[i] = isnan(v) ? NAN : caviar_dist_to_unit(d, v);
            if (!isnan(u[i]))
                s[m++] = (tpe_ent){u[i], i};
        }
        qsort(s, m, sizeof *s, ent_cmp);
        c->n_sorted = m;
        c->d = *d;
    } else {
        size_t m = c->n_sorted;
        for (size_t k = 0; k < n_changed; k++) {
            size_t i = changed[k];
            double v = store_trial_param(&h->trials[i], p);
            double nu = isnan(v) ? NAN : caviar_dist_to_unit(d, v);
            ver[i] = h->trials[i].version;
            if (i < c->n) {
                if (isnan(nu) ? isnan(u[i]) : memcmp(&nu, &u[i], sizeof nu) == 0)
                    continue;
                if (!isnan(u[i])) { /* take the old position out */
                    tpe_ent e = {u[i], i};
                    size_t at = ent_lower(s, m, &e);
                    memmove(s + at, s + at + 1, (m - at - 1) * sizeof *s);
                    m--;
                }
            }
            u[i] = nu;
            if (!isnan(nu)) {
                tpe_ent e = {nu, i};
                size_t at = ent_lower(s, m, &e);
                memmove(s + at + 1, s + at, (m - at) * sizeof *s);
                s[at] = e;
                m++;
            }
        }
        c->n_sorted = m;
    }
    c->n = n;
    c->ok = 1;
    return CAVIAR_OK;
}

/* univariate() for a numeric parameter, from the cache: the same split, weights and mixtures
 * as univariate_ref() (bit for bit: the bad set comes out of the cache already in the order
 * obs_sort gives it, since a bad observation's ord grows with its trial number), without
 * converting, gathering or sorting the history. */
static caviar_status univariate_num(tpe *t, const store_history *h, sample_ctx *ctx, size_t p,
                                    const caviar_dist *d, double *internal, caviar_error *err)
{
    tpe_pcache *c = NULL;
    caviar_status st = pcache_update(t, h, p, d, &c, err);
    if (st != CAVIAR_OK)
        return st;
    const double *u = c->u.p;
    const tpe_rank *rank = t->rank.p;
    size_t n = h->n_trials;
    unsigned char *mark = buf_reserve(&t->mark, n, 1);
    size_t *pos = buf_reserve(&t->pos, n, sizeof *pos);
    if (!mark || !pos)
        return oom(err);
    /* The split of split_param(). */
    memset(mark, TPE_NONE, n);
    size_t n_p = 0;
    for (size_t k = 0; k < t->n_finished; k++)
        n_p += !isnan(u[rank[k].trial]);
    if (n_p == 0) {
        *internal = sample_uniform(d, ctx->rng);
        return CAVIAR_OK;
    }
    size_t n_good = n_good_of(t, n_p), got = 0;
    for (size_t k = 0; k < t->n_rank; k++) {
        size_t i = rank[k].trial;
        if (!isnan(u[i]))
            mark[i] = got < n_good ? (got++, TPE_GOOD) : TPE_BAD;
    }
    /* The good set in trial order as gather() lists it, and each bad trial's index among the
     * bad ones in trial order (its ord). */
    tpe_obs *good = buf_reserve(&t->good, n_good + 1, sizeof *good);
    if (!good)
        return oom(err);
    size_t ng = 0, n_bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (mark[i] == TPE_BAD) {
            pos[i] = n_bad++;
        } else if (mark[i] == TPE_GOOD) {
            good[ng] = (tpe_obs){.u = u[i], .ord = ng};
            good[ng].w = age_weight(ng, n_good);
            ng++;
        }
    }
    double *iw = buf_reserve(&t->weights, n_good + 1, sizeof *iw);
    double *age = buf_reserve(&t->age, n_bad + 1, sizeof *age);
    tpe_obs *bad = buf_reserve(&t->bad, n_bad + 1, sizeof *bad);
    if (!iw || !age || !bad)
        return oom(err);
    if (improvement_weights(t, h, mark, n_good, iw))
        for (size_t i = 0; i < n_good; i++)
            good[i].w = iw[i];
    if (!t->age_ok || t->age_n != n_bad) {
        for (size_t j = 0; j < n_bad; j++)
            age[j] = age_weight(j, n_bad);
        t->age_n = n_bad;
        t->age_ok = 1;
    }
    /* The bad set in (u, ord) order, the prior (u 1/2, ord last) among them. */
    double pw = t->set.prior_weight;
    const tpe_obs prior = {.u = 0.5, .w = pw, .ord = SIZE_MAX};
    const tpe_ent *s = c->sorted.p;
    size_t k = 0;
    int prior_in = 0;
    for (size_t e = 0; e < c->n_sorted; e++) {
        size_t i = s[e].trial;
        if (i >= n || mark[i] != TPE_BAD)
            continue;
        if (!prior_in && s[e].u > 0.5)
            bad[k++] = prior, prior_in = 1;
        bad[k++] = (tpe_obs){.u = s[e].u, .w = age[pos[i]], .ord = pos[i]};
    }
    if (!prior_in)
        bad[k++] = prior;
    double floor_s = sigma_floor(d);
    tpe_obs *tmp = buf_reserve(&t->tmp, n_good + 1, sizeof *tmp);
    tpe_kv *kv = buf_reserve(&t->kv, 2 * (n_good + 1), sizeof *kv);
    if (!tmp || !kv || mix_fit(&t->lmix, good, tmp, kv, n_good, pw, floor_s) != 0 ||
        mix_fit_sorted(&t->gmix, bad, k, floor_s) != 0)
        return oom(err);
    const tpe_mix *l = &t->lmix, *g = &t->gmix;
    size_t n_cand = t->set.n_ei_candidates;
    double best_score = -INFINITY, best = NAN;
    /* The draws use no score, so all candidates are drawn first (the same draws in the same
     * order) and g is evaluated at them in batches. */
    double *x = buf_reserve(&t->cand, 3 * n_cand, sizeof *x), *at = x + n_cand, *gp = at + n_cand;
    if (!x)
        return oom(err);
    for (size_t cnd = 0; cnd < n_cand; cnd++) {
        size_t kk = pick(l->cum, l->n, util_rng_uniform(ctx->rng));
        x[cnd] = trunc_normal(ctx->rng, l->mu[kk], l->sigma[kk]);
        at[cnd] = snap(d, x[cnd]);
    }
    for (size_t cnd = 0; cnd < n_cand; cnd += TPE_BATCH)
        mix_pdf_batch(g, at + cnd, n_cand - cnd < TPE_BATCH ? n_cand - cnd : TPE_BATCH, gp + cnd);
    for (size_t cnd = 0; cnd < n_cand; cnd++) {
        double score = log(mix_pdf(l, at[cnd])) - log(gp[cnd]);
        if (score > best_score || isnan(best))
            best_score = score, best = x[cnd];
    }
    *internal = caviar_dist_from_unit(d, best);
    return CAVIAR_OK;
}

/* The reference version (the oracle of the fast one, and the path of categorical parameters):
 * split, gather, sort and fit from scratch. */
static caviar_status univariate_ref(tpe *t, const store_history *h, sample_ctx *ctx, size_t p,
                                    const caviar_dist *d, double *internal, caviar_error *err)
{
    unsigned char *mark = buf_reserve(&t->mark, h->n_trials, 1);
    if (!mark)
        return oom(err);
    size_t n_good, n_bad = 0;
    size_t n_p = split_param(t, h, p, mark, &n_good);
    if (n_p == 0) { /* nothing known about p yet */
        *internal = sample_uniform(d, ctx->rng);
        return CAVIAR_OK;
    }
    for (size_t i = 0; i < h->n_trials; i++)
        n_bad += mark[i] == TPE_BAD;
    tpe_obs *good = NULL, *bad = NULL;
    caviar_status st = gather(t, h, p, d, mark, n_good, n_bad, &good, &bad, err);
    if (st != CAVIAR_OK)
        return st;
    double *iw = buf_reserve(&t->weights, n_good + 1, sizeof *iw);
    if (!iw)
        return oom(err);
    if (improvement_weights(t, h, mark, n_good, iw))
        for (size_t i = 0; i < n_good; i++)
            good[i].w = iw[i];
    size_t n_cand = t->set.n_ei_candidates;
    double pw = t->set.prior_weight, best_score = -INFINITY, best = NAN;
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        /* Categorical choices were gathered as u = (c + 1/2) / K; use the indices. */
        for (size_t i = 0; i < n_good; i++)
            good[i].u = caviar_dist_from_unit(d, good[i].u);
        for (size_t i = 0; i < n_bad; i++)
            bad[i].u = caviar_dist_from_unit(d, bad[i].u);
        for (size_t c = 0; c < n_cand; c++) {
            double x = cat_draw(ctx->rng, good, n_good, pw, d);
            double score =
                log(cat_prob(good, n_good, pw, d, x)) - log(cat_prob(bad, n_bad, pw, d, x));
            if (score > best_score || isnan(best))
                best_score = score, best = x;
        }
        *internal = best;
        return CAVIAR_OK;
    }
    double floor_s = sigma_floor(d);
    size_t most = (n_bad > n_good ? n_bad : n_good) + 1;
    tpe_obs *tmp = buf_reserve(&t->tmp, most, sizeof *tmp);
    tpe_kv *kv = buf_reserve(&t->kv, 2 * most, sizeof *kv);
    if (!tmp || !kv || mix_fit(&t->lmix, good, tmp, kv, n_good, pw, floor_s) != 0 ||
        mix_fit(&t->gmix, bad, tmp, kv, n_bad, pw, floor_s) != 0)
        return oom(err);
    const tpe_mix *l = &t->lmix, *g = &t->gmix;
    for (size_t c = 0; c < n_cand; c++) {
        size_t k = pick(l->cum, l->n, util_rng_uniform(ctx->rng));
        double u = trunc_normal(ctx->rng, l->mu[k], l->sigma[k]), at = snap(d, u);
        double score = log(mix_pdf(l, at)) - log(mix_pdf(g, at));
        if (score > best_score || isnan(best))
            best_score = score, best = u;
    }
    *internal = caviar_dist_from_unit(d, best);
    return CAVIAR_OK;
}

/* ---- multivariate ---- */

/* Joint-mixture storage for n kernels over D dims, carved from one buffer. */
static int joint_reserve(tpe_buf *b, tpe_joint *j, size_t n, size_t dims)
{
    size_t doubles = n * dims + 2 * n + 5 * dims;
    double *p = buf_reserve(b, doubles, sizeof *p);
    if (!p)
        return -1;
    j->n = n;
    j->dims = dims;
    j->mu = p;
    j->logc = p + n * dims;
    j->cum = j->logc + n;
    j->inv_sigma = j->cum + n;
    j->sigma = j->inv_sigma + dims;
    j->log_hit = j->sigma + dims;
    j->log_miss = j->log_hit + dims;
    j->cat_a = j->log_miss + dims;
    return 0;
}

/* Fits a joint mixture: j->mu already holds the n - 1 observations (oldest first) and weights
 * w[0 .. n-1) are their age weights; the prior is kernel n - 1. */
static void joint_fit(tpe_joint *j, const caviar_dist *const *dists, const double *w,
                      double prior_weight)
{
    size_t n = j->n, D = j->dims, n_obs = n - 1;
    double total = prior_weight;
    for (size_t i = 0; i < n_obs; i++)
        total += w[i];
    double s0 = TPE_SIGMA0 * pow(n_obs > 0 ? (double)n_obs : 1.0, -1.0 / ((double)D + 4.0));
    double lo_sigma = 1.0 / fmin(100.0, (double)n + 1.0);
    for (size_t d = 0; d < D; d++) {
        double s = s0, fl = sigma_floor(dists[d]);
        double lo = lo_sigma > fl ? lo_sigma : fl;
        s = s < lo ? lo : s > 1.0 ? 1.0 : s;
        j->sigma[d] = s;
        j->inv_sigma[d] = 1.0 / s;
        j->cat_a[d] = prior_weight / ((double)n_obs + 1.0);
        j->mu[n_obs * D + d] = dists[d]->kind == CAVIAR_DIST_CATEGORICAL ? -1.0 : 0.5;
    }
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        int prior = i == n_obs;
        double wi = (prior ? prior_weight : w[i]) / total, lc = log(wi);
        for (size_t d = 0; d < D; d++) {
            if (dists[d]->kind == CAVIAR_DIST_CATEGORICAL)
                continue; /* the prior's row depends on x: joint_logpdf adds it */
            /* Scoring weight times s, as in one dimension: no log s term. */
            double s = prior ? 1.0 : j->sigma[d];
            lc -= log(inside_mass(j->mu[i * D + d], s)) + TPE_LOG_SQRT2PI;
        }
        j->logc[i] = lc;
        acc += wi;
        j->cum[i] = acc;
    }
    j->cum[n - 1] = 1.0;
}

/* log density of a joint mixture at x[0 .. D), an online log-sum-exp over the kernels; a
 * kernel stops being evaluated once it is e^-40 below the largest term so far. */
static double joint_logpdf(tpe_joint *j, const caviar_dist *const *dists, const double *x)
{
    size_t D = j->dims, n_obs = j->n - 1;
    double m = -INFINITY, s = 0.0, log_prior = 0.0;
    for (size_t d = 0; d < D; d++) { /* the categorical rows at x */
        if (dists[d]->kind != CAVIAR_DIST_CATEGORICAL)
            continue;
        size_t c = (size_t)x[d];
        double a = j->cat_a[d], sm = cat_smooth(dists[d], a, c);
        double norm = 1.0 + a * (double)dists[d]->n_choices;
        j->log_hit[d] = log((1.0 + sm) / norm);
        j->log_miss[d] = log(sm / norm);
        log_prior += log(cat_p(dists[d], c));
    }
    for (size_t i = 0; i < j->n; i++) {
        const double *mu = j->mu + i * D;
        int prior = i == n_obs;
        double lt = j->logc[i] + (prior ? log_prior : 0.0);
        for (size_t d = 0; d < D && lt > m - 40.0; d++) {
            if (dists[d]->kind == CAVIAR_DIST_CATEGORICAL) {
                if (!prior)
                    lt += x[d] == mu[d] ? j->log_hit[d] : j->log_miss[d];
            } else {
                double z = (x[d] - mu[d]) * (prior ? 1.0 : j->inv_sigma[d]);
                lt -= 0.5 * z * z;
            }
        }
        if (lt <= m - 40.0)
            continue;
        if (lt > m) {
            s = s * exp(m - lt) + 1.0;
            m = lt;
        } else {
            s += exp(lt - m);
        }
    }
    return m + log(s);
}

/* One point drawn from a joint mixture into x[0 .. D) (u for numeric dims, index for
 * categorical ones; numeric ones snapped to their cell). */
static void joint_draw(const tpe_joint *j, const caviar_dist *const *dists, util_rng *rng,
                       double prior_weight, double *x)
{
    size_t D = j->dims, n_obs = j->n - 1;
    size_t i = pick(j->cum, j->n, util_rng_uniform(rng));
    int prior = i == n_obs;
    for (size_t d = 0; d < D; d++) {
        const caviar_dist *dist = dists[d];
        if (dist->kind == CAVIAR_DIST_CATEGORICAL) {
            double K = (double)dist->n_choices, a = prior_weight / ((double)n_obs + 1.0);
            double r = util_rng_uniform(rng);
            if (prior) {
                x[d] = cat_prior_draw(dist, r);
            } else {
                r *= 1.0 + a * K;
                if (r < 1.0)
                    x[d] = j->mu[i * D + d];
                else if (dist->weights)
                    x[d] = caviar_dist_from_unit(dist, fmin((r - 1.0) / (a * K), 1.0));
                else
                    x[d] = fmin(floor((r - 1.0) / a), K - 1);
            }
        } else {
            double s = prior ? 1.0 : j->sigma[d];
            x[d] = snap(dist, trunc_normal(rng, j->mu[i * D + d], s));
        }
    }
}

static caviar_status multivariate(tpe *t, const store_history *h, sample_ctx *ctx,
                                  caviar_error *err)
{
    const tpe_rank *rank = t->rank.p;
    size_t n_params = ctx->n_proposed < h->params.n ? ctx->n_proposed : h->params.n;
    if (t->n_finished == 0 || n_params == 0)
        return CAVIAR_OK;
    /* The joint set: parameters every finished trial has. */
    size_t *ids = buf_reserve(&t->ids, n_params, sizeof *ids);
    size_t *counts = buf_reserve(&t->counts, n_params, sizeof *counts);
    const caviar_dist **dists = buf_reserve(&t->dists, n_params, sizeof *dists);
    if (!ids || !counts || !dists)
        return oom(err);
    memset(counts, 0, n_params * sizeof *counts);
    for (size_t k = 0; k < t->n_finished; k++)
        for (size_t p = 0; p < n_params; p++)
            counts[p] += has_param(h, rank[k].trial, p);
    size_t D = 0;
    for (size_t p = 0; p < n_params; p++)
        if (counts[p] == t->n_finished) {
            ids[D] = p;
            dists[D++] = &h->params.params[p].dist;
        }
    if (D == 0)
        return CAVIAR_OK;
    /* Observations: the finished trials and the liars that have the whole joint set. */
    unsigned char *mark = buf_reserve(&t->mark, h->n_trials, 1);
    if (!mark)
        return oom(err);
    memset(mark, TPE_NONE, h->n_trials);
    size_t want = n_good_of(t, t->n_finished), n_good = 0, n_bad = 0;
    for (size_t k = 0; k < t->n_rank; k++) {
        size_t d = 0;
        if (rank[k].cls == TPE_RUNNING)
            while (d < D && has_param(h, rank[k].trial, ids[d]))
                d++;
        if (rank[k].cls == TPE_RUNNING && d < D)
            continue;
        if (n_good < want)
            mark[rank[k].trial] = TPE_GOOD, n_good++;
        else
            mark[rank[k].trial] = TPE_BAD, n_bad++;
    }
    tpe_joint l, g;
    size_t n_cand = t->set.n_ei_candidates;
    double *w = buf_reserve(&t->weights, n_good + n_bad + 2, sizeof *w);
    double *cand = buf_reserve(&t->cand, n_cand * D, sizeof *cand);
    if (!w || !cand || joint_reserve(&t->jl_buf, &l, n_good + 1, D) != 0 ||
        joint_reserve(&t->jg_buf, &g, n_bad + 1, D) != 0)
        return oom(err);
    double *wl = w, *wg = w + n_good + 1;
    size_t ig = 0, ib = 0;
    for (size_t i = 0; i < h->n_trials; i++) {
        if (mark[i] == TPE_NONE)
            continue;
        tpe_joint *into = mark[i] == TPE_GOOD ? &l : &g;
        size_t row = mark[i] == TPE_GOOD ? ig++ : ib++;
        for (size_t d = 0; d < D; d++) {
            double v = store_trial_param(&h->trials[i], ids[d]);
            into->mu[row * D + d] =
                dists[d]->kind == CAVIAR_DIST_CATEGORICAL ? v : caviar_dist_to_unit(dists[d], v);
        }
        if (mark[i] == TPE_GOOD)
            wl[row] = age_weight(row, n_good);
        else
            wg[row] = age_weight(row, n_bad);
    }
    double pw = t->set.prior_weight;
    joint_fit(&l, dists, wl, pw);
    joint_fit(&g, dists, wg, pw);
    double best_score = -INFINITY;
    size_t best = 0;
    for (size_t c = 0; c < n_cand; c++) {
        double *x = cand + c * D;
        joint_draw(&l, dists, ctx->rng, pw, x);
        double score = joint_logpdf(&l, dists, x) - joint_logpdf(&g, dists, x);
        if (score > best_score)
            best_score = score, best = c;
    }
    for (size_t d = 0; d < D; d++) {
        double x = cand[best * D + d];
        ctx->proposed[ids[d]] =
            dists[d]->kind == CAVIAR_DIST_CATEGORICAL ? x : caviar_dist_from_unit(dists[d], x);
    }
    return CAVIAR_OK;
}

/* ---- the sampler type ---- */

static void tpe_destroy(void *self)
{
    tpe *t = self;
    if (!t)
        return;
    tpe_buf *bufs[] = {&t->sig,    &t->rank, &t->changed, &t->flag,   &t->mark,
                       &t->good,   &t->bad,  &t->tmp,     &t->kv,     &t->cand,
                       &t->ids,    &t->counts, &t->dists, &t->weights, &t->jl_buf,
                       &t->jg_buf};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]->p);
    for (size_t p = 0; p < t->n_pc; p++) {
        free(t->pc[p].ver.p);
        free(t->pc[p].u.p);
        free(t->pc[p].sorted.p);
    }
    free(t->pc);
    free(t->pos.p);
    free(t->age.p);
    free(t->lmix.mu);
    free(t->gmix.mu);
    free(t);
}

static caviar_status tpe_create(util_settings *kv, uint64_t seed, caviar_direction direction,
                                void **self, caviar_error *err)
{
    (void)seed; /* every draw comes from the trial's own stream */
    tpe_settings set = {.n_startup = 10, .n_ei_candidates = 24, .gamma = 0.1,
                        .prior_weight = 1.0, .multivariate = 0, .constant_liar = 1};
    caviar_status st;
    if ((st = util_settings_size(kv, "n_startup", 0, 1000000, &set.n_startup, err)) !=
            CAVIAR_OK ||
        (st = util_settings_size(kv, "n_ei_candidates", 1, 10000, &set.n_ei_candidates,
                                 err)) != CAVIAR_OK ||
        (st = util_settings_double(kv, "gamma", 0.001, 1, &set.gamma, err)) != CAVIAR_OK ||
        (st = util_settings_bool(kv, "multivariate", &set.multivariate, err)) != CAVIAR_OK ||
        (st = util_settings_bool(kv, "constant_liar", &set.constant_liar, err)) != CAVIAR_OK ||
        (st = util_settings_double(kv, "prior_weight", 0.001, 1000, &set.prior_weight, err)) !=
            CAVIAR_OK)
        return st;
    tpe *t = calloc(1, sizeof *t);
    if (!t)
        return oom(err);
    t->set = set;
    t->direction = direction;
    *self = t;
    return CAVIAR_OK;
}

static caviar_status tpe_begin(void *self, const store_history *h, sample_ctx *ctx,
                               caviar_error *err)
{
    tpe *t = self;
    if (!t->set.multivariate)
        return CAVIAR_OK;
    caviar_status st = rank_update(t, h, ctx->number, err);
    if (st != CAVIAR_OK || t->n_finished < t->set.n_startup)
        return st;
    return multivariate(t, h, ctx, err);
}

static caviar_status tpe_sample(void *self, const store_history *h, sample_ctx *ctx,
                                size_t param, const caviar_dist *d, double *internal,
                                caviar_error *err)
{
    tpe *t = self;
    caviar_status st = rank_update(t, h, ctx->number, err);
    if (st != CAVIAR_OK)
        return st;
    if (t->n_finished < t->set.n_startup) {
        *internal = sample_uniform(d, ctx->rng);
        return CAVIAR_OK;
    }
    if (d->kind == CAVIAR_DIST_CATEGORICAL)
        return univariate_ref(t, h, ctx, param, d, internal, err);
    return univariate_num(t, h, ctx, param, d, internal, err);
}

const sample_type sample_tpe = {
    .name = "tpe",
    .keys = tpe_keys,
    .create = tpe_create,
    .destroy = tpe_destroy,
    .begin = tpe_begin,
    .sample = tpe_sample,
};
