/* learn_math: decayed statistics, Beta and Gamma posteriors, quantiles and
 * deterministic draws; see learn_math.h. */
#include "config.h"
#include "learn_math.h"

#include <math.h>
#include <string.h>

#define LEARN_LN2 0.69314718055994530942

/* ---- decayed statistics --------------------------------------------------- */

double learn_math_decay(double half_life_s, time_t from, time_t to)
{
    if (from == 0 || to <= from || half_life_s <= 0)
        return 1.0;
    return exp(-LEARN_LN2 * (double)(to - from) / half_life_s);
}

void learn_math_stat_decay(struct learn_stat *s, double half_life_s, time_t now)
{
    double f = learn_math_decay(half_life_s, s->at, now);
    s->w *= f;
    s->m2 *= f;
    if (now > s->at)
        s->at = now;
}

void learn_math_stat_add(struct learn_stat *s, double half_life_s, double x, double wx, time_t now)
{
    if (!isfinite(x) || !(wx > 0))
        return;
    learn_math_stat_decay(s, half_life_s, now);
    double w = s->w + wx;
    double d = x - s->mean;
    double r = d * wx / w;
    s->mean += r;
    s->m2 += s->w * d * r;
    s->w = w;
}

double learn_math_stat_sd(const struct learn_stat *s)
{
    return s->w > 0 && s->m2 > 0 ? sqrt(s->m2 / s->w) : 0;
}

/* ---- arms ------------------------------------------------------------------ */

void learn_math_arm_decay(struct learn_arm *a, double half_life_s, time_t now)
{
    double f = learn_math_decay(half_life_s, a->at, now);
    a->ok *= f;
    a->fail *= f;
    a->opps *= f;
    a->exposure *= f;
    a->runs *= f;
    if (now > a->at)
        a->at = now;
}

void learn_math_arm_add(struct learn_arm *a, double half_life_s, int success, int opportunities, double exposure,
                        time_t at)
{
    learn_math_arm_decay(a, half_life_s, at);
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

void learn_math_arm_posterior(struct learn_arm a, double half_life_s, double prior_shape, double prior_rate,
                              time_t now, struct learn_post *out)
{
    learn_math_arm_decay(&a, half_life_s, now);
    double pa = 1 + a.ok, pb = 1 + a.fail;
    double ga = prior_shape + a.opps, gb = prior_rate + a.exposure;
    out->p_mean = pa / (pa + pb);
    out->p_lo = learn_math_beta_quantile(pa, pb, 0.05);
    out->p_hi = learn_math_beta_quantile(pa, pb, 0.95);
    out->lam_mean = ga / gb;
    out->lam_lo = learn_math_gamma_quantile(ga, gb, 0.05);
    out->lam_hi = learn_math_gamma_quantile(ga, gb, 0.95);
    out->runs = a.runs;
}

/* ---- distributions ------------------------------------------------------------ */

/* Continued fraction of the incomplete beta function (Lentz). */
static double learn_math_betacf(double a, double b, double x)
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
double learn_math_ibeta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * learn_math_betacf(a, b, x) / a;
    return 1 - exp(lbt) * learn_math_betacf(b, a, 1 - x) / b;
}

/* Regularised lower incomplete gamma P(a, x). */
double learn_math_igamma(double a, double x)
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

static double learn_math_beta_quantile_calc(double a, double b, double q)
{
    double lo = 0, hi = 1;
    for (int i = 0; i < 100 && hi - lo > LEARN_QUANTILE_TOL; i++) {
        double mid = (lo + hi) / 2;
        if (learn_math_ibeta(a, b, mid) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

static double learn_math_gamma_quantile_calc(double shape, double rate, double q)
{
    double hi = shape + 10 * sqrt(shape) + 10;
    while (learn_math_igamma(shape, hi) < q && hi < 1e12)
        hi *= 2;
    double lo = 0;
    for (int i = 0; i < 200 && hi - lo > LEARN_QUANTILE_TOL * (hi > 1 ? hi : 1); i++) {
        double mid = (lo + hi) / 2;
        if (learn_math_igamma(shape, mid) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2 / rate;
}

/* Quantile k (0 beta, 1 gamma) of (a, b) at q, remembered. */
static double learn_math_quantile(int k, double a, double b, double q)
{
    struct learn_memo *m = learn_memo_slot(k, a, b, q);
    if (m->used && memcmp(&m->a, &a, sizeof a) == 0 && memcmp(&m->b, &b, sizeof b) == 0 &&
        memcmp(&m->q, &q, sizeof q) == 0)
        return m->v;
    double v = k ? learn_math_gamma_quantile_calc(a, b, q) : learn_math_beta_quantile_calc(a, b, q);
    *m = (struct learn_memo){ a, b, q, v, 1 };
    return v;
}

double learn_math_beta_quantile(double a, double b, double q)
{
    return learn_math_quantile(0, a, b, q);
}

double learn_math_gamma_quantile(double shape, double rate, double q)
{
    return learn_math_quantile(1, shape, rate, q);
}

/* ---- draws -------------------------------------------------------------------- */

unsigned long long learn_math_next(unsigned long long *key)
{
    unsigned long long z = (*key += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double learn_math_uniform(unsigned long long *key)
{
    return (double)(learn_math_next(key) >> 11) * (1.0 / 9007199254740992.0);
}

static double learn_math_normal(unsigned long long *key)
{
    double u1 = learn_math_uniform(key), u2 = learn_math_uniform(key);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

double learn_math_sample_gamma(unsigned long long *key, double shape, double rate)
{
    if (!(shape > 0) || !(rate > 0))
        return 0;
    if (shape < 1) {
        double u = learn_math_uniform(key);
        return learn_math_sample_gamma(key, shape + 1, rate) * pow(u > 1e-300 ? u : 1e-300, 1 / shape);
    }
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (int i = 0; i < 1000; i++) {
        double x = learn_math_normal(key), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = learn_math_uniform(key);
        if (u < 1 - 0.0331 * x * x * x * x || log(u > 1e-300 ? u : 1e-300) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v / rate;
    }
    return shape / rate;
}

double learn_math_sample_beta(unsigned long long *key, double a, double b)
{
    double x = learn_math_sample_gamma(key, a, 1), y = learn_math_sample_gamma(key, b, 1);
    return x + y > 0 ? x / (x + y) : 0.5;
}
