/* fuzz_dexscreener: DexScreener's search answer (as the decisions' probe and
 * the minute-by-minute watch read it) and its token profiles. */
#include "config.h"
#include "fuzz_sense.h"

#include <ctype.h>
#include <math.h>

#include "watch_live.h"

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
    /* the watch's reading: the most liquid pairs' prices, named dex:<address> */
    struct watch_live_price p[WATCH_DEX_PAIRS];
    int k = watch_live_parse_dex(body, p, WATCH_DEX_PAIRS, err, sizeof err);
    FUZZ_CHECK(k >= -1 && k <= WATCH_DEX_PAIRS);
    if (k < 0)
        FUZZ_CHECK(fuzz_utf8_ok(err) && err[0]);
    for (int i = 0; i < k; i++) {
        FUZZ_CHECK(strncmp(p[i].name, "dex:", 4) == 0 && p[i].name[4]);
        for (const char *c = p[i].name + 4; *c; c++)
            FUZZ_CHECK(isalnum((unsigned char)*c));
        FUZZ_CHECK(isfinite(p[i].price) && p[i].price > 0);
    }
    free(body);
    return 0;
}
