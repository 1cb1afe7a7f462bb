/* telegram_parse: what comes from Telegram, checked where it enters (the
 * getUpdates and getMe answers, the commands in a message's text, what
 * the worker does with an update); pure functions, see telegram.h.  The
 * answers to the chat are written by telegram_text.c. */
#include "config.h"
#include "telegram.h"
#include "utf8.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TELEGRAM_JSON_DEPTH 16
#define TELEGRAM_WORD_MAX 32          /* a command's word: Telegram's limit */
#define TELEGRAM_BOTNAME_MAX 64

/* ---- the answer ------------------------------------------------------------ */

/* o[key] when o is an object holding it with type t, else NULL. */
static json_object *tg_get(json_object *o, const char *key, json_type t)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, t))
        return NULL;
    return v;
}

/* o[key] as a whole number in lo..hi into *out.  Returns 1, or 0 when it is
 * missing, not a whole number or out of range (*out untouched). */
static int tg_int(json_object *o, const char *key, long long lo, long long hi, long long *out)
{
    json_object *v = tg_get(o, key, json_type_int);
    if (!v)
        return 0;
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno || x < lo || x > hi)
        return 0;
    *out = (long long)x;
    return 1;
}

/* The JSON object in body, or NULL (too long, not JSON, too deep, not an object). */
static json_object *tg_json(const char *body, size_t len)
{
    if (!body || len == 0 || len > TELEGRAM_BODY_MAX)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(TELEGRAM_JSON_DEPTH);
    if (!tok)
        return NULL;
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    /* the whole body, nothing but white space after the value */
    size_t end = e == json_tokener_success ? json_tokener_get_parse_end(tok) : 0;
    while (end < len && (body[end] == ' ' || body[end] == '\n' || body[end] == '\r' || body[end] == '\t'))
        end++;
    if (e != json_tokener_success || end != len || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        root = NULL;
    }
    json_tokener_free(tok);
    return root;
}

/* What every answer says: ok, description, retry_after. */
static void tg_common(json_object *root, const char *retry_after_header, struct telegram_answer *out)
{
    json_object *v;
    out->json = root != NULL;
    if ((v = tg_get(root, "ok", json_type_boolean)))
        out->ok = json_object_get_boolean(v) != 0;
    if ((v = tg_get(root, "description", json_type_string)))
        utf8_copy_clean(out->desc, sizeof out->desc, json_object_get_string(v));
    long long ra;
    if (tg_int(tg_get(root, "parameters", json_type_object), "retry_after", 0, INT64_MAX, &ra))
        out->retry_after = ra > ALERT_RETRY_AFTER_MAX ? ALERT_RETRY_AFTER_MAX : (long)ra;
    if (out->retry_after < 0 && retry_after_header) {
        char *end;
        errno = 0;
        long h = strtol(retry_after_header, &end, 10);
        if (end != retry_after_header && !*end && h >= 0)
            out->retry_after = errno == ERANGE || h > ALERT_RETRY_AFTER_MAX ? ALERT_RETRY_AFTER_MAX : h;
    }
}

static void tg_answer_init(struct telegram_answer *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
}

/* One element of "result" into u.  Returns 1 when it is a usable update. */
static int tg_update(json_object *o, struct telegram_update *u)
{
    memset(u, 0, sizeof *u);
    if (!json_object_is_type(o, json_type_object) || !tg_int(o, "update_id", 0, TELEGRAM_UPDATE_ID_MAX, &u->update_id))
        return 0;
    json_object *m = tg_get(o, "message", json_type_object);
    json_object *chat = tg_get(m, "chat", json_type_object);
    if (!chat || !tg_int(chat, "id", -TELEGRAM_UPDATE_ID_MAX, TELEGRAM_UPDATE_ID_MAX, &u->chat_id))
        return 1;                       /* another kind of update: confirmed, nothing to do */
    u->has_message = 1;
    json_object *v;
    if ((v = tg_get(chat, "type", json_type_string)))
        utf8_copy_clean(u->chat_type, sizeof u->chat_type, json_object_get_string(v));
    json_object *from = tg_get(m, "from", json_type_object);
    if (from && tg_int(from, "id", -TELEGRAM_UPDATE_ID_MAX, TELEGRAM_UPDATE_ID_MAX, &u->from_id)) {
        u->has_from = 1;
        /* a sender that does not say it is a person is taken for a bot */
        json_object *b = tg_get(from, "is_bot", json_type_boolean);
        u->from_is_bot = !b || json_object_get_boolean(b);
    }
    json_object *sc = tg_get(m, "sender_chat", json_type_object);
    if (sc && tg_int(sc, "id", -TELEGRAM_UPDATE_ID_MAX, TELEGRAM_UPDATE_ID_MAX, &u->sender_chat_id))
        u->has_sender_chat = 1;
    long long date;
    if (tg_int(m, "date", 0, 4102444800LL, &date))     /* before 2100 */
        u->date = date;
    if ((v = tg_get(m, "text", json_type_string))) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        utf8_copy_clean(u->text, sizeof u->text, s);
        u->text_cut = n >= sizeof u->text;
    }
    return 1;
}

void telegram_parse_updates(const char *body, size_t len, const char *retry_after_header,
                            struct telegram_answer *out)
{
    tg_answer_init(out);
    json_object *root = tg_json(body, len);
    tg_common(root, retry_after_header, out);
    json_object *res = tg_get(root, "result", json_type_array);
    if (out->ok && res) {
        out->shape_ok = 1;
        size_t n = json_object_array_length(res);
        for (size_t i = 0; i < n; i++) {
            if (out->n == TELEGRAM_BATCH) {
                out->more = (int)(n - i);
                break;
            }
            if (tg_update(json_object_array_get_idx(res, i), &out->u[out->n]))
                out->n++;
            else
                out->skipped++;
        }
    }
    json_object_put(root);
}

/* A Telegram username: 1-64 letters, digits or _. */
static int tg_name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
              s[n] == '_'))
            return 0;
    return n >= 1 && n <= TELEGRAM_BOTNAME_MAX;
}

void telegram_parse_me(const char *body, size_t len, const char *retry_after_header, struct telegram_answer *out)
{
    tg_answer_init(out);
    json_object *root = tg_json(body, len);
    tg_common(root, retry_after_header, out);
    json_object *res = tg_get(root, "result", json_type_object), *v;
    if (out->ok && res && (v = tg_get(res, "username", json_type_string)) &&
        json_object_get_string_len(v) <= TELEGRAM_BOTNAME_MAX &&
        strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v) &&
        tg_name_ok(json_object_get_string(v))) {
        snprintf(out->username, sizeof out->username, "%s", json_object_get_string(v));
        long long id;
        if (tg_int(res, "id", 1, TELEGRAM_UPDATE_ID_MAX, &id))
            out->bot_id = id;
        out->shape_ok = 1;
    }
    json_object_put(root);
}

/* ---- commands ----------------------------------------------------------------- */

static int tg_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

const char *telegram_cmd_name(enum telegram_cmd c)
{
    switch (c) {
    case TELEGRAM_CMD_NONE:      return "none";
    case TELEGRAM_CMD_STATUS:    return "status";
    case TELEGRAM_CMD_DECISIONS: return "decisions";
    case TELEGRAM_CMD_PAUSE:     return "pause";
    case TELEGRAM_CMD_RESUME:    return "resume";
    case TELEGRAM_CMD_FORCE:     return "force";
    case TELEGRAM_CMD_HELP:      return "help";
    case TELEGRAM_CMD_UNKNOWN:   return "unknown";
    case TELEGRAM_CMD_OTHER_BOT: return "other_bot";
    }
    return "none";
}

enum telegram_cmd telegram_command(const char *text, const char *bot_username, char *word, size_t cap)
{
    if (cap)
        word[0] = '\0';
    if (!text || text[0] != '/')
        return TELEGRAM_CMD_NONE;
    const char *p = text + 1;
    size_t n = 0;
    while (tg_word_char(p[n]))
        n++;
    if (n == 0 || n > TELEGRAM_WORD_MAX)
        return TELEGRAM_CMD_NONE;
    char w[TELEGRAM_WORD_MAX + 1];
    for (size_t i = 0; i < n; i++)
        w[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
    w[n] = '\0';
    const char *q = p + n;
    int other = 0;
    if (*q == '@') {
        q++;
        size_t m = 0;
        while (tg_word_char(q[m]))
            m++;
        if (m == 0 || m > TELEGRAM_BOTNAME_MAX || (q[m] && q[m] != ' '))
            return TELEGRAM_CMD_NONE;
        other = !bot_username || strlen(bot_username) != m || strncasecmp(q, bot_username, m) != 0;
    } else if (*q && *q != ' ') {
        return TELEGRAM_CMD_NONE;       /* "/status!": not a command */
    }
    if (cap)
        snprintf(word, cap, "%s", w);
    if (other)
        return TELEGRAM_CMD_OTHER_BOT;
    static const struct { const char *w; enum telegram_cmd c; } cmds[] = {
        { "status", TELEGRAM_CMD_STATUS }, { "decisions", TELEGRAM_CMD_DECISIONS },
        { "pause", TELEGRAM_CMD_PAUSE },   { "resume", TELEGRAM_CMD_RESUME },
        { "force", TELEGRAM_CMD_FORCE },   { "help", TELEGRAM_CMD_HELP }, { "start", TELEGRAM_CMD_HELP },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(w, cmds[i].w) == 0)
            return cmds[i].c;
    return TELEGRAM_CMD_UNKNOWN;
}

enum telegram_action telegram_classify(const struct telegram_update *u, long long chat_id, const char *bot_username,
                                       time_t now, enum telegram_cmd *cmd, char *word, size_t cap)
{
    *cmd = TELEGRAM_CMD_NONE;
    if (cap)
        word[0] = '\0';
    if (!u->has_message)
        return TELEGRAM_ACT_SKIP;
    if (u->chat_id != chat_id)
        return TELEGRAM_ACT_OTHER_CHAT;
    /* a bot is not obeyed; an anonymous admin of the chat is (the message
     * is sent as the chat itself: a linked channel's posts name the channel) */
    int as_the_chat = u->has_sender_chat && u->sender_chat_id == chat_id;
    if (u->has_from && u->from_is_bot && !as_the_chat)
        return TELEGRAM_ACT_FROM_BOT;
    enum telegram_cmd c = telegram_command(u->text, bot_username, word, cap);
    if (c == TELEGRAM_CMD_NONE || c == TELEGRAM_CMD_OTHER_BOT)
        return TELEGRAM_ACT_TEXT;
    *cmd = c;
    /* an order from long ago (the worker was away) or with no date is not
     * carried out: nobody waits for it any more; a question is answered
     * with what is true now */
    int control = c == TELEGRAM_CMD_PAUSE || c == TELEGRAM_CMD_RESUME || c == TELEGRAM_CMD_FORCE;
    if (control && (u->date <= 0 || now - (time_t)u->date > TELEGRAM_MAX_AGE_S ||
                    (time_t)u->date - now > TELEGRAM_MAX_AGE_S))
        return TELEGRAM_ACT_STALE;
    return TELEGRAM_ACT_COMMAND;
}
