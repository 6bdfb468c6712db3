/*
 * data.c — caviar_data_load(): picks the loader for a source string, then turns what the loader
 * read into a caviar_data: the dev rows are carved out of the training part, and features (and
 * regression targets) are standardised with statistics of the training rows alone.
 *
 * Memory layout of a loaded set (see data_impl.h for why):
 *   one buffer for the training part   [ train rows ........ | dev rows ]   views train, dev
 *   one buffer for the test set        [ test rows ]                        view test
 * The dev rows are chosen by a seeded Fisher-Yates pass over whole rows, done in place, so the
 * split costs no second copy of the training array. Statistics are accumulated in double.
 */
#define _POSIX_C_SOURCE 200809L
#include "data_impl.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A caviar_data and everything it owns, in one allocation: the public struct, the buffers the
 * views point into, and the 2 * (n_features + n_targets) floats of statistics. */
typedef struct data_block {
    caviar_data data;
    data_raw raw;
    float stats[];
} data_block;

const char *const data_builtin_names[] = {"fashion-mnist", "linear", "spirals", NULL};

void caviar_data_opts_init(caviar_data_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->seed = 0;
    opts->dev_fraction = 1.0 / 12.0;
    opts->test_fraction = 0.2;
    opts->standardize = 1;
    opts->task = CAVIAR_TASK_AUTO;
    opts->label = NULL;
    opts->test_path = NULL;
    opts->n_classes = 3;
    opts->datasets_dir = NULL;
}

void data_part_release(data_part *part)
{
    free(part->x);
    free(part->label);
    free(part->target);
    memset(part, 0, sizeof *part);
}

void data_raw_release(data_raw *raw)
{
    data_part_release(&raw->train);
    data_part_release(&raw->test);
}

static const char *task_name(caviar_task task)
{
    switch (task) {
    case CAVIAR_TASK_AUTO: return "auto";
    case CAVIAR_TASK_CLASSIFICATION: return "classification";
    case CAVIAR_TASK_REGRESSION: return "regression";
    }
    return "unknown";
}

caviar_status data_check_opts(const caviar_data_opts *opts, caviar_error *err)
{
    /* Written as !(in range) so that NaN is caught too. */
    if (!(opts->dev_fraction >= 0.0 && opts->dev_fraction < 1.0))
        return util_err(err, CAVIAR_EINVAL, "dev fraction %g is out of range: it must be in [0, 1)",
                        opts->dev_fraction);
    if (!(opts->test_fraction >= 0.0 && opts->test_fraction < 1.0))
        return util_err(err, CAVIAR_EINVAL,
                        "test fraction %g is out of range: it must be in [0, 1)",
                        opts->test_fraction);
    if (opts->task != CAVIAR_TASK_AUTO && opts->task != CAVIAR_TASK_CLASSIFICATION &&
        opts->task != CAVIAR_TASK_REGRESSION)
        return util_err(err, CAVIAR_EINVAL, "task %d is not a caviar_task", (int)opts->task);
    return CAVIAR_OK;
}

caviar_status data_check_task(const char *source, caviar_task fixed, const caviar_data_opts *opts,
                              caviar_error *err)
{
    if (opts->task == CAVIAR_TASK_AUTO || opts->task == fixed)
        return CAVIAR_OK;
    return util_err(err, CAVIAR_EINVAL, "dataset '%s' is a %s set; it cannot be used for %s",
                    source, task_name(fixed), task_name(opts->task));
}

size_t data_fraction_count(double fraction, size_t n)
{
    double c = round(fraction * (double)n);
    if (!(c > 0.0))
        return 0;
    if (c >= (double)n)
        return n;
    return (size_t)c;
}

static void swap_floats(float *a, float *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        float t = a[k];
        a[k] = b[k];
        b[k] = t;
    }
}

void data_part_pick_tail(data_part *part, size_t n_features, size_t n_targets, size_t n_tail,
                         util_rng *rng)
{
    size_t n = part->n;
    for (size_t i = n; i > n - n_tail; i--) {
        size_t a = i - 1;
        size_t b = (size_t)util_rng_below(rng, i);
        if (a == b)
            continue;
        swap_floats(part->x + a * n_features, part->x + b * n_features, n_features);
        if (part->label) {
            int32_t t = part->label[a];
            part->label[a] = part->label[b];
            part->label[b] = t;
        }
        if (part->target)
            swap_floats(part->target + a * n_targets, part->target + b * n_targets, n_targets);
    }
}

/* Shrinks a buffer to new_len bytes; a failed shrink keeps the larger block, which is harmless. */
static void *shrink(void *p, size_t new_len)
{
    void *q = realloc(p, new_len ? new_len : 1);
    return q ? q : p;
}

caviar_status data_part_cut_tail(data_part *part, size_t n_features, size_t n_targets,
                                 size_t n_tail, data_part *tail, caviar_error *err)
{
    memset(tail, 0, sizeof *tail);
    if (n_tail == 0)
        return CAVIAR_OK;
    size_t n_head = part->n - n_tail;
    tail->n = n_tail;
    tail->x = malloc(n_tail * n_features * sizeof(float));
    if (part->label)
        tail->label = malloc(n_tail * sizeof(int32_t));
    if (part->target)
        tail->target = malloc(n_tail * n_targets * sizeof(float));
    if (!tail->x || (part->label && !tail->label) || (part->target && !tail->target)) {
        data_part_release(tail);
        return util_err(err, CAVIAR_ENOMEM, "out of memory splitting %zu rows off", n_tail);
    }
    memcpy(tail->x, part->x + n_head * n_features, n_tail * n_features * sizeof(float));
    part->x = shrink(part->x, n_head * n_features * sizeof(float));
    if (part->label) {
        memcpy(tail->label, part->label + n_head, n_tail * sizeof(int32_t));
        part->label = shrink(part->label, n_head * sizeof(int32_t));
    }
    if (part->target) {
        memcpy(tail->target, part->target + n_head * n_targets,
               n_tail * n_targets * sizeof(float));
        part->target = shrink(part->target, n_head * n_targets * sizeof(float));
    }
    part->n = n_head;
    return CAVIAR_OK;
}

/* Mean and standard deviation (population, divided by n) of each of the width columns of the
 * first n_fit rows of v, written to mean and sd. Two passes in double: the textbook one-pass
 * formula loses every digit on pixels whose mean is large next to their spread. A column whose
 * spread is within float rounding of its mean is constant; it gets sd 1, so it is only shifted
 * and x * sd + mean still maps back. */
static caviar_status fit_columns(const float *v, size_t n_fit, size_t width, float *mean,
                                 float *sd, caviar_error *err)
{
    double *acc = calloc(2 * width, sizeof(double));
    if (!acc)
        return util_err(err, CAVIAR_ENOMEM, "out of memory computing statistics of %zu columns",
                        width);
    double *sum = acc, *ss = acc + width;
    for (size_t i = 0; i < n_fit; i++) {
        const float *row = v + i * width;
        for (size_t j = 0; j < width; j++)
            sum[j] += row[j];
    }
    for (size_t j = 0; j < width; j++)
        sum[j] /= (double)n_fit; /* now the mean */
    for (size_t i = 0; i < n_fit; i++) {
        const float *row = v + i * width;
        for (size_t j = 0; j < width; j++) {
            double d = row[j] - sum[j];
            ss[j] += d * d;
        }
    }
    for (size_t j = 0; j < width; j++) {
        double s = sqrt(ss[j] / (double)n_fit);
        mean[j] = (float)sum[j];
        sd[j] = (s == 0.0 || s <= 1e-7 * fabs(sum[j])) ? 1.0f : (float)s;
    }
    free(acc);
    return CAVIAR_OK;
}

/* v[i][j] = (v[i][j] - mean[j]) / sd[j] for n rows. Returns 0, or -1 when a result does not fit
 * in a float (a dev or test value absurdly far from the training values), with its place in
 * *bad_row, *bad_col and its value in *bad_z; that row is left half done, which is harmless as
 * the load then fails. */
static int apply_columns(float *v, size_t n, size_t width, const float *mean, const float *sd,
                         size_t *bad_row, size_t *bad_col, double *bad_z)
{
    for (size_t i = 0; i < n; i++) {
        float *row = v + i * width;
        for (size_t j = 0; j < width; j++) {
            double z = ((double)row[j] - mean[j]) / sd[j];
            if (!(fabs(z) <= FLT_MAX)) {
                *bad_row = i;
                *bad_col = j;
                *bad_z = z;
                return -1;
            }
            row[j] = (float)z;
        }
    }
    return 0;
}

/* Standardises the n_part rows of the training part (train rows first, then dev) and the
 * n_test rows of the test set, column by column, with the statistics of the n_train rows. */
static caviar_status standardize_block(const char *name, const char *what, float *part,
                                       size_t n_part, size_t n_train, float *test, size_t n_test,
                                       size_t width, float *mean, float *sd, caviar_error *err)
{
    caviar_status st = fit_columns(part, n_train, width, mean, sd, err);
    if (st)
        return st;
    size_t row = 0, col = 0;
    double z = 0.0;
    const char *set = NULL;
    if (apply_columns(part, n_part, width, mean, sd, &row, &col, &z) != 0) {
        set = row < n_train ? "training" : "dev";
        row = row < n_train ? row : row - n_train;
    } else if (apply_columns(test, n_test, width, mean, sd, &row, &col, &z) != 0) {
        set = "test";
    }
    if (!set)
        return CAVIAR_OK;
    return util_err(err, CAVIAR_EFORMAT,
                    "cannot standardise dataset '%s': %s %zu of %s sample %zu lies %g standard "
                    "deviations from the training mean, beyond the range of a float",
                    name, what, col + 1, set, row + 1, z);
}

static caviar_status standardize(data_block *blk, size_t n_train, caviar_error *err)
{
    caviar_data *d = &blk->data;
    data_raw *raw = &blk->raw;
    size_t nf = d->n_features, nt = d->n_targets;
    d->feature_mean = blk->stats;
    d->feature_std = blk->stats + nf;
    caviar_status st = standardize_block(d->name, "feature", raw->train.x, raw->train.n, n_train,
                                         raw->test.x, raw->test.n, nf, d->feature_mean,
                                         d->feature_std, err);
    if (st == CAVIAR_OK && d->task == CAVIAR_TASK_REGRESSION) {
        d->target_mean = blk->stats + 2 * nf;
        d->target_std = blk->stats + 2 * nf + nt;
        st = standardize_block(d->name, "target", raw->train.target, raw->train.n, n_train,
                               raw->test.target, raw->test.n, nt, d->target_mean, d->target_std,
                               err);
    }
    d->standardized = st == CAVIAR_OK;
    return st;
}

/* A view of rows [first, first + n) of part; an empty view has NULL pointers. */
static caviar_dataset view(const data_part *part, size_t first, size_t n, size_t n_features,
                           size_t n_targets)
{
    caviar_dataset v = {.n = n, .n_features = n_features};
    if (n == 0)
        return v;
    v.x = part->x + first * n_features;
    v.label = part->label ? part->label + first : NULL;
    v.target = part->target ? part->target + first * n_targets : NULL;
    return v;
}

caviar_data *data_finish(const char *name, data_raw *raw, const caviar_data_opts *opts,
                         caviar_error *err)
{
    data_block *blk = NULL;
    size_t n_part = raw->train.n;
    if (n_part == 0) {
        util_err(err, CAVIAR_EFORMAT, "dataset '%s' has no training samples", name);
        goto fail;
    }
    size_t n_dev = data_fraction_count(opts->dev_fraction, n_part);
    if (n_dev >= n_part) {
        util_err(err, CAVIAR_EINVAL,
                 "dataset '%s' has %zu training samples: a dev fraction of %g leaves none to "
                 "train on",
                 name, n_part, opts->dev_fraction);
        goto fail;
    }
    size_t n_stats = opts->standardize ? 2 * (raw->n_features + raw->n_targets) : 0;
    blk = calloc(1, sizeof *blk + n_stats * sizeof(float));
    if (!blk) {
        util_err(err, CAVIAR_ENOMEM, "out of memory loading dataset '%s'", name);
        goto fail;
    }
    blk->raw = *raw;
    memset(raw, 0, sizeof *raw); /* the block owns the buffers from here on */

    caviar_data *d = &blk->data;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->task = blk->raw.task;
    d->n_features = blk->raw.n_features;
    d->n_classes = blk->raw.n_classes;
    d->n_targets = blk->raw.n_targets;
    d->priv_ = blk;

    util_rng rng;
    util_rng_derive(&rng, opts->seed, DATA_STREAM_DEV);
    data_part_pick_tail(&blk->raw.train, d->n_features, d->n_targets, n_dev, &rng);
    size_t n_train = n_part - n_dev;
    if (opts->standardize && standardize(blk, n_train, err) != CAVIAR_OK) {
        caviar_data_free(d);
        return NULL;
    }
    d->train = view(&blk->raw.train, 0, n_train, d->n_features, d->n_targets);
    d->dev = view(&blk->raw.train, n_train, n_dev, d->n_features, d->n_targets);
    d->test = view(&blk->raw.test, 0, blk->raw.test.n, d->n_features, d->n_targets);
    return d;

fail:
    data_raw_release(raw);
    return NULL;
}

void caviar_data_free(caviar_data *data)
{
    if (!data)
        return;
    data_block *blk = data->priv_;
    data_raw_release(&blk->raw);
    free(blk);
}

/* The message for a source that is neither a built-in name nor an existing path. A source that
 * looks like a path gets the system's word for it; a bare word is likely a misspelt name. */
static caviar_status unknown_source(const char *source, int errnum, caviar_error *err)
{
    if (strchr(source, '/') || strchr(source, '.'))
        return util_err(err, CAVIAR_EMISSING, "cannot open dataset '%s': %s", source,
                        strerror(errnum));
    const char *best = NULL;
    int best_d = 4; /* suggest only names within 3 edits */
    for (size_t i = 0; data_builtin_names[i]; i++) {
        int dist = util_edit_distance(source, data_builtin_names[i]);
        if (dist < best_d) {
            best_d = dist;
            best = data_builtin_names[i];
        }
    }
    if (best)
        return util_err(err, CAVIAR_EMISSING,
                        "cannot load dataset '%s': no such file or directory, and no built-in "
                        "set has that name\nhint: did you mean '%s'?",
                        source, best);
    return util_err(err, CAVIAR_EMISSING,
                    "cannot load dataset '%s': no such file or directory, and no built-in set "
                    "has that name\nhint: the built-in sets are fashion-mnist, linear and "
                    "spirals; a CSV file or a directory of MNIST-layout IDX files also works",
                    source);
}

/* A regular file is read as CSV; one that starts like an IDX or a gzip file gets a message
 * that says so, rather than a CSV complaint about its first NUL byte. */
static caviar_status refuse_binary(const char *path, caviar_error *err)
{
    unsigned char magic[2] = {0xff, 0xff};
    FILE *f = fopen(path, "rb");
    if (!f)
        return CAVIAR_OK; /* the CSV reader reports why it cannot open the file */
    size_t n = fread(magic, 1, 2, f);
    fclose(f);
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return util_err(err, CAVIAR_EFORMAT,
                        "cannot load dataset '%s': the file is gzip-compressed, and a CSV file "
                        "must be plain text\nhint: for MNIST-layout IDX files, give the directory "
                        "that holds them",
                        path);
    if (n == 2 && magic[0] == 0 && magic[1] == 0)
        return util_err(err, CAVIAR_EFORMAT,
                        "cannot load dataset '%s': the file looks like an IDX file, not CSV\n"
                        "hint: for MNIST-layout IDX files, give the directory that holds them",
                        path);
    return CAVIAR_OK;
}

caviar_data *caviar_data_load(const char *source, const caviar_data_opts *opts, caviar_error *err)
{
    caviar_data_opts defaults;
    if (!opts) {
        caviar_data_opts_init(&defaults);
        opts = &defaults;
    }
    if (!source || !*source) {
        util_err(err, CAVIAR_EINVAL, "no dataset given");
        return NULL;
    }
    if (data_check_opts(opts, err) != CAVIAR_OK)
        return NULL;

    data_raw raw;
    memset(&raw, 0, sizeof raw);
    caviar_status st;
    struct stat sb;
    if (strcmp(source, "fashion-mnist") == 0) {
        st = data_load_fashion_mnist(opts, &raw, err);
    } else if (strcmp(source, "linear") == 0) {
        st = data_make_linear(opts, &raw, err);
    } else if (strcmp(source, "spirals") == 0) {
        st = data_make_spirals(opts, &raw, err);
    } else if (stat(source, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            st = unknown_source(source, errno, err);
        else
            st = util_err(err, CAVIAR_EIO, "cannot load dataset '%s': %s", source,
                          strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        st = data_load_idx_dir(source, opts, &raw, err);
    } else if ((st = refuse_binary(source, err)) == CAVIAR_OK) {
        st = data_load_csv(source, opts, &raw, err);
    }
    if (st != CAVIAR_OK)
        return NULL;
    return data_finish(source, &raw, opts, err);
}
