/* store_batch: the replay's batched writer; see store_batch.h. */
#include "config.h"
#include "store_batch.h"
#include "store.h"
#include "store_sql.h"
#include "store_stage.h"
#include "db.h"
#include "status.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_BATCH_MAX_PENDING 2000      /* results unread before a sync is forced */
#define STORE_BATCH_MAX_PREPARED 64
#define STORE_BATCH_FLUSH_EVERY 16        /* statements sent to the server at once */
#define STORE_BATCH_MAX_MARKS 8
#define STORE_BATCH_IDS_MIN 64            /* ids reserved at once: doubling up to the max */
#define STORE_BATCH_IDS_MAX 4096
#define STORE_BATCH_DAY 86400             /* the history's 24 hours (SQL_HISTORY_COUNTS_RUN) */
#define STORE_BATCH_VACUUM_EVERY 10       /* commits between two vacuums of the staging (store_stage.h) */

static const char SQL_RESERVE_DECISION_IDS[] =
    "SELECT nextval('decisions_id_seq') AS id FROM generate_series(1, $1::int)";
static const char SQL_RESERVE_TRIGGER_IDS[] =
    "SELECT nextval('triggers_id_seq') AS id FROM generate_series(1, $1::int)";

/* The statements the writer knows: none changes a decision's status
 * behind its back (those that set one are followed through
 * store_batch_note_status).  After any other, the history is read from
 * the database. */
static const char *const store_batch_known[] = {
    "insert_decision", "insert_trigger", "insert_llm_call", "upsert_learning", "mark_sending", "mark_acting",
    "trigger_attempt", "trigger_result", "trigger_skip", "trigger_outcome", "trigger_settled", "decision_settle",
    "decision_settle_write",
    "decision_done", "history_counts_run", "history_recent_run", "load_learning", "reserve_ids", "batch_begin",
    "batch_commit", "move_decisions", "move_triggers", "move_llm_calls",
};

/* What one result of the pipeline belongs to. */
struct store_batch_expect {
    const char *name;
    int keep;                         /* the answer the caller waits for */
    long long settle_id;              /* a settlement not waited for (store_batch_settle): its decision, */
    char before[16], expect[16];      /* its status before and the status the replay took as its answer */
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
    struct store_batch_expect *e;     /* the results sent for and not read yet, in order */
    size_t ne, cape;
    unsigned long sent;               /* statements sent so far (for the marks) */
    const char *prepared[STORE_BATCH_MAX_PREPARED];   /* "store_batch_<serial>_<i>" is prepared[i] */
    int nprepared;
    unsigned serial;                  /* names its prepared statements apart from an earlier writer's */
    unsigned long marks[STORE_BATCH_MAX_MARKS];
    int nmarks;
    int failed;                       /* a statement failed: the transaction is lost */
    int in_tx;                        /* a BEGIN was sent, no COMMIT yet */
    struct store_batch_ids ids[2];    /* decisions, triggers */
    struct store_batch_dec *dec;      /* every decision written, in id order */
    size_t ndec, capdec;
    size_t win, end;                  /* dec[win .. end): the history's 24 hours, counted below */
    time_t win_now;                   /* the now of the last history */
    int cnt, acted, succeeded;        /* of dec[win .. end) */
    int trusted;
    int staged;                       /* the replay's rows go to the staging (store_stage.h) */
    long long final_below;            /* staged decisions below it will not change (0: none known) */
    long long moved_below;            /* ... and those below this one went to the tables */
    unsigned long commits;
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
    if (store_stage_create(c) < 0) {
        free(b);
        return NULL;
    }
    b->staged = 1;
    if (PQenterPipelineMode(c) != 1) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(c));
        if (store_stage_finish(c) < 0)
            log_event(LOG_ERROR, "store.stage_left", NULL);
        free(b);
        return NULL;
    }
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

/* The prepared statement of sql: its index, or -1 when not prepared yet. */
static int store_batch_prepared(const struct store_batch *b, const char *sql)
{
    for (int i = 0; i < b->nprepared; i++)
        if (b->prepared[i] == sql)
            return i;
    return -1;
}

static int store_batch_expect(struct store_batch *b, const char *name, int keep)
{
    if (store_batch_grow((void **)&b->e, &b->cape, b->ne + 1, sizeof *b->e) < 0)
        return -1;
    memset(&b->e[b->ne], 0, sizeof b->e[b->ne]);
    b->e[b->ne].name = name;
    b->e[b->ne].keep = keep;
    b->ne++;
    return 0;
}

/* The answer r (succeeded) of settlement e's read: the status the rule
 * gives the database's rows (or unchanged: a trigger open, or not to be
 * settled) against the one the replay took.  Returns 0, or -1 when they
 * differ (logged). */
static int store_batch_settled(const struct store_batch_expect *e, PGresult *r)
{
    int s = store_settle_rows(r);
    const char *db = s < 0 ? e->before : decision_status_name(s);
    if (strcmp(db, e->expect) == 0)
        return 0;
    char msg[200];
    snprintf(msg, sizeof msg, "decision %lld: the database settled it %s, the replay went on with %s",
             e->settle_id, db, e->expect);
    log_event(LOG_ERROR, "store.failed", "s:statement s:error", e->name, msg);
    return -1;
}

/* Send one statement into the pipeline (prepared first when it has
 * parameters and is not yet), and let the server start on it.  Returns 0
 * or -1 (logged: the connection failed, or out of memory). */
static int store_batch_send(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals,
                            int keep)
{
    int ok;
    char pname[48];
    int k = n > 0 ? store_batch_prepared(b, sql) : -1;
    if (n > 0 && k < 0 && b->nprepared < STORE_BATCH_MAX_PREPARED) {
        k = b->nprepared;
        snprintf(pname, sizeof pname, "store_batch_%u_%d", b->serial, k);
        if (store_batch_expect(b, name, 0) < 0 || PQsendPrepare(b->c, pname, sql, n, NULL) != 1)
            goto fail;
        b->prepared[b->nprepared++] = sql;
    }
    if (store_batch_expect(b, name, keep) < 0)
        goto fail;
    if (k < 0) {
        ok = PQsendQueryParams(b->c, sql, n, NULL, vals, NULL, NULL, 0) == 1;
    } else {
        snprintf(pname, sizeof pname, "store_batch_%u_%d", b->serial, k);
        ok = PQsendQueryPrepared(b->c, pname, n, vals, NULL, NULL, 0) == 1;
    }
    /* every STORE_BATCH_FLUSH_EVERY statements out to the server (one
     * write, one wake-up of the server for all of them; libpq also sends
     * when its buffer fills), and its answers so far read off the socket
     * (into libpq's buffer): it never waits on us while we compute the
     * next decision */
    int flush = (b->sent + 1) % STORE_BATCH_FLUSH_EVERY == 0;
    if (!ok || (flush && (PQflush(b->c) != 0 || PQconsumeInput(b->c) != 1)))
        goto fail;
    b->sent++;
    return 0;
fail:
    log_event(LOG_ERROR, "store.failed", "s:statement s:error", name, PQerrorMessage(b->c));
    b->failed = 1;
    return -1;
}

/* Queue the moves of the staged decisions below w (text) to the tables. */
static int store_batch_move(struct store_batch *b, const char *w)
{
    const char *v[] = { w };
    return store_batch_send(b, "move_decisions", STORE_STAGE_MOVE_DECISIONS, 1, v, 0) < 0 ||
           store_batch_send(b, "move_triggers", STORE_STAGE_MOVE_TRIGGERS, 1, v, 0) < 0 ||
           store_batch_send(b, "move_llm_calls", STORE_STAGE_MOVE_LLM_CALLS, 1, v, 0) < 0 ? -1 : 0;
}

/* The history is read from the database from now on (why: the statement
 * or the reason), so every staged row goes to the tables and the staging
 * is dropped first: the statements after it read and write the tables,
 * as the unbatched path.  Returns 0 or -1 (the batch failed). */
static int store_batch_untrust(struct store_batch *b, const char *why)
{
    if (!b->trusted)
        return 0;
    b->trusted = 0;
    log_event(LOG_INFO, "store.batch_history_from_db", "s:statement", why);
    if (!b->staged)
        return 0;
    b->staged = 0;
    if (store_batch_move(b, STORE_STAGE_ALL) < 0 || store_batch_send(b, "unstage", STORE_STAGE_DROP, 0, NULL, 0) < 0)
        return -1;
    return 0;
}

/* Before statement name is sent: one the writer does not know could read
 * or change the replay's rows behind its back (store_batch_untrust).
 * Returns 0 or -1 (the batch failed). */
static int store_batch_trust(struct store_batch *b, const char *name)
{
    if (!b->trusted)
        return 0;
    for (size_t i = 0; i < sizeof store_batch_known / sizeof store_batch_known[0]; i++)
        if (strcmp(name, store_batch_known[i]) == 0)
            return 0;
    return store_batch_untrust(b, name);
}

/* A decision that went to the tables was to change no more
 * (store_batch_final_below): a statement on it missed its row.  Returns 0,
 * or -1 when id is one (logged; the batch failed). */
static int store_batch_moved(struct store_batch *b, long long id)
{
    if (!b->staged || id >= b->moved_below)
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "decision %lld changed after it went to the tables (store_batch_final_below)", id);
    log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", msg);
    b->failed = 1;
    return -1;
}

/* End the pipeline's current part with a sync and read every result sent
 * for: the first failure logged (store_checked), the kept answer into
 * *out (NULL: none kept).  Returns 0, or -1 (the batch has failed). */
static int store_batch_sync(struct store_batch *b, PGresult **out)
{
    if (out)
        *out = NULL;
    int rc = 0, prev_null = 0;
    size_t k = 0;
    if (PQpipelineSync(b->c) != 1) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
        b->failed = 1;
        return -1;
    }
    for (;;) {
        PGresult *r = PQgetResult(b->c);
        if (!r) {
            if (prev_null) {                  /* nothing more will come: the connection failed */
                log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
                rc = -1;
                break;
            }
            prev_null = 1;
            continue;
        }
        prev_null = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        const struct store_batch_expect *e = k < b->ne ? &b->e[k] : NULL;
        const char *name = e ? e->name : "batch";
        int keep = e && e->keep;
        k++;
        if (st == PGRES_PIPELINE_ABORTED) {   /* after the failure logged before it */
            PQclear(r);
            rc = -1;
        } else if (!(r = store_checked(r, name))) {
            rc = -1;
        } else if (e && e->settle_id && store_batch_settled(e, r) < 0) {
            PQclear(r);
            rc = -1;
        } else if (keep && out) {
            PQclear(*out);
            *out = r;
        } else {
            PQclear(r);
        }
    }
    b->ne = 0;
    if (rc < 0) {
        b->failed = 1;
        if (out) {
            PQclear(*out);
            *out = NULL;
        }
    }
    return rc;
}

int store_batch_queue(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals)
{
    if (b->failed)
        return -1;
    if (store_batch_trust(b, name) < 0 || store_batch_send(b, name, sql, n, vals, 0) < 0)
        return -1;
    if (strcmp(sql, "BEGIN") == 0)
        b->in_tx = 1;
    /* the server's answers wait in our buffer until a sync reads them */
    return b->ne >= STORE_BATCH_MAX_PENDING ? store_batch_sync(b, NULL) : 0;
}

PGresult *store_batch_run(struct store_batch *b, const char *name, const char *sql, int n, const char *const *vals)
{
    if (b->failed)
        return NULL;
    PGresult *r = NULL;
    if (store_batch_trust(b, name) < 0 || store_batch_send(b, name, sql, n, vals, 1) < 0 || store_batch_sync(b, &r) < 0)
        return NULL;
    return r;
}

/* dec[] index of decision id, or -1. */
static long store_batch_find(const struct store_batch *b, long long id)
{
    size_t lo = 0, hi = b->ndec;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->dec[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->ndec && b->dec[lo].id == id ? (long)lo : -1;
}

int store_batch_settle(struct store_batch *b, const char *const *vals, long long id, const char *expect, char *status,
                       size_t cap)
{
    if (b->failed)
        return -1;
    long i = store_batch_find(b, id);
    if (i < 0)
        return -2;
    if (store_batch_moved(b, id) < 0)
        return -1;
    const char *before = b->dec[i].status;
    const char *took = expect ? expect : before;
    if (store_batch_trust(b, "decision_settle") < 0 ||
        store_batch_send(b, "decision_settle", STORE_SQL_SETTLE_READ, 1, vals, 0) < 0)
        return -1;
    struct store_batch_expect *e = &b->e[b->ne - 1];
    e->settle_id = id;
    snprintf(e->before, sizeof e->before, "%s", before);
    snprintf(e->expect, sizeof e->expect, "%s", took);
    int settled = strcmp(took, "acting") != 0 && strcmp(took, "pending") != 0;
    const char *wv[] = { vals[0], took };
    if (settled && store_batch_send(b, "decision_settle_write", STORE_SQL_SETTLE_WRITE, 2, wv, 0) < 0)
        return -1;
    if (cap)
        snprintf(status, cap, "%s", settled ? took : "");
    if (strcmp(took, before) != 0)
        store_batch_note_status(b, id, took);
    if (b->ne >= STORE_BATCH_MAX_PENDING && store_batch_sync(b, NULL) < 0)
        return -1;
    return settled;
}

/* Vacuum the staging between two transactions, outside the pipeline
 * (VACUUM runs in none).  Its failure is logged and the replay goes on.
 * Returns 0, or -1 when the pipeline could not be entered again. */
static int store_batch_vacuum(struct store_batch *b)
{
    if (PQexitPipelineMode(b->c) != 1) {
        log_event(LOG_WARN, "store.batch_not_vacuumed", "s:error", PQerrorMessage(b->c));
        return 0;
    }
    if (store_stage_vacuum(b->c) < 0)
        log_event(LOG_WARN, "store.batch_not_vacuumed", "s:error", "see db.exec_failed");
    if (PQenterPipelineMode(b->c) != 1) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
        b->failed = 1;
        return -1;
    }
    return 0;
}

void store_batch_final_below(PGconn *c, long long decision_id)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        b->final_below = decision_id > 0 ? decision_id : b->ndec ? b->dec[b->ndec - 1].id + 1 : 0;
}

int store_batch_begin(PGconn *c)
{
    struct store_batch *b = store_batch_of(c);
    if (b)
        return store_batch_queue(b, "batch_begin", "BEGIN", 0, NULL);
    return db_exec(c, "BEGIN");
}

int store_batch_commit(PGconn *c)
{
    struct store_batch *b = store_batch_of(c);
    if (!b)
        return PQtransactionStatus(c) == PQTRANS_INTRANS ? db_exec(c, "COMMIT") : 0;
    if (!b->in_tx)
        return b->failed ? -1 : b->ne ? store_batch_sync(b, NULL) : 0;
    b->in_tx = 0;
    /* every answer read before the COMMIT goes: a settlement the replay
     * took wrongly fails the batch before it is committed */
    if (!b->failed && b->ne)
        (void)store_batch_sync(b, NULL);      /* a failure sets b->failed */
    if (!b->failed) {
        char w[24];
        snprintf(w, sizeof w, "%lld", b->final_below);
        if (b->staged && b->final_below > 0) {
            (void)store_batch_move(b, w);     /* a failure fails the batch: the COMMIT is not sent */
            b->moved_below = b->final_below;
        }
        PGresult *r = store_batch_run(b, "batch_commit", "COMMIT", 0, NULL);
        if (r) {
            PQclear(r);
            if (b->staged && ++b->commits % STORE_BATCH_VACUUM_EVERY == 0)
                return store_batch_vacuum(b);
            return 0;
        }
    }
    /* a statement failed: what was sent is in an aborted transaction
     * (unless the COMMIT itself failed, which ended it), or the batch was
     * poisoned and its transaction is open: end it (the answers not read
     * yet first, so that libpq knows the transaction's state) */
    b->failed = 0;
    if (b->ne && store_batch_sync(b, NULL) < 0)
        b->failed = 0;                    /* logged; the rollback below still goes */
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts == PQTRANS_INERROR || ts == PQTRANS_INTRANS) {
        PGresult *r = NULL;
        if (store_batch_send(b, "batch_rollback", "ROLLBACK", 0, NULL, 1) == 0 && store_batch_sync(b, &r) == 0)
            PQclear(r);
        else
            log_event(LOG_ERROR, "store.rollback_failed", NULL);
    }
    b->failed = 1;                        /* the batch is lost */
    return -1;
}

int store_batch_mark(struct store_batch *b)
{
    if (b->failed || b->nmarks == STORE_BATCH_MAX_MARKS)
        return -1;
    b->marks[b->nmarks++] = b->sent;
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
    if (b->marks[--b->nmarks] != b->sent) {
        /* statements are sent as they come: only the whole transaction can go */
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch",
                  "a rollback after statements were sent: the batch's transaction is rolled back");
        b->failed = 1;
    }
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
        int col = store_col(r, "id");
        for (size_t i = 0; i < n; i++)
            nv[i] = store_int(r, (int)i, col);
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
        (void)store_batch_untrust(b, "out of memory");     /* a failure fails the batch */
        return -1;
    }
    if (b->ndec > 0 && (id <= b->dec[b->ndec - 1].id || at < b->dec[b->ndec - 1].at))
        (void)store_batch_untrust(b, "decisions out of order");   /* the window below assumes the order */
    struct store_batch_dec *d = &b->dec[b->ndec++];
    d->id = id;
    d->at = at;
    snprintf(d->mode, sizeof d->mode, "%s", mode);
    snprintf(d->status, sizeof d->status, "%s", status);
    return 0;
}

void store_batch_note_status(struct store_batch *b, long long id, const char *status)
{
    long i = store_batch_find(b, id);
    if (i < 0 || store_batch_moved(b, id) < 0)
        return;
    size_t lo = (size_t)i;
    struct store_batch_dec *d = &b->dec[lo];
    int counted = lo >= b->win && lo < b->end;
    if (counted)
        store_batch_count(b, d->status, -1);
    snprintf(d->status, sizeof d->status, "%s", status);
    if (counted)
        store_batch_count(b, d->status, 1);
}

int store_batch_history(struct store_batch *b, long long run_id, time_t now, struct store_history *h)
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
    for (size_t i = b->ndec; i > 0 && h->nrecent < STORE_MAX_RECENT; i--) {
        struct store_recent *r = &h->recent[h->nrecent++];
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
    if (!b || store_batch_current != b)
        return 0;
    int rc = b->in_tx ? store_batch_commit(b->c) : b->ne ? store_batch_sync(b, NULL) : 0;
    if (b->failed)
        rc = -1;
    int out = PQexitPipelineMode(b->c) == 1;
    if (!out) {
        log_event(LOG_ERROR, "store.failed", "s:statement s:error", "batch", PQerrorMessage(b->c));
        rc = -1;
    }
    store_batch_current = NULL;           /* store.c's statements run directly from here */
    if (out && store_stage_finish(b->c) < 0)
        rc = -1;
    return rc;
}

void store_batch_free(struct store_batch *b)
{
    if (!b)
        return;
    if (store_batch_current == b && store_batch_finish(b) < 0)
        log_event(LOG_ERROR, "store.batch_lost", "s:detail", "the replay's last statements were not all written");
    free(b->e);
    free(b->ids[0].v);
    free(b->ids[1].v);
    free(b->dec);
    free(b);
}
