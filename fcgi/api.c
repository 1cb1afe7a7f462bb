/* api: endpoint handlers and what the per-process cache holds; see api.h. */
#include "config.h"
#include "api.h"
#include "claims.h"
#include "auth.h"
#include "cache.h"
#include "catalog.h"
#include "db.h"
#include "gzbody.h"
#include "learning.h"
#include "watchview.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "query.h"
#include "results.h"
#include "timeutil.h"

#include <json-c/printbuf.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define API_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define API_MAX_HOLES 4
#define API_RECONNECT_SECONDS 1.0
#define API_GZIP_LEVEL 6              /* zlib level of the cached bodies (compressed once per fill) */

/* Values filled per request into a cached body. */
enum api_hole { API_HOLE_AGE = 0, API_HOLE_ALIVE, API_HOLE_NEXT_IN, API_HOLE_NOW };

/* A cached response body, with the offsets where per-request values go. */
struct api_body {
    char *text;                        /* NULL: not built */
    size_t len;
    double at;                         /* monotonic time its data was read */
    int nholes;
    size_t hole_off[API_MAX_HOLES];    /* ascending */
    int hole_kind[API_MAX_HOLES];
    struct gzbody gz;                 /* its gzip segments, built at the first gzip answer */
};

/* What the cache holds for one key (cache.h): for CACHE_STATE the read
 * behind /status, /health and /metrics with the bodies of /status (body)
 * and /metrics; for CACHE_WORKFLOWS and CACHE_DECISIONS the page. */
struct api_entry {
    int kind;                          /* enum cache_kind */
    int status;                        /* of body: 200, or 404 for a decision that is not there */
    struct query_state *st;            /* CACHE_STATE: the read (owned) */
    double at;                         /* monotonic time its data was read */
    struct api_body body;
    struct api_body metrics;           /* CACHE_STATE: the cached part of /metrics */
};

struct api_ctx {
    const struct cfg *cfg;             /* borrowed */
    PGconn *db;                        /* NULL while disconnected: requests that miss the cache */
    int db_fatal;                      /* the server sent FATAL while idle: the connection is ending */
    double retry_at;                   /* monotonic: no connection attempt before */
    double alive_max;                  /* heartbeat age up to which the worker is alive */
    struct cache *cache;               /* the answers, kept fresh by its refresher thread */
};

/* Monotonic seconds. */
static double api_now(void)
{
    return cache_now();
}

/* Free a cached body and mark it not built. */
static void api_body_free(struct api_body *b)
{
    free(b->text);
    gzbody_free(&b->gz);
    memset(b, 0, sizeof *b);
}

/* Free an entry (cache_free_fn). */
static void api_entry_free(void *obj)
{
    struct api_entry *e = obj;
    if (!e)
        return;
    if (e->st) {
        query_state_clear(e->st);
        free(e->st);
    }
    api_body_free(&e->body);
    api_body_free(&e->metrics);
    free(e);
}

/* Close the connection (it broke).  The cache keeps what it holds: its
 * refresher has a connection of its own, and entries age out. */
static void api_db_close(struct api_ctx *ctx)
{
    PQfinish(ctx->db);
    ctx->db = NULL;
}

/* libpq notice receiver: log the server's notices as JSON lines (instead
 * of libpq's plain stderr) and flag a FATAL one, which announces that the
 * server is closing the connection (shutdown, terminated backend). */
static void api_notice(void *arg, const PGresult *res)
{
    struct api_ctx *ctx = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    int fatal = sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0);
    if (fatal)
        ctx->db_fatal = 1;
    log_event(fatal ? LOG_WARN : LOG_DEBUG, "api.db_notice", "s:severity s:message", sev, msg);
}

/* Connect, set the session up and LISTEN.  Returns 0 or -1 (logged; the
 * next attempt waits API_RECONNECT_SECONDS). */
static int api_db_open(struct api_ctx *ctx, double now)
{
    ctx->db = db_connect(ctx->cfg->api_database_url, "orch-api");
    ctx->db_fatal = 0;
    if (ctx->db)
        PQsetNoticeReceiver(ctx->db, api_notice, ctx);
    if (ctx->db && query_session_setup(ctx->db, 0) < 0) {
        PQfinish(ctx->db);
        ctx->db = NULL;
    }
    if (!ctx->db) {
        ctx->retry_at = now + API_RECONNECT_SECONDS;
        return -1;
    }
    log_event(LOG_INFO, "api.db_connected", "i:pid", (long long)getpid());
    return 0;
}

/* Make sure the connection works (it does not LISTEN: the cache's
 * refresher does).  Returns 0 when the database can be used, -1 when it
 * cannot (answer 503). */
static int api_db_ready(struct api_ctx *ctx)
{
    if (ctx->db) {
        int n = db_drain_notifies(ctx->db);
        if (n >= 0 && !ctx->db_fatal && PQstatus(ctx->db) == CONNECTION_OK)
            return 0;
        char msg[200];
        snprintf(msg, sizeof msg, "%s", ctx->db_fatal ? "the server is closing the connection"
                                                     : PQerrorMessage(ctx->db));
        msg[strcspn(msg, "\n")] = '\0';
        log_event(LOG_WARN, "api.db_lost", "s:error", msg);
        api_db_close(ctx);
        return api_db_open(ctx, api_now());         /* at once: a restarted server is back */
    }
    double now = api_now();
    if (now < ctx->retry_at)
        return -1;
    return api_db_open(ctx, now);
}

/* After a failed query: when the connection broke, drop it and answer
 * 503; otherwise 500.  Returns the status put in r. */
static int api_db_failed(struct api_ctx *ctx, struct api_resp *r)
{
    if (ctx->db && (ctx->db_fatal || PQstatus(ctx->db) != CONNECTION_OK)) {
        api_db_close(ctx);
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    }
    return api_error(r, 500, API_CODE_INTERNAL, "database query failed");
}

static void *api_build(void *arg, PGconn *db, const struct cache_key *k, double *at, size_t *size);

struct api_ctx *api_new(const struct cfg *c)
{
    struct api_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->cfg = c;
    ctx->alive_max = 6.0 * (double)c->heartbeat_seconds;
    if (ctx->alive_max < 30.0)
        ctx->alive_max = 30.0;
    ctx->cache = cache_new(c->api_database_url, api_build, api_entry_free, ctx);
    if (!ctx->cache) {
        free(ctx);
        return NULL;
    }
    (void)api_db_open(ctx, api_now());
    return ctx;
}

void api_free(struct api_ctx *ctx)
{
    if (!ctx)
        return;
    cache_free(ctx->cache);
    PQfinish(ctx->db);
    free(ctx);
}

void api_resp_clear(struct api_resp *r)
{
    json_object_put(r->owned);
    if (r->held)
        cache_release(r->cache, r->held);
    memset(r, 0, offsetof(struct api_resp, scratch));
    r->scratch_len = 0;
}

/* Append a body piece (borrowed). */
static void api_piece(struct api_resp *r, const char *p, size_t n)
{
    if (r->npieces < API_MAX_PIECES && n > 0) {
        r->piece[r->npieces].p = p;
        r->piece[r->npieces].n = n;
        r->npieces++;
    }
}

/* Make root the body of r (r takes the reference).  Returns status. */
static int api_json(struct api_resp *r, int status, json_object *root)
{
    size_t len = 0;
    const char *s = root ? json_object_to_json_string_length(root, API_JSON_FLAGS, &len) : NULL;
    r->status = status;
    r->content_type = API_JSON;
    r->owned = root;
    r->npieces = 0;
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        r->status = 500;
        api_piece(r, oom, sizeof oom - 1);
        return 500;
    }
    api_piece(r, s, len);
    return status;
}

const char *api_code_name(enum api_code code)
{
    static const char *const names[API_CODE_COUNT] = {
        [API_CODE_BAD_PARAMETER] = "bad_parameter",
        [API_CODE_UNAUTHORIZED] = "unauthorized",
        [API_CODE_NOT_FOUND] = "not_found",
        [API_CODE_METHOD_NOT_ALLOWED] = "method_not_allowed",
        [API_CODE_PAYLOAD_TOO_LARGE] = "payload_too_large",
        [API_CODE_INTERNAL] = "internal_error",
        [API_CODE_CONTROL_DISABLED] = "control_disabled",
        [API_CODE_DATABASE_UNAVAILABLE] = "database_unavailable",
        [API_CODE_CONFLICT] = "conflict",
        [API_CODE_RESULTS_DISABLED] = "results_disabled",
    };
    return (unsigned)code < API_CODE_COUNT ? names[code] : "internal_error";
}

int api_error(struct api_resp *r, int status, enum api_code code, const char *message)
{
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "error", json_object_new_string(message));
        json_object_object_add(o, "code", json_object_new_string(api_code_name(code)));
    }
    return api_json(r, status, o);
}

/* api_error() with a "field" member naming the offending field.  Returns status. */
static int api_error_field(struct api_resp *r, int status, enum api_code code, const char *message,
                           const char *field)
{
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "error", json_object_new_string(message));
        json_object_object_add(o, "code", json_object_new_string(api_code_name(code)));
        json_object_object_add(o, "field", json_object_new_string(field));
    }
    return api_json(r, status, o);
}

/* ---- cached bodies with holes -------------------------------------------- */

/* The body being serialized, for api_hole_write() (the refresher thread
 * serializes too). */
static _Thread_local struct api_body *api_hole_target;

/* json-c serializer of a hole: writes nothing, records where the value
 * goes.  Returns 0. */
static int api_hole_write(json_object *jso, struct printbuf *pb, int level, int flags)
{
    struct api_body *b = api_hole_target;
    if (!b || b->nholes >= API_MAX_HOLES)
        return printbuf_strappend(pb, "null") < 0 ? -1 : 0;
    b->hole_off[b->nholes] = (size_t)pb->bpos;
    b->hole_kind[b->nholes] = (int)(intptr_t)json_object_get_userdata(jso);
    b->nholes++;
    return 0;
}

/* A placeholder for a per-request value.  Returns it (caller frees or
 * hands it to a container) or NULL. */
static json_object *api_hole(enum api_hole kind)
{
    json_object *o = json_object_new_boolean(0);
    if (o)
        json_object_set_serializer(o, api_hole_write, (void *)(intptr_t)kind, NULL);
    return o;
}

/* Serialize root into b (holes recorded), read at time at.  root is
 * borrowed.  Returns 0 or -1. */
static int api_body_build(struct api_body *b, json_object *root, double at)
{
    size_t len = 0;
    api_body_free(b);
    api_hole_target = b;
    const char *s = json_object_to_json_string_length(root, API_JSON_FLAGS, &len);
    api_hole_target = NULL;
    if (!s)
        goto fail;
    b->text = malloc(len + 1);
    if (!b->text)
        goto fail;
    memcpy(b->text, s, len + 1);
    b->len = len;
    b->at = at;
    return 0;
fail:
    api_body_free(b);
    return -1;
}

/* Seconds since the worker's heartbeat at monotonic time now, from the
 * state entry e (NAN: no heartbeat, or no state). */
static double api_heartbeat_age(const struct api_entry *e, double now)
{
    if (!e || !e->st)
        return NAN;
    double age = e->st->heartbeat_age + (now - e->at);
    return age < 0 ? 0 : age;
}

/* 1 when a heartbeat of this age means the worker is alive: age at most
 * max(30, 6 * HEARTBEAT_SECONDS); 0 without heartbeat. */
static int api_alive(const struct api_ctx *ctx, double age)
{
    return !isnan(age) && age <= ctx->alive_max;
}

/* Format a hole's value for time now into r->scratch.  Returns its
 * length (0: no room), *out pointing at it. */
static size_t api_hole_value(const struct api_ctx *ctx, const struct api_entry *e, int kind, double now, double age,
                             struct api_resp *r, const char **out)
{
    char *p = r->scratch + r->scratch_len;
    size_t room = sizeof r->scratch - r->scratch_len;
    int n;
    switch (kind) {
    case API_HOLE_AGE:
        n = isnan(age) ? snprintf(p, room, "null") : snprintf(p, room, "%.1f", age);
        break;
    case API_HOLE_ALIVE:
        n = snprintf(p, room, "%s", api_alive(ctx, age) ? "true" : "false");
        break;
    case API_HOLE_NOW: {
        struct timespec ts;
        char buf[TU_ISO_LEN];
        clock_gettime(CLOCK_REALTIME, &ts);
        n = snprintf(p, room, "\"%s\"", tu_iso8601_ms((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000L, buf));
        break;
    }
    case API_HOLE_NEXT_IN: {
        double in = e && e->st ? e->st->next_in - (now - e->at) : NAN;
        n = isnan(in) ? snprintf(p, room, "null") : snprintf(p, room, "%lld", in > 0 ? (long long)llround(in) : 0LL);
        break;
    }
    default:
        n = snprintf(p, room, "null");
        break;
    }
    if (n < 0 || (size_t)n >= room)
        return 0;
    r->scratch_len += (size_t)n + 1;
    *out = p;
    return (size_t)n;
}

/* Reserve n bytes of r->scratch.  Returns them, or NULL when full. */
static unsigned char *api_scratch(struct api_resp *r, size_t n)
{
    if (sizeof r->scratch - r->scratch_len < n)
        return NULL;
    unsigned char *p = (unsigned char *)r->scratch + r->scratch_len;
    r->scratch_len += n;
    return p;
}

/* Put the gzip stream of b with values[0 .. b->nholes) and tail in r.
 * Returns 0, or -1 (no room: r is left for the identity answer). */
static int api_serve_gzip(const struct api_body *b, const char *const *val, const size_t *vlen, const char *tail,
                          size_t tail_len, struct api_resp *r)
{
    struct gzbody_emit e;
    size_t mark = r->scratch_len;
    r->npieces = 0;
    api_piece(r, (const char *)gzbody_begin(&e), GZBODY_HEADER_LEN);
    for (int i = 0; i <= b->nholes; i++) {
        const unsigned char *z;
        size_t zn;
        gzbody_segment(&e, &b->gz, i, &z, &zn);
        api_piece(r, (const char *)z, zn);
        const char *lit = i < b->nholes ? val[i] : tail;
        size_t n = i < b->nholes ? vlen[i] : tail_len;
        if (n == 0)
            continue;
        unsigned char *hdr = api_scratch(r, GZBODY_STORED_HDR);
        if (!hdr || gzbody_stored(&e, lit, n, hdr) < 0)
            goto fail;
        api_piece(r, (const char *)hdr, GZBODY_STORED_HDR);
        api_piece(r, lit, n);
    }
    unsigned char *end = api_scratch(r, GZBODY_END_LEN);
    if (!end)
        goto fail;
    gzbody_end(&e, end);
    api_piece(r, (const char *)end, GZBODY_END_LEN);
    if (r->npieces >= API_MAX_PIECES)          /* a piece was dropped: the stream is broken */
        goto fail;
    r->gzip = 1;
    return 0;
fail:
    r->scratch_len = mark;
    r->npieces = 0;
    return -1;
}

/* Answer with cached body b, filling its holes for time now, then tail
 * (tail_len bytes, borrowed; may be NULL).  Clients that accept gzip get
 * it compressed when b is large enough (b's segments are compressed at
 * the first such answer).  Returns status. */
static int api_serve(struct api_ctx *ctx, const struct api_entry *e, struct api_body *b, double now, struct api_resp *r,
                     int status,
                     const char *content_type, const char *tail, size_t tail_len)
{
    double age = api_heartbeat_age(e, now);
    const char *val[API_MAX_HOLES];
    size_t vlen[API_MAX_HOLES];
    r->status = status;
    r->content_type = content_type;
    r->npieces = 0;
    r->vary = 1;
    for (int i = 0; i < b->nholes; i++)
        vlen[i] = api_hole_value(ctx, e, b->hole_kind[i], now, age, r, &val[i]);
    if (r->accept_gzip && b->len >= GZBODY_MIN_BODY) {
        if (!b->gz.z && gzbody_build(&b->gz, b->text, b->len, b->hole_off, b->nholes, API_GZIP_LEVEL) < 0)
            log_event(LOG_WARN, "api.gzip_failed", "i:bytes", (long long)b->len);
        if (b->gz.z && api_serve_gzip(b, val, vlen, tail, tail_len, r) == 0)
            return status;
    }
    size_t pos = 0;
    for (int i = 0; i < b->nholes; i++) {
        api_piece(r, b->text + pos, b->hole_off[i] - pos);
        pos = b->hole_off[i];
        if (vlen[i] > 0)
            api_piece(r, val[i], vlen[i]);
        else
            api_piece(r, "null", 4);
    }
    api_piece(r, b->text + pos, b->len - pos);
    if (tail)
        api_piece(r, tail, tail_len);
    return status;
}

/* A string or JSON null for "". Caller frees. */
static json_object *api_str(const char *s)
{
    return s && *s ? json_object_new_string(s) : NULL;
}

/* A rate rounded to 4 decimals, JSON null when den is 0.  Caller frees. */
static json_object *api_rate(long long num, long long den)
{
    return den > 0 ? query_json_double(round((double)num / (double)den * 10000.0) / 10000.0) : NULL;
}

/* A member of obj, with a new reference, or NULL.  Caller frees. */
static json_object *api_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return obj && json_object_object_get_ex(obj, key, &v) ? json_object_get(v) : NULL;
}

/* The "llm" object of /status: worker_state.llm (configured, providers
 * with their circuits and rate limits, budget use, prompt version and
 * hash) plus agreement_rate {last_24h, overall, compared_24h, compared},
 * fallback_streak, calls_24h, tokens_24h and errors_24h_by_kind, from the
 * decisions and llm_calls tables.  Returns it (caller frees) or NULL. */
static json_object *api_llm_status(const struct query_state *st)
{
    json_object *o = json_object_new_object();
    json_object *agree = json_object_new_object();
    json_object *errors = json_object_new_object();
    if (!o || !agree || !errors) {
        json_object_put(o);
        json_object_put(agree);
        json_object_put(errors);
        return NULL;
    }
    json_object_object_foreach(st->llm, key, val)
        json_object_object_add(o, key, json_object_get(val));
    json_object_object_add(agree, "last_24h", api_rate(st->agreed_24h, st->compared_24h));
    json_object_object_add(agree, "overall", api_rate(st->agreed, st->compared));
    json_object_object_add(agree, "compared_24h", json_object_new_int64(st->compared_24h));
    json_object_object_add(agree, "compared", json_object_new_int64(st->compared));
    json_object_object_add(o, "agreement_rate", agree);
    json_object_object_add(o, "fallback_streak", json_object_new_int64(st->fallback_streak));
    long long calls = 0, tokens = 0;
    for (int i = 0; i < st->nllm; i++) {
        const struct query_llm_group *g = &st->llm_group[i];
        calls += g->calls_24h;
        tokens += g->tokens_24h;
        if (strcmp(g->outcome, "ok") == 0 || g->calls_24h == 0)
            continue;
        json_object *v = NULL;
        if (json_object_object_get_ex(errors, g->outcome, &v))
            json_object_set_int64(v, json_object_get_int64(v) + g->calls_24h);
        else
            json_object_object_add(errors, g->outcome, json_object_new_int64(g->calls_24h));
    }
    json_object_object_add(o, "calls_24h", json_object_new_int64(calls));
    json_object_object_add(o, "tokens_24h", json_object_new_int64(tokens));
    json_object_object_add(o, "errors_24h_by_kind", errors);
    return o;
}

/* The "workflows" object of /status: the unavailable ones, the open
 * circuits, and each workflow's state.  Returns it (caller frees) or NULL. */
static json_object *api_wf_status(const struct query_state *st)
{
    json_object *o = json_object_new_object();
    json_object *un = json_object_new_array(), *open = json_object_new_array(), *each = json_object_new_object();
    if (!o || !un || !open || !each) {
        json_object_put(o);
        json_object_put(un);
        json_object_put(open);
        json_object_put(each);
        return NULL;
    }
    long long running = 0;
    for (int w = 0; w < st->nwf; w++) {
        const struct query_wf_state *q = &st->wf[w];
        const char *path = q->workflow;
        if (!q->present)
            continue;
        running += q->running;
        int n8n_off = q->n8n_active == 0;
        if (!q->available || n8n_off) {
            json_object *u = json_object_new_object();
            json_object_object_add(u, "workflow", json_object_new_string(path));
            json_object_object_add(u, "since", api_str(q->unavailable_since));
            json_object_object_add(u, "reason", !q->available ? api_str(q->unavailable_reason)
                                   : json_object_new_string(q->n8n_id[0] ? "inactive in n8n" : "not found in n8n"));
            json_object_array_add(un, u);
        }
        if (strcmp(q->circuit, "closed") != 0) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "workflow", json_object_new_string(path));
            json_object_object_add(c, "state", json_object_new_string(q->circuit));
            json_object_object_add(c, "open_until", api_str(q->open_until));
            json_object_object_add(c, "consecutive_failures", json_object_new_int64(q->consecutive_failures));
            json_object_array_add(open, c);
        }
        json_object *e = json_object_new_object();
        json_object_object_add(e, "available", json_object_new_boolean(q->available && !n8n_off));
        json_object_object_add(e, "circuit", json_object_new_string(q->circuit));
        json_object_object_add(e, "consecutive_failures", json_object_new_int64(q->consecutive_failures));
        json_object_object_add(e, "open_until", api_str(q->open_until));
        json_object_object_add(e, "concurrency", json_object_new_string(q->concurrency));
        json_object_object_add(e, "running", json_object_new_int64(q->running));
        json_object_object_add(e, "retries", json_object_new_int64(q->retries));
        json_object_object_add(e, "n8n_active", q->n8n_active < 0 ? NULL : json_object_new_boolean(q->n8n_active));
        json_object_object_add(each, path, e);
    }
    json_object_object_add(o, "unavailable", un);
    json_object_object_add(o, "circuits_open", open);
    json_object_object_add(o, "running", json_object_new_int64(running));
    json_object_object_add(o, "by_workflow", each);
    return o;
}

/* worker_state.n8n without its workflow list: {"api_configured",
 * "synced_at", "ok", "error", ...}.  Returns it (caller frees) or NULL. */
static json_object *api_n8n_summary(json_object *n8n)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (n8n && json_object_is_type(n8n, json_type_object)) {
        json_object_object_foreach(n8n, key, val) {
            if (strcmp(key, "workflows") != 0 && strcmp(key, "discovered") != 0)
                json_object_object_add(o, key, json_object_get(val));
        }
    }
    if (!json_object_object_get_ex(o, "api_configured", NULL))
        json_object_object_add(o, "api_configured", NULL);
    return o;
}

/* The /status body from st (read at monotonic time at) into out.
 * Returns 0 or -1. */
static int api_status_build(const struct cfg *cfg, const struct query_state *st, double at, struct api_body *out)
{
    json_object *root = json_object_new_object();
    json_object *worker = json_object_new_object();
    json_object *counts = json_object_new_object();
    json_object *by_source = json_object_new_object();
    json_object *trig = json_object_new_object();
    json_object *by_mode = json_object_new_object();
    int rc = -1;

    if (!root || !worker || !counts || !by_source || !trig || !by_mode) {
        json_object_put(worker);
        json_object_put(counts);
        json_object_put(by_source);
        json_object_put(trig);
        json_object_put(by_mode);
        goto done;
    }
    json_object_object_add(root, "running", json_object_new_boolean(st->running));
    json_object_object_add(root, "dry_run", json_object_new_boolean(st->dry_run));
    json_object_object_add(root, "mode", api_member(st->last_decision, "mode"));
    json_object_object_add(root, "intensity", api_member(st->last_decision, "intensity"));
    json_object_object_add(root, "control_enabled", json_object_new_boolean(cfg->api_token[0] != '\0'));
    json_object_object_add(root, "server_time", api_hole(API_HOLE_NOW));

    json_object_object_add(worker, "pid", st->pid ? json_object_new_int64(st->pid) : NULL);
    json_object_object_add(worker, "hostname", api_str(st->hostname));
    json_object_object_add(worker, "version", api_str(st->version));
    json_object_object_add(worker, "started_at", api_str(st->started_at));
    json_object_object_add(worker, "heartbeat_at", api_str(st->heartbeat_at));
    json_object_object_add(worker, "heartbeat_age_seconds", api_hole(API_HOLE_AGE));
    json_object_object_add(worker, "alive", api_hole(API_HOLE_ALIVE));
    json_object_object_add(root, "worker", worker);

    json_object_object_add(root, "last_decision", st->last_decision ? json_object_get(st->last_decision) : NULL);
    json_object_object_add(root, "next_decision_at", api_str(st->next_decision_at));
    json_object_object_add(root, "next_decision_in_seconds", api_hole(API_HOLE_NEXT_IN));
    json_object_object_add(root, "sources", json_object_get(st->sources));
    json_object_object_add(root, "system_load", query_json_pgnum(st->system_load));
    json_object_object_add(root, "market_volatility", query_json_pgnum(st->market_volatility));

    json_object_object_add(counts, "decisions", json_object_new_int64(st->decisions));
    json_object_object_add(counts, "decisions_24h", json_object_new_int64(st->decisions_24h));
    for (int s = 0; s < SOURCE_COUNT; s++)
        json_object_object_add(by_source, catalog_source_name(s), json_object_new_int64(st->by_source[s]));
    json_object_object_add(counts, "by_source", by_source);
    json_object_object_add(counts, "mode_switches", json_object_new_int64(st->mode_switches));
    for (int i = 0; i < st->ntrig; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(trig, st->trig[i].status, &v))
            json_object_set_int64(v, json_object_get_int64(v) + st->trig[i].n);
        else
            json_object_object_add(trig, st->trig[i].status, json_object_new_int64(st->trig[i].n));
    }
    json_object_object_add(counts, "triggers", trig);
    json_object_object_add(root, "counts", counts);

    json_object_object_add(root, "success_rate",
                           api_rate(st->succeeded, st->succeeded + st->partial + st->failed));
    for (int m = 0; m < MODE_COUNT; m++) {
        json_object *o = json_object_new_object();
        if (!o)
            goto done;
        json_object_object_add(o, "acted", json_object_new_int64(st->mode_acted[m]));
        json_object_object_add(o, "succeeded", json_object_new_int64(st->mode_succeeded[m]));
        json_object_object_add(o, "rate", api_rate(st->mode_succeeded[m], st->mode_acted[m]));
        json_object_object_add(by_mode, catalog_mode_name(m), o);
    }
    json_object_object_add(root, "success_by_mode", by_mode);
    json_object *llm = api_llm_status(st);
    if (!llm)
        goto done;
    json_object_object_add(root, "llm", llm);
    json_object *wfs = api_wf_status(st);
    if (!wfs)
        goto done;
    json_object_object_add(root, "workflows", wfs);
    json_object_object_add(root, "catalog", json_object_get(st->catalog));
    json_object_object_add(root, "n8n", api_n8n_summary(st->n8n));
    json_object *res = json_object_new_object(), *by = json_object_new_object();
    if (!res || !by) {
        json_object_put(res);
        json_object_put(by);
        goto done;
    }
    long long received = 0;
    for (int i = 0; i < st->nresult; i++) {
        received += st->result_group[i].n;
        json_object_object_add(by, st->result_group[i].status, json_object_new_int64(st->result_group[i].n));
    }
    json_object_object_add(res, "received", json_object_new_int64(received));
    json_object_object_add(res, "by_status", by);
    json_object_object_add(res, "opportunities", json_object_new_int64(st->opportunities));
    json_object_object_add(res, "enabled", json_object_new_boolean(cfg->results_token[0] != '\0'));
    json_object_object_add(root, "results", res);
    json_object *al = json_object_get(st->alerts);
    if (al && !json_object_object_get_ex(al, "enabled", NULL))
        json_object_object_add(al, "enabled", json_object_new_boolean(0));
    json_object_object_add(root, "alerts", al);
    json_object_object_add(root, "learning", learning_status(st->learning));
    json_object_object_add(root, "watch", watchview_status(st->watch));
    /* one leader and its standbys; decisions missed while none decided */
    json_object *lead = st->leader, *v;
    json_object_object_add(root, "leader", lead && json_object_object_get_ex(lead, "leader", &v) ? json_object_get(v) : NULL);
    json_object_object_add(root, "standbys", lead && json_object_object_get_ex(lead, "standbys", &v) ? json_object_get(v)
                                                                                                  : json_object_new_array());
    json_object *gaps = json_object_new_object();
    if (!gaps)
        goto done;
    json_object *g;
    json_object_object_add(gaps, "count", lead && json_object_object_get_ex(lead, "gaps", &g) &&
                                          json_object_object_get_ex(g, "count", &v) ? json_object_get(v) : json_object_new_int(0));
    json_object_object_add(gaps, "missed_decisions", lead && json_object_object_get_ex(lead, "gaps", &g) &&
                                                     json_object_object_get_ex(g, "missed_decisions", &v)
                                                     ? json_object_get(v) : json_object_new_int(0));
    json_object_object_add(gaps, "last", lead && json_object_object_get_ex(lead, "last_gap", &v) ? json_object_get(v) : NULL);
    json_object_object_add(root, "missed_decisions", gaps);
    rc = api_body_build(out, root, at);
done:
    json_object_put(root);
    return rc;
}

static int api_decisions_serve(struct api_ctx *ctx, const struct params_decisions *p, struct api_resp *r);

int api_decisions(struct api_ctx *ctx, const char *query_string, struct api_resp *r)
{
    struct params_decisions p;
    char err[PARAMS_ERR_MAX];

    if (params_decisions_parse(query_string, &p, err, sizeof err) < 0)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, err);
    return api_decisions_serve(ctx, &p, r);
}

int api_decision(struct api_ctx *ctx, const char *id_text, const char *query_string, struct api_resp *r)
{
    struct params_decisions p;
    char err[PARAMS_ERR_MAX];

    if (params_decisions_parse(NULL, &p, err, sizeof err) < 0 || params_item_id(id_text, &p.id) < 0)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, "the decision id must be a positive integer");
    if (query_string && *query_string)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, "GET /decisions/{id} takes no parameters");
    return api_decisions_serve(ctx, &p, r);
}

/* ---- what the cache holds (built in the refresher thread, or in a request
 * that found nothing fresh enough) ------------------------------------------- */

/* Compress b's segments for gzip clients now (not in a request later). */
static void api_body_gzip(struct api_body *b)
{
    if (b->text && b->len >= GZBODY_MIN_BODY && !b->gz.z &&
        gzbody_build(&b->gz, b->text, b->len, b->hole_off, b->nholes, API_GZIP_LEVEL) < 0)
        log_event(LOG_WARN, "api.gzip_failed", "i:bytes", (long long)b->len);
}

/* Bytes an entry holds. */
static size_t api_entry_size(const struct api_entry *e)
{
    return sizeof *e + (e->st ? sizeof *e->st : 0) + e->body.len + e->body.gz.zlen + e->metrics.len + e->metrics.gz.zlen;
}

/* The state entry: read, /status and /metrics bodies.  NULL on failure
 * (logged by query.c, or out of memory). */
static struct api_entry *api_state_build(const struct cfg *cfg, PGconn *db)
{
    struct api_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = CACHE_STATE;
    e->status = 200;
    e->st = calloc(1, sizeof *e->st);
    if (!e->st || query_state(db, e->st) < 0) {
        free(e->st);
        free(e);
        return NULL;
    }
    e->at = api_now();
    size_t len = 0;
    e->metrics.text = metrics_render(e->st, cfg->decision_max_seconds, &len);
    e->metrics.len = len;
    e->metrics.at = e->at;
    if (!e->metrics.text || api_status_build(cfg, e->st, e->at, &e->body) < 0) {
        log_event(LOG_ERROR, "api.oom", "s:what", "status");
        api_entry_free(e);
        return NULL;
    }
    api_body_gzip(&e->body);
    api_body_gzip(&e->metrics);
    return e;
}

/* A /decisions page (p->id 0) or one decision (404 entry when it is not
 * there).  NULL on failure. */
static struct api_entry *api_decisions_build(PGconn *db, const struct params_decisions *p)
{
    json_object *root = NULL, *list = NULL;
    long long next_before = 0;
    struct api_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = CACHE_DECISIONS;
    e->status = 200;
    if (p->id) {
        if (query_decision(db, p->id, &root) < 0)
            goto fail;
        if (!root) {
            e->status = 404;
            root = json_object_new_object();
            if (!root)
                goto fail;
            json_object_object_add(root, "error", json_object_new_string("no decision with this id"));
            json_object_object_add(root, "code", json_object_new_string(api_code_name(API_CODE_NOT_FOUND)));
        }
    } else {
        if (query_decisions(db, p, &list, &next_before) < 0)
            goto fail;
        root = json_object_new_object();
        if (!root) {
            json_object_put(list);
            goto fail;
        }
        json_object_object_add(root, "decisions", list);
        json_object_object_add(root, "limit", json_object_new_int(p->limit));
        json_object_object_add(root, "detail", json_object_new_boolean(p->detail));
        json_object_object_add(root, "next_before", next_before ? json_object_new_int64(next_before) : NULL);
    }
    e->at = api_now();
    if (api_body_build(&e->body, root, e->at) < 0)
        goto fail;
    json_object_put(root);
    api_body_gzip(&e->body);
    return e;
fail:
    json_object_put(root);
    api_entry_free(e);
    return NULL;
}

/* The /workflows/available page (built by name in SQL from the catalog
 * in force, query_workflows).  NULL on failure. */
static struct api_entry *api_workflows_build(PGconn *db)
{
    json_object *root = NULL;
    struct api_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = CACHE_WORKFLOWS;
    e->status = 200;
    if (query_workflows(db, &root) < 0) {
        free(e);
        return NULL;
    }
    e->at = api_now();
    if (api_body_build(&e->body, root, e->at) < 0) {
        json_object_put(root);
        api_entry_free(e);
        return NULL;
    }
    json_object_put(root);
    api_body_gzip(&e->body);
    return e;
}

/* cache_build_fn: the entry of k, read through db (the refresher's
 * connection, or the request's).  Touches nothing of ctx but its
 * configuration: it runs in both threads. */
static void *api_build(void *arg, PGconn *db, const struct cache_key *k, double *at, size_t *size)
{
    const struct api_ctx *ctx = arg;
    struct api_entry *e = NULL;
    switch (k->kind) {
    case CACHE_STATE:
        e = api_state_build(ctx->cfg, db);
        break;
    case CACHE_WORKFLOWS:
        e = api_workflows_build(db);
        break;
    case CACHE_DECISIONS:
        e = api_decisions_build(db, &k->p);
        break;
    default:
        break;
    }
    if (e) {
        *at = e->at;
        *size = api_entry_size(e);
    }
    return e;
}

/* The entry of k for a request at time now: the cached one when its data
 * is at most max_age seconds old (the refresher keeps it fresher), else
 * built now with the request's connection and cached.  404 entries of a
 * decision are not cached (*uncached then holds it).  Returns the entry
 * held by r (released with r), or NULL with the error answer in r. */
static const struct api_entry *api_fetch(struct api_ctx *ctx, const struct cache_key *k, double now, double max_age,
                                         struct api_resp *r)
{
    struct cache_item *it = cache_get(ctx->cache, k, now, max_age);
    if (!it) {
        if (api_db_ready(ctx) < 0) {
            api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
            return NULL;
        }
        double at = 0;
        size_t size = 0;
        struct api_entry *e = api_build(ctx, ctx->db, k, &at, &size);
        if (!e) {
            api_db_failed(ctx, r);
            return NULL;
        }
        if (e->status == 404) {                  /* not worth a slot: anyone can ask for any id */
            api_entry_free(e);
            api_error(r, 404, API_CODE_NOT_FOUND, "no decision with this id");
            return NULL;
        }
        it = cache_put(ctx->cache, k, e, at, size);
        if (!it) {
            api_error(r, 500, API_CODE_INTERNAL, "out of memory");
            return NULL;
        }
    }
    r->held = it;
    r->cache = ctx->cache;
    return it->obj;
}

static int api_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int api_fill_bench(struct api_ctx *ctx, int rounds, FILE *out)
{
    static const char *const names[] = { "state (/status, /metrics, /health)", "/decisions?limit=50",
                                         "/workflows/available" };
    if (rounds < 1 || rounds > 100000 || api_db_ready(ctx) < 0)
        return -1;
    double *ms = calloc((size_t)rounds, sizeof *ms);
    if (!ms)
        return -1;
    int rc = 0;
    for (int kind = 0; kind < 3 && rc == 0; kind++) {
        struct cache_key k;
        memset(&k, 0, sizeof k);
        k.kind = kind == 0 ? CACHE_STATE : kind == 1 ? CACHE_DECISIONS : CACHE_WORKFLOWS;
        k.p.limit = 50;
        k.p.mode = -1;
        for (int i = 0; i < rounds; i++) {
            double at = 0, t0 = api_now();
            size_t size = 0;
            void *e = api_build(ctx, ctx->db, &k, &at, &size);
            ms[i] = (api_now() - t0) * 1000.0;
            if (!e) {
                rc = -1;
                break;
            }
            api_entry_free(e);
        }
        if (rc == 0) {
            qsort(ms, (size_t)rounds, sizeof *ms, api_cmp_double);
            fprintf(out, "fill %-36s median %7.3f ms  p90 %7.3f ms  max %7.3f ms  (%d fills)\n", names[kind],
                    ms[rounds / 2], ms[(rounds * 9) / 10], ms[rounds - 1], rounds);
        }
    }
    free(ms);
    return rc;
}

/* ---- handlers ------------------------------------------------------------ */

static const struct cache_key api_state_key = { .kind = CACHE_STATE };
static const struct cache_key api_workflows_key = { .kind = CACHE_WORKFLOWS };

int api_health(struct api_ctx *ctx, struct api_resp *r)
{
    double now = api_now();
    const struct api_entry *e = api_fetch(ctx, &api_state_key, now, API_HEALTH_MAX_AGE, r);
    if (!e) {
        if (r->status != 503)
            return r->status;
        json_object *root = json_object_new_object();
        if (!root)
            return api_error(r, 500, API_CODE_INTERNAL, "out of memory");
        json_object_object_add(root, "status", json_object_new_string("error"));
        json_object_object_add(root, "database", json_object_new_string("unreachable"));
        json_object_object_add(root, "worker", NULL);
        json_object_put(r->owned);              /* the error api_fetch put there */
        r->owned = NULL;
        return api_json(r, 503, root);
    }
    json_object *root = json_object_new_object();
    json_object *worker = json_object_new_object();
    if (!root || !worker) {
        json_object_put(root);
        json_object_put(worker);
        return api_error(r, 500, API_CODE_INTERNAL, "out of memory");
    }
    double age = api_heartbeat_age(e, now);
    int alive = api_alive(ctx, age);
    json_object_object_add(root, "status", json_object_new_string(alive ? "ok" : "degraded"));
    json_object_object_add(root, "database", json_object_new_string("ok"));
    json_object_object_add(worker, "alive", json_object_new_boolean(alive));
    json_object_object_add(worker, "heartbeat_at", api_str(e->st->heartbeat_at));
    json_object_object_add(worker, "heartbeat_age_seconds",
                           isnan(age) ? NULL : query_json_double(round(age * 10.0) / 10.0));
    json_object_object_add(root, "worker", worker);
    return api_json(r, alive ? 200 : 503, root);
}

int api_status(struct api_ctx *ctx, struct api_resp *r)
{
    double now = api_now();
    const struct api_entry *e = api_fetch(ctx, &api_state_key, now, API_STALE_MAX, r);
    if (!e)
        return r->status;
    return api_serve(ctx, e, (struct api_body *)&e->body, now, r, 200, API_JSON, NULL, 0);
}

int api_metrics(struct api_ctx *ctx, struct api_resp *r)
{
    double now = api_now();
    const struct api_entry *e = api_fetch(ctx, &api_state_key, now, API_STALE_MAX, r);
    if (!e)
        return r->status;
    char *line = (char *)api_scratch(r, METRICS_LIVE_MAX);
    size_t n = line ? metrics_render_live(api_heartbeat_age(e, now), line, METRICS_LIVE_MAX) : 0;
    return api_serve(ctx, e, (struct api_body *)&e->metrics, now, r, 200, API_PROMETHEUS, n > 0 ? line : NULL, n);
}

/* Answer /decisions (p->id 0) or /decisions/{id}.  Returns the status put in r. */
static int api_decisions_serve(struct api_ctx *ctx, const struct params_decisions *p, struct api_resp *r)
{
    struct cache_key k;
    memset(&k, 0, sizeof k);                    /* keys are compared as bytes, padding included */
    k.kind = CACHE_DECISIONS;
    k.p.limit = p->limit;
    k.p.before = p->before;
    k.p.mode = p->mode;
    k.p.detail = p->detail;
    k.p.id = p->id;
    double now = api_now();
    const struct api_entry *e = api_fetch(ctx, &k, now, API_STALE_MAX, r);
    if (!e)
        return r->status;
    return api_serve(ctx, NULL, (struct api_body *)&e->body, now, r, e->status, API_JSON, NULL, 0);
}

int api_workflows(struct api_ctx *ctx, struct api_resp *r)
{
    double now = api_now();
    const struct api_entry *e = api_fetch(ctx, &api_workflows_key, now, API_STALE_MAX, r);
    if (!e)
        return r->status;
    return api_serve(ctx, NULL, (struct api_body *)&e->body, now, r, 200, API_JSON, NULL, 0);
}

int api_control_auth(struct api_ctx *ctx, const char *authorization, struct api_resp *r)
{
    enum auth_result a = auth_check(ctx->cfg->api_token, authorization);
    switch (a) {
    case AUTH_OK:
        return 0;
    case AUTH_DISABLED:
        return api_error(r, 503, API_CODE_CONTROL_DISABLED, auth_strerror(a));
    case AUTH_MISSING:
    case AUTH_BAD_SCHEME:
    case AUTH_WRONG:
        break;
    }
    api_error(r, 401, API_CODE_UNAUTHORIZED, auth_strerror(a));
    r->header = "WWW-Authenticate: Bearer";
    return 401;
}

int api_control(struct api_ctx *ctx, const char *command, const char *remote_addr, struct api_resp *r)
{
    long long id = 0;
    char at[QUERY_TS_MAX];

    if (api_db_ready(ctx) < 0)
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    if (query_control_insert(ctx->db, command, remote_addr, &id, at) < 0)
        return api_db_failed(ctx, r);
    log_event(LOG_INFO, "api.control", "s:command i:command_id s:remote_addr", command, id, remote_addr);
    json_object *root = json_object_new_object();
    if (!root)
        return api_error(r, 500, API_CODE_INTERNAL, "out of memory");
    json_object_object_add(root, "command_id", json_object_new_int64(id));
    json_object_object_add(root, "command", json_object_new_string(command));
    json_object_object_add(root, "status", json_object_new_string("pending"));
    json_object_object_add(root, "requested_at", api_str(at));
    return api_json(r, 202, root);
}

int api_replays(struct api_ctx *ctx, const char *query_string, struct api_resp *r)
{
    char err[LEARNING_ERR_MAX];
    int limit;
    json_object *o = NULL;

    if (learning_replays_parse(query_string, &limit, err, sizeof err) < 0)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, err);
    if (api_db_ready(ctx) < 0)
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    if (query_replays(ctx->db, limit, &o) < 0)
        return api_db_failed(ctx, r);
    return api_json(r, 200, o);
}

int api_replay(struct api_ctx *ctx, const char *item, const char *query_string, struct api_resp *r)
{
    long long id;
    int svg = 0;
    int rc = learning_replay_item(item, &id, &svg);
    if (rc == -2)
        return api_error(r, 404, API_CODE_NOT_FOUND, "not found");
    if (rc < 0)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, "the replay id must be a positive integer");
    if (query_string && *query_string)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, "this endpoint takes no parameters");
    if (api_db_ready(ctx) < 0)
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    if (!svg) {
        json_object *o = NULL;
        if (query_replay(ctx->db, id, &o) < 0)
            return api_db_failed(ctx, r);
        if (!o)
            return api_error(r, 404, API_CODE_NOT_FOUND, "no replay run with this id");
        return api_json(r, 200, o);
    }
    char *text = NULL;
    size_t len = 0;
    if (query_replay_svg(ctx->db, id, &text, &len) < 0)
        return api_db_failed(ctx, r);
    if (!text)
        return api_error(r, 404, API_CODE_NOT_FOUND, "no picture for this replay id");
    /* the picture is owned by r as a JSON string object, served as is */
    json_object *holder = json_object_new_string_len(text, (int)len);
    free(text);
    if (!holder)
        return api_error(r, 500, API_CODE_INTERNAL, "out of memory");
    r->status = 200;
    r->content_type = LEARNING_SVG_TYPE;
    r->header = LEARNING_SVG_HEADERS;
    r->owned = holder;
    r->npieces = 0;
    api_piece(r, json_object_get_string(holder), (size_t)json_object_get_string_len(holder));
    return 200;
}

int api_command(struct api_ctx *ctx, const char *id_text, struct api_resp *r)
{
    long long id;
    json_object *o = NULL;

    if (params_item_id(id_text, &id) < 0)
        return api_error(r, 400, API_CODE_BAD_PARAMETER, "the command id must be a positive integer");
    if (api_db_ready(ctx) < 0)
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    if (query_control_get(ctx->db, id, &o) < 0)
        return api_db_failed(ctx, r);
    if (!o)
        return api_error(r, 404, API_CODE_NOT_FOUND, "no control command with this id");
    return api_json(r, 200, o);
}

int api_results_auth(struct api_ctx *ctx, const char *authorization, struct api_resp *r)
{
    enum auth_result a = auth_check(ctx->cfg->results_token, authorization);
    switch (a) {
    case AUTH_OK:
        return 0;
    case AUTH_DISABLED:
        return api_error(r, 503, API_CODE_RESULTS_DISABLED, "results are disabled: ORCH_RESULTS_TOKEN is not set");
    case AUTH_MISSING:
    case AUTH_BAD_SCHEME:
    case AUTH_WRONG:
        break;
    }
    api_error(r, 401, API_CODE_UNAUTHORIZED, a == AUTH_WRONG ? "invalid results token" : auth_strerror(a));
    r->header = "WWW-Authenticate: Bearer";
    return 401;
}

int api_claim(struct api_ctx *ctx, const char *body, size_t len, struct api_resp *r)
{
    struct claims_in in;
    const char *field = NULL;
    char err[CLAIMS_ERR_MAX];
    if (claims_parse(body, len, &in, &field, err, sizeof err) < 0)
        return api_error_field(r, 400, API_CODE_BAD_PARAMETER, err, field ? field : "body");
    if (api_db_ready(ctx) < 0)
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    struct query_claim_rec rec;
    if (query_claim(ctx->db, in.idempotency_key, in.execution_id, in.workflow, &rec) < 0)
        return api_db_failed(ctx, r);
    char msg[200];
    if (strcmp(rec.verdict, "unknown_key") == 0)
        return api_error_field(r, 404, API_CODE_NOT_FOUND, "no trigger has this idempotency key", "idempotency_key");
    if (strcmp(rec.verdict, "mismatch") == 0) {
        snprintf(msg, sizeof msg, "the key belongs to trigger %lld of another workflow", rec.trigger_id);
        return api_error_field(r, 409, API_CODE_CONFLICT, msg, "workflow");
    }
    if (strcmp(rec.verdict, "not_sent") == 0) {
        snprintf(msg, sizeof msg, "trigger %lld was never sent: its key cannot be claimed", rec.trigger_id);
        return api_error_field(r, 409, API_CODE_CONFLICT, msg, "idempotency_key");
    }
    int dup = strcmp(rec.verdict, "duplicate") == 0;
    log_event(dup ? LOG_WARN : LOG_INFO, dup ? "api.claim_duplicate" : "api.claimed",
              "i:trigger_id s:execution_id s:claimed_by", rec.trigger_id, in.execution_id, rec.execution_id);
    json_object *o = json_object_new_object();
    if (!o)
        return api_error(r, 500, API_CODE_INTERNAL, "out of memory");
    json_object_object_add(o, "claimed", json_object_new_boolean(!dup));
    json_object_object_add(o, "duplicate", json_object_new_boolean(dup));
    json_object_object_add(o, "idempotency_key", json_object_new_string(in.idempotency_key));
    json_object_object_add(o, "trigger_id", json_object_new_int64(rec.trigger_id));
    json_object_object_add(o, "decision_id", json_object_new_int64(rec.decision_id));
    json_object_object_add(o, "execution_id", json_object_new_string(rec.execution_id));
    json_object_object_add(o, "claimed_at", api_str(rec.claimed_at));
    return api_json(r, 200, o);
}

int api_results(struct api_ctx *ctx, const char *body, size_t len, const char *idempotency_key, struct api_resp *r)
{
    struct results_in in;
    json_object *doc = NULL;
    const char *field = NULL;
    char err[RESULTS_ERR_MAX];
    if (results_parse(body, len, idempotency_key, &in, &doc, &field, err, sizeof err) < 0) {
        return api_error_field(r, 400, API_CODE_BAD_PARAMETER, err, field ? field : "body");
    }
    if (api_db_ready(ctx) < 0) {
        json_object_put(doc);
        return api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
    }
    struct query_result_rec rec;
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    int q = text ? query_record_result(ctx->db, &in, text, &rec) : -1;
    json_object_put(doc);
    doc = NULL;
    if (q < 0)
        return api_db_failed(ctx, r);
    char msg[200];
    if (strcmp(rec.outcome, "unknown_trigger") == 0) {
        snprintf(msg, sizeof msg, "no trigger with id %lld", in.trigger_id);
        return api_error(r, 404, API_CODE_NOT_FOUND, msg);
    }
    if (strcmp(rec.outcome, "mismatch") == 0) {
        snprintf(msg, sizeof msg, "%s does not match trigger %lld", rec.mismatch[0] ? rec.mismatch : "the result",
                 in.trigger_id);
        return api_error_field(r, 409, API_CODE_CONFLICT, msg, rec.mismatch[0] ? rec.mismatch : "body");
    }
    if (strcmp(rec.outcome, "conflict") == 0) {
        snprintf(msg, sizeof msg, "execution %s of trigger %lld already reported a different result",
                 in.execution_id, in.trigger_id);
        return api_error(r, 409, API_CODE_CONFLICT, msg);
    }
    int dup = strcmp(rec.outcome, "duplicate") == 0;
    int status = dup ? 200 : 201;
    log_event(LOG_INFO, dup ? "api.result_duplicate" : "api.result_recorded",
              "i:trigger_id s:execution_id s:status i:opportunities s:outcome b:extra_execution",
              in.trigger_id, in.execution_id, in.success ? "success" : "error", (long long)in.opportunities,
              rec.trigger_outcome[0] ? rec.trigger_outcome : NULL, strcmp(rec.outcome, "extra") == 0);
    json_object *o = json_object_new_object();
    if (!o)
        return api_error(r, 500, API_CODE_INTERNAL, "out of memory");
    json_object_object_add(o, "recorded", json_object_new_boolean(!dup));
    json_object_object_add(o, "duplicate", json_object_new_boolean(dup));
    json_object_object_add(o, "trigger_id", json_object_new_int64(in.trigger_id));
    json_object_object_add(o, "result_id", rec.result_id ? json_object_new_int64(rec.result_id) : NULL);
    json_object_object_add(o, "execution_id", json_object_new_string(in.execution_id));
    json_object_object_add(o, "outcome", api_str(rec.trigger_outcome));
    json_object_object_add(o, "extra_execution", json_object_new_boolean(strcmp(rec.outcome, "extra") == 0));
    return api_json(r, status, o);
}
