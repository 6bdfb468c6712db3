/*
 * config_impl.h — what config.c (the YAML document, the top-level keys) and wandb.c (parameters
 * and early_terminate, W&B's distributions) share. Not part of the subsystem's interface.
 *
 * Both walk the document libyaml loaded (yaml_document_t: nodes by index, each with its start
 * mark). Every helper that can fail formats the message "FILE:LINE:COLUMN: ..." at a node into
 * ctx->err and returns CAVIAR_EINVAL (CAVIAR_ENOMEM for memory), so that a check is one line.
 */
#ifndef CAVIAR_CONFIG_IMPL_H
#define CAVIAR_CONFIG_IMPL_H

#include <yaml.h>

#include "config.h"

typedef struct cfg_ctx {
    const char *name;     /* the file, for messages */
    yaml_document_t *doc;
    caviar_error *err;
    size_t n_visits;      /* nodes looked at, against CONFIG_MAX_NODES */
    config_sweep *out;
    int grid;             /* the sampler is the grid: W&B's grid rules for parameters */
} cfg_ctx;

/* A scalar as YAML 1.1 resolves it (plain scalars by their text; quoted ones are strings). */
typedef enum cfg_type { CFG_NULL, CFG_BOOL, CFG_INT, CFG_FLOAT, CFG_STRING } cfg_type;

typedef struct cfg_scalar {
    cfg_type type;
    double number;        /* INT, FLOAT; BOOL as 0 or 1 */
    const char *text;     /* the bytes as written (not NUL-terminated: len), for messages */
    size_t len;
} cfg_scalar;

/* A mapping whose keys were checked: all scalars, none twice, each in the known list. */
typedef struct cfg_map {
    const yaml_node_t *node;
    const char *what;     /* "metric", "parameter 'lr'": for messages */
} cfg_map;

/* Node n of the document (counted against CONFIG_MAX_NODES), or NULL with the error set
 * (CAVIAR_EINVAL). Every walk over a list or a mapping goes through it (cfg_map_open for
 * mappings), which bounds the work however aliases repeat a subtree (duplicates are found by
 * sorting: O(n log n) for n visits). */
const yaml_node_t *cfg_node(cfg_ctx *c, int index, const yaml_node_t *from);
config_pos cfg_pos(const yaml_node_t *n);

/* "FILE:LINE:COLUMN: " + the message, CAVIAR_EINVAL. */
caviar_status cfg_fail(cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
caviar_status cfg_nomem(cfg_ctx *c);
/* The text of a node for a message: a scalar quoted as written (cut, control bytes as '?'),
 * else "a mapping" or "a list". */
const char *cfg_show(const yaml_node_t *n, char *buf, size_t len);

/* Opens a mapping: n must be one; keys are checked (unknown: "did you mean" among known). */
caviar_status cfg_map_open(cfg_ctx *c, const yaml_node_t *n, const char *what,
                           const char *const *known, cfg_map *m);
/* The value of key in m, or NULL when m has no such key; *key_node (may be NULL) receives the
 * key's node. Never fails: cfg_map_open visited every node of m. */
const yaml_node_t *cfg_map_get(cfg_ctx *c, const cfg_map *m, const char *key,
                               const yaml_node_t **key_node);
/* A key (a scalar) as a NUL-terminated copy in buf, cut to len - 1 bytes, control bytes as '?'
 * (so that it can go into a message; no known key has one). */
const char *cfg_key_text(const yaml_node_t *key, char *buf, size_t len);

/* Resolves a scalar node (an error when n is not a scalar: what names the value). */
caviar_status cfg_scalar_of(cfg_ctx *c, const yaml_node_t *n, const char *what, cfg_scalar *s);
/* Typed values; what names the value in messages ("'min' of parameter 'lr'"). */
caviar_status cfg_string(cfg_ctx *c, const yaml_node_t *n, const char *what, char **out);
caviar_status cfg_number(cfg_ctx *c, const yaml_node_t *n, const char *what, double *out,
                         int *is_int);
caviar_status cfg_integer(cfg_ctx *c, const yaml_node_t *n, const char *what, double lo,
                          double hi, double *out);
caviar_status cfg_bool(cfg_ctx *c, const yaml_node_t *n, const char *what, int *out);
/* A scalar's text as a new string (booleans as true/false), for settings and objective:. */
caviar_status cfg_text(cfg_ctx *c, const yaml_node_t *n, const char *what, char **out);

/* The closest of names to s within a small edit distance, or NULL. */
const char *cfg_closest(const char *s, const char *const *names);
/* A malloc'd copy of s, or NULL. */
char *cfg_strdup(const char *s);

/* wandb.c: parameters: (appends to c->out->params) and early_terminate: (the pruner). */
caviar_status wandb_parameters(cfg_ctx *c, const yaml_node_t *n);
caviar_status wandb_early_terminate(cfg_ctx *c, const yaml_node_t *n, char **pruner,
                                    char **settings);

#endif
