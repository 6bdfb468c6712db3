/*
 * data_impl.h — what the files of src/data/ share and nobody else uses.
 *
 * Every loader (CSV, IDX directory, generated sets) fills a data_raw: the training part (which
 * caviar_data_load later cuts into train and dev) and the test set, each in its own malloc'd
 * buffers. data_finish() then takes those buffers over without copying them: it moves the dev
 * rows to the end of the training part in place, standardises in place and hands out views.
 * This keeps Fashion-MNIST at one float array of 60,000 x 784 plus the test array, never two.
 */
#ifndef CAVIAR_DATA_IMPL_H
#define CAVIAR_DATA_IMPL_H

#include "caviar/data.h"
#include "util/util.h"

/* Random streams derived from opts.seed, one per use, so that changing how a set is generated
 * does not change how it is split. */
enum {
    DATA_STREAM_DEV = 1,      /* which training rows go to dev */
    DATA_STREAM_TEST = 2,     /* which CSV rows go to test (no test_path) */
    DATA_STREAM_GENERATE = 3  /* the points of linear and spirals */
};

/* n rows, each n_features floats in x and one label (classification) or n_targets floats in
 * target (regression). All three pointers are malloc'd and owned by whoever owns the part. */
typedef struct data_part {
    size_t n;
    float *x;
    int32_t *label;
    float *target;
} data_part;

typedef struct data_raw {
    caviar_task task; /* CLASSIFICATION or REGRESSION, never AUTO */
    size_t n_features;
    size_t n_classes;
    size_t n_targets;
    data_part train;  /* the training part: train + dev */
    data_part test;
} data_raw;

void data_part_release(data_part *part);
void data_raw_release(data_raw *raw);

/* Checks the fields of opts that every source uses (fractions, task); names the bad field. */
caviar_status data_check_opts(const caviar_data_opts *opts, caviar_error *err);

/* A task fixed by the source (a built-in set, an IDX directory) against opts.task. */
caviar_status data_check_task(const char *source, caviar_task fixed, const caviar_data_opts *opts,
                              caviar_error *err);

/* Moves n_tail rows of part, chosen uniformly with rng, to its end (the tail of a Fisher-Yates
 * shuffle applied to whole rows in place). The other rows keep no particular order. */
void data_part_pick_tail(data_part *part, size_t n_features, size_t n_targets, size_t n_tail,
                         util_rng *rng);

/* Splits the last n_tail rows of part off into tail (new buffers) and shrinks part. On failure
 * part is unchanged and tail is empty. */
caviar_status data_part_cut_tail(data_part *part, size_t n_features, size_t n_targets,
                                 size_t n_tail, data_part *tail, caviar_error *err);

/* round(fraction * n), as a count; fraction is in [0, 1). */
size_t data_fraction_count(double fraction, size_t n);

/* Builds the caviar_data: takes the buffers of raw (raw is left empty whether or not this
 * succeeds), carves out dev, standardises if asked. NULL and err filled on failure. */
caviar_data *data_finish(const char *name, data_raw *raw, const caviar_data_opts *opts,
                         caviar_error *err);

/* ---- loaders; each fills raw (empty on failure) ---- */
caviar_status data_load_csv(const char *path, const caviar_data_opts *opts, data_raw *raw,
                            caviar_error *err);
caviar_status data_load_idx_dir(const char *dir, const caviar_data_opts *opts, data_raw *raw,
                                caviar_error *err);
caviar_status data_load_fashion_mnist(const caviar_data_opts *opts, data_raw *raw,
                                      caviar_error *err);
caviar_status data_make_linear(const caviar_data_opts *opts, data_raw *raw, caviar_error *err);
caviar_status data_make_spirals(const caviar_data_opts *opts, data_raw *raw, caviar_error *err);

/* The built-in source names, NULL-terminated (for dispatch and "did you mean"). */
extern const char *const data_builtin_names[];

#endif
