/*
 * cli.h — what the subcommands of the caviar command share: their entry points and exit codes.
 */
#ifndef CAVIAR_CLI_H
#define CAVIAR_CLI_H

enum { CLI_OK = 0, CLI_FAILURE = 1, CLI_USAGE = 2 };

/* Each takes the arguments after "caviar" (argv[0] is the command's name). */
int cmd_train(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_worker(int argc, char **argv);

#endif
