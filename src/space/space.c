/*
 * space.c — distributions on their scales, the map to and from the unit interval, and a study's
 * parameter table.
 *
 * The unit interval is the common currency of samplers, plots and importance: a sampler draws
 * u in [0, 1] (uniformly, from a Sobol sequence, from a Parzen estimator) and from_unit turns it
 * into an admissible value on the parameter's own scale. Continuous scales are a change of
 * variable t(v): linear t = v, log t = ln v, one-minus-log t = ln(1 - v) (decreasing), and
 * u = (t(v) - t(low)) / (t(high) - t(low)). Discrete parameters (ints, and floats with a step)
 * give each admissible value v the share of u that its cell [v - step/2, v + step/2] has on the
 * scale: equal shares on a linear scale, shrinking shares on a log scale (a cell that would
 * reach 0, or 1 for one-minus-log, is cut at half way), so that the ends are not drawn half as
 * often as the rest. Categorical choices own 1/n each. Invariant: for an admissible internal
 * value x, from_unit(to_unit(x)) == x for every discrete distribution, and to within rounding
 * for continuous ones.
 */
#define _POSIX_C_SOURCE 200809L
#include "space.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers must be exact in a double. */
#define SPACE_MAX_INT 9007199254740992.0 /* 2^53 */

const char *caviar_scale_name(caviar_scale s)
{
    switch (s) {
    case CAVIAR_SCALE_LINEAR: return "linear";
    case CAVIAR_SCALE_LOG: return "log";
    case CAVIAR_SCALE_ONE_MINUS_LOG: return "one-minus-log";
    }
    return "?";
}

/* Whether d has finitely many admissible values on a step (ints, quantised floats). */
static int stepped(const caviar_dist *d)
{
    return d->kind == CAVIAR_DIST_INT || (d->kind == CAVIAR_DIST_FLOAT && d->step > 0);
}

static double int_step(const caviar_dist *d)
{
    if (d->kind == CAVIAR_DIST_FLOAT)
        return d->step;
    return d->step >= 1.0 ? d->step : 1.0;
}

/* Number of admissible values: low, low + step, ... <= high (a float step may not divide the
 * range exactly; the tolerance keeps 0.1-style steps from losing their last value). */
static double int_count(const caviar_dist *d)
{
    return floor((d->high - d->low) / int_step(d) + 1e-9) + 1.0;
}

static const char *kind_name(caviar_dist_kind k)
{
    return k == CAVIAR_DIST_FLOAT ? "float" : k == CAVIAR_DIST_INT ? "int" : "categorical";
}

caviar_status caviar_dist_check(const caviar_dist *d, const char *name, caviar_error *err)
{
    if (!name || !*name)
        return util_err(err, CAVIAR_EINVAL, "a parameter needs a non-empty name");
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        if (d->n_choices < 1 || !d->choices)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': a categorical needs at least "
                                                "one choice", name);
        if (d->n_choices > (1u << 24))
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': %zu choices (at most %u)", name,
                            d->n_choices, 1u << 24);
        if (d->scale != CAVIAR_SCALE_LINEAR)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': a categorical has no scale",
                            name);
        for (size_t i = 0; i < d->n_choices; i++) {
            const caviar_value *c = &d->choices[i];
            if (c->type == CAVIAR_VALUE_STRING && !c->string)
                return util_err(err, CAVIAR_EINVAL, "parameter '%s': choice %zu is a NULL string",
                                name, i + 1);
            if (c->type == CAVIAR_VALUE_NUMBER && !isfinite(c->number))
                return util_err(err, CAVIAR_EINVAL, "parameter '%s': choice %zu is not a finite "
                                                    "number", name, i + 1);
            if (c->type != CAVIAR_VALUE_NUMBER && c->type != CAVIAR_VALUE_STRING &&
                c->type != CAVIAR_VALUE_BOOL)
                return util_err(err, CAVIAR_EINVAL, "parameter '%s': choice %zu has no valid "
                                                    "type", name, i + 1);
            for (size_t j = 0; j < i; j++) {
                const caviar_value *o = &d->choices[j];
                int same = o->type == c->type &&
                           (c->type == CAVIAR_VALUE_STRING ? strcmp(o->string, c->string) == 0
                                                           : o->number == c->number);
                if (same) {
                    char buf[128];
                    caviar_dist one = {.kind = CAVIAR_DIST_CATEGORICAL, .n_choices = 1,
                                       .choices = c};
                    return util_err(err, CAVIAR_EINVAL,
                                    "parameter '%s': choice '%s' appears twice", name,
                                    space_format(&one, 0, buf, sizeof buf));
                }
            }
        }
        return CAVIAR_OK;
    }
    if (d->kind != CAVIAR_DIST_FLOAT && d->kind != CAVIAR_DIST_INT)
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': unknown distribution kind %d", name,
                        (int)d->kind);
    const char *kind = kind_name(d->kind);
    if (!isfinite(d->low) || !isfinite(d->high))
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': bounds must be finite numbers",
                        name);
    if (d->low >= d->high)
        return util_err(err, CAVIAR_EINVAL,
                        "parameter '%s': low %g must be below high %g (for a fixed value use a "
                        "constant)", name, d->low, d->high);
    if (!isfinite(d->step) || d->step < 0)
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': step %g must be a number >= 0",
                        name, d->step);
    if (d->step > d->high - d->low)
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': step %g is larger than the range "
                                            "[%g, %g]", name, d->step, d->low, d->high);
    switch (d->scale) {
    case CAVIAR_SCALE_LINEAR:
        break;
    case CAVIAR_SCALE_LOG:
        if (d->kind == CAVIAR_DIST_FLOAT && d->low <= 0)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': log scale needs low > 0, got %g",
                            name, d->low);
        if (d->kind == CAVIAR_DIST_INT && d->low < 1)
            return util_err(err, CAVIAR_EINVAL,
                            "parameter '%s': an int on a log scale needs low >= 1, got %g", name,
                            d->low);
        break;
    case CAVIAR_SCALE_ONE_MINUS_LOG:
        if (d->kind == CAVIAR_DIST_INT)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': the one-minus-log scale is for "
                                                "floats in (0, 1), not ints", name);
        if (d->low <= 0 || d->high >= 1)
            return util_err(err, CAVIAR_EINVAL,
                            "parameter '%s': one-minus-log bounds must lie in (0, 1), got [%g, "
                            "%g]", name, d->low, d->high);
        break;
    default:
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': unknown scale %d", name,
                        (int)d->scale);
    }
    if (d->kind == CAVIAR_DIST_INT) {
        if (d->low != floor(d->low) || d->high != floor(d->high) || d->step != floor(d->step))
            return util_err(err, CAVIAR_EINVAL,
                            "parameter '%s': %s bounds and step must be whole numbers", name,
                            kind);
        if (fabs(d->low) > SPACE_MAX_INT || fabs(d->high) > SPACE_MAX_INT)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': int bounds beyond 2^53", name);
    }
    return CAVIAR_OK;
}

/* The scale's change of variable and its inverse. */
static double fwd(caviar_scale s, double v)
{
    return s == CAVIAR_SCALE_LOG ? log(v) : s == CAVIAR_SCALE_ONE_MINUS_LOG ? log1p(-v) : v;
}

static double inv(caviar_scale s, double t)
{
    return s == CAVIAR_SCALE_LOG ? exp(t) : s == CAVIAR_SCALE_ONE_MINUS_LOG ? -expm1(t) : t;
}

static double clamp01(double u)
{
    return u < 0.0 ? 0.0 : u > 1.0 ? 1.0 : u;
}

/* The ends of a stepped distribution's range on its scale: each admissible v owns
 * [v - step/2, v + step/2], cut at half way where that would leave the scale's domain. */
static void int_span(const caviar_dist *d, double *lo, double *hi)
{
    double step = int_step(d), last = d->low + (int_count(d) - 1.0) * step;
    double a = d->low - 0.5 * step, b = last + 0.5 * step;
    if (d->scale != CAVIAR_SCALE_LINEAR && a <= 0)
        a = 0.5 * d->low;
    if (d->scale == CAVIAR_SCALE_ONE_MINUS_LOG && b >= 1)
        b = 0.5 * (last + 1.0);
    *lo = fwd(d->scale, a);
    *hi = fwd(d->scale, b);
}

double caviar_dist_to_unit(const caviar_dist *d, double x)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL)
        return (floor(x) + 0.5) / (double)d->n_choices;
    if (stepped(d)) {
        if (d->scale == CAVIAR_SCALE_LINEAR) {
            double k = floor((x - d->low) / int_step(d) + 0.5);
            return clamp01((k + 0.5) / int_count(d));
        }
        double lo, hi;
        int_span(d, &lo, &hi);
        return clamp01((fwd(d->scale, x) - lo) / (hi - lo));
    }
    double lo = fwd(d->scale, d->low), hi = fwd(d->scale, d->high);
    return clamp01((fwd(d->scale, x) - lo) / (hi - lo));
}

double caviar_dist_from_unit(const caviar_dist *d, double u)
{
    u = clamp01(u);
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        double k = floor(u * (double)d->n_choices);
        return k >= (double)d->n_choices ? (double)d->n_choices - 1 : k;
    }
    if (stepped(d)) {
        double n = int_count(d), step = int_step(d), k;
        if (d->scale == CAVIAR_SCALE_LINEAR) {
            k = floor(u * n);
        } else {
            double lo, hi;
            int_span(d, &lo, &hi);
            k = floor((inv(d->scale, lo + u * (hi - lo)) - d->low) / step + 0.5);
        }
        k = k < 0 ? 0 : k > n - 1 ? n - 1 : k;
        return d->low + k * step;
    }
    double lo = fwd(d->scale, d->low), hi = fwd(d->scale, d->high);
    double v = inv(d->scale, lo + u * (hi - lo));
    return v < d->low ? d->low : v > d->high ? d->high : v;
}

int caviar_dist_contains(const caviar_dist *d, double x)
{
    if (!isfinite(x))
        return 0;
    switch (d->kind) {
    case CAVIAR_DIST_CATEGORICAL:
        return x == floor(x) && x >= 0 && x < (double)d->n_choices;
    case CAVIAR_DIST_INT:
        if (x != floor(x) || x < d->low || x > d->high)
            return 0;
        return fmod(x - d->low, int_step(d)) == 0.0;
    case CAVIAR_DIST_FLOAT:
        if (x < d->low || x > d->high)
            return 0;
        if (d->step > 0) {
            double k = floor((x - d->low) / d->step + 0.5);
            return fabs(d->low + k * d->step - x) <= 1e-9 * (fabs(x) + d->step);
        }
        return 1;
    }
    return 0;
}

int caviar_dist_equal(const caviar_dist *a, const caviar_dist *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == CAVIAR_DIST_CATEGORICAL) {
        if (a->n_choices != b->n_choices)
            return 0;
        for (size_t i = 0; i < a->n_choices; i++) {
            const caviar_value *x = &a->choices[i], *y = &b->choices[i];
            if (x->type != y->type)
                return 0;
            if (x->type == CAVIAR_VALUE_STRING ? strcmp(x->string, y->string) != 0
                                               : x->number != y->number)
                return 0;
        }
        return 1;
    }
    double sa = a->kind == CAVIAR_DIST_INT ? int_step(a) : a->step;
    double sb = b->kind == CAVIAR_DIST_INT ? int_step(b) : b->step;
    return a->scale == b->scale && a->low == b->low && a->high == b->high && sa == sb;
}

caviar_status space_dist_copy(caviar_dist *dst, const caviar_dist *src, caviar_error *err)
{
    *dst = *src;
    dst->choices = NULL;
    if (src->kind != CAVIAR_DIST_CATEGORICAL || src->n_choices == 0)
        return CAVIAR_OK;
    caviar_value *c = calloc(src->n_choices, sizeof *c);
    if (!c)
        return util_err(err, CAVIAR_ENOMEM, "cannot copy a distribution: out of memory");
    for (size_t i = 0; i < src->n_choices; i++) {
        c[i] = src->choices[i];
        if (c[i].type == CAVIAR_VALUE_STRING) {
            c[i].string = strdup(src->choices[i].string);
            if (!c[i].string) {
                dst->choices = c;
                dst->n_choices = i;
                space_dist_release(dst);
                return util_err(err, CAVIAR_ENOMEM, "cannot copy a distribution: out of memory");
            }
        } else {
            c[i].string = NULL;
        }
    }
    dst->choices = c;
    return CAVIAR_OK;
}

void space_dist_release(caviar_dist *d)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL && d->choices) {
        for (size_t i = 0; i < d->n_choices; i++)
            free((char *)d->choices[i].string);
        free((caviar_value *)d->choices);
    }
    d->choices = NULL;
}

const char *space_format(const caviar_dist *d, double x, char *buf, size_t len)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        size_t k = (size_t)x;
        if (!(x >= 0) || k >= d->n_choices) {
            snprintf(buf, len, "?");
            return buf;
        }
        const caviar_value *c = &d->choices[k];
        if (c->type == CAVIAR_VALUE_STRING)
            snprintf(buf, len, "%s", c->string);
        else if (c->type == CAVIAR_VALUE_BOOL)
            snprintf(buf, len, "%s", c->number != 0 ? "true" : "false");
        else
            snprintf(buf, len, "%.10g", c->number);
    } else if (d->kind == CAVIAR_DIST_INT) {
        snprintf(buf, len, "%.0f", x);
    } else {
        snprintf(buf, len, "%.6g", x);
    }
    return buf;
}

const char *space_describe(const caviar_dist *d, char *buf, size_t len)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        size_t at = (size_t)snprintf(buf, len, "categorical {");
        for (size_t i = 0; i < d->n_choices && at < len; i++) {
            char v[64];
            at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
                                   space_format(d, (double)i, v, sizeof v));
        }
        if (at < len)
            snprintf(buf + at, len - at, "}");
        return buf;
    }
    int n = snprintf(buf, len, "%s in [%g, %g]", kind_name(d->kind), d->low, d->high);
    if (d->step > 0 && !(d->kind == CAVIAR_DIST_INT && d->step == 1) && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " step %g", d->step);
    if (d->scale != CAVIAR_SCALE_LINEAR && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " (%s)", caviar_scale_name(d->scale));
    return buf;
}

uint64_t space_grid_size(const caviar_dist *d)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL)
        return d->n_choices;
    if (!stepped(d))
        return d->grid_points;
    /* A stepped parameter has no more grid points than admissible values. */
    double n = int_count(d);
    if (d->grid_points && (double)d->grid_points < n)
        return d->grid_points;
    return n >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)n;
}

double space_grid_value(const caviar_dist *d, uint64_t k)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL)
        return (double)k;
    uint64_t n = space_grid_size(d);
    if (stepped(d) && n == (uint64_t)int_count(d))
        return d->low + (double)k * int_step(d); /* every admissible value */
    /* n points evenly spaced on the scale, both ends included (one point: the middle). For a
     * stepped parameter the ends are low and the last admissible value, and each point is
     * rounded to the nearest admissible value. */
    double u = n <= 1 ? 0.5 : (double)k / (double)(n - 1);
    if (!stepped(d))
        return caviar_dist_from_unit(d, u);
    double step = int_step(d), last = d->low + (int_count(d) - 1.0) * step;
    double t0 = fwd(d->scale, d->low), t1 = fwd(d->scale, last);
    double j = floor((inv(d->scale, t0 + u * (t1 - t0)) - d->low) / step + 0.5);
    double m = int_count(d) - 1.0;
    return d->low + (j < 0 ? 0 : j > m ? m : j) * step;
}

/* ---- the parameter table ---- */

void space_table_init(space_table *t)
{
    memset(t, 0, sizeof *t);
}

void space_table_release(space_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->params[i].name);
        space_dist_release(&t->params[i].dist);
    }
    free(t->params);
    memset(t, 0, sizeof *t);
}

long space_table_find(const space_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->params[i].name, name) == 0)
            return (long)i;
    return -1;
}

caviar_status space_table_add(space_table *t, const char *name, const caviar_dist *d, size_t *id,
                              caviar_error *err)
{
    long found = space_table_find(t, name);
    if (found >= 0) {
        const caviar_dist *old = &t->params[found].dist;
        if (!caviar_dist_equal(old, d)) {
            char a[256], b[256];
            return util_err(err, CAVIAR_EINVAL,
                            "parameter '%s' was defined as %s and is now asked as %s; one study "
                            "gives each name one distribution", name,
                            space_describe(old, a, sizeof a), space_describe(d, b, sizeof b));
        }
        *id = (size_t)found;
        return CAVIAR_OK;
    }
    caviar_status st = caviar_dist_check(d, name, err);
    if (st != CAVIAR_OK)
        return st;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        space_param *p = realloc(t->params, cap * sizeof *p);
        if (!p)
            return util_err(err, CAVIAR_ENOMEM, "cannot add parameter '%s': out of memory", name);
        t->params = p, t->cap = cap;
    }
    space_param *p = &t->params[t->n];
    p->name = strdup(name);
    if (!p->name)
        return util_err(err, CAVIAR_ENOMEM, "cannot add parameter '%s': out of memory", name);
    if ((st = space_dist_copy(&p->dist, d, err)) != CAVIAR_OK) {
        free(p->name);
        return st;
    }
    *id = t->n++;
    return CAVIAR_OK;
}
