/* lease: the leader lease of one worker; see lease.h. */
#include "config.h"
#include "lease.h"
#include "fault.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define LEASE_STANDBY_POLL_MS 1000

void lease_init(struct lease *l, long ttl_s)
{
    memset(l, 0, sizeof *l);
    l->ttl_s = ttl_s < 3 ? 3 : ttl_s;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    unsigned int r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned int)tu_mono_ms();
    snprintf(l->id, sizeof l->id, "%s:%ld:%08x", host, (long)getpid(), r);
    l->role_since = time(NULL);
}

int lease_leader(const struct lease *l) { return l->epoch > 0; }

int lease_valid(const struct lease *l)
{
    return l->epoch > 0 && tu_mono_ms() - l->renewed_ms < (double)l->ttl_s * 1000.0 * 2.0 / 3.0;
}

long lease_due_ms(const struct lease *l)
{
    double d = l->next_ms - tu_mono_ms();
    return d <= 0 ? 0 : (long)d;
}

void lease_drop(struct lease *l, PGconn *db)
{
    if (l->epoch > 0)
        log_event(LOG_WARN, "leader.lost", "s:worker i:epoch s:detail", l->id, l->epoch,
                  "another worker holds the lease: this one stops acting and waits as a standby");
    l->epoch = 0;
    l->role_since = time(NULL);
    l->announced = 0;
    l->next_ms = tu_mono_ms() + LEASE_STANDBY_POLL_MS;
    store_lease_forget(db);
}

void lease_release(struct lease *l, PGconn *db)
{
    if (l->epoch > 0 && db && PQstatus(db) == CONNECTION_OK && store_lease_release(db, l->id, l->epoch) == 0)
        log_event(LOG_INFO, "leader.released", "s:worker i:epoch", l->id, l->epoch);
    l->epoch = 0;
}

int lease_step(struct lease *l, PGconn *db, int force, struct store_lease *info)
{
    double now = tu_mono_ms();
    if (!force && now < l->next_ms)
        return LEASE_IDLE;
    if (l->epoch > 0) {
        int kept = store_lease_renew(db, l->id, l->epoch, l->ttl_s);
        if (kept == 1) {
            FAULT("lease.renewed");
            l->renewed_ms = now;
            l->next_ms = now + (double)l->ttl_s * 1000.0 / 3.0;
            return LEASE_KEPT;
        }
        if (kept == 0) {
            lease_drop(l, db);
            return LEASE_LOST;
        }
        /* a database error: keep trying often; acting stops by itself once
         * the lease may have expired (lease_valid) */
        l->next_ms = now + LEASE_STANDBY_POLL_MS;
        return -1;
    }
    struct store_lease seen;
    int taken = store_lease_take(db, l->id, l->ttl_s, &seen);
    if (info)
        *info = seen;
    l->next_ms = now + LEASE_STANDBY_POLL_MS;
    if (taken < 0)
        return -1;
    if (taken == 0) {
        if (!l->announced || strcmp(l->holder, seen.holder) != 0) {
            snprintf(l->holder, sizeof l->holder, "%s", seen.holder);
            log_event(LOG_INFO, "leader.standby", "s:worker s:leader i:epoch s:detail", l->id, seen.holder,
                      seen.epoch, "another worker is leader: waiting as a standby");
            l->announced = 1;
        }
        return LEASE_STANDBY;
    }
    l->epoch = seen.epoch;
    l->renewed_ms = now;
    l->next_ms = now + (double)l->ttl_s * 1000.0 / 3.0;
    l->role_since = time(NULL);
    log_event(LOG_INFO, "leader.taken", "s:worker i:epoch s:previous s:why d:previous_renewed_seconds_ago",
              l->id, l->epoch, seen.holder[0] ? seen.holder : NULL, seen.why, seen.renewed_age_s);
    return LEASE_TAKEN;
}
