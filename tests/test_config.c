/*
 * test_config.c — the sweep file reader (src/config): W&B's sweep files in every documented
 * form, caviar's own keys, the catalogue of bad files with the exact message each must give,
 * and every example of examples/sweeps.
 *
 * The good files are written in the forms of W&B's documentation (top-level keys, each
 * distribution, nested parameters, early_terminate with min_iter and with max_iter, command
 * with its macros); each test checks what they become field by field: the distribution on its
 * scale with its bounds (exactly: the bounds are the file's numbers, or e to their power for
 * log_uniform), q, the sampler and pruner with their settings. The bad files are a catalogue:
 * file, then the whole message, position included ("sweep.yaml:LINE:COLUMN: ..."). A failed
 * load must leave the struct zeroed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "prune/prune.h"
#include "sample/sample.h"
#include "space/space.h"

#ifndef CAVIAR_TEST_DATA
#define CAVIAR_TEST_DATA "tests/data"
#endif
/* examples/sweeps, from the test data folder (tests/data). */
#define EXAMPLES_DIR CAVIAR_TEST_DATA "/../../examples/sweeps"

/* Parses text (named sweep.yaml in messages), which must succeed. */
static void parse_ok(const char *text, config_sweep *out)
{
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_status st = config_parse(text, strlen(text), "sweep.yaml", out, &err);
    if (st != CAVIAR_OK)
        fail_msg("expected the sweep file to load, got: %s\n--- file:\n%s", err.msg, text);
}

/* The parameter of that name, which must exist. */
static const objective_param *param(const config_sweep *s, const char *name)
{
    for (size_t i = 0; i < s->n_params; i++)
        if (strcmp(s->params[i].name, name) == 0)
            return &s->params[i];
    fail_msg("no parameter '%s'", name);
    return NULL;
}

static int zeroed(const config_sweep *s)
{
    static const config_sweep zero;
    return memcmp(s, &zero, sizeof zero) == 0;
}

static void assert_float_dist(const objective_param *p, caviar_scale scale, double low,
                              double high, double q)
{
    assert_int_equal(p->dist.kind, CAVIAR_DIST_FLOAT);
    assert_int_equal(p->dist.scale, scale);
    if (p->dist.low != low || p->dist.high != high || p->dist.q != q)
        fail_msg("parameter '%s': got [%.17g, %.17g] q %.17g, expected [%.17g, %.17g] q %.17g",
                 p->name, p->dist.low, p->dist.high, p->dist.q, low, high, q);
    assert_int_equal(p->dist.step, 0);
}

/* ---- W&B's sweep files ---- */

/* The top-level keys of W&B's documentation, with a random search. */
static void test_wandb_top_level(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("program: train.py\n"
             "entity: my-team\n"
             "project: fashion\n"
             "name: sweepdemo\n"
             "description: a demo\n"
             "method: random\n"
             "metric:\n"
             "  name: validation_loss\n"
             "  goal: maximize\n"
             "  target: 0.95\n"
             "run_cap: 30\n"
             "parameters:\n"
             "  learning_rate: {min: 0.0001, max: 0.1}\n"
             "  batch_size: {values: [16, 32, 64]}\n"
             "  epochs: {values: [5, 10, 15]}\n"
             "  optimizer: {values: [\"adam\", \"sgd\"]}\n",
             &s);
    assert_string_equal(s.path, "sweep.yaml");
    assert_string_equal(s.program, "train.py");
    assert_string_equal(s.method, "random");
    assert_string_equal(s.sampler, "random");
    assert_string_equal(s.sampler_settings, "");
    assert_null(s.pruner);
    assert_null(s.pruner_settings);
    assert_string_equal(s.metric, "validation_loss");
    assert_int_equal(s.goal, CAVIAR_MAXIMIZE);
    assert_true(s.metric_target == 0.95);
    assert_int_equal(s.max_trials, 30);
    assert_true(s.max_seconds == 0);
    assert_string_equal(s.name, "sweepdemo");
    assert_string_equal(s.description, "a demo");
    assert_null(s.command);
    assert_int_equal(s.has_objective, 0);
    assert_int_equal(s.n_params, 4);
    /* File order, with positions. */
    assert_string_equal(s.params[0].name, "learning_rate");
    assert_string_equal(s.params[3].name, "optimizer");
    assert_int_equal(s.param_pos[0].line, 13);
    assert_int_equal(s.param_pos[0].column, 3);
    assert_float_dist(&s.params[0], CAVIAR_SCALE_LINEAR, 0.0001, 0.1, 0);
    const objective_param *bs = param(&s, "batch_size");
    assert_int_equal(bs->dist.kind, CAVIAR_DIST_CATEGORICAL);
    assert_int_equal(bs->dist.n_choices, 3);
    assert_null(bs->dist.weights);
    assert_int_equal(bs->dist.choices[2].type, CAVIAR_VALUE_NUMBER);
    assert_true(bs->dist.choices[2].number == 64);
    const objective_param *opt = param(&s, "optimizer");
    assert_int_equal(opt->dist.choices[0].type, CAVIAR_VALUE_STRING);
    assert_string_equal(opt->dist.choices[1].string, "sgd");
    config_release(&s);
    assert_true(zeroed(&s));

    /* Methods and the samplers they imply; the default goal; metric keys W&B has. */
    const struct {
        const char *method, *sampler;
    } methods[] = {{"grid", "grid"}, {"random", "random"}, {"bayes", "tpe"}};
    for (size_t i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "program: train.py\nmethod: %s\n"
                 "metric: {name: loss, impute: worst, impute_while_running: false}\n"
                 "controller: {type: local}\n"
                 "parameters:\n  x: {values: [1, 2]}\n", methods[i].method);
        parse_ok(text, &s);
        assert_string_equal(s.method, methods[i].method);
        assert_string_equal(s.sampler, methods[i].sampler);
        assert_int_equal(s.goal, CAVIAR_MINIMIZE);
        assert_true(isnan(s.metric_target));
        config_release(&s);
    }
}

/* Every distribution W&B documents, written as its documentation writes them. */
static void test_wandb_distributions(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("program: train.py\n"
             "method: random\n"
             "parameters:\n"
             "  c: {distribution: constant, value: relu}\n"
             "  cat: {distribution: categorical, values: [1, 2.5, x, true, \"7\"]}\n"
             "  catp: {distribution: categorical, values: [a, b, c], probabilities: [0.5, 0.25, "
             "0.25]}\n"
             "  catw: {distribution: categorical_w_probabilities, values: [a, b], "
             "probabilities: [0.1, 0.9]}\n"
             "  i: {distribution: int_uniform, min: -3, max: 7}\n"
             "  u: {distribution: uniform, min: -1, max: 2}\n"
             "  qu: {distribution: q_uniform, min: 0, max: 10, q: 2.5}\n"
             "  qu1: {distribution: q_uniform, min: 0, max: 10}\n"
             "  lu: {distribution: log_uniform, min: -2, max: 3}\n"
             "  luv: {distribution: log_uniform_values, min: 1e-5, max: 0.1}\n"
             "  qlu: {distribution: q_log_uniform, min: 0, max: 5, q: 3}\n"
             "  qluv: {distribution: q_log_uniform_values, min: 1, max: 1000, q: 10}\n"
             "  ilu: {distribution: inv_log_uniform, min: 1, max: 4}\n"
             "  iluv: {distribution: inv_log_uniform_values, min: 0.01, max: 0.5}\n"
             "  n: {distribution: normal}\n"
             "  n2: {distribution: normal, mu: -3, sigma: 0.5}\n"
             "  qn: {distribution: q_normal, mu: 10, sigma: 2, q: 0.5}\n"
             "  ln: {distribution: log_normal, mu: 1, sigma: 0.25}\n"
             "  qln: {distribution: q_log_normal, sigma: 2}\n"
             "  oml: {distribution: one_minus_log_uniform_values, min: 0.9, max: 0.9999}\n",
             &s);
    assert_int_equal(s.n_params, 20);

    const objective_param *p = param(&s, "c");
    assert_int_equal(p->dist.kind, CAVIAR_DIST_CATEGORICAL);
    assert_int_equal(p->dist.n_choices, 1);
    assert_string_equal(p->dist.choices[0].string, "relu");

    p = param(&s, "cat");
    assert_int_equal(p->dist.n_choices, 5);
    assert_int_equal(p->dist.choices[0].type, CAVIAR_VALUE_NUMBER);
    assert_true(p->dist.choices[1].number == 2.5);
    assert_int_equal(p->dist.choices[2].type, CAVIAR_VALUE_STRING);
    assert_int_equal(p->dist.choices[3].type, CAVIAR_VALUE_BOOL);
    assert_true(p->dist.choices[3].number == 1);
    assert_int_equal(p->dist.choices[4].type, CAVIAR_VALUE_STRING); /* quoted: a string */
    assert_string_equal(p->dist.choices[4].string, "7");
    assert_null(p->dist.weights);

    p = param(&s, "catp");
    assert_non_null(p->dist.weights);
    assert_true(p->dist.weights[0] == 0.5 && p->dist.weights[1] == 0.25 &&
                p->dist.weights[2] == 0.25);
    p = param(&s, "catw");
    assert_true(p->dist.weights[0] == 0.1 && p->dist.weights[1] == 0.9);

    p = param(&s, "i");
    assert_int_equal(p->dist.kind, CAVIAR_DIST_INT);
    assert_int_equal(p->dist.scale, CAVIAR_SCALE_LINEAR);
    assert_true(p->dist.low == -3 && p->dist.high == 7 && p->dist.step == 1 && p->dist.q == 0);

    assert_float_dist(param(&s, "u"), CAVIAR_SCALE_LINEAR, -1, 2, 0);
    assert_float_dist(param(&s, "qu"), CAVIAR_SCALE_LINEAR, 0, 10, 2.5);
    assert_float_dist(param(&s, "qu1"), CAVIAR_SCALE_LINEAR, 0, 10, 1); /* q defaults to 1 */
    assert_float_dist(param(&s, "lu"), CAVIAR_SCALE_LOG, exp(-2), exp(3), 0);
    assert_float_dist(param(&s, "luv"), CAVIAR_SCALE_LOG, 1e-5, 0.1, 0);
    assert_float_dist(param(&s, "qlu"), CAVIAR_SCALE_LOG, exp(0), exp(5), 3);
    assert_float_dist(param(&s, "qluv"), CAVIAR_SCALE_LOG, 1, 1000, 10);
    /* ln(1/x) uniform on [1, 4]: x log-uniform on [e^-4, e^-1]. */
    assert_float_dist(param(&s, "ilu"), CAVIAR_SCALE_LOG, exp(-4), exp(-1), 0);
    /* ln(1/x) uniform on [ln(1/0.5), ln(1/0.01)]: x log-uniform on [0.01, 0.5]. */
    assert_float_dist(param(&s, "iluv"), CAVIAR_SCALE_LOG, 0.01, 0.5, 0);
    assert_float_dist(param(&s, "oml"), CAVIAR_SCALE_ONE_MINUS_LOG, 0.9, 0.9999, 0);

    const struct {
        const char *name;
        caviar_scale scale;
        double mu, sigma, q;
    } normals[] = {{"n", CAVIAR_SCALE_NORMAL, 0, 1, 0},
                   {"n2", CAVIAR_SCALE_NORMAL, -3, 0.5, 0},
                   {"qn", CAVIAR_SCALE_NORMAL, 10, 2, 0.5},
                   {"ln", CAVIAR_SCALE_LOG_NORMAL, 1, 0.25, 0},
                   {"qln", CAVIAR_SCALE_LOG_NORMAL, 0, 2, 1}};
    for (size_t i = 0; i < sizeof normals / sizeof normals[0]; i++) {
        p = param(&s, normals[i].name);
        assert_int_equal(p->dist.kind, CAVIAR_DIST_FLOAT);
        assert_int_equal(p->dist.scale, normals[i].scale);
        assert_true(p->dist.mu == normals[i].mu && p->dist.sigma == normals[i].sigma &&
                    p->dist.q == normals[i].q);
    }
    /* Every one is a valid distribution for the study. */
    for (size_t i = 0; i < s.n_params; i++)
        assert_int_equal(caviar_dist_check(&s.params[i].dist, s.params[i].name, NULL),
                         CAVIAR_OK);
    config_release(&s);
}

/* Without a distribution, W&B infers one: values, value, min and max (int_uniform when both
 * are written as integers, else uniform). */
static void test_wandb_inference(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("program: train.py\n"
             "method: random\n"
             "parameters:\n"
             "  ints: {min: 1, max: 10}\n"
             "  zero_one: {min: 0, max: 1}\n"
             "  floats: {min: 0.5, max: 10}\n"
             "  mixed: {min: 1, max: 10.0}\n"
             "  exp: {min: 1e-5, max: 1e-1}\n"
             "  v: {values: [yes, off, 'on', ~x]}\n"
             "  one: {value: 0.5}\n"
             "  list: {values: [[64, 32], [128, 'a\"b'], [true, 1e-3]]}\n",
             &s);
    const objective_param *p = param(&s, "ints");
    assert_int_equal(p->dist.kind, CAVIAR_DIST_INT);
    assert_true(p->dist.low == 1 && p->dist.high == 10);
    /* W&B's own gotcha: {min: 0, max: 1} is int_uniform, 0 or 1. */
    assert_int_equal(param(&s, "zero_one")->dist.kind, CAVIAR_DIST_INT);
    assert_float_dist(param(&s, "floats"), CAVIAR_SCALE_LINEAR, 0.5, 10, 0);
    assert_float_dist(param(&s, "mixed"), CAVIAR_SCALE_LINEAR, 1, 10, 0);
    assert_float_dist(param(&s, "exp"), CAVIAR_SCALE_LINEAR, 1e-5, 1e-1, 0);
    p = param(&s, "v");
    assert_int_equal(p->dist.choices[0].type, CAVIAR_VALUE_BOOL);
    assert_true(p->dist.choices[0].number == 1);
    assert_int_equal(p->dist.choices[1].type, CAVIAR_VALUE_BOOL);
    assert_true(p->dist.choices[1].number == 0);
    assert_int_equal(p->dist.choices[2].type, CAVIAR_VALUE_STRING); /* quoted */
    assert_string_equal(p->dist.choices[2].string, "on");
    assert_string_equal(p->dist.choices[3].string, "~x");
    p = param(&s, "one");
    assert_int_equal(p->dist.n_choices, 1);
    assert_true(p->dist.choices[0].number == 0.5);
    /* Lists as values: their JSON text. */
    p = param(&s, "list");
    assert_string_equal(p->dist.choices[0].string, "[64, 32]");
    assert_string_equal(p->dist.choices[1].string, "[128, \"a\\\"b\"]");
    assert_string_equal(p->dist.choices[2].string, "[true, 1e-3]");
    config_release(&s);
}

/* Nested parameters flatten to dotted names, at any depth up to the limit. */
static void test_wandb_nested(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("program: train.py\n"
             "method: random\n"
             "parameters:\n"
             "  optimizer:\n"
             "    parameters:\n"
             "      lr: {min: 0.001, max: 0.1}\n"
             "      betas:\n"
             "        parameters:\n"
             "          beta1: {values: [0.9, 0.95]}\n"
             "  dropout: {value: 0.1}\n",
             &s);
    assert_int_equal(s.n_params, 3);
    assert_string_equal(s.params[0].name, "optimizer.lr");
    assert_string_equal(s.params[1].name, "optimizer.betas.beta1");
    assert_string_equal(s.params[2].name, "dropout");
    assert_int_equal(s.param_pos[1].line, 9);
    assert_int_equal(s.param_pos[1].column, 11);
    config_release(&s);
}

/* early_terminate: W&B's hyperband with min_iter (successive halving at min_iter eta^k) and
 * with max_iter and s (Hyperband from W&B's lowest bracket to max_iter). */
static void test_wandb_early_terminate(void **state)
{
    (void)state;
    const struct {
        const char *et, *pruner, *settings;
    } cases[] = {
        {"{type: hyperband, min_iter: 3}", "successive-halving",
         "min_resource=3,reduction_factor=3"},
        {"{type: hyperband, min_iter: 2, eta: 2, strict: true}", "successive-halving",
         "min_resource=2,reduction_factor=2"},
        /* W&B's brackets: 27/3 = 9, 27/9 = 3. */
        {"{type: hyperband, max_iter: 27, s: 2}", "hyperband",
         "min_resource=3,max_resource=27,reduction_factor=3"},
        /* 100/2 .. 100/16: 50, 25, 12, 6 -> the lowest is 6. */
        {"{type: hyperband, max_iter: 100, s: 4, eta: 2}", "hyperband",
         "min_resource=6,max_resource=100,reduction_factor=2"},
        /* s beyond what max_iter allows: W&B stops at the last bracket >= 1 (10/3 = 3, 10/9 =
         * 1). */
        {"{type: hyperband, max_iter: 10, s: 5}", "hyperband",
         "min_resource=1,max_resource=10,reduction_factor=3"},
        /* W&B uses max_iter when both are there. */
        {"{type: hyperband, max_iter: 81, s: 1, min_iter: 5}", "hyperband",
         "min_resource=27,max_resource=81,reduction_factor=3"},
        /* Both bounds without s: caviar's reading (W&B fails on it). */
        {"{type: hyperband, min_iter: 2, max_iter: 50}", "hyperband",
         "min_resource=2,max_resource=50,reduction_factor=3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "program: train.py\nmethod: bayes\nmetric: {name: loss}\nearly_terminate: %s\n"
                 "parameters:\n  x: {min: 0.0, max: 1.0}\n", cases[i].et);
        config_sweep s;
        parse_ok(text, &s);
        assert_string_equal(s.pruner, cases[i].pruner);
        assert_string_equal(s.pruner_settings, cases[i].settings);
        /* The pruner opens with those settings. */
        pruner p;
        assert_int_equal(pruner_open(&p, s.pruner, s.pruner_settings, s.goal, NULL), CAVIAR_OK);
        pruner_close(&p);
        config_release(&s);
    }
}

/* command with W&B's macros, kept as written for the command objective. */
static void test_wandb_command(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("program: train.py\n"
             "method: random\n"
             "command:\n"
             "  - ${env}\n"
             "  - ${interpreter}\n"
             "  - ${program}\n"
             "  - --data=${envvar:DATA_DIR}/fashion\n"
             "  - ${args}\n"
             "  - ${args_no_boolean_flags}\n"
             "  - ${args_no_hyphens}\n"
             "  - ${args_json}\n"
             "  - ${args_json_file}\n"
             "  - 7\n"
             "parameters:\n"
             "  x: {values: [1]}\n",
             &s);
    assert_int_equal(s.n_command, 10);
    assert_string_equal(s.command[0], "${env}");
    assert_string_equal(s.command[3], "--data=${envvar:DATA_DIR}/fashion");
    assert_string_equal(s.command[9], "7");
    assert_null(s.command[10]); /* NULL-terminated too */
    config_release(&s);

    /* A command that does not use ${program} needs no program. */
    parse_ok("method: random\n"
             "command: [python3, -m, trainer, --lr, \"${args}\"]\n"
             "parameters:\n"
             "  x: {values: [1]}\n",
             &s);
    assert_null(s.program);
    assert_int_equal(s.n_command, 5);
    assert_string_equal(s.command[4], "${args}");
    config_release(&s);
}

/* ---- caviar's keys ---- */

static void test_caviar_keys(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("objective:\n"
             "  data: fashion-mnist\n"
             "  epochs: 10\n"
             "  layers: [256, 128]\n"
             "  bn: {momentum: 0.9, on: yes}\n"
             "sampler:\n"
             "  name: tpe\n"
             "  n_startup: 20\n"
             "  multivariate: True\n"
             "pruner: {name: hyperband, max_resource: 10, reduction_factor: 3}\n"
             "budget: {trials: 500, time: 1.5h}\n"
             "run_cap: 3\n"
             "jobs: 4\n"
             "storage: postgresql://db/tuning\n"
             "study: mnist\n"
             "seed: 18446744073709551615\n"
             "retries: 3\n"
             "parameters:\n"
             "  beta: {distribution: one_minus_log_uniform_values, min: 0.9, max: 0.999}\n"
             "  lr: {distribution: log_uniform_values, min: 1e-4, max: 1, grid_points: 5}\n",
             &s);
    assert_int_equal(s.has_objective, 1);
    assert_null(s.program);
    assert_null(s.metric); /* the trainer reports its own */
    assert_int_equal(s.n_objective, 5);
    const struct {
        const char *key, *value;
        unsigned line, column;
    } entries[] = {{"data", "fashion-mnist", 2, 9},
                   {"epochs", "10", 3, 11},
                   {"layers", "256,128", 4, 11},
                   {"bn.momentum", "0.9", 5, 18},
                   {"bn.on", "true", 5, 27}};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s.objective[i].key, entries[i].key);
        assert_string_equal(s.objective[i].value, entries[i].value);
        assert_int_equal(s.objective[i].value_pos.line, entries[i].line);
        assert_int_equal(s.objective[i].value_pos.column, entries[i].column);
    }
    assert_int_equal(s.objective[0].key_pos.line, 2);
    assert_int_equal(s.objective[0].key_pos.column, 3);
    assert_null(s.method);
    assert_string_equal(s.sampler, "tpe");
    assert_string_equal(s.sampler_settings, "n_startup=20,multivariate=true");
    assert_string_equal(s.pruner, "hyperband");
    assert_string_equal(s.pruner_settings, "max_resource=10,reduction_factor=3");
    assert_int_equal(s.max_trials, 500); /* budget wins over run_cap */
    assert_true(s.max_seconds == 5400);
    assert_int_equal(s.jobs, 4);
    assert_string_equal(s.storage, "postgresql://db/tuning");
    assert_string_equal(s.study, "mnist");
    assert_int_equal(s.has_seed, 1);
    assert_true(s.seed == UINT64_MAX);
    assert_int_equal(s.has_retries, 1);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.params[1].dist.grid_points, 5);
    config_release(&s);

    /* Durations; jobs: auto; the sampler by name alone; run_cap without budget trials. */
    const struct {
        const char *time;
        double seconds;
    } durations[] = {{"90", 90}, {"2.5", 2.5}, {"90s", 90}, {"30m", 1800}, {"30min", 1800},
                     {"2h", 7200}, {"1d", 86400}, {"0.5d", 43200}};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "program: p\nsampler: sobol\njobs: auto\nrun_cap: 12\nbudget: {time: %s}\n"
                 "parameters:\n  x: {min: 0.0, max: 1.0}\n", durations[i].time);
        parse_ok(text, &s);
        assert_true(s.max_seconds == durations[i].seconds);
        assert_int_equal(s.max_trials, 12);
        assert_int_equal(s.jobs, 0);
        assert_string_equal(s.sampler, "sobol");
        assert_string_equal(s.sampler_settings, "");
        config_release(&s);
    }
}

/* A grid follows W&B's grid: values, value, int_uniform, q_uniform as arange(min, max, q). */
static void test_grid_rules(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("program: train.py\n"
             "method: grid\n"
             "parameters:\n"
             "  a: {values: [x, y]}\n"
             "  b: {distribution: int_uniform, min: 1, max: 3}\n"
             "  c: {distribution: q_uniform, min: 0.05, max: 0.5, q: 0.1}\n"
             "  d: {distribution: q_uniform, min: 0, max: 1, q: 0.25, grid_points: 3}\n"
             "  e: {distribution: normal, grid_points: 4}\n",
             &s);
    const objective_param *c = param(&s, "c");
    assert_int_equal(c->dist.kind, CAVIAR_DIST_CATEGORICAL);
    assert_int_equal(c->dist.n_choices, 5); /* ceil((0.5 - 0.05) / 0.1) */
    for (size_t k = 0; k < 5; k++)
        assert_true(c->dist.choices[k].number == 0.05 + (double)k * 0.1);
    assert_true(c->dist.q == 0); /* W&B's grid values as they are */
    /* grid_points: caviar's choice of points on the scale, and W&B's q after. */
    assert_float_dist(param(&s, "d"), CAVIAR_SCALE_LINEAR, 0, 1, 0.25);
    assert_int_equal(param(&s, "d")->dist.grid_points, 3);
    assert_int_equal(param(&s, "e")->dist.grid_points, 4);
    config_release(&s);

    /* The same q_uniform off the grid stays a float with its q. */
    parse_ok("program: train.py\nmethod: random\n"
             "parameters:\n  c: {distribution: q_uniform, min: 0.05, max: 0.5, q: 0.1}\n", &s);
    assert_float_dist(param(&s, "c"), CAVIAR_SCALE_LINEAR, 0.05, 0.5, 0.1);
    config_release(&s);
}

/* YAML's forms: flow and block style, comments, anchors and aliases, quoted keys, a version
 * directive and document markers, CRLF line ends. */
static void test_yaml_forms(void **state)
{
    (void)state;
    config_sweep s;
    parse_ok("%YAML 1.1\n"
             "---\n"
             "# a comment\n"
             "\"program\": 'train.py'   # another\r\n"
             "method: random\r\n"
             "parameters:\n"
             "  a: &range {min: 0.0, max: 1.0}\n"
             "  b: *range\n"
             "  c: {values: &v [1, 2]}\n"
             "  d:\n"
             "    values: *v\n"
             "    probabilities:\n"
             "      - 0.25\n"
             "      - 0.75\n"
             "...\n",
             &s);
    assert_string_equal(s.program, "train.py");
    assert_int_equal(s.n_params, 4);
    assert_float_dist(param(&s, "b"), CAVIAR_SCALE_LINEAR, 0, 1, 0);
    assert_int_equal(param(&s, "d")->dist.n_choices, 2);
    assert_true(param(&s, "d")->dist.weights[1] == 0.75);
    config_release(&s);
}

/* The names caviar lists in messages are the ones the sampler and pruner tables know. */
static void test_algorithm_names(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; config_sampler_names[i]; i++, n++)
        assert_non_null(sample_find(config_sampler_names[i]));
    assert_int_equal(n, 5);
    n = 0;
    for (size_t i = 0; config_pruner_names[i]; i++, n++)
        assert_non_null(prune_find(config_pruner_names[i]));
    assert_int_equal(n, 7);
}

/* ---- the catalogue of bad sweep files ---- */

static const struct {
    const char *name, *text, *msg;
} bad[] = {
    {"alias-undefined",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  x: *nope\n",
     "sweep.yaml:4:6: invalid YAML: found undefined alias"},
    {"bad-method",
     "program: a.py\n"
     "method: randum\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:9: unknown method 'randum'; did you mean 'random'?"},
    {"bayes-no-metric",
     "program: a.py\n"
     "method: bayes\n"
     "parameters:\n"
     "  x: {min: 0.0, max: 1.0}\n",
     "sweep.yaml:2:9: method 'bayes' needs a metric to optimise; expected metric: {name: "
     "NAME, goal: minimize or maximize}"},
    {"beta",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: beta}\n",
     "sweep.yaml:4:22: distribution 'beta' (in W&B's sweeps code, not in its documentation) "
     "is not supported by caviar"},
    {"budget-bad",
     "program: a.py\n"
     "method: random\n"
     "budget: {trials: 0}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:18: budget trials must be an integer >= 1, got '0'"},
    {"budget-key",
     "program: a.py\n"
     "method: random\n"
     "budget: {trails: 10}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:10: unknown key 'trails' in budget; did you mean 'trials'?"},
    {"budget-time",
     "program: a.py\n"
     "method: random\n"
     "budget: {time: 2 hours}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:16: expected a positive duration for budget time (seconds, or a number "
     "with s, m, h or d: 90s, 30m, 2h, 1d), got '2 hours'"},
    {"command-macro",
     "program: a.py\n"
     "method: random\n"
     "command:\n"
     "  - ${env}\n"
     "  - ${interpeter}\n"
     "  - ${program}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:5:5: unknown macro ${interpeter} in command; did you mean ${interpreter}?"},
    {"command-no-program",
     "method: random\n"
     "command:\n"
     "  - ${env}\n"
     "  - python\n"
     "  - ${program}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:3: command uses ${program} but the sweep file has no program key; "
     "expected program: SCRIPT"},
    {"command-scalar",
     "program: a.py\n"
     "method: random\n"
     "command: python a.py\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:10: expected a list of arguments for command (e.g. [${env}, ${interpreter}, "
     "${program}, ${args}]), got 'python a.py'"},
    {"command-unclosed",
     "program: a.py\n"
     "method: random\n"
     "command:\n"
     "  - python\n"
     "  - ${args\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:5:5: command element '${args' opens a macro with '${' and never closes "
     "it with '}'"},
    {"controller",
     "program: a.py\n"
     "method: random\n"
     "controller: {type: remote}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:20: expected local or cloud for controller type, got 'remote'"},
    {"duplicate-top",
     "program: a.py\n"
     "method: random\n"
     "program: b.py\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:1: duplicate key 'program' in the sweep file (first at 1:1)"},
    {"empty",
     "",
     "sweep.yaml:1:1: the sweep file is empty; expected a mapping with program, method, "
     "metric and parameters"},
    {"et-and-pruner",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "pruner: median\n"
     "early_terminate: {type: hyperband, min_iter: 3}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:5:1: early_terminate and caviar's pruner cannot both be given; keep "
     "one"},
    {"et-bad-type",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "early_terminate: {type: median, min_iter: 3}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:25: expected hyperband for early_terminate type (W&B's only stopping "
     "algorithm), got 'median'"},
    {"et-eta",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "early_terminate: {type: hyperband, min_iter: 1, eta: 2.5}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:54: early_terminate eta must be a whole number in [2, 1000000] for "
     "caviar's pruners, got '2.5'"},
    {"et-max-no-s",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "early_terminate: {type: hyperband, max_iter: 27}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:46: early_terminate with max_iter needs s (the number of brackets), "
     "or give min_iter instead"},
    {"et-no-bracket",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "early_terminate: {type: hyperband, max_iter: 2, s: 2}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:46: early_terminate max_iter 2 with eta 3 leaves no bracket (max_iter "
     "/ eta < 1); expected max_iter >= eta"},
    {"et-no-metric",
     "program: a.py\n"
     "method: random\n"
     "early_terminate: {type: hyperband, min_iter: 3}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:18: early_terminate compares trials by their metric; expected metric: "
     "{name: NAME, goal: minimize or maximize}"},
    {"et-no-type",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "early_terminate: {min_iter: 3}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:18: early_terminate needs a type; expected type: hyperband"},
    {"et-nothing",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "early_terminate: {type: hyperband}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:18: early_terminate needs min_iter, or max_iter and s, to place its "
     "brackets"},
    {"grid-uniform",
     "program: a.py\n"
     "method: grid\n"
     "parameters:\n"
     "  lr: {min: 0.0, max: 1.0}\n",
     "sweep.yaml:4:3: parameter 'lr': the grid sampler cannot enumerate distribution "
     "'uniform'; expected values, int_uniform, q_uniform, or caviar's grid_points: N"},
    {"int-uniform-float",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  n: {distribution: int_uniform, min: 1, max: 8.5}\n",
     "sweep.yaml:4:47: expected an integer within -+2^53 for 'max' of parameter 'n' "
     "(int_uniform), got '8.5'"},
    {"jobs-bad",
     "program: a.py\n"
     "method: random\n"
     "jobs: many\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:7: expected a number of worker processes or auto for 'jobs', got "
     "'many'"},
    {"key-list",
     "program: a.py\n"
     "method: random\n"
     "[a, b]: 1\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:1: expected a key (a name) in the sweep file, got a list"},
    {"log-uniform-huge",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: log_uniform, min: -1000, max: 0}\n",
     "sweep.yaml:4:40: parameter 'lr': log_uniform takes natural logs as min and max, "
     "and e^-1000 is beyond a double; expected them within [-708, 709] (for bounds as "
     "values use log_uniform_values)"},
    {"log-values-zero",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: log_uniform_values, min: 0, max: 0.1}\n",
     "sweep.yaml:4:47: parameter 'lr': log_uniform_values needs min > 0, got 0"},
    {"method-custom",
     "program: a.py\n"
     "method: custom\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:9: method 'custom' (a W&B scheduler) is not supported; expected grid, "
     "random or bayes, or caviar's sampler"},
    {"method-far",
     "program: a.py\n"
     "method: annealing\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:9: expected grid, random or bayes for method, got 'annealing'"},
    {"metric-bad-goal",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss, goal: minimise}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:28: unknown metric goal 'minimise'; did you mean 'minimize'?"},
    {"metric-no-name",
     "program: a.py\n"
     "method: random\n"
     "metric: {goal: minimize}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:9: metric needs a name: the metric the program reports (e.g. name: "
     "val_loss)"},
    {"metric-scalar",
     "program: a.py\n"
     "method: random\n"
     "metric: loss\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:9: expected a mapping (key: value lines) for metric, got 'loss'"},
    {"metric-unknown-key",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss, gaol: minimize}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:22: unknown key 'gaol' in metric; did you mean 'goal'?"},
    {"min-ge-max",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: 0.5, max: 0.1}\n",
     "sweep.yaml:4:13: parameter 'lr': min 0.5 is not below max 0.1"},
    {"min-inf",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: -.inf, max: 0.1}\n",
     "sweep.yaml:4:13: expected a finite number for 'min' of parameter 'lr', got '-.inf'"},
    {"min-no-max",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: 0.1}\n",
     "sweep.yaml:4:3: parameter 'lr' has min but no max; expected both"},
    {"min-not-number",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: abc, max: 1.0}\n",
     "sweep.yaml:4:13: expected a number for 'min' of parameter 'lr', got 'abc'"},
    {"min-quoted",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: \"0.1\", max: 1.0}\n",
     "sweep.yaml:4:13: expected a number for 'min' of parameter 'lr', got '0.1' (quoted: "
     "a string)"},
    {"missing-max-dist",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: uniform, min: 0.0}\n",
     "sweep.yaml:4:3: parameter 'lr': distribution 'uniform' needs 'max'"},
    {"missing-method",
     "program: a.py\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:1:1: missing key 'method' (grid, random or bayes), or caviar's sampler"},
    {"missing-parameters",
     "program: a.py\n"
     "method: random\n",
     "sweep.yaml:1:1: missing key 'parameters' (the hyperparameters to search, e.g. "
     "lr: {min: 0.0001, max: 0.1})"},
    {"missing-program",
     "method: random\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:1:1: missing key 'program' (the training script to run), or caviar's "
     "objective: for the built-in trainer"},
    {"mu-no-dist",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  w: {mu: 0, sigma: 1}\n",
     "sweep.yaml:4:3: parameter 'w' has mu or sigma but no distribution; expected distribution: "
     "normal, q_normal, log_normal or q_log_normal"},
    {"mu-on-uniform",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: uniform, min: 0.0, max: 1.0, mu: 0.5}\n",
     "sweep.yaml:4:51: parameter 'lr': distribution 'uniform' takes no 'mu' (it takes "
     "min, max and grid_points)"},
    {"nested-deep",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {parameters: {b: {parameters: {c: {parameters: {d: {parameters: {e: {parameters: "
     "{f: {parameters: {g: {parameters: {h: {parameters: {i: {values: [1]}}}}}}}}}}}}}}}}}\n",
     "sweep.yaml:4:126: parameters are nested more than 8 levels deep"},
    {"nested-dup-name",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  opt.lr: {values: [1]}\n"
     "  opt:\n"
     "    parameters:\n"
     "      lr: {values: [2]}\n",
     "sweep.yaml:7:7: parameter 'opt.lr' is defined twice (first at 4:3)"},
    {"nested-extra",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  opt:\n"
     "    values: [1]\n"
     "    parameters:\n"
     "      lr: {values: [1]}\n",
     "sweep.yaml:5:5: parameter 'opt' holds nested parameters and takes no other key; "
     "got 'values'"},
    {"one-minus-log-range",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  b: {distribution: one_minus_log_uniform_values, min: 0.9, max: 1.0}\n",
     "sweep.yaml:4:66: parameter 'b': one_minus_log_uniform_values needs 0 < min < max "
     "< 1, got [0.9, 1]"},
    {"param-bad-name",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  2lr: {values: [1]}\n",
     "sweep.yaml:4:3: parameter name '2lr' must start with a letter or '_' and hold "
     "only letters, digits, '_', '.' and '-'"},
    {"param-empty",
     "program: a.py\n"
     "method: random\n"
     "parameters: {}\n",
     "sweep.yaml:3:13: parameters is empty; expected at least one parameter"},
    {"param-nothing",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {}\n",
     "sweep.yaml:4:3: parameter 'lr' says nothing to search; expected values, value, "
     "min and max, a distribution, or nested parameters"},
    {"param-scalar",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: 0.1\n",
     "sweep.yaml:4:7: expected a mapping (key: value lines) for parameter 'lr', got "
     "'0.1'"},
    {"param-unknown-key",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: 0.1, max: 1.0, distrbution: uniform}\n",
     "sweep.yaml:4:28: unknown key 'distrbution' in parameter 'lr'; did you mean 'distribution'?"},
    {"prob-count",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: [relu, tanh], probabilities: [1.0]}\n",
     "sweep.yaml:4:44: 'probabilities' of parameter 'a' must hold one number per value: "
     "expected 2, got 1"},
    {"prob-grid",
     "program: a.py\n"
     "method: grid\n"
     "parameters:\n"
     "  a: {values: [relu, tanh], probabilities: [0.5, 0.5]}\n",
     "sweep.yaml:4:29: parameter 'a': the grid sampler takes every value once, so probabilities "
     "cannot apply (W&B's grid refuses them too)"},
    {"prob-negative",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: [relu, tanh], probabilities: [1.5, -0.5]}\n",
     "sweep.yaml:4:50: 'probabilities' of parameter 'a' must be >= 0, got '-0.5'"},
    {"prob-on-uniform",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: 0.0, max: 1.0, probabilities: [1]}\n",
     "sweep.yaml:4:28: parameter 'lr': distribution 'uniform' takes no 'probabilities' "
     "(it takes min, max and grid_points)"},
    {"prob-sum",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: [relu, tanh], probabilities: [0.5, 0.4]}\n",
     "sweep.yaml:4:44: 'probabilities' of parameter 'a' sum to 0.9; expected 1 (within "
     "1e-5)"},
    {"program-and-objective",
     "program: a.py\n"
     "method: random\n"
     "objective: {data: fashion-mnist}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:1: objective (the built-in trainer) and program cannot both be given: "
     "a trial runs one or the other"},
    {"program-list",
     "program: [a.py]\n"
     "method: random\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:1:10: expected a single value for 'program', got a list"},
    {"pruner-missing",
     "program: a.py\n"
     "method: random\n"
     "metric: {name: loss}\n"
     "pruner: {name: hyperband}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:4:9: pruner 'hyperband' needs the setting 'max_resource'\n"
     "hint: max_resource is the last step a trial reports, e.g. max_resource=100 for "
     "100 epochs"},
    {"q-on-uniform",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: uniform, min: 0.0, max: 1.0, q: 0.1}\n",
     "sweep.yaml:4:51: parameter 'lr': distribution 'uniform' takes no 'q' (it takes "
     "min, max and grid_points); did you mean distribution 'q_uniform'?"},
    {"q-zero",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: q_uniform, min: 0, max: 1, q: 0}\n",
     "sweep.yaml:4:52: 'q' of parameter 'lr' must be > 0, got '0'"},
    {"retries-float",
     "program: a.py\n"
     "method: random\n"
     "retries: 1.5\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:10: expected an integer for 'retries', got '1.5'"},
    {"run-cap",
     "program: a.py\n"
     "method: random\n"
     "run_cap: ten\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:10: expected an integer for 'run_cap', got 'ten'"},
    {"sampler-no-name",
     "program: a.py\n"
     "sampler: {n_startup: 10}\n"
     "metric: {name: loss}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:10: sampler needs a name (sampler: {name: NAME, SETTING: VALUE, ...})"},
    {"sampler-setting",
     "program: a.py\n"
     "sampler: {name: tpe, n_startp: 10}\n"
     "metric: {name: loss}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:22: unknown setting 'n_startp' of sampler 'tpe'; did you mean 'n_startup'?"},
    {"sampler-unknown",
     "program: a.py\n"
     "sampler: tpx\n"
     "metric: {name: loss}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:10: unknown sampler 'tpx'; did you mean 'tpe'?"},
    {"sampler-value",
     "program: a.py\n"
     "sampler: {name: tpe, gamma: 7}\n"
     "metric: {name: loss}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:2:29: setting gamma=7 of sampler 'tpe': expected a number in [0.001, "
     "1]"},
    {"seed-bad",
     "program: a.py\n"
     "method: random\n"
     "seed: -1\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:7: expected an integer in [0, 2^64 - 1] for 'seed', got '-1'"},
    {"sigma-zero",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  w: {distribution: normal, sigma: 0}\n",
     "sweep.yaml:4:36: 'sigma' of parameter 'w' must be > 0, got '0'"},
    {"string-nul",
     "program: \"a\\0b\"\n"
     "method: random\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:1:10: 'program' holds a NUL byte"},
    {"top-list",
     "- program\n"
     "- method\n",
     "sweep.yaml:1:1: expected a mapping (key: value lines) for the sweep file, got "
     "a list"},
    {"two-docs",
     "program: a.py\n"
     "---\n"
     "program: b.py\n",
     "sweep.yaml:3:1: a second YAML document; a sweep file holds one"},
    {"unknown-dist-far",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: zipf, min: 1, max: 9}\n",
     "sweep.yaml:4:22: unknown distribution 'zipf' for parameter 'lr'; expected one "
     "of W&B's (uniform, int_uniform, log_uniform_values, normal, categorical, ...)"},
    {"unknown-dist",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {distribution: log_uniform_value, min: 0.001, max: 0.1}\n",
     "sweep.yaml:4:22: unknown distribution 'log_uniform_value' for parameter 'lr'; "
     "did you mean 'log_uniform_values'?"},
    {"unknown-top-far",
     "program: a.py\n"
     "method: random\n"
     "zzz: 1\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:1: unknown key 'zzz' in the sweep file; expected one of: program, "
     "method, metric, parameters, early_terminate, command, run_cap, entity, project, "
     "name, description, controller, sampler, pruner, budget, jobs, storage, study, "
     "seed, retries, objective, panda"},
    {"unknown-top",
     "program: a.py\n"
     "method: random\n"
     "paramters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:1: unknown key 'paramters' in the sweep file; did you mean 'parameters'?"},
    {"value-and-values",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {value: 1, values: [1, 2]}\n",
     "sweep.yaml:4:18: parameter 'lr' has both value and values; expected one of them"},
    {"values-dup",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: [relu, tanh, relu]}\n",
     "sweep.yaml:4:28: 'values' of parameter 'a' holds 'relu' twice; each value may "
     "appear once"},
    {"values-empty",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: []}\n",
     "sweep.yaml:4:15: 'values' of parameter 'a' is an empty list; expected at least "
     "one value"},
    {"values-mapping",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: [{x: 1}]}\n",
     "sweep.yaml:4:16: expected a number, a string, a boolean or a list of them in 'values' "
     "of parameter 'a', got a mapping"},
    {"values-null",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: [relu, null]}\n",
     "sweep.yaml:4:22: expected a number, a string or a boolean in 'values' of parameter "
     "'a', got nothing (a null)"},
    {"values-scalar",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  a: {values: relu}\n",
     "sweep.yaml:4:15: expected a list for 'values' of parameter 'a' (e.g. [16, 32, "
     "64]), got 'relu'"},
    {"wandb-unsupported",
     "program: a.py\n"
     "method: random\n"
     "scheduler: {engine: optuna}\n"
     "parameters:\n"
     "  x: {values: [1]}\n",
     "sweep.yaml:3:1: 'scheduler' is a W&B key that caviar does not support offline; "
     "remove it"},
    {"yaml-bad-utf8",
     "program: a\xff"".py\n",
     "sweep.yaml:1:11: invalid YAML: invalid leading UTF-8 octet (byte 0xFF); expected "
     "UTF-8 text"},
    {"yaml-syntax",
     "program: a.py\n"
     "method: random\n"
     "parameters:\n"
     "  lr: {min: 1, max: 2\n",
     "sweep.yaml:5:1: invalid YAML: did not find expected ',' or '}' (while parsing "
     "a flow mapping at 4:7)"},
    {"yaml-tab",
     "program: a.py\n"
     "\tmethod: random\n",
     "sweep.yaml:2:1: invalid YAML: found a tab character that violates indentation "
     "(while scanning a plain scalar at 1:10)"},
};

static void test_bad_catalogue(void **state)
{
    (void)state;
    size_t n = sizeof bad / sizeof bad[0];
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        config_sweep s;
        caviar_error err;
        memset(&err, 0, sizeof err);
        memset(&s, 0xA5, sizeof s); /* whatever was there before */
        caviar_status st = config_parse(bad[i].text, strlen(bad[i].text), "sweep.yaml", &s, &err);
        if (st == CAVIAR_OK) {
            config_release(&s);
            fail_msg("'%s': loaded, expected: %s", bad[i].name, bad[i].msg);
        }
        assert_int_equal(st, CAVIAR_EINVAL);
        assert_int_equal(err.status, CAVIAR_EINVAL);
        if (strcmp(err.msg, bad[i].msg) != 0)
            fail_msg("'%s':\n  got      %s\n  expected %s", bad[i].name, err.msg, bad[i].msg);
        assert_true(zeroed(&s));
    }
}

/* ---- limits, and inputs that are not text ---- */

/* A growing text buffer for the generated files below. */
typedef struct text {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = 2 * (t->len + (size_t)n + 1);
        t->buf = realloc(t->buf, t->cap);
        assert_non_null(t->buf);
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void expect_error(const char *data, size_t len, const char *msg)
{
    config_sweep s;
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_status st = config_parse(data, len, "sweep.yaml", &s, &err);
    if (st == CAVIAR_OK) {
        config_release(&s);
        fail_msg("loaded, expected: %s", msg);
    }
    if (strcmp(err.msg, msg) != 0)
        fail_msg("got      %s\nexpected %s", err.msg, msg);
    assert_true(zeroed(&s));
}

static void test_limits(void **state)
{
    (void)state;
    text t = {NULL, 0, 0};

    /* More parameters than allowed: counted across nests. */
    put(&t, "program: p\nmethod: random\nparameters:\n");
    for (int i = 0; i < 600; i++)
        put(&t, "  p%d: {values: [1]}\n", i);
    put(&t, "  nest:\n    parameters:\n");
    for (int i = 0; i < 401; i++)
        put(&t, "      q%d: {values: [1]}\n", i);
    expect_error(t.buf, t.len, "sweep.yaml:1006:7: more than 1000 parameters");

    /* A mapping of too many keys. */
    t.len = 0;
    put(&t, "program: p\nmethod: random\nparameters:\n");
    for (int i = 0; i < 1001; i++)
        put(&t, "  p%d: {values: [1]}\n", i);
    expect_error(t.buf, t.len, "sweep.yaml:4:3: parameters has 1001 keys; at most 1000 are "
                               "allowed");

    /* Too many values. */
    t.len = 0;
    put(&t, "program: p\nmethod: random\nparameters:\n  x:\n    values: [0");
    for (int i = 1; i <= 10000; i++)
        put(&t, ", %d", i);
    put(&t, "]\n");
    expect_error(t.buf, t.len, "sweep.yaml:5:13: 'values' of parameter 'x' has 10001 values; at "
                               "most 10000 are allowed");

    /* A string too long. */
    t.len = 0;
    put(&t, "program: ");
    for (int i = 0; i < 4097; i++)
        put(&t, "a");
    put(&t, "\nmethod: random\nparameters:\n  x: {values: [1]}\n");
    expect_error(t.buf, t.len, "sweep.yaml:1:10: 'program' is 4097 bytes long; at most 4096 are "
                               "allowed");

    /* A file too large. */
    size_t big = CONFIG_MAX_BYTES + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    expect_error(huge, big, "sweep.yaml: the sweep file is 1048577 bytes; at most 1048576 are "
                            "allowed");
    free(huge);

    /* Aliases that repeat a list far beyond what the file holds ("billion laughs"). */
    t.len = 0;
    put(&t, "program: p\nmethod: random\nparameters:\n  a0: {values: &l0 [0");
    for (int i = 1; i < 2000; i++)
        put(&t, ", %d", i);
    put(&t, "]}\n");
    for (int i = 1; i < 1000; i++)
        put(&t, "  a%d: {values: *l0}\n", i);
    expect_error(t.buf, t.len, "sweep.yaml:502:9: the document is too large: more than 1000000 "
                               "nodes to read (aliases that repeat a large part?)");

    /* Deep YAML nesting is refused before libyaml loads it (its scanner would spend time
     * proportional to the depth on each token: a minute for this file). */
    t.len = 0;
    put(&t, "program: ");
    for (int i = 0; i < 100000; i++)
        put(&t, "[");
    for (int i = 0; i < 100000; i++)
        put(&t, "]");
    put(&t, "\nmethod: random\nparameters:\n  x: {values: [1]}\n");
    expect_error(t.buf, t.len, "sweep.yaml:1:41: the YAML is nested more than 32 levels deep");

    /* An alias of an enclosing nest: stopped by the depth of parameters. */
    expect_error("program: p\nmethod: random\nparameters: &top\n  a:\n    parameters: *top\n",
                 strlen("program: p\nmethod: random\nparameters: &top\n  a:\n    parameters: "
                        "*top\n"),
                 "sweep.yaml:5:5: parameters are nested more than 8 levels deep");

    /* NUL bytes and binary: libyaml refuses them with a position. */
    static const char nul[] = "program: a\0b\nmethod: random\n";
    expect_error(nul, sizeof nul - 1, "sweep.yaml:1:11: invalid YAML: control characters are "
                                      "not allowed (byte 0x00); expected UTF-8 text");
    free(t.buf);
}

/* config_load: a missing file, and a real one. */
static void test_load(void **state)
{
    (void)state;
    config_sweep s;
    caviar_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(config_load("/nonexistent/sweep.yaml", &s, &err), CAVIAR_EIO);
    assert_string_equal(err.msg, "cannot open sweep file '/nonexistent/sweep.yaml': No such file "
                                 "or directory");
    assert_true(zeroed(&s));

    char path[] = "/tmp/caviar-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("program: train.py\nmethod: random\nparameters:\n  lr: {min: 1, max: 2.0}\n  x: {}\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &s, &err), CAVIAR_EINVAL);
    char expect[256];
    snprintf(expect, sizeof expect, "%s:5:3: parameter 'x' says nothing to search; expected "
                                    "values, value, min and max, a distribution, or nested "
                                    "parameters", path);
    assert_string_equal(err.msg, expect);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("program: train.py\nmethod: random\nparameters:\n  lr: {min: 1, max: 2.0}\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &s, &err), CAVIAR_OK);
    assert_string_equal(s.path, path);
    config_release(&s);
    /* A file far too large is not read whole. */
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 300000; i++)
        fputs("# comment\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &s, &err), CAVIAR_EINVAL);
    snprintf(expect, sizeof expect, "%s: the sweep file is more than 1048576 bytes long; at "
                                    "most 1048576 are allowed", path);
    assert_string_equal(err.msg, expect);
    assert_true(zeroed(&s));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("program: train.py\nmethod: random\nparameters:\n  lr: {min: 1, max: 2.0}\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &s, &err), CAVIAR_OK);
    assert_float_dist(param(&s, "lr"), CAVIAR_SCALE_LINEAR, 1, 2, 0);
    config_release(&s);
    remove(path);
    config_release(&s); /* twice is fine */
}

/* Every example of examples/sweeps loads. */
static void test_examples(void **state)
{
    (void)state;
    DIR *dir = opendir(EXAMPLES_DIR);
    if (!dir)
        fail_msg("cannot open %s", EXAMPLES_DIR);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, e->d_name);
        config_sweep s;
        caviar_error err;
        memset(&err, 0, sizeof err);
        if (config_load(path, &s, &err) != CAVIAR_OK)
            fail_msg("%s", err.msg);
        assert_true(s.n_params > 0);
        config_release(&s);
        n++;
    }
    closedir(dir);
    assert_true(n >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wandb_top_level),
        cmocka_unit_test(test_wandb_distributions),
        cmocka_unit_test(test_wandb_inference),
        cmocka_unit_test(test_wandb_nested),
        cmocka_unit_test(test_wandb_early_terminate),
        cmocka_unit_test(test_wandb_command),
        cmocka_unit_test(test_caviar_keys),
        cmocka_unit_test(test_grid_rules),
        cmocka_unit_test(test_yaml_forms),
        cmocka_unit_test(test_algorithm_names),
        cmocka_unit_test(test_bad_catalogue),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
