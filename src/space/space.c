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
 * often as the rest. Categorical choices own 1/n each, or their weight's share (choice i the
 * cell [c_i, c_i + w_i) of u * W, c_i the sum of the weights before it, W of all of them).
 *
 * The normal scales are not a change of variable between bounds but the normal distribution
 * itself: u = Phi((v - mu) / sigma), v = mu + sigma Phi^-1(u) (ln v instead of v for
 * log-normal), so that a uniform u gives a normal v. Phi comes from erfc; Phi^-1 is Wichura's
 * algorithm AS241 (PPND16, Applied Statistics 37(3), 1988), whose rational approximations are
 * good to about 1e-16 relative. from_unit clamps u to [1e-12, 1 - 1e-12] first (|z| <= 7.03):
 * v stays finite, and what is lost is 2e-12 of probability in the far tails.
 *
 * A quantum q (W&B's q, FLOAT without a step only) rounds what from_unit gives to the nearest
 * multiple of q, halves to even, after the scale has done its work: the distribution is the
 * scale's, pushed through the rounding, as W&B defines q_uniform, q_log_uniform and q_normal.
 * k q is kept to 15 significant digits, so that q 0.1 gives 0.3 and not 0.30000000000000004.
 *
 * Invariant: for an admissible internal value x, from_unit(to_unit(x)) == x for every discrete
 * distribution (a weighted choice of weight 0 excepted: it owns no u, so no u gives it), and to
 * within rounding for continuous ones.
 */
#define _POSIX_C_SOURCE 200809L
#include "space.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers must be exact in a double. */
#define SPACE_MAX_INT 9007199254740992.0 /* 2^53 */
/* from_unit on the normal scales keeps u within [NORMAL_U_MIN, 1 - NORMAL_U_MIN]. */
#define NORMAL_U_MIN 1e-12
/* Phi^-1(1 - 1e-12), rounded up: the widest z from_unit gives on the normal scales. */
#define NORMAL_Z_MAX 7.0344838
/* ln of a double: exp() of more overflows, exp() of less than -LN_MIN is subnormal or 0. */
#define LN_MAX 709.0
#define LN_MIN 708.0

const char *caviar_scale_name(caviar_scale s)
{
    switch (s) {
    case CAVIAR_SCALE_LINEAR: return "linear";
    case CAVIAR_SCALE_LOG: return "log";
    case CAVIAR_SCALE_ONE_MINUS_LOG: return "one-minus-log";
    case CAVIAR_SCALE_NORMAL: return "normal";
    case CAVIAR_SCALE_LOG_NORMAL: return "log-normal";
    }
    return "?";
}

/* ---- the standard normal distribution ---- */

double space_normal_cdf(double z)
{
    /* erfc keeps its relative accuracy in the lower tail, where 1 + erf would cancel. */
    return 0.5 * erfc(-z * 0.70710678118654752440);
}

/* Evaluates the polynomial c[0] + c[1] x + ... + c[7] x^7 (Horner). */
static double poly7(const double c[8], double x)
{
    double v = c[7];
    for (int i = 6; i >= 0; i--)
        v = v * x + c[i];
    return v;
}

double space_normal_quantile(double p)
{
    /* AS241 (PPND16): three rational approximations of degree 7/7, for the centre
     * |p - 1/2| <= 0.425 in r = 0.180625 - q^2, and for the tails in r = sqrt(-ln min(p, 1-p)),
     * split at r = 5. The coefficients are those published with the algorithm. */
    static const double a[8] = {3.3871328727963666080e0,  1.3314166789178437745e+2,
                                1.9715909503065514427e+3, 1.3731693765509461125e+4,
                                4.5921953931549871457e+4, 6.7265770927008700853e+4,
                                3.3430575583588128105e+4, 2.5090809287301226727e+3};
    static const double b[8] = {1.0,                      4.2313330701600911252e+1,
                                6.8718700749205790830e+2, 5.3941960214247511077e+3,
                                2.1213794301586595867e+4, 3.9307895800092710610e+4,
                                2.8729085735721942674e+4, 5.2264952788528545610e+3};
    static const double c[8] = {1.42343711074968357734e0,  4.63033784615654529590e0,
                                5.76949722146069140550e0,  3.64784832476320460504e0,
                                1.27045825245236838258e0,  2.41780725177450611770e-1,
                                2.27238449892691845833e-2, 7.74545014278341407640e-4};
    static const double d[8] = {1.0,                       2.05319162663775882187e0,
                                1.67638483018380384940e0,  6.89767334985100004550e-1,
                                1.48103976427480074590e-1, 1.51986665636164571966e-2,
                                5.47593808499534494600e-4, 1.05075007164441684324e-9};
    static const double e[8] = {6.65790464350110377720e0,  5.46378491116411436990e0,
                                1.78482653991729133580e0,  2.96560571828504891230e-1,
                                2.65321895265761230930e-2, 1.24266094738807843860e-3,
                                2.71155556874348757815e-5, 2.01033439929228813265e-7};
    static const double f[8] = {1.0,                       5.99832206555887937690e-1,
                                1.36929880922735805310e-1, 1.48753612908506148525e-2,
                                7.86869131145613259100e-4, 1.84631831751005468180e-5,
                                1.42151175831644588870e-7, 2.04426310338993978564e-15};
    if (!(p > 0.0))
        return p == 0.0 ? -HUGE_VAL : NAN;
    if (!(p < 1.0))
        return p == 1.0 ? HUGE_VAL : NAN;
    double q = p - 0.5;
    if (fabs(q) <= 0.425) {
        double r = 0.180625 - q * q;
        return q * poly7(a, r) / poly7(b, r);
    }
    double r = sqrt(-log(q < 0 ? p : 1.0 - p)), z;
    if (r <= 5.0) {
        r -= 1.6;
        z = poly7(c, r) / poly7(d, r);
    } else {
        r -= 5.0;
        z = poly7(e, r) / poly7(f, r);
    }
    return q < 0 ? -z : z;
}

static int normal_scale(caviar_scale s)
{
    return s == CAVIAR_SCALE_NORMAL || s == CAVIAR_SCALE_LOG_NORMAL;
}

/* The sum of a categorical's weights (n_choices when it has none). */
static double weight_sum(const caviar_dist *d)
{
    if (!d->weights)
        return (double)d->n_choices;
    double w = 0;
    for (size_t i = 0; i < d->n_choices; i++)
        w += d->weights[i];
    return w;
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
        if (d->weights) {
            double sum = 0;
            for (size_t i = 0; i < d->n_choices; i++) {
                if (!isfinite(d->weights[i]) || d->weights[i] < 0)
                    return util_err(err, CAVIAR_EINVAL, "parameter '%s': the weight of choice "
                                                        "%zu must be a finite number >= 0, got "
                                                        "%g", name, i + 1, d->weights[i]);
                sum += d->weights[i];
            }
            if (!(sum > 0) || !isfinite(sum))
                return util_err(err, CAVIAR_EINVAL, "parameter '%s': the weights of the choices "
                                                    "must have a positive finite sum, got %g",
                                name, sum);
        }
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
    if (!isfinite(d->q) || d->q < 0)
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': q %g must be a number >= 0", name,
                        d->q);
    if (d->q != 0 && (d->kind != CAVIAR_DIST_FLOAT || d->step != 0))
        return util_err(err, CAVIAR_EINVAL, "parameter '%s': a quantum q is for floats without "
                                            "a step, got q %g on %s%s", name, d->q, kind,
                        d->step != 0 ? " with a step" : "");
    if (normal_scale(d->scale)) {
        const char *scale = caviar_scale_name(d->scale);
        if (d->kind != CAVIAR_DIST_FLOAT)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': the %s scale is for floats, "
                                                "not ints", name, scale);
        if (d->step != 0)
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': a float on the %s scale takes "
                                                "no step, got %g", name, scale, d->step);
        if (!isfinite(d->mu))
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': mu must be a finite number",
                            name);
        if (!isfinite(d->sigma) || !(d->sigma > 0))
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': sigma must be a finite number "
                                                "> 0, got %g", name, d->sigma);
        /* The values from_unit can give, mu -+ NORMAL_Z_MAX sigma (of ln v for log-normal),
         * must be finite, and positive for log-normal. */
        double lo = d->mu - NORMAL_Z_MAX * d->sigma, hi = d->mu + NORMAL_Z_MAX * d->sigma;
        if (!isfinite(lo) || !isfinite(hi))
            return util_err(err, CAVIAR_EINVAL, "parameter '%s': mu %g and sigma %g are too large "
                                                "for a double", name, d->mu, d->sigma);
        if (d->scale == CAVIAR_SCALE_LOG_NORMAL && (hi > LN_MAX || lo < -LN_MIN))
            return util_err(err, CAVIAR_EINVAL,
                            "parameter '%s': log-normal mu %g and sigma %g give values beyond the "
                            "range of a double (mu -+ 7 sigma must lie within [-708, 709])", name,
                            d->mu, d->sigma);
        return CAVIAR_OK;
    }
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

/* A weighted choice's position: the middle of its cell. */
static double weighted_to_unit(const caviar_dist *d, double x)
{
    double k = floor(x);
    if (!(k >= 0))
        return 0.0;
    if (k >= (double)d->n_choices)
        return 1.0;
    double before = 0;
    for (size_t i = 0; i < (size_t)k; i++)
        before += d->weights[i];
    return clamp01((before + 0.5 * d->weights[(size_t)k]) / weight_sum(d));
}

/* The choice whose cell holds u: the first i with u W < c_i + w_i, or the last choice of
 * positive weight when rounding leaves u W at or past the end. */
static double weighted_from_unit(const caviar_dist *d, double u)
{
    double t = u * weight_sum(d), acc = 0;
    size_t last = 0;
    for (size_t i = 0; i < d->n_choices; i++) {
        if (d->weights[i] > 0)
            last = i;
        acc += d->weights[i];
        if (t < acc && d->weights[i] > 0)
            return (double)i;
    }
    return (double)last;
}

/* The standard normal deviate of a value on a normal scale. */
static double normal_z(const caviar_dist *d, double x)
{
    double t = d->scale == CAVIAR_SCALE_LOG_NORMAL ? (x > 0 ? log(x) : -HUGE_VAL) : x;
    return (t - d->mu) / d->sigma;
}

double caviar_dist_to_unit(const caviar_dist *d, double x)
{
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        if (d->weights)
            return weighted_to_unit(d, x);
        return (floor(x) + 0.5) / (double)d->n_choices;
    }
    if (normal_scale(d->scale))
        return clamp01(space_normal_cdf(normal_z(d, x)));
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
    x = x < d->low ? d->low : x > d->high ? d->high : x; /* a quantised value may lie outside */
    return clamp01((fwd(d->scale, x) - lo) / (hi - lo));
}

/* x rounded to the nearest multiple of d->q, halves to even (x itself without a quantum). */
static double quantise(const caviar_dist *d, double x)
{
    if (!(d->q > 0))
        return x;
    /* k q carries q's representation error (3 x 0.1 = 0.30000000000000004): 15 significant
     * digits, which a double holds exactly, give the decimal multiple back. */
    char text[32];
    snprintf(text, sizeof text, "%.15g", nearbyint(x / d->q) * d->q);
    double v = strtod(text, NULL);
    return v == 0 ? 0.0 : v; /* no -0 */
}

static double from_unit(const caviar_dist *d, double u);

double caviar_dist_from_unit(const caviar_dist *d, double u)
{
    return quantise(d, from_unit(d, u));
}

static double from_unit(const caviar_dist *d, double u)
{
    u = clamp01(u);
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        if (d->weights)
            return weighted_from_unit(d, u);
        double k = floor(u * (double)d->n_choices);
        return k >= (double)d->n_choices ? (double)d->n_choices - 1 : k;
    }
    if (normal_scale(d->scale)) {
        /* The upper half through its tail 1 - u (exact for u >= 1/2), so that the clamp is
         * symmetric: the double nearest 1 - 1e-12 is 1 - 1.00009e-12. */
        double tail = u <= 0.5 ? u : 1.0 - u;
        double z = space_normal_quantile(tail < NORMAL_U_MIN ? NORMAL_U_MIN : tail);
        double t = d->mu + d->sigma * (u <= 0.5 ? z : -z);
        return d->scale == CAVIAR_SCALE_LOG_NORMAL ? exp(t) : t;
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
        if (d->q > 0) { /* a multiple of q, within q/2 of the range on a bounded scale */
            if (fabs(x - quantise(d, x)) > 1e-9 * (fabs(x) + d->q))
                return 0;
            if (normal_scale(d->scale))
                return d->scale == CAVIAR_SCALE_NORMAL || x >= 0;
            double slack = 0.5 * d->q * (1 + 1e-9);
            return x >= d->low - slack && x <= d->high + slack;
        }
        if (normal_scale(d->scale)) /* unbounded: any finite value (positive for log-normal) */
            return d->scale == CAVIAR_SCALE_NORMAL || x > 0;
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
    if (a->kind != b->kind || a->q != b->q)
        return 0;
    if (a->kind == CAVIAR_DIST_CATEGORICAL) {
        if (a->n_choices != b->n_choices)
            return 0;
        if (!a->weights != !b->weights)
            return 0;
        for (size_t i = 0; i < a->n_choices; i++) {
            const caviar_value *x = &a->choices[i], *y = &b->choices[i];
            if (x->type != y->type)
                return 0;
            if (x->type == CAVIAR_VALUE_STRING ? strcmp(x->string, y->string) != 0
                                               : x->number != y->number)
                return 0;
            if (a->weights && a->weights[i] != b->weights[i])
                return 0;
        }
        return 1;
    }
    if (normal_scale(a->scale) || normal_scale(b->scale))
        return a->scale == b->scale && a->mu == b->mu && a->sigma == b->sigma &&
               a->step == b->step;
    double sa = a->kind == CAVIAR_DIST_INT ? int_step(a) : a->step;
    double sb = b->kind == CAVIAR_DIST_INT ? int_step(b) : b->step;
    return a->scale == b->scale && a->low == b->low && a->high == b->high && sa == sb;
}

caviar_status space_dist_copy(caviar_dist *dst, const caviar_dist *src, caviar_error *err)
{
    *dst = *src;
    dst->choices = NULL;
    dst->weights = NULL;
    if (src->kind != CAVIAR_DIST_CATEGORICAL || src->n_choices == 0)
        return CAVIAR_OK;
    if (src->weights) {
        double *w = malloc(src->n_choices * sizeof *w);
        if (!w)
            return util_err(err, CAVIAR_ENOMEM, "cannot copy a distribution: out of memory");
        memcpy(w, src->weights, src->n_choices * sizeof *w);
        dst->weights = w;
    }
    caviar_value *c = calloc(src->n_choices, sizeof *c);
    if (!c) {
        free((double *)dst->weights);
        dst->weights = NULL;
        return util_err(err, CAVIAR_ENOMEM, "cannot copy a distribution: out of memory");
    }
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
    if (d->kind == CAVIAR_DIST_CATEGORICAL) {
        if (d->choices) {
            for (size_t i = 0; i < d->n_choices; i++)
                free((char *)d->choices[i].string);
            free((caviar_value *)d->choices);
        }
        free((double *)d->weights);
    }
    d->choices = NULL;
    d->weights = NULL;
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
            if (d->weights && at < len)
                at += (size_t)snprintf(buf + at, len - at, " (weight %g)", d->weights[i]);
        }
        if (at < len)
            snprintf(buf + at, len - at, "}");
        return buf;
    }
    int n;
    if (normal_scale(d->scale)) {
        n = snprintf(buf, len, "%s %s(mu %g, sigma %g)", kind_name(d->kind),
                     caviar_scale_name(d->scale), d->mu, d->sigma);
    } else {
        n = snprintf(buf, len, "%s in [%g, %g]", kind_name(d->kind), d->low, d->high);
        if (d->step > 0 && !(d->kind == CAVIAR_DIST_INT && d->step == 1) && n > 0 &&
            (size_t)n < len)
            n += snprintf(buf + n, len - (size_t)n, " step %g", d->step);
        if (d->scale != CAVIAR_SCALE_LINEAR && n > 0 && (size_t)n < len)
            n += snprintf(buf + n, len - (size_t)n, " (%s)", caviar_scale_name(d->scale));
    }
    if (d->q > 0 && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " q %g", d->q);
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
