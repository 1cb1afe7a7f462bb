/* deliver: retries, circuit breakers, availability and concurrency of
 * webhook deliveries; see deliver.h. */
#include "config.h"
#include "deliver.h"
#include "fault.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "status.h"
#include "track.h"
#include "timeutil.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DELIVER_RETRIES_PER_TURN 16     /* retries sent per loop turn, at most */
#define DELIVER_SPEC_MAX 1024           /* longest WORKFLOW_CONCURRENCY accepted */

/* ---- pure parts ------------------------------------------------------------ */

const char *deliver_policy_name(int p)
{
    switch (p) {
    case DELIVER_ALLOW:   return "allow";
    case DELIVER_FORBID:  return "forbid";
    case DELIVER_REPLACE: return "replace";
    }
    return "allow";
}

/* The policy named s (n bytes), or -1. */
static int deliver_policy_lookup(const char *s, size_t n)
{
    for (int p = 0; p < DELIVER_POLICY_COUNT; p++) {
        const char *name = deliver_policy_name(p);
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return p;
    }
    return -1;
}

/* Trim spaces and tabs around s[0 .. *n): returns the new start, *n updated. */
static const char *deliver_trim(const char *s, size_t *n)
{
    while (*n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

int deliver_policy_parse(const char *spec, int strict, int out[CATALOG_SLOTS], char *err, size_t errlen)
{
    int set[CATALOG_SLOTS], def = -1;
    for (int w = 0; w < CATALOG_SLOTS; w++)
        set[w] = -1;
    if (!spec)
        spec = "";
    if (strlen(spec) > DELIVER_SPEC_MAX) {
        snprintf(err, errlen, "WORKFLOW_CONCURRENCY: longer than %d characters", DELIVER_SPEC_MAX);
        return -1;
    }
    size_t all = strlen(spec);
    const char *p = deliver_trim(spec, &all);
    while (all > 0) {
        const char *comma = memchr(p, ',', all);
        size_t n = comma ? (size_t)(comma - p) : all;
        size_t rest = comma ? all - n - 1 : 0;
        const char *item = deliver_trim(p, &n);
        const char *eq = n ? memchr(item, '=', n) : NULL;
        if (!eq) {
            snprintf(err, errlen, "WORKFLOW_CONCURRENCY: expected name=policy items separated by commas, got \"%.*s\"",
                     (int)(n > 60 ? 60 : n), item);
            return -1;
        }
        size_t nn = (size_t)(eq - item), vn = n - nn - 1;
        const char *name = deliver_trim(item, &nn), *val = deliver_trim(eq + 1, &vn);
        int pol = deliver_policy_lookup(val, vn);
        if (pol < 0) {
            snprintf(err, errlen, "WORKFLOW_CONCURRENCY: unknown policy \"%.*s\" for \"%.*s\" (expected forbid, allow or replace)",
                     (int)(vn > 40 ? 40 : vn), val, (int)(nn > 60 ? 60 : nn), name);
            return -1;
        }
        if (nn == 7 && memcmp(name, "default", 7) == 0) {
            if (def >= 0) {
                snprintf(err, errlen, "WORKFLOW_CONCURRENCY: \"default\" given twice");
                return -1;
            }
            def = pol;
        } else {
            char buf[CATALOG_NAME_MAX + 1];
            int w = -1;
            if (nn > 0 && nn < sizeof buf) {
                memcpy(buf, name, nn);
                buf[nn] = '\0';
                w = catalog_workflow_parse(buf);
                if (w >= 0 && !catalog_workflow(w)->present)
                    w = -1;
            }
            if (w < 0 && strict) {
                snprintf(err, errlen, "WORKFLOW_CONCURRENCY: \"%.*s\" is not a workflow of the catalog (nor \"default\")",
                         (int)(nn > 60 ? 60 : nn), name);
                return -1;
            }
            if (w >= 0 && set[w] >= 0) {
                snprintf(err, errlen, "WORKFLOW_CONCURRENCY: \"%s\" given twice", buf);
                return -1;
            }
            if (w >= 0)
                set[w] = pol;
        }
        if (!comma)
            break;
        p = comma + 1;
        all = rest;
        if (all == 0) {
            snprintf(err, errlen, "WORKFLOW_CONCURRENCY: ends with a comma");
            return -1;
        }
    }
    /* the override first, then its default, then the catalog's own */
    for (int w = 0; w < CATALOG_SLOTS; w++) {
        const struct catalog_wf *c = catalog_workflow(w);
        out[w] = set[w] >= 0 ? set[w] : def >= 0 ? def : c ? c->concurrency : DELIVER_ALLOW;
    }
    return 0;
}

const char *deliver_kind_name(int k)
{
    switch (k) {
    case DELIVER_KIND_TRANSPORT:      return "transport";
    case DELIVER_KIND_TIMEOUT:        return "timeout";
    case DELIVER_KIND_SERVER_ERROR:   return "server_error";
    case DELIVER_KIND_RATE_LIMITED:   return "rate_limited";
    case DELIVER_KIND_CLIENT_ERROR:   return "client_error";
    case DELIVER_KIND_NOT_REGISTERED: return "not_registered";
    case DELIVER_KIND_CIRCUIT_OPEN:   return "circuit_open";
    case DELIVER_KIND_CONCURRENCY:    return "concurrency";
    case DELIVER_KIND_TOO_BIG:        return "too_big";
    }
    return NULL;
}

int deliver_kind_of(const struct act_job *job)
{
    if (job->status == ACT_SENT)
        return DELIVER_KIND_NONE;
    if (job->transport_err == HTTP_ETOOBIG)
        return DELIVER_KIND_TOO_BIG;      /* n8n answered: the execution may run, do not start another */
    if (job->transport_err != HTTP_OK)
        return job->transport_err == HTTP_ETIMEOUT ? DELIVER_KIND_TIMEOUT : DELIVER_KIND_TRANSPORT;
    if (job->status == ACT_UNAVAILABLE)
        return DELIVER_KIND_NOT_REGISTERED;
    if (job->http_status == 429)
        return DELIVER_KIND_RATE_LIMITED;
    if (job->http_status >= 500 && job->http_status <= 599)
        return DELIVER_KIND_SERVER_ERROR;
    return DELIVER_KIND_CLIENT_ERROR;
}

int deliver_retryable(int k)
{
    return k == DELIVER_KIND_TRANSPORT || k == DELIVER_KIND_TIMEOUT || k == DELIVER_KIND_SERVER_ERROR ||
           k == DELIVER_KIND_RATE_LIMITED;
}

long deliver_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_ms, double u)
{
    if (retry_after_ms > max_ms)
        return -1;
    if (attempt < 1)
        attempt = 1;
    if (!(u >= 0) || u >= 1)
        u = 0;
    double e = (double)base_ms * pow(2.0, attempt > 30 ? 30 : attempt - 1);
    if (e > (double)max_ms)
        e = (double)max_ms;
    long wait = (long)(e / 2 + u * e / 2);
    if (wait < 1)
        wait = 1;
    if (retry_after_ms > wait)
        wait = retry_after_ms;
    return wait;
}

/* ---- the worker's state ------------------------------------------------------- */

/* A uniform number in [0,1) from d's generator (xorshift64*). */
static double deliver_rand(struct deliver *d)
{
    unsigned long long x = d->rng ? d->rng : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* Wall-clock milliseconds since the epoch. */
static long long deliver_now_ms(void)
{
    return tu_now_ms();
}

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
static int deliver_shared(const struct deliver *d, PGconn *db)
{
    return db && !d->local;
}

/* Persist wf's circuit (live only).  Returns 0 or -1. */
static int deliver_save_circuit(struct deliver *d, PGconn *db, int wf)
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
static int deliver_publish_replace(struct deliver *d, PGconn *db)
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

/* Count one outcome of wf in its breaker and persist a change; alert when
 * it opens.  Returns 0 or -1. */
static int deliver_breaker(struct deliver *d, PGconn *db, int wf, int ok, time_t now)
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

#define DELIVER_REPLACE_MAX 8       /* executions one trigger replaces, at most */

/* Concurrency 'replace': trigger tid of wf was accepted; supersede the
 * running older ones and stop their n8n executions when we can.
 * Returns 0 or -1 (database error). */
static int deliver_replace(struct deliver *d, PGconn *db, int wf, long long tid, time_t now)
{
    struct store_open old[DELIVER_REPLACE_MAX];
    int n = store_replace_targets(db, wf, tid, old, DELIVER_REPLACE_MAX);
    if (n <= 0)
        return n;
    const char *path = catalog_name(wf);
    for (int i = 0; i < n; i++) {
        char status[32] = "", err[200] = "", note[300];
        enum track_stop r;
        if (!old[i].execution_id[0]) {
            r = TRACK_STOP_FAILED;
            snprintf(err, sizeof err, "no execution id known: its n8n execution, if any, was not stopped");
        } else {
            r = track_stop_execution(&d->stopper, old[i].execution_id, status, sizeof status, err, sizeof err);
        }
        const char *so = r == TRACK_STOP_STOPPED ? "stopped" : r == TRACK_STOP_ENDED ? "ended" : "not_stopped";
        if (r == TRACK_STOP_STOPPED) {
            d->stops.stopped++;
            snprintf(note, sizeof note, "n8n execution %s stopped (%s)", old[i].execution_id, status[0] ? status : "?");
        } else if (r == TRACK_STOP_ENDED) {
            d->stops.ended++;
            snprintf(note, sizeof note, "n8n execution %s not stopped: %s", old[i].execution_id, err);
        } else {
            d->stops.not_stopped++;
            snprintf(note, sizeof note, "NOT stopped, it may still run in n8n: %s", err);
            snprintf(d->stops.last_error, sizeof d->stops.last_error, "%s", err);
        }
        d->stops.last_at = now;
        if (store_supersede_one(db, old[i].id, tid, so, r == TRACK_STOP_STOPPED && status[0] ? status : NULL, note) < 0)
            return -1;
        log_event(r == TRACK_STOP_FAILED || r == TRACK_STOP_DISABLED ? LOG_WARN : LOG_INFO, "workflow.superseded",
                  "s:workflow i:trigger_id i:superseded_trigger_id s:execution_id s:stop s:detail", path, tid,
                  old[i].id, old[i].execution_id[0] ? old[i].execution_id : NULL, so, note);
    }
    return deliver_publish_replace(d, db);
}

/* deliver_attempted when n8n accepted trigger tid (workflow wf): recorded
 * sent (with its execution id, when the answer gave one); availability,
 * breaker and the replace policy updated.  Returns DELIVER_SENT_FOLLOWED
 * or DELIVER_SENT_OK, or -2 on a database error. */
static int deliver_sent(struct deliver *d, PGconn *db, long long tid, int wf, const struct act_job *job, time_t now)
{
    const char *path = catalog_name(wf);
    char *eid = track_parse_webhook_answer(job->response);
    if (db && store_trigger_attempt(db, tid, "sent", job, NULL, 0, eid) < 0) {
        free(eid);
        return -2;
    }
    int rc = 0;
    if (d->unavailable[wf]) {
        d->unavailable[wf] = 0;
        log_event(LOG_INFO, "workflow.available", "s:workflow i:trigger_id", path, tid);
        rc = deliver_shared(d, db) ? store_wf_available(db, wf, 1, NULL) : 0;
    }
    if (d->local) {
        /* running until its end is noted (deliver_note_outcome); a
         * replace supersedes the previous one in memory */
        d->running_id[wf] = tid;
        d->running_at[wf] = now;
    }
    /* without a way to follow the execution, an accepted delivery is the success we can see */
    if (rc == 0 && (!d->tracking || !eid))
        rc = deliver_breaker(d, db, wf, 1, now);
    if (rc == 0 && d->policy[wf] == DELIVER_REPLACE && deliver_shared(d, db))
        rc = deliver_replace(d, db, wf, tid, now);
    int followed = deliver_end_followed(d, wf, eid);
    free(eid);
    if (rc < 0)
        log_event(LOG_WARN, "workflow.state_not_saved", "s:workflow i:trigger_id", path, tid);
    return followed ? DELIVER_SENT_FOLLOWED : DELIVER_SENT_OK;
}

/* Record one attempt of trigger tid (workflow wf, attempts tries so far,
 * this one included) at now: sent, retrying, failed or unavailable; update
 * availability, breaker, the replace policy and alerts.  Returns
 * DELIVER_SENT_FOLLOWED or _OK (sent), _FAILED (for good), _RETRYING,
 * _UNAVAILABLE, or -2 on a database error. */
static int deliver_attempted(struct deliver *d, PGconn *db, long long tid, int wf, const struct act_job *job_in,
                             int attempts, time_t now)
{
    struct act_job job = *job_in;
    const char *path = catalog_name(wf);
    int kind = deliver_kind_of(&job);
    if (kind == DELIVER_KIND_NONE)
        return deliver_sent(d, db, tid, wf, &job, now);
    if (deliver_retryable(kind) && attempts < d->cfg->webhook_max_attempts) {
        long wait = deliver_backoff_ms(attempts, d->cfg->webhook_retry_base_ms, d->cfg->webhook_retry_max_ms,
                                       job.retry_after_ms, deliver_rand(d));
        if (wait >= 0) {
            long long at_ms = (d->local ? (long long)now * 1000LL : deliver_now_ms()) + wait;
            if (db && store_trigger_attempt(db, tid, trigger_status_name(TRIGGER_RETRYING), &job, deliver_kind_name(kind), at_ms, NULL) < 0)
                return -2;
            time_t at = (time_t)((at_ms + 999) / 1000);
            if (!d->next_retry_at || at < d->next_retry_at)
                d->next_retry_at = at;
            log_event(LOG_INFO, "hook.retry_scheduled", "s:workflow i:trigger_id i:attempt s:kind i:wait_ms i:retry_after_ms",
                      path, tid, (long long)attempts, deliver_kind_name(kind), (long long)wait,
                      (long long)job.retry_after_ms);
            return -1;
        }
        size_t n = strlen(job.error);
        snprintf(job.error + n, sizeof job.error - n, "; retry-after %ld s exceeds WEBHOOK_RETRY_MAX_MS: not retried",
                 job.retry_after_ms / 1000);
    } else if (deliver_retryable(kind) && attempts > 1) {
        size_t n = strlen(job.error);
        snprintf(job.error + n, sizeof job.error - n, " (after %d attempts)", attempts);
    }
    const char *st = trigger_status_name(kind == DELIVER_KIND_NOT_REGISTERED ? TRIGGER_UNAVAILABLE : TRIGGER_FAILED);
    if (kind == DELIVER_KIND_TOO_BIG) {
        size_t n = strlen(job.error);
        snprintf(job.error + n, sizeof job.error - n, " (HTTP %ld): not retried, its execution may have started",
                 job.http_status);
    }
    if (db && store_trigger_attempt(db, tid, st, &job, deliver_kind_name(kind), 0, NULL) < 0)
        return -2;
    int rc = 0;   /* the trigger is recorded: what follows may fail without undoing it */
    if (kind == DELIVER_KIND_NOT_REGISTERED) {
        d->unavailable_at[wf] = now;
        /* not the run's failure: the probe (if it was one) is over */
        breaker_release(&d->circuit[wf], tid);
        /* alerted once, when it becomes unavailable */
        if (!d->unavailable[wf]) {
            d->unavailable[wf] = 1;
            log_event(LOG_WARN, "workflow.unavailable", "s:workflow i:trigger_id s:error", path, tid, job.error);
            rc = deliver_shared(d, db) ? store_wf_available(db, wf, 0, job.error) : 0;
            alert_workflow_failed(d->alert, path, st, NULL, job.error);
        }
    } else {
        /* alerted each time: the breaker bounds how often */
        rc = deliver_breaker(d, db, wf, 0, now);
        alert_workflow_failed(d->alert, path, st, NULL, job.error);
    }
    if (rc < 0)
        log_event(LOG_WARN, "workflow.state_not_saved", "s:workflow i:trigger_id", path, tid);
    return kind == DELIVER_KIND_NOT_REGISTERED ? DELIVER_SENT_UNAVAILABLE : DELIVER_SENT_FAILED;
}

/* The status store_decision_settle would give a decision whose triggers
 * ended as sent[] says (no database: the replay's --no-db): the same rule
 * (decision_status_settle, status.h) on what was sent; bad[i] marks a
 * trigger that counts as failed (a circuit-open skip among the skipped).
 * Writes "acting" while a retry is pending. */
static void deliver_settle_local(const struct store_decision *sd, const int *sent, const int *bad, char status[16])
{
    struct trigger_state t[STORE_MAX_TRIGGERS];
    int n = sd->ntriggers < STORE_MAX_TRIGGERS ? sd->ntriggers : STORE_MAX_TRIGGERS;
    for (int i = 0; i < n; i++) {
        int s = sent[i] >= DELIVER_SENT_OK ? TRIGGER_SENT
              : sent[i] == DELIVER_SENT_RETRYING ? TRIGGER_RETRYING
              : sent[i] == DELIVER_SENT_FAILED ? TRIGGER_FAILED
              : sent[i] == DELIVER_SENT_UNAVAILABLE ? TRIGGER_UNAVAILABLE : TRIGGER_SKIPPED;
        t[i] = (struct trigger_state){ .status = s, .outcome = -1, .circuit_open = s == TRIGGER_SKIPPED && bad[i] };
    }
    snprintf(status, 16, "%s", decision_status_name(decision_status_settle(t, n)));
}

/* A local d: the newest trigger of wf other than except still running
 * at now (sent, end not known, within TRACK_TIMEOUT_SECONDS), or 0. */
static long long deliver_running_local(const struct deliver *d, int wf, long long except, time_t now)
{
    long long id = d->running_id[wf];
    if (!id || id == except || now - d->running_at[wf] >= deliver_timeout(d, wf))
        return 0;
    return id;
}

/* The learning market of workflow wf, or -1. */
static int deliver_learn_market(int wf)
{
    const struct catalog_wf *w = catalog_workflow(wf);
    if (!w)
        return -1;
    return w->market == MARKET_CRYPTO ? LEARN_CRYPTO : w->market == MARKET_FOREX ? LEARN_FOREX : -1;
}

/* Describe one POST of trigger tid for a transport's start: its learning
 * context is its market's band, bucket and exposure now (-1: unknown). */
static void deliver_item(const struct deliver *d, struct outbox_item *it, long long tid, long long did, int wf,
                         int attempts, int intensity, const char *key, const char *payload, time_t now)
{
    memset(it, 0, sizeof *it);
    it->trigger_id = tid;
    it->decision_id = did;
    it->wf = wf;
    it->attempts = attempts;
    it->intensity = intensity;
    it->band = it->bucket = -1;
    it->at = now;
    int m = deliver_learn_market(wf);
    if (d->learn && m >= 0) {
        it->band = d->learn->m[m].band;
        it->bucket = d->learn->m[m].bucket;
        it->exposure = d->learn->m[m].exposure;
    }
    snprintf(it->key, sizeof it->key, "%s", key);
    it->payload = (char *)payload;        /* copied by the transport */
    it->job.workflow = catalog_name(wf);
    it->job.key = it->key;
    it->job.payload = payload;
    it->job.trigger_id = tid;
    it->job.decision_id = did;
}

void deliver_set_transport(struct deliver *d, const struct deliver_transport *tp) { d->transport = tp; }

int deliver_completed(struct deliver *d, PGconn *db, const struct outbox_item *it, time_t now)
{
    int r = deliver_attempted(d, db, it->trigger_id, it->wf, &it->job, it->attempts, now);
    if (r == -2)
        return -1;
    FAULT("answer.attempt_recorded");
    int m = deliver_learn_market(it->wf);
    /* a run's success: known now only when its end cannot be followed;
     * a 404 is the workflow's failure, not the run's */
    int ok = r == DELIVER_SENT_OK ? 1 : r == DELIVER_SENT_FAILED ? 0 : -1;
    if (ok >= 0 && d->learn && m >= 0 && it->band >= 0 && it->intensity >= 0)
        learn_observe(d->learn, m, it->band, it->bucket, it->intensity, ok, -1, it->exposure, now);
    char st[16];
    if (store_decision_settle(db, it->decision_id, st, sizeof st) < 0 ||
        (deliver_shared(d, db) && store_wf_running(db, d->cfg->track_timeout_seconds) < 0))
        log_event(LOG_WARN, "cycle.settle_failed", "i:decision_id", it->decision_id);
    return 0;
}

/* deliver_decision's gate for trigger t: the workflow's breaker, then its
 * concurrency policy (forbid: not while one of its runs is running).
 * Returns 0 to send it, 1 when it was skipped (recorded; *bad set when it
 * counts as failed, the circuit being open), or -1 on a database error. */
static int deliver_gate(struct deliver *d, PGconn *db, const struct store_trigger *t, time_t now, int *bad)
{
    const char *path = catalog_name(t->wf);
    struct breaker *c = &d->circuit[t->wf];
    char err[256];
    int was = c->state;
    if (!breaker_allow(c, now, t->id, d->cfg->track_timeout_seconds)) {
        char until[32];
        tu_iso8601(c->open_until, until);
        if (c->state == BREAKER_HALF_OPEN)
            snprintf(err, sizeof err, "skipped: circuit half open, probe trigger #%lld running "
                     "(one trigger until its outcome is known)", c->probe_id);
        else
            snprintf(err, sizeof err, "skipped: circuit open after %ld failures in a row, until %s "
                     "(WORKFLOW_BREAKER_COOLDOWN_SECONDS)", c->failures, until);
        log_event(LOG_WARN, "hook.skipped", "s:workflow i:trigger_id s:kind", path, t->id, "circuit_open");
        if (db && store_trigger_skip(db, t->id, deliver_kind_name(DELIVER_KIND_CIRCUIT_OPEN), err) < 0)
            return -1;
        *bad = 1;
        return 1;
    }
    if (c->state != was) {
        log_event(LOG_INFO, "workflow.circuit_half_open", "s:workflow i:trigger_id", path, t->id);
        if (deliver_save_circuit(d, db, t->wf) < 0)
            return -1;
    }
    if (d->policy[t->wf] != DELIVER_FORBID)
        return 0;
    long long rid = 0;
    char eid[72] = "", rst[16] = "sent";
    int r;
    if (deliver_shared(d, db))
        r = store_running_trigger(db, t->wf, deliver_timeout(d, t->wf), t->id, &rid, eid, sizeof eid, rst);
    else
        r = (rid = deliver_running_local(d, t->wf, t->id, now)) != 0;
    if (r < 0)
        return -1;
    if (r != 1)
        return 0;
    /* not sent: if it was the circuit's probe, the next one may probe */
    breaker_release(c, t->id);
    snprintf(err, sizeof err, "skipped: trigger #%lld (%s%s%s) of this workflow is still running "
             "(concurrency forbid)", rid, rst, *eid ? ", execution " : "", eid);
    log_event(LOG_INFO, "hook.skipped", "s:workflow i:trigger_id s:kind i:running_trigger_id",
              path, t->id, "concurrency", rid);
    if (db && store_trigger_skip(db, t->id, deliver_kind_name(DELIVER_KIND_CONCURRENCY), err) < 0)
        return -1;
    return 1;
}

/* deliver_decision without a transport's start: the n jobs (triggers
 * go[]) fired and waited for, their outcomes recorded into sent[], the
 * decision settled into status.  Returns 0. */
static int deliver_decision_sync(struct deliver *d, PGconn *db, const struct store_decision *sd, time_t now,
                                 const struct deliver_transport *tp, struct act_job *jobs, const int *go, int n,
                                 int *sent, const int *bad, char status[16])
{
    if (n > 0 && tp && tp->fire)
        tp->fire(tp->user, jobs, n);
    else if (n > 0)
        act_fire_many(d->cfg, jobs, n);
    for (int k = 0; k < n; k++) {
        const struct store_trigger *t = &sd->t[go[k]];
        int r = deliver_attempted(d, db, t->id, t->wf, &jobs[k], 1, now);
        if (r == -2)
            log_event(LOG_ERROR, "cycle.result_not_recorded", "i:trigger_id", t->id);
        sent[go[k]] = r == -2 ? DELIVER_SENT_OK : r;
    }
    /* without the database this is the decision's status; with it, what
     * the database's rule should give: the replay's batched writer goes on
     * with it and checks the database's answer when it arrives */
    char local[16], st[16];
    deliver_settle_local(sd, sent, bad, local);
    if (!db) {
        snprintf(status, 16, "%s", local);
        return 0;
    }
    int settled = store_decision_settle_expect(db, sd->id, local, st, sizeof st);
    if (settled == 1)
        snprintf(status, 16, "%s", st);
    if (deliver_shared(d, db) && store_wf_running(db, d->cfg->track_timeout_seconds) < 0)
        log_event(LOG_WARN, "workflow.running_not_counted", NULL);
    return 0;
}

int deliver_decision(struct deliver *d, PGconn *db, const struct store_decision *sd, time_t now,
                     const struct deliver_transport *tp, int *sent, char status[16])
{
    struct act_job jobs[DECIDE_MAX_WF];
    int go[DECIDE_MAX_WF], bad[DECIDE_MAX_WF], n = 0;
    memset(jobs, 0, sizeof jobs);
    memset(bad, 0, sizeof bad);
    snprintf(status, 16, "%s", decision_status_name(DECISION_ACTING));
    for (int i = 0; i < sd->ntriggers; i++) {
        const struct store_trigger *t = &sd->t[i];
        sent[i] = DELIVER_SENT_SKIPPED;
        int g = deliver_gate(d, db, t, now, &bad[i]);
        if (g < 0)
            return -1;
        if (g > 0)
            continue;
        go[n] = i;
        jobs[n].workflow = catalog_name(t->wf);
        jobs[n].payload = t->payload;
        jobs[n].key = t->key;
        jobs[n].trigger_id = t->id;
        jobs[n].decision_id = sd->id;
        n++;
    }
    /* commit 'sending' (attempts 1) before any POST */
    FAULT("deliver.before_sending");
    if (store_mark_sending(db, sd->id) < 0)
        return -1;
    FAULT("deliver.marked_sending");
    if (!(n > 0 && tp && tp->start))
        return deliver_decision_sync(d, db, sd, now, tp, jobs, go, n, sent, bad, status);
    /* live: the POSTs go out without waiting; each answer is recorded
     * as it arrives (deliver_completed) */
    for (int k = 0; k < n; k++) {
        const struct store_trigger *t = &sd->t[go[k]];
        struct outbox_item it;
        deliver_item(d, &it, t->id, sd->id, t->wf, 1, sd->intensity, t->key, t->payload, now);
        if (tp->start(tp->user, &it) < 0)
            log_event(LOG_ERROR, "hook.not_started", "s:workflow i:trigger_id", jobs[k].workflow, t->id);
        sent[go[k]] = DELIVER_SENT_RETRYING;
    }
    return 0;
}

/* deliver_retry_due's gate for the due retry t: dropped when its result
 * arrived (the first attempt reached n8n), skipped when the workflow's
 * circuit is open or (forbid) one of its runs is running; each recorded
 * and its decision settled.  Returns 0 to send it, 1 when it was dropped
 * or skipped, or -1 on a database error. */
static int deliver_retry_gate(struct deliver *d, PGconn *db, const struct store_retry *t, time_t now)
{
    const char *path = catalog_name(t->wf);
    char st[16];
    if (t->has_result) {
        log_event(LOG_INFO, "hook.retry_dropped", "s:workflow i:trigger_id s:reason", path, t->id,
                  "its result arrived: the first attempt reached n8n");
        if (store_delivered_by_result(db, t->id) < 0 || store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
            return -1;
        return 1;
    }
    struct breaker *c = &d->circuit[t->wf];
    int was = c->state;
    if (!breaker_allow(c, now, t->id, d->cfg->track_timeout_seconds)) {
        struct act_job j;
        memset(&j, 0, sizeof j);
        j.retry_after_ms = -1;
        snprintf(j.error, sizeof j.error, "retry not sent: circuit open after %ld failures in a row", c->failures);
        log_event(LOG_WARN, "hook.skipped", "s:workflow i:trigger_id s:kind", path, t->id, "circuit_open");
        if (store_trigger_attempt(db, t->id, "failed", &j, deliver_kind_name(DELIVER_KIND_CIRCUIT_OPEN), 0, NULL) < 0 ||
            store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
            return -1;
        return 1;
    }
    if (c->state != was && deliver_save_circuit(d, db, t->wf) < 0)
        return -1;
    if (d->policy[t->wf] != DELIVER_FORBID)
        return 0;
    long long rid = 0;
    char eid[72] = "", rst[16] = "";
    int f = store_running_trigger(db, t->wf, deliver_timeout(d, t->wf), t->id, &rid, eid, sizeof eid, rst);
    if (f < 0)
        return -1;
    if (f != 1)
        return 0;
    char err[200];
    snprintf(err, sizeof err, "retry not sent: trigger #%lld (%s%s%s) of this workflow is running "
             "(concurrency forbid)", rid, rst, *eid ? ", execution " : "", eid);
    log_event(LOG_INFO, "hook.skipped", "s:workflow i:trigger_id s:kind i:running_trigger_id",
              path, t->id, "concurrency", rid);
    breaker_release(c, t->id);
    if (store_retry_skip(db, t->id, deliver_kind_name(DELIVER_KIND_CONCURRENCY), err) < 0 ||
        store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
        return -1;
    return 1;
}

/* deliver_retry_due's outcomes of the n retries fired and waited for
 * (rows[go[k]], jobs[k]): recorded, learned from, their decisions
 * settled.  Returns 0 or -1 (database error). */
static int deliver_retry_record(struct deliver *d, PGconn *db, const struct store_retry *rows, const int *go,
                                const struct act_job *jobs, int n, time_t now)
{
    char st[16];
    for (int k = 0; k < n; k++) {
        const struct store_retry *t = &rows[go[k]];
        int r = deliver_attempted(d, db, t->id, t->wf, &jobs[k], t->attempts + 1, now);
        if (r == -2)
            return -1;
        int m = deliver_learn_market(t->wf);
        /* a run's success: known now only when its end cannot be followed;
         * a 404 is the workflow's failure, not the run's */
        int ok = r == DELIVER_SENT_OK ? 1 : r == DELIVER_SENT_FAILED ? 0 : -1;
        if (ok >= 0 && d->learn && m >= 0 && t->band >= 0 && t->intensity >= 0)
            learn_observe(d->learn, m, t->band, t->bucket, t->intensity, ok, -1, t->exposure, now);
        if (store_decision_settle(db, t->decision_id, st, sizeof st) < 0)
            return -1;
    }
    return 0;
}

int deliver_retry_due(struct deliver *d, PGconn *db, time_t now)
{
    if (!d->next_retry_at || now < d->next_retry_at)
        return 0;
    struct store_retry rows[DELIVER_RETRIES_PER_TURN];
    struct act_job jobs[DELIVER_RETRIES_PER_TURN];
    int go[DELIVER_RETRIES_PER_TURN], n = 0, n_async = 0;
    int nrows = store_due_retries(db, now, rows, DELIVER_RETRIES_PER_TURN);
    if (nrows < 0)
        return -1;
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < nrows; i++) {
        struct store_retry *t = &rows[i];
        const char *path = catalog_name(t->wf);
        int g = deliver_retry_gate(d, db, t, now);
        if (g < 0)
            goto fail;
        if (g > 0)
            continue;
        FAULT("retry.before_sending");
        int r = store_retry_sending(db, t->id);
        if (r < 0)
            goto fail;
        if (r == 1)
            continue;
        FAULT("retry.marked_sending");
        if (d->transport && d->transport->start) {
            /* live: out without waiting; recorded by deliver_completed */
            struct outbox_item it;
            deliver_item(d, &it, t->id, t->decision_id, t->wf, t->attempts + 1, t->intensity, t->key, t->payload, now);
            it.band = t->band;
            it.bucket = t->bucket;
            it.exposure = t->exposure;
            if (d->transport->start(d->transport->user, &it) < 0)
                log_event(LOG_ERROR, "hook.not_started", "s:workflow i:trigger_id", path, t->id);
            n_async++;
            continue;
        }
        go[n] = i;
        jobs[n].workflow = path;
        jobs[n].payload = t->payload;
        jobs[n].key = t->key;
        jobs[n].trigger_id = t->id;
        jobs[n].decision_id = t->decision_id;
        n++;
    }
    if (n > 0)
        act_fire_many(d->cfg, jobs, n);
    if (deliver_retry_record(d, db, rows, go, jobs, n, now) < 0)
        goto fail;
    store_retries_clear(rows, nrows);
    if (store_next_retry(db, &d->next_retry_at) < 0)
        return -1;
    if (n > 0 && store_wf_running(db, d->cfg->track_timeout_seconds) < 0)
        return -1;
    return n + n_async;
fail:
    store_retries_clear(rows, nrows);
    return -1;
}
