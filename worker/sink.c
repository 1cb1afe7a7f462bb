/* sink: the cycle's writes, to PostgreSQL or to memory; see sink.h. */
#include "config.h"
#include "sink.h"
#include "log.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

/* ---- PostgreSQL: store.h ------------------------------------------------------------ */

static int pg_history(void *c, long long run_id, time_t now, struct store_history *h)
{
    return store_history_run(c, run_id, now, h);
}
static int pg_decision_ids(void *c, long long run_id, int n, long long *id, long long *tids)
{
    return store_decision_ids(c, run_id, n, id, tids);
}
static int pg_decision(void *c, const struct store_decision_rec *rec) { return store_decision(c, rec); }
static int pg_refused(void *c, char *why, size_t cap) { return store_decision_refused(c, why, cap); }
static int pg_mark_sending(void *c, long long id) { return store_mark_sending(c, id); }
static int pg_trigger_skip(void *c, long long tid, const char *kind, const char *error)
{
    return store_trigger_skip(c, tid, kind, error);
}
static int pg_trigger_attempt(void *c, long long tid, const char *status, const struct act_job *job, const char *kind,
                              long long next_ms, const char *eid)
{
    return store_trigger_attempt(c, tid, status, job, kind, next_ms, eid);
}
static int pg_settle(void *c, long long id, const char *expect, char *status, size_t cap)
{
    return store_decision_settle_expect(c, id, expect, status, cap);
}
static int pg_trigger_outcome(void *c, const char *key, int opportunities, time_t at)
{
    return store_trigger_outcome(c, key, opportunities, at);
}
static int pg_trigger_handled(void *c, long long tid, int settled, int learned, const char *scope, const char *state,
                              const char *summary, time_t at)
{
    return store_trigger_handled(c, tid, settled, learned, scope, state, summary, at);
}
static int pg_batch_begin(void *c) { return store_batch_begin(c); }
static void pg_batch_final_below(void *c, long long id) { store_batch_final_below(c, id); }
static int pg_batch_commit(void *c) { return store_batch_commit(c); }

static const struct sink_ops sink_pg_ops = {
    "postgresql", 1, pg_history, pg_decision_ids, pg_decision, pg_refused, pg_mark_sending, pg_trigger_skip,
    pg_trigger_attempt, pg_settle, pg_trigger_outcome, pg_trigger_handled, pg_batch_begin, pg_batch_final_below,
    pg_batch_commit,
};

struct sink sink_pg(PGconn *db)
{
    return (struct sink){ &sink_pg_ops, db };
}

PGconn *sink_db(const struct sink *s)
{
    return s && s->ops == &sink_pg_ops ? s->ctx : NULL;
}

/* ---- memory ----------------------------------------------------------------------- */

void sink_mem_reset(struct sink_memory *m)
{
    memset(m, 0, sizeof *m);
}

/* The k-th newest decision kept (k from 1; its id 0 when that slot was
 * never used): a decision being delivered is a recent one. */
static struct sink_mem_decision *mem_newest(struct sink_memory *m, int k)
{
    return &m->ring[(m->next - k + SINK_MEM_DECISIONS) % SINK_MEM_DECISIONS];
}

/* The kept decision id, or NULL (never recorded, or pushed out of the ring). */
static struct sink_mem_decision *mem_find(struct sink_memory *m, long long id)
{
    for (int k = 1; id != 0 && k <= SINK_MEM_DECISIONS; k++)
        if (mem_newest(m, k)->id == id)
            return mem_newest(m, k);
    return NULL;
}

/* The kept trigger tid: its decision in *d and its index, or -1. */
static int mem_trigger(struct sink_memory *m, long long tid, struct sink_mem_decision **d)
{
    for (int k = 1; k <= SINK_MEM_DECISIONS; k++) {
        struct sink_mem_decision *e = mem_newest(m, k);
        for (int i = 0; e->id && i < e->ntriggers; i++)
            if (e->tid[i] == tid) {
                *d = e;
                return i;
            }
    }
    return -1;
}

static int mem_history(void *ctx, long long run_id, time_t now, struct store_history *h)
{
    (void)ctx;
    (void)run_id;
    (void)now;
    memset(h, 0, sizeof *h);          /* nothing recorded outside this process */
    return 0;
}

static int mem_decision_ids(void *ctx, long long run_id, int n, long long *id, long long *tids)
{
    struct sink_memory *m = ctx;
    (void)run_id;
    if (n < 0 || n > STORE_MAX_TRIGGERS)
        return -1;
    *id = ++m->seq;
    for (int i = 0; i < n; i++)
        tids[i] = ++m->seq;
    return 0;
}

static int mem_decision(void *ctx, const struct store_decision_rec *rec)
{
    struct sink_memory *m = ctx;
    if (rec->ntriggers < 0 || rec->ntriggers > STORE_MAX_TRIGGERS)
        return -1;
    struct sink_mem_decision *e = &m->ring[m->next];
    m->next = (m->next + 1) % SINK_MEM_DECISIONS;
    memset(e, 0, sizeof *e);
    e->id = rec->id;
    e->ntriggers = rec->ntriggers;
    int st = trigger_status_parse(rec->trigger_status);
    for (int i = 0; i < rec->ntriggers; i++) {
        e->tid[i] = rec->t[i].id;
        e->status[i] = (signed char)(st >= 0 ? st : TRIGGER_PENDING);
    }
    return 0;
}

static int mem_refused(void *ctx, char *why, size_t cap)
{
    (void)ctx;
    if (cap)
        why[0] = '\0';
    return 0;                         /* memory refuses no content */
}

static int mem_mark_sending(void *ctx, long long id)
{
    struct sink_mem_decision *e = mem_find(ctx, id);
    for (int i = 0; e && i < e->ntriggers; i++)
        if (e->status[i] == TRIGGER_PENDING)
            e->status[i] = TRIGGER_SENDING;
    return 0;
}

static int mem_trigger_skip(void *ctx, long long tid, const char *kind, const char *error)
{
    (void)error;
    struct sink_mem_decision *e;
    int i = mem_trigger(ctx, tid, &e);
    if (i >= 0 && e->status[i] == TRIGGER_PENDING) {
        e->status[i] = TRIGGER_SKIPPED;
        e->circuit_open[i] = kind && strcmp(kind, "circuit_open") == 0;
    }
    return 0;
}

static int mem_trigger_attempt(void *ctx, long long tid, const char *status, const struct act_job *job,
                               const char *kind, long long next_ms, const char *eid)
{
    (void)job;
    (void)kind;
    (void)next_ms;
    (void)eid;
    struct sink_mem_decision *e;
    int i = mem_trigger(ctx, tid, &e), st = trigger_status_parse(status);
    if (st < 0)
        return -1;
    if (i >= 0)
        e->status[i] = (signed char)st;
    return 0;
}

/* The rule on the kept statuses; expect, when given, must agree (the
 * caller's view of what was sent and this one are the same facts). */
static int mem_settle(void *ctx, long long id, const char *expect, char *status, size_t cap)
{
    struct sink_memory *m = ctx;
    if (cap)
        status[0] = '\0';
    struct sink_mem_decision *e = mem_find(m, id);
    if (!e)
        return 0;
    struct trigger_state t[STORE_MAX_TRIGGERS];
    for (int i = 0; i < e->ntriggers; i++)
        t[i] = (struct trigger_state){ .status = e->status[i], .outcome = -1, .circuit_open = e->circuit_open[i] };
    int s = decision_status_settle(t, e->ntriggers);
    const char *name = decision_status_name(s);
    if (expect && strcmp(expect, name) != 0) {
        log_event(LOG_ERROR, "sink.settle_mismatch", "i:decision_id s:expected s:settled", id, expect, name);
        return -1;
    }
    if (s == DECISION_ACTING)
        return 0;
    if (cap)
        snprintf(status, cap, "%s", name);
    m->settled++;
    return 1;
}

static int mem_trigger_outcome(void *ctx, const char *key, int opportunities, time_t at)
{
    (void)ctx;
    (void)key;
    (void)opportunities;
    (void)at;
    return 0;                         /* the replay scores opportunities itself */
}

static int mem_trigger_handled(void *ctx, long long tid, int settled, int learned, const char *scope,
                               const char *state, const char *summary, time_t at)
{
    (void)ctx;
    (void)tid;
    (void)settled;
    (void)learned;
    (void)scope;
    (void)state;
    (void)summary;
    (void)at;
    return 0;                         /* nothing to mark: the process is the record */
}

static int mem_batch(void *ctx)
{
    (void)ctx;
    return 0;
}

static void mem_final_below(void *ctx, long long id)
{
    (void)ctx;
    (void)id;
}

static const struct sink_ops sink_mem_ops = {
    "memory", 0, mem_history, mem_decision_ids, mem_decision, mem_refused, mem_mark_sending, mem_trigger_skip,
    mem_trigger_attempt, mem_settle, mem_trigger_outcome, mem_trigger_handled, mem_batch, mem_final_below, mem_batch,
};

struct sink sink_mem(struct sink_memory *m)
{
    return (struct sink){ &sink_mem_ops, m };
}

/* ---- the calls ------------------------------------------------------------------- */

#define SINK_CALL(s, op, ...) ((s) && (s)->ops ? (s)->ops->op((s)->ctx, __VA_ARGS__) : -1)

int sink_history(const struct sink *s, long long run_id, time_t now, struct store_history *h)
{
    if (!s || !s->ops)
        memset(h, 0, sizeof *h);
    return SINK_CALL(s, history, run_id, now, h);
}
int sink_decision_ids(const struct sink *s, long long run_id, int n, long long *id, long long *tids)
{
    return SINK_CALL(s, decision_ids, run_id, n, id, tids);
}
int sink_decision(const struct sink *s, const struct store_decision_rec *rec) { return SINK_CALL(s, decision, rec); }
int sink_refused(const struct sink *s, char *why, size_t cap)
{
    return s && s->ops ? s->ops->refused(s->ctx, why, cap) : 0;
}
int sink_mark_sending(const struct sink *s, long long id) { return SINK_CALL(s, mark_sending, id); }
int sink_trigger_skip(const struct sink *s, long long tid, const char *kind, const char *error)
{
    return SINK_CALL(s, trigger_skip, tid, kind, error);
}
int sink_trigger_attempt(const struct sink *s, long long tid, const char *status, const struct act_job *job,
                         const char *kind, long long next_ms, const char *eid)
{
    return SINK_CALL(s, trigger_attempt, tid, status, job, kind, next_ms, eid);
}
int sink_settle(const struct sink *s, long long id, const char *expect, char *status, size_t cap)
{
    return SINK_CALL(s, settle, id, expect, status, cap);
}
int sink_trigger_outcome(const struct sink *s, const char *key, int opportunities, time_t at)
{
    return SINK_CALL(s, trigger_outcome, key, opportunities, at);
}
int sink_trigger_handled(const struct sink *s, long long tid, int settled, int learned, const char *scope,
                         const char *state, const char *summary, time_t at)
{
    return SINK_CALL(s, trigger_handled, tid, settled, learned, scope, state, summary, at);
}
int sink_batch_begin(const struct sink *s) { return s && s->ops ? s->ops->batch_begin(s->ctx) : -1; }
void sink_batch_final_below(const struct sink *s, long long id)
{
    if (s && s->ops)
        s->ops->batch_final_below(s->ctx, id);
}
int sink_batch_commit(const struct sink *s) { return s && s->ops ? s->ops->batch_commit(s->ctx) : -1; }
int sink_documents(const struct sink *s) { return s && s->ops && s->ops->documents; }
