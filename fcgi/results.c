/* results: POST /results body validation; see results.h. */
#include "config.h"
#include "results.h"
#include "catalog.h"
#include "fields.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

_Static_assert(RESULTS_DURATION_MAX == 7LL * 24 * 3600 * 1000, "RESULTS_DURATION_MAX is a week in ms");

/* The members of a result, in the order they are checked. */
enum results_field {
    RF_TRIGGER_ID = 0, RF_IDEMPOTENCY_KEY, RF_DECISION_ID, RF_WORKFLOW, RF_EXECUTION_ID,
    RF_STATUS, RF_OPPORTUNITIES, RF_DURATION_MS, RF_ERROR, RF_DETAILS, RF_COUNT
};

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
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Nonzero when s is a workflow's name (its syntax here; record_result()
 * checks it is the trigger's). */
static int results_workflow_ok(const char *s, size_t n)
{
    (void)n;
    return catalog_name_valid(s);
}

/* 1 for "success", 0 for "error", else -1 (a FIELDS_ENUM parser). */
static int results_status(const char *s)
{
    return strcmp(s, "success") == 0 ? 1 : strcmp(s, "error") == 0 ? 0 : -1;
}

static const struct fields_spec results_fields[RF_COUNT] = {
    [RF_TRIGGER_ID] = { "trigger_id", FIELDS_UINT, FIELDS_REQUIRED, 1, INT64_MAX, 0, NULL, NULL,
                        "trigger_id must be a positive integer", NULL },
    [RF_IDEMPOTENCY_KEY] = { "idempotency_key", FIELDS_TEXT, FIELDS_REQUIRED, 1, RESULTS_KEY_MAX, 0, NULL,
                             results_printable,
                             "idempotency_key must be 1 to " FIELDS_STR(RESULTS_KEY_MAX) " printable ASCII characters",
                             "idempotency_key must be a string" },
    [RF_DECISION_ID] = { "decision_id", FIELDS_UINT, FIELDS_REQUIRED, 1, INT64_MAX, 0, NULL, NULL,
                         "decision_id must be a positive integer", NULL },
    [RF_WORKFLOW] = { "workflow", FIELDS_TEXT, FIELDS_REQUIRED, 1, CATALOG_NAME_MAX, 0, NULL, results_workflow_ok,
                      "workflow must be a catalog workflow's name (its webhook path)", NULL },
    [RF_EXECUTION_ID] = { "execution_id", FIELDS_TEXT, FIELDS_REQUIRED, 1, RESULTS_EXEC_MAX, 0, NULL, results_id_ok,
                          "execution_id must be a string of 1 to " FIELDS_STR(RESULTS_EXEC_MAX)
                          " letters, digits, '_' or '-'", NULL },
    [RF_STATUS] = { "status", FIELDS_ENUM, FIELDS_REQUIRED, 0, 0, -1, results_status, NULL,
                    "status must be \"success\" or \"error\"", NULL },
    [RF_OPPORTUNITIES] = { "opportunities", FIELDS_UINT, FIELDS_REQUIRED, 0, RESULTS_OPPORTUNITIES_MAX, 0, NULL, NULL,
                           "opportunities must be an integer from 0 to " FIELDS_STR(RESULTS_OPPORTUNITIES_MAX), NULL },
    [RF_DURATION_MS] = { "duration_ms", FIELDS_UINT, FIELDS_REQUIRED, 0, RESULTS_DURATION_MAX, 0, NULL, NULL,
                         "duration_ms must be an integer from 0 to " FIELDS_STR(RESULTS_DURATION_MAX), NULL },
    [RF_ERROR] = { "error", FIELDS_TEXT, 0, 0, RESULTS_ERROR_MAX, 0, NULL, NULL,
                   "error must be at most " FIELDS_STR(RESULTS_ERROR_MAX) " characters (without NUL)",
                   "error must be a string or null" },
    [RF_DETAILS] = { "details", FIELDS_OBJECT, 0, 0, 0, 0, NULL, NULL,
                     "details must not hold NUL characters, NaN or Infinity, or nest deeper than 64 levels",
                     "details must be an object or null" },
};

static const struct fields_json results_form = { results_fields, RF_COUNT, "unknown field \"{}\"" };

/* Nonzero when c is JSON white space. */
static int results_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Fail with message fmt about field f. */
#define RESULTS_FAIL(f, ...) do { *field = (f); snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

/* The body as one JSON object: at most RESULTS_BODY_MAX bytes of valid
 * UTF-8 without NUL, strict syntax, nothing after it.  Returns the object
 * (caller frees), or NULL with the message in err and *field "body". */
static json_object *results_doc(const char *body, size_t len, const char **field, char *err, size_t errlen)
{
    json_object *root = NULL;
    json_tokener *tok = NULL;
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
        while (i < len && results_space(body[i]))
            i++;
        if (i < len && body[i] != '{')
            RESULTS_FAIL("body", "the body must be a JSON object");
        RESULTS_FAIL("body", "the body is not valid JSON (truncated)");
    }
    if (te != json_tokener_success || !root)
        RESULTS_FAIL("body", "the body is not valid JSON (%s)", json_tokener_error_desc(te));
    size_t end = (size_t)json_tokener_get_parse_end(tok);
    while (end < len && results_space(body[end]))
        end++;
    if (end != len)
        RESULTS_FAIL("body", "the body holds more than one JSON value");
    if (!json_object_is_type(root, json_type_object))
        RESULTS_FAIL("body", "the body must be a JSON object");
    json_tokener_free(tok);
    return root;
fail:
    if (tok)
        json_tokener_free(tok);       /* json_tokener_free(NULL) is not safe in json-c 0.15 */
    json_object_put(root);
    return NULL;
}

int results_parse(const char *body, size_t len, const char *idempotency_header, struct results_in *out,
                  json_object **doc, const char **field, char *err, size_t errlen)
{
    struct fields_value v[RF_COUNT];
    json_object *root = NULL;
    memset(out, 0, sizeof *out);
    *doc = NULL;
    root = results_doc(body, len, field, err, errlen);
    if (!root || fields_json_parse(&results_form, root, v, field, err, errlen) < 0)
        goto fail;
    out->trigger_id = v[RF_TRIGGER_ID].n;
    out->decision_id = v[RF_DECISION_ID].n;
    memcpy(out->idempotency_key, v[RF_IDEMPOTENCY_KEY].s, v[RF_IDEMPOTENCY_KEY].len);
    out->idempotency_key[v[RF_IDEMPOTENCY_KEY].len] = '\0';
    snprintf(out->workflow, sizeof out->workflow, "%s", v[RF_WORKFLOW].s);
    snprintf(out->execution_id, sizeof out->execution_id, "%s", v[RF_EXECUTION_ID].s);
    out->success = v[RF_STATUS].n == 1;
    out->opportunities = (long)v[RF_OPPORTUNITIES].n;
    out->duration_ms = v[RF_DURATION_MS].n;
    out->error = v[RF_ERROR].s;
    if (idempotency_header) {
        char want[RESULTS_KEY_MAX + 16];
        snprintf(want, sizeof want, "result-%s", out->idempotency_key);
        if (strcmp(idempotency_header, want) != 0)
            RESULTS_FAIL("Idempotency-Key", "the Idempotency-Key header must be \"result-\" + idempotency_key");
    }
    *doc = root;
    *field = NULL;
    err[0] = '\0';
    return 0;
fail:
    json_object_put(root);
    memset(out, 0, sizeof *out);
    return -1;
}
