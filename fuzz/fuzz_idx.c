/*
 * fuzz_idx.c — fuzz target for the IDX reader, caviar_idx_parse().
 *
 * Whatever the bytes, the reader must return either a well-formed caviar_idx (dimensions that
 * multiply to n_values, that many readable floats, values within their type's range, and for
 * plain input exactly as many bytes as the header describes) or a malformed-input error with a
 * message naming the input, and never crash, leak, read out of bounds or allocate more than the
 * input can fill (libFuzzer's -malloc_limit_mb catches that).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz_idx: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static size_t type_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    caviar_idx idx;
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_status st = caviar_idx_parse(data, size, "fuzz.idx", &idx, &err);
    if (st != CAVIAR_OK) {
        CHECK(st == CAVIAR_EFORMAT || st == CAVIAR_ENOMEM);
        CHECK(err.status == st);
        CHECK(strstr(err.msg, "'fuzz.idx'") != NULL);
        CHECK(idx.values == NULL && idx.n_values == 0);
        return 0;
    }
    size_t elem = type_size(idx.type);
    CHECK(elem > 0);
    CHECK(idx.n_dims >= 1 && idx.n_dims <= 8);
    size_t n = 1;
    for (int i = 0; i < idx.n_dims; i++) {
        CHECK(idx.dims[i] > 0);
        n *= idx.dims[i];
    }
    CHECK(n == idx.n_values && idx.values != NULL);
    int gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (!gzipped)
        CHECK(size == 4 + 4 * (size_t)idx.n_dims + n * elem);
    for (size_t i = 0; i < n; i++) {
        float v = idx.values[i]; /* every value readable: ASan checks the length */
        switch (idx.type) {
        case 0x08: CHECK(v >= 0 && v <= 255 && v == floorf(v)); break;
        case 0x09: CHECK(v >= -128 && v <= 127 && v == floorf(v)); break;
        case 0x0B: CHECK(v >= -32768 && v <= 32767 && v == floorf(v)); break;
        case 0x0C: CHECK(v >= -2147483648.0f && v <= 2147483648.0f && v == floorf(v)); break;
        default: break; /* floats may be anything, NaN included */
        }
    }
    caviar_idx_release(&idx);
    CHECK(idx.values == NULL);
    return 0;
}
