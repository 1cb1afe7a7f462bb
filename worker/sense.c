/* sense: probes, market activity, sessions and load; see sense.h. */
#include "config.h"
#include "sense.h"
#include "http.h"
#include "learn.h"
#include "log.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SENSE_MAX_PAIRS 200
#define SENSE_STALE_SECONDS 900
#define SENSE_PROBE_MAX_BYTES (2 * 1024 * 1024)

void sense_iso8601(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

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

void sense_copy_text(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return;
    size_t n = utf8_cut(src, strlen(src), cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    utf8_clean(dst);
}

/* A JSON number, or a string holding one (DexScreener sends prices as
 * strings).  Returns 1 and sets *out, or 0 when absent or not numeric. */
static int sense_number(json_object *o, const char *key, double *out)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return 0;
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        double d = json_object_get_double(v);
        if (!isfinite(d))
            return 0;
        *out = d;
        return 1;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        double d = strtod(s, &end);
        if (end == s || *end || !isfinite(d))
            return 0;
        *out = d;
        return 1;
    }
    return 0;
}

static json_object *sense_child(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

/* Parse a JSON text strictly (whole input).  Returns the object (caller
 * puts) or NULL with err set. */
static json_object *sense_parse_json(const char *body, char *err, size_t errlen)
{
    if (!body || !*body) {
        snprintf(err, errlen, "empty body");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t len = strlen(body);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (!root || jerr != json_tokener_success) {
        snprintf(err, errlen, "malformed JSON: %s",
                 jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr));
        json_object_put(root);
        json_tokener_free(tok);
        return NULL;
    }
    size_t off = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (off < len && (body[off] == ' ' || body[off] == '\n' || body[off] == '\r' || body[off] == '\t'))
        off++;
    if (off != len) {
        snprintf(err, errlen, "malformed JSON: trailing data");
        json_object_put(root);
        return NULL;
    }
    return root;
}

int sense_parse_dexscreener(const char *body, time_t now, struct sense_market *m, char *err, size_t errlen)
{
    m->crypto_valid = 0;
    m->pairs = 0;
    m->crypto_volatility = m->crypto_h1 = m->volume_m5_usd = 0;
    m->txns_m5 = 0;
    m->new_pairs_1h = 0;
    m->ntokens = 0;
    json_object *root = sense_parse_json(body, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "unexpected answer: not an object");
        goto out;
    }
    json_object *pairs;
    if (!json_object_object_get_ex(root, "pairs", &pairs)) {
        snprintf(err, errlen, "unexpected answer: no \"pairs\"");
        goto out;
    }
    if (pairs && !json_object_is_type(pairs, json_type_array)) {
        snprintf(err, errlen, "unexpected answer: \"pairs\" is not an array");
        goto out;
    }
    size_t n = pairs ? json_object_array_length(pairs) : 0;
    if (n > SENSE_MAX_PAIRS)
        n = SENSE_MAX_PAIRS;
    double sum_m5 = 0, sum_h1 = 0;
    int n_m5 = 0, n_h1 = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(pairs, i);
        if (!json_object_is_type(p, json_type_object))
            continue;
        m->pairs++;
        json_object *bt = sense_child(p, "baseToken");
        json_object *sym = sense_child(bt, "symbol"), *nam = sense_child(bt, "name");
        if (m->ntokens < SENSE_MAX_TOKENS && sym && json_object_is_type(sym, json_type_string)) {
            struct sense_token *t = &m->tokens[m->ntokens++];
            json_object *url = sense_child(p, "url");
            sense_copy_text(t->symbol, sizeof t->symbol, json_object_get_string(sym));
            sense_copy_text(t->name, sizeof t->name,
                            nam && json_object_is_type(nam, json_type_string) ? json_object_get_string(nam) : "");
            sense_copy_text(t->url, sizeof t->url,
                            url && json_object_is_type(url, json_type_string) ? json_object_get_string(url) : "");
        }
        double d;
        json_object *pc = sense_child(p, "priceChange");
        if (sense_number(pc, "m5", &d)) { sum_m5 += fabs(d); n_m5++; }
        if (sense_number(pc, "h1", &d)) { sum_h1 += fabs(d); n_h1++; }
        if (sense_number(sense_child(p, "volume"), "m5", &d) && d >= 0)
            m->volume_m5_usd += d;
        json_object *tx = sense_child(sense_child(p, "txns"), "m5");
        if (sense_number(tx, "buys", &d) && d >= 0) m->txns_m5 += (long)d;
        if (sense_number(tx, "sells", &d) && d >= 0) m->txns_m5 += (long)d;
        if (sense_number(p, "pairCreatedAt", &d) && d > 0) {
            double age = (double)now - d / 1000.0;
            if (age >= -300 && age <= 3600)
                m->new_pairs_1h++;
        }
    }
    m->crypto_volatility = n_m5 ? sum_m5 / n_m5 : 0;
    m->crypto_h1 = n_h1 ? sum_h1 / n_h1 : 0;
    m->crypto_valid = 1;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int sense_parse_profiles(const char *body, struct sense_market *m, char *err, size_t errlen)
{
    m->nprofiles = 0;
    json_object *root = sense_parse_json(body, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    if (!json_object_is_type(root, json_type_array)) {
        snprintf(err, errlen, "unexpected answer: not an array of token profiles");
        goto out;
    }
    size_t n = json_object_array_length(root);
    for (size_t i = 0; i < n && i < SENSE_MAX_PAIRS && m->nprofiles < SENSE_MAX_PROFILES; i++) {
        json_object *p = json_object_array_get_idx(root, i);
        json_object *chain = sense_child(p, "chainId"), *desc = sense_child(p, "description");
        json_object *links = sense_child(p, "links"), *link = NULL;
        if (links && json_object_is_type(links, json_type_array) && json_object_array_length(links) > 0)
            link = sense_child(json_object_array_get_idx(links, 0), "url");
        int has_desc = desc && json_object_is_type(desc, json_type_string);
        int has_link = link && json_object_is_type(link, json_type_string);
        if (!has_desc && !has_link)
            continue;
        struct sense_profile *sp = &m->profiles[m->nprofiles++];
        sense_copy_text(sp->chain, sizeof sp->chain,
                        chain && json_object_is_type(chain, json_type_string) ? json_object_get_string(chain) : "");
        sense_copy_text(sp->description, sizeof sp->description, has_desc ? json_object_get_string(desc) : "");
        sense_copy_text(sp->link, sizeof sp->link, has_link ? json_object_get_string(link) : "");
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int sense_parse_tradermade(const char *body, time_t now, const struct sense_memory *mem,
                           struct sense_market *m, char *err, size_t errlen)
{
    m->forex_valid = 0;
    m->forex_stale = 0;
    m->nquotes = 0;
    m->forex_move_bp = -1;
    json_object *root = sense_parse_json(body, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    json_object *quotes = sense_child(root, "quotes");
    if (!quotes || !json_object_is_type(quotes, json_type_array)) {
        /* the provider's own message helps ("Invalid API Key"), but it is
         * text from outside going into /status and the LLM prompt: only
         * printable ASCII of it, at most 100 bytes */
        json_object *e = sense_child(root, "errors");
        json_object *msg = sense_child(e ? e : root, "message");
        char said[101] = "";
        if (msg && json_object_is_type(msg, json_type_string)) {
            const char *t = json_object_get_string(msg);
            size_t k = 0;
            for (; *t && k < sizeof said - 1; t++)
                said[k++] = (*t >= 0x20 && *t < 0x7f) ? *t : '?';
            said[k] = '\0';
        }
        snprintf(err, errlen, "unexpected answer: no quotes%s%s", said[0] ? ": " : "", said);
        goto out;
    }
    double ts;
    if (!sense_number(root, "timestamp", &ts)) {
        snprintf(err, errlen, "unexpected answer: no timestamp");
        goto out;
    }
    m->forex_stale = (double)now - ts > SENSE_STALE_SECONDS;
    size_t n = json_object_array_length(quotes);
    double move_sum = 0;
    int move_n = 0;
    for (size_t i = 0; i < n && m->nquotes < SENSE_MAX_QUOTES; i++) {
        json_object *q = json_object_array_get_idx(quotes, i);
        json_object *b = sense_child(q, "base_currency"), *qc = sense_child(q, "quote_currency");
        double mid;
        if (!b || !qc || !json_object_is_type(b, json_type_string) || !json_object_is_type(qc, json_type_string))
            continue;
        if (!sense_number(q, "mid", &mid) || mid <= 0)
            continue;
        const char *bs = json_object_get_string(b), *qs = json_object_get_string(qc);
        if (strlen(bs) != 3 || strlen(qs) != 3)
            continue;
        struct sense_quote *sq = &m->quotes[m->nquotes++];
        snprintf(sq->pair, sizeof sq->pair, "%s%s", bs, qs);
        sq->mid = mid;
        if (mem) {
            for (int k = 0; k < mem->nquotes; k++) {
                if (strcmp(mem->quotes[k].pair, sq->pair) == 0 && mem->quotes[k].mid > 0) {
                    move_sum += fabs(mid - mem->quotes[k].mid) / mem->quotes[k].mid * 10000.0;
                    move_n++;
                }
            }
        }
    }
    if (m->nquotes == 0) {
        snprintf(err, errlen, "unexpected answer: no usable quote");
        goto out;
    }
    m->forex_move_bp = move_n ? move_sum / move_n : -1;
    m->forex_valid = 1;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

double sense_parse_loadavg(const char *text)
{
    char *end;
    double d = strtod(text, &end);
    if (end == text || !isfinite(d) || d < 0)
        return -1;
    return d;
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
        snprintf(p->error, sizeof p->error, "%.*s", (int)sizeof p->error - 1, r->errmsg);
        p->ok = 0;
    } else if (r->status < 200 || r->status > 299) {
        snprintf(p->error, sizeof p->error, "HTTP %ld", r->status);
        p->ok = 0;
    } else {
        p->ok = 1;
        p->error[0] = '\0';
    }
}

void sense_collect(const struct cfg *c, struct sense_memory *mem, time_t now, struct sense_snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    snap->now = now;
    if (sessions_at(now, &snap->sessions) < 0)
        log_event(LOG_ERROR, "sense.tz_missing", "s:error", "tz database zone missing: install tzdata");
    snap->session_label = sessions_label(&snap->sessions);
    snap->market.forex_move_bp = -1;

    char urls[FEED_COUNT][1024], profiles_url[1024];
    char keyhdr[300];
    const char *birdeye_hdrs[] = { keyhdr, NULL };
    /* one probe per source, and DexScreener's token profiles (the text
     * that owners write about their tokens: the prompt's untrusted part) */
    struct http_req reqs[FEED_COUNT + 1];
    struct http_resp resps[FEED_COUNT + 1];
    int feed_of[FEED_COUNT + 1];
    size_t n = 0;
    char q[256], first[128];
    /* DEXSCREENER_QUERY may list several terms (the scans search each): the probe searches the first */
    size_t fl = strcspn(c->dexscreener_query, ",");
    snprintf(first, sizeof first, "%.*s", (int)(fl < sizeof first ? fl : sizeof first - 1), c->dexscreener_query);
    while (first[0] == ' ')
        memmove(first, first + 1, strlen(first));
    for (size_t k = strlen(first); k > 0 && first[k - 1] == ' '; k--)
        first[k - 1] = '\0';

    if (*c->dexscreener_base_url && first[0] && sense_urlencode(first, q, sizeof q) == 0) {
        snprintf(urls[FEED_DEXSCREENER], sizeof urls[0], "%s/latest/dex/search?q=%s", c->dexscreener_base_url, q);
        snap->probes[FEED_DEXSCREENER].configured = 1;
    }
    if (*c->pumpfun_base_url) {
        snprintf(urls[FEED_PUMPFUN], sizeof urls[0], "%s/coins/latest", c->pumpfun_base_url);
        snap->probes[FEED_PUMPFUN].configured = 1;
    }
    if (*c->tradermade_base_url && *c->tradermade_api_key &&
        sense_urlencode(c->tradermade_api_key, q, sizeof q) == 0) {
        snprintf(urls[FEED_TRADERMADE], sizeof urls[0], "%s/api/v1/live?currency=%s&api_key=%s",
                 c->tradermade_base_url, c->forex_pairs, q);
        snap->probes[FEED_TRADERMADE].configured = 1;
    }
    if (*c->birdeye_base_url && *c->birdeye_api_key) {
        snprintf(urls[FEED_BIRDEYE], sizeof urls[0],
                 "%s/defi/price?address=So11111111111111111111111111111111111111112", c->birdeye_base_url);
        snprintf(keyhdr, sizeof keyhdr, "X-API-KEY: %s", c->birdeye_api_key);
        snap->probes[FEED_BIRDEYE].configured = 1;
    }
    for (int f = 0; f < FEED_COUNT; f++) {
        if (!snap->probes[f].configured) {
            snprintf(snap->probes[f].error, sizeof snap->probes[f].error, "not configured");
            continue;
        }
        reqs[n] = (struct http_req){
            .method = "GET", .url = urls[f],
            .timeout_ms = c->feed_timeout_ms[f] > 0 ? c->feed_timeout_ms[f] : c->probe_timeout_ms,
            .max_bytes = SENSE_PROBE_MAX_BYTES,
            .headers = f == FEED_BIRDEYE ? birdeye_hdrs : NULL,
        };
        feed_of[n++] = f;
    }
    if (snap->probes[FEED_DEXSCREENER].configured) {
        snprintf(profiles_url, sizeof profiles_url, "%s/token-profiles/latest/v1", c->dexscreener_base_url);
        reqs[n] = (struct http_req){
            .method = "GET", .url = profiles_url,
            .timeout_ms = c->feed_timeout_ms[FEED_DEXSCREENER] > 0 ? c->feed_timeout_ms[FEED_DEXSCREENER]
                                                                    : c->probe_timeout_ms,
            .max_bytes = SENSE_PROBE_MAX_BYTES,
        };
        feed_of[n++] = -1;
    }
    http_perform_many(reqs, resps, n);

    for (size_t i = 0; i < n; i++) {
        int f = feed_of[i];
        if (f < 0) {
            /* the profiles are extra text, not the source's health */
            char err[160];
            if (resps[i].err != HTTP_OK || resps[i].status != 200 ||
                sense_parse_profiles(resps[i].body, &snap->market, err, sizeof err) < 0)
                log_event(LOG_DEBUG, "probe.profiles_unavailable", "i:http_status s:error",
                          (long long)resps[i].status, resps[i].err != HTTP_OK ? resps[i].errmsg : "not a list of profiles");
            http_resp_free(&resps[i]);
            continue;
        }
        struct sense_probe *p = &snap->probes[f];
        sense_judge(p, &resps[i]);
        char err[160];
        if (p->ok && f == FEED_DEXSCREENER &&
            sense_parse_dexscreener(resps[i].body, now, &snap->market, err, sizeof err) < 0) {
            p->ok = 0;
            snprintf(p->error, sizeof p->error, "%s", err);
        }
        if (p->ok && f == FEED_TRADERMADE) {
            if (sense_parse_tradermade(resps[i].body, now, mem, &snap->market, err, sizeof err) < 0) {
                p->ok = 0;
                snprintf(p->error, sizeof p->error, "%s", err);
            } else if (mem) {
                mem->nquotes = snap->market.nquotes;
                memcpy(mem->quotes, snap->market.quotes, sizeof mem->quotes);
            }
        }
        log_event(p->ok ? LOG_DEBUG : LOG_WARN, p->ok ? "probe.ok" : "probe.failed",
                  "s:source i:http_status d:latency_ms s:error", catalog_feed_name(f),
                  (long long)p->http_status, p->latency_ms, p->ok ? NULL : p->error);
        http_resp_free(&resps[i]);
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
    return valid && isfinite(d) ? json_object_new_double(round(d * 10000.0) / 10000.0) : NULL;
}

json_object *sense_sources_json(const struct sense_snapshot *snap)
{
    json_object *o = json_object_new_object();
    char ts[32];
    sense_iso8601(snap->now, ts);
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

json_object *sense_to_json(const struct sense_snapshot *snap)
{
    json_object *root = json_object_new_object();
    char ts[32];
    sense_iso8601(snap->now, ts);
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
