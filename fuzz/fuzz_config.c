/*
 * fuzz_config.c — fuzz target for the sweep file reader, config_parse() (src/config).
 *
 * The input is a sweep file, any bytes (config_parse takes a length: NUL bytes inside are part
 * of it). A failure must be CAVIAR_EINVAL (or CAVIAR_ENOMEM) with a message that starts with
 * the file's name and, for anything found inside the file, its "LINE:COLUMN: " (from 1), and
 * must leave the struct zeroed. A success must hold what config.h promises: a sampler with
 * settings, valid distributions that a study would accept, positions inside the file, limits
 * kept, and a command that is NULL-terminated. Anything else, and any crash, leak or
 * out-of-bounds read, is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caviar.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_config: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

static int zeroed(const config_sweep *s)
{
    static const config_sweep zero;
    return memcmp(s, &zero, sizeof zero) == 0;
}

/* "fuzz.yaml:LINE:COLUMN: " with both numbers from 1, or "fuzz.yaml: " for the whole file. */
static int well_placed(const char *msg)
{
    static const char name[] = "fuzz.yaml:";
    if (strncmp(msg, name, sizeof name - 1) != 0)
        return 0;
    const char *p = msg + sizeof name - 1;
    if (*p == ' ')
        return 1;
    char *end;
    unsigned long line = strtoul(p, &end, 10);
    if (end == p || *end != ':' || line == 0)
        return 0;
    p = end + 1;
    unsigned long column = strtoul(p, &end, 10);
    return end != p && column > 0 && end[0] == ':' && end[1] == ' ' && end[2] != '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config_sweep s;
    caviar_error err;
    memset(&err, 0, sizeof err);
    caviar_status st = config_parse((const char *)data, size, "fuzz.yaml", &s, &err);
    if (st != CAVIAR_OK) {
        CHECK(st == CAVIAR_EINVAL || st == CAVIAR_ENOMEM);
        CHECK(err.status == st && err.msg[0] != '\0');
        if (st == CAVIAR_EINVAL && !well_placed(err.msg))
            fprintf(stderr, "fuzz_config: message without a place: %s\n", err.msg);
        CHECK(st != CAVIAR_EINVAL || well_placed(err.msg));
        CHECK(zeroed(&s));
        return 0;
    }
    CHECK(s.path && strcmp(s.path, "fuzz.yaml") == 0);
    CHECK(s.sampler && s.sampler_settings);
    CHECK(!s.pruner == !s.pruner_settings);
    CHECK(s.n_params <= CONFIG_MAX_PARAMS);
    CHECK(s.n_params > 0 || s.has_objective);
    CHECK(s.program || s.command || s.has_objective);
    CHECK(!(s.has_objective && (s.program || s.command)));
    for (size_t i = 0; i < s.n_params; i++) {
        const objective_param *p = &s.params[i];
        CHECK(caviar_dist_check(&p->dist, p->name, NULL) == CAVIAR_OK);
        CHECK(s.param_pos[i].line >= 1 && s.param_pos[i].column >= 1);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s.params[j].name, p->name) != 0);
    }
    CHECK(!s.command || (s.n_command > 0 && s.command[s.n_command] == NULL));
    for (size_t i = 0; i < s.n_objective; i++)
        CHECK(s.objective[i].key && s.objective[i].value && s.objective[i].value_pos.line >= 1);
    config_release(&s);
    CHECK(zeroed(&s));
    return 0;
}
