/* Unit tests for the pure parts of worker/sense.c: the DexScreener and
 * TraderMade parsers (on the recorded DexScreener sample in
 * ../shared/data/fixtures and on hand-written bodies).  The load average,
 * URL encoding, the snapshot's JSON and the checks of outside input:
 * test_sense_json.c. */

#include "sense_rig.h"

/* What the sample says, computed here with json-c directly. */
struct expected {
    int pairs;
    char symbols[16][64];
    char names[16][128];
    int nsymbols;
    double vol_m5, vol_h1, volume_m5;
    long txns_m5;
    double created[16];
    int ncreated;
};

static double num(json_object *o, const char *key, int *ok)
{
    json_object *v;
    *ok = 0;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        char *end;
        const char *s = json_object_get_string(v);
        double d = strtod(s, &end);
        *ok = end != s && !*end;
        return d;
    }
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *ok = 1;
        return json_object_get_double(v);
    }
    return 0;
}

static void expected_from(const char *body, struct expected *e)
{
    memset(e, 0, sizeof *e);
    json_object *root = json_tokener_parse(body), *pairs, *o;
    assert_non_null(root);
    assert_true(json_object_object_get_ex(root, "pairs", &pairs));
    int n5 = 0, n1 = 0, ok;
    double s5 = 0, s1 = 0;
    for (size_t i = 0; i < json_object_array_length(pairs); i++) {
        json_object *p = json_object_array_get_idx(pairs, i);
        e->pairs++;
        json_object *pc = json_object_object_get_ex(p, "priceChange", &o) ? o : NULL;
        double d = num(pc, "m5", &ok);
        if (ok) { s5 += d < 0 ? -d : d; n5++; }
        d = num(pc, "h1", &ok);
        if (ok) { s1 += d < 0 ? -d : d; n1++; }
        json_object *vol = json_object_object_get_ex(p, "volume", &o) ? o : NULL;
        d = num(vol, "m5", &ok);
        if (ok) e->volume_m5 += d;
        json_object *tx = NULL;
        if (json_object_object_get_ex(p, "txns", &o))
            json_object_object_get_ex(o, "m5", &tx);
        d = num(tx, "buys", &ok);
        if (ok) e->txns_m5 += (long)d;
        d = num(tx, "sells", &ok);
        if (ok) e->txns_m5 += (long)d;
        json_object *bt, *sym, *nam;
        if (json_object_object_get_ex(p, "baseToken", &bt) && json_object_object_get_ex(bt, "symbol", &sym) &&
            e->nsymbols < 16) {
            snprintf(e->symbols[e->nsymbols], sizeof e->symbols[0], "%s", json_object_get_string(sym));
            snprintf(e->names[e->nsymbols], sizeof e->names[0], "%s",
                     json_object_object_get_ex(bt, "name", &nam) ? json_object_get_string(nam) : "");
            e->nsymbols++;
        }
        d = num(p, "pairCreatedAt", &ok);
        if (ok && e->ncreated < 16) e->created[e->ncreated++] = d / 1000.0;
    }
    e->vol_m5 = n5 ? s5 / n5 : 0;
    e->vol_h1 = n1 ? s1 / n1 : 0;
    json_object_put(root);
}

static void test_dexscreener_fixture(void **state)
{
    (void)state;
    if (!fixture_body)
        fail_msg("cannot read %s", fixture_path);
    struct expected e;
    expected_from(fixture_body, &e);
    assert_int_equal(e.pairs, 3);
    assert_int_equal(e.ncreated, 3);

    /* "now" chosen so that exactly the pairs created within the hour count */
    double oldest = e.created[0], newest = e.created[0];
    for (int i = 1; i < e.ncreated; i++) {
        if (e.created[i] < oldest) oldest = e.created[i];
        if (e.created[i] > newest) newest = e.created[i];
    }
    time_t now = (time_t)oldest + 3600 + 60;   /* the oldest is 61 minutes old */
    int want_new = 0;
    for (int i = 0; i < e.ncreated; i++)
        want_new += now - e.created[i] >= 0 && now - e.created[i] <= 3600;
    assert_true(want_new >= 1 && want_new < e.pairs);   /* the choice discriminates */

    struct sense_market m;
    memset(&m, 0, sizeof m);
    char err[160] = "";
    if (sense_parse_dexscreener(fixture_body, now, &m, err, sizeof err) != 0)
        fail_msg("fixture rejected: %s", err);
    assert_int_equal(m.crypto_valid, 1);
    assert_int_equal(m.pairs, 3);
    assert_float_equal(m.crypto_volatility, e.vol_m5, 1e-9);
    assert_float_equal(m.crypto_h1, e.vol_h1, 1e-9);
    assert_float_equal(m.volume_m5_usd, e.volume_m5, 1e-6);
    assert_int_equal(m.txns_m5, e.txns_m5);
    assert_int_equal(m.new_pairs_1h, want_new);
    /* the base tokens, in the sample's order */
    assert_int_equal(m.ntokens, e.nsymbols);
    for (int i = 0; i < m.ntokens; i++) {
        assert_string_equal(m.tokens[i].symbol, e.symbols[i]);
        assert_string_equal(m.tokens[i].name, e.names[i]);
    }
    assert_string_equal(m.tokens[0].symbol, "STONK");
    assert_string_equal(m.tokens[1].name, "Google Gemini");
    /* and the figures themselves, as recorded in the sample */
    assert_float_equal(m.crypto_volatility, (11.8 + 13.64 + 63.35) / 3, 1e-9);
    assert_int_equal(m.txns_m5, 2236 + 1842 + 2111 + 1535 + 132 + 134);
    assert_float_equal(m.volume_m5_usd, 4745.96 + 7281.14 + 11478.16, 1e-6);

    /* an hour and more later, nothing is new; at creation time, all are */
    assert_int_equal(sense_parse_dexscreener(fixture_body, (time_t)newest + 7200, &m, err, sizeof err), 0);
    assert_int_equal(m.new_pairs_1h, 0);
    assert_int_equal(sense_parse_dexscreener(fixture_body, (time_t)newest + 1, &m, err, sizeof err), 0);
    assert_int_equal(m.new_pairs_1h, 3);
    /* parsing twice into the same struct does not accumulate */
    assert_int_equal(m.pairs, 3);
    assert_int_equal(m.txns_m5, e.txns_m5);
}

static void test_dexscreener_null_and_empty_pairs(void **state)
{
    (void)state;
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    m.pairs = 99;
    m.crypto_volatility = 7;
    assert_int_equal(sense_parse_dexscreener("{\"schemaVersion\":\"1.0.0\",\"pairs\":null}", 0, &m, err, sizeof err), 0);
    assert_int_equal(m.crypto_valid, 1);
    assert_int_equal(m.pairs, 0);
    assert_float_equal(m.crypto_volatility, 0, 0);
    assert_int_equal(m.txns_m5, 0);
    assert_int_equal(sense_parse_dexscreener("  {\"pairs\":[]}\r\n\t ", 0, &m, err, sizeof err), 0);
    assert_int_equal(m.crypto_valid, 1);
    assert_int_equal(m.pairs, 0);
}

static void expect_dex_error(const char *body, const char *needle)
{
    struct sense_market m;
    char err[160] = "";
    memset(&m, 0, sizeof m);
    m.crypto_valid = 1;             /* stale values from a previous cycle */
    m.pairs = 12;
    m.crypto_volatility = 4;
    m.txns_m5 = 5;
    m.ntokens = 2;
    int rc = sense_parse_dexscreener(body, 1770818400, &m, err, sizeof err);
    if (rc != -1)
        fail_msg("accepted: %.60s", body ? body : "(null)");
    if (!strstr(err, needle))
        fail_msg("body %.60s: message \"%s\", expected \"%s\"", body ? body : "(null)", err, needle);
    assert_int_equal(m.crypto_valid, 0);
    assert_int_equal(m.pairs, 0);
    assert_float_equal(m.crypto_volatility, 0, 0);
    assert_int_equal(m.txns_m5, 0);
    assert_int_equal(m.ntokens, 0);
}

static void test_dexscreener_errors(void **state)
{
    (void)state;
    expect_dex_error("", "empty");
    expect_dex_error(NULL, "empty");
    expect_dex_error("{\"pairs\":[{\"chainId\":\"solana\"", "truncated");
    expect_dex_error("{\"pairs\":[]} trailing", "trailing");
    expect_dex_error("{\"pairs\":[]}{\"pairs\":[]}", "trailing");
    expect_dex_error("[{\"pairs\":[]}]", "not an object");
    expect_dex_error("\"pairs\"", "not an object");
    expect_dex_error("{\"pairs\":{}}", "not an array");
    expect_dex_error("{\"pairs\":\"none\"}", "not an array");
    expect_dex_error("{\"schemaVersion\":\"1.0.0\"}", "no \"pairs\"");
    expect_dex_error("<html><body>502 Bad Gateway</body></html>", "malformed");
    expect_dex_error("{\"pairs\":[1,2}", "malformed");
    expect_dex_error("{pairs:[]}", "malformed");
    /* cut anywhere, the sample never parses */
    if (fixture_body) {
        size_t n = strlen(fixture_body);
        char *cut = malloc(n + 1);
        assert_non_null(cut);
        for (size_t at = 1; at < n; at += 97) {
            memcpy(cut, fixture_body, at);
            cut[at] = '\0';
            size_t k = at;
            while (k > 0 && (cut[k - 1] == ' ' || cut[k - 1] == '\n' || cut[k - 1] == '\r' || cut[k - 1] == '\t'))
                k--;
            if (k == 0)
                continue;
            expect_dex_error(cut, "malformed");
        }
        free(cut);
    }
}

static void test_dexscreener_strings_and_gaps(void **state)
{
    (void)state;
    const char *body =
        "{\"pairs\":["
        " {\"priceUsd\":\"0.0003798\",\"priceChange\":{\"m5\":\"2.5\",\"h1\":\"-10\"},"
        "  \"volume\":{\"m5\":\"1000.5\"},\"txns\":{\"m5\":{\"buys\":\"3\",\"sells\":4}}},"
        " {\"priceChange\":{\"m5\":-1.5},\"volume\":{\"m5\":-50},\"txns\":{\"m5\":{\"buys\":-2}}},"
        " {\"priceChange\":{\"m5\":\"n/a\",\"h1\":null}},"
        " {},"
        " 7, null, \"x\","
        " {\"priceChange\":\"big\",\"volume\":[1],\"txns\":{\"m5\":5},\"pairCreatedAt\":\"soon\"}"
        "]}";
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    assert_int_equal(sense_parse_dexscreener(body, 1770818400, &m, err, sizeof err), 0);
    assert_int_equal(m.pairs, 5);                       /* objects only */
    assert_float_equal(m.crypto_volatility, (2.5 + 1.5) / 2, 1e-12);   /* mean over pairs that have m5 */
    assert_float_equal(m.crypto_h1, 10, 1e-12);
    assert_float_equal(m.volume_m5_usd, 1000.5, 1e-9); /* negative volume ignored */
    assert_int_equal(m.txns_m5, 7);
    assert_int_equal(m.new_pairs_1h, 0);
}

/* Token names are market text: kept bounded and at most SENSE_MAX_TOKENS. */
static void test_dexscreener_tokens_bounded(void **state)
{
    (void)state;
    char b[8192];
    size_t len = (size_t)snprintf(b, sizeof b, "{\"pairs\":[");
    char longsym[101];
    memset(longsym, 'S', 100);
    longsym[100] = '\0';
    for (int i = 0; i < SENSE_MAX_TOKENS + 3; i++)
        len += (size_t)snprintf(b + len, sizeof b - len,
                                "%s{\"baseToken\":{\"symbol\":\"%s\",\"name\":\"n%d\"}}", i ? "," : "",
                                i == 0 ? longsym : "T", i);
    len += (size_t)snprintf(b + len, sizeof b - len, ",{\"baseToken\":{\"symbol\":7}}]}");
    assert_true(len < sizeof b);
    struct sense_market m;
    char err[160];
    assert_int_equal(sense_parse_dexscreener(b, 0, &m, err, sizeof err), 0);
    assert_int_equal(m.pairs, SENSE_MAX_TOKENS + 4);
    assert_int_equal(m.ntokens, SENSE_MAX_TOKENS);
    assert_int_equal(strlen(m.tokens[0].symbol), sizeof m.tokens[0].symbol - 1);
    assert_string_equal(m.tokens[1].name, "n1");
}

static void test_dexscreener_many_pairs(void **state)
{
    (void)state;
    /* 250 pairs each moving 1%: counted up to the cap, the mean unchanged */
    size_t cap = 250 * 40 + 32, len = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    len += (size_t)snprintf(b + len, cap - len, "{\"pairs\":[");
    for (int i = 0; i < 250; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s{\"priceChange\":{\"m5\":-1}}", i ? "," : "");
    snprintf(b + len, cap - len, "]}");
    struct sense_market m;
    char err[160];
    assert_int_equal(sense_parse_dexscreener(b, 0, &m, err, sizeof err), 0);
    assert_int_equal(m.pairs, 200);
    assert_float_equal(m.crypto_volatility, 1.0, 1e-12);
    free(b);
}

/* ---- TraderMade -------------------------------------------------------------- */

#define TM_BODY \
    "{\"endpoint\":\"live\",\"quotes\":[" \
    "{\"ask\":1.08515,\"bid\":1.08505,\"mid\":1.0851,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}," \
    "{\"ask\":1.27015,\"bid\":1.27005,\"mid\":1.2701,\"base_currency\":\"GBP\",\"quote_currency\":\"USD\"}]," \
    "\"requested_time\":\"Wed, 11 Feb 2026 14:00:00 GMT\",\"timestamp\":1770818400}"

static void test_tradermade_valid(void **state)
{
    (void)state;
    struct sense_market m;
    char err[160] = "";
    memset(&m, 0, sizeof m);
    if (sense_parse_tradermade(TM_BODY, TM_TS + 30, NULL, &m, err, sizeof err) != 0)
        fail_msg("rejected: %s", err);
    assert_int_equal(m.forex_valid, 1);
    assert_int_equal(m.forex_stale, 0);
    assert_int_equal(m.nquotes, 2);
    assert_string_equal(m.quotes[0].pair, "EURUSD");
    assert_float_equal(m.quotes[0].mid, 1.0851, 1e-12);
    assert_string_equal(m.quotes[1].pair, "GBPUSD");
    assert_float_equal(m.quotes[1].mid, 1.2701, 1e-12);
    assert_true(m.forex_move_bp < 0);             /* nothing to compare with yet */
}

static void test_tradermade_stale(void **state)
{
    (void)state;
    struct sense_market m;
    char err[160];
    assert_int_equal(sense_parse_tradermade(TM_BODY, TM_TS + 900, NULL, &m, err, sizeof err), 0);
    assert_int_equal(m.forex_stale, 0);           /* 15 minutes: still fresh */
    assert_int_equal(sense_parse_tradermade(TM_BODY, TM_TS + 901, NULL, &m, err, sizeof err), 0);
    assert_int_equal(m.forex_stale, 1);
    assert_int_equal(m.forex_valid, 1);           /* stale quotes are still quotes */
    /* Friday's last quote read on Saturday */
    assert_int_equal(sense_parse_tradermade(TM_BODY, TM_TS + 86400, NULL, &m, err, sizeof err), 0);
    assert_int_equal(m.forex_stale, 1);
    /* a timestamp sent as a string is read as well */
    const char *s = "{\"quotes\":[{\"mid\":\"1.1\",\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}],"
                    "\"timestamp\":\"1770818400\"}";
    assert_int_equal(sense_parse_tradermade(s, TM_TS + 2000, NULL, &m, err, sizeof err), 0);
    assert_int_equal(m.forex_stale, 1);
    assert_float_equal(m.quotes[0].mid, 1.1, 1e-12);
}

static void test_tradermade_movement(void **state)
{
    (void)state;
    struct sense_memory mem;
    memset(&mem, 0, sizeof mem);
    mem.nquotes = 3;
    snprintf(mem.quotes[0].pair, sizeof mem.quotes[0].pair, "GBPUSD");
    mem.quotes[0].mid = 1.2701;                    /* unchanged */
    snprintf(mem.quotes[1].pair, sizeof mem.quotes[1].pair, "EURUSD");
    mem.quotes[1].mid = 1.0841;                    /* moved 10 pips */
    snprintf(mem.quotes[2].pair, sizeof mem.quotes[2].pair, "USDJPY");
    mem.quotes[2].mid = 150.0;                     /* not quoted now: ignored */
    struct sense_market m;
    char err[160];
    assert_int_equal(sense_parse_tradermade(TM_BODY, TM_TS, &mem, &m, err, sizeof err), 0);
    double eur = fabs(1.0851 - 1.0841) / 1.0841 * 10000.0;
    assert_float_equal(m.forex_move_bp, (eur + 0.0) / 2, 1e-9);
    assert_true(m.forex_move_bp > 4.5 && m.forex_move_bp < 4.7);

    /* memory of other pairs only: unknown */
    mem.nquotes = 1;
    snprintf(mem.quotes[0].pair, sizeof mem.quotes[0].pair, "AUDUSD");
    assert_int_equal(sense_parse_tradermade(TM_BODY, TM_TS, &mem, &m, err, sizeof err), 0);
    assert_true(m.forex_move_bp < 0);
}

static void test_tradermade_errors(void **state)
{
    (void)state;
    expect_tm_error("{\"errors\":{\"message\":\"Invalid API Key - please check your key\"}}",
                    "Invalid API Key - please check your key");
    expect_tm_error("{\"message\":\"Rate limit exceeded\"}", "Rate limit exceeded");
    expect_tm_error("{\"endpoint\":\"live\"}", "no quotes");
    expect_tm_error("{\"quotes\":{},\"timestamp\":1}", "no quotes");
    expect_tm_error("{\"quotes\":[{\"mid\":1.1,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"}]}",
                    "no timestamp");
    expect_tm_error("{\"quotes\":[],\"timestamp\":1770818400}", "no usable quote");
    expect_tm_error("{\"quotes\":[{\"mid\":0,\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"},"
                    "{\"mid\":1.2,\"base_currency\":\"EURO\",\"quote_currency\":\"USD\"},"
                    "{\"mid\":1.2,\"base_currency\":\"EUR\"},"
                    "{\"mid\":\"x\",\"base_currency\":\"EUR\",\"quote_currency\":\"USD\"},"
                    "{\"mid\":1.2,\"base_currency\":1,\"quote_currency\":\"USD\"},"
                    "17],\"timestamp\":1770818400}", "no usable quote");
    expect_tm_error("", "empty");
    expect_tm_error("{\"quotes\":[", "truncated");
    expect_tm_error(TM_BODY "x", "trailing");
    expect_tm_error("[]", "no quotes");
    /* a very long provider message is cut, the buffer never overflows */
    char longmsg[600];
    int n = snprintf(longmsg, sizeof longmsg, "{\"errors\":{\"message\":\"");
    memset(longmsg + n, 'E', 400);
    snprintf(longmsg + n + 400, sizeof longmsg - (size_t)n - 400, "\"}}");
    expect_tm_error(longmsg, "EEEE");
}

static void test_tradermade_quote_cap(void **state)
{
    (void)state;
    char b[4096];
    size_t len = (size_t)snprintf(b, sizeof b, "{\"quotes\":[");
    static const char *const cur[] = { "AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ" };
    for (int i = 0; i < 10; i++)
        len += (size_t)snprintf(b + len, sizeof b - len,
                                "%s{\"mid\":%d.5,\"base_currency\":\"%s\",\"quote_currency\":\"USD\"}",
                                i ? "," : "", i + 1, cur[i]);
    snprintf(b + len, sizeof b - len, "],\"timestamp\":%ld}", TM_TS);
    struct sense_market m;
    char err[160];
    assert_int_equal(sense_parse_tradermade(b, TM_TS, NULL, &m, err, sizeof err), 0);
    assert_int_equal(m.nquotes, SENSE_MAX_QUOTES);
    assert_string_equal(m.quotes[SENSE_MAX_QUOTES - 1].pair, "HHHUSD");
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dexscreener_fixture),
        cmocka_unit_test(test_dexscreener_null_and_empty_pairs),
        cmocka_unit_test(test_dexscreener_errors),
        cmocka_unit_test(test_dexscreener_strings_and_gaps),
        cmocka_unit_test(test_dexscreener_tokens_bounded),
        cmocka_unit_test(test_dexscreener_many_pairs),
        cmocka_unit_test(test_tradermade_valid),
        cmocka_unit_test(test_tradermade_stale),
        cmocka_unit_test(test_tradermade_movement),
        cmocka_unit_test(test_tradermade_errors),
        cmocka_unit_test(test_tradermade_quote_cap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
