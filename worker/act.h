/* act: start n8n workflows by webhook.
 *
 * act_payload() builds the JSON body a workflow receives; act_fire_many()
 * POSTs several in parallel to {N8N_BASE_URL}/webhook/<path> with the
 * Idempotency-Key header and the optional auth header, and classifies each
 * answer. */
#ifndef ACT_H
#define ACT_H

#include <json-c/json.h>
#include <time.h>

#include "act_job.h"
#include "cfg.h"
#include "decide.h"
#include "http.h"
#include "sense.h"

/* "sent", "failed", "unavailable", "dry_run": the triggers.status strings. */
const char *act_status_name(enum act_status s);

/* The webhook body for one trigger, with act_parameters(snap->cfg, ...)
 * as "parameters" when snap->cfg is set.  Returns a JSON object (caller
 * frees) or NULL on allocation failure. */
json_object *act_payload(const struct sense_snapshot *snap, const struct decide_choice *ch,
                         long long decision_id, long long trigger_id, const char *workflow,
                         const char *key, long long next_decision_at, int dry_run);

#define ACT_QUERIES_MAX 5       /* DexScreener search terms sent, at most */
#define ACT_QUERY_MAX 64        /* characters of one */
#define ACT_PAIRS_MAX 8         /* forex pairs sent, at most (FOREX_PAIRS allows 8) */

/* The "parameters" of a webhook body for workflow (its name) at intensity
 * (enum catalog_intensity), from c and its catalog entry: a crypto scan
 * gets {"queries": the comma-separated terms of DEXSCREENER_QUERY
 * (trimmed, at most ACT_QUERIES_MAX of ACT_QUERY_MAX printable
 * characters), "limit": act_scan_limit(intensity)}; a forex scan
 * {"pairs": FOREX_PAIRS}; a cross-market ("both") workflow both; a system
 * workflow {}.  Then every member of the entry's "parameters" is set over
 * these (the catalog wins).  Returns a JSON object (caller frees), or NULL
 * with c NULL, a workflow this process does not know, or no memory. */
json_object *act_parameters(const struct cfg *c, const char *workflow, int intensity);

/* Pairs a crypto scan of intensity i analyses, at most: light 10, normal
 * 25, aggressive 50. */
long act_scan_limit(int intensity);

/* The idempotency key of a trigger: "orch-<decision_id>-<workflow>". */
void act_key(long long decision_id, const char *workflow, char *out, size_t cap);

/* The idempotency key of a replay's trigger, the same from one replay of
 * the same data and seed to the next (and unique across runs):
 * "replay-<run_id>-<n>-<workflow>", n the decision's number in the run. */
void act_replay_key(long long run_id, long long seq, const char *workflow, char *out, size_t cap);

/* POST every job in parallel; fills each job's results.  Blocks until
 * all have answered or timed out (the replay's and tests' way; the
 * worker sends through worker/outbox.c). */
void act_fire_many(const struct cfg *c, struct act_job *jobs, int n);

/* The request of one job: {N8N_BASE_URL}/webhook/<path>, the
 * Idempotency-Key and auth headers, WEBHOOK_TIMEOUT_MS.  out->req points
 * into out and borrows job->payload. */
struct act_req {
    char url[1024];
    char hdr[2][600];
    const char *hv[3];
    struct http_req req;
};
void act_request(const struct cfg *c, const struct act_job *job, struct act_req *out);

/* Fill j's results (status, kind of error, answer excerpt, retry-after)
 * from the answer r, and log it (hook.sent / hook.failed). */
void act_answer(struct act_job *j, const struct http_resp *r);

/* A retry-after header value (delta seconds, or an HTTP-date, RFC 9110)
 * in milliseconds from now; -1 when value is NULL or not valid. */
long act_retry_after_ms(const char *value, time_t now);

/* Classify one HTTP outcome: exposed for tests. */
enum act_status act_classify(int transport_ok, long status, const char *body);

/* The first bytes of an answer (s, len bytes, may hold NULs) as text that
 * can be stored and logged into out (cap bytes): at most cap - 1 bytes, cut
 * on a character, control characters and NULs as spaces, bytes that are
 * not UTF-8 as '?'. */
void act_excerpt(char *out, size_t cap, const char *s, size_t len);

#endif
