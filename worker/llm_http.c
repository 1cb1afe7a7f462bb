/* llm_http: what a provider's HTTP answer says, checked where it enters:
 * the rate-limit headers (llm_read_limits, llm_parse_duration) and the
 * chat-completion body (llm_parse_completion); see llm.h.  No I/O but
 * the log line of a clamped retry-after; fuzzed by tests/fuzz/fuzz_llm_http.c. */
#include "config.h"
#include "llm.h"
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define LLM_JSON_DEPTH 32

static json_object *llm_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

double llm_parse_duration(const char *s)
{
    if (!s || !*s)
        return -1;
    double total = 0;
    int parts = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || v < 0)
            return -1;
        s = end;
        if (strncmp(s, "ms", 2) == 0) { total += v / 1000.0; s += 2; }
        else if (*s == 'h') { total += v * 3600; s++; }
        else if (*s == 'm') { total += v * 60; s++; }
        else if (*s == 's') { total += v; s++; }
        else if (*s == '\0' && parts == 0) { total += v; }   /* bare seconds, as retry-after */
        else return -1;
        parts++;
    }
    return isfinite(total) ? total : -1;     /* "1e308h" overflows */
}

/* A count header ("14399"): digits only, clamped to LLM_MAX_REMAINING.
 * Returns the count, or -1 when v is not one. */
static long llm_count(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strspn(v, "0123456789");
    if (n == 0 || v[n + strspn(v + n, " \t")] != '\0')
        return -1;
    errno = 0;
    long long c = strtoll(v, NULL, 10);
    return errno == ERANGE || c > LLM_MAX_REMAINING ? LLM_MAX_REMAINING : (long)c;
}

/* A duration header as seconds within [0, max]; -1 when unreadable.
 * *clamped is set when it was longer than max. */
static double llm_duration_within(const char *v, double max, int *clamped)
{
    double d = v ? llm_parse_duration(v) : -1;
    *clamped = d > max;
    return d > max ? max : d;
}

void llm_read_limits(struct llm_provider *p, long status, const struct llm_limit_headers *h, time_t now)
{
    long n;
    int clamped;
    if (h->remaining_requests && (n = llm_count(h->remaining_requests)) >= 0)
        p->remaining_requests = n;
    if (h->remaining_tokens && (n = llm_count(h->remaining_tokens)) >= 0)
        p->remaining_tokens = n;
    double d = llm_duration_within(h->reset_requests, LLM_MAX_RESET_SECONDS, &clamped);
    if (d >= 0)
        p->requests_reset_at = now + (time_t)ceil(d);
    d = llm_duration_within(h->reset_tokens, LLM_MAX_RESET_SECONDS, &clamped);
    if (d >= 0)
        p->tokens_reset_at = now + (time_t)ceil(d);
    if (status == 429) {
        d = llm_duration_within(h->retry_after, LLM_MAX_HOLD_SECONDS, &clamped);
        p->retry_after_s = d >= 0 ? d : 5;
        p->retry_after_until = now + (time_t)ceil(p->retry_after_s);
        if (clamped) {
            char said[40];
            utf8_copy_clean(said, sizeof said, h->retry_after);
            log_event(LOG_WARN, "llm.retry_after_clamped", "s:provider s:retry_after i:held_seconds",
                      p->name, said, (long long)LLM_MAX_HOLD_SECONDS);
        }
    }
}

enum llm_err llm_parse_completion(long status, const char *body, size_t len, struct llm_call *call, char **content)
{
    enum llm_err e = LLM_OK;
    json_object *root = NULL;
    *content = NULL;
    if (body && len <= LLM_MAX_BODY && len == strlen(body)) {
        json_tokener *tok = json_tokener_new_ex(LLM_JSON_DEPTH);
        if (tok) {
            root = json_tokener_parse_ex(tok, body, (int)len);
            if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(root);
                root = NULL;
            }
            json_tokener_free(tok);
        }
    }
    if (status != 200) {
        json_object *er = llm_get(root, "error");
        json_object *msg = llm_get(er, "message"), *code = llm_get(er, "code");
        const char *codes = code && json_object_is_type(code, json_type_string) ? json_object_get_string(code) : "";
        if (status == 429)
            e = LLM_ERATELIMIT;
        else if (status >= 500 || status == 498 || status == 499 || status == 424)
            e = LLM_ESERVER;   /* Groq: 498 capacity exceeded, 499 cancelled, 424 upstream failed */
        else if (status == 400 && strcmp(codes, "json_validate_failed") == 0)
            e = LLM_EJSONMODE;
        else
            e = LLM_EREQUEST;
        snprintf(call->error, sizeof call->error, "HTTP %ld%s%.120s", status, msg ? ": " : "",
                 msg && json_object_is_type(msg, json_type_string) ? json_object_get_string(msg) : "");
        /* json_validate_failed: what the model wrote, for the audit */
        json_object *fg = llm_get(er, "failed_generation");
        if (e == LLM_EJSONMODE && fg && json_object_is_type(fg, json_type_string)) {
            const char *g = json_object_get_string(fg);
            *content = strndup(g, utf8_cut(g, strlen(g), LLM_MAX_RAW));
            if (*content)
                utf8_clean(*content);
        }
        goto out;
    }
    json_object *choices = llm_get(root, "choices");
    json_object *c0 = choices && json_object_is_type(choices, json_type_array) &&
                      json_object_array_length(choices) > 0 ? json_object_array_get_idx(choices, 0) : NULL;
    json_object *msg = llm_get(c0, "message");
    if (!root || !c0 || !msg) {
        e = LLM_EMALFORMED;
        snprintf(call->error, sizeof call->error, "not a chat completion");
        goto out;
    }
    json_object *usage = llm_get(root, "usage");
    json_object *pt = llm_get(usage, "prompt_tokens"), *ct = llm_get(usage, "completion_tokens");
    /* counted in the budget: bounded, so that no sum of them overflows */
    if (pt && json_object_is_type(pt, json_type_int) && json_object_get_int64(pt) >= 0)
        call->prompt_tokens = (long)(json_object_get_int64(pt) > LLM_MAX_CALL_TOKENS ? LLM_MAX_CALL_TOKENS
                                                                                    : json_object_get_int64(pt));
    if (ct && json_object_is_type(ct, json_type_int) && json_object_get_int64(ct) >= 0)
        call->completion_tokens = (long)(json_object_get_int64(ct) > LLM_MAX_CALL_TOKENS ? LLM_MAX_CALL_TOKENS
                                                                                        : json_object_get_int64(ct));
    json_object *fin = llm_get(c0, "finish_reason");
    json_object *txt = llm_get(msg, "content");
    if (txt && json_object_is_type(txt, json_type_string)) {
        const char *s = json_object_get_string(txt);
        *content = strndup(s, utf8_cut(s, strlen(s), LLM_MAX_RAW));
        if (*content)
            utf8_clean(*content);    /* stored and shown: PostgreSQL takes only UTF-8 */
    }
    if (fin && json_object_is_type(fin, json_type_string) && strcmp(json_object_get_string(fin), "length") == 0) {
        e = LLM_ELENGTH;
        snprintf(call->error, sizeof call->error, "answer cut off (finish_reason length)");
    } else if (!*content || !**content) {
        e = LLM_EEMPTY;
        snprintf(call->error, sizeof call->error, "no content");
    }
out:
    call->err = e;
    utf8_clean(call->error);
    json_object_put(root);
    return e;
}
