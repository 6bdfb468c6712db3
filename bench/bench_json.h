/*
 * bench_json.h — just enough JSON for the benchmarks' flat records (their own results files and
 * the lines the peer scripts print): a key is found as "key" followed by a colon anywhere in the
 * line (or in the object given). Shared by bench_sampler.c and bench_store.c.
 */
#ifndef CAVIAR_BENCH_JSON_H
#define CAVIAR_BENCH_JSON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline const char *jfind(const char *s, const char *key)
{
    size_t n = strlen(key);
    for (const char *q = strchr(s, '"'); q; q = strchr(q + 1, '"')) {
        if (strncmp(q + 1, key, n) != 0 || q[1 + n] != '"')
            continue;
        const char *v = q + 2 + n;
        v += strspn(v, " ");
        if (*v != ':')
            continue;
        return v + 1 + strspn(v + 1, " ");
    }
    return NULL;
}

/* A number (null reads as NaN); 0 when the key is missing. */
static inline int jget_num(const char *s, const char *key, double *out)
{
    const char *v = jfind(s, key);
    char *end;
    if (!v)
        return 0;
    if (strncmp(v, "null", 4) == 0 || strncmp(v, "NaN", 3) == 0) {
        *out = NAN;
        return 1;
    }
    *out = strtod(v, &end);
    return end != v;
}

/* A string, with simple escapes undone (\uXXXX becomes '?'); 0 when missing. */
static inline int jget_str(const char *s, const char *key, char *buf, size_t len)
{
    const char *v = jfind(s, key);
    size_t n = 0;
    if (!v || *v != '"')
        return 0;
    for (v++; *v && *v != '"'; v++) {
        char c = *v;
        if (c == '\\' && v[1]) {
            c = *++v == 'n' ? '\n' : *v;
            if (*v == 'u') {
                size_t hex = strspn(v + 1, "0123456789abcdefABCDEF");
                c = '?';
                v += hex < 4 ? hex : 4;
            }
        }
        if (n + 1 < len)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 1;
}

static inline int jget_bool(const char *s, const char *key, int *out)
{
    const char *v = jfind(s, key);
    if (!v)
        return 0;
    *out = strncmp(v, "true", 4) == 0;
    return 1;
}

/* An array of numbers (null reads as NaN); the count read, at most max. */
static inline size_t jget_nums(const char *s, const char *key, double *out, size_t max)
{
    const char *v = jfind(s, key);
    size_t n = 0;
    if (!v || *v != '[')
        return 0;
    for (v++; *v && *v != ']' && n < max;) {
        char *end;
        v += strspn(v, " ,");
        if (*v == ']')
            break;
        if (strncmp(v, "null", 4) == 0) {
            out[n++] = NAN;
            v += 4;
            continue;
        }
        out[n++] = strtod(v, &end);
        if (end == v)
            break;
        v = end;
    }
    return n;
}

#endif
