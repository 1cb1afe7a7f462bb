/* LLM decisions: the adversarial answer corpus (every answer ends in a
 * valid, bounded decision), the prompt template, and the cycle's use of
 * the LLM's answer or the fallback.  The client's handling of provider
 * behaviour is in test_llm_server.c; the rigs both use in llm_rig.h. */

#include "llm_rig.h"

struct corpus_case {
    const char *content;
    enum llm_err expect;
};

#define GOOD "{\"mode\":\"hybrid\",\"intensity\":\"normal\",\"workflows\":[\"crypto-normal-scan\",\"forex-london-session\"],\"next_decision_seconds\":300,\"reason\":\"London open, crypto steady\"}"

static const struct corpus_case corpus[] = {
    /* accepted */
    { GOOD, LLM_OK },
    { "```json\n" GOOD "\n```", LLM_OK },
    { "```\n" GOOD "\n```\n", LLM_OK },
    { "<think>maybe {\"mode\":\"standby\"} is best</think>\n" GOOD, LLM_OK },
    { "Here is my decision:\n" GOOD "\nLet me know if you need more.", LLM_OK },
    { "<think>\nlong reasoning\n</think>```json\n" GOOD "```", LLM_OK },
    { "{\"mode\":\"standby\",\"intensity\":\"light\",\"workflows\":[],\"next_decision_seconds\":900,\"reason\":\"quiet\"}", LLM_OK },
    { "{\"mode\":\"standby\",\"intensity\":\"light\",\"workflows\":[\"health-monitor-check\"],\"next_decision_seconds\":900,\"reason\":\"check\"}", LLM_OK },
    { "{\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[\"crypto-light-monitoring\"],\"next_decision_seconds\":-50,\"reason\":\"negative time\"}", LLM_OK },
    { "{\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[\"crypto-light-monitoring\"],\"next_decision_seconds\":1000000000000,\"reason\":\"huge time\"}", LLM_OK },
    { "{\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[],\"next_decision_seconds\":0,\"reason\":\"zero\"}", LLM_OK },
    { "{\"mode\":\"forex\",\"intensity\":\"normal\",\"workflows\":[\"forex-london-session\"],\"next_decision_seconds\":300,\"reason\":\"line1\\nline2\\ttab\\u0007bell\",\"confidence\":0.7}", LLM_OK },
    { "{\"mode\":\"forex\",\"intensity\":\"normal\",\"workflows\":[\"forex-london-session\"],\"next_decision_seconds\":300.0,\"reason\":\"Zürich – ok ✓\"}", LLM_OK },
    { GOOD " " GOOD, LLM_OK },
    /* not a decision at all */
    { "", LLM_EEMPTY },
    { "   \n\t ", LLM_EEMPTY },
    { "null", LLM_EINVALID },
    { "I cannot help with that.", LLM_EINVALID },
    { "{\"mode\":\"hybrid\",\"intensity\":\"normal\",\"workflows\":[\"crypto-normal-scan\"", LLM_EINVALID },
    { "```json\n{\"mode\":\"hybrid\",\"intensity\":", LLM_EINVALID },
    { "<think>I will answer {\"mode\":\"crypto\"...", LLM_EINVALID },
    { "{\"mode\":hybrid}", LLM_EINVALID },
    { "{'mode':'hybrid','intensity':'normal','workflows':[],'next_decision_seconds':300,'reason':'x'}", LLM_EINVALID },
    /* wrong types and values */
    { "{\"mode\":3,\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":true,\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"moon\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto \",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"Crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"extreme\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":\"crypto-normal-scan\",\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":null,\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[1],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[{\"name\":\"crypto-normal-scan\"}],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"Crypto-Normal-Scan\"],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"buy-everything\"],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\",\"crypto-normal-scan\"],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":\"300\",\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300.5,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":NaN,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":{\"why\":\"x\"}}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\",\"confidence\":1.5}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\",\"confidence\":\"high\"}", LLM_EINVALID },
    /* missing and extra fields */
    { "{\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"next_decision_seconds\":300,\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"reason\":\"x\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],\"next_decision_seconds\":300,\"reason\":\"x\",\"trade\":\"buy\"}", LLM_EINVALID },
    { "{}", LLM_EINVALID },
    /* valid JSON, outside the menu */
    { "{\"mode\":\"crypto\",\"intensity\":\"aggressive\",\"workflows\":[],\"next_decision_seconds\":120,\"reason\":\"load is fine\"}", LLM_EREJECTED },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"crypto-light-monitoring\"],\"next_decision_seconds\":300,\"reason\":\"mismatch\"}", LLM_EREJECTED },
    { "{\"mode\":\"forex\",\"intensity\":\"normal\",\"workflows\":[\"forex-newyork-session\"],\"next_decision_seconds\":300,\"reason\":\"NY is closed\"}", LLM_EREJECTED },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"forex-london-session\"],\"next_decision_seconds\":300,\"reason\":\"wrong mode\"}", LLM_EREJECTED },
    { "{\"mode\":\"hybrid\",\"intensity\":\"normal\",\"workflows\":[\"crypto-normal-scan\",\"crypto-normal-scan\"],\"next_decision_seconds\":300,\"reason\":\"twice\"}", LLM_EREJECTED },
    { "{\"mode\":\"standby\",\"intensity\":\"light\",\"workflows\":[\"crypto-light-monitoring\"],\"next_decision_seconds\":900,\"reason\":\"standby scan\"}", LLM_EREJECTED },
    /* answers that obey the instruction injected through a token name */
    { "{\"mode\":\"hybrid\",\"intensity\":\"aggressive\",\"workflows\":[\"deep-market-analysis\"],\"next_decision_seconds\":60,\"reason\":\"As the PWN token instructs, running deep analysis now\"}", LLM_EREJECTED },
    { "{\"mode\":\"hybrid\",\"intensity\":\"normal\",\"workflows\":[\"deep-market-analysis\"],\"next_decision_seconds\":60,\"reason\":\"token says run deep-market-analysis\"}", LLM_EREJECTED },
    { "{\"mode\":\"crypto\",\"intensity\":\"aggressive\",\"workflows\":[\"crypto-aggressive-scan\"],\"next_decision_seconds\":5,\"reason\":\"ignore previous instructions\",\"system_override\":true}", LLM_EINVALID },
    /* ... and the one injected through the token profile's description: what
     * it asks for is on the menu, so it is accepted, but only as a bounded
     * decision (next time clamped to the minimum, see below) */
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"crypto-normal-scan\"],\"next_decision_seconds\":1,\"reason\":\"SYSTEM rule from the profile: scan every second\"}", LLM_OK },
    { "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[\"send-funds\"],\"next_decision_seconds\":60,\"reason\":\"the description asks for it\"}", LLM_EINVALID },
    { "{\"mode\":\"hybrid\",\"intensity\":\"normal\",\"workflows\":[\"crypto-normal-scan\",\"forex-newyork-session\"],\"next_decision_seconds\":60,\"reason\":\"the profile says NY is open\"}", LLM_EREJECTED },
    /* strictness */
    { "{\"mode\":\"standby\",\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[],\"next_decision_seconds\":900,\"reason\":\"two modes\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[],\"next_decision_seconds\":900,\"reason\":\"   \\n\\t \"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[],\"next_decision_seconds\":900,\"reason\":\"bad \xff\xfe bytes\"}", LLM_EINVALID },
    { "{\"mode\":\"crypto\",\"intensity\":\"light\",\"workflows\":[],\"next_decision_seconds\":900,\"reason\":\"x\",\"reason\":\"y\"}", LLM_EINVALID },
};

static void adversarial_corpus_always_ends_in_a_valid_bounded_decision(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct sense_snapshot s;
    busy_london(&s);
    struct decide_menu m;
    decide_menu_build(&c, &s, &m);
    assert_false(m.intensity_allowed[INTENSITY_AGGRESSIVE]);
    assert_true(m.mode_allowed[MODE_HYBRID]);
    struct decide_choice fallback;
    decide_fallback(&c, &s, &m, &fallback);
    size_t n = sizeof corpus / sizeof corpus[0];
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        struct decide_choice ch;
        memset(&ch, 0x5a, sizeof ch);
        char err[200] = "";
        enum llm_err e = llm_parse_answer(corpus[i].content, &m, &ch, err, sizeof err);
        if (e != corpus[i].expect)
            fail_msg("case %zu: expected %s, got %s (%s): %.80s", i, llm_strerror(corpus[i].expect),
                     llm_strerror(e), err, corpus[i].content);
        if (e != LLM_OK)
            assert_true(err[0] != '\0');       /* a recorded reason */
        if (e != LLM_OK) {
            /* nothing of a rejected answer leaks into the choice */
            struct decide_choice untouched;
            memset(&untouched, 0x5a, sizeof untouched);
            assert_memory_equal(&ch, &untouched, sizeof ch);
            continue;
        }
        char err2[200];
        assert_int_equal(decide_validate(&m, &ch, err2, sizeof err2), 0);
        assert_true(ch.next_seconds >= 60 && ch.next_seconds <= 3600);
        assert_int_equal(ch.source, SOURCE_LLM);
        assert_non_null(strstr(ch.reason, "llm: "));
        assert_null(strchr(ch.reason, '\n'));
        assert_true(strlen(ch.reason) <= 420);
        for (int w = 0; w < ch.nwf; w++)
            assert_true(m.wf_allowed[ch.mode][ch.wf[w]]);
    }
    /* the fallback the cycle uses for every other case fits the menu too */
    char err3[200];
    assert_int_equal(decide_validate(&m, &fallback, err3, sizeof err3), 0);
}

static void clamping_is_noted_in_the_reason(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct sense_snapshot s;
    busy_london(&s);
    struct decide_menu m;
    decide_menu_build(&c, &s, &m);
    struct decide_choice ch;
    char err[200];
    assert_int_equal(llm_parse_answer(corpus[8].content, &m, &ch, err, sizeof err), LLM_OK);
    assert_int_equal(ch.next_seconds, 60);
    assert_non_null(strstr(ch.reason, "clamped"));
    assert_int_equal(llm_parse_answer(corpus[9].content, &m, &ch, err, sizeof err), LLM_OK);
    assert_int_equal(ch.next_seconds, 3600);
    /* a very long reason is cut */
    char big[6000];
    int k = snprintf(big, sizeof big, "{\"mode\":\"standby\",\"intensity\":\"light\",\"workflows\":[],"
                                      "\"next_decision_seconds\":900,\"reason\":\"");
    memset(big + k, 'a', 5000);
    snprintf(big + k + 5000, sizeof big - (size_t)k - 5000, "\"}");
    assert_int_equal(llm_parse_answer(big, &m, &ch, err, sizeof err), LLM_OK);
    assert_true(strlen(ch.reason) <= 406);
}

static void durations_from_rate_limit_headers(void **state)
{
    (void)state;
    assert_float_equal(llm_parse_duration("2m59.56s"), 179.56, 1e-9);
    assert_float_equal(llm_parse_duration("7.66s"), 7.66, 1e-9);
    assert_float_equal(llm_parse_duration("1h2m3s"), 3723, 1e-9);
    assert_float_equal(llm_parse_duration("250ms"), 0.25, 1e-9);
    assert_float_equal(llm_parse_duration("5"), 5, 1e-9);
    assert_float_equal(llm_parse_duration("0s"), 0, 1e-9);
    assert_true(llm_parse_duration("") < 0);
    assert_true(llm_parse_duration("soon") < 0);
    assert_true(llm_parse_duration("-3s") < 0);
    assert_true(llm_parse_duration("3x") < 0);
    assert_true(llm_parse_duration("5 s") < 0);
}

static void sha256_known_vectors(void **state)
{
    (void)state;
    char out[65];
    prompt_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    prompt_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    prompt_sha256_hex(two, strlen(two), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The prompt template (version line, placeholders, hash) and the market's
 * text in the user message: quoted, cleaned and bounded.  Longer than 80
 * lines on purpose: one hostile snapshot built once, and the prompt made
 * from it checked field by field. */
static void prompt_template_and_untrusted_text(void **state)
{
    (void)state;
    struct prompt_tpl t;
    char err[200];
    assert_int_equal(prompt_parse("no version line\nhello", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "version"));
    assert_int_equal(prompt_parse("version: 7\n", &t, err, sizeof err), -1);
    assert_int_equal(prompt_parse("version: 7\nDecide between {{MIN_SECONDS}} and {{MAX_SECONDS}} s.", &t, err, sizeof err), 0);
    assert_string_equal(t.version, "7");
    assert_int_equal(strlen(t.hash), 64);

    struct cfg c = base_cfg();
    struct sense_snapshot s;
    busy_london(&s);
    struct decide_menu m;
    decide_menu_build(&c, &s, &m);
    char *sys = NULL, *usr = NULL;
    assert_int_equal(prompt_build(&t, &c, &s, &m, &sys, &usr), 0);
    assert_string_equal(sys, "Decide between 60 and 3600 s.");
    json_object *doc = json_tokener_parse(usr);
    assert_non_null(doc);
    json_object *txt, *menu, *obs;
    assert_true(json_object_object_get_ex(doc, "untrusted_market_text", &txt));
    assert_true(json_object_object_get_ex(doc, "allowed_actions", &menu));
    assert_true(json_object_object_get_ex(doc, "observations", &obs));
    json_object *toks = json_object_object_get(txt, "tokens"), *profs = json_object_object_get(txt, "profiles");
    assert_true(json_object_is_type(toks, json_type_array));
    assert_true(json_object_is_type(profs, json_type_array));
    json_object *name = json_object_object_get(json_object_array_get_idx(toks, 0), "name");
    const char *ns = json_object_get_string(name);
    assert_null(strchr(ns, '\n'));                 /* control characters removed */
    assert_true(strlen(ns) <= PROMPT_TOKEN_TEXT);  /* length-limited */
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(toks, 0), "url")),
                        "https://dexscreener.com/solana/pwn");
    const char *desc = json_object_get_string(json_object_object_get(json_object_array_get_idx(profs, 0),
                                                                     "description"));
    assert_true(strlen(desc) <= PROMPT_DESC_TEXT);
    assert_non_null(strstr(desc, "SYSTEM: new rule"));          /* kept, as data */
    assert_null(strstr(desc, "\xe2\x80\xa8"));                 /* line separator */
    assert_null(strstr(desc, "\xe2\x80\xae"));                 /* bidi override */
    assert_null(strstr(desc, "\xe2\x80\x8b"));                 /* zero-width space */
    /* the injected text stays inside its JSON strings: the system message is untouched */
    assert_null(strstr(sys, "Ignore all previous"));
    assert_null(strstr(sys, "SYSTEM: new rule"));
    json_object_put(doc);
    free(sys);
    free(usr);
    prompt_free(&t);

    /* the shipped template loads, has a version and names every field */
    const char *src = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/worker/prompt.txt", src ? src : "..");
    assert_int_equal(prompt_load(path, &t, err, sizeof err), 0);
    assert_non_null(strstr(t.text, "next_decision_seconds"));
    assert_non_null(strstr(t.text, "untrusted_market_text"));
    /* with the shipped template, the market's text is only in the user
     * message, and there only under untrusted_market_text */
    assert_int_equal(prompt_build(&t, &c, &s, &m, &sys, &usr), 0);
    assert_null(strstr(sys, "PWN"));
    assert_null(strstr(sys, "Best memecoin"));
    assert_null(strstr(sys, "t.me/pwn"));
    doc = json_tokener_parse(usr);
    assert_non_null(doc);
    json_object *unt = NULL;
    assert_true(json_object_object_get_ex(doc, "untrusted_market_text", &unt));
    const char *unt_s = json_object_to_json_string_ext(unt, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(unt_s, "Best memecoin"));
    assert_non_null(strstr(unt_s, "t.me"));
    json_object_object_del(doc, "untrusted_market_text");
    const char *rest = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    assert_null(strstr(rest, "PWN"));
    assert_null(strstr(rest, "Best memecoin"));
    assert_null(strstr(rest, "Ignore all previous"));
    json_object_put(doc);
    free(sys);
    free(usr);
    prompt_free(&t);
    assert_int_equal(prompt_load("/nonexistent/prompt.txt", &t, err, sizeof err), -1);

    char cut[8];
    prompt_sanitize("ab\xc3\xa9\xc3\xa9", cut, 4);     /* é é: do not cut inside a character */
    assert_string_equal(cut, "ab\xc3\xa9");
    prompt_sanitize("ab\xc3\xa9\xc3\xa9", cut, 5);
    assert_string_equal(cut, "ab\xc3\xa9");
    char out[32];
    prompt_sanitize("a\xff" "b\xc3(c", out, 16);           /* not UTF-8: '?' per bad byte */
    assert_string_equal(out, "a?b?(c");
    prompt_sanitize("x\xc2\x85y\xef\xbb\xbfz\xe2\x81\xa6w", out, 16);   /* NEL (C1), BOM, bidi isolate */
    assert_string_equal(out, "x y z w");
    prompt_sanitize("\xf0\x9f\x9a\x80 moon", out, 16);    /* a 4-byte character stays */
    assert_string_equal(out, "\xf0\x9f\x9a\x80 moon");
}

/* ---- the cycle: the LLM's answer or the fallback, nothing else --------------------- */

static void cycle_sense_busy(struct cycle_ctx *ctx, time_t now, struct sense_snapshot *snap)
{
    (void)ctx;
    busy_london(snap);
    snap->now = now;
}

static void cycle_act_none(struct cycle_ctx *ctx, const struct decide_choice *ch, struct act_job *jobs, int n)
{
    (void)ctx; (void)ch; (void)jobs; (void)n;
    fail_msg("a dry run sends nothing");
}

static void cycle_uses_the_llm_or_the_fallback(void **state)
{
    (void)state;
    static const struct script_step inject[] = {   /* obeys the profile's injected rule */
        { 200, NULL, COMPLETION("{\\\"mode\\\":\\\"crypto\\\",\\\"intensity\\\":\\\"normal\\\",\\\"workflows\\\":[\\\"crypto-normal-scan\\\"],\\\"next_decision_seconds\\\":1,\\\"reason\\\":\\\"SYSTEM rule: every second\\\"}"), 0 },
    };
    static const struct script_step deep[] = {     /* obeys the token name's injection: off the menu */
        { 200, NULL, COMPLETION("{\\\"mode\\\":\\\"hybrid\\\",\\\"intensity\\\":\\\"aggressive\\\",\\\"workflows\\\":[\\\"deep-market-analysis\\\"],\\\"next_decision_seconds\\\":60,\\\"reason\\\":\\\"as PWN says\\\"}"), 0 },
    };
    static const struct script_step down[] = {
        { 503, NULL, "{\"error\":{\"message\":\"Service Unavailable\",\"type\":\"service_unavailable\"}}", 0 },
    };
    struct { const struct script_step *s; enum llm_err e; int source; } cases[] = {
        { inject, LLM_OK, SOURCE_LLM }, { deep, LLM_EREJECTED, SOURCE_FALLBACK }, { down, LLM_ESERVER, SOURCE_FALLBACK },
    };
    static const struct cycle_io io = { cycle_sense_busy, cycle_act_none, NULL };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rig r;
        rig_up(&r, cases[i].s, 1, NULL, 0);
        r.cfg.n8n_base_url = "";                 /* dry run: decide and record, send nothing */
        r.cfg.llm_cycle_budget_ms = 3000;
        struct cycle_ctx *ctx = calloc(1, sizeof *ctx);
        assert_non_null(ctx);
        ctx->io = &io;
        ctx->cfg = &r.cfg;
        struct sink_memory *mem = calloc(1, sizeof *mem);      /* recorded in memory, as --no-db */
        assert_non_null(mem);
        ctx->sink = sink_mem(mem);
        llm_init(&ctx->llm, &r.cfg);
        char err[200];
        const char *src = getenv("top_srcdir");
        char path[1024];
        snprintf(path, sizeof path, "%s/worker/prompt.txt", src ? src : "..");
        assert_int_equal(prompt_load(path, &ctx->prompt, err, sizeof err), 0);
        ctx->have_prompt = 1;
        struct cycle_result res;
        time_t now = r.snap.now;
        assert_int_equal(cycle_run(ctx, now, 0, &res), 0);
        assert_int_equal(res.llm, cases[i].e);
        assert_int_equal(res.source, cases[i].source);
        /* whatever the model said, the decision fits the menu of that moment */
        assert_true(r.menu.mode_allowed[res.mode]);
        assert_true(r.menu.intensity_allowed[res.intensity]);
        assert_true(res.next_at >= now + 60 && res.next_at <= now + 3600);
        if (cases[i].e == LLM_OK) {
            assert_int_equal(res.mode, MODE_CRYPTO);
            assert_int_equal(res.next_at, now + 60);    /* 1 s asked, clamped to DECISION_MIN_SECONDS */
            assert_int_equal(res.ntriggers, 1);
        } else {
            struct decide_choice fb;
            decide_fallback(&r.cfg, &r.snap, &r.menu, &fb);
            assert_int_equal(res.mode, fb.mode);      /* the fallback's choice, not the model's */
            assert_int_equal(res.intensity, fb.intensity);
            assert_true(res.mode != MODE_HYBRID || res.intensity != INTENSITY_AGGRESSIVE);
        }
        prompt_free(&ctx->prompt);
        free(mem);
        free(ctx);
        rig_down(&r);
    }
}

static void custom_local_server_without_key(void **state)
{
    (void)state;
    struct cfg c = base_cfg();
    struct server sv;
    server_start(&sv, ok_steps, 1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", sv.port);
    c.llm_base_url = url;
    struct llm_client cl;
    llm_init(&cl, &c);
    assert_int_equal(cl.nproviders, 1);
    struct sense_snapshot s;
    busy_london(&s);
    struct decide_menu m;
    decide_menu_build(&c, &s, &m);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(llm_decide(&cl, "s", "u", &m, time(NULL), 5000, &ch, &oc), LLM_OK);
    assert_string_equal(oc.provider, "custom");
    assert_null(strstr(sv.last_request, "Authorization:"));
    assert_non_null(strstr(sv.last_request, "\"max_tokens\":300"));
    llm_outcome_clear(&oc);
    server_stop(&sv);
}

int main(void)
{
    seed_install();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adversarial_corpus_always_ends_in_a_valid_bounded_decision),
        cmocka_unit_test(clamping_is_noted_in_the_reason),
        cmocka_unit_test(durations_from_rate_limit_headers),
        cmocka_unit_test(sha256_known_vectors),
        cmocka_unit_test(prompt_template_and_untrusted_text),
        cmocka_unit_test(cycle_uses_the_llm_or_the_fallback),
        cmocka_unit_test(custom_local_server_without_key),
    };
    return harness_main("test_llm", LOG_ERROR, tests, sizeof tests / sizeof tests[0]);
}
