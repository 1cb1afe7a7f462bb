/* replay: simulated sensing and workflows around the real cycle; see replay.h. */
#include "config.h"
#include "replay.h"
#include "catalog.h"
#include "follow.h"
#include "learn.h"
#include "log.h"
#include "sessions.h"
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_BASE_BARS 1440         /* trailing baseline: the last day of trading */
#define REPLAY_BASE_MIN 60            /* bars needed before the baseline counts */
#define REPLAY_CRYPTO_GAP 300         /* no bar for this long: the crypto source is unhealthy */
#define REPLAY_FOREX_GAP 900          /* forex: stale quotes; unhealthy while the market is open */
#define REPLAY_BATCH 100              /* decisions per transaction (with a savepoint each) */

int replay_prepare(struct replay_series *s, long window_s)
{
    free(s->base);
    s->base = malloc((s->n ? s->n : 1) * sizeof *s->base);
    double *rr = malloc((s->n ? s->n : 1) * sizeof *rr);
    if (!s->base || !rr) {
        free(rr);
        return -1;
    }
    size_t w = (size_t)(window_s / 60 > 0 ? window_s / 60 : 1);
    for (size_t j = 0; j < s->n; j++) {
        rr[j] = -1;
        if (j + 1 < w || s->t[j] - s->t[j + 1 - w] > 2 * window_s)
            continue;
        double hi = s->h[j], lo = s->l[j];
        for (size_t i = j + 1 - w; i < j; i++) {
            if (s->h[i] > hi) hi = s->h[i];
            if (s->l[i] < lo) lo = s->l[i];
        }
        rr[j] = (hi - lo) / s->c[j];
    }
    double sum = 0;
    long cnt = 0;
    for (size_t j = 0; j < s->n; j++) {
        if (rr[j] >= 0) {
            sum += rr[j];
            cnt++;
        }
        if (j >= REPLAY_BASE_BARS && rr[j - REPLAY_BASE_BARS] >= 0) {
            sum -= rr[j - REPLAY_BASE_BARS];
            cnt--;
        }
        s->base[j] = cnt >= REPLAY_BASE_MIN ? sum / (double)cnt : -1;
    }
    free(rr);
    return 0;
}

/* ---- simulation --------------------------------------------------------------- */

/* Index of the last bar completed by t (open + 60 <= t), or -1. */
static long replay_last_done(const struct replay_series *s, time_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->t[mid] + 60 <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

static double replay_threshold(int intensity)
{
    return intensity == INTENSITY_AGGRESSIVE ? 1.25 : intensity == INTENSITY_LIGHT ? 2.0 : 1.5;
}

/* Opportunities a scan of market m started at t with this intensity finds
 * over its fresh part [a, t + W). */
static int replay_simulate(const struct replay *r, int m, time_t t, int intensity)
{
    time_t a = r->cover_end[m] > t ? r->cover_end[m] : t, b = t + r->window_s;
    if (b - a < 60)
        return 0;
    int found = 0;
    for (int k = 0; k < r->ns; k++) {
        const struct replay_series *s = &r->s[k];
        if (s->market != m)
            continue;
        long j = replay_last_done(s, t);
        if (j < 0 || s->base[j] <= 0)
            continue;
        size_t i0 = replay_first_at(s, a), i1 = replay_first_at(s, b);
        if (i0 >= i1)
            continue;
        double hi = s->h[i0], lo = s->l[i0];
        for (size_t i = i0 + 1; i < i1; i++) {
            if (s->h[i] > hi) hi = s->h[i];
            if (s->l[i] < lo) lo = s->l[i];
        }
        double range = (hi - lo) / s->c[j];
        double need = replay_threshold(intensity) * s->base[j] * sqrt((double)(b - a) / (double)r->window_s);
        if (range > need)
            found++;
    }
    return found;
}

static int replay_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 1024;
    void *np = realloc(*p, nc * size);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

/* Report the ends of the simulated executions due by `upto`, as n8n would:
 * a scan's opportunities as its posted result (store_trigger_outcome, what
 * POST /results records), then the worker's own handling of an ended
 * execution with its result (follow_handle: learning, breaker, settling).
 * Returns 0 or -1 (not recorded). */
static int replay_deliver(struct replay *r, time_t upto)
{
    while (r->headpend < r->npend && r->pend[r->headpend].due <= upto) {
        struct replay_pending *p = &r->pend[r->headpend++];
        if (p->scan != (size_t)-1)
            r->scans[p->scan].opportunities = p->opportunities;
        if (p->opportunities >= 0 && sink_trigger_outcome(&r->sink, p->key, p->opportunities, p->due) < 0)
            return -1;
        struct store_unsettled u;
        memset(&u, 0, sizeof u);
        u.id = p->trigger_id;
        u.decision_id = p->decision_id;
        u.wf = p->wf;
        snprintf(u.status, sizeof u.status, "sent");
        snprintf(u.outcome, sizeof u.outcome, "succeeded");
        snprintf(u.result_status, sizeof u.result_status, "success");
        u.need_settle = 1;
        u.need_learn = p->opportunities >= 0;
        u.opportunities = p->opportunities;
        u.ctx.intensity = p->intensity;     /* the context as the row would hold it */
        snprintf(u.ctx.band, sizeof u.ctx.band, "%s", p->band >= 0 ? learn_band_name(p->band) : "");
        snprintf(u.ctx.session, sizeof u.ctx.session, "%s", p->bucket >= 0 ? learn_bucket_name(p->bucket) : "");
        u.ctx.exposure = p->exposure;
        u.created = p->due - r->window_s;
        if (follow_handle(&r->follow, &r->sink, &u, p->due) < 0)
            return -1;
    }
    return 0;
}

/* The recorded crypto bars as DexScreener's probe would show them at now:
 * the mean |5-minute| and |1-hour| change of the instruments, or the
 * probe failed for a gap in the bars. */
static void replay_sense_crypto(struct replay *r, time_t now, struct sense_snapshot *snap)
{
    struct sense_probe *dex = &snap->probes[FEED_DEXSCREENER];
    struct sense_market *mk = &snap->market;
    dex->configured = 1;
    dex->error[0] = '\0';
    double s5 = 0, s60 = 0;
    int n5 = 0, n60 = 0, ok = 1;
    for (int k = 0; k < r->ns && ok; k++) {
        const struct replay_series *s = &r->s[k];
        if (s->market != LEARN_CRYPTO)
            continue;
        long j = replay_last_done(s, now);
        if (j < 0 || now - (s->t[j] + 60) > REPLAY_CRYPTO_GAP) {
            ok = 0;
            snprintf(dex->error, sizeof dex->error, "gap in the recorded %s bars", s->name);
            break;
        }
        long j5 = replay_last_done(s, now - 300), j60 = replay_last_done(s, now - 3600);
        if (j5 >= 0) { s5 += fabs(s->c[j] / s->c[j5] - 1) * 100; n5++; }
        if (j60 >= 0) { s60 += fabs(s->c[j] / s->c[j60] - 1) * 100; n60++; }
        mk->pairs++;
    }
    if (ok) {
        dex->ok = 1;
        dex->http_status = 200;
        mk->crypto_valid = 1;
        mk->crypto_volatility = n5 ? s5 / n5 : 0;
        mk->crypto_h1 = n60 ? s60 / n60 : 0;
    } else {
        mk->pairs = 0;
    }
}

/* The recorded forex bars as TraderMade's quotes would be at now: the last
 * closes, their move since the previous decision (ctx->mem), stale when
 * the newest bar is old (closed), a failed probe for a gap while open. */
static void replay_sense_forex(struct replay *r, struct cycle_ctx *ctx, time_t now, struct sense_snapshot *snap)
{
    struct sense_probe *tm = &snap->probes[FEED_TRADERMADE];
    struct sense_market *mk = &snap->market;
    time_t newest = 0;
    double move = 0;
    int nmove = 0;
    for (int k = 0; k < r->ns && mk->nquotes < SENSE_MAX_QUOTES; k++) {
        const struct replay_series *s = &r->s[k];
        if (s->market != LEARN_FOREX)
            continue;
        long j = replay_last_done(s, now);
        if (j < 0)
            continue;
        if (s->t[j] + 60 > newest)
            newest = s->t[j] + 60;
        struct sense_quote *q = &mk->quotes[mk->nquotes++];
        snprintf(q->pair, sizeof q->pair, "%.6s", s->name);
        q->mid = s->c[j];
        for (int i = 0; i < ctx->mem.nquotes; i++) {
            if (strcmp(ctx->mem.quotes[i].pair, q->pair) == 0 && ctx->mem.quotes[i].mid > 0) {
                move += fabs(q->mid - ctx->mem.quotes[i].mid) / ctx->mem.quotes[i].mid * 10000.0;
                nmove++;
            }
        }
    }
    int fresh = newest > 0 && now - newest <= REPLAY_FOREX_GAP;
    if (!fresh && snap->sessions.market_open) {
        snprintf(tm->error, sizeof tm->error, "gap in the recorded forex bars");
        mk->nquotes = 0;
    } else if (mk->nquotes > 0) {
        tm->ok = 1;
        tm->http_status = 200;
        mk->forex_valid = 1;
        mk->forex_stale = !fresh;
        mk->forex_move_bp = nmove ? move / nmove : -1;
        ctx->mem.nquotes = mk->nquotes;
        memcpy(ctx->mem.quotes, mk->quotes, sizeof ctx->mem.quotes);
    } else {
        /* closed and nothing recorded yet: the provider's quotes are stale */
        tm->ok = 1;
        tm->http_status = 200;
        mk->forex_stale = 1;
    }
}

static void replay_sense(struct cycle_ctx *ctx, time_t now, struct sense_snapshot *snap)
{
    struct replay *r = ctx->io->user;
    r->now = now;
    if (replay_deliver(r, now) < 0)
        r->failed = 1;
    sense_snapshot_begin(snap, now);
    snap->load1 = 0;
    snap->ncpu = 1;
    snap->load_per_core = 0;
    for (int f = 0; f < FEED_COUNT; f++)
        snprintf(snap->probes[f].error, sizeof snap->probes[f].error, "not configured");

    /* a market without recorded data is one whose source is not there:
     * crypto "not configured", forex quotes that never move (stale) */
    struct sense_market *mk = &snap->market;
    if (r->have[LEARN_CRYPTO])
        replay_sense_crypto(r, now, snap);
    struct sense_probe *tm = &snap->probes[FEED_TRADERMADE];
    tm->configured = 1;
    tm->error[0] = '\0';
    if (!r->have[LEARN_FOREX]) {
        tm->ok = 1;
        tm->http_status = 200;
        mk->forex_stale = 1;
    } else {
        replay_sense_forex(r, ctx, now, snap);
    }
    mk->volatility = mk->crypto_valid ? mk->crypto_volatility : 0;
    if (mk->forex_valid && mk->forex_move_bp >= 0 && mk->forex_move_bp / 100.0 > mk->volatility)
        mk->volatility = mk->forex_move_bp / 100.0;
}

/* Record one run in r->scans (market m); returns its index, or (size_t)-1
 * when out of memory. */
static size_t replay_note_run(struct replay *r, time_t at, int m, int wf, int intensity)
{
    if (replay_grow((void **)&r->scans, &r->capscans, r->nscans, sizeof *r->scans) < 0) {
        log_event(LOG_ERROR, "replay.out_of_memory", NULL);
        r->failed = 1;
        return (size_t)-1;
    }
    r->scans[r->nscans] = (struct replay_scan){ at, m, intensity, -1, wf, catalog_workflow(wf)->market == MARKET_BOTH };
    return r->nscans++;
}

/* The cycle's act seam, deliver_decision's transport in the replay: the
 * simulated n8n accepts every trigger at once; an execution lasts one scan
 * window and its end (with a scan's opportunities) is reported when the
 * window has passed (replay_deliver).  Only the triggers that the breaker
 * and the concurrency policy let through arrive here. */
static void replay_act(struct cycle_ctx *ctx, const struct decide_choice *ch, struct act_job *jobs, int n)
{
    struct replay *r = ctx->io->user;
    time_t now = r->now;
    int seen[LEARN_MARKET_COUNT] = { 0 };
    for (int i = 0; i < n; i++) {
        struct act_job *j = &jobs[i];
        j->status = ACT_SENT;
        j->transport_err = 0;
        j->http_status = 200;
        j->retry_after_ms = -1;
        j->latency_ms = 0;
        j->error[0] = '\0';
        snprintf(j->response, sizeof j->response, "{\"replay\":\"simulated\"}");
        int wf = catalog_workflow_parse(j->workflow);
        const struct catalog_wf *w = catalog_workflow(wf);
        if (!w)
            continue;
        if (replay_grow((void **)&r->pend, &r->cappend, r->npend, sizeof *r->pend) < 0) {
            log_event(LOG_ERROR, "replay.out_of_memory", NULL);
            r->failed = 1;
            continue;
        }
        struct replay_pending *p = &r->pend[r->npend++];
        memset(p, 0, sizeof *p);
        p->due = now + r->window_s;
        p->wf = wf;
        p->market = -1;
        p->band = -1;
        p->bucket = -1;
        p->intensity = ch->intensity;
        p->opportunities = -1;
        p->scan = (size_t)-1;
        p->trigger_id = j->trigger_id;
        p->decision_id = j->decision_id;
        snprintf(p->key, sizeof p->key, "%s", j->key);
        if (w->market == MARKET_SYSTEM) {
            r->health_checks++;           /* not a scan: no market, not a run */
            continue;
        }
        if (w->market == MARKET_BOTH) {
            /* a cross-market analysis (deep-market-analysis): a run of every
             * market present (it costs), but no scan window of its own (no coverage) */
            r->deep_analyses++;
            for (int m = 0; m < LEARN_MARKET_COUNT; m++)
                if (r->have[m])
                    replay_note_run(r, now, m, wf, ch->intensity);
            continue;
        }
        int m = w->market == MARKET_CRYPTO ? LEARN_CRYPTO : w->market == MARKET_FOREX ? LEARN_FOREX : -1;
        if (m < 0)
            continue;
        /* a second workflow of the same market in one decision watches
         * nothing new: a run, with no fresh exposure and nothing found */
        int again = seen[m]++;
        p->market = m;
        p->band = ctx->learn ? ctx->learn->m[m].band : LEARN_USUAL;
        p->bucket = ctx->learn ? ctx->learn->m[m].bucket : -1;
        p->exposure = again ? 0 : ctx->learn ? ctx->learn->m[m].exposure : 1;
        p->opportunities = again ? 0 : replay_simulate(r, m, now, ch->intensity);
        if (!again)
            r->cover_end[m] = now + r->window_s;
        p->scan = replay_note_run(r, now, m, wf, ch->intensity);
    }
}

/* Minute t of the replay: every bar closed by then goes to the watch (from
 * a week before `from`: its warm-up), through the live path (watch_price,
 * watch_due), and the wake of a decision at t into ctx->wake.  Returns
 * nonzero when a decision is due: its schedule (next) or an event. */
static int replay_minute(struct replay *r, struct cycle_ctx *ctx, struct watch *watch, size_t *feed, time_t t,
                         time_t next, int first)
{
    for (int k = 0; k < r->ns; k++) {
        const struct replay_series *s = &r->s[k];
        while (feed[k] < s->n && s->t[feed[k]] + 60 <= t) {
            if (s->t[feed[k]] + 60 > r->from - 60 * 60 * 24 * 7)
                (void)watch_price(watch, s->market, s->name, s->t[feed[k]] + 60, s->c[feed[k]]);
            feed[k]++;
        }
    }
    ctx->wake = (struct sense_wake_info){ .kind = first ? SENSE_WAKE_STARTUP : SENSE_WAKE_SCHEDULED, .market = -1 };
    int due = t >= next;
    struct watch_event ev;
    for (int m = 0; ctx->wake.kind != SENSE_WAKE_EVENT && m < LEARN_MARKET_COUNT; m++) {
        if (!watch_due(watch, m, t, &ev) || (due && ev.threshold < 0))
            continue;             /* a first look is no news to a decision due anyway */
        due = 1;
        ctx->wake = (struct sense_wake_info){ .kind = SENSE_WAKE_EVENT, .market = m, .value = ev.score,
                                              .threshold = ev.threshold };
        snprintf(ctx->wake.signal, sizeof ctx->wake.signal, "activity:%.50s", ev.instrument);
    }
    return due;
}

/* replay.h.  The loop over the simulated minutes keeps the batched
 * writer's transaction steps (begin, final rows, commit every REPLAY_BATCH
 * decisions) next to the decisions they enclose, which makes it a little
 * longer than most functions. */
int replay_run(struct replay *r, struct cycle_ctx *ctx, char *err, size_t errlen)
{
    struct cycle_io io = { replay_sense, replay_act, r };
    char derr[256];
    if (deliver_init(&r->deliver, ctx->cfg, NULL, ctx->learn, derr, sizeof derr) < 0) {
        snprintf(err, errlen, "%s", derr);
        return -1;
    }
    deliver_set_local(&r->deliver, (unsigned long long)ctx->cfg->learn_seed);
    follow_init(&r->follow, ctx->cfg, &r->deliver, ctx->learn, NULL);
    struct deliver *saved = ctx->deliver;
    ctx->io = &io;
    ctx->deliver = &r->deliver;
    r->sink = ctx->sink;
    for (int k = 0; k < r->ns; k++)
        r->have[r->s[k].market] = 1;
    int rc = 0;
    /* the watch gets every bar as it closes, minute by minute
     * (replay_minute); decisions come on their schedule or when the watch
     * wakes one */
    struct watch watch;
    if (watch_init(&watch, ctx->cfg) < 0) {
        snprintf(err, errlen, "out of memory");
        ctx->io = NULL;
        ctx->deliver = saved;
        return -1;
    }
    ctx->watch = &watch;
    size_t feed[REPLAY_MAX_SERIES] = { 0 };
    time_t t = r->from, next = r->from;
    long batched = 0;
    int first = 1;
    for (; t < r->to; t += 60) {
        if (!replay_minute(r, ctx, &watch, feed, t, next, first))
            continue;
        first = 0;
        struct cycle_result res;
        if (batched == 0 && sink_batch_begin(&r->sink) < 0) {
            snprintf(err, errlen, "could not open a transaction (see the log)");
            rc = -1;
            break;
        }
        if (++batched == REPLAY_BATCH) {
            batched = 0;
        }
        if (cycle_run(ctx, t, 0, &res) < 0 || r->failed) {
            snprintf(err, errlen, "the decision at %lld could not be recorded or followed (see the log)", (long long)t);
            rc = -1;
            break;
        }
        r->decisions++;
        r->llm_calls += res.llm_calls;
        r->llm_tokens += res.llm_tokens;
        if (replay_grow((void **)&r->marks, &r->capmarks, r->nmarks, sizeof *r->marks) == 0)
            r->marks[r->nmarks++] = (struct replay_mark){ t, res.mode, res.ntriggers };
        if (ctx->wake.kind == SENSE_WAKE_EVENT)
            r->wakes++;
        /* an event does not move the schedule earlier than the decision asks */
        next = res.next_at > t ? res.next_at : t + 60;
        /* a decision whose executions have all ended changes no more */
        if (batched == 0)
            sink_batch_final_below(&r->sink, r->headpend < r->npend ? r->pend[r->headpend].decision_id : 0);
        if (batched == 0 && sink_batch_commit(&r->sink) < 0) {
            snprintf(err, errlen, "could not commit (see the log)");
            rc = -1;
            break;
        }
    }
    if (rc == 0 && replay_deliver(r, r->to) < 0) {
        snprintf(err, errlen, "the last outcomes could not be recorded (see the log)");
        rc = -1;
    }
    if (sink_batch_commit(&r->sink) < 0 && rc == 0) {
        snprintf(err, errlen, "could not commit (see the log)");
        rc = -1;
    }
    ctx->io = NULL;
    ctx->deliver = saved;
    ctx->watch = NULL;
    watch_free(&watch);
    return rc;
}

void replay_free(struct replay *r)
{
    deliver_free(&r->deliver);
    free(r->scans);
    free(r->marks);
    free(r->pend);
    r->scans = NULL;
    r->marks = NULL;
    r->pend = NULL;
    r->nscans = r->nmarks = r->npend = 0;
}
