/*
 * builtin.c — datasets known by name and directories of MNIST-layout IDX files.
 *
 *   fashion-mnist  the four files of Debian's dataset-fashion-mnist, read by the directory
 *                  loader below from DATASETS_DIR/fashion-mnist.
 *   DIR            train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
 *                  t10k-labels-idx1-ubyte, each plain or with .gz. Images are count x rows x
 *                  columns; u8 pixels are scaled to [0, 1], other types are kept as they are.
 *                  Labels are integers in 0..255; n_classes is the largest label + 1.
 *   linear         y = x + 10; 100 training points x ~ U[0, 100), 20 test points
 *                  x ~ U[100, 200), so the test set measures extrapolation.
 *   spirals        K arms in the plane; arm k: r = t, angle = 2 pi k / K + 4 t + N(0, 0.2),
 *                  t ~ U[0, 1); 300 training and 100 test points per arm. Points of the arms
 *                  alternate (class i % K), so the classes are mixed in every part of the set.
 *
 * The image array that caviar_idx_read() returns becomes the training part itself (scaled in
 * place), so Fashion-MNIST's 188 MB of training floats exist once.
 */
#define _POSIX_C_SOURCE 200809L
#include "data_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATA_PATH_MAX 4096
#define DEFAULT_DATASETS_DIR "/usr/share/datasets"

enum { TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS };
static const char *const mnist_files[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte"};

/* DIR/BASE if it exists, else DIR/BASE.gz, into path. */
static caviar_status find_file(const char *dir, const char *base, char *path, caviar_error *err)
{
    size_t dir_len = strlen(dir);
    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--; /* no "dir//file" in messages */
    int n = snprintf(path, DATA_PATH_MAX, "%.*s/%s", (int)dir_len, dir, base);
    if (n < 0 || (size_t)n + 4 > DATA_PATH_MAX)
        return util_err(err, CAVIAR_EINVAL, "cannot use directory '%s': its path is too long",
                        dir);
    struct stat sb;
    if (stat(path, &sb) == 0)
        return CAVIAR_OK;
    memcpy(path + n, ".gz", 4);
    if (stat(path, &sb) == 0)
        return CAVIAR_OK;
    int e = errno;
    return util_err(err, e == ENOENT || e == ENOTDIR ? CAVIAR_EMISSING : CAVIAR_EIO,
                    "cannot open '%s' (nor '%.*s'): %s", path, n, path, strerror(e));
}

static size_t idx_value_size(int type)
{
    return type == 0x0E ? 8 : type == 0x0B ? 2 : type == 0x0C || type == 0x0D ? 4 : 1;
}

/* Reads an images file into part (which takes over the value array); *rows and *cols get the
 * image size. */
static caviar_status load_images(const char *path, data_part *part, uint32_t *rows,
                                 uint32_t *cols, caviar_error *err)
{
    caviar_idx idx;
    caviar_status st = caviar_idx_read(path, &idx, err);
    if (st)
        return st;
    if (idx.n_dims != 3) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 3: images need 3 dimensions (count, rows, "
                      "columns), not %d",
                      path, idx.n_dims);
        goto done;
    }
    if (idx.type == 0x08) {
        for (size_t i = 0; i < idx.n_values; i++)
            idx.values[i] /= 255.0f;
    } else {
        size_t elem = idx_value_size(idx.type);
        for (size_t i = 0; i < idx.n_values; i++)
            if (!isfinite(idx.values[i])) {
                st = util_err(err, CAVIAR_EFORMAT,
                              "invalid IDX file '%s' at byte %zu: pixel %zu is not a finite "
                              "number",
                              path, 16 + i * elem, i);
                goto done;
            }
    }
    part->n = idx.dims[0];
    part->x = idx.values;
    idx.values = NULL;
    *rows = idx.dims[1];
    *cols = idx.dims[2];
done:
    caviar_idx_release(&idx);
    return st;
}

/* Reads a labels file for the n_images images of images_path into part->label. */
static caviar_status load_labels(const char *path, const char *images_path, data_part *part,
                                 size_t *max_label, caviar_error *err)
{
    caviar_idx idx;
    caviar_status st = caviar_idx_read(path, &idx, err);
    if (st)
        return st;
    if (idx.n_dims != 1) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 3: labels need 1 dimension, not %d", path,
                      idx.n_dims);
        goto done;
    }
    if (idx.n_values != part->n) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 4: %zu labels for the %zu images of '%s'",
                      path, idx.n_values, part->n, images_path);
        goto done;
    }
    part->label = malloc(idx.n_values * sizeof(int32_t));
    if (!part->label) {
        st = util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    size_t elem = idx_value_size(idx.type);
    for (size_t i = 0; i < idx.n_values; i++) {
        float v = idx.values[i];
        if (!(v >= 0.0f && v < 256.0f && v == floorf(v))) {
            st = util_err(err, CAVIAR_EFORMAT,
                          "invalid IDX file '%s' at byte %zu: label %g is not an integer in "
                          "0..255",
                          path, 8 + i * elem, (double)v);
            goto done;
        }
        part->label[i] = (int32_t)v;
        if ((size_t)v > *max_label)
            *max_label = (size_t)v;
    }
done:
    caviar_idx_release(&idx);
    return st;
}

/* The directory loader without the task check, which its callers make under their own name. */
static caviar_status load_mnist_dir(const char *dir, data_raw *raw, caviar_error *err)
{
    char *paths = NULL;
    caviar_status st;
    memset(raw, 0, sizeof *raw);
    /* Find all four files before reading any, so that a missing one costs no 188 MB read. */
    paths = malloc(4 * DATA_PATH_MAX);
    if (!paths)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    for (int i = 0; i < 4; i++)
        if ((st = find_file(dir, mnist_files[i], paths + i * DATA_PATH_MAX, err)) != CAVIAR_OK)
            goto done;
    const char *p_train = paths + TRAIN_IMAGES * DATA_PATH_MAX;
    const char *p_test = paths + TEST_IMAGES * DATA_PATH_MAX;
    uint32_t rows, cols, test_rows, test_cols;
    size_t max_label = 0;
    if ((st = load_images(p_train, &raw->train, &rows, &cols, err)) != CAVIAR_OK ||
        (st = load_labels(paths + TRAIN_LABELS * DATA_PATH_MAX, p_train, &raw->train,
                          &max_label, err)) != CAVIAR_OK ||
        (st = load_images(p_test, &raw->test, &test_rows, &test_cols, err)) != CAVIAR_OK ||
        (st = load_labels(paths + TEST_LABELS * DATA_PATH_MAX, p_test, &raw->test, &max_label,
                          err)) != CAVIAR_OK)
        goto done;
    if (test_rows != rows || test_cols != cols) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 8: its images are %u x %u but the training "
                      "images in '%s' are %u x %u",
                      p_test, (unsigned)test_rows, (unsigned)test_cols, p_train, (unsigned)rows,
                      (unsigned)cols);
        goto done;
    }
    if (max_label == 0) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "cannot use '%s': every label is 0; a classification needs at least two "
                      "classes",
                      dir);
        goto done;
    }
    raw->task = CAVIAR_TASK_CLASSIFICATION;
    raw->n_features = (size_t)rows * cols;
    raw->n_classes = max_label + 1;
    raw->n_targets = 0;
done:
    if (st != CAVIAR_OK)
        data_raw_release(raw);
    free(paths);
    return st;
}

caviar_status data_load_idx_dir(const char *dir, const caviar_data_opts *opts, data_raw *raw,
                                caviar_error *err)
{
    memset(raw, 0, sizeof *raw);
    caviar_status st = data_check_task(dir, CAVIAR_TASK_CLASSIFICATION, opts, err);
    if (st)
        return st;
    return load_mnist_dir(dir, raw, err);
}

caviar_status data_load_fashion_mnist(const caviar_data_opts *opts, data_raw *raw,
                                      caviar_error *err)
{
    memset(raw, 0, sizeof *raw);
    caviar_status st = data_check_task("fashion-mnist", CAVIAR_TASK_CLASSIFICATION, opts, err);
    if (st)
        return st;
    const char *root = opts->datasets_dir ? opts->datasets_dir : DEFAULT_DATASETS_DIR;
    char dir[DATA_PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/fashion-mnist", root);
    if (n < 0 || (size_t)n >= sizeof dir)
        return util_err(err, CAVIAR_EINVAL, "cannot use datasets directory '%s': its path is "
                        "too long", root);
    st = load_mnist_dir(dir, raw, err);
    if (st == CAVIAR_EMISSING && err) {
        char why[CAVIAR_ERRMSG_LEN];
        memcpy(why, err->msg, sizeof why);
        util_err(err, st,
                 "cannot load dataset 'fashion-mnist': %s\nhint: install Debian's package "
                 "dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
                 why);
    }
    return st;
}

/* Buffers for a generated part of n rows. */
static caviar_status alloc_part(data_part *part, size_t n, size_t n_features, int regression,
                                caviar_error *err)
{
    part->n = n;
    part->x = malloc(n * n_features * sizeof(float));
    if (regression)
        part->target = malloc(n * sizeof(float));
    else
        part->label = malloc(n * sizeof(int32_t));
    if (!part->x || !(part->target || part->label))
        return util_err(err, CAVIAR_ENOMEM, "out of memory generating a dataset");
    return CAVIAR_OK;
}

caviar_status data_make_linear(const caviar_data_opts *opts, data_raw *raw, caviar_error *err)
{
    memset(raw, 0, sizeof *raw);
    caviar_status st = data_check_task("linear", CAVIAR_TASK_REGRESSION, opts, err);
    if (st)
        return st;
    raw->task = CAVIAR_TASK_REGRESSION;
    raw->n_features = 1;
    raw->n_targets = 1;
    if ((st = alloc_part(&raw->train, 100, 1, 1, err)) != CAVIAR_OK ||
        (st = alloc_part(&raw->test, 20, 1, 1, err)) != CAVIAR_OK) {
        data_raw_release(raw);
        return st;
    }
    util_rng rng;
    util_rng_derive(&rng, opts->seed, DATA_STREAM_GENERATE);
    data_part *parts[2] = {&raw->train, &raw->test};
    for (int p = 0; p < 2; p++) {
        double lo = p == 0 ? 0.0 : 100.0; /* test points lie beyond the training range */
        for (size_t i = 0; i < parts[p]->n; i++) {
            float x = (float)(lo + 100.0 * util_rng_uniform(&rng));
            parts[p]->x[i] = x;
            parts[p]->target[i] = x + 10.0f;
        }
    }
    return CAVIAR_OK;
}

caviar_status data_make_spirals(const caviar_data_opts *opts, data_raw *raw, caviar_error *err)
{
    memset(raw, 0, sizeof *raw);
    caviar_status st = data_check_task("spirals", CAVIAR_TASK_CLASSIFICATION, opts, err);
    if (st)
        return st;
    size_t k_classes = opts->n_classes;
    if (k_classes < 2 || k_classes > 100)
        return util_err(err, CAVIAR_EINVAL,
                        "cannot make dataset 'spirals' with %zu classes: it needs 2 to 100",
                        k_classes);
    raw->task = CAVIAR_TASK_CLASSIFICATION;
    raw->n_features = 2;
    raw->n_classes = k_classes;
    if ((st = alloc_part(&raw->train, 300 * k_classes, 2, 0, err)) != CAVIAR_OK ||
        (st = alloc_part(&raw->test, 100 * k_classes, 2, 0, err)) != CAVIAR_OK) {
        data_raw_release(raw);
        return st;
    }
    util_rng rng;
    util_rng_derive(&rng, opts->seed, DATA_STREAM_GENERATE);
    const double two_pi = 6.283185307179586;
    data_part *parts[2] = {&raw->train, &raw->test};
    for (int p = 0; p < 2; p++) {
        for (size_t i = 0; i < parts[p]->n; i++) {
            size_t k = i % k_classes;
            double t = util_rng_uniform(&rng);
            double angle = two_pi * (double)k / (double)k_classes + 4.0 * t +
                           0.2 * util_rng_normal(&rng);
            parts[p]->x[2 * i] = (float)(t * cos(angle));
            parts[p]->x[2 * i + 1] = (float)(t * sin(angle));
            parts[p]->label[i] = (int32_t)k;
        }
    }
    return CAVIAR_OK;
}
