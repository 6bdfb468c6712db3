/*
 * panda_impl.h — what the babysitter (panda.c) and population-based training (pbt.c) share.
 */
#ifndef CAVIAR_PANDA_IMPL_H
#define CAVIAR_PANDA_IMPL_H

#include "panda.h"
#include "util/util.h"

/* A settable hyperparameter by name (panda_settable), NaN / ignored for another name. */
double panda_hp_get(const caviar_nn_hparams *hp, const char *name);
void panda_hp_put(caviar_nn_hparams *hp, const char *name, double v);
/* Every hyperparameter as "name=value ..." (the panda.hparams attribute). */
void panda_hp_write(const caviar_nn_hparams *hp, char *buf, size_t len);
/* The internal value of a hyperparameter's value v under d (a categorical's index of the
 * number v); -1 when d does not admit v. */
int panda_internal_of(const caviar_dist *d, double v, double *out);
/* The metric of an evaluation, and whether a is better than b (NaN never is). */
double panda_metric_value(panda_metric m, const caviar_nn_eval *e);
int panda_better(panda_metric m, double a, double b);

/* PBT's explore for one hyperparameter of internal value v under d: resampled from d with
 * probability resample, else moved on its scale by x 0.8 or x 1.25 (of 1 - v on the
 * one-minus-log scale; a categorical to the next choice), kept admissible. */
double panda_pbt_perturb(const caviar_dist *d, double v, double resample, util_rng *rng);

#endif
