/* Unit tests for worker/budget.c: a market source's request budget
 * ("N/minute,N/day,N/month") and the interval at which the watch may poll
 * it without running out.  Explicit UTC times, never the wall clock. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "budget.h"

#define DAY0 ((time_t)1704067200)      /* 2024-01-01 00:00:00 UTC */
#define HOUR 3600
#define FEB1 ((time_t)1706745600)      /* 2024-02-01 00:00:00 UTC */
#define MAR1 ((time_t)1709251200)      /* 2024-03-01 (2024 is a leap year) */

static void parsed(const char *spec, struct budget *b)
{
    char err[200] = "";
    if (budget_parse(spec, b, err, sizeof err) != 0)
        fail_msg("\"%s\" refused: %s", spec, err);
}

static void test_parse_accepts_the_three_periods(void **state)
{
    (void)state;
    struct budget b;
    parsed("300/minute", &b);
    assert_int_equal(b.limit[BUDGET_MINUTE], 300);
    assert_int_equal(b.limit[BUDGET_DAY], 0);
    parsed("60/minute,30000/month", &b);
    assert_int_equal(b.limit[BUDGET_MINUTE], 60);
    assert_int_equal(b.limit[BUDGET_MONTH], 30000);
    parsed(" 30/day , 5/minute ,", &b);
    assert_int_equal(b.limit[BUDGET_DAY], 30);
    assert_int_equal(b.limit[BUDGET_MINUTE], 5);
    parsed("", &b);
    parsed(NULL, &b);
    for (int p = 0; p < BUDGET_PERIOD_COUNT; p++)
        assert_int_equal(b.limit[p], 0);
}

static void test_parse_refuses_with_a_message(void **state)
{
    (void)state;
    static const char *bad[] = { "abc/day", "10/week", "10/", "/day", "10", "10 /day", "10/day;5/month",
                                 "-5/day", "1.5/day", "10/day,10/day", "10/day 20/day",
                                 "99999999999999999999/day", "1000000001/day", "10/minutes" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct budget b;
        char err[200] = "";
        if (budget_parse(bad[i], &b, err, sizeof err) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_true(strlen(err) > 10);
    }
    char err[200] = "";
    struct budget b;
    assert_int_equal(budget_parse("10/day,10/day", &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "repeated"));
    assert_int_equal(budget_parse("10/week", &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown"));
}

/* The interval with a fresh budget of spec at t (why: filled). */
static long interval_at(const char *spec, time_t t, long used, long base, char *why, size_t cap)
{
    struct budget b;
    parsed(spec, &b);
    if (used)
        budget_spend(&b, t, used);
    return budget_interval(&b, t, base, why, cap);
}

static void test_day_budget_never_faster_than_its_pace(void **state)
{
    (void)state;
    char why[160];
    /* 30 a day: 86400 / 30 * 1.25 = 3600 s, whatever the time of day */
    for (time_t t = DAY0; t < DAY0 + 86400; t += 600) {
        assert_int_equal(interval_at("30/day", t, 0, 60, why, sizeof why), 3600);
        assert_non_null(strstr(why, "this day"));
    }
}

static void test_polling_at_the_interval_never_runs_out(void **state)
{
    (void)state;
    struct budget b;
    parsed("30/day", &b);
    char why[160];
    int polls_today = 0;
    time_t day = DAY0;
    for (time_t t = DAY0 + 1234; t < DAY0 + 3 * 86400;) {
        if (t - (t % 86400) != day) {
            assert_true(polls_today <= 30 * 4 / 5 + 1);      /* a fifth kept for the decisions */
            day = t - (t % 86400);
            polls_today = 0;
        }
        assert_true(budget_allows(&b, t));
        budget_spend(&b, t, 1);
        polls_today++;
        t += budget_interval(&b, t, 60, why, sizeof why);
    }
}

static void test_minute_budget_and_base(void **state)
{
    (void)state;
    char why[160];
    /* 300 a minute is more than a poll a minute needs: the base, unstretched */
    assert_int_equal(interval_at("300/minute", DAY0 + 17, 0, 60, why, sizeof why), 60);
    assert_string_equal(why, "");
    /* 3 a minute: 60 / 3 * 1.25 = 25 s, from any second of the minute */
    assert_int_equal(interval_at("3/minute", DAY0 + 1, 0, 10, why, sizeof why), 25);
    assert_int_equal(interval_at("3/minute", DAY0 + 50, 1, 10, why, sizeof why), 25);
    assert_non_null(strstr(why, "minute"));
    /* two spent in its first second: still 25 s, not the 74 s that spreading
     * the last one over the minute would give (a minute's budget comes back) */
    assert_int_equal(interval_at("3/minute", DAY0 + 1, 2, 10, why, sizeof why), 25);
    assert_int_equal(interval_at("3/minute", DAY0 + 59, 0, 60, why, sizeof why), 60);
}

static void test_late_spending_is_spread_over_what_is_left(void **state)
{
    (void)state;
    char why[160];
    /* 1000 a day, at noon: 900 spent leaves 100 for 43200 s: 540 s each */
    assert_int_equal(interval_at("1000/day", DAY0 + 12 * HOUR, 900, 60, why, sizeof why), 540);
    assert_non_null(strstr(why, "100 of 1000 requests left this day"));
    assert_non_null(strstr(why, "spread"));
    /* nothing spent: the day's pace, 86.4 * 1.25 = 108 s */
    assert_int_equal(interval_at("1000/day", DAY0 + 12 * HOUR, 0, 60, why, sizeof why), 108);
    assert_non_null(strstr(why, "pace"));
}

static void test_almost_spent_late_waits_for_the_period_end(void **state)
{
    (void)state;
    char why[160];
    const time_t t = DAY0 + 20 * HOUR;     /* 4 hours left */
    assert_true(interval_at("1000/day", t, 999, 60, why, sizeof why) >= 4 * HOUR);
    assert_int_equal(interval_at("1000/day", t, 1000, 60, why, sizeof why), 4 * HOUR);
    assert_non_null(strstr(why, "none left"));
    assert_int_equal(interval_at("1000/day", t, 1500, 60, why, sizeof why), 4 * HOUR);   /* probes overspent it */
    /* a month with none left at its first second: until February, not longer */
    assert_int_equal(interval_at("10/month", DAY0, 10, 60, why, sizeof why), FEB1 - DAY0);
    /* the stretchiest period says why */
    assert_int_equal(interval_at("60/minute,1000/day", t, 1000, 60, why, sizeof why), 4 * HOUR);
    assert_non_null(strstr(why, "this day"));
}

static void test_allows_refuses_at_a_limit_until_the_next_period(void **state)
{
    (void)state;
    struct budget b;
    parsed("3/minute,5/day", &b);
    budget_spend(&b, DAY0 + 10, 3);
    assert_false(budget_allows(&b, DAY0 + 20));
    assert_true(budget_allows(&b, DAY0 + 60));            /* a new minute */
    assert_int_equal(b.used[BUDGET_MINUTE], 0);
    budget_spend(&b, DAY0 + 70, 2);
    assert_false(budget_allows(&b, DAY0 + 130));          /* the day's 5 */
    assert_false(budget_allows(&b, DAY0 + 86399));
    assert_true(budget_allows(&b, DAY0 + 86400));         /* a new day */
    assert_int_equal(b.used[BUDGET_DAY], 0);
    parsed("10/month", &b);
    budget_spend(&b, FEB1 - 1, 10);
    assert_false(budget_allows(&b, FEB1 - 1));
    assert_true(budget_allows(&b, FEB1));
    parsed("", &b);
    budget_spend(&b, DAY0, 1000000);
    assert_true(budget_allows(&b, DAY0));                 /* no limit */
}

static void test_calendar_periods(void **state)
{
    (void)state;
    const time_t t = DAY0 + 15 * 86400 + 5 * HOUR + 7;   /* 2024-01-16 05:00:07 */
    assert_true(budget_period_start(BUDGET_MINUTE, t) == t - 7);
    assert_true(budget_period_end(BUDGET_MINUTE, t) == t + 53);
    assert_true(budget_period_start(BUDGET_DAY, t) == DAY0 + 15 * 86400);
    assert_true(budget_period_start(BUDGET_MONTH, t) == DAY0);
    assert_true(budget_period_end(BUDGET_MONTH, t) == FEB1);
    assert_true(budget_period_end(BUDGET_MONTH, FEB1 + 3 * 86400) == MAR1);   /* 29 days */
    assert_true(budget_period_end(BUDGET_MONTH, DAY0 - 86400) == DAY0);       /* December to January */
}

/* budget_json's text, read back. */
static json_object *saved(const struct budget *b)
{
    json_object *j = budget_json(b, 60, 60, "");
    json_object *back = json_tokener_parse(json_object_to_json_string(j));
    json_object_put(j);
    assert_non_null(back);
    return back;
}

static void restored(json_object *j, time_t now, long minute, long day, long month)
{
    struct budget b;
    parsed("100/minute,1000/day,10000/month", &b);
    budget_restore(&b, j, now);
    assert_int_equal(b.used[BUDGET_MINUTE], minute);
    assert_int_equal(b.used[BUDGET_DAY], day);
    assert_int_equal(b.used[BUDGET_MONTH], month);
}

static void test_restore_keeps_the_spend_of_the_same_periods_only(void **state)
{
    (void)state;
    struct budget b;
    parsed("100/minute,1000/day,10000/month", &b);
    const time_t t = DAY0 + 9 * 86400 + HOUR + 10;
    budget_spend(&b, t, 7);
    json_object *j = saved(&b);
    restored(j, t + 20, 7, 7, 7);                     /* the same minute */
    restored(j, t + 60, 0, 7, 7);                     /* the next minute */
    restored(j, t + 86400, 0, 0, 7);                  /* the next day */
    restored(j, FEB1 + 10, 0, 0, 0);                  /* the next month */
    restored(NULL, t, 0, 0, 0);
    json_object *used;
    assert_true(json_object_object_get_ex(j, "used", &used));
    json_object_object_add(used, "day", json_object_new_int64(-5));
    json_object_object_add(used, "month", json_object_new_string("7"));
    restored(j, t + 20, 7, 0, 0);                     /* nonsense is not restored */
    json_object_put(j);
}

static void test_json_says_what_stretches(void **state)
{
    (void)state;
    struct budget b;
    char why[160];
    parsed("1000/day", &b);
    budget_spend(&b, DAY0 + 12 * HOUR, 900);
    long iv = budget_interval(&b, DAY0 + 12 * HOUR, 60, why, sizeof why);
    json_object *j = budget_json(&b, iv, 60, why), *v, *lim;
    assert_true(json_object_object_get_ex(j, "interval_seconds", &v));
    assert_int_equal(json_object_get_int64(v), 540);
    assert_true(json_object_object_get_ex(j, "stretched", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(j, "why", &v));
    assert_string_equal(json_object_get_string(v), why);
    assert_true(json_object_object_get_ex(j, "limits", &lim));
    assert_true(json_object_object_get_ex(lim, "minute", &v) && v == NULL);   /* no limit: null */
    json_object_put(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_the_three_periods),
        cmocka_unit_test(test_parse_refuses_with_a_message),
        cmocka_unit_test(test_day_budget_never_faster_than_its_pace),
        cmocka_unit_test(test_polling_at_the_interval_never_runs_out),
        cmocka_unit_test(test_minute_budget_and_base),
        cmocka_unit_test(test_late_spending_is_spread_over_what_is_left),
        cmocka_unit_test(test_almost_spent_late_waits_for_the_period_end),
        cmocka_unit_test(test_allows_refuses_at_a_limit_until_the_next_period),
        cmocka_unit_test(test_calendar_periods),
        cmocka_unit_test(test_restore_keeps_the_spend_of_the_same_periods_only),
        cmocka_unit_test(test_json_says_what_stretches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
