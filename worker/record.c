/* record: a decision's record for store; see record.h. */
#include "config.h"
#include "record.h"
#include "act.h"
#include "catalog.h"
#include "fault.h"
#include "log.h"
#include "sessions.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(DECIDE_MAX_WF <= STORE_MAX_TRIGGERS, "a decision's triggers fit a store record");
_Static_assert(LLM_MAX_CALLS <= STORE_MAX_LLM_CALLS, "a decision's LLM calls fit a store record");
_Static_assert(FEED_COUNT <= STORE_MAX_PROBES, "a cycle's probes fit a store record");
_Static_assert(SESSION_COUNT <= STORE_MAX_SESSIONS, "the sessions fit a store record");
_Static_assert(SENSE_MAX_RECENT == STORE_MAX_RECENT, "the history's recent decisions");

/* The JSON documents of a record (owned; record_docs_free). */
struct record_docs {
    json_object *inputs, *menu, *sources, *shadow, *wake;
};

static void record_docs_free(struct record_docs *d)
{
    json_object_put(d->inputs);
    json_object_put(d->menu);
    json_object_put(d->sources);
    json_object_put(d->shadow);
    json_object_put(d->wake);
}

static const char *record_text(json_object *o)
{
    return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
}

/* A choice as JSON (the shadow decision).  Caller frees. */
static json_object *record_choice_json(const struct decide_choice *ch)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "mode", json_object_new_string(catalog_mode_name(ch->mode)));
    json_object_object_add(o, "intensity", json_object_new_string(catalog_intensity_name(ch->intensity)));
    json_object *w = json_object_new_array();
    for (int i = 0; i < ch->nwf; i++)
        json_object_array_add(w, json_object_new_string(catalog_name(ch->wf[i])));
    json_object_object_add(o, "workflows", w);
    json_object_object_add(o, "next_seconds", json_object_new_int64(ch->next_seconds));
    json_object_object_add(o, "reason", json_object_new_string(ch->reason));
    return o;
}

/* A decision stored without what the database refused: its inputs, menu,
 * sources, the model's raw answer, the probes and the learning documents
 * are replaced or left out, the reason kept in ASCII with why (refused).
 * Each trigger gets a small payload of its ids and key. */
static json_object *record_refused_inputs(const char *refused)
{
    json_object *o = json_object_new_object(), *why = json_object_new_object();
    if (!o || !why) {
        json_object_put(o);
        json_object_put(why);
        return NULL;
    }
    json_object_object_add(why, "error", json_object_new_string(refused));
    json_object_object_add(why, "detail", json_object_new_string("the database refused this decision's inputs: "
                                                                 "it was stored without them"));
    json_object_object_add(o, "refused", why);
    return o;
}

/* Printable ASCII of s into out (cap bytes), anything else as '?'. */
static void record_ascii(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        out[n++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
    out[n] = '\0';
}

/* The triggers of choice ch into out (ids out->id and tids[]; keys from
 * the replay's run and decision number seq, or act_key when seq is 0),
 * their payloads built; refused_reason non-NULL: stripped payloads with
 * that reason.  Returns 0 or -1 (out's payloads freed). */
static int record_triggers(const struct sense_snapshot *snap, const struct decide_choice *ch, int dry_run,
                           const long long *tids, long long run_id, long long seq, const char *refused_reason,
                           struct store_decision *out)
{
    for (int i = 0; i < ch->nwf; i++) {
        struct store_trigger *t = &out->t[out->ntriggers];
        t->wf = ch->wf[i];
        t->id = tids[i];
        const char *path = catalog_name(t->wf);
        if (seq)
            act_replay_key(run_id, seq, path, t->key, sizeof t->key);
        else
            act_key(out->id, path, t->key, sizeof t->key);
        json_object *p = act_payload(snap, ch, out->id, t->id, path, t->key, (long long)out->next_at, dry_run);
        if (p && refused_reason) {       /* without the market context, the reason in ASCII */
            json_object_object_del(p, "market");
            json_object_object_add(p, "reason", json_object_new_string(refused_reason));
            json_object_object_add(p, "stored_without_inputs", json_object_new_boolean(1));
        }
        t->payload = p ? strdup(record_text(p)) : NULL;
        json_object_put(p);
        if (!t->payload) {
            store_decision_clear(out);
            return -1;
        }
        out->ntriggers++;
    }
    return 0;
}

/* A decision's status as it is recorded: no_action, dry_run or pending. */
static int record_status(const struct decide_choice *ch, int dry_run)
{
    return ch->nwf == 0 ? DECISION_NO_ACTION : dry_run ? DECISION_DRY_RUN : DECISION_PENDING;
}

/* out's triggers as rec's trigger records, with their first status. */
static void record_trigger_recs(struct store_decision_rec *rec, const struct store_decision *out, int dry_run)
{
    rec->trigger_status = dry_run ? "dry_run" : "pending";
    for (int i = 0; i < out->ntriggers; i++)
        rec->t[rec->ntriggers++] = (struct store_trigger_rec){
            out->t[i].id, catalog_name(out->t[i].wf), out->t[i].key, out->t[i].payload,
        };
}

/* out emptied, then the decision's id, next decision time and intensity. */
static void record_out(struct store_decision *out, long long id, const struct sense_snapshot *snap,
                       const struct decide_choice *ch)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    out->next_at = snap->now + ch->next_seconds;
    out->intensity = ch->intensity;
}

/* The decision's own columns into rec (docs: its JSON documents;
 * reason: the reason to store). */
static void record_columns(struct store_decision_rec *rec, const char *cycle_id, const struct sense_snapshot *snap,
                           const struct decide_choice *ch, int dry_run, const struct record_audit *audit,
                           const struct record_docs *docs, const char *reason, int refused)
{
    const struct llm_outcome *lo = audit->llm;
    int called = lo && lo->ncalls > 0;
    rec->cycle_id = cycle_id;
    rec->decided_at = snap->now;
    rec->mode = catalog_mode_name(ch->mode);
    rec->intensity = catalog_intensity_name(ch->intensity);
    rec->source = catalog_source_name(ch->source);
    rec->reason = reason;
    rec->inputs = !refused && FAULT_ARMED("store.refuse_inputs") ? "{\"refused on purpose\": "   /* not JSON: 22P02 */
                                                                : record_text(docs->inputs);
    rec->menu = record_text(docs->menu);
    for (int s = 0; s < SESSION_COUNT; s++)
        if (snap->sessions.open[s])
            rec->sessions[rec->nsessions++] = session_name(s);
    rec->session = snap->session_label ? snap->session_label : "closed";
    rec->prev_mode = snap->history.last_mode;
    rec->next_seconds = ch->next_seconds;
    rec->next_decision_at = snap->now + ch->next_seconds;
    rec->dry_run = dry_run;
    int status = record_status(ch, dry_run);
    rec->status = decision_status_name(status);
    rec->completed_at = status == DECISION_PENDING ? 0 : snap->now;
    rec->llm_outcome = llm_strerror(lo ? lo->err : LLM_ENOTCONFIGURED);
    rec->llm_detail = lo && !refused ? lo->detail : NULL;
    rec->llm_provider = called ? lo->provider : NULL;
    rec->llm_model = called ? lo->model : NULL;
    rec->llm_raw = lo && !refused ? lo->raw : NULL;
    rec->llm_prompt_tokens = called ? lo->prompt_tokens : -1;
    rec->llm_completion_tokens = called ? lo->completion_tokens : -1;
    rec->llm_latency_ms = called ? (long)(lo->latency_ms + 0.5) : -1;
    rec->prompt_version = audit->prompt_version;
    rec->prompt_hash = audit->prompt_hash;
    rec->shadow = record_text(docs->shadow);
    rec->agreement = audit->agreement;
    rec->run_id = audit->run_id;
    rec->wake = sense_wake_name(snap->wake.kind);
    rec->wake_detail = record_text(docs->wake);
}

/* What the decision's transaction writes besides its row into rec: its
 * triggers (out), probes and LLM calls (live), learning and worker state. */
static void record_rest(struct store_decision_rec *rec, const struct sense_snapshot *snap, int dry_run,
                        const struct record_audit *audit, const struct record_docs *docs,
                        const struct store_decision *out, int refused)
{
    const struct llm_outcome *lo = audit->llm;
    int live = audit->run_id == 0;
    record_trigger_recs(rec, out, dry_run);
    /* probes and worker_state describe the live worker, not a replay */
    for (int f = 0; live && !refused && f < FEED_COUNT; f++) {
        const struct sense_probe *p = &snap->probes[f];
        if (!p->configured)
            continue;
        rec->probes[rec->nprobes++] = (struct store_probe_rec){
            catalog_feed_name(f), p->ok, (long)(p->latency_ms + 0.5), p->http_status, p->error,
        };
    }
    for (int i = 0; lo && i < lo->ncalls; i++) {
        const struct llm_call *k = &lo->calls[i];
        rec->calls[rec->ncalls++] = (struct store_llm_call_rec){
            k->provider, k->model, k->http_status, llm_strerror(k->err), (long)(k->latency_ms + 0.5),
            k->prompt_tokens, k->completion_tokens, refused ? NULL : k->error,
        };
    }
    if (audit->learn_scope && audit->learn_state && !refused) {
        rec->learn_scope = audit->learn_scope;
        rec->learn_state = audit->learn_state;
    }
    rec->learn_summary = live && !refused ? audit->learn_summary : NULL;
    rec->llm_state = live && !refused ? audit->llm_state : NULL;
    rec->sources = live ? record_text(docs->sources) : NULL;
    rec->load = snap->load1 >= 0 ? snap->load1 : 0.0;
    rec->volatility = snap->market.volatility;
    rec->force_upto = audit->force_upto;
}

/* A sink that keeps no documents (sink_documents): the decision's ids,
 * status and triggers (payloads built as for the database) into out and
 * the sink.  Returns 0 or -1. */
static int record_bare(const struct sink *s, const struct sense_snapshot *snap, const struct decide_choice *ch,
                       int dry_run, long long id, const long long *tids, struct store_decision *out)
{
    record_out(out, id, snap, ch);
    struct store_decision_rec *rec = calloc(1, sizeof *rec);
    int rc = -1;
    if (rec && record_triggers(snap, ch, dry_run, tids, 0, 0, NULL, out) == 0) {
        rec->id = id;
        rec->status = decision_status_name(record_status(ch, dry_run));
        record_trigger_recs(rec, out, dry_run);
        rc = sink_decision(s, rec);
    }
    if (rc < 0) {
        store_decision_clear(out);
        out->id = 0;
    }
    free(rec);
    return rc;
}

/* One try at recording the decision with ids id and tids[] (refused: why
 * the database refused the first try, or NULL).  Returns 0 or -1. */
static int record_write(const struct sink *c, const char *cycle_id, const struct sense_snapshot *snap,
                        const struct decide_menu *menu, const struct decide_choice *ch, int dry_run,
                        const struct record_audit *audit, long long id, const long long *tids, const char *refused,
                        struct store_decision *out)
{
    record_out(out, id, snap, ch);
    struct record_docs docs = {
        .inputs = refused ? record_refused_inputs(refused) : sense_to_json(snap),
        .menu = refused ? json_object_new_object() : decide_menu_to_json(menu),
        .sources = refused ? json_object_new_object() : sense_sources_json(snap),
        .shadow = audit->shadow && !refused ? record_choice_json(audit->shadow) : NULL,
        .wake = sense_wake_json(&snap->wake),
    };
    char reason[sizeof ch->reason + 64];
    if (refused) {
        char a[sizeof ch->reason];
        record_ascii(ch->reason, a, sizeof a);
        snprintf(reason, sizeof reason, "%.400s [stored without its inputs: refused by the database]", a);
    }
    int rc = -1;
    struct store_decision_rec *rec = calloc(1, sizeof *rec);
    if (!rec || !docs.inputs || !docs.menu || !docs.sources || !docs.wake)
        goto out;
    /* a replay's keys come from its run and its own decision count, so
     * that they repeat from one replay of the same data to the next */
    long long seq = audit->run_id && audit->local_seq ? *audit->local_seq + 1 : 0;
    if (record_triggers(snap, ch, dry_run, tids, audit->run_id, seq, refused ? reason : NULL, out) < 0)
        goto out;
    rec->id = id;
    record_columns(rec, cycle_id, snap, ch, dry_run, audit, &docs, refused ? reason : ch->reason, refused != NULL);
    record_rest(rec, snap, dry_run, audit, &docs, out, refused != NULL);
    rc = sink_decision(c, rec);
    if (rc == 0 && seq)
        *audit->local_seq = seq;
out:
    if (rc < 0) {
        store_decision_clear(out);
        out->id = 0;
    }
    free(rec);
    record_docs_free(&docs);
    return rc;
}

int record_decision(const struct sink *c, const char *cycle_id, const struct sense_snapshot *snap,
                    const struct decide_menu *menu, const struct decide_choice *ch, int dry_run,
                    const struct record_audit *audit, struct store_decision *out)
{
    memset(out, 0, sizeof *out);
    const struct record_audit none = { .agreement = -1 };
    if (!audit)
        audit = &none;
    if (ch->nwf < 0 || ch->nwf > STORE_MAX_TRIGGERS)
        return -1;
    long long id, tids[STORE_MAX_TRIGGERS];
    if (sink_decision_ids(c, audit->run_id, ch->nwf, &id, tids) < 0)
        return -1;
    if (!sink_documents(c))
        return record_bare(c, snap, ch, dry_run, id, tids, out);
    int rc = record_write(c, cycle_id, snap, menu, ch, dry_run, audit, id, tids, NULL, out);
    char why[240];
    /* a write refused for its content: record what can be recorded rather
     * than lose the decision, once (the same ids: nothing was written) */
    if (rc == 0 || !sink_refused(c, why, sizeof why))
        return rc;
    log_event(LOG_ERROR, "store.content_refused", "s:cycle_id s:error s:detail", cycle_id, why,
              "the decision is stored without its inputs");
    return record_write(c, cycle_id, snap, menu, ch, dry_run, audit, id, tids, why, out);
}

void record_history(const struct store_history *from, struct sense_history *to)
{
    memset(to, 0, sizeof *to);
    to->decisions_24h = from->decisions_24h;
    to->acted_24h = from->acted_24h;
    to->succeeded_24h = from->succeeded_24h;
    for (int i = 0; i < from->nrecent && i < SENSE_MAX_RECENT; i++) {
        to->recent[to->nrecent].id = from->recent[i].id;
        snprintf(to->recent[to->nrecent].mode, sizeof to->recent[0].mode, "%s", from->recent[i].mode);
        snprintf(to->recent[to->nrecent].status, sizeof to->recent[0].status, "%s", from->recent[i].status);
        to->nrecent++;
    }
    snprintf(to->last_mode, sizeof to->last_mode, "%s", from->last_mode);
}
