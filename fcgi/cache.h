/* cache: the answers one FastCGI process serves from memory, kept fresh by
 * a refresher thread of that process (stale-while-revalidate).
 *
 * An entry is what a build function made for a key (the state behind
 * /status, /metrics and /health; /workflows/available; one /decisions
 * page), reference counted: a request takes a reference with cache_get()
 * and serves from it while the refresher may publish a newer one; the old
 * one is freed when its last reference goes.  The refresher has its own
 * database connection, LISTENs on orch_state and, on every NOTIFY (at most
 * every CACHE_MIN_PASS_MS) and at least every CACHE_TTL seconds, rebuilds
 * every key a request used in the last CACHE_IDLE seconds and publishes
 * the new entries: requests never wait for a rebuild, they get the
 * previous entry meanwhile.  Only a key never built (or not used for a
 * while, or whose entry is older than the caller's limit because the
 * refresher cannot reach the database) is built in the request, by the
 * caller, with cache_put().
 *
 * Keys are compared as bytes (zero them before filling).  Thread-safe:
 * the build function runs in the refresher thread, concurrently with the
 * caller's requests, and must not touch what the request thread uses. */
#ifndef CACHE_H
#define CACHE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "params.h"

#define CACHE_TTL          2.0      /* seconds: rebuild at least this often while used */
#define CACHE_IDLE         60.0     /* seconds: keys unused this long are no longer rebuilt */
#define CACHE_MIN_PASS_MS  250      /* at most one rebuild pass per this many ms */
#define CACHE_SLOTS        40       /* keys held (the least recently used goes first) */
#define CACHE_BUDGET       (8u << 20) /* bytes of entries held (the least recently used go first) */

enum cache_kind { CACHE_STATE = 1, CACHE_WORKFLOWS, CACHE_DECISIONS };

struct cache_key {
    int kind;                        /* enum cache_kind */
    struct params_decisions p;       /* CACHE_DECISIONS: the page (p.id: one decision) */
};

/* One entry: obj as the build function returned it, read at monotonic time at. */
struct cache_item {
    void *obj;
    double at;
    size_t size;                     /* bytes it holds, for CACHE_BUDGET */
    int refs;                        /* under the cache's lock */
};

struct cache;

/* Build the entry of key k with connection db (the refresher's, or the
 * caller's for cache_put): returns the object, its data time in *at and
 * its size in *size, or NULL when the database failed (logged). */
typedef void *(*cache_build_fn)(void *arg, PGconn *db, const struct cache_key *k, double *at, size_t *size);
/* Free an object the build function made. */
typedef void (*cache_free_fn)(void *obj);

/* Create the cache and start its refresher thread, which connects with
 * conninfo (borrowed, must outlive the cache) on its own.  Returns the cache
 * (cache_free) or NULL when out of memory or the thread cannot start. */
struct cache *cache_new(const char *conninfo, cache_build_fn build, cache_free_fn free_obj, void *arg);

/* Stop the refresher, free every entry; cache_free(NULL) is a no-op.  No
 * reference may be held any more. */
void cache_free(struct cache *c);

/* The entry of k when there is one whose data is at most max_age seconds
 * old at monotonic time now: returned with a reference (cache_release), and
 * k counts as used.  NULL otherwise. */
struct cache_item *cache_get(struct cache *c, const struct cache_key *k, double now, double max_age);

/* Hold obj (built by the caller at time at, size bytes) as the entry of k,
 * replacing an older one.  Returns it with a reference for the caller
 * (cache_release), or NULL when out of memory (obj freed). */
struct cache_item *cache_put(struct cache *c, const struct cache_key *k, void *obj, double at, size_t size);

/* Give back a reference; cache_release(c, NULL) is a no-op. */
void cache_release(struct cache *c, struct cache_item *it);

/* Drop every entry (the database connection of the caller broke). */
void cache_clear(struct cache *c);

/* Monotonic seconds. */
double cache_now(void);

#endif
