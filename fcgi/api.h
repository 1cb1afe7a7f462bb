/* api: the endpoint handlers, the database connection and what the
 * response cache of one FastCGI process holds.
 *
 * Each handler fills a struct api_resp and returns its HTTP status (nginx
 * style).  Errors are {"error": message, "code": stable name}.  Bodies of
 * /status, /decisions, /decisions/{id}, /workflows/available and /metrics
 * are served from the process's cache (cache.h), which a thread of the
 * process rebuilds on every NOTIFY on orch_state and every CACHE_TTL
 * seconds while they are asked for: a request never waits for a rebuild
 * (stale-while-revalidate); it builds an answer only when nothing at most
 * API_STALE_MAX seconds old is held (the first request for it, or the
 * refresher cannot reach the database).  Time-dependent fields (heartbeat
 * age, worker liveness, seconds until the next decision, the server time)
 * are spliced in per request.  Clients that accept gzip get those bodies
 * (from GZBODY_MIN_BODY bytes) compressed: each is compressed once when it
 * is built and its holes spliced in as stored blocks (gzbody.h).
 * No FastCGI here: route.c reads the request and writes the answer. */
#ifndef API_H
#define API_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

#include "cfg.h"

#define API_STALE_MAX        10.0         /* seconds: older cached answers are rebuilt in the request */
#define API_HEALTH_MAX_AGE   5.0          /* the same for /health (it tells whether the database answers) */
#define API_MAX_PIECES       24
#define API_BODY_MAX         (64 * 1024)  /* request body limit of the control endpoints */

#define API_JSON "application/json"
#define API_PROMETHEUS "text/plain; version=0.0.4"

struct api_ctx;
struct cache;
struct cache_item;

/* The stable "code" of an error answer, for clients that branch on it. */
enum api_code {
    API_CODE_BAD_PARAMETER = 0,      /* 400 */
    API_CODE_UNAUTHORIZED,           /* 401 */
    API_CODE_NOT_FOUND,              /* 404 */
    API_CODE_METHOD_NOT_ALLOWED,     /* 405 */
    API_CODE_PAYLOAD_TOO_LARGE,      /* 413 */
    API_CODE_INTERNAL,               /* 500 */
    API_CODE_CONTROL_DISABLED,       /* 503: no API token configured */
    API_CODE_DATABASE_UNAVAILABLE,   /* 503 */
    API_CODE_CONFLICT,               /* 409: a result that contradicts what is recorded */
    API_CODE_RESULTS_DISABLED,       /* 503: no ORCH_RESULTS_TOKEN configured */
    API_CODE_COUNT
};

/* The name of a code ("bad_parameter", "unauthorized", "not_found",
 * "method_not_allowed", "payload_too_large", "internal_error",
 * "control_disabled", "database_unavailable", "conflict",
 * "results_disabled"); static. */
const char *api_code_name(enum api_code code);

/* One answer.  The body is the concatenation of the pieces, which are
 * borrowed (from the cache, from owned or from scratch) and stay valid until
 * api_resp_clear() or the next api_* call on the same context. */
struct api_resp {
    int status;
    const char *content_type;          /* static */
    const char *header;                /* one extra header line without CRLF (static) or NULL */
    int npieces;
    struct { const char *p; size_t n; } piece[API_MAX_PIECES];
    int gzip;                          /* the pieces are a gzip stream (Content-Encoding: gzip) */
    int vary;                          /* the answer depends on Accept-Encoding */
    json_object *owned;                /* a body built for this answer only (api_resp_clear puts it) */
    struct cache_item *held;           /* the cache entry the pieces come from (api_resp_clear releases it) */
    struct cache *cache;
    int accept_gzip;                   /* in: the client accepts gzip (set after api_resp_clear) */
    char scratch[512];                 /* small spliced values */
    size_t scratch_len;
};

/* Create the context of one process and connect to the database (a failed
 * connection is logged and retried at the next request).  c is borrowed and
 * must outlive the context.  applied_max: memory the processes of the API
 * share (MAP_SHARED, zeroed), where each publishes the newest carried-out
 * control command it has read, so that none answers from an older read
 * than another already did (api_fetch); NULL for a process alone.
 * Returns the context (caller frees with api_free) or NULL when out of
 * memory. */
struct api_ctx *api_new(const struct cfg *c, long long *applied_max);

/* Benchmark: build each cached answer (the state behind /status, /metrics
 * and /health; /decisions?limit=50; /workflows/available) rounds times
 * with the process's connection, as a request that misses the cache
 * would, and print the median, 90th percentile and maximum time of each to
 * out.  Returns 0, or -1 when the database failed. */
int api_fill_bench(struct api_ctx *ctx, int rounds, FILE *out);

/* Close the connection and free the cache; api_free(NULL) is a no-op. */
void api_free(struct api_ctx *ctx);

/* Release what r owns and empty it. */
void api_resp_clear(struct api_resp *r);

/* Fill r with {"error": message, "code": api_code_name(code)} and status.
 * Returns status. */
int api_error(struct api_resp *r, int status, enum api_code code, const char *message);

/* GET handlers; each returns the HTTP status it put in r. */
int api_health(struct api_ctx *ctx, struct api_resp *r);
int api_status(struct api_ctx *ctx, struct api_resp *r);
int api_decisions(struct api_ctx *ctx, const char *query_string, struct api_resp *r);
/* GET /decisions/{id}: id_text is the path's last segment (validated
 * here: 400 when malformed, 404 when no such decision); the query string
 * must be empty. */
int api_decision(struct api_ctx *ctx, const char *id_text, const char *query_string, struct api_resp *r);
int api_workflows(struct api_ctx *ctx, struct api_resp *r);
int api_metrics(struct api_ctx *ctx, struct api_resp *r);

/* Control: first api_control_auth() with the Authorization header (NULL
 * when absent): returns 0 when the caller may go on, else the HTTP status
 * (503 control disabled, 401 with WWW-Authenticate) put in r.  Then, once
 * the body is read, api_control() records command ("start", "stop",
 * "force_decision") from remote_addr (may be NULL) and returns 202, or the
 * error status put in r. */
int api_control_auth(struct api_ctx *ctx, const char *authorization, struct api_resp *r);
int api_control(struct api_ctx *ctx, const char *command, const char *remote_addr, struct api_resp *r);
/* POST /results (n8n workflows report what they found): first
 * api_results_auth() with the Authorization header (NULL when absent):
 * 0 when the caller may go on, else the status put in r (503
 * results_disabled when ORCH_RESULTS_TOKEN is empty, 401 with
 * WWW-Authenticate).  The token is compared in constant time and is a
 * different secret from the control token.  Then api_results() validates
 * body[0 .. len) (results_parse: 400 bad_parameter with "field") and
 * records it (record_result): 201 {"recorded":true,"duplicate":false,
 * "trigger_id","result_id","execution_id","outcome"} the first time, 200
 * with "duplicate":true when the same result was recorded before (nothing
 * changes), 404 for an unknown trigger, 409 conflict when the key,
 * decision or workflow do not match the trigger, or the execution's
 * recorded result differs.  idempotency_key is the Idempotency-Key header
 * (NULL when absent).  Never cached. */
int api_results_auth(struct api_ctx *ctx, const char *authorization, struct api_resp *r);
int api_results(struct api_ctx *ctx, const char *body, size_t len, const char *idempotency_key, struct api_resp *r);
/* POST /claims (after api_results_auth: the same token): a workflow
 * claims its idempotency key as it starts (claims_parse, claim_trigger).
 * 200 {"claimed": true, ...} for the first claim (or the same execution
 * again), 200 {"claimed": false, "duplicate": true, "execution_id": the
 * first one's} for any other; 404 unknown key, 409 another workflow's key
 * or a trigger never sent, 400 bad body. */
int api_claim(struct api_ctx *ctx, const char *body, size_t len, struct api_resp *r);

/* GET /replays?limit= (1 .. 100, default 20; 400 bad_parameter): replay
 * runs newest first with their scorecard summary.  GET /replays/{id}: one
 * run with params and its full scorecard; GET /replays/{id}/svg: its
 * picture as image/svg+xml with a restrictive Content-Security-Policy and
 * nosniff.  item is the path after "/replays/" ("{id}" or "{id}/svg");
 * 404 when unknown.  Not cached (see learning.h). */
int api_replays(struct api_ctx *ctx, const char *query_string, struct api_resp *r);
int api_replay(struct api_ctx *ctx, const char *item, const char *query_string, struct api_resp *r);

/* GET /control/commands/{id} (after api_control_auth): the command's
 * status, result and decision id, 404 when there is none; not cached. */
int api_command(struct api_ctx *ctx, const char *id_text, struct api_resp *r);

#endif
