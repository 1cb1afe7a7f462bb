/* fuzz_n8n_execution: n8n's GET /api/v1/executions/{id} answer, the
 * ISO-8601 times in it, and a page of GET /api/v1/executions?includeData=
 * true searched for an idempotency key (track_find.h). */
#include "config.h"
#include "fuzz.h"

#include "track.h"
#include "track_find.h"

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
    struct track_found fd;
    memset(&fd, 0, sizeof fd);
    fd.result = TRACK_UNDECIDED;
    char cursor[256];
    int older = 0;
    rc = track_find_page((const char *)data, size, "orch-12-crypto-normal-scan", 1742202000000LL, &fd, &older,
                         cursor, sizeof cursor);
    FUZZ_CHECK(rc == TRACK_OK || rc == TRACK_EINVALID);
    FUZZ_CHECK(fd.result == TRACK_FOUND || fd.result == TRACK_UNDECIDED);
    FUZZ_CHECK(older == 0 || older == 1);
    FUZZ_CHECK(fd.unreadable >= 0 && fd.unreadable <= fd.executions);
    if (fd.result == TRACK_FOUND)
        FUZZ_CHECK(rc == TRACK_OK && fd.execution_id[0] != '\0' && fuzz_text_ok(fd.execution_id) && fuzz_text_ok(fd.status));
    if (rc == TRACK_OK)
        FUZZ_CHECK(strlen(cursor) < sizeof cursor && fuzz_text_ok(cursor));
    else
        FUZZ_CHECK(fd.error[0] != '\0' && fuzz_text_ok(fd.error));
    char *s = fuzz_cstr(data, size);
    long long ms;
    if (track_parse_time(s, &ms) == 0)
        FUZZ_CHECK(ms > -100000000000000LL && ms < 300000000000000LL);   /* years 0000 .. 9999 */
    free(s);
    return 0;
}
