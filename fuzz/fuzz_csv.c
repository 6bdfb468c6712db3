/*
 * fuzz_csv.c — fuzz target for the CSV loader, caviar_csv_parse(), split and standardisation
 * included.
 *
 * The first byte of an input chooses the options, so that the fuzzer reaches every path:
 *   bits 0-1  task (0 auto, 1 classification, 2 regression, 3 auto)
 *   bit 2     standardize
 *   bits 3-4  dev fraction 0, 0.25, 0.5 or 0.75
 *   bit 5     test fraction 0 (set) or 0.2 (clear)
 *   bit 6     label column named "y" (set) or the last column (clear)
 *   bit 7     seed 0 or 1
 * and the rest is the CSV text. Whatever it holds, the loader must return a consistent
 * caviar_data (labels within the classes, finite values, views inside one block) or an error
 * with a message, and never crash, leak or read out of bounds.
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
            fprintf(stderr, "fuzz_csv: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static void check_set(const caviar_data *d, const caviar_dataset *s)
{
    CHECK(s->n_features == d->n_features);
    if (s->n == 0) {
        CHECK(s->x == NULL && s->label == NULL && s->target == NULL);
        return;
    }
    for (size_t i = 0; i < s->n * d->n_features; i++)
        CHECK(isfinite(s->x[i]));
    if (d->task == CAVIAR_TASK_CLASSIFICATION) {
        CHECK(s->label != NULL && s->target == NULL);
        for (size_t i = 0; i < s->n; i++)
            CHECK(s->label[i] >= 0 && (size_t)s->label[i] < d->n_classes);
    } else {
        CHECK(s->target != NULL && s->label == NULL);
        for (size_t i = 0; i < s->n * d->n_targets; i++)
            CHECK(isfinite(s->target[i]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    caviar_data_opts opts;
    caviar_data_opts_init(&opts);
    if (size > 0) {
        uint8_t o = data[0];
        opts.task = (o & 3) == 3 ? CAVIAR_TASK_AUTO : (caviar_task)(o & 3);
        opts.standardize = (o >> 2) & 1;
        opts.dev_fraction = 0.25 * ((o >> 3) & 3);
        opts.test_fraction = (o >> 5) & 1 ? 0.0 : 0.2;
        opts.label = (o >> 6) & 1 ? "y" : NULL;
        opts.seed = o >> 7;
        data++;
        size--;
    }
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_data *d = caviar_csv_parse(data, size, "fuzz.csv", &opts, &err);
    if (!d) {
        CHECK(err.status != CAVIAR_OK && err.msg[0] != '\0');
        return 0;
    }
    CHECK(d->n_features >= 1);
    CHECK(d->train.n >= 1);
    if (d->task == CAVIAR_TASK_CLASSIFICATION) {
        CHECK(opts.task != CAVIAR_TASK_REGRESSION);
        CHECK(d->n_classes >= 2 && d->n_classes <= 65536 && d->n_targets == 0);
    } else {
        CHECK(d->task == CAVIAR_TASK_REGRESSION && opts.task != CAVIAR_TASK_CLASSIFICATION);
        CHECK(d->n_targets == 1 && d->n_classes == 0);
    }
    check_set(d, &d->train);
    check_set(d, &d->dev);
    check_set(d, &d->test);
    if (d->dev.n > 0)
        CHECK(d->dev.x == d->train.x + d->train.n * d->n_features);
    CHECK(d->standardized == opts.standardize);
    if (d->standardized)
        for (size_t j = 0; j < d->n_features; j++)
            CHECK(isfinite(d->feature_mean[j]) && d->feature_std[j] > 0);
    caviar_data_free(d);
    return 0;
}
