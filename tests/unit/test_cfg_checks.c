/* Unit tests for shared/cfg.c: each program reads only its settings, and
 * the checks of values -- URLs, cross-checks, retention, forex pairs,
 * queries, the auth header pair, control characters and UTF-8, secrets kept
 * out of messages -- and the table's introspection and failure paths;
 * through cfg_load_from() with a fake getter (cfg_rig.h). */

#include "cfg_rig.h"

/* ---- each program reads only its settings ---------------------------------- */

/* Each program's load reads only its settings: the API's leaves the
 * worker's secrets empty and opens none of their files, a bad value stops
 * only the program that reads it, orchctl holds only the URL and the API
 * token, every variable is read by some program.  Longer than 80 lines on
 * purpose: one fake environment loaded as each program, each load checked. */
static void test_program_masks(void **state)
{
    (void)state;
    struct fake_env e;
    struct cfg c;
    char err[512];

    /* the API's load: LLM keys, the Telegram token and the n8n owner's
     * password stay empty even when set, and their _FILE is not opened */
    memset(&e, 0, sizeof e);
    fake_set(&e, "GROQ_API_KEY", "gsk-worker-secret");
    fake_set(&e, "OPENAI_API_KEY", "sk-worker-secret");
    fake_set(&e, "LLM_API_KEY_FILE", "/nonexistent/llm-key");
    fake_set(&e, "TELEGRAM_BOT_TOKEN", "123:tg");
    fake_set(&e, "N8N_OWNER_EMAIL", "o@x.invalid");
    fake_set(&e, "N8N_OWNER_PASSWORD", "pw");
    fake_set(&e, "N8N_WEBHOOK_AUTH_VALUE", "hook-secret");
    fake_set(&e, "DATABASE_URL", "host=/x user=orch_worker password=w");
    fake_set(&e, "ORCHESTRATOR_API_TOKEN", "api-tok");
    fake_set(&e, "API_DATABASE_URL", "dbname=o user=orch_api");
    fake_set(&e, "LOG_LEVEL", "WARNING");
    /* and invalid worker-only values */
    fake_set(&e, "LEARN_EPSILON", "often");
    fake_set(&e, "LLM_TIMEOUT_MS", "1");
    fake_set(&e, "FOREX_PAIRS", "nope");
    fake_set(&e, "WEBHOOK_MAX_ATTEMPTS", "-1");
    assert_int_equal(cfg_load_from_prog(&c, CFG_PROG_API, fake_get, &e, err, sizeof err), 0);
    assert_string_equal(c.groq_api_key, "");
    assert_string_equal(c.openai_api_key, "");
    assert_string_equal(c.llm_api_key, "");
    assert_string_equal(c.telegram_bot_token, "");
    assert_string_equal(c.n8n_owner_password, "");
    assert_string_equal(c.n8n_auth_value, "");
    assert_string_equal(c.database_url, "dbname=orchestrator user=orch_worker");   /* the default */
    assert_string_equal(c.api_token, "api-tok");
    assert_string_equal(c.api_database_url, "dbname=o user=orch_api");
    assert_string_equal(c.log_level, "warn");
    assert_float_equal(c.learn_epsilon, 0.05, 1e-12);
    cfg_free(&c);
    for (int k = 0; k < e.asked && k < 256; k++)
        for (size_t i = 0; i < cfg_count(); i++)
            if (strncmp(e.asked_names[k], cfg_name(i), strlen(cfg_name(i))) == 0 &&
                (e.asked_names[k][strlen(cfg_name(i))] == '\0' ||
                 strcmp(e.asked_names[k] + strlen(cfg_name(i)), "_FILE") == 0) &&
                !(cfg_progs(i) & CFG_PROG_API))
                fail_msg("the API looked up %s", e.asked_names[k]);

    /* the same environment stops the worker, naming the bad variable */
    assert_int_equal(cfg_load_from_prog(&c, CFG_PROG_WORKER, fake_get, &e, err, sizeof err), -1);
    assert_non_null(strstr(err, "LEARN_EPSILON"));
    assert_cfg_empty(&c);

    /* a bad API value stops the API, not the worker */
    memset(&e, 0, sizeof e);
    fake_set(&e, "ORCHESTRATOR_LISTEN", "everywhere");
    fake_set(&e, "API_DATABASE_URL", "x\001");
    assert_int_equal(cfg_load_from_prog(&c, CFG_PROG_API, fake_get, &e, err, sizeof err), -1);
    assert_int_equal(cfg_load_from_prog(&c, CFG_PROG_WORKER, fake_get, &e, err, sizeof err), 0);
    cfg_free(&c);

    /* the worker holds its secrets; orchctl only the URL and the API token */
    memset(&e, 0, sizeof e);
    fake_set(&e, "GROQ_API_KEY", "gsk-w");
    fake_set(&e, "ORCHESTRATOR_API_TOKEN", "api-tok");
    fake_set(&e, "ORCH_URL", "http://10.0.0.1:8080/");
    assert_int_equal(cfg_load_from_prog(&c, CFG_PROG_WORKER, fake_get, &e, err, sizeof err), 0);
    assert_string_equal(c.groq_api_key, "gsk-w");
    cfg_free(&c);
    assert_int_equal(cfg_load_from_prog(&c, CFG_PROG_CTL, fake_get, &e, err, sizeof err), 0);
    assert_string_equal(c.groq_api_key, "");
    assert_string_equal(c.api_token, "api-tok");
    assert_string_equal(c.url, "http://10.0.0.1:8080");
    cfg_free(&c);

    /* every variable is read by at least one program; the secrets the API
     * must never hold are not in its mask */
    static const char *const worker_secrets[] = {
        "GROQ_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY", "TELEGRAM_BOT_TOKEN", "N8N_OWNER_PASSWORD",
        "N8N_API_KEY", "N8N_WEBHOOK_AUTH_VALUE", "TRADERMADE_API_KEY", "BIRDEYE_API_KEY", "DATABASE_URL",
    };
    for (size_t i = 0; i < cfg_count(); i++) {
        if (!cfg_progs(i))
            fail_msg("%s is read by no program", cfg_name(i));
        for (size_t k = 0; k < sizeof worker_secrets / sizeof worker_secrets[0]; k++)
            if (strcmp(cfg_name(i), worker_secrets[k]) == 0 && (cfg_progs(i) & (CFG_PROG_API | CFG_PROG_CTL)))
                fail_msg("%s is read by the API or orchctl", cfg_name(i));
    }
}

static void test_urls(void **state)
{
    (void)state;
    expect_reject("N8N_BASE_URL", "ftp://x", "http");
    expect_reject("N8N_BASE_URL", "http://n8n host:5678", NULL);
    expect_reject("N8N_BASE_URL", "http://n8n:5678/\"x", NULL);
    expect_reject("N8N_BASE_URL", "n8n:5678", NULL);
    expect_reject("DEXSCREENER_BASE_URL", "api.dexscreener.com", NULL);
    expect_reject("TRADERMADE_BASE_URL", "https://x\ty", NULL);
    expect_reject("BIRDEYE_BASE_URL", "javascript:alert(1)", NULL);
    expect_reject("PUMPFUN_BASE_URL", "file:///etc/passwd", NULL);
    expect_reject("GROQ_BASE_URL", "api.groq.com/openai/v1", NULL);
    /* a scheme without a host would become "http:" once the slashes go */
    expect_reject("N8N_BASE_URL", "http://", "host");
    expect_reject("N8N_BASE_URL", "https://", "host");
    expect_reject("N8N_BASE_URL", "http:///webhook", "host");
    expect_accept("N8N_BASE_URL", "http://n");
    expect_accept("N8N_BASE_URL", "");               /* empty: dry run */
    expect_accept("PUMPFUN_BASE_URL", "");           /* empty: source disabled */
    expect_accept("N8N_BASE_URL", "https://n8n.example.com/base");
}

static void test_url_trailing_slashes_stripped(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    int rc = load_with(&c, err, sizeof err,
                       "N8N_BASE_URL", "http://127.0.0.1:5678/",
                       "DEXSCREENER_BASE_URL", "https://api.dexscreener.com///",
                       "TRADERMADE_BASE_URL", "http://127.0.0.1:9/tm/",
                       "FOREX_PAIRS", "EURUSD",
                       (const char *)NULL);
    if (rc != 0)
        fail_msg("rejected: %s", err);
    assert_string_equal(c.n8n_base_url, "http://127.0.0.1:5678");
    assert_string_equal(c.dexscreener_base_url, "https://api.dexscreener.com");
    assert_string_equal(c.tradermade_base_url, "http://127.0.0.1:9/tm");
    /* only URLs: a plain string keeps its slash */
    assert_string_equal(c.forex_pairs, "EURUSD");
    cfg_free(&c);

    rc = load_with(&c, err, sizeof err, "DATABASE_URL", "host=/tmp/", (const char *)NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(c.database_url, "host=/tmp/");
    cfg_free(&c);
}

static void test_cross_checks(void **state)
{
    (void)state;
    struct cfg c;
    char err[512];

    memset(&c, 0x5a, sizeof c);
    assert_int_equal(load_with(&c, err, sizeof err, "DECISION_MIN_SECONDS", "600",
                               "DECISION_MAX_SECONDS", "300", (const char *)NULL), -1);
    assert_non_null(strstr(err, "DECISION_MIN_SECONDS"));
    assert_non_null(strstr(err, "DECISION_MAX_SECONDS"));
    assert_non_null(strstr(err, "600"));
    assert_cfg_empty(&c);

    /* only the minimum moved: still greater than the default maximum */
    assert_int_equal(load_with(&c, err, sizeof err, "DECISION_MIN_SECONDS", "7200",
                               (const char *)NULL), -1);
    assert_non_null(strstr(err, "DECISION_MIN_SECONDS"));
    assert_cfg_empty(&c);

    assert_int_equal(load_with(&c, err, sizeof err, "VOLATILITY_LOW", "5",
                               "VOLATILITY_HIGH", "1", (const char *)NULL), -1);
    assert_non_null(strstr(err, "VOLATILITY_LOW"));
    assert_non_null(strstr(err, "VOLATILITY_HIGH"));
    assert_cfg_empty(&c);

    assert_int_equal(load_with(&c, err, sizeof err, "VOLATILITY_LOW", "3.5", (const char *)NULL), -1);
    assert_non_null(strstr(err, "VOLATILITY_LOW"));
    assert_cfg_empty(&c);
}

/* Retention: horizons of at least 2 days, and decisions kept longer than a
 * trigger may wait for its end. */
static void test_retention(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    assert_int_equal(load_with(&c, err, sizeof err, (const char *)NULL), 0);
    assert_int_equal(c.decision_retention_days, 90);
    assert_int_equal(c.result_retention_days, 90);
    assert_int_equal(c.llm_call_retention_days, 90);
    assert_int_equal(c.command_retention_days, 90);
    assert_int_equal(c.retention_batch_rows, 500);
    assert_int_equal(c.retention_budget_ms, 250);
    assert_int_equal(c.retention_interval_seconds, 60);
    cfg_free(&c);
    expect_reject("DECISION_RETENTION_DAYS", "1", NULL);
    expect_reject("RESULT_RETENTION_DAYS", "0", NULL);
    expect_reject("LLM_CALL_RETENTION_DAYS", "-3", NULL);
    expect_reject("COMMAND_RETENTION_DAYS", "36501", NULL);
    expect_reject("RETENTION_BATCH_ROWS", "0", NULL);
    expect_reject("RETENTION_BUDGET_MS", "5", NULL);
    expect_reject("RETENTION_INTERVAL_SECONDS", "4", NULL);
    expect_accept("DECISION_RETENTION_DAYS", "2");
    /* a trigger may wait TRACK_TIMEOUT_SECONDS for its end: its decision must still be there */
    assert_int_equal(load_with(&c, err, sizeof err, "DECISION_RETENTION_DAYS", "2",
                               "TRACK_TIMEOUT_SECONDS", "604800", (const char *)NULL), -1);
    assert_non_null(strstr(err, "DECISION_RETENTION_DAYS"));
    assert_non_null(strstr(err, "TRACK_TIMEOUT_SECONDS"));
    assert_cfg_empty(&c);
    assert_int_equal(load_with(&c, err, sizeof err, "DECISION_RETENTION_DAYS", "8",
                               "TRACK_TIMEOUT_SECONDS", "604800", (const char *)NULL), 0);
    cfg_free(&c);
}

static void test_forex_pairs(void **state)
{
    (void)state;
    expect_reject("FOREX_PAIRS", "eurusd", NULL);
    expect_reject("FOREX_PAIRS", "EURUSd", NULL);
    expect_reject("FOREX_PAIRS", "EURUSDX", NULL);              /* 7 letters */
    expect_reject("FOREX_PAIRS", "EURUS", NULL);                /* 5 letters */
    expect_reject("FOREX_PAIRS", "EURUSD,", NULL);              /* trailing comma */
    expect_reject("FOREX_PAIRS", ",EURUSD", NULL);
    expect_reject("FOREX_PAIRS", "EURUSD,,GBPUSD", NULL);
    expect_reject("FOREX_PAIRS", "EURUSD, GBPUSD", NULL);
    expect_reject("FOREX_PAIRS", "EUR/USD", NULL);
    expect_reject("FOREX_PAIRS", "", NULL);
    expect_reject("FOREX_PAIRS", "EURUSD,GBPUSD,USDJPY,AUDUSD,USDCAD,USDCHF,NZDUSD,EURGBP,EURJPY", "8");
    expect_accept("FOREX_PAIRS", "EURUSD");
    expect_accept("FOREX_PAIRS", "EURUSD,GBPUSD,USDJPY");
}

static void test_dexscreener_query(void **state)
{
    (void)state;
    char longq[102];
    memset(longq, 'q', 101);
    longq[101] = '\0';
    expect_reject("DEXSCREENER_QUERY", "", NULL);
    expect_reject("DEXSCREENER_QUERY", longq, NULL);
    longq[100] = '\0';
    expect_accept("DEXSCREENER_QUERY", longq);
}

static void test_auth_header_pairing(void **state)
{
    (void)state;
    expect_reject("N8N_WEBHOOK_AUTH_HEADER", "X-Orch-Auth", "N8N_WEBHOOK_AUTH_VALUE");
    expect_reject("N8N_WEBHOOK_AUTH_VALUE", "s3cret", "N8N_WEBHOOK_AUTH_HEADER");

    struct cfg c;
    char err[512];
    assert_int_equal(load_with(&c, err, sizeof err, "N8N_WEBHOOK_AUTH_HEADER", "X Auth",
                               "N8N_WEBHOOK_AUTH_VALUE", "v", (const char *)NULL), -1);
    assert_non_null(strstr(err, "N8N_WEBHOOK_AUTH_HEADER"));
    assert_cfg_empty(&c);
    assert_int_equal(load_with(&c, err, sizeof err, "N8N_WEBHOOK_AUTH_HEADER", "X-Auth:",
                               "N8N_WEBHOOK_AUTH_VALUE", "v", (const char *)NULL), -1);
    assert_non_null(strstr(err, "N8N_WEBHOOK_AUTH_HEADER"));
    assert_cfg_empty(&c);
}

static void test_control_characters(void **state)
{
    (void)state;
    expect_reject("DATABASE_URL", "dbname=x\nuser=y", "control");
    expect_reject("DEXSCREENER_QUERY", "sol\x1b[31mana", "control");
    expect_reject("N8N_BASE_URL", "http://n8n:5678\r\n", NULL);
    expect_reject("N8N_BASE_URL", "http://n8n:5678/\x01", NULL);

    /* DEL in a header name, with its value present: the name check catches it */
    struct cfg c;
    char err[512];
    assert_int_equal(load_with(&c, err, sizeof err, "N8N_WEBHOOK_AUTH_HEADER", "X-A\x7f",
                               "N8N_WEBHOOK_AUTH_VALUE", "v", (const char *)NULL), -1);
    assert_non_null(strstr(err, "N8N_WEBHOOK_AUTH_HEADER"));
    assert_cfg_empty(&c);
}

/* Every variable in the table, whatever its type, refuses a control
 * character with a message that starts with its name; for a secret the
 * message never repeats the value. */
static void test_every_variable_rejects_control_chars(void **state)
{
    (void)state;
    assert_true(cfg_count() >= 8);
    for (size_t i = 0; i < cfg_count(); i++) {
        const char *name = cfg_name(i);
        struct cfg c;
        char err[512];
        memset(&c, 0x5a, sizeof c);
        int rc = load_with(&c, err, sizeof err, name, "hunter2\x01zz", (const char *)NULL);
        if (rc != -1)
            fail_msg("%s accepted a control character", name);
        if (strncmp(err, name, strlen(name)) != 0)
            fail_msg("%s: message does not start with the name: \"%s\"", name, err);
        if (cfg_is_secret(i) && strstr(err, "hunter2"))
            fail_msg("%s: message shows the secret: \"%s\"", name, err);
        assert_cfg_empty(&c);
    }
}

/* Every variable refuses bytes that are not UTF-8, and every message it
 * writes is valid UTF-8 (cut on a character). */
static void test_every_variable_wants_utf8(void **state)
{
    (void)state;
    for (size_t i = 0; i < cfg_count(); i++) {
        const char *name = cfg_name(i);
        struct cfg c;
        char err[512];
        memset(&c, 0x5a, sizeof c);
        int rc = load_with(&c, err, sizeof err, name, "ab\xff" "cd", (const char *)NULL);
        if (rc != -1)
            fail_msg("%s accepted bytes that are not UTF-8", name);
        if (strncmp(err, name, strlen(name)) != 0 || !strstr(err, "UTF-8"))
            fail_msg("%s: message: \"%s\"", name, err);
        assert_cfg_empty(&c);
    }
    /* a quoted value is cut on a character boundary */
    struct cfg c;
    char err[512];
    assert_int_equal(load_with(&c, err, sizeof err, "LOG_LEVEL",
                               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\xc3\xa9\xc3\xa9",
                               (const char *)NULL), -1);
    assert_true(utf8_valid(err, strlen(err)));
    expect_reject("ORCHESTRATOR_PORT", "80\x7f", "control");
    expect_accept("DEXSCREENER_QUERY", "s\xc3\xb6lana");
}

static void test_secrets_never_in_messages(void **state)
{
    (void)state;
    static const char *const secrets[] = {
        "ORCHESTRATOR_API_TOKEN", "TRADERMADE_API_KEY", "BIRDEYE_API_KEY", "N8N_WEBHOOK_AUTH_VALUE",
        "GROQ_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY",
    };
    char huge[5000];
    memset(huge, 'S', sizeof huge - 1);
    memcpy(huge, "TOPSECRET", 9);
    huge[sizeof huge - 1] = '\0';

    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        const char *name = secrets[i];
        struct cfg c;
        char err[512];
        const char *bad[] = { "TOPSECRET\x02", "TOPSECRET\n", "\tTOPSECRET", huge };
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            int rc = load_with(&c, err, sizeof err, name, bad[k],
                               "N8N_WEBHOOK_AUTH_HEADER", "X-Auth", (const char *)NULL);
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, name));
            if (strstr(err, "TOPSECRET"))
                fail_msg("%s: message shows the secret: \"%s\"", name, err);
            assert_cfg_empty(&c);
        }
        /* a good secret next to another variable's error: still not shown */
        int rc = load_with(&c, err, sizeof err, name, "TOPSECRET", "ORCHESTRATOR_PORT", "0",
                           (const char *)NULL);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "ORCHESTRATOR_PORT"));
        assert_null(strstr(err, "TOPSECRET"));
    }

    /* the value without its header: the pairing message names both, shows neither value */
    struct cfg c;
    char err[512];
    assert_int_equal(load_with(&c, err, sizeof err, "N8N_WEBHOOK_AUTH_VALUE", "TOPSECRET",
                               (const char *)NULL), -1);
    assert_null(strstr(err, "TOPSECRET"));
    assert_non_null(strstr(err, "N8N_WEBHOOK_AUTH_VALUE"));
}

static void test_table_introspection(void **state)
{
    (void)state;
    size_t n = cfg_count();
    assert_true(n >= 20);
    assert_null(cfg_name(n));
    assert_null(cfg_name((size_t)-1));
    assert_int_equal(cfg_is_secret(n), 0);
    assert_int_equal(cfg_is_secret((size_t)-1), 0);

    static const char *const must_secret[] = {
        "ORCHESTRATOR_API_TOKEN", "N8N_WEBHOOK_AUTH_VALUE", "TRADERMADE_API_KEY", "BIRDEYE_API_KEY",
        "GROQ_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY",
    };
    static const char *const must_plain[] = {
        "ORCHESTRATOR_PORT", "LOG_LEVEL", "N8N_BASE_URL", "N8N_WEBHOOK_AUTH_HEADER", "FOREX_PAIRS",
        "DECISION_MIN_SECONDS", "DECISION_MAX_SECONDS", "VOLATILITY_LOW", "VOLATILITY_HIGH",
        "GROQ_MODEL", "GROQ_BASE_URL",
    };
    int nsecret = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = cfg_name(i);
        assert_non_null(name);
        for (const char *p = name; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                fail_msg("variable name \"%s\" is not UPPER_SNAKE", name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(cfg_name(k), name) == 0)
                fail_msg("variable %s listed twice", name);
        int want = -1;
        for (size_t k = 0; k < sizeof must_secret / sizeof must_secret[0]; k++)
            if (strcmp(must_secret[k], name) == 0)
                want = 1;
        for (size_t k = 0; k < sizeof must_plain / sizeof must_plain[0]; k++)
            if (strcmp(must_plain[k], name) == 0)
                want = 0;
        if (want >= 0 && cfg_is_secret(i) != want)
            fail_msg("%s: cfg_is_secret is %d, want %d", name, cfg_is_secret(i), want);
        nsecret += cfg_is_secret(i) != 0;
    }
    assert_true(nsecret >= 7);
    for (size_t k = 0; k < sizeof must_secret / sizeof must_secret[0]; k++) {
        size_t i = 0;
        while (i < n && strcmp(cfg_name(i), must_secret[k]) != 0)
            i++;
        if (i == n)
            fail_msg("%s missing from the table", must_secret[k]);
    }
}

static void test_value_too_long(void **state)
{
    (void)state;
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    expect_reject("DATABASE_URL", big, "4096");
    big[4096] = '\0';
    expect_accept("DATABASE_URL", big);
    free(big);
}

/* Failing at the last variable after every string before it was
 * allocated: the struct is emptied (valgrind/ASan report any leak). */
static void test_failure_late_in_table_frees_everything(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    size_t last = cfg_count() - 1;
    int rc = load_with(&c, err, sizeof err, cfg_name(last), "\x01", (const char *)NULL);
    assert_int_equal(rc, -1);
    assert_cfg_empty(&c);
    /* and a failure in a cross-check, after the whole table was loaded */
    rc = load_with(&c, err, sizeof err, "FOREX_PAIRS", "nope", (const char *)NULL);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "FOREX_PAIRS"));
    assert_cfg_empty(&c);
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    struct cfg c;
    char err[16];
    memset(err, 'Z', sizeof err);
    int rc = load_with(&c, err, 8, "ORCHESTRATOR_PORT", "0", (const char *)NULL);
    assert_int_equal(rc, -1);
    assert_int_equal(strlen(err), 7);      /* truncated, terminated, within errlen */
    assert_int_equal(err[8], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_program_masks),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_url_trailing_slashes_stripped),
        cmocka_unit_test(test_cross_checks),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_forex_pairs),
        cmocka_unit_test(test_dexscreener_query),
        cmocka_unit_test(test_auth_header_pairing),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_every_variable_rejects_control_chars),
        cmocka_unit_test(test_every_variable_wants_utf8),
        cmocka_unit_test(test_secrets_never_in_messages),
        cmocka_unit_test(test_table_introspection),
        cmocka_unit_test(test_value_too_long),
        cmocka_unit_test(test_failure_late_in_table_frees_everything),
        cmocka_unit_test(test_small_error_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
