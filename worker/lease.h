/* lease: is this worker the one that acts?
 *
 * Exactly one worker acts per database: the one holding the leader lease
 * (leader_lease, sql/006_leader.sql).  lease_step() is called from the
 * worker's loop: a leader renews the lease every third of its time to live
 * (LEADER_TAKEOVER_SECONDS), a standby tries to take it every second and
 * gets it when it was released, has expired, or its holder's database
 * session is gone (a killed leader: at once).  Every takeover increments
 * the epoch, the fencing token; the database refuses the writes of a
 * leader whose epoch is no longer the lease's (orch_fence()).
 *
 * Before anything leaves the machine on the leader's behalf (a webhook),
 * lease_valid() checks on the monotonic clock that the lease was renewed
 * recently enough that no one can have taken it: a leader frozen past its
 * lease (SIGSTOP) and woken up sends nothing until it has renewed, which
 * fails once a standby took over. */
#ifndef LEASE_H
#define LEASE_H

#include <libpq-fe.h>
#include <time.h>

struct store_lease;

enum lease_event {
    LEASE_STANDBY = 0,    /* not leader (another worker is) */
    LEASE_TAKEN,          /* became leader just now: take over (recovery) */
    LEASE_KEPT,           /* still leader */
    LEASE_LOST,           /* was leader, is not any more: stop acting */
    LEASE_IDLE            /* nothing was due */
};

struct lease {
    char id[128];          /* this worker: "<hostname>:<pid>:<8 hex digits>" */
    long ttl_s;            /* LEADER_TAKEOVER_SECONDS */
    long long epoch;       /* the epoch held; 0: standby */
    double renewed_ms;     /* monotonic ms of the last take or renewal */
    double next_ms;        /* monotonic ms of the next step */
    time_t role_since;     /* when the current role began (wall clock) */
    char holder[128];      /* standby: the leader last seen */
    int announced;         /* the standby role was logged */
};

/* Set l up for a worker with lease time to live ttl_s (>= 3). */
void lease_init(struct lease *l, long ttl_s);

/* One step when due (or at once with force): renew or try to take.
 * *info (may be NULL) gets what store_lease_take saw on a takeover.
 * Returns an enum lease_event, or -1 on a database error (the role is kept
 * until the lease could have expired, then lost). */
int lease_step(struct lease *l, PGconn *db, int force, struct store_lease *info);

/* Nonzero when this worker is leader and renewed its lease less than
 * two thirds of its time to live ago. */
int lease_valid(const struct lease *l);

/* Nonzero when this worker holds the lease (it may be stale: lease_valid). */
int lease_leader(const struct lease *l);

/* Forget leadership at once (fenced by the database). */
void lease_drop(struct lease *l, PGconn *db);

/* A clean stop: release the lease so that a standby takes over at once. */
void lease_release(struct lease *l, PGconn *db);

/* Milliseconds until the next step is due (0: now). */
long lease_due_ms(const struct lease *l);

#endif
