/* api_cache: what the cache holds -- the entries built in the refresher
 * thread, or in a request that found nothing fresh enough; see api_impl.h. */
#include "config.h"
#include "api_impl.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See api_impl.h. */
void api_entry_free(void *obj)
{
    struct api_entry *e = obj;
    if (!e)
        return;
    if (e->st) {
        query_state_clear(e->st);
        free(e->st);
    }
    api_body_free(&e->body);
    api_body_free(&e->metrics);
    free(e);
}

/* Bytes an entry holds. */
static size_t api_entry_size(const struct api_entry *e)
{
    return sizeof *e + (e->st ? sizeof *e->st : 0) + e->body.len + e->body.gz.zlen + e->metrics.len + e->metrics.gz.zlen;
}

/* The state entry: read, /status and /metrics bodies.  NULL on failure
 * (logged by query.c, or out of memory). */
static struct api_entry *api_state_build(const struct cfg *cfg, PGconn *db)
{
    struct api_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = CACHE_STATE;
    e->status = 200;
    e->st = calloc(1, sizeof *e->st);
    if (!e->st || query_state(db, e->st) < 0) {
        free(e->st);
        free(e);
        return NULL;
    }
    e->at = api_now();
    size_t len = 0;
    e->metrics.text = metrics_render(e->st, cfg->decision_max_seconds, &len);
    e->metrics.len = len;
    e->metrics.at = e->at;
    if (!e->metrics.text || api_status_build(cfg, e->st, e->at, &e->body) < 0) {
        log_event(LOG_ERROR, "api.oom", "s:what", "status");
        api_entry_free(e);
        return NULL;
    }
    api_body_gzip(&e->body);
    api_body_gzip(&e->metrics);
    return e;
}

/* A /decisions page (p->id 0) or one decision (404 entry when it is not
 * there).  NULL on failure. */
static struct api_entry *api_decisions_build(PGconn *db, const struct params_decisions *p)
{
    json_object *root = NULL, *list = NULL;
    long long next_before = 0;
    struct api_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = CACHE_DECISIONS;
    e->status = 200;
    if (p->id) {
        if (query_decision(db, p->id, &root) < 0)
            goto fail;
        if (!root) {
            e->status = 404;
            root = json_object_new_object();
            if (!root)
                goto fail;
            json_object_object_add(root, "error", json_object_new_string("no decision with this id"));
            json_object_object_add(root, "code", json_object_new_string(api_code_name(API_CODE_NOT_FOUND)));
        }
    } else {
        if (query_decisions(db, p, &list, &next_before) < 0)
            goto fail;
        root = json_object_new_object();
        if (!root) {
            json_object_put(list);
            goto fail;
        }
        json_object_object_add(root, "decisions", list);
        json_object_object_add(root, "limit", json_object_new_int(p->limit));
        json_object_object_add(root, "detail", json_object_new_boolean(p->detail));
        json_object_object_add(root, "next_before", next_before ? json_object_new_int64(next_before) : NULL);
    }
    e->at = api_now();
    if (api_body_build(&e->body, root, e->at) < 0)
        goto fail;
    json_object_put(root);
    api_body_gzip(&e->body);
    return e;
fail:
    json_object_put(root);
    api_entry_free(e);
    return NULL;
}

/* The /workflows/available page (built by name in SQL from the catalog
 * in force, query_workflows).  NULL on failure. */
static struct api_entry *api_workflows_build(PGconn *db)
{
    json_object *root = NULL;
    struct api_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = CACHE_WORKFLOWS;
    e->status = 200;
    if (query_workflows(db, &root) < 0) {
        free(e);
        return NULL;
    }
    e->at = api_now();
    if (api_body_build(&e->body, root, e->at) < 0) {
        json_object_put(root);
        api_entry_free(e);
        return NULL;
    }
    json_object_put(root);
    api_body_gzip(&e->body);
    return e;
}

/* The newest carried-out control command any process has read. */
static long long api_applied_max(const struct api_ctx *ctx)
{
    return __atomic_load_n(ctx->applied_max, __ATOMIC_ACQUIRE);
}

/* A read found applied, having started when the newest known was before:
 * raise the newest known to it, or lower it when the database itself went
 * back (commands pruned), else every later answer would be rebuilt. */
static void api_applied_seen(const struct api_ctx *ctx, long long before, long long applied)
{
    long long *m = ctx->applied_max;
    if (applied < before) {
        __atomic_compare_exchange_n(m, &before, applied, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        return;
    }
    long long cur = __atomic_load_n(m, __ATOMIC_ACQUIRE);
    while (applied > cur && !__atomic_compare_exchange_n(m, &cur, applied, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

/* See api_impl.h. */
void *api_build(void *arg, PGconn *db, const struct cache_key *k, double *at, size_t *size)
{
    const struct api_ctx *ctx = arg;
    struct api_entry *e = NULL;
    /* read first: every statement after it sees at least what it saw */
    long long before = api_applied_max(ctx), applied = 0;
    if (query_applied(db, &applied) < 0)
        return NULL;
    switch (k->kind) {
    case CACHE_STATE:
        e = api_state_build(ctx->cfg, db);
        break;
    case CACHE_WORKFLOWS:
        e = api_workflows_build(db);
        break;
    case CACHE_DECISIONS:
        e = api_decisions_build(db, &k->p);
        break;
    default:
        break;
    }
    if (e) {
        e->applied = applied;
        api_applied_seen(ctx, before, applied);
        *at = e->at;
        *size = api_entry_size(e);
    }
    return e;
}

/* Build the entry of k with the request's connection and cache it.
 * Returns it with a reference, or NULL with the error answer in r. */
static struct cache_item *api_fetch_build(struct api_ctx *ctx, const struct cache_key *k, struct api_resp *r)
{
    if (api_db_ready(ctx) < 0) {
        api_error(r, 503, API_CODE_DATABASE_UNAVAILABLE, "database unavailable");
        return NULL;
    }
    double at = 0;
    size_t size = 0;
    struct api_entry *e = api_build(ctx, ctx->db, k, &at, &size);
    if (!e) {
        api_db_failed(ctx, r);
        return NULL;
    }
    if (e->status == 404) {                  /* not worth a slot: anyone can ask for any id */
        api_entry_free(e);
        api_error(r, 404, API_CODE_NOT_FOUND, "no decision with this id");
        return NULL;
    }
    struct cache_item *it = cache_put(ctx->cache, k, e, at, size);
    if (!it)
        api_error(r, 500, API_CODE_INTERNAL, "out of memory");
    return it;
}

/* See api_impl.h. */
const struct api_entry *api_fetch(struct api_ctx *ctx, const struct cache_key *k, double now, double max_age,
                                  struct api_resp *r)
{
    struct cache_item *it = cache_get(ctx->cache, k, now, max_age);
    if (it && ((const struct api_entry *)it->obj)->applied < api_applied_max(ctx)) {
        /* behind another process: read again, or serve this one when that fails */
        struct api_resp err;
        memset(&err, 0, sizeof err);
        struct cache_item *fresh = api_fetch_build(ctx, k, &err);
        int gone = !fresh && err.status == 404;   /* the decision was pruned meanwhile */
        api_resp_clear(&err);
        if (fresh || gone) {
            cache_release(ctx->cache, it);
            it = fresh;
        }
        if (gone) {
            api_error(r, 404, API_CODE_NOT_FOUND, "no decision with this id");
            return NULL;
        }
    }
    if (!it && !(it = api_fetch_build(ctx, k, r)))
        return NULL;
    r->held = it;
    r->cache = ctx->cache;
    return it->obj;
}

static int api_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int api_fill_bench(struct api_ctx *ctx, int rounds, FILE *out)
{
    static const char *const names[] = { "state (/status, /metrics, /health)", "/decisions?limit=50",
                                         "/workflows/available" };
    if (rounds < 1 || rounds > 100000 || api_db_ready(ctx) < 0)
        return -1;
    double *ms = calloc((size_t)rounds, sizeof *ms);
    if (!ms)
        return -1;
    int rc = 0;
    for (int kind = 0; kind < 3 && rc == 0; kind++) {
        struct cache_key k;
        memset(&k, 0, sizeof k);
        k.kind = kind == 0 ? CACHE_STATE : kind == 1 ? CACHE_DECISIONS : CACHE_WORKFLOWS;
        k.p.limit = 50;
        k.p.mode = -1;
        for (int i = 0; i < rounds; i++) {
            double at = 0, t0 = api_now();
            size_t size = 0;
            void *e = api_build(ctx, ctx->db, &k, &at, &size);
            ms[i] = (api_now() - t0) * 1000.0;
            if (!e) {
                rc = -1;
                break;
            }
            api_entry_free(e);
        }
        if (rc == 0) {
            qsort(ms, (size_t)rounds, sizeof *ms, api_cmp_double);
            fprintf(out, "fill %-36s median %7.3f ms  p90 %7.3f ms  max %7.3f ms  (%d fills)\n", names[kind],
                    ms[rounds / 2], ms[(rounds * 9) / 10], ms[rounds - 1], rounds);
        }
    }
    free(ms);
    return rc;
}
