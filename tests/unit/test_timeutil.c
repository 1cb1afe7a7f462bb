/* Unit tests for shared/timeutil.c: days from civil dates and back, UTC
 * seconds, ISO-8601 parsing (Z, offsets, fractions, the flags) and
 * formatting, checked against the C library's gmtime_r where both apply,
 * and the monotonic clock. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

static long long ms_of(const char *s, int flags)
{
    long long ms = -123;
    if (tu_parse_iso8601(s, flags, &ms) != 0)
        fail_msg("\"%s\" (flags %d) refused", s, flags);
    return ms;
}

static void refused(const char *s, int flags)
{
    long long ms = -123;
    if (tu_parse_iso8601(s, flags, &ms) == 0)
        fail_msg("\"%s\" (flags %d) parsed as %lld", s, flags, ms);
    assert_true(ms == -123);                  /* untouched */
}

static void test_days_known_dates(void **state)
{
    (void)state;
    assert_true(tu_days_from_civil(1970, 1, 1) == 0);
    assert_true(tu_days_from_civil(1969, 12, 31) == -1);
    assert_true(tu_days_from_civil(2000, 3, 1) == 11017);
    assert_true(tu_days_from_civil(2024, 2, 29) == 19782);
    assert_true(tu_days_from_civil(1600, 1, 1) == -135140);
    assert_true(tu_utc(2025, 1, 1, 0, 0, 0) == 1735689600LL);
    assert_true(tu_utc(2038, 1, 19, 3, 14, 8) == 2147483648LL);     /* past 32 bits */
    /* fields past their range count on, as timegm does */
    assert_true(tu_utc(2025, 4, 31, 0, 0, 0) == tu_utc(2025, 5, 1, 0, 0, 0));
    assert_true(tu_utc(2024, 12, 31, 24, 0, 0) == tu_utc(2025, 1, 1, 0, 0, 0));
}

/* Every day from 1600 to 2400 goes to a day number and back, one after
 * the other, and agrees with gmtime_r. */
static void test_days_round_trip(void **state)
{
    (void)state;
    long long first = tu_days_from_civil(1600, 1, 1), last = tu_days_from_civil(2400, 12, 31);
    long long py = 1599;
    int pm = 12, pd = 31;
    for (long long z = first; z <= last; z++) {
        long long y;
        int m, d;
        tu_civil_from_days(z, &y, &m, &d);
        if (tu_days_from_civil(y, m, d) != z || !tu_day_ok(y, m, d))
            fail_msg("day %lld -> %lld-%d-%d does not come back", z, y, m, d);
        long long ny = py;
        int nm = pm, nd = pd + 1;                 /* the day after the previous one */
        if (!tu_day_ok(ny, nm, nd)) {
            nd = 1;
            if (++nm > 12)
                nm = 1, ny++;
        }
        if (y != ny || m != nm || d != nd)
            fail_msg("day %lld: %lld-%d-%d does not follow %lld-%d-%d", z, y, m, d, py, pm, pd);
        py = y, pm = m, pd = d;
        if (z % 37 == 0) {
            time_t t = (time_t)(z * 86400);
            struct tm tm;
            assert_non_null(gmtime_r(&t, &tm));
            assert_true(tm.tm_year + 1900 == y && tm.tm_mon + 1 == m && tm.tm_mday == d);
        }
    }
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_true(tu_leap(2024) && tu_leap(2000) && tu_leap(1600) && tu_leap(0));
    assert_false(tu_leap(2023) || tu_leap(1900) || tu_leap(2100) || tu_leap(2200));
    assert_true(tu_day_ok(2024, 2, 29) && tu_day_ok(2000, 2, 29));
    assert_false(tu_day_ok(2023, 2, 29) || tu_day_ok(1900, 2, 29) || tu_day_ok(2100, 2, 29));
    assert_false(tu_day_ok(2025, 4, 31) || tu_day_ok(2025, 13, 1) || tu_day_ok(2025, 0, 1) || tu_day_ok(2025, 1, 0));
    assert_true(tu_day_ok(2025, 12, 31) && tu_day_ok(2025, 1, 31));
    assert_true(tu_days_from_civil(2024, 3, 1) - tu_days_from_civil(2024, 2, 28) == 2);
    assert_true(tu_days_from_civil(2023, 3, 1) - tu_days_from_civil(2023, 2, 28) == 1);
    assert_true(tu_days_from_civil(2001, 1, 1) - tu_days_from_civil(2000, 1, 1) == 366);
    assert_true(tu_days_from_civil(1901, 1, 1) - tu_days_from_civil(1900, 1, 1) == 365);
}

static void test_parse_full_form(void **state)
{
    (void)state;
    assert_true(ms_of("2025-03-17T09:00:00Z", 0) == 1742202000000LL);
    assert_true(ms_of("2025-03-17T09:00:00.123Z", 0) == 1742202000123LL);
    assert_true(ms_of("2025-03-17t09:00:00.123z", 0) == 1742202000123LL);
    assert_true(ms_of("2025-03-17 09:00:00", 0) == 1742202000000LL);          /* no offset: UTC */
    assert_true(ms_of("2025-03-17T09:00:00.5Z", 0) == 1742202000500LL);
    assert_true(ms_of("2025-03-17T09:00:00.123999Z", 0) == 1742202000123LL);  /* cut, not rounded */
    assert_true(ms_of("1970-01-01T00:00:00Z", 0) == 0);
    assert_true(ms_of("1969-12-31T23:59:59.500Z", 0) == -500);
    assert_true(ms_of("2024-02-29T00:00:00Z", 0) == 1709164800000LL);
    assert_true(ms_of("2016-12-31T23:59:60Z", 0) == 1483228800000LL);         /* a leap second */
}

static void test_parse_offsets(void **state)
{
    (void)state;
    long long want = 1742202000000LL;                                          /* 2025-03-17T09:00Z */
    assert_true(ms_of("2025-03-17T10:00:00+01:00", 0) == want);
    assert_true(ms_of("2025-03-17T10:00:00+0100", 0) == want);
    assert_true(ms_of("2025-03-17T03:30:00-05:30", 0) == want);
    assert_true(ms_of("2025-03-17T03:30:00.000-0530", 0) == want);
    assert_true(ms_of("2025-03-17T09:00:00+00:00", 0) == want);
    assert_true(ms_of("2025-03-17T09:00:00-00:00", 0) == want);
    assert_true(ms_of("2025-03-18T08:59:00+23:59", 0) == want);
    /* over midnight and the year */
    assert_true(ms_of("2024-12-31T19:00:00-05:00", 0) == 1735689600000LL);
    assert_true(ms_of("2025-01-01T01:00:00+01:00", 0) == 1735689600000LL);
    /* offsets in hours only: with TU_ISO_SHORT */
    refused("2025-03-17T10:00:00+01", 0);
    assert_true(ms_of("2025-03-17T10:00:00+01", TU_ISO_SHORT) == want);
}

static void test_parse_flags(void **state)
{
    (void)state;
    /* a date alone: TU_ISO_DATE */
    refused("2025-01-01", 0);
    assert_true(ms_of("2025-01-01", TU_ISO_DATE) == 1735689600000LL);
    assert_true(ms_of("2025-01-01Z", TU_ISO_DATE) == 1735689600000LL);
    refused("2025-01-01+01:00", TU_ISO_DATE);
    /* minutes without seconds: TU_ISO_SHORT */
    refused("2025-01-01T05:30+05:30", 0);
    assert_true(ms_of("2025-01-01T05:30+05:30", TU_ISO_SHORT) == 1735689600000LL);
    assert_true(ms_of("2025-01-01T02:00+02", TU_ISO_SHORT) == 1735689600000LL);
    assert_true(ms_of("2025-01-01T00:00", TU_ISO_SHORT) == 1735689600000LL);
    refused("2025-01-01T00:00.000Z", TU_ISO_SHORT);                   /* a fraction needs seconds */
    /* a whole second: TU_ISO_WHOLE */
    assert_true(ms_of("2025-01-01T00:00:00.000Z", TU_ISO_WHOLE) == 1735689600000LL);
    assert_true(ms_of("2025-01-01T00:00:00.000000Z", TU_ISO_WHOLE) == 1735689600000LL);
    refused("2025-01-01T00:00:00.5Z", TU_ISO_WHOLE);
    refused("2025-01-01T00:00:00.0001Z", TU_ISO_WHOLE);
}

static void test_parse_refuses_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "yesterday", "2025", "25-03-17T09:00:00Z", "2025-3-17T09:00:00Z", "2025/03/17T09:00:00Z",
        "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-01-00T00:00:00Z", "2025-04-31T00:00:00Z",
        "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-03-17T24:00:00Z", "2025-03-17T09:60:00Z",
        "2025-03-17T09:00:61Z", "2025-03-17T9:00:00Z", "2025-03-17T09:00:0Z", "2025-03-17T09:00:00.Z",
        "2025-03-17T09:00:00Zx", "2025-03-17T09:00:00 Z", "2025-03-17T09:00:00+1", "2025-03-17T09:00:00+",
        "2025-03-17T09:00:00+24:00", "2025-03-17T09:00:00+01:60", "2025-03-17T09:00:00+01:0",
        "2025-03-17T09:00:00+01:00:00", "2025-03-17x09:00:00Z", "2025-03-17T09-00-00Z", "2025-03-17T09:00:00\n",
        "-025-03-17T09:00:00Z", " 2025-03-17T09:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int flags = 0; flags < 8; flags++)
            refused(bad[i], flags);
    long long ms = 0;
    assert_int_equal(tu_parse_iso8601(NULL, 0, &ms), -1);
}

static void test_format(void **state)
{
    (void)state;
    char b[TU_ISO_LEN];
    assert_string_equal(tu_iso8601(0, b), "1970-01-01T00:00:00Z");
    assert_string_equal(tu_iso8601(1770818400, b), "2026-02-11T14:00:00Z");
    assert_string_equal(tu_iso8601(1798761599, b), "2026-12-31T23:59:59Z");
    assert_string_equal(tu_iso8601(1709164800, b), "2024-02-29T00:00:00Z");
    assert_string_equal(tu_iso8601(-1, b), "1969-12-31T23:59:59Z");
    assert_string_equal(tu_iso8601(253402300799LL, b), "9999-12-31T23:59:59Z");
    assert_string_equal(tu_iso8601(253402300800LL, b), "9999-12-31T23:59:59Z");   /* kept to 4 digits */
    assert_string_equal(tu_iso8601(-62167219201LL, b), "0000-01-01T00:00:00Z");
    assert_string_equal(tu_iso8601_ms(0, b), "1970-01-01T00:00:00.000Z");
    assert_string_equal(tu_iso8601_ms(1742202000123LL, b), "2025-03-17T09:00:00.123Z");
    assert_string_equal(tu_iso8601_ms(-1, b), "1969-12-31T23:59:59.999Z");
    assert_string_equal(tu_iso8601_ms(1999, b), "1970-01-01T00:00:01.999Z");
}

/* Formatting then parsing gives the same instant, over 1900 .. 2200, and
 * agrees with strftime over gmtime_r. */
static void test_round_trip(void **state)
{
    (void)state;
    long long lo = tu_utc(1900, 1, 1, 0, 0, 0), hi = tu_utc(2200, 1, 1, 0, 0, 0);
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        long long ms = lo * 1000 + (long long)(x % (unsigned long long)((hi - lo) * 1000));
        char b[TU_ISO_LEN], c[TU_ISO_LEN], g[TU_ISO_LEN];
        long long back = 0;
        if (tu_parse_iso8601(tu_iso8601_ms(ms, b), 0, &back) != 0 || back != ms)
            fail_msg("%lld -> %s -> %lld", ms, b, back);
        long long t = (ms - ((ms % 1000) + 1000) % 1000) / 1000;
        if (tu_parse_iso8601(tu_iso8601(t, c), 0, &back) != 0 || back != t * 1000)
            fail_msg("%lld -> %s -> %lld", t, c, back);
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        strftime(g, sizeof g, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (strcmp(c, g) != 0)
            fail_msg("%lld: %s, gmtime_r says %s", t, c, g);
    }
}

static void test_monotonic(void **state)
{
    (void)state;
    double a = tu_mono_ms();
    struct timespec d = { 0, 20 * 1000000L };
    nanosleep(&d, NULL);
    double b = tu_mono_ms();
    assert_true(a > 0);
    assert_true(b - a >= 19.0);
    assert_true(b - a < 10000.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_known_dates),
        cmocka_unit_test(test_days_round_trip),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_parse_full_form),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_flags),
        cmocka_unit_test(test_parse_refuses_bad_input),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
