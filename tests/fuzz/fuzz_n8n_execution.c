/* fuzz_n8n_execution: n8n's GET /api/v1/executions/{id} answer, and the
 * ISO-8601 times in it. */
#include "config.h"
#include "fuzz.h"

#include "track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    struct track_exec e;
    memset(&e, 0, sizeof e);
    enum track_err rc = track_parse_execution((const char *)data, size, &e);
    FUZZ_CHECK(rc == TRACK_OK || rc == TRACK_EINVALID);
    if (rc == TRACK_OK) {
        FUZZ_CHECK(e.id[0] != '\0' && fuzz_text_ok(e.id));
        FUZZ_CHECK(fuzz_text_ok(e.mode) && fuzz_text_ok(e.workflow_id) && fuzz_text_ok(e.retry_of));
        FUZZ_CHECK(e.status >= TRACK_STATUS_NEW && e.status <= TRACK_STATUS_UNKNOWN);
        FUZZ_CHECK(e.finished == 0 || e.finished == 1);
    } else {
        FUZZ_CHECK(e.error[0] != '\0' && fuzz_text_ok(e.error));
    }
    char *s = fuzz_cstr(data, size);
    long long ms;
    if (track_parse_time(s, &ms) == 0)
        FUZZ_CHECK(ms > -100000000000000LL && ms < 300000000000000LL);   /* years 0000 .. 9999 */
    free(s);
    return 0;
}
