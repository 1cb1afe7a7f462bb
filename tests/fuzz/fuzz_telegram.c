/* fuzz_telegram: the Bot API's sendMessage answer.  Input: the retry-after
 * header value up to the first newline, then the body. */
#include "config.h"
#include "fuzz.h"

#include "alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *s = fuzz_cstr(data, size);
    const char *hdr, *body;
    size_t blen;
    fuzz_split_line(s, size, &hdr, &body, &blen);
    int ok;
    char desc[256];
    long ra;
    alert_parse_answer(body, blen, hdr, &ok, desc, sizeof desc, &ra);
    FUZZ_CHECK(ok == 0 || ok == 1);
    FUZZ_CHECK(ra >= -1 && ra <= ALERT_RETRY_AFTER_MAX);
    FUZZ_CHECK(fuzz_text_ok(desc));
    alert_scrub(desc, sizeof desc, "123456:ABCdef");
    FUZZ_CHECK(fuzz_text_ok(desc) && !strstr(desc, "123456:ABCdef"));
    free(s);
    return 0;
}
