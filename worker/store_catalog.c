/* store_catalog: the catalog in the database (sql/008_catalog.sql); see store.h. */
#include "config.h"
#include "store.h"
#include "store_sql.h"
#include "catalog.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entries of a catalog as rows (named, from its JSON). */
#define STORE_CATALOG_ROWS \
    "  FROM jsonb_to_recordset($1::jsonb) AS x(name text, title text, market text, intensity text, " \
    "       sessions jsonb, needs jsonb, concurrency text, parameters jsonb, cost double precision, " \
    "       min_interval_seconds integer, max_runs_per_day integer, expects_result boolean, " \
    "       timeout_seconds integer, enabled boolean, claims boolean, \"order\" integer) "
#define STORE_CATALOG_COLS \
    "name, title, market, intensity, sessions, needs, concurrency, parameters, cost, min_interval_seconds, " \
    "max_runs_per_day, expects_result, timeout_seconds, enabled, claims, catalog_order, present_in_catalog"
#define STORE_CATALOG_VALUES(present) \
    "SELECT x.name, x.title, x.market, x.intensity, " \
    "       ARRAY(SELECT jsonb_array_elements_text(x.sessions)), ARRAY(SELECT jsonb_array_elements_text(x.needs)), " \
    "       x.concurrency, x.parameters, x.cost, x.min_interval_seconds, x.max_runs_per_day, x.expects_result, " \
    "       x.timeout_seconds, x.enabled, x.claims, x.\"order\", " present " "

static const char SQL_CATALOG_UPSERT[] =
    "INSERT INTO workflows (" STORE_CATALOG_COLS ") "
    STORE_CATALOG_VALUES("true") STORE_CATALOG_ROWS
    "ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, market = EXCLUDED.market, "
    "       intensity = EXCLUDED.intensity, sessions = EXCLUDED.sessions, needs = EXCLUDED.needs, "
    "       concurrency = EXCLUDED.concurrency, parameters = EXCLUDED.parameters, cost = EXCLUDED.cost, "
    "       min_interval_seconds = EXCLUDED.min_interval_seconds, max_runs_per_day = EXCLUDED.max_runs_per_day, "
    "       expects_result = EXCLUDED.expects_result, timeout_seconds = EXCLUDED.timeout_seconds, "
    "       enabled = EXCLUDED.enabled, claims = EXCLUDED.claims, catalog_order = EXCLUDED.catalog_order, "
    "       present_in_catalog = true, last_seen = now(), updated_at = now()";
static const char SQL_CATALOG_ABSENT[] =
    "UPDATE workflows SET present_in_catalog = false, catalog_order = NULL, updated_at = now() "
    " WHERE present_in_catalog "
    "   AND name NOT IN (SELECT e->>'name' FROM jsonb_array_elements($1::jsonb) e)";
static const char SQL_CATALOG_STATES[] =
    "INSERT INTO workflow_state (workflow, concurrency) "
    "SELECT e->>'name', e->>'concurrency' FROM jsonb_array_elements($1::jsonb) e "
    "ON CONFLICT (workflow) DO NOTHING";
static const char SQL_CATALOG_STATUS[] =
    "UPDATE worker_state SET catalog = $1::jsonb WHERE id = 1";
static const char SQL_CATALOG_ENSURE[] =
    "INSERT INTO workflows (" STORE_CATALOG_COLS ") "
    STORE_CATALOG_VALUES("false") STORE_CATALOG_ROWS
    "ON CONFLICT (name) DO NOTHING";
/* every reload asked up to $1 is answered by this one */
static const char SQL_RELOADS_DONE[] =
    "UPDATE control_commands SET status = $2, result = $3, processed_at = now(), "
    "       accepted_at = coalesce(accepted_at, now()) "
    " WHERE command = 'reload_catalog' AND status = 'pending' AND id <= $1::bigint";
static const char SQL_RELOADS_PENDING[] =
    "SELECT coalesce(max(id), 0) AS id FROM control_commands WHERE command = 'reload_catalog' AND status = 'pending'";
static const char SQL_USAGE_LOAD[] =
    "SELECT t.workflow, extract(epoch FROM t.created_at)::bigint AS created, w.cost "
    "  FROM triggers t JOIN decisions d ON d.id = t.decision_id JOIN workflows w ON w.name = t.workflow "
    " WHERE d.run_id IS NULL AND t.created_at > now() - interval '24 hours' AND t.status <> 'skipped' "
    " ORDER BY t.created_at, t.id";

int store_catalog_sync(PGconn *c, const struct store_catalog *sc)
{
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    const char *ev[] = { sc->entries };
    const char *sv[] = { sc->status };
    if (sc->entries && (store_cmd(c, "catalog_upsert", SQL_CATALOG_UPSERT, 1, ev) < 0 ||
                        store_cmd(c, "catalog_absent", SQL_CATALOG_ABSENT, 1, ev) < 0 ||
                        store_cmd(c, "catalog_states", SQL_CATALOG_STATES, 1, ev) < 0))
        goto fail;
    if (sc->status && store_cmd(c, "catalog_status", SQL_CATALOG_STATUS, 1, sv) < 0)
        goto fail;
    char id[24];
    snprintf(id, sizeof id, "%lld", sc->command_id);
    const char *cv[] = { id, sc->command_status, sc->command_result };
    if (sc->command_id > 0 && store_cmd(c, "reloads_done", SQL_RELOADS_DONE, 3, cv) < 0)
        goto fail;
    return store_commit(c, nested);
fail:
    store_rollback(c, nested);
    return -1;
}

int store_reloads_pending(PGconn *c, long long *id)
{
    *id = 0;
    PGresult *r = store_run(c, "reloads_pending", SQL_RELOADS_PENDING, 0, NULL);
    if (!r)
        return -1;
    *id = store_int(r, 0, store_col(r, "id"));
    PQclear(r);
    return 0;
}

int store_catalog_ensure(PGconn *c, const char *entries)
{
    const char *v[] = { entries };
    return store_cmd(c, "catalog_ensure", SQL_CATALOG_ENSURE, 1, v);
}

long store_usage_load(PGconn *c, void (*note)(void *arg, int wf, double cost, time_t at), void *arg)
{
    PGresult *r = store_run(c, "usage_load", SQL_USAGE_LOAD, 0, NULL);
    if (!r)
        return -1;
    long n = 0;
    static const char *const names[] = { "workflow", "created", "cost" };
    int col[3];
    store_cols(r, names, 3, col);
    for (int i = 0; i < PQntuples(r); i++) {
        int w = catalog_slot(store_text(r, i, col[0]));
        if (w < 0)
            continue;
        note(arg, w, strtod(store_text(r, i, col[2]), NULL), (time_t)store_int(r, i, col[1]));
        n++;
    }
    PQclear(r);
    return n;
}
