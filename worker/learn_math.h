/* learn_math: the distributions learn.c decides with, as pure math -- no
 * I/O, no JSON, no database, no state beyond the arguments (the
 * generator's state is the key the caller passes).
 *
 *  - a decayed weighted mean and variance (West's algorithm): struct
 *    learn_stat;
 *  - per arm a Beta-Bernoulli posterior of success, Beta(1 + ok, 1 + fail),
 *    and a Gamma-Poisson posterior of opportunities per full window,
 *    Gamma(shape0 + opps, rate0 + exposure): struct learn_arm, whose
 *    evidence decays towards the prior with a half-life (a weight halves
 *    every half_life_s seconds; half_life_s <= 0: no decay);
 *  - their 90% intervals: the regularised incomplete beta and gamma
 *    functions and their quantiles by bisection;
 *  - a counter-based generator (splitmix64) with uniform, Gamma
 *    (Marsaglia-Tsang) and Beta draws: the same key gives the same draws.
 *
 * Times are the caller's clock (seconds); a time of 0 means "never", and
 * evidence stamped 0 is not decayed. */
#ifndef LEARN_MATH_H
#define LEARN_MATH_H

#include <time.h>

/* A decayed mean and variance (West's weighted algorithm). */
struct learn_stat {
    double w;                  /* decayed weight of the evidence */
    double mean, m2;           /* m2: weighted sum of squared deviations */
    time_t at;                 /* decayed up to this time */
};

/* One arm's posteriors.  Evidence beyond the prior decays with the half-life. */
struct learn_arm {
    double ok, fail;           /* Beta(1 + ok, 1 + fail) of delivery success */
    double opps, exposure;     /* Gamma(A0 + opps, B0 + exposure) of opportunities per full window */
    double runs;               /* decayed count of outcomes seen */
    time_t at;
};

/* Posterior means and 90% credible intervals of one arm. */
struct learn_post {
    double p_mean, p_lo, p_hi;        /* success probability */
    double lam_mean, lam_lo, lam_hi;  /* opportunities per full-window run */
    double runs;                      /* decayed number of outcomes */
};

/* The factor evidence stamped `from` keeps at `to`: 2^-((to - from) /
 * half_life_s); 1 when from is 0, to <= from or half_life_s <= 0. */
double learn_math_decay(double half_life_s, time_t from, time_t to);

/* Decay s's weight (and m2; the mean stays) from s->at to now; s->at
 * becomes now when later. */
void learn_math_stat_decay(struct learn_stat *s, double half_life_s, time_t now);

/* Decay s to now, then add x with weight wx (West's weighted update).  A
 * non-finite x or a wx that is not > 0 changes nothing. */
void learn_math_stat_add(struct learn_stat *s, double half_life_s, double x, double wx, time_t now);

/* The weighted standard deviation of s; 0 without evidence. */
double learn_math_stat_sd(const struct learn_stat *s);

/* Decay every count of a from a->at to now; a->at becomes now when later. */
void learn_math_arm_decay(struct learn_arm *a, double half_life_s, time_t now);

/* Decay a to `at`, then fold in one outcome: success 1 (ok + 1), 0 (fail +
 * 1) or -1 (unknown: not counted); opportunities found over a fresh share
 * `exposure` of a window (capped at 1), counted when opportunities >= 0
 * and exposure > 0 (then runs + 1 too). */
void learn_math_arm_add(struct learn_arm *a, double half_life_s, int success, int opportunities, double exposure,
                        time_t at);

/* The posteriors of arm a decayed to now, with the Gamma prior
 * (prior_shape, prior_rate), into *out. */
void learn_math_arm_posterior(struct learn_arm a, double half_life_s, double prior_shape, double prior_rate,
                              time_t now, struct learn_post *out);

/* The regularised incomplete beta function I_x(a, b) (0 for x <= 0, 1 for
 * x >= 1) and the regularised lower incomplete gamma function P(a, x) (0
 * for x <= 0); a, b > 0. */
double learn_math_ibeta(double a, double b, double x);
double learn_math_igamma(double a, double x);

/* The q-quantile of Beta(a, b), and of Gamma(shape, rate) (rate: inverse
 * scale), to far better than the 0.001 the summaries show. */
double learn_math_beta_quantile(double a, double b, double q);
double learn_math_gamma_quantile(double shape, double rate, double q);

/* splitmix64: the next 64 bits of the stream keyed by *key (advanced). */
unsigned long long learn_math_next(unsigned long long *key);

/* Uniform in [0,1) from the stream *key (53 bits). */
double learn_math_uniform(unsigned long long *key);

/* A draw from Gamma(shape, rate) (0 unless both are > 0), and from
 * Beta(a, b) (0.5 when both Gamma draws are 0), from the stream *key. */
double learn_math_sample_gamma(unsigned long long *key, double shape, double rate);
double learn_math_sample_beta(unsigned long long *key, double a, double b);

#endif
