/* Unit tests of fcgi/gzbody.c: gzip streams spliced from precompressed
 * segments and per-request hole values decode (with zlib's own inflate, as
 * browsers and Prometheus do) to exactly the identity answer; and
 * Accept-Encoding parsing. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzbody.h"

#define T_MAX (256 * 1024)

/* A stream assembled piece by piece. */
struct t_out {
    unsigned char *p;
    size_t n;
};

static void t_put(struct t_out *o, const void *p, size_t n)
{
    assert_true(o->n + n <= T_MAX + 4096);
    memcpy(o->p + o->n, p, n);
    o->n += n;
}

/* Splice text cut at cut[] with val[] (the holes) and tail, both as the
 * identity answer (into want) and as gzip through g (into gz). */
static void t_splice(const struct gzbody *g, const char *text, size_t len, const size_t *cut, int ncut,
                     const char *const *val, const char *tail, struct t_out *want, struct t_out *gz)
{
    struct gzbody_emit e;
    unsigned char hdr[GZBODY_STORED_HDR], end[GZBODY_END_LEN];
    t_put(gz, gzbody_begin(&e), GZBODY_HEADER_LEN);
    size_t pos = 0;
    for (int i = 0; i <= ncut; i++) {
        size_t to = i < ncut ? cut[i] : len;
        t_put(want, text + pos, to - pos);
        pos = to;
        const unsigned char *z;
        size_t zn;
        gzbody_segment(&e, g, i, &z, &zn);
        t_put(gz, z, zn);
        const char *lit = i < ncut ? val[i] : tail;
        if (!lit || !*lit)
            continue;
        t_put(want, lit, strlen(lit));
        assert_int_equal(gzbody_stored(&e, lit, strlen(lit), hdr), 0);
        t_put(gz, hdr, sizeof hdr);
        t_put(gz, lit, strlen(lit));
    }
    gzbody_end(&e, end);
    t_put(gz, end, sizeof end);
}

/* Inflate a gzip stream (zlib checks the CRC-32 and the length).
 * Returns the length decoded into out, or -1 when zlib refuses it. */
static long t_gunzip(const struct t_out *gz, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
    zs.next_in = gz->p;
    zs.avail_in = (uInt)gz->n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = inflate(&zs, Z_FINISH);
    long n = rc == Z_STREAM_END && zs.avail_in == 0 ? (long)(cap - zs.avail_out) : -1;
    inflateEnd(&zs);
    return n;
}

/* Build, splice and check one case. */
static void t_case(const char *text, size_t len, const size_t *cut, int ncut, const char *const *val,
                   const char *tail, int level)
{
    struct gzbody g;
    struct t_out want = { malloc(T_MAX + 4096), 0 }, gz = { malloc(T_MAX + 4096), 0 };
    unsigned char *dec = malloc(T_MAX + 4096);
    assert_non_null(want.p);
    assert_non_null(gz.p);
    assert_non_null(dec);
    assert_int_equal(gzbody_build(&g, text, len, cut, ncut, level), 0);
    assert_int_equal(g.nseg, ncut + 1);
    t_splice(&g, text, len, cut, ncut, val, tail, &want, &gz);
    long n = t_gunzip(&gz, dec, T_MAX + 4096);
    assert_int_equal(n, (long)want.n);
    assert_memory_equal(dec, want.p, want.n);
    gzbody_free(&g);
    assert_null(g.z);
    free(want.p);
    free(gz.p);
    free(dec);
}

/* A /status-like JSON text of about len bytes, repetitive as JSON is. */
static char *t_json(size_t len, unsigned seed)
{
    char *s = malloc(len + 1);
    assert_non_null(s);
    size_t n = 0;
    while (n < len) {
        char item[160];
        int k = snprintf(item, sizeof item, "{\"id\":%u,\"mode\":\"%s\",\"reason\":\"volatility %u.%u\"},",
                         seed, (seed % 3) ? "crypto" : "forex", seed % 17, seed % 10);
        seed = seed * 1103515245u + 12345u;
        for (int i = 0; i < k && n < len; i++)
            s[n++] = item[i];
    }
    s[len] = '\0';
    return s;
}

static void test_holes_decode_to_identity(void **state)
{
    (void)state;
    char *text = t_json(67000, 7);
    const char *val[] = { "12.3", "true", "\"2026-12-02T12:00:00.123Z\"", "61" };
    const size_t cut[] = { 10, 5000, 5001, 66999 };
    t_case(text, 67000, cut, 4, val, NULL, 6);
    t_case(text, 67000, cut, 4, val, "orchestrator_heartbeat_age_seconds 1.5\n", 1);
    free(text);
}

static void test_hole_at_the_edges_and_adjacent(void **state)
{
    (void)state;
    char *text = t_json(3000, 3);
    const char *val[] = { "null", "false", "0", "\"x\"" };
    const size_t edges[] = { 0, 0, 1500, 3000 };      /* empty first segments, a hole at the end */
    t_case(text, 3000, edges, 4, val, "tail\n", 9);
    const size_t none[] = { 0 };
    t_case(text, 3000, none, 0, val, NULL, 6);         /* no holes at all */
    const char *empty[] = { "", "" };
    const size_t two[] = { 100, 200 };
    t_case(text, 3000, two, 2, empty, "", 6);           /* holes whose value is empty */
    free(text);
}

static void test_random_cuts(void **state)
{
    (void)state;
    unsigned seed = 42;
    for (int round = 0; round < 200; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = 1 + (seed >> 8) % 40000;
        char *text = t_json(len, seed);
        size_t cut[GZBODY_MAX_SEGS - 1];
        int ncut = (int)((seed >> 4) % GZBODY_MAX_SEGS);
        for (int i = 0; i < ncut; i++) {
            seed = seed * 1103515245u + 12345u;
            cut[i] = (seed >> 5) % (len + 1);
        }
        for (int i = 1; i < ncut; i++)           /* ascending */
            for (int j = i; j > 0 && cut[j] < cut[j - 1]; j--) {
                size_t t = cut[j];
                cut[j] = cut[j - 1];
                cut[j - 1] = t;
            }
        const char *val[] = { "1", "22.5", "null", "true", "\"now\"", "333", "false" };
        t_case(text, len, cut, ncut, val, (round % 2) ? "live 1\n" : NULL, 1 + round % 9);
        free(text);
    }
}

static void test_binary_and_incompressible(void **state)
{
    (void)state;
    char *text = malloc(20000);
    assert_non_null(text);
    unsigned seed = 9;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        text[i] = (char)(seed >> 16);              /* random bytes, NULs included */
    }
    const char *val[] = { "7" };
    const size_t cut[] = { 12345 };
    t_case(text, 20000, cut, 1, val, NULL, 6);
    free(text);
}

static void test_bad_builds(void **state)
{
    (void)state;
    struct gzbody g;
    const size_t desc[] = { 10, 5 }, past[] = { 11 };
    const size_t many[GZBODY_MAX_SEGS] = { 0 };
    assert_int_equal(gzbody_build(&g, "0123456789", 10, desc, 2, 6), -1);
    assert_null(g.z);
    assert_int_equal(gzbody_build(&g, "0123456789", 10, past, 1, 6), -1);
    assert_int_equal(gzbody_build(&g, "0123456789", 10, many, GZBODY_MAX_SEGS, 6), -1);
    assert_int_equal(gzbody_build(&g, "0123456789", 10, NULL, 0, 0), -1);
    assert_int_equal(gzbody_build(&g, "0123456789", 10, NULL, 0, 10), -1);
    gzbody_free(&g);                               /* empty: a no-op */

    struct gzbody_emit e;
    unsigned char hdr[GZBODY_STORED_HDR];
    static char big[GZBODY_STORED_MAX + 1];
    gzbody_begin(&e);
    assert_int_equal(gzbody_stored(&e, big, sizeof big, hdr), -1);
    assert_int_equal(gzbody_stored(&e, big, GZBODY_STORED_MAX, hdr), 0);
    assert_int_equal(hdr[1] | hdr[2] << 8, GZBODY_STORED_MAX);
    assert_int_equal((hdr[3] | hdr[4] << 8) ^ 0xffff, GZBODY_STORED_MAX);
}

static void test_compresses(void **state)
{
    (void)state;
    char *text = t_json(67000, 11);
    struct gzbody g;
    assert_int_equal(gzbody_build(&g, text, 67000, NULL, 0, 6), 0);
    assert_true(g.zlen * 4 < 67000);                /* JSON of this kind shrinks at least 4x */
    gzbody_free(&g);
    free(text);
}

static void test_accepts(void **state)
{
    (void)state;
    /* what clients send */
    assert_true(gzbody_accepts("gzip, deflate, br"));                   /* browsers */
    assert_true(gzbody_accepts("gzip"));                                /* Prometheus, curl --compressed */
    assert_true(gzbody_accepts("deflate, gzip"));
    assert_true(gzbody_accepts("GZIP"));
    assert_true(gzbody_accepts("x-gzip"));
    assert_true(gzbody_accepts("*"));
    assert_true(gzbody_accepts("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    assert_true(gzbody_accepts("gzip;q=0.001"));
    assert_true(gzbody_accepts(" gzip ; q=1 , identity"));
    assert_true(gzbody_accepts("gzip;level=1"));
    /* refused or not offered */
    assert_false(gzbody_accepts(NULL));
    assert_false(gzbody_accepts(""));
    assert_false(gzbody_accepts("identity"));
    assert_false(gzbody_accepts("deflate, br"));
    assert_false(gzbody_accepts("gzip;q=0"));
    assert_false(gzbody_accepts("gzip;q=0.000"));
    assert_false(gzbody_accepts("*, gzip;q=0"));
    assert_false(gzbody_accepts("*;q=0"));
    assert_false(gzbody_accepts("gzipx"));
    assert_false(gzbody_accepts("xgzip"));
    /* malformed: nothing accepted */
    assert_false(gzbody_accepts("gzip;q=2"));
    assert_false(gzbody_accepts("gzip;q=abc"));
    assert_false(gzbody_accepts("gzip;q=1.5"));
    assert_false(gzbody_accepts("gzip;q=0.5x"));
    assert_false(gzbody_accepts("gzip deflate"));
    assert_false(gzbody_accepts("gzip\n"));
    assert_false(gzbody_accepts("(gzip)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holes_decode_to_identity),
        cmocka_unit_test(test_hole_at_the_edges_and_adjacent),
        cmocka_unit_test(test_random_cuts),
        cmocka_unit_test(test_binary_and_incompressible),
        cmocka_unit_test(test_bad_builds),
        cmocka_unit_test(test_compresses),
        cmocka_unit_test(test_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
