/* Unit tests for shared/catalog.c: the vocabulary of decisions, and its
 * agreement with the SQL CHECK constraints in sql/001_init.sql. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

/* The eight webhook paths, in DESIGN.md's order. */
static const char *const design_paths[] = {
    "crypto-aggressive-scan", "crypto-normal-scan", "crypto-light-monitoring",
    "forex-london-session", "forex-newyork-session", "forex-asia-session",
    "health-monitor-check", "deep-market-analysis",
};

static void test_mode_names(void **state)
{
    (void)state;
    const char *want[] = { "crypto", "forex", "hybrid", "standby" };
    assert_int_equal(MODE_COUNT, 4);
    for (int i = 0; i < MODE_COUNT; i++) {
        assert_string_equal(catalog_mode_name(i), want[i]);
        assert_int_equal(catalog_mode_parse(want[i]), i);
        assert_int_equal(catalog_mode_parse(catalog_mode_name(i)), i);
    }
    assert_int_equal(catalog_mode_parse(want[MODE_HYBRID]), MODE_HYBRID);
}

static void test_intensity_names(void **state)
{
    (void)state;
    const char *want[] = { "aggressive", "normal", "light" };
    assert_int_equal(INTENSITY_COUNT, 3);
    for (int i = 0; i < INTENSITY_COUNT; i++) {
        assert_string_equal(catalog_intensity_name(i), want[i]);
        assert_int_equal(catalog_intensity_parse(want[i]), i);
    }
}

static void test_source_names(void **state)
{
    (void)state;
    const char *want[] = { "llm", "fallback", "forced" };
    assert_int_equal(SOURCE_COUNT, 3);
    for (int i = 0; i < SOURCE_COUNT; i++)
        assert_string_equal(catalog_source_name(i), want[i]);
}

static void test_feed_names(void **state)
{
    (void)state;
    const char *want[] = { "dexscreener", "pumpfun", "tradermade", "birdeye" };
    assert_int_equal(FEED_COUNT, 4);
    for (int i = 0; i < FEED_COUNT; i++) {
        assert_string_equal(catalog_feed_name(i), want[i]);
        assert_int_equal(catalog_feed_parse(want[i]), i);
    }
}

static void test_out_of_range_names(void **state)
{
    (void)state;
    const int bad[] = { -1, -1000, 1000, (int)0x80000000u };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_string_equal(catalog_mode_name(bad[k]), "unknown");
        assert_string_equal(catalog_intensity_name(bad[k]), "unknown");
        assert_string_equal(catalog_source_name(bad[k]), "unknown");
        assert_string_equal(catalog_feed_name(bad[k]), "unknown");
        assert_null(catalog_workflow(bad[k]));
    }
    assert_string_equal(catalog_mode_name(MODE_COUNT), "unknown");
    assert_string_equal(catalog_intensity_name(INTENSITY_COUNT), "unknown");
    assert_string_equal(catalog_source_name(SOURCE_COUNT), "unknown");
    assert_string_equal(catalog_feed_name(FEED_COUNT), "unknown");
    assert_null(catalog_workflow(WF_COUNT));
}

static void test_unknown_strings(void **state)
{
    (void)state;
    const char *bad[] = { "", "unknown", "Crypto", "CRYPTO", "crypto ", " crypto", "cryptoo", "cryp",
                          "Aggressive", "agressive", "fallback", "llm", "Crypto-Normal-Scan",
                          "crypto-normal-scan/", "webhook/crypto-normal-scan", "deep_market_analysis" };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(catalog_mode_parse(bad[k]), -1);
        assert_int_equal(catalog_intensity_parse(bad[k]), -1);
        assert_int_equal(catalog_feed_parse(bad[k]), -1);
        assert_int_equal(catalog_workflow_parse(bad[k]), -1);
    }
    assert_int_equal(catalog_mode_parse(NULL), -1);
    assert_int_equal(catalog_intensity_parse(NULL), -1);
    assert_int_equal(catalog_feed_parse(NULL), -1);
    assert_int_equal(catalog_workflow_parse(NULL), -1);
    /* a name of one kind is not a name of another */
    assert_int_equal(catalog_mode_parse("normal"), -1);
    assert_int_equal(catalog_intensity_parse("forex"), -1);
    assert_int_equal(catalog_workflow_parse("crypto"), -1);
}

static void test_workflow_paths(void **state)
{
    (void)state;
    assert_int_equal(WF_COUNT, 8);
    assert_int_equal(sizeof design_paths / sizeof design_paths[0], WF_COUNT);
    for (int w = 0; w < WF_COUNT; w++) {
        const struct catalog_wf *d = catalog_workflow(w);
        assert_non_null(d);
        assert_string_equal(d->path, design_paths[w]);
        assert_int_equal(catalog_workflow_parse(design_paths[w]), w);
        assert_non_null(d->title);
        assert_true(strlen(d->title) > 5);
        for (int k = 0; k < w; k++)
            assert_true(strcmp(catalog_workflow(k)->path, d->path) != 0);
        /* usable as a URL path segment as is */
        for (const char *p = d->path; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '-');
    }
    assert_int_equal(catalog_workflow_parse("crypto-aggressive-scan"), WF_CRYPTO_AGGRESSIVE);
    assert_int_equal(catalog_workflow_parse("forex-asia-session"), WF_FOREX_ASIA);
    assert_int_equal(catalog_workflow_parse("health-monitor-check"), WF_HEALTH_CHECK);
}

static void test_workflow_properties(void **state)
{
    (void)state;
    /* crypto scans have one intensity each, forex and health fit any */
    assert_int_equal(catalog_workflow(WF_CRYPTO_AGGRESSIVE)->intensity, INTENSITY_AGGRESSIVE);
    assert_int_equal(catalog_workflow(WF_CRYPTO_NORMAL)->intensity, INTENSITY_NORMAL);
    assert_int_equal(catalog_workflow(WF_CRYPTO_LIGHT)->intensity, INTENSITY_LIGHT);
    assert_int_equal(catalog_workflow(WF_DEEP_ANALYSIS)->intensity, INTENSITY_AGGRESSIVE);
    for (int w = WF_FOREX_LONDON; w <= WF_HEALTH_CHECK; w++)
        assert_int_equal(catalog_workflow(w)->intensity, WF_ANY_INTENSITY);

    for (int w = WF_CRYPTO_AGGRESSIVE; w <= WF_CRYPTO_LIGHT; w++) {
        assert_int_equal(catalog_workflow(w)->market, MARKET_CRYPTO);
        assert_int_equal(catalog_workflow(w)->feed, FEED_DEXSCREENER);
    }
    for (int w = WF_FOREX_LONDON; w <= WF_FOREX_ASIA; w++) {
        assert_int_equal(catalog_workflow(w)->market, MARKET_FOREX);
        assert_int_equal(catalog_workflow(w)->feed, FEED_TRADERMADE);
    }
    assert_int_equal(catalog_workflow(WF_HEALTH_CHECK)->market, MARKET_SYSTEM);
    assert_int_equal(catalog_workflow(WF_HEALTH_CHECK)->feed, -1);
    assert_int_equal(catalog_workflow(WF_DEEP_ANALYSIS)->market, MARKET_BOTH);
}

/* ---- agreement with the schema ------------------------------------------- */

/* The source tree: $top_srcdir (exported by make check), else derived from
 * this file's path as the compiler saw it. */
static void srcdir(char *out, size_t cap)
{
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        snprintf(out, cap, "%s", top);
        return;
    }
    snprintf(out, cap, "%s", __FILE__);
    char *p = strstr(out, "tests/unit/test_catalog.c");
    if (p)
        *p = '\0';
    else
        snprintf(out, cap, ".");
    size_t n = strlen(out);
    if (n == 0)
        snprintf(out, cap, ".");
    else if (n > 1 && out[n - 1] == '/')
        out[n - 1] = '\0';
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Whether 'name' is listed in some "col IN (...)" of the schema (the CHECK
 * constraints); the list ends at the first ')'. */
static int sql_lists(const char *sql, const char *col, const char *name)
{
    char key[64], quoted[80];
    snprintf(key, sizeof key, "%s IN (", col);
    snprintf(quoted, sizeof quoted, "'%s'", name);
    for (const char *p = strstr(sql, key); p; p = strstr(p + 1, key)) {
        const char *open = p + strlen(key);
        const char *close = strchr(open, ')');
        if (!close)
            break;
        const char *hit = strstr(open, quoted);
        if (hit && hit < close)
            return 1;
    }
    return 0;
}

static void expect_sql(const char *sql, const char *col, const char *name)
{
    if (!sql_lists(sql, col, name))
        fail_msg("%s '%s' is not in any SQL CHECK (%s IN (...))", col, name, col);
}

static void test_sql_checks_match(void **state)
{
    (void)state;
    char dir[1024], path[1200];
    srcdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sql/001_init.sql", dir);
    char *sql = read_all(path);
    if (!sql)
        fail_msg("cannot read %s (set top_srcdir)", path);
    for (int i = 0; i < MODE_COUNT; i++)
        expect_sql(sql, "mode", catalog_mode_name(i));
    for (int i = 0; i < INTENSITY_COUNT; i++)
        expect_sql(sql, "intensity", catalog_intensity_name(i));
    for (int i = 0; i < SOURCE_COUNT; i++)
        expect_sql(sql, "source", catalog_source_name(i));
    for (int i = 0; i < FEED_COUNT; i++)
        expect_sql(sql, "source", catalog_feed_name(i));
    for (int w = 0; w < WF_COUNT; w++)
        expect_sql(sql, "workflow", catalog_workflow(w)->path);
    /* the checker itself can say no */
    assert_int_equal(sql_lists(sql, "mode", "unknown"), 0);
    assert_int_equal(sql_lists(sql, "workflow", "crypto"), 0);
    free(sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_intensity_names),
        cmocka_unit_test(test_source_names),
        cmocka_unit_test(test_feed_names),
        cmocka_unit_test(test_out_of_range_names),
        cmocka_unit_test(test_unknown_strings),
        cmocka_unit_test(test_workflow_paths),
        cmocka_unit_test(test_workflow_properties),
        cmocka_unit_test(test_sql_checks_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
