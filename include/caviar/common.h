/*
 * caviar/common.h — status codes and error reports shared by every part of libcaviar.
 *
 * Every fallible function returns a caviar_status (CAVIAR_OK is 0) and, when the caller passes
 * a caviar_error, writes one message into it that says what failed first, quoting the subject:
 *   cannot open 'train.csv': No such file or directory
 * followed, when the fix is known, by a line starting with "hint: ". The library never calls
 * exit() or abort() for anything a user or the environment can cause.
 *
 * Ownership: a caviar_error is a plain struct owned by the caller (usually on the stack); no
 * function allocates or frees it. Passing NULL means "I do not want the message".
 */
#ifndef CAVIAR_COMMON_H
#define CAVIAR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum caviar_status {
    CAVIAR_OK = 0,
    CAVIAR_ENOMEM,   /* an allocation failed */
    CAVIAR_EINVAL,   /* an argument or setting is out of its domain (a usage error) */
    CAVIAR_EIO,      /* a file could not be opened, read or written */
    CAVIAR_EFORMAT,  /* a file's contents are malformed (the message names file and offset) */
    CAVIAR_EMISSING, /* something the request needs is not installed or does not exist */
    CAVIAR_DIVERGED, /* training produced a NaN or infinite loss */
    CAVIAR_STOPPED   /* a callback asked to stop; not a failure */
} caviar_status;

#define CAVIAR_ERRMSG_LEN 1024

typedef struct caviar_error {
    caviar_status status;
    char msg[CAVIAR_ERRMSG_LEN];
} caviar_error;

/* A short name for a status ("out of memory", "malformed input", ...). Never NULL. */
const char *caviar_status_str(caviar_status status);

/* The library's version string, "MAJOR.MINOR.PATCH". */
const char *caviar_version(void);

#ifdef __cplusplus
}
#endif
#endif
