/* Unit tests of fcgi/params.c (the /decisions query string and item ids)
 * and of the percent-decoding and integers of fcgi/fields.c. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "fields.h"
#include "params.h"
#include "seed.h"

/* Parse qs, expecting success; returns the parameters. */
static struct params_decisions ok(const char *qs)
{
    struct params_decisions p;
    char err[PARAMS_ERR_MAX] = "";
    int rc = params_decisions_parse(qs, &p, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error for \"%s\": %s\n", qs ? qs : "(null)", err);
    assert_int_equal(rc, 0);
    return p;
}

/* Parse qs, expecting failure with a message containing want. */
static void bad(const char *qs, const char *want)
{
    struct params_decisions p;
    char err[PARAMS_ERR_MAX] = "";
    int rc = params_decisions_parse(qs, &p, err, sizeof err);
    seed_expect_refused(qs, rc, err, want);
}

static void test_defaults(void **state)
{
    (void)state;
    struct params_decisions p = ok(NULL);
    assert_int_equal(p.limit, PARAMS_LIMIT_DEFAULT);
    assert_int_equal(p.before, 0);
    assert_int_equal(p.mode, -1);
    assert_int_equal(p.detail, 0);
    assert_true(p.id == 0);
    p = ok("");
    assert_int_equal(p.limit, 20);
    assert_int_equal(p.before, 0);
    assert_int_equal(p.mode, -1);
    assert_int_equal(p.detail, 0);
}

static void test_detail(void **state)
{
    (void)state;
    assert_int_equal(ok("detail=1").detail, 1);
    assert_int_equal(ok("detail=true").detail, 1);
    assert_int_equal(ok("detail=0").detail, 0);
    assert_int_equal(ok("detail=false").detail, 0);
    struct params_decisions p = ok("limit=50&detail=1&mode=crypto");
    assert_int_equal(p.limit, 50);
    assert_int_equal(p.detail, 1);
    assert_int_equal(p.mode, MODE_CRYPTO);
    assert_int_equal(ok("detail=%31").detail, 1);
    bad("detail=2", "detail must be 0, 1, false or true");
    bad("detail=yes", "detail must be 0, 1, false or true");
    bad("detail=TRUE", "detail must be 0, 1, false or true");
    bad("detail=", "parameter detail has an empty value");
    bad("detail", "parameter detail has an empty value");
    bad("detail=1&detail=0", "parameter detail is given more than once");
}

static void test_item_id(void **state)
{
    (void)state;
    long long id = 0;
    assert_int_equal(params_item_id("1", &id), 0);
    assert_true(id == 1);
    assert_int_equal(params_item_id("12345", &id), 0);
    assert_true(id == 12345);
    assert_int_equal(params_item_id("9223372036854775807", &id), 0);
    assert_true(id == 9223372036854775807LL);
    id = 7;
    assert_int_equal(params_item_id("0", &id), -1);
    assert_int_equal(params_item_id("", &id), -1);
    assert_int_equal(params_item_id(NULL, &id), -1);
    assert_int_equal(params_item_id("-1", &id), -1);
    assert_int_equal(params_item_id("+1", &id), -1);
    assert_int_equal(params_item_id("1x", &id), -1);
    assert_int_equal(params_item_id(" 1", &id), -1);
    assert_int_equal(params_item_id("abc", &id), -1);
    assert_int_equal(params_item_id("9223372036854775808", &id), -1);
    assert_int_equal(params_item_id("99999999999999999999", &id), -1);
    assert_true(id == 7);                    /* untouched on failure */
}

static void test_good_values(void **state)
{
    (void)state;
    struct params_decisions p = ok("limit=50");
    assert_int_equal(p.limit, 50);
    p = ok("limit=1");
    assert_int_equal(p.limit, 1);
    p = ok("limit=200");
    assert_int_equal(p.limit, 200);
    p = ok("limit=007");
    assert_int_equal(p.limit, 7);
    /* larger pages are capped at PARAMS_LIMIT_MAX, not refused */
    p = ok("limit=201");
    assert_int_equal(p.limit, PARAMS_LIMIT_MAX);
    p = ok("limit=100000");
    assert_int_equal(p.limit, PARAMS_LIMIT_MAX);
    p = ok("before=1");
    assert_int_equal(p.before, 1);
    p = ok("before=9223372036854775807");
    assert_true(p.before == 9223372036854775807LL);
    p = ok("mode=crypto");
    assert_int_equal(p.mode, MODE_CRYPTO);
    p = ok("mode=forex");
    assert_int_equal(p.mode, MODE_FOREX);
    p = ok("mode=hybrid");
    assert_int_equal(p.mode, MODE_HYBRID);
    p = ok("mode=standby");
    assert_int_equal(p.mode, MODE_STANDBY);
    p = ok("limit=5&before=100&mode=forex");
    assert_int_equal(p.limit, 5);
    assert_int_equal(p.before, 100);
    assert_int_equal(p.mode, MODE_FOREX);
    p = ok("mode=hybrid&limit=200&before=42");
    assert_int_equal(p.limit, 200);
    assert_int_equal(p.before, 42);
    assert_int_equal(p.mode, MODE_HYBRID);
}

static void test_empty_segments(void **state)
{
    (void)state;
    struct params_decisions p = ok("limit=5&");
    assert_int_equal(p.limit, 5);
    p = ok("&&limit=6&&mode=crypto&");
    assert_int_equal(p.limit, 6);
    assert_int_equal(p.mode, MODE_CRYPTO);
    p = ok("&");
    assert_int_equal(p.limit, 20);
}

static void test_percent_decoding(void **state)
{
    (void)state;
    struct params_decisions p = ok("limit=%35%30");
    assert_int_equal(p.limit, 50);
    p = ok("%6C%69%6d%69%74=3");             /* the name too, either case of hex */
    assert_int_equal(p.limit, 3);
    p = ok("mode=%63rypto");
    assert_int_equal(p.mode, MODE_CRYPTO);
    p = ok("limit=1%30%30");                 /* mixed literal and escaped digits */
    assert_int_equal(p.limit, 100);
    p = ok("before=%31%32%33&limit=%32");
    assert_int_equal(p.before, 123);
    assert_int_equal(p.limit, 2);
}

static void test_decode_function(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(fields_decode("a%20b", 5, out, sizeof out), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(fields_decode("a+b", 3, out, sizeof out), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(fields_decode("%41%6a", 6, out, sizeof out), 2);
    assert_string_equal(out, "Aj");
    assert_int_equal(fields_decode("", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* only n bytes are read */
    assert_int_equal(fields_decode("abcdef", 3, out, sizeof out), 3);
    assert_string_equal(out, "abc");
    /* malformed escapes */
    assert_int_equal(fields_decode("%", 1, out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(fields_decode("%4", 2, out, sizeof out), -1);
    assert_int_equal(fields_decode("%zz", 3, out, sizeof out), -1);
    assert_int_equal(fields_decode("%g0", 3, out, sizeof out), -1);
    assert_int_equal(fields_decode("ab%4", 4, out, sizeof out), -1);
    /* "%4" followed by more input outside n is still malformed */
    assert_int_equal(fields_decode("%41", 2, out, sizeof out), -1);
    /* a decoded NUL is refused */
    assert_int_equal(fields_decode("a%00b", 5, out, sizeof out), -1);
    /* capacity */
    assert_int_equal(fields_decode("abc", 3, out, 4), 3);
    assert_int_equal(fields_decode("abcd", 4, out, 4), -1);
    assert_int_equal(fields_decode("abc", 3, out, 0), -1);
}

static void test_uint(void **state)
{
    (void)state;
    long long v = -1;
    assert_int_equal(fields_uint("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(fields_uint("10", 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(fields_uint("11", 10, &v), -1);
    assert_int_equal(fields_uint("", 10, &v), -1);
    assert_int_equal(fields_uint(NULL, 10, &v), -1);
    assert_int_equal(fields_uint("-1", 10, &v), -1);
    assert_int_equal(fields_uint("+1", 10, &v), -1);
    assert_int_equal(fields_uint(" 1", 10, &v), -1);
    assert_int_equal(fields_uint("1 ", 10, &v), -1);
    assert_int_equal(fields_uint("1.0", 10, &v), -1);
    assert_int_equal(fields_uint("0x1", 10, &v), -1);
    assert_int_equal(fields_uint("9223372036854775808", 9223372036854775807LL, &v), -1);
    assert_int_equal(fields_uint("99999999999999999999999", 9223372036854775807LL, &v), -1);
}

static void test_bad_limit(void **state)
{
    (void)state;
    const char *msg = "limit must be a positive integer (at most 200 are listed)";
    bad("limit=0", msg);
    bad("limit=-1", msg);
    bad("limit=+5", msg);
    bad("limit=abc", msg);
    bad("limit=5x", msg);
    bad("limit=1.5", msg);
    bad("limit=%205", msg);                   /* " 5" */
    bad("limit=5+", msg);                     /* "5 " */
    bad("limit=99999999999999999999", msg);   /* beyond 64 bits: not a number we read */
    bad("limit=1e2", msg);
    bad("limit=0x10", msg);
}

static void test_bad_before(void **state)
{
    (void)state;
    const char *msg = "before must be a positive integer";
    bad("before=0", msg);
    bad("before=-5", msg);
    bad("before=abc", msg);
    bad("before=9223372036854775808", msg);
    bad("before=1.5", msg);
}

static void test_bad_mode(void **state)
{
    (void)state;
    const char *msg = "mode must be one of crypto, forex, hybrid, standby";
    bad("mode=Crypto", msg);
    bad("mode=FOREX", msg);
    bad("mode=all", msg);
    bad("mode=crypto%20", msg);
    bad("mode=cryptox", msg);
}

static void test_unknown_repeated_empty(void **state)
{
    (void)state;
    bad("foo=1", "unknown parameter \"foo\"");
    bad("limit=5&offset=3", "unknown parameter \"offset\"");
    bad("Limit=5", "unknown parameter \"Limit\"");
    bad("=5", "unknown parameter \"\"");
    bad("x%00=1", "malformed percent-encoding in a parameter name");
    bad("%zz=1", "malformed percent-encoding in a parameter name");
    bad("limit=5&limit=5", "parameter limit is given more than once");
    bad("mode=crypto&mode=forex", "parameter mode is given more than once");
    bad("before=2&limit=3&before=1", "parameter before is given more than once");
    bad("limit=", "parameter limit has an empty value");
    bad("limit", "parameter limit has an empty value");
    bad("before=", "parameter before has an empty value");
    bad("mode=&limit=3", "parameter mode has an empty value");
    bad("limit=%4", "parameter limit: malformed percent-encoding");
    bad("mode=%zzcrypto", "parameter mode: malformed percent-encoding");
    bad("limit=%00", "parameter limit: malformed percent-encoding");
}

static void test_unknown_name_is_sanitized(void **state)
{
    (void)state;
    struct params_decisions p;
    char err[PARAMS_ERR_MAX];
    /* bytes outside printable ASCII become '?', long names are cut */
    assert_int_equal(params_decisions_parse("%C3%A9t%0A=1", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown parameter \"??t?\""));
    char qs[200];
    memset(qs, 'n', 100);
    memcpy(qs + 100, "=1", 3);
    assert_int_equal(params_decisions_parse(qs, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "...\""));
    assert_true(strlen(err) < PARAMS_ERR_MAX);
    /* a small error buffer is never overrun */
    char tiny[8];
    assert_int_equal(params_decisions_parse("limit=0", &p, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 7);
}

static void test_length_limit(void **state)
{
    (void)state;
    char qs[FIELDS_QUERY_MAX + 2];
    /* exactly 1024 bytes: "limit=5" and '&' padding is accepted */
    memset(qs, '&', FIELDS_QUERY_MAX);
    memcpy(qs, "limit=5", 7);
    qs[FIELDS_QUERY_MAX] = '\0';
    struct params_decisions p = ok(qs);
    assert_int_equal(p.limit, 5);
    /* 1025 bytes: refused whatever it holds */
    memset(qs, '&', FIELDS_QUERY_MAX + 1);
    qs[FIELDS_QUERY_MAX + 1] = '\0';
    bad(qs, "query string is longer than 1024 bytes");
}

static void test_equal(void **state)
{
    (void)state;
    struct params_decisions a = ok("limit=20&mode=crypto");
    struct params_decisions b = ok("mode=%63rypto");
    struct params_decisions c = ok("mode=crypto&before=5");
    assert_true(params_decisions_equal(&a, &b));
    assert_false(params_decisions_equal(&a, &c));
    struct params_decisions d = ok(NULL), e = ok("limit=20");
    assert_true(params_decisions_equal(&d, &e));
    /* detail is part of the key: a light page and a full page differ */
    struct params_decisions f = ok("detail=1"), g = ok("detail=true"), z = ok("detail=0");
    assert_false(params_decisions_equal(&d, &f));
    assert_true(params_decisions_equal(&f, &g));
    assert_true(params_decisions_equal(&d, &z));
    /* one decision: only its id matters, never equal to a page */
    struct params_decisions one = ok(NULL), two = ok("limit=5"), other = ok(NULL);
    one.id = 12;
    two.id = 12;
    other.id = 13;
    assert_true(params_decisions_equal(&one, &two));
    assert_false(params_decisions_equal(&one, &other));
    assert_false(params_decisions_equal(&one, &d));
    assert_false(params_decisions_equal(&d, &one));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_item_id),
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_empty_segments),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_decode_function),
        cmocka_unit_test(test_uint),
        cmocka_unit_test(test_bad_limit),
        cmocka_unit_test(test_bad_before),
        cmocka_unit_test(test_bad_mode),
        cmocka_unit_test(test_unknown_repeated_empty),
        cmocka_unit_test(test_unknown_name_is_sanitized),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
