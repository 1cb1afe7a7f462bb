/* store_watch: the watch's state, its figures in worker_state and the
 * live scorecard (sql/009_watch.sql); see store.h. */
#include "config.h"
#include "store.h"
#include "store_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_WATCH_LOAD[] =
    "SELECT state::text AS state, budgets::text AS budgets FROM watch_state WHERE id = 1";
static const char SQL_WATCH_SAVE[] =
    "UPDATE watch_state SET state = coalesce($1::jsonb, state), budgets = $2::jsonb, saved_at = now() WHERE id = 1";
static const char SQL_WATCH_STATUS[] =
    "UPDATE worker_state SET watch = $1::jsonb WHERE id = 1";
static const char SQL_WATCH_DAY[] =
    "INSERT INTO watch_days (market, day, windows, top, covered, runs, wakes, cron5_runs, equal_runs_covered, "
    "                        latency_median_minutes) "
    "VALUES ($1, (to_timestamp($2::bigint) AT TIME ZONE 'UTC')::date, $3::int, $4::int, $5::int, $6::int, $7::int, "
    "        $8::int, $9::float8, nullif($10::float8, -1)) "
    "ON CONFLICT (market, day) DO UPDATE SET windows = EXCLUDED.windows, top = EXCLUDED.top, "
    "       covered = EXCLUDED.covered, runs = EXCLUDED.runs, wakes = EXCLUDED.wakes, "
    "       cron5_runs = EXCLUDED.cron5_runs, equal_runs_covered = EXCLUDED.equal_runs_covered, "
    "       latency_median_minutes = EXCLUDED.latency_median_minutes, updated_at = now()";

int store_watch_load(PGconn *c, char **state, char **budgets)
{
    *state = *budgets = NULL;
    PGresult *r = store_run(c, "watch_load", SQL_WATCH_LOAD, 0, NULL);
    if (!r)
        return -1;
    int cs = store_col(r, "state"), cb = store_col(r, "budgets");
    if (PQntuples(r) == 1) {
        if (!store_null(r, 0, cs))
            *state = strdup(PQgetvalue(r, 0, cs));
        if (!store_null(r, 0, cb))
            *budgets = strdup(PQgetvalue(r, 0, cb));
    }
    PQclear(r);
    return 0;
}

int store_watch_save(PGconn *c, const char *state, const char *budgets)
{
    const char *v[] = { state, budgets };
    return store_cmd(c, "watch_save", SQL_WATCH_SAVE, 2, v);
}

int store_watch_status(PGconn *c, const char *json)
{
    const char *v[] = { json };
    return store_cmd(c, "watch_status", SQL_WATCH_STATUS, 1, v);
}

int store_watch_day(PGconn *c, const struct store_watch_day *d)
{
    char day[24], n[8][24];
    snprintf(day, sizeof day, "%lld", (long long)d->day);
    snprintf(n[0], sizeof n[0], "%d", d->windows);
    snprintf(n[1], sizeof n[1], "%d", d->top);
    snprintf(n[2], sizeof n[2], "%d", d->covered);
    snprintf(n[3], sizeof n[3], "%d", d->runs);
    snprintf(n[4], sizeof n[4], "%d", d->wakes);
    snprintf(n[5], sizeof n[5], "%d", d->cron5_runs);
    snprintf(n[6], sizeof n[6], "%.4f", d->equal_runs_covered);
    snprintf(n[7], sizeof n[7], "%.4f", d->latency_median_minutes >= 0 ? d->latency_median_minutes : -1.0);
    const char *v[] = { d->market, day, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7] };
    return store_cmd(c, "watch_day", SQL_WATCH_DAY, 10, v);
}
