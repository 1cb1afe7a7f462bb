/* Unit tests for shared/cfg.c: the environment table and secrets from
 * files (X_FILE), loaded through cfg_load_from() with a fake getter
 * (cfg_rig.h).  Each program's own settings and the checks of values:
 * test_cfg_checks.c. */

#include "cfg_rig.h"

/* ---- tests ---------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    assert_int_equal(load_with(&c, err, sizeof err, (const char *)NULL), 0);
    assert_string_equal(c.database_url, "dbname=orchestrator user=orch_worker");
    assert_string_equal(c.api_database_url, "dbname=orchestrator user=orch_api");
    assert_string_equal(c.api_token, "");
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.n8n_base_url, "");          /* dry run by default */
    assert_string_equal(c.n8n_auth_header, "");
    assert_string_equal(c.n8n_auth_value, "");
    assert_int_equal(c.webhook_timeout_ms, 10000);
    assert_string_equal(c.dexscreener_base_url, "https://api.dexscreener.com");
    assert_string_equal(c.dexscreener_query, "solana");
    assert_string_equal(c.tradermade_base_url, "https://marketdata.tradermade.com");
    assert_string_equal(c.tradermade_api_key, "");
    assert_string_equal(c.forex_pairs, "EURUSD,GBPUSD");
    assert_string_equal(c.birdeye_base_url, "https://public-api.birdeye.so");
    assert_string_equal(c.birdeye_api_key, "");
    assert_non_null(c.pumpfun_base_url);
    assert_int_equal(c.probe_timeout_ms, 5000);
    assert_int_equal(c.decision_min_seconds, 60);
    assert_int_equal(c.decision_max_seconds, 3600);
    assert_true(c.decision_min_seconds <= c.decision_max_seconds);
    assert_float_equal(c.load_high, 0.9, 1e-9);
    assert_float_equal(c.volatility_high, 3.0, 1e-9);
    assert_float_equal(c.volatility_low, 0.5, 1e-9);
    assert_int_equal(c.heartbeat_seconds, 5);
    assert_int_equal(c.probe_retention_hours, 168);
    /* the LLM: Groq's llama by default, no key (fallback policy only) */
    assert_string_equal(c.groq_api_key, "");
    assert_string_equal(c.groq_base_url, "https://api.groq.com/openai/v1");
    assert_string_equal(c.groq_model, "llama-3.3-70b-versatile");
    assert_string_equal(c.openai_api_key, "");
    assert_string_equal(c.openai_base_url, "https://api.openai.com/v1");
    assert_string_equal(c.llm_base_url, "");
    assert_string_equal(c.llm_api_key, "");
    assert_true(strlen(c.llm_prompt_file) > 0);
    assert_true(c.llm_timeout_ms > 0 && c.llm_timeout_ms <= c.llm_cycle_budget_ms);
    cfg_free(&c);
    assert_cfg_empty(&c);
    cfg_free(&c);                  /* twice is harmless */
}

static void test_every_variable_is_read_once(void **state)
{
    (void)state;
    struct fake_env e;
    memset(&e, 0, sizeof e);
    struct cfg c;
    char err[256];
    assert_int_equal(cfg_load_from(&c, fake_get, &e, err, sizeof err), 0);
    cfg_free(&c);
    /* every variable once, and each secret's X_FILE once */
    size_t nsecret = 0;
    for (size_t i = 0; i < cfg_count(); i++)
        nsecret += cfg_is_secret(i) != 0;
    assert_int_equal((size_t)e.asked, cfg_count() + nsecret);
    for (size_t i = 0; i < cfg_count(); i++) {
        char fname[96];
        snprintf(fname, sizeof fname, "%s_FILE", cfg_name(i));
        int seen = 0, seen_file = 0;
        for (int k = 0; k < e.asked && k < 256; k++) {
            if (strcmp(e.asked_names[k], cfg_name(i)) == 0)
                seen++;
            if (strcmp(e.asked_names[k], fname) == 0)
                seen_file++;
        }
        if (seen != 1)
            fail_msg("%s looked up %d times", cfg_name(i), seen);
        if (seen_file != (cfg_is_secret(i) ? 1 : 0))
            fail_msg("%s looked up %d times", fname, seen_file);
    }
}

static void test_values_override_defaults(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    int rc = load_with(&c, err, sizeof err,
                       "ORCHESTRATOR_PORT", "9090",
                       "LOG_LEVEL", "debug",
                       "ORCHESTRATOR_API_TOKEN", "tok-123",
                       "N8N_BASE_URL", "http://127.0.0.1:5678",
                       "N8N_WEBHOOK_AUTH_HEADER", "X-Orch-Auth",
                       "N8N_WEBHOOK_AUTH_VALUE", "v4lue",
                       "DECISION_MIN_SECONDS", "30",
                       "DECISION_MAX_SECONDS", "30",
                       "VOLATILITY_LOW", "1.5",
                       "VOLATILITY_HIGH", "1.5",
                       "LOAD_HIGH", "2.25",
                       "FOREX_PAIRS", "EURUSD,GBPUSD,USDJPY,AUDUSD,USDCAD,USDCHF,NZDUSD,EURGBP",
                       "DEXSCREENER_QUERY", "pump fun",
                       (const char *)NULL);
    if (rc != 0)
        fail_msg("rejected: %s", err);
    assert_int_equal(c.port, 9090);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.api_token, "tok-123");
    assert_string_equal(c.n8n_base_url, "http://127.0.0.1:5678");
    assert_string_equal(c.n8n_auth_header, "X-Orch-Auth");
    assert_string_equal(c.n8n_auth_value, "v4lue");
    assert_int_equal(c.decision_min_seconds, 30);     /* equal bounds are fine */
    assert_int_equal(c.decision_max_seconds, 30);
    assert_float_equal(c.volatility_low, 1.5, 1e-9);
    assert_float_equal(c.load_high, 2.25, 1e-9);
    assert_string_equal(c.forex_pairs, "EURUSD,GBPUSD,USDJPY,AUDUSD,USDCAD,USDCHF,NZDUSD,EURGBP");
    assert_string_equal(c.dexscreener_query, "pump fun");
    cfg_free(&c);
}

static void test_port_bounds(void **state)
{
    (void)state;
    expect_reject("ORCHESTRATOR_PORT", "0", "1 to 65535");
    expect_reject("ORCHESTRATOR_PORT", "70000", "70000");
    expect_reject("ORCHESTRATOR_PORT", "65536", NULL);
    expect_reject("ORCHESTRATOR_PORT", "80x", "80x");
    expect_reject("ORCHESTRATOR_PORT", "", NULL);
    expect_reject("ORCHESTRATOR_PORT", "-1", NULL);
    expect_reject("ORCHESTRATOR_PORT", "8080.5", NULL);
    expect_reject("ORCHESTRATOR_PORT", "99999999999999999999999", NULL);   /* overflow */
    expect_accept("ORCHESTRATOR_PORT", "1");
    expect_accept("ORCHESTRATOR_PORT", "65535");
}

static void test_other_numbers(void **state)
{
    (void)state;
    expect_reject("WEBHOOK_TIMEOUT_MS", "99", NULL);
    expect_reject("PROBE_TIMEOUT_MS", "ten", NULL);
    expect_reject("HEARTBEAT_SECONDS", "0", NULL);
    expect_reject("DECISION_MIN_SECONDS", "4", NULL);
    expect_reject("DECISION_MAX_SECONDS", "86401", NULL);
    expect_reject("LOAD_HIGH", "0", NULL);
    expect_reject("LLM_TEMPERATURE", "2.5", NULL);
    expect_reject("LLM_TIMEOUT_MS", "499", NULL);
    expect_reject("LOAD_HIGH", "", NULL);
    expect_reject("VOLATILITY_HIGH", "nan", NULL);
    expect_reject("VOLATILITY_HIGH", "inf", NULL);
    expect_reject("VOLATILITY_HIGH", "-1", NULL);
    expect_reject("VOLATILITY_HIGH", "3%", NULL);
    expect_reject("VOLATILITY_LOW", "1e999", NULL);
    expect_accept("VOLATILITY_LOW", "0");
    expect_accept("LOAD_HIGH", "0.01");
}

static void test_log_level(void **state)
{
    (void)state;
    expect_reject("LOG_LEVEL", "verbose", "verbose");
    expect_reject("LOG_LEVEL", "", NULL);
    expect_reject("LOG_LEVEL", "info ", NULL);
    expect_reject("LOG_LEVEL", "warnings", NULL);
    expect_reject("LOG_LEVEL", "WARN ", NULL);
    const char *ok[] = { "debug", "info", "warn", "error" };
    for (size_t i = 0; i < 4; i++)
        expect_accept("LOG_LEVEL", ok[i]);
    /* the seed's values, in any case; WARNING is warn; stored in lower case */
    static const char *const seed[][2] = {
        { "INFO", "info" }, { "DEBUG", "debug" }, { "WARNING", "warn" }, { "ERROR", "error" },
        { "Warn", "warn" }, { "warning", "warn" }, { "WARN", "warn" }, { "Info", "info" },
    };
    for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
        struct cfg c;
        char err[256];
        if (load_with(&c, err, sizeof err, "LOG_LEVEL", seed[i][0], (const char *)NULL) != 0)
            fail_msg("LOG_LEVEL=%s rejected: %s", seed[i][0], err);
        assert_string_equal(c.log_level, seed[i][1]);
        cfg_free(&c);
    }
}

static void test_log_file_and_listen(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    assert_int_equal(load_with(&c, err, sizeof err, (const char *)NULL), 0);
    assert_string_equal(c.log_file, "");
    assert_string_equal(c.listen, "127.0.0.1");
    assert_string_equal(c.url, "http://127.0.0.1:8080");
    cfg_free(&c);
    expect_accept("LOG_FILE", "/var/log/ai-orchestrator/api.log");
    expect_reject("LOG_FILE", "relative/api.log", "absolute");
    expect_accept("ORCHESTRATOR_LISTEN", "0.0.0.0");
    expect_accept("ORCHESTRATOR_LISTEN", "::");
    expect_accept("ORCHESTRATOR_LISTEN", "10.1.2.3");
    expect_accept("ORCHESTRATOR_LISTEN", "fd00::1");
    expect_reject("ORCHESTRATOR_LISTEN", "localhost", "IPv4");
    expect_reject("ORCHESTRATOR_LISTEN", "127.0.0.1:80", NULL);
    expect_reject("ORCHESTRATOR_LISTEN", "", NULL);
    expect_reject("ORCH_URL", "127.0.0.1:8080", "http");
}

/* ---- secrets from files (X_FILE) ------------------------------------------ */

/* A temporary file with n bytes of data; its path in path (caller unlinks). */
static void temp_file(char path[64], const char *data, size_t n)
{
    snprintf(path, 64, "/tmp/test_cfg.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Every secret from its file (X_FILE): a trailing newline stripped, X and
 * X_FILE both set, empty ones, unreadable, missing or directory paths, the
 * size bound, the contents checked like a value.  Longer than 80 lines on
 * purpose: a list of short cases, each a load and its checks on a temp
 * file of its own. */
static void test_secret_files(void **state)
{
    (void)state;
    struct cfg c;
    char err[512], path[64];

    /* every secret can come from its file; one trailing newline (or CRLF) stripped */
    temp_file(path, "gsk_from_file\n", 14);
    assert_int_equal(load_with(&c, err, sizeof err, "GROQ_API_KEY_FILE", path, (const char *)NULL), 0);
    assert_string_equal(c.groq_api_key, "gsk_from_file");
    cfg_free(&c);
    unlink(path);
    temp_file(path, "tok\r\n\n", 6);
    assert_int_equal(load_with(&c, err, sizeof err, "ORCHESTRATOR_API_TOKEN_FILE", path,
                               "TELEGRAM_BOT_TOKEN_FILE", path, "DATABASE_URL_FILE", path,
                               (const char *)NULL), 0);
    assert_string_equal(c.api_token, "tok");
    assert_string_equal(c.telegram_bot_token, "tok");
    assert_string_equal(c.database_url, "tok");
    cfg_free(&c);

    /* X and X_FILE both set: an error naming both, never the value */
    assert_int_equal(load_with(&c, err, sizeof err, "OPENAI_API_KEY", "sk-SECRETVALUE",
                               "OPENAI_API_KEY_FILE", path, (const char *)NULL), -1);
    assert_non_null(strstr(err, "OPENAI_API_KEY and OPENAI_API_KEY_FILE"));
    assert_null(strstr(err, "SECRETVALUE"));
    assert_cfg_empty(&c);
    /* an empty X_FILE is unset; an empty X beside X_FILE is unset too */
    assert_int_equal(load_with(&c, err, sizeof err, "OPENAI_API_KEY", "sk-1", "OPENAI_API_KEY_FILE", "",
                               (const char *)NULL), 0);
    assert_string_equal(c.openai_api_key, "sk-1");
    cfg_free(&c);
    assert_int_equal(load_with(&c, err, sizeof err, "OPENAI_API_KEY", "", "OPENAI_API_KEY_FILE", path,
                               (const char *)NULL), 0);
    assert_string_equal(c.openai_api_key, "tok");
    cfg_free(&c);
    unlink(path);

    /* unreadable, missing, a directory: a startup error naming X_FILE and the path */
    assert_int_equal(load_with(&c, err, sizeof err, "N8N_OWNER_PASSWORD_FILE", "/nonexistent/pw",
                               "N8N_OWNER_EMAIL", "o@x.invalid", (const char *)NULL), -1);
    assert_non_null(strstr(err, "N8N_OWNER_PASSWORD_FILE"));
    assert_non_null(strstr(err, "/nonexistent/pw"));
    assert_cfg_empty(&c);
    assert_int_equal(load_with(&c, err, sizeof err, "LLM_API_KEY_FILE", "/tmp", (const char *)NULL), -1);
    assert_non_null(strstr(err, "LLM_API_KEY_FILE"));
    assert_non_null(strstr(err, "regular file"));

    /* bounded: 4096 bytes of secret pass, one more is refused */
    char *big = malloc(4200);
    assert_non_null(big);
    memset(big, 'k', 4200);
    big[4096] = '\n';
    temp_file(path, big, 4097);
    assert_int_equal(load_with(&c, err, sizeof err, "BIRDEYE_API_KEY_FILE", path, (const char *)NULL), 0);
    assert_int_equal(strlen(c.birdeye_api_key), 4096);
    cfg_free(&c);
    unlink(path);
    temp_file(path, big, 4200);
    assert_int_equal(load_with(&c, err, sizeof err, "BIRDEYE_API_KEY_FILE", path, (const char *)NULL), -1);
    assert_non_null(strstr(err, "BIRDEYE_API_KEY_FILE"));
    assert_non_null(strstr(err, "larger than"));
    assert_cfg_empty(&c);
    unlink(path);
    free(big);

    /* the contents are checked like a value: a line break inside is refused,
     * and the message does not show the secret */
    temp_file(path, "SECRETLINE1\nline2\n", 18);
    assert_int_equal(load_with(&c, err, sizeof err, "TRADERMADE_API_KEY_FILE", path, (const char *)NULL), -1);
    assert_non_null(strstr(err, "TRADERMADE_API_KEY"));
    assert_null(strstr(err, "SECRETLINE1"));
    unlink(path);
    temp_file(path, "a\0b", 3);
    assert_int_equal(load_with(&c, err, sizeof err, "N8N_API_KEY_FILE", path, (const char *)NULL), -1);
    assert_non_null(strstr(err, "NUL"));
    unlink(path);

    /* the names of the brief: each one reads its file */
    static const char *const names[] = {
        "GROQ_API_KEY_FILE", "OPENAI_API_KEY_FILE", "LLM_API_KEY_FILE", "TRADERMADE_API_KEY_FILE",
        "BIRDEYE_API_KEY_FILE", "TELEGRAM_BOT_TOKEN_FILE", "N8N_API_KEY_FILE", "N8N_WEBHOOK_AUTH_VALUE_FILE",
        "N8N_OWNER_PASSWORD_FILE", "ORCHESTRATOR_API_TOKEN_FILE", "ORCH_RESULTS_TOKEN_FILE",
        "DATABASE_URL_FILE", "API_DATABASE_URL_FILE",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (load_with(&c, err, sizeof err, names[i], "/nonexistent/x", (const char *)NULL) != -1 ||
            !strstr(err, names[i]))
            fail_msg("%s is not read: \"%s\"", names[i], err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_variable_is_read_once),
        cmocka_unit_test(test_values_override_defaults),
        cmocka_unit_test(test_port_bounds),
        cmocka_unit_test(test_other_numbers),
        cmocka_unit_test(test_log_level),
        cmocka_unit_test(test_log_file_and_listen),
        cmocka_unit_test(test_secret_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
