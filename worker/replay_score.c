/* replay_score: windows, crons, policies and the honest figures; see replay_score.h.
 * (The JSON, the table and the CSV are in replay_report.c.) */
#include "config.h"
#include "replay_score.h"
#include "catalog.h"
#include "learn.h"
#include "sessions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

time_t replay_floor(time_t t, long p)
{
    long long q = (long long)t / p;
    if ((long long)t < 0 && (long long)t % p)
        q--;
    return (time_t)(q * p);
}

long replay_window_vols(const struct replay_series *s, time_t from, time_t to, double *vols, long nwin)
{
    time_t w0 = replay_floor(from, REPLAY_SCORE_WINDOW);
    for (long k = 0; k < nwin; k++)
        vols[k] = -1;
    long with = 0;
    for (size_t i = replay_first_at(s, from); i < s->n && s->t[i] < to; i++) {
        long k = (long)((s->t[i] - w0) / REPLAY_SCORE_WINDOW);
        if (k < 0 || k >= nwin)
            continue;
        double ret = i > 0 && s->t[i] - s->t[i - 1] == 60 ? log(s->c[i] / s->c[i - 1]) : log(s->c[i] / s->o[i]);
        if (vols[k] < 0) {
            vols[k] = 0;
            with++;
        }
        vols[k] += fabs(ret);
    }
    return with;
}

static const double *replay_sort_vols;

static int replay_vol_cmp(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    double vx = replay_sort_vols[x], vy = replay_sort_vols[y];
    if (vx != vy)
        return vx > vy ? -1 : 1;
    return x < y ? -1 : x > y;
}

void replay_sort_windows(const double *vols, long *idx, long n)
{
    replay_sort_vols = vols;
    qsort(idx, (size_t)n, sizeof *idx, replay_vol_cmp);
}

static int replay_double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double replay_median(double *v, size_t n)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, replay_double_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const struct replay_policy_score *replay_policy(const struct replay_instrument_score *is, const char *name)
{
    for (int i = 0; i < is->npol; i++)
        if (strcmp(is->pol[i].name, name) == 0)
            return &is->pol[i];
    return NULL;
}

/* Market-open flags per hour from `from` (forex: the sessions' weekend
 * closure; crypto never closes).  Caller frees. */
static unsigned char *replay_open_hours(int market, time_t from, long nhours)
{
    unsigned char *o = malloc((size_t)(nhours > 0 ? nhours : 1));
    if (!o)
        return NULL;
    time_t h0 = replay_floor(from, 3600);
    for (long h = 0; h < nhours; h++) {
        struct session_state st;
        o[h] = market == LEARN_CRYPTO || (sessions_at(h0 + h * 3600, &st) == 0 && st.market_open);
    }
    return o;
}

/* What scoring one replay shares between its instruments (owned, freed by
 * replay_score_ctx_free). */
struct replay_score_ctx {
    const struct replay *r;
    time_t w0, h0;                    /* the first window and hour */
    long nwin;
    double *vols;                     /* [nwin] one instrument's window volatility */
    long *idx;                        /* [nwin] its windows with data, loudest first */
    unsigned char *open[LEARN_MARKET_COUNT];   /* market open per hour from h0 */
    unsigned char *topw[LEARN_MARKET_COUNT];   /* [nwin] a top window of one of the market's instruments */
    double *lat[LEARN_MARKET_COUNT];  /* reaction latencies (minutes) of the market's covered top windows */
    size_t nlat[LEARN_MARKET_COUNT];
    long *phase_cov[LEARN_MARKET_COUNT];       /* [REPLAY_MAX_PHASES] covered top windows per phase */
    long *phase_runs[LEARN_MARKET_COUNT];      /* [REPLAY_MAX_PHASES] runs per phase */
};

static void replay_score_ctx_free(struct replay_score_ctx *c)
{
    free(c->vols);
    free(c->idx);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        free(c->open[m]);
        free(c->topw[m]);
        free(c->lat[m]);
        free(c->phase_cov[m]);
        free(c->phase_runs[m]);
    }
}

static int replay_score_ctx_new(struct replay_score_ctx *c, const struct replay *r)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->w0 = replay_floor(r->from, REPLAY_SCORE_WINDOW);
    c->nwin = (long)((r->to - c->w0 + REPLAY_SCORE_WINDOW - 1) / REPLAY_SCORE_WINDOW);
    c->h0 = replay_floor(r->from, 3600);
    long nhours = (long)((r->to - c->h0 + 3599) / 3600) + 1;
    size_t nw = (size_t)(c->nwin > 0 ? c->nwin : 1);
    c->vols = malloc(nw * sizeof *c->vols);
    c->idx = malloc(nw * sizeof *c->idx);
    if (!c->vols || !c->idx)
        return -1;
    int have[LEARN_MARKET_COUNT] = { 0 };
    for (int k = 0; k < r->ns; k++)
        if (r->s[k].market >= 0 && r->s[k].market < LEARN_MARKET_COUNT)
            have[r->s[k].market] = 1;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        if (!have[m])
            continue;
        c->open[m] = replay_open_hours(m, r->from, nhours);
        c->topw[m] = calloc(nw, 1);
        c->lat[m] = malloc(((size_t)r->ns * (nw / 10 + 1) + 1) * sizeof *c->lat[m]);
        c->phase_cov[m] = calloc(REPLAY_MAX_PHASES, sizeof *c->phase_cov[m]);
        c->phase_runs[m] = calloc(REPLAY_MAX_PHASES, sizeof *c->phase_runs[m]);
        if (!c->open[m] || !c->topw[m] || !c->lat[m] || !c->phase_cov[m] || !c->phase_runs[m])
            return -1;
    }
    return 0;
}

/* Is the market open at t (op NULL: always)? */
static int replay_open_at(const struct replay_score_ctx *c, const unsigned char *op, time_t t)
{
    return !op || op[(t - c->h0) / 3600];
}

/* Ticks of a cron every period seconds, at phase + multiples of it since
 * the epoch, within [r->from, r->to); op (market-open flags per hour)
 * NULL: every tick, else only those while the market is open. */
static long replay_cron_runs(const struct replay_score_ctx *c, long period, long phase, const unsigned char *op)
{
    long n = 0;
    for (time_t t = replay_floor(c->r->from - phase + period - 1, period) + phase; t < c->r->to; t += period)
        n += replay_open_at(c, op, t);
    return n;
}

/* The top windows (c->idx[0 .. top)) in which a tick of that cron falls. */
static long replay_cron_covered(const struct replay_score_ctx *c, long period, long phase, const unsigned char *op,
                                long top)
{
    long covered = 0;
    for (long q = 0; q < top; q++) {
        time_t ws = c->w0 + c->idx[q] * REPLAY_SCORE_WINDOW;
        for (time_t t = replay_floor(ws - phase + period - 1, period) + phase; t < ws + REPLAY_SCORE_WINDOW; t += period) {
            if (t >= c->r->from && t < c->r->to && replay_open_at(c, op, t)) {
                covered++;
                break;
            }
        }
    }
    return covered;
}

/* The market-hours cron period (whole seconds, epoch-aligned) whose runs
 * are nearest to runs. */
static long replay_equal_period(const struct replay_score_ctx *c, long runs, const unsigned char *op)
{
    long lo = 60, hi = (long)(c->r->to - c->r->from) + 1;
    while (lo < hi) {                  /* the shortest period with at most runs ticks */
        long mid = lo + (hi - lo) / 2;
        if (replay_cron_runs(c, mid, 0, op) <= runs)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo > 60 && labs(replay_cron_runs(c, lo - 1, 0, op) - runs) < labs(replay_cron_runs(c, lo, 0, op) - runs))
        lo--;
    return lo;
}

/* The equal-runs cron of period over its phase offsets into *ph (top
 * windows c->idx[0 .. top)); covered and runs per phase are added to the
 * market's sums. */
static void replay_score_phases(struct replay_score_ctx *c, int m, long period, long top, struct replay_phases *ph)
{
    memset(ph, 0, sizeof *ph);
    ph->period_s = period;
    long minutes = (period + 59) / 60;                /* whole-minute offsets below the period */
    ph->step_s = 60 * ((minutes + REPLAY_MAX_PHASES - 1) / REPLAY_MAX_PHASES);
    double sum = 0, runs = 0;
    for (long phase = 0; phase < period && ph->n < REPLAY_MAX_PHASES; phase += ph->step_s) {
        long cov = replay_cron_covered(c, period, phase, c->open[m], top);
        long n = replay_cron_runs(c, period, phase, c->open[m]);
        double share = top ? (double)cov / (double)top : 0;
        if (ph->n == 0 || share < ph->cov_min)
            ph->cov_min = share;
        if (ph->n == 0 || share > ph->cov_max)
            ph->cov_max = share;
        sum += share;
        runs += (double)n;
        c->phase_cov[m][ph->n] += cov;
        c->phase_runs[m][ph->n] = n;           /* the same ticks for every instrument of m */
        ph->n++;
    }
    ph->cov_mean = ph->n ? sum / ph->n : 0;
    ph->runs_mean = ph->n ? runs / ph->n : 0;
}

/* The orchestrator's policy for instrument is (market m, its top windows
 * c->idx[0 .. is->top)): runs, coverage, and reaction latency (each covered
 * top window's latency also into c->lat[m]). */
static void replay_score_orchestrator(struct replay_score_ctx *c, int m, struct replay_instrument_score *is)
{
    const struct replay *r = c->r;
    struct replay_policy_score *p = &is->pol[is->npol++];
    snprintf(p->name, sizeof p->name, "orchestrator");
    p->llm_calls = r->llm_calls;
    p->llm_tokens = r->llm_tokens;
    for (size_t i = 0; i < r->nscans; i++)
        if (r->scans[i].market == m)
            p->runs++;
    double *lat = c->lat[m] + c->nlat[m];
    size_t nlat = 0;
    for (long q = 0; q < is->top; q++) {
        time_t ws = c->w0 + c->idx[q] * REPLAY_SCORE_WINDOW;
        size_t lo = 0, hi = r->nscans;
        while (lo < hi) {              /* scans are in time order */
            size_t mid = (lo + hi) / 2;
            if (r->scans[mid].at < ws)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < r->nscans && r->scans[i].at < ws + REPLAY_SCORE_WINDOW; i++) {
            if (r->scans[i].market == m && !r->scans[i].cross) {
                p->covered++;
                lat[nlat++] = (double)(r->scans[i].at - ws) / 60.0;
                is->within5 += r->scans[i].at - ws <= REPLAY_REACT_SECONDS;
                break;
            }
        }
    }
    c->nlat[m] += nlat;
    double *mine = malloc((nlat ? nlat : 1) * sizeof *mine);   /* the median sorts: keep the market's order */
    if (mine) {
        memcpy(mine, lat, nlat * sizeof *mine);
        is->latency_median_min = replay_median(mine, nlat);
        free(mine);
    } else {
        is->latency_median_min = replay_median(lat, nlat);
    }
    is->within5_share = is->top ? (double)is->within5 / (double)is->top : 0;
}

/* The share of market m's runs that start in the quieter half of this
 * instrument's windows with data (nw of them, c->idx sorted loudest first). */
static void replay_score_quiet(struct replay_score_ctx *c, int m, long nw, struct replay_instrument_score *is)
{
    unsigned char *quiet = calloc((size_t)(c->nwin > 0 ? c->nwin : 1), 1);
    is->quiet_share = -1;
    if (!quiet)
        return;
    for (long q = (nw + 1) / 2; q < nw; q++)          /* the floor(nw / 2) quietest */
        quiet[c->idx[q]] = 1;
    for (size_t i = 0; i < c->r->nscans; i++) {
        const struct replay_scan *sc = &c->r->scans[i];
        long k = (long)((sc->at - c->w0) / REPLAY_SCORE_WINDOW);
        if (sc->market != m || sc->at < c->w0 || k >= c->nwin || c->vols[k] < 0)
            continue;
        is->quiet_counted++;
        is->quiet_runs += quiet[k];
    }
    if (is->quiet_counted)
        is->quiet_share = (double)is->quiet_runs / (double)is->quiet_counted;
    free(quiet);
}

/* Score series k into sc->in[sc->ni++]. */
static void replay_score_instrument(struct replay_score_ctx *c, int k, struct replay_score *sc)
{
    static const int crons[] = { 1, 5, 15, 60 };
    const struct replay *r = c->r;
    const struct replay_series *s = &r->s[k];
    int m = s->market;
    struct replay_instrument_score *is = &sc->in[sc->ni++];
    snprintf(is->name, sizeof is->name, "%s", s->name);
    is->market = m;
    is->windows = replay_window_vols(s, r->from, r->to, c->vols, c->nwin);
    long nw = 0;
    for (long w = 0; w < c->nwin; w++)
        if (c->vols[w] >= 0)
            c->idx[nw++] = w;
    replay_sort_windows(c->vols, c->idx, nw);
    is->top = nw / 10 > 0 ? nw / 10 : nw;
    for (long q = 0; q < is->top; q++)
        c->topw[m][c->idx[q]] = 1;
    const unsigned char *op = c->open[m];

    replay_score_orchestrator(c, m, is);
    long orch_runs = is->pol[0].runs;
    /* crons, then crons that skip closed market hours */
    for (int hours_only = 0; hours_only < 2; hours_only++) {
        for (size_t i = 0; i < sizeof crons / sizeof crons[0]; i++) {
            struct replay_policy_score *p = &is->pol[is->npol++];
            snprintf(p->name, sizeof p->name, "%scron-%d", hours_only ? "market-hours-" : "", crons[i]);
            p->period_s = crons[i] * 60L;
            p->runs = replay_cron_runs(c, p->period_s, 0, hours_only ? op : NULL);
            p->covered = replay_cron_covered(c, p->period_s, 0, hours_only ? op : NULL, is->top);
        }
    }
    /* the equal-runs cron: market hours, the period nearest to the
     * orchestrator's number of runs; epoch-aligned, then over its phases */
    struct replay_policy_score *p = &is->pol[is->npol++];
    snprintf(p->name, sizeof p->name, "equal-runs-cron");
    if (orch_runs > 0) {
        p->period_s = replay_equal_period(c, orch_runs, op);
        p->runs = replay_cron_runs(c, p->period_s, 0, op);
        p->covered = replay_cron_covered(c, p->period_s, 0, op, is->top);
        replay_score_phases(c, m, p->period_s, is->top, &is->phases);
    }
    for (int i = 0; i < is->npol; i++) {
        p = &is->pol[i];
        p->coverage = is->top ? (double)p->covered / (double)is->top : 0;
        p->runs_per_covered = p->covered ? (double)p->runs / (double)p->covered : 0;
    }
    replay_score_quiet(c, m, nw, is);
}

/* Market m's totals over its instruments in sc. */
static void replay_score_market(struct replay_score_ctx *c, int m, struct replay_score *sc)
{
    struct replay_market_score *x = &sc->mk[m];
    double quiet = 0;
    int nquiet = 0;
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        if (is->market != m)
            continue;
        const struct replay_policy_score *o = replay_policy(is, "orchestrator"), *c5 = replay_policy(is, "cron-5");
        const struct replay_policy_score *h5 = replay_policy(is, "market-hours-cron-5"), *eq = replay_policy(is, "equal-runs-cron");
        x->top += is->top;
        x->covered += o->covered;
        x->cron5_covered += c5->covered;
        x->mh5_covered += h5->covered;
        x->eq_covered += eq->covered;
        x->runs = o->runs;
        x->cron5_runs = c5->runs;
        x->mh5_runs = h5->runs;
        x->eq_runs = eq->runs;
        x->eq_period = eq->period_s;
        x->phases.period_s = is->phases.period_s;
        x->phases.n = is->phases.n;
        x->phases.step_s = is->phases.step_s;
        x->within5 += is->within5;
        if (is->quiet_share >= 0) {
            quiet += is->quiet_share;
            nquiet++;
        }
        x->n++;
    }
    if (!x->n)
        return;
    double top = x->top > 0 ? (double)x->top : 1;
    x->cov = (double)x->covered / top;
    x->cron5_cov = (double)x->cron5_covered / top;
    x->mh5_cov = (double)x->mh5_covered / top;
    x->eq_cov = (double)x->eq_covered / top;
    x->vs_cron5_cov = x->cron5_cov > 0 ? x->cov / x->cron5_cov : 0;
    x->vs_cron5_runs = x->cron5_runs ? (double)x->runs / (double)x->cron5_runs : 0;
    x->vs_mh5_cov = x->mh5_cov > 0 ? x->cov / x->mh5_cov : 0;
    x->vs_mh5_runs = x->mh5_runs ? (double)x->runs / (double)x->mh5_runs : 0;
    x->met = x->top > 0 && x->vs_mh5_cov >= 0.9 && x->vs_mh5_runs <= 0.35;
    x->met_cron5 = x->top > 0 && x->vs_cron5_cov >= 0.9 && x->vs_cron5_runs <= 0.35;
    double sum = 0, runs = 0;
    for (int i = 0; i < x->phases.n; i++) {
        double share = (double)c->phase_cov[m][i] / top;
        if (i == 0 || share < x->phases.cov_min)
            x->phases.cov_min = share;
        if (i == 0 || share > x->phases.cov_max)
            x->phases.cov_max = share;
        sum += share;
        runs += (double)c->phase_runs[m][i];
    }
    x->phases.cov_mean = x->phases.n ? sum / x->phases.n : 0;
    x->phases.runs_mean = x->phases.n ? runs / x->phases.n : 0;
    x->advantage = x->cov - x->phases.cov_mean;
    x->latency_median_min = replay_median(c->lat[m], c->nlat[m]);
    x->within5_share = (double)x->within5 / top;
    x->quiet_share = nquiet ? quiet / nquiet : -1;
    for (long w = 0; w < c->nwin; w++)
        x->floor_runs += c->topw[m][w];
    x->floor_share = x->mh5_runs ? (double)x->floor_runs / (double)x->mh5_runs : 0;
}

int replay_score(const struct replay *r, struct replay_score *sc)
{
    memset(sc, 0, sizeof *sc);
    struct replay_score_ctx c;
    int rc = -1;
    if (replay_score_ctx_new(&c, r) == 0) {
        for (int k = 0; k < r->ns && sc->ni < REPLAY_MAX_SERIES; k++)
            replay_score_instrument(&c, k, sc);
        for (int m = 0; m < LEARN_MARKET_COUNT; m++)
            replay_score_market(&c, m, sc);
        rc = 0;
    }
    replay_score_ctx_free(&c);
    return rc;
}
