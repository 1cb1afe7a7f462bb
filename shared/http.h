/* http: a small libcurl client with hard limits.
 *
 * Every request has a timeout and a cap on the body it will accept; answers
 * over the cap fail with HTTP_ETOOBIG.  http_perform_many() runs requests in
 * parallel (curl multi) and returns when all have finished or timed out.
 * Response headers are kept (up to HTTP_MAX_HEADERS) for rate-limit and
 * retry-after handling. */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

enum http_err {
    HTTP_OK = 0,      /* a complete answer arrived (any status code) */
    HTTP_ETIMEOUT,    /* no complete answer within the timeout */
    HTTP_ERESOLVE,    /* host name not resolved */
    HTTP_ECONNECT,    /* connection refused or failed */
    HTTP_ETOOBIG,     /* body larger than the request's max_bytes */
    HTTP_EINTERNAL,   /* out of memory, bad arguments, libcurl setup */
    HTTP_EOTHER,      /* any other transport error (TLS, protocol, ...) */
    HTTP_EABORTED     /* abandoned: the idle hook asked to stop (the program is stopping) */
};

/* A static string naming the error. */
const char *http_strerror(enum http_err e);

#define HTTP_MAX_HEADERS 32
#define HTTP_DEFAULT_MAX_BYTES (1024 * 1024)

struct http_header {
    char name[64];
    char value[192];
};

struct http_req {
    const char *method;            /* "GET" or "POST" */
    const char *url;
    const char *body;              /* POST body (JSON) or NULL */
    const char *const *headers;    /* NULL-terminated "Name: value" lines, or NULL */
    long timeout_ms;
    size_t max_bytes;              /* 0: HTTP_DEFAULT_MAX_BYTES */
    const char *cookie_name;       /* capture this cookie from the Set-Cookie headers into
                                    * resp->cookie (NULL: none) */
};

struct http_resp {
    enum http_err err;
    long status;                   /* HTTP status, 0 when err != HTTP_OK (but kept with
                                    * HTTP_ETOOBIG: an answer did arrive) */
    char *body;                    /* NUL-terminated; owned, freed by http_resp_free */
    size_t len;
    double elapsed_ms;
    int nheaders;
    struct http_header headers[HTTP_MAX_HEADERS];
    char errmsg[256];              /* libcurl's explanation when err != HTTP_OK */
    char *cookie;                  /* req->cookie_name's value (at most HTTP_COOKIE_MAX bytes),
                                    * owned (http_resp_free wipes and frees it), NULL when none;
                                    * may be a SECRET (a session): never log it */
};

#define HTTP_COOKIE_MAX 4096

/* Call once at program start and end. */
int http_global_init(void) __attribute__((warn_unused_result));
void http_global_cleanup(void);

/* While http_perform() and http_perform_many() wait for answers they call
 * fn(user) about every HTTP_IDLE_MS: the worker uses it to act on control
 * commands, signals and webhook answers while a probe or an LLM call is
 * under way.  A nonzero return abandons every transfer of the call
 * (HTTP_EABORTED).  fn is never called from inside itself: a blocking call
 * made by fn waits without it.  fn NULL: no hook (the default). */
#define HTTP_IDLE_MS 50
void http_set_idle(int (*fn)(void *user), void *user);

/* Nonzero when the idle hook's last verdict was to stop (the transfers of
 * the call that saw it were abandoned): a caller stops retrying then. */
int http_stopping(void);

/* Sleep ms milliseconds, calling the idle hook every HTTP_IDLE_MS.
 * Returns 0, or nonzero when the hook asked to stop (the sleep is cut
 * short).  For the pauses between retries. */
int http_sleep_ms(long ms);

/* Perform one request.  Fills *resp (which the caller frees with
 * http_resp_free) and returns resp->err. */
enum http_err http_perform(const struct http_req *req, struct http_resp *resp);

/* Perform n requests in parallel; resps[i] answers reqs[i]. */
void http_perform_many(const struct http_req *reqs, struct http_resp *resps, size_t n);

/* ---- transfers driven by the caller's own loop ----------------------------
 * A pool runs requests in parallel without blocking: http_pool_add()
 * starts one, http_pool_run() moves every transfer on and hands back those
 * that ended, http_pool_wait() sleeps until one of them or one of the
 * caller's descriptors needs attention.  The worker sends its webhooks
 * through one, so that a slow n8n never holds its loop. */
struct http_pool;

/* One ended transfer: the user pointer given to http_pool_add() and the
 * answer (the caller frees it with http_resp_free). */
struct http_done {
    void *user;
    struct http_resp resp;
};

/* A new empty pool (caller frees with http_pool_free), or NULL. */
struct http_pool *http_pool_new(void);

/* Abandon every transfer still running (nothing is handed back for them)
 * and free the pool; NULL is a no-op. */
void http_pool_free(struct http_pool *p);

/* Start req (every string copied).  Returns 0, or -1 when it could not be
 * started (out of memory, no URL): nothing is handed back then. */
int http_pool_add(struct http_pool *p, const struct http_req *req, void *user)
    __attribute__((warn_unused_result));

/* Move every transfer on without waiting; up to max ended ones into out.
 * Returns how many were put there (call again while it returns max). */
int http_pool_run(struct http_pool *p, struct http_done *out, int max);

/* Transfers started and not handed back yet. */
int http_pool_active(const struct http_pool *p);

/* Wait up to timeout_ms until a transfer needs attention or one of the
 * nfds descriptors in fds is readable; ready[i] (may be NULL) is set
 * nonzero for each readable one.  Returns 0, or -1 on error (EINTR: 0). */
int http_pool_wait(struct http_pool *p, const int *fds, int nfds, int timeout_ms, int *ready);

/* The same over npools pools (NULL entries skipped): wakes up when a
 * transfer of any of them needs attention (the worker's webhooks and its
 * Telegram long poll live in two pools and one loop).  The sockets of all
 * pools but the first are waited on as extra descriptors (at most
 * HTTP_POOL_WAIT_FDS in all); their own timers shorten the wait.  Returns 0
 * or -1. */
#define HTTP_POOL_WAIT_FDS 32
int http_pool_wait_many(struct http_pool *const *pools, int npools, const int *fds, int nfds, int timeout_ms,
                        int *ready);

/* Abandon every transfer still running, each handed back by the next
 * http_pool_run() with HTTP_EABORTED. */
void http_pool_abort(struct http_pool *p);

/* The value of a response header (case-insensitive name), borrowed from
 * resp, or NULL. */
const char *http_resp_header(const struct http_resp *resp, const char *name);

/* Free the body and the cookie; http_resp_free on a zeroed or freed resp is a no-op. */
void http_resp_free(struct http_resp *resp);

#endif
