/* api: the context, the answers and the endpoint handlers; see api.h.
 * The database connection is in api_db.c, the cached bodies in
 * api_body.c, the /status document in api_status.c and what the cache
 * holds in api_cache.c (api_impl.h joins them). */
#include "config.h"
#include "api_impl.h"
#include "auth.h"
#include "claims.h"
#include "learning.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "results.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the context ------------------------------------------------------------ */

struct api_ctx *api_new(const struct cfg *c, long long *applied_max)
{
    struct api_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->cfg = c;
    ctx->applied_max = applied_max ? applied_max : &ctx->applied_own;
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

/* See api_impl.h. */
double api_now(void)
{
    return cache_now();
}

/* ---- answers ------------------------------------------------------------------ */

void api_resp_clear(struct api_resp *r)
{
    json_object_put(r->owned);
    if (r->held)
        cache_release(r->cache, r->held);
    memset(r, 0, offsetof(struct api_resp, scratch));
    r->scratch_len = 0;
}

/* See api_impl.h. */
void api_piece(struct api_resp *r, const char *p, size_t n)
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

/* api_error() with a "field" member naming the offending field (none
 * when field is NULL).  Returns status. */
static int api_error_field(struct api_resp *r, int status, enum api_code code, const char *message,
                           const char *field)
{
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "error", json_object_new_string(message));
        json_object_object_add(o, "code", json_object_new_string(api_code_name(code)));
        if (field)
            json_object_object_add(o, "field", json_object_new_string(field));
    }
    return api_json(r, status, o);
}

int api_error(struct api_resp *r, int status, enum api_code code, const char *message)
{
    return api_error_field(r, status, code, message, NULL);
}

/* See api_impl.h. */
json_object *api_str(const char *s)
{
    return s && *s ? json_object_new_string(s) : NULL;
}

/* ---- handlers ----------------------------------------------------------------- */

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
