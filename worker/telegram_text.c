/* telegram_text: the chat's answers, as plain text (pure functions; see
 * telegram.h).  Every answer is cut at TELEGRAM_REPLY_MAX bytes and made
 * valid UTF-8; alert_post() escapes it for parse_mode HTML. */
#include "config.h"
#include "telegram.h"
#include "timeutil.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- replies -------------------------------------------------------------------- */

/* Append to out (cap bytes; len the bytes used) what fmt says, cut when full. */
__attribute__((format(printf, 4, 5)))
static void tg_add(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

/* The end of a reply: never past TELEGRAM_REPLY_MAX, valid UTF-8. */
static void tg_finish(char *out, size_t cap)
{
    if (!cap)
        return;
    size_t n = strlen(out), max = cap - 1 < TELEGRAM_REPLY_MAX ? cap - 1 : TELEGRAM_REPLY_MAX;
    if (n > max)
        out[utf8_cut(out, n, max)] = '\0';
    utf8_clean(out);
}

void telegram_duration(long long s, char *out, size_t cap)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, cap, "%lld s", s);
    else if (s < 3600)
        snprintf(out, cap, s % 60 ? "%lld min %lld s" : "%lld min", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, cap, (s % 3600) / 60 ? "%lld h %lld min" : "%lld h", s / 3600, (s % 3600) / 60);
    else
        snprintf(out, cap, (s % 86400) / 3600 ? "%lld d %lld h" : "%lld d", s / 86400, (s % 86400) / 3600);
}

/* "HH:MM:SS UTC" (with_date: "MM-DD HH:MM UTC") of t into out. */
static void tg_clock(time_t t, int with_date, char *out, size_t cap)
{
    long long s = (long long)t, days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400), sec = s - days * 86400, y;
    int m, d;
    tu_civil_from_days(days, &y, &m, &d);
    if (with_date)
        snprintf(out, cap, "%02d-%02d %02lld:%02lld UTC", m, d, sec / 3600, sec % 3600 / 60);
    else
        snprintf(out, cap, "%02lld:%02lld:%02lld UTC", sec / 3600, sec % 3600 / 60, sec % 60);
}

void telegram_status_text(const struct telegram_self *self, const struct store_tg_status *st, time_t now,
                          char *out, size_t cap)
{
    size_t len = 0;
    char a[48], b[48];
    if (!cap)
        return;
    out[0] = '\0';
    tg_add(out, cap, &len, "%s\n", self->running ? "Running: deciding on its schedule."
                                                  : "Paused: no decision until /resume.");
    if (st->last_id > 0) {
        tg_add(out, cap, &len, "Mode: %s, %s (source: %s)\n", st->mode, st->intensity, st->source);
        telegram_duration((long long)(now - st->last_at), a, sizeof a);
        tg_clock(st->last_at, 0, b, sizeof b);
        tg_add(out, cap, &len, "Last decision: #%lld, %s ago (%s), woken by %s, %s, %d workflow%s\n", st->last_id, a, b,
               st->wake, st->status, st->workflows, st->workflows == 1 ? "" : "s");
    } else {
        tg_add(out, cap, &len, "Mode: none yet\nLast decision: none yet\n");
    }
    if (!self->running) {
        tg_add(out, cap, &len, "Next decision: none while paused\n");
    } else if (self->next_at <= 0 || self->next_at <= now) {
        tg_add(out, cap, &len, "Next decision: due now\n");
    } else {
        telegram_duration((long long)(self->next_at - now), a, sizeof a);
        tg_add(out, cap, &len, "Next decision in: %s\n", a);
    }
    if (self->leader_since > 0) {
        telegram_duration((long long)(now - self->leader_since), a, sizeof a);
        tg_add(out, cap, &len, "Leader: %s (this worker, leading for %s)\n", self->worker ? self->worker : "?", a);
    } else {
        tg_add(out, cap, &len, "Leader: %s (this worker)\n", self->worker ? self->worker : "?");
    }
    if (!self->llm_configured)
        tg_add(out, cap, &len, "LLM: not configured (the fallback policy decides)\n");
    else if (st->last_id <= 0)
        tg_add(out, cap, &len, "LLM: no decision yet\n");
    else if (st->llm_provider[0])
        tg_add(out, cap, &len, "LLM: %s (%s)\n", st->llm_outcome, st->llm_provider);
    else
        tg_add(out, cap, &len, "LLM: %s\n", st->llm_outcome);
    tg_add(out, cap, &len, "Watch wakes today: %lld (of %lld decision%s today, UTC)", st->wakes_today,
           st->decisions_today, st->decisions_today == 1 ? "" : "s");
    if (self->dry_run)
        tg_add(out, cap, &len, "\nDry run: no N8N_BASE_URL, no workflow is started");
    tg_finish(out, cap);
}

void telegram_decisions_text(const struct store_tg_decision *d, int n, char *out, size_t cap)
{
    size_t len = 0;
    if (!cap)
        return;
    out[0] = '\0';
    if (n <= 0) {
        tg_add(out, cap, &len, "No decision yet.");
        tg_finish(out, cap);
        return;
    }
    tg_add(out, cap, &len, "Last %d decision%s, newest first:", n, n == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        char at[32];
        tg_clock(d[i].at, 1, at, sizeof at);
        tg_add(out, cap, &len, "\n#%lld %s %s/%s, %s, %d workflow%s, %s (woken: %s)", d[i].id, at, d[i].mode,
               d[i].intensity, d[i].source, d[i].workflows, d[i].workflows == 1 ? "" : "s", d[i].status, d[i].wake);
    }
    tg_finish(out, cap);
}

void telegram_help_text(const char *unknown_word, char *out, size_t cap)
{
    size_t len = 0;
    if (!cap)
        return;
    out[0] = '\0';
    if (unknown_word && *unknown_word)
        tg_add(out, cap, &len, "Unknown command /%.32s.\n", unknown_word);
    tg_add(out, cap, &len, "Commands: /status (what the worker does), /decisions (the last %d), "
                           "/pause (stop deciding), /resume (decide again), /force (decide now).",
           TELEGRAM_DECISIONS);
    tg_finish(out, cap);
}

void telegram_stale_text(enum telegram_cmd c, time_t sent, time_t now, char *out, size_t cap)
{
    size_t len = 0;
    char age[48];
    if (!cap)
        return;
    out[0] = '\0';
    if (sent <= 0 || sent > now) {
        snprintf(age, sizeof age, "its date is not one the worker can trust");
    } else {
        char d[32];
        telegram_duration((long long)(now - sent), d, sizeof d);
        snprintf(age, sizeof age, "it was sent %s ago", d);
    }
    char limit[32];
    telegram_duration(TELEGRAM_MAX_AGE_S, limit, sizeof limit);
    tg_add(out, cap, &len, "/%s was not carried out: %s, and an order older than %s is not (the worker was away). "
                           "Send it again to act now; /status says what the worker does.",
           telegram_cmd_name(c), age, limit);
    tg_finish(out, cap);
}

void telegram_command_text(const struct store_tg_command *c, char *out, size_t cap)
{
    size_t len = 0;
    if (!cap)
        return;
    out[0] = '\0';
    const char *what = strcmp(c->command, "stop") == 0 ? "/pause"
                     : strcmp(c->command, "start") == 0 ? "/resume"
                     : strcmp(c->command, "force_decision") == 0 ? "/force" : c->command;
    if (strcmp(c->status, "pending") == 0) {
        char a[32];
        telegram_duration(TELEGRAM_PENDING_S, a, sizeof a);
        tg_add(out, cap, &len, "%s (command #%lld) is still pending after %s; /status says what the worker does.",
               what, c->id, a);
    } else if (strcmp(c->status, "done") != 0) {
        tg_add(out, cap, &len, "%s (command #%lld) failed: %s", what, c->id, c->result[0] ? c->result : c->status);
    } else if (strcmp(c->command, "stop") == 0) {
        tg_add(out, cap, &len, strstr(c->result, "already") ? "Already paused (command #%lld)."
                                                            : "Paused (command #%lld): no decision until /resume.",
               c->id);
    } else if (strcmp(c->command, "start") == 0) {
        tg_add(out, cap, &len, strstr(c->result, "already") ? "Already running (command #%lld)."
                                                            : "Running again (command #%lld): deciding now.",
               c->id);
    } else if (strcmp(c->command, "force_decision") == 0 && c->decision_id > 0) {
        tg_add(out, cap, &len, "Decision #%lld made (command #%lld): %s, %s, %d workflow%s.", c->decision_id, c->id,
               c->mode[0] ? c->mode : "?", c->intensity[0] ? c->intensity : "?", c->workflows,
               c->workflows == 1 ? "" : "s");
    } else {
        tg_add(out, cap, &len, "%s (command #%lld): %s", what, c->id, c->result[0] ? c->result : "done");
    }
    tg_finish(out, cap);
}
