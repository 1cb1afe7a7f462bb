/* fuzz_n8n_workflows: a page of n8n's GET /api/v1/workflows answer. */
#include "config.h"
#include "fuzz.h"

#include "track.h"
#include "track_workflows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    struct track_workflows w;
    memset(&w, 0, sizeof w);
    size_t cap = 0;
    char cursor[512];
    /* twice into the same list, as pages are */
    for (int page = 0; page < 2; page++) {
        enum track_err rc = track_parse_workflows((const char *)data, size, &w, &cap, cursor, sizeof cursor);
        FUZZ_CHECK(rc == TRACK_OK || rc == TRACK_EINVALID);
        if (rc == TRACK_OK)
            FUZZ_CHECK(fuzz_text_ok(cursor));
        else
            FUZZ_CHECK(fuzz_text_ok(w.error));
    }
    FUZZ_CHECK(w.n <= cap);
    for (size_t i = 0; i < w.n; i++) {
        FUZZ_CHECK(w.items[i].id[0] != '\0' && fuzz_text_ok(w.items[i].id));
        FUZZ_CHECK(fuzz_text_ok(w.items[i].name) && fuzz_text_ok(w.items[i].webhook_path));
        FUZZ_CHECK(strlen(w.items[i].name) <= TRACK_NAME_MAX);
    }
    json_object *j = track_workflows_json(&w);      /* worker_state.n8n_workflows */
    FUZZ_CHECK(j && fuzz_json_ok(j));
    json_object_put(j);
    track_workflows_free(&w);
    return 0;
}
