/*
 * cli.h — what the subcommands of the caviar command share: their entry points and exit codes.
 */
#ifndef CAVIAR_CLI_H
#define CAVIAR_CLI_H

#include "caviar.h"
#include "config/config.h"
#include "objective/objective.h"

enum { CLI_OK = 0, CLI_FAILURE = 1, CLI_USAGE = 2 };

/* A study a command reads (cmd_studies.c): the database opened, the study picked (the one
 * named, or the only one: the messages say which exist) and its history read. */
typedef struct cli_source {
    char shown[512];                  /* the storage string, password masked */
    const struct store_study *info;   /* its definition */
    caviar_study *s;                  /* its history */
    void *priv;                       /* the database */
} cli_source;
/* -1, or the exit status after the message (nothing to close then). */
int cli_source_open(cli_source *src, const char *cmd, const char *storage, const char *name);
void cli_source_close(cli_source *src);

/* The progress of a run, shown on stderr (progress.c): a live view on a terminal, else one
 * line per finished trial. cli_progress_tick is a caviar_work_opts.on_tick. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_new(const caviar_study_opts *opts, double max_seconds, int live,
                               int quiet);
void cli_progress_tick(void *p);
void cli_progress_free(cli_progress *p);

/* Each takes the arguments after "caviar" (argv[0] is the command's name). */
int cmd_train(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_panda(int argc, char **argv);
int cmd_pbt(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_retest(int argc, char **argv);
/* cmd_studies.c: looking at and managing the studies of a database */
int cmd_studies(int argc, char **argv);
int cmd_trials(int argc, char **argv);
int cmd_best(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_enqueue(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_importance(int argc, char **argv);
/* cmd_report.c: the HTML report of a study */
int cmd_report(int argc, char **argv);
/* cmd_dashboard.c: the same pages served live */
int cmd_dashboard(int argc, char **argv);

/* What a study's trials run (sweep.c): an objective by name ("mlp:epochs=5"), or what a sweep
 * file says — the built-in trainer with the file's space, or a program. */
typedef struct cli_objective {
    objective builtin;          /* builtin.type is NULL for a program */
    objective_command *command; /* a program */
    config_sweep sweep;         /* the sweep it came from, when has_sweep */
    int has_sweep;
} cli_objective;

caviar_status cli_objective_from_spec(cli_objective *o, const char *spec, caviar_error *err);
/* Takes *sw over (it is zeroed); log_dir is where a program's trial logs go. */
caviar_status cli_objective_from_sweep(cli_objective *o, config_sweep *sw, const char *study,
                                       const char *log_dir, caviar_error *err);
caviar_trial_state cli_objective_run(caviar_trial *t, void *user, double *value,
                                     caviar_error *err);
caviar_direction cli_objective_direction(const cli_objective *o);
const char *cli_objective_name(const cli_objective *o);
void cli_objective_close(cli_objective *o);

#endif
