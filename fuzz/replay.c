/*
 * replay.c — a main() for a fuzz target without libFuzzer: every file of the directories (or
 * the files) named on the command line goes to LLVMFuzzerTestOneInput(), each in a buffer of
 * exactly its size so that the sanitizers see any read past the end. ctest uses it to replay
 * the seed corpus with any compiler. A broken invariant aborts inside the target; finding no
 * input at all is an error too, so a misplaced corpus cannot pass silently.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; returns 0, or -1 if it cannot be read. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "cannot read '%s'\n", path);
        free(buf);
        return -1;
    }
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    size_t n_run = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0) {
            fprintf(stderr, "cannot open '%s': %s\n", argv[a], strerror(errno));
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[a]) != 0)
                return 1;
            n_run++;
            continue;
        }
        DIR *dir = opendir(argv[a]);
        if (!dir) {
            fprintf(stderr, "cannot open '%s': %s\n", argv[a], strerror(errno));
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
                continue;
            if (run_file(path) != 0) {
                closedir(dir);
                return 1;
            }
            n_run++;
        }
        closedir(dir);
    }
    if (n_run == 0) {
        fprintf(stderr, "no inputs found in the given paths\n");
        return 1;
    }
    printf("%zu inputs replayed\n", n_run);
    return 0;
}
