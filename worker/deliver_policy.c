/* deliver_policy: concurrency policies, attempt kinds and the retry
 * backoff -- the parts of deliver that hold no state; see deliver_policy.h. */
#include "config.h"
#include "deliver_policy.h"
#include "http.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DELIVER_SPEC_MAX 1024           /* longest WORKFLOW_CONCURRENCY accepted */

const char *deliver_policy_name(int p)
{
    switch (p) {
    case DELIVER_ALLOW:   return "allow";
    case DELIVER_FORBID:  return "forbid";
    case DELIVER_REPLACE: return "replace";
    }
    return "allow";
}

/* The policy named s (n bytes), or -1. */
static int deliver_policy_lookup(const char *s, size_t n)
{
    for (int p = 0; p < DELIVER_POLICY_COUNT; p++) {
        const char *name = deliver_policy_name(p);
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return p;
    }
    return -1;
}

/* Trim spaces and tabs around s[0 .. *n): returns the new start, *n updated. */
static const char *deliver_trim(const char *s, size_t *n)
{
    while (*n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

int deliver_policy_parse(const char *spec, int strict, int out[CATALOG_SLOTS], char *err, size_t errlen)
{
    int set[CATALOG_SLOTS], def = -1;
    for (int w = 0; w < CATALOG_SLOTS; w++)
        set[w] = -1;
    if (!spec)
        spec = "";
    if (strlen(spec) > DELIVER_SPEC_MAX) {
        snprintf(err, errlen, "WORKFLOW_CONCURRENCY: longer than %d characters", DELIVER_SPEC_MAX);
        return -1;
    }
    size_t all = strlen(spec);
    const char *p = deliver_trim(spec, &all);
    while (all > 0) {
        const char *comma = memchr(p, ',', all);
        size_t n = comma ? (size_t)(comma - p) : all;
        size_t rest = comma ? all - n - 1 : 0;
        const char *item = deliver_trim(p, &n);
        const char *eq = n ? memchr(item, '=', n) : NULL;
        if (!eq) {
            snprintf(err, errlen, "WORKFLOW_CONCURRENCY: expected name=policy items separated by commas, got \"%.*s\"",
                     (int)(n > 60 ? 60 : n), item);
            return -1;
        }
        size_t nn = (size_t)(eq - item), vn = n - nn - 1;
        const char *name = deliver_trim(item, &nn), *val = deliver_trim(eq + 1, &vn);
        int pol = deliver_policy_lookup(val, vn);
        if (pol < 0) {
            snprintf(err, errlen, "WORKFLOW_CONCURRENCY: unknown policy \"%.*s\" for \"%.*s\" (expected forbid, allow or replace)",
                     (int)(vn > 40 ? 40 : vn), val, (int)(nn > 60 ? 60 : nn), name);
            return -1;
        }
        if (nn == 7 && memcmp(name, "default", 7) == 0) {
            if (def >= 0) {
                snprintf(err, errlen, "WORKFLOW_CONCURRENCY: \"default\" given twice");
                return -1;
            }
            def = pol;
        } else {
            char buf[CATALOG_NAME_MAX + 1];
            int w = -1;
            if (nn > 0 && nn < sizeof buf) {
                memcpy(buf, name, nn);
                buf[nn] = '\0';
                w = catalog_workflow_parse(buf);
                if (w >= 0 && !catalog_workflow(w)->present)
                    w = -1;
            }
            if (w < 0 && strict) {
                snprintf(err, errlen, "WORKFLOW_CONCURRENCY: \"%.*s\" is not a workflow of the catalog (nor \"default\")",
                         (int)(nn > 60 ? 60 : nn), name);
                return -1;
            }
            if (w >= 0 && set[w] >= 0) {
                snprintf(err, errlen, "WORKFLOW_CONCURRENCY: \"%s\" given twice", buf);
                return -1;
            }
            if (w >= 0)
                set[w] = pol;
        }
        if (!comma)
            break;
        p = comma + 1;
        all = rest;
        if (all == 0) {
            snprintf(err, errlen, "WORKFLOW_CONCURRENCY: ends with a comma");
            return -1;
        }
    }
    /* the override first, then its default, then the catalog's own */
    for (int w = 0; w < CATALOG_SLOTS; w++) {
        const struct catalog_wf *c = catalog_workflow(w);
        out[w] = set[w] >= 0 ? set[w] : def >= 0 ? def : c ? c->concurrency : DELIVER_ALLOW;
    }
    return 0;
}

const char *deliver_kind_name(int k)
{
    switch (k) {
    case DELIVER_KIND_TRANSPORT:      return "transport";
    case DELIVER_KIND_TIMEOUT:        return "timeout";
    case DELIVER_KIND_SERVER_ERROR:   return "server_error";
    case DELIVER_KIND_RATE_LIMITED:   return "rate_limited";
    case DELIVER_KIND_CLIENT_ERROR:   return "client_error";
    case DELIVER_KIND_NOT_REGISTERED: return "not_registered";
    case DELIVER_KIND_CIRCUIT_OPEN:   return "circuit_open";
    case DELIVER_KIND_CONCURRENCY:    return "concurrency";
    case DELIVER_KIND_TOO_BIG:        return "too_big";
    }
    return NULL;
}

int deliver_kind_of(const struct act_job *job)
{
    if (job->status == ACT_SENT)
        return DELIVER_KIND_NONE;
    if (job->transport_err == HTTP_ETOOBIG)
        return DELIVER_KIND_TOO_BIG;      /* n8n answered: the execution may run, do not start another */
    if (job->transport_err != HTTP_OK)
        return job->transport_err == HTTP_ETIMEOUT ? DELIVER_KIND_TIMEOUT : DELIVER_KIND_TRANSPORT;
    if (job->status == ACT_UNAVAILABLE)
        return DELIVER_KIND_NOT_REGISTERED;
    if (job->http_status == 429)
        return DELIVER_KIND_RATE_LIMITED;
    if (job->http_status >= 500 && job->http_status <= 599)
        return DELIVER_KIND_SERVER_ERROR;
    return DELIVER_KIND_CLIENT_ERROR;
}

int deliver_retryable(int k)
{
    return k == DELIVER_KIND_TRANSPORT || k == DELIVER_KIND_TIMEOUT || k == DELIVER_KIND_SERVER_ERROR ||
           k == DELIVER_KIND_RATE_LIMITED;
}

long deliver_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_ms, double u)
{
    if (retry_after_ms > max_ms)
        return -1;
    if (attempt < 1)
        attempt = 1;
    if (!(u >= 0) || u >= 1)
        u = 0;
    double e = (double)base_ms * pow(2.0, attempt > 30 ? 30 : attempt - 1);
    if (e > (double)max_ms)
        e = (double)max_ms;
    long wait = (long)(e / 2 + u * e / 2);
    if (wait < 1)
        wait = 1;
    if (retry_after_ms > wait)
        wait = retry_after_ms;
    return wait;
}
