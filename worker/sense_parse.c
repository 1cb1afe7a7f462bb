/* sense_parse: the market sources' answers, checked where they enter; see
 * sense.h ("Parsing the sources' answers").
 *
 * Every number from outside passes sense_value(): finite and inside the
 * bounds sense.h declares, or refused (and counted) before any arithmetic.
 * Every text passes sense_copy_text(): bounded, cut on a character, valid
 * UTF-8.  A source whose answer is mostly nonsense is refused whole with
 * the reason in err; the caller marks it unhealthy and the cycle goes on. */
#include "config.h"
#include "sense.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENSE_MAX_PAIRS 200
#define SENSE_MAX_COINS 1000
#define SENSE_STALE_SECONDS 900
#define SENSE_FUTURE_SECONDS 3600     /* a provider clock this far ahead is nonsense */
#define SENSE_JSON_DEPTH 32

void sense_copy_text(char *dst, size_t cap, const char *src)
{
    utf8_copy_clean(dst, cap, src);
}

/* What sense_value() found. */
enum sense_val {
    SENSE_ABSENT = 0,     /* missing or null */
    SENSE_USABLE,         /* a finite number within the bounds: *out set */
    SENSE_REFUSED         /* not a number (another type, a string that is none),
                           * not finite, or out of bounds */
};

/* A JSON number, or a string holding one (DexScreener sends prices as
 * strings), checked against [lo, hi] before anything uses it.  *seen (may
 * be NULL) gets the value read, finite or not (NaN when it was no number),
 * for the refusal's message. */
static enum sense_val sense_value(json_object *o, const char *key, double lo, double hi, double *out, double *seen)
{
    json_object *v;
    double d = NAN;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) || !v)
        return SENSE_ABSENT;
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        d = json_object_get_double(v);
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        d = strtod(s, &end);
        if (end == s || *end)
            d = NAN;
    }
    if (seen)
        *seen = d;
    if (!isfinite(d) || d < lo || d > hi)
        return SENSE_REFUSED;
    *out = d;
    return SENSE_USABLE;
}

/* How a refused value is described before it is printed: "not a number: "
 * for NaN (another type, or a string that is no number), "" otherwise. */
static const char *sense_what(double seen)
{
    return isnan(seen) ? "not a number: " : "";
}

static json_object *sense_child(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

/* Parse a JSON text strictly (whole input, valid UTF-8, at most
 * SENSE_JSON_DEPTH levels).  Returns the object (caller puts) or NULL with
 * err set. */
static json_object *sense_parse_json(const char *body, char *err, size_t errlen)
{
    if (!body || !*body) {
        snprintf(err, errlen, "empty body");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(SENSE_JSON_DEPTH);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t len = strlen(body);
    if (len > SENSE_PROBE_MAX_BYTES) {
        json_tokener_free(tok);
        snprintf(err, errlen, "answer larger than %d bytes", SENSE_PROBE_MAX_BYTES);
        return NULL;
    }
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

/* Usable and refused values of one DexScreener field over the pairs. */
struct sense_tally {
    const char *name;         /* "priceChange.m5" */
    int usable, refused;
    double first_refused;     /* the first value refused, for the message */
};

/* Read one field of a pair through sense_value into *out and count it.
 * Returns 1 when usable. */
static int sense_tally_read(struct sense_tally *t, json_object *o, const char *key, double lo, double hi,
                            double *out)
{
    double seen = 0;
    enum sense_val r = sense_value(o, key, lo, hi, out, &seen);
    if (r == SENSE_USABLE)
        t->usable++;
    if (r == SENSE_REFUSED && t->refused++ == 0)
        t->first_refused = seen;
    return r == SENSE_USABLE;
}

/* The base token of DexScreener pair p (symbol, name, url) into m's
 * tokens while there is room; a pair without a string symbol has none. */
static void sense_pair_token(struct sense_market *m, json_object *p)
{
    json_object *bt = sense_child(p, "baseToken");
    json_object *sym = sense_child(bt, "symbol"), *nam = sense_child(bt, "name");
    if (m->ntokens >= SENSE_MAX_TOKENS || !sym || !json_object_is_type(sym, json_type_string))
        return;
    struct sense_token *tk = &m->tokens[m->ntokens++];
    json_object *url = sense_child(p, "url");
    sense_copy_text(tk->symbol, sizeof tk->symbol, json_object_get_string(sym));
    sense_copy_text(tk->name, sizeof tk->name,
                    nam && json_object_is_type(nam, json_type_string) ? json_object_get_string(nam) : "");
    sense_copy_text(tk->url, sizeof tk->url,
                    url && json_object_is_type(url, json_type_string) ? json_object_get_string(url) : "");
}

/* What the n tallies of an answer's pairs say: the values refused counted
 * in m and the first field refused named in m->refused_why; one refused
 * more often than read, in more than half of the pairs, makes the answer
 * nonsense and the source unhealthy: returns -1 with err, else 0. */
static int sense_tally_verdict(const struct sense_tally *t, int n, struct sense_market *m, char *err, size_t errlen)
{
    for (int k = 0; k < n; k++) {
        m->refused_values += t[k].refused;
        if (t[k].refused && !m->refused_why[0])
            snprintf(m->refused_why, sizeof m->refused_why, "%s refused in %d of %d pairs (%s%.6g)",
                     t[k].name, t[k].refused, t[k].refused + t[k].usable, sense_what(t[k].first_refused),
                     t[k].first_refused);
    }
    for (int k = 0; k < n; k++) {
        if (t[k].refused > t[k].usable && 2 * t[k].refused > m->pairs) {
            snprintf(err, errlen, "unexpected answer: %s refused in %d of %d pairs (%s%.6g)",
                     t[k].name, t[k].refused, t[k].refused + t[k].usable, sense_what(t[k].first_refused),
                     t[k].first_refused);
            return -1;
        }
    }
    return 0;
}

int sense_parse_dexscreener(const char *body, time_t now, struct sense_market *m, char *err, size_t errlen)
{
    m->crypto_valid = 0;
    m->pairs = 0;
    m->crypto_volatility = m->crypto_h1 = m->volume_m5_usd = 0;
    m->txns_m5 = 0;
    m->new_pairs_1h = 0;
    m->ntokens = 0;
    m->refused_values = 0;
    m->refused_why[0] = '\0';
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
    enum { T_M5, T_H1, T_VOL, T_BUYS, T_SELLS, T_CREATED, T_COUNT };
    struct sense_tally t[T_COUNT] = {
        [T_M5] = { .name = "priceChange.m5" }, [T_H1] = { .name = "priceChange.h1" },
        [T_VOL] = { .name = "volume.m5" }, [T_BUYS] = { .name = "txns.m5.buys" },
        [T_SELLS] = { .name = "txns.m5.sells" }, [T_CREATED] = { .name = "pairCreatedAt" },
    };
    double sum_m5 = 0, sum_h1 = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(pairs, i);
        if (!json_object_is_type(p, json_type_object))
            continue;
        m->pairs++;
        sense_pair_token(m, p);
        double d;
        json_object *pc = sense_child(p, "priceChange");
        if (sense_tally_read(&t[T_M5], pc, "m5", SENSE_PCT_MIN, SENSE_PCT_MAX, &d))
            sum_m5 += fabs(d);
        if (sense_tally_read(&t[T_H1], pc, "h1", SENSE_PCT_MIN, SENSE_PCT_MAX, &d))
            sum_h1 += fabs(d);
        if (sense_tally_read(&t[T_VOL], sense_child(p, "volume"), "m5", 0, SENSE_USD_MAX, &d))
            m->volume_m5_usd += d;
        json_object *tx = sense_child(sense_child(p, "txns"), "m5");
        /* whole counts of at most SENSE_COUNT_MAX: 200 pairs fit a long */
        if (sense_tally_read(&t[T_BUYS], tx, "buys", 0, SENSE_COUNT_MAX, &d))
            m->txns_m5 += (long)d;
        if (sense_tally_read(&t[T_SELLS], tx, "sells", 0, SENSE_COUNT_MAX, &d))
            m->txns_m5 += (long)d;
        if (sense_tally_read(&t[T_CREATED], p, "pairCreatedAt", 0, SENSE_TIME_MAX * 1000.0, &d)) {
            double age = (double)now - d / 1000.0;
            if (age >= -300 && age <= 3600)
                m->new_pairs_1h++;
        }
    }
    if (sense_tally_verdict(t, T_COUNT, m, err, errlen) < 0)
        goto out;
    m->crypto_volatility = t[T_M5].usable ? sum_m5 / t[T_M5].usable : 0;
    m->crypto_h1 = t[T_H1].usable ? sum_h1 / t[T_H1].usable : 0;
    m->crypto_valid = 1;
    rc = 0;
out:
    if (rc < 0) {
        m->crypto_volatility = m->crypto_h1 = m->volume_m5_usd = 0;
        m->txns_m5 = 0;
        m->new_pairs_1h = 0;
    }
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

/* Nonzero when s is exactly three letters A-Z (an ISO 4217 code, or XAU). */
static int sense_currency_ok(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return 0;
    return s[3] == '\0';
}

/* The provider's own message in an answer without quotes ("Invalid API
 * Key") helps, but it is text from outside going into /status and the LLM
 * prompt: only printable ASCII of it, at most cap - 1 bytes, "" when none. */
static void sense_provider_said(json_object *root, char *said, size_t cap)
{
    json_object *e = sense_child(root, "errors");
    json_object *msg = sense_child(e ? e : root, "message");
    size_t k = 0;
    if (msg && json_object_is_type(msg, json_type_string))
        for (const char *t = json_object_get_string(msg); *t && k < cap - 1; t++)
            said[k++] = (*t >= 0x20 && *t < 0x7f) ? *t : '?';
    said[k] = '\0';
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
        char said[101];
        sense_provider_said(root, said, sizeof said);
        snprintf(err, errlen, "unexpected answer: no quotes%s%s", said[0] ? ": " : "", said);
        goto out;
    }
    double ts, seen = 0;
    enum sense_val tv = sense_value(root, "timestamp", 0, SENSE_TIME_MAX, &ts, &seen);
    if (tv == SENSE_ABSENT) {
        snprintf(err, errlen, "unexpected answer: no timestamp");
        goto out;
    }
    if (tv == SENSE_REFUSED || ts > (double)now + SENSE_FUTURE_SECONDS) {
        snprintf(err, errlen, "unexpected answer: timestamp refused (%s%.6g)", tv == SENSE_REFUSED ? sense_what(seen) : "",
                 tv == SENSE_REFUSED ? seen : ts);
        goto out;
    }
    m->forex_stale = (double)now - ts > SENSE_STALE_SECONDS;
    size_t n = json_object_array_length(quotes);
    double move_sum = 0;
    int move_n = 0, refused = 0;
    char why[96] = "";
    for (size_t i = 0; i < n && m->nquotes < SENSE_MAX_QUOTES; i++) {
        json_object *q = json_object_array_get_idx(quotes, i);
        json_object *b = sense_child(q, "base_currency"), *qc = sense_child(q, "quote_currency");
        double mid;
        if (!b || !qc || !json_object_is_type(b, json_type_string) || !json_object_is_type(qc, json_type_string))
            continue;
        const char *bs = json_object_get_string(b), *qs = json_object_get_string(qc);
        if (!sense_currency_ok(bs) || !sense_currency_ok(qs)) {
            /* "EU\xc5" would reach the decision row and the prompt */
            if (refused++ == 0)
                snprintf(why, sizeof why, "a currency that is not three letters A-Z");
            continue;
        }
        enum sense_val mv = sense_value(q, "mid", SENSE_PRICE_MIN, SENSE_PRICE_MAX, &mid, &seen);
        if (mv != SENSE_USABLE) {
            if (mv == SENSE_REFUSED && refused++ == 0)
                snprintf(why, sizeof why, "mid refused (%s%.6g)", sense_what(seen), seen);
            continue;
        }
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
        snprintf(err, errlen, "unexpected answer: no usable quote%s%s", why[0] ? ": " : "", why);
        goto out;
    }
    m->forex_move_bp = move_n ? move_sum / move_n : -1;
    m->forex_valid = 1;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int sense_parse_pumpfun(const char *body, struct sense_market *m, char *err, size_t errlen)
{
    m->pumpfun_coins = 0;
    json_object *root = sense_parse_json(body, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    /* /coins/latest answers one coin, other lists an array of them */
    int one = json_object_is_type(root, json_type_object);
    if (!one && !json_object_is_type(root, json_type_array)) {
        snprintf(err, errlen, "unexpected answer: neither a coin nor a list of coins");
        goto out;
    }
    size_t n = one ? 1 : json_object_array_length(root);
    int coins = 0, refused = 0;
    double seen = 0, first = 0;
    for (size_t i = 0; i < n && i < SENSE_MAX_COINS; i++) {
        json_object *c = one ? root : json_object_array_get_idx(root, i), *mint = sense_child(c, "mint");
        if (!mint || !json_object_is_type(mint, json_type_string))
            continue;
        double d;
        if (sense_value(c, "usd_market_cap", 0, SENSE_USD_MAX, &d, &seen) == SENSE_REFUSED ||
            sense_value(c, "created_timestamp", 0, SENSE_TIME_MAX * 1000.0, &d, &seen) == SENSE_REFUSED) {
            if (refused++ == 0)
                first = seen;
            continue;
        }
        coins++;
    }
    if (refused > coins) {
        snprintf(err, errlen, "unexpected answer: numbers refused in %d of %d coins (%s%.6g)", refused,
                 refused + coins, sense_what(first), first);
        goto out;
    }
    if (coins == 0 && n > 0) {
        snprintf(err, errlen, "unexpected answer: no coin with a mint");
        goto out;
    }
    m->pumpfun_coins = coins;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int sense_parse_birdeye(const char *body, struct sense_market *m, char *err, size_t errlen)
{
    m->sol_usd = 0;
    json_object *root = sense_parse_json(body, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    json_object *ok = sense_child(root, "success"), *data = sense_child(root, "data");
    if (!ok || !json_object_is_type(ok, json_type_boolean) || !json_object_get_boolean(ok)) {
        json_object *msg = sense_child(root, "message");
        char said[81];
        sense_copy_text(said, sizeof said,
                        msg && json_object_is_type(msg, json_type_string) ? json_object_get_string(msg) : "");
        snprintf(err, errlen, "unexpected answer: success is not true%s%s", said[0] ? ": " : "", said);
        goto out;
    }
    double v, seen = 0;
    enum sense_val r = sense_value(data, "value", SENSE_PRICE_MIN, SENSE_PRICE_MAX, &v, &seen);
    if (r == SENSE_ABSENT) {
        snprintf(err, errlen, "unexpected answer: no data.value");
        goto out;
    }
    if (r == SENSE_REFUSED) {
        snprintf(err, errlen, "unexpected answer: data.value refused (%s%.6g)", sense_what(seen), seen);
        goto out;
    }
    m->sol_usd = v;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

double sense_parse_loadavg(const char *text)
{
    char *end;
    double d = strtod(text, &end);
    if (end == text || !isfinite(d) || d < 0 || d > 1e6)
        return -1;
    return d;
}
