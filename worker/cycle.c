/* cycle: one decision cycle; see cycle.h. */
#include "config.h"
#include "cycle.h"
#include "act.h"
#include "decide.h"
#include "fault.h"
#include "learn_wf.h"
#include "log.h"
#include "record.h"
#include "store.h"
#include "status.h"
#include "timeutil.h"
#include "usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void cycle_seq_id(char id[20], time_t now, long long seq)
{
    snprintf(id, 20, "%08llx%08llx", (unsigned long long)now & 0xffffffffULL, (unsigned long long)seq & 0xffffffffULL);
}

void cycle_new_id(char id[20])
{
    unsigned long long v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (unsigned long long)ts.tv_sec * 1000000007ULL ^ (unsigned long long)ts.tv_nsec;
    }
    snprintf(id, 20, "%016llx", v);
}

/* The LLM side of worker_state: providers' circuits and limits, budget
 * use.  Returns a JSON string (caller frees) or NULL. */
static char *cycle_llm_state(struct cycle_ctx *ctx, time_t now)
{
    struct llm_client *cl = &ctx->llm;
    const struct cfg *c = ctx->cfg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "configured", json_object_new_boolean(llm_configured(cl)));
    json_object *ps = json_object_new_array();
    for (int i = 0; i < cl->nproviders; i++) {
        const struct llm_provider *p = &cl->providers[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(p->name));
        json_object_object_add(j, "model", json_object_new_string(p->model));
        json_object_object_add(j, "circuit", json_object_new_string(llm_circuit_state(p, now)));
        json_object_object_add(j, "consecutive_failures", json_object_new_int64(p->breaker.failures));
        json_object_object_add(j, "remaining_requests", p->remaining_requests >= 0 ? json_object_new_int64(p->remaining_requests) : NULL);
        json_object_object_add(j, "remaining_tokens", p->remaining_tokens >= 0 ? json_object_new_int64(p->remaining_tokens) : NULL);
        json_object_array_add(ps, j);
    }
    json_object_object_add(o, "providers", ps);
    json_object_object_add(o, "calls_last_hour", json_object_new_int(llm_calls_last_hour(cl, now)));
    json_object_object_add(o, "tokens_today", json_object_new_int64(llm_tokens_today(cl, now)));
    json_object_object_add(o, "max_calls_per_hour", json_object_new_int64(c->llm_max_calls_per_hour));
    json_object_object_add(o, "max_tokens_per_day", json_object_new_int64(c->llm_max_tokens_per_day));
    json_object_object_add(o, "prompt_version", ctx->have_prompt ? json_object_new_string(ctx->prompt.version) : NULL);
    json_object_object_add(o, "prompt_hash", ctx->have_prompt ? json_object_new_string(ctx->prompt.hash) : NULL);
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

static void cycle_sense_real(struct cycle_ctx *ctx, time_t now, struct sense_snapshot *snap)
{
    sense_collect(ctx->cfg, &ctx->mem, now, snap);
}

static void cycle_act_real(struct cycle_ctx *ctx, const struct decide_choice *ch, struct act_job *jobs, int n)
{
    (void)ch;
    act_fire_many(ctx->cfg, jobs, n);
}

/* deliver_decision's transport: the POSTs go through the io's act. */
struct cycle_fire {
    struct cycle_ctx *ctx;
    const struct cycle_io *io;
    const struct decide_choice *ch;
};

static void cycle_fire(void *user, struct act_job *jobs, int n)
{
    struct cycle_fire *f = user;
    f->io->act(f->ctx, f->ch, jobs, n);
}

/* The learning market a workflow scans, or -1 (system and cross-market workflows). */
static int cycle_learn_market(int wf)
{
    const struct catalog_wf *w = catalog_workflow(wf);
    if (!w)
        return -1;
    return w->market == MARKET_CRYPTO ? LEARN_CRYPTO : w->market == MARKET_FOREX ? LEARN_FOREX : -1;
}

/* Learn from what was started: delivery outcomes, scan and health times.
 * sent[i] is an enum deliver_sent: DELIVER_SENT_OK a run whose end cannot
 * be followed (its delivery is its success), DELIVER_SENT_FOLLOWED one
 * whose success is learned at its end (follow.c), DELIVER_SENT_FAILED a
 * failed run, DELIVER_SENT_RETRYING (or a dry run) not known yet (the scan
 * counts as started), DELIVER_SENT_SKIPPED and DELIVER_SENT_UNAVAILABLE
 * not run (a 404 is the workflow's failure, not the run's). */
static void cycle_learn(struct cycle_ctx *ctx, const struct decide_choice *ch, const struct store_decision *d,
                        const int *sent, time_t now)
{
    struct learn *l = ctx->learn;
    if (!l)
        return;
    for (int i = 0; i < d->ntriggers; i++) {
        if (sent[i] == DELIVER_SENT_SKIPPED || sent[i] == DELIVER_SENT_UNAVAILABLE)
            continue;
        const struct catalog_wf *w = catalog_workflow(d->t[i].wf);
        if (w && w->market == MARKET_SYSTEM && sent[i] != DELIVER_SENT_FAILED)
            learn_note_health(l, now);
        if (sent[i] == DELIVER_SENT_OK || sent[i] == DELIVER_SENT_FAILED)
            learn_wf_observe(l, d->t[i].wf, sent[i] == DELIVER_SENT_OK, -1, now);
        int m = cycle_learn_market(d->t[i].wf);
        if (m < 0)
            continue;
        if (sent[i] == DELIVER_SENT_OK || sent[i] == DELIVER_SENT_FAILED)
            learn_observe(l, m, l->m[m].band, l->m[m].bucket, ch->intensity, sent[i] == DELIVER_SENT_OK, -1,
                          l->m[m].exposure, now);
        if (sent[i] != DELIVER_SENT_FAILED)
            learn_note_scan(l, m, now);
    }
}

/* The scans decision d started, noted in the watch (no wake-up for their
 * market in this window: it is being looked at). */
static void cycle_watch_scans(struct cycle_ctx *ctx, const struct store_decision *d, const int *sent, time_t now)
{
    if (!ctx->watch)
        return;
    watch_looked(ctx->watch);
    for (int i = 0; i < d->ntriggers; i++) {
        int m = cycle_learn_market(d->t[i].wf);
        if (m >= 0 && sent[i] != DELIVER_SENT_SKIPPED && sent[i] != DELIVER_SENT_UNAVAILABLE && sent[i] != DELIVER_SENT_FAILED)
            watch_scanned(ctx->watch, m, now);
    }
}

/* Alerts of a recorded decision: a mode switch (against the previous
 * decision's mode) and the streak of decisions the fallback made because
 * the LLM failed (counted in ctx->fallback_streak). */
static void cycle_alerts(struct cycle_ctx *ctx, const struct sense_snapshot *snap, const struct decide_choice *ch,
                         enum llm_err err, const char *detail)
{
    const char *mode = catalog_mode_name(ch->mode);
    const char *prev = snap->history.last_mode;
    if (ctx->alert && prev[0] && strcmp(prev, mode) != 0)
        alert_mode_switch(ctx->alert, prev, mode, ch->reason);
    if (err == LLM_ENOTCONFIGURED)
        return;
    if (err == LLM_OK)
        ctx->fallback_streak = 0;
    else
        ctx->fallback_streak++;
    if (ctx->alert) {
        char why[320];
        snprintf(why, sizeof why, "%s: %s", llm_strerror(err), detail);
        alert_llm_fallback_streak(ctx->alert, ctx->fallback_streak, err == LLM_OK ? NULL : why);
    }
}

static const struct cycle_io cycle_io_real = { cycle_sense_real, cycle_act_real, NULL };

/* After llm_decide: alert for every provider whose circuit opened (or
 * opened again after its half-open try) during the call; was[i] is the
 * number of times it had opened before. */
static void cycle_llm_circuits(struct cycle_ctx *ctx, const long *was)
{
    for (int i = 0; i < ctx->llm.nproviders; i++) {
        const struct llm_provider *p = &ctx->llm.providers[i];
        if (p->breaker.opens == was[i])
            continue;
        char name[48];
        snprintf(name, sizeof name, "LLM provider %s", p->name);
        log_event(LOG_WARN, "llm.circuit_alert", "s:provider i:failures i:cooldown_seconds", p->name,
                  (long long)p->breaker.failures, (long long)ctx->cfg->llm_breaker_cooldown_seconds);
        alert_circuit_open(ctx->alert, name, p->breaker.failures, ctx->cfg->llm_breaker_cooldown_seconds);
    }
}

/* What the steps of one cycle share: the snapshot, the menu, the choice
 * and the recorded decision (cycle_run_once). */
struct cycle_turn {
    const char *cid;                   /* borrowed: the cycle_result's id */
    const struct cycle_io *io;
    time_t now;
    long long forced_by;
    struct sense_snapshot snap;
    struct sense_watch sw;             /* snap.watch points here */
    struct decide_menu menu;
    struct decide_choice ch, shadow;
    struct llm_outcome lo;
    int agreement;                     /* the LLM's choice against the fallback's; -1: no LLM choice */
    char llm_detail[sizeof ((struct llm_outcome *)0)->detail];
    int dry_run;
    struct store_decision d;
    int sent[DECIDE_MAX_WF];           /* enum deliver_sent per trigger */
    double t0, t1, t2;                 /* monotonic ms: started, sensed, recorded */
};

/* Is the worker stopping?  Then the cycle is abandoned (logged) before it
 * records anything: returns 1. */
static int cycle_stopping(struct cycle_ctx *ctx, const char *cid)
{
    if (!ctx->stop || !*ctx->stop)
        return 0;
    log_event(LOG_INFO, "cycle.abandoned", "s:cycle_id s:detail", cid, "the worker is stopping: nothing recorded");
    return 1;
}

/* Sense: the io's probes, then what the deliver, the watch, the usage,
 * the learning and the history add to the snapshot.  tally: scratch for
 * the usage tally (borrowed by t->snap). */
static void cycle_sense(struct cycle_ctx *ctx, struct cycle_turn *t, struct usage_tally *tally)
{
    const struct cfg *c = ctx->cfg;
    time_t now = t->now;
    struct sense_snapshot *snap = &t->snap;
    t->io->sense(ctx, now, snap);
    snap->learn = ctx->learn;
    snap->cfg = c;
    /* workflows the deliver knows to be unusable now stay off the menu,
     * and so do those past their limits (the runs they started lately) */
    for (int w = 0; ctx->deliver && w < catalog_count(); w++)
        snap->wf_blocked[w] = catalog_offered(w) &&
                              deliver_menu_blocked(ctx->deliver, w, now, snap->wf_blocked_why[w],
                                                   sizeof snap->wf_blocked_why[w]);
    snap->wake = ctx->wake;
    if (t->forced_by) {
        snap->wake.kind = SENSE_WAKE_CONTROL;
        snap->wake.command = t->forced_by;
    }
    if (ctx->watch) {
        watch_sense(ctx->watch, now, &t->sw);
        snap->watch = &t->sw;
    }
    usage_tally(ctx->usage, now, tally);
    snap->usage = tally;
    if (ctx->learn)
        learn_sense(ctx->learn, snap);
    struct store_history h;
    if (sink_history(&ctx->sink, ctx->run_id, now, &h) < 0)
        log_event(LOG_WARN, "cycle.history_unavailable", "s:cycle_id", t->cid);
    record_history(&h, &snap->history);
    t->t1 = tu_mono_ms();
}

/* Decide, the LLM's part: it chooses from the menu into t->ch (t->lo says
 * how it went; LLM_ENOTCONFIGURED without a provider or a prompt). */
static void cycle_ask_llm(struct cycle_ctx *ctx, struct cycle_turn *t)
{
    struct llm_outcome *lo = &t->lo;
    memset(lo, 0, sizeof *lo);
    lo->err = LLM_ENOTCONFIGURED;
    snprintf(lo->detail, sizeof lo->detail, "no LLM provider configured");
    if (!llm_configured(&ctx->llm) || !ctx->have_prompt)
        return;
    char *sys = NULL, *usr = NULL;
    if (prompt_build(&ctx->prompt, ctx->cfg, &t->snap, &t->menu, &sys, &usr) == 0) {
        long was[LLM_MAX_PROVIDERS];
        for (int i = 0; i < ctx->llm.nproviders; i++)
            was[i] = ctx->llm.providers[i].breaker.opens;
        llm_decide(&ctx->llm, sys, usr, &t->menu, t->now, ctx->cfg->llm_cycle_budget_ms, &t->ch, lo);
        cycle_llm_circuits(ctx, was);
    } else {
        lo->err = LLM_EINVALID;
        snprintf(lo->detail, sizeof lo->detail, "prompt could not be built");
    }
    free(sys);
    free(usr);
}

/* Decide, the choice: the LLM's when it gave one, else the fallback's
 * (t->shadow), forced when a control command asked, and checked against
 * the menu. */
static void cycle_choose(struct cycle_turn *t)
{
    struct decide_choice *ch = &t->ch;
    if (t->lo.err == LLM_OK) {
        t->agreement = decide_same(ch, &t->shadow);
    } else {
        *ch = t->shadow;
        if (t->lo.err != LLM_ENOTCONFIGURED) {
            char reason[sizeof ch->reason + 300];
            snprintf(reason, sizeof reason, "fallback (llm %s): %s", llm_strerror(t->lo.err), t->shadow.reason);
            snprintf(ch->reason, sizeof ch->reason, "%.*s", (int)sizeof ch->reason - 1, reason);
        }
    }
    if (t->forced_by) {
        char reason[sizeof ch->reason + 64];
        snprintf(reason, sizeof reason, "forced by control command #%lld; %s", t->forced_by, ch->reason);
        snprintf(ch->reason, sizeof ch->reason, "%.*s", (int)sizeof ch->reason - 1, reason);
        ch->source = SOURCE_FORCED;
        decide_force(&t->menu, ch);
    }
    char err[200];
    if (decide_validate(&t->menu, ch, err, sizeof err) < 0) {
        /* the fallback policy must always fit its menu: a bug, not an input */
        log_event(LOG_ERROR, "decide.invalid_fallback", "s:cycle_id s:error", t->cid, err);
        ch->mode = MODE_STANDBY;
        ch->intensity = INTENSITY_LIGHT;
        ch->nwf = 0;
        snprintf(ch->reason, sizeof ch->reason, "standby: fallback choice rejected (%s)", err);
    }
}

/* Decide: the menu, the fallback's choice alongside the LLM's, the choice.
 * Returns 0, or -1 when the worker is stopping (abandoned, logged). */
static int cycle_decide(struct cycle_ctx *ctx, struct cycle_turn *t)
{
    decide_menu_build(ctx->cfg, &t->snap, &t->menu);
    decide_fallback(ctx->cfg, &t->snap, &t->menu, &t->shadow);
    /* the LLM chooses from the same menu; the fallback decides alongside */
    t->agreement = -1;
    cycle_ask_llm(ctx, t);
    if (cycle_stopping(ctx, t->cid)) {
        llm_outcome_clear(&t->lo);
        return -1;
    }
    cycle_choose(t);
    return 0;
}

/* The learning state (every learn_save_every cycles) and its summary (the
 * live worker's) to record with the decision, as JSON strings (caller
 * frees; NULL when not due). */
static void cycle_learn_states(struct cycle_ctx *ctx, time_t now, char **state, char **summary)
{
    *state = *summary = NULL;
    int save_every = ctx->learn_save_every > 1 ? ctx->learn_save_every : 1;
    if (sink_documents(&ctx->sink) && ctx->learn && ctx->learn_scope && ctx->ncycles % save_every == 0) {
        json_object *j = learn_to_json(ctx->learn);
        *state = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        if (!ctx->run_id) {
            j = learn_summary_json(ctx->learn, now, 1);
            *summary = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
            json_object_put(j);
        }
    }
}

/* Record: the decision, its triggers and its audit into t->d (the LLM's
 * outcome cleared, its detail kept in t->llm_detail).  Returns 0, or -1
 * when it could not be recorded (logged; nothing is sent). */
static int cycle_record(struct cycle_ctx *ctx, struct cycle_turn *t, struct cycle_result *res)
{
    time_t now = t->now;
    struct llm_outcome *lo = &t->lo;
    t->dry_run = ctx->cfg->n8n_base_url[0] == '\0';
    char *llm_state = sink_documents(&ctx->sink) && !ctx->run_id ? cycle_llm_state(ctx, now) : NULL;
    char *learn_state, *learn_summary;
    cycle_learn_states(ctx, now, &learn_state, &learn_summary);
    ctx->ncycles++;
    struct record_audit audit = {
        .llm = llm_configured(&ctx->llm) ? lo : NULL,
        .prompt_version = ctx->have_prompt ? ctx->prompt.version : NULL,
        .prompt_hash = ctx->have_prompt ? ctx->prompt.hash : NULL,
        .shadow = &t->shadow,
        .agreement = t->agreement,
        .llm_state = llm_state,
        .run_id = ctx->run_id,
        .learn_scope = ctx->learn_scope,
        .learn_state = learn_state,
        .learn_summary = learn_summary,
        .local_seq = &ctx->local_seq,
        .force_upto = t->forced_by ? ctx->force_upto : 0,
    };
    int stored = record_decision(&ctx->sink, t->cid, &t->snap, &t->menu, &t->ch, t->dry_run, &audit, &t->d);
    free(llm_state);
    free(learn_state);
    free(learn_summary);
    res->source = t->ch.source;
    res->llm = lo->err;
    snprintf(t->llm_detail, sizeof t->llm_detail, "%s", lo->detail);
    res->llm_calls = lo->ncalls;
    res->llm_tokens = lo->prompt_tokens + lo->completion_tokens;
    llm_outcome_clear(lo);
    if (stored < 0) {
        log_event(LOG_ERROR, "cycle.failed", "s:cycle_id s:error", t->cid, "decision not recorded; nothing sent");
        return -1;
    }
    return 0;
}

/* Act: send the recorded triggers (deliver_decision, the POSTs through
 * the io's act), then learn, note the scans and the usage.  Sets
 * res->status; frees t->d.  Returns 0 (a decision whose triggers could not
 * be marked 'sending' is "pending"). */
static int cycle_act(struct cycle_ctx *ctx, struct cycle_turn *t, struct cycle_result *res)
{
    struct store_decision *d = &t->d;
    const struct decide_choice *ch = &t->ch;
    time_t now = t->now;
    cycle_alerts(ctx, &t->snap, ch, res->llm, t->llm_detail);
    const char *status = decision_status_name(ch->nwf == 0 ? DECISION_NO_ACTION : t->dry_run ? DECISION_DRY_RUN
                                                                                            : DECISION_FAILED);
    char settled[16];
    if (!t->dry_run && d->ntriggers > 0) {
        /* one act path, live and replayed: breaker, concurrency policy and
         * retries in deliver_decision(), the POSTs through the io's act */
        struct cycle_fire fire = { ctx, t->io, ch };
        const struct deliver_transport sync_tp = { cycle_fire, NULL, &fire };
        const struct deliver_transport *tp = !ctx->io && ctx->transport ? ctx->transport : &sync_tp;
        if (!ctx->deliver || deliver_decision(ctx->deliver, &ctx->sink, d, now, tp, t->sent, settled) < 0) {
            log_event(LOG_ERROR, "cycle.failed", "s:cycle_id i:decision_id s:error", t->cid, d->id,
                      ctx->deliver ? "could not mark triggers as sending; nothing sent"
                                   : "no delivery state (a bug): nothing sent");
            store_decision_clear(d);
            snprintf(res->status, sizeof res->status, "pending");
            return 0;
        }
        status = settled;
    }
    cycle_learn(ctx, ch, d, t->sent, now);
    cycle_watch_scans(ctx, d, t->sent, now);
    for (int i = 0; ctx->usage && i < d->ntriggers; i++)
        if (t->sent[i] != DELIVER_SENT_SKIPPED)
            usage_note(ctx->usage, d->t[i].wf, catalog_workflow(d->t[i].wf)->cost, now);
    snprintf(res->status, sizeof res->status, "%s", status);
    double t3 = tu_mono_ms();
    log_event(LOG_INFO, "cycle.done",
              "s:cycle_id i:decision_id s:status d:sense_ms d:store_ms d:act_ms d:total_ms",
              t->cid, d->id, status, t->t1 - t->t0, t->t2 - t->t1, t3 - t->t2, t3 - t->t0);
    store_decision_clear(d);
    return 0;
}

/* One cycle (cycle_run's body): sense, decide, record, act and learn, in
 * that order, each a step over the shared *t.  tally: scratch for the
 * usage tally.  Returns 0, or -1 when nothing was recorded. */
static int cycle_run_once(struct cycle_ctx *ctx, time_t now, long long forced_by, struct cycle_result *res,
                          struct usage_tally *tally)
{
    struct cycle_turn turn, *t = &turn;
    t->cid = res->cycle_id;
    t->io = ctx->io ? ctx->io : &cycle_io_real;
    t->now = now;
    t->forced_by = forced_by;
    t->t0 = tu_mono_ms();
    cycle_sense(ctx, t, tally);
    FAULT("cycle.sensed");
    if (cycle_stopping(ctx, t->cid))
        return -1;
    if (cycle_decide(ctx, t) < 0)
        return -1;
    FAULT("cycle.decided");
    if (cycle_record(ctx, t, res) < 0)
        return -1;
    const struct store_decision *d = &t->d;
    const struct decide_choice *ch = &t->ch;
    res->decision_id = d->id;
    res->next_at = d->next_at;
    res->ntriggers = d->ntriggers;
    res->mode = ch->mode;
    res->intensity = ch->intensity;
    for (int i = 0; i < DECIDE_MAX_WF; i++)
        t->sent[i] = DELIVER_SENT_RETRYING;       /* a dry run: not known */
    t->t2 = tu_mono_ms();
    log_event(LOG_INFO, "decision.made",
              "s:cycle_id i:decision_id s:mode s:intensity s:source s:llm i:workflows i:next_seconds s:session b:dry_run s:reason",
              t->cid, d->id, catalog_mode_name(ch->mode), catalog_intensity_name(ch->intensity),
              catalog_source_name(ch->source), llm_strerror(res->llm), (long long)ch->nwf, (long long)ch->next_seconds,
              t->snap.session_label, t->dry_run, ch->reason);
    return cycle_act(ctx, t, res);
}

int cycle_run(struct cycle_ctx *ctx, time_t now, long long forced_by, struct cycle_result *res)
{
    memset(res, 0, sizeof *res);
    /* a replay repeats exactly: its ids come from the simulated clock */
    if (ctx->run_id || !sink_db(&ctx->sink))
        cycle_seq_id(res->cycle_id, now, ctx->ncycles);
    else
        cycle_new_id(res->cycle_id);
    log_set_cycle(res->cycle_id);   /* probes, LLM calls, webhooks: every line of the cycle */
    struct usage_tally *tally = malloc(sizeof *tally);
    int rc = -1;
    if (tally)
        rc = cycle_run_once(ctx, now, forced_by, res, tally);
    else
        log_event(LOG_ERROR, "cycle.out_of_memory", NULL);
    free(tally);
    log_set_cycle(NULL);
    return rc;
}
