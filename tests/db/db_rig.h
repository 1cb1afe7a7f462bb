/* tests/db/db_rig.h: what the database test programs of the worker's store
 * share (test_db, test_db_deliver): the connections, SQL helpers with $n
 * parameters, the reset before each test, a snapshot and its decision. */
#ifndef DB_RIG_H
#define DB_RIG_H

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

#include <json-c/json.h>
#include <libpq-fe.h>

#include "act.h"
#include "catalog.h"
#include "db.h"
#include "decide.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "store_sql.h"
#include "../unit/seed.h"
#include "db_conn.h"

static PGconn *admin;     /* superuser: setup and inspection */
static PGconn *worker;    /* role orch_worker, as the worker runs */

static inline int reset(void **state)
{
    (void)state;
    test_sql(admin, "TRUNCATE control_commands, triggers, probes, decisions, replay_runs, decision_gaps, workers "
                    "RESTART IDENTITY CASCADE");
    test_sql(admin, "UPDATE leader_lease SET epoch = 0, holder = NULL, backend_pid = NULL, acquired_at = NULL, "
                    "renewed_at = NULL, expires_at = NULL, released_at = NULL");
    test_sql(admin, "UPDATE worker_state SET running = true, pid = NULL, heartbeat_at = NULL, "
                    "current_mode = NULL, last_decision_id = NULL, next_decision_at = NULL, sources = '{}'");
    test_sql(admin, "UPDATE workflow_state SET available = true, unavailable_since = NULL, unavailable_reason = NULL, "
                    "circuit = 'closed', consecutive_failures = 0, open_until = NULL, circuit_opened_at = NULL, "
                    "circuit_opens = 0, running = 0, n8n_id = NULL, n8n_name = NULL, n8n_active = NULL, n8n_seen_at = NULL");
    return 0;
}

/* A weekday afternoon in London with New York open and DexScreener healthy. */
static inline void test_snapshot(struct sense_snapshot *s)
{
    seed_snapshot(s);                     /* the sessions, DexScreener, crypto data valid */
    s->now = 1773763200 + 14 * 3600;      /* 2026-03-17 14:00 UTC, a Tuesday */
    s->probes[FEED_DEXSCREENER] = (struct sense_probe){ .configured = 1, .ok = 1, .http_status = 200, .latency_ms = 42 };
    s->probes[FEED_PUMPFUN] = (struct sense_probe){ .configured = 1, .ok = 0, .http_status = 403, .latency_ms = 12 };
    snprintf(s->probes[FEED_PUMPFUN].error, sizeof s->probes[0].error, "HTTP 403");
    s->market.pairs = 3;
    s->market.crypto_volatility = 1.5;
    s->market.volatility = 1.5;
    s->load1 = 0.2;
    s->ncpu = 2;
    s->load_per_core = 0.1;
}

static struct cfg test_cfg = {
    .decision_min_seconds = 60, .decision_max_seconds = 3600,
    .load_high = 0.9, .volatility_high = 3.0, .volatility_low = 0.5,
};

static inline void decide_for(const struct sense_snapshot *s, struct decide_menu *m, struct decide_choice *ch)
{
    char err[200];
    decide_menu_build(&test_cfg, s, m);
    decide_fallback(&test_cfg, s, m, ch);
    assert_int_equal(decide_validate(m, ch, err, sizeof err), 0);
}

#endif
