/* fuzz_query: the API's query strings (GET /decisions, GET /replays). */
#include "config.h"
#include "fuzz.h"

#include "catalog.h"
#include "learning.h"
#include "fields.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *qs = fuzz_cstr(data, size);
    struct params_decisions p;
    char err[PARAMS_ERR_MAX];
    err[0] = '\0';
    if (params_decisions_parse(qs, &p, err, sizeof err) == 0) {
        FUZZ_CHECK(p.limit >= 1 && p.limit <= PARAMS_LIMIT_MAX);
        FUZZ_CHECK(p.before >= 0);
        FUZZ_CHECK(p.mode >= -1 && p.mode < MODE_COUNT);
        FUZZ_CHECK(p.detail == 0 || p.detail == 1);
    } else {
        FUZZ_CHECK(err[0] != '\0' && fuzz_text_ok(err));   /* goes into a 400 body */
    }
    int limit;
    err[0] = '\0';
    if (learning_replays_parse(qs, &limit, err, sizeof err) == 0)
        FUZZ_CHECK(limit >= 1);
    else
        FUZZ_CHECK(err[0] != '\0' && fuzz_text_ok(err));
    /* percent-decoding on its own */
    char out[64];
    long n = fields_decode(qs, strlen(qs), out, sizeof out);
    FUZZ_CHECK(n < (long)sizeof out);
    if (n >= 0)
        FUZZ_CHECK(strlen(out) == (size_t)n);
    free(qs);
    return 0;
}
