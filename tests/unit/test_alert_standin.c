/* Telegram alerts (worker/alert.c) against the project's stand-in
 * (tests/standin/standin.py, started here) for the Bot API's own checks. */

#include "alert_rig.h"

/* ---- against the stand-in ------------------------------------------------ */

static void against_the_standin(void **state)
{
    (void)state;
    struct standin si;
    standin_start(&si);
    char base[96];
    snprintf(base, sizeof base, "%s/telegram", si.base);
    struct cfg c = base_cfg();
    c.telegram_base_url = base;
    struct alert a;
    cap_start();
    assert_int_equal(alert_init(&a, &c), 0);

    /* the Bot API's HTML parser accepts what we escape, and the 4096 cut */
    const char *nasty = "load < 0.9 & <b>not bold</b> \"q\" 'x' \xc3\xa9 \xf0\x9f\x98\x80 </i> <a href=x>";
    assert_int_equal(alert_mode_switch(&a, "crypto", "<forex>", nasty), 0);
    static char big[9000];
    for (int i = 0; i < 8000; i++)
        big[i] = "<&>x"[i % 4];
    big[8000] = '\0';
    assert_int_equal(alert_post(&a, ALERT_WORKFLOW_FAILED, big), 0);
    assert_int_equal(alert_flush(&a, 5000), 0);
    assert_int_equal(a.stats.sent, 2);
    assert_int_equal(a.stats.failed, 0);
    char *reqs = standin_call(&si, "GET", "/_standin/requests?prefix=/telegram/", NULL);
    json_object *arr = json_tokener_parse(reqs);
    assert_non_null(arr);
    assert_int_equal(json_object_array_length(arr), 2);
    json_object *b0 = json_object_object_get(json_object_array_get_idx(arr, 0), "body");
    assert_string_equal(json_object_get_string(json_object_object_get(b0, "parse_mode")), "HTML");
    assert_non_null(strstr(json_object_get_string(json_object_object_get(b0, "text")), "load &lt; 0.9 &amp;"));
    json_object_put(arr);
    free(reqs);

    /* flood control: retry_after honoured, the message kept and sent after */
    free(standin_call(&si, "POST", "/_standin/reset", "{}"));
    free(standin_call(&si, "POST", "/_standin/config",
                      "{\"behaviour\":{\"telegram\":[\"429\",\"ok\"]},\"telegram_retry_after\":1}"));
    assert_int_equal(alert_post(&a, ALERT_CIRCUIT_OPEN, "after the flood"), 0);
    assert_int_equal(alert_flush(&a, 5000), 0);
    assert_int_equal(a.stats.rate_limited, 1);
    assert_int_equal(a.stats.sent, 3);
    reqs = standin_call(&si, "GET", "/_standin/requests?prefix=/telegram/", NULL);
    arr = json_tokener_parse(reqs);
    assert_int_equal(json_object_array_length(arr), 2);
    double t0 = json_object_get_double(json_object_object_get(json_object_array_get_idx(arr, 0), "time"));
    double t1 = json_object_get_double(json_object_object_get(json_object_array_get_idx(arr, 1), "time"));
    assert_true(t1 - t0 >= 0.95);
    json_object_put(arr);
    free(reqs);

    /* a token the Bot API refuses: failed, with a hint, and never logged */
    free(standin_call(&si, "POST", "/_standin/reset", "{}"));
    free(standin_call(&si, "POST", "/_standin/config", "{\"telegram_token\":\"9:other\"}"));
    assert_int_equal(alert_post(&a, ALERT_CIRCUIT_OPEN, "refused"), 0);
    assert_int_equal(alert_flush(&a, 3000), 0);
    assert_int_equal(a.stats.failed, 1);
    alert_free(&a);
    char *log = cap_stop();
    assert_non_null(strstr(log, "\"status\":401"));
    assert_non_null(strstr(log, "check TELEGRAM_BOT_TOKEN"));
    free(log);
    standin_stop(&si);
}

/* Telegram's answers are outside input: bounded, cleaned, clamped. */
static void answers_checked(void **state)
{
    (void)state;
    int ok;
    char desc[32];
    long ra;
    const char *b = "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many \xff\\u0007Requests: retry after 1e300\","
                    "\"parameters\":{\"retry_after\":99999999999999}}";
    alert_parse_answer(b, strlen(b), NULL, &ok, desc, sizeof desc, &ra);
    assert_int_equal(ok, 0);
    assert_int_equal(ra, ALERT_RETRY_AFTER_MAX);
    assert_true(utf8_valid(desc, strlen(desc)));
    assert_null(strchr(desc, '\x07'));
    assert_int_equal(strncmp(desc, "Too Many ? Requests", 19), 0);
    alert_parse_answer("{\"ok\":true}", 11, "99999999999999999999999", &ok, desc, sizeof desc, &ra);
    assert_int_equal(ok, 1);
    assert_int_equal(ra, ALERT_RETRY_AFTER_MAX);
    alert_parse_answer("{\"ok\":\"yes\",\"parameters\":{\"retry_after\":-4}}", 44, "1e3", &ok, desc, sizeof desc, &ra);
    assert_int_equal(ok, 0);
    assert_int_equal(ra, -1);
    alert_parse_answer("<html>", 6, "7", &ok, desc, sizeof desc, &ra);
    assert_int_equal(ra, 7);
    assert_string_equal(desc, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_checked),
        cmocka_unit_test_teardown(against_the_standin, cap_teardown),
    };
    return harness_main("test_alert_standin", LOG_DEBUG, tests, sizeof tests / sizeof tests[0]);
}
