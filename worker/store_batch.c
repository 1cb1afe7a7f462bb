/* store_batch: the replay's batched writer; see store_batch.h. */
#include "config.h"
#include "store_batch.h"
#include "store.h"
#include "store_sql.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_BATCH_MAX_QUEUE 2000        /* statements queued before they are sent anyway (their
                                           * answers must fit the socket's buffers: see the flush) */
#define STORE_BATCH_MAX_BYTES (16L << 20) /* bytes of parameters likewise */
#define STORE_BATCH_MAX_PARAMS 64
#define STORE_BATCH_MAX_PREPARED 64
#define STORE_BATCH_MAX_MARKS 8
#define STORE_BATCH_IDS_MIN 64            /* ids reserved at once: doubling up to the max */
#define STORE_BATCH_IDS_MAX 4096
#define STORE_BATCH_DAY 86400             /* the history's 24 hours (SQL_HISTORY_COUNTS_RUN) */

static const char SQL_RESERVE_DECISION_IDS[] =
    "SELECT nextval('decisions_id_seq') FROM generate_series(1, $1::int)";
static const char SQL_RESERVE_TRIGGER_IDS[] =
    "SELECT nextval('triggers_id_seq') FROM generate_series(1, $1::int)";

/* The statements the writer knows: none changes a decision's status
 * behind its back (those that set one are followed through
 * store_batch_note_status).  After any other, the history is read from
 * the database. */
static const char *const store_batch_known[] = {
    "insert_decision", "insert_trigger", "insert_llm_call", "upsert_learning", "mark_sending", "mark_acting",
    "trigger_attempt", "trigger_result", "trigger_skip", "trigger_outcome", "trigger_settled", "decision_settle",
    "decision_done", "history_counts_run", "history_recent_run", "load_learning", "reserve_ids", "batch_begin",
    "batch_commit",
};

struct store_batch_stmt {
    const char *name, *sql;           /* static strings (store.c's constants) */
    int n;
    size_t param;                     /* its first parameter in params[] */
};

struct store_batch_mark {
    size_t nq, nparams, ntext;
    unsigned long gen;                /* flushes when it was set */
};

struct store_batch_ids {
    long long *v;
    size_t n, next, block;
};

struct store_batch_dec {              /* a decision as the history sees it */
    long long id;
    time_t at;
    char mode[12];
    char status[16];
};

struct store_batch {
    PGconn *c;
    long long run_id;
    struct store_batch_stmt *q;       /* the queue */
    size_t nq, capq;
    long *params;                     /* offsets into text; -1: NULL */
    size_t nparams, capparams;
    char *text;
    size_t ntext, captext;
    const char *prepared[STORE_BATCH_MAX_PREPARED];   /* "store_batch_<serial>_<i>" is prepared[i] */
    int nprepared;
    unsigned serial;                  /* names its prepared statements apart from an earlier writer's */
    struct store_batch_mark marks[STORE_BATCH_MAX_MARKS];
    int nmarks;
    unsigned long gen;                /* flushes so far */
    int failed;                       /* a statement failed: the transaction is lost */
    int in_tx;                        /* a BEGIN was queued or sent, no COMMIT yet */
    struct store_batch_ids ids[2];    /* decisions, triggers */
    struct store_batch_dec *dec;      /* every decision written, in id order */
    size_t ndec, capdec;
    size_t win, end;                  /* dec[win .. end): the history's 24 hours, counted below */
    time_t win_now;                   /* the now of the last history */
    int cnt, acted, succeeded;        /* of dec[win .. end) */
    int trusted;
};

static struct store_batch *store_batch_current;

struct store_batch *store_batch_of(PGconn *c)
{
    return store_batch_current && store_batch_current->c == c ? store_batch_current : NULL;
}

struct store_batch *store_batch_new(PGconn *c, long long run_id)
{
    if (store_batch_current)
        return NULL;
    struct store_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    static unsigned serial;
    b->c = c;
    b->run_id = run_id;
    b->serial = ++serial;
    b->trusted = 1;
    for (int i = 0; i < 2; i++)
        b->ids[i].block = STORE_BATCH_IDS_MIN;
    store_batch_current = b;
    return b;
}

static int store_batch_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * size);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

static void store_batch_trust(struct store_batch *b, const char *name)
{
    if (!b->trusted)
        return;
    for (size_t i = 0; i < sizeof store_batch_known / sizeof store_batch_known[0]; i++)
        if (strcmp(name, store_batch_known[i]) == 0)
            return;
    b->trusted = 0;
    log_event(LOG_INFO, "store.batch_history_from_db", "s:statement", name);
}

/* The prepared statement of sql: its index, or -1 when not prepared yet. */
static int store_batch_prepared(const struct store_batch *b, const char *sql)
{
    for (int i = 0; i < b->nprepared; i++)
        if (b->prepared[i] == sql)
            return i;
    return -1;
}

/* What one result of a pipeline belongs to. */
struct store_batch_expect {
    const char *name;
    int keep;                         /* the answer the caller waits for */
};

/* Send statement s (parameters pv) into the pipeline, preparing it first
 * when it has parameters and is not prepared yet; note its results in
 * e[*ne].  Returns 0 or -1 (the connection failed). */
static int store_batch_send_one(struct store_batch *b, const char *name, const char *sql, int n, const char *const *pv,
                                int keep, struct store_batch_expect *e, size_t *ne)
{
    if (n == 0) {
        e[(*ne)++] = (struct store_batch_expect){ name, keep };
        return PQsendQueryParams(b->c, sql, 0, NULL, NULL, NULL, NULL, 0) == 1 ? 0 : -1;
    }
    char pname[32];
    int k = store_batch_prepared(b, sql);
    if (k < 0 && b->nprepared < STORE_BATCH_MAX_PREPARED) {
        k = b->nprepared;
        snprintf(pname, sizeof pname, "store_batch_%u_%d", b->serial, k);
        if (PQsendPrepare(b->c, pname, sql, n, NULL) != 1)
            return -1;
        b->prepared[b->nprepared++] = sql;
        e[(*ne)++] = (struct store_batch_expect){ name, 0 };
    }
    e[(*ne)++] = (struct store_batch_expect){ name, keep };
    if (k < 0)
        return PQsendQueryParams(b->c, sql, n, NULL, pv, NULL, NULL, 0) == 1 ? 0 : -1;
    snprintf(pname, sizeof pname, "store_batch_%u_%d", b->serial, k);
    return PQsendQueryPrepared(b->c, pname, n, pv, NULL, NULL, 0) == 1 ? 0 : -1;
}

/* Read the pipeline's results up to its sync: the first failure logged
 * (store_checked), the kept answer into *out.  Returns 0 or -1. */
static int store_batch_read(struct store_batch *b, const struct store_batch_expect *e, size_t ne, PGresult **out)
{
    size_t k = 0;
    int rc = 0, prev_null = 0;
    for (;;) {
        PGresult *r = PQgetResult(b->c);
        if (!r) {
            if (prev_null) {                  /* nothing more will come: the connection failed */
                log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
                return -1;
            }
            prev_null = 1;
            continue;
        }
        prev_null = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return rc;
        }
        const char *name = k < ne ? e[k].name : "batch";
        int keep = k < ne && e[k].keep;
        k++;
        if (st == PGRES_PIPELINE_ABORTED) {   /* after the failure that was logged */
            PQclear(r);
            rc = -1;
            continue;
        }
        r = store_checked(r, name);
        if (!r)
            rc = -1;
        else if (keep && out)
            *out = r;
        else
            PQclear(r);
    }
}

/* Send the queue and then (sql non-NULL) one statement whose result goes
 * into *out, in one pipeline; the queue is empty afterwards.  Returns 0 or
 * -1 (logged; the batch has failed). */
static int store_batch_flush(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals,
                             PGresult **out)
{
    if (out)
        *out = NULL;
    if (b->failed)
        return -1;
    if (b->nq == 0 && !sql)
        return 0;
    struct store_batch_expect *e = malloc((2 * b->nq + 2) * sizeof *e);
    size_t ne = 0;
    int rc = -1;
    if (!e || PQenterPipelineMode(b->c) != 1) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", e ? PQerrorMessage(b->c) : "out of memory");
        free(e);
        b->failed = 1;
        return -1;
    }
    int sent = 0;
    for (size_t i = 0; i < b->nq; i++, sent++) {
        const struct store_batch_stmt *s = &b->q[i];
        const char *pv[STORE_BATCH_MAX_PARAMS];
        for (int j = 0; j < s->n; j++) {
            long off = b->params[s->param + (size_t)j];
            pv[j] = off < 0 ? NULL : b->text + off;
        }
        if (store_batch_send_one(b, s->name, s->sql, s->n, pv, 0, e, &ne) < 0)
            break;
    }
    if ((size_t)sent == b->nq && (!sql || store_batch_send_one(b, name, sql, n, vals, 1, e, &ne) == 0) &&
        PQpipelineSync(b->c) == 1)
        rc = store_batch_read(b, e, ne, out);
    else
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
    if (PQexitPipelineMode(b->c) != 1) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
        rc = -1;
    }
    free(e);
    if (rc < 0) {
        b->failed = 1;
        if (out) {
            PQclear(*out);
            *out = NULL;
        }
    }
    b->nq = b->nparams = b->ntext = 0;
    b->gen++;
    return rc;
}

int store_batch_queue(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals)
{
    if (b->failed || n > STORE_BATCH_MAX_PARAMS)
        return -1;
    store_batch_trust(b, name);
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += vals[i] ? strlen(vals[i]) + 1 : 0;
    if (store_batch_grow((void **)&b->q, &b->capq, b->nq + 1, sizeof *b->q) < 0 ||
        store_batch_grow((void **)&b->params, &b->capparams, b->nparams + (size_t)n, sizeof *b->params) < 0 ||
        store_batch_grow((void **)&b->text, &b->captext, b->ntext + bytes, 1) < 0) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", name, "out of memory");
        b->failed = 1;
        return -1;
    }
    b->q[b->nq++] = (struct store_batch_stmt){ name, sql, n, b->nparams };
    for (int i = 0; i < n; i++) {
        if (!vals[i]) {
            b->params[b->nparams++] = -1;
            continue;
        }
        size_t len = strlen(vals[i]) + 1;
        memcpy(b->text + b->ntext, vals[i], len);
        b->params[b->nparams++] = (long)b->ntext;
        b->ntext += len;
    }
    if (strcmp(sql, "BEGIN") == 0)
        b->in_tx = 1;
    if (b->nq >= STORE_BATCH_MAX_QUEUE || b->ntext >= (size_t)STORE_BATCH_MAX_BYTES)
        return store_batch_flush(b, NULL, NULL, 0, NULL, NULL);
    return 0;
}

PGresult *store_batch_run(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals)
{
    store_batch_trust(b, name);
    PGresult *r = NULL;
    if (store_batch_flush(b, name, sql, n, vals, &r) < 0)
        return NULL;
    if (strcmp(sql, "COMMIT") == 0)
        b->in_tx = 0;
    return r;
}

int store_batch_begin(PGconn *c)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        return store_batch_queue(b, "batch_begin", "BEGIN", 0, NULL);
    return c ? db_exec(c, "BEGIN") : 0;
}

int store_batch_commit(PGconn *c)
{
    struct store_batch *b = store_batch_of(c);
    if (!b)
        return c && PQtransactionStatus(c) == PQTRANS_INTRANS ? db_exec(c, "COMMIT") : 0;
    if (!b->in_tx)
        return store_batch_flush(b, NULL, NULL, 0, NULL, NULL);
    if (b->failed) {
        /* what was sent is in an aborted transaction: end it */
        b->in_tx = 0;
        if (PQtransactionStatus(c) != PQTRANS_IDLE && db_exec(c, "ROLLBACK") < 0)
            log_event(LOG_ERROR, "store.rollback_failed", NULL);
        return -1;
    }
    PGresult *r = store_batch_run(b, "batch_commit", "COMMIT", 0, NULL);
    PQclear(r);
    return r ? 0 : -1;
}

int store_batch_mark(struct store_batch *b)
{
    if (b->failed || b->nmarks == STORE_BATCH_MAX_MARKS)
        return -1;
    b->marks[b->nmarks++] = (struct store_batch_mark){ b->nq, b->nparams, b->ntext, b->gen };
    return 0;
}

void store_batch_release(struct store_batch *b)
{
    if (b->nmarks > 0)
        b->nmarks--;
}

void store_batch_rewind(struct store_batch *b)
{
    if (b->nmarks == 0)
        return;
    const struct store_batch_mark *m = &b->marks[--b->nmarks];
    if (m->gen != b->gen) {
        /* part of what it covers was sent: only the whole transaction can go */
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch",
                  "a rollback after statements were sent: the batch's transaction is rolled back");
        b->failed = 1;
        return;
    }
    b->nq = m->nq;
    b->nparams = m->nparams;
    b->ntext = m->ntext;
}

long long store_batch_next_id(struct store_batch *b, int triggers)
{
    struct store_batch_ids *ids = &b->ids[triggers ? 1 : 0];
    if (ids->next == ids->n) {
        char k[16];
        snprintf(k, sizeof k, "%zu", ids->block);
        const char *v[] = { k };
        PGresult *r = store_batch_run(b, "reserve_ids", triggers ? SQL_RESERVE_TRIGGER_IDS : SQL_RESERVE_DECISION_IDS, 1, v);
        if (!r)
            return 0;
        size_t n = (size_t)PQntuples(r);
        long long *nv = realloc(ids->v, (n ? n : 1) * sizeof *nv);
        if (!nv || n == 0) {
            PQclear(r);
            free(nv);
            ids->v = NULL;
            ids->n = ids->next = 0;
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            nv[i] = store_int(r, (int)i, 0);
        PQclear(r);
        ids->v = nv;
        ids->n = n;
        ids->next = 0;
        if (ids->block < STORE_BATCH_IDS_MAX)
            ids->block *= 2;
    }
    return ids->v[ids->next++];
}

/* What status s adds to the history's counts (acted, succeeded). */
static void store_batch_count(struct store_batch *b, const char *s, int sign)
{
    int acted = strcmp(s, "succeeded") == 0 || strcmp(s, "partial") == 0 || strcmp(s, "failed") == 0;
    b->acted += sign * acted;
    b->succeeded += sign * (strcmp(s, "succeeded") == 0);
}

int store_batch_note_decision(struct store_batch *b, long long id, time_t at, const char *mode, const char *status)
{
    if (store_batch_grow((void **)&b->dec, &b->capdec, b->ndec + 1, sizeof *b->dec) < 0) {
        b->trusted = 0;
        return -1;
    }
    if (b->ndec > 0 && (id <= b->dec[b->ndec - 1].id || at < b->dec[b->ndec - 1].at))
        b->trusted = 0;               /* not in order: the window below assumes it */
    struct store_batch_dec *d = &b->dec[b->ndec++];
    d->id = id;
    d->at = at;
    snprintf(d->mode, sizeof d->mode, "%s", mode);
    snprintf(d->status, sizeof d->status, "%s", status);
    return 0;
}

void store_batch_note_status(struct store_batch *b, long long id, const char *status)
{
    size_t lo = 0, hi = b->ndec;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->dec[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == b->ndec || b->dec[lo].id != id)
        return;
    struct store_batch_dec *d = &b->dec[lo];
    int counted = lo >= b->win && lo < b->end;
    if (counted)
        store_batch_count(b, d->status, -1);
    snprintf(d->status, sizeof d->status, "%s", status);
    if (counted)
        store_batch_count(b, d->status, 1);
}

int store_batch_history(struct store_batch *b, long long run_id, time_t now, struct sense_history *h)
{
    if (!b->trusted || run_id != b->run_id || b->failed)
        return -1;
    if (now < b->win_now) {               /* backwards: count again */
        b->win = b->end = 0;
        b->cnt = b->acted = b->succeeded = 0;
    }
    b->win_now = now;
    /* SQL_HISTORY_COUNTS_RUN: decided_at > now - 24 h AND decided_at <= now */
    for (; b->end < b->ndec && b->dec[b->end].at <= now; b->end++) {
        b->cnt++;
        store_batch_count(b, b->dec[b->end].status, 1);
    }
    for (; b->win < b->end && b->dec[b->win].at <= now - STORE_BATCH_DAY; b->win++) {
        b->cnt--;
        store_batch_count(b, b->dec[b->win].status, -1);
    }
    memset(h, 0, sizeof *h);
    h->decisions_24h = b->cnt;
    h->acted_24h = b->acted;
    h->succeeded_24h = b->succeeded;
    /* SQL_HISTORY_RECENT_RUN: the run's last 5 by id, whatever their time */
    for (size_t i = b->ndec; i > 0 && h->nrecent < SENSE_MAX_RECENT && h->nrecent < 5; i--) {
        struct sense_recent *r = &h->recent[h->nrecent++];
        r->id = b->dec[i - 1].id;
        snprintf(r->mode, sizeof r->mode, "%s", b->dec[i - 1].mode);
        snprintf(r->status, sizeof r->status, "%s", b->dec[i - 1].status);
    }
    if (h->nrecent)
        snprintf(h->last_mode, sizeof h->last_mode, "%s", h->recent[0].mode);
    return 0;
}

int store_batch_finish(struct store_batch *b)
{
    if (!b)
        return 0;
    int rc = b->in_tx ? store_batch_commit(b->c) : store_batch_flush(b, NULL, NULL, 0, NULL, NULL);
    if (b->failed)
        rc = -1;
    if (store_batch_current == b)
        store_batch_current = NULL;
    return rc;
}

void store_batch_free(struct store_batch *b)
{
    if (!b)
        return;
    size_t queued = b->nq;
    if (store_batch_current == b && queued > 0 && store_batch_flush(b, NULL, NULL, 0, NULL, NULL) < 0)
        log_event(LOG_ERROR, "store.batch_lost", "i:statements", (long long)queued);
    if (store_batch_current == b)
        store_batch_current = NULL;
    free(b->q);
    free(b->params);
    free(b->text);
    free(b->ids[0].v);
    free(b->ids[1].v);
    free(b->dec);
    free(b);
}
