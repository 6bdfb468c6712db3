/*
 * fuzz_http.c — fuzz target for caviar dashboard (src/report/dashboard.c): raw bytes sent to a
 * running dashboard as an HTTP request.
 *
 * libmicrohttpd parses the request; the dashboard then reads the method, the path (a study's
 * name, percent-decoded), Host, Accept-Encoding and If-None-Match, and answers from a real
 * study. On the first input the target makes that study (a SQLite database in a temporary
 * directory: trials complete, pruned and failed, with learning curves and an oddly named
 * second study) and starts a dashboard on a free loopback port; every input is then one
 * connection: the bytes written, the write side shut, the answer read up to its status line.
 *
 * Invariants: an answer, when there is one, is an HTTP/1.x status line with a status the
 * dashboard or libmicrohttpd gives (200, 304, 400, 403, 404, 405, 413, 414, 431, 500, 501,
 * 503, 505); a 200 is only ever given to a GET or HEAD; and after every input the dashboard
 * still answers a plain GET / with 200 (it neither crashed, nor hung, nor wedged). Anything
 * else, and any sanitizer report from the server's thread, is a bug.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "caviar.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_http: invariant broken: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

static report_dashboard *dash;
static unsigned port;
static char dir[] = "/tmp/caviar-fuzz-http-XXXXXX";
static char db[sizeof dir + 16];

static void cleanup(void)
{
    report_dashboard_free(dash);
    dash = NULL;
    char path[sizeof db + 8];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", db, suffix[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* A study of 12 trials, some pruned and failed, each with a curve. */
static void make_study(const char *name)
{
    caviar_study_opts o;
    caviar_study_opts_init(&o);
    o.name = name;
    o.storage = db;
    o.seed = 1;
    caviar_error err;
    caviar_study *s = caviar_study_new(&o, &err);
    CHECK(s);
    for (int i = 0; i < 12; i++) {
        caviar_trial *t = caviar_study_ask(s, &err);
        CHECK(t);
        double lr, m;
        CHECK(caviar_trial_suggest_float(t, "lr", 1e-5, 1, CAVIAR_SCALE_LOG, 0, &lr, &err) ==
              CAVIAR_OK);
        CHECK(caviar_trial_suggest_float(t, "momentum", 0.5, 0.999, CAVIAR_SCALE_ONE_MINUS_LOG,
                                         0, &m, &err) == CAVIAR_OK);
        double v = 0;
        for (int e = 1; e <= 4; e++) {
            v = (lr + 1 - m) * 10 / e;
            CHECK(caviar_trial_report(t, e, v, &err) == CAVIAR_OK);
        }
        caviar_trial_state end = i % 4 == 1 ? CAVIAR_TRIAL_PRUNED
                                 : i % 4 == 3 ? CAVIAR_TRIAL_FAIL
                                              : CAVIAR_TRIAL_COMPLETE;
        CHECK(caviar_study_tell(s, t, end, end == CAVIAR_TRIAL_FAIL ? NAN : v, &err) ==
              CAVIAR_OK);
    }
    caviar_study_free(s);
}

static void start(void)
{
    CHECK(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/f.db", dir);
    atexit(cleanup);
    make_study("s");
    make_study("a b/\xc3\xbc<x>&\"");
    report_dashboard_opts o;
    report_dashboard_opts_init(&o);
    o.storage = db;
    o.port = 0;
    o.refresh = 0.1; /* rebuild as soon as anything changes */
    caviar_error err;
    if (report_dashboard_new(&o, &dash, &err) != CAVIAR_OK) {
        fprintf(stderr, "fuzz_http: cannot start the dashboard: %s\n", err.msg);
        abort();
    }
    const char *colon = strrchr(report_dashboard_url(dash), ':');
    CHECK(colon);
    port = (unsigned)atoi(colon + 1);
    CHECK(port > 0);
}

/* Sends data as one connection's bytes and reads the answer's start into buf (NUL-terminated,
 * cut at len - 1), waiting at most wait_ms for it; returns the bytes read. */
static size_t exchange(const uint8_t *data, size_t size, char *buf, size_t len, int wait_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may close early on a bad request */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    /* The status line is all this checks: read until it is complete. libmicrohttpd keeps a
     * connection open after its answers, and one with an incomplete request, until it times
     * out, even once the client has shut its side: so no reading to the end, and wait_ms for
     * the first bytes (the probe waits long: it must be answered). Nothing at all is an answer
     * too. */
    size_t got = 0;
    while (got + 1 < len && !memchr(buf, '\n', got)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, len - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    /* Closed with a reset, so that the server drops the connection at once instead of keeping
     * it until its timeout (they would pile up to its connection limit). */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    return got;
}

static int status_of(const char *answer)
{
    if (strncmp(answer, "HTTP/1.", 7) != 0 || !answer[7] || answer[8] != ' ')
        return -1;
    return atoi(answer + 9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dash)
        start();
    static char answer[1 << 16];
    size_t got = exchange(data, size, answer, sizeof answer, 500);
    if (got) {
        int status = status_of(answer);
        static const int known[] = {200, 304, 400, 403, 404, 405, 413, 414, 431, 500, 501, 503, 505};
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= status == known[i];
        if (!ok)
            fprintf(stderr, "fuzz_http: unexpected answer: %.200s\n", answer);
        CHECK(ok);
        /* Only a read is answered 200. Empty lines before a request line are allowed, and
         * libmicrohttpd reads a method token as a C string: "GET\0\0 /" is a GET to it (and
         * to us, harmlessly: a read). */
        if (status == 200) {
            size_t at = 0;
            while (at < size && (data[at] == '\r' || data[at] == '\n'))
                at++;
            CHECK((size - at >= 3 && memcmp(data + at, "GET", 3) == 0) ||
                  (size - at >= 4 && memcmp(data + at, "HEAD", 4) == 0));
        }
    }
    static const char probe[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    exchange((const uint8_t *)probe, sizeof probe - 1, answer, sizeof answer, 10000);
    CHECK(status_of(answer) == 200);
    return 0;
}
