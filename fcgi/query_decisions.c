/* query_decisions: the pages of GET /decisions and GET /decisions/{id},
 * each decision with its triggers and its audit (LLM calls); see query.h. */
#include "config.h"
#include "query.h"
#include "query_sql.h"

#include <stdio.h>
#include <string.h>

#define QUERY_RAW_COL "left(llm_raw, " QUERY_STR(QUERY_RAW_MAX) ")"

/* The columns of a decision item; detail columns follow (see query_decision_row). */
#define QUERY_DECISION_COLS \
    "id, cycle_id, " ISO("decided_at") " AS decided_at, mode, intensity, source, reason, session, " \
    "array_to_json(sessions)::text AS sessions, status, dry_run, next_seconds, " \
    ISO("next_decision_at") " AS next_decision_at, " ISO("completed_at") " AS completed_at, " \
    "llm_outcome, llm_detail, llm_provider, llm_model, prompt_version, prompt_hash, " \
    "llm_prompt_tokens, llm_completion_tokens, llm_latency_ms, shadow::text AS shadow, agreement, " \
    "wake, wake_detail::text AS wake_detail, "
const char QUERY_SQL_DECISIONS[] =
    "SELECT " QUERY_DECISION_COLS
    "       CASE WHEN $4::boolean THEN inputs::text END AS inputs, CASE WHEN $4::boolean THEN menu::text END AS menu, "
    "       CASE WHEN $4::boolean THEN " QUERY_RAW_COL " END AS raw_output "
    "  FROM decisions "
    " WHERE run_id IS NULL AND ($1::bigint IS NULL OR id < $1::bigint) AND ($2::text IS NULL OR mode = $2::text) "
    " ORDER BY id DESC LIMIT $3::int";

static const char SQL_DECISION_ONE[] =
    "SELECT " QUERY_DECISION_COLS " inputs::text AS inputs, menu::text AS menu, " QUERY_RAW_COL " AS raw_output "
    "  FROM decisions WHERE id = $1::bigint AND run_id IS NULL";

const char QUERY_SQL_DECISION_LLM_CALLS[] =
    "SELECT decision_id, provider, model, http_status, outcome, latency_ms, prompt_tokens, "
    "       completion_tokens, error "
    "  FROM llm_calls WHERE decision_id = ANY($1::bigint[]) "
    " ORDER BY decision_id DESC, id";

const char QUERY_SQL_DECISION_TRIGGERS[] =
    "SELECT decision_id, id, workflow, status, http_status, attempts, latency_ms, error, "
    "       " ISO("started_at") " AS started_at, " ISO("finished_at") " AS finished_at, "
    "       execution_id, outcome, opportunities, result->>'status' AS result_status, duration_ms, "
    "       " ISO("next_attempt_at") " AS next_attempt_at, last_error_kind AS error_kind, "
    "       " ISO("result_at") " AS result_at, execution_status "
    "  FROM triggers WHERE decision_id = ANY($1::bigint[]) "
    " ORDER BY decision_id DESC, id";

/* The columns of QUERY_SQL_DECISIONS and SQL_DECISION_ONE. */
enum query_decision_col {
    QUERY_D_ID = 0, QUERY_D_CYCLE_ID, QUERY_D_DECIDED_AT, QUERY_D_MODE, QUERY_D_INTENSITY, QUERY_D_SOURCE,
    QUERY_D_REASON, QUERY_D_SESSION, QUERY_D_SESSIONS, QUERY_D_STATUS, QUERY_D_DRY_RUN, QUERY_D_NEXT_SECONDS,
    QUERY_D_NEXT_DECISION_AT, QUERY_D_COMPLETED_AT, QUERY_D_LLM_OUTCOME, QUERY_D_LLM_DETAIL, QUERY_D_LLM_PROVIDER,
    QUERY_D_LLM_MODEL, QUERY_D_PROMPT_VERSION, QUERY_D_PROMPT_HASH, QUERY_D_PROMPT_TOKENS,
    QUERY_D_COMPLETION_TOKENS, QUERY_D_LATENCY_MS, QUERY_D_SHADOW, QUERY_D_AGREEMENT, QUERY_D_WAKE,
    QUERY_D_WAKE_DETAIL, QUERY_D_INPUTS, QUERY_D_MENU, QUERY_D_RAW_OUTPUT, QUERY_D_COUNT
};

static const char *const query_decision_cols[QUERY_D_COUNT] = {
    [QUERY_D_ID] = "id", [QUERY_D_CYCLE_ID] = "cycle_id", [QUERY_D_DECIDED_AT] = "decided_at",
    [QUERY_D_MODE] = "mode", [QUERY_D_INTENSITY] = "intensity", [QUERY_D_SOURCE] = "source",
    [QUERY_D_REASON] = "reason", [QUERY_D_SESSION] = "session", [QUERY_D_SESSIONS] = "sessions",
    [QUERY_D_STATUS] = "status", [QUERY_D_DRY_RUN] = "dry_run", [QUERY_D_NEXT_SECONDS] = "next_seconds",
    [QUERY_D_NEXT_DECISION_AT] = "next_decision_at", [QUERY_D_COMPLETED_AT] = "completed_at",
    [QUERY_D_LLM_OUTCOME] = "llm_outcome", [QUERY_D_LLM_DETAIL] = "llm_detail",
    [QUERY_D_LLM_PROVIDER] = "llm_provider", [QUERY_D_LLM_MODEL] = "llm_model",
    [QUERY_D_PROMPT_VERSION] = "prompt_version", [QUERY_D_PROMPT_HASH] = "prompt_hash",
    [QUERY_D_PROMPT_TOKENS] = "llm_prompt_tokens", [QUERY_D_COMPLETION_TOKENS] = "llm_completion_tokens",
    [QUERY_D_LATENCY_MS] = "llm_latency_ms", [QUERY_D_SHADOW] = "shadow", [QUERY_D_AGREEMENT] = "agreement",
    [QUERY_D_WAKE] = "wake", [QUERY_D_WAKE_DETAIL] = "wake_detail", [QUERY_D_INPUTS] = "inputs",
    [QUERY_D_MENU] = "menu", [QUERY_D_RAW_OUTPUT] = "raw_output",
};

/* A trigger of a decision: the columns of QUERY_SQL_DECISION_TRIGGERS after
 * decision_id, each a member of the same name. */
static const struct query_member query_trigger_members[] = {
    { "id", 1 }, { "workflow", 0 }, { "status", 0 }, { "http_status", 1 }, { "attempts", 1 }, { "latency_ms", 1 },
    { "error", 0 }, { "started_at", 0 }, { "finished_at", 0 }, { "execution_id", 0 }, { "outcome", 0 },
    { "opportunities", 1 }, { "result_status", 0 }, { "duration_ms", 1 }, { "next_attempt_at", 0 },
    { "error_kind", 0 }, { "result_at", 0 }, { "execution_status", 0 },
};

/* An LLM call of a decision: the columns of QUERY_SQL_DECISION_LLM_CALLS after
 * decision_id. */
static const struct query_member query_llm_call_members[] = {
    { "provider", 0 }, { "model", 0 }, { "http_status", 1 }, { "outcome", 0 }, { "latency_ms", 1 },
    { "prompt_tokens", 1 }, { "completion_tokens", 1 }, { "error", 0 },
};

/* Add key: v to o; on light pages (full 0) a JSON null is left out. */
static void query_add(json_object *o, const char *key, json_object *v, int full)
{
    if (v || full)
        json_object_object_add(o, key, v);
}

/* The "audit" object of row i of QUERY_SQL_DECISIONS (col: its columns), with an
 * empty "llm_calls" array.  With detail every member is there (raw_output
 * included); on light pages null members are left out and the shadow
 * choice loses its reason (the decision's own reason carries the fallback
 * policy's when it decided).  Returns it (caller frees) or NULL. */
static json_object *query_audit(const PGresult *r, const int *col, int i, int detail)
{
    json_object *a = json_object_new_object();
    json_object *calls = json_object_new_array();
    if (!a || !calls) {
        json_object_put(a);
        json_object_put(calls);
        return NULL;
    }
    query_add(a, "llm_outcome", query_jstr(r, i, col[QUERY_D_LLM_OUTCOME]), detail);
    query_add(a, "llm_detail", query_jstr(r, i, col[QUERY_D_LLM_DETAIL]), detail);
    query_add(a, "provider", query_jstr(r, i, col[QUERY_D_LLM_PROVIDER]), detail);
    query_add(a, "model", query_jstr(r, i, col[QUERY_D_LLM_MODEL]), detail);
    query_add(a, "prompt_version", query_jstr(r, i, col[QUERY_D_PROMPT_VERSION]), detail);
    query_add(a, "prompt_hash", query_jstr(r, i, col[QUERY_D_PROMPT_HASH]), detail);
    if (detail)
        json_object_object_add(a, "raw_output", query_jstr(r, i, col[QUERY_D_RAW_OUTPUT]));
    query_add(a, "prompt_tokens", query_jint(r, i, col[QUERY_D_PROMPT_TOKENS]), detail);
    query_add(a, "completion_tokens", query_jint(r, i, col[QUERY_D_COMPLETION_TOKENS]), detail);
    query_add(a, "latency_ms", query_jint(r, i, col[QUERY_D_LATENCY_MS]), detail);
    json_object *shadow = query_jparse(r, i, col[QUERY_D_SHADOW]);
    if (shadow && !detail && json_object_is_type(shadow, json_type_object))
        json_object_object_del(shadow, "reason");
    query_add(a, "shadow", shadow, detail);
    query_add(a, "agreement", query_jbool(r, i, col[QUERY_D_AGREEMENT]), detail);
    json_object_object_add(a, "llm_calls", calls);
    return a;
}

/* Row i of QUERY_SQL_DECISIONS (or SQL_DECISION_ONE; col: its columns) as the
 * API's decision object, with empty "triggers" and audit.llm_calls arrays;
 * "inputs" and "menu" only when detail.  Returns it (caller frees) or NULL. */
static json_object *query_decision_row(const PGresult *r, const int *col, int i, int detail)
{
    /* the members that are the column of the same name, in the answer's order */
    static const struct { int col, integer; } plain[] = {
        { QUERY_D_ID, 1 }, { QUERY_D_CYCLE_ID, 0 }, { QUERY_D_DECIDED_AT, 0 }, { QUERY_D_MODE, 0 },
        { QUERY_D_INTENSITY, 0 }, { QUERY_D_SOURCE, 0 }, { QUERY_D_REASON, 0 }, { QUERY_D_SESSION, 0 },
    };
    json_object *o = json_object_new_object();
    json_object *trig = json_object_new_array();
    json_object *audit = query_audit(r, col, i, detail);
    if (!o || !trig || !audit) {
        json_object_put(o);
        json_object_put(trig);
        json_object_put(audit);
        return NULL;
    }
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
        int c = col[plain[k].col];
        json_object_object_add(o, query_decision_cols[plain[k].col],
                               plain[k].integer ? query_jint(r, i, c) : query_jstr(r, i, c));
    }
    json_object *ses = query_jparse(r, i, col[QUERY_D_SESSIONS]);
    json_object_object_add(o, "sessions", ses ? ses : json_object_new_array());
    json_object_object_add(o, "status", query_jstr(r, i, col[QUERY_D_STATUS]));
    json_object_object_add(o, "dry_run", query_jbool(r, i, col[QUERY_D_DRY_RUN]));
    json_object_object_add(o, "next_seconds", query_jint(r, i, col[QUERY_D_NEXT_SECONDS]));
    json_object_object_add(o, "next_decision_at", query_jstr(r, i, col[QUERY_D_NEXT_DECISION_AT]));
    json_object_object_add(o, "completed_at", query_jstr(r, i, col[QUERY_D_COMPLETED_AT]));
    /* why it was made when it was: scheduled, event (the watch's signal,
     * value and threshold in wake_detail), control or startup */
    json_object_object_add(o, "wake", query_jstr(r, i, col[QUERY_D_WAKE]));
    query_add(o, "wake_detail", query_jparse(r, i, col[QUERY_D_WAKE_DETAIL]), detail);
    if (detail) {
        json_object_object_add(o, "inputs", query_jparse(r, i, col[QUERY_D_INPUTS]));
        json_object_object_add(o, "menu", query_jparse(r, i, col[QUERY_D_MENU]));
    }
    json_object_object_add(o, "triggers", trig);
    json_object_object_add(o, "audit", audit);
    return o;
}

/* Append the rows of t (statement stmt; a column decision_id, ordered by
 * decision id descending like the n rows of r, whose ids are in column
 * rid) as objects of the members m[0 .. nm) to the arrays at key of the
 * matching decisions of arr: the decision object's own member when in is
 * NULL, else the member of its member in ("audit").  Returns 0 or -1. */
static int query_attach(const PGresult *r, int rid, int n, json_object *arr, const PGresult *t, const char *stmt,
                        const struct query_member *m, int nm, const char *in, const char *key)
{
    int col[QUERY_MEMBERS_MAX], did_col = query_col(t, stmt, "decision_id");
    if (did_col < 0 || query_member_cols(t, stmt, m, nm, col) < 0)
        return -1;
    int d = 0;
    for (int i = 0; i < PQntuples(t); i++) {
        long long did = query_ll(t, i, did_col);
        while (d < n && query_ll(r, d, rid) > did)
            d++;
        if (d >= n)
            break;
        if (query_ll(r, d, rid) != did)
            continue;
        json_object *parent = json_object_array_get_idx(arr, (size_t)d), *list = NULL;
        if (in && !json_object_object_get_ex(parent, in, &parent))
            return -1;
        json_object_object_get_ex(parent, key, &list);
        json_object *o = query_members(t, i, m, nm, col);
        if (!o || !list || json_object_array_add(list, o) < 0) {
            json_object_put(o);
            return -1;
        }
    }
    return 0;
}

/* Give every decision of arr "opportunities": the sum of its triggers'
 * reported opportunities, null while none reported. */
static void query_decisions_opportunities(json_object *arr)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *d = json_object_array_get_idx(arr, i), *tl = NULL;
        long long sum = 0;
        int any = 0;
        if (json_object_object_get_ex(d, "triggers", &tl))
            for (size_t k = 0; k < json_object_array_length(tl); k++) {
                json_object *v = NULL;
                if (json_object_object_get_ex(json_object_array_get_idx(tl, k), "opportunities", &v) &&
                    json_object_is_type(v, json_type_int)) {
                    sum += json_object_get_int64(v);
                    any = 1;
                }
            }
        json_object_object_add(d, "opportunities", any ? json_object_new_int64(sum) : NULL);
    }
}

/* Fill the triggers and LLM calls of the n decisions of r (items of arr;
 * their ids in column rid).  ids is the '{...}' array of their ids.
 * Returns 0 or -1. */
static int query_decisions_attach(PGconn *c, const PGresult *r, int rid, int n, json_object *arr, const char *ids)
{
    const char *tv[1] = { ids };
    if (n == 0)
        return 0;
    PGresult *t = query_run(c, "decision_triggers", QUERY_SQL_DECISION_TRIGGERS, 1, tv);
    if (!t)
        return -1;
    int rc = query_attach(r, rid, n, arr, t, "decision_triggers", query_trigger_members,
                          QUERY_NMEMBERS(query_trigger_members), NULL, "triggers");
    PQclear(t);
    if (rc < 0)
        return -1;
    query_decisions_opportunities(arr);
    t = query_run(c, "decision_llm_calls", QUERY_SQL_DECISION_LLM_CALLS, 1, tv);
    if (!t)
        return -1;
    rc = query_attach(r, rid, n, arr, t, "decision_llm_calls", query_llm_call_members,
                      QUERY_NMEMBERS(query_llm_call_members), "audit", "llm_calls");
    PQclear(t);
    return rc;
}

int query_decisions(PGconn *c, const struct params_decisions *p, json_object **list, long long *next_before)
{
    char before[24], limit[16];
    /* room for PARAMS_LIMIT_MAX ids of up to 19 digits, commas and braces */
    char ids[PARAMS_LIMIT_MAX * 20 + 4];
    int col[QUERY_D_COUNT];
    PGresult *r = NULL;
    json_object *arr = NULL;
    int rc = -1;

    *list = NULL;
    *next_before = 0;
    if (p->limit < 1 || p->limit > PARAMS_LIMIT_MAX)
        return -1;
    snprintf(before, sizeof before, "%lld", p->before);
    snprintf(limit, sizeof limit, "%d", p->limit + 1);    /* one more: is there a next page? */
    const char *vals[4] = { p->before > 0 ? before : NULL,
                            p->mode >= 0 ? catalog_mode_name(p->mode) : NULL, limit, p->detail ? "t" : "f" };
    r = query_run(c, "decisions", QUERY_SQL_DECISIONS, 4, vals);
    if (!r || query_cols(r, "decisions", query_decision_cols, QUERY_D_COUNT, col) < 0)
        goto done;
    int n = PQntuples(r);
    if (n > p->limit) {
        n = p->limit;
        *next_before = query_ll(r, n - 1, col[QUERY_D_ID]);
    }
    arr = json_object_new_array_ext(n);
    if (!arr)
        goto done;
    size_t len = 0;
    ids[len++] = '{';
    for (int i = 0; i < n; i++) {
        json_object *o = query_decision_row(r, col, i, p->detail);
        if (!o || json_object_array_add(arr, o) < 0) {
            json_object_put(o);
            goto done;
        }
        int w = snprintf(ids + len, sizeof ids - len, "%s%lld", i ? "," : "", query_ll(r, i, col[QUERY_D_ID]));
        if (w < 0 || (size_t)w >= sizeof ids - len)
            goto done;
        len += (size_t)w;
    }
    ids[len++] = '}';
    ids[len] = '\0';
    if (query_decisions_attach(c, r, col[QUERY_D_ID], n, arr, ids) < 0)
        goto done;
    *list = arr;
    arr = NULL;
    rc = 0;
done:
    PQclear(r);
    json_object_put(arr);
    if (rc < 0)
        *next_before = 0;
    return rc;
}

int query_decision(PGconn *c, long long id, json_object **out)
{
    char idv[24], ids[32];
    int col[QUERY_D_COUNT];
    json_object *arr = NULL;
    int rc = -1;

    *out = NULL;
    snprintf(idv, sizeof idv, "%lld", id);
    snprintf(ids, sizeof ids, "{%lld}", id);
    const char *vals[1] = { idv };
    PGresult *r = query_run(c, "decision_one", SQL_DECISION_ONE, 1, vals);
    if (!r)
        return -1;
    if (query_cols(r, "decision_one", query_decision_cols, QUERY_D_COUNT, col) < 0)
        goto done;
    if (PQntuples(r) == 0) {
        rc = 0;
        goto done;
    }
    arr = json_object_new_array_ext(1);
    json_object *o = query_decision_row(r, col, 0, 1);
    if (!arr || !o || json_object_array_add(arr, o) < 0) {
        json_object_put(o);
        goto done;
    }
    if (query_decisions_attach(c, r, col[QUERY_D_ID], 1, arr, ids) < 0)
        goto done;
    *out = json_object_get(o);
    rc = 0;
done:
    PQclear(r);
    json_object_put(arr);
    return rc;
}
