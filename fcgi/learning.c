/* learning: learning summary and replay runs for the API; see learning.h. */
#include "config.h"
#include "learning.h"
#include "fields.h"
#include "metrics.h"
#include "params.h"
#include "query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pure helpers ---------------------------------------------------------- */

/* The one parameter of GET /replays, with the wording its refusals have
 * always had (tests/unit/test_learning_api.c). */
static const struct fields_spec learning_replays_fields[] = {
    { "limit", FIELDS_UINT, 0, 1, LEARNING_LIMIT_MAX, LEARNING_LIMIT_DEFAULT, NULL, NULL,
      "limit must be an integer from 1 to " FIELDS_STR(LEARNING_LIMIT_MAX), NULL },
};

static const struct fields_query learning_replays_form = {
    .spec = learning_replays_fields,
    .count = 1,
    .name_max = 31,
    .value_max = 63,
    .too_long = "the query string is longer than " FIELDS_STR(FIELDS_QUERY_MAX) " bytes",
    .bad_name = "malformed parameter name",
    .unknown = "unknown parameter '{}' (only limit)",
    .repeated = "parameter '{}' given twice",
    .bad_escape = NULL,                 /* the field's message */
    .empty = NULL,
};

int learning_replays_parse(const char *qs, int *limit, char *err, size_t errlen)
{
    struct fields_value v[1];
    int rc = fields_query_parse(&learning_replays_form, qs, v, err, errlen);
    *limit = (int)v[0].n;
    return rc;
}

int learning_replay_item(const char *item, long long *id, int *svg)
{
    char digits[24];
    const char *slash = strchr(item, '/');
    size_t n = slash ? (size_t)(slash - item) : strlen(item);
    if (n == 0 || n >= sizeof digits)
        return -1;
    memcpy(digits, item, n);
    digits[n] = '\0';
    if (params_item_id(digits, id) < 0)
        return -1;
    *svg = 0;
    if (!slash)
        return 0;
    if (strcmp(slash, "/svg") == 0) {
        *svg = 1;
        return 0;
    }
    return -2;
}

json_object *learning_tidy(json_object *o)
{
    if (!o)
        return NULL;
    switch (json_object_get_type(o)) {
    case json_type_double:
        return query_json_double(json_object_get_double(o));
    case json_type_object: {
        json_object *c = json_object_new_object();
        if (!c)
            return NULL;
        json_object_object_foreach(o, k, v) {
            json_object *t = learning_tidy(v);
            if (v && !t) {
                json_object_put(c);
                return NULL;
            }
            json_object_object_add(c, k, t);
        }
        return c;
    }
    case json_type_array: {
        size_t n = json_object_array_length(o);
        json_object *c = json_object_new_array_ext((int)n);
        if (!c)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            json_object *v = json_object_array_get_idx(o, i);
            json_object *t = learning_tidy(v);
            if (v && !t) {
                json_object_put(c);
                return NULL;
            }
            json_object_array_add(c, t);
        }
        return c;
    }
    default:
        return json_object_get(o);    /* immutable in practice: shared */
    }
}

/* o[key] as a number, NAN when absent or not a number. */
static double learning_num(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NAN;
    json_type t = json_object_get_type(v);
    if (t != json_type_int && t != json_type_double)
        return NAN;
    return json_object_get_double(v);
}

/* o[key] if it is an object, else NULL.  Borrowed. */
static json_object *learning_obj(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

/* o[key] if it is a string, else NULL.  Borrowed. */
static const char *learning_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A JSON number rounded to 4 decimals, null when not finite.  Caller frees. */
static json_object *learning_round4(double d)
{
    return isfinite(d) ? query_json_double(round(d * 10000.0) / 10000.0) : NULL;
}

/* The policies the dashboard compares. */
static const char *const learning_policies[] = { "orchestrator", "cron-5", "cron-15", "cron-60",
                                                 "market-hours-cron-5", "equal-runs-cron" };
#define LEARNING_NPOLICIES (sizeof learning_policies / sizeof learning_policies[0])

/* What the instruments of one market add up to, per policy of
 * learning_policies: runs the largest of its instruments', covered
 * windows and top windows summed. */
struct learning_sums {
    long long instruments, top;
    double runs[LEARNING_NPOLICIES], covered[LEARNING_NPOLICIES], period[LEARNING_NPOLICIES];
    int have[LEARNING_NPOLICIES];
};

/* Add the scorecard entry of one instrument (borrowed) to sum. */
static void learning_sum_instrument(json_object *it, struct learning_sums *sum)
{
    json_object *ps;
    sum->instruments++;
    double tw = learning_num(it, "top_windows");
    if (isfinite(tw))
        sum->top += (long long)tw;
    if (!json_object_object_get_ex(it, "policies", &ps) || !json_object_is_type(ps, json_type_array))
        return;
    for (size_t k = 0; k < json_object_array_length(ps); k++) {
        json_object *p = json_object_array_get_idx(ps, k);
        const char *name = learning_str(p, "policy");
        for (size_t j = 0; name && j < LEARNING_NPOLICIES; j++) {
            if (strcmp(name, learning_policies[j]) != 0)
                continue;
            double r = learning_num(p, "runs"), c = learning_num(p, "covered"), per = learning_num(p, "period_s");
            if (isfinite(r) && r > sum->runs[j])
                sum->runs[j] = r;
            if (isfinite(c))
                sum->covered[j] += c;
            if (isfinite(per) && per > sum->period[j])
                sum->period[j] = per;
            sum->have[j] = 1;
        }
    }
}

/* Add to pol a {"runs", "covered", "period_s", "coverage"} object per
 * policy that sum has. */
static void learning_policies_add(json_object *pol, const struct learning_sums *sum)
{
    for (size_t j = 0; j < LEARNING_NPOLICIES; j++) {
        if (!sum->have[j])
            continue;
        json_object *p = json_object_new_object();
        if (!p)
            continue;
        json_object_object_add(p, "runs", json_object_new_int64((long long)sum->runs[j]));
        json_object_object_add(p, "covered", json_object_new_int64((long long)sum->covered[j]));
        json_object_object_add(p, "period_s", sum->period[j] > 0 ? json_object_new_int64((long long)sum->period[j]) : NULL);
        json_object_object_add(p, "coverage", sum->top > 0 ? learning_round4(sum->covered[j] / (double)sum->top) : NULL);
        json_object_object_add(pol, learning_policies[j], p);
    }
}

/* The summary of one market: m its scorecard entry, inst the scorecard's
 * instruments (both borrowed; inst may be NULL).  Returns it (caller
 * frees) or NULL when out of memory. */
static json_object *learning_market_one(const char *market, json_object *m, json_object *inst)
{
    static const char *const keys[] = { "coverage", "runs", "cron5_coverage", "cron5_runs",
                                        "coverage_vs_cron5", "runs_vs_cron5",
                                        "market_hours_cron5_coverage", "market_hours_cron5_runs",
                                        "coverage_vs_market_hours_cron5", "runs_vs_market_hours_cron5",
                                        "equal_runs_cron_period_s", "equal_runs_cron_runs",
                                        "equal_runs_cron_coverage", "coverage_minus_equal_runs_cron" };
    static const char *const flags[] = { "target_met", "target_met_vs_cron5" };
    json_object *s = json_object_new_object(), *pol = json_object_new_object();
    if (!s || !pol) {
        json_object_put(s);
        json_object_put(pol);
        return NULL;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_object_add(s, keys[i], learning_round4(learning_num(m, keys[i])));
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        json_object *tm;
        json_object_object_add(s, flags[i],
                               json_object_object_get_ex(m, flags[i], &tm) &&
                               json_object_is_type(tm, json_type_boolean) ? json_object_get(tm) : NULL);
    }
    const char *basis = learning_str(m, "target_basis");
    json_object_object_add(s, "target_basis", basis ? json_object_new_string(basis) : NULL);
    struct learning_sums sum;
    memset(&sum, 0, sizeof sum);
    size_t n = inst && json_object_is_type(inst, json_type_array) ? json_object_array_length(inst) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(inst, i);
        const char *im = learning_str(it, "market");
        if (im && strcmp(im, market) == 0)
            learning_sum_instrument(it, &sum);
    }
    learning_policies_add(pol, &sum);
    json_object_object_add(s, "instruments", json_object_new_int64(sum.instruments));
    json_object_object_add(s, "top_windows", json_object_new_int64(sum.top));
    json_object_object_add(s, "policies", pol);
    return s;
}

json_object *learning_market_summary(json_object *scorecard)
{
    json_object *out = json_object_new_object();
    if (!out)
        return NULL;
    json_object *markets = learning_obj(scorecard, "markets");
    json_object *inst = NULL;
    if (scorecard)
        json_object_object_get_ex(scorecard, "instruments", &inst);
    if (!markets)
        return out;
    json_object_object_foreach(markets, market, m) {
        if (!json_object_is_type(m, json_type_object))
            continue;
        json_object *s = learning_market_one(market, m, inst);
        if (!s) {
            json_object_put(out);
            return NULL;
        }
        json_object_object_add(out, market, s);
    }
    return out;
}

json_object *learning_status(json_object *learning)
{
    if (!learning || !json_object_is_type(learning, json_type_object) || json_object_object_length(learning) == 0)
        return NULL;
    return learning_tidy(learning);
}

/* ---- /metrics ---------------------------------------------------------------- */

/* The gauges per market. */
enum learning_mgauge {
    LEARNING_G_RATIO = 0, LEARNING_G_READING, LEARNING_G_SMOOTHED, LEARNING_G_BASELINE, LEARNING_G_BASELINE_SD,
    LEARNING_G_BAND, LEARNING_G_SCAN_AGE, LEARNING_G_EXPOSURE, LEARNING_G_NEXT, LEARNING_G_COUNT
};
static const struct { const char *name, *help; } learning_mgauges[LEARNING_G_COUNT] = {
    [LEARNING_G_RATIO] = { "orchestrator_learning_activity_ratio",
                           "Market activity (the larger of the latest and the smoothed reading) relative to the market's learned baseline over all sessions." },
    [LEARNING_G_READING] = { "orchestrator_learning_activity_reading",
                             "Latest market activity reading (crypto: mean abs 5-minute change in percent; forex: basis points per 5 minutes)." },
    [LEARNING_G_SMOOTHED] = { "orchestrator_learning_activity_smoothed", "Smoothed market activity." },
    [LEARNING_G_BASELINE] = { "orchestrator_learning_activity_baseline",
                              "Learned activity baseline of the whole market (all sessions; per-session baselines are in /status)." },
    [LEARNING_G_BASELINE_SD] = { "orchestrator_learning_activity_baseline_sd", "Standard deviation of the learned activity baseline." },
    [LEARNING_G_BAND] = { "orchestrator_learning_activity_band",
                          "1 for the market's current activity band, 0 for the others." },
    [LEARNING_G_SCAN_AGE] = { "orchestrator_learning_last_scan_age_seconds",
                              "Seconds since the market's last scan when the summary was written." },
    [LEARNING_G_EXPOSURE] = { "orchestrator_learning_fresh_exposure",
                              "Share of the market's recent time not yet covered by a scan." },
    [LEARNING_G_NEXT] = { "orchestrator_learning_next_seconds", "Learned interval until the next decision for the market." },
};

/* The gauges per market, band and intensity. */
enum learning_agauge {
    LEARNING_A_RUNS = 0, LEARNING_A_SUCCESS, LEARNING_A_SUCCESS_LO, LEARNING_A_SUCCESS_HI,
    LEARNING_A_OPP, LEARNING_A_OPP_LO, LEARNING_A_OPP_HI, LEARNING_A_NET, LEARNING_A_COUNT
};
static const struct { const char *name, *key, *help; int bound; } learning_agauges[LEARNING_A_COUNT] = {
    [LEARNING_A_RUNS] = { "orchestrator_learning_runs", "runs", "Decayed number of outcomes behind the estimate.", -1 },
    [LEARNING_A_SUCCESS] = { "orchestrator_learning_success_probability", "success",
                             "Posterior mean probability that a run succeeds.", -1 },
    [LEARNING_A_SUCCESS_LO] = { "orchestrator_learning_success_probability_lower", "success_90",
                                "Lower bound of the 90% interval of the success probability.", 0 },
    [LEARNING_A_SUCCESS_HI] = { "orchestrator_learning_success_probability_upper", "success_90",
                                "Upper bound of the 90% interval of the success probability.", 1 },
    [LEARNING_A_OPP] = { "orchestrator_learning_expected_opportunities", "opportunities",
                         "Posterior mean of the opportunities a run finds over a fresh window.", -1 },
    [LEARNING_A_OPP_LO] = { "orchestrator_learning_expected_opportunities_lower", "opportunities_90",
                            "Lower bound of the 90% interval of the expected opportunities.", 0 },
    [LEARNING_A_OPP_HI] = { "orchestrator_learning_expected_opportunities_upper", "opportunities_90",
                            "Upper bound of the 90% interval of the expected opportunities.", 1 },
    [LEARNING_A_NET] = { "orchestrator_learning_net_value", "net_value",
                         "Expected value of a run net of its cost.", -1 },
};

static const char *const learning_bands[] = { "quiet", "usual", "elevated", "high" };
static const char *const learning_intensities[] = { "aggressive", "normal", "light" };
/* The session buckets (worker/learn.c learn_bucket_name): a fixed label set. */
static const char *const learning_sessions[] = { "sydney", "sydney_tokyo", "tokyo", "tokyo_london", "london",
                                                 "london_newyork", "newyork", "off_hours", "closed" };

/* The gauges per market, session and intensity (the "outcomes" of a
 * session): their names; the values come as for learning_agauges. */
static const struct { const char *name, *help; int arm; } learning_sgauges[] = {
    { "orchestrator_learning_session_runs", "Decayed number of outcomes behind the session estimate.", LEARNING_A_RUNS },
    { "orchestrator_learning_session_success_probability",
      "Posterior mean probability that a run started in the session succeeds.", LEARNING_A_SUCCESS },
    { "orchestrator_learning_session_expected_opportunities",
      "Posterior mean of the opportunities a run started in the session finds over a fresh window.", LEARNING_A_OPP },
    { "orchestrator_learning_session_expected_opportunities_lower",
      "Lower bound of the 90% interval of the session's expected opportunities.", LEARNING_A_OPP_LO },
    { "orchestrator_learning_session_expected_opportunities_upper",
      "Upper bound of the 90% interval of the session's expected opportunities.", LEARNING_A_OPP_HI },
};

/* The value of a per-market gauge, NAN when absent. */
static double learning_mvalue(json_object *m, int g, const char *band)
{
    json_object *a = learning_obj(m, "activity");
    switch (g) {
    case LEARNING_G_RATIO: return learning_num(a, "ratio");
    case LEARNING_G_READING: return learning_num(a, "reading");
    case LEARNING_G_SMOOTHED: return learning_num(a, "smoothed");
    case LEARNING_G_BASELINE: return learning_num(a, "baseline");
    case LEARNING_G_BASELINE_SD: return learning_num(a, "baseline_sd");
    case LEARNING_G_BAND: {
        const char *cur = learning_str(a, "band");
        return cur && band ? (strcmp(cur, band) == 0 ? 1.0 : 0.0) : NAN;
    }
    case LEARNING_G_SCAN_AGE: return learning_num(m, "last_scan_age_seconds");
    case LEARNING_G_EXPOSURE: return learning_num(m, "fresh_exposure");
    case LEARNING_G_NEXT: return learning_num(m, "next_seconds");
    default: return NAN;
    }
}

/* The value of a per-arm gauge, NAN when absent. */
static double learning_avalue(json_object *arm, int g)
{
    int bound = learning_agauges[g].bound;
    if (bound < 0)
        return learning_num(arm, learning_agauges[g].key);
    json_object *v;
    if (!json_object_object_get_ex(arm, learning_agauges[g].key, &v) || !json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) != 2)
        return NAN;
    json_object *e = json_object_array_get_idx(v, (size_t)bound);
    json_type t = json_object_get_type(e);
    return t == json_type_int || t == json_type_double ? json_object_get_double(e) : NAN;
}

void learning_metrics(struct metrics_buf *b, json_object *learning)
{
    char num[40], lm[96];
    json_object *markets = learning_obj(learning, "markets");
    double obs = learning_num(learning, "observations");

    metrics_add(b, "# HELP orchestrator_learning_observations Outcomes the learned state has seen.\n"
                     "# TYPE orchestrator_learning_observations gauge\n");
    if (isfinite(obs))
        metrics_add(b, "orchestrator_learning_observations %s\n", metrics_num(obs, num));
    for (int g = 0; g < LEARNING_G_COUNT; g++) {
        metrics_add(b, "# HELP %s %s\n# TYPE %s gauge\n", learning_mgauges[g].name, learning_mgauges[g].help,
                     learning_mgauges[g].name);
        if (!markets)
            continue;
        json_object_object_foreach(markets, market, m) {
            if (!json_object_is_type(m, json_type_object))
                continue;
            metrics_label(market, lm, sizeof lm);
            if (g == LEARNING_G_BAND) {
                for (size_t k = 0; k < sizeof learning_bands / sizeof learning_bands[0]; k++) {
                    double v = learning_mvalue(m, g, learning_bands[k]);
                    if (isfinite(v))
                        metrics_add(b, "%s{market=\"%s\",band=\"%s\"} %s\n", learning_mgauges[g].name, lm,
                                     learning_bands[k], metrics_num(v, num));
                }
                continue;
            }
            double v = learning_mvalue(m, g, NULL);
            if (isfinite(v))
                metrics_add(b, "%s{market=\"%s\"} %s\n", learning_mgauges[g].name, lm, metrics_num(v, num));
        }
    }
    for (int g = 0; g < LEARNING_A_COUNT; g++) {
        metrics_add(b, "# HELP %s %s\n# TYPE %s gauge\n", learning_agauges[g].name, learning_agauges[g].help,
                     learning_agauges[g].name);
        if (!markets)
            continue;
        json_object_object_foreach(markets, market, m) {
            json_object *bands = learning_obj(m, "bands");
            if (!bands)
                continue;
            metrics_label(market, lm, sizeof lm);
            for (size_t k = 0; k < sizeof learning_bands / sizeof learning_bands[0]; k++) {
                json_object *band = learning_obj(bands, learning_bands[k]);
                for (size_t i = 0; band && i < sizeof learning_intensities / sizeof learning_intensities[0]; i++) {
                    json_object *arm = learning_obj(band, learning_intensities[i]);
                    double v = arm ? learning_avalue(arm, g) : NAN;
                    if (isfinite(v))
                        metrics_add(b, "%s{market=\"%s\",band=\"%s\",intensity=\"%s\"} %s\n",
                                     learning_agauges[g].name, lm, learning_bands[k], learning_intensities[i],
                                     metrics_num(v, num));
                }
            }
        }
    }
    for (size_t g = 0; g < sizeof learning_sgauges / sizeof learning_sgauges[0]; g++) {
        metrics_add(b, "# HELP %s %s\n# TYPE %s gauge\n", learning_sgauges[g].name, learning_sgauges[g].help,
                     learning_sgauges[g].name);
        if (!markets)
            continue;
        json_object_object_foreach(markets, market, m) {
            json_object *sessions = learning_obj(m, "sessions");
            if (!sessions)
                continue;
            metrics_label(market, lm, sizeof lm);
            for (size_t k = 0; k < sizeof learning_sessions / sizeof learning_sessions[0]; k++) {
                json_object *outcomes = learning_obj(learning_obj(sessions, learning_sessions[k]), "outcomes");
                for (size_t i = 0; outcomes && i < sizeof learning_intensities / sizeof learning_intensities[0]; i++) {
                    json_object *arm = learning_obj(outcomes, learning_intensities[i]);
                    double v = arm ? learning_avalue(arm, learning_sgauges[g].arm) : NAN;
                    if (isfinite(v))
                        metrics_add(b, "%s{market=\"%s\",session=\"%s\",intensity=\"%s\"} %s\n",
                                     learning_sgauges[g].name, lm, learning_sessions[k], learning_intensities[i],
                                     metrics_num(v, num));
                }
            }
        }
    }
}

/* ---- replay runs (read by query_replays.c) ----------------------------------- */

/* A string as JSON, null for NULL.  Caller frees. */
static json_object *learning_jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* JSON text parsed and tidied, null for NULL or unparsable text.  Caller
 * frees. */
static json_object *learning_jjson(const char *text)
{
    if (!text)
        return NULL;
    json_object *o = json_tokener_parse(text);
    json_object *t = learning_tidy(o);
    json_object_put(o);
    return t;
}

/* See learning.h. */
json_object *learning_run_json(const struct learning_run *run, int full)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "id", json_object_new_int64(run->id));
    json_object_object_add(o, "created_at", learning_jstr(run->created_at));
    json_object_object_add(o, "finished_at", learning_jstr(run->finished_at));
    json_object_object_add(o, "label", learning_jstr(run->label));
    json_object_object_add(o, "seed", json_object_new_int64(run->seed));
    json_object_object_add(o, "status", learning_jstr(run->status));
    json_object_object_add(o, "from", learning_jstr(run->from));
    json_object_object_add(o, "to", learning_jstr(run->to));
    json_object_object_add(o, "files", learning_jjson(run->files));
    json_object *timings = learning_jjson(run->timings);
    json_object *sc = run->scorecard ? json_tokener_parse(run->scorecard) : NULL;
    double dec = learning_num(sc, "decisions");
    if (!isfinite(dec))
        dec = learning_num(timings, "decisions");
    json_object_object_add(o, "decisions", isfinite(dec) ? json_object_new_int64((long long)dec) : NULL);
    json_object_object_add(o, "timings", timings);
    json_object *summary = json_object_new_object();
    if (summary) {
        static const char *const keys[] = { "window_minutes", "top_share", "llm_calls", "llm_tokens", "health_checks",
                                            "deep_analyses" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            double v = learning_num(sc, keys[i]);
            json_object_object_add(summary, keys[i], isfinite(v) ? query_json_double(v) : NULL);
        }
        json_object_object_add(summary, "markets", learning_market_summary(sc));
    }
    json_object_object_add(o, "scorecard_summary", summary);
    json_object_object_add(o, "error", learning_jstr(run->error));
    json_object_object_add(o, "svg", json_object_new_boolean(run->has_svg));
    if (full) {
        json_object_object_add(o, "params", learning_jjson(run->params));
        json_object_object_add(o, "scorecard", learning_tidy(sc));
    }
    json_object_put(sc);
    return o;
}
