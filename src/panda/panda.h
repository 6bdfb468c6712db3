/*
 * panda.h — babysitting one model (the panda strategy).
 *
 * A session trains one network a "day" at a time (day_epochs epochs). Between days its
 * hyperparameters may change (set), and it may go back to the exact state at the end of any
 * earlier day (rollback) and train on from there: a branch. Nothing is lost: every day is a
 * trial of the session's study, with
 *   parameters        the settable hyperparameters the day trained with (the sweep file's
 *                     parameters, so their bounds are the study's distributions)
 *   reports           the dev metric after each epoch (step = the model's epoch count)
 *   value             the dev metric at the end of the day (COMPLETE), or PRUNED when it diverged
 *   attributes        panda.day, panda.parent (the day it trained on from; 0: the fresh model),
 *                     panda.epoch (epochs done at its end), panda.checksum (caviar_nn_checksum
 *                     of the state at its end, hex), panda.note (what changed and why),
 *                     panda.curve (per epoch: "epoch lr train_loss dev_loss dev_metric;" ...),
 *                     panda.hparams (every hyperparameter, "name=value ...")
 * and the whole training state at its end (weights, optimiser moments, random state,
 * hyperparameters: caviar_nn_serialize) as the study blob "panda/day/N"; "panda/day/0" is the
 * fresh model and "panda/head" the day the session stands on. Day N is trial N - 1. Opening a
 * session whose study holds days resumes it where it stood, after a crash or a Ctrl-C alike; a
 * day that was cut short (no checkpoint) is not part of the history.
 *
 * Rollback restores bit-identical state: the checksum after rollback N equals day N's recorded
 * checksum, and training on repeats the numbers of the first time (one thread, one seed).
 *
 * The automatic policy (panda_auto) looks at the newest day of the branch and decides, with its
 * reason recorded as the next day's note:
 *   diverged (NaN/Inf) or dev loss jumped above jump x the best of the branch
 *                         -> roll back to the day before and divide lr by 3
 *   dev metric improved by more than min_delta over the previous day, and the training loss
 *   fell at every epoch of the day (from the previous day's last) -> raise lr by 1.5 (within
 *   the bounds)
 *   no better dev metric than the branch's best for two days (a plateau) -> divide lr by 3
 *   (again every second day while it lasts)
 * The note says which day it looked at: "auto after day 7: ...".
 *   no new best for patience days -> stop
 */
#ifndef CAVIAR_PANDA_H
#define CAVIAR_PANDA_H

#include "caviar.h"
#include "caviar/data.h"
#include "caviar/nn.h"
#include "config/config.h"

typedef enum panda_metric { PANDA_ACCURACY, PANDA_LOSS, PANDA_RMSE } panda_metric;

/* The hyperparameters that can change between days, by name. */
extern const char *const panda_settable[];

typedef struct panda_opts {
    const char *storage, *study;     /* the study ("panda" by default) */
    const caviar_data *data;         /* borrowed for the session's life */
    caviar_nn_arch arch;             /* n_inputs, n_outputs and task filled from data */
    caviar_nn_hparams hp;            /* the starting hyperparameters (epochs is ignored) */
    size_t day_epochs;               /* epochs per day, >= 1 */
    uint64_t seed;
    panda_metric metric;
    const objective_param *bounds;   /* the settable hyperparameters and their bounds */
    size_t n_bounds;
    /* automatic policy */
    double min_delta, jump;          /* defaults 1e-3 and 1.5 */
    size_t patience;                 /* days without a new best before auto stops (default 4) */
    /* When not NULL and non-zero after an epoch, the day stops and is not kept
     * (panda_train_day returns CAVIAR_STOPPED): a SIGINT handler's flag. */
    const volatile int *stop;
} panda_opts;

/* Reads a sweep file's panda session: objective: (data, metric, dev_fraction, split_seed),
 * panda: (day_epochs, seed, patience, min_delta, jump, start.NAME: the starting value of any
 * hyperparameter or architecture key: lr, momentum, ..., n_layers, units, units_N, activation,
 * batchnorm, optimizer) and parameters: (the bounds of what set may change; a constant fixes a
 * value). The data is loaded into *data (caviar_data_free it after the session). */
caviar_status panda_opts_from_config(const config_sweep *cfg, panda_opts *o, caviar_data **data,
                                     caviar_error *err);

typedef struct panda_epoch {
    size_t epoch;
    double lr, train_loss, dev_loss, dev_metric;
} panda_epoch;

typedef struct panda_day {
    uint64_t day, parent;
    size_t epoch;                /* epochs done at its end */
    int diverged;
    double value;                /* dev metric at its end (NaN when diverged) */
    uint32_t checksum;
    caviar_nn_hparams hp;
    char note[256];
    panda_epoch *curve;
    size_t n_curve;
} panda_day;

typedef struct panda panda;

/* Opens or resumes the session. */
caviar_status panda_open(const panda_opts *o, panda **out, caviar_error *err);
void panda_close(panda *p);

/* Trains one day from the head with the pending hyperparameters; note says why (recorded). A
 * divergence is not an error: the day is recorded PRUNED with diverged set. */
caviar_status panda_train_day(panda *p, const char *note, caviar_error *err);
/* Changes a pending hyperparameter ("lr", "0.02"), checked against its bounds; nothing changes
 * on error. */
caviar_status panda_set(panda *p, const char *name, const char *value, caviar_error *err);
/* Goes back to the state at the end of day (0: the fresh model), with its hyperparameters. */
caviar_status panda_rollback(panda *p, uint64_t day, caviar_error *err);
/* Writes the current model as a checkpoint file (caviar_nn_save). */
caviar_status panda_save(panda *p, const char *path, caviar_error *err);

size_t panda_n_days(const panda *p);
const panda_day *panda_get_day(const panda *p, uint64_t day); /* NULL if none */
uint64_t panda_head(const panda *p);                          /* 0: the fresh model */
const caviar_nn_hparams *panda_pending(const panda *p);
/* Puts back pending hyperparameters read earlier with panda_pending (an all-or-nothing set). */
void panda_restore_pending(panda *p, const caviar_nn_hparams *hp);
const caviar_nn_arch *panda_arch(const panda *p);
uint32_t panda_checksum(const panda *p);                      /* of the current model */
panda_metric panda_metric_of(const panda *p);
const char *panda_metric_name(panda_metric m);
/* The best day so far (by dev metric), 0 when none completed. */
uint64_t panda_best(const panda *p);
/* The days from the fresh model to day, oldest first, into out (at most cap); the count. */
size_t panda_branch(const panda *p, uint64_t day, uint64_t *out, size_t cap);

/* ---- population-based training (pbt.c) ---- */

typedef struct panda_pbt_opts {
    panda_opts base;   /* data, architecture, starting values, bounds (the searched space: each
                          member draws its first values from it), metric, seed; day_epochs is the
                          interval between exploits */
    size_t population; /* members (panda: population, default 8) */
    size_t epochs;     /* epochs each member trains in all (panda: epochs, default 10) */
    double quantile;   /* bottom and top share (panda: quantile, default 0.25) */
    double resample;   /* explore: resample probability (panda: resample, default 0.25) */
    int exploit;       /* 0: random search with the same compute (panda: exploit, default 1) */
} panda_pbt_opts;

/* The PBT settings of a sweep file (panda_opts_from_config, plus population, epochs, quantile,
 * resample, exploit). */
caviar_status panda_pbt_opts_from_config(const config_sweep *cfg, panda_pbt_opts *o,
                                         caviar_data **data, caviar_error *err);
/* The objective of one member (user: a panda_pbt_opts), for caviar_run with one worker per
 * member. */
caviar_trial_state panda_pbt_member(caviar_trial *t, void *user, double *value,
                                    caviar_error *err);

/* One step of the automatic policy after the head day: may roll back and change the pending
 * hyperparameters; *stop set when patience ran out. why receives the decision and its reason
 * (the note the next day records). */
caviar_status panda_auto(panda *p, int *stop, char *why, size_t len, caviar_error *err);

#endif
