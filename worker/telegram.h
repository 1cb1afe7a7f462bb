/* telegram: the worker answers commands sent from its Telegram chat.
 *
 *   POST {TELEGRAM_BASE_URL}/bot<TOKEN>/getMe        once: the bot's @username
 *   POST {TELEGRAM_BASE_URL}/bot<TOKEN>/getUpdates   {"offset","limit","timeout","allowed_updates":["message"]}
 *
 * With TELEGRAM_BOT_TOKEN, a numeric TELEGRAM_CHAT_ID and TELEGRAM_COMMANDS=1,
 * the leader long-polls getUpdates (TELEGRAM_POLL_SECONDS) in its own
 * transfer pool, which the worker's loop waits on beside the webhooks'
 * (http_pool_wait_many): a poll that is open never holds a decision, a
 * webhook answer, the lease or a signal.  A standby does not poll; a worker
 * that steps down abandons its poll (telegram_stop).
 *
 * Commands, from TELEGRAM_CHAT_ID only (the chat id compared exactly;
 * "/cmd@<this bot>" accepted, "/cmd@<another bot>" left to that bot):
 *   /status      running or paused, mode, last decision, next decision in,
 *                leader, LLM outcome, watch wakes and decisions today
 *   /decisions   the last TELEGRAM_DECISIONS decisions, one line each
 *   /pause       control command "stop"            } rows in control_commands
 *   /resume      control command "start"           } requested_by "telegram:<chat id>",
 *   /force       control command "force_decision"  } as POST /control/... records them
 *   /help, /start, an unknown command: the list of commands
 * A control command is inserted in the same transaction as the new offset
 * (worker_state.telegram_offset): exactly once, whatever crashes; the
 * chat is answered when the worker has done it (or after
 * TELEGRAM_PENDING_S: "still pending").  A question's offset is saved
 * before its answer is queued: never answered twice.  Messages from any
 * other chat and from bots are ignored and logged (telegram.ignored: update
 * id, chat id, user id, the command's name; never the text); a control
 * command sent more than TELEGRAM_MAX_AGE_S ago is not carried out,
 * logged, and the chat told so.
 *
 * Replies are plain text queued on the alerts' queue (alert_post, kind
 * ALERT_COMMAND_REPLY): escaped there for parse_mode HTML, cut to Telegram's
 * limit, sent at the alerts' pace (one a second, 429's retry_after obeyed);
 * none is queued while that queue is half full (the alerts keep their
 * room; telegram.reply_dropped).  They never hold a secret.
 *
 * Every byte from Telegram is checked where it enters
 * (telegram_parse_updates): a JSON object of at most TELEGRAM_BODY_MAX
 * bytes and depth 16, "result" an array of at most TELEGRAM_BATCH updates
 * with whole update_ids in 0..TELEGRAM_UPDATE_ID_MAX, chat and user ids
 * whole numbers, texts valid UTF-8 without control characters, cut at
 * TELEGRAM_TEXT_MAX bytes.  Updates older than the offset, or not after
 * the previous one of the answer, are skipped.  A failed poll is tried
 * again later: 409 (a webhook is set, or another program polls this bot)
 * from 5 s, 401/403/404 from 30 s, transport errors, 5xx and answers that
 * are not Telegram's from 1 s, doubling up to TELEGRAM_BACKOFF_MAX_MS;
 * 429 after its retry_after.  Polls start at least TELEGRAM_SPACING_MS
 * apart.  The token is part of the URLs and never logged.
 *
 * Log events: telegram.polling (info), telegram.command (info),
 * telegram.ignored (warn; debug for plain text and other bots' commands),
 * telegram.poll_failed (warn), telegram.conflict (warn),
 * telegram.rate_limited (warn), telegram.reply_dropped (warn), telegram.disabled (info).
 * Not thread-safe: the worker's thread owns the struct. */
#ifndef TELEGRAM_H
#define TELEGRAM_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "alert.h"
#include "cfg.h"
#include "http.h"
#include "store.h"

#define TELEGRAM_BATCH 20                   /* getUpdates limit: updates per answer */
#define TELEGRAM_BODY_MAX (1024 * 1024)     /* largest answer read */
#define TELEGRAM_TEXT_MAX 128               /* bytes of a message's text kept (a command is short) */
#define TELEGRAM_UPDATE_ID_MAX 9007199254740991LL   /* 2^53 - 1 */
#define TELEGRAM_MAX_AGE_S 600              /* an older command is not acted on */
#define TELEGRAM_PENDING_MAX 8              /* commands followed for their reply */
#define TELEGRAM_PENDING_S 120              /* then "still pending" */
#define TELEGRAM_DECISIONS 5                /* lines of /decisions */
#define TELEGRAM_SPACING_MS 500             /* between two polls' starts, at least */
#define TELEGRAM_BACKOFF_MAX_MS 60000       /* longest pause after failures */
#define TELEGRAM_REPLY_MAX 1500             /* bytes of a reply, at most */

/* What a message asks (telegram_command). */
enum telegram_cmd {
    TELEGRAM_CMD_NONE = 0,      /* not a command: plain text */
    TELEGRAM_CMD_STATUS,
    TELEGRAM_CMD_DECISIONS,
    TELEGRAM_CMD_PAUSE,
    TELEGRAM_CMD_RESUME,
    TELEGRAM_CMD_FORCE,
    TELEGRAM_CMD_HELP,          /* /help, /start */
    TELEGRAM_CMD_UNKNOWN,       /* a command we do not have */
    TELEGRAM_CMD_OTHER_BOT      /* /cmd@another_bot */
};

/* One update as it entered. */
struct telegram_update {
    long long update_id;
    int has_message;            /* a "message" with a chat (other kinds are confirmed and ignored) */
    long long chat_id;
    char chat_type[16];         /* "private", "group", "supergroup", "channel", or "" */
    int has_from;
    long long from_id;
    int from_is_bot;
    int has_sender_chat;        /* "sender_chat": sent on behalf of a chat (an anonymous admin of a
                                 * group sends as the group itself, "from" being Telegram's
                                 * GroupAnonymousBot) */
    long long sender_chat_id;
    long long date;             /* unix seconds, 0 when missing */
    char text[TELEGRAM_TEXT_MAX];   /* valid UTF-8, no control characters; "" when none */
    int text_cut;               /* the text was longer */
};

/* A getUpdates (or getMe) answer as it entered. */
struct telegram_answer {
    int json;                   /* the body is a JSON object */
    int ok;                     /* its "ok" is true */
    int shape_ok;               /* ok, and "result" is what the method returns */
    long retry_after;           /* parameters.retry_after, else the header's; -1 when neither */
    char desc[256];             /* "description", cleaned (not yet scrubbed: alert_scrub) */
    int n;                      /* updates in u */
    int skipped;                /* results that are not usable updates */
    int more;                   /* results beyond TELEGRAM_BATCH (taken by the next poll) */
    struct telegram_update u[TELEGRAM_BATCH];
    char username[72];          /* getMe: the bot's username, "" when not a valid one */
    long long bot_id;           /* getMe: the bot's id, 0 when not given */
};

/* Parse a getUpdates answer (body of len bytes, retry_after_header the
 * retry-after header or NULL) into *out.  Pure; fuzzed
 * (tests/fuzz/fuzz_telegram_updates.c). */
void telegram_parse_updates(const char *body, size_t len, const char *retry_after_header,
                            struct telegram_answer *out);

/* Parse a getMe answer: out->shape_ok when its result is a bot with a
 * valid username (into out->username). */
void telegram_parse_me(const char *body, size_t len, const char *retry_after_header, struct telegram_answer *out);

/* What text asks: a command "/word" (1-32 letters, digits or _; any case)
 * optionally addressed "/word@bot" (bot compared with bot_username without
 * regard to case; a different name: TELEGRAM_CMD_OTHER_BOT), followed by
 * the end or a space (arguments ignored).  word (cap bytes) gets the
 * command word as typed, lower case, "" when none.  Pure. */
enum telegram_cmd telegram_command(const char *text, const char *bot_username, char *word, size_t cap);

/* "status", "decisions", "pause", ... (static; "none" out of range). */
const char *telegram_cmd_name(enum telegram_cmd c);

/* What the worker does with an update (telegram_classify). */
enum telegram_action {
    TELEGRAM_ACT_SKIP = 0,      /* nothing to do, nothing to log (not a message) */
    TELEGRAM_ACT_OTHER_CHAT,    /* from a chat that is not TELEGRAM_CHAT_ID: ignored, logged */
    TELEGRAM_ACT_FROM_BOT,      /* sent by a bot: ignored, logged */
    TELEGRAM_ACT_STALE,         /* /pause, /resume or /force sent more than TELEGRAM_MAX_AGE_S ago
                                 * (or undated, or from the future): not carried out, logged, answered */
    TELEGRAM_ACT_TEXT,          /* not a command, or another bot's: ignored */
    TELEGRAM_ACT_COMMAND        /* a command to answer (*cmd says which) */
};

/* Decide what to do with update u for chat chat_id and bot bot_username
 * at now; *cmd gets the command (TELEGRAM_CMD_NONE unless ACT_COMMAND or
 * ACT_STALE), word (cap bytes) its word.  Pure. */
enum telegram_action telegram_classify(const struct telegram_update *u, long long chat_id, const char *bot_username,
                                       time_t now, enum telegram_cmd *cmd, char *word, size_t cap);

/* What /status says of this worker (the rest comes from the database). */
struct telegram_self {
    int running;                /* worker_state.running */
    time_t next_at;             /* the next scheduled decision, 0: none */
    const char *worker;         /* this worker's id (the leader's) */
    time_t leader_since;        /* since when it leads, 0: unknown */
    int dry_run;
    int llm_configured;
};

/* The replies (telegram_text.c: plain text, at most TELEGRAM_REPLY_MAX
 * bytes, valid UTF-8, into out of cap bytes).  Pure. */
void telegram_status_text(const struct telegram_self *self, const struct store_tg_status *st, time_t now,
                          char *out, size_t cap);
void telegram_decisions_text(const struct store_tg_decision *d, int n, char *out, size_t cap);
void telegram_help_text(const char *unknown_word, char *out, size_t cap);
/* Control command c, sent at `sent` (0: undated), was not carried out
 * (TELEGRAM_ACT_STALE at now). */
void telegram_stale_text(enum telegram_cmd c, time_t sent, time_t now, char *out, size_t cap);
/* The chat's answer once command c closed (or is still pending after
 * TELEGRAM_PENDING_S: c->status "pending"). */
void telegram_command_text(const struct store_tg_command *c, char *out, size_t cap);

/* "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h" into out. */
void telegram_duration(long long seconds, char *out, size_t cap);

/* ---- the poller ------------------------------------------------------------ */

struct telegram_stats {
    long long polls;            /* getUpdates answered (any answer) */
    long long updates;          /* updates confirmed */
    long long commands;         /* commands answered (control commands and questions) */
    long long ignored;          /* messages ignored: another chat, a bot, stale */
    long long failures;         /* polls that failed (transport, 4xx, 5xx, not Telegram's answer) */
    long long conflicts;        /* 409 */
    long long rate_limited;     /* 429 */
};

struct telegram_pending {
    long long id;               /* control_commands.id */
    double since_ms;            /* monotonic ms it was recorded */
};

struct telegram {
    int enabled;
    struct alert *alert;        /* replies go through its queue (borrowed) */
    struct http_pool *pool;
    char *url_me, *url_updates; /* SECRET: carry the token */
    char *token;                /* SECRET, for alert_scrub */
    long long chat_id;
    char chat_label[24];        /* the chat id as text */
    char requested_by[40];      /* "telegram:<chat id>" */
    long long bot_id;           /* the token's digits */
    char username[72];          /* from getMe; "" until known */
    long poll_s;
    long long offset;           /* the next update_id wanted: saved, and confirmed to Telegram */
    int offset_loaded;
    int inflight;               /* 0 none, 1 getMe, 2 getUpdates */
    double started_ms;          /* monotonic ms the request in flight started */
    double next_ms;             /* no request before (monotonic ms) */
    int failures;               /* in a row */
    struct telegram_pending pending[TELEGRAM_PENDING_MAX];
    int npending;
    double pending_ms;          /* when they were last looked at */
    struct telegram_stats stats;
};

/* Set t up from the configuration.  Commands are disabled (every call
 * below a cheap no-op) when alerts are (a not enabled), TELEGRAM_COMMANDS
 * is 0 or TELEGRAM_CHAT_ID is a channel @name (logged).  Returns 0, or -1
 * out of memory (t then holds nothing to free). */
int telegram_init(struct telegram *t, const struct cfg *c, struct alert *a) __attribute__((warn_unused_result));

/* Abandon the poll in flight, free everything; a zeroed or freed t is a no-op. */
void telegram_free(struct telegram *t);

int telegram_enabled(const struct telegram *t);

/* The pool the worker's loop waits on (NULL when disabled). */
struct http_pool *telegram_pool(struct telegram *t);

/* The leader's turn: take in a poll that ended (answer the commands,
 * record the control commands with the offset), answer the commands that
 * closed, start the next request when it is due.  Call only with a valid
 * lease.  Returns the number of control commands it recorded (the caller
 * looks at control_commands then), or -1 on a database error (after a
 * fence: the caller steps down). */
int telegram_turn(struct telegram *t, PGconn *db, const struct telegram_self *self, time_t now);

/* Milliseconds until telegram_turn has something to do that no socket
 * will announce (a request to start, commands to look at); a large value
 * when none. */
long telegram_wait_ms(const struct telegram *t);

/* This worker stops leading: abandon the poll, forget the offset (the
 * next leadership reads it again) and the commands followed. */
void telegram_stop(struct telegram *t);

/* The counters as JSON members for worker_state.alerts ("commands": {...})
 * into out (cap bytes). */
void telegram_stats_json(const struct telegram *t, char *out, size_t cap);

#endif
