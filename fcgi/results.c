/* results: POST /results body validation; see results.h. */
#include "config.h"
#include "results.h"
#include "catalog.h"
#include "utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The members of a result, in the order they are checked. */
enum results_field {
    RF_TRIGGER_ID = 0, RF_IDEMPOTENCY_KEY, RF_DECISION_ID, RF_WORKFLOW, RF_EXECUTION_ID,
    RF_STATUS, RF_OPPORTUNITIES, RF_DURATION_MS, RF_ERROR, RF_DETAILS, RF_COUNT
};

static const struct results_spec {
    const char *name;
    int required;
} results_fields[RF_COUNT] = {
    [RF_TRIGGER_ID] = { "trigger_id", 1 },
    [RF_IDEMPOTENCY_KEY] = { "idempotency_key", 1 },
    [RF_DECISION_ID] = { "decision_id", 1 },
    [RF_WORKFLOW] = { "workflow", 1 },
    [RF_EXECUTION_ID] = { "execution_id", 1 },
    [RF_STATUS] = { "status", 1 },
    [RF_OPPORTUNITIES] = { "opportunities", 1 },
    [RF_DURATION_MS] = { "duration_ms", 1 },
    [RF_ERROR] = { "error", 0 },
    [RF_DETAILS] = { "details", 0 },
};

/* An integer member within [lo, hi] into *out.  Returns 0 or -1. */
static int results_int(json_object *v, long long lo, long long hi, long long *out)
{
    if (!v || !json_object_is_type(v, json_type_int))
        return -1;
    /* json-c keeps integers as int64 (or uint64 beyond); clamp checks below */
    long long n = (long long)json_object_get_int64(v);
    if (n < lo || n > hi)
        return -1;
    if (n == INT64_MAX && json_object_get_uint64(v) != (unsigned long long)INT64_MAX)
        return -1;
    *out = n;
    return 0;
}

/* Nonzero when s (n bytes) holds only printable ASCII. */
static int results_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* Nonzero when s (n bytes) is a valid execution id: [A-Za-z0-9_-]. */
static int results_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > RESULTS_EXEC_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Nonzero when a string holds a NUL byte (jsonb refuses \u0000). */
static int results_has_nul(json_object *v)
{
    return json_object_is_type(v, json_type_string) &&
           strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
}

/* Nonzero when anything in v cannot be stored as jsonb: a string with a
 * NUL byte, a number that is not finite (json-c reads NaN and Infinity),
 * or nesting deeper than 64 levels. */
static int results_nul_anywhere(json_object *v, int depth)
{
    if (!v || depth > 64)
        return depth > 64;
    if (json_object_is_type(v, json_type_string))
        return results_has_nul(v);
    if (json_object_is_type(v, json_type_double))
        return !isfinite(json_object_get_double(v));
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (results_nul_anywhere(json_object_array_get_idx(v, i), depth + 1))
                return 1;
        return 0;
    }
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val) {
            (void)key;
            if (results_nul_anywhere(val, depth + 1))
                return 1;
        }
    }
    return 0;
}

/* Fail with message fmt about field f. */
#define RESULTS_FAIL(f, ...) do { *field = (f); snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

int results_parse(const char *body, size_t len, const char *idempotency_header, struct results_in *out,
                  json_object **doc, const char **field, char *err, size_t errlen)
{
    json_object *root = NULL;
    json_tokener *tok = NULL;
    memset(out, 0, sizeof *out);
    *doc = NULL;
    *field = "body";
    if (!body || len == 0)
        RESULTS_FAIL("body", "the body must be a JSON object (it is empty)");
    if (len > RESULTS_BODY_MAX)
        RESULTS_FAIL("body", "the body is larger than %d bytes", RESULTS_BODY_MAX);
    if (memchr(body, '\0', len))
        RESULTS_FAIL("body", "the body holds a NUL byte");
    /* PostgreSQL stores only UTF-8: refused here (400), not there (500) */
    if (!utf8_valid(body, len))
        RESULTS_FAIL("body", "the body is not valid UTF-8");
    tok = json_tokener_new_ex(64);
    if (!tok)
        RESULTS_FAIL("body", "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error te = json_tokener_get_error(tok);
    if (te == json_tokener_continue) {
        /* a bare number may be waiting for more digits: only an object is wanted anyway */
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
            i++;
        if (i < len && body[i] != '{')
            RESULTS_FAIL("body", "the body must be a JSON object");
        RESULTS_FAIL("body", "the body is not valid JSON (truncated)");
    }
    if (te != json_tokener_success || !root)
        RESULTS_FAIL("body", "the body is not valid JSON (%s)", json_tokener_error_desc(te));
    if ((size_t)json_tokener_get_parse_end(tok) != len) {
        size_t end = (size_t)json_tokener_get_parse_end(tok);
        while (end < len && (body[end] == ' ' || body[end] == '\t' || body[end] == '\r' || body[end] == '\n'))
            end++;
        if (end != len)
            RESULTS_FAIL("body", "the body holds more than one JSON value");
    }
    if (!json_object_is_type(root, json_type_object))
        RESULTS_FAIL("body", "the body must be a JSON object");
    {
        json_object_object_foreach(root, key, val) {
            (void)val;
            int known = 0;
            for (int f = 0; f < RF_COUNT; f++)
                if (strcmp(key, results_fields[f].name) == 0)
                    known = 1;
            if (!known) {
                char shown[41];                 /* never raw bytes in the answer */
                utf8_copy_clean(shown, sizeof shown, key);
                RESULTS_FAIL("body", "unknown field \"%s\"", shown);
            }
        }
    }
    /* fields are checked in the table's order: the first wrong one is named */
    json_object *v[RF_COUNT];
    int present[RF_COUNT];
    for (int f = 0; f < RF_COUNT; f++) {
        v[f] = NULL;
        present[f] = json_object_object_get_ex(root, results_fields[f].name, &v[f]);
    }
#define RESULTS_REQUIRE(f) \
    do { if (!present[f] && results_fields[f].required) \
             RESULTS_FAIL(results_fields[f].name, "%s is required", results_fields[f].name); } while (0)
    RESULTS_REQUIRE(RF_TRIGGER_ID);
    if (results_int(v[RF_TRIGGER_ID], 1, INT64_MAX, &out->trigger_id) < 0)
        RESULTS_FAIL("trigger_id", "trigger_id must be a positive integer");
    RESULTS_REQUIRE(RF_IDEMPOTENCY_KEY);
    if (!v[RF_IDEMPOTENCY_KEY] || !json_object_is_type(v[RF_IDEMPOTENCY_KEY], json_type_string))
        RESULTS_FAIL("idempotency_key", "idempotency_key must be a string");
    {
        const char *k = json_object_get_string(v[RF_IDEMPOTENCY_KEY]);
        size_t n = (size_t)json_object_get_string_len(v[RF_IDEMPOTENCY_KEY]);
        if (n == 0 || n > RESULTS_KEY_MAX || !results_printable(k, n))
            RESULTS_FAIL("idempotency_key", "idempotency_key must be 1 to %d printable ASCII characters", RESULTS_KEY_MAX);
        memcpy(out->idempotency_key, k, n);
        out->idempotency_key[n] = '\0';
    }
    RESULTS_REQUIRE(RF_DECISION_ID);
    if (results_int(v[RF_DECISION_ID], 1, INT64_MAX, &out->decision_id) < 0)
        RESULTS_FAIL("decision_id", "decision_id must be a positive integer");
    RESULTS_REQUIRE(RF_WORKFLOW);
    /* a name's syntax here; record_result() checks it is the trigger's */
    if (!v[RF_WORKFLOW] || !json_object_is_type(v[RF_WORKFLOW], json_type_string) || results_has_nul(v[RF_WORKFLOW]) ||
        !catalog_name_valid(json_object_get_string(v[RF_WORKFLOW])))
        RESULTS_FAIL("workflow", "workflow must be a catalog workflow's name (its webhook path)");
    snprintf(out->workflow, sizeof out->workflow, "%s", json_object_get_string(v[RF_WORKFLOW]));
    RESULTS_REQUIRE(RF_EXECUTION_ID);
    if (!v[RF_EXECUTION_ID] || !json_object_is_type(v[RF_EXECUTION_ID], json_type_string) ||
        !results_id_ok(json_object_get_string(v[RF_EXECUTION_ID]), (size_t)json_object_get_string_len(v[RF_EXECUTION_ID])))
        RESULTS_FAIL("execution_id", "execution_id must be a string of 1 to %d letters, digits, '_' or '-'",
                     RESULTS_EXEC_MAX);
    snprintf(out->execution_id, sizeof out->execution_id, "%s", json_object_get_string(v[RF_EXECUTION_ID]));
    RESULTS_REQUIRE(RF_STATUS);
    {
        const char *st = v[RF_STATUS] && json_object_is_type(v[RF_STATUS], json_type_string)
                         ? json_object_get_string(v[RF_STATUS]) : NULL;
        if (!st || results_has_nul(v[RF_STATUS]) || (strcmp(st, "success") != 0 && strcmp(st, "error") != 0))
            RESULTS_FAIL("status", "status must be \"success\" or \"error\"");
        out->success = strcmp(st, "success") == 0;
    }
    RESULTS_REQUIRE(RF_OPPORTUNITIES);
    long long n;
    if (results_int(v[RF_OPPORTUNITIES], 0, RESULTS_OPPORTUNITIES_MAX, &n) < 0)
        RESULTS_FAIL("opportunities", "opportunities must be an integer from 0 to %d", RESULTS_OPPORTUNITIES_MAX);
    out->opportunities = (long)n;
    RESULTS_REQUIRE(RF_DURATION_MS);
    if (results_int(v[RF_DURATION_MS], 0, RESULTS_DURATION_MAX, &out->duration_ms) < 0)
        RESULTS_FAIL("duration_ms", "duration_ms must be an integer from 0 to %lld", (long long)RESULTS_DURATION_MAX);
    if (v[RF_ERROR]) {
        if (!json_object_is_type(v[RF_ERROR], json_type_string))
            RESULTS_FAIL("error", "error must be a string or null");
        if (json_object_get_string_len(v[RF_ERROR]) > RESULTS_ERROR_MAX || results_has_nul(v[RF_ERROR]))
            RESULTS_FAIL("error", "error must be at most %d characters (without NUL)", RESULTS_ERROR_MAX);
        out->error = json_object_get_string(v[RF_ERROR]);
    }
    if (v[RF_DETAILS] && !json_object_is_type(v[RF_DETAILS], json_type_object))
        RESULTS_FAIL("details", "details must be an object or null");
    if (v[RF_DETAILS] && results_nul_anywhere(v[RF_DETAILS], 0))
        RESULTS_FAIL("details", "details must not hold NUL characters, NaN or Infinity, or nest deeper than 64 levels");
#undef RESULTS_REQUIRE
    if (idempotency_header) {
        char want[RESULTS_KEY_MAX + 16];
        snprintf(want, sizeof want, "result-%s", out->idempotency_key);
        if (strcmp(idempotency_header, want) != 0)
            RESULTS_FAIL("Idempotency-Key", "the Idempotency-Key header must be \"result-\" + idempotency_key");
    }
    json_tokener_free(tok);
    *doc = root;
    *field = NULL;
    err[0] = '\0';
    return 0;
fail:
    if (tok)
        json_tokener_free(tok);       /* json_tokener_free(NULL) is not safe in json-c 0.15 */
    json_object_put(root);
    memset(out, 0, sizeof *out);
    return -1;
}
