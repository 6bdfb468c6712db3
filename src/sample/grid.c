/*
 * grid.c — the "grid" sampler: every combination of the declared parameters' grid values,
 * each exactly once across all the workers of a study.
 *
 * Algorithm. The grid is the product of one axis per parameter declared before the first trial
 * (caviar_study_add_param), in parameter-id order. An axis holds the parameter's grid values
 * (space_grid_size/space_grid_value): every choice of a categorical, every admissible value of
 * an int (or grid_points values evenly spaced in u), grid_points values of a float. A float
 * without grid_points has no grid and is an error; so is a grid of more than 2^62 points.
 * Values that coincide after rounding or quantisation (grid_points beyond the number of
 * admissible values, a float step coarser than the spacing) are kept once, so the axis may be
 * shorter than grid_points.
 *
 * Combination k, 0 <= k < N (N the product of the axis lengths), is decoded in mixed radix with
 * the last declared parameter varying fastest: unshuffled, the trials run like nested loops in
 * declaration order. Each new trial claims k from the store's counter named "grid:" and a CRC
 * of the axes (so that another grid in the same study starts afresh): admit() names the
 * counter and its limit N, and the store creates the trial and hands it k in one transaction,
 * so that no two workers, processes or machines, run the same combination, and no point is
 * lost by a worker dying between the two; once k reaches N the store refuses to create the
 * trial and the study is done (CAVIAR_STOPPED). A trial re-run after its worker was lost
 * keeps its claim, hence its point.
 *
 * Order. With shuffle=true (the default) the trial with claim k runs combination pi(k), where
 * pi is a pseudo-random permutation of [0, N) fixed by the study seed: a four-round Feistel
 * network on the smallest even number of bits 2h with 2^2h >= N, its round keys drawn from the
 * seed, walked until it lands inside [0, N) ("cycle walking": a permutation of the larger set
 * restricted to the orbit of a point of the smaller one stays a permutation; fewer than four
 * steps on average as 2^2h < 4N). It needs no memory however large the grid, and a grid stopped
 * halfway has sampled the whole box rather than the first half of the first axis. shuffle=false
 * gives the nested-loop order.
 *
 * Enqueued trials (caviar_study_enqueue) do not consume grid points (admit is not called for
 * them and they have no claim); the parameters they do not fix take a grid value drawn
 * uniformly from the trial's own stream.
 *
 * Settings: shuffle=true|false (default true).
 *
 * Invariants. Combination pi(k) runs only in the trial that claimed k (and in its re-runs,
 * which replace it), and the counter hands out each k once, so no combination runs twice; all
 * N have run once the counter reaches N and no trial is RUNNING or WAITING. The axes are fixed
 * at this process's first admit; if the study's parameters change afterwards (a parameter
 * declared or asked later), admit refuses to go on rather than decode claims against another
 * grid. A parameter the objective asks for that is not on the grid is an error in sample(): a
 * grid search has no other source of values.
 */
#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>

#include "sample.h"

/* Keeps Feistel arithmetic on at most 2 x 31 bits inside uint64_t. */
#define GRID_MAX_POINTS ((uint64_t)1 << 62)
/* An axis of more values than this is surely a mistake (the grid could not be run). */
#define GRID_MAX_AXIS ((uint64_t)1 << 24)
/* Tags the permutation's stream, so that it differs from the trials' streams of the seed. */
#define GRID_SHUFFLE_TAG 0x4772696453687566ULL

typedef struct grid_axis {
    uint64_t n;     /* distinct values on the axis */
    double *values; /* NULL: value k is space_grid_value(d, k), all distinct (no grid_points) */
} grid_axis;

typedef struct grid {
    int shuffle;
    uint64_t keys[4]; /* Feistel round keys */
    /* Fixed at the first admit. */
    int ready;
    size_t n_axes;
    grid_axis *axes;
    uint64_t total;
    unsigned half_bits;
    char counter[32]; /* the store counter of this grid: "grid:" and a CRC of its axes */
    char done[96];    /* the message when every point is taken */
} grid;

static const char *const grid_keys[] = {"shuffle", NULL};

static caviar_status grid_create(util_settings *settings, uint64_t seed,
                                 caviar_direction direction, void **self, caviar_error *err)
{
    (void)direction;
    int shuffle = 1;
    caviar_status st = util_settings_bool(settings, "shuffle", &shuffle, err);
    if (st != CAVIAR_OK)
        return st;
    grid *g = calloc(1, sizeof *g);
    if (!g)
        return util_err(err, CAVIAR_ENOMEM, "cannot create the grid sampler: out of memory");
    g->shuffle = shuffle;
    util_rng rng;
    util_rng_derive(&rng, seed ^ GRID_SHUFFLE_TAG, 0);
    for (int i = 0; i < 4; i++)
        g->keys[i] = util_rng_u64(&rng);
    *self = g;
    return CAVIAR_OK;
}

static void grid_release_axes(grid *g)
{
    for (size_t i = 0; i < g->n_axes; i++)
        free(g->axes[i].values);
    free(g->axes);
    g->axes = NULL;
    g->n_axes = 0;
    g->ready = 0;
}

static void grid_destroy(void *self)
{
    grid *g = self;
    if (g) {
        grid_release_axes(g);
        free(g);
    }
}

static caviar_status grid_float_error(const char *name, caviar_error *err)
{
    return util_err(err, CAVIAR_EINVAL,
                    "grid sampler: float parameter '%s' needs grid points (a list of values or a "
                    "number of points on its scale)", name);
}

/* One axis: the distinct grid values of d, in increasing order of u (so equal ones are
 * neighbours). */
static caviar_status grid_axis_build(grid_axis *axis, const space_param *p, caviar_error *err)
{
    const caviar_dist *d = &p->dist;
    uint64_t n = space_grid_size(d);
    axis->values = NULL;
    axis->n = n;
    if (n == 0)
        return grid_float_error(p->name, err);
    if (d->kind == CAVIAR_DIST_CATEGORICAL || d->grid_points == 0)
        return CAVIAR_OK; /* every choice, every admissible int: distinct by construction */
    if (n > GRID_MAX_AXIS)
        return util_err(err, CAVIAR_EINVAL, "grid sampler: parameter '%s' asks for %llu grid "
                                            "points (at most %llu)", p->name,
                        (unsigned long long)n, (unsigned long long)GRID_MAX_AXIS);
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return util_err(err, CAVIAR_ENOMEM, "grid sampler: cannot hold the grid of parameter "
                                            "'%s': out of memory", p->name);
    uint64_t kept = 0;
    for (uint64_t k = 0; k < n; k++) {
        double x = space_grid_value(d, k);
        if (kept == 0 || x != v[kept - 1])
            v[kept++] = x;
    }
    axis->values = v;
    axis->n = kept;
    return CAVIAR_OK;
}

/* Fixes the grid from the study's parameters. */
static caviar_status grid_build(grid *g, const store_history *h, caviar_error *err)
{
    size_t n = h->params.n;
    if (n == 0)
        return util_err(err, CAVIAR_EINVAL, "grid sampler: the study declares no parameters\n"
                                            "hint: declare them with caviar_study_add_param "
                                            "before the first trial");
    g->axes = calloc(n, sizeof *g->axes);
    if (!g->axes)
        return util_err(err, CAVIAR_ENOMEM, "grid sampler: cannot build the grid: out of memory");
    g->n_axes = n;
    uint64_t total = 1;
    caviar_status st;
    for (size_t i = 0; i < n; i++) {
        if ((st = grid_axis_build(&g->axes[i], &h->params.params[i], err)) != CAVIAR_OK)
            goto fail;
        if (total > GRID_MAX_POINTS / g->axes[i].n) {
            st = util_err(err, CAVIAR_EINVAL, "grid sampler: the grid has more than 2^62 points "
                                              "(at parameter '%s')\nhint: use fewer grid points, "
                                              "or the random or sobol sampler",
                          h->params.params[i].name);
            goto fail;
        }
        total *= g->axes[i].n;
    }
    g->total = total;
    /* The claim counter is named after the grid itself, so that a process resuming the study
     * with other declared parameters gets a fresh count instead of decoding another grid's. */
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t i = 0; i < n; i++) {
        char dist[256], desc[512];
        const space_param *p = &h->params.params[i];
        int len = snprintf(desc, sizeof desc, "%s=%s/%llu;", p->name,
                           space_describe(&p->dist, dist, sizeof dist),
                           (unsigned long long)g->axes[i].n);
        if (len < 0)
            len = 0;
        crc = crc32(crc, (const Bytef *)desc, (uInt)((size_t)len < sizeof desc ? (size_t)len
                                                                                : sizeof desc - 1));
    }
    snprintf(g->counter, sizeof g->counter, "grid:%08lx", (unsigned long)crc);
    g->half_bits = 1;
    while (g->half_bits < 31 && ((uint64_t)1 << (2 * g->half_bits)) < total)
        g->half_bits++;
    g->ready = 1;
    return CAVIAR_OK;
fail:
    grid_release_axes(g);
    return st;
}

/* splitmix64's finaliser: a well-mixed 64-bit function of x. */
static uint64_t grid_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A bijection of [0, 2^(2h)): four Feistel rounds on the halves (l, r) -> (r, l ^ F(r)). */
static uint64_t grid_feistel(const grid *g, uint64_t x)
{
    unsigned hb = g->half_bits;
    uint64_t mask = ((uint64_t)1 << hb) - 1;
    uint64_t l = x >> hb, r = x & mask;
    for (int i = 0; i < 4; i++) {
        uint64_t t = l ^ (grid_mix(r ^ g->keys[i]) & mask);
        l = r;
        r = t;
    }
    return (l << hb) | r;
}

/* pi(k): cycle-walk the Feistel permutation until it lands in [0, total). */
static uint64_t grid_permute(const grid *g, uint64_t k)
{
    do
        k = grid_feistel(g, k);
    while (k >= g->total);
    return k;
}

static caviar_status grid_admit(void *self, const store_history *h, sample_ctx *ctx,
                                caviar_error *err)
{
    grid *g = self;
    caviar_status st;
    if (!g->ready && (st = grid_build(g, h, err)) != CAVIAR_OK)
        return st;
    if (h->params.n > g->n_axes) /* ids are only ever added */
        return util_err(err, CAVIAR_EINVAL,
                        "grid sampler: parameter '%s' was added after the grid of %llu points "
                        "started; the grid enumerates the parameters declared before the first "
                        "trial\nhint: start a new study to search a different space",
                        h->params.params[g->n_axes].name, (unsigned long long)g->total);
    /* The store hands out k with the trial, in one transaction, and refuses once k would
     * reach the end of the grid. */
    ctx->counter = g->counter;
    ctx->counter_limit = g->total;
    snprintf(g->done, sizeof g->done, "grid sampler: the grid of %llu point%s is done",
             (unsigned long long)g->total, g->total == 1 ? "" : "s");
    ctx->counter_done = g->done;
    return CAVIAR_OK;
}

static double grid_axis_value(const grid_axis *axis, const caviar_dist *d, uint64_t k)
{
    return axis->values ? axis->values[k] : space_grid_value(d, k);
}

static caviar_status grid_begin(void *self, const store_history *h, sample_ctx *ctx,
                                caviar_error *err)
{
    grid *g = self;
    size_t n = ctx->n_proposed < h->params.n ? ctx->n_proposed : h->params.n;
    if (!ctx->has_claim) {
        /* Not a grid point: a random grid value for whatever the user did not fix. */
        for (size_t i = 0; i < n; i++) {
            const caviar_dist *d = &h->params.params[i].dist;
            uint64_t size = space_grid_size(d);
            if (size > 0)
                ctx->proposed[i] = space_grid_value(d, util_rng_below(ctx->rng, size));
        }
        return CAVIAR_OK;
    }
    /* A claimed point (a new trial, or the re-run of one whose worker was lost): the grid may
     * not be built yet in this process when the trial is a re-run. */
    caviar_status st;
    if (!g->ready && (st = grid_build(g, h, err)) != CAVIAR_OK)
        return st;
    if (ctx->claim >= g->total)
        return util_err(err, CAVIAR_EINVAL, "grid sampler: trial %llu claims point %llu of a "
                        "grid of %llu", (unsigned long long)ctx->number,
                        (unsigned long long)ctx->claim, (unsigned long long)g->total);
    /* Mixed radix, the last axis fastest. */
    uint64_t k = g->shuffle ? grid_permute(g, ctx->claim) : ctx->claim;
    for (size_t i = g->n_axes; i-- > 0;) {
        uint64_t digit = k % g->axes[i].n;
        k /= g->axes[i].n;
        if (i < n)
            ctx->proposed[i] = grid_axis_value(&g->axes[i], &h->params.params[i].dist, digit);
    }
    return CAVIAR_OK;
}

/* Called only for what begin() did not propose, which on a grid is always a mistake. */
static caviar_status grid_sample(void *self, const store_history *h, sample_ctx *ctx,
                                 size_t param, const caviar_dist *d, double *internal,
                                 caviar_error *err)
{
    (void)self, (void)internal;
    const char *name = param < h->params.n ? h->params.params[param].name : "?";
    if (param < ctx->n_proposed && space_grid_size(d) == 0)
        return grid_float_error(name, err);
    return util_err(err, CAVIAR_EINVAL,
                    "grid sampler: parameter '%s' is not on the grid; the grid enumerates the "
                    "parameters declared before the first trial\nhint: declare it with "
                    "caviar_study_add_param", name);
}

const sample_type sample_grid = {
    .name = "grid",
    .keys = grid_keys,
    .create = grid_create,
    .destroy = grid_destroy,
    .admit = grid_admit,
    .begin = grid_begin,
    .sample = grid_sample,
};
