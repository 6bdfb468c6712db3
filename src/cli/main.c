/*
 * main.c — the caviar command: one dispatch table of subcommands, each in its own cmd_<name>.c.
 * Exit status: 0 success, 1 failure at run time, 2 usage or configuration error.
 */
#include <stdio.h>
#include <string.h>

#include "caviar/common.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"tune", cmd_tune, "run or resume a study with parallel worker processes"},
    {"panda", cmd_panda, "babysit one model: train a day at a time, change, roll back"},
    {"pbt", cmd_pbt, "population-based training: exploit the best, explore around them"},
    {"retest", cmd_retest, "run a study's best configurations again with fresh seeds"},
    {"worker", cmd_worker, "one more worker for a study in a shared database"},
    {"studies", cmd_studies, "list the studies of a database"},
    {"trials", cmd_trials, "show a study's trials (filtered, sorted)"},
    {"best", cmd_best, "show a study's best trial"},
    {"export", cmd_export, "write a study's trials as CSV or JSON"},
    {"enqueue", cmd_enqueue, "queue a trial with given values (warm start)"},
    {"delete", cmd_delete, "delete a study and its trials"},
    {"importance", cmd_importance, "which hyperparameters mattered (fANOVA over a forest)"},
    {"report", cmd_report, "write a study's charts as one self-contained HTML file"},
    {"dashboard", cmd_dashboard, "serve the studies' charts live in a web browser"},
    {"train", cmd_train, "train one network and report its dev and test metrics"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: caviar <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'caviar <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("caviar %s\n", caviar_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "caviar: unknown command '%s'\n", name);
    usage(stderr);
    return CLI_USAGE;
}
