/*
 * test_data.c — caviar_data_load(): the built-in sets (linear, spirals, fashion-mnist), the
 * MNIST-layout directory loader, the seeded dev split and standardisation with training
 * statistics only; and the catalogue of bad sources and directories with their messages.
 *
 * The Fashion-MNIST test needs Debian's dataset-fashion-mnist and is skipped without it; it
 * also checks that loading stays far below the trainer's memory budget.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "caviar/data.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static caviar_data *load(const char *source, const caviar_data_opts *opts)
{
    caviar_error err = {0};
    caviar_data *d = caviar_data_load(source, opts, &err);
    if (!d)
        fail_msg("loading '%s' failed: %s", source, err.msg);
    return d;
}

static void expect_fail(const char *source, const caviar_data_opts *opts, caviar_status status,
                        const char *msg)
{
    caviar_error err = {0};
    caviar_data *d = caviar_data_load(source, opts, &err);
    if (d)
        fail_msg("loading '%s' should have failed", source ? source : "(null)");
    assert_int_equal(err.status, status);
    assert_string_equal(err.msg, msg);
}

/* Mean and population standard deviation of column j of n rows. */
static void column_stats(const float *x, size_t n, size_t width, size_t j, double *mean,
                         double *sd)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i * width + j];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i * width + j] - *mean;
        ss += d * d;
    }
    *sd = sqrt(ss / (double)n);
}

static void test_defaults(void **state)
{
    (void)state;
    caviar_data_opts o;
    memset(&o, 0x5a, sizeof o);
    caviar_data_opts_init(&o);
    assert_true(o.seed == 0);
    assert_true(o.dev_fraction == 1.0 / 12.0);
    assert_true(o.test_fraction == 0.2);
    assert_int_equal(o.standardize, 1);
    assert_int_equal(o.task, CAVIAR_TASK_AUTO);
    assert_null(o.label);
    assert_null(o.test_path);
    assert_int_equal(o.n_classes, 3);
    assert_null(o.datasets_dir);
}

static void test_linear(void **state)
{
    (void)state;
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.standardize = 0;
    caviar_data *d = load("linear", &o);
    assert_string_equal(d->name, "linear");
    assert_int_equal(d->task, CAVIAR_TASK_REGRESSION);
    assert_int_equal(d->n_features, 1);
    assert_int_equal(d->n_targets, 1);
    assert_int_equal(d->n_classes, 0);
    assert_int_equal(d->train.n, 92); /* 100 - round(100 / 12) */
    assert_int_equal(d->dev.n, 8);
    assert_int_equal(d->test.n, 20);
    assert_null(d->train.label);
    assert_int_equal(d->standardized, 0);
    assert_null(d->feature_mean);
    const caviar_dataset *sets[3] = {&d->train, &d->dev, &d->test};
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < sets[s]->n; i++) {
            float x = sets[s]->x[i];
            assert_true(sets[s]->target[i] == x + 10.0f);
            if (s < 2)
                assert_true(x >= 0.0f && x < 100.0f);
            else
                assert_true(x >= 100.0f && x < 200.0f);
        }
    caviar_data_free(d);
    /* NULL options are the defaults. */
    d = caviar_data_load("linear", NULL, NULL);
    assert_non_null(d);
    assert_int_equal(d->standardized, 1);
    caviar_data_free(d);
}

static void test_spirals(void **state)
{
    (void)state;
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.standardize = 0;
    caviar_data *d = load("spirals", &o);
    assert_int_equal(d->task, CAVIAR_TASK_CLASSIFICATION);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->n_classes, 3);
    assert_int_equal(d->train.n + d->dev.n, 900);
    assert_int_equal(d->dev.n, 75);
    assert_int_equal(d->test.n, 300);
    assert_null(d->train.target);
    size_t per_class[3] = {0};
    for (size_t i = 0; i < d->test.n; i++) {
        assert_true(d->test.label[i] >= 0 && d->test.label[i] < 3);
        per_class[d->test.label[i]]++;
        float x = d->test.x[2 * i], y = d->test.x[2 * i + 1];
        assert_true(x * x + y * y <= 1.0f + 1e-6f); /* r = t < 1 */
    }
    for (int k = 0; k < 3; k++)
        assert_int_equal(per_class[k], 100);
    caviar_data_free(d);

    o.n_classes = 7;
    d = load("spirals", &o);
    assert_int_equal(d->n_classes, 7);
    assert_int_equal(d->train.n + d->dev.n, 2100);
    assert_int_equal(d->test.n, 700);
    caviar_data_free(d);
}

/* Same seed, same data and split; another seed, another. */
static void test_split_reproducible(void **state)
{
    (void)state;
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.seed = 42;
    caviar_data *a = load("spirals", &o), *b = load("spirals", &o);
    o.seed = 43;
    caviar_data *c = load("spirals", &o);
    assert_memory_equal(a->train.x, b->train.x, a->train.n * 2 * sizeof(float));
    assert_memory_equal(a->dev.label, b->dev.label, a->dev.n * sizeof(int32_t));
    assert_memory_equal(a->test.x, b->test.x, a->test.n * 2 * sizeof(float));
    assert_true(memcmp(a->train.x, c->train.x, a->train.n * 2 * sizeof(float)) != 0);
    caviar_data_free(a);
    caviar_data_free(b);
    caviar_data_free(c);

    /* With fixed rows (a CSV of row numbers), only the split varies with the seed. */
    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof text, "id,y\n");
    for (int i = 0; i < 120; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d\n", i, i % 3);
    caviar_data_opts_init(&o);
    o.test_fraction = 0.0;
    o.standardize = 0;
    o.dev_fraction = 0.25;
    caviar_data *s[3];
    for (int k = 0; k < 3; k++) {
        o.seed = k < 2 ? 5 : 6;
        s[k] = caviar_csv_parse(text, len, "ids.csv", &o, NULL);
        assert_non_null(s[k]);
        assert_int_equal(s[k]->dev.n, 30);
        assert_int_equal(s[k]->train.n, 90);
        /* dev and train are views of one block: dev follows train */
        assert_ptr_equal(s[k]->dev.x, s[k]->train.x + 90);
    }
    assert_memory_equal(s[0]->dev.x, s[1]->dev.x, 30 * sizeof(float));
    assert_true(memcmp(s[0]->dev.x, s[2]->dev.x, 30 * sizeof(float)) != 0);
    int seen[120] = {0};
    for (size_t i = 0; i < 120; i++) {
        int id = (int)s[0]->train.x[i]; /* runs on into dev */
        seen[id]++;
        assert_int_equal(s[0]->train.label[i], id % 3);
    }
    for (int i = 0; i < 120; i++)
        assert_int_equal(seen[i], 1);
    for (int k = 0; k < 3; k++)
        caviar_data_free(s[k]);
}

static void test_dev_fraction_sizes(void **state)
{
    (void)state;
    static const struct {
        double fraction;
        size_t n_dev;
    } cases[] = {{0.0, 0}, {0.01, 1}, {0.004, 0}, {0.25, 25}, {0.5, 50}, {0.99, 99}};
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.dev_fraction = cases[i].fraction;
        caviar_data *d = load("linear", &o);
        assert_int_equal(d->dev.n, cases[i].n_dev);
        assert_int_equal(d->train.n, 100 - cases[i].n_dev);
        if (cases[i].n_dev == 0)
            assert_null(d->dev.x);
        caviar_data_free(d);
    }
}

/* The statistics come from the training rows alone, and dev and test are mapped with them. */
static void test_standardize_train_only(void **state)
{
    (void)state;
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.seed = 3;
    o.dev_fraction = 0.2;
    o.standardize = 0;
    caviar_data *raw = load("linear", &o);
    o.standardize = 1;
    caviar_data *st = load("linear", &o);
    assert_int_equal(st->standardized, 1);
    assert_non_null(st->feature_mean);
    assert_non_null(st->target_std);

    double mean, sd;
    column_stats(raw->train.x, raw->train.n, 1, 0, &mean, &sd);
    assert_float_equal(st->feature_mean[0], mean, 1e-3);
    assert_float_equal(st->feature_std[0], sd, 1e-3);
    column_stats(raw->train.target, raw->train.n, 1, 0, &mean, &sd);
    assert_float_equal(st->target_mean[0], mean, 1e-3);
    assert_float_equal(st->target_std[0], sd, 1e-3);

    double m, s;
    column_stats(st->train.x, st->train.n, 1, 0, &m, &s);
    assert_float_equal(m, 0.0, 1e-5);
    assert_float_equal(s, 1.0, 1e-5);
    column_stats(st->train.target, st->train.n, 1, 0, &m, &s);
    assert_float_equal(m, 0.0, 1e-5);
    assert_float_equal(s, 1.0, 1e-5);
    /* The test points lie beyond the training range: with the training statistics their
     * standardised mean is far above 0 (with their own it would be 0). */
    column_stats(st->test.x, st->test.n, 1, 0, &m, &s);
    assert_true(m > 2.0);
    const caviar_dataset *pairs[2][2] = {{&raw->dev, &st->dev}, {&raw->test, &st->test}};
    for (int p = 0; p < 2; p++) {
        const caviar_dataset *r = pairs[p][0], *z = pairs[p][1];
        assert_int_equal(r->n, z->n);
        for (size_t i = 0; i < r->n; i++) {
            double want_x = (r->x[i] - st->feature_mean[0]) / st->feature_std[0];
            double want_y = (r->target[i] - st->target_mean[0]) / st->target_std[0];
            assert_float_equal(z->x[i], want_x, 1e-5);
            assert_float_equal(z->target[i], want_y, 1e-5);
        }
    }
    caviar_data_free(raw);
    caviar_data_free(st);

    /* A feature constant in the training rows is only shifted (its std is reported as 1). */
    caviar_data_opts_init(&o);
    o.dev_fraction = 0.0;
    o.test_fraction = 0.0;
    const char *text = "c,v,y\n5,1,0\n5,2,1\n5,3,0\n5,4,1\n";
    caviar_data *d = caviar_csv_parse(text, strlen(text), "c.csv", &o, NULL);
    assert_non_null(d);
    assert_true(d->feature_mean[0] == 5.0f && d->feature_std[0] == 1.0f);
    for (size_t i = 0; i < 4; i++)
        assert_true(d->train.x[2 * i] == 0.0f);
    assert_null(d->target_mean);
    caviar_data_free(d);
}

/* ---- MNIST-layout directories ---- */

static void write_file(const char *dir, const char *name, const unsigned char *data, size_t len,
                       int gz)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
    }
}

/* An IDX file of u8 values: header for dims, then values. */
static size_t make_idx(unsigned char *out, int type, int n_dims, const uint32_t *dims,
                       const unsigned char *values, size_t n_value_bytes)
{
    size_t pos = 0;
    out[pos++] = 0;
    out[pos++] = 0;
    out[pos++] = (unsigned char)type;
    out[pos++] = (unsigned char)n_dims;
    for (int i = 0; i < n_dims; i++)
        for (int b = 3; b >= 0; b--)
            out[pos++] = (unsigned char)(dims[i] >> (8 * b));
    memcpy(out + pos, values, n_value_bytes);
    return pos + n_value_bytes;
}

/* Writes a 6-train / 3-test set of 2x2 images; which files are gzipped is a bit mask. */
static void write_mnist_dir(const char *dir, int gz_mask)
{
    unsigned char buf[256], px[24];
    for (int i = 0; i < 24; i++)
        px[i] = (unsigned char)(i * 11);
    static const unsigned char train_labels[6] = {0, 1, 2, 3, 4, 1};
    static const unsigned char test_labels[3] = {4, 0, 2};
    size_t n;
    n = make_idx(buf, 0x08, 3, (uint32_t[]){6, 2, 2}, px, 24);
    write_file(dir, "train-images-idx3-ubyte", buf, n, gz_mask & 1);
    n = make_idx(buf, 0x08, 1, (uint32_t[]){6}, train_labels, 6);
    write_file(dir, "train-labels-idx1-ubyte", buf, n, gz_mask & 2);
    n = make_idx(buf, 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12);
    write_file(dir, "t10k-images-idx3-ubyte", buf, n, gz_mask & 4);
    n = make_idx(buf, 0x08, 1, (uint32_t[]){3}, test_labels, 3);
    write_file(dir, "t10k-labels-idx1-ubyte", buf, n, gz_mask & 8);
}

static char *make_temp_dir(void)
{
    char *dir = strdup("/tmp/caviar-test-data-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(char *dir)
{
    static const char *const names[] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte"};
    char path[1024];
    for (int i = 0; i < 4; i++)
        for (int gz = 0; gz < 2; gz++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, names[i], gz ? ".gz" : "");
            unlink(path);
        }
    snprintf(path, sizeof path, "%s/fashion-mnist", dir);
    rmdir(path);
    rmdir(dir);
    free(dir);
}

static void test_idx_dir(void **state)
{
    (void)state;
    for (int mask = 0; mask < 16; mask += 5) {
        char *dir = make_temp_dir();
        write_mnist_dir(dir, mask);
        caviar_data_opts o;
        caviar_data_opts_init(&o);
        o.dev_fraction = 0.0;
        o.standardize = 0;
        char with_slash[1024];
        snprintf(with_slash, sizeof with_slash, "%s//", dir); /* trailing slashes are fine */
        caviar_data *d = load(mask == 5 ? with_slash : dir, &o);
        assert_int_equal(d->task, CAVIAR_TASK_CLASSIFICATION);
        assert_int_equal(d->n_features, 4);
        assert_int_equal(d->n_classes, 5);
        assert_int_equal(d->train.n, 6);
        assert_int_equal(d->test.n, 3);
        for (size_t i = 0; i < 24; i++)
            assert_true(d->train.x[i] == (float)(i * 11) / 255.0f);
        assert_memory_equal(d->train.label, ((int32_t[]){0, 1, 2, 3, 4, 1}), 6 * 4);
        assert_memory_equal(d->test.label, ((int32_t[]){4, 0, 2}), 3 * 4);
        caviar_data_free(d);
        remove_dir(dir);
    }
}

static void test_idx_dir_errors(void **state)
{
    (void)state;
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    char *dir = make_temp_dir();
    char want[2048], path[1024];
    unsigned char buf[256], vals[64] = {0};
    size_t n;

    /* Nothing there yet. */
    snprintf(want, sizeof want,
             "cannot open '%s/train-images-idx3-ubyte.gz' (nor '%s/train-images-idx3-ubyte'): "
             "No such file or directory",
             dir, dir);
    expect_fail(dir, &o, CAVIAR_EMISSING, want);

    /* Labels that disagree with the images in number. */
    write_mnist_dir(dir, 0);
    n = make_idx(buf, 0x08, 1, (uint32_t[]){5}, vals, 5);
    write_file(dir, "train-labels-idx1-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/train-labels-idx1-ubyte' at byte 4: 5 labels for the 6 "
             "images of '%s/train-images-idx3-ubyte'",
             dir, dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* A label beyond 255 (i16 labels). */
    write_mnist_dir(dir, 0);
    unsigned char wide[6] = {0, 1, 0x01, 0x2c, 0, 2}; /* 1, 300, 2 */
    n = make_idx(buf, 0x0B, 1, (uint32_t[]){3}, wide, 6);
    write_file(dir, "t10k-labels-idx1-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/t10k-labels-idx1-ubyte' at byte 10: label 300 is not an "
             "integer in 0..255",
             dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* Images that are not 3-D. */
    write_mnist_dir(dir, 0);
    n = make_idx(buf, 0x08, 2, (uint32_t[]){6, 4}, vals, 24);
    write_file(dir, "train-images-idx3-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/train-images-idx3-ubyte' at byte 3: images need 3 dimensions "
             "(count, rows, columns), not 2",
             dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* Test images of another size. */
    write_mnist_dir(dir, 0);
    n = make_idx(buf, 0x08, 3, (uint32_t[]){3, 1, 4}, vals, 12);
    write_file(dir, "t10k-images-idx3-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/t10k-images-idx3-ubyte' at byte 8: its images are 1 x 4 but "
             "the training images in '%s/train-images-idx3-ubyte' are 2 x 2",
             dir, dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* A malformed file inside the directory reports the file and offset. */
    write_mnist_dir(dir, 0);
    write_file(dir, "t10k-images-idx3-ubyte", (const unsigned char *)"\x00\x00\x08\x03", 4, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/t10k-images-idx3-ubyte' at byte 4: truncated header: the "
             "file ends after 4 bytes, the header of 3 dimensions needs 16",
             dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* Labels in a 2-D array. */
    write_mnist_dir(dir, 0);
    n = make_idx(buf, 0x08, 2, (uint32_t[]){6, 1}, vals, 6);
    write_file(dir, "train-labels-idx1-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/train-labels-idx1-ubyte' at byte 3: labels need 1 dimension, "
             "not 2",
             dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* Float images are kept as they are, but must be finite (a NaN in pixel 2). */
    write_mnist_dir(dir, 0);
    unsigned char f32[24 * 4] = {0};
    memcpy(f32 + 8, "\x7f\xc0\x00\x00", 4);
    n = make_idx(buf, 0x0D, 3, (uint32_t[]){6, 2, 2}, f32, sizeof f32);
    write_file(dir, "train-images-idx3-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "invalid IDX file '%s/train-images-idx3-ubyte' at byte 24: pixel 2 is not a finite "
             "number",
             dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);
    memcpy(f32 + 8, "\x40\x20\x00\x00", 4); /* 2.5 */
    n = make_idx(buf, 0x0D, 3, (uint32_t[]){6, 2, 2}, f32, sizeof f32);
    write_file(dir, "train-images-idx3-ubyte", buf, n, 0);
    o.standardize = 0;
    o.dev_fraction = 0.0;
    caviar_data *d = load(dir, &o);
    assert_true(d->train.x[2] == 2.5f && d->train.x[3] == 0.0f);
    caviar_data_free(d);
    caviar_data_opts_init(&o);

    /* Every label 0: one class only. */
    write_mnist_dir(dir, 0);
    n = make_idx(buf, 0x08, 1, (uint32_t[]){6}, vals, 6);
    write_file(dir, "train-labels-idx1-ubyte", buf, n, 0);
    n = make_idx(buf, 0x08, 1, (uint32_t[]){3}, vals, 3);
    write_file(dir, "t10k-labels-idx1-ubyte", buf, n, 0);
    snprintf(want, sizeof want,
             "cannot use '%s': every label is 0; a classification needs at least two classes",
             dir);
    expect_fail(dir, &o, CAVIAR_EFORMAT, want);

    /* A missing file among present ones. */
    write_mnist_dir(dir, 0);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    unlink(path);
    snprintf(want, sizeof want,
             "cannot open '%s/t10k-labels-idx1-ubyte.gz' (nor '%s/t10k-labels-idx1-ubyte'): No "
             "such file or directory",
             dir, dir);
    expect_fail(dir, &o, CAVIAR_EMISSING, want);

    /* A directory is classification only. */
    write_mnist_dir(dir, 0);
    o.task = CAVIAR_TASK_REGRESSION;
    snprintf(want, sizeof want,
             "dataset '%s' is a classification set; it cannot be used for regression", dir);
    expect_fail(dir, &o, CAVIAR_EINVAL, want);
    remove_dir(dir);
}

/* ---- sources and options that are wrong ---- */

static void test_bad_sources(void **state)
{
    (void)state;
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    expect_fail("fashon-mnist", &o, CAVIAR_EMISSING,
                "cannot load dataset 'fashon-mnist': no such file or directory, and no built-in "
                "set has that name\nhint: did you mean 'fashion-mnist'?");
    expect_fail("spiral", &o, CAVIAR_EMISSING,
                "cannot load dataset 'spiral': no such file or directory, and no built-in set "
                "has that name\nhint: did you mean 'spirals'?");
    expect_fail("imagenet", &o, CAVIAR_EMISSING,
                "cannot load dataset 'imagenet': no such file or directory, and no built-in set "
                "has that name\nhint: the built-in sets are fashion-mnist, linear and spirals; a "
                "CSV file or a directory of MNIST-layout IDX files also works");
    expect_fail("", &o, CAVIAR_EINVAL, "no dataset given");
    expect_fail(NULL, &o, CAVIAR_EINVAL, "no dataset given");
    o.task = CAVIAR_TASK_CLASSIFICATION;
    expect_fail("linear", &o, CAVIAR_EINVAL,
                "dataset 'linear' is a regression set; it cannot be used for classification");
    o.task = CAVIAR_TASK_REGRESSION;
    expect_fail("spirals", &o, CAVIAR_EINVAL,
                "dataset 'spirals' is a classification set; it cannot be used for regression");
    expect_fail("fashion-mnist", &o, CAVIAR_EINVAL,
                "dataset 'fashion-mnist' is a classification set; it cannot be used for "
                "regression");
    o.task = (caviar_task)7;
    expect_fail("linear", &o, CAVIAR_EINVAL, "task 7 is not a caviar_task");
    caviar_data_opts_init(&o);
    o.n_classes = 1;
    expect_fail("spirals", &o, CAVIAR_EINVAL,
                "cannot make dataset 'spirals' with 1 classes: it needs 2 to 100");
    o.n_classes = 101;
    expect_fail("spirals", &o, CAVIAR_EINVAL,
                "cannot make dataset 'spirals' with 101 classes: it needs 2 to 100");
    caviar_data_opts_init(&o);
    o.dev_fraction = -0.1;
    expect_fail("linear", &o, CAVIAR_EINVAL,
                "dev fraction -0.1 is out of range: it must be in [0, 1)");

    /* A single IDX file, or a gzip file, given where a CSV file or a directory belongs. */
    caviar_data_opts_init(&o);
    char *dir = make_temp_dir();
    char path[1024], want[2048];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_mnist_dir(dir, 2);
    snprintf(want, sizeof want,
             "cannot load dataset '%s': the file looks like an IDX file, not CSV\nhint: for "
             "MNIST-layout IDX files, give the directory that holds them",
             path);
    expect_fail(path, &o, CAVIAR_EFORMAT, want);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(want, sizeof want,
             "cannot load dataset '%s': the file is gzip-compressed, and a CSV file must be "
             "plain text\nhint: for MNIST-layout IDX files, give the directory that holds them",
             path);
    expect_fail(path, &o, CAVIAR_EFORMAT, want);
    remove_dir(dir);
}

/* ---- Fashion-MNIST ---- */

static void test_fashion_missing(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.datasets_dir = dir;
    char want[2048];
    snprintf(want, sizeof want,
             "cannot load dataset 'fashion-mnist': cannot open "
             "'%s/fashion-mnist/train-images-idx3-ubyte.gz' (nor "
             "'%s/fashion-mnist/train-images-idx3-ubyte'): No such file or directory\nhint: "
             "install Debian's package dataset-fashion-mnist (apt-get install "
             "dataset-fashion-mnist)",
             dir, dir);
    expect_fail("fashion-mnist", &o, CAVIAR_EMISSING, want);

    /* The same files in DATASETS_DIR/fashion-mnist are found there. */
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/fashion-mnist", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_mnist_dir(sub, 15);
    o.dev_fraction = 0.0;
    caviar_data *d = load("fashion-mnist", &o);
    assert_int_equal(d->train.n, 6);
    caviar_data_free(d);
    char *sub_copy = strdup(sub);
    assert_non_null(sub_copy);
    remove_dir(sub_copy); /* the files and the subdirectory */
    remove_dir(dir);
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    struct stat sb;
    if (stat(FASHION_DIR, &sb) != 0) {
        print_message("skipped: %s is absent (apt-get install dataset-fashion-mnist)\n",
                      FASHION_DIR);
        skip();
    }
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    caviar_data *d = load("fashion-mnist", &o);
    if (!UNDER_ASAN) {
        /* One copy of the training floats (188 MB) and the test floats (31 MB), nothing else
         * of that size: well under the 400 MB the whole training run may use. */
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        assert_true(ru.ru_maxrss < 260 * 1024);
    }
    assert_int_equal(d->task, CAVIAR_TASK_CLASSIFICATION);
    assert_int_equal(d->n_features, 784);
    assert_int_equal(d->n_classes, 10);
    assert_int_equal(d->train.n, 55000);
    assert_int_equal(d->dev.n, 5000);
    assert_int_equal(d->test.n, 10000);
    assert_int_equal(d->standardized, 1);
    double m, s;
    column_stats(d->train.x, d->train.n, 784, 400, &m, &s); /* a central pixel */
    assert_float_equal(m, 0.0, 1e-4);
    assert_float_equal(s, 1.0, 1e-4);
    size_t per_class[10] = {0};
    for (size_t i = 0; i < d->test.n; i++) {
        assert_true(d->test.label[i] >= 0 && d->test.label[i] < 10);
        per_class[d->test.label[i]]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(per_class[k], 1000);
    caviar_data_free(d);

    o.standardize = 0;
    o.dev_fraction = 0.0;
    d = load("fashion-mnist", &o);
    assert_int_equal(d->train.n, 60000);
    assert_int_equal(d->dev.n, 0);
    float lo = 1, hi = 0;
    for (size_t i = 0; i < d->train.n * 784; i++) {
        lo = d->train.x[i] < lo ? d->train.x[i] : lo;
        hi = d->train.x[i] > hi ? d->train.x[i] : hi;
    }
    assert_true(lo == 0.0f && hi == 1.0f);
    caviar_data_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_spirals),
        cmocka_unit_test(test_split_reproducible),
        cmocka_unit_test(test_dev_fraction_sizes),
        cmocka_unit_test(test_standardize_train_only),
        cmocka_unit_test(test_idx_dir),
        cmocka_unit_test(test_idx_dir_errors),
        cmocka_unit_test(test_bad_sources),
        cmocka_unit_test(test_fashion_missing),
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
