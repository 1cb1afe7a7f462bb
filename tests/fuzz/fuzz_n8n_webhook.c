/* fuzz_n8n_webhook: the answer of an n8n webhook: the execution id in it,
 * its classification, the excerpt stored with the trigger, and the input
 * as a retry-after header value. */
#include "config.h"
#include "fuzz.h"

#include "act.h"
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
    char ex[512];
    act_excerpt(ex, sizeof ex, (const char *)data, size);      /* triggers.response */
    FUZZ_CHECK(fuzz_text_ok(ex) && strlen(ex) < sizeof ex);
    enum act_status st = act_classify(1, 200, body);
    FUZZ_CHECK(fuzz_text_ok(act_status_name(st)));
    st = act_classify(1, 404, body);
    FUZZ_CHECK(fuzz_text_ok(act_status_name(st)));
    long ms = act_retry_after_ms(body, 1770818400);
    FUZZ_CHECK(ms >= -1 && ms <= 86400L * 1000L);
    free(body);
    return 0;
}
