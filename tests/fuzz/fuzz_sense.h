/* fuzz_sense: checks shared by the market-source harnesses. */
#ifndef FUZZ_SENSE_H
#define FUZZ_SENSE_H

#include <math.h>

#include "fuzz.h"
#include "sense.h"

#define FUZZ_NOW 1770818400

/* Everything a parser left in m is finite, in bounds and clean text, and
 * the decision's inputs built from it are JSON that PostgreSQL accepts. */
static inline void fuzz_sense_check(const struct sense_market *m)
{
    FUZZ_CHECK(isfinite(m->crypto_volatility) && m->crypto_volatility >= 0 && m->crypto_volatility <= SENSE_PCT_MAX);
    FUZZ_CHECK(isfinite(m->crypto_h1) && m->crypto_h1 >= 0 && m->crypto_h1 <= SENSE_PCT_MAX);
    FUZZ_CHECK(isfinite(m->volume_m5_usd) && m->volume_m5_usd >= 0);
    FUZZ_CHECK(m->txns_m5 >= 0);
    FUZZ_CHECK(m->ntokens >= 0 && m->ntokens <= SENSE_MAX_TOKENS);
    for (int i = 0; i < m->ntokens; i++)
        FUZZ_CHECK(fuzz_utf8_ok(m->tokens[i].symbol) && fuzz_utf8_ok(m->tokens[i].name) &&
                   fuzz_utf8_ok(m->tokens[i].url));
    FUZZ_CHECK(m->nprofiles >= 0 && m->nprofiles <= SENSE_MAX_PROFILES);
    for (int i = 0; i < m->nprofiles; i++)
        FUZZ_CHECK(fuzz_utf8_ok(m->profiles[i].chain) && fuzz_utf8_ok(m->profiles[i].description) &&
                   fuzz_utf8_ok(m->profiles[i].link));
    FUZZ_CHECK(m->nquotes >= 0 && m->nquotes <= SENSE_MAX_QUOTES);
    for (int i = 0; i < m->nquotes; i++) {
        FUZZ_CHECK(strlen(m->quotes[i].pair) == 6 && fuzz_text_ok(m->quotes[i].pair));
        FUZZ_CHECK(isfinite(m->quotes[i].mid) && m->quotes[i].mid >= SENSE_PRICE_MIN &&
                   m->quotes[i].mid <= SENSE_PRICE_MAX);
    }
    FUZZ_CHECK(isfinite(m->forex_move_bp));
    FUZZ_CHECK(isfinite(m->sol_usd) && m->sol_usd >= 0 && m->sol_usd <= SENSE_PRICE_MAX);
    FUZZ_CHECK(m->pumpfun_coins >= 0);
    FUZZ_CHECK(fuzz_text_ok(m->refused_why));

    struct sense_snapshot snap;
    memset(&snap, 0, sizeof snap);
    snap.now = FUZZ_NOW;
    snap.market = *m;
    snap.market.volatility = m->crypto_volatility;
    json_object *j = sense_to_json(&snap);
    FUZZ_CHECK(j && fuzz_json_ok(j));
    json_object_put(j);
}

/* An error message of a parser: it becomes the source's health reason. */
static inline void fuzz_sense_err(const char *err)
{
    FUZZ_CHECK(err[0] != '\0' && fuzz_text_ok(err));
}

#endif
