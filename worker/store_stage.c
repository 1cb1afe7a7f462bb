/* store_stage: the replay's staging tables; see store_stage.h. */
#include "config.h"
#include "store_stage.h"
#include "store_sql.h"
#include "db.h"
#include "log.h"

#include <string.h>

/* The tables are in public (sql/NNN_*.sql). */
static const char *const SQL_STAGE_CREATE[] = {
    "CREATE TEMP TABLE decisions (LIKE public.decisions INCLUDING DEFAULTS)",
    "ALTER TABLE pg_temp.decisions ADD PRIMARY KEY (id)",
    "CREATE TEMP TABLE triggers (LIKE public.triggers INCLUDING DEFAULTS)",
    "ALTER TABLE pg_temp.triggers ADD PRIMARY KEY (id), ADD UNIQUE (idempotency_key)",
    "CREATE INDEX ON pg_temp.triggers (decision_id)",
    "CREATE TEMP TABLE llm_calls (LIKE public.llm_calls INCLUDING DEFAULTS)",
};
const char STORE_STAGE_MOVE_DECISIONS[] =
    "WITH m AS (DELETE FROM pg_temp.decisions WHERE id < $1::bigint RETURNING *) "
    "INSERT INTO public.decisions SELECT * FROM m ORDER BY id";
const char STORE_STAGE_MOVE_TRIGGERS[] =
    "WITH m AS (DELETE FROM pg_temp.triggers WHERE decision_id < $1::bigint RETURNING *) "
    "INSERT INTO public.triggers SELECT * FROM m ORDER BY id";
const char STORE_STAGE_MOVE_LLM_CALLS[] =
    "WITH m AS (DELETE FROM pg_temp.llm_calls WHERE coalesce(decision_id, 0) < $1::bigint RETURNING *) "
    "INSERT INTO public.llm_calls SELECT * FROM m ORDER BY id";
const char STORE_STAGE_DROP[] =
    "DROP TABLE pg_temp.llm_calls, pg_temp.triggers, pg_temp.decisions";
static const char SQL_STAGE_DROP_ANY[] =
    "DROP TABLE IF EXISTS pg_temp.llm_calls, pg_temp.triggers, pg_temp.decisions";
static const char SQL_STAGED[] =
    "SELECT to_regclass('pg_temp.decisions') IS NOT NULL AS staged";
static const char SQL_STAGE_VACUUM[] =
    "VACUUM pg_temp.decisions, pg_temp.triggers, pg_temp.llm_calls";

int store_stage_create(PGconn *c)
{
    if (store_stage_finish(c) < 0)
        return -1;
    for (size_t i = 0; i < sizeof SQL_STAGE_CREATE / sizeof SQL_STAGE_CREATE[0]; i++) {
        if (db_exec(c, SQL_STAGE_CREATE[i]) < 0) {
            if (db_exec(c, SQL_STAGE_DROP_ANY) < 0)
                log_event(LOG_ERROR, "store.stage_left", NULL);
            return -1;
        }
    }
    return 0;
}

int store_stage_finish(PGconn *c)
{
    PGresult *r = store_run(c, "staged", SQL_STAGED, 0, NULL);
    if (!r)
        return -1;
    int staged = PQntuples(r) == 1 && strcmp(store_text(r, 0, store_col(r, "staged")), "t") == 0;
    PQclear(r);
    if (!staged)
        return 0;
    const char *v[] = { STORE_STAGE_ALL };
    if (db_exec(c, "BEGIN") == 0 && store_cmd(c, "move_decisions", STORE_STAGE_MOVE_DECISIONS, 1, v) == 0 &&
        store_cmd(c, "move_triggers", STORE_STAGE_MOVE_TRIGGERS, 1, v) == 0 &&
        store_cmd(c, "move_llm_calls", STORE_STAGE_MOVE_LLM_CALLS, 1, v) == 0 &&
        db_exec(c, STORE_STAGE_DROP) == 0 && db_exec(c, "COMMIT") == 0)
        return 0;
    if (PQtransactionStatus(c) != PQTRANS_IDLE && db_exec(c, "ROLLBACK") < 0)
        log_event(LOG_ERROR, "store.rollback_failed", NULL);
    log_event(LOG_ERROR, "store.batch_lost", "s:detail", "the replay's staged rows could not be moved to the tables");
    if (db_exec(c, SQL_STAGE_DROP_ANY) < 0)
        log_event(LOG_ERROR, "store.stage_left", NULL);
    return -1;
}

int store_stage_vacuum(PGconn *c)
{
    return db_exec(c, SQL_STAGE_VACUUM);
}
