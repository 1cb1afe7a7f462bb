/* watch_live: the live worker's watch; see watch_live.h. */
#include "config.h"
#include "watch_live.h"
#include "http.h"
#include "log.h"
#include "sense.h"
#include "utf8.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_LIVE_MAX_BYTES (2 * 1024 * 1024)
#define WATCH_LIVE_DEPTH 16

int watch_live_init(struct watch_live *wl, const struct cfg *c, char *err, size_t errlen)
{
    memset(wl, 0, sizeof *wl);
    wl->cfg = c;
    static const char *const names[FEED_COUNT] = { "DEXSCREENER_BUDGET", "PUMPFUN_BUDGET", "TRADERMADE_BUDGET",
                                                   "BIRDEYE_BUDGET" };
    for (int f = 0; f < FEED_COUNT; f++) {
        char e[200];
        if (budget_parse(c->budget[f], &wl->budget[f], e, sizeof e) < 0) {
            snprintf(err, errlen, "%s: %s", names[f], e);
            return -1;
        }
        wl->interval[f] = c->watch_seconds;
        wl->next_at[f] = 1;                   /* due at once (0 would read as "none") */
    }
    wl->configured[FEED_DEXSCREENER] = *c->dexscreener_base_url && *c->dexscreener_query;
    wl->configured[FEED_TRADERMADE] = *c->tradermade_base_url && *c->tradermade_api_key;
    wl->configured[FEED_BIRDEYE] = *c->birdeye_base_url && *c->birdeye_api_key;
    if (watch_init(&wl->watch, c) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void watch_live_free(struct watch_live *wl)
{
    if (wl)
        watch_free(&wl->watch);
}

time_t watch_live_next(const struct watch_live *wl)
{
    time_t next = 0;
    for (int f = 0; f < FEED_COUNT; f++)
        if (wl->configured[f] && (!next || wl->next_at[f] < next))
            next = wl->next_at[f];
    return next;
}

void watch_live_spend(struct watch_live *wl, int f, long n, time_t now)
{
    if (f >= 0 && f < FEED_COUNT)
        budget_spend(&wl->budget[f], now, n);
}

/* ---- DexScreener ----------------------------------------------------------------- */

static int watch_live_price_cmp(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : 0;
}

int watch_live_parse_dex(const char *body, struct watch_live_price *out, int max, char *err, size_t errlen)
{
    json_tokener *tok = json_tokener_new_ex(WATCH_LIVE_DEPTH);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_object *root = json_tokener_parse_ex(tok, body ? body : "", body ? (int)strlen(body) : 0);
    int ok = root && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    json_object *pairs;
    if (!ok || !json_object_object_get_ex(root, "pairs", &pairs) || !json_object_is_type(pairs, json_type_array)) {
        snprintf(err, errlen, "unexpected answer: no list of pairs");
        json_object_put(root);
        return -1;
    }
    /* (liquidity, index) of the usable pairs, the most liquid first */
    size_t n = json_object_array_length(pairs);
    if (n > 200)
        n = 200;
    double (*cand)[2] = calloc(n ? n : 1, sizeof *cand);
    struct watch_live_price *got = calloc(n ? n : 1, sizeof *got);
    int k = 0, refused = 0;
    for (size_t i = 0; cand && got && i < n; i++) {
        json_object *p = json_object_array_get_idx(pairs, i), *addr, *price, *liq, *usd;
        if (!json_object_object_get_ex(p, "pairAddress", &addr) || !json_object_is_type(addr, json_type_string) ||
            !json_object_object_get_ex(p, "priceUsd", &price) || !json_object_is_type(price, json_type_string))
            continue;
        const char *a = json_object_get_string(addr), *ps = json_object_get_string(price);
        char *end;
        double v = strtod(ps, &end);
        size_t al = strlen(a);
        int name_ok = al > 0 && al < WATCH_NAME_MAX - 4;
        for (size_t c = 0; name_ok && c < al; c++)
            name_ok = isalnum((unsigned char)a[c]);     /* base58 or 0x-hex addresses: no words */
        if (!name_ok || end == ps || *end || !isfinite(v) || v < SENSE_PRICE_MIN || v > SENSE_PRICE_MAX) {
            refused++;
            continue;
        }
        double l = 0;
        if (json_object_object_get_ex(p, "liquidity", &liq) && json_object_object_get_ex(liq, "usd", &usd) &&
            (json_object_is_type(usd, json_type_double) || json_object_is_type(usd, json_type_int))) {
            l = json_object_get_double(usd);
            if (!isfinite(l) || l < 0 || l > SENSE_USD_MAX)
                l = 0;
        }
        snprintf(got[k].name, sizeof got[k].name, "dex:%s", a);
        got[k].price = v;
        cand[k][0] = l;
        cand[k][1] = (double)k;
        k++;
    }
    json_object_put(root);
    int rc = -1;
    if (!cand || !got) {
        snprintf(err, errlen, "out of memory");
    } else if (k == 0) {
        snprintf(err, errlen, "no usable pair (%d refused)", refused);
    } else {
        qsort(cand, (size_t)k, sizeof *cand, watch_live_price_cmp);
        rc = k < max ? k : max;
        for (int i = 0; i < rc; i++)
            out[i] = got[(int)cand[i][1]];
    }
    free(cand);
    free(got);
    return rc;
}

/* ---- sampling ------------------------------------------------------------------ */

/* The first term of DEXSCREENER_QUERY, URL-encoded into out.  Returns 0 or -1. */
static int watch_live_query(const char *query, char *out, size_t cap)
{
    char first[128];
    size_t fl = strcspn(query, ",");
    snprintf(first, sizeof first, "%.*s", (int)(fl < sizeof first ? fl : sizeof first - 1), query);
    char *s = first;
    while (*s == ' ')
        s++;
    for (size_t k = strlen(s); k > 0 && s[k - 1] == ' '; k--)
        s[k - 1] = '\0';
    return *s ? sense_urlencode(s, out, cap) : -1;
}

/* Feed source f's answer r (at now) to the watch.  Returns the samples
 * taken, or -1 with the reason in wl->error[f]. */
static int watch_live_feed(struct watch_live *wl, int f, const struct http_resp *r, time_t now)
{
    char err[160];
    if (r->err != HTTP_OK || r->status != 200) {
        snprintf(err, sizeof err, "%s", r->err != HTTP_OK ? http_strerror(r->err) : "unexpected HTTP status");
        if (r->err == HTTP_OK)
            snprintf(err, sizeof err, "HTTP %ld", r->status);
        utf8_copy_clean(wl->error[f], sizeof wl->error[f], err);
        return -1;
    }
    int n = 0;
    if (f == FEED_DEXSCREENER) {
        struct watch_live_price p[WATCH_DEX_PAIRS];
        int k = watch_live_parse_dex(r->body, p, WATCH_DEX_PAIRS, err, sizeof err);
        if (k < 0) {
            utf8_copy_clean(wl->error[f], sizeof wl->error[f], err);
            return -1;
        }
        for (int i = 0; i < k; i++)
            n += watch_price(&wl->watch, LEARN_CRYPTO, p[i].name, now, p[i].price) == 0;
    } else {
        struct sense_market m;
        memset(&m, 0, sizeof m);
        int bad = f == FEED_TRADERMADE ? sense_parse_tradermade(r->body, now, NULL, &m, err, sizeof err) < 0
                                       : sense_parse_birdeye(r->body, &m, err, sizeof err) < 0;
        if (bad) {
            utf8_copy_clean(wl->error[f], sizeof wl->error[f], err);
            return -1;
        }
        if (f == FEED_TRADERMADE && !m.forex_stale)   /* a closed market's frozen quotes are no activity */
            for (int i = 0; i < m.nquotes; i++)
                n += watch_price(&wl->watch, LEARN_FOREX, m.quotes[i].pair, now, m.quotes[i].mid) == 0;
        if (f == FEED_BIRDEYE && m.sol_usd > 0)
            n += watch_price(&wl->watch, LEARN_CRYPTO, "birdeye:SOL", now, m.sol_usd) == 0;
    }
    wl->error[f][0] = '\0';
    return n;
}

int watch_live_poll(struct watch_live *wl, time_t now)
{
    const struct cfg *c = wl->cfg;
    char urls[FEED_COUNT][1024], q[256], keyhdr[300];
    const char *birdeye_hdrs[] = { keyhdr, NULL };
    struct http_req reqs[FEED_COUNT];
    struct http_resp resps[FEED_COUNT];
    int feed_of[FEED_COUNT];
    size_t n = 0;
    for (int f = 0; f < FEED_COUNT; f++) {
        if (!wl->configured[f] || now < wl->next_at[f])
            continue;
        /* the interval from now on: stretched when the budget would not last */
        wl->interval[f] = budget_interval(&wl->budget[f], now, c->watch_seconds, wl->why[f], sizeof wl->why[f]);
        wl->next_at[f] = now + wl->interval[f];
        if (!budget_allows(&wl->budget[f], now))
            continue;
        if (f == FEED_DEXSCREENER && watch_live_query(c->dexscreener_query, q, sizeof q) == 0)
            snprintf(urls[f], sizeof urls[f], "%s/latest/dex/search?q=%s", c->dexscreener_base_url, q);
        else if (f == FEED_TRADERMADE && sense_urlencode(c->tradermade_api_key, q, sizeof q) == 0)
            snprintf(urls[f], sizeof urls[f], "%s/api/v1/live?currency=%s&api_key=%s", c->tradermade_base_url,
                     c->forex_pairs, q);
        else if (f == FEED_BIRDEYE)
            snprintf(urls[f], sizeof urls[f], "%s/defi/price?address=So11111111111111111111111111111111111111112",
                     c->birdeye_base_url);
        else
            continue;
        if (f == FEED_BIRDEYE)
            snprintf(keyhdr, sizeof keyhdr, "X-API-KEY: %s", c->birdeye_api_key);
        reqs[n] = (struct http_req){
            .method = "GET", .url = urls[f], .max_bytes = WATCH_LIVE_MAX_BYTES,
            .timeout_ms = c->feed_timeout_ms[f] > 0 ? c->feed_timeout_ms[f] : c->probe_timeout_ms,
            .headers = f == FEED_BIRDEYE ? birdeye_hdrs : NULL,
        };
        feed_of[n++] = f;
        budget_spend(&wl->budget[f], now, 1);
    }
    if (n == 0)
        return 0;
    http_perform_many(reqs, resps, n);
    for (size_t i = 0; i < n; i++) {
        int f = feed_of[i];
        wl->polls[f]++;
        int k = watch_live_feed(wl, f, &resps[i], now);
        wl->healthy[f] = k >= 0;
        if (k > 0)
            wl->samples[f] += k;
        if (k < 0)
            log_event(LOG_WARN, "watch.source_failed", "s:source s:error", catalog_feed_name(f), wl->error[f]);
        http_resp_free(&resps[i]);
    }
    return (int)n;
}

json_object *watch_live_json(struct watch_live *wl, time_t now)
{
    json_object *o = json_object_new_object(), *src = json_object_new_object();
    if (!o || !src) {
        json_object_put(o);
        json_object_put(src);
        return NULL;
    }
    json_object_object_add(o, "at", json_object_new_int64((long long)now));
    json_object_object_add(o, "window_minutes", json_object_new_int64(wl->watch.window_s / 60));
    json_object_object_add(o, "event_share", json_object_new_double(wl->watch.share));
    json_object_object_add(o, "markets", watch_summary_json(&wl->watch, now));
    for (int f = 0; f < FEED_COUNT; f++) {
        json_object *j = budget_json(&wl->budget[f], wl->interval[f], wl->cfg->watch_seconds, wl->why[f]);
        if (!j)
            continue;
        json_object_object_add(j, "watched", json_object_new_boolean(wl->configured[f]));
        json_object_object_add(j, "healthy", wl->configured[f] && wl->polls[f] ? json_object_new_boolean(wl->healthy[f])
                                                                                 : NULL);
        json_object_object_add(j, "error", wl->error[f][0] ? json_object_new_string(wl->error[f]) : NULL);
        json_object_object_add(j, "polls", json_object_new_int64(wl->polls[f]));
        json_object_object_add(j, "samples", json_object_new_int64(wl->samples[f]));
        json_object_object_add(src, catalog_feed_name(f), j);
    }
    json_object_object_add(o, "sources", src);
    return o;
}

json_object *watch_live_budgets_json(const struct watch_live *wl)
{
    json_object *o = json_object_new_object();
    for (int f = 0; o && f < FEED_COUNT; f++)
        json_object_object_add(o, catalog_feed_name(f),
                               budget_json(&wl->budget[f], wl->interval[f], wl->cfg->watch_seconds, wl->why[f]));
    return o;
}

void watch_live_budgets_restore(struct watch_live *wl, json_object *j, time_t now)
{
    json_object *v;
    for (int f = 0; j && f < FEED_COUNT; f++)
        if (json_object_object_get_ex(j, catalog_feed_name(f), &v))
            budget_restore(&wl->budget[f], v, now);
}
