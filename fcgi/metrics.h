/* metrics: the Prometheus text exposition (format 0.0.4) of /metrics.
 *
 * metrics_render() writes everything that only changes when the database
 * does, so that it can be cached; metrics_render_live() writes the lines
 * that depend on the time of the scrape (the heartbeat age), appended per
 * request.  Every family has HELP and TYPE lines and passes
 * `promtool check metrics`. */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "query.h"

#define METRICS_MAX (256 * 1024)       /* hard cap of the rendered text */
#define METRICS_LIVE_MAX 256           /* room metrics_render_live() needs */

/* A growing text buffer with a hard cap (METRICS_MAX); start it zeroed.
 * p is the text (caller frees), len its length. */
struct metrics_buf {
    char *p;
    size_t len, cap;
    int failed;             /* out of memory or over METRICS_MAX: later appends do nothing */
};

/* Append formatted text to b; on failure sets b->failed. */
void metrics_add(struct metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A sample value: integers without exponent, NaN and +Inf spelled the
 * Prometheus way.  Writes into out[40]; returns out. */
const char *metrics_num(double v, char out[40]);

/* A label value escaped for the text format (\\, \" and \n) into out
 * (cap bytes, always terminated); returns out. */
const char *metrics_label(const char *s, char *out, size_t cap);

/* Render the cached part from st; decision_max_seconds is the API's
 * DECISION_MAX_SECONDS (orchestrator_decision_max_interval_seconds, for the
 * "no decision" alert).  Returns a NUL-terminated text (caller frees) with
 * its length in *len, or NULL when out of memory or over METRICS_MAX. */
char *metrics_render(const struct query_state *st, long decision_max_seconds, size_t *len);

/* Render the time-dependent part into buf (cap bytes, METRICS_LIVE_MAX is
 * enough): the worker's heartbeat age in seconds, age NAN meaning no
 * heartbeat at all (+Inf).  Returns the length written, 0 when it does not
 * fit. */
size_t metrics_render_live(double heartbeat_age, char *buf, size_t cap);

#endif
