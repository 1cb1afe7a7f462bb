/* learn: baselines, posteriors, Thompson sampling and learned intervals; see learn.h. */
#include "config.h"
#include "learn.h"
#include "learn_wf.h"
#include "catalog.h"
#include "sense.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LEARN_STATE_VERSION 2
#define LEARN_LN2 0.69314718055994530942
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

/* ---- decayed statistics --------------------------------------------------- */

static double learn_decay_factor(const struct learn *l, time_t from, time_t to)
{
    if (from == 0 || to <= from || l->half_life_s <= 0)
        return 1.0;
    return exp(-LEARN_LN2 * (double)(to - from) / l->half_life_s);
}

static void learn_stat_decay(const struct learn *l, struct learn_stat *s, time_t now)
{
    double f = learn_decay_factor(l, s->at, now);
    s->w *= f;
    s->m2 *= f;
    if (now > s->at)
        s->at = now;
}

/* Add x with weight wx after decaying to now (West's weighted update). */
static void learn_stat_add(const struct learn *l, struct learn_stat *s, double x, double wx, time_t now)
{
    if (!isfinite(x) || !(wx > 0))
        return;
    learn_stat_decay(l, s, now);
    double w = s->w + wx;
    double d = x - s->mean;
    double r = d * wx / w;
    s->mean += r;
    s->m2 += s->w * d * r;
    s->w = w;
}

static double learn_stat_sd(const struct learn_stat *s)
{
    return s->w > 0 && s->m2 > 0 ? sqrt(s->m2 / s->w) : 0;
}

static void learn_arm_decay(const struct learn *l, struct learn_arm *a, time_t now)
{
    double f = learn_decay_factor(l, a->at, now);
    a->ok *= f;
    a->fail *= f;
    a->opps *= f;
    a->exposure *= f;
    a->runs *= f;
    if (now > a->at)
        a->at = now;
}

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
        learn_arm_decay(l, &a, now);
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
        learn_stat_add(l, s->elevated ? &sp->elevated : &sp->quiet, minutes, 1.0, now);
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
    learn_stat_add(l, &s->baseline[s->bucket], x, wx, now);
    learn_stat_add(l, &s->overall, x, wx, now);
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
    double f = learn_decay_factor(l, s->occ_at, now);
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

/* Fold one outcome into arm a (see learn_observe). */
static void learn_arm_add(const struct learn *l, struct learn_arm *a, int success, int opportunities,
                          double exposure, time_t at)
{
    learn_arm_decay(l, a, at);
    if (success == 1)
        a->ok += 1;
    else if (success == 0)
        a->fail += 1;
    if (opportunities >= 0 && exposure > 0) {
        a->opps += opportunities;
        a->exposure += exposure > 1 ? 1 : exposure;
        a->runs += 1;
    }
}

void learn_observe(struct learn *l, int m, int band, int bucket, int intensity, int success, int opportunities,
                   double exposure, time_t at)
{
    if (m < 0 || m >= LEARN_MARKET_COUNT || band < 0 || band >= LEARN_BAND_COUNT ||
        intensity < 0 || intensity >= LEARN_ARM_COUNT)
        return;
    learn_arm_add(l, &l->m[m].arm[band][intensity], success, opportunities, exposure, at);
    if (bucket >= 0 && bucket < LEARN_BUCKET_COUNT)
        learn_arm_add(l, &l->m[m].sarm[bucket][intensity], success, opportunities, exposure, at);
    l->nobs++;
}

void learn_note_scan(struct learn *l, int m, time_t at)
{
    if (m >= 0 && m < LEARN_MARKET_COUNT && at > l->m[m].last_scan_at)
        l->m[m].last_scan_at = at;
}

/* ---- distributions ------------------------------------------------------------ */

/* Continued fraction of the incomplete beta function (Lentz). */
static double learn_betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-14)
            break;
    }
    return h;
}

/* Regularised incomplete beta I_x(a, b). */
static double learn_ibeta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * learn_betacf(a, b, x) / a;
    return 1 - exp(lbt) * learn_betacf(b, a, 1 - x) / b;
}

/* Regularised lower incomplete gamma P(a, x). */
static double learn_igamma(double a, double x)
{
    if (x <= 0)
        return 0;
    double gln = lgamma(a);
    if (x < a + 1) {
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 1000; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-15)
                break;
        }
        return sum * exp(-x + a * log(x) - gln);
    }
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 1000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return 1 - exp(-x + a * log(x) - gln) * h;
}

/* Bisection stops when the bracket is this narrow relative to the value
 * (far below the 0.001 the summaries show). */
#define LEARN_QUANTILE_TOL 1e-10

/* The quantiles that every decision's inputs summarise repeat from one
 * decision to the next (an arm without evidence has the same posterior
 * every time: about 60 % of them over a replayed year): the last answers
 * are kept, per thread, by their exact arguments (a pure function: the
 * same bits in, the same bits out). */
#define LEARN_MEMO_SLOTS 256
struct learn_memo {
    double a, b, q, v;
    int used;
};
static _Thread_local struct learn_memo learn_memo[2][LEARN_MEMO_SLOTS];

/* The slot of (a, b, q) in memo table k, from their bits. */
static struct learn_memo *learn_memo_slot(int k, double a, double b, double q)
{
    unsigned long long x[3], h = 0xcbf29ce484222325ULL;
    memcpy(&x[0], &a, sizeof a);
    memcpy(&x[1], &b, sizeof b);
    memcpy(&x[2], &q, sizeof q);
    for (int i = 0; i < 3; i++)
        h = (h ^ x[i]) * 0x100000001b3ULL;
    return &learn_memo[k][(h ^ (h >> 29)) % LEARN_MEMO_SLOTS];
}

static double learn_beta_quantile_calc(double a, double b, double q)
{
    double lo = 0, hi = 1;
    for (int i = 0; i < 100 && hi - lo > LEARN_QUANTILE_TOL; i++) {
        double mid = (lo + hi) / 2;
        if (learn_ibeta(a, b, mid) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

static double learn_gamma_quantile_calc(double shape, double rate, double q)
{
    double hi = shape + 10 * sqrt(shape) + 10;
    while (learn_igamma(shape, hi) < q && hi < 1e12)
        hi *= 2;
    double lo = 0;
    for (int i = 0; i < 200 && hi - lo > LEARN_QUANTILE_TOL * (hi > 1 ? hi : 1); i++) {
        double mid = (lo + hi) / 2;
        if (learn_igamma(shape, mid) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2 / rate;
}

/* Quantile k (0 beta, 1 gamma) of (a, b) at q, remembered. */
static double learn_quantile(int k, double a, double b, double q)
{
    struct learn_memo *m = learn_memo_slot(k, a, b, q);
    if (m->used && memcmp(&m->a, &a, sizeof a) == 0 && memcmp(&m->b, &b, sizeof b) == 0 &&
        memcmp(&m->q, &q, sizeof q) == 0)
        return m->v;
    double v = k ? learn_gamma_quantile_calc(a, b, q) : learn_beta_quantile_calc(a, b, q);
    *m = (struct learn_memo){ a, b, q, v, 1 };
    return v;
}

double learn_beta_quantile(double a, double b, double q) { return learn_quantile(0, a, b, q); }
double learn_gamma_quantile(double shape, double rate, double q) { return learn_quantile(1, shape, rate, q); }

/* splitmix64: the next 64 bits of the stream keyed by *key. */
static unsigned long long learn_next(unsigned long long *key)
{
    unsigned long long z = (*key += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double learn_uniform(unsigned long long *key)
{
    return (double)(learn_next(key) >> 11) * (1.0 / 9007199254740992.0);
}

static double learn_normal(unsigned long long *key)
{
    double u1 = learn_uniform(key), u2 = learn_uniform(key);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

double learn_sample_gamma(unsigned long long *key, double shape, double rate)
{
    if (!(shape > 0) || !(rate > 0))
        return 0;
    if (shape < 1) {
        double u = learn_uniform(key);
        return learn_sample_gamma(key, shape + 1, rate) * pow(u > 1e-300 ? u : 1e-300, 1 / shape);
    }
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (int i = 0; i < 1000; i++) {
        double x = learn_normal(key), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = learn_uniform(key);
        if (u < 1 - 0.0331 * x * x * x * x || log(u > 1e-300 ? u : 1e-300) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v / rate;
    }
    return shape / rate;
}

double learn_sample_beta(unsigned long long *key, double a, double b)
{
    double x = learn_sample_gamma(key, a, 1), y = learn_sample_gamma(key, b, 1);
    return x + y > 0 ? x / (x + y) : 0.5;
}

/* ---- posteriors and choices --------------------------------------------------- */

/* Arm (m, b, i) decayed to now, in a copy. */
static struct learn_arm learn_arm_at(const struct learn *l, int m, int b, int i, time_t now)
{
    struct learn_arm a = l->m[m].arm[b][i];
    learn_arm_decay(l, &a, now);
    return a;
}

/* The posterior of arm a (intensity i), decayed to now, into *out. */
static void learn_arm_posterior(const struct learn *l, struct learn_arm a, int i, time_t now, struct learn_post *out)
{
    learn_arm_decay(l, &a, now);
    double pa = 1 + a.ok, pb = 1 + a.fail;
    double ga = learn_prior_shape(l, i) + a.opps, gb = LEARN_PRIOR_RATE + a.exposure;
    out->p_mean = pa / (pa + pb);
    out->p_lo = learn_beta_quantile(pa, pb, 0.05);
    out->p_hi = learn_beta_quantile(pa, pb, 0.95);
    out->lam_mean = ga / gb;
    out->lam_lo = learn_gamma_quantile(ga, gb, 0.05);
    out->lam_hi = learn_gamma_quantile(ga, gb, 0.95);
    out->runs = a.runs;
}

void learn_posterior(const struct learn *l, int m, int b, int i, time_t now, struct learn_post *out)
{
    learn_arm_posterior(l, l->m[m].arm[b][i], i, now, out);
}

void learn_session_posterior(const struct learn *l, int m, int bucket, int i, time_t now, struct learn_post *out)
{
    learn_arm_posterior(l, l->m[m].sarm[bucket][i], i, now, out);
}

static unsigned long long learn_key(const struct learn *l, int m, time_t now)
{
    unsigned long long k = l->seed * 0x9E3779B97F4A7C15ULL;
    k ^= (unsigned long long)now * 0xD1B54A32D192ED03ULL;
    k ^= (unsigned long long)l->nobs * 0x8CB92BA72F3D8DD7ULL;
    k ^= (unsigned long long)(m + 1) * 0xA0761D6478BD642FULL;
    learn_next(&k);
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
        double p = learn_sample_beta(&key, 1 + a.ok, 1 + a.fail);
        double lam = learn_sample_gamma(&key, learn_prior_shape(l, i) + a.opps, LEARN_PRIOR_RATE + a.exposure);
        double v = p * lam - learn_cost(l, m, i, now) * (cost ? cost[i] : 1.0);
        if (v > best_v) {
            best_v = v;
            best = i;
        }
    }
    *value = best_v;
    double u = learn_uniform(&key);
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
        int k = (int)(learn_uniform(&key) * nallowed);
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

/* ---- JSON ---------------------------------------------------------------------- */

/* d rounded to 6 decimals for the stored state.  Never a non-finite
 * number (json-c would print Infinity or NaN, which PostgreSQL refuses):
 * a non-finite d is stored as 0, and one too large to round (|d| * 1e6
 * beyond a double) as it is. */
static json_object *learn_num(double d)
{
    if (!isfinite(d))
        d = 0;
    double r = round(d * 1e6) / 1e6;
    return json_object_new_double(isfinite(r) ? r : d);
}

static json_object *learn_stat_json(const struct learn_stat *s)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, learn_num(s->w));
    json_object_array_add(a, learn_num(s->mean));
    json_object_array_add(a, learn_num(s->m2));
    json_object_array_add(a, json_object_new_int64((long long)s->at));
    return a;
}

static double learn_get_num(json_object *a, size_t i)
{
    json_object *v = a && json_object_is_type(a, json_type_array) ? json_object_array_get_idx(a, i) : NULL;
    double d = v ? json_object_get_double(v) : 0;
    return isfinite(d) ? d : 0;
}

static int learn_stat_parse(json_object *a, struct learn_stat *s)
{
    if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) != 4)
        return -1;
    s->w = learn_get_num(a, 0);
    s->mean = learn_get_num(a, 1);
    s->m2 = learn_get_num(a, 2);
    s->at = (time_t)json_object_get_int64(json_object_array_get_idx(a, 3));
    return s->w >= 0 && s->m2 >= 0 ? 0 : -1;
}

static json_object *learn_field(json_object *o, const char *k)
{
    json_object *v = NULL;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* An arm as [ok, fail, opps, exposure, runs, at]. */
static json_object *learn_arm_json(const struct learn_arm *a)
{
    json_object *v = json_object_new_array();
    json_object_array_add(v, learn_num(a->ok));
    json_object_array_add(v, learn_num(a->fail));
    json_object_array_add(v, learn_num(a->opps));
    json_object_array_add(v, learn_num(a->exposure));
    json_object_array_add(v, learn_num(a->runs));
    json_object_array_add(v, json_object_new_int64((long long)a->at));
    return v;
}

/* n groups of LEARN_ARM_COUNT arms as an array of arrays. */
static json_object *learn_arms_json(const struct learn_arm (*arms)[LEARN_ARM_COUNT], int n)
{
    json_object *all = json_object_new_array();
    for (int b = 0; b < n; b++) {
        json_object *group = json_object_new_array();
        for (int i = 0; i < LEARN_ARM_COUNT; i++)
            json_object_array_add(group, learn_arm_json(&arms[b][i]));
        json_object_array_add(all, group);
    }
    return all;
}

/* Parse what learn_arms_json made (n groups) into arms.  Returns 0 or -1. */
static int learn_arms_parse(json_object *all, struct learn_arm (*arms)[LEARN_ARM_COUNT], int n)
{
    if (!all || !json_object_is_type(all, json_type_array) || json_object_array_length(all) != (size_t)n)
        return -1;
    for (int b = 0; b < n; b++) {
        json_object *group = json_object_array_get_idx(all, (size_t)b);
        if (!group || !json_object_is_type(group, json_type_array) || json_object_array_length(group) != LEARN_ARM_COUNT)
            return -1;
        for (int i = 0; i < LEARN_ARM_COUNT; i++) {
            json_object *a = json_object_array_get_idx(group, (size_t)i);
            if (!a || !json_object_is_type(a, json_type_array) || json_object_array_length(a) != 6)
                return -1;
            struct learn_arm *arm = &arms[b][i];
            arm->ok = learn_get_num(a, 0);
            arm->fail = learn_get_num(a, 1);
            arm->opps = learn_get_num(a, 2);
            arm->exposure = learn_get_num(a, 3);
            arm->runs = learn_get_num(a, 4);
            arm->at = (time_t)json_object_get_int64(json_object_array_get_idx(a, 5));
            if (arm->ok < 0 || arm->fail < 0 || arm->opps < 0 || arm->exposure < 0 || arm->runs < 0)
                return -1;
        }
    }
    return 0;
}

json_object *learn_to_json(const struct learn *l)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_int(LEARN_STATE_VERSION));
    json_object_object_add(root, "nobs", json_object_new_int64(l->nobs));
    json_object_object_add(root, "last_health_at", json_object_new_int64((long long)l->last_health_at));
    json_object_object_add(root, "prev_cycle_at", json_object_new_int64((long long)l->prev_cycle_at));
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct learn_market_state *s = &l->m[m];
        json_object *o = json_object_new_object();
        json_object *bl = json_object_new_array(), *sp = json_object_new_array();
        for (int b = 0; b < LEARN_BUCKET_COUNT; b++) {
            json_object_array_add(bl, learn_stat_json(&s->baseline[b]));
            json_object *pair = json_object_new_array();
            json_object_array_add(pair, learn_stat_json(&s->spell[b].elevated));
            json_object_array_add(pair, learn_stat_json(&s->spell[b].quiet));
            json_object_array_add(sp, pair);
        }
        json_object_object_add(o, "baseline", bl);
        json_object_object_add(o, "overall", learn_stat_json(&s->overall));
        json_object_object_add(o, "arms", learn_arms_json(s->arm, LEARN_BAND_COUNT));
        json_object_object_add(o, "session_arms", learn_arms_json(s->sarm, LEARN_BUCKET_COUNT));
        json_object_object_add(o, "spells", sp);
        json_object *occ = json_object_new_array();
        for (int b = 0; b < LEARN_BAND_COUNT; b++)
            json_object_array_add(occ, learn_num(s->occ[b]));
        json_object_object_add(o, "occupancy", occ);
        json_object_object_add(o, "occupancy_at", json_object_new_int64((long long)s->occ_at));
        json_object_object_add(o, "valid", json_object_new_boolean(s->valid));
        json_object_object_add(o, "reading", learn_num(s->reading));
        json_object_object_add(o, "smooth", learn_num(s->smooth));
        json_object_object_add(o, "sensed_at", json_object_new_int64((long long)s->sensed_at));
        json_object_object_add(o, "last_scan_at", json_object_new_int64((long long)s->last_scan_at));
        json_object_object_add(o, "elevated", json_object_new_int(s->elevated));
        json_object_object_add(o, "spell_since", json_object_new_int64((long long)s->spell_since));
        json_object_object_add(o, "spell_bucket", json_object_new_int(s->spell_bucket));
        json_object_object_add(ms, learn_market_name(m), o);
    }
    json_object_object_add(root, "markets", ms);
    json_object_object_add(root, "workflows", learn_wf_to_json(l));
    return root;
}

int learn_from_json(struct learn *l, json_object *j)
{
    json_object *ver = learn_field(j, "version"), *ms = learn_field(j, "markets");
    int version = ver ? json_object_get_int(ver) : 0;
    if ((version != 1 && version != LEARN_STATE_VERSION) || !ms)
        return -1;
    struct learn t = *l;
    json_object *v;
    t.nobs = (v = learn_field(j, "nobs")) ? json_object_get_int64(v) : 0;
    t.last_health_at = (v = learn_field(j, "last_health_at")) ? (time_t)json_object_get_int64(v) : 0;
    t.prev_cycle_at = (v = learn_field(j, "prev_cycle_at")) ? (time_t)json_object_get_int64(v) : 0;
    t.cycle_dt = (double)t.window_s;
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        json_object *o = learn_field(ms, learn_market_name(m));
        if (!o)
            return -1;
        struct learn_market_state *s = &t.m[m];
        json_object *bl = learn_field(o, "baseline"), *sp = learn_field(o, "spells"), *arms = learn_field(o, "arms");
        if (!bl || !sp || !arms || !json_object_is_type(bl, json_type_array) ||
            !json_object_is_type(sp, json_type_array) ||
            json_object_array_length(bl) != LEARN_BUCKET_COUNT || json_object_array_length(sp) != LEARN_BUCKET_COUNT)
            return -1;
        for (int b = 0; b < LEARN_BUCKET_COUNT; b++) {
            json_object *pair = json_object_array_get_idx(sp, (size_t)b);
            if (learn_stat_parse(json_object_array_get_idx(bl, (size_t)b), &s->baseline[b]) < 0 ||
                !pair || !json_object_is_type(pair, json_type_array) ||
                learn_stat_parse(json_object_array_get_idx(pair, 0), &s->spell[b].elevated) < 0 ||
                learn_stat_parse(json_object_array_get_idx(pair, 1), &s->spell[b].quiet) < 0)
                return -1;
        }
        if (learn_arms_parse(arms, s->arm, LEARN_BAND_COUNT) < 0)
            return -1;
        /* version 1 had no session estimates: they start from the priors */
        if (version == 1)
            memset(s->sarm, 0, sizeof s->sarm);
        else if (learn_arms_parse(learn_field(o, "session_arms"), s->sarm, LEARN_BUCKET_COUNT) < 0)
            return -1;
        if (learn_stat_parse(learn_field(o, "overall"), &s->overall) < 0)
            return -1;
        json_object *occ = learn_field(o, "occupancy");
        if (!occ || !json_object_is_type(occ, json_type_array) || json_object_array_length(occ) != LEARN_BAND_COUNT)
            return -1;
        for (int b = 0; b < LEARN_BAND_COUNT; b++)
            if ((s->occ[b] = learn_get_num(occ, (size_t)b)) < 0)
                return -1;
        s->occ_at = (v = learn_field(o, "occupancy_at")) ? (time_t)json_object_get_int64(v) : 0;
        s->valid = (v = learn_field(o, "valid")) ? json_object_get_boolean(v) : 0;
        s->reading = (v = learn_field(o, "reading")) ? json_object_get_double(v) : 0;
        s->smooth = (v = learn_field(o, "smooth")) ? json_object_get_double(v) : 0;
        s->sensed_at = (v = learn_field(o, "sensed_at")) ? (time_t)json_object_get_int64(v) : 0;
        s->last_scan_at = (v = learn_field(o, "last_scan_at")) ? (time_t)json_object_get_int64(v) : 0;
        s->elevated = (v = learn_field(o, "elevated")) ? json_object_get_int(v) : -1;
        s->spell_since = (v = learn_field(o, "spell_since")) ? (time_t)json_object_get_int64(v) : 0;
        s->spell_bucket = (v = learn_field(o, "spell_bucket")) ? json_object_get_int(v) : 7;
        if (s->spell_bucket < 0 || s->spell_bucket >= LEARN_BUCKET_COUNT || s->elevated < -1 || s->elevated > 1 ||
            !isfinite(s->reading) || !isfinite(s->smooth))
            return -1;
    }
    memset(t.wf, 0, sizeof t.wf);
    learn_wf_from_json(&t, learn_field(j, "workflows"));
    *l = t;
    return 0;
}

/* d rounded to a multiple of unit, or null when not finite (never
 * Infinity or NaN, also when d / unit overflows). */
static json_object *learn_round(double d, double unit)
{
    if (!isfinite(d))
        return NULL;
    double r = round(d / unit) * unit;
    return json_object_new_double(isfinite(r) ? r : d);
}

/* The posteriors of one band (session >= 0: of that session bucket):
 * {"aggressive": {...}, "normal": ..., "light": ...}. */
static json_object *learn_band_json(const struct learn *l, int m, int b, int session, time_t now)
{
    json_object *o = json_object_new_object();
    for (int i = 0; i < LEARN_ARM_COUNT; i++) {
        struct learn_post p;
        if (session >= 0)
            learn_session_posterior(l, m, session, i, now, &p);
        else
            learn_posterior(l, m, b, i, now, &p);
        json_object *a = json_object_new_object();
        json_object_object_add(a, "runs", learn_round(p.runs, 0.01));
        json_object_object_add(a, "success", learn_round(p.p_mean, 0.001));
        json_object *ci = json_object_new_array();
        json_object_array_add(ci, learn_round(p.p_lo, 0.001));
        json_object_array_add(ci, learn_round(p.p_hi, 0.001));
        json_object_object_add(a, "success_90", ci);
        json_object_object_add(a, "opportunities", learn_round(p.lam_mean, 0.001));
        ci = json_object_new_array();
        json_object_array_add(ci, learn_round(p.lam_lo, 0.001));
        json_object_array_add(ci, learn_round(p.lam_hi, 0.001));
        json_object_object_add(a, "opportunities_90", ci);
        double cost = learn_cost(l, m, i, now);
        json_object_object_add(a, "cost", learn_round(cost, 0.001));
        json_object_object_add(a, "net_value", learn_round(p.p_mean * p.lam_mean - cost, 0.001));
        json_object_object_add(o, catalog_intensity_name(i), a);
    }
    return o;
}

static json_object *learn_bucket_json(const struct learn *l, int m, int b, time_t now)
{
    const struct learn_market_state *s = &l->m[m];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "volatility_mean", learn_round(s->baseline[b].mean, 1e-4));
    json_object_object_add(o, "volatility_sd", learn_round(learn_stat_sd(&s->baseline[b]), 1e-4));
    json_object_object_add(o, "weight", learn_round(s->baseline[b].w, 0.01));
    json_object_object_add(o, "relative_to_market",
                           s->overall.mean > 0 && s->baseline[b].w > 0 ? learn_round(s->baseline[b].mean / s->overall.mean, 0.001) : NULL);
    json_object_object_add(o, "elevated_spell_minutes", learn_round(learn_spell_minutes(l, m, b, 1), 0.1));
    json_object_object_add(o, "quiet_spell_minutes", learn_round(learn_spell_minutes(l, m, b, 0), 0.1));
    json_object_object_add(o, "outcomes", learn_band_json(l, m, -1, b, now));
    return o;
}

json_object *learn_summary_json(const struct learn *l, time_t now, int full)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_int(LEARN_STATE_VERSION));
    json_object_object_add(root, "observations", json_object_new_int64(l->nobs));
    json_object *par = json_object_new_object();
    json_object_object_add(par, "half_life_hours", learn_round(l->half_life_s / 3600.0, 0.01));
    json_object_object_add(par, "run_cost", learn_round(l->run_cost, 0.001));
    json_object_object_add(par, "epsilon", learn_round(l->epsilon, 0.001));
    json_object_object_add(par, "max_stale_minutes", json_object_new_int64(l->max_stale_s / 60));
    json_object_object_add(par, "scan_window_minutes", json_object_new_int64(l->window_s / 60));
    json_object_object_add(root, "parameters", par);
    json_object *ms = json_object_new_object();
    for (int m = 0; m < LEARN_MARKET_COUNT; m++) {
        const struct learn_market_state *s = &l->m[m];
        json_object *o = json_object_new_object();
        json_object *act = json_object_new_object();
        json_object_object_add(act, "valid", json_object_new_boolean(s->valid));
        json_object_object_add(act, "reading", s->valid ? learn_round(s->reading, 1e-4) : NULL);
        json_object_object_add(act, "smoothed", s->valid ? learn_round(s->smooth, 1e-4) : NULL);
        json_object_object_add(act, "baseline", s->overall.w > 0 ? learn_round(s->overall.mean, 1e-4) : NULL);
        json_object_object_add(act, "baseline_sd", s->overall.w > 0 ? learn_round(learn_stat_sd(&s->overall), 1e-4) : NULL);
        json_object_object_add(act, "ratio", learn_round(s->ratio, 0.001));
        json_object_object_add(act, "band", json_object_new_string(learn_band_name(s->band)));
        json_object_object_add(act, "session", json_object_new_string(learn_bucket_name(s->bucket)));
        json_object_object_add(o, "activity", act);
        json_object_object_add(o, "last_scan_age_seconds",
                               s->last_scan_at > 0 ? json_object_new_int64((long long)(now - s->last_scan_at)) : NULL);
        json_object_object_add(o, "fresh_exposure", learn_round(s->exposure, 0.001));
        json_object_object_add(o, "average_yield", learn_round(learn_yield(l, m, now), 0.001));
        json_object *occ = json_object_new_object();
        double tot = 0;
        for (int b = 0; b < LEARN_BAND_COUNT; b++)
            tot += s->occ[b];
        for (int b = 0; b < LEARN_BAND_COUNT; b++)
            json_object_object_add(occ, learn_band_name(b), learn_round(tot > 0 ? s->occ[b] / tot : 0, 0.001));
        json_object_object_add(o, "time_in_band", occ);
        json_object_object_add(o, "next_seconds", json_object_new_int64(learn_next_seconds(l, m, now, 0)));
        if (full) {
            json_object *bands = json_object_new_object();
            for (int b = 0; b < LEARN_BAND_COUNT; b++)
                json_object_object_add(bands, learn_band_name(b), learn_band_json(l, m, b, -1, now));
            json_object_object_add(o, "bands", bands);
            json_object *ss = json_object_new_object();
            for (int b = 0; b < LEARN_BUCKET_COUNT; b++)
                json_object_object_add(ss, learn_bucket_name(b), learn_bucket_json(l, m, b, now));
            json_object_object_add(o, "sessions", ss);
        } else {
            json_object_object_add(o, "current_band", learn_band_json(l, m, s->band, -1, now));
            json_object_object_add(o, "current_session", learn_bucket_json(l, m, s->bucket, now));
        }
        json_object_object_add(ms, learn_market_name(m), o);
    }
    json_object_object_add(root, "markets", ms);
    if (full)
        json_object_object_add(root, "workflows", learn_wf_summary(l, now));
    return root;
}
