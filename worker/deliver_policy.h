/* deliver_policy: the parts of deliver that hold no state -- the
 * concurrency policies (WORKFLOW_CONCURRENCY), the kinds of a failed
 * attempt (triggers.last_error_kind) and the retry backoff.  Included by
 * deliver.h; see there for how they are used. */
#ifndef DELIVER_POLICY_H
#define DELIVER_POLICY_H

#include <stddef.h>

#include "act.h"
#include "catalog.h"

enum deliver_policy { DELIVER_ALLOW = 0, DELIVER_FORBID, DELIVER_REPLACE, DELIVER_POLICY_COUNT };

/* Why an attempt failed or a trigger was not sent: the strings of
 * triggers.last_error_kind. */
enum deliver_kind {
    DELIVER_KIND_NONE = 0,          /* accepted */
    DELIVER_KIND_TRANSPORT,         /* connection refused, DNS, TLS, ...: retried */
    DELIVER_KIND_TIMEOUT,           /* no answer within WEBHOOK_TIMEOUT_MS: retried */
    DELIVER_KIND_SERVER_ERROR,      /* 5xx: retried */
    DELIVER_KIND_RATE_LIMITED,      /* 429: retried, honouring retry-after */
    DELIVER_KIND_CLIENT_ERROR,      /* other 4xx (auth, bad body): not retried */
    DELIVER_KIND_NOT_REGISTERED,    /* 404: the workflow is unavailable; not retried */
    DELIVER_KIND_CIRCUIT_OPEN,      /* not sent: the circuit is open */
    DELIVER_KIND_CONCURRENCY,       /* not sent: policy forbid, a previous execution runs */
    DELIVER_KIND_TOO_BIG,           /* an answer larger than the worker reads: not retried */
    DELIVER_KIND_COUNT
};

/* "allow", "forbid", "replace" (static). */
const char *deliver_policy_name(int p);

/* The policy of every registry slot into out[CATALOG_SLOTS]: from spec
 * (WORKFLOW_CONCURRENCY: comma-separated "name=policy" items, name a
 * workflow present in the catalog or "default" for those not named,
 * spaces around items ignored, each name at most once; "" says nothing),
 * else the catalog entry's concurrency.  strict: a name not in the
 * catalog is an error (at start); else it is ignored (after a reload
 * removed it).  Returns 0, or -1 with a message naming the item in err
 * (out then unspecified). */
int deliver_policy_parse(const char *spec, int strict, int out[CATALOG_SLOTS], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The last_error_kind string of k, NULL for DELIVER_KIND_NONE (static). */
const char *deliver_kind_name(int k);

/* The kind of one attempt's outcome (job filled by act_fire_many). */
int deliver_kind_of(const struct act_job *job);

/* Nonzero when an attempt that failed with kind k may be tried again. */
int deliver_retryable(int k);

/* The wait before attempt number attempt + 1, after attempt tries
 * (attempt >= 1): base_ms * 2^(attempt-1) capped at max_ms, of which half is
 * fixed and half scaled by u in [0,1) (equal jitter); never less than
 * retry_after_ms (-1: none).  Returns the wait in ms, or -1 when
 * retry_after_ms is longer than max_ms (do not retry). */
long deliver_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after_ms, double u);

#endif
