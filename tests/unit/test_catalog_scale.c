/* A catalog of 200 workflows (CATALOG_MAX): the decision cycle's own work
 * (menu, fallback, validation of an LLM answer naming any of them), the
 * prompt and the stored menu stay within the bounds below.  The test fails
 * when they grow past them; the figures are printed (README, "Your
 * workflows").  The same catalog runs end to end in tests/e2e/e2e_catalog.sh
 * and in scripts/bench_catalog.sh. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "catalog_file.h"
#include "decide.h"
#include "learn.h"
#include "learn_wf.h"
#include "llm.h"
#include "prompt.h"
#include "sense.h"
#include "seed.h"

/* The bounds (bytes; a token is about 4 characters of this JSON). */
#define SCALE_PROMPT_BYTES 14000        /* system + user message: about 3,500 tokens */
#define SCALE_WORKFLOW_LIST_BYTES (PROMPT_WORKFLOWS_BUDGET + 200)
#define SCALE_MENU_BYTES 24000          /* decisions.menu as stored */
#define SCALE_DECIDE_US 5000            /* menu + fallback + validation, per decision (under ASan) */

static struct cfg cfg;
static struct learn *learn;

/* The 200-workflow catalog of tests/e2e/e2e_catalog.sh, put in force. */
static void install_200(void)
{
    static const char *const ints[] = { "aggressive", "normal", "light", "any" };
    static const char *const sess[] = { "", "\"london\"", "\"newyork\"", "\"sydney\",\"tokyo\"", "\"london\",\"newyork\"" };
    size_t cap = 200 * 400, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    len += (size_t)snprintf(s, cap, "{\"workflows\":[");
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"name\":\"crypto/scan-%03d\",\"title\":\"Crypto scan %d of the desk, pairs group %d\","
                                "\"market\":\"crypto\",\"intensity\":\"%s\",\"needs\":[\"dexscreener\"],"
                                "\"parameters\":{\"group\":%d},\"cost\":%g}",
                                i ? "," : "", i, i, i % 7, ints[i % 4], i % 7, 1 + (i % 3) * 0.5);
    for (int i = 0; i < 96; i++)
        len += (size_t)snprintf(s + len, cap - len, ",{\"name\":\"fx/session-%03d\",\"title\":\"Forex scan %d\","
                                "\"market\":\"forex\",\"sessions\":[%s],\"needs\":[\"tradermade\"]}", i, i, sess[i % 5]);
    for (int i = 0; i < 2; i++)
        len += (size_t)snprintf(s + len, cap - len, ",{\"name\":\"cross-%d\",\"market\":\"both\",\"intensity\":\"aggressive\","
                                "\"concurrency\":\"forbid\"},{\"name\":\"health-%d\",\"market\":\"system\"}", i, i);
    snprintf(s + len, cap - len, "]}");
    char err[CATALOG_FILE_ERR_MAX];
    int n = seed_install_json(s, "200.json", err, sizeof err);
    if (n < 0)
        fail_msg("%s", err);
    assert_int_equal(n, CATALOG_MAX);
    free(s);
}

/* London and New York open, every source healthy, the load low: the
 * largest menu (hybrid: every crypto workflow and the forex ones of the
 * open sessions). */
static void snapshot(struct sense_snapshot *s)
{
    seed_snapshot(s);                     /* the sessions, DexScreener, crypto data valid */
    s->now = 1773763200 + 14 * 3600;      /* 2026-03-17 14:00 UTC, a Tuesday */
    s->probes[FEED_DEXSCREENER] = (struct sense_probe){ .configured = 1, .ok = 1, .http_status = 200 };
    s->probes[FEED_TRADERMADE] = (struct sense_probe){ .configured = 1, .ok = 1, .http_status = 200 };
    s->market.crypto_volatility = 1.2;
    s->market.forex_valid = 1;
    s->load1 = 0.2;
    s->ncpu = 2;
    s->load_per_core = 0.1;
    s->learn = learn;
    s->cfg = &cfg;
}

static int setup(void **state)
{
    (void)state;
    seed_decide_cfg(&cfg);
    install_200();
    learn = malloc(sizeof *learn);
    assert_non_null(learn);
    learn_init(learn, &cfg);
    /* every workflow has a history: the prompt's largest form */
    for (int w = 0; w < catalog_count(); w++)
        for (int k = 0; k < 5; k++)
            learn_wf_observe(learn, w, k % 4 != 0, k + w % 3, 1773763200 + k * 600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(learn);
    catalog_reset();
    return 0;
}

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

static void decision_cycle_within_bounds(void **state)
{
    (void)state;
    struct sense_snapshot *s = malloc(sizeof *s);
    struct decide_menu *m = malloc(sizeof *m);
    struct decide_choice ch, llm;
    assert_non_null(s);
    assert_non_null(m);
    snapshot(s);
    char err[200];
    struct timespec t0, t1;
    const int rounds = 200;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < rounds; i++) {
        s->now += 60;
        decide_menu_build(&cfg, s, m);
        decide_fallback(&cfg, s, m, &ch);
        if (decide_validate(m, &ch, err, sizeof err) < 0)
            fail_msg("the fallback's choice rejected: %s", err);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = elapsed_us(&t0, &t1) / rounds;
    /* every crypto workflow whose intensity is allowed is on the hybrid menu, and the open sessions' forex ones */
    int on = 0;
    for (int w = 0; w < catalog_count(); w++)
        on += m->wf_allowed[MODE_HYBRID][w];
    print_message("200 workflows: %d on the hybrid menu; menu + fallback + validation %.0f us per decision (bound %d)\n",
                  on, us, SCALE_DECIDE_US);
    assert_true(on >= 150);
    assert_true(us <= SCALE_DECIDE_US);
    /* an LLM answer naming any of them is accepted, one off the menu rejected */
    assert_int_equal(llm_parse_answer("{\"mode\":\"hybrid\",\"intensity\":\"light\",\"workflows\":[\"crypto/scan-002\","
                                      "\"fx/session-001\",\"fx/session-004\",\"health-1\"],\"next_decision_seconds\":300,"
                                      "\"reason\":\"four of two hundred\"}", m, &llm, err, sizeof err), LLM_OK);
    assert_int_equal(llm.nwf, 4);
    assert_int_equal(llm_parse_answer("{\"mode\":\"hybrid\",\"intensity\":\"light\",\"workflows\":[\"fx/session-003\"],"
                                      "\"next_decision_seconds\":300,\"reason\":\"Tokyo is closed\"}", m, &llm, err,
                                      sizeof err), LLM_EREJECTED);
    assert_non_null(strstr(err, "fx/session-003 is not on the menu"));
    /* the stored menu is bounded */
    json_object *j = decide_menu_to_json(m);
    size_t menu_bytes = strlen(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    print_message("200 workflows: decisions.menu %zu bytes (bound %d)\n", menu_bytes, SCALE_MENU_BYTES);
    assert_true(menu_bytes <= SCALE_MENU_BYTES);
    free(s);
    free(m);
}

static void prompt_within_bounds(void **state)
{
    (void)state;
    struct prompt_tpl t;
    char err[200];
    assert_int_equal(prompt_load(TOP_SRCDIR "/worker/prompt.txt", &t, err, sizeof err), 0);
    struct sense_snapshot *s = malloc(sizeof *s);
    struct decide_menu *m = malloc(sizeof *m);
    assert_non_null(s);
    assert_non_null(m);
    snapshot(s);
    decide_menu_build(&cfg, s, m);
    char *sys = NULL, *usr = NULL;
    assert_int_equal(prompt_build(&t, &cfg, s, m, &sys, &usr), 0);
    size_t bytes = strlen(sys) + strlen(usr);
    if (getenv("SCALE_PROMPT_OUT")) {          /* to look at it */
        FILE *o = fopen(getenv("SCALE_PROMPT_OUT"), "w");
        if (o) {
            fprintf(o, "%s\n----\n%s\n", sys, usr);
            fclose(o);
        }
    }
    json_object *doc = json_tokener_parse(usr), *aa, *wfs;
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "allowed_actions", &aa));
    assert_true(json_object_object_get_ex(aa, "workflows", &wfs));
    size_t list = strlen(json_object_to_json_string_ext(wfs, JSON_C_TO_STRING_PLAIN));
    /* summarised: names grouped by market/intensity, none omitted */
    json_object *grp;
    assert_true(json_object_object_get_ex(wfs, "crypto/normal", &grp));
    assert_true(json_object_is_type(grp, json_type_array));
    assert_false(json_object_object_get_ex(wfs, "omitted", NULL));
    int listed = 0, on = 0;
    json_object_object_foreach(wfs, key, val) {
        (void)key;
        listed += (int)json_object_array_length(val);
    }
    for (int w = 0; w < catalog_count(); w++)
        on += m->wf_allowed[MODE_HYBRID][w] || m->wf_allowed[MODE_STANDBY][w];
    assert_int_equal(listed, on);
    print_message("200 workflows: prompt %zu bytes, about %zu tokens (bound %d bytes); its workflow list %zu bytes "
                  "(bound %d)\n", bytes, bytes / 4, SCALE_PROMPT_BYTES, list, SCALE_WORKFLOW_LIST_BYTES);
    assert_true(bytes <= SCALE_PROMPT_BYTES);
    assert_true(list <= SCALE_WORKFLOW_LIST_BYTES);
    json_object_put(doc);
    free(sys);
    free(usr);
    free(s);
    free(m);
    prompt_free(&t);
}

/* A small catalog is listed in full (titles, markets, learned figures). */
static void small_catalog_listed_in_full(void **state)
{
    (void)state;
    char err[CATALOG_FILE_ERR_MAX];
    seed_install();
    struct prompt_tpl t;
    assert_int_equal(prompt_load(TOP_SRCDIR "/worker/prompt.txt", &t, err, sizeof err), 0);
    struct sense_snapshot *s = malloc(sizeof *s);
    struct decide_menu *m = malloc(sizeof *m);
    snapshot(s);
    learn_init(learn, &cfg);
    learn_wf_observe(learn, 1, 1, 4, s->now - 60);
    decide_menu_build(&cfg, s, m);
    char *sys = NULL, *usr = NULL;
    assert_int_equal(prompt_build(&t, &cfg, s, m, &sys, &usr), 0);
    if (getenv("SCALE_SEED_PROMPT_OUT")) {
        FILE *o = fopen(getenv("SCALE_SEED_PROMPT_OUT"), "w");
        if (o) {
            fprintf(o, "%s\n----\n%s\n", sys, usr);
            fclose(o);
        }
    }
    json_object *doc = json_tokener_parse(usr), *aa, *wfs, *w, *v;
    assert_true(json_object_object_get_ex(doc, "allowed_actions", &aa));
    assert_true(json_object_object_get_ex(aa, "workflows", &wfs));
    assert_true(json_object_object_get_ex(wfs, "crypto-normal-scan", &w));
    assert_true(json_object_object_get_ex(w, "title", &v));
    assert_string_equal(json_object_get_string(v), "Crypto scan, normal depth");
    assert_true(json_object_object_get_ex(w, "learned", &v));
    assert_true(json_object_object_get_ex(wfs, "forex-london-session", &w));
    assert_true(json_object_object_get_ex(w, "sessions", &v));
    assert_false(json_object_object_get_ex(wfs, "forex-asia-session", NULL));   /* Tokyo and Sydney closed */
    print_message("seed catalog: prompt %zu bytes, about %zu tokens\n", strlen(sys) + strlen(usr),
                  (strlen(sys) + strlen(usr)) / 4);
    json_object_put(doc);
    free(sys);
    free(usr);
    free(s);
    free(m);
    prompt_free(&t);
    install_200();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decision_cycle_within_bounds),
        cmocka_unit_test(prompt_within_bounds),
        cmocka_unit_test(small_catalog_listed_in_full),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
