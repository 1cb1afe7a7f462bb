/* Unit tests for worker/replay.c, replay_read.c, replay_score.c and
 * replay_svg.c: the two CSV shapes (timezone rule,
 * duplicates, gzip), determinism, a synthetic series with known bursts,
 * and a slice of the real recorded data (SHARED_DATA, default
 * $top_srcdir/../shared/data), all without a database. */
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
#include <unistd.h>
#include <zlib.h>

#include "learn.h"
#include "log.h"
#include "replay.h"
#include "replay_score.h"
#include "replay_svg.h"
#include "sessions.h"
#include "seed.h"

static struct cfg g_cfg;

static const char *env(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "N8N_BASE_URL") == 0 ? "http://replay.invalid" : NULL;
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    log_init("test", LOG_ERROR);
    return cfg_load_from(&g_cfg, env, NULL, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(&g_cfg);
    return 0;
}

static time_t iso(const char *s)
{
    time_t t = 0;
    assert_int_equal(replay_parse_iso(s, &t), 0);
    return t;
}

/* Nonzero when Europe/Berlin is on summer time (UTC + 2) at UTC instant t. */
static int eu_summer(time_t t)
{
    struct tm tm;
    assert_int_equal(sessions_local(t, "Europe/Berlin", &tm), 0);
    return tm.tm_gmtoff == 7200;
}

static void test_timezone_rule(void **state)
{
    (void)state;
    /* winter: UTC = stored + 5 h; EU summer time: + 4 h */
    assert_int_equal(replay_histdata_utc(2019, 1, 1, 17, 0, 0), iso("2019-01-01T22:00Z"));
    assert_int_equal(replay_histdata_utc(2019, 3, 29, 8, 30, 0), iso("2019-03-29T13:30Z"));
    /* the German flash PMI, 08:30 UTC on 2019-03-22, at stored 03:30 */
    assert_int_equal(replay_histdata_utc(2019, 3, 22, 3, 30, 0), iso("2019-03-22T08:30Z"));
    /* 2019-03-31: the EU moves to summer time at 01:00 UTC; the Sunday re-open */
    assert_int_equal(replay_histdata_utc(2019, 3, 31, 17, 0, 0), iso("2019-03-31T21:00Z"));
    assert_int_equal(replay_histdata_utc(2019, 4, 1, 8, 30, 0), iso("2019-04-01T12:30Z"));
    /* the FOMC at 18:00 UTC on 2019-07-31, stored 14:00 */
    assert_int_equal(replay_histdata_utc(2019, 7, 31, 14, 0, 0), iso("2019-07-31T18:00Z"));
    /* 2019-10-27: back to winter time at 01:00 UTC; the re-open at 22:00 UTC */
    assert_int_equal(replay_histdata_utc(2019, 10, 25, 16, 59, 0), iso("2019-10-25T20:59Z"));
    assert_int_equal(replay_histdata_utc(2019, 10, 27, 17, 0, 0), iso("2019-10-27T22:00Z"));
    /* US payrolls on 2019-11-01 at 12:30 UTC, stored 07:30 */
    assert_int_equal(replay_histdata_utc(2019, 11, 1, 7, 30, 0), iso("2019-11-01T12:30Z"));
    /* EU summer time from the tz database (it was a hand-written rule) */
    assert_true(eu_summer(iso("2019-03-31T01:00Z")));
    assert_false(eu_summer(iso("2019-03-31T00:59Z")));
    assert_true(eu_summer(iso("2019-10-27T00:59Z")));
    assert_false(eu_summer(iso("2019-10-27T01:00Z")));
    assert_true(eu_summer(iso("2025-06-01")));
    assert_false(eu_summer(iso("2025-01-15")));
    time_t t;
    assert_int_equal(replay_parse_iso("2019-01-01T08:00:30Z", &t), 0);
    assert_int_equal(t, iso("2019-01-01T08:00Z") + 30);
    assert_int_equal(replay_parse_iso("2019-13-01", &t), -1);
    assert_int_equal(replay_parse_iso("2019-01-01T8:00", &t), -1);
    assert_int_equal(replay_parse_iso("2019-01-01x", &t), -1);
}

static const char HISTDATA[] =
    "20191025 165800;1.110000;1.110200;1.109900;1.110100;0\n"
    "20191025 165900;1.110100;1.110300;1.110000;1.110200;0\n"
    "20191027 190000;1.108000;1.108100;1.107900;1.108000;0\n"
    "20191027 190100;1.108000;1.108200;1.107900;1.108100;0\n"
    "20191027 190000;1.108000;1.108100;1.107900;1.108000;0\n"      /* the duplicated block */
    "20191027 190100;1.108000;1.108200;1.107900;1.108100;0\r\n"
    "20191028 030000;1.109000;1.109500;1.108800;1.109400;0\n";

static void test_histdata(void **state)
{
    (void)state;
    struct replay_series s;
    char err[256];
    assert_int_equal(replay_parse_text("/x/DAT_ASCII_EURUSD_M1_2019.csv", HISTDATA, &s, err, sizeof err), 0);
    assert_string_equal(s.name, "EURUSD");
    assert_int_equal(s.market, LEARN_FOREX);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.conflicts, 0);
    assert_int_equal(s.t[0], iso("2019-10-25T20:58Z"));       /* summer: + 4 h */
    assert_int_equal(s.t[2], iso("2019-10-28T00:00Z"));       /* winter: + 5 h */
    assert_int_equal(s.t[4], iso("2019-10-28T08:00Z"));
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.t[i] > s.t[i - 1]);
    assert_true(s.c[4] == 1.1094 && s.h[4] == 1.1095 && s.l[4] == 1.1088);
    replay_series_free(&s);

    /* a row at the same time with other values is not a duplicate: the first stays */
    const char conflict[] = "20190102 100000;1.1;1.2;1.0;1.1;0\n20190102 100000;1.1;1.3;1.0;1.1;0\n";
    assert_int_equal(replay_parse_text("DAT_ASCII_GBPUSD_M1_2019.csv", conflict, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.conflicts, 1);
    assert_true(s.h[0] == 1.2);
    replay_series_free(&s);

    /* malformed */
    assert_int_equal(replay_parse_text("f.csv", "20190102 100000;1.1;1.2\n", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "f.csv:1: "));          /* the file and the line */
    assert_int_equal(replay_parse_text("f.csv", "20190102 100000;1.1;1.0;1.2;1.1;0\n", &s, err, sizeof err), -1);
    assert_int_equal(replay_parse_text("f.csv", "hello\n", &s, err, sizeof err), -1);
    assert_int_equal(replay_parse_text("f.csv", "", &s, err, sizeof err), -1);
}

static const char BINANCE[] =
    "timestamp,open,high,low,close,volume\n"
    "2025-01-01 00:00:00,93576.0,93610.93,93537.5,93610.93,8.21827\n"
    "2025-01-01 00:01:00,93610.93,93652.0,93606.2,93652.0,12.14029\n";

static void test_binance(void **state)
{
    (void)state;
    struct replay_series s;
    char err[256];
    assert_int_equal(replay_parse_text("data/binance_BTCUSDT_1m_2025-01-01_2025-01-28.csv", BINANCE, &s, err, sizeof err), 0);
    assert_string_equal(s.name, "BTCUSDT");
    assert_int_equal(s.market, LEARN_CRYPTO);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.t[0], iso("2025-01-01T00:00Z"));
    assert_int_equal(s.t[1], iso("2025-01-01T00:01Z"));
    assert_true(s.c[1] == 93652.0);
    replay_series_free(&s);
    assert_int_equal(replay_parse_text("b.csv", "timestamp,open,high,low,close,volume\n2025-01-01 00:00:00,1,2\n", &s, err,
                                       sizeof err), -1);
}

static void test_gzip_and_plain_files(void **state)
{
    (void)state;
    char gz[] = "/tmp/test_replay_XXXXXX";
    int fd = mkstemp(gz);
    assert_true(fd >= 0);
    close(fd);
    gzFile f = gzopen(gz, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, HISTDATA, sizeof HISTDATA - 1), (int)(sizeof HISTDATA - 1));
    assert_int_equal(gzclose(f), Z_OK);
    struct replay_series s;
    char err[256];
    assert_int_equal(replay_read(gz, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.duplicates, 2);
    replay_series_free(&s);
    /* the same reader takes uncompressed files */
    FILE *p = fopen(gz, "w");
    assert_non_null(p);
    fputs(BINANCE, p);
    fclose(p);
    assert_int_equal(replay_read(gz, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 2);
    replay_series_free(&s);
    unlink(gz);
    assert_int_equal(replay_read("/nonexistent/file.csv.gz", &s, err, sizeof err), -1);
}

/* ---- synthetic bursts ------------------------------------------------------ */

#define SYN_WINDOWS 100
static const int burst_at[10] = { 5, 12, 20, 33, 41, 50, 62, 77, 84, 96 };
/* the same number of burst windows in four spells, as volatility clusters */
static const int spell_at[10] = { 20, 21, 22, 45, 46, 60, 61, 62, 85, 86 };
static const int *bursts = burst_at;

/* 100 quarter-hours of a quiet random walk (about 1 bp a minute) starting
 * 2025-01-06 00:00 UTC, with 10 burst windows (+-50 bp a minute) at
 * bursts[] (burst_at: one-window bursts; spell_at: in spells). */
static void synthetic(struct replay_series *s, const char *name, unsigned seed)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->market = LEARN_CRYPTO;
    s->n = SYN_WINDOWS * 15;
    s->t = malloc(s->n * sizeof *s->t);
    s->o = malloc(s->n * sizeof(double));
    s->h = malloc(s->n * sizeof(double));
    s->l = malloc(s->n * sizeof(double));
    s->c = malloc(s->n * sizeof(double));
    assert_true(s->t && s->o && s->h && s->l && s->c);
    time_t t0 = iso("2025-01-06");
    double p = 100;
    unsigned x = seed;
    for (size_t i = 0; i < s->n; i++) {
        int w = (int)(i / 15), burst = 0;
        for (int k = 0; k < 10; k++)
            burst |= bursts[k] == w;
        x = x * 1103515245u + 12345u;
        double step = ((x >> 16) & 1 ? 1 : -1) * (burst ? 50e-4 : 1e-4);
        s->t[i] = t0 + (time_t)i * 60;
        s->o[i] = p;
        p *= 1 + step;
        s->c[i] = p;
        s->h[i] = (s->o[i] > p ? s->o[i] : p) * 1.00001;
        s->l[i] = (s->o[i] < p ? s->o[i] : p) * 0.99999;
    }
}

static const struct replay_policy_score *pol(const struct replay_instrument_score *is, const char *name)
{
    for (int i = 0; i < is->npol; i++)
        if (strcmp(is->pol[i].name, name) == 0)
            return &is->pol[i];
    fail_msg("no policy %s", name);
    return NULL;
}

/* Run the replay over n series with seed; fills *r (free with replay_free). */
static void run(struct replay *r, struct replay_series *s, int n, time_t from, time_t to, long seed)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->ns = n;
    r->from = from;
    r->to = to;
    r->window_s = g_cfg.learn_window_minutes * 60;
    for (int i = 0; i < n; i++)
        assert_int_equal(replay_prepare(&s[i], r->window_s), 0);
    struct cfg c = g_cfg;
    c.learn_seed = seed;
    struct learn l;
    learn_init(&l, &c);
    struct cycle_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &c;
    ctx.learn = &l;
    static struct sink_memory mem;      /* as orch-replay --no-db */
    sink_mem_reset(&mem);
    ctx.sink = sink_mem(&mem);
    char err[256];
    assert_int_equal(replay_run(r, &ctx, err, sizeof err), 0);
    assert_null(ctx.io);
    /* every decision that started a run was settled by the memory sink's rule */
    assert_true(r->decisions == 0 || mem.settled > 0);
}

static void test_synthetic_bursts(void **state)
{
    (void)state;
    struct replay_series s;
    synthetic(&s, "SYNUSDT", 7);
    time_t from = s.t[0], to = s.t[0] + SYN_WINDOWS * 900;

    /* window volatility: the bursts dominate */
    double vols[SYN_WINDOWS];
    assert_int_equal(replay_window_vols(&s, from, to, vols, SYN_WINDOWS), SYN_WINDOWS);
    struct replay r;
    run(&r, &s, 1, from, to, 1);
    struct replay_score sc;
    assert_int_equal(replay_score(&r, &sc), 0);
    assert_int_equal(sc.ni, 1);
    const struct replay_instrument_score *is = &sc.in[0];
    assert_int_equal(is->windows, SYN_WINDOWS);
    assert_int_equal(is->top, 10);                  /* the top decile: the 10 bursts */
    for (int w = 0; w < SYN_WINDOWS; w++) {
        int burst = 0;
        for (int k = 0; k < 10; k++)
            burst |= burst_at[k] == w;
        if (burst)
            assert_true(vols[w] > 0.5 * 15 * 50e-4);
        else
            assert_true(vols[w] < 2 * 15 * 1e-4);
    }
    /* crons: every 1, 5 and 15 minutes start inside every window; hourly
     * ones only in windows starting on the hour: bursts 12, 20, 84, 96 */
    assert_int_equal(pol(is, "cron-1")->runs, 1500);
    assert_int_equal(pol(is, "cron-1")->covered, 10);
    assert_int_equal(pol(is, "cron-5")->runs, 300);
    assert_true(pol(is, "cron-5")->coverage == 1.0);
    assert_int_equal(pol(is, "cron-15")->runs, 100);
    assert_true(pol(is, "cron-15")->coverage == 1.0);
    assert_int_equal(pol(is, "cron-60")->runs, 25);
    assert_int_equal(pol(is, "cron-60")->covered, 4);
    assert_true(fabs(pol(is, "cron-60")->coverage - 0.4) < 1e-12);
    assert_true(fabs(pol(is, "cron-60")->runs_per_covered - 25.0 / 4) < 1e-12);
    /* crypto never closes: the market-hours crons are the same */
    assert_int_equal(pol(is, "market-hours-cron-5")->runs, 300);
    /* the orchestrator: its figures are its own scans' */
    const struct replay_policy_score *o = pol(is, "orchestrator");
    assert_int_equal(o->runs, (long)r.nscans);
    long covered = 0;
    for (int k = 0; k < 10; k++) {
        time_t ws = from + burst_at[k] * 900;
        for (size_t i = 0; i < r.nscans; i++)
            if (r.scans[i].at >= ws && r.scans[i].at < ws + 900) {
                covered++;
                break;
            }
    }
    assert_int_equal(o->covered, covered);
    assert_true(r.decisions > 0 && r.nscans > 0);
    /* every burst is seen in time: a scan starts inside each burst window,
     * with well under half of cron-5's runs.  (Isolated one-window bursts
     * every 2.5 hours on average make watching all the time pay: a light
     * scan in the quiet band catches a burst's start, so the orchestrator
     * runs about as often as cron-15 here; with the bursts in spells, as
     * markets have them, it runs less: test_synthetic_spells.) */
    assert_int_equal(o->covered, 10);
    assert_true(o->runs < pol(is, "cron-5")->runs / 2);
    assert_int_equal(o->llm_calls, 0);
    /* the outputs */
    json_object *j = replay_score_json(&r, &sc);
    assert_non_null(j);
    json_object_put(j);
    char *svg = replay_svg(&r, &sc);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "SYNUSDT"));
    free(svg);
    replay_free(&r);
    replay_series_free(&s);
}

/* The bursts in four spells (volatility clusters, as markets have them):
 * every burst window covered, with fewer runs than cron-15 and a better
 * coverage than the cron with as many runs as the orchestrator made. */
static void test_synthetic_spells(void **state)
{
    (void)state;
    struct replay_series s;
    bursts = spell_at;
    synthetic(&s, "SPLUSDT", 7);
    bursts = burst_at;
    time_t from = s.t[0], to = s.t[0] + SYN_WINDOWS * 900;
    struct replay r;
    run(&r, &s, 1, from, to, 1);
    struct replay_score sc;
    assert_int_equal(replay_score(&r, &sc), 0);
    const struct replay_instrument_score *is = &sc.in[0];
    assert_int_equal(is->top, 10);
    const struct replay_policy_score *o = pol(is, "orchestrator"), *c15 = pol(is, "cron-15");
    const struct replay_policy_score *eq = pol(is, "equal-runs-cron"), *c60 = pol(is, "cron-60");
    /* the crons: what the spells imply (cron-60 only in windows on the hour) */
    long on_hour = 0;
    for (int k = 0; k < 10; k++)
        on_hour += spell_at[k] % 4 == 0;
    assert_int_equal(c15->runs, 100);
    assert_int_equal(c15->covered, 10);
    assert_int_equal(c60->covered, on_hour);
    assert_int_equal(o->covered, 10);
    assert_true(o->runs < c15->runs);
    /* the equal-runs cron: its runs as near as a whole-second period gets */
    assert_true(labs(eq->runs - o->runs) <= 1);
    assert_true(eq->period_s > 900);
    assert_true(o->covered > eq->covered);
    replay_free(&r);
    replay_series_free(&s);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct replay_series s[2];
    synthetic(&s[0], "AAAUSDT", 3);
    synthetic(&s[1], "BBBUSDT", 11);
    time_t from = s[0].t[0], to = from + SYN_WINDOWS * 900;
    struct replay a, b, c;
    run(&a, s, 2, from, to, 5);
    run(&b, s, 2, from, to, 5);
    assert_int_equal(a.nmarks, b.nmarks);
    assert_int_equal(a.nscans, b.nscans);
    for (size_t i = 0; i < a.nmarks; i++) {
        assert_int_equal(a.marks[i].at, b.marks[i].at);
        assert_int_equal(a.marks[i].mode, b.marks[i].mode);
        assert_int_equal(a.marks[i].nscans, b.marks[i].nscans);
    }
    for (size_t i = 0; i < a.nscans; i++) {
        assert_int_equal(a.scans[i].at, b.scans[i].at);
        assert_int_equal(a.scans[i].intensity, b.scans[i].intensity);
        assert_int_equal(a.scans[i].opportunities, b.scans[i].opportunities);
        assert_int_equal(a.scans[i].wf, b.scans[i].wf);
    }
    /* another seed: other draws somewhere */
    run(&c, s, 2, from, to, 6);
    int same = c.nscans == a.nscans;
    for (size_t i = 0; same && i < a.nscans; i++)
        same = a.scans[i].at == c.scans[i].at && a.scans[i].intensity == c.scans[i].intensity;
    assert_false(same);
    replay_free(&a);
    replay_free(&b);
    replay_free(&c);
    replay_series_free(&s[0]);
    replay_series_free(&s[1]);
}

/* ---- a slice of the real data ------------------------------------------------- */

static void data_path(char *out, size_t cap, const char *rel)
{
    const char *d = getenv("SHARED_DATA");
    const char *top = getenv("top_srcdir");
    if (d && *d)
        snprintf(out, cap, "%s/%s", d, rel);
    else
        snprintf(out, cap, "%s/../shared/data/%s", top ? top : "..", rel);
}

/* The target for market m of a scorecard: at least 90% of the
 * coverage of market-hours cron-5 (the cron-5 that skips the closed
 * market) with at most 35% of its runs; and more coverage than the cron
 * with as many runs as the orchestrator's. */
static void assert_target(const struct replay_score *sc, int m)
{
    long top = 0, cov = 0, h5cov = 0, eqcov = 0, runs = 0, h5runs = 0;
    for (int i = 0; i < sc->ni; i++) {
        const struct replay_instrument_score *is = &sc->in[i];
        if (is->market != m)
            continue;
        top += is->top;
        cov += pol(is, "orchestrator")->covered;
        h5cov += pol(is, "market-hours-cron-5")->covered;
        eqcov += pol(is, "equal-runs-cron")->covered;
        runs = pol(is, "orchestrator")->runs;
        h5runs = pol(is, "market-hours-cron-5")->runs;
    }
    assert_true(top > 0 && h5cov > 0 && h5runs > 0);
    if (!((double)cov >= 0.9 * (double)h5cov && (double)runs <= 0.35 * (double)h5runs && cov > eqcov))
        fail_msg("%s: %ld of %ld top windows covered with %ld runs; market-hours cron-5 %ld with %ld runs; "
                 "equal-runs cron %ld", learn_market_name(m), cov, top, runs, h5cov, h5runs, eqcov);
}

static void test_real_slice(void **state)
{
    (void)state;
    static const char *const crypto[] = {
        "crypto/binance_BTCUSDT_1m_2025-01-01_2025-01-28.csv.gz",
        "crypto/binance_ETHUSDT_1m_2025-01-01_2025-01-28.csv.gz",
        "crypto/binance_SOLUSDT_1m_2025-01-01_2025-01-28.csv.gz",
    };
    struct replay_series s[3];
    char path[1024], err[512];
    for (int i = 0; i < 3; i++) {
        data_path(path, sizeof path, crypto[i]);
        if (replay_read(path, &s[i], err, sizeof err) != 0)
            fail_msg("%s (set SHARED_DATA)", err);
        assert_int_equal(s[i].n, 40000);             /* SOURCES.md: no gaps, no duplicates */
        assert_int_equal(s[i].duplicates, 0);
        assert_int_equal(s[i].t[0], iso("2025-01-01"));
        assert_int_equal(s[i].t[39999], iso("2025-01-28T18:39Z"));
    }
    /* two days around the inauguration */
    struct replay r;
    run(&r, s, 3, iso("2025-01-19"), iso("2025-01-21"), 1);
    struct replay_score sc;
    assert_int_equal(replay_score(&r, &sc), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sc.in[i].windows, 192);
        assert_int_equal(sc.in[i].top, 19);
        const struct replay_policy_score *o = pol(&sc.in[i], "orchestrator"), *c5 = pol(&sc.in[i], "cron-5");
        assert_int_equal(c5->runs, 576);
        assert_true(o->runs > 0 && o->runs < c5->runs / 2);
        assert_true(o->coverage >= 0.6);
    }
    replay_free(&r);
    /* the target on the week around the inauguration (a week: enough top
     * windows, 67 per instrument, to mean something; the cold start counts) */
    run(&r, s, 3, iso("2025-01-17"), iso("2025-01-24"), 1);
    assert_int_equal(replay_score(&r, &sc), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sc.in[i].top, 67);
    assert_target(&sc, LEARN_CRYPTO);
    replay_free(&r);
    for (int i = 0; i < 3; i++)
        replay_series_free(&s[i]);

    /* forex: the whole year is read, the clock changes handled */
    static const char *const forex[] = {
        "forex/DAT_ASCII_EURUSD_M1_2019.csv.gz",
        "forex/DAT_ASCII_GBPUSD_M1_2019.csv.gz",
    };
    for (int i = 0; i < 2; i++) {
        data_path(path, sizeof path, forex[i]);
        if (replay_read(path, &s[i], err, sizeof err) != 0)
            fail_msg("%s (set SHARED_DATA)", err);
        assert_int_equal(s[i].duplicates, 60);       /* the 2019-10-27 block */
        assert_int_equal(s[i].conflicts, 0);
        /* the first session of 2019 opens at 22:00 UTC, the last closes at 22:00 */
        assert_true(s[i].t[0] >= iso("2019-01-01T22:00Z") && s[i].t[0] < iso("2019-01-01T22:15Z"));
        assert_true(s[i].t[s[i].n - 1] >= iso("2019-12-31T21:55Z") && s[i].t[s[i].n - 1] <= iso("2019-12-31T21:59Z"));
    }
    assert_int_equal(s[0].n, 372530 - 60);
    /* the week of the spring clock change, the weekend included */
    run(&r, s, 2, iso("2019-03-28"), iso("2019-04-03"), 1);
    assert_int_equal(replay_score(&r, &sc), 0);
    for (int i = 0; i < 2; i++) {
        const struct replay_policy_score *o = pol(&sc.in[i], "orchestrator"), *c5 = pol(&sc.in[i], "cron-5");
        const struct replay_policy_score *h5 = pol(&sc.in[i], "market-hours-cron-5");
        assert_int_equal(c5->runs, 6 * 288);
        assert_true(h5->runs < c5->runs);            /* the weekend is skipped */
        assert_true(h5->coverage == 1.0);
        assert_true(o->runs > 0 && o->runs < c5->runs / 2);
        assert_true(o->coverage >= 0.6);
    }
    /* no forex scan during the weekend closure */
    for (size_t i = 0; i < r.nscans; i++)
        assert_false(r.scans[i].at >= iso("2019-03-29T21:01Z") && r.scans[i].at < iso("2019-03-31T21:00Z"));
    replay_free(&r);
    /* the target on the first two weeks of trading in 2019 */
    run(&r, s, 2, iso("2019-01-02"), iso("2019-01-16"), 1);
    assert_int_equal(replay_score(&r, &sc), 0);
    for (int i = 0; i < 2; i++) {
        const struct replay_policy_score *c5 = pol(&sc.in[i], "cron-5"), *h5 = pol(&sc.in[i], "market-hours-cron-5");
        assert_true(h5->runs < c5->runs);            /* the weekends are skipped */
        assert_true(sc.in[i].top >= 90);
    }
    assert_target(&sc, LEARN_FOREX);
    replay_free(&r);
    for (int i = 0; i < 2; i++)
        replay_series_free(&s[i]);
}

int main(void)
{
    seed_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timezone_rule),
        cmocka_unit_test(test_histdata),
        cmocka_unit_test(test_binance),
        cmocka_unit_test(test_gzip_and_plain_files),
        cmocka_unit_test(test_synthetic_bursts),
        cmocka_unit_test(test_synthetic_spells),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_real_slice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
