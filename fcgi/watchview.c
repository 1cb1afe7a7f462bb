/* watchview: the watch in /status and /metrics; see watchview.h. */
#include "config.h"
#include "watchview.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "timeutil.h"

static const char *const watchview_markets[] = { "crypto", "forex" };
static const char *const watchview_periods[] = { "minute", "day", "month" };
static const char *const watchview_wakes[] = { "scheduled", "event", "control", "startup" };
#define WATCHVIEW_N(a) (sizeof (a) / sizeof (a)[0])

/* Member key of o, NULL when o is not an object or has none. */
static json_object *watchview_get(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A number member: finite, else NAN. */
static double watchview_num(json_object *o, const char *key)
{
    json_object *v = watchview_get(o, key);
    if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return NAN;
    double d = json_object_get_double(v);
    return isfinite(d) ? d : NAN;
}

/* A copy of member key of o when it has type t, else JSON null. */
static json_object *watchview_copy(json_object *o, const char *key, json_type t)
{
    json_object *v = watchview_get(o, key);
    if (!v)
        return NULL;
    if (json_object_is_type(v, t))
        return json_object_get(v);
    if (t == json_type_double && json_object_is_type(v, json_type_int))
        return json_object_get(v);
    return NULL;
}

/* A JSON number, or null for NAN. */
static json_object *watchview_jnum(double v)
{
    if (isnan(v))
        return NULL;
    if (v == floor(v) && fabs(v) < 1e15)
        return json_object_new_int64((long long)v);
    return json_object_new_double(v);
}

/* An epoch in seconds as ISO-8601 UTC text, null when absent. */
static json_object *watchview_iso(double t)
{
    if (isnan(t) || t <= 0 || t > 253402300799.0)
        return NULL;
    char buf[TU_ISO_LEN];
    return json_object_new_string(tu_iso8601((long long)t, buf));
}

/* One market's figures now. */
static json_object *watchview_market(json_object *m)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object *cov = watchview_get(m, "covered");
    json_object_object_add(o, "covered", json_object_new_boolean(cov && json_object_is_type(cov, json_type_boolean) &&
                                                                 json_object_get_boolean(cov)));
    json_object_object_add(o, "score", watchview_jnum(watchview_num(m, "score")));
    json_object_object_add(o, "threshold", watchview_jnum(watchview_num(m, "threshold")));
    json_object_object_add(o, "window_peak", watchview_jnum(watchview_num(m, "window_peak")));
    json_object_object_add(o, "windows", watchview_jnum(watchview_num(m, "windows")));
    json_object_object_add(o, "instrument", watchview_copy(m, "instrument", json_type_string));
    json_object_object_add(o, "wakes", watchview_jnum(watchview_num(m, "wakes")));
    json_object_object_add(o, "last_sample_at", watchview_iso(watchview_num(m, "last_sample")));
    return o;
}

/* A {"minute","day","month"} object of numbers (null when absent). */
static json_object *watchview_periods_obj(json_object *p)
{
    json_object *o = json_object_new_object();
    for (size_t k = 0; o && k < WATCHVIEW_N(watchview_periods); k++)
        json_object_object_add(o, watchview_periods[k], watchview_jnum(watchview_num(p, watchview_periods[k])));
    return o;
}

/* One source's budget and sampling. */
static json_object *watchview_source(json_object *s)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "watched", watchview_copy(s, "watched", json_type_boolean));
    json_object_object_add(o, "healthy", watchview_copy(s, "healthy", json_type_boolean));
    json_object_object_add(o, "error", watchview_copy(s, "error", json_type_string));
    json_object_object_add(o, "interval_seconds", watchview_jnum(watchview_num(s, "interval_seconds")));
    json_object_object_add(o, "stretched", watchview_copy(s, "stretched", json_type_boolean));
    json_object_object_add(o, "why", watchview_copy(s, "why", json_type_string));
    json_object_object_add(o, "limits", watchview_periods_obj(watchview_get(s, "limits")));
    json_object_object_add(o, "used", watchview_periods_obj(watchview_get(s, "used")));
    json_object_object_add(o, "polls", watchview_jnum(watchview_num(s, "polls")));
    json_object_object_add(o, "samples", watchview_jnum(watchview_num(s, "samples")));
    return o;
}

/* What the scorecard's days add up to, per market. */
struct watchview_sum {
    int days;
    double top, covered, runs, cron5, equal;
    const char *today;                 /* the newest day's date, borrowed */
    json_object *last;                 /* the newest day's row, borrowed */
};

static void watchview_sums(json_object *days, struct watchview_sum sum[2])
{
    memset(sum, 0, 2 * sizeof *sum);
    if (!days || !json_object_is_type(days, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(days); i++) {
        json_object *d = json_object_array_get_idx(days, i), *mv = watchview_get(d, "market");
        const char *m = mv && json_object_is_type(mv, json_type_string) ? json_object_get_string(mv) : "";
        for (int k = 0; k < 2; k++) {
            if (strcmp(m, watchview_markets[k]) != 0)
                continue;
            double top = watchview_num(d, "top"), cov = watchview_num(d, "covered"), runs = watchview_num(d, "runs");
            double cron = watchview_num(d, "cron5_runs"), eq = watchview_num(d, "equal_runs_covered");
            if (isnan(top) || isnan(cov) || isnan(runs) || isnan(cron) || isnan(eq))
                continue;
            sum[k].days++;
            sum[k].top += top;
            sum[k].covered += cov;
            sum[k].runs += runs;
            sum[k].cron5 += cron;
            sum[k].equal += eq;
            sum[k].last = d;
        }
    }
}

/* part / whole as a percentage with one decimal, null when whole is 0. */
static json_object *watchview_pct(double part, double whole)
{
    return whole > 0 ? json_object_new_double(round(1000.0 * part / whole) / 10.0) : NULL;
}

/* The scorecard: its days as stored, and what they add up to per market. */
static json_object *watchview_scorecard(json_object *days)
{
    json_object *o = json_object_new_object(), *summary = json_object_new_object();
    if (!o || !summary) {
        json_object_put(o);
        json_object_put(summary);
        return NULL;
    }
    struct watchview_sum sum[2];
    watchview_sums(days, sum);
    json_object_object_add(o, "days", days && json_object_is_type(days, json_type_array) ? json_object_get(days)
                                                                                         : json_object_new_array());
    for (int k = 0; k < 2; k++) {
        if (!sum[k].days)
            continue;
        json_object *m = json_object_new_object();
        if (!m)
            break;
        json_object_object_add(m, "days", json_object_new_int(sum[k].days));
        json_object_object_add(m, "top", watchview_jnum(sum[k].top));
        json_object_object_add(m, "covered", watchview_jnum(sum[k].covered));
        json_object_object_add(m, "coverage_percent", watchview_pct(sum[k].covered, sum[k].top));
        json_object_object_add(m, "runs", watchview_jnum(sum[k].runs));
        json_object_object_add(m, "cron5_runs", watchview_jnum(sum[k].cron5));
        json_object_object_add(m, "runs_vs_cron5_percent", watchview_pct(sum[k].runs, sum[k].cron5));
        json_object_object_add(m, "equal_runs_covered", json_object_new_double(round(sum[k].equal * 100.0) / 100.0));
        json_object_object_add(m, "equal_runs_coverage_percent", watchview_pct(sum[k].equal, sum[k].top));
        json_object_object_add(summary, watchview_markets[k], m);
    }
    json_object_object_add(o, "summary", summary);
    return o;
}

json_object *watchview_status(json_object *watch)
{
    json_object *now = watchview_get(watch, "now");
    json_object *o = json_object_new_object(), *markets = json_object_new_object(), *sources = json_object_new_object();
    json_object *wakes = json_object_new_object();
    if (!o || !markets || !sources || !wakes) {
        json_object_put(o);
        json_object_put(markets);
        json_object_put(sources);
        json_object_put(wakes);
        return NULL;
    }
    json_object *ms = watchview_get(now, "markets"), *ss = watchview_get(now, "sources");
    json_object_object_add(o, "active", json_object_new_boolean(ms != NULL));
    json_object_object_add(o, "window_minutes", watchview_jnum(watchview_num(now, "window_minutes")));
    json_object_object_add(o, "event_share", watchview_jnum(watchview_num(now, "event_share")));
    json_object_object_add(o, "at", watchview_iso(watchview_num(now, "at")));
    for (size_t k = 0; k < WATCHVIEW_N(watchview_markets); k++) {
        json_object *m = watchview_get(ms, watchview_markets[k]);
        if (m)
            json_object_object_add(markets, watchview_markets[k], watchview_market(m));
    }
    json_object_object_add(o, "markets", markets);
    for (int f = 0; f < FEED_COUNT; f++) {
        json_object *s = watchview_get(ss, catalog_feed_name(f));
        if (s)
            json_object_object_add(sources, catalog_feed_name(f), watchview_source(s));
    }
    json_object_object_add(o, "sources", sources);
    json_object_object_add(o, "scorecard", watchview_scorecard(watchview_get(watch, "days")));
    json_object *d24 = watchview_get(watch, "decisions_24h");
    for (size_t k = 0; k < WATCHVIEW_N(watchview_wakes); k++) {
        double n = watchview_num(d24, watchview_wakes[k]);
        json_object_object_add(wakes, watchview_wakes[k], json_object_new_int64(isnan(n) ? 0 : (long long)n));
    }
    json_object_object_add(o, "decisions_24h", wakes);
    return o;
}

/* The watch's gauges per market from ms (worker_state.watch.markets,
 * borrowed, may be NULL), appended to b. */
static void watchview_metrics_markets(struct metrics_buf *b, json_object *ms)
{
    char num[40];
    static const struct { const char *key, *name, *type, *help; } mf[] = {
        { "score", "orchestrator_watch_activity_score", "gauge",
          "The market's activity in the current window over its instruments' usual window (the watch's score)." },
        { "threshold", "orchestrator_watch_threshold", "gauge",
          "The score that wakes a decision: the WATCH_EVENT_SHARE quantile of the market's trailing window peaks." },
        { "windows", "orchestrator_watch_history_windows", "gauge",
          "Windows of history behind the market's threshold." },
        { "wakes", "orchestrator_watch_wakes_total", "counter",
          "Decisions the watch woke early for the market (its activity crossed the threshold)." },
    };
    for (size_t i = 0; i < WATCHVIEW_N(mf); i++) {
        metrics_add(b, "# HELP %s %s\n# TYPE %s %s\n", mf[i].name, mf[i].help, mf[i].name, mf[i].type);
        for (size_t k = 0; k < WATCHVIEW_N(watchview_markets); k++) {
            json_object *m = watchview_get(ms, watchview_markets[k]);
            double v = watchview_num(m, mf[i].key);
            if (m && !isnan(v))
                metrics_add(b, "%s{market=\"%s\"} %s\n", mf[i].name, watchview_markets[k], metrics_num(v, num));
        }
    }
    metrics_add(b, "# HELP orchestrator_watch_covered 1 while the watch has recent samples of the market, else 0.\n"
                   "# TYPE orchestrator_watch_covered gauge\n");
    for (size_t k = 0; k < WATCHVIEW_N(watchview_markets); k++) {
        json_object *m = watchview_get(ms, watchview_markets[k]), *c = watchview_get(m, "covered");
        if (m)
            metrics_add(b, "orchestrator_watch_covered{market=\"%s\"} %d\n", watchview_markets[k],
                        c && json_object_is_type(c, json_type_boolean) && json_object_get_boolean(c));
    }
}

/* The sources' budgets from ss (worker_state.watch.sources, borrowed, may
 * be NULL): limits, spend in the current period, the interval the watch
 * samples at; appended to b. */
static void watchview_metrics_sources(struct metrics_buf *b, json_object *ss)
{
    char num[40];
    metrics_add(b, "# HELP orchestrator_source_budget_limit Requests a source allows per period (SOURCE_BUDGET).\n"
                   "# TYPE orchestrator_source_budget_limit gauge\n");
    for (int f = 0; f < FEED_COUNT; f++)
        for (size_t p = 0; p < WATCHVIEW_N(watchview_periods); p++) {
            double v = watchview_num(watchview_get(watchview_get(ss, catalog_feed_name(f)), "limits"), watchview_periods[p]);
            if (!isnan(v))
                metrics_add(b, "orchestrator_source_budget_limit{source=\"%s\",period=\"%s\"} %s\n", catalog_feed_name(f),
                            watchview_periods[p], metrics_num(v, num));
        }
    metrics_add(b, "# HELP orchestrator_source_budget_used Requests made to a source in the current period "
                   "(the watch's and the decisions' probes).\n# TYPE orchestrator_source_budget_used gauge\n");
    for (int f = 0; f < FEED_COUNT; f++)
        for (size_t p = 0; p < WATCHVIEW_N(watchview_periods); p++) {
            json_object *s = watchview_get(ss, catalog_feed_name(f));
            double v = watchview_num(watchview_get(s, "used"), watchview_periods[p]);
            double lim = watchview_num(watchview_get(s, "limits"), watchview_periods[p]);
            if (!isnan(v) && !isnan(lim))
                metrics_add(b, "orchestrator_source_budget_used{source=\"%s\",period=\"%s\"} %s\n", catalog_feed_name(f),
                            watchview_periods[p], metrics_num(v, num));
        }
    metrics_add(b, "# HELP orchestrator_watch_interval_seconds How often the watch samples a source now "
                   "(WATCH_SECONDS, longer when its budget runs low).\n# TYPE orchestrator_watch_interval_seconds gauge\n");
    for (int f = 0; f < FEED_COUNT; f++) {
        json_object *s = watchview_get(ss, catalog_feed_name(f)), *w = watchview_get(s, "watched");
        double v = watchview_num(s, "interval_seconds");
        if (w && json_object_is_type(w, json_type_boolean) && json_object_get_boolean(w) && !isnan(v))
            metrics_add(b, "orchestrator_watch_interval_seconds{source=\"%s\"} %s\n", catalog_feed_name(f),
                        metrics_num(v, num));
    }
}

/* The live scorecard from days (borrowed, may be NULL): today so far, and
 * the last QUERY_WATCH_DAYS days; appended to b. */
static void watchview_metrics_scorecard(struct metrics_buf *b, json_object *days)
{
    char num[40];
    struct watchview_sum sum[2];
    watchview_sums(days, sum);
    static const struct { const char *key, *name, *help; } df[] = {
        { "top", "orchestrator_scorecard_today_top_windows", "The day's volatile windows so far (top decile of each instrument's windows)." },
        { "covered", "orchestrator_scorecard_today_covered_windows", "Of those, the windows a scan of the market covered." },
        { "runs", "orchestrator_scorecard_today_runs", "Scans of the market started today." },
        { "cron5_runs", "orchestrator_scorecard_today_cron5_runs", "The runs a cron every 5 minutes would have made in the windows watched today." },
        { "equal_runs_covered", "orchestrator_scorecard_today_equal_runs_covered_windows",
          "The volatile windows a cron making as many runs would have covered today (averaged over its phases)." },
    };
    for (size_t i = 0; i < WATCHVIEW_N(df); i++) {
        metrics_add(b, "# HELP %s %s\n# TYPE %s gauge\n", df[i].name, df[i].help, df[i].name);
        for (int k = 0; k < 2; k++) {
            double v = watchview_num(sum[k].last, df[i].key);
            if (sum[k].last && !isnan(v))
                metrics_add(b, "%s{market=\"%s\"} %s\n", df[i].name, watchview_markets[k], metrics_num(v, num));
        }
    }
    static const struct { const char *name, *help; } rf[] = {
        { "orchestrator_scorecard_coverage_ratio", "Volatile windows covered by a scan over the last 30 days, 0-1." },
        { "orchestrator_scorecard_equal_runs_coverage_ratio", "What a cron with as many runs would have covered over the last 30 days, 0-1." },
        { "orchestrator_scorecard_runs_vs_cron5_ratio", "Runs over the last 30 days against cron-5's, 0-1." },
    };
    for (size_t i = 0; i < WATCHVIEW_N(rf); i++) {
        metrics_add(b, "# HELP %s %s\n# TYPE %s gauge\n", rf[i].name, rf[i].help, rf[i].name);
        for (int k = 0; k < 2; k++) {
            double part = i == 0 ? sum[k].covered : i == 1 ? sum[k].equal : sum[k].runs;
            double whole = i == 2 ? sum[k].cron5 : sum[k].top;
            if (sum[k].days && whole > 0)
                metrics_add(b, "%s{market=\"%s\"} %s\n", rf[i].name, watchview_markets[k], metrics_num(part / whole, num));
        }
    }
}

void watchview_metrics(struct metrics_buf *b, json_object *watch)
{
    char num[40];
    json_object *now = watchview_get(watch, "now");
    watchview_metrics_markets(b, watchview_get(now, "markets"));
    watchview_metrics_sources(b, watchview_get(now, "sources"));
    watchview_metrics_scorecard(b, watchview_get(watch, "days"));
    metrics_add(b, "# HELP orchestrator_decisions_24h Decisions of the last 24 hours by why they were made "
                   "(scheduled, event: the watch woke it, control, startup).\n# TYPE orchestrator_decisions_24h gauge\n");
    json_object *d24 = watchview_get(watch, "decisions_24h");
    for (size_t k = 0; k < WATCHVIEW_N(watchview_wakes); k++) {
        double n = watchview_num(d24, watchview_wakes[k]);
        metrics_add(b, "orchestrator_decisions_24h{wake=\"%s\"} %s\n", watchview_wakes[k], metrics_num(isnan(n) ? 0 : n, num));
    }
}
