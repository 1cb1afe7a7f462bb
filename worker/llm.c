/* llm: OpenAI-compatible decisions with failover, budgets and strict
 * validation; see llm.h. */
#include "config.h"
#include "llm.h"
#include "http.h"
#include "log.h"
#include "timeutil.h"
#include "utf8.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLM_MAX_ATTEMPTS 3
#define LLM_MAX_RETRY_AFTER 10.0
#define LLM_MAX_REASON 400

static const char *const llm_err_names[LLM_ERR_COUNT] = {
    "ok", "not_configured", "budget", "circuit_open", "rate_limited", "timeout", "transport",
    "server_error", "request_error", "json_validate_failed", "malformed", "length", "empty",
    "invalid", "rejected",
};

const char *llm_strerror(enum llm_err e)
{
    return (unsigned)e < LLM_ERR_COUNT ? llm_err_names[e] : "unknown";
}

static void llm_add_provider(struct llm_client *cl, const char *name, const char *url, const char *key,
                             const char *model, int need_key)
{
    if (!url || !*url || (need_key && (!key || !*key)) || cl->nproviders >= LLM_MAX_PROVIDERS)
        return;
    struct llm_provider *p = &cl->providers[cl->nproviders++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->base_url = url;
    p->api_key = key ? key : "";
    p->model = model;
    p->remaining_requests = p->remaining_tokens = -1;
}

void llm_init(struct llm_client *cl, const struct cfg *c)
{
    memset(cl, 0, sizeof *cl);
    cl->cfg = c;
    cl->day = -1;
    llm_add_provider(cl, "groq", c->groq_base_url, c->groq_api_key, c->groq_model, 1);
    llm_add_provider(cl, "openai", c->openai_base_url, c->openai_api_key, c->openai_model, 1);
    llm_add_provider(cl, "custom", c->llm_base_url, c->llm_api_key, c->llm_model, 0);
}

int llm_configured(const struct llm_client *cl)
{
    return cl->nproviders > 0 && cl->cfg->llm_max_calls_per_hour > 0;
}

/* Move the budget's clock forward to now (never back: past calls added
 * at startup, or a replay's simulated clock, keep it where it was): drop
 * call timestamps older than an hour and roll the token day. */
static void llm_budget_roll(struct llm_client *cl, time_t now)
{
    if (now < cl->clock)
        now = cl->clock;
    cl->clock = now;
    int k = 0;
    for (int i = 0; i < cl->ncalls_hour; i++)
        if (cl->call_times[i] > now - 3600)
            cl->call_times[k++] = cl->call_times[i];
    cl->ncalls_hour = k;
    long day = (long)(now / 86400);
    if (day != cl->day) {
        cl->day = day;
        cl->tokens_today = 0;
    }
}

void llm_budget_add(struct llm_client *cl, time_t at, long tokens)
{
    llm_budget_roll(cl, at);
    int cap = (int)(sizeof cl->call_times / sizeof cl->call_times[0]);
    if (at > cl->clock - 3600 && cl->ncalls_hour < cap)
        cl->call_times[cl->ncalls_hour++] = at;
    if ((long)(at / 86400) == cl->day && tokens > 0)
        cl->tokens_today += tokens;
}

int llm_calls_last_hour(struct llm_client *cl, time_t now)
{
    llm_budget_roll(cl, now);
    return cl->ncalls_hour;
}

long llm_tokens_today(struct llm_client *cl, time_t now)
{
    llm_budget_roll(cl, now);
    return cl->tokens_today;
}

const char *llm_circuit_state(const struct llm_provider *p, time_t now)
{
    return breaker_name(breaker_state_at(&p->breaker, now));
}

void llm_outcome_clear(struct llm_outcome *oc)
{
    free(oc->raw);
    oc->raw = NULL;
}

/* ---- parsing the model's answer ------------------------------------------ */

/* Copy content without <think>...</think> blocks into a new string (caller
 * frees).  An unterminated <think> hides the rest. */
static char *llm_strip_think(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    while (*s) {
        if (strncmp(s, "<think>", 7) == 0) {
            const char *e = strstr(s + 7, "</think>");
            if (!e)
                break;
            s = e + 8;
            continue;
        }
        out[k++] = *s++;
    }
    out[k] = '\0';
    return out;
}

/* Find the first balanced {...} in s (honouring JSON strings).  Sets
 * *start and *len; returns 0, or -1 (none) / -2 (unterminated). */
static int llm_find_object(const char *s, const char **start, size_t *len)
{
    const char *p = strchr(s, '{');
    if (!p)
        return -1;
    int depth = 0, in_str = 0;
    for (const char *q = p; *q; q++) {
        if (in_str) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '"')
                in_str = 0;
            continue;
        }
        if (*q == '"')
            in_str = 1;
        else if (*q == '{')
            depth++;
        else if (*q == '}' && --depth == 0) {
            *start = p;
            *len = (size_t)(q - p + 1);
            return 0;
        }
    }
    return -2;
}

/* The number of members of the JSON object text s[0..len) (a balanced
 * {...}), counted on the text: json-c keeps only the last of two equal keys. */
static int llm_count_keys(const char *s, size_t len)
{
    int depth = 0, in_str = 0, keys = 0, expect_key = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\' && i + 1 < len)
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
            if (depth == 1 && expect_key) {
                keys++;
                expect_key = 0;
            }
        } else if (ch == '{' || ch == '[') {
            depth++;
            if (depth == 1)
                expect_key = 1;
        } else if (ch == '}' || ch == ']') {
            depth--;
        } else if (ch == ',' && depth == 1) {
            expect_key = 1;
        }
    }
    return keys;
}

static const char *const llm_fields[] = { "mode", "intensity", "workflows", "next_decision_seconds", "reason",
                                          "confidence", NULL };

enum llm_err llm_parse_answer(const char *content, const struct decide_menu *menu,
                              struct decide_choice *ch, char *err, size_t errlen)
{
    const char *p = content ? content : "";
    while (isspace((unsigned char)*p))
        p++;
    if (!*p) {
        snprintf(err, errlen, "empty answer");
        return LLM_EEMPTY;
    }
    char *text = llm_strip_think(p);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return LLM_EINVALID;
    }
    enum llm_err rc = LLM_EINVALID;
    json_object *root = NULL;
    const char *scan = text;
    const char *fence = strstr(text, "```");
    if (fence) {
        const char *body = strchr(fence + 3, '\n');
        scan = body ? body + 1 : fence + 3;
    }
    const char *start;
    size_t len;
    int found = llm_find_object(scan, &start, &len);
    if (found == -1 && scan != text)
        found = llm_find_object(text, &start, &len);
    if (found == -1) {
        snprintf(err, errlen, "no JSON object in the answer");
        goto out;
    }
    if (found == -2) {
        snprintf(err, errlen, "truncated JSON object");
        goto out;
    }
    json_tokener *tok = json_tokener_new_ex(16);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, start, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "answer is not a valid JSON object (%s)", json_tokener_error_desc(jerr));
        goto out;
    }

    if (llm_count_keys(start, len) != (int)json_object_object_length(root)) {
        snprintf(err, errlen, "a field appears more than once");
        goto out;
    }
    json_object_object_foreach(root, key, val) {
        (void)val;
        int known = 0;
        for (int i = 0; llm_fields[i]; i++)
            if (strcmp(key, llm_fields[i]) == 0)
                known = 1;
        if (!known) {
            snprintf(err, errlen, "unexpected field \"%.40s\"", key);
            goto out;
        }
    }
    json_object *mode, *intensity, *wfs, *next, *reason, *conf;
    if (!json_object_object_get_ex(root, "mode", &mode) || !json_object_is_type(mode, json_type_string)) {
        snprintf(err, errlen, "\"mode\" missing or not a string");
        goto out;
    }
    if (!json_object_object_get_ex(root, "intensity", &intensity) ||
        !json_object_is_type(intensity, json_type_string)) {
        snprintf(err, errlen, "\"intensity\" missing or not a string");
        goto out;
    }
    if (!json_object_object_get_ex(root, "workflows", &wfs) || !json_object_is_type(wfs, json_type_array)) {
        snprintf(err, errlen, "\"workflows\" missing or not an array");
        goto out;
    }
    if (!json_object_object_get_ex(root, "next_decision_seconds", &next) ||
        !(json_object_is_type(next, json_type_int) || json_object_is_type(next, json_type_double))) {
        snprintf(err, errlen, "\"next_decision_seconds\" missing or not a number");
        goto out;
    }
    if (!json_object_object_get_ex(root, "reason", &reason) || !json_object_is_type(reason, json_type_string)) {
        snprintf(err, errlen, "\"reason\" missing or not a string");
        goto out;
    }
    if (json_object_object_get_ex(root, "confidence", &conf)) {
        double cv = json_object_get_double(conf);
        if (!(json_object_is_type(conf, json_type_int) || json_object_is_type(conf, json_type_double)) ||
            !(cv >= 0 && cv <= 1)) {
            snprintf(err, errlen, "\"confidence\" must be a number from 0 to 1");
            goto out;
        }
    }

    struct decide_choice c;
    memset(&c, 0, sizeof c);
    c.source = SOURCE_LLM;
    c.mode = catalog_mode_parse(json_object_get_string(mode));
    if (c.mode < 0) {
        snprintf(err, errlen, "unknown mode \"%.30s\"", json_object_get_string(mode));
        goto out;
    }
    c.intensity = catalog_intensity_parse(json_object_get_string(intensity));
    if (c.intensity < 0) {
        snprintf(err, errlen, "unknown intensity \"%.30s\"", json_object_get_string(intensity));
        goto out;
    }
    size_t nw = json_object_array_length(wfs);
    if (nw > DECIDE_MAX_WF) {
        snprintf(err, errlen, "%zu workflows: at most %d", nw, DECIDE_MAX_WF);
        goto out;
    }
    for (size_t i = 0; i < nw; i++) {
        json_object *w = json_object_array_get_idx(wfs, i);
        if (!json_object_is_type(w, json_type_string)) {
            snprintf(err, errlen, "workflows[%zu] is not a string", i);
            goto out;
        }
        /* a name the worker knows; decide_validate checks it is on the menu */
        int id = catalog_workflow_parse(json_object_get_string(w));
        if (id < 0) {
            snprintf(err, errlen, "unknown workflow \"%.40s\"", json_object_get_string(w));
            goto out;
        }
        c.wf[c.nwf++] = id;
    }
    double nd = json_object_get_double(next);
    if (!isfinite(nd) || nd != floor(nd)) {
        snprintf(err, errlen, "\"next_decision_seconds\" must be a whole number");
        goto out;
    }
    c.next_seconds = nd > 1e9 ? 1000000000L : nd < -1e9 ? -1000000000L : (long)nd;

    const char *rs = json_object_get_string(reason);
    while (isspace((unsigned char)*rs))
        rs++;
    if (!*rs) {
        snprintf(err, errlen, "\"reason\" is empty");
        goto out;
    }
    size_t room = sizeof c.reason - 6 < LLM_MAX_REASON ? sizeof c.reason - 6 : LLM_MAX_REASON;
    size_t rl = utf8_cut(rs, strlen(rs), room);   /* never inside a character */
    snprintf(c.reason, sizeof c.reason, "llm: %.*s", (int)rl, rs);
    for (char *q = c.reason; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = ' ';
    /* json-c's UTF-8 check lets overlong forms through ("\xe0\x9c\x8d"),
     * which PostgreSQL refuses (found by fuzz_llm_answer) */
    utf8_clean(c.reason);
    if (decide_validate(menu, &c, err, errlen) < 0) {
        rc = LLM_EREJECTED;
        goto out;
    }
    *ch = c;
    rc = LLM_OK;
out:
    utf8_clean(err);       /* a field name or value cut by %.40s */
    json_object_put(root);
    free(text);
    return rc;
}

/* ---- calling the API --------------------------------------------------- */

/* Pause between attempts; the worker's idle hook runs meanwhile.
 * Returns nonzero when the worker is stopping (stop retrying). */
static int llm_sleep_ms(double ms)
{
    if (ms <= 0)
        return http_stopping();
    return http_sleep_ms(ms > 3600000.0 ? 3600000L : (long)ms);
}

/* Read the x-ratelimit-* and retry-after headers of r into p. */
static void llm_read_resp_limits(struct llm_provider *p, const struct http_resp *r, time_t now)
{
    struct llm_limit_headers h = {
        .remaining_requests = http_resp_header(r, "x-ratelimit-remaining-requests"),
        .remaining_tokens = http_resp_header(r, "x-ratelimit-remaining-tokens"),
        .reset_requests = http_resp_header(r, "x-ratelimit-reset-requests"),
        .reset_tokens = http_resp_header(r, "x-ratelimit-reset-tokens"),
        .retry_after = http_resp_header(r, "retry-after"),
    };
    llm_read_limits(p, r->status, &h, now);
}

/* Is p held back by its rate limits at now for a call of est tokens? */
static const char *llm_limited(const struct llm_provider *p, time_t now, long est)
{
    if (now < p->retry_after_until)
        return "waiting for retry-after";
    if (p->remaining_requests == 0 && now < p->requests_reset_at)
        return "no requests left until reset";
    if (p->remaining_tokens >= 0 && p->remaining_tokens < est && now < p->tokens_reset_at)
        return "not enough tokens left until reset";
    return NULL;
}

/* Build the request body.  Returns a string (caller frees) or NULL. */
static char *llm_request_body(const struct llm_client *cl, const struct llm_provider *p,
                              const char *system, const char *user)
{
    json_object *req = json_object_new_object();
    json_object_object_add(req, "model", json_object_new_string(p->model));
    json_object *msgs = json_object_new_array();
    json_object *m1 = json_object_new_object();
    json_object_object_add(m1, "role", json_object_new_string("system"));
    json_object_object_add(m1, "content", json_object_new_string(system));
    json_object *m2 = json_object_new_object();
    json_object_object_add(m2, "role", json_object_new_string("user"));
    json_object_object_add(m2, "content", json_object_new_string(user));
    json_object_array_add(msgs, m1);
    json_object_array_add(msgs, m2);
    json_object_object_add(req, "messages", msgs);
    json_object_object_add(req, "temperature", json_object_new_double(cl->cfg->llm_temperature));
    json_object_object_add(req, strcmp(p->name, "custom") == 0 ? "max_tokens" : "max_completion_tokens",
                           json_object_new_int((int)cl->cfg->llm_max_completion_tokens));
    json_object_object_add(req, "seed", json_object_new_int(42));
    json_object *rf = json_object_new_object();
    json_object_object_add(rf, "type", json_object_new_string("json_object"));
    json_object_object_add(req, "response_format", rf);
    char *s = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    return s;
}

/* One HTTP attempt against p.  Fills call and, on a usable completion,
 * *content (caller frees) and the token counts.  Returns the error. */
static enum llm_err llm_attempt(struct llm_provider *p, const char *body,
                                long timeout_ms, time_t now, struct llm_call *call, char **content)
{
    char url[1200], auth[600];
    snprintf(url, sizeof url, "%s/chat/completions", p->base_url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", p->api_key);
    const char *hdrs[] = { auth, NULL };
    const char *no_hdrs[] = { NULL };
    struct http_req req = {
        .method = "POST", .url = url, .body = body, .headers = *p->api_key ? hdrs : no_hdrs,
        .timeout_ms = timeout_ms, .max_bytes = LLM_MAX_BODY,
    };
    struct http_resp r;
    http_perform(&req, &r);
    memset(call, 0, sizeof *call);
    snprintf(call->provider, sizeof call->provider, "%s", p->name);
    snprintf(call->model, sizeof call->model, "%s", p->model);
    call->http_status = r.status;
    call->latency_ms = r.elapsed_ms;
    *content = NULL;
    enum llm_err e = LLM_OK;

    if (r.err != HTTP_OK) {
        e = r.err == HTTP_ETIMEOUT ? LLM_ETIMEOUT : LLM_ETRANSPORT;
        snprintf(call->error, sizeof call->error, "%.150s", r.errmsg);
        goto out;
    }
    llm_read_resp_limits(p, &r, now);
    e = llm_parse_completion(r.status, r.body, r.len, call, content);
out:
    call->err = e;
    utf8_clean(call->error);
    http_resp_free(&r);
    return e;
}

/* Record a provider-level failure for the circuit breaker. */
static void llm_fail(struct llm_client *cl, struct llm_provider *p, time_t now)
{
    int was_open = p->breaker.opens > 0 && p->breaker.state != BREAKER_CLOSED;
    if (breaker_record(&p->breaker, 0, now, cl->cfg->llm_breaker_failures, cl->cfg->llm_breaker_cooldown_seconds))
        log_event(LOG_WARN, "llm.circuit_open", "s:provider i:failures i:cooldown_seconds b:reopened",
                  p->name, (long long)p->breaker.failures, (long long)cl->cfg->llm_breaker_cooldown_seconds, was_open);
}

static void llm_succeed(struct llm_provider *p)
{
    if (p->breaker.state != BREAKER_CLOSED)
        log_event(LOG_INFO, "llm.circuit_closed", "s:provider", p->name);
    breaker_record(&p->breaker, 1, 0, 1, 0);
}

/* Is provider p skipped at now?  Returns NULL, or why (and *err, the
 * outcome it stands for: circuit_open, or rate_limited when its own
 * headers say a call would get a 429). */
static const char *llm_skip(struct llm_provider *p, time_t now, long est, enum llm_err *err)
{
    /* half open: the calls of one decision are its probe (id 1) */
    if (!breaker_allow(&p->breaker, now, 1, 1)) {
        *err = LLM_ECIRCUIT;
        return "circuit open";
    }
    const char *why = llm_limited(p, now, est);
    if (why)
        *err = LLM_ERATELIMIT;
    return why;
}

/* The budget check before a call at now: 0 when it may go, else 1 with
 * why in oc->detail. */
static int llm_over_budget(struct llm_client *cl, time_t now, long est, struct llm_outcome *oc)
{
    const struct cfg *c = cl->cfg;
    if (llm_calls_last_hour(cl, now) >= c->llm_max_calls_per_hour) {
        snprintf(oc->detail, sizeof oc->detail, "budget: %ld calls in the last hour (LLM_MAX_CALLS_PER_HOUR)",
                 c->llm_max_calls_per_hour);
        return 1;
    }
    if (llm_tokens_today(cl, now) + est > c->llm_max_tokens_per_day) {
        snprintf(oc->detail, sizeof oc->detail, "budget: %ld tokens spent today, next call needs ~%ld "
                 "(LLM_MAX_TOKENS_PER_DAY %ld)", cl->tokens_today, est, c->llm_max_tokens_per_day);
        return 1;
    }
    return 0;
}

enum llm_err llm_decide(struct llm_client *cl, const char *system, const char *user,
                        const struct decide_menu *menu, time_t now, long budget_ms,
                        struct decide_choice *out, struct llm_outcome *oc)
{
    const struct cfg *c = cl->cfg;
    memset(oc, 0, sizeof *oc);
    if (!llm_configured(cl)) {
        oc->err = LLM_ENOTCONFIGURED;
        snprintf(oc->detail, sizeof oc->detail, "no LLM provider configured");
        return oc->err;
    }
    long est = (long)((strlen(system) + strlen(user)) / 4) + c->llm_max_completion_tokens;
    double t0 = tu_mono_ms(), deadline = t0 + (double)budget_ms;
/* the cycle's clock: now, plus the real time spent in here */
#define LLM_CLOCK() (now + (time_t)((tu_mono_ms() - t0) / 1000.0))
    if (llm_over_budget(cl, now, est, oc)) {
        oc->err = LLM_EBUDGET;
        return oc->err;
    }

    enum llm_err last = LLM_ECIRCUIT;
    int called = 0;
    char skipped[200] = "";
    size_t sk = 0;
    for (int i = 0; i < cl->nproviders; i++) {
        struct llm_provider *p = &cl->providers[i];
        enum llm_err skip_err = LLM_ECIRCUIT;
        const char *why = llm_skip(p, LLM_CLOCK(), est, &skip_err);
        if (why) {
            sk += (size_t)snprintf(skipped + sk, sizeof skipped - sk, "%s%s: %s", sk ? "; " : "", p->name, why);
            if (sk >= sizeof skipped)
                sk = sizeof skipped - 1;
            if (!called) {
                /* nobody called yet: a rate-limit step-down outranks an open circuit */
                if (last == LLM_ECIRCUIT)
                    last = skip_err;
                snprintf(oc->detail, sizeof oc->detail, "%s", skipped);
            }
            continue;
        }
        /* is there a provider after this one to hand over to? */
        int later = 0;
        for (int j = i + 1; j < cl->nproviders && !later; j++) {
            enum llm_err unused;
            later = llm_skip(&cl->providers[j], LLM_CLOCK(), est, &unused) == NULL;
        }
        char *body = llm_request_body(cl, p, system, user);
        if (!body) {
            oc->err = LLM_ETRANSPORT;
            snprintf(oc->detail, sizeof oc->detail, "out of memory");
            return oc->err;
        }
        int json_retry_used = 0;
        for (int attempt = 0; attempt < LLM_MAX_ATTEMPTS && oc->ncalls < LLM_MAX_CALLS; attempt++) {
            double left = deadline - tu_mono_ms();
            if (left < 500)
                break;
            if (called && llm_over_budget(cl, LLM_CLOCK(), est, oc)) {
                free(body);
                oc->err = LLM_EBUDGET;
                oc->latency_ms = tu_mono_ms() - t0;
                return oc->err;
            }
            long timeout = c->llm_timeout_ms < (long)left ? c->llm_timeout_ms : (long)left;
            struct llm_call *call = &oc->calls[oc->ncalls++];
            char *content = NULL;
            called = 1;
            enum llm_err e = llm_attempt(p, body, timeout, LLM_CLOCK(), call, &content);
            time_t at = LLM_CLOCK();
            if (http_stopping()) {
                /* abandoned: the worker is stopping; not the provider's failure */
                free(content);
                free(body);
                oc->err = LLM_ETRANSPORT;
                oc->latency_ms = tu_mono_ms() - t0;
                snprintf(oc->detail, sizeof oc->detail, "abandoned: the worker is stopping");
                return oc->err;
            }
            oc->prompt_tokens += call->prompt_tokens;
            oc->completion_tokens += call->completion_tokens;
            llm_budget_add(cl, at, call->prompt_tokens + call->completion_tokens);
            snprintf(oc->provider, sizeof oc->provider, "%s", p->name);
            snprintf(oc->model, sizeof oc->model, "%s", p->model);
            if (content) {
                free(oc->raw);
                oc->raw = content;
            }
            log_event(e == LLM_OK ? LOG_INFO : LOG_WARN, e == LLM_OK ? "llm.answered" : "llm.failed",
                      "s:provider s:model i:http_status s:kind d:latency_ms i:prompt_tokens i:completion_tokens s:error",
                      p->name, p->model, (long long)call->http_status, llm_strerror(e), call->latency_ms,
                      (long long)call->prompt_tokens, (long long)call->completion_tokens,
                      call->error[0] ? call->error : NULL);
            if (e == LLM_OK) {
                llm_succeed(p);
                char err[200];
                struct decide_choice ch;
                e = llm_parse_answer(oc->raw, menu, &ch, err, sizeof err);
                call->err = e;
                if (e == LLM_OK) {
                    *out = ch;
                    free(body);
                    oc->err = LLM_OK;
                    oc->latency_ms = tu_mono_ms() - t0;
                    snprintf(oc->detail, sizeof oc->detail, "accepted");
                    return LLM_OK;
                }
                snprintf(call->error, sizeof call->error, "%.150s", err);
                utf8_clean(call->error);
                log_event(LOG_WARN, "llm.rejected", "s:provider s:kind s:error", p->name, llm_strerror(e), err);
            }
            last = e;
            snprintf(oc->detail, sizeof oc->detail, "%s %s: %s", p->name, llm_strerror(e), call->error);
            utf8_clean(oc->detail);
            if (e == LLM_EINVALID || e == LLM_EREJECTED || e == LLM_ELENGTH || e == LLM_EEMPTY)
                break;               /* the provider works, its answer does not: the next one may do better */
            if (e == LLM_EMALFORMED) {
                llm_fail(cl, p, at);     /* a 200 that is not a completion: a broken endpoint */
                break;
            }
            if (e == LLM_EJSONMODE) {
                if (!json_retry_used) {
                    json_retry_used = 1;
                    continue;
                }
                break;               /* the model failed twice: fail over */
            }
            if (e == LLM_ERATELIMIT) {
                double wait = p->retry_after_s * 1000.0;   /* from the answer's arrival */
                if (!later && wait <= LLM_MAX_RETRY_AFTER * 1000.0 && tu_mono_ms() + wait + 500 < deadline) {
                    if (llm_sleep_ms(wait))
                        break;
                    p->retry_after_until = 0;
                    continue;
                }
                break;               /* fail over; not a breaker failure */
            }
            if (e == LLM_ESERVER || e == LLM_ETIMEOUT || e == LLM_ETRANSPORT) {
                /* 5xx and connection errors come back fast: retried with
                 * backoff.  A timeout already took LLM_TIMEOUT_MS: with
                 * another provider to ask, a hanging one is not given the
                 * rest of the cycle's time. */
                double backoff = 500.0 * (1 << attempt) * (0.75 + 0.5 * ((double)(rand() % 1000) / 1000.0));
                if (!(later && e == LLM_ETIMEOUT) && attempt + 1 < LLM_MAX_ATTEMPTS &&
                    tu_mono_ms() + backoff + 500 < deadline) {
                    if (llm_sleep_ms(backoff))
                        break;
                    continue;
                }
                llm_fail(cl, p, LLM_CLOCK());
                break;
            }
            llm_fail(cl, p, at);     /* request errors: key, model, size */
            break;
        }
        free(body);
    }
#undef LLM_CLOCK
    oc->err = last == LLM_OK ? LLM_ECIRCUIT : last;
    oc->latency_ms = tu_mono_ms() - t0;
    if (!oc->detail[0])
        snprintf(oc->detail, sizeof oc->detail, "no provider answered");
    return oc->err;
}
