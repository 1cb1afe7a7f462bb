/* query_totals: the counts of the state read, from the totals of
 * sql/007_history.sql and the last 24 hours -- decisions, triggers and
 * executions, LLM calls, results; see query_sql.h. */
#include "config.h"
#include "query.h"
#include "query_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every count over the whole history comes from the totals of
 * sql/007_history.sql (a few dozen rows whatever the history); the 24-hour
 * figures from the rows of the last 24 hours, through their time index. */
const char QUERY_SQL_STATE_DECISIONS[] =
    "SELECT mode, source, status, llm_outcome, sum(decisions) AS decisions, sum(switches) AS switches, "
    "       sum(agreed) AS agreed, sum(compared) AS compared "
    "  FROM history_decision_totals GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4";

const char QUERY_SQL_STATE_DECISIONS_24H[] =
    "SELECT count(*) AS decisions, count(*) FILTER (WHERE agreement) AS agreed, "
    "       count(*) FILTER (WHERE agreement IS NOT NULL) AS compared "
    "  FROM decisions WHERE run_id IS NULL AND decided_at > now() - interval '24 hours'";

/* Per workflow: the workflows of the catalog in force by name, the others
 * (removed from it, their history kept) together as QUERY_REMOVED, so
 * that the label sets stay bounded (at most CATALOG_MAX + 1 workflows). */
#define QUERY_WF_LABEL "CASE WHEN coalesce(w.present_in_catalog, false) THEN t.workflow ELSE '" QUERY_REMOVED "' END"
const char QUERY_SQL_STATE_TRIGGERS[] =
    "SELECT " QUERY_WF_LABEL " AS workflow, t.status, t.outcome, sum(t.triggers) AS triggers, "
    "       sum(t.retries) AS retries, sum(t.durations) AS durations, sum(t.duration_ms_sum) AS duration_ms_sum, "
    "       sum(t.le_100ms) AS le_100ms, sum(t.le_500ms) AS le_500ms, sum(t.le_1s) AS le_1s, "
    "       sum(t.le_2500ms) AS le_2500ms, sum(t.le_5s) AS le_5s, sum(t.le_10s) AS le_10s, sum(t.le_30s) AS le_30s, "
    "       sum(t.le_60s) AS le_60s, sum(t.le_120s) AS le_120s, sum(t.opportunities) AS opportunities "
    "  FROM history_trigger_totals t LEFT JOIN workflows w ON w.name = t.workflow "
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

const char QUERY_SQL_STATE_LLM[] =
    "SELECT provider, outcome, sum(calls) AS calls, sum(prompt_tokens) AS prompt_tokens, "
    "       sum(completion_tokens) AS completion_tokens, sum(le_100ms) AS le_100ms, sum(le_250ms) AS le_250ms, "
    "       sum(le_500ms) AS le_500ms, sum(le_1s) AS le_1s, sum(le_2500ms) AS le_2500ms, sum(le_5s) AS le_5s, "
    "       sum(le_10s) AS le_10s, sum(latency_ms_sum) AS latency_ms_sum "
    "  FROM history_llm_totals GROUP BY 1, 2 ORDER BY 1, 2";

/* live calls only: not those of a replay's decisions */
const char QUERY_SQL_STATE_LLM_24H[] =
    "SELECT c.provider, c.outcome, count(*) AS calls, "
    "       coalesce(sum(c.prompt_tokens + c.completion_tokens), 0) AS tokens "
    "  FROM llm_calls c "
    " WHERE c.called_at > now() - interval '24 hours' "
    "   AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id = c.decision_id AND d.run_id IS NOT NULL) "
    " GROUP BY 1, 2 ORDER BY 1, 2";

const char QUERY_SQL_STATE_RESULTS[] =
    "SELECT status, sum(results) AS results FROM history_result_totals GROUP BY 1 ORDER BY 1 LIMIT 8";

/* Swap two array elements of n bytes (at most 256). */
static void query_swap(void *a, void *b, size_t n)
{
    unsigned char t[256];
    if (n > sizeof t)
        return;
    memcpy(t, a, n);
    memcpy(a, b, n);
    memcpy(b, t, n);
}

/* The columns of QUERY_SQL_STATE_DECISIONS and (the last three) QUERY_SQL_STATE_DECISIONS_24H. */
enum query_count_col {
    QUERY_N_MODE = 0, QUERY_N_SOURCE, QUERY_N_STATUS, QUERY_N_LLM_OUTCOME, QUERY_N_SWITCHES, QUERY_N_DECISIONS,
    QUERY_N_AGREED, QUERY_N_COMPARED, QUERY_N_COUNT
};

static const char *const query_count_cols[QUERY_N_COUNT] = {
    [QUERY_N_MODE] = "mode", [QUERY_N_SOURCE] = "source", [QUERY_N_STATUS] = "status",
    [QUERY_N_LLM_OUTCOME] = "llm_outcome", [QUERY_N_SWITCHES] = "switches", [QUERY_N_DECISIONS] = "decisions",
    [QUERY_N_AGREED] = "agreed", [QUERY_N_COMPARED] = "compared",
};

/* See query_sql.h. */
int query_state_counts(PGconn *c, struct query_state *st)
{
    int col[QUERY_N_COUNT];
    PGresult *r = query_read(c, "state_decisions", QUERY_SQL_STATE_DECISIONS, query_count_cols, QUERY_N_COUNT, col);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int m = catalog_mode_parse(PQgetvalue(r, i, col[QUERY_N_MODE]));
        const char *src = PQgetvalue(r, i, col[QUERY_N_SOURCE]), *status = PQgetvalue(r, i, col[QUERY_N_STATUS]);
        const char *llm = PQgetvalue(r, i, col[QUERY_N_LLM_OUTCOME]);
        long long n = query_ll(r, i, col[QUERY_N_DECISIONS]);
        int ok = strcmp(status, "succeeded") == 0, partial = strcmp(status, "partial") == 0;
        int failed = strcmp(status, "failed") == 0;
        st->decisions += n;
        st->mode_switches += query_ll(r, i, col[QUERY_N_SWITCHES]);
        st->agreed += query_ll(r, i, col[QUERY_N_AGREED]);
        st->compared += query_ll(r, i, col[QUERY_N_COMPARED]);
        st->succeeded += ok ? n : 0;
        st->partial += partial ? n : 0;
        st->failed += failed ? n : 0;
        for (int s = 0; s < SOURCE_COUNT; s++)
            if (strcmp(src, catalog_source_name(s)) == 0) {
                st->by_source[s] += n;
                if (m >= 0)
                    st->mode_source[m][s] += n;
            }
        if (m >= 0 && (ok || partial || failed)) {
            st->mode_acted[m] += n;
            st->mode_succeeded[m] += ok ? n : 0;
        }
        int k = 0;
        while (k < st->nllm_outcome && strcmp(st->llm_outcome[k].outcome, llm) != 0)
            k++;
        if (k == st->nllm_outcome) {
            if (k >= (int)(sizeof st->llm_outcome / sizeof st->llm_outcome[0]))
                continue;
            snprintf(st->llm_outcome[k].outcome, sizeof st->llm_outcome[0].outcome, "%s", llm);
            st->llm_outcome[k].n = 0;
            st->nllm_outcome++;
        }
        st->llm_outcome[k].n += n;
    }
    PQclear(r);
    int kept = 0;
    for (int i = 0; i < st->nllm_outcome; i++)
        if (st->llm_outcome[i].n != 0)
            st->llm_outcome[kept++] = st->llm_outcome[i];
    st->nllm_outcome = kept;
    /* the totals come ordered by mode first: order the LLM outcomes by name */
    for (int a = 1; a < st->nllm_outcome; a++)
        for (int b = a; b > 0 && strcmp(st->llm_outcome[b - 1].outcome, st->llm_outcome[b].outcome) > 0; b--) {
            query_swap(&st->llm_outcome[b], &st->llm_outcome[b - 1], sizeof st->llm_outcome[0]);
        }
    /* the 24-hour statement has the last three columns */
    r = query_read(c, "state_decisions_24h", QUERY_SQL_STATE_DECISIONS_24H, query_count_cols + QUERY_N_DECISIONS,
                   QUERY_N_COUNT - QUERY_N_DECISIONS, col + QUERY_N_DECISIONS);
    if (!r)
        return -1;
    if (PQntuples(r) == 1) {
        st->decisions_24h = query_ll(r, 0, col[QUERY_N_DECISIONS]);
        st->agreed_24h = query_ll(r, 0, col[QUERY_N_AGREED]);
        st->compared_24h = query_ll(r, 0, col[QUERY_N_COMPARED]);
    }
    PQclear(r);
    return 0;
}

/* The columns of QUERY_SQL_STATE_TRIGGERS; the buckets follow, one a bound of
 * query_exec_bucket_ms, named as in history_trigger_totals. */
enum query_trigger_col {
    QUERY_T_WORKFLOW = 0, QUERY_T_STATUS, QUERY_T_OUTCOME, QUERY_T_TRIGGERS, QUERY_T_RETRIES, QUERY_T_DURATIONS,
    QUERY_T_DURATION_MS_SUM, QUERY_T_OPPORTUNITIES, QUERY_T_BUCKET, QUERY_T_COUNT = QUERY_T_BUCKET + QUERY_EXEC_BUCKETS
};

static const char *const query_trigger_cols[QUERY_T_COUNT] = {
    [QUERY_T_WORKFLOW] = "workflow", [QUERY_T_STATUS] = "status", [QUERY_T_OUTCOME] = "outcome",
    [QUERY_T_TRIGGERS] = "triggers", [QUERY_T_RETRIES] = "retries", [QUERY_T_DURATIONS] = "durations",
    [QUERY_T_DURATION_MS_SUM] = "duration_ms_sum", [QUERY_T_OPPORTUNITIES] = "opportunities",
    [QUERY_T_BUCKET] = "le_100ms", "le_500ms", "le_1s", "le_2500ms", "le_5s", "le_10s", "le_30s", "le_60s", "le_120s",
};

/* See query_sql.h. */
int query_state_triggers(PGconn *c, struct query_state *st)
{
    int col[QUERY_T_COUNT];
    PGresult *r = query_read(c, "state_triggers", QUERY_SQL_STATE_TRIGGERS, query_trigger_cols, QUERY_T_COUNT, col);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    st->trig = calloc(rows ? (size_t)rows : 1, sizeof *st->trig);
    st->out = calloc(rows ? (size_t)rows : 1, sizeof *st->out);
    if (!st->trig || !st->out) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        const char *wf = PQgetvalue(r, i, col[QUERY_T_WORKFLOW]), *status = PQgetvalue(r, i, col[QUERY_T_STATUS]);
        long long n = query_ll(r, i, col[QUERY_T_TRIGGERS]);
        /* rows come ordered by workflow and status: one group per pair */
        struct query_trigger_group *g = st->ntrig > 0 ? &st->trig[st->ntrig - 1] : NULL;
        if (!g || strcmp(g->workflow, wf) != 0 || strcmp(g->status, status) != 0) {
            g = NULL;
            if (st->ntrig < QUERY_MAX_TRIGGER_GROUPS) {
                g = &st->trig[st->ntrig++];
                snprintf(g->workflow, sizeof g->workflow, "%s", wf);
                snprintf(g->status, sizeof g->status, "%s", status);
            }
        }
        if (g) {
            g->n += n;
            g->retries += query_ll(r, i, col[QUERY_T_RETRIES]);
        }
        if (!PQgetisnull(r, i, col[QUERY_T_OUTCOME]) && n != 0) {
            const char *outcome = PQgetvalue(r, i, col[QUERY_T_OUTCOME]);
            int k = 0;
            while (k < st->nout && !(strcmp(st->out[k].workflow, wf) == 0 && strcmp(st->out[k].outcome, outcome) == 0))
                k++;
            if (k == st->nout && k < rows) {
                snprintf(st->out[k].workflow, sizeof st->out[0].workflow, "%s", wf);
                snprintf(st->out[k].outcome, sizeof st->out[0].outcome, "%s", outcome);
                st->out[k].n = 0;
                st->nout++;
            }
            if (k < st->nout)
                st->out[k].n += n;
        }
        st->exec_count += query_ll(r, i, col[QUERY_T_DURATIONS]);
        st->exec_ms_sum += (double)query_ll(r, i, col[QUERY_T_DURATION_MS_SUM]);
        for (int b = 0; b < QUERY_EXEC_BUCKETS; b++)
            st->exec_bucket[b] += query_ll(r, i, col[QUERY_T_BUCKET + b]);
        st->opportunities += query_ll(r, i, col[QUERY_T_OPPORTUNITIES]);
    }
    PQclear(r);
    /* groups whose deltas add up to nothing (a status passed through) are left out */
    int kept = 0;
    for (int i = 0; i < st->ntrig; i++)
        if (st->trig[i].n != 0 || st->trig[i].retries != 0)
            st->trig[kept++] = st->trig[i];
    st->ntrig = kept;
    /* outcomes ordered by workflow, then outcome */
    for (int a = 1; a < st->nout; a++)
        for (int b = a; b > 0; b--) {
            int cmp = strcmp(st->out[b - 1].workflow, st->out[b].workflow);
            if (cmp < 0 || (cmp == 0 && strcmp(st->out[b - 1].outcome, st->out[b].outcome) <= 0))
                break;
            query_swap(&st->out[b], &st->out[b - 1], sizeof st->out[0]);
        }
    return 0;
}

/* The columns of QUERY_SQL_STATE_LLM; the buckets follow, one a bound of
 * query_llm_bucket_ms.  QUERY_SQL_STATE_LLM_24H has the first three and
 * tokens (query_llm_24h_cols). */
enum query_llm_col {
    QUERY_C_PROVIDER = 0, QUERY_C_OUTCOME, QUERY_C_CALLS, QUERY_C_PROMPT_TOKENS, QUERY_C_COMPLETION_TOKENS,
    QUERY_C_LATENCY_MS_SUM, QUERY_C_BUCKET, QUERY_C_COUNT = QUERY_C_BUCKET + QUERY_LLM_BUCKETS,
    QUERY_C_TOKENS = QUERY_C_PROMPT_TOKENS      /* QUERY_SQL_STATE_LLM_24H only */
};

static const char *const query_llm_cols[QUERY_C_COUNT] = {
    [QUERY_C_PROVIDER] = "provider", [QUERY_C_OUTCOME] = "outcome", [QUERY_C_CALLS] = "calls",
    [QUERY_C_PROMPT_TOKENS] = "prompt_tokens", [QUERY_C_COMPLETION_TOKENS] = "completion_tokens",
    [QUERY_C_LATENCY_MS_SUM] = "latency_ms_sum",
    [QUERY_C_BUCKET] = "le_100ms", "le_250ms", "le_500ms", "le_1s", "le_2500ms", "le_5s", "le_10s",
};

static const char *const query_llm_24h_cols[QUERY_C_TOKENS + 1] = {
    [QUERY_C_PROVIDER] = "provider", [QUERY_C_OUTCOME] = "outcome", [QUERY_C_CALLS] = "calls",
    [QUERY_C_TOKENS] = "tokens",
};

/* The LLM calls of the last 24 hours into st->llm_group (after the
 * totals).  Returns 0 or -1. */
static int query_state_llm_24h(PGconn *c, struct query_state *st)
{
    int col[QUERY_C_TOKENS + 1];
    PGresult *r = query_read(c, "state_llm_24h", QUERY_SQL_STATE_LLM_24H, query_llm_24h_cols, QUERY_C_TOKENS + 1, col);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *p = PQgetvalue(r, i, col[QUERY_C_PROVIDER]), *o = PQgetvalue(r, i, col[QUERY_C_OUTCOME]);
        int k = 0;
        while (k < st->nllm && !(strcmp(st->llm_group[k].provider, p) == 0 && strcmp(st->llm_group[k].outcome, o) == 0))
            k++;
        if (k == st->nllm) {                /* not in the totals yet (not compacted): a group of its own */
            if (k >= QUERY_MAX_LLM_GROUPS)
                continue;
            memset(&st->llm_group[k], 0, sizeof st->llm_group[k]);
            snprintf(st->llm_group[k].provider, sizeof st->llm_group[k].provider, "%s", p);
            snprintf(st->llm_group[k].outcome, sizeof st->llm_group[k].outcome, "%s", o);
            st->nllm++;
        }
        st->llm_group[k].calls_24h = query_ll(r, i, col[QUERY_C_CALLS]);
        st->llm_group[k].tokens_24h = query_ll(r, i, col[QUERY_C_TOKENS]);
    }
    PQclear(r);
    return 0;
}

/* See query_sql.h. */
int query_state_llm(PGconn *c, struct query_state *st)
{
    int col[QUERY_C_COUNT];
    PGresult *r = query_read(c, "state_llm", QUERY_SQL_STATE_LLM, query_llm_cols, QUERY_C_COUNT, col);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r) && st->nllm < QUERY_MAX_LLM_GROUPS; i++) {
        if (query_ll(r, i, col[QUERY_C_CALLS]) == 0)          /* deltas that add up to nothing */
            continue;
        struct query_llm_group *g = &st->llm_group[st->nllm++];
        query_copy(g->provider, sizeof g->provider, r, i, col[QUERY_C_PROVIDER]);
        query_copy(g->outcome, sizeof g->outcome, r, i, col[QUERY_C_OUTCOME]);
        g->calls = query_ll(r, i, col[QUERY_C_CALLS]);
        g->prompt_tokens = query_ll(r, i, col[QUERY_C_PROMPT_TOKENS]);
        g->completion_tokens = query_ll(r, i, col[QUERY_C_COMPLETION_TOKENS]);
        for (int b = 0; b < QUERY_LLM_BUCKETS; b++)
            g->bucket[b] = query_ll(r, i, col[QUERY_C_BUCKET + b]);
        double sum = query_dbl(r, i, col[QUERY_C_LATENCY_MS_SUM]);
        g->latency_ms_sum = isnan(sum) ? 0 : sum;
    }
    PQclear(r);
    return query_state_llm_24h(c, st);
}

/* See query_sql.h. */
int query_state_results(PGconn *c, struct query_state *st)
{
    static const char *const names[] = { "status", "results" };
    int col[2];
    PGresult *r = query_read(c, "state_results", QUERY_SQL_STATE_RESULTS, names, 2, col);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r) && st->nresult < QUERY_MAX_RESULT_GROUPS; i++) {
        query_copy(st->result_group[st->nresult].status, sizeof st->result_group[0].status, r, i, col[0]);
        st->result_group[st->nresult].n = query_ll(r, i, col[1]);
        st->nresult++;
    }
    PQclear(r);
    return 0;
}
