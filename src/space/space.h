/*
 * space.h — parameters, their distributions and scales, and a study's table of parameters.
 *
 * The distribution functions themselves (check, to/from the unit interval, contains, equal) are
 * public and declared in caviar.h; this header adds what the layers above need internally:
 * owning copies of distributions (a caviar_dist borrows its choices; a space_param owns them),
 * value formatting, and space_table, the name -> id map of a study's parameters that keeps every
 * name bound to one distribution.
 */
#ifndef CAVIAR_SPACE_H
#define CAVIAR_SPACE_H

#include "caviar.h"
#include "util/util.h"

/* The standard normal distribution: Phi(z), and its inverse Phi^-1(p) for 0 < p < 1 (-inf at
 * 0, +inf at 1, NaN outside), Wichura's AS241, about 1e-16 relative; the normal scales use
 * them. */
double space_normal_cdf(double z);
double space_normal_quantile(double p);

/* A parameter with an owned copy of its distribution (choices and their strings, weights). */
typedef struct space_param {
    char *name;
    caviar_dist dist;
} space_param;

/* Deep copy: dst->choices, their strings and dst->weights are new allocations, freed by
 * space_dist_release. */
caviar_status space_dist_copy(caviar_dist *dst, const caviar_dist *src, caviar_error *err);
void space_dist_release(caviar_dist *d);

/* A distribution as one line of text, for the study databases, exact both ways (bounds with 17
 * significant digits, string choices length-prefixed): a malloc'd string, NULL when out of
 * memory. grid_points is kept. */
char *space_dist_encode(const caviar_dist *d);
/* Back: an owned distribution (free with space_dist_release). Text that is not an encoding of
 * a valid distribution is CAVIAR_EFORMAT, the message saying what was wrong and where
 * ("distribution 'float log 1 x': bad high bound at byte 12"). */
caviar_status space_dist_decode(const char *text, caviar_dist *out, caviar_error *err);

/* The external value of an internal one, for display: "0.00123", "64", "relu", "true".
 * Returns buf. */
const char *space_format(const caviar_dist *d, double internal, char *buf, size_t len);

/* The number of admissible values of an INT or CATEGORICAL distribution, or of a FLOAT's grid
 * (grid_points); 0 for a FLOAT without grid_points. */
uint64_t space_grid_size(const caviar_dist *d);
/* The k-th grid value (internal), 0 <= k < space_grid_size(d), in increasing order of u. */
double space_grid_value(const caviar_dist *d, uint64_t k);

/* A study's parameters by id, in the order they were first seen. Ids are stable. */
typedef struct space_table {
    space_param *params;
    size_t n, cap;
} space_table;

void space_table_init(space_table *t);
void space_table_release(space_table *t);
/* The id of name, or -1. */
long space_table_find(const space_table *t, const char *name);
/* Adds name with distribution d, or checks that name already has that distribution:
 *   parameter 'lr' was defined as float in [1e-05, 1] (log) and is now asked as float in
 *   [1e-05, 0.1] (log); one study gives each name one distribution
 * *id receives the parameter's id. */
caviar_status space_table_add(space_table *t, const char *name, const caviar_dist *d, size_t *id,
                              caviar_error *err);
/* "float in [1e-05, 1] (log)", "int in [1, 8] step 2", "categorical {relu, tanh}",
 * "categorical {relu (weight 0.7), tanh (weight 0.3)}", "float normal(mu 0, sigma 1)". */
const char *space_describe(const caviar_dist *d, char *buf, size_t len);

#endif
