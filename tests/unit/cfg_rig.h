/* cfg_rig.h: what test_cfg.c and test_cfg_checks.c share -- a fake
 * environment for cfg_load_from(), so that nothing depends on the real
 * environment of the test run. */
#ifndef CFG_RIG_H
#define CFG_RIG_H

#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "utf8.h"

/* ---- a fake environment ------------------------------------------------- */

#define FAKE_MAX 32

struct fake_env {
    int n;
    const char *name[FAKE_MAX];
    const char *value[FAKE_MAX];
    int asked;                      /* how many lookups the loader made */
    char asked_names[256][96];      /* copies: X_FILE names live on the loader's stack */
};

static inline const char *fake_get(const char *name, void *ctx)
{
    struct fake_env *e = ctx;
    if (e->asked < 256)
        snprintf(e->asked_names[e->asked], sizeof e->asked_names[0], "%s", name);
    e->asked++;
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0)
            return e->value[i];
    return NULL;
}

static inline void fake_set(struct fake_env *e, const char *name, const char *value)
{
    assert_true(e->n < FAKE_MAX);
    e->name[e->n] = name;
    e->value[e->n] = value;
    e->n++;
}

/* Load c from the NULL-terminated list of name, value pairs.  Returns what
 * cfg_load_from returned; err receives the message. */
static inline int load_with(struct cfg *c, char *err, size_t errlen, ...)
{
    struct fake_env e;
    memset(&e, 0, sizeof e);
    va_list ap;
    va_start(ap, errlen);
    for (;;) {
        const char *name = va_arg(ap, const char *);
        if (!name)
            break;
        const char *value = va_arg(ap, const char *);
        fake_set(&e, name, value);
    }
    va_end(ap);
    err[0] = '\0';
    return cfg_load_from(c, fake_get, &e, err, errlen);
}

/* After a failed load the struct must hold nothing at all: every string
 * pointer NULL (so there is nothing to free and nothing dangling). */
static inline void assert_cfg_empty(const struct cfg *c)
{
    const char *const strs[] = {
        c->database_url, c->api_database_url, c->api_token, c->log_level, c->n8n_base_url,
        c->n8n_auth_header, c->n8n_auth_value, c->dexscreener_base_url, c->dexscreener_query,
        c->pumpfun_base_url, c->tradermade_base_url, c->tradermade_api_key, c->forex_pairs,
        c->birdeye_base_url, c->birdeye_api_key, c->groq_api_key, c->groq_base_url, c->groq_model,
        c->openai_api_key, c->openai_base_url, c->openai_model, c->llm_base_url, c->llm_api_key,
        c->llm_model, c->llm_prompt_file, c->log_file, c->listen, c->url,
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        assert_null(strs[i]);
}

/* One variable set to one bad value must fail, and the message must name it. */
static inline void expect_reject(const char *name, const char *value, const char *also)
{
    struct cfg c;
    char err[512];
    memset(&c, 0x5a, sizeof c);    /* garbage in: the loader must not trust it */
    int rc = load_with(&c, err, sizeof err, name, value, (const char *)NULL);
    if (rc != -1)
        fail_msg("%s=\"%s\" was accepted", name, value);
    if (!strstr(err, name))
        fail_msg("%s=\"%s\": message does not name the variable: \"%s\"", name, value, err);
    if (also && !strstr(err, also))
        fail_msg("%s=\"%s\": message lacks \"%s\": \"%s\"", name, value, also, err);
    assert_cfg_empty(&c);
    cfg_free(&c);                  /* a no-op on the emptied struct */
}

static inline void expect_accept(const char *name, const char *value)
{
    struct cfg c;
    char err[512];
    int rc = load_with(&c, err, sizeof err, name, value, (const char *)NULL);
    if (rc != 0)
        fail_msg("%s=\"%s\" was rejected: %s", name, value, err);
    cfg_free(&c);
}

#endif
