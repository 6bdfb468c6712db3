/*
 * test_util.c — the generator's known answers and statistics, strict parsing, JSON escaping.
 *
 * Known answers: splitmix64 from 0 first gives 0xe220a8397b1dcdaf (the published first output);
 * the xoshiro256** outputs below come from an independent implementation of the published
 * algorithm (a short Python transcription run once, seeded the same way).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"

static void test_rng_known_answers(void **state)
{
    (void)state;
    util_rng r;
    util_rng_seed(&r, 0);
    assert_true(r.s[0] == 0xe220a8397b1dcdafULL);
    uint64_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = util_rng_u64(&r);
    assert_true(v[0] == 0x99ec5f36cb75f2b4ULL);
    assert_true(v[1] == 0xbf6e1f784956452aULL);
    assert_true(v[999] == 0x7aac8c483a2edd2fULL);
    util_rng_seed(&r, 12345);
    assert_true(util_rng_u64(&r) == 0xbe6a36374160d49bULL);
    assert_true(util_rng_u64(&r) == 0x214aaa0637a688c6ULL);
    assert_true(util_rng_u64(&r) == 0xf69d16de9954d388ULL);
}

/* Statistical checks with a fixed seed. Bounds are about 5 standard errors, so a correct
 * generator fails them with probability below 1e-6 for a random seed, and never for this one. */
static void test_rng_statistics(void **state)
{
    (void)state;
    util_rng r;
    util_rng_seed(&r, 2024);
    const int n = 200000;
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    int counts[7] = {0};
    for (int i = 0; i < n; i++) {
        double u = util_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u, sum2 += u * u;
        double z = util_rng_normal(&r);
        nsum += z, nsum2 += z * z;
        counts[util_rng_below(&r, 7)]++;
    }
    /* uniform: mean 1/2 (sd of the mean 0.289 / sqrt(n)), variance 1/12 */
    assert_true(fabs(sum / n - 0.5) < 5 * 0.2887 / sqrt(n));
    assert_true(fabs(sum2 / n - sum * sum / ((double)n * n) - 1.0 / 12) < 0.002);
    /* normal: mean 0 (sd 1 / sqrt(n)), variance 1 (sd sqrt(2 / n)) */
    assert_true(fabs(nsum / n) < 5 / sqrt(n));
    assert_true(fabs(nsum2 / n - 1.0) < 5 * sqrt(2.0 / n));
    /* below(7): chi-square with 6 degrees of freedom; P(chi2 > 35) < 5e-6 */
    double chi2 = 0, e = n / 7.0;
    for (int k = 0; k < 7; k++)
        chi2 += (counts[k] - e) * (counts[k] - e) / e;
    assert_true(chi2 < 35.0);
}

static void test_rng_derive_and_shuffle(void **state)
{
    (void)state;
    util_rng a, b, c;
    util_rng_derive(&a, 1, 2);
    util_rng_derive(&b, 2, 1);
    util_rng_derive(&c, 1, 2);
    uint64_t x = util_rng_u64(&a);
    assert_true(x != util_rng_u64(&b));
    assert_true(x == util_rng_u64(&c));

    uint32_t idx[100];
    int seen[100] = {0};
    for (uint32_t i = 0; i < 100; i++)
        idx[i] = i;
    util_rng_shuffle(&a, idx, 100);
    int moved = 0;
    for (uint32_t i = 0; i < 100; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 80);
}

static void test_parse(void **state)
{
    (void)state;
    double d = 0;
    size_t z = 0;
    uint64_t u = 0;
    assert_int_equal(util_parse_double("1e-3", &d), 0);
    assert_true(d == 1e-3);
    assert_int_equal(util_parse_double("-2.5", &d), 0);
    assert_true(d == -2.5);
    assert_int_equal(util_parse_double("", &d), -1);
    assert_int_equal(util_parse_double("1.5x", &d), -1);
    assert_int_equal(util_parse_double("1e999", &d), -1);
    assert_true(d == -2.5); /* untouched on failure */
    assert_int_equal(util_parse_size("128", &z), 0);
    assert_int_equal(z, 128);
    assert_int_equal(util_parse_size("-1", &z), -1);
    assert_int_equal(util_parse_size(" 5", &z), -1);
    assert_int_equal(util_parse_size("+5", &z), -1);
    assert_int_equal(util_parse_size("12a", &z), -1);
    assert_int_equal(util_parse_u64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(util_parse_u64("18446744073709551616", &u), -1);
    static const char *const names[] = {"relu", "tanh", NULL};
    assert_int_equal(util_lookup("tanh", names), 1);
    assert_int_equal(util_lookup("Tanh", names), -1);
    assert_int_equal(util_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(util_edit_distance("", "abc"), 3);
    assert_int_equal(util_edit_distance("label", "label"), 0);
}

static void test_errors(void **state)
{
    (void)state;
    caviar_error err;
    assert_int_equal(util_err(&err, CAVIAR_EIO, "cannot open '%s'", "x.csv"), CAVIAR_EIO);
    assert_string_equal(err.msg, "cannot open 'x.csv'");
    util_err_prefix(&err, "loading %s", "data");
    assert_string_equal(err.msg, "loading data: cannot open 'x.csv'");
    assert_int_equal(util_err(NULL, CAVIAR_ENOMEM, "ignored"), CAVIAR_ENOMEM);
    assert_string_equal(caviar_status_str(CAVIAR_DIVERGED), "diverged");
}

static void test_json(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    util_json j;
    util_json_begin(&j, f);
    util_json_int(&j, "epoch", 3);
    util_json_num(&j, "loss", 0.25);
    util_json_num(&j, "nan", NAN);
    util_json_str(&j, "s", "a\"b\\c\n\x01");
    util_json_bool(&j, "ok", 1);
    util_json_end(&j);
    fclose(f);
    assert_string_equal(buf, "{\"epoch\": 3, \"loss\": 0.25, \"nan\": null, "
                             "\"s\": \"a\\\"b\\\\c\\n\\u0001\", \"ok\": true}\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_known_answers), cmocka_unit_test(test_rng_statistics),
        cmocka_unit_test(test_rng_derive_and_shuffle), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors), cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
