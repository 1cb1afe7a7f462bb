/* track: following n8n executions; see track.h.  The workflow list is in
 * track_workflows.c, the stop client in track_stop.c; what they share is
 * declared in track_util.h. */
#include "config.h"
#include "track.h"
#include "track_util.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "timeutil.h"

const char *track_status_name(enum track_status s)
{
    switch (s) {
    case TRACK_STATUS_NEW:      return "new";
    case TRACK_STATUS_RUNNING:  return "running";
    case TRACK_STATUS_WAITING:  return "waiting";
    case TRACK_STATUS_SUCCESS:  return "success";
    case TRACK_STATUS_ERROR:    return "error";
    case TRACK_STATUS_CRASHED:  return "crashed";
    case TRACK_STATUS_CANCELED: return "canceled";
    case TRACK_STATUS_UNKNOWN:  break;
    }
    return "unknown";
}

enum track_status track_status_parse(const char *s)
{
    for (int i = TRACK_STATUS_NEW; s && i < TRACK_STATUS_UNKNOWN; i++)
        if (strcmp(s, track_status_name((enum track_status)i)) == 0)
            return (enum track_status)i;
    return TRACK_STATUS_UNKNOWN;
}

const char *track_strerror(enum track_err e)
{
    switch (e) {
    case TRACK_OK:        return "ok";
    case TRACK_EDISABLED: return "tracking not configured";
    case TRACK_EGONE:     return "execution not found";
    case TRACK_ECONFIG:   return "n8n API configuration error";
    case TRACK_ERETRY:    return "n8n API unavailable, try later";
    case TRACK_EINVALID:  return "invalid execution id or answer";
    }
    return "unknown error";
}

const char *track_outcome(enum track_status st, time_t started, time_t now, long timeout_seconds)
{
    switch (st) {
    case TRACK_STATUS_SUCCESS:  return "succeeded";
    case TRACK_STATUS_ERROR:    return "failed";
    case TRACK_STATUS_CRASHED:  return "crashed";
    case TRACK_STATUS_CANCELED: return "canceled";
    case TRACK_STATUS_NEW:
    case TRACK_STATUS_RUNNING:
    case TRACK_STATUS_WAITING:
    case TRACK_STATUS_UNKNOWN:
        break;
    }
    return (double)now - (double)started >= (double)timeout_seconds ? "timed_out" : NULL;
}

/* ---- shared by track*.c (track_util.h) ------------------------------------ */

/* 1 to TRACK_ID_MAX characters of [A-Za-z0-9_-]: safe in a URL path. */
int track_id_ok(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= TRACK_ID_MAX;
}

/* Copy src into dst (cap bytes): cut at a character boundary, bytes that
 * are not UTF-8 replaced by '?', control characters by spaces. */
void track_copy(char *dst, size_t cap, const char *src)
{
    utf8_copy_clean(dst, cap, src);
}

/* An id from JSON: a string, or an integer written in decimal.  Returns 0
 * with out filled, or -1 (null, another type, or not a valid id). */
int track_json_id(json_object *v, char *out, size_t cap)
{
    char buf[TRACK_ID_MAX + 2];
    if (!v)
        return -1;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        size_t l = strlen(s);
        if (l > TRACK_ID_MAX)
            return -1;
        memcpy(buf, s, l + 1);
    } else if (json_object_is_type(v, json_type_int)) {
        long long n = (long long)json_object_get_int64(v);
        if (n < 0)
            return -1;
        snprintf(buf, sizeof buf, "%lld", n);
    } else {
        return -1;
    }
    size_t l = strlen(buf);
    if (!track_id_ok(buf) || l >= cap)
        return -1;
    memcpy(out, buf, l + 1);
    return 0;
}

/* Parse len bytes of JSON with the given nesting limit; the whole input
 * must be one value (trailing white space allowed).  Returns the object
 * (caller puts) or NULL. */
json_object *track_json_parse(const char *s, size_t len, int depth)
{
    if (!s || len == 0 || len > (size_t)0x7fffffff)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(depth);
    if (!tok)
        return NULL;
    json_object *root = json_tokener_parse_ex(tok, s, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return NULL;
    }
    for (; end < len; end++)
        if (!strchr(" \t\r\n", s[end])) {
            json_object_put(root);
            return NULL;
        }
    return root;
}

/* ---- time ---------------------------------------------------------------- */

int track_parse_time(const char *s, long long *ms)
{
    return tu_parse_iso8601(s, 0, ms);
}

/* ---- configuration ----------------------------------------------------------- */

int track_api_url(const struct cfg *c, char *out, size_t cap)
{
    int n = -1;
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (c->n8n_api_url && *c->n8n_api_url)
        n = snprintf(out, cap, "%s", c->n8n_api_url);
    else if (c->n8n_base_url && *c->n8n_base_url)
        n = snprintf(out, cap, "%s/api/v1", c->n8n_base_url);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return -1;
    }
    /* a trailing slash would double in api + "/executions" */
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

int track_enabled(const struct cfg *c)
{
    return ((c->n8n_api_url && *c->n8n_api_url) || (c->n8n_base_url && *c->n8n_base_url)) &&
           c->n8n_api_key && *c->n8n_api_key;
}

/* Set up a GET of {api}{path}.  Returns 0 or -1 (nothing to free then). */
int track_call_init(struct track_call *k, const struct cfg *c, const char *path)
{
    memset(k, 0, sizeof *k);
    char api[4200];
    if (track_api_url(c, api, sizeof api) < 0)
        return -1;
    size_t ul = strlen(api) + strlen(path) + 1;
    size_t hl = strlen(c->n8n_api_key) + sizeof "X-N8N-API-KEY: ";
    k->url = malloc(ul);
    k->key_header = malloc(hl);
    if (!k->url || !k->key_header) {
        free(k->url);
        free(k->key_header);
        return -1;
    }
    snprintf(k->url, ul, "%s%s", api, path);
    snprintf(k->key_header, hl, "X-N8N-API-KEY: %s", c->n8n_api_key);
    k->headers[0] = k->key_header;
    k->headers[1] = "Accept: application/json";
    k->headers[2] = NULL;
    return 0;
}

void track_call_free(struct track_call *k)
{
    if (k->key_header)
        memset(k->key_header, 0, strlen(k->key_header));
    free(k->key_header);
    free(k->url);
    k->key_header = k->url = NULL;
}

long track_timeout_ms(const struct cfg *c)
{
    return c->webhook_timeout_ms > 0 ? c->webhook_timeout_ms : TRACK_DEFAULT_TIMEOUT_MS;
}

/* The error of an answer that is not a 200 (shared by executions and
 * workflows): sets err (no secret, no URL) and returns the reason.
 * what: "execution", "executions" or "workflows" (track_util.h). */
enum track_err track_http_error(const struct http_resp *r, const char *what, char *err, size_t errlen)
{
    if (r->err != HTTP_OK) {
        snprintf(err, errlen, "n8n API: %s", http_strerror(r->err));
        return TRACK_ERETRY;
    }
    if (r->status == 401) {
        snprintf(err, errlen, "n8n refused the API key (HTTP 401): check N8N_API_KEY");
        return TRACK_ECONFIG;
    }
    if (r->status == 403) {
        snprintf(err, errlen, "n8n API key lacks a scope (HTTP 403): it needs %s",
                 strcmp(what, "execution") == 0    ? "execution:read"
                 : strcmp(what, "executions") == 0 ? "execution:list and execution:read"
                                                   : "workflow:list and workflow:read");
        return TRACK_ECONFIG;
    }
    if (r->status == 404) {
        /* n8n's own 404 for a missing execution is JSON {"message":"Not Found"};
         * anything else means there is no public API at that URL */
        json_object *root = track_json_parse(r->body, r->len, 4);
        json_object *m;
        int n8n = strcmp(what, "execution") == 0 && root && json_object_is_type(root, json_type_object) &&
                  json_object_object_get_ex(root, "message", &m) && json_object_is_type(m, json_type_string) &&
                  strncmp(json_object_get_string(m), "Cannot ", 7) != 0;
        json_object_put(root);
        if (n8n) {
            snprintf(err, errlen, "n8n has no such execution (HTTP 404): pruned, or not saved");
            return TRACK_EGONE;
        }
        snprintf(err, errlen, "no n8n public API there (HTTP 404): check N8N_API_URL (or N8N_BASE_URL) "
                              "and that n8n's public API is enabled");
        return TRACK_ECONFIG;
    }
    if (r->status == 408 || r->status == 429 || r->status >= 500) {
        snprintf(err, errlen, "n8n API: HTTP %ld", r->status);
        return TRACK_ERETRY;
    }
    snprintf(err, errlen, "n8n API: unexpected HTTP %ld", r->status);
    return TRACK_EINVALID;
}

/* ---- executions ---------------------------------------------------------- */

/* A time field: 0 when null, absent or unreadable. */
static long long track_json_time(json_object *o, const char *key)
{
    json_object *v;
    long long ms = 0;
    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
        track_parse_time(json_object_get_string(v), &ms) == 0)
        return ms;
    return 0;
}

enum track_err track_parse_execution(const char *body, size_t len, struct track_exec *out)
{
    long http_status = out->http_status;
    memset(out, 0, sizeof *out);
    out->http_status = http_status;
    out->status = TRACK_STATUS_UNKNOWN;
    enum track_err rc = TRACK_EINVALID;
    json_object *root = track_json_parse(body, len, 16);
    json_object *v;
    if (!root || !json_object_is_type(root, json_type_object)) {
        snprintf(out->error, sizeof out->error, "answer is not a JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(root, "id", &v) || track_json_id(v, out->id, sizeof out->id) < 0) {
        snprintf(out->error, sizeof out->error, "answer has no valid \"id\"");
        goto out;
    }
    int has_finished = json_object_object_get_ex(root, "finished", &v) && json_object_is_type(v, json_type_boolean);
    out->finished = has_finished && json_object_get_boolean(v);
    out->started_ms = track_json_time(root, "startedAt");
    out->stopped_ms = track_json_time(root, "stoppedAt");
    out->wait_till_ms = track_json_time(root, "waitTill");
    if (json_object_object_get_ex(root, "status", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(out->error, sizeof out->error, "\"status\" is not a string");
            goto out;
        }
        out->status = track_status_parse(json_object_get_string(v));
    } else if (out->finished) {        /* n8n before 1.0 has no status */
        out->status = TRACK_STATUS_SUCCESS;
    } else if (out->stopped_ms) {
        out->status = TRACK_STATUS_ERROR;
    } else if (out->wait_till_ms) {
        out->status = TRACK_STATUS_WAITING;
    } else {
        out->status = TRACK_STATUS_RUNNING;
    }
    if (!has_finished)
        out->finished = out->status == TRACK_STATUS_SUCCESS;
    if (json_object_object_get_ex(root, "mode", &v) && json_object_is_type(v, json_type_string))
        track_copy(out->mode, sizeof out->mode, json_object_get_string(v));
    if (json_object_object_get_ex(root, "workflowId", &v))
        (void)track_json_id(v, out->workflow_id, sizeof out->workflow_id);
    if (json_object_object_get_ex(root, "retryOf", &v))
        (void)track_json_id(v, out->retry_of, sizeof out->retry_of);
    rc = TRACK_OK;
out:
    json_object_put(root);
    return rc;
}

/* Classify the answer r to GET executions/{id}, fill out and log.  Returns
 * the reason. */
static enum track_err track_exec_answer(const struct http_resp *r, const char *id, struct track_exec *out)
{
    enum track_err rc;
    memset(out, 0, sizeof *out);
    out->http_status = r->err == HTTP_OK ? r->status : 0;
    if (r->err == HTTP_OK && r->status == 200) {
        rc = track_parse_execution(r->body, r->len, out);
        if (rc == TRACK_OK && strcmp(out->id, id) != 0) {
            snprintf(out->error, sizeof out->error, "answer is for execution %s", out->id);
            rc = TRACK_EINVALID;
        }
    } else {
        rc = track_http_error(r, "execution", out->error, sizeof out->error);
    }
    if (rc != TRACK_OK) {
        char keep[sizeof out->error];
        memcpy(keep, out->error, sizeof keep);
        long st = out->http_status;
        memset(out, 0, sizeof *out);
        memcpy(out->error, keep, sizeof keep);
        out->http_status = st;
        out->status = TRACK_STATUS_UNKNOWN;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    switch (rc) {
    case TRACK_OK:
        if (log_enabled(LOG_DEBUG))
            log_event(LOG_DEBUG, "track.fetched", "s:execution_id s:status b:finished s:workflow_id d:ms",
                      id, track_status_name(out->status), out->finished, out->workflow_id, r->elapsed_ms);
        break;
    case TRACK_EGONE:
        log_event(LOG_INFO, "track.gone", "s:execution_id i:status s:error", id, (long long)out->http_status,
                  out->error);
        break;
    case TRACK_ECONFIG:
        log_event(LOG_ERROR, "track.config_error", "s:execution_id i:status s:error", id,
                  (long long)out->http_status, out->error);
        break;
    case TRACK_EINVALID:
        log_event(LOG_WARN, "track.invalid_answer", "s:execution_id i:status s:error", id,
                  (long long)out->http_status, out->error);
        break;
    case TRACK_ERETRY:
    case TRACK_EDISABLED:
        log_event(LOG_WARN, "track.fetch_failed", "s:execution_id i:status s:error", id,
                  (long long)out->http_status, out->error);
        break;
    }
    return rc;
}

/* Checks shared by track_fetch and track_fetch_many before a request.
 * Returns TRACK_OK or the reason (out filled). */
static enum track_err track_precheck(const struct cfg *c, const char *id, struct track_exec *out)
{
    memset(out, 0, sizeof *out);
    out->status = TRACK_STATUS_UNKNOWN;
    if (!track_enabled(c)) {
        snprintf(out->error, sizeof out->error, "tracking off: N8N_API_KEY or the n8n API URL is not set");
        return TRACK_EDISABLED;
    }
    if (!track_id_ok(id)) {
        snprintf(out->error, sizeof out->error, "not a valid execution id");
        log_event(LOG_WARN, "track.invalid_answer", "s:execution_id i:status s:error", id, 0LL, out->error);
        return TRACK_EINVALID;
    }
    snprintf(out->id, sizeof out->id, "%s", id);
    return TRACK_OK;
}

enum track_err track_fetch(const struct cfg *c, const char *execution_id, struct track_exec *out)
{
    enum track_err rc = track_precheck(c, execution_id, out);
    if (rc != TRACK_OK)
        return rc;
    char path[TRACK_ID_MAX + 16];
    snprintf(path, sizeof path, "/executions/%s", execution_id);
    struct track_call k;
    if (track_call_init(&k, c, path) < 0) {
        snprintf(out->error, sizeof out->error, "out of memory, or the API URL is too long");
        return TRACK_EINVALID;
    }
    struct http_req req = { .method = "GET", .url = k.url, .headers = k.headers,
                            .timeout_ms = track_timeout_ms(c), .max_bytes = TRACK_EXEC_MAX_BYTES };
    struct http_resp r;
    http_perform(&req, &r);
    rc = track_exec_answer(&r, execution_id, out);
    http_resp_free(&r);
    track_call_free(&k);
    return rc;
}

size_t track_fetch_many(const struct cfg *c, const char *const *ids, size_t n,
                        struct track_exec *outs, enum track_err *errs)
{
    size_t ok = 0;
    for (size_t base = 0; base < n; base += TRACK_PARALLEL_MAX) {
        size_t m = n - base < TRACK_PARALLEL_MAX ? n - base : TRACK_PARALLEL_MAX;
        struct track_call calls[TRACK_PARALLEL_MAX];
        struct http_req reqs[TRACK_PARALLEL_MAX];
        struct http_resp resps[TRACK_PARALLEL_MAX];
        size_t which[TRACK_PARALLEL_MAX], nreq = 0;
        for (size_t i = 0; i < m; i++) {
            size_t j = base + i;
            errs[j] = track_precheck(c, ids[j], &outs[j]);
            if (errs[j] != TRACK_OK)
                continue;
            char path[TRACK_ID_MAX + 16];
            snprintf(path, sizeof path, "/executions/%s", ids[j]);
            if (track_call_init(&calls[nreq], c, path) < 0) {
                snprintf(outs[j].error, sizeof outs[j].error, "out of memory, or the API URL is too long");
                errs[j] = TRACK_EINVALID;
                continue;
            }
            reqs[nreq] = (struct http_req){ .method = "GET", .url = calls[nreq].url, .headers = calls[nreq].headers,
                                            .timeout_ms = track_timeout_ms(c),
                                            .max_bytes = TRACK_EXEC_MAX_BYTES };
            which[nreq++] = j;
        }
        if (nreq)
            http_perform_many(reqs, resps, nreq);
        for (size_t q = 0; q < nreq; q++) {
            size_t j = which[q];
            errs[j] = track_exec_answer(&resps[q], ids[j], &outs[j]);
            http_resp_free(&resps[q]);
            track_call_free(&calls[q]);
        }
        for (size_t i = 0; i < m; i++)
            ok += errs[base + i] == TRACK_OK;
    }
    return ok;
}

/* ---- the webhook's answer ---------------------------------------------------- */

char *track_parse_webhook_answer(const char *body)
{
    if (!body)
        return NULL;
    size_t len = strnlen(body, 65536);
    if (len == 65536)
        return NULL;
    json_object *root = track_json_parse(body, len, 16);
    json_object *o = root, *v = NULL;
    char id[TRACK_ID_MAX + 1];
    char *out = NULL;
    if (o && json_object_is_type(o, json_type_array))
        o = json_object_array_length(o) > 0 ? json_object_array_get_idx(o, 0) : NULL;
    if (o && json_object_is_type(o, json_type_object) &&
        (json_object_object_get_ex(o, "execution_id", &v) || json_object_object_get_ex(o, "executionId", &v)) &&
        track_json_id(v, id, sizeof id) == 0)
        out = strdup(id);
    json_object_put(root);
    return out;
}
