/*
 * idx.c — IDX files (the MNIST format), plain or gzip-compressed, from a file or from memory.
 *
 * Layout, all integers big-endian:
 *   bytes 0-1   zero
 *   byte 2      value type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   byte 3      number of dimensions, 1 to 8
 *   4 bytes per dimension, each > 0
 *   the values, row-major: product(dims) * size(type) bytes, and nothing after them.
 *
 * One decoder serves files and memory. Raw bytes come from a FILE or a buffer; when they start
 * with the gzip magic 1f 8b they go through zlib's inflate (concatenated gzip members are read
 * one after another, anything else after the last member is an error). The IDX parser pulls the
 * decompressed bytes. So caviar_idx_read() and caviar_idx_parse() are the same code, which the
 * fuzz target exercises. A gzip error names the offset in the compressed input where zlib
 * stopped (zlib reads a few bytes ahead, so it can lie a little past the bad byte); every other
 * offset counts bytes of IDX content, that is after decompression.
 *
 * The size in the header is never trusted for allocation: the payload buffer starts at 64 KiB
 * and doubles as bytes actually arrive (capped at the claim), so a 20-byte file that claims 4 GB
 * fails after reading its 20 bytes. The values are then converted to float inside that same
 * buffer (grown or shrunk to n_values floats), so no second copy of the raw bytes is kept.
 */
#define _POSIX_C_SOURCE 200809L
#include "data_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in is const: zlib never writes to its input */
#include <zlib.h>

#define IDX_READ_CHUNK ((size_t)1 << 16)  /* bytes per fread of a file */
#define IDX_FIRST_CAP ((size_t)1 << 16)   /* first size of the payload buffer */
#define IDX_TRAILING_CAP ((size_t)1 << 16) /* count trailing bytes up to this many */

/* Where the bytes come from and how far we are. The unconsumed raw (possibly compressed) bytes
 * are raw[0..raw_len), which start at offset raw_off of the input. */
typedef struct idx_in {
    const char *name;
    FILE *file;               /* file input, or NULL for memory input */
    unsigned char *buf;       /* file input: the read buffer, IDX_READ_CHUNK bytes */
    const unsigned char *raw;
    size_t raw_len;
    size_t raw_off;
    int raw_eof;              /* the input has nothing after raw[0..raw_len) */
    int gz;                   /* the input is gzip: bytes go through inflate */
    int gz_live;              /* zs is initialised */
    int gz_done;              /* the last gzip member has ended */
    z_stream zs;
} idx_in;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Makes at least min_len raw bytes available if the input has them (min_len <= 2). Returns
 * CAVIAR_OK also at the end of the input; raw_len then tells how many there are. */
static caviar_status raw_fill(idx_in *in, size_t min_len, caviar_error *err)
{
    if (!in->file)
        return CAVIAR_OK; /* memory input: raw is already the whole rest */
    while (in->raw_len < min_len && !in->raw_eof) {
        /* Keep what is left (at most one byte) at the front, then read behind it. */
        if (in->raw_len > 0)
            memmove(in->buf, in->raw, in->raw_len);
        in->raw = in->buf;
        size_t n = fread(in->buf + in->raw_len, 1, IDX_READ_CHUNK - in->raw_len, in->file);
        if (n == 0) {
            if (ferror(in->file))
                return util_err(err, CAVIAR_EIO, "cannot read '%s': %s", in->name,
                                strerror(errno));
            in->raw_eof = 1;
        }
        in->raw_len += n;
    }
    return CAVIAR_OK;
}

static void raw_consume(idx_in *in, size_t n)
{
    in->raw += n;
    in->raw_len -= n;
    in->raw_off += n;
}

static int raw_is_gzip(const idx_in *in)
{
    return in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b;
}

/* Looks at the start of the input and sets up inflate if it is gzip. */
static caviar_status in_start(idx_in *in, caviar_error *err)
{
    caviar_status st = raw_fill(in, 2, err);
    if (st)
        return st;
    if (!raw_is_gzip(in))
        return CAVIAR_OK;
    in->gz = 1;
    memset(&in->zs, 0, sizeof in->zs);
    int zr = inflateInit2(&in->zs, 16 + MAX_WBITS); /* 16: expect a gzip wrapper */
    if (zr == Z_MEM_ERROR)
        return util_err(err, CAVIAR_ENOMEM, "out of memory starting to decompress '%s'",
                        in->name);
    if (zr != Z_OK)
        return util_err(err, CAVIAR_EIO, "cannot decompress '%s': zlib error %d", in->name, zr);
    in->gz_live = 1;
    return CAVIAR_OK;
}

/* After a gzip member: another member, or the end of the input, or an error. */
static caviar_status gz_next_member(idx_in *in, caviar_error *err)
{
    caviar_status st = raw_fill(in, 2, err);
    if (st)
        return st;
    if (in->raw_len == 0) {
        in->gz_done = 1;
        return CAVIAR_OK;
    }
    if (!raw_is_gzip(in))
        return util_err(err, CAVIAR_EFORMAT,
                        "invalid IDX file '%s': unexpected bytes after the end of the gzip "
                        "stream, at compressed byte %zu",
                        in->name, in->raw_off);
    inflateReset(&in->zs);
    return CAVIAR_OK;
}

/* Reads len decompressed bytes into out; *got is less than len only at the end of the data. */
static caviar_status in_read(idx_in *in, unsigned char *out, size_t len, size_t *got,
                             caviar_error *err)
{
    size_t have = 0;
    caviar_status st = CAVIAR_OK;
    while (have < len) {
        if (in->raw_len == 0 && (st = raw_fill(in, 1, err)) != CAVIAR_OK)
            break;
        if (!in->gz) {
            if (in->raw_len == 0)
                break;
            size_t n = len - have < in->raw_len ? len - have : in->raw_len;
            memcpy(out + have, in->raw, n);
            raw_consume(in, n);
            have += n;
            continue;
        }
        if (in->gz_done)
            break;
        if (in->raw_len == 0) {
            st = util_err(err, CAVIAR_EFORMAT,
                          "invalid IDX file '%s': truncated gzip stream: the input ends at "
                          "compressed byte %zu, inside the stream",
                          in->name, in->raw_off);
            break;
        }
        uInt in_avail = in->raw_len > UINT_MAX ? UINT_MAX : (uInt)in->raw_len;
        uInt out_avail = len - have > UINT_MAX ? UINT_MAX : (uInt)(len - have);
        in->zs.next_in = in->raw;
        in->zs.avail_in = in_avail;
        in->zs.next_out = out + have;
        in->zs.avail_out = out_avail;
        int zr = inflate(&in->zs, Z_NO_FLUSH);
        raw_consume(in, in_avail - in->zs.avail_in);
        have += out_avail - in->zs.avail_out;
        if (zr == Z_STREAM_END) {
            if ((st = gz_next_member(in, err)) != CAVIAR_OK)
                break;
        } else if (zr == Z_MEM_ERROR) {
            st = util_err(err, CAVIAR_ENOMEM, "out of memory decompressing '%s'", in->name);
            break;
        } else if (zr != Z_OK) {
            st = util_err(err, CAVIAR_EFORMAT,
                          "invalid IDX file '%s': corrupt gzip stream at compressed byte %zu: %s",
                          in->name, in->raw_off,
                          in->zs.msg ? in->zs.msg
                                     : zr == Z_NEED_DICT ? "needs a preset dictionary"
                                                         : "no progress possible");
            break;
        }
    }
    *got = have;
    return st;
}

/* Bytes per value of an IDX type, 0 for an unknown type. */
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

static const char *type_name(int type)
{
    switch (type) {
    case 0x08: return "u8";
    case 0x09: return "i8";
    case 0x0B: return "i16";
    case 0x0C: return "i32";
    case 0x0D: return "f32";
    case 0x0E: return "f64";
    }
    return "?";
}

/* "60000 x 28 x 28" */
static void format_dims(char *s, size_t cap, const uint32_t *dims, int n_dims)
{
    size_t pos = 0;
    s[0] = '\0';
    for (int i = 0; i < n_dims && pos < cap; i++) {
        int w = snprintf(s + pos, cap - pos, i ? " x %u" : "%u", (unsigned)dims[i]);
        if (w < 0)
            break;
        pos += (size_t)w;
    }
}

/* Converts n big-endian values of the given type, packed at the start of buf, into n floats in
 * place. buf must hold max(n * size, n * 4) bytes. Types narrower than a float are converted
 * from the last value backwards and wider ones from the first forwards, so that no value is
 * overwritten before it is read. */
static void convert_in_place(unsigned char *buf, size_t n, int type)
{
    float *f = (float *)(void *)buf;
    switch (type) {
    case 0x08:
        for (size_t i = n; i-- > 0;)
            f[i] = (float)buf[i];
        break;
    case 0x09:
        for (size_t i = n; i-- > 0;)
            f[i] = (float)(buf[i] < 128 ? (int)buf[i] : (int)buf[i] - 256);
        break;
    case 0x0B:
        for (size_t i = n; i-- > 0;) {
            unsigned u = (unsigned)buf[2 * i] << 8 | buf[2 * i + 1];
            f[i] = (float)(u < 32768 ? (long)u : (long)u - 65536);
        }
        break;
    case 0x0C:
        for (size_t i = 0; i < n; i++) {
            uint32_t u = be32(buf + 4 * i);
            f[i] = (float)(u < 0x80000000u ? (int64_t)u : (int64_t)u - ((int64_t)1 << 32));
        }
        break;
    case 0x0D:
        for (size_t i = 0; i < n; i++) {
            uint32_t u = be32(buf + 4 * i);
            memcpy(&f[i], &u, sizeof u);
        }
        break;
    case 0x0E:
        for (size_t i = 0; i < n; i++) {
            uint64_t u = be64(buf + 8 * i);
            double d;
            memcpy(&d, &u, sizeof d);
            f[i] = (float)d; /* beyond float range: +-inf, as IEEE conversion gives */
        }
        break;
    }
}

static caviar_status idx_decode(idx_in *in, caviar_idx *out, caviar_error *err)
{
    const char *name = in->name;
    unsigned char hdr[4 + 4 * 8];
    unsigned char *buf = NULL;
    size_t got;
    caviar_status st = in_start(in, err);
    if (st)
        goto done;

    /* Magic, type and number of dimensions; the first fault found is the one reported. */
    if ((st = in_read(in, hdr, 4, &got, err)) != CAVIAR_OK)
        goto done;
    if ((got >= 1 && hdr[0] != 0) || (got >= 2 && hdr[1] != 0)) {
        if (got == 1)
            st = util_err(err, CAVIAR_EFORMAT,
                          "invalid IDX file '%s' at byte 0: bad magic 0x%02x (an IDX file "
                          "starts with two zero bytes)",
                          name, hdr[0]);
        else
            st = util_err(err, CAVIAR_EFORMAT,
                          "invalid IDX file '%s' at byte 0: bad magic 0x%02x 0x%02x (an IDX "
                          "file starts with two zero bytes)",
                          name, hdr[0], hdr[1]);
        goto done;
    }
    int type = got >= 3 ? hdr[2] : 0;
    size_t elem = type_size(type);
    if (got >= 3 && elem == 0) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 2: unknown value type 0x%02x (known: 0x08 "
                      "u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)",
                      name, type);
        goto done;
    }
    if (got == 0) {
        st = util_err(err, CAVIAR_EFORMAT, "invalid IDX file '%s' at byte 0: the file is empty",
                      name);
        goto done;
    }
    if (got < 4) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte %zu: truncated header: the file ends after "
                      "%zu bytes, the header needs at least 4",
                      name, got, got);
        goto done;
    }
    int n_dims = hdr[3];
    if (n_dims < 1 || n_dims > 8) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 3: %d dimensions (an IDX file has 1 to 8)",
                      name, n_dims);
        goto done;
    }

    /* Dimensions, and the payload size they imply. */
    size_t hdr_len = 4 + 4 * (size_t)n_dims;
    if ((st = in_read(in, hdr + 4, hdr_len - 4, &got, err)) != CAVIAR_OK)
        goto done;
    if (got < hdr_len - 4) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte %zu: truncated header: the file ends after "
                      "%zu bytes, the header of %d dimensions needs %zu",
                      name, 4 + got, 4 + got, n_dims, hdr_len);
        goto done;
    }
    uint32_t dims[8];
    size_t n_values = 1;
    int overflow = 0;
    for (int i = 0; i < n_dims; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
        if (dims[i] == 0) {
            st = util_err(err, CAVIAR_EFORMAT,
                          "invalid IDX file '%s' at byte %d: dimension %d of %d is 0", name,
                          4 + 4 * i, i + 1, n_dims);
            goto done;
        }
        if (n_values > SIZE_MAX / dims[i])
            overflow = 1;
        else
            n_values *= dims[i];
    }
    /* The buffer must hold both the raw values and their floats. */
    size_t widest = elem > sizeof(float) ? elem : sizeof(float);
    char dims_text[8 * 14];
    format_dims(dims_text, sizeof dims_text, dims, n_dims);
    if (overflow || n_values > SIZE_MAX / widest) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte 4: dimensions %s describe more values than "
                      "fit in memory",
                      name, dims_text);
        goto done;
    }
    size_t payload = n_values * elem;

    /* The payload, in a buffer that grows only as fast as bytes arrive. */
    size_t cap = payload < IDX_FIRST_CAP ? payload : IDX_FIRST_CAP;
    size_t have = 0;
    buf = malloc(cap);
    if (!buf) {
        st = util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", name);
        goto done;
    }
    for (;;) {
        st = in_read(in, buf + have, cap - have, &got, err);
        have += got;
        if (st || have < cap || have == payload)
            break;
        size_t new_cap = cap > payload / 2 ? payload : 2 * cap;
        unsigned char *grown = realloc(buf, new_cap);
        if (!grown) {
            st = util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s' (%zu bytes)", name,
                          new_cap);
            goto done;
        }
        buf = grown;
        cap = new_cap;
    }
    if (st)
        goto done;
    if (have < payload) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte %zu: header claims %zu bytes of data but "
                      "only %zu follow (dimensions %s, type %s)",
                      name, hdr_len + have, payload, have, dims_text, type_name(type));
        goto done;
    }

    /* Nothing may follow the payload. Count what does, up to a limit. */
    size_t n_extra = 0;
    unsigned char scratch[4096];
    do {
        if ((st = in_read(in, scratch, sizeof scratch, &got, err)) != CAVIAR_OK)
            goto done;
        n_extra += got;
    } while (got == sizeof scratch && n_extra <= IDX_TRAILING_CAP);
    if (n_extra > 0) {
        st = util_err(err, CAVIAR_EFORMAT,
                      "invalid IDX file '%s' at byte %zu: %s%zu unexpected byte%s after the %zu "
                      "bytes of data the header describes",
                      name, hdr_len + payload, n_extra > IDX_TRAILING_CAP ? "more than " : "",
                      n_extra > IDX_TRAILING_CAP ? IDX_TRAILING_CAP : n_extra,
                      n_extra == 1 ? "" : "s", payload);
        goto done;
    }

    /* To floats, in the same buffer resized to n_values floats. */
    size_t float_len = n_values * sizeof(float);
    if (elem < sizeof(float)) {
        unsigned char *grown = realloc(buf, float_len);
        if (!grown) {
            st = util_err(err, CAVIAR_ENOMEM, "out of memory converting '%s' (%zu bytes)", name,
                          float_len);
            goto done;
        }
        buf = grown;
    }
    convert_in_place(buf, n_values, type);
    if (elem > sizeof(float)) {
        unsigned char *shrunk = realloc(buf, float_len);
        if (shrunk)
            buf = shrunk;
    }
    out->type = type;
    out->n_dims = n_dims;
    memcpy(out->dims, dims, (size_t)n_dims * sizeof dims[0]);
    out->n_values = n_values;
    out->values = (float *)(void *)buf;
    buf = NULL;

done:
    free(buf);
    if (in->gz_live)
        inflateEnd(&in->zs);
    in->gz_live = 0;
    return st;
}

caviar_status caviar_idx_parse(const void *bytes, size_t len, const char *name, caviar_idx *out,
                               caviar_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(memory)";
    if (!bytes && len > 0)
        return util_err(err, CAVIAR_EINVAL, "cannot parse IDX data '%s': no bytes given", name);
    idx_in in;
    memset(&in, 0, sizeof in);
    in.name = name;
    in.raw = bytes;
    in.raw_len = len;
    in.raw_eof = 1;
    return idx_decode(&in, out, err);
}

caviar_status caviar_idx_read(const char *path, caviar_idx *out, caviar_error *err)
{
    memset(out, 0, sizeof *out);
    idx_in in;
    memset(&in, 0, sizeof in);
    in.name = path;
    in.file = fopen(path, "rb");
    if (!in.file)
        return util_err(err, errno == ENOENT ? CAVIAR_EMISSING : CAVIAR_EIO,
                        "cannot open '%s': %s", path, strerror(errno));
    caviar_status st;
    in.buf = malloc(IDX_READ_CHUNK);
    if (!in.buf)
        st = util_err(err, CAVIAR_ENOMEM, "out of memory reading '%s'", path);
    else
        st = idx_decode(&in, out, err);
    free(in.buf);
    fclose(in.file);
    return st;
}

void caviar_idx_release(caviar_idx *idx)
{
    if (!idx)
        return;
    free(idx->values);
    memset(idx, 0, sizeof *idx);
}
