/* store_leader: the leader lease, the workers, takeover recovery, claims,
 * commands and missed decisions (sql/006_leader.sql); see store.h. */
#include "config.h"
#include "store.h"
#include "store_sql.h"
#include "catalog.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the lease -------------------------------------------------------------- */

static const char SQL_LEASE_BEGIN[] = "BEGIN";
/* a frozen leader may hold the lease row share-locked: do not wait long */
static const char SQL_LEASE_LOCK_TIMEOUT[] = "SET LOCAL lock_timeout = '2s'";
static const char SQL_LEASE_READ[] =
    "SELECT epoch, coalesce(holder, '') AS holder, released_at IS NOT NULL AS released, "
    "       coalesce(expires_at < now(), true) AS expired, "
    "       backend_pid IS NULL OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.backend_pid) "
    "       AS gone, "
    "       coalesce(extract(epoch FROM now() - renewed_at)::float8, -1) AS renewed_age "
    "  FROM leader_lease l WHERE id = 1 FOR UPDATE";
static const char SQL_LEASE_TAKE[] =
    "UPDATE leader_lease SET epoch = epoch + 1, holder = $1, backend_pid = pg_backend_pid(), "
    "       acquired_at = now(), renewed_at = now(), expires_at = now() + make_interval(secs => $2::int), "
    "       released_at = NULL "
    " WHERE id = 1 "
    "RETURNING epoch, set_config('orch.leader_epoch', epoch::text, false) AS leader_epoch";
static const char SQL_LEASE_COMMIT[] = "COMMIT";
static const char SQL_LEASE_ROLLBACK[] = "ROLLBACK";
/* keeps the lease only while no one took it (the epoch is unchanged):
 * also after the lease expired, or after a reconnect (new session) */
static const char SQL_LEASE_RENEW[] =
    "WITH u AS (UPDATE leader_lease SET renewed_at = now(), expires_at = now() + make_interval(secs => $3::int), "
    "                                   backend_pid = pg_backend_pid(), released_at = NULL "
    "            WHERE id = 1 AND epoch = $1::bigint AND holder = $2 RETURNING epoch) "
    "SELECT set_config('orch.leader_epoch', epoch::text, false) AS leader_epoch FROM u";
static const char SQL_LEASE_RELEASE[] =
    "UPDATE leader_lease SET released_at = now(), expires_at = now() "
    " WHERE id = 1 AND epoch = $1::bigint AND holder = $2";
static const char SQL_LEASE_FORGET[] =
    "SELECT set_config('orch.leader_epoch', '', false)";
static const char SQL_WORKER_REGISTER[] =
    "INSERT INTO workers (id, hostname, pid, version, role, epoch) "
    "VALUES ($1, $2, $3::int, $4, $5, nullif($6::bigint, 0)) "
    "ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, epoch = EXCLUDED.epoch, heartbeat_at = now(), "
    "       role_since = CASE WHEN workers.role IS DISTINCT FROM EXCLUDED.role THEN now() "
    "                         ELSE workers.role_since END";
static const char SQL_WORKERS_PRUNE[] =
    "DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => $1::int)";

int store_lease_take(PGconn *c, const char *me, long ttl_s, struct store_lease *out)
{
    memset(out, 0, sizeof *out);
    if (store_cmd(c, "lease_begin", SQL_LEASE_BEGIN, 0, NULL) < 0)
        return -1;
    PGresult *r = NULL;
    if (store_cmd(c, "lease_lock_timeout", SQL_LEASE_LOCK_TIMEOUT, 0, NULL) < 0 ||
        !(r = store_run(c, "lease_read", SQL_LEASE_READ, 0, NULL)) || PQntuples(r) != 1)
        goto fail;
    out->epoch = store_int(r, 0, store_col(r, "epoch"));
    snprintf(out->holder, sizeof out->holder, "%s", store_text(r, 0, store_col(r, "holder")));
    int released = strcmp(store_text(r, 0, store_col(r, "released")), "t") == 0;
    int expired = strcmp(store_text(r, 0, store_col(r, "expired")), "t") == 0;
    int gone = strcmp(store_text(r, 0, store_col(r, "gone")), "t") == 0;
    out->renewed_age_s = strtod(store_text(r, 0, store_col(r, "renewed_age")), NULL);
    PQclear(r);
    r = NULL;
    if (!out->holder[0])
        out->why = "first";
    else if (released)
        out->why = "released";
    else if (gone)
        out->why = "session_gone";
    else if (expired)
        out->why = "expired";
    if (!out->why) {
        /* held by a live leader */
        if (store_cmd(c, "lease_rollback", SQL_LEASE_ROLLBACK, 0, NULL) < 0)
            return -1;
        return 0;
    }
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", ttl_s);
    const char *v[] = { me, ttl };
    r = store_run(c, "lease_take", SQL_LEASE_TAKE, 2, v);
    if (!r || PQntuples(r) != 1)
        goto fail;
    out->epoch = store_int(r, 0, store_col(r, "epoch"));
    PQclear(r);
    r = NULL;
    if (store_cmd(c, "lease_commit", SQL_LEASE_COMMIT, 0, NULL) < 0) {
        store_lease_forget(c);
        return -1;
    }
    return 1;
fail:
    PQclear(r);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        (void)store_cmd(c, "lease_rollback", SQL_LEASE_ROLLBACK, 0, NULL);
    return -1;
}

int store_lease_renew(PGconn *c, const char *me, long long epoch, long ttl_s)
{
    char e[24], ttl[24];
    snprintf(e, sizeof e, "%lld", epoch);
    snprintf(ttl, sizeof ttl, "%ld", ttl_s);
    const char *v[] = { e, me, ttl };
    PGresult *r = store_run(c, "lease_renew", SQL_LEASE_RENEW, 3, v);
    if (!r)
        return -1;
    int kept = PQntuples(r) == 1;
    PQclear(r);
    return kept;
}

int store_lease_release(PGconn *c, const char *me, long long epoch)
{
    char e[24];
    snprintf(e, sizeof e, "%lld", epoch);
    const char *v[] = { e, me };
    int rc = store_cmd(c, "lease_release", SQL_LEASE_RELEASE, 2, v);
    store_lease_forget(c);
    return rc;
}

void store_lease_forget(PGconn *c)
{
    if (c && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE)
        (void)store_cmd(c, "lease_forget", SQL_LEASE_FORGET, 0, NULL);
}

int store_worker_register(PGconn *c, const char *me, const char *role, long long epoch)
{
    char pid[24], host[256] = "", e[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    gethostname(host, sizeof host - 1);
    snprintf(e, sizeof e, "%lld", epoch);
    const char *v[] = { me, host, pid, PACKAGE_VERSION, role, e };
    return store_cmd(c, "worker_register", SQL_WORKER_REGISTER, 6, v);
}

long store_workers_prune(PGconn *c, long max_age_s)
{
    char a[24];
    snprintf(a, sizeof a, "%ld", max_age_s);
    const char *v[] = { a };
    return store_affected(c, "workers_prune", SQL_WORKERS_PRUNE, 1, v);
}

/* ---- takeover recovery ----------------------------------------------------------- */

/* Live triggers only: a replay's rows are its own. */
#define STORE_LIVE " AND EXISTS (SELECT 1 FROM decisions d WHERE d.id = triggers.decision_id AND d.run_id IS NULL) "

/* a claim or a result proves the delivery */
static const char SQL_TAKEOVER_PROVEN[] =
    "UPDATE triggers SET status = 'sent', finished_at = coalesce(finished_at, now()), "
    "       execution_id = coalesce(execution_id, claimed_execution_id), "
    "       error = left(coalesce(error || '; ', '') || 'the previous leader stopped while sending; '"
    "                    || CASE WHEN claimed_at IS NOT NULL THEN 'its execution claimed the key' "
    "                            ELSE 'its result arrived' END, 1000) "
    " WHERE status = 'sending' AND (claimed_at IS NOT NULL OR result_at IS NOT NULL)" STORE_LIVE;
/* never claimed, and the workflow claims its key when it starts: sending
 * it again is safe (a first delivery that did arrive would be told it is
 * a duplicate) */
static const char SQL_TAKEOVER_RESEND[] =
    "UPDATE triggers SET status = 'retrying', next_attempt_at = now(), "
    "       error = left(coalesce(error || '; ', '') || 'the previous leader stopped while sending; "
    "key never claimed: sent again', 1000) "
    " WHERE status = 'sending' AND claimed_at IS NULL AND result_at IS NULL AND workflow = ANY($1::text[])" STORE_LIVE;
/* a workflow that does not claim: the delivery may have arrived */
static const char SQL_TAKEOVER_UNKNOWN[] =
    "UPDATE triggers SET status = 'unknown', finished_at = now(), "
    "       error = left(coalesce(error || '; ', '') || 'the previous leader stopped while sending: delivery unknown', 1000) "
    " WHERE status = 'sending'" STORE_LIVE;
/* the outbox: committed, never sent */
static const char SQL_TAKEOVER_OUTBOX[] =
    "UPDATE triggers SET status = 'retrying', next_attempt_at = now() "
    " WHERE status = 'pending' AND created_at > now() - make_interval(secs => $1::int)" STORE_LIVE;
static const char SQL_TAKEOVER_STALE[] =
    "UPDATE triggers SET status = 'abandoned', finished_at = now(), "
    "       error = 'not sent: decided more than OUTBOX_MAX_AGE_SECONDS before a worker could send it' "
    " WHERE status = 'pending'" STORE_LIVE;
/* a decision committed before its triggers were marked sending acts now */
static const char SQL_TAKEOVER_ACTING[] =
    "UPDATE decisions SET status = 'acting' WHERE status = 'pending' AND run_id IS NULL";
/* decisions left open whose triggers are all final now */
static const char SQL_TAKEOVER_OPEN_DECISIONS[] =
    "SELECT id FROM decisions d WHERE d.status IN ('pending','acting') AND d.run_id IS NULL "
    "   AND NOT EXISTS (SELECT 1 FROM triggers t WHERE t.decision_id = d.id "
    "                      AND t.status IN ('pending','sending','retrying')) "
    " ORDER BY id LIMIT 1000";
static const char SQL_TAKEOVER_RUNNING[] =
    "SELECT count(*) FILTER (WHERE status = 'sent') AS running, "
    "       count(*) FILTER (WHERE status = 'retrying') AS retrying "
    "  FROM triggers WHERE ((status = 'sent' AND outcome IS NULL) OR status = 'retrying')" STORE_LIVE;

int store_takeover_recover(PGconn *c, const char *const *claiming, int nclaiming, long outbox_max_age_s,
                           struct store_recovery *out)
{
    memset(out, 0, sizeof *out);
    /* the names as a text[] literal: workflow paths are [a-z0-9-] (catalog) */
    char arr[2048];
    size_t n = 0;
    arr[n++] = '{';
    for (int i = 0; i < nclaiming && n + strlen(claiming[i]) + 4 < sizeof arr; i++)
        n += (size_t)snprintf(arr + n, sizeof arr - n, "%s\"%s\"", i ? "," : "", claiming[i]);
    arr[n++] = '}';
    arr[n] = '\0';
    char age[24];
    snprintf(age, sizeof age, "%ld", outbox_max_age_s);
    const char *va[] = { arr }, *vo[] = { age };
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    if ((out->proven = store_affected(c, "takeover_proven", SQL_TAKEOVER_PROVEN, 0, NULL)) < 0 ||
        (out->resent = store_affected(c, "takeover_resend", SQL_TAKEOVER_RESEND, 1, va)) < 0 ||
        (out->unknown = store_affected(c, "takeover_unknown", SQL_TAKEOVER_UNKNOWN, 0, NULL)) < 0 ||
        (out->outbox = store_affected(c, "takeover_outbox", SQL_TAKEOVER_OUTBOX, 1, vo)) < 0 ||
        (out->stale = store_affected(c, "takeover_stale", SQL_TAKEOVER_STALE, 0, NULL)) < 0 ||
        store_cmd(c, "takeover_acting", SQL_TAKEOVER_ACTING, 0, NULL) < 0) {
        store_rollback(c, nested);
        return -1;
    }
    if (store_commit(c, nested) < 0)
        return -1;
    PGresult *r = store_run(c, "takeover_open_decisions", SQL_TAKEOVER_OPEN_DECISIONS, 0, NULL);
    if (!r)
        return -1;
    int cid = store_col(r, "id");
    for (int i = 0; i < PQntuples(r); i++) {
        char st[16];
        if (store_decision_settle(c, store_int(r, i, cid), st, sizeof st) < 0) {
            PQclear(r);
            return -1;
        }
        out->settled++;
    }
    PQclear(r);
    r = store_run(c, "takeover_running", SQL_TAKEOVER_RUNNING, 0, NULL);
    if (!r)
        return -1;
    out->running = store_int(r, 0, store_col(r, "running"));
    out->retrying = store_int(r, 0, store_col(r, "retrying"));
    PQclear(r);
    return 0;
}

/* ---- claims ---------------------------------------------------------------------- */

/* a trigger the worker had given up on or was about to send again, whose
 * execution claimed its key: it was delivered */
static const char SQL_CLAIMED_RECONCILE[] =
    "UPDATE triggers SET status = 'sent', next_attempt_at = NULL, finished_at = coalesce(finished_at, now()), "
    "       execution_id = coalesce(execution_id, claimed_execution_id), "
    "       error = left(coalesce(error || '; ', '') || 'delivered: its execution claimed the key', 1000) "
    " WHERE id IN (SELECT id FROM triggers WHERE claimed_at IS NOT NULL "
    "                 AND status IN ('unknown','retrying','failed') ORDER BY id LIMIT $1::int) "
    "RETURNING id, decision_id, workflow";

int store_claims_reconcile(PGconn *c, struct store_claimed *out, int max)
{
    char m[16];
    snprintf(m, sizeof m, "%d", max);
    const char *v[] = { m };
    PGresult *r = store_run(c, "claims_reconcile", SQL_CLAIMED_RECONCILE, 1, v);
    if (!r)
        return -1;
    int n = 0, cid = store_col(r, "id"), cd = store_col(r, "decision_id"), cw = store_col(r, "workflow");
    for (int i = 0; i < PQntuples(r) && n < max; i++, n++) {
        out[n].id = store_int(r, i, cid);
        out[n].decision_id = store_int(r, i, cd);
        out[n].wf = catalog_slot(store_text(r, i, cw));
    }
    PQclear(r);
    return n;
}

/* ---- commands ---------------------------------------------------------------------- */

static const char SQL_COMMANDS_ACCEPT[] =
    "UPDATE control_commands SET accepted_at = coalesce(accepted_at, now()) "
    " WHERE id = ANY($1::bigint[]) AND status = 'pending' AND accepted_at IS NULL";
/* exactly once: a command is done only by the transaction that does what it asks */
static const char SQL_COMMAND_CLAIM[] =
    "UPDATE control_commands SET status = $2, result = $3, processed_at = now(), "
    "       accepted_at = coalesce(accepted_at, now()), decision_id = nullif($4::bigint, 0) "
    " WHERE id = $1 AND status = 'pending'";
/* a decision answers every force accepted before it began */
static const char SQL_FORCES_CLAIM[] =
    "UPDATE control_commands SET status = $3, result = $4, processed_at = now(), "
    "       accepted_at = coalesce(accepted_at, now()), decision_id = nullif($2::bigint, 0) "
    " WHERE command = 'force_decision' AND status = 'pending' AND id <= $1::bigint";
static const char SQL_FORCES_PENDING[] =
    "SELECT coalesce(max(id), 0) AS id FROM control_commands "
    " WHERE command = 'force_decision' AND status = 'pending'";
static const char SQL_SET_RUNNING_STATE[] =
    "UPDATE worker_state SET running = $1, heartbeat_at = now() WHERE id = 1";

/* ids as a bigint[] literal into out (cap bytes). */
static void store_id_array(const long long *ids, int n, char *out, size_t cap)
{
    size_t k = 0;
    out[k++] = '{';
    for (int i = 0; i < n && k + 24 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", i ? "," : "", ids[i]);
    out[k++] = '}';
    out[k] = '\0';
}

int store_commands_accept(PGconn *c, const long long *ids, int n)
{
    if (n <= 0)
        return 0;
    char arr[STORE_MAX_COMMANDS * 24 + 4];
    store_id_array(ids, n < STORE_MAX_COMMANDS ? n : STORE_MAX_COMMANDS, arr, sizeof arr);
    const char *v[] = { arr };
    return store_cmd(c, "commands_accept", SQL_COMMANDS_ACCEPT, 1, v);
}

int store_command_claim(PGconn *c, long long id, const char *status, const char *result, long long decision_id)
{
    char ids[24], dids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    snprintf(dids, sizeof dids, "%lld", decision_id);
    const char *v[] = { ids, status, result, dids };
    long k = store_affected(c, "command_claim", SQL_COMMAND_CLAIM, 4, v);
    return k < 0 ? -1 : k > 0;
}

int store_command_running(PGconn *c, long long id, int running, const char *result)
{
    int nested;
    if (store_begin(c, &nested) < 0)
        return -1;
    int claimed = store_command_claim(c, id, "done", result, 0);
    const char *v[] = { running ? "t" : "f" };
    if (claimed < 0 || (claimed == 1 && store_cmd(c, "set_running", SQL_SET_RUNNING_STATE, 1, v) < 0)) {
        store_rollback(c, nested);
        return -1;
    }
    if (store_commit(c, nested) < 0)
        return -1;
    return claimed;
}

int store_commands_claim_decision(PGconn *c, long long upto, long long decision_id)
{
    char u[24], d[24];
    snprintf(u, sizeof u, "%lld", upto);
    snprintf(d, sizeof d, "%lld", decision_id);
    const char *v[] = { u, d, "done", "decision made" };
    return store_affected(c, "forces_claim", SQL_FORCES_CLAIM, 4, v) < 0 ? -1 : 0;
}

long store_commands_fail_forces(PGconn *c, long long upto, const char *result)
{
    char u[24];
    snprintf(u, sizeof u, "%lld", upto);
    const char *v[] = { u, "0", "failed", result };
    return store_affected(c, "forces_fail", SQL_FORCES_CLAIM, 4, v);
}

int store_forces_pending(PGconn *c, long long *id)
{
    *id = 0;
    PGresult *r = store_run(c, "forces_pending", SQL_FORCES_PENDING, 0, NULL);
    if (!r)
        return -1;
    *id = store_int(r, 0, store_col(r, "id"));
    PQclear(r);
    return 0;
}

/* ---- missed decisions ---------------------------------------------------------------- */

static const char SQL_GAP_READ[] =
    "SELECT w.running, coalesce(extract(epoch FROM w.next_decision_at)::bigint, 0) AS due, "
    "       extract(epoch FROM now())::bigint AS now, "
    "       coalesce((SELECT d.next_seconds FROM decisions d WHERE d.run_id IS NULL ORDER BY d.id DESC LIMIT 1), 0) "
    "       AS interval_seconds "
    "  FROM worker_state w WHERE w.id = 1";
static const char SQL_GAP_INSERT[] =
    "INSERT INTO decision_gaps (gap_from, gap_to, missed, interval_seconds, detected_by, epoch) "
    "VALUES (to_timestamp($1::bigint), to_timestamp($2::bigint), $3::int, $4::int, $5, $6::bigint) RETURNING id";

int store_gap_check(PGconn *c, const char *me, long long epoch, long grace_s, long default_interval_s,
                    struct store_gap *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = store_run(c, "gap_read", SQL_GAP_READ, 0, NULL);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return 0;
    }
    int running = strcmp(store_text(r, 0, store_col(r, "running")), "t") == 0;
    long long due = store_int(r, 0, store_col(r, "due")), now = store_int(r, 0, store_col(r, "now")),
              interval = store_int(r, 0, store_col(r, "interval_seconds"));
    PQclear(r);
    if (!running || due <= 0 || now - due <= grace_s)
        return 0;
    if (interval <= 0)
        interval = default_interval_s > 0 ? default_interval_s : 60;
    long long missed = (now - due) / interval + 1;
    if (missed > 1000000000LL)
        missed = 1000000000LL;
    out->from = (time_t)due;
    out->to = (time_t)now;
    out->missed = missed;
    out->interval_s = (long)interval;
    char f[24], t[24], m[24], iv[24], e[24];
    snprintf(f, sizeof f, "%lld", due);
    snprintf(t, sizeof t, "%lld", now);
    snprintf(m, sizeof m, "%lld", missed);
    snprintf(iv, sizeof iv, "%lld", interval);
    snprintf(e, sizeof e, "%lld", epoch);
    const char *v[] = { f, t, m, iv, me, e };
    r = store_run(c, "gap_insert", SQL_GAP_INSERT, 6, v);
    if (!r)
        return -1;
    out->id = store_int(r, 0, store_col(r, "id"));
    PQclear(r);
    return 1;
}
