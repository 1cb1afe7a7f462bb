/* results: validation of the body of POST /results, what an n8n workflow
 * reports when its scan is done (n8n/README.md, "Report result"):
 *
 *   {"trigger_id":31,"idempotency_key":"orch-12-crypto-normal-scan","decision_id":12,
 *    "workflow":"crypto-normal-scan","execution_id":"45","status":"success",
 *    "opportunities":3,"duration_ms":57,"error":null,"details":{...}}
 *
 * Pure functions (no FastCGI, no database), tested in
 * tests/unit/test_results.c and fuzzed (tests/fuzz/fuzz_results.c).  The
 * body must be valid UTF-8 (PostgreSQL stores nothing else), and every
 * message written to err is valid UTF-8 without control characters.  Like
 * params.c, every field is checked against a declared table (fields.h)
 * before anything uses it: a JSON object (strict syntax,
 * at most RESULTS_BODY_MAX bytes) with exactly these members, unknown ones
 * refused; integers must be JSON integers; error and details may be absent
 * or null.  The message of a refusal names the field (results_parse sets
 * *field to it).  The Idempotency-Key header, when sent, must be
 * "result-" followed by the body's idempotency_key. */
#ifndef RESULTS_H
#define RESULTS_H

#include <json-c/json.h>
#include <stddef.h>

#include "catalog.h"

#define RESULTS_BODY_MAX (64 * 1024)   /* bytes of body accepted */
#define RESULTS_KEY_MAX 95             /* idempotency_key characters */
#define RESULTS_EXEC_MAX 64            /* execution_id characters: [A-Za-z0-9_-] */
#define RESULTS_ERROR_MAX 2000         /* error characters */
#define RESULTS_OPPORTUNITIES_MAX 1000000
#define RESULTS_DURATION_MAX 604800000   /* a week in ms (a plain number: it is spelled in a message) */
#define RESULTS_ERR_MAX 200            /* room for any message results_parse writes */

struct results_in {
    long long trigger_id;                  /* >= 1 */
    long long decision_id;                 /* >= 1 */
    char idempotency_key[RESULTS_KEY_MAX + 1];
    char workflow[CATALOG_NAME_MAX + 1];   /* a valid name (catalog_name_valid) */
    char execution_id[RESULTS_EXEC_MAX + 1];
    int success;                           /* status: 1 "success", 0 "error" */
    long opportunities;                    /* 0 .. RESULTS_OPPORTUNITIES_MAX */
    long long duration_ms;                 /* 0 .. RESULTS_DURATION_MAX */
    const char *error;                     /* borrowed from *doc; NULL when absent or null */
};

/* Validate body[0 .. len) and the Idempotency-Key header value (NULL when
 * absent).  Returns 0 with *out filled and *doc the parsed document (caller
 * frees with json_object_put; out->error points into it), or -1 with a
 * message for the client in err (errlen bytes, RESULTS_ERR_MAX is enough),
 * *field the offending field's name (static; "body" when the document
 * itself is wrong, "Idempotency-Key" for the header) and *doc NULL. */
int results_parse(const char *body, size_t len, const char *idempotency_header, struct results_in *out,
                  json_object **doc, const char **field, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
