/* Unit tests of fcgi/results.c: validation of POST /results bodies. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "claims.h"
#include "results.h"
#include "utf8.h"
#include "seed.h"

#define GOOD "{\"trigger_id\":31,\"idempotency_key\":\"orch-12-crypto-normal-scan\",\"decision_id\":12," \
             "\"workflow\":\"crypto-normal-scan\",\"execution_id\":\"45\",\"status\":\"success\"," \
             "\"opportunities\":3,\"duration_ms\":57,\"error\":null," \
             "\"details\":{\"intensity\":\"normal\",\"sources\":{\"dexscreener\":\"ok\"},\"top_movers\":[]}}"

/* Parse body with header, expecting success; the document is freed. */
static struct results_in ok(const char *body, const char *header)
{
    struct results_in in;
    json_object *doc = NULL;
    const char *field = NULL;
    char err[RESULTS_ERR_MAX] = "";
    int rc = results_parse(body, strlen(body), header, &in, &doc, &field, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error for %s: %s (%s)\n", body, err, field ? field : "?");
    assert_int_equal(rc, 0);
    assert_non_null(doc);
    assert_null(field);
    json_object_put(doc);
    in.error = NULL;                 /* pointed into doc */
    return in;
}

/* Parse body (len bytes), expecting failure about field with a message containing want. */
static void bad_len(const char *body, size_t len, const char *header, const char *want_field, const char *want)
{
    struct results_in in;
    json_object *doc = (json_object *)&in;
    const char *field = NULL;
    char err[RESULTS_ERR_MAX] = "";
    int rc = results_parse(body, len, header, &in, &doc, &field, err, sizeof err);
    if (rc != -1)
        print_error("accepted %.*s\n", (int)(len > 200 ? 200 : len), body);
    assert_int_equal(rc, -1);
    assert_null(doc);
    assert_non_null(field);
    if (strcmp(field, want_field) != 0 || !strstr(err, want))
        print_error("for %.*s: field %s (want %s), message \"%s\" (want \"%s\")\n", (int)(len > 200 ? 200 : len),
                    body, field, want_field, err, want);
    assert_string_equal(field, want_field);
    assert_non_null(strstr(err, want));
}

static void bad(const char *body, const char *want_field, const char *want)
{
    bad_len(body, strlen(body), NULL, want_field, want);
}

/* GOOD with one member replaced: "key":value (value NULL: removed). */
static char *with(const char *key, const char *value)
{
    json_object *o = json_tokener_parse(GOOD);
    assert_non_null(o);
    json_object_object_del(o, key);
    if (value) {
        json_object *v = json_tokener_parse(value);
        if (!v && strcmp(value, "null") != 0)
            fail_msg("bad test value %s", value);
        json_object_object_add(o, key, v);
    }
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

static void bad_with(const char *key, const char *value, const char *want_field, const char *want)
{
    char *s = with(key, value);
    bad(s, want_field, want);
    free(s);
}

static void test_good(void **state)
{
    (void)state;
    struct results_in in = ok(GOOD, NULL);
    assert_int_equal(in.trigger_id, 31);
    assert_int_equal(in.decision_id, 12);
    assert_string_equal(in.idempotency_key, "orch-12-crypto-normal-scan");
    assert_string_equal(in.workflow, "crypto-normal-scan");
    assert_string_equal(in.execution_id, "45");
    assert_int_equal(in.success, 1);
    assert_int_equal(in.opportunities, 3);
    assert_int_equal(in.duration_ms, 57);
    /* with the header n8n's Report node sends */
    ok(GOOD, "result-orch-12-crypto-normal-scan");
    /* error as a string, details and error absent, whitespace around */
    char *s = with("status", "\"error\"");
    char *t = NULL;
    struct results_in e = ok(s, NULL);
    assert_int_equal(e.success, 0);
    free(s);
    s = with("error", "\"dexscreener search SOL/USDC: HTTP 500 Internal Server Error\"");
    json_object *doc = NULL;
    const char *field = NULL;
    char err[RESULTS_ERR_MAX];
    assert_int_equal(results_parse(s, strlen(s), NULL, &in, &doc, &field, err, sizeof err), 0);
    assert_string_equal(in.error, "dexscreener search SOL/USDC: HTTP 500 Internal Server Error");
    json_object_put(doc);
    free(s);
    s = with("details", NULL);
    t = with("error", NULL);
    ok(s, NULL);
    ok(t, NULL);
    free(s);
    free(t);
    s = with("details", "null");
    ok(s, NULL);
    free(s);
    ok(" \n" GOOD " \r\n", NULL);
    s = with("opportunities", "0");
    ok(s, NULL);
    free(s);
    s = with("execution_id", "\"abc_DEF-9\"");
    ok(s, NULL);
    free(s);
}

static void test_bad_document(void **state)
{
    (void)state;
    bad("", "body", "empty");
    bad("[]", "body", "must be a JSON object");
    bad("42", "body", "must be a JSON object");
    bad("{\"trigger_id\":31", "body", "not valid JSON");
    bad("{\"trigger_id\":31,}", "body", "not valid JSON");
    bad("{\"trigger_id\":031}", "body", "not valid JSON");
    bad(GOOD "{}", "body", "not valid JSON");
    bad_len("{\"a\":1}\0{}", 10, NULL, "body", "NUL");
    bad_with("extra", "1", "body", "unknown field \"extra\"");
    size_t n = RESULTS_BODY_MAX + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    big[0] = '{';
    big[n - 1] = '}';
    bad_len(big, n, NULL, "body", "larger than");
    free(big);
}

static void test_bad_fields(void **state)
{
    (void)state;
    const char *required[] = { "trigger_id", "idempotency_key", "decision_id", "workflow", "execution_id",
                               "status", "opportunities", "duration_ms" };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        bad_with(required[i], NULL, required[i], "is required");
    bad_with("trigger_id", "0", "trigger_id", "positive integer");
    bad_with("trigger_id", "-1", "trigger_id", "positive integer");
    bad_with("trigger_id", "\"31\"", "trigger_id", "positive integer");
    bad_with("trigger_id", "31.5", "trigger_id", "positive integer");
    bad_with("trigger_id", "null", "trigger_id", "positive integer");
    bad_with("trigger_id", "99999999999999999999", "trigger_id", "positive integer");
    bad_with("decision_id", "true", "decision_id", "positive integer");
    bad_with("idempotency_key", "\"\"", "idempotency_key", "1 to 95");
    bad_with("idempotency_key", "12", "idempotency_key", "must be a string");
    bad_with("idempotency_key", "\"orch-1-\\u00e9\"", "idempotency_key", "printable ASCII");
    bad_with("idempotency_key", "\"a\\nb\"", "idempotency_key", "printable ASCII");
    /* any catalog's name is accepted here (record_result() checks it is the trigger's); not other text */
    bad_with("workflow", "\"moon scan\"", "workflow", "catalog");
    bad_with("workflow", "\"../etc/passwd\"", "workflow", "catalog");
    bad_with("workflow", "\"\"", "workflow", "catalog");
    bad_with("workflow", "null", "workflow", "catalog");
    bad_with("execution_id", "45", "execution_id", "must be a string");
    bad_with("execution_id", "\"\"", "execution_id", "must be a string");
    bad_with("execution_id", "\"../45\"", "execution_id", "letters, digits");
    bad_with("execution_id", "\"12345678901234567890123456789012345678901234567890123456789012345\"",
             "execution_id", "1 to 64");
    bad_with("status", "\"ok\"", "status", "\"success\" or \"error\"");
    bad_with("status", "1", "status", "\"success\" or \"error\"");
    bad_with("opportunities", "-1", "opportunities", "from 0");
    bad_with("opportunities", "1.0", "opportunities", "integer");
    bad_with("opportunities", "1000001", "opportunities", "from 0");
    bad_with("duration_ms", "-5", "duration_ms", "from 0");
    bad_with("duration_ms", "\"57\"", "duration_ms", "integer");
    bad_with("error", "42", "error", "string or null");
    bad_with("details", "[]", "details", "object or null");
    bad_with("details", "\"x\"", "details", "object or null");
    bad_with("details", "{\"a\":\"x\\u0000y\"}", "details", "NUL");
    bad_with("error", "\"x\\u0000y\"", "error", "without NUL");
    char *s = with("details", NULL);
    s[strlen(s) - 1] = '\0';
    char nan_body[1024];
    snprintf(nan_body, sizeof nan_body, "%s,\"details\":{\"x\":NaN}}", s);
    bad(nan_body, "details", "NaN");
    free(s);
    char longerr[RESULTS_ERROR_MAX + 10];
    snprintf(longerr, sizeof longerr, "\"%0*d\"", RESULTS_ERROR_MAX + 1, 0);
    bad_with("error", longerr, "error", "at most");
}

/* Issue 10: bytes that are not UTF-8 in error or in a details key were
 * accepted and PostgreSQL refused them (500); the unknown-field message
 * echoed them raw (a 400 body that is not UTF-8).  Now: 400, and every
 * message is valid UTF-8. */
static void test_not_utf8(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof body, "%.*s,\"error\":\"bad \xff\xfe byte\"}", (int)strlen(GOOD) - 1, GOOD);
    /* GOOD already has "error":null: build the bodies by hand instead */
    const char *base = "{\"trigger_id\":31,\"idempotency_key\":\"orch-12-crypto-normal-scan\",\"decision_id\":12,"
                       "\"workflow\":\"crypto-normal-scan\",\"execution_id\":\"45\",\"status\":\"error\","
                       "\"opportunities\":0,\"duration_ms\":57";
    snprintf(body, sizeof body, "%s,\"error\":\"bad \xff\xfe byte\"}", base);
    bad(body, "body", "UTF-8");
    snprintf(body, sizeof body, "%s,\"details\":{\"k\xc3\":1}}", base);
    bad(body, "body", "UTF-8");
    snprintf(body, sizeof body, "%s,\"details\":{\"a\":[\"\xed\xa0\x80\"]}}", base);     /* a surrogate */
    bad(body, "body", "UTF-8");
    /* escaped lone surrogates: json-c decodes them to U+FFFD, which is fine */
    snprintf(body, sizeof body, "%s,\"error\":\"\\ud800\"}", base);
    (void)ok(body, NULL);
    snprintf(body, sizeof body, "%s,\"details\":{\"\\udc00x\":1}}", base);
    (void)ok(body, NULL);
    /* the unknown-field message never echoes raw bytes, nor cuts a character */
    struct results_in in;
    json_object *doc = NULL;
    const char *field = NULL;
    char err[RESULTS_ERR_MAX] = "";
    snprintf(body, sizeof body, "{\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                                "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9x\\u0001\":1}");
    assert_int_equal(results_parse(body, strlen(body), NULL, &in, &doc, &field, err, sizeof err), -1);
    assert_true(utf8_valid(err, strlen(err)));
    assert_null(strchr(err, '\x01'));
    assert_non_null(strstr(err, "unknown field"));
    /* good UTF-8 passes */
    snprintf(body, sizeof body, "%s,\"error\":\"caf\xc3\xa9 \xe2\x82\xac\",\"details\":{\"\xc3\xa9t\xc3\xa9\":\"\\u00e9\"}}", base);
    struct results_in got = ok(body, NULL);
    assert_int_equal(got.success, 0);
}

static void test_idempotency_header(void **state)
{
    (void)state;
    bad_len(GOOD, strlen(GOOD), "orch-12-crypto-normal-scan", "Idempotency-Key", "result-");
    bad_len(GOOD, strlen(GOOD), "result-orch-13-crypto-normal-scan", "Idempotency-Key", "result-");
    bad_len(GOOD, strlen(GOOD), "", "Idempotency-Key", "result-");
}

/* POST /claims names any catalog workflow (its webhook path), nothing else. */
static void test_claim_workflow_names(void **state)
{
    (void)state;
    struct claims_in in;
    const char *field = NULL;
    char err[200];
    static const char *const good[] = { "desk/fx-majors", "sys.health-probe", "Crypto_Normal-2", "crypto-normal-scan" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char body[300];
        snprintf(body, sizeof body, "{\"idempotency_key\":\"orch-1-%s\",\"execution_id\":\"45\",\"workflow\":\"%s\"}",
                 good[i], good[i]);
        if (claims_parse(body, strlen(body), &in, &field, err, sizeof err) != 0)
            fail_msg("%s refused: %s", good[i], err);
        assert_string_equal(in.workflow, good[i]);
        assert_string_equal(in.idempotency_key + 7, good[i]);
    }
    static const char *const bad[] = { "a b", "/x", "x/", "a//b", "a/../b", "x:y" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[300];
        snprintf(body, sizeof body, "{\"idempotency_key\":\"k\",\"execution_id\":\"45\",\"workflow\":\"%s\"}", bad[i]);
        assert_int_equal(claims_parse(body, strlen(body), &in, &field, err, sizeof err), -1);
        assert_string_equal(field, "workflow");
    }
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad_document),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_idempotency_header),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_claim_workflow_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
