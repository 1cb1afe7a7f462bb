/* watch: the minute-by-minute look at the markets; see watch.h. */
#include "config.h"
#include "watch.h"
#include "sense.h"
#include "watch_ring.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- set-up ---------------------------------------------------------------------- */

int watch_init(struct watch *w, const struct cfg *c)
{
    memset(w, 0, sizeof *w);
    w->window_s = c->watch_window_minutes * 60;
    w->history_s = c->watch_history_days * 86400;
    w->share = c->watch_event_share;
    for (int i = 0; i < WATCH_MAX_INSTRUMENTS; i++)
        w->in[i].market = -1;
    size_t cap = (size_t)(w->history_s / w->window_s) + 8;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        w->m[m].threshold = -1;
        if (watch_ring_init(&w->m[m].peaks, cap, 1) < 0) {
            watch_free(w);
            return -1;
        }
    }
    return 0;
}

void watch_free(struct watch *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->nin; i++) {
        watch_ring_free(&w->in[i].totals);
        free(w->in[i].day_total);
        free(w->in[i].rr);
        free(w->in[i].rt);
        w->in[i].day_total = NULL;
        w->in[i].rr = NULL;
        w->in[i].rt = NULL;
    }
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        watch_ring_free(&w->m[m].peaks);
    w->nin = 0;
}

/* The instrument slot of name in market m, created when absent; NULL when full. */
struct watch_instrument *watch_slot(struct watch *w, int m, const char *name)
{
    for (int i = 0; i < w->nin; i++)
        if (w->in[i].market == m && strcmp(w->in[i].name, name) == 0)
            return &w->in[i];
    if (w->nin >= WATCH_MAX_INSTRUMENTS)
        return NULL;
    struct watch_instrument *in = &w->in[w->nin];
    memset(in, 0, sizeof *in);
    if (watch_ring_init(&in->totals, (size_t)(w->history_s / w->window_s) + 8, 0) < 0)
        return NULL;

    in->day_total = malloc(WATCH_DAY_WINDOWS * sizeof *in->day_total);
    in->rcap = (size_t)(w->window_s / WATCH_MIN_INTERVAL) + 8;
    in->rr = malloc(in->rcap * sizeof *in->rr);
    in->rt = malloc(in->rcap * sizeof *in->rt);
    if (!in->day_total || !in->rr || !in->rt) {
        free(in->day_total);
        free(in->rr);
        free(in->rt);
        in->day_total = NULL;
        in->rr = NULL;
        in->rt = NULL;
        watch_ring_free(&in->totals);
        return NULL;
    }
    for (int k = 0; k < WATCH_DAY_WINDOWS; k++)
        in->day_total[k] = -1;
    snprintf(in->name, sizeof in->name, "%s", name);
    in->market = m;
    w->nin++;
    return in;
}

/* ---- windows ---------------------------------------------------------------------- */

static time_t watch_floor(time_t t, long p)
{
    time_t r = t % p;
    return r < 0 ? t - r - p : t - r;
}

/* The share of windows that wake, with n windows of history: while the
 * watch has less than WATCH_RAMP_DAYS of history its threshold is still
 * rough, so it looks more often (WATCH_RAMP_SHARE at first, falling
 * linearly to WATCH_EVENT_SHARE). */
static double watch_share(const struct watch *w, size_t n)
{
    double share = w->share;
    double nwin = WATCH_RAMP_DAYS * 86400.0 / (double)w->window_s;
    if ((double)n < nwin && WATCH_RAMP_SHARE > share)
        share += (WATCH_RAMP_SHARE - share) * (1.0 - (double)n / nwin);
    return share;
}

/* The score that the share of r's windows reached (r sorted, n > 0). */
static double watch_quantile_sorted(const struct watch_ring *r, double share)
{
    return r->sorted[(size_t)((1.0 - share) * (double)(r->n - 1) + 0.5)];
}

/* The instrument's window ended: its activity joins its history. */
static void watch_close_instrument(struct watch *w, struct watch_instrument *in)
{
    if (!in->win)
        return;
    watch_ring_push(&in->totals, in->win, in->part, w->history_s);
    in->usual = watch_ring_gmean(&in->totals);

    /* the live scorecard's record of the day */
    time_t day = watch_floor(in->win, 86400);
    if (day != in->day) {
        for (int k = 0; k < WATCH_DAY_WINDOWS; k++)
            in->day_total[k] = -1;
        in->day = day;
    }
    long idx = (long)((in->win - day) / w->window_s);
    if (idx >= 0 && idx < WATCH_DAY_WINDOWS)
        in->day_total[idx] = (float)in->part;
}

/* Start the live scorecard's day of market m that holds t. */
void watch_day_start(struct watch *w, struct watch_market *mk, time_t t)
{
    memset(&mk->today, 0, sizeof mk->today);
    mk->today.day = watch_floor(t, 86400);
    long nwin = 86400 / w->window_s;
    mk->today.nwin = nwin < WATCH_DAY_WINDOWS ? (int)nwin : WATCH_DAY_WINDOWS;
}

/* The threshold of market m from its peaks: the score that the share of
 * its windows reached. */
void watch_threshold(struct watch *w, struct watch_market *mk)
{
    size_t n = mk->peaks.n;
    if (n == 0) {
        mk->threshold = -1;
        return;
    }
    mk->threshold = watch_quantile_sorted(&mk->peaks, watch_share(w, n));
}

/* The market's window ended: its peak joins its history (a window in which
 * no instrument could be scored yet teaches nothing). */
static void watch_close_market(struct watch *w, struct watch_market *mk)
{
    if (mk->win && mk->win_max > 0)
        watch_ring_push(&mk->peaks, mk->win, mk->win_max, w->history_s);
    watch_threshold(w, mk);
}

/* Drop the trailing returns of in older than the window before now. */
static void watch_trail_evict(struct watch *w, struct watch_instrument *in, time_t now)
{
    int dropped = 0;
    while (in->rn && in->rt[in->rhead] <= now - w->window_s) {
        in->rsum -= in->rr[in->rhead];
        in->rhead = (in->rhead + 1) % in->rcap;
        in->rn--;
        dropped = 1;
    }
    if (dropped) {                          /* no drift from the subtractions */
        double s = 0;
        for (size_t k = 0; k < in->rn; k++)
            s += in->rr[(in->rhead + k) % in->rcap];
        in->rsum = s;
    }
}

/* Add the return r of a sample at `at` to in's trailing window. */
static void watch_trail_add(struct watch *w, struct watch_instrument *in, time_t at, double r)
{
    watch_trail_evict(w, in, at);
    if (in->rn == in->rcap) {               /* more samples than expected: the oldest goes */
        in->rsum -= in->rr[in->rhead];
        in->rhead = (in->rhead + 1) % in->rcap;
        in->rn--;
    }
    size_t k = (in->rhead + in->rn) % in->rcap;
    in->rr[k] = r;
    in->rt[k] = at;
    in->rn++;
    in->rsum += r;
}

int watch_price(struct watch *w, int m, const char *instrument, time_t at, double price)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT || !instrument || !*instrument)
        return 0;
    struct watch_instrument *in = watch_slot(w, m, instrument);
    if (!in)
        return -1;
    if (!isfinite(price) || price <= 0 || at <= in->at)
        return 0;
    /* the sample closes the interval (at - dt, at]: it belongs to the window of at - 1 */
    time_t dw = watch_floor(at - 1, w->window_s);
    if (dw != in->win) {
        watch_close_instrument(w, in);
        in->win = dw;
        in->part = 0;
    }
    if (in->at && at - in->at <= WATCH_GAP_SECONDS && in->price > 0) {
        double r = fabs(log(price / in->price));
        in->part += r;
        watch_trail_add(w, in, at, r);
    } else {
        watch_trail_evict(w, in, at);
    }
    in->price = price;
    in->at = at;

    struct watch_market *mk = &w->m[m];
    if (dw > mk->win) {
        /* every instrument of the market leaves the old window now (one
         * that has no sample in the new one yet records its last one) */
        for (int i = 0; i < w->nin; i++) {
            struct watch_instrument *o = &w->in[i];
            if (o->market == m && o->win && o->win < dw) {
                watch_close_instrument(w, o);
                o->win = dw;
                o->part = 0;
            }
        }
        watch_close_market(w, mk);
        /* a new UTC day: the one that ended is scored */
        if (mk->today.day && watch_floor(dw, 86400) != mk->today.day) {
            watch_score_day(w, m, &mk->today, &mk->done);
            mk->done_ready = 1;
        }
        if (!mk->today.day || watch_floor(dw, 86400) != mk->today.day)
            watch_day_start(w, mk, dw);
        mk->win = dw;
        mk->win_max = 0;
    }
    /* the score: the most active instrument of the market over the
     * trailing window, against its own usual window */
    double score = 0;
    const char *top = in->name;
    for (int i = 0; i < w->nin; i++) {
        struct watch_instrument *o = &w->in[i];
        if (o->market != m || o->usual <= 0 || o->at <= at - w->window_s)
            continue;
        watch_trail_evict(w, o, at);
        double z = o->rsum / o->usual;
        if (z > score) {
            score = z;
            top = o->name;
        }
    }
    mk->score = score;
    snprintf(mk->top, sizeof mk->top, "%s", top);
    if (score > mk->win_max)
        mk->win_max = score;
    mk->samples++;
    mk->last_sample = at;
    return 0;
}

int watch_due(struct watch *w, int m, time_t now, struct watch_event *ev)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT)
        return 0;
    struct watch_market *mk = &w->m[m];
    /* the window the score is for: that of the latest sample (a sample at a
     * window's end still belongs to it) */
    time_t cw = mk->win;
    if (!mk->samples || mk->woke_win >= cw || mk->quiet_win >= cw || now - mk->last_sample > 2 * w->window_s)
        return 0;
    /* a cooldown: one burst late in a window does not wake the next one too */
    if (mk->woke_at && now - mk->woke_at < (time_t)(WATCH_COOLDOWN_SHARE * (double)w->window_s))
        return 0;
    /* no history yet: one first look; then only a crossing */
    int cross = mk->threshold < 0 ? !mk->looked : mk->score > 0 && mk->score >= mk->threshold;
    if (!cross)
        return 0;
    mk->woke_win = cw;
    mk->woke_at = now;
    mk->wakes++;
    mk->looked = 1;
    if (mk->today.day == watch_floor(now, 86400))
        mk->today.wakes++;
    memset(ev, 0, sizeof *ev);
    ev->market = m;
    ev->at = now;
    ev->score = mk->score;
    ev->threshold = mk->threshold;
    ev->windows = (long)mk->peaks.n;
    snprintf(ev->instrument, sizeof ev->instrument, "%s", mk->top);
    return 1;
}

void watch_looked(struct watch *w)
{
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        w->m[m].looked = 1;
}

void watch_scanned(struct watch *w, int m, time_t at)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT)
        return;
    struct watch_market *mk = &w->m[m];
    time_t win = watch_floor(at, w->window_s);
    mk->quiet_win = win;
    if (!mk->today.day)
        watch_day_start(w, mk, at);
    if (watch_floor(at, 86400) != mk->today.day)
        return;                              /* a day the watch has not reached yet */
    mk->today.runs++;
    long idx = (long)((win - mk->today.day) / w->window_s);
    if (idx >= 0 && idx < mk->today.nwin && !mk->today.first_scan[idx])
        mk->today.first_scan[idx] = (unsigned short)(at - win + 1);
}

int watch_day_take(struct watch *w, int m, struct watch_day_result *out)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT || !w->m[m].done_ready)
        return 0;
    *out = w->m[m].done;
    w->m[m].done_ready = 0;
    return 1;
}

void watch_day_now(struct watch *w, int m, struct watch_day_result *out)
{
    memset(out, 0, sizeof *out);
    if (m >= 0 && m < LEARN_MARKET_COUNT)
        watch_score_day(w, m, &w->m[m].today, out);
}

/* (value, index) pairs, the largest value first. */
static int watch_vi_cmp(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : (x[1] > y[1]) - (x[1] < y[1]);
}

void watch_score_day(const struct watch *w, int m, const struct watch_day *d, struct watch_day_result *out)
{
    memset(out, 0, sizeof *out);
    out->market = m;
    out->day = d->day;
    out->runs = d->runs;
    out->wakes = d->wakes;
    out->latency_median_minutes = -1;
    if (!d->day || d->nwin <= 0)
        return;
    unsigned char have[WATCH_DAY_WINDOWS] = { 0 }, top[WATCH_DAY_WINDOWS] = { 0 };
    static double vi[WATCH_DAY_WINDOWS][2];
    for (int i = 0; i < w->nin; i++) {
        const struct watch_instrument *in = &w->in[i];
        if (in->market != m || in->day != d->day)
            continue;
        int n = 0;
        for (int k = 0; k < d->nwin; k++) {
            if (in->day_total[k] < 0)
                continue;
            have[k] = 1;
            vi[n][0] = in->day_total[k];
            vi[n][1] = k;
            n++;
        }
        qsort(vi, (size_t)n, sizeof vi[0], watch_vi_cmp);
        for (int k = 0; k < (n + 9) / 10; k++)      /* the top decile (at least one) */
            top[(int)vi[k][1]] = 1;
    }
    double lat[WATCH_DAY_WINDOWS];
    int nlat = 0, seq[WATCH_DAY_WINDOWS];
    for (int k = 0; k < d->nwin; k++) {
        if (have[k])
            seq[out->windows++] = k;
        if (!top[k])
            continue;
        out->top++;
        if (d->first_scan[k]) {
            out->covered++;
            lat[nlat++] = (double)(d->first_scan[k] - 1) / 60.0;
        }
    }
    if (nlat)
        out->latency_median_minutes = watch_quantile(lat, (size_t)nlat, 0.5);
    out->cron5_runs = out->windows * (int)(w->window_s / 300 > 0 ? w->window_s / 300 : 1);
    /* a cron with as many runs, ticking on the watched windows only, over 16 phases */
    if (out->runs > 0 && out->windows > 0) {
        double p = (double)out->windows / (double)out->runs, sum = 0;
        for (int ph = 0; ph < 16; ph++) {
            unsigned char tick[WATCH_DAY_WINDOWS] = { 0 };
            for (double x = p * ph / 16.0; x < out->windows; x += p)
                tick[seq[(int)x]] = 1;
            int cov = 0;
            for (int k = 0; k < d->nwin; k++)
                cov += top[k] && tick[k];
            sum += cov;
        }
        out->equal_runs_covered = sum / 16.0;
    }
}

int watch_covers(const struct watch *w, int m, time_t now)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT)
        return 0;
    const struct watch_market *mk = &w->m[m];
    return mk->samples > 0 && now - mk->last_sample <= 2 * w->window_s;
}

void watch_sense(const struct watch *w, time_t now, struct sense_watch *out)
{
    memset(out, 0, sizeof *out);
    for (int m = 0; m < LEARN_MARKET_COUNT && m < SENSE_WATCH_MARKETS; m++) {
        const struct watch_market *mk = &w->m[m];
        out->covers[m] = watch_covers(w, m, now);
        out->score[m] = mk->score;
        out->threshold[m] = mk->threshold;
        out->windows[m] = (long)mk->peaks.n;
        snprintf(out->instrument[m], sizeof out->instrument[m], "%s", mk->top);
    }
}
