/*
 * util.h — the bottom layer of libcaviar: one seeded random generator, error reporting helpers,
 * small string and number parsing helpers, JSON writing and a monotonic clock.
 *
 * Nothing here knows about datasets, networks or studies; every other subsystem may use it.
 */
#ifndef CAVIAR_UTIL_H
#define CAVIAR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "caviar/common.h"

/* ---- code generation -------------------------------------------------------------------
 * UTIL_CLONES_AVX2 before a function compiles it twice, for AVX2 and for the baseline, and picks
 * the version when the program loads (GCC's target_clones; x86-64 Linux with glibc only,
 * elsewhere it is empty). Only for loops whose results do not depend on the vector width:
 * without FMA (which AVX2 alone does not enable, and ISO C11 does not contract into) every
 * element gets the same IEEE operations in the same order, so the bits are the same. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    defined(__GLIBC__)
#define UTIL_CLONES_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define UTIL_CLONES_AVX2
#endif

/* ---- random numbers --------------------------------------------------------------------------
 * xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any 64-bit seed, 0
 * included, gives a well-mixed state. The whole state is four words: copying the struct forks
 * the stream, and saving it in a checkpoint makes a resumed run repeat the same numbers.
 * util_rng_derive() gives an independent stream for (seed, stream id), e.g. (study seed, trial). */
typedef struct util_rng {
    uint64_t s[4];
} util_rng;

void util_rng_seed(util_rng *rng, uint64_t seed);
void util_rng_derive(util_rng *rng, uint64_t seed, uint64_t stream);
uint64_t util_rng_u64(util_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double util_rng_uniform(util_rng *rng);
/* Uniform integer in [0, n), without modulo bias; n must be > 0. */
uint64_t util_rng_below(util_rng *rng, uint64_t n);
/* Standard normal deviate (Marsaglia's polar method; consumes a variable number of draws). */
double util_rng_normal(util_rng *rng);
/* Fisher–Yates shuffle of idx[0..n). */
void util_rng_shuffle(util_rng *rng, uint32_t *idx, size_t n);

/* ---- errors ----------------------------------------------------------------------------------
 * util_err() formats a message into err (if not NULL), stores the status, and returns it, so
 * that a failing path is one line:  return util_err(err, CAVIAR_EIO, "cannot open '%s': %s", ...);
 */
caviar_status util_err(caviar_error *err, caviar_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to an existing message (for adding context while unwinding). */
void util_err_prefix(caviar_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void util_err_clear(caviar_error *err);

/* ---- strings and numbers ---------------------------------------------------------------------- */
/* Strict parsers: the whole of s (no leading/trailing garbage, no empty string) must be a number
 * in range. They return 0 on success and -1 otherwise, leaving *out untouched on failure. */
int util_parse_double(const char *s, double *out);
int util_parse_size(const char *s, size_t *out);
int util_parse_u64(const char *s, uint64_t *out);
/* Case-sensitive match of s against a NULL-terminated list; returns the index or -1. */
int util_lookup(const char *s, const char *const *names);
/* Levenshtein distance, for "did you mean" suggestions; capped at 255. */
int util_edit_distance(const char *a, const char *b);

/* ---- settings ----------------------------------------------------------------------------
 * "key=value,key=value" strings, as samplers and pruners take them. Parse once, read each key
 * with a typed getter (which checks the range and names the key in its message), then call
 * util_settings_finish(), which reports any key nobody read, with a "did you mean". */
typedef struct util_settings {
    const char *what;  /* "sampler 'tpe'", for messages */
    size_t n;
    char **keys, **values;
    unsigned char *used;
} util_settings;

caviar_status util_settings_parse(util_settings *s, const char *text, const char *what,
                                  caviar_error *err);
void util_settings_release(util_settings *s);
/* Each leaves *out at its default when the key is absent. */
caviar_status util_settings_double(util_settings *s, const char *key, double lo, double hi,
                                   double *out, caviar_error *err);
caviar_status util_settings_size(util_settings *s, const char *key, size_t lo, size_t hi,
                                 size_t *out, caviar_error *err);
caviar_status util_settings_bool(util_settings *s, const char *key, int *out, caviar_error *err);
/* The raw string, or NULL; marks the key as read. */
const char *util_settings_str(util_settings *s, const char *key);
/* CAVIAR_EINVAL for the first key that was never read: "unknown setting 'n_startp' for sampler
 * 'tpe'\nhint: did you mean 'n_startup'?" (the hint lists known keys when none is close). */
caviar_status util_settings_finish(util_settings *s, const char *const *known, caviar_error *err);

/* ---- JSON writing ----------------------------------------------------------------------------
 * A tiny streaming writer for one-line JSON objects: {"epoch": 3, "dev_loss": 0.41}.
 * Non-finite doubles are written as null (JSON has no NaN). Strings are escaped. */
typedef struct util_json {
    FILE *out;
    int n_fields;
} util_json;

void util_json_begin(util_json *j, FILE *out);
void util_json_str(util_json *j, const char *key, const char *value);
void util_json_num(util_json *j, const char *key, double value);
void util_json_int(util_json *j, const char *key, long long value);
void util_json_bool(util_json *j, const char *key, int value);
void util_json_end(util_json *j); /* writes "}\n" and flushes */
void util_json_escape(FILE *out, const char *s);

/* ---- base64 (RFC 4648, with padding): bytes as text for TEXT columns ---------------------------- */
/* A malloc'd NUL-terminated encoding of data[0 .. len); NULL when out of memory. */
char *util_base64_encode(const void *data, size_t len);
/* Decodes exactly a text written by util_base64_encode (no spaces, padded) into a malloc'd
 * buffer of *len bytes; -1 on malformed text or out of memory (*out NULL). */
int util_base64_decode(const char *text, void **out, size_t *len);

/* ---- time ------------------------------------------------------------------------------------ */
/* Seconds from an arbitrary fixed point, monotonic. */
double util_now(void);

#endif
