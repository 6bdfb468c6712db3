/*
 * checkpoint.c — the whole training state in one versioned, checksummed byte string.
 *
 * Layout (all integers little-endian, floats as their IEEE-754 bits):
 *   "CAVIARNN"                  8 bytes of magic
 *   u32 version                 NN_CKPT_VERSION
 *   architecture                n_inputs u64, n_outputs u64, task u32, n_hidden u32,
 *                               hidden[n_hidden] u64, activation u32, batchnorm u32,
 *                               optimizer u32
 *   hyperparameters             lr, momentum, beta1, beta2, eps (f64), batch_size u64,
 *                               epochs u64, decay u32, decay_rate f64, decay_step u64,
 *                               dropout, l2, bn_momentum, bn_eps (f64)
 *   progress                    epoch u64, step u64, rng state 4 × u64
 *   sizes                       n_params u64, n_state u64 (must match the architecture)
 *   tensors                     params, first moments, second moments (n_params f32 each),
 *                               batch-norm running averages (n_state f32)
 *   u32 crc                     CRC-32 (zlib) of every byte before it
 *
 * Loading checks the checksum before reading anything else, so a flipped bit anywhere is
 * reported as corruption rather than as a strange setting; then every field is range-checked
 * (the settings through the same checks as caviar_nn_new), and the sizes must match the file's
 * length exactly before any tensor is allocated.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "nn_impl.h"

#define NN_CKPT_MAGIC "CAVIARNN"
#define NN_CKPT_VERSION 1u

/* ---- writing ---- */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, 4);
}

static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, 8);
}

static void put_f64(wbuf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(b, u);
}

static void put_f32s(wbuf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        put_u32(b, u);
    }
}

caviar_status caviar_nn_serialize(const caviar_nn *nn, void **bytes, size_t *len, caviar_error *err)
{
    const caviar_nn_arch *a = &nn->arch;
    const caviar_nn_hparams *h = &nn->hp;
    wbuf b = {0};
    put(&b, NN_CKPT_MAGIC, 8);
    put_u32(&b, NN_CKPT_VERSION);
    put_u64(&b, a->n_inputs);
    put_u64(&b, a->n_outputs);
    put_u32(&b, (uint32_t)a->task);
    put_u32(&b, (uint32_t)a->n_hidden);
    for (size_t l = 0; l < a->n_hidden; l++)
        put_u64(&b, a->hidden[l]);
    put_u32(&b, (uint32_t)a->activation);
    put_u32(&b, (uint32_t)a->batchnorm);
    put_u32(&b, (uint32_t)a->optimizer);
    put_f64(&b, h->lr);
    put_f64(&b, h->momentum);
    put_f64(&b, h->beta1);
    put_f64(&b, h->beta2);
    put_f64(&b, h->eps);
    put_u64(&b, h->batch_size);
    put_u64(&b, h->epochs);
    put_u32(&b, (uint32_t)h->decay);
    put_f64(&b, h->decay_rate);
    put_u64(&b, h->decay_step);
    put_f64(&b, h->dropout);
    put_f64(&b, h->l2);
    put_f64(&b, h->bn_momentum);
    put_f64(&b, h->bn_eps);
    put_u64(&b, nn->epoch);
    put_u64(&b, nn->step);
    for (int i = 0; i < 4; i++)
        put_u64(&b, nn->rng.s[i]);
    put_u64(&b, nn->n_params);
    put_u64(&b, nn->n_state);
    put_f32s(&b, nn->params, nn->n_params);
    put_f32s(&b, nn->m1, nn->n_params);
    put_f32s(&b, nn->m2, nn->n_params);
    put_f32s(&b, nn->state, nn->n_state);
    if (!b.oom)
        put_u32(&b, (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), b.p, b.len));
    if (b.oom) {
        free(b.p);
        return util_err(err, CAVIAR_ENOMEM, "cannot serialise the network: out of memory");
    }
    *bytes = b.p;
    *len = b.len;
    return CAVIAR_OK;
}

caviar_status caviar_nn_save(const caviar_nn *nn, const char *path, caviar_error *err)
{
    void *bytes;
    size_t len;
    caviar_status st = caviar_nn_serialize(nn, &bytes, &len, err);
    if (st != CAVIAR_OK)
        return st;
    /* Write a temporary file and rename it over the target, so that a crash mid-write never
     * leaves a half-written checkpoint under the real name. */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(bytes);
        return util_err(err, CAVIAR_ENOMEM, "cannot save '%s': out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = util_err(err, CAVIAR_EIO, "cannot write checkpoint '%s': %s", tmp, strerror(errno));
        goto done;
    }
    size_t wrote = fwrite(bytes, 1, len, f);
    int close_failed = fclose(f) != 0;
    if (wrote != len || close_failed) {
        st = util_err(err, CAVIAR_EIO, "cannot write checkpoint '%s': %s", tmp, strerror(errno));
        remove(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = util_err(err, CAVIAR_EIO, "cannot rename '%s' to '%s': %s", tmp, path,
                      strerror(errno));
        remove(tmp);
    }
done:
    free(tmp);
    free(bytes);
    return st;
}

/* ---- reading ---- */

typedef struct rbuf {
    const unsigned char *p;
    size_t len, pos;
    const char *name;
    caviar_error *err;
    int failed;
} rbuf;

static int need(rbuf *b, size_t n, const char *what)
{
    if (b->failed)
        return 0;
    if (b->len - b->pos < n) {
        util_err(b->err, CAVIAR_EFORMAT,
                 "checkpoint '%s' is truncated: %s at offset %zu needs %zu bytes, %zu remain",
                 b->name, what, b->pos, n, b->len - b->pos);
        b->failed = 1;
        return 0;
    }
    return 1;
}

static uint64_t get_uint(rbuf *b, int width, const char *what)
{
    if (!need(b, (size_t)width, what))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v |= (uint64_t)b->p[b->pos + (size_t)i] << (8 * i);
    b->pos += (size_t)width;
    return v;
}

static uint32_t get_u32(rbuf *b, const char *what)
{
    return (uint32_t)get_uint(b, 4, what);
}

static uint64_t get_u64(rbuf *b, const char *what)
{
    return get_uint(b, 8, what);
}

static size_t get_size(rbuf *b, const char *what)
{
    size_t at = b->pos;
    uint64_t v = get_u64(b, what);
    if (!b->failed && v > ((uint64_t)1 << 40)) {
        util_err(b->err, CAVIAR_EFORMAT, "checkpoint '%s': %s %llu at offset %zu is out of range",
                 b->name, what, (unsigned long long)v, at);
        b->failed = 1;
        return 0;
    }
    return (size_t)v;
}

static double get_f64(rbuf *b, const char *what)
{
    uint64_t u = get_u64(b, what);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static void get_f32s(rbuf *b, float *dst, size_t n)
{
    if (!need(b, 4 * n, "tensor data"))
        return;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *q = b->p + b->pos + 4 * i;
        uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24;
        memcpy(&dst[i], &u, 4);
    }
    b->pos += 4 * n;
}

caviar_nn *caviar_nn_deserialize(const void *bytes, size_t len, const char *name, caviar_error *err)
{
    rbuf b = {bytes, len, 0, name, err, 0};
    if (len < 8 || memcmp(bytes, NN_CKPT_MAGIC, 8) != 0) {
        util_err(err, CAVIAR_EFORMAT,
                 "'%s' is not a caviar checkpoint: bad magic at offset 0 (expected \"%s\")", name,
                 NN_CKPT_MAGIC);
        return NULL;
    }
    b.pos = 8;
    uint32_t version = get_u32(&b, "version");
    if (b.failed)
        return NULL;
    if (version != NN_CKPT_VERSION) {
        util_err(err, CAVIAR_EFORMAT,
                 "checkpoint '%s' has format version %u; this build reads version %u", name,
                 version, NN_CKPT_VERSION);
        return NULL;
    }
    if (len < 16) {
        need(&b, 16 - b.pos, "the checksum");
        return NULL;
    }
    /* (A fuzzing build skips this check so that the fuzzer can reach the fields behind it.) */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    uint32_t stored = (uint32_t)b.p[len - 4] | (uint32_t)b.p[len - 3] << 8 |
                      (uint32_t)b.p[len - 2] << 16 | (uint32_t)b.p[len - 1] << 24;
    uint32_t actual = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), b.p, len - 4);
    if (stored != actual) {
        util_err(err, CAVIAR_EFORMAT,
                 "checkpoint '%s' is corrupt or truncated: checksum %08x does not match its "
                 "contents (%08x)", name, stored, actual);
        return NULL;
    }
#endif
    b.len = len - 4;

    caviar_nn_arch a;
    caviar_nn_hparams h;
    caviar_nn_arch_init(&a);
    caviar_nn_hparams_init(&h);
    a.n_inputs = get_size(&b, "n_inputs");
    a.n_outputs = get_size(&b, "n_outputs");
    a.task = (caviar_task)get_u32(&b, "task");
    uint32_t n_hidden = get_u32(&b, "n_hidden");
    if (!b.failed && n_hidden > CAVIAR_NN_MAX_HIDDEN) {
        util_err(err, CAVIAR_EFORMAT, "checkpoint '%s': %u hidden layers (at most %d)", name,
                 n_hidden, CAVIAR_NN_MAX_HIDDEN);
        return NULL;
    }
    a.n_hidden = n_hidden;
    for (size_t l = 0; l < a.n_hidden; l++)
        a.hidden[l] = get_size(&b, "hidden width");
    a.activation = (caviar_activation)get_u32(&b, "activation");
    a.batchnorm = (int)get_u32(&b, "batchnorm");
    a.optimizer = (caviar_optimizer)get_u32(&b, "optimizer");
    h.lr = get_f64(&b, "lr");
    h.momentum = get_f64(&b, "momentum");
    h.beta1 = get_f64(&b, "beta1");
    h.beta2 = get_f64(&b, "beta2");
    h.eps = get_f64(&b, "eps");
    h.batch_size = get_size(&b, "batch_size");
    h.epochs = get_size(&b, "epochs");
    h.decay = (caviar_decay)get_u32(&b, "decay");
    h.decay_rate = get_f64(&b, "decay_rate");
    h.decay_step = get_size(&b, "decay_step");
    h.dropout = get_f64(&b, "dropout");
    h.l2 = get_f64(&b, "l2");
    h.bn_momentum = get_f64(&b, "bn_momentum");
    h.bn_eps = get_f64(&b, "bn_eps");
    uint64_t epoch = get_u64(&b, "epoch");
    uint64_t step = get_u64(&b, "step");
    util_rng rng;
    for (int i = 0; i < 4; i++)
        rng.s[i] = get_u64(&b, "random state");
    size_t n_params = get_size(&b, "n_params");
    size_t n_state = get_size(&b, "n_state");
    if (b.failed)
        return NULL;
    if (a.batchnorm != 0 && a.batchnorm != 1) {
        util_err(err, CAVIAR_EFORMAT, "checkpoint '%s': batchnorm flag %d is not 0 or 1", name,
                 a.batchnorm);
        return NULL;
    }
    /* The tensors must fill the rest of the file exactly. Checked before allocating, so a
     * header claiming a huge network costs nothing. */
    size_t rest = b.len - b.pos;
    if (n_params > rest / 12 || rest != (3 * n_params + n_state) * 4) {
        util_err(err, CAVIAR_EFORMAT,
                 "checkpoint '%s': %zu parameters and %zu state values need %llu bytes after "
                 "offset %zu, but %zu are there", name, n_params, n_state,
                 (unsigned long long)(3 * (uint64_t)n_params + n_state) * 4, b.pos, rest);
        return NULL;
    }
    /* The architecture must need exactly these counts, also checked before allocating: the
     * counts fit the file, a claimed architecture may not. */
    size_t arch_params, arch_state;
    if (nn_arch_sizes(&a, &arch_params, &arch_state) != 0 || arch_params != n_params ||
        arch_state != n_state) {
        util_err(err, CAVIAR_EFORMAT,
                 "checkpoint '%s': %zu parameters and %zu state values do not fit the "
                 "architecture it describes", name, n_params, n_state);
        return NULL;
    }
    caviar_error inner;
    caviar_nn *nn = nn_alloc(&a, &h, &inner);
    if (!nn) {
        util_err(err, inner.status == CAVIAR_ENOMEM ? CAVIAR_ENOMEM : CAVIAR_EFORMAT,
                 "checkpoint '%s': %s", name, inner.msg);
        return NULL;
    }
    if (nn->n_params != n_params || nn->n_state != n_state) {
        util_err(err, CAVIAR_EFORMAT,
                 "checkpoint '%s': %zu parameters and %zu state values do not fit the "
                 "architecture it describes (%zu and %zu)", name, n_params, n_state,
                 nn->n_params, nn->n_state);
        caviar_nn_free(nn);
        return NULL;
    }
    nn->epoch = (size_t)epoch;
    nn->step = step;
    nn->rng = rng;
    get_f32s(&b, nn->params, n_params);
    get_f32s(&b, nn->m1, n_params);
    get_f32s(&b, nn->m2, n_params);
    get_f32s(&b, nn->state, n_state);
    return nn;
}

caviar_nn *caviar_nn_load(const char *path, caviar_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        util_err(err, errno == ENOENT ? CAVIAR_EMISSING : CAVIAR_EIO,
                 "cannot open checkpoint '%s': %s", path, strerror(errno));
        return NULL;
    }
    /* Read in growing chunks rather than trusting the file size up front (it may be a pipe). */
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    caviar_nn *nn = NULL;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 1 << 16;
            unsigned char *p = realloc(buf, ncap);
            if (!p) {
                util_err(err, CAVIAR_ENOMEM, "cannot read checkpoint '%s': out of memory", path);
                goto done;
            }
            buf = p, cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                util_err(err, CAVIAR_EIO, "cannot read checkpoint '%s': %s", path,
                         strerror(errno));
                goto done;
            }
            break;
        }
    }
    nn = caviar_nn_deserialize(buf, len, path, err);
done:
    free(buf);
    fclose(f);
    return nn;
}
