/* http: libcurl client with hard limits; see http.h. */
#include "config.h"
#include "http.h"
#include "log.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <errno.h>
#include <sys/select.h>

const char *http_strerror(enum http_err e)
{
    switch (e) {
    case HTTP_OK:        return "ok";
    case HTTP_ETIMEOUT:  return "timeout";
    case HTTP_ERESOLVE:  return "could not resolve host";
    case HTTP_ECONNECT:  return "could not connect";
    case HTTP_ETOOBIG:   return "response too large";
    case HTTP_EINTERNAL: return "internal error";
    case HTTP_EOTHER:    return "transport error";
    case HTTP_EABORTED:  return "aborted";
    }
    return "unknown error";
}

int http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void) { curl_global_cleanup(); }

static int (*http_idle_fn)(void *);
static void *http_idle_user;
static int http_in_idle;                /* the hook is running: no nested call */
static int http_stop_seen;              /* the hook's last verdict */

void http_set_idle(int (*fn)(void *user), void *user)
{
    http_idle_fn = fn;
    http_idle_user = user;
    http_stop_seen = 0;
}

/* Call the idle hook unless there is none or it is running already.
 * Returns its verdict (nonzero: abandon the transfers). */
static int http_idle(void)
{
    if (!http_idle_fn || http_in_idle)
        return 0;
    http_in_idle = 1;
    int stop = http_idle_fn(http_idle_user);
    http_in_idle = 0;
    http_stop_seen = stop != 0;
    return stop;
}

int http_stopping(void) { return http_stop_seen; }

int http_sleep_ms(long ms)
{
    double t0 = tu_mono_ms();
    for (;;) {
        if (http_idle())
            return 1;
        long done = (long)(tu_mono_ms() - t0);
        long left = ms - done;
        if (left <= 0)
            return 0;
        if (http_idle_fn && !http_in_idle && left > HTTP_IDLE_MS)
            left = HTTP_IDLE_MS;
        struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

struct http_xfer {
    CURL *easy;
    struct curl_slist *hdrs;
    struct http_resp *resp;
    size_t cap;
    size_t max;
    int too_big;
    const char *cookie_name;
    char errbuf[CURL_ERROR_SIZE];
};

/* A Set-Cookie header line (v, vl bytes) for cookie x->cookie_name: its
 * value into r->cookie (the last one wins). */
static void http_take_cookie(struct http_xfer *x, const char *v, size_t vl)
{
    size_t cn = strlen(x->cookie_name);
    if (vl <= cn || strncmp(v, x->cookie_name, cn) != 0 || v[cn] != '=')
        return;
    const char *val = v + cn + 1;
    const char *end = memchr(val, ';', vl - cn - 1);
    size_t n = end ? (size_t)(end - val) : vl - cn - 1;
    if (n == 0 || n > HTTP_COOKIE_MAX)
        return;
    char *c = malloc(n + 1);
    if (!c)
        return;
    memcpy(c, val, n);
    c[n] = '\0';
    struct http_resp *r = x->resp;
    if (r->cookie) {
        memset(r->cookie, 0, strlen(r->cookie));
        free(r->cookie);
    }
    r->cookie = c;
}

static size_t http_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_xfer *x = ud;
    struct http_resp *r = x->resp;
    size_t n = size * nmemb;
    if (r->len + n > x->max) {
        x->too_big = 1;
        return 0;                       /* aborts the transfer */
    }
    if (r->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        x->cap = cap;
    }
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t http_on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_xfer *x = ud;
    struct http_resp *r = x->resp;
    size_t n = size * nmemb;
    /* a new status line (redirect, 100-continue) starts a new header set */
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        r->nheaders = 0;
        return n;
    }
    char *colon = memchr(ptr, ':', n);
    if (!colon || r->nheaders >= HTTP_MAX_HEADERS)
        return n;
    size_t nl = (size_t)(colon - ptr);
    const char *v = colon + 1;
    size_t vl = n - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) { v++; vl--; }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    if (nl == 0 || nl >= sizeof r->headers[0].name)
        return n;
    if (x->cookie_name && nl == 10 && strncasecmp(ptr, "set-cookie", 10) == 0) {
        http_take_cookie(x, v, vl);
        return n;                       /* a session is not kept among the plain headers */
    }
    struct http_header *h = &r->headers[r->nheaders++];
    memcpy(h->name, ptr, nl);
    h->name[nl] = '\0';
    if (vl >= sizeof h->value)
        vl = sizeof h->value - 1;
    memcpy(h->value, v, vl);
    h->value[vl] = '\0';
    return n;
}

/* Set up x for req.  Returns 0 or -1 (resp->err set). */
static int http_xfer_setup(struct http_xfer *x, const struct http_req *req, struct http_resp *resp)
{
    memset(x, 0, sizeof *x);
    memset(resp, 0, sizeof *resp);
    x->resp = resp;
    x->cookie_name = req->cookie_name;
    x->max = req->max_bytes ? req->max_bytes : HTTP_DEFAULT_MAX_BYTES;
    x->easy = curl_easy_init();
    if (!x->easy || !req->url) {
        resp->err = HTTP_EINTERNAL;
        snprintf(resp->errmsg, sizeof resp->errmsg, "curl_easy_init failed");
        return -1;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ai-orchestrator/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (req->headers)
        for (const char *const *h = req->headers; *h; h++)
            x->hdrs = curl_slist_append(x->hdrs, *h);
    if (req->method && strcmp(req->method, "POST") == 0) {
        x->hdrs = curl_slist_append(x->hdrs, "Content-Type: application/json");
        x->hdrs = curl_slist_append(x->hdrs, "Expect:");
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(req->body ? strlen(req->body) : 0));
    }
    if (x->hdrs)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    return 0;
}

/* Record the outcome rc of x's transfer in its response and free x. */
static void http_xfer_finish(struct http_xfer *x, CURLcode rc)
{
    struct http_resp *r = x->resp;
    if (x->easy) {
        double secs = 0;
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &secs);
        r->elapsed_ms = secs * 1000.0;
        if (rc == CURLE_OK || x->too_big)
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
    }
    if (r->err == HTTP_OK) {
        if (x->too_big)
            r->err = HTTP_ETOOBIG;
        else if (rc == CURLE_OK)
            r->err = HTTP_OK;
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            r->err = HTTP_ETIMEOUT;
        else if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
            r->err = HTTP_ERESOLVE;
        else if (rc == CURLE_COULDNT_CONNECT)
            r->err = HTTP_ECONNECT;
        else if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR)
            r->err = HTTP_EINTERNAL;
        else if (rc == CURLE_ABORTED_BY_CALLBACK)
            r->err = HTTP_EABORTED;
        else
            r->err = HTTP_EOTHER;
    }
    if (r->err != HTTP_OK) {
        if (r->err != HTTP_ETOOBIG)
            r->status = 0;
        snprintf(r->errmsg, sizeof r->errmsg, "%s", x->errbuf[0] ? x->errbuf : http_strerror(r->err));
        if (x->too_big)
            snprintf(r->errmsg, sizeof r->errmsg, "response larger than %zu bytes", x->max);
    }
    if (!r->body) {
        r->body = calloc(1, 1);
        r->len = 0;
    }
    curl_slist_free_all(x->hdrs);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    x->easy = NULL;
    x->hdrs = NULL;
}

enum http_err http_perform(const struct http_req *req, struct http_resp *resp)
{
    /* through the multi interface, so that the idle hook runs while it waits */
    http_perform_many(req, resp, 1);
    return resp->err;
}

void http_perform_many(const struct http_req *reqs, struct http_resp *resps, size_t n)
{
    if (n == 0)
        return;
    struct http_xfer *xs = calloc(n, sizeof *xs);
    CURLM *multi = curl_multi_init();
    if (!xs || !multi) {
        for (size_t i = 0; i < n; i++) {
            memset(&resps[i], 0, sizeof resps[i]);
            resps[i].err = HTTP_EINTERNAL;
            snprintf(resps[i].errmsg, sizeof resps[i].errmsg, "out of memory");
        }
        free(xs);
        if (multi)
            curl_multi_cleanup(multi);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (http_xfer_setup(&xs[i], &reqs[i], &resps[i]) == 0)
            curl_multi_add_handle(multi, xs[i].easy);
        else
            http_xfer_finish(&xs[i], CURLE_FAILED_INIT);
    }
    int running = 1, aborted = 0;
    int wait_ms = http_idle_fn && !http_in_idle ? HTTP_IDLE_MS : 1000;
    while (running) {
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        if (running && curl_multi_poll(multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
            break;
        if (running && http_idle()) {
            aborted = 1;
            break;
        }
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct http_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(multi, m->easy_handle);
        if (x)
            http_xfer_finish(x, m->data.result);
    }
    for (size_t i = 0; i < n; i++) {
        if (xs[i].easy) {               /* not reported done: abandoned, or failed */
            curl_multi_remove_handle(multi, xs[i].easy);
            http_xfer_finish(&xs[i], aborted ? CURLE_ABORTED_BY_CALLBACK : CURLE_OPERATION_TIMEDOUT);
        }
    }
    curl_multi_cleanup(multi);
    free(xs);
}

/* ---- pool ---------------------------------------------------------------- */

struct http_pool_xfer {
    struct http_xfer x;
    struct http_resp resp;
    void *user;
    char *body;                          /* owned copy of the request body */
    char *cookie_name;                   /* owned copy */
    struct http_pool_xfer *prev, *next;  /* running, or ended and not handed back */
};

struct http_pool {
    CURLM *multi;
    struct http_pool_xfer *running;      /* list */
    struct http_pool_xfer *ended;        /* list, oldest last */
    int nrunning, nended;
};

static void http_pool_unlink(struct http_pool_xfer **head, struct http_pool_xfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        *head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void http_pool_push(struct http_pool_xfer **head, struct http_pool_xfer *t)
{
    t->prev = NULL;
    t->next = *head;
    if (*head)
        (*head)->prev = t;
    *head = t;
}

static void http_pool_xfer_free(struct http_pool_xfer *t)
{
    free(t->body);
    free(t->cookie_name);
    free(t);
}

struct http_pool *http_pool_new(void)
{
    struct http_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->multi = curl_multi_init();
    if (!p->multi) {
        free(p);
        return NULL;
    }
    return p;
}

/* End running transfer t with rc and move it to the ended list. */
static void http_pool_end(struct http_pool *p, struct http_pool_xfer *t, CURLcode rc)
{
    curl_multi_remove_handle(p->multi, t->x.easy);
    http_xfer_finish(&t->x, rc);
    http_pool_unlink(&p->running, t);
    p->nrunning--;
    http_pool_push(&p->ended, t);
    p->nended++;
}

void http_pool_free(struct http_pool *p)
{
    if (!p)
        return;
    while (p->running) {
        struct http_pool_xfer *t = p->running;
        http_pool_end(p, t, CURLE_ABORTED_BY_CALLBACK);
    }
    while (p->ended) {
        struct http_pool_xfer *t = p->ended;
        http_pool_unlink(&p->ended, t);
        http_resp_free(&t->resp);
        http_pool_xfer_free(t);
    }
    curl_multi_cleanup(p->multi);
    free(p);
}

int http_pool_add(struct http_pool *p, const struct http_req *req, void *user)
{
    struct http_pool_xfer *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    struct http_req r = *req;
    if ((req->body && !(t->body = strdup(req->body))) ||
        (req->cookie_name && !(t->cookie_name = strdup(req->cookie_name)))) {
        http_pool_xfer_free(t);
        return -1;
    }
    r.body = t->body;
    r.cookie_name = t->cookie_name;
    t->user = user;
    if (http_xfer_setup(&t->x, &r, &t->resp) < 0 || curl_multi_add_handle(p->multi, t->x.easy) != CURLM_OK) {
        http_xfer_finish(&t->x, CURLE_FAILED_INIT);
        http_resp_free(&t->resp);
        http_pool_xfer_free(t);
        return -1;
    }
    http_pool_push(&p->running, t);
    p->nrunning++;
    return 0;
}

int http_pool_run(struct http_pool *p, struct http_done *out, int max)
{
    int still;
    curl_multi_perform(p->multi, &still);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct http_pool_xfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        /* x is the first member: the private pointer is the pool's transfer */
        if (t)
            http_pool_end(p, t, m->data.result);
    }
    int n = 0;
    while (n < max && p->ended) {
        struct http_pool_xfer *t = p->ended;
        while (t->next)                   /* oldest first */
            t = t->next;
        http_pool_unlink(&p->ended, t);
        p->nended--;
        out[n].user = t->user;
        out[n].resp = t->resp;
        n++;
        http_pool_xfer_free(t);
    }
    return n;
}

int http_pool_active(const struct http_pool *p) { return p->nrunning + p->nended; }

int http_pool_wait(struct http_pool *p, const int *fds, int nfds, int timeout_ms, int *ready)
{
    return http_pool_wait_many(&p, 1, fds, nfds, timeout_ms, ready);
}

/* Add the sockets of pool q's transfers to extra (n used of cap) as
 * descriptors to wait on, and shorten *timeout_ms to q's own timer.
 * Returns the new n. */
static unsigned http_pool_extra(struct http_pool *q, struct curl_waitfd *extra, unsigned n, unsigned cap,
                                int *timeout_ms)
{
    if (q->nended) {
        *timeout_ms = 0;                  /* something to hand back already */
        return n;
    }
    if (!q->nrunning)
        return n;
    long t = -1;
    if (curl_multi_timeout(q->multi, &t) == CURLM_OK && t >= 0 && t < *timeout_ms)
        *timeout_ms = (int)t;
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    int maxfd = -1;
    if (curl_multi_fdset(q->multi, &r, &w, &e, &maxfd) != CURLM_OK || maxfd < 0 || maxfd >= FD_SETSIZE) {
        /* no socket yet (a name being resolved) or one select cannot hold:
         * look again soon, as libcurl's documentation advises */
        if (*timeout_ms > 100)
            *timeout_ms = 100;
        return n;
    }
    for (int fd = 0; fd <= maxfd; fd++) {
        short ev = (short)((FD_ISSET(fd, &r) ? CURL_WAIT_POLLIN : 0) | (FD_ISSET(fd, &w) ? CURL_WAIT_POLLOUT : 0) |
                           (FD_ISSET(fd, &e) ? CURL_WAIT_POLLPRI : 0));
        if (!ev)
            continue;
        if (n == cap) {
            if (*timeout_ms > 100)
                *timeout_ms = 100;
            break;
        }
        extra[n++] = (struct curl_waitfd){ .fd = fd, .events = ev, .revents = 0 };
    }
    return n;
}

int http_pool_wait_many(struct http_pool *const *pools, int npools, const int *fds, int nfds, int timeout_ms,
                        int *ready)
{
    struct curl_waitfd extra[HTTP_POOL_WAIT_FDS];
    struct http_pool *first = NULL;
    if (nfds > 8)
        nfds = 8;
    if (nfds < 0)
        nfds = 0;
    if (timeout_ms < 0)
        timeout_ms = 0;
    for (int i = 0; i < nfds; i++)
        extra[i] = (struct curl_waitfd){ .fd = fds[i], .events = CURL_WAIT_POLLIN, .revents = 0 };
    unsigned n = (unsigned)nfds;
    for (int k = 0; k < npools; k++) {
        if (!pools[k])
            continue;
        if (!first) {
            first = pools[k];
            if (first->nended)
                timeout_ms = 0;
            continue;
        }
        n = http_pool_extra(pools[k], extra, n, HTTP_POOL_WAIT_FDS, &timeout_ms);
    }
    if (!first)
        return -1;
    CURLMcode rc = curl_multi_poll(first->multi, extra, n, timeout_ms, NULL);
    for (int i = 0; ready && i < nfds; i++)
        ready[i] = rc == CURLM_OK && (extra[i].revents & CURL_WAIT_POLLIN);
    return rc == CURLM_OK ? 0 : -1;
}

void http_pool_abort(struct http_pool *p)
{
    while (p->running)
        http_pool_end(p, p->running, CURLE_ABORTED_BY_CALLBACK);
}

const char *http_resp_header(const struct http_resp *resp, const char *name)
{
    for (int i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

void http_resp_free(struct http_resp *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
    if (resp->cookie) {
        memset(resp->cookie, 0, strlen(resp->cookie));
        free(resp->cookie);
        resp->cookie = NULL;
    }
}
