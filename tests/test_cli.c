/*
 * test_cli.c — the caviar command as a user meets it: exit statuses (0 ok, 1 run-time failure,
 * 2 usage), the exact messages for bad options, --help covering every option, --json output,
 * and --save / --resume.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct run_result {
    int status;
    char out[65536];
    char err[8192];
} run_result;

static void slurp(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    lseek(fd, 0, SEEK_SET);
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
}

/* Runs CAVIAR_BINARY with the given arguments (NULL-terminated), capturing both streams. */
static run_result *run(const char *arg, ...)
{
    static run_result r;
    const char *argv[64] = {CAVIAR_BINARY};
    int argc = 1;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char out_path[] = "/tmp/caviar-cli-out-XXXXXX", err_path[] = "/tmp/caviar-cli-err-XXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    assert_true(fo >= 0 && fe >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(fo, r.out, sizeof r.out);
    slurp(fe, r.err, sizeof r.err);
    close(fo);
    close(fe);
    unlink(out_path);
    unlink(err_path);
    return &r;
}

#define assert_contains(hay, needle)                                                           \
    do {                                                                                       \
        if (!strstr((hay), (needle)))                                                          \
            fail_msg("'%s' not found in:\n%s", (needle), (hay));                               \
    } while (0)

static void test_usage_errors(void **state)
{
    (void)state;
    run_result *r = run(NULL);
    assert_int_equal(r->status, 2);
    assert_contains(r->err, "usage: caviar <command>");
    r = run("bogus", NULL);
    assert_int_equal(r->status, 2);
    assert_contains(r->err, "caviar: unknown command 'bogus'");

    static const struct {
        const char *args[4];
        const char *msg;
    } cases[] = {
        {{"--lr", "abc"}, "caviar train: invalid value 'abc' for --lr: expected a number\n"},
        {{"--layers", "256,0"}, "caviar train: invalid value '256,0' for --layers: expected "
                                "comma-separated positive widths such as 256,128, or 'none'\n"},
        {{"--activation", "gelu"}, "caviar train: invalid value 'gelu' for --activation: "
                                   "expected relu, tanh, sigmoid or linear\n"},
        {{"--optimizer", "lbfgs"}, "caviar train: invalid value 'lbfgs' for --optimizer: "
                                   "expected sgd, momentum, rmsprop or adam\n"},
        {{"--batch", "0"}, "caviar train: invalid value '0' for --batch: expected a positive "
                           "whole number\n"},
        {{"--epochs", "-3"}, "caviar train: invalid value '-3' for --epochs: expected a whole "
                             "number\n"},
        {{"--dev-fraction", "1"}, "caviar train: invalid value '1' for --dev-fraction: "
                                  "expected a fraction in [0, 1)\n"},
        {{"--bogus"}, "caviar train: unknown option '--bogus'\n"
                      "hint: 'caviar train --help' lists the options\n"},
        {{"--lr"}, "caviar train: option '--lr' needs a value\n"},
        {{"extra"}, "caviar train: unexpected argument 'extra'\n"},
        {{"--lr", "-1"}, "caviar train: invalid lr -1: must be in (0, inf)\n"},
        {{"--momentum", "1"}, "caviar train: invalid momentum 1: must be in [0, 1)\n"},
        {{"--resume", "x.ckpt", "--layers", "8"},
         "caviar train: --layers, --activation, --batchnorm and --optimizer cannot be combined "
         "with --resume: the architecture comes from the checkpoint\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        r = run("train", a[0], a[1], a[2], a[3], NULL);
        if (r->status != 2 || strcmp(r->err, cases[i].msg) != 0)
            fail_msg("case %zu: status %d, stderr '%s', want '%s'", i, r->status, r->err,
                     cases[i].msg);
    }
}

static void test_help_documents_every_option(void **state)
{
    (void)state;
    run_result *r = run("train", "--help", NULL);
    assert_int_equal(r->status, 0);
    static const char *const opts[] = {
        "--data", "--label", "--test-file", "--task", "--classes", "--dev-fraction",
        "--no-standardize", "--layers", "--activation", "--batchnorm", "--dropout", "--l2",
        "--optimizer", "--lr", "--momentum", "--beta1", "--beta2", "--eps", "--batch",
        "--epochs", "--decay", "--decay-rate", "--decay-step", "--seed", "--threads", "--save",
        "--resume", "--eval-test", "--json", "--quiet", "--help", NULL};
    for (int i = 0; opts[i]; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "  %s ", opts[i]);
        assert_contains(r->out, needle);
    }
    r = run("--help", NULL);
    assert_int_equal(r->status, 0);
    assert_contains(r->out, "train");
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

static void test_json_save_resume(void **state)
{
    (void)state;
    char ckpt[] = "/tmp/caviar-cli-ckpt-XXXXXX";
    int fd = mkstemp(ckpt);
    assert_true(fd >= 0);
    close(fd);
    run_result *r = run("train", "--data", "linear", "--layers", "16", "--activation", "linear",
                        "--lr", "0.01", "--batch", "10", "--epochs", "3", "--json", "--save",
                        ckpt, NULL);
    if (r->status != 0)
        fail_msg("status %d: %s", r->status, r->err);
    assert_int_equal(count_lines(r->out, "{\"epoch\": "), 3);
    assert_contains(r->out, "{\"epoch\": 3, \"steps\": ");
    assert_contains(r->out, "{\"status\": \"ok\", \"epochs\": 3, \"dev_loss\": ");
    assert_contains(r->out, "\"test_rmse\": ");

    r = run("train", "--data", "linear", "--resume", ckpt, "--epochs", "5", NULL);
    if (r->status != 0)
        fail_msg("status %d: %s", r->status, r->err);
    assert_contains(r->out, "resumed after epoch 3");
    assert_int_equal(count_lines(r->out, "epoch "), 2);
    assert_contains(r->out, "final after 5 epochs");
    unlink(ckpt);

    r = run("train", "--resume", "/nonexistent/x.ckpt", "--data", "linear", NULL);
    assert_int_equal(r->status, 1);
    assert_contains(r->err, "cannot open checkpoint '/nonexistent/x.ckpt': No such file");
}

static void test_runtime_failures(void **state)
{
    (void)state;
    run_result *r = run("train", "--data", "/nonexistent/data.csv", NULL);
    assert_int_equal(r->status, 1);
    assert_contains(r->err, "/nonexistent/data.csv");

    r = run("train", "--data", "linear", "--no-standardize", "--layers", "16", "--activation",
            "linear", "--optimizer", "sgd", "--lr", "10", "--epochs", "50", NULL);
    assert_int_equal(r->status, 1);
    assert_contains(r->err, "caviar train: diverged at epoch ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_documents_every_option),
        cmocka_unit_test(test_json_save_resume),
        cmocka_unit_test(test_runtime_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
