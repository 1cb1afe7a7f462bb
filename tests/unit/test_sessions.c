/* Unit tests for shared/sessions.c: forex sessions from the tz database,
 * across the 2026 daylight-saving changes of New York, London and Sydney,
 * and the weekend closure (Friday 17:00 to Sunday 17:00 New York time). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sessions.h"

/* UTC instant of a calendar date and time, computed here without the C
 * library's time zone code (days from civil, proleptic Gregorian). */
static time_t utc(int y, int mo, int d, int h, int mi)
{
    y -= mo <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    return (time_t)days * 86400 + h * 3600 + mi * 60;
}

static struct session_state at(time_t t)
{
    struct session_state st;
    memset(&st, 0x5a, sizeof st);
    if (sessions_at(t, &st) != 0)
        fail_msg("sessions_at failed (tz database missing?)");
    return st;
}

static void fmt_utc(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

static void expect_open(time_t t, enum session_id s, int want)
{
    struct session_state st = at(t);
    if (st.open[s] != want) {
        char buf[32];
        fmt_utc(t, buf);
        fail_msg("%s at %s: open=%d, want %d", session_name(s), buf, st.open[s], want);
    }
}

/* Session s opens at the given UTC instant and closes nine hours later:
 * closed one minute (and one second) before, open at the minute, open in
 * the last minute, closed at the close. */
static void expect_hours(enum session_id s, time_t opens)
{
    time_t closes = opens + 9 * 3600;
    expect_open(opens - 60, s, 0);
    expect_open(opens - 1, s, 0);
    expect_open(opens, s, 1);
    expect_open(opens + 4 * 3600, s, 1);
    expect_open(closes - 60, s, 1);
    expect_open(closes - 1, s, 1);
    expect_open(closes, s, 0);
}

static void expect_market(time_t t, int want)
{
    struct session_state st = at(t);
    if (st.market_open != want) {
        char buf[32];
        fmt_utc(t, buf);
        fail_msg("market at %s: open=%d, want %d", buf, st.market_open, want);
    }
    if (!want) {
        assert_int_equal(st.nopen, 0);
        for (int s = 0; s < SESSION_COUNT; s++)
            assert_int_equal(st.open[s], 0);
        assert_string_equal(sessions_label(&st), "closed");
    }
}

/* ---- opening hours through the year --------------------------------------- */

static void test_winter(void **state)
{
    (void)state;
    /* Wed 2026-02-11: London GMT, New York EST, Sydney AEDT (UTC+11) */
    expect_hours(SESSION_LONDON, utc(2026, 2, 11, 8, 0));
    expect_hours(SESSION_NEWYORK, utc(2026, 2, 11, 13, 0));
    expect_hours(SESSION_TOKYO, utc(2026, 2, 11, 0, 0));
    expect_hours(SESSION_SYDNEY, utc(2026, 2, 10, 20, 0));    /* 07:00 Wed local = 20:00 Tue UTC */
}

static void test_us_dst_before_eu(void **state)
{
    (void)state;
    /* Wed 2026-03-18: New York already on EDT (since 03-08), London still GMT */
    expect_hours(SESSION_NEWYORK, utc(2026, 3, 18, 12, 0));
    expect_hours(SESSION_LONDON, utc(2026, 3, 18, 8, 0));
    expect_hours(SESSION_TOKYO, utc(2026, 3, 18, 0, 0));
    expect_hours(SESSION_SYDNEY, utc(2026, 3, 17, 20, 0));
    /* the Friday before the US change: New York still EST */
    expect_hours(SESSION_NEWYORK, utc(2026, 3, 6, 13, 0));
}

static void test_eu_dst(void **state)
{
    (void)state;
    /* Wed 2026-04-01: London on BST (since 03-29), Sydney still AEDT (until 04-05) */
    expect_hours(SESSION_LONDON, utc(2026, 4, 1, 7, 0));
    expect_hours(SESSION_NEWYORK, utc(2026, 4, 1, 12, 0));
    expect_hours(SESSION_SYDNEY, utc(2026, 3, 31, 20, 0));
    /* Fri 2026-03-27, before the EU change: London 08:00 UTC */
    expect_hours(SESSION_LONDON, utc(2026, 3, 27, 8, 0));
    /* Mon 2026-03-30, the first weekday after it: 07:00 UTC */
    expect_hours(SESSION_LONDON, utc(2026, 3, 30, 7, 0));
}

static void test_sydney_winter(void **state)
{
    (void)state;
    /* Sydney back on AEST (UTC+10) after 2026-04-05: opens 21:00 UTC */
    expect_hours(SESSION_SYDNEY, utc(2026, 4, 14, 21, 0));    /* Wed 04-15 07:00 AEST */
    expect_hours(SESSION_SYDNEY, utc(2026, 7, 14, 21, 0));
    /* northern summer: London BST, New York EDT, Tokyo unchanged */
    expect_hours(SESSION_LONDON, utc(2026, 7, 15, 7, 0));
    expect_hours(SESSION_NEWYORK, utc(2026, 7, 15, 12, 0));
    expect_hours(SESSION_TOKYO, utc(2026, 7, 15, 0, 0));
}

static void test_autumn_changes(void **state)
{
    (void)state;
    /* Sydney on AEDT again after 2026-10-04: 20:00 UTC the day before */
    expect_hours(SESSION_SYDNEY, utc(2026, 10, 6, 20, 0));    /* Wed 10-07 */
    expect_hours(SESSION_SYDNEY, utc(2026, 9, 29, 21, 0));    /* Wed 09-30, still AEST */
    expect_hours(SESSION_LONDON, utc(2026, 10, 7, 7, 0));
    /* Wed 2026-10-28: London back on GMT (10-25), New York still EDT (until 11-01) */
    expect_hours(SESSION_LONDON, utc(2026, 10, 28, 8, 0));
    expect_hours(SESSION_NEWYORK, utc(2026, 10, 28, 12, 0));
    /* Wed 2026-11-04: New York on EST */
    expect_hours(SESSION_NEWYORK, utc(2026, 11, 4, 13, 0));
    expect_hours(SESSION_LONDON, utc(2026, 11, 4, 8, 0));
    expect_hours(SESSION_TOKYO, utc(2026, 11, 4, 0, 0));
}

/* Tokyo never changes: every weekday of 2026 opens at 00:00 UTC. */
static void test_tokyo_no_dst(void **state)
{
    (void)state;
    for (int doy = 0; doy < 365; doy++) {
        time_t day = utc(2026, 1, 1, 0, 0) + (time_t)doy * 86400;
        struct tm tm;
        gmtime_r(&day, &tm);
        if (tm.tm_wday == 0 || tm.tm_wday == 6)
            continue;                       /* Saturday and Sunday 09:00 JST: inside the closure */
        expect_open(day - 60, SESSION_TOKYO, 0);
        expect_open(day, SESSION_TOKYO, 1);
        expect_open(day + 9 * 3600 - 60, SESSION_TOKYO, 1);
        expect_open(day + 9 * 3600, SESSION_TOKYO, 0);
    }
}

/* ---- the weekend closure -------------------------------------------------- */

static void test_weekend_est(void **state)
{
    (void)state;
    /* Fri 2026-01-09 17:00 EST = 22:00 UTC; Sun 2026-01-11 17:00 EST = 22:00 UTC */
    expect_market(utc(2026, 1, 9, 21, 59), 1);
    expect_market(utc(2026, 1, 9, 21, 59) + 59, 1);
    expect_market(utc(2026, 1, 9, 22, 0), 0);
    expect_market(utc(2026, 1, 10, 12, 0), 0);
    expect_market(utc(2026, 1, 11, 21, 59), 0);
    expect_market(utc(2026, 1, 11, 21, 59) + 59, 0);
    expect_market(utc(2026, 1, 11, 22, 0), 1);
    /* New York's session ends with the week: open at 21:59, gone at 22:00 */
    expect_open(utc(2026, 1, 9, 21, 59), SESSION_NEWYORK, 1);
    /* at the reopening Sydney (Monday 09:00 AEDT) is already open */
    struct session_state st = at(utc(2026, 1, 11, 22, 0));
    assert_int_equal(st.open[SESSION_SYDNEY], 1);
    assert_string_equal(sessions_label(&st), "sydney");
}

static void test_weekend_edt(void **state)
{
    (void)state;
    /* Fri 2026-07-10 17:00 EDT = 21:00 UTC; Sun 2026-07-12 17:00 EDT = 21:00 UTC */
    expect_market(utc(2026, 7, 10, 20, 59), 1);
    expect_market(utc(2026, 7, 10, 21, 0), 0);
    expect_market(utc(2026, 7, 11, 3, 0), 0);
    expect_market(utc(2026, 7, 12, 20, 59), 0);
    expect_market(utc(2026, 7, 12, 21, 0), 1);
    /* Sydney opens exactly then: Monday 07:00 AEST */
    struct session_state st = at(utc(2026, 7, 12, 21, 0));
    assert_int_equal(st.open[SESSION_SYDNEY], 1);
    assert_int_equal(st.nopen, 1);
    /* a Saturday's hours that would be a session on a weekday stay shut */
    expect_market(utc(2026, 7, 11, 13, 0), 0);
}

static void test_weekend_on_change_days(void **state)
{
    (void)state;
    /* Sun 2026-03-08: New York switches to EDT at 07:00 UTC; reopens 17:00 EDT = 21:00 UTC */
    expect_market(utc(2026, 3, 8, 20, 59), 0);
    expect_market(utc(2026, 3, 8, 21, 0), 1);
    /* Fri 2026-10-30 still EDT: closes 21:00 UTC; Sun 2026-11-01 EST again: reopens 22:00 UTC */
    expect_market(utc(2026, 10, 30, 20, 59), 1);
    expect_market(utc(2026, 10, 30, 21, 0), 0);
    expect_market(utc(2026, 11, 1, 21, 59), 0);
    expect_market(utc(2026, 11, 1, 22, 0), 1);
    /* Fri 2026-03-06 (EST) closes 22:00 UTC */
    expect_market(utc(2026, 3, 6, 21, 59), 1);
    expect_market(utc(2026, 3, 6, 22, 0), 0);
}

/* ---- labels ---------------------------------------------------------------- */

static void test_labels_real_times(void **state)
{
    (void)state;
    struct session_state st;
    st = at(utc(2026, 2, 11, 14, 0));          /* London 14 GMT, New York 09 EST */
    assert_int_equal(st.market_open, 1);
    assert_int_equal(st.nopen, 2);
    assert_string_equal(sessions_label(&st), "london_newyork");
    st = at(utc(2026, 7, 15, 12, 0));          /* London 13 BST, New York 08 EDT */
    assert_string_equal(sessions_label(&st), "london_newyork");
    st = at(utc(2026, 2, 11, 8, 30));          /* Tokyo 17:30 JST, London 08:30 GMT */
    assert_string_equal(sessions_label(&st), "tokyo_london");
    st = at(utc(2026, 7, 15, 7, 30));          /* London 08:30 BST, Tokyo 16:30 */
    assert_string_equal(sessions_label(&st), "tokyo_london");
    st = at(utc(2026, 2, 11, 18, 0));          /* New York only */
    assert_string_equal(sessions_label(&st), "newyork");
    st = at(utc(2026, 2, 11, 10, 0));          /* London only */
    assert_string_equal(sessions_label(&st), "london");
    st = at(utc(2026, 2, 11, 2, 0));           /* Sydney 13:00 AEDT, Tokyo 11:00 */
    assert_string_equal(sessions_label(&st), "sydney_tokyo");
    st = at(utc(2026, 7, 15, 7, 0) - 60);      /* 06:59 UTC: Tokyo only (Sydney closed 06:00) */
    assert_string_equal(sessions_label(&st), "tokyo");
    st = at(utc(2026, 2, 11, 22, 30));         /* Sydney 09:30 AEDT only */
    assert_string_equal(sessions_label(&st), "sydney");
    st = at(utc(2026, 2, 14, 12, 0));          /* Saturday */
    assert_string_equal(sessions_label(&st), "closed");
}

/* Local wall-clock times of Europe/Berlin to UTC, through the tz database:
 * CET (+1) in winter, CEST (+2) from the last Sunday of March 01:00 UTC to
 * the last Sunday of October 01:00 UTC; out may be the input array. */
static void test_utc_of_local(void **state)
{
    (void)state;
    time_t local[] = {
        utc(2019, 1, 1, 23, 0),      /* winter: 22:00 UTC */
        utc(2019, 3, 31, 1, 59),     /* the last minute of CET: 00:59 UTC */
        utc(2019, 3, 31, 3, 0),      /* the first of CEST: 01:00 UTC */
        utc(2019, 7, 31, 20, 0),     /* summer: 18:00 UTC */
        utc(2019, 10, 27, 3, 0),     /* after the change back: 02:00 UTC */
        utc(2019, 12, 31, 22, 59),   /* 21:59 UTC */
        utc(2025, 6, 1, 12, 0),      /* 10:00 UTC */
        utc(2019, 1, 2, 0, 0),       /* out of order: winter again */
    };
    time_t want[] = {
        utc(2019, 1, 1, 22, 0), utc(2019, 3, 31, 0, 59), utc(2019, 3, 31, 1, 0), utc(2019, 7, 31, 18, 0),
        utc(2019, 10, 27, 2, 0), utc(2019, 12, 31, 21, 59), utc(2025, 6, 1, 10, 0), utc(2019, 1, 1, 23, 0),
    };
    size_t n = sizeof local / sizeof local[0];
    time_t out[sizeof local / sizeof local[0]];
    assert_int_equal(sessions_utc_of_local("Europe/Berlin", local, out, n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], want[i]);
    assert_int_equal(sessions_utc_of_local("Europe/Berlin", local, local, n), 0);   /* in place */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(local[i], want[i]);
    /* TZ is left as it was */
    const char *tz = getenv("TZ");
    assert_int_equal(sessions_utc_of_local("No/Such_Zone", local, out, 1), -1);
    assert_true(getenv("TZ") == tz || (tz && getenv("TZ") && strcmp(getenv("TZ"), tz) == 0));
    struct tm tm;
    assert_int_equal(sessions_local(utc(2019, 7, 1, 12, 0), "Europe/Berlin", &tm), 0);
    assert_int_equal(tm.tm_gmtoff, 7200);
    /* the offsets cached for a week answer backwards and forwards lookups alike */
    assert_int_equal(sessions_local(utc(2019, 3, 30, 12, 0), "Europe/Berlin", &tm), 0);
    assert_int_equal(tm.tm_gmtoff, 3600);
    assert_int_equal(sessions_local(utc(2019, 3, 31, 1, 0), "Europe/Berlin", &tm), 0);
    assert_int_equal(tm.tm_gmtoff, 7200);
    assert_int_equal(sessions_local(utc(2019, 3, 31, 0, 59), "Europe/Berlin", &tm), 0);
    assert_int_equal(tm.tm_gmtoff, 3600);
    assert_int_equal(tm.tm_hour, 1);
}

static void test_labels_by_struct(void **state)
{
    (void)state;
    struct session_state st;
    memset(&st, 0, sizeof st);
    assert_string_equal(sessions_label(&st), "closed");
    st.market_open = 1;
    assert_string_equal(sessions_label(&st), "off_hours");
    st.open[SESSION_LONDON] = st.open[SESSION_NEWYORK] = st.open[SESSION_TOKYO] = 1;
    assert_string_equal(sessions_label(&st), "london_newyork");   /* the overlap wins */
    st.open[SESSION_NEWYORK] = 0;
    assert_string_equal(sessions_label(&st), "tokyo_london");
    st.market_open = 0;
    assert_string_equal(sessions_label(&st), "closed");           /* the closure wins */
}

/* Over all of 2026 in 15-minute steps: outside the weekend at least one
 * session is open (the four sessions cover the clock), nopen counts the
 * flags, and the label is one of the documented strings. */
static void test_year_invariants(void **state)
{
    (void)state;
    static const char *const labels[] = {
        "london_newyork", "tokyo_london", "newyork", "london", "sydney_tokyo", "tokyo", "sydney", "off_hours",
    };
    int closed = 0, total = 0;
    for (time_t t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0); t += 900) {
        struct session_state st = at(t);
        int n = 0;
        for (int s = 0; s < SESSION_COUNT; s++) {
            assert_true(st.open[s] == 0 || st.open[s] == 1);
            n += st.open[s];
        }
        assert_int_equal(n, st.nopen);
        total++;
        if (!st.market_open) {
            closed++;
            assert_int_equal(n, 0);
            continue;
        }
        if (n == 0) {
            char buf[32];
            fmt_utc(t, buf);
            fail_msg("market open but no session at %s", buf);
        }
        const char *l = sessions_label(&st);
        int known = 0;
        for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
            known |= strcmp(l, labels[i]) == 0;
        assert_true(known);
    }
    /* 48 closed hours a week: 2/7 of the year, give or take the edges */
    double frac = (double)closed / total;
    assert_true(frac > 0.27 && frac < 0.30);
}

/* ---- local time and offsets ------------------------------------------------ */

static void expect_local(time_t t, const char *tz, long gmtoff, int hour, int min, int mday)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    assert_int_equal(sessions_local(t, tz, &tm), 0);
    char buf[32];
    fmt_utc(t, buf);
    if (tm.tm_gmtoff != gmtoff || tm.tm_hour != hour || tm.tm_min != min || tm.tm_mday != mday)
        fail_msg("%s at %s: got day %d %02d:%02d offset %ld, want day %d %02d:%02d offset %ld", tz, buf,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, (long)tm.tm_gmtoff, mday, hour, min, gmtoff);
}

static void test_local_offsets_at_transitions(void **state)
{
    (void)state;
    /* New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC) */
    expect_local(utc(2026, 3, 8, 6, 59), "America/New_York", -5 * 3600, 1, 59, 8);
    expect_local(utc(2026, 3, 8, 7, 0), "America/New_York", -4 * 3600, 3, 0, 8);
    /* New York: 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC) */
    expect_local(utc(2026, 11, 1, 5, 59), "America/New_York", -4 * 3600, 1, 59, 1);
    expect_local(utc(2026, 11, 1, 6, 0), "America/New_York", -5 * 3600, 1, 0, 1);
    /* London: 2026-03-29 01:00 UTC -> BST; 2026-10-25 01:00 UTC -> GMT */
    expect_local(utc(2026, 3, 29, 0, 59), "Europe/London", 0, 0, 59, 29);
    expect_local(utc(2026, 3, 29, 1, 0), "Europe/London", 3600, 2, 0, 29);
    expect_local(utc(2026, 10, 25, 0, 59), "Europe/London", 3600, 1, 59, 25);
    expect_local(utc(2026, 10, 25, 1, 0), "Europe/London", 0, 1, 0, 25);
    /* Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST (04-04 16:00 UTC) */
    expect_local(utc(2026, 4, 4, 15, 59), "Australia/Sydney", 11 * 3600, 2, 59, 5);
    expect_local(utc(2026, 4, 4, 16, 0), "Australia/Sydney", 10 * 3600, 2, 0, 5);
    /* Sydney: 2026-10-04 02:00 AEST -> 03:00 AEDT (10-03 16:00 UTC) */
    expect_local(utc(2026, 10, 3, 15, 59), "Australia/Sydney", 10 * 3600, 1, 59, 4);
    expect_local(utc(2026, 10, 3, 16, 0), "Australia/Sydney", 11 * 3600, 3, 0, 4);
    /* Tokyo: always +9 */
    expect_local(utc(2026, 1, 15, 20, 30), "Asia/Tokyo", 9 * 3600, 5, 30, 16);
    expect_local(utc(2026, 7, 15, 20, 30), "Asia/Tokyo", 9 * 3600, 5, 30, 16);
    /* a zone off the whole hour */
    expect_local(utc(2026, 7, 15, 20, 0), "Asia/Kolkata", 5 * 3600 + 1800, 1, 30, 16);

    struct tm tm;
    assert_int_equal(sessions_local(utc(2026, 1, 1, 0, 0), "Nowhere/Atlantis", &tm), -1);
    struct tm tm2;
    memset(&tm2, 0, sizeof tm2);
    assert_int_equal(sessions_local(utc(2026, 2, 11, 14, 0), "Europe/London", &tm2), 0);
    assert_int_equal(tm2.tm_wday, 3);          /* Wednesday */
    assert_int_equal(tm2.tm_year, 126);
    assert_int_equal(tm2.tm_mon, 1);
}

/* The zone name is a string: the same buffer reused for another zone must
 * give that zone's time, not a cached answer for the previous one. */
static void test_local_zone_name_buffer_reused(void **state)
{
    (void)state;
    char zone[64];
    time_t t = utc(2026, 7, 15, 12, 0);
    struct tm tm;
    snprintf(zone, sizeof zone, "Europe/London");
    assert_int_equal(sessions_local(t, zone, &tm), 0);
    assert_int_equal(tm.tm_hour, 13);
    snprintf(zone, sizeof zone, "Asia/Tokyo");
    assert_int_equal(sessions_local(t, zone, &tm), 0);
    assert_int_equal(tm.tm_hour, 21);
    snprintf(zone, sizeof zone, "America/New_York");
    assert_int_equal(sessions_local(t, zone, &tm), 0);
    assert_int_equal(tm.tm_hour, 8);
}

/* Reference offsets from the C library with TZ set once per zone, then
 * sessions_local asked in forward, backward and scrambled order: the
 * per-hour offset cache must never return another hour's offset. */
#define NREF 3000

static void test_cache_consistent_in_any_order(void **state)
{
    (void)state;
    static const char *const zones[] = { "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Tokyo" };
    enum { NZ = 4 };
    static time_t times[NREF];
    static long ref[NZ][NREF];

    unsigned long long seed = 0x9e3779b97f4a7c15ULL;
    time_t start = utc(2026, 1, 1, 0, 0);
    for (int i = 0; i < NREF; i++) {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        /* every ~3 hours through the year, at a random second within it */
        times[i] = start + (time_t)i * 10512 + (time_t)(seed % 10512);
    }
    /* add the transition instants and their neighbours */
    const time_t edges[] = {
        utc(2026, 3, 8, 7, 0), utc(2026, 11, 1, 6, 0), utc(2026, 3, 29, 1, 0),
        utc(2026, 10, 25, 1, 0), utc(2026, 4, 4, 16, 0), utc(2026, 10, 3, 16, 0),
    };
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
        times[e * 3] = edges[e] - 1;
        times[e * 3 + 1] = edges[e];
        times[e * 3 + 2] = edges[e] + 3599;
    }

    const char *old = getenv("TZ");
    char saved[128] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    for (int z = 0; z < NZ; z++) {
        char val[64];
        snprintf(val, sizeof val, ":%s", zones[z]);
        setenv("TZ", val, 1);
        tzset();
        for (int i = 0; i < NREF; i++) {
            struct tm tm;
            assert_non_null(localtime_r(&times[i], &tm));
            ref[z][i] = tm.tm_gmtoff;
        }
    }
    if (old)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();

    for (int pass = 0; pass < 3; pass++) {
        for (int k = 0; k < NREF; k++) {
            int i = pass == 0 ? k : pass == 1 ? NREF - 1 - k : (int)(((long long)k * 1237) % NREF);
            for (int z = 0; z < NZ; z++) {
                struct tm tm;
                assert_int_equal(sessions_local(times[i], zones[z], &tm), 0);
                if (tm.tm_gmtoff != ref[z][i]) {
                    char buf[32];
                    fmt_utc(times[i], buf);
                    fail_msg("pass %d: %s at %s: offset %ld, want %ld", pass, zones[z], buf,
                             (long)tm.tm_gmtoff, ref[z][i]);
                }
                /* the broken-down time agrees with the offset */
                time_t local = times[i] + ref[z][i];
                struct tm want;
                gmtime_r(&local, &want);
                assert_int_equal(tm.tm_hour, want.tm_hour);
                assert_int_equal(tm.tm_min, want.tm_min);
                assert_int_equal(tm.tm_mday, want.tm_mday);
            }
        }
    }
}

/* Jumping backwards within and across the cached hour gives the same
 * answers as the first time. */
static void test_sessions_repeatable_backwards(void **state)
{
    (void)state;
    const time_t ts[] = {
        utc(2026, 7, 15, 12, 30),   /* NY open (08:30 EDT) */
        utc(2026, 2, 11, 12, 30),   /* NY closed (07:30 EST) */
        utc(2026, 3, 8, 6, 30),     /* Sunday, closed */
        utc(2026, 3, 9, 12, 30),    /* Monday after the US change: NY 08:30 EDT */
        utc(2026, 3, 6, 12, 30),    /* Friday before it: NY 07:30 EST */
        utc(2026, 7, 15, 12, 59),
        utc(2026, 7, 15, 12, 0),
    };
    enum { N = sizeof ts / sizeof ts[0] };
    struct session_state first[N];
    for (int i = 0; i < N; i++)
        first[i] = at(ts[i]);
    assert_int_equal(first[0].open[SESSION_NEWYORK], 1);
    assert_int_equal(first[1].open[SESSION_NEWYORK], 0);
    assert_int_equal(first[2].market_open, 0);
    assert_int_equal(first[3].open[SESSION_NEWYORK], 1);
    assert_int_equal(first[4].open[SESSION_NEWYORK], 0);
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < N; k++) {
            int i = round % 2 ? N - 1 - k : (k * 3) % N;
            struct session_state st = at(ts[i]);
            assert_memory_equal(&st, &first[i], sizeof st);
        }
    }
}

/* The library borrows TZ to ask the tz database: the caller's TZ is put
 * back exactly, whether it was set or not. */
static void test_tz_environment_restored(void **state)
{
    (void)state;
    struct session_state st;
    setenv("TZ", "Pacific/Auckland", 1);
    tzset();
    assert_int_equal(sessions_at(utc(2026, 5, 5, 5, 5), &st), 0);
    assert_non_null(getenv("TZ"));
    assert_string_equal(getenv("TZ"), "Pacific/Auckland");
    unsetenv("TZ");
    tzset();
    assert_int_equal(sessions_at(utc(2026, 5, 6, 5, 5), &st), 0);
    assert_null(getenv("TZ"));
}

static void test_session_names(void **state)
{
    (void)state;
    assert_string_equal(session_name(SESSION_SYDNEY), "sydney");
    assert_string_equal(session_name(SESSION_TOKYO), "tokyo");
    assert_string_equal(session_name(SESSION_LONDON), "london");
    assert_string_equal(session_name(SESSION_NEWYORK), "newyork");
    assert_string_equal(session_name(SESSION_COUNT), "unknown");
    assert_string_equal(session_name((enum session_id)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winter),
        cmocka_unit_test(test_us_dst_before_eu),
        cmocka_unit_test(test_eu_dst),
        cmocka_unit_test(test_sydney_winter),
        cmocka_unit_test(test_autumn_changes),
        cmocka_unit_test(test_tokyo_no_dst),
        cmocka_unit_test(test_weekend_est),
        cmocka_unit_test(test_weekend_edt),
        cmocka_unit_test(test_weekend_on_change_days),
        cmocka_unit_test(test_labels_real_times),
        cmocka_unit_test(test_labels_by_struct),
        cmocka_unit_test(test_utc_of_local),
        cmocka_unit_test(test_year_invariants),
        cmocka_unit_test(test_local_offsets_at_transitions),
        cmocka_unit_test(test_local_zone_name_buffer_reused),
        cmocka_unit_test(test_cache_consistent_in_any_order),
        cmocka_unit_test(test_sessions_repeatable_backwards),
        cmocka_unit_test(test_tz_environment_restored),
        cmocka_unit_test(test_session_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
