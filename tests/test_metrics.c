/*
 * test_metrics.c — metric_line_parse (src/objective/metrics.c) on a catalogue of lines:
 *   - metric lines in both forms (JSON, name=value), nested objects, steps, nan and inf, with
 *     every metric and the step they must give;
 *   - ordinary program output (progress bars, warnings, "Epoch 1/10") that must come back 0;
 *   - malformed claims, each with the exact message it must produce;
 *   - limits (names, number of metrics, nesting) at and past their edge, and lines that are
 *     only a prefix of their buffer (nothing at or past len may be read).
 * Every line is copied into a heap buffer of exactly its length, without a NUL, so that the
 * sanitizers see any read past the end.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "objective/objective.h"

/* Parses line[0, len) from an exact-size copy. */
static int parse_n(const char *line, size_t len, metric_line *out, caviar_error *err)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, line, len);
    memset(err, 0, sizeof *err);
    int r = metric_line_parse(copy, len, out, err);
    free(copy);
    return r;
}

static int parse(const char *line, metric_line *out, caviar_error *err)
{
    return parse_n(line, strlen(line), out, err);
}

/* ---- metric lines ---------------------------------------------------------------------------- */

#define NO_STEP INT64_MIN

typedef struct expect_kv {
    const char *name;
    double value;
} expect_kv;

typedef struct good_case {
    const char *line;
    int64_t step; /* NO_STEP: none */
    size_t n;
    expect_kv kv[6];
} good_case;

static const good_case good[] = {
    {"{\"step\": 3, \"val_loss\": 0.41}", 3, 1, {{"val_loss", 0.41}}},
    {"{\"val_loss\": 0.5}", NO_STEP, 1, {{"val_loss", 0.5}}},
    {"  {\"a\": {\"b\": 1, \"c\": {\"d\": -2.5e-3}}, \"e\": 2}  ", NO_STEP, 3,
     {{"a.b", 1}, {"a.c.d", -0.0025}, {"e", 2}}},
    {"{\"_step\": 7, \"loss\": 1}", 7, 1, {{"loss", 1}}},
    {"{\"epoch\": 2, \"loss\": 1}", 2, 2, {{"epoch", 2}, {"loss", 1}}},
    {"{\"epoch\": 2.5, \"loss\": 1}", NO_STEP, 2, {{"epoch", 2.5}, {"loss", 1}}},
    {"{\"epoch\": 2, \"step\": 400, \"loss\": 1}", 400, 2, {{"epoch", 2}, {"loss", 1}}},
    {"{\"step\": 400, \"_step\": 9, \"epoch\": 2}", 400, 1, {{"epoch", 2}}},
    {"{\"step\": 3.0, \"x\": 1}", 3, 1, {{"x", 1}}},
    {"{\"step\": 3e2, \"x\": 1}", 300, 1, {{"x", 1}}},
    {"{\"step\": -4, \"x\": 1}", -4, 1, {{"x", 1}}},
    {"{\"step\": 9007199254740993, \"x\": 0}", 9007199254740993LL, 1, {{"x", 0}}},
    {"{\"step\": \"3\", \"x\": 1}", NO_STEP, 1, {{"x", 1}}},
    {"{\"loss\": NaN, \"acc\": Infinity, \"neg\": -Infinity}", NO_STEP, 3,
     {{"loss", NAN}, {"acc", INFINITY}, {"neg", -INFINITY}}},
    {"{\"note\": \"ok \\\"q\\\" \\u00e9 \\/ \\n\", \"flag\": true, \"off\": false, \"none\": null, "
     "\"list\": [1, {\"x\": 2}, \"s\", [[]], {}], \"loss\": 0.25}",
     NO_STEP, 1, {{"loss", 0.25}}},
    {"{\"loss\": 1, \"loss\": 2}", NO_STEP, 1, {{"loss", 2}}},
    {"{}", NO_STEP, 0, {{NULL, 0}}},
    {"{\"step\": 5}", 5, 0, {{NULL, 0}}},
    {"{\"big\": 1e999, \"tiny\": 1e-999, \"neg\": -1E+999}", NO_STEP, 3,
     {{"big", INFINITY}, {"tiny", 0}, {"neg", -INFINITY}}},
    {"{\"caf\\u00e9\": 1, \"\\ud83d\\ude00\": 2}", NO_STEP, 2,
     {{"caf\xc3\xa9", 1}, {"\xf0\x9f\x98\x80", 2}}},
    {"{\"loss\": 0.4}\r\n", NO_STEP, 1, {{"loss", 0.4}}},
    {"{ \"a\" : { } , \"b\" :\t-0 }", NO_STEP, 1, {{"b", -0.0}}},
    {"{\"train/loss\": 1.5, \"a.b\": {\"c\": 2}}", NO_STEP, 2, {{"train/loss", 1.5}, {"a.b.c", 2}}},
    /* name=value */
    {"step=3 val_loss=0.41", 3, 1, {{"val_loss", 0.41}}},
    {"loss=0.4,acc=0.9\tlr=1e-3", NO_STEP, 3, {{"loss", 0.4}, {"acc", 0.9}, {"lr", 1e-3}}},
    {"loss=0.4, acc=0.9", NO_STEP, 2, {{"loss", 0.4}, {"acc", 0.9}}},
    {"loss=nan acc=-inf x=+Infinity y=.5 z=5. w=NaN", NO_STEP, 6,
     {{"loss", NAN}, {"acc", -INFINITY}, {"x", INFINITY}, {"y", 0.5}, {"z", 5}, {"w", NAN}}},
    {"epoch=4 train/loss=0.1 val.acc=0.9 my-metric=2", 4, 4,
     {{"epoch", 4}, {"train/loss", 0.1}, {"val.acc", 0.9}, {"my-metric", 2}}},
    {"  loss=0.5  \n", NO_STEP, 1, {{"loss", 0.5}}},
    {"_step=2 loss=1", 2, 1, {{"loss", 1}}},
    {"step=+7 loss=1E2", 7, 1, {{"loss", 100}}},
    {"step=4.0 loss=1", 4, 1, {{"loss", 1}}},
    {"loss=1 loss=3", NO_STEP, 1, {{"loss", 3}}},
};

static void same_value(double want, double got, const char *line, const char *name)
{
    if (isnan(want) ? isnan(got) : (want == got && signbit(want) == signbit(got)))
        return;
    fail_msg("'%s': %s is %.17g, expected %.17g", line, name, got, want);
}

static void test_metric_lines(void **state)
{
    (void)state;
    metric_line m;
    caviar_error err;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const good_case *g = &good[i];
        int r = parse(g->line, &m, &err);
        if (r != 1)
            fail_msg("'%s': result %d (%s), expected 1", g->line, r, err.msg);
        assert_int_equal(m.has_step, g->step != NO_STEP);
        if (g->step != NO_STEP)
            assert_int_equal(m.step, g->step);
        if (m.n != g->n)
            fail_msg("'%s': %zu metrics, expected %zu", g->line, m.n, g->n);
        for (size_t k = 0; k < g->n; k++) {
            assert_string_equal(m.kv[k].name, g->kv[k].name);
            same_value(g->kv[k].value, m.kv[k].value, g->line, g->kv[k].name);
        }
    }
}

/* ---- ordinary output ------------------------------------------------------------------------- */

static const char *const ordinary[] = {
    "",
    "   \t ",
    "\n",
    "Epoch 1/10",
    "100%|\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88| 10/10 [00:01<00:00,  9.52it/s, loss=0.31]",
    " 45%|####5     | 450/1000 [00:05<00:06, 88.1it/s]\r",
    "loss: 0.4",
    "/usr/lib/python3/dist-packages/torch/x.py:3: UserWarning: TypedStorage is deprecated",
    "  warnings.warn(msg)",
    "Traceback (most recent call last):",
    "Using n=4 workers",
    "epoch=1 loss=0.5 time=3.2s",
    "--lr=0.001 --batch_size=64",
    "[1, 2, 3]",
    "loss=0x10",
    "loss=",
    "=3",
    "9lives=1",
    "loss=1e",
    "loss=0.4 done",
    "a=b",
    "loss==1",
    "loss=1=2",
    "loss=- 1",
    "loss=nan(1)",
    "lr=1e-3;",
    "}",
    "Namespace(lr=0.001, epochs=10)",
};

static void test_ordinary_output(void **state)
{
    (void)state;
    metric_line m;
    caviar_error err;
    for (size_t i = 0; i < sizeof ordinary / sizeof *ordinary; i++) {
        m.n = 99;
        int r = parse(ordinary[i], &m, &err);
        if (r != 0)
            fail_msg("'%s': result %d (%s), expected 0", ordinary[i], r, err.msg);
        assert_int_equal(m.n, 0);
        assert_int_equal(m.has_step, 0);
    }
}

/* ---- malformed claims ------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *line;
    size_t len; /* 0: strlen */
    const char *msg;
} bad_case;

static const bad_case bad[] = {
    {"{\"loss\": 0.4", 0, "metric line: the object opened at byte 0 is not closed at byte 12"},
    {"{\"loss\": 1e999x}", 0, "metric line: expected ',' or '}', found 'x' at byte 14"},
    {"{'loss': 0.4}", 0, "metric line: expected a name in double quotes, found \"'\" at byte 1"},
    {"{\"loss\": }", 0, "metric line: expected a value, found '}' at byte 9"},
    {"{\"loss\": 0.4} extra", 0, "metric line: unexpected 'e' after the object at byte 14"},
    {"{\"x\": 1}}", 0, "metric line: unexpected '}' after the object at byte 8"},
    {"{\"loss\" 0.4}", 0, "metric line: expected ':' after the name, found '0' at byte 8"},
    {"{\"loss\": 01}", 0, "metric line: expected ',' or '}', found '1' at byte 10"},
    {"{\"loss\": -}", 0, "metric line: bad number: a digit must follow '-' at byte 9"},
    {"{\"loss\": 1.}", 0, "metric line: bad number: a digit must follow '.' at byte 11"},
    {"{\"loss\": 1e+}", 0, "metric line: bad number: a digit must follow the exponent at byte 12"},
    {"{\"loss\": +1}", 0, "metric line: expected a value, found '+' at byte 9"},
    {"{\"loss\": .5}", 0, "metric line: expected a value, found '.' at byte 9"},
    {"{\"loss\": nan}", 0, "metric line: expected a value, found 'n' at byte 9"},
    {"{\"loss\": Inf}", 0, "metric line: expected a value, found 'I' at byte 9"},
    {"{\"loss\": tru}", 0, "metric line: expected a value, found 't' at byte 9"},
    {"{\"loss\": \"abc", 0, "metric line: unterminated string at byte 9"},
    {"{\"a\\qb\": 1}", 0, "metric line: bad escape 'q' in a string at byte 3"},
    {"{\"a\\u12\": 1}", 0, "metric line: \\u needs four hex digits at byte 5"},
    {"{\"\\ud800\": 1}", 0, "metric line: unpaired surrogate in a \\u escape at byte 2"},
    {"{\"\\udc00x\": 1}", 0, "metric line: unpaired surrogate in a \\u escape at byte 2"},
    {"{\"a\\u0000\": 1}", 0, "metric line: \\u0000 in a name at byte 3"},
    {"{\"a\": \"x\x01\"}", 0, "metric line: control character 0x01 in a string at byte 8"},
    {"{\"x\": 1\0}", 9, "metric line: expected ',' or '}', found byte 0x00 at byte 7"},
    {"{\"step\": 2.5, \"loss\": 1}", 0,
     "metric line: 'step' must be an integer, got 2.5 at byte 9"},
    {"{\"_step\": NaN}", 0, "metric line: '_step' must be an integer, got NaN at byte 10"},
    {"{\"step\": 99999999999999999999}", 0, "metric line: 'step' is out of range at byte 9"},
    {"{\"\": 1}", 0, "metric line: empty name at byte 1"},
    {"{\"a\": {\"\": \"x\"}}", 0, "metric line: empty name at byte 7"},
    {"{\"loss\": 0.4,}", 0, "metric line: expected a name in double quotes, found '}' at byte 13"},
    {"{\"loss\": [1, 2}", 0, "metric line: expected ',' or ']', found '}' at byte 14"},
    {"{\"loss\": [1, ", 0, "metric line: expected a value, found the end of the line at byte 13"},
    {"{", 0, "metric line: the object opened at byte 0 is not closed at byte 1"},
    {"  {\"a\": {\"b\": 1}", 0,
     "metric line: the object opened at byte 2 is not closed at byte 16"},
    {"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1}", 0,
     "metric line: metric name 'aaaaaaaaaaaaaaaaaaaa...' is longer than 63 bytes at byte 69"},
    {"{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": {\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\": 1}}", 0,
     "metric line: metric name 'aaaaaaaaaaaaaaaaaaaa...' is longer than 63 bytes at byte 73"},
    {"step=2.5 loss=1", 0, "metric line: 'step' must be an integer, got 2.5 at byte 5"},
    {"step=1e300 loss=1", 0, "metric line: 'step' must be an integer, got 1e300 at byte 5"},
    {"loss=1 step=99999999999999999999", 0, "metric line: 'step' is out of range at byte 12"},
    {"loss=1 step=inf", 0, "metric line: 'step' must be an integer, got inf at byte 12"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", 0,
     "metric line: metric name 'aaaaaaaaaaaaaaaaaaaa...' is longer than 63 bytes at byte 65"},
};

static void test_malformed(void **state)
{
    (void)state;
    metric_line m;
    caviar_error err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const bad_case *b = &bad[i];
        size_t len = b->len ? b->len : strlen(b->line);
        m.n = 99;
        int r = parse_n(b->line, len, &m, &err);
        if (r != -1)
            fail_msg("'%s': result %d, expected -1 (%s)", b->line, r, b->msg);
        assert_int_equal(err.status, CAVIAR_EFORMAT);
        assert_string_equal(err.msg, b->msg);
        assert_int_equal(m.n, 0);
        assert_int_equal(m.has_step, 0);
    }
}

/* ---- limits ---------------------------------------------------------------------------------- */

static void test_limits(void **state)
{
    (void)state;
    metric_line m;
    caviar_error err;
    char line[8192];

    /* METRIC_MAX metrics fit, one more does not (in both forms). */
    size_t at = (size_t)snprintf(line, sizeof line, "{");
    for (int i = 0; i < METRIC_MAX; i++)
        at += (size_t)snprintf(line + at, sizeof line - at, "%s\"m%d\": %d", i ? ", " : "", i, i);
    snprintf(line + at, sizeof line - at, "}");
    assert_int_equal(parse(line, &m, &err), 1);
    assert_int_equal(m.n, METRIC_MAX);
    assert_string_equal(m.kv[METRIC_MAX - 1].name, "m63");
    snprintf(line + at, sizeof line - at, ", \"m64\": 1}");
    assert_int_equal(parse(line, &m, &err), -1);
    char want[128];
    snprintf(want, sizeof want, "metric line: more than 64 metrics at byte %zu", at + 9);
    assert_string_equal(err.msg, want);

    at = 0;
    for (int i = 0; i <= METRIC_MAX; i++)
        at += (size_t)snprintf(line + at, sizeof line - at, "%sm%d=%d", i ? " " : "", i, i);
    assert_int_equal(parse(line, &m, &err), -1);
    assert_string_equal(err.msg, "metric line: more than 64 metrics at byte 432");

    /* A name of 63 bytes fits. */
    char name[METRIC_NAME_LEN];
    memset(name, 'n', METRIC_NAME_LEN - 1);
    name[METRIC_NAME_LEN - 1] = '\0';
    snprintf(line, sizeof line, "%s=1", name);
    assert_int_equal(parse(line, &m, &err), 1);
    assert_string_equal(m.kv[0].name, name);
    snprintf(line, sizeof line, "{\"%.31s\": {\"%.30s\": 2}}", name, name);
    assert_int_equal(parse(line, &m, &err), 1);
    assert_int_equal(strlen(m.kv[0].name), 62);
    /* A long path whose leaves are not numbers is no error. */
    snprintf(line, sizeof line, "{\"%s\": {\"%s\": \"x\"}, \"ok\": 1}", name, name);
    assert_int_equal(parse(line, &m, &err), 1);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.kv[0].name, "ok");

    /* 32 levels of nesting fit, 33 do not; arrays count too. */
    for (int depth = 32; depth <= 33; depth++) {
        at = 0;
        for (int i = 0; i < depth; i++)
            at += (size_t)snprintf(line + at, sizeof line - at, "{\"a\": ");
        at += (size_t)snprintf(line + at, sizeof line - at, "1");
        for (int i = 0; i < depth; i++)
            at += (size_t)snprintf(line + at, sizeof line - at, "}");
        int r = parse(line, &m, &err);
        if (depth == 32) {
            assert_int_equal(r, 1);
            assert_int_equal(strlen(m.kv[0].name), 2 * 31 + 1);
        } else {
            assert_int_equal(r, -1);
            assert_string_equal(err.msg, "metric line: nested deeper than 32 levels at byte 192");
        }
    }
    at = (size_t)snprintf(line, sizeof line, "{\"a\": ");
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(line + at, sizeof line - at, "[");
    assert_int_equal(parse(line, &m, &err), -1);
    assert_string_equal(err.msg, "metric line: nested deeper than 32 levels at byte 38");

    /* A number of 255 characters is read, one of 256 is refused. */
    at = (size_t)snprintf(line, sizeof line, "{\"x\": 0.");
    memset(line + at, '5', 253);
    snprintf(line + at + 253, sizeof line - at - 253, "}");
    assert_int_equal(parse(line, &m, &err), 1);
    snprintf(line + at + 253, sizeof line - at - 253, "5}");
    assert_int_equal(parse(line, &m, &err), -1);
    assert_string_equal(err.msg, "metric line: number longer than 255 characters at byte 6");
}

/* Only line[0, len) is read: the rest of the buffer may be anything. */
static void test_prefix(void **state)
{
    (void)state;
    metric_line m;
    caviar_error err;
    const char *buf = "{\"a\": 1}garbage";
    assert_int_equal(parse_n(buf, 8, &m, &err), 1);
    assert_int_equal(m.n, 1);
    assert_int_equal(parse_n(buf, 7, &m, &err), -1);
    assert_string_equal(err.msg,
                        "metric line: the object opened at byte 0 is not closed at byte 7");
    assert_int_equal(parse_n("loss=0.25x", 9, &m, &err), 1);
    assert_true(m.kv[0].value == 0.25);
    assert_int_equal(parse_n("{\"a\": tr", 8, &m, &err), -1);
    assert_string_equal(err.msg, "metric line: expected a value, found 't' at byte 6");
    assert_int_equal(parse_n("{\"a\": 1.5e", 10, &m, &err), -1);
    assert_int_equal(parse_n("{\"a\": \"\\u00", 11, &m, &err), -1);
    assert_string_equal(err.msg, "metric line: \\u needs four hex digits at byte 9");
    assert_int_equal(parse_n("{\"a\": \"\\", 8, &m, &err), -1);
    assert_string_equal(err.msg, "metric line: unterminated string at byte 6");
    assert_int_equal(parse_n("{\"a\": -Inf", 10, &m, &err), -1);
    assert_int_equal(parse_n("x", 0, &m, &err), 0);
    /* err may be NULL. */
    assert_int_equal(metric_line_parse("{", 1, &m, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_lines), cmocka_unit_test(test_ordinary_output),
        cmocka_unit_test(test_malformed),    cmocka_unit_test(test_limits),
        cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
