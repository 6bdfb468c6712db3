/*
 * test_space_codec.c — distributions as one line of text (space_dist_encode/decode), both ways.
 *
 * Round trips: every kind, scale (the normal scales with their mu and sigma), step and
 * grid_points, and categorical choices of every type with awkward strings (spaces, the empty
 * string, non-ASCII and control bytes, strings that look like other fields), with and without
 * weights, must decode to the same distribution field by field, doubles bit for bit, and encode
 * again to the same text. Bit equality is also checked on random bit patterns from a
 * fixed-seed util_rng and on the doubles at the edges (subnormals, DBL_MAX, -0).
 *
 * Bad inputs: a catalogue of malformed or invalid texts with the exact message each must give,
 * and the promise that a failed decode leaves nothing allocated.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caviar.h"
#include "space/space.h"
#include "util/util.h"

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Whether back is d as the codec promises to keep it: every field of a float or int bit for
 * bit (mu and sigma instead of low and high on the normal scales, which come back as 0); a
 * categorical's choices (booleans as 0 or 1), weights and grid_points. */
static void assert_same_dist(const caviar_dist *d, const caviar_dist *back)
{
    assert_int_equal(back->kind, d->kind);
    assert_int_equal(back->grid_points, d->grid_points);
    if (d->kind != CAVIAR_DIST_CATEGORICAL) {
        assert_int_equal(back->scale, d->scale);
        assert_null(back->weights);
        if (d->scale == CAVIAR_SCALE_NORMAL || d->scale == CAVIAR_SCALE_LOG_NORMAL) {
            if (!same_bits(back->mu, d->mu) || !same_bits(back->sigma, d->sigma) ||
                !same_bits(back->step, d->step))
                fail_msg("mu %.17g sigma %.17g step %.17g came back as %.17g %.17g %.17g", d->mu,
                         d->sigma, d->step, back->mu, back->sigma, back->step);
            assert_true(back->low == 0 && back->high == 0);
        } else {
            if (!same_bits(back->low, d->low) || !same_bits(back->high, d->high) ||
                !same_bits(back->step, d->step))
                fail_msg("bounds %.17g %.17g %.17g came back as %.17g %.17g %.17g", d->low,
                         d->high, d->step, back->low, back->high, back->step);
            assert_true(back->mu == 0 && back->sigma == 0);
        }
        assert_int_equal(back->n_choices, 0);
        assert_null(back->choices);
        return;
    }
    assert_int_equal(back->scale, CAVIAR_SCALE_LINEAR);
    assert_int_equal(back->n_choices, d->n_choices);
    if (d->weights) {
        assert_non_null(back->weights);
        assert_true(back->weights != d->weights); /* an owned copy */
        for (size_t i = 0; i < d->n_choices; i++)
            if (!same_bits(back->weights[i], d->weights[i]))
                fail_msg("weight %zu %.17g came back as %.17g", i, d->weights[i],
                         back->weights[i]);
    } else {
        assert_null(back->weights);
    }
    for (size_t i = 0; i < d->n_choices; i++) {
        const caviar_value *x = &d->choices[i], *y = &back->choices[i];
        assert_int_equal(y->type, x->type);
        switch (x->type) {
        case CAVIAR_VALUE_STRING:
            assert_non_null(y->string);
            assert_string_equal(y->string, x->string);
            assert_true(y->string != x->string); /* an owned copy */
            break;
        case CAVIAR_VALUE_NUMBER:
            if (!same_bits(y->number, x->number))
                fail_msg("choice %.17g came back as %.17g", x->number, y->number);
            assert_null(y->string);
            break;
        case CAVIAR_VALUE_BOOL:
            assert_true(y->number == (x->number != 0 ? 1.0 : 0.0));
            assert_null(y->string);
            break;
        }
    }
}

/* Encodes d (expecting the text expect, unless NULL), decodes it back, checks the fields and
 * that the result encodes to the same text. */
static void check_round_trip(const caviar_dist *d, const char *expect)
{
    char *text = space_dist_encode(d);
    assert_non_null(text);
    if (expect)
        assert_string_equal(text, expect);
    caviar_dist back;
    caviar_error err;
    memset(&err, 0, sizeof err);
    if (space_dist_decode(text, &back, &err) != CAVIAR_OK)
        fail_msg("cannot decode '%s': %s", text, err.msg);
    assert_same_dist(d, &back);
    assert_true(caviar_dist_equal(d, &back));
    char *again = space_dist_encode(&back);
    assert_non_null(again);
    assert_string_equal(again, text);
    free(again);
    space_dist_release(&back);
    free(text);
}

static void test_numeric_round_trips(void **state)
{
    (void)state;
    const struct {
        caviar_dist d;
        const char *text;
    } cases[] = {
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 1e-5, .high = 1},
         "float log 1.0000000000000001e-05 1 0 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LINEAR, .low = -1, .high = 3},
         "float linear -1 3 0 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .step = 0.1, .grid_points = 4},
         "float linear 0 1 0.10000000000000001 4"},
        {{.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .grid_points = 11},
         "float linear 0 1 0 11"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 0.5, .high = 100,
          .step = 0.5},
         "float log 0.5 100 0.5 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0.9,
          .high = 0.999, .grid_points = 7},
         "float one-minus-log 0.90000000000000002 0.999 0 7"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_ONE_MINUS_LOG, .low = 0.5,
          .high = 0.99999, .step = 0.125},
         "float one-minus-log 0.5 0.99999000000000005 0.125 0"},
        {{.kind = CAVIAR_DIST_INT, .low = 1, .high = 8, .step = 2}, "int linear 1 8 2 0"},
        {{.kind = CAVIAR_DIST_INT, .low = -5, .high = 5}, "int linear -5 5 0 0"},
        {{.kind = CAVIAR_DIST_INT, .low = -5, .high = 5, .step = 1, .grid_points = 3},
         "int linear -5 5 1 3"},
        {{.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 8, .high = 512},
         "int log 8 512 0 0"},
        {{.kind = CAVIAR_DIST_INT, .scale = CAVIAR_SCALE_LOG, .low = 1, .high = 1024, .step = 3,
          .grid_points = SIZE_MAX},
         NULL},
        {{.kind = CAVIAR_DIST_INT, .low = -9007199254740992.0, .high = 9007199254740992.0},
         "int linear -9007199254740992 9007199254740992 0 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .low = -0.0, .high = 1e-300},
         "float linear -0 1e-300 0 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 0, .sigma = 1},
         "float normal 0 1 0 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG_NORMAL, .mu = -2.5, .sigma = 0.1,
          .grid_points = 5},
         "float log-normal -2.5 0.10000000000000001 0 5"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = -0.0, .sigma = 1e-300},
         "float normal -0 1e-300 0 0"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG, .low = 32, .high = 512, .q = 8},
         "float log 32 512 0 0 q 8"},
        {{.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 10, .sigma = 3, .q = 0.5,
          .grid_points = 3},
         "float normal 10 3 0 3 q 0.5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        caviar_error err;
        if (caviar_dist_check(&cases[i].d, "x", &err) != CAVIAR_OK)
            fail_msg("case %zu is not valid: %s", i, err.msg);
        check_round_trip(&cases[i].d, cases[i].text);
    }
}

static void test_categorical_round_trips(void **state)
{
    (void)state;
    caviar_value basic[4] = {{CAVIAR_VALUE_STRING, 0, "relu"}, {CAVIAR_VALUE_STRING, 0, "tanh"},
                             {CAVIAR_VALUE_NUMBER, 0.5, NULL}, {CAVIAR_VALUE_BOOL, 1, NULL}};
    caviar_dist d = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 4, .choices = basic};
    caviar_dist back_junk;
    check_round_trip(&d, "categorical 4 s4:relu s4:tanh n0.5 b1 0");
    d.grid_points = 12;
    check_round_trip(&d, "categorical 4 s4:relu s4:tanh n0.5 b1 12");

    /* Strings that hold spaces, nothing at all, other fields' syntax, digits, colons, non-ASCII
     * UTF-8, bytes that are not UTF-8, control bytes and newlines. */
    static const char *const awkward[] = {
        "", " ", "  ", "a b", " leading", "trailing ", "s3:abc", "s99:", "n1", "b1", "b0",
        "0", "42", "-0", "1e999", "nan", "categorical 1 b0 0", "float log 1 2 0 0", ":", "::",
        "a:b", "\xc3\xa9t\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80",
        "\xff\xfe\x80", "\x01\x02\x7f", "line\nbreak", "tab\there", "\r\n", "end space ",
    };
    enum { N_AWKWARD = sizeof awkward / sizeof awkward[0] };
    caviar_value ch[N_AWKWARD + 4];
    for (size_t i = 0; i < N_AWKWARD; i++)
        ch[i] = (caviar_value){CAVIAR_VALUE_STRING, 0, awkward[i]};
    ch[N_AWKWARD] = (caviar_value){CAVIAR_VALUE_NUMBER, -0.0, NULL};
    ch[N_AWKWARD + 1] = (caviar_value){CAVIAR_VALUE_NUMBER, 1e300, NULL};
    ch[N_AWKWARD + 2] = (caviar_value){CAVIAR_VALUE_BOOL, 0, NULL};
    ch[N_AWKWARD + 3] = (caviar_value){CAVIAR_VALUE_BOOL, 1, NULL};
    caviar_dist many = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = N_AWKWARD + 4,
                        .choices = ch, .grid_points = 3};
    caviar_error err;
    if (caviar_dist_check(&many, "x", &err) != CAVIAR_OK)
        fail_msg("the awkward choices are not valid: %s", err.msg);
    check_round_trip(&many, NULL);
    /* Each one alone, where it is also the last field before grid_points. */
    for (size_t i = 0; i < N_AWKWARD + 4; i++) {
        caviar_dist one = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &ch[i]};
        check_round_trip(&one, NULL);
    }
    caviar_dist empty = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &ch[0]};
    check_round_trip(&empty, "categorical 1 s0: 0");
    caviar_dist spaces = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = &ch[1]};
    check_round_trip(&spaces, "categorical 2 s1:  s2:   0");

    /* A boolean is 0 or 1 once decoded (space_format shows any non-zero as true). */
    caviar_value odd = {CAVIAR_VALUE_BOOL, 0.25, NULL};
    caviar_dist b = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &odd};
    char *text = space_dist_encode(&b);
    assert_string_equal(text, "categorical 1 b1 0");
    free(text);

    /* Weights, bit for bit, zeros included; a string "w" is a choice like any other. */
    const double w[4] = {0.7, 0.1, 0.2, 0};
    caviar_dist weighted = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 4, .choices = basic,
                            .weights = w};
    check_round_trip(&weighted, "categorical 4 s4:relu s4:tanh n0.5 b1 w 0.69999999999999996 "
                                "0.10000000000000001 0.20000000000000001 0 0");
    caviar_value wc[2] = {{CAVIAR_VALUE_STRING, 0, "w"}, {CAVIAR_VALUE_STRING, 0, "w 1"}};
    const double w2[2] = {3, 5e-324};
    caviar_dist ws = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = wc,
                      .weights = w2, .grid_points = 2};
    check_round_trip(&ws, "categorical 2 s1:w s3:w 1 w 3 4.9406564584124654e-324 2");

    /* On the normal scales low and high mean nothing and are not kept; elsewhere mu and
     * sigma; a numeric distribution's weights neither. */
    caviar_dist junk = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_NORMAL, .mu = 3,
                        .sigma = 2, .low = 9, .high = 10, .weights = w};
    text = space_dist_encode(&junk);
    assert_string_equal(text, "float normal 3 2 0 0");
    assert_int_equal(space_dist_decode(text, &back_junk, &err), CAVIAR_OK);
    assert_true(back_junk.low == 0 && back_junk.high == 0 && !back_junk.weights);
    assert_true(caviar_dist_equal(&junk, &back_junk));
    space_dist_release(&back_junk);
    free(text);
    caviar_dist lin = {.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = 1, .mu = 3, .sigma = 2};
    text = space_dist_encode(&lin);
    assert_string_equal(text, "float linear 0 1 0 0");
    free(text);

    /* A categorical's low, high and step mean nothing and are not kept. */
    caviar_dist extra = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = basic,
                         .low = 3, .high = 4, .step = 1};
    text = space_dist_encode(&extra);
    assert_string_equal(text, "categorical 1 s4:relu 0");
    caviar_dist back;
    assert_int_equal(space_dist_decode(text, &back, &err), CAVIAR_OK);
    assert_true(back.low == 0 && back.high == 0 && back.step == 0);
    assert_true(caviar_dist_equal(&extra, &back));
    space_dist_release(&back);
    free(text);
}

/* The examples in codec.c's opening comment decode, and are what encode writes. */
static void test_documented_examples(void **state)
{
    (void)state;
    static const char *const examples[] = {
        "float log 1.0000000000000001e-05 1 0 0",
        "int linear 1 8 2 0",
        "float normal 0 1 0 0",
        "float log 32 512 0 0 q 8",
        "categorical 4 s4:relu s8:leaky re n0.5 b1 0",
        "categorical 2 s4:relu s4:tanh w 0.69999999999999996 0.29999999999999999 0",
    };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        caviar_dist d;
        caviar_error err;
        if (space_dist_decode(examples[i], &d, &err) != CAVIAR_OK)
            fail_msg("'%s': %s", examples[i], err.msg);
        char *text = space_dist_encode(&d);
        assert_string_equal(text, examples[i]);
        free(text);
        space_dist_release(&d);
    }
    caviar_dist d;
    assert_int_equal(space_dist_decode(examples[4], &d, NULL), CAVIAR_OK);
    assert_string_equal(d.choices[1].string, "leaky re");
    space_dist_release(&d);
}

/* A double from 64 random bits: every finite pattern (subnormals and -0 included) is fair. */
static double random_double(util_rng *rng)
{
    for (;;) {
        uint64_t bits = util_rng_u64(rng);
        double x;
        memcpy(&x, &bits, sizeof x);
        if (isfinite(x))
            return x;
    }
}

static void test_random_doubles_exact(void **state)
{
    (void)state;
    util_rng rng;
    util_rng_seed(&rng, 20261123);
    for (int i = 0; i < 20000; i++) {
        double a = random_double(&rng), b = random_double(&rng), s = fabs(random_double(&rng));
        if (a == b)
            continue;
        caviar_dist d = {.kind = CAVIAR_DIST_FLOAT, .low = fmin(a, b), .high = fmax(a, b),
                         .grid_points = (size_t)(util_rng_u64(&rng) >> (i % 64))};
        d.step = s <= d.high - d.low ? s : 0;
        check_round_trip(&d, NULL);
        /* The same magnitudes on a log scale. */
        double lo = fabs(a), hi = fabs(b);
        if (lo > 0 && hi > 0 && lo != hi) {
            caviar_dist l = {.kind = CAVIAR_DIST_FLOAT, .scale = CAVIAR_SCALE_LOG,
                             .low = fmin(lo, hi), .high = fmax(lo, hi)};
            check_round_trip(&l, NULL);
        }
    }
    /* Random mu and sigma on the normal scales, where they are valid; random weights. */
    for (int i = 0; i < 20000; i++) {
        double mu = random_double(&rng), sigma = fabs(random_double(&rng));
        caviar_dist nd = {.kind = CAVIAR_DIST_FLOAT,
                          .scale = i % 2 ? CAVIAR_SCALE_NORMAL : CAVIAR_SCALE_LOG_NORMAL,
                          .mu = i % 3 ? mu : mu * 1e-300, .sigma = i % 5 ? sigma : sigma * 1e-300};
        if (caviar_dist_check(&nd, "x", NULL) == CAVIAR_OK)
            check_round_trip(&nd, NULL);
    }
    for (int r = 0; r < 200; r++) {
        caviar_value ch[8];
        double w[8];
        for (size_t i = 0; i < 8; i++) {
            ch[i] = (caviar_value){CAVIAR_VALUE_NUMBER, (double)i, NULL};
            w[i] = fabs(random_double(&rng)) * 1e-300;
        }
        caviar_dist d = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 8, .choices = ch,
                         .weights = w};
        if (caviar_dist_check(&d, "x", NULL) == CAVIAR_OK)
            check_round_trip(&d, NULL);
    }
    /* Random numbers as choices, 64 at a time. */
    for (int r = 0; r < 200; r++) {
        caviar_value ch[64];
        for (size_t i = 0; i < 64; i++)
            ch[i] = (caviar_value){CAVIAR_VALUE_NUMBER, random_double(&rng), NULL};
        caviar_dist d = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 64, .choices = ch};
        caviar_error err;
        if (caviar_dist_check(&d, "x", &err) == CAVIAR_OK) /* no repeated draw */
            check_round_trip(&d, NULL);
    }
    /* The edges of the doubles. */
    const double edges[] = {
        DBL_MIN, DBL_TRUE_MIN, 2 * DBL_TRUE_MIN, DBL_MIN - DBL_TRUE_MIN, DBL_MAX,
        nextafter(DBL_MAX, 0), DBL_EPSILON, 1 + DBL_EPSILON, 0.1, 1.0 / 3.0, 2.0 / 3.0,
        nextafter(1, 0), nextafter(1, 2), 5e-324, 1.7976931348623157e308, 9007199254740993.0,
        123456789012345678.0, 1e-5, 1e22, 1e23,
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        double x = edges[i];
        caviar_dist d = {.kind = CAVIAR_DIST_FLOAT, .low = -x, .high = x};
        check_round_trip(&d, NULL);
        caviar_dist z = {.kind = CAVIAR_DIST_FLOAT, .low = -0.0, .high = x, .step = x};
        check_round_trip(&z, NULL);
        caviar_value c[2] = {{CAVIAR_VALUE_NUMBER, x, NULL}, {CAVIAR_VALUE_NUMBER, -x, NULL}};
        caviar_dist cat = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 2, .choices = c};
        check_round_trip(&cat, NULL);
    }
}

/* Texts that are not the encoding of a valid distribution, with the exact message of each. */
#define E2 "\xc3\xa9"     /* e acute, two bytes in UTF-8 */
#define E3 "\xe4\xb8\xad" /* a CJK ideograph, three bytes */

static void test_bad_catalogue(void **state)
{
    (void)state;
    const struct {
        const char *text, *msg;
    } cases[] = {
        /* the kind and the scale */
        {"", "distribution '': missing kind at byte 0"},
        {"floot log 1 2 0 0", "distribution 'floot log 1 2 0 0': bad kind at byte 0"},
        {" float log 1 2 0 0", "distribution ' float log 1 2 0 0': bad kind at byte 0"},
        {"FLOAT log 1 2 0 0", "distribution 'FLOAT log 1 2 0 0': bad kind at byte 0"},
        {"float\tlog 1 2 0 0", "distribution 'float?log 1 2 0 0': bad kind at byte 0"},
        {"float", "distribution 'float': missing scale at byte 5"},
        {"float ", "distribution 'float ': missing scale at byte 6"},
        {"float lug 1 2 0 0", "distribution 'float lug 1 2 0 0': bad scale at byte 6"},
        {"float  log 1 2 0 0", "distribution 'float  log 1 2 0 0': bad scale at byte 6"},
        /* the numbers */
        {"float log", "distribution 'float log': missing low bound at byte 9"},
        {"float log x 2 0 0", "distribution 'float log x 2 0 0': bad low bound at byte 10"},
        {"float log 1 x", "distribution 'float log 1 x': bad high bound at byte 12"},
        {"float log 1", "distribution 'float log 1': missing high bound at byte 11"},
        {"float linear 0 inf 0 0",
         "distribution 'float linear 0 inf 0 0': bad high bound at byte 15"},
        {"float linear nan 1 0 0",
         "distribution 'float linear nan 1 0 0': bad low bound at byte 13"},
        {"float linear 0 0x10 0 0",
         "distribution 'float linear 0 0x10 0 0': bad high bound at byte 15"},
        {"float linear 0 1e999 0 0",
         "distribution 'float linear 0 1e999 0 0': high bound out of range at byte 15"},
        {"float linear -1e400 1 0 0",
         "distribution 'float linear -1e400 1 0 0': low bound out of range at byte 13"},
        {"float linear 0 1.5.3 0 0",
         "distribution 'float linear 0 1.5.3 0 0': bad high bound at byte 15"},
        {"float linear 0 1 1e 0", "distribution 'float linear 0 1 1e 0': bad step at byte 17"},
        {"float linear 0 1 - 0", "distribution 'float linear 0 1 - 0': bad step at byte 17"},
        /* grid_points and what follows it */
        {"float linear 0 1 0", "distribution 'float linear 0 1 0': missing grid points at byte 18"},
        {"float linear 0 1 0 -1",
         "distribution 'float linear 0 1 0 -1': bad grid points at byte 19"},
        {"float linear 0 1 0 1.5",
         "distribution 'float linear 0 1 0 1.5': bad grid points at byte 19"},
        {"float linear 0 1 0 99999999999999999999",
         "distribution 'float linear 0 1 0 99999999999999999999': bad grid points at byte 19"},
        {"float linear 0 1 0 0 ", "distribution 'float linear 0 1 0 0 ': trailing text at byte 20"},
        {"float linear 0 1 0 0 extra",
         "distribution 'float linear 0 1 0 0 extra': trailing text at byte 20"},
        {"float linear 0 1 0 0\n", "distribution 'float linear 0 1 0 0?': bad grid points at byte 19"},
        /* well formed, but not a valid distribution */
        {"float linear 1 0 0 0", "distribution 'float linear 1 0 0 0': low 1 must be below high 0 "
                                 "(for a fixed value use a constant)"},
        {"float log 0 1 0 0", "distribution 'float log 0 1 0 0': log scale needs low > 0, got 0"},
        {"float linear 0 1 -0.5 0",
         "distribution 'float linear 0 1 -0.5 0': step -0.5 must be a number >= 0"},
        {"float linear 0 1 5 0",
         "distribution 'float linear 0 1 5 0': step 5 is larger than the range [0, 1]"},
        {"float one-minus-log 0.5 1 0 0", "distribution 'float one-minus-log 0.5 1 0 0': "
                                          "one-minus-log bounds must lie in (0, 1), got [0.5, 1]"},
        {"int one-minus-log 1 5 0 0", "distribution 'int one-minus-log 1 5 0 0': the "
                                      "one-minus-log scale is for floats in (0, 1), not ints"},
        {"int log 0 8 1 0",
         "distribution 'int log 0 8 1 0': an int on a log scale needs low >= 1, got 0"},
        {"int linear 0.5 5 0 0",
         "distribution 'int linear 0.5 5 0 0': int bounds and step must be whole numbers"},
        {"int linear 0 1e16 0 0", "distribution 'int linear 0 1e16 0 0': int bounds beyond 2^53"},
        /* the normal scales */
        {"float normal", "distribution 'float normal': missing mu at byte 12"},
        {"float normal 0 x 0 0", "distribution 'float normal 0 x 0 0': bad sigma at byte 15"},
        {"float normal 0 0 0 0", "distribution 'float normal 0 0 0 0': sigma must be a finite "
                                 "number > 0, got 0"},
        {"float log-normal 1 -2 0 0", "distribution 'float log-normal 1 -2 0 0': sigma must be a "
                                      "finite number > 0, got -2"},
        {"int normal 0 1 0 0",
         "distribution 'int normal 0 1 0 0': the normal scale is for floats, not ints"},
        {"float log-normal 0 1 0.5 0", "distribution 'float log-normal 0 1 0.5 0': a float on "
                                       "the log-normal scale takes no step, got 0.5"},
        {"float log-normal 800 1 0 0",
         "distribution 'float log-normal 800 1 0 0': log-normal mu 800 and sigma 1 give values "
         "beyond the range of a double (mu -+ 7 sigma must lie within [-708, 709])"},
        {"float normal 0 1e308 0 0", "distribution 'float normal 0 1e308 0 0': mu 0 and sigma "
                                     "1e+308 are too large for a double"},
        {"float lognormal 0 1 0 0", "distribution 'float lognormal 0 1 0 0': bad scale at byte 6"},
        /* categoricals: the weights */
        {"categorical 2 b0 b1 w 0.5 0",
         "distribution 'categorical 2 b0 b1 w 0.5 0': missing grid points at byte 27"},
        {"categorical 2 b0 b1 w 0.5 x 0",
         "distribution 'categorical 2 b0 b1 w 0.5 x 0': bad weight 2 at byte 26"},
        {"categorical 2 b0 b1 w -1 2 0", "distribution 'categorical 2 b0 b1 w -1 2 0': the weight "
                                         "of choice 1 must be a finite number >= 0, got -1"},
        {"categorical 2 b0 b1 w 0 0 0", "distribution 'categorical 2 b0 b1 w 0 0 0': the weights "
                                        "of the choices must have a positive finite sum, got 0"},
        {"categorical 2 b0 b1 w 1e308 1e308 0",
         "distribution 'categorical 2 b0 b1 w 1e308 1e308 0': the weights of the choices must "
         "have a positive finite sum, got inf"},
        {"categorical 3 b0 b1 n2 w 1 0",
         "distribution 'categorical 3 b0 b1 n2 w 1 0': 3 weights cannot fit in the rest of the "
         "text at byte 23"},
        {"categorical 1 b0 w", "distribution 'categorical 1 b0 w': 1 weights cannot fit in the "
                               "rest of the text at byte 17"},
        {"categorical 1 b0 W 1 0", "distribution 'categorical 1 b0 W 1 0': bad grid points at "
                                   "byte 17"},
        /* categoricals: the count */
        {"categorical", "distribution 'categorical': missing choice count at byte 11"},
        {"categorical x", "distribution 'categorical x': bad choice count at byte 12"},
        {"categorical -1 b0 0", "distribution 'categorical -1 b0 0': bad choice count at byte 12"},
        {"categorical 0 0",
         "distribution 'categorical 0 0': a categorical needs at least one choice"},
        {"categorical 2 b0",
         "distribution 'categorical 2 b0': 2 choices cannot fit in the rest of the text at byte "
         "12"},
        {"categorical 1000000 b0 0", "distribution 'categorical 1000000 b0 0': 1000000 choices "
                                     "cannot fit in the rest of the text at byte 12"},
        {"categorical 16777217 b0 0", "distribution 'categorical 16777217 b0 0': 16777217 "
                                      "choices (at most 16777216) at byte 12"},
        {"categorical 18446744073709551615 b0 0",
         "distribution 'categorical 18446744073709551615 b0 0': 18446744073709551615 choices (at "
         "most 16777216) at byte 12"},
        {"categorical 99999999999999999999999 b0 0",
         "distribution 'categorical 99999999999999999999999 b0 0': bad choice count at byte 12"},
        {"categorical 1 b0", "distribution 'categorical 1 b0': missing grid points at byte 16"},
        {"categorical 1 b0 0 0", "distribution 'categorical 1 b0 0 0': trailing text at byte 18"},
        /* categoricals: the choices */
        {"categorical 1 x1 0", "distribution 'categorical 1 x1 0': bad choice 1 at byte 14"},
        {"categorical 3 b0  b1 0",
         "distribution 'categorical 3 b0  b1 0': bad choice 2 at byte 17"},
        {"categorical 2 b0 b2 0",
         "distribution 'categorical 2 b0 b2 0': bad boolean in choice 2 at byte 17"},
        {"categorical 1 btrue 0",
         "distribution 'categorical 1 btrue 0': bad boolean in choice 1 at byte 14"},
        {"categorical 1 nfoo 0",
         "distribution 'categorical 1 nfoo 0': bad number in choice 1 at byte 14"},
        {"categorical 1 n 0", "distribution 'categorical 1 n 0': bad number in choice 1 at byte 14"},
        {"categorical 1 n1e999 0",
         "distribution 'categorical 1 n1e999 0': number in choice 1 out of range at byte 14"},
        {"categorical 1 s4relu 0",
         "distribution 'categorical 1 s4relu 0': bad string length in choice 1 at byte 14"},
        {"categorical 1 s:x 0",
         "distribution 'categorical 1 s:x 0': bad string length in choice 1 at byte 14"},
        {"categorical 1 s-1:a 0",
         "distribution 'categorical 1 s-1:a 0': bad string length in choice 1 at byte 14"},
        {"categorical 1 s 4:relu 0",
         "distribution 'categorical 1 s 4:relu 0': bad string length in choice 1 at byte 14"},
        {"categorical 1 s9:relu 0",
         "distribution 'categorical 1 s9:relu 0': string in choice 1 runs past the end at byte "
         "14"},
        {"categorical 1 s18446744073709551615:relu 0",
         "distribution 'categorical 1 s18446744073709551615:relu...': string in choice 1 runs "
         "past "
         "the end at byte 14"},
        {"categorical 1 s2:relu 0",
         "distribution 'categorical 1 s2:relu 0': no space after choice 1 at byte 19"},
        {"categorical 2 s1:a", "distribution 'categorical 2 s1:a': 2 choices cannot fit in the "
                               "rest of the text at byte 12"},
        {"categorical 2 s4:abcd",
         "distribution 'categorical 2 s4:abcd': missing choice 2 at byte 21"},
        {"categorical 2 s1:a 0", "distribution 'categorical 2 s1:a 0': bad choice 2 at byte 19"},
        {"categorical 1 s1:", "distribution 'categorical 1 s1:': string in choice 1 runs past "
                              "the end at byte 14"},
        /* categoricals: well formed, but not valid */
        {"categorical 2 s1:a s1:a 0",
         "distribution 'categorical 2 s1:a s1:a 0': choice 'a' appears twice"},
        {"categorical 2 b1 b1 0", "distribution 'categorical 2 b1 b1 0': choice 'true' appears "
                                  "twice"},
        {"categorical 2 n1 n1.0 0",
         "distribution 'categorical 2 n1 n1.0 0': choice '1' appears twice"},
        {"categorical 2 n0 n-0 0",
         "distribution 'categorical 2 n0 n-0 0': choice '-0' appears twice"},
        /* the quoted text is cut after 40 bytes, never inside a UTF-8 sequence */
        {"categorical 1 s30:abcdefghijklmnopqrstuvwxyz0123",
         "distribution 'categorical 1 s30:abcdefghijklmnopqrstuv...': missing grid points at "
         "byte 48"},
        /* byte 40 is the second of a two-byte sequence starting at byte 39 */
        {"categorical 1 s25:x" E2 E2 E2 E2 E2 E2 E2 E2 E2 E2 E2 E2 " 0 1",
         "distribution 'categorical 1 s25:x" E2 E2 E2 E2 E2 E2 E2 E2 E2 E2
         "...': trailing text at byte 45"},
        /* byte 40 is the third of a three-byte sequence starting at byte 38 */
        {"categorical 1 s23:xx" E3 E3 E3 E3 E3 E3 E3 " 0 1",
         "distribution 'categorical 1 s23:xx" E3 E3 E3 E3 E3 E3 "...': trailing text at byte 43"},
    };
    size_t n_cases = sizeof cases / sizeof cases[0];
    assert_true(n_cases >= 25);
    for (size_t i = 0; i < n_cases; i++) {
        caviar_dist out;
        caviar_error err;
        memset(&err, 0, sizeof err);
        memset(&out, 0x5a, sizeof out); /* decode must not depend on what was there */
        caviar_status st = space_dist_decode(cases[i].text, &out, &err);
        if (st != CAVIAR_EFORMAT)
            fail_msg("case %zu '%s': status %d, not CAVIAR_EFORMAT (%s)", i, cases[i].text,
                     (int)st, err.msg);
        assert_int_equal(err.status, CAVIAR_EFORMAT);
        if (strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got\n  %s\nexpected\n  %s", i, err.msg, cases[i].msg);
        /* Nothing is left allocated, and releasing again is harmless. */
        assert_null(out.choices);
        assert_null(out.weights);
        assert_int_equal(out.n_choices, 0);
        space_dist_release(&out);
    }
    /* NULL is the empty text; a NULL err is allowed. */
    caviar_dist out;
    caviar_error err;
    assert_int_equal(space_dist_decode(NULL, &out, &err), CAVIAR_EFORMAT);
    assert_string_equal(err.msg, "distribution '': missing kind at byte 0");
    assert_int_equal(space_dist_decode("categorical 2 s1:a s1:a 0", &out, NULL), CAVIAR_EFORMAT);
    assert_null(out.choices);
}

/* Texts that are not what encode writes, but are well formed, decode; encode then writes the
 * canonical text. */
static void test_lenient_numbers(void **state)
{
    (void)state;
    const struct {
        const char *text, *canonical;
    } cases[] = {
        {"float linear +0.5 1E1 0.0 007", "float linear 0.5 10 0 7"},
        {"float log .5 5. 0 0", "float log 0.5 5 0 0"},
        {"int linear -0 8 002 0", "int linear -0 8 2 0"},
        {"categorical 02 s01:x n+1e0 00", "categorical 2 s1:x n1 0"},
        {"float linear 0 1e-400 0 0", "float linear 0 0 0 0"}, /* underflow: low == high */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        caviar_dist d;
        caviar_error err;
        caviar_status st = space_dist_decode(cases[i].text, &d, &err);
        if (i == 4) {
            assert_int_equal(st, CAVIAR_EFORMAT);
            assert_string_equal(err.msg, "distribution 'float linear 0 1e-400 0 0': low 0 must "
                                         "be below high 0 (for a fixed value use a constant)");
            continue;
        }
        if (st != CAVIAR_OK)
            fail_msg("'%s': %s", cases[i].text, err.msg);
        char *text = space_dist_encode(&d);
        assert_string_equal(text, cases[i].canonical);
        free(text);
        space_dist_release(&d);
    }
}

/* An invalid distribution encodes to a text that decode refuses. */
static void test_encode_invalid(void **state)
{
    (void)state;
    caviar_value null_string = {CAVIAR_VALUE_STRING, 0, NULL};
    caviar_value nan_number = {CAVIAR_VALUE_NUMBER, NAN, NULL};
    caviar_value bad_type = {(caviar_value_type)9, 0, NULL};
    const struct {
        caviar_dist d;
        const char *text, *msg;
    } cases[] = {
        {{.kind = CAVIAR_DIST_FLOAT, .low = NAN, .high = 1}, "float linear nan 1 0 0",
         "distribution 'float linear nan 1 0 0': bad low bound at byte 13"},
        {{.kind = CAVIAR_DIST_FLOAT, .low = 0, .high = INFINITY}, "float linear 0 inf 0 0",
         "distribution 'float linear 0 inf 0 0': bad high bound at byte 15"},
        {{.kind = (caviar_dist_kind)7, .low = 0, .high = 1}, "? linear 0 1 0 0",
         "distribution '? linear 0 1 0 0': bad kind at byte 0"},
        {{.kind = CAVIAR_DIST_INT, .scale = (caviar_scale)5, .low = 0, .high = 1},
         "int ? 0 1 0 0", "distribution 'int ? 0 1 0 0': bad scale at byte 4"},
        {{.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &null_string},
         "categorical 1 s? 0",
         "distribution 'categorical 1 s? 0': bad string length in choice 1 at byte 14"},
        {{.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &nan_number},
         "categorical 1 nnan 0",
         "distribution 'categorical 1 nnan 0': bad number in choice 1 at byte 14"},
        {{.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1, .choices = &bad_type},
         "categorical 1 ? 0", "distribution 'categorical 1 ? 0': bad choice 1 at byte 14"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = space_dist_encode(&cases[i].d);
        assert_non_null(text);
        assert_string_equal(text, cases[i].text);
        caviar_dist out;
        caviar_error err;
        assert_int_equal(space_dist_decode(text, &out, &err), CAVIAR_EFORMAT);
        assert_string_equal(err.msg, cases[i].msg);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_round_trips),
        cmocka_unit_test(test_categorical_round_trips),
        cmocka_unit_test(test_documented_examples),
        cmocka_unit_test(test_random_doubles_exact),
        cmocka_unit_test(test_bad_catalogue),
        cmocka_unit_test(test_lenient_numbers),
        cmocka_unit_test(test_encode_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
