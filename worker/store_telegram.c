/* store_telegram: what the Telegram commands read and write (the
 * getUpdates offset, the control commands they record, the facts /status
 * and /decisions answer with; sql/010_telegram.sql); see store.h. */
#include "config.h"
#include "store.h"
#include "store_sql.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_TG_OFFSET[] =
    "SELECT CASE WHEN telegram_bot_id = $1::bigint THEN telegram_offset ELSE 0 END AS telegram_offset "
    "  FROM worker_state WHERE id = 1";
/* the offset only grows for one bot; another bot's starts afresh */
static const char SQL_TG_ADVANCE[] =
    "UPDATE worker_state SET telegram_offset = CASE WHEN telegram_bot_id = $1::bigint "
    "                                               THEN greatest(telegram_offset, $2::bigint) ELSE $2::bigint END, "
    "       telegram_bot_id = $1::bigint WHERE id = 1";
/* the row a POST to /control/... inserts (fcgi/query.c), requested by the chat */
static const char SQL_TG_COMMAND[] =
    "INSERT INTO control_commands (command, requested_by) VALUES ($1, $2) RETURNING id";
/* today: since UTC midnight */
#define STORE_TG_TODAY "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
#define STORE_TG_DECISION_COLS \
    "d.id, extract(epoch FROM d.decided_at)::bigint AS decided_at, d.mode, d.intensity, d.source, d.status, " \
    "d.wake, (SELECT count(*) FROM triggers t WHERE t.decision_id = d.id) AS workflows"
static const char SQL_TG_STATUS[] =
    "SELECT (SELECT count(*) FROM decisions WHERE run_id IS NULL AND wake = 'event' AND decided_at >= "
    STORE_TG_TODAY ") AS wakes_today, "
    "       (SELECT count(*) FROM decisions WHERE run_id IS NULL AND decided_at >= " STORE_TG_TODAY ") AS decisions_today, "
    "       d.llm_outcome, coalesce(d.llm_provider, '') AS llm_provider, " STORE_TG_DECISION_COLS
    "  FROM (SELECT 1) one "
    "  LEFT JOIN LATERAL (SELECT * FROM decisions WHERE run_id IS NULL ORDER BY id DESC LIMIT 1) d ON true";
static const char SQL_TG_DECISIONS[] =
    "SELECT " STORE_TG_DECISION_COLS
    "  FROM decisions d WHERE d.run_id IS NULL ORDER BY d.id DESC LIMIT $1::int";
static const char SQL_TG_COMMANDS[] =
    "SELECT c.id, c.command, c.status, coalesce(c.result, '') AS result, coalesce(c.decision_id, 0) AS decision_id, "
    "       coalesce(d.mode, '') AS mode, coalesce(d.intensity, '') AS intensity, "
    "       (SELECT count(*) FROM triggers t WHERE t.decision_id = c.decision_id) AS workflows "
    "  FROM control_commands c LEFT JOIN decisions d ON d.id = c.decision_id "
    " WHERE c.id = ANY($1::bigint[])";

/* Column col (store_col) of row i of r into dst (cap bytes), cleaned (""
 * when NULL or no such column). */
static void store_tg_copy(char *dst, size_t cap, const PGresult *r, int i, int col)
{
    utf8_copy_clean(dst, cap, store_text(r, i, col));
}

/* A count in column col (store_col) of row i, as an int in 0..1000000. */
static int store_tg_count(const PGresult *r, int i, int col)
{
    long long n = store_int(r, i, col);
    return n < 0 ? 0 : n > 1000000 ? 1000000 : (int)n;
}

/* Where STORE_TG_DECISION_COLS are in a result (store_tg_decision_find). */
struct store_tg_decision_at {
    int col[8];
};

static void store_tg_decision_find(const PGresult *r, struct store_tg_decision_at *at)
{
    static const char *const names[8] = { "id", "decided_at", "mode", "intensity", "source", "status",
                                          "wake", "workflows" };
    store_cols(r, names, 8, at->col);
}

int store_telegram_offset(PGconn *c, long long bot_id, long long *offset)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", bot_id);
    const char *v[] = { b };
    *offset = 0;
    PGresult *r = store_run(c, "telegram_offset", SQL_TG_OFFSET, 1, v);
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        *offset = store_int(r, 0, store_col(r, "telegram_offset"));
    PQclear(r);
    if (*offset < 0)
        *offset = 0;
    return 0;
}

int store_telegram_advance(PGconn *c, long long bot_id, long long offset)
{
    char b[24], o[24];
    snprintf(b, sizeof b, "%lld", bot_id);
    snprintf(o, sizeof o, "%lld", offset);
    const char *v[] = { b, o };
    return store_cmd(c, "telegram_advance", SQL_TG_ADVANCE, 2, v);
}

int store_telegram_command(PGconn *c, const char *command, const char *requested_by, long long bot_id,
                           long long offset, long long *id)
{
    *id = 0;
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    const char *v[] = { command, requested_by };
    PGresult *r = store_run(c, "telegram_command", SQL_TG_COMMAND, 2, v);
    if (!r) {
        store_rollback(c, nested);
        return -1;
    }
    long long got = PQntuples(r) == 1 ? store_int(r, 0, store_col(r, "id")) : 0;
    PQclear(r);
    if (got <= 0 || store_telegram_advance(c, bot_id, offset) < 0) {
        store_rollback(c, nested);
        return -1;
    }
    if (store_commit(c, nested) < 0)
        return -1;
    *id = got;
    return 0;
}

/* The columns of STORE_TG_DECISION_COLS (at, store_tg_decision_find) in row i into d. */
static void store_tg_decision_row(const PGresult *r, int i, const struct store_tg_decision_at *at,
                                  struct store_tg_decision *d)
{
    const int *col = at->col;
    memset(d, 0, sizeof *d);
    d->id = store_int(r, i, col[0]);
    d->at = (time_t)store_int(r, i, col[1]);
    store_tg_copy(d->mode, sizeof d->mode, r, i, col[2]);
    store_tg_copy(d->intensity, sizeof d->intensity, r, i, col[3]);
    store_tg_copy(d->source, sizeof d->source, r, i, col[4]);
    store_tg_copy(d->status, sizeof d->status, r, i, col[5]);
    store_tg_copy(d->wake, sizeof d->wake, r, i, col[6]);
    d->workflows = store_tg_count(r, i, col[7]);
}

int store_telegram_status(PGconn *c, struct store_tg_status *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = store_run(c, "telegram_status", SQL_TG_STATUS, 0, NULL);
    if (!r)
        return -1;
    if (PQntuples(r) == 1) {
        out->wakes_today = store_int(r, 0, store_col(r, "wakes_today"));
        out->decisions_today = store_int(r, 0, store_col(r, "decisions_today"));
        store_tg_copy(out->llm_outcome, sizeof out->llm_outcome, r, 0, store_col(r, "llm_outcome"));
        store_tg_copy(out->llm_provider, sizeof out->llm_provider, r, 0, store_col(r, "llm_provider"));
        struct store_tg_decision_at at;
        struct store_tg_decision d;
        store_tg_decision_find(r, &at);
        store_tg_decision_row(r, 0, &at, &d);
        out->last_id = d.id;
        out->last_at = d.at;
        memcpy(out->mode, d.mode, sizeof out->mode);
        memcpy(out->intensity, d.intensity, sizeof out->intensity);
        memcpy(out->source, d.source, sizeof out->source);
        memcpy(out->status, d.status, sizeof out->status);
        memcpy(out->wake, d.wake, sizeof out->wake);
        out->workflows = d.workflows;
    }
    PQclear(r);
    return 0;
}

int store_telegram_decisions(PGconn *c, struct store_tg_decision *out, int max)
{
    if (max <= 0)
        return 0;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *v[] = { lim };
    PGresult *r = store_run(c, "telegram_decisions", SQL_TG_DECISIONS, 1, v);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n > max)
        n = max;
    struct store_tg_decision_at at;
    store_tg_decision_find(r, &at);
    for (int i = 0; i < n; i++)
        store_tg_decision_row(r, i, &at, &out[i]);
    PQclear(r);
    return n;
}

int store_telegram_commands(PGconn *c, const long long *ids, int n, struct store_tg_command *out)
{
    if (n <= 0)
        return 0;
    if (n > 16)
        n = 16;
    char arr[16 * 24 + 4];
    size_t k = 0;
    arr[k++] = '{';
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(arr + k, sizeof arr - k, "%s%lld", i ? "," : "", ids[i]);
    arr[k++] = '}';
    arr[k] = '\0';
    const char *v[] = { arr };
    PGresult *r = store_run(c, "telegram_commands", SQL_TG_COMMANDS, 1, v);
    if (!r)
        return -1;
    int got = PQntuples(r);
    if (got > n)
        got = n;
    static const char *const names[8] = { "id", "command", "status", "result", "decision_id", "mode",
                                          "intensity", "workflows" };
    int col[8];
    store_cols(r, names, 8, col);
    for (int i = 0; i < got; i++) {
        struct store_tg_command *o = &out[i];
        memset(o, 0, sizeof *o);
        o->id = store_int(r, i, col[0]);
        store_tg_copy(o->command, sizeof o->command, r, i, col[1]);
        store_tg_copy(o->status, sizeof o->status, r, i, col[2]);
        store_tg_copy(o->result, sizeof o->result, r, i, col[3]);
        o->decision_id = store_int(r, i, col[4]);
        store_tg_copy(o->mode, sizeof o->mode, r, i, col[5]);
        store_tg_copy(o->intensity, sizeof o->intensity, r, i, col[6]);
        o->workflows = store_tg_count(r, i, col[7]);
    }
    PQclear(r);
    return got;
}
