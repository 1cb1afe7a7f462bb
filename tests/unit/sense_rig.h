/* sense_rig.h: what test_sense.c and test_sense_json.c share -- the
 * shared data directory (../shared/data), reading a file whole, the recorded
 * DexScreener sample (loaded by the group's setup) and the check of a
 * refused TraderMade body. */
#ifndef SENSE_RIG_H
#define SENSE_RIG_H

#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sense.h"
#include "utf8.h"
#include "seed.h"
#include "timeutil.h"

/* ---- the recorded sample --------------------------------------------------- */

/* ../shared/data: $SHARED_DATA, else $top_srcdir/../shared/data, else
 * derived from this file's path as the compiler saw it. */
static inline void shared_data(char *out, size_t cap)
{
    const char *d = getenv("SHARED_DATA");
    if (d && *d) {
        snprintf(out, cap, "%s", d);
        return;
    }
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        snprintf(out, cap, "%s/../shared/data", top);
        return;
    }
    char src[512];
    snprintf(src, sizeof src, "%s", __FILE__);
    char *p = strstr(src, "tests/unit/test_sense.c");
    if (p)
        *p = '\0';
    snprintf(out, cap, "%s%s../shared/data", src, *src ? "" : "./");
}

static inline char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static char *fixture_body __attribute__((unused));
static char fixture_path[1200] __attribute__((unused));

static inline int setup(void **state)
{
    (void)state;
    char dir[1024];
    shared_data(dir, sizeof dir);
    snprintf(fixture_path, sizeof fixture_path, "%s/fixtures/dexscreener_latest_dex_pairs_sample.json", dir);
    fixture_body = read_all(fixture_path);
    if (!fixture_body)
        fprintf(stderr, "cannot read %s (set SHARED_DATA)\n", fixture_path);
    return 0;                      /* the fixture test fails on its own */
}

static inline int teardown(void **state)
{
    (void)state;
    free(fixture_body);
    return 0;
}

#define TM_TS 1770818400L
static inline void expect_tm_error(const char *body, const char *needle)
{
    struct sense_market m;
    char err[160] = "";
    memset(&m, 0, sizeof m);
    m.forex_valid = 1;
    m.nquotes = 2;
    m.forex_move_bp = 3;
    int rc = sense_parse_tradermade(body, TM_TS, NULL, &m, err, sizeof err);
    if (rc != -1)
        fail_msg("accepted: %.60s", body ? body : "(null)");
    if (!strstr(err, needle))
        fail_msg("body %.60s: message \"%s\", expected \"%s\"", body ? body : "(null)", err, needle);
    assert_int_equal(m.forex_valid, 0);
    assert_int_equal(m.nquotes, 0);
}

#endif
