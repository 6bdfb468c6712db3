/*
 * test_idx.c — the IDX reader: every value type round-trips, plain and gzipped, from memory and
 * from a file; and a catalogue of bad inputs, each with the exact message it must produce.
 *
 * Every catalogue entry is checked twice, through caviar_idx_parse() and through
 * caviar_idx_read() on a temporary file, since both share one decoder and must agree. In the
 * expected messages '@' stands for the name (the given name, or the temporary file's path).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "caviar/data.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- byte buffers ---- */

typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u8(bytes *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(b, &c, 1);
}

static void put_be(bytes *b, uint64_t v, int n_bytes)
{
    for (int i = n_bytes - 1; i >= 0; i--)
        put_u8(b, (unsigned)(v >> (8 * i)) & 0xff);
}

/* An IDX header: magic, type, dims. */
static void put_header(bytes *b, int type, int n_dims, const uint32_t *dims)
{
    put_u8(b, 0);
    put_u8(b, 0);
    put_u8(b, (unsigned)type);
    put_u8(b, (unsigned)n_dims);
    for (int i = 0; i < n_dims; i++)
        put_be(b, dims[i], 4);
}

/* A gzip member holding src (level 0 gives stored blocks, whose size is predictable). */
static bytes gzip(const unsigned char *src, size_t len, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    bytes out = {0};
    size_t bound = deflateBound(&zs, (uLong)len);
    out.p = malloc(bound);
    assert_non_null(out.p);
    out.cap = bound;
    zs.next_in = (unsigned char *)(uintptr_t)src;
    zs.avail_in = (uInt)len;
    zs.next_out = out.p;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.len = bound - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static char *write_temp(const void *data, size_t len)
{
    char *path = strdup("/tmp/caviar-test-idx-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)data + done, len - done);
        assert_true(w > 0);
        done += (size_t)w;
    }
    close(fd);
    return path;
}

/* expected with every '@' replaced by name. */
static void expand(char *out, size_t cap, const char *expected, const char *name)
{
    size_t pos = 0;
    for (const char *p = expected; *p && pos + 1 < cap; p++) {
        if (*p == '@') {
            size_t n = strlen(name);
            assert_true(pos + n + 1 < cap);
            memcpy(out + pos, name, n);
            pos += n;
        } else {
            out[pos++] = *p;
        }
    }
    out[pos] = '\0';
}

/* The input must fail with status and message, from memory and from a file. */
static void expect_fail(const void *data, size_t len, caviar_status status, const char *expected)
{
    char want[CAVIAR_ERRMSG_LEN];
    caviar_idx idx;
    caviar_error err = {0};
    caviar_status st = caviar_idx_parse(data, len, "mem.idx", &idx, &err);
    expand(want, sizeof want, expected, "mem.idx");
    assert_int_equal(st, status);
    assert_int_equal(err.status, status);
    assert_string_equal(err.msg, want);
    assert_null(idx.values);

    char *path = write_temp(data, len);
    memset(&err, 0, sizeof err);
    st = caviar_idx_read(path, &idx, &err);
    expand(want, sizeof want, expected, path);
    assert_int_equal(st, status);
    assert_string_equal(err.msg, want);
    assert_null(idx.values);
    unlink(path);
    free(path);
}

/* The same, for the message's distinctive part only (where zlib words the rest). */
static void expect_fail_prefix(const void *data, size_t len, const char *expected_prefix)
{
    char want[CAVIAR_ERRMSG_LEN];
    caviar_idx idx;
    caviar_error err = {0};
    assert_int_equal(caviar_idx_parse(data, len, "mem.idx", &idx, &err), CAVIAR_EFORMAT);
    expand(want, sizeof want, expected_prefix, "mem.idx");
    assert_memory_equal(err.msg, want, strlen(want));
}

/* ---- good inputs ---- */

/* Values that every type can hold exactly, and their encodings. */
static void encode_value(bytes *b, int type, double v)
{
    switch (type) {
    case 0x08: put_u8(b, (unsigned)v); break;
    case 0x09: put_u8(b, (unsigned)((int)v & 0xff)); break;
    case 0x0B: put_be(b, (uint64_t)((long)v & 0xffff), 2); break;
    case 0x0C: put_be(b, (uint64_t)((long long)v & 0xffffffffLL), 4); break;
    case 0x0D: {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_be(b, u, 4);
        break;
    }
    case 0x0E: {
        uint64_t u;
        memcpy(&u, &v, 8);
        put_be(b, u, 8);
        break;
    }
    }
}

static void round_trip_type(int type)
{
    static const double u8_vals[] = {0, 1, 127, 128, 255, 42};
    static const double i8_vals[] = {0, 1, -1, 127, -128, -42};
    static const double i16_vals[] = {0, 1, -1, 32767, -32768, 1234};
    static const double i32_vals[] = {0, -1, 16777216, -16777216, 2147483520.0, -2147483648.0};
    static const double f32_vals[] = {0, -0.5, 1.5e-3, 3.25e10, -1e-30, 1.0};
    static const double f64_vals[] = {0, 0.1, -2.5, 1e300, -1e-300, 1e30};
    const double *vals = type == 0x08   ? u8_vals
                         : type == 0x09 ? i8_vals
                         : type == 0x0B ? i16_vals
                         : type == 0x0C ? i32_vals
                         : type == 0x0D ? f32_vals
                                        : f64_vals;
    uint32_t dims[3] = {1, 2, 3};
    bytes b = {0};
    put_header(&b, type, 3, dims);
    for (int i = 0; i < 6; i++)
        encode_value(&b, type, vals[i]);
    bytes gz = gzip(b.p, b.len, 6);
    for (int form = 0; form < 4; form++) {
        const bytes *src = form & 1 ? &gz : &b;
        caviar_idx idx;
        caviar_error err = {0};
        caviar_status st;
        char *path = NULL;
        if (form & 2) {
            path = write_temp(src->p, src->len);
            st = caviar_idx_read(path, &idx, &err);
        } else {
            st = caviar_idx_parse(src->p, src->len, "rt", &idx, &err);
        }
        assert_int_equal(st, CAVIAR_OK);
        assert_int_equal(idx.type, type);
        assert_int_equal(idx.n_dims, 3);
        assert_int_equal(idx.dims[0], 1);
        assert_int_equal(idx.dims[1], 2);
        assert_int_equal(idx.dims[2], 3);
        assert_int_equal(idx.n_values, 6);
        for (int i = 0; i < 6; i++) {
            float want = (float)vals[i]; /* 1e300 becomes +inf, as IEEE conversion has it */
            assert_memory_equal(&idx.values[i], &want, sizeof want);
        }
        caviar_idx_release(&idx);
        assert_null(idx.values);
        caviar_idx_release(&idx); /* twice is harmless */
        if (path) {
            unlink(path);
            free(path);
        }
    }
    free(b.p);
    free(gz.p);
}

static void test_round_trip_all_types(void **state)
{
    (void)state;
    static const int types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        round_trip_type(types[i]);
    caviar_idx_release(NULL);
}

/* A payload larger than the first buffer and than one file read: the geometric growth and the
 * chunked reads must deliver every byte in order. */
static void test_large_payload(void **state)
{
    (void)state;
    uint32_t dims[2] = {1000, 777};
    bytes b = {0};
    put_header(&b, 0x08, 2, dims);
    for (size_t i = 0; i < 777000; i++)
        put_u8(&b, (unsigned)((i * 2654435761u) >> 24));
    bytes gz = gzip(b.p, b.len, 1);
    char *paths[2] = {write_temp(b.p, b.len), write_temp(gz.p, gz.len)};
    for (int k = 0; k < 2; k++) {
        caviar_idx idx;
        caviar_error err = {0};
        assert_int_equal(caviar_idx_read(paths[k], &idx, &err), CAVIAR_OK);
        assert_int_equal(idx.n_values, 777000);
        for (size_t i = 0; i < 777000; i++)
            assert_true(idx.values[i] == (float)b.p[12 + i]);
        caviar_idx_release(&idx);
        unlink(paths[k]);
        free(paths[k]);
    }
    free(b.p);
    free(gz.p);
}

/* Two gzip members, the first ending at, just before and just after the 64 KiB boundary of the
 * file reader: the check for a following member must look across the boundary. */
static void test_gzip_members(void **state)
{
    (void)state;
    uint32_t dims[1] = {70000};
    bytes b = {0};
    put_header(&b, 0x08, 1, dims);
    for (size_t i = 0; i < 70000; i++)
        put_u8(&b, (unsigned)(i % 251));
    for (long target = 65534; target <= 65537; target++) {
        /* Stored blocks: the member's size grows by one per byte, so a split exists. */
        size_t split = (size_t)target - 100;
        bytes first = gzip(b.p, split, 0);
        while ((long)first.len < target) {
            split++;
            free(first.p);
            first = gzip(b.p, split, 0);
        }
        assert_int_equal(first.len, target);
        bytes second = gzip(b.p + split, b.len - split, 0);
        bytes both = {0};
        put(&both, first.p, first.len);
        put(&both, second.p, second.len);
        for (int via_file = 0; via_file < 2; via_file++) {
            caviar_idx idx;
            caviar_error err = {0};
            char *path = via_file ? write_temp(both.p, both.len) : NULL;
            caviar_status st = via_file ? caviar_idx_read(path, &idx, &err)
                                        : caviar_idx_parse(both.p, both.len, "m", &idx, &err);
            assert_int_equal(st, CAVIAR_OK);
            assert_int_equal(idx.n_values, 70000);
            assert_true(idx.values[69999] == (float)(69999 % 251));
            caviar_idx_release(&idx);
            if (path) {
                unlink(path);
                free(path);
            }
        }
        free(first.p);
        free(second.p);
        free(both.p);
    }
    free(b.p);
}

/* ---- the catalogue of bad inputs ---- */

static void test_bad_header(void **state)
{
    (void)state;
    expect_fail("", 0, CAVIAR_EFORMAT, "invalid IDX file '@' at byte 0: the file is empty");
    expect_fail("\x01\x02\x08\x01", 4, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 0: bad magic 0x01 0x02 (an IDX file starts with "
                "two zero bytes)");
    expect_fail("P", 1, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 0: bad magic 0x50 (an IDX file starts with two "
                "zero bytes)");
    expect_fail("\x00\x00\x07\x01\x00\x00\x00\x01\x00", 9, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 2: unknown value type 0x07 (known: 0x08 u8, 0x09 "
                "i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)");
    expect_fail("\x00\x00\x08\x00", 4, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 3: 0 dimensions (an IDX file has 1 to 8)");
    expect_fail("\x00\x00\x08\x09", 4, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 3: 9 dimensions (an IDX file has 1 to 8)");
    expect_fail("\x00\x00", 2, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 2: truncated header: the file ends after 2 bytes, "
                "the header needs at least 4");
    expect_fail("\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00", 10, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 10: truncated header: the file ends after 10 "
                "bytes, the header of 3 dimensions needs 16");
    expect_fail("\x00\x00\x08\x02\x00\x00\x00\x03\x00\x00\x00\x00", 12, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 8: dimension 2 of 2 is 0");

    bytes b = {0};
    uint32_t big[8] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
                       0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    put_header(&b, 0x0E, 8, big);
    expect_fail(b.p, b.len, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 4: dimensions 4294967295 x 4294967295 x "
                "4294967295 x 4294967295 x 4294967295 x 4294967295 x 4294967295 x 4294967295 "
                "describe more values than fit in memory");
    free(b.p);
}

static void test_bad_payload(void **state)
{
    (void)state;
    uint32_t dims[2] = {2, 3};
    bytes b = {0};
    put_header(&b, 0x08, 2, dims);
    put(&b, "\x01\x02\x03\x04", 4);
    expect_fail(b.p, b.len, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 16: header claims 6 bytes of data but only 4 "
                "follow (dimensions 2 x 3, type u8)");
    put(&b, "\x05\x06\x07", 3);
    expect_fail(b.p, b.len, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 18: 1 unexpected byte after the 6 bytes of data "
                "the header describes");
    put(&b, "\x08", 1);
    expect_fail(b.p, b.len, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 18: 2 unexpected bytes after the 6 bytes of data "
                "the header describes");
    free(b.p);

    uint32_t d16[1] = {3};
    bytes c = {0};
    put_header(&c, 0x0B, 1, d16);
    put(&c, "\x00\x01\x00\x02\x00", 5);
    expect_fail(c.p, c.len, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 13: header claims 6 bytes of data but only 5 "
                "follow (dimensions 3, type i16)");
    free(c.p);
}

/* A 20-byte input that claims gigabytes must fail on the missing bytes, not on allocation.
 * Plain C checks rather than cmocka asserts, since this may run in a forked child. Returns the
 * number of inputs that did not give their message. */
static int huge_claim_failures(void)
{
    static const uint32_t dims4g[2] = {65536, 65536};
    static const uint32_t dims2p[3] = {65536, 65536, 65536};
    bytes inputs[3] = {{0}, {0}, {0}};
    put_header(&inputs[0], 0x08, 2, dims4g);
    put(&inputs[0], "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    /* 2 PB of f64: no machine (and no sanitizer's allocator) would grant that, so a reader that
     * allocated by the claim would fail with another message or crash. */
    put_header(&inputs[1], 0x0E, 3, dims2p);
    put(&inputs[1], "\x01\x02\x03\x04", 4);
    inputs[2] = gzip(inputs[0].p, inputs[0].len, 9);
    static const char *const want[3] = {
        "invalid IDX file '@' at byte 20: header claims 4294967296 bytes of data but only 8 "
        "follow (dimensions 65536 x 65536, type u8)",
        "invalid IDX file '@' at byte 20: header claims 2251799813685248 bytes of data but only "
        "4 follow (dimensions 65536 x 65536 x 65536, type f64)",
        "invalid IDX file '@' at byte 20: header claims 4294967296 bytes of data but only 8 "
        "follow (dimensions 65536 x 65536, type u8)",
    };
    int failures = 0;
    for (int i = 0; i < 3; i++) {
        char path[] = "/tmp/caviar-test-idx-XXXXXX", expected[CAVIAR_ERRMSG_LEN];
        int fd = mkstemp(path);
        if (fd < 0 || write(fd, inputs[i].p, inputs[i].len) != (ssize_t)inputs[i].len)
            failures++;
        if (fd >= 0)
            close(fd);
        for (int via_file = 0; via_file < 2; via_file++) {
            caviar_idx idx;
            caviar_error err = {0};
            caviar_status st = via_file ? caviar_idx_read(path, &idx, &err)
                                        : caviar_idx_parse(inputs[i].p, inputs[i].len, "mem.idx",
                                                           &idx, &err);
            expand(expected, sizeof expected, want[i], via_file ? path : "mem.idx");
            if (st != CAVIAR_EFORMAT || strcmp(err.msg, expected) != 0) {
                fprintf(stderr, "huge claim %d: got status %d, message: %s\n", i, (int)st,
                        err.msg);
                failures++;
            }
            caviar_idx_release(&idx);
        }
        unlink(path);
        free(inputs[i].p);
    }
    return failures;
}

static void test_huge_claim(void **state)
{
    (void)state;
    if (UNDER_ASAN) {
        /* No address-space cap under ASan (its shadow memory needs terabytes of it); the 2 PB
         * case still proves the point there. */
        assert_int_equal(huge_claim_failures(), 0);
        return;
    }
    /* In a child whose address space is capped at 256 MB above what it uses now, so that no
     * 4 GB allocation can succeed. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1)
            _exit(3);
        fclose(f);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max =
            (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(4);
        _exit(huge_claim_failures() == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bad_gzip(void **state)
{
    (void)state;
    uint32_t dims[1] = {300};
    bytes b = {0};
    put_header(&b, 0x08, 1, dims);
    for (int i = 0; i < 300; i++)
        put_u8(&b, (unsigned)(i * 7));
    bytes gz = gzip(b.p, b.len, 9);

    /* Block type 3 does not exist. The deflate data starts after the 10-byte gzip header. */
    bytes bad = {0};
    put(&bad, gz.p, gz.len);
    bad.p[10] |= 0x06;
    expect_fail(bad.p, bad.len, CAVIAR_EFORMAT,
                "invalid IDX file '@': corrupt gzip stream at compressed byte 11: invalid block "
                "type");
    /* A wrong CRC in the trailer. */
    memcpy(bad.p, gz.p, gz.len);
    bad.p[gz.len - 8] ^= 0xff;
    char want[200];
    snprintf(want, sizeof want,
             "invalid IDX file '@': corrupt gzip stream at compressed byte %zu: incorrect data "
             "check",
             gz.len - 4);
    expect_fail(bad.p, bad.len, CAVIAR_EFORMAT, want);
    /* An unknown compression method in the gzip header. */
    memcpy(bad.p, gz.p, gz.len);
    bad.p[2] = 9;
    expect_fail(bad.p, bad.len, CAVIAR_EFORMAT,
                "invalid IDX file '@': corrupt gzip stream at compressed byte 4: unknown "
                "compression method");
    /* Truncated: the trailer is cut off, then half the data too. */
    snprintf(want, sizeof want,
             "invalid IDX file '@': truncated gzip stream: the input ends at compressed byte "
             "%zu, inside the stream",
             gz.len - 4);
    expect_fail(gz.p, gz.len - 4, CAVIAR_EFORMAT, want);
    expect_fail(gz.p, 25, CAVIAR_EFORMAT,
                "invalid IDX file '@': truncated gzip stream: the input ends at compressed byte "
                "25, inside the stream");
    expect_fail("\x1f\x8b", 2, CAVIAR_EFORMAT,
                "invalid IDX file '@': truncated gzip stream: the input ends at compressed byte "
                "2, inside the stream");
    /* Something after the gzip stream that is not another gzip member. */
    bytes tail = {0};
    put(&tail, gz.p, gz.len);
    put(&tail, "xy", 2);
    snprintf(want, sizeof want,
             "invalid IDX file '@': unexpected bytes after the end of the gzip stream, at "
             "compressed byte %zu",
             gz.len);
    expect_fail(tail.p, tail.len, CAVIAR_EFORMAT, want);
    /* A well-formed gzip of malformed IDX content reports the content's fault. */
    bytes inner = gzip((const unsigned char *)"\x00\x00\x08\x01\x00\x00\x00\x05\x01", 9, 6);
    expect_fail(inner.p, inner.len, CAVIAR_EFORMAT,
                "invalid IDX file '@' at byte 9: header claims 5 bytes of data but only 1 "
                "follow (dimensions 5, type u8)");
    expect_fail_prefix(gz.p, 12, "invalid IDX file '@': truncated gzip stream");
    free(b.p);
    free(gz.p);
    free(bad.p);
    free(tail.p);
    free(inner.p);
}

static void test_open_errors(void **state)
{
    (void)state;
    caviar_idx idx;
    caviar_error err = {0};
    assert_int_equal(caviar_idx_read("/nonexistent/caviar/x.idx", &idx, &err), CAVIAR_EMISSING);
    assert_string_equal(err.msg,
                        "cannot open '/nonexistent/caviar/x.idx': No such file or directory");
    assert_null(idx.values);
    assert_int_equal(caviar_idx_parse(NULL, 5, "x", &idx, &err), CAVIAR_EINVAL);
    assert_string_equal(err.msg, "cannot parse IDX data 'x': no bytes given");
    assert_int_equal(caviar_idx_parse(NULL, 0, NULL, &idx, &err), CAVIAR_EFORMAT);
    assert_string_equal(err.msg, "invalid IDX file '(memory)' at byte 0: the file is empty");
    /* A NULL error report is allowed. */
    assert_int_equal(caviar_idx_parse("x", 1, "x", &idx, NULL), CAVIAR_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_types),
        cmocka_unit_test(test_large_payload),
        cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_payload),
        cmocka_unit_test(test_huge_claim),
        cmocka_unit_test(test_bad_gzip),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
