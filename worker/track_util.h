/* track_util: what track.c, track_workflows.c and track_stop.c share (not
 * for other modules; defined in track.c).
 *
 * Ids are checked before they go into a URL, text from n8n is cleaned
 * before it is kept, JSON is parsed whole with a nesting limit, and every
 * request to the public API carries the key in a header that is wiped when
 * freed. */
#ifndef TRACK_UTIL_H
#define TRACK_UTIL_H

#include <json-c/json.h>
#include <stddef.h>

#include "cfg.h"
#include "http.h"
#include "track.h"

#define TRACK_CURSOR_MAX 2048          /* longest nextCursor accepted */

/* Nonzero when s is printable ASCII only (a cursor goes into a URL). */
int track_printable(const char *s);

/* A page's "nextCursor" into cursor (cap bytes; "" when null or absent).
 * Returns 0, or -1 when it is not a string of printable ASCII shorter
 * than cap. */
int track_next_cursor(json_object *root, char *cursor, size_t cap);

/* Nonzero when s is 1 to TRACK_ID_MAX characters of [A-Za-z0-9_-] (safe in
 * a URL path); s NULL: 0. */
int track_id_ok(const char *s);

/* Copy src into dst (cap bytes): cut at a character boundary, bytes that
 * are not UTF-8 replaced by '?', control characters by spaces. */
void track_copy(char *dst, size_t cap, const char *src);

/* An id from JSON: a string, or an integer written in decimal.  Returns 0
 * with out filled, or -1 (null, another type, or not a valid id). */
int track_json_id(json_object *v, char *out, size_t cap);

/* Parse len bytes of JSON with the given nesting limit; the whole input
 * must be one value (trailing white space allowed).  Returns the object
 * (caller puts) or NULL. */
json_object *track_json_parse(const char *s, size_t len, int depth);

/* The time-out of one request: WEBHOOK_TIMEOUT_MS, or
 * TRACK_DEFAULT_TIMEOUT_MS when that is 0. */
long track_timeout_ms(const struct cfg *c);

/* One request to the public API: its URL and headers (the key among them). */
struct track_call {
    char *url;                 /* owned */
    char *key_header;          /* owned; "X-N8N-API-KEY: <key>" (SECRET), wiped when freed */
    const char *headers[3];    /* for struct http_req; borrows key_header */
};

/* Set up a GET of {api}{path} (track_api_url).  Returns 0, or -1 (out of
 * memory, or no API URL that fits) with nothing to free. */
int track_call_init(struct track_call *k, const struct cfg *c, const char *path);

/* Wipe the key header and free k's strings (only after a successful init). */
void track_call_free(struct track_call *k);

/* GET {api}{base}, with "&cursor=" and cursor percent-encoded when cursor
 * is not "" (a page of a list), its answer capped at max_bytes, into *r
 * (the caller frees it: http_resp_free).  Returns 0, or -1 without a
 * request (the cursor too long, out of memory, the URL too long) with err
 * set. */
int track_get_page(const struct cfg *c, const char *base, const char *cursor, size_t max_bytes, struct http_resp *r,
                   char *err, size_t errlen);

/* The error of an answer that is not a 200 (shared by executions and
 * workflows): sets err (no secret, no URL) and returns the reason.
 * what: "execution" (one, by id: a 404 from n8n means it is gone),
 * "executions" (the list) or "workflows". */
enum track_err track_http_error(const struct http_resp *r, const char *what, char *err, size_t errlen);

#endif
