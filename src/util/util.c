/*
 * util.c — random numbers, error formatting, strict number parsing, JSON writing, clock.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void util_rng_seed(util_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

void util_rng_derive(util_rng *rng, uint64_t seed, uint64_t stream)
{
    /* Mix the stream id through splitmix64 before combining, so that neighbouring (seed, stream)
     * pairs such as (1, 2) and (2, 1) give unrelated states. */
    uint64_t x = stream ^ 0x6a09e667f3bcc909ULL;
    uint64_t h = splitmix64(&x);
    util_rng_seed(rng, seed ^ h);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t util_rng_u64(util_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double util_rng_uniform(util_rng *rng)
{
    return (double)(util_rng_u64(rng) >> 11) * 0x1.0p-53;
}

uint64_t util_rng_below(util_rng *rng, uint64_t n)
{
    /* Rejection on the top of the range: accept x only below the largest multiple of n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = util_rng_u64(rng);
    while (x >= limit);
    return x % n;
}

double util_rng_normal(util_rng *rng)
{
    double u, v, s;
    do {
        u = 2.0 * util_rng_uniform(rng) - 1.0;
        v = 2.0 * util_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

void util_rng_shuffle(util_rng *rng, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)util_rng_below(rng, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ---- errors ---- */

caviar_status util_err(caviar_error *err, caviar_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void util_err_prefix(caviar_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[CAVIAR_ERRMSG_LEN], old[CAVIAR_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* A message longer than the buffer is cut; what failed first stays at the front. */
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old) >= (int)sizeof err->msg)
        err->msg[sizeof err->msg - 1] = '\0';
}

void util_err_clear(caviar_error *err)
{
    if (err) {
        err->status = CAVIAR_OK;
        err->msg[0] = '\0';
    }
}

const char *caviar_status_str(caviar_status status)
{
    switch (status) {
    case CAVIAR_OK: return "ok";
    case CAVIAR_ENOMEM: return "out of memory";
    case CAVIAR_EINVAL: return "invalid argument";
    case CAVIAR_EIO: return "input/output error";
    case CAVIAR_EFORMAT: return "malformed input";
    case CAVIAR_EMISSING: return "not found";
    case CAVIAR_DIVERGED: return "diverged";
    case CAVIAR_STOPPED: return "stopped";
    }
    return "unknown status";
}

/* ---- strings and numbers ---- */

int util_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int util_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1; /* strtoull would accept " 5", "+5" and "-5" */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int util_parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (util_parse_u64(s, &v) != 0 || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

int util_lookup(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int util_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 255;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 255 ? 255 : row[lb];
}

/* ---- JSON ---- */

void util_json_escape(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void util_json_begin(util_json *j, FILE *out)
{
    j->out = out;
    j->n_fields = 0;
    fputc('{', out);
}

static void json_key(util_json *j, const char *key)
{
    if (j->n_fields++)
        fputs(", ", j->out);
    util_json_escape(j->out, key);
    fputs(": ", j->out);
}

void util_json_str(util_json *j, const char *key, const char *value)
{
    json_key(j, key);
    util_json_escape(j->out, value);
}

void util_json_num(util_json *j, const char *key, double value)
{
    json_key(j, key);
    if (isfinite(value))
        fprintf(j->out, "%.9g", value);
    else
        fputs("null", j->out);
}

void util_json_int(util_json *j, const char *key, long long value)
{
    json_key(j, key);
    fprintf(j->out, "%lld", value);
}

void util_json_bool(util_json *j, const char *key, int value)
{
    json_key(j, key);
    fputs(value ? "true" : "false", j->out);
}

void util_json_end(util_json *j)
{
    fputs("}\n", j->out);
    fflush(j->out);
}

/* ---- time ---- */

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


/* ---- settings ---- */

void util_settings_release(util_settings *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->values[i]);
    }
    free(s->keys);
    free(s->values);
    free(s->used);
    memset(s, 0, sizeof *s);
}

static char *trimmed(const char *b, const char *e)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    char *r = malloc((size_t)(e - b) + 1);
    if (r) {
        memcpy(r, b, (size_t)(e - b));
        r[e - b] = '\0';
    }
    return r;
}

caviar_status util_settings_parse(util_settings *s, const char *text, const char *what,
                                  caviar_error *err)
{
    memset(s, 0, sizeof *s);
    s->what = what;
    if (!text)
        return CAVIAR_OK;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    s->keys = calloc(cap, sizeof *s->keys);
    s->values = calloc(cap, sizeof *s->values);
    s->used = calloc(cap, 1);
    if (!s->keys || !s->values || !s->used) {
        util_settings_release(s);
        return util_err(err, CAVIAR_ENOMEM, "cannot parse settings: out of memory");
    }
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char *item = trimmed(p, end);
        if (!item) {
            util_settings_release(s);
            return util_err(err, CAVIAR_ENOMEM, "cannot parse settings: out of memory");
        }
        if (*item == '\0') { /* tolerate "a=1,,b=2" and a trailing comma */
            free(item);
        } else if (!eq) {
            util_err(err, CAVIAR_EINVAL, "setting '%s' of %s needs a value (key=value)", item,
                     what);
            free(item);
            util_settings_release(s);
            return CAVIAR_EINVAL;
        } else {
            free(item);
            char *k = trimmed(p, eq), *v = trimmed(eq + 1, end);
            if (!k || !v) {
                free(k);
                free(v);
                util_settings_release(s);
                return util_err(err, CAVIAR_ENOMEM, "cannot parse settings: out of memory");
            }
            for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->keys[i], k) == 0) {
                    util_err(err, CAVIAR_EINVAL, "setting '%s' of %s is given twice", k, what);
                    free(k);
                    free(v);
                    util_settings_release(s);
                    return CAVIAR_EINVAL;
                }
            s->keys[s->n] = k;
            s->values[s->n++] = v;
        }
        p = *end ? end + 1 : end;
    }
    return CAVIAR_OK;
}

const char *util_settings_str(util_settings *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) {
            s->used[i] = 1;
            return s->values[i];
        }
    return NULL;
}

caviar_status util_settings_double(util_settings *s, const char *key, double lo, double hi,
                                   double *out, caviar_error *err)
{
    const char *v = util_settings_str(s, key);
    double d;
    if (!v)
        return CAVIAR_OK;
    if (util_parse_double(v, &d) != 0 || !(d >= lo && d <= hi))
        return util_err(err, CAVIAR_EINVAL, "setting %s=%s of %s: expected a number in [%g, %g]",
                        key, v, s->what, lo, hi);
    *out = d;
    return CAVIAR_OK;
}

caviar_status util_settings_size(util_settings *s, const char *key, size_t lo, size_t hi,
                                 size_t *out, caviar_error *err)
{
    const char *v = util_settings_str(s, key);
    size_t z;
    if (!v)
        return CAVIAR_OK;
    if (util_parse_size(v, &z) != 0 || z < lo || z > hi)
        return util_err(err, CAVIAR_EINVAL,
                        "setting %s=%s of %s: expected a whole number in [%zu, %zu]", key, v,
                        s->what, lo, hi);
    *out = z;
    return CAVIAR_OK;
}

caviar_status util_settings_bool(util_settings *s, const char *key, int *out, caviar_error *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    const char *v = util_settings_str(s, key);
    if (!v)
        return CAVIAR_OK;
    if (util_lookup(v, yes) >= 0)
        *out = 1;
    else if (util_lookup(v, no) >= 0)
        *out = 0;
    else
        return util_err(err, CAVIAR_EINVAL, "setting %s=%s of %s: expected true or false", key,
                        v, s->what);
    return CAVIAR_OK;
}

caviar_status util_settings_finish(util_settings *s, const char *const *known, caviar_error *err)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->used[i])
            continue;
        const char *best = NULL;
        int best_d = 3; /* suggest only close names */
        for (int k = 0; known && known[k]; k++) {
            int d = util_edit_distance(s->keys[i], known[k]);
            if (d < best_d)
                best = known[k], best_d = d;
        }
        if (best)
            return util_err(err, CAVIAR_EINVAL, "unknown setting '%s' for %s\nhint: did you "
                                                "mean '%s'?", s->keys[i], s->what, best);
        char list[512] = "";
        size_t at = 0;
        for (int k = 0; known && known[k] && at < sizeof list; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", k ? ", " : "", known[k]);
        return util_err(err, CAVIAR_EINVAL, "unknown setting '%s' for %s\nhint: its settings "
                                            "are: %s", s->keys[i], s->what,
                        at ? list : "(none)");
    }
    return CAVIAR_OK;
}

/* ---- base64 ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *util_base64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    size_t n = (len + 2) / 3 * 4;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int util_base64_decode(const char *text, void **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = strlen(text);
    if (n % 4 != 0)
        return -1;
    size_t pad = n && text[n - 1] == '=' ? (text[n - 2] == '=' ? 2 : 1) : 0;
    size_t bytes = n / 4 * 3 - pad;
    unsigned char *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return -1;
    size_t at = 0;
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n;
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = b64_value(text[i + k]);
            /* '=' only as the padding of the last group */
            if (v[k] < 0 && !(last && text[i + k] == '=' && k >= 4 - (int)pad)) {
                free(buf);
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 | (uint32_t)(v[3] < 0 ? 0 : v[3]);
        buf[at++] = (unsigned char)(w >> 16);
        if (at < bytes)
            buf[at++] = (unsigned char)(w >> 8);
        if (at < bytes)
            buf[at++] = (unsigned char)w;
    }
    *out = buf;
    *len = bytes;
    return 0;
}
