/* track_find: which n8n execution, if any, a webhook POST started, found
 * by its idempotency key through n8n's public REST API (the API URL and
 * key of track.h):
 *
 *   GET {api}/executions?workflowId=<id>&includeData=true&limit=<n>[&cursor=...]
 *
 * For a workflow that does not claim its key (catalog "claims": false), a
 * trigger whose POST may have reached n8n when its worker died is looked
 * up here instead of being left 'unknown' for ever: our payload carries
 * the key ("idempotency_key", and the Idempotency-Key header), and n8n
 * keeps what its Webhook node received in the execution's data, so an
 * execution carries the key when a string equal to it appears anywhere in
 * that execution (no assumption on n8n's data layout beyond that).
 *
 * Pages come newest first; they are read until an execution started
 * before since_ms (the trigger's creation, less a margin for clocks), the
 * list ends, or TRACK_FIND_PAGES pages were read.  "Not found" needs every
 * execution of that window to have ended with its data: n8n 1.x writes an
 * execution's data when it ends (a running one lists none), so while one
 * runs the answer is "undecided" and the caller asks again later.  Each page is capped at
 * TRACK_FIND_PAGE_MAX_BYTES and parsed with a nesting limit; the key and
 * the workflow id are checked before they are used.  Whether "not found"
 * proves that n8n never received the POST depends on n8n saving its
 * executions (its default): the caller decides what to do with it.
 * Neither the API key nor a URL is ever logged. */
#ifndef TRACK_FIND_H
#define TRACK_FIND_H

#include <stddef.h>

#include "cfg.h"
#include "track.h"

#define TRACK_FIND_LIMIT 50                         /* executions per page (with their data) */
#define TRACK_FIND_PAGES 8                          /* pages read at most */
#define TRACK_FIND_PAGE_MAX_BYTES (16 * 1024 * 1024)
#define TRACK_FIND_DEPTH 64                         /* JSON nesting accepted */
#define TRACK_FIND_KEY_MAX 200                      /* longest key looked for */

enum track_find_result {
    TRACK_FOUND = 0,      /* an execution carries the key: execution_id set */
    TRACK_NOT_FOUND,      /* every execution since since_ms was read, had ended with its data,
                           * and none carries it */
    TRACK_UNDECIDED       /* not every execution since since_ms could be read (page limit), or
                           * one of them could not be ruled out (unreadable) */
};

struct track_found {
    enum track_find_result result;
    char execution_id[TRACK_ID_MAX + 1];
    char status[16];                  /* n8n's status of that execution ("" when absent) */
    int executions;                   /* executions looked at */
    int unreadable;                   /* of those since since_ms, not found to carry the key:
                                       * still running (n8n writes the data at the end), without
                                       * data (a workflow that saves none) or without a valid id,
                                       * so not ruled out */
    int pages;
    char error[256];                  /* why, when the call did not return TRACK_OK */
};

/* Look for key among the executions of n8n workflow workflow_id started at
 * or after since_ms (ms since the epoch).  Returns TRACK_OK with out->result
 * set, or the reason the list could not be read (out->error says why;
 * logged as track.find_failed). */
enum track_err track_find_key(const struct cfg *c, const char *workflow_id, const char *key, long long since_ms,
                              struct track_found *out) __attribute__((warn_unused_result));

/* One page of that list (body of len bytes; exposed for tests and the
 * fuzzer): sets out->result to TRACK_FOUND when an execution carries key,
 * else counts the executions into out->executions and those of the window
 * it cannot rule out into out->unreadable, sets *older when one of them
 * started before since_ms, and copies the next cursor into cursor
 * (cursor_cap bytes; "" when none).  Returns TRACK_OK or TRACK_EINVALID
 * with out->error set. */
enum track_err track_find_page(const char *body, size_t len, const char *key, long long since_ms,
                               struct track_found *out, int *older, char *cursor, size_t cursor_cap)
    __attribute__((warn_unused_result));

#endif
