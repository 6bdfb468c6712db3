/*
 * fuzz_dist.c — fuzz target for the distribution codec, space_dist_decode() and
 * space_dist_encode() (src/space/codec.c).
 *
 * The input, copied and NUL-terminated (the codec reads C strings; a NUL inside the input ends
 * the text early, as it would for a database column read as a string), is decoded. A failure
 * must come with CAVIAR_EFORMAT (or CAVIAR_ENOMEM) and a message, and leave nothing allocated.
 * A success must be a valid distribution, and must be a fixed point of the codec after one
 * step: encode it, decode that text, and the two distributions are caviar_dist_equal with the
 * same grid_points, and the second encoding is the same text as the first. Anything else, and
 * any crash, leak or out-of-bounds read, is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar.h"
#include "space/space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz_dist: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    caviar_dist d;
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_status st = space_dist_decode(text, &d, &err);
    free(text);
    if (st != CAVIAR_OK) {
        CHECK(st == CAVIAR_EFORMAT || st == CAVIAR_ENOMEM);
        CHECK(err.status == st && err.msg[0] != '\0');
        CHECK(d.choices == NULL && d.n_choices == 0);
        return 0;
    }
    CHECK(caviar_dist_check(&d, "fuzz", NULL) == CAVIAR_OK);

    char *first = space_dist_encode(&d);
    if (!first) {
        space_dist_release(&d);
        return 0;
    }
    caviar_dist again;
    st = space_dist_decode(first, &again, &err);
    if (st == CAVIAR_ENOMEM) {
        free(first);
        space_dist_release(&d);
        return 0;
    }
    if (st != CAVIAR_OK)
        fprintf(stderr, "fuzz_dist: cannot decode '%s': %s\n", first, err.msg);
    CHECK(st == CAVIAR_OK);
    CHECK(caviar_dist_equal(&d, &again));
    CHECK(d.grid_points == again.grid_points);
    char *second = space_dist_encode(&again);
    if (second) {
        if (strcmp(first, second) != 0)
            fprintf(stderr, "fuzz_dist: '%s' encodes back as '%s'\n", first, second);
        CHECK(strcmp(first, second) == 0);
    }
    free(second);
    free(first);
    space_dist_release(&again);
    space_dist_release(&d);
    return 0;
}
