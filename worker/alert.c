/* alert: Telegram alerts; see alert.h. */
#include "config.h"
#include "alert.h"
#include "alert_text.h"
#include "utf8.h"

#include <errno.h>
#include <stdint.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "timeutil.h"

#define ALERT_MIN_REQUEST_MS 200    /* no request is started with less budget left */
#define ALERT_RETRY_BASE_MS 1000    /* pause after a transport error or 5xx, times the attempt */
#define ALERT_RETRY_AFTER_DEFAULT 5 /* seconds, when a 429 does not say */

const char *alert_kind_name(enum alert_kind k)
{
    switch (k) {
    case ALERT_MODE_SWITCH:         return "mode_switch";
    case ALERT_WORKFLOW_FAILED:     return "workflow_failed";
    case ALERT_CIRCUIT_OPEN:        return "circuit_open";
    case ALERT_LLM_FALLBACK_STREAK: return "llm_fallback_streak";
    case ALERT_WORKER_STARTED:      return "worker_started";
    case ALERT_WORKER_STOPPED:      return "worker_stopped";
    case ALERT_DECISIONS_MISSED:    return "decisions_missed";
    case ALERT_LEADER_CHANGED:      return "leader_changed";
    case ALERT_CATALOG_INVALID:     return "catalog_invalid";
    case ALERT_COMMAND_REPLY:       return "command_reply";
    case ALERT_KIND_COUNT:          break;
    }
    return "unknown";
}

/* ---- clock -------------------------------------------------------------- */

/* Sleep ms milliseconds; the worker's idle hook runs meanwhile (control
 * commands, signals).  Returns nonzero when the worker is stopping. */
static int alert_sleep_ms(long long ms)
{
    if (ms <= 0)
        return 0;
    return http_sleep_ms(ms > 3600000LL ? 3600000L : (long)ms);
}

/* ---- the queue ------------------------------------------------------------ */

int alert_enabled(const struct alert *a) { return a && a->enabled; }

size_t alert_queued(const struct alert *a) { return a ? a->count : 0; }

const char *alert_queue_text(const struct alert *a, size_t i)
{
    if (!a || i >= a->count)
        return NULL;
    return a->queue[(a->head + i) % ALERT_QUEUE_MAX].text;
}

/* Remove the oldest message. */
static void alert_pop(struct alert *a)
{
    struct alert_msg *m = &a->queue[a->head];
    free(m->text);
    memset(m, 0, sizeof *m);
    a->head = (a->head + 1) % ALERT_QUEUE_MAX;
    a->count--;
}

/* Queue html (taken over: freed here on every path). */
static void alert_enqueue(struct alert *a, enum alert_kind kind, int quiet, char *html)
{
    if (a->count == ALERT_QUEUE_MAX) {
        enum alert_kind old = a->queue[a->head].kind;
        alert_pop(a);
        a->stats.dropped++;
        log_event(LOG_WARN, "alert.dropped", "s:chat_id s:kind s:reason i:dropped",
                  a->chat_id, alert_kind_name(old), "queue full", a->stats.dropped);
    }
    struct alert_msg *m;
    if (kind == ALERT_WORKER_STOPPED) {
        /* the last word of a stopping worker goes first: it has a short
         * budget (worker/main.c) and must not wait behind older news */
        a->head = (a->head + ALERT_QUEUE_MAX - 1) % ALERT_QUEUE_MAX;
        m = &a->queue[a->head];
    } else {
        m = &a->queue[(a->head + a->count) % ALERT_QUEUE_MAX];
    }
    m->kind = kind;
    m->attempts = 0;
    m->quiet = quiet;
    m->text = html;
    a->count++;
}

/* Queue a finished document; frees its buffer on failure. */
static int alert_doc_post(struct alert *a, enum alert_kind kind, int quiet, struct alert_doc *d)
{
    if (d->len == 0)
        alert_doc_raw(d, "(empty)");
    char *html = realloc(d->s, d->len + 1);
    if (!html)
        html = d->s;                    /* shrinking failed: keep the big one */
    d->s = NULL;
    alert_enqueue(a, kind, quiet, html);
    return 0;
}

int alert_post(struct alert *a, enum alert_kind kind, const char *text)
{
    if (!a || !text)
        return -1;
    if (!a->enabled)
        return 0;
    struct alert_doc d;
    if (alert_doc_init(&d) < 0)
        return -1;
    alert_doc_text(&d, text, ALERT_TEXT_MAX);
    /* nothing visible left (only spaces or control characters): Telegram
     * refuses an empty text */
    size_t k = 0;
    while (d.s[k] == ' ' || d.s[k] == '\n' || d.s[k] == '\t')
        k++;
    if (!d.s[k]) {
        d.len = d.units = 0;
        d.s[0] = '\0';
    }
    return alert_doc_post(a, kind, 0, &d);
}

/* ---- configuration -------------------------------------------------------- */

/* <digits>:<letters, digits, _ or -> */
static int alert_token_ok(const char *t)
{
    size_t d = 0, r = 0;
    while (t[d] >= '0' && t[d] <= '9')
        d++;
    if (d == 0 || d > 20 || t[d] != ':')
        return 0;
    for (const char *p = t + d + 1; *p; p++, r++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return r >= 1 && r <= 200;
}

/* -123, 456 or @name */
static int alert_chat_ok(const char *c)
{
    size_t n = 0;
    if (*c == '@') {
        for (c++; *c; c++, n++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                return 0;
        return n >= 1 && n <= 64;
    }
    if (*c == '-')
        c++;
    for (; *c; c++, n++)
        if (*c < '0' || *c > '9')
            return 0;
    return n >= 1 && n <= 19;
}

int alert_init(struct alert *a, const struct cfg *c)
{
    memset(a, 0, sizeof *a);
    const char *tok = c->telegram_bot_token ? c->telegram_bot_token : "";
    const char *chat = c->telegram_chat_id ? c->telegram_chat_id : "";
    const char *base = c->telegram_base_url && *c->telegram_base_url ? c->telegram_base_url
                                                                     : "https://api.telegram.org";
    a->fallback_streak = c->alert_fallback_streak > 0 ? c->alert_fallback_streak : 5;
    if (!*tok && !*chat)
        return 0;
    const char *var = NULL, *why = NULL;
    if (!*tok || !*chat) {
        var = *tok ? "TELEGRAM_CHAT_ID" : "TELEGRAM_BOT_TOKEN";
        why = "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must be set together";
    } else if (!alert_token_ok(tok)) {
        var = "TELEGRAM_BOT_TOKEN";
        why = "expected <digits>:<letters, digits, _ or -> as BotFather gives it (value hidden)";
    } else if (!alert_chat_ok(chat)) {
        var = "TELEGRAM_CHAT_ID";
        why = "expected a chat id such as -1001234567890 or a channel @name";
    }
    if (var) {
        log_event(LOG_ERROR, "alert.invalid_config", "s:variable s:error", var, why);
        return -1;
    }
    size_t ul = strlen(base) + strlen(tok) + sizeof "/bot/sendMessage";
    a->url = malloc(ul);
    a->token = strdup(tok);
    if (!a->url || !a->token) {
        log_event(LOG_ERROR, "alert.invalid_config", "s:variable s:error", "TELEGRAM_BOT_TOKEN", "out of memory");
        alert_free(a);
        return -1;
    }
    snprintf(a->url, ul, "%s/bot%s/sendMessage", base, tok);
    snprintf(a->chat_id, sizeof a->chat_id, "%s", chat);
    a->enabled = 1;
    return 0;
}

void alert_free(struct alert *a)
{
    if (!a)
        return;
    while (a->count)
        alert_pop(a);
    if (a->token)                       /* do not leave the secret in freed memory */
        memset(a->token, 0, strlen(a->token));
    if (a->url)
        memset(a->url, 0, strlen(a->url));
    free(a->token);
    free(a->url);
    a->token = a->url = NULL;
    a->enabled = 0;
}

/* ---- sending -------------------------------------------------------------- */

/* The sendMessage body for m.  Returns a string (caller frees) or NULL. */
static char *alert_body(const struct alert *a, const struct alert_msg *m)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object *chat;
    if (a->chat_id[0] == '@') {
        chat = json_object_new_string(a->chat_id);
    } else {
        errno = 0;
        long long id = strtoll(a->chat_id, NULL, 10);
        chat = errno ? json_object_new_string(a->chat_id) : json_object_new_int64(id);
    }
    json_object_object_add(o, "chat_id", chat);
    json_object_object_add(o, "text", json_object_new_string(m->text));
    json_object_object_add(o, "parse_mode", json_object_new_string("HTML"));
    json_object_object_add(o, "disable_notification", json_object_new_boolean(m->quiet));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(o);
    return out;
}

void alert_parse_answer(const char *body, size_t len, const char *retry_after_header, int *ok,
                        char *desc, size_t desclen, long *retry_after)
{
    *ok = 0;
    *retry_after = -1;
    if (desclen)
        desc[0] = '\0';
    json_tokener *tok = json_tokener_new_ex(8);
    json_object *root = NULL;
    if (tok && body && len > 0 && len < ALERT_BODY_MAX) {
        root = json_tokener_parse_ex(tok, body, (int)len);
        if (json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(root);
            root = NULL;
        }
    }
    if (tok)
        json_tokener_free(tok);
    if (root && json_object_is_type(root, json_type_object)) {
        json_object *v;
        if (json_object_object_get_ex(root, "ok", &v) && json_object_is_type(v, json_type_boolean))
            *ok = json_object_get_boolean(v);
        if (json_object_object_get_ex(root, "description", &v) && json_object_is_type(v, json_type_string))
            utf8_copy_clean(desc, desclen, json_object_get_string(v));
        json_object *params, *ra;
        if (json_object_object_get_ex(root, "parameters", &params) &&
            json_object_object_get_ex(params, "retry_after", &ra) && json_object_is_type(ra, json_type_int)) {
            int64_t v64 = json_object_get_int64(ra);
            *retry_after = v64 < 0 ? -1 : v64 > ALERT_RETRY_AFTER_MAX ? ALERT_RETRY_AFTER_MAX : (long)v64;
        }
    }
    json_object_put(root);
    if (*retry_after < 0 && retry_after_header) {
        const char *h = retry_after_header;
        char *end;
        errno = 0;
        long v = strtol(h, &end, 10);
        if (end != h && !*end && v >= 0)
            *retry_after = errno == ERANGE || v > ALERT_RETRY_AFTER_MAX ? ALERT_RETRY_AFTER_MAX : v;
    }
}

/* A hint for answers that mean the configuration is wrong, or NULL. */
static const char *alert_hint(long status, const char *desc)
{
    if (status == 401 || status == 404)
        return "check TELEGRAM_BOT_TOKEN and TELEGRAM_BASE_URL";
    if (status == 400 && strstr(desc, "chat not found"))
        return "check TELEGRAM_CHAT_ID";
    if (status == 403)
        return "the bot cannot post to TELEGRAM_CHAT_ID (blocked, or not a member)";
    return NULL;
}

/* The wait a 429 asks for, in seconds: retry_after (-1 when it did not
 * say: ALERT_RETRY_AFTER_DEFAULT) kept within 1 .. ALERT_RETRY_AFTER_MAX. */
static long alert_retry_after(long retry_after)
{
    if (retry_after < 0)
        retry_after = ALERT_RETRY_AFTER_DEFAULT;
    if (retry_after < 1)
        retry_after = 1;
    if (retry_after > ALERT_RETRY_AFTER_MAX)
        retry_after = ALERT_RETRY_AFTER_MAX;
    return retry_after;
}

/* Send the oldest message once, with the given timeout; updates the queue,
 * the counters and a->next_at_ms. */
static void alert_send_one(struct alert *a, long timeout_ms)
{
    struct alert_msg *m = &a->queue[a->head];
    const char *kind = alert_kind_name(m->kind);
    char *body = alert_body(a, m);
    if (!body) {
        a->stats.failed++;
        log_event(LOG_WARN, "alert.failed", "s:chat_id s:kind i:status s:error b:will_retry",
                  a->chat_id, kind, 0LL, "out of memory", 0);
        alert_pop(a);
        return;
    }
    struct http_req req = {
        .method = "POST", .url = a->url, .body = body, .headers = NULL,
        .timeout_ms = timeout_ms, .max_bytes = ALERT_BODY_MAX,
    };
    struct http_resp r;
    enum http_err e = http_perform(&req, &r);
    free(body);
    long long now = (long long)tu_mono_ms();
    long long next = now + ALERT_SPACING_MS;

    int ok = 0;
    long retry_after = -1;
    char desc[256];
    desc[0] = '\0';
    if (e == HTTP_OK) {
        alert_parse_answer(r.body, r.len, http_resp_header(&r, "retry-after"), &ok, desc, sizeof desc, &retry_after);
        alert_scrub(desc, sizeof desc, a->token);
    }
    /* libcurl's r.errmsg may quote the URL, and so the token: never logged */
    /* Telegram's answer says "ok": a 200 without it (a proxy's page, or
     * {"ok":false}) delivered nothing */
    if (e == HTTP_OK && r.status >= 200 && r.status < 300 && ok) {
        a->stats.sent++;
        log_event(LOG_INFO, "alert.sent", "s:chat_id s:kind i:status i:attempt d:ms",
                  a->chat_id, kind, (long long)r.status, (long long)m->attempts + 1, r.elapsed_ms);
        alert_pop(a);
    } else if (e == HTTP_OK && r.status == 429) {
        retry_after = alert_retry_after(retry_after);
        a->stats.rate_limited++;
        next = now + retry_after * 1000LL;
        log_event(LOG_WARN, "alert.rate_limited", "s:chat_id s:kind i:status i:retry_after i:queued",
                  a->chat_id, kind, 429LL, (long long)retry_after, (long long)a->count);
    } else if (e != HTTP_OK || r.status >= 500) {
        m->attempts++;
        int retry = m->attempts < ALERT_MAX_ATTEMPTS;
        char what[64];
        if (e != HTTP_OK)
            snprintf(what, sizeof what, "%s", http_strerror(e));
        else
            snprintf(what, sizeof what, "HTTP %ld", r.status);
        log_event(LOG_WARN, "alert.failed", "s:chat_id s:kind i:status s:error b:will_retry i:attempts",
                  a->chat_id, kind, (long long)(e == HTTP_OK ? r.status : 0), desc[0] ? desc : what,
                  retry, (long long)m->attempts);
        if (retry) {
            long long pause = (long long)ALERT_RETRY_BASE_MS * m->attempts;
            if (now + pause > next)
                next = now + pause;
        } else {
            a->stats.failed++;
            alert_pop(a);
        }
    } else {                            /* another 4xx: this message will never pass */
        char what[64];
        snprintf(what, sizeof what, "HTTP %ld", r.status);
        a->stats.failed++;
        log_event(LOG_WARN, "alert.failed", "s:chat_id s:kind i:status s:error b:will_retry s:hint",
                  a->chat_id, kind, (long long)r.status, desc[0] ? desc : what, 0,
                  alert_hint(r.status, desc));
        alert_pop(a);
    }
    http_resp_free(&r);
    if (next > a->next_at_ms)
        a->next_at_ms = next;
}

size_t alert_flush(struct alert *a, long budget_ms)
{
    if (!a || !a->enabled)
        return 0;
    long long deadline = (long long)tu_mono_ms() + (budget_ms > 0 ? budget_ms : 0);
    while (a->count > 0) {
        long long now = (long long)tu_mono_ms();
        if (a->next_at_ms > now) {
            if (a->next_at_ms >= deadline)
                break;
            if (alert_sleep_ms(a->next_at_ms - now))
                break;              /* the worker is stopping: the rest waits */
            continue;
        }
        long long left = deadline - now;
        if (left < ALERT_MIN_REQUEST_MS)
            break;
        alert_send_one(a, (long)(left < ALERT_TIMEOUT_MS ? left : ALERT_TIMEOUT_MS));
        if (http_stopping())
            break;
    }
    return a->count;
}

/* ---- helpers ------------------------------------------------------------- */

/* Open a document with a bold title for a message of a: returns 1 to go
 * on (d started), 0 when alerts are off (nothing to send), -1 when a is
 * NULL or out of memory. */
static int alert_doc_open(struct alert *a, struct alert_doc *d, const char *title)
{
    if (!a)
        return -1;
    if (!a->enabled)
        return 0;
    return alert_doc_start(d, title) < 0 ? -1 : 1;
}

int alert_mode_switch(struct alert *a, const char *from, const char *to, const char *reason)
{
    struct alert_doc d;
    int open = alert_doc_open(a, &d, "Mode switch");
    if (open <= 0)
        return open;
    alert_doc_raw(&d, ": ");
    alert_doc_text(&d, from && *from ? from : "?", ALERT_FIELD_UNITS);
    alert_doc_text(&d, " \xe2\x86\x92 ", 3);                /* -> */
    alert_doc_text(&d, to && *to ? to : "?", ALERT_FIELD_UNITS);
    if (reason && *reason) {
        alert_doc_raw(&d, "\n");
        alert_doc_text(&d, reason, ALERT_TEXT_MAX);
    }
    return alert_doc_post(a, ALERT_MODE_SWITCH, 0, &d);
}

int alert_workflow_failed(struct alert *a, const char *workflow, const char *status,
                          const char *execution_id, const char *detail)
{
    struct alert_doc d;
    int open = alert_doc_open(a, &d, "Workflow failed");
    if (open <= 0)
        return open;
    alert_doc_raw(&d, ": ");
    alert_doc_text(&d, workflow && *workflow ? workflow : "?", ALERT_FIELD_UNITS);
    if (status && *status) {
        alert_doc_raw(&d, " (");
        alert_doc_text(&d, status, ALERT_FIELD_UNITS);
        alert_doc_raw(&d, ")");
    }
    if (execution_id && *execution_id) {
        alert_doc_raw(&d, "\nn8n execution ");
        alert_doc_text(&d, execution_id, ALERT_FIELD_UNITS);
    }
    if (detail && *detail) {
        alert_doc_raw(&d, "\n");
        alert_doc_text(&d, detail, ALERT_TEXT_MAX);
    }
    return alert_doc_post(a, ALERT_WORKFLOW_FAILED, 0, &d);
}

int alert_circuit_open(struct alert *a, const char *name, long failures, long cooldown_seconds)
{
    struct alert_doc d;
    int open = alert_doc_open(a, &d, "Circuit open");
    if (open <= 0)
        return open;
    alert_doc_raw(&d, ": ");
    alert_doc_text(&d, name && *name ? name : "?", ALERT_FIELD_UNITS);
    char tail[128];
    snprintf(tail, sizeof tail, " after %ld consecutive failure%s; next try in %ld s",
             failures, failures == 1 ? "" : "s", cooldown_seconds);
    alert_doc_text(&d, tail, sizeof tail);
    return alert_doc_post(a, ALERT_CIRCUIT_OPEN, 0, &d);
}

int alert_llm_fallback_streak(struct alert *a, long streak, const char *last_error)
{
    if (!a)
        return -1;
    if (!a->enabled || streak != a->fallback_streak)
        return 0;
    struct alert_doc d;
    if (alert_doc_start(&d, "LLM fallback streak") < 0)
        return -1;
    char line[128];
    snprintf(line, sizeof line, ": %ld decisions in a row made by the fallback policy, not the LLM", streak);
    alert_doc_text(&d, line, sizeof line);
    if (last_error && *last_error) {
        alert_doc_raw(&d, "\nlast LLM error: ");
        alert_doc_text(&d, last_error, ALERT_TEXT_MAX);
    }
    return alert_doc_post(a, ALERT_LLM_FALLBACK_STREAK, 0, &d) == 0 ? 1 : -1;
}

/* "Worker started" / "Worker stopped". */
static int alert_worker(struct alert *a, enum alert_kind kind, const char *title, int quiet, const char *detail)
{
    struct alert_doc d;
    int open = alert_doc_open(a, &d, title);
    if (open <= 0)
        return open;
    if (detail && *detail) {
        alert_doc_raw(&d, "\n");
        alert_doc_text(&d, detail, ALERT_TEXT_MAX);
    }
    return alert_doc_post(a, kind, quiet, &d);
}

int alert_worker_started(struct alert *a, const char *detail)
{
    return alert_worker(a, ALERT_WORKER_STARTED, "Worker started", 1, detail);
}

int alert_worker_stopped(struct alert *a, const char *detail)
{
    return alert_worker(a, ALERT_WORKER_STOPPED, "Worker stopped", 0, detail);
}

int alert_decisions_missed(struct alert *a, const char *detail)
{
    return alert_worker(a, ALERT_DECISIONS_MISSED, "Decisions missed", 0, detail);
}

int alert_leader_changed(struct alert *a, const char *detail)
{
    return alert_worker(a, ALERT_LEADER_CHANGED, "New leader", 1, detail);
}

int alert_catalog_invalid(struct alert *a, const char *detail)
{
    return alert_worker(a, ALERT_CATALOG_INVALID, "Catalog not reloaded (the running one is kept)", 0, detail);
}
