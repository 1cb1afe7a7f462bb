/* api_status: the /status document from the state read; see api_impl.h. */
#include "config.h"
#include "api_impl.h"
#include "catalog.h"
#include "learning.h"
#include "watchview.h"

#include <math.h>
#include <string.h>

/* A rate rounded to 4 decimals, JSON null when den is 0.  Caller frees. */
static json_object *api_rate(long long num, long long den)
{
    return den > 0 ? query_json_double(round((double)num / (double)den * 10000.0) / 10000.0) : NULL;
}

/* A member of obj, with a new reference, or NULL.  Caller frees. */
static json_object *api_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return obj && json_object_object_get_ex(obj, key, &v) ? json_object_get(v) : NULL;
}

/* The "llm" object of /status: worker_state.llm (configured, providers
 * with their circuits and rate limits, budget use, prompt version and
 * hash) plus agreement_rate {last_24h, overall, compared_24h, compared},
 * fallback_streak, calls_24h, tokens_24h and errors_24h_by_kind, from the
 * decisions and llm_calls tables.  Returns it (caller frees) or NULL. */
static json_object *api_llm_status(const struct query_state *st)
{
    json_object *o = json_object_new_object();
    json_object *agree = json_object_new_object();
    json_object *errors = json_object_new_object();
    if (!o || !agree || !errors) {
        json_object_put(o);
        json_object_put(agree);
        json_object_put(errors);
        return NULL;
    }
    json_object_object_foreach(st->llm, key, val)
        json_object_object_add(o, key, json_object_get(val));
    json_object_object_add(agree, "last_24h", api_rate(st->agreed_24h, st->compared_24h));
    json_object_object_add(agree, "overall", api_rate(st->agreed, st->compared));
    json_object_object_add(agree, "compared_24h", json_object_new_int64(st->compared_24h));
    json_object_object_add(agree, "compared", json_object_new_int64(st->compared));
    json_object_object_add(o, "agreement_rate", agree);
    json_object_object_add(o, "fallback_streak", json_object_new_int64(st->fallback_streak));
    long long calls = 0, tokens = 0;
    for (int i = 0; i < st->nllm; i++) {
        const struct query_llm_group *g = &st->llm_group[i];
        calls += g->calls_24h;
        tokens += g->tokens_24h;
        if (strcmp(g->outcome, "ok") == 0 || g->calls_24h == 0)
            continue;
        json_object *v = NULL;
        if (json_object_object_get_ex(errors, g->outcome, &v))
            json_object_set_int64(v, json_object_get_int64(v) + g->calls_24h);
        else
            json_object_object_add(errors, g->outcome, json_object_new_int64(g->calls_24h));
    }
    json_object_object_add(o, "calls_24h", json_object_new_int64(calls));
    json_object_object_add(o, "tokens_24h", json_object_new_int64(tokens));
    json_object_object_add(o, "errors_24h_by_kind", errors);
    return o;
}

/* The "workflows" object of /status: the unavailable ones, the open
 * circuits, and each workflow's state.  Returns it (caller frees) or NULL. */
static json_object *api_wf_status(const struct query_state *st)
{
    json_object *o = json_object_new_object();
    json_object *un = json_object_new_array(), *open = json_object_new_array(), *each = json_object_new_object();
    if (!o || !un || !open || !each) {
        json_object_put(o);
        json_object_put(un);
        json_object_put(open);
        json_object_put(each);
        return NULL;
    }
    long long running = 0;
    for (int w = 0; w < st->nwf; w++) {
        const struct query_wf_state *q = &st->wf[w];
        const char *path = q->workflow;
        if (!q->present)
            continue;
        running += q->running;
        int n8n_off = q->n8n_active == 0;
        if (!q->available || n8n_off) {
            json_object *u = json_object_new_object();
            json_object_object_add(u, "workflow", json_object_new_string(path));
            json_object_object_add(u, "since", api_str(q->unavailable_since));
            json_object_object_add(u, "reason", !q->available ? api_str(q->unavailable_reason)
                                   : json_object_new_string(q->n8n_id[0] ? "inactive in n8n" : "not found in n8n"));
            json_object_array_add(un, u);
        }
        if (strcmp(q->circuit, "closed") != 0) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "workflow", json_object_new_string(path));
            json_object_object_add(c, "state", json_object_new_string(q->circuit));
            json_object_object_add(c, "open_until", api_str(q->open_until));
            json_object_object_add(c, "consecutive_failures", json_object_new_int64(q->consecutive_failures));
            json_object_array_add(open, c);
        }
        json_object *e = json_object_new_object();
        json_object_object_add(e, "available", json_object_new_boolean(q->available && !n8n_off));
        json_object_object_add(e, "circuit", json_object_new_string(q->circuit));
        json_object_object_add(e, "consecutive_failures", json_object_new_int64(q->consecutive_failures));
        json_object_object_add(e, "open_until", api_str(q->open_until));
        json_object_object_add(e, "concurrency", json_object_new_string(q->concurrency));
        json_object_object_add(e, "running", json_object_new_int64(q->running));
        json_object_object_add(e, "retries", json_object_new_int64(q->retries));
        json_object_object_add(e, "n8n_active", q->n8n_active < 0 ? NULL : json_object_new_boolean(q->n8n_active));
        json_object_object_add(each, path, e);
    }
    json_object_object_add(o, "unavailable", un);
    json_object_object_add(o, "circuits_open", open);
    json_object_object_add(o, "running", json_object_new_int64(running));
    json_object_object_add(o, "by_workflow", each);
    return o;
}

/* worker_state.n8n without its workflow list: {"api_configured",
 * "synced_at", "ok", "error", ...}.  Returns it (caller frees) or NULL. */
static json_object *api_n8n_summary(json_object *n8n)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (n8n && json_object_is_type(n8n, json_type_object)) {
        json_object_object_foreach(n8n, key, val) {
            if (strcmp(key, "workflows") != 0 && strcmp(key, "discovered") != 0)
                json_object_object_add(o, key, json_object_get(val));
        }
    }
    if (!json_object_object_get_ex(o, "api_configured", NULL))
        json_object_object_add(o, "api_configured", NULL);
    return o;
}

/* Add v to root at key; -1 (nothing added) when v is NULL: out of memory. */
static int api_status_add(json_object *root, const char *key, json_object *v)
{
    if (!v)
        return -1;
    json_object_object_add(root, key, v);
    return 0;
}

/* The "worker" object of /status (its heartbeat age and liveness are
 * holes).  Returns it (caller frees) or NULL. */
static json_object *api_status_worker(const struct query_state *st)
{
    json_object *w = json_object_new_object();
    if (!w)
        return NULL;
    json_object_object_add(w, "pid", st->pid ? json_object_new_int64(st->pid) : NULL);
    json_object_object_add(w, "hostname", api_str(st->hostname));
    json_object_object_add(w, "version", api_str(st->version));
    json_object_object_add(w, "started_at", api_str(st->started_at));
    json_object_object_add(w, "heartbeat_at", api_str(st->heartbeat_at));
    json_object_object_add(w, "heartbeat_age_seconds", api_hole(API_HOLE_AGE));
    json_object_object_add(w, "alive", api_hole(API_HOLE_ALIVE));
    return w;
}

/* The "counts" object: decisions (all, 24 hours, by source), mode
 * switches and triggers by status.  Returns it (caller frees) or NULL. */
static json_object *api_status_counts(const struct query_state *st)
{
    json_object *counts = json_object_new_object();
    json_object *by_source = json_object_new_object();
    json_object *trig = json_object_new_object();
    if (!counts || !by_source || !trig) {
        json_object_put(counts);
        json_object_put(by_source);
        json_object_put(trig);
        return NULL;
    }
    json_object_object_add(counts, "decisions", json_object_new_int64(st->decisions));
    json_object_object_add(counts, "decisions_24h", json_object_new_int64(st->decisions_24h));
    for (int s = 0; s < SOURCE_COUNT; s++)
        json_object_object_add(by_source, catalog_source_name(s), json_object_new_int64(st->by_source[s]));
    json_object_object_add(counts, "by_source", by_source);
    json_object_object_add(counts, "mode_switches", json_object_new_int64(st->mode_switches));
    for (int i = 0; i < st->ntrig; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(trig, st->trig[i].status, &v))
            json_object_set_int64(v, json_object_get_int64(v) + st->trig[i].n);
        else
            json_object_object_add(trig, st->trig[i].status, json_object_new_int64(st->trig[i].n));
    }
    json_object_object_add(counts, "triggers", trig);
    return counts;
}

/* The "success_by_mode" object: per mode, decisions acted on, succeeded
 * and the rate.  Returns it (caller frees) or NULL. */
static json_object *api_status_by_mode(const struct query_state *st)
{
    json_object *by_mode = json_object_new_object();
    for (int m = 0; by_mode && m < MODE_COUNT; m++) {
        json_object *o = json_object_new_object();
        if (!o) {
            json_object_put(by_mode);
            return NULL;
        }
        json_object_object_add(o, "acted", json_object_new_int64(st->mode_acted[m]));
        json_object_object_add(o, "succeeded", json_object_new_int64(st->mode_succeeded[m]));
        json_object_object_add(o, "rate", api_rate(st->mode_succeeded[m], st->mode_acted[m]));
        json_object_object_add(by_mode, catalog_mode_name(m), o);
    }
    return by_mode;
}

/* The "results" object: received (by status), opportunities, enabled.
 * Returns it (caller frees) or NULL. */
static json_object *api_status_results(const struct cfg *cfg, const struct query_state *st)
{
    json_object *res = json_object_new_object(), *by = json_object_new_object();
    if (!res || !by) {
        json_object_put(res);
        json_object_put(by);
        return NULL;
    }
    long long received = 0;
    for (int i = 0; i < st->nresult; i++) {
        received += st->result_group[i].n;
        json_object_object_add(by, st->result_group[i].status, json_object_new_int64(st->result_group[i].n));
    }
    json_object_object_add(res, "received", json_object_new_int64(received));
    json_object_object_add(res, "by_status", by);
    json_object_object_add(res, "opportunities", json_object_new_int64(st->opportunities));
    json_object_object_add(res, "enabled", json_object_new_boolean(cfg->results_token[0] != '\0'));
    return res;
}

/* Add "leader", "standbys" and "missed_decisions" (the decisions missed
 * while no leader decided) to root from lead (borrowed, may be NULL).
 * Returns 0 or -1. */
static int api_status_leader(json_object *root, json_object *lead)
{
    json_object *v, *g;
    json_object_object_add(root, "leader", lead && json_object_object_get_ex(lead, "leader", &v) ? json_object_get(v) : NULL);
    json_object_object_add(root, "standbys", lead && json_object_object_get_ex(lead, "standbys", &v) ? json_object_get(v)
                                                                                                  : json_object_new_array());
    json_object *gaps = json_object_new_object();
    if (!gaps)
        return -1;
    json_object_object_add(gaps, "count", lead && json_object_object_get_ex(lead, "gaps", &g) &&
                                          json_object_object_get_ex(g, "count", &v) ? json_object_get(v) : json_object_new_int(0));
    json_object_object_add(gaps, "missed_decisions", lead && json_object_object_get_ex(lead, "gaps", &g) &&
                                                     json_object_object_get_ex(g, "missed_decisions", &v)
                                                     ? json_object_get(v) : json_object_new_int(0));
    json_object_object_add(gaps, "last", lead && json_object_object_get_ex(lead, "last_gap", &v) ? json_object_get(v) : NULL);
    json_object_object_add(root, "missed_decisions", gaps);
    return 0;
}

/* See api_impl.h. */
int api_status_build(const struct cfg *cfg, const struct query_state *st, double at, struct api_body *out)
{
    json_object *root = json_object_new_object();
    int rc = -1;
    if (!root)
        return -1;
    json_object_object_add(root, "running", json_object_new_boolean(st->running));
    json_object_object_add(root, "dry_run", json_object_new_boolean(st->dry_run));
    json_object_object_add(root, "mode", api_member(st->last_decision, "mode"));
    json_object_object_add(root, "intensity", api_member(st->last_decision, "intensity"));
    json_object_object_add(root, "control_enabled", json_object_new_boolean(cfg->api_token[0] != '\0'));
    json_object_object_add(root, "server_time", api_hole(API_HOLE_NOW));
    if (api_status_add(root, "worker", api_status_worker(st)) < 0)
        goto done;
    json_object_object_add(root, "last_decision", st->last_decision ? json_object_get(st->last_decision) : NULL);
    json_object_object_add(root, "next_decision_at", api_str(st->next_decision_at));
    json_object_object_add(root, "next_decision_in_seconds", api_hole(API_HOLE_NEXT_IN));
    json_object_object_add(root, "sources", json_object_get(st->sources));
    json_object_object_add(root, "system_load", query_json_pgnum(st->system_load));
    json_object_object_add(root, "market_volatility", query_json_pgnum(st->market_volatility));
    if (api_status_add(root, "counts", api_status_counts(st)) < 0)
        goto done;
    json_object_object_add(root, "success_rate", api_rate(st->succeeded, st->succeeded + st->partial + st->failed));
    if (api_status_add(root, "success_by_mode", api_status_by_mode(st)) < 0 ||
        api_status_add(root, "llm", api_llm_status(st)) < 0 || api_status_add(root, "workflows", api_wf_status(st)) < 0)
        goto done;
    json_object_object_add(root, "catalog", json_object_get(st->catalog));
    json_object_object_add(root, "n8n", api_n8n_summary(st->n8n));
    if (api_status_add(root, "results", api_status_results(cfg, st)) < 0)
        goto done;
    json_object *al = json_object_get(st->alerts);
    if (al && !json_object_object_get_ex(al, "enabled", NULL))
        json_object_object_add(al, "enabled", json_object_new_boolean(0));
    json_object_object_add(root, "alerts", al);
    json_object_object_add(root, "learning", learning_status(st->learning));
    json_object_object_add(root, "watch", watchview_status(st->watch));
    if (api_status_leader(root, st->leader) < 0)
        goto done;
    rc = api_body_build(out, root, at);
done:
    json_object_put(root);
    return rc;
}
