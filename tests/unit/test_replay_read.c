/* Unit tests for worker/replay_read.c: every bar file format the replay
 * reads (HistData, CSV with a timestamp or open_time header in any column
 * order, headerless Binance klines and ccxt rows), every time form (ISO
 * with Z, an offset or none; epoch seconds, milliseconds, microseconds),
 * the instrument from a column, the file name or --instrument, the market,
 * and every kind of bad line, refused with the file, the line and why. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "log.h"
#include "replay_read.h"

static time_t iso(const char *s)
{
    time_t t = 0;
    if (replay_parse_iso(s, &t) != 0)
        fail_msg("not an ISO time: %s", s);
    return t;
}

/* Parse text as file name with opt; fails the test unless it reads. */
static void parse_ok(const char *name, const char *text, const struct replay_read_opts *opt, struct replay_series *s)
{
    char err[256];
    if (replay_parse_text_opt(name, text, opt, s, err, sizeof err) != 0)
        fail_msg("%s refused: %s", name, err);
}

/* Parse text as file name; it must be refused with exactly want. */
static void parse_bad(const char *name, const char *text, const char *want)
{
    struct replay_series s;
    char err[256] = "";
    int rc = replay_parse_text_opt(name, text, NULL, &s, err, sizeof err);
    if (rc == 0) {
        replay_series_free(&s);
        fail_msg("%s: read, expected \"%s\"", name, want);
    }
    if (strcmp(err, want) != 0)
        fail_msg("%s: got \"%s\", expected \"%s\"", name, err, want);
    assert_null(s.t);                      /* nothing left to free */
}

static void test_iso_times(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(iso("2025-01-01"), 1735689600);
    assert_int_equal(iso("2025-01-01T00:00Z"), 1735689600);
    assert_int_equal(iso("2025-01-01 00:00:00"), 1735689600);
    assert_int_equal(iso("2025-01-01T00:00:00Z"), 1735689600);
    assert_int_equal(iso("2025-01-01T00:00:00.000Z"), 1735689600);
    assert_int_equal(iso("2025-01-01T00:00:00+00:00"), 1735689600);
    assert_int_equal(iso("2025-01-01 01:00:00+01:00"), 1735689600);
    assert_int_equal(iso("2024-12-31T19:00:00-05:00"), 1735689600);
    assert_int_equal(iso("2024-12-31T19:00:00-0500"), 1735689600);
    assert_int_equal(iso("2025-01-01T05:30+05:30"), 1735689600);
    assert_int_equal(iso("2025-01-01T02:00+02"), 1735689600);
    assert_int_equal(iso("2024-02-29"), 1709164800);                       /* a leap day */
    static const char *const bad[] = {
        "2025-13-01", "2025-02-29", "2023-02-29", "2025-04-31", "2025-01-00", "2025-01-01T8:00", "2025-01-01x",
        "2025-01-01T24:00", "2025-01-01T10:60", "2025-01-01T10:00+24:00", "2025-01-01T10:00+01:60",
        "2025-01-01T10:00:00.5Z", "2025-01-01T10:00 Z", "2025-01-01T10:00+", "25-01-01", "", "2025/01/01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (replay_parse_iso(bad[i], &t) == 0)
            fail_msg("\"%s\" parsed as a time", bad[i]);
}

/* A Binance kline dump saved with its header: open_time first in ms, the
 * other columns in another order, extra columns, the symbol in a column. */
static void test_open_time_header(void **state)
{
    (void)state;
    static const char text[] =
        "open_time,close_time,symbol,low,high,open,close,volume,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n"
        "1735689600000,1735689659999,BTCUSDT,93537.5,93610.93,93576.0,93610.93,8.2,769000.1,1517,4.1,384000.2,0\n"
        "1735689660000,1735689719999,BTCUSDT,93606.2,93652.0,93610.93,93652.0,12.1,1136000.4,2201,6.0,561000.0,0\n";
    struct replay_series s;
    parse_ok("dump.csv", text, NULL, &s);
    assert_string_equal(s.name, "BTCUSDT");               /* from the column, not the file name */
    assert_int_equal(s.market, LEARN_CRYPTO);
    assert_int_equal(s.format, REPLAY_CSV);
    assert_string_equal(replay_format_name(s.format), "csv");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.t[0], iso("2025-01-01T00:00Z"));
    assert_int_equal(s.t[1], iso("2025-01-01T00:01Z"));
    assert_true(s.o[0] == 93576.0 && s.h[0] == 93610.93 && s.l[0] == 93537.5 && s.c[0] == 93610.93);
    assert_true(s.c[1] == 93652.0);
    replay_series_free(&s);
}

/* The same bars with every time form, in a "timestamp" column, quoted
 * fields, CRLF line ends and a byte order mark: the same series. */
static void test_time_forms(void **state)
{
    (void)state;
    static const char *const forms[][2] = {
        { "2025-01-01 00:00:00", "2025-01-01 00:01:00" },            /* ccxt / pandas: UTC */
        { "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z" },
        { "2025-01-01T00:00:00+00:00", "2025-01-01 00:01:00+00:00" },
        { "2025-01-01T01:00:00+01:00", "2024-12-31T19:01:00-05:00" }, /* offsets */
        { "2025-01-01T00:00:00.000Z", "2025-01-01T00:01Z" },
        { "1735689600", "1735689660" },                              /* epoch seconds */
        { "1735689600000", "1735689660000" },                        /* milliseconds */
        { "1735689600000000", "1735689660000000" },                  /* microseconds (Binance spot since 2025) */
    };
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        char text[512];
        snprintf(text, sizeof text,
                 "\xef\xbb\xbf\"timestamp\",\"open\",\"high\",\"low\",\"close\",\"volume\"\r\n"
                 "\"%s\",1.0,1.2,0.9,1.1,5\r\n\r\n%s,1.1,1.3,1.0,1.2,6\r\n", forms[f][0], forms[f][1]);
        struct replay_series s;
        parse_ok("binance_ETHUSDT_1m.csv", text, NULL, &s);
        assert_string_equal(s.name, "ETHUSDT");
        assert_int_equal(s.n, 2);
        if (s.t[0] != iso("2025-01-01") || s.t[1] != iso("2025-01-01T00:01Z"))
            fail_msg("form %zu (%s): %lld %lld", f, forms[f][0], (long long)s.t[0], (long long)s.t[1]);
        assert_true(s.c[1] == 1.2);
        replay_series_free(&s);
    }
}

/* Headerless Binance kline dumps (12 columns, ms or us) and ccxt rows (6). */
static void test_klines(void **state)
{
    (void)state;
    static const char klines[] =
        "1735689660000,93610.93,93652.0,93606.2,93652.0,12.1,1735689719999,1136000.4,2201,6.0,561000.0,0\n"
        "1735689600000,93576.0,93610.93,93537.5,93610.93,8.2,1735689659999,769000.1,1517,4.1,384000.2,0\n";
    struct replay_series s;
    parse_ok("/data/BTCUSDT-1m-2025-01.csv", klines, NULL, &s);
    assert_string_equal(s.name, "BTCUSDT");               /* the file name up to '-' */
    assert_int_equal(s.format, REPLAY_KLINES);
    assert_int_equal(s.market, LEARN_CRYPTO);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.t[0], iso("2025-01-01T00:00Z"));  /* sorted */
    assert_true(s.o[0] == 93576.0 && s.o[1] == 93610.93);
    replay_series_free(&s);
    static const char us[] = "1735689600000000,1,2,0.5,1.5,3,1735689659999999,0,0,0,0,0\n";
    parse_ok("SOLUSDT-1m-2025-01-01.csv", us, NULL, &s);
    assert_string_equal(s.name, "SOLUSDT");
    assert_int_equal(s.t[0], iso("2025-01-01"));
    replay_series_free(&s);
    static const char ccxt[] = "1735689600000,1,2,0.5,1.5,3\n1735689660000,1.5,2,1,1.2,3\n";
    parse_ok("ohlcv.csv", ccxt, NULL, &s);
    assert_string_equal(s.name, "ohlcv");
    assert_int_equal(s.n, 2);
    replay_series_free(&s);
}

/* The instrument: --instrument over the column over the file name; the
 * market: the option, else forex for a pair of fiat currencies. */
static void test_instrument_and_market(void **state)
{
    (void)state;
    static const char fx[] = "timestamp,pair,open,high,low,close\n2019-01-02T08:00:00Z,EUR/USD,1.1,1.2,1.0,1.1\n";
    struct replay_series s;
    parse_ok("quotes.csv", fx, NULL, &s);
    assert_string_equal(s.name, "EUR/USD");
    assert_int_equal(s.market, LEARN_FOREX);
    replay_series_free(&s);
    static const char plain[] = "timestamp,open,high,low,close\n2019-01-02T08:00:00Z,1.1,1.2,1.0,1.1\n";
    parse_ok("/x/GBPJPY.csv.gz", plain, NULL, &s);
    assert_string_equal(s.name, "GBPJPY");
    assert_int_equal(s.market, LEARN_FOREX);
    replay_series_free(&s);
    parse_ok("/x/export.csv", plain, NULL, &s);
    assert_string_equal(s.name, "export");
    assert_int_equal(s.market, LEARN_CRYPTO);
    replay_series_free(&s);
    struct replay_read_opts o = { "XAUUSD", -1 };
    parse_ok("/x/export.csv", plain, &o, &s);
    assert_string_equal(s.name, "XAUUSD");
    assert_int_equal(s.market, LEARN_FOREX);
    replay_series_free(&s);
    o = (struct replay_read_opts){ "EURUSD", LEARN_CRYPTO };   /* the option wins */
    parse_ok("quotes.csv", fx, &o, &s);
    assert_string_equal(s.name, "EURUSD");
    assert_int_equal(s.market, LEARN_CRYPTO);
    replay_series_free(&s);
    o = (struct replay_read_opts){ "BTC USDT", -1 };
    char err[256];
    assert_int_equal(replay_parse_text_opt("a.csv", plain, &o, &s, err, sizeof err), -1);
    assert_string_equal(err, "a.csv: --instrument BTC USDT: not an instrument name (1 to 23 of A-Z a-z 0-9 / - _ .)");
}

static void test_histdata_refused(void **state)
{
    (void)state;
    parse_bad("h.csv", "20190102 100000;1.1;1.2\n", "h.csv:1: not a HistData bar (YYYYMMDD HHMMSS;open;high;low;close;volume)");
    parse_bad("h.csv", "20190102 100000;1.1;1.2;1.0;1.1;0\n20190230 100000;1.1;1.2;1.0;1.1;0\n",
              "h.csv:2: time: not a time on a whole minute (YYYYMMDD HHMMSS)");
    parse_bad("h.csv", "20190102 100030;1.1;1.2;1.0;1.1;0\n", "h.csv:1: time: not a time on a whole minute (YYYYMMDD HHMMSS)");
    parse_bad("h.csv", "20190102 100000;1.1;1.2;1.0;x;0\n", "h.csv:1: close: not a number");
    parse_bad("h.csv", "20190102 100000;1.1;1.2;1.0;1.1;\n", "h.csv:1: volume: not a number");
    parse_bad("h.csv", "20190102 100000;1.1;1.2;1.0;1.1;0\n\n20190102 100100;1.1;1.0;1.2;1.1;0\n",
              "h.csv:3: high: below low");
    parse_bad("h.csv", "20190102 100000;1.3;1.2;1.0;1.1;0\n", "h.csv:1: open: outside low .. high");
    parse_bad("h.csv", "20190102 100000;1.1;1.2;1.0;0.9;0\n", "h.csv:1: close: outside low .. high");
    parse_bad("h.csv", "20190102 100000;0;1.2;1.0;1.1;0\n", "h.csv:1: open: not a positive price");
    parse_bad("h.csv", "20190102 100000;1.1;inf;1.0;1.1;0\n", "h.csv:1: high: not a number");
    parse_bad("h.csv", "20190102 100000;1.1;1.2;1.0;1.1;0\n2019-01-02 10:01:00,1,1,1,1,0\n",
              "h.csv:2: not a HistData bar (YYYYMMDD HHMMSS;open;high;low;close;volume)");
}

static void test_csv_refused(void **state)
{
    (void)state;
    static const char head[] = "open_time,open,high,low,close,volume\n";
    char text[512];
    static const char *const cases[][2] = {
        { "1735689600000,1,2,0.5,1.5,3\nyesterday,1,2,0.5,1.5,3\n", "BTC.csv:3: open_time: not a time" },
        { "1735689630000,1,2,0.5,1.5,3\n", "BTC.csv:2: open_time: not on a whole minute" },
        { "1735689600500,1,2,0.5,1.5,3\n", "BTC.csv:2: open_time: not a time" },
        { "2150-01-01T00:00Z,1,2,0.5,1.5,3\n", "BTC.csv:2: open_time: not a time" },
        { "2025-01-01T00:00+25:00,1,2,0.5,1.5,3\n", "BTC.csv:2: open_time: not a time" },
        { "1735689600000,1,2,0.5,,3\n", "BTC.csv:2: close: not a number" },
        { "1735689600000,1,2,0.5,nan,3\n", "BTC.csv:2: close: not a number" },
        { "1735689600000,1,2,0.5,1.5x,3\n", "BTC.csv:2: close: not a number" },
        { "1735689600000,1,2,0.5,1.5\n", "BTC.csv:2: 5 fields where the header has 6" },
        { "1735689600000,1,2,0.5,1.5,3,7\n", "BTC.csv:2: 7 fields where the header has 6" },
        { "1735689600000,1,0.4,0.5,0.45,3\n", "BTC.csv:2: high: below low" },
        { "1735689600000,-1,2,0.5,1.5,3\n", "BTC.csv:2: open: not a positive price" },
        { "1735689600000,3,2,0.5,1.5,3\n", "BTC.csv:2: open: outside low .. high" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s", head, cases[i][0]);
        parse_bad("BTC.csv", text, cases[i][1]);
    }
    parse_bad("s.csv", "timestamp,symbol,open,high,low,close\n2025-01-01,BTCUSDT,1,2,0.5,1.5\n"
                       "2025-01-01T00:01Z,ETHUSDT,1,2,0.5,1.5\n",
              "s.csv:3: symbol: ETHUSDT, but line 2 has BTCUSDT: one instrument per file");
    parse_bad("s.csv", "timestamp,instrument,open,high,low,close\n2025-01-01,<b>,1,2,0.5,1.5\n",
              "s.csv:2: instrument: not an instrument name (1 to 23 of A-Z a-z 0-9 / - _ .)");
    /* headers and shapes */
    parse_bad("b.csv", "timestamp,open,high,low,volume\n2025-01-01,1,2,0.5,3\n", "b.csv:1: no close column");
    parse_bad("b.csv", "open,high,low,close,open_time\n", "b.csv: no bars");
    parse_bad("b.csv", "timestamp,open,high,low,close,open_time\n", "b.csv:1: open_time: a second time column (column 6)");
    parse_bad("b.csv", "time,open,high,low,close\n2025-01-01,1,2,0.5,1.5\n",
              "b.csv:1: neither HistData (YYYYMMDD HHMMSS;open;high;low;close;volume), a CSV with a timestamp or open_time "
              "header, nor Binance kline rows (12 columns, open_time in ms first)");
    parse_bad("b.csv", "hello\n", "b.csv:1: neither HistData (YYYYMMDD HHMMSS;open;high;low;close;volume), a CSV with a "
                                  "timestamp or open_time header, nor Binance kline rows (12 columns, open_time in ms first)");
    parse_bad("b.csv", "", "b.csv: no bars");
    parse_bad("b.csv", "\n\r\n", "b.csv: no bars");
    parse_bad("k.csv", "1735689600000,1,2,0.5,1.5,3,1735689659999,0,0,0,0,0\n1735689660000,1,2,0.5,1.5,3,1735689719999,0,0,0,0\n",
              "k.csv:2: 11 fields where the first line has 12");
    /* the blank lines before a header count */
    parse_bad("b.csv", "\n\ntimestamp,open,high,low,close\n2025-01-01,1,2,0.5,1.5\nx,1,2,0.5,1.5\n", "b.csv:5: timestamp: not a time");
    /* a line too long, a line with too many fields */
    size_t n = 5000;
    char *big = malloc(n + 64);
    assert_non_null(big);
    snprintf(big, n + 64, "%s1735689600000,1,2,0.5,1.5,", head);
    size_t len = strlen(big);
    memset(big + len, '9', n - len);
    big[n] = '\n';
    big[n + 1] = '\0';
    parse_bad("L.csv", big, "L.csv:2: longer than 4096 bytes");
    free(big);
    parse_bad("F.csv", "timestamp,open,high,low,close\n2025-01-01,1,2,0.5,1.5,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n",
              "F.csv:2: more than 32 fields where the header has 5");
}

/* Duplicates and conflicts in a CSV, rows out of order, an empty line. */
static void test_csv_duplicates(void **state)
{
    (void)state;
    static const char text[] =
        "timestamp,open,high,low,close\n"
        "2025-01-01T00:02Z,1,2,0.5,1.5\n"
        "2025-01-01T00:00Z,1,2,0.5,1.5\n"
        "2025-01-01T00:00Z,1,2,0.5,1.5\n"          /* duplicate */
        "\n"
        "2025-01-01T00:02Z,1,2,0.5,1.6\n";         /* conflict: the first one stays */
    struct replay_series s;
    parse_ok("d.csv", text, NULL, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.conflicts, 1);
    assert_true(s.t[0] < s.t[1]);
    assert_true(s.c[1] == 1.5);
    replay_series_free(&s);
    replay_series_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_times),
        cmocka_unit_test(test_open_time_header),
        cmocka_unit_test(test_time_forms),
        cmocka_unit_test(test_klines),
        cmocka_unit_test(test_instrument_and_market),
        cmocka_unit_test(test_histdata_refused),
        cmocka_unit_test(test_csv_refused),
        cmocka_unit_test(test_csv_duplicates),
    };
    log_init("test", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
