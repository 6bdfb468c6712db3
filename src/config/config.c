/*
 * config.c — reading a sweep file: the YAML document, its scalars, the top-level keys and the
 * rules between them (config.h says what a sweep file holds; wandb.c turns W&B's parameters and
 * early_terminate into caviar's).
 *
 * libyaml loads the whole document (yaml_parser_load): a tree of nodes, each with the position
 * where it starts, and aliases already resolved to the node they name (so a subtree can be
 * reached twice, or from inside itself: every walk here is bounded, by CONFIG_MAX_NODES visits
 * in all and by a depth where it recurses; duplicates are found by sorting, never by comparing
 * every pair). Before that, a pass over libyaml's events refuses nesting deeper than
 * CONFIG_MAX_DEPTH, which would otherwise cost libyaml time quadratic in the depth. Scalars are
 * resolved here as YAML 1.1 does for plain scalars (null, booleans, integers, floats, else a
 * string); quoted scalars are strings.
 *
 * The top-level keys are read in a fixed order, whatever their order in the file, because some
 * depend on others: the sampler (sampler:, else method) decides how parameters read on a grid;
 * the metric's goal is the direction in which the sampler and pruner are opened, which checks
 * their settings while the file's positions are still at hand.
 */
#define _POSIX_C_SOURCE 200809L
#include "config_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune/prune.h"
#include "sample/sample.h"
#include "space/space.h"

/* How much of a scalar a message quotes. */
#define SHOW_LEN 40

const char *const config_sampler_names[] = {"random", "grid", "sobol", "coarse-to-fine", "tpe",
                                            NULL};
const char *const config_pruner_names[] = {"none",      "median",    "percentile",
                                           "successive-halving",     "hyperband",
                                           "threshold", "patience",  NULL};

static const char *const top_keys[] = {
    /* W&B's */
    "program", "method", "metric", "parameters", "early_terminate", "command", "run_cap",
    "entity", "project", "name", "description", "controller",
    /* caviar's */
    "sampler", "pruner", "budget", "jobs", "storage", "study", "seed", "retries", "objective",
    "panda", NULL};

/* W&B keys that exist but have no meaning without W&B's servers or its other engines. */
static const char *const wandb_unsupported[] = {"scheduler", "metrics", "job", "image_uri",
                                                "apiVersion", "kind", NULL};

/* ---- errors and positions ---- */

config_pos cfg_pos(const yaml_node_t *n)
{
    config_pos p = {0, 0};
    if (n) {
        p.line = (unsigned)n->start_mark.line + 1;
        p.column = (unsigned)n->start_mark.column + 1;
    }
    return p;
}

__attribute__((format(printf, 3, 0))) static caviar_status fail_at(cfg_ctx *c, config_pos p,
                                                                   const char *fmt, va_list ap)
{
    char msg[CAVIAR_ERRMSG_LEN];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return util_err(c->err, CAVIAR_EINVAL, "%s:%u:%u: %s", c->name, p.line, p.column, msg);
}

caviar_status cfg_fail(cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    caviar_status st = fail_at(c, cfg_pos(at), fmt, ap);
    va_end(ap);
    return st;
}

static caviar_status fail_pos(cfg_ctx *c, config_pos p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static caviar_status fail_pos(cfg_ctx *c, config_pos p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    caviar_status st = fail_at(c, p, fmt, ap);
    va_end(ap);
    return st;
}

caviar_status cfg_nomem(cfg_ctx *c)
{
    return util_err(c->err, CAVIAR_ENOMEM, "%s: cannot read the sweep file: out of memory",
                    c->name);
}

char *cfg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* bytes[0 .. n) quoted for a message: cut at SHOW_LEN (never inside a UTF-8 sequence), control
 * bytes as '?'. */
static const char *show_bytes(const char *bytes, size_t n, char *buf, size_t len)
{
    int cut = 0;
    if (n > SHOW_LEN) {
        n = SHOW_LEN;
        while (n > 0 && ((unsigned char)bytes[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    if (n + 6 > len)
        n = len - 6;
    size_t at = 0;
    buf[at++] = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)bytes[i];
        buf[at++] = b < 0x20 || b == 0x7f ? '?' : (char)b;
    }
    if (cut)
        buf[at++] = '.', buf[at++] = '.', buf[at++] = '.';
    buf[at++] = '\'';
    buf[at] = '\0';
    return buf;
}

const char *cfg_show(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE)
        snprintf(buf, len, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE)
        snprintf(buf, len, "a list");
    else if (n->data.scalar.length == 0)
        snprintf(buf, len, "nothing");
    else
        show_bytes((const char *)n->data.scalar.value, n->data.scalar.length, buf, len);
    return buf;
}

const char *cfg_closest(const char *s, const char *const *names)
{
    const char *best = NULL;
    int best_d = 3;
    /* Short names: one edit at most, or everything would be "close". */
    if (strlen(s) <= 3)
        best_d = 2;
    for (size_t i = 0; names[i]; i++) {
        int d = util_edit_distance(s, names[i]);
        if (d < best_d)
            best = names[i], best_d = d;
    }
    return best;
}

/* The names with ", " between them (", " and " or " before the last with alternatives), for
 * "expected one of: a, b, c" and "expected grid, random or bayes". */
static void join_list(const char *const *names, int alternatives, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] && at < len; i++) {
        const char *sep = i == 0 ? "" : alternatives && !names[i + 1] ? " or " : ", ";
        at += (size_t)snprintf(buf + at, len - at, "%s%s", sep, names[i]);
    }
}

static void join_names(const char *const *names, char *buf, size_t len)
{
    join_list(names, 0, buf, len);
}

/* ---- nodes ---- */

const yaml_node_t *cfg_node(cfg_ctx *c, int index, const yaml_node_t *from)
{
    if (++c->n_visits > CONFIG_MAX_NODES) {
        cfg_fail(c, from, "the document is too large: more than %d nodes to read (aliases that "
                          "repeat a large part?)", CONFIG_MAX_NODES);
        return NULL;
    }
    const yaml_node_t *n = yaml_document_get_node(c->doc, index);
    if (!n)
        cfg_fail(c, from, "a node of the document is missing");
    return n;
}

const char *cfg_key_text(const yaml_node_t *key, char *buf, size_t len)
{
    size_t n = key->data.scalar.length < len - 1 ? key->data.scalar.length : len - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = key->data.scalar.value[i];
        buf[i] = b < 0x20 || b == 0x7f ? '?' : (char)b;
    }
    buf[n] = '\0';
    return buf;
}

/* Whether scalar s is exactly the NUL-terminated word w. */
static int scalar_is(const yaml_node_t *s, const char *w)
{
    size_t n = strlen(w);
    return s->data.scalar.length == n && memcmp(s->data.scalar.value, w, n) == 0;
}

/* Keys sorted to find duplicates in O(n log n): by length, bytes, then place in the mapping. */
typedef struct key_ref {
    const unsigned char *bytes;
    size_t len, index;
} key_ref;

static int key_ref_cmp(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int d = memcmp(a->bytes, b->bytes, a->len);
    if (d)
        return d;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The index of the first key of n (in file order) that repeats an earlier one, and that
 * earlier one's index in *first; count when none repeats, count + 1 when out of memory. All
 * keys must be scalars. */
static size_t first_duplicate(cfg_ctx *c, const yaml_node_t *n, size_t count, size_t *first)
{
    if (count < 2)
        return count;
    key_ref *refs = malloc(count * sizeof *refs);
    if (!refs)
        return count + 1;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *k = yaml_document_get_node(c->doc, n->data.mapping.pairs.start[i].key);
        refs[i].bytes = k->data.scalar.value;
        refs[i].len = k->data.scalar.length;
        refs[i].index = i;
    }
    qsort(refs, count, sizeof *refs, key_ref_cmp);
    size_t dup = count, run = 0;
    for (size_t i = 1; i < count; i++) {
        if (refs[i].len != refs[i - 1].len ||
            memcmp(refs[i].bytes, refs[i - 1].bytes, refs[i].len) != 0) {
            run = i;
            continue;
        }
        if (refs[i].index < dup)
            dup = refs[i].index, *first = refs[run].index;
    }
    free(refs);
    return dup;
}

caviar_status cfg_map_open(cfg_ctx *c, const yaml_node_t *n, const char *what,
                           const char *const *known, cfg_map *m)
{
    char shown[SHOW_LEN + 16];
    if (n->type != YAML_MAPPING_NODE)
        return cfg_fail(c, n, "expected a mapping (key: value lines) for %s, got %s", what,
                        cfg_show(n, shown, sizeof shown));
    const yaml_node_pair_t *p0 = n->data.mapping.pairs.start, *end = n->data.mapping.pairs.top;
    size_t count = (size_t)(end - p0);
    if (count > CONFIG_MAX_ITEMS)
        return cfg_fail(c, n, "%s has %zu keys; at most %d are allowed", what, count,
                        CONFIG_MAX_ITEMS);
    for (const yaml_node_pair_t *p = p0; p < end; p++) {
        const yaml_node_t *k = cfg_node(c, p->key, n);
        if (!k || !cfg_node(c, p->value, n))
            return CAVIAR_EINVAL;
        if (k->type != YAML_SCALAR_NODE)
            return cfg_fail(c, k, "expected a key (a name) in %s, got %s", what,
                            cfg_show(k, shown, sizeof shown));
        if (k->data.scalar.length == 0 || k->data.scalar.length > 255 ||
            memchr(k->data.scalar.value, '\0', k->data.scalar.length))
            return cfg_fail(c, k, "expected a key of 1 to 255 bytes without NUL in %s, got %s",
                            what, cfg_show(k, shown, sizeof shown));
    }
    size_t first = 0, dup = first_duplicate(c, n, count, &first);
    if (dup > count)
        return cfg_nomem(c);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *k = yaml_document_get_node(c->doc, p0[i].key);
        if (i == dup) {
            config_pos at = cfg_pos(yaml_document_get_node(c->doc, p0[first].key));
            return cfg_fail(c, k, "duplicate key %s in %s (first at %u:%u)",
                            cfg_show(k, shown, sizeof shown), what, at.line, at.column);
        }
        if (!known)
            continue;
        char key[256];
        cfg_key_text(k, key, sizeof key);
        if (util_lookup(key, known) >= 0)
            continue;
        if (n == yaml_document_get_root_node(c->doc) && util_lookup(key, wandb_unsupported) >= 0)
            return cfg_fail(c, k, "'%s' is a W&B key that caviar does not support offline; "
                                  "remove it", key);
        const char *close = cfg_closest(key, known);
        if (close)
            return cfg_fail(c, k, "unknown key '%s' in %s; did you mean '%s'?", key, what,
                            close);
        char list[512];
        join_names(known, list, sizeof list);
        return cfg_fail(c, k, "unknown key '%s' in %s; expected one of: %s", key, what, list);
    }
    m->node = n;
    m->what = what;
    return CAVIAR_OK;
}

const yaml_node_t *cfg_map_get(cfg_ctx *c, const cfg_map *m, const char *key,
                               const yaml_node_t **key_node)
{
    const yaml_node_pair_t *p = m->node->data.mapping.pairs.start;
    for (; p < m->node->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && scalar_is(k, key)) {
            if (key_node)
                *key_node = k;
            return yaml_document_get_node(c->doc, p->value);
        }
    }
    return NULL;
}

/* ---- scalars ---- */

static int word_in(const char *t, size_t n, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strlen(words[i]) == n && memcmp(t, words[i], n) == 0)
            return 1;
    return 0;
}

/* [-+]?[0-9]+ */
static int int_text(const char *t, size_t n)
{
    size_t i = t[0] == '-' || t[0] == '+';
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (t[i] < '0' || t[i] > '9')
            return 0;
    return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int float_text(const char *t, size_t n)
{
    size_t i = t[0] == '-' || t[0] == '+', digits = 0;
    while (i < n && t[i] >= '0' && t[i] <= '9')
        i++, digits++;
    if (i < n && t[i] == '.') {
        i++;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '-' || t[i] == '+'))
            i++;
        size_t exp_digits = 0;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++, exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    return i == n;
}

caviar_status cfg_scalar_of(cfg_ctx *c, const yaml_node_t *n, const char *what, cfg_scalar *s)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                        "on",   "On",   "ON",   NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No", "NO",
                                         "off",   "Off",   "OFF",   NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    char shown[SHOW_LEN + 16];
    if (n->type != YAML_SCALAR_NODE)
        return cfg_fail(c, n, "expected a single value for %s, got %s", what,
                        cfg_show(n, shown, sizeof shown));
    const char *t = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    s->text = t;
    s->len = len;
    s->number = 0;
    s->type = CFG_STRING;
    if (len > CONFIG_MAX_STRING)
        return cfg_fail(c, n, "%s is %zu bytes long; at most %d are allowed", what, len,
                        CONFIG_MAX_STRING);
    if (memchr(t, '\0', len))
        return cfg_fail(c, n, "%s holds a NUL byte", what);
    yaml_scalar_style_t style = n->data.scalar.style;
    if (style != YAML_PLAIN_SCALAR_STYLE && style != YAML_ANY_SCALAR_STYLE)
        return CAVIAR_OK;
    if (len == 0 || word_in(t, len, nulls)) {
        s->type = CFG_NULL;
    } else if (word_in(t, len, trues) || word_in(t, len, falses)) {
        s->type = CFG_BOOL;
        s->number = word_in(t, len, trues);
    } else if (word_in(t, len, infs) || word_in(t, len, ninfs) || word_in(t, len, nans)) {
        s->type = CFG_FLOAT;
        s->number = word_in(t, len, nans) ? NAN : word_in(t, len, infs) ? HUGE_VAL : -HUGE_VAL;
    } else if (len < 400 && (int_text(t, len) || float_text(t, len))) {
        char buf[400];
        memcpy(buf, t, len);
        buf[len] = '\0';
        s->type = int_text(t, len) ? CFG_INT : CFG_FLOAT;
        s->number = strtod(buf, NULL); /* the whole text, by the checks above; may be inf */
    }
    return CAVIAR_OK;
}

caviar_status cfg_string(cfg_ctx *c, const yaml_node_t *n, const char *what, char **out)
{
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    if (s.type == CFG_NULL)
        return cfg_fail(c, n, "expected a string for %s, got nothing", what);
    char *d = malloc(s.len + 1);
    if (!d)
        return cfg_nomem(c);
    memcpy(d, s.text, s.len);
    d[s.len] = '\0';
    free(*out);
    *out = d;
    return CAVIAR_OK;
}

caviar_status cfg_text(cfg_ctx *c, const yaml_node_t *n, const char *what, char **out)
{
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    if (s.type == CFG_NULL)
        return cfg_fail(c, n, "expected a value for %s, got nothing", what);
    if (s.type == CFG_BOOL) {
        *out = cfg_strdup(s.number != 0 ? "true" : "false");
    } else {
        *out = malloc(s.len + 1);
        if (*out) {
            memcpy(*out, s.text, s.len);
            (*out)[s.len] = '\0';
        }
    }
    return *out ? CAVIAR_OK : cfg_nomem(c);
}

caviar_status cfg_number(cfg_ctx *c, const yaml_node_t *n, const char *what, double *out,
                         int *is_int)
{
    char shown[SHOW_LEN + 16];
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    if (s.type != CFG_INT && s.type != CFG_FLOAT)
        return cfg_fail(c, n, "expected a number for %s, got %s%s", what,
                        cfg_show(n, shown, sizeof shown),
                        s.type == CFG_STRING && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
                            ? " (quoted: a string)" : "");
    if (!isfinite(s.number))
        return cfg_fail(c, n, "expected a finite number for %s, got %s", what,
                        cfg_show(n, shown, sizeof shown));
    *out = s.number;
    if (is_int)
        *is_int = s.type == CFG_INT;
    return CAVIAR_OK;
}

caviar_status cfg_integer(cfg_ctx *c, const yaml_node_t *n, const char *what, double lo,
                          double hi, double *out)
{
    char shown[SHOW_LEN + 16];
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    if (s.type != CFG_INT)
        return cfg_fail(c, n, "expected an integer for %s, got %s", what,
                        cfg_show(n, shown, sizeof shown));
    double v = s.number;
    if (v < lo || v > hi) {
        if (hi >= 1e15)
            return cfg_fail(c, n, "%s must be an integer >= %.0f, got %s", what, lo,
                            cfg_show(n, shown, sizeof shown));
        return cfg_fail(c, n, "%s must be an integer within [%.0f, %.0f], got %s", what, lo, hi,
                        cfg_show(n, shown, sizeof shown));
    }
    *out = v;
    return CAVIAR_OK;
}

caviar_status cfg_bool(cfg_ctx *c, const yaml_node_t *n, const char *what, int *out)
{
    char shown[SHOW_LEN + 16];
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    if (s.type != CFG_BOOL)
        return cfg_fail(c, n, "expected true or false for %s, got %s", what,
                        cfg_show(n, shown, sizeof shown));
    *out = s.number != 0;
    return CAVIAR_OK;
}

/* A string that must be one of words (NULL-terminated); *index receives which. */
static caviar_status cfg_word(cfg_ctx *c, const yaml_node_t *n, const char *what,
                              const char *const *words, int *index)
{
    char shown[SHOW_LEN + 16], text[256], list[256];
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    join_list(words, 1, list, sizeof list);
    size_t len = s.len < sizeof text - 1 ? s.len : sizeof text - 1;
    memcpy(text, s.text, len);
    text[len] = '\0';
    int i = s.type == CFG_STRING ? util_lookup(text, words) : -1;
    if (i >= 0) {
        *index = i;
        return CAVIAR_OK;
    }
    const char *close = s.type == CFG_STRING ? cfg_closest(text, words) : NULL;
    if (close)
        return cfg_fail(c, n, "unknown %s %s; did you mean '%s'?", what,
                        cfg_show(n, shown, sizeof shown), close);
    return cfg_fail(c, n, "expected %s for %s, got %s", list, what,
                    cfg_show(n, shown, sizeof shown));
}

/* ---- top-level keys ---- */

/* metric: {name, goal, target, impute, impute_while_running} */
static caviar_status read_metric(cfg_ctx *c, const yaml_node_t *n)
{
    static const char *const keys[] = {"name", "goal", "target", "impute",
                                       "impute_while_running", NULL};
    static const char *const goals[] = {"minimize", "maximize", NULL};
    static const char *const imputes[] = {"latest", "best", "worst", NULL};
    config_sweep *out = c->out;
    cfg_map m;
    caviar_status st = cfg_map_open(c, n, "metric", keys, &m);
    if (st != CAVIAR_OK)
        return st;
    const yaml_node_t *v;
    if (!(v = cfg_map_get(c, &m, "name", NULL)))
        return cfg_fail(c, n, "metric needs a name: the metric the program reports (e.g. name: "
                              "val_loss)");
    if ((st = cfg_string(c, v, "metric name", &out->metric)) != CAVIAR_OK)
        return st;
    int i;
    if ((v = cfg_map_get(c, &m, "goal", NULL))) {
        if ((st = cfg_word(c, v, "metric goal", goals, &i)) != CAVIAR_OK)
            return st;
        out->goal = i == 1 ? CAVIAR_MAXIMIZE : CAVIAR_MINIMIZE;
    }
    if ((v = cfg_map_get(c, &m, "target", NULL)) &&
        (st = cfg_number(c, v, "metric target", &out->metric_target, NULL)) != CAVIAR_OK)
        return st;
    /* W&B's Bayesian search fills in values of failed runs with these; caviar's samplers
     * treat a failed trial their own way. Checked, then ignored. */
    if ((v = cfg_map_get(c, &m, "impute", NULL)) &&
        (st = cfg_word(c, v, "metric impute", imputes, &i)) != CAVIAR_OK)
        return st;
    if ((v = cfg_map_get(c, &m, "impute_while_running", NULL))) {
        static const char *const while_running[] = {"latest", "best", "worst", "false", NULL};
        cfg_scalar s;
        if ((st = cfg_scalar_of(c, v, "metric impute_while_running", &s)) != CAVIAR_OK)
            return st;
        if (!(s.type == CFG_BOOL && s.number == 0) &&
            (st = cfg_word(c, v, "metric impute_while_running", while_running, &i)) !=
                CAVIAR_OK)
            return st;
    }
    return CAVIAR_OK;
}

/* The W&B command macros an element may hold: "${NAME}" or "${envvar:VAR}". */
static caviar_status check_macros(cfg_ctx *c, const yaml_node_t *n, const char *arg,
                                  int *uses_program)
{
    static const char *const macros[] = {"env",  "interpreter", "program", "args",
                                         "args_no_boolean_flags",   "args_no_hyphens",
                                         "args_json",   "args_json_file",  NULL};
    for (const char *p = strstr(arg, "${"); p; p = strstr(p, "${")) {
        const char *end = strchr(p + 2, '}');
        if (!end)
            return cfg_fail(c, n, "command element '%s' opens a macro with '${' and never "
                                  "closes it with '}'", arg);
        char name[128];
        size_t len = (size_t)(end - (p + 2));
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, p + 2, len);
        name[len] = '\0';
        if (strncmp(name, "envvar:", 7) == 0) {
            if (!name[7])
                return cfg_fail(c, n, "macro ${envvar:} needs a variable name, e.g. "
                                      "${envvar:HOME}");
        } else if (util_lookup(name, macros) < 0) {
            const char *close = cfg_closest(name, macros);
            char list[256];
            join_names(macros, list, sizeof list);
            if (close)
                return cfg_fail(c, n, "unknown macro ${%s} in command; did you mean ${%s}?",
                                name, close);
            return cfg_fail(c, n, "unknown macro ${%s} in command; expected one of: %s, "
                                  "envvar:NAME", name, list);
        } else if (strcmp(name, "program") == 0) {
            *uses_program = 1;
        }
        p = end + 1;
    }
    return CAVIAR_OK;
}

static caviar_status read_command(cfg_ctx *c, const yaml_node_t *n, int *uses_program)
{
    config_sweep *out = c->out;
    char shown[SHOW_LEN + 16];
    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_fail(c, n, "expected a list of arguments for command (e.g. [${env}, "
                              "${interpreter}, ${program}, ${args}]), got %s",
                        cfg_show(n, shown, sizeof shown));
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        return cfg_fail(c, n, "command is an empty list; expected the program and its "
                              "arguments");
    if (count > CONFIG_MAX_ITEMS)
        return cfg_fail(c, n, "command has %zu elements; at most %d are allowed", count,
                        CONFIG_MAX_ITEMS);
    out->command = calloc(count + 1, sizeof *out->command);
    if (!out->command)
        return cfg_nomem(c);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *e = cfg_node(c, n->data.sequence.items.start[i], n);
        if (!e)
            return CAVIAR_EINVAL;
        caviar_status st = cfg_text(c, e, "a command element", &out->command[i]);
        if (st != CAVIAR_OK)
            return st;
        out->n_command = i + 1;
        if ((st = check_macros(c, e, out->command[i], uses_program)) != CAVIAR_OK)
            return st;
    }
    return CAVIAR_OK;
}

/* Appends "key=value" to a settings string being built (commas between). */
static caviar_status settings_add(cfg_ctx *c, const yaml_node_t *at, char **s, const char *key,
                                  const char *value)
{
    if (strpbrk(value, ",=") || !*value)
        return cfg_fail(c, at, "setting '%s' must be a non-empty value without ',' or '=', got "
                               "'%s'", key, value);
    size_t old = *s ? strlen(*s) : 0, n = old + strlen(key) + strlen(value) + 3;
    char *t = realloc(*s, n);
    if (!t)
        return cfg_nomem(c);
    snprintf(t + old, n - old, "%s%s=%s", old ? "," : "", key, value);
    *s = t;
    return CAVIAR_OK;
}

/* sampler: NAME or {name: NAME, KEY: VALUE ...}, likewise pruner:. names are the known
 * algorithms; keys_of gives the setting keys of one. */
static caviar_status read_algorithm(cfg_ctx *c, const yaml_node_t *n, const char *what,
                                    const char *const *names,
                                    const char *const *(*keys_of)(const char *name),
                                    char **name, char **settings)
{
    const yaml_node_t *name_node = n;
    int i;
    caviar_status st;
    if (n->type == YAML_MAPPING_NODE) {
        cfg_map m;
        if ((st = cfg_map_open(c, n, what, NULL, &m)) != CAVIAR_OK)
            return st;
        if (!(name_node = cfg_map_get(c, &m, "name", NULL)))
            return cfg_fail(c, n, "%s needs a name (%s: {name: NAME, SETTING: VALUE, ...})",
                            what, what);
    }
    if ((st = cfg_word(c, name_node, what, names, &i)) != CAVIAR_OK)
        return st;
    if (!(*name = cfg_strdup(names[i])) || !(*settings = cfg_strdup("")))
        return cfg_nomem(c);
    if (n->type != YAML_MAPPING_NODE)
        return CAVIAR_OK;
    const char *const *known = keys_of(names[i]);
    const yaml_node_pair_t *p = n->data.mapping.pairs.start;
    size_t count = (size_t)(n->data.mapping.pairs.top - p);
    if (count > CONFIG_MAX_ITEMS)
        return cfg_fail(c, n, "%s has %zu settings; at most %d are allowed", what, count,
                        CONFIG_MAX_ITEMS);
    for (; p < n->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = cfg_node(c, p->key, n), *v = k ? cfg_node(c, p->value, k) : NULL;
        if (!v)
            return CAVIAR_EINVAL;
        char key[256], about[320];
        cfg_key_text(k, key, sizeof key);
        if (strcmp(key, "name") == 0)
            continue;
        if (util_lookup(key, known) < 0) {
            const char *close = cfg_closest(key, known);
            char list[256];
            join_names(known, list, sizeof list);
            if (close)
                return cfg_fail(c, k, "unknown setting '%s' of %s '%s'; did you mean '%s'?",
                                key, what, names[i], close);
            return cfg_fail(c, k, "unknown setting '%s' of %s '%s'; %s%s", key, what, names[i],
                            known[0] ? "expected one of: " : "it takes no settings",
                            known[0] ? list : "");
        }
        snprintf(about, sizeof about, "setting '%s' of %s '%s'", key, what, names[i]);
        char *value = NULL;
        if ((st = cfg_text(c, v, about, &value)) != CAVIAR_OK)
            return st;
        st = settings_add(c, v, settings, key, value);
        free(value);
        if (st != CAVIAR_OK)
            return st;
    }
    return CAVIAR_OK;
}

static const char *const *sampler_keys(const char *name)
{
    static const char *const none[] = {NULL};
    const sample_type *t = sample_find(name);
    return t ? t->keys : none;
}

static const char *const *pruner_keys(const char *name)
{
    static const char *const none[] = {NULL};
    const prune_type *t = prune_find(name);
    return t ? t->keys : none;
}

/* A duration: seconds as a number, or a number with a unit: s, m, min, h, d. */
static caviar_status read_duration(cfg_ctx *c, const yaml_node_t *n, const char *what,
                                   double *out)
{
    char shown[SHOW_LEN + 16];
    cfg_scalar s;
    caviar_status st = cfg_scalar_of(c, n, what, &s);
    if (st != CAVIAR_OK)
        return st;
    double v = s.number, unit = 1;
    if (s.type == CFG_STRING && s.len < 64) {
        static const struct {
            const char *suffix;
            double seconds;
        } units[] = {{"min", 60}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
        char buf[64];
        memcpy(buf, s.text, s.len);
        buf[s.len] = '\0';
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t k = strlen(units[i].suffix);
            if (s.len > k && strcmp(buf + s.len - k, units[i].suffix) == 0) {
                buf[s.len - k] = '\0';
                if (float_text(buf, strlen(buf)) && util_parse_double(buf, &v) == 0) {
                    unit = units[i].seconds;
                    s.type = CFG_FLOAT;
                }
                break;
            }
        }
    }
    if ((s.type != CFG_INT && s.type != CFG_FLOAT) || !isfinite(v * unit) || v <= 0)
        return cfg_fail(c, n, "expected a positive duration for %s (seconds, or a number with "
                              "s, m, h or d: 90s, 30m, 2h, 1d), got %s", what,
                        cfg_show(n, shown, sizeof shown));
    *out = v * unit;
    return CAVIAR_OK;
}

static caviar_status read_budget(cfg_ctx *c, const yaml_node_t *n, int *has_trials)
{
    static const char *const keys[] = {"trials", "time", NULL};
    cfg_map m;
    caviar_status st = cfg_map_open(c, n, "budget", keys, &m);
    if (st != CAVIAR_OK)
        return st;
    const yaml_node_t *v;
    double trials;
    if ((v = cfg_map_get(c, &m, "trials", NULL))) {
        if ((st = cfg_integer(c, v, "budget trials", 1, 1e15, &trials)) != CAVIAR_OK)
            return st;
        c->out->max_trials = (uint64_t)trials;
        *has_trials = 1;
    }
    if ((v = cfg_map_get(c, &m, "time", NULL)) &&
        (st = read_duration(c, v, "budget time", &c->out->max_seconds)) != CAVIAR_OK)
        return st;
    if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return cfg_fail(c, n, "budget is empty; expected trials: N and/or time: DURATION");
    return CAVIAR_OK;
}

/* objective: and panda: mappings kept as text (into *list, *count; what names the key):
 * nested mappings give dotted keys, lists of scalars their items joined by commas. */
static caviar_status read_entries(cfg_ctx *c, const yaml_node_t *n, const char *what,
                                  config_entry **list, size_t *count, const char *prefix,
                                  int depth)
{
    char title[64];
    snprintf(title, sizeof title, "a mapping of %s", what);
    cfg_map m;
    caviar_status st = cfg_map_open(c, n, depth ? title : what, NULL, &m);
    if (st != CAVIAR_OK)
        return st;
    if (depth >= CONFIG_MAX_PARAM_DEPTH)
        return cfg_fail(c, n, "%s is nested more than %d levels deep", what,
                        CONFIG_MAX_PARAM_DEPTH);
    for (const yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = cfg_node(c, p->key, n), *v = k ? cfg_node(c, p->value, k) : NULL;
        if (!v)
            return CAVIAR_EINVAL;
        char key[256], full[600], about[640];
        cfg_key_text(k, key, sizeof key);
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (v->type == YAML_MAPPING_NODE) {
            if ((st = read_entries(c, v, what, list, count, full, depth + 1)) != CAVIAR_OK)
                return st;
            continue;
        }
        if (*count >= CONFIG_MAX_ITEMS)
            return cfg_fail(c, k, "%s has more than %d keys", what, CONFIG_MAX_ITEMS);
        config_entry *grown = realloc(*list, (*count + 1) * sizeof *grown);
        if (!grown)
            return cfg_nomem(c);
        *list = grown;
        config_entry *e = &(*list)[*count];
        memset(e, 0, sizeof *e);
        e->key_pos = cfg_pos(k);
        e->value_pos = cfg_pos(v);
        if (!(e->key = cfg_strdup(full)))
            return cfg_nomem(c);
        (*count)++;
        snprintf(about, sizeof about, "%s '%s'", what, full);
        if (v->type == YAML_SCALAR_NODE) {
            if ((st = cfg_text(c, v, about, &e->value)) != CAVIAR_OK)
                return st;
            continue;
        }
        /* A list of scalars. */
        size_t len = 0, items = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (items == 0)
            return cfg_fail(c, v, "expected a value for %s, got an empty list", about);
        if (items > CONFIG_MAX_ITEMS)
            return cfg_fail(c, v, "%s has %zu items; at most %d are allowed", about, items,
                            CONFIG_MAX_ITEMS);
        for (size_t i = 0; i < items; i++) {
            const yaml_node_t *item = cfg_node(c, v->data.sequence.items.start[i], v);
            char *text = NULL;
            if (!item)
                return CAVIAR_EINVAL;
            if ((st = cfg_text(c, item, about, &text)) != CAVIAR_OK)
                return st;
            size_t add = strlen(text);
            char *joined = realloc(e->value, len + add + 2);
            if (!joined) {
                free(text);
                return cfg_nomem(c);
            }
            e->value = joined;
            if (len)
                joined[len++] = ',';
            memcpy(joined + len, text, add + 1);
            len += add;
            free(text);
        }
    }
    return CAVIAR_OK;
}

/* Where to point for a sampler's or pruner's complaint e: at the value of the setting its
 * message names ("setting gamma=7 of sampler 'tpe': ..."), when the file has it, else at the
 * whole. */
static const yaml_node_t *complaint_at(cfg_ctx *c, const yaml_node_t *at, const caviar_error *e)
{
    static const char prefix[] = "setting ";
    if (at->type != YAML_MAPPING_NODE || strncmp(e->msg, prefix, sizeof prefix - 1) != 0)
        return at;
    const char *key = e->msg + sizeof prefix - 1, *eq = strchr(key, '=');
    char name[128];
    if (!eq || (size_t)(eq - key) >= sizeof name)
        return at;
    memcpy(name, key, (size_t)(eq - key));
    name[eq - key] = '\0';
    cfg_map m = {at, ""};
    const yaml_node_t *v = cfg_map_get(c, &m, name, NULL);
    return v ? v : at;
}

/* Opens the sampler and the pruner once with their settings, so that a bad value is reported
 * here, at its place in the file. */
static caviar_status check_algorithms(cfg_ctx *c, const yaml_node_t *sampler_at,
                                      const yaml_node_t *pruner_at)
{
    config_sweep *out = c->out;
    caviar_error e;
    memset(&e, 0, sizeof e);
    sampler s;
    if (sampler_open(&s, out->sampler, out->sampler_settings, out->seed, out->goal, &e) !=
        CAVIAR_OK) {
        if (e.status == CAVIAR_ENOMEM)
            return cfg_nomem(c);
        return cfg_fail(c, complaint_at(c, sampler_at, &e), "%s", e.msg);
    }
    sampler_close(&s);
    if (!out->pruner)
        return CAVIAR_OK;
    pruner p;
    if (pruner_open(&p, out->pruner, out->pruner_settings, out->goal, &e) != CAVIAR_OK) {
        if (e.status == CAVIAR_ENOMEM)
            return cfg_nomem(c);
        return cfg_fail(c, complaint_at(c, pruner_at, &e), "%s", e.msg);
    }
    pruner_close(&p);
    return CAVIAR_OK;
}

/* The whole document: root is its top node. */
static caviar_status read_sweep(cfg_ctx *c, const yaml_node_t *root)
{
    config_sweep *out = c->out;
    cfg_map m;
    caviar_status st = cfg_map_open(c, root, "the sweep file", top_keys, &m);
    if (st != CAVIAR_OK)
        return st;
    const yaml_node_t *v;
    double num;
    int i;

    /* Plain values first. */
    static const struct {
        const char *key;
        size_t offset;
    } strings[] = {
        {"program", offsetof(config_sweep, program)},
        {"storage", offsetof(config_sweep, storage)},
        {"study", offsetof(config_sweep, study)},
        {"name", offsetof(config_sweep, name)},
        {"description", offsetof(config_sweep, description)},
    };
    for (size_t j = 0; j < sizeof strings / sizeof strings[0]; j++) {
        char what[64];
        snprintf(what, sizeof what, "'%s'", strings[j].key);
        if ((v = cfg_map_get(c, &m, strings[j].key, NULL)) &&
            (st = cfg_string(c, v, what, (char **)((char *)out + strings[j].offset))) !=
                CAVIAR_OK)
            return st;
    }
    char *ignored = NULL;
    for (const char *const *w = (const char *const[]){"entity", "project", NULL}; *w; w++) {
        char what[64];
        snprintf(what, sizeof what, "'%s'", *w);
        if ((v = cfg_map_get(c, &m, *w, NULL))) {
            st = cfg_string(c, v, what, &ignored);
            free(ignored);
            ignored = NULL;
            if (st != CAVIAR_OK)
                return st;
        }
    }
    if ((v = cfg_map_get(c, &m, "controller", NULL))) {
        static const char *const keys[] = {"type", NULL};
        static const char *const types[] = {"local", "cloud", NULL};
        cfg_map cm;
        if ((st = cfg_map_open(c, v, "controller", keys, &cm)) != CAVIAR_OK)
            return st;
        const yaml_node_t *t = cfg_map_get(c, &cm, "type", NULL);
        if (t && (st = cfg_word(c, t, "controller type", types, &i)) != CAVIAR_OK)
            return st;
    }
    if ((v = cfg_map_get(c, &m, "seed", NULL))) {
        char shown[SHOW_LEN + 16], text[32];
        cfg_scalar s;
        if ((st = cfg_scalar_of(c, v, "'seed'", &s)) != CAVIAR_OK)
            return st;
        int ok = s.type == CFG_INT && s.len < sizeof text && s.text[0] != '-';
        if (ok) {
            memcpy(text, s.text + (s.text[0] == '+'), s.len - (s.text[0] == '+'));
            text[s.len - (s.text[0] == '+')] = '\0';
            ok = util_parse_u64(text, &out->seed) == 0;
        }
        if (!ok)
            return cfg_fail(c, v, "expected an integer in [0, 2^64 - 1] for 'seed', got %s",
                            cfg_show(v, shown, sizeof shown));
        out->has_seed = 1;
    }
    if ((v = cfg_map_get(c, &m, "retries", NULL))) {
        if ((st = cfg_integer(c, v, "'retries'", 0, 1000, &num)) != CAVIAR_OK)
            return st;
        out->retries = (unsigned)num;
        out->has_retries = 1;
    }
    if ((v = cfg_map_get(c, &m, "jobs", NULL))) {
        cfg_scalar s;
        if ((st = cfg_scalar_of(c, v, "'jobs'", &s)) != CAVIAR_OK)
            return st;
        if (s.type == CFG_STRING && !(s.len == 4 && memcmp(s.text, "auto", 4) == 0)) {
            char shown[SHOW_LEN + 16];
            return cfg_fail(c, v, "expected a number of worker processes or auto for 'jobs', "
                                  "got %s", cfg_show(v, shown, sizeof shown));
        }
        if (s.type != CFG_STRING) {
            if ((st = cfg_integer(c, v, "'jobs'", 1, 4096, &num)) != CAVIAR_OK)
                return st;
            out->jobs = (unsigned)num;
        }
    }
    int has_trials = 0;
    if ((v = cfg_map_get(c, &m, "budget", NULL)) &&
        (st = read_budget(c, v, &has_trials)) != CAVIAR_OK)
        return st;
    if ((v = cfg_map_get(c, &m, "run_cap", NULL))) {
        if ((st = cfg_integer(c, v, "'run_cap'", 1, 1e15, &num)) != CAVIAR_OK)
            return st;
        if (!has_trials)
            out->max_trials = (uint64_t)num;
    }
    if ((v = cfg_map_get(c, &m, "metric", NULL)) && (st = read_metric(c, v)) != CAVIAR_OK)
        return st;

    /* What runs a trial. */
    const yaml_node_t *objective_key = NULL, *command_at = NULL, *program_key = NULL;
    int uses_program = 0;
    cfg_map_get(c, &m, "program", &program_key);
    if ((command_at = cfg_map_get(c, &m, "command", NULL)) &&
        (st = read_command(c, command_at, &uses_program)) != CAVIAR_OK)
        return st;
    if ((v = cfg_map_get(c, &m, "objective", &objective_key))) {
        if (program_key || command_at)
            return cfg_fail(c, objective_key, "objective (the built-in trainer) and %s cannot "
                                              "both be given: a trial runs one or the other",
                            program_key ? "program" : "command");
        out->has_objective = 1;
        if ((st = read_entries(c, v, "objective", &out->objective, &out->n_objective, "", 0)) !=
            CAVIAR_OK)
            return st;
    } else if (!out->program && (!command_at || uses_program)) {
        if (command_at)
            return cfg_fail(c, command_at, "command uses ${program} but the sweep file has no "
                                           "program key; expected program: SCRIPT");
        return cfg_fail(c, root, "missing key 'program' (the training script to run), or "
                                 "caviar's objective: for the built-in trainer");
    }

    /* A panda session (caviar panda): its settings, read by src/panda. */
    if ((v = cfg_map_get(c, &m, "panda", NULL))) {
        out->has_panda = 1;
        if ((st = read_entries(c, v, "panda", &out->panda, &out->n_panda, "", 0)) != CAVIAR_OK)
            return st;
    }

    /* How to search: the sampler. */
    static const char *const methods[] = {"grid", "random", "bayes", NULL};
    const yaml_node_t *method_at = cfg_map_get(c, &m, "method", NULL), *sampler_at = NULL;
    if (method_at) {
        cfg_scalar s;
        if ((st = cfg_scalar_of(c, method_at, "method", &s)) != CAVIAR_OK)
            return st;
        if (s.type == CFG_STRING && s.len == 6 && memcmp(s.text, "custom", 6) == 0)
            return cfg_fail(c, method_at, "method 'custom' (a W&B scheduler) is not supported; "
                                          "expected grid, random or bayes, or caviar's sampler");
        if ((st = cfg_word(c, method_at, "method", methods, &i)) != CAVIAR_OK)
            return st;
        if (!(out->method = cfg_strdup(methods[i])))
            return cfg_nomem(c);
    }
    if ((v = cfg_map_get(c, &m, "sampler", NULL))) {
        sampler_at = v;
        if ((st = read_algorithm(c, v, "sampler", config_sampler_names, sampler_keys,
                                 &out->sampler, &out->sampler_settings)) != CAVIAR_OK)
            return st;
    } else if (method_at) {
        sampler_at = method_at;
        const char *implied = strcmp(out->method, "bayes") == 0 ? "tpe" : out->method;
        if (!(out->sampler = cfg_strdup(implied)) || !(out->sampler_settings = cfg_strdup("")))
            return cfg_nomem(c);
    } else if (out->has_panda) { /* one model, or a population drawn at random */
        if (!(out->sampler = cfg_strdup("random")) || !(out->sampler_settings = cfg_strdup("")))
            return cfg_nomem(c);
    } else {
        return cfg_fail(c, root, "missing key 'method' (grid, random or bayes), or caviar's "
                                 "sampler");
    }
    c->grid = strcmp(out->sampler, "grid") == 0;

    /* What to search. */
    if ((v = cfg_map_get(c, &m, "parameters", NULL))) {
        if ((st = wandb_parameters(c, v)) != CAVIAR_OK)
            return st;
    } else if (!out->has_objective) {
        return cfg_fail(c, root, "missing key 'parameters' (the hyperparameters to search, e.g. "
                                 "lr: {min: 0.0001, max: 0.1})");
    }

    /* The pruner. */
    const yaml_node_t *pruner_at = NULL, *early_key = NULL;
    const yaml_node_t *early = cfg_map_get(c, &m, "early_terminate", &early_key);
    if ((v = cfg_map_get(c, &m, "pruner", NULL))) {
        if (early)
            return cfg_fail(c, early_key, "early_terminate and caviar's pruner cannot both be "
                                          "given; keep one");
        pruner_at = v;
        if ((st = read_algorithm(c, v, "pruner", config_pruner_names, pruner_keys, &out->pruner,
                                 &out->pruner_settings)) != CAVIAR_OK)
            return st;
    } else if (early) {
        pruner_at = early;
        if ((st = wandb_early_terminate(c, early, &out->pruner, &out->pruner_settings)) !=
            CAVIAR_OK)
            return st;
    }

    /* A metric is needed by whatever compares trials, unless the trainer gives its own. */
    if (!out->metric && !out->has_objective) {
        int bayes = out->method && strcmp(out->method, "bayes") == 0;
        if (bayes && !cfg_map_get(c, &m, "sampler", NULL))
            return cfg_fail(c, method_at, "method 'bayes' needs a metric to optimise; expected "
                                          "metric: {name: NAME, goal: minimize or maximize}");
        if (strcmp(out->sampler, "tpe") == 0 || strcmp(out->sampler, "coarse-to-fine") == 0)
            return cfg_fail(c, sampler_at, "sampler '%s' learns from the metric; expected "
                                           "metric: {name: NAME, goal: minimize or maximize}",
                            out->sampler);
        if (out->pruner && strcmp(out->pruner, "none") != 0)
            return cfg_fail(c, pruner_at, "%s compares trials by their metric; expected metric: "
                                          "{name: NAME, goal: minimize or maximize}",
                            early && pruner_at == early ? "early_terminate" : "the pruner");
    }
    return check_algorithms(c, sampler_at, pruner_at);
}

/* ---- loading ---- */

/* line:column (from 1) of byte offset in text, for libyaml's reader errors. */
static config_pos offset_pos(const char *text, size_t len, size_t offset)
{
    config_pos p = {1, 1};
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n')
            p.line++, p.column = 1;
        else
            p.column++;
    }
    return p;
}

static caviar_status yaml_error(cfg_ctx *c, const yaml_parser_t *parser, const char *text,
                                size_t len)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return cfg_nomem(c);
    const char *problem = parser->problem ? parser->problem : "cannot parse";
    if (parser->error == YAML_READER_ERROR) {
        config_pos p = offset_pos(text, len, parser->problem_offset);
        if (parser->problem_value >= 0)
            return fail_pos(c, p, "invalid YAML: %s (byte 0x%02X); expected UTF-8 text", problem,
                            (unsigned)parser->problem_value & 0xFFu);
        return fail_pos(c, p, "invalid YAML: %s; expected UTF-8 text", problem);
    }
    config_pos p = {(unsigned)parser->problem_mark.line + 1,
                    (unsigned)parser->problem_mark.column + 1};
    if (parser->context)
        return fail_pos(c, p, "invalid YAML: %s (%s at %u:%u)", problem, parser->context,
                        (unsigned)parser->context_mark.line + 1,
                        (unsigned)parser->context_mark.column + 1);
    return fail_pos(c, p, "invalid YAML: %s", problem);
}

/* A first pass over the events only, to refuse deep nesting before loading: libyaml's scanner
 * spends time proportional to the depth on every token of a flow collection, so a file of
 * 100000 '[' would take a minute to load. The events stop at the first level too deep. */
static caviar_status check_depth(cfg_ctx *c, const char *text, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return cfg_nomem(c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    caviar_status st = CAVIAR_OK;
    int depth = 0, done = 0;
    while (!done && st == CAVIAR_OK) {
        yaml_event_t e;
        if (!yaml_parser_parse(&parser, &e)) {
            st = yaml_error(c, &parser, text, len);
            break;
        }
        if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT) {
            if (++depth > CONFIG_MAX_DEPTH)
                st = fail_pos(c, (config_pos){(unsigned)e.start_mark.line + 1,
                                              (unsigned)e.start_mark.column + 1},
                              "the YAML is nested more than %d levels deep", CONFIG_MAX_DEPTH);
        } else if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = e.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&parser);
    return st;
}

caviar_status config_parse(const char *text, size_t len, const char *name, config_sweep *out,
                           caviar_error *err)
{
    memset(out, 0, sizeof *out);
    name = name ? name : "<sweep>";
    cfg_ctx c = {name, NULL, err, 0, out, 0};
    if (len > CONFIG_MAX_BYTES)
        return util_err(err, CAVIAR_EINVAL, "%s: the sweep file is %zu bytes; at most %u are "
                                            "allowed", name, len, CONFIG_MAX_BYTES);
    if (!(out->path = cfg_strdup(name)))
        return cfg_nomem(&c);
    out->metric_target = NAN;
    out->goal = CAVIAR_MINIMIZE;

    caviar_status st = check_depth(&c, text, len);
    if (st != CAVIAR_OK) {
        config_release(out);
        return st;
    }
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int have_doc = 0;
    if (!yaml_parser_initialize(&parser)) {
        config_release(out);
        return cfg_nomem(&c);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        st = yaml_error(&c, &parser, text, len);
        goto done;
    }
    have_doc = 1;
    c.doc = &doc;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        st = fail_pos(&c, (config_pos){1, 1}, "the sweep file is empty; expected a mapping "
                                              "with program, method, metric and parameters");
        goto done;
    }
    /* One document only. */
    if (!yaml_parser_load(&parser, &extra)) {
        st = yaml_error(&c, &parser, text, len);
        goto done;
    }
    const yaml_node_t *second = yaml_document_get_root_node(&extra);
    if (second) {
        st = fail_pos(&c, cfg_pos(second), "a second YAML document; a sweep file holds one");
        yaml_document_delete(&extra);
        goto done;
    }
    yaml_document_delete(&extra);
    st = read_sweep(&c, root);
done:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (st != CAVIAR_OK)
        config_release(out);
    return st;
}

caviar_status config_load(const char *path, config_sweep *out, caviar_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_err(err, CAVIAR_EIO, "cannot open sweep file '%s': %s", path,
                        strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    caviar_status st = CAVIAR_OK;
    while (text) {
        len += fread(text + len, 1, cap - len, f);
        if (len < cap || len > CONFIG_MAX_BYTES)
            break;
        char *grown = realloc(text, cap * 2);
        if (!grown) {
            free(text);
            text = NULL;
            break;
        }
        text = grown, cap *= 2;
    }
    if (!text)
        st = util_err(err, CAVIAR_ENOMEM, "cannot read sweep file '%s': out of memory", path);
    else if (ferror(f))
        st = util_err(err, CAVIAR_EIO, "cannot read sweep file '%s': %s", path,
                      strerror(errno));
    fclose(f);
    if (st == CAVIAR_OK && len > CONFIG_MAX_BYTES) /* only part of it was read */
        st = util_err(err, CAVIAR_EINVAL, "%s: the sweep file is more than %u bytes long; at most "
                                          "%u are allowed", path, CONFIG_MAX_BYTES,
                      CONFIG_MAX_BYTES);
    if (st == CAVIAR_OK)
        st = config_parse(text, len, path, out, err);
    free(text);
    return st;
}

void config_release(config_sweep *c)
{
    free(c->path);
    free(c->program);
    for (size_t i = 0; c->command && i < c->n_command; i++)
        free(c->command[i]);
    free(c->command);
    for (size_t i = 0; i < c->n_objective; i++) {
        free(c->objective[i].key);
        free(c->objective[i].value);
    }
    free(c->objective);
    for (size_t i = 0; i < c->n_panda; i++) {
        free(c->panda[i].key);
        free(c->panda[i].value);
    }
    free(c->panda);
    free(c->metric);
    for (size_t i = 0; i < c->n_params; i++) {
        free((char *)c->params[i].name);
        space_dist_release(&c->params[i].dist);
    }
    free(c->params);
    free(c->param_pos);
    free(c->method);
    free(c->sampler);
    free(c->sampler_settings);
    free(c->pruner);
    free(c->pruner_settings);
    free(c->storage);
    free(c->study);
    free(c->name);
    free(c->description);
    memset(c, 0, sizeof *c);
}
