/* watch_json: the watch as JSON -- its summary for /status and its whole
 * state, saved and restored across a restart; see watch.h. */
#include "config.h"
#include "watch.h"
#include "watch_ring.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Restore one instrument of a saved state (o, an item of "instruments");
 * an item that is not one is passed over.  Returns 0, or -1 when no slot
 * is left (the rest cannot be restored either). */
static int watch_instrument_load(struct watch *w, json_object *o)
{
    json_object *v;
    if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string))
        return 0;
    const char *name = json_object_get_string(v);
    int m = -1;
    if (json_object_object_get_ex(o, "market", &v) && json_object_is_type(v, json_type_string))
        for (int x = 0; x < LEARN_MARKET_COUNT; x++)
            if (strcmp(json_object_get_string(v), learn_market_name(x)) == 0)
                m = x;
    if (m < 0 || strlen(name) >= WATCH_NAME_MAX)
        return 0;
    struct watch_instrument *in = watch_slot(w, m, name);
    if (!in)
        return -1;
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
    return 0;
}

/* Restore market mk from o (its entry of a saved state's "markets"). */
static void watch_market_load(struct watch *w, struct watch_market *mk, json_object *o)
{
    json_object *p;
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

int watch_from_json(struct watch *w, json_object *j)
{
    json_object *ins, *ms;
    if (!j || watch_int(j, "version") != 1 || watch_int(j, "window_s") != w->window_s ||
        !json_object_object_get_ex(j, "instruments", &ins) || !json_object_is_type(ins, json_type_array) ||
        !json_object_object_get_ex(j, "markets", &ms) || !json_object_is_type(ms, json_type_object))
        return -1;
    for (size_t k = 0; k < json_object_array_length(ins); k++)
        if (watch_instrument_load(w, json_object_array_get_idx(ins, k)) < 0)
            break;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        json_object *o;
        if (json_object_object_get_ex(ms, learn_market_name(m), &o))
            watch_market_load(w, &w->m[m], o);
    }
    return 0;
}
