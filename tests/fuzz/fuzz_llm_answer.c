/* fuzz_llm_answer: the model's answer text (message content), parsed
 * strictly and validated against a menu that allows everything. */
#include "config.h"
#include "fuzz.h"

#include "llm.h"
#include "seed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    static struct decide_menu menu;
    if (!menu.max_seconds) {
        seed_install();                  /* the shipped catalog's names are the menu's */
        for (int m = 0; m < MODE_COUNT; m++) {
            menu.mode_allowed[m] = 1;
            for (int w = 0; w < WF_COUNT; w++)
                menu.wf_allowed[m][w] = 1;
        }
        for (int i = 0; i < INTENSITY_COUNT; i++)
            menu.intensity_allowed[i] = 1;
        menu.min_seconds = 60;
        menu.max_seconds = 3600;
        menu.crypto_ok = menu.forex_ok = 1;
    }
    char *content = fuzz_cstr(data, size);
    struct decide_choice ch;
    char err[200];
    err[0] = '\0';
    enum llm_err e = llm_parse_answer(content, &menu, &ch, err, sizeof err);
    if (e == LLM_OK) {
        FUZZ_CHECK(ch.mode >= 0 && ch.mode < MODE_COUNT);
        FUZZ_CHECK(ch.intensity >= 0 && ch.intensity < INTENSITY_COUNT);
        FUZZ_CHECK(ch.nwf >= 0 && ch.nwf <= WF_COUNT && ch.nwf <= DECIDE_MAX_WF);
        FUZZ_CHECK(ch.next_seconds >= menu.min_seconds && ch.next_seconds <= menu.max_seconds);
        FUZZ_CHECK(fuzz_text_ok(ch.reason));       /* stored and shown */
    } else {
        FUZZ_CHECK(e == LLM_EEMPTY || e == LLM_EINVALID || e == LLM_EREJECTED);
        FUZZ_CHECK(fuzz_utf8_ok(err));             /* stored in the audit */
    }
    free(content);
    return 0;
}
