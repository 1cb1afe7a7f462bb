/* learn_summary: what has been learned, for people, the dashboard and the
 * LLM (learn_summary_json; see learn.h).  Numbers are rounded to what is
 * worth showing, and never Infinity or NaN. */
#include "config.h"
#include "learn.h"
#include "learn_math.h"
#include "learn_wf.h"
#include "catalog.h"

#include <math.h>

/* d rounded to a multiple of unit, or null when not finite (never
 * Infinity or NaN, also when d / unit overflows). */
static json_object *learn_round(double d, double unit)
{
    if (!isfinite(d))
        return NULL;
    double r = round(d / unit) * unit;
    return json_object_new_double(isfinite(r) ? r : d);
}

/* The posteriors of one band (session >= 0: of that session bucket):
 * {"aggressive": {...}, "normal": ..., "light": ...}. */
static json_object *learn_band_json(const struct learn *l, int m, int b, int session, time_t now)
{
    json_object *o = json_object_new_object();
    for (int i = 0; i < LEARN_ARM_COUNT; i++) {
        struct learn_post p;
        if (session >= 0)
            learn_session_posterior(l, m, session, i, now, &p);
        else
            learn_posterior(l, m, b, i, now, &p);
        json_object *a = json_object_new_object();
        json_object_object_add(a, "runs", learn_round(p.runs, 0.01));
        json_object_object_add(a, "success", learn_round(p.p_mean, 0.001));
        json_object *ci = json_object_new_array();
        json_object_array_add(ci, learn_round(p.p_lo, 0.001));
        json_object_array_add(ci, learn_round(p.p_hi, 0.001));
        json_object_object_add(a, "success_90", ci);
        json_object_object_add(a, "opportunities", learn_round(p.lam_mean, 0.001));
        ci = json_object_new_array();
        json_object_array_add(ci, learn_round(p.lam_lo, 0.001));
        json_object_array_add(ci, learn_round(p.lam_hi, 0.001));
        json_object_object_add(a, "opportunities_90", ci);
        double cost = learn_cost(l, m, i, now);
        json_object_object_add(a, "cost", learn_round(cost, 0.001));
        json_object_object_add(a, "net_value", learn_round(p.p_mean * p.lam_mean - cost, 0.001));
        json_object_object_add(o, catalog_intensity_name(i), a);
    }
    return o;
}

static json_object *learn_bucket_json(const struct learn *l, int m, int b, time_t now)
{
    const struct learn_market_state *s = &l->m[m];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "volatility_mean", learn_round(s->baseline[b].mean, 1e-4));
    json_object_object_add(o, "volatility_sd", learn_round(learn_math_stat_sd(&s->baseline[b]), 1e-4));
    json_object_object_add(o, "weight", learn_round(s->baseline[b].w, 0.01));
    json_object_object_add(o, "relative_to_market",
                           s->overall.mean > 0 && s->baseline[b].w > 0 ? learn_round(s->baseline[b].mean / s->overall.mean, 0.001) : NULL);
    json_object_object_add(o, "elevated_spell_minutes", learn_round(learn_spell_minutes(l, m, b, 1), 0.1));
    json_object_object_add(o, "quiet_spell_minutes", learn_round(learn_spell_minutes(l, m, b, 0), 0.1));
    json_object_object_add(o, "outcomes", learn_band_json(l, m, -1, b, now));
    return o;
}

/* Market m: its activity, yield, time in each band, the next look and
 * the posteriors (full: of every band and session; else of the current
 * ones).  Caller puts. */
static json_object *learn_market_summary(const struct learn *l, int m, time_t now, int full)
{
    const struct learn_market_state *s = &l->m[m];
    json_object *o = json_object_new_object();
    json_object *act = json_object_new_object();
    json_object_object_add(act, "valid", json_object_new_boolean(s->valid));
    json_object_object_add(act, "reading", s->valid ? learn_round(s->reading, 1e-4) : NULL);
    json_object_object_add(act, "smoothed", s->valid ? learn_round(s->smooth, 1e-4) : NULL);
    json_object_object_add(act, "baseline", s->overall.w > 0 ? learn_round(s->overall.mean, 1e-4) : NULL);
    json_object_object_add(act, "baseline_sd",
                           s->overall.w > 0 ? learn_round(learn_math_stat_sd(&s->overall), 1e-4) : NULL);
    json_object_object_add(act, "ratio", learn_round(s->ratio, 0.001));
    json_object_object_add(act, "band", json_object_new_string(learn_band_name(s->band)));
    json_object_object_add(act, "session", json_object_new_string(learn_bucket_name(s->bucket)));
    json_object_object_add(o, "activity", act);
    json_object_object_add(o, "last_scan_age_seconds",
                           s->last_scan_at > 0 ? json_object_new_int64((long long)(now - s->last_scan_at)) : NULL);
    json_object_object_add(o, "fresh_exposure", learn_round(s->exposure, 0.001));
    json_object_object_add(o, "average_yield", learn_round(learn_yield(l, m, now), 0.001));
    json_object *occ = json_object_new_object();
    double tot = 0;
    for (int b = 0; b < LEARN_BAND_COUNT; b++)
        tot += s->occ[b];
    for (int b = 0; b < LEARN_BAND_COUNT; b++)
        json_object_object_add(occ, learn_band_name(b), learn_round(tot > 0 ? s->occ[b] / tot : 0, 0.001));
    json_object_object_add(o, "time_in_band", occ);
    json_object_object_add(o, "next_seconds", json_object_new_int64(learn_next_seconds(l, m, now, 0)));
    if (full) {
        json_object *bands = json_object_new_object();
        for (int b = 0; b < LEARN_BAND_COUNT; b++)
            json_object_object_add(bands, learn_band_name(b), learn_band_json(l, m, b, -1, now));
        json_object_object_add(o, "bands", bands);
        json_object *ss = json_object_new_object();
        for (int b = 0; b < LEARN_BUCKET_COUNT; b++)
            json_object_object_add(ss, learn_bucket_name(b), learn_bucket_json(l, m, b, now));
        json_object_object_add(o, "sessions", ss);
    } else {
        json_object_object_add(o, "current_band", learn_band_json(l, m, s->band, -1, now));
        json_object_object_add(o, "current_session", learn_bucket_json(l, m, s->bucket, now));
    }
    return o;
}

json_object *learn_summary_json(const struct learn *l, time_t now, int full)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_int(LEARN_STATE_VERSION));
    json_object_object_add(root, "observations", json_object_new_int64(l->nobs));
    json_object *par = json_object_new_object();
    json_object_object_add(par, "half_life_hours", learn_round(l->half_life_s / 3600.0, 0.01));
    json_object_object_add(par, "run_cost", learn_round(l->run_cost, 0.001));
    json_object_object_add(par, "epsilon", learn_round(l->epsilon, 0.001));
    json_object_object_add(par, "max_stale_minutes", json_object_new_int64(l->max_stale_s / 60));
    json_object_object_add(par, "scan_window_minutes", json_object_new_int64(l->window_s / 60));
    json_object_object_add(root, "parameters", par);
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        json_object_object_add(ms, learn_market_name(m), learn_market_summary(l, m, now, full));
    json_object_object_add(root, "markets", ms);
    if (full)
        json_object_object_add(root, "workflows", learn_wf_summary(l, now));
    return root;
}
