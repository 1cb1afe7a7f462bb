/* Telegram alerts (worker/alert.c): the message text (HTML escaping, UTF-8
 * repair, the 4096 cut), the queue (bounded, oldest dropped), the pace (one
 * message a second, a 429's retry_after honoured with the message kept),
 * failures, and the token never reaching a log line; against a scripted
 * server in a thread (alert_rig.h).  Against the project's stand-in:
 * test_alert_standin.c. */

#include "alert_rig.h"

/* ---- tests --------------------------------------------------------------- */

static void sends_chat_id_text_and_parse_mode(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    rig_up(&r, ok_steps, 1);
    assert_int_equal(alert_post(&r.a, ALERT_MODE_SWITCH, "hello <world> & \"friends\""), 0);
    assert_int_equal(alert_queued(&r.a), 1);
    assert_int_equal(alert_flush(&r.a, 3000), 0);
    assert_int_equal(served(&r.sv), 1);
    assert_string_equal(r.sv.path[0], "/bot" TOKEN "/sendMessage");
    json_object *o = request_json(&r.sv, 0);
    json_object *chat;
    assert_true(json_object_object_get_ex(o, "chat_id", &chat));
    assert_true(json_object_is_type(chat, json_type_int));
    assert_true(json_object_get_int64(chat) == -1001234567890LL);
    assert_string_equal(jstr(o, "text"), "hello &lt;world&gt; &amp; &quot;friends&quot;");
    assert_string_equal(jstr(o, "parse_mode"), "HTML");
    json_object *dn;
    assert_true(json_object_object_get_ex(o, "disable_notification", &dn));
    assert_false(json_object_get_boolean(dn));
    json_object_put(o);
    assert_int_equal(r.a.stats.sent, 1);
    assert_int_equal(r.a.stats.failed, 0);
    rig_down(&r);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.sent\""), 1);
    assert_non_null(strstr(log, "\"chat_id\":\"" CHAT "\""));
    assert_non_null(strstr(log, "\"kind\":\"mode_switch\""));
    free(log);
}

static void channel_chat_id_is_a_string(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    memset(&r, 0, sizeof r);
    server_start(&r.sv, ok_steps, 1);
    snprintf(r.base, sizeof r.base, "http://127.0.0.1:%d", r.sv.port);
    r.cfg = base_cfg();
    r.cfg.telegram_base_url = r.base;
    r.cfg.telegram_chat_id = "@orch_alerts";
    assert_int_equal(alert_init(&r.a, &r.cfg), 0);
    assert_int_equal(alert_worker_started(&r.a, "version 0.1.0, pid 42"), 0);
    assert_int_equal(alert_flush(&r.a, 3000), 0);
    json_object *o = request_json(&r.sv, 0);
    assert_string_equal(jstr(o, "chat_id"), "@orch_alerts");
    assert_string_equal(jstr(o, "text"), "<b>Worker started</b>\nversion 0.1.0, pid 42");
    json_object *dn;
    assert_true(json_object_object_get_ex(o, "disable_notification", &dn));
    assert_true(json_object_get_boolean(dn));      /* started: silent */
    json_object_put(o);
    rig_down(&r);
    free(cap_stop());
}

static void html_escaping_and_utf8_repair(void **state)
{
    (void)state;
    char out[256];
    int cut;
    assert_int_equal(alert_html_escape("a<b>&\"c\"'", 100, out, sizeof out, &cut), 29);
    assert_string_equal(out, "a&lt;b&gt;&amp;&quot;c&quot;'");
    assert_int_equal(cut, 0);
    /* control characters dropped, newline and tab kept, DEL and C1 dropped */
    alert_html_escape("a\x01\x1b[31mb\n\tc\x7f\xc2\x85" "d", 100, out, sizeof out, &cut);
    assert_string_equal(out, "a[31mb\n\tcd");
    /* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate */
    alert_html_escape("x\x80y\xe2\x82z\xc0\xafw\xed\xa0\x80v", 100, out, sizeof out, &cut);
    assert_string_equal(out, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbdw\xef\xbf\xbdv");
    /* units: U+00E9 one, U+1F600 two */
    assert_int_equal(alert_html_escape("\xc3\xa9\xf0\x9f\x98\x80", 100, out, sizeof out, &cut), 3);
    /* never half an entity or half a character */
    assert_int_equal(alert_html_escape("ab&cd", 4, out, sizeof out, &cut), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(cut, 1);
    assert_int_equal(alert_html_escape("a\xf0\x9f\x98\x80", 2, out, sizeof out, &cut), 1);
    assert_string_equal(out, "a");
    assert_int_equal(cut, 1);
    /* a small buffer cuts too, and stays terminated */
    char tiny[4];
    alert_html_escape("abcdef", 100, tiny, sizeof tiny, &cut);
    assert_string_equal(tiny, "abc");
    assert_int_equal(cut, 1);
    alert_html_escape(NULL, 10, out, sizeof out, &cut);
    assert_string_equal(out, "");

    /* the helpers: fields escaped, the tags ours */
    struct cfg c = base_cfg();
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(alert_mode_switch(&a, "crypto", "forex<script>", "London opened & <b>volatility</b> fell"), 0);
    assert_string_equal(alert_queue_text(&a, 0),
                        "<b>Mode switch</b>: crypto \xe2\x86\x92 forex&lt;script&gt;\nLondon opened &amp; &lt;b&gt;volatility&lt;/b&gt; fell");
    assert_int_equal(alert_workflow_failed(&a, "crypto-normal-scan", "timed_out", "45", "no end after 1800 s"), 0);
    assert_string_equal(alert_queue_text(&a, 1),
                        "<b>Workflow failed</b>: crypto-normal-scan (timed_out)\nn8n execution 45\nno end after 1800 s");
    assert_int_equal(alert_workflow_failed(&a, "forex-asia-session", "unavailable", NULL, NULL), 0);
    assert_string_equal(alert_queue_text(&a, 2), "<b>Workflow failed</b>: forex-asia-session (unavailable)");
    assert_int_equal(alert_circuit_open(&a, "groq", 3, 300), 0);
    assert_string_equal(alert_queue_text(&a, 3),
                        "<b>Circuit open</b>: groq after 3 consecutive failures; next try in 300 s");
    assert_int_equal(alert_worker_stopped(&a, "SIGTERM"), 0);
    /* a stopping worker's last word goes first (its flush has a short budget) */
    assert_string_equal(alert_queue_text(&a, 0), "<b>Worker stopped</b>\nSIGTERM");
    assert_string_equal(alert_queue_text(&a, 4),
                        "<b>Circuit open</b>: groq after 3 consecutive failures; next try in 300 s");
    /* the fallback streak alerts once, when it reaches ALERT_FALLBACK_STREAK */
    assert_int_equal(alert_llm_fallback_streak(&a, 0, NULL), 0);
    assert_int_equal(alert_llm_fallback_streak(&a, 4, "timeout"), 0);
    assert_int_equal(alert_llm_fallback_streak(&a, 5, "groq: HTTP 503"), 1);
    assert_int_equal(alert_llm_fallback_streak(&a, 6, "timeout"), 0);
    assert_int_equal(alert_queued(&a), 6);
    assert_string_equal(alert_queue_text(&a, 5),
                        "<b>LLM fallback streak</b>: 5 decisions in a row made by the fallback policy, not the LLM\n"
                        "last LLM error: groq: HTTP 503");
    assert_null(alert_queue_text(&a, 6));
    /* nothing visible: Telegram refuses an empty text */
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, " \x01\n"), 0);
    assert_string_equal(alert_queue_text(&a, 6), "(empty)");
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, NULL), -1);
    assert_string_equal(alert_kind_name(ALERT_LLM_FALLBACK_STREAK), "llm_fallback_streak");
    assert_string_equal(alert_kind_name(ALERT_KIND_COUNT), "unknown");
    alert_free(&a);
    alert_free(&a);                     /* twice: a no-op */
    free(cap_stop());
}

static void text_cut_at_4096_units(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct alert a;
    assert_int_equal(alert_init(&a, &c), 0);
    static char big[20000];

    memset(big, 'x', 4096);
    big[4096] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);      /* exactly the limit: kept whole */
    assert_string_equal(alert_queue_text(&a, 0), big);

    memset(big, 'y', 5000);
    big[5000] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);
    const char *t = alert_queue_text(&a, 1);
    assert_int_equal(units16(t), 4096);
    assert_int_equal(strlen(t), 4095 + 3);
    assert_string_equal(t + 4095, "\xe2\x80\xa6");                     /* ends with an ellipsis */

    for (int i = 0; i < 3000; i++)
        big[i] = '&';
    big[3000] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);
    t = alert_queue_text(&a, 2);
    assert_true(units16(t) <= 4096);
    assert_int_equal(strlen(t), 819 * 5 + 3);                           /* 819 whole "&amp;" */
    assert_null(strstr(t, "&amp\xe2"));

    size_t k = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(big + k, "\xf0\x9f\x98\x80", 4);                         /* U+1F600: two units */
        k += 4;
    }
    big[k] = '\0';
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, big), 0);
    t = alert_queue_text(&a, 3);
    assert_true(units16(t) <= 4096);
    assert_int_equal(units16(t), 2047 * 2 + 1);

    /* a helper's long free text: the tags survive, the text is cut */
    memset(big, 'z', 6000);
    big[6000] = '\0';
    assert_int_equal(alert_workflow_failed(&a, "crypto-normal-scan", "failed", "7", big), 0);
    t = alert_queue_text(&a, 4);
    assert_int_equal(units16(t), 4096);
    assert_non_null(strstr(t, "<b>Workflow failed</b>: crypto-normal-scan (failed)\n"));
    alert_free(&a);
}

static void one_message_per_second(void **state)
{
    (void)state;
    struct rig r;
    cap_start();
    rig_up(&r, ok_steps, 1);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "first"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "second"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "third"), 0);
    /* a short budget: the first goes, the rest waits, and the call keeps to its budget */
    long long t0 = now_ms();
    assert_int_equal(alert_flush(&r.a, 500), 2);
    assert_true(now_ms() - t0 < 800);
    assert_int_equal(served(&r.sv), 1);
    /* enough budget: the other two, a second apart */
    assert_int_equal(alert_flush(&r.a, 5000), 0);
    assert_int_equal(served(&r.sv), 3);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 950);
    assert_true(r.sv.at[2] - r.sv.at[1] >= 950);
    json_object *o = request_json(&r.sv, 2);
    assert_string_equal(jstr(o, "text"), "third");                      /* in order */
    json_object_put(o);
    assert_int_equal(r.a.stats.sent, 3);
    /* budget 0 sends nothing */
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "fourth"), 0);
    assert_int_equal(alert_flush(&r.a, 0), 1);
    assert_int_equal(served(&r.sv), 3);
    rig_down(&r);
    free(cap_stop());
}

static void rate_limit_429_waits_retry_after_and_keeps_the_message(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 429, NULL, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 2\",\"parameters\":{\"retry_after\":2}}" },
        { 200, NULL, OK_BODY },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "keep me"), 0);
    long long t0 = now_ms();
    assert_int_equal(alert_flush(&r.a, 1500), 1);            /* 429: kept, and no wait past the budget */
    assert_true(now_ms() - t0 < 1800);
    assert_int_equal(served(&r.sv), 1);
    assert_int_equal(r.a.stats.rate_limited, 1);
    assert_int_equal(r.a.stats.sent, 0);
    assert_string_equal(alert_queue_text(&r.a, 0), "keep me");
    assert_int_equal(alert_flush(&r.a, 5000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 1950);            /* not before retry_after */
    json_object *o = request_json(&r.sv, 1);
    assert_string_equal(jstr(o, "text"), "keep me");
    json_object_put(o);
    assert_int_equal(r.a.stats.sent, 1);
    assert_int_equal(r.a.stats.failed, 0);
    rig_down(&r);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"event\":\"alert.rate_limited\""));
    assert_non_null(strstr(log, "\"retry_after\":2"));
    free(log);
}

static void retry_after_header_when_the_body_has_none(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 429, "Retry-After: 1\r\n", "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests\"}" },
        { 200, NULL, OK_BODY },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "x"), 0);
    assert_int_equal(alert_flush(&r.a, 4000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 950);
    assert_true(r.sv.at[1] - r.sv.at[0] < 2500);
    rig_down(&r);
    free(cap_stop());
}

static void a_200_that_is_not_ok_is_not_sent(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 200, NULL, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message text is empty\"}" },
        { 200, NULL, "<html>a captive portal</html>" },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "a"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "b"), 0);
    assert_int_equal(alert_flush(&r.a, 4000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_int_equal(r.a.stats.sent, 0);
    assert_int_equal(r.a.stats.failed, 2);
    rig_down(&r);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.sent\""), 0);
    assert_int_equal(count_of(log, "\"event\":\"alert.failed\""), 2);
    free(log);
}

static void full_queue_drops_the_oldest(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);
    char text[32];
    for (int i = 0; i < ALERT_QUEUE_MAX + 6; i++) {
        snprintf(text, sizeof text, "message %d", i);
        assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, text), 0);
    }
    assert_int_equal(alert_queued(&a), ALERT_QUEUE_MAX);
    assert_int_equal(a.stats.dropped, 6);
    assert_string_equal(alert_queue_text(&a, 0), "message 6");
    assert_string_equal(alert_queue_text(&a, ALERT_QUEUE_MAX - 1), "message 69");
    alert_free(&a);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.dropped\""), 6);
    assert_non_null(strstr(log, "\"dropped\":6"));
    free(log);
}

static void permanent_errors_fail_the_message_at_once(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 400, NULL, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}" },
        /* an answer that quotes the token: scrubbed before it is logged */
        { 401, NULL, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized: /bot" TOKEN "/sendMessage " TOKEN "\"}" },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 2);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "a"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_WORKFLOW_FAILED, "b"), 0);
    assert_int_equal(alert_flush(&r.a, 4000), 0);
    assert_int_equal(served(&r.sv), 2);
    assert_int_equal(r.a.stats.failed, 2);
    assert_int_equal(r.a.stats.sent, 0);
    rig_down(&r);
    char *log = cap_stop();                 /* fails if the token is there */
    assert_int_equal(count_of(log, "\"event\":\"alert.failed\""), 2);
    assert_non_null(strstr(log, "check TELEGRAM_CHAT_ID"));
    assert_non_null(strstr(log, "check TELEGRAM_BOT_TOKEN"));
    assert_non_null(strstr(log, "/bot<token>/sendMessage <token>"));
    assert_non_null(strstr(log, "\"will_retry\":false"));
    free(log);
}

static void server_errors_retried_then_given_up(void **state)
{
    (void)state;
    static const struct step steps[] = {
        { 502, NULL, "{\"ok\":false,\"error_code\":502,\"description\":\"Bad Gateway\"}" },
        { 500, NULL, "<html>oops</html>" },
        { 503, NULL, "" },
        { 200, NULL, OK_BODY },
    };
    struct rig r;
    cap_start();
    rig_up(&r, steps, 4);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "lost"), 0);
    assert_int_equal(alert_post(&r.a, ALERT_CIRCUIT_OPEN, "next"), 0);
    assert_int_equal(alert_flush(&r.a, 8000), 0);
    assert_int_equal(served(&r.sv), 4);
    assert_true(r.sv.at[1] - r.sv.at[0] >= 950);            /* a growing pause */
    assert_true(r.sv.at[2] - r.sv.at[1] >= 1950);
    assert_int_equal(r.a.stats.failed, 1);
    assert_int_equal(r.a.stats.sent, 1);
    json_object *o = request_json(&r.sv, 3);
    assert_string_equal(jstr(o, "text"), "next");
    json_object_put(o);
    rig_down(&r);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"will_retry\":true"), 2);
    assert_int_equal(count_of(log, "\"will_retry\":false"), 1);
    assert_non_null(strstr(log, "Bad Gateway"));
    free(log);
}

static void unreachable_server_logs_no_url(void **state)
{
    (void)state;
    /* a port nobody listens on: libcurl's error names the host and port;
     * whatever it says, only the static error name is logged */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    close(fd);
    struct cfg c = base_cfg();
    c.telegram_base_url = base;
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);
    assert_int_equal(alert_post(&a, ALERT_WORKER_STARTED, "x"), 0);
    long long t0 = now_ms();
    assert_int_equal(alert_flush(&a, 1500), 1);             /* kept for a retry */
    assert_true(now_ms() - t0 < 1900);
    alert_free(&a);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"error\":\"could not connect\""));
    assert_null(strstr(log, "/bot"));
    free(log);

    char s[200];
    snprintf(s, sizeof s, "Failed to connect to https://api.telegram.org/bot%s/sendMessage: token %s", TOKEN, TOKEN);
    alert_scrub(s, sizeof s, TOKEN);
    assert_string_equal(s, "Failed to connect to https://api.telegram.org/bot<token>/sendMessage: token <token>");
    snprintf(s, sizeof s, "GET /bot9:other?x=1");
    alert_scrub(s, sizeof s, NULL);
    assert_string_equal(s, "GET /bot<token>?x=1");
    char small[12];
    snprintf(small, sizeof small, "/bot1:a/x");
    alert_scrub(small, sizeof small, "1:a");
    assert_string_equal(small, "/bot<token>");
}

static void configuration_checks(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct alert a;
    cap_start();
    /* disabled: everything a no-op */
    c.telegram_bot_token = "";
    c.telegram_chat_id = "";
    assert_int_equal(alert_init(&a, &c), 0);
    assert_false(alert_enabled(&a));
    assert_int_equal(alert_post(&a, ALERT_MODE_SWITCH, "x"), 0);
    assert_int_equal(alert_mode_switch(&a, "a", "b", "c"), 0);
    assert_int_equal(alert_llm_fallback_streak(&a, 5, NULL), 0);
    assert_int_equal(alert_queued(&a), 0);
    assert_int_equal(alert_flush(&a, 1000), 0);
    alert_free(&a);
    /* one without the other */
    c.telegram_bot_token = TOKEN;
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_bot_token = "";
    c.telegram_chat_id = CHAT;
    assert_int_equal(alert_init(&a, &c), -1);
    /* malformed token and chat id */
    c.telegram_bot_token = "SECRETtok/../x";
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_bot_token = "123456:SECRETtok en";
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_bot_token = TOKEN;
    c.telegram_chat_id = "12ab";
    assert_int_equal(alert_init(&a, &c), -1);
    c.telegram_chat_id = "@";
    assert_int_equal(alert_init(&a, &c), -1);
    alert_free(&a);
    char *log = cap_stop();
    assert_int_equal(count_of(log, "\"event\":\"alert.invalid_config\""), 6);
    assert_non_null(strstr(log, "\"variable\":\"TELEGRAM_CHAT_ID\""));
    assert_non_null(strstr(log, "\"variable\":\"TELEGRAM_BOT_TOKEN\""));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(sends_chat_id_text_and_parse_mode, cap_teardown),
        cmocka_unit_test_teardown(channel_chat_id_is_a_string, cap_teardown),
        cmocka_unit_test_teardown(html_escaping_and_utf8_repair, cap_teardown),
        cmocka_unit_test_teardown(text_cut_at_4096_units, cap_teardown),
        cmocka_unit_test_teardown(one_message_per_second, cap_teardown),
        cmocka_unit_test_teardown(rate_limit_429_waits_retry_after_and_keeps_the_message, cap_teardown),
        cmocka_unit_test_teardown(retry_after_header_when_the_body_has_none, cap_teardown),
        cmocka_unit_test_teardown(a_200_that_is_not_ok_is_not_sent, cap_teardown),
        cmocka_unit_test_teardown(full_queue_drops_the_oldest, cap_teardown),
        cmocka_unit_test_teardown(permanent_errors_fail_the_message_at_once, cap_teardown),
        cmocka_unit_test_teardown(server_errors_retried_then_given_up, cap_teardown),
        cmocka_unit_test_teardown(unreachable_server_logs_no_url, cap_teardown),
        cmocka_unit_test_teardown(configuration_checks, cap_teardown),
    };
    return harness_main("test_alert", LOG_DEBUG, tests, sizeof tests / sizeof tests[0]);
}
