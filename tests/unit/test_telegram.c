/* Telegram commands (worker/telegram.c, worker/telegram_parse.c): what
 * enters from getUpdates and getMe (shapes, sizes, ids, texts), the
 * command parser (bot-name suffixes, case, arguments, what is not a
 * command), the dispatch of an update (the allowed chat only, bots,
 * stale commands), the replies (bounded, valid UTF-8, nothing secret) and
 * the set-up (when commands are enabled, what the poller asks for). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alert.h"
#include "cfg.h"
#include "http.h"
#include "log.h"
#include "telegram.h"
#include "timeutil.h"
#include "utf8.h"

#define TOKEN "123456:SECRETtok_en-XYZ"
#define CHAT (-1001234567890LL)
#define NOW ((time_t)1767225600)      /* 2026-01-01T00:00:00Z */

/* Parse body (a C string) as a getUpdates answer into a fresh answer (caller frees). */
static struct telegram_answer *updates(const char *body, const char *retry_after)
{
    struct telegram_answer *a = malloc(sizeof *a);
    assert_non_null(a);
    telegram_parse_updates(body, strlen(body), retry_after, a);
    return a;
}

static void good_answer(void **state)
{
    (void)state;
    struct telegram_answer *a = updates(
        "{\"ok\":true,\"result\":["
        "{\"update_id\":100,\"message\":{\"message_id\":7,\"from\":{\"id\":42,\"is_bot\":false,\"first_name\":\"Ann\"},"
        "\"chat\":{\"id\":-1001234567890,\"type\":\"supergroup\"},\"date\":1767225600,\"text\":\"/status@standin_bot\"}},"
        "{\"update_id\":101,\"edited_message\":{\"message_id\":7,\"chat\":{\"id\":1,\"type\":\"private\"},\"date\":1}},"
        "{\"update_id\":102,\"message\":{\"message_id\":9,\"chat\":{\"id\":5,\"type\":\"private\"},\"date\":1767225601}},"
        "{\"update_id\":103,\"message\":{\"message_id\":10,\"from\":{\"id\":1087968824,\"is_bot\":true,"
        "\"first_name\":\"Group\",\"username\":\"GroupAnonymousBot\"},\"sender_chat\":{\"id\":-1001234567890,"
        "\"title\":\"Desk\",\"type\":\"supergroup\"},\"chat\":{\"id\":-1001234567890,\"type\":\"supergroup\"},"
        "\"date\":1767225602,\"text\":\"/pause\"}}"
        "]}\n", NULL);
    assert_true(a->json && a->ok && a->shape_ok);
    assert_int_equal(a->n, 4);
    /* an anonymous admin: from GroupAnonymousBot, sent as the group */
    assert_true(a->u[3].has_from && a->u[3].from_is_bot && a->u[3].has_sender_chat);
    assert_true(a->u[3].sender_chat_id == CHAT);
    assert_false(a->u[0].has_sender_chat);
    assert_int_equal(a->skipped, 0);
    assert_int_equal(a->retry_after, -1);
    assert_int_equal(a->u[0].update_id, 100);
    assert_true(a->u[0].has_message && a->u[0].has_from && !a->u[0].from_is_bot);
    assert_true(a->u[0].chat_id == CHAT);
    assert_int_equal(a->u[0].from_id, 42);
    assert_int_equal(a->u[0].date, 1767225600);
    assert_string_equal(a->u[0].chat_type, "supergroup");
    assert_string_equal(a->u[0].text, "/status@standin_bot");
    /* another kind of update: confirmed, nothing to act on */
    assert_int_equal(a->u[1].update_id, 101);
    assert_false(a->u[1].has_message);
    /* a message without text (a photo) */
    assert_true(a->u[2].has_message);
    assert_string_equal(a->u[2].text, "");
    assert_false(a->u[2].has_from);
    free(a);

    a = updates("{\"ok\":true,\"result\":[]}", NULL);
    assert_true(a->shape_ok);
    assert_int_equal(a->n, 0);
    free(a);
}

static void error_answers(void **state)
{
    (void)state;
    struct telegram_answer *a = updates(
        "{\"ok\":false,\"error_code\":409,\"description\":\"Conflict: can't use getUpdates method while webhook is "
        "active; use deleteWebhook to delete the webhook first\"}", NULL);
    assert_true(a->json);
    assert_false(a->ok || a->shape_ok);
    assert_non_null(strstr(a->desc, "webhook is active"));
    free(a);
    a = updates("{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 15\","
                "\"parameters\":{\"retry_after\":15}}", "3");
    assert_int_equal(a->retry_after, 15);          /* the body's, not the header's */
    free(a);
    a = updates("{\"ok\":false,\"error_code\":429}", "7");
    assert_int_equal(a->retry_after, 7);
    free(a);
    a = updates("{\"ok\":false,\"parameters\":{\"retry_after\":999999999}}", NULL);
    assert_int_equal(a->retry_after, ALERT_RETRY_AFTER_MAX);
    free(a);
    a = updates("{\"ok\":false,\"parameters\":{\"retry_after\":-3}}", "x");
    assert_int_equal(a->retry_after, -1);
    free(a);
    /* not the Bot API: a proxy's page, a truncated answer, trailing bytes, a bare array */
    const char *bad[] = { "<html>502 Bad Gateway</html>", "{\"ok\":true,\"result\":[{\"update_id\":1",
                          "{\"ok\":true,\"result\":[]} x", "[{\"update_id\":1}]", "", "{\"ok\":\"true\",\"result\":[]}",
                          "{\"ok\":true,\"result\":{}}", "{\"ok\":true}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = updates(bad[i], NULL);
        assert_false(a->shape_ok);
        assert_int_equal(a->n, 0);
        free(a);
    }
}

static void hostile_updates(void **state)
{
    (void)state;
    /* ids that are not whole numbers in 0..2^53-1 make an update unusable */
    struct telegram_answer *a = updates(
        "{\"ok\":true,\"result\":[{\"update_id\":-1},{\"update_id\":1e3},{\"update_id\":\"5\"},"
        "{\"update_id\":9007199254740992},{\"update_id\":18446744073709551615},{\"update_id\":null},7,"
        "{\"update_id\":9007199254740991,\"message\":{\"chat\":{\"id\":1.5}}},"
        "{\"update_id\":3,\"message\":{\"chat\":{\"id\":-1001234567890},\"from\":{\"id\":\"42\"},\"date\":-5,"
        "\"text\":[\"/force\"]}}]}", NULL);
    assert_true(a->shape_ok);
    assert_int_equal(a->skipped, 7);
    assert_int_equal(a->n, 2);
    assert_int_equal(a->u[0].update_id, 9007199254740991LL);
    assert_false(a->u[0].has_message);             /* a chat id that is not whole */
    assert_true(a->u[1].has_message);
    assert_false(a->u[1].has_from);                /* a user id that is a string */
    assert_int_equal(a->u[1].date, 0);
    assert_string_equal(a->u[1].text, "");
    free(a);

    /* text: control characters, bidi overrides, NUL, invalid UTF-8, cut */
    a = updates("{\"ok\":true,\"result\":[{\"update_id\":8,\"message\":{\"chat\":{\"id\":1,\"type\":\"group\\u0000x\"},"
                "\"date\":1767225600,\"text\":\"/status\\u0007\\u001b[31m \\ud800 \xc3\x28 x\"}}]}", NULL);
    assert_int_equal(a->n, 1);
    assert_true(utf8_valid(a->u[0].text, strlen(a->u[0].text)));
    for (const char *p = a->u[0].text; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    assert_string_equal(a->u[0].chat_type, "group");
    free(a);

    char big[8192];
    int k = snprintf(big, sizeof big, "{\"ok\":true,\"result\":[{\"update_id\":9,\"message\":{\"chat\":{\"id\":1},"
                                      "\"date\":1,\"text\":\"/pause ");
    for (int i = 0; i < 2000; i++)
        k += snprintf(big + k, sizeof big - (size_t)k, "\xc3\xa9");
    snprintf(big + k, sizeof big - (size_t)k, "\"}}]}");
    a = updates(big, NULL);
    assert_int_equal(a->n, 1);
    assert_true(a->u[0].text_cut);
    assert_true(strlen(a->u[0].text) < TELEGRAM_TEXT_MAX);
    assert_true(utf8_valid(a->u[0].text, strlen(a->u[0].text)));
    free(a);

    /* more results than asked for: the first TELEGRAM_BATCH, the rest next time */
    char many[8192];
    k = snprintf(many, sizeof many, "{\"ok\":true,\"result\":[");
    for (int i = 0; i < TELEGRAM_BATCH + 5; i++)
        k += snprintf(many + k, sizeof many - (size_t)k, "%s{\"update_id\":%d}", i ? "," : "", i + 1);
    snprintf(many + k, sizeof many - (size_t)k, "]}");
    a = updates(many, NULL);
    assert_int_equal(a->n, TELEGRAM_BATCH);
    assert_int_equal(a->more, 5);
    free(a);

    /* too deep, too long */
    char deep[200];
    k = snprintf(deep, sizeof deep, "{\"ok\":true,\"result\":");
    for (int i = 0; i < 40; i++)
        deep[k++] = '[';
    for (int i = 0; i < 40; i++)
        deep[k++] = ']';
    snprintf(deep + k, sizeof deep - (size_t)k, "}");
    a = updates(deep, NULL);
    assert_false(a->json || a->shape_ok);
    free(a);
    a = malloc(sizeof *a);
    telegram_parse_updates("{\"ok\":true,\"result\":[]}", TELEGRAM_BODY_MAX + 1, NULL, a);
    assert_false(a->json);
    free(a);
}

static void get_me(void **state)
{
    (void)state;
    struct telegram_answer a;
    const char *ok = "{\"ok\":true,\"result\":{\"id\":123456,\"is_bot\":true,\"first_name\":\"B\",\"username\":\"Orch_bot\"}}";
    telegram_parse_me(ok, strlen(ok), NULL, &a);
    assert_true(a.shape_ok);
    assert_string_equal(a.username, "Orch_bot");
    assert_int_equal(a.bot_id, 123456);
    const char *bad[] = {
        "{\"ok\":true,\"result\":{\"id\":1,\"username\":\"has space\"}}",
        "{\"ok\":true,\"result\":{\"id\":1,\"username\":\"\"}}",
        "{\"ok\":true,\"result\":{\"id\":1,\"username\":\"x\\u0000y\"}}",
        "{\"ok\":true,\"result\":{\"id\":1}}",
        "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}",
        "{\"ok\":true,\"result\":{\"username\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        telegram_parse_me(bad[i], strlen(bad[i]), NULL, &a);
        assert_false(a.shape_ok);
        assert_string_equal(a.username, "");
    }
}

static void commands(void **state)
{
    (void)state;
    char w[40];
    assert_int_equal(telegram_command("/status", "standin_bot", w, sizeof w), TELEGRAM_CMD_STATUS);
    assert_string_equal(w, "status");
    assert_int_equal(telegram_command("/status@standin_bot", "standin_bot", w, sizeof w), TELEGRAM_CMD_STATUS);
    assert_int_equal(telegram_command("/Status@StandIn_Bot", "standin_bot", w, sizeof w), TELEGRAM_CMD_STATUS);
    assert_string_equal(w, "status");
    assert_int_equal(telegram_command("/decisions", "b", w, sizeof w), TELEGRAM_CMD_DECISIONS);
    assert_int_equal(telegram_command("/pause now please", "b", w, sizeof w), TELEGRAM_CMD_PAUSE);
    assert_int_equal(telegram_command("/resume", "b", w, sizeof w), TELEGRAM_CMD_RESUME);
    assert_int_equal(telegram_command("/force@b  ", "b", w, sizeof w), TELEGRAM_CMD_FORCE);
    assert_int_equal(telegram_command("/help", "b", w, sizeof w), TELEGRAM_CMD_HELP);
    assert_int_equal(telegram_command("/start", "b", w, sizeof w), TELEGRAM_CMD_HELP);
    assert_int_equal(telegram_command("/selfdestruct", "b", w, sizeof w), TELEGRAM_CMD_UNKNOWN);
    assert_string_equal(w, "selfdestruct");
    /* addressed to another bot of the group: its business */
    assert_int_equal(telegram_command("/pause@other_bot", "standin_bot", w, sizeof w), TELEGRAM_CMD_OTHER_BOT);
    assert_int_equal(telegram_command("/pause@standin_bot2", "standin_bot", w, sizeof w), TELEGRAM_CMD_OTHER_BOT);
    assert_int_equal(telegram_command("/pause@standin_bo", "standin_bot", w, sizeof w), TELEGRAM_CMD_OTHER_BOT);
    assert_int_equal(telegram_command("/pause@x", NULL, w, sizeof w), TELEGRAM_CMD_OTHER_BOT);
    /* not commands */
    const char *none[] = { "status", " /status", "/", "/ status", "/status!", "/st\xc3\xa4tus", "/status@",
                           "/status@bot!", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", "@standin_bot /status",
                           "/status@standin_bot@x" };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_int_equal(telegram_command(none[i], "standin_bot", w, sizeof w), TELEGRAM_CMD_NONE);
        assert_string_equal(w, "");
    }
    assert_int_equal(telegram_command(NULL, "b", w, sizeof w), TELEGRAM_CMD_NONE);
    /* 32 characters is Telegram's limit */
    assert_int_equal(telegram_command("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "b", w, sizeof w), TELEGRAM_CMD_UNKNOWN);
    assert_string_equal(telegram_cmd_name(TELEGRAM_CMD_FORCE), "force");
    assert_string_equal(telegram_cmd_name((enum telegram_cmd)99), "none");
}

static struct telegram_update msg(long long chat, long long from, int bot, long long date, const char *text)
{
    struct telegram_update u;
    memset(&u, 0, sizeof u);
    u.update_id = 1;
    u.has_message = 1;
    u.chat_id = chat;
    u.has_from = from != 0;
    u.from_id = from;
    u.from_is_bot = bot;
    u.date = date;
    snprintf(u.text, sizeof u.text, "%s", text);
    return u;
}

static void dispatch(void **state)
{
    (void)state;
    enum telegram_cmd c;
    char w[40];
    struct telegram_update u = msg(CHAT, 42, 0, NOW - 5, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    assert_int_equal(c, TELEGRAM_CMD_FORCE);
    /* the chat id is compared exactly: a private chat with the same digits, a prefix */
    u = msg(-CHAT, 42, 0, NOW, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_OTHER_CHAT);
    assert_int_equal(c, TELEGRAM_CMD_NONE);
    u = msg(-100123456789LL, 42, 0, NOW, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_OTHER_CHAT);
    u = msg(CHAT, 7, 1, NOW, "/pause");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_FROM_BOT);
    /* no "from": the chat decides */
    u = msg(CHAT, 0, 0, NOW, "/pause");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    assert_int_equal(c, TELEGRAM_CMD_PAUSE);
    /* an anonymous admin of the group: "from" is GroupAnonymousBot (a bot), "sender_chat" the group */
    u = msg(CHAT, 1087968824LL, 1, NOW, "/pause");
    u.has_sender_chat = 1;
    u.sender_chat_id = CHAT;
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    /* ... but a linked channel's post in the group (sent as the channel) is not an order */
    u.sender_chat_id = CHAT - 1;
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_FROM_BOT);
    u = msg(CHAT, 42, 0, NOW, "hello /pause");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_TEXT);
    u = msg(CHAT, 42, 0, NOW, "/pause@someone_else_bot");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_TEXT);
    /* stale: an order sent while no worker listened (more than TELEGRAM_MAX_AGE_S ago), undated, from the
     * future; *cmd names it (for the answer) */
    u = msg(CHAT, 42, 0, NOW - TELEGRAM_MAX_AGE_S - 1, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_STALE);
    assert_int_equal(c, TELEGRAM_CMD_FORCE);
    u = msg(CHAT, 42, 0, NOW - 3600, "/pause");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_STALE);
    assert_int_equal(c, TELEGRAM_CMD_PAUSE);
    u = msg(CHAT, 42, 0, NOW - 3600, "/resume");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_STALE);
    /* a question is answered whatever its age: with what is true now */
    u = msg(CHAT, 42, 0, NOW - 3600, "/status");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    assert_int_equal(c, TELEGRAM_CMD_STATUS);
    u = msg(CHAT, 42, 0, 0, "/decisions");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    /* another chat's stale order: another chat first */
    u = msg(5, 5, 0, NOW - 3600, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_OTHER_CHAT);
    assert_int_equal(c, TELEGRAM_CMD_NONE);
    u = msg(CHAT, 42, 0, NOW - TELEGRAM_MAX_AGE_S, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    u = msg(CHAT, 42, 0, 0, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_STALE);
    u = msg(CHAT, 42, 0, NOW + 3600, "/force");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_STALE);
    u = msg(CHAT, 42, 0, NOW, "/nope");
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_COMMAND);
    assert_int_equal(c, TELEGRAM_CMD_UNKNOWN);
    assert_string_equal(w, "nope");
    u.has_message = 0;
    assert_int_equal(telegram_classify(&u, CHAT, "standin_bot", NOW, &c, w, sizeof w), TELEGRAM_ACT_SKIP);
}

/* Plain text, valid UTF-8, bounded, no control character but newlines. */
static void assert_reply(const char *t)
{
    assert_true(strlen(t) > 0 && strlen(t) <= TELEGRAM_REPLY_MAX);
    assert_true(utf8_valid(t, strlen(t)));
    for (const char *p = t; *p; p++)
        assert_true((unsigned char)*p >= 0x20 || *p == '\n');
    assert_null(strstr(t, "SECRET"));
}

/* The replies' texts: durations, then each command's answer -- bounded,
 * valid UTF-8, no control character, no secret.  Longer than 80 lines on
 * purpose: a list of short cases on one check (assert_reply). */
static void replies(void **state)
{
    (void)state;
    char d[32], t[TELEGRAM_REPLY_MAX + 1];
    telegram_duration(45, d, sizeof d);
    assert_string_equal(d, "45 s");
    telegram_duration(200, d, sizeof d);
    assert_string_equal(d, "3 min 20 s");
    telegram_duration(180, d, sizeof d);
    assert_string_equal(d, "3 min");
    telegram_duration(7500, d, sizeof d);
    assert_string_equal(d, "2 h 5 min");
    telegram_duration(3 * 86400 + 4 * 3600 + 5, d, sizeof d);
    assert_string_equal(d, "3 d 4 h");
    telegram_duration(-3, d, sizeof d);
    assert_string_equal(d, "0 s");

    struct telegram_self self = { .running = 1, .next_at = NOW + 200, .worker = "host:12:abcd1234",
                                  .leader_since = NOW - 3600, .dry_run = 0, .llm_configured = 1 };
    struct store_tg_status st = { .last_id = 45, .last_at = NOW - 123, .workflows = 2, .wakes_today = 3,
                                  .decisions_today = 12 };
    snprintf(st.mode, sizeof st.mode, "crypto");
    snprintf(st.intensity, sizeof st.intensity, "normal");
    snprintf(st.source, sizeof st.source, "llm");
    snprintf(st.status, sizeof st.status, "succeeded");
    snprintf(st.wake, sizeof st.wake, "control");
    snprintf(st.llm_outcome, sizeof st.llm_outcome, "ok");
    snprintf(st.llm_provider, sizeof st.llm_provider, "groq");
    telegram_status_text(&self, &st, NOW, t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "Running"));
    assert_non_null(strstr(t, "Mode: crypto, normal (source: llm)"));
    assert_non_null(strstr(t, "Last decision: #45, 2 min 3 s ago (23:57:57 UTC), woken by control, succeeded, 2 workflows"));
    assert_non_null(strstr(t, "Next decision in: 3 min 20 s"));
    assert_non_null(strstr(t, "Leader: host:12:abcd1234 (this worker, leading for 1 h)"));
    assert_non_null(strstr(t, "LLM: ok (groq)"));
    assert_non_null(strstr(t, "Watch wakes today: 3 (of 12 decisions today, UTC)"));
    self.running = 0;
    self.dry_run = 1;
    self.llm_configured = 0;
    telegram_status_text(&self, &st, NOW, t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "Paused"));
    assert_non_null(strstr(t, "Next decision: none while paused"));
    assert_non_null(strstr(t, "LLM: not configured"));
    assert_non_null(strstr(t, "Dry run"));
    memset(&st, 0, sizeof st);
    telegram_status_text(&self, &st, NOW, t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "Last decision: none yet"));
    /* a small buffer: cut, still valid */
    char small[40];
    telegram_status_text(&self, &st, NOW, small, sizeof small);
    assert_true(strlen(small) < sizeof small && utf8_valid(small, strlen(small)));

    struct store_tg_decision ds[TELEGRAM_DECISIONS];
    memset(ds, 0, sizeof ds);
    for (int i = 0; i < TELEGRAM_DECISIONS; i++) {
        ds[i].id = 50 - i;
        ds[i].at = NOW - 60 * i;
        ds[i].workflows = i;
        snprintf(ds[i].mode, sizeof ds[i].mode, "forex");
        snprintf(ds[i].intensity, sizeof ds[i].intensity, "light");
        snprintf(ds[i].source, sizeof ds[i].source, "fallback");
        snprintf(ds[i].status, sizeof ds[i].status, "no_action");
        snprintf(ds[i].wake, sizeof ds[i].wake, "scheduled");
    }
    telegram_decisions_text(ds, TELEGRAM_DECISIONS, t, sizeof t);
    assert_reply(t);
    int lines = 0;
    for (const char *p = t; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, TELEGRAM_DECISIONS);
    assert_non_null(strstr(t, "#50 01-01 00:00 UTC forex/light, fallback, 0 workflows, no_action (woken: scheduled)"));
    assert_non_null(strstr(t, "#49 12-31 23:59 UTC forex/light, fallback, 1 workflow, no_action"));
    telegram_decisions_text(ds, 0, t, sizeof t);
    assert_string_equal(t, "No decision yet.");

    telegram_help_text("selfdestruct", t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "Unknown command /selfdestruct."));
    assert_non_null(strstr(t, "/status"));
    assert_non_null(strstr(t, "/force"));
    telegram_help_text(NULL, t, sizeof t);
    assert_null(strstr(t, "Unknown"));

    telegram_stale_text(TELEGRAM_CMD_PAUSE, NOW - 3725, NOW, t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "/pause was not carried out: it was sent 1 h 2 min ago, and an order older than 10 min"));
    telegram_stale_text(TELEGRAM_CMD_FORCE, 0, NOW, t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "/force was not carried out: its date is not one the worker can trust"));
    telegram_stale_text(TELEGRAM_CMD_RESUME, NOW + 3600, NOW, t, sizeof t);
    assert_non_null(strstr(t, "/resume was not carried out: its date is not one"));
    telegram_stale_text(TELEGRAM_CMD_RESUME, NOW - 3600, NOW, small, sizeof small);
    assert_true(strlen(small) < sizeof small && utf8_valid(small, strlen(small)));

    struct store_tg_command c = { .id = 12 };
    snprintf(c.command, sizeof c.command, "stop");
    snprintf(c.status, sizeof c.status, "done");
    snprintf(c.result, sizeof c.result, "stopped");
    telegram_command_text(&c, t, sizeof t);
    assert_string_equal(t, "Paused (command #12): no decision until /resume.");
    snprintf(c.result, sizeof c.result, "already stopped");
    telegram_command_text(&c, t, sizeof t);
    assert_string_equal(t, "Already paused (command #12).");
    snprintf(c.command, sizeof c.command, "start");
    snprintf(c.result, sizeof c.result, "started");
    telegram_command_text(&c, t, sizeof t);
    assert_string_equal(t, "Running again (command #12): deciding now.");
    snprintf(c.command, sizeof c.command, "force_decision");
    snprintf(c.result, sizeof c.result, "decision made");
    c.decision_id = 46;
    c.workflows = 2;
    snprintf(c.mode, sizeof c.mode, "crypto");
    snprintf(c.intensity, sizeof c.intensity, "normal");
    telegram_command_text(&c, t, sizeof t);
    assert_string_equal(t, "Decision #46 made (command #12): crypto, normal, 2 workflows.");
    snprintf(c.status, sizeof c.status, "failed");
    snprintf(c.result, sizeof c.result, "the decision could not be recorded");
    telegram_command_text(&c, t, sizeof t);
    assert_string_equal(t, "/force (command #12) failed: the decision could not be recorded");
    snprintf(c.status, sizeof c.status, "pending");
    telegram_command_text(&c, t, sizeof t);
    assert_reply(t);
    assert_non_null(strstr(t, "still pending after 2 min"));
}

/* ---- the loop never waits on the long poll ------------------------------------------- */

/* The worker's loop sleeps in http_pool_wait_many() over its webhooks'
 * pool and the Telegram pool.  Against a local listener played by this
 * thread (no sleep: each step polls with a deadline): a long poll that is
 * open does not keep the loop asleep when one of its own descriptors (the
 * signalfd, PostgreSQL's socket) is readable, and the loop wakes as soon
 * as the poll's answer arrives -- each time long before the 20 s it was
 * told it could sleep. */
#define WAIT_LONG_MS 20000
#define WAIT_DEADLINE_MS 10000.0

/* Longer than 80 lines on purpose: the steps above run in order on one
 * listening socket and one pair of pools, each wake timed. */
static void wait_many_wakes(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(listen(l, 4), 0);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/bot1:x/getUpdates", ntohs(a.sin_port));

    struct http_pool *hooks = http_pool_new(), *tg = http_pool_new();
    assert_non_null(hooks);
    assert_non_null(tg);
    struct http_pool *pools[2] = { hooks, tg };
    struct http_req req = { .method = "POST", .url = url, .body = "{\"offset\":0,\"timeout\":25}",
                            .timeout_ms = 35000 };
    assert_int_equal(http_pool_add(tg, &req, NULL), 0);

    /* the poll reaches the "Bot API": its whole request read */
    struct http_done d[2];
    int c = -1;
    char buf[4096];
    size_t n = 0;
    double t0 = tu_mono_ms();
    while (!(n && strstr(buf, "\r\n\r\n") && strstr(buf, "\"timeout\":25}"))) {
        assert_true(tu_mono_ms() - t0 < WAIT_DEADLINE_MS);
        assert_int_equal(http_pool_run(tg, d, 2), 0);
        int fds[1] = { c >= 0 ? c : l };
        assert_int_equal(http_pool_wait_many(pools, 2, fds, 1, 200, NULL), 0);
        if (c < 0) {
            c = accept(l, NULL, NULL);
            continue;
        }
        ssize_t k = read(c, buf + n, sizeof buf - 1 - n);
        if (k > 0)
            n += (size_t)k;
        buf[n] = '\0';
    }
    assert_int_equal(http_pool_active(tg), 1);

    /* the poll is open: the loop's own descriptor wakes it at once */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    int ready[1] = { 0 };
    t0 = tu_mono_ms();
    assert_int_equal(http_pool_wait_many(pools, 2, p, 1, WAIT_LONG_MS, ready), 0);
    assert_true(tu_mono_ms() - t0 < WAIT_DEADLINE_MS);
    assert_true(ready[0]);
    assert_int_equal(http_pool_run(tg, d, 2), 0);       /* the poll still open */

    /* the Bot API answers: the loop wakes and the answer is handed back */
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 23\r\n"
                                 "Connection: close\r\n\r\n{\"ok\":true,\"result\":[]}";
    assert_int_equal(send(c, answer, sizeof answer - 1, MSG_NOSIGNAL), (ssize_t)(sizeof answer - 1));
    close(c);
    t0 = tu_mono_ms();
    int got = 0;
    while (!got) {
        int fds[1] = { l };                /* nothing to read there: only the poll can wake it */
        assert_int_equal(http_pool_wait_many(pools, 2, fds, 1, WAIT_LONG_MS, NULL), 0);
        assert_true(tu_mono_ms() - t0 < WAIT_DEADLINE_MS);
        got = http_pool_run(tg, d, 2);
    }
    assert_int_equal(got, 1);
    assert_int_equal(d[0].resp.err, HTTP_OK);
    assert_int_equal(d[0].resp.status, 200);
    struct telegram_answer *ans = malloc(sizeof *ans);
    assert_non_null(ans);
    telegram_parse_updates(d[0].resp.body, d[0].resp.len, NULL, ans);
    assert_true(ans->shape_ok && ans->n == 0);
    free(ans);
    http_resp_free(&d[0].resp);

    /* nothing open in either pool: the wait is a plain one on the descriptors */
    t0 = tu_mono_ms();
    assert_int_equal(http_pool_wait_many(pools, 2, p, 1, WAIT_LONG_MS, ready), 0);
    assert_true(tu_mono_ms() - t0 < WAIT_DEADLINE_MS && ready[0]);
    /* a NULL pool (commands disabled) is skipped */
    struct http_pool *only[2] = { hooks, NULL };
    assert_int_equal(http_pool_wait_many(only, 2, p, 1, WAIT_LONG_MS, ready), 0);
    assert_true(ready[0]);

    close(p[0]);
    close(p[1]);
    close(l);
    http_pool_free(tg);
    http_pool_free(hooks);
}

/* A configuration for telegram_init. */
static void cfg_for(struct cfg *c, const char *chat, long commands)
{
    memset(c, 0, sizeof *c);
    c->telegram_bot_token = (char *)TOKEN;
    c->telegram_chat_id = (char *)chat;
    c->telegram_base_url = (char *)"http://127.0.0.1:9/telegram";
    c->alert_fallback_streak = 5;
    c->telegram_commands = commands;
    c->telegram_poll_seconds = 25;
}

static void setup_and_limits(void **state)
{
    (void)state;
    struct cfg c;
    struct alert a;
    struct telegram t;
    char json[400];

    cfg_for(&c, "-1001234567890", 1);
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(telegram_init(&t, &c, &a), 0);
    assert_true(telegram_enabled(&t));
    assert_non_null(telegram_pool(&t));
    assert_true(t.chat_id == CHAT);
    assert_int_equal(t.bot_id, 123456);
    assert_string_equal(t.requested_by, "telegram:-1001234567890");
    assert_string_equal(t.url_updates, "http://127.0.0.1:9/telegram/bot" TOKEN "/getUpdates");
    assert_string_equal(t.url_me, "http://127.0.0.1:9/telegram/bot" TOKEN "/getMe");
    assert_int_equal(t.poll_s, 25);
    /* nothing in flight, nothing loaded: due now */
    assert_int_equal(telegram_wait_ms(&t), 0);
    telegram_stats_json(&t, json, sizeof json);
    json_object *j = json_tokener_parse(json);
    assert_non_null(j);
    assert_null(strstr(json, "SECRET"));
    json_object_put(j);
    telegram_stop(&t);
    telegram_free(&t);
    assert_false(telegram_enabled(&t));
    assert_null(telegram_pool(&t));
    telegram_free(&t);                   /* twice: a no-op */
    alert_free(&a);

    /* alerts only: TELEGRAM_COMMANDS=0, a channel, no Telegram at all */
    cfg_for(&c, "-1001234567890", 0);
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(telegram_init(&t, &c, &a), 0);
    assert_false(telegram_enabled(&t));
    assert_null(telegram_pool(&t));
    assert_true(telegram_wait_ms(&t) >= 60000);
    assert_int_equal(telegram_turn(&t, NULL, NULL, NOW), 0);
    telegram_free(&t);
    alert_free(&a);
    cfg_for(&c, "@orch_alerts", 1);
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(telegram_init(&t, &c, &a), 0);
    assert_false(telegram_enabled(&t));
    telegram_free(&t);
    alert_free(&a);
    cfg_for(&c, "", 1);
    c.telegram_bot_token = (char *)"";
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(telegram_init(&t, &c, &a), 0);
    assert_false(telegram_enabled(&t));
    telegram_free(&t);
    alert_free(&a);
}

int main(void)
{
    if (http_global_init() != 0)
        return 1;
    log_init("test_telegram", LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_answer),
        cmocka_unit_test(error_answers),
        cmocka_unit_test(hostile_updates),
        cmocka_unit_test(get_me),
        cmocka_unit_test(commands),
        cmocka_unit_test(dispatch),
        cmocka_unit_test(replies),
        cmocka_unit_test(setup_and_limits),
        cmocka_unit_test(wait_many_wakes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
