/* watch: the minute-by-minute look at the markets; see watch.h. */
#include "config.h"
#include "watch.h"
#include "sense.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rings -------------------------------------------------------------------- */

/* A ring of cap values; sorted: also keep them in order (quantiles in O(1),
 * an insertion or a removal costs a binary search and a memmove). */
static int watch_ring_init(struct watch_ring *r, size_t cap, int sorted)
{
    memset(r, 0, sizeof *r);
    r->v = calloc(cap, sizeof *r->v);
    r->t = calloc(cap, sizeof *r->t);
    r->sorted = sorted ? calloc(cap, sizeof *r->sorted) : NULL;
    if (!r->v || !r->t || (sorted && !r->sorted)) {
        free(r->v);
        free(r->t);
        free(r->sorted);
        memset(r, 0, sizeof *r);
        return -1;
    }
    r->cap = cap;
    return 0;
}

static void watch_ring_free(struct watch_ring *r)
{
    free(r->v);
    free(r->t);
    free(r->sorted);
    memset(r, 0, sizeof *r);
}

/* The first index of r->sorted[0..n) whose value is >= v. */
static size_t watch_sorted_find(const struct watch_ring *r, double v)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Append (t, v), dropping the oldest when full or older than horizon_s before t. */
static void watch_ring_push(struct watch_ring *r, time_t t, double v, long horizon_s)
{
    if (!r->cap)
        return;
    while (r->n && (r->n == r->cap || r->t[r->head] <= t - horizon_s)) {
        double old = r->v[r->head];
        if (old > 0) {
            r->logsum -= log(old);
            r->npos--;
        }
        if (r->sorted) {
            size_t k = watch_sorted_find(r, old);
            memmove(r->sorted + k, r->sorted + k + 1, (r->n - k - 1) * sizeof *r->sorted);
        }
        r->head = (r->head + 1) % r->cap;
        r->n--;
    }
    if (r->sorted) {
        size_t k = watch_sorted_find(r, v);
        memmove(r->sorted + k + 1, r->sorted + k, (r->n - k) * sizeof *r->sorted);
        r->sorted[k] = v;
    }
    size_t i = (r->head + r->n) % r->cap;
    r->t[i] = t;
    r->v[i] = v;
    r->n++;
    if (v > 0) {
        r->logsum += log(v);
        r->npos++;
    }
}

/* The geometric mean of r's positive values, 0 when none. */
static double watch_ring_gmean(const struct watch_ring *r)
{
    return r->npos ? exp(r->logsum / (double)r->npos) : 0;
}

/* ---- quantiles -------------------------------------------------------------------- */

static void watch_swap(double *v, long a, long b)
{
    double t = v[a];
    v[a] = v[b];
    v[b] = t;
}

/* The k-th smallest of v[0..n) (0-based), by quickselect with a three-way
 * partition (many equal values stay linear); v is reordered. */
static double watch_select(double *v, size_t n, size_t k)
{
    long lo = 0, hi = (long)n - 1, kk = (long)k;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        long lt = lo, i = lo, gt = hi;      /* [lo,lt) < p, [lt,i) == p, (gt,hi] > p */
        while (i <= gt) {
            if (v[i] < p)
                watch_swap(v, lt++, i++);
            else if (v[i] > p)
                watch_swap(v, i, gt--);
            else
                i++;
        }
        if (kk < lt)
            hi = lt - 1;
        else if (kk > gt)
            lo = gt + 1;
        else
            return p;
    }
    return v[kk];
}

double watch_quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    if (!(q >= 0))
        q = 0;
    if (q > 1)
        q = 1;
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return watch_select(v, n, k);
}

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
static struct watch_instrument *watch_slot(struct watch *w, int m, const char *name)
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
static void watch_day_start(struct watch *w, struct watch_market *mk, time_t t)
{
    memset(&mk->today, 0, sizeof mk->today);
    mk->today.day = watch_floor(t, 86400);
    long nwin = 86400 / w->window_s;
    mk->today.nwin = nwin < WATCH_DAY_WINDOWS ? (int)nwin : WATCH_DAY_WINDOWS;
}

/* The threshold of market m from its peaks: the score that the share of
 * its windows reached. */
static void watch_threshold(struct watch *w, struct watch_market *mk)
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

/* ---- JSON ----------------------------------------------------------------------- */

/* A number rounded to 6 significant digits (compact state), or null when not finite. */
static json_object *watch_num(double v)
{
    if (!isfinite(v))
        return NULL;
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", v);
    return json_object_new_double_s(strtod(buf, NULL), buf);
}

json_object *watch_summary_json(const struct watch *w, time_t now)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct watch_market *mk = &w->m[m];
        json_object *j = json_object_new_object();
        if (!j)
            break;
        json_object_object_add(j, "covered", json_object_new_boolean(watch_covers(w, m, now)));
        json_object_object_add(j, "score", watch_num(mk->score));
        json_object_object_add(j, "threshold", mk->threshold >= 0 ? watch_num(mk->threshold) : NULL);
        json_object_object_add(j, "window_peak", watch_num(mk->win_max));
        json_object_object_add(j, "windows", json_object_new_int64((long long)mk->peaks.n));
        json_object_object_add(j, "instrument", mk->top[0] ? json_object_new_string(mk->top) : NULL);
        json_object_object_add(j, "wakes", json_object_new_int64(mk->wakes));
        json_object_object_add(j, "last_sample", mk->last_sample ? json_object_new_int64(mk->last_sample) : NULL);
        json_object_object_add(o, learn_market_name(m), j);
    }
    return o;
}

/* A ring as {"t0": first time, "dt": window, "v": [values or null for missing windows]}. */
static json_object *watch_ring_json(const struct watch_ring *r, long dt)
{
    json_object *o = json_object_new_object(), *a = json_object_new_array();
    if (!o || !a) {
        json_object_put(o);
        json_object_put(a);
        return NULL;
    }
    time_t t0 = r->n ? r->t[r->head] : 0;
    json_object_object_add(o, "t0", json_object_new_int64(t0));
    json_object_object_add(o, "dt", json_object_new_int64(dt));
    time_t next = t0;
    for (size_t k = 0; k < r->n; k++) {
        size_t i = (r->head + k) % r->cap;
        while (next < r->t[i]) {              /* windows without data */
            json_object_array_add(a, NULL);
            next += dt;
        }
        json_object_array_add(a, watch_num(r->v[i]));
        next = r->t[i] + dt;
    }
    json_object_object_add(o, "v", a);
    return o;
}

json_object *watch_to_json(const struct watch *w)
{
    json_object *o = json_object_new_object(), *ins = json_object_new_array(), *ms = json_object_new_object();
    if (!o || !ins || !ms) {
        json_object_put(o);
        json_object_put(ins);
        json_object_put(ms);
        return NULL;
    }
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "window_s", json_object_new_int64(w->window_s));
    for (int i = 0; i < w->nin; i++) {
        const struct watch_instrument *in = &w->in[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(in->name));
        json_object_object_add(j, "market", json_object_new_string(learn_market_name(in->market)));
        /* the price in full: the first return after a restart is made of it */
        json_object_object_add(j, "price", isfinite(in->price) ? json_object_new_double(in->price) : NULL);
        json_object_object_add(j, "at", json_object_new_int64(in->at));
        json_object_object_add(j, "win", json_object_new_int64(in->win));
        json_object_object_add(j, "part", watch_num(in->part));
        json_object_object_add(j, "totals", watch_ring_json(&in->totals, w->window_s));
        /* the live scorecard's record of its day, so that a restart keeps the day */
        json_object *dt = json_object_new_array();
        int nwin = (int)(86400 / w->window_s);
        for (int k = 0; dt && in->day && k < nwin && k < WATCH_DAY_WINDOWS; k++)
            json_object_array_add(dt, in->day_total[k] >= 0 ? watch_num(in->day_total[k]) : NULL);
        json_object_object_add(j, "day", json_object_new_int64(in->day));
        json_object_object_add(j, "day_total", dt);
        json_object_array_add(ins, j);
    }
    json_object_object_add(o, "instruments", ins);
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct watch_market *mk = &w->m[m];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "win", json_object_new_int64(mk->win));
        json_object_object_add(j, "win_max", watch_num(mk->win_max));
        json_object_object_add(j, "wakes", json_object_new_int64(mk->wakes));
        json_object_object_add(j, "woke_win", json_object_new_int64(mk->woke_win));
        json_object_object_add(j, "woke_at", json_object_new_int64(mk->woke_at));
        json_object_object_add(j, "looked", json_object_new_boolean(mk->looked));
        json_object_object_add(j, "quiet_win", json_object_new_int64(mk->quiet_win));
        json_object_object_add(j, "peaks", watch_ring_json(&mk->peaks, w->window_s));
        json_object *td = json_object_new_object(), *fs = json_object_new_array();
        if (td && fs) {
            for (int k = 0; mk->today.day && k < mk->today.nwin; k++)
                json_object_array_add(fs, json_object_new_int(mk->today.first_scan[k]));
            json_object_object_add(td, "day", json_object_new_int64(mk->today.day));
            json_object_object_add(td, "runs", json_object_new_int(mk->today.runs));
            json_object_object_add(td, "wakes", json_object_new_int(mk->today.wakes));
            json_object_object_add(td, "first_scan", fs);
            fs = NULL;
        }
        json_object_put(fs);
        json_object_object_add(j, "today", td);
        json_object_object_add(ms, learn_market_name(m), j);
    }
    json_object_object_add(o, "markets", ms);
    return o;
}

static long long watch_int(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static double watch_dbl(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return 0;
    double d = json_object_get_double(v);
    return isfinite(d) ? d : 0;
}

/* Refill ring r from watch_ring_json's shape (values must be finite and >= 0). */
static void watch_ring_load(struct watch *w, struct watch_ring *r, json_object *o)
{
    json_object *a;
    if (!o || !json_object_object_get_ex(o, "v", &a) || !json_object_is_type(a, json_type_array))
        return;
    time_t t = (time_t)watch_int(o, "t0");
    long dt = (long)watch_int(o, "dt");
    if (dt <= 0)
        dt = w->window_s;
    size_t n = json_object_array_length(a);
    for (size_t k = 0; k < n; k++, t += dt) {
        json_object *v = json_object_array_get_idx(a, k);
        if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
            continue;
        double d = json_object_get_double(v);
        if (isfinite(d) && d >= 0)
            watch_ring_push(r, t, d, w->history_s);
    }
}

int watch_from_json(struct watch *w, json_object *j)
{
    json_object *ins, *ms;
    if (!j || watch_int(j, "version") != 1 || watch_int(j, "window_s") != w->window_s ||
        !json_object_object_get_ex(j, "instruments", &ins) || !json_object_is_type(ins, json_type_array) ||
        !json_object_object_get_ex(j, "markets", &ms) || !json_object_is_type(ms, json_type_object))
        return -1;
    for (size_t k = 0; k < json_object_array_length(ins); k++) {
        json_object *o = json_object_array_get_idx(ins, k), *v;
        if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string))
            continue;
        const char *name = json_object_get_string(v);
        int m = -1;
        if (json_object_object_get_ex(o, "market", &v) && json_object_is_type(v, json_type_string))
            for (int x = 0; x < LEARN_MARKET_COUNT; x++)
                if (strcmp(json_object_get_string(v), learn_market_name(x)) == 0)
                    m = x;
        if (m < 0 || strlen(name) >= WATCH_NAME_MAX)
            continue;
        struct watch_instrument *in = watch_slot(w, m, name);
        if (!in)
            break;
        in->price = watch_dbl(o, "price");
        in->at = (time_t)watch_int(o, "at");
        in->win = (time_t)watch_int(o, "win");
        in->part = fmax(watch_dbl(o, "part"), 0);
        json_object *t;
        if (json_object_object_get_ex(o, "totals", &t))
            watch_ring_load(w, &in->totals, t);
        in->usual = watch_ring_gmean(&in->totals);
        time_t day = (time_t)watch_int(o, "day");
        if (day > 0 && day % 86400 == 0 && json_object_object_get_ex(o, "day_total", &t) &&
            json_object_is_type(t, json_type_array)) {
            in->day = day;
            size_t n = json_object_array_length(t);
            for (size_t q = 0; q < n && q < WATCH_DAY_WINDOWS; q++) {
                json_object *x = json_object_array_get_idx(t, q);
                double d = x && (json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double))
                           ? json_object_get_double(x) : -1;
                in->day_total[q] = isfinite(d) && d >= 0 && d < 1e6 ? (float)d : -1;
            }
        }
    }
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        json_object *o, *p;
        if (!json_object_object_get_ex(ms, learn_market_name(m), &o))
            continue;
        struct watch_market *mk = &w->m[m];
        mk->win = (time_t)watch_int(o, "win");
        mk->win_max = watch_dbl(o, "win_max");
        mk->wakes = watch_int(o, "wakes");
        if (mk->wakes < 0)
            mk->wakes = 0;
        mk->woke_win = (time_t)watch_int(o, "woke_win");
        mk->woke_at = (time_t)watch_int(o, "woke_at");
        json_object *lk;
        mk->looked = json_object_object_get_ex(o, "looked", &lk) && json_object_is_type(lk, json_type_boolean) &&
                     json_object_get_boolean(lk);
        mk->quiet_win = (time_t)watch_int(o, "quiet_win");
        if (json_object_object_get_ex(o, "peaks", &p))
            watch_ring_load(w, &mk->peaks, p);
        watch_threshold(w, mk);
        json_object *td, *fs;
        time_t day;
        if (json_object_object_get_ex(o, "today", &td) && (day = (time_t)watch_int(td, "day")) > 0 &&
            day % 86400 == 0 && json_object_object_get_ex(td, "first_scan", &fs) &&
            json_object_is_type(fs, json_type_array)) {
            watch_day_start(w, mk, day);
            long long runs = watch_int(td, "runs"), wakes = watch_int(td, "wakes");
            mk->today.runs = runs >= 0 && runs < 1000000 ? (int)runs : 0;
            mk->today.wakes = wakes >= 0 && wakes < 1000000 ? (int)wakes : 0;
            size_t n = json_object_array_length(fs);
            for (size_t k = 0; k < n && k < (size_t)mk->today.nwin; k++) {
                json_object *x = json_object_array_get_idx(fs, k);
                long long v = x && json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : 0;
                mk->today.first_scan[k] = v > 0 && v <= 65535 ? (unsigned short)v : 0;
            }
        }
    }
    return 0;
}
