/*
 * sweep.c — what the trials of `caviar tune` and `caviar worker` run: an objective named on the
 * command line (--objective mlp:epochs=5), or the one a sweep file describes — the built-in
 * trainer with the file's search space (objective:), or any program (program: / command:).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The settings the built-in trainer reads, from the sweep's objective: mapping ("k=v,k=v"). */
static caviar_status trainer_spec(const config_sweep *sw, char *buf, size_t len,
                                  caviar_error *err)
{
    size_t at = (size_t)snprintf(buf, len, "mlp");
    for (size_t i = 0; i < sw->n_objective; i++) {
        const config_entry *e = &sw->objective[i];
        if (strchr(e->value, ',') && strcmp(e->key, "data") != 0)
            return util_err(err, CAVIAR_EINVAL, "%s:%u:%u: objective '%s': expected one value, "
                            "got '%s'", sw->path, e->value_pos.line, e->value_pos.column, e->key,
                            e->value);
        int n = snprintf(buf + at, at < len ? len - at : 0, "%s%s=%s", i ? "," : ":", e->key,
                         e->value);
        if (n < 0 || (at += (size_t)n) >= len)
            return util_err(err, CAVIAR_EINVAL, "%s: the objective's settings are too long",
                            sw->path);
    }
    return CAVIAR_OK;
}

/* The sweep's metric, for the trainer: accuracy, loss or rmse (with or without "dev_"),
 * appended to its settings unless they name one. */
static caviar_status trainer_metric(const config_sweep *sw, char *buf, size_t len,
                                    caviar_error *err)
{
    if (!sw->metric)
        return CAVIAR_OK;
    for (size_t i = 0; i < sw->n_objective; i++)
        if (strcmp(sw->objective[i].key, "metric") == 0)
            return CAVIAR_OK;
    const char *m = strncmp(sw->metric, "dev_", 4) == 0 ? sw->metric + 4 : sw->metric;
    int maximize = strcmp(m, "accuracy") == 0;
    if (!maximize && strcmp(m, "loss") != 0 && strcmp(m, "rmse") != 0)
        return util_err(err, CAVIAR_EINVAL, "%s: metric '%s': the built-in trainer reports "
                        "dev_accuracy, dev_loss or dev_rmse", sw->path, sw->metric);
    if ((sw->goal == CAVIAR_MAXIMIZE) != maximize)
        return util_err(err, CAVIAR_EINVAL, "%s: metric '%s' is to be %s, not %s", sw->path,
                        sw->metric, maximize ? "maximized" : "minimized",
                        maximize ? "minimized" : "maximized");
    size_t at = strlen(buf);
    if ((size_t)snprintf(buf + at, len - at, "%smetric=%s", strchr(buf, ':') ? "," : ":", m) >=
        len - at)
        return util_err(err, CAVIAR_EINVAL, "%s: the objective's settings are too long",
                        sw->path);
    return CAVIAR_OK;
}

caviar_status cli_objective_from_spec(cli_objective *o, const char *spec, caviar_error *err)
{
    memset(o, 0, sizeof *o);
    return objective_open(&o->builtin, spec, err);
}

caviar_status cli_objective_from_sweep(cli_objective *o, config_sweep *sw, const char *study,
                                       const char *log_dir, caviar_error *err)
{
    memset(o, 0, sizeof *o);
    o->sweep = *sw; /* taken over */
    memset(sw, 0, sizeof *sw);
    o->has_sweep = 1;
    sw = &o->sweep;
    caviar_status st;
    if (sw->has_objective) {
        char spec[2048];
        if ((st = trainer_spec(sw, spec, sizeof spec, err)) != CAVIAR_OK ||
            (st = trainer_metric(sw, spec, sizeof spec, err)) != CAVIAR_OK ||
            (st = objective_open(&o->builtin, spec, err)) != CAVIAR_OK) {
            util_err_prefix(err, "%s: objective", sw->path);
            cli_objective_close(o);
            return st;
        }
        if ((st = objective_set_space(&o->builtin, sw->params, sw->n_params, err)) !=
            CAVIAR_OK) {
            util_err_prefix(err, "%s", sw->path);
            cli_objective_close(o);
            return st;
        }
        return CAVIAR_OK;
    }
    objective_command_opts co = {0};
    co.argv = (const char *const *)sw->command;
    co.argc = sw->n_command;
    co.program = sw->program;
    co.params = sw->params;
    co.n_params = sw->n_params;
    co.metric = sw->metric;
    co.log_dir = log_dir;
    co.study = study;
    if ((st = objective_command_new(&co, &o->command, err)) != CAVIAR_OK) {
        util_err_prefix(err, "%s", sw->path);
        cli_objective_close(o);
    }
    return st;
}

caviar_trial_state cli_objective_run(caviar_trial *t, void *user, double *value,
                                     caviar_error *err)
{
    cli_objective *o = user;
    if (o->command)
        return objective_command_run(t, o->command, value, err);
    return o->builtin.type->run(t, o->builtin.self, value, err);
}

caviar_direction cli_objective_direction(const cli_objective *o)
{
    if (o->has_sweep && (o->command || o->sweep.metric))
        return o->sweep.goal;
    return objective_direction(o->builtin.type, o->builtin.self);
}

const char *cli_objective_name(const cli_objective *o)
{
    if (o->command)
        return o->sweep.program ? o->sweep.program : "command";
    return o->builtin.type ? o->builtin.type->name : "?";
}

void cli_objective_close(cli_objective *o)
{
    if (o->builtin.type)
        objective_close(&o->builtin);
    objective_command_free(o->command);
    config_release(&o->sweep);
    memset(o, 0, sizeof *o);
}
