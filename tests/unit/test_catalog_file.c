/* Unit tests for worker/catalog_file.c: every validation error, with its
 * exact message.  The cases are tests/catalog/cases.json, the same table
 * tests/catalog/check_schema.py checks catalog/catalog.schema.json
 * against; the cases JSON cannot hold (bytes that are not UTF-8, a NUL,
 * sizes) are here. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_file.h"

static struct catalog_file *cf;

static int setup(void **state)
{
    (void)state;
    cf = malloc(sizeof *cf);
    return cf ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(cf);
    return 0;
}

/* Parse text as file "catalog.json": 0 valid, else -1 with err. */
static int check(const char *text, size_t len, char *err, size_t errlen)
{
    err[0] = '\0';
    return catalog_file_parse(text, len, "catalog.json", cf, err, errlen);
}

static void test_cases_table(void **state)
{
    (void)state;
    json_object *cases = json_object_from_file(TOP_SRCDIR "/tests/catalog/cases.json");
    assert_non_null(cases);
    size_t n = json_object_array_length(cases);
    assert_true(n >= 50);
    int valid = 0, invalid = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cases, i), *name, *doc, *text, *want;
        assert_true(json_object_object_get_ex(c, "case", &name));
        json_object_object_get_ex(c, "catalog", &doc);
        json_object_object_get_ex(c, "text", &text);
        json_object_object_get_ex(c, "error", &want);
        const char *t = text ? json_object_get_string(text)
                             : json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char err[CATALOG_FILE_ERR_MAX];
        int rc = check(t, strlen(t), err, sizeof err);
        if (!want) {
            if (rc != 0)
                fail_msg("case \"%s\": expected valid, got: %s", json_object_get_string(name), err);
            valid++;
        } else {
            if (rc == 0)
                fail_msg("case \"%s\": expected \"%s\", got valid", json_object_get_string(name),
                         json_object_get_string(want));
            if (strcmp(err, json_object_get_string(want)) != 0)
                fail_msg("case \"%s\":\n  expected: %s\n  got:      %s", json_object_get_string(name),
                         json_object_get_string(want), err);
            assert_int_equal(cf->cat.n, 0);       /* nothing half-loaded */
            invalid++;
        }
    }
    assert_true(valid >= 3);
    assert_true(invalid >= 50);
    json_object_put(cases);
}

/* A valid two-entry catalog with extra text spliced in entry 0. */
static char *doc_with(const char *entry0_extra)
{
    size_t n = strlen(entry0_extra) + 200;
    char *s = malloc(n);
    snprintf(s, n, "{\"workflows\":[{\"name\":\"btc-scan\",\"market\":\"crypto\"%s},{\"name\":\"fx\",\"market\":\"forex\"}]}",
             entry0_extra);
    return s;
}

static void test_bytes_and_sizes(void **state)
{
    (void)state;
    char err[CATALOG_FILE_ERR_MAX];
    /* not UTF-8 */
    char *s = doc_with(",\"title\":\"caf\xe9\"");
    assert_int_equal(check(s, strlen(s), err, sizeof err), -1);
    assert_string_equal(err, "catalog.json: not valid UTF-8");
    free(s);
    /* a NUL byte */
    const char nul[] = "{\"workflows\":[]}\0x";
    assert_int_equal(check(nul, sizeof nul - 1, err, sizeof err), -1);
    assert_string_equal(err, "catalog.json: contains a NUL byte");
    /* parameters over 4096 bytes as JSON */
    char big[4300];
    memset(big, 'p', sizeof big);
    memcpy(big, ",\"parameters\":{\"x\":\"", 20);
    snprintf(big + 4200, 100, "\"}");
    s = doc_with(big);
    assert_int_equal(check(s, strlen(s), err, sizeof err), -1);
    assert_string_equal(err, "catalog.json: workflows[0] (\"btc-scan\"): field \"parameters\": 4188 bytes as JSON, at most 4096");
    free(s);
    /* exactly at the limit is fine */
    memset(big, 'p', sizeof big);
    memcpy(big, ",\"parameters\":{\"x\":\"", 20);
    snprintf(big + 20 + 4096 - 8, 100, "\"}");
    s = doc_with(big);
    assert_int_equal(check(s, strlen(s), err, sizeof err), 0);
    free(s);
    /* over the file size */
    size_t len = CATALOG_FILE_MAX_BYTES + 1;
    char *huge = malloc(len);
    memset(huge, ' ', len);
    assert_int_equal(check(huge, len, err, sizeof err), -1);
    assert_string_equal(err, "catalog.json: larger than 1048576 bytes");
    free(huge);
}

/* A catalog of n entries, the first crypto, the others forex. */
static char *doc_of(int n)
{
    size_t cap = (size_t)n * 64 + 64, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s, cap, "{\"workflows\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s{\"name\":\"wf-%03d\",\"market\":\"%s\"}", i ? "," : "", i,
                                i ? "forex" : "crypto");
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void test_entry_count(void **state)
{
    (void)state;
    char err[CATALOG_FILE_ERR_MAX];
    char *s = doc_of(CATALOG_MAX);
    assert_int_equal(check(s, strlen(s), err, sizeof err), 0);
    assert_int_equal(cf->cat.n, CATALOG_MAX);
    free(s);
    s = doc_of(CATALOG_MAX + 1);
    assert_int_equal(check(s, strlen(s), err, sizeof err), -1);
    assert_string_equal(err, "catalog.json: field \"workflows\": 201 entries; expected 1 to 200");
    free(s);
}

static void test_defaults_and_values(void **state)
{
    (void)state;
    char err[CATALOG_FILE_ERR_MAX];
    char *s = doc_with(",\"intensity\":\"light\",\"sessions\":[\"newyork\",\"tokyo\"],\"needs\":[\"birdeye\"],"
                       "\"concurrency\":\"replace\",\"parameters\":{\"limit\":7},\"cost\":2.5,\"min_interval_seconds\":60,"
                       "\"max_runs_per_day\":12,\"expects_result\":true,\"timeout_seconds\":300,\"claims\":true");
    assert_int_equal(check(s, strlen(s), err, sizeof err), 0);
    free(s);
    const struct catalog_wf *a = &cf->cat.wf[0], *b = &cf->cat.wf[1];
    assert_string_equal(a->name, "btc-scan");
    assert_string_equal(a->title, "btc-scan");         /* the name when no title */
    assert_int_equal(a->market, MARKET_CRYPTO);
    assert_int_equal(a->intensity, INTENSITY_LIGHT);
    assert_int_equal(a->sessions, (1u << 3) | (1u << 1));
    assert_int_equal(a->needs, 1u << FEED_BIRDEYE);
    assert_int_equal(a->concurrency, CONCURRENCY_REPLACE);
    assert_string_equal(a->parameters, "{\"limit\":7}");
    assert_true(a->cost == 2.5);
    assert_int_equal(a->min_interval_seconds, 60);
    assert_int_equal(a->max_runs_per_day, 12);
    assert_true(a->expects_result);
    assert_int_equal(a->timeout_seconds, 300);
    assert_true(a->enabled);
    assert_true(a->claims);
    /* the defaults */
    assert_int_equal(b->intensity, CATALOG_ANY_INTENSITY);
    assert_int_equal(b->sessions, 0);
    assert_int_equal(b->needs, 0);
    assert_int_equal(b->concurrency, CONCURRENCY_ALLOW);
    assert_string_equal(b->parameters, "{}");
    assert_true(b->cost == 1);
    assert_int_equal(b->min_interval_seconds, 0);
    assert_int_equal(b->max_runs_per_day, 0);
    assert_false(b->expects_result);
    assert_int_equal(b->timeout_seconds, 0);
    assert_true(b->enabled);
    assert_false(b->claims);
    assert_int_equal(strlen(cf->hash), 64);
}

static void test_seed_file(void **state)
{
    (void)state;
    char err[CATALOG_FILE_ERR_MAX];
    assert_int_equal(catalog_file_load(TOP_SRCDIR "/catalog/default.json", 1000, cf, err, sizeof err), 0);
    assert_int_equal(cf->cat.n, 8);
    assert_int_equal(cf->loaded_at, 1000);
    assert_string_equal(cf->version, "seed-2026-12-03");
    for (int i = 0; i < cf->cat.n; i++) {
        assert_true(cf->cat.wf[i].claims);            /* the shipped eight claim (n8n/generate.py) */
        assert_true(cf->cat.wf[i].expects_result);    /* and post their results */
    }
    /* a missing file names itself */
    assert_int_equal(catalog_file_load("/nonexistent/catalog.json", 0, cf, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/catalog.json: cannot open: No such file or directory");
}

/* The entry as JSON reads back into the same entry. */
static void test_entry_json_round_trip(void **state)
{
    (void)state;
    char err[CATALOG_FILE_ERR_MAX];
    assert_int_equal(catalog_file_load(TOP_SRCDIR "/catalog/default.json", 0, cf, err, sizeof err), 0);
    json_object *arr = json_object_new_array(), *root = json_object_new_object();
    for (int i = 0; i < cf->cat.n; i++)
        json_object_array_add(arr, catalog_file_entry_json(&cf->cat.wf[i]));
    json_object_object_add(root, "workflows", arr);
    const char *t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    struct catalog *first = malloc(sizeof *first);
    assert_non_null(first);
    *first = cf->cat;
    assert_int_equal(check(t, strlen(t), err, sizeof err), 0);
    assert_int_equal(cf->cat.n, first->n);
    assert_memory_equal(&cf->cat, first, sizeof *first);
    free(first);
    json_object_put(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_table),
        cmocka_unit_test(test_bytes_and_sizes),
        cmocka_unit_test(test_entry_count),
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_seed_file),
        cmocka_unit_test(test_entry_json_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
