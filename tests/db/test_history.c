/* Database tests of a year of history (sql/007_history.sql): pruning in
 * batches, the daily rollups that keep the reporting views and the API's
 * counts whole, the totals kept by row triggers, and the API's reads
 * bounded by indexes.  Run by tests/db/history.sh against a throwaway
 * PostgreSQL (tests/db/run.sh).  Each test starts from empty tables. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "log.h"
#include "query.h"
#include "store.h"
#include "db_conn.h"

static PGconn *admin;     /* superuser: setup and inspection */
static PGconn *worker;    /* role orch_worker, as the worker runs */
static PGconn *api;       /* role orch_api, as the API reads */

/* The reporting views, each with an ORDER BY that makes its text unique. */
static const char *const test_views[] = {
    "SELECT * FROM decisions_per_day ORDER BY day, mode",
    "SELECT * FROM success_by_mode_session ORDER BY mode, session",
    "SELECT * FROM trigger_outcomes ORDER BY workflow, status",
    "SELECT * FROM executions_per_day ORDER BY day, workflow",
    "SELECT * FROM llm_agreement_per_day ORDER BY day",
    "SELECT * FROM llm_calls_per_day ORDER BY day, provider, outcome",
    "SELECT * FROM results_per_day ORDER BY day, status",
    "SELECT * FROM control_commands_per_day ORDER BY day, command, status",
};
#define TEST_NVIEWS (sizeof test_views / sizeof test_views[0])

/* Every row of a query as text, one line per row, appended to *buf
 * (caller frees).  Fails the test on error. */
static void test_dump(PGconn *c, const char *sql, char **buf, size_t *len)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("query failed: %s: %s", sql, PQresultErrorMessage(r));
    for (int i = 0; i < PQntuples(r); i++) {
        for (int j = 0; j < PQnfields(r); j++) {
            const char *v = PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j);
            size_t n = strlen(v) + 2;
            char *p = realloc(*buf, *len + n + 1);
            assert_non_null(p);
            *buf = p;
            snprintf(*buf + *len, n + 1, "%s%c", v, j + 1 < PQnfields(r) ? '|' : '\n');
            *len += strlen(*buf + *len);
        }
    }
    PQclear(r);
}

/* Append formatted text to *buf. */
static void test_printf(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void test_printf(char **buf, size_t *len, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    char *p = realloc(*buf, *len + n + 1);
    assert_non_null(p);
    *buf = p;
    memcpy(*buf + *len, line, n + 1);
    *len += n;
}

/* Everything the views show, as text (caller frees). */
static char *test_views_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    for (size_t i = 0; i < TEST_NVIEWS; i++) {
        test_printf(&buf, &len, "== %s\n", test_views[i]);
        test_dump(admin, test_views[i], &buf, &len);
    }
    return buf;
}

/* What the API counts (query_state as the API role reads it), as text
 * (caller frees); the figures of the last 24 hours included. */
static char *test_api_text(struct query_state *out)
{
    struct query_state st;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(query_state(api, &st), 0);
    test_printf(&buf, &len, "decisions %lld 24h %lld switches %lld ok %lld partial %lld failed %lld\n", st.decisions,
                st.decisions_24h, st.mode_switches, st.succeeded, st.partial, st.failed);
    test_printf(&buf, &len, "agreed %lld/%lld 24h %lld/%lld streak %lld\n", st.agreed, st.compared, st.agreed_24h,
                st.compared_24h, st.fallback_streak);
    for (int s = 0; s < SOURCE_COUNT; s++)
        test_printf(&buf, &len, "source %d %lld\n", s, st.by_source[s]);
    for (int m = 0; m < MODE_COUNT; m++)
        test_printf(&buf, &len, "mode %d %lld/%lld\n", m, st.mode_succeeded[m], st.mode_acted[m]);
    for (int i = 0; i < st.ntrig; i++)
        test_printf(&buf, &len, "trig %s %s %lld %lld\n", st.trig[i].workflow, st.trig[i].status, st.trig[i].n,
                    st.trig[i].retries);
    for (int i = 0; i < st.nout; i++)
        test_printf(&buf, &len, "out %s %s %lld\n", st.out[i].workflow, st.out[i].outcome, st.out[i].n);
    for (int i = 0; i < st.nllm_outcome; i++)
        test_printf(&buf, &len, "llm_outcome %s %lld\n", st.llm_outcome[i].outcome, st.llm_outcome[i].n);
    for (int i = 0; i < st.nllm; i++) {
        const struct query_llm_group *g = &st.llm_group[i];
        test_printf(&buf, &len, "llm %s %s %lld %lld %lld 24h %lld %lld sum %.0f b %lld %lld %lld\n", g->provider,
                    g->outcome, g->calls, g->prompt_tokens, g->completion_tokens, g->calls_24h, g->tokens_24h,
                    g->latency_ms_sum, g->bucket[0], g->bucket[3], g->bucket[6]);
    }
    for (int b = 0; b < QUERY_EXEC_BUCKETS; b++)
        test_printf(&buf, &len, "exec %d %lld\n", b, st.exec_bucket[b]);
    test_printf(&buf, &len, "exec %lld %.0f opportunities %lld\n", st.exec_count, st.exec_ms_sum, st.opportunities);
    for (int i = 0; i < st.nresult; i++)
        test_printf(&buf, &len, "results %s %lld\n", st.result_group[i].status, st.result_group[i].n);
    if (out)
        *out = st;
    else
        query_state_clear(&st);
    return buf;
}

static int reset(void **state)
{
    (void)state;
    test_sql(admin, "TRUNCATE control_commands, results, llm_calls, triggers, probes, decisions, replay_runs, "
                    "history_decision_totals, history_trigger_totals, history_llm_totals, history_result_totals, "
                    "history_decisions_daily, history_triggers_daily, history_llm_calls_daily, "
                    "history_results_daily, history_commands_daily RESTART IDENTITY CASCADE");
    test_sql(admin, "UPDATE worker_state SET running = true, pid = NULL, heartbeat_at = now(), "
                    "last_decision_id = NULL, next_decision_at = NULL, sources = '{}'");
    return 0;
}

/* A year of live history, written as the roles write it (the row triggers
 * count every row): per day 4 decisions with 1 to 3 triggers, LLM calls,
 * results and commands, in every status; a replay run's decisions a year
 * old; and old rows that must stay: a decision still acting, one with a
 * trigger retrying, one whose outcome is not settled, one still followed
 * in n8n, one interrupted with a trigger whose end is unknown. */
static void test_year(void)
{
    test_sql(admin,
        "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, session, prev_mode, "
        "                       next_seconds, next_decision_at, status, completed_at, llm_outcome, llm_prompt_tokens, "
        "                       llm_completion_tokens, agreement) "
        "SELECT 'c' || i, now() - (1460 - i) * interval '6 hours' - interval '1 minute', "
        "       (ARRAY['crypto','forex','hybrid','standby'])[1 + i % 4], (ARRAY['aggressive','normal','light'])[1 + i % 3], "
        "       (ARRAY['llm','fallback','forced'])[1 + i % 3], 'r', '{}', '{}', "
        "       (ARRAY['london','tokyo','newyork','off_hours','closed'])[1 + i % 5], "
        "       CASE WHEN i % 6 <> 0 THEN (ARRAY['crypto','forex','hybrid','standby'])[1 + (i / 3) % 4] END, "
        "       300, now(), 'acting', NULL, "
        "       (ARRAY['ok','not_configured','timeout','ok','rate_limited'])[1 + i % 5], "
        "       CASE WHEN i % 5 IN (0, 3) THEN 1000 + i END, CASE WHEN i % 5 IN (0, 3) THEN 20 + i % 7 END, "
        "       CASE WHEN i % 5 IN (0, 3) THEN i % 4 <> 0 END "
        "  FROM generate_series(1, 1460) AS i");
    test_sql(admin,
        "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, http_status, attempts, "
        "                      created_at, started_at, finished_at, latency_ms, execution_id, outcome, duration_ms, "
        "                      opportunities, result_at, settled_at, learned_at) "
        "SELECT d.id, w.name, 'orch-' || d.id || '-' || w.name, '{}', "
        "       (ARRAY['sent','sent','failed','skipped','dry_run','unavailable','sent'])[1 + (d.id + w.k) % 7], "
        "       200, 1 + (d.id + w.k) % 3, d.decided_at, d.decided_at, d.decided_at + interval '1 s', "
        "       CASE WHEN d.id % 9 <> 0 THEN 50 + (d.id * w.k) % 400 END, "
        "       CASE WHEN (d.id + w.k) % 7 IN (0, 1, 6) THEN 'x' || d.id || w.k END, "
        "       CASE WHEN (d.id + w.k) % 7 IN (0, 1) THEN (ARRAY['succeeded','failed','timed_out','canceled'])[1 + d.id % 4] END, "
        "       CASE WHEN (d.id + w.k) % 7 IN (0, 1) THEN 80 + (d.id * 37) % 90000 END, "
        "       CASE WHEN (d.id + w.k) % 7 = 0 THEN (d.id % 6) END, "
        "       CASE WHEN (d.id + w.k) % 7 = 0 THEN d.decided_at + interval '30 s' END, "
        "       CASE WHEN (d.id + w.k) % 7 IN (0, 1) THEN d.decided_at + interval '1 minute' END, "
        "       CASE WHEN (d.id + w.k) % 7 = 0 THEN d.decided_at + interval '1 minute' END "
        "  FROM decisions d, (VALUES (1, 'crypto-normal-scan'), (2, 'health-monitor-check'), (3, 'forex-london-session')) "
        "       AS w(k, name) "
        " WHERE w.k <= 1 + d.id % 3");
    /* a trigger sent with an execution id but no outcome is followed in n8n: give most an end */
    test_sql(admin, "UPDATE triggers SET outcome = 'succeeded', settled_at = now(), duration_ms = 1000 "
                    " WHERE status = 'sent' AND execution_id IS NOT NULL AND outcome IS NULL");
    test_sql(admin, "UPDATE decisions SET status = (ARRAY['succeeded','partial','failed','no_action','dry_run'])[1 + id % 5], "
                    "       completed_at = decided_at + interval '1 minute'");
    test_sql(admin,
        "INSERT INTO llm_calls (decision_id, called_at, provider, model, http_status, outcome, latency_ms, "
        "                       prompt_tokens, completion_tokens) "
        "SELECT d.id, d.decided_at, (ARRAY['groq','openai'])[1 + d.id % 2], 'm', 200, "
        "       (ARRAY['ok','timeout','rate_limited'])[1 + d.id % 3], (d.id * 53) % 12000, 900 + d.id % 50, 20 "
        "  FROM decisions d WHERE d.llm_outcome <> 'not_configured'");
    test_sql(admin,
        "INSERT INTO results (trigger_id, execution_id, received_at, status, opportunities, duration_ms, body) "
        "SELECT t.id, t.execution_id, t.result_at, CASE WHEN t.id % 3 = 0 THEN 'error' ELSE 'success' END, "
        "       t.opportunities, t.duration_ms, '{}' "
        "  FROM triggers t WHERE t.result_at IS NOT NULL");
    test_sql(admin,
        "INSERT INTO control_commands (command, requested_at, status, processed_at, result, decision_id) "
        "SELECT (ARRAY['force_decision','stop','start'])[1 + d.id % 3], d.decided_at - interval '1 s', "
        "       (ARRAY['done','failed'])[1 + d.id % 2], d.decided_at, 'r', CASE WHEN d.id % 3 = 0 THEN d.id END "
        "  FROM decisions d WHERE d.id % 10 = 0");
    test_sql(admin, "INSERT INTO control_commands (command, requested_at, status) "
                    "VALUES ('stop', now() - interval '300 days', 'pending')");
    /* a replay run's decisions and triggers, a year old: neither counted nor pruned */
    test_sql(admin, "INSERT INTO replay_runs (id, seed) VALUES (1, 1)");
    test_sql(admin,
        "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, session, "
        "                       next_seconds, next_decision_at, status, run_id) "
        "SELECT 'replay' || i, now() - interval '400 days' + i * interval '1 hour', 'crypto', 'normal', 'fallback', "
        "       'r', '{}', '{}', 'london', 300, now(), 'succeeded', 1 FROM generate_series(1, 50) AS i");
    test_sql(admin,
        "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, created_at) "
        "SELECT id, 'crypto-normal-scan', 'replay-1-' || id, '{}', 'sent', now() - interval '400 days' "
        "  FROM decisions WHERE run_id = 1");
    /* old rows whose story is not over */
    test_sql(admin, "UPDATE decisions SET status = 'acting', completed_at = NULL WHERE id = 10");
    test_sql(admin, "UPDATE triggers SET status = 'retrying', next_attempt_at = now() "
                    " WHERE id = (SELECT min(id) FROM triggers WHERE decision_id = 20)");
    test_sql(admin, "UPDATE triggers SET outcome = 'failed', settled_at = NULL "
                    " WHERE id = (SELECT min(id) FROM triggers WHERE decision_id = 30)");
    test_sql(admin, "UPDATE triggers SET status = 'sent', execution_id = 'e40', outcome = NULL, settled_at = NULL "
                    " WHERE id = (SELECT min(id) FROM triggers WHERE decision_id = 40)");
    test_sql(admin, "UPDATE decisions SET status = 'interrupted' WHERE id = 50");
    test_sql(admin, "UPDATE triggers SET status = 'unknown', outcome = NULL, settled_at = NULL "
                    " WHERE id = (SELECT min(id) FROM triggers WHERE decision_id = 50)");
    test_sql(admin, "UPDATE worker_state SET last_decision_id = 1460");
}

/* Horizons of 90 days for everything, batch rows per transaction. */
static void test_retention(struct store_retention *c, long batch)
{
    memset(c, 0, sizeof *c);
    c->decision_days = 90;
    c->result_days = 90;
    c->llm_call_days = 90;
    c->command_days = 90;
    c->batch_rows = batch;
    c->budget_ms = 60000;
}

static void views_and_counts_survive_a_prune(void **state)
{
    (void)state;
    test_year();
    char *views = test_views_text();
    struct query_state st;
    char *counts = test_api_text(&st);
    /* the API's totals and the views agree */
    assert_int_equal(st.decisions, test_value(admin, "SELECT sum(decisions) FROM decisions_per_day"));
    assert_int_equal(st.succeeded, test_value(admin, "SELECT sum(succeeded) FROM success_by_mode_session"));
    long long trig = 0;
    for (int i = 0; i < st.ntrig; i++)
        trig += st.trig[i].n;
    assert_int_equal(trig, test_value(admin, "SELECT sum(triggers) FROM trigger_outcomes"));
    long long calls = 0;
    for (int i = 0; i < st.nllm; i++)
        calls += st.llm_group[i].calls;
    assert_int_equal(calls, test_value(admin, "SELECT sum(calls) FROM llm_calls_per_day"));
    assert_int_equal(st.decisions, 1460);
    query_state_clear(&st);

    long long old_before = test_value(admin, "SELECT count(*) FROM decisions WHERE run_id IS NULL "
                                             "AND decided_at < now() - interval '90 days'");
    assert_true(old_before > 1000);
    struct store_retention c;
    test_retention(&c, 50);
    struct store_pruned p;
    long long total = 0, n;
    while ((n = store_prune_history(worker, &c, &p)) > 0)
        total += n;
    assert_int_equal(n, 0);
    assert_true(total > old_before);
    /* what must stay stayed: the five decisions whose story is not over, and the replay */
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE run_id IS NULL "
                                       "AND decided_at < now() - interval '90 days'"), 5);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE run_id IS NULL AND id IN (10, 20, 30, 40, 50)"), 5);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions WHERE run_id = 1"), 50);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM triggers t JOIN decisions d ON d.id = t.decision_id "
                                       "WHERE d.run_id = 1"), 50);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM control_commands WHERE status = 'pending'"), 1);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM llm_calls WHERE called_at < now() - interval '90 days' "
                                       "AND decision_id NOT IN (10, 20, 30, 40, 50)"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM results WHERE received_at < now() - interval '90 days'"), 0);
    assert_true(test_value(admin, "SELECT count(*) FROM history_decisions_daily") > 100);

    char *views2 = test_views_text();
    char *counts2 = test_api_text(NULL);
    assert_string_equal(views, views2);
    assert_string_equal(counts, counts2);
    /* a second pass finds nothing, and the folded totals still read the same */
    assert_int_equal(store_prune_history(worker, &c, NULL), 0);
    char *counts3 = test_api_text(NULL);
    assert_string_equal(counts, counts3);
    free(views);
    free(views2);
    free(counts);
    free(counts2);
    free(counts3);
}

static void prune_in_batches_children_first(void **state)
{
    (void)state;
    test_year();
    char *views = test_views_text();
    /* one call deletes at most a batch of each kind, and gives back its counts */
    PGresult *r = PQexec(worker, "SELECT decisions, triggers, results, llm_calls, commands "
                                 "  FROM history_prune(90, 90, 90, 90, 7)");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(strtoll(PQgetvalue(r, 0, 0), NULL, 10), 7);
    assert_true(strtoll(PQgetvalue(r, 0, 1), NULL, 10) >= 7);
    PQclear(r);
    /* a prune that does not commit (a crash) leaves rows and rollups as they were */
    long long rolled = test_value(admin, "SELECT coalesce(sum(decisions), 0) FROM history_decisions_daily");
    long long live = test_value(admin, "SELECT count(*) FROM decisions");
    test_sql(worker, "BEGIN");
    test_sql(worker, "SELECT * FROM history_prune(90, 90, 90, 90, 100)");
    test_sql(worker, "ROLLBACK");
    assert_int_equal(test_value(admin, "SELECT coalesce(sum(decisions), 0) FROM history_decisions_daily"), rolled);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM decisions"), live);
    assert_int_equal(rolled, 7);
    /* results, LLM calls and commands go at their own, shorter horizons; their decisions stay */
    r = PQexec(worker, "SELECT decisions, triggers, results, llm_calls, commands FROM history_prune(300, 30, 30, 30, 100000)");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM results WHERE received_at < now() - interval '30 days'"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM llm_calls WHERE called_at < now() - interval '30 days'"), 0);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM control_commands "
                                       "WHERE requested_at < now() - interval '30 days' AND status <> 'pending'"), 0);
    assert_true(test_value(admin, "SELECT count(*) FROM decisions WHERE decided_at < now() - interval '30 days' "
                                  "AND decided_at > now() - interval '300 days'") > 900);
    char *views2 = test_views_text();
    assert_string_equal(views, views2);
    /* bad arguments are refused */
    r = PQexec(worker, "SELECT * FROM history_prune(0, 90, 90, 90, 10)");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    /* the API role may not prune */
    r = PQexec(api, "SELECT * FROM history_prune(90, 90, 90, 90, 10)");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    free(views);
    free(views2);
}

/* The totals by key against a count of the rows themselves (nothing
 * pruned): no key may differ either way. */
static void test_totals_match_rows(void)
{
    static const char *const checks[] = {
        "SELECT count(*) FROM ((SELECT mode, source, status, llm_outcome, sum(decisions), sum(switches), sum(agreed), "
        "                              sum(compared) FROM history_decision_totals GROUP BY 1, 2, 3, 4 "
        "                       HAVING sum(decisions) <> 0) "
        "  EXCEPT ALL (SELECT mode, source, status, llm_outcome, count(*), "
        "                     count(*) FILTER (WHERE prev_mode IS NOT NULL AND prev_mode <> mode), "
        "                     count(*) FILTER (WHERE agreement), count(*) FILTER (WHERE agreement IS NOT NULL) "
        "                FROM decisions WHERE run_id IS NULL GROUP BY 1, 2, 3, 4)) x",
        "SELECT count(*) FROM ((SELECT mode, source, status, llm_outcome, count(*), "
        "                              count(*) FILTER (WHERE prev_mode IS NOT NULL AND prev_mode <> mode), "
        "                              count(*) FILTER (WHERE agreement), count(*) FILTER (WHERE agreement IS NOT NULL) "
        "                         FROM decisions WHERE run_id IS NULL GROUP BY 1, 2, 3, 4) "
        "  EXCEPT ALL (SELECT mode, source, status, llm_outcome, sum(decisions), sum(switches), sum(agreed), "
        "                     sum(compared) FROM history_decision_totals GROUP BY 1, 2, 3, 4 "
        "               HAVING sum(decisions) <> 0)) x",
        "SELECT count(*) FROM ((SELECT workflow, status, outcome, sum(triggers), sum(retries), sum(durations), "
        "                              sum(duration_ms_sum), sum(le_1s), sum(le_60s), sum(opportunities) "
        "                         FROM history_trigger_totals GROUP BY 1, 2, 3 HAVING sum(triggers) <> 0) "
        "  EXCEPT ALL (SELECT workflow, status, outcome, count(*), sum(greatest(attempts - 1, 0)), count(duration_ms), "
        "                     coalesce(sum(duration_ms), 0), count(*) FILTER (WHERE duration_ms <= 1000), "
        "                     count(*) FILTER (WHERE duration_ms <= 60000), "
        "                     coalesce(sum(opportunities) FILTER (WHERE result_at IS NOT NULL), 0) "
        "                FROM triggers t WHERE EXISTS (SELECT 1 FROM decisions d WHERE d.id = t.decision_id "
        "                                                AND d.run_id IS NULL) GROUP BY 1, 2, 3)) x",
        "SELECT count(*) FROM ((SELECT provider, outcome, sum(calls), sum(prompt_tokens), sum(latency_ms_sum), "
        "                              sum(le_250ms), sum(le_10s) FROM history_llm_totals GROUP BY 1, 2 "
        "                       HAVING sum(calls) <> 0) "
        "  EXCEPT ALL (SELECT provider, outcome, count(*), sum(prompt_tokens), sum(latency_ms), "
        "                     count(*) FILTER (WHERE latency_ms <= 250), count(*) FILTER (WHERE latency_ms <= 10000) "
        "                FROM llm_calls GROUP BY 1, 2)) x",
        "SELECT count(*) FROM ((SELECT status, sum(results) FROM history_result_totals GROUP BY 1 HAVING sum(results) <> 0) "
        "  EXCEPT ALL (SELECT status, count(*) FROM results GROUP BY 1)) x",
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        long long n = test_value(admin, checks[i]);
        if (n != 0)
            fail_msg("totals and rows differ (%lld keys): %s", n, checks[i]);
    }
}

static void totals_follow_every_change(void **state)
{
    (void)state;
    test_year();
    test_totals_match_rows();
    /* the worker's kinds of changes, one row at a time */
    test_sql(worker, "UPDATE decisions SET status = 'succeeded' WHERE id = 10");
    test_sql(worker, "UPDATE triggers SET status = 'sent', attempts = attempts + 1 WHERE status = 'retrying'");
    test_sql(worker, "UPDATE triggers SET outcome = 'timed_out', duration_ms = 120001 WHERE decision_id = 50");
    test_sql(worker, "UPDATE triggers SET opportunities = 9, result_at = now() WHERE id IN (SELECT id FROM triggers "
                     "WHERE result_at IS NULL ORDER BY id DESC LIMIT 3)");
    assert_int_equal(test_value(admin, "SELECT (history_compact() >= 0)::int"), 1);
    test_sql(worker, "UPDATE triggers SET status = 'failed' WHERE id IN (SELECT id FROM triggers ORDER BY id LIMIT 5)");
    test_sql(worker, "INSERT INTO llm_calls (provider, model, outcome, latency_ms) VALUES ('local', 'm', 'ok', 99)");
    test_totals_match_rows();
    /* folding the deltas keeps the sums and leaves one row per key */
    long long rows = test_value(admin, "SELECT count(*) FROM history_trigger_totals");
    test_sql(worker, "SELECT history_compact()");
    assert_true(test_value(admin, "SELECT count(*) FROM history_trigger_totals") <= rows);
    assert_int_equal(test_value(admin, "SELECT count(*) FROM (SELECT 1 FROM history_trigger_totals "
                                       "GROUP BY workflow, status, outcome HAVING count(*) > 1) x"), 0);
    test_totals_match_rows();
    /* a replay's rows are not counted */
    long long before = test_value(admin, "SELECT sum(decisions) FROM history_decision_totals");
    test_sql(admin, "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, "
                    "next_seconds, next_decision_at, run_id) "
                    "VALUES ('replay-x', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'london', 300, now(), 1)");
    assert_int_equal(test_value(admin, "SELECT sum(decisions) FROM history_decision_totals"), before);
    /* the API role cannot write them */
    PGresult *r = PQexec(api, "INSERT INTO history_result_totals VALUES ('success', 1)");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
}

/* No sequential scan of a table that grows with history in the plan of
 * stmt (EXPLAIN with its sample parameters). */
static void test_plan_bounded(const struct query_stmt *stmt)
{
    char sql[8192];
    snprintf(sql, sizeof sql, "EXPLAIN %s", stmt->sql);
    PGresult *r = PQexecParams(api, sql, stmt->nparams, NULL, stmt->params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("EXPLAIN %s: %s", stmt->name, PQresultErrorMessage(r));
    static const char *const big[] = { "on decisions", "on triggers", "on llm_calls", "on results",
                                       "on control_commands" };
    for (int i = 0; i < PQntuples(r); i++) {
        const char *line = PQgetvalue(r, i, 0);
        if (!strstr(line, "Seq Scan"))
            continue;
        for (size_t b = 0; b < sizeof big / sizeof big[0]; b++) {
            const char *at = strstr(line, big[b]);
            if (at && (at[strlen(big[b])] == ' ' || at[strlen(big[b])] == '\0'))
                fail_msg("%s reads a whole table: %s", stmt->name, line);
        }
    }
    PQclear(r);
}

static void api_reads_are_bounded_by_indexes(void **state)
{
    (void)state;
    /* 40,000 decisions over a year with their triggers, calls and results,
     * and 20,000 control commands, written with the row triggers off and
     * counted afterwards */
    test_sql(admin, "SET session_replication_role = replica");
    test_sql(admin,
        "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, session, "
        "                       next_seconds, next_decision_at, status, llm_outcome, agreement) "
        "SELECT 'c' || i, now() - (40000 - i) * interval '13 minutes', "
        "       (ARRAY['crypto','forex','hybrid','standby'])[1 + i % 4], 'normal', 'fallback', 'r', '{}', '{}', "
        "       'london', 300, now(), 'succeeded', (ARRAY['ok','timeout'])[1 + i % 2], i % 3 = 0 "
        "  FROM generate_series(1, 40000) AS i");
    test_sql(admin,
        "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, created_at, outcome, "
        "                      duration_ms, opportunities, result_at) "
        "SELECT d.id, w, 'orch-' || d.id || '-' || w, '{}', 'sent', d.decided_at, 'succeeded', 900, 1, d.decided_at "
        "  FROM decisions d, unnest(ARRAY['crypto-normal-scan','health-monitor-check']) AS w");
    test_sql(admin,
        "INSERT INTO llm_calls (decision_id, called_at, provider, model, outcome, latency_ms) "
        "SELECT id, decided_at, 'groq', 'm', 'ok', 300 FROM decisions");
    test_sql(admin,
        "INSERT INTO results (trigger_id, execution_id, received_at, status, opportunities, duration_ms, body) "
        "SELECT id, 'e' || id, result_at, 'success', 1, 900, '{}' FROM triggers");
    test_sql(admin,
        "INSERT INTO control_commands (command, requested_at, status, processed_at, result) "
        "SELECT (ARRAY['force_decision','stop','start'])[1 + i % 3], now() - (20000 - i) * interval '26 minutes', "
        "       'done', now() - (20000 - i) * interval '26 minutes', 'r' "
        "  FROM generate_series(1, 20000) AS i");
    test_sql(admin, "SET session_replication_role = origin");
    test_sql(admin, "SELECT history_recount()");
    test_sql(admin, "VACUUM ANALYZE decisions, triggers, llm_calls, results, control_commands");
    const struct query_stmt *s = query_fill_statements();
    int n = 0;
    for (; s->name; s++, n++)
        test_plan_bounded(s);
    assert_true(n >= 12);
    /* and the fills work on it */
    struct query_state st;
    assert_int_equal(query_state(api, &st), 0);
    assert_int_equal(st.decisions, 40000);
    assert_true(st.decisions_24h >= 100 && st.decisions_24h <= 120);
    query_state_clear(&st);
}

int main(void)
{
    log_init("test_history", LOG_ERROR);
    const char *super = getenv("PGUSER") ? getenv("PGUSER") : "postgres";
    admin = test_connect(super);
    worker = test_connect("orch_worker");
    api = test_connect("orch_api");
    if (!admin || !worker || !api) {
        fprintf(stderr, "test_history: no database: run through tests/db/history.sh\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(views_and_counts_survive_a_prune, reset),
        cmocka_unit_test_setup(prune_in_batches_children_first, reset),
        cmocka_unit_test_setup(totals_follow_every_change, reset),
        cmocka_unit_test_setup(api_reads_are_bounded_by_indexes, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(api);
    PQfinish(worker);
    PQfinish(admin);
    return rc;
}
