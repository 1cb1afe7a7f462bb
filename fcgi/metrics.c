/* metrics: Prometheus text for /metrics; see metrics.h. */
#include "config.h"
#include "metrics.h"
#include "learning.h"
#include "watchview.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_add(struct metrics_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t want = b->cap ? b->cap * 2 : 4096;
        while (want < b->len + (size_t)n + 1)
            want *= 2;
        if (want > METRICS_MAX) {
            b->failed = 1;
            return;
        }
        char *q = realloc(b->p, want);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = want;
    }
}

/* HELP and TYPE lines of a family. */
static void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
    metrics_add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

const char *metrics_num(double v, char out[40])
{
    if (isnan(v))
        snprintf(out, 40, "NaN");
    else if (isinf(v))
        snprintf(out, 40, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, 40, "%.0f", v);
    else
        snprintf(out, 40, "%.9g", v);
    return out;
}

const char *metrics_label(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            out[n++] = '\\';
            out[n++] = *s;
        } else if (*s == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return out;
}

/* The seed's names of the source-health gauges, api_health_<suffix>: the
 * seed writes Pump.fun as pump_fun (its Grafana queries use that name),
 * while the feed's own name elsewhere (labels, /status, SQL) is pumpfun. */
static const char *metrics_health_suffix(int feed)
{
    return feed == FEED_PUMPFUN ? "pump_fun" : catalog_feed_name(feed);
}

/* A one-sample family. */
static void metrics_single(struct metrics_buf *b, const char *name, const char *type, const char *help, double v)
{
    char num[40];
    metrics_family(b, name, type, help);
    metrics_add(b, "%s %s\n", name, metrics_num(v, num));
}

/* A PostgreSQL number as printed ("" for null) as a double, NaN for null. */
static double metrics_pgnum(const char *s)
{
    if (!s || !*s)
        return NAN;
    char *end;
    double d = strtod(s, &end);
    return end == s ? NAN : d;
}

/* Index of the first llm_calls group whose provider (by_outcome 0) or
 * outcome (by_outcome 1) equals that of group i: each label value is
 * listed once, at its first group. */
static int metrics_llm_first(const struct query_state *st, int i, int by_outcome)
{
    for (int k = 0; k < i; k++)
        if (strcmp(by_outcome ? st->llm_group[k].outcome : st->llm_group[k].provider,
                   by_outcome ? st->llm_group[i].outcome : st->llm_group[i].provider) == 0)
            return k;
    return i;
}

/* The LLM families: calls, errors, tokens, latency histogram (all from
 * llm_calls), fallback decisions, agreement rate, and the worker's budget
 * use and circuits (worker_state.llm). */
/* A number member of o (a path of keys), or def. */
static double metrics_json_num(json_object *o, const char *k1, const char *k2, double def)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k1, &v))
        return def;
    if (k2 && !json_object_object_get_ex(v, k2, &v))
        return def;
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)
           ? json_object_get_double(v) : def;
}

/* One leader, its standbys, decisions missed (query_state.leader). */
static void metrics_leader(struct metrics_buf *b, json_object *lead)
{
    json_object *v;
    int have = lead && json_object_object_get_ex(lead, "leader", &v) && v;
    metrics_single(b, "orchestrator_leader", "gauge",
                   "1 when a worker holds the leader lease (and acts), 0 when none does.", have ? 1 : 0);
    metrics_single(b, "orchestrator_leader_epoch", "gauge",
                   "The leader lease's fencing token: it grows by one at every takeover.",
                   metrics_json_num(lead, "epoch", NULL, 0));
    size_t nstandby = lead && json_object_object_get_ex(lead, "standbys", &v) && json_object_is_type(v, json_type_array)
                      ? json_object_array_length(v) : 0;
    metrics_single(b, "orchestrator_standbys", "gauge",
                   "Workers waiting as standbys (heard from in the last minute).", (double)nstandby);
    metrics_single(b, "orchestrator_decision_gaps_total", "counter",
                   "Times no leader decided although a decision was due (decision_gaps).",
                   metrics_json_num(lead, "gaps", "count", 0));
    metrics_single(b, "orchestrator_missed_decisions_total", "counter",
                   "Decisions that were due while no leader decided.",
                   metrics_json_num(lead, "gaps", "missed_decisions", 0));
}

/* The LLM calls (llm_calls): by provider and outcome, errors by kind,
 * tokens by provider, the latency histogram.  Appended to b. */
static void metrics_llm_calls(struct metrics_buf *b, const struct query_state *st)
{
    char num[40], l1[96], l2[96];

    metrics_family(b, "orchestrator_llm_calls_total", "counter",
                   "HTTP calls to LLM providers by provider and outcome (ok, rate_limited, timeout, ...).");
    for (int i = 0; i < st->nllm; i++)
        metrics_add(b, "orchestrator_llm_calls_total{provider=\"%s\",outcome=\"%s\"} %s\n",
                    metrics_label(st->llm_group[i].provider, l1, sizeof l1),
                    metrics_label(st->llm_group[i].outcome, l2, sizeof l2),
                    metrics_num((double)st->llm_group[i].calls, num));

    metrics_family(b, "orchestrator_llm_errors_total", "counter",
                   "LLM calls whose outcome was not ok, by kind (the outcome).");
    for (int i = 0; i < st->nllm; i++) {
        const char *k = st->llm_group[i].outcome;
        if (strcmp(k, "ok") == 0 || metrics_llm_first(st, i, 1) != i)
            continue;
        long long n = 0;
        for (int j = i; j < st->nllm; j++)
            if (strcmp(st->llm_group[j].outcome, k) == 0)
                n += st->llm_group[j].calls;
        metrics_add(b, "orchestrator_llm_errors_total{kind=\"%s\"} %s\n", metrics_label(k, l1, sizeof l1),
                    metrics_num((double)n, num));
    }

    metrics_family(b, "orchestrator_llm_tokens_total", "counter",
                   "Tokens reported by LLM providers, by provider and type (prompt, completion).");
    for (int i = 0; i < st->nllm; i++) {
        const char *p = st->llm_group[i].provider;
        if (metrics_llm_first(st, i, 0) != i)
            continue;
        long long prompt = 0, completion = 0;
        for (int j = i; j < st->nllm; j++)
            if (strcmp(st->llm_group[j].provider, p) == 0) {
                prompt += st->llm_group[j].prompt_tokens;
                completion += st->llm_group[j].completion_tokens;
            }
        metrics_label(p, l1, sizeof l1);
        metrics_add(b, "orchestrator_llm_tokens_total{provider=\"%s\",type=\"prompt\"} %s\n", l1,
                    metrics_num((double)prompt, num));
        metrics_add(b, "orchestrator_llm_tokens_total{provider=\"%s\",type=\"completion\"} %s\n", l1,
                    metrics_num((double)completion, num));
    }

    metrics_family(b, "orchestrator_llm_latency_seconds", "histogram",
                   "Latency of LLM calls (every HTTP attempt, failed ones included).");
    long long count = 0;
    double sum_ms = 0;
    for (int i = 0; i < st->nllm; i++) {
        count += st->llm_group[i].calls;
        sum_ms += st->llm_group[i].latency_ms_sum;
    }
    for (int k = 0; k < QUERY_LLM_BUCKETS; k++) {
        long long n = 0;
        for (int i = 0; i < st->nllm; i++)
            n += st->llm_group[i].bucket[k];
        metrics_add(b, "orchestrator_llm_latency_seconds_bucket{le=\"%s\"} %s\n",
                    metrics_num(query_llm_bucket_ms[k] / 1000.0, l1), metrics_num((double)n, num));
    }
    metrics_add(b, "orchestrator_llm_latency_seconds_bucket{le=\"+Inf\"} %s\n", metrics_num((double)count, num));
    metrics_add(b, "orchestrator_llm_latency_seconds_sum %s\n", metrics_num(sum_ms / 1000.0, num));
    metrics_add(b, "orchestrator_llm_latency_seconds_count %s\n", metrics_num((double)count, num));
}

/* The LLM's part: its calls, then the decisions by what it did, fallback,
 * agreement, budget use and circuits.  Appended to b. */
static void metrics_llm(struct metrics_buf *b, const struct query_state *st)
{
    char num[40], l1[96];
    long long fell_back = 0;

    metrics_llm_calls(b, st);
    metrics_family(b, "orchestrator_llm_decisions_total", "counter",
                   "Decisions by what the LLM did (ok: its choice was used; not_configured, budget, "
                   "circuit_open, rate_limited, timeout, ...: the fallback policy chose), forced ones included.");
    for (int i = 0; i < st->nllm_outcome; i++) {
        metrics_add(b, "orchestrator_llm_decisions_total{outcome=\"%s\"} %s\n",
                    metrics_label(st->llm_outcome[i].outcome, l1, sizeof l1),
                    metrics_num((double)st->llm_outcome[i].n, num));
        if (strcmp(st->llm_outcome[i].outcome, "ok") != 0)
            fell_back += st->llm_outcome[i].n;
    }
    metrics_single(b, "orchestrator_fallback_decisions_total", "counter",
                   "Decisions whose choice the fallback policy made (no LLM, or the LLM failed), forced ones "
                   "included.", (double)fell_back);
    metrics_single(b, "orchestrator_llm_agreement_rate", "gauge",
                   "Share of LLM decisions on which the shadow fallback policy chose the same mode, "
                   "intensity and workflows (NaN before the first one).",
                   st->compared ? (double)st->agreed / (double)st->compared : NAN);
    metrics_single(b, "orchestrator_llm_tokens_today", "gauge",
                   "LLM tokens the worker counted against LLM_MAX_TOKENS_PER_DAY today (UTC).",
                   isnan(st->llm_tokens_today) ? 0 : st->llm_tokens_today);
    metrics_single(b, "orchestrator_llm_calls_last_hour", "gauge",
                   "LLM calls the worker counted against LLM_MAX_CALLS_PER_HOUR in the last hour.",
                   isnan(st->llm_calls_last_hour) ? 0 : st->llm_calls_last_hour);
    metrics_family(b, "orchestrator_llm_circuit_open", "gauge",
                   "1 while the circuit breaker of an LLM provider is open (the provider is skipped).");
    for (int i = 0; i < st->nllm_providers; i++)
        metrics_add(b, "orchestrator_llm_circuit_open{provider=\"%s\"} %d\n",
                    metrics_label(st->llm_provider[i].name, l1, sizeof l1), st->llm_provider[i].circuit_open);
}

/* A member of obj as a number, 0 when absent or not a number. */
static double metrics_member(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return 0;
    return json_object_get_double(v);
}

/* The n8n families: retries, circuits, availability, running executions
 * (workflow_state and triggers), execution durations, results received,
 * opportunities and Telegram alerts (worker_state.alerts). */
static void metrics_workflows(struct metrics_buf *b, const struct query_state *st)
{
    char num[40], l1[96];

    metrics_family(b, "orchestrator_trigger_retries_total", "counter",
                   "Webhook attempts after the first (network errors, 5xx, 429), by workflow of the catalog.");
    for (int w = 0; w < st->nwf; w++)
        metrics_add(b, "orchestrator_trigger_retries_total{workflow=\"%s\"} %s\n", st->wf[w].workflow,
                    metrics_num((double)st->wf[w].retries, num));
    metrics_family(b, "orchestrator_workflow_circuit_open", "gauge",
                   "1 while a workflow's circuit breaker is open (its triggers are skipped), else 0.");
    for (int w = 0; w < st->nwf; w++)
        metrics_add(b, "orchestrator_workflow_circuit_open{workflow=\"%s\"} %d\n", st->wf[w].workflow,
                    st->wf[w].present && strcmp(st->wf[w].circuit, "open") == 0);
    metrics_family(b, "orchestrator_workflow_circuit_state", "gauge",
                   "1 for the state each workflow's circuit breaker is in (closed, open, half_open), else 0.");
    static const char *const cs[] = { "closed", "open", "half_open" };
    for (int w = 0; w < st->nwf; w++)
        for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++)
            metrics_add(b, "orchestrator_workflow_circuit_state{workflow=\"%s\",state=\"%s\"} %d\n",
                        st->wf[w].workflow, cs[k],
                        strcmp(st->wf[w].present && st->wf[w].circuit[0] ? st->wf[w].circuit : "closed", cs[k]) == 0);
    metrics_family(b, "orchestrator_workflow_available", "gauge",
                   "0 after n8n answered 404 (not registered) or lists the workflow inactive or not at all, else 1.");
    for (int w = 0; w < st->nwf; w++)
        metrics_add(b, "orchestrator_workflow_available{workflow=\"%s\"} %d\n", st->wf[w].workflow,
                    !st->wf[w].present || (st->wf[w].available && st->wf[w].n8n_active != 0));
    metrics_family(b, "orchestrator_workflow_running", "gauge",
                   "Executions started and not known to have ended, by workflow.");
    for (int w = 0; w < st->nwf; w++)
        metrics_add(b, "orchestrator_workflow_running{workflow=\"%s\"} %s\n", st->wf[w].workflow,
                    metrics_num((double)st->wf[w].running, num));
    metrics_single(b, "orchestrator_catalog_workflows", "gauge",
                   "Workflows in the catalog in force: the per-workflow series name each one in their workflow "
                   "label; the history of the removed ones is counted together as " QUERY_REMOVED ".", (double)st->nwf);

    metrics_family(b, "orchestrator_execution_duration_seconds", "histogram",
                   "Duration of n8n executions (the posted result's duration_ms, else n8n's start and stop).");
    for (int k = 0; k < QUERY_EXEC_BUCKETS; k++)
        metrics_add(b, "orchestrator_execution_duration_seconds_bucket{le=\"%s\"} %s\n",
                    metrics_num(query_exec_bucket_ms[k] / 1000.0, l1), metrics_num((double)st->exec_bucket[k], num));
    metrics_add(b, "orchestrator_execution_duration_seconds_bucket{le=\"+Inf\"} %s\n",
                metrics_num((double)st->exec_count, num));
    metrics_add(b, "orchestrator_execution_duration_seconds_sum %s\n", metrics_num(st->exec_ms_sum / 1000.0, num));
    metrics_add(b, "orchestrator_execution_duration_seconds_count %s\n", metrics_num((double)st->exec_count, num));

    metrics_family(b, "orchestrator_results_received_total", "counter",
                   "Results posted to POST /results and recorded, by status (success, error); repeats not counted.");
    static const char *const rs[] = { "success", "error" };
    for (size_t k = 0; k < sizeof rs / sizeof rs[0]; k++) {
        long long n = 0;
        for (int i = 0; i < st->nresult; i++)
            if (strcmp(st->result_group[i].status, rs[k]) == 0)
                n = st->result_group[i].n;
        metrics_add(b, "orchestrator_results_received_total{status=\"%s\"} %s\n", rs[k], metrics_num((double)n, num));
    }
    metrics_single(b, "orchestrator_opportunities_total", "counter",
                   "Opportunities the workflows reported in their results.", (double)st->opportunities);

    metrics_family(b, "orchestrator_alerts_total", "counter",
                   "Telegram alerts by what became of them (sent, failed, dropped, rate_limited).");
    static const char *const as[] = { "sent", "failed", "dropped", "rate_limited" };
    for (size_t k = 0; k < sizeof as / sizeof as[0]; k++)
        metrics_add(b, "orchestrator_alerts_total{status=\"%s\"} %s\n", as[k],
                    metrics_num(metrics_member(st->alerts, as[k]), num));
}

static double metrics_member(json_object *obj, const char *key);

/* Decisions by mode and source, acted and succeeded by mode, the newest
 * decision's time and the longest interval between two: what the Grafana
 * dashboard and the alert rules (grafana/) read. */
static void metrics_decisions(struct metrics_buf *b, const struct query_state *st, long decision_max_seconds)
{
    char num[40];
    metrics_family(b, "orchestrator_decisions_by_mode_total", "counter",
                   "Decisions by mode (crypto, forex, hybrid, standby) and by who made them (llm, fallback, forced).");
    for (int m = 0; m < MODE_COUNT; m++)
        for (int s = 0; s < SOURCE_COUNT; s++)
            metrics_add(b, "orchestrator_decisions_by_mode_total{mode=\"%s\",source=\"%s\"} %s\n",
                        catalog_mode_name(m), catalog_source_name(s), metrics_num((double)st->mode_source[m][s], num));
    metrics_family(b, "orchestrator_decisions_acted_total", "counter",
                   "Decisions that started workflows and are settled (succeeded, partial or failed), by mode.");
    for (int m = 0; m < MODE_COUNT; m++)
        metrics_add(b, "orchestrator_decisions_acted_total{mode=\"%s\"} %s\n", catalog_mode_name(m),
                    metrics_num((double)st->mode_acted[m], num));
    metrics_family(b, "orchestrator_decisions_succeeded_total", "counter",
                   "Decisions whose workflows all started (status succeeded), by mode.");
    for (int m = 0; m < MODE_COUNT; m++)
        metrics_add(b, "orchestrator_decisions_succeeded_total{mode=\"%s\"} %s\n", catalog_mode_name(m),
                    metrics_num((double)st->mode_succeeded[m], num));
    metrics_family(b, "orchestrator_last_decision_timestamp_seconds", "gauge",
                   "When the newest decision was made, Unix time (no sample before the first decision).");
    if (!isnan(st->last_decision_epoch))
        metrics_add(b, "orchestrator_last_decision_timestamp_seconds %s\n", metrics_num(st->last_decision_epoch, num));
    metrics_single(b, "orchestrator_decision_max_interval_seconds", "gauge",
                   "DECISION_MAX_SECONDS: the longest time between two decisions.", (double)decision_max_seconds);
    metrics_single(b, "orchestrator_llm_fallback_streak", "gauge",
                   "The newest decisions in a row on which the LLM failed and the fallback policy decided.",
                   (double)st->fallback_streak);
    metrics_single(b, "orchestrator_llm_max_calls_per_hour", "gauge",
                   "LLM_MAX_CALLS_PER_HOUR as the worker reports it (0: LLM disabled or not reported).",
                   metrics_member(st->llm, "max_calls_per_hour"));
    metrics_single(b, "orchestrator_llm_max_tokens_per_day", "gauge",
                   "LLM_MAX_TOKENS_PER_DAY as the worker reports it (0: not reported).",
                   metrics_member(st->llm, "max_tokens_per_day"));
}

/* The single gauges and counters of the worker and its decisions, and the
 * sources' health.  Appended to b. */
static void metrics_basics(struct metrics_buf *b, const struct query_state *st)
{
    long long acted = st->succeeded + st->partial + st->failed;

    metrics_single(b, "orchestrator_decisions_total", "counter",
                   "Decisions recorded by the worker.", (double)st->decisions);
    metrics_single(b, "orchestrator_successful_decisions", "gauge",
                   "Decisions whose workflows all started (status succeeded); a running count.",
                   (double)st->succeeded);
    metrics_single(b, "orchestrator_success_rate", "gauge",
                   "Succeeded / (succeeded + partial + failed) decisions; 0 when none acted.",
                   acted ? (double)st->succeeded / (double)acted : 0.0);
    metrics_single(b, "orchestrator_mode_switches_total", "counter",
                   "Decisions whose mode differs from the previous decision's.", (double)st->mode_switches);
    metrics_single(b, "orchestrator_system_load", "gauge",
                   "1-minute load average (/proc/loadavg) the worker sensed last (NaN when unknown).", metrics_pgnum(st->system_load));
    metrics_single(b, "orchestrator_market_volatility", "gauge",
                   "Market volatility the worker sensed last, percent (NaN when unknown).",
                   metrics_pgnum(st->market_volatility));
    metrics_single(b, "orchestrator_running", "gauge",
                   "1 when the worker is set to run decision cycles, 0 when stopped.", st->running ? 1 : 0);
    metrics_single(b, "orchestrator_dry_run", "gauge",
                   "1 when the worker triggers nothing (no n8n configured).", st->dry_run ? 1 : 0);

    for (int f = 0; f < FEED_COUNT; f++) {
        char name[64], help[128];
        const struct query_source *q = &st->source[f];
        snprintf(name, sizeof name, "api_health_%s", metrics_health_suffix(f));
        snprintf(help, sizeof help, "1 when %s answered the last probe, 0 when it failed or is not configured.",
                 catalog_feed_name(f));
        metrics_single(b, name, "gauge", help, q->configured && q->ok == 1 ? 1 : 0);
    }
}

/* Decisions by source, triggers by workflow and status, executions by
 * outcome, the sources' latency.  Appended to b. */
static void metrics_triggers(struct metrics_buf *b, const struct query_state *st)
{
    char num[40], l1[96], l2[96];

    metrics_family(b, "orchestrator_decisions_by_source_total", "counter",
                   "Decisions by who made them (llm, fallback, forced).");
    for (int s = 0; s < SOURCE_COUNT; s++)
        metrics_add(b, "orchestrator_decisions_by_source_total{source=\"%s\"} %s\n",
                    catalog_source_name(s), metrics_num((double)st->by_source[s], num));

    metrics_family(b, "orchestrator_triggers_total", "counter",
                   "Workflow triggers recorded (one per workflow a decision started), by workflow of the catalog, "
                   "the removed ones together as \"" QUERY_REMOVED "\".");
    for (int w = 0; w <= st->nwf; w++) {
        const char *name = w < st->nwf ? st->wf[w].workflow : QUERY_REMOVED;
        long long n = 0;
        for (int i = 0; i < st->ntrig; i++)
            if (strcmp(st->trig[i].workflow, name) == 0)
                n += st->trig[i].n;
        if (w < st->nwf || n > 0)
            metrics_add(b, "orchestrator_triggers_total{workflow=\"%s\"} %s\n", name, metrics_num((double)n, num));
    }
    metrics_family(b, "orchestrator_triggers", "gauge",
                   "Workflow triggers by workflow and their status now (sent, failed, retrying, dry_run, ...).");
    for (int i = 0; i < st->ntrig; i++)
        metrics_add(b, "orchestrator_triggers{workflow=\"%s\",status=\"%s\"} %s\n",
                    metrics_label(st->trig[i].workflow, l1, sizeof l1),
                    metrics_label(st->trig[i].status, l2, sizeof l2), metrics_num((double)st->trig[i].n, num));
    metrics_family(b, "orchestrator_trigger_outcomes_total", "counter",
                   "n8n executions that ended, by workflow and outcome (succeeded, failed, crashed, canceled, "
                   "timed_out, superseded).");
    for (int i = 0; i < st->nout; i++)
        metrics_add(b, "orchestrator_trigger_outcomes_total{workflow=\"%s\",outcome=\"%s\"} %s\n",
                    metrics_label(st->out[i].workflow, l1, sizeof l1),
                    metrics_label(st->out[i].outcome, l2, sizeof l2), metrics_num((double)st->out[i].n, num));

    metrics_family(b, "orchestrator_source_latency_seconds", "gauge",
                   "Latency of the last probe of each market data source.");
    for (int f = 0; f < FEED_COUNT; f++)
        if (st->source[f].configured && !isnan(st->source[f].latency_ms))
            metrics_add(b, "orchestrator_source_latency_seconds{source=\"%s\"} %s\n", catalog_feed_name(f),
                        metrics_num(st->source[f].latency_ms / 1000.0, num));
}

char *metrics_render(const struct query_state *st, long decision_max_seconds, size_t *len)
{
    struct metrics_buf b = { malloc(8192), 0, 8192, 0 };

    if (!b.p)
        return NULL;
    metrics_basics(&b, st);
    metrics_triggers(&b, st);
    metrics_decisions(&b, st, decision_max_seconds);
    metrics_llm(&b, st);
    metrics_workflows(&b, st);
    metrics_leader(&b, st->leader);
    watchview_metrics(&b, st->watch);

    learning_metrics(&b, st->learning);         /* worker_state.learning's gauges */

    metrics_family(&b, "orchestrator_worker_heartbeat_age_seconds", "gauge",
                   "Seconds since the worker's last heartbeat (+Inf when it never beat).");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

size_t metrics_render_live(double heartbeat_age, char *buf, size_t cap)
{
    char num[40];
    double v = isnan(heartbeat_age) ? INFINITY : heartbeat_age < 0 ? 0 : heartbeat_age;
    if (isfinite(v))
        snprintf(num, sizeof num, "%.3f", v);
    else
        metrics_num(v, num);
    int n = snprintf(buf, cap, "orchestrator_worker_heartbeat_age_seconds %s\n", num);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
