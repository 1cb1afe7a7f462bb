/* telegram: the chat's commands, long-polled and answered by the leader;
 * see telegram.h (telegram_parse.c checks what enters, telegram_text.c
 * writes the answers). */
#include "config.h"
#include "telegram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "log.h"
#include "timeutil.h"

enum { TG_NONE = 0, TG_ME, TG_UPDATES };

#define TG_ME_TIMEOUT_MS 10000          /* getMe, at most */
#define TG_POLL_MARGIN_MS 10000         /* a long poll's transfer gets its timeout and this */
#define TG_FOLLOW_MS 250                /* commands followed are looked at this often */
#define TG_IDLE_MS 3600000L             /* telegram_wait_ms when nothing is due */
#define TG_RETRY_AFTER_DEFAULT 5        /* seconds, a 429 that does not say */

/* ---- set up --------------------------------------------------------------------- */

int telegram_init(struct telegram *t, const struct cfg *c, struct alert *a)
{
    memset(t, 0, sizeof *t);
    if (!alert_enabled(a))
        return 0;
    if (!c->telegram_commands) {
        log_event(LOG_INFO, "telegram.disabled", "s:reason", "TELEGRAM_COMMANDS=0: alerts only");
        return 0;
    }
    /* alert_init checked both: a token <digits>:<...>, a chat id -123, 456 or @name */
    const char *chat = c->telegram_chat_id, *tok = c->telegram_bot_token;
    char *end;
    errno = 0;
    long long id = strtoll(chat, &end, 10);
    if (chat[0] == '@' || errno || end == chat || *end) {
        log_event(LOG_INFO, "telegram.disabled", "s:reason",
                  "TELEGRAM_CHAT_ID is a channel @name: commands are taken from a numeric chat id only");
        return 0;
    }
    errno = 0;
    long long bot = strtoll(tok, &end, 10);
    if (errno || end == tok || *end != ':' || bot <= 0)
        return 0;                       /* not reached: alert_init refused it */
    const char *base = *c->telegram_base_url ? c->telegram_base_url : "https://api.telegram.org";
    size_t ul = strlen(base) + strlen(tok) + sizeof "/bot/getUpdates";
    t->url_me = malloc(ul);
    t->url_updates = malloc(ul);
    t->token = strdup(tok);
    t->pool = http_pool_new();
    if (!t->url_me || !t->url_updates || !t->token || !t->pool) {
        telegram_free(t);
        return -1;
    }
    snprintf(t->url_me, ul, "%s/bot%s/getMe", base, tok);
    snprintf(t->url_updates, ul, "%s/bot%s/getUpdates", base, tok);
    t->chat_id = id;
    snprintf(t->chat_label, sizeof t->chat_label, "%lld", id);
    snprintf(t->requested_by, sizeof t->requested_by, "telegram:%lld", id);
    t->bot_id = bot;
    t->poll_s = c->telegram_poll_seconds > 0 ? c->telegram_poll_seconds : 25;
    t->alert = a;
    t->enabled = 1;
    return 0;
}

/* Wipe and free a secret string. */
static void tg_wipe(char **s)
{
    if (*s)
        memset(*s, 0, strlen(*s));
    free(*s);
    *s = NULL;
}

void telegram_free(struct telegram *t)
{
    if (!t)
        return;
    http_pool_free(t->pool);            /* abandons the poll in flight */
    t->pool = NULL;
    tg_wipe(&t->url_me);
    tg_wipe(&t->url_updates);
    tg_wipe(&t->token);
    t->enabled = 0;
}

int telegram_enabled(const struct telegram *t) { return t && t->enabled; }

struct http_pool *telegram_pool(struct telegram *t) { return t && t->enabled ? t->pool : NULL; }

void telegram_stop(struct telegram *t)
{
    if (!t || !t->enabled)
        return;
    http_pool_abort(t->pool);
    struct http_done d[2];
    int n;
    while ((n = http_pool_run(t->pool, d, 2)) > 0)
        for (int i = 0; i < n; i++)
            http_resp_free(&d[i].resp);
    t->inflight = TG_NONE;
    t->offset_loaded = 0;
    t->npending = 0;
    t->failures = 0;
    t->next_ms = 0;
}

long telegram_wait_ms(const struct telegram *t)
{
    if (!t || !t->enabled)
        return TG_IDLE_MS;
    double now = tu_mono_ms(), ms = TG_IDLE_MS;
    if (!t->inflight)
        ms = t->next_ms - now;
    if (t->npending && t->pending_ms + TG_FOLLOW_MS - now < ms)
        ms = t->pending_ms + TG_FOLLOW_MS - now;
    return ms <= 0 ? 0 : ms > TG_IDLE_MS ? TG_IDLE_MS : (long)ms;
}

void telegram_stats_json(const struct telegram *t, char *out, size_t cap)
{
    const struct telegram_stats *s = &t->stats;
    snprintf(out, cap,
             "{\"enabled\":%s,\"bot\":\"%s\",\"polls\":%lld,\"updates\":%lld,\"commands\":%lld,\"ignored\":%lld,"
             "\"failures\":%lld,\"conflicts\":%lld,\"rate_limited\":%lld}",
             t->enabled ? "true" : "false", t->username, s->polls, s->updates, s->commands, s->ignored, s->failures,
             s->conflicts, s->rate_limited);
}

/* ---- requests --------------------------------------------------------------------- */

/* Start getMe or getUpdates. */
static void tg_start(struct telegram *t, int what, double now)
{
    char body[192];
    struct http_req req = { .method = "POST", .max_bytes = TELEGRAM_BODY_MAX };
    if (what == TG_ME) {
        req.url = t->url_me;
        req.body = "{}";
        req.timeout_ms = TG_ME_TIMEOUT_MS;
    } else {
        snprintf(body, sizeof body, "{\"offset\":%lld,\"limit\":%d,\"timeout\":%ld,\"allowed_updates\":[\"message\"]}",
                 t->offset, TELEGRAM_BATCH, t->poll_s);
        req.url = t->url_updates;
        req.body = body;
        req.timeout_ms = t->poll_s * 1000 + TG_POLL_MARGIN_MS;
    }
    if (http_pool_add(t->pool, &req, NULL) < 0) {
        log_event(LOG_WARN, "telegram.poll_failed", "s:method s:error i:retry_in_ms",
                  what == TG_ME ? "getMe" : "getUpdates", "out of memory", 1000LL);
        t->next_ms = now + 1000;
        return;
    }
    t->inflight = what;
    t->started_ms = now;
}

/* A failure: the next request waits base_ms, doubled for each failure in
 * a row before, at most TELEGRAM_BACKOFF_MAX_MS.  Returns the pause. */
static long tg_backoff(struct telegram *t, double now, long base_ms)
{
    t->failures++;
    long ms = base_ms;
    for (int i = 1; i < t->failures && ms < TELEGRAM_BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > TELEGRAM_BACKOFF_MAX_MS)
        ms = TELEGRAM_BACKOFF_MAX_MS;
    t->next_ms = now + ms;
    return ms;
}

/* Queue a reply to the chat (plain text; alert_post escapes it).  A
 * chat that asks faster than the alerts' pace does not push the alerts
 * out of their queue: past half of it, replies are dropped (logged). */
static void tg_reply(struct telegram *t, const char *text)
{
    if (alert_queued(t->alert) >= ALERT_QUEUE_MAX / 2)
        log_event(LOG_WARN, "telegram.reply_dropped", "s:chat_id s:error i:queued", t->chat_label,
                  "the alerts' queue is half full: too many commands at once", (long long)alert_queued(t->alert));
    else if (alert_post(t->alert, ALERT_COMMAND_REPLY, text) < 0)
        log_event(LOG_WARN, "telegram.reply_dropped", "s:chat_id s:error", t->chat_label, "out of memory");
}

/* ---- commands ------------------------------------------------------------------------- */

/* Follow command id until it closes (its reply then). */
static void tg_follow(struct telegram *t, long long id)
{
    if (t->npending == TELEGRAM_PENDING_MAX) {
        char text[96];
        snprintf(text, sizeof text, "Command #%lld recorded.", id);
        tg_reply(t, text);
        return;
    }
    t->pending[t->npending++] = (struct telegram_pending){ id, tu_mono_ms() };
}

/* Answer the commands followed that closed, or waited too long.  Returns 0 or -1. */
static int tg_follow_up(struct telegram *t, PGconn *db)
{
    double now = tu_mono_ms();
    if (!t->npending || now - t->pending_ms < TG_FOLLOW_MS)
        return 0;
    t->pending_ms = now;
    long long ids[TELEGRAM_PENDING_MAX];
    struct store_tg_command got[TELEGRAM_PENDING_MAX];
    for (int i = 0; i < t->npending; i++)
        ids[i] = t->pending[i].id;
    int n = store_telegram_commands(db, ids, t->npending, got);
    if (n < 0)
        return -1;
    int keep = 0;
    for (int i = 0; i < t->npending; i++) {
        const struct store_tg_command *c = NULL;
        for (int k = 0; k < n && !c; k++)
            if (got[k].id == t->pending[i].id)
                c = &got[k];
        int late = now - t->pending[i].since_ms > TELEGRAM_PENDING_S * 1000.0;
        if (c && (strcmp(c->status, "pending") != 0 || late)) {
            char text[TELEGRAM_REPLY_MAX + 1];
            telegram_command_text(c, text, sizeof text);
            tg_reply(t, text);
        } else if (c) {
            t->pending[keep++] = t->pending[i];
        }
        /* gone (pruned): nothing to say */
    }
    t->npending = keep;
    return 0;
}

/* Save offset (the update before it handled) when it is past the saved
 * one.  Returns 0 or -1. */
static int tg_advance(struct telegram *t, PGconn *db, long long offset)
{
    if (offset <= t->offset)
        return 0;
    if (store_telegram_advance(db, t->bot_id, offset) < 0)
        return -1;
    t->offset = offset;
    return 0;
}

/* Answer a question (/status, /decisions, /help, an unknown command) or a
 * control command sent too long ago (stale), whose update is followed by
 * offset `after`: the answer is written, the offset saved, then the answer
 * queued -- an update answered is never answered again after a restart.
 * Returns 0 or -1. */
static int tg_answer(struct telegram *t, PGconn *db, const struct telegram_self *self, time_t now,
                     const struct telegram_update *u, enum telegram_cmd cmd, int stale, const char *word,
                     long long after)
{
    char text[TELEGRAM_REPLY_MAX + 1];
    if (stale) {
        telegram_stale_text(cmd, (time_t)u->date, now, text, sizeof text);
    } else if (cmd == TELEGRAM_CMD_STATUS) {
        struct store_tg_status st;
        if (store_telegram_status(db, &st) < 0)
            return -1;
        telegram_status_text(self, &st, now, text, sizeof text);
    } else if (cmd == TELEGRAM_CMD_DECISIONS) {
        struct store_tg_decision d[TELEGRAM_DECISIONS];
        int n = store_telegram_decisions(db, d, TELEGRAM_DECISIONS);
        if (n < 0)
            return -1;
        telegram_decisions_text(d, n, text, sizeof text);
    } else {
        telegram_help_text(cmd == TELEGRAM_CMD_UNKNOWN ? word : NULL, text, sizeof text);
    }
    if (tg_advance(t, db, after) < 0)
        return -1;
    tg_reply(t, text);
    return 0;
}

/* Why an update is ignored, for the log. */
static const char *tg_why(enum telegram_action a)
{
    switch (a) {
    case TELEGRAM_ACT_OTHER_CHAT: return "another chat: commands are taken from TELEGRAM_CHAT_ID only";
    case TELEGRAM_ACT_FROM_BOT:   return "sent by a bot";
    case TELEGRAM_ACT_STALE:      return "a control command sent too long ago (or undated): not acted on";
    case TELEGRAM_ACT_TEXT:       return "not a command for this bot";
    default:                      return "ignored";
    }
}

/* The command an update's text holds, by its name ("status", "unknown",
 * "other_bot"), or NULL when none: what the log says of a message instead
 * of its text, which may hold anything. */
static const char *tg_log_command(const struct telegram *t, const struct telegram_update *u)
{
    char word[40];
    enum telegram_cmd c = telegram_command(u->text, t->username, word, sizeof word);
    return c == TELEGRAM_CMD_NONE ? NULL : telegram_cmd_name(c);
}

/* Handle the updates of a good getUpdates answer, in order.  A control
 * command is recorded in one transaction with the offset after its update;
 * a question is answered after the offset after it is saved; the offset
 * after the updates ignored is saved at the end.  Returns the control
 * commands recorded, or -1 on a database error (t->offset is what is
 * saved: the rest comes again). */
static int tg_updates(struct telegram *t, PGconn *db, const struct telegram_self *self, time_t now,
                      const struct telegram_answer *a)
{
    long long next = t->offset;
    int recorded = 0;
    for (int i = 0; i < a->n; i++) {
        const struct telegram_update *u = &a->u[i];
        if (u->update_id < next) {
            /* confirmed before (a restart, a new leader), or not after the previous one */
            log_event(LOG_DEBUG, "telegram.skipped", "i:update_id i:offset", u->update_id, next);
            continue;
        }
        long long after = u->update_id + 1;
        enum telegram_cmd cmd;
        char word[40];
        enum telegram_action act = telegram_classify(u, t->chat_id, t->username, now, &cmd, word, sizeof word);
        if (act == TELEGRAM_ACT_OTHER_CHAT || act == TELEGRAM_ACT_FROM_BOT || act == TELEGRAM_ACT_STALE) {
            /* never the text: a stranger's message may hold anything */
            t->stats.ignored++;
            log_event(LOG_WARN, "telegram.ignored",
                      "i:update_id i:chat_id i:user_id s:chat_type s:command i:date s:reason", u->update_id,
                      u->chat_id, u->has_from ? u->from_id : 0LL, u->chat_type, tg_log_command(t, u), u->date,
                      tg_why(act));
            if (act == TELEGRAM_ACT_STALE && tg_answer(t, db, self, now, u, cmd, 1, word, after) < 0)
                return -1;
        } else if (act == TELEGRAM_ACT_TEXT) {
            log_event(LOG_DEBUG, "telegram.ignored", "i:update_id i:chat_id s:command s:reason", u->update_id,
                      u->chat_id, tg_log_command(t, u), tg_why(act));
        } else if (act == TELEGRAM_ACT_COMMAND) {
            const char *control = cmd == TELEGRAM_CMD_PAUSE ? "stop" : cmd == TELEGRAM_CMD_RESUME ? "start"
                                : cmd == TELEGRAM_CMD_FORCE ? "force_decision" : NULL;
            long long id = 0;
            if (control) {
                /* exactly once: the command and the offset after it in one transaction */
                FAULT("telegram.before_record");
                if (store_telegram_command(db, control, t->requested_by, t->bot_id, after, &id) < 0)
                    return -1;
                FAULT("telegram.recorded");   /* recorded, not yet confirmed to Telegram */
                t->offset = after;
                recorded++;
            } else if (tg_answer(t, db, self, now, u, cmd, 0, word, after) < 0) {
                return -1;
            }
            t->stats.commands++;
            if (id)
                log_event(LOG_INFO, "telegram.command", "i:update_id i:chat_id i:user_id s:command i:command_id",
                          u->update_id, u->chat_id, u->has_from ? u->from_id : 0LL, telegram_cmd_name(cmd), id);
            else
                log_event(LOG_INFO, "telegram.command", "i:update_id i:chat_id i:user_id s:command", u->update_id,
                          u->chat_id, u->has_from ? u->from_id : 0LL, telegram_cmd_name(cmd));
            if (id) {
                if (cmd == TELEGRAM_CMD_FORCE) {
                    char text[96];
                    snprintf(text, sizeof text, "Forcing a decision (command #%lld)...", id);
                    tg_reply(t, text);
                }
                tg_follow(t, id);
            }
        }
        next = after;
        t->stats.updates++;
    }
    return tg_advance(t, db, next) < 0 ? -1 : recorded;
}

/* A hint for answers that mean the configuration is wrong, or NULL. */
static const char *tg_hint(long status)
{
    if (status == 401 || status == 404)
        return "check TELEGRAM_BOT_TOKEN and TELEGRAM_BASE_URL";
    if (status == 409)
        return "a webhook is set for this bot (deleteWebhook), or another program polls it: one poller per bot, "
               "or TELEGRAM_COMMANDS=0";
    return NULL;
}

/* Take in the request that ended.  Returns what tg_updates returns (0 for
 * anything but a good getUpdates answer). */
static int tg_ended(struct telegram *t, PGconn *db, const struct telegram_self *self, time_t now,
                    const struct http_resp *r)
{
    int what = t->inflight;
    t->inflight = TG_NONE;
    double ms = tu_mono_ms();
    const char *method = what == TG_ME ? "getMe" : "getUpdates";
    if (what == TG_NONE || r->err == HTTP_EABORTED)
        return 0;
    if (r->err != HTTP_OK) {
        /* libcurl's message may quote the URL, and so the token: only the error's name */
        t->stats.failures++;
        long d = tg_backoff(t, ms, 1000);
        log_event(LOG_WARN, "telegram.poll_failed", "s:method s:error i:retry_in_ms", method, http_strerror(r->err),
                  (long long)d);
        return 0;
    }
    struct telegram_answer *a = malloc(sizeof *a);
    if (!a) {
        tg_backoff(t, ms, 1000);
        return 0;
    }
    const char *ra = http_resp_header(r, "retry-after");
    if (what == TG_ME)
        telegram_parse_me(r->body, r->len, ra, a);
    else
        telegram_parse_updates(r->body, r->len, ra, a);
    alert_scrub(a->desc, sizeof a->desc, t->token);
    if (what == TG_UPDATES)
        t->stats.polls++;
    int rc = 0;
    if (r->status == 429) {
        long s = a->retry_after < 0 ? TG_RETRY_AFTER_DEFAULT : a->retry_after < 1 ? 1 : a->retry_after;
        t->stats.rate_limited++;
        t->next_ms = ms + s * 1000.0;
        log_event(LOG_WARN, "telegram.rate_limited", "s:method i:status i:retry_after", method, 429LL, (long long)s);
    } else if (r->status == 409) {
        t->stats.conflicts++;
        long d = tg_backoff(t, ms, 5000);
        log_event(LOG_WARN, "telegram.conflict", "s:method i:status s:error i:retry_in_ms s:hint", method, 409LL,
                  a->desc[0] ? a->desc : "Conflict", (long long)d, tg_hint(409));
    } else if (r->status < 200 || r->status > 299 || !a->shape_ok || (what == TG_UPDATES && a->skipped && !a->n)) {
        t->stats.failures++;
        long base = r->status == 401 || r->status == 403 || r->status == 404 ? 30000 : 1000;
        long d = tg_backoff(t, ms, base);
        log_event(LOG_WARN, "telegram.poll_failed", "s:method i:status s:error i:retry_in_ms s:hint", method,
                  (long long)r->status, a->desc[0] ? a->desc : "not an answer of the Bot API", (long long)d,
                  tg_hint(r->status));
    } else {
        t->failures = 0;
        t->next_ms = t->started_ms + TELEGRAM_SPACING_MS;
        if (what == TG_ME) {
            snprintf(t->username, sizeof t->username, "%s", a->username);
            log_event(LOG_INFO, "telegram.polling", "s:bot s:chat_id i:poll_seconds", t->username, t->chat_label,
                      (long long)t->poll_s);
        } else {
            long long before = t->offset;
            rc = tg_updates(t, db, self, now, a);
            /* updates that moved nothing on, answered at once: not a long poll */
            if (rc >= 0 && a->n && t->offset == before)
                tg_backoff(t, ms, 1000);
        }
    }
    free(a);
    return rc;
}

int telegram_turn(struct telegram *t, PGconn *db, const struct telegram_self *self, time_t now)
{
    if (!t || !t->enabled)
        return 0;
    int recorded = 0, rc = 0;
    double ms = tu_mono_ms();
    if (!t->offset_loaded) {
        if (ms < t->next_ms)
            return 0;                   /* the database failed a moment ago */
        if (store_telegram_offset(db, t->bot_id, &t->offset) < 0) {
            t->next_ms = ms + 1000;
            return -1;
        }
        t->offset_loaded = 1;
    }
    struct http_done done[2];
    int n = http_pool_run(t->pool, done, 2);
    for (int i = 0; i < n; i++) {
        int k = rc < 0 ? 0 : tg_ended(t, db, self, now, &done[i].resp);
        http_resp_free(&done[i].resp);
        if (k < 0)
            rc = -1;
        else
            recorded += k;
    }
    if (rc == 0 && tg_follow_up(t, db) < 0)
        rc = -1;
    ms = tu_mono_ms();
    if (rc < 0) {
        if (t->next_ms < ms + 1000)
            t->next_ms = ms + 1000;     /* the updates come again from the saved offset */
        return -1;
    }
    if (!t->inflight && ms >= t->next_ms)
        tg_start(t, t->username[0] ? TG_UPDATES : TG_ME, ms);
    return recorded;
}
