/* route: one FastCGI request to one answer; see route.h. */
#include "config.h"
#include "route.h"
#include "gzbody.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <fastcgi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Who may call an endpoint. */
enum route_auth {
    ROUTE_OPEN = 0,
    ROUTE_CONTROL_TOKEN,         /* Authorization: Bearer <ORCHESTRATOR_API_TOKEN> */
    ROUTE_RESULTS_TOKEN          /* Authorization: Bearer <ORCH_RESULTS_TOKEN> */
};

/* The endpoint table: path (a prefix ending in '/' for item endpoints),
 * method, the bearer token required, and the control command it records. */
static const struct route_entry {
    const char *path;
    int post;                    /* 0: GET (and HEAD), 1: POST */
    int auth;                    /* enum route_auth */
    const char *command;         /* control_commands.command, or NULL */
} route_table[ROUTE_COUNT] = {
    [ROUTE_HEALTH]          = { "/health", 0, 0, NULL },
    [ROUTE_STATUS]          = { "/status", 0, 0, NULL },
    [ROUTE_DECISIONS]       = { "/decisions", 0, 0, NULL },
    [ROUTE_WORKFLOWS]       = { "/workflows/available", 0, 0, NULL },
    [ROUTE_METRICS]         = { "/metrics", 0, 0, NULL },
    [ROUTE_CONTROL_START]   = { "/control/start", 1, 1, "start" },
    [ROUTE_CONTROL_STOP]    = { "/control/stop", 1, 1, "stop" },
    [ROUTE_CONTROL_FORCE]   = { "/control/force-decision", 1, 1, "force_decision" },
    [ROUTE_DECISION]        = { "/decisions/", 0, 0, NULL },
    [ROUTE_CONTROL_COMMAND] = { "/control/commands/", 0, 1, NULL },
    [ROUTE_RESULTS]         = { "/results", 1, 2, NULL },
    [ROUTE_CLAIMS]          = { "/claims", 1, 2, NULL },
    [ROUTE_REPLAYS]         = { "/replays", 0, 0, NULL },
    [ROUTE_REPLAY]          = { "/replays/", 0, 0, NULL },
    [ROUTE_CONTROL_RELOAD]  = { "/control/reload-catalog", 1, 1, "reload_catalog" },
};

/* The FastCGI parameters the API reads, found in one pass over the
 * environment (instead of one FCGX_GetParam scan each).  Borrowed from the
 * request; NULL when absent. */
struct route_params {
    const char *method, *document_uri, *script_name, *path_info, *request_uri, *query_string;
    const char *authorization, *remote_addr, *content_length, *x_request_id, *request_id;
    const char *idempotency_key, *accept_encoding;
};

/* Fill *p from envp ("NAME=value" strings, NULL-terminated). */
static void route_params_read(char **envp, struct route_params *p)
{
#define ROUTE_P(name, field) { name, sizeof name - 1, offsetof(struct route_params, field) }
    static const struct { const char *name; size_t len, off; } want[] = {
        ROUTE_P("REQUEST_METHOD", method),
        ROUTE_P("DOCUMENT_URI", document_uri),
        ROUTE_P("SCRIPT_NAME", script_name),
        ROUTE_P("PATH_INFO", path_info),
        ROUTE_P("REQUEST_URI", request_uri),
        ROUTE_P("QUERY_STRING", query_string),
        ROUTE_P("HTTP_AUTHORIZATION", authorization),
        ROUTE_P("REMOTE_ADDR", remote_addr),
        ROUTE_P("CONTENT_LENGTH", content_length),
        ROUTE_P("HTTP_X_REQUEST_ID", x_request_id),
        ROUTE_P("REQUEST_ID", request_id),
        ROUTE_P("HTTP_IDEMPOTENCY_KEY", idempotency_key),
        ROUTE_P("HTTP_ACCEPT_ENCODING", accept_encoding),
    };
#undef ROUTE_P
    memset(p, 0, sizeof *p);
    for (char **e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        size_t n = (size_t)(eq - *e);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            if (want[i].name[0] == (*e)[0] && want[i].len == n && memcmp(want[i].name, *e, n) == 0) {
                const char **slot = (const char **)(void *)((char *)p + want[i].off);
                if (!*slot)                  /* the first one wins, as with FCGX_GetParam */
                    *slot = eq + 1;
                break;
            }
        }
    }
}

int route_path(const char *document_uri, const char *script_name, const char *path_info,
               const char *request_uri, char *out, size_t cap)
{
    int n;
    if (cap == 0)
        return -1;
    if (document_uri && *document_uri)
        n = snprintf(out, cap, "%s", document_uri);
    else if ((script_name && *script_name) || (path_info && *path_info))
        n = snprintf(out, cap, "%s%s", script_name ? script_name : "", path_info ? path_info : "");
    else if (request_uri && *request_uri)
        n = snprintf(out, cap, "%.*s", (int)strcspn(request_uri, "?#"), request_uri);
    else
        return -1;
    if (n < 0 || (size_t)n >= cap)
        return -1;
    size_t len = strcspn(out, "?");            /* a query string where none belongs */
    while (len > 1 && out[len - 1] == '/')
        len--;
    out[len] = '\0';
    if (strncmp(out, "/api/", 5) == 0)
        memmove(out, out + 4, len - 4 + 1);
    return out[0] == '/' ? 0 : -1;
}

int route_find(const char *path, const char **item)
{
    *item = NULL;
    for (int i = 0; i < ROUTE_COUNT; i++) {
        const char *p = route_table[i].path;
        size_t n = strlen(p);
        if (p[n - 1] != '/') {
            if (strcmp(path, p) == 0)
                return i;
        } else if (strncmp(path, p, n) == 0 && path[n] &&
                   (!strchr(path + n, '/') || i == ROUTE_REPLAY)) {   /* "/replays/{id}/svg" */
            *item = path + n;
            return i;
        }
    }
    return -1;
}

/* The reason phrase of an HTTP status. */
static const char *route_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

void route_request_id(const char *x_request_id, const char *request_id, unsigned long long seq, char out[72])
{
    const char *id = x_request_id ? x_request_id : request_id;
    if (id) {
        size_t n = strlen(id);
        int ok = n > 0 && n <= 64;
        for (size_t i = 0; ok && i < n; i++) {
            char c = id[i];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            snprintf(out, 72, "%s", id);
            return;
        }
    }
    snprintf(out, 72, "%x-%llx", (unsigned)getpid(), seq);
}

/* Read and discard the request body.  Returns 0, or 413 when it is longer
 * than API_BODY_MAX. */
static int route_drain_body(FCGX_Request *req, const char *cl)
{
    if (cl && *cl) {
        errno = 0;
        char *end;
        long long n = strtoll(cl, &end, 10);
        if (errno || *end || n > API_BODY_MAX)
            return 413;
    }
    char buf[4096];
    long total = 0;
    int n;
    while ((n = FCGX_GetStr(buf, sizeof buf, req->in)) > 0) {
        total += n;
        if (total > API_BODY_MAX)
            return 413;
    }
    return 0;
}

/* Read the request body into buf (cap bytes, API_BODY_MAX + 1 is enough),
 * *len its length.  Returns 0, or 413 when it is longer than API_BODY_MAX
 * (the rest is drained). */
static int route_read_body(FCGX_Request *req, const char *cl, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (cl && *cl) {
        errno = 0;
        char *end;
        long long n = strtoll(cl, &end, 10);
        if (errno || *end || n > API_BODY_MAX)
            return 413;
    }
    int n;
    while (*len < cap && (n = FCGX_GetStr(buf + *len, (int)(cap - *len), req->in)) > 0)
        *len += (size_t)n;
    if (*len > API_BODY_MAX) {
        char sink[4096];
        while (FCGX_GetStr(sink, sizeof sink, req->in) > 0)
            ;
        return 413;
    }
    return 0;
}

/* The security headers of every API answer: nothing in a JSON answer may
 * run, load or be framed.  An answer with a policy of its own (the replay
 * SVG's, in r->header) keeps it instead of ROUTE_CSP. */
#define ROUTE_CSP "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
#define ROUTE_NOSNIFF "X-Content-Type-Options: nosniff\r\n"
#define ROUTE_FRAMES "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"

#define ROUTE_IOV 64                /* iovecs per writev */
#define ROUTE_RECORD_MAX 65528      /* content bytes per FastCGI record (a multiple of 8 below 65536) */

/* Write n bytes of iov (cnt entries) to fd, however many calls it takes.
 * Returns 0 or -1 (the server went away: the answer is lost anyway). */
static int route_writev(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (cnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Send the pieces p[0 .. n) as FCGI_STDOUT records of up to
 * ROUTE_RECORD_MAX bytes straight to the request's connection, with as few
 * writev() calls as the iovec limit allows, instead of through libfcgi's
 * stream, which copies everything into 8 KiB records (one write each).
 * Uses the FCGX_Request's ipcFd and requestId (libfcgi 2.4 keeps them in
 * the struct it exports); FCGX_Finish_r() then writes the end of the
 * stream and of the request as usual.  Returns 0 or -1. */
static int route_send_records(FCGX_Request *req, const struct iovec *p, int n)
{
    struct iovec iov[ROUTE_IOV];
    FCGI_Header hdr[ROUTE_IOV / 2];
    int niov = 0, nhdr = 0, i = 0;
    size_t off = 0;                            /* into p[i] */

    if (FCGX_FFlush(req->out) < 0 || req->ipcFd < 0)
        return -1;
    while (i < n) {
        /* one record: its header, then content from the pieces */
        size_t len = 0;
        int first = niov++;
        while (i < n && len < ROUTE_RECORD_MAX && niov < ROUTE_IOV) {
            size_t take = p[i].iov_len - off;
            if (take > ROUTE_RECORD_MAX - len)
                take = ROUTE_RECORD_MAX - len;
            if (take > 0) {
                iov[niov].iov_base = (char *)p[i].iov_base + off;
                iov[niov].iov_len = take;
                niov++;
                len += take;
                off += take;
            }
            if (off == p[i].iov_len) {
                i++;
                off = 0;
            }
        }
        FCGI_Header *h = &hdr[nhdr++];
        memset(h, 0, sizeof *h);
        h->version = FCGI_VERSION_1;
        h->type = FCGI_STDOUT;
        h->requestIdB1 = (unsigned char)((req->requestId >> 8) & 0xff);
        h->requestIdB0 = (unsigned char)(req->requestId & 0xff);
        h->contentLengthB1 = (unsigned char)((len >> 8) & 0xff);
        h->contentLengthB0 = (unsigned char)(len & 0xff);
        iov[first].iov_base = h;
        iov[first].iov_len = sizeof *h;
        if (len == 0)                          /* an empty record would end the stream */
            niov = first;
        if (niov + 2 > ROUTE_IOV || nhdr == ROUTE_IOV / 2 || i == n) {
            if (route_writev(req->ipcFd, iov, niov) < 0)
                return -1;
            niov = nhdr = 0;
        }
    }
    return 0;
}

/* Write r as the answer: the header and the pieces in FastCGI records of
 * up to 64 KiB, most answers with one writev(). */
static void route_send(FCGX_Request *req, const struct api_resp *r, int head_only, const char *req_id)
{
    size_t len = 0;
    for (int i = 0; i < r->npieces; i++)
        len += r->piece[i].n;
    const char *own = r->header ? r->header : "";
    char hdr[768];
    int n = snprintf(hdr, sizeof hdr,
                     "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Request-Id: %s\r\n%s%s%s%s" ROUTE_FRAMES "%s%s\r\n",
                     r->status, route_reason(r->status), r->content_type ? r->content_type : API_JSON, len,
                     req_id, r->gzip ? "Content-Encoding: gzip\r\n" : "", r->vary ? "Vary: Accept-Encoding\r\n" : "",
                     strstr(own, "Content-Security-Policy:") ? "" : ROUTE_CSP,
                     strstr(own, "X-Content-Type-Options:") ? "" : ROUTE_NOSNIFF,
                     own, r->header ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof hdr)
        return;
    struct iovec p[API_MAX_PIECES + 1];
    int np = 0;
    p[np].iov_base = hdr;
    p[np++].iov_len = (size_t)n;
    for (int i = 0; !head_only && i < r->npieces; i++) {
        p[np].iov_base = (void *)r->piece[i].p;
        p[np++].iov_len = r->piece[i].n;
    }
    if (route_send_records(req, p, np) < 0)
        log_event(LOG_DEBUG, "api.send_failed", "s:req_id s:error", req_id, strerror(errno));
}

/* Dispatch to the endpoint's handler.  Returns the status put in r. */
static int route_dispatch(struct api_ctx *ctx, FCGX_Request *req, const struct route_params *p,
                          const char *method, const char *path, int *head_only, struct api_resp *r)
{
    const char *item;
    int id = route_find(path, &item);
    if (id < 0)
        return api_error(r, 404, API_CODE_NOT_FOUND, "not found");
    const struct route_entry *e = &route_table[id];
    int is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;
    if (e->post ? strcmp(method, "POST") != 0 : !(is_get || is_head)) {
        api_error(r, 405, API_CODE_METHOD_NOT_ALLOWED, "method not allowed");
        r->header = e->post ? "Allow: POST" : "Allow: GET, HEAD";
        return 405;
    }
    *head_only = is_head;
    if (e->auth == ROUTE_RESULTS_TOKEN) {
        int st = api_results_auth(ctx, p->authorization, r);
        if (st)
            return st;
        static char body[API_BODY_MAX + 1];       /* one request at a time per process */
        size_t len = 0;
        if (route_read_body(req, p->content_length, body, sizeof body, &len))
            return api_error(r, 413, API_CODE_PAYLOAD_TOO_LARGE, "request body is larger than 64 KiB");
        if (id == ROUTE_CLAIMS)
            return api_claim(ctx, body, len, r);
        return api_results(ctx, body, len, p->idempotency_key, r);
    }
    if (e->auth) {
        int st = api_control_auth(ctx, p->authorization, r);
        if (st)
            return st;
    }
    if (e->post) {
        if (route_drain_body(req, p->content_length))
            return api_error(r, 413, API_CODE_PAYLOAD_TOO_LARGE, "request body is larger than 64 KiB");
        return api_control(ctx, e->command, p->remote_addr, r);
    }
    const char *qs = p->query_string;
    if (!qs && p->request_uri && strchr(p->request_uri, '?'))
        qs = strchr(p->request_uri, '?') + 1;
    switch (id) {
    case ROUTE_HEALTH:    return api_health(ctx, r);
    case ROUTE_STATUS:    return api_status(ctx, r);
    case ROUTE_WORKFLOWS: return api_workflows(ctx, r);
    case ROUTE_METRICS:   return api_metrics(ctx, r);
    case ROUTE_DECISIONS: return api_decisions(ctx, qs, r);
    case ROUTE_DECISION:  return api_decision(ctx, item, qs, r);
    case ROUTE_CONTROL_COMMAND: return api_command(ctx, item, r);
    case ROUTE_REPLAYS:   return api_replays(ctx, qs, r);
    case ROUTE_REPLAY:    return api_replay(ctx, item, qs, r);
    default:
        return api_error(r, 404, API_CODE_NOT_FOUND, "not found");
    }
}

void route_handle(struct api_ctx *ctx, FCGX_Request *req, unsigned long long seq)
{
    int debug = log_enabled(LOG_DEBUG);
    double t0 = debug ? tu_mono_ms() : 0;

    struct api_resp r;
    memset(&r, 0, sizeof r);
    char path[ROUTE_PATH_MAX], req_id[72];
    int head_only = 0;
    struct route_params p;
    route_params_read(req->envp, &p);
    const char *method = p.method ? p.method : "GET";
    route_request_id(p.x_request_id, p.request_id, seq, req_id);
    r.accept_gzip = gzbody_accepts(p.accept_encoding);

    if (route_path(p.document_uri, p.script_name, p.path_info, p.request_uri, path, sizeof path) < 0) {
        snprintf(path, sizeof path, "?");
        api_error(&r, 404, API_CODE_NOT_FOUND, "not found");
    } else {
        route_dispatch(ctx, req, &p, method, path, &head_only, &r);
    }
    route_send(req, &r, head_only, req_id);

    if (debug) {
        long long us = (long long)((tu_mono_ms() - t0) * 1000.0);
        log_event(LOG_DEBUG, "api.request", "s:req_id s:method s:path i:status i:us",
                  req_id, method, path, (long long)r.status, us);
    }
    api_resp_clear(&r);
}
