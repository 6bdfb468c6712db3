/*
 * fuzz_metrics.c — fuzz target for metric_line_parse() (src/objective/metrics.c), the reader of
 * the lines a training program prints.
 *
 * The input is one line, passed with its exact length and no NUL after it (the parser must
 * read nothing at or past len). Invariants: the result is -1, 0 or 1; -1 comes with
 * CAVIAR_EFORMAT and a message that names a byte offset, and leaves *out empty, as 0 does; 1
 * gives at most METRIC_MAX metrics, each name NUL-terminated within METRIC_NAME_LEN, non-empty
 * and unique. Parsing the same bytes again gives the same answer (no hidden state). Anything
 * else, and any crash or out-of-bounds read, is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objective/objective.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_metrics: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

static metric_line first, second;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    caviar_error err;
    memset(&err, 0, sizeof err);
    int r = metric_line_parse((const char *)data, size, &first, &err);
    CHECK(r == -1 || r == 0 || r == 1);
    if (r == -1) {
        CHECK(err.status == CAVIAR_EFORMAT);
        CHECK(strncmp(err.msg, "metric line: ", 13) == 0 && strstr(err.msg, " at byte "));
    }
    if (r != 1) {
        CHECK(first.n == 0 && !first.has_step);
    } else {
        CHECK(first.n <= METRIC_MAX);
        for (size_t i = 0; i < first.n; i++) {
            const char *name = first.kv[i].name;
            CHECK(memchr(name, '\0', METRIC_NAME_LEN) != NULL);
            CHECK(name[0] != '\0');
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(first.kv[j].name, name) != 0);
        }
    }
    caviar_error again;
    int r2 = metric_line_parse((const char *)data, size, &second, &again);
    CHECK(r2 == r);
    if (r == -1)
        CHECK(strcmp(err.msg, again.msg) == 0);
    if (r == 1) {
        CHECK(second.n == first.n && second.has_step == first.has_step &&
              second.step == first.step);
        for (size_t i = 0; i < first.n; i++)
            CHECK(strcmp(first.kv[i].name, second.kv[i].name) == 0 &&
                  memcmp(&first.kv[i].value, &second.kv[i].value, sizeof(double)) == 0);
    }
    return 0;
}
