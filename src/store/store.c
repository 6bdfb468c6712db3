/*
 * store.c — choosing a back-end for a storage string, showing storage strings safely, and the
 * words of a read-only store's refusals.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"

static const store_type *const back_ends[] = {&store_memory, &store_postgres, &store_sqlite,
                                              NULL};

const store_type *store_find(const char *url)
{
    for (int i = 0; back_ends[i]; i++)
        if (back_ends[i]->accepts(url))
            return back_ends[i];
    return NULL;
}

/* A URL's password sits between the ':' after the user and the '@' before the host
 * ("postgresql://user:secret@host/db"); a key=value connection string may carry one as
 * "password=secret". Both are masked; nothing else is changed. */
const char *store_redact(const char *url, char *buf, size_t len)
{
    if (!len)
        return buf;
    if (!url) {
        snprintf(buf, len, ":memory:");
        return buf;
    }
    snprintf(buf, len, "%s", url);
    char *scheme = strstr(buf, "://");
    if (scheme) {
        char *auth = scheme + 3;
        char *end = auth + strcspn(auth, "/?#");
        char *at = NULL;
        for (char *p = auth; p < end; p++)
            if (*p == '@')
                at = p; /* the last '@' before the path ends the user information */
        if (at) {
            char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                size_t tail = strlen(at) + 1;
                if ((size_t)(colon + 4 - buf) + tail <= len) {
                    memmove(colon + 4, at, tail);
                    memcpy(colon + 1, "***", 3);
                }
            }
        }
    }
    /* password=... in a query string or a key=value string */
    for (char *p = strstr(buf, "password="); p; p = strstr(p + 1, "password=")) {
        if (p != buf && p[-1] != '?' && p[-1] != '&' && p[-1] != ' ')
            continue;
        char *v = p + 9;
        size_t n = strcspn(v, "& ");
        if (n >= 3) {
            memcpy(v, "***", 3);
            memmove(v + 3, v + n, strlen(v + n) + 1);
        } else {
            size_t tail = strlen(v + n) + 1;
            if ((size_t)(v + 3 - buf) + tail <= len) {
                memmove(v + 3, v + n, tail);
                memcpy(v, "***", 3);
            }
        }
    }
    return buf;
}

caviar_status store_refuse_write(const char *shown, const char *what, caviar_error *err)
{
    return util_err(err, CAVIAR_EINVAL, "%s is open read-only: cannot %s", shown, what);
}

const char *store_describe(const char *name, const char *settings, const char *fallback,
                           char *buf, size_t len)
{
    if (!name)
        name = fallback;
    if (settings && *settings)
        snprintf(buf, len, "%s:%s", name, settings);
    else
        snprintf(buf, len, "%s", name);
    return buf;
}
