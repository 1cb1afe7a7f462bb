/* LLM decisions: the client's handling of provider behaviour (retries,
 * 429, failover, circuit breaker, budgets) against a scripted HTTP server
 * in a thread (llm_rig.h). */

#include "llm_rig.h"

static void answer_accepted_with_usage_and_limits(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, ok_steps, 1, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_int_equal(ch.mode, MODE_CRYPTO);
    assert_int_equal(ch.next_seconds, 240);
    assert_int_equal(oc.ncalls, 1);
    assert_string_equal(oc.provider, "groq");
    assert_int_equal(oc.prompt_tokens, 812);
    assert_int_equal(oc.completion_tokens, 64);
    assert_non_null(oc.raw);
    assert_int_equal(r.cl.providers[0].remaining_requests, 14399);
    assert_int_equal(r.cl.providers[0].remaining_tokens, 5100);
    assert_true(r.cl.providers[0].tokens_reset_at >= time(NULL) + 539);
    assert_int_equal(llm_calls_last_hour(&r.cl, time(NULL)), 1);
    assert_int_equal(llm_tokens_today(&r.cl, time(NULL)), 876);
    /* the request: json_object mode, the model, the key as a bearer token */
    assert_non_null(strstr(r.a.last_request, "POST /openai/v1/chat/completions"));
    assert_non_null(strstr(r.a.last_request, "Authorization: Bearer gsk_test_secret"));
    assert_non_null(strstr(r.a.last_request, "\"response_format\":{\"type\":\"json_object\"}"));
    assert_non_null(strstr(r.a.last_request, "\"model\":\"llama-3.3-70b-versatile\""));
    assert_non_null(strstr(r.a.last_request, "\"max_completion_tokens\":300"));
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void server_errors_retried_with_backoff(void **state)
{
    (void)state;
    static const struct script_step steps[] = {
        { 500, NULL, "{\"error\":{\"message\":\"Internal Server Error\",\"type\":\"internal_server_error\"}}", 0 },
        { 503, NULL, "{\"error\":{\"message\":\"Service Unavailable\",\"type\":\"service_unavailable\"}}", 0 },
        { 200, LIMITS, COMPLETION(GOOD_ESC), 0 },
    };
    struct rig r;
    rig_up(&r, steps, 3, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_int_equal(oc.ncalls, 3);
    assert_int_equal(oc.calls[0].err, LLM_ESERVER);
    assert_int_equal(oc.calls[1].http_status, 503);
    assert_int_equal(r.cl.providers[0].breaker.failures, 0);
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void rate_limit_honours_retry_after(void **state)
{
    (void)state;
    static const struct script_step steps[] = {
        { 429, "retry-after: 1\r\n" LIMITS,
          "{\"error\":{\"message\":\"Rate limit reached for model `llama-3.3-70b-versatile` on tokens per minute (TPM): Limit 6000, Used 5900, Requested 812. Please try again in 1.1s.\",\"type\":\"tokens\",\"code\":\"rate_limit_exceeded\"}}", 0 },
        { 200, LIMITS, COMPLETION(GOOD_ESC), 0 },
    };
    struct rig r;
    rig_up(&r, steps, 2, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 0.9);
    assert_int_equal(oc.ncalls, 2);
    assert_int_equal(oc.calls[0].err, LLM_ERATELIMIT);
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void long_retry_after_fails_over_to_openai(void **state)
{
    (void)state;
    static const struct script_step groq[] = {
        { 429, "retry-after: 120\r\n", "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}", 0 },
    };
    struct rig r;
    rig_up(&r, groq, 1, ok_steps, 1);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_string_equal(oc.provider, "openai");
    assert_int_equal(oc.ncalls, 2);
    assert_non_null(strstr(r.b.last_request, "\"model\":\"gpt-4o-mini\""));
    llm_outcome_clear(&oc);
    /* next cycle: Groq is still waiting for its retry-after and is not called */
    int served = r.a.served;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_int_equal(r.a.served, served);
    assert_string_equal(oc.provider, "openai");
    llm_outcome_clear(&oc);
    rig_down(&r);
}

/* Issue 10: a retry-after of 1e300 (or a reset of 1e19 s) was converted
 * out of range (undefined behaviour) and did not hold the provider back:
 * it was called again seconds later.  Now it is clamped to
 * LLM_MAX_HOLD_SECONDS and holds Groq back that long. */
static void absurd_retry_after_holds_back_for_the_clamped_time(void **state)
{
    (void)state;
    static const struct script_step groq[] = {
        { 429, "retry-after: 1e300\r\nx-ratelimit-reset-tokens: 1e19\r\nx-ratelimit-reset-requests: 1e400s\r\n"
               "x-ratelimit-remaining-requests: 1e19\r\nx-ratelimit-remaining-tokens: 99999999999999999999999\r\n",
          "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}", 0 },
    };
    struct rig r;
    rig_up(&r, groq, 1, ok_steps, 1);
    struct decide_choice ch;
    struct llm_outcome oc;
    time_t t0 = time(NULL);
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_string_equal(oc.provider, "openai");
    llm_outcome_clear(&oc);
    struct llm_provider *g = &r.cl.providers[0];
    assert_true(g->retry_after_s == LLM_MAX_HOLD_SECONDS);
    assert_true(g->retry_after_until >= t0 + LLM_MAX_HOLD_SECONDS);
    assert_true(g->retry_after_until <= time(NULL) + LLM_MAX_HOLD_SECONDS + 1);
    assert_true(g->tokens_reset_at <= time(NULL) + LLM_MAX_RESET_SECONDS + 1);
    assert_int_equal(g->remaining_requests, -1);        /* "1e19" is no count */
    assert_int_equal(g->remaining_tokens, LLM_MAX_REMAINING);
    /* the next cycles, within the hour: Groq is held back */
    int served = r.a.served;
    assert_int_equal(llm_decide(&r.cl, "system text", "{\"user\":1}", &r.menu, t0 + 8, r.cfg.llm_cycle_budget_ms,
                                &ch, &oc), LLM_OK);
    assert_int_equal(r.a.served, served);
    assert_string_equal(oc.provider, "openai");
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void limits_from_header_values(void **state)
{
    (void)state;
    struct llm_provider p;
    memset(&p, 0, sizeof p);
    p.remaining_requests = p.remaining_tokens = -1;
    const time_t now = 1770818400;
    struct llm_limit_headers h = { .remaining_requests = "14399", .remaining_tokens = "5100",
                                   .reset_requests = "6s", .reset_tokens = "9m0.5s" };
    llm_read_limits(&p, 200, &h, now);
    assert_int_equal(p.remaining_requests, 14399);
    assert_int_equal(p.remaining_tokens, 5100);
    assert_int_equal(p.requests_reset_at, now + 6);
    assert_int_equal(p.tokens_reset_at, now + 541);
    /* garbage is ignored, never half-read */
    struct llm_limit_headers bad = { .remaining_requests = "12abc", .remaining_tokens = "-3",
                                     .reset_requests = "nan", .reset_tokens = "inf" };
    llm_read_limits(&p, 200, &bad, now);
    assert_int_equal(p.remaining_requests, 14399);
    assert_int_equal(p.remaining_tokens, 5100);
    assert_int_equal(p.requests_reset_at, now + 6);
    /* a 429 without a usable retry-after waits 5 s; with 0.4 s, 1 s */
    struct llm_limit_headers r429 = { .retry_after = "soon" };
    llm_read_limits(&p, 429, &r429, now);
    assert_true(p.retry_after_s == 5);
    assert_int_equal(p.retry_after_until, now + 5);
    r429.retry_after = "0.4";
    llm_read_limits(&p, 429, &r429, now);
    assert_int_equal(p.retry_after_until, now + 1);
    r429.retry_after = "1e300";
    llm_read_limits(&p, 429, &r429, now);
    assert_int_equal(p.retry_after_until, now + LLM_MAX_HOLD_SECONDS);
    /* durations: finite sums only */
    assert_true(llm_parse_duration("1e308h") < 0);
    assert_true(llm_parse_duration("1e300") == 1e300);
    assert_true(llm_parse_duration("2m59.56s") > 179.5);
}

static void bad_key_fails_over_and_opens_the_circuit(void **state)
{
    (void)state;
    static const struct script_step groq[] = {
        { 401, NULL, "{\"error\":{\"message\":\"Invalid API Key\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}", 0 },
    };
    struct rig r;
    rig_up(&r, groq, 1, ok_steps, 1);
    r.cfg.llm_breaker_failures = 2;
    struct decide_choice ch;
    struct llm_outcome oc;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
        assert_string_equal(oc.provider, "openai");
        assert_int_equal(oc.calls[0].err, LLM_EREQUEST);
        llm_outcome_clear(&oc);
    }
    assert_string_equal(llm_circuit_state(&r.cl.providers[0], time(NULL)), "open");
    assert_int_equal(r.a.served, 2);
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);   /* Groq skipped while open */
    assert_int_equal(r.a.served, 2);
    assert_int_equal(oc.ncalls, 1);
    llm_outcome_clear(&oc);
    /* after the cooldown it is tried again (half open) */
    r.cl.providers[0].breaker.open_until = time(NULL) - 1;
    assert_string_equal(llm_circuit_state(&r.cl.providers[0], time(NULL)), "half_open");
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_int_equal(r.a.served, 3);
    assert_string_equal(llm_circuit_state(&r.cl.providers[0], time(NULL)), "open");
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void json_validate_failed_is_retried_once(void **state)
{
    (void)state;
    static const struct script_step steps[] = {
        { 400, NULL, "{\"error\":{\"message\":\"Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.\",\"type\":\"invalid_request_error\",\"code\":\"json_validate_failed\",\"failed_generation\":\"{mode: crypto\"}}", 0 },
        { 200, LIMITS, COMPLETION(GOOD_ESC), 0 },
    };
    struct rig r;
    rig_up(&r, steps, 2, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_int_equal(oc.ncalls, 2);
    assert_int_equal(oc.calls[0].err, LLM_EJSONMODE);
    llm_outcome_clear(&oc);
    rig_down(&r);

    static const struct script_step twice[] = {
        { 400, NULL, "{\"error\":{\"message\":\"Failed to generate JSON\",\"type\":\"invalid_request_error\",\"code\":\"json_validate_failed\"}}", 0 },
    };
    rig_up(&r, twice, 1, NULL, 0);
    assert_int_equal(ask(&r, &ch, &oc), LLM_EJSONMODE);
    assert_int_equal(oc.ncalls, 2);
    assert_int_equal(r.cl.providers[0].breaker.failures, 0);   /* a model failure, not a dead provider */
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void timeouts_stay_within_the_cycle_budget(void **state)
{
    (void)state;
    static const struct script_step slow[] = { { 200, LIMITS, COMPLETION(GOOD_ESC), 3000 } };
    struct rig r;
    rig_up(&r, slow, 1, NULL, 0);
    r.cfg.llm_timeout_ms = 600;
    r.cfg.llm_cycle_budget_ms = 1500;
    struct decide_choice ch;
    struct llm_outcome oc;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ask(&r, &ch, &oc), LLM_ETIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took < 2.2);
    assert_true(oc.ncalls >= 1);
    assert_int_equal(oc.calls[0].err, LLM_ETIMEOUT);
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void truncated_empty_malformed_and_rejected_answers(void **state)
{
    (void)state;
    static const struct script_step length[] = {
        { 200, NULL, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"mode\\\":\\\"cry\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":300}}", 0 },
    };
    static const struct script_step empty[] = {
        { 200, NULL, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\"}]}", 0 },
    };
    static const struct script_step malformed[] = { { 200, NULL, "{\"choices\":[{\"index\":0,\"mess", 0 } };
    static const struct script_step html[] = { { 502, NULL, "<html>Bad Gateway</html>", 0 } };
    static const struct script_step outside[] = {
        { 200, NULL, COMPLETION("{\\\"mode\\\":\\\"crypto\\\",\\\"intensity\\\":\\\"aggressive\\\",\\\"workflows\\\":[\\\"crypto-aggressive-scan\\\"],\\\"next_decision_seconds\\\":60,\\\"reason\\\":\\\"go\\\"}"), 0 },
    };
    struct { const struct script_step *s; enum llm_err e; int calls; } cases[] = {
        { length, LLM_ELENGTH, 1 }, { empty, LLM_EEMPTY, 1 }, { malformed, LLM_EMALFORMED, 1 },
        { html, LLM_ESERVER, 3 }, { outside, LLM_EREJECTED, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rig r;
        rig_up(&r, cases[i].s, 1, NULL, 0);
        struct decide_choice ch;
        memset(&ch, 0, sizeof ch);
        struct llm_outcome oc;
        assert_int_equal(ask(&r, &ch, &oc), cases[i].e);
        assert_int_equal(oc.ncalls, cases[i].calls);
        assert_true(oc.detail[0] != '\0');
        assert_int_equal(ch.mode, 0);       /* untouched */
        assert_int_equal(ch.nwf, 0);
        if (cases[i].e == LLM_EREJECTED)
            assert_non_null(strstr(oc.raw, "aggressive"));   /* the raw answer is kept for the audit */
        llm_outcome_clear(&oc);
        rig_down(&r);
    }
}

static void budgets_step_down_before_the_provider_says_429(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, ok_steps, 1, NULL, 0);
    r.cfg.llm_max_calls_per_hour = 1;
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    llm_outcome_clear(&oc);
    assert_int_equal(ask(&r, &ch, &oc), LLM_EBUDGET);
    assert_int_equal(oc.ncalls, 0);
    assert_int_equal(r.a.served, 1);
    assert_non_null(strstr(oc.detail, "LLM_MAX_CALLS_PER_HOUR"));
    llm_outcome_clear(&oc);

    r.cfg.llm_max_calls_per_hour = 100;
    r.cfg.llm_max_tokens_per_day = 900;     /* 876 spent, the next needs ~300 */
    assert_int_equal(ask(&r, &ch, &oc), LLM_EBUDGET);
    assert_non_null(strstr(oc.detail, "LLM_MAX_TOKENS_PER_DAY"));
    llm_outcome_clear(&oc);

    /* the provider's own headers: no requests left until the reset */
    r.cfg.llm_max_tokens_per_day = 1000000;
    r.cl.providers[0].remaining_requests = 0;
    r.cl.providers[0].requests_reset_at = time(NULL) + 60;
    assert_int_equal(ask(&r, &ch, &oc), LLM_ERATELIMIT);   /* stepped down before a 429 */
    assert_int_equal(oc.ncalls, 0);
    assert_non_null(strstr(oc.detail, "no requests left"));
    assert_int_equal(r.a.served, 1);
    llm_outcome_clear(&oc);
    /* past the reset time it is called again */
    r.cl.providers[0].requests_reset_at = time(NULL) - 1;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    llm_outcome_clear(&oc);
    rig_down(&r);

    /* disabled by configuration */
    rig_up(&r, ok_steps, 1, NULL, 0);
    r.cfg.llm_max_calls_per_hour = 0;
    assert_false(llm_configured(&r.cl));
    assert_int_equal(ask(&r, &ch, &oc), LLM_ENOTCONFIGURED);
    rig_down(&r);
}

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void hanging_groq_hands_over_to_openai(void **state)
{
    (void)state;
    static const struct script_step hang[] = { { 200, LIMITS, COMPLETION(GOOD_ESC), 4000 } };
    struct rig r;
    rig_up(&r, hang, 1, ok_steps, 1);
    r.cfg.llm_timeout_ms = 800;
    r.cfg.llm_cycle_budget_ms = 3000;
    struct decide_choice ch;
    struct llm_outcome oc;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_true(since(&t0) < 2.0);               /* one timeout, not Groq's retries */
    assert_string_equal(oc.provider, "openai");
    assert_int_equal(oc.ncalls, 2);
    assert_int_equal(oc.calls[0].err, LLM_ETIMEOUT);
    assert_int_equal(r.cl.providers[0].breaker.failures, 1);
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void unusable_answers_fail_over(void **state)
{
    (void)state;
    static const struct script_step not_completion[] = { { 200, NULL, "<html>captive portal</html>", 0 } };
    static const struct script_step rejected[] = {
        { 200, NULL, COMPLETION("{\\\"mode\\\":\\\"crypto\\\",\\\"intensity\\\":\\\"aggressive\\\",\\\"workflows\\\":[\\\"crypto-aggressive-scan\\\"],\\\"next_decision_seconds\\\":60,\\\"reason\\\":\\\"go\\\"}"), 0 },
    };
    static const struct script_step cut[] = {
        { 200, NULL, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"mode\"},\"finish_reason\":\"length\"}]}", 0 },
    };
    struct { const struct script_step *s; enum llm_err first; int breaker; } cases[] = {
        { not_completion, LLM_EMALFORMED, 1 },   /* a broken endpoint: counts against its breaker */
        { rejected, LLM_EREJECTED, 0 },          /* the provider works; its answer does not */
        { cut, LLM_ELENGTH, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rig r;
        rig_up(&r, cases[i].s, 1, ok_steps, 1);
        struct decide_choice ch;
        struct llm_outcome oc;
        assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
        assert_string_equal(oc.provider, "openai");
        assert_int_equal(oc.ncalls, 2);
        assert_int_equal(oc.calls[0].err, cases[i].first);
        assert_int_equal(r.cl.providers[0].breaker.failures, cases[i].breaker);
        llm_outcome_clear(&oc);
        rig_down(&r);
    }
}

static void budget_is_checked_before_every_call(void **state)
{
    (void)state;
    static const struct script_step steps[] = {
        { 500, NULL, "{\"error\":{\"message\":\"Internal Server Error\",\"type\":\"internal_server_error\"}}", 0 },
        { 500, NULL, "{\"error\":{\"message\":\"Internal Server Error\",\"type\":\"internal_server_error\"}}", 0 },
        { 200, LIMITS, COMPLETION(GOOD_ESC), 0 },
    };
    struct rig r;
    rig_up(&r, steps, 3, NULL, 0);
    r.cfg.llm_max_calls_per_hour = 2;
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_EBUDGET);
    assert_int_equal(oc.ncalls, 2);                 /* the third attempt would exceed the hour's budget */
    assert_int_equal(r.a.served, 2);
    assert_non_null(strstr(oc.detail, "LLM_MAX_CALLS_PER_HOUR"));
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void groq_capacity_errors_are_transient(void **state)
{
    (void)state;
    static const struct script_step steps[] = {
        { 498, NULL, "{\"error\":{\"message\":\"Flex tier capacity exceeded\",\"type\":\"capacity_exceeded\"}}", 0 },
        { 200, LIMITS, COMPLETION(GOOD_ESC), 0 },
    };
    struct rig r;
    rig_up(&r, steps, 2, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    assert_int_equal(oc.ncalls, 2);
    assert_int_equal(oc.calls[0].err, LLM_ESERVER);
    assert_int_equal(r.cl.providers[0].breaker.failures, 0);
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void retry_after_to_the_millisecond(void **state)
{
    (void)state;
    static const struct script_step steps[] = {
        { 429, "retry-after: 0.4\r\n", "{\"error\":{\"message\":\"Rate limit reached. Please try again in 400ms.\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}", 0 },
        { 200, LIMITS, COMPLETION(GOOD_ESC), 0 },
    };
    struct rig r;
    rig_up(&r, steps, 2, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    double took = since(&t0);
    assert_true(took >= 0.38 && took < 0.9);      /* neither 0 nor a whole second */
    llm_outcome_clear(&oc);
    rig_down(&r);
}

static void text_from_the_model_stays_valid_utf8(void **state)
{
    (void)state;
    /* bytes that are not UTF-8 inside the content string */
    static const struct script_step bad_bytes[] = {
        { 200, NULL, COMPLETION("{\\\"mode\\\":\\\"crypto\\\",\\\"intensity\\\":\\\"normal\\\",\\\"workflows\\\":[\\\"crypto-normal-scan\\\"],\\\"next_decision_seconds\\\":240,\\\"reason\\\":\\\"caf\xc3 \xff\xfe\\\"}"), 0 },
    };
    static const struct script_step jv[] = {
        { 400, NULL, "{\"error\":{\"message\":\"Failed to generate JSON\",\"type\":\"invalid_request_error\",\"code\":\"json_validate_failed\",\"failed_generation\":\"{mode: crypto \xe2\x82\"}}", 0 },
    };
    struct rig r;
    rig_up(&r, bad_bytes, 1, NULL, 0);
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(ask(&r, &ch, &oc), LLM_OK);
    char copy[sizeof ch.reason];
    snprintf(copy, sizeof copy, "%s", oc.raw);
    assert_int_equal(utf8_clean(copy), 0);             /* the raw answer as stored */
    snprintf(copy, sizeof copy, "%s", ch.reason);
    assert_int_equal(utf8_clean(copy), 0);
    assert_non_null(strstr(ch.reason, "caf? ??"));
    llm_outcome_clear(&oc);
    rig_down(&r);

    /* json_validate_failed: the failed generation is the audit's raw output */
    rig_up(&r, jv, 1, NULL, 0);
    assert_int_equal(ask(&r, &ch, &oc), LLM_EJSONMODE);
    assert_non_null(oc.raw);
    assert_non_null(strstr(oc.raw, "{mode: crypto"));
    snprintf(copy, sizeof copy, "%s", oc.raw);
    assert_int_equal(utf8_clean(copy), 0);
    llm_outcome_clear(&oc);
    rig_down(&r);

    /* a reason whose 400-byte cut falls inside a character */
    struct cfg c = base_cfg();
    struct sense_snapshot s;
    busy_london(&s);
    struct decide_menu m;
    decide_menu_build(&c, &s, &m);
    char big[2000];
    int k = snprintf(big, sizeof big, "{\"mode\":\"standby\",\"intensity\":\"light\",\"workflows\":[],"
                                      "\"next_decision_seconds\":900,\"reason\":\"");
    memset(big + k, 'a', 399);
    k += 399;
    for (int i = 0; i < 100; i++) {
        memcpy(big + k, "\xe2\x80\x99", 3);   /* U+2019, three bytes */
        k += 3;
    }
    snprintf(big + k, sizeof big - (size_t)k, "\"}");
    char err[200];
    assert_int_equal(llm_parse_answer(big, &m, &ch, err, sizeof err), LLM_OK);
    snprintf(copy, sizeof copy, "%s", ch.reason);
    assert_int_equal(utf8_clean(copy), 0);
    /* an error message quoting a cut field name stays valid too */
    memset(big, 0, sizeof big);
    k = snprintf(big, sizeof big, "{\"mode\":\"crypto\",\"intensity\":\"normal\",\"workflows\":[],"
                                  "\"next_decision_seconds\":300,\"reason\":\"x\",\"");
    for (int i = 0; i < 30; i++) {
        memcpy(big + k, "\xc3\xa9", 2);
        k += 2;
    }
    snprintf(big + k, sizeof big - (size_t)k, "a\":1}");
    assert_int_equal(llm_parse_answer(big, &m, &ch, err, sizeof err), LLM_EINVALID);
    assert_non_null(strstr(err, "unexpected field"));
    snprintf(copy, sizeof copy, "%s", err);
    assert_int_equal(utf8_clean(copy), 0);
}

static void budgets_follow_a_simulated_clock(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, ok_steps, 1, NULL, 0);
    r.cfg.llm_max_calls_per_hour = 1;
    time_t past = 1548979200;      /* 2019-02-01: a replay's clock */
    struct decide_choice ch;
    struct llm_outcome oc;
    assert_int_equal(llm_decide(&r.cl, "s", "{}", &r.menu, past, 5000, &ch, &oc), LLM_OK);
    llm_outcome_clear(&oc);
    assert_int_equal(llm_decide(&r.cl, "s", "{}", &r.menu, past + 600, 5000, &ch, &oc), LLM_EBUDGET);
    llm_outcome_clear(&oc);
    assert_int_equal(llm_calls_last_hour(&r.cl, past + 600), 1);
    assert_int_equal(llm_decide(&r.cl, "s", "{}", &r.menu, past + 3700, 5000, &ch, &oc), LLM_OK);
    llm_outcome_clear(&oc);
    assert_int_equal(llm_tokens_today(&r.cl, past + 3700), 2 * 876);
    assert_int_equal(r.a.served, 2);
    rig_down(&r);
}

int main(void)
{
    seed_install();
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answer_accepted_with_usage_and_limits),
        cmocka_unit_test(server_errors_retried_with_backoff),
        cmocka_unit_test(rate_limit_honours_retry_after),
        cmocka_unit_test(long_retry_after_fails_over_to_openai),
        cmocka_unit_test(absurd_retry_after_holds_back_for_the_clamped_time),
        cmocka_unit_test(limits_from_header_values),
        cmocka_unit_test(bad_key_fails_over_and_opens_the_circuit),
        cmocka_unit_test(json_validate_failed_is_retried_once),
        cmocka_unit_test(timeouts_stay_within_the_cycle_budget),
        cmocka_unit_test(truncated_empty_malformed_and_rejected_answers),
        cmocka_unit_test(hanging_groq_hands_over_to_openai),
        cmocka_unit_test(unusable_answers_fail_over),
        cmocka_unit_test(budget_is_checked_before_every_call),
        cmocka_unit_test(groq_capacity_errors_are_transient),
        cmocka_unit_test(retry_after_to_the_millisecond),
        cmocka_unit_test(text_from_the_model_stays_valid_utf8),
        cmocka_unit_test(budgets_follow_a_simulated_clock),
        cmocka_unit_test(budgets_step_down_before_the_provider_says_429),
    };
    return harness_main("test_llm_server", LOG_ERROR, tests, sizeof tests / sizeof tests[0]);
}
