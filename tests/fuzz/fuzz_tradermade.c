/* fuzz_tradermade: TraderMade's /live answer, with previous quotes to move from. */
#include "config.h"
#include "fuzz_sense.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *body = fuzz_cstr(data, size);
    struct sense_memory mem = { .nquotes = 2, .quotes = { { "EURUSD", 1.085 }, { "GBPUSD", 1e-12 } } };
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    if (sense_parse_tradermade(body, FUZZ_NOW, &mem, &m, err, sizeof err) < 0) {
        fuzz_sense_err(err);
        FUZZ_CHECK(!m.forex_valid && m.nquotes == 0);
    } else {
        FUZZ_CHECK(m.forex_valid && m.nquotes >= 1);
    }
    fuzz_sense_check(&m);
    free(body);
    return 0;
}
