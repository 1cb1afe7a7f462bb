/* api_impl: what the api*.c files share (not for other modules).
 *
 * api.c      the context, the answers and the handlers (api.h)
 * api_db.c   the connection of a request that misses the cache
 * api_body.c cached bodies with holes for per-request values, and serving them
 * api_status.c  the /status document
 * api_cache.c   what the cache holds: building its entries, fetching one */
#ifndef API_IMPL_H
#define API_IMPL_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "api.h"
#include "cache.h"
#include "gzbody.h"
#include "query.h"

#define API_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define API_MAX_HOLES 4

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
    long long applied;                 /* the newest carried-out control command when read (query_applied) */
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
    long long *applied_max;            /* the newest `applied` any process of the API has read (api_new) */
    long long applied_own;             /* where applied_max points without one shared */
};

/* ---- api.c ----------------------------------------------------------------- */

/* Monotonic seconds. */
double api_now(void);

/* Append a body piece (borrowed). */
void api_piece(struct api_resp *r, const char *p, size_t n);

/* A string or JSON null for "". Caller frees. */
json_object *api_str(const char *s);

/* ---- api_db.c -------------------------------------------------------------- */

/* Connect and set the session up (no LISTEN: the cache's refresher
 * listens).  Returns 0 or -1 (logged; the next attempt waits
 * API_RECONNECT_SECONDS). */
int api_db_open(struct api_ctx *ctx, double now);

/* Make sure the connection works (it does not LISTEN: the cache's
 * refresher does).  Returns 0 when the database can be used, -1 when it
 * cannot (answer 503). */
int api_db_ready(struct api_ctx *ctx);

/* After a failed query: when the connection broke, drop it and answer
 * 503; otherwise 500.  Returns the status put in r. */
int api_db_failed(struct api_ctx *ctx, struct api_resp *r);

/* ---- api_body.c ------------------------------------------------------------ */

/* Free a cached body and mark it not built. */
void api_body_free(struct api_body *b);

/* A placeholder for a per-request value.  Returns it (caller frees or
 * hands it to a container) or NULL. */
json_object *api_hole(enum api_hole kind);

/* Serialize root into b (holes recorded), read at time at.  root is
 * borrowed.  Returns 0 or -1. */
int api_body_build(struct api_body *b, json_object *root, double at);

/* Compress b's segments for gzip clients now (not in a request later). */
void api_body_gzip(struct api_body *b);

/* Seconds since the worker's heartbeat at monotonic time now, from the
 * state entry e (NAN: no heartbeat, or no state). */
double api_heartbeat_age(const struct api_entry *e, double now);

/* 1 when a heartbeat of this age means the worker is alive: age at most
 * max(30, 6 * HEARTBEAT_SECONDS); 0 without heartbeat. */
int api_alive(const struct api_ctx *ctx, double age);

/* Reserve n bytes of r->scratch.  Returns them, or NULL when full. */
unsigned char *api_scratch(struct api_resp *r, size_t n);

/* Answer with cached body b, filling its holes for time now, then tail
 * (tail_len bytes, borrowed; may be NULL).  Clients that accept gzip get
 * it compressed when b is large enough (b's segments are compressed at
 * the first such answer).  Returns status. */
int api_serve(struct api_ctx *ctx, const struct api_entry *e, struct api_body *b, double now, struct api_resp *r,
              int status, const char *content_type, const char *tail, size_t tail_len);

/* ---- api_status.c ---------------------------------------------------------- */

/* The /status body from st (read at monotonic time at) into out.
 * Returns 0 or -1. */
int api_status_build(const struct cfg *cfg, const struct query_state *st, double at, struct api_body *out);

/* ---- api_cache.c ----------------------------------------------------------- */

/* Free an entry (cache_free_fn). */
void api_entry_free(void *obj);

/* cache_build_fn: the entry of k, read through db (the refresher's
 * connection, or the request's).  Touches nothing of ctx but its
 * configuration: it runs in both threads. */
void *api_build(void *arg, PGconn *db, const struct cache_key *k, double *at, size_t *size);

/* The entry of k for a request at time now: the cached one when its data
 * is at most max_age seconds old (the refresher keeps it fresher) and
 * read after every control command another process of the API has seen
 * carried out (applied_max), else built now with the request's connection
 * and cached (not a decision that is not there: r then holds the 404
 * answer; when that build fails, an entry that is only behind is served).
 * So a client that saw a stop carried out, through any process, never
 * sees the worker running again from an older read of another.  Returns the entry
 * held by r (released with r), or NULL with the error answer in r. */
const struct api_entry *api_fetch(struct api_ctx *ctx, const struct cache_key *k, double now, double max_age,
                                  struct api_resp *r);

#endif
