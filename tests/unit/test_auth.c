/* Unit tests of fcgi/auth.c: the bearer token of the control endpoints. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth.h"

#define TOKEN "s3cret-Token_123"

static void test_ok(void **state)
{
    (void)state;
    assert_int_equal(auth_check(TOKEN, "Bearer " TOKEN), AUTH_OK);
    /* the scheme is case-insensitive (RFC 7235) */
    assert_int_equal(auth_check(TOKEN, "bearer " TOKEN), AUTH_OK);
    assert_int_equal(auth_check(TOKEN, "BEARER " TOKEN), AUTH_OK);
    assert_int_equal(auth_check(TOKEN, "BeArEr " TOKEN), AUTH_OK);
    /* extra spaces around the token and leading whitespace */
    assert_int_equal(auth_check(TOKEN, "Bearer    " TOKEN), AUTH_OK);
    assert_int_equal(auth_check(TOKEN, "Bearer " TOKEN "  \t"), AUTH_OK);
    assert_int_equal(auth_check(TOKEN, "  Bearer " TOKEN), AUTH_OK);
    /* a one-character token */
    assert_int_equal(auth_check("x", "Bearer x"), AUTH_OK);
}

static void test_disabled(void **state)
{
    (void)state;
    assert_int_equal(auth_check(NULL, "Bearer " TOKEN), AUTH_DISABLED);
    assert_int_equal(auth_check("", "Bearer " TOKEN), AUTH_DISABLED);
    assert_int_equal(auth_check("", NULL), AUTH_DISABLED);
    /* an empty token never matches an empty presented token */
    assert_int_equal(auth_check("", "Bearer "), AUTH_DISABLED);
    assert_string_equal(auth_strerror(AUTH_DISABLED),
                        "control is disabled: ORCHESTRATOR_API_TOKEN is not set");
}

static void test_missing(void **state)
{
    (void)state;
    assert_int_equal(auth_check(TOKEN, NULL), AUTH_MISSING);
    assert_int_equal(auth_check(TOKEN, ""), AUTH_MISSING);
    assert_int_equal(auth_check(TOKEN, "   "), AUTH_MISSING);
}

static void test_wrong_scheme(void **state)
{
    (void)state;
    assert_int_equal(auth_check(TOKEN, "Basic dXNlcjpwYXNz"), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Token " TOKEN), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, TOKEN), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bearer"), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bearer "), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bearer    "), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bearer" TOKEN), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bearer\t" TOKEN), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bearerx " TOKEN), AUTH_BAD_SCHEME);
    assert_int_equal(auth_check(TOKEN, "Bear " TOKEN), AUTH_BAD_SCHEME);
}

static void test_wrong_token(void **state)
{
    (void)state;
    /* same length, one byte off: first, middle, last */
    assert_int_equal(auth_check(TOKEN, "Bearer t3cret-Token_123"), AUTH_WRONG);
    assert_int_equal(auth_check(TOKEN, "Bearer s3cret-Tokem_123"), AUTH_WRONG);
    assert_int_equal(auth_check(TOKEN, "Bearer s3cret-Token_124"), AUTH_WRONG);
    /* the token compares case-sensitively */
    assert_int_equal(auth_check(TOKEN, "Bearer S3CRET-TOKEN_123"), AUTH_WRONG);
    /* prefixes and extensions of the token */
    assert_int_equal(auth_check(TOKEN, "Bearer s3cret"), AUTH_WRONG);
    assert_int_equal(auth_check(TOKEN, "Bearer s3cret-Token_12"), AUTH_WRONG);
    assert_int_equal(auth_check(TOKEN, "Bearer " TOKEN "4"), AUTH_WRONG);
    assert_int_equal(auth_check(TOKEN, "Bearer " TOKEN TOKEN), AUTH_WRONG);
    /* the secret repeated (the modulo indexing must not accept this) */
    assert_int_equal(auth_check("ab", "Bearer abab"), AUTH_WRONG);
    assert_int_equal(auth_check("ab", "Bearer a"), AUTH_WRONG);
    /* a space inside the presented token */
    assert_int_equal(auth_check(TOKEN, "Bearer s3cret Token_123"), AUTH_WRONG);
}

static void test_equal(void **state)
{
    (void)state;
    assert_int_equal(auth_equal("abc", 3, "abc", 3), 1);
    assert_int_equal(auth_equal("abc", 3, "abd", 3), 0);
    assert_int_equal(auth_equal("abc", 3, "ab", 2), 0);
    assert_int_equal(auth_equal("abc", 3, "abcd", 4), 0);
    assert_int_equal(auth_equal("abc", 3, "abcabc", 6), 0);
    assert_int_equal(auth_equal("abc", 3, "", 0), 0);
    assert_int_equal(auth_equal("", 0, "", 0), 0);     /* an empty secret never matches */
    assert_int_equal(auth_equal("", 0, "a", 1), 0);
    /* only the given lengths count */
    assert_int_equal(auth_equal("abcX", 3, "abcY", 3), 1);
    /* a long presented value against a short secret */
    char big[4096];
    memset(big, 'a', sizeof big);
    assert_int_equal(auth_equal("a", 1, big, sizeof big), 0);
    assert_int_equal(auth_equal(big, sizeof big, big, sizeof big), 1);
}

static void test_strerror_has_no_token(void **state)
{
    (void)state;
    enum auth_result all[] = { AUTH_OK, AUTH_DISABLED, AUTH_MISSING, AUTH_BAD_SCHEME, AUTH_WRONG };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *s = auth_strerror(all[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_null(strstr(s, TOKEN));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_wrong_scheme),
        cmocka_unit_test(test_wrong_token),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_strerror_has_no_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
