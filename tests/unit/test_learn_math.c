/* Unit tests for worker/learn_math.c, the distributions as pure math: no
 * configuration, no catalog, no JSON, no database -- numbers in, numbers
 * out.  Quantiles and incomplete functions against closed forms, decayed
 * statistics against direct sums, arm updates and posteriors, and the
 * deterministic draws (moved here from test_learn.c: test_quantiles and
 * the sampler means). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "learn_math.h"

static const time_t T0 = 1736000000;
static const double HL = 7 * 24 * 3600.0;   /* a week's half-life, LEARN_HALF_LIFE_HOURS' default */

static void near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.6f, want %.6f (+-%g)", got, want, tol);
}

static void test_quantiles(void **state)
{
    (void)state;
    near(learn_math_beta_quantile(1, 1, 0.05), 0.05, 1e-6);            /* uniform */
    near(learn_math_beta_quantile(1, 1, 0.95), 0.95, 1e-6);
    near(learn_math_beta_quantile(2, 1, 0.05), sqrt(0.05), 1e-6);      /* CDF x^2 */
    near(learn_math_beta_quantile(2, 1, 0.95), sqrt(0.95), 1e-6);
    near(learn_math_beta_quantile(1, 3, 0.5), 1 - pow(0.5, 1.0 / 3), 1e-6);
    near(learn_math_gamma_quantile(1, 1, 0.05), -log(0.95), 1e-6);     /* exponential */
    near(learn_math_gamma_quantile(1, 1, 0.95), -log(0.05), 1e-6);
    near(learn_math_gamma_quantile(1, 4, 0.95), -log(0.05) / 4, 1e-6); /* rate scales */
    /* shape 2: CDF 1 - (1 + x) e^-x; at the 95% quantile 4.7439 */
    near(learn_math_gamma_quantile(2, 1, 0.95), 4.743865, 1e-4);
}

static void test_incomplete_functions(void **state)
{
    (void)state;
    /* I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b, symmetry */
    for (double x = 0.05; x < 1; x += 0.1) {
        near(learn_math_ibeta(1, 1, x), x, 1e-12);
        near(learn_math_ibeta(3, 1, x), pow(x, 3), 1e-12);
        near(learn_math_ibeta(1, 4, x), 1 - pow(1 - x, 4), 1e-12);
        near(learn_math_ibeta(2.5, 7, x), 1 - learn_math_ibeta(7, 2.5, 1 - x), 1e-12);
    }
    near(learn_math_ibeta(2, 3, 0), 0, 0);
    near(learn_math_ibeta(2, 3, -1), 0, 0);
    near(learn_math_ibeta(2, 3, 1), 1, 0);
    near(learn_math_ibeta(2, 3, 2), 1, 0);
    /* P(1, x) = 1 - e^-x, P(2, x) = 1 - (1 + x) e^-x; both branches (x < a + 1 and beyond) */
    for (double x = 0.25; x < 20; x *= 2) {
        near(learn_math_igamma(1, x), 1 - exp(-x), 1e-12);
        near(learn_math_igamma(2, x), 1 - (1 + x) * exp(-x), 1e-12);
    }
    near(learn_math_igamma(3, 0), 0, 0);
    near(learn_math_igamma(3, -2), 0, 0);
    /* the quantiles invert them */
    near(learn_math_ibeta(9, 3, learn_math_beta_quantile(9, 3, 0.05)), 0.05, 1e-8);
    near(learn_math_igamma(31, 11 * learn_math_gamma_quantile(31, 11, 0.95)), 0.95, 1e-7);
}

static void test_decay(void **state)
{
    (void)state;
    near(learn_math_decay(HL, T0, T0), 1, 0);
    near(learn_math_decay(HL, T0, T0 + (time_t)HL), 0.5, 1e-12);
    near(learn_math_decay(HL, T0, T0 + 2 * (time_t)HL), 0.25, 1e-12);
    near(learn_math_decay(HL, 0, T0), 1, 0);                  /* never stamped: no decay */
    near(learn_math_decay(HL, T0, T0 - 60), 1, 0);            /* the clock went back: none */
    near(learn_math_decay(0, T0, T0 + 3600), 1, 0);           /* no half-life: none */
    near(learn_math_decay(-1, T0, T0 + 3600), 1, 0);
}

static void test_stat(void **state)
{
    (void)state;
    /* weighted mean and variance against direct sums (no time passes) */
    const double x[] = { 3, 1, 4, 1, 5, 9, 2, 6 }, w[] = { 1, 2, 0.5, 1, 3, 0.25, 1, 2 };
    struct learn_stat s;
    memset(&s, 0, sizeof s);
    double sw = 0, swx = 0;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        learn_math_stat_add(&s, HL, x[i], w[i], T0);
        sw += w[i];
        swx += w[i] * x[i];
    }
    double mean = swx / sw, ss = 0;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        ss += w[i] * (x[i] - mean) * (x[i] - mean);
    near(s.w, sw, 1e-12);
    near(s.mean, mean, 1e-12);
    near(s.m2, ss, 1e-9);
    near(learn_math_stat_sd(&s), sqrt(ss / sw), 1e-12);
    assert_true(s.at == T0);
    /* not finite, or no weight: nothing changes */
    struct learn_stat before = s;
    learn_math_stat_add(&s, HL, NAN, 1, T0);
    learn_math_stat_add(&s, HL, INFINITY, 1, T0);
    learn_math_stat_add(&s, HL, 100, 0, T0);
    learn_math_stat_add(&s, HL, 100, -1, T0);
    assert_memory_equal(&s, &before, sizeof s);
    /* one half-life later: the weight halves, the mean and sd stay */
    learn_math_stat_decay(&s, HL, T0 + (time_t)HL);
    near(s.w, sw / 2, 1e-9);
    near(s.mean, mean, 1e-12);
    near(learn_math_stat_sd(&s), sqrt(ss / sw), 1e-9);
    assert_true(s.at == T0 + (time_t)HL);
    /* a new reading with the decayed weight counts as much as all the older ones */
    learn_math_stat_add(&s, HL, 10, sw / 2, T0 + (time_t)HL);
    near(s.mean, (mean + 10) / 2, 1e-9);
    /* no evidence: sd 0 */
    struct learn_stat z;
    memset(&z, 0, sizeof z);
    near(learn_math_stat_sd(&z), 0, 0);
}

static void test_arm(void **state)
{
    (void)state;
    struct learn_arm a;
    memset(&a, 0, sizeof a);
    learn_math_arm_add(&a, HL, 1, 3, 1.0, T0);
    learn_math_arm_add(&a, HL, 1, 2, 0.5, T0);
    learn_math_arm_add(&a, HL, 0, -1, 1.0, T0);      /* failed, opportunities unknown */
    learn_math_arm_add(&a, HL, -1, 4, 2.0, T0);      /* delivery unknown; exposure capped at 1 */
    learn_math_arm_add(&a, HL, 1, 5, 0, T0);         /* no fresh exposure: opportunities not counted */
    near(a.ok, 3, 0);
    near(a.fail, 1, 0);
    near(a.opps, 9, 0);
    near(a.exposure, 2.5, 0);
    near(a.runs, 3, 0);
    assert_true(a.at == T0);
    /* the posterior: Beta(1 + 3, 1 + 1), Gamma(shape0 + 9, rate0 + 2.5) */
    struct learn_post p;
    learn_math_arm_posterior(a, HL, 0.5, 1.0, T0, &p);
    near(p.p_mean, 4.0 / 6, 1e-12);
    near(p.p_lo, learn_math_beta_quantile(4, 2, 0.05), 1e-12);
    near(p.p_hi, learn_math_beta_quantile(4, 2, 0.95), 1e-12);
    near(p.lam_mean, 9.5 / 3.5, 1e-12);
    near(p.lam_lo, learn_math_gamma_quantile(9.5, 3.5, 0.05), 1e-12);
    near(p.lam_hi, learn_math_gamma_quantile(9.5, 3.5, 0.95), 1e-12);
    near(p.runs, 3, 0);
    /* one half-life later every count halves (in the posterior's copy; a stays) */
    learn_math_arm_posterior(a, HL, 0.5, 1.0, T0 + (time_t)HL, &p);
    near(p.p_mean, 2.5 / 4, 1e-9);
    near(p.lam_mean, 5.0 / 2.25, 1e-9);
    near(p.runs, 1.5, 1e-9);
    near(a.ok, 3, 0);
    struct learn_arm d = a;
    learn_math_arm_decay(&d, HL, T0 + (time_t)HL);
    near(d.ok, 1.5, 1e-9);
    near(d.fail, 0.5, 1e-9);
    near(d.opps, 4.5, 1e-9);
    near(d.exposure, 1.25, 1e-9);
    assert_true(d.at == T0 + (time_t)HL);
    /* the clock going back decays nothing and keeps the stamp */
    learn_math_arm_decay(&d, HL, T0);
    near(d.ok, 1.5, 1e-9);
    assert_true(d.at == T0 + (time_t)HL);
    /* the prior alone */
    struct learn_arm e;
    memset(&e, 0, sizeof e);
    learn_math_arm_posterior(e, HL, 2.0, 1.0, T0, &p);
    near(p.p_mean, 0.5, 0);
    near(p.p_lo, 0.05, 1e-6);
    near(p.lam_mean, 2.0, 0);
    near(p.runs, 0, 0);
}

static void test_draws(void **state)
{
    (void)state;
    /* the samplers: Beta and Gamma draws have the right means */
    unsigned long long key = 42;
    double sb = 0, sg = 0, sg2 = 0;
    for (int k = 0; k < 20000; k++) {
        sb += learn_math_sample_beta(&key, 2, 6);
        sg += learn_math_sample_gamma(&key, 3, 2);
        sg2 += learn_math_sample_gamma(&key, 0.5, 1);
    }
    near(sb / 20000, 0.25, 0.01);
    near(sg / 20000, 1.5, 0.03);
    near(sg2 / 20000, 0.5, 0.02);
    /* the same key, the same stream; another key, another */
    unsigned long long k1 = 7, k2 = 7, k3 = 8;
    int differ = 0;
    for (int k = 0; k < 100; k++) {
        double u1 = learn_math_uniform(&k1), u2 = learn_math_uniform(&k2), u3 = learn_math_uniform(&k3);
        assert_true(u1 == u2);
        assert_true(u1 >= 0 && u1 < 1);
        differ += u1 != u3;
    }
    assert_int_equal(differ, 100);
    assert_true(k1 == k2 && k1 != 7);          /* the key is the generator's state */
    /* splitmix64's first output for key 0 (Vigna's reference) */
    unsigned long long z = 0;
    assert_true(learn_math_next(&z) == 0xE220A8397B1DCDAFULL);
    /* out of the domain: 0, not NaN */
    near(learn_math_sample_gamma(&key, 0, 1), 0, 0);
    near(learn_math_sample_gamma(&key, 2, 0), 0, 0);
    near(learn_math_sample_gamma(&key, NAN, 1), 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_incomplete_functions),
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_stat),
        cmocka_unit_test(test_arm),
        cmocka_unit_test(test_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
