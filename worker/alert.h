/* alert: Telegram alerts, queued and sent at a pace the Bot API accepts.
 *
 *   POST {TELEGRAM_BASE_URL}/bot<TELEGRAM_BOT_TOKEN>/sendMessage
 *   {"chat_id":<TELEGRAM_CHAT_ID>,"text":"<HTML>","parse_mode":"HTML","disable_notification":false}
 *
 * alert_post() and the helpers below only queue a message (a bounded ring of
 * ALERT_QUEUE_MAX; when it is full the oldest message is dropped and
 * counted).  alert_flush() sends what it can within a time budget: at most
 * one message per ALERT_SPACING_MS to the chat, none before a 429's
 * parameters.retry_after has passed (the message stays queued), each
 * request with a timeout of at most ALERT_TIMEOUT_MS and never past the
 * budget.  Transport errors and 5xx are retried ALERT_MAX_ATTEMPTS times
 * with a growing pause; other 4xx answers fail the message at once.
 *
 * Text is plain text from the caller: alert_post() makes it valid UTF-8,
 * drops control characters (except newline and tab), escapes &, <, > and "
 * for parse_mode HTML and cuts the result at ALERT_TEXT_MAX UTF-16 units
 * (Telegram's limit, counted on the escaped text so that either way of
 * counting passes), ending a cut text with an ellipsis; an entity is never
 * cut in half.
 *
 * Secrets: the bot token is part of the request URL.  It is never logged:
 * log lines carry the chat id, the kind, the HTTP status and a static error
 * name, never libcurl's error text (which can quote the URL); Telegram's
 * own "description" is logged only after alert_scrub().
 *
 * Log events: alert.sent (info), alert.rate_limited (warn), alert.failed
 * (warn; will_retry tells whether the message is kept), alert.dropped
 * (warn, queue full), alert.invalid_config (error, from alert_init).
 *
 * What the caller (worker main/cycle) does:
 *  - at startup: alert_init() after cfg_load(); -1 is a startup error (exit
 *    1, the reason has been logged).  Then alert_worker_started().
 *  - in each cycle, on the events: alert_mode_switch() when the decided
 *    mode differs from the previous decision's; alert_workflow_failed()
 *    when a trigger ends 'failed', 'unavailable' or (from worker/track.c)
 *    with outcome failed/crashed/timed_out; alert_circuit_open() when a
 *    circuit breaker opens (a workflow's or an LLM provider's);
 *    alert_llm_fallback_streak() after every decision with the current
 *    number of consecutive fallback decisions (0 after an LLM decision):
 *    it posts once, when the streak reaches ALERT_FALLBACK_STREAK.
 *  - alert_flush(a, budget) at the end of each cycle and while it waits for
 *    the next one (the budget being the time it may spend, e.g. the wait;
 *    it returns as soon as the queue is empty, so keep waiting after it).
 *  - at a clean stop: alert_worker_stopped() (queued first), alert_flush(a, ~1500),
 *    alert_free().
 *  - metrics: a->stats (sent, failed, dropped, rate_limited) and
 *    alert_queued(); the worker writes them with its heartbeat if /metrics
 *    should show them (the FastCGI process cannot see the worker's memory).
 * Not thread-safe: one worker thread owns the struct. */
#ifndef ALERT_H
#define ALERT_H

#include <stddef.h>

#include "cfg.h"

#define ALERT_QUEUE_MAX 64          /* queued messages; the oldest is dropped beyond */
#define ALERT_TEXT_MAX 4096         /* Telegram's limit, UTF-16 units of the sent text */
#define ALERT_TIMEOUT_MS 5000       /* one sendMessage request, at most */
#define ALERT_SPACING_MS 1000       /* between two messages to the chat */
#define ALERT_MAX_ATTEMPTS 3        /* tries on transport errors and 5xx */
#define ALERT_RETRY_AFTER_MAX 3600  /* a longer retry_after is clamped to this (seconds) */
#define ALERT_BODY_MAX (64 * 1024)  /* largest answer read from Telegram */

enum alert_kind {
    ALERT_MODE_SWITCH = 0,
    ALERT_WORKFLOW_FAILED,
    ALERT_CIRCUIT_OPEN,
    ALERT_LLM_FALLBACK_STREAK,
    ALERT_WORKER_STARTED,
    ALERT_WORKER_STOPPED,
    ALERT_DECISIONS_MISSED,
    ALERT_LEADER_CHANGED,
    ALERT_CATALOG_INVALID,
    ALERT_COMMAND_REPLY,        /* an answer to a command from the chat (worker/telegram.c) */
    ALERT_KIND_COUNT
};

/* "mode_switch", "workflow_failed", "circuit_open", "llm_fallback_streak",
 * "worker_started", "worker_stopped", "decisions_missed", "leader_changed",
 * "catalog_invalid", "command_reply" (static; "unknown" out of range). */
const char *alert_kind_name(enum alert_kind k);

struct alert_stats {
    long long sent;           /* accepted by Telegram (2xx) */
    long long failed;         /* given up: 4xx other than 429, or ALERT_MAX_ATTEMPTS transport errors/5xx */
    long long dropped;        /* pushed out of a full queue */
    long long rate_limited;   /* 429 answers (the message was kept) */
};

struct alert_msg {
    enum alert_kind kind;
    int attempts;             /* failed tries so far (429s not counted) */
    int quiet;                /* disable_notification */
    char *text;               /* the HTML text, owned */
};

struct alert {
    int enabled;                          /* token and chat id configured */
    char *url;                            /* .../bot<token>/sendMessage: SECRET, never log it */
    char *token;                          /* SECRET, kept for alert_scrub() */
    char chat_id[80];                     /* as configured: -100123... or @channel */
    long fallback_streak;                 /* ALERT_FALLBACK_STREAK */
    struct alert_msg queue[ALERT_QUEUE_MAX];
    size_t head, count;                   /* ring buffer */
    long long next_at_ms;                 /* CLOCK_MONOTONIC ms: nothing is sent before */
    struct alert_stats stats;
};

/* Set a up from TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, TELEGRAM_BASE_URL and
 * ALERT_FALLBACK_STREAK.  Both token and chat id empty: alerts disabled
 * (every call below is then a cheap no-op), returns 0.  One without the
 * other, a token not shaped <digits>:<letters, digits, _ or ->, or a chat id
 * that is neither a number nor @name: logs alert.invalid_config (naming
 * the variable, never the token) and returns -1; a then holds nothing to
 * free.  Copies what it needs: c may be freed afterwards. */
int alert_init(struct alert *a, const struct cfg *c) __attribute__((warn_unused_result));

/* Free the queue and the copies; alert_free on a zeroed or freed alert is a no-op. */
void alert_free(struct alert *a);

/* Nonzero when alerts are configured. */
int alert_enabled(const struct alert *a);

/* Queue plain text (escaped and cut as described above).  Returns 0 when
 * queued or when alerts are disabled, -1 on a NULL text or out of memory. */
int alert_post(struct alert *a, enum alert_kind kind, const char *text);

/* Send queued messages for at most budget_ms milliseconds (0: send nothing).
 * Returns the number of messages still queued. */
size_t alert_flush(struct alert *a, long budget_ms);

/* Messages waiting, and the i-th oldest one's HTML text (borrowed, valid
 * until the next call that changes the queue; NULL when i >= alert_queued). */
size_t alert_queued(const struct alert *a);
const char *alert_queue_text(const struct alert *a, size_t i);

/* ---- one helper per kind: each formats a short HTML message and queues it;
 * string arguments are plain text (NULL allowed where noted) and returns
 * are those of alert_post(). */

/* "Mode switch: crypto -> forex" and the reason (may be NULL). */
int alert_mode_switch(struct alert *a, const char *from, const char *to, const char *reason);

/* "Workflow failed: <workflow> (<status>)", the n8n execution id (may be
 * NULL) and a detail such as the error text (may be NULL). */
int alert_workflow_failed(struct alert *a, const char *workflow, const char *status,
                          const char *execution_id, const char *detail);

/* "Circuit open: <name>" after <failures> consecutive failures, next try
 * in <cooldown_seconds> (name: a workflow or an LLM provider). */
int alert_circuit_open(struct alert *a, const char *name, long failures, long cooldown_seconds);

/* Call after every decision with the number of consecutive decisions made
 * by the fallback (0 after an LLM decision).  Queues one message when the
 * streak equals ALERT_FALLBACK_STREAK; returns 1 when it queued one, 0 when
 * not (or disabled), -1 on error.  last_error (may be NULL): the LLM's last
 * failure. */
int alert_llm_fallback_streak(struct alert *a, long streak, const char *last_error);

/* "Worker started" / "Worker stopped" with a detail (may be NULL), e.g. the
 * version and pid, or the reason of the stop.  "started" is sent silently
 * (disable_notification). */
int alert_worker_started(struct alert *a, const char *detail);
int alert_worker_stopped(struct alert *a, const char *detail);

/* No leader decided while decisions were due: detail says from when to
 * when and how many (worker/main.c). */
int alert_decisions_missed(struct alert *a, const char *detail);

/* A worker took the lead (after the previous leader stopped or died). */
int alert_leader_changed(struct alert *a, const char *detail);
/* A catalog reload was refused (the running catalog is kept); detail is
 * the validation message. */
int alert_catalog_invalid(struct alert *a, const char *detail);

/* ---- exposed for tests -------------------------------------------------- */

/* Escape plain text for parse_mode HTML into out (cap bytes, always
 * terminated when cap > 0), using at most max_units UTF-16 units.  Invalid
 * UTF-8 becomes U+FFFD, control characters other than \n and \t are
 * dropped.  Returns the units used; *cut is set to 1 when text did not fit. */
size_t alert_html_escape(const char *text, size_t max_units, char *out, size_t cap, int *cut);

/* What Telegram answered (body of len bytes; retry_after_header the
 * retry-after header, NULL when absent): *ok its "ok" (0 unless true),
 * desc (desclen bytes) its "description" cut on a character, valid UTF-8
 * without control characters (not yet scrubbed: see alert_scrub),
 * *retry_after its parameters.retry_after (else the header's whole
 * seconds) clamped to 0 .. ALERT_RETRY_AFTER_MAX, -1 when neither says.
 * Pure; fuzzed (tests/fuzz/fuzz_telegram.c). */
void alert_parse_answer(const char *body, size_t len, const char *retry_after_header, int *ok,
                        char *desc, size_t desclen, long *retry_after);

/* Rewrite s (a NUL-terminated string in a buffer of cap bytes) with every
 * occurrence of token replaced by "<token>" and every "/bot<...>" path
 * segment by "/bot<token>"; a result longer than cap is cut.  A NULL or
 * empty token only does the latter. */
void alert_scrub(char *s, size_t cap, const char *token);

#endif
