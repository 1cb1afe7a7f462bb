/* fuzz_telegram_updates: the Bot API's getUpdates and getMe answers, and
 * what the worker makes of each update (telegram_classify, the command
 * parser).  Input: the retry-after header value up to the first newline,
 * then the body. */
#include "config.h"
#include "fuzz.h"

#include "telegram.h"

#define FUZZ_CHAT -1001234567890LL

static void check_answer(const struct telegram_answer *a)
{
    FUZZ_CHECK(a->ok == 0 || a->ok == 1);
    FUZZ_CHECK(a->json == 0 || a->json == 1);
    FUZZ_CHECK(!a->shape_ok || a->ok);
    FUZZ_CHECK(a->retry_after >= -1 && a->retry_after <= ALERT_RETRY_AFTER_MAX);
    FUZZ_CHECK(fuzz_text_ok(a->desc));
    FUZZ_CHECK(a->n >= 0 && a->n <= TELEGRAM_BATCH && a->skipped >= 0 && a->more >= 0);
    FUZZ_CHECK(fuzz_text_ok(a->username));
    for (const char *p = a->username; *p; p++)
        FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *s = fuzz_cstr(data, size);
    const char *hdr, *body;
    size_t blen;
    fuzz_split_line(s, size, &hdr, &body, &blen);
    struct telegram_answer *a = malloc(sizeof *a);
    FUZZ_CHECK(a != NULL);
    telegram_parse_me(body, blen, hdr, a);
    check_answer(a);
    telegram_parse_updates(body, blen, hdr, a);
    check_answer(a);
    for (int i = 0; i < a->n; i++) {
        const struct telegram_update *u = &a->u[i];
        FUZZ_CHECK(u->update_id >= 0 && u->update_id <= TELEGRAM_UPDATE_ID_MAX);
        FUZZ_CHECK(u->chat_id >= -TELEGRAM_UPDATE_ID_MAX && u->chat_id <= TELEGRAM_UPDATE_ID_MAX);
        FUZZ_CHECK(u->date >= 0);
        FUZZ_CHECK(fuzz_text_ok(u->text) && strlen(u->text) < TELEGRAM_TEXT_MAX);
        FUZZ_CHECK(fuzz_text_ok(u->chat_type));
        enum telegram_cmd cmd;
        char word[40];
        enum telegram_action act = telegram_classify(u, FUZZ_CHAT, "standin_bot", (time_t)u->date, &cmd, word,
                                                     sizeof word);
        FUZZ_CHECK(act >= TELEGRAM_ACT_SKIP && act <= TELEGRAM_ACT_COMMAND);
        FUZZ_CHECK(act == TELEGRAM_ACT_COMMAND ? cmd != TELEGRAM_CMD_NONE && cmd != TELEGRAM_CMD_OTHER_BOT
                   : act == TELEGRAM_ACT_STALE ? cmd == TELEGRAM_CMD_PAUSE || cmd == TELEGRAM_CMD_RESUME ||
                                                     cmd == TELEGRAM_CMD_FORCE
                                               : cmd == TELEGRAM_CMD_NONE);
        FUZZ_CHECK((act != TELEGRAM_ACT_COMMAND && act != TELEGRAM_ACT_STALE) || u->chat_id == FUZZ_CHAT);
        /* the same update a day later: an order is stale, a question still answered */
        enum telegram_cmd later;
        enum telegram_action act2 = telegram_classify(u, FUZZ_CHAT, "standin_bot", (time_t)u->date + 86400, &later,
                                                      word, sizeof word);
        FUZZ_CHECK(act != TELEGRAM_ACT_COMMAND || act2 == TELEGRAM_ACT_STALE || act2 == TELEGRAM_ACT_COMMAND);
        FUZZ_CHECK(act2 != TELEGRAM_ACT_STALE || later == cmd);
        FUZZ_CHECK(strlen(word) <= 32 && fuzz_text_ok(word));
        /* what the worker would answer to an unknown command: valid, bounded */
        char text[TELEGRAM_REPLY_MAX + 1];
        telegram_help_text(word, text, sizeof text);
        FUZZ_CHECK(fuzz_utf8_ok(text) && strlen(text) <= TELEGRAM_REPLY_MAX);
        telegram_stale_text(cmd, (time_t)u->date, (time_t)u->date + 86400, text, sizeof text);
        FUZZ_CHECK(fuzz_utf8_ok(text) && strlen(text) <= TELEGRAM_REPLY_MAX);
    }
    free(a);
    free(s);
    return 0;
}
