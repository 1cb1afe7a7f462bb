/* follow: executions followed to their end; see follow.h. */
#include "config.h"
#include "follow.h"
#include "catalog_file.h"
#include "learn_wf.h"
#include "log.h"
#include "prompt.h"
#include "sense.h"
#include "store.h"
#include "track.h"
#include "track_find.h"
#include "track_workflows.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLLOW_MAX_BATCHES 8       /* follow_results: batches per call, at most */

void follow_init(struct follow *f, const struct cfg *c, struct deliver *d, struct learn *l, struct alert *a)
{
    memset(f, 0, sizeof *f);
    f->cfg = c;
    f->deliver = d;
    f->learn = l;
    f->alert = a;
    f->tracking = track_enabled(c);
    f->results_expected = c->results_token && *c->results_token;
}

/* The learning market of workflow wf, or -1 (health check, deep analysis). */
static int follow_market(int wf)
{
    const struct catalog_wf *w = catalog_workflow(wf);
    if (!w)
        return -1;
    return w->market == MARKET_CRYPTO ? LEARN_CRYPTO : w->market == MARKET_FOREX ? LEARN_FOREX : -1;
}

/* Nonzero when an outcome is a failure of the workflow: failed, crashed,
 * timed out, or canceled (stopped by someone else: our own 'replace'
 * gives 'superseded'). */
static int follow_failed(const char *outcome)
{
    return strcmp(outcome, "failed") == 0 || strcmp(outcome, "crashed") == 0 || strcmp(outcome, "timed_out") == 0 ||
           strcmp(outcome, "canceled") == 0;
}

int follow_handle(struct follow *f, const struct sink *s, const struct store_unsettled *u, time_t now)
{
    PGconn *db = sink_db(s);
    const char *path = catalog_name(u->wf);
    int m = follow_market(u->wf);
    int band, bucket;
    learn_ctx_indices(u->ctx.band, u->ctx.session, &band, &bucket);
    int can_learn = f->learn && m >= 0 && band >= 0 && u->ctx.intensity >= 0;
    /* the run's success: learned here when its end was being followed (it
     * was not counted at delivery, deliver_end_followed); a failure always
     * counts.  A scan that failed (its execution, or its posted result
     * says error) found nothing to learn from: its opportunities are not fed. */
    int failed = u->need_settle && follow_failed(u->outcome);
    int result_error = strcmp(u->result_status, "error") == 0;
    int at_end = deliver_end_followed(f->deliver, u->wf, u->execution_id);
    int success = -1;
    if (failed)
        success = 0;
    else if (u->need_settle && strcmp(u->outcome, "succeeded") == 0 && at_end)
        success = 1;
    int opportunities = u->need_learn && u->opportunities >= 0 && !result_error && !failed ? u->opportunities : -1;
    int learned = 0;
    if (f->learn && (success >= 0 || opportunities >= 0)) {
        learn_wf_observe(f->learn, u->wf, success, opportunities, now);
        learned = 1;
    }
    if (can_learn && (success >= 0 || opportunities >= 0)) {
        learn_observe(f->learn, m, band, bucket, u->ctx.intensity, success, opportunities, u->ctx.exposure, now);
        learned = 1;
    }
    if (u->need_learn && u->opportunities >= 0)
        log_event(LOG_INFO, "result.learned", "s:workflow i:trigger_id s:execution_id s:status i:opportunities b:learned",
                  path, u->id, u->execution_id[0] ? u->execution_id : NULL, u->result_status[0] ? u->result_status : NULL,
                  (long long)u->opportunities, can_learn && opportunities >= 0);
    if (u->need_settle) {
        const char *o = u->outcome;
        log_event(failed ? LOG_WARN : LOG_INFO, "execution.finished",
                  "s:workflow i:trigger_id i:decision_id s:execution_id s:outcome i:opportunities s:error",
                  path, u->id, u->decision_id, u->execution_id[0] ? u->execution_id : NULL, o,
                  (long long)u->opportunities, failed && u->error[0] ? u->error : NULL);
        /* succeeded or failed count in the breaker; any other end (superseded)
         * only ends a half-open circuit's probe */
        int verdict = failed ? 0 : strcmp(o, "succeeded") == 0 ? 1 : -1;
        if (deliver_note_outcome(f->deliver, db, u->wf, u->id, verdict, now) < 0)
            return -1;
        if (failed)
            alert_workflow_failed(f->alert, path, o, u->execution_id[0] ? u->execution_id : NULL,
                                  u->error[0] ? u->error : NULL);
        char st[16];
        if (sink_settle(s, u->decision_id, NULL, st, sizeof st) < 0)
            return -1;
    }
    if (!learned || !f->learn_scope)
        return sink_trigger_handled(s, u->id, u->need_settle, u->need_learn, NULL, NULL, NULL, now);
    /* saved with the mark that it was learned: a restart neither loses nor repeats it */
    json_object *j = learn_to_json(f->learn), *sj = learn_summary_json(f->learn, now, 1);
    const char *state = j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : NULL;
    const char *summary = sj ? json_object_to_json_string_ext(sj, JSON_C_TO_STRING_PLAIN) : NULL;
    int rc = sink_trigger_handled(s, u->id, u->need_settle, u->need_learn, f->learn_scope, state, summary, now);
    json_object_put(j);
    json_object_put(sj);
    return rc;
}

int follow_results(struct follow *f, PGconn *db, time_t now)
{
    struct store_unsettled rows[FOLLOW_BATCH];
    int total = 0;
    struct sink sk = sink_pg(db);
    for (int batch = 0; batch < FOLLOW_MAX_BATCHES; batch++) {
        int n = store_unsettled(db, rows, FOLLOW_BATCH);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (follow_handle(f, &sk, &rows[i], now) < 0)
                return -1;
        total += n;
        if (n < FOLLOW_BATCH)
            break;
    }
    if (total > 0 && store_wf_running(db, f->cfg->track_timeout_seconds) < 0)
        return -1;
    return total;
}

/* What one lookup of an unknown trigger u found, written: found -> sent
 * with its execution; not found (every execution since it was decided
 * read, ended, with its data) -> sent again while it is younger than
 * OUTBOX_MAX_AGE_SECONDS, else left unknown; one of them still running ->
 * looked up again later (while younger than TRACK_TIMEOUT_SECONDS: then it
 * stays unknown, never sent twice); failed -> counted, looked up again.
 * Returns 1 when the trigger changed, 0, or -1 on a database error. */
static int follow_unknown_one(struct follow *f, PGconn *db, const struct store_unknown *u, time_t now)
{
    struct track_found fd;
    enum track_err e = track_find_key(f->cfg, u->n8n_id, u->key, u->since_ms, &fd);
    const char *path = catalog_name(u->wf);
    enum store_find what = STORE_FIND_FAILED;
    char note[200] = "";
    if (e == TRACK_OK && fd.result == TRACK_FOUND) {
        what = STORE_FIND_FOUND;
        snprintf(note, sizeof note, "delivered: n8n execution %s carries its key", fd.execution_id);
    } else if (e == TRACK_OK && fd.result == TRACK_UNDECIDED && fd.unreadable > 0) {
        what = STORE_FIND_WAIT;          /* one of its window still runs: asked again later */
    } else if (e == TRACK_OK && fd.result == TRACK_NOT_FOUND) {
        int resend = u->age_s < f->cfg->outbox_max_age_seconds;
        what = resend ? STORE_FIND_RESEND : STORE_FIND_MISSING;
        snprintf(note, sizeof note, "none of n8n's %d execution(s) since it was decided carries its key: %s",
                 fd.executions, resend ? "not delivered, sent again"
                                       : "not delivered, too old to send (OUTBOX_MAX_AGE_SECONDS)");
    }
    int rc = store_unknown_found(db, u->id, what, fd.execution_id, note);
    if (rc < 0)
        return -1;
    if (rc == 0 || what == STORE_FIND_FAILED || what == STORE_FIND_WAIT) {
        if (rc == 1 && what == STORE_FIND_WAIT)
            log_event(LOG_INFO, "trigger.lookup_waiting", "s:workflow i:trigger_id s:key i:running", path, u->id, u->key,
                      (long long)fd.unreadable);
        if (what == STORE_FIND_FAILED)
            log_event(LOG_WARN, "trigger.lookup_failed", "s:workflow i:trigger_id s:key s:error", path, u->id,
                      u->key, e == TRACK_OK ? "n8n's executions since it was decided are more than the pages read"
                                            : fd.error);
        return 0;
    }
    if (what == STORE_FIND_RESEND)
        deliver_note_retry(f->deliver, now);
    static const char *const words[] = { "found", "sent_again", "not_found", "failed", "waiting" };
    log_event(what == STORE_FIND_MISSING ? LOG_WARN : LOG_INFO, "trigger.reconciled",
              "s:workflow i:trigger_id s:key s:result s:execution_id s:execution_status i:executions_read",
              path, u->id, u->key, words[what], fd.execution_id[0] ? fd.execution_id : NULL,
              fd.status[0] ? fd.status : NULL, (long long)fd.executions);
    char st[16];
    return store_decision_settle(db, u->decision_id, st, sizeof st) < 0 ? -1 : 1;
}

/* Triggers left 'unknown' (a worker died while sending to a workflow that
 * does not claim its key) looked up among n8n's executions, a few per
 * pass.  Returns how many changed, or -1 on a database error. */
static int follow_unknown(struct follow *f, PGconn *db, time_t now)
{
    struct store_unknown u[FOLLOW_FIND_MAX];
    int n = store_unknown_open(db, u, FOLLOW_FIND_MAX, f->cfg->track_poll_seconds * 6L, f->cfg->track_timeout_seconds);
    int changed = 0;
    for (int i = 0; i < n; i++) {
        int rc = follow_unknown_one(f, db, &u[i], now);
        if (rc < 0)
            return -1;
        changed += rc;
    }
    return n < 0 ? -1 : changed;
}

int follow_track(struct follow *f, PGconn *db, time_t now)
{
    if (!f->tracking && !f->results_expected)
        return 0;
    if (now < f->next_poll_at)
        return 0;
    f->next_poll_at = now + f->cfg->track_poll_seconds;
    int found = 0;
    if (f->tracking && follow_unknown(f, db, now) < 0)
        return -1;
    if (f->tracking) {
        struct store_open open[FOLLOW_POLL_MAX];
        struct track_exec ex[FOLLOW_POLL_MAX];
        enum track_err errs[FOLLOW_POLL_MAX];
        const char *ids[FOLLOW_POLL_MAX];
        int n = store_open_tracked(db, open, FOLLOW_POLL_MAX);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            ids[i] = open[i].execution_id;
        if (n > 0)
            track_fetch_many(f->cfg, ids, (size_t)n, ex, errs);
        for (int i = 0; i < n; i++) {
            int rc = 0;
            switch (errs[i]) {
            case TRACK_OK: {
                const char *o = track_outcome(ex[i].status, open[i].started, now, f->cfg->track_timeout_seconds);
                rc = store_track_update(db, open[i].id, track_status_name(ex[i].status), ex[i].started_ms,
                                        ex[i].stopped_ms, ex[i].workflow_id, o);
                if (o)
                    found++;
                break;
            }
            case TRACK_EGONE:
                log_event(LOG_INFO, "track.execution_gone", "i:trigger_id s:execution_id s:detail", open[i].id,
                          open[i].execution_id, "n8n no longer has it: its result or the timeout will close it");
                rc = store_track_failed(db, open[i].id, 1);
                break;
            default:
                rc = store_track_failed(db, open[i].id, 0);
                break;
            }
            if (rc < 0)
                return -1;
        }
    }
    long k = store_time_out(db, f->cfg->track_timeout_seconds, f->results_expected);
    if (k < 0)
        return -1;
    if (k > 0)
        log_event(LOG_WARN, "execution.timed_out", "i:triggers i:timeout_seconds", (long long)k,
                  (long long)f->cfg->track_timeout_seconds);
    if (follow_results(f, db, now) < 0)
        return -1;
    return found + (int)k;
}

/* The workflow an n8n workflow serves (by webhook path, else by name):
 * a present catalog entry's slot, or -1. */
static int follow_match(const struct track_workflow *w)
{
    int c = w->webhook_path[0] ? catalog_workflow_parse(w->webhook_path) : -1;
    if (c < 0)
        c = catalog_workflow_parse(w->name);
    return c >= 0 && catalog_workflow(c)->present ? c : -1;
}

/* A ready-to-use catalog entry for n8n workflow t (its webhook path a
 * valid name): its market and intensity from its tags when it has such a
 * tag (crypto, forex, both, system; aggressive, normal, light), else
 * guessed (crypto, any) and said so in "guessed".  Caller frees. */
static json_object *follow_discovered(const struct track_workflow *t)
{
    struct catalog_wf e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%.*s", CATALOG_NAME_MAX, t->webhook_path);   /* valid: at most that long */
    /* the title: n8n's name made one line, cut on a character */
    char title[CATALOG_TITLE_MAX + 1];
    prompt_sanitize(t->name, title, CATALOG_TITLE_MAX);
    snprintf(e.title, sizeof e.title, "%s", title[0] && strspn(title, " ") < strlen(title) ? title : e.name);
    e.market = -1;
    e.intensity = CATALOG_ANY_INTENSITY;
    int intensity_tag = 0;
    for (int k = 0; k < t->ntags; k++) {
        int m = catalog_market_parse(t->tags[k]), i = catalog_intensity_parse(t->tags[k]);
        if (m >= 0 && e.market < 0)
            e.market = m;
        if (i >= 0 && !intensity_tag) {
            e.intensity = i;
            intensity_tag = 1;
        }
    }
    int market_tag = e.market >= 0;
    if (!market_tag)
        e.market = MARKET_CRYPTO;
    e.concurrency = CONCURRENCY_ALLOW;
    snprintf(e.parameters, sizeof e.parameters, "{}");
    e.cost = 1;
    e.enabled = 1;
    json_object *o = json_object_new_object(), *g = json_object_new_array();
    json_object_object_add(o, "path", json_object_new_string(t->webhook_path));
    json_object_object_add(o, "n8n_id", json_object_new_string(t->id));
    json_object_object_add(o, "n8n_name", json_object_new_string(t->name));
    json_object_object_add(o, "entry", catalog_file_entry_json(&e));
    if (!market_tag)
        json_object_array_add(g, json_object_new_string("market"));
    if (!intensity_tag)
        json_object_array_add(g, json_object_new_string("intensity"));
    json_object_object_add(o, "guessed", g);
    return o;
}

/* What n8n's list says of the catalog: each present entry's n8n workflow
 * (into workflow_state and the deliver's menu view), the entries missing
 * or inactive there, and the tagged workflows not in the catalog
 * ("discovered"), into o.  Returns 0 or -1 (database error). */
static int follow_catalog_vs_n8n(struct follow *f, PGconn *db, const struct track_workflows *wl, time_t now,
                                 json_object *o)
{
    int *best = malloc(sizeof *best * CATALOG_SLOTS);
    if (!best)
        return -1;
    for (int w = 0; w < CATALOG_SLOTS; w++)
        best[w] = -1;
    json_object *disc = json_object_new_array(), *missing = json_object_new_array(), *inactive = json_object_new_array();
    const char *tag = f->cfg->n8n_discovery_tag;
    int ndisc = 0;
    for (size_t i = 0; i < wl->n; i++) {
        const struct track_workflow *t = &wl->items[i];
        int c = follow_match(t);
        if (c < 0 && !t->archived && t->active && track_workflow_tagged(t, tag) &&
            strcmp(t->webhook_method, "POST") == 0 && catalog_name_valid(t->webhook_path) &&
            ndisc++ < FOLLOW_DISCOVERED_MAX)
            json_object_array_add(disc, follow_discovered(t));
        if (c < 0 || t->archived)
            continue;
        /* several with one path: the active one wins */
        if (best[c] < 0 || (t->active && !wl->items[best[c]].active))
            best[c] = (int)i;
    }
    int rc = 0;
    for (int k = 0; k < catalog_present() && rc == 0; k++) {
        int w = catalog_ordered(k);
        const struct track_workflow *t = best[w] >= 0 ? &wl->items[best[w]] : NULL;
        rc = store_wf_n8n(db, w, t ? t->id : "", t ? t->name : "", t ? t->active : 0);
        /* the menu leaves out what n8n lists inactive (not listed: the 404 tells) */
        deliver_note_n8n(f->deliver, w, t ? t->active : -1, now);
        if (!t)
            json_object_array_add(missing, json_object_new_string(catalog_name(w)));
        else if (!t->active)
            json_object_array_add(inactive, json_object_new_string(catalog_name(w)));
    }
    free(best);
    json_object *cat = json_object_new_object();
    json_object_object_add(cat, "missing", missing);
    json_object_object_add(cat, "inactive", inactive);
    json_object_object_add(o, "catalog", cat);
    json_object_object_add(o, "discovery_tag", tag && *tag ? json_object_new_string(tag) : NULL);
    json_object_object_add(o, "discovered", disc);
    json_object_object_add(o, "discovered_total", json_object_new_int(ndisc));
    if (ndisc)
        log_event(LOG_INFO, "n8n.discovered", "i:workflows s:tag", (long long)ndisc, tag);
    return rc;
}

int follow_sync_workflows(struct follow *f, PGconn *db, time_t now)
{
    if (now < f->next_sync_at)
        return 0;
    json_object *o = json_object_new_object();
    if (!o)
        return 0;
    char ts[32];
    tu_iso8601(now, ts);
    json_object_object_add(o, "api_configured", json_object_new_boolean(f->tracking));
    int rc = 0;
    if (!f->tracking) {
        f->next_sync_at = (time_t)0x7fffffff;          /* once */
        json_object_object_add(o, "detail", json_object_new_string(
            "N8N_API_KEY is not set: executions are known only from the results workflows post back"));
    } else {
        struct track_workflows wl;
        enum track_err e = track_list_workflows(f->cfg, &wl);
        json_object_object_add(o, "synced_at", json_object_new_string(ts));
        json_object_object_add(o, "ok", json_object_new_boolean(e == TRACK_OK));
        if (e != TRACK_OK) {
            f->next_sync_at = now + (f->cfg->n8n_workflows_refresh_seconds < FOLLOW_SYNC_RETRY_SECONDS
                                     ? f->cfg->n8n_workflows_refresh_seconds : FOLLOW_SYNC_RETRY_SECONDS);
            json_object_object_add(o, "error", json_object_new_string(wl.error[0] ? wl.error : track_strerror(e)));
        } else {
            f->next_sync_at = now + f->cfg->n8n_workflows_refresh_seconds;
            rc = follow_catalog_vs_n8n(f, db, &wl, now, o);
            json_object_object_add(o, "workflows", track_workflows_json(&wl));
            json_object_object_add(o, "truncated", json_object_new_boolean(wl.truncated));
            log_event(LOG_INFO, "n8n.workflows_synced", "i:workflows", (long long)wl.n);
        }
        track_workflows_free(&wl);
    }
    json_object *rep = deliver_replace_json(f->deliver);
    if (rep)
        json_object_object_add(o, "replace", rep);
    if (rc == 0)
        rc = store_worker_n8n(db, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return rc;
}

void follow_resync(struct follow *f)
{
    if (f->tracking)
        f->next_sync_at = 0;
}

time_t follow_next_due(const struct follow *f)
{
    time_t t = 0;
    if (f->tracking || f->results_expected)
        t = f->next_poll_at;
    if (f->tracking && (!t || f->next_sync_at < t))
        t = f->next_sync_at;
    return t;
}
