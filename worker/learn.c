/* learn: baselines, posteriors, Thompson sampling and learned intervals; see learn.h.
 * The distributions are in learn_math.c, the saved state in learn_state.c, the
 * summary in learn_summary.c. */
#include "config.h"
#include "learn.h"
#include "learn_math.h"
#include "catalog.h"
#include "sense.h"

#include <math.h>
#include <string.h>

/* Readings weigh by the time they stand for (so that frequent decisions in
 * busy times do not bias the baseline), at most this much. */
#define LEARN_MAX_READING_WEIGHT_S 3600.0
/* A baseline needs this much evidence (in scan windows) before ratios count. */
#define LEARN_MIN_BASELINE_WEIGHT 4.0
#define LEARN_MAX_SPELL_MIN (24.0 * 60.0)

static const char *const learn_bucket_names[LEARN_BUCKET_COUNT] = {
    "sydney", "sydney_tokyo", "tokyo", "tokyo_london", "london",
    "london_newyork", "newyork", "off_hours", "closed",
};

double learn_cost_factor(int intensity)
{
    switch (intensity) {
    case INTENSITY_AGGRESSIVE: return 2.0;
    case INTENSITY_LIGHT:      return 0.5;
    default:                   return 1.0;
    }
}

const char *learn_market_name(int m)
{
    return m == LEARN_CRYPTO ? "crypto" : m == LEARN_FOREX ? "forex" : "unknown";
}

const char *learn_band_name(int b)
{
    static const char *const names[LEARN_BAND_COUNT] = { "quiet", "usual", "elevated", "high" };
    return b >= 0 && b < LEARN_BAND_COUNT ? names[b] : "unknown";
}

int learn_bucket(const char *label)
{
    for (int b = 0; label && b < LEARN_BUCKET_COUNT; b++)
        if (strcmp(label, learn_bucket_names[b]) == 0)
            return b;
    return 7;   /* off_hours */
}

const char *learn_bucket_name(int b)
{
    return b >= 0 && b < LEARN_BUCKET_COUNT ? learn_bucket_names[b] : "unknown";
}

void learn_ctx_indices(const char *band, const char *session, int *b, int *bucket)
{
    *b = -1;
    for (int k = 0; band && *band && k < LEARN_BAND_COUNT; k++)
        if (strcmp(band, learn_band_name(k)) == 0)
            *b = k;
    *bucket = session && *session ? learn_bucket(session) : -1;
}

int learn_band_of(double r)
{
    if (!(r >= LEARN_BAND_USUAL))
        return LEARN_QUIET;
    if (r < LEARN_BAND_ELEVATED)
        return LEARN_USUAL;
    if (r < LEARN_BAND_HIGH)
        return LEARN_ELEVATED;
    return LEARN_HIGH;
}

void learn_init(struct learn *l, const struct cfg *c)
{
    memset(l, 0, sizeof *l);
    l->seed = (unsigned long long)c->learn_seed;
    l->half_life_s = c->learn_half_life_hours * 3600.0;
    l->run_cost = c->learn_run_cost;
    l->epsilon = c->learn_epsilon;
    l->max_stale_s = c->learn_max_stale_minutes * 60;
    l->window_s = c->learn_window_minutes * 60;
    l->cycle_dt = (double)l->window_s;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        l->m[m].ratio = 1;
        l->m[m].band = LEARN_USUAL;
        l->m[m].exposure = 1;
        l->m[m].elevated = -1;
        l->m[m].bucket = 7;
    }
}

/* ---- priors, yield and cost ----------------------------------------------------- */

/* The Gamma prior of an arm: a run of intensity i finds cost_factor(i)
 * opportunities per window (it just pays for itself while nothing is
 * known), with the weight of one full window of evidence. */
static double learn_prior_shape(const struct learn *l, int i)
{
    (void)l;
    return learn_cost_factor(i);
}
#define LEARN_PRIOR_RATE 1.0

double learn_yield(const struct learn *l, int m, time_t now)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT)
        return 1;
    const struct learn_market_state *s = &l->m[m];
    double tot = 0, y = 0;
    for (int b = 0; b < LEARN_BAND_COUNT; b++) {
        if (!(s->occ[b] > 0))
            continue;
        struct learn_arm a = s->arm[b][INTENSITY_NORMAL];
        learn_math_arm_decay(&a, l->half_life_s, now);
        double p = (1 + a.ok) / (2 + a.ok + a.fail);
        y += s->occ[b] * p * (learn_prior_shape(l, INTENSITY_NORMAL) + a.opps) / (LEARN_PRIOR_RATE + a.exposure);
        tot += s->occ[b];
    }
    return tot > 0 ? y / tot : 1;
}

double learn_cost(const struct learn *l, int m, int intensity, time_t now)
{
    return l->run_cost * learn_cost_factor(intensity) * learn_yield(l, m, now);
}

/* ---- sensing ---------------------------------------------------------------- */

/* The spell of market s changes (or starts): record the one that ended. */
static void learn_spell(struct learn *l, struct learn_market_state *s, int elevated, time_t now)
{
    if (s->elevated == elevated)
        return;
    if (s->elevated >= 0 && s->spell_since > 0 && now > s->spell_since) {
        double minutes = (double)(now - s->spell_since) / 60.0;
        if (minutes > LEARN_MAX_SPELL_MIN)
            minutes = LEARN_MAX_SPELL_MIN;
        struct learn_spell *sp = &s->spell[s->spell_bucket];
        learn_math_stat_add(s->elevated ? &sp->elevated : &sp->quiet, l->half_life_s, minutes, 1.0, now);
    }
    s->elevated = elevated;
    s->spell_since = now;
    s->spell_bucket = s->bucket;
}

/* Fold one reading (normalised to a 5-minute move) into market m. */
static void learn_reading(struct learn *l, int m, double x, time_t now)
{
    struct learn_market_state *s = &l->m[m];
    double dt = s->sensed_at > 0 && now > s->sensed_at ? (double)(now - s->sensed_at) : (double)l->window_s;
    if (dt > LEARN_MAX_READING_WEIGHT_S)
        dt = LEARN_MAX_READING_WEIGHT_S;
    double wx = dt / (double)l->window_s;
    learn_math_stat_add(&s->baseline[s->bucket], l->half_life_s, x, wx, now);
    learn_math_stat_add(&s->overall, l->half_life_s, x, wx, now);
    /* smoothing over a third of a scan window */
    double tau = (double)l->window_s / 3.0;
    if (!s->valid || s->sensed_at == 0 || dt >= 3 * l->window_s)
        s->smooth = x;
    else
        s->smooth += (1.0 - exp(-dt / tau)) * (x - s->smooth);
    s->reading = x;
    s->valid = 1;
    if (s->overall.w >= LEARN_MIN_BASELINE_WEIGHT && s->overall.mean > 0) {
        double r = s->smooth / s->overall.mean;
        double ri = x / s->overall.mean;
        s->ratio = ri > r ? ri : r;   /* a jump counts at once, a calm decays */
    } else {
        s->ratio = 1;
    }
    s->band = learn_band_of(s->ratio);
    learn_spell(l, s, s->ratio >= LEARN_BAND_ELEVATED, now);
    /* time in each band (the reading stands for the time since the last) */
    double f = learn_math_decay(l->half_life_s, s->occ_at, now);
    for (int b = 0; b < LEARN_BAND_COUNT; b++)
        s->occ[b] *= f;
    s->occ[s->band] += dt;
    s->occ_at = now;
}

void learn_sense(struct learn *l, const struct sense_snapshot *snap)
{
    time_t now = snap->now;
    double gap = l->prev_cycle_at > 0 && now > l->prev_cycle_at ? (double)(now - l->prev_cycle_at) : (double)l->window_s;
    l->cycle_dt = gap < (double)l->max_stale_s ? gap : (double)l->max_stale_s;
    if (now > l->prev_cycle_at)
        l->prev_cycle_at = now;
    int bucket = learn_bucket(snap->session_label);
    const struct sense_market *mk = &snap->market;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++)
        l->m[m].bucket = bucket;

    struct learn_market_state *c = &l->m[LEARN_CRYPTO];
    const struct sense_probe *dex = &snap->probes[FEED_DEXSCREENER];
    if (dex->configured && dex->ok && mk->crypto_valid && isfinite(mk->crypto_volatility) && mk->crypto_volatility >= 0) {
        learn_reading(l, LEARN_CRYPTO, mk->crypto_volatility, now);
        c->sensed_at = now;
    } else {
        c->valid = 0;
    }

    /* forex: the move since the previous reading, scaled to 5 minutes as
     * a random walk scales (sqrt of time) */
    struct learn_market_state *f = &l->m[LEARN_FOREX];
    if (mk->forex_valid && !mk->forex_stale) {
        double dt = f->sensed_at > 0 && now > f->sensed_at ? (double)(now - f->sensed_at) : 0;
        if (mk->forex_move_bp >= 0 && dt >= 30 && isfinite(mk->forex_move_bp))
            learn_reading(l, LEARN_FOREX, mk->forex_move_bp * sqrt(300.0 / dt), now);
        f->sensed_at = now;
    } else {
        f->valid = 0;
        f->sensed_at = 0;    /* the next move is measured from a fresh quote */
    }

    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        struct learn_market_state *s = &l->m[m];
        if (!s->valid) {
            s->ratio = 1;
            s->band = LEARN_USUAL;
        }
        if (s->last_scan_at <= 0 || now - s->last_scan_at >= l->window_s)
            s->exposure = 1;
        else
            s->exposure = now > s->last_scan_at ? (double)(now - s->last_scan_at) / (double)l->window_s : 0;
    }
}

void learn_observe(struct learn *l, int m, int band, int bucket, int intensity, int success, int opportunities,
                   double exposure, time_t at)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT || band < 0 || band >= LEARN_BAND_COUNT ||
        intensity < 0 || intensity >= LEARN_ARM_COUNT)
        return;
    learn_math_arm_add(&l->m[m].arm[band][intensity], l->half_life_s, success, opportunities, exposure, at);
    if (bucket >= 0 && bucket < LEARN_BUCKET_COUNT)
        learn_math_arm_add(&l->m[m].sarm[bucket][intensity], l->half_life_s, success, opportunities, exposure, at);
    l->nobs++;
}

void learn_note_scan(struct learn *l, int m, time_t at)
{
    if (m >= 0 && m < LEARN_MARKET_COUNT && at > l->m[m].last_scan_at)
        l->m[m].last_scan_at = at;
}

/* ---- posteriors and choices --------------------------------------------------- */

/* Arm (m, b, i) decayed to now, in a copy. */
static struct learn_arm learn_arm_at(const struct learn *l, int m, int b, int i, time_t now)
{
    struct learn_arm a = l->m[m].arm[b][i];
    learn_math_arm_decay(&a, l->half_life_s, now);
    return a;
}

void learn_posterior(const struct learn *l, int m, int b, int i, time_t now, struct learn_post *out)
{
    learn_math_arm_posterior(l->m[m].arm[b][i], l->half_life_s, learn_prior_shape(l, i), LEARN_PRIOR_RATE, now,
                             out);
}

void learn_session_posterior(const struct learn *l, int m, int bucket, int i, time_t now, struct learn_post *out)
{
    learn_math_arm_posterior(l->m[m].sarm[bucket][i], l->half_life_s, learn_prior_shape(l, i), LEARN_PRIOR_RATE,
                             now, out);
}

static unsigned long long learn_key(const struct learn *l, int m, time_t now)
{
    unsigned long long k = l->seed * 0x9E3779B97F4A7C15ULL;
    k ^= (unsigned long long)now * 0xD1B54A32D192ED03ULL;
    k ^= (unsigned long long)l->nobs * 0x8CB92BA72F3D8DD7ULL;
    k ^= (unsigned long long)(m + 1) * 0xA0761D6478BD642FULL;
    learn_math_next(&k);
    return k;
}

/* One decision step: how far ahead of a window's end the next scan starts. */
static long learn_step(const struct learn *l)
{
    return l->window_s / 10 > 1 ? l->window_s / 10 : 1;
}

int learn_choose(const struct learn *l, int m, const int allowed[LEARN_ARM_COUNT], time_t now,
                 const char **why, double *value)
{
    return learn_choose_cost(l, m, allowed, NULL, now, why, value);
}

int learn_choose_cost(const struct learn *l, int m, const int allowed[LEARN_ARM_COUNT],
                      const double cost[LEARN_ARM_COUNT], time_t now, const char **why, double *value)
{
    *why = "skip";
    *value = 0;
    if (m < 0 || m >= LEARN_MARKET_COUNT)
        return -1;
    const struct learn_market_state *s = &l->m[m];
    int nallowed = 0;
    for (int i = 0; i < LEARN_ARM_COUNT; i++)
        nallowed += allowed[i] != 0;
    if (nallowed == 0)
        return -1;
    unsigned long long key = learn_key(l, m, now);

    /* Thompson: one draw per arm of success and opportunities; the value
     * of watching the market for a full window in its current band */
    int best = -1;
    double best_v = -1e300;
    for (int i = 0; i < LEARN_ARM_COUNT; i++) {
        if (!allowed[i])
            continue;
        struct learn_arm a = learn_arm_at(l, m, s->band, i, now);
        double p = learn_math_sample_beta(&key, 1 + a.ok, 1 + a.fail);
        double lam = learn_math_sample_gamma(&key, learn_prior_shape(l, i) + a.opps, LEARN_PRIOR_RATE + a.exposure);
        double v = p * lam - learn_cost(l, m, i, now) * (cost ? cost[i] : 1.0);
        if (v > best_v) {
            best_v = v;
            best = i;
        }
    }
    *value = best_v;
    double u = learn_math_uniform(&key);
    if (s->last_scan_at <= 0) {
        *why = "first";
        return best;
    }
    if (now - s->last_scan_at >= l->max_stale_s) {
        *why = "stale";
        return best;
    }
    /* worth watching: keep it watched without gaps -- the next scan starts
     * when the previous one's window is within one decision step of its end */
    if (best_v > 0) {
        if (now - s->last_scan_at >= l->window_s - learn_step(l)) {
            *why = "thompson";
            return best;
        }
        *why = "watched";
        return -1;
    }
    /* exploration: LEARN_EPSILON per window of market time (not per
     * decision), only when most of a window is unwatched */
    double pe = l->epsilon >= 1 ? 1 : 1 - pow(1 - l->epsilon, l->cycle_dt / (double)l->window_s);
    if (u < pe && s->exposure >= 0.5) {
        int k = (int)(learn_math_uniform(&key) * nallowed);
        for (int i = 0; i < LEARN_ARM_COUNT; i++) {
            if (allowed[i] && k-- == 0) {
                *why = "explore";
                return i;
            }
        }
    }
    return -1;
}

double learn_spell_minutes(const struct learn *l, int m, int b, int elevated)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT || b < 0 || b >= LEARN_BUCKET_COUNT)
        return (double)l->window_s / 60.0;
    const struct learn_stat *st = elevated ? &l->m[m].spell[b].elevated : &l->m[m].spell[b].quiet;
    /* prior: one scan window, with the weight of one spell */
    double prior = (double)l->window_s / 60.0;
    return (st->w * st->mean + prior) / (st->w + 1);
}

void learn_note_health(struct learn *l, time_t at)
{
    if (at > l->last_health_at)
        l->last_health_at = at;
}

long learn_next_seconds(const struct learn *l, int m, time_t now, int scanning)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT)
        return l->window_s;
    const struct learn_market_state *s = &l->m[m];
    time_t last = scanning ? now : s->last_scan_at;
    long w = l->window_s, step = learn_step(l);
    /* is the current band worth watching (posterior means)? */
    int pays = 0;
    for (int i = 0; i < LEARN_ARM_COUNT && !pays; i++) {
        struct learn_arm a = learn_arm_at(l, m, s->band, i, now);
        double p = (1 + a.ok) / (2 + a.ok + a.fail);
        double lam = (learn_prior_shape(l, i) + a.opps) / (LEARN_PRIOR_RATE + a.exposure);
        pays = p * lam > learn_cost(l, m, i, now);
    }
    long next;
    if (pays) {
        /* when the watch must be renewed, and at least every third of a window */
        next = last > 0 ? (long)(last + w - step - now) : step;
        if (next < step)
            next = step;
        if (next > w / 3)
            next = w / 3;
    } else {
        /* quiet: look four times per typical elevated spell of this session */
        next = (long)(learn_spell_minutes(l, m, s->bucket, 1) * 60.0 / 4.0);
    }
    if (last > 0) {
        long stale = (long)(last + l->max_stale_s - now);
        if (stale < next)
            next = stale;
    }
    return next > 1 ? next : 1;
}
