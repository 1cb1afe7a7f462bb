/* fuzz_llm_http: a chat-completions answer: its HTTP status, its
 * rate-limit headers and its body.  Input: one byte choosing the status,
 * then "name: value" header lines up to an empty line, then the body. */
#include "config.h"
#include "fuzz.h"

#include "llm.h"

#include <math.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    static const long statuses[] = { 200, 429, 400, 500, 401, 498, 404, 200 };
    long status = size ? statuses[data[0] % 8] : 200;
    char *s = fuzz_cstr(size ? data + 1 : data, size ? size - 1 : 0);
    size_t len = size ? size - 1 : 0;
    struct llm_limit_headers h;
    memset(&h, 0, sizeof h);
    char *p = s, *body = s;
    char *end = strstr(s, "\n\n");
    if (end) {
        *end = '\0';
        body = end + 2;
        while (p && *p) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            char *colon = strchr(p, ':');
            if (colon) {
                *colon = '\0';
                const char *v = colon + 1;
                while (*v == ' ')
                    v++;
                if (!strcasecmp(p, "x-ratelimit-remaining-requests")) h.remaining_requests = v;
                else if (!strcasecmp(p, "x-ratelimit-remaining-tokens")) h.remaining_tokens = v;
                else if (!strcasecmp(p, "x-ratelimit-reset-requests")) h.reset_requests = v;
                else if (!strcasecmp(p, "x-ratelimit-reset-tokens")) h.reset_tokens = v;
                else if (!strcasecmp(p, "retry-after")) h.retry_after = v;
            }
            p = nl ? nl + 1 : NULL;
        }
    }
    /* the raw body bytes after the headers (NULs included) */
    size_t blen = len - (size_t)(body - s);

    struct llm_provider pr;
    memset(&pr, 0, sizeof pr);
    snprintf(pr.name, sizeof pr.name, "groq");
    pr.remaining_requests = pr.remaining_tokens = -1;
    const time_t now = 1770818400;
    llm_read_limits(&pr, status, &h, now);
    FUZZ_CHECK(pr.remaining_requests >= -1 && pr.remaining_requests <= LLM_MAX_REMAINING);
    FUZZ_CHECK(pr.remaining_tokens >= -1 && pr.remaining_tokens <= LLM_MAX_REMAINING);
    FUZZ_CHECK(pr.requests_reset_at == 0 ||
               (pr.requests_reset_at >= now && pr.requests_reset_at <= now + LLM_MAX_RESET_SECONDS));
    FUZZ_CHECK(pr.tokens_reset_at == 0 ||
               (pr.tokens_reset_at >= now && pr.tokens_reset_at <= now + LLM_MAX_RESET_SECONDS));
    if (status == 429) {
        FUZZ_CHECK(pr.retry_after_s >= 0 && pr.retry_after_s <= LLM_MAX_HOLD_SECONDS);
        FUZZ_CHECK(pr.retry_after_until >= now && pr.retry_after_until <= now + LLM_MAX_HOLD_SECONDS);
    }
    if (h.reset_tokens) {
        double d = llm_parse_duration(h.reset_tokens);
        FUZZ_CHECK(d == -1 || (d >= 0 && isfinite(d)));
    }

    struct llm_call call;
    memset(&call, 0, sizeof call);
    char *content = NULL;
    enum llm_err e = llm_parse_completion(status, body, blen, &call, &content);
    FUZZ_CHECK(e < LLM_ERR_COUNT);
    FUZZ_CHECK(call.prompt_tokens >= 0 && call.prompt_tokens <= LLM_MAX_CALL_TOKENS);
    FUZZ_CHECK(call.completion_tokens >= 0 && call.completion_tokens <= LLM_MAX_CALL_TOKENS);
    FUZZ_CHECK(fuzz_utf8_ok(call.error));
    if (content) {
        FUZZ_CHECK(strlen(content) <= 8192);
        FUZZ_CHECK(fuzz_utf8_ok(content));
        free(content);
    }
    free(s);
    return 0;
}
