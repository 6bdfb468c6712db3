/*
 * sobol.c — the "sobol" sampler: scrambled Sobol' points, one point of the unit cube per trial.
 *
 * Algorithm. Trial n takes point i = n + skip of the Sobol' sequence in base 2; parameter id p
 * takes coordinate p of that point (dimension p + 1 in the usual 1-based numbering) and maps it
 * onto its scale with caviar_dist_from_unit(). Coordinates are computed directly from i, not
 * by stepping from the previous point, so that any worker can compute any trial's point:
 *     x_p(i) = XOR of v_{p,k} over the bits k set in the Gray code g(i) = i ^ (i >> 1)
 * (Antonov and Saleev's order; the first 2^m points are the same set as in natural order).
 * v_{p,k} = m_{p,k} / 2^k are the direction numbers, kept as 32-bit integers scaled by 2^32.
 * Dimension 1 has m_k = 1 (the van der Corput sequence, visited in Gray-code order); dimensions
 * 2..SOBOL_DIMS take the primitive polynomial of degree s and coefficients a and the initial
 * m_1..m_s from the first rows of Joe and Kuo's table new-joe-kuo-6.21201 (S. Joe and F. Y. Kuo,
 * "Constructing Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput.
 * 30, 2008); further m_k follow Sobol's recurrence, written for the scaled v below.
 *
 * Scrambling (default on). A random linear matrix scramble with a random digital shift
 * (Matoušek, "On the L2-discrepancy for anchored boxes", 1998): each dimension gets its own
 * random lower-triangular binary matrix L with a unit diagonal and a random 32-bit shift e, and
 * a coordinate's binary digits become y = L x + e over GF(2). Because the map is linear, it is
 * applied once to the direction numbers at creation (v' = L v) and each point costs the same as
 * an unscrambled one. L and e come from the study seed alone (a stream per dimension), so every
 * process of a study scrambles identically, and different seeds give different sequences.
 *
 * Settings:
 *   scramble=true|false  false gives the plain sequence (its first point is the origin, every
 *                        parameter at its low end); default true
 *   skip=N               start at point N (trial n takes point n + N); default 0. With
 *                        scrambling there is no reason to skip; balance is best over the first
 *                        2^m trials.
 *
 * Invariants. Trial n's parameters depend only on the seed, the settings, n and the parameters'
 * ids, never on the history or on which worker asks. The digit map y = L x + e sends every
 * elementary binary interval [j 2^-m, (j + 1) 2^-m) onto another one, so scrambling keeps the
 * net properties of the sequence: the first 2^m points put exactly one coordinate in each
 * interval of width 2^-m in every dimension, and dimensions 1 and 2 form a (0, m, 2)-net (one
 * point in each 2^-a by 2^-(m-a) box). The sequence has 2^32 points and SOBOL_DIMS dimensions;
 * beyond either the sampler says so rather than repeating points.
 */
#include <math.h>
#include <stdlib.h>

#include "sample.h"

#define SOBOL_BITS 32
#define SOBOL_DIMS 128
/* Tags the scrambling streams, so that they differ from the trials' streams of the same seed. */
#define SOBOL_SCRAMBLE_TAG 0x536f626f6c4c4d53ULL

/* One row of the Joe–Kuo table: the degree s of the primitive polynomial, its inner
 * coefficients a (bits a_1 .. a_{s-1}, a_1 the most significant) and m_1 .. m_s. */
typedef struct joe_kuo_row {
    unsigned char s;
    unsigned short a;
    unsigned short m[10];
} joe_kuo_row;

/* Dimensions 2 .. SOBOL_DIMS; the comment is the dimension (the table's d). */
static const joe_kuo_row joe_kuo[SOBOL_DIMS - 1] = {
    {1, 0, {1}}, /* 2 */
    {2, 1, {1, 3}}, /* 3 */
    {3, 1, {1, 3, 1}}, /* 4 */
    {3, 2, {1, 1, 1}}, /* 5 */
    {4, 1, {1, 1, 3, 3}}, /* 6 */
    {4, 4, {1, 3, 5, 13}}, /* 7 */
    {5, 2, {1, 1, 5, 5, 17}}, /* 8 */
    {5, 4, {1, 1, 5, 5, 5}}, /* 9 */
    {5, 7, {1, 1, 7, 11, 19}}, /* 10 */
    {5, 11, {1, 1, 5, 1, 1}}, /* 11 */
    {5, 13, {1, 1, 1, 3, 11}}, /* 12 */
    {5, 14, {1, 3, 5, 5, 31}}, /* 13 */
    {6, 1, {1, 3, 3, 9, 7, 49}}, /* 14 */
    {6, 13, {1, 1, 1, 15, 21, 21}}, /* 15 */
    {6, 16, {1, 3, 1, 13, 27, 49}}, /* 16 */
    {6, 19, {1, 1, 1, 15, 7, 5}}, /* 17 */
    {6, 22, {1, 3, 1, 15, 13, 25}}, /* 18 */
    {6, 25, {1, 1, 5, 5, 19, 61}}, /* 19 */
    {7, 1, {1, 3, 7, 11, 23, 15, 103}}, /* 20 */
    {7, 4, {1, 3, 7, 13, 13, 15, 69}}, /* 21 */
    {7, 7, {1, 1, 3, 13, 7, 35, 63}}, /* 22 */
    {7, 8, {1, 3, 5, 9, 1, 25, 53}}, /* 23 */
    {7, 14, {1, 3, 1, 13, 9, 35, 107}}, /* 24 */
    {7, 19, {1, 3, 1, 5, 27, 61, 31}}, /* 25 */
    {7, 21, {1, 1, 5, 11, 19, 41, 61}}, /* 26 */
    {7, 28, {1, 3, 5, 3, 3, 13, 69}}, /* 27 */
    {7, 31, {1, 1, 7, 13, 1, 19, 1}}, /* 28 */
    {7, 32, {1, 3, 7, 5, 13, 19, 59}}, /* 29 */
    {7, 37, {1, 1, 3, 9, 25, 29, 41}}, /* 30 */
    {7, 41, {1, 3, 5, 13, 23, 1, 55}}, /* 31 */
    {7, 42, {1, 3, 7, 3, 13, 59, 17}}, /* 32 */
    {7, 50, {1, 3, 1, 3, 5, 53, 69}}, /* 33 */
    {7, 55, {1, 1, 5, 5, 23, 33, 13}}, /* 34 */
    {7, 56, {1, 1, 7, 7, 1, 61, 123}}, /* 35 */
    {7, 59, {1, 1, 7, 9, 13, 61, 49}}, /* 36 */
    {7, 62, {1, 3, 3, 5, 3, 55, 33}}, /* 37 */
    {8, 14, {1, 3, 1, 15, 31, 13, 49, 245}}, /* 38 */
    {8, 21, {1, 3, 5, 15, 31, 59, 63, 97}}, /* 39 */
    {8, 22, {1, 3, 1, 11, 11, 11, 77, 249}}, /* 40 */
    {8, 38, {1, 3, 1, 11, 27, 43, 71, 9}}, /* 41 */
    {8, 47, {1, 1, 7, 15, 21, 11, 81, 45}}, /* 42 */
    {8, 49, {1, 3, 7, 3, 25, 31, 65, 79}}, /* 43 */
    {8, 50, {1, 3, 1, 1, 19, 11, 3, 205}}, /* 44 */
    {8, 52, {1, 1, 5, 9, 19, 21, 29, 157}}, /* 45 */
    {8, 56, {1, 3, 7, 11, 1, 33, 89, 185}}, /* 46 */
    {8, 67, {1, 3, 3, 3, 15, 9, 79, 71}}, /* 47 */
    {8, 70, {1, 3, 7, 11, 15, 39, 119, 27}}, /* 48 */
    {8, 84, {1, 1, 3, 1, 11, 31, 97, 225}}, /* 49 */
    {8, 97, {1, 1, 1, 3, 23, 43, 57, 177}}, /* 50 */
    {8, 103, {1, 3, 7, 7, 17, 17, 37, 71}}, /* 51 */
    {8, 115, {1, 3, 1, 5, 27, 63, 123, 213}}, /* 52 */
    {8, 122, {1, 1, 3, 5, 11, 43, 53, 133}}, /* 53 */
    {9, 8, {1, 3, 5, 5, 29, 17, 47, 173, 479}}, /* 54 */
    {9, 13, {1, 3, 3, 11, 3, 1, 109, 9, 69}}, /* 55 */
    {9, 16, {1, 1, 1, 5, 17, 39, 23, 5, 343}}, /* 56 */
    {9, 22, {1, 3, 1, 5, 25, 15, 31, 103, 499}}, /* 57 */
    {9, 25, {1, 1, 1, 11, 11, 17, 63, 105, 183}}, /* 58 */
    {9, 44, {1, 1, 5, 11, 9, 29, 97, 231, 363}}, /* 59 */
    {9, 47, {1, 1, 5, 15, 19, 45, 41, 7, 383}}, /* 60 */
    {9, 52, {1, 3, 7, 7, 31, 19, 83, 137, 221}}, /* 61 */
    {9, 55, {1, 1, 1, 3, 23, 15, 111, 223, 83}}, /* 62 */
    {9, 59, {1, 1, 5, 13, 31, 15, 55, 25, 161}}, /* 63 */
    {9, 62, {1, 1, 3, 13, 25, 47, 39, 87, 257}}, /* 64 */
    {9, 67, {1, 1, 1, 11, 21, 53, 125, 249, 293}}, /* 65 */
    {9, 74, {1, 1, 7, 11, 11, 7, 57, 79, 323}}, /* 66 */
    {9, 81, {1, 1, 5, 5, 17, 13, 81, 3, 131}}, /* 67 */
    {9, 82, {1, 1, 7, 13, 23, 7, 65, 251, 475}}, /* 68 */
    {9, 87, {1, 3, 5, 1, 9, 43, 3, 149, 11}}, /* 69 */
    {9, 91, {1, 1, 3, 13, 31, 13, 13, 255, 487}}, /* 70 */
    {9, 94, {1, 3, 3, 1, 5, 63, 89, 91, 127}}, /* 71 */
    {9, 103, {1, 1, 3, 3, 1, 19, 123, 127, 237}}, /* 72 */
    {9, 104, {1, 1, 5, 7, 23, 31, 37, 243, 289}}, /* 73 */
    {9, 109, {1, 1, 5, 11, 17, 53, 117, 183, 491}}, /* 74 */
    {9, 122, {1, 1, 1, 5, 1, 13, 13, 209, 345}}, /* 75 */
    {9, 124, {1, 1, 3, 15, 1, 57, 115, 7, 33}}, /* 76 */
    {9, 137, {1, 3, 1, 11, 7, 43, 81, 207, 175}}, /* 77 */
    {9, 138, {1, 3, 1, 1, 15, 27, 63, 255, 49}}, /* 78 */
    {9, 143, {1, 3, 5, 3, 27, 61, 105, 171, 305}}, /* 79 */
    {9, 145, {1, 1, 5, 3, 1, 3, 57, 249, 149}}, /* 80 */
    {9, 152, {1, 1, 3, 5, 5, 57, 15, 13, 159}}, /* 81 */
    {9, 157, {1, 1, 1, 11, 7, 11, 105, 141, 225}}, /* 82 */
    {9, 167, {1, 3, 3, 5, 27, 59, 121, 101, 271}}, /* 83 */
    {9, 173, {1, 3, 5, 9, 11, 49, 51, 59, 115}}, /* 84 */
    {9, 176, {1, 1, 7, 1, 23, 45, 125, 71, 419}}, /* 85 */
    {9, 181, {1, 1, 3, 5, 23, 5, 105, 109, 75}}, /* 86 */
    {9, 182, {1, 1, 7, 15, 7, 11, 67, 121, 453}}, /* 87 */
    {9, 185, {1, 3, 7, 3, 9, 13, 31, 27, 449}}, /* 88 */
    {9, 191, {1, 3, 1, 15, 19, 39, 39, 89, 15}}, /* 89 */
    {9, 194, {1, 1, 1, 1, 1, 33, 73, 145, 379}}, /* 90 */
    {9, 199, {1, 3, 1, 15, 15, 43, 29, 13, 483}}, /* 91 */
    {9, 218, {1, 1, 7, 3, 19, 27, 85, 131, 431}}, /* 92 */
    {9, 220, {1, 3, 3, 3, 5, 35, 23, 195, 349}}, /* 93 */
    {9, 227, {1, 3, 3, 7, 9, 27, 39, 59, 297}}, /* 94 */
    {9, 229, {1, 1, 3, 9, 11, 17, 13, 241, 157}}, /* 95 */
    {9, 230, {1, 3, 7, 15, 25, 57, 33, 189, 213}}, /* 96 */
    {9, 234, {1, 1, 7, 1, 9, 55, 73, 83, 217}}, /* 97 */
    {9, 236, {1, 3, 3, 13, 19, 27, 23, 113, 249}}, /* 98 */
    {9, 241, {1, 3, 5, 3, 23, 43, 3, 253, 479}}, /* 99 */
    {9, 244, {1, 1, 5, 5, 11, 5, 45, 117, 217}}, /* 100 */
    {9, 253, {1, 3, 3, 7, 29, 37, 33, 123, 147}}, /* 101 */
    {10, 4, {1, 3, 1, 15, 5, 5, 37, 227, 223, 459}}, /* 102 */
    {10, 13, {1, 1, 7, 5, 5, 39, 63, 255, 135, 487}}, /* 103 */
    {10, 19, {1, 3, 1, 7, 9, 7, 87, 249, 217, 599}}, /* 104 */
    {10, 22, {1, 1, 3, 13, 9, 47, 7, 225, 363, 247}}, /* 105 */
    {10, 50, {1, 3, 7, 13, 19, 13, 9, 67, 9, 737}}, /* 106 */
    {10, 55, {1, 3, 5, 5, 19, 59, 7, 41, 319, 677}}, /* 107 */
    {10, 64, {1, 1, 5, 3, 31, 63, 15, 43, 207, 789}}, /* 108 */
    {10, 69, {1, 1, 7, 9, 13, 39, 3, 47, 497, 169}}, /* 109 */
    {10, 98, {1, 3, 1, 7, 21, 17, 97, 19, 415, 905}}, /* 110 */
    {10, 107, {1, 3, 7, 1, 3, 31, 71, 111, 165, 127}}, /* 111 */
    {10, 115, {1, 1, 5, 11, 1, 61, 83, 119, 203, 847}}, /* 112 */
    {10, 121, {1, 3, 3, 13, 9, 61, 19, 97, 47, 35}}, /* 113 */
    {10, 127, {1, 1, 7, 7, 15, 29, 63, 95, 417, 469}}, /* 114 */
    {10, 134, {1, 3, 1, 9, 25, 9, 71, 57, 213, 385}}, /* 115 */
    {10, 140, {1, 3, 5, 13, 31, 47, 101, 57, 39, 341}}, /* 116 */
    {10, 145, {1, 1, 3, 3, 31, 57, 125, 173, 365, 551}}, /* 117 */
    {10, 152, {1, 3, 7, 1, 13, 57, 67, 157, 451, 707}}, /* 118 */
    {10, 158, {1, 1, 1, 7, 21, 13, 105, 89, 429, 965}}, /* 119 */
    {10, 161, {1, 1, 5, 9, 17, 51, 45, 119, 157, 141}}, /* 120 */
    {10, 171, {1, 3, 7, 7, 13, 45, 91, 9, 129, 741}}, /* 121 */
    {10, 181, {1, 3, 7, 1, 23, 57, 67, 141, 151, 571}}, /* 122 */
    {10, 194, {1, 1, 3, 11, 17, 47, 93, 107, 375, 157}}, /* 123 */
    {10, 199, {1, 3, 3, 5, 11, 21, 43, 51, 169, 915}}, /* 124 */
    {10, 203, {1, 1, 5, 3, 15, 55, 101, 67, 455, 625}}, /* 125 */
    {10, 208, {1, 3, 5, 9, 1, 23, 29, 47, 345, 595}}, /* 126 */
    {10, 227, {1, 3, 7, 7, 5, 49, 29, 155, 323, 589}}, /* 127 */
    {10, 242, {1, 3, 3, 7, 5, 41, 127, 61, 261, 717}}, /* 128 */
};

typedef struct sobol {
    int scramble;
    size_t skip;
    /* dir[p][k] = v_{p+1, k+1} * 2^32, scrambled when scramble is on: bit 31 is the first binary
     * digit of the coordinate. */
    uint32_t dir[SOBOL_DIMS][SOBOL_BITS];
    uint32_t shift[SOBOL_DIMS];
} sobol;

static const char *const sobol_keys[] = {"scramble", "skip", NULL};

/* Sobol's recurrence for dimension p (0-based), with v_k = m_k 2^(32-k):
 *   v_k = v_{k-s} ^ (v_{k-s} >> s) ^ XOR_{j=1}^{s-1} a_j v_{k-j}     for k > s. */
static void sobol_directions(int p, uint32_t *v)
{
    if (p == 0) {
        for (int k = 0; k < SOBOL_BITS; k++)
            v[k] = 1u << (SOBOL_BITS - 1 - k);
        return;
    }
    const joe_kuo_row *row = &joe_kuo[p - 1];
    int s = row->s;
    for (int k = 0; k < s; k++)
        v[k] = (uint32_t)row->m[k] << (SOBOL_BITS - 1 - k);
    for (int k = s; k < SOBOL_BITS; k++) {
        uint32_t x = v[k - s] ^ (v[k - s] >> s);
        for (int j = 1; j < s; j++)
            if ((row->a >> (s - 1 - j)) & 1u)
                x ^= v[k - j];
        v[k] = x;
    }
}

static uint32_t parity32(uint32_t x)
{
    x ^= x >> 16;
    x ^= x >> 8;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return x & 1u;
}

/* Matoušek's scramble of one dimension: rows[r] is row r of L (output digit r + 1, bit 31 - r);
 * it has the diagonal bit and random bits for the more significant input digits only. */
static void sobol_scramble(uint32_t *v, uint32_t *shift, util_rng *rng)
{
    uint32_t rows[SOBOL_BITS];
    for (int r = 0; r < SOBOL_BITS; r++) {
        uint32_t diag = 1u << (SOBOL_BITS - 1 - r);
        uint32_t above = r == 0 ? 0 : ~0u << (SOBOL_BITS - r);
        rows[r] = diag | ((uint32_t)util_rng_u64(rng) & above);
    }
    for (int k = 0; k < SOBOL_BITS; k++) {
        uint32_t y = 0;
        for (int r = 0; r < SOBOL_BITS; r++)
            y |= parity32(rows[r] & v[k]) << (SOBOL_BITS - 1 - r);
        v[k] = y;
    }
    *shift = (uint32_t)(util_rng_u64(rng) >> 32);
}

static caviar_status sobol_create(util_settings *settings, uint64_t seed,
                                  caviar_direction direction, void **self, caviar_error *err)
{
    (void)direction;
    int scramble = 1;
    size_t skip = 0;
    caviar_status st;
    if ((st = util_settings_bool(settings, "scramble", &scramble, err)) != CAVIAR_OK ||
        (st = util_settings_size(settings, "skip", 0, (size_t)UINT32_MAX, &skip, err)) !=
            CAVIAR_OK)
        return st;
    sobol *s = calloc(1, sizeof *s);
    if (!s)
        return util_err(err, CAVIAR_ENOMEM, "cannot create the sobol sampler: out of memory");
    s->scramble = scramble;
    s->skip = skip;
    for (int p = 0; p < SOBOL_DIMS; p++) {
        sobol_directions(p, s->dir[p]);
        if (scramble) {
            util_rng rng;
            util_rng_derive(&rng, seed ^ SOBOL_SCRAMBLE_TAG, (uint64_t)p);
            sobol_scramble(s->dir[p], &s->shift[p], &rng);
        }
    }
    *self = s;
    return CAVIAR_OK;
}

static void sobol_destroy(void *self)
{
    free(self);
}

/* Coordinate p of point i, in [0, 1) with 32 bits. */
static double sobol_coord(const sobol *s, size_t p, uint64_t i)
{
    uint64_t g = i ^ (i >> 1);
    uint32_t x = s->shift[p];
    for (int k = 0; g; k++, g >>= 1)
        if (g & 1u)
            x ^= s->dir[p][k];
    return ldexp((double)x, -SOBOL_BITS);
}

/* The point index of a trial number, or an error past the end of the sequence (skip is below
 * 2^32, so the sum cannot overflow once number is). */
static caviar_status sobol_index(const sobol *s, uint64_t number, uint64_t *index,
                                 caviar_error *err)
{
    const uint64_t end = (uint64_t)1 << SOBOL_BITS;
    if (number >= end || number + (uint64_t)s->skip >= end)
        return util_err(err, CAVIAR_EINVAL, "sobol sampler: trial %llu is past the end of the "
                                            "sequence (2^32 points, skip=%zu)",
                        (unsigned long long)number, s->skip);
    *index = number + (uint64_t)s->skip;
    return CAVIAR_OK;
}

static caviar_status sobol_dimension_error(const store_history *h, size_t param,
                                           caviar_error *err)
{
    const char *name = param < h->params.n ? h->params.params[param].name : "?";
    return util_err(err, CAVIAR_EINVAL,
                    "sobol sampler: parameter '%s' would be dimension %zu; the direction numbers "
                    "cover %d dimensions\nhint: use the random or tpe sampler for studies with "
                    "more parameters", name, param + 1, SOBOL_DIMS);
}

static caviar_status sobol_begin(void *self, const store_history *h, sample_ctx *ctx,
                                 caviar_error *err)
{
    const sobol *s = self;
    uint64_t index = 0;
    caviar_status st = sobol_index(s, ctx->number, &index, err);
    if (st != CAVIAR_OK)
        return st;
    size_t n = ctx->n_proposed < h->params.n ? ctx->n_proposed : h->params.n;
    for (size_t p = 0; p < n; p++) {
        if (p >= SOBOL_DIMS)
            return sobol_dimension_error(h, p, err);
        ctx->proposed[p] = caviar_dist_from_unit(&h->params.params[p].dist,
                                                 sobol_coord(s, p, index));
    }
    return CAVIAR_OK;
}

/* A parameter first seen after begin() (a new id) simply takes its own dimension. */
static caviar_status sobol_sample(void *self, const store_history *h, sample_ctx *ctx,
                                  size_t param, const caviar_dist *d, double *internal,
                                  caviar_error *err)
{
    const sobol *s = self;
    uint64_t index = 0;
    caviar_status st = sobol_index(s, ctx->number, &index, err);
    if (st != CAVIAR_OK)
        return st;
    if (param >= SOBOL_DIMS)
        return sobol_dimension_error(h, param, err);
    *internal = caviar_dist_from_unit(d, sobol_coord(s, param, index));
    return CAVIAR_OK;
}

const sample_type sample_sobol = {
    .name = "sobol",
    .keys = sobol_keys,
    .create = sobol_create,
    .destroy = sobol_destroy,
    .begin = sobol_begin,
    .sample = sobol_sample,
};
