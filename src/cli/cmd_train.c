/*
 * cmd_train.c — `caviar train`: load a dataset, build or resume a network, train it with a line
 * (or a JSON object) per epoch, print the final dev and test metrics, optionally save it.
 * All the work is in libcaviar (data, nn); this file parses options and prints.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caviar/nn.h"
#include "cli.h"
#include "util/util.h"

static const char help[] =
    "usage: caviar train [options]\n"
    "\n"
    "Trains one multi-layer perceptron and reports training loss, dev loss and dev accuracy\n"
    "(or RMSE) after every epoch, then the final dev and test metrics.\n"
    "\n"
    "data:\n"
    "  --data SOURCE        fashion-mnist (default), linear, spirals, FILE.csv, or a directory\n"
    "                       of MNIST-layout IDX files (train-images-idx3-ubyte[.gz], ...)\n"
    "  --label COLUMN       CSV: name of the label column (default: the last one)\n"
    "  --test-file FILE     CSV: a separate test file (default: 20% of the rows)\n"
    "  --task KIND          classification or regression (default: guessed from the labels)\n"
    "  --classes K          spirals: number of classes (default 3)\n"
    "  --dev-fraction F     share of the training part held out as dev set (default 1/12)\n"
    "  --no-standardize     keep features (and regression targets) in their original units\n"
    "\n"
    "network:\n"
    "  --layers W1,W2,...   hidden layer widths (default 256,128; 'none' for no hidden layer)\n"
    "  --activation NAME    relu (default), tanh, sigmoid, linear\n"
    "  --batchnorm          batch normalisation after every hidden dense layer\n"
    "  --dropout P          drop probability after each hidden layer (default 0)\n"
    "  --l2 L               L2 weight decay: adds (L/2)·sum W^2 to the loss (default 0)\n"
    "\n"
    "training:\n"
    "  --optimizer NAME     sgd, momentum, rmsprop, adam (default)\n"
    "  --lr A               learning rate (default 1e-3)\n"
    "  --momentum B         momentum beta (default 0.9)\n"
    "  --beta1 B            Adam's first-moment beta (default 0.9)\n"
    "  --beta2 B            Adam's second-moment beta, also RMSprop's decay (default 0.999)\n"
    "  --eps E              Adam/RMSprop epsilon (default 1e-8)\n"
    "  --batch N            mini-batch size (default 128)\n"
    "  --epochs N           train until N epochs are done (default 10)\n"
    "  --decay KIND         none (default), inverse, exponential, step, cosine\n"
    "  --decay-rate R       inverse: a0/(1+R·epoch); exponential: a0·R^epoch; step: factor R\n"
    "  --decay-step N       step decay: epochs per step (default 1)\n"
    "  --seed N             seed of the split, initialisation, shuffling, dropout (default 0)\n"
    "  --threads N          BLAS threads (default 1: results are then bit-identical)\n"
    "\n"
    "checkpoints and output:\n"
    "  --save PATH          save the model (full training state) to PATH after every epoch\n"
    "  --resume PATH        continue from a checkpoint; its architecture is kept, and the\n"
    "                       training options given here replace the saved ones\n"
    "  --eval-test          also evaluate the test set after every epoch\n"
    "  --json               one JSON object per epoch and one for the result, on stdout\n"
    "  --quiet              no progress bar\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 success, 1 failure at run time (including divergence), 2 bad options.\n";

enum {
    O_DATA = 256, O_LABEL, O_TEST_FILE, O_TASK, O_CLASSES, O_DEV, O_NOSTD, O_LAYERS, O_ACT, O_BN,
    O_DROPOUT, O_L2, O_OPT, O_LR, O_MOMENTUM, O_BETA1, O_BETA2, O_EPS, O_BATCH, O_EPOCHS,
    O_DECAY, O_DECAY_RATE, O_DECAY_STEP, O_SEED, O_THREADS, O_SAVE, O_RESUME, O_EVAL_TEST,
    O_JSON, O_QUIET, O_HELP
};

static const struct option long_opts[] = {
    {"data", required_argument, 0, O_DATA},
    {"label", required_argument, 0, O_LABEL},
    {"test-file", required_argument, 0, O_TEST_FILE},
    {"task", required_argument, 0, O_TASK},
    {"classes", required_argument, 0, O_CLASSES},
    {"dev-fraction", required_argument, 0, O_DEV},
    {"no-standardize", no_argument, 0, O_NOSTD},
    {"layers", required_argument, 0, O_LAYERS},
    {"activation", required_argument, 0, O_ACT},
    {"batchnorm", no_argument, 0, O_BN},
    {"dropout", required_argument, 0, O_DROPOUT},
    {"l2", required_argument, 0, O_L2},
    {"optimizer", required_argument, 0, O_OPT},
    {"lr", required_argument, 0, O_LR},
    {"momentum", required_argument, 0, O_MOMENTUM},
    {"beta1", required_argument, 0, O_BETA1},
    {"beta2", required_argument, 0, O_BETA2},
    {"eps", required_argument, 0, O_EPS},
    {"batch", required_argument, 0, O_BATCH},
    {"epochs", required_argument, 0, O_EPOCHS},
    {"decay", required_argument, 0, O_DECAY},
    {"decay-rate", required_argument, 0, O_DECAY_RATE},
    {"decay-step", required_argument, 0, O_DECAY_STEP},
    {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS},
    {"save", required_argument, 0, O_SAVE},
    {"resume", required_argument, 0, O_RESUME},
    {"eval-test", no_argument, 0, O_EVAL_TEST},
    {"json", no_argument, 0, O_JSON},
    {"quiet", no_argument, 0, O_QUIET},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

typedef struct train_cli {
    caviar_data_opts data_opts;
    const char *source;
    caviar_nn_arch arch;
    caviar_nn_hparams hp;
    int hp_set[O_HELP + 1]; /* which training options were given (they override --resume) */
    int arch_given;
    const char *save, *resume;
    int eval_test, json, quiet, threads, progress;
    uint64_t seed;
} train_cli;

static int bad(const char *opt, const char *value, const char *expected)
{
    fprintf(stderr, "caviar train: invalid value '%s' for --%s: expected %s\n", value, opt,
            expected);
    return CLI_USAGE;
}

static int parse_layers(const char *s, caviar_nn_arch *arch)
{
    arch->n_hidden = 0;
    if (strcmp(s, "none") == 0)
        return 0;
    char buf[1024];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t w;
        if (arch->n_hidden == CAVIAR_NN_MAX_HIDDEN || util_parse_size(tok, &w) != 0 || w < 1)
            return -1;
        arch->hidden[arch->n_hidden++] = w;
    }
    return arch->n_hidden > 0 ? 0 : -1;
}

/* Parses argv into c; returns -1 to go on, else an exit status. */
static int parse_args(train_cli *c, int argc, char **argv)
{
    int opt;
    double d;
    size_t z;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        const char *name = opt >= O_DATA ? long_opts[opt - O_DATA].name : "";
        if (opt >= O_DATA)
            c->hp_set[opt] = 1;
        switch (opt) {
        case O_DATA: c->source = optarg; break;
        case O_LABEL: c->data_opts.label = optarg; break;
        case O_TEST_FILE: c->data_opts.test_path = optarg; break;
        case O_TASK:
            if (strcmp(optarg, "classification") == 0)
                c->data_opts.task = CAVIAR_TASK_CLASSIFICATION;
            else if (strcmp(optarg, "regression") == 0)
                c->data_opts.task = CAVIAR_TASK_REGRESSION;
            else
                return bad(name, optarg, "classification or regression");
            break;
        case O_CLASSES:
            if (util_parse_size(optarg, &z) != 0 || z < 2)
                return bad(name, optarg, "an integer of at least 2");
            c->data_opts.n_classes = z;
            break;
        case O_DEV:
            if (util_parse_double(optarg, &d) != 0 || !(d >= 0 && d < 1))
                return bad(name, optarg, "a fraction in [0, 1)");
            c->data_opts.dev_fraction = d;
            break;
        case O_NOSTD: c->data_opts.standardize = 0; break;
        case O_LAYERS:
            if (parse_layers(optarg, &c->arch) != 0)
                return bad(name, optarg, "comma-separated positive widths such as 256,128, or "
                                         "'none'");
            c->arch_given = 1;
            break;
        case O_ACT: {
            int a = caviar_activation_parse(optarg);
            if (a < 0)
                return bad(name, optarg, "relu, tanh, sigmoid or linear");
            c->arch.activation = (caviar_activation)a;
            c->arch_given = 1;
            break;
        }
        case O_BN: c->arch.batchnorm = 1, c->arch_given = 1; break;
        case O_OPT: {
            int o = caviar_optimizer_parse(optarg);
            if (o < 0)
                return bad(name, optarg, "sgd, momentum, rmsprop or adam");
            c->arch.optimizer = (caviar_optimizer)o;
            c->arch_given = 1;
            break;
        }
        case O_DECAY: {
            int k = caviar_decay_parse(optarg);
            if (k < 0)
                return bad(name, optarg, "none, inverse, exponential, step or cosine");
            c->hp.decay = (caviar_decay)k;
            break;
        }
        case O_DROPOUT: case O_L2: case O_LR: case O_MOMENTUM: case O_BETA1: case O_BETA2:
        case O_EPS: case O_DECAY_RATE: {
            if (util_parse_double(optarg, &d) != 0 || !isfinite(d))
                return bad(name, optarg, "a number");
            double *dst = opt == O_DROPOUT ? &c->hp.dropout : opt == O_L2 ? &c->hp.l2
                        : opt == O_LR ? &c->hp.lr : opt == O_MOMENTUM ? &c->hp.momentum
                        : opt == O_BETA1 ? &c->hp.beta1 : opt == O_BETA2 ? &c->hp.beta2
                        : opt == O_EPS ? &c->hp.eps : &c->hp.decay_rate;
            *dst = d;
            break;
        }
        case O_BATCH: case O_EPOCHS: case O_DECAY_STEP: case O_THREADS:
            if (util_parse_size(optarg, &z) != 0 || (z < 1 && opt != O_EPOCHS) || z > 1u << 30)
                return bad(name, optarg, opt == O_EPOCHS ? "a whole number" :
                                                           "a positive whole number");
            if (opt == O_BATCH)
                c->hp.batch_size = z;
            else if (opt == O_EPOCHS)
                c->hp.epochs = z;
            else if (opt == O_DECAY_STEP)
                c->hp.decay_step = z;
            else
                c->threads = (int)z;
            break;
        case O_SEED:
            if (util_parse_u64(optarg, &c->seed) != 0)
                return bad(name, optarg, "a whole number");
            c->data_opts.seed = c->seed;
            break;
        case O_SAVE: c->save = optarg; break;
        case O_RESUME: c->resume = optarg; break;
        case O_EVAL_TEST: c->eval_test = 1; break;
        case O_JSON: c->json = 1; break;
        case O_QUIET: c->quiet = 1; break;
        case 'h':
        case O_HELP: fputs(help, stdout); return CLI_OK;
        case ':':
            fprintf(stderr, "caviar train: option '%s' needs a value\n", argv[optind - 1]);
            return CLI_USAGE;
        default:
            fprintf(stderr, "caviar train: unknown option '%s'\n"
                            "hint: 'caviar train --help' lists the options\n", argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "caviar train: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    if (c->resume && c->arch_given) {
        fprintf(stderr, "caviar train: --layers, --activation, --batchnorm and --optimizer "
                        "cannot be combined with --resume: the architecture comes from the "
                        "checkpoint\n");
        return CLI_USAGE;
    }
    return -1;
}

/* ---- output ---- */

static void on_progress(size_t step, size_t n_steps, double loss, void *user)
{
    train_cli *c = user;
    if (!c->progress)
        return;
    int width = 30, done = (int)((double)width * (double)step / (double)n_steps);
    fprintf(stderr, "\r  [%.*s%*s] %zu/%zu loss %.4f", done, "==============================",
            width - done, "", step, n_steps, loss);
    if (step == n_steps)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void print_eval_json(util_json *j, const char *prefix, const caviar_nn_eval *e)
{
    char key[64];
    snprintf(key, sizeof key, "%s_loss", prefix);
    util_json_num(j, key, e->loss);
    snprintf(key, sizeof key, "%s_%s", prefix, isnan(e->rmse) ? "accuracy" : "rmse");
    util_json_num(j, key, isnan(e->rmse) ? e->accuracy : e->rmse);
}

static void print_eval_text(const char *label, const caviar_nn_eval *e)
{
    if (isnan(e->loss))
        return;
    printf("  %s loss %.4f", label, e->loss);
    if (!isnan(e->accuracy))
        printf("  %s acc %.2f%%", label, 100.0 * e->accuracy);
    if (!isnan(e->rmse))
        printf("  %s rmse %.6g", label, e->rmse);
}

static int on_epoch(caviar_nn *nn, const caviar_nn_epoch_info *info, void *user)
{
    train_cli *c = user;
    if (c->json) {
        util_json j;
        util_json_begin(&j, stdout);
        util_json_int(&j, "epoch", (long long)info->epoch);
        util_json_int(&j, "steps", (long long)info->steps);
        util_json_num(&j, "lr", info->lr);
        util_json_num(&j, "train_loss", info->train_loss);
        print_eval_json(&j, "dev", &info->dev);
        if (c->eval_test)
            print_eval_json(&j, "test", &info->test);
        util_json_num(&j, "seconds", info->seconds);
        util_json_end(&j);
    } else {
        printf("epoch %3zu  lr %.3g  train loss %.4f", info->epoch, info->lr, info->train_loss);
        print_eval_text("dev", &info->dev);
        if (c->eval_test)
            print_eval_text("test", &info->test);
        printf("  %.1fs\n", info->seconds);
        fflush(stdout);
    }
    if (c->save) {
        caviar_error err;
        if (caviar_nn_save(nn, c->save, &err) != CAVIAR_OK) {
            fprintf(stderr, "caviar train: %s\n", err.msg);
            return CAVIAR_NN_STOP;
        }
    }
    return CAVIAR_NN_CONTINUE;
}

/* With --resume, the saved hyperparameters stay unless an option replaced them. */
static void merge_hparams(const train_cli *c, caviar_nn_hparams *hp)
{
    static const struct {
        int opt;
        size_t off, len;
    } fields[] = {
#define F(o, f) {o, offsetof(caviar_nn_hparams, f), sizeof(((caviar_nn_hparams *)0)->f)}
        F(O_LR, lr), F(O_MOMENTUM, momentum), F(O_BETA1, beta1), F(O_BETA2, beta2),
        F(O_EPS, eps), F(O_BATCH, batch_size), F(O_EPOCHS, epochs), F(O_DECAY, decay),
        F(O_DECAY_RATE, decay_rate), F(O_DECAY_STEP, decay_step), F(O_DROPOUT, dropout),
        F(O_L2, l2),
#undef F
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (c->hp_set[fields[i].opt])
            memcpy((char *)hp + fields[i].off, (const char *)&c->hp + fields[i].off,
                   fields[i].len);
}

int cmd_train(int argc, char **argv)
{
    train_cli c;
    memset(&c, 0, sizeof c);
    caviar_data_opts_init(&c.data_opts);
    caviar_nn_arch_init(&c.arch);
    caviar_nn_hparams_init(&c.hp);
    c.arch.n_hidden = 2;
    c.arch.hidden[0] = 256;
    c.arch.hidden[1] = 128;
    c.source = "fashion-mnist";
    c.threads = 1;
    int rc = parse_args(&c, argc, argv);
    if (rc >= 0)
        return rc;

    caviar_error err;
    if (caviar_nn_hparams_check(&c.hp, &err) != CAVIAR_OK) {
        fprintf(stderr, "caviar train: %s\n", err.msg);
        return CLI_USAGE;
    }
    caviar_nn_set_threads(c.threads);
    c.progress = !c.quiet && !c.json && isatty(STDERR_FILENO);

    caviar_data *data = caviar_data_load(c.source, &c.data_opts, &err);
    if (!data) {
        fprintf(stderr, "caviar train: %s\n", err.msg);
        return err.status == CAVIAR_EINVAL ? CLI_USAGE : CLI_FAILURE;
    }
    caviar_nn *nn = NULL;
    rc = CLI_FAILURE;
    if (c.resume) {
        nn = caviar_nn_load(c.resume, &err);
        caviar_nn_hparams hp;
        if (nn) {
            hp = *caviar_nn_get_hparams(nn);
            merge_hparams(&c, &hp);
            if (caviar_nn_set_hparams(nn, &hp, &err) != CAVIAR_OK) {
                rc = CLI_USAGE;
                goto fail;
            }
        }
    } else {
        c.arch.n_inputs = data->n_features;
        c.arch.task = data->task;
        c.arch.n_outputs = data->task == CAVIAR_TASK_CLASSIFICATION ? data->n_classes
                                                                     : data->n_targets;
        nn = caviar_nn_new(&c.arch, &c.hp, c.seed, &err);
    }
    if (!nn)
        goto fail;

    const caviar_nn_arch *arch = caviar_nn_get_arch(nn);
    if (!c.json) {
        printf("data %s: %zu train, %zu dev, %zu test, %zu features, ", data->name,
               data->train.n, data->dev.n, data->test.n, data->n_features);
        if (data->task == CAVIAR_TASK_CLASSIFICATION)
            printf("%zu classes\n", data->n_classes);
        else
            printf("regression\n");
        printf("network %zu", arch->n_inputs);
        for (size_t l = 0; l < arch->n_hidden; l++)
            printf("-%zu", arch->hidden[l]);
        printf("-%zu %s%s, %s, %zu parameters", arch->n_outputs,
               caviar_activation_name(arch->activation), arch->batchnorm ? " + batchnorm" : "",
               caviar_optimizer_name(arch->optimizer), caviar_nn_n_params(nn));
        if (caviar_nn_epoch(nn) > 0)
            printf(", resumed after epoch %zu", caviar_nn_epoch(nn));
        printf("\n");
    }

    caviar_nn_train_opts opts = {
        .dev = &data->dev, .test = &data->test, .eval_test = c.eval_test,
        .target_std = data->target_std, .on_epoch = on_epoch, .on_progress = on_progress,
        .user = &c,
    };
    caviar_nn_result res;
    caviar_status st = caviar_nn_train(nn, &data->train, &opts, &res, &err);
    if (c.progress)
        fputs("\r\033[K", stderr);
    if (st != CAVIAR_OK && st != CAVIAR_STOPPED) {
        if (c.json) {
            util_json j;
            util_json_begin(&j, stdout);
            util_json_str(&j, "status", caviar_status_str(st));
            util_json_str(&j, "error", err.msg);
            if (st == CAVIAR_DIVERGED) {
                util_json_int(&j, "diverged_epoch", (long long)res.diverged_epoch);
                util_json_int(&j, "diverged_step", (long long)res.diverged_step);
            }
            util_json_end(&j);
        }
        goto fail;
    }

    caviar_nn_eval dev, test;
    if (caviar_nn_evaluate(nn, &data->dev, data->target_std, &dev, &err) != CAVIAR_OK ||
        caviar_nn_evaluate(nn, &data->test, data->target_std, &test, &err) != CAVIAR_OK)
        goto fail;
    if (c.json) {
        util_json j;
        util_json_begin(&j, stdout);
        util_json_str(&j, "status", "ok");
        util_json_int(&j, "epochs", (long long)caviar_nn_epoch(nn));
        print_eval_json(&j, "dev", &dev);
        print_eval_json(&j, "test", &test);
        util_json_num(&j, "seconds", res.seconds);
        util_json_end(&j);
    } else {
        printf("final after %zu epoch%s (%.1fs):", caviar_nn_epoch(nn),
               caviar_nn_epoch(nn) == 1 ? "" : "s", res.seconds);
        print_eval_text("dev", &dev);
        print_eval_text("test", &test);
        printf("\n");
    }
    rc = CLI_OK;
    caviar_nn_free(nn);
    caviar_data_free(data);
    return rc;

fail:
    fprintf(stderr, "caviar train: %s\n", err.msg);
    caviar_nn_free(nn);
    caviar_data_free(data);
    return rc;
}
