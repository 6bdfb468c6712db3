/*
 * metrics.c — metric lines: what a training program prints on its standard output for caviar
 * to read (the command objective, command.c). Two forms:
 *
 *   JSON  {"step": 3, "val_loss": 0.41, "val": {"acc": 0.9}, "note": "ok"}
 *   kv    step=3 val_loss=0.41 val.acc=0.9          (separated by spaces, tabs or commas)
 *
 * Which lines are metric lines. A program also prints progress bars, warnings and whatever
 * else, and none of that may fail a trial, so the rule is about the shape of the whole line:
 *
 *   - A line whose first character other than blanks (space, tab, CR, LF) is '{' claims to
 *     be a JSON object. It must be one, followed by nothing but blanks; anything else is -1
 *     with the byte offset. (A Python dict printed with single quotes is such a line: the
 *     command objective notes it in the log and goes on.)
 *   - Any other line is a kv line when it has at least one token and every token is
 *     NAME=NUMBER, a NAME starting with a letter or '_' and going on with letters, digits and
 *     "_.-/", a NUMBER being [+-]digits[.digits][e[+-]digits] (".5" and "5." too) or nan, inf,
 *     infinity in any case. One token of another shape ("Epoch", "3.2s", "--lr=0.1") and the
 *     line is ordinary output: 0. A kv line can still be -1 for what its shape cannot say: a
 *     name longer than METRIC_NAME_LEN - 1 bytes, more than METRIC_MAX metrics, a step that is
 *     not an integer, a number longer than 255 characters.
 *
 * JSON values. Numbers follow JSON's grammar, plus NaN, Infinity and -Infinity, which
 * Python's json.dumps writes by default; a number too large for a double is ±inf, as Python
 * reads it. Nested objects are flattened with dots ({"val": {"acc": 1}} is "val.acc"), up to
 * 32 levels. Strings, true, false, null and arrays are checked for well-formedness and
 * ignored. A repeated name keeps its last value (as Python's json.loads does). An empty name
 * is -1, whatever its value.
 *
 * The step. The top-level keys "step", then "_step" (W&B's own counter), give the step; they
 * are not metrics, and their value must be an integer (-1 otherwise, unless it is a string,
 * null or the like, which is ignored as any such value is). When neither is there, "epoch"
 * is the step if it is an integer; "epoch" stays a metric in every case, and a fractional
 * epoch (2.5) is only a metric. The same three keys play the same parts in kv lines. An
 * integer is a plain integer (read exactly, within int64) or a number with an integral value
 * within ±2^53 ("3.0", "3e2").
 *
 * Messages: "metric line: WHAT at byte N", N counted from 0 at the start of the line; a
 * complaint about a metric (its name, one metric too many) points at its value.
 *
 * Cost: one pass over the line (two for kv: shape, then values), no allocation, nothing read
 * at or past len (the line need not be NUL-terminated); names are looked up linearly among at
 * most METRIC_MAX, to keep the last value of a repeated one.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objective.h"

#define MAX_DEPTH 32
#define NUMBER_MAX 255

/* Step candidates by priority: the lower, the stronger. */
enum { STEP_KEY = 0, STEP_UNDERSCORE = 1, STEP_EPOCH = 2, STEP_NONE = 3 };

typedef struct parser {
    const char *s;
    size_t len, at;
    metric_line *out;
    caviar_error *err;
    /* The flattened name of the member being read: path_len may exceed the buffer, in which
     * case only a number stored under it is an error. */
    char path[METRIC_NAME_LEN];
    size_t path_len;
    int step_rank; /* STEP_* of the step found so far */
} parser;

static int fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *p, size_t at, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    util_err(p->err, CAVIAR_EFORMAT, "metric line: %s at byte %zu", what, at);
    return -1;
}

/* "'x'" for a printable character ("'" in double quotes), "byte 0x01" otherwise, "the end of
 * the line" past len. */
static const char *describe(const parser *p, size_t at, char *buf, size_t len)
{
    if (at >= p->len)
        snprintf(buf, len, "the end of the line");
    else if (p->s[at] == '\'')
        snprintf(buf, len, "\"'\"");
    else if (isprint((unsigned char)p->s[at]))
        snprintf(buf, len, "'%c'", p->s[at]);
    else
        snprintf(buf, len, "byte 0x%02x", (unsigned char)p->s[at]);
    return buf;
}

static int expected(parser *p, const char *what)
{
    char found[32];
    return fail(p, p->at, "expected %s, found %s", what, describe(p, p->at, found, sizeof found));
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_blanks(parser *p)
{
    while (p->at < p->len && is_blank(p->s[p->at]))
        p->at++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ---- values ---------------------------------------------------------------------------------- */

/* Reads s[at, at + n) as a double (the text was checked by the caller's grammar). */
static int to_double(parser *p, size_t at, size_t n, double *out)
{
    char buf[NUMBER_MAX + 1];
    if (n > NUMBER_MAX)
        return fail(p, at, "number longer than %d characters", NUMBER_MAX);
    memcpy(buf, p->s + at, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtod(buf, NULL); /* ERANGE: ±inf or a tiny number, as Python reads them */
    return 0;
}

/* The step's value from the number text s[at, at + n) that read as v. */
static int to_step(parser *p, const char *key, size_t at, size_t n, double v, int64_t *out)
{
    size_t i = (p->s[at] == '-' || p->s[at] == '+') ? 1 : 0;
    int plain = i < n;
    for (; i < n && plain; i++)
        plain = is_digit(p->s[at + i]);
    if (plain) {
        char buf[NUMBER_MAX + 1];
        memcpy(buf, p->s + at, n); /* n <= NUMBER_MAX: to_double checked */
        buf[n] = '\0';
        errno = 0;
        long long k = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return fail(p, at, "'%s' is out of range", key);
        *out = (int64_t)k;
        return 0;
    }
    if (!(v == floor(v) && fabs(v) <= 9007199254740992.0))
        return fail(p, at, "'%s' must be an integer, got %.*s", key, (int)n, p->s + at);
    *out = (int64_t)v;
    return 0;
}

/* Stores name (the current path) = v, replacing an earlier value of the same name. */
static int store(parser *p, size_t at, double v)
{
    metric_line *o = p->out;
    if (p->path_len == 0)
        return fail(p, at, "a metric has an empty name");
    if (p->path_len >= METRIC_NAME_LEN)
        return fail(p, at, "metric name '%.20s...' is longer than %d bytes", p->path,
                    METRIC_NAME_LEN - 1);
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->kv[i].name, p->path) == 0) {
            o->kv[i].value = v;
            return 0;
        }
    if (o->n == METRIC_MAX)
        return fail(p, at, "more than %d metrics", METRIC_MAX);
    memcpy(o->kv[o->n].name, p->path, p->path_len + 1);
    o->kv[o->n].value = v;
    o->n++;
    return 0;
}

/* A number (or NaN/Infinity) at depth; a top-level step key sets the step. */
static int number_member(parser *p, int depth, size_t at, size_t n, double v)
{
    int rank = STEP_NONE;
    if (depth == 0) {
        if (strcmp(p->path, "step") == 0)
            rank = STEP_KEY;
        else if (strcmp(p->path, "_step") == 0)
            rank = STEP_UNDERSCORE;
        else if (strcmp(p->path, "epoch") == 0)
            rank = STEP_EPOCH;
    }
    if (rank == STEP_EPOCH) {
        int64_t k;
        /* A fractional epoch is a metric, not a step: only take it when it is an integer. */
        if (v == floor(v) && fabs(v) <= 9007199254740992.0 && p->step_rank >= STEP_EPOCH) {
            if (to_step(p, "epoch", at, n, v, &k) != 0)
                return -1;
            p->out->has_step = 1, p->out->step = k, p->step_rank = STEP_EPOCH;
        }
        return store(p, at, v);
    }
    if (rank != STEP_NONE) {
        int64_t k;
        if (to_step(p, p->path, at, n, v, &k) != 0)
            return -1;
        if (rank <= p->step_rank)
            p->out->has_step = 1, p->out->step = k, p->step_rank = rank;
        return 0;
    }
    return store(p, at, v);
}

/* Matches the literal word at p->at (the caller saw its first character). */
static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->at < n || memcmp(p->s + p->at, word, n) != 0)
        return expected(p, "a value");
    p->at += n;
    return 0;
}

/* A JSON number (or NaN, Infinity, -Infinity) at p->at: its text is s[*start, p->at). */
static int scan_number(parser *p, size_t *start, double *v)
{
    size_t at = *start = p->at;
    const char *s = p->s;
    if (at < p->len && s[at] == '-')
        at++;
    if (at < p->len && s[at] == 'I') {
        p->at = at;
        if (literal(p, "Infinity") != 0)
            return -1;
        *v = s[*start] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (at < p->len && s[at] == '0')
        at++;
    else if (at < p->len && is_digit(s[at]))
        while (at < p->len && is_digit(s[at]))
            at++;
    else
        return fail(p, *start, "bad number: a digit must follow '-'");
    if (at < p->len && s[at] == '.') {
        at++;
        if (!(at < p->len && is_digit(s[at])))
            return fail(p, at, "bad number: a digit must follow '.'");
        while (at < p->len && is_digit(s[at]))
            at++;
    }
    if (at < p->len && (s[at] == 'e' || s[at] == 'E')) {
        at++;
        if (at < p->len && (s[at] == '+' || s[at] == '-'))
            at++;
        if (!(at < p->len && is_digit(s[at])))
            return fail(p, at, "bad number: a digit must follow the exponent");
        while (at < p->len && is_digit(s[at]))
            at++;
    }
    p->at = at;
    return to_double(p, *start, at - *start, v);
}

/* Appends c to the path (keeping count past the buffer's end). */
static void path_put(parser *p, char c)
{
    if (p->path_len < METRIC_NAME_LEN - 1) {
        p->path[p->path_len] = c;
        p->path[p->path_len + 1] = '\0';
    }
    p->path_len++;
}

static int hex4(parser *p, size_t at, unsigned *out)
{
    unsigned v = 0;
    if (p->len - at < 4)
        return fail(p, at, "\\u needs four hex digits");
    for (size_t i = 0; i < 4; i++) {
        char c = p->s[at + i];
        unsigned d = is_digit(c) ? (unsigned)(c - '0')
                     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                                              : 16u;
        if (d == 16)
            return fail(p, at, "\\u needs four hex digits");
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* A JSON string at p->at (which is '"'); with keep, its decoded UTF-8 goes onto the path. */
static int string(parser *p, int keep)
{
    size_t open = p->at++;
    for (;;) {
        if (p->at >= p->len)
            return fail(p, open, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->at];
        if (c == '"') {
            p->at++;
            return 0;
        }
        if (c < 0x20)
            return fail(p, p->at, "control character 0x%02x in a string", c);
        if (c != '\\') {
            if (keep)
                path_put(p, (char)c);
            p->at++;
            continue;
        }
        size_t esc = p->at++;
        if (p->at >= p->len)
            return fail(p, open, "unterminated string");
        char e = p->s[p->at++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *hit = strchr(from, e);
        if (e != '\0' && hit) {
            if (keep)
                path_put(p, to[hit - from]);
            continue;
        }
        if (e != 'u') {
            char found[32];
            return fail(p, esc, "bad escape %s in a string", describe(p, esc + 1, found,
                                                                       sizeof found));
        }
        unsigned cp;
        if (hex4(p, p->at, &cp) != 0)
            return -1;
        p->at += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate: its low half must follow */
            unsigned lo;
            if (p->len - p->at < 6 || p->s[p->at] != '\\' || p->s[p->at + 1] != 'u' ||
                hex4(p, p->at + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return fail(p, esc, "unpaired surrogate in a \\u escape");
            p->at += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail(p, esc, "unpaired surrogate in a \\u escape");
        }
        if (cp == 0 && keep)
            return fail(p, esc, "\\u0000 in a name");
        if (!keep)
            continue;
        if (cp < 0x80) {
            path_put(p, (char)cp);
        } else if (cp < 0x800) {
            path_put(p, (char)(0xC0 | (cp >> 6)));
            path_put(p, (char)(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            path_put(p, (char)(0xE0 | (cp >> 12)));
            path_put(p, (char)(0x80 | ((cp >> 6) & 0x3F)));
            path_put(p, (char)(0x80 | (cp & 0x3F)));
        } else {
            path_put(p, (char)(0xF0 | (cp >> 18)));
            path_put(p, (char)(0x80 | ((cp >> 12) & 0x3F)));
            path_put(p, (char)(0x80 | ((cp >> 6) & 0x3F)));
            path_put(p, (char)(0x80 | (cp & 0x3F)));
        }
    }
}

static int object(parser *p, int depth);

/* A value whose metrics are not read (inside an array): checked and skipped. */
static int skip_value(parser *p, int depth);

static int array(parser *p, int depth)
{
    if (depth >= MAX_DEPTH)
        return fail(p, p->at, "nested deeper than %d levels", MAX_DEPTH);
    p->at++; /* '[' */
    skip_blanks(p);
    if (p->at < p->len && p->s[p->at] == ']') {
        p->at++;
        return 0;
    }
    for (;;) {
        skip_blanks(p);
        if (skip_value(p, depth + 1) != 0)
            return -1;
        skip_blanks(p);
        if (p->at < p->len && p->s[p->at] == ',') {
            p->at++;
            continue;
        }
        if (p->at < p->len && p->s[p->at] == ']') {
            p->at++;
            return 0;
        }
        return expected(p, "',' or ']'");
    }
}

/* Any JSON value at p->at. With metrics (inside objects, not arrays), numbers are stored under
 * the current path and objects are flattened. */
static int value(parser *p, int depth, int metrics)
{
    if (p->at >= p->len)
        return expected(p, "a value");
    switch (p->s[p->at]) {
    case '{':
        if (metrics)
            return object(p, depth + 1);
        break;
    case '[':
        return array(p, depth);
    case '"':
        return string(p, 0);
    case 't':
        return literal(p, "true");
    case 'f':
        return literal(p, "false");
    case 'n':
        return literal(p, "null");
    case 'N': {
        size_t at = p->at;
        if (literal(p, "NaN") != 0)
            return -1;
        return metrics ? number_member(p, depth, at, 3, NAN) : 0;
    }
    default:
        if (p->s[p->at] == '-' || p->s[p->at] == 'I' || is_digit(p->s[p->at])) {
            size_t at;
            double v;
            if (scan_number(p, &at, &v) != 0)
                return -1;
            return metrics ? number_member(p, depth, at, p->at - at, v) : 0;
        }
        return expected(p, "a value");
    }
    /* An object inside an array: well-formed, its numbers not metrics. */
    if (depth >= MAX_DEPTH)
        return fail(p, p->at, "nested deeper than %d levels", MAX_DEPTH);
    p->at++;
    skip_blanks(p);
    if (p->at < p->len && p->s[p->at] == '}') {
        p->at++;
        return 0;
    }
    for (;;) {
        skip_blanks(p);
        if (p->at >= p->len || p->s[p->at] != '"')
            return expected(p, "a name in double quotes");
        if (string(p, 0) != 0)
            return -1;
        skip_blanks(p);
        if (p->at >= p->len || p->s[p->at] != ':')
            return expected(p, "':' after the name");
        p->at++;
        skip_blanks(p);
        if (skip_value(p, depth + 1) != 0)
            return -1;
        skip_blanks(p);
        if (p->at < p->len && p->s[p->at] == ',') {
            p->at++;
            continue;
        }
        if (p->at < p->len && p->s[p->at] == '}') {
            p->at++;
            return 0;
        }
        return expected(p, "',' or '}'");
    }
}

static int skip_value(parser *p, int depth)
{
    return value(p, depth, 0);
}

/* The object at p->at ('{') whose members are named path.NAME (depth 0: NAME). */
static int object(parser *p, int depth)
{
    if (depth >= MAX_DEPTH)
        return fail(p, p->at, "nested deeper than %d levels", MAX_DEPTH);
    size_t open = p->at++;
    size_t base = p->path_len;
    skip_blanks(p);
    if (p->at < p->len && p->s[p->at] == '}') {
        p->at++;
        return 0;
    }
    for (;;) {
        skip_blanks(p);
        if (p->at >= p->len)
            return fail(p, p->at, "the object opened at byte %zu is not closed", open);
        if (p->s[p->at] != '"')
            return expected(p, "a name in double quotes");
        size_t name_at = p->at;
        if (depth > 0)
            path_put(p, '.');
        size_t before = p->path_len;
        if (string(p, 1) != 0)
            return -1;
        if (p->path_len == before)
            return fail(p, name_at, "empty name");
        skip_blanks(p);
        if (p->at >= p->len || p->s[p->at] != ':')
            return expected(p, "':' after the name");
        p->at++;
        skip_blanks(p);
        if (value(p, depth, 1) != 0)
            return -1;
        /* Back to this object's own path for the next member. */
        p->path_len = base;
        if (base < METRIC_NAME_LEN)
            p->path[base] = '\0';
        skip_blanks(p);
        if (p->at >= p->len)
            return fail(p, p->at, "the object opened at byte %zu is not closed", open);
        if (p->s[p->at] == ',') {
            p->at++;
            continue;
        }
        if (p->s[p->at] == '}') {
            p->at++;
            return 0;
        }
        return expected(p, "',' or '}'");
    }
}

static int parse_json(parser *p)
{
    if (object(p, 0) != 0)
        return -1;
    skip_blanks(p);
    if (p->at < p->len) {
        char found[32];
        return fail(p, p->at, "unexpected %s after the object",
                    describe(p, p->at, found, sizeof found));
    }
    return 1;
}

/* ---- name=value pairs ------------------------------------------------------------------------ */

static int is_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n';
}

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c)
{
    return name_start(c) || is_digit(c) || c == '.' || c == '-' || c == '/';
}

static int word_ci(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != word[i])
            return 0;
    return 1;
}

/* Whether s[0, n) is a kv number: [+-]digits[.digits][e[+-]digits], .5, 5., nan, inf. */
static int kv_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (word_ci(s + i, n - i, "nan") || word_ci(s + i, n - i, "inf") ||
        word_ci(s + i, n - i, "infinity"))
        return 1;
    size_t digits = 0;
    while (i < n && is_digit(s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!(i < n && is_digit(s[i])))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

/* The next token at or after *at: [*start, *end); 0 when there is none. */
static int next_token(const parser *p, size_t *at, size_t *start, size_t *end)
{
    size_t i = *at;
    while (i < p->len && is_sep(p->s[i]))
        i++;
    if (i == p->len)
        return 0;
    *start = i;
    while (i < p->len && !is_sep(p->s[i]))
        i++;
    *end = *at = i;
    return 1;
}

/* Whether s[start, end) is NAME=NUMBER; *eq receives the offset of '='. */
static int kv_token(const parser *p, size_t start, size_t end, size_t *eq)
{
    const char *s = p->s;
    if (!name_start(s[start]))
        return 0;
    size_t i = start + 1;
    while (i < end && name_char(s[i]))
        i++;
    if (i == end || s[i] != '=')
        return 0;
    *eq = i;
    return kv_number(s + i + 1, end - i - 1);
}

static int parse_kv(parser *p)
{
    size_t at = 0, start, end, eq, n_tokens = 0;
    while (next_token(p, &at, &start, &end)) {
        if (!kv_token(p, start, end, &eq))
            return 0;
        n_tokens++;
    }
    if (n_tokens == 0)
        return 0;
    at = 0;
    while (next_token(p, &at, &start, &end)) {
        kv_token(p, start, end, &eq);
        size_t n_name = eq - start;
        p->path_len = n_name;
        if (n_name >= METRIC_NAME_LEN)
            return fail(p, eq + 1, "metric name '%.20s...' is longer than %d bytes", p->s + start,
                        METRIC_NAME_LEN - 1);
        memcpy(p->path, p->s + start, n_name);
        p->path[n_name] = '\0';
        double v = 0;
        if (to_double(p, eq + 1, end - eq - 1, &v) != 0 ||
            number_member(p, 0, eq + 1, end - eq - 1, v) != 0)
            return -1;
    }
    return 1;
}

/* ---- entry point ----------------------------------------------------------------------------- */

int metric_line_parse(const char *line, size_t len, metric_line *out, caviar_error *err)
{
    parser p = {.s = line, .len = len, .out = out, .err = err, .step_rank = STEP_NONE};
    out->has_step = 0;
    out->step = 0;
    out->n = 0;
    p.path[0] = '\0';
    skip_blanks(&p);
    int r = (p.at < len && line[p.at] == '{') ? parse_json(&p) : parse_kv(&p);
    if (r != 1) {
        out->has_step = 0;
        out->step = 0;
        out->n = 0;
    }
    return r;
}
