/*
 * wandb.c — W&B's parameters and early_terminate in caviar's terms.
 *
 * Each W&B distribution becomes a caviar_dist on the scale where W&B samples it, so that the
 * random sampler draws what W&B's random search draws and every other sampler searches the same
 * space; W&B's quantisation round(x / q) q is the distribution's quantum (caviar_dist.q: numpy's
 * round, halves to even), so the study stores the rounded value. W&B's definitions, from its documentation
 * (https://docs.wandb.ai/guides/sweeps/sweep-config-keys, "Distribution options") and the
 * sampling code of its sweeps library (https://github.com/wandb/sweeps, src/sweeps/params.py,
 * HyperParameter.ppf), with what each becomes:
 *
 *   constant                 value                          categorical of one choice
 *   categorical              uniform over values            categorical (equal shares of u)
 *     with probabilities     value i with probability p_i   categorical with weights p_i
 *   int_uniform              integers min..max, uniform     INT linear [min, max]
 *   uniform                  uniform on [min, max]          FLOAT linear [min, max]
 *   q_uniform                round(uniform / q) q           FLOAT linear [min, max], q
 *   log_uniform              exp(uniform on [min, max]):    FLOAT log [e^min, e^max]
 *                            bounds are natural logs
 *   log_uniform_values       ln x uniform on [ln min, ln max]      FLOAT log [min, max]
 *   q_log_uniform(_values)   round(x / q) q of the above    the above, q
 *   inv_log_uniform          ln(1/x) uniform on [min, max]  FLOAT log [e^-max, e^-min]
 *   inv_log_uniform_values   ln(1/x) uniform on             FLOAT log [min, max]: the same
 *                            [ln(1/max), ln(1/min)]         distribution as log_uniform_values
 *                            (the sweeps code: exp(-U(1 - u)) with U uniform on that range)
 *   normal                   mu + sigma Z (mu 0, sigma 1)   FLOAT normal (mu, sigma)
 *   q_normal                 round(normal / q) q            FLOAT normal, q
 *   log_normal               exp(mu + sigma Z)              FLOAT log-normal (mu, sigma)
 *   q_log_normal             round(log_normal / q) q        FLOAT log-normal, q
 *   (caviar) one_minus_log_uniform_values                   FLOAT one-minus-log [min, max]
 *
 * q defaults to 1 and must be > 0; the normal distributions' sigma must be > 0 (W&B allows 0,
 * which its sampler turns into NaN). Without a distribution W&B infers one: values ->
 * categorical, value -> constant, min and max -> int_uniform when both are written as integers,
 * else uniform. W&B checks min < max for every distribution and probabilities against values:
 * the same length, and a sum that numpy.isclose calls 1 (|sum - 1| <= 1e-8 + 1e-5); caviar too.
 * W&B's name for a categorical with probabilities, categorical_w_probabilities, is accepted.
 * W&B's sweeps code also samples beta and q_beta, which its documentation does not list:
 * refused with a message. log_uniform, q_log_uniform and inv_log_uniform are deprecated in the
 * newest sweeps code (which refuses them) but documented, so accepted with their meaning.
 *
 * A grid (sampler grid) follows W&B's grid search: values and value as they are, int_uniform
 * as every integer, q_uniform as the values arange(min, max, q) (max excluded, no rounding),
 * probabilities refused; any other distribution needs caviar's grid_points.
 *
 * Nested parameters {parameters: {...}} flatten to dotted names, "optimizer.lr"; names follow
 * W&B's pattern [A-Za-z_][A-Za-z0-9_.-]*, so a dotted name could also be written at the top:
 * two parameters with one name are an error.
 */
#include "config_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space/space.h"

/* ---- the distributions ---- */

/* The keys a parameter may hold, as bits. */
enum {
    K_VALUE = 1 << 0, K_VALUES = 1 << 1, K_PROB = 1 << 2, K_MIN = 1 << 3, K_MAX = 1 << 4,
    K_MU = 1 << 5, K_SIGMA = 1 << 6, K_Q = 1 << 7, K_GRID = 1 << 8, K_N = 9
};
static const char *const key_names[K_N] = {"value", "values", "probabilities", "min", "max",
                                           "mu", "sigma", "q", "grid_points"};

/* How a distribution becomes a caviar_dist. */
typedef enum wandb_map {
    MAP_CONSTANT, MAP_CATEGORICAL, MAP_INT, MAP_UNIFORM, MAP_LOG_EXP, MAP_LOG, MAP_INV_LOG_EXP,
    MAP_NORMAL, MAP_LOG_NORMAL, MAP_ONE_MINUS_LOG
} wandb_map;

typedef struct wandb_dist {
    const char *name;
    wandb_map map;
    unsigned keys, required;
    int quantised;
} wandb_dist;

#define RANGE (K_MIN | K_MAX)
static const wandb_dist dists[] = {
    {"constant", MAP_CONSTANT, K_VALUE, K_VALUE, 0},
    {"categorical", MAP_CATEGORICAL, K_VALUES | K_PROB, K_VALUES, 0},
    {"categorical_w_probabilities", MAP_CATEGORICAL, K_VALUES | K_PROB, K_VALUES | K_PROB, 0},
    {"int_uniform", MAP_INT, RANGE | K_GRID, RANGE, 0},
    {"uniform", MAP_UNIFORM, RANGE | K_GRID, RANGE, 0},
    {"q_uniform", MAP_UNIFORM, RANGE | K_Q | K_GRID, RANGE, 1},
    {"log_uniform", MAP_LOG_EXP, RANGE | K_GRID, RANGE, 0},
    {"q_log_uniform", MAP_LOG_EXP, RANGE | K_Q | K_GRID, RANGE, 1},
    {"log_uniform_values", MAP_LOG, RANGE | K_GRID, RANGE, 0},
    {"q_log_uniform_values", MAP_LOG, RANGE | K_Q | K_GRID, RANGE, 1},
    {"inv_log_uniform", MAP_INV_LOG_EXP, RANGE | K_GRID, RANGE, 0},
    {"inv_log_uniform_values", MAP_LOG, RANGE | K_GRID, RANGE, 0},
    {"normal", MAP_NORMAL, K_MU | K_SIGMA | K_GRID, 0, 0},
    {"q_normal", MAP_NORMAL, K_MU | K_SIGMA | K_Q | K_GRID, 0, 1},
    {"log_normal", MAP_LOG_NORMAL, K_MU | K_SIGMA | K_GRID, 0, 0},
    {"q_log_normal", MAP_LOG_NORMAL, K_MU | K_SIGMA | K_Q | K_GRID, 0, 1},
    {"one_minus_log_uniform_values", MAP_ONE_MINUS_LOG, RANGE | K_GRID, RANGE, 0},
};
#define N_DISTS (sizeof dists / sizeof dists[0])

static const char *const param_keys[] = {"distribution", "value", "values", "probabilities",
                                         "min", "max", "mu", "sigma", "q", "parameters",
                                         "grid_points", NULL};

/* e^x must be a normal positive double. */
#define LN_LOW -708.0
#define LN_HIGH 709.0

/* ---- one parameter ---- */

/* What a parameter's mapping holds, by key. */
typedef struct param_keys_found {
    const yaml_node_t *key[K_N], *value[K_N];
    unsigned present;
} param_keys_found;

/* "a, b and c" of the key bits in mask. */
static void key_list(unsigned mask, char *buf, size_t len)
{
    size_t at = 0, n = 0, total = 0;
    buf[0] = '\0';
    for (int i = 0; i < K_N; i++)
        total += (mask >> i) & 1;
    for (int i = 0; i < K_N && at < len; i++) {
        if (!((mask >> i) & 1))
            continue;
        n++;
        const char *sep = n == 1 ? "" : n == total ? " and " : ", ";
        at += (size_t)snprintf(buf + at, len - at, "%s%s", sep, key_names[i]);
    }
    if (total == 0)
        snprintf(buf, len, "nothing else");
}

/* One categorical choice from a scalar (or a list of scalars, kept as its JSON text). */
static caviar_status read_choice(cfg_ctx *c, const yaml_node_t *n, const char *what,
                                 caviar_value *v)
{
    char shown[64];
    memset(v, 0, sizeof *v);
    if (n->type == YAML_MAPPING_NODE)
        return cfg_fail(c, n, "expected a number, a string, a boolean or a list of them in %s, "
                              "got a mapping", what);
    if (n->type == YAML_SEQUENCE_NODE) {
        /* W&B lets a value be a list ([64, 32] hidden units); caviar's choices are scalars, so
         * it becomes the string of its JSON form, "[64, 32]". */
        size_t len = 2, count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        char *text = malloc(3);
        if (!text)
            return cfg_nomem(c);
        strcpy(text, "[");
        len = 1;
        for (size_t i = 0; i < count; i++) {
            const yaml_node_t *item = cfg_node(c, n->data.sequence.items.start[i], n);
            cfg_scalar s;
            caviar_status st = item ? cfg_scalar_of(c, item, what, &s) : CAVIAR_EINVAL;
            if (st == CAVIAR_OK && (s.type == CFG_NULL ||
                                    ((s.type == CFG_INT || s.type == CFG_FLOAT) &&
                                     !isfinite(s.number))))
                st = cfg_fail(c, item, "expected a finite number, a string or a boolean in a "
                                       "list of %s, got %s", what,
                              cfg_show(item, shown, sizeof shown));
            if (st != CAVIAR_OK) {
                free(text);
                return st;
            }
            /* JSON: strings quoted (with \" and \\ escaped, control bytes as \u00XX), the
             * rest as written (booleans as true/false). */
            size_t need = len + 2 + 6 * s.len + 8;
            if (len + 2 + 6 * s.len + 8 > CONFIG_MAX_STRING * 8) {
                free(text);
                return cfg_fail(c, n, "a list in %s is too long", what);
            }
            char *grown = realloc(text, need);
            if (!grown) {
                free(text);
                return cfg_nomem(c);
            }
            text = grown;
            if (i)
                text[len++] = ',', text[len++] = ' ';
            if (s.type == CFG_STRING) {
                text[len++] = '"';
                for (size_t k = 0; k < s.len; k++) {
                    unsigned char b = (unsigned char)s.text[k];
                    if (b == '"' || b == '\\')
                        text[len++] = '\\', text[len++] = (char)b;
                    else if (b < 0x20)
                        len += (size_t)snprintf(text + len, 7, "\\u%04x", b);
                    else
                        text[len++] = (char)b;
                }
                text[len++] = '"';
            } else if (s.type == CFG_BOOL) {
                len += (size_t)snprintf(text + len, 6, "%s", s.number != 0 ? "true" : "false");
            } else {
                memcpy(text + len, s.text, s.len);
                len += s.len;
            }
            text[len] = '\0';
        }
        char *done = realloc(text, len + 2);
        if (!done) {
            free(text);
            return cfg_nomem(c);
        }
        done[len++] = ']';
        done[len] = '\0';
        v->type = CAVIAR_VALUE_STRING;
        v->string = done;
        return CAVIAR_OK;
    }
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    switch (s.type) {
    case CFG_NULL:
        return cfg_fail(c, n, "expected a number, a string or a boolean in %s, got nothing (a "
                              "null)", what);
    case CFG_BOOL:
        v->type = CAVIAR_VALUE_BOOL;
        v->number = s.number;
        return CAVIAR_OK;
    case CFG_INT:
    case CFG_FLOAT:
        if (!isfinite(s.number))
            return cfg_fail(c, n, "expected a finite number in %s, got %s", what,
                            cfg_show(n, shown, sizeof shown));
        v->type = CAVIAR_VALUE_NUMBER;
        v->number = s.number;
        return CAVIAR_OK;
    case CFG_STRING: {
        char *text = malloc(s.len + 1);
        if (!text)
            return cfg_nomem(c);
        memcpy(text, s.text, s.len);
        text[s.len] = '\0';
        v->type = CAVIAR_VALUE_STRING;
        v->string = text;
        return CAVIAR_OK;
    }
    }
    return CAVIAR_OK;
}

/* Choices sorted to find duplicates in O(n log n): by type, value, then place in the list. */
typedef struct choice_ref {
    const caviar_value *v;
    size_t index;
} choice_ref;

static int choice_ref_cmp(const void *pa, const void *pb)
{
    const choice_ref *a = pa, *b = pb;
    if (a->v->type != b->v->type)
        return a->v->type < b->v->type ? -1 : 1;
    int d = a->v->type == CAVIAR_VALUE_STRING ? strcmp(a->v->string, b->v->string)
                                              : (a->v->number > b->v->number) -
                                                    (a->v->number < b->v->number);
    if (d)
        return d;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The index of the first choice (in list order) equal to an earlier one; n when none, n + 1
 * when out of memory. */
static size_t first_repeat(const caviar_value *choices, size_t n)
{
    if (n < 2)
        return n;
    choice_ref *refs = malloc(n * sizeof *refs);
    if (!refs)
        return n + 1;
    for (size_t i = 0; i < n; i++)
        refs[i].v = &choices[i], refs[i].index = i;
    qsort(refs, n, sizeof *refs, choice_ref_cmp);
    size_t dup = n;
    for (size_t i = 1; i < n; i++) {
        choice_ref a = refs[i - 1], b = refs[i];
        a.index = b.index; /* compare the values only */
        if (choice_ref_cmp(&a, &b) == 0 && b.index < dup)
            dup = b.index;
    }
    free(refs);
    return dup;
}

/* values: a list of choices into d (owned by d on success and on failure). */
static caviar_status read_values(cfg_ctx *c, const yaml_node_t *n, const char *what,
                                 caviar_dist *d)
{
    char shown[64];
    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_fail(c, n, "expected a list for %s (e.g. [16, 32, 64]), got %s", what,
                        cfg_show(n, shown, sizeof shown));
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        return cfg_fail(c, n, "%s is an empty list; expected at least one value", what);
    if (count > CONFIG_MAX_VALUES)
        return cfg_fail(c, n, "%s has %zu values; at most %d are allowed", what, count,
                        CONFIG_MAX_VALUES);
    caviar_status st;
    caviar_value *choices = calloc(count, sizeof *choices);
    if (!choices)
        return cfg_nomem(c);
    d->kind = CAVIAR_DIST_CATEGORICAL;
    d->choices = choices;
    d->n_choices = 0;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *item = cfg_node(c, n->data.sequence.items.start[i], n);
        if (!item)
            return CAVIAR_EINVAL;
        st = read_choice(c, item, what, &choices[i]);
        if (st != CAVIAR_OK)
            return st;
        d->n_choices = i + 1;
    }
    size_t dup = first_repeat(choices, count);
    if (dup > count)
        return cfg_nomem(c);
    if (dup < count) {
        const yaml_node_t *item = yaml_document_get_node(c->doc, n->data.sequence.items.start[dup]);
        return cfg_fail(c, item, "%s holds %s twice; each value may appear once", what,
                        cfg_show(item, shown, sizeof shown));
    }
    return CAVIAR_OK;
}

/* probabilities: one number >= 0 per choice, summing to 1 as numpy.isclose sees it. */
static caviar_status read_probabilities(cfg_ctx *c, const yaml_node_t *n, const char *what,
                                        caviar_dist *d)
{
    char shown[64];
    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_fail(c, n, "expected a list of numbers for %s, got %s", what,
                        cfg_show(n, shown, sizeof shown));
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count != d->n_choices)
        return cfg_fail(c, n, "%s must hold one number per value: expected %zu, got %zu", what,
                        d->n_choices, count);
    double *w = calloc(count, sizeof *w), sum = 0;
    if (!w)
        return cfg_nomem(c);
    d->weights = w;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *item = cfg_node(c, n->data.sequence.items.start[i], n);
        if (!item)
            return CAVIAR_EINVAL;
        caviar_status st = cfg_number(c, item, what, &w[i], NULL);
        if (st != CAVIAR_OK)
            return st;
        if (w[i] < 0)
            return cfg_fail(c, item, "%s must be >= 0, got %s", what,
                            cfg_show(item, shown, sizeof shown));
        sum += w[i];
    }
    if (!(fabs(sum - 1.0) <= 1e-8 + 1e-5))
        return cfg_fail(c, n, "%s sum to %.10g; expected 1 (within 1e-5)", what, sum);
    return CAVIAR_OK;
}

/* Appends a finished parameter (taking over d and name). */
static caviar_status add_param(cfg_ctx *c, const yaml_node_t *at, char *name, caviar_dist *d)
{
    config_sweep *out = c->out;
    for (size_t i = 0; i < out->n_params; i++)
        if (strcmp(out->params[i].name, name) == 0) {
            config_pos first = out->param_pos[i];
            caviar_status st = cfg_fail(c, at, "parameter '%s' is defined twice (first at "
                                               "%u:%u)", name, first.line, first.column);
            free(name);
            space_dist_release(d);
            return st;
        }
    objective_param *p = realloc(out->params, (out->n_params + 1) * sizeof *p);
    if (p)
        out->params = p;
    config_pos *pos = p ? realloc(out->param_pos, (out->n_params + 1) * sizeof *pos) : NULL;
    if (pos)
        out->param_pos = pos;
    if (!p || !pos) {
        free(name);
        space_dist_release(d);
        return cfg_nomem(c);
    }
    p[out->n_params].name = name;
    p[out->n_params].dist = *d;
    pos[out->n_params] = cfg_pos(at);
    out->n_params++;
    return CAVIAR_OK;
}

/* W&B's grid of a q_uniform: numpy.arange(min, max, q), min + k q for k < ceil((max - min) / q).
 */
static caviar_status grid_arange(cfg_ctx *c, const yaml_node_t *at, const char *name,
                                 double lo, double hi, double q, caviar_dist *d)
{
    double n = ceil((hi - lo) / q);
    if (!(n >= 1) || n > CONFIG_MAX_VALUES)
        return cfg_fail(c, at, "parameter '%s': q_uniform on a grid is the %.0f values min, min + "
                               "q, ... below max; at most %d are allowed", name, n,
                        CONFIG_MAX_VALUES);
    caviar_value *v = calloc((size_t)n, sizeof *v);
    if (!v)
        return cfg_nomem(c);
    for (size_t k = 0; k < (size_t)n; k++) {
        v[k].type = CAVIAR_VALUE_NUMBER;
        v[k].number = lo + (double)k * q;
        if (k > 0 && v[k].number == v[k - 1].number) {
            free(v);
            return cfg_fail(c, at, "parameter '%s': q %g is too small for the range [%g, %g] to "
                                   "make distinct grid values", name, q, lo, hi);
        }
    }
    memset(d, 0, sizeof *d);
    d->kind = CAVIAR_DIST_CATEGORICAL;
    d->choices = v;
    d->n_choices = (size_t)n;
    return CAVIAR_OK;
}

/* One parameter that is not a nest: node is its mapping, at its name's key. */
static caviar_status read_param(cfg_ctx *c, const yaml_node_t *key, const cfg_map *m,
                                char *name)
{
    char what[600], shown[64], list[128];
    param_keys_found f;
    memset(&f, 0, sizeof f);
    caviar_dist d;
    memset(&d, 0, sizeof d);
    caviar_status st;
    for (int i = 0; i < K_N; i++)
        if ((f.value[i] = cfg_map_get(c, m, key_names[i], &f.key[i])))
            f.present |= 1u << i;

    /* Which distribution. */
    const wandb_dist *w = NULL;
    const yaml_node_t *dist_key = NULL, *dist_node = cfg_map_get(c, m, "distribution", &dist_key);
    if (dist_node) {
        cfg_scalar s;
        if ((st = cfg_scalar_of(c, dist_node, "distribution", &s)) != CAVIAR_OK)
            goto fail;
        char text[64];
        size_t len = s.len < sizeof text - 1 ? s.len : sizeof text - 1;
        memcpy(text, s.text, len);
        text[len] = '\0';
        for (size_t i = 0; i < N_DISTS && s.type == CFG_STRING; i++)
            if (strcmp(text, dists[i].name) == 0)
                w = &dists[i];
        if (!w) {
            if (strcmp(text, "beta") == 0 || strcmp(text, "q_beta") == 0) {
                st = cfg_fail(c, dist_node, "distribution '%s' (in W&B's sweeps code, not in its "
                                            "documentation) is not supported by caviar", text);
                goto fail;
            }
            const char *names[N_DISTS + 1];
            for (size_t i = 0; i < N_DISTS; i++)
                names[i] = dists[i].name;
            names[N_DISTS] = NULL;
            const char *close = s.type == CFG_STRING ? cfg_closest(text, names) : NULL;
            if (close)
                st = cfg_fail(c, dist_node, "unknown distribution %s for parameter '%s'; did you "
                                            "mean '%s'?", cfg_show(dist_node, shown, sizeof shown),
                              name, close);
            else
                st = cfg_fail(c, dist_node, "unknown distribution %s for parameter '%s'; "
                                            "expected one of W&B's (uniform, int_uniform, "
                                            "log_uniform_values, normal, categorical, ...)",
                              cfg_show(dist_node, shown, sizeof shown), name);
            goto fail;
        }
    } else if ((f.present & K_VALUE) && (f.present & K_VALUES)) {
        st = cfg_fail(c, f.key[1], "parameter '%s' has both value and values; expected one of "
                                   "them", name);
        goto fail;
    } else if (f.present & K_VALUES) {
        w = &dists[1];
    } else if (f.present & K_VALUE) {
        w = &dists[0];
    } else if ((f.present & RANGE) == RANGE) {
        /* W&B: int_uniform when min and max are both written as integers, else uniform. */
        double v;
        int a = 0, b = 0;
        snprintf(what, sizeof what, "'min' of parameter '%s'", name);
        if ((st = cfg_number(c, f.value[3], what, &v, &a)) != CAVIAR_OK)
            goto fail;
        snprintf(what, sizeof what, "'max' of parameter '%s'", name);
        if ((st = cfg_number(c, f.value[4], what, &v, &b)) != CAVIAR_OK)
            goto fail;
        w = a && b ? &dists[3] : &dists[4];
    } else if (f.present & RANGE) {
        st = cfg_fail(c, key, "parameter '%s' has %s but no %s; expected both", name,
                      (f.present & K_MIN) ? "min" : "max", (f.present & K_MIN) ? "max" : "min");
        goto fail;
    } else if (f.present & (K_MU | K_SIGMA)) {
        st = cfg_fail(c, key, "parameter '%s' has mu or sigma but no distribution; expected "
                              "distribution: normal, q_normal, log_normal or q_log_normal", name);
        goto fail;
    } else {
        st = cfg_fail(c, key, "parameter '%s' says nothing to search; expected values, value, "
                              "min and max, a distribution, or nested parameters", name);
        goto fail;
    }

    /* Its keys. */
    for (int i = 0; i < K_N; i++) {
        unsigned bit = 1u << i;
        if ((f.present & bit) && !(w->keys & bit)) {
            char suggestion[96] = "";
            if (bit == K_Q) {
                char qname[64];
                snprintf(qname, sizeof qname, "q_%s", w->name);
                for (size_t j = 0; j < N_DISTS; j++)
                    if (strcmp(dists[j].name, qname) == 0)
                        snprintf(suggestion, sizeof suggestion, "; did you mean distribution "
                                                                "'%s'?", qname);
            }
            key_list(w->keys, list, sizeof list);
            st = cfg_fail(c, f.key[i], "parameter '%s': distribution '%s' takes no '%s' (it "
                                       "takes %s)%s", name, w->name, key_names[i], list,
                          suggestion);
            goto fail;
        }
        if ((w->required & bit) && !(f.present & bit)) {
            st = cfg_fail(c, key, "parameter '%s': distribution '%s' needs '%s'", name, w->name,
                          key_names[i]);
            goto fail;
        }
    }

    double lo = 0, hi = 0, q = 0;
    int lo_int = 0, hi_int = 0;
    if (w->keys & RANGE) {
        snprintf(what, sizeof what, "'min' of parameter '%s'", name);
        if ((st = cfg_number(c, f.value[3], what, &lo, &lo_int)) != CAVIAR_OK)
            goto fail;
        snprintf(what, sizeof what, "'max' of parameter '%s'", name);
        if ((st = cfg_number(c, f.value[4], what, &hi, &hi_int)) != CAVIAR_OK)
            goto fail;
        if (!(lo < hi)) {
            st = cfg_fail(c, f.value[3], "parameter '%s': min %g is not below max %g", name, lo,
                          hi);
            goto fail;
        }
    }
    if (w->quantised) {
        q = 1;
        snprintf(what, sizeof what, "'q' of parameter '%s'", name);
        if ((f.present & K_Q) && (st = cfg_number(c, f.value[7], what, &q, NULL)) != CAVIAR_OK)
            goto fail;
        if (!(q > 0)) {
            st = cfg_fail(c, f.value[7], "%s must be > 0, got %s", what,
                          cfg_show(f.value[7], shown, sizeof shown));
            goto fail;
        }
    }

    d.kind = CAVIAR_DIST_FLOAT;
    d.scale = CAVIAR_SCALE_LINEAR;
    switch (w->map) {
    case MAP_CONSTANT: {
        snprintf(what, sizeof what, "'value' of parameter '%s'", name);
        caviar_value *v = calloc(1, sizeof *v);
        if (!v) {
            st = cfg_nomem(c);
            goto fail;
        }
        d.kind = CAVIAR_DIST_CATEGORICAL;
        d.choices = v;
        d.n_choices = 1;
        if ((st = read_choice(c, f.value[0], what, v)) != CAVIAR_OK)
            goto fail;
        break;
    }
    case MAP_CATEGORICAL:
        snprintf(what, sizeof what, "'values' of parameter '%s'", name);
        if ((st = read_values(c, f.value[1], what, &d)) != CAVIAR_OK)
            goto fail;
        if (f.present & K_PROB) {
            if (c->grid) {
                st = cfg_fail(c, f.key[2], "parameter '%s': the grid sampler takes every value "
                                           "once, so probabilities cannot apply (W&B's grid "
                                           "refuses them too)", name);
                goto fail;
            }
            snprintf(what, sizeof what, "'probabilities' of parameter '%s'", name);
            if ((st = read_probabilities(c, f.value[2], what, &d)) != CAVIAR_OK)
                goto fail;
        }
        break;
    case MAP_INT:
        if (!lo_int || !hi_int || fabs(lo) > 9007199254740992.0 ||
            fabs(hi) > 9007199254740992.0) {
            const yaml_node_t *bad = !lo_int || fabs(lo) > 9007199254740992.0 ? f.value[3]
                                                                            : f.value[4];
            st = cfg_fail(c, bad, "expected an integer within -+2^53 for '%s' of parameter '%s' "
                                  "(int_uniform), got %s", bad == f.value[3] ? "min" : "max",
                          name, cfg_show(bad, shown, sizeof shown));
            goto fail;
        }
        d.kind = CAVIAR_DIST_INT;
        d.low = lo, d.high = hi, d.step = 1;
        break;
    case MAP_UNIFORM:
        d.low = lo, d.high = hi;
        break;
    case MAP_LOG_EXP:
    case MAP_INV_LOG_EXP:
        if (lo < LN_LOW || hi > LN_HIGH) {
            st = cfg_fail(c, lo < LN_LOW ? f.value[3] : f.value[4],
                          "parameter '%s': %s takes natural logs as min and max, and e^%g is "
                          "beyond a double; expected them within [-708, 709] (for bounds as "
                          "values use %s_values)", name, w->name, lo < LN_LOW ? lo : hi,
                          w->map == MAP_INV_LOG_EXP ? "inv_log_uniform" : "log_uniform");
            goto fail;
        }
        d.scale = CAVIAR_SCALE_LOG;
        d.low = w->map == MAP_LOG_EXP ? exp(lo) : exp(-hi);
        d.high = w->map == MAP_LOG_EXP ? exp(hi) : exp(-lo);
        break;
    case MAP_LOG:
        if (!(lo > 0)) {
            st = cfg_fail(c, f.value[3], "parameter '%s': %s needs min > 0, got %g", name,
                          w->name, lo);
            goto fail;
        }
        d.scale = CAVIAR_SCALE_LOG;
        d.low = lo, d.high = hi;
        break;
    case MAP_ONE_MINUS_LOG:
        if (!(lo > 0) || !(hi < 1)) {
            st = cfg_fail(c, !(lo > 0) ? f.value[3] : f.value[4],
                          "parameter '%s': %s needs 0 < min < max < 1, got [%g, %g]", name,
                          w->name, lo, hi);
            goto fail;
        }
        d.scale = CAVIAR_SCALE_ONE_MINUS_LOG;
        d.low = lo, d.high = hi;
        break;
    case MAP_NORMAL:
    case MAP_LOG_NORMAL:
        d.scale = w->map == MAP_NORMAL ? CAVIAR_SCALE_NORMAL : CAVIAR_SCALE_LOG_NORMAL;
        d.mu = 0, d.sigma = 1;
        snprintf(what, sizeof what, "'mu' of parameter '%s'", name);
        if ((f.present & K_MU) && (st = cfg_number(c, f.value[5], what, &d.mu, NULL)) != CAVIAR_OK)
            goto fail;
        snprintf(what, sizeof what, "'sigma' of parameter '%s'", name);
        if ((f.present & K_SIGMA) &&
            (st = cfg_number(c, f.value[6], what, &d.sigma, NULL)) != CAVIAR_OK)
            goto fail;
        if (!(d.sigma > 0)) {
            st = cfg_fail(c, f.value[6], "%s must be > 0, got %s", what,
                          cfg_show(f.value[6], shown, sizeof shown));
            goto fail;
        }
        break;
    }

    /* The grid: W&B's grid parameters, or caviar's grid_points. */
    if (f.present & K_GRID) {
        double points;
        snprintf(what, sizeof what, "'grid_points' of parameter '%s'", name);
        if ((st = cfg_integer(c, f.value[8], what, 1, 1e6, &points)) != CAVIAR_OK)
            goto fail;
        d.grid_points = (size_t)points;
    } else if (c->grid && d.kind == CAVIAR_DIST_FLOAT) {
        if (w->map == MAP_UNIFORM && w->quantised) {
            if ((st = grid_arange(c, key, name, lo, hi, q, &d)) != CAVIAR_OK)
                goto fail;
            q = 0; /* the grid values are W&B's, as they are */
        } else {
            st = cfg_fail(c, key, "parameter '%s': the grid sampler cannot enumerate "
                                  "distribution '%s'; expected values, int_uniform, q_uniform, "
                                  "or caviar's grid_points: N", name, w->name);
            goto fail;
        }
    }

    /* The space's own checks, as the study will make them. A categorical was checked above,
     * duplicates included in O(n log n), where caviar_dist_check compares every pair: a list
     * repeated by aliases would make that quadratic cost add up (fuzz_config checks that
     * every categorical loaded passes caviar_dist_check). */
    caviar_error e;
    memset(&e, 0, sizeof e);
    if (d.kind != CAVIAR_DIST_CATEGORICAL && caviar_dist_check(&d, name, &e) != CAVIAR_OK) {
        st = cfg_fail(c, key, "%s", e.msg);
        goto fail;
    }
    d.q = q;
    return add_param(c, key, name, &d);
fail:
    space_dist_release(&d);
    free(name);
    return st;
}

/* W&B's pattern for parameter names: [A-Za-z_][A-Za-z0-9_.-]* */
static int valid_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

static caviar_status read_params(cfg_ctx *c, const yaml_node_t *n, const char *prefix,
                                 int depth)
{
    char what[600];
    snprintf(what, sizeof what, "%s%s%s", *prefix ? "the parameters of '" : "parameters",
             prefix, *prefix ? "'" : "");
    cfg_map m;
    caviar_status st = cfg_map_open(c, n, what, NULL, &m);
    if (st != CAVIAR_OK)
        return st;
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return cfg_fail(c, n, "%s is empty; expected at least one parameter", what);
    for (const yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = cfg_node(c, p->key, n), *v = k ? cfg_node(c, p->value, k) : NULL;
        if (!v)
            return CAVIAR_EINVAL;
        char key[256], full[2300];
        cfg_key_text(k, key, sizeof key);
        if (!valid_name(key))
            return cfg_fail(c, k, "parameter name '%s' must start with a letter or '_' and hold "
                                  "only letters, digits, '_', '.' and '-'", key);
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", key);
        char about[2400];
        snprintf(about, sizeof about, "parameter '%s'", full);
        cfg_map pm;
        if ((st = cfg_map_open(c, v, about, param_keys, &pm)) != CAVIAR_OK)
            return st;
        const yaml_node_t *nested_key = NULL, *nested = cfg_map_get(c, &pm, "parameters",
                                                                    &nested_key);
        if (nested) {
            /* A nest holds nothing but its parameters (W&B's param_dict). */
            for (const yaml_node_pair_t *q = v->data.mapping.pairs.start;
                 q < v->data.mapping.pairs.top; q++) {
                const yaml_node_t *other = yaml_document_get_node(c->doc, q->key);
                char other_key[256];
                if (other && strcmp(cfg_key_text(other, other_key, sizeof other_key),
                                    "parameters") != 0)
                    return cfg_fail(c, other, "parameter '%s' holds nested parameters and takes "
                                              "no other key; got '%s'", full, other_key);
            }
            if (depth + 1 >= CONFIG_MAX_PARAM_DEPTH)
                return cfg_fail(c, nested_key, "parameters are nested more than %d levels deep",
                                CONFIG_MAX_PARAM_DEPTH);
            if ((st = read_params(c, nested, full, depth + 1)) != CAVIAR_OK)
                return st;
            continue;
        }
        if (c->out->n_params >= CONFIG_MAX_PARAMS)
            return cfg_fail(c, k, "more than %d parameters", CONFIG_MAX_PARAMS);
        char *name = cfg_strdup(full);
        if (!name)
            return cfg_nomem(c);
        if ((st = read_param(c, k, &pm, name)) != CAVIAR_OK)
            return st;
    }
    return CAVIAR_OK;
}

caviar_status wandb_parameters(cfg_ctx *c, const yaml_node_t *n)
{
    return read_params(c, n, "", 0);
}

/* ---- early_terminate ---- */

/*
 * W&B's one stopping algorithm, hyperband (src/sweeps/hyperband_stopping.py in W&B's sweeps
 * library; keys as its documentation has them):
 *   max_iter M, s, eta   "brackets" at int(M / eta^k) for k = 1 .. s, those >= 1
 *   min_iter m, eta      "brackets" at m eta^k, k = 0, 1, ... (no end)
 * (eta defaults to 3; strict is accepted and ignored.) At each such iteration count every run
 * is compared with all runs that got there, and stopped unless it is in the best 1/eta: that
 * is one bracket of Hyperband in the paper's terms, successive halving, with W&B's "brackets"
 * its rungs. W&B counts iterations by the number of values a run has logged; caviar's pruners
 * by the step each report carries (an epoch, when the program reports one per epoch).
 *
 * What caviar runs:
 *   max_iter and s   pruner hyperband, min_resource = the lowest W&B rung int(M / eta^k),
 *                    max_resource = M, reduction_factor = eta. Its bracket 0 has rungs at
 *                    min_resource eta^j below M: W&B's rungs exactly when M is a multiple of
 *                    eta^s (else within the truncation of int()); its brackets 1 .. S are
 *                    Hyperband's less aggressive ones, which W&B does not run: they keep some
 *                    trials from being judged early, as the paper intends.
 *   min_iter only    pruner successive-halving, min_resource = m, reduction_factor = eta: rungs
 *                    at m eta^k without end, W&B's exactly (caviar's hyperband needs a maximum).
 *   min_iter and max_iter without s (W&B fails on it): hyperband from m to M.
 * eta must be a whole number >= 2 for caviar's pruners (W&B takes any number > 1).
 */
caviar_status wandb_early_terminate(cfg_ctx *c, const yaml_node_t *n, char **pruner,
                                    char **settings)
{
    static const char *const keys[] = {"type", "min_iter", "max_iter", "s", "eta", "strict",
                                       NULL};
    char shown[64], buf[160];
    cfg_map m;
    caviar_status st = cfg_map_open(c, n, "early_terminate", keys, &m);
    if (st != CAVIAR_OK)
        return st;
    const yaml_node_t *type = cfg_map_get(c, &m, "type", NULL), *v;
    if (!type)
        return cfg_fail(c, n, "early_terminate needs a type; expected type: hyperband");
    cfg_scalar s;
    if ((st = cfg_scalar_of(c, type, "early_terminate type", &s)) != CAVIAR_OK)
        return st;
    if (!(s.type == CFG_STRING && s.len == 9 && memcmp(s.text, "hyperband", 9) == 0))
        return cfg_fail(c, type, "expected hyperband for early_terminate type (W&B's only "
                                 "stopping algorithm), got %s",
                        cfg_show(type, shown, sizeof shown));
    double eta = 3, min_iter = 0, max_iter = 0, brackets = 0;
    const yaml_node_t *eta_at = cfg_map_get(c, &m, "eta", NULL);
    if (eta_at) {
        int is_int;
        if ((st = cfg_number(c, eta_at, "early_terminate eta", &eta, &is_int)) != CAVIAR_OK)
            return st;
        if (eta != floor(eta) || eta < 2 || eta > 1e6)
            return cfg_fail(c, eta_at, "early_terminate eta must be a whole number in [2, "
                                       "1000000] for caviar's pruners, got %s",
                            cfg_show(eta_at, shown, sizeof shown));
    }
    int strict;
    if ((v = cfg_map_get(c, &m, "strict", NULL)) &&
        (st = cfg_bool(c, v, "early_terminate strict", &strict)) != CAVIAR_OK)
        return st;
    const yaml_node_t *min_at = cfg_map_get(c, &m, "min_iter", NULL);
    const yaml_node_t *max_at = cfg_map_get(c, &m, "max_iter", NULL);
    const yaml_node_t *s_at = cfg_map_get(c, &m, "s", NULL);
    if (min_at && (st = cfg_integer(c, min_at, "early_terminate min_iter", 1, 1e15, &min_iter)) !=
                      CAVIAR_OK)
        return st;
    if (max_at && (st = cfg_integer(c, max_at, "early_terminate max_iter", 1, 1e15, &max_iter)) !=
                      CAVIAR_OK)
        return st;
    if (s_at && (st = cfg_integer(c, s_at, "early_terminate s", 1, 64, &brackets)) != CAVIAR_OK)
        return st;

    if (max_at && s_at) {
        /* W&B's rungs int(M / eta^k), k = 1 .. s, while M / eta^k >= 1: the lowest one. */
        double band = max_iter, lowest = 0;
        for (int k = 0; k < (int)brackets; k++) {
            band /= eta;
            if (band < 1)
                break;
            lowest = floor(band);
        }
        if (lowest < 1)
            return cfg_fail(c, max_at, "early_terminate max_iter %.0f with eta %.0f leaves no "
                                       "bracket (max_iter / eta < 1); expected max_iter >= eta",
                            max_iter, eta);
        snprintf(buf, sizeof buf, "min_resource=%.0f,max_resource=%.0f,reduction_factor=%.0f",
                 lowest, max_iter, eta);
        *pruner = cfg_strdup("hyperband");
    } else if (max_at && min_at) {
        if (min_iter >= max_iter)
            return cfg_fail(c, min_at, "early_terminate min_iter %.0f must be below max_iter "
                                       "%.0f", min_iter, max_iter);
        snprintf(buf, sizeof buf, "min_resource=%.0f,max_resource=%.0f,reduction_factor=%.0f",
                 min_iter, max_iter, eta);
        *pruner = cfg_strdup("hyperband");
    } else if (max_at) {
        return cfg_fail(c, max_at, "early_terminate with max_iter needs s (the number of "
                                   "brackets), or give min_iter instead");
    } else if (min_at) {
        snprintf(buf, sizeof buf, "min_resource=%.0f,reduction_factor=%.0f", min_iter, eta);
        *pruner = cfg_strdup("successive-halving");
    } else {
        return cfg_fail(c, n, "early_terminate needs min_iter, or max_iter and s, to place its "
                              "brackets");
    }
    if (!*pruner || !(*settings = cfg_strdup(buf)))
        return cfg_nomem(c);
    return CAVIAR_OK;
}
