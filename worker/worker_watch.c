/* worker_watch: the watch's turn in the leader's loop -- sampling the
 * sources, the live scorecard, the saved history and the sources'
 * budgets.  See worker.h. */
#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "worker.h"

/* ---- the watch ------------------------------------------------------------------- */

/* The watch's history as the last leader saved it (a fresh one when none
 * or unusable). */
void worker_watch_load(struct worker *w)
{
    char *state = NULL, *budgets = NULL;
    if (store_watch_load(w->db, &state, &budgets) < 0) {
        log_event(LOG_WARN, "watch.load_failed", "s:detail", "the watch's history could not be read: it starts afresh");
        return;
    }
    time_t now = tu_now();
    watch_live_free(&w->wl);
    char err[200];
    if (watch_live_init(&w->wl, w->cfg, err, sizeof err) < 0)
        log_event(LOG_ERROR, "watch.init_failed", "s:error", err);
    json_object *j = state ? json_tokener_parse(state) : NULL;
    if (j && watch_from_json(&w->wl.watch, j) < 0)
        log_event(LOG_WARN, "watch.load_failed", "s:detail", "the saved watch state is not usable: it starts afresh");
    else if (j)
        log_event(LOG_INFO, "watch.loaded", "i:instruments", (long long)w->wl.watch.nin);
    json_object_put(j);
    j = budgets ? json_tokener_parse(budgets) : NULL;
    watch_live_budgets_restore(&w->wl, j, now);
    json_object_put(j);
    free(state);
    free(budgets);
    w->watch_saved = now;
}

/* Save the watch's history and budgets (every window, and at a clean
 * stop).  Returns 0 or -1. */
int worker_watch_save(struct worker *w, time_t now)
{
    json_object *st = watch_to_json(&w->wl.watch), *bu = watch_live_budgets_json(&w->wl);
    int rc = st && bu ? store_watch_save(w->db, json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
                                         json_object_to_json_string_ext(bu, JSON_C_TO_STRING_PLAIN)) : -1;
    json_object_put(st);
    json_object_put(bu);
    if (rc == 0)
        w->watch_saved = now;
    return rc;
}

/* The decisions' probes count in the sources' budgets. */
void worker_probes_spent(struct worker *w, time_t now)
{
    const struct cfg *c = w->cfg;
    if (*c->dexscreener_base_url && *c->dexscreener_query)
        watch_live_spend(&w->wl, FEED_DEXSCREENER, 2, now);     /* search and token profiles */
    if (*c->pumpfun_base_url)
        watch_live_spend(&w->wl, FEED_PUMPFUN, 1, now);
    if (*c->tradermade_base_url && *c->tradermade_api_key)
        watch_live_spend(&w->wl, FEED_TRADERMADE, 1, now);
    if (*c->birdeye_base_url && *c->birdeye_api_key)
        watch_live_spend(&w->wl, FEED_BIRDEYE, 1, now);
}

/* Store one day of the live scorecard (watch_days).  Returns 0 or -1. */
static int worker_watch_day(struct worker *w, const struct watch_day_result *d)
{
    struct store_watch_day sd = { learn_market_name(d->market), d->day, d->windows, d->top, d->covered, d->runs, d->wakes, d->cron5_runs,
                                  d->equal_runs_covered, d->latency_median_minutes };
    return store_watch_day(w->db, &sd);
}

/* The watch's turn: sample the sources that are due, publish its figures
 * (worker_state.watch), store the live scorecard of a day that ended, and
 * every window save its history and the scorecard of the day so far.
 * Returns 0, or -1 on a database error. */
int worker_watch(struct worker *w, time_t now)
{
    time_t next = watch_live_next(&w->wl);
    if (!next || now < next)
        return 0;
    if (watch_live_poll(&w->wl, now) <= 0)
        return 0;
    json_object *st = watch_live_json(&w->wl, now);
    int rc = st ? store_watch_status(w->db, json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN)) : 0;
    json_object_put(st);
    struct watch_day_result d;
    for (int m = 0; rc == 0 && m < LEARN_MARKET_COUNT; m++) {
        if (!watch_day_take(&w->wl.watch, m, &d))
            continue;
        rc = worker_watch_day(w, &d);
        log_event(LOG_INFO, "watch.day", "s:market i:windows i:top i:covered i:runs i:cron5_runs d:equal_runs_covered",
                  learn_market_name(m), (long long)d.windows, (long long)d.top, (long long)d.covered, (long long)d.runs,
                  (long long)d.cron5_runs, d.equal_runs_covered);
    }
    if (rc == 0 && now - w->watch_saved >= w->wl.watch.window_s) {
        for (int m = 0; rc == 0 && m < LEARN_MARKET_COUNT; m++) {
            watch_day_now(&w->wl.watch, m, &d);
            if (d.day && d.windows > 0)
                rc = worker_watch_day(w, &d);
        }
        if (rc == 0)
            rc = worker_watch_save(w, now);
    }
    return rc;
}
