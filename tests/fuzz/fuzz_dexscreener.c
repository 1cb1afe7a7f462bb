/* fuzz_dexscreener: DexScreener's search answer and its token profiles. */
#include "config.h"
#include "fuzz_sense.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *body = fuzz_cstr(data, size);
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    if (sense_parse_dexscreener(body, FUZZ_NOW, &m, err, sizeof err) < 0) {
        fuzz_sense_err(err);
        FUZZ_CHECK(!m.crypto_valid);
    }
    if (sense_parse_profiles(body, &m, err, sizeof err) < 0)
        fuzz_sense_err(err);
    fuzz_sense_check(&m);
    free(body);
    return 0;
}
