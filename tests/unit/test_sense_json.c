/* Unit tests for the pure parts of worker/sense.c: the load average, URL
 * encoding and ISO times, the snapshot's JSON, and text, numbers and bytes
 * from outside checked where they enter (valid UTF-8, finite, in range). */

#include "sense_rig.h"

/* ---- load average, URL encoding, ISO time ----------------------------------- */

/* Exact comparison: cmocka's float comparison accepts inf for -1. */
static void expect_load(const char *text, double want)
{
    double got = sense_parse_loadavg(text);
    if (!(got == want))
        fail_msg("loadavg \"%s\": got %g, want %g", text, got, want);
}

static void test_loadavg(void **state)
{
    (void)state;
    expect_load("0.52 0.58 0.59 1/467 12345\n", 0.52);
    expect_load("12.50 3.00 1.00 9/999 1", 12.5);
    expect_load("0.00 0.00 0.00 1/1 1", 0.0);
    expect_load("", -1);
    expect_load("load", -1);
    expect_load("-1.5 0 0", -1);
    expect_load("nan 0 0", -1);
    expect_load("inf 0 0", -1);
    expect_load("1e999 0 0", -1);
}

static void expect_enc(const char *in, const char *want)
{
    char out[256];
    assert_int_equal(sense_urlencode(in, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_urlencode(void **state)
{
    (void)state;
    expect_enc("solana", "solana");
    expect_enc("", "");
    expect_enc("pump fun", "pump%20fun");
    expect_enc("a/b?c=d&e#f", "a%2Fb%3Fc%3Dd%26e%23f");
    expect_enc("A-Z_a.z~09", "A-Z_a.z~09");
    expect_enc("1+1%", "1%2B1%25");
    expect_enc("caf\xc3\xa9", "caf%C3%A9");                    /* é */
    expect_enc("\xe2\x82\xac", "%E2%82%AC");                   /* € */
    expect_enc("\xf0\x9f\x9a\x80 moon", "%F0%9F%9A%80%20moon"); /* rocket */

    /* fits exactly / one byte short, and nothing written past cap */
    char out[16];
    memset(out, 'Z', sizeof out);
    assert_int_equal(sense_urlencode("abc", out, 4), 0);
    assert_string_equal(out, "abc");
    memset(out, 'Z', sizeof out);
    assert_int_equal(sense_urlencode("abc", out, 3), -1);
    assert_int_equal(out[3], 'Z');
    memset(out, 'Z', sizeof out);
    assert_int_equal(sense_urlencode("a b", out, 6), 0);
    assert_string_equal(out, "a%20b");
    memset(out, 'Z', sizeof out);
    assert_int_equal(sense_urlencode("a b", out, 5), -1);
    for (int i = 5; i < 16; i++)
        assert_int_equal(out[i], 'Z');
    assert_int_equal(sense_urlencode("", out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(sense_urlencode("", out, 0), -1);
    assert_int_equal(sense_urlencode("x", out, 0), -1);
    /* a long key into the worker's 256-byte buffer */
    char key[300], big[256];
    memset(key, '/', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(sense_urlencode(key, big, sizeof big), -1);
}

static void test_iso8601(void **state)
{
    (void)state;
    char ts[32];
    tu_iso8601(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00Z");
    tu_iso8601(1770818400, ts);
    assert_string_equal(ts, "2026-02-11T14:00:00Z");
    tu_iso8601(1798761599, ts);
    assert_string_equal(ts, "2026-12-31T23:59:59Z");
}

/* ---- the snapshot as JSON ------------------------------------------------------- */

static json_object *get(json_object *o, const char *path)
{
    /* dotted path: "market.crypto.pairs" */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, tok, &v))
            fail_msg("no %s in snapshot JSON", path);
        o = v;
    }
    return o;
}

/* The snapshot as JSON, every section.  Longer than 80 lines on purpose:
 * one snapshot with every field set, and each field found again in its
 * place. */
static void test_to_json(void **state)
{
    (void)state;
    struct sense_snapshot s;
    memset(&s, 0, sizeof s);
    s.now = 1770818400;
    s.sessions.market_open = 1;
    s.sessions.open[SESSION_TOKYO] = 1;
    s.sessions.open[SESSION_LONDON] = 1;
    s.sessions.nopen = 2;
    s.session_label = "tokyo_london";
    s.probes[FEED_DEXSCREENER] = (struct sense_probe){ .configured = 1, .ok = 1, .http_status = 200, .latency_ms = 81.6 };
    s.probes[FEED_TRADERMADE] = (struct sense_probe){ .configured = 1, .ok = 0, .http_status = 401, .latency_ms = 40 };
    snprintf(s.probes[FEED_TRADERMADE].error, sizeof s.probes[0].error, "HTTP 401");
    snprintf(s.probes[FEED_PUMPFUN].error, sizeof s.probes[0].error, "not configured");
    s.market.crypto_valid = 1;
    s.market.pairs = 3;
    s.market.crypto_volatility = 29.59666666;
    s.market.crypto_h1 = 980.42;
    s.market.volume_m5_usd = 23505.26;
    s.market.txns_m5 = 7990;
    s.market.new_pairs_1h = 2;
    s.market.forex_valid = 0;
    s.market.forex_move_bp = -1;
    s.market.volatility = 29.59666666;
    s.load1 = 1.5;
    s.ncpu = 2;
    s.load_per_core = 0.75;
    s.history.decisions_24h = 10;
    s.history.acted_24h = 8;
    s.history.succeeded_24h = 6;
    s.history.nrecent = 2;
    s.history.recent[0] = (struct sense_recent){ .id = 11, .mode = "crypto", .status = "succeeded" };
    s.history.recent[1] = (struct sense_recent){ .id = 10, .mode = "standby", .status = "no_action" };
    snprintf(s.history.last_mode, sizeof s.history.last_mode, "crypto");

    json_object *j = sense_to_json(&s);
    assert_non_null(j);
    json_object *r = json_tokener_parse(json_object_to_json_string(j));
    json_object_put(j);
    assert_non_null(r);

    assert_string_equal(json_object_get_string(get(r, "sensed_at")), "2026-02-11T14:00:00Z");
    assert_true(json_object_get_boolean(get(r, "sessions.market_open")));
    assert_string_equal(json_object_get_string(get(r, "sessions.label")), "tokyo_london");
    json_object *open = get(r, "sessions.open");
    assert_int_equal(json_object_array_length(open), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(open, 0)), "tokyo");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(open, 1)), "london");

    assert_true(json_object_get_boolean(get(r, "sources.dexscreener.ok")));
    assert_int_equal(json_object_get_int(get(r, "sources.dexscreener.latency_ms")), 82);
    assert_int_equal(json_object_get_int(get(r, "sources.dexscreener.http_status")), 200);
    assert_null(get(r, "sources.dexscreener.error"));
    assert_false(json_object_get_boolean(get(r, "sources.tradermade.ok")));
    assert_string_equal(json_object_get_string(get(r, "sources.tradermade.error")), "HTTP 401");
    assert_false(json_object_get_boolean(get(r, "sources.pumpfun.configured")));
    assert_null(get(r, "sources.pumpfun.ok"));
    assert_null(get(r, "sources.birdeye.probed_at"));
    assert_string_equal(json_object_get_string(get(r, "sources.dexscreener.probed_at")), "2026-02-11T14:00:00Z");

    assert_true(json_object_get_boolean(get(r, "market.crypto.valid")));
    assert_int_equal(json_object_get_int(get(r, "market.crypto.pairs")), 3);
    assert_float_equal(json_object_get_double(get(r, "market.crypto.volatility_m5_pct")), 29.5967, 1e-9);
    assert_int_equal(json_object_get_int64(get(r, "market.crypto.txns_m5")), 7990);
    assert_int_equal(json_object_get_int(get(r, "market.crypto.new_pairs_1h")), 2);
    assert_false(json_object_get_boolean(get(r, "market.forex.valid")));
    assert_null(get(r, "market.forex.move_bp"));
    assert_float_equal(json_object_get_double(get(r, "market.volatility")), 29.5967, 1e-9);

    assert_float_equal(json_object_get_double(get(r, "system.load1")), 1.5, 1e-9);
    assert_int_equal(json_object_get_int(get(r, "system.cpus")), 2);
    assert_float_equal(json_object_get_double(get(r, "system.load_per_core")), 0.75, 1e-9);

    assert_int_equal(json_object_get_int(get(r, "history.decisions_24h")), 10);
    assert_float_equal(json_object_get_double(get(r, "history.success_rate_24h")), 0.75, 1e-9);
    assert_string_equal(json_object_get_string(get(r, "history.last_mode")), "crypto");
    json_object *rec = get(r, "history.recent");
    assert_int_equal(json_object_array_length(rec), 2);
    assert_int_equal(json_object_get_int64(get(json_object_array_get_idx(rec, 0), "id")), 11);
    assert_string_equal(json_object_get_string(get(json_object_array_get_idx(rec, 1), "status")), "no_action");
    json_object_put(r);

    /* nothing known: nulls, not zeros that look like data */
    memset(&s, 0, sizeof s);
    s.load1 = -1;
    s.ncpu = 1;
    j = sense_to_json(&s);
    assert_null(get(j, "market.crypto.volatility_m5_pct"));
    assert_null(get(j, "market.crypto.txns_m5"));
    assert_null(get(j, "system.load1"));
    assert_null(get(j, "history.success_rate_24h"));
    assert_null(get(j, "history.last_mode"));
    assert_string_equal(json_object_get_string(get(j, "sessions.label")), "closed");
    assert_false(json_object_get_boolean(get(j, "sessions.market_open")));
    json_object_put(j);
}

/* ---- text from outside stays valid UTF-8 ------------------------------------------ */

static void test_utf8(void **state)
{
    (void)state;
    char s[64];
    unsigned cp;
    snprintf(s, sizeof s, "plain \xc3\xa9 \xe2\x80\x99 \xf0\x9f\x9a\x80");
    assert_int_equal(utf8_clean(s), 0);
    assert_int_equal(utf8_decode("\xf0\x9f\x9a\x80", &cp), 4);
    assert_int_equal(cp, 0x1F680);
    /* overlong, surrogate, above U+10FFFF, lone continuation, truncated */
    const char *bad[] = { "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe2\x80", "\xff" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(s, sizeof s, "a%sb", bad[i]);
        size_t n = strlen(s);
        assert_true(utf8_clean(s) >= 1);
        assert_int_equal(strlen(s), n);                 /* same length: '?' per bad byte */
        assert_int_equal(utf8_clean(s), 0);
        assert_int_equal(s[0], 'a');
        assert_int_equal(s[n - 1], 'b');
    }
    /* cutting: never inside a character */
    const char *t = "ab\xe2\x80\x99" "cd";
    assert_int_equal(utf8_cut(t, strlen(t), 10), strlen(t));
    assert_int_equal(utf8_cut(t, strlen(t), 2), 2);
    assert_int_equal(utf8_cut(t, strlen(t), 3), 2);
    assert_int_equal(utf8_cut(t, strlen(t), 4), 2);
    assert_int_equal(utf8_cut(t, strlen(t), 5), 5);
    char small[5];
    sense_copy_text(small, sizeof small, t);            /* 4 bytes of room */
    assert_string_equal(small, "ab");
    sense_copy_text(s, sizeof s, "x\xff" "y");
    assert_string_equal(s, "x?y");
}

/* ---- numbers and bytes from outside are checked where they enter (issue 10) ------- */

/* Nonzero when the snapshot's JSON holds no Infinity / NaN and is valid UTF-8. */
static int json_is_sane(json_object *j)
{
    const char *t = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    return t && !strstr(t, "Infinity") && !strstr(t, "NaN") && !strstr(t, "nan") && !strstr(t, "inf") &&
           utf8_valid(t, strlen(t));
}

static void test_dexscreener_huge_numbers(void **state)
{
    (void)state;
    struct sense_market m;
    char err[160];
    /* every pair's m5 is 1e305: the answer is nonsense, refused whole */
    const char *all =
        "{\"pairs\":["
        " {\"priceChange\":{\"m5\":1e305,\"h1\":1},\"volume\":{\"m5\":10}},"
        " {\"priceChange\":{\"m5\":\"1e305\",\"h1\":2}},"
        " {\"priceChange\":{\"m5\":-1e400}}]}";
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_dexscreener(all, 1770818400, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "priceChange.m5 refused in 3 of 3 pairs"));
    assert_int_equal(m.crypto_valid, 0);
    assert_true(utf8_valid(err, strlen(err)));
    /* wrong types everywhere: as much nonsense */
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_dexscreener("{\"pairs\":[{\"priceChange\":{\"m5\":true}},"
                                             "{\"priceChange\":{\"m5\":\"n/a\"}},{\"priceChange\":{\"m5\":[1]}}]}",
                                             1770818400, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "priceChange.m5 refused in 3 of 3 pairs (not a number"));
    /* one odd pair among sane ones: its numbers are refused, the rest used */
    const char *one =
        "{\"pairs\":["
        " {\"priceChange\":{\"m5\":2,\"h1\":4},\"volume\":{\"m5\":100},\"txns\":{\"m5\":{\"buys\":3,\"sells\":4}}},"
        " {\"priceChange\":{\"m5\":4,\"h1\":-6},\"volume\":{\"m5\":50},\"txns\":{\"m5\":{\"buys\":1,\"sells\":2}}},"
        " {\"priceChange\":{\"m5\":1e305,\"h1\":1e300},\"volume\":{\"m5\":1e305},"
        "  \"txns\":{\"m5\":{\"buys\":1e19,\"sells\":9.3e18}},\"pairCreatedAt\":1e300}]}";
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_dexscreener(one, 1770818400, &m, err, sizeof err), 0);
    assert_int_equal(m.pairs, 3);
    assert_float_equal(m.crypto_volatility, 3, 1e-12);
    assert_float_equal(m.crypto_h1, 5, 1e-12);
    assert_float_equal(m.volume_m5_usd, 150, 1e-9);
    assert_int_equal(m.txns_m5, 10);                    /* 1e19 never cast to long */
    assert_int_equal(m.refused_values, 6);
    assert_non_null(strstr(m.refused_why, "priceChange.m5"));
    /* the snapshot's JSON (the decision's inputs) stays finite */
    struct sense_snapshot snap;
    memset(&snap, 0, sizeof snap);
    snap.now = 1770818400;
    snap.market = m;
    snap.market.volatility = 1e308;
    snap.load1 = 1e308;
    json_object *j = sense_to_json(&snap);
    assert_true(json_is_sane(j));
    json_object_put(j);
    /* at most SENSE_COUNT_MAX per count: many large counts never overflow */
    char big[16384];
    size_t len = (size_t)snprintf(big, sizeof big, "{\"pairs\":[");
    for (int i = 0; i < 150; i++)
        len += (size_t)snprintf(big + len, sizeof big - len, "%s{\"txns\":{\"m5\":{\"buys\":1e9,\"sells\":\"1e9\"}}}",
                                i ? "," : "");
    snprintf(big + len, sizeof big - len, "]}");
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_dexscreener(big, 1770818400, &m, err, sizeof err), 0);
    assert_int_equal(m.txns_m5, 300000000000L);
}

static void test_tradermade_refuses_nonsense(void **state)
{
    (void)state;
    /* a currency that is not UTF-8 never reaches a pair name */
    expect_tm_error("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"EU\xc5\",\"quote_currency\":\"USD\"}],"
                    "\"timestamp\":1770818400}", "no usable quote: a currency that is not three letters A-Z");
    expect_tm_error("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"eur\",\"quote_currency\":\"USD\"},"
                    "{\"mid\":1.1,\"base_currency\":\"EUR\",\"quote_currency\":\"U\\u0000D\"}],"
                    "\"timestamp\":1770818400}", "no usable quote");
    expect_tm_error("{\"quotes\":[{\"mid\":1e305,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}],"
                    "\"timestamp\":1770818400}", "mid refused");
    expect_tm_error("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}],"
                    "\"timestamp\":1e300}", "timestamp refused");
    expect_tm_error("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}],"
                    "\"timestamp\":-5}", "timestamp refused");
    expect_tm_error("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}],"
                    "\"timestamp\":1870818400}", "timestamp refused");
    /* a good quote beside a bad one is kept */
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_tradermade("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"EU\xc5\",\"quote_currency\":\"USD\"},"
                                            "{\"mid\":1.27,\"base_currency\":\"GBP\",\"quote_currency\":\"USD\"}],"
                                            "\"timestamp\":1770818400}", 1770818400, NULL, &m, err, sizeof err), 0);
    assert_int_equal(m.nquotes, 1);
    assert_string_equal(m.quotes[0].pair, "GBPUSD");
}

static void test_pumpfun_and_birdeye(void **state)
{
    (void)state;
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_pumpfun("[{\"mint\":\"a\",\"usd_market_cap\":5000,\"created_timestamp\":1770818400000},"
                                         "{\"mint\":\"b\"},{\"name\":\"no mint\"},7]", &m, err, sizeof err), 0);
    assert_int_equal(m.pumpfun_coins, 2);
    assert_int_equal(sense_parse_pumpfun("{\"mint\":\"a\",\"usd_market_cap\":\"12.5\"}", &m, err, sizeof err), 0);
    assert_int_equal(m.pumpfun_coins, 1);
    assert_int_equal(sense_parse_pumpfun("[{\"mint\":\"a\",\"usd_market_cap\":1e305}]", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "refused"));
    assert_int_equal(sense_parse_pumpfun("[{\"mint\":7},{\"name\":\"x\"}]", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "no coin with a mint"));
    assert_int_equal(sense_parse_pumpfun("[]", &m, err, sizeof err), 0);
    assert_int_equal(sense_parse_pumpfun("\"x\"", &m, err, sizeof err), -1);
    assert_int_equal(sense_parse_pumpfun("<html>blocked</html>", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed"));

    assert_int_equal(sense_parse_birdeye("{\"success\":true,\"data\":{\"value\":142.35,\"updateUnixTime\":1}}",
                                         &m, err, sizeof err), 0);
    assert_float_equal(m.sol_usd, 142.35, 1e-12);
    assert_int_equal(sense_parse_birdeye("{\"success\":true,\"data\":{\"value\":1e305}}", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "data.value refused"));
    assert_int_equal(sense_parse_birdeye("{\"success\":true,\"data\":{\"value\":\"n/a\"}}", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a number"));
    assert_int_equal(sense_parse_birdeye("{\"success\":true,\"data\":{\"value\":NaN}}", &m, err, sizeof err), -1);
    assert_int_equal(sense_parse_birdeye("{\"success\":true,\"data\":{}}", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "no data.value"));
    assert_int_equal(sense_parse_birdeye("{\"success\":false,\"message\":\"Unauthorized \xff\"}", &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "Unauthorized ?"));
    assert_true(utf8_valid(err, strlen(err)));
    /* deep nesting is refused, not recursed into */
    char deep[4096];
    size_t k = 0;
    for (; k < 1000; k++)
        deep[k] = '[';
    deep[k] = '\0';
    assert_int_equal(sense_parse_birdeye(deep, &m, err, sizeof err), -1);
    assert_int_equal(sense_parse_pumpfun(deep, &m, err, sizeof err), -1);
    assert_int_equal(sense_parse_dexscreener(deep, 1770818400, &m, err, sizeof err), -1);
}

static void test_token_profiles(void **state)
{
    (void)state;
    char dir[1024], path[1200];
    shared_data(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fixtures/dexscreener_token_profiles_2025-03-17.json", dir);
    char *body = read_all(path);
    if (!body)
        fail_msg("cannot read %s (set SHARED_DATA)", path);
    struct sense_market m;
    memset(&m, 0, sizeof m);
    char err[160];
    assert_int_equal(sense_parse_profiles(body, &m, err, sizeof err), 0);
    assert_int_equal(m.nprofiles, SENSE_MAX_PROFILES);
    /* the first recorded profile, as DexScreener sent it */
    assert_string_equal(m.profiles[0].chain, "solana");
    assert_string_equal(m.profiles[0].description, "Dough's gf. If you dont believe. Ask him.");
    assert_string_equal(m.profiles[0].link, "https://dougionsol.fun/");
    for (int i = 0; i < m.nprofiles; i++) {
        char copy[sizeof m.profiles[i].description];
        snprintf(copy, sizeof copy, "%s", m.profiles[i].description);
        assert_int_equal(utf8_clean(copy), 0);
        assert_true(strlen(m.profiles[i].description) < sizeof m.profiles[i].description);
    }
    free(body);
    /* not a list, no text, bad bytes */
    assert_int_equal(sense_parse_profiles("{\"pairs\":[]}", &m, err, sizeof err), -1);
    assert_int_equal(m.nprofiles, 0);
    assert_int_equal(sense_parse_profiles("[{\"chainId\":\"bsc\"},{\"chainId\":7,\"description\":\"d\\u00e9 \xff\"}]",
                                          &m, err, sizeof err), 0);
    assert_int_equal(m.nprofiles, 1);
    assert_string_equal(m.profiles[0].chain, "");
    assert_string_equal(m.profiles[0].description, "d\xc3\xa9 ?");
    assert_int_equal(sense_parse_profiles("[", &m, err, sizeof err), -1);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_urlencode),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_token_profiles),
        cmocka_unit_test(test_dexscreener_huge_numbers),
        cmocka_unit_test(test_tradermade_refuses_nonsense),
        cmocka_unit_test(test_pumpfun_and_birdeye),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
