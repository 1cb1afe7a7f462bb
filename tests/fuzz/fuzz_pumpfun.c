/* fuzz_pumpfun: Pump.fun's coin answer (one coin or a list). */
#include "config.h"
#include "fuzz_sense.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *body = fuzz_cstr(data, size);
    struct sense_market m;
    char err[160];
    memset(&m, 0, sizeof m);
    if (sense_parse_pumpfun(body, &m, err, sizeof err) < 0)
        fuzz_sense_err(err);
    fuzz_sense_check(&m);
    free(body);
    return 0;
}
