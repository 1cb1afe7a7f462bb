/* fuzz_cfg: configuration values.  Input: "NAME=value" lines; every
 * variable not named takes its default. */
#include "config.h"
#include "fuzz.h"

#include <math.h>

#include "cfg.h"

struct fuzz_env {
    char *text;
};

static const char *fuzz_get(const char *name, void *ctx)
{
    struct fuzz_env *e = ctx;
    size_t n = strlen(name);
    for (char *p = e->text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            if (nl)
                *nl = '\0';      /* the value ends at the line's end (kept cut) */
            return p + n + 1;
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    struct fuzz_env e = { fuzz_cstr(data, size) };
    struct cfg c;
    char err[512];
    err[0] = '\0';
    if (cfg_load_from(&c, fuzz_get, &e, err, sizeof err) == 0) {
        FUZZ_CHECK(c.port >= 1 && c.port <= 65535);
        FUZZ_CHECK(c.decision_min_seconds <= c.decision_max_seconds);
        FUZZ_CHECK(isfinite(c.load_high) && isfinite(c.volatility_high) && isfinite(c.volatility_low) &&
                   isfinite(c.learn_half_life_hours) && isfinite(c.learn_run_cost) && isfinite(c.learn_epsilon) &&
                   isfinite(c.llm_temperature));
        FUZZ_CHECK(fuzz_text_ok(c.n8n_base_url) && fuzz_text_ok(c.dexscreener_query) && fuzz_text_ok(c.forex_pairs));
        cfg_free(&c);
    } else {
        FUZZ_CHECK(err[0] != '\0' && fuzz_utf8_ok(err));
    }
    free(e.text);
    return 0;
}
