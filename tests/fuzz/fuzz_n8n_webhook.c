/* fuzz_n8n_webhook: the answer of an n8n webhook (the execution id in it). */
#include "config.h"
#include "fuzz.h"

#include "track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *body = fuzz_cstr(data, size);
    char *id = track_parse_webhook_answer(body);
    if (id) {
        size_t n = strlen(id);
        FUZZ_CHECK(n >= 1 && n <= TRACK_ID_MAX);
        for (size_t i = 0; i < n; i++)       /* it goes into a URL path */
            FUZZ_CHECK((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= 'a' && id[i] <= 'z') ||
                       (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-');
        free(id);
    }
    free(body);
    return 0;
}
