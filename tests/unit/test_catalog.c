/* Unit tests for shared/catalog.c: the vocabulary of decisions and its
 * agreement with the SQL CHECK constraints (sql/001_init.sql,
 * sql/008_catalog.sql), and the registry of workflows: slots that never
 * move, reloads that add and remove, names known only from history. */
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
#include "seed.h"
#include "sessions.h"

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
        assert_string_equal(catalog_market_name(bad[k]), "unknown");
        assert_string_equal(catalog_concurrency_name(bad[k]), "unknown");
        assert_null(catalog_workflow(bad[k]));
        assert_string_equal(catalog_name(bad[k]), "unknown");
    }
    assert_string_equal(catalog_mode_name(MODE_COUNT), "unknown");
    assert_string_equal(catalog_intensity_name(INTENSITY_COUNT), "unknown");
    assert_string_equal(catalog_source_name(SOURCE_COUNT), "unknown");
    assert_string_equal(catalog_feed_name(FEED_COUNT), "unknown");
    assert_null(catalog_workflow(catalog_count()));
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
    seed_install();
    assert_int_equal(catalog_count(), 8);
    assert_int_equal(catalog_present(), 8);
    assert_int_equal(sizeof design_paths / sizeof design_paths[0], WF_COUNT);
    for (int w = 0; w < WF_COUNT; w++) {
        const struct catalog_wf *d = catalog_workflow(w);
        assert_non_null(d);
        assert_string_equal(d->name, design_paths[w]);
        assert_string_equal(catalog_name(w), design_paths[w]);
        assert_int_equal(catalog_workflow_parse(design_paths[w]), w);
        assert_int_equal(catalog_ordered(w), w);
        assert_true(catalog_offered(w));
        assert_true(strlen(d->title) > 5);
        assert_true(catalog_name_valid(d->name));
    }
    assert_int_equal(catalog_ordered(8), -1);
    assert_int_equal(catalog_ordered(-1), -1);
}

static void test_workflow_properties(void **state)
{
    (void)state;
    seed_install();
    /* crypto scans have one intensity each, forex and health fit any */
    assert_int_equal(catalog_workflow(WF_CRYPTO_AGGRESSIVE)->intensity, INTENSITY_AGGRESSIVE);
    assert_int_equal(catalog_workflow(WF_CRYPTO_NORMAL)->intensity, INTENSITY_NORMAL);
    assert_int_equal(catalog_workflow(WF_CRYPTO_LIGHT)->intensity, INTENSITY_LIGHT);
    assert_int_equal(catalog_workflow(WF_DEEP_ANALYSIS)->intensity, INTENSITY_AGGRESSIVE);
    for (int w = WF_FOREX_LONDON; w <= WF_HEALTH_CHECK; w++)
        assert_int_equal(catalog_workflow(w)->intensity, CATALOG_ANY_INTENSITY);
    for (int w = WF_CRYPTO_AGGRESSIVE; w <= WF_CRYPTO_LIGHT; w++) {
        assert_int_equal(catalog_workflow(w)->market, MARKET_CRYPTO);
        assert_int_equal(catalog_workflow(w)->needs, 1u << FEED_DEXSCREENER);
    }
    for (int w = WF_FOREX_LONDON; w <= WF_FOREX_ASIA; w++) {
        assert_int_equal(catalog_workflow(w)->market, MARKET_FOREX);
        assert_int_equal(catalog_workflow(w)->needs, 1u << FEED_TRADERMADE);
    }
    assert_int_equal(catalog_workflow(WF_FOREX_LONDON)->sessions, 1u << SESSION_LONDON);
    assert_int_equal(catalog_workflow(WF_FOREX_NEWYORK)->sessions, 1u << SESSION_NEWYORK);
    assert_int_equal(catalog_workflow(WF_FOREX_ASIA)->sessions, (1u << SESSION_SYDNEY) | (1u << SESSION_TOKYO));
    assert_int_equal(catalog_workflow(WF_HEALTH_CHECK)->market, MARKET_SYSTEM);
    assert_int_equal(catalog_workflow(WF_HEALTH_CHECK)->needs, 0);
    assert_int_equal(catalog_workflow(WF_DEEP_ANALYSIS)->market, MARKET_BOTH);
    assert_int_equal(catalog_workflow(WF_DEEP_ANALYSIS)->concurrency, CONCURRENCY_FORBID);
    for (int w = 0; w < WF_DEEP_ANALYSIS; w++)
        assert_int_equal(catalog_workflow(w)->concurrency, CONCURRENCY_ALLOW);
}

static void test_name_valid(void **state)
{
    (void)state;
    const char *good[] = { "a", "crypto-normal-scan", "My_Scan.v2", "team/scan-1", "a/b/c", "0x",
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    const char *bad[] = { NULL, "", "/a", "a/", "a//b", "a/../b", "./a", ".a", "-a", "_a", "a b", "a?b", "a#b",
                          "a%20b", "a:b", "a\\b", "é", "a\"", "a\n",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!catalog_name_valid(good[i]))
            fail_msg("\"%s\" should be a valid name", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (catalog_name_valid(bad[i]))
            fail_msg("\"%s\" should not be a valid name", bad[i]);
}

/* A catalog of the names given, crypto first, then forex. */
static struct catalog *make_catalog(const char *const *names, int n)
{
    struct catalog *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->n = n;
    for (int i = 0; i < n; i++) {
        struct catalog_wf *w = &c->wf[i];
        snprintf(w->name, sizeof w->name, "%s", names[i]);
        snprintf(w->title, sizeof w->title, "title of %s", names[i]);
        w->market = i == 0 ? MARKET_CRYPTO : MARKET_FOREX;
        w->intensity = CATALOG_ANY_INTENSITY;
        snprintf(w->parameters, sizeof w->parameters, "{}");
        w->cost = 1;
        w->enabled = 1;
    }
    return c;
}

/* A reload adds and removes workflows; every name keeps its slot. */
static void test_registry_reload(void **state)
{
    (void)state;
    char err[200];
    catalog_reset();
    assert_int_equal(catalog_count(), 0);
    static const char *const one[] = { "alpha", "beta", "gamma" };
    static const char *const two[] = { "gamma", "delta", "alpha" };
    struct catalog *c1 = make_catalog(one, 3), *c2 = make_catalog(two, 3);
    assert_int_equal(catalog_install(c1, err, sizeof err), 0);
    int a = catalog_workflow_parse("alpha"), b = catalog_workflow_parse("beta"), g = catalog_workflow_parse("gamma");
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(g, 2);
    assert_int_equal(catalog_install(c2, err, sizeof err), 0);
    /* the same slots; delta new; beta removed but known */
    assert_int_equal(catalog_workflow_parse("alpha"), a);
    assert_int_equal(catalog_workflow_parse("gamma"), g);
    assert_int_equal(catalog_workflow_parse("beta"), b);
    int d = catalog_workflow_parse("delta");
    assert_int_equal(d, 3);
    assert_int_equal(catalog_count(), 4);
    assert_int_equal(catalog_present(), 3);
    assert_false(catalog_workflow(b)->present);
    assert_false(catalog_offered(b));
    assert_string_equal(catalog_name(b), "beta");          /* its history still reads */
    /* the new order is the file's, and the attributes are the new file's */
    assert_int_equal(catalog_ordered(0), g);
    assert_int_equal(catalog_ordered(1), d);
    assert_int_equal(catalog_ordered(2), a);
    assert_int_equal(catalog_workflow(g)->market, MARKET_CRYPTO);
    assert_int_equal(catalog_workflow(a)->market, MARKET_FOREX);
    /* back again: beta returns to its slot */
    assert_int_equal(catalog_install(c1, err, sizeof err), 0);
    assert_int_equal(catalog_workflow_parse("beta"), b);
    assert_true(catalog_offered(b));
    assert_false(catalog_workflow(d)->present);
    free(c1);
    free(c2);
}

/* Names met only in the database get slots of their own, never offered;
 * the registry's capacity refuses a catalog that does not fit. */
static void test_registry_ghosts_and_capacity(void **state)
{
    (void)state;
    char err[300];
    seed_install();
    int g = catalog_slot("old-workflow");
    assert_int_equal(g, WF_COUNT);
    assert_int_equal(catalog_slot("old-workflow"), g);
    assert_false(catalog_offered(g));
    assert_int_equal(catalog_workflow(g)->market, MARKET_SYSTEM);
    assert_int_equal(catalog_slot("not a name"), -1);
    assert_int_equal(catalog_workflow_parse("never-seen"), -1);      /* parsing registers nothing */
    assert_int_equal(catalog_slot(NULL), -1);
    /* fill the registry with ghosts, then a catalog of new names does not fit */
    char name[32];
    for (int i = catalog_count(); i < CATALOG_SLOTS; i++) {
        snprintf(name, sizeof name, "ghost-%d", i);
        assert_true(catalog_slot(name) >= 0);
    }
    assert_int_equal(catalog_slot("one-too-many"), -1);
    static const char *const fresh[] = { "fresh-a", "fresh-b" };
    struct catalog *c = make_catalog(fresh, 2);
    assert_int_equal(catalog_install(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "CATALOG_SLOTS"));
    assert_int_equal(catalog_present(), 8);                         /* nothing changed */
    assert_true(catalog_offered(WF_CRYPTO_NORMAL));
    free(c);
    seed_install();
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
    /* the checker itself can say no */
    assert_int_equal(sql_lists(sql, "mode", "unknown"), 0);
    free(sql);
    /* the catalog's words (sql/008_catalog.sql) */
    snprintf(path, sizeof path, "%s/sql/008_catalog.sql", dir);
    sql = read_all(path);
    if (!sql)
        fail_msg("cannot read %s (set top_srcdir)", path);
    for (int i = 0; i < MARKET_COUNT; i++)
        expect_sql(sql, "market", catalog_market_name(i));
    for (int i = 0; i < INTENSITY_COUNT; i++)
        expect_sql(sql, "intensity", catalog_intensity_name(i));
    expect_sql(sql, "intensity", "any");
    for (int i = 0; i < CONCURRENCY_COUNT; i++)
        expect_sql(sql, "concurrency", catalog_concurrency_name(i));
    for (int i = 0; i < FEED_COUNT; i++)
        if (!strstr(sql, catalog_feed_name(i)))
            fail_msg("needs '%s' is not in sql/008_catalog.sql", catalog_feed_name(i));
    expect_sql(sql, "command", "reload_catalog");
    /* the seed rows are the shipped catalog's */
    seed_install();
    for (int w = 0; w < WF_COUNT; w++) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%s'", catalog_name(w));
        if (!strstr(sql, quoted))
            fail_msg("sql/008_catalog.sql does not insert %s", catalog_name(w));
    }
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
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_registry_reload),
        cmocka_unit_test(test_registry_ghosts_and_capacity),
        cmocka_unit_test(test_sql_checks_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
