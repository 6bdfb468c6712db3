/*
 * codec.c — a distribution as one line of text and back, for the study databases.
 *
 * The text is a sequence of fields separated by single spaces, in a fixed order, with nothing
 * before the first field or after the last:
 *
 *   dist        = numeric / categorical
 *   numeric     = ("float" / "int") SP scale SP num SP num SP num SP count [SP "q" SP num]
 *                                             ; low, high, step, grid_points; on the normal
 *                                             ; scales mu, sigma, step, grid_points; then a
 *                                             ; quantum q > 0, when there is one
 *   scale       = "linear" / "log" / "one-minus-log" / "normal" / "log-normal"
 *   categorical = "categorical" SP count *(SP choice) [SP "w" *(SP num)] SP count
 *                                             ; n_choices, exactly n_choices choices, with "w"
 *                                             ; exactly n_choices weights, grid_points
 *   choice      = "s" count ":" *BYTE         ; a string of exactly count bytes (any but NUL)
 *               / "n" num                     ; a number
 *               / "b0" / "b1"                 ; false, true
 *   num         = 1*("0"-"9" / "." / "e" / "E" / "+" / "-"), the whole of it read by strtod
 *                 and finite (encode writes "%.17g")
 *   count       = 1*DIGIT                     ; decimal, within size_t
 *
 * for example
 *   float log 1.0000000000000001e-05 1 0 0
 *   int linear 1 8 2 0
 *   float normal 0 1 0 0
 *   float log 32 512 0 0 q 8
 *   categorical 4 s4:relu s8:leaky re n0.5 b1 0
 *   categorical 2 s4:relu s4:tanh w 0.69999999999999996 0.29999999999999999 0
 *
 * Exactness: "%.17g" and strtod give back every finite double bit for bit (-0 included), and a
 * string's length prefix lets it hold any bytes, spaces and newlines included (a choice with a
 * newline makes the text span lines; nothing else does). Every field of a valid distribution
 * comes back, grid_points included; a categorical's scale is linear, and its low, high and step
 * (which mean nothing for it) come back as 0, as do low and high on the normal scales (which
 * store mu and sigma in their place) and mu and sigma elsewhere. Weights come back bit for bit
 * (a categorical without them has none). A boolean choice comes back as 0 or 1.
 *
 * Older texts stay readable: the normal scales, the weights and the quantum were added without
 * changing how anything else is written.
 *
 * Decoding trusts nothing: every field is checked where it stands and a failure names it with
 * its byte offset ("bad high bound at byte 12"); a choice count is compared with the length of
 * the text before anything is allocated for it (each choice takes at least 3 bytes, " b0"), so
 * a short text cannot make us allocate much; and the result must pass caviar_dist_check(), so
 * that a decoded distribution is always valid.
 */
#include "space.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many choices (caviar_dist_check's limit, checked here before allocating). */
#define CODEC_MAX_CHOICES ((size_t)1 << 24)
/* The smallest encoding of one choice, its separator included: " b0". */
#define CODEC_MIN_CHOICE_LEN 3
/* How much of the text an error message quotes. */
#define CODEC_QUOTE_LEN 40

/* ---- encoding ---- */

/* Appends to a buffer that may be NULL: a first pass with buf == NULL measures the text, the
 * second writes it into an allocation of exactly that size (cap bytes, the NUL included). */
typedef struct writer {
    char *buf;
    size_t len, cap;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->buf)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void putf(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf ? w->buf + w->len : NULL, w->buf ? w->cap - w->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n;
}

/* d should be valid (caviar_dist_check). An unknown kind, scale or choice type, a NULL string,
 * missing choices or a non-finite number are written in a form that decode refuses. */
static void encode_into(writer *w, const caviar_dist *d)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        putf(w, "categorical %zu", d->n_choices);
        for (size_t i = 0; d->choices && i < d->n_choices; i++) {
            const caviar_value *c = &d->choices[i];
            switch (c->type) {
            case CAVIAR_VALUE_STRING:
                if (c->string) {
                    size_t n = strlen(c->string);
                    putf(w, " s%zu:", n);
                    put(w, c->string, n);
                } else {
                    put(w, " s?", 3); /* invalid in, invalid out: decode refuses it */
                }
                break;
            case CAVIAR_VALUE_NUMBER: putf(w, " n%.17g", c->number); break;
            case CAVIAR_VALUE_BOOL: put(w, c->number != 0 ? " b1" : " b0", 3); break;
            default: put(w, " ?", 2); break;
            }
        }
        if (d->weights && d->choices) {
            put(w, " w", 2);
            for (size_t i = 0; i < d->n_choices; i++)
                putf(w, " %.17g", d->weights[i]);
        }
        putf(w, " %zu", d->grid_points);
        return;
    }
    /* An unknown kind or scale is written as "?", which decode refuses. */
    const char *kind = d->kind == CAVIAR_DIST_FLOAT ? "float"
                       : d->kind == CAVIAR_DIST_INT ? "int" : "?";
    int normal = d->scale == CAVIAR_SCALE_NORMAL || d->scale == CAVIAR_SCALE_LOG_NORMAL;
    putf(w, "%s %s %.17g %.17g %.17g %zu", kind, caviar_scale_name(d->scale),
         normal ? d->mu : d->low, normal ? d->sigma : d->high, d->step, d->grid_points);
    if (d->q != 0)
        putf(w, " q %.17g", d->q);
}

char *space_dist_encode(const caviar_dist *d)
{
    writer w = {NULL, 0, 0};
    encode_into(&w, d);
    w.cap = w.len + 1;
    w.buf = malloc(w.cap);
    if (!w.buf)
        return NULL;
    w.len = 0;
    encode_into(&w, d); /* the same text again, which fits exactly */
    w.buf[w.len] = '\0';
    return w.buf;
}

/* ---- decoding ---- */

typedef struct reader {
    const char *text;
    size_t len, pos; /* len = strlen(text); text[pos] is the next byte to read */
    caviar_error *err;
} reader;

/* The first CODEC_QUOTE_LEN bytes of the text for a message ("..." after a cut, which never
 * splits a UTF-8 sequence), control bytes shown as '?'. */
static void quote(const reader *r, char *buf, size_t cap)
{
    size_t n = r->len;
    int cut = 0;
    if (n > CODEC_QUOTE_LEN) {
        n = CODEC_QUOTE_LEN;
        for (int k = 0; k < 3 && n > 0 && ((unsigned char)r->text[n] & 0xC0) == 0x80; k++)
            n--;
        cut = 1;
    }
    if (n + 4 > cap)
        n = cap - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->text[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    strcpy(buf + n, cut ? "..." : "");
}

/* Formats "distribution 'TEXT': WHAT at byte AT" into r->err; returns CAVIAR_EFORMAT. */
static caviar_status fail(const reader *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static caviar_status fail(const reader *r, size_t at, const char *fmt, ...)
{
    char what[256], q[CODEC_QUOTE_LEN + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    quote(r, q, sizeof q);
    return util_err(r->err, CAVIAR_EFORMAT, "distribution '%s': %s at byte %zu", q, what, at);
}

/* The end of the field starting at from: the next space or the end of the text. */
static size_t field_end(const reader *r, size_t from)
{
    const char *sp = memchr(r->text + from, ' ', r->len - from);
    return sp ? (size_t)(sp - r->text) : r->len;
}

/* Steps over the space before the next field, which must be there and not empty. */
static caviar_status next_field(reader *r, const char *what)
{
    if (r->text[r->pos] == ' ')
        r->pos++;
    if (r->pos >= r->len)
        return fail(r, r->pos, "missing %s", what);
    return CAVIAR_OK;
}

/* Whether the field [from, end) is the word w. */
static int field_is(const reader *r, size_t from, size_t end, const char *w)
{
    size_t n = strlen(w);
    return end - from == n && memcmp(r->text + from, w, n) == 0;
}

/* A num field [from, end) into *out; what names it in messages (which point at at). */
static caviar_status read_num(reader *r, size_t from, size_t end, size_t at, const char *what,
                              double *out)
{
    int ok = end > from;
    for (size_t i = from; i < end && ok; i++)
        ok = strchr("0123456789.eE+-", r->text[i]) != NULL;
    char *stop = NULL;
    double v = ok ? strtod(r->text + from, &stop) : 0;
    if (!ok || stop != r->text + end)
        return fail(r, at, "bad %s", what);
    if (!isfinite(v))
        return fail(r, at, "%s out of range", what);
    *out = v;
    return CAVIAR_OK;
}

/* A count [from, end) into *out; 0 on success, -1 if it is not 1*DIGIT within size_t. */
static int read_count(const reader *r, size_t from, size_t end, size_t *out)
{
    if (end == from)
        return -1;
    size_t v = 0;
    for (size_t i = from; i < end; i++) {
        unsigned digit = (unsigned)(r->text[i] - '0');
        if (digit > 9 || v > (SIZE_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* The next field, a count. */
static caviar_status next_count(reader *r, const char *what, size_t *out)
{
    caviar_status st = next_field(r, what);
    if (st != CAVIAR_OK)
        return st;
    size_t end = field_end(r, r->pos);
    if (read_count(r, r->pos, end, out) != 0)
        return fail(r, r->pos, "bad %s", what);
    r->pos = end;
    return CAVIAR_OK;
}

/* The next field, a num. */
static caviar_status next_num(reader *r, const char *what, double *out)
{
    caviar_status st = next_field(r, what);
    if (st != CAVIAR_OK)
        return st;
    size_t end = field_end(r, r->pos);
    if ((st = read_num(r, r->pos, end, r->pos, what, out)) != CAVIAR_OK)
        return st;
    r->pos = end;
    return CAVIAR_OK;
}

/* Choice i (0-based; messages count from 1) into *c, whose string becomes an allocation. */
static caviar_status next_choice(reader *r, size_t i, caviar_value *c)
{
    char what[48];
    snprintf(what, sizeof what, "choice %zu", i + 1);
    caviar_status st = next_field(r, what);
    if (st != CAVIAR_OK)
        return st;
    size_t at = r->pos, end = field_end(r, at);
    switch (r->text[at]) {
    case 'n':
        c->type = CAVIAR_VALUE_NUMBER;
        snprintf(what, sizeof what, "number in choice %zu", i + 1);
        if ((st = read_num(r, at + 1, end, at, what, &c->number)) != CAVIAR_OK)
            return st;
        r->pos = end;
        return CAVIAR_OK;
    case 'b':
        if (!field_is(r, at, end, "b0") && !field_is(r, at, end, "b1"))
            return fail(r, at, "bad boolean in choice %zu", i + 1);
        c->type = CAVIAR_VALUE_BOOL;
        c->number = r->text[at + 1] == '1';
        r->pos = end;
        return CAVIAR_OK;
    case 's': {
        /* The length ends at the colon, not at a space: the bytes may hold spaces. */
        const char *colon = memchr(r->text + at + 1, ':', end - (at + 1));
        size_t n;
        if (!colon || read_count(r, at + 1, (size_t)(colon - r->text), &n) != 0)
            return fail(r, at, "bad string length in choice %zu", i + 1);
        size_t from = (size_t)(colon - r->text) + 1;
        if (n > r->len - from)
            return fail(r, at, "string in choice %zu runs past the end", i + 1);
        char *s = malloc(n + 1);
        if (!s)
            return util_err(r->err, CAVIAR_ENOMEM, "cannot decode a distribution: out of memory");
        memcpy(s, r->text + from, n);
        s[n] = '\0';
        c->type = CAVIAR_VALUE_STRING;
        c->string = s;
        r->pos = from + n;
        if (r->text[r->pos] != ' ' && r->text[r->pos] != '\0')
            return fail(r, r->pos, "no space after choice %zu", i + 1);
        return CAVIAR_OK;
    }
    default:
        return fail(r, at, "bad choice %zu", i + 1);
    }
}

static caviar_status decode_numeric(reader *r, caviar_dist *out)
{
    caviar_status st = next_field(r, "scale");
    if (st != CAVIAR_OK)
        return st;
    size_t end = field_end(r, r->pos);
    if (field_is(r, r->pos, end, "linear"))
        out->scale = CAVIAR_SCALE_LINEAR;
    else if (field_is(r, r->pos, end, "log"))
        out->scale = CAVIAR_SCALE_LOG;
    else if (field_is(r, r->pos, end, "one-minus-log"))
        out->scale = CAVIAR_SCALE_ONE_MINUS_LOG;
    else if (field_is(r, r->pos, end, "normal"))
        out->scale = CAVIAR_SCALE_NORMAL;
    else if (field_is(r, r->pos, end, "log-normal"))
        out->scale = CAVIAR_SCALE_LOG_NORMAL;
    else
        return fail(r, r->pos, "bad scale");
    r->pos = end;
    if (out->scale == CAVIAR_SCALE_NORMAL || out->scale == CAVIAR_SCALE_LOG_NORMAL) {
        if ((st = next_num(r, "mu", &out->mu)) != CAVIAR_OK ||
            (st = next_num(r, "sigma", &out->sigma)) != CAVIAR_OK)
            return st;
    } else if ((st = next_num(r, "low bound", &out->low)) != CAVIAR_OK ||
               (st = next_num(r, "high bound", &out->high)) != CAVIAR_OK) {
        return st;
    }
    if ((st = next_num(r, "step", &out->step)) != CAVIAR_OK ||
        (st = next_count(r, "grid points", &out->grid_points)) != CAVIAR_OK)
        return st;
    size_t at = r->pos + (r->text[r->pos] == ' ');
    if (!field_is(r, at, field_end(r, at), "q"))
        return CAVIAR_OK;
    r->pos = at + 1;
    return next_num(r, "quantum", &out->q);
}

/* The weights after the choices, when the next field is "w": exactly n numbers. On failure
 * out->weights holds what was allocated, for the caller to release. */
static caviar_status decode_weights(reader *r, caviar_dist *out)
{
    size_t at = r->pos + (r->text[r->pos] == ' ');
    if (!field_is(r, at, field_end(r, at), "w"))
        return CAVIAR_OK;
    r->pos = at + 1;
    size_t n = out->n_choices;
    /* Each weight takes at least 2 bytes (" 1"). */
    if (n > (r->len - r->pos) / 2)
        return fail(r, at, "%zu weights cannot fit in the rest of the text", n);
    double *w = calloc(n, sizeof *w);
    if (!w)
        return util_err(r->err, CAVIAR_ENOMEM, "cannot decode a distribution: out of memory");
    out->weights = w;
    char what[48];
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "weight %zu", i + 1);
        caviar_status st = next_num(r, what, &w[i]);
        if (st != CAVIAR_OK)
            return st;
    }
    return CAVIAR_OK;
}

/* On failure out->choices holds what was read so far, for the caller to release. */
static caviar_status decode_categorical(reader *r, caviar_dist *out)
{
    caviar_status st = next_field(r, "choice count");
    if (st != CAVIAR_OK)
        return st;
    size_t n, at = r->pos, end = field_end(r, at);
    if (read_count(r, at, end, &n) != 0)
        return fail(r, at, "bad choice count");
    r->pos = end;
    if (n > CODEC_MAX_CHOICES)
        return fail(r, at, "%zu choices (at most %zu)", n, CODEC_MAX_CHOICES);
    if (n > (r->len - r->pos) / CODEC_MIN_CHOICE_LEN)
        return fail(r, at, "%zu choices cannot fit in the rest of the text", n);
    if (n > 0) {
        caviar_value *choices = calloc(n, sizeof *choices);
        if (!choices)
            return util_err(r->err, CAVIAR_ENOMEM, "cannot decode a distribution: out of memory");
        out->choices = choices;
        out->n_choices = n;
        for (size_t i = 0; i < n; i++)
            if ((st = next_choice(r, i, &choices[i])) != CAVIAR_OK)
                return st;
        if ((st = decode_weights(r, out)) != CAVIAR_OK)
            return st;
    }
    return next_count(r, "grid points", &out->grid_points);
}

caviar_status space_dist_decode(const char *text, caviar_dist *out, caviar_error *err)
{
    reader r = {text ? text : "", 0, 0, err};
    r.len = strlen(r.text);
    memset(out, 0, sizeof *out);
    out->kind = CAVIAR_DIST_FLOAT;
    out->scale = CAVIAR_SCALE_LINEAR;

    caviar_status st;
    size_t end = field_end(&r, 0);
    if (r.len == 0) {
        st = fail(&r, 0, "missing kind");
    } else if (field_is(&r, 0, end, "float") || field_is(&r, 0, end, "int")) {
        out->kind = field_is(&r, 0, end, "int") ? CAVIAR_DIST_INT : CAVIAR_DIST_FLOAT;
        r.pos = end;
        st = decode_numeric(&r, out);
    } else if (field_is(&r, 0, end, "categorical")) {
        out->kind = CAVIAR_DIST_CATEGORICAL;
        r.pos = end;
        st = decode_categorical(&r, out);
    } else {
        st = fail(&r, 0, "bad kind");
    }
    if (st == CAVIAR_OK && r.pos != r.len)
        st = fail(&r, r.pos, "trailing text");
    if (st == CAVIAR_OK) {
        /* Well-formed; now it must also be a valid distribution. caviar_dist_check names a
         * parameter ("parameter 'distribution': ..."), which this message replaces. */
        caviar_error check;
        memset(&check, 0, sizeof check);
        if (caviar_dist_check(out, "distribution", &check) != CAVIAR_OK) {
            static const char prefix[] = "parameter 'distribution': ";
            const char *why = check.msg;
            if (strncmp(why, prefix, sizeof prefix - 1) == 0)
                why += sizeof prefix - 1;
            char q[CODEC_QUOTE_LEN + 8];
            quote(&r, q, sizeof q);
            st = util_err(err, CAVIAR_EFORMAT, "distribution '%s': %s", q, why);
        }
    }
    if (st != CAVIAR_OK) {
        space_dist_release(out);
        out->n_choices = 0;
    }
    return st;
}
