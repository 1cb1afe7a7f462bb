/* Unit tests of fcgi/learning.c: the /replays parameters and item paths,
 * the scorecard summary, the /status value and the learning gauges.  The
 * route of "/replays/{id}/svg" is checked too (fcgi/route.c route_find). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learning.h"
#include "metrics.h"
#include "fields.h"
#include "params.h"
#include "route.h"
#include "seed.h"

static int limit_ok(const char *qs)
{
    int limit = -1;
    char err[LEARNING_ERR_MAX] = "";
    int rc = learning_replays_parse(qs, &limit, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error for \"%s\": %s\n", qs ? qs : "(null)", err);
    assert_int_equal(rc, 0);
    return limit;
}

static void limit_bad(const char *qs, const char *want)
{
    int limit;
    char err[LEARNING_ERR_MAX] = "";
    int rc = learning_replays_parse(qs, &limit, err, sizeof err);
    seed_expect_refused(qs, rc, err, want);
}

static void test_replays_params(void **state)
{
    (void)state;
    assert_int_equal(limit_ok(NULL), LEARNING_LIMIT_DEFAULT);
    assert_int_equal(limit_ok(""), 20);
    assert_int_equal(limit_ok("limit=1"), 1);
    assert_int_equal(limit_ok("limit=100"), 100);
    assert_int_equal(limit_ok("limit=%35"), 5);
    assert_int_equal(limit_ok("limit=7&"), 7);
    limit_bad("limit=0", "limit must be");
    limit_bad("limit=101", "limit must be");
    limit_bad("limit=-1", "limit must be");
    limit_bad("limit=1x", "limit must be");
    limit_bad("limit=", "limit must be");
    limit_bad("limit", "limit must be");
    limit_bad("limit=99999999999999999999999", "limit must be");
    limit_bad("limit=%zz", "limit must be");
    limit_bad("limit=1&limit=2", "twice");
    limit_bad("before=3", "unknown parameter 'before'");
    limit_bad("l%00imit=3", "malformed");
    char big[FIELDS_QUERY_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    limit_bad(big, "longer than");
}

static void test_replay_item(void **state)
{
    (void)state;
    long long id = 0;
    int svg = -1;
    assert_int_equal(learning_replay_item("12", &id, &svg), 0);
    assert_int_equal(id, 12);
    assert_int_equal(svg, 0);
    assert_int_equal(learning_replay_item("7/svg", &id, &svg), 0);
    assert_int_equal(id, 7);
    assert_int_equal(svg, 1);
    assert_int_equal(learning_replay_item("7/png", &id, &svg), -2);
    assert_int_equal(learning_replay_item("7/svg/x", &id, &svg), -2);
    assert_int_equal(learning_replay_item("0", &id, &svg), -1);
    assert_int_equal(learning_replay_item("abc", &id, &svg), -1);
    assert_int_equal(learning_replay_item("-3", &id, &svg), -1);
    assert_int_equal(learning_replay_item("/svg", &id, &svg), -1);
    assert_int_equal(learning_replay_item("99999999999999999999999/svg", &id, &svg), -1);

    const char *item;
    assert_int_equal(route_find("/replays", &item), ROUTE_REPLAYS);
    assert_null(item);
    assert_int_equal(route_find("/replays/3", &item), ROUTE_REPLAY);
    assert_string_equal(item, "3");
    assert_int_equal(route_find("/replays/3/svg", &item), ROUTE_REPLAY);
    assert_string_equal(item, "3/svg");
    /* the other item endpoints still take one segment only */
    assert_int_equal(route_find("/decisions/3/svg", &item), -1);
}

static const char SCORECARD[] =
    "{\"window_minutes\":15,\"top_share\":0.1,\"instruments\":["
    "{\"instrument\":\"BTCUSDT\",\"market\":\"crypto\",\"windows\":96,\"top_windows\":10,\"policies\":["
    " {\"policy\":\"orchestrator\",\"runs\":100,\"covered\":9,\"coverage\":0.9},"
    " {\"policy\":\"cron-5\",\"runs\":288,\"covered\":10,\"coverage\":1.0},"
    " {\"policy\":\"cron-15\",\"runs\":96,\"covered\":10,\"coverage\":1.0},"
    " {\"policy\":\"cron-60\",\"runs\":24,\"covered\":3,\"coverage\":0.3}]},"
    "{\"instrument\":\"ETHUSDT\",\"market\":\"crypto\",\"windows\":96,\"top_windows\":10,\"policies\":["
    " {\"policy\":\"orchestrator\",\"runs\":100,\"covered\":10,\"coverage\":1.0},"
    " {\"policy\":\"cron-5\",\"runs\":288,\"covered\":10,\"coverage\":1.0},"
    " {\"policy\":\"cron-60\",\"runs\":24,\"covered\":5,\"coverage\":0.5}]}],"
    "\"markets\":{\"crypto\":{\"coverage\":0.95,\"runs\":100,\"cron5_coverage\":1.0,\"cron5_runs\":288,"
    "\"coverage_vs_cron5\":0.95,\"runs_vs_cron5\":0.34722222222222221,\"target_met\":true}},"
    "\"decisions\":300}";

static double num(json_object *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_object *cur = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        if (!json_object_object_get_ex(cur, k, &cur))
            fail_msg("no %s in %s", k, path);
    return json_object_get_double(cur);
}

static void test_market_summary(void **state)
{
    (void)state;
    json_object *sc = json_tokener_parse(SCORECARD);
    assert_non_null(sc);
    json_object *s = learning_market_summary(sc);
    assert_non_null(s);
    assert_true(num(s, "crypto.coverage") == 0.95);
    assert_true(num(s, "crypto.runs") == 100);
    assert_true(num(s, "crypto.cron5_runs") == 288);
    assert_true(num(s, "crypto.runs_vs_cron5") == 0.3472);
    assert_true(num(s, "crypto.instruments") == 2);
    assert_true(num(s, "crypto.top_windows") == 20);
    assert_true(num(s, "crypto.policies.orchestrator.covered") == 19);
    assert_true(num(s, "crypto.policies.orchestrator.runs") == 100);
    assert_true(num(s, "crypto.policies.orchestrator.coverage") == 0.95);
    assert_true(num(s, "crypto.policies.cron-60.covered") == 8);
    assert_true(num(s, "crypto.policies.cron-60.coverage") == 0.4);
    assert_true(num(s, "crypto.policies.cron-15.covered") == 10);   /* only one instrument has it */
    json_object *tm;
    assert_true(json_object_object_get_ex(json_object_object_get(s, "crypto"), "target_met", &tm));
    assert_true(json_object_get_boolean(tm));
    json_object_put(s);

    /* tidy: no 17-digit doubles */
    json_object *t = learning_tidy(sc);
    const char *text = json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN);
    assert_null(strstr(text, "0.34722222222222221"));
    assert_non_null(strstr(text, "0.347222222222222"));
    json_object_put(t);
    json_object_put(sc);

    /* nothing to summarize */
    s = learning_market_summary(NULL);
    assert_non_null(s);
    assert_int_equal(json_object_object_length(s), 0);
    json_object_put(s);
}

/* A scorecard with the market-hours and equal-runs figures (forex). */
static const char SCORECARD2[] =
    "{\"instruments\":["
    "{\"instrument\":\"EURUSD\",\"market\":\"forex\",\"top_windows\":10,\"policies\":["
    " {\"policy\":\"orchestrator\",\"period_s\":0,\"runs\":90,\"covered\":10},"
    " {\"policy\":\"market-hours-cron-5\",\"period_s\":300,\"runs\":280,\"covered\":10},"
    " {\"policy\":\"equal-runs-cron\",\"period_s\":1100,\"runs\":90,\"covered\":8}]}],"
    "\"markets\":{\"forex\":{\"coverage\":1.0,\"runs\":90,\"cron5_coverage\":1.0,\"cron5_runs\":400,"
    "\"market_hours_cron5_coverage\":1.0,\"market_hours_cron5_runs\":280,\"coverage_vs_market_hours_cron5\":1.0,"
    "\"runs_vs_market_hours_cron5\":0.32142857,\"target_basis\":\"market-hours-cron-5\",\"target_met\":true,"
    "\"target_met_vs_cron5\":true,\"equal_runs_cron_period_s\":1100,\"equal_runs_cron_runs\":90,"
    "\"equal_runs_cron_coverage\":0.8,\"coverage_minus_equal_runs_cron\":0.2}}}";

static void test_market_summary_comparisons(void **state)
{
    (void)state;
    json_object *sc = json_tokener_parse(SCORECARD2);
    assert_non_null(sc);
    json_object *s = learning_market_summary(sc), *v;
    assert_non_null(s);
    assert_true(num(s, "forex.market_hours_cron5_runs") == 280);
    assert_true(num(s, "forex.runs_vs_market_hours_cron5") == 0.3214);
    assert_true(num(s, "forex.equal_runs_cron_period_s") == 1100);
    assert_true(num(s, "forex.equal_runs_cron_coverage") == 0.8);
    assert_true(num(s, "forex.coverage_minus_equal_runs_cron") == 0.2);
    assert_true(num(s, "forex.policies.market-hours-cron-5.runs") == 280);
    assert_true(num(s, "forex.policies.equal-runs-cron.covered") == 8);
    assert_true(num(s, "forex.policies.equal-runs-cron.period_s") == 1100);
    assert_true(json_object_object_get_ex(json_object_object_get(s, "forex"), "target_basis", &v));
    assert_string_equal(json_object_get_string(v), "market-hours-cron-5");
    assert_true(json_object_object_get_ex(json_object_object_get(s, "forex"), "target_met_vs_cron5", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(s);
    json_object_put(sc);
}

/* Per-session outcomes: gauges for the known sessions and intensities only. */
static const char SUMMARY_SESSIONS[] =
    "{\"markets\":{\"forex\":{\"sessions\":{"
    "\"london\":{\"outcomes\":{\"normal\":{\"runs\":4,\"success\":0.8,\"success_90\":[0.5,0.97],"
    "\"opportunities\":1.25,\"opportunities_90\":[0.5,2.25]}}},"
    "\"mars\":{\"outcomes\":{\"normal\":{\"runs\":9,\"opportunities\":9}}},"
    "\"tokyo\":{\"outcomes\":{\"ludicrous\":{\"runs\":9}}}}}}}";

/* The learning gauges of l as text (caller frees), as /metrics appends them. */
static char *render(json_object *l, size_t *len)
{
    struct metrics_buf b = { 0 };
    learning_metrics(&b, l);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static void test_metrics_sessions(void **state)
{
    (void)state;
    json_object *l = json_tokener_parse(SUMMARY_SESSIONS);
    assert_non_null(l);
    size_t len = 0;
    char *t = render(l, &len);
    assert_non_null(t);
    assert_non_null(strstr(t, "# TYPE orchestrator_learning_session_expected_opportunities gauge\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_session_runs{market=\"forex\",session=\"london\",intensity=\"normal\"} 4\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_session_success_probability{market=\"forex\",session=\"london\",intensity=\"normal\"} 0.8\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_session_expected_opportunities{market=\"forex\",session=\"london\",intensity=\"normal\"} 1.25\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_session_expected_opportunities_lower{market=\"forex\",session=\"london\",intensity=\"normal\"} 0.5\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_session_expected_opportunities_upper{market=\"forex\",session=\"london\",intensity=\"normal\"} 2.25\n"));
    /* unknown sessions and intensities never become labels */
    assert_null(strstr(t, "mars"));
    assert_null(strstr(t, "ludicrous"));
    /* the baseline is the whole market's, as learn.c writes it */
    assert_non_null(strstr(t, "# HELP orchestrator_learning_activity_baseline Learned activity baseline of the whole market"));
    free(t);
    json_object_put(l);
}

static const char SUMMARY[] =
    "{\"version\":1,\"observations\":42,\"parameters\":{\"half_life_hours\":168},"
    "\"markets\":{\"crypto\":{\"activity\":{\"valid\":true,\"reading\":0.21,\"smoothed\":0.18,"
    "\"baseline\":0.15,\"baseline_sd\":0.09,\"ratio\":1.2,\"band\":\"elevated\",\"session\":\"london\"},"
    "\"last_scan_age_seconds\":420,\"fresh_exposure\":0.47,\"next_seconds\":180,"
    "\"bands\":{\"elevated\":{\"normal\":{\"runs\":12.5,\"success\":0.98,\"success_90\":[0.91,1.0],"
    "\"opportunities\":1.3,\"opportunities_90\":[0.9,1.8],\"cost\":1.0,\"net_value\":0.27}}}},"
    "\"for\\\"ex\":{\"activity\":{\"valid\":false}}}}";

static void test_metrics(void **state)
{
    (void)state;
    size_t len = 0;
    char *t = render(NULL, &len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    assert_non_null(strstr(t, "# TYPE orchestrator_learning_activity_ratio gauge\n"));
    assert_null(strstr(t, "orchestrator_learning_activity_ratio{"));
    free(t);

    json_object *l = json_tokener_parse(SUMMARY);
    assert_non_null(l);
    t = render(l, &len);
    assert_non_null(t);
    assert_non_null(strstr(t, "\norchestrator_learning_observations 42\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_activity_ratio{market=\"crypto\"} 1.2\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_activity_band{market=\"crypto\",band=\"elevated\"} 1\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_activity_band{market=\"crypto\",band=\"quiet\"} 0\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_next_seconds{market=\"crypto\"} 180\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_expected_opportunities{market=\"crypto\",band=\"elevated\",intensity=\"normal\"} 1.3\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_expected_opportunities_lower{market=\"crypto\",band=\"elevated\",intensity=\"normal\"} 0.9\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_expected_opportunities_upper{market=\"crypto\",band=\"elevated\",intensity=\"normal\"} 1.8\n"));
    assert_non_null(strstr(t, "\norchestrator_learning_success_probability_lower{market=\"crypto\",band=\"elevated\",intensity=\"normal\"} 0.91\n"));
    /* a market without a valid reading has no activity samples; its name is escaped */
    assert_null(strstr(t, "activity_ratio{market=\"for\\\"ex\"}"));
    assert_null(strstr(t, "NaN"));
    free(t);

    /* /status shows a tidy copy: the same values, doubles printed short */
    json_object *st = learning_status(l);
    assert_non_null(st);
    assert_ptr_not_equal(st, l);
    assert_true(json_object_equal(st, l));
    json_object_put(st);
    json_object *ci = json_object_new_object();
    volatile double lo = 0.05, hi = 0.9;
    json_object_object_add(ci, "success", json_object_new_double(lo + hi));   /* 0.9500000000000001 */
    st = learning_status(ci);
    assert_non_null(st);
    assert_string_equal(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN), "{\"success\":0.95}");
    json_object_put(st);
    json_object_put(ci);
    json_object *empty = json_object_new_object();
    assert_null(learning_status(empty));
    assert_null(learning_status(NULL));
    json_object_put(empty);
    json_object_put(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replays_params),
        cmocka_unit_test(test_replay_item),
        cmocka_unit_test(test_market_summary),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_market_summary_comparisons),
        cmocka_unit_test(test_metrics_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
