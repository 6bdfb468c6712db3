/*
 * dashboard.c — caviar dashboard: the report's pages served live from a study database.
 *
 * GNU libmicrohttpd runs the server in one thread of its own (MHD_USE_INTERNAL_POLLING_THREAD):
 * every request is answered in that thread, one at a time, so the state below (the open
 * studies and their built responses) needs no lock. The pages are the report's: the same
 * script (report_page.js) draws the same charts from the same JSON document
 * (report_json_write), but instead of reading it from the page it fetches it from
 * /api/study/NAME and asks again every refresh seconds with the ETag it holds; the answer is
 * 304 until the study's history changes.
 *
 * A study's JSON is built once per change of its history (caviar_study_version after
 * caviar_study_refresh, which reads only what changed) and kept as two libmicrohttpd responses,
 * plain and gzip; a response is reference-counted by libmicrohttpd, so one being sent survives
 * its replacement. Building costs what the report costs (a 10,000-trial study: 0.2-1.6 s), so a
 * study that keeps changing is rebuilt at most every max(refresh, 3 x the last build's time)
 * seconds; in between the last build is served.
 *
 * Read-only in every way: the catalogue connection (list and count the studies) and every
 * study are opened read-only (store open_read_only, caviar_study_opts.read_only), and only GET
 * and HEAD are answered. While bound to a loopback address the server answers only requests
 * whose Host header is a loopback name: otherwise a page from anywhere on the web could read
 * the studies by pointing a name of its own at 127.0.0.1 (DNS rebinding).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "report/report.h"
#include "report/report_impl.h"
#include "store/store.h"
#include "util/util.h"

/* Every response carries these: the pages load only their own scripts and data. ECharts sets
 * styles from script (allowed) and saves charts as data: images. */
#define CSP                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "              \
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "        \
    "frame-ancestors 'none'"

/* The assets are cached by the browser for a day, then revalidated by their ETag (a hash of
 * their content: another caviar's differ). */
#define ASSET_CACHE "max-age=86400"

typedef struct dstudy {
    char *name;
    caviar_study *s;
    caviar_direction direction;
    char sampler[512], pruner[512];
    int built;                       /* json holds a build */
    uint64_t built_version;          /* the history version it was built from */
    double built_at, build_seconds;  /* when, and how long it took */
    double refreshed_at, used_at;
    struct MHD_Response *json, *json_gz;
    char etag[64];
} dstudy;

/* A file of the pages (ECharts, the script, the style), plain and gzip. */
typedef struct asset {
    const char *path, *type;
    struct MHD_Response *plain, *gz;
    char etag[64];
} asset;

struct report_dashboard {
    report_dashboard_opts o;
    char *storage, *bind;
    char shown[512];
    char url[128];
    const store_type *type;
    store *st;                       /* the catalogue: read-only */
    struct MHD_Daemon *mhd;
    int loopback;                    /* bound to a loopback address: check Host */
    uint64_t salt;                   /* this run's: ETags of another run never match */
    dstudy *studies;                 /* the open ones, at most o.max_open */
    size_t n_studies;
    asset assets[3];
};

void report_dashboard_opts_init(report_dashboard_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bind = "127.0.0.1";
    o->port = 8080;
    o->refresh = 2;
    o->max_open = 8;
    report_html_opts_init(&o->html);
}

const char *report_dashboard_url(const report_dashboard *d)
{
    return d->url;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((format(printf, 2, 3))) static void logf_(const report_dashboard *d,
                                                        const char *fmt, ...)
{
    if (!d->o.log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("caviar dashboard: ", d->o.log);
    vfprintf(d->o.log, fmt, ap);
    fputc('\n', d->o.log);
    fflush(d->o.log);
    va_end(ap);
}

/* 64-bit FNV-1a, for ETags of content. */
static uint64_t fnv(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- responses ----------------------------------------------------------------------------- */

/* data[0 .. len) gzip-compressed into a malloc'd buffer; NULL when out of memory. */
static unsigned char *gzip(const void *data, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip wants. */
    if (deflateInit2(&z, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* The headers of every answer; type NULL for none (a 304). */
static void common_headers(struct MHD_Response *r, const char *type)
{
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

/* A response holding buf (malloc'd; taken over, also on failure), and its gzip twin when the
 * body is worth compressing (*gz NULL otherwise). */
static struct MHD_Response *make_pair(char *buf, size_t len, const char *type, const char *etag,
                                      const char *cache, struct MHD_Response **gz)
{
    *gz = NULL;
    size_t zlen = 0;
    unsigned char *zbuf = len >= 1024 ? gzip(buf, len, &zlen) : NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(buf);
        free(zbuf);
        return NULL;
    }
    common_headers(r, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    if (etag)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    if (zbuf) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        *gz = MHD_create_response_from_buffer(zlen, zbuf, MHD_RESPMEM_MUST_FREE);
        if (!*gz) {
            free(zbuf);
        } else {
            common_headers(*gz, type);
            MHD_add_response_header(*gz, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
            MHD_add_response_header(*gz, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
            MHD_add_response_header(*gz, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
            if (etag)
                MHD_add_response_header(*gz, MHD_HTTP_HEADER_ETAG, etag);
        }
    }
    return r;
}

/* Whether the client takes gzip: Accept-Encoding names it (or *) with a weight above 0. */
static int takes_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_ACCEPT_ENCODING);
    for (const char *p = ae; p && *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ;,");
        int match = (n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 1 && *p == '*');
        const char *end = p + strcspn(p, ",");
        const char *q = strstr(p, "q=");
        if (match)
            return !(q && q < end && strtod(q + 2, NULL) <= 0);
        p = end;
    }
    return 0;
}

/* Whether If-None-Match names etag. */
static int not_modified(struct MHD_Connection *c, const char *etag)
{
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    return inm && etag && (strstr(inm, etag) || strcmp(inm, "*") == 0);
}

/* Not modified: the headers a 200 would carry but its body's (a client updates its cached
 * copy's headers from these; libmicrohttpd 0.9.75 adds "Content-Length: 0" all the same). */
static enum MHD_Result send_304(struct MHD_Connection *c, const char *etag, const char *cache)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    common_headers(r, NULL);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, r);
    MHD_destroy_response(r);
    return ret;
}

/* A built pair: 304 when the client holds it, else the encoding it takes. */
static enum MHD_Result send_pair(struct MHD_Connection *c, struct MHD_Response *plain,
                                 struct MHD_Response *gz, const char *etag, const char *cache)
{
    if (etag && not_modified(c, etag))
        return send_304(c, etag, cache);
    return MHD_queue_response(c, MHD_HTTP_OK, gz && takes_gzip(c) ? gz : plain);
}

/* A one-off response of a memstream's buffer (taken over). */
static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, char *buf, size_t len,
                                const char *type, const char *etag)
{
    if (!buf)
        return MHD_NO;
    if (status == MHD_HTTP_OK && etag && not_modified(c, etag)) {
        free(buf);
        return send_304(c, etag, "no-cache");
    }
    struct MHD_Response *gz = NULL;
    struct MHD_Response *r = make_pair(buf, len, type, etag, "no-cache", &gz);
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, status, gz && takes_gzip(c) ? gz : r);
    MHD_destroy_response(r);
    if (gz)
        MHD_destroy_response(gz);
    return ret;
}

/* An error as JSON ({"error": "..."}) or as a small page. */
__attribute__((format(printf, 4, 5))) static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, int json, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    if (json) {
        fputs("{\"error\":", f);
        report_json_str(f, msg);
        fputs("}\n", f);
    } else {
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
              "caviar dashboard</title>\n<link rel=\"stylesheet\" href=\"/assets/report.css\">\n"
              "</head>\n<body>\n<div id=\"app\"><h1>caviar dashboard</h1>\n<p class=\"error\">",
              f);
        report_html_text(f, msg);
        fputs("</p>\n<p><a href=\"/\">All studies</a></p></div>\n</body>\n</html>\n", f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(buf);
        return MHD_NO;
    }
    common_headers(r, json ? "application/json" : "text/html; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the studies --------------------------------------------------------------------------- */

static void dstudy_close(dstudy *ds)
{
    free(ds->name);
    caviar_study_free(ds->s);
    if (ds->json)
        MHD_destroy_response(ds->json);
    if (ds->json_gz)
        MHD_destroy_response(ds->json_gz);
    memset(ds, 0, sizeof *ds);
}

static void drop_study(report_dashboard *d, size_t i)
{
    dstudy_close(&d->studies[i]);
    d->studies[i] = d->studies[--d->n_studies];
}


/* The open study of that name, opening it (and closing the least recently used one beyond
 * max_open) when needed; NULL with err (CAVIAR_EMISSING: no such study). */
static dstudy *study_get(report_dashboard *d, const char *name, caviar_error *err)
{
    for (size_t i = 0; i < d->n_studies; i++)
        if (strcmp(d->studies[i].name, name) == 0) {
            d->studies[i].used_at = now_mono();
            return &d->studies[i];
        }
    store_study info;
    memset(&info, 0, sizeof info);
    if (d->type->load_study(d->st, name, &info, err) != CAVIAR_OK)
        return NULL;
    caviar_study_opts so;
    caviar_study_opts_init(&so);
    so.name = name;
    so.storage = d->storage;
    so.read_only = 1;
    caviar_study *s = caviar_study_new(&so, err);
    if (!s) {
        store_study_release(&info);
        return NULL;
    }
    if (d->n_studies >= d->o.max_open) {
        size_t lru = 0;
        for (size_t i = 1; i < d->n_studies; i++)
            if (d->studies[i].used_at < d->studies[lru].used_at)
                lru = i;
        drop_study(d, lru);
    }
    dstudy *ds = &d->studies[d->n_studies];
    memset(ds, 0, sizeof *ds);
    ds->name = strdup(name);
    if (!ds->name) {
        caviar_study_free(s);
        store_study_release(&info);
        util_err(err, CAVIAR_ENOMEM, "out of memory");
        return NULL;
    }
    d->n_studies++;
    ds->s = s;
    ds->direction = info.direction;
    store_describe(info.sampler, info.sampler_settings, "random", ds->sampler,
                   sizeof ds->sampler);
    store_describe(info.pruner, info.pruner_settings, "none", ds->pruner, sizeof ds->pruner);
    ds->refreshed_at = ds->used_at = now_mono();
    store_study_release(&info);
    return ds;
}

/* Builds the study's JSON responses from its history as it is now. */
static caviar_status study_build(report_dashboard *d, dstudy *ds, caviar_error *err)
{
    double t0 = now_mono();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    report_html_opts ho = d->o.html;
    ho.title = ds->name;
    ho.direction = ds->direction;
    ho.sampler = ds->sampler;
    ho.pruner = ds->pruner;
    ho.storage = d->shown;
    uint64_t version = caviar_study_version(ds->s);
    caviar_status st = report_json_write(ds->s, &ho, f, err);
    if (fclose(f) != 0 && st == CAVIAR_OK)
        st = util_err(err, CAVIAR_ENOMEM, "out of memory");
    if (st != CAVIAR_OK) {
        free(buf);
        return st;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"s%016llx-%llu\"", (unsigned long long)d->salt,
             (unsigned long long)version);
    struct MHD_Response *gz = NULL;
    struct MHD_Response *r = make_pair(buf, len, "application/json", etag, "no-cache", &gz);
    if (!r)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    if (ds->json)
        MHD_destroy_response(ds->json);
    if (ds->json_gz)
        MHD_destroy_response(ds->json_gz);
    ds->json = r;
    ds->json_gz = gz;
    memcpy(ds->etag, etag, sizeof etag);
    ds->built = 1;
    ds->built_version = version;
    ds->built_at = now_mono();
    ds->build_seconds = ds->built_at - t0;
    return CAVIAR_OK;
}

/* The study's JSON, brought up to date as far as the rebuild pace allows. */
static enum MHD_Result serve_study_json(report_dashboard *d, struct MHD_Connection *c,
                                        const char *name)
{
    caviar_error err = {0};
    dstudy *ds = study_get(d, name, &err);
    if (!ds && err.status == CAVIAR_EMISSING)
        return send_error(c, MHD_HTTP_NOT_FOUND, 1, "there is no study '%s' in %s", name,
                          d->shown);
    if (!ds) {
        logf_(d, "cannot read study '%s': %s", name, err.msg);
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "cannot read study '%s': %s",
                          name, err.msg);
    }
    double now = now_mono();
    if (!ds->built || now - ds->refreshed_at >= 0.2) {
        if (caviar_study_refresh(ds->s, &err) != CAVIAR_OK) {
            /* Deleted (and perhaps created again under the same name): open it afresh. */
            size_t i = (size_t)(ds - d->studies);
            drop_study(d, i);
            caviar_error err2 = {0};
            ds = study_get(d, name, &err2);
            if (!ds && err2.status == CAVIAR_EMISSING)
                return send_error(c, MHD_HTTP_NOT_FOUND, 1, "study '%s' is no longer in %s",
                                  name, d->shown);
            if (!ds || caviar_study_refresh(ds->s, &err2) != CAVIAR_OK) {
                logf_(d, "cannot read study '%s': %s", name, err.msg);
                return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1,
                                  "cannot read study '%s': %s", name, err.msg);
            }
        }
        ds->refreshed_at = now;
    }
    double pace = fmax(d->o.refresh, 3 * ds->build_seconds);
    if (!ds->built ||
        (caviar_study_version(ds->s) != ds->built_version && now - ds->built_at >= pace)) {
        if (study_build(d, ds, &err) != CAVIAR_OK) {
            logf_(d, "cannot draw study '%s': %s", name, err.msg);
            if (!ds->built)
                return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, 1,
                                  "cannot draw study '%s': %s", name, err.msg);
        }
    }
    return send_pair(c, ds->json, ds->json_gz, ds->etag, "no-cache");
}

/* ---- the index ----------------------------------------------------------------------------- */

/* A path of the server for a study: prefix and the name percent-encoded. */
static void study_path(FILE *f, const char *prefix, const char *name)
{
    fputs(prefix, f);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* The path as a string (for JSON): into a malloc'd buffer; NULL when out of memory. */
static char *study_path_str(const char *prefix, const char *name)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    study_path(f, prefix, name);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void iso_time(FILE *f, double t)
{
    if (!(t > 0) || !isfinite(t)) {
        fputs("null", f);
        return;
    }
    time_t secs = (time_t)t;
    struct tm tm;
    char text[40];
    if (!gmtime_r(&secs, &tm) || !strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        fputs("null", f);
        return;
    }
    report_json_str(f, text);
}

static enum MHD_Result serve_index_json(report_dashboard *d, struct MHD_Connection *c)
{
    caviar_error err = {0};
    store_study_list list;
    if (d->type->list_studies(d->st, &list, &err) != CAVIAR_OK) {
        store_study_list_release(&list);
        logf_(d, "cannot list the studies: %s", err.msg);
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "cannot list the studies of %s: %s",
                          d->shown, err.msg);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        store_study_list_release(&list);
        return MHD_NO;
    }
    fputs("{\"storage\":", f);
    report_json_str(f, d->shown);
    fputs(",\"caviar\":", f);
    report_json_str(f, caviar_version());
    fputs(",\"studies\":[", f);
    caviar_status st = CAVIAR_OK;
    for (size_t i = 0; i < list.n && st == CAVIAR_OK; i++) {
        const store_study *info = &list.studies[i];
        store_counts n;
        if ((st = d->type->count(d->st, info->id, &n, &err)) != CAVIAR_OK)
            break;
        char sampler[512], pruner[512];
        fputs(i ? ",\n{\"name\":" : "\n{\"name\":", f);
        report_json_str(f, info->name);
        fputs(",\"url\":", f);
        char *path = study_path_str("/study/", info->name);
        report_json_str(f, path ? path : "/");
        free(path);
        fprintf(f, ",\"direction\":\"%s\",\"sampler\":",
                info->direction == CAVIAR_MAXIMIZE ? "maximize" : "minimize");
        report_json_str(f, store_describe(info->sampler, info->sampler_settings, "random", sampler,
                                          sizeof sampler));
        fputs(",\"pruner\":", f);
        report_json_str(f, store_describe(info->pruner, info->pruner_settings, "none", pruner,
                                          sizeof pruner));
        uint64_t total = 0;
        for (int k = 0; k < 5; k++)
            total += n.n[k];
        fprintf(f, ",\"trials\":%llu,\"waiting\":%llu,\"running\":%llu,\"complete\":%llu,"
                   "\"pruned\":%llu,\"fail\":%llu,\"best\":",
                (unsigned long long)total, (unsigned long long)n.n[CAVIAR_TRIAL_WAITING],
                (unsigned long long)n.n[CAVIAR_TRIAL_RUNNING],
                (unsigned long long)n.n[CAVIAR_TRIAL_COMPLETE],
                (unsigned long long)n.n[CAVIAR_TRIAL_PRUNED],
                (unsigned long long)n.n[CAVIAR_TRIAL_FAIL]);
        if (n.has_best) {
            fprintf(f, "{\"trial\":%llu,\"value\":", (unsigned long long)n.best_trial);
            report_json_num(f, n.best_value);
            fputc('}', f);
        } else {
            fputs("null", f);
        }
        fputs(",\"last\":", f);
        iso_time(f, n.last_time);
        fputc('}', f);
    }
    fputs("]}\n", f);
    store_study_list_release(&list);
    if (fclose(f) != 0 || st != CAVIAR_OK) {
        free(buf);
        if (st != CAVIAR_OK) {
            logf_(d, "cannot count the trials: %s", err.msg);
            return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1,
                              "cannot count the trials of %s: %s", d->shown, err.msg);
        }
        return MHD_NO;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"i%016llx\"",
             (unsigned long long)fnv(buf, len, 14695981039346656037ull ^ d->salt));
    return send_buf(c, MHD_HTTP_OK, buf, len, "application/json", etag);
}

/* ---- pages --------------------------------------------------------------------------------- */

/* A page of the dashboard: the report's style, ECharts and script from /assets, and what the
 * script is to draw (mode "index" or "study", from the JSON at api). */
static enum MHD_Result serve_page(report_dashboard *d, struct MHD_Connection *c,
                                  const char *title, const char *mode, const char *api)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"caviar dashboard\">\n<title>",
          f);
    report_html_text(f, title);
    fputs(" · caviar dashboard</title>\n"
          "<link rel=\"stylesheet\" href=\"/assets/report.css\">\n"
          "<script src=\"/assets/echarts.min.js\"></script>\n</head>\n<body>\n"
          "<div id=\"live\" class=\"live\"></div>\n"
          "<div id=\"app\"><noscript>The dashboard draws its charts with JavaScript: allow "
          "scripts for this page.</noscript></div>\n"
          "<pre id=\"caviar-check\" hidden></pre>\n"
          "<script type=\"application/json\" id=\"caviar-live\">{\"mode\":",
          f);
    report_json_str(f, mode);
    fputs(",\"api\":", f);
    report_json_str(f, api);
    fputs(",\"home\":\"/\",\"refresh\":", f);
    report_json_num(f, d->o.refresh);
    fputs(",\"storage\":", f);
    report_json_str(f, d->shown);
    fputs("}</script>\n<script src=\"/assets/report.js\"></script>\n</body>\n</html>\n", f);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return send_buf(c, MHD_HTTP_OK, buf, len, "text/html; charset=utf-8", NULL);
}

static enum MHD_Result serve_study_page(report_dashboard *d, struct MHD_Connection *c,
                                        const char *name)
{
    store_study info;
    memset(&info, 0, sizeof info);
    caviar_error err = {0};
    caviar_status st = d->type->load_study(d->st, name, &info, &err);
    store_study_release(&info);
    if (st == CAVIAR_EMISSING)
        return send_error(c, MHD_HTTP_NOT_FOUND, 0, "There is no study '%s' in %s.", name,
                          d->shown);
    if (st != CAVIAR_OK)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 0, "Cannot read study '%s': %s",
                          name, err.msg);
    char *api = study_path_str("/api/study/", name);
    if (!api)
        return MHD_NO;
    enum MHD_Result ret = serve_page(d, c, name, "study", api);
    free(api);
    return ret;
}

/* ---- requests ------------------------------------------------------------------------------ */

/* Whether host (a Host header: name or address, perhaps a port) names this machine's loopback:
 * localhost (or a name under .localhost), 127.0.0.0/8, ::1. */
static int loopback_host(const char *host)
{
    char name[256];
    size_t n;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (!end)
            return 0;
        n = (size_t)(end - host - 1);
        host++;
    } else {
        n = strcspn(host, ":");
    }
    if (n == 0 || n >= sizeof name)
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    if (n && name[n - 1] == '.')
        name[--n] = '\0';
    if (strcasecmp(name, "localhost") == 0)
        return 1;
    if (n > 10 && strcasecmp(name + n - 10, ".localhost") == 0)
        return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, name, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    report_dashboard *d = cls;
    /* The first call comes with the headers: answer on the next one, once any body has been
     * read (and dropped), so that the connection can stay open for the page's next look. */
    static int seen;
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (!get && !head)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, 0,
                          "The dashboard is read-only: it answers GET and HEAD, not %s.", method);
    if (d->loopback) {
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        if (host && !loopback_host(host))
            return send_error(c, MHD_HTTP_FORBIDDEN, 0,
                              "This dashboard serves this machine only: the host '%s' is not a "
                              "loopback name (use localhost or 127.0.0.1, or start it with "
                              "--bind to serve other names).", host);
    }
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return serve_page(d, c, "studies", "index", "/api/studies");
    if (strcmp(url, "/api/studies") == 0)
        return serve_index_json(d, c);
    if (strncmp(url, "/study/", 7) == 0 && url[7])
        return serve_study_page(d, c, url + 7);
    if (strncmp(url, "/api/study/", 11) == 0 && url[11])
        return serve_study_json(d, c, url + 11);
    for (size_t i = 0; i < sizeof d->assets / sizeof d->assets[0]; i++)
        if (strcmp(url, d->assets[i].path) == 0)
            return send_pair(c, d->assets[i].plain, d->assets[i].gz, d->assets[i].etag,
                             ASSET_CACHE);
    return send_error(c, MHD_HTTP_NOT_FOUND, strncmp(url, "/api/", 5) == 0,
                      "Nothing here: the dashboard serves / (the studies), /study/NAME and "
                      "their data under /api/.");
}

/* libmicrohttpd's own messages (its format strings). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    report_dashboard *d = cls;
    if (!d->o.log)
        return;
    fputs("caviar dashboard: http: ", d->o.log);
    vfprintf(d->o.log, fmt, ap);
    fflush(d->o.log);
}

/* ---- starting and stopping ----------------------------------------------------------------- */

static caviar_status make_assets(report_dashboard *d, caviar_error *err)
{
    const struct {
        const char *path, *type;
        const unsigned char *data;
        size_t len;
    } files[] = {
        {"/assets/echarts.min.js", "text/javascript; charset=utf-8", report_asset_echarts,
         report_asset_echarts_len},
        {"/assets/report.js", "text/javascript; charset=utf-8", report_asset_page_js,
         report_asset_page_js_len},
        {"/assets/report.css", "text/css; charset=utf-8", report_asset_page_css,
         report_asset_page_css_len},
    };
    for (size_t i = 0; i < 3; i++) {
        asset *a = &d->assets[i];
        a->path = files[i].path;
        a->type = files[i].type;
        snprintf(a->etag, sizeof a->etag, "\"a%016llx\"",
                 (unsigned long long)fnv(files[i].data, files[i].len,
                                         14695981039346656037ull));
        char *copy = malloc(files[i].len ? files[i].len : 1);
        if (!copy)
            return util_err(err, CAVIAR_ENOMEM, "out of memory");
        memcpy(copy, files[i].data, files[i].len);
        a->plain = make_pair(copy, files[i].len, a->type, a->etag, ASSET_CACHE, &a->gz);
        if (!a->plain)
            return util_err(err, CAVIAR_ENOMEM, "out of memory");
    }
    return CAVIAR_OK;
}

/* A listening socket on bind:port; the address's text for the URL into host. */
static caviar_status listen_on(report_dashboard *d, int *fd_out, int *v6, caviar_error *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%u", d->o.port);
    int rc = getaddrinfo(d->bind, port, &hints, &res);
    if (rc != 0)
        return util_err(err, CAVIAR_EINVAL, "cannot listen on '%s': %s", d->bind,
                        gai_strerror(rc));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    caviar_status st = CAVIAR_OK;
    if (fd < 0) {
        st = util_err(err, CAVIAR_EIO, "cannot listen on '%s': %s", d->bind, strerror(errno));
    } else {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (res->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
            int e = errno;
            st = util_err(err, CAVIAR_EIO, "cannot listen on %s port %u: %s%s", d->bind,
                          d->o.port, strerror(e),
                          e == EADDRINUSE ? "\nhint: --port chooses another port (0: any "
                                            "free one)" : "");
            close(fd);
            fd = -1;
        }
    }
    if (st == CAVIAR_OK) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        char host[INET6_ADDRSTRLEN] = "?";
        unsigned bound = d->o.port;
        if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
            if (sa.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&sa;
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
                bound = ntohs(a->sin_port);
                d->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
            } else {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&sa;
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
                bound = ntohs(a->sin6_port);
                d->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
            }
        }
        *v6 = sa.ss_family == AF_INET6;
        snprintf(d->url, sizeof d->url, *v6 ? "http://[%s]:%u/" : "http://%s:%u/", host, bound);
        *fd_out = fd;
    }
    freeaddrinfo(res);
    return st;
}

caviar_status report_dashboard_new(const report_dashboard_opts *o, report_dashboard **out,
                                   caviar_error *err)
{
    *out = NULL;
    report_dashboard *d = calloc(1, sizeof *d);
    if (!d)
        return util_err(err, CAVIAR_ENOMEM, "out of memory");
    report_dashboard_opts_init(&d->o);
    if (o)
        d->o = *o;
    if (!(d->o.refresh > 0))
        d->o.refresh = 2;
    if (!d->o.max_open)
        d->o.max_open = 8;
    d->storage = strdup(d->o.storage ? d->o.storage : "caviar.db");
    d->bind = strdup(d->o.bind && *d->o.bind ? d->o.bind : "127.0.0.1");
    d->studies = calloc(d->o.max_open, sizeof *d->studies);
    caviar_status st = CAVIAR_OK;
    int fd = -1, v6 = 0;
    if (!d->storage || !d->bind || !d->studies) {
        st = util_err(err, CAVIAR_ENOMEM, "out of memory");
        goto fail;
    }
    d->o.storage = d->storage;
    d->o.bind = d->bind;
    store_redact(d->storage, d->shown, sizeof d->shown);
    d->type = store_find(d->storage);
    if (!d->type || d->type == &store_memory) {
        st = util_err(err, CAVIAR_EINVAL, "'%s' is not a study database\nhint: caviar.db, "
                      "sqlite:PATH or postgresql://USER@HOST/DB", d->shown);
        goto fail;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    d->salt = fnv(&ts, sizeof ts, 14695981039346656037ull ^ (uint64_t)getpid());
    if ((st = d->type->open_read_only(d->storage, &d->st, err)) != CAVIAR_OK ||
        (st = make_assets(d, err)) != CAVIAR_OK || (st = listen_on(d, &fd, &v6, err)) != CAVIAR_OK)
        goto fail;
    d->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                                  (v6 ? MHD_USE_IPv6 : 0),
                              0, NULL, NULL, on_request, d, MHD_OPTION_EXTERNAL_LOGGER,
                              mhd_log, d, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT,
                              256u, MHD_OPTION_END);
    if (!d->mhd) {
        close(fd);
        st = util_err(err, CAVIAR_EIO, "cannot start the HTTP server on %s", d->url);
        goto fail;
    }
    *out = d;
    return CAVIAR_OK;
fail:
    report_dashboard_free(d);
    return st;
}

void report_dashboard_free(report_dashboard *d)
{
    if (!d)
        return;
    if (d->mhd)
        MHD_stop_daemon(d->mhd);
    for (size_t i = 0; i < d->n_studies; i++)
        dstudy_close(&d->studies[i]);
    free(d->studies);
    for (size_t i = 0; i < sizeof d->assets / sizeof d->assets[0]; i++) {
        if (d->assets[i].plain)
            MHD_destroy_response(d->assets[i].plain);
        if (d->assets[i].gz)
            MHD_destroy_response(d->assets[i].gz);
    }
    if (d->st)
        d->type->close(d->st);
    free(d->storage);
    free(d->bind);
    free(d);
}
