/* replay_score: windows, crons, policies, JSON, table and CSV; see replay_score.h. */
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

/* Ticks of a cron every period seconds (at multiples of it since the
 * epoch) within [r->from, r->to); op (market-open flags per hour from h0)
 * NULL: every tick, else only those while the market is open. */
static long replay_cron_runs(const struct replay *r, long period, const unsigned char *op, time_t h0)
{
    long n = 0;
    for (time_t t = replay_floor(r->from + period - 1, period); t < r->to; t += period)
        if (!op || op[(t - h0) / 3600])
            n++;
    return n;
}

/* Score that cron into *p: its runs, and the top windows (indices idx[0 ..
 * top) of windows from w0) in which one of its ticks falls. */
static void replay_cron(const struct replay *r, long period, const unsigned char *op, time_t h0, time_t w0,
                        const long *idx, long top, struct replay_policy_score *p)
{
    p->period_s = period;
    p->runs = replay_cron_runs(r, period, op, h0);
    for (long q = 0; q < top; q++) {
        time_t ws = w0 + idx[q] * REPLAY_SCORE_WINDOW;
        for (time_t t = replay_floor(ws + period - 1, period); t < ws + REPLAY_SCORE_WINDOW; t += period) {
            if (t >= r->from && t < r->to && (!op || op[(t - h0) / 3600])) {
                p->covered++;
                break;
            }
        }
    }
}

int replay_score(const struct replay *r, struct replay_score *sc)
{
    memset(sc, 0, sizeof *sc);
    time_t w0 = replay_floor(r->from, REPLAY_SCORE_WINDOW);
    long nwin = (long)((r->to - w0 + REPLAY_SCORE_WINDOW - 1) / REPLAY_SCORE_WINDOW);
    time_t h0 = replay_floor(r->from, 3600);
    long nhours = (long)((r->to - h0 + 3599) / 3600) + 1;
    double *vols = malloc((size_t)(nwin > 0 ? nwin : 1) * sizeof *vols);
    long *idx = malloc((size_t)(nwin > 0 ? nwin : 1) * sizeof *idx);
    unsigned char *open[LEARN_MARKET_COUNT] = { NULL, NULL };
    int rc = -1;
    if (!vols || !idx)
        goto out;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        if (r->have[m] && !(open[m] = replay_open_hours(m, r->from, nhours)))
            goto out;
    static const int crons[] = { 1, 5, 15, 60 };
    for (int k = 0; k < r->ns && sc->ni < REPLAY_MAX_SERIES; k++) {
        const struct replay_series *s = &r->s[k];
        struct replay_instrument_score *is = &sc->in[sc->ni++];
        snprintf(is->name, sizeof is->name, "%s", s->name);
        is->market = s->market;
        is->windows = replay_window_vols(s, r->from, r->to, vols, nwin);
        long nw = 0;
        for (long w = 0; w < nwin; w++)
            if (vols[w] >= 0)
                idx[nw++] = w;
        replay_sort_windows(vols, idx, nw);
        is->top = nw / 10 > 0 ? nw / 10 : nw;
        const unsigned char *op = open[s->market];

        /* the orchestrator: scans of this market */
        struct replay_policy_score *p = &is->pol[is->npol++];
        snprintf(p->name, sizeof p->name, "orchestrator");
        p->llm_calls = r->llm_calls;
        p->llm_tokens = r->llm_tokens;
        for (size_t i = 0; i < r->nscans; i++)
            if (r->scans[i].market == s->market)
                p->runs++;
        for (long q = 0; q < is->top; q++) {
            time_t ws = w0 + idx[q] * REPLAY_SCORE_WINDOW;
            size_t lo = 0, hi = r->nscans;
            while (lo < hi) {          /* scans are in time order */
                size_t mid = (lo + hi) / 2;
                if (r->scans[mid].at < ws)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t i = lo; i < r->nscans && r->scans[i].at < ws + REPLAY_SCORE_WINDOW; i++) {
                if (r->scans[i].market == s->market && r->scans[i].wf != WF_DEEP_ANALYSIS) {
                    p->covered++;
                    break;
                }
            }
        }
        long orch_runs = p->runs;
        /* crons, then crons that skip closed market hours */
        for (int hours_only = 0; hours_only < 2; hours_only++) {
            for (size_t c = 0; c < sizeof crons / sizeof crons[0]; c++) {
                long period = crons[c] * 60L;
                p = &is->pol[is->npol++];
                snprintf(p->name, sizeof p->name, "%scron-%d", hours_only ? "market-hours-" : "", crons[c]);
                replay_cron(r, period, hours_only ? op : NULL, h0, w0, idx, is->top, p);
            }
        }
        /* the equal-runs cron: market hours, the period nearest to the
         * orchestrator's number of runs */
        p = &is->pol[is->npol++];
        snprintf(p->name, sizeof p->name, "equal-runs-cron");
        if (orch_runs > 0) {
            long lo = 60, hi = (long)(r->to - r->from) + 1;
            while (lo < hi) {              /* the shortest period with at most orch_runs ticks */
                long mid = lo + (hi - lo) / 2;
                if (replay_cron_runs(r, mid, op, h0) <= orch_runs)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            long period = lo;
            if (period > 60 && labs(replay_cron_runs(r, period - 1, op, h0) - orch_runs) <
                               labs(replay_cron_runs(r, period, op, h0) - orch_runs))
                period--;
            replay_cron(r, period, op, h0, w0, idx, is->top, p);
        }
        for (int i = 0; i < is->npol; i++) {
            p = &is->pol[i];
            p->coverage = is->top ? (double)p->covered / (double)is->top : 0;
            p->runs_per_covered = p->covered ? (double)p->runs / (double)p->covered : 0;
        }
    }
    rc = 0;
out:
    free(vols);
    free(idx);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        free(open[m]);
    return rc;
}

const struct replay_policy_score *replay_policy(const struct replay_instrument_score *is, const char *name)
{
    for (int i = 0; i < is->npol; i++)
        if (strcmp(is->pol[i].name, name) == 0)
            return &is->pol[i];
    return NULL;
}

/* Market totals: coverage over all its instruments' top windows, runs of
 * the market (the same for each of its instruments). */
struct replay_market_total {
    long top, covered, runs;
    long cron5_covered, cron5_runs;           /* 24/7 cron-5 */
    long mh5_covered, mh5_runs;               /* market-hours cron-5: the target's basis */
    long eq_covered, eq_runs, eq_period;      /* the equal-runs cron */
    int n;
    /* derived */
    double cov, cron5_cov, mh5_cov, eq_cov;
    double vs_cron5_cov, vs_cron5_runs, vs_mh5_cov, vs_mh5_runs;
    int met, met_cron5;
};

static void replay_totals(const struct replay_score *sc, struct replay_market_total t[LEARN_MARKET_COUNT])
{
    memset(t, 0, LEARN_MARKET_COUNT * sizeof *t);
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        const struct replay_policy_score *o = replay_policy(is, "orchestrator"), *c5 = replay_policy(is, "cron-5");
        const struct replay_policy_score *h5 = replay_policy(is, "market-hours-cron-5"), *eq = replay_policy(is, "equal-runs-cron");
        struct replay_market_total *m = &t[is->market];
        m->top += is->top;
        m->covered += o->covered;
        m->cron5_covered += c5->covered;
        m->mh5_covered += h5->covered;
        m->eq_covered += eq->covered;
        m->runs = o->runs;
        m->cron5_runs = c5->runs;
        m->mh5_runs = h5->runs;
        m->eq_runs = eq->runs;
        m->eq_period = eq->period_s;
        m->n++;
    }
    for (int i = 0; i < LEARN_MARKET_COUNT; i++) {
        struct replay_market_total *m = &t[i];
        double top = m->top > 0 ? (double)m->top : 1;
        m->cov = (double)m->covered / top;
        m->cron5_cov = (double)m->cron5_covered / top;
        m->mh5_cov = (double)m->mh5_covered / top;
        m->eq_cov = (double)m->eq_covered / top;
        m->vs_cron5_cov = m->cron5_cov > 0 ? m->cov / m->cron5_cov : 0;
        m->vs_cron5_runs = m->cron5_runs ? (double)m->runs / (double)m->cron5_runs : 0;
        m->vs_mh5_cov = m->mh5_cov > 0 ? m->cov / m->mh5_cov : 0;
        m->vs_mh5_runs = m->mh5_runs ? (double)m->runs / (double)m->mh5_runs : 0;
        m->met = m->top > 0 && m->vs_mh5_cov >= 0.9 && m->vs_mh5_runs <= 0.35;
        m->met_cron5 = m->top > 0 && m->vs_cron5_cov >= 0.9 && m->vs_cron5_runs <= 0.35;
    }
}

static json_object *replay_round(double d, double unit)
{
    return json_object_new_double(round(d / unit) * unit);
}

json_object *replay_score_json(const struct replay *r, const struct replay_score *sc)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "window_minutes", json_object_new_int(REPLAY_SCORE_WINDOW / 60));
    json_object_object_add(root, "top_share", json_object_new_double(0.1));
    json_object *ins = json_object_new_array();
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "instrument", json_object_new_string(is->name));
        json_object_object_add(o, "market", json_object_new_string(learn_market_name(is->market)));
        json_object_object_add(o, "windows", json_object_new_int64(is->windows));
        json_object_object_add(o, "top_windows", json_object_new_int64(is->top));
        json_object *ps = json_object_new_array();
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            json_object *j = json_object_new_object();
            json_object_object_add(j, "policy", json_object_new_string(p->name));
            json_object_object_add(j, "period_s", json_object_new_int64(p->period_s));
            json_object_object_add(j, "runs", json_object_new_int64(p->runs));
            json_object_object_add(j, "covered", json_object_new_int64(p->covered));
            json_object_object_add(j, "coverage", replay_round(p->coverage, 1e-4));
            json_object_object_add(j, "runs_per_covered", replay_round(p->runs_per_covered, 1e-3));
            json_object_object_add(j, "llm_calls", json_object_new_int64(p->llm_calls));
            json_object_object_add(j, "llm_tokens", json_object_new_int64(p->llm_tokens));
            json_object_array_add(ps, j);
        }
        json_object_object_add(o, "policies", ps);
        json_object_array_add(ins, o);
    }
    json_object_object_add(root, "instruments", ins);
    struct replay_market_total t[LEARN_MARKET_COUNT];
    replay_totals(sc, t);
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        if (!t[m].n)
            continue;
        json_object *o = json_object_new_object();
        const struct replay_market_total *x = &t[m];
        json_object_object_add(o, "coverage", replay_round(x->cov, 1e-4));
        json_object_object_add(o, "runs", json_object_new_int64(x->runs));
        json_object_object_add(o, "cron5_coverage", replay_round(x->cron5_cov, 1e-4));
        json_object_object_add(o, "cron5_runs", json_object_new_int64(x->cron5_runs));
        json_object_object_add(o, "coverage_vs_cron5", replay_round(x->vs_cron5_cov, 1e-4));
        json_object_object_add(o, "runs_vs_cron5", replay_round(x->vs_cron5_runs, 1e-4));
        json_object_object_add(o, "market_hours_cron5_coverage", replay_round(x->mh5_cov, 1e-4));
        json_object_object_add(o, "market_hours_cron5_runs", json_object_new_int64(x->mh5_runs));
        json_object_object_add(o, "coverage_vs_market_hours_cron5", replay_round(x->vs_mh5_cov, 1e-4));
        json_object_object_add(o, "runs_vs_market_hours_cron5", replay_round(x->vs_mh5_runs, 1e-4));
        json_object_object_add(o, "target_basis", json_object_new_string("market-hours-cron-5"));
        json_object_object_add(o, "target_met", json_object_new_boolean(x->met));
        json_object_object_add(o, "target_met_vs_cron5", json_object_new_boolean(x->met_cron5));
        json_object_object_add(o, "equal_runs_cron_period_s", json_object_new_int64(x->eq_period));
        json_object_object_add(o, "equal_runs_cron_runs", json_object_new_int64(x->eq_runs));
        json_object_object_add(o, "equal_runs_cron_coverage", replay_round(x->eq_cov, 1e-4));
        json_object_object_add(o, "coverage_minus_equal_runs_cron", replay_round(x->cov - x->eq_cov, 1e-4));
        json_object_object_add(ms, learn_market_name(m), o);
    }
    json_object_object_add(root, "markets", ms);
    json_object_object_add(root, "deep_analyses", json_object_new_int64(r->deep_analyses));
    json_object_object_add(root, "decisions", json_object_new_int64(r->decisions));
    json_object_object_add(root, "llm_calls", json_object_new_int64(r->llm_calls));
    json_object_object_add(root, "llm_tokens", json_object_new_int64(r->llm_tokens));
    json_object_object_add(root, "health_checks", json_object_new_int64(r->health_checks));
    return root;
}

void replay_score_print(FILE *out, const struct replay *r, const struct replay_score *sc)
{
    fprintf(out, "%-10s %-6s %7s %5s  %-22s %8s %7s %7s %8s %12s %9s %8s\n", "instrument", "market", "windows", "top",
            "policy", "period", "runs", "covered", "coverage", "runs/covered", "llm_calls", "tokens");
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            if (i == 0)
                fprintf(out, "%-10s %-6s %7ld %5ld  ", is->name, learn_market_name(is->market), is->windows, is->top);
            else
                fprintf(out, "%-10s %-6s %7s %5s  ", "", "", "", "");
            char period[16] = "-";
            if (p->period_s > 0)
                snprintf(period, sizeof period, "%.1fm", (double)p->period_s / 60.0);
            fprintf(out, "%-22s %8s %7ld %7ld %7.1f%% %12.2f %9lld %8lld\n", p->name, period, p->runs, p->covered,
                    100 * p->coverage, p->runs_per_covered, p->llm_calls, p->llm_tokens);
        }
    }
    struct replay_market_total t[LEARN_MARKET_COUNT];
    replay_totals(sc, t);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct replay_market_total *x = &t[m];
        if (!x->n)
            continue;
        const char *mk = learn_market_name(m);
        fprintf(out, "%s: orchestrator covers %.1f%% of the top windows (market-hours cron-5: %.1f%%) = %.1f%% of "
                     "market-hours cron-5's coverage (target >= 90%%) with %ld runs = %.1f%% of market-hours cron-5's "
                     "%ld (target <= 35%%): %s\n",
                mk, 100 * x->cov, 100 * x->mh5_cov, 100 * x->vs_mh5_cov, x->runs, 100 * x->vs_mh5_runs, x->mh5_runs,
                x->met ? "target met" : "target NOT met");
        fprintf(out, "%s: against 24/7 cron-5 (%.1f%% with %ld runs): %.1f%% of its coverage with %.1f%% of its runs (%s)\n",
                mk, 100 * x->cron5_cov, x->cron5_runs, 100 * x->vs_cron5_cov, 100 * x->vs_cron5_runs,
                x->met_cron5 ? "the target would be met" : "the target would not be met");
        if (x->eq_period > 0)
            fprintf(out, "%s: equal-runs cron (market hours, every %.1f min, %ld runs) covers %.1f%%: orchestrator %+.1f points\n",
                    mk, (double)x->eq_period / 60.0, x->eq_runs, 100 * x->eq_cov, 100 * (x->cov - x->eq_cov));
    }
    fprintf(out, "decisions %lld; runs count every scan-type workflow (deep-market-analysis: %lld, counted in each "
                 "market); health checks %lld (not runs); llm calls %lld, llm tokens %lld\n", r->decisions,
            r->deep_analyses, r->health_checks, r->llm_calls, r->llm_tokens);
}

int replay_score_csv(FILE *out, const struct replay_score *sc)
{
    if (fprintf(out, "instrument,market,windows,top_windows,policy,period_s,runs,covered,coverage,runs_per_covered,llm_calls,llm_tokens\n") < 0)
        return -1;
    for (int k = 0; k < sc->ni; k++) {
        const struct replay_instrument_score *is = &sc->in[k];
        for (int i = 0; i < is->npol; i++) {
            const struct replay_policy_score *p = &is->pol[i];
            if (fprintf(out, "%s,%s,%ld,%ld,%s,%ld,%ld,%ld,%.4f,%.3f,%lld,%lld\n", is->name, learn_market_name(is->market),
                        is->windows, is->top, p->name, p->period_s, p->runs, p->covered, p->coverage, p->runs_per_covered,
                        p->llm_calls, p->llm_tokens) < 0)
                return -1;
        }
    }
    return 0;
}
