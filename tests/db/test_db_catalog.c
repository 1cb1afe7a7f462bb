/* Database tests of the catalog (sql/008_catalog.sql, worker/store_catalog.c,
 * the API's reads of it) against a real, throwaway PostgreSQL started by
 * tests/db/run.sh; and the upgrade path: a database made by migrations
 * 001-006 with history in it is migrated by 008, and /decisions and the
 * reporting views read the same totals afterwards. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <glob.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "catalog.h"
#include "catalog_file.h"
#include "catalog_live.h"
#include "log.h"
#include "params.h"
#include "query.h"
#include "store.h"
#include "usage.h"
#include "../unit/seed.h"

static PGconn *admin, *worker, *api;

static PGconn *conn(const char *user, const char *dbname)
{
    char info[512];
    const char *host = getenv("PGHOST");
    const char *db = dbname ? dbname : getenv("PGDATABASE");
    snprintf(info, sizeof info, "host=%s dbname=%s user=%s", host ? host : "/tmp", db ? db : "orchestrator", user);
    PGconn *c = PQconnectdb(info);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect as %s to %s: %s", user, db ? db : "?", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* store_usage_load's hand: a past run into the usage tally. */
static void test_usage_note(void *u, int wf, double cost, time_t at) { usage_note(u, wf, cost, at); }

static void sql(PGconn *c, const char *text)
{
    PGresult *r = PQexec(c, text);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %.300s: %s", text, PQresultErrorMessage(r));
    PQclear(r);
}

/* The SQLSTATE of a statement expected to fail. */
static void sql_fails(PGconn *c, const char *text, const char *state)
{
    PGresult *r = PQexec(c, text);
    ExecStatusType st = PQresultStatus(r);
    const char *got = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || !got || strcmp(got, state) != 0)
        fail_msg("expected SQLSTATE %s from %s, got %s", state, text, got ? got : "success");
    PQclear(r);
}

static long long value(PGconn *c, const char *text)
{
    PGresult *r = PQexec(c, text);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", text, PQresultErrorMessage(r));
    long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* The single text value of a query (caller frees). */
static char *text_of(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("query failed: %s: %s", q, PQresultErrorMessage(r));
    char *s = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

#define SEED_NAMES "('crypto-aggressive-scan','crypto-normal-scan','crypto-light-monitoring','forex-london-session'," \
                   "'forex-newyork-session','forex-asia-session','health-monitor-check','deep-market-analysis')"

static int reset(void **state)
{
    (void)state;
    store_lease_forget(worker);
    sql(admin, "TRUNCATE control_commands, triggers, probes, decisions, replay_runs, decision_gaps, workers, "
               "history_decision_totals, history_trigger_totals, history_llm_totals, history_result_totals "
               "RESTART IDENTITY CASCADE");
    sql(admin, "UPDATE leader_lease SET epoch = 0, holder = NULL, backend_pid = NULL, acquired_at = NULL, "
               "renewed_at = NULL, expires_at = NULL, released_at = NULL");
    sql(admin, "DELETE FROM workflow_state WHERE workflow NOT IN " SEED_NAMES);
    sql(admin, "DELETE FROM workflows WHERE name NOT IN " SEED_NAMES);
    sql(admin, "UPDATE workflows SET present_in_catalog = true");
    sql(admin, "UPDATE worker_state SET catalog = '{}', n8n = '{}', learning = '{}'");
    seed_install();
    return 0;
}

/* Put the catalog of text in force in the registry, as a reload does. */
static void install(const char *text, struct catalog_live *cl)
{
    struct catalog_file *f = malloc(sizeof *f);
    char err[CATALOG_FILE_ERR_MAX];
    assert_non_null(f);
    if (catalog_file_parse(text, strlen(text), "test.json", f, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(catalog_install(&f->cat, err, sizeof err), 0);
    memset(cl, 0, sizeof *cl);
    snprintf(cl->path, sizeof cl->path, "test.json");
    snprintf(cl->hash, sizeof cl->hash, "%s", f->hash);
    cl->workflows = cl->enabled = f->cat.n;
    cl->loaded_at = time(NULL);
    free(f);
}

static const char CUSTOM[] =
    "{\"workflows\":["
    "{\"name\":\"btc-momentum\",\"title\":\"BTC momentum\",\"market\":\"crypto\",\"intensity\":\"normal\","
    " \"needs\":[\"dexscreener\"],\"parameters\":{\"symbols\":[\"BTC\"]},\"cost\":2,\"expects_result\":true,"
    " \"timeout_seconds\":5,\"claims\":true},"
    "{\"name\":\"fx/london-breakout\",\"market\":\"forex\",\"sessions\":[\"london\"],\"concurrency\":\"forbid\"},"
    "{\"name\":\"sol-memes\",\"market\":\"crypto\",\"intensity\":\"aggressive\",\"max_runs_per_day\":3}]}";

/* The worker writes the catalog in force; a reload adds and removes rows,
 * the history keeps its names, a reload command is closed with it. */
static void catalog_upserted_and_reloaded(void **state)
{
    (void)state;
    struct store_lease seen;
    assert_int_equal(store_lease_take(worker, "w1", 15, &seen), 1);    /* fenced: the leader's session */
    struct catalog_live cl;
    install(CUSTOM, &cl);
    assert_int_equal(catalog_live_sync(&cl, worker, 1, 0, NULL, NULL), 0);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE present_in_catalog"), 3);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE NOT present_in_catalog"), 8);  /* the seed's */
    assert_int_equal(value(admin, "SELECT catalog_order FROM workflows WHERE name = 'sol-memes'"), 2);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE name = 'btc-momentum' AND market = 'crypto' "
                                  "AND intensity = 'normal' AND needs = '{dexscreener}' AND cost = 2 AND claims "
                                  "AND expects_result AND timeout_seconds = 5 AND parameters->'symbols'->>0 = 'BTC'"), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE name = 'fx/london-breakout' AND sessions = '{london}' "
                                  "AND concurrency = 'forbid' AND NOT claims AND title = 'fx/london-breakout'"), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflow_state WHERE workflow IN "
                                  "('btc-momentum','fx/london-breakout','sol-memes')"), 3);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflow_state WHERE workflow = 'fx/london-breakout' "
                                  "AND concurrency = 'forbid'"), 1);
    assert_int_equal(value(admin, "SELECT (catalog->>'workflows')::int FROM worker_state"), 3);
    /* history of a workflow the reload will remove */
    sql(admin, "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
               "next_decision_at) VALUES ('c', 'crypto', 'aggressive', 'fallback', 'r', '{}', '{}', 'london', 60, now())");
    sql(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status) "
               "VALUES (1, 'sol-memes', 'orch-1-sol-memes', '{}', 'sent')");
    char *first = text_of(admin, "SELECT first_seen FROM workflows WHERE name = 'btc-momentum'");
    /* a reload asked by a command: sol-memes removed, eth added, in one transaction with the command */
    PGconn *apic = conn("orch_api", NULL);
    sql(apic, "INSERT INTO control_commands (command) VALUES ('reload_catalog')");
    sql(apic, "INSERT INTO control_commands (command) VALUES ('reload_catalog')");
    PQfinish(apic);
    install("{\"workflows\":[{\"name\":\"eth-scan\",\"market\":\"crypto\"},"
            "{\"name\":\"btc-momentum\",\"market\":\"crypto\",\"cost\":3},"
            "{\"name\":\"fx/london-breakout\",\"market\":\"forex\"}]}", &cl);
    long long pending;
    assert_int_equal(store_reloads_pending(worker, &pending), 0);
    assert_int_equal(pending, 2);
    assert_int_equal(catalog_live_sync(&cl, worker, 1, 2, "done", "reloaded: 3 workflows"), 0);
    assert_int_equal(value(admin, "SELECT count(*) FROM control_commands WHERE status = 'done' "
                                  "AND result = 'reloaded: 3 workflows' AND processed_at IS NOT NULL"), 2);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE present_in_catalog"), 3);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE name = 'sol-memes' AND NOT present_in_catalog "
                                  "AND catalog_order IS NULL"), 1);
    assert_int_equal(value(admin, "SELECT cost FROM workflows WHERE name = 'btc-momentum'"), 3);
    assert_int_equal(value(admin, "SELECT catalog_order FROM workflows WHERE name = 'eth-scan'"), 0);
    char *again = text_of(admin, "SELECT first_seen FROM workflows WHERE name = 'btc-momentum'");
    assert_string_equal(first, again);                                  /* first_seen kept */
    free(first);
    free(again);
    /* the removed workflow's history still reads, by name */
    assert_int_equal(value(admin, "SELECT triggers FROM workflow_catalog WHERE name = 'sol-memes'"), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM trigger_outcomes WHERE workflow = 'sol-memes'"), 1);
    /* a reload that failed: only the status and the command, nothing else */
    sql(admin, "INSERT INTO control_commands (command) VALUES ('reload_catalog')");
    snprintf(cl.error, sizeof cl.error, "test.json: workflows[0]: field \"name\": required");
    assert_int_equal(catalog_live_sync(&cl, worker, 0, 3, "failed", cl.error), 0);
    assert_int_equal(value(admin, "SELECT count(*) FROM control_commands WHERE id = 3 AND status = 'failed' "
                                  "AND result LIKE 'test.json: workflows[0]%'"), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM worker_state WHERE catalog->'error'->>'message' "
                                  "LIKE 'test.json: workflows[0]: field \"name\": required'"), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE present_in_catalog"), 3);
}

/* Only the leader writes the catalog: a worker whose lease was taken is fenced. */
static void catalog_writes_are_fenced(void **state)
{
    (void)state;
    PGconn *w2 = conn("orch_worker", NULL);
    assert_non_null(w2);
    struct store_lease seen;
    assert_int_equal(store_lease_take(worker, "w1", 15, &seen), 1);
    sql(admin, "UPDATE leader_lease SET expires_at = now() - interval '1 second'");
    assert_int_equal(store_lease_take(w2, "w2", 15, &seen), 1);
    struct catalog_live cl;
    install(CUSTOM, &cl);
    (void)store_fenced();
    assert_int_equal(catalog_live_sync(&cl, worker, 1, 0, NULL, NULL), -1);
    assert_int_equal(store_fenced(), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE name = 'btc-momentum'"), 0);
    assert_int_equal(catalog_live_sync(&cl, w2, 1, 0, NULL, NULL), 0);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE name = 'btc-momentum'"), 1);
    PQfinish(w2);
}

/* The workflows table replaces the CHECK lists: a trigger or a state row
 * must name a workflow of it; its words are checked. */
static void triggers_reference_workflows(void **state)
{
    (void)state;
    sql(admin, "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
               "next_decision_at) VALUES ('c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'london', 60, now())");
    sql_fails(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload) "
                     "VALUES (1, 'moon-scan', 'k1', '{}')", "23503");
    sql_fails(admin, "INSERT INTO workflow_state (workflow) VALUES ('moon-scan')", "23503");
    sql_fails(admin, "INSERT INTO workflows (name, title, market) VALUES ('bad name', 't', 'crypto')", "23514");
    sql_fails(admin, "INSERT INTO workflows (name, title, market) VALUES ('x', 't', 'stocks')", "23514");
    sql_fails(admin, "INSERT INTO workflows (name, title, market, sessions) VALUES ('x', 't', 'forex', '{paris}')", "23514");
    sql_fails(admin, "INSERT INTO workflows (name, title, market, timeout_seconds) VALUES ('x', 't', 'forex', 3)", "23514");
    sql_fails(admin, "INSERT INTO control_commands (command) VALUES ('reload')", "23514");
    sql(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload) "
               "VALUES (1, 'crypto-normal-scan', 'k2', '{}')");
    /* a workflow with history cannot be deleted: it is marked not present instead */
    sql_fails(admin, "DELETE FROM workflows WHERE name = 'crypto-normal-scan'", "23503");
    /* the API reads, and cannot write */
    PGconn *a = conn("orch_api", NULL);
    assert_true(value(a, "SELECT count(*) FROM workflows") >= 8);
    sql_fails(a, "UPDATE workflows SET enabled = false", "42501");
    PQfinish(a);
}

/* The replay adds the rows of its catalog's names without touching the live catalog. */
static void replay_rows_not_present(void **state)
{
    (void)state;
    struct catalog_live cl;
    install(CUSTOM, &cl);
    char *entries = catalog_live_entries();
    assert_non_null(entries);
    assert_int_equal(store_catalog_ensure(worker, entries), 0);
    assert_int_equal(store_catalog_ensure(worker, entries), 0);          /* again: nothing */
    free(entries);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE name IN ('btc-momentum','sol-memes') "
                                  "AND NOT present_in_catalog"), 2);
    assert_int_equal(value(admin, "SELECT count(*) FROM workflows WHERE present_in_catalog"), 8);
}

/* The limits' memory: the live runs of the last 24 hours, not skipped, not a replay's. */
static void usage_loaded_from_history(void **state)
{
    (void)state;
    sql(admin, "INSERT INTO replay_runs (seed) VALUES (1)");
    sql(admin, "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, session, "
               "next_seconds, next_decision_at, run_id) SELECT 'c', now(), 'crypto', 'normal', 'fallback', 'r', '{}', "
               "'{}', 'london', 60, now(), CASE WHEN i = 4 THEN 1 END FROM generate_series(1, 4) i");
    sql(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, created_at) VALUES "
               "(1, 'crypto-normal-scan', 'a', '{}', 'sent', now() - interval '2 hours'), "
               "(2, 'crypto-normal-scan', 'b', '{}', 'failed', now() - interval '10 minutes'), "
               "(2, 'deep-market-analysis', 'c', '{}', 'skipped', now()), "
               "(3, 'forex-london-session', 'd', '{}', 'sent', now() - interval '25 hours'), "
               "(4, 'crypto-normal-scan', 'e', '{}', 'sent', now())");
    sql(admin, "UPDATE workflows SET cost = 2.5 WHERE name = 'crypto-normal-scan'");
    struct usage u;
    assert_int_equal(usage_init(&u), 0);
    usage_clear(&u);
    assert_int_equal(store_usage_load(worker, test_usage_note, &u), 2);
    struct usage_tally *t = malloc(sizeof *t);
    usage_tally(&u, time(NULL), t);
    assert_int_equal(t->runs_24h[WF_CRYPTO_NORMAL], 2);
    assert_int_equal(t->runs_24h[WF_DEEP_ANALYSIS], 0);
    assert_int_equal(t->runs_24h[WF_FOREX_LONDON], 0);
    assert_true(t->last_at[WF_CRYPTO_NORMAL] > time(NULL) - 700);
    assert_true(t->cost_1h > 2.49 && t->cost_1h < 2.51);             /* the run of 10 minutes ago */
    free(t);
    usage_free(&u);
}

/* A workflow's own timeout, and results expected only of the ones that post them. */
static void timeouts_per_workflow(void **state)
{
    (void)state;
    sql(admin, "UPDATE workflows SET timeout_seconds = 5 WHERE name = 'crypto-light-monitoring'");
    sql(admin, "UPDATE workflows SET expects_result = false WHERE name = 'crypto-normal-scan'");
    sql(admin, "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
               "next_decision_at) VALUES ('c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'london', 60, now())");
    sql(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, started_at) VALUES "
               "(1, 'crypto-light-monitoring', 'a', '{}', 'sent', now() - interval '10 seconds'), "
               "(1, 'crypto-aggressive-scan', 'b', '{}', 'sent', now() - interval '10 seconds'), "
               "(1, 'crypto-normal-scan', 'c', '{}', 'sent', now() - interval '2 hours'), "
               "(1, 'health-monitor-check', 'd', '{}', 'sent', now() - interval '2 hours')");
    assert_int_equal(store_time_out(worker, 1800, 1), 2);
    assert_int_equal(value(admin, "SELECT count(*) FROM triggers WHERE idempotency_key = 'a' AND outcome = 'timed_out' "
                                  "AND error LIKE '%no end known after 5 s%'"), 1);
    assert_int_equal(value(admin, "SELECT count(*) FROM triggers WHERE idempotency_key = 'd' AND outcome = 'timed_out'"), 1);
    /* no result expected of crypto-normal-scan, and no execution id to follow: not timed out */
    assert_int_equal(value(admin, "SELECT count(*) FROM triggers WHERE outcome IS NULL"), 2);
}

/* The API reads the catalog from the table: /workflows/available and the
 * per-workflow series of /status and /metrics (the removed together). */
static void api_reads_the_table(void **state)
{
    (void)state;
    struct store_lease seen;
    assert_int_equal(store_lease_take(worker, "w1", 15, &seen), 1);
    struct catalog_live cl;
    install(CUSTOM, &cl);
    assert_int_equal(catalog_live_sync(&cl, worker, 1, 0, NULL, NULL), 0);
    sql(admin, "INSERT INTO decisions (cycle_id, mode, intensity, source, reason, inputs, menu, session, next_seconds, "
               "next_decision_at) VALUES ('c', 'crypto', 'normal', 'fallback', 'r', '{}', '{}', 'london', 60, now())");
    sql(admin, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, attempts) VALUES "
               "(1, 'btc-momentum', 'a', '{}', 'sent', 2), (1, 'crypto-normal-scan', 'b', '{}', 'sent', 1)");
    sql(admin, "UPDATE worker_state SET n8n = '{\"api_configured\":true,\"discovered\":[{\"path\":\"new-one\","
               "\"entry\":{\"name\":\"new-one\",\"market\":\"crypto\"}}],\"catalog\":{\"missing\":[\"sol-memes\"],"
               "\"inactive\":[]}}', learning = '{\"workflows\":{\"btc-momentum\":{\"runs\":3,\"success\":0.8}}}'");
    json_object *doc = NULL;
    assert_int_equal(query_workflows(api, &doc), 0);
    json_object *wfs, *disc, *removed, *n8n, *cat;
    assert_true(json_object_object_get_ex(doc, "workflows", &wfs));
    assert_int_equal(json_object_array_length(wfs), 3);
    json_object *w0 = json_object_array_get_idx(wfs, 0), *v;
    assert_true(json_object_object_get_ex(w0, "name", &v));
    assert_string_equal(json_object_get_string(v), "btc-momentum");
    assert_true(json_object_object_get_ex(w0, "cost", &v));
    assert_int_equal(json_object_get_int(v), 2);
    assert_true(json_object_object_get_ex(w0, "last_run", &v) && json_object_is_type(v, json_type_object));
    assert_true(json_object_object_get_ex(w0, "learned", &v) && json_object_is_type(v, json_type_object));
    assert_true(json_object_object_get_ex(w0, "n8n_status", &v));
    assert_string_equal(json_object_get_string(v), "unknown");
    assert_true(json_object_object_get_ex(doc, "discovered", &disc));
    assert_int_equal(json_object_array_length(disc), 1);
    assert_true(json_object_object_get_ex(doc, "removed", &removed));
    assert_int_equal(json_object_array_length(removed), 8);           /* the seed's, not in this catalog */
    assert_true(json_object_object_get_ex(doc, "n8n", &n8n));
    assert_false(json_object_object_get_ex(n8n, "discovered", NULL));
    assert_true(json_object_object_get_ex(doc, "catalog", &cat));
    json_object_put(doc);
    struct query_state st;
    assert_int_equal(query_state(api, &st), 0);
    assert_int_equal(st.nwf, 3);
    assert_string_equal(st.wf[0].workflow, "btc-momentum");
    assert_int_equal(st.wf[0].retries, 1);
    int removed_seen = 0;
    for (int i = 0; i < st.ntrig; i++)
        removed_seen += strcmp(st.trig[i].workflow, QUERY_REMOVED) == 0 && st.trig[i].n == 1;
    assert_int_equal(removed_seen, 1);
    query_state_clear(&st);
}

/* ---- the upgrade path ------------------------------------------------------------- */

/* Apply sql/<from>..<to> (by number) to c, each file in one transaction. */
static void migrate(PGconn *c, int from, int to)
{
    glob_t g;
    assert_int_equal(glob(TOP_SRCDIR "/sql/[0-9][0-9][0-9]_*.sql", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        int v = (int)strtol(base, NULL, 10);     /* three digits, checked by the glob */
        if (v < from || v > to)
            continue;
        FILE *f = fopen(g.gl_pathv[i], "rb");
        assert_non_null(f);
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        sql(c, "BEGIN");
        sql(c, buf);
        sql(c, "COMMIT");
    }
    globfree(&g);
}

/* Everything a person reads of the history, as one text: the reporting views, and the totals /decisions shows. */
static char *history_totals(PGconn *c)
{
    return text_of(c,
        "SELECT concat_ws(E'\\n', "
        " (SELECT string_agg(format('%s %s %s %s %s %s', day, mode, decisions, by_llm, by_fallback, forced), ';' "
        "                    ORDER BY day, mode) FROM decisions_per_day), "
        " (SELECT string_agg(format('%s %s %s %s %s', mode, session, acted, succeeded, success_rate_pct), ';' "
        "                    ORDER BY mode, session) FROM success_by_mode_session), "
        " (SELECT string_agg(format('%s %s %s %s %s %s %s', workflow, status, triggers, executions_succeeded, "
        "                           executions_failed, opportunities, retries), ';' ORDER BY workflow, status) "
        "    FROM trigger_outcomes), "
        " (SELECT string_agg(format('%s %s %s %s %s %s %s', day, workflow, started, succeeded, failed, skipped, "
        "                           opportunities), ';' ORDER BY day, workflow) FROM executions_per_day), "
        " (SELECT string_agg(format('%s %s %s', day, gaps, missed_decisions), ';' ORDER BY day) "
        "    FROM decision_gaps_per_day), "
        " (SELECT string_agg(format('%s', t), ';') FROM (SELECT * FROM llm_agreement_per_day ORDER BY 1) t), "
        " (SELECT format('decisions %s triggers %s results %s', (SELECT count(*) FROM decisions WHERE run_id IS NULL), "
        "         (SELECT count(*) FROM triggers t JOIN decisions d ON d.id = t.decision_id WHERE d.run_id IS NULL), "
        "         (SELECT count(*) FROM results))))");
}

/* A database made by 001-006, with live and replay history in it,
 * migrated by 008: nothing of the history changes. */
static void upgrade_keeps_history(void **state)
{
    (void)state;
    sql(admin, "DROP DATABASE IF EXISTS orch_upgrade");
    sql(admin, "CREATE DATABASE orch_upgrade");
    PGconn *u = conn(getenv("PGUSER") ? getenv("PGUSER") : "postgres", "orch_upgrade");
    assert_non_null(u);
    migrate(u, 1, 6);
    assert_int_equal(value(u, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'workflows'"), 0);
    /* two weeks of history: decisions of every mode, source and status, their triggers of the eight
     * workflows with every status and outcome, results, LLM calls, a gap and a replay run */
    sql(u, "INSERT INTO replay_runs (seed) VALUES (1)");
    sql(u, "INSERT INTO decisions (cycle_id, decided_at, mode, intensity, source, reason, inputs, menu, session, "
           "next_seconds, next_decision_at, status, agreement, llm_outcome, run_id) "
           "SELECT 'c' || i, now() - (i * 37 || ' minutes')::interval, "
           "       (ARRAY['crypto','forex','hybrid','standby'])[1 + i % 4], (ARRAY['aggressive','normal','light'])[1 + i % 3], "
           "       (ARRAY['llm','fallback','forced'])[1 + i % 3], 'r', '{}', '{}', "
           "       (ARRAY['london','newyork','tokyo','london_newyork'])[1 + i % 4], 300, now(), "
           "       (ARRAY['succeeded','partial','failed','no_action','dry_run','interrupted'])[1 + i % 6], "
           "       CASE WHEN i % 3 = 0 THEN i % 2 = 0 END, CASE WHEN i % 3 = 0 THEN 'ok' ELSE 'not_configured' END, "
           "       CASE WHEN i % 10 = 9 THEN 1 END "
           "  FROM generate_series(1, 500) i");
    sql(u, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload, status, attempts, created_at, outcome, "
           "                      opportunities, duration_ms, latency_ms, finished_at, result_at) "
           "SELECT d.id, (ARRAY['crypto-aggressive-scan','crypto-normal-scan','crypto-light-monitoring',"
           "              'forex-london-session','forex-newyork-session','forex-asia-session','health-monitor-check',"
           "              'deep-market-analysis'])[1 + (d.id + k) % 8], 'orch-' || d.id || '-' || k, '{}', "
           "       (ARRAY['sent','failed','skipped','retrying','unavailable','unknown'])[1 + (d.id * k) % 6], 1 + k, "
           "       d.decided_at, CASE (d.id + k) % 5 WHEN 0 THEN 'succeeded' WHEN 1 THEN 'failed' WHEN 2 THEN 'timed_out' END, "
           "       (d.id + k) % 4, 100 * k, 10 * k, d.decided_at, CASE WHEN (d.id + k) % 5 = 0 THEN d.decided_at END "
           "  FROM decisions d, generate_series(1, 2) k");
    sql(u, "INSERT INTO results (trigger_id, execution_id, status, opportunities, duration_ms, body) "
           "SELECT id, 'e' || id, 'success', opportunities, 50, '{}' FROM triggers WHERE result_at IS NOT NULL");
    sql(u, "INSERT INTO llm_calls (decision_id, provider, model, outcome, prompt_tokens) "
           "SELECT id, 'groq', 'm', 'ok', 1000 FROM decisions WHERE llm_outcome = 'ok'");
    sql(u, "INSERT INTO decision_gaps (gap_from, gap_to, missed, interval_seconds) "
           "VALUES (now() - interval '3 hours', now() - interval '2 hours', 12, 300)");
    char *before = history_totals(u);
    /* what /decisions shows: every live decision with its triggers */
    long long dec = value(u, "SELECT count(*) FROM decisions WHERE run_id IS NULL");
    long long trg = value(u, "SELECT count(*) FROM triggers t JOIN decisions d ON d.id = t.decision_id WHERE d.run_id IS NULL");

    migrate(u, 7, 9);                     /* 008 between the others, as sql/migrate.sh applies them */
    char *after = history_totals(u);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* the eight names became rows, present, with first_seen from their history; the references hold */
    assert_int_equal(value(u, "SELECT count(*) FROM workflows WHERE present_in_catalog"), 8);
    assert_int_equal(value(u, "SELECT count(*) FROM workflows w WHERE first_seen = "
                              "(SELECT min(created_at) FROM triggers t WHERE t.workflow = w.name)"), 8);
    assert_int_equal(value(u, "SELECT count(*) FROM pg_constraint WHERE conname IN "
                              "('triggers_workflow_fkey','workflow_state_workflow_fkey')"), 2);
    assert_int_equal(value(u, "SELECT sum(triggers) FROM workflow_catalog"), trg);
    sql_fails(u, "INSERT INTO triggers (decision_id, workflow, idempotency_key, payload) VALUES (1, 'x', 'k', '{}')",
              "23503");
    /* the API's own reader: every live decision, newest first, with all its triggers */
    PGconn *ua = conn("orch_api", "orch_upgrade");
    assert_non_null(ua);
    long long seen = 0, seen_trg = 0, before_id = 0;
    for (int page = 0; page < 100; page++) {
        struct params_decisions p = { .limit = 200, .before = before_id, .mode = -1, .detail = 0, .id = 0 };
        json_object *list = NULL;
        long long next = 0;
        assert_int_equal(query_decisions(ua, &p, &list, &next), 0);
        size_t n = json_object_array_length(list);
        for (size_t i = 0; i < n; i++) {
            json_object *t;
            assert_true(json_object_object_get_ex(json_object_array_get_idx(list, i), "triggers", &t));
            seen_trg += (long long)json_object_array_length(t);
        }
        seen += (long long)n;
        json_object_put(list);
        if (!next)
            break;
        before_id = next;
    }
    assert_int_equal(seen, dec);
    assert_int_equal(seen_trg, trg);
    struct query_state st;
    assert_int_equal(query_state(ua, &st), 0);
    assert_int_equal(st.decisions, dec);
    assert_int_equal(st.nwf, 8);
    query_state_clear(&st);
    PQfinish(ua);
    PQfinish(u);
    sql(admin, "DROP DATABASE orch_upgrade");
}

int main(void)
{
    seed_install();
    log_init("test_db_catalog", LOG_ERROR);
    const char *super = getenv("PGUSER") ? getenv("PGUSER") : "postgres";
    admin = conn(super, NULL);
    worker = conn("orch_worker", NULL);
    api = conn("orch_api", NULL);
    if (!admin || !worker || !api) {
        fprintf(stderr, "test_db_catalog: no database: run through tests/db/run.sh\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(catalog_upserted_and_reloaded, reset),
        cmocka_unit_test_setup(catalog_writes_are_fenced, reset),
        cmocka_unit_test_setup(triggers_reference_workflows, reset),
        cmocka_unit_test_setup(replay_rows_not_present, reset),
        cmocka_unit_test_setup(usage_loaded_from_history, reset),
        cmocka_unit_test_setup(timeouts_per_workflow, reset),
        cmocka_unit_test_setup(api_reads_the_table, reset),
        cmocka_unit_test_setup(upgrade_keeps_history, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, reset);
    PQfinish(api);
    PQfinish(worker);
    PQfinish(admin);
    return rc;
}
