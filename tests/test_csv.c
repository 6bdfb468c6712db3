/*
 * test_csv.c — the CSV loader: syntax (quotes, CRLF, byte-order mark, blank last lines), label
 * handling (string, integer and numeric labels, the task guess and its override), the test
 * split and the separate test file; and a catalogue of bad inputs, each with the exact message
 * it must produce (file:line:column first).
 *
 * Most inputs go through caviar_csv_parse() under the name "t.csv"; the ones about files
 * (a second test file, a missing file) go through caviar_data_load() on temporary files.
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
#include <unistd.h>

#include "caviar/data.h"

/* Options that keep the rows in file order and the values as written. */
static caviar_data_opts plain_opts(void)
{
    caviar_data_opts o;
    caviar_data_opts_init(&o);
    o.dev_fraction = 0.0;
    o.test_fraction = 0.0;
    o.standardize = 0;
    return o;
}

static caviar_data *parse(const char *text, const caviar_data_opts *opts, caviar_error *err)
{
    return caviar_csv_parse(text, strlen(text), "t.csv", opts, err);
}

static void expect_fail_opts(const char *text, const caviar_data_opts *opts,
                             caviar_status status, const char *msg)
{
    caviar_error err = {0};
    caviar_data *d = parse(text, opts, &err);
    if (d)
        fail_msg("expected failure for input:\n%s", text);
    assert_int_equal(err.status, status);
    assert_string_equal(err.msg, msg);
}

static void expect_fail(const char *text, const char *msg)
{
    caviar_data_opts o = plain_opts();
    expect_fail_opts(text, &o, CAVIAR_EFORMAT, msg);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/caviar-test-csv-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* ---- the catalogue of bad inputs ---- */

static void test_bad_cells(void **state)
{
    (void)state;
    expect_fail("a,b,y\n1,2,0\n3,x,1\n", "t.csv:3:3: cell 'x' in column 'b' is not a number");
    expect_fail("a,b,y\n\"1,5\",2,0\n", "t.csv:2:1: cell '1,5' in column 'a' is not a number");
    expect_fail("a,b,y\n0x10,2,0\n", "t.csv:2:1: cell '0x10' in column 'a' is not a number");
    expect_fail("a,b,y\n1,nan,0\n", "t.csv:2:3: cell 'nan' in column 'b' is not a finite number");
    expect_fail("a,b,y\n1,-Infinity,0\n",
                "t.csv:2:3: cell '-Infinity' in column 'b' is not a finite number");
    expect_fail("a,b,y\n1,2,0\n  inf ,2,1\n",
                "t.csv:3:3: cell 'inf' in column 'a' is not a finite number");
    expect_fail("a,b,y\n1,1e39,0\n",
                "t.csv:2:3: cell '1e39' in column 'b' is out of the range of a float");
    expect_fail("a,b,y\n1,,0\n", "t.csv:2:3: empty cell in column 'b'");
    expect_fail("a,y\n1,\n", "t.csv:2:3: empty label in column 'y'");
    expect_fail("a,y\n1,NaN\n", "t.csv:2:3: label 'NaN' in column 'y' is not a finite number");
    expect_fail("a,y\n1,1e999\n",
                "t.csv:2:3: label '1e999' in column 'y' is out of the range of a float");
    /* A long cell is shortened in the message. */
    expect_fail("a,y\nabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz,0\n",
                "t.csv:2:1: cell 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn...' in column 'a' "
                "is not a number");
    caviar_data_opts o = plain_opts();
    o.task = CAVIAR_TASK_REGRESSION;
    expect_fail_opts("a,y\n1,2.5\n2,cat\n", &o, CAVIAR_EFORMAT,
                     "t.csv:3:3: label 'cat' in column 'y' is not a number, but the task is "
                     "regression");
}

static void test_bad_rows(void **state)
{
    (void)state;
    expect_fail("a,b,y\n1,2,0\n3,4\n", "t.csv:3:4: row has 2 fields but the header has 3");
    expect_fail("a,b,y\n1,2,0,9\n", "t.csv:2:7: row has 4 fields but the header has 3");
    expect_fail("a,b,y\r\n1,2,0\r\n7\r\n", "t.csv:3:2: row has 1 field but the header has 3");
    expect_fail("a,b,y\n1,2,0\n3,4", "t.csv:3:4: row has 2 fields but the header has 3");
    expect_fail("a,y\n1,0\n\n2,1\n",
                "t.csv:3:1: empty line (only the last lines of a file may be empty)");
    expect_fail("a,y\n1\"2,0\n",
                "t.csv:2:2: unexpected '\"' inside an unquoted field (quote the whole field and "
                "double the quotes inside it)");
    expect_fail("a,y\n\"1\"x,0\n",
                "t.csv:2:4: unexpected 'x' after the closing quote of a field");
    expect_fail("a,y\n\"1\" \x01,0\n",
                "t.csv:2:5: unexpected byte 0x01 after the closing quote of a field");
    expect_fail("a,y\n1,0\n\"2,1\n3,1\n",
                "t.csv:3:1: quoted field is never closed: the file ends inside it");
    caviar_data_opts o = plain_opts();
    o.test_fraction = 0.5;
    expect_fail_opts("a,y\n1,0.5\n", &o, CAVIAR_EINVAL,
                     "'t.csv' has 1 data row: a test fraction of 0.5 leaves none to train on");
    caviar_error err = {0};
    assert_null(caviar_csv_parse("a,y\n1\0,0\n", 9, "t.csv", NULL, &err));
    assert_string_equal(err.msg, "t.csv:2:2: NUL byte: this is not a text file");
    /* A line break inside quotes counts: the error is on line 4. */
    expect_fail("a,y\n1,\"two\nlines\"\n1,2,3\n",
                "t.csv:4:5: row has 3 fields but the header has 2");
}

static void test_bad_header(void **state)
{
    (void)state;
    expect_fail("", "t.csv:1:1: empty file: the first line must name the columns");
    expect_fail("\n \n\r\n", "t.csv:1:1: empty file: the first line must name the columns");
    expect_fail("a,b,y\n", "t.csv:2:1: no data rows after the header");
    expect_fail("a,b,y", "t.csv:2:1: no data rows after the header");
    expect_fail("a,b,y\r\n\r\n\r\n", "t.csv:2:1: no data rows after the header");
    expect_fail("1,2,3\n4,5,6\n",
                "t.csv:1:1: missing header: the first line holds only numbers, not column "
                "names\nhint: add a first line naming the columns (put a name that is a number "
                "in quotes)");
    expect_fail("\na,b,y\n1,2,0\n",
                "t.csv:1:1: missing header: line 1 is empty; the first line must name the "
                "columns");
    expect_fail("y\n1\n2\n",
                "t.csv:1:1: the header names one column ('y'); a data file needs at least one "
                "feature column and the label column");
    expect_fail("a,y\n1,cat\n2,cat\n",
                "t.csv:1:3: label column 'y' holds a single value ('cat'); a classification "
                "needs at least two classes");

    caviar_data_opts o = plain_opts();
    o.label = "spieces";
    expect_fail_opts("sepal,petal,species\n1,2,setosa\n", &o, CAVIAR_EFORMAT,
                     "t.csv:1:1: label column 'spieces' not found; the columns are 'sepal', "
                     "'petal', 'species'\nhint: did you mean 'species'?");
    o.label = "target";
    expect_fail_opts("sepal,petal,species\n1,2,setosa\n", &o, CAVIAR_EFORMAT,
                     "t.csv:1:1: label column 'target' not found; the columns are 'sepal', "
                     "'petal', 'species'");
    o.label = "y";
    expect_fail_opts("y,a,y\n1,2,3\n", &o, CAVIAR_EFORMAT,
                     "t.csv:1:5: label column 'y' is ambiguous: columns 1 and 3 both have that "
                     "name");
}

static void test_bad_options(void **state)
{
    (void)state;
    caviar_data_opts o = plain_opts();
    o.dev_fraction = 1.0;
    expect_fail_opts("a,y\n1,0\n2,1\n", &o, CAVIAR_EINVAL,
                     "dev fraction 1 is out of range: it must be in [0, 1)");
    o = plain_opts();
    o.test_fraction = NAN;
    expect_fail_opts("a,y\n1,0\n2,1\n", &o, CAVIAR_EINVAL,
                     "test fraction nan is out of range: it must be in [0, 1)");
    o = plain_opts();
    o.dev_fraction = 0.9;
    expect_fail_opts("a,y\n1,0\n2,1\n", &o, CAVIAR_EINVAL,
                     "dataset 't.csv' has 2 training samples: a dev fraction of 0.9 leaves none "
                     "to train on");
    /* A test value so far from the training values that standardising it overflows a float. */
    o = plain_opts();
    o.standardize = 1;
    o.test_path = NULL;
    char *train = write_temp("a,y\n0,0\n1e-38,1\n0,0\n");
    char *test = write_temp("a,y\n3e38,1\n");
    o.test_path = test;
    caviar_error err = {0};
    assert_null(caviar_data_load(train, &o, &err));
    char want[512];
    snprintf(want, sizeof want,
             "cannot standardise dataset '%s': feature 1 of test sample 1 lies 6.36396e+76 "
             "standard deviations from the training mean, beyond the range of a float",
             train);
    assert_string_equal(err.msg, want);
    unlink(train);
    unlink(test);
    free(train);
    free(test);
}

/* Many distinct string labels: more than 65,536 classes is refused. */
static void test_too_many_classes(void **state)
{
    (void)state;
    size_t n = 65537, cap = n * 16 + 16, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "a,y\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "1,c%zu\n", i);
    caviar_data_opts o = plain_opts();
    caviar_error err = {0};
    assert_null(caviar_csv_parse(text, len, "t.csv", &o, &err));
    assert_string_equal(err.msg,
                        "t.csv:1:3: label column 'y' holds 65537 distinct values, more than the "
                        "65536 classes a classification may have\nhint: for a numeric target, "
                        "ask for the regression task");
    free(text);
}

static void test_test_file_header(void **state)
{
    (void)state;
    char *train = write_temp("a,b,y\n1,2,0\n3,4,1\n");
    char *test1 = write_temp("a,c,y\n1,2,0\n");
    char *test2 = write_temp("a,b\n1,2\n");
    char *test3 = write_temp("a,b,y\n");
    caviar_data_opts o = plain_opts();
    caviar_error err = {0};
    char want[1024];

    o.test_path = test1;
    assert_null(caviar_data_load(train, &o, &err));
    snprintf(want, sizeof want,
             "%s:1:3: header does not match the training file '%s': column 2 is 'c' here but "
             "'b' there",
             test1, train);
    assert_string_equal(err.msg, want);

    o.test_path = test2;
    assert_null(caviar_data_load(train, &o, &err));
    snprintf(want, sizeof want,
             "%s:1:3: header does not match the training file '%s': it has 2 columns, the "
             "training file has 3",
             test2, train);
    assert_string_equal(err.msg, want);

    o.test_path = test3;
    assert_null(caviar_data_load(train, &o, &err));
    snprintf(want, sizeof want, "%s:2:1: no data rows after the header", test3);
    assert_string_equal(err.msg, want);

    o.test_path = "/nonexistent/test.csv";
    assert_null(caviar_data_load(train, &o, &err));
    assert_int_equal(err.status, CAVIAR_EMISSING);
    assert_string_equal(err.msg, "cannot open '/nonexistent/test.csv': No such file or directory");

    assert_null(caviar_data_load("/nonexistent/train.csv", &o, &err));
    assert_int_equal(err.status, CAVIAR_EMISSING);
    assert_string_equal(err.msg,
                        "cannot open dataset '/nonexistent/train.csv': No such file or directory");
    for (char **p = (char *[]){train, test1, test2, test3, NULL}; *p; p++) {
        unlink(*p);
        free(*p);
    }
}

/* ---- good inputs ---- */

static void test_string_labels(void **state)
{
    (void)state;
    caviar_data_opts o = plain_opts();
    caviar_error err = {0};
    caviar_data *d = parse("len,width,species\n"
                           "1.5,2,virginica\n"
                           "2.5,3,setosa\n"
                           "3.5,4,\"versicolor\"\n"
                           "4.5,5,setosa\n",
                           &o, &err);
    assert_non_null(d);
    assert_int_equal(d->task, CAVIAR_TASK_CLASSIFICATION);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->n_classes, 3);
    assert_int_equal(d->n_targets, 0);
    assert_int_equal(d->train.n, 4);
    assert_int_equal(d->dev.n, 0);
    assert_int_equal(d->test.n, 0);
    assert_null(d->dev.x);
    assert_null(d->train.target);
    /* sorted: setosa 0, versicolor 1, virginica 2 */
    const int32_t want[4] = {2, 0, 1, 0};
    assert_memory_equal(d->train.label, want, sizeof want);
    const float x[8] = {1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5};
    assert_memory_equal(d->train.x, x, sizeof x);
    assert_string_equal(d->name, "t.csv");
    caviar_data_free(d);
    caviar_data_free(NULL);
}

static void test_numeric_labels(void **state)
{
    (void)state;
    caviar_data_opts o = plain_opts();
    caviar_error err = {0};
    /* Integers in range are their own class numbers. */
    caviar_data *d = parse("a,y\n1,1\n2,3\n3,1\n", &o, &err);
    assert_non_null(d);
    assert_int_equal(d->task, CAVIAR_TASK_CLASSIFICATION);
    assert_int_equal(d->n_classes, 4);
    assert_memory_equal(d->train.label, ((int32_t[]){1, 3, 1}), 3 * sizeof(int32_t));
    caviar_data_free(d);
    /* Negative integers: numbered in numeric order. */
    d = parse("a,y\n1,1\n2,-1\n3,-10\n", &o, &err);
    assert_non_null(d);
    assert_int_equal(d->n_classes, 3);
    assert_memory_equal(d->train.label, ((int32_t[]){2, 1, 0}), 3 * sizeof(int32_t));
    caviar_data_free(d);
    /* Numbers with a fraction: regression. */
    d = parse("a,y\n1,0.5\n2,1\n3,-2.25\n", &o, &err);
    assert_non_null(d);
    assert_int_equal(d->task, CAVIAR_TASK_REGRESSION);
    assert_int_equal(d->n_classes, 0);
    assert_int_equal(d->n_targets, 1);
    assert_null(d->train.label);
    assert_memory_equal(d->train.target, ((float[]){0.5f, 1, -2.25f}), 3 * sizeof(float));
    caviar_data_free(d);
    /* The task can be forced either way. */
    o.task = CAVIAR_TASK_CLASSIFICATION;
    d = parse("a,y\n1,0.5\n2,10.5\n3,0.5\n", &o, &err);
    assert_non_null(d);
    assert_int_equal(d->n_classes, 2);
    assert_memory_equal(d->train.label, ((int32_t[]){0, 1, 0}), 3 * sizeof(int32_t));
    caviar_data_free(d);
    o.task = CAVIAR_TASK_REGRESSION;
    d = parse("a,y\n1,1\n2,3\n", &o, &err);
    assert_non_null(d);
    assert_int_equal(d->task, CAVIAR_TASK_REGRESSION);
    assert_memory_equal(d->train.target, ((float[]){1, 3}), 2 * sizeof(float));
    caviar_data_free(d);
    /* Mixed text and numbers: all are text, sorted by bytes ("10" < "9" < "cat"). */
    o.task = CAVIAR_TASK_AUTO;
    d = parse("a,y\n1,9\n2,cat\n3,10\n", &o, &err);
    assert_non_null(d);
    assert_memory_equal(d->train.label, ((int32_t[]){1, 2, 0}), 3 * sizeof(int32_t));
    caviar_data_free(d);
}

static void test_syntax(void **state)
{
    (void)state;
    caviar_data_opts o = plain_opts();
    caviar_error err = {0};
    /* Quoted names with commas and doubled quotes, the label in the middle, named. */
    o.label = "the \"label\"";
    caviar_data *d = parse("\"a,1\",\"the \"\"label\"\"\", b \n 1 , x ,\t2\n3,\"y\",4", &o, &err);
    if (!d)
        fail_msg("%s", err.msg);
    assert_int_equal(d->n_features, 2);
    assert_int_equal(d->train.n, 2);
    assert_memory_equal(d->train.x, ((float[]){1, 2, 3, 4}), 4 * sizeof(float));
    assert_memory_equal(d->train.label, ((int32_t[]){0, 1}), 2 * sizeof(int32_t));
    caviar_data_free(d);
    o.label = NULL;
    /* CRLF, CR alone, a byte-order mark, blank last lines, tiny and quoted numbers. */
    static const char *const texts[] = {
        "a,y\r\n1,0\r\n2,1\r\n",
        "a,y\r1,0\r2,1\r",
        ("\xef\xbb\xbf" "a,y\n1,0\n2,1"), /* the mark, then the text */
        "a,y\n1,0\n2,1\n\n\n  \n",
        "a,y\n\"1\",0\n2e0,\"1\"\n",
        "a,y\n+1.0,0\n.2e1,1\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        d = parse(texts[i], &o, &err);
        if (!d)
            fail_msg("input %zu: %s", i, err.msg);
        assert_int_equal(d->train.n, 2);
        assert_memory_equal(d->train.x, ((float[]){1, 2}), 2 * sizeof(float));
        assert_memory_equal(d->train.label, ((int32_t[]){0, 1}), 2 * sizeof(int32_t));
        caviar_data_free(d);
    }
    d = parse("a,y\n1e-400,0\n-1e-400,1\n", &o, &err);
    assert_non_null(d);
    assert_true(d->train.x[0] == 0.0f && d->train.x[1] == 0.0f);
    caviar_data_free(d);
    /* A quoted label may hold a line break; the class names keep it. */
    d = parse("a,y\n1,\"two\r\nlines\"\n2,one\n", &o, &err);
    assert_non_null(d);
    assert_memory_equal(d->train.label, ((int32_t[]){1, 0}), 2 * sizeof(int32_t));
    caviar_data_free(d);
}

/* The test share: round(fraction * rows), chosen by the seed. */
static void test_test_split(void **state)
{
    (void)state;
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "a,y\n");
    for (int i = 0; i < 50; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d\n", i, i % 2);
    caviar_data_opts o = plain_opts();
    o.test_fraction = 0.3;
    o.seed = 7;
    caviar_error err = {0};
    caviar_data *d1 = parse(text, &o, &err), *d2 = parse(text, &o, &err);
    o.seed = 8;
    caviar_data *d3 = parse(text, &o, &err);
    assert_non_null(d1);
    assert_non_null(d2);
    assert_non_null(d3);
    assert_int_equal(d1->test.n, 15);
    assert_int_equal(d1->train.n, 35);
    assert_memory_equal(d1->test.x, d2->test.x, 15 * sizeof(float));
    assert_memory_equal(d1->train.x, d2->train.x, 35 * sizeof(float));
    assert_true(memcmp(d1->test.x, d3->test.x, 15 * sizeof(float)) != 0);
    /* Every row is in exactly one part, with its own label. */
    int seen[50] = {0};
    for (size_t i = 0; i < 35; i++) {
        int v = (int)d1->train.x[i];
        seen[v]++;
        assert_int_equal(d1->train.label[i], v % 2);
    }
    for (size_t i = 0; i < 15; i++) {
        int v = (int)d1->test.x[i];
        seen[v]++;
        assert_int_equal(d1->test.label[i], v % 2);
    }
    for (int i = 0; i < 50; i++)
        assert_int_equal(seen[i], 1);
    caviar_data_free(d1);
    caviar_data_free(d2);
    caviar_data_free(d3);
}

/* A separate test file: its rows are the test set, and classes are numbered over both files. */
static void test_test_file(void **state)
{
    (void)state;
    char *train = write_temp("a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n");
    char *test = write_temp("a,b,y\r\n7,8,emu\r\n9,10,dog\r\n");
    caviar_data_opts o = plain_opts();
    o.test_path = test;
    o.test_fraction = 0.5; /* ignored when there is a test file */
    caviar_error err = {0};
    caviar_data *d = caviar_data_load(train, &o, &err);
    if (!d)
        fail_msg("%s", err.msg);
    assert_int_equal(d->n_classes, 3);
    assert_int_equal(d->train.n, 3);
    assert_int_equal(d->test.n, 2);
    assert_memory_equal(d->train.label, ((int32_t[]){0, 1, 0}), 3 * sizeof(int32_t));
    assert_memory_equal(d->test.label, ((int32_t[]){2, 1}), 2 * sizeof(int32_t));
    assert_memory_equal(d->test.x, ((float[]){7, 8, 9, 10}), 4 * sizeof(float));
    caviar_data_free(d);
    unlink(train);
    unlink(test);
    free(train);
    free(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_cells),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_too_many_classes),
        cmocka_unit_test(test_test_file_header),
        cmocka_unit_test(test_string_labels),
        cmocka_unit_test(test_numeric_labels),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_test_split),
        cmocka_unit_test(test_test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
