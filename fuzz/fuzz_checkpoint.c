/*
 * fuzz_checkpoint.c — checkpoint bytes into caviar_nn_deserialize(). Any input must give either
 * a model or a clear error; never a crash, a leak, or an allocation larger than the input
 * justifies. When a model loads, it must serialise back to exactly the same bytes and survive
 * a prediction (its settings passed the same checks as a new model's).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caviar/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    caviar_error err;
    caviar_nn *nn = caviar_nn_deserialize(data, size, "fuzz", &err);
    if (!nn)
        return 0;
    void *bytes = NULL;
    size_t len = 0;
    if (caviar_nn_serialize(nn, &bytes, &len, &err) != CAVIAR_OK)
        abort();
    /* A checkpoint that loads must round-trip exactly (a fuzzing build does not check the
     * stored checksum, so the last four bytes may differ there). */
    size_t cmp = size;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    cmp = size - 4;
#endif
    if (len != size || memcmp(bytes, data, cmp) != 0)
        abort();
    free(bytes);
    const caviar_nn_arch *a = caviar_nn_get_arch(nn);
    if (a->n_inputs <= 4096 && a->n_outputs <= 4096 && caviar_nn_n_params(nn) <= (1u << 22)) {
        float *x = calloc(a->n_inputs, sizeof *x), *y = calloc(a->n_outputs, sizeof *y);
        if (x && y)
            caviar_nn_predict(nn, x, 1, y, &err);
        free(x);
        free(y);
    }
    caviar_nn_free(nn);
    return 0;
}
