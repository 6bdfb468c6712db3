/*
 * caviar/data.h — datasets for the trainer: IDX files (MNIST format, gzipped or not), CSV files,
 * built-in sets by name, seeded train/dev/test splits and standardisation.
 *
 * A caviar_data owns its memory; its three caviar_dataset members (train, dev, test) are views
 * into it and stay valid until caviar_data_free(). Features are float32, row-major: sample i's
 * features are x[i * n_features .. (i + 1) * n_features). Classification sets carry int32 labels
 * in [0, n_classes); regression sets carry float targets, n_targets per sample.
 *
 * Sources, by the string given to caviar_data_load():
 *   fashion-mnist     Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist);
 *                     60,000 training images (the dev set is carved from them) and 10,000 test
 *                     images, pixels scaled to [0, 1].
 *   linear            y = x + 10: 100 training points with x uniform in [0, 100) and 20 test
 *                     points with x uniform in [100, 200) (extrapolation), no noise.
 *   spirals           K interleaved spirals in the plane (K = opts.n_classes, default 3), with
 *                     Gaussian noise; 300 training and 100 test points per class.
 *   PATH.csv          a CSV file with a header line; opts.label names the label column (default:
 *                     the last column); every other column is a numeric feature. Labels that are
 *                     all integers, or any non-numeric label, make a classification set (string
 *                     labels are numbered in sorted order); otherwise regression. opts.task
 *                     overrides the guess. The test set is opts.test_fraction of the rows
 *                     unless opts.test_path names a second CSV file.
 *   DIR               a directory holding MNIST-layout IDX files: train-images-idx3-ubyte,
 *                     train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
 *                     each optionally with a .gz suffix.
 *
 * The dev set is opts.dev_fraction of the training part, chosen with opts.seed (the same seed
 * gives the same split). With opts.standardize, every feature is shifted and scaled by the mean
 * and standard deviation of the training part only (a feature that is constant there is only
 * shifted, and its std is reported as 1), and so are regression targets; the statistics are
 * kept in feature_mean/feature_std and target_mean/target_std so that predictions can be mapped
 * back to the original units.
 */
#ifndef CAVIAR_DATA_H
#define CAVIAR_DATA_H

#include "caviar/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum caviar_task {
    CAVIAR_TASK_AUTO = 0,       /* only as a load option: guess from the labels */
    CAVIAR_TASK_CLASSIFICATION, /* softmax + cross-entropy */
    CAVIAR_TASK_REGRESSION      /* linear output + mean squared error */
} caviar_task;

/* A view of n samples; owned by the caviar_data it came from. */
typedef struct caviar_dataset {
    size_t n;
    size_t n_features;
    float *x;       /* n × n_features */
    int32_t *label; /* n labels (classification), else NULL */
    float *target;  /* n × n_targets (regression), else NULL */
} caviar_dataset;

typedef struct caviar_data {
    char name[256];     /* what was loaded, for messages */
    caviar_task task;   /* CLASSIFICATION or REGRESSION */
    size_t n_features;
    size_t n_classes;   /* classification: number of classes; regression: 0 */
    size_t n_targets;   /* regression: outputs per sample; classification: 0 */
    caviar_dataset train, dev, test;
    int standardized;
    float *feature_mean, *feature_std; /* n_features each, when standardized */
    float *target_mean, *target_std;   /* n_targets each, when standardized (regression) */
    void *priv_;                       /* owned buffers; not for callers */
} caviar_data;

typedef struct caviar_data_opts {
    uint64_t seed;          /* for the dev split and generated sets; default 0 */
    double dev_fraction;    /* share of the training part kept for dev, in [0, 1); default 1/12 */
    double test_fraction;   /* CSV without test_path: share of rows for test; default 0.2 */
    int standardize;        /* default 1 */
    caviar_task task;       /* default AUTO */
    const char *label;      /* CSV label column name; NULL: the last column */
    const char *test_path;  /* CSV: a separate test file with the same header */
    size_t n_classes;       /* spirals: number of classes (default 3) */
    const char *datasets_dir; /* where built-in files live; NULL: /usr/share/datasets */
} caviar_data_opts;

/* Fills opts with the defaults above. */
void caviar_data_opts_init(caviar_data_opts *opts);

/* Loads source (see the top of this file) into a new caviar_data, split and, if asked,
 * standardised. Returns NULL and fills err on failure: a file that cannot be read names the
 * file; a malformed IDX names the file and the byte offset; a malformed CSV names
 * file:line:column. Sizes claimed by a header are checked against the data actually present
 * before anything of that size is allocated. Free with caviar_data_free(). */
caviar_data *caviar_data_load(const char *source, const caviar_data_opts *opts, caviar_error *err);
void caviar_data_free(caviar_data *data);

/* ---- lower-level readers (used by caviar_data_load, exposed for tools and tests) ---- */

/* One IDX file, fully read: dims[0..n_dims) and the values converted to float. For IDX type
 * 0x08 (unsigned byte) the values are left in 0..255. Free with caviar_idx_release(). */
typedef struct caviar_idx {
    int type;           /* the IDX type byte: 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E */
    int n_dims;
    uint32_t dims[8];
    size_t n_values;    /* product of dims */
    float *values;
} caviar_idx;

caviar_status caviar_idx_read(const char *path, caviar_idx *out, caviar_error *err);
/* The same, from memory (gzip-compressed or not, detected by the gzip magic); name is used in
 * messages. */
caviar_status caviar_idx_parse(const void *bytes, size_t len, const char *name, caviar_idx *out,
                               caviar_error *err);
void caviar_idx_release(caviar_idx *idx);

/* A CSV file held in memory, loaded as caviar_data_load() loads PATH.csv: split and, if asked,
 * standardised, with name used in messages (name:line:column). opts->test_path is ignored: the
 * test set is opts->test_fraction of the rows. opts may be NULL for the defaults. NULL and err
 * filled on failure; free with caviar_data_free(). */
caviar_data *caviar_csv_parse(const void *bytes, size_t len, const char *name,
                              const caviar_data_opts *opts, caviar_error *err);

#ifdef __cplusplus
}
#endif
#endif
