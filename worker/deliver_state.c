/* deliver_state: what deliver knows of each workflow -- circuits,
 * availability, what n8n's list says, the policies in force -- kept in
 * workflow_state by the live worker, in memory by the replay; see
 * deliver.h and deliver_state.h. */
#include "config.h"
#include "deliver.h"
#include "deliver_state.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int deliver_init(struct deliver *d, const struct cfg *c, struct alert *alert, struct learn *learn,
                 char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->cfg = c;
    d->alert = alert;
    d->learn = learn;
    if (deliver_catalog(d, 1, err, errlen) < 0)
        return -1;
    if (c->webhook_retry_base_ms > c->webhook_retry_max_ms) {
        snprintf(err, errlen, "WEBHOOK_RETRY_BASE_MS (%ld) is greater than WEBHOOK_RETRY_MAX_MS (%ld)",
                 c->webhook_retry_base_ms, c->webhook_retry_max_ms);
        return -1;
    }
    d->tracking = track_enabled(c);
    d->results_expected = c->results_token && *c->results_token;
    track_stopper_init(&d->stopper, c);
    if (getrandom(&d->rng, sizeof d->rng, 0) != (ssize_t)sizeof d->rng)
        d->rng = (unsigned long long)time(NULL) * 6364136223846793005ULL + 1442695040888963407ULL;
    return 0;
}

void deliver_free(struct deliver *d)
{
    if (d)
        track_stopper_free(&d->stopper);
}

int deliver_catalog(struct deliver *d, int strict, char *err, size_t errlen)
{
    int pol[CATALOG_SLOTS];
    if (deliver_policy_parse(d->cfg->workflow_concurrency, strict, pol, err, errlen) < 0)
        return -1;
    memcpy(d->policy, pol, sizeof pol);
    return 0;
}

long deliver_timeout(const struct deliver *d, int wf)
{
    const struct catalog_wf *w = catalog_workflow(wf);
    return w && w->timeout_seconds > 0 ? w->timeout_seconds : d->cfg->track_timeout_seconds;
}

int deliver_end_followed(const struct deliver *d, int wf, const char *execution_id)
{
    const struct catalog_wf *w = catalog_workflow(wf);
    int expected = d->results_expected && w && w->expects_result;
    return !d->local && (expected || (d->tracking && execution_id && *execution_id));
}

void deliver_note_n8n(struct deliver *d, int wf, int active, time_t seen)
{
    if (wf < 0 || wf >= CATALOG_SLOTS)
        return;
    d->n8n_list[wf] = active > 0 ? DELIVER_N8N_ACTIVE : active == 0 ? DELIVER_N8N_INACTIVE : DELIVER_N8N_UNKNOWN;
    d->n8n_seen_at[wf] = seen;
}

int deliver_menu_blocked(const struct deliver *d, int wf, time_t now, char *why, size_t cap)
{
    if (wf < 0 || wf >= CATALOG_SLOTS)
        return 0;
    const char *path = catalog_name(wf);
    const struct breaker *c = &d->circuit[wf];
    char at[32];
    if (c->state == BREAKER_OPEN && now < c->open_until) {
        tu_iso8601(c->open_until, at);
        snprintf(why, cap, "%s: circuit open until %s", path, at);
        return 1;
    }
    if ((c->state == BREAKER_HALF_OPEN || c->state == BREAKER_OPEN) && c->probe_id &&
        now - c->probe_at < d->cfg->track_timeout_seconds) {
        snprintf(why, cap, "%s: circuit half open, probe trigger #%lld running", path, c->probe_id);
        return 1;
    }
    if (d->n8n_list[wf] == DELIVER_N8N_INACTIVE) {
        snprintf(why, cap, "%s: inactive in n8n (its workflow list)", path);
        return 1;
    }
    if (d->unavailable[wf]) {
        time_t since = d->unavailable_at[wf];
        int listed_after = d->n8n_list[wf] == DELIVER_N8N_ACTIVE && d->n8n_seen_at[wf] > since;
        time_t retry = since + d->cfg->workflow_breaker_cooldown_seconds;
        if (!listed_after && now < retry) {
            tu_iso8601(retry, at);
            snprintf(why, cap, "%s: not registered in n8n (404), offered again at %s", path, at);
            return 1;
        }
    }
    return 0;
}

void deliver_set_local(struct deliver *d, unsigned long long seed)
{
    d->local = 1;
    d->rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    for (int w = 0; w < CATALOG_SLOTS; w++) {
        d->running_id[w] = 0;
        d->running_at[w] = 0;
    }
}

/* Nonzero when d keeps its workflow state in workflow_state (the live
 * worker): not local, and a database to keep it in. */
int deliver_shared(const struct deliver *d, PGconn *db)
{
    return db && !d->local;
}

/* Persist wf's circuit (live only).  Returns 0 or -1. */
int deliver_save_circuit(struct deliver *d, PGconn *db, int wf)
{
    if (!deliver_shared(d, db))
        return 0;
    const struct breaker *c = &d->circuit[wf];
    return store_wf_circuit(db, wf, breaker_name(c->state), c->failures, c->open_until, c->opened_at,
                            c->opens);
}

json_object *deliver_replace_json(const struct deliver *d)
{
    json_object *o = json_object_new_object(), *wfs = json_object_new_array();
    if (!o || !wfs) {
        json_object_put(o);
        json_object_put(wfs);
        return NULL;
    }
    for (int w = 0; w < catalog_count(); w++)
        if (d->policy[w] == DELIVER_REPLACE && catalog_workflow(w)->present)
            json_object_array_add(wfs, json_object_new_string(catalog_name(w)));
    int can = track_stop_enabled(d->cfg);
    json_object_object_add(o, "workflows", wfs);
    json_object_object_add(o, "can_stop", json_object_new_boolean(can));
    json_object_object_add(o, "detail", json_object_new_string(
        can ? "a replaced execution is stopped in n8n (internal REST API, owner login N8N_OWNER_EMAIL)"
            : "N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD not set: a replaced execution is marked superseded "
              "but goes on running in n8n"));
    json_object_object_add(o, "stopped", json_object_new_int64(d->stops.stopped));
    json_object_object_add(o, "ended", json_object_new_int64(d->stops.ended));
    json_object_object_add(o, "not_stopped", json_object_new_int64(d->stops.not_stopped));
    json_object_object_add(o, "last_error", d->stops.last_error[0] ? json_object_new_string(d->stops.last_error) : NULL);
    char at[32];
    if (d->stops.last_at)
        tu_iso8601(d->stops.last_at, at);
    json_object_object_add(o, "last_at", d->stops.last_at ? json_object_new_string(at) : NULL);
    return o;
}

/* worker_state.n8n.replace from d (live only).  Returns 0 or -1. */
int deliver_publish_replace(struct deliver *d, PGconn *db)
{
    if (!deliver_shared(d, db))
        return 0;
    json_object *o = deliver_replace_json(d);
    if (!o)
        return 0;
    int rc = store_worker_n8n_key(db, "replace", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return rc;
}

int deliver_load(struct deliver *d, PGconn *db)
{
    struct store_wf_state *st = calloc(CATALOG_SLOTS, sizeof *st);
    if (!st) {
        log_event(LOG_ERROR, "deliver.out_of_memory", NULL);
        return -1;
    }
    if (store_wf_load(db, st) < 0) {
        free(st);
        return -1;
    }
    for (int w = 0; w < catalog_count(); w++) {
        if (!st[w].present)
            continue;
        struct breaker *c = &d->circuit[w];
        d->unavailable[w] = !st[w].available;
        c->state = strcmp(st[w].circuit, "open") == 0 ? BREAKER_OPEN
                 : strcmp(st[w].circuit, "half_open") == 0 ? BREAKER_HALF_OPEN : BREAKER_CLOSED;
        c->failures = st[w].failures;
        c->open_until = st[w].open_until;
        c->opened_at = st[w].opened_at;
        c->opens = st[w].opens;
        d->unavailable_at[w] = st[w].available ? 0 : st[w].unavailable_since;
        /* what n8n's list said, when this worker reads it too (else it could be stale for good) */
        deliver_note_n8n(d, w, d->tracking ? st[w].n8n_active : -1, d->tracking ? st[w].n8n_seen_at : 0);
    }
    free(st);
    if (deliver_publish_policies(d, db) < 0)
        return -1;
    return store_next_retry(db, &d->next_retry_at);
}

int deliver_publish_policies(struct deliver *d, PGconn *db)
{
    for (int w = 0; w < catalog_count(); w++)
        if (catalog_workflow(w)->present && store_wf_policy(db, w, deliver_policy_name(d->policy[w])) < 0)
            return -1;
    if (deliver_publish_replace(d, db) < 0)
        return -1;
    int replace = 0;
    for (int w = 0; w < catalog_count(); w++)
        replace |= d->policy[w] == DELIVER_REPLACE && catalog_workflow(w)->present;
    if (replace && !track_stop_enabled(d->cfg))
        log_event(LOG_WARN, "workflow.replace_cannot_stop", "s:detail",
                  "a workflow's concurrency is 'replace' but N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD are not set: "
                  "replaced executions are marked superseded and go on running in n8n");
    return 0;
}

time_t deliver_next_due(const struct deliver *d) { return d->next_retry_at; }

void deliver_note_retry(struct deliver *d, time_t at)
{
    if (!d->next_retry_at || at < d->next_retry_at)
        d->next_retry_at = at;
}

/* Count one outcome of wf in its breaker and persist a change; alert when
 * it opens.  Returns 0 or -1. */
int deliver_breaker(struct deliver *d, PGconn *db, int wf, int ok, time_t now)
{
    struct breaker *c = &d->circuit[wf];
    if (ok && c->state == BREAKER_CLOSED && c->failures == 0)
        return 0;                                   /* nothing changes */
    int was = c->state;
    int opened = breaker_record(c, ok, now, d->cfg->workflow_breaker_failures,
                                        d->cfg->workflow_breaker_cooldown_seconds);
    const char *path = catalog_name(wf);
    if (opened) {
        log_event(LOG_WARN, "workflow.circuit_open", "s:workflow i:failures i:cooldown_seconds",
                  path, (long long)c->failures, (long long)d->cfg->workflow_breaker_cooldown_seconds);
        alert_circuit_open(d->alert, path, c->failures, d->cfg->workflow_breaker_cooldown_seconds);
    } else if (was != BREAKER_CLOSED && c->state == BREAKER_CLOSED) {
        log_event(LOG_INFO, "workflow.circuit_closed", "s:workflow", path);
    }
    return deliver_save_circuit(d, db, wf);
}

int deliver_note_outcome(struct deliver *d, PGconn *db, int wf, long long trigger_id, int ok, time_t now)
{
    if (wf < 0 || wf >= CATALOG_SLOTS)
        return 0;
    if (d->local && d->running_id[wf] == trigger_id)
        d->running_id[wf] = 0;
    if (ok < 0) {
        breaker_release(&d->circuit[wf], trigger_id);
        return 0;
    }
    return deliver_breaker(d, db, wf, ok, now);
}
