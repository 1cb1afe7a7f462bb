/* sense: probes, market activity, sessions and load; see sense.h. */
#include "config.h"
#include "sense.h"
#include "http.h"
#include "learn.h"
#include "log.h"
#include "utf8.h"
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int sense_urlencode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (n + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return 0;
}


static double sense_read_load(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return -1;
    char buf[128];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return sense_parse_loadavg(buf);
}

/* Turn one probe's HTTP outcome into its health: ok on a 2xx whose body
 * the parser (if any) accepts. */
static void sense_judge(struct sense_probe *p, const struct http_resp *r)
{
    p->http_status = r->status;
    p->latency_ms = r->elapsed_ms;
    if (r->err != HTTP_OK) {
        utf8_copy_clean(p->error, sizeof p->error, r->errmsg);
        p->ok = 0;
    } else if (r->status < 200 || r->status > 299) {
        snprintf(p->error, sizeof p->error, "HTTP %ld", r->status);
        p->ok = 0;
    } else {
        p->ok = 1;
        p->error[0] = '\0';
    }
}

/* The probes of one sense_collect, and the buffers their requests point
 * into. */
struct sense_probes {
    char urls[FEED_COUNT][1024], profiles_url[1024];
    char keyhdr[300];
    const char *birdeye_hdrs[2];
    /* one probe per source, and DexScreener's token profiles (the text
     * that owners write about their tokens: the prompt's untrusted part) */
    struct http_req reqs[FEED_COUNT + 1];
    struct http_resp resps[FEED_COUNT + 1];
    int feed_of[FEED_COUNT + 1];       /* the source of each request; -1: the profiles */
    size_t n;
};

/* The URL of each configured source's probe into pr->urls (and the
 * snapshot's probes marked configured). */
static void sense_probe_urls(const struct cfg *c, struct sense_snapshot *snap, struct sense_probes *pr)
{
    char q[256], first[128];
    /* DEXSCREENER_QUERY may list several terms (the scans search each): the probe searches the first */
    size_t fl = strcspn(c->dexscreener_query, ",");
    snprintf(first, sizeof first, "%.*s", (int)(fl < sizeof first ? fl : sizeof first - 1), c->dexscreener_query);
    while (first[0] == ' ')
        memmove(first, first + 1, strlen(first));
    for (size_t k = strlen(first); k > 0 && first[k - 1] == ' '; k--)
        first[k - 1] = '\0';

    if (*c->dexscreener_base_url && first[0] && sense_urlencode(first, q, sizeof q) == 0) {
        snprintf(pr->urls[FEED_DEXSCREENER], sizeof pr->urls[0], "%s/latest/dex/search?q=%s", c->dexscreener_base_url, q);
        snap->probes[FEED_DEXSCREENER].configured = 1;
    }
    if (*c->pumpfun_base_url) {
        snprintf(pr->urls[FEED_PUMPFUN], sizeof pr->urls[0], "%s/coins/latest", c->pumpfun_base_url);
        snap->probes[FEED_PUMPFUN].configured = 1;
    }
    if (*c->tradermade_base_url && *c->tradermade_api_key &&
        sense_urlencode(c->tradermade_api_key, q, sizeof q) == 0) {
        snprintf(pr->urls[FEED_TRADERMADE], sizeof pr->urls[0], "%s/api/v1/live?currency=%s&api_key=%s",
                 c->tradermade_base_url, c->forex_pairs, q);
        snap->probes[FEED_TRADERMADE].configured = 1;
    }
    if (*c->birdeye_base_url && *c->birdeye_api_key) {
        snprintf(pr->urls[FEED_BIRDEYE], sizeof pr->urls[0],
                 "%s/defi/price?address=So11111111111111111111111111111111111111112", c->birdeye_base_url);
        snprintf(pr->keyhdr, sizeof pr->keyhdr, "X-API-KEY: %s", c->birdeye_api_key);
        snap->probes[FEED_BIRDEYE].configured = 1;
    }
}

/* The requests of the configured probes (and DexScreener's profiles) into
 * pr->reqs; the others' error says "not configured". */
static void sense_probe_requests(const struct cfg *c, struct sense_snapshot *snap, struct sense_probes *pr)
{
    pr->n = 0;
    pr->birdeye_hdrs[0] = pr->keyhdr;
    pr->birdeye_hdrs[1] = NULL;
    for (int f = 0; f < FEED_COUNT; f++) {
        if (!snap->probes[f].configured) {
            snprintf(snap->probes[f].error, sizeof snap->probes[f].error, "not configured");
            continue;
        }
        pr->reqs[pr->n] = (struct http_req){
            .method = "GET", .url = pr->urls[f],
            .timeout_ms = c->feed_timeout_ms[f] > 0 ? c->feed_timeout_ms[f] : c->probe_timeout_ms,
            .max_bytes = SENSE_PROBE_MAX_BYTES,
            .headers = f == FEED_BIRDEYE ? pr->birdeye_hdrs : NULL,
        };
        pr->feed_of[pr->n++] = f;
    }
    if (snap->probes[FEED_DEXSCREENER].configured) {
        snprintf(pr->profiles_url, sizeof pr->profiles_url, "%s/token-profiles/latest/v1", c->dexscreener_base_url);
        pr->reqs[pr->n] = (struct http_req){
            .method = "GET", .url = pr->profiles_url,
            .timeout_ms = c->feed_timeout_ms[FEED_DEXSCREENER] > 0 ? c->feed_timeout_ms[FEED_DEXSCREENER]
                                                                    : c->probe_timeout_ms,
            .max_bytes = SENSE_PROBE_MAX_BYTES,
        };
        pr->feed_of[pr->n++] = -1;
    }
}

/* Source f's answer r: the probe's health and what its parser reads into
 * the snapshot's market (TraderMade's quotes also into mem, when given). */
static void sense_probe_answer(struct sense_snapshot *snap, struct sense_memory *mem, int f,
                               const struct http_resp *r, time_t now)
{
    struct sense_probe *p = &snap->probes[f];
    sense_judge(p, r);
    char err[160];
    if (p->ok && f == FEED_DEXSCREENER &&
        sense_parse_dexscreener(r->body, now, &snap->market, err, sizeof err) < 0) {
        p->ok = 0;
        utf8_copy_clean(p->error, sizeof p->error, err);
    }
    if (p->ok && f == FEED_DEXSCREENER && snap->market.refused_values)
        log_event(LOG_WARN, "probe.values_refused", "s:source i:count s:first", catalog_feed_name(f),
                  (long long)snap->market.refused_values, snap->market.refused_why);
    if (p->ok && ((f == FEED_PUMPFUN && sense_parse_pumpfun(r->body, &snap->market, err, sizeof err) < 0) ||
                  (f == FEED_BIRDEYE && sense_parse_birdeye(r->body, &snap->market, err, sizeof err) < 0))) {
        p->ok = 0;
        utf8_copy_clean(p->error, sizeof p->error, err);
    }
    if (p->ok && f == FEED_TRADERMADE) {
        if (sense_parse_tradermade(r->body, now, mem, &snap->market, err, sizeof err) < 0) {
            p->ok = 0;
            utf8_copy_clean(p->error, sizeof p->error, err);
        } else if (mem) {
            mem->nquotes = snap->market.nquotes;
            memcpy(mem->quotes, snap->market.quotes, sizeof mem->quotes);
        }
    }
    log_event(p->ok ? LOG_DEBUG : LOG_WARN, p->ok ? "probe.ok" : "probe.failed",
              "s:source i:http_status d:latency_ms s:error", catalog_feed_name(f),
              (long long)p->http_status, p->latency_ms, p->ok ? NULL : p->error);
}

void sense_snapshot_begin(struct sense_snapshot *snap, time_t now)
{
    memset(snap, 0, sizeof *snap);
    snap->now = now;
    if (sessions_at(now, &snap->sessions) < 0)
        log_event(LOG_ERROR, "sense.tz_missing", "s:error", "tz database zone missing: install tzdata");
    snap->session_label = sessions_label(&snap->sessions);
    snap->market.forex_move_bp = -1;
}

void sense_collect(const struct cfg *c, struct sense_memory *mem, time_t now, struct sense_snapshot *snap)
{
    sense_snapshot_begin(snap, now);

    struct sense_probes pr;
    sense_probe_urls(c, snap, &pr);
    sense_probe_requests(c, snap, &pr);
    http_perform_many(pr.reqs, pr.resps, pr.n);

    for (size_t i = 0; i < pr.n; i++) {
        int f = pr.feed_of[i];
        const struct http_resp *r = &pr.resps[i];
        if (f < 0) {
            /* the profiles are extra text, not the source's health */
            char err[160];
            if (r->err != HTTP_OK || r->status != 200 ||
                sense_parse_profiles(r->body, &snap->market, err, sizeof err) < 0)
                log_event(LOG_DEBUG, "probe.profiles_unavailable", "i:http_status s:error",
                          (long long)r->status, r->err != HTTP_OK ? r->errmsg : "not a list of profiles");
        } else {
            sense_probe_answer(snap, mem, f, r, now);
        }
        http_resp_free(&pr.resps[i]);
    }

    struct sense_market *m = &snap->market;
    m->volatility = m->crypto_valid ? m->crypto_volatility : 0;
    if (m->forex_valid && m->forex_move_bp >= 0 && m->forex_move_bp / 100.0 > m->volatility)
        m->volatility = m->forex_move_bp / 100.0;

    snap->load1 = sense_read_load();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    snap->ncpu = ncpu > 0 ? (int)ncpu : 1;
    snap->load_per_core = snap->load1 >= 0 ? snap->load1 / snap->ncpu : 0;
}

static json_object *sense_num_or_null(double d, int valid)
{
    if (!valid || !isfinite(d))
        return NULL;
    double r = round(d * 10000.0) / 10000.0;     /* never Infinity, even for d near DBL_MAX */
    return json_object_new_double(isfinite(r) ? r : d);
}

json_object *sense_sources_json(const struct sense_snapshot *snap)
{
    json_object *o = json_object_new_object();
    char ts[32];
    tu_iso8601(snap->now, ts);
    for (int f = 0; f < FEED_COUNT; f++) {
        const struct sense_probe *p = &snap->probes[f];
        json_object *s = json_object_new_object();
        json_object_object_add(s, "configured", json_object_new_boolean(p->configured));
        json_object_object_add(s, "ok", p->configured ? json_object_new_boolean(p->ok) : NULL);
        json_object_object_add(s, "latency_ms", p->configured ? json_object_new_int((int)lround(p->latency_ms)) : NULL);
        json_object_object_add(s, "http_status", p->http_status ? json_object_new_int((int)p->http_status) : NULL);
        json_object_object_add(s, "error", p->error[0] ? json_object_new_string(p->error) : NULL);
        json_object_object_add(s, "probed_at", p->configured ? json_object_new_string(ts) : NULL);
        json_object_object_add(o, catalog_feed_name(f), s);
    }
    return o;
}

const char *sense_wake_name(int w)
{
    switch (w) {
    case SENSE_WAKE_SCHEDULED: return "scheduled";
    case SENSE_WAKE_EVENT:     return "event";
    case SENSE_WAKE_CONTROL:   return "control";
    case SENSE_WAKE_STARTUP:   return "startup";
    }
    return "scheduled";
}

json_object *sense_wake_json(const struct sense_wake_info *w)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "reason", json_object_new_string(sense_wake_name(w->kind)));
    if (w->kind == SENSE_WAKE_EVENT) {
        json_object_object_add(o, "market", json_object_new_string(w->market == 1 ? "forex" : "crypto"));
        json_object_object_add(o, "signal", json_object_new_string(w->signal));
        json_object_object_add(o, "value", sense_num_or_null(w->value, isfinite(w->value)));
        json_object_object_add(o, "threshold", sense_num_or_null(w->threshold, w->threshold >= 0));
    }
    if (w->kind == SENSE_WAKE_CONTROL)
        json_object_object_add(o, "command_id", json_object_new_int64(w->command));
    return o;
}

/* The watch's figures for the decision's inputs and the prompt. */
static json_object *sense_watch_json(const struct sense_watch *w)
{
    json_object *o = json_object_new_object();
    for (int m = 0; o && m < SENSE_WATCH_MARKETS; m++) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "watched", json_object_new_boolean(w->covers[m]));
        json_object_object_add(j, "activity", sense_num_or_null(w->score[m], w->covers[m]));
        json_object_object_add(j, "threshold", sense_num_or_null(w->threshold[m], w->covers[m] && w->threshold[m] >= 0));
        json_object_object_add(j, "most_active", w->covers[m] && w->instrument[m][0]
                                                 ? json_object_new_string(w->instrument[m]) : NULL);
        json_object_object_add(j, "history_windows", json_object_new_int64(w->windows[m]));
        json_object_object_add(o, m == 1 ? "forex" : "crypto", j);
    }
    return o;
}

json_object *sense_to_json(const struct sense_snapshot *snap)
{
    json_object *root = json_object_new_object();
    char ts[32];
    tu_iso8601(snap->now, ts);
    json_object_object_add(root, "sensed_at", json_object_new_string(ts));

    json_object *ses = json_object_new_object();
    json_object *open = json_object_new_array();
    for (int s = 0; s < SESSION_COUNT; s++)
        if (snap->sessions.open[s])
            json_object_array_add(open, json_object_new_string(session_name(s)));
    json_object_object_add(ses, "market_open", json_object_new_boolean(snap->sessions.market_open));
    json_object_object_add(ses, "open", open);
    json_object_object_add(ses, "label", json_object_new_string(snap->session_label ? snap->session_label : "closed"));
    json_object_object_add(root, "sessions", ses);

    json_object_object_add(root, "sources", sense_sources_json(snap));
    json_object_object_add(root, "wake", sense_wake_json(&snap->wake));
    if (snap->watch)
        json_object_object_add(root, "watch", sense_watch_json(snap->watch));

    const struct sense_market *m = &snap->market;
    json_object *mk = json_object_new_object();
    json_object *cr = json_object_new_object();
    json_object_object_add(cr, "valid", json_object_new_boolean(m->crypto_valid));
    json_object_object_add(cr, "pairs", json_object_new_int(m->pairs));
    json_object_object_add(cr, "volatility_m5_pct", sense_num_or_null(m->crypto_volatility, m->crypto_valid));
    json_object_object_add(cr, "change_h1_pct", sense_num_or_null(m->crypto_h1, m->crypto_valid));
    json_object_object_add(cr, "volume_m5_usd", sense_num_or_null(m->volume_m5_usd, m->crypto_valid));
    json_object_object_add(cr, "txns_m5", m->crypto_valid ? json_object_new_int64(m->txns_m5) : NULL);
    json_object_object_add(cr, "new_pairs_1h", m->crypto_valid ? json_object_new_int(m->new_pairs_1h) : NULL);
    json_object_object_add(mk, "crypto", cr);
    json_object *fx = json_object_new_object();
    json_object_object_add(fx, "valid", json_object_new_boolean(m->forex_valid));
    json_object_object_add(fx, "stale", json_object_new_boolean(m->forex_stale));
    json_object *qs = json_object_new_object();
    for (int i = 0; i < m->nquotes; i++)
        json_object_object_add(qs, m->quotes[i].pair, json_object_new_double(m->quotes[i].mid));
    json_object_object_add(fx, "quotes", qs);
    json_object_object_add(fx, "move_bp", sense_num_or_null(m->forex_move_bp, m->forex_valid && m->forex_move_bp >= 0));
    json_object_object_add(mk, "forex", fx);
    json_object_object_add(mk, "volatility", sense_num_or_null(m->volatility, 1));
    json_object_object_add(root, "market", mk);

    json_object *sys = json_object_new_object();
    json_object_object_add(sys, "load1", sense_num_or_null(snap->load1, snap->load1 >= 0));
    json_object_object_add(sys, "cpus", json_object_new_int(snap->ncpu));
    json_object_object_add(sys, "load_per_core", sense_num_or_null(snap->load_per_core, snap->load1 >= 0));
    json_object_object_add(root, "system", sys);

    const struct sense_history *h = &snap->history;
    json_object *hi = json_object_new_object();
    json_object_object_add(hi, "decisions_24h", json_object_new_int(h->decisions_24h));
    json_object_object_add(hi, "acted_24h", json_object_new_int(h->acted_24h));
    json_object_object_add(hi, "succeeded_24h", json_object_new_int(h->succeeded_24h));
    json_object_object_add(hi, "success_rate_24h",
                           sense_num_or_null(h->acted_24h ? (double)h->succeeded_24h / h->acted_24h : 0, h->acted_24h > 0));
    json_object_object_add(hi, "last_mode", h->last_mode[0] ? json_object_new_string(h->last_mode) : NULL);
    json_object *rec = json_object_new_array();
    for (int i = 0; i < h->nrecent; i++) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "id", json_object_new_int64(h->recent[i].id));
        json_object_object_add(r, "mode", json_object_new_string(h->recent[i].mode));
        json_object_object_add(r, "status", json_object_new_string(h->recent[i].status));
        json_object_array_add(rec, r);
    }
    json_object_object_add(hi, "recent", rec);
    json_object_object_add(root, "history", hi);
    if (snap->learn)
        json_object_object_add(root, "learning", learn_summary_json(snap->learn, snap->now, 0));
    return root;
}
