/* cache: per-process answers refreshed by a thread; see cache.h. */
#include "config.h"
#include "cache.h"
#include "db.h"
#include "fault.h"
#include "log.h"
#include "query.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHE_RECONNECT_SECONDS 1.0

struct cache_slot {
    int used;                        /* the slot holds a key */
    struct cache_key key;
    struct cache_item *item;         /* NULL until built; one reference is the slot's */
    double used_at;                  /* monotonic: last request for it */
    unsigned long long tick;         /* least recently used goes first */
};

struct cache {
    pthread_mutex_t mu;
    struct cache_slot slot[CACHE_SLOTS];
    size_t bytes;
    unsigned long long tick;
    cache_build_fn build;
    cache_free_fn free_obj;
    void *arg;
    const char *conninfo;            /* borrowed */
    pthread_t thread;
    int started;
    int wake[2];                     /* a byte on wake[1] wakes the refresher */
    int stop;                        /* under mu */
    int woken;                       /* under mu: a wake byte is on its way */
};

double cache_now(void)
{
    return tu_mono_ms() / 1000.0;
}

/* Drop one reference of it, under c->mu.  Returns it when that was the
 * last one (the caller frees it with cache_item_free after unlocking),
 * else NULL. */
static struct cache_item *cache_unref(struct cache_item *it)
{
    return it && --it->refs == 0 ? it : NULL;
}

static void cache_item_free(struct cache *c, struct cache_item *it)
{
    if (!it)
        return;
    c->free_obj(it->obj);
    free(it);
}

/* The slot of k, or NULL; under c->mu. */
static struct cache_slot *cache_find(struct cache *c, const struct cache_key *k)
{
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->slot[i].used && memcmp(&c->slot[i].key, k, sizeof *k) == 0)
            return &c->slot[i];
    return NULL;
}

/* Empty slot s; *drop gets its item when that was the item's last
 * reference (the caller frees it after unlocking), else NULL.  Under c->mu. */
static void cache_empty(struct cache *c, struct cache_slot *s, struct cache_item **drop)
{
    *drop = NULL;
    if (s->item) {
        c->bytes -= s->item->size;
        *drop = cache_unref(s->item);
    }
    memset(s, 0, sizeof *s);
}

/* Wake the refresher unless a wake is on its way; under c->mu. */
static void cache_wake(struct cache *c)
{
    if (c->woken || c->wake[1] < 0)
        return;
    char b = 1;
    if (write(c->wake[1], &b, 1) == 1)
        c->woken = 1;
}

struct cache_item *cache_get(struct cache *c, const struct cache_key *k, double now, double max_age)
{
    struct cache_item *it = NULL;
    pthread_mutex_lock(&c->mu);
    struct cache_slot *s = cache_find(c, k);
    if (s) {
        s->used_at = now;
        s->tick = ++c->tick;
        if (s->item && now - s->item->at <= max_age) {
            it = s->item;
            it->refs++;
            if (now - it->at > CACHE_TTL)   /* used again after a pause: refresh it soon */
                cache_wake(c);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return it;
}

/* Hold it (one reference given by the caller) as the entry of k unless a
 * newer one is held; frees what goes.  keep_ref: the caller keeps a second
 * reference.  Returns 0, or -1 when it was not kept (then freed unless
 * keep_ref). */
static int cache_publish(struct cache *c, const struct cache_key *k, struct cache_item *it, int mark_used)
{
    struct cache_item *drop[CACHE_SLOTS + 1];
    int ndrop = 0, kept = 0;
    double now = cache_now();

    pthread_mutex_lock(&c->mu);
    struct cache_slot *s = cache_find(c, k);
    if (!s) {
        if (!mark_used)                     /* dropped meanwhile: nobody wants it */
            goto out;
        struct cache_slot *victim = NULL;
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (!c->slot[i].used) {
                victim = &c->slot[i];
                break;
            }
            if (!victim || c->slot[i].tick < victim->tick)
                victim = &c->slot[i];
        }
        if (victim->used)
            cache_empty(c, victim, &drop[ndrop++]);
        s = victim;
        s->used = 1;
        memcpy(&s->key, k, sizeof *k);
        s->used_at = now;
    }
    if (mark_used) {
        s->used_at = now;
        s->tick = ++c->tick;
    }
    if (s->item && s->item->at > it->at)    /* a newer one is there already */
        goto out;
    if (s->item) {
        c->bytes -= s->item->size;
        drop[ndrop++] = cache_unref(s->item);
    }
    s->item = it;
    c->bytes += it->size;
    kept = 1;
    /* over the budget: the least recently used others go */
    while (c->bytes > CACHE_BUDGET && ndrop < CACHE_SLOTS) {
        struct cache_slot *v = NULL;
        for (int i = 0; i < CACHE_SLOTS; i++)
            if (c->slot[i].used && &c->slot[i] != s && c->slot[i].item && (!v || c->slot[i].tick < v->tick))
                v = &c->slot[i];
        if (!v)
            break;
        cache_empty(c, v, &drop[ndrop++]);
    }
out:
    if (!kept)
        drop[ndrop++] = cache_unref(it);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < ndrop; i++)
        cache_item_free(c, drop[i]);
    return kept ? 0 : -1;
}

/* A new item for obj with refs references.  NULL (obj freed) when out of memory. */
static struct cache_item *cache_item_new(struct cache *c, void *obj, double at, size_t size, int refs)
{
    struct cache_item *it = calloc(1, sizeof *it);
    if (!it) {
        c->free_obj(obj);
        return NULL;
    }
    it->obj = obj;
    it->at = at;
    it->size = size;
    it->refs = refs;
    return it;
}

struct cache_item *cache_put(struct cache *c, const struct cache_key *k, void *obj, double at, size_t size)
{
    struct cache_item *it = cache_item_new(c, obj, at, size, 2);
    if (!it)
        return NULL;
    cache_publish(c, k, it, 1);               /* not kept: the caller's reference remains */
    return it;
}

void cache_release(struct cache *c, struct cache_item *it)
{
    if (!it)
        return;
    pthread_mutex_lock(&c->mu);
    struct cache_item *drop = cache_unref(it);
    pthread_mutex_unlock(&c->mu);
    cache_item_free(c, drop);
}

void cache_clear(struct cache *c)
{
    struct cache_item *drop[CACHE_SLOTS];
    int n = 0;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->slot[i].used)
            cache_empty(c, &c->slot[i], &drop[n++]);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < n; i++)
        cache_item_free(c, drop[i]);
}

/* ---- the refresher thread ---------------------------------------------------- */

/* One pass: rebuild every key used in the last CACHE_IDLE seconds, forget
 * the others.  Returns 0, or -1 when the connection broke. */
static int cache_pass(struct cache *c, PGconn *db)
{
    struct cache_key keys[CACHE_SLOTS];
    struct cache_item *drop[CACHE_SLOTS];
    int nkeys = 0, ndrop = 0;
    double now = cache_now();

    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct cache_slot *s = &c->slot[i];
        if (!s->used)
            continue;
        if (now - s->used_at > CACHE_IDLE)
            cache_empty(c, s, &drop[ndrop++]);
        else
            memcpy(&keys[nkeys++], &s->key, sizeof s->key);
    }
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < ndrop; i++)
        cache_item_free(c, drop[i]);

    for (int i = 0; i < nkeys; i++) {
        double at = 0;
        size_t size = 0;
        void *obj = c->build(c->arg, db, &keys[i], &at, &size);
        if (!obj) {
            if (PQstatus(db) != CONNECTION_OK)
                return -1;
            continue;
        }
        struct cache_item *it = cache_item_new(c, obj, at, size, 1);
        if (it)
            cache_publish(c, &keys[i], it, 0);
    }
    return 0;
}

/* Wait up to timeout_ms for the wake pipe or the connection (may be NULL).
 * Returns 1 when woken by the pipe (drained), else 0. */
static int cache_wait(struct cache *c, PGconn *db, int timeout_ms)
{
    struct pollfd p[2] = { { .fd = c->wake[0], .events = POLLIN }, { .fd = db ? PQsocket(db) : -1, .events = POLLIN } };
    int n = poll(p, db && p[1].fd >= 0 ? 2 : 1, timeout_ms);
    if (n > 0 && (p[0].revents & POLLIN)) {
        char buf[64];
        while (read(c->wake[0], buf, sizeof buf) > 0)
            ;
        pthread_mutex_lock(&c->mu);
        c->woken = 0;
        pthread_mutex_unlock(&c->mu);
        return 1;
    }
    return 0;
}

static int cache_stopping(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    int s = c->stop;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static void *cache_run(void *arg)
{
    struct cache *c = arg;
    PGconn *db = NULL;
    double retry_at = 0, last_pass = 0;
    int due = 1;

    while (!cache_stopping(c)) {
        double now = cache_now();
        if (!db) {
            if (now < retry_at) {
                cache_wait(c, NULL, (int)((retry_at - now) * 1000.0) + 1);
                continue;
            }
            db = db_connect(c->conninfo, "orch-api-refresh");
            if (db && query_session_setup(db, 1) < 0) {
                PQfinish(db);
                db = NULL;
            }
            if (!db) {
                retry_at = now + CACHE_RECONNECT_SECONDS;
                continue;
            }
            due = 1;
        }
        if (!due) {
            double next = last_pass + CACHE_TTL;
            int ms = (int)((next - now) * 1000.0) + 1;
            int woke = cache_wait(c, db, ms < 1 ? 1 : ms);
            if (cache_stopping(c))
                break;
            int n = db_drain_notifies(db);
            if (n < 0) {
                log_event(LOG_WARN, "api.refresh_db_lost", "s:error", PQerrorMessage(db));
                PQfinish(db);
                db = NULL;
                continue;
            }
            if (!woke && n == 0 && cache_now() < next)
                continue;
        }
        /* at most one pass per CACHE_MIN_PASS_MS: NOTIFYs in a burst make one pass */
        double wait_ms = (last_pass + CACHE_MIN_PASS_MS / 1000.0 - cache_now()) * 1000.0;
        if (wait_ms > 0) {
            struct timespec ts = { 0, (long)(wait_ms * 1e6) };
            nanosleep(&ts, NULL);
        }
        /* fault injection: a refresher that lags behind (the tests of api_fetch) */
        if (db_drain_notifies(db) < 0 || (!FAULT_ARMED("cache.refresh_lag") && cache_pass(c, db) < 0)) {
            log_event(LOG_WARN, "api.refresh_db_lost", "s:error", PQerrorMessage(db));
            PQfinish(db);
            db = NULL;
            continue;
        }
        last_pass = cache_now();
        due = 0;
    }
    PQfinish(db);
    return NULL;
}

struct cache *cache_new(const char *conninfo, cache_build_fn build, cache_free_fn free_obj, void *arg)
{
    struct cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->build = build;
    c->free_obj = free_obj;
    c->arg = arg;
    c->conninfo = conninfo;
    c->wake[0] = c->wake[1] = -1;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (pipe(c->wake) < 0 || fcntl(c->wake[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(c->wake[1], F_SETFL, O_NONBLOCK) < 0 ||
        fcntl(c->wake[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(c->wake[1], F_SETFD, FD_CLOEXEC) < 0)
        goto fail;
    /* the process's signals (SIGTERM stops it) go to the request thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, cache_run, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_event(LOG_ERROR, "api.refresh_failed", "s:error", strerror(rc));
        goto fail;
    }
    c->started = 1;
    return c;
fail:
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        c->woken = 0;
        cache_wake(c);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    cache_clear(c);
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
