/* fuzz_results: the body of POST /results (and its Idempotency-Key). */
#include "config.h"
#include "fuzz.h"

#include "results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    /* the body exactly as received: not NUL-terminated, may hold NULs */
    static const char *const headers[] = { NULL, "result-orch-12-crypto-normal-scan" };
    for (size_t h = 0; h < 2; h++) {
        struct results_in in;
        json_object *doc = NULL;
        const char *field = NULL;
        char err[RESULTS_ERR_MAX];
        if (results_parse((const char *)data, size, headers[h], &in, &doc, &field, err, sizeof err) == 0) {
            FUZZ_CHECK(doc != NULL && field == NULL);
            FUZZ_CHECK(in.trigger_id >= 1 && in.decision_id >= 1);
            FUZZ_CHECK(in.opportunities >= 0 && in.opportunities <= RESULTS_OPPORTUNITIES_MAX);
            FUZZ_CHECK(in.duration_ms >= 0 && in.duration_ms <= RESULTS_DURATION_MAX);
            FUZZ_CHECK(fuzz_text_ok(in.execution_id) && fuzz_text_ok(in.idempotency_key));
            FUZZ_CHECK(fuzz_utf8_ok(in.error));
            FUZZ_CHECK(fuzz_json_ok(doc));            /* what record_result() stores */
            json_object_put(doc);
        } else {
            FUZZ_CHECK(doc == NULL && field != NULL);
            FUZZ_CHECK(fuzz_text_ok(err) && fuzz_text_ok(field));   /* the 400 body */
        }
    }
    return 0;
}
